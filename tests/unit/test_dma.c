/* SPDX-License-Identifier: MIT */
/*
 * DMA through translation: a mock device reads and writes through the
 * domain attached to it, the IOTLB never outlives an unmap, dirty bits
 * follow writes, and IOASID_DEVICE_DMA's errno table.  Then the stress
 * test: devices DMA on several threads while another thread maps and
 * unmaps at random; every DMA sees a mapping whole or fails cleanly, and
 * never reads memory after the unmap that gave it back has returned.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "ctx_harness.h"
#include "core/object.h"
#include "core/util.h"
#include "iommu/device.h"
#include "iommu/domain.h"
#include "iommu/hwpt.h"
#include "ioasid/uapi/ioasid.h"
#include "pt/iotlb.h"
#include "pt/pt.h"

#define BASE MOCK_APERTURE_START

static long mock_domain(uint32_t pt_id, uint32_t *idev, uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	long rc = io(IOMMU_TEST_CMD, &cmd);

	*idev = cmd.mock_domain.out_idev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain.out_hwpt_id;
	return rc;
}

static long unmap(uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};

	return io(IOMMU_IOAS_UNMAP, &cmd);
}

static long dma(uint32_t idev, uint32_t flags, uint32_t pasid, uint64_t iova,
		void *buf, uint64_t len)
{
	struct ioasid_device_dma cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = idev,
		.pasid = pasid, .iova = iova, .length = len,
		.uptr = (uintptr_t)buf,
	};

	return io(IOASID_DEVICE_DMA, &cmd);
}

static void *anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* Dirty 2 KiB leaves (the mock domain's) of [BASE, BASE + 16 pages). */
static int harvest_leaves(struct ioasid_domain *dom)
{
	uint8_t bits[16 * 2 / 8] = { 0 };
	struct pt_dirty_bitmap bm = { .bits = bits, .iova = BASE,
				      .last = BASE + 16 * PG - 1,
				      .pgshift = 11 };
	int n = 0;

	if (ioasid_domain_read_and_clear_dirty(dom, false, &bm))
		return -1;
	for (size_t i = 0; i < sizeof(bits); i++)
		n += __builtin_popcount(bits[i]);
	return n;
}

