/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "io_pagetable.h"
#include "iommu/access.h"
#include "iommu/domain.h"
#include "pages/pages.h"

/* How often an unmap asks the accesses to let go of one area before it
 * gives up with EDEADLOCK, as upstream does. */
#define UNMAP_NOTIFY_TRIES 100

/* Transparent huge pages: the largest alignment automatic IOVAs get. */
#define IOASID_HPAGE_SIZE (2UL << 20)

/* IOVA from `start` up is free again: the search must look there. */
static void iopt_free_below(struct io_pagetable *iopt, uint64_t start)
{
	if (start < iopt->free_floor)
		iopt->free_floor = MAX(start, (uint64_t)IOPT_ALLOC_LO);
}

void iopt_init(struct io_pagetable *iopt)
{
	pthread_rwlock_init(&iopt->iova_lock, NULL);
	iopt->area_itree = (struct itree)ITREE_INIT;
	iopt->allowed_itree = (struct itree)ITREE_INIT;
	iopt->reserved_itree = (struct itree)ITREE_INIT;
	iopt->disable_large_pages = false;
	/* A software table can place any byte anywhere until a domain or an
	 * access says otherwise. */
	iopt->iova_alignment = 1;
	iopt->free_floor = IOPT_ALLOC_LO;
	pthread_mutex_init(&iopt->access_lock, NULL);
	iopt->accesses = NULL;
	iopt->next_access_seq = 1;
}

/* An area, paid for by the user whose call makes it. */
static struct iopt_area *area_alloc(void)
{
	uid_t payer = ioasid_current_uid();
	struct iopt_area *area;

	area = ioasid_user_mem_calloc(payer, sizeof(*area));
	if (!area)
		return NULL;
	area->payer = payer;
	return area;
}

static void area_free(struct iopt_area *area)
{
	if (!area)
		return;
	ioasid_user_mem_uncharge(area->payer, sizeof(*area));
	free(area);
}

static void free_reserved(struct itree *t)
{
	struct itree_node *n;

	while ((n = t->root)) {
		itree_remove(t, n);
		free(container_of(n, struct iopt_reserved, node));
	}
}

void iopt_free_allowed(struct itree *t)
{
	struct itree_node *n;

	while ((n = t->root)) {
		itree_remove(t, n);
		free(container_of(n, struct iopt_allowed, node));
	}
}

void iopt_destroy(struct io_pagetable *iopt)
{
	uint64_t unmapped;

	/* Nothing can use the IOAS any more, so nothing can refuse. */
	(void)iopt_unmap_all(iopt, &unmapped);
	free_reserved(&iopt->reserved_itree);
	iopt_free_allowed(&iopt->allowed_itree);
	/* Every domain left with its HWPT; a failed add may leave room. */
	free(iopt->domains);
	pthread_mutex_destroy(&iopt->access_lock);
	pthread_rwlock_destroy(&iopt->iova_lock);
}

int iopt_reserve_iova_locked(struct io_pagetable *iopt, uint64_t start,
			     uint64_t last, const void *owner)
{
	struct iopt_reserved *r;

	if (itree_iter_first(&iopt->area_itree, start, last) ||
	    itree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->node.start = start;
	r->node.last = last;
	r->owner = owner;
	itree_insert(&iopt->reserved_itree, &r->node);
	return 0;
}

int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last,
		      const void *owner)
{
	int rc;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	rc = iopt_reserve_iova_locked(iopt, start, last, owner);
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}

void iopt_remove_reserved(struct io_pagetable *iopt, const void *owner)
{
	pthread_rwlock_wrlock(&iopt->iova_lock);
	iopt_remove_reserved_locked(iopt, owner);
	pthread_rwlock_unlock(&iopt->iova_lock);
}

