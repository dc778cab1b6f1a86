/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking: IOMMU_HWPT_SET_DIRTY_TRACKING, IOMMU_HWPT_GET_DIRTY_BITMAP
 * and the selftest's DIRTY op.  Their errno tables; bits set by the mock's
 * op and by a VT-d device's DMA writes, harvested, cleared or kept
 * (NO_CLEAR); bitmaps at odd addresses; user bits ORed into, never
 * cleared; a bitmap that cannot be reached fails before a bit is lost.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "ctx_harness.h"
#include "core/util.h"
#include "ioasid/uapi/ioasid.h"

#define BASE (16ull << 20) /* the mock's aperture starts here */
#define NPAGES 64

static uint32_t ioas, idev, auto_hwpt, hwpt;

static long set_dirty(uint32_t id, uint32_t flags)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .flags = flags, .hwpt_id = id,
	};

	return io(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static long get_bitmap(uint32_t id, uint32_t flags, uint64_t iova,
		       uint64_t len, uint64_t page_size, void *data)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = id, .flags = flags,
		.iova = iova, .length = len, .page_size = page_size,
		.data = (uintptr_t)data,
	};

	return io(IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

static long mark(uint32_t id, uint64_t iova, uint64_t len, uint64_t page_size,
		 const void *bits, uint64_t *nr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = id,
		.dirty = { .iova = iova, .length = len, .page_size = page_size,
			   .uptr = (uintptr_t)bits },
	};
	long rc = io(IOMMU_TEST_CMD, &cmd);

	if (nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

static uint32_t hwpt_alloc(uint32_t dev, uint32_t flags)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev,
		.pt_id = ioas,
	};

	CHECK_EQ(io(IOMMU_HWPT_ALLOC, &cmd), 0);
	return cmd.out_hwpt_id;
}

static bool bit(const uint8_t *b, unsigned int i)
{
	return b[i / 8] >> (i % 8) & 1;
}

/* Every bit of [0, NPAGES) is set exactly when want(i). */
static void check_bits(const uint8_t *b, bool (*want)(unsigned int i))
{
	for (unsigned int i = 0; i < NPAGES; i++)
		CHECK_EQ(bit(b, i), want(i));
}

static bool even(unsigned int i) { return i % 2 == 0; }
static bool none(unsigned int i) { return false; }
static bool page3(unsigned int i) { return i == 3; }

