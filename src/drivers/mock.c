/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/mmap.h"
#include "core/util.h"
#include "iommu/device.h"
#include "iommu/domain.h"
#include "iommu/driver.h"
#include "iommu/hw_queue.h"
#include "iommu/hwpt.h"
#include "iommu/viommu.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "mock.h"

#define MOCK_DEV_FLAGS (MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID)

struct mock_domain {
	struct ioasid_domain dom;
	bool dirty_ops; /* made with IOMMU_HWPT_ALLOC_DIRTY_TRACKING */
};

static struct mock_domain *to_mock(struct ioasid_domain *dom)
{
	return container_of(dom, struct mock_domain, dom);
}

static void mock_domain_free(struct ioasid_domain *dom)
{
	ioasid_domain_fini(dom);
	free(to_mock(dom));
}

/* The core has cleared the dirty bits before tracking is turned on. */
static int mock_set_dirty_tracking(struct ioasid_domain *dom, bool enable)
{
	atomic_store(&dom->dirty_tracking, enable);
	return 0;
}

static const struct ioasid_domain_ops mock_domain_ops = {
	.free = mock_domain_free,
};

static const struct ioasid_domain_ops mock_dirty_domain_ops = {
	.free = mock_domain_free,
	.set_dirty_tracking = mock_set_dirty_tracking,
};

static int mock_domain_alloc_paging(struct ioasid_device *dev, uint32_t flags,
				    const struct ioasid_user_data *data,
				    struct ioasid_domain **out)
{
	const struct mock_dev *mdev = dev->drv;
	struct iommu_hwpt_selftest cfg = { 0 };
	bool dirty = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct mock_domain *md;
	int rc;

	if (flags & ~(IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
		      IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID))
		return -EOPNOTSUPP;
	if (dirty && (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EOPNOTSUPP;
	if (data) {
		if (data->type != IOMMU_HWPT_DATA_SELFTEST)
			return -EOPNOTSUPP;
		rc = ioasid_user_data_copy(data, &cfg, sizeof(cfg),
					   offsetofend(struct iommu_hwpt_selftest,
						       iotlb));
		if (rc)
			return rc;
	}
	if (cfg.pagetable_type != MOCK_IOMMUPT_DEFAULT &&
	    cfg.pagetable_type != MOCK_IOMMUPT_HUGE)
		return -EOPNOTSUPP;

	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	if (cfg.pagetable_type == MOCK_IOMMUPT_HUGE)
		/* Only huge pages, and PAGE_SIZE for iommufd to take it;
		 * the table's own reach is the aperture. */
		rc = ioasid_domain_init_paging(&md->dom, &pt_fmt_mock, 38,
					       MOCK_HUGE_PAGE_SIZE |
						       IOASID_PAGE_SIZE,
					       0, (1ULL << 38) - 1);
	else
		rc = ioasid_domain_init_paging(
			&md->dom, &pt_fmt_mock, 38,
			pt_native_sizes(&pt_fmt_mock, 38),
			MOCK_APERTURE_START, MOCK_APERTURE_LAST);
	if (rc) {
		free(md);
		return rc;
	}
	md->dirty_ops = dirty;
	md->dom.ops = dirty ? &mock_dirty_domain_ops : &mock_domain_ops;
	md->dom.iommu = &ioasid_mock_iommu_ops;
	*out = &md->dom;
	return 0;
}

/* Nested: the user's stage 1 is the identity here; only its IOTLB is
 * modelled, as entries the user's invalidations clear. */
struct mock_nested {
	struct ioasid_domain dom;
	uint32_t iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
	struct ioasid_viommu *viommu; /* made through it: its devices' */
};

static struct mock_nested *to_nested(struct ioasid_domain *dom)
{
	return container_of(dom, struct mock_nested, dom);
}

static void mock_nested_free(struct ioasid_domain *dom)
{
	ioasid_domain_fini(dom);
	free(to_nested(dom));
}

static int mock_cache_invalidate_user(struct ioasid_domain *dom,
				      struct ioasid_user_data_array *array)
{
	struct mock_nested *mn = to_nested(dom);
	uint32_t done = 0;
	int rc = 0;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
		rc = -EINVAL;
		goto out;
	}
	for (uint32_t i = 0; i < array->entry_num; i++) {
		struct iommu_hwpt_invalidate_selftest inv;

		rc = ioasid_user_data_array_copy(
			array, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, i, &inv,
			sizeof(inv),
			offsetofend(struct iommu_hwpt_invalidate_selftest,
				    iotlb_id));
		if (rc)
			break;
		if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)
			memset(mn->iotlb, 0, sizeof(mn->iotlb));
		else
			mn->iotlb[inv.iotlb_id] = 0;
		done++;
	}
out:
	array->entry_num = done;
	return rc;
}