void iopt_remove_reserved_locked(struct io_pagetable *iopt, const void *owner)
{
	struct itree_node *n, *next;

	for (n = itree_iter_first(&iopt->reserved_itree, 0, IOASID_ULONG_MAX);
	     n; n = next) {
		struct iopt_reserved *r =
			container_of(n, struct iopt_reserved, node);

		next = itree_iter_next(n, 0, IOASID_ULONG_MAX);
		if (r->owner != owner)
			continue;
		iopt_free_below(iopt, n->start);
		itree_remove(&iopt->reserved_itree, n);
		free(r);
	}
}

int iopt_set_allow_iova(struct io_pagetable *iopt, struct itree *allowed)
{
	struct itree_node *n;
	struct itree old;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	itree_for_each(n, allowed, 0, IOASID_ULONG_MAX) {
		if (itree_iter_first(&iopt->reserved_itree, n->start, n->last)) {
			pthread_rwlock_unlock(&iopt->iova_lock);
			return -EADDRINUSE;
		}
	}
	old = iopt->allowed_itree;
	iopt->allowed_itree = *allowed;
	*allowed = old;
	pthread_rwlock_unlock(&iopt->iova_lock);
	/* The caller frees what is now the old set. */
	return 0;
}

/* Every area must start and span whole units of a stricter alignment. */
int iopt_check_iova_alignment_locked(struct io_pagetable *iopt,
				       uint64_t align)
{
	struct itree_node *n;

	itree_for_each(n, &iopt->area_itree, 0, IOASID_ULONG_MAX) {
		struct iopt_area *a = container_of(n, struct iopt_area, node);

		if ((n->start | iopt_area_length(a) | a->page_offset) &
		    (align - 1))
			return -EADDRINUSE;
	}
	return 0;
}

/*
 * Alignment is the strictest of what large-page policy, the domains' page
 * sizes and the attached accesses need.  Called with iova_lock written, so
 * the lists are stable.
 */
int iopt_calculate_iova_alignment_locked(struct io_pagetable *iopt)
{
	uint64_t align = iopt->disable_large_pages ? IOASID_PAGE_SIZE : 1;
	struct iopt_access_link *link;
	int rc;

	for (link = iopt->accesses; link; link = link->next)
		align = MAX(align, link->iova_alignment);
	for (size_t i = 0; i < iopt->ndomains; i++)
		align = MAX(align, ioasid_domain_min_pgsize(iopt->domains[i]));
	if (align > iopt->iova_alignment) {
		rc = iopt_check_iova_alignment_locked(iopt, align);
		if (rc)
			return rc;
	}
	iopt->iova_alignment = align;
	return 0;
}

int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	if (iopt->disable_large_pages)
		goto out_unlock;
	iopt->disable_large_pages = true;
	rc = iopt_calculate_iova_alignment_locked(iopt);
	if (rc)
		iopt->disable_large_pages = false;
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}

void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	pthread_rwlock_wrlock(&iopt->iova_lock);
	iopt->disable_large_pages = false;
	/* Loosening can never conflict with an existing area. */
	(void)iopt_calculate_iova_alignment_locked(iopt);
	pthread_rwlock_unlock(&iopt->iova_lock);
}

int iopt_add_access(struct io_pagetable *iopt, struct iopt_access_link *link)
{
	struct iopt_access_link **tail;
	int rc;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	pthread_mutex_lock(&iopt->access_lock);
	for (tail = &iopt->accesses; *tail; tail = &(*tail)->next)
		;
	link->seq = iopt->next_access_seq++;
	link->next = NULL;
	link->pprev = tail;
	*tail = link;
	rc = iopt_calculate_iova_alignment_locked(iopt);
	if (rc)
		*tail = NULL;
	pthread_mutex_unlock(&iopt->access_lock);
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}

void iopt_remove_access(struct io_pagetable *iopt,
			struct iopt_access_link *link)
{
	pthread_rwlock_wrlock(&iopt->iova_lock);
	pthread_mutex_lock(&iopt->access_lock);
	*link->pprev = link->next;
	if (link->next)
		link->next->pprev = link->pprev;
	/* Loosening never conflicts with an area. */
	(void)iopt_calculate_iova_alignment_locked(iopt);
	pthread_mutex_unlock(&iopt->access_lock);
	pthread_rwlock_unlock(&iopt->iova_lock);
}

