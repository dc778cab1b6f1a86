/* SPDX-License-Identifier: MIT */
/*
 * Capabilities of a client thread, judged the way the kernel would judge
 * them for a kernel that serves the daemon's own user namespace.
 */
#ifndef IOASID_DAEMON_CAPS_H
#define IOASID_DAEMON_CAPS_H

#include <stdint.h>
#include <sys/types.h>

/* Remember which user namespace the daemon serves.  Call once at start. */
int caps_init(void);

/*
 * The effective set of thread `tid` of process `pid` (bit n: capability n),
 * or 0 when the thread is gone, not part of `pid`, or lives in another user
 * namespace (capabilities there mean nothing to us).
 */
uint64_t caps_of_thread(pid_t pid, pid_t tid);

#endif
