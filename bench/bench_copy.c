/* SPDX-License-Identifier: MIT */
/*
 * IOAS_COPY of one page (and the unmap of the copy), in-process, into an
 * IOAS with a VT-d device attached, so that every copy pins: with no
 * other copy of that page (the baseline), then with 20000 copies of it
 * already mapped.  A page set's pins are kept per distinct range, so the
 * ratio stays near 1 however many copies exist.
 */
#include <sys/mman.h>

#include "bench.h"
#include "fixture.h"

#define PG 4096ull
#define COPIES 20000

static void copy_page(uint32_t ioas, uint64_t from, uint64_t to)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = ioas, .src_ioas_id = ioas, .length = PG,
		.dst_iova = to, .src_iova = from,
	};
	long rc = fx_io(IOMMU_IOAS_COPY, &c);

	if (rc)
		fx_die("IOAS_COPY", rc);
}

static void unmap_page(uint32_t ioas, uint64_t iova)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = PG,
	};
	long rc = fx_io(IOMMU_IOAS_UNMAP, &u);

	if (rc)
		fx_die("IOAS_UNMAP", rc);
}

static double copy_unmap_ns(uint32_t ioas)
{
	return BENCH_BEST(5, 2000, {
		copy_page(ioas, 1ull << 30, 2ull << 30);
		unmap_page(ioas, 2ull << 30);
	});
}

int main(void)
{
	void *page = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint32_t ioas, dev;
	double alone, crowded;

	if (page == MAP_FAILED)
		return 1;
	fx_setup(&ioas, &dev);
	fx_map(ioas, page, PG, 1ull << 30);
	bench_begin("copy");
	alone = copy_unmap_ns(ioas);
	for (uint64_t i = 0; i < COPIES; i++)
		copy_page(ioas, 1ull << 30, (4ull << 30) + i * PG);
	crowded = copy_unmap_ns(ioas);
	bench_row("copy_20k_ns", "IOAS_COPY+UNMAP of a page with 20k copies",
		  crowded / 1000, alone / 1000, "us");
	bench_end();
	ioasid_ctx_put(fx_ctx);
	return 0;
}
