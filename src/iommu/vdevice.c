/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "device.h"
#include "ioasid/uapi/iommufd.h"
#include "viommu.h"

/*
 * Off its vIOMMU and its device.  Also the undo of an allocation that
 * failed half way, so every step is checked.
 */
static void vdevice_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_vdevice *vd = container_of(obj, struct ioasid_vdevice,
						 obj);
	struct ioasid_viommu *v = vd->viommu;
	struct ioasid_device *dev = vd->dev;

	if (dev) {
		pthread_mutex_lock(&dev->lock);
		pthread_mutex_lock(&v->lock);
		for (struct ioasid_vdevice **link = &v->vdevs; *link;
		     link = &(*link)->next) {
			if (*link == vd) {
				*link = vd->next;
				break;
			}
		}
		pthread_mutex_unlock(&v->lock);
		if (dev->vdev == vd)
			dev->vdev = NULL;
		pthread_mutex_unlock(&dev->lock);
	}
	if (v)
		ioasid_obj_users_dec(&v->obj);
	free(vd);
}

static const struct ioasid_obj_ops ioasid_vdevice_obj_ops = {
	.name = "vdevice",
	.destroy = vdevice_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_VDEVICE, ioasid_vdevice_obj_ops)

struct ioasid_device *ioasid_viommu_find_dev_locked(struct ioasid_viommu *v,
						    uint64_t virt_id)
{
	for (struct ioasid_vdevice *vd = v->vdevs; vd; vd = vd->next)
		if (vd->virt_id == virt_id)
			return vd->dev;
	return NULL;
}

int ioasid_viommu_vdev_id(struct ioasid_viommu *v, struct ioasid_device *dev,
			  uint64_t *virt_id)
{
	if (!dev->vdev || dev->vdev->viommu != v)
		return -ENOENT;
	*virt_id = dev->vdev->virt_id;
	return 0;
}

void ioasid_vdevice_remove(struct ioasid_device *dev)
{
	for (;;) {
		struct ioasid_vdevice *vd;

		pthread_mutex_lock(&dev->lock);
		vd = dev->vdev;
		if (!vd) {
			pthread_mutex_unlock(&dev->lock);
			return;
		}
		if (ioasid_obj_users_tryinc(&vd->obj)) {
			pthread_mutex_unlock(&dev->lock);
			ioasid_obj_tombstone(dev->ctx, &vd->obj);
			return;
		}
		/* An IOMMU_DESTROY of it is under way, and lets go of the
		 * device as soon as it can take the lock we drop. */
		pthread_mutex_unlock(&dev->lock);
		sched_yield();
	}
}

long ioasid_vdevice_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_vdevice_alloc *cmd = u->cmd;
	struct ioasid_vdevice *vd = NULL;
	struct ioasid_device *dev;
	struct ioasid_object *obj;
	struct ioasid_viommu *v;
	int rc;

	/* The kernel keys vDEVICEs by unsigned long; ours are as wide. */
	if (cmd->virt_id > IOASID_ULONG_MAX)
		return -EINVAL;
	rc = ioasid_obj_get(u->ctx, cmd->viommu_id, IOASID_OBJ_VIOMMU, &obj);
	if (rc)
		return rc;
	v = container_of(obj, struct ioasid_viommu, obj);
	rc = ioasid_device_get(u->ctx, cmd->dev_id, &dev);
	if (rc)
		goto out_put_viommu;
	if (v->iommu != dev->ops) {
		rc = -EINVAL;
		goto out_put_dev;
	}
	rc = ioasid_obj_new(u->ctx, IOASID_OBJ_VDEVICE, &vd);
	if (rc)
		goto out_put_dev;
	/* Published by the dispatcher, or aborted: the destroy undoes
	 * whatever of the below was done. */
	u->new_obj = &vd->obj;
	if (!ioasid_obj_users_tryinc(&v->obj)) {
		rc = -ENOENT;
		goto out_put_dev;
	}
	vd->viommu = v;
	vd->virt_id = cmd->virt_id;

	pthread_mutex_lock(&dev->lock);
	pthread_mutex_lock(&v->lock);
	if (dev->vdev || ioasid_viommu_find_dev_locked(v, cmd->virt_id)) {
		rc = -EEXIST;
	} else {
		vd->dev = dev;
		vd->next = v->vdevs;
		v->vdevs = vd;
		dev->vdev = vd;
	}
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_unlock(&dev->lock);
	if (rc)
		goto out_put_dev;
	cmd->out_vdevice_id = vd->obj.id;
	rc = ucmd_respond(u, sizeof(*cmd));
out_put_dev:
	ioasid_device_put(u->ctx, dev);
out_put_viommu:
	ioasid_obj_put(u->ctx, obj);
	return rc;
}
