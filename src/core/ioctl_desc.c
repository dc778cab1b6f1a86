/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"
#include "ioctl_desc.h"
#include "util.h"

#define NOF IOASID_NO_FIELD

/* A pointer to `count` elements of a fixed size. */
#define PTR_N(st, ptr, cnt, esz, d) \
	{ offsetof(struct st, ptr), offsetof(struct st, cnt), NOF, esz, d, 0 }
/* A pointer to count * (the __u32 esz_field) bytes. */
#define PTR_NV(st, ptr, cnt, esz_field, d)                                  \
	{ offsetof(struct st, ptr), offsetof(struct st, cnt),               \
	  offsetof(struct st, esz_field), 0, d, 0 }

static const struct ioasid_ptr_desc iova_ranges_ptrs[] = {
	PTR_N(iommu_ioas_iova_ranges, allowed_iovas, num_iovas,
	      sizeof(struct iommu_iova_range), IOASID_PTR_OUT),
};
static const struct ioasid_ptr_desc allow_iovas_ptrs[] = {
	PTR_N(iommu_ioas_allow_iovas, allowed_iovas, num_iovas,
	      sizeof(struct iommu_iova_range), IOASID_PTR_IN),
};
static const struct ioasid_ptr_desc hwpt_alloc_ptrs[] = {
	PTR_N(iommu_hwpt_alloc, data_uptr, data_len, 1, IOASID_PTR_IN),
};
static const struct ioasid_ptr_desc device_dma_ptrs[] = {
	PTR_N(ioasid_device_dma, uptr, length, 1, IOASID_PTR_INOUT),
};
static const struct ioasid_ptr_desc hw_info_ptrs[] = {
	PTR_N(iommu_hw_info, data_uptr, data_len, 1, IOASID_PTR_OUT),
};
static const struct ioasid_ptr_desc invalidate_ptrs[] = {
	PTR_NV(iommu_hwpt_invalidate, data_uptr, entry_num, entry_len,
	       IOASID_PTR_INOUT),
};
static const struct ioasid_ptr_desc viommu_alloc_ptrs[] = {
	PTR_N(iommu_viommu_alloc, data_uptr, data_len, 1, IOASID_PTR_INOUT),
};

#define PTRS(a) .ptrs = a, .nptrs = ARRAY_SIZE(a)
#define FDS(a) .fds = a, .nfds = ARRAY_SIZE(a)

static const struct ioasid_fd_desc map_file_fds[] = {
	{ offsetof(struct iommu_ioas_map_file, fd), 0 },
};
/* The selftest names an access by its fd, in `id`, and a dma-buf in its
 * revoke op. */
static const struct ioasid_fd_desc test_cmd_fds[] = {
	{ offsetof(struct iommu_test_cmd, id), IOMMU_TEST_OP_ACCESS_REPLACE_IOAS },
	{ offsetof(struct iommu_test_cmd, id), IOMMU_TEST_OP_ACCESS_PAGES },
	{ offsetof(struct iommu_test_cmd, id), IOMMU_TEST_OP_DESTROY_ACCESS_PAGES },
	{ offsetof(struct iommu_test_cmd, id), IOMMU_TEST_OP_ACCESS_RW },
	{ offsetof(struct iommu_test_cmd, dmabuf_revoke.dmabuf_fd),
	  IOMMU_TEST_OP_DMABUF_REVOKE },
};

/* An iommufd ioctl: size-first struct, unknown flags -> EOPNOTSUPP. */
#define SIZED(_cmd, st, last, ...)                                          \
	{ .name = #_cmd, .cmd = _cmd, .arg = IOASID_ARG_SIZED,               \
	  .size = sizeof(struct st), .min_size = offsetofend(struct st, last), \
	  .bad_flags_errno = EOPNOTSUPP, __VA_ARGS__ }
#define FLAGS(st, mask) .flags_off = offsetof(struct st, flags), .flags_mask = (mask)
#define RSVD(st, f) \
	.reserved_off = offsetof(struct st, f), .reserved_len = sizeof(((struct st *)0)->f)