static void basics(void)
{
	char *mem = anon(8 * PG), *ro = anon(PG), *other = anon(PG);
	char buf[3 * PG];
	uint32_t ioas, idev, hwpt;
	struct ioasid_object *obj;
	struct ioasid_domain *dom;

	fresh();
	ioas = ioas_alloc();
	for (int i = 0; i < 8 * (int)PG; i++)
		mem[i] = (char)(i * 7);
	memset(ro, 0x5a, PG);
	memset(other, 0x33, PG);
	CHECK_EQ(mock_domain(ioas, &idev, &hwpt), 0);
	CHECK_EQ(map_at(ioas, RW, mem, 8 * PG, BASE), 0);
	CHECK_EQ(map_at(ioas, IOMMU_IOAS_MAP_READABLE, ro, PG, BASE + 8 * PG),
		 0);

	/* Reads across pages and areas see the memory. */
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE + 100, buf, 2 * PG), 0);
	CHECK(!memcmp(buf, mem + 100, 2 * PG));
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE + 8 * PG - 10, buf, 20),
		 0);
	CHECK(!memcmp(buf, mem + 8 * PG - 10, 10));
	CHECK(!memcmp(buf + 10, ro, 10));
	/* Writes land in memory, and not where the mapping forbids. */
	CHECK_EQ(ioasid_dma_write(ctx, idev, 0, BASE + PG - 3, "device", 6), 0);
	CHECK(!memcmp(mem + PG - 3, "device", 6));
	CHECK_EQ(ioasid_dma_write(ctx, idev, 0, BASE + 8 * PG, "x", 1), -EPERM);
	CHECK_EQ(ro[0], 0x5a);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE + 9 * PG, buf, 1), -ENOENT);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE - 1, buf, 2), -ENOENT);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 5, BASE, buf, 1), -ENXIO);
	CHECK_EQ(ioasid_dma_read(ctx, 999, 0, BASE, buf, 1), -ENOENT);

	/* The writes made the page table's leaves dirty; reads did not. */
	CHECK_EQ(ioasid_obj_get(ctx, hwpt, IOASID_OBJ_HWPT_PAGING, &obj), 0);
	dom = ((struct ioasid_hwpt *)obj)->domain;
	CHECK_EQ(harvest_leaves(dom), 2); /* the 2 KiB leaves either side of PG */
	/* Cleared: the next write through the cached page dirties again. */
	CHECK_EQ(ioasid_dma_write(ctx, idev, 0, BASE + PG, "again", 5), 0);
	CHECK_EQ(harvest_leaves(dom), 1);
	ioasid_obj_put(ctx, obj);

	/* After an unmap the cached translation is gone, and a new
	 * mapping at the same IOVA shows the new memory. */
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE, buf, 8), 0);
	CHECK_EQ(unmap(ioas, BASE, 8 * PG), 0);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE, buf, 8), -ENOENT);
	CHECK_EQ(map_at(ioas, RW, other, PG, BASE), 0);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE, buf, 8), 0);
	CHECK_EQ(buf[0], 0x33);

	/* The extension ioctl: the same DMA, and its errno table. */
	{
		struct {
			struct ioasid_device_dma cmd;
			uint32_t tail;
		} big = { .cmd = { .size = sizeof(big), .dev_id = idev,
				   .iova = BASE, .length = 4,
				   .uptr = (uintptr_t)buf } };
		const struct {
			const char *what;
			uint32_t flags, pasid, dev;
			uint64_t iova, len;
			int err;
		} cases[] = {
			{ "read", 0, 0, idev, BASE, 16, 0 },
			{ "write", IOASID_DMA_WRITE, 0, idev, BASE + 8, 8, 0 },
			{ "nothing", 0, 0, idev, BASE, 0, 0 },
			{ "unknown flag", 1u << 5, 0, idev, BASE, 8,
			  -EOPNOTSUPP },
			{ "PASID without the flag", 0, 3, idev, BASE, 8,
			  -EINVAL },
			{ "the flag with no PASID", IOASID_DMA_PASID, 0, idev,
			  BASE, 8, -EINVAL },
			{ "PASID not attached", IOASID_DMA_PASID, 3, idev,
			  BASE, 8, -ENXIO },
			{ "too long", 0, 0, idev, BASE, (16u << 20) + 1,
			  -EINVAL },
			{ "wraps", 0, 0, idev, UINT64_MAX - 3, 8, -EOVERFLOW },
			{ "no such device", 0, 0, 999, BASE, 8, -ENOENT },
			{ "unmapped", 0, 0, idev, BASE + PG, 8, -ENOENT },
		};

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			long rc = dma(cases[i].dev, cases[i].flags,
				      cases[i].pasid, cases[i].iova, buf,
				      cases[i].len);

			if (rc != cases[i].err)
				fprintf(stderr, "dma case '%s': %ld\n",
					cases[i].what, rc);
			CHECK_EQ(rc, cases[i].err);
		}
		CHECK(!memcmp(other + 8, buf, 8));
		/* Size rules: short, non-zero tail, zero tail. */
		big.cmd.size = 20;
		CHECK_EQ(io(IOASID_DEVICE_DMA, &big), -EINVAL);
		big.cmd.size = sizeof(big);
		big.tail = 1;
		CHECK_EQ(io(IOASID_DEVICE_DMA, &big), -E2BIG);
		big.tail = 0;
		CHECK_EQ(io(IOASID_DEVICE_DMA, &big), 0);
	}
	fresh();
	munmap(mem, 8 * PG);
	munmap(ro, PG);
	munmap(other, PG);
}

/*
 * A 2 MiB leaf over memory that is one run of ours is cached as one
 * IOTLB entry; unmapping it forgets the whole block.
 */
