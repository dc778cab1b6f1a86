/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "ioas.h"
#include "ioasid/uapi/iommufd.h"
#include "pages/dmabuf.h"
#include "pages/mm.h"
#include "pages/pages.h"

static void ioas_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_ioas *ioas = container_of(obj, struct ioasid_ioas, obj);

	/* Its id may be handed out again: the compat link must not follow. */
	pthread_mutex_lock(&ctx->lock);
	if (ctx->vfio_ioas_id == obj->id)
		ctx->vfio_ioas_id = 0;
	pthread_mutex_unlock(&ctx->lock);
	iopt_destroy(&ioas->iopt);
	pthread_mutex_destroy(&ioas->mutex);
	pthread_mutex_destroy(&ioas->hwpts_lock);
	free(ioas);
}

static const struct ioasid_obj_ops ioasid_ioas_obj_ops = {
	.name = "ioas",
	.destroy = ioas_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_IOAS, ioasid_ioas_obj_ops)

int ioasid_ioas_get(struct ioasid_ctx *ctx, uint32_t id,
		    struct ioasid_ioas **out)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(ctx, id, IOASID_OBJ_IOAS, &obj);
	if (!rc)
		*out = container_of(obj, struct ioasid_ioas, obj);
	return rc;
}

int ioasid_ioas_new(struct ioasid_ctx *ctx, struct ioasid_ioas **out)
{
	struct ioasid_ioas *ioas;
	int rc;

	rc = ioasid_obj_new(ctx, IOASID_OBJ_IOAS, &ioas);
	if (rc)
		return rc;
	iopt_init(&ioas->iopt);
	pthread_mutex_init(&ioas->mutex, NULL);
	pthread_mutex_init(&ioas->hwpts_lock, NULL);
	*out = ioas;
	return 0;
}

long ioasid_ioas_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_ioas_alloc *cmd = u->cmd;
	struct ioasid_ioas *ioas;
	int rc;

	rc = ioasid_ioas_new(u->ctx, &ioas);
	if (rc)
		return rc;
	/* From here the dispatcher publishes it, or aborts it if we fail. */
	u->new_obj = &ioas->obj;

	cmd->out_ioas_id = ioas->obj.id;
	return ucmd_respond(u, sizeof(*cmd));
}

