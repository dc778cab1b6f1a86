/* SPDX-License-Identifier: MIT */
/*
 * T6: the cost dirty tracking adds to a device's write (the first write
 * to a page after the bits were harvested sets its dirty bit), per page,
 * against the same translation for a read; and harvesting a 1 GiB
 * mapping of 2 MiB leaves into a bitmap of 4 KiB pages, all dirty and
 * all clean.  In the core, on a VT-d second-level table.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "pt/pt.h"

#define PG 4096ull
#define HUGE (2ull << 20)
#define GIB (1ull << 30)

static uint8_t bitmap[GIB / PG / 8];

/* Set the bits of [iova, iova + size) in the bitmap of 4 KiB pages of
 * the harvested GiB, which starts at IOVA GIB. */
static void mark(uint64_t iova, uint64_t size, void *arg)
{
	uint64_t first = (iova - GIB) / PG, n = size / PG;

	if (!(first % 8) && !(n % 8)) {
		memset(bitmap + first / 8, 0xff, n / 8);
		return;
	}
	for (uint64_t i = first; i < first + n; i++)
		bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
}

int main(void)
{
	const uint64_t npages = 65536; /* 256 MiB of 4 KiB leaves */
	struct pt small, big;
	struct pt_translation t;
	double rd, wr, dirty, clean;

	if (pt_init(&small, &pt_fmt_vtd_sl, 48, PG) ||
	    pt_init(&big, &pt_fmt_vtd_sl, 48, PG | HUGE))
		return 1;
	if (pt_map(&small, 0, GIB, npages * PG, 3) ||
	    pt_map(&big, GIB, 2 * GIB + HUGE, GIB, 3))
		return 1;

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

	/* Harvest: all dirty (marked again before each try), all clean. */
	dirty = 1e300;
	for (int r = 0; r < 5; r++) {
		double t0, dt;

		for (uint64_t off = 0; off < GIB; off += HUGE)
			pt_set_dirty(&big, GIB + off);
		t0 = bench_now_ns();
		pt_read_and_clear_dirty(&big, GIB, GIB, false, mark, NULL);
		dt = (bench_now_ns() - t0) / 1000;
		dirty = dt < dirty ? dt : dirty;
	}
	clean = BENCH_BEST(5, 1, {
		pt_read_and_clear_dirty(&big, GIB, GIB, false, mark, NULL);
	}) / 1000;
	bench_fact("t6_harvest_dirty_us", "T6 harvest 1 GiB, all dirty", dirty,
		   "us");
	bench_fact("t6_harvest_clean_us", "T6 harvest 1 GiB, all clean", clean,
		   "us");
	bench_end();
	ioasid_synchronize_rcu();
	pt_destroy(&small);
	pt_destroy(&big);
	return 0;
}
