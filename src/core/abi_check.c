/* SPDX-License-Identifier: MIT */
/*
 * The ABI is the product: these assertions pin every ioctl number, struct
 * size and the offsets programs depend on to Linux v7.2 on x86-64.  A change
 * to the uapi headers that moves a byte stops the build here.
 */
#include <stddef.h>

#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"

#define PIN_EQ(a, b) _Static_assert((a) == (b), #a " != " #b)
#define PIN_SIZE(st, n) PIN_EQ(sizeof(struct st), n)
#define PIN_OFF(st, f, n) PIN_EQ(offsetof(struct st, f), n)

/* ioctl numbers: _IO(';', nr) carries no size or direction bits. */
PIN_EQ(IOMMUFD_TYPE, 0x3b);
PIN_EQ(IOMMU_DESTROY, 0x3b80);
PIN_EQ(IOMMU_IOAS_ALLOC, 0x3b81);
PIN_EQ(IOMMU_IOAS_ALLOW_IOVAS, 0x3b82);
PIN_EQ(IOMMU_IOAS_COPY, 0x3b83);
PIN_EQ(IOMMU_IOAS_IOVA_RANGES, 0x3b84);
PIN_EQ(IOMMU_IOAS_MAP, 0x3b85);
PIN_EQ(IOMMU_IOAS_UNMAP, 0x3b86);
PIN_EQ(IOMMU_OPTION, 0x3b87);
PIN_EQ(IOMMU_VFIO_IOAS, 0x3b88);
PIN_EQ(IOMMU_HWPT_ALLOC, 0x3b89);
PIN_EQ(IOMMU_GET_HW_INFO, 0x3b8a);
PIN_EQ(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x3b8b);
PIN_EQ(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x3b8c);
PIN_EQ(IOMMU_HWPT_INVALIDATE, 0x3b8d);
PIN_EQ(IOMMU_FAULT_QUEUE_ALLOC, 0x3b8e);
PIN_EQ(IOMMU_IOAS_MAP_FILE, 0x3b8f);
PIN_EQ(IOMMU_VIOMMU_ALLOC, 0x3b90);
PIN_EQ(IOMMU_VDEVICE_ALLOC, 0x3b91);
PIN_EQ(IOMMU_IOAS_CHANGE_PROCESS, 0x3b92);
PIN_EQ(IOMMU_VEVENTQ_ALLOC, 0x3b93);
PIN_EQ(IOMMU_HW_QUEUE_ALLOC, 0x3b94);
PIN_EQ(IOMMU_TEST_CMD, 0x3ba0);

PIN_EQ(VFIO_GET_API_VERSION, 0x3b64);
PIN_EQ(VFIO_CHECK_EXTENSION, 0x3b65);
PIN_EQ(VFIO_SET_IOMMU, 0x3b66);
PIN_EQ(VFIO_IOMMU_GET_INFO, 0x3b70);
PIN_EQ(VFIO_IOMMU_MAP_DMA, 0x3b71);
PIN_EQ(VFIO_IOMMU_UNMAP_DMA, 0x3b72);
PIN_EQ(VFIO_IOMMU_DIRTY_PAGES, 0x3b75);

