/* SPDX-License-Identifier: MIT */
/*
 * What lives on a vIOMMU: vDEVICEs (IOMMU_VDEVICE_ALLOC, one per device
 * and per virtual ID, needed to attach through the vIOMMU, tombstoned
 * when their device goes).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ctx_harness.h"
#include "core/util.h"
#include "ioasid/uapi/ioasid.h"

/* One mock device on an IOAS, a nest parent, a vIOMMU over it and a
 * nested HWPT made through the vIOMMU. */
static uint32_t ioas, stdev, idev, parent, viommu, nested;

static long vdevice_alloc(uint32_t vi, uint32_t dev, uint64_t virt_id,
			  uint32_t *out)
{
	struct iommu_vdevice_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = vi, .dev_id = dev,
		.virt_id = virt_id,
	};
	long rc = io(IOMMU_VDEVICE_ALLOC, &cmd);

	if (out)
		*out = cmd.out_vdevice_id;
	return rc;
}

static long replace(uint32_t st, uint32_t pt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = st, .mock_domain_replace.pt_id = pt,
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static void mock_domain(uint32_t pt, uint32_t *st, uint32_t *dev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt,
	};

	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), 0);
	*st = cmd.mock_domain.out_stdev_id;
	*dev = cmd.mock_domain.out_idev_id;
}

static void setup(void)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };

	fresh();
	ioas = ioas_alloc();
	mock_domain(ioas, &stdev, &idev);
	{
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd), .dev_id = idev, .pt_id = ioas,
			.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		};

		CHECK_EQ(io(IOMMU_HWPT_ALLOC, &cmd), 0);
		parent = cmd.out_hwpt_id;
	}
	{
		struct iommu_viommu_alloc cmd = {
			.size = sizeof(cmd), .type = IOMMU_VIOMMU_TYPE_SELFTEST,
			.dev_id = idev, .hwpt_id = parent,
		};

		CHECK_EQ(io(IOMMU_VIOMMU_ALLOC, &cmd), 0);
		viommu = cmd.out_viommu_id;
	}
	{
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd), .dev_id = idev, .pt_id = viommu,
			.data_type = IOMMU_HWPT_DATA_SELFTEST,
			.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
		};

		CHECK_EQ(io(IOMMU_HWPT_ALLOC, &cmd), 0);
		nested = cmd.out_hwpt_id;
	}
}

static void vdevices(void)
{
	struct ioasid_device_alloc vtd = {
		.size = sizeof(vtd), .model = IOASID_DEVICE_VTD,
	};
	uint32_t vdev, other_st, other_dev, id;
	const struct {
		const char *what;
		bool bad_viommu, bad_dev, vtd_dev;
		uint64_t virt_id;
		long rc;
	} cases[] = {
		{ "no such vIOMMU", true, false, false, 1, -ENOENT },
		{ "no such device", false, true, false, 1, -ENOENT },
		{ "a device of another IOMMU", false, false, true, 1, -EINVAL },
	};

	setup();
	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &vtd), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_CASE(cases[i].what,
			   vdevice_alloc(cases[i].bad_viommu ? ioas : viommu,
					 cases[i].bad_dev ? 999 :
					 cases[i].vtd_dev ? vtd.out_dev_id :
							    idev,
					 cases[i].virt_id, NULL),
			   cases[i].rc);

	/* Through the vIOMMU only as a vDEVICE. */
	CHECK_EQ(replace(stdev, nested), -ENOENT);
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x99, &vdev), 0);
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x98, NULL), -EEXIST);
	mock_domain(ioas, &other_st, &other_dev);
	CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x99, NULL), -EEXIST);
	CHECK_EQ(replace(stdev, nested), 0);
	CHECK_EQ(destroy(viommu), -EBUSY); /* its vDEVICE and HWPT hold it */
	CHECK_EQ(replace(stdev, ioas), 0);

	/* Gone, its virtual ID is free again. */
	CHECK_EQ(destroy(vdev), 0);
	CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x99, &id), 0);
	CHECK_EQ(vdevice_alloc(viommu, idev, 0x88, &vdev), 0);

	/* A device that goes takes its vDEVICE, whose id stays dead. */
	CHECK_EQ(destroy(stdev), 0);
	CHECK_EQ(destroy(vdev), -ENOENT);
	CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x88, NULL), -EEXIST);
	{
		uint32_t fresh_id;

		CHECK_EQ(destroy(id), 0);
		CHECK_EQ(vdevice_alloc(viommu, other_dev, 0x88, &fresh_id), 0);
		CHECK(fresh_id != vdev);
	}
	/* A plugged-in device unplugged with one: the same. */
	CHECK_EQ(destroy(vtd.out_dev_id), 0);
	ioasid_ctx_put(ctx);
	ctx = NULL;
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	vdevices();
	return check_finish("viommu");
}
