/* SPDX-License-Identifier: MIT */
/*
 * ioctl dispatch: the size-first rules of the iommufd ABI, applied the same
 * way to every command before its handler sees it.
 */
#include <errno.h>
#include <string.h>

#include "context.h"
#include "dispatch.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"
#include "ioctl_desc.h"
#include "object.h"
#include "pages/reach.h"
#include "ucmd.h"
#include "util.h"

struct handler_binding {
	unsigned int cmd;
	ioasid_handler_fn fn;
};

/*
 * Commands the table describes but this list does not bind answer ENOTTY
 * after their size checks: the ABI is known, the behaviour not yet served.
 */
static const struct handler_binding bindings[] = {
	{ IOASID_PROCESS_ACCOUNTING, ioasid_process_accounting_ioctl },
	{ IOASID_DEVICE_ALLOC, ioasid_device_alloc_ioctl },
	{ IOASID_DEVICE_ATTACH, ioasid_device_attach_ioctl },
	{ IOASID_DEVICE_DETACH, ioasid_device_detach_ioctl },
	{ IOASID_DEVICE_DMA, ioasid_device_dma_ioctl },
	{ IOMMU_DESTROY, ioasid_destroy_ioctl },
	{ IOMMU_FAULT_QUEUE_ALLOC, ioasid_fault_alloc_ioctl },
	{ IOMMU_GET_HW_INFO, ioasid_get_hw_info_ioctl },
	{ IOMMU_HWPT_ALLOC, ioasid_hwpt_alloc_ioctl },
	{ IOMMU_HW_QUEUE_ALLOC, ioasid_hw_queue_alloc_ioctl },
	{ IOMMU_HWPT_GET_DIRTY_BITMAP, ioasid_hwpt_get_dirty_bitmap_ioctl },
	{ IOMMU_HWPT_INVALIDATE, ioasid_hwpt_invalidate_ioctl },
	{ IOMMU_HWPT_SET_DIRTY_TRACKING,
	  ioasid_hwpt_set_dirty_tracking_ioctl },
	{ IOMMU_IOAS_ALLOC, ioasid_ioas_alloc_ioctl },
	{ IOMMU_IOAS_ALLOW_IOVAS, ioasid_ioas_allow_iovas_ioctl },
	{ IOMMU_IOAS_CHANGE_PROCESS, ioasid_ioas_change_process_ioctl },
	{ IOMMU_IOAS_COPY, ioasid_ioas_copy_ioctl },
	{ IOMMU_IOAS_MAP, ioasid_ioas_map_ioctl },
	{ IOMMU_IOAS_MAP_FILE, ioasid_ioas_map_file_ioctl },
	{ IOMMU_IOAS_UNMAP, ioasid_ioas_unmap_ioctl },
	{ IOMMU_IOAS_IOVA_RANGES, ioasid_ioas_iova_ranges_ioctl },
	{ IOMMU_OPTION, ioasid_option_ioctl },
	{ IOMMU_TEST_CMD, ioasid_test_cmd_ioctl },
	{ IOMMU_VDEVICE_ALLOC, ioasid_vdevice_alloc_ioctl },
	{ IOMMU_VEVENTQ_ALLOC, ioasid_veventq_alloc_ioctl },
	{ IOMMU_VFIO_IOAS, ioasid_vfio_ioas_ioctl },
	{ IOMMU_VIOMMU_ALLOC, ioasid_viommu_alloc_ioctl },
	{ VFIO_GET_API_VERSION, ioasid_vfio_get_api_version },
	{ VFIO_CHECK_EXTENSION, ioasid_vfio_check_extension },
	{ VFIO_SET_IOMMU, ioasid_vfio_set_iommu },
	{ VFIO_IOMMU_GET_INFO, ioasid_vfio_iommu_get_info },
	{ VFIO_IOMMU_MAP_DMA, ioasid_vfio_map_dma },
	{ VFIO_IOMMU_UNMAP_DMA, ioasid_vfio_unmap_dma },
};

static ioasid_handler_fn handler_for(unsigned int cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(bindings); i++)
		if (bindings[i].cmd == cmd)
			return bindings[i].fn;
	return NULL;
}

