/* SPDX-License-Identifier: MIT */
/*
 * The VFIO type1 container interface, answered on the iommufd fd so that
 * programs written for /dev/vfio/vfio keep working.
 */
#include <errno.h>

#include "core/dispatch.h"
#include "core/context.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/vfio_compat.h"
#include "iopt/ioas.h"

/* The compat IOAS, held short-term; -ENODEV when none is selected. */
static int get_compat_ioas(struct ioasid_ctx *ctx, struct ioasid_ioas **out)
{
	uint32_t id;

	pthread_mutex_lock(&ctx->lock);
	id = ctx->vfio_ioas_id;
	pthread_mutex_unlock(&ctx->lock);
	if (!id || ioasid_ioas_get(ctx, id, out))
		return -ENODEV;
	return 0;
}

int ioasid_vfio_compat_ioas_create(struct ioasid_ctx *ctx)
{
	struct ioasid_ioas *ioas;
	bool have;
	int rc;

	rc = ioasid_ioas_new(ctx, &ioas);
	if (rc)
		return rc;
	/* Chosen before it is published: a racing group keeps the first. */
	pthread_mutex_lock(&ctx->lock);
	have = ctx->vfio_ioas_id != 0;
	if (!have)
		ctx->vfio_ioas_id = ioas->obj.id;
	pthread_mutex_unlock(&ctx->lock);
	if (have)
		ioasid_obj_abort(ctx, &ioas->obj);
	else
		ioasid_obj_publish(ctx, &ioas->obj);
	return 0;
}

/*
 * DMA is cache coherent when every domain of the compat IOAS enforces it.
 * An IOAS without domains has none that could fail to.
 */
static long vfio_cc_iommu(struct ioasid_ctx *ctx)
{
	struct ioasid_ioas *ioas;
	int rc;

	rc = get_compat_ioas(ctx, &ioas);
	if (rc)
		return rc;
	ioasid_ioas_put(ctx, ioas);
	return 1;
}

long ioasid_vfio_get_api_version(struct ioasid_ucmd *u)
{
	(void)u;
	return VFIO_API_VERSION;
}

long ioasid_vfio_check_extension(struct ioasid_ucmd *u)
{
	switch (u->ubuffer) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return vfio_cc_iommu(u->ctx);
	default:
		/* NOIOMMU (no such mode here), UPDATE_VADDR, and the rest. */
		return 0;
	}
}

