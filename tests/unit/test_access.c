/* SPDX-License-Identifier: MIT */
/*
 * Accesses, the software-IOMMU path, in-process: the selftest ops' errno
 * tables, pins dropped by the unmap notifier, rw by IOVA, replace, access
 * fds keeping the context alive, EDEADLOCK from a driver that will not
 * unpin, and 1 GiB pinned through the ioctl path against RLIMIT_MEMLOCK.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctx_harness.h"
#include "core/context.h"
#include "iommu/access.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "iopt/ioas.h"
#include "iopt/io_pagetable.h"
#include "pages/account.h"
#include "pages/pages.h"
#include "self_mm.h"

#define MiB (1ull << 20)
#define PIN MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES

static long unmap(uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};

	return io(IOMMU_IOAS_UNMAP, &cmd);
}

static long create_access(uint32_t ioas, uint32_t flags, int *fd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas, .create_access.flags = flags,
	};
	long rc = io(IOMMU_TEST_CMD, &cmd);

	*fd = rc ? -1 : (int)cmd.create_access.out_access_fd;
	return rc;
}

static long access_pages(int fd, uint32_t flags, uint64_t iova, uint64_t len,
			 const void *uptr, uint32_t *item)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = (uint32_t)fd,
		.access_pages = { .flags = flags, .iova = iova, .length = len,
				  .uptr = (uintptr_t)uptr },
	};
	long rc = io(IOMMU_TEST_CMD, &cmd);

	if (item)
		*item = cmd.access_pages.out_access_pages_id;
	return rc;
}

static long destroy_pages(int fd, uint32_t item)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = (uint32_t)fd, .destroy_access_pages.access_pages_id = item,
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static long access_rw(int fd, uint32_t flags, uint64_t iova, uint64_t len,
		      void *buf)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW,
		.id = (uint32_t)fd,
		.access_rw = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)buf, .flags = flags },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static long replace_ioas(int fd, uint32_t ioas)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.id = (uint32_t)fd, .access_replace_ioas.ioas_id = ioas,
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static void *anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* What a caller gets wrong, case by case: each leaves no pin behind. */
static void errno_tables(void)
{
	char *buf = anon(8 * PG), *ro = anon(2 * PG);
	enum { base = 1 << 20 };
	int pin_fd, rw_fd, stray = eventfd(0, EFD_CLOEXEC);
	uint32_t ioas, item;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(map_at(ioas, RW, buf, 8 * PG, base), 0);
	CHECK_EQ(map_at(ioas, IOMMU_IOAS_MAP_READABLE, ro, 2 * PG, base + 8 * PG), 0);

	/* CREATE_ACCESS */
	{
		int fd;

		CHECK_EQ(create_access(ioas, 1u << 5, &fd), -EOPNOTSUPP);
		CHECK_EQ(create_access(ioas + 100, PIN, &fd), -ENOENT);
		CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	}
	CHECK_EQ(create_access(ioas, PIN, &pin_fd), 0);
	CHECK_EQ(create_access(ioas, 0, &rw_fd), 0);
	CHECK(pin_fd >= 0 && rw_fd >= 0 && pin_fd != rw_fd);
	/* An access has an id, but belongs to its driver, not to DESTROY;
	 * and it holds its IOAS. */
	CHECK_EQ(ioasid_ctx_object_count(ctx), 3);
	CHECK_EQ(destroy(ioas + 1), -EBUSY);
	CHECK_EQ(destroy(ioas), -EBUSY);

	const struct {
		const char *what;
		int which; /* 0 pin fd, 1 rw-only fd, 2 stray eventfd, 3 -1 */
		uint32_t flags;
		uint64_t iova, len; /* iova from base, unless absolute */
		int uptr_page; /* -1: NULL, else page of buf expected there */
		int err;
		bool absolute;
	} pages_cases[] = {
		{ "not an access fd", 2, 0, 0, PG, -1, -EBADFD, false },
		{ "negative fd", 3, 0, 0, PG, -1, -EBADFD, false },
		{ "access without pin ops", 1, 0, 0, PG, -1, -EOPNOTSUPP, false },
		{ "unknown flag", 0, 1u << 3, 0, PG, -1, -EOPNOTSUPP, false },
		{ "over 16 MiB", 0, 0, 0, 16 * MiB + 1, -1, -ENOMEM, false },
		{ "empty", 0, 0, 0, 0, -1, -EINVAL, false },
		{ "wraps", 0, 0, UINT64_MAX - PG + 1, 2 * PG, -1, -EOVERFLOW, true },
		{ "nothing mapped", 0, 0, 12 * PG, PG, -1, -ENOENT, false },
		{ "runs past the end", 0, 0, 7 * PG, 4 * PG, -1, -ENOENT, false },
		{ "hole before it", 0, 0, base - PG, 2 * PG, -1, -ENOENT, true },
		{ "not page aligned", 0, 0, 100, PG, -1, -EINVAL, false },
		{ "write to read-only", 0, MOCK_FLAGS_ACCESS_WRITE, 8 * PG, PG, -1, -EPERM, false },
		{ "wrong page claimed", 0, 0, 0, 2 * PG, 2, -EBADE, false },
		{ "right pages", 0, 0, 2 * PG, 2 * PG, 2, 0, false },
		{ "read-only is readable", 0, 0, 8 * PG, PG, -1, 0, false },
		{ "across two areas", 0, 0, 7 * PG, 2 * PG, -1, 0, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pages_cases); i++) {
		int fds[] = { pin_fd, rw_fd, stray, -1 };
		int which = pages_cases[i].which;
		uint64_t iova = pages_cases[i].iova +
				(pages_cases[i].absolute ? 0 : base);
		const void *uptr = pages_cases[i].uptr_page < 0 ?
				   NULL : buf + pages_cases[i].uptr_page * PG;
		long rc;

		rc = access_pages(fds[which], pages_cases[i].flags, iova,
				  pages_cases[i].len, uptr, &item);
		if (rc != pages_cases[i].err)
			fprintf(stderr, "access_pages case '%s'\n",
				pages_cases[i].what);
		CHECK_EQ(rc, pages_cases[i].err);
		if (!rc)
			CHECK_EQ(destroy_pages(pin_fd, item), 0);
	}
	CHECK_EQ(check_refs(buf, 8 * PG, 0), 0);
	CHECK_EQ(destroy_pages(pin_fd, 12345), -ENOENT);
	CHECK_EQ(destroy_pages(stray, 0), -EBADFD);

	static const struct {
		const char *what;
		uint32_t flags;
		uint64_t iova, len;
		int err;
	} rw_cases[] = {
		{ "unknown flag", 1u << 1, 0, 8, -EOPNOTSUPP },
		{ "over 16 MiB", 0, 0, 16 * MiB + 1, -ENOMEM },
		{ "empty", 0, 0, 0, -EINVAL },
		{ "nothing mapped", 0, 10 * PG, 8, -ENOENT },
		{ "runs past the end", 0, 10 * PG - 4, 8, -ENOENT },
		{ "write to read-only", MOCK_ACCESS_RW_WRITE, 8 * PG, 8, -EPERM },
		{ "unaligned read", 0, 3, 5, 0 },
		{ "slow path", MOCK_ACCESS_RW_SLOW_PATH, 3, 5, 0 },
		{ "across two areas", 0, 8 * PG - 3, 6, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rw_cases); i++) {
		static char tmp[64];
		long rc = access_rw(rw_fd, rw_cases[i].flags,
				    base + rw_cases[i].iova, rw_cases[i].len,
				    tmp);

		if (rc != rw_cases[i].err)
			fprintf(stderr, "access_rw case '%s'\n", rw_cases[i].what);
		CHECK_EQ(rc, rw_cases[i].err);
	}
	{
		char tmp[8];

		CHECK_EQ(access_rw(stray, 0, base, 8, tmp), -EBADFD);
		CHECK_EQ(access_rw(rw_fd, 0, base, 8, (void *)8), -EFAULT);
		CHECK_EQ(access_rw(rw_fd, MOCK_ACCESS_RW_WRITE, base, 8,
				   (void *)8), -EFAULT);
	}

	/* Closing the access fds lets the IOAS go. */
	CHECK_EQ(ioasid_self_close(pin_fd), 0);
	CHECK_EQ(ioasid_self_close(rw_fd), 0);
	CHECK_EQ(ioasid_self_close(rw_fd), -EBADF);
	CHECK_EQ(ioasid_ctx_object_count(ctx), 1);
	CHECK_EQ(destroy(ioas), 0);
	close(stray);
	munmap(buf, 8 * PG);
	munmap(ro, 2 * PG);
}