_Static_assert(sizeof(struct iommu_test_cmd) <= IOASID_UCMD_MAX,
	       "ucmd buffer too small");
_Static_assert(sizeof(struct iommu_hwpt_alloc) <= IOASID_UCMD_MAX,
	       "ucmd buffer too small");

int ucmd_respond(struct ioasid_ucmd *u, size_t len)
{
	return ucmd_write(u, u->ubuffer, u->cmd, MIN((size_t)u->user_size, len));
}

static uint64_t field_read(const void *cmd, uint16_t off, uint8_t len)
{
	uint64_t v = 0;

	memcpy(&v, (const char *)cmd + off, len);
	return v;
}

/* Known fields with values we do not support. */
static int check_generic_fields(const struct ioasid_ioctl_desc *d,
				const void *cmd)
{
	if (d->flags_off &&
	    (field_read(cmd, d->flags_off, 4) & ~(uint64_t)d->flags_mask))
		return -(int)d->bad_flags_errno;
	if (d->reserved_len && field_read(cmd, d->reserved_off, d->reserved_len))
		return -(int)d->bad_flags_errno;
	return 0;
}

/* iommufd: size first, zero-extend short structs, refuse unknown tails. */
static int load_sized(struct ioasid_ucmd *u)
{
	const struct ioasid_ioctl_desc *d = u->desc;
	int rc;

	rc = ucmd_read(u, u->ubuffer, &u->user_size, sizeof(u->user_size));
	if (rc)
		return rc;
	if (u->user_size < d->min_size)
		return -EINVAL;
	if (u->user_size > d->size) {
		rc = u->caller->uaccess->check_zeroed(u->caller->uaccess_priv,
						      u->ubuffer + d->size,
						      u->user_size - d->size);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return -E2BIG;
	}
	rc = ucmd_read(u, u->ubuffer, u->cmd, MIN(u->user_size, d->size));
	if (rc)
		return rc;
	return check_generic_fields(d, u->cmd);
}

/* VFIO: the mandatory prefix is read first, then argsz is judged. */
static int load_argsz(struct ioasid_ucmd *u)
{
	const struct ioasid_ioctl_desc *d = u->desc;
	int rc;

	rc = ucmd_read(u, u->ubuffer, u->cmd, d->min_size);
	if (rc)
		return rc;
	memcpy(&u->user_size, u->cmd, sizeof(u->user_size));
	if (u->user_size < d->min_size)
		return -EINVAL;
	return check_generic_fields(d, u->cmd);
}

long ioasid_ctx_ioctl(struct ioasid_ctx *ctx, const struct ioasid_caller *caller,
		      unsigned int cmd, unsigned long arg)
{
	_Alignas(8) unsigned char buf[IOASID_UCMD_MAX] = { 0 };
	struct ioasid_ucmd u = {
		.ctx = ctx,
		.caller = caller,
		.ubuffer = arg,
		.cmd = buf,
	};
	ioasid_handler_fn fn;
	long rc;

	u.desc = ioasid_ioctl_desc_find(cmd);
	if (!u.desc)
		return -ENOTTY;
	/* Its shared memory may be how pinned pages stay in reach. */
	ioasid_reach_note(caller->pid);
	fn = handler_for(cmd);

	switch (u.desc->arg) {
	case IOASID_ARG_SIZED:
		rc = load_sized(&u);
		break;
	case IOASID_ARG_ARGSZ:
		rc = load_argsz(&u);
		break;
	default:
		rc = 0;
		break;
	}
	if (rc)
		return rc;
	if (!fn)
		return -ENOTTY;

	rc = fn(&u);
	if (u.new_obj) {
		if (rc < 0)
			ioasid_obj_abort(ctx, u.new_obj);
		else
			ioasid_obj_publish(ctx, u.new_obj);
	}
	if (u.new_file)
		caller->uaccess->commit_fd(caller->uaccess_priv, u.new_file,
					   rc >= 0);
	return rc;
}

long ioasid_destroy_ioctl(struct ioasid_ucmd *u)
{
	const struct iommu_destroy *cmd = u->cmd;

	return ioasid_obj_destroy_id(u->ctx, cmd->id);
}