struct iopt_access_link *
iopt_next_access(struct io_pagetable *iopt, uint64_t *seq,
		 bool (*take)(struct iopt_access_link *link))
{
	struct iopt_access_link *link;

	pthread_mutex_lock(&iopt->access_lock);
	for (link = iopt->accesses; link; link = link->next) {
		if (link->seq <= *seq)
			continue;
		*seq = link->seq;
		if (take(link))
			break;
	}
	pthread_mutex_unlock(&iopt->access_lock);
	return link;
}

static uint64_t roundup_pow_of_two_u64(uint64_t v)
{
	return v <= 1 ? 1 : 1ULL << (64 - __builtin_clzll(v - 1));
}

/*
 * Round *start up to `align`, keep the sub-page offset, and see whether
 * `length` bytes still fit before `last`.  Like upstream, an exact fit that
 * ends on `last` with the start on `last` too is refused.
 */
static bool alloc_fits(uint64_t *start, uint64_t last, uint64_t length,
		       uint64_t align, uint64_t page_offset)
{
	uint64_t aligned;

	if (add_overflows_u64(*start, align - 1, &aligned))
		return false;
	aligned &= ~(align - 1);
	aligned |= page_offset;
	if (aligned >= last || last - aligned < length - 1)
		return false;
	*start = aligned;
	return true;
}

/*
 * The first hole of reserved ranges and areas together that begins at or
 * after `cursor` and ends by `last`.
 */
static bool next_hole_locked(struct io_pagetable *iopt, uint64_t cursor,
			     uint64_t last, uint64_t *hole_start,
			     uint64_t *hole_last)
{
	struct itree *trees[2] = { &iopt->reserved_itree, &iopt->area_itree };

	for (;;) {
		uint64_t covered_to = cursor;
		bool covered = false;
		struct itree_node *n;

		for (int t = 0; t < 2; t++) {
			itree_for_each(n, trees[t], cursor, cursor) {
				covered = true;
				covered_to = MAX(covered_to, n->last);
			}
		}
		if (!covered)
			break;
		if (covered_to >= last)
			return false;
		cursor = covered_to + 1;
	}
	*hole_start = cursor;
	*hole_last = last;
	for (int t = 0; t < 2; t++) {
		/* Nothing covers cursor, so whatever overlaps starts later. */
		struct itree_node *n = itree_iter_first(trees[t], cursor, last);

		if (n)
			*hole_last = MIN(*hole_last, n->start - 1);
	}
	return true;
}

/* Find room for `length` bytes inside one allowed span [first, last]. */
static bool alloc_in_span_locked(struct io_pagetable *iopt, uint64_t first,
				 uint64_t last, uint64_t length,
				 uint64_t align, uint64_t page_offset,
				 uint64_t *iova)
{
	uint64_t cursor = first, hs, hl;
	bool from_floor;

	if (!alloc_fits(&cursor, last, length, align, page_offset))
		return false;
	/* Without this, n areas made one after another cost n^2 steps. */
	from_floor = cursor <= iopt->free_floor;
	if (from_floor)
		cursor = iopt->free_floor;
	while (next_hole_locked(iopt, cursor, last, &hs, &hl)) {
		uint64_t start = hs;

		if (from_floor) {
			iopt->free_floor = hs;
			from_floor = false;
		}

		if (alloc_fits(&start, hl, length, align, page_offset)) {
			*iova = start;
			return true;
		}
		if (hl >= last)
			break;
		cursor = hl + 1;
	}
	return false;
}

/*
 * Upstream's automatic IOVA: aligned like the source address and the
 * length (at most to a huge page), keeping the sub-page offset, at the
 * lowest fitting place inside the allowed ranges.
 */
