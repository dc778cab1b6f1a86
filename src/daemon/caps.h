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
 * The effective set of thread `tid` of process `pid` (bit n: capability n)
 * for a request it sent as real user `sent_as` (SCM_CREDENTIALS, which the
 * kernel fills in at sending time); 0 when the thread is gone, not part of
 * `pid`, lives in another user namespace (capabilities there mean nothing
 * to us), or has changed who it is by exec since: see caps.c.
 */
uint64_t caps_of_thread(pid_t pid, pid_t tid, uid_t sent_as);

#endif
