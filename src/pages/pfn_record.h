/* SPDX-License-Identifier: MIT */
/*
 * A page set's record of the frame number each of its pages holds (0: it
 * holds none).  IO page tables are filled from it, and frame.c reads it
 * to tell which pages of a run a set holds.
 *
 * Kept in chunks of 512 pages.  A chunk whose held pages are one run of
 * numbers, as memory that is contiguous in its owner is, is that run's
 * first number and a bit per page: 80 bytes for 2 MiB.  Only a chunk whose
 * pages hold numbers from different runs is an array of 512 numbers.
 *
 * Written under the set's mutex and frames_lock; read without either
 * (DMA), so chunks replaced or freed go after an RCU grace period.
 */
#ifndef IOASID_PAGES_PFN_RECORD_H
#define IOASID_PAGES_PFN_RECORD_H

#include <stdint.h>
#include <sys/types.h>

struct pfn_record {
	void *_Atomic *chunks; /* NULL until the first pin */
	uint64_t nchunks;
	uid_t payer;   /* who pays for the chunks: the pinner at first */
	size_t charged; /* bytes charged to payer */
};

/* Chunks for pages [first, last] of a set of npages, paid for by uid. */
int pfn_record_prepare(struct pfn_record *r, uint64_t npages, uid_t uid,
		       uint64_t first, uint64_t last);

/*
 * Pages [index, index + n) hold pfn .. pfn + n - 1, within chunks made by
 * pfn_record_prepare(); -ENOMEM when a chunk must become an array and
 * cannot (nothing written then).
 */
int pfn_record_set(struct pfn_record *r, uint64_t index, uint64_t n,
		   uint64_t pfn);

/* Pages [index, index + n) hold nothing.  Never fails. */
void pfn_record_clear(struct pfn_record *r, uint64_t index, uint64_t n);

/* The number page index holds, or 0.  Without locks. */
uint64_t pfn_record_get(const struct pfn_record *r, uint64_t index);

/* Return the charge (when the set is dropped)... */
void pfn_record_uncharge(struct pfn_record *r);
/* ...and free the chunks, once no reader can be in them. */
void pfn_record_free(struct pfn_record *r);

#endif
