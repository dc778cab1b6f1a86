/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking of paging HWPTs: turning it on and off, and harvesting
 * the dirty bits of a range of IOVA into a user bitmap, one bit per
 * page_size of IOVA (bit b in byte b / 8 of `data`, as the kernel's
 * little-endian unsigned longs lay it out).
 *
 * Both run under the IOAS's iova_lock (read): areas cannot come or go
 * meanwhile, so the leaves met are those of the range's areas.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "domain.h"
#include "hwpt.h"
#include "ioasid/uapi/iommufd.h"
#include "iopt/ioas.h"

static int paging_hwpt_get(struct ioasid_ucmd *u, uint32_t id,
			   struct ioasid_hwpt **out)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(u->ctx, id, IOASID_OBJ_HWPT_PAGING, &obj);
	if (!rc)
		*out = container_of(obj, struct ioasid_hwpt, obj);
	return rc;
}

long ioasid_hwpt_set_dirty_tracking_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = u->cmd;
	bool enable = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	struct ioasid_domain *dom;
	struct io_pagetable *iopt;
	struct ioasid_hwpt *hwpt;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	rc = paging_hwpt_get(u, cmd->hwpt_id, &hwpt);
	if (rc)
		return rc;
	dom = hwpt->domain;
	iopt = &hwpt->ioas->iopt;
	if (!dom->ops->set_dirty_tracking) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	pthread_rwlock_rdlock(&iopt->iova_lock);
	/* Tracking starts from a clean slate: what was written before it
	 * was on is not reported. */
	if (enable)
		rc = ioasid_domain_read_and_clear_dirty(dom, false, NULL);
	if (!rc)
		rc = dom->ops->set_dirty_tracking(dom, enable);
	pthread_rwlock_unlock(&iopt->iova_lock);
out_put:
	ioasid_obj_put(u->ctx, &hwpt->obj);
	return rc;
}

/*
 * The user's bitmap is read, ORed into and written back a chunk at a
 * time; chunks start on byte boundaries of it, so no byte is in two.
 */
#define CHUNK_BYTES (64u << 10)
#define CHUNK_BITS ((uint64_t)CHUNK_BYTES * 8)

/* The kernel's range rules: the IOAS's alignment, then page_size's. */
static int check_range(const struct io_pagetable *iopt,
		       const struct iommu_hwpt_get_dirty_bitmap *cmd,
		       uint64_t *last)
{
	uint64_t align = iopt->iova_alignment;

	if (add_overflows_u64(cmd->iova, cmd->length - 1, last))
		return -EOVERFLOW;
	if ((cmd->iova & (align - 1)) || ((*last + 1) & (align - 1)))
		return -EINVAL;
	if (!cmd->page_size)
		return -EINVAL;
	if ((cmd->iova & (cmd->page_size - 1)) ||
	    ((*last + 1) & (cmd->page_size - 1)))
		return -EINVAL;
	return 0;
}

static int harvest_range(struct ioasid_ucmd *u, struct ioasid_domain *dom,
			 const struct iommu_hwpt_get_dirty_bitmap *cmd,
			 uint64_t last)
{
	/* page_size's lowest bit, as the kernel's bitmap takes it. */
	unsigned int pgshift = (unsigned int)__builtin_ctzll(cmd->page_size);
	uint64_t nbits = ((last - cmd->iova) >> pgshift) + 1;
	bool keep = cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	struct pt_dirty_bitmap h = { .pgshift = pgshift };
	int rc = 0;

	h.bits = malloc(MIN(CHUNK_BYTES, (nbits + 7) / 8));
	if (!h.bits)
		return -ENOMEM;
	for (uint64_t done = 0; done < nbits && !rc;) {
		uint64_t n = MIN(CHUNK_BITS, nbits - done);
		uint64_t uptr = cmd->data + done / 8;
		size_t bytes = (size_t)((n + 7) / 8);

		h.iova = cmd->iova + (done << pgshift);
		/* n << pgshift is 0 only for a chunk of all 2^64 bytes. */
		if (add_overflows_u64(h.iova, (n << pgshift) - 1, &h.last) ||
		    h.last > last)
			h.last = last;
		/* A bitmap we cannot read and write fails before any dirty
		 * bit of this chunk is cleared: what was read is written
		 * back unchanged first, as the kernel pins it for writing. */
		rc = ucmd_read(u, uptr, h.bits, bytes);
		if (!rc)
			rc = ucmd_write(u, uptr, h.bits, bytes);
		if (rc)
			break;
		rc = ioasid_domain_read_and_clear_dirty(dom, keep, &h);
		if (!rc)
			rc = ucmd_write(u, uptr, h.bits, bytes);
		done += n;
	}
	free(h.bits);
	return rc;
}

long ioasid_hwpt_get_dirty_bitmap_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = u->cmd;
	struct io_pagetable *iopt;
	struct ioasid_hwpt *hwpt;
	uint64_t last;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	rc = paging_hwpt_get(u, cmd->hwpt_id, &hwpt);
	if (rc)
		return rc;
	iopt = &hwpt->ioas->iopt;
	pthread_rwlock_rdlock(&iopt->iova_lock);
	rc = check_range(iopt, cmd, &last);
	if (rc)
		goto out_unlock;
	if (!hwpt->domain->ops->set_dirty_tracking) {
		rc = -EOPNOTSUPP;
		goto out_unlock;
	}
	if (!cmd->length)
		goto out_unlock; /* iova 0: the kernel reports nothing */
	/* The kernel stops silently at a gap; here it is an error, found
	 * before any bit is read or cleared. */
	if (!iopt_covered_locked(iopt, cmd->iova, last)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = harvest_range(u, hwpt->domain, cmd, last);
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_lock);
	ioasid_obj_put(u->ctx, &hwpt->obj);
	return rc;
}
