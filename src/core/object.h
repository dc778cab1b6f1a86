/* SPDX-License-Identifier: MIT */
/*
 * Objects and the per-context object table.
 *
 * Every object embeds struct ioasid_object first.  Creation is two-phase:
 * ioasid_obj_alloc() takes the lowest free id (1..INT_MAX) and leaves the
 * slot visibly occupied but unusable; the creator builds the object and then
 * either publishes it (cannot fail) or aborts it (the id is free again).
 *
 * Two counts keep an object alive:
 *   users     - structural references: the table holds one, and so does each
 *               object that depends on this one.  DESTROY succeeds only while
 *               the table's is the sole reference (EBUSY otherwise).
 *   shortterm - lookups by ioctls in flight.  Destruction unpublishes the
 *               object first, marks it dying (IOASID_OBJ_DYING) and then
 *               waits for these to drain, so a handler never sees its
 *               object freed under it.
 */
#ifndef IOASID_CORE_OBJECT_H
#define IOASID_CORE_OBJECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ioasid_ctx;

enum ioasid_obj_type {
	IOASID_OBJ_NONE = 0,
	IOASID_OBJ_ANY = IOASID_OBJ_NONE, /* lookup wildcard */
	IOASID_OBJ_DEVICE,
	IOASID_OBJ_HWPT_PAGING,
	IOASID_OBJ_HWPT_NESTED,
	IOASID_OBJ_IOAS,
	IOASID_OBJ_ACCESS,
	IOASID_OBJ_FAULT,
	IOASID_OBJ_VIOMMU,
	IOASID_OBJ_VDEVICE,
	IOASID_OBJ_VEVENTQ,
	IOASID_OBJ_HW_QUEUE,
	IOASID_OBJ_SELFTEST,
	IOASID_OBJ_RING,
	IOASID_OBJ_NR_TYPES,
};

/* In shortterm: destruction has begun, no new holds. */
#define IOASID_OBJ_DYING (1u << 31)

struct ioasid_object {
	enum ioasid_obj_type type;
	uint32_t id;
	atomic_uint users;
	atomic_uint shortterm;
	bool published; /* under the context's lock */
	bool charged;   /* to charged_uid's objects (user_limits.h) */
	uid_t charged_uid;
};

/* What the table needs to know about each type. */
struct ioasid_obj_ops {
	const char *name;
	/* Free everything the object owns; called once, never fails. */
	void (*destroy)(struct ioasid_ctx *ctx, struct ioasid_object *obj);
};

/*
 * Each object type's ops, registered by the file that implements the type
 * (IOASID_OBJ_TYPE) when the library is loaded, before any context.
 */
extern const struct ioasid_obj_ops *ioasid_obj_ops[IOASID_OBJ_NR_TYPES];
void ioasid_obj_register_type(enum ioasid_obj_type type,
			      const struct ioasid_obj_ops *ops);
#define IOASID_OBJ_TYPE(type, ops)                                      \
	__attribute__((constructor)) static void register_##ops(void)   \
	{                                                               \
		ioasid_obj_register_type(type, &ops);                   \
	}

/*
 * The table.  Slots are indexed by id - 1.  A slot holds NULL (free),
 * IOASID_SLOT_RESERVED (an object being built, or a tombstone), or a
 * published object.  `hint` is at or below the lowest free slot.
 */
struct ioasid_obj_table {
	void **slots;
	uint32_t nslots;
	uint32_t hint;
	uint32_t count; /* reserved + published */
};

#define IOASID_SLOT_RESERVED ((void *)1)

/*
 * The one way to make an object.  Phase one: `size` zeroed bytes that
 * start with a struct ioasid_object of `type`, under the lowest free id,
 * reserved (no lookup finds it).  0 and *out, or -ENOMEM, -ENOSPC.  Use
 * it as ioasid_obj_new(ctx, TYPE, &ptr) to size it from ptr's type.
 * Then build the object and end with exactly one of:
 *   ioasid_obj_publish()  it is found from now on; cannot fail, so it
 *                         comes after the last step that can (an ioctl
 *                         handler leaves it to the dispatcher: u->new_obj)
 *   ioasid_obj_abort()    the id is free again and the half-built object
 *                         is destroyed (its ops' destroy copes with that)
 */
