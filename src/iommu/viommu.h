/* SPDX-License-Identifier: MIT */
/*
 * vIOMMUs: the slice of an IOMMU a VMM presents to its guest, over a
 * nest-parent HWPT (stage 2).  Nested HWPTs may be made through one.
 * Virtual devices, event queues and hardware queues on it are still to
 * come; so is the mmap of a driver's region (data from userspace is
 * refused for now, EOPNOTSUPP).
 */
#ifndef IOASID_IOMMU_VIOMMU_H
#define IOASID_IOMMU_VIOMMU_H

#include <stdint.h>

#include "core/object.h"

struct ioasid_ctx;
struct ioasid_hwpt;
struct ioasid_iommu_ops;

struct ioasid_viommu {
	struct ioasid_object obj;
	struct ioasid_hwpt *hwpt; /* the nest parent, held by users */
	const struct ioasid_iommu_ops *iommu;
	uint32_t type;
};

#endif