static void huge_blocks(void)
{
	const uint64_t huge = 2ull << 20;
	char *raw = mmap(NULL, 6 * huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	char *b = a + 2 * huge;
	uint32_t ioas, idev;
	char got[8];

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, &idev, NULL), 0);
	memset(a, 'a', huge);
	memset(b, 'b', huge);
	CHECK_EQ(map_at(ioas, RW, a, huge, 32 * huge), 0);
	/* Reads all over the block: one entry serves them after the first. */
	for (uint64_t off = 0; off < huge; off += huge / 8) {
		CHECK_EQ(ioasid_dma_read(ctx, idev, 0, 32 * huge + off + 5, got,
					 sizeof(got)),
			 0);
		CHECK_EQ(got[0], 'a');
	}
	CHECK_EQ(ioasid_dma_write(ctx, idev, 0, 32 * huge + huge - 4, "tail",
				  4),
		 0);
	CHECK(!memcmp(a + huge - 4, "tail", 4));
	CHECK_EQ(unmap(ioas, 32 * huge, huge), 0);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, 32 * huge + 4096, got, 1),
		 -ENOENT);
	CHECK_EQ(map_at(ioas, RW, b, huge, 32 * huge), 0);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, 32 * huge + huge / 2, got, 1), 0);
	CHECK_EQ(got[0], 'b');
	fresh();
	munmap(raw, 6 * huge);
}

/* A VT-d device on ioas (4 KiB leaves under 2 MiB tables), by handle. */
static struct ioasid_dev *vtd_device(uint32_t ioas, uint32_t *dev_id)
{
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .model = IOASID_DEVICE_VTD,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };
	struct ioasid_dev *dev = NULL;

	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &da), 0);
	at.dev_id = *dev_id = da.out_dev_id;
	at.pt_id = ioas;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	CHECK_EQ(ioasid_dev_get(ctx, da.out_dev_id, &dev), 0);
	return dev;
}

/* Whether the device's IOTLB caches the 2 MiB block holding iova. */
static bool iotlb_has_block(uint32_t dev_id, uint64_t iova)
{
	uint64_t key = iotlb_key(iova, IOTLB_HUGE_SHIFT);
	struct ioasid_device *d;
	bool found = false;

	CHECK_EQ(ioasid_device_get(ctx, dev_id, &d), 0);
	for (int w = 0; w < IOTLB_WAYS; w++)
		found |= atomic_load(&d->iotlb.tag[iotlb_set_of(key)][w]) == key;
	ioasid_device_put(ctx, d);
	return found;
}

/* Read one byte at iova through dev: the byte, or -1. */
static int byte_at(struct ioasid_dev *dev, uint64_t iova)
{
	unsigned char c;

	return ioasid_dev_dma(dev, 0, iova, &c, 1, 0) ? -1 : c;
}

/*
 * Memory mapped a page off its 2 MiB alignment gets 4 KiB leaves.  A read
 * through a table of them that is one row over one run of our memory is
 * cached as the 2 MiB block; a page of the row unmapped, or mapped again
 * to other memory, ends that; a row whose frames are consecutive but
 * whose memory is two places here (one file mapped twice) is never a
 * block; a write through a cached row walks and lands.
 */
