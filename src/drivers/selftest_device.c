/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD ops on mock devices: the SELFTEST object ("stdev") binds
 * one mock device and attaches it; destroying it detaches and unbinds.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/context.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "iommu/device.h"
#include "iommu/domain.h"
#include "mock.h"
#include "iommu/fault.h"
#include "iommu/hwpt.h"
#include "ioasid/uapi/iommufd_test.h"
#include "pages/frame.h"
#include "pages/pages.h"
#include "selftest.h"
#include "iommu/viommu.h"

struct selftest_obj {
	struct ioasid_object obj;
	struct ioasid_device *idev;
};

static void selftest_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct selftest_obj *st = container_of(obj, struct selftest_obj, obj);

	if (st->idev)
		ioasid_device_unbind(st->idev);
	free(st);
}

static const struct ioasid_obj_ops ioasid_selftest_obj_ops = {
	.name = "selftest",
	.destroy = selftest_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_SELFTEST, ioasid_selftest_obj_ops)

static int selftest_get(struct ioasid_ucmd *u, uint32_t id,
			struct selftest_obj **out)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(u->ctx, id, IOASID_OBJ_SELFTEST, &obj);
	if (!rc)
		*out = container_of(obj, struct selftest_obj, obj);
	return rc;
}

int test_mock_domain(struct ioasid_ucmd *u, uint32_t pt_id, uint32_t dev_flags,
		     bool with_flags)
{
	struct iommu_test_cmd *cmd = u->cmd;
	struct selftest_obj *st;
	int rc;

	rc = ioasid_obj_new(u->ctx, IOASID_OBJ_SELFTEST, &st);
	if (rc)
		return rc;
	/* From here an abort of st undoes everything below. */
	u->new_obj = &st->obj;
	rc = ioasid_mock_dev_create(u->ctx, dev_flags, true, &st->idev);
	if (rc)
		return rc;
	rc = ioasid_device_attach(st->idev, IOASID_NO_PASID, &pt_id);
	if (rc)
		return rc;
	if (with_flags) {
		cmd->mock_domain_flags.out_stdev_id = st->obj.id;
		cmd->mock_domain_flags.out_hwpt_id = pt_id;
		cmd->mock_domain_flags.out_idev_id = st->idev->obj.id;
	} else {
		cmd->mock_domain.out_stdev_id = st->obj.id;
		cmd->mock_domain.out_hwpt_id = pt_id;
		cmd->mock_domain.out_idev_id = st->idev->obj.id;
	}
	rc = ucmd_respond(u, sizeof(*cmd));
	/* Nothing can fail any more: the device is found from now on, as
	 * the stdev is once the dispatcher publishes it. */
	if (!rc)
		ioasid_obj_publish(u->ctx, &st->idev->obj);
	return rc;
}

int test_mock_domain_replace(struct ioasid_ucmd *u, uint32_t stdev_id,
			     uint32_t pt_id)
{
	struct iommu_test_cmd *cmd = u->cmd;
	struct selftest_obj *st;
	int rc;

	rc = selftest_get(u, stdev_id, &st);
	if (rc)
		return rc;
	rc = ioasid_device_replace(st->idev, IOASID_NO_PASID, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = ucmd_respond(u, sizeof(*cmd));
	}
	ioasid_obj_put(u->ctx, &st->obj);
	return rc;
}

/* A paging HWPT whose domain is the mock's (EINVAL for another's). */
static int mock_paging_get(struct ioasid_ucmd *u, uint32_t id,
			   struct ioasid_hwpt **out)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(u->ctx, id, IOASID_OBJ_HWPT_PAGING, &obj);
	if (rc)
		return rc;
	*out = container_of(obj, struct ioasid_hwpt, obj);
	if ((*out)->domain->iommu != &ioasid_mock_iommu_ops) {
		ioasid_obj_put(u->ctx, obj);
		return -EINVAL;
	}
	return 0;
}

/*
 * Each chunk of the domain's smallest page at iova must translate to the
 * page of memory behind the same chunk at uptr, at the same offset.
 */