static int alloc_iova_locked(struct io_pagetable *iopt, uint64_t *iova,
			     uint64_t addr, uint64_t length)
{
	uint64_t page_offset = addr % IOASID_PAGE_SIZE;
	uint64_t lo = IOPT_ALLOC_LO, hi = IOASID_ULONG_MAX - IOASID_PAGE_SIZE;
	struct itree_span span;
	uint64_t align;

	if (length == 0 || length >= IOASID_ULONG_MAX / 2)
		return -EOVERFLOW;
	align = roundup_pow_of_two_u64(length);
	if (addr)
		align = MIN(align, 1ULL << __builtin_ctzll(addr));
	if (align >= IOASID_HPAGE_SIZE)
		align = IOASID_HPAGE_SIZE;
	if (align < iopt->iova_alignment)
		return -EINVAL;

	if (itree_empty(&iopt->allowed_itree))
		return alloc_in_span_locked(iopt, lo, hi, length, align,
					    page_offset, iova) ? 0 : -ENOSPC;
	itree_for_each_span(&span, &iopt->allowed_itree, lo, hi) {
		if (span.is_hole)
			continue;
		if (alloc_in_span_locked(iopt, span.start, span.end, length,
					 align, page_offset, iova))
			return 0;
	}
	return -ENOSPC;
}

static int check_iova_locked(struct io_pagetable *iopt, uint64_t iova,
			     uint64_t length)
{
	uint64_t last;

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (add_overflows_u64(iova, length - 1, &last))
		return -EOVERFLOW;
	if (itree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (itree_iter_first(&iopt->area_itree, iova, last))
		return -EEXIST;
	return 0;
}

static int fill_area_locked(struct io_pagetable *iopt, struct iopt_area *area,
			    const struct iopt_pages_elm *elm, uint64_t iova,
			    int prot)
{
	uint64_t last_byte;

	if ((prot & IOASID_PROT_WRITE) && !elm->pages->writable)
		return -EPERM;
	area->prot = prot;
	area->page_offset = elm->start_byte % IOASID_PAGE_SIZE;
	if (area->page_offset & (iopt->iova_alignment - 1))
		return -EINVAL;
	area->node.start = iova;
	if (add_overflows_u64(iova, elm->length - 1, &area->node.last))
		return -EOVERFLOW;
	area->first_index = elm->start_byte >> IOASID_PAGE_SHIFT;
	if (add_overflows_u64(elm->start_byte, elm->length - 1, &last_byte))
		return -EOVERFLOW;
	area->last_index = last_byte >> IOASID_PAGE_SHIFT;
	if (area->last_index >= elm->pages->npages)
		return -EOVERFLOW;
	return 0;
}

bool iopt_has_domains(struct io_pagetable *iopt)
{
	bool has;

	pthread_rwlock_rdlock(&iopt->iova_lock);
	has = iopt->ndomains != 0;
	pthread_rwlock_unlock(&iopt->iova_lock);
	return has;
}

int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_elm *elms,
		   size_t nelms, uint64_t length, uint64_t *iova, int prot,
		   bool fixed)
{
	struct iopt_area **areas;
	size_t i, inserted = 0;
	uint64_t cur;
	int rc = 0;

	areas = calloc(nelms, sizeof(*areas));
	if (!areas)
		return -ENOMEM;
	for (i = 0; i < nelms; i++) {
		areas[i] = area_alloc();
		if (!areas[i]) {
			rc = -ENOMEM;
			goto out_free;
		}
	}

	pthread_rwlock_wrlock(&iopt->iova_lock);
	if (!length || (length & (iopt->iova_alignment - 1))) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (fixed)
		rc = check_iova_locked(iopt, *iova, length);
	else
		rc = alloc_iova_locked(iopt, iova,
				       elms[0].start_byte +
					       ioasid_pages_source_addr(elms[0].pages),
				       length);
	if (rc)
		goto out_unlock;

	cur = *iova;
	for (i = 0; i < nelms; i++) {
		rc = fill_area_locked(iopt, areas[i], &elms[i], cur, prot);
		if (rc)
			goto out_unlock;
		cur += elms[i].length;
	}
	/* With domains, each piece is pinned and mapped before it shows. */
	for (i = 0; i < nelms; i++) {
		areas[i]->pages = elms[i].pages;
		rc = iopt_area_fill_domains_locked(iopt, areas[i]);
		if (rc) {
			while (i-- > 0)
				iopt_area_unfill_domains_locked(iopt, areas[i]);
			goto out_unlock;
		}
	}
	/* Every piece fits: now the step that cannot fail. */
	for (i = 0; i < nelms; i++) {
		elms[i].pages = NULL;
		itree_insert(&iopt->area_itree, &areas[i]->node);
	}
	inserted = nelms;
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_lock);
out_free:
	for (i = inserted; i < nelms; i++)
		area_free(areas[i]);
	free(areas);
	return rc;
}

