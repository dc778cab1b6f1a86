/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "iotlb.h"

#define PAGE_SHIFT 12
#define rlx memory_order_relaxed

void iotlb_init(struct iotlb *t)
{
	memset(t, 0, sizeof(*t));
}

/* Take an entry for writing: its count goes odd.  The count it had, for
 * entry_unlock(). */
static unsigned int entry_lock(struct iotlb_entry *e)
{
	unsigned int s = atomic_load_explicit(&e->seq, rlx);

	for (;;) {
		if (!(s & 1) && atomic_compare_exchange_weak(&e->seq, &s, s + 1))
			return s;
		s = atomic_load_explicit(&e->seq, rlx);
	}
}

/* Only the holder writes an odd count: a store ends the hold, without
 * the second locked operation an increment would be (a miss makes one
 * fill, so it pays for every locked operation here). */
static void entry_unlock(struct iotlb_entry *e, unsigned int locked_at)
{
	atomic_store_explicit(&e->seq, locked_at + 2, memory_order_release);
}

static void entry_clear_locked(struct iotlb *t, unsigned int set,
			       unsigned int way)
{
	struct iotlb_entry *e = &t->e[set][way];

	atomic_store_explicit(&e->domain, NULL, rlx);
	atomic_store_explicit(&e->page, 0, rlx);
	atomic_store_explicit(&t->tag[set][way], 0, rlx);
}

void iotlb_fill(struct iotlb *t, uint32_t pasid, const void *domain,
		uint64_t iova, const struct iotlb_hit *tr,
		const atomic_uint_fast64_t *inv_gen, uint64_t inv_gen_seen)
{
	uint64_t page = iotlb_key(iova, tr->shift);
	unsigned int set = iotlb_set_of(page), way = IOTLB_WAYS, seq;
	struct iotlb_entry *e;

	/* The same page again (a write making it dirty) takes its place. */
	for (unsigned int w = 0; w < IOTLB_WAYS; w++) {
		e = &t->e[set][w];
		if (atomic_load_explicit(&e->domain, rlx) == domain &&
		    atomic_load_explicit(&e->page, rlx) == page &&
		    atomic_load_explicit(&e->pasid, rlx) == pasid) {
			way = w;
			break;
		}
	}
	/* Round robin; two fills that race here may evict the same way,
	 * which costs a miss, not a wrong answer. */
	if (way == IOTLB_WAYS) {
		unsigned int v = atomic_load_explicit(&t->victim[set], rlx);

		atomic_store_explicit(&t->victim[set], v + 1, rlx);
		way = v % IOTLB_WAYS;
	}
	e = &t->e[set][way];
	seq = entry_lock(e);
	/* Checked under the entry: an unmap bumps the generation before it
	 * invalidates, so either it sees our entry or we see its bump. */
	if (atomic_load(inv_gen) != inv_gen_seen) {
		entry_unlock(e, seq);
		return;
	}
	atomic_store_explicit(&e->pasid, pasid, rlx);
	atomic_store_explicit(&e->page, page, rlx);
	atomic_store_explicit(&e->pa, tr->pa, rlx);
	atomic_store_explicit(&e->host, tr->host, rlx);
	atomic_store_explicit(&e->prot, tr->prot, rlx);
	atomic_store_explicit(&e->dirty, tr->dirty, rlx);
	atomic_store_explicit(&e->dirty_gen, tr->dirty_gen, rlx);
	atomic_store_explicit(&e->domain, domain, rlx);
	atomic_store_explicit(&t->tag[set][way], page, rlx);
	entry_unlock(e, seq);
}

/* The 4 KiB pages an entry's tag covers. */
static void key_extent(uint64_t key, uint64_t *first, uint64_t *last)
{
	if (key & IOTLB_HUGE_TAG) {
		*first = (key & ~IOTLB_HUGE_TAG)
			 << (IOTLB_HUGE_SHIFT - IOTLB_SMALL_SHIFT);
		*last = *first + (1u << (IOTLB_HUGE_SHIFT - IOTLB_SMALL_SHIFT)) - 1;
	} else {
		*first = *last = key;
	}
}

static void invalidate_entry(struct iotlb *t, unsigned int set,
			     unsigned int way, const void *domain,
			     uint64_t first, uint64_t last)
{
	struct iotlb_entry *e = &t->e[set][way];
	uint64_t efirst, elast;
	unsigned int seq;

	/* Skipped only when no fill was writing it as we looked: a fill
	 * that starts later sees the bumped generation and writes nothing. */
	if (!(atomic_load(&e->seq) & 1) &&
	    atomic_load_explicit(&e->domain, rlx) != domain)
		return;
	seq = entry_lock(e);
	key_extent(atomic_load_explicit(&e->page, rlx), &efirst, &elast);
	if (atomic_load_explicit(&e->domain, rlx) == domain &&
	    efirst <= last && elast >= first)
		entry_clear_locked(t, set, way);
	entry_unlock(e, seq);
}

void iotlb_invalidate(struct iotlb *t, const void *domain, uint64_t iova,
		      uint64_t last)
{
	uint64_t first = iova >> PAGE_SHIFT, lastp = last >> PAGE_SHIFT;
	const unsigned int per_huge = IOTLB_HUGE_SHIFT - IOTLB_SMALL_SHIFT;

	/* A range shorter than the cache: only the sets it can be in, for
	 * its pages and for the blocks they are in. */
	if (lastp - first < IOTLB_SETS) {
		for (uint64_t p = first;; p++) {
			unsigned int sets[2] = {
				iotlb_set_of(p),
				iotlb_set_of((p >> per_huge) | IOTLB_HUGE_TAG),
			};

			for (int k = 0; k < 2; k++)
				for (int w = 0; w < IOTLB_WAYS; w++)
					invalidate_entry(t, sets[k], w, domain,
							 first, lastp);
			if (p == lastp)
				break;
		}
		return;
	}
	for (int s = 0; s < IOTLB_SETS; s++)
		for (int w = 0; w < IOTLB_WAYS; w++)
			invalidate_entry(t, s, w, domain, first, lastp);
}

void iotlb_invalidate_domain(struct iotlb *t, const void *domain)
{
	iotlb_invalidate(t, domain, 0, UINT64_MAX);
}
