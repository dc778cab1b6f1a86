/* SPDX-License-Identifier: MIT */
/*
 * The selftest's dma-buf exporter: IOMMU_TEST_OP_DMABUF_GET lends a
 * buffer of zeroes (its descriptor is the ioctl's result), and
 * IOMMU_TEST_OP_DMABUF_REVOKE takes it back or lends it again.
 */
#include <errno.h>
#include <unistd.h>

#include "core/file.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "ioasid/uapi/iommufd_test.h"
#include "pages/dmabuf.h"
#include "selftest.h"

/* The kernel's limit for a test dma-buf. */
#define DMABUF_MAX_PAGES 512

int test_dmabuf_get(struct ioasid_ucmd *u)
{
	const struct iommu_test_cmd *cmd = u->cmd;
	uint64_t len = ((uint64_t)cmd->dmabuf_get.length + IOASID_PAGE_SIZE -
			1) & ~(uint64_t)(IOASID_PAGE_SIZE - 1);
	struct ioasid_dmabuf *db;
	int rc, fd;

	if (!len || len > DMABUF_MAX_PAGES * IOASID_PAGE_SIZE)
		return -EINVAL;
	rc = ioasid_dmabuf_create(len, &db);
	if (rc)
		return rc;
	fd = ucmd_reserve_fd(u, &db->file, 0);
	if (fd < 0)
		ioasid_file_put(&db->file);
	return fd;
}

int test_dmabuf_revoke(struct ioasid_ucmd *u)
{
	const struct iommu_test_cmd *cmd = u->cmd;
	int fd = cmd->dmabuf_revoke.dmabuf_fd;
	struct ioasid_file *file;

	if (ucmd_get_file(u, fd, &ioasid_dmabuf_file_ops, &file)) {
		int probe = ucmd_get_fd(u, fd);

		/* As dma_buf_get() says: no file, or not a dma-buf. */
		if (probe < 0)
			return -EBADF;
		close(probe);
		return -EINVAL;
	}
	ioasid_dmabuf_revoke(container_of(file, struct ioasid_dmabuf, file),
			     cmd->dmabuf_revoke.revoked);
	ioasid_file_put(file);
	return 0;
}
