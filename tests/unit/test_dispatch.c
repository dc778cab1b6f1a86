/* SPDX-License-Identifier: MIT */
/*
 * The ioctl contract, in-process: the size-first rules for every command in
 * the table, then the semantics of each command served so far.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "core/ioctl_desc.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"
#include "iopt/ioas.h"

static struct ioasid_caller caller;
static struct ioasid_ctx *ctx;

static long io(unsigned int cmd, void *arg)
{
	return ioasid_ctx_ioctl(ctx, &caller, cmd, (unsigned long)arg);
}

/* For each iommufd command: short -> EINVAL, dirty tail -> E2BIG, clean tail
 * behaves exactly like the exact size. */
/*
 * A tail far larger than one read of it (the scan goes in chunks): all
 * zero is accepted, one non-zero byte anywhere, the last included, is
 * E2BIG, and a tail running into unmapped memory is EFAULT.
 */
static void long_tails(void)
{
	const size_t tail = 3 * 64 * 1024 + 100;
	unsigned char *m = mmap(NULL, tail + 2 * 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_alloc *a = (void *)m;
	const size_t size = sizeof(*a) + tail;

	CHECK(m != MAP_FAILED);
	a->size = (uint32_t)size;
	CHECK_CASE("a long zero tail", io(IOMMU_IOAS_ALLOC, a), 0);
	m[size - 1] = 1;
	CHECK_CASE("its last byte set", io(IOMMU_IOAS_ALLOC, a), -E2BIG);
	m[size - 1] = 0;
	m[sizeof(*a) + 64 * 1024] = 1;
	CHECK_CASE("a byte past the first chunk set", io(IOMMU_IOAS_ALLOC, a),
		   -E2BIG);
	m[sizeof(*a) + 64 * 1024] = 0;
	munmap(m + 4096 * ((size + 4095) / 4096), 4096);
	a->size = (uint32_t)(4096 * ((size + 4095) / 4096) + 8);
	CHECK_CASE("a tail into unmapped memory", io(IOMMU_IOAS_ALLOC, a),
		   -EFAULT);
	munmap(m, tail + 2 * 4096);
}

static void size_rules(void)
{
	for (unsigned int i = 0; i < ioasid_ioctl_desc_count(); i++) {
		const struct ioasid_ioctl_desc *d = ioasid_ioctl_desc_at(i);
		unsigned char buf[256];
		long exact, tail;
		uint32_t size;

		if (d->arg != IOASID_ARG_SIZED)
			continue;
		memset(buf, 0, sizeof(buf));
		size = d->min_size - 1;
		memcpy(buf, &size, 4);
		buf[d->size] = 0xff;
		CHECK_EQ(io(d->cmd, buf), -EINVAL);

		size = d->size + 1;
		memcpy(buf, &size, 4);
		CHECK_EQ(io(d->cmd, buf), -E2BIG);

		/* A far tail is checked too, not just the first byte. */
		size = d->size + 100;
		memcpy(buf, &size, 4);
		buf[d->size] = 0;
		buf[d->size + 99] = 1;
		CHECK_EQ(io(d->cmd, buf), -E2BIG);
		buf[d->size + 99] = 0;

		size = d->size;
		memcpy(buf, &size, 4);
		exact = io(d->cmd, buf);
		size = d->size + 1;
		memset(buf + 4, 0, sizeof(buf) - 4);
		memcpy(buf, &size, 4);
		tail = io(d->cmd, buf);
		CHECK_EQ(tail, exact);
		if (tail != exact)
			fprintf(stderr, "  in %s\n", d->name);

		/* Bad pointers fault, they do not crash. */
		CHECK_EQ(io(d->cmd, NULL), -EFAULT);
		CHECK_EQ(io(d->cmd, (void *)8), -EFAULT);
	}
}

static void unknown_commands(void)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };

	CHECK_EQ(io(_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE - 1), &cmd), -ENOTTY);
	CHECK_EQ(io(_IO(IOMMUFD_TYPE, 0x95), &cmd), -ENOTTY);
	CHECK_EQ(io(_IO(IOMMUFD_TYPE, 0x9f), &cmd), -ENOTTY);
	CHECK_EQ(io(_IO('x', IOMMUFD_CMD_DESTROY), &cmd), -ENOTTY);
	CHECK_EQ(io(_IOW(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY, int), &cmd), -ENOTTY);
	CHECK_EQ(io(VFIO_IOMMU_DIRTY_PAGES, &cmd), -ENOTTY);
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