long ioasid_vfio_set_iommu(struct ioasid_ucmd *u)
{
	struct ioasid_ioas *ioas;
	int rc;

	/* No NOIOMMU mode here: only the two type1 flavours exist. */
	if (u->ubuffer != VFIO_TYPE1_IOMMU && u->ubuffer != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	rc = get_compat_ioas(u->ctx, &ioas);
	if (rc)
		return rc;
	/*
	 * Type1 v1 may unmap inside a mapping.  Without large pages every
	 * mapping can be cut on any page, so that is all v1 needs.
	 */
	if (u->ubuffer == VFIO_TYPE1_IOMMU)
		rc = iopt_disable_large_pages(&ioas->iopt);
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

long ioasid_vfio_map_dma(struct ioasid_ucmd *u)
{
	const struct vfio_iommu_type1_dma_map *map = u->cmd;
	uint32_t flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	struct ioasid_ioas *ioas;
	uint64_t iova = map->iova;
	int rc;

	if (map->flags & VFIO_DMA_MAP_FLAG_READ)
		flags |= IOMMU_IOAS_MAP_READABLE;
	if (map->flags & VFIO_DMA_MAP_FLAG_WRITE)
		flags |= IOMMU_IOAS_MAP_WRITEABLE;
	rc = get_compat_ioas(u->ctx, &ioas);
	if (rc)
		return rc;
	rc = ioasid_ioas_map_user(u, ioas, map->vaddr, map->size, &iova, flags);
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

long ioasid_vfio_unmap_dma(struct ioasid_ucmd *u)
{
	struct vfio_iommu_type1_dma_unmap *unmap = u->cmd;
	struct ioasid_ioas *ioas;
	uint64_t unmapped = 0;
	int rc;

	rc = get_compat_ioas(u->ctx, &ioas);
	if (rc)
		return rc;
	if (unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap->iova || unmap->size) {
			rc = -EINVAL;
			goto out_put;
		}
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		/* Type1 v1 (large pages off) cuts mappings at both ends of
		 * the range first; v2 refuses to split them. */
		if (ioas->iopt.disable_large_pages) {
			uint64_t cuts[] = { unmap->iova + unmap->size - 1,
					    unmap->iova - 1 };

			rc = iopt_cut_iova(&ioas->iopt, cuts,
					   unmap->iova ? 2 : 1);
			if (rc)
				goto out_put;
		}
		rc = iopt_unmap_iova(&ioas->iopt, unmap->iova, unmap->size,
				     &unmapped);
	}
	/* Finding nothing to unmap is success here, unlike IOAS_UNMAP. */
	unmap->size = unmapped;
	if (ucmd_write(u, u->ubuffer, unmap,
		       offsetofend(struct vfio_iommu_type1_dma_unmap, size)))
		rc = -EFAULT;
out_put:
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

/* What page sizes mappings can use: the IOAS's alignment and up. */
static uint64_t compat_pgsizes(struct ioasid_ioas *ioas)
{
	uint64_t pgsizes = UINT64_MAX;

	/* As VFIO reports it: nothing below a CPU page. */
	if (pgsizes & (IOASID_PAGE_SIZE - 1)) {
		pgsizes &= ~(uint64_t)(IOASID_PAGE_SIZE - 1);
		pgsizes |= IOASID_PAGE_SIZE;
	}
	return MAX(pgsizes, ioas->iopt.iova_alignment);
}

/*
 * Each capability writer puts its capability at `at` when `avail` bytes
 * there can hold it, and returns its full size (or -errno).
 */
static int fill_cap_dma_avail(struct ioasid_ucmd *u, struct ioasid_ioas *ioas,
			      uint64_t at, size_t avail)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		/* There is no mapping count limit; s390 QEMU wants > U16. */
		.avail = UINT32_MAX,
	};

	(void)ioas;
	if (avail >= sizeof(cap) && ucmd_write(u, at, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

static int fill_cap_iova(struct ioasid_ucmd *u, struct ioasid_ioas *ioas,
			 uint64_t at, size_t avail)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
			    .version = 1 },
	};
	const size_t elm = sizeof(struct vfio_iova_range);
	struct itree_span span;

	itree_for_each_span(&span, &ioas->iopt.reserved_itree, 0,
			    IOASID_ULONG_MAX) {
		struct vfio_iova_range range = { span.start, span.end };

		if (!span.is_hole)
			continue;
		if (avail >= sizeof(cap) + (cap.nr_iovas + 1) * elm &&
		    ucmd_write(u, at + sizeof(cap) + cap.nr_iovas * elm, &range,
			       sizeof(range)))
			return -EFAULT;
		cap.nr_iovas++;
	}
	if (avail >= sizeof(cap) + cap.nr_iovas * elm &&
	    ucmd_write(u, at, &cap, sizeof(cap)))
		return -EFAULT;
	return (int)(sizeof(cap) + cap.nr_iovas * elm);
}

/*
 * VFIO_IOMMU_GET_INFO: page sizes and a capability chain.  Whatever does
 * not fit in argsz is left out, never written past, and argsz comes back
 * as the size that would hold everything.
 */
long ioasid_vfio_iommu_get_info(struct ioasid_ucmd *u)
{
	typedef int (*fill_fn)(struct ioasid_ucmd *, struct ioasid_ioas *,
			       uint64_t, size_t);
	static const fill_fn fills[] = { fill_cap_dma_avail, fill_cap_iova };
	struct vfio_iommu_type1_info *info = u->cmd;
	uint32_t argsz = info->argsz;
	uint64_t last_cap = 0;
	size_t total = sizeof(*info);
	struct ioasid_ioas *ioas;
	int rc;

	rc = get_compat_ioas(u->ctx, &ioas);
	if (rc)
		return rc;
	info->flags = VFIO_IOMMU_INFO_PGSIZES;
	info->iova_pgsizes = compat_pgsizes(ioas);
	info->cap_offset = 0;

	pthread_rwlock_rdlock(&ioas->iopt.iova_lock);
	for (size_t i = 0; i < ARRAY_SIZE(fills); i++) {
		int size = fills[i](u, ioas, u->ubuffer + total,
				    argsz > total ? argsz - total : 0);

		if (size < 0) {
			rc = size;
			goto out_unlock;
		}
		if (last_cap && argsz >= total) {
			uint32_t next = (uint32_t)total;

			rc = ucmd_write(u, last_cap +
				offsetof(struct vfio_info_cap_header, next),
				&next, sizeof(next));
			if (rc)
				goto out_unlock;
		}
		last_cap = u->ubuffer + total;
		total += ((size_t)size + 7) & ~(size_t)7;
	}
	if (argsz >= total)
		info->cap_offset = sizeof(*info);
	info->argsz = (uint32_t)total;
	info->flags |= VFIO_IOMMU_INFO_CAPS;
	rc = ucmd_write(u, u->ubuffer, info, MIN((size_t)argsz, sizeof(*info)));
out_unlock:
	pthread_rwlock_unlock(&ioas->iopt.iova_lock);
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

long ioasid_vfio_ioas_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_vfio_ioas *cmd = u->cmd;
	struct ioasid_ioas *ioas;
	int rc;

	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		rc = get_compat_ioas(u->ctx, &ioas);
		if (rc)
			return rc;
		cmd->ioas_id = ioas->obj.id;
		ioasid_ioas_put(u->ctx, ioas);
		return ucmd_respond(u, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		rc = ioasid_ioas_get(u->ctx, cmd->ioas_id, &ioas);
		if (rc)
			return rc;
		pthread_mutex_lock(&u->ctx->lock);
		u->ctx->vfio_ioas_id = ioas->obj.id;
		pthread_mutex_unlock(&u->ctx->lock);
		ioasid_ioas_put(u->ctx, ioas);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		pthread_mutex_lock(&u->ctx->lock);
		u->ctx->vfio_ioas_id = 0;
		pthread_mutex_unlock(&u->ctx->lock);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}
