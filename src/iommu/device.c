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

static void detach_all(struct ioasid_device *dev);

static void device_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_device *dev = container_of(obj, struct ioasid_device, obj);

	/* Its vDEVICE goes before it, a device unplugged while attached
	 * lets go, and the driver's part goes last. */
	ioasid_vdevice_remove(dev);
	detach_all(dev);
	if (dev->ops->release_device)
		dev->ops->release_device(dev);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

static const struct ioasid_obj_ops ioasid_device_obj_ops = {
	.name = "device",
	.destroy = device_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_DEVICE, ioasid_device_obj_ops)

int ioasid_device_bind(struct ioasid_ctx *ctx,
		       const struct ioasid_iommu_ops *ops, void *drv,
		       uint32_t max_pasid_log2, bool owned,
		       struct ioasid_device **out)
{
	struct ioasid_device *dev;
	int rc;

	rc = ioasid_obj_new(ctx, IOASID_OBJ_DEVICE, &dev);
	if (rc)
		return rc;
	dev->ctx = ctx;
	dev->ops = ops;
	dev->drv = drv;
	dev->max_pasid_log2 = max_pasid_log2;
	pthread_mutex_init(&dev->lock, NULL);
	iotlb_init(&dev->iotlb);
	/* The binding driver's reference, until it unbinds. */
	dev->owned = owned;
	if (owned)
		ioasid_obj_users_inc(&dev->obj);
	*out = dev;
	return 0;
}

void *ioasid_device_drv(const struct ioasid_device *dev)
{
	return dev->drv;
}

int ioasid_device_get(struct ioasid_ctx *ctx, uint32_t id,
		      struct ioasid_device **out)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(ctx, id, IOASID_OBJ_DEVICE, &obj);
	if (!rc)
		*out = container_of(obj, struct ioasid_device, obj);
	return rc;
}

static struct ioasid_attach **attach_slot(struct ioasid_device *dev,
					  uint32_t pasid)
{
	struct ioasid_attach **link = &dev->attaches;

	while (*link && (*link)->pasid != pasid)
		link = &(*link)->next;
	return link;
}

struct ioasid_hwpt *ioasid_device_attached_locked(struct ioasid_device *dev,
						  uint32_t pasid)
{
	struct ioasid_attach *a = *attach_slot(dev, pasid);

	return a ? a->hwpt : NULL;
}

/*
 * Drop an attachment's reference on its HWPT.  An automatic HWPT goes
 * with its last device; under the IOAS's mutex, so that no attach is
 * reusing it meanwhile.
 */
static void hwpt_release(struct ioasid_hwpt *hwpt)
{
	struct ioasid_ioas *ioas = hwpt->ioas;

	if (!hwpt->auto_domain) {
		ioasid_obj_users_dec(&hwpt->obj);
		return;
	}
	pthread_mutex_lock(&ioas->mutex);
	ioasid_obj_users_dec(&hwpt->obj);
	/* -EBUSY: another device still uses it. */
	(void)ioasid_obj_destroy_id(hwpt->ctx, hwpt->obj.id);
	pthread_mutex_unlock(&ioas->mutex);
}

/*
 * Whether dev, at pasid, may be attached to hwpt, with the rest of its
 * attachments as they are (the one at pasid aside).
 */
static int check_compat(struct ioasid_device *dev, uint32_t pasid,
			struct ioasid_hwpt *hwpt)
{
	if (hwpt->domain->iommu != dev->ops)
		return -EINVAL;
	if (pasid != IOASID_NO_PASID) {
		struct ioasid_hwpt *whole =
			ioasid_device_attached_locked(dev, IOASID_NO_PASID);

		if (!hwpt->pasid_compat)
			return -EINVAL;
		if (whole && !whole->pasid_compat)
			return -EINVAL;
	} else if (!hwpt->pasid_compat) {
		/* PASIDs in use need a whole-device domain that allows them. */
		for (struct ioasid_attach *a = dev->attaches; a; a = a->next)
			if (a->pasid != IOASID_NO_PASID)
				return -EINVAL;
	}
	return dev->ops->attach_dev(hwpt->domain, dev, pasid);
}

