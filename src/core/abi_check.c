/* SPDX-License-Identifier: MIT */
/*
 * The ABI is the product: these assertions pin every ioctl number, struct
 * size and the offsets programs depend on to Linux v7.2 on x86-64.  A change
 * to the uapi headers that moves a byte stops the build here.  The ioctls
 * and the structs their pointers name are pinned from their entries in
 * ioctls.def (number, size, every field's offset); what follows them here
 * is the rest of the ABI: payload structs, events and constants.
 */
#include <fcntl.h>
#include <stddef.h>

#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"
#include "ioctl_def.h"

#define PIN_EQ(a, b) _Static_assert((a) == (b), #a " != " #b)
#define PIN_SIZE(st, n) PIN_EQ(sizeof(struct st), n)
#define PIN_OFF(st, f, n) PIN_EQ(offsetof(struct st, f), n)

#define PIN_FIELD(st, t) IOASID_CALL(PIN_FIELD_, (st, IOASID_UNPACK t))
#define PIN_FIELD_(st, name, off, ...) PIN_OFF(st, name, off);
#define IOASID_IOCTL(cmd, nr, argk, st, sz, last, handler, attrs, ...) \
	PIN_EQ(cmd, nr);                                               \
	PIN_SIZE(st, sz);                                              \
	IOASID_FOR_EACH(PIN_FIELD, st, __VA_ARGS__)
#define IOASID_IOCTL_INT(cmd, nr, argk, handler, attrs) PIN_EQ(cmd, nr);
#define IOASID_STRUCT(name, st, sz, ...) \
	PIN_SIZE(st, sz);                \
	IOASID_FOR_EACH(PIN_FIELD, st, __VA_ARGS__)
#include "ioctls.def"

/* ioctl numbers: _IO(';', nr) carries no size or direction bits. */
PIN_EQ(IOMMUFD_TYPE, 0x3b);

PIN_EQ(VFIO_IOMMU_DIRTY_PAGES, 0x3b75);

/* Struct sizes. */
PIN_SIZE(iommu_hwpt_vtd_s1, 24);
PIN_SIZE(iommu_hwpt_arm_smmuv3, 16);
PIN_SIZE(iommu_hwpt_amd_guest, 32);
PIN_SIZE(iommu_hw_info_vtd, 24);
PIN_SIZE(iommu_hw_info_arm_smmuv3, 40);
PIN_SIZE(iommu_hw_info_tegra241_cmdqv, 8);
PIN_SIZE(iommu_hw_info_amd, 16);
PIN_SIZE(iommu_hwpt_vtd_s1_invalidate, 24);
PIN_SIZE(iommu_viommu_arm_smmuv3_invalidate, 16);
PIN_SIZE(iommu_hwpt_pgfault, 40);
PIN_SIZE(iommu_hwpt_page_response, 8);
PIN_SIZE(iommu_viommu_tegra241_cmdqv, 16);
PIN_SIZE(iommufd_vevent_header, 8);
PIN_SIZE(iommu_vevent_arm_smmuv3, 32);
PIN_SIZE(iommu_vevent_tegra241_cmdqv, 16);
PIN_SIZE(iommu_test_hw_info, 8);
PIN_SIZE(iommu_viommu_invalidate_selftest, 12);
PIN_SIZE(vfio_info_cap_header, 8);
PIN_SIZE(vfio_region_info_cap_sparse_mmap, 16);
PIN_SIZE(vfio_region_sparse_mmap_area, 16);
PIN_SIZE(vfio_iommu_type1_info_cap_iova_range, 16);
PIN_SIZE(vfio_iommu_type1_info_dma_avail, 12);

/* Offsets programs read in payloads. */
PIN_OFF(iommu_hwpt_pgfault, addr, 24);
PIN_OFF(iommu_hwpt_pgfault, cookie, 36);

/* Constants that cross the ABI. */
PIN_EQ(MOCK_APERTURE_START, 1UL << 24);
PIN_EQ(MOCK_APERTURE_LAST, (1UL << 31) - 1);
PIN_EQ(MOCK_PAGE_SIZE, 2048);
PIN_EQ(IOMMU_TEST_OP_DMABUF_REVOKE, 23);
PIN_EQ(IOMMU_HWPT_ALLOC_PASID, 8);
PIN_EQ(IOMMU_HW_INFO_TYPE_AMD, 4);
PIN_EQ(VFIO_UNMAP_ALL, 9);

/* Our own extensions: their own type, never upstream's numbers. */
PIN_EQ(IOASID_EXT_TYPE, 0x3c);
