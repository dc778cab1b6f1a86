/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "context.h"
#include "ioasid/ioasid.h"
#include "mmap.h"
#include "object.h"
#include "rcu.h"

struct ioasid_ctx *ioasid_ctx_new(void)
{
	struct ioasid_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_cond_init(&ctx->shortterm_done, NULL);
	ctx->account_mode = IOASID_ACCOUNT_USER;
	atomic_init(&ctx->refs, 1);
	return ctx;
}

void ioasid_ctx_put(struct ioasid_ctx *ctx)
{
	if (!ctx || atomic_fetch_sub_explicit(&ctx->refs, 1,
					      memory_order_acq_rel) != 1)
		return;
	/* Mappings still live hold their owners: the context is going, so
	 * they let go first, and the table can empty. */
	ioasid_mmap_release_all(ctx);
	ioasid_obj_table_release(ctx);
	pthread_cond_destroy(&ctx->shortterm_done);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
	/* The last close has let go of every file and process it held. */
	ioasid_wait_releases();
}

unsigned int ioasid_ctx_object_count(struct ioasid_ctx *ctx)
{
	unsigned int n;

	pthread_mutex_lock(&ctx->lock);
	n = ctx->objects.count;
	pthread_mutex_unlock(&ctx->lock);
	return n;
}
