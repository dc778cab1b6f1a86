/* SPDX-License-Identifier: MIT */
/*
 * Rings in-process: the errors of IOASID_RING_ALLOC and IOASID_RING_ENTER,
 * entries that run as their ioctls (answers written into the entry,
 * pointers reaching the caller's memory), entries that may not run,
 * stopping at a failure, and a ring held by its mapping.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctx_harness.h"
#include "ioasid/uapi/ioasid.h"
#include "pages/account.h"
#include <linux/capability.h>

struct ring {
	uint32_t id;
	uint64_t offset, length;
	struct ioasid_ring_entry *e;
};

static long ring_alloc(uint32_t entries, struct ring *r)
{
	struct ioasid_ring_alloc cmd = { .size = sizeof(cmd),
					 .entries = entries };
	long rc = io(IOASID_RING_ALLOC, &cmd);
	int fd;

	if (rc)
		return rc;
	r->id = cmd.out_ring_id;
	r->offset = cmd.out_mmap_offset;
	r->length = cmd.out_mmap_length;
	fd = ioasid_ctx_mmap(ctx, r->offset, r->length, PROT_READ | PROT_WRITE,
			     MAP_SHARED);
	CHECK(fd >= 0);
	r->e = mmap(NULL, r->length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(r->e != MAP_FAILED);
	close(fd);
	return 0;
}

static void ring_free(struct ring *r)
{
	munmap(r->e, r->length);
	CHECK_EQ(ioasid_ctx_munmap(ctx, r->offset), 0);
	CHECK_EQ(destroy(r->id), 0);
}

static long enter(uint32_t id, uint32_t flags, uint32_t first, uint32_t count,
		  uint32_t *done)
{
	struct ioasid_ring_enter cmd = {
		.size = sizeof(cmd), .flags = flags, .ring_id = id,
		.first = first, .count = count,
	};
	long rc = io(IOASID_RING_ENTER, &cmd);

	if (done)
		*done = cmd.out_done;
	return rc;
}

static void put(struct ioasid_ring_entry *e, uint32_t cmd, const void *arg,
		size_t len)
{
	memset(e, 0, sizeof(*e));
	e->cmd = cmd;
	e->result = 12345;
	memcpy(e->arg, arg, len);
}

static void alloc_errors(void)
{
	static const struct {
		const char *name;
		uint32_t flags, entries;
		long expect;
		uint64_t length;
	} cases[] = {
		{ "no entries", 0, 0, -EINVAL, 0 },
		{ "too many", 0, 65537, -EINVAL, 0 },
		{ "unknown flags", 1, 4, -EOPNOTSUPP, 0 },
		{ "one entry, one page", 0, 1, 0, PG },
		{ "64 entries, one page", 0, 64, 0, PG },
		{ "65 entries, two pages", 0, 65, 0, 2 * PG },
		{ "the most", 0, 65536, 0, 1024 * PG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ioasid_ring_alloc cmd = {
			.size = sizeof(cmd), .flags = cases[i].flags,
			.entries = cases[i].entries,
		};
		long rc;

		fresh();
		rc = io(IOASID_RING_ALLOC, &cmd);
		if (rc != cases[i].expect)
			fprintf(stderr, "alloc_errors: %s\n", cases[i].name);
		CHECK_EQ(rc, cases[i].expect);
		CHECK_EQ(ioasid_ctx_object_count(ctx), rc ? 0 : 1);
		if (!rc)
			CHECK_EQ(cmd.out_mmap_length, cases[i].length);
	}
}

static void enter_errors(void)
{
	struct ring r;
	uint32_t ioas, done = 7;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(ring_alloc(8, &r), 0);
	CHECK_EQ(enter(ioas, 0, 0, 1, NULL), -ENOENT);
	CHECK_EQ(enter(r.id + 100, 0, 0, 1, NULL), -ENOENT);
	CHECK_EQ(enter(r.id, 0, 0, 9, NULL), -EINVAL);
	CHECK_EQ(enter(r.id, 0, 8, 1, NULL), -EINVAL);
	CHECK_EQ(enter(r.id, 0, UINT32_MAX, 2, NULL), -EINVAL);
	CHECK_EQ(enter(r.id, 2, 0, 1, NULL), -EOPNOTSUPP);
	CHECK_EQ(enter(r.id, 0, 8, 0, &done), 0);
	CHECK_EQ(done, 0);
	/* Mapped: it stays. */
	CHECK_EQ(destroy(r.id), -EBUSY);
	ring_free(&r);
}