static void rows(void)
{
	const uint64_t huge = 2ull << 20, row = 9 * huge;
	char *raw = mmap(NULL, 4 * huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	/* What the row's first IOVA reads: a page before a's 2 MiB mark. */
	char *at_row = a + huge - PG, *other = anon(PG);
	int mfd = memfd_create("rows", MFD_CLOEXEC);
	char *f1, *f2;
	uint32_t ioas, dev_id;
	struct ioasid_dev *dev;

	CHECK(raw != MAP_FAILED && mfd >= 0 && !ftruncate(mfd, huge));
	for (uint64_t i = 0; i < 2 * huge; i += PG)
		memset(a + i, (int)(i / PG) & 0xff, PG);
	memset(other, 0xee, PG);
	fresh();
	ioas = ioas_alloc();
	dev = vtd_device(ioas, &dev_id);
	/* One area over the whole row. */
	CHECK_EQ(map_at(ioas, RW, a, 2 * huge, 8 * huge + PG), 0);
	CHECK_EQ(byte_at(dev, row + 5 * PG + 3),
		 (unsigned char)at_row[5 * PG]);
	CHECK(iotlb_has_block(dev_id, row));
	for (uint64_t p = 0; p < 512; p += 37)
		CHECK_EQ(byte_at(dev, row + p * PG + 11),
			 (unsigned char)at_row[p * PG]);
	/* A write is the device's, through its own leaf. */
	CHECK_EQ(ioasid_dev_dma(dev, 0, row + 7 * PG + 1, "w", 1, 1), 0);
	CHECK_EQ(at_row[7 * PG + 1], 'w');
	/* Unmapped: the block is forgotten with the rest. */
	CHECK_EQ(unmap(ioas, 8 * huge + PG, 2 * huge), 0);
	CHECK(!iotlb_has_block(dev_id, row));
	CHECK_EQ(byte_at(dev, row + 5 * PG), -1);
	/* Mapped again with a hole at the row's page 100: no block, and the
	 * hole faults. */
	CHECK_EQ(map_at(ioas, RW, a, huge + 99 * PG, 8 * huge + PG), 0);
	CHECK_EQ(map_at(ioas, RW, at_row + 101 * PG, huge - 101 * PG,
			row + 101 * PG),
		 0);
	CHECK_EQ(byte_at(dev, row + 99 * PG), (unsigned char)at_row[99 * PG]);
	CHECK_EQ(byte_at(dev, row + 100 * PG), -1);
	CHECK_EQ(byte_at(dev, row + 300 * PG), (unsigned char)at_row[300 * PG]);
	CHECK(!iotlb_has_block(dev_id, row));
	/* The hole filled with other memory: read as that. */
	CHECK_EQ(map_at(ioas, RW, other, PG, row + 100 * PG), 0);
	CHECK_EQ(byte_at(dev, row + 100 * PG), 0xee);
	CHECK_EQ(byte_at(dev, row + 101 * PG), (unsigned char)at_row[101 * PG]);
	CHECK(!iotlb_has_block(dev_id, row));

	/* A page at a time: 512 areas, a row when their pins got
	 * consecutive frames (test-pt's rows has the table's side of it).
	 * One of them unmapped leaves the table, which must not be taken
	 * for the row it may have been. */
	CHECK_EQ(unmap(ioas, 0, UINT64_MAX), 0);
	for (uint64_t p = 0; p < 512; p++)
		CHECK_EQ(map_at(ioas, RW, at_row + p * PG, PG, row + p * PG), 0);
	CHECK_EQ(byte_at(dev, row + 200 * PG), (unsigned char)at_row[200 * PG]);
	CHECK_EQ(unmap(ioas, row + 100 * PG, PG), 0);
	CHECK(!iotlb_has_block(dev_id, row));
	CHECK_EQ(byte_at(dev, row + 200 * PG), (unsigned char)at_row[200 * PG]);
	CHECK(!iotlb_has_block(dev_id, row));
	CHECK_EQ(byte_at(dev, row + 100 * PG), -1);

	/* A file's two halves mapped at two places of ours, side by side
	 * in IOVA: memory in two places is never one block (test-frame's
	 * host_runs has the frames consecutive too). */
	f1 = mmap(NULL, 2 * huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	CHECK(f1 != MAP_FAILED);
	/* A megabyte apart, so that the halves are not one run after all. */
	f2 = mmap(f1 + huge, huge / 2, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_FIXED, mfd, (off_t)(huge / 2));
	f1 = mmap(f1, huge / 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		  mfd, 0);
	CHECK(f1 != MAP_FAILED && f2 != MAP_FAILED);
	memset(f1, 'L', huge / 2);
	memset(f2, 'R', huge / 2);
	CHECK_EQ(map_at(ioas, RW, f1, huge / 2, 16 * huge), 0);
	CHECK_EQ(map_at(ioas, RW, f2, huge / 2, 16 * huge + huge / 2), 0);
	CHECK_EQ(byte_at(dev, 16 * huge + 3 * PG), 'L');
	CHECK(!iotlb_has_block(dev_id, 16 * huge));
	CHECK_EQ(byte_at(dev, 16 * huge + huge / 2 + 3 * PG), 'R');
	CHECK_EQ(byte_at(dev, 16 * huge + huge - 1), 'R');

	ioasid_dev_put(dev);
	fresh();
	munmap(f1, 2 * huge);
	close(mfd);
	munmap(other, PG);
	munmap(raw, 4 * huge);
}

/*
 * The in-process fast path: device handles, host pointers, and what they
 * refuse.
 */
static void fast_path(void)
{
	char *mine = anon(2 * PG), *ro = anon(PG);
	int mfd = memfd_create("fast", MFD_CLOEXEC);
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .model = IOASID_DEVICE_MOCK,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };
	uint32_t ioas, mock_idev;
	struct ioasid_dev *dev;
	void *host;
	char buf[16];

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, &mock_idev, NULL), 0);
	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &da), 0);
	at.dev_id = da.out_dev_id;
	at.pt_id = ioas;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	CHECK(mfd >= 0 && !ftruncate(mfd, PG));
	CHECK_EQ(map_at(ioas, RW, mine, 2 * PG, BASE), 0);
	CHECK_EQ(map_at(ioas, IOMMU_IOAS_MAP_READABLE, ro, PG, BASE + 2 * PG),
		 0);
	{
		struct iommu_ioas_map_file mf = {
			.size = sizeof(mf), .flags = RW | FIXED, .ioas_id = ioas,
			.fd = mfd, .length = PG, .iova = BASE + 4 * PG,
		};

		CHECK_EQ(io(IOMMU_IOAS_MAP_FILE, &mf), 0);
	}

	/* Handles: only on devices not owned by a driver. */
	CHECK_EQ(ioasid_dev_get(ctx, mock_idev, &dev), -EPERM);
	CHECK_EQ(ioasid_dev_get(ctx, 999, &dev), -ENOENT);
	CHECK_EQ(ioasid_dev_get(ctx, da.out_dev_id, &dev), 0);
	CHECK_EQ(destroy(da.out_dev_id), -EBUSY); /* the handle holds it */

	ioasid_dma_begin();
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + PG + 7, 0, &host), 0);
	CHECK(host == mine + PG + 7);
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + 2 * PG, 1, &host),
		 -EPERM);
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + 3 * PG, 0, &host),
		 -ENOENT);
	CHECK_EQ(ioasid_dma_translate(dev, 9, BASE, 0, &host), -ENXIO);
	/* A file's page is not this process' memory: copy it instead. */
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + 4 * PG, 0, &host),
		 -EFAULT);
	ioasid_dma_end();
	CHECK_EQ(ioasid_dev_dma(dev, 0, BASE + 4 * PG + 1, "file", 4, 1), 0);
	CHECK_EQ(pread(mfd, buf, 4, 1), 4);
	CHECK(!memcmp(buf, "file", 4));
	/* A write through a host pointer is the device's write. */
	ioasid_dma_begin();
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + 3, 1, &host), 0);
	memcpy(host, "host", 4);
	ioasid_dma_end();
	CHECK(!memcmp(mine + 3, "host", 4));
	CHECK_EQ(ioasid_dev_dma(dev, 0, BASE + 3, buf, 4, 0), 0);
	CHECK(!memcmp(buf, "host", 4));

	ioasid_dev_put(dev);
	CHECK_EQ(destroy(da.out_dev_id), 0);
	fresh();
	close(mfd);
	munmap(mine, 2 * PG);
	munmap(ro, PG);
}

