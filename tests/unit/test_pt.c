/* SPDX-License-Identifier: MIT */
/*
 * The page-table library, format by format: a table of map/unmap cases
 * with the leaf sizes and errors each must give, a random model check
 * against a flat array, and a reader translating without locks while a
 * writer maps and unmaps (under ASan this catches a table page freed
 * before its readers left).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <urcu-bp.h>

#include "check.h"
#include "core/util.h"
#include "pt/pt.h"

#define K 1024ULL
#define M (1024 * K)
#define G (1024 * M)

static const struct pt_format *const formats[] = {
	&pt_fmt_mock,
	&pt_fmt_vtd_sl,
	&pt_fmt_vtd_fl,
	&pt_fmt_amdv1,
};

/* Per thread: the race cases draw from it on both sides. */
static __thread uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Scales a case written for a 4 KiB granule to the format's. */
static uint64_t g(const struct pt_format *f, uint64_t bytes)
{
	return f->granule_shift == 12 ? bytes : bytes >> 1;
}

#define BEYOND UINT64_MAX /* the first IOVA past the input space */

struct map_case {
	const char *what;
	uint64_t iova, pa, len; /* in 4 KiB-granule bytes, scaled by g() */
	int prot;
	int err;
	uint64_t leaf; /* leaf size seen at iova, 0 to skip */
};

static void map_cases(const struct pt_format *f)
{
	const struct map_case cases[] = {
		{ "one granule", 0x1000, 0x5000, 0x1000, 3, 0, 0x1000 },
		{ "overlaps it", 0x0, 0x0, 0x2000, 3, -EEXIST, 0 },
		{ "aligned 2M run", 2 * M, 4 * M, 2 * M, 3, 0, 2 * M },
		{ "2M iova, pa off by a page", 8 * M, 16 * M + 0x1000, 2 * M,
		  1, 0, 0x1000 },
		{ "aligned 1G run", G, 3 * G, G, 3, 0, G },
		{ "1G iova, 2M-aligned pa", 4 * G, 6 * G + 2 * M, G, 3, 0,
		  2 * M },
		{ "misaligned iova", 0x800, 0, 0x1000, 3, -EINVAL, 0 },
		{ "misaligned length", 0x10000, 0, 0x800, 3, -EINVAL, 0 },
		{ "empty", 0x10000, 0, 0, 3, -EINVAL, 0 },
		{ "past the input space", BEYOND, 0, 0x1000, 3, -EINVAL, 0 },
		{ "inside the 2M leaf", 3 * M, 0, 0x1000, 3, -EEXIST, 0 },
	};
	struct pt pt;
	int ias = f == &pt_fmt_mock ? 38 : 48;

	CHECK_EQ(pt_init(&pt, f, (unsigned int)ias,
			 pt_native_sizes(f, (unsigned int)ias)),
		 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct map_case *c = &cases[i];
		uint64_t iova = g(f, c->iova), pa = g(f, c->pa);
		struct pt_translation t;
		int rc;

		if (c->iova == BEYOND)
			iova = 1ULL << ias;
		rc = pt_map(&pt, iova, pa, g(f, c->len), c->prot);
		if (rc != c->err)
			fprintf(stderr, "%s: %s: %d\n", f->name, c->what, rc);
		CHECK_EQ(rc, c->err);
		if (!c->leaf)
			continue;
		CHECK_EQ(pt_iova_to_phys(&pt, iova + g(f, c->len) - 1, &t), 0);
		CHECK_EQ(t.pa, pa + g(f, c->len) - 1);
		CHECK_EQ(t.leaf_size, g(f, c->leaf));
		CHECK_EQ(t.prot, c->prot);
	}
	/* Unmapping part of a large leaf takes the whole leaf. */
	CHECK_EQ(pt_unmap(&pt, g(f, 2 * M), g(f, 0x1000)), g(f, 2 * M));
	CHECK_EQ(pt_unmap(&pt, g(f, 2 * M), g(f, 2 * M)), 0);
	/* A range over several leaves and holes reports what was there. */
	CHECK_EQ(pt_unmap(&pt, 0, g(f, 8 * G)),
		 g(f, 0x1000) + g(f, 2 * M) + 2 * g(f, G));
	/* An empty table left by a small unmap gives way to a large leaf. */
	CHECK_EQ(pt_map(&pt, g(f, 0x1000), 0, g(f, 0x1000), 3), 0);
	CHECK_EQ(pt_unmap(&pt, g(f, 0x1000), g(f, 0x1000)), g(f, 0x1000));
	CHECK_EQ(pt_map(&pt, 0, 0, g(f, 2 * M), 3), 0);
	struct pt_translation t;
	CHECK_EQ(pt_iova_to_phys(&pt, g(f, 0x1000), &t), 0);
	CHECK_EQ(t.leaf_size, g(f, 2 * M));
	CHECK_EQ(pt_map(&pt, 0, 0, g(f, 0x1000), 3), -EEXIST);
	pt_destroy(&pt);
}

