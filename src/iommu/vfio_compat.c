/* SPDX-License-Identifier: MIT */
/*
 * The VFIO type1 container interface, answered on the iommufd fd so that
 * programs written for /dev/vfio/vfio keep working.
 */
#include <errno.h>

#include "core/dispatch.h"
#include "core/context.h"
#include "core/ucmd.h"
#include "iopt/ioas.h"
#include "ioasid/uapi/vfio_compat.h"

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
