/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "device.h"
#include "domain.h"
#include "driver.h"
#include "fault.h"
#include "hwpt.h"
#include "ioasid/uapi/iommufd.h"
#include "iopt/ioas.h"
#include "viommu.h"

#define HWPT_PAGING_FLAGS                                             \
	(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | \
	 IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)

/* What every HWPT lets go of, whatever its kind. */
static void hwpt_release_common(struct ioasid_hwpt *hwpt)
{
	if (hwpt->fault)
		ioasid_obj_users_dec(&hwpt->fault->obj);
}

static void hwpt_paging_destroy(struct ioasid_ctx *ctx,
				struct ioasid_object *obj)
{
	struct ioasid_hwpt *hwpt = container_of(obj, struct ioasid_hwpt, obj);
	struct ioasid_ioas *ioas = hwpt->ioas;

	if (ioas) {
		struct ioasid_hwpt **link;

		pthread_mutex_lock(&ioas->hwpts_lock);
		for (link = &ioas->hwpts; *link; link = &(*link)->ioas_next) {
			if (*link == hwpt) {
				*link = hwpt->ioas_next;
				break;
			}
		}
		pthread_mutex_unlock(&ioas->hwpts_lock);
		if (hwpt->filled)
			iopt_table_remove_domain(&ioas->iopt, hwpt->domain);
		ioasid_obj_users_dec(&ioas->obj);
	}
	if (hwpt->domain)
		ioasid_domain_free(hwpt->domain);
	hwpt_release_common(hwpt);
	free(hwpt);
}

static const struct ioasid_obj_ops ioasid_hwpt_paging_obj_ops = {
	.name = "hwpt_paging",
	.destroy = hwpt_paging_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_HWPT_PAGING, ioasid_hwpt_paging_obj_ops)

static void hwpt_nested_destroy(struct ioasid_ctx *ctx,
				struct ioasid_object *obj)
{
	struct ioasid_hwpt *hwpt = container_of(obj, struct ioasid_hwpt, obj);

	if (hwpt->domain)
		ioasid_domain_free(hwpt->domain);
	if (hwpt->parent)
		ioasid_obj_users_dec(&hwpt->parent->obj);
	if (hwpt->viommu)
		ioasid_obj_users_dec(&hwpt->viommu->obj);
	hwpt_release_common(hwpt);
	free(hwpt);
}

static const struct ioasid_obj_ops ioasid_hwpt_nested_obj_ops = {
	.name = "hwpt_nested",
	.destroy = hwpt_nested_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_HWPT_NESTED, ioasid_hwpt_nested_obj_ops)

/*
 * A nested HWPT over parent, a paging HWPT made as a nest parent for
 * this driver: the stage 1 described by data, the driver's own.
 */
static int hwpt_nested_alloc(struct ioasid_ctx *ctx, struct ioasid_hwpt *parent,
			     struct ioasid_device *dev, uint32_t flags,
			     const struct ioasid_user_data *data,
			     struct ioasid_hwpt **out)
{
	struct ioasid_hwpt *hwpt;
	int rc;

	if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) ||
	    !data || !data->len || !dev->ops->domain_alloc_nested)
		return -EOPNOTSUPP;
	if (parent->auto_domain || !parent->nest_parent ||
	    parent->domain->iommu != dev->ops)
		return -EINVAL;
	rc = ioasid_obj_new(ctx, IOASID_OBJ_HWPT_NESTED, &hwpt);
	if (rc)
		return rc;
	hwpt->ctx = ctx;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	if (!ioasid_obj_users_tryinc(&parent->obj)) {
		rc = -ENOENT;
		goto out_abort;
	}
	hwpt->parent = parent;
	rc = dev->ops->domain_alloc_nested(dev, parent->domain, NULL,
					   flags & ~IOMMU_HWPT_FAULT_ID_VALID,
					   data, &hwpt->domain);
	if (rc)
		goto out_abort;
	*out = hwpt;
	return 0;

out_abort:
	ioasid_obj_abort(ctx, &hwpt->obj);
	return rc;
}

