/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "context.h"
#include "dispatch.h"
#include "ioasid/ioasid.h"
#include "user_limits.h"
#include "object.h"

const struct ioasid_obj_ops *ioasid_obj_ops[IOASID_OBJ_NR_TYPES];

void ioasid_obj_register_type(enum ioasid_obj_type type,
			      const struct ioasid_obj_ops *ops)
{
	/* Two files claiming one type is a build mistake, found at once. */
	if (type <= IOASID_OBJ_NONE || type >= IOASID_OBJ_NR_TYPES ||
	    ioasid_obj_ops[type])
		abort();
	ioasid_obj_ops[type] = ops;
}

/* The lowest free slot at or after the hint, growing the array if needed. */
static int table_find_free(struct ioasid_obj_table *t, uint32_t *slot)
{
	uint32_t i;

	for (i = t->hint; i < t->nslots; i++) {
		if (!t->slots[i]) {
			*slot = i;
			return 0;
		}
	}
	if (t->nslots >= (uint32_t)INT_MAX)
		return -ENOSPC;

	uint32_t grown = t->nslots ? t->nslots * 2 : 16;
	if (grown > (uint32_t)INT_MAX)
		grown = INT_MAX;
	void **slots = realloc(t->slots, grown * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = t->nslots; i < grown; i++)
		slots[i] = NULL;
	*slot = t->nslots;
	t->slots = slots;
	t->nslots = grown;
	return 0;
}

static int obj_reserve(struct ioasid_ctx *ctx, struct ioasid_object *obj,
		       enum ioasid_obj_type type)
{
	uint32_t slot;
	int rc;

	obj->type = type;
	atomic_init(&obj->users, 1);
	atomic_init(&obj->shortterm, 0);

	pthread_mutex_lock(&ctx->lock);
	rc = table_find_free(&ctx->objects, &slot);
	if (!rc) {
		ctx->objects.slots[slot] = IOASID_SLOT_RESERVED;
		ctx->objects.hint = slot + 1;
		ctx->objects.count++;
		obj->id = slot + 1;
	}
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

/* The type's destroy, after the object's charge is given back. */
static void obj_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	if (obj->charged)
		ioasid_user_object_uncharge(obj->charged_uid);
	ioasid_obj_ops[obj->type]->destroy(ctx, obj);
}

int ioasid_obj_alloc(struct ioasid_ctx *ctx, size_t size,
		     enum ioasid_obj_type type, void **out)
{
	const struct ioasid_caller *caller = ioasid_current_caller();
	struct ioasid_object *obj;
	int rc;

	/* The user whose call makes it pays for it. */
	if (caller) {
		rc = ioasid_user_object_charge(caller->uid);
		if (rc)
			return rc;
	}
	obj = calloc(1, size);
	if (!obj) {
		rc = -ENOMEM;
		goto out_uncharge;
	}
	obj->charged = caller != NULL;
	obj->charged_uid = caller ? caller->uid : 0;
	rc = obj_reserve(ctx, obj, type);
	if (rc)
		goto out_free;
	*out = obj;
	return 0;

out_free:
	free(obj);
out_uncharge:
	if (caller)
		ioasid_user_object_uncharge(caller->uid);
	return rc;
}

void ioasid_obj_publish(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->objects.slots[obj->id - 1] = obj;
	obj->published = true;
	pthread_mutex_unlock(&ctx->lock);
}

static void slot_free_locked(struct ioasid_obj_table *t, uint32_t id)
{
	t->slots[id - 1] = NULL;
	t->count--;
	if (id - 1 < t->hint)
		t->hint = id - 1;
}

void ioasid_obj_abort(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	/* Never published, so no lookup can hold it. */
	pthread_mutex_lock(&ctx->lock);
	slot_free_locked(&ctx->objects, obj->id);
	pthread_mutex_unlock(&ctx->lock);
	obj_destroy(ctx, obj);
}

static struct ioasid_object *lookup_locked(struct ioasid_ctx *ctx, uint32_t id)
{
	void *p;

	if (id == 0 || id > ctx->objects.nslots)
		return NULL;
	p = ctx->objects.slots[id - 1];
	if (!p || p == IOASID_SLOT_RESERVED)
		return NULL;
	return p;
}

int ioasid_obj_get(struct ioasid_ctx *ctx, uint32_t id,
		   enum ioasid_obj_type type, struct ioasid_object **out)
{
	struct ioasid_object *obj;
	int rc = -ENOENT;

