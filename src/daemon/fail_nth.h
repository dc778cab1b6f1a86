/* SPDX-License-Identifier: MIT */
/*
 * The kernel's per-task fault injection (/proc/PID/task/TID/fail-nth),
 * for what the daemon does on a task's behalf, in test mode only.  A
 * request carries the count its thread has armed (0: none); each
 * allocation made while serving it counts one down, and the one that
 * brings it to zero fails, as the kernel's slab allocations would.  The
 * reply carries back what is left.  Only the serving of the request
 * counts: reading it and answering it are the transport's, which the
 * kernel has no analogue of.
 *
 * The counting allocator is libioasid-faultinject.so, which only a
 * test-mode daemon loads.  Without it (normal mode, or the sanitizer
 * build, whose allocator cannot be wrapped) nothing fails and the count
 * comes back as it went.
 */
#ifndef IOASID_DAEMON_FAIL_NTH_H
#define IOASID_DAEMON_FAIL_NTH_H

#include <stdint.h>

/*
 * Test mode: make sure the counting allocator is in this process, by
 * running argv again with it preloaded if it is not.  Returns only when
 * it is there (0), or when this build cannot have it (0, uncounted);
 * -1 with a message when it cannot be found.
 */
int fail_nth_enable(char **argv);

void fail_nth_arm(uint32_t count);
/* Stop counting; what was left (0 once the failure came). */
uint32_t fail_nth_disarm(void);

#endif
