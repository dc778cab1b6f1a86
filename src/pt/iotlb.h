/* SPDX-License-Identifier: MIT */
/*
 * A device's IOTLB: recent translations, 4 KiB page by 4 KiB page, tagged
 * with the PASID and the domain they came from.
 *
 * Set-associative: a full set gives up one entry (round robin), never the
 * whole cache.  Entries are read without locks under a per-entry sequence
 * count; fills and invalidations take the entry by making its count odd.
 *
 * A fill must not resurrect a translation an unmap has just invalidated:
 * the filler notes the domain's invalidation generation before it walks,
 * and the fill is dropped if the generation moved meanwhile (unmaps bump
 * it after clearing the page table and before invalidating IOTLBs).
 */
#ifndef IOASID_PT_IOTLB_H
#define IOASID_PT_IOTLB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define IOTLB_SETS 64
#define IOTLB_WAYS 4

struct iotlb_entry {
	atomic_uint seq;
	_Atomic uint32_t pasid;
	_Atomic uint64_t page; /* iova >> 12; 0 with a null domain: empty */
	_Atomic uint64_t pa;   /* of the page */
	_Atomic(void *) host;  /* the page in this process, or NULL */
	_Atomic(const void *) domain;
	atomic_int prot;
	/* Writes through the entry may skip the walk only while the page
	 * table's dirty bit is known set: since the domain's dirty
	 * generation was this. */
	atomic_uint dirty_gen;
	atomic_bool dirty;
};

struct iotlb {
	struct iotlb_entry e[IOTLB_SETS][IOTLB_WAYS];
	atomic_uint victim[IOTLB_SETS];
};

struct iotlb_hit {
	uint64_t pa; /* of the page */
	void *host;  /* the page in this process, or NULL */
	int prot;
	bool dirty;
	unsigned int dirty_gen;
};

void iotlb_init(struct iotlb *t);

static inline unsigned int iotlb_set_of(uint64_t page)
{
	return (unsigned int)(page % IOTLB_SETS);
}

/*
 * Look up (pasid, domain, iova's page); false on a miss.  Inline: it is
 * the whole of a hot translation.
 */
static inline bool iotlb_lookup(struct iotlb *t, uint32_t pasid,
				const void *domain, uint64_t iova,
				struct iotlb_hit *hit)
{
	uint64_t page = iova >> 12;
	struct iotlb_entry *set = t->e[iotlb_set_of(page)];

	for (int w = 0; w < IOTLB_WAYS; w++) {
		struct iotlb_entry *e = &set[w];
		unsigned int s1;

		/* The cheap test first: most ways hold other pages. */
		if (atomic_load_explicit(&e->page, memory_order_relaxed) != page)
			continue;
		s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		if ((s1 & 1) ||
		    atomic_load_explicit(&e->domain, memory_order_relaxed) !=
			    domain ||
		    atomic_load_explicit(&e->page, memory_order_relaxed) != page ||
		    atomic_load_explicit(&e->pasid, memory_order_relaxed) != pasid)
			continue;
		/* Acquire loads keep the count's second read after them
		 * (free on x86, and ThreadSanitizer understands them). */
		hit->pa = atomic_load_explicit(&e->pa, memory_order_acquire);
		hit->host = atomic_load_explicit(&e->host, memory_order_acquire);
		hit->prot = atomic_load_explicit(&e->prot, memory_order_acquire);
		hit->dirty = atomic_load_explicit(&e->dirty, memory_order_acquire);
		hit->dirty_gen =
			atomic_load_explicit(&e->dirty_gen, memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) == s1)
			return true;
	}
	return false;
}

/*
 * Remember a translation walked after reading *inv_gen_seen from the
 * domain's counter inv_gen: dropped if that has moved since.
 */
void iotlb_fill(struct iotlb *t, uint32_t pasid, const void *domain,
		uint64_t iova, const struct iotlb_hit *tr,
		const atomic_uint_fast64_t *inv_gen, uint64_t inv_gen_seen);

/* Forget domain's translations of [iova, last]. */
void iotlb_invalidate(struct iotlb *t, const void *domain, uint64_t iova,
		      uint64_t last);

/* Forget everything of domain (it is being detached or freed). */
void iotlb_invalidate_domain(struct iotlb *t, const void *domain);

#endif
