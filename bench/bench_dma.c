/* SPDX-License-Identifier: MIT */
/*
 * T3: DMA copies of random 4 KiB and 64 KiB blocks through the software
 * IOMMU (a device handle's DMA: IOTLB or walk, then copy) against
 * memcpy of the same blocks over the same footprint.  The ratio is
 * memcpy's time over ours: 1.0 is as fast as memcpy.  Over 2 MiB leaves
 * (the IOVA placed as the allocator places it), and 4 KiB blocks again
 * over 4 KiB leaves (the same memory mapped a page off that placement):
 * 16384 pages in 32 tables that are each one row over one run of our
 * memory, which the IOTLB caches as 32 blocks (dma.c, row_block).
 */
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "fixture.h"

#define MiB (1ull << 20)
#define FOOT (64 * MiB)
#define IOVA_BASE (1ull << 32)

static void run(struct ioasid_dev *dev, uint64_t iova_base,
		unsigned char *mem, unsigned char *dst, size_t block,
		const char *key, const char *what)
{
	const size_t nblocks = FOOT / block;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t *order = malloc(4096 * sizeof(*order));
	double t_memcpy, t_dma;

	for (size_t i = 0; i < 4096; i++)
		order[i] = (fx_rand(&seed) % nblocks) * block;
	/* Alternated, best of each: both see the same machine weather
	 * (frequency, neighbours), which a run of one then the other
	 * does not. */
	t_dma = t_memcpy = 1e300;
	for (int r = 0; r < 10; r++) {
		t_dma = bench_min(t_dma, BENCH_BEST(1, 20000, {
			ioasid_dev_dma(dev, 0, iova_base + order[_i & 4095],
				       dst, block, 0);
			bench_sink += dst[block - 1];
		}));
		t_memcpy = bench_min(t_memcpy, BENCH_BEST(1, 20000, {
			memcpy(dst, mem + order[_i & 4095], block);
			bench_sink += dst[block - 1];
		}));
	}
	/* Reported as speed relative to memcpy: value is memcpy's time
	 * per block, baseline ours, so the ratio is the fraction of
	 * memcpy's speed we reach. */
	bench_row(key, what, t_memcpy, t_dma, "ns");
	free(order);
}

int main(void)
{
	uint32_t ioas, dev_id;
	struct ioasid_dev *dev;
	unsigned char *mem, *dst;
	uint64_t iova_base, iova_small;

	fx_setup(&ioas, &dev_id);
	mem = mmap(NULL, FOOT, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	dst = aligned_alloc(4096, 64 * 1024);
	if (mem == MAP_FAILED || !dst)
		fx_die("memory", -1);
	memset(mem, 0x5a, FOOT);
	/* At an IOVA in the same place of its 2 MiB block as the memory, as
	 * the IOVA allocator would choose: 2 MiB leaves. */
	iova_base = IOVA_BASE + ((uintptr_t)mem & (2 * MiB - 1));
	fx_map(ioas, mem, FOOT, iova_base);
	/* A page off: no 2 MiB of IOVA lines up with 2 MiB of memory. */
	iova_small = 2 * IOVA_BASE + (((uintptr_t)mem + 4096) & (2 * MiB - 1));
	fx_map(ioas, mem, FOOT, iova_small);

	bench_begin("dma (value: memcpy ns/block, baseline: ours)");
	if (ioasid_dev_get(fx_ctx, dev_id, &dev))
		fx_die("handle", -1);
	run(dev, iova_base, mem, dst, 4096, "t3_4k", "T3 random 4 KiB blocks");
	run(dev, iova_base, mem, dst, 65536, "t3_64k", "T3 random 64 KiB blocks");
	run(dev, iova_small, mem, dst, 4096, "t3_4k_small",
	    "T3 random 4 KiB blocks, 4 KiB leaves");
	bench_end();
	ioasid_dev_put(dev);
	ioasid_ctx_put(fx_ctx);
	return 0;
}
