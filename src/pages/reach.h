/* SPDX-License-Identifier: MIT */
/*
 * Reaching shared memory whose own process has gone.
 *
 * The kernel keeps pinned pages alive after their process exits; we reach
 * a process' memory through the process.  A shared page (a file, a memfd,
 * shared anonymous memory) is mapped by other processes too: the ones that
 * made ioctls lately are remembered, and a page is reached through any of
 * them that still maps it at some address.
 */
#ifndef IOASID_PAGES_REACH_H
#define IOASID_PAGES_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pages.h"

/* Remember pid as a process that may map shared memory. */
void ioasid_reach_note(pid_t pid);

/*
 * Copy len bytes at byte `off` of the file page named id (a FILE page
 * identity) through a remembered process that maps it: -EFAULT when none
 * does.
 */
int ioasid_reach_file_rw(const struct ioasid_page_id *id, uint64_t off,
			 void *buf, size_t len, bool write);

#endif
