/* SPDX-License-Identifier: MIT */
/*
 * AMD IOMMU v1 host page tables (AMD I/O Virtualization Technology
 * specification, "I/O Page Tables for Host Translations").
 *
 * PR in bit 0, A in 5, D in 6, the Next Level field in bits 9-11, the
 * address in 12-51, IR and IW in 61 and 62.  Next Level names the level of
 * the table an entry points to (1 is the table of 4 KiB pages); 0 makes the
 * entry a leaf of its own level's size.  Six levels reach 64 bits; any
 * level may hold a leaf.  Bits 6-8 of a table entry are ignored by the
 * hardware: bit 8 marks dirty tables for us.
 */
#include "pt.h"

#define AMD_PR (1ULL << 0)
#define AMD_A (1ULL << 5)
#define AMD_D (1ULL << 6)
#define AMD_TABLE_DIRTY (1ULL << 8) /* ignored in table entries */
#define AMD_NEXT_SHIFT 9
#define AMD_NEXT_MASK (7ULL << AMD_NEXT_SHIFT)
#define AMD_ADDR 0x000ffffffffff000ULL
#define AMD_IR (1ULL << 61)
#define AMD_IW (1ULL << 62)

static uint64_t amd_leaf(uint64_t pa, unsigned int level, int prot)
{
	return (pa & AMD_ADDR) | AMD_PR |
	       (prot & PT_PROT_READ ? AMD_IR : 0) |
	       (prot & PT_PROT_WRITE ? AMD_IW : 0);
}

/* An entry at our level L points to a table whose entries are level L-1,
 * which AMD numbers L. */
static uint64_t amd_table(uint64_t table_pa, unsigned int level)
{
	return (table_pa & AMD_ADDR) | AMD_PR | AMD_IR | AMD_IW |
	       ((uint64_t)level << AMD_NEXT_SHIFT);
}

static enum pt_entry_kind amd_kind(uint64_t pte, unsigned int level)
{
	if (!(pte & AMD_PR))
		return PT_ENTRY_NONE;
	return pte & AMD_NEXT_MASK ? PT_ENTRY_TABLE : PT_ENTRY_LEAF;
}

static uint64_t amd_addr(uint64_t pte, unsigned int level)
{
	return pte & AMD_ADDR;
}

static int amd_prot(uint64_t pte)
{
	return (pte & AMD_IR ? PT_PROT_READ : 0) |
	       (pte & AMD_IW ? PT_PROT_WRITE : 0);
}

const struct pt_format pt_fmt_amdv1 = {
	.name = "amdv1",
	.granule_shift = 12,
	.max_levels = 6,
	.leaf_levels = 0x3f,
	.mk_leaf = amd_leaf,
	.mk_table = amd_table,
	.kind = amd_kind,
	.addr = amd_addr,
	.prot = amd_prot,
	.accessed_bit = AMD_A,
	.dirty_bit = AMD_D,
	.table_dirty_bit = AMD_TABLE_DIRTY,
};