/* Entries run as their ioctls: answers in the entry, failures alone. */
static void entries_run(void)
{
	static char buf[4 * PG] __attribute__((aligned(PG)));
	struct iommu_iova_range ranges[2];
	struct ring r;
	uint32_t ioas, ioas2, done;
	struct iommu_ioas_map map = {
		.size = sizeof(map), .flags = RW, .user_va = (uintptr_t)buf,
		.length = 4 * PG,
	};
	struct iommu_ioas_map fixed = {
		.size = sizeof(fixed), .flags = RW | FIXED,
		.user_va = (uintptr_t)buf, .length = PG, .iova = 0x100000,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap),
					  .iova = 0x100000, .length = PG };
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = RW, .length = PG,
		.src_iova = 0x100000,
	};
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .num_iovas = 2,
					    .allowed_iovas = (uintptr_t)ranges };
	struct iommu_destroy d = { .size = sizeof(d) };
	struct iommu_ioas_map_file mf = { .size = sizeof(mf), .fd = 0 };

	fresh();
	ioas = ioas_alloc();
	ioas2 = ioas_alloc();
	CHECK_EQ(ring_alloc(16, &r), 0);
	map.ioas_id = fixed.ioas_id = unmap.ioas_id = ioas;
	copy.src_ioas_id = ioas;
	copy.dst_ioas_id = ioas2;
	q.ioas_id = ioas;
	d.id = ioas2;
	put(&r.e[0], IOMMU_IOAS_MAP, &map, sizeof(map));
	put(&r.e[1], IOMMU_IOAS_MAP, &fixed, sizeof(fixed));
	put(&r.e[2], IOMMU_IOAS_MAP, &fixed, sizeof(fixed)); /* taken */
	put(&r.e[3], IOMMU_IOAS_COPY, &copy, sizeof(copy));
	put(&r.e[4], IOMMU_IOAS_UNMAP, &unmap, sizeof(unmap));
	put(&r.e[5], IOMMU_IOAS_UNMAP, &unmap, sizeof(unmap)); /* gone */
	put(&r.e[6], IOMMU_IOAS_IOVA_RANGES, &q, sizeof(q));
	put(&r.e[7], IOMMU_DESTROY, &d, sizeof(d));
	put(&r.e[8], IOMMU_IOAS_MAP_FILE, &mf, sizeof(mf));
	put(&r.e[9], IOASID_RING_ENTER, &(struct ioasid_ring_enter){
		.size = sizeof(struct ioasid_ring_enter), .ring_id = r.id,
		.count = 1 }, sizeof(struct ioasid_ring_enter));
	CHECK_EQ(enter(r.id, 0, 0, 10, &done), 0);
	CHECK_EQ(done, 10);
	CHECK_EQ(r.e[0].result, 0);
	memcpy(&map, r.e[0].arg, sizeof(map));
	CHECK(map.iova != 0); /* the answer, in the entry */
	CHECK_EQ(r.e[1].result, 0);
	CHECK_EQ(r.e[2].result, -EEXIST);
	CHECK_EQ(r.e[3].result, 0);
	memcpy(&copy, r.e[3].arg, sizeof(copy));
	CHECK(copy.dst_iova != 0);
	CHECK_EQ(r.e[4].result, 0);
	memcpy(&unmap, r.e[4].arg, sizeof(unmap));
	CHECK_EQ(unmap.length, PG);
	CHECK_EQ(r.e[5].result, -ENOENT);
	for (int i = 6; i < 10; i++)
		CHECK_EQ(r.e[i].result, -EOPNOTSUPP);
	/* The refused DESTROY did not run: both IOASes and the ring. */
	CHECK_EQ(ioasid_ctx_object_count(ctx), 3);
	CHECK_EQ(destroy(ioas2), 0);

	/* With STOP, the first failure ends the run. */
	put(&r.e[0], IOMMU_IOAS_UNMAP, &unmap, sizeof(unmap)); /* gone */
	r.e[1].result = 12345;
	CHECK_EQ(enter(r.id, IOASID_RING_ENTER_STOP, 0, 3, &done), 0);
	CHECK_EQ(done, 1);
	CHECK_EQ(r.e[0].result, -ENOENT);
	CHECK_EQ(r.e[1].result, 12345);
	ring_free(&r);
}