static const struct ioasid_domain_ops mock_nested_ops = {
	.free = mock_nested_free,
	.cache_invalidate_user = mock_cache_invalidate_user,
};

static int mock_domain_alloc_nested(struct ioasid_device *dev,
				    struct ioasid_domain *parent,
				    struct ioasid_viommu *viommu, uint32_t flags,
				    const struct ioasid_user_data *data,
				    struct ioasid_domain **out)
{
	struct iommu_hwpt_selftest cfg;
	struct mock_nested *mn;
	int rc;

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return -EOPNOTSUPP;
	if (data->type != IOMMU_HWPT_DATA_SELFTEST)
		return -EOPNOTSUPP;
	if (parent->iommu != &ioasid_mock_iommu_ops ||
	    parent->type != IOASID_DOMAIN_PAGING)
		return -EINVAL;
	rc = ioasid_user_data_copy(data, &cfg, sizeof(cfg),
				   offsetofend(struct iommu_hwpt_selftest,
					       iotlb));
	if (rc)
		return rc;
	mn = calloc(1, sizeof(*mn));
	if (!mn)
		return -ENOMEM;
	ioasid_domain_init_nested(&mn->dom, parent);
	for (size_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		mn->iotlb[i] = cfg.iotlb;
	mn->viommu = viommu;
	mn->dom.ops = &mock_nested_ops;
	mn->dom.iommu = &ioasid_mock_iommu_ops;
	*out = &mn->dom;
	return 0;
}

int ioasid_mock_check_iotlb(struct ioasid_domain *dom, uint32_t id,
			    uint32_t value)
{
	if (dom->type != IOASID_DOMAIN_NESTED ||
	    dom->iommu != &ioasid_mock_iommu_ops ||
	    id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	return to_nested(dom)->iotlb[id] == value ? 0 : -EINVAL;
}

/*
 * As upstream's mock: the second attach of PASID 1024 in a row fails
 * with ENOMEM, so that the core's undo of a failed replace is exercised;
 * a detach starts the count again.
 */
#define MOCK_PASID_FAKE_ERROR 1024

static int mock_attach_dev(struct ioasid_domain *dom, struct ioasid_device *dev,
			   uint32_t pasid)
{
	struct mock_dev *mdev = dev->drv;
	struct ioasid_viommu *viommu = NULL;
	uint64_t vdev_id = 0;

	if (dom->type == IOASID_DOMAIN_PAGING && to_mock(dom)->dirty_ops &&
	    (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	/* A vIOMMU's nested domain serves its virtual devices only. */
	if (dom->type == IOASID_DOMAIN_NESTED)
		viommu = to_nested(dom)->viommu;
	if (viommu && ioasid_viommu_vdev_id(viommu, dev, &vdev_id))
		return -ENOENT;
	if (pasid == MOCK_PASID_FAKE_ERROR) {
		mdev->pasid_1024_armed = !mdev->pasid_1024_armed;
		if (!mdev->pasid_1024_armed)
			return -ENOMEM;
	}
	if (pasid == IOASID_NO_PASID) {
		mdev->viommu = viommu;
		mdev->vdev_id = vdev_id;
	}
	return 0;
}

static void mock_detach_dev(struct ioasid_device *dev, uint32_t pasid)
{
	struct mock_dev *mdev = dev->drv;

	if (pasid == MOCK_PASID_FAKE_ERROR)
		mdev->pasid_1024_armed = false;
	if (pasid == IOASID_NO_PASID)
		mdev->viommu = NULL;
}

/*
 * A mock vIOMMU.  With driver data it gets a two-page region userspace
 * can mmap, whose first word is in_data: a loopback through the mmap.
 */
struct mock_viommu {
	uint64_t mmap_offset; /* 0: no region */
	/* Its HW queues by index; queue i > 0 needs queue i - 1, which it
	 * holds (users) so that it goes first. */
	pthread_mutex_t queue_lock;
	struct ioasid_hw_queue *queues[IOMMU_TEST_HW_QUEUE_MAX];
};

struct mock_hw_queue {
	uint32_t index;
	struct ioasid_hw_queue *prev;
};

static int mock_viommu_init(struct ioasid_viommu *v, struct ioasid_device *dev,
			    const struct ioasid_user_data *data)
{
	struct iommu_viommu_selftest cfg;
	struct mock_viommu *mv;
	int memfd = -1, rc;

	if (v->type != IOMMU_VIOMMU_TYPE_SELFTEST)
		return -EOPNOTSUPP;
	mv = calloc(1, sizeof(*mv));
	if (!mv)
		return -ENOMEM;
	if (data) {
		if (data->type != IOMMU_VIOMMU_TYPE_SELFTEST) {
			rc = -EINVAL;
			goto out_free;
		}
		rc = ioasid_user_data_copy(
			data, &cfg, sizeof(cfg),
			offsetofend(struct iommu_viommu_selftest, out_data));
		if (rc)
			goto out_free;
		memfd = memfd_create("mock-viommu", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, 2 * IOASID_PAGE_SIZE) ||
		    pwrite(memfd, &cfg.in_data, sizeof(cfg.in_data), 0) !=
			    sizeof(cfg.in_data)) {
			rc = -ENOMEM;
			goto out_close;
		}
		rc = ioasid_mmap_alloc(v->ctx, &v->obj, 2 * IOASID_PAGE_SIZE,
				       memfd, &mv->mmap_offset);
		if (rc)
			goto out_close;
		cfg.out_data = cfg.in_data;
		cfg.out_mmap_offset = mv->mmap_offset;
		cfg.out_mmap_length = 2 * IOASID_PAGE_SIZE;
		rc = ioasid_user_data_write(data, &cfg, sizeof(cfg));
		if (rc) {
			ioasid_mmap_destroy(v->ctx, mv->mmap_offset);
			goto out_free;
		}
	}
	pthread_mutex_init(&mv->queue_lock, NULL);
	v->priv = mv;
	return 0;

out_close:
	if (memfd >= 0)
		close(memfd);
out_free:
	free(mv);
	return rc;
}

/*
 * The guest invalidates a device's cache entries by the device's virtual
 * ID: one entry, or all of them.
 */
static int mock_viommu_cache_invalidate(struct ioasid_viommu *v,
					struct ioasid_user_data_array *array)
{
	uint32_t done = 0;
	int rc = 0;

	if (array->type != IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) {
		rc = -EINVAL;
		goto out;
	}
	for (uint32_t i = 0; i < array->entry_num; i++) {
		struct iommu_viommu_invalidate_selftest inv;
		struct ioasid_device *dev;
		struct mock_dev *mdev;

		rc = ioasid_user_data_array_copy(
			array, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, i, &inv,
			sizeof(inv),
			offsetofend(struct iommu_viommu_invalidate_selftest,
				    cache_id));
		if (rc)
			break;
		if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (inv.cache_id > MOCK_DEV_CACHE_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		/* The vIOMMU's lock keeps the device while we write. */
		pthread_mutex_lock(&v->lock);
		dev = ioasid_viommu_find_dev_locked(v, inv.vdev_id);
		if (!dev) {
			pthread_mutex_unlock(&v->lock);
			rc = -EINVAL;
			break;
		}
		mdev = dev->drv;
		if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)
			memset(mdev->cache, 0, sizeof(mdev->cache));
		else
			mdev->cache[inv.cache_id] = 0;
		pthread_mutex_unlock(&v->lock);
		done++;
	}
out:
	array->entry_num = done;
	return rc;
}

static void mock_viommu_destroy(struct ioasid_viommu *v)
{
	struct mock_viommu *mv = v->priv;

	if (mv->mmap_offset)
		ioasid_mmap_destroy(v->ctx, mv->mmap_offset);
	pthread_mutex_destroy(&mv->queue_lock);
	free(mv);
}

static bool mock_hw_queue_supported(const struct ioasid_viommu *v,
				    uint32_t type)
{
	return type == IOMMU_HW_QUEUE_TYPE_SELFTEST;
}

/*
 * Queues come in index order.  The core's idea of where the queue is in
 * physical memory is checked against the stage-2 table's own answer.
 */
static int mock_hw_queue_init(struct ioasid_hw_queue *q, uint32_t index,
			      uint64_t base_pa)
{
	struct mock_viommu *mv = q->viommu->priv;
	struct mock_hw_queue *mq;
	uint64_t pa;
	int rc = 0;

	if (index >= IOMMU_TEST_HW_QUEUE_MAX)
		return -EINVAL;
	mq = calloc(1, sizeof(*mq));
	if (!mq)
		return -ENOMEM;
	pthread_mutex_lock(&mv->queue_lock);
	if (mv->queues[index])
		rc = -EEXIST;
	else if (index && !mv->queues[index - 1])
		rc = -EIO;
	else if (ioasid_domain_iova_to_phys(q->viommu->hwpt->domain,
					    q->base_iova, &pa) ||
		 pa != base_pa)
		rc = -EFAULT;
	if (!rc) {
		mq->index = index;
		mq->prev = index ? mv->queues[index - 1] : NULL;
		if (mq->prev)
			ioasid_obj_users_inc(&mq->prev->obj);
		mv->queues[index] = q;
		q->priv = mq;
	}
	pthread_mutex_unlock(&mv->queue_lock);
	if (rc)
		free(mq);
	return rc;
}

static void mock_hw_queue_destroy(struct ioasid_hw_queue *q)
{
	struct mock_viommu *mv = q->viommu->priv;
	struct mock_hw_queue *mq = q->priv;

	pthread_mutex_lock(&mv->queue_lock);
	mv->queues[mq->index] = NULL;
	if (mq->prev)
		ioasid_obj_users_dec(&mq->prev->obj);
	pthread_mutex_unlock(&mv->queue_lock);
	free(mq);
}

static int mock_hw_info(struct ioasid_device *dev, uint32_t *type, void *buf,
			size_t *len)
{
	struct iommu_test_hw_info info = {
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL,
	};

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT &&
	    *type != IOMMU_HW_INFO_TYPE_SELFTEST)
		return -EOPNOTSUPP;
	*len = MIN(*len, sizeof(info));
	memcpy(buf, &info, *len);
	*len = sizeof(info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return 0;
}

static uint64_t mock_capabilities(struct ioasid_device *dev)
{
	const struct mock_dev *mdev = dev->drv;

	return mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY ?
		       0 :
		       IOMMU_HW_CAP_DIRTY_TRACKING;
}

static void mock_release_device(struct ioasid_device *dev)
{
	free(dev->drv);
}

const struct ioasid_iommu_ops ioasid_mock_iommu_ops = {
	.name = "mock",
	.domain_alloc_paging = mock_domain_alloc_paging,
	.domain_alloc_nested = mock_domain_alloc_nested,
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
	.viommu_init = mock_viommu_init,
	.viommu_destroy = mock_viommu_destroy,
	.viommu_cache_invalidate = mock_viommu_cache_invalidate,
	.hw_queue_supported = mock_hw_queue_supported,
	.hw_queue_init = mock_hw_queue_init,
	.hw_queue_destroy = mock_hw_queue_destroy,
	.hw_info = mock_hw_info,
	.capabilities = mock_capabilities,
	.release_device = mock_release_device,
};

int ioasid_mock_dev_create(struct ioasid_ctx *ctx, uint32_t flags, bool owned,
			   struct ioasid_device **out)
{
	struct mock_dev *mdev;
	int rc;

	if (flags & ~MOCK_DEV_FLAGS)
		return -EINVAL;
	mdev = calloc(1, sizeof(*mdev));
	if (!mdev)
		return -ENOMEM;
	mdev->flags = flags;
	for (size_t i = 0; i < MOCK_DEV_CACHE_NUM; i++)
		mdev->cache[i] = IOMMU_TEST_DEV_CACHE_DEFAULT;
	rc = ioasid_device_bind(ctx, &ioasid_mock_iommu_ops, mdev,
				flags & MOCK_FLAGS_DEVICE_PASID ?
					MOCK_PASID_WIDTH :
					0,
				owned, out);
	if (rc)
		free(mdev);
	return rc;
}

/* IOASID_DEVICE_ALLOC's mock devices: the driver's own, not the
 * selftest's (those belong to their stdev). */
static int mock_model_create(struct ioasid_ctx *ctx, bool pasid, bool owned,
			     struct ioasid_device **out)
{
	return ioasid_mock_dev_create(ctx, pasid ? MOCK_FLAGS_DEVICE_PASID : 0,
				      owned, out);
}
IOASID_DEVICE_FACTORY(mock_model, IOASID_DEVICE_MOCK, mock_model_create)