void iopt_put_pages_elms(struct iopt_pages_elm *elms, size_t nelms)
{
	for (size_t i = 0; i < nelms; i++)
		if (elms[i].pages)
			ioasid_pages_put(elms[i].pages);
	free(elms);
}

/* The area whose IOVA range holds `iova`.  Areas are only ever in the
 * tree fully built. */
static struct iopt_area *area_at_locked(struct io_pagetable *iopt,
					uint64_t iova)
{
	struct itree_node *n = itree_iter_first(&iopt->area_itree, iova, iova);

	return n ? container_of(n, struct iopt_area, node) : NULL;
}

bool iopt_covered_locked(struct io_pagetable *iopt, uint64_t iova,
			 uint64_t last)
{
	struct iopt_area *area;

	while ((area = area_at_locked(iopt, iova))) {
		if (area->node.last >= last)
			return true;
		iova = area->node.last + 1;
	}
	return false;
}

int iopt_get_pages(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		   struct iopt_pages_elm **out, size_t *nout)
{
	struct iopt_pages_elm *elms = NULL;
	size_t n = 0, cap = 0;
	uint64_t last, cur = iova;
	struct iopt_area *area;
	int rc = -ENOENT;

	if (!length)
		return -EINVAL;
	if (add_overflows_u64(iova, length - 1, &last))
		return -EOVERFLOW;

	pthread_rwlock_rdlock(&iopt->iova_lock);
	/* Areas never overlap, so the one holding `cur` is the next piece;
	 * none there is a gap. */
	while ((area = area_at_locked(iopt, cur))) {
		uint64_t piece_last = MIN(last, area->node.last);

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct iopt_pages_elm *grown =
				realloc(elms, ncap * sizeof(*elms));

			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			elms = grown;
			cap = ncap;
		}
		elms[n].pages = area->pages;
		elms[n].start_byte = iopt_area_start_byte(area, cur);
		elms[n].length = piece_last - cur + 1;
		ioasid_pages_get(area->pages);
		n++;
		if (piece_last == last) {
			rc = 0;
			break;
		}
		cur = piece_last + 1;
	}
	pthread_rwlock_unlock(&iopt->iova_lock);
	if (rc) {
		iopt_put_pages_elms(elms, n);
		return rc;
	}
	*out = elms;
	*nout = n;
	return 0;
}

/*
 * Remove the areas inside [start, last].  All of them are checked before
 * any goes, so a refused unmap leaves the IOAS as it was.  An area that
 * accesses have pinned is first closed to new pins and rw, and the
 * accesses are asked to unpin it (with iova_lock dropped, so that they
 * can); then everything is checked again.
 */
