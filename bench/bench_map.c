/* SPDX-License-Identifier: MIT */
/*
 * T4: the cost per page of map plus unmap in the IO page table (VT-d
 * second level, in the core, in-process): one-page calls, 256-page runs,
 * and 2 MiB-aligned runs, which must be one 2 MiB leaf each.  The
 * baseline is writing one PTE (an 8-byte release store into a table).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"
#include "pt/pt.h"

#define PG 4096ull
#define HUGE (2ull << 20)

int main(void)
{
	static _Atomic uint64_t table[512];
	struct pt pt;
	double base, one, run256, huge_run;
	struct pt_translation t;
	uint64_t leaves = 0;

	if (pt_init(&pt, &pt_fmt_vtd_sl, 48, pt_native_sizes(&pt_fmt_vtd_sl, 48)))
		return 1;
	bench_begin("map");
	base = BENCH_BEST(5, 50000000, {
		atomic_store_explicit(&table[_i & 511], _i | 3,
				      memory_order_release);
	});
	/* Pages at 4 KiB-aligned addresses that are not 2 MiB-aligned:
	 * 4 KiB leaves however long the run. */
	one = BENCH_BEST(5, 2000000, {
		uint64_t iova = (_i & 255) * PG;

		pt_map(&pt, iova, (1ull << 30) + PG + iova, PG, 3);
		pt_unmap(&pt, iova, PG);
	});
	run256 = BENCH_BEST(5, 20000, {
		pt_map(&pt, 0, (1ull << 30) + PG, 256 * PG, 3);
		pt_unmap(&pt, 0, 256 * PG);
	}) / 256;
	huge_run = BENCH_BEST(5, 200000, {
		uint64_t iova = ((_i & 63) + 1) * HUGE;

		pt_map(&pt, iova, iova + (1ull << 32), HUGE, 3);
		pt_unmap(&pt, iova, HUGE);
	}) / 512;
	/* How many leaves an aligned 2 MiB takes: one, or it is wrong. */
	pt_map(&pt, 64 * HUGE, 64 * HUGE + (1ull << 32), HUGE, 3);
	for (uint64_t off = 0; off < HUGE; off += t.leaf_size) {
		if (pt_iova_to_phys(&pt, 64 * HUGE + off, &t))
			return 1;
		leaves++;
	}
	bench_row("t4_one_page_ns", "T4 map+unmap, 1-page calls, per page",
		  one, base, "ns");
	bench_row("t4_run256_ns", "T4 map+unmap, 256-page runs, per page",
		  run256, base, "ns");
	bench_row("t4_huge_ns", "T4 map+unmap, aligned 2 MiB runs, per page",
		  huge_run, base, "ns");
	bench_fact("t4_leaves_per_2m", "T4 leaves per aligned 2 MiB",
		   (double)leaves, "");
	bench_end();
	ioasid_synchronize_rcu();
	pt_destroy(&pt);
	return 0;
}
