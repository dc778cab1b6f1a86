/* SPDX-License-Identifier: MIT */
/*
 * Devices, HWPTs and domains through the ioctls: the errno tables of
 * IOMMU_HWPT_ALLOC and IOMMU_GET_HW_INFO, automatic domains coming and
 * going with their devices, every domain filled and unfilled as areas
 * come and go (pins counted), and large leaves for aligned memory.
 */
#include <errno.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ctx_harness.h"
#include "core/object.h"
#include "core/util.h"
#include "iommu/domain.h"
#include "iommu/hwpt.h"
#include "ioasid/uapi/ioasid.h"
#include "pages/account.h"

#define MiB (1ull << 20)
#define VTD_MSI 0xfee00000ull
#define BASE (MOCK_APERTURE_START)

static long mock_domain(uint32_t pt_id, uint32_t dev_flags, uint32_t *stdev,
			uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt_id, .mock_domain_flags.dev_flags = dev_flags,
	};
	long rc = io(IOMMU_TEST_CMD, &cmd);

	if (stdev)
		*stdev = cmd.mock_domain_flags.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain_flags.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain_flags.out_idev_id;
	return rc;
}

static long replace(uint32_t stdev, uint32_t *pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev, .mock_domain_replace.pt_id = *pt_id,
	};
	long rc = io(IOMMU_TEST_CMD, &cmd);

	*pt_id = cmd.mock_domain_replace.pt_id;
	return rc;
}

static long check_map(uint32_t hwpt, uint64_t iova, const void *va,
		      uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt,
		.check_map = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)va },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

/* A HWPT_ALLOC argument of any size: the struct, then `tail` bytes. */
struct hwpt_alloc_buf {
	struct iommu_hwpt_alloc cmd;
	unsigned char tail[8];
};

static void *anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

static void hwpt_alloc_errnos(void)
{
	struct iommu_hwpt_selftest huge = {
		.pagetable_type = MOCK_IOMMUPT_HUGE,
	};
	struct iommu_hwpt_selftest bad_type = { .pagetable_type = 7 };
	struct {
		struct iommu_hwpt_selftest s;
		uint32_t extra;
	} longer = { .extra = 1 }, longer_zero = { .extra = 0 };
	uint32_t ioas, idev, nodirty_idev;
	unsigned int objects;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, NULL, NULL, &idev), 0);
	CHECK_EQ(mock_domain(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, NULL, NULL,
			     &nodirty_idev),
		 0);
	objects = ioasid_ctx_object_count(ctx);

	const struct {
		const char *what;
		uint32_t size; /* 0: the struct's own */
		uint8_t tail;  /* a non-zero byte past the struct */
		uint32_t flags, dev_id, pt_id, reserved;
		uint32_t data_type, data_len;
		const void *data;
		int err;
	} cases[] = {
		{ "short", offsetof(struct iommu_hwpt_alloc, __reserved), 0, 0,
		  1, 1, 0, 0, 0, NULL, -EINVAL },
		{ "non-zero tail", sizeof(struct hwpt_alloc_buf), 1, 0, 1, 1,
		  0, 0, 0, NULL, -E2BIG },
		{ "unknown flag", 0, 0, 1u << 7, 1, 1, 0, 0, 0, NULL,
		  -EOPNOTSUPP },
		{ "reserved set", 0, 0, 0, 1, 1, 1, 0, 0, NULL, -EOPNOTSUPP },
		{ "length without a type", 0, 0, 0, 1, 1, 0, 0, 8, &huge,
		  -EINVAL },
		{ "type without a length", 0, 0, 0, 1, 1, 0,
		  IOMMU_HWPT_DATA_SELFTEST, 0, &huge, -EINVAL },
		{ "no such device", 0, 0, 0, 99, 1, 0, 0, 0, NULL, -ENOENT },
		{ "no such pt", 0, 0, 0, 1, 99, 0, 0, 0, NULL, -EINVAL },
		{ "pt is a device", 0, 0, 0, 1, 1, 0, 0, 0, NULL, -EINVAL },
		{ "dirty on a device without", 0, 0,
		  IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 2, 1, 0, 0, 0, NULL,
		  -EOPNOTSUPP },
		{ "a driver's type unknown", 0, 0, 0, 1, 1, 0,
		  IOMMU_HWPT_DATA_VTD_S1, 8, &huge, -EOPNOTSUPP },
		{ "data too short", 0, 0, 0, 1, 1, 0, IOMMU_HWPT_DATA_SELFTEST,
		  2, &huge, -EINVAL },
		{ "data at NULL", 0, 0, 0, 1, 1, 0, IOMMU_HWPT_DATA_SELFTEST,
		  8, NULL, -EFAULT },
		{ "data longer than the driver's", 0, 0, 0, 1, 1, 0,
		  IOMMU_HWPT_DATA_SELFTEST, sizeof(longer), &longer, -EINVAL },
		{ "data longer, zero", 0, 0, 0, 1, 1, 0,
		  IOMMU_HWPT_DATA_SELFTEST, sizeof(longer_zero), &longer_zero,
		  -EINVAL },
		{ "unknown table type", 0, 0, 0, 1, 1, 0,
		  IOMMU_HWPT_DATA_SELFTEST, 8, &bad_type, -EOPNOTSUPP },
		{ "plain", 0, 0, 0, 1, 1, 0, 0, 0, NULL, 0 },
		{ "zero tail", sizeof(struct hwpt_alloc_buf), 0, 0, 1, 1, 0, 0,
		  0, NULL, 0 },
		{ "data of the first version", 0, 0, 0, 1, 1, 0,
		  IOMMU_HWPT_DATA_SELFTEST, 4, &huge, 0 },
		{ "huge table", 0, 0, IOMMU_HWPT_ALLOC_NEST_PARENT, 1, 1, 0,
		  IOMMU_HWPT_DATA_SELFTEST, 8, &huge, 0 },
		{ "dirty tracking", 0, 0, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 1,
		  1, 0, 0, 0, NULL, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hwpt_alloc_buf b = { 0 };
		long rc;

		b.cmd = (struct iommu_hwpt_alloc){
			.size = cases[i].size ? cases[i].size : sizeof(b.cmd),
			.flags = cases[i].flags,
			/* Device 1 is idev, 2 the one without dirty tracking;
			 * pt 1 is the IOAS, 99 nothing, and a device id for
			 * "pt is a device". */
			.dev_id = cases[i].dev_id == 1 ? idev :
				  cases[i].dev_id == 2 ? nodirty_idev :
							 cases[i].dev_id,
			.pt_id = cases[i].pt_id == 1 ?
					 (strcmp(cases[i].what,
						 "pt is a device") ?
						  ioas :
						  idev) :
					 cases[i].pt_id,
			.__reserved = cases[i].reserved,
			.data_type = cases[i].data_type,
			.data_len = cases[i].data_len,
			.data_uptr = (uintptr_t)cases[i].data,
		};
		b.tail[3] = cases[i].tail;
		rc = io(IOMMU_HWPT_ALLOC, &b);
		if (rc != cases[i].err)
			fprintf(stderr, "hwpt_alloc case '%s': %ld\n",
				cases[i].what, rc);
		CHECK_EQ(rc, cases[i].err);
		if (rc) {
			/* A refused allocation leaves nothing behind. */
			CHECK_EQ(ioasid_ctx_object_count(ctx), objects);
			continue;
		}
		CHECK(b.cmd.out_hwpt_id != 0);
		CHECK_EQ(destroy(b.cmd.out_hwpt_id), 0);
	}
	/* The HWPT holds its IOAS. */
	{
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd), .dev_id = idev, .pt_id = ioas,
		};
		uint32_t ioas2 = ioas_alloc();

		cmd.pt_id = ioas2;
		CHECK_EQ(io(IOMMU_HWPT_ALLOC, &cmd), 0);
		CHECK_EQ(destroy(ioas2), -EBUSY);
		CHECK_EQ(destroy(cmd.out_hwpt_id), 0);
		CHECK_EQ(destroy(ioas2), 0);
	}
}