static int unmap_range(struct io_pagetable *iopt, uint64_t start,
		       uint64_t last, uint64_t *unmapped)
{
	struct iopt_area *victims = NULL;
	struct itree_node *n, *next;
	uint64_t bytes = 0, notified = 0;
	unsigned int tries = 0;
	int rc = 0;

	*unmapped = 0;
again:
	pthread_rwlock_wrlock(&iopt->iova_lock);
	itree_for_each(n, &iopt->area_itree, start, last) {
		struct iopt_area *a = container_of(n, struct iopt_area, node);

		/* Pinned by an object of the core's own, which will not
		 * let go on request: only its destruction unpins. */
		if (atomic_load(&a->num_locks)) {
			rc = -EBUSY;
			goto out_unlock;
		}
		if (n->start < start || n->last > last) {
			rc = -ENOENT;
			goto out_unlock;
		}
		if (atomic_load(&a->num_accesses)) {
			uint64_t a_start = n->start, a_len = iopt_area_length(a);

			/* Tries count the asks for one area in a row. */
			if (a_start != notified)
				tries = 0;
			notified = a_start;
			a->prevent_access = true;
			pthread_rwlock_unlock(&iopt->iova_lock);
			ioasid_access_notify_unmap(iopt, a_start, a_len);
			if (++tries > UNMAP_NOTIFY_TRIES)
				return -EDEADLOCK;
			goto again;
		}
	}
	for (n = itree_iter_first(&iopt->area_itree, start, last); n; n = next) {
		struct iopt_area *a = container_of(n, struct iopt_area, node);

		next = itree_iter_next(n, start, last);
		iopt_free_below(iopt, n->start);
		itree_remove(&iopt->area_itree, n);
		iopt_area_unfill_domains_locked(iopt, a);
		bytes += iopt_area_length(a);
		a->unmap_next = victims;
		victims = a;
	}
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_lock);

	while (victims) {
		struct iopt_area *a = victims;

		victims = a->unmap_next;
		ioasid_pages_put(a->pages);
		area_free(a);
	}
	*unmapped = bytes;
	return rc;
}

int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		    uint64_t *unmapped)
{
	uint64_t last;

	*unmapped = 0;
	if (!length)
		return -EINVAL;
	if (add_overflows_u64(iova, length - 1, &last))
		return -EOVERFLOW;
	return unmap_range(iopt, iova, last, unmapped);
}

int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped)
{
	return unmap_range(iopt, 0, IOASID_ULONG_MAX, unmapped);
}

/*
 * Walking the areas that cover [iova, last] back to back: the first holds
 * iova, each next starts right after the one before.  The walk covered
 * the range when it ends with `done` set.
 */
struct contig_iter {
	uint64_t cur, last;
	bool done;
};

static struct iopt_area *contig_first(struct io_pagetable *iopt,
				      struct contig_iter *it, uint64_t iova,
				      uint64_t last)
{
	*it = (struct contig_iter){ .cur = iova, .last = last };
	return area_at_locked(iopt, iova);
}

static struct iopt_area *contig_next(struct io_pagetable *iopt,
				     struct contig_iter *it,
				     const struct iopt_area *area)
{
	if (area->node.last >= it->last) {
		it->done = true;
		return NULL;
	}
	it->cur = area->node.last + 1;
	return area_at_locked(iopt, it->cur);
}

#define for_each_contig_area(area, it, iopt, iova, last)                   \
	for ((area) = contig_first(iopt, it, iova, last); (area);          \
	     (area) = contig_next(iopt, it, area))

/* The last IOVA of the piece of [it->cur, it->last] inside area. */
static uint64_t contig_piece_last(const struct contig_iter *it,
				  const struct iopt_area *area)
{
	return MIN(it->last, area->node.last);
}

static int check_access_area(const struct iopt_area *area, bool write)
{
	if (area->prevent_access)
		return -EINVAL;
	if (!(area->prot & (write ? IOASID_PROT_WRITE : IOASID_PROT_READ)))
		return -EPERM;
	/* Lent memory, taken back at the exporter's will: never pinned by
	 * an access, nor read through one. */
	if (area->pages->dmabuf)
		return -EINVAL;
	return 0;
}

/* The count an area keeps of pins like who's. */
static atomic_uint *pin_count(struct iopt_area *area, enum iopt_pinner who)
{
	return who == IOPT_PIN_LOCK ? &area->num_locks : &area->num_accesses;
}

