/* SPDX-License-Identifier: MIT */
/*
 * Devices bound to a context: what attaches to an IOAS or a HWPT, whole
 * (no PASID) or per PASID.  A device object belongs to the driver that
 * bound it (IOMMU_DESTROY answers EBUSY) until that driver unbinds it.
 */
#ifndef IOASID_IOMMU_DEVICE_H
#define IOASID_IOMMU_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include "core/object.h"
#include "driver.h"
#include "pt/iotlb.h"

struct ioasid_ctx;
struct ioasid_hwpt;
struct ioasid_iommu_ops;

#define IOASID_NO_PASID 0u

struct ioasid_domain;

/* What one PASID (or the whole device) is attached to. */
struct ioasid_attach {
	uint32_t pasid;
	struct ioasid_hwpt *hwpt; /* holds a users reference */
	struct ioasid_attach *next;
	/* For DMA, found without locks (dma.c): */
	struct ioasid_device *dev;
	struct ioasid_domain *_Atomic domain;
	struct cds_lfht_node node; /* PASIDs only */
};

/*
 * Lock order: lock, then an IOAS's mutex, then the IOAS's own locks.
 * lock guards the attachments.
 */
struct ioasid_device {
	struct ioasid_object obj;
	struct ioasid_ctx *ctx;
	const struct ioasid_iommu_ops *ops;
	void *drv; /* the driver's */
	uint32_t max_pasid_log2; /* 0: no PASIDs */
	bool owned;              /* by the code that bound it */
	pthread_mutex_t lock;
	struct ioasid_attach *attaches;
	struct ioasid_vdevice *vdev; /* its vDEVICE, if any; under lock */
	/* DMA: the whole device's domain (PASIDs are in dma.c's table),
	 * and the translations it has cached. */
	struct ioasid_domain *_Atomic whole_domain;
	struct iotlb iotlb;
};

/* The DMA handle (ioasid_dev_dma) of a device, for the code that owns it. */
struct ioasid_dev *ioasid_device_dma_handle(struct ioasid_device *dev);

/* Detach everything and destroy the object (ops->release_device too). */
void ioasid_device_unbind(struct ioasid_device *dev);

int ioasid_device_get(struct ioasid_ctx *ctx, uint32_t id,
		      struct ioasid_device **out);
static inline void ioasid_device_put(struct ioasid_ctx *ctx,
				     struct ioasid_device *dev)
{
	ioasid_obj_put(ctx, &dev->obj);
}

/*
 * Attach (the whole device with IOASID_NO_PASID) to *pt_id, a HWPT or an
 * IOAS (whose automatic HWPT is reused when the driver accepts it, made
 * otherwise); *pt_id gets the HWPT's id.  -EBUSY when already attached,
 * -EINVAL when the driver refuses, -ENOENT for no such object.
 */
int ioasid_device_attach(struct ioasid_device *dev, uint32_t pasid,
			 uint32_t *pt_id);
/* The same, in place of the current attachment (-EINVAL without one). */
int ioasid_device_replace(struct ioasid_device *dev, uint32_t pasid,
			  uint32_t *pt_id);
void ioasid_device_detach(struct ioasid_device *dev, uint32_t pasid);

/*
 * DMA by the device at iova (the whole device with IOASID_NO_PASID),
 * through the domain attached there; `write` is the device writing
 * memory.  A DMA stops at the first byte it cannot do, like hardware:
 *   -ENXIO   nothing is attached at pasid (DMA is blocked);
 *   -ENOENT  no mapping at some byte of the range (an I/O page fault);
 *   -EPERM   the mapping does not allow the direction;
 *   -EFAULT  the memory behind the mapping cannot be reached.
 */
int ioasid_device_dma(struct ioasid_device *dev, uint32_t pasid,
		      uint64_t iova, void *buf, size_t len, bool write);

/* For benchmarks: the page table the whole device's DMA walks, or NULL. */
struct ioasid_dev;
struct pt;
struct pt *ioasid_dev_pt(struct ioasid_dev *handle);

/* For device.c: make an attachment's domain the one DMA sees, or none. */
int ioasid_dma_publish(struct ioasid_device *dev, struct ioasid_attach *a,
		       struct ioasid_domain *domain, bool is_new);
void ioasid_dma_unpublish(struct ioasid_device *dev, struct ioasid_attach *a);

/* The HWPT attached at pasid, or NULL; under dev->lock. */
struct ioasid_hwpt *ioasid_device_attached_locked(struct ioasid_device *dev,
						  uint32_t pasid);

#endif
