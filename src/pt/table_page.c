/* SPDX-License-Identifier: MIT */
/*
 * A slab is 512 pages, 2 MiB aligned.  Its first 8 pages hold the 64-byte
 * logs of all 512 (so the logs of those 8 are never used, and their 512
 * bytes hold the slab's own header); pages 8 to 511 are handed out.
 * Slabs with a free page are on a list; one wholly free slab is kept
 * back, so a table made and dropped over and over does not map and unmap
 * 2 MiB each time.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table_page.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_PAGES (PT_SLAB_BYTES / PT_PAGE_BYTES)
#define FIRST_PAGE (SLAB_PAGES * PT_LOG_BYTES / PT_PAGE_BYTES)
#define USABLE (SLAB_PAGES - FIRST_PAGE)

struct slab {
	struct slab *prev, *next; /* on `partial` while a page is free */
	unsigned int used;
	uint64_t free[SLAB_PAGES / 64]; /* bit set: page free */
};
_Static_assert(sizeof(struct slab) <= PT_ROW_OFFSET &&
		       PT_ROW_OFFSET + SLAB_PAGES / 8 <=
			       FIRST_PAGE * PT_LOG_BYTES,
	       "the header and the row bits fit in the logs no page uses");

/* Lock order: a leaf lock, taken under any page table's lock. */
static struct {
	pthread_mutex_t lock;
	struct slab *partial; /* slabs with a free page */
	struct slab *spare;   /* wholly free, kept back */
} slabs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * Test mode only: the counting allocator a --selftest daemon preloads
 * (libioasid-faultinject.so) defines this, and a page handed out counts
 * as one allocation, as each table's own malloc did before there were
 * slabs, so the fail-at-every-allocation sweep still reaches a table
 * that cannot be had.  Anywhere else the symbol is absent and NULL.
 */
extern int ioasid_fault_page(void) __attribute__((weak));

static void list_add(struct slab *s)
{
	s->prev = NULL;
	s->next = slabs.partial;
	if (s->next)
		s->next->prev = s;
	slabs.partial = s;
}

static void list_del(struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		slabs.partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static struct slab *slab_new(void)
{
	struct slab *s = aligned_alloc(PT_SLAB_BYTES, PT_SLAB_BYTES);

	if (!s)
		return NULL;
	memset(s, 0, FIRST_PAGE * PT_LOG_BYTES);
	for (unsigned int i = FIRST_PAGE; i < SLAB_PAGES; i++)
		s->free[i / 64] |= 1ULL << (i % 64);
	poison((char *)s + FIRST_PAGE * PT_PAGE_BYTES,
	       USABLE * PT_PAGE_BYTES);
	return s;
}

void *pt_page_alloc(void)
{
	unsigned int w = 0, idx;
	_Atomic uint64_t *row;
	uint64_t row_bit;
	struct slab *s;
	char *page;

	if (ioasid_fault_page && ioasid_fault_page())
		return NULL;
	pthread_mutex_lock(&slabs.lock);
	s = slabs.partial;
	if (!s) {
		s = slabs.spare ? slabs.spare : slab_new();
		slabs.spare = NULL;
		if (!s) {
			pthread_mutex_unlock(&slabs.lock);
			return NULL;
		}
		list_add(s);
	}
	while (!s->free[w])
		w++;
	idx = w * 64 + (unsigned int)__builtin_ctzll(s->free[w]);
	s->free[w] &= s->free[w] - 1;
	if (++s->used == USABLE)
		list_del(s);
	pthread_mutex_unlock(&slabs.lock);

	page = (char *)s + (size_t)idx * PT_PAGE_BYTES;
	unpoison(page, PT_PAGE_BYTES);
	memset(page, 0, PT_PAGE_BYTES);
	memset((void *)pt_page_log(page), 0, PT_LOG_BYTES);
	/* What the page's last table was found to be is not this one's. */
	row = pt_page_row_word(page, &row_bit);
	atomic_fetch_and(row, ~row_bit);
	return page;
}

void pt_page_free(void *page)
{
	uintptr_t a = (uintptr_t)page;
	struct slab *s = (struct slab *)(a & ~(uintptr_t)(PT_SLAB_BYTES - 1));
	unsigned int idx = (unsigned int)((a - (uintptr_t)s) / PT_PAGE_BYTES);
	struct slab *drop = NULL;

	if (!page)
		return;
	poison(page, PT_PAGE_BYTES);
	pthread_mutex_lock(&slabs.lock);
	if (s->used == USABLE)
		list_add(s);
	s->free[idx / 64] |= 1ULL << (idx % 64);
	if (--s->used == 0) {
		list_del(s);
		if (slabs.spare)
			drop = s;
		else
			slabs.spare = s;
	}
	pthread_mutex_unlock(&slabs.lock);
	free(drop);
}
