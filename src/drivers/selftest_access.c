/* SPDX-License-Identifier: MIT */
/*
 * The selftest driver's mediated device: an access whose life is a file
 * descriptor.  Pins are kept as items the test names by id; the unmap
 * notifier drops every item an unmap reaches, as a real driver must.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/access.h"
#include "core/file.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "ioasid/uapi/iommufd_test.h"
#include "iopt/ioas.h"
#include "pages/pages.h"
#include "selftest.h"

/* What one ioctl may pin or copy: the kernel refuses more with ENOMEM. */
#define TEST_ACCESS_MAX (16u << 20)

struct staccess_item {
	struct staccess_item *next;
	uint64_t iova, length;
	uint32_t id;
};

struct staccess {
	struct ioasid_file file;
	struct ioasid_access *access; /* NULL until fully created */
	/* Serializes pinning against the unmap notifier, so that every
	 * pin an unmap could miss is already an item it will find. */
	pthread_mutex_t lock;
	struct staccess_item *items;
	uint32_t next_id;
};

_Static_assert(MOCK_FLAGS_ACCESS_WRITE == IOASID_ACCESS_RW_WRITE &&
		       MOCK_ACCESS_RW_WRITE == IOASID_ACCESS_RW_WRITE,
	       "the test's write flag is the access API's");

static void staccess_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct staccess *sa = data;
	uint64_t last = iova + length - 1;
	struct staccess_item **link = &sa->items, *item;

	pthread_mutex_lock(&sa->lock);
	while ((item = *link)) {
		if (iova > item->iova + item->length - 1 || last < item->iova) {
			link = &item->next;
			continue;
		}
		*link = item->next;
		ioasid_access_unpin_pages(sa->access, item->iova, item->length);
		free(item);
	}
	pthread_mutex_unlock(&sa->lock);
}

static const struct ioasid_access_ops staccess_ops = {
	.unmap = staccess_unmap,
};

static const struct ioasid_access_ops staccess_pin_ops = {
	.needs_pin_pages = true,
	.unmap = staccess_unmap,
};

static void staccess_release(struct ioasid_file *file)
{
	struct staccess *sa = container_of(file, struct staccess, file);

	if (sa->access) {
		staccess_unmap(sa, 0, IOASID_ULONG_MAX);
		ioasid_access_destroy(sa->access);
	}
	pthread_mutex_destroy(&sa->lock);
	free(sa);
}

static const struct ioasid_file_ops staccess_file_ops = {
	.name = "[iommufd_test_staccess]",
	.release = staccess_release,
};

static int staccess_get(struct ioasid_ucmd *u, int fd, struct staccess **out)
{
	struct ioasid_file *file;
	int rc;

	rc = ucmd_get_file(u, fd, &staccess_file_ops, &file);
	if (!rc)
		*out = container_of(file, struct staccess, file);
	return rc;
}

static void staccess_put(struct staccess *sa)
{
	ioasid_file_put(&sa->file);
}