/*
 * One page at two addresses of ours (a memfd mapped twice) and mapped at
 * two IOVAs: one frame, two holders that say different places.  No host
 * pointer then (a translation cached through one mapping must not keep
 * the address the other's holder gave, which outlives neither its unmap
 * nor its munmap); DMA copies through a holder still there.
 */
static void holder_leaves(void)
{
	int mfd = memfd_create("twice", MFD_CLOEXEC);
	char *a, *b;
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .model = IOASID_DEVICE_MOCK,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };
	struct ioasid_dev *dev;
	uint32_t ioas;
	void *host;
	char got = 0;
	int rc;

	CHECK(mfd >= 0 && !ftruncate(mfd, PG));
	a = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	b = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(a != MAP_FAILED && b != MAP_FAILED);
	a[5] = 'x';
	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &da), 0);
	at.dev_id = da.out_dev_id;
	at.pt_id = ioas;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	CHECK_EQ(map_at(ioas, RW, a, PG, BASE), 0);
	CHECK_EQ(map_at(ioas, RW, b, PG, BASE + PG), 0);
	CHECK_EQ(ioasid_dev_get(ctx, da.out_dev_id, &dev), 0);
	ioasid_dma_begin();
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + PG + 5, 0, &host),
		 -EFAULT);
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + 5, 0, &host), -EFAULT);
	ioasid_dma_end();
	CHECK_EQ(unmap(ioas, BASE, PG), 0);
	munmap(a, PG);
	CHECK_EQ(ioasid_dev_dma(dev, 0, BASE + PG + 5, &got, 1, 0), 0);
	CHECK_EQ(got, 'x');
	ioasid_dma_begin();
	/* Cached as no pointer, or the one holder's: never a's. */
	rc = ioasid_dma_translate(dev, 0, BASE + PG + 5, 0, &host);
	CHECK(rc == -EFAULT || (rc == 0 && host == b + 5));
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + 5, 0, &host), -ENOENT);
	ioasid_dma_end();
	/* A frame with one holder again, translated afresh: its address. */
	CHECK_EQ(map_at(ioas, RW, b, PG, BASE + 8 * PG), 0);
	CHECK_EQ(unmap(ioas, BASE + PG, PG), 0);
	ioasid_dma_begin();
	CHECK_EQ(ioasid_dma_translate(dev, 0, BASE + 8 * PG + 5, 0, &host), 0);
	CHECK(host == b + 5);
	ioasid_dma_end();
	ioasid_dev_put(dev);
	fresh();
	munmap(b, PG);
	close(mfd);
}

