/* SPDX-License-Identifier: MIT */
/*
 * dma-bufs: the selftest's exporter (DMABUF_GET, DMABUF_REVOKE) and
 * IOMMU_IOAS_MAP_FILE of its descriptor.  Errno tables; a device's DMA
 * through an import; a revoke taking the memory out of every domain for
 * good while the area stays; ENODEV while revoked; domains filled after
 * a revoke without it; accesses refused; no charge; an import outliving
 * its descriptor; an import in the context that exported it freed with
 * the context.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctx_harness.h"
#include "core/util.h"
#include "ioasid/uapi/ioasid.h"
#include "pages/account.h"

#define BASE (16ull << 20)

static uint32_t ioas;

static long dmabuf_get(uint32_t length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DMABUF_GET,
		.dmabuf_get = { .length = length, .open_flags = O_CLOEXEC },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static long dmabuf_revoke(int fd, bool revoked)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DMABUF_REVOKE,
		.dmabuf_revoke = { .dmabuf_fd = fd, .revoked = revoked },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static long map_file(int fd, uint64_t start, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = RW | FIXED, .ioas_id = ioas,
		.fd = fd, .start = start, .length = len, .iova = iova,
	};

	return io(IOMMU_IOAS_MAP_FILE, &cmd);
}

static long unmap(uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = len,
	};
	long rc = io(IOMMU_IOAS_UNMAP, &cmd);

	return rc ? rc : (long)cmd.length;
}

/* An emulated VT-d device attached to ioas; its id. */
static uint32_t vtd_device(void)
{
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .model = IOASID_DEVICE_VTD,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };

	CHECK_EQ(io(IOASID_DEVICE_ALLOC, &da), 0);
	at.dev_id = da.out_dev_id;
	at.pt_id = ioas;
	CHECK_EQ(io(IOASID_DEVICE_ATTACH, &at), 0);
	return da.out_dev_id;
}

static void errno_tables(void)
{
	const struct {
		const char *what;
		uint32_t length;
		long rc; /* 0: a descriptor */
	} get[] = {
		{ "length 0", 0, -EINVAL },
		{ "over 512 pages", 512 * PG + 1, -EINVAL },
		{ "512 pages", 512 * PG, 0 },
		{ "one byte, a page", 1, 0 },
	};
	const struct {
		const char *what;
		uint64_t start, len;
		long rc;
	} map[] = {
		{ "length 0", 0, 0, -EINVAL },
		{ "past the end", PG, 4 * PG, -EINVAL },
		{ "a byte past the end", 0, 4 * PG + 1, -EINVAL },
		{ "start at the end", 4 * PG, PG, -EINVAL },
		{ "start + length wraps", 2 * PG, -PG, -EOVERFLOW },
		{ "the whole buffer", 0, 4 * PG, 0 },
		{ "a byte inside", 3 * PG + 5, 1, 0 },
	};
	int mfd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	long fd;

	for (size_t i = 0; i < ARRAY_SIZE(get); i++) {
		fd = dmabuf_get(get[i].length);
		CHECK_CASE(get[i].what, fd < 0 ? fd : 0, get[i].rc);
		if (fd >= 0)
			CHECK_EQ(ioasid_self_close((int)fd), 0);
	}

	fd = dmabuf_get(4 * PG);
	CHECK(fd >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		uint64_t iova = BASE + 64 * PG * i;

		CHECK_CASE(map[i].what,
			   map_file((int)fd, map[i].start, map[i].len, iova),
			   map[i].rc);
		if (!map[i].rc)
			CHECK_EQ(unmap(iova, PG * 4), (long)map[i].len);
	}
	CHECK_EQ(dmabuf_revoke(-1, true), -EBADF);
	CHECK_EQ(dmabuf_revoke(mfd, true), -EINVAL);
	CHECK_EQ(ioasid_self_close((int)fd), 0);
	close(mfd);
}

