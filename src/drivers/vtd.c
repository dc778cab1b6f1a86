/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "iommu/domain.h"
#include "iommu/driver.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "vtd.h"

#define VTD_IAS_BITS 48
#define VTD_PASID_BITS 20

/*
 * Capability and extended capability register fields (VT-d spec, 11.4.2
 * and 11.4.3) of the IOMMU we model.
 */
#define CAP_SAGAW_4LEVEL (1ULL << (8 + 2))   /* 48-bit second level */
#define CAP_MGAW(bits) ((uint64_t)((bits) - 1) << 16)
#define CAP_SLLPS_2M_1G (3ULL << 34)          /* second-level 2M, 1G */
#define CAP_PSI (1ULL << 39)                  /* page-selective invalidation */
#define CAP_FL1GP (1ULL << 56)                /* first-level 1G pages */
#define ECAP_C (1ULL << 0)                    /* coherent page walks */
#define ECAP_QI (1ULL << 1)                   /* queued invalidation */
#define ECAP_NEST (1ULL << 26)                /* nested translation */
#define ECAP_PRS (1ULL << 29)                 /* page requests */
#define ECAP_PSS(bits) ((uint64_t)((bits) - 1) << 35) /* PASID size */
#define ECAP_PASID (1ULL << 40)
#define ECAP_SMTS (1ULL << 43)                /* scalable mode */
#define ECAP_SLADS (1ULL << 45)               /* second-level A/D */
#define ECAP_SLTS (1ULL << 46)                /* second-level tables */
#define ECAP_FLTS (1ULL << 47)                /* first-level tables */

struct vtd_dev {
	bool pasid;
};

struct vtd_domain {
	struct ioasid_domain dom;
	bool second_level;
};

static void vtd_domain_free(struct ioasid_domain *dom)
{
	ioasid_domain_fini(dom);
	free(container_of(dom, struct vtd_domain, dom));
}

/* The core has cleared the dirty bits before tracking is turned on. */
static int vtd_set_dirty_tracking(struct ioasid_domain *dom, bool enable)
{
	atomic_store(&dom->dirty_tracking, enable);
	return 0;
}

static const struct ioasid_domain_ops vtd_fl_ops = {
	.free = vtd_domain_free,
};

static const struct ioasid_domain_ops vtd_sl_ops = {
	.free = vtd_domain_free,
	.set_dirty_tracking = vtd_set_dirty_tracking,
};

static int vtd_domain_alloc_paging(struct ioasid_device *dev, uint32_t flags,
				   const struct ioasid_user_data *data,
				   struct ioasid_domain **out)
{
	/* Nest parents and dirty tracking need the second level. */
	bool sl = flags & (IOMMU_HWPT_ALLOC_NEST_PARENT |
			   IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	struct vtd_domain *vd;
	int rc;

	if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
		      IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID))
		return -EOPNOTSUPP;
	if (data)
		return -EOPNOTSUPP; /* paging domains take no driver data */
	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	rc = ioasid_domain_init_paging(&vd->dom,
				       sl ? &pt_fmt_vtd_sl : &pt_fmt_vtd_fl,
				       VTD_IAS_BITS,
				       pt_native_sizes(&pt_fmt_vtd_sl,
						       VTD_IAS_BITS),
				       0, (1ULL << VTD_IAS_BITS) - 1);
	if (rc) {
		free(vd);
		return rc;
	}
	vd->second_level = sl;
	vd->dom.ops = sl ? &vtd_sl_ops : &vtd_fl_ops;
	vd->dom.iommu = &ioasid_vtd_iommu_ops;
	*out = &vd->dom;
	return 0;
}

static int vtd_attach_dev(struct ioasid_domain *dom, struct ioasid_device *dev,
			  uint32_t pasid)
{
	return 0;
}

static int vtd_hw_info(struct ioasid_device *dev, uint32_t *type, void *buf,
		       size_t *len)
{
	struct iommu_hw_info_vtd info = {
		.cap_reg = CAP_SAGAW_4LEVEL | CAP_MGAW(VTD_IAS_BITS) |
			   CAP_SLLPS_2M_1G | CAP_PSI | CAP_FL1GP,
		.ecap_reg = ECAP_C | ECAP_QI | ECAP_NEST | ECAP_PRS |
			    ECAP_PSS(VTD_PASID_BITS) | ECAP_PASID | ECAP_SMTS |
			    ECAP_SLADS | ECAP_SLTS | ECAP_FLTS,
	};

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT &&
	    *type != IOMMU_HW_INFO_TYPE_INTEL_VTD)
		return -EOPNOTSUPP;
	*len = MIN(*len, sizeof(info));
	memcpy(buf, &info, *len);
	*len = sizeof(info);
	*type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	return 0;
}

static uint64_t vtd_capabilities(struct ioasid_device *dev)
{
	return IOMMU_HW_CAP_DIRTY_TRACKING;
}

static size_t vtd_resv_regions(struct ioasid_device *dev,
			       struct ioasid_resv_region *out, size_t max)
{
	if (!max)
		return 0;
	out[0] = (struct ioasid_resv_region){ VTD_MSI_START, VTD_MSI_LAST };
	return 1;
}

static void vtd_release_device(struct ioasid_device *dev)
{
	free(ioasid_device_drv(dev));
}

const struct ioasid_iommu_ops ioasid_vtd_iommu_ops = {
	.name = "vtd",
	.domain_alloc_paging = vtd_domain_alloc_paging,
	.attach_dev = vtd_attach_dev,
	.hw_info = vtd_hw_info,
	.capabilities = vtd_capabilities,
	.resv_regions = vtd_resv_regions,
	.release_device = vtd_release_device,
};

static int vtd_dev_create(struct ioasid_ctx *ctx, bool pasid, bool owned,
			  struct ioasid_device **out)
{
	struct vtd_dev *vdev = calloc(1, sizeof(*vdev));
	int rc;

	if (!vdev)
		return -ENOMEM;
	vdev->pasid = pasid;
	rc = ioasid_device_bind(ctx, &ioasid_vtd_iommu_ops, vdev,
				pasid ? VTD_PASID_BITS : 0, owned, out);
	if (rc)
		free(vdev);
	return rc;
}
IOASID_DEVICE_FACTORY(vtd_model, IOASID_DEVICE_VTD, vtd_dev_create)