struct dirty_log {
	int n;
	uint64_t iova[8];
};

static void log_dirty(uint64_t iova, uint64_t size, void *arg)
{
	struct dirty_log *log = arg;

	if (log->n < 8)
		log->iova[log->n] = iova;
	log->n++;
}

/* Accessed and dirty bits, and the direction checks. */
static void ad_bits(const struct pt_format *f)
{
	uint64_t gran = 1ULL << f->granule_shift;
	struct pt_translation t;
	struct dirty_log log = { 0 };
	struct pt pt;

	CHECK_EQ(pt_init(&pt, f, 39, gran), 0);
	CHECK_EQ(pt_map(&pt, 0, 0x100000, 4 * gran, PT_PROT_READ), 0);
	CHECK_EQ(pt_map(&pt, 8 * gran, 0x200000, 4 * gran,
			PT_PROT_READ | PT_PROT_WRITE),
		 0);
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_translate(&pt, gran + 5, false, &t), 0);
	CHECK_EQ(t.pa, 0x100000 + gran + 5);
	CHECK_EQ(pt_translate(&pt, 0, true, &t), -EPERM);
	CHECK_EQ(pt_translate(&pt, 4 * gran, false, &t), -ENOENT);
	CHECK_EQ(pt_translate(&pt, 9 * gran, true, &t), 0);
	CHECK_EQ(pt_translate(&pt, 11 * gran + 1, true, &t), 0);
	CHECK_EQ(pt_translate(&pt, 10 * gran, false, &t), 0); /* reads: clean */
	ioasid_rcu_read_unlock();

	/* Kept, then read and cleared, then gone. */
	CHECK_EQ(pt_read_and_clear_dirty(&pt, 0, 16 * gran, true, log_dirty,
					 &log),
		 0);
	CHECK_EQ(log.n, 2);
	CHECK_EQ(log.iova[0], 9 * gran);
	CHECK_EQ(log.iova[1], 11 * gran);
	log.n = 0;
	CHECK_EQ(pt_read_and_clear_dirty(&pt, 0, 16 * gran, false, log_dirty,
					 &log),
		 0);
	CHECK_EQ(log.n, 2);
	log.n = 0;
	CHECK_EQ(pt_read_and_clear_dirty(&pt, 0, 16 * gran, false, log_dirty,
					 &log),
		 0);
	CHECK_EQ(log.n, 0);
	/* Marked by hand (the selftest's DIRTY op), and only where mapped;
	 * a range reports only what it covers. */
	CHECK_EQ(pt_set_dirty(&pt, 2 * gran + 3), 0);
	CHECK_EQ(pt_set_dirty(&pt, 5 * gran), -ENOENT);
	CHECK_EQ(pt_set_dirty(&pt, 8 * gran), 0);
	CHECK_EQ(pt_read_and_clear_dirty(&pt, 3 * gran, 13 * gran, false,
					 log_dirty, &log),
		 0);
	CHECK_EQ(log.n, 1);
	CHECK_EQ(log.iova[0], 8 * gran);
	pt_clear_all_dirty(&pt);
	log.n = 0;
	CHECK_EQ(pt_read_and_clear_dirty(&pt, 0, 16 * gran, false, log_dirty,
					 &log),
		 0);
	CHECK_EQ(log.n, 0);
	pt_destroy(&pt);
}

