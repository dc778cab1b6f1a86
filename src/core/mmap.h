/* SPDX-License-Identifier: MIT */
/*
 * Regions of a context userspace may mmap (a vIOMMU's registers, say), at
 * offsets of the /dev/iommu file, as the kernel's maple tree of them.
 * Each is backed by a memfd the transport maps into the client; every
 * live mapping holds the region's owner (IOMMU_DESTROY gives EBUSY).
 */
#ifndef IOASID_CORE_MMAP_H
#define IOASID_CORE_MMAP_H

#include <stdint.h>

struct ioasid_ctx;
struct ioasid_object;

struct ioasid_mmap_region {
	uint64_t offset, length; /* page-aligned; offset 0 is never used */
	struct ioasid_object *owner;
	int memfd;             /* ours; the bytes mapped */
	unsigned int maps;     /* live mappings, each a users reference */
	struct ioasid_mmap_region *next;
};

/*
 * A region of length bytes (a multiple of the page size) owned by owner
 * and backed by memfd (which the region takes over): its offset, the
 * lowest free from one page up.
 */
int ioasid_mmap_alloc(struct ioasid_ctx *ctx, struct ioasid_object *owner,
		      uint64_t length, int memfd, uint64_t *offset);
/* The owner goes: its region with it (no mapping can be live then). */
void ioasid_mmap_destroy(struct ioasid_ctx *ctx, uint64_t offset);

/* Context teardown: mappings still live let go of their owners. */
void ioasid_mmap_release_all(struct ioasid_ctx *ctx);

#endif