/* Data goes where the IOVA says, in both directions, across areas. */
static void rw_by_iova(void)
{
	char *a = anon(2 * PG), *b = anon(2 * PG), out[4 * PG], in[4 * PG];
	uint32_t ioas;
	int fd;

	fresh();
	ioas = ioas_alloc();
	/* b's pages sit right after a's in IOVA, 100 bytes into a page. */
	CHECK_EQ(map_at(ioas, RW, a, 2 * PG, 0x10000), 0);
	CHECK_EQ(map_at(ioas, RW, b + 100, 2 * PG - 100, 0x10000 + 2 * PG), 0);
	CHECK_EQ(create_access(ioas, 0, &fd), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 1);
	CHECK_EQ(access_rw(fd, MOCK_ACCESS_RW_WRITE, 0x10000 + 5,
			   4 * PG - 105, out), 0);
	CHECK(!memcmp(a + 5, out, 2 * PG - 5));
	CHECK(!memcmp(b + 100, out + 2 * PG - 5, 2 * PG - 100));
	memset(in, 0, sizeof(in));
	CHECK_EQ(access_rw(fd, 0, 0x10000 + 5, 4 * PG - 105, in), 0);
	CHECK(!memcmp(in, out, 4 * PG - 105));

	/* Pinning needs whole pages: the second area starts mid-page. */
	{
		int pfd;

		CHECK_EQ(create_access(ioas, PIN, &pfd), -EADDRINUSE);
		CHECK_EQ(unmap(ioas, 0x10000 + 2 * PG, 2 * PG - 100), 0);
		CHECK_EQ(create_access(ioas, PIN, &pfd), 0);
		/* ...and from now on, so must every map. */
		CHECK_EQ(map_at(ioas, RW, b + 100, PG, 0x40000), -EINVAL);
		CHECK_EQ(ioasid_self_close(pfd), 0);
	}
	CHECK_EQ(map_at(ioas, RW, b + 100, PG, 0x40000), 0);

	/* Replace: rw follows the access to its new IOAS. */
	{
		uint32_t other = ioas_alloc();
		char v = 0;

		CHECK_EQ(map_at(other, RW, b, PG, 0x10000), 0);
		b[0] = 42;
		CHECK_EQ(replace_ioas(fd, other + 50), -ENOENT);
		CHECK_EQ(replace_ioas(fd, other), 0);
		CHECK_EQ(access_rw(fd, 0, 0x10000, 1, &v), 0);
		CHECK_EQ(v, 42);
		/* The old IOAS is free to go, the new one is held. */
		CHECK_EQ(destroy(other), -EBUSY);
		CHECK_EQ(destroy(ioas), 0);
		CHECK_EQ(replace_ioas(fd, other), 0); /* same IOAS: no-op */
	}
	CHECK_EQ(ioasid_self_close(fd), 0);
	munmap(a, 2 * PG);
	munmap(b, 2 * PG);
}

