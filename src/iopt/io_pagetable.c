/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "core/util.h"
#include "io_pagetable.h"

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
	free_reserved(&iopt->reserved_itree);
	iopt_free_allowed(&iopt->allowed_itree);
	pthread_rwlock_destroy(&iopt->iova_lock);
}

int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last,
		      const void *owner)
{
	struct iopt_reserved *r;
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->iova_lock);
	if (itree_iter_first(&iopt->area_itree, start, last) ||
	    itree_iter_first(&iopt->allowed_itree, start, last)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	r->node.start = start;
	r->node.last = last;
	r->owner = owner;
	itree_insert(&iopt->reserved_itree, &r->node);
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_lock);
	return rc;
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
static int check_iova_alignment_locked(struct io_pagetable *iopt,
				       uint64_t align)
{
	struct itree_node *n;

	itree_for_each(n, &iopt->area_itree, 0, IOASID_ULONG_MAX) {
		if (n->start % align || (n->last - n->start + 1) % align)
			return -EADDRINUSE;
	}
	return 0;
}

/* Alignment is the strictest of what large-page policy and users need. */
static int calculate_iova_alignment_locked(struct io_pagetable *iopt)
{
	uint64_t align = iopt->disable_large_pages ? IOASID_PAGE_SIZE : 1;
	int rc;

	if (align > iopt->iova_alignment) {
		rc = check_iova_alignment_locked(iopt, align);
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
	rc = calculate_iova_alignment_locked(iopt);
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
	(void)calculate_iova_alignment_locked(iopt);
	pthread_rwlock_unlock(&iopt->iova_lock);
}
