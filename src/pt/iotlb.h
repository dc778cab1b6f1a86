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

/*
 * An entry covers a 4 KiB page, or a 2 MiB block of a larger leaf whose
 * memory is contiguous in this process too (so one entry serves a whole
 * huge page, as hardware IOTLBs cache large pages).  The tag is the
 * address shifted by the entry's size, 2 MiB ones marked in its top bit.
 */
#define IOTLB_SMALL_SHIFT 12
#define IOTLB_HUGE_SHIFT 21
#define IOTLB_HUGE_TAG (1ull << 63)

static inline uint64_t iotlb_key(uint64_t iova, unsigned int shift)
{
	return (iova >> shift) |
	       (shift == IOTLB_HUGE_SHIFT ? IOTLB_HUGE_TAG : 0);
}

/* One cache line: a hit reads one line besides its set's tags. */
struct iotlb_entry {
	_Alignas(64) atomic_uint seq;
	_Atomic uint32_t pasid;
	_Atomic uint64_t page; /* iotlb_key(); 0 with a null domain: empty */
	_Atomic uint64_t pa;   /* of the page or block */
	_Atomic(void *) host;  /* the page or block in this process, or NULL */
	_Atomic(const void *) domain;
	atomic_int prot;
	/* Writes through the entry may skip the walk only while the page
	 * table's dirty bit is known set: since the domain's dirty
	 * generation was this. */
	atomic_uint dirty_gen;
	atomic_bool dirty;
};

/*
 * The tags of a set's ways sit together, a copy of each entry's key kept
 * outside it, so a probe reads one line for a set however many ways miss.
 * The copy is a hint, written under the entry's count: what counts is
 * the entry's own key, checked under the count.
 */
struct iotlb {
	_Alignas(64) _Atomic uint64_t tag[IOTLB_SETS][IOTLB_WAYS];
	struct iotlb_entry e[IOTLB_SETS][IOTLB_WAYS];
	atomic_uint victim[IOTLB_SETS];
};

struct iotlb_hit {
	unsigned int shift; /* IOTLB_SMALL_SHIFT or IOTLB_HUGE_SHIFT */
	uint64_t pa; /* of the page or block */
	void *host;  /* the page or block in this process, or NULL */
	int prot;
	bool dirty;
	unsigned int dirty_gen;
};

void iotlb_init(struct iotlb *t);

static inline unsigned int iotlb_set_of(uint64_t key)
{
	return (unsigned int)(key % IOTLB_SETS);
}

static inline bool iotlb_probe(struct iotlb *t, uint32_t pasid,
			       const void *domain, uint64_t key,
			       struct iotlb_hit *hit)
{
	unsigned int set = iotlb_set_of(key);

	for (int w = 0; w < IOTLB_WAYS; w++) {
		struct iotlb_entry *e = &t->e[set][w];
		unsigned int s1;

		/* The cheap test first: most ways hold other pages. */
		if (atomic_load_explicit(&t->tag[set][w],
					 memory_order_relaxed) != key)
			continue;
		s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		if ((s1 & 1) ||
		    atomic_load_explicit(&e->domain, memory_order_relaxed) !=
			    domain ||
		    atomic_load_explicit(&e->page, memory_order_relaxed) != key ||
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
 * Look up (pasid, domain, iova): its 4 KiB page, then its 2 MiB block;
 * false on a miss.  Inline: it is the whole of a hot translation.
 */
static inline bool iotlb_lookup(struct iotlb *t, uint32_t pasid,
				const void *domain, uint64_t iova,
				struct iotlb_hit *hit)
{
	if (iotlb_probe(t, pasid, domain, iotlb_key(iova, IOTLB_SMALL_SHIFT),
			hit)) {
		hit->shift = IOTLB_SMALL_SHIFT;
		return true;
	}
	if (iotlb_probe(t, pasid, domain, iotlb_key(iova, IOTLB_HUGE_SHIFT),
			hit)) {
		hit->shift = IOTLB_HUGE_SHIFT;
		return true;
	}
	return false;
}

/*
 * Remember a translation (of the page or block of tr->shift holding iova)
 * walked after reading *inv_gen_seen from the domain's counter inv_gen:
 * dropped if that has moved since.
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