/* A VFIO container ioctl: argsz-first struct, or a plain value. */
#define ARGSZ(_cmd, st, last, ...)                                          \
	{ .name = #_cmd, .cmd = _cmd, .arg = IOASID_ARG_ARGSZ,               \
	  .size = sizeof(struct st), .min_size = offsetofend(struct st, last), \
	  .bad_flags_errno = EINVAL, __VA_ARGS__ }
#define VALUE(_cmd, kind)                                                   \
	{ .name = #_cmd, .cmd = _cmd, .arg = kind }

static const struct ioasid_ioctl_desc table[] = {
	SIZED(IOMMU_DESTROY, iommu_destroy, id),
	SIZED(IOMMU_IOAS_ALLOC, iommu_ioas_alloc, out_ioas_id,
	      FLAGS(iommu_ioas_alloc, 0)),
	SIZED(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas, allowed_iovas,
	      RSVD(iommu_ioas_allow_iovas, __reserved), PTRS(allow_iovas_ptrs)),
	SIZED(IOMMU_IOAS_COPY, iommu_ioas_copy, src_iova,
	      FLAGS(iommu_ioas_copy, IOMMU_IOAS_MAP_FIXED_IOVA |
				      IOMMU_IOAS_MAP_WRITEABLE |
				      IOMMU_IOAS_MAP_READABLE)),
	SIZED(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges, out_iova_alignment,
	      RSVD(iommu_ioas_iova_ranges, __reserved), PTRS(iova_ranges_ptrs)),
	SIZED(IOMMU_IOAS_MAP, iommu_ioas_map, iova,
	      FLAGS(iommu_ioas_map, IOMMU_IOAS_MAP_FIXED_IOVA |
				     IOMMU_IOAS_MAP_WRITEABLE |
				     IOMMU_IOAS_MAP_READABLE),
	      RSVD(iommu_ioas_map, __reserved)),
	SIZED(IOMMU_IOAS_UNMAP, iommu_ioas_unmap, length),
	SIZED(IOMMU_OPTION, iommu_option, val64, RSVD(iommu_option, __reserved)),
	SIZED(IOMMU_VFIO_IOAS, iommu_vfio_ioas, __reserved,
	      RSVD(iommu_vfio_ioas, __reserved)),
	SIZED(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc, __reserved,
	      PTRS(hwpt_alloc_ptrs)),
	SIZED(IOMMU_GET_HW_INFO, iommu_hw_info, __reserved, PTRS(hw_info_ptrs)),
	SIZED(IOMMU_HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking,
	      __reserved),
	SIZED(IOMMU_HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap, data),
	SIZED(IOMMU_HWPT_INVALIDATE, iommu_hwpt_invalidate, __reserved,
	      PTRS(invalidate_ptrs)),
	SIZED(IOMMU_FAULT_QUEUE_ALLOC, iommu_fault_alloc, out_fault_fd,
	      FLAGS(iommu_fault_alloc, 0)),
	SIZED(IOMMU_IOAS_MAP_FILE, iommu_ioas_map_file, iova,
	      FLAGS(iommu_ioas_map_file, IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_WRITEABLE |
					  IOMMU_IOAS_MAP_READABLE),
	      FDS(map_file_fds)),
	SIZED(IOMMU_VIOMMU_ALLOC, iommu_viommu_alloc, out_viommu_id,
	      PTRS(viommu_alloc_ptrs)),
	SIZED(IOMMU_VDEVICE_ALLOC, iommu_vdevice_alloc, virt_id),
	SIZED(IOMMU_IOAS_CHANGE_PROCESS, iommu_ioas_change_process, __reserved,
	      RSVD(iommu_ioas_change_process, __reserved)),
	SIZED(IOMMU_VEVENTQ_ALLOC, iommu_veventq_alloc, out_veventq_fd),
	SIZED(IOMMU_HW_QUEUE_ALLOC, iommu_hw_queue_alloc, length),
	SIZED(IOMMU_TEST_CMD, iommu_test_cmd, last, FDS(test_cmd_fds)),

	SIZED(IOASID_PROCESS_ACCOUNTING, ioasid_process_accounting, out_locked),
	SIZED(IOASID_DEVICE_ALLOC, ioasid_device_alloc, out_dev_id,
	      FLAGS(ioasid_device_alloc, IOASID_DEVICE_ALLOC_PASID)),
	SIZED(IOASID_DEVICE_ATTACH, ioasid_device_attach, __reserved,
	      FLAGS(ioasid_device_attach,
		    IOASID_ATTACH_PASID | IOASID_ATTACH_REPLACE),
	      RSVD(ioasid_device_attach, __reserved)),
	SIZED(IOASID_DEVICE_DETACH, ioasid_device_detach, pasid,
	      FLAGS(ioasid_device_detach, IOASID_ATTACH_PASID)),
	SIZED(IOASID_DEVICE_DMA, ioasid_device_dma, uptr,
	      FLAGS(ioasid_device_dma, IOASID_DMA_WRITE | IOASID_DMA_PASID),
	      PTRS(device_dma_ptrs)),

	VALUE(VFIO_GET_API_VERSION, IOASID_ARG_NONE),
	VALUE(VFIO_CHECK_EXTENSION, IOASID_ARG_VALUE),
	VALUE(VFIO_SET_IOMMU, IOASID_ARG_VALUE),
	ARGSZ(VFIO_IOMMU_GET_INFO, vfio_iommu_type1_info, iova_pgsizes),
	ARGSZ(VFIO_IOMMU_MAP_DMA, vfio_iommu_type1_dma_map, size,
	      FLAGS(vfio_iommu_type1_dma_map,
		    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)),
	ARGSZ(VFIO_IOMMU_UNMAP_DMA, vfio_iommu_type1_dma_unmap, size,
	      FLAGS(vfio_iommu_type1_dma_unmap, VFIO_DMA_UNMAP_FLAG_ALL)),
};

const struct ioasid_ioctl_desc *ioasid_ioctl_desc_find(unsigned int cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (table[i].cmd == cmd)
			return &table[i];
	return NULL;
}

unsigned int ioasid_ioctl_desc_index(const struct ioasid_ioctl_desc *d)
{
	return (unsigned int)(d - table);
}

unsigned int ioasid_ioctl_desc_count(void)
{
	return ARRAY_SIZE(table);
}

const struct ioasid_ioctl_desc *ioasid_ioctl_desc_at(unsigned int i)
{
	return i < ARRAY_SIZE(table) ? &table[i] : NULL;
}

static uint32_t field_u32(const void *cmd, uint16_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)cmd + off, sizeof(v));
	return v;
}

int ioasid_ioctl_desc_fd(const struct ioasid_ioctl_desc *d, const void *cmd,
			 size_t len)
{
	/* Every struct with an op-dependent field leads with size, op. */
	uint32_t op = len >= 8 ? field_u32(cmd, 4) : 0;
	int32_t fd;

	for (unsigned int i = 0; i < d->nfds; i++) {
		const struct ioasid_fd_desc *f = &d->fds[i];

		if ((f->op && f->op != op) || len < f->off + sizeof(fd))
			continue;
		memcpy(&fd, (const char *)cmd + f->off, sizeof(fd));
		return fd < 0 ? -1 : fd;
	}
	return -1;
}

int ioasid_ptr_desc_extent(const struct ioasid_ptr_desc *p, const void *cmd,
			   uint64_t *uptr, uint64_t *len)
{
	uint64_t esz = p->elem_size_off != IOASID_NO_FIELD ?
			       field_u32(cmd, p->elem_size_off) :
			       p->elem_size;

	memcpy(uptr, (const char *)cmd + p->ptr_off, sizeof(*uptr));
	/* u32 * u32 always fits in 64 bits. */
	*len = (uint64_t)field_u32(cmd, p->count_off) * esz;
	return 0;
}