static void hw_info(void)
{
	uint32_t ioas, idev, nodirty, pasid_dev;
	struct {
		struct iommu_test_hw_info info;
		uint32_t beyond[2];
	} out;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, NULL, NULL, &idev), 0);
	CHECK_EQ(mock_domain(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, NULL, NULL,
			     &nodirty),
		 0);
	CHECK_EQ(mock_domain(ioas, MOCK_FLAGS_DEVICE_PASID, NULL, NULL,
			     &pasid_dev),
		 0);

	const struct {
		const char *what;
		uint32_t flags, dev, data_len, in_type;
		uint8_t reserved;
		int err;
		uint8_t max_pasid_log2;
		uint64_t caps;
	} cases[] = {
		{ "unknown flag", 1u << 4, 0, 8, 0, 0, -EOPNOTSUPP, 0, 0 },
		{ "reserved set", 0, 0, 8, 0, 1, -EOPNOTSUPP, 0, 0 },
		{ "no such device", 0, 99, 8, 0, 0, -ENOENT, 0, 0 },
		{ "unknown input type", IOMMU_HW_INFO_FLAG_INPUT_TYPE, 0, 8,
		  IOMMU_HW_INFO_TYPE_INTEL_VTD, 0, -EOPNOTSUPP, 0, 0 },
		{ "default type", 0, 0, 8, 0, 0, 0, 0,
		  IOMMU_HW_CAP_DIRTY_TRACKING },
		{ "asked for selftest", IOMMU_HW_INFO_FLAG_INPUT_TYPE, 0, 8,
		  IOMMU_HW_INFO_TYPE_SELFTEST, 0, 0, 0,
		  IOMMU_HW_CAP_DIRTY_TRACKING },
		{ "no room for data", 0, 0, 0, 0, 0, 0, 0,
		  IOMMU_HW_CAP_DIRTY_TRACKING },
		{ "more room than data", 0, 0, sizeof(out), 0, 0, 0, 0,
		  IOMMU_HW_CAP_DIRTY_TRACKING },
		{ "without dirty tracking", 0, 1, 8, 0, 0, 0, 0, 0 },
		{ "with PASIDs", 0, 2, 8, 0, 0, 0, MOCK_PASID_WIDTH,
		  IOMMU_HW_CAP_DIRTY_TRACKING },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t devs[] = { idev, nodirty, pasid_dev };
		struct iommu_hw_info cmd = {
			.size = sizeof(cmd),
			.flags = cases[i].flags,
			.dev_id = cases[i].dev == 99 ? 99 : devs[cases[i].dev],
			.data_len = cases[i].data_len,
			.data_uptr = (uintptr_t)&out,
			.in_data_type = cases[i].in_type,
		};
		long rc;

		cmd.__reserved[1] = cases[i].reserved;
		memset(&out, 0xff, sizeof(out));
		rc = io(IOMMU_GET_HW_INFO, &cmd);
		if (rc != cases[i].err)
			fprintf(stderr, "hw_info case '%s': %ld\n",
				cases[i].what, rc);
		CHECK_EQ(rc, cases[i].err);
		if (rc)
			continue;
		CHECK_EQ(cmd.data_len, sizeof(struct iommu_test_hw_info));
		CHECK_EQ(cmd.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
		CHECK_EQ(cmd.out_capabilities, cases[i].caps);
		CHECK_EQ(cmd.out_max_pasid_log2, cases[i].max_pasid_log2);
		if (cases[i].data_len) {
			CHECK_EQ(out.info.flags, 0);
			CHECK_EQ(out.info.test_reg,
				 IOMMU_HW_INFO_SELFTEST_REGVAL);
		} else {
			CHECK_EQ(out.info.test_reg, 0xffffffff);
		}
		/* Room past the driver's struct is zeroed. */
		CHECK_EQ(out.beyond[1],
			 cases[i].data_len == sizeof(out) ? 0 : 0xffffffff);
	}
}

