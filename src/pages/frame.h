/* SPDX-License-Identifier: MIT */
/*
 * Physical memory, as IO page tables see it.
 *
 * A frame is one 4 KiB page of memory that some page set holds pinned,
 * named by its page identity (pages.h).  Its frame number is what page
 * tables store: physical address = pfn << 12.  A page pinned by two page
 * sets is one frame with two pins, as in the kernel, so "the physical
 * page behind this IOVA" and "how many pins does this page carry" are
 * answered from real state.
 *
 * Frames are kept as extents, runs of pages with consecutive identities
 * and consecutive numbers, and numbered so that a page keeps its place
 * within a 2 MiB block (its address or file offset modulo 512 pages):
 * memory that is contiguous and aligned in its owner is contiguous and
 * aligned here, and IO page tables can map it with large leaves, as with
 * real huge pages.  What is per page is the set's own record of the
 * numbers it holds; the table's memory grows with runs, not pages.
 *
 * Lookups by number take no lock: the directory is never shrunk and
 * extents are freed after an RCU grace period.
 */
#ifndef IOASID_PAGES_FRAME_H
#define IOASID_PAGES_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pages.h"

/*
 * One more pin on the frame of each of ids[0..n), held for page index
 * first_index + i of page set p, whose record (pfn_record.h) gets the
 * frame number.  `more` says how many pages the same pin will hold next,
 * so that new numbers leave room for them.  All or nothing: -ENOMEM
 * leaves nothing held.
 */
int ioasid_frames_hold(const struct ioasid_page_id *ids, size_t n,
		       uint64_t more, struct ioasid_pages *p,
		       uint64_t first_index);

/* Drop the pins ioasid_frames_hold() took for these pages of p, and clear
 * its record of them. */
void ioasid_frames_release(struct ioasid_pages *p, uint64_t first_index,
			   uint64_t n);

/* The pins on the page named id, and its frame number when pinned. */
unsigned int ioasid_frame_pins(const struct ioasid_page_id *id,
			       uint64_t *pfn);

/*
 * Where the memory of frame pfn is in this process, or NULL (it is
 * another process' memory, or a file's).  Inside ioasid_rcu_read_lock().
 */
void *ioasid_frame_host(uint64_t pfn);

/*
 * Where frames pfn .. pfn + n - 1 are in this process if they are one
 * run there (each frame's page where the first's is, plus its offset),
 * else NULL.  Inside ioasid_rcu_read_lock().
 */
void *ioasid_frame_host_run(uint64_t pfn, uint64_t n);

/* The identity of frame pfn: -ENOENT when there is no such frame. */
int ioasid_frame_id(uint64_t pfn, struct ioasid_page_id *id);

/*
 * Copy to or from the memory at physical address pa, within one frame,
 * as a device's DMA does: -EFAULT when no frame is there or its memory
 * cannot be reached.  The caller is inside ioasid_rcu_read_lock().
 */
int ioasid_frame_rw(uint64_t pa, void *buf, size_t len, bool write);

/*
 * How many extents exist, and how many heap blocks the frame table keeps
 * between uses (its hash, directory pages and free-number ranges): leak
 * checks count these apart.
 */
void ioasid_frames_stats(size_t *extents, size_t *cached_blocks);

#endif