static void errno_tables(void)
{
	static uint8_t bits[NPAGES / 8];
	const struct {
		const char *what;
		uint32_t id; /* 0: the dirty HWPT; 1: the automatic one */
		uint32_t flags, reserved;
		uint64_t iova, len, page_size;
		long rc;
	} get[] = {
		{ "unknown flag", 0, 2, 0, BASE, PG, PG, -EOPNOTSUPP },
		{ "reserved set", 0, 0, 1, BASE, PG, PG, -EOPNOTSUPP },
		{ "IOVA + length wraps", 0, 0, 0, -PG, 2 * PG, PG, -EOVERFLOW },
		{ "length 0 from iova > 0", 0, 0, 0, BASE, 0, PG, -EOVERFLOW },
		{ "iova off the IOAS alignment", 0, 0, 0, BASE + 1, PG, 1,
		  -EINVAL },
		{ "page_size 0", 0, 0, 0, BASE, PG, 0, -EINVAL },
		{ "iova off page_size", 0, 0, 0, BASE + PG, 2 * PG, 2 * PG,
		  -EINVAL },
		{ "end off page_size", 0, 0, 0, BASE, 3 * PG, 2 * PG, -EINVAL },
		{ "a gap in the range", 0, 0, 0, BASE, 2 * NPAGES * PG, PG,
		  -EINVAL },
		{ "nothing mapped", 0, 0, 0, BASE + 1024 * PG, PG, PG, -EINVAL },
		{ "no dirty tracking", 1, 0, 0, BASE, PG, PG, -EOPNOTSUPP },
		{ "length 0 at 0: nothing", 0, 0, 0, 0, 0, PG, 0 },
		{ "the whole mapping", 0, 0, 0, BASE, NPAGES * PG, PG, 0 },
		{ "no clear", 0, 1, 0, BASE, NPAGES * PG, PG, 0 },
	};
	const struct {
		const char *what;
		uint64_t iova, len, page_size;
		const void *uptr;
		long rc;
	} op[] = {
		{ "page_size 0", BASE, PG, 0, bits, -EINVAL },
		{ "length 0", BASE, 0, PG, bits, -EINVAL },
		{ "iova off page_size", BASE + 1, PG, PG, bits, -EINVAL },
		{ "length off page_size", BASE, PG + 1, PG, bits, -EINVAL },
		{ "no bitmap", BASE, PG, PG, NULL, -EINVAL },
		{ "bitmap over 16 MiB", 0, (16ull << 23) + 1, 1, bits,
		  -EOVERFLOW },
	};

	for (size_t i = 0; i < ARRAY_SIZE(get); i++) {
		struct iommu_hwpt_get_dirty_bitmap cmd = {
			.size = sizeof(cmd),
			.hwpt_id = get[i].id ? auto_hwpt : hwpt,
			.flags = get[i].flags, .__reserved = get[i].reserved,
			.iova = get[i].iova, .length = get[i].len,
			.page_size = get[i].page_size,
			.data = (uintptr_t)bits,
		};

		CHECK_CASE(get[i].what, io(IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd),
			   get[i].rc);
	}
	CHECK_EQ(get_bitmap(ioas, 0, BASE, PG, PG, bits), -ENOENT);
	CHECK_EQ(get_bitmap(9999, 0, BASE, PG, PG, bits), -ENOENT);

	CHECK_EQ(set_dirty(hwpt, 2), -EOPNOTSUPP);
	CHECK_EQ(set_dirty(ioas, 1), -ENOENT);
	CHECK_EQ(set_dirty(auto_hwpt, 1), -EOPNOTSUPP);
	CHECK_EQ(set_dirty(auto_hwpt, 0), -EOPNOTSUPP);

	/* The op: only while the HWPT tracks. */
	CHECK_EQ(set_dirty(hwpt, 0), 0);
	CHECK_EQ(mark(hwpt, BASE, PG, PG, bits, NULL), -EINVAL);
	CHECK_EQ(set_dirty(hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE), 0);
	for (size_t i = 0; i < ARRAY_SIZE(op); i++)
		CHECK_CASE(op[i].what,
			   mark(hwpt, op[i].iova, op[i].len, op[i].page_size,
				op[i].uptr, NULL),
			   op[i].rc);
	CHECK_EQ(mark(auto_hwpt, BASE, PG, PG, bits, NULL), -EINVAL);
	CHECK_EQ(mark(ioas, BASE, PG, PG, bits, NULL), -ENOENT);
}

/* The mock's op marks; harvests report, clear, or keep. */
static void harvest_mock(void)
{
	uint8_t bits[NPAGES / 8], *page;
	uint64_t nr;

	memset(bits, 0x55, sizeof(bits)); /* the even pages */
	CHECK_EQ(mark(hwpt, BASE, NPAGES * PG, PG, bits, &nr), 0);
	CHECK_EQ(nr, NPAGES / 2);

	/* NO_CLEAR reports and keeps. */
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, BASE,
			    NPAGES * PG, PG, bits), 0);
	check_bits(bits, even);

	/* A bitmap that cannot be written: nothing is cleared. */
	page = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	CHECK_EQ(get_bitmap(hwpt, 0, BASE, NPAGES * PG, PG, NULL), -EFAULT);
	CHECK_EQ(get_bitmap(hwpt, 0, BASE, NPAGES * PG, PG, page), -EFAULT);
	munmap(page, PG);

	/* At an odd address, ORed into what is there, then cleared. */
	{
		uint8_t odd[NPAGES / 8 + 3];

		memset(odd, 0, sizeof(odd));
		odd[3] = 0x2; /* page 1's bit, set by the user */
		CHECK_EQ(get_bitmap(hwpt, 0, BASE, NPAGES * PG, PG, odd + 3),
			 0);
		CHECK_EQ(odd[3], 0x57);
		CHECK_EQ(odd[0] | odd[1] | odd[2], 0);
		odd[3] &= ~0x2;
		check_bits(odd + 3, even);
	}
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(hwpt, 0, BASE, NPAGES * PG, PG, bits), 0);
	check_bits(bits, none);

	/* Coarser bits: one per 8 KiB, set if either page is dirty. */
	memset(bits, 0, sizeof(bits));
	bits[0] = 0x08; /* page 3 */
	CHECK_EQ(mark(hwpt, BASE, NPAGES * PG, PG, bits, &nr), 0);
	CHECK_EQ(nr, 1);
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(hwpt, 0, BASE, NPAGES * PG, 2 * PG, bits), 0);
	CHECK_EQ(bits[0], 0x02);
	/* Part of the mapping only: bits count from its iova. */
	memset(bits, 0xff, sizeof(bits));
	CHECK_EQ(mark(hwpt, BASE, NPAGES * PG, PG, bits, &nr), 0);
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(hwpt, 0, BASE + 8 * PG, 4 * PG, PG, bits), 0);
	CHECK_EQ(bits[0], 0x0f);
	CHECK_EQ(bits[1], 0);

	/* Turning tracking on again starts from a clean slate. */
	CHECK_EQ(set_dirty(hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE), 0);
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(hwpt, 0, BASE, NPAGES * PG, PG, bits), 0);
	check_bits(bits, none);
}

