/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_IOAS_CHANGE_PROCESS: the calling process takes over every page set
 * its context maps, with their charges; a VMM does this after handing its
 * guest memory (memfds) to a new process, as in live update.  Memory of a
 * process cannot change owners, so any non-file mapping refuses it.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "ioas.h"
#include "pages/pages.h"

struct gather {
	struct ioasid_pages **sets;
	size_t n, cap;
};

/* Each page set once, however many areas show it. */
static int gather_area(struct iopt_area *area, void *arg)
{
	struct gather *g = arg;

	/* Only a file's pages can move; a dma-buf's were never anyone's. */
	if (area->pages->type != IOASID_PAGES_FILE || area->pages->dmabuf)
		return -EINVAL;
	for (size_t i = 0; i < g->n; i++)
		if (g->sets[i] == area->pages)
			return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 8;
		struct ioasid_pages **sets =
			realloc(g->sets, cap * sizeof(*sets));

		if (!sets)
			return -ENOMEM;
		g->sets = sets;
		g->cap = cap;
	}
	g->sets[g->n++] = area->pages;
	return 0;
}

static int visit_locked(struct io_pagetable *iopt, struct gather *g)
{
	struct itree_node *n;
	int rc;

	itree_for_each(n, &iopt->area_itree, 0, IOASID_ULONG_MAX) {
		rc = gather_area(container_of(n, struct iopt_area, node), g);
		if (rc)
			return rc;
	}
	return 0;
}

long ioasid_ioas_change_process_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_object **objs;
	struct gather g = { 0 };
	size_t n, locked = 0;
	int rc;

	rc = ioasid_obj_collect(u->ctx, IOASID_OBJ_IOAS, &objs, &n);
	if (rc)
		return rc;
	/*
	 * Copies share page sets between IOASes, so every IOAS is held
	 * still at once: the only place two iova_locks nest, always in id
	 * order.
	 */
	for (; locked < n; locked++) {
		struct ioasid_ioas *ioas =
			container_of(objs[locked], struct ioasid_ioas, obj);

		pthread_rwlock_wrlock(&ioas->iopt.iova_lock);
		rc = visit_locked(&ioas->iopt, &g);
		if (rc) {
			locked++;
			goto out_unlock;
		}
	}
	rc = ioasid_pages_change_source(g.sets, g.n, u->caller->pid,
					u->caller->uid);
out_unlock:
	while (locked--) {
		struct ioasid_ioas *ioas =
			container_of(objs[locked], struct ioasid_ioas, obj);

		pthread_rwlock_unlock(&ioas->iopt.iova_lock);
	}
	for (size_t i = 0; i < n; i++)
		ioasid_obj_put(u->ctx, objs[i]);
	free(objs);
	free(g.sets);
	return rc;
}
