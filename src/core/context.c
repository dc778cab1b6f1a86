/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "context.h"
#include "ioasid/ioasid.h"
#include "mmap.h"
#include "object.h"
#include "pt/pt.h"

extern const struct ioasid_obj_ops ioasid_ioas_obj_ops;
extern const struct ioasid_obj_ops ioasid_access_obj_ops;
extern const struct ioasid_obj_ops ioasid_device_obj_ops;
extern const struct ioasid_obj_ops ioasid_hwpt_paging_obj_ops;
extern const struct ioasid_obj_ops ioasid_hwpt_nested_obj_ops;
extern const struct ioasid_obj_ops ioasid_selftest_obj_ops;
extern const struct ioasid_obj_ops ioasid_fault_obj_ops;
extern const struct ioasid_obj_ops ioasid_viommu_obj_ops;
extern const struct ioasid_obj_ops ioasid_vdevice_obj_ops;
extern const struct ioasid_obj_ops ioasid_veventq_obj_ops;
extern const struct ioasid_obj_ops ioasid_hw_queue_obj_ops;

const struct ioasid_obj_ops *const ioasid_obj_ops[IOASID_OBJ_NR_TYPES] = {
	[IOASID_OBJ_IOAS] = &ioasid_ioas_obj_ops,
	[IOASID_OBJ_ACCESS] = &ioasid_access_obj_ops,
	[IOASID_OBJ_DEVICE] = &ioasid_device_obj_ops,
	[IOASID_OBJ_HWPT_PAGING] = &ioasid_hwpt_paging_obj_ops,
	[IOASID_OBJ_HWPT_NESTED] = &ioasid_hwpt_nested_obj_ops,
	[IOASID_OBJ_SELFTEST] = &ioasid_selftest_obj_ops,
	[IOASID_OBJ_FAULT] = &ioasid_fault_obj_ops,
	[IOASID_OBJ_VIOMMU] = &ioasid_viommu_obj_ops,
	[IOASID_OBJ_VDEVICE] = &ioasid_vdevice_obj_ops,
	[IOASID_OBJ_VEVENTQ] = &ioasid_veventq_obj_ops,
	[IOASID_OBJ_HW_QUEUE] = &ioasid_hw_queue_obj_ops,
};

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
	pt_wait_releases();
}

unsigned int ioasid_ctx_object_count(struct ioasid_ctx *ctx)
{
	unsigned int n;

	pthread_mutex_lock(&ctx->lock);
	n = ctx->objects.count;
	pthread_mutex_unlock(&ctx->lock);
	return n;
}