/* Harvest [first, last] into a bitmap of 2^shift pages; the set bits. */
static int harvest_bits(struct pt *pt, uint64_t first, uint64_t last,
			unsigned int shift, bool keep, uint64_t *out, int max)
{
	static uint8_t bits[4096];
	struct pt_dirty_bitmap bm = { .bits = bits, .iova = first,
				      .last = last, .pgshift = shift };
	uint64_t nbits = ((last - first) >> shift) + 1;
	int n = 0;

	memset(bits, 0, sizeof(bits));
	CHECK(nbits <= sizeof(bits) * 8);
	CHECK_EQ(pt_read_and_clear_dirty_bitmap(pt, keep, &bm), 0);
	for (uint64_t b = 0; b < nbits; b++)
		if (bits[b / 8] & (1u << (b % 8))) {
			if (n < max)
				out[n] = b;
			n++;
		}
	return n;
}

static void write_page(struct pt *pt, uint64_t iova)
{
	struct pt_translation t;

	ioasid_rcu_read_lock();
	CHECK_EQ(pt_translate(pt, iova, true, &t), 0);
	ioasid_rcu_read_unlock();
}

/*
 * Harvests into a bitmap across several leaf tables: exactly the pages
 * written, each once; a harvest of part of a table or of part of the
 * space leaves the rest to be found; a coarser bitmap, or one that does
 * not start on a leaf, gets a bit per page a dirty leaf meets.
 */
static void harvest(const struct pt_format *f)
{
	unsigned int shift = f->granule_shift;
	uint64_t gran = 1ULL << shift, b[8];
	uint64_t last = 3 * 512 * gran - 1; /* three leaf tables */
	static const uint64_t pages[] = { 0, 511, 512, 1000, 1535 };
	struct pt pt;

	CHECK_EQ(pt_init(&pt, f, 39, gran), 0);
	CHECK_EQ(pt_map(&pt, 0, 0x40000000, last + 1, 3), 0);
	for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
		write_page(&pt, pages[i] * gran + 7);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, true, b, 8), 5);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, false, b, 8), 5);
	for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
		CHECK_EQ(b[i], pages[i]);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, false, b, 8), 0);

	/* Part of a table: the rest of it is still found later. */
	write_page(&pt, 20 * gran);
	write_page(&pt, 30 * gran);
	CHECK_EQ(harvest_bits(&pt, 20 * gran, 21 * gran - 1, shift, false, b,
			      8), 1);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, false, b, 8), 1);
	CHECK_EQ(b[0], 30);
	/* Part of the space: one table whole, the next one untouched. */
	write_page(&pt, 10 * gran);
	write_page(&pt, 600 * gran);
	CHECK_EQ(harvest_bits(&pt, 0, 512 * gran - 1, shift, false, b, 8), 1);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, false, b, 8), 1);
	CHECK_EQ(b[0], 600);
	/* Written again after a harvest: found again. */
	write_page(&pt, 10 * gran);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, false, b, 8), 1);
	CHECK_EQ(b[0], 10);

	/* Two leaves a bit, from the middle of leaf 3: leaves 3 and 4
	 * share bit 0, leaf 5 is bit 1, leaf 600 bit (600 - 3) / 2. */
	write_page(&pt, 4 * gran);
	write_page(&pt, 5 * gran);
	write_page(&pt, 600 * gran);
	CHECK_EQ(harvest_bits(&pt, 3 * gran + gran / 2, last, shift + 1, false,
			      b, 8), 3);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(b[1], 1);
	CHECK_EQ(b[2], (600 * gran - 3 * gran - gran / 2) >> (shift + 1));
	pt_destroy(&pt);
}

/*
 * The dirty state lives in each table's side log: map and unmap leave
 * the entries they write clean, a large leaf is reported whole, and a
 * bitmap that starts inside a table gets its bits from the right place.
 */
