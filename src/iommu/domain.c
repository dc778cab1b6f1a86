/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "domain.h"

int ioasid_domain_init_paging(struct ioasid_domain *dom,
			      const struct pt_format *fmt,
			      unsigned int ias_bits, uint64_t pgsize_bitmap,
			      uint64_t aperture_start, uint64_t aperture_last)
{
	dom->type = IOASID_DOMAIN_PAGING;
	dom->aperture_start = aperture_start;
	dom->aperture_last = aperture_last;
	return pt_init(&dom->pt, fmt, ias_bits, pgsize_bitmap);
}

void ioasid_domain_fini(struct ioasid_domain *dom)
{
	if (dom->type == IOASID_DOMAIN_PAGING)
		pt_destroy(&dom->pt);
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
	/* A device may be mid-DMA through the old entries: the memory stays
	 * pinned until it cannot be. */
	if (done)
		pt_synchronize();
	return done;
}

int ioasid_domain_iova_to_phys(struct ioasid_domain *dom, uint64_t iova,
			       uint64_t *pa)
{
	struct pt_translation t;
	int rc;

	if (dom->type != IOASID_DOMAIN_PAGING)
		return -EINVAL;
	pt_read_lock();
	rc = pt_iova_to_phys(&dom->pt, iova, &t);
	pt_read_unlock();
	if (!rc)
		*pa = t.pa;
	return rc;
}