/* ---- the stress test ----------------------------------------------- */

#define SLOTS 16
#define POOL 24
#define ROUNDS 4000

/*
 * Each pool page holds one 8-byte stamp repeated: the slot it is mapped
 * at and a serial number, or POISON once its unmap has returned.
 */
#define POISON 0xdeaddeaddeaddeadull

struct stress {
	uint32_t idev;
	char *pool; /* pages 0..POOL-1 our own memory, POOL.. a memfd's */
	int memfd;
	atomic_bool stop;
	atomic_ulong seen, faulted, wrong;
};

static uint64_t stamp_of(unsigned int slot, uint64_t serial)
{
	return ((uint64_t)slot << 48) | serial;
}

static void *dma_thread(void *arg)
{
	struct stress *s = arg;
	uint64_t r = (uintptr_t)&r;

	while (!atomic_load(&s->stop)) {
		unsigned int slot;
		uint64_t got[4];
		int rc;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		slot = (unsigned int)(r % SLOTS);
		rc = ioasid_dma_read(ctx, s->idev, 0, BASE + slot * PG + 64,
				     got, sizeof(got));
		if (rc == -ENOENT) {
			atomic_fetch_add(&s->faulted, 1);
			continue;
		}
		atomic_fetch_add(&s->seen, 1);
		/* A whole stamp of this slot, the same in every word. */
		if (rc || got[0] == POISON || got[0] >> 48 != slot ||
		    got[1] != got[0] || got[3] != got[0])
			atomic_fetch_add(&s->wrong, 1);
	}
	return NULL;
}

