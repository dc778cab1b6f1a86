/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d page tables (VT-d specification, chapter 9).
 *
 * Second level: R, W, X in bits 0-2, PS (a large leaf) in bit 7, and with
 * SLADE the accessed and dirty flags in bits 8 and 9.  An entry is present
 * when R or W is set.
 *
 * First level: the x86-64 paging format, P, R/W, U/S in bits 0-2, A in 5,
 * D in 6, PS in 7, XD in 63.
 *
 * Both: 4 KiB granule, 2 MiB and 1 GiB leaves, addresses in bits 12-51,
 * four levels for 48-bit input addresses, five for 57.  Bit 11 is ignored
 * by the hardware in a table entry of either: we mark dirty tables there.
 */
#include "pt.h"

#define VTD_ADDR 0x000ffffffffff000ULL
#define VTD_PS (1ULL << 7)
#define VTD_TABLE_DIRTY (1ULL << 11) /* ignored in table entries */

#define SL_R (1ULL << 0)
#define SL_W (1ULL << 1)
#define SL_A (1ULL << 8)
#define SL_D (1ULL << 9)

static uint64_t sl_leaf(uint64_t pa, unsigned int level, int prot)
{
	return (pa & VTD_ADDR) | (level ? VTD_PS : 0) |
	       (prot & PT_PROT_READ ? SL_R : 0) |
	       (prot & PT_PROT_WRITE ? SL_W : 0);
}

static uint64_t sl_table(uint64_t table_pa, unsigned int level)
{
	/* Permissions of a table entry bound those below: allow all. */
	return (table_pa & VTD_ADDR) | SL_R | SL_W;
}

static enum pt_entry_kind sl_kind(uint64_t pte, unsigned int level)
{
	if (!(pte & (SL_R | SL_W)))
		return PT_ENTRY_NONE;
	return !level || pte & VTD_PS ? PT_ENTRY_LEAF : PT_ENTRY_TABLE;
}

static uint64_t vtd_addr(uint64_t pte, unsigned int level)
{
	return pte & VTD_ADDR;
}

static int sl_prot(uint64_t pte)
{
	return (pte & SL_R ? PT_PROT_READ : 0) |
	       (pte & SL_W ? PT_PROT_WRITE : 0);
}

const struct pt_format pt_fmt_vtd_sl = {
	.name = "vtd-sl",
	.granule_shift = 12,
	.max_levels = 5,
	.leaf_levels = 0x7,
	.mk_leaf = sl_leaf,
	.mk_table = sl_table,
	.kind = sl_kind,
	.addr = vtd_addr,
	.prot = sl_prot,
	.accessed_bit = SL_A,
	.dirty_bit = SL_D,
	.table_dirty_bit = VTD_TABLE_DIRTY,
};

#define FL_P (1ULL << 0)
#define FL_RW (1ULL << 1)
#define FL_US (1ULL << 2)
#define FL_A (1ULL << 5)
#define FL_D (1ULL << 6)

/* x86 paging has no write-only pages: a present page is readable. */
static uint64_t fl_leaf(uint64_t pa, unsigned int level, int prot)
{
	return (pa & VTD_ADDR) | FL_P | FL_US | (level ? VTD_PS : 0) |
	       (prot & PT_PROT_WRITE ? FL_RW : 0);
}

static uint64_t fl_table(uint64_t table_pa, unsigned int level)
{
	return (table_pa & VTD_ADDR) | FL_P | FL_RW | FL_US;
}

static enum pt_entry_kind fl_kind(uint64_t pte, unsigned int level)
{
	if (!(pte & FL_P))
		return PT_ENTRY_NONE;
	return !level || pte & VTD_PS ? PT_ENTRY_LEAF : PT_ENTRY_TABLE;
}

static int fl_prot(uint64_t pte)
{
	return PT_PROT_READ | (pte & FL_RW ? PT_PROT_WRITE : 0);
}

const struct pt_format pt_fmt_vtd_fl = {
	.name = "vtd-fl",
	.granule_shift = 12,
	.max_levels = 5,
	.leaf_levels = 0x7,
	.mk_leaf = fl_leaf,
	.mk_table = fl_table,
	.kind = fl_kind,
	.addr = vtd_addr,
	.prot = fl_prot,
	.accessed_bit = FL_A,
	.dirty_bit = FL_D,
	.table_dirty_bit = VTD_TABLE_DIRTY,
};
