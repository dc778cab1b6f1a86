/* SPDX-License-Identifier: MIT */
/*
 * IO page tables in real hardware formats.
 *
 * A table is a radix tree of 512-entry table pages; each entry is one
 * 64-bit PTE in the format's encoding, and a table entry holds the
 * address of the next table page (our memory is identity-mapped: a table
 * page's "physical" address is where it lives in this process).  Level 0
 * holds the smallest leaves, of the format's granule; a leaf one level up
 * covers 512 times as much, and so on, where the format allows it.
 *
 * Writers (map, unmap, dirty clearing) serialise on the table's mutex.
 * Translation takes no lock: readers run inside an RCU read-side critical
 * section (liburcu, "bulletproof" flavour, so no thread registration is
 * needed), load PTEs atomically, and table pages are freed only after a
 * grace period.  Translation sets the accessed bit in the leaf it went
 * through; a write's dirty state goes to the table's side log
 * (table_page.h), not to the leaf's dirty bit.
 */
#ifndef IOASID_PT_PT_H
#define IOASID_PT_PT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/rcu.h"

#define PT_TABLE_BITS 9
#define PT_TABLE_ENTRIES (1u << PT_TABLE_BITS)
#define PT_TABLE_BYTES (PT_TABLE_ENTRIES * sizeof(uint64_t))

#define PT_PROT_READ (1 << 0)
#define PT_PROT_WRITE (1 << 1)

enum pt_entry_kind {
	PT_ENTRY_NONE,
	PT_ENTRY_TABLE,
	PT_ENTRY_LEAF,
};

/* One hardware format: how PTEs are encoded and which levels hold leaves. */
struct pt_format {
	const char *name;
	unsigned int granule_shift; /* size of a level-0 leaf */
	unsigned int max_levels;
	unsigned int leaf_levels; /* bit L: level L may hold a leaf */
	uint64_t (*mk_leaf)(uint64_t pa, unsigned int level, int prot);
	uint64_t (*mk_table)(uint64_t table_pa, unsigned int level);
	enum pt_entry_kind (*kind)(uint64_t pte, unsigned int level);
	/* The output address of a leaf or the table address of a table. */
	uint64_t (*addr)(uint64_t pte, unsigned int level);
	int (*prot)(uint64_t pte);
	uint64_t accessed_bit; /* 0: the format has none */
	/* The format's dirty bit; 0: it tracks no dirty pages.  We keep
	 * the state in the table's side log (pt.c) and leave this clear. */
	uint64_t dirty_bit;
	/* A bit the hardware ignores in table entries, set by us in each
	 * entry above a leaf that became dirty: a harvest skips a table
	 * whose entry lacks it, whole. */
	uint64_t table_dirty_bit;
};

#define PT_MAX_LEVELS 6

extern const struct pt_format pt_fmt_mock;   /* the selftest's, 2 KiB */
extern const struct pt_format pt_fmt_vtd_sl; /* VT-d second level */
extern const struct pt_format pt_fmt_vtd_fl; /* VT-d first level (x86) */
extern const struct pt_format pt_fmt_amdv1;  /* AMD IOMMU v1 */

struct pt {
	const struct pt_format *fmt;
	unsigned int levels; /* the root table is at level levels - 1 */
	unsigned int ias_bits;
	uint64_t pgsize_bitmap; /* leaf sizes map may use, a power of 2 each */
	_Atomic uint64_t *root;
	pthread_mutex_t lock; /* writers only */
	/* Who pays for the table pages: the caller that made the table
	 * (core/user_limits.h). */
	uid_t payer;
};

static inline unsigned int pt_level_shift(const struct pt_format *fmt,
					  unsigned int level)
{
	return fmt->granule_shift + level * PT_TABLE_BITS;
}

/*
 * The sizes a format can map natively, for an input address space of
 * ias_bits: a bitmap of leaf sizes.
 */
uint64_t pt_native_sizes(const struct pt_format *fmt, unsigned int ias_bits);

/*
 * A table translating [0, 2^ias_bits).  pgsize_bitmap chooses the leaf
 * sizes map uses: each a native size or a power-of-2 multiple of one
 * (written as a run of native leaves, as AMD's contiguous pages are).
 * -EINVAL for sizes the format cannot express, -ENOMEM.
 */