/* The IOAS whose mappings DMA through hwpt sees. */
static struct ioasid_ioas *hwpt_ioas(struct ioasid_hwpt *hwpt)
{
	return ioasid_hwpt_s2(hwpt)->ioas;
}

#define RESV_MAX 8

/*
 * The device's reserved regions become reserved IOVA of the IOAS its
 * whole-device DMA sees (-EADDRINUSE where something is mapped), so that
 * nothing is ever mapped where the device cannot reach.
 */
static int reserve_regions(struct ioasid_device *dev, struct ioasid_ioas *ioas)
{
	struct ioasid_resv_region r[RESV_MAX];
	size_t n;
	int rc = 0;

	if (!dev->ops->resv_regions)
		return 0;
	n = dev->ops->resv_regions(dev, r, RESV_MAX);
	for (size_t i = 0; i < n && !rc; i++)
		rc = iopt_reserve_iova(&ioas->iopt, r[i].start, r[i].last, dev);
	if (rc)
		iopt_remove_reserved(&ioas->iopt, dev);
	return rc;
}

/*
 * Point dev's pasid at hwpt, on which the caller holds a users reference
 * that moves to the attachment.  *slot is the attachment to replace, or
 * where a new one goes.  From here DMA goes through hwpt's domain.  The
 * old HWPT, if any, is the caller's to let go (release_old).
 */
static int bind_hwpt(struct ioasid_device *dev, uint32_t pasid,
		     struct ioasid_attach **slot, struct ioasid_hwpt *hwpt,
		     struct ioasid_hwpt **old)
{
	struct ioasid_domain *s2 = ioasid_domain_s2(hwpt->domain);
	struct ioasid_attach *a = *slot;
	int rc;

	struct ioasid_ioas *new_ioas = hwpt_ioas(hwpt);
	struct ioasid_ioas *old_ioas = a ? hwpt_ioas(a->hwpt) : NULL;
	bool resv = pasid == IOASID_NO_PASID && new_ioas != old_ioas;

	rc = check_compat(dev, pasid, hwpt);
	if (rc)
		return rc;
	if (resv) {
		rc = reserve_regions(dev, new_ioas);
		if (rc)
			return rc;
	}
	/* Unmaps of the new domain reach our IOTLB before any DMA does. */
	rc = ioasid_domain_add_iotlb(s2, &dev->iotlb);
	if (rc)
		goto out_resv;
	if (a) {
		*old = a->hwpt;
		a->hwpt = hwpt;
		if (resv && old_ioas)
			iopt_remove_reserved(&old_ioas->iopt, dev);
		return ioasid_dma_publish(dev, a, hwpt->domain, false);
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		rc = -ENOMEM;
		goto out_iotlb;
	}
	a->pasid = pasid;
	a->hwpt = hwpt;
	a->dev = dev;
	rc = ioasid_dma_publish(dev, a, hwpt->domain, true);
	if (rc)
		goto out_free;
	*slot = a;
	*old = NULL;
	return 0;

out_free:
	free(a);
out_iotlb:
	ioasid_domain_remove_iotlb(s2, &dev->iotlb);
out_resv:
	if (resv)
		iopt_remove_reserved(&new_ioas->iopt, dev);
	return rc;
}

/*
 * Let go of a HWPT DMA no longer goes through: once no DMA that found it
 * can still be translating, its translations leave our IOTLB.
 */
static void release_old(struct ioasid_device *dev, uint32_t pasid,
			struct ioasid_hwpt *old)
{
	/* Faults the device raised there are answered: it has moved on. */
	if (old->fault)
		ioasid_fault_auto_respond(old->fault, dev, pasid);
	ioasid_synchronize_rcu();
	ioasid_domain_remove_iotlb(ioasid_domain_s2(old->domain), &dev->iotlb);
	hwpt_release(old);
}

/*
 * To an IOAS: an automatic HWPT of the IOAS the driver accepts (EINVAL
 * from it means "not this one"), or a new one.
 */
