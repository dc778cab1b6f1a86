/* SPDX-License-Identifier: MIT */
/*
 * vIOMMUs: the slice of an IOMMU a VMM presents to its guest, over a
 * nest-parent HWPT (stage 2).  Nested HWPTs may be made through one.
 * A driver may give it a region userspace mmaps (core/mmap.h).  Virtual
 * devices, event queues and hardware queues on it are still to come.
 */
#ifndef IOASID_IOMMU_VIOMMU_H
#define IOASID_IOMMU_VIOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include "core/object.h"

struct ioasid_ctx;
struct ioasid_hwpt;
struct ioasid_iommu_ops;

struct ioasid_viommu {
	struct ioasid_object obj;
	struct ioasid_ctx *ctx;
	struct ioasid_hwpt *hwpt; /* the nest parent, held by users */
	const struct ioasid_iommu_ops *iommu;
	uint32_t type;
	void *priv;               /* the driver's, once its init succeeded */
	bool inited;
};

#endif