/* An unmap takes back what accesses pinned: the item is gone after it. */
static void unmap_notifies(void)
{
	char *buf = anon(4 * PG);
	uint32_t ioas, other, i1, i2;
	int fd;

	fresh();
	ioas = ioas_alloc();
	other = ioas_alloc();
	CHECK_EQ(map_at(ioas, RW, buf, 4 * PG, 0x100000), 0);
	CHECK_EQ(create_access(ioas, PIN, &fd), 0);
	CHECK_EQ(access_pages(fd, MOCK_FLAGS_ACCESS_WRITE, 0x100000, PG, buf, &i1), 0);
	CHECK_EQ(access_pages(fd, 0, 0x100000, 4 * PG, buf, &i2), 0);
	CHECK_EQ(i2, i1 + 1);
	CHECK_EQ(check_refs(buf, PG, 1), 0); /* one page set: one pin */

	/* A partial unmap is refused before any access is troubled. */
	CHECK_EQ(unmap(ioas, 0x100000, PG), -ENOENT);
	CHECK_EQ(check_refs(buf, 4 * PG, 1), 0);
	CHECK_EQ(unmap(ioas, 0x100000, 4 * PG), 0);
	CHECK_EQ(destroy_pages(fd, i1), -ENOENT);
	CHECK_EQ(destroy_pages(fd, i2), -ENOENT);
	CHECK_EQ(check_refs(buf, 4 * PG, 0), 0);

	/* A replace drops every pin first. */
	CHECK_EQ(map_at(ioas, RW, buf, 4 * PG, 0x100000), 0);
	CHECK_EQ(access_pages(fd, 0, 0x101000, 2 * PG, buf + PG, &i1), 0);
	CHECK_EQ(check_refs(buf + PG, 2 * PG, 1), 0);
	CHECK_EQ(replace_ioas(fd, other), 0);
	CHECK_EQ(check_refs(buf, 4 * PG, 0), 0);
	CHECK_EQ(destroy_pages(fd, i1), -ENOENT);

	/* Closing the fd releases what it still holds. */
	CHECK_EQ(map_at(other, RW, buf, 4 * PG, 0x100000), 0);
	CHECK_EQ(access_pages(fd, 0, 0x100000, 4 * PG, buf, &i1), 0);
	CHECK_EQ(check_refs(buf, 4 * PG, 1), 0);
	CHECK_EQ(ioasid_self_close(fd), 0);
	CHECK_EQ(check_refs(buf, 4 * PG, 0), 0);
	munmap(buf, 4 * PG);
}

