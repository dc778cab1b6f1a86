/* SPDX-License-Identifier: MIT */
/*
 * The selftest's mock IOMMU and its devices, with upstream's semantics:
 * 2 KiB pages over the aperture [16 MiB, 2 GiB), a "huge" table type of
 * 4 KiB and 1 MiB pages, dirty tracking unless a device says it has none,
 * and 20-bit PASIDs on devices that ask for them.
 */
#ifndef IOASID_DRIVERS_MOCK_H
#define IOASID_DRIVERS_MOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "ioasid/uapi/iommufd_test.h"

struct ioasid_ctx;
struct ioasid_device;
struct ioasid_domain;
struct ioasid_viommu;

extern const struct ioasid_iommu_ops ioasid_mock_iommu_ops;

struct mock_dev {
	uint32_t flags; /* MOCK_FLAGS_DEVICE_* */
	uint32_t cache[MOCK_DEV_CACHE_NUM];
	bool pasid_1024_armed; /* the next attach of PASID 1024 fails */
	/* Attached through a vIOMMU: which, and the device's ID there as
	 * it was at attach (what its events carry).  Under the device's
	 * lock. */
	struct ioasid_viommu *viommu;
	uint64_t vdev_id;
};

/*
 * A mock device bound to ctx: -EINVAL for flags it does not know.  An
 * owned one (the selftest's) is unbound with ioasid_device_unbind, any
 * other goes with its object.
 */
int ioasid_mock_dev_create(struct ioasid_ctx *ctx, uint32_t flags, bool owned,
			   struct ioasid_device **out);

/* MD_CHECK_IOTLB: entry id of a mock nested domain's IOTLB is value. */
int ioasid_mock_check_iotlb(struct ioasid_domain *dom, uint32_t id,
			    uint32_t value);

#endif