/* Automatic domains: shared, replaced, and gone with the last device. */
static void auto_domains(void)
{
	uint32_t ioas, st1, st2, st3, hw1, hw2, hw3, idev1, pt;
	struct iommu_hwpt_alloc dirty = { .size = sizeof(dirty) };

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, &st1, &hw1, &idev1), 0);
	CHECK_EQ(mock_domain(ioas, 0, &st2, &hw2, NULL), 0);
	CHECK_EQ(hw1, hw2); /* the driver takes the same domain */
	CHECK_EQ(destroy(idev1), -EBUSY); /* the driver's, not DESTROY's */
	CHECK_EQ(destroy(hw1), -EBUSY);
	CHECK_EQ(destroy(ioas), -EBUSY);
	CHECK_EQ(destroy(st1), 0);
	CHECK_EQ(destroy(hw1), -EBUSY); /* st2 still uses it */

	/* A dirty-tracking HWPT a NO_DIRTY device cannot join. */
	dirty.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	dirty.pt_id = ioas;
	CHECK_EQ(mock_domain(ioas, 0, &st1, NULL, &idev1), 0);
	dirty.dev_id = idev1;
	CHECK_EQ(io(IOMMU_HWPT_ALLOC, &dirty), 0);
	CHECK_EQ(mock_domain(dirty.out_hwpt_id, MOCK_FLAGS_DEVICE_NO_DIRTY,
			     &st3, &hw3, NULL),
		 -EINVAL);
	CHECK_EQ(mock_domain(99, 0, NULL, NULL, NULL), -ENOENT);

	/* Replacing st2's automatic domain by the user's lets it go. */
	pt = dirty.out_hwpt_id;
	CHECK_EQ(replace(st2, &pt), 0);
	CHECK_EQ(pt, dirty.out_hwpt_id);
	/* st1 still holds it. */
	CHECK_EQ(destroy(hw1), -EBUSY);
	CHECK_EQ(destroy(st1), 0);
	CHECK_EQ(destroy(hw1), -ENOENT);
	/* Back to the IOAS: a new automatic domain. */
	pt = ioas;
	CHECK_EQ(replace(st2, &pt), 0);
	CHECK(pt != dirty.out_hwpt_id);
	CHECK_EQ(destroy(dirty.out_hwpt_id), 0);
	/* Replacing to itself changes nothing. */
	hw2 = pt;
	CHECK_EQ(replace(st2, &pt), 0);
	CHECK_EQ(pt, hw2);
	pt = ioas;
	CHECK_EQ(replace(st2, &pt), 0);
	CHECK_EQ(pt, hw2);
	pt = 99;
	CHECK_EQ(replace(st2, &pt), -ENOENT);
	CHECK_EQ(destroy(st2), 0);
	CHECK_EQ(destroy(hw2), -ENOENT);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	CHECK_EQ(destroy(ioas), 0);
}

/* Every domain maps every area; pages are pinned once while any does. */
static void fill_and_unfill(void)
{
	char *buf = anon(16 * PG), *out = anon(PG);
	uint32_t ioas, st1, st2, hw1, hw2;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(map_at(ioas, RW, buf, 8 * PG, BASE), 0);
	CHECK_EQ(check_refs(buf, 16 * PG, 0), 0); /* no domain: no pins */
	CHECK_EQ(map_at(ioas, RW, out, PG, 0), 0); /* outside the aperture */
	CHECK_EQ(mock_domain(ioas, 0, &st1, &hw1, NULL), -EADDRINUSE);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	{
		struct iommu_ioas_unmap cmd = {
			.size = sizeof(cmd), .ioas_id = ioas, .length = PG,
		};

		CHECK_EQ(io(IOMMU_IOAS_UNMAP, &cmd), 0);
	}
	CHECK_EQ(mock_domain(ioas, 0, &st1, &hw1, NULL), 0);
	CHECK_EQ(check_refs(buf, 8 * PG, 1), 0);
	CHECK_EQ(check_refs(buf + 8 * PG, 8 * PG, 0), 0);
	CHECK_EQ(check_map(hw1, BASE, buf, 8 * PG), 0);
	CHECK_EQ(check_map(hw1, BASE + PG, buf, PG), -EINVAL);
	CHECK_EQ(check_map(hw1, BASE + 1, buf + 1, PG), -EINVAL);
	/* Outside the aperture now, and at its edge. */
	CHECK_EQ(map_at(ioas, RW, out, PG, 0), -EINVAL);
	CHECK_EQ(map_at(ioas, RW, out, PG, (uint64_t)MOCK_APERTURE_LAST + 1),
		 -EINVAL);
	/* A new area is filled at once; a second domain pins nothing more. */
	CHECK_EQ(map_at(ioas, RW, buf + 8 * PG, 8 * PG, BASE + 8 * PG), 0);
	CHECK_EQ(check_refs(buf, 16 * PG, 1), 0);
	CHECK_EQ(mock_domain(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &st2, &hw2,
			     NULL),
		 0);
	CHECK_EQ(check_map(hw2, BASE, buf, 16 * PG), 0);
	CHECK_EQ(check_refs(buf, 16 * PG, 1), 0);
	/* 2 KiB granules: half a page is a mapping unit. */
	CHECK_EQ(check_map(hw2, BASE + 2048, buf + 2048, 2048), 0);
	/* Read-only memory: devices may read it, and no more. */
	{
		char *ro = anon(PG);

		CHECK_EQ(mprotect(ro, PG, PROT_READ), 0);
		CHECK_EQ(map_at(ioas, RW, ro, PG, BASE + 32 * PG), -EFAULT);
		CHECK_EQ(map_at(ioas, IOMMU_IOAS_MAP_READABLE, ro, PG,
				BASE + 32 * PG),
			 0);
		CHECK_EQ(check_refs(ro, PG, 1), 0);
		{
			struct iommu_ioas_unmap cmd = {
				.size = sizeof(cmd), .ioas_id = ioas,
				.iova = BASE + 32 * PG, .length = PG,
			};

			CHECK_EQ(io(IOMMU_IOAS_UNMAP, &cmd), 0);
		}
		munmap(ro, PG);
	}
	/* Unmapped: out of both domains, unpinned. */
	{
		struct iommu_ioas_unmap cmd = {
			.size = sizeof(cmd), .ioas_id = ioas,
			.iova = BASE + 8 * PG, .length = 8 * PG,
		};

		CHECK_EQ(io(IOMMU_IOAS_UNMAP, &cmd), 0);
	}
	CHECK_EQ(check_refs(buf + 8 * PG, 8 * PG, 0), 0);
	CHECK_EQ(check_map(hw1, BASE + 8 * PG, buf + 8 * PG, PG), -EINVAL);
	CHECK_EQ(destroy(st1), 0);
	CHECK_EQ(check_refs(buf, 8 * PG, 1), 0);
	CHECK_EQ(destroy(st2), 0);
	CHECK_EQ(check_refs(buf, 8 * PG, 0), 0);
	/* The aperture went with the last domain. */
	CHECK_EQ(map_at(ioas, RW, out, PG, 0), 0);
	/* Close with a domain attached: every pin is returned. */
	CHECK_EQ(mock_domain(ioas, 0, NULL, NULL, NULL), -EADDRINUSE);
	CHECK_EQ(map_at(ioas, RW, buf + 8 * PG, PG, BASE + 64 * PG), 0);
	fresh();
	CHECK_EQ(check_refs(buf, 16 * PG, 0), 0);
	munmap(buf, 16 * PG);
	munmap(out, PG);
}

