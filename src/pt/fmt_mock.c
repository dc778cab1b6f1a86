/* SPDX-License-Identifier: MIT */
/*
 * The selftest driver's table: 2 KiB leaves, 512 entries per table, so
 * leaves of 2 KiB, 1 MiB and 512 MiB.  Our own encoding, as simple as a
 * format can be: present, read, write, leaf, and A/D where x86 keeps them.
 */
#include "pt.h"

#define M_PRESENT (1ULL << 0)
#define M_READ (1ULL << 1)
#define M_WRITE (1ULL << 2)
#define M_LEAF (1ULL << 3)
#define M_ACCESSED (1ULL << 5)
#define M_DIRTY (1ULL << 6)
#define M_TABLE_DIRTY (1ULL << 7) /* in table entries: a leaf below is */
#define M_ADDR 0x000ffffffffff800ULL /* bits 11..51 */

static uint64_t mock_leaf(uint64_t pa, unsigned int level, int prot)
{
	return (pa & M_ADDR) | M_PRESENT | M_LEAF |
	       (prot & PT_PROT_READ ? M_READ : 0) |
	       (prot & PT_PROT_WRITE ? M_WRITE : 0);
}

static uint64_t mock_table(uint64_t table_pa, unsigned int level)
{
	return (table_pa & M_ADDR) | M_PRESENT;
}

static enum pt_entry_kind mock_kind(uint64_t pte, unsigned int level)
{
	if (!(pte & M_PRESENT))
		return PT_ENTRY_NONE;
	return pte & M_LEAF ? PT_ENTRY_LEAF : PT_ENTRY_TABLE;
}

static uint64_t mock_addr(uint64_t pte, unsigned int level)
{
	return pte & M_ADDR;
}

static int mock_prot(uint64_t pte)
{
	return (pte & M_READ ? PT_PROT_READ : 0) |
	       (pte & M_WRITE ? PT_PROT_WRITE : 0);
}

const struct pt_format pt_fmt_mock = {
	.name = "mock",
	.granule_shift = 11,
	.max_levels = 5,
	.leaf_levels = 0x7, /* 2 KiB, 1 MiB, 512 MiB */
	.mk_leaf = mock_leaf,
	.mk_table = mock_table,
	.kind = mock_kind,
	.addr = mock_addr,
	.prot = mock_prot,
	.accessed_bit = M_ACCESSED,
	.dirty_bit = M_DIRTY,
	.table_dirty_bit = M_TABLE_DIRTY,
};