static void side_log(const struct pt_format *f)
{
	unsigned int shift = f->granule_shift;
	uint64_t gran = 1ULL << shift, big = gran << PT_TABLE_BITS, b[8];
	uint64_t last = 2 * 512 * gran - 1;
	struct pt pt;

	CHECK_EQ(pt_init(&pt, f, 39, gran), 0);
	CHECK_EQ(pt_map(&pt, 0, 0x40000000, last + 1, 3), 0);
	/* Unmapped dirty: nothing to report; mapped again: clean. */
	write_page(&pt, 7 * gran);
	CHECK_EQ(pt_unmap(&pt, 7 * gran, gran), gran);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, true, b, 8), 0);
	write_page(&pt, 8 * gran);
	CHECK_EQ(pt_unmap(&pt, 8 * gran, gran), gran);
	CHECK_EQ(pt_map(&pt, 8 * gran, 0x80000000, gran, 3), 0);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, true, b, 8), 0);
	CHECK_EQ(pt_map(&pt, 7 * gran, 0x80000000, gran, 3), 0);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, false, b, 8), 0);
	/* From page 100 on: pages 100, 130 and 600 are bits 0, 30, 500. */
	write_page(&pt, 100 * gran);
	write_page(&pt, 130 * gran);
	write_page(&pt, 600 * gran);
	write_page(&pt, 99 * gran);
	CHECK_EQ(harvest_bits(&pt, 100 * gran, last, shift, false, b, 8), 3);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(b[1], 30);
	CHECK_EQ(b[2], 500);
	CHECK_EQ(harvest_bits(&pt, 0, last, shift, false, b, 8), 1);
	CHECK_EQ(b[0], 99);
	pt_destroy(&pt);

	/* A large leaf: every page of it, and clean once mapped again. */
	CHECK_EQ(pt_init(&pt, f, 39, gran | big), 0);
	CHECK_EQ(pt_map(&pt, 0, 0x40000000, 2 * big, 3), 0);
	write_page(&pt, big + 5 * gran);
	CHECK_EQ(harvest_bits(&pt, big, big + 511 * gran + gran - 1, shift,
			      true, b, 8), 512);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(b[7], 7);
	CHECK_EQ(pt_unmap(&pt, big, big), big);
	CHECK_EQ(pt_map(&pt, big, 0x80000000, big, 3), 0);
	CHECK_EQ(harvest_bits(&pt, 0, 2 * big - 1, shift + PT_TABLE_BITS, false,
			      b, 8), 0);
	pt_destroy(&pt);
}

/*
 * A table of granule leaves over one run is a row, whatever its accessed
 * and dirty bits; a hole, another address, or other permissions end it.
 * What a caller confirmed is known until a leaf of the table changes,
 * even back to what it was.
 */
static void rows(const struct pt_format *f)
{
	uint64_t gran = 1ULL << f->granule_shift, span = gran << PT_TABLE_BITS;
	/* A granule off the table's alignment: no larger leaf. */
	uint64_t pa0 = 0x40000000 + gran, pa;
	struct pt pt;
	bool known;

	CHECK_EQ(pt_init(&pt, f, 39, gran | span), 0);
	CHECK_EQ(pt_map(&pt, span, pa0, span, 3), 0);
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_leaf_row(&pt, span + 7 * gran, &pa, &known), 0);
	CHECK_EQ(pa, pa0);
	CHECK(!known);
	ioasid_rcu_read_unlock();
	write_page(&pt, span + 9 * gran); /* accessed and dirty bits */
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_leaf_row(&pt, span, &pa, &known), 0);
	/* Confirmed with another address: nothing is remembered. */
	pt_leaf_row_confirm(&pt, span, pa0 + gran);
	CHECK_EQ(pt_leaf_row(&pt, span, &pa, &known), 0);
	CHECK(!known);
	pt_leaf_row_confirm(&pt, span, pa0);
	CHECK_EQ(pt_leaf_row(&pt, span + 300 * gran, &pa, &known), 0);
	CHECK(known);
	CHECK_EQ(pa, pa0);
	ioasid_rcu_read_unlock();
	/* A leaf gone and back the same: a row again, not known. */
	CHECK_EQ(pt_unmap(&pt, span + 100 * gran, gran), gran);
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_leaf_row(&pt, span, &pa, &known), -ENOENT);
	ioasid_rcu_read_unlock();
	CHECK_EQ(pt_map(&pt, span + 100 * gran, pa0 + 100 * gran, gran, 3), 0);
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_leaf_row(&pt, span, &pa, &known), 0);
	CHECK(!known);
	ioasid_rcu_read_unlock();
	/* Another address, or other permissions, in the middle. */
	CHECK_EQ(pt_unmap(&pt, span + 100 * gran, gran), gran);
	CHECK_EQ(pt_map(&pt, span + 100 * gran, pa0 + 101 * gran, gran, 3), 0);
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_leaf_row(&pt, span, &pa, &known), -ENOENT);
	ioasid_rcu_read_unlock();
	CHECK_EQ(pt_unmap(&pt, span + 100 * gran, gran), gran);
	CHECK_EQ(pt_map(&pt, span + 100 * gran, pa0 + 100 * gran, gran, 1), 0);
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_leaf_row(&pt, span, &pa, &known), -ENOENT);
	/* Not a granule leaf: no row. */
	ioasid_rcu_read_unlock();
	CHECK_EQ(pt_unmap(&pt, span, span), span);
	CHECK_EQ(pt_map(&pt, span, 0x40000000, span, 3), 0);
	ioasid_rcu_read_lock();
	CHECK_EQ(pt_leaf_row(&pt, span, &pa, &known), -ENOENT);
	ioasid_rcu_read_unlock();
	pt_destroy(&pt);
}