static void unpin_contig_locked(struct io_pagetable *iopt, uint64_t iova,
				uint64_t last, enum iopt_pinner who)
{
	struct contig_iter it;
	struct iopt_area *area;

	for_each_contig_area(area, &it, iopt, iova, last) {
		uint64_t piece_last = contig_piece_last(&it, area);

		ioasid_pages_unpin(area->pages,
				   iopt_area_start_byte(area, it.cur) >>
					   IOASID_PAGE_SHIFT,
				   iopt_area_start_byte(area, piece_last) >>
					   IOASID_PAGE_SHIFT);
		atomic_fetch_sub(pin_count(area, who), 1);
	}
}

static int pin_contig(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
		      bool write, enum iopt_pinner who,
		      struct ioasid_page_id *ids, uint64_t *pfns)
{
	struct contig_iter it;
	struct iopt_area *area;
	int rc = 0;

	pthread_rwlock_rdlock(&iopt->iova_lock);
	for_each_contig_area(area, &it, iopt, iova, last) {
		uint64_t piece_last = contig_piece_last(&it, area);
		uint64_t first_byte = iopt_area_start_byte(area, it.cur);
		uint64_t last_byte = iopt_area_start_byte(area, piece_last);
		uint64_t first_index = first_byte >> IOASID_PAGE_SHIFT;
		uint64_t last_index = last_byte >> IOASID_PAGE_SHIFT;

		rc = check_access_area(area, write);
		if (rc)
			break;
		/* Pages are handed out whole: a piece may not start inside
		 * one, nor end inside one unless it is the last piece. */
		if (first_byte % IOASID_PAGE_SIZE ||
		    (piece_last < last &&
		     last_byte % IOASID_PAGE_SIZE != IOASID_PAGE_SIZE - 1)) {
			rc = -EINVAL;
			break;
		}
		rc = ioasid_pages_pin(area->pages, first_index, last_index);
		if (rc)
			break;
		if (ids) {
			rc = ioasid_pages_page_ids(area->pages, first_index,
						   last_index, ids);
			if (rc) {
				ioasid_pages_unpin(area->pages, first_index,
						   last_index);
				break;
			}
			ids += last_index - first_index + 1;
		}
		if (pfns) {
			ioasid_pages_pfns(area->pages, first_index,
					  last_index - first_index + 1, pfns);
			pfns += last_index - first_index + 1;
		}
		atomic_fetch_add(pin_count(area, who), 1);
	}
	if (!rc && !it.done)
		rc = -ENOENT;
	if (rc && it.cur != iova)
		unpin_contig_locked(iopt, iova, it.cur - 1, who);
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}

int iopt_access_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
		    bool write, struct ioasid_page_id *ids)
{
	return pin_contig(iopt, iova, last, write, IOPT_PIN_ACCESS, ids, NULL);
}

void iopt_access_unpin(struct io_pagetable *iopt, uint64_t iova,
		       uint64_t last)
{
	pthread_rwlock_rdlock(&iopt->iova_lock);
	unpin_contig_locked(iopt, iova, last, IOPT_PIN_ACCESS);
	pthread_rwlock_unlock(&iopt->iova_lock);
}

int iopt_lock_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
		  uint64_t *pfns)
{
	return pin_contig(iopt, iova, last, false, IOPT_PIN_LOCK, NULL, pfns);
}

void iopt_lock_unpin(struct io_pagetable *iopt, uint64_t iova, uint64_t last)
{
	pthread_rwlock_rdlock(&iopt->iova_lock);
	unpin_contig_locked(iopt, iova, last, IOPT_PIN_LOCK);
	pthread_rwlock_unlock(&iopt->iova_lock);
}

int iopt_access_rw(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
		   void *buf, bool write)
{
	unsigned char *p = buf;
	struct contig_iter it;
	struct iopt_area *area;
	int rc = 0;

	pthread_rwlock_rdlock(&iopt->iova_lock);
	for_each_contig_area(area, &it, iopt, iova, last) {
		uint64_t bytes = contig_piece_last(&it, area) - it.cur + 1;

		rc = check_access_area(area, write);
		if (!rc)
			rc = ioasid_pages_rw(area->pages,
					     iopt_area_start_byte(area, it.cur),
					     p, bytes, write);
		if (rc)
			break;
		p += bytes;
	}
	if (!rc && !it.done)
		rc = -ENOENT;
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}