static void dma_and_revoke(void)
{
	uint64_t pinned_before, pinned, locked;
	uint32_t dev, late;
	char buf[8];
	long fd;

	fd = dmabuf_get(4 * PG);
	CHECK(fd >= 0);
	dev = vtd_device();
	ioasid_account_totals(getpid(), &pinned_before, &locked);
	CHECK_EQ(map_file((int)fd, 0, 4 * PG, BASE), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, pinned_before); /* lent memory: never charged */

	/* A device reads the exporter's zeroes and writes its memory. */
	CHECK_EQ(ioasid_dma_read(ctx, dev, 0, BASE + 2 * PG, buf, 8), 0);
	CHECK(!memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
	CHECK_EQ(ioasid_dma_write(ctx, dev, 0, BASE + PG + 3, "lent", 4), 0);
	CHECK_EQ(ioasid_dma_read(ctx, dev, 0, BASE + PG + 3, buf, 4), 0);
	CHECK(!memcmp(buf, "lent", 4));

	/* Accesses may neither pin nor read it. */
	{
		struct iommu_test_cmd ca = {
			.size = sizeof(ca), .op = IOMMU_TEST_OP_CREATE_ACCESS,
			.id = ioas,
			.create_access.flags =
				MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
		};
		struct iommu_test_cmd rw = {
			.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
			.access_rw = { .iova = BASE, .length = 4,
				       .uptr = (uintptr_t)buf },
		};
		struct iommu_test_cmd pages = {
			.size = sizeof(pages), .op = IOMMU_TEST_OP_ACCESS_PAGES,
			.access_pages = { .iova = BASE, .length = PG,
					  .uptr = (uintptr_t)buf },
		};

		CHECK_EQ(io(IOMMU_TEST_CMD, &ca), 0);
		rw.id = pages.id = ca.create_access.out_access_fd;
		CHECK_EQ(io(IOMMU_TEST_CMD, &rw), -EINVAL);
		CHECK_EQ(io(IOMMU_TEST_CMD, &pages), -EINVAL);
		CHECK_EQ(ioasid_self_close((int)ca.create_access.out_access_fd),
			 0);
	}

	/* Revoked: out of the device's reach at once, the area kept. */
	CHECK_EQ(dmabuf_revoke((int)fd, true), 0);
	CHECK_EQ(ioasid_dma_read(ctx, dev, 0, BASE + PG, buf, 4), -ENOENT);
	CHECK_EQ(map_file((int)fd, 0, PG, BASE + 64 * PG), -ENODEV);
	CHECK_EQ(map_file((int)fd, 0, 8 * PG, BASE + 64 * PG), -EINVAL);
	/* A domain made now is filled without it. */
	late = vtd_device();
	CHECK_EQ(ioasid_dma_read(ctx, late, 0, BASE + PG, buf, 4), -ENOENT);

	/* Lent again: new imports work, the revoked one stays revoked. */
	CHECK_EQ(dmabuf_revoke((int)fd, false), 0);
	CHECK_EQ(map_file((int)fd, 0, 4 * PG, BASE + 64 * PG), 0);
	CHECK_EQ(ioasid_dma_read(ctx, late, 0, BASE + 64 * PG + PG + 3, buf,
				 4), 0);
	CHECK(!memcmp(buf, "lent", 4));
	CHECK_EQ(ioasid_dma_read(ctx, dev, 0, BASE + PG, buf, 4), -ENOENT);
	CHECK_EQ(unmap(BASE, 4 * PG), (long)(4 * PG));
	CHECK_EQ(map_file((int)fd, 0, 4 * PG, BASE), 0);
	CHECK_EQ(ioasid_dma_read(ctx, dev, 0, BASE + PG + 3, buf, 4), 0);
	CHECK(!memcmp(buf, "lent", 4));

	/* The descriptor closed, the imports keep the memory. */
	CHECK_EQ(ioasid_self_close((int)fd), 0);
	CHECK_EQ(ioasid_dma_write(ctx, dev, 0, BASE + 5, "kept", 4), 0);
	CHECK_EQ(ioasid_dma_read(ctx, late, 0, BASE + 64 * PG + 5, buf, 4),
		 0);
	CHECK(!memcmp(buf, "kept", 4));
	CHECK_EQ(unmap(0, UINT64_MAX), (long)(8 * PG));
	CHECK_EQ(destroy(dev), 0);
	CHECK_EQ(destroy(late), 0);
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	fresh();
	ioas = ioas_alloc();
	RUN(errno_tables);
	RUN(dma_and_revoke);

	/* Imported into the context that exported it, descriptor still
	 * open: the context's end frees everything (leak checkers watch). */
	{
		long fd = dmabuf_get(PG);

		CHECK(fd >= 0);
		CHECK_EQ(map_file((int)fd, 0, PG, BASE), 0);
	}
	ioasid_ctx_put(ctx);
	return check_finish("dmabuf");
}
