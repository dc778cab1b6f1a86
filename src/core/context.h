/* SPDX-License-Identifier: MIT */
/* The context: what one open file of /dev/iommu is. */
#ifndef IOASID_CORE_CONTEXT_H
#define IOASID_CORE_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "object.h"

struct ioasid_mmap_region;

enum ioasid_account_mode {
	IOASID_ACCOUNT_NONE,
	IOASID_ACCOUNT_USER, /* charge the user's locked memory (io_uring) */
	IOASID_ACCOUNT_MM,   /* charge the process' locked memory (VFIO) */
	/* Lent, not pinned (a dma-buf import): not even VmPin counts it. */
	IOASID_ACCOUNT_UNPINNED,
};

/*
 * Lock order: an object's own locks, then ctx->lock.  ctx->lock guards the
 * object table and account_mode and is never held while calling into an
 * object, so object code may look other objects up freely.
 */
struct ioasid_ctx {
	/* The opener's reference, and one per file handed out (an access
	 * fd keeps its context alive after /dev/iommu itself is closed). */
	atomic_uint refs;
	pthread_mutex_t lock;
	pthread_cond_t shortterm_done; /* signalled as lookups drain */
	struct ioasid_obj_table objects;
	enum ioasid_account_mode account_mode;
	uint32_t vfio_ioas_id; /* the VFIO compat IOAS, 0 if none */
	struct ioasid_mmap_region *mmaps; /* in offset order, under lock */
};

static inline void ioasid_ctx_get(struct ioasid_ctx *ctx)
{
	atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
}

#endif