/*
 * Memory aligned in the process and in IOVA is mapped with large leaves.
 * (Frames keep a private page's place in its 2 MiB block of addresses, a
 * shared page's in its 2 MiB block of the file, as huge pages would.)
 */
static void large_leaves(void)
{
	const uint64_t huge = 2 * MiB;
	char *raw = mmap(NULL, 3 * huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	struct ioasid_object *obj;
	struct pt_translation t;
	uint32_t ioas, hwpt;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, NULL, &hwpt, NULL), 0);
	CHECK_EQ(map_at(ioas, RW, buf, huge, BASE + 4 * MiB), 0);
	CHECK_EQ(map_at(ioas, RW, buf + PG, PG, BASE), 0);
	CHECK_EQ(check_map(hwpt, BASE + 4 * MiB, buf, huge), 0);
	CHECK_EQ(ioasid_obj_get(ctx, hwpt, IOASID_OBJ_HWPT_PAGING, &obj), 0);
	struct ioasid_hwpt *h = (struct ioasid_hwpt *)obj;

	ioasid_rcu_read_lock();
	CHECK_EQ(pt_iova_to_phys(&h->domain->pt, BASE + 5 * MiB + 3, &t), 0);
	CHECK_EQ(t.leaf_size, MOCK_HUGE_PAGE_SIZE); /* the mock's 1 MiB */
	CHECK_EQ(pt_iova_to_phys(&h->domain->pt, BASE + 100, &t), 0);
	CHECK_EQ(t.leaf_size, MOCK_PAGE_SIZE);
	ioasid_rcu_read_unlock();
	ioasid_obj_put(ctx, obj);
	fresh();
	munmap(raw, 3 * huge);
}

/*
 * With a domain, MAP pins: past RLIMIT_MEMLOCK (without CAP_IPC_LOCK) it
 * fails with ENOMEM, and the pinned total and the IOAS are as they were;
 * so does attaching a domain to an IOAS holding too much.
 */
static void map_over_rlimit(void)
{
	const uint64_t limit_bytes = 8 * MiB;
	char *mem = anon(limit_bytes + 16 * PG);
	uint64_t pinned, locked;
	struct rlimit saved, lim;
	uint32_t ioas, stdev;

	CHECK_EQ(getrlimit(RLIMIT_MEMLOCK, &saved), 0);
	if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < limit_bytes) {
		check_skip("the hard RLIMIT_MEMLOCK is below 8 MiB");
		return;
	}
	lim = saved;
	lim.rlim_cur = limit_bytes;
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &lim), 0);
	caller.cap_effective &= ~(1ull << CAP_IPC_LOCK);
	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, &stdev, NULL, NULL), 0);
	CHECK_EQ(map_at(ioas, RW, mem, limit_bytes - 4 * PG, BASE), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, limit_bytes / PG - 4);
	CHECK_EQ(map_at(ioas, RW, mem + limit_bytes - 4 * PG, 8 * PG,
			BASE + limit_bytes),
		 -ENOMEM);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, limit_bytes / PG - 4);
	CHECK_EQ(check_refs(mem + limit_bytes - 4 * PG, 8 * PG, 0), 0);
	/* Nothing was mapped: the range is free for what fits. */
	CHECK_EQ(map_at(ioas, RW, mem + limit_bytes - 4 * PG, 4 * PG,
			BASE + limit_bytes),
		 0);
	/* Without the domain nothing is pinned, so the IOAS may hold more;
	 * a domain then cannot be attached. */
	CHECK_EQ(destroy(stdev), 0);
	CHECK_EQ(map_at(ioas, RW, mem + limit_bytes, 16 * PG,
			BASE + 2 * limit_bytes),
		 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 0);
	CHECK_EQ(mock_domain(ioas, 0, NULL, NULL, NULL), -ENOMEM);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 0);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	caller.cap_effective |= 1ull << CAP_IPC_LOCK;
	setrlimit(RLIMIT_MEMLOCK, &saved);
	fresh();
	munmap(mem, limit_bytes + 16 * PG);
}

static long hwpt_alloc(uint32_t idev, uint32_t pt, uint32_t flags,
		       uint32_t type, const void *data, uint32_t len,
		       uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = idev,
		.pt_id = pt, .data_type = type, .data_len = len,
		.data_uptr = (uintptr_t)data,
	};
	long rc = io(IOMMU_HWPT_ALLOC, &cmd);

	*out = cmd.out_hwpt_id;
	return rc;
}

static long check_iotlb(uint32_t hwpt, uint32_t id, uint32_t value)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_IOTLB,
		.id = hwpt, .check_iotlb = { .id = id, .iotlb = value },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static long invalidate(uint32_t hwpt, uint32_t type, const void *entries,
		       uint32_t entry_len, uint32_t *num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .data_type = type,
		.data_uptr = (uintptr_t)entries, .entry_len = entry_len,
		.entry_num = *num,
	};
	long rc = io(IOMMU_HWPT_INVALIDATE, &cmd);

	*num = cmd.entry_num;
	return rc;
}

