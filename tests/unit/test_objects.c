/* SPDX-License-Identifier: MIT */
/* The object table: id allocation, two-phase creation, destroy rules. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/context.h"
#include "core/object.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "iopt/ioas.h"

static struct ioasid_caller caller;

static int ioas_alloc(struct ioasid_ctx *ctx)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	long rc = ioasid_ctx_ioctl(ctx, &caller, IOMMU_IOAS_ALLOC,
				   (unsigned long)&cmd);

	return rc ? (int)rc : (int)cmd.out_ioas_id;
}

static long destroy(struct ioasid_ctx *ctx, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioasid_ctx_ioctl(ctx, &caller, IOMMU_DESTROY, (unsigned long)&cmd);
}

struct destroyer {
	struct ioasid_ctx *ctx;
	uint32_t id;
	long rc;
	atomic_bool done;
};

static void *destroy_thread(void *arg)
{
	struct destroyer *d = arg;

	d->rc = destroy(d->ctx, d->id);
	atomic_store(&d->done, true);
	return NULL;
}

/*
 * DESTROY waits for the lookups in flight: not while either of two holds
 * is kept, and it returns once the last is let go (its put is the one
 * that wakes it; a put with nobody waiting wakes nobody).
 */
static void destroy_waits_for_holds(struct ioasid_ctx *ctx)
{
	struct destroyer d = { .ctx = ctx };
	struct ioasid_object *a, *b;
	pthread_t t;

	d.id = (uint32_t)ioas_alloc(ctx);
	CHECK_EQ(ioasid_obj_get(ctx, d.id, IOASID_OBJ_IOAS, &a), 0);
	CHECK_EQ(ioasid_obj_get(ctx, d.id, IOASID_OBJ_IOAS, &b), 0);
	CHECK_EQ(pthread_create(&t, NULL, destroy_thread, &d), 0);
	usleep(20000);
	CHECK(!atomic_load(&d.done));
	ioasid_obj_put(ctx, a);
	usleep(20000);
	CHECK(!atomic_load(&d.done));
	ioasid_obj_put(ctx, b);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(atomic_load(&d.done));
	CHECK_EQ(d.rc, 0);
}

int main(void)
{
	struct ioasid_ctx *ctx = ioasid_ctx_new();
	struct ioasid_object *obj;
	struct ioasid_ioas *held;

	CHECK_EQ(ioasid_caller_self(&caller), 0);

	/* Lowest free id first, from 1, and reused after destroy. */
	CHECK_EQ(ioas_alloc(ctx), 1);
	CHECK_EQ(ioas_alloc(ctx), 2);
	CHECK_EQ(ioas_alloc(ctx), 3);
	CHECK_EQ(destroy(ctx, 2), 0);
	CHECK_EQ(destroy(ctx, 2), -ENOENT);
	CHECK_EQ(ioas_alloc(ctx), 2);
	CHECK_EQ(destroy(ctx, 1), 0);
	CHECK_EQ(destroy(ctx, 3), 0);
	CHECK_EQ(ioas_alloc(ctx), 1);
	CHECK_EQ(ioas_alloc(ctx), 3);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 3);

	/* Zero and unknown ids. */
	CHECK_EQ(destroy(ctx, 0), -ENOENT);
	CHECK_EQ(destroy(ctx, 4), -ENOENT);
	CHECK_EQ(destroy(ctx, 0x7fffffff), -ENOENT);

	/* Lookups check the type. */
	CHECK_EQ(ioasid_obj_get(ctx, 1, IOASID_OBJ_DEVICE, &obj), -ENOENT);
	CHECK_EQ(ioasid_obj_get(ctx, 1, IOASID_OBJ_ANY, &obj), 0);
	ioasid_obj_put(ctx, obj);

	/* A structural user makes DESTROY answer EBUSY, and nothing changes. */
	CHECK_EQ(ioasid_ioas_get(ctx, 3, &held), 0);
	ioasid_obj_users_inc(&held->obj);
	ioasid_ioas_put(ctx, held);
	CHECK_EQ(destroy(ctx, 3), -EBUSY);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 3);
	ioasid_obj_users_dec(&held->obj);
	CHECK_EQ(destroy(ctx, 3), 0);

	/* Two-phase: a reserved id is taken but invisible; abort frees it. */
	{
		struct ioasid_ioas *ioas;

		CHECK_EQ(ioasid_obj_new(ctx, IOASID_OBJ_IOAS, &ioas), 0);
		CHECK_EQ(ioas->obj.id, 3);
		CHECK_EQ(ioas->obj.type, IOASID_OBJ_IOAS);
		iopt_init(&ioas->iopt);
		CHECK_EQ(ioasid_obj_get(ctx, 3, IOASID_OBJ_ANY, &obj), -ENOENT);
		CHECK_EQ(destroy(ctx, 3), -ENOENT);
		CHECK_EQ(ioas_alloc(ctx), 4);
		ioasid_obj_abort(ctx, &ioas->obj);
		CHECK_EQ(ioas_alloc(ctx), 3);
	}
	/* An owned object its creator gives up before publishing it is
	 * aborted by the owner's destroy: its id is free again. */
	{
		struct ioasid_ioas *ioas;

		CHECK_EQ(ioasid_obj_new(ctx, IOASID_OBJ_IOAS, &ioas), 0);
		CHECK_EQ(ioas->obj.id, 5);
		iopt_init(&ioas->iopt);
		ioasid_obj_users_inc(&ioas->obj);
		ioasid_obj_destroy_owned(ctx, &ioas->obj);
		CHECK_EQ(ioas_alloc(ctx), 5);
		CHECK_EQ(destroy(ctx, 5), 0);
	}

	/* Many ids: the table grows and stays dense. */
	for (int i = 5; i <= 1000; i++)
		CHECK_EQ(ioas_alloc(ctx), i);
	for (int i = 1000; i >= 500; i -= 7)
		CHECK_EQ(destroy(ctx, i), 0);
	CHECK_EQ(ioas_alloc(ctx), 503);

	destroy_waits_for_holds(ctx);

	/* Last close releases everything. */
	ioasid_ctx_put(ctx);
	return check_finish("objects");
}