struct harvest_race {
	struct pt *pt;
	uint64_t pages, gran;
	_Atomic bool done;
	_Atomic int errors; /* (CHECK is the main thread's) */
};

static void *writer(void *arg)
{
	struct harvest_race *r = arg;
	struct pt_translation t;

	for (uint64_t p = 0; p < r->pages; p++) {
		ioasid_rcu_read_lock();
		if (pt_translate(r->pt, p * r->gran, true, &t))
			atomic_fetch_add(&r->errors, 1);
		ioasid_rcu_read_unlock();
	}
	atomic_store(&r->done, true);
	return NULL;
}

/*
 * Harvests while a device writes every page once: each page is found
 * exactly once over all of them (a page missed, or reported twice,
 * fails), whatever the order of its bits and the harvest's.
 */
static void harvest_race(const struct pt_format *f)
{
	uint64_t gran = 1ULL << f->granule_shift;
	struct harvest_race r = { .pages = 4 * 512, .gran = gran };
	static uint8_t bits[4 * 512 / 8];
	static unsigned char seen[4 * 512];
	struct pt_dirty_bitmap bm = { .bits = bits, .iova = 0,
				      .last = 4 * 512 * gran - 1,
				      .pgshift = f->granule_shift };
	struct pt pt;
	pthread_t th;
	bool done;
	int twice = 0, missed = 0;

	r.pt = &pt;
	memset(seen, 0, sizeof(seen));
	CHECK_EQ(pt_init(&pt, f, 39, gran), 0);
	CHECK_EQ(pt_map(&pt, 0, 0x40000000, 4 * 512 * gran, 3), 0);
	CHECK_EQ(pthread_create(&th, NULL, writer, &r), 0);
	do {
		done = atomic_load(&r.done);
		memset(bits, 0, sizeof(bits));
		CHECK_EQ(pt_read_and_clear_dirty_bitmap(&pt, false, &bm), 0);
		for (uint64_t p = 0; p < r.pages; p++)
			if (bits[p / 8] & (1u << (p % 8)))
				twice += seen[p]++ > 0;
	} while (!done);
	pthread_join(th, NULL);
	for (uint64_t p = 0; p < r.pages; p++)
		missed += !seen[p];
	CHECK_EQ(atomic_load(&r.errors), 0);
	CHECK_EQ(missed, 0);
	CHECK_EQ(twice, 0);
	pt_destroy(&pt);
}