/* A pointer inside an entry's argument reaches the caller's memory. */
static void entry_pointers(void)
{
	static char buf[PG] __attribute__((aligned(PG)));
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(inv), .entry_num = 1,
	};
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent),
					   .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc nested = {
		.size = sizeof(nested), .data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
	};
	struct ring r;
	uint32_t done;

	fresh();
	md.id = ioas_alloc();
	CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0);
	parent.dev_id = nested.dev_id = md.mock_domain.out_idev_id;
	parent.pt_id = md.id;
	CHECK_EQ(io(IOMMU_HWPT_ALLOC, &parent), 0);
	nested.pt_id = parent.out_hwpt_id;
	CHECK_EQ(io(IOMMU_HWPT_ALLOC, &nested), 0);
	cmd.hwpt_id = nested.out_hwpt_id;
	CHECK_EQ(ring_alloc(2, &r), 0);
	put(&r.e[0], IOMMU_HWPT_INVALIDATE, &cmd, sizeof(cmd));
	cmd.data_uptr = 8; /* not there */
	put(&r.e[1], IOMMU_HWPT_INVALIDATE, &cmd, sizeof(cmd));
	CHECK_EQ(enter(r.id, 0, 0, 2, &done), 0);
	CHECK_EQ(r.e[0].result, 0);
	memcpy(&cmd, r.e[0].arg, sizeof(cmd));
	CHECK_EQ(cmd.entry_num, 1);
	CHECK_EQ(r.e[1].result, -EFAULT);
	(void)buf;
	ring_free(&r);
}

/*
 * Entries' releases wait for the end of ENTER (one grace period for a
 * ring of unmaps), yet a map that needs what an earlier unmap gave back
 * gets it, as one ioctl after another would: here RLIMIT_MEMLOCK, with
 * the whole limit pinned, then unmapped and mapped elsewhere in one
 * ENTER.
 */
static void releases_before_limits(void)
{
	uint64_t limit = ioasid_account_limit(getpid(), getuid());
	struct ioasid_caller saved = caller;
	struct ring r;
	uint32_t ioas, done;
	char *buf;

	CHECK(limit != UINT64_MAX && limit > 4);
	buf = mmap(NULL, 2 * limit * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	CHECK(buf != MAP_FAILED);
	/* Charged as a caller without CAP_IPC_LOCK. */
	caller.cap_effective &= ~(1ull << CAP_IPC_LOCK);
	fresh();
	ioas = ioas_alloc();
	{
		struct iommu_test_cmd md = { .size = sizeof(md),
					     .op = IOMMU_TEST_OP_MOCK_DOMAIN,
					     .id = ioas };

		CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0); /* maps pin now */
	}
	CHECK_EQ(map_at(ioas, RW, buf, limit * PG, 0x1000000), 0);
	CHECK_EQ(ring_alloc(2, &r), 0);
	{
		struct iommu_ioas_unmap um = { .size = sizeof(um), .ioas_id = ioas,
					       .iova = 0x1000000,
					       .length = limit * PG };
		struct iommu_ioas_map m = {
			.size = sizeof(m), .flags = RW | FIXED, .ioas_id = ioas,
			.user_va = (uintptr_t)buf + limit * PG,
			.length = limit * PG, .iova = 0x1000000 + 2 * limit * PG,
		};

		put(&r.e[0], IOMMU_IOAS_UNMAP, &um, sizeof(um));
		put(&r.e[1], IOMMU_IOAS_MAP, &m, sizeof(m));
	}
	CHECK_EQ(enter(r.id, 0, 0, 2, &done), 0);
	CHECK_EQ(done, 2);
	CHECK_EQ(r.e[0].result, 0);
	CHECK_EQ(r.e[1].result, 0);
	ring_free(&r);
	fresh();
	caller = saved;
	munmap(buf, 2 * limit * PG);
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	RUN(alloc_errors);
	RUN(enter_errors);
	RUN(entries_run);
	RUN(entry_pointers);
	RUN(releases_before_limits);
	ioasid_ctx_put(ctx);
	return check_finish("ring");
}