static void stress(void)
{
	struct stress s = { 0 };
	int at_slot[SLOTS]; /* pool page mapped there, or -1 */
	bool in_use[2 * POOL] = { false };
	uint64_t r = 0x853c49e6748fea9bull, serial = 1;
	pthread_t th[2];
	uint32_t ioas;

	/*
	 * Half the pool is our own anonymous memory, which DMA copies
	 * directly; half a memfd, which it reaches with pread/pwrite, a
	 * window wide enough that a missing grace period shows.
	 */
	s.memfd = memfd_create("stress", MFD_CLOEXEC);
	CHECK(s.memfd >= 0 && !ftruncate(s.memfd, POOL * PG));
	s.pool = mmap(NULL, 2 * POOL * PG, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s.pool != MAP_FAILED);
	CHECK(mmap(s.pool + POOL * PG, POOL * PG, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, s.memfd, 0) != MAP_FAILED);
	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, &s.idev, NULL), 0);
	for (int i = 0; i < SLOTS; i++)
		at_slot[i] = -1;
	for (int i = 0; i < 2 * POOL; i++)
		for (size_t w = 0; w < PG / 8; w++)
			((uint64_t *)(s.pool + i * PG))[w] = POISON;
	for (int t = 0; t < 2; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, dma_thread, &s), 0);

	/* Valgrind runs one thread at a time, each grace period waiting
	 * out the readers' time slices: fewer rounds there. */
	int rounds = RUNNING_ON_VALGRIND ? ROUNDS / 40 : ROUNDS;

	for (int round = 0; round < rounds ||
			    (atomic_load(&s.seen) < 100 && round < 100 * rounds);
	     round++) {
		unsigned int slot;
		int page;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		slot = (unsigned int)(r % SLOTS);
		page = at_slot[slot];
		if (page >= 0) {
			CHECK_EQ(unmap(ioas, BASE + slot * PG, PG), 0);
			/* Given back: no DMA may see this page from now. */
			for (size_t w = 0; w < PG / 8; w++)
				((uint64_t *)(s.pool + page * PG))[w] = POISON;
			in_use[page] = false;
			at_slot[slot] = -1;
			continue;
		}
		do
			page = (int)((r >> 20) % (2 * POOL)), r = r * 6364136223846793005ull + 1;
		while (in_use[page]);
		for (size_t w = 0; w < PG / 8; w++)
			((uint64_t *)(s.pool + page * PG))[w] =
				stamp_of(slot, serial);
		serial++;
		if (page < POOL) {
			CHECK_EQ(map_at(ioas, RW, s.pool + page * PG, PG,
					BASE + slot * PG),
				 0);
		} else {
			struct iommu_ioas_map_file mf = {
				.size = sizeof(mf), .flags = RW | FIXED,
				.ioas_id = ioas, .fd = s.memfd,
				.start = (uint64_t)(page - POOL) * PG,
				.length = PG, .iova = BASE + slot * PG,
			};

			CHECK_EQ(io(IOMMU_IOAS_MAP_FILE, &mf), 0);
		}
		in_use[page] = true;
		at_slot[slot] = page;
	}
	atomic_store(&s.stop, true);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	printf("# dma stress: %lu DMAs saw a mapping, %lu faulted, %lu wrong\n",
	       atomic_load(&s.seen), atomic_load(&s.faulted),
	       atomic_load(&s.wrong));
	CHECK(atomic_load(&s.seen) > 0);
	CHECK_EQ(atomic_load(&s.wrong), 0);
	fresh();
	munmap(s.pool, 2 * POOL * PG);
	close(s.memfd);
}

/* ---- rows under change ---------------------------------------------- */

#define ROW_HUGE (2ull << 20)
#define ROW_IOVA (64 * ROW_HUGE)
#define ROW_ROUNDS 400

/*
 * Two buffers take turns at one row of 4 KiB leaves, mapped whole or with
 * a hole; each page of buffer b holds the stamp (b << 32 | page) repeated,
 * or POISON once the unmap that gave it back has returned.  Readers look
 * at random pages of the row through the device: each read sees a whole
 * stamp of the page it asked for, or faults; never the poison, which a
 * block cached over a row that changed would show.
 */
struct row_stress {
	uint32_t dev_id;
	char *buf[2]; /* 2 MiB aligned, a row and two pages */
	atomic_bool stop;
	atomic_ulong seen, faulted, wrong;
};

static void row_stamp(char *buf, uint64_t id, uint64_t poison)
{
	for (uint64_t k = 0; k < 514; k++)
		for (size_t w = 0; w < PG / 8; w++)
			((uint64_t *)(buf + k * PG))[w] =
				poison ? poison : id << 32 | k;
}

static void *row_reader(void *arg)
{
	struct row_stress *s = arg;
	uint64_t r = (uintptr_t)&r;

	while (!atomic_load(&s->stop)) {
		uint64_t got[4], page;
		int rc;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		page = r % 512;
		rc = ioasid_dma_read(ctx, s->dev_id, 0,
				     ROW_IOVA + page * PG + 64, got,
				     sizeof(got));
		if (rc == -ENOENT) {
			atomic_fetch_add(&s->faulted, 1);
			continue;
		}
		atomic_fetch_add(&s->seen, 1);
		/* IOVA page p of the row is page p + 1 of its buffer. */
		if (rc || got[0] == POISON ||
		    (got[0] & 0xffffffff) != page + 1 || got[0] >> 32 > 1 ||
		    got[1] != got[0] || got[3] != got[0])
			atomic_fetch_add(&s->wrong, 1);
	}
	return NULL;
}