/* Random maps and unmaps against a flat model of a small space. */
static void model(const struct pt_format *f)
{
	enum { PAGES = 4096 };
	static uint64_t want[PAGES]; /* pa + 1, 0 when unmapped */
	uint64_t gran = 1ULL << f->granule_shift;
	uint64_t sizes = pt_native_sizes(f, 40) & ((gran << 9) | gran);
	struct pt pt;

	memset(want, 0, sizeof(want));
	/* 2 KiB tables also take the 4 KiB run size the huge mock uses. */
	if (f == &pt_fmt_mock)
		sizes = (gran << 1) | (gran << 9);
	CHECK_EQ(pt_init(&pt, f, 40, sizes), 0);
	for (int round = 0; round < 3000; round++) {
		uint64_t step = sizes & -sizes;
		uint64_t n = 1 + rnd() % 1100 / (step / gran);
		uint64_t first = (rnd() % PAGES) & ~(step / gran - 1);
		uint64_t pa = (rnd() % (1ULL << 28)) * step, busy = 0;

		if (first + n * (step / gran) > PAGES)
			continue;
		n *= step / gran;
		if (rnd() % 3 == 0)
			pa = (first * gran) + (1ULL << 33); /* large leaves */
		for (uint64_t i = 0; i < n; i++)
			busy |= want[first + i];
		if (rnd() % 2) {
			int rc = pt_map(&pt, first * gran, pa, n * gran, 3);

			CHECK_EQ(rc, busy ? -EEXIST : 0);
			for (uint64_t i = 0; !rc && i < n; i++)
				want[first + i] = pa + i * gran + 1;
		} else {
			uint64_t expect = 0, from = first, to = first + n;

			/* A leaf meeting the range goes whole: find them. */
			for (uint64_t i = first; i < first + n; i++) {
				struct pt_translation t;

				if (!want[i])
					continue;
				CHECK_EQ(pt_iova_to_phys(&pt, i * gran, &t), 0);
				expect += t.leaf_size;
				from = MIN(from, t.leaf_iova / gran);
				to = MAX(to, (t.leaf_iova + t.leaf_size) / gran);
				i = (t.leaf_iova + t.leaf_size) / gran - 1;
			}
			CHECK_EQ(pt_unmap(&pt, first * gran, n * gran), expect);
			for (uint64_t i = from; i < to; i++)
				want[i] = 0;
		}
		for (int probe = 0; probe < 32; probe++) {
			uint64_t i = rnd() % PAGES;
			struct pt_translation t;
			int rc = pt_iova_to_phys(&pt, i * gran + 7, &t);

			if (want[i]) {
				CHECK_EQ(rc, 0);
				CHECK_EQ(t.pa, want[i] - 1 + 7);
			} else {
				CHECK_EQ(rc, -ENOENT);
			}
		}
	}
	pt_destroy(&pt);
}

/*
 * One reader translates at random without locks while the writer maps
 * and unmaps 2 MiB-aligned slots: every translation must give the
 * slot's own address or nothing.
 */
struct race {
	struct pt *pt;
	atomic_bool stop;
	atomic_ulong seen, wrong;
};

static void *reader(void *arg)
{
	struct race *r = arg;
	uint64_t local = rng ^ (uintptr_t)arg;

	while (!atomic_load(&r->stop)) {
		struct pt_translation t;
		uint64_t iova;

		local ^= local << 13;
		local ^= local >> 7;
		local ^= local << 17;
		iova = local % (64 * 2 * M);
		ioasid_rcu_read_lock();
		if (!pt_translate(r->pt, iova, true, &t)) {
			if (t.pa != iova + 64 * G)
				atomic_fetch_add(&r->wrong, 1);
			atomic_fetch_add(&r->seen, 1);
		}
		ioasid_rcu_read_unlock();
	}
	return NULL;
}

static void race(const struct pt_format *f)
{
	struct pt pt;
	struct race r = { .pt = &pt };
	pthread_t th;

	CHECK_EQ(pt_init(&pt, f, 40, pt_native_sizes(f, 40)), 0);
	CHECK_EQ(pthread_create(&th, NULL, reader, &r), 0);
	/* At least 20000 rounds, and until the reader has run (valgrind
	 * runs one thread at a time). */
	for (long i = 0; i < 20000 || (atomic_load(&r.seen) < 100 &&
				       i < 20000000); i++) {
		uint64_t slot = (rnd() % 64) * 2 * M;
		uint64_t len = rnd() % 2 ? 2 * M : (1 + rnd() % 8) * 4096;

		if (pt_map(&pt, slot, slot + 64 * G, len, 3) == -EEXIST)
			pt_unmap(&pt, slot, 2 * M);
	}
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	CHECK(atomic_load(&r.seen) > 0);
	CHECK_EQ(atomic_load(&r.wrong), 0);
	/* Pages freed after a grace period, all before we look for leaks. */
	urcu_bp_barrier();
	pt_destroy(&pt);
}