/* Nested HWPTs over a nest parent, their IOTLB and its invalidation. */
static void nested(void)
{
	const uint32_t def = IOMMU_TEST_IOTLB_DEFAULT;
	struct iommu_hwpt_selftest data = { .iotlb = def };
	struct iommu_hwpt_invalidate_selftest inv[2] = { 0 };
	uint32_t ioas, idev, stdev, parent, plain, n1, n2, out, num;
	char *mem = anon(PG), got[4];

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, &stdev, NULL, &idev), 0);
	CHECK_EQ(hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL,
			    0, &parent),
		 0);
	CHECK_EQ(hwpt_alloc(idev, ioas, 0, 0, NULL, 0, &plain), 0);

	const struct {
		const char *what;
		uint32_t pt, flags, type, len;
		const void *data;
		int err;
	} cases[] = {
		{ "not a nest parent", 1, 0, IOMMU_HWPT_DATA_SELFTEST, 8,
		  &data, -EINVAL },
		{ "no data", 0, 0, 0, 0, NULL, -EOPNOTSUPP },
		{ "a type the driver lacks", 0, 0, IOMMU_HWPT_DATA_SELFTEST + 1,
		  8, &data, -EOPNOTSUPP },
		{ "data too short", 0, 0, IOMMU_HWPT_DATA_SELFTEST, 3, &data,
		  -EINVAL },
		{ "data at NULL", 0, 0, IOMMU_HWPT_DATA_SELFTEST, 8, NULL,
		  -EFAULT },
		{ "a paging flag", 0, IOMMU_HWPT_ALLOC_NEST_PARENT,
		  IOMMU_HWPT_DATA_SELFTEST, 8, &data, -EOPNOTSUPP },
		{ "no such fault queue", 0, IOMMU_HWPT_FAULT_ID_VALID,
		  IOMMU_HWPT_DATA_SELFTEST, 8, &data, -ENOENT },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned int objs = ioasid_ctx_object_count(ctx);
		long rc = hwpt_alloc(idev, cases[i].pt ? plain : parent,
				     cases[i].flags, cases[i].type,
				     cases[i].data, cases[i].len, &out);

		if (rc != cases[i].err)
			fprintf(stderr, "nested case '%s': %ld\n",
				cases[i].what, rc);
		CHECK_EQ(rc, cases[i].err);
		CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
	}
	CHECK_EQ(hwpt_alloc(idev, parent, 0, IOMMU_HWPT_DATA_SELFTEST,
			    &data, sizeof(data), &n1),
		 0);
	CHECK_EQ(hwpt_alloc(idev, parent, IOMMU_HWPT_ALLOC_PASID,
			    IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &n2),
		 0);
	/* Nothing nests over a nested HWPT; the parent is held. */
	CHECK_EQ(hwpt_alloc(idev, n1, 0, IOMMU_HWPT_DATA_SELFTEST, &data,
			    sizeof(data), &out),
		 -EINVAL);
	CHECK_EQ(destroy(parent), -EBUSY);
	for (uint32_t id = 0; id <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; id++)
		CHECK_EQ(check_iotlb(n1, id, def), 0);
	CHECK_EQ(check_iotlb(n1, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1, def),
		 -EINVAL);
	CHECK_EQ(check_iotlb(n1, 0, def + 1), -EINVAL);
	CHECK_EQ(check_iotlb(parent, 0, def), -ENOENT);

	/* HWPT_INVALIDATE, case by case; num is how far each got. */
	const struct {
		const char *what;
		uint32_t hwpt, type, len, num, flags0, id0, flags1, id1;
		bool null;
		int err;
		uint32_t done;
	} inv_cases[] = {
		{ "on a paging HWPT", 1, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		  8, 1, 0, 0, 0, 0, false, -EINVAL, 0 },
		{ "no entries, right type", 0,
		  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 0, 0, 0, 0, 0, false,
		  0, 0 },
		{ "wrong type", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
		  8, 1, 0, 0, 0, 0, false, -EINVAL, 0 },
		{ "entry longer than the driver's", 0,
		  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 9, 1, 0, 0, 0, 0, false,
		  -EINVAL, 0 },
		{ "entry too short", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 1,
		  1, 0, 0, 0, 0, false, -EINVAL, 0 },
		{ "entry over a page", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		  4097, 1, 0, 0, 0, 0, false, -EINVAL, 0 },
		{ "too many entries", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		  8, (1u << 19) + 1, 0, 0, 0, 0, false, -EINVAL, 0 },
		{ "NULL entries", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 1,
		  0, 0, 0, 0, true, -EINVAL, 0 },
		{ "zero entry length", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		  0, 1, 0, 0, 0, 0, false, -EINVAL, 0 },
		{ "unknown flag", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 1,
		  0xffffffff, 0, 0, 0, false, -EOPNOTSUPP, 0 },
		{ "id past the last", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8,
		  1, 0, 4, 0, 0, false, -EINVAL, 0 },
		{ "second entry bad", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		  8, 2, 0, 0, 0xffffffff, 1, false, -EOPNOTSUPP, 1 },
		{ "two good entries", 0, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8,
		  2, 0, 1, 0, 2, false, 0, 2 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(inv_cases); i++) {
		long rc;

		inv[0] = (struct iommu_hwpt_invalidate_selftest){
			.flags = inv_cases[i].flags0, .iotlb_id = inv_cases[i].id0,
		};
		inv[1] = (struct iommu_hwpt_invalidate_selftest){
			.flags = inv_cases[i].flags1, .iotlb_id = inv_cases[i].id1,
		};
		num = inv_cases[i].num;
		rc = invalidate(inv_cases[i].hwpt ? parent : n1,
				inv_cases[i].type,
				inv_cases[i].null ? NULL : inv,
				inv_cases[i].len, &num);
		if (rc != inv_cases[i].err)
			fprintf(stderr, "invalidate case '%s': %ld\n",
				inv_cases[i].what, rc);
		CHECK_EQ(rc, inv_cases[i].err);
		CHECK_EQ(num, inv_cases[i].done);
	}
	/* "second entry bad" cleared entry 0, "two good" 1 and 2. */
	CHECK_EQ(check_iotlb(n1, 0, 0), 0);
	CHECK_EQ(check_iotlb(n1, 1, 0), 0);
	CHECK_EQ(check_iotlb(n1, 2, 0), 0);
	CHECK_EQ(check_iotlb(n1, 3, def), 0);
	inv[0] = (struct iommu_hwpt_invalidate_selftest){
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	num = 1;
	CHECK_EQ(invalidate(n2, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, inv, 8,
			    &num),
		 0);
	for (uint32_t id = 0; id <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; id++)
		CHECK_EQ(check_iotlb(n2, id, 0), 0);

	/* A device on a nested HWPT DMAs through the parent's table. */
	CHECK_EQ(map_at(ioas, RW, mem, PG, BASE), 0);
	memcpy(mem, "nest", 4);
	out = n1;
	CHECK_EQ(replace(stdev, &out), 0);
	CHECK_EQ(destroy(n1), -EBUSY);
	CHECK_EQ(ioasid_dma_read(ctx, idev, 0, BASE, got, 4), 0);
	CHECK(!memcmp(got, "nest", 4));
	out = parent;
	CHECK_EQ(replace(stdev, &out), 0);
	CHECK_EQ(destroy(n1), 0);
	CHECK_EQ(destroy(n2), 0);
	CHECK_EQ(destroy(stdev), 0);
	CHECK_EQ(destroy(parent), 0);
	CHECK_EQ(destroy(plain), 0);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	fresh();
	munmap(mem, PG);
}

static long dev_alloc(uint32_t model, uint32_t flags, uint32_t *id)
{
	struct ioasid_device_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .model = model,
	};
	long rc = io(IOASID_DEVICE_ALLOC, &cmd);

	*id = cmd.out_dev_id;
	return rc;
}

