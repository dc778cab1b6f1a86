/* SPDX-License-Identifier: MIT */
/*
 * Reaching shared memory whose own process has gone.
 *
 * The kernel keeps pinned pages alive after their process exits; we reach
 * a process' memory through the process.  A shared page (a file, a memfd,
 * shared anonymous memory) may be mapped by other processes too: it is
 * looked for in the caller's address space and the others the core holds
 * of the same user -- descriptors that user's processes opened
 * themselves, so a page is never reached with rights its own user does
 * not have.
 */
#ifndef IOASID_PAGES_REACH_H
#define IOASID_PAGES_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pages.h"

/*
 * Copy len bytes at byte `off` of the file page named id (a FILE page
 * identity) through another address space of user uid than `not` that
 * maps it: -EFAULT when none does.
 */
int ioasid_reach_file_rw(const struct ioasid_page_id *id, uid_t uid,
			 const struct ioasid_mm *not, uint64_t off, void *buf,
			 size_t len, bool write);

#endif