static void ioas_alloc_cases(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };
	unsigned int before = ioasid_ctx_object_count(ctx);
	void *ro;

	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &cmd), -EOPNOTSUPP);
	CHECK_EQ(ioasid_ctx_object_count(ctx), before);

	/* An answer that cannot be written back leaves no object behind. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	((struct iommu_ioas_alloc *)ro)->size = sizeof(cmd);
	mprotect(ro, 4096, PROT_READ);
	CHECK_EQ(io(IOMMU_IOAS_ALLOC, ro), -EFAULT);
	CHECK_EQ(ioasid_ctx_object_count(ctx), before);
	munmap(ro, 4096);
}

static void iova_ranges_cases(void)
{
	uint32_t id = ioas_alloc();
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = id,
		.num_iovas = 0,
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct ioasid_ioas *ioas;

	/* Two-call pattern: ask with no room, learn the count, ask again. */
	memset(ranges, 0xaa, sizeof(ranges));
	CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), -EMSGSIZE);
	CHECK_EQ(cmd.num_iovas, 1);
	CHECK_EQ(cmd.out_iova_alignment, 1);
	CHECK_EQ(ranges[0].start, 0xaaaaaaaaaaaaaaaaull);
	CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	CHECK_EQ(ranges[0].start, 0);
	CHECK_EQ(ranges[0].last, UINT64_MAX);

	/* Reserved ranges cut holes; the filled prefix is written even when
	 * the array is too small. */
	CHECK_EQ(ioasid_ioas_get(ctx, id, &ioas), 0);
	CHECK_EQ(iopt_reserve_iova(&ioas->iopt, 0, 0xfff, NULL), 0);
	CHECK_EQ(iopt_reserve_iova(&ioas->iopt, 0x10000, 0x1ffff, NULL), 0);
	CHECK_EQ(iopt_reserve_iova(&ioas->iopt, 0x18000, 0x20fff, NULL), 0);
	ioasid_ioas_put(ctx, ioas);
	memset(ranges, 0, sizeof(ranges));
	cmd.num_iovas = 1;
	CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), -EMSGSIZE);
	CHECK_EQ(cmd.num_iovas, 2);
	CHECK_EQ(ranges[0].start, 0x1000);
	CHECK_EQ(ranges[0].last, 0xffff);
	CHECK_EQ(ranges[1].start, 0);
	CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	CHECK_EQ(ranges[1].start, 0x21000);
	CHECK_EQ(ranges[1].last, UINT64_MAX);

	/* Reserved field, unknown id, wrong object. */
	cmd.__reserved = 1;
	CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), -EOPNOTSUPP);
	cmd.__reserved = 0;
	cmd.ioas_id = 999;
	CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), -ENOENT);
	/* An unwritable array faults. */
	cmd.ioas_id = id;
	cmd.allowed_iovas = 16;
	CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &cmd), -EFAULT);
}

