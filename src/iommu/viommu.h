/* SPDX-License-Identifier: MIT */
/*
 * vIOMMUs: the slice of an IOMMU a VMM presents to its guest, over a
 * nest-parent HWPT (stage 2).  Nested HWPTs may be made through one.
 * A driver may give it a region userspace mmaps (core/mmap.h).
 *
 * On a vIOMMU live the guest's view of devices and events:
 *   vDEVICEs (vdevice.c): a device under the ID the guest knows it by
 *     (virt_id), at most one per device and per ID.  A device that goes
 *     takes its vDEVICE with it and leaves a tombstone for its id.
 *   vEVENTQs (veventq.c): one per event type, read through a file.
 *   HW queues (hw_queue.c): guest memory a driver's hardware reads.
 */
#ifndef IOASID_IOMMU_VIOMMU_H
#define IOASID_IOMMU_VIOMMU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/object.h"

struct ioasid_ctx;
struct ioasid_device;
struct ioasid_hwpt;
struct ioasid_iommu_ops;
struct ioasid_veventq;

struct ioasid_vdevice {
	struct ioasid_object obj;
	struct ioasid_viommu *viommu; /* held by users */
	/* Not held: a device ends its vDEVICE before it goes itself. */
	struct ioasid_device *dev;
	uint64_t virt_id;
	struct ioasid_vdevice *next; /* on viommu->vdevs */
};

/* Lock order: a device's lock, then lock, which guards the lists. */
struct ioasid_viommu {
	struct ioasid_object obj;
	struct ioasid_ctx *ctx;
	struct ioasid_hwpt *hwpt; /* the nest parent, held by users */
	const struct ioasid_iommu_ops *iommu;
	uint32_t type;
	void *priv;               /* the driver's, once its init succeeded */
	bool inited;
	pthread_mutex_t lock;
	struct ioasid_vdevice *vdevs;
	struct ioasid_veventq *veventqs;
};

/* The device known on v as virt_id, or NULL.  Under v->lock. */
struct ioasid_device *ioasid_viommu_find_dev_locked(struct ioasid_viommu *v,
						    uint64_t virt_id);

/*
 * The ID dev is known by on v: -ENOENT when it has no vDEVICE there.
 * Under dev's lock.
 */
int ioasid_viommu_vdev_id(struct ioasid_viommu *v, struct ioasid_device *dev,
			  uint64_t *virt_id);

/* dev is going: its vDEVICE goes first, its id left a tombstone. */
void ioasid_vdevice_remove(struct ioasid_device *dev);

/*
 * An event for the guest, of a vEVENTQ type, len bytes at data: queued
 * on v's queue of that type (-EOPNOTSUPP without one).  A full queue
 * records that events were lost instead (-ENOMEM when even that
 * failed).
 */
int ioasid_viommu_report_event(struct ioasid_viommu *v, uint32_t type,
			       const void *data, size_t len);

#endif
