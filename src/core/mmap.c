/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "context.h"
#include "ioasid/ioasid.h"
#include "mmap.h"
#include "util.h"

int ioasid_mmap_alloc(struct ioasid_ctx *ctx, struct ioasid_object *owner,
		      uint64_t length, int memfd, uint64_t *offset)
{
	struct ioasid_mmap_region *r, **link;
	uint64_t at = IOASID_PAGE_SIZE;

	if (!length || length % IOASID_PAGE_SIZE)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->length = length;
	r->owner = owner;
	r->memfd = memfd;
	pthread_mutex_lock(&ctx->lock);
	/* The list is in offset order: the first gap that fits. */
	for (link = &ctx->mmaps; *link; link = &(*link)->next) {
		if ((*link)->offset - at >= length)
			break;
		at = (*link)->offset + (*link)->length;
	}
	r->offset = at;
	r->next = *link;
	*link = r;
	pthread_mutex_unlock(&ctx->lock);
	*offset = at;
	return 0;
}

void ioasid_mmap_destroy(struct ioasid_ctx *ctx, uint64_t offset)
{
	struct ioasid_mmap_region **link, *r;

	pthread_mutex_lock(&ctx->lock);
	for (link = &ctx->mmaps; (r = *link); link = &r->next)
		if (r->offset == offset)
			break;
	if (r)
		*link = r->next;
	pthread_mutex_unlock(&ctx->lock);
	if (!r)
		return;
	close(r->memfd);
	free(r);
}

int ioasid_ctx_mmap(struct ioasid_ctx *ctx, uint64_t offset, uint64_t length,
		    int prot, int flags)
{
	struct ioasid_mmap_region *r;
	int fd = -ENXIO;

	if (!length || length % IOASID_PAGE_SIZE)
		return -EINVAL;
	if (!(flags & MAP_SHARED))
		return -EINVAL;
	if (prot & PROT_EXEC)
		return -EPERM;
	pthread_mutex_lock(&ctx->lock);
	for (r = ctx->mmaps; r; r = r->next) {
		if (offset < r->offset || offset - r->offset >= r->length)
			continue;
		/* Only the exact region: no part of it, nothing more. */
		if (offset != r->offset || length != r->length ||
		    !ioasid_obj_users_tryinc(r->owner))
			break;
		fd = fcntl(r->memfd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			ioasid_obj_users_dec(r->owner);
			fd = -ENOMEM;
		} else {
			r->maps++;
		}
		break;
	}
	pthread_mutex_unlock(&ctx->lock);
	return fd;
}

int ioasid_ctx_munmap(struct ioasid_ctx *ctx, uint64_t offset)
{
	struct ioasid_mmap_region *r;
	int rc = -EINVAL;

	pthread_mutex_lock(&ctx->lock);
	for (r = ctx->mmaps; r; r = r->next) {
		if (r->offset != offset || !r->maps)
			continue;
		r->maps--;
		ioasid_obj_users_dec(r->owner);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

void ioasid_mmap_release_all(struct ioasid_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	for (struct ioasid_mmap_region *r = ctx->mmaps; r; r = r->next) {
		while (r->maps) {
			r->maps--;
			ioasid_obj_users_dec(r->owner);
		}
	}
	pthread_mutex_unlock(&ctx->lock);
}