int test_md_check_map(struct ioasid_ucmd *u, uint32_t hwpt_id, uint64_t iova,
		      uint64_t length, uint64_t uptr)
{
	struct ioasid_hwpt *hwpt;
	uint64_t page_size, end;
	int rc;

	rc = mock_paging_get(u, hwpt_id, &hwpt);
	if (rc)
		return rc;
	page_size = ioasid_domain_min_pgsize(hwpt->domain);
	if ((iova | length | uptr) & (page_size - 1) ||
	    add_overflows_u64(uptr, length, &end)) {
		rc = -EINVAL;
		goto out_put;
	}
	for (; uptr != end; uptr += page_size, iova += page_size) {
		uint64_t page = uptr & ~(uint64_t)(IOASID_PAGE_SIZE - 1);
		struct ioasid_page_id id;
		uint64_t pfn, pa;
		unsigned char probe;

		/* Touching it is what proves the memory is there. */
		rc = ucmd_read(u, uptr, &probe, 1);
		if (rc)
			break;
		rc = ioasid_caller_page_ids(u->caller, page, 1, &id);
		if (rc)
			break;
		if (!ioasid_frame_pins(&id, &pfn) ||
		    ioasid_domain_iova_to_phys(hwpt->domain, iova, &pa) ||
		    pa != (pfn << IOASID_PAGE_SHIFT) + (uptr - page)) {
			rc = -EINVAL;
			break;
		}
	}
out_put:
	ioasid_obj_put(u->ctx, &hwpt->obj);
	return rc;
}

/*
 * Mark dirty, as if a device had written there, the leaf holding
 * iova + i * page_size for each bit i set in the user's bitmap; answers
 * how many bits were set.  Only while the HWPT tracks dirty pages.
 */
int test_dirty(struct ioasid_ucmd *u, uint32_t hwpt_id)
{
	struct iommu_test_cmd *cmd = u->cmd;
	uint64_t iova = cmd->dirty.iova, page_size = cmd->dirty.page_size;
	uint64_t length = cmd->dirty.length, nbits, count = 0;
	struct ioasid_domain *dom;
	struct ioasid_hwpt *hwpt;
	uint8_t *bits;
	int rc;

	if (!page_size || !length || iova % page_size || length % page_size ||
	    !cmd->dirty.uptr)
		return -EINVAL;
	nbits = length / page_size;
	/* The kernel's cap: a 16 MiB bitmap. */
	if (nbits > (16ull << 20) * 8)
		return -EOVERFLOW;
	rc = mock_paging_get(u, hwpt_id, &hwpt);
	if (rc)
		return rc;
	dom = hwpt->domain;
	if (!dom->ops->set_dirty_tracking || !atomic_load(&dom->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}
	bits = malloc((nbits + 7) / 8);
	if (!bits) {
		rc = -ENOMEM;
		goto out_put;
	}
	rc = ucmd_read(u, cmd->dirty.uptr, bits, (nbits + 7) / 8);
	if (rc)
		goto out_free;
	for (uint64_t i = 0; i < nbits; i++) {
		if (!(bits[i / 8] & (1u << (i % 8))))
			continue;
		/* Nothing mapped there is nothing to mark, and still counts,
		 * as in the kernel. */
		pt_set_dirty(&dom->pt, iova + i * page_size);
		count++;
	}
	cmd->dirty.out_nr_dirty = count;
	rc = ucmd_respond(u, sizeof(*cmd));
out_free:
	free(bits);
out_put:
	ioasid_obj_put(u->ctx, &hwpt->obj);
	return rc;
}

int test_dev_check_cache(struct ioasid_ucmd *u, uint32_t idev_id,
			 uint32_t cache_id, uint32_t value)
{
	struct ioasid_device *dev;
	int rc;

	rc = ioasid_device_get(u->ctx, idev_id, &dev);
	if (rc)
		return rc;
	if (dev->ops != &ioasid_mock_iommu_ops || cache_id > MOCK_DEV_CACHE_ID_MAX)
		rc = -EINVAL;
	else if (((struct mock_dev *)dev->drv)->cache[cache_id] != value)
		rc = -EINVAL;
	ioasid_device_put(u->ctx, dev);
	return rc;
}

int test_pasid(struct ioasid_ucmd *u, uint32_t stdev_id)
{
	struct iommu_test_cmd *cmd = u->cmd;
	struct selftest_obj *st;
	struct ioasid_hwpt *attached, *hwpt = NULL;
	int rc;

	rc = selftest_get(u, stdev_id, &st);
	if (rc)
		return rc;
	switch (cmd->op) {
	case IOMMU_TEST_OP_PASID_ATTACH:
		rc = ioasid_device_attach(st->idev, cmd->pasid_attach.pasid,
					  &cmd->pasid_attach.pt_id);
		if (rc)
			break;
		rc = ucmd_respond(u, sizeof(*cmd));
		if (rc)
			ioasid_device_detach(st->idev, cmd->pasid_attach.pasid);
		break;
	case IOMMU_TEST_OP_PASID_REPLACE:
		rc = ioasid_device_replace(st->idev, cmd->pasid_replace.pasid,
					   &cmd->pasid_replace.pt_id);
		if (!rc)
			rc = ucmd_respond(u, sizeof(*cmd));
		break;
	case IOMMU_TEST_OP_PASID_DETACH:
		ioasid_device_detach(st->idev, cmd->pasid_detach.pasid);
		break;
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		pthread_mutex_lock(&st->idev->lock);
		attached = ioasid_device_attached_locked(st->idev,
							 cmd->pasid_check.pasid);
		/* hwpt_id 0: nothing may be attached there. */
		if (!cmd->pasid_check.hwpt_id) {
			rc = attached ? -EINVAL : 0;
		} else {
			rc = ioasid_hwpt_get(u->ctx, cmd->pasid_check.hwpt_id,
					     &hwpt);
			if (!rc && (!attached || attached->domain != hwpt->domain))
				rc = -EINVAL;
			if (hwpt)
				ioasid_obj_put(u->ctx, &hwpt->obj);
		}
		pthread_mutex_unlock(&st->idev->lock);
		break;
	default:
		rc = -EOPNOTSUPP;
	}
	ioasid_obj_put(u->ctx, &st->obj);
	return rc;
}

int test_md_check_iotlb(struct ioasid_ucmd *u, uint32_t hwpt_id, uint32_t id,
			uint32_t value)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(u->ctx, hwpt_id, IOASID_OBJ_HWPT_NESTED, &obj);
	if (rc)
		return rc;
	rc = ioasid_mock_check_iotlb(
		container_of(obj, struct ioasid_hwpt, obj)->domain, id, value);
	ioasid_obj_put(u->ctx, obj);
	return rc;
}

