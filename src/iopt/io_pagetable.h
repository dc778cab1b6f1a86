/* SPDX-License-Identifier: MIT */
/*
 * The IOVA space of one IOAS: the areas mapped in it, the ranges reserved
 * (never mappable), and the ranges userspace allowed for automatic
 * allocation.
 */
#ifndef IOASID_IOPT_IO_PAGETABLE_H
#define IOASID_IOPT_IO_PAGETABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "interval_tree.h"

struct iopt_reserved {
	struct itree_node node;
	const void *owner; /* who reserved it: a device, or the user */
};

struct iopt_allowed {
	struct itree_node node;
};

/*
 * Lock order: iova_lock before any page-set lock.  iova_lock guards the
 * three trees, disable_large_pages and iova_alignment.
 */
struct io_pagetable {
	pthread_rwlock_t iova_lock;
	struct itree area_itree;
	struct itree allowed_itree;
	struct itree reserved_itree;
	bool disable_large_pages;
	uint64_t iova_alignment;
};

void iopt_init(struct io_pagetable *iopt);
void iopt_destroy(struct io_pagetable *iopt);

/* Reserve [start, last]; -EADDRINUSE over an area or an allowed range. */
int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last,
		      const void *owner);

/*
 * Replace the allowed ranges with those in `allowed` (which the call takes
 * over on success and leaves untouched on failure): -EADDRINUSE if any of
 * them meets a reserved range.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct itree *allowed);
void iopt_free_allowed(struct itree *allowed);

int iopt_disable_large_pages(struct io_pagetable *iopt);
void iopt_enable_large_pages(struct io_pagetable *iopt);

#endif