long ioasid_ioas_iova_ranges_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_ioas_iova_ranges *cmd = u->cmd;
	struct ioasid_ioas *ioas;
	struct itree_span span;
	uint32_t max_iovas = cmd->num_iovas;
	int rc;

	rc = ioasid_ioas_get(u->ctx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;

	pthread_rwlock_rdlock(&ioas->iopt.iova_lock);
	cmd->num_iovas = 0;
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	itree_for_each_span(&span, &ioas->iopt.reserved_itree, 0,
			    IOASID_ULONG_MAX) {
		if (!span.is_hole)
			continue;
		if (cmd->num_iovas < max_iovas) {
			struct iommu_iova_range elm = {
				.start = span.start,
				.last = span.end,
			};

			rc = ucmd_write(u, cmd->allowed_iovas +
					   (uint64_t)cmd->num_iovas * sizeof(elm),
					&elm, sizeof(elm));
			if (rc)
				goto out_unlock;
		}
		cmd->num_iovas++;
	}
	rc = ucmd_respond(u, sizeof(*cmd));
	if (!rc && cmd->num_iovas > max_iovas)
		rc = -EMSGSIZE;
out_unlock:
	pthread_rwlock_unlock(&ioas->iopt.iova_lock);
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

/* Read the user's ranges into a private tree, refusing empty or overlapping
 * ones. */
static int load_allowed(struct ioasid_ucmd *u, const struct iommu_ioas_allow_iovas *cmd,
			struct itree *t)
{
	for (uint32_t i = 0; i != cmd->num_iovas; i++) {
		struct iommu_iova_range range;
		struct iopt_allowed *a;
		int rc;

		rc = ucmd_read(u, cmd->allowed_iovas + (uint64_t)i * sizeof(range),
			       &range, sizeof(range));
		if (rc)
			return rc;
		if (range.start >= range.last)
			return -EINVAL;
		if (itree_iter_first(t, range.start, range.last))
			return -EINVAL;
		a = calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		a->node.start = range.start;
		a->node.last = range.last;
		itree_insert(t, &a->node);
	}
	return 0;
}

long ioasid_ioas_allow_iovas_ioctl(struct ioasid_ucmd *u)
{
	const struct iommu_ioas_allow_iovas *cmd = u->cmd;
	struct itree allowed = ITREE_INIT;
	struct ioasid_ioas *ioas;
	int rc;

	rc = ioasid_ioas_get(u->ctx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	rc = load_allowed(u, cmd, &allowed);
	if (!rc)
		rc = iopt_set_allow_iova(&ioas->iopt, &allowed);
	/* Whichever set lost: the new one on failure, the old on success. */
	iopt_free_allowed(&allowed);
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

int ioasid_ioas_option(struct ioasid_ucmd *u, struct iommu_option *cmd)
{
	struct ioasid_ioas *ioas;
	int rc;

	rc = ioasid_ioas_get(u->ctx, cmd->object_id, &ioas);
	if (rc)
		return rc;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
	} else if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (cmd->val64 == 0)
			rc = iopt_disable_large_pages(&ioas->iopt);
		else if (cmd->val64 == 1)
			iopt_enable_large_pages(&ioas->iopt);
		else
			rc = -EINVAL;
	} else {
		rc = -EOPNOTSUPP;
	}
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

static int conv_prot(uint32_t flags)
{
	int prot = 0;

	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOASID_PROT_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOASID_PROT_READ;
	return prot;
}

/*
 * The checks MAP, MAP_FILE and COPY make before looking anything up: every
 * overflow first, then a mapping nobody could access.
 */
static int check_map_args(uint64_t iova, uint64_t length, uint32_t flags)
{
	if (iova >= IOASID_ULONG_MAX || length >= IOASID_ULONG_MAX)
		return -EOVERFLOW;
	if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	return 0;
}

/*
 * How new page sets are charged: not at all for a caller holding
 * CAP_IPC_LOCK, otherwise as the context's RLIMIT_MODE says.
 */
static enum ioasid_account_mode new_pages_account_mode(struct ioasid_ucmd *u)
{
	enum ioasid_account_mode mode;

	if (ucmd_capable(u, CAP_IPC_LOCK))
		return IOASID_ACCOUNT_NONE;
	pthread_mutex_lock(&u->ctx->lock);
	mode = u->ctx->account_mode;
	pthread_mutex_unlock(&u->ctx->lock);
	return mode;
}

/* Map one fresh page set; the set is consumed either way. */
static int map_new_pages(struct ioasid_ioas *ioas, struct ioasid_pages *pages,
			 uint64_t start_byte, uint64_t length, uint64_t *iova,
			 uint32_t flags)
{
	struct iopt_pages_elm elm = {
		.pages = pages,
		.start_byte = start_byte,
		.length = length,
	};
	int rc;

	rc = iopt_map_pages(&ioas->iopt, &elm, 1, length, iova,
			    conv_prot(flags),
			    flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (elm.pages)
		ioasid_pages_put(elm.pages);
	return rc;
}

int ioasid_ioas_map_user(struct ioasid_ucmd *u, struct ioasid_ioas *ioas,
			 uint64_t user_va, uint64_t length, uint64_t *iova,
			 uint32_t flags)
{
	struct ioasid_pages *pages;
	struct ioasid_mm *mm;
	int rc;

	rc = ioasid_caller_mm(u->caller, &mm);
	if (rc)
		return rc;
	/* Memory of an image that is gone is no memory at all.  A map that
	 * pins proves the image there when it names the pages; one into an
	 * IOAS with no domain pins nothing, and asks.  (A domain attached
	 * meanwhile pins, and finds out then.) */
	if (!iopt_has_domains(&ioas->iopt) && !ioasid_mm_alive_for_call(mm))
		rc = -EFAULT;
	else
		rc = ioasid_pages_alloc_user(mm, u->caller->uid, user_va,
					     length,
					     flags & IOMMU_IOAS_MAP_WRITEABLE,
					     new_pages_account_mode(u), &pages);
	ioasid_mm_put(mm);
	if (rc)
		return rc;
	return map_new_pages(ioas, pages, user_va - pages->uptr, length, iova,
			     flags);
}

long ioasid_ioas_map_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_ioas_map *cmd = u->cmd;
	struct ioasid_ioas *ioas;
	uint64_t iova = cmd->iova;
	int rc;

	rc = check_map_args(cmd->iova, cmd->length, cmd->flags);
	if (rc)
		return rc;
	rc = ioasid_ioas_get(u->ctx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	rc = ioasid_ioas_map_user(u, ioas, cmd->user_va, cmd->length, &iova,
				  cmd->flags);
	if (!rc) {
		cmd->iova = iova;
		rc = ucmd_respond(u, sizeof(*cmd));
	}
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

long ioasid_ioas_copy_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_ioas_copy *cmd = u->cmd;
	struct iopt_pages_elm *elms;
	struct ioasid_ioas *src, *dst;
	uint64_t iova = cmd->dst_iova;
	size_t nelms;
	int rc;

	if (cmd->src_iova >= IOASID_ULONG_MAX)
		return -EOVERFLOW;
	rc = check_map_args(cmd->dst_iova, cmd->length, cmd->flags);
	if (rc)
		return rc;

	rc = ioasid_ioas_get(u->ctx, cmd->src_ioas_id, &src);
	if (rc)
		return rc;
	rc = iopt_get_pages(&src->iopt, cmd->src_iova, cmd->length, &elms,
			    &nelms);
	ioasid_ioas_put(u->ctx, src);
	if (rc)
		return rc;

	rc = ioasid_ioas_get(u->ctx, cmd->dst_ioas_id, &dst);
	if (rc)
		goto out_elms;
	rc = iopt_map_pages(&dst->iopt, elms, nelms, cmd->length, &iova,
			    conv_prot(cmd->flags),
			    cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!rc) {
		cmd->dst_iova = iova;
		rc = ucmd_respond(u, sizeof(*cmd));
	}
	ioasid_ioas_put(u->ctx, dst);
out_elms:
	iopt_put_pages_elms(elms, nelms);
	return rc;
}

long ioasid_ioas_unmap_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_ioas_unmap *cmd = u->cmd;
	struct ioasid_ioas *ioas;
	uint64_t unmapped = 0;
	int rc;

	rc = ioasid_ioas_get(u->ctx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= IOASID_ULONG_MAX ||
		   cmd->length >= IOASID_ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length,
				     &unmapped);
		if (!rc && !unmapped)
			rc = -ENOENT;
	}
	if (!rc) {
		cmd->length = unmapped;
		rc = ucmd_respond(u, sizeof(*cmd));
	}
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}

/* The page set behind MAP_FILE's descriptor: a dma-buf's or a file's. */
/*
 * What the caller's open file lets it do, judged as the kernel judges it:
 * an O_PATH descriptor names no open file (fget() refuses it: EBADF), and
 * as for mmap(2) of a shared mapping, pages are read only through a file
 * open for reading and written only through one open for writing
 * (EACCES).  The daemon may open anything; the caller may not.
 */
static int file_grants(int fd, bool writable)
{
	int fl = fcntl(fd, F_GETFL);
	struct stat st;

	if (fl < 0 || (fl & O_PATH))
		return -EBADF;
	/* Only a file's pages can be pinned (a memfd's, hugetlbfs'): the
	 * kernel finds out at the first pin, with EINVAL.  Said at once, so
	 * that no area holds a file such as this context's own descriptor,
	 * which would keep the context alive for ever. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return -EINVAL;
	if ((fl & O_ACCMODE) == O_WRONLY ||
	    (writable && (fl & O_ACCMODE) != O_RDWR))
		return -EACCES;
	return 0;
}

static int map_file_pages(struct ioasid_ucmd *u,
			  const struct iommu_ioas_map_file *cmd,
			  struct ioasid_pages **out)
{
	bool writable = cmd->flags & IOMMU_IOAS_MAP_WRITEABLE;
	struct ioasid_file *file;
	int rc, fd;

	if (!ucmd_get_file(u, cmd->fd, &ioasid_dmabuf_file_ops, &file)) {
		rc = ioasid_pages_alloc_dmabuf(
			container_of(file, struct ioasid_dmabuf, file),
			u->caller->pid, u->caller->uid, cmd->start, cmd->length,
			writable, out);
		ioasid_file_put(file);
		return rc;
	}
	fd = ucmd_get_fd(u, cmd->fd);
	if (fd < 0)
		return fd;
	rc = file_grants(fd, writable);
	if (rc) {
		close(fd);
		return rc;
	}
	rc = ioasid_pages_alloc_file(u->caller->pid, u->caller->uid, fd,
				     cmd->start, cmd->length, writable,
				     new_pages_account_mode(u), out);
	if (rc)
		close(fd);
	return rc;
}

long ioasid_ioas_map_file_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_ioas_map_file *cmd = u->cmd;
	struct ioasid_pages *pages;
	struct ioasid_ioas *ioas;
	uint64_t iova = cmd->iova, last;
	int rc;

	rc = check_map_args(cmd->iova, cmd->length, cmd->flags);
	if (rc)
		return rc;
	rc = ioasid_ioas_get(u->ctx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	if (!cmd->length) {
		rc = -EINVAL;
		goto out_put;
	}
	if (add_overflows_u64(cmd->start, cmd->length - 1, &last)) {
		rc = -EOVERFLOW;
		goto out_put;
	}
	rc = map_file_pages(u, cmd, &pages);
	if (rc)
		goto out_put;
	rc = map_new_pages(ioas, pages, cmd->start % IOASID_PAGE_SIZE,
			   cmd->length, &iova, cmd->flags);
	if (!rc) {
		cmd->iova = iova;
		rc = ucmd_respond(u, sizeof(*cmd));
	}
out_put:
	ioasid_ioas_put(u->ctx, ioas);
	return rc;
}