static void allow_iovas_cases(void)
{
	uint32_t id = ioas_alloc();
	struct iommu_iova_range r[3];
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = id,
		.allowed_iovas = (uintptr_t)r,
	};
	struct ioasid_ioas *ioas;
	static const struct {
		uint64_t s0, l0, s1, l1;
		int expect;
	} cases[] = {
		{ 0x1000, 0x1fff, 0x4000, 0x4fff, 0 },
		{ 0x1000, 0x1000, 0x4000, 0x4fff, -EINVAL },  /* start == last */
		{ 0x2000, 0x1000, 0x4000, 0x4fff, -EINVAL },  /* backwards */
		{ 0x1000, 0x4fff, 0x4000, 0x8fff, -EINVAL },  /* overlapping */
		{ 0x100000, 0x1fffff, 0, 0xfff, 0 },
		{ 0x9000, 0x9fff, 0xa000, 0xafff, -EADDRINUSE }, /* reserved */
	};

	CHECK_EQ(ioasid_ioas_get(ctx, id, &ioas), 0);
	CHECK_EQ(iopt_reserve_iova(&ioas->iopt, 0xa800, 0xa8ff, NULL), 0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct itree_node *n;
		int count = 0;

		r[0] = (struct iommu_iova_range){ cases[i].s0, cases[i].l0 };
		r[1] = (struct iommu_iova_range){ cases[i].s1, cases[i].l1 };
		cmd.num_iovas = 2;
		CHECK_EQ(io(IOMMU_IOAS_ALLOW_IOVAS, &cmd), cases[i].expect);
		/* Failure keeps the previous set; success replaces it. */
		itree_for_each(n, &ioas->iopt.allowed_itree, 0, UINT64_MAX)
			count++;
		CHECK_EQ(count, 2);
		if (!cases[i].expect)
			CHECK(itree_iter_first(&ioas->iopt.allowed_itree,
					       cases[i].s0, cases[i].s0));
	}
	/* Reserving over an allowed range is refused. */
	CHECK_EQ(iopt_reserve_iova(&ioas->iopt, 0x100000, 0x100000, NULL),
		 -EADDRINUSE);

	/* An empty list clears it; a bad array pointer faults. */
	cmd.num_iovas = 0;
	CHECK_EQ(io(IOMMU_IOAS_ALLOW_IOVAS, &cmd), 0);
	CHECK(itree_empty(&ioas->iopt.allowed_itree));
	cmd.num_iovas = 1;
	cmd.allowed_iovas = 0;
	CHECK_EQ(io(IOMMU_IOAS_ALLOW_IOVAS, &cmd), -EFAULT);
	CHECK(itree_empty(&ioas->iopt.allowed_itree));
	ioasid_ioas_put(ctx, ioas);

	cmd.__reserved = 1;
	CHECK_EQ(io(IOMMU_IOAS_ALLOW_IOVAS, &cmd), -EOPNOTSUPP);
}

static long option(uint32_t opt, uint16_t op, uint32_t obj, uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = opt, .op = op,
		.object_id = obj, .val64 = *val,
	};
	long rc = io(IOMMU_OPTION, &cmd);

	*val = cmd.val64;
	return rc;
}

static void option_cases(struct ioasid_ctx *fresh)
{
	struct ioasid_ctx *saved = ctx;
	uint64_t caps = caller.cap_effective;
	uint64_t v;
	uint32_t id;

	ctx = fresh;
	/* RLIMIT_MODE: GET anywhere, SET needs CAP_SYS_RESOURCE and an empty
	 * table; only 0 and 1 are modes. */
	v = 7;
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v), 0);
	CHECK_EQ(v, 0);
	caller.cap_effective = caps & ~(1ull << CAP_SYS_RESOURCE);
	v = 1;
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v), -EPERM);
	caller.cap_effective = caps | (1ull << CAP_SYS_RESOURCE);
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v), 0);
	v = 2;
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v), -EINVAL);
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v), 0);
	CHECK_EQ(v, 1);
	v = 0;
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, 2, 0, &v), -EOPNOTSUPP);
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 5, &v), -EOPNOTSUPP);
	CHECK_EQ(option(7, IOMMU_OPTION_OP_GET, 0, &v), -EOPNOTSUPP);

	/* HUGE_PAGES is per IOAS. */
	CHECK_EQ(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, &v), -ENOENT);
	CHECK_EQ(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, 0, &v), -ENOENT);
	id = ioas_alloc();
	v = 1;
	CHECK_EQ(option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v), -EBUSY);
	CHECK_EQ(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, id, &v), 0);
	CHECK_EQ(v, 1);
	v = 0;
	CHECK_EQ(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v), 0);
	CHECK_EQ(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, id, &v), 0);
	CHECK_EQ(v, 0);
	{
		struct iommu_ioas_iova_ranges r = {
			.size = sizeof(r), .ioas_id = id,
		};
		CHECK_EQ(io(IOMMU_IOAS_IOVA_RANGES, &r), -EMSGSIZE);
		CHECK_EQ(r.out_iova_alignment, 4096);
	}
	v = 2;
	CHECK_EQ(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v), -EINVAL);
	v = 1;
	CHECK_EQ(option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v), 0);

	/* Only val64 is written back. */
	{
		struct iommu_option cmd = {
			.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
			.op = IOMMU_OPTION_OP_GET, .object_id = id,
		};
		CHECK_EQ(io(IOMMU_OPTION, &cmd), 0);
		CHECK_EQ(cmd.val64, 1);
		CHECK_EQ(cmd.object_id, id);
		cmd.__reserved = 1;
		CHECK_EQ(io(IOMMU_OPTION, &cmd), -EOPNOTSUPP);
	}
	caller.cap_effective = caps;
	ctx = saved;
}