static void row_stress(void)
{
	struct row_stress s = { 0 };
	char *raw = mmap(NULL, 8 * ROW_HUGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t r = 0x2545f4914f6cdd1dull;
	struct ioasid_dev *dev;
	uint32_t ioas;
	pthread_t th[2];
	int rounds = RUNNING_ON_VALGRIND ? ROW_ROUNDS / 40 : ROW_ROUNDS;

	CHECK(raw != MAP_FAILED);
	s.buf[0] = (char *)(((uintptr_t)raw + ROW_HUGE - 1) & ~(ROW_HUGE - 1));
	s.buf[1] = s.buf[0] + 2 * ROW_HUGE;
	row_stamp(s.buf[0], 0, POISON);
	row_stamp(s.buf[1], 1, POISON);
	fresh();
	ioas = ioas_alloc();
	dev = vtd_device(ioas, &s.dev_id);
	for (int t = 0; t < 2; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, row_reader, &s), 0);
	for (int round = 0; round < rounds; round++) {
		uint64_t b = round & 1, hole;
		/* The row begins a page into the area: 4 KiB leaves. */
		const uint64_t at = ROW_IOVA - PG, len = ROW_HUGE + 2 * PG;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		row_stamp(s.buf[b], b, 0);
		/* Every fourth round a page at a time, some of them given
		 * back while the rest stay (the table stays, no row now). */
		if (round % 4 == 3) {
			for (uint64_t p = 0; p < len / PG; p++)
				CHECK_EQ(map_at(ioas, RW, s.buf[b] + p * PG, PG,
						at + p * PG),
					 0);
			for (int i = 0; i < 3; i++) {
				uint64_t p = 1 + (r >> (8 * i)) % 512;

				if (!unmap(ioas, at + p * PG, PG))
					for (size_t w = 0; w < PG / 8; w++)
						((uint64_t *)(s.buf[b] +
							      p * PG))[w] =
							POISON;
			}
			CHECK_EQ(unmap(ioas, at, len), 0);
			row_stamp(s.buf[b], b, POISON);
			continue;
		}
		/* One area in three rounds, else two with a hole between. */
		hole = r % 3 ? 1 + (r >> 8) % 511 : 0;
		/* The page behind the hole is never the device's to see. */
		if (hole)
			for (size_t w = 0; w < PG / 8; w++)
				((uint64_t *)(s.buf[b] + hole * PG))[w] = POISON;
		if (!hole) {
			CHECK_EQ(map_at(ioas, RW, s.buf[b], len, at), 0);
		} else {
			CHECK_EQ(map_at(ioas, RW, s.buf[b], hole * PG, at), 0);
			CHECK_EQ(map_at(ioas, RW, s.buf[b] + (hole + 1) * PG,
					len - (hole + 1) * PG,
					at + (hole + 1) * PG),
				 0);
		}
		CHECK_EQ(unmap(ioas, at, len), 0);
		/* Given back: no DMA may see this buffer from now. */
		row_stamp(s.buf[b], b, POISON);
	}
	atomic_store(&s.stop, true);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	printf("# row stress: %lu DMAs saw a mapping, %lu faulted, %lu wrong\n",
	       atomic_load(&s.seen), atomic_load(&s.faulted),
	       atomic_load(&s.wrong));
	CHECK(atomic_load(&s.seen) > 0);
	CHECK_EQ(atomic_load(&s.wrong), 0);
	ioasid_dev_put(dev);
	fresh();
	munmap(raw, 8 * ROW_HUGE);
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	RUN(basics);
	RUN(huge_blocks);
	RUN(rows);
	RUN(fast_path);
	RUN(holder_leaves);
	RUN(stress);
	RUN(row_stress);
	ioasid_ctx_put(ctx);
	ioasid_synchronize_rcu();
	return check_finish("dma");
}