/* An access fd keeps its context alive after the opener's close. */
static void fd_holds_context(void)
{
	char *buf = anon(PG), v = 0;
	uint32_t ioas;
	int fd;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(map_at(ioas, RW, buf, PG, 0x10000), 0);
	CHECK_EQ(create_access(ioas, PIN, &fd), 0);
	CHECK_EQ(access_pages(fd, 0, 0x10000, PG, buf, NULL), 0);
	ioasid_ctx_put(ctx); /* the opener closes */
	buf[0] = 9;
	/* The ioctls go through the context the access holds. */
	CHECK_EQ(access_rw(fd, 0, 0x10000, 1, &v), 0);
	CHECK_EQ(v, 9);
	CHECK_EQ(check_refs(buf, PG, 1), 0);
	CHECK_EQ(ioasid_self_close(fd), 0); /* the last close: all goes */
	ctx = ioasid_ctx_new();
	CHECK_EQ(check_refs(buf, PG, 0), 0);
	munmap(buf, PG);
}

/* ---- the C API, with drivers that misbehave on purpose ---------------- */

struct driver {
	struct ioasid_access *access;
	unsigned int unmap_calls;
	bool cooperate; /* unpin when told */
	bool pin_inside; /* try a pin and an rw from inside the notifier */
	int pin_inside_rc, rw_inside_rc;
	uint32_t cut_ioas; /* try to cut the area from inside, 0: no */
	int cut_inside_rc;
	uint64_t iova, len; /* the one pin it holds, len 0: none */
};

static int count_area(struct iopt_area *area, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

static unsigned int areas_in(uint32_t ioas_id)
{
	struct ioasid_ioas *ioas;
	unsigned int n = 0;

	CHECK_EQ(ioasid_ioas_get(ctx, ioas_id, &ioas), 0);
	iopt_for_each_area(&ioas->iopt, count_area, &n);
	ioasid_ioas_put(ctx, ioas);
	return n;
}

/* Split the area at iova, as VFIO type1 v1's unmap does. */
static int cut_at(uint32_t ioas_id, uint64_t iova)
{
	struct ioasid_ioas *ioas;
	int rc;

	rc = ioasid_ioas_get(ctx, ioas_id, &ioas);
	if (rc)
		return rc;
	rc = iopt_cut_iova(&ioas->iopt, &iova, 1);
	ioasid_ioas_put(ctx, ioas);
	return rc;
}

static void driver_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct driver *d = data;
	char b;

	d->unmap_calls++;
	if (d->cut_ioas)
		d->cut_inside_rc = cut_at(d->cut_ioas, iova + PG - 1);
	if (d->pin_inside) {
		d->pin_inside_rc = ioasid_access_pin_pages(d->access, iova, PG,
							   0, NULL);
		d->rw_inside_rc = ioasid_access_rw(d->access, iova, &b, 1, 0);
	}
	if (d->cooperate && d->len && iova <= d->iova + d->len - 1 &&
	    d->iova <= iova + length - 1) {
		ioasid_access_unpin_pages(d->access, d->iova, d->len);
		d->len = 0;
	}
}