/* Struct sizes. */
PIN_SIZE(iommu_destroy, 8);
PIN_SIZE(iommu_ioas_alloc, 12);
PIN_SIZE(iommu_iova_range, 16);
PIN_SIZE(iommu_ioas_iova_ranges, 32);
PIN_SIZE(iommu_ioas_allow_iovas, 24);
PIN_SIZE(iommu_ioas_map, 40);
PIN_SIZE(iommu_ioas_map_file, 40);
PIN_SIZE(iommu_ioas_copy, 40);
PIN_SIZE(iommu_ioas_unmap, 24);
PIN_SIZE(iommu_option, 24);
PIN_SIZE(iommu_vfio_ioas, 12);
PIN_SIZE(iommu_hwpt_vtd_s1, 24);
PIN_SIZE(iommu_hwpt_arm_smmuv3, 16);
PIN_SIZE(iommu_hwpt_amd_guest, 32);
PIN_SIZE(iommu_hwpt_alloc, 48);
PIN_SIZE(iommu_hw_info_vtd, 24);
PIN_SIZE(iommu_hw_info_arm_smmuv3, 40);
PIN_SIZE(iommu_hw_info_tegra241_cmdqv, 8);
PIN_SIZE(iommu_hw_info_amd, 16);
PIN_SIZE(iommu_hw_info, 40);
PIN_SIZE(iommu_hwpt_set_dirty_tracking, 16);
PIN_SIZE(iommu_hwpt_get_dirty_bitmap, 48);
PIN_SIZE(iommu_hwpt_vtd_s1_invalidate, 24);
PIN_SIZE(iommu_viommu_arm_smmuv3_invalidate, 16);
PIN_SIZE(iommu_hwpt_invalidate, 32);
PIN_SIZE(iommu_hwpt_pgfault, 40);
PIN_SIZE(iommu_hwpt_page_response, 8);
PIN_SIZE(iommu_fault_alloc, 16);
PIN_SIZE(iommu_viommu_tegra241_cmdqv, 16);
PIN_SIZE(iommu_viommu_alloc, 40);
PIN_SIZE(iommu_vdevice_alloc, 24);
PIN_SIZE(iommu_ioas_change_process, 8);
PIN_SIZE(iommufd_vevent_header, 8);
PIN_SIZE(iommu_vevent_arm_smmuv3, 32);
PIN_SIZE(iommu_vevent_tegra241_cmdqv, 16);
PIN_SIZE(iommu_veventq_alloc, 32);
PIN_SIZE(iommu_hw_queue_alloc, 40);
PIN_SIZE(iommu_test_cmd, 72);
PIN_SIZE(iommu_test_hw_info, 8);
PIN_SIZE(iommu_hwpt_selftest, 8);
PIN_SIZE(iommu_hwpt_invalidate_selftest, 8);
PIN_SIZE(iommu_viommu_selftest, 24);
PIN_SIZE(iommu_viommu_invalidate_selftest, 12);
PIN_SIZE(vfio_info_cap_header, 8);
PIN_SIZE(vfio_iommu_type1_info, 24);
PIN_SIZE(vfio_iommu_type1_info_cap_iova_range, 16);
PIN_SIZE(vfio_iommu_type1_info_dma_avail, 12);
PIN_SIZE(vfio_iommu_type1_dma_map, 32);
PIN_SIZE(vfio_iommu_type1_dma_unmap, 24);

/* Offsets: every mandatory-prefix end (the EINVAL boundary) and the fields
 * that programs and the wire protocol address directly. */
