/* SPDX-License-Identifier: MIT */
/*
 * IOMMU domains: what a device's DMA is translated through.
 *
 * A paging domain is an IO page table in its driver's hardware format,
 * with the aperture and page sizes the driver gave it.  Drivers make
 * domains for a given device (driver.h); the core only maps, unmaps and
 * translates through them.  A domain does not know the IOAS it shows:
 * the HWPT that owns it does.
 */
#ifndef IOASID_IOMMU_DOMAIN_H
#define IOASID_IOMMU_DOMAIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pt/iotlb.h"
#include "pt/pt.h"

struct ioasid_domain;
struct ioasid_iommu_ops;
struct ioasid_user_data_array;

struct ioasid_domain_ops {
	/* Free the domain and the driver's data; never fails. */
	void (*free)(struct ioasid_domain *dom);
	/* Dirty tracking on or off, under the IOAS's iova_lock (read), with
	 * the dirty bits already cleared for "on"; NULL when the domain
	 * cannot track. */
	int (*set_dirty_tracking)(struct ioasid_domain *dom, bool enable);
	/* Nested: the user's cache invalidations, entry by entry; sets
	 * array->entry_num to the entries handled. */
	int (*cache_invalidate_user)(struct ioasid_domain *dom,
				     struct ioasid_user_data_array *array);
};

enum ioasid_domain_type {
	IOASID_DOMAIN_PAGING,
	IOASID_DOMAIN_NESTED,
};

/* An IOTLB that may hold translations of a domain (its device's). */
struct domain_iotlb {
	struct iotlb *iotlb;
	unsigned int refs; /* attachments of the device to the domain */
	struct domain_iotlb *next;
};

/*
 * Lock order: the IOAS's iova_lock, then iotlb_lock.  iotlb_lock guards
 * the IOTLB list, which unmaps walk to invalidate.
 */
struct ioasid_domain {
	enum ioasid_domain_type type;
	const struct ioasid_domain_ops *ops;
	const struct ioasid_iommu_ops *iommu; /* the driver that made it */
	void *priv;                           /* the driver's */
	uint64_t aperture_start, aperture_last;
	atomic_bool dirty_tracking; /* enabled */
	struct pt pt;        /* paging domains */
	/* Nested: the stage-2 (paging) domain under this one. */
	struct ioasid_domain *parent;

	atomic_uint_fast64_t inv_gen; /* bumped by every invalidation */
	atomic_uint dirty_gen;        /* bumped when dirty bits are cleared */
	pthread_mutex_t iotlb_lock;
	struct domain_iotlb *iotlbs;
};

/*
 * Set up a paging domain's table; the driver fills in ops and priv.
 * pgsize_bitmap: the leaf sizes, whose smallest is the mapping granule.
 */
int ioasid_domain_init_paging(struct ioasid_domain *dom,
			      const struct pt_format *fmt,
			      unsigned int ias_bits, uint64_t pgsize_bitmap,
			      uint64_t aperture_start, uint64_t aperture_last);
/* A nested domain over parent (no table of its own here). */
void ioasid_domain_init_nested(struct ioasid_domain *dom,
			       struct ioasid_domain *parent);
/* Tear the table down; for drivers' free ops. */
void ioasid_domain_fini(struct ioasid_domain *dom);

/*
 * The IOTLBs that unmaps of dom must invalidate: one more reference for
 * iotlb (-ENOMEM), one less.  Removing the last reference forgets dom's
 * entries in iotlb; no translation may be in flight (ioasid_synchronize_rcu).
 */
int ioasid_domain_add_iotlb(struct ioasid_domain *dom, struct iotlb *iotlb);
void ioasid_domain_remove_iotlb(struct ioasid_domain *dom,
				struct iotlb *iotlb);

/*
 * Harvest the dirty pages of bm's range into it, as
 * pt_read_and_clear_dirty_bitmap does; with bm NULL, clear every dirty
 * bit.  Translations cached as dirty are no longer trusted to be.
 */
int ioasid_domain_read_and_clear_dirty(struct ioasid_domain *dom, bool keep,
				       struct pt_dirty_bitmap *bm);

/* The paging domain whose table translates for dom. */
static inline struct ioasid_domain *ioasid_domain_s2(struct ioasid_domain *dom)
{
	return dom->type == IOASID_DOMAIN_NESTED ? dom->parent : dom;
}

static inline uint64_t ioasid_domain_pgsize_bitmap(const struct ioasid_domain *d)
{
	return d->pt.pgsize_bitmap;
}

/* The mapping granule: every IOVA and length must be aligned to it. */
static inline uint64_t ioasid_domain_min_pgsize(const struct ioasid_domain *d)
{
	return pt_min_pgsize(&d->pt);
}

static inline void ioasid_domain_free(struct ioasid_domain *dom)
{
	dom->ops->free(dom);
}

int ioasid_domain_map(struct ioasid_domain *dom, uint64_t iova, uint64_t pa,
		      uint64_t len, int prot);
/* Unmap, then wait until no translation can still be using the mapping. */
uint64_t ioasid_domain_unmap(struct ioasid_domain *dom, uint64_t iova,
			     uint64_t len);
int ioasid_domain_iova_to_phys(struct ioasid_domain *dom, uint64_t iova,
			       uint64_t *pa);

#endif
