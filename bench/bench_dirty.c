/* SPDX-License-Identifier: MIT */
/*
 * T6: the cost dirty tracking adds to a device's write (the first write
 * to a page after the bits were harvested sets its dirty bit), per page,
 * against the same translation for a read; and harvesting 1 GiB into a
 * bitmap of 4 KiB pages, as IOMMU_HWPT_GET_DIRTY_BITMAP does, all dirty
 * and all clean: over 4 KiB leaves (a bit per leaf) and over 2 MiB
 * leaves.  In the core, on a VT-d second-level table.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "pt/pt.h"

#define PG 4096ull
#define HUGE (2ull << 20)
#define GIB (1ull << 30)

static uint8_t bitmap[GIB / PG / 8];

/* Best of five harvests of the GiB at iova into the bitmap, in us; before
 * each, dirty (one write per leaf of leaf bytes) or not. */
static double harvest_us(struct pt *pt, uint64_t iova, uint64_t leaf,
			 bool dirty)
{
	struct pt_dirty_bitmap bm = { .bits = bitmap, .iova = iova,
				      .last = iova + GIB - 1, .pgshift = 12 };
	double best = 1e300;

	for (int r = 0; r < 5; r++) {
		double t0, dt;

		if (dirty)
			for (uint64_t off = 0; off < GIB; off += leaf)
				pt_set_dirty(pt, iova + off);
		memset(bitmap, 0, sizeof(bitmap));
		t0 = bench_now_ns();
		pt_read_and_clear_dirty_bitmap(pt, false, &bm);
		dt = (bench_now_ns() - t0) / 1000;
		best = dt < best ? dt : best;
		bench_sink += bitmap[r];
	}
	return best;
}

int main(void)
{
	const uint64_t npages = 65536; /* the first 256 MiB of small */
	struct pt small, big;
	struct pt_translation t;
	double rd, wr, copy, scan;
	static uint64_t *ptes[512];

	/* small: 1 GiB of 4 KiB leaves; big: 1 GiB of 2 MiB leaves. */
	if (pt_init(&small, &pt_fmt_vtd_sl, 48, PG) ||
	    pt_init(&big, &pt_fmt_vtd_sl, 48, PG | HUGE))
		return 1;
	if (pt_map(&small, 0, GIB, GIB, 3) ||
	    pt_map(&big, GIB, 2 * GIB + HUGE, GIB, 3))
		return 1;

	for (unsigned int p = 0; p < 512; p++) {
		ptes[p] = aligned_alloc(PG, PG);
		if (!ptes[p])
			return 1;
		for (unsigned int j = 0; j < 512; j++)
			ptes[p][j] = (uint64_t)p << 21 | (uint64_t)j << 12 | 0x203;
	}
	bench_begin("dirty");
	ioasid_rcu_read_lock();
	rd = BENCH_BEST(5, npages, {
		pt_translate(&small, _i * PG, false, &t);
		bench_sink += t.pa;
	});
	/* Each try starts from clean bits: every write sets one. */
	wr = 1e300;
	for (int r = 0; r < 5; r++) {
		double t0, dt;

		ioasid_rcu_read_unlock();
		pt_clear_all_dirty(&small);
		ioasid_rcu_read_lock();
		t0 = bench_now_ns();
		for (uint64_t i = 0; i < npages; i++) {
			pt_translate(&small, i * PG, true, &t);
			bench_sink += t.pa;
		}
		dt = (bench_now_ns() - t0) / npages;
		wr = dt < wr ? dt : wr;
	}
	ioasid_rcu_read_unlock();
	bench_row("t6_mark_ns", "T6 first write per page (sets dirty)", wr, rd,
		  "ns");
	bench_fact("t6_mark_extra_ns", "T6 dirty marking overhead per page",
		   wr - rd, "ns");

	/* Harvests: all dirty (marked again before each try), all clean.
	 * Over 4 KiB leaves, against reading as many PTEs as a GiB of them
	 * (2 MiB, in 512 table pages), which a table that keeps its dirty
	 * bits in its leaves cannot avoid; over 2 MiB leaves, against
	 * writing the bitmap they fill (32 KiB per GiB). */
	scan = BENCH_BEST(5, 1, {
		uint64_t m = 0;

		for (unsigned int p = 0; p < 512; p++)
			for (unsigned int j = 0; j < 512; j++)
				m |= (ptes[p][j] >> 9 & 1) << (j % 64);
		bench_sink += m;
	}) / 1000;
	copy = BENCH_BEST(5, 1, { memset(bitmap, 0xff, sizeof(bitmap)); }) /
	       1000;
	bench_row("t6_harvest_4k_dirty_us",
		  "T6 harvest 1 GiB of 4 KiB leaves, all dirty",
		  harvest_us(&small, 0, PG, true), scan, "us");
	bench_row("t6_harvest_4k_clean_us",
		  "T6 harvest 1 GiB of 4 KiB leaves, all clean",
		  harvest_us(&small, 0, PG, false), scan, "us");
	bench_row("t6_harvest_dirty_us",
		  "T6 harvest 1 GiB of 2 MiB leaves, all dirty",
		  harvest_us(&big, GIB, HUGE, true), copy, "us");
	bench_row("t6_harvest_clean_us",
		  "T6 harvest 1 GiB of 2 MiB leaves, all clean",
		  harvest_us(&big, GIB, HUGE, false), copy, "us");
	bench_end();
	ioasid_synchronize_rcu();
	pt_destroy(&small);
	pt_destroy(&big);
	for (unsigned int p = 0; p < 512; p++)
		free(ptes[p]);
	return 0;
}
