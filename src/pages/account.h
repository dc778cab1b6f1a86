/* SPDX-License-Identifier: MIT */
/*
 * Accounting of pinned memory, as the kernel keeps it:
 *   pinned - every pinned page, charged to the source process (VmPin);
 *   USER   - also charged to the source user, against RLIMIT_MEMLOCK of
 *            the source process (io_uring style);
 *   MM     - also charged to the source process' locked memory (VmLck),
 *            against the same limit (VFIO style);
 *   NONE   - no limit (the creator held CAP_IPC_LOCK).
 * The tables are global, like the kernel's per-user and per-mm counters.
 */
#ifndef IOASID_PAGES_ACCOUNT_H
#define IOASID_PAGES_ACCOUNT_H

#include <stdint.h>
#include <sys/types.h>

#include "core/context.h"

/* Charge `npages` more; -ENOMEM, with nothing charged, over the limit. */
int ioasid_account_charge(enum ioasid_account_mode mode, pid_t pid, uid_t uid,
			  uint64_t npages);
void ioasid_account_uncharge(enum ioasid_account_mode mode, pid_t pid,
			     uid_t uid, uint64_t npages);

/* Pages pinned (VmPin) and locked (VmLck) on behalf of process `pid`. */
void ioasid_account_totals(pid_t pid, uint64_t *pinned, uint64_t *locked);

/*
 * RLIMIT_MEMLOCK of `pid` in pages (UINT64_MAX when unlimited), while it
 * is still user uid's: 0 once it is not (below).
 */
uint64_t ioasid_account_limit(pid_t pid, uid_t uid);

#endif