/*
 * A page request from a mock device, at pasid (0: none), delivered to the
 * fault queue of the HWPT it would be translated by: the one attached at
 * pasid, else (the mock's PASID tables belong to the user) the whole
 * device's.  Without a queue there, the request is answered at once.
 */
int test_trigger_iopf(struct ioasid_ucmd *u)
{
	const struct iommu_test_cmd *cmd = u->cmd;
	struct ioasid_fault *fault = NULL;
	struct ioasid_device *dev;
	struct ioasid_hwpt *hwpt;
	uint32_t pasid = cmd->trigger_iopf.pasid;
	int rc;

	rc = ioasid_device_get(u->ctx, cmd->trigger_iopf.dev_id, &dev);
	if (rc)
		return rc;
	if (dev->ops != &ioasid_mock_iommu_ops) {
		rc = -EINVAL;
		goto out_put;
	}
	pthread_mutex_lock(&dev->lock);
	hwpt = ioasid_device_attached_locked(dev, pasid);
	if (!hwpt)
		hwpt = ioasid_device_attached_locked(dev, IOASID_NO_PASID);
	/* The device lock keeps the HWPT, and so its queue, until then. */
	if (hwpt && hwpt->fault)
		fault = hwpt->fault;
	if (fault)
		rc = ioasid_fault_report(fault, dev, pasid,
					 cmd->trigger_iopf.grpid,
					 cmd->trigger_iopf.perm,
					 cmd->trigger_iopf.addr);
	pthread_mutex_unlock(&dev->lock);
out_put:
	ioasid_device_put(u->ctx, dev);
	return rc;
}

/*
 * An event of a mock device for its guest: its virtual ID as it was when
 * it attached through the vIOMMU, to the vIOMMU's selftest queue.
 * ENOENT when it is attached through none (or under ID 0).
 */
int test_trigger_vevent(struct ioasid_ucmd *u)
{
	const struct iommu_test_cmd *cmd = u->cmd;
	struct iommu_viommu_event_selftest ev = { 0 };
	struct ioasid_device *dev;
	struct mock_dev *mdev;
	int rc;

	rc = ioasid_device_get(u->ctx, cmd->trigger_vevent.dev_id, &dev);
	if (rc)
		return rc;
	if (dev->ops != &ioasid_mock_iommu_ops) {
		rc = -EINVAL;
		goto out_put;
	}
	mdev = dev->drv;
	/* The device's lock keeps it attached, and so the vIOMMU. */
	pthread_mutex_lock(&dev->lock);
	if (!mdev->viommu || !mdev->vdev_id) {
		rc = -ENOENT;
	} else {
		ev.virt_id = (uint32_t)mdev->vdev_id;
		rc = ioasid_viommu_report_event(mdev->viommu,
						IOMMU_VEVENTQ_TYPE_SELFTEST,
						&ev, sizeof(ev));
	}
	pthread_mutex_unlock(&dev->lock);
out_put:
	ioasid_device_put(u->ctx, dev);
	return rc;
}