int ioasid_hwpt_paging_alloc(struct ioasid_ctx *ctx, struct ioasid_ioas *ioas,
			     struct ioasid_device *dev, uint32_t flags,
			     const struct ioasid_user_data *data,
			     bool auto_domain, struct ioasid_hwpt **out)
{
	struct ioasid_hwpt *hwpt;
	int rc;

	if (flags & ~HWPT_PAGING_FLAGS)
		return -EOPNOTSUPP;
	/* No faults for a stage 2 under nested ones. */
	if ((flags & IOMMU_HWPT_FAULT_ID_VALID) &&
	    (flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		return -EOPNOTSUPP;
	rc = ioasid_obj_new(ctx, IOASID_OBJ_HWPT_PAGING, &hwpt);
	if (rc)
		return rc;
	hwpt->ctx = ctx;
	hwpt->auto_domain = auto_domain;
	hwpt->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;

	rc = dev->ops->domain_alloc_paging(dev,
					   flags & ~IOMMU_HWPT_FAULT_ID_VALID,
					   data, &hwpt->domain);
	if (rc)
		goto out_abort;
	if (!ioasid_obj_users_tryinc(&ioas->obj)) {
		rc = -ENOENT;
		goto out_abort;
	}
	hwpt->ioas = ioas;
	rc = iopt_table_add_domain(&ioas->iopt, hwpt->domain);
	if (rc)
		goto out_abort;
	hwpt->filled = true;
	pthread_mutex_lock(&ioas->hwpts_lock);
	hwpt->ioas_next = ioas->hwpts;
	ioas->hwpts = hwpt;
	pthread_mutex_unlock(&ioas->hwpts_lock);
	*out = hwpt;
	return 0;

out_abort:
	ioasid_obj_abort(ctx, &hwpt->obj);
	return rc;
}

/* A nested HWPT made through a vIOMMU, over the vIOMMU's parent. */
static int hwpt_viommu_nested_alloc(struct ioasid_ctx *ctx,
				    struct ioasid_viommu *viommu,
				    struct ioasid_device *dev, uint32_t flags,
				    const struct ioasid_user_data *data,
				    struct ioasid_hwpt **out)
{
	struct ioasid_hwpt *hwpt;
	int rc;

	/* Only for devices behind the IOMMU the vIOMMU is a slice of. */
	if (viommu->iommu != dev->ops)
		return -EINVAL;
	if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) ||
	    !data || !data->len || !dev->ops->domain_alloc_nested)
		return -EOPNOTSUPP;
	rc = ioasid_obj_new(ctx, IOASID_OBJ_HWPT_NESTED, &hwpt);
	if (rc)
		return rc;
	hwpt->ctx = ctx;
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	if (!ioasid_obj_users_tryinc(&viommu->obj)) {
		rc = -ENOENT;
		goto out_abort;
	}
	hwpt->viommu = viommu;
	rc = dev->ops->domain_alloc_nested(dev, viommu->hwpt->domain, viommu,
					   flags & ~IOMMU_HWPT_FAULT_ID_VALID,
					   data, &hwpt->domain);
	if (rc)
		goto out_abort;
	*out = hwpt;
	return 0;

out_abort:
	ioasid_obj_abort(ctx, &hwpt->obj);
	return rc;
}

struct ioasid_hwpt *ioasid_hwpt_s2(struct ioasid_hwpt *hwpt)
{
	if (hwpt->parent)
		return hwpt->parent;
	if (hwpt->viommu)
		return hwpt->viommu->hwpt;
	return hwpt;
}

int ioasid_hwpt_get(struct ioasid_ctx *ctx, uint32_t id,
		    struct ioasid_hwpt **out)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(ctx, id, IOASID_OBJ_ANY, &obj);
	if (rc)
		return rc;
	if (obj->type != IOASID_OBJ_HWPT_PAGING &&
	    obj->type != IOASID_OBJ_HWPT_NESTED) {
		ioasid_obj_put(ctx, obj);
		return -ENOENT;
	}
	*out = container_of(obj, struct ioasid_hwpt, obj);
	return 0;
}