/*
 * A VT-d device's writes are what dirties pages in its second-level
 * table; its reads do not.
 */
static void harvest_dma(const char *mem)
{
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .model = IOASID_DEVICE_VTD,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };
	uint8_t bits[NPAGES / 8];
	uint32_t vhwpt;
	char buf[8];

	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &da), 0);
	vhwpt = hwpt_alloc(da.out_dev_id, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	at.dev_id = da.out_dev_id;
	at.pt_id = vhwpt;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	CHECK_EQ(mark(vhwpt, BASE, PG, PG, bits, NULL), -EINVAL); /* not mock */

	/* Written before tracking began: not reported. */
	CHECK_EQ(ioasid_dma_write(ctx, da.out_dev_id, 0, BASE + 9 * PG, "x",
				  1), 0);
	CHECK_EQ(set_dirty(vhwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE), 0);
	CHECK_EQ(ioasid_dma_read(ctx, da.out_dev_id, 0, BASE + 5 * PG, buf,
				 sizeof(buf)), 0);
	CHECK_EQ(ioasid_dma_write(ctx, da.out_dev_id, 0, BASE + 3 * PG + 10,
				  "dirty", 5), 0);
	CHECK(!memcmp(mem + 3 * PG + 10, "dirty", 5));
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(vhwpt, 0, BASE, NPAGES * PG, PG, bits), 0);
	check_bits(bits, page3);

	/* Cleared: the same page written again is dirty again, although
	 * the device's IOTLB remembers it as written. */
	CHECK_EQ(ioasid_dma_write(ctx, da.out_dev_id, 0, BASE + 3 * PG, "y",
				  1), 0);
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(vhwpt, 0, BASE, NPAGES * PG, PG, bits), 0);
	check_bits(bits, page3);
	memset(bits, 0, sizeof(bits));
	CHECK_EQ(get_bitmap(vhwpt, 0, BASE, NPAGES * PG, PG, bits), 0);
	check_bits(bits, none);

	CHECK_EQ(set_dirty(vhwpt, 0), 0);
	CHECK_EQ(destroy(da.out_dev_id), 0);
	CHECK_EQ(destroy(vhwpt), 0);
}

int main(void)
{
	char *mem;

	CHECK_EQ(ioasid_caller_self(&caller), 0);
	fresh();
	ioas = ioas_alloc();
	{
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
			.id = ioas,
		};

		CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), 0);
		idev = cmd.mock_domain.out_idev_id;
		auto_hwpt = cmd.mock_domain.out_hwpt_id;
	}
	hwpt = hwpt_alloc(idev, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	mem = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	CHECK_EQ(map_at(ioas, RW, mem, NPAGES * PG, BASE), 0);

	RUN(errno_tables);
	RUN(harvest_mock);
	RUN_AS("harvest_dma", harvest_dma(mem));

	CHECK_EQ(destroy(hwpt), 0);
	ioasid_ctx_put(ctx);
	munmap(mem, NPAGES * PG);
	return check_finish("dirty");
}
