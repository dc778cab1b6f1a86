/* SPDX-License-Identifier: MIT */
/*
 * Where table pages live: 4 KiB pages carved from 2 MiB slabs, each page
 * with 64 bytes beside it (one bit per entry) found by arithmetic on the
 * page's address, with no load on the way.  The page tables keep their
 * dirty state there (pt.c): a harvest then reads 64 bytes of a table
 * rather than its 4 KiB.
 */
#ifndef IOASID_PT_TABLE_PAGE_H
#define IOASID_PT_TABLE_PAGE_H

#include <stdatomic.h>
#include <stdint.h>

#define PT_SLAB_BYTES (2u << 20)
#define PT_PAGE_BYTES 4096u
#define PT_LOG_BYTES 64u
#define PT_LOG_WORDS (PT_LOG_BYTES / sizeof(uint64_t))

/* A zeroed page, 4 KiB aligned, with a zeroed log; NULL without memory. */
void *pt_page_alloc(void);
/* Back to its slab: the caller has waited out every reader. */
void pt_page_free(void *page);

/* The log of the page holding addr: bit i of the 512 is entry i's. */
static inline _Atomic uint64_t *pt_page_log(const volatile void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	uintptr_t slab = a & ~(uintptr_t)(PT_SLAB_BYTES - 1);

	return (_Atomic uint64_t *)(slab + ((a - slab) / PT_PAGE_BYTES) *
						   PT_LOG_BYTES);
}

/*
 * One bit per page of a slab, in the logs of the slab's first pages
 * (which no table uses): pt.c's mark that a level-0 table was found to be
 * one row (pt_leaf_row).  *bit is the page's bit in the word returned.
 */
#define PT_ROW_OFFSET 448u
static inline _Atomic uint64_t *pt_page_row_word(const volatile void *addr,
						 uint64_t *bit)
{
	uintptr_t a = (uintptr_t)addr;
	uintptr_t slab = a & ~(uintptr_t)(PT_SLAB_BYTES - 1);
	unsigned int page = (unsigned int)((a - slab) / PT_PAGE_BYTES);

	*bit = 1ULL << (page % 64);
	return (_Atomic uint64_t *)(slab + PT_ROW_OFFSET) + page / 64;
}

#endif