long ioasid_hwpt_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_hwpt_alloc *cmd = u->cmd;
	struct ioasid_user_data data = {
		.u = u,
		.type = cmd->data_type,
		.len = cmd->data_len,
		.uptr = cmd->data_uptr,
	};
	struct ioasid_device *dev;
	struct ioasid_object *pt;
	struct ioasid_hwpt *hwpt;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE) != !cmd->data_len)
		return -EINVAL;
	rc = ioasid_device_get(u->ctx, cmd->dev_id, &dev);
	if (rc)
		return rc;
	rc = ioasid_obj_get(u->ctx, cmd->pt_id, IOASID_OBJ_ANY, &pt);
	if (rc) {
		rc = -EINVAL; /* a missing pt_id is EINVAL, as upstream */
		goto out_put_dev;
	}
	if (pt->type == IOASID_OBJ_IOAS) {
		struct ioasid_ioas *ioas =
			container_of(pt, struct ioasid_ioas, obj);

		rc = ioasid_hwpt_paging_alloc(u->ctx, ioas, dev, cmd->flags,
					      cmd->data_type ? &data : NULL,
					      false, &hwpt);
	} else if (pt->type == IOASID_OBJ_HWPT_PAGING) {
		rc = hwpt_nested_alloc(u->ctx,
				       container_of(pt, struct ioasid_hwpt, obj),
				       dev, cmd->flags,
				       cmd->data_type ? &data : NULL, &hwpt);
	} else if (pt->type == IOASID_OBJ_VIOMMU) {
		rc = hwpt_viommu_nested_alloc(
			u->ctx, container_of(pt, struct ioasid_viommu, obj),
			dev, cmd->flags, cmd->data_type ? &data : NULL, &hwpt);
	} else {
		rc = -EINVAL;
	}
	if (rc)
		goto out_put_pt;
	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		struct ioasid_fault *fault;

		rc = ioasid_fault_get(u->ctx, cmd->fault_id, &fault);
		if (!rc && !ioasid_obj_users_tryinc(&fault->obj)) {
			ioasid_obj_put(u->ctx, &fault->obj);
			rc = -ENOENT;
		}
		if (rc) {
			ioasid_obj_abort(u->ctx, &hwpt->obj);
			goto out_put_pt;
		}
		hwpt->fault = fault;
		ioasid_obj_put(u->ctx, &fault->obj);
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	/* Published by the dispatcher if the answer reaches the caller. */
	u->new_obj = &hwpt->obj;
	rc = ucmd_respond(u, sizeof(*cmd));
out_put_pt:
	ioasid_obj_put(u->ctx, pt);
out_put_dev:
	ioasid_device_put(u->ctx, dev);
	return rc;
}

/* Bounds that keep one call from pinning a CPU, as upstream's. */
#define INVALIDATE_ENTRY_LEN_MAX 4096u
#define INVALIDATE_ENTRY_NUM_MAX (1u << 19)

long ioasid_hwpt_invalidate_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_hwpt_invalidate *cmd = u->cmd;
	struct ioasid_user_data_array array = {
		.u = u,
		.type = cmd->data_type,
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
		.uptr = cmd->data_uptr,
	};
	struct ioasid_object *obj;
	uint32_t done = 0;
	int rc;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (cmd->entry_num &&
	    (!cmd->data_uptr || !cmd->entry_len ||
	     cmd->entry_len > INVALIDATE_ENTRY_LEN_MAX ||
	     cmd->entry_num > INVALIDATE_ENTRY_NUM_MAX)) {
		rc = -EINVAL;
		goto out;
	}
	rc = ioasid_obj_get(u->ctx, cmd->hwpt_id, IOASID_OBJ_ANY, &obj);
	if (rc)
		goto out;
	if (obj->type == IOASID_OBJ_HWPT_NESTED) {
		struct ioasid_domain *dom =
			container_of(obj, struct ioasid_hwpt, obj)->domain;

		if (dom->ops->cache_invalidate_user) {
			rc = dom->ops->cache_invalidate_user(dom, &array);
			done = array.entry_num;
		} else {
			rc = -EOPNOTSUPP;
		}
	} else if (obj->type == IOASID_OBJ_VIOMMU) {
		struct ioasid_viommu *v =
			container_of(obj, struct ioasid_viommu, obj);

		if (v->iommu->viommu_cache_invalidate) {
			rc = v->iommu->viommu_cache_invalidate(v, &array);
			done = array.entry_num;
		} else {
			rc = -EOPNOTSUPP;
		}
	} else {
		rc = -EINVAL;
	}
	ioasid_obj_put(u->ctx, obj);
out:
	/* How far it got is answered whatever happened. */
	cmd->entry_num = done;
	if (ucmd_respond(u, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}
