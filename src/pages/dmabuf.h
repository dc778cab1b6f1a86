/* SPDX-License-Identifier: MIT */
/*
 * dma-bufs: memory an exporter (a device driver; here the selftest's)
 * lends to importers, and may take back at any time (revoke).
 *
 * IOMMU_IOAS_MAP_FILE of a dma-buf's descriptor makes a page set over it
 * (an import).  Imports are not charged to anyone, cannot be pinned by
 * accesses or read through them, and keep a list of where domains show
 * them: a revoke unmaps every one of those at once, and the import stays
 * revoked for good (its areas remain, mapped nowhere).  Importing a
 * revoked dma-buf fails with ENODEV.
 *
 * The exporter's memory is a memfd of the daemon's; imports reach it as
 * file page sets through descriptors of their own.
 */
#ifndef IOASID_PAGES_DMABUF_H
#define IOASID_PAGES_DMABUF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/file.h"

struct ioasid_domain;
struct ioasid_pages;

/* Lock order: lock, then an import's page-set mutex. */
struct ioasid_dmabuf {
	struct ioasid_file file; /* the descriptor the exporter handed out */
	int memfd;
	uint64_t size;
	pthread_mutex_t lock;
	bool revoked;
	struct ioasid_pages *imports; /* through their dmabuf_next */
};

/* Where a domain shows an import: what a revoke unmaps. */
struct ioasid_dmabuf_track {
	struct ioasid_domain *dom;
	uint64_t iova, length;
	struct ioasid_dmabuf_track *next;
};

extern const struct ioasid_file_ops ioasid_dmabuf_file_ops;

/* A dma-buf of size bytes of zeroes, held once by the caller. */
int ioasid_dmabuf_create(uint64_t size, struct ioasid_dmabuf **out);

/*
 * Import bytes [start, start + length) of db: EINVAL past its end,
 * ENODEV while it is revoked.  The page set holds db.
 */
int ioasid_pages_alloc_dmabuf(struct ioasid_dmabuf *db, pid_t pid, uid_t uid,
			      uint64_t start, uint64_t length, bool writable,
			      struct ioasid_pages **out);

/*
 * The exporter takes its memory back from every import (revoked) or
 * lends it again to new ones; either way current imports are revoked, as
 * the kernel's move notification does.
 */
void ioasid_dmabuf_revoke(struct ioasid_dmabuf *db, bool revoked);

/*
 * An import's domain mappings, kept under its page set's mutex: remember
 * [iova, iova + length) in dom (-ENOMEM), forget it.
 */
int ioasid_dmabuf_track(struct ioasid_pages *p, struct ioasid_domain *dom,
			uint64_t iova, uint64_t length);
void ioasid_dmabuf_untrack(struct ioasid_pages *p, struct ioasid_domain *dom,
			   uint64_t iova);

/* The import's last reference is going: off db's list, db let go. */
void ioasid_dmabuf_detach(struct ioasid_pages *p);

#endif
