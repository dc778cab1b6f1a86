/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "device.h"
#include "driver.h"
#include "hwpt.h"
#include "ioasid/uapi/iommufd.h"
#include "viommu.h"

static void viommu_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_viommu *v = container_of(obj, struct ioasid_viommu, obj);

	/* Its vDEVICEs and queues hold it: none is left. */
	if (v->inited && v->iommu->viommu_destroy)
		v->iommu->viommu_destroy(v);
	if (v->hwpt)
		ioasid_obj_users_dec(&v->hwpt->obj);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct ioasid_obj_ops ioasid_viommu_obj_ops = {
	.name = "viommu",
	.destroy = viommu_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_VIOMMU, ioasid_viommu_obj_ops)

long ioasid_viommu_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_viommu_alloc *cmd = u->cmd;
	struct ioasid_user_data data = {
		.u = u,
		.type = cmd->type,
		.len = cmd->data_len,
		.uptr = cmd->data_uptr,
	};
	struct ioasid_device *dev;
	struct ioasid_object *obj;
	struct ioasid_hwpt *hwpt;
	struct ioasid_viommu *v;
	int rc;

	if (cmd->flags || cmd->type == IOMMU_VIOMMU_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	rc = ioasid_device_get(u->ctx, cmd->dev_id, &dev);
	if (rc)
		return rc;
	if (!dev->ops->viommu_init) {
		rc = -EOPNOTSUPP;
		goto out_put_dev;
	}
	rc = ioasid_obj_get(u->ctx, cmd->hwpt_id, IOASID_OBJ_HWPT_PAGING, &obj);
	if (rc)
		goto out_put_dev;
	hwpt = container_of(obj, struct ioasid_hwpt, obj);
	if (!hwpt->nest_parent) {
		rc = -EINVAL;
		goto out_put_hwpt;
	}
	rc = ioasid_obj_new(u->ctx, IOASID_OBJ_VIOMMU, &v);
	if (rc)
		goto out_put_hwpt;
	pthread_mutex_init(&v->lock, NULL);
	v->ctx = u->ctx;
	v->iommu = dev->ops;
	v->type = cmd->type;
	/* Published by the dispatcher, or aborted (which lets go of this). */
	u->new_obj = &v->obj;
	if (!ioasid_obj_users_tryinc(&hwpt->obj)) {
		rc = -ENOENT;
		goto out_put_hwpt;
	}
	v->hwpt = hwpt;
	rc = dev->ops->viommu_init(v, dev, cmd->data_len ? &data : NULL);
	if (rc)
		goto out_put_hwpt;
	v->inited = true;
	cmd->out_viommu_id = v->obj.id;
	rc = ucmd_respond(u, sizeof(*cmd));
out_put_hwpt:
	ioasid_obj_put(u->ctx, obj);
out_put_dev:
	ioasid_device_put(u->ctx, dev);
	return rc;
}
