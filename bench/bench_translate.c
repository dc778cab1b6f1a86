/* SPDX-License-Identifier: MIT */
/*
 * T1: hot translation (the page translated last time) to a host pointer.
 * T2: translation of random IOVAs over 64, 1024 and 32768 one-page
 * mappings (side by side, as an IOVA allocator places them) with a cold
 * IOTLB: each one a walk of the four-level VT-d table, timed through the
 * page-table walker itself.  The baseline is a
 * load from memory that is already in cache.
 * T2p: the public translation (ioasid_dma_translate) of the same random
 * IOVAs over 64, 1024, 32768 and 1048576 one-page mappings, against the
 * bare walk of the same sequence.  The mappings are of consecutive pages
 * of one buffer, so where their pins got consecutive frames a table of
 * them is one row, and the IOTLB (256 entries) keeps it as one 2 MiB
 * block: at 1024 and 32768 mappings most translations hit; at 1048576
 * (2048 blocks) most miss, walk, and find the frame's page.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "bench.h"
#include "fixture.h"
#include "iommu/device.h"
#include "pt/pt.h"

#define PG 4096ull
#define IOVA_BASE (1ull << 32)
#define SEQ (1u << 20)

/* ns per walk of the page table, over the IOVAs in seq. */
static double time_walks(struct pt *pt, const uint64_t *seq, uint64_t ops)
{
	double ns;

	ioasid_rcu_read_lock();
	ns = BENCH_BEST(5, ops, {
		struct pt_translation t;

		pt_translate(pt, seq[_i & (SEQ - 1)], false, &t);
		bench_sink += t.pa;
	});
	ioasid_rcu_read_unlock();
	return ns;
}

int main(void)
{
	static uint64_t cached[512];
	uint32_t ioas, dev_id;
	struct ioasid_dev *dev;
	unsigned char *mem;
	double base, t1;
	uint64_t seed = 88172645463325252ull;
	const unsigned int counts[] = { 64, 1024, 32768, 1048576 };
	double walk[4], pub[4], pub_walk[4];

	fx_setup(&ioas, &dev_id);
	mem = mmap(NULL, 1048576 * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED || ioasid_dev_get(fx_ctx, dev_id, &dev))
		fx_die("setup", -1);

	bench_begin("translate");
	/* Baseline: a load from L1, through an index the compiler cannot
	 * fold away. */
	base = BENCH_BEST(5, 20000000, {
		bench_sink += cached[(bench_sink + _i) & 511];
	});

	fx_map(ioas, mem, 2 << 20, IOVA_BASE);
	ioasid_dma_begin();
	t1 = BENCH_BEST(5, 20000000, {
		void *host;

		ioasid_dma_translate(dev, 0, IOVA_BASE + 64, 0, &host);
		bench_sink += (uintptr_t)host;
	});
	ioasid_dma_end();
	bench_row("t1_hot_ns", "T1 hot translation to a host pointer", t1,
		  base, "ns");

	/*
	 * T2: N separate one-page mappings; random ones translated by the
	 * walker (the IOTLB would hold 64 of them, which is not the point).
	 */
	for (size_t k = 0; k < 4; k++) {
		unsigned int n = counts[k];
		struct iommu_ioas_unmap um = {
			.size = sizeof(um), .ioas_id = ioas, .length = UINT64_MAX,
		};
		uint64_t *iovas = malloc(n * sizeof(*iovas));
		uint64_t *seq = malloc(SEQ * sizeof(*seq));
		struct pt *pt;

		fx_io(IOMMU_IOAS_UNMAP, &um);
		for (unsigned int i = 0; i < n; i++) {
			/* Side by side, as an IOVA allocator places them. */
			iovas[i] = IOVA_BASE + (uint64_t)i * PG;
			fx_map(ioas, mem + i * PG, PG, iovas[i]);
		}
		/* The random order is drawn beforehand: only walks are timed. */
		for (size_t i = 0; i < SEQ; i++)
			seq[i] = iovas[fx_rand(&seed) % n];
		pt = ioasid_dev_pt(dev);
		walk[k] = time_walks(pt, seq, 4000000);
		/* The walk again beside the public path, in the same weather. */
		pub_walk[k] = time_walks(pt, seq, 2000000);
		ioasid_dma_begin();
		pub[k] = BENCH_BEST(5, 2000000, {
			void *host;

			ioasid_dma_translate(dev, 0, seq[_i & (SEQ - 1)], 0,
					     &host);
			bench_sink += (uintptr_t)host;
		});
		ioasid_dma_end();
		free(seq);
		free(iovas);
	}
	bench_row("t2_walk_64_ns", "T2 cold walk, 64 mappings", walk[0], base,
		  "ns");
	bench_row("t2_walk_1024_ns", "T2 cold walk, 1024 mappings", walk[1],
		  base, "ns");
	bench_row("t2_walk_32768_ns", "T2 cold walk, 32768 mappings", walk[2],
		  base, "ns");
	bench_fact("t2_growth", "T2 growth from 64 to 32768 mappings",
		   walk[2] / walk[0], "x");
	bench_row("t2p_64_ns", "T2p public translation, 64 (vs the walk)",
		  pub[0], pub_walk[0], "ns");
	bench_row("t2p_1024_ns", "T2p public translation, 1024", pub[1],
		  pub_walk[1], "ns");
	bench_row("t2p_32768_ns", "T2p public translation, 32768", pub[2],
		  pub_walk[2], "ns");
	bench_row("t2p_1m_ns", "T2p public translation, 1048576", pub[3],
		  pub_walk[3], "ns");
	bench_fact("t2p_growth", "T2p growth from 64 to 1048576 mappings",
		   pub[3] / pub[0], "x");
	bench_end();
	ioasid_dev_put(dev);
	ioasid_ctx_put(fx_ctx);
	return 0;
}
