/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "driver.h"
#include "hw_queue.h"
#include "hwpt.h"
#include "ioasid/uapi/iommufd.h"
#include "iopt/ioas.h"
#include "viommu.h"

/* The pages the queue's bytes are in. */
static void pin_range(const struct ioasid_hw_queue *q, uint64_t *first,
		      uint64_t *last)
{
	*first = q->base_iova & ~(uint64_t)(IOASID_PAGE_SIZE - 1);
	*last = ((q->base_iova + q->length - 1) |
		 (IOASID_PAGE_SIZE - 1));
}

static struct io_pagetable *queue_iopt(const struct ioasid_hw_queue *q)
{
	return &q->viommu->hwpt->ioas->iopt;
}

/* Also the undo of an allocation that failed half way. */
static void hw_queue_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_hw_queue *q = container_of(obj, struct ioasid_hw_queue,
						 obj);
	uint64_t first, last;

	if (q->priv)
		q->viommu->iommu->hw_queue_destroy(q);
	if (q->pinned) {
		pin_range(q, &first, &last);
		iopt_lock_unpin(queue_iopt(q), first, last);
	}
	if (q->viommu)
		ioasid_obj_users_dec(&q->viommu->obj);
	free(q);
}

static const struct ioasid_obj_ops ioasid_hw_queue_obj_ops = {
	.name = "hw_queue",
	.destroy = hw_queue_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_HW_QUEUE, ioasid_hw_queue_obj_ops)

#define HW_QUEUE_MAX_PAGES ((4u << 20) / sizeof(uint64_t))

/*
 * Pin the queue's pages and find where the queue starts in physical
 * memory: -EFAULT when the pages are not one run of frames.
 */
static int pin_phys(struct ioasid_hw_queue *q, uint64_t *base_pa)
{
	uint64_t first, last, npages, *pfns;
	int rc;

	pin_range(q, &first, &last);
	npages = (last - first) / IOASID_PAGE_SIZE + 1;
	/* The kernel's array of pages is one kmalloc, at most 4 MiB. */
	if (npages > HW_QUEUE_MAX_PAGES)
		return -ENOMEM;
	pfns = calloc(npages, sizeof(*pfns));
	if (!pfns)
		return -ENOMEM;
	rc = iopt_lock_pin(queue_iopt(q), first, last, pfns);
	if (rc)
		goto out_free;
	for (uint64_t i = 1; i < npages; i++) {
		if (pfns[i] != pfns[i - 1] + 1) {
			iopt_lock_unpin(queue_iopt(q), first, last);
			rc = -EFAULT;
			goto out_free;
		}
	}
	q->pinned = true;
	*base_pa = (pfns[0] << IOASID_PAGE_SHIFT) + (q->base_iova - first);
out_free:
	free(pfns);
	return rc;
}

long ioasid_hw_queue_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_hw_queue_alloc *cmd = u->cmd;
	struct ioasid_hw_queue *q;
	struct ioasid_object *obj;
	struct ioasid_viommu *v;
	uint64_t last, base_pa;
	int rc;

	if (cmd->flags || cmd->type == IOMMU_HW_QUEUE_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->length)
		return -EINVAL;
	if (add_overflows_u64(cmd->nesting_parent_iova, cmd->length - 1,
			      &last))
		return -EOVERFLOW;
	rc = ioasid_obj_get(u->ctx, cmd->viommu_id, IOASID_OBJ_VIOMMU, &obj);
	if (rc)
		return rc;
	v = container_of(obj, struct ioasid_viommu, obj);
	if (!v->iommu->hw_queue_supported ||
	    !v->iommu->hw_queue_supported(v, cmd->type)) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	rc = ioasid_obj_new(u->ctx, IOASID_OBJ_HW_QUEUE, &q);
	if (rc)
		goto out_put;
	/* Published by the dispatcher, or aborted: the destroy undoes
	 * whatever of the below was done. */
	u->new_obj = &q->obj;
	if (!ioasid_obj_users_tryinc(&v->obj)) {
		rc = -ENOENT;
		goto out_put;
	}
	q->viommu = v;
	q->type = cmd->type;
	q->base_iova = cmd->nesting_parent_iova;
	q->length = cmd->length;
	rc = pin_phys(q, &base_pa);
	if (rc)
		goto out_put;
	rc = v->iommu->hw_queue_init(q, cmd->index, base_pa);
	if (rc)
		goto out_put;
	cmd->out_hw_queue_id = q->obj.id;
	rc = ucmd_respond(u, sizeof(*cmd));
out_put:
	ioasid_obj_put(u->ctx, obj);
	return rc;
}
