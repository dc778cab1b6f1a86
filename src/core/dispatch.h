/* SPDX-License-Identifier: MIT */
/*
 * The handlers behind the descriptor table.  Each returns 0 (or a
 * non-negative ioctl result) or -errno; each lives with its object.
 */
#ifndef IOASID_CORE_DISPATCH_H
#define IOASID_CORE_DISPATCH_H

struct ioasid_ucmd;

typedef long (*ioasid_handler_fn)(struct ioasid_ucmd *u);

long ioasid_destroy_ioctl(struct ioasid_ucmd *u);        /* core/dispatch.c */
long ioasid_option_ioctl(struct ioasid_ucmd *u);         /* core/option.c */
long ioasid_ioas_alloc_ioctl(struct ioasid_ucmd *u);     /* iopt/ioas.c */
long ioasid_ioas_iova_ranges_ioctl(struct ioasid_ucmd *u);
long ioasid_ioas_allow_iovas_ioctl(struct ioasid_ucmd *u);
long ioasid_ioas_map_ioctl(struct ioasid_ucmd *u);
long ioasid_ioas_map_file_ioctl(struct ioasid_ucmd *u);
long ioasid_ioas_copy_ioctl(struct ioasid_ucmd *u);
long ioasid_ioas_unmap_ioctl(struct ioasid_ucmd *u);
long ioasid_ioas_change_process_ioctl(struct ioasid_ucmd *u); /* iopt/change_process.c */
long ioasid_process_accounting_ioctl(struct ioasid_ucmd *u); /* pages/account.c */
long ioasid_get_hw_info_ioctl(struct ioasid_ucmd *u);    /* iommu/device.c */
long ioasid_device_dma_ioctl(struct ioasid_ucmd *u);     /* iommu/dma.c */
long ioasid_device_alloc_ioctl(struct ioasid_ucmd *u);   /* iommu/device_ioctl.c */
long ioasid_device_attach_ioctl(struct ioasid_ucmd *u);
long ioasid_device_detach_ioctl(struct ioasid_ucmd *u);
long ioasid_fault_alloc_ioctl(struct ioasid_ucmd *u);    /* iommu/fault.c */
long ioasid_hwpt_alloc_ioctl(struct ioasid_ucmd *u);     /* iommu/hwpt.c */
long ioasid_hwpt_invalidate_ioctl(struct ioasid_ucmd *u);
long ioasid_viommu_alloc_ioctl(struct ioasid_ucmd *u);   /* iommu/viommu.c */
long ioasid_vdevice_alloc_ioctl(struct ioasid_ucmd *u);  /* iommu/vdevice.c */
long ioasid_veventq_alloc_ioctl(struct ioasid_ucmd *u);  /* iommu/veventq.c */
long ioasid_hw_queue_alloc_ioctl(struct ioasid_ucmd *u); /* iommu/hw_queue.c */
/* iommu/dirty.c */
long ioasid_hwpt_set_dirty_tracking_ioctl(struct ioasid_ucmd *u);
long ioasid_hwpt_get_dirty_bitmap_ioctl(struct ioasid_ucmd *u);
long ioasid_test_cmd_ioctl(struct ioasid_ucmd *u);       /* iommu/selftest.c */
long ioasid_vfio_get_api_version(struct ioasid_ucmd *u); /* iommu/vfio_compat.c */
long ioasid_vfio_check_extension(struct ioasid_ucmd *u);
long ioasid_vfio_set_iommu(struct ioasid_ucmd *u);
long ioasid_vfio_map_dma(struct ioasid_ucmd *u);
long ioasid_vfio_unmap_dma(struct ioasid_ucmd *u);
long ioasid_vfio_iommu_get_info(struct ioasid_ucmd *u);
long ioasid_vfio_ioas_ioctl(struct ioasid_ucmd *u);

#endif