static int bind_ioas(struct ioasid_device *dev, uint32_t pasid,
		     struct ioasid_attach **slot, struct ioasid_ioas *ioas,
		     struct ioasid_hwpt **attached, struct ioasid_hwpt **old)
{
	struct ioasid_hwpt *hwpt, *next;
	int rc;

	pthread_mutex_lock(&ioas->mutex);
	/* Already there: replacing with the same is nothing. */
	if (*slot && (*slot)->hwpt->auto_domain && (*slot)->hwpt->ioas == ioas) {
		*attached = (*slot)->hwpt;
		*old = NULL;
		pthread_mutex_unlock(&ioas->mutex);
		return 0;
	}
	pthread_mutex_lock(&ioas->hwpts_lock);
	for (hwpt = ioas->hwpts; hwpt; hwpt = next) {
		/* Our reference keeps it on the list while we drop the lock. */
		if (!hwpt->auto_domain || !ioasid_obj_users_tryinc(&hwpt->obj)) {
			next = hwpt->ioas_next;
			continue;
		}
		pthread_mutex_unlock(&ioas->hwpts_lock);
		rc = bind_hwpt(dev, pasid, slot, hwpt, old);
		if (rc != -EINVAL) {
			if (rc)
				ioasid_obj_users_dec(&hwpt->obj);
			else
				*attached = hwpt;
			pthread_mutex_unlock(&ioas->mutex);
			return rc;
		}
		pthread_mutex_lock(&ioas->hwpts_lock);
		next = hwpt->ioas_next;
		ioasid_obj_users_dec(&hwpt->obj);
	}
	pthread_mutex_unlock(&ioas->hwpts_lock);

	/* Made plain, as upstream makes them: a PASID needs a HWPT made
	 * with IOMMU_HWPT_ALLOC_PASID, so attaching one to an IOAS finds
	 * none that takes it (EINVAL). */
	rc = ioasid_hwpt_paging_alloc(dev->ctx, ioas, dev, 0, NULL, true,
				      &hwpt);
	if (rc)
		goto out_unlock;
	ioasid_obj_users_inc(&hwpt->obj); /* the attachment's */
	rc = bind_hwpt(dev, pasid, slot, hwpt, old);
	if (rc) {
		ioasid_obj_users_dec(&hwpt->obj);
		ioasid_obj_abort(dev->ctx, &hwpt->obj);
		goto out_unlock;
	}
	ioasid_obj_publish(dev->ctx, &hwpt->obj);
	*attached = hwpt;
out_unlock:
	pthread_mutex_unlock(&ioas->mutex);
	return rc;
}