static const struct ioasid_access_ops driver_ops = {
	.needs_pin_pages = true,
	.unmap = driver_unmap,
};

/* A fresh IOAS with len bytes of buf at 0x10000, d's access on it
 * pinning the first pin bytes. */
static uint32_t driver_on_area(struct driver *d, char *buf, uint64_t len,
			       uint64_t pin)
{
	uint32_t ioas;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(map_at(ioas, RW, buf, len, 0x10000), 0);
	CHECK_EQ(ioasid_access_create(ctx, &driver_ops, d, &d->access), 0);
	ioasid_obj_publish(ctx, &d->access->obj);
	CHECK_EQ(ioasid_access_attach(d->access, ioas), 0);
	CHECK_EQ(ioasid_access_pin_pages(d->access, 0x10000, pin, 0, NULL), 0);
	d->iova = 0x10000;
	d->len = pin;
	return ioas;
}

static void stubborn_driver(void)
{
	char *buf = anon(2 * PG);
	struct driver d = { .cooperate = false, .pin_inside = true };
	uint32_t ioas = driver_on_area(&d, buf, 2 * PG, 2 * PG);

	CHECK_EQ(ioasid_access_attach(d.access, ioas), -EINVAL);

	/* It never unpins: after 100 asks the unmap gives up. */
	CHECK_EQ(unmap(ioas, 0x10000, 2 * PG), -EDEADLOCK);
	CHECK_EQ(d.unmap_calls, 101);
	/* While the area was going, new pins and rw were refused. */
	CHECK_EQ(d.pin_inside_rc, -EINVAL);
	CHECK_EQ(d.rw_inside_rc, -EINVAL);
	CHECK_EQ(check_refs(buf, 2 * PG, 1), 0);

	/* Once it lets go, the unmap goes through. */
	d.cooperate = true;
	d.pin_inside = false;
	d.unmap_calls = 0;
	CHECK_EQ(unmap(ioas, 0x10000, 2 * PG), 0);
	CHECK_EQ(d.unmap_calls, 1);
	CHECK_EQ(check_refs(buf, 2 * PG, 0), 0);

	ioasid_access_detach(d.access);
	CHECK_EQ(ioasid_access_pin_pages(d.access, 0x10000, PG, 0, NULL), -ENOENT);
	CHECK_EQ(ioasid_access_replace(d.access, ioas), -ENOENT);
	ioasid_access_destroy(d.access);
	CHECK_EQ(destroy(ioas), 0);
	munmap(buf, 2 * PG);
}

/*
 * An area is split only when nothing holds it whole: an access's pin
 * keeps it (EINVAL), an unmap under way keeps it (EBUSY), and a cut off
 * the IOAS's alignment is EINVAL; each refusal leaves the areas as they
 * were, and a cut of an area nobody holds makes two.
 */
static void area_split_refusals(void)
{
	char *buf = anon(4 * PG);
	struct driver d = { .cooperate = false };
	uint32_t ioas = driver_on_area(&d, buf, 4 * PG, PG);

	CHECK_CASE("a cut while an access pins the area",
		   cut_at(ioas, 0x10000 + 2 * PG - 1), -EINVAL);
	CHECK_EQ(areas_in(ioas), 1);
	CHECK_CASE("a cut off the IOAS's alignment (4 KiB with the access)",
		   cut_at(ioas, 0x10000 + 2 * PG), -EINVAL);
	CHECK_EQ(areas_in(ioas), 1);

	/* The driver, asked to let go, tries to cut the area instead. */
	d.cut_ioas = ioas;
	d.cut_inside_rc = 1;
	CHECK_EQ(unmap(ioas, 0x10000, 4 * PG), -EDEADLOCK);
	CHECK_CASE("a cut while an unmap of the area is under way",
		   d.cut_inside_rc, -EBUSY);
	CHECK_EQ(areas_in(ioas), 1);
	d.cut_ioas = 0;
	d.cooperate = true;
	CHECK_EQ(unmap(ioas, 0x10000, 4 * PG), 0);
	CHECK_EQ(areas_in(ioas), 0);

	/* Nobody holds it: the cut makes two areas of one. */
	CHECK_EQ(map_at(ioas, RW, buf, 4 * PG, 0x10000), 0);
	CHECK_CASE("a cut of an area nobody holds",
		   cut_at(ioas, 0x10000 + 2 * PG - 1), 0);
	CHECK_EQ(areas_in(ioas), 2);
	CHECK_EQ(unmap(ioas, 0x10000, 2 * PG), 0);
	CHECK_EQ(areas_in(ioas), 1);
	ioasid_access_detach(d.access);
	ioasid_access_destroy(d.access);
	CHECK_EQ(destroy(ioas), 0);
	munmap(buf, 4 * PG);
}

