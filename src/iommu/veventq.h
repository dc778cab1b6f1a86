/* SPDX-License-Identifier: MIT */
/*
 * vEVENTQs (IOMMU_VEVENTQ_ALLOC): events a vIOMMU reports for its guest
 * (one queue per event type), read by userspace from the queue's file as
 * a header (flags, sequence) and the event's bytes.
 *
 * Each event takes the next sequence number, counting modulo 2^31.  A
 * queue holding `depth` events takes no more: what comes instead is a
 * lost-events header (LOST_EVENTS, no bytes), one at most, always last,
 * taking a sequence number of its own each time it moves there.
 */
#ifndef IOASID_IOMMU_VEVENTQ_H
#define IOASID_IOMMU_VEVENTQ_H

#include <pthread.h>
#include <stdint.h>
#include <urcu/list.h>

#include "core/object.h"
#include "ioasid/uapi/iommufd.h"

struct ioasid_file;
struct ioasid_viommu;

struct vevent {
	struct cds_list_head node;
	struct iommufd_vevent_header hdr;
	uint32_t len;
	unsigned char data[];
};

/* Lock order: the vIOMMU's lock, then lock. */
struct ioasid_veventq {
	struct ioasid_object obj;
	struct ioasid_viommu *viommu; /* held by users */
	uint32_t type, depth;
	struct ioasid_veventq *next;  /* on viommu->veventqs, under its lock */
	pthread_mutex_t lock;
	struct cds_list_head deliver;
	uint32_t num_events, sequence;
	struct vevent lost; /* the lost-events header, when queued */
	struct ioasid_file *file; /* told of new events; NULL once closed */
};

#endif