static int do_attach(struct ioasid_device *dev, uint32_t pasid,
		     uint32_t *pt_id, bool replace)
{
	struct ioasid_hwpt *hwpt = NULL, *old = NULL;
	struct ioasid_attach **slot;
	struct ioasid_object *pt;
	int rc;

	if (pasid != IOASID_NO_PASID &&
	    (!dev->max_pasid_log2 || pasid >> dev->max_pasid_log2))
		return -EINVAL;
	rc = ioasid_obj_get(dev->ctx, *pt_id, IOASID_OBJ_ANY, &pt);
	if (rc)
		return rc;

	pthread_mutex_lock(&dev->lock);
	slot = attach_slot(dev, pasid);
	if (!replace && *slot) {
		rc = -EBUSY;
		goto out_unlock;
	}
	if (replace && !*slot) {
		rc = -EINVAL;
		goto out_unlock;
	}
	switch (pt->type) {
	case IOASID_OBJ_HWPT_PAGING:
	case IOASID_OBJ_HWPT_NESTED:
		hwpt = container_of(pt, struct ioasid_hwpt, obj);
		if (*slot && (*slot)->hwpt == hwpt)
			break; /* replaced by itself */
		if (!ioasid_obj_users_tryinc(&hwpt->obj)) {
			rc = -ENOENT;
			break;
		}
		rc = bind_hwpt(dev, pasid, slot, hwpt, &old);
		if (rc)
			ioasid_obj_users_dec(&hwpt->obj);
		break;
	case IOASID_OBJ_IOAS:
		rc = bind_ioas(dev, pasid, slot,
			       container_of(pt, struct ioasid_ioas, obj), &hwpt,
			       &old);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (!rc)
		*pt_id = hwpt->obj.id;
out_unlock:
	pthread_mutex_unlock(&dev->lock);
	ioasid_obj_put(dev->ctx, pt);
	if (old)
		release_old(dev, pasid, old);
	return rc;
}

int ioasid_device_attach(struct ioasid_device *dev, uint32_t pasid,
			 uint32_t *pt_id)
{
	return do_attach(dev, pasid, pt_id, false);
}

int ioasid_device_replace(struct ioasid_device *dev, uint32_t pasid,
			  uint32_t *pt_id)
{
	return do_attach(dev, pasid, pt_id, true);
}

void ioasid_device_detach(struct ioasid_device *dev, uint32_t pasid)
{
	struct ioasid_attach **slot, *a;

	pthread_mutex_lock(&dev->lock);
	slot = attach_slot(dev, pasid);
	a = *slot;
	if (a) {
		*slot = a->next;
		ioasid_dma_unpublish(dev, a);
	}
	pthread_mutex_unlock(&dev->lock);
	if (!a)
		return;
	if (dev->ops->detach_dev)
		dev->ops->detach_dev(dev, pasid);
	if (pasid == IOASID_NO_PASID)
		iopt_remove_reserved(&hwpt_ioas(a->hwpt)->iopt, dev);
	/* DMA that found the attachment has finished with it after this. */
	release_old(dev, pasid, a->hwpt);
	free(a);
}

static void detach_all(struct ioasid_device *dev)
{
	/* Per-PASID attachments first: the whole-device one may be what
	 * allows them. */
	for (;;) {
		uint32_t pasid;

		pthread_mutex_lock(&dev->lock);
		if (!dev->attaches) {
			pthread_mutex_unlock(&dev->lock);
			break;
		}
		pasid = dev->attaches->pasid;
		for (struct ioasid_attach *a = dev->attaches; a; a = a->next)
			if (a->pasid != IOASID_NO_PASID)
				pasid = a->pasid;
		pthread_mutex_unlock(&dev->lock);
		ioasid_device_detach(dev, pasid);
	}
}

void ioasid_device_unbind(struct ioasid_device *dev)
{
	detach_all(dev);
	ioasid_obj_destroy_owned(dev->ctx, &dev->obj);
}

long ioasid_get_hw_info_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_hw_info *cmd = u->cmd;
	unsigned char info[256] = { 0 };
	uint32_t type = IOMMU_HW_INFO_TYPE_DEFAULT;
	struct ioasid_device *dev;
	size_t len = sizeof(info), copy;
	int rc;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < sizeof(cmd->__reserved); i++)
		if (cmd->__reserved[i])
			return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		type = cmd->in_data_type;
	rc = ioasid_device_get(u->ctx, cmd->dev_id, &dev);
	if (rc)
		return rc;
	rc = dev->ops->hw_info(dev, &type, info, &len);
	if (rc)
		goto out_put;
	/* The user's buffer gets what fits, and zeroes past our struct. */
	copy = MIN((size_t)cmd->data_len, len);
	rc = ucmd_write(u, cmd->data_uptr, info, copy);
	if (!rc && cmd->data_len > copy) {
		static const unsigned char zeroes[256];
		uint64_t at = cmd->data_uptr + copy;
		uint64_t left = cmd->data_len - copy;

		while (!rc && left) {
			size_t n = MIN(left, (uint64_t)sizeof(zeroes));

			rc = ucmd_write(u, at, zeroes, n);
			at += n;
			left -= n;
		}
	}
	if (rc)
		goto out_put;
	cmd->data_len = (uint32_t)len;
	cmd->out_data_type = type;
	cmd->out_max_pasid_log2 = (uint8_t)dev->max_pasid_log2;
	cmd->out_capabilities = dev->ops->capabilities ?
					dev->ops->capabilities(dev) :
					0;
	rc = ucmd_respond(u, sizeof(*cmd));
out_put:
	ioasid_device_put(u->ctx, dev);
	return rc;
}