/* Page identities: the same page seen through a memfd and a mapping. */
static void page_identity(void)
{
	int mfd = memfd_create("ids", MFD_CLOEXEC);
	struct ioasid_page_id ids[4], seen[4];
	struct driver d = { .cooperate = true };
	char *shared, *priv = anon(4 * PG);
	uint32_t ioas;

	CHECK_EQ(ftruncate(mfd, 4 * PG), 0);
	shared = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(shared != MAP_FAILED);
	fresh();
	ioas = ioas_alloc();
	{
		struct iommu_ioas_map_file cmd = {
			.size = sizeof(cmd), .flags = RW | FIXED, .ioas_id = ioas,
			.fd = mfd, .start = PG, .length = 2 * PG, .iova = 0x10000,
		};

		CHECK_EQ(io(IOMMU_IOAS_MAP_FILE, &cmd), 0);
	}
	CHECK_EQ(ioasid_access_create(ctx, &driver_ops, &d, &d.access), 0);
	ioasid_obj_publish(ctx, &d.access->obj);
	CHECK_EQ(ioasid_access_attach(d.access, ioas), 0);
	CHECK_EQ(ioasid_access_pin_pages(d.access, 0x10000, 2 * PG, 0, ids), 0);
	CHECK_EQ(ioasid_va_page_ids(self_mm(), (uintptr_t)shared + PG, 2, seen), 0);
	CHECK(!memcmp(ids, seen, 2 * sizeof(ids[0])));
	CHECK(memcmp(&ids[0], &ids[1], sizeof(ids[0])));
	/* A private copy of the same bytes is another page. */
	CHECK_EQ(ioasid_va_page_ids(self_mm(), (uintptr_t)priv, 1, seen), 0);
	CHECK(memcmp(&ids[0], &seen[0], sizeof(ids[0])));
	CHECK_EQ(ioasid_va_page_ids(self_mm(), 0, 1, seen), -EFAULT);
	ioasid_access_unpin_pages(d.access, 0x10000, 2 * PG);
	ioasid_access_destroy(d.access);
	munmap(shared, 4 * PG);
	munmap(priv, 4 * PG);
	close(mfd);
}

/*
 * 1 GiB of anonymous memory and of a memfd pinned through ACCESS_PAGES.
 * The caller holds CAP_IPC_LOCK, so no limit applies, but the pins still
 * count in the process' pinned total (VmPin).
 */
static void pin_one_gib_by_ioctl(void)
{
	const uint64_t len = 1ull << 30, chunk = 16 * MiB;
	int mfd = memfd_create("gib", MFD_CLOEXEC);
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t pinned, locked, before;
	uint32_t ioas;
	int fd;

	CHECK(mfd >= 0 && mem != MAP_FAILED);
	CHECK_EQ(ftruncate(mfd, (off_t)len), 0);
	caller.cap_effective |= 1ull << CAP_IPC_LOCK;
	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(map_at(ioas, RW, mem, len, 0), 0);
	{
		struct iommu_ioas_map_file cmd = {
			.size = sizeof(cmd), .flags = RW | FIXED, .ioas_id = ioas,
			.fd = mfd, .length = len, .iova = len,
		};

		CHECK_EQ(io(IOMMU_IOAS_MAP_FILE, &cmd), 0);
	}
	CHECK_EQ(create_access(ioas, PIN, &fd), 0);
	ioasid_account_totals(getpid(), &before, &locked);
	for (uint64_t off = 0; off < 2 * len; off += chunk)
		CHECK_EQ(access_pages(fd, 0, off, chunk, NULL, NULL), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned - before, 2 * len / PG);
	/* The last bytes of both are reachable by IOVA. */
	{
		uint64_t v = 0x0102030405060708ull, r = 0;

		CHECK_EQ(access_rw(fd, MOCK_ACCESS_RW_WRITE, len - 8, 8, &v), 0);
		CHECK_EQ(*(uint64_t *)(mem + len - 8), v);
		CHECK_EQ(access_rw(fd, MOCK_ACCESS_RW_WRITE, 2 * len - 8, 8, &v), 0);
		CHECK_EQ(pread(mfd, &r, 8, (off_t)(len - 8)), 8);
		CHECK_EQ(r, v);
	}
	CHECK_EQ(ioasid_self_close(fd), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, before);
	munmap(mem, len);
	close(mfd);
}