int ioasid_obj_alloc(struct ioasid_ctx *ctx, size_t size,
		     enum ioasid_obj_type type, void **out);
#define ioasid_obj_new(ctx, type, out)                                       \
	({                                                                   \
		_Static_assert(offsetof(__typeof__(**(out)), obj) == 0,      \
			       "struct ioasid_object comes first");          \
		ioasid_obj_alloc(ctx, sizeof(**(out)), type, (void **)(out)); \
	})
/* Phase two: make a reserved object visible.  Cannot fail. */
void ioasid_obj_publish(struct ioasid_ctx *ctx, struct ioasid_object *obj);
/* Undo ioasid_obj_alloc() and destroy the half-built object. */
void ioasid_obj_abort(struct ioasid_ctx *ctx, struct ioasid_object *obj);

/*
 * Find a published object of `type` (or any type) and hold it short-term.
 * -ENOENT for a free, reserved or zero id, or one of another type.
 */
int ioasid_obj_get(struct ioasid_ctx *ctx, uint32_t id,
		   enum ioasid_obj_type type, struct ioasid_object **out);
void ioasid_obj_put(struct ioasid_ctx *ctx, struct ioasid_object *obj);

/* Structural references between objects. */
static inline void ioasid_obj_users_inc(struct ioasid_object *obj)
{
	atomic_fetch_add_explicit(&obj->users, 1, memory_order_relaxed);
}

/*
 * Depend on an object found by lookup: false when IOMMU_DESTROY has taken
 * its last reference meanwhile (users went 1 -> 0), and the new dependent
 * must then act as if the object was never there.
 */
static inline bool ioasid_obj_users_tryinc(struct ioasid_object *obj)
{
	unsigned int v = atomic_load_explicit(&obj->users,
					      memory_order_relaxed);

	do {
		if (!v)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
		&obj->users, &v, v + 1, memory_order_acquire,
		memory_order_relaxed));
	return true;
}

static inline void ioasid_obj_users_dec(struct ioasid_object *obj)
{
	atomic_fetch_sub_explicit(&obj->users, 1, memory_order_release);
}

/*
 * Every published object of `type`, in id order, each held short-term:
 * a new array the caller frees after ioasid_obj_put() on each.  Objects
 * published during the call may be missed.
 */
int ioasid_obj_collect(struct ioasid_ctx *ctx, enum ioasid_obj_type type,
		       struct ioasid_object ***out, size_t *n);

/* IOMMU_DESTROY: remove and destroy `id` unless something depends on it. */
int ioasid_obj_destroy_id(struct ioasid_ctx *ctx, uint32_t id);

/*
 * Destroy an object whose creator holds one extra `users` reference for
 * its whole life (an access belongs to its driver, not to IOMMU_DESTROY,
 * which answers EBUSY for it).  Drops that reference, unpublishes, waits
 * for lookups in flight, destroys; one never published is aborted.
 * Cannot fail.
 */
void ioasid_obj_destroy_owned(struct ioasid_ctx *ctx, struct ioasid_object *obj);

/*
 * As ioasid_obj_destroy_owned(), for a reference taken with
 * ioasid_obj_users_tryinc(), but the id stays taken until the context
 * ends (a tombstone: lookups and IOMMU_DESTROY say ENOENT).  What the
 * kernel does to a vDEVICE whose device goes, so userspace cannot
 * mistake a new object for the one it knew under that id.
 */
void ioasid_obj_tombstone(struct ioasid_ctx *ctx, struct ioasid_object *obj);

/*
 * Hold an object found by a path other than the table (a list it is on)
 * short-term, unless its destruction has begun: false then.  Release with
 * ioasid_obj_put().
 */
bool ioasid_obj_tryget(struct ioasid_object *obj);

/* Tear down the whole table at last close. */
void ioasid_obj_table_release(struct ioasid_ctx *ctx);

#endif
