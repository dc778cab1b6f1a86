/* SPDX-License-Identifier: MIT */
/*
 * The kernel's per-task fault injection (/proc/PID/task/TID/fail-nth),
 * for what the daemon does on a task's behalf.  A request carries the
 * count its thread has armed (0: none); each allocation made while
 * serving it counts one down, and the one that brings it to zero fails,
 * as the kernel's slab allocations would.  The reply carries back what
 * is left.  Only the serving of the request counts: reading it and
 * answering it are the transport's, which the kernel has no analogue of.
 *
 * Not in the sanitizer build, whose allocator cannot be wrapped: there
 * nothing fails and the count comes back as it went.
 */
#ifndef IOASID_DAEMON_FAIL_NTH_H
#define IOASID_DAEMON_FAIL_NTH_H

#include <stdint.h>

void fail_nth_arm(uint32_t count);
/* Stop counting; what was left (0 once the failure came). */
uint32_t fail_nth_disarm(void);

#endif