/*
 * Raw entries against the specifications' bit positions, not the
 * formats' own macros: a wrong bit in a format must fail here.  The walk
 * reads table addresses from bits 12-51, as both vendors lay them out.
 */
#define SPEC_ADDR 0x000ffffffffff000ULL

static uint64_t raw_entry(const struct pt *pt, uint64_t iova,
			  unsigned int level, bool (*table_ok)(uint64_t, unsigned int))
{
	_Atomic uint64_t *t = pt->root;

	for (unsigned int l = pt->levels - 1;; l--) {
		uint64_t e = atomic_load(&t[(iova >> (12 + 9 * l)) & 511]);

		if (l == level)
			return e;
		CHECK(table_ok(e, l));
		if (!table_ok(e, l))
			return 0;
		t = (_Atomic uint64_t *)(uintptr_t)(e & SPEC_ADDR);
	}
}

/* VT-d 9.8: second-level entries, R 0, W 1, PS 7; a table entry that
 * passes both directions on. */
static bool vtd_sl_table(uint64_t e, unsigned int level)
{
	return (e & 0x3) == 0x3 && !(e & (1ULL << 7));
}

/* x86-64 paging (VT-d first level): P 0, R/W 1, U/S 2, PS 7. */
static bool vtd_fl_table(uint64_t e, unsigned int level)
{
	return (e & 0x7) == 0x7 && !(e & (1ULL << 7));
}

/* AMD v1: PR 0, Next Level 9-11 naming the level below (1: 4 KiB). */
static bool amd_table(uint64_t e, unsigned int level)
{
	return (e & 1) && ((e >> 9) & 7) == level;
}

struct raw_case {
	const char *what;
	const struct pt_format *f;
	bool (*table_ok)(uint64_t e, unsigned int level);
	uint64_t iova, pa, len;
	int prot;
	bool dma_write; /* a device writes there first */
	unsigned int level;
	uint64_t want;
};