/*
 * Without CAP_IPC_LOCK, pins are charged against RLIMIT_MEMLOCK: one that
 * would pass it fails with ENOMEM and leaves the totals as they were.
 */
static void pin_over_rlimit_by_ioctl(void)
{
	const uint64_t limit_bytes = 8 * MiB, len = limit_bytes + 16 * PG;
	struct rlimit saved, lim;
	char *mem = anon(len);
	uint64_t pinned, locked, before;
	uint32_t ioas;
	int fd;

	CHECK_EQ(getrlimit(RLIMIT_MEMLOCK, &saved), 0);
	lim = saved;
	if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < limit_bytes) {
		check_skip("the hard RLIMIT_MEMLOCK is below 8 MiB");
		return;
	}
	/* Only the soft limit counts, and lowering it needs no privilege. */
	lim.rlim_cur = limit_bytes;
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &lim), 0);
	caller.cap_effective &= ~(1ull << CAP_IPC_LOCK);
	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(map_at(ioas, RW, mem, len, 0), 0);
	CHECK_EQ(create_access(ioas, PIN, &fd), 0);
	ioasid_account_totals(getpid(), &before, &locked);
	CHECK_EQ(before, 0);
	CHECK_EQ(access_pages(fd, 0, 0, limit_bytes - 4 * PG, mem, NULL), 0);
	CHECK_EQ(access_pages(fd, 0, limit_bytes - 4 * PG, 8 * PG, NULL, NULL),
		 -ENOMEM);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, limit_bytes / PG - 4);
	CHECK_EQ(check_refs(mem + limit_bytes - 4 * PG, 8 * PG, 0), 0);
	/* Pages pinned already cost nothing more. */
	CHECK_EQ(access_pages(fd, 0, 0, 16 * PG, NULL, NULL), 0);
	CHECK_EQ(access_pages(fd, 0, limit_bytes - 4 * PG, 4 * PG, NULL, NULL), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, limit_bytes / PG);
	CHECK_EQ(ioasid_self_close(fd), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 0);
	caller.cap_effective |= 1ull << CAP_IPC_LOCK;
	setrlimit(RLIMIT_MEMLOCK, &saved);
	munmap(mem, len);
}

static long change_process(const struct ioasid_caller *who, uint32_t reserved)
{
	struct iommu_ioas_change_process cmd = {
		.size = sizeof(cmd), .__reserved = reserved,
	};

	return ioasid_ctx_ioctl(ctx, who, IOMMU_IOAS_CHANGE_PROCESS,
				(unsigned long)&cmd);
}

/*
 * CHANGE_PROCESS moves the owner and the charges of every page set, once
 * each however many IOASes map it; process memory cannot move (EINVAL);
 * a new owner that cannot carry the charges gets ENOMEM and nothing moves.
 */