int iopt_for_each_area(struct io_pagetable *iopt,
		       int (*fn)(struct iopt_area *area, void *arg), void *arg)
{
	struct itree_node *n;
	int rc = 0;

	pthread_rwlock_rdlock(&iopt->iova_lock);
	itree_for_each(n, &iopt->area_itree, 0, IOASID_ULONG_MAX) {
		rc = fn(container_of(n, struct iopt_area, node), arg);
		if (rc)
			break;
	}
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}

/*
 * Split `area` so that `iova` is its last byte and iova + 1 starts a new
 * one, both showing the same page set.  The cut must land on the IOAS's
 * alignment, and pinned accesses keep an area whole.
 */
static int area_split_locked(struct io_pagetable *iopt, struct iopt_area *area,
			     uint64_t iova)
{
	uint64_t new_start = iova + 1, align = iopt->iova_alignment;
	struct iopt_pages_elm lhs_elm, rhs_elm;
	struct iopt_area *lhs, *rhs;
	int rc;

	if (iova == area->node.start || iova == area->node.last)
		return 0;
	if (area->prevent_access)
		return -EBUSY;
	/* A revoke unmaps an import by the ranges it was mapped at. */
	if (area->pages->dmabuf)
		return -EOPNOTSUPP;
	if ((new_start & (align - 1)) ||
	    (iopt_area_start_byte(area, new_start) & (align - 1)))
		return -EINVAL;
	if (area->num_accesses || area->num_locks)
		return -EINVAL;
	/* A domain may map the area with leaves the cut would split. */
	if (area->storage_pinned && !iopt->disable_large_pages)
		return -EINVAL;

	lhs = area_alloc();
	rhs = area_alloc();
	if (!lhs || !rhs) {
		rc = -ENOMEM;
		goto out_free;
	}
	lhs_elm = (struct iopt_pages_elm){
		.pages = area->pages,
		.start_byte = iopt_area_start_byte(area, area->node.start),
		.length = new_start - area->node.start,
	};
	rhs_elm = (struct iopt_pages_elm){
		.pages = area->pages,
		.start_byte = iopt_area_start_byte(area, new_start),
		.length = area->node.last - new_start + 1,
	};
	/* Halves of a valid area are valid; these only fill in fields. */
	rc = fill_area_locked(iopt, lhs, &lhs_elm, area->node.start, area->prot);
	if (!rc)
		rc = fill_area_locked(iopt, rhs, &rhs_elm, new_start, area->prot);
	if (rc)
		goto out_free;
	/* The halves take over the area's pin, each its own part. */
	if (area->storage_pinned) {
		rc = ioasid_pages_pin(area->pages, lhs->first_index,
				      lhs->last_index);
		if (rc)
			goto out_free;
		rc = ioasid_pages_pin(area->pages, rhs->first_index,
				      rhs->last_index);
		if (rc) {
			ioasid_pages_unpin(area->pages, lhs->first_index,
					   lhs->last_index);
			goto out_free;
		}
		ioasid_pages_unpin(area->pages, area->first_index,
				   area->last_index);
		lhs->storage_pinned = rhs->storage_pinned = true;
	}

	itree_remove(&iopt->area_itree, &area->node);
	lhs->pages = area->pages; /* the area's reference moves to lhs */
	rhs->pages = area->pages;
	ioasid_pages_get(rhs->pages);
	itree_insert(&iopt->area_itree, &lhs->node);
	itree_insert(&iopt->area_itree, &rhs->node);
	area_free(area);
	return 0;

out_free:
	area_free(lhs);
	area_free(rhs);
	return rc;
}

int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t n)
{
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	for (size_t i = 0; i < n && !rc; i++) {
		struct iopt_area *area = area_at_locked(iopt, iovas[i]);

		if (area)
			rc = area_split_locked(iopt, area, iovas[i]);
	}
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
}