/* Outside test mode the command is not there, whatever it holds: not
 * even a bad size or pointer is noticed.  Then test mode goes on, for
 * good. */
static void test_mode_cases(void)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
	};

	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -ENOTTY);
	cmd.size = 1;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -ENOTTY);
	CHECK_EQ(io(IOMMU_TEST_CMD, NULL), -ENOTTY);
	ioasid_enable_test_mode();
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EINVAL);
}

static void test_cmd_cases(void)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
	};
	void *buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cmd.check_refs.uptr = (uintptr_t)buf;
	cmd.check_refs.length = 4 * 4096;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), 0);
	cmd.check_refs.refs = 1;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EIO);
	cmd.check_refs.refs = 0;
	cmd.check_refs.length = 100;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EINVAL);
	cmd.check_refs.length = 4096;
	cmd.check_refs.uptr = (uintptr_t)buf + 1;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EINVAL);
	cmd.check_refs.uptr = UINT64_MAX & ~4095ull;
	cmd.check_refs.length = 8192;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EINVAL);
	/* Unmapped memory faults. */
	munmap((char *)buf + 2 * 4096, 4096);
	cmd.check_refs.uptr = (uintptr_t)buf;
	cmd.check_refs.length = 4 * 4096;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EFAULT);
	munmap(buf, 4 * 4096);

	cmd.op = 0;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EOPNOTSUPP);
	cmd.op = 999;
	CHECK_EQ(io(IOMMU_TEST_CMD, &cmd), -EOPNOTSUPP);
}

static void vfio_value_cases(void)
{
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_GET_API_VERSION, 0),
		 VFIO_API_VERSION);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_CHECK_EXTENSION,
				  VFIO_TYPE1v2_IOMMU), 1);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_CHECK_EXTENSION,
				  VFIO_TYPE1_IOMMU), 1);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_CHECK_EXTENSION,
				  VFIO_UNMAP_ALL), 1);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_CHECK_EXTENSION,
				  VFIO_UPDATE_VADDR), 0);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_CHECK_EXTENSION,
				  VFIO_NOIOMMU_IOMMU), 0);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_CHECK_EXTENSION,
				  VFIO_DMA_CC_IOMMU), -ENODEV);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &caller, VFIO_CHECK_EXTENSION, 12345), 0);
}

int main(void)
{
	struct ioasid_ctx *fresh;

	CHECK_EQ(ioasid_caller_self(&caller), 0);
	ctx = ioasid_ctx_new();
	fresh = ioasid_ctx_new();
	RUN(test_mode_cases);
	RUN(size_rules);
	RUN(long_tails);
	RUN(unknown_commands);
	RUN(ioas_alloc_cases);
	RUN(iova_ranges_cases);
	RUN(allow_iovas_cases);
	RUN_AS("option_cases", option_cases(fresh));
	RUN(test_cmd_cases);
	RUN(vfio_value_cases);
	ioasid_ctx_put(fresh);
	ioasid_ctx_put(ctx);
	return check_finish("dispatch");
}
