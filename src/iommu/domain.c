/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "domain.h"

static void domain_init_common(struct ioasid_domain *dom,
			       enum ioasid_domain_type type)
{
	dom->type = type;
	atomic_init(&dom->inv_gen, 0);
	atomic_init(&dom->dirty_gen, 0);
	pthread_mutex_init(&dom->iotlb_lock, NULL);
	dom->iotlbs = NULL;
}

int ioasid_domain_init_paging(struct ioasid_domain *dom,
			      const struct pt_format *fmt,
			      unsigned int ias_bits, uint64_t pgsize_bitmap,
			      uint64_t aperture_start, uint64_t aperture_last)
{
	int rc;

	rc = pt_init(&dom->pt, fmt, ias_bits, pgsize_bitmap);
	if (rc)
		return rc;
	domain_init_common(dom, IOASID_DOMAIN_PAGING);
	dom->aperture_start = aperture_start;
	dom->aperture_last = aperture_last;
	return 0;
}

void ioasid_domain_init_nested(struct ioasid_domain *dom,
			       struct ioasid_domain *parent)
{
	domain_init_common(dom, IOASID_DOMAIN_NESTED);
	dom->parent = parent;
	dom->aperture_start = parent->aperture_start;
	dom->aperture_last = parent->aperture_last;
}

void ioasid_domain_fini(struct ioasid_domain *dom)
{
	if (dom->type == IOASID_DOMAIN_PAGING)
		pt_destroy(&dom->pt);
	pthread_mutex_destroy(&dom->iotlb_lock);
}

int ioasid_domain_add_iotlb(struct ioasid_domain *dom, struct iotlb *iotlb)
{
	struct domain_iotlb *l;
	int rc = 0;

	pthread_mutex_lock(&dom->iotlb_lock);
	for (l = dom->iotlbs; l && l->iotlb != iotlb; l = l->next)
		;
	if (l) {
		l->refs++;
	} else if ((l = malloc(sizeof(*l)))) {
		l->iotlb = iotlb;
		l->refs = 1;
		l->next = dom->iotlbs;
		dom->iotlbs = l;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&dom->iotlb_lock);
	return rc;
}

void ioasid_domain_remove_iotlb(struct ioasid_domain *dom, struct iotlb *iotlb)
{
	struct domain_iotlb **link, *l;

	pthread_mutex_lock(&dom->iotlb_lock);
	for (link = &dom->iotlbs; (l = *link) && l->iotlb != iotlb;
	     link = &l->next)
		;
	if (l && !--l->refs) {
		*link = l->next;
		free(l);
		/* The domain's memory may be reused for another: nothing of
		 * it may be found in this IOTLB again. */
		iotlb_invalidate_domain(iotlb, dom);
	}
	pthread_mutex_unlock(&dom->iotlb_lock);
}

/* After a change to the table: no IOTLB keeps what was [iova, last]. */
static void invalidate_iotlbs(struct ioasid_domain *dom, uint64_t iova,
			      uint64_t last)
{
	atomic_fetch_add(&dom->inv_gen, 1);
	pthread_mutex_lock(&dom->iotlb_lock);
	for (struct domain_iotlb *l = dom->iotlbs; l; l = l->next)
		iotlb_invalidate(l->iotlb, dom, iova, last);
	pthread_mutex_unlock(&dom->iotlb_lock);
}

int ioasid_domain_read_and_clear_dirty(struct ioasid_domain *dom, bool keep,
				       struct pt_dirty_bitmap *bm)
{
	int rc;

	if (dom->type != IOASID_DOMAIN_PAGING)
		return -EINVAL;
	rc = bm ? pt_read_and_clear_dirty_bitmap(&dom->pt, keep, bm) :
		  pt_read_and_clear_dirty(&dom->pt, 0, UINT64_MAX, keep, NULL,
					  NULL);
	/* A cached "already dirty" would let the next write skip the bit. */
	if (!rc && !keep)
		atomic_fetch_add(&dom->dirty_gen, 1);
	return rc;
}

int ioasid_domain_map(struct ioasid_domain *dom, uint64_t iova, uint64_t pa,
		      uint64_t len, int prot)
{
	uint64_t last = iova + len - 1;

	if (dom->type != IOASID_DOMAIN_PAGING)
		return -EINVAL;
	if (iova < dom->aperture_start || last > dom->aperture_last ||
	    last < iova)
		return -EINVAL;
	return pt_map(&dom->pt, iova, pa, len, prot);
}

uint64_t ioasid_domain_unmap(struct ioasid_domain *dom, uint64_t iova,
			     uint64_t len)
{
	uint64_t done;

	if (dom->type != IOASID_DOMAIN_PAGING)
		return 0;
	done = pt_unmap(&dom->pt, iova, len);
	if (!done)
		return 0;
	invalidate_iotlbs(dom, iova, iova + len - 1);
	/* A device may be mid-DMA through the old entries: the memory stays
	 * pinned until it cannot be. */
	ioasid_synchronize_rcu();
	return done;
}

int ioasid_domain_iova_to_phys(struct ioasid_domain *dom, uint64_t iova,
			       uint64_t *pa)
{
	struct pt_translation t;
	int rc;

	if (dom->type != IOASID_DOMAIN_PAGING)
		return -EINVAL;
	ioasid_rcu_read_lock();
	rc = pt_iova_to_phys(&dom->pt, iova, &t);
	ioasid_rcu_read_unlock();
	if (!rc)
		*pa = t.pa;
	return rc;
}