	pthread_mutex_lock(&ctx->lock);
	obj = lookup_locked(ctx, id);
	if (obj && (type == IOASID_OBJ_ANY || obj->type == type)) {
		atomic_fetch_add_explicit(&obj->shortterm, 1,
					  memory_order_relaxed);
		*out = obj;
		rc = 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

void ioasid_obj_put(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	/* Only a destroyer waits for the last hold, and it marks the object
	 * dying under the lock it waits with before it looks: a last put
	 * that saw no mark has nobody to wake, and the lock is not taken on
	 * every ioctl's way out. */
	if (atomic_fetch_sub_explicit(&obj->shortterm, 1,
				      memory_order_acq_rel) ==
	    (IOASID_OBJ_DYING | 1)) {
		pthread_mutex_lock(&ctx->lock);
		pthread_cond_broadcast(&ctx->shortterm_done);
		pthread_mutex_unlock(&ctx->lock);
	}
}

int ioasid_obj_collect(struct ioasid_ctx *ctx, enum ioasid_obj_type type,
		       struct ioasid_object ***out, size_t *n)
{
	struct ioasid_object **objs;
	size_t count = 0, cap;

	/* Sized first, filled second: the table may grow in between, and
	 * what it gains then is not ours to see. */
	pthread_mutex_lock(&ctx->lock);
	cap = ctx->objects.count;
	pthread_mutex_unlock(&ctx->lock);
	objs = calloc(cap ? cap : 1, sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	pthread_mutex_lock(&ctx->lock);
	for (uint32_t id = 1; id <= ctx->objects.nslots && count < cap; id++) {
		struct ioasid_object *obj = lookup_locked(ctx, id);

		if (!obj || obj->type != type)
			continue;
		atomic_fetch_add_explicit(&obj->shortterm, 1,
					  memory_order_relaxed);
		objs[count++] = obj;
	}
	pthread_mutex_unlock(&ctx->lock);
	*out = objs;
	*n = count;
	return 0;
}

/* Called with ctx->lock held and obj already unpublished. */
static void wait_shortterm_locked(struct ioasid_ctx *ctx,
				  struct ioasid_object *obj)
{
	atomic_fetch_or_explicit(&obj->shortterm, IOASID_OBJ_DYING,
				 memory_order_acq_rel);
	while (atomic_load_explicit(&obj->shortterm, memory_order_acquire) &
	       ~IOASID_OBJ_DYING)
		pthread_cond_wait(&ctx->shortterm_done, &ctx->lock);
}

bool ioasid_obj_tryget(struct ioasid_object *obj)
{
	unsigned int v = atomic_load_explicit(&obj->shortterm,
					      memory_order_relaxed);

	do {
		if (v & IOASID_OBJ_DYING)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
		&obj->shortterm, &v, v + 1, memory_order_acquire,
		memory_order_relaxed));
	return true;
}

int ioasid_obj_destroy_id(struct ioasid_ctx *ctx, uint32_t id)
{
	struct ioasid_object *obj;
	unsigned int one = 1;

	pthread_mutex_lock(&ctx->lock);
	obj = lookup_locked(ctx, id);
	if (!obj) {
		pthread_mutex_unlock(&ctx->lock);
		return -ENOENT;
	}
	/* Taking the last reference (1 -> 0) races fairly with a new
	 * dependent's ioasid_obj_users_tryinc(): one of them wins. */
	if (!atomic_compare_exchange_strong_explicit(&obj->users, &one, 0,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		pthread_mutex_unlock(&ctx->lock);
		return -EBUSY;
	}
	slot_free_locked(&ctx->objects, id);
	wait_shortterm_locked(ctx, obj);
	pthread_mutex_unlock(&ctx->lock);

	obj_destroy(ctx, obj);
	return 0;
}

void ioasid_obj_destroy_owned(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	bool published;

	pthread_mutex_lock(&ctx->lock);
	published = obj->published;
	pthread_mutex_unlock(&ctx->lock);
	if (!published) {
		/* Its creator failed before publishing it. */
		ioasid_obj_abort(ctx, obj);
		return;
	}
	ioasid_obj_users_dec(obj);
	pthread_mutex_lock(&ctx->lock);
	slot_free_locked(&ctx->objects, obj->id);
	wait_shortterm_locked(ctx, obj);
	pthread_mutex_unlock(&ctx->lock);

	obj_destroy(ctx, obj);
}

void ioasid_obj_tombstone(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	ioasid_obj_users_dec(obj);
	pthread_mutex_lock(&ctx->lock);
	/* Reserved for good: never found, never handed out again. */
	ctx->objects.slots[obj->id - 1] = IOASID_SLOT_RESERVED;
	wait_shortterm_locked(ctx, obj);
	pthread_mutex_unlock(&ctx->lock);

	obj_destroy(ctx, obj);
}

void ioasid_obj_table_release(struct ioasid_ctx *ctx)
{
	struct ioasid_obj_table *t = &ctx->objects;
	int progress = 1;

	/*
	 * Dependents hold users on what they depend on, so each pass frees
	 * the objects nothing depends on any more, until nothing is left.
	 */
	while (progress) {
		progress = 0;
		for (uint32_t i = 0; i < t->nslots; i++) {
			struct ioasid_object *obj = t->slots[i];

			if (!obj || obj == IOASID_SLOT_RESERVED)
				continue;
			if (atomic_load(&obj->users) != 1)
				continue;
			pthread_mutex_lock(&ctx->lock);
			slot_free_locked(t, obj->id);
			pthread_mutex_unlock(&ctx->lock);
			obj_destroy(ctx, obj);
			progress = 1;
		}
	}
	/* What remains are tombstones: ids kept unusable until close. */
	free(t->slots);
	t->slots = NULL;
	t->nslots = t->count = t->hint = 0;
}
