/* SPDX-License-Identifier: MIT */
/*
 * The domains an IOAS is shown in.  While an IOAS has a domain, each of
 * its areas holds its pages pinned (once, however many domains there are)
 * and every domain maps every area: filled when the domain or the area
 * arrives, unfilled when either goes.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/util.h"
#include "io_pagetable.h"
#include "iommu/domain.h"
#include "pages/dmabuf.h"
#include "pages/pages.h"

/*
 * Map `area` into `dom`: each page's frame at its IOVA, in runs of
 * consecutive frames so that aligned memory gets large leaves.  On
 * failure nothing of the area stays mapped in dom.
 */
static int area_map_pfns(struct io_pagetable *iopt, struct iopt_area *area,
			 struct ioasid_domain *dom)
{
	/* Without large pages an area can be cut anywhere (VFIO type1). */
	uint64_t max_run = iopt->disable_large_pages ? IOASID_PAGE_SIZE :
						       UINT64_MAX;
	enum { BATCH = 64 };
	uint64_t start_byte = iopt_area_start_byte(area, area->node.start);
	uint64_t iova = area->node.start, last = area->node.last;
	uint64_t run_iova = iova, run_pa = 0, run_len = 0;
	uint64_t pfns[BATCH], batch_first = 0, batch_n = 0;
	int rc = 0;

	for (;;) {
		uint64_t byte = start_byte + (iova - area->node.start);
		uint64_t index = byte >> IOASID_PAGE_SHIFT;
		uint64_t off = byte & (IOASID_PAGE_SIZE - 1);
		uint64_t len = MIN(IOASID_PAGE_SIZE - off, last - iova + 1);
		uint64_t pa;

		if (!batch_n || index >= batch_first + batch_n) {
			batch_first = index;
			batch_n = MIN((uint64_t)BATCH,
				      area->last_index - index + 1);
			ioasid_pages_pfns(area->pages, batch_first, batch_n,
					  pfns);
		}
		pa = (pfns[index - batch_first] << IOASID_PAGE_SHIFT) + off;
		if (run_len && run_pa + run_len == pa && run_len < max_run) {
			run_len += len;
		} else {
			if (run_len) {
				rc = ioasid_domain_map(dom, run_iova, run_pa,
						       run_len, area->prot);
				if (rc)
					break;
			}
			run_iova = iova;
			run_pa = pa;
			run_len = len;
		}
		if (last - iova + 1 == len) {
			rc = ioasid_domain_map(dom, run_iova, run_pa, run_len,
					       area->prot);
			break;
		}
		iova += len;
	}
	if (rc && run_iova != area->node.start)
		ioasid_domain_unmap(dom, area->node.start,
				    run_iova - area->node.start);
	return rc;
}

/*
 * A dma-buf import is mapped under its page set's mutex, and where is
 * remembered, so that a revoke can take it out of every domain at once;
 * a revoked one is mapped nowhere.
 */
static int area_map(struct io_pagetable *iopt, struct iopt_area *area,
		    struct ioasid_domain *dom)
{
	struct ioasid_pages *p = area->pages;
	int rc;

	if (!p->dmabuf)
		return area_map_pfns(iopt, area, dom);
	pthread_mutex_lock(&p->mutex);
	rc = ioasid_dmabuf_track(p, dom, area->node.start,
				 iopt_area_length(area));
	if (!rc && !p->revoked) {
		rc = area_map_pfns(iopt, area, dom);
		if (rc)
			ioasid_dmabuf_untrack(p, dom, area->node.start);
	}
	pthread_mutex_unlock(&p->mutex);
	return rc;
}

static void area_unmap(struct iopt_area *area, struct ioasid_domain *dom)
{
	struct ioasid_pages *p = area->pages;

	if (!p->dmabuf) {
		ioasid_domain_unmap(dom, area->node.start,
				    iopt_area_length(area));
		return;
	}
	pthread_mutex_lock(&p->mutex);
	if (!p->revoked)
		ioasid_domain_unmap(dom, area->node.start,
				    iopt_area_length(area));
	ioasid_dmabuf_untrack(p, dom, area->node.start);
	pthread_mutex_unlock(&p->mutex);
}

static int area_pin(struct iopt_area *area)
{
	int rc;

	if (area->storage_pinned)
		return 0;
	rc = ioasid_pages_pin(area->pages, area->first_index, area->last_index);
	if (!rc)
		area->storage_pinned = true;
	return rc;
}

