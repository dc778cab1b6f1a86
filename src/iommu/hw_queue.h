/* SPDX-License-Identifier: MIT */
/*
 * HW queues (IOMMU_HW_QUEUE_ALLOC): a queue in guest memory that the
 * vIOMMU's hardware reads by physical address (a command queue, say),
 * at nesting_parent_iova of the vIOMMU's stage 2.
 *
 * Hardware reading by physical address needs the memory to stay where
 * it is: the queue pins its pages in the nest parent's IOAS, which no
 * unmap can take away (EBUSY) until the queue is destroyed, and they
 * must be physically contiguous (EFAULT).  The driver checks the rest.
 */
#ifndef IOASID_IOMMU_HW_QUEUE_H
#define IOASID_IOMMU_HW_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/object.h"

struct ioasid_viommu;

struct ioasid_hw_queue {
	struct ioasid_object obj;
	struct ioasid_viommu *viommu; /* held by users */
	uint32_t type;
	uint64_t base_iova, length;
	bool pinned;           /* the pages of [base_iova, +length) */
	void *priv;            /* the driver's, once its init succeeded */
};

#endif