static void raw_encodings(void)
{
	const uint64_t pa4k = 0x123456000ULL, pa2m = 0x40200000ULL;
	const uint64_t amd_rw = (1ULL << 61) | (1ULL << 62);
	const struct raw_case cases[] = {
		{ "vt-d sl: 4 KiB read-write", &pt_fmt_vtd_sl, vtd_sl_table,
		  0x5000, pa4k, 4 * K, 3, false, 0, pa4k | 0x3 },
		{ "vt-d sl: 4 KiB read-only", &pt_fmt_vtd_sl, vtd_sl_table,
		  0x5000, pa4k, 4 * K, PT_PROT_READ, false, 0, pa4k | 0x1 },
		{ "vt-d sl: 4 KiB write-only", &pt_fmt_vtd_sl, vtd_sl_table,
		  0x5000, pa4k, 4 * K, PT_PROT_WRITE, false, 0, pa4k | 0x2 },
		{ "vt-d sl: 2 MiB leaf has PS", &pt_fmt_vtd_sl, vtd_sl_table,
		  2 * M, pa2m, 2 * M, 3, false, 1, pa2m | 0x80 | 0x3 },
		/* A write sets A; D (9) stays clear, its state is in the
		 * table's side log (pt.c). */
		{ "vt-d sl: a device write sets A (8), not D", &pt_fmt_vtd_sl,
		  vtd_sl_table, 0x5000, pa4k, 4 * K, 3, true, 0,
		  pa4k | 0x3 | 0x100 },
		{ "vt-d fl: 4 KiB read-write", &pt_fmt_vtd_fl, vtd_fl_table,
		  0x5000, pa4k, 4 * K, 3, false, 0, pa4k | 0x7 },
		{ "vt-d fl: 4 KiB read-only has no R/W", &pt_fmt_vtd_fl,
		  vtd_fl_table, 0x5000, pa4k, 4 * K, PT_PROT_READ, false, 0,
		  pa4k | 0x5 },
		{ "vt-d fl: 2 MiB leaf has PS", &pt_fmt_vtd_fl, vtd_fl_table,
		  2 * M, pa2m, 2 * M, 3, false, 1, pa2m | 0x80 | 0x7 },
		{ "vt-d fl: a device write sets A (5), not D", &pt_fmt_vtd_fl,
		  vtd_fl_table, 0x5000, pa4k, 4 * K, 3, true, 0,
		  pa4k | 0x7 | 0x20 },
		{ "amd v1: 4 KiB read-write", &pt_fmt_amdv1, amd_table, 0x5000,
		  pa4k, 4 * K, 3, false, 0, pa4k | 1 | amd_rw },
		{ "amd v1: 4 KiB read-only", &pt_fmt_amdv1, amd_table, 0x5000,
		  pa4k, 4 * K, PT_PROT_READ, false, 0, pa4k | 1 | (1ULL << 61) },
		{ "amd v1: 2 MiB leaf, Next Level 0", &pt_fmt_amdv1, amd_table,
		  2 * M, pa2m, 2 * M, 3, false, 1, pa2m | 1 | amd_rw },
		{ "amd v1: a device write sets A (5), not D", &pt_fmt_amdv1,
		  amd_table, 0x5000, pa4k, 4 * K, 3, true, 0,
		  pa4k | 1 | amd_rw | 0x20 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct raw_case *c = &cases[i];
		struct pt_translation t;
		struct pt pt;

		CHECK_EQ(pt_init(&pt, c->f, 48, pt_native_sizes(c->f, 48)), 0);
		CHECK_CASE(c->what, pt_map(&pt, c->iova, c->pa, c->len, c->prot),
			   0);
		if (c->dma_write) {
			ioasid_rcu_read_lock();
			CHECK_CASE(c->what, pt_translate(&pt, c->iova, true, &t),
				   0);
			ioasid_rcu_read_unlock();
		}
		CHECK_CASE(c->what, raw_entry(&pt, c->iova, c->level, c->table_ok),
			   c->want);
		pt_destroy(&pt);
	}
}

int main(void)
{
	RUN(raw_encodings);
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		const struct pt_format *f = formats[i];
		char name[64];

		snprintf(name, sizeof(name), "map_cases %s", f->name);
		RUN_AS(name, map_cases(f));
		snprintf(name, sizeof(name), "ad_bits %s", f->name);
		RUN_AS(name, ad_bits(f));
		snprintf(name, sizeof(name), "model %s", f->name);
		RUN_AS(name, model(f));
		snprintf(name, sizeof(name), "race %s", f->name);
		RUN_AS(name, race(f));
		snprintf(name, sizeof(name), "harvest %s", f->name);
		RUN_AS(name, harvest(f));
		snprintf(name, sizeof(name), "side_log %s", f->name);
		RUN_AS(name, side_log(f));
		snprintf(name, sizeof(name), "harvest_race %s", f->name);
		RUN_AS(name, harvest_race(f));
		snprintf(name, sizeof(name), "rows %s", f->name);
		RUN_AS(name, rows(f));
	}
	/* The 2 KiB format takes 4 KiB runs; sizes no level expresses
	 * are refused. */
	struct pt pt;

	CHECK_EQ(pt_init(&pt, &pt_fmt_mock, 31, 4096 | (1ULL << 20)), 0);
	CHECK_EQ(pt_min_pgsize(&pt), 4096);
	CHECK_EQ(pt_map(&pt, 2048, 0, 4096, 3), -EINVAL);
	pt_destroy(&pt);
	CHECK_EQ(pt_init(&pt, &pt_fmt_vtd_sl, 48, 2048), -EINVAL);
	CHECK_EQ(pt_init(&pt, &pt_fmt_vtd_sl, 48, 1024 * G), -EINVAL);
	CHECK_EQ(pt_init(&pt, &pt_fmt_vtd_sl, 60, 4096), -EINVAL);
	urcu_bp_barrier();
	return check_finish("pt");
}
