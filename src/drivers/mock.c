/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "iommu/device.h"
#include "iommu/domain.h"
#include "iommu/driver.h"
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

static int mock_set_dirty_tracking(struct ioasid_domain *dom, bool enable)
{
	/* Turning it on starts from a clean slate. */
	if (enable && !dom->dirty_tracking)
		ioasid_domain_read_and_clear_dirty(dom, 0,
						   1ULL << dom->pt.ias_bits,
						   false, NULL, NULL);
	dom->dirty_tracking = enable;
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

static int mock_attach_dev(struct ioasid_domain *dom, struct ioasid_device *dev,
			   uint32_t pasid)
{
	const struct mock_dev *mdev = dev->drv;

	if (dom->type == IOASID_DOMAIN_PAGING && to_mock(dom)->dirty_ops &&
	    (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	return 0;
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
	.attach_dev = mock_attach_dev,
	.hw_info = mock_hw_info,
	.capabilities = mock_capabilities,
	.release_device = mock_release_device,
};

int ioasid_mock_dev_create(struct ioasid_ctx *ctx, uint32_t flags,
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
				out);
	if (rc)
		free(mdev);
	return rc;
}
