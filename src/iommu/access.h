/* SPDX-License-Identifier: MIT */
/*
 * Accesses: the software-IOMMU path for mediated devices that have no
 * domain of their own.  A driver attaches an access to an IOAS and then
 * pins pages by IOVA (learning which pages they are) or reads and writes
 * by IOVA.  Before an unmap takes an area away, every access on the IOAS
 * is told, and a pinning access must unpin what it holds inside it.
 */
#ifndef IOASID_IOMMU_ACCESS_H
#define IOASID_IOMMU_ACCESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/object.h"
#include "iopt/io_pagetable.h"

struct ioasid_ctx;
struct ioasid_ioas;
struct ioasid_page_id;

struct ioasid_access_ops {
	bool needs_pin_pages;
	/*
	 * [iova, iova + length) is about to be unmapped: by the time this
	 * returns, the driver must have unpinned every pin it holds there
	 * (the unmap asks again, and gives up with EDEADLOCK).  Called with
	 * no lock of ours held.
	 */
	void (*unmap)(void *data, uint64_t iova, uint64_t length);
};

/* Set in rw and pin flags: the device writes. */
#define IOASID_ACCESS_RW_WRITE (1u << 0)

struct ioasid_access {
	struct ioasid_object obj;
	struct ioasid_ctx *ctx;
	const struct ioasid_access_ops *ops;
	void *data;

	/*
	 * Lock order: ioas_lock, then the IOAS's locks.  `ioas` is where new
	 * pins and rw go (NULL while detached or moving); `ioas_unpin` is
	 * where the pins made so far live.  They differ only mid-change.
	 */
	pthread_mutex_t ioas_lock;
	struct ioasid_ioas *ioas;
	struct ioasid_ioas *ioas_unpin;
	/* One link per IOAS it is on: two while moving between them. */
	struct iopt_access_link links[2];
	unsigned int cur_link;
};

/*
 * Create an access in ctx, under a reserved id that IOMMU_DESTROY will
 * refuse (EBUSY): only ioasid_access_destroy() ends it.  The creator
 * publishes it once nothing it does can fail any more.
 */
int ioasid_access_create(struct ioasid_ctx *ctx,
			 const struct ioasid_access_ops *ops, void *data,
			 struct ioasid_access **out);
/* Detach (asking the driver to unpin everything first) and destroy. */
void ioasid_access_destroy(struct ioasid_access *access);

/* Attach to an IOAS by id; -EINVAL when already attached. */
int ioasid_access_attach(struct ioasid_access *access, uint32_t ioas_id);
/* Move to another IOAS (all pins are dropped first); -ENOENT if detached. */
int ioasid_access_replace(struct ioasid_access *access, uint32_t ioas_id);
void ioasid_access_detach(struct ioasid_access *access);

/*
 * Pin the pages behind [iova, iova + length), which must start on a page
 * boundary of the memory, and optionally report which page each is.  The
 * pin stays until ioasid_access_unpin_pages() with the same range.
 * -ENOENT when detached or not fully mapped; see iopt_access_pin().
 */
int ioasid_access_pin_pages(struct ioasid_access *access, uint64_t iova,
			    uint64_t length, unsigned int flags,
			    struct ioasid_page_id *ids);
void ioasid_access_unpin_pages(struct ioasid_access *access, uint64_t iova,
			       uint64_t length);

/* Copy between buf and the memory behind [iova, iova + length). */
int ioasid_access_rw(struct ioasid_access *access, uint64_t iova, void *buf,
		     uint64_t length, unsigned int flags);

/* Tell every access on iopt that [iova, iova + length) goes away. */
void ioasid_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova,
				uint64_t length);

#endif
