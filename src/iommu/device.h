/* SPDX-License-Identifier: MIT */
/*
 * Devices bound to a context: what attaches to an IOAS or a HWPT, whole
 * (no PASID) or per PASID.  A device object belongs to the driver that
 * bound it (IOMMU_DESTROY answers EBUSY) until that driver unbinds it.
 */
#ifndef IOASID_IOMMU_DEVICE_H
#define IOASID_IOMMU_DEVICE_H

#include <pthread.h>
#include <stdint.h>

#include "core/object.h"

struct ioasid_ctx;
struct ioasid_hwpt;
struct ioasid_iommu_ops;

#define IOASID_NO_PASID 0u

/* What one PASID (or the whole device) is attached to. */
struct ioasid_attach {
	uint32_t pasid;
	struct ioasid_hwpt *hwpt; /* holds a users reference */
	struct ioasid_attach *next;
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
	pthread_mutex_t lock;
	struct ioasid_attach *attaches;
};

/* Bind a device of driver ops to ctx: published, with an id. */
int ioasid_device_bind(struct ioasid_ctx *ctx,
		       const struct ioasid_iommu_ops *ops, void *drv,
		       uint32_t max_pasid_log2, struct ioasid_device **out);
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

/* The HWPT attached at pasid, or NULL; under dev->lock. */
struct ioasid_hwpt *ioasid_device_attached_locked(struct ioasid_device *dev,
						  uint32_t pasid);

#endif