static void charges_change_process(void)
{
	int mfd = memfd_create("cp", MFD_CLOEXEC), go[2], ack[2], fd;
	struct ioasid_caller child = caller;
	uint64_t pinned, locked;
	uint32_t a, b;
	pid_t pid;
	char *user = anon(PG), c;

	CHECK_EQ(ftruncate(mfd, 16 * PG), 0);
	CHECK_EQ(pipe(go), 0);
	CHECK_EQ(pipe(ack), 0);
	/* A second process to hand things to; it only has to exist, with
	 * the RLIMIT_MEMLOCK it is told to set. */
	pid = fork();
	if (pid == 0) {
		char c;

		close(go[1]);
		close(ack[0]);
		while (read(go[0], &c, 1) == 1) {
			struct rlimit r = { 0, RLIM_INFINITY };

			getrlimit(RLIMIT_MEMLOCK, &r);
			r.rlim_cur = c == 's' ? 4 * PG : r.rlim_max;
			setrlimit(RLIMIT_MEMLOCK, &r);
			if (write(ack[1], &c, 1) != 1)
				break;
		}
		_exit(0);
	}
	close(go[0]);
	close(ack[1]);
	child.pid = pid;
	child.tid = pid;
	/* Charged (no CAP_IPC_LOCK), in MM mode (which CAP_SYS_RESOURCE
	 * chooses; an in-process caller's claim is taken as it is). */
	caller.cap_effective &= ~(1ull << CAP_IPC_LOCK);
	caller.cap_effective |= 1ull << CAP_SYS_RESOURCE;
	fresh();
	{
		struct iommu_option opt = {
			.size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE,
			.op = IOMMU_OPTION_OP_SET, .val64 = 1, /* MM: VmLck too */
		};

		CHECK_EQ(io(IOMMU_OPTION, &opt), 0);
	}
	a = ioas_alloc();
	b = ioas_alloc();
	{
		struct iommu_ioas_map_file cmd = {
			.size = sizeof(cmd), .flags = RW | FIXED, .ioas_id = a,
			.fd = mfd, .length = 16 * PG, .iova = 0x100000,
		};
		struct iommu_ioas_copy cp = {
			.size = sizeof(cp), .flags = RW | FIXED,
			.dst_ioas_id = b, .src_ioas_id = a, .length = 8 * PG,
			.dst_iova = 0x200000, .src_iova = 0x100000,
		};

		CHECK_EQ(io(IOMMU_IOAS_MAP_FILE, &cmd), 0);
		CHECK_EQ(io(IOMMU_IOAS_COPY, &cp), 0);
	}
	CHECK_EQ(create_access(a, PIN, &fd), 0);
	CHECK_EQ(access_pages(fd, 0, 0x100000, 8 * PG, NULL, NULL), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 8);
	CHECK_EQ(locked, 8);

	CHECK_EQ(change_process(&child, 1), -EOPNOTSUPP);
	/* Process memory cannot change hands: nothing moves. */
	CHECK_EQ(map_at(b, RW, user, PG, 0x900000), 0);
	CHECK_EQ(change_process(&child, 0), -EINVAL);
	CHECK_EQ(unmap(b, 0x900000, PG), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 8);

	/* A new owner whose limit is too small refuses the charges. */
	CHECK_EQ(write(go[1], "s", 1), 1);
	CHECK_EQ(read(ack[0], &c, 1), 1);
	CHECK_EQ(change_process(&child, 0), -ENOMEM);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 8);
	ioasid_account_totals(pid, &pinned, &locked);
	CHECK_EQ(pinned, 0);

	/* Shared by both IOASes, the set moves once. */
	CHECK_EQ(write(go[1], "l", 1), 1);
	CHECK_EQ(read(ack[0], &c, 1), 1);
	CHECK_EQ(change_process(&child, 0), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 0);
	CHECK_EQ(locked, 0);
	ioasid_account_totals(pid, &pinned, &locked);
	CHECK_EQ(pinned, 8);
	CHECK_EQ(locked, 8);
	/* Moving to the owner it already has changes nothing. */
	CHECK_EQ(change_process(&child, 0), 0);
	ioasid_account_totals(pid, &pinned, &locked);
	CHECK_EQ(pinned, 8);

	/* The charges now leave from the new owner. */
	CHECK_EQ(ioasid_self_close(fd), 0);
	ioasid_account_totals(pid, &pinned, &locked);
	CHECK_EQ(pinned, 0);
	CHECK_EQ(locked, 0);

	close(go[1]);
	close(ack[0]);
	waitpid(pid, NULL, 0);
	caller.cap_effective |= 1ull << CAP_IPC_LOCK;
	fresh();
	close(mfd);
	munmap(user, PG);
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	RUN(errno_tables);
	RUN(rw_by_iova);
	RUN(unmap_notifies);
	RUN(fd_holds_context);
	RUN(stubborn_driver);
	RUN(area_split_refusals);
	RUN(page_identity);
	RUN(pin_one_gib_by_ioctl);
	RUN(pin_over_rlimit_by_ioctl);
	RUN(charges_change_process);
	ioasid_ctx_put(ctx);
	return check_finish("access");
}
