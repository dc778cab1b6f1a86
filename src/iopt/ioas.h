/* SPDX-License-Identifier: MIT */
/* The IOAS object: an I/O address space that devices and accesses attach to. */
#ifndef IOASID_IOPT_IOAS_H
#define IOASID_IOPT_IOAS_H

#include "core/object.h"
#include "io_pagetable.h"

struct ioasid_hwpt;

/*
 * Lock order: mutex, then hwpts_lock, then the iopt's locks.  mutex
 * serialises making, reusing and destroying the automatic HWPTs of
 * devices attached to the IOAS itself; hwpts_lock guards the list.
 */
struct ioasid_ioas {
	struct ioasid_object obj;
	struct io_pagetable iopt;
	pthread_mutex_t mutex;
	pthread_mutex_t hwpts_lock;
	struct ioasid_hwpt *hwpts; /* every paging HWPT over this IOAS */
};

/* Look up an IOAS by id and hold it short-term (ENOENT otherwise). */
int ioasid_ioas_get(struct ioasid_ctx *ctx, uint32_t id,
		    struct ioasid_ioas **out);

/* A new, empty IOAS, not yet published (ioasid_obj_publish/abort). */
int ioasid_ioas_new(struct ioasid_ctx *ctx, struct ioasid_ioas **out);

/*
 * The VFIO compat IOAS, made if the context has none: a group joining
 * an iommufd as its container brings one, so VFIO_SET_IOMMU finds it.
 */
int ioasid_vfio_compat_ioas_create(struct ioasid_ctx *ctx);

struct ioasid_ucmd;
struct iommu_option;

/* IOMMU_OPTION on an IOAS (HUGE_PAGES): cmd->val64 is read and written. */
int ioasid_ioas_option(struct ioasid_ucmd *u, struct iommu_option *cmd);

/*
 * Map [user_va, user_va + length) of the caller at *iova (IOAS_MAP and
 * VFIO_IOMMU_MAP_DMA share this).  `flags` are IOMMU_IOAS_MAP_* flags.
 */
int ioasid_ioas_map_user(struct ioasid_ucmd *u, struct ioasid_ioas *ioas,
			 uint64_t user_va, uint64_t length, uint64_t *iova,
			 uint32_t flags);

static inline void ioasid_ioas_put(struct ioasid_ctx *ctx,
				   struct ioasid_ioas *ioas)
{
	ioasid_obj_put(ctx, &ioas->obj);
}

#endif
