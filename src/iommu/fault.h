/* SPDX-License-Identifier: MIT */
/*
 * Fault queues (IOMMU_FAULT_QUEUE_ALLOC): I/O page faults of devices
 * attached to a HWPT made with the queue, read by userspace from the
 * queue's file and answered by writing responses to it.
 *
 * A fault group (the requests of one page request group) is delivered
 * whole.  On delivery it gets a cookie, the lowest number from 1 not in
 * use, and waits for its response.  A device that detaches or moves to
 * another HWPT has its groups answered INVALID: they leave the queue.
 */
#ifndef IOASID_IOMMU_FAULT_H
#define IOASID_IOMMU_FAULT_H

#include <pthread.h>
#include <stdint.h>

#include "core/object.h"

struct ioasid_ctx;
struct ioasid_device;
struct ioasid_file;
struct fault_group;

/* Lock order: a device's lock, then lock. */
struct ioasid_fault {
	struct ioasid_object obj;
	pthread_mutex_t lock;
	struct fault_group *deliver, **deliver_tail; /* not yet read */
	struct fault_group *waiting; /* read, awaiting a response */
	struct ioasid_file *file;    /* told of new faults; NULL once closed */
};

/* Look up a FAULT object and hold it short-term. */
int ioasid_fault_get(struct ioasid_ctx *ctx, uint32_t id,
		     struct ioasid_fault **out);

/*
 * A page request of dev at pasid (IOASID_NO_PASID: none) for addr, with
 * IOMMU_PGFAULT_PERM_* perm, as the last of its group grpid: queued for
 * userspace.  -ENOMEM loses it, as hardware would drop it.
 */
int ioasid_fault_report(struct ioasid_fault *fault, struct ioasid_device *dev,
			uint32_t pasid, uint32_t grpid, uint32_t perm,
			uint64_t addr);

/* dev stopped using the HWPT at pasid: its faults there are answered. */
void ioasid_fault_auto_respond(struct ioasid_fault *fault,
			       struct ioasid_device *dev, uint32_t pasid);

#endif
