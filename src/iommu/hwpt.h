/* SPDX-License-Identifier: MIT */
/*
 * HW page tables: the objects that own domains.  A paging HWPT shows one
 * IOAS through its domain (the IOAS fills it, and is held by it); an
 * automatic one is made for a device attached to the IOAS itself and
 * goes away with its last device.
 */
#ifndef IOASID_IOMMU_HWPT_H
#define IOASID_IOMMU_HWPT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/object.h"

struct ioasid_ctx;
struct ioasid_device;
struct ioasid_domain;
struct ioasid_ioas;
struct ioasid_user_data;

struct ioasid_hwpt {
	struct ioasid_object obj; /* HWPT_PAGING or HWPT_NESTED */
	struct ioasid_ctx *ctx;
	struct ioasid_domain *domain;
	/* Paging: */
	struct ioasid_ioas *ioas;
	bool auto_domain;
	bool nest_parent;
	bool pasid_compat; /* may be attached by PASID */
	bool filled;       /* the IOAS shows in the domain */
	struct ioasid_hwpt *ioas_next; /* on ioas->hwpts, under hwpts_lock */
	/* Nested: the paging HWPT under it, held by users; or, for one made
	 * through a vIOMMU, that vIOMMU (held), whose parent it is over. */
	struct ioasid_hwpt *parent;
	struct ioasid_viommu *viommu;
	/* Where its devices' I/O page faults go, held by users; or NULL. */
	struct ioasid_fault *fault;
};

/*
 * A paging HWPT over ioas with a domain the device's driver makes for
 * it, filled with the IOAS's areas.  Reserved but not published: the
 * caller publishes it (or aborts it, which undoes everything).  flags
 * are IOMMU_HWPT_ALLOC_*.
 */
int ioasid_hwpt_paging_alloc(struct ioasid_ctx *ctx, struct ioasid_ioas *ioas,
			     struct ioasid_device *dev, uint32_t flags,
			     const struct ioasid_user_data *data,
			     bool auto_domain, struct ioasid_hwpt **out);

/* Look up a HWPT of either kind and hold it short-term. */
int ioasid_hwpt_get(struct ioasid_ctx *ctx, uint32_t id,
		    struct ioasid_hwpt **out);

/* The paging HWPT whose table DMA through hwpt ends in. */
struct ioasid_hwpt *ioasid_hwpt_s2(struct ioasid_hwpt *hwpt);

static inline bool ioasid_hwpt_is_paging(const struct ioasid_hwpt *hwpt)
{
	return hwpt->obj.type == IOASID_OBJ_HWPT_PAGING;
}

#endif