int test_create_access(struct ioasid_ucmd *u, uint32_t ioas_id,
		       uint32_t flags)
{
	struct iommu_test_cmd *cmd = u->cmd;
	struct ioasid_access *access;
	struct staccess *sa;
	int fd, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	pthread_mutex_init(&sa->lock, NULL);
	ioasid_file_init(&sa->file, &staccess_file_ops, u->ctx);

	fd = ucmd_reserve_fd(u, &sa->file,
			     u->ubuffer + offsetof(struct iommu_test_cmd,
						   create_access.out_access_fd));
	if (fd < 0) {
		rc = fd;
		goto out_put_file;
	}
	rc = ioasid_access_create(u->ctx,
				  (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
					  &staccess_pin_ops : &staccess_ops,
				  sa, &access);
	if (rc)
		goto out_put_file;
	rc = ioasid_access_attach(access, ioas_id);
	if (rc)
		goto out_destroy;
	cmd->create_access.out_access_fd = (uint32_t)fd;
	rc = ucmd_respond(u, sizeof(*cmd));
	if (rc)
		goto out_destroy;
	/* Nothing can fail any more: the access is found from now on, and
	 * the file stands for it. */
	ioasid_obj_publish(u->ctx, &access->obj);
	sa->access = access;
	return 0;

out_destroy:
	ioasid_access_destroy(access);
out_put_file:
	ioasid_file_put(&sa->file);
	return rc;
}

int test_access_replace_ioas(struct ioasid_ucmd *u, int access_fd,
			     uint32_t ioas_id)
{
	struct staccess *sa;
	int rc;

	rc = staccess_get(u, access_fd, &sa);
	if (rc)
		return rc;
	rc = ioasid_access_replace(sa->access, ioas_id);
	staccess_put(sa);
	return rc;
}

struct syz_walk {
	uint64_t nth, iova;
};

static int syz_visit(struct iopt_area *area, void *arg)
{
	struct syz_walk *w = arg;

	if (w->nth--)
		return 0;
	w->iova = area->node.start;
	return 1;
}

uint64_t test_syz_iova(struct io_pagetable *iopt, uint64_t syz)
{
	struct syz_walk w = { .nth = syz & 0xffffffffu };

	if (iopt_for_each_area(iopt, syz_visit, &w) != 1)
		return 0;
	return w.iova + (syz >> 32);
}

static uint64_t staccess_syz_iova(struct staccess *sa, uint64_t syz)
{
	struct ioasid_access *access = sa->access;
	uint64_t iova = 0;

	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		iova = test_syz_iova(&access->ioas->iopt, syz);
	pthread_mutex_unlock(&access->ioas_lock);
	return iova;
}

/* Are the pages the access pinned the ones the caller sees at uptr? */
static int check_pages(struct ioasid_ucmd *u, uint64_t uptr,
		       const struct ioasid_page_id *ids, uint64_t npages)
{
	struct ioasid_page_id *seen;
	int rc;

	seen = calloc(npages, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	rc = ioasid_caller_page_ids(u->caller, uptr, npages, seen);
	if (!rc && memcmp(seen, ids, npages * sizeof(*ids)))
		rc = -EBADE;
	free(seen);
	return rc;
}

int test_access_pages(struct ioasid_ucmd *u, int access_fd)
{
	struct iommu_test_cmd *cmd = u->cmd;
	uint64_t iova = cmd->access_pages.iova;
	uint64_t length = cmd->access_pages.length;
	uint64_t uptr = cmd->access_pages.uptr;
	uint32_t flags = cmd->access_pages.flags;
	struct ioasid_page_id *ids = NULL;
	struct staccess_item *item;
	struct staccess *sa;
	uint64_t npages = 0, last;
	int rc;

	if (length > TEST_ACCESS_MAX)
		return -ENOMEM;
	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	rc = staccess_get(u, access_fd, &sa);
	if (rc)
		return rc;
	if (sa->access->ops != &staccess_pin_ops) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = staccess_syz_iova(sa, iova);
	/* Bad ranges are the access API's to refuse; no ids for them. */
	if (length && !add_overflows_u64(iova, length - 1, &last)) {
		npages = (last >> IOASID_PAGE_SHIFT) -
			 (iova >> IOASID_PAGE_SHIFT) + 1;
		ids = calloc(npages, sizeof(*ids));
		if (!ids) {
			rc = -ENOMEM;
			goto out_put;
		}
	}

	pthread_mutex_lock(&sa->lock);
	rc = ioasid_access_pin_pages(sa->access, iova, length,
				     flags & MOCK_FLAGS_ACCESS_WRITE, ids);
	if (rc)
		goto out_unlock;
	/* A fuzzer may leave uptr NULL to skip the check. */
	if (uptr) {
		rc = check_pages(u, uptr - (iova % IOASID_PAGE_SIZE), ids,
				 npages);
		if (rc)
			goto out_unpin;
	}
	item = calloc(1, sizeof(*item));
	if (!item) {
		rc = -ENOMEM;
		goto out_unpin;
	}
	item->iova = iova;
	item->length = length;
	item->id = sa->next_id++;
	cmd->access_pages.out_access_pages_id = item->id;
	rc = ucmd_respond(u, sizeof(*cmd));
	if (rc) {
		free(item);
		goto out_unpin;
	}
	item->next = sa->items;
	sa->items = item;
	goto out_unlock;

out_unpin:
	ioasid_access_unpin_pages(sa->access, iova, length);
out_unlock:
	pthread_mutex_unlock(&sa->lock);
	free(ids);
out_put:
	staccess_put(sa);
	return rc;
}

int test_destroy_access_pages(struct ioasid_ucmd *u, int access_fd,
			      uint32_t item_id)
{
	struct staccess_item **link, *item;
	struct staccess *sa;
	int rc;

	rc = staccess_get(u, access_fd, &sa);
	if (rc)
		return rc;
	rc = -ENOENT;
	pthread_mutex_lock(&sa->lock);
	for (link = &sa->items; (item = *link); link = &item->next) {
		if (item->id != item_id)
			continue;
		*link = item->next;
		ioasid_access_unpin_pages(sa->access, item->iova, item->length);
		free(item);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&sa->lock);
	staccess_put(sa);
	return rc;
}

int test_access_rw(struct ioasid_ucmd *u, int access_fd)
{
	struct iommu_test_cmd *cmd = u->cmd;
	uint64_t iova = cmd->access_rw.iova;
	uint64_t length = cmd->access_rw.length;
	uint32_t flags = cmd->access_rw.flags;
	bool write = flags & MOCK_ACCESS_RW_WRITE;
	struct staccess *sa;
	void *tmp;
	int rc;

	if (length > TEST_ACCESS_MAX)
		return -ENOMEM;
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH |
		      MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	rc = staccess_get(u, access_fd, &sa);
	if (rc)
		return rc;
	tmp = calloc(1, length ? length : 1);
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (write) {
		rc = ucmd_read(u, cmd->access_rw.uptr, tmp, length);
		if (rc)
			goto out_free;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = staccess_syz_iova(sa, iova);
	/* SLOW_PATH picks the kernel's copy routine; ours has one. */
	rc = ioasid_access_rw(sa->access, iova, tmp, length,
			      write ? IOASID_ACCESS_RW_WRITE : 0);
	if (!rc && !write)
		rc = ucmd_write(u, cmd->access_rw.uptr, tmp, length);
out_free:
	free(tmp);
out_put:
	staccess_put(sa);
	return rc;
}
