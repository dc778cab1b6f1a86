/* SPDX-License-Identifier: MIT */
/*
 * The batched path: one-page IOMMU_IOAS_MAP and IOMMU_IOAS_UNMAP through
 * a ring (IOASID_RING_ENTER, 256 operations per call) against the same
 * operations made one ioctl each, in µs per operation; the ratio is the
 * ring's operations per second over the single ioctls'.  With no domain
 * attached (the map only records the range) and, under --selftest, with
 * a mock domain attached (each map pins its page and writes the page
 * table).  Runs under ioasid-run.
 */
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"

enum { PAGES = 128, OPS = 2 * PAGES };

static struct iommu_ioas_map map_op(uint32_t ioas, char *mem, int i)
{
	return (struct iommu_ioas_map){
		.size = sizeof(struct iommu_ioas_map), .ioas_id = ioas,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.user_va = (uintptr_t)mem + (size_t)i * 4096, .length = 4096,
		.iova = 0x1000000 + (uint64_t)i * 4096,
	};
}

static struct iommu_ioas_unmap unmap_op(uint32_t ioas, int i)
{
	return (struct iommu_ioas_unmap){
		.size = sizeof(struct iommu_ioas_unmap), .ioas_id = ioas,
		.iova = 0x1000000 + (uint64_t)i * 4096, .length = 4096,
	};
}

/* µs per operation, one ioctl each. */
static double single(int fd, uint32_t ioas, char *mem)
{
	return BENCH_BEST(5, 20, {
		for (int i = 0; i < PAGES; i++) {
			struct iommu_ioas_map m = map_op(ioas, mem, i);

			if (ioctl(fd, IOMMU_IOAS_MAP, &m))
				return -1;
		}
		for (int i = 0; i < PAGES; i++) {
			struct iommu_ioas_unmap u = unmap_op(ioas, i);

			if (ioctl(fd, IOMMU_IOAS_UNMAP, &u))
				return -1;
		}
	}) / OPS / 1000;
}

/* µs per operation, OPS to a call; each entry is written afresh. */
static double batched(struct ioasid_ring *ring, uint32_t ioas, char *mem)
{
	return BENCH_BEST(5, 20, {
		for (int i = 0; i < PAGES; i++) {
			struct iommu_ioas_map m = map_op(ioas, mem, i);
			struct iommu_ioas_unmap u = unmap_op(ioas, i);

			ioasid_ring_put(ring, i, IOMMU_IOAS_MAP, &m, sizeof(m));
			ioasid_ring_put(ring, PAGES + i, IOMMU_IOAS_UNMAP, &u,
					sizeof(u));
		}
		if (ioasid_ring_enter(ring, 0, OPS, IOASID_RING_ENTER_STOP) !=
			    OPS ||
		    ring->entry[OPS - 1].result)
			return -1;
	}) / OPS / 1000;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	char *mem = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	double one, ring_us, one_dom, ring_dom;
	struct ioasid_ring ring;

	if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &ia) ||
	    ioasid_ring_open(fd, OPS, &ring)) {
		fprintf(stderr, "bench-batch: run me under ioasid-run --selftest\n");
		return 1;
	}
	bench_begin("batch");
	one = single(fd, ia.out_ioas_id, mem);
	ring_us = batched(&ring, ia.out_ioas_id, mem);
	md.id = ia.out_ioas_id;
	if (one < 0 || ring_us < 0 || ioctl(fd, IOMMU_TEST_CMD, &md)) {
		fprintf(stderr, "bench-batch: %s\n", strerror(errno));
		return 1;
	}
	one_dom = single(fd, ia.out_ioas_id, mem);
	ring_dom = batched(&ring, ia.out_ioas_id, mem);
	if (one_dom < 0 || ring_dom < 0)
		return 1;
	/* The ratio is operations per second: the single ioctls' time over
	 * the ring's. */
	bench_row("t10_ring_us", "T10 map/unmap via a ring, no domain (x faster)",
		  one, ring_us, "us");
	bench_row("t10_ring_domain_us", "T10 the same, a domain attached",
		  one_dom, ring_dom, "us");
	bench_end();
	ioasid_ring_close(&ring);
	close(fd);
	return 0;
}