int pt_init(struct pt *pt, const struct pt_format *fmt, unsigned int ias_bits,
	    uint64_t pgsize_bitmap);
/* Free every table page at once: no translation may be in flight. */
void pt_destroy(struct pt *pt);

/* The smallest leaf size: the alignment every map needs. */
static inline uint64_t pt_min_pgsize(const struct pt *pt)
{
	return pt->pgsize_bitmap & -pt->pgsize_bitmap;
}

/*
 * Map [iova, iova + len) to [pa, pa + len), with the largest leaves the
 * alignment of iova and pa allows.  -EINVAL for misaligned or out-of-range
 * arguments, -EEXIST when anything is already mapped there, -ENOMEM; on
 * failure nothing new is mapped.
 */
int pt_map(struct pt *pt, uint64_t iova, uint64_t pa, uint64_t len, int prot);

/*
 * Unmap every leaf that meets [iova, iova + len).  Returns the bytes those
 * leaves covered, which is more than len when a leaf reached outside the
 * range (it is unmapped whole, as hardware tables do).
 */
uint64_t pt_unmap(struct pt *pt, uint64_t iova, uint64_t len);

/*
 * Translate iova.  The caller is inside an RCU read-side critical section
 * (ioasid_rcu_read_lock) for as long as it uses the result.  -ENOENT when nothing
 * is mapped there.
 */
struct pt_translation {
	uint64_t pa;
	uint64_t leaf_iova; /* where the leaf starts */
	uint64_t leaf_size;
	int prot;
};
int pt_iova_to_phys(struct pt *pt, uint64_t iova, struct pt_translation *out);
int pt_iova_to_phys(struct pt *pt, uint64_t iova, struct pt_translation *out);

/*
 * Whether the level-0 table holding iova's leaf is one row: every entry a
 * leaf, their addresses consecutive and their permissions the same (a
 * map of a contiguous run writes such a row where the IOVA and the
 * address are not aligned alike, so that no larger leaf fits).  0 with
 * *pa the address of the table's first leaf, or -ENOENT.  *known: the
 * caller confirmed this row (pt_leaf_row_confirm) and no leaf of the
 * table has changed since, so it was not read again.  Inside a
 * read-side section.
 */
int pt_leaf_row(struct pt *pt, uint64_t iova, uint64_t *pa, bool *known);

/*
 * The caller's own test of the row pt_leaf_row() found at iova, with
 * first address pa, has passed: remember it until a leaf of the table
 * changes (nothing is remembered if one already has).  Inside a
 * read-side section.
 */
void pt_leaf_row_confirm(struct pt *pt, uint64_t iova, uint64_t pa);

/*
 * What a device's access does: translate, check the direction (-EPERM),
 * set the accessed bit, and for a write mark the leaf dirty.
 */
int pt_translate(struct pt *pt, uint64_t iova, bool write,
		 struct pt_translation *out);

/* Mark the leaf holding iova dirty; -ENOENT when nothing is mapped. */
int pt_set_dirty(struct pt *pt, uint64_t iova);

/*
 * Report the dirty leaves meeting [iova, iova + len) to fn (leaf start and
 * size), clearing their dirty bits unless `keep`.  -EOPNOTSUPP when the
 * format has no dirty bit.
 */
int pt_read_and_clear_dirty(struct pt *pt, uint64_t iova, uint64_t len,
			    bool keep,
			    void (*fn)(uint64_t iova, uint64_t size, void *arg),
			    void *arg);

/*
 * The same into a bitmap, without a call per leaf: bit n stands for the
 * page of 2^pgshift bytes at iova + (n << pgshift), and is set when a
 * dirty leaf meets that page inside [iova, last].  Bits are only set.
 */
struct pt_dirty_bitmap {
	uint8_t *bits;
	uint64_t iova, last;
	unsigned int pgshift;
};
int pt_read_and_clear_dirty_bitmap(struct pt *pt, bool keep,
				   struct pt_dirty_bitmap *bm);

/* Clear every dirty bit (as enabling dirty tracking does). */
void pt_clear_all_dirty(struct pt *pt);


#endif