static void area_unpin(struct iopt_area *area)
{
	if (!area->storage_pinned)
		return;
	ioasid_pages_unpin(area->pages, area->first_index, area->last_index);
	area->storage_pinned = false;
}

int iopt_area_fill_domains_locked(struct io_pagetable *iopt,
				  struct iopt_area *area)
{
	size_t i;
	int rc;

	if (!iopt->ndomains)
		return 0;
	rc = area_pin(area);
	if (rc)
		return rc;
	for (i = 0; i < iopt->ndomains; i++) {
		rc = area_map(iopt, area, iopt->domains[i]);
		if (rc)
			goto out_unmap;
	}
	return 0;

out_unmap:
	while (i-- > 0)
		area_unmap(area, iopt->domains[i]);
	area_unpin(area);
	return rc;
}

void iopt_area_unfill_domains_locked(struct io_pagetable *iopt,
				     struct iopt_area *area)
{
	/* Out of every table (and out of reach of DMA) before the pages go. */
	for (size_t i = 0; i < iopt->ndomains; i++)
		area_unmap(area, iopt->domains[i]);
	area_unpin(area);
}

static void unfill_areas(struct io_pagetable *iopt, struct ioasid_domain *dom,
			 struct iopt_area *upto, bool unpin)
{
	struct itree_node *n;

	itree_for_each(n, &iopt->area_itree, 0, IOASID_ULONG_MAX) {
		struct iopt_area *a = container_of(n, struct iopt_area, node);

		if (a == upto)
			break;
		area_unmap(a, dom);
		if (unpin)
			area_unpin(a);
	}
}

int iopt_table_add_domain(struct io_pagetable *iopt, struct ioasid_domain *dom)
{
	uint64_t align = MAX(ioasid_domain_min_pgsize(dom),
			     iopt->iova_alignment);
	struct ioasid_domain **grown;
	struct itree_node *n;
	bool first;
	int rc;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	for (size_t i = 0; i < iopt->ndomains; i++) {
		if (iopt->domains[i] == dom) {
			rc = -EEXIST;
			goto out_unlock;
		}
	}
	/* Pages are pinned in 4 KiB units: a domain must map one. */
	if (align > IOASID_PAGE_SIZE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (align != iopt->iova_alignment) {
		rc = iopt_check_iova_alignment_locked(iopt, align);
		if (rc)
			goto out_unlock;
	}
	/* No area may sit outside what the domain can translate. */
	if (dom->aperture_start) {
		rc = iopt_reserve_iova_locked(iopt, 0, dom->aperture_start - 1,
					      dom);
		if (rc)
			goto out_reserved;
	}
	if (dom->aperture_last != IOASID_ULONG_MAX) {
		rc = iopt_reserve_iova_locked(iopt, dom->aperture_last + 1,
					      IOASID_ULONG_MAX, dom);
		if (rc)
			goto out_reserved;
	}
	grown = realloc(iopt->domains,
			(iopt->ndomains + 1) * sizeof(*iopt->domains));
	if (!grown) {
		rc = -ENOMEM;
		goto out_reserved;
	}
	iopt->domains = grown;

	first = !iopt->ndomains;
	itree_for_each(n, &iopt->area_itree, 0, IOASID_ULONG_MAX) {
		struct iopt_area *a = container_of(n, struct iopt_area, node);

		rc = area_pin(a);
		if (!rc) {
			rc = area_map(iopt, a, dom);
			if (rc && first)
				area_unpin(a);
		}
		if (rc) {
			unfill_areas(iopt, dom, a, first);
			goto out_reserved;
		}
	}
	iopt->domains[iopt->ndomains++] = dom;
	iopt->iova_alignment = align;
	pthread_rwlock_unlock(&iopt->iova_lock);
	return 0;

out_reserved:
	iopt_remove_reserved_locked(iopt, dom);
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}

void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct ioasid_domain *dom)
{
	size_t i;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	for (i = 0; i < iopt->ndomains && iopt->domains[i] != dom; i++)
		;
	if (i == iopt->ndomains)
		goto out_unlock;
	iopt->domains[i] = iopt->domains[--iopt->ndomains];
	unfill_areas(iopt, dom, NULL, iopt->ndomains == 0);
	if (!iopt->ndomains) {
		free(iopt->domains);
		iopt->domains = NULL;
	}
	iopt_remove_reserved_locked(iopt, dom);
	/* Loosening can never conflict with an area. */
	(void)iopt_calculate_iova_alignment_locked(iopt);
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_lock);
}