PIN_OFF(iommu_destroy, id, 4);
PIN_OFF(iommu_ioas_alloc, out_ioas_id, 8);
PIN_OFF(iommu_ioas_iova_ranges, num_iovas, 8);
PIN_OFF(iommu_ioas_iova_ranges, allowed_iovas, 16);
PIN_OFF(iommu_ioas_iova_ranges, out_iova_alignment, 24);
PIN_OFF(iommu_ioas_allow_iovas, allowed_iovas, 16);
PIN_OFF(iommu_ioas_map, user_va, 16);
PIN_OFF(iommu_ioas_map, length, 24);
PIN_OFF(iommu_ioas_map, iova, 32);
PIN_OFF(iommu_ioas_map_file, fd, 12);
PIN_OFF(iommu_ioas_map_file, start, 16);
PIN_OFF(iommu_ioas_map_file, iova, 32);
PIN_OFF(iommu_ioas_copy, length, 16);
PIN_OFF(iommu_ioas_copy, src_iova, 32);
PIN_OFF(iommu_ioas_unmap, iova, 8);
PIN_OFF(iommu_ioas_unmap, length, 16);
PIN_OFF(iommu_option, op, 8);
PIN_OFF(iommu_option, __reserved, 10);
PIN_OFF(iommu_option, object_id, 12);
PIN_OFF(iommu_option, val64, 16);
PIN_OFF(iommu_vfio_ioas, op, 8);
PIN_OFF(iommu_vfio_ioas, __reserved, 10);
PIN_OFF(iommu_hwpt_alloc, __reserved, 20);
PIN_OFF(iommu_hwpt_alloc, data_type, 24);
PIN_OFF(iommu_hwpt_alloc, data_len, 28);
PIN_OFF(iommu_hwpt_alloc, data_uptr, 32);
PIN_OFF(iommu_hwpt_alloc, fault_id, 40);
PIN_OFF(iommu_hw_info, data_len, 12);
PIN_OFF(iommu_hw_info, data_uptr, 16);
PIN_OFF(iommu_hw_info, out_data_type, 24);
PIN_OFF(iommu_hw_info, out_max_pasid_log2, 28);
PIN_OFF(iommu_hw_info, __reserved, 29);
PIN_OFF(iommu_hw_info, out_capabilities, 32);
PIN_OFF(iommu_hwpt_get_dirty_bitmap, iova, 16);
PIN_OFF(iommu_hwpt_get_dirty_bitmap, page_size, 32);
PIN_OFF(iommu_hwpt_get_dirty_bitmap, data, 40);
PIN_OFF(iommu_hwpt_invalidate, data_uptr, 8);
PIN_OFF(iommu_hwpt_invalidate, entry_len, 20);
PIN_OFF(iommu_hwpt_invalidate, entry_num, 24);
PIN_OFF(iommu_hwpt_invalidate, __reserved, 28);
PIN_OFF(iommu_hwpt_pgfault, addr, 24);
PIN_OFF(iommu_hwpt_pgfault, cookie, 36);
PIN_OFF(iommu_fault_alloc, out_fault_fd, 12);
PIN_OFF(iommu_viommu_alloc, out_viommu_id, 20);
PIN_OFF(iommu_viommu_alloc, data_len, 24);
PIN_OFF(iommu_viommu_alloc, data_uptr, 32);
PIN_OFF(iommu_vdevice_alloc, virt_id, 16);
PIN_OFF(iommu_veventq_alloc, out_veventq_fd, 24);
PIN_OFF(iommu_veventq_alloc, __reserved, 28);
PIN_OFF(iommu_hw_queue_alloc, nesting_parent_iova, 24);
PIN_OFF(iommu_hw_queue_alloc, length, 32);
PIN_OFF(iommu_test_cmd, add_reserved, 16);
PIN_OFF(iommu_test_cmd, check_refs.refs, 32);
PIN_OFF(iommu_test_cmd, access_rw.flags, 40);
PIN_OFF(iommu_test_cmd, dirty.out_nr_dirty, 56);
PIN_OFF(iommu_test_cmd, last, 64);
PIN_OFF(vfio_iommu_type1_info, iova_pgsizes, 8);
PIN_OFF(vfio_iommu_type1_info, cap_offset, 16);
PIN_OFF(vfio_iommu_type1_dma_map, size, 24);
PIN_OFF(vfio_iommu_type1_dma_unmap, size, 16);

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
PIN_EQ(IOASID_PROCESS_ACCOUNTING, 0x3c00);
PIN_SIZE(ioasid_process_accounting, 24);
PIN_OFF(ioasid_process_accounting, out_pinned, 8);
PIN_OFF(ioasid_process_accounting, out_locked, 16);
PIN_EQ(IOASID_DEVICE_DMA, 0x3c01);
PIN_SIZE(ioasid_device_dma, 40);
PIN_OFF(ioasid_device_dma, pasid, 12);
PIN_OFF(ioasid_device_dma, iova, 16);
PIN_OFF(ioasid_device_dma, length, 24);
PIN_OFF(ioasid_device_dma, uptr, 32);
PIN_EQ(IOASID_DEVICE_ALLOC, 0x3c02);
PIN_SIZE(ioasid_device_alloc, 16);
PIN_OFF(ioasid_device_alloc, out_dev_id, 12);
PIN_EQ(IOASID_DEVICE_ATTACH, 0x3c03);
PIN_SIZE(ioasid_device_attach, 24);
PIN_OFF(ioasid_device_attach, pt_id, 16);
PIN_EQ(IOASID_DEVICE_DETACH, 0x3c04);
PIN_SIZE(ioasid_device_detach, 16);
PIN_OFF(ioasid_device_detach, pasid, 12);
