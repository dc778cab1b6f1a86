/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "core/urcu_inline.h"

#include "core/dispatch.h"
#include "core/util.h"
#include "pt.h"
#include "table_page.h"

typedef _Atomic uint64_t pte_t;

static inline uint64_t pte_load(pte_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

static inline void pte_store(pte_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

static inline unsigned int pt_index(const struct pt_format *fmt,
				    uint64_t iova, unsigned int level)
{
	return (unsigned int)(iova >> pt_level_shift(fmt, level)) &
	       (PT_TABLE_ENTRIES - 1);
}

static inline pte_t *table_at(const struct pt_format *fmt, uint64_t pte,
			      unsigned int level)
{
	return (pte_t *)(uintptr_t)fmt->addr(pte, level);
}

_Static_assert(PT_TABLE_BYTES == PT_PAGE_BYTES, "a table is one page");

/*
 * Dirty state: bit i of a table's log (table_page.h) says entry i is a
 * leaf a device has written through since the bit was last harvested.
 * It is kept there rather than in the leaf's own dirty bit so that a
 * harvest reads 64 bytes per table, not 4 KiB, and never writes a PTE.
 * Only leaves get bits: map and unmap clear the bits of the entries they
 * write.  A translation racing an unmap may leave a bit behind on the
 * entry it went through; the harvest then reports that range once more,
 * which costs a migration a page copied twice and never one missed.
 */

/* Bits lo..hi (0 <= lo <= hi <= 63) of a word. */
static inline uint64_t bit_range(unsigned int lo, unsigned int hi)
{
	return (~0ULL << lo) & (~0ULL >> (63 - hi));
}

/* The bits of entries first..last of one table, as a word's mask. */
static inline uint64_t word_mask(unsigned int word, unsigned int first,
				 unsigned int last)
{
	unsigned int lo = word * 64 < first ? first % 64 : 0;
	unsigned int hi = word * 64 + 63 > last ? last % 64 : 63;

	return bit_range(lo, hi);
}

/* Entries first..last of a table are clean: new leaves, or none. */
static void log_clear(pte_t *table, unsigned int first, unsigned int last)
{
	_Atomic uint64_t *log = pt_page_log(table);

	for (unsigned int w = first / 64; w <= last / 64; w++) {
		uint64_t m = word_mask(w, first, last);

		if (atomic_load_explicit(&log[w], memory_order_relaxed) & m)
			atomic_fetch_and(&log[w], ~m);
	}
}

/*
 * Table pages taken out of a live table, freed together once no reader
 * can still be walking them.
 */
struct pt_gather {
	struct rcu_head rcu;
	size_t n, cap;
	void *pages[];
};

static void gather_free_rcu(struct rcu_head *head)
{
	struct pt_gather *g = caa_container_of(head, struct pt_gather, rcu);

	ioasid_after_grace_period();
	for (size_t i = 0; i < g->n; i++)
		pt_page_free(g->pages[i]);
	free(g);
}

/* Add one page; without memory to remember it, wait and free it now. */
static void gather_page(struct pt_gather **gp, void *page)
{
	struct pt_gather *g = *gp;

	if (!g || g->n == g->cap) {
		size_t cap = g ? g->cap * 2 : 16;
		struct pt_gather *ng =
			realloc(g, sizeof(*g) + cap * sizeof(void *));

		if (!ng) {
			ioasid_synchronize_rcu();
			pt_page_free(page);
			return;
		}
		if (!g)
			ng->n = 0;
		ng->cap = cap;
		*gp = g = ng;
	}
	g->pages[g->n++] = page;
}

/* A detached table and everything below it, no longer paid for. */
static void gather_table(const struct pt *pt, struct pt_gather **gp,
			 pte_t *table, unsigned int level)
{
	for (unsigned int i = 0; level > 0 && i < PT_TABLE_ENTRIES; i++) {
		uint64_t e = pte_load(&table[i]);

		if (pt->fmt->kind(e, level) == PT_ENTRY_TABLE)
			gather_table(pt, gp, table_at(pt->fmt, e, level),
				     level - 1);
	}
	ioasid_user_mem_uncharge(pt->payer, PT_TABLE_BYTES);
	gather_page(gp, table);
}

static void gather_flush(struct pt_gather *g)
{
	if (g)
		ioasid_call_rcu(&g->rcu, gather_free_rcu);
}

static pte_t *alloc_table(const struct pt *pt)
{
	pte_t *t;

	if (ioasid_user_mem_charge(pt->payer, PT_TABLE_BYTES))
		return NULL;
	t = pt_page_alloc();
	if (!t)
		ioasid_user_mem_uncharge(pt->payer, PT_TABLE_BYTES);
	return t;
}

uint64_t pt_native_sizes(const struct pt_format *fmt, unsigned int ias_bits)
{
	uint64_t sizes = 0;

	for (unsigned int l = 0; l < fmt->max_levels; l++) {
		unsigned int shift = pt_level_shift(fmt, l);

		if (shift >= ias_bits || shift >= 64)
			break;
		if (fmt->leaf_levels & (1u << l))
			sizes |= 1ULL << shift;
	}
	return sizes;
}

/* The level whose leaves write a `size` leaf, or -1. */
static int level_for_size(const struct pt *pt, uint64_t size)
{
	for (int l = (int)pt->levels - 1; l >= 0; l--) {
		unsigned int shift = pt_level_shift(pt->fmt, (unsigned int)l);

		if (!(pt->fmt->leaf_levels & (1u << l)) ||
		    (1ULL << shift) > size)
			continue;
		return (size >> shift) <= PT_TABLE_ENTRIES ? l : -1;
	}
	return -1;
}

int pt_init(struct pt *pt, const struct pt_format *fmt, unsigned int ias_bits,
	    uint64_t pgsize_bitmap)
{
	unsigned int span;

	if (ias_bits <= fmt->granule_shift || ias_bits > 63 || !pgsize_bitmap)
		return -EINVAL;
	span = ias_bits - fmt->granule_shift;
	memset(pt, 0, sizeof(*pt));
	pt->fmt = fmt;
	pt->ias_bits = ias_bits;
	pt->levels = (span + PT_TABLE_BITS - 1) / PT_TABLE_BITS;
	if (pt->levels > fmt->max_levels)
		return -EINVAL;
	pt->pgsize_bitmap = pgsize_bitmap;
	for (uint64_t s = pgsize_bitmap; s; s &= s - 1)
		if ((s & -s) >> ias_bits || level_for_size(pt, s & -s) < 0)
			return -EINVAL;
	pt->payer = ioasid_current_uid();
	pt->root = alloc_table(pt);
	if (!pt->root)
		return -ENOMEM;
	pthread_mutex_init(&pt->lock, NULL);
	return 0;
}

static void free_table(const struct pt *pt, pte_t *table, unsigned int level)
{
	for (unsigned int i = 0; level > 0 && i < PT_TABLE_ENTRIES; i++) {
		uint64_t e = pte_load(&table[i]);

		if (pt->fmt->kind(e, level) == PT_ENTRY_TABLE)
			free_table(pt, table_at(pt->fmt, e, level), level - 1);
	}
	ioasid_user_mem_uncharge(pt->payer, PT_TABLE_BYTES);
	pt_page_free(table);
}

void pt_destroy(struct pt *pt)
{
	if (!pt->root)
		return;
	free_table(pt, pt->root, pt->levels - 1);
	pt->root = NULL;
	pthread_mutex_destroy(&pt->lock);
}

/* No leaf anywhere below: left over after partial unmaps. */
static bool table_empty(const struct pt_format *fmt, pte_t *table,
			unsigned int level)
{
	for (unsigned int i = 0; i < PT_TABLE_ENTRIES; i++) {
		uint64_t e = pte_load(&table[i]);

		switch (fmt->kind(e, level)) {
		case PT_ENTRY_NONE:
			break;
		case PT_ENTRY_TABLE:
			if (!table_empty(fmt, table_at(fmt, e, level),
					 level - 1))
				return false;
			break;
		case PT_ENTRY_LEAF:
			return false;
		}
	}
	return true;
}

/*
 * A level-0 table's row bit goes after any change to its leaves.  A
 * confirmer that set it reads the row again after, so it either sees the
 * change or finds its bit cleared after its set.  Always the locked
 * operation, never a look first: a look could miss a set made just
 * before it.
 */
static void row_forget(pte_t *table)
{
	uint64_t bit;
	_Atomic uint64_t *word = pt_page_row_word(table, &bit);

	atomic_fetch_and(word, ~bit);
}

/*
 * n leaves of `size` from iova (each a run of native leaves when size is
 * not native), all in one table: one walk down, then the entries in a
 * row.  Nothing is written unless all of them are free.
 */
static int map_leaves(struct pt *pt, uint64_t iova, uint64_t pa, uint64_t size,
		      uint64_t n, int prot, struct pt_gather **gp)
{
	const struct pt_format *fmt = pt->fmt;
	unsigned int target = (unsigned int)level_for_size(pt, size);
	unsigned int shift = pt_level_shift(fmt, target);
	unsigned int count = (unsigned int)((size >> shift) * n), idx;
	pte_t *table = pt->root;
	uint64_t leaf;

	for (unsigned int l = pt->levels - 1; l > target; l--) {
		pte_t *slot = &table[pt_index(fmt, iova, l)];
		uint64_t e = pte_load(slot);

		switch (fmt->kind(e, l)) {
		case PT_ENTRY_NONE:
			table = alloc_table(pt);
			if (!table)
				return -ENOMEM;
			/* Zeroed before it is published: release order. */
			pte_store(slot, fmt->mk_table((uintptr_t)table, l));
			break;
		case PT_ENTRY_TABLE:
			table = table_at(fmt, e, l);
			break;
		case PT_ENTRY_LEAF:
			return -EEXIST;
		}
	}

	/* Entries we cleared are 0: anything else is checked properly. */
	idx = pt_index(fmt, iova, target);
	for (unsigned int i = 0; i < count; i++) {
		uint64_t e = pte_load(&table[idx + i]);
		enum pt_entry_kind k;

		if (!e)
			continue;
		k = fmt->kind(e, target);
		if (k == PT_ENTRY_LEAF ||
		    (k == PT_ENTRY_TABLE &&
		     !table_empty(fmt, table_at(fmt, e, target), target - 1)))
			return -EEXIST;
	}
	/* Leaves in a row differ only in their address field, which no
	 * sum below the top of the output range carries out of. */
	leaf = fmt->mk_leaf(pa, target, prot);
	for (unsigned int i = 0; i < count; i++) {
		uint64_t e = pte_load(&table[idx + i]);

		pte_store(&table[idx + i], leaf + ((uint64_t)i << shift));
		if (e && fmt->kind(e, target) == PT_ENTRY_TABLE)
			gather_table(pt, gp, table_at(fmt, e, target),
				     target - 1);
	}
	log_clear(table, idx, idx + count - 1);
	if (target == 0)
		row_forget(table);
	return 0;
}

static uint64_t unmap_locked(struct pt *pt, uint64_t iova, uint64_t last,
			     struct pt_gather **gp);

/* Every bit at or below the highest set bit of x (x != 0). */
static inline uint64_t bits_upto(uint64_t x)
{
	unsigned int top = 63 - (unsigned int)__builtin_clzll(x);

	return top == 63 ? ~0ULL : (2ULL << top) - 1;
}

int pt_map(struct pt *pt, uint64_t iova, uint64_t pa, uint64_t len, int prot)
{
	uint64_t min = pt_min_pgsize(pt), start = iova, last;
	struct pt_gather *g = NULL;
	int rc = 0;

	if (!len || (iova | pa | len) & (min - 1) ||
	    __builtin_add_overflow(iova, len - 1, &last) ||
	    last >> pt->ias_bits || pa + (len - 1) < pa)
		return -EINVAL;

	pthread_mutex_lock(&pt->lock);
	while (len) {
		uint64_t sizes = pt->pgsize_bitmap, size, larger, n;
		unsigned int target_shift;

		/* The largest leaf both addresses are aligned to and that
		 * the rest of the range fills. */
		if (iova | pa)
			sizes &= bits_upto((iova | pa) & -(iova | pa));
		sizes &= bits_upto(len);
		size = 1ULL << (63 - __builtin_clzll(sizes));
		/* As many of those in a row as fit in the table, stopping
		 * where a larger leaf could begin. */
		target_shift = pt_level_shift(pt->fmt,
					      (unsigned int)level_for_size(pt, size));
		n = MIN(len / size,
			(PT_TABLE_ENTRIES -
			 ((iova >> target_shift) & (PT_TABLE_ENTRIES - 1))) /
				(size >> target_shift));
		larger = pt->pgsize_bitmap & ~bits_upto(size);
		if (larger) {
			larger &= -larger;
			if (!((iova ^ pa) & (larger - 1)))
				n = MIN(n, (larger - (iova & (larger - 1))) / size);
		}
		rc = map_leaves(pt, iova, pa, size, n, prot, &g);
		if (rc)
			break;
		iova += size * n;
		pa += size * n;
		len -= size * n;
	}
	if (rc && iova != start)
		unmap_locked(pt, start, iova - 1, &g);
	pthread_mutex_unlock(&pt->lock);
	gather_flush(g);
	return rc;
}

/* Unmap [iova, last] within `table` at `level`, which covers base. */
static uint64_t unmap_level(struct pt *pt, pte_t *table, unsigned int level,
			    uint64_t iova, uint64_t last,
			    struct pt_gather **gp)
{
	const struct pt_format *fmt = pt->fmt;
	unsigned int shift = pt_level_shift(fmt, level);
	uint64_t span = 1ULL << shift, done = 0;

	/* Level 0 holds only leaves, and a cleared entry is 0: a plain
	 * loop over the entries in range. */
	if (level == 0) {
		unsigned int first = pt_index(fmt, iova, 0);
		uint64_t table_last = iova | ((span << PT_TABLE_BITS) - 1);
		unsigned int lastidx =
			pt_index(fmt, last < table_last ? last : table_last, 0);

		for (unsigned int i = first; i <= lastidx; i++) {
			if (pte_load(&table[i])) {
				pte_store(&table[i], 0);
				done += span;
			}
		}
		log_clear(table, first, lastidx);
		row_forget(table);
		return done;
	}

	for (;;) {
		pte_t *slot = &table[pt_index(fmt, iova, level)];
		uint64_t e = pte_load(slot);
		uint64_t base = iova & ~(span - 1), end = base + span - 1;
		uint64_t stop = end < last ? end : last;

		switch (fmt->kind(e, level)) {
		case PT_ENTRY_NONE:
			break;
		case PT_ENTRY_LEAF:
			pte_store(slot, 0);
			log_clear(table, pt_index(fmt, iova, level),
				  pt_index(fmt, iova, level));
			done += span;
			break;
		case PT_ENTRY_TABLE: {
			pte_t *sub = table_at(fmt, e, level);

			done += unmap_level(pt, sub, level - 1, iova, stop, gp);
			if (iova == base && stop == end) {
				pte_store(slot, 0);
				gather_table(pt, gp, sub, level - 1);
			}
			break;
		}
		}
		if (stop == last || pt_index(fmt, end + 1, level) == 0)
			return done;
		iova = end + 1;
	}
}

static uint64_t unmap_locked(struct pt *pt, uint64_t iova, uint64_t last,
			     struct pt_gather **gp)
{
	return unmap_level(pt, pt->root, pt->levels - 1, iova, last, gp);
}

uint64_t pt_unmap(struct pt *pt, uint64_t iova, uint64_t len)
{
	struct pt_gather *g = NULL;
	uint64_t last, done;

	if (!len || iova >> pt->ias_bits)
		return 0;
	if (__builtin_add_overflow(iova, len - 1, &last) ||
	    last >> pt->ias_bits)
		last = (1ULL << pt->ias_bits) - 1;
	pthread_mutex_lock(&pt->lock);
	done = unmap_locked(pt, iova, last, &g);
	pthread_mutex_unlock(&pt->lock);
	gather_flush(g);
	return done;
}

/* The table entries a walk went through, by level, and what they held. */
struct pt_path {
	pte_t *slot[PT_MAX_LEVELS];
	uint64_t pte[PT_MAX_LEVELS];
};

/* The leaf PTE holding iova, or NULL; inside a read-side section.  With
 * path, the table entries on the way are recorded there. */
static pte_t *walk(struct pt *pt, uint64_t iova, unsigned int *level_out,
		   uint64_t *pte_out, struct pt_path *path)
{
	const struct pt_format *fmt = pt->fmt;
	pte_t *table = pt->root;

	if (iova >> pt->ias_bits)
		return NULL;
	for (unsigned int l = pt->levels; l-- > 0;) {
		pte_t *slot = &table[pt_index(fmt, iova, l)];
		uint64_t e = pte_load(slot);

		switch (fmt->kind(e, l)) {
		case PT_ENTRY_NONE:
			return NULL;
		case PT_ENTRY_LEAF:
			*level_out = l;
			*pte_out = e;
			return slot;
		case PT_ENTRY_TABLE:
			if (l == 0)
				return NULL; /* malformed: no table below 0 */
			if (path) {
				path->slot[l] = slot;
				path->pte[l] = e;
			}
			table = table_at(fmt, e, l);
			break;
		}
	}
	return NULL;
}

/*
 * A leaf below the path's tables has just become dirty: say so in each
 * table entry above it, so a harvest looks into those tables.  Only an
 * entry that still points to the table we walked through gets the bit
 * (an unmap may have put something else there since).  The leaf's bit was
 * set first, and a harvest clears an entry's bit before it scans below
 * it: whichever comes first, the harvest finds the leaf.
 */
static void mark_path(struct pt *pt, struct pt_path *path,
		      unsigned int leaf_level)
{
	uint64_t t = pt->fmt->table_dirty_bit;

	for (unsigned int l = leaf_level + 1; t && l < pt->levels; l++) {
		uint64_t e = atomic_load(path->slot[l]);

		while (!(e & t) && (e | t) == (path->pte[l] | t) &&
		       !atomic_compare_exchange_weak(path->slot[l], &e, e | t))
			;
	}
}

static void fill_translation(const struct pt *pt, uint64_t iova,
			     uint64_t pte, unsigned int level,
			     struct pt_translation *out)
{
	uint64_t size = 1ULL << pt_level_shift(pt->fmt, level);

	out->leaf_size = size;
	out->leaf_iova = iova & ~(size - 1);
	out->pa = pt->fmt->addr(pte, level) + (iova & (size - 1));
	out->prot = pt->fmt->prot(pte);
}

int pt_iova_to_phys(struct pt *pt, uint64_t iova, struct pt_translation *out)
{
	unsigned int level;
	uint64_t pte;

	if (!walk(pt, iova, &level, &pte, NULL))
		return -ENOENT;
	fill_translation(pt, iova, pte, level, out);
	return 0;
}

/* The level-0 table holding iova's leaf, or NULL. */
static pte_t *leaf_table(struct pt *pt, uint64_t iova)
{
	unsigned int level;
	uint64_t pte;
	pte_t *slot = walk(pt, iova, &level, &pte, NULL);

	return slot && level == 0 ? slot - pt_index(pt->fmt, iova, 0) : NULL;
}

/* The first IOVA of the level-0 table that covers iova. */
static uint64_t row_base(const struct pt *pt, uint64_t iova)
{
	uint64_t span = (uint64_t)PT_TABLE_ENTRIES
			<< pt_level_shift(pt->fmt, 0);

	return iova & ~(span - 1);
}

/* A leaf as a row compares it: without the bits a device's accesses set. */
static uint64_t row_leaf(const struct pt *pt, pte_t *slot)
{
	return pte_load(slot) & ~(pt->fmt->accessed_bit | pt->fmt->dirty_bit);
}

/* The address of a leaf row_leaf() read. */
static uint64_t row_leaf_pa(const struct pt *pt, uint64_t base, uint64_t e)
{
	struct pt_translation t;

	fill_translation(pt, base, e, 0, &t);
	return t.pa;
}

/*
 * Whether the level-0 table covering base is one row, as a map writes one
 * (one template plus each leaf's offset, see map_leaves; only the
 * accessed and dirty bits change after).  The last leaf is looked at
 * first: most tables that are not a row fail there, without the loop.
 */
static bool table_is_row(const struct pt *pt, pte_t *table, uint64_t base,
			 uint64_t *pa)
{
	const uint64_t step = 1ULL << pt_level_shift(pt->fmt, 0);
	uint64_t first = row_leaf(pt, &table[0]);

	if (pt->fmt->kind(first, 0) != PT_ENTRY_LEAF ||
	    row_leaf(pt, &table[PT_TABLE_ENTRIES - 1]) !=
		    first + (PT_TABLE_ENTRIES - 1) * step)
		return false;
	for (unsigned int i = 1; i < PT_TABLE_ENTRIES - 1; i++)
		if (row_leaf(pt, &table[i]) != first + i * step)
			return false;
	*pa = row_leaf_pa(pt, base, first);
	return true;
}

int pt_leaf_row(struct pt *pt, uint64_t iova, uint64_t *pa, bool *known)
{
	uint64_t base = row_base(pt, iova), bit;
	pte_t *table = leaf_table(pt, iova);
	_Atomic uint64_t *word;

	if (!table)
		return -ENOENT;
	word = pt_page_row_word(table, &bit);
	*known = atomic_load_explicit(word, memory_order_acquire) & bit;
	if (*known) {
		*pa = row_leaf_pa(pt, base, row_leaf(pt, &table[0]));
		return 0;
	}
	return table_is_row(pt, table, base, pa) ? 0 : -ENOENT;
}

void pt_leaf_row_confirm(struct pt *pt, uint64_t iova, uint64_t pa)
{
	pte_t *table = leaf_table(pt, iova);
	_Atomic uint64_t *word;
	uint64_t bit, again;

	if (!table)
		return;
	word = pt_page_row_word(table, &bit);
	atomic_fetch_or(word, bit);
	if (!table_is_row(pt, table, row_base(pt, iova), &again) || again != pa)
		atomic_fetch_and(word, ~bit);
}

/*
 * A write through the leaf at slot: its bit in the table's log, and on the
 * first write since a harvest, the marks on the way down.  The bit is set
 * before the marks are looked at, and a harvest clears a mark before it
 * reads the bits below it: whichever comes first, the harvest finds it.
 */
static void log_write(struct pt *pt, pte_t *slot, struct pt_path *path,
		      unsigned int level)
{
	unsigned int i = (unsigned int)((uintptr_t)slot % PT_PAGE_BYTES /
					sizeof(*slot));
	_Atomic uint64_t *word = pt_page_log(slot) + i / 64;
	uint64_t bit = 1ULL << (i % 64);

	if (atomic_load(word) & bit)
		return;
	if (!(atomic_fetch_or(word, bit) & bit))
		mark_path(pt, path, level);
}

int pt_translate(struct pt *pt, uint64_t iova, bool write,
		 struct pt_translation *out)
{
	uint64_t pte, a = pt->fmt->accessed_bit;
	struct pt_path path;
	unsigned int level;
	pte_t *slot;

	slot = walk(pt, iova, &level, &pte, &path);
	if (!slot)
		return -ENOENT;
	/* The accessed bit only in the entry we translated through: a
	 * concurrent unmap or remap changes it, and then we look again. */
	for (;;) {
		if (pt->fmt->kind(pte, level) != PT_ENTRY_LEAF)
			return -ENOENT;
		fill_translation(pt, iova, pte, level, out);
		if (!(out->prot & (write ? PT_PROT_WRITE : PT_PROT_READ)))
			return -EPERM;
		if ((pte & a) == a ||
		    atomic_compare_exchange_weak(slot, &pte, pte | a))
			break;
	}
	if (write && pt->fmt->dirty_bit)
		log_write(pt, slot, &path, level);
	return 0;
}

int pt_set_dirty(struct pt *pt, uint64_t iova)
{
	struct pt_path path;
	unsigned int level;
	uint64_t pte;
	pte_t *slot;
	int rc = -ENOENT;

	if (!pt->fmt->dirty_bit)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&pt->lock);
	slot = walk(pt, iova, &level, &pte, &path);
	if (slot) {
		log_write(pt, slot, &path, level);
		rc = 0;
	}
	pthread_mutex_unlock(&pt->lock);
	return rc;
}

/*
 * A harvest.  Dirty leaves go to fn, or (bm) straight into a bitmap, with
 * no call per leaf.  Runs under the table's lock, so only translations run
 * beside it, and they only ever set bits.
 */
struct dirty_walk {
	struct pt *pt;
	bool keep;
	uint64_t first, last; /* the range asked for */
	void (*fn)(uint64_t iova, uint64_t size, void *arg);
	void *arg;
	struct pt_dirty_bitmap *bm;
};

/* Bits [b, end] of the bitmap: whole bytes at once. */
static void bitmap_set(uint8_t *bits, uint64_t b, uint64_t end)
{
	for (; b <= end && b % 8; b++)
		bits[b / 8] |= (uint8_t)(1u << (b % 8));
	if (b + 7 <= end) {
		memset(bits + b / 8, 0xff, (end + 1 - b) / 8);
		b += (end + 1 - b) / 8 * 8;
	}
	for (; b <= end; b++)
		bits[b / 8] |= (uint8_t)(1u << (b % 8));
}

/* The bits of the bitmap's pages that [iova, iova + size) meets. */
static void bitmap_mark(struct pt_dirty_bitmap *bm, uint64_t iova,
			uint64_t size)
{
	uint64_t lo = MAX(iova, bm->iova);
	uint64_t hi = MIN(iova + (size - 1), bm->last);

	if (lo <= hi)
		bitmap_set(bm->bits, (lo - bm->iova) >> bm->pgshift,
			   (hi - bm->iova) >> bm->pgshift);
}

/* OR a word of bits into the bitmap with its bit 0 at bit number `at`;
 * the word's bits all stand for pages inside the bitmap. */
static void bitmap_or_word(struct pt_dirty_bitmap *bm, uint64_t at,
			   uint64_t word)
{
	unsigned __int128 v = (unsigned __int128)word << (at % 8);
	uint8_t *p = bm->bits + at / 8;

	for (; v; v >>= 8)
		*p++ |= (uint8_t)v;
}

static inline void emit(struct dirty_walk *w, uint64_t iova, uint64_t size)
{
	if (w->bm)
		bitmap_mark(w->bm, iova, size);
	else if (w->fn)
		w->fn(iova, size, w->arg);
}

/*
 * The dirty leaves among entries first..last of a table at `level` whose
 * entry 0 maps tbase, read from its log 64 entries at a time, and taken
 * out of it unless kept.  When a leaf is a page of the bitmap and the
 * bitmap starts on a leaf, a word of the log is a word of the bitmap.
 */
static void dirty_log(struct dirty_walk *w, pte_t *table, unsigned int level,
		      uint64_t tbase, unsigned int first, unsigned int last)
{
	unsigned int shift = pt_level_shift(w->pt->fmt, level);
	_Atomic uint64_t *log = pt_page_log(table);
	struct pt_dirty_bitmap *bm = w->bm;
	bool direct = bm && bm->pgshift == shift &&
		      !((tbase - bm->iova) & ((1ULL << shift) - 1));
	/* Entry 0's bit in the bitmap, below bit 0 when the bitmap starts
	 * inside the table (entries before it are outside the range). */
	int64_t bit0 = 0;

	if (direct)
		bit0 = tbase >= bm->iova ?
			       (int64_t)((tbase - bm->iova) >> shift) :
			       -(int64_t)((bm->iova - tbase) >> shift);
	for (unsigned int k = first / 64; k <= last / 64; k++) {
		uint64_t m = word_mask(k, first, last);
		uint64_t bits = atomic_load(&log[k]) & m;
		int64_t at = bit0 + 64 * (int64_t)k;

		if (!bits)
			continue;
		/* Taken with the clear, so a bit set meanwhile is either
		 * reported now or left for the next harvest. */
		if (!w->keep)
			bits = atomic_fetch_and(&log[k], ~m) & m;
		if (direct) {
			bitmap_or_word(bm, at < 0 ? 0 : (uint64_t)at,
				       at < 0 ? bits >> -at : bits);
			continue;
		}
		for (; bits; bits &= bits - 1) {
			uint64_t e = 64 * k + (unsigned int)__builtin_ctzll(bits);

			emit(w, tbase + (e << shift), 1ULL << shift);
		}
	}
}

static void dirty_level(struct dirty_walk *w, pte_t *table, unsigned int level,
			uint64_t iova, uint64_t last)
{
	const struct pt_format *fmt = w->pt->fmt;
	unsigned int shift = pt_level_shift(fmt, level);
	uint64_t span = 1ULL << shift, t = fmt->table_dirty_bit;
	unsigned int tshift = shift + PT_TABLE_BITS;
	uint64_t tbase = tshift >= 64 ? 0 : iova >> tshift << tshift;
	unsigned int first = pt_index(fmt, iova, level);
	unsigned int end = (last - tbase) >> shift >= PT_TABLE_ENTRIES ?
				   PT_TABLE_ENTRIES - 1 :
				   (unsigned int)((last - tbase) >> shift);

	if (fmt->leaf_levels & (1u << level))
		dirty_log(w, table, level, tbase, first, end);
	for (unsigned int i = first; level > 0 && i <= end; i++) {
		uint64_t e = pte_load(&table[i]);
		uint64_t base = tbase + ((uint64_t)i << shift);
		uint64_t top = base + span - 1;

		/* Nothing below has been written since it was last
		 * harvested whole: skip it whole. */
		if (fmt->kind(e, level) != PT_ENTRY_TABLE || (t && !(e & t)))
			continue;
		/* Harvested whole now: clear the mark first, so a leaf
		 * dirtied during the scan marks it again. */
		if (!w->keep && base >= w->first && top <= w->last)
			atomic_fetch_and(&table[i], ~t);
		dirty_level(w, table_at(fmt, e, level), level - 1,
			    MAX(iova, base), MIN(last, top));
	}
}

static int harvest(struct dirty_walk *w, uint64_t iova, uint64_t len)
{
	struct pt *pt = w->pt;

	if (!pt->fmt->dirty_bit)
		return -EOPNOTSUPP;
	if (!len || iova >> pt->ias_bits)
		return 0;
	if (__builtin_add_overflow(iova, len - 1, &w->last) ||
	    w->last >> pt->ias_bits)
		w->last = (1ULL << pt->ias_bits) - 1;
	w->first = iova;
	pthread_mutex_lock(&pt->lock);
	dirty_level(w, pt->root, pt->levels - 1, iova, w->last);
	pthread_mutex_unlock(&pt->lock);
	return 0;
}

int pt_read_and_clear_dirty(struct pt *pt, uint64_t iova, uint64_t len,
			    bool keep,
			    void (*fn)(uint64_t iova, uint64_t size, void *arg),
			    void *arg)
{
	struct dirty_walk w = { .pt = pt, .keep = keep, .fn = fn, .arg = arg };

	return harvest(&w, iova, len);
}

int pt_read_and_clear_dirty_bitmap(struct pt *pt, bool keep,
				   struct pt_dirty_bitmap *bm)
{
	struct dirty_walk w = { .pt = pt, .keep = keep, .bm = bm };

	if (bm->last < bm->iova)
		return -EINVAL;
	return harvest(&w, bm->iova, bm->last - bm->iova + 1);
}

void pt_clear_all_dirty(struct pt *pt)
{
	pt_read_and_clear_dirty(pt, 0, 1ULL << pt->ias_bits, false, NULL,
				NULL);
}
