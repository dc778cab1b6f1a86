/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "access.h"
#include "core/context.h"
#include "core/util.h"
#include "iopt/ioas.h"
#include "pages/pages.h"

static void access_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_access *access =
		container_of(obj, struct ioasid_access, obj);

	(void)ctx;
	ioasid_access_detach(access);
	pthread_mutex_destroy(&access->ioas_lock);
	free(access);
}

static const struct ioasid_obj_ops ioasid_access_obj_ops = {
	.name = "access",
	.destroy = access_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_ACCESS, ioasid_access_obj_ops)

int ioasid_access_create(struct ioasid_ctx *ctx,
			 const struct ioasid_access_ops *ops, void *data,
			 struct ioasid_access **out)
{
	struct ioasid_access *access;
	int rc;

	rc = ioasid_obj_new(ctx, IOASID_OBJ_ACCESS, &access);
	if (rc)
		return rc;
	access->ctx = ctx;
	access->ops = ops;
	access->data = data;
	pthread_mutex_init(&access->ioas_lock, NULL);
	/* Pinned pages are handed out whole, so their IOVAs must be too. */
	for (unsigned int i = 0; i < ARRAY_SIZE(access->links); i++) {
		access->links[i].owner = access;
		access->links[i].iova_alignment =
			ops->needs_pin_pages ? IOASID_PAGE_SIZE : 1;
	}
	/* The driver is a user until it destroys the access. */
	ioasid_obj_users_inc(&access->obj);
	*out = access;
	return 0;
}

void ioasid_access_destroy(struct ioasid_access *access)
{
	ioasid_obj_destroy_owned(access->ctx, &access->obj);
}

/*
 * Move from access->ioas to new_ioas (either may be NULL), with ioas_lock
 * held.  The driver is asked to drop every pin before the old IOAS lets
 * go, which it does through ioas_unpin.
 */
static int change_ioas_locked(struct ioasid_access *access,
			      struct ioasid_ioas *new_ioas)
{
	struct ioasid_ioas *cur = access->ioas;
	unsigned int next_link = access->cur_link ^ 1;
	int rc;

	/* A detach is running concurrently (the lock was dropped below). */
	if (cur != access->ioas_unpin)
		return -EBUSY;
	if (cur == new_ioas)
		return 0;

	/* New pins stop here; unpins still find the old IOAS. */
	access->ioas = NULL;
	if (new_ioas) {
		if (!ioasid_obj_users_tryinc(&new_ioas->obj)) {
			access->ioas = cur;
			return -ENOENT;
		}
		rc = iopt_add_access(&new_ioas->iopt, &access->links[next_link]);
		if (rc) {
			ioasid_obj_users_dec(&new_ioas->obj);
			access->ioas = cur;
			return rc;
		}
	}
	if (cur) {
		if (access->ops->unmap) {
			pthread_mutex_unlock(&access->ioas_lock);
			access->ops->unmap(access->data, 0, IOASID_ULONG_MAX);
			pthread_mutex_lock(&access->ioas_lock);
		}
		iopt_remove_access(&cur->iopt, &access->links[access->cur_link]);
		ioasid_obj_users_dec(&cur->obj);
	}
	access->cur_link = next_link;
	access->ioas = new_ioas;
	access->ioas_unpin = new_ioas;
	return 0;
}

static int change_ioas_id_locked(struct ioasid_access *access, uint32_t id)
{
	struct ioasid_ioas *ioas;
	int rc;

	rc = ioasid_ioas_get(access->ctx, id, &ioas);
	if (rc)
		return rc;
	rc = change_ioas_locked(access, ioas);
	ioasid_ioas_put(access->ctx, ioas);
	return rc;
}

int ioasid_access_attach(struct ioasid_access *access, uint32_t ioas_id)
{
	int rc = -EINVAL;

	pthread_mutex_lock(&access->ioas_lock);
	if (!access->ioas)
		rc = change_ioas_id_locked(access, ioas_id);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

int ioasid_access_replace(struct ioasid_access *access, uint32_t ioas_id)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		rc = change_ioas_id_locked(access, ioas_id);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

void ioasid_access_detach(struct ioasid_access *access)
{
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		(void)change_ioas_locked(access, NULL);
	pthread_mutex_unlock(&access->ioas_lock);
}

/* [iova, iova + length) as a closed range: -EINVAL empty, -EOVERFLOW wrap. */
static int access_range(uint64_t iova, uint64_t length, uint64_t *last)
{
	if (!length)
		return -EINVAL;
	if (add_overflows_u64(iova, length - 1, last))
		return -EOVERFLOW;
	return 0;
}

int ioasid_access_pin_pages(struct ioasid_access *access, uint64_t iova,
			    uint64_t length, unsigned int flags,
			    struct ioasid_page_id *ids)
{
	uint64_t last;
	int rc;

	/* Without an unmap op nobody could ever take the pins back. */
	if (!access->ops->needs_pin_pages || !access->ops->unmap)
		return -EINVAL;
	rc = access_range(iova, length, &last);
	if (rc)
		return rc;
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		rc = iopt_access_pin(&access->ioas->iopt, iova, last,
				     flags & IOASID_ACCESS_RW_WRITE, ids);
	else
		rc = -ENOENT;
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

void ioasid_access_unpin_pages(struct ioasid_access *access, uint64_t iova,
			       uint64_t length)
{
	uint64_t last;

	if (access_range(iova, length, &last))
		return;
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas_unpin)
		iopt_access_unpin(&access->ioas_unpin->iopt, iova, last);
	pthread_mutex_unlock(&access->ioas_lock);
}

int ioasid_access_rw(struct ioasid_access *access, uint64_t iova, void *buf,
		     uint64_t length, unsigned int flags)
{
	uint64_t last;
	int rc;

	rc = access_range(iova, length, &last);
	if (rc)
		return rc;
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		rc = iopt_access_rw(&access->ioas->iopt, iova, last, buf,
				    flags & IOASID_ACCESS_RW_WRITE);
	else
		rc = -ENOENT;
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

/* A walk step: hold the access unless its destruction has begun. */
static bool take_access(struct iopt_access_link *link)
{
	struct ioasid_access *access = link->owner;

	return ioasid_obj_tryget(&access->obj);
}

void ioasid_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova,
				uint64_t length)
{
	struct iopt_access_link *link;
	uint64_t seq = 0;

	while ((link = iopt_next_access(iopt, &seq, take_access))) {
		struct ioasid_access *access = link->owner;

		if (access->ops->unmap)
			access->ops->unmap(access->data, iova, length);
		ioasid_obj_put(access->ctx, &access->obj);
	}
}