static long dev_attach(uint32_t dev, uint32_t flags, uint32_t pasid,
		       uint32_t *pt)
{
	struct ioasid_device_attach cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev,
		.pasid = pasid, .pt_id = *pt,
	};
	long rc = io(IOASID_DEVICE_ATTACH, &cmd);

	*pt = cmd.pt_id;
	return rc;
}

static long dev_detach(uint32_t dev, uint32_t flags, uint32_t pasid)
{
	struct ioasid_device_detach cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev,
		.pasid = pasid,
	};

	return io(IOASID_DEVICE_DETACH, &cmd);
}

static const struct pt_format *format_of(uint32_t hwpt)
{
	struct ioasid_object *obj;
	const struct pt_format *fmt;

	if (ioasid_obj_get(ctx, hwpt, IOASID_OBJ_HWPT_PAGING, &obj))
		return NULL;
	fmt = ((struct ioasid_hwpt *)obj)->domain->pt.fmt;
	ioasid_obj_put(ctx, obj);
	return fmt;
}

/*
 * Emulated devices of our extension, and the VT-d model: its formats,
 * its reserved interrupt window, its registers, and unplugging.
 */
static void vtd_devices(void)
{
	const uint64_t huge = 2 * MiB, DMA_AT = 64 * MiB; /* in both apertures */
	char *raw = mmap(NULL, 3 * huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	uint32_t ioas, vtd, vtd_pasid, mock, pt, hw, parent, dummy;
	struct iommu_iova_range ranges[4];
	struct iommu_hw_info_vtd info = { 0 };
	struct pt_translation t;
	char got[8];

	fresh();
	ioas = ioas_alloc();
	/* IOASID_DEVICE_ALLOC */
	CHECK_EQ(dev_alloc(0, 0, &dummy), -EOPNOTSUPP);
	CHECK_EQ(dev_alloc(3, 0, &dummy), -EOPNOTSUPP);
	CHECK_EQ(dev_alloc(IOASID_DEVICE_VTD, 1u << 3, &dummy), -EOPNOTSUPP);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	CHECK_EQ(dev_alloc(IOASID_DEVICE_VTD, 0, &vtd), 0);
	CHECK_EQ(dev_alloc(IOASID_DEVICE_VTD, IOASID_DEVICE_ALLOC_PASID,
			   &vtd_pasid),
		 0);
	CHECK_EQ(dev_alloc(IOASID_DEVICE_MOCK, 0, &mock), 0);

	/* Its registers, through the upstream ioctl. */
	{
		struct iommu_hw_info cmd = {
			.size = sizeof(cmd), .dev_id = vtd_pasid,
			.data_len = sizeof(info), .data_uptr = (uintptr_t)&info,
		};

		CHECK_EQ(io(IOMMU_GET_HW_INFO, &cmd), 0);
		CHECK_EQ(cmd.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
		CHECK_EQ(cmd.data_len, sizeof(info));
		CHECK_EQ(cmd.out_max_pasid_log2, 20);
		CHECK_EQ(cmd.out_capabilities, IOMMU_HW_CAP_DIRTY_TRACKING);
		CHECK(info.ecap_reg & (1ULL << 43)); /* scalable mode */
		CHECK(info.ecap_reg & (1ULL << 40)); /* PASIDs */
		CHECK_EQ((info.cap_reg >> 16) & 0x3f, 47); /* 48-bit IOVA */
		cmd.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
		cmd.in_data_type = IOMMU_HW_INFO_TYPE_SELFTEST;
		CHECK_EQ(io(IOMMU_GET_HW_INFO, &cmd), -EOPNOTSUPP);
	}

	/* Attach errnos. */
	pt = ioas;
	CHECK_EQ(dev_attach(vtd, IOASID_ATTACH_PASID, 0, &pt), -EINVAL);
	CHECK_EQ(dev_attach(vtd, 0, 5, &pt), -EINVAL);
	CHECK_EQ(dev_attach(vtd, IOASID_ATTACH_PASID, 5, &pt), -EINVAL);
	CHECK_EQ(dev_attach(vtd, IOASID_ATTACH_REPLACE, 0, &pt), -EINVAL);
	CHECK_EQ(dev_attach(999, 0, 0, &pt), -ENOENT);
	CHECK_EQ(dev_detach(vtd, 0, 0), 0); /* nothing there: nothing done */
	/* The interrupt window cannot hold a mapping while attached. */
	CHECK_EQ(map_at(ioas, RW, buf, PG, VTD_MSI), 0);
	CHECK_EQ(dev_attach(vtd, 0, 0, &pt), -EADDRINUSE);
	{
		struct iommu_ioas_unmap cmd = {
			.size = sizeof(cmd), .ioas_id = ioas, .iova = VTD_MSI,
			.length = PG,
		};

		CHECK_EQ(io(IOMMU_IOAS_UNMAP, &cmd), 0);
	}
	CHECK_EQ(dev_attach(vtd, 0, 0, &pt), 0);
	hw = pt;
	CHECK(hw != ioas);
	CHECK_EQ(dev_attach(vtd, 0, 0, &pt), -EBUSY);
	CHECK_EQ(map_at(ioas, RW, buf, PG, VTD_MSI + 0x1000), -EINVAL);
	{
		struct iommu_ioas_iova_ranges cmd = {
			.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 4,
			.allowed_iovas = (uintptr_t)ranges,
		};

		CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
		CHECK_EQ(cmd.num_iovas, 2);
		CHECK_EQ(ranges[0].start, 0);
		CHECK_EQ(ranges[0].last, VTD_MSI - 1);
		CHECK_EQ(ranges[1].start, VTD_MSI + MiB);
		CHECK_EQ(ranges[1].last, (1ULL << 48) - 1);
	}
	/* The driver chose the first level for a plain domain, the second
	 * for a nest parent; a mock device takes neither. */
	CHECK(format_of(hw) == &pt_fmt_vtd_fl);
	CHECK_EQ(hwpt_alloc(vtd, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0,
			    &parent),
		 0);
	CHECK(format_of(parent) == &pt_fmt_vtd_sl);
	CHECK_EQ(hwpt_alloc(vtd, ioas, 0, IOMMU_HWPT_DATA_VTD_S1, &info, 8,
			    &dummy),
		 -EOPNOTSUPP);
	pt = parent;
	CHECK_EQ(dev_attach(mock, 0, 0, &pt), -EINVAL);
	pt = ioas;
	CHECK_EQ(dev_attach(mock, 0, 0, &pt), 0); /* a mock domain of its own */
	CHECK(pt != hw);

	/* DMA through the VT-d tables, with 2 MiB leaves where aligned. */
	CHECK_EQ(map_at(ioas, RW, buf, huge, DMA_AT), 0);
	memcpy(buf + huge - 8, "vt-d dma", 8);
	CHECK_EQ(ioasid_dma_read(ctx, vtd, 0, DMA_AT + huge - 8, got, 8), 0);
	CHECK(!memcmp(got, "vt-d dma", 8));
	{
		struct ioasid_object *obj;

		CHECK_EQ(ioasid_obj_get(ctx, hw, IOASID_OBJ_HWPT_PAGING, &obj),
			 0);
		ioasid_rcu_read_lock();
		CHECK_EQ(pt_iova_to_phys(
				 &((struct ioasid_hwpt *)obj)->domain->pt,
				 DMA_AT + 5, &t),
			 0);
		ioasid_rcu_read_unlock();
		CHECK_EQ(t.leaf_size, huge);
		ioasid_obj_put(ctx, obj);
	}
	/* PASIDs, on the device that has them. */
	pt = ioas;
	CHECK_EQ(dev_attach(vtd, IOASID_ATTACH_PASID, 7, &pt), -EINVAL);
	/* Automatic domains are made without IOMMU_HWPT_ALLOC_PASID, as
	 * upstream's: a PASID needs a HWPT made for PASIDs. */
	pt = ioas;
	CHECK_EQ(dev_attach(vtd_pasid, IOASID_ATTACH_PASID, 7, &pt), -EINVAL);
	CHECK_EQ(hwpt_alloc(vtd_pasid, ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL,
			    0, &pt),
		 0);
	CHECK_EQ(dev_attach(vtd_pasid, IOASID_ATTACH_PASID, 7, &pt), 0);
	CHECK_EQ(ioasid_dma_read(ctx, vtd_pasid, 7, DMA_AT + huge - 8, got, 8),
		 0);
	CHECK_EQ(ioasid_dma_read(ctx, vtd_pasid, 0, DMA_AT + huge - 8, got, 8),
		 -ENXIO);
	CHECK_EQ(dev_detach(vtd_pasid, IOASID_ATTACH_PASID, 7), 0);
	CHECK_EQ(ioasid_dma_read(ctx, vtd_pasid, 7, DMA_AT + huge - 8, got, 8),
		 -ENXIO);
	CHECK_EQ(destroy(pt), 0);

	/* Unplugged while attached: detached, its automatic domain gone,
	 * its window free again (once the mock's aperture is gone too). */
	CHECK_EQ(destroy(mock), 0);
	CHECK_EQ(destroy(vtd), 0);
	CHECK_EQ(destroy(hw), -ENOENT);
	CHECK_EQ(map_at(ioas, RW, buf, PG, VTD_MSI), 0);
	CHECK_EQ(destroy(parent), 0);
	CHECK_EQ(destroy(vtd_pasid), 0);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	fresh();
	munmap(raw, 3 * huge);
}

static long viommu_alloc(uint32_t idev, uint32_t hwpt, uint32_t flags,
			 uint32_t type, const void *data, uint32_t len,
			 uint32_t *out)
{
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .type = type,
		.dev_id = idev, .hwpt_id = hwpt, .data_len = len,
		.data_uptr = (uintptr_t)data,
	};
	long rc = io(IOMMU_VIOMMU_ALLOC, &cmd);

	*out = cmd.out_viommu_id;
	return rc;
}

/* vIOMMUs over nest parents, and nested HWPTs made through one. */
static void viommus(void)
{
	const uint32_t st = IOMMU_VIOMMU_TYPE_SELFTEST;
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t ioas, idev, stdev, vtd, parent, plain, vi, nested, out, pt;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, &stdev, NULL, &idev), 0);
	CHECK_EQ(dev_alloc(IOASID_DEVICE_VTD, 0, &vtd), 0);
	CHECK_EQ(hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL,
			    0, &parent),
		 0);
	CHECK_EQ(hwpt_alloc(idev, ioas, 0, 0, NULL, 0, &plain), 0);

	const struct {
		const char *what;
		uint32_t dev, hwpt, flags, type, len;
		int err;
	} cases[] = {
		{ "a flag", 0, 0, 1, st, 0, -EOPNOTSUPP },
		{ "the default type", 0, 0, 0, IOMMU_VIOMMU_TYPE_DEFAULT, 0,
		  -EOPNOTSUPP },
		{ "a type the driver lacks", 0, 0, 0, 1, 0, -EOPNOTSUPP },
		{ "no such device", 99, 0, 0, st, 0, -ENOENT },
		{ "a driver without vIOMMUs", 1, 0, 0, st, 0, -EOPNOTSUPP },
		{ "not a paging HWPT", 0, 99, 0, st, 0, -ENOENT },
		{ "not a nest parent", 0, 1, 0, st, 0, -EINVAL },
		{ "driver data too short", 0, 0, 0, st, 4, -EINVAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned int objs = ioasid_ctx_object_count(ctx);
		uint32_t dev = cases[i].dev == 99 ? 99 : cases[i].dev ? vtd : idev;
		uint32_t hw = cases[i].hwpt == 99 ? ioas :
			      cases[i].hwpt ? plain : parent;
		long rc = viommu_alloc(dev, hw, cases[i].flags, cases[i].type,
				       &data, cases[i].len, &out);

		if (rc != cases[i].err)
			fprintf(stderr, "viommu case '%s': %ld\n",
				cases[i].what, rc);
		CHECK_EQ(rc, cases[i].err);
		CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
	}
	/* With driver data: the loopback through a region to mmap. */
	{
		struct iommu_viommu_selftest sd = { .in_data = 0xbeef };
		uint32_t vd;
		uint32_t word = 0;
		int mfd;

		CHECK_EQ(viommu_alloc(idev, parent, 0, st, &sd, sizeof(sd), &vd),
			 0);
		CHECK_EQ(sd.out_data, 0xbeef);
		CHECK_EQ(sd.out_mmap_length, 2 * PG);
		CHECK(sd.out_mmap_offset >= PG && sd.out_mmap_offset % PG == 0);
		const struct {
			uint64_t off, len;
			int prot, flags, err;
		} mm[] = {
			{ sd.out_mmap_offset + PG, 2 * PG, 3, MAP_SHARED, -ENXIO },
			{ sd.out_mmap_offset + 2 * PG, 2 * PG, 3, MAP_SHARED,
			  -ENXIO },
			{ sd.out_mmap_offset, PG, 3, MAP_SHARED, -ENXIO },
			{ sd.out_mmap_offset, 4 * PG, 3, MAP_SHARED, -ENXIO },
			{ sd.out_mmap_offset, 2 * PG - 1, 3, MAP_SHARED, -EINVAL },
			{ sd.out_mmap_offset, 2 * PG, 3, MAP_PRIVATE, -EINVAL },
			{ sd.out_mmap_offset, 2 * PG, 7, MAP_SHARED, -EPERM },
			{ 0, 2 * PG, 3, MAP_SHARED, -ENXIO },
		};
		for (size_t i = 0; i < ARRAY_SIZE(mm); i++)
			CHECK_EQ(ioasid_ctx_mmap(ctx, mm[i].off, mm[i].len,
						 mm[i].prot, mm[i].flags),
				 mm[i].err);
		mfd = ioasid_ctx_mmap(ctx, sd.out_mmap_offset, 2 * PG,
				      PROT_READ | PROT_WRITE, MAP_SHARED);
		CHECK(mfd >= 0);
		CHECK_EQ(pread(mfd, &word, sizeof(word), 0), sizeof(word));
		CHECK_EQ(word, 0xbeef);
		close(mfd);
		/* Mapped, the vIOMMU is held; unmapped, it can go. */
		CHECK_EQ(destroy(vd), -EBUSY);
		CHECK_EQ(ioasid_ctx_munmap(ctx, sd.out_mmap_offset), 0);
		CHECK_EQ(ioasid_ctx_munmap(ctx, sd.out_mmap_offset), -EINVAL);
		CHECK_EQ(destroy(vd), 0);
		CHECK_EQ(ioasid_ctx_mmap(ctx, sd.out_mmap_offset, 2 * PG,
					 PROT_READ, MAP_SHARED),
			 -ENXIO);
		/* A mapping live at the context's end lets go with it. */
		CHECK_EQ(viommu_alloc(idev, parent, 0, st, &sd, sizeof(sd), &vd),
			 0);
		mfd = ioasid_ctx_mmap(ctx, sd.out_mmap_offset, 2 * PG,
				      PROT_READ, MAP_SHARED);
		CHECK(mfd >= 0);
		close(mfd);
	}
	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(mock_domain(ioas, 0, &stdev, NULL, &idev), 0);
	CHECK_EQ(dev_alloc(IOASID_DEVICE_VTD, 0, &vtd), 0);
	CHECK_EQ(hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL,
			    0, &parent),
		 0);
	CHECK_EQ(hwpt_alloc(idev, ioas, 0, 0, NULL, 0, &plain), 0);
	CHECK_EQ(viommu_alloc(idev, parent, 0, st, NULL, 0, &vi), 0);
	CHECK_EQ(destroy(parent), -EBUSY);
	CHECK_EQ(hwpt_alloc(vtd, vi, 0, IOMMU_HWPT_DATA_SELFTEST, &data,
			    sizeof(data), &out),
		 -EINVAL); /* another IOMMU's device */
	CHECK_EQ(hwpt_alloc(idev, vi, 0, 0, NULL, 0, &out), -EOPNOTSUPP);
	CHECK_EQ(hwpt_alloc(idev, vi, IOMMU_HWPT_ALLOC_PASID,
			    IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data),
			    &nested),
		 0);
	CHECK_EQ(destroy(vi), -EBUSY);
	/* Its devices would be the vIOMMU's virtual ones: none exist. */
	pt = nested;
	CHECK_EQ(replace(stdev, &pt), -ENOENT);
	CHECK_EQ(destroy(nested), 0);
	CHECK_EQ(destroy(vi), 0);
	CHECK_EQ(destroy(parent), 0);
	CHECK_EQ(destroy(plain), 0);
	CHECK_EQ(destroy(vtd), 0);
	fresh();
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	RUN(hwpt_alloc_errnos);
	RUN(hw_info);
	RUN(auto_domains);
	RUN(fill_and_unfill);
	RUN(large_leaves);
	RUN(map_over_rlimit);
	RUN(nested);
	RUN(vtd_devices);
	RUN(viommus);
	ioasid_ctx_put(ctx);
	ioasid_synchronize_rcu();
	return check_finish("device");
}
