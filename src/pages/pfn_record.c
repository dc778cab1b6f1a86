/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <urcu-bp.h>

#include "core/rcu.h"
#include "core/user_limits.h"
#include "core/util.h"
#include "pfn_record.h"

#define CHUNK 512
#define WORDS (CHUNK / 64)

/*
 * Page i of the chunk holds base + i while bit i is set.  A base is
 * written before any bit that makes it count, and changes only when no
 * bit is set.
 */
struct run_chunk {
	_Atomic uint64_t base;
	_Atomic uint64_t held[WORDS];
	struct rcu_head rcu;
};

/* Run chunks are tagged by their low bit in the chunk table. */
#define RUN_TAG ((uintptr_t)1)

static struct run_chunk *as_run(void *v)
{
	return (uintptr_t)v & RUN_TAG ?
		       (struct run_chunk *)((uintptr_t)v & ~RUN_TAG) :
		       NULL;
}

static void *charged_alloc(struct pfn_record *r, size_t bytes)
{
	void *mem = ioasid_user_mem_calloc(r->payer, bytes);

	if (mem)
		r->charged += bytes;
	return mem;
}

int pfn_record_prepare(struct pfn_record *r, uint64_t npages, uid_t uid,
		       uint64_t first, uint64_t last)
{
	if (!r->chunks) {
		void *_Atomic *chunks;

		r->payer = uid;
		r->nchunks = (npages + CHUNK - 1) / CHUNK;
		chunks = charged_alloc(r, r->nchunks * sizeof(*chunks));
		if (!chunks)
			return -ENOMEM;
		__atomic_store_n(&r->chunks, chunks, __ATOMIC_RELEASE);
	}
	for (uint64_t c = first / CHUNK; c <= last / CHUNK; c++) {
		struct run_chunk *run;

		if (atomic_load_explicit(&r->chunks[c], memory_order_relaxed))
			continue;
		run = charged_alloc(r, sizeof(*run));
		if (!run)
			return -ENOMEM;
		atomic_store_explicit(&r->chunks[c],
				      (void *)((uintptr_t)run | RUN_TAG),
				      memory_order_release);
	}
	return 0;
}

static bool run_empty(struct run_chunk *run)
{
	for (int w = 0; w < WORDS; w++)
		if (atomic_load_explicit(&run->held[w], memory_order_relaxed))
			return false;
	return true;
}

static void run_free_rcu(struct rcu_head *head)
{
	ioasid_after_grace_period();
	free(caa_container_of(head, struct run_chunk, rcu));
}

/* Chunk c as an array, with what its run said: its pages keep their
 * numbers throughout, for readers on either side of the switch. */
static uint64_t *make_array(struct pfn_record *r, uint64_t c,
			    struct run_chunk *run)
{
	uint64_t *array = charged_alloc(r, CHUNK * sizeof(*array));
	uint64_t base = atomic_load(&run->base);

	if (!array)
		return NULL;
	for (unsigned int i = 0; i < CHUNK; i++)
		if (atomic_load(&run->held[i / 64]) & (1ULL << (i % 64)))
			array[i] = base + i;
	atomic_store_explicit(&r->chunks[c], (void *)array,
			      memory_order_release);
	r->charged -= sizeof(*run);
	ioasid_user_mem_uncharge(r->payer, sizeof(*run));
	ioasid_call_rcu(&run->rcu, run_free_rcu);
	return array;
}

/* Bits [from, from + n) of a run, set or cleared. */
static void run_bits(struct run_chunk *run, unsigned int from, unsigned int n,
		     bool set)
{
	while (n) {
		unsigned int w = from / 64, b = from % 64;
		unsigned int len = MIN(n, 64 - b);
		uint64_t mask = (len == 64 ? ~0ULL : ((1ULL << len) - 1)) << b;

		if (set)
			atomic_fetch_or_explicit(&run->held[w], mask,
						 memory_order_release);
		else
			atomic_fetch_and_explicit(&run->held[w], ~mask,
						  memory_order_release);
		from += len;
		n -= len;
	}
}

/* The piece of [index, index + n) in index's chunk: where, and how long. */
struct piece {
	uint64_t chunk;
	unsigned int in, len;
	void *v; /* the chunk: a tagged run, or an array */
};

static struct piece piece_at(struct pfn_record *r, uint64_t index, uint64_t n)
{
	struct piece p = { .chunk = index / CHUNK, .in = index % CHUNK };

	p.len = (unsigned int)MIN(n, (uint64_t)(CHUNK - p.in));
	p.v = atomic_load(&r->chunks[p.chunk]);
	return p;
}

int pfn_record_set(struct pfn_record *r, uint64_t index, uint64_t n,
		   uint64_t pfn)
{
	const uint64_t first = index;

	while (n) {
		struct piece pc = piece_at(r, index, n);
		const unsigned int in = pc.in, len = pc.len;
		struct run_chunk *run = as_run(pc.v);
		uint64_t *array = run ? NULL : pc.v;

		if (run && run_empty(run))
			atomic_store_explicit(&run->base, pfn - in,
					      memory_order_relaxed);
		if (run && atomic_load(&run->base) == pfn - in) {
			run_bits(run, in, len, true);
		} else {
			if (run) {
				array = make_array(r, pc.chunk, run);
				if (!array) {
					/* The chunks before say nothing. */
					pfn_record_clear(r, first,
							 index - first);
					return -ENOMEM;
				}
			}
			for (unsigned int i = 0; i < len; i++)
				__atomic_store_n(&array[in + i], pfn + i,
						 __ATOMIC_RELEASE);
		}
		index += len;
		pfn += len;
		n -= len;
	}
	return 0;
}

void pfn_record_clear(struct pfn_record *r, uint64_t index, uint64_t n)
{
	while (n) {
		struct piece pc = piece_at(r, index, n);
		struct run_chunk *run = as_run(pc.v);

		if (run) {
			run_bits(run, pc.in, pc.len, false);
		} else {
			for (unsigned int i = 0; i < pc.len; i++)
				__atomic_store_n(&((uint64_t *)pc.v)[pc.in + i],
						 0, __ATOMIC_RELAXED);
		}
		index += pc.len;
		n -= pc.len;
	}
}

uint64_t pfn_record_get(const struct pfn_record *r, uint64_t index)
{
	void *_Atomic *chunks = __atomic_load_n(&r->chunks, __ATOMIC_ACQUIRE);
	struct run_chunk *run;
	void *v;

	if (!chunks || index / CHUNK >= r->nchunks)
		return 0;
	v = atomic_load_explicit(&chunks[index / CHUNK], memory_order_acquire);
	if (!v)
		return 0;
	run = as_run(v);
	if (!run)
		return __atomic_load_n(&((uint64_t *)v)[index % CHUNK],
				       __ATOMIC_ACQUIRE);
	/* The bit first: the base it was set with is then seen too. */
	if (!(atomic_load_explicit(&run->held[(index % CHUNK) / 64],
				   memory_order_acquire) &
	      (1ULL << (index % 64))))
		return 0;
	return atomic_load_explicit(&run->base, memory_order_relaxed) +
	       index % CHUNK;
}

void pfn_record_uncharge(struct pfn_record *r)
{
	ioasid_user_mem_uncharge(r->payer, r->charged);
	r->charged = 0;
}

void pfn_record_free(struct pfn_record *r)
{
	if (!r->chunks)
		return;
	for (uint64_t c = 0; c < r->nchunks; c++) {
		void *v = atomic_load(&r->chunks[c]);

		free(as_run(v) ? (void *)as_run(v) : v);
	}
	free((void *)r->chunks);
	r->chunks = NULL;
}
