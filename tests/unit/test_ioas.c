/* SPDX-License-Identifier: MIT */
/*
 * IOAS semantics in-process: the errno table of MAP, COPY and UNMAP, refused
 * calls that change nothing, COPY sharing page sets, the VFIO type1 compat
 * ioctls, and pinning with its accounting (RLIMIT_MEMLOCK, 1 GiB pins).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ctx_harness.h"
#include "core/context.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"
#include "core/user_limits.h"
#include "iopt/ioas.h"
#include "pages/account.h"
#include "pages/pages.h"
#include "self_mm.h"


static long map(uint32_t ioas, uint32_t flags, uint64_t va, uint64_t len,
		uint64_t *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas,
		.user_va = va, .length = len, .iova = *iova,
	};
	long rc = io(IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return rc;
}

static long unmap(uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	long rc = io(IOMMU_IOAS_UNMAP, &cmd);

	if (out)
		*out = cmd.length;
	return rc;
}

static long copy(uint32_t dst, uint32_t src, uint32_t flags, uint64_t src_iova,
		 uint64_t len, uint64_t *dst_iova)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = flags, .dst_ioas_id = dst,
		.src_ioas_id = src, .length = len, .dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	long rc = io(IOMMU_IOAS_COPY, &cmd);

	*dst_iova = cmd.dst_iova;
	return rc;
}

static long reserve(uint32_t ioas, uint64_t start, uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas,
		.add_reserved = { start, len },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

static void map_errors(void)
{
	static const struct {
		uint32_t flags;
		uint64_t va, len, iova;
		long expect;
	} cases[] = {
		{ RW | FIXED, 0x100000, PG, 0x10000, 0 },
		{ RW | FIXED, 0x200000, PG, 0x10000, -EEXIST },
		{ RW | FIXED, 0x200000, 2 * PG, 0xf000, -EEXIST },
		{ RW | FIXED, 0x200000, PG, 0x40000, -EINVAL },  /* reserved */
		{ RW | FIXED, 0x200000, PG, UINT64_MAX, -EOVERFLOW },
		{ RW | FIXED, 0x200000, UINT64_MAX, 0, -EOVERFLOW },
		{ RW | FIXED, 0x200000, 2 * PG, UINT64_MAX - PG, -EOVERFLOW },
		{ FIXED, 0x200000, PG, 0x20000, -EINVAL },       /* no access */
		{ RW | FIXED, 0x200000, 0, 0x20000, -EINVAL },
		{ RW | FIXED, UINT64_MAX - 10, PG, 0x20000, -EOVERFLOW },
		{ RW | 0x80, 0x200000, PG, 0x20000, -EOPNOTSUPP },
		{ RW, 0x200000, PG, 0, 0 },                      /* automatic */
		{ RW, 0x200000, UINT64_MAX / 2, 0, -EOVERFLOW },
	};
	uint32_t ioas;

	fresh();
	ioas = ioas_alloc();
	CHECK_EQ(reserve(ioas, 0x40000, PG), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t iova = cases[i].iova;
		long rc = map(ioas, cases[i].flags, cases[i].va, cases[i].len,
			      &iova);

		if (rc != cases[i].expect)
			fprintf(stderr, "map case %zu\n", i);
		CHECK_EQ(rc, cases[i].expect);
	}
	CHECK_EQ(map(ioas + 100, RW, 0x1000, PG, &(uint64_t){ 0 }), -ENOENT);
}

/* A refused unmap leaves every area in place; a superset range works. */
static void unmap_rules(void)
{
	uint64_t iova, out;
	uint32_t ioas;

	fresh();
	ioas = ioas_alloc();
	for (int i = 0; i < 3; i++) {
		iova = 0x10000 + i * 2 * PG;
		CHECK_EQ(map(ioas, RW | FIXED, 0x100000, 2 * PG, &iova), 0);
	}
	/* The last area straddles the end: nothing goes, not even the first. */
	CHECK_EQ(unmap(ioas, 0x10000, 5 * PG, &out), -ENOENT);
	CHECK_EQ(unmap(ioas, 0x10000, 2 * PG, &out), 0);
	CHECK_EQ(out, 2 * PG);
	CHECK_EQ(unmap(ioas, 0x10000, 2 * PG, &out), -ENOENT);
	CHECK_EQ(unmap(ioas, 0x10000 + PG, PG, &out), -ENOENT); /* inside one */
	CHECK_EQ(unmap(ioas, 0, 0x100000, &out), 0);
	CHECK_EQ(out, 4 * PG);
	CHECK_EQ(unmap(ioas, 0, 0, &out), -EINVAL);
	CHECK_EQ(unmap(ioas, UINT64_MAX, 1, &out), -EOVERFLOW);
	CHECK_EQ(unmap(ioas, 3, UINT64_MAX - 1, &out), -EOVERFLOW);
	CHECK_EQ(unmap(ioas, 0, UINT64_MAX, &out), 0); /* all, and empty */
	CHECK_EQ(out, 0);
}

/*
 * Automatic IOVAs go at the lowest place that fits, however the space
 * below was filled and freed: the search starts where the last one found
 * the first hole, and whatever frees IOVA below that is seen again.
 */
static void lowest_fit(void)
{
	static const struct {
		const char *name;
		uint64_t unmap_iova, unmap_len; /* 0: nothing */
		uint64_t reserved_iova;         /* 0: nothing */
		uint64_t len, expect;
	} cases[] = {
		{ "after four areas, the next", 0, 0, 0, PG, 5 * PG },
		{ "a hole unmapped below", 2 * PG, PG, 0, PG, 2 * PG },
		/* Two pages from a 2-page-aligned buffer: 2-page aligned. */
		{ "a hole too small is passed over", 2 * PG, PG, 0, 2 * PG,
		  6 * PG },
		{ "a reserved range fills the hole", 2 * PG, PG, 2 * PG, PG,
		  5 * PG },
		{ "the first page freed", PG, PG, 0, PG, PG },
	};
	static char buf[2 * PG] __attribute__((aligned(2 * PG)));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t iova = 0;
		uint32_t ioas;

		fresh();
		ioas = ioas_alloc();
		for (int k = 0; k < 4; k++) {
			iova = 0;
			CHECK_EQ(map(ioas, RW, (uintptr_t)buf, PG, &iova), 0);
			CHECK_EQ(iova, (uint64_t)(k + 1) * PG);
		}
		if (cases[i].unmap_len)
			CHECK_EQ(unmap(ioas, cases[i].unmap_iova,
				       cases[i].unmap_len, NULL), 0);
		if (cases[i].reserved_iova)
			CHECK_EQ(reserve(ioas, cases[i].reserved_iova, PG), 0);
		iova = 0;
		CHECK_EQ(map(ioas, RW, (uintptr_t)buf, cases[i].len, &iova), 0);
		if (iova != cases[i].expect)
			fprintf(stderr, "lowest_fit: %s: 0x%llx\n",
				cases[i].name, (unsigned long long)iova);
		CHECK_EQ(iova, cases[i].expect);
	}
}

static struct ioasid_pages *pages_at(uint32_t ioas_id, uint64_t iova)
{
	struct ioasid_pages *p = NULL;
	struct ioasid_ioas *ioas;
	struct itree_node *n;

	if (ioasid_ioas_get(ctx, ioas_id, &ioas))
		return NULL;
	n = itree_iter_first(&ioas->iopt.area_itree, iova, iova);
	if (n)
		p = container_of(n, struct iopt_area, node)->pages;
	ioasid_ioas_put(ctx, ioas);
	return p;
}

/* COPY shares the page set; sub-ranges and gaps follow upstream. */
static void copy_rules(void)
{
	uint64_t iova = 0x10000, dst;
	struct ioasid_pages *p;
	uint32_t a, b;

	fresh();
	a = ioas_alloc();
	b = ioas_alloc();
	CHECK_EQ(map(a, IOMMU_IOAS_MAP_READABLE | FIXED, 0x100000, 4 * PG, &iova), 0);
	p = pages_at(a, 0x10000);
	CHECK(p != NULL);

	dst = 0x80000;
	CHECK_EQ(copy(b, a, IOMMU_IOAS_MAP_READABLE | FIXED, 0x11000, PG, &dst), 0);
	CHECK(pages_at(b, 0x80000) == p);
	CHECK_EQ(atomic_load(&p->refs), 2);
	/* A read-only page set cannot become writable by copying it. */
	dst = 0x90000;
	CHECK_EQ(copy(b, a, RW | FIXED, 0x10000, PG, &dst), -EPERM);
	/* Beyond the area: a gap. */
	CHECK_EQ(copy(b, a, IOMMU_IOAS_MAP_READABLE, 0x10000, 5 * PG, &dst), -ENOENT);
	CHECK_EQ(copy(b, a, IOMMU_IOAS_MAP_READABLE, 0x10000, 0, &dst), -EINVAL);
	CHECK_EQ(copy(b, a, 0, 0x10000, PG, &dst), -EINVAL);
	CHECK_EQ(copy(b + 10, a, IOMMU_IOAS_MAP_READABLE, 0x10000, PG, &dst), -ENOENT);

	/* The set lives while any area uses it. */
	CHECK_EQ(unmap(a, 0, UINT64_MAX, NULL), 0);
	CHECK_EQ(atomic_load(&p->refs), 1);
	CHECK(pages_at(b, 0x80000) == p);
}

/*
 * Copies of one area pin one range: however many there are, the page set
 * keeps one pin range with a count of holders, so a copy or an unmap
 * never walks the others (it did: 263 us to 4.8 ms per COPY at 20k).
 */
static void copies_pin_once(void)
{
	char *buf = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	uint64_t iova = 1 << 24, dst;
	struct ioasid_pages *p;
	uint32_t a;

	fresh();
	a = ioas_alloc();
	md.id = a;
	CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0);
	CHECK_EQ(map(a, RW | FIXED, (uintptr_t)buf, PG, &iova), 0);
	p = pages_at(a, iova);
	CHECK(p != NULL);
	for (unsigned int i = 0; i < 1000; i++) {
		dst = (2 << 24) + (uint64_t)i * PG;
		CHECK_EQ(copy(a, a, RW | FIXED, 1 << 24, PG, &dst), 0);
	}
	CHECK_EQ(ioasid_pages_pin_ranges(p), 1);
	CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf), 1);
	CHECK_EQ(unmap(a, 2 << 24, 1000 * PG, NULL), 0);
	CHECK_EQ(ioasid_pages_pin_ranges(p), 1);
	CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf), 1);
	CHECK_EQ(unmap(a, 1 << 24, PG, NULL), 0);
	munmap(buf, PG);
}

/*
 * What the core spends for a user's calls is charged to that user: a
 * client making copies of one page at scattered IOVAs (page tables, an
 * area, a holder each) runs into its memory limit with ENOMEM, having
 * changed nothing, and when its mappings go every byte is given back.
 * (Without a limit, 20000 such copies took 320 MB of the daemon.)
 */
static void user_memory_charged(void)
{
	char *buf = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	const unsigned long limit = 256 << 10;
	uint64_t iova = 1 << 24, dst;
	unsigned long before;
	unsigned int made = 0;
	uint32_t a;
	long rc = 0;

	/* What earlier cases' contexts held went back with them. */
	fresh();
	ioasid_synchronize_rcu();
	before = ioasid_user_mem_charged(caller.uid);
	CHECK_EQ(before, 0);
	a = ioas_alloc();
	md.id = a;
	CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0);
	CHECK_EQ(map(a, RW | FIXED, (uintptr_t)buf, PG, &iova), 0);
	CHECK(ioasid_user_mem_charged(caller.uid) > before);
	ioasid_set_user_memory_limit(limit);
	while (made < 1000) {
		unsigned long used = ioasid_user_mem_charged(caller.uid);

		/* A page of tables or more per copy: 2 MiB apart. */
		dst = (2ull << 24) + (uint64_t)made * (2 << 20);
		rc = copy(a, a, RW | FIXED, 1 << 24, PG, &dst);
		if (rc) {
			CHECK_EQ(ioasid_user_mem_charged(caller.uid), used);
			break;
		}
		made++;
	}
	CHECK_EQ(rc, -ENOMEM);
	CHECK(made > 0 && made < 100);
	CHECK(ioasid_user_mem_charged(caller.uid) <= limit);
	ioasid_set_user_memory_limit(0);
	CHECK_EQ(unmap(a, 0, UINT64_MAX, NULL), 0);
	ioasid_ctx_put(ctx);
	ctx = NULL;
	ioasid_synchronize_rcu();
	CHECK_EQ(ioasid_user_mem_charged(caller.uid), before);
	munmap(buf, PG);
}

static long vfio(unsigned int cmd, unsigned long arg)
{
	return ioasid_ctx_ioctl(ctx, &caller, cmd, arg);
}

static long vfio_ioas(uint16_t op, uint32_t *id)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = op,
				       .ioas_id = *id };
	long rc = io(IOMMU_VFIO_IOAS, &cmd);

	*id = cmd.ioas_id;
	return rc;
}

static void vfio_compat(void)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ,
		.vaddr = 0x100000, .iova = 0x10000, .size = 4 * PG,
	};
	struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof(um) };
	unsigned char info[256];
	uint32_t ioas, id = 0;

	fresh();
	CHECK_EQ(vfio(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	CHECK_EQ(vfio(VFIO_IOMMU_MAP_DMA, (unsigned long)&m), -ENODEV);
	CHECK_EQ(vfio_ioas(IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
	id = 77;
	CHECK_EQ(vfio_ioas(IOMMU_VFIO_IOAS_SET, &id), -ENOENT);
	ioas = id = ioas_alloc();
	CHECK_EQ(vfio_ioas(IOMMU_VFIO_IOAS_SET, &id), 0);
	id = 0;
	CHECK_EQ(vfio_ioas(IOMMU_VFIO_IOAS_GET, &id), 0);
	CHECK_EQ(id, ioas);
	CHECK_EQ(vfio_ioas(7, &id), -EOPNOTSUPP);
	CHECK_EQ(vfio(VFIO_SET_IOMMU, 2), -EINVAL);

	/* v2: a mapping is never split. */
	CHECK_EQ(vfio(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	CHECK_EQ(vfio(VFIO_IOMMU_MAP_DMA, (unsigned long)&m), 0);
	m.flags = 4;
	CHECK_EQ(vfio(VFIO_IOMMU_MAP_DMA, (unsigned long)&m), -EINVAL);
	um.iova = 0x11000;
	um.size = PG;
	CHECK_EQ(vfio(VFIO_IOMMU_UNMAP_DMA, (unsigned long)&um), -ENOENT);
	um.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	CHECK_EQ(vfio(VFIO_IOMMU_UNMAP_DMA, (unsigned long)&um), -EINVAL);
	um.iova = um.size = 0;
	CHECK_EQ(vfio(VFIO_IOMMU_UNMAP_DMA, (unsigned long)&um), 0);
	CHECK_EQ(um.size, 4 * PG);

	/* v1: unmapping the middle page cuts the mapping in three. */
	CHECK_EQ(vfio(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	m.flags = VFIO_DMA_MAP_FLAG_READ;
	CHECK_EQ(vfio(VFIO_IOMMU_MAP_DMA, (unsigned long)&m), 0);
	um = (struct vfio_iommu_type1_dma_unmap){ .argsz = sizeof(um),
						  .iova = 0x11000, .size = PG };
	CHECK_EQ(vfio(VFIO_IOMMU_UNMAP_DMA, (unsigned long)&um), 0);
	CHECK_EQ(um.size, PG);
	CHECK(pages_at(ioas, 0x10000) == pages_at(ioas, 0x12000));
	CHECK(pages_at(ioas, 0x11000) == NULL);
	CHECK_EQ(atomic_load(&pages_at(ioas, 0x10000)->refs), 2);
	/* Nothing there: success with nothing unmapped, unlike IOAS_UNMAP. */
	CHECK_EQ(vfio(VFIO_IOMMU_UNMAP_DMA, (unsigned long)&um), 0);
	CHECK_EQ(um.size, 0);

	/* GET_INFO never writes past argsz, whatever argsz is. */
	for (uint32_t argsz = 16; argsz < 120; argsz += 4) {
		struct vfio_iommu_type1_info *i = (void *)info;

		memset(info, 0xaa, sizeof(info));
		i->argsz = argsz;
		CHECK_EQ(vfio(VFIO_IOMMU_GET_INFO, (unsigned long)info), 0);
		for (size_t b = argsz; b < sizeof(info); b++)
			if (info[b] != 0xaa) {
				CHECK(!"GET_INFO wrote past argsz");
				break;
			}
		CHECK(i->argsz > 24);
		CHECK(i->flags & VFIO_IOMMU_INFO_PGSIZES);
		if (argsz >= 20) /* only what fits in argsz comes back */
			CHECK_EQ(i->cap_offset, argsz >= i->argsz ? 24 : 0);
	}
	((struct vfio_iommu_type1_info *)info)->argsz = 12;
	CHECK_EQ(vfio(VFIO_IOMMU_GET_INFO, (unsigned long)info), -EINVAL);

	/* Destroying the compat IOAS unlinks it, even when its id recurs. */
	CHECK_EQ(unmap(ioas, 0, UINT64_MAX, NULL), 0);
	{
		struct iommu_destroy d = { .size = sizeof(d), .id = ioas };

		CHECK_EQ(io(IOMMU_DESTROY, &d), 0);
	}
	CHECK_EQ(ioas_alloc(), ioas);
	CHECK_EQ(vfio_ioas(IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
}

/* Charges stop at RLIMIT_MEMLOCK; a refused pin leaves every total as it was. */
static void accounting(void)
{
	uint64_t limit = ioasid_account_limit(getpid(), getuid()), pinned, locked;
	enum ioasid_account_mode modes[] = { IOASID_ACCOUNT_USER,
					     IOASID_ACCOUNT_MM };
	void *buf = mmap(NULL, (limit + 8) * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	CHECK(buf != MAP_FAILED);
	CHECK(limit != UINT64_MAX && limit > 4);
	for (size_t m = 0; m < 2; m++) {
		struct ioasid_pages *p;

		CHECK_EQ(ioasid_pages_alloc_user(self_mm(), getuid(),
						 (uintptr_t)buf, (limit + 8) * PG,
						 true, modes[m], &p), 0);
		CHECK_EQ(ioasid_pages_pin(p, 0, 3), 0);
		CHECK_EQ(ioasid_pages_pin(p, 2, 5), 0); /* overlaps: 2 new */
		ioasid_account_totals(getpid(), &pinned, &locked);
		CHECK_EQ(pinned, 6);
		CHECK_EQ(locked, modes[m] == IOASID_ACCOUNT_MM ? 6 : 0);
		CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf + 3 * PG), 1);

		CHECK_EQ(ioasid_pages_pin(p, 0, limit + 2), -ENOMEM);
		ioasid_account_totals(getpid(), &pinned, &locked);
		CHECK_EQ(pinned, 6);
		CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf + 7 * PG), 0);

		ioasid_pages_unpin(p, 0, 3); /* [2, 5] stays pinned */
		ioasid_account_totals(getpid(), &pinned, &locked);
		CHECK_EQ(pinned, 4);
		ioasid_pages_put(p); /* the last reference returns the rest */
		ioasid_account_totals(getpid(), &pinned, &locked);
		CHECK_EQ(pinned, 0);
		CHECK_EQ(locked, 0);
	}
	/* Memory that is not there cannot be pinned. */
	munmap((char *)buf + PG, PG);
	{
		struct ioasid_pages *p;

		CHECK_EQ(ioasid_pages_alloc_user(self_mm(), getuid(), (uintptr_t)buf,
						 4 * PG, true, IOASID_ACCOUNT_NONE,
						 &p), 0);
		CHECK_EQ(ioasid_pages_pin(p, 0, 3), -EFAULT);
		CHECK_EQ(ioasid_pages_pin(p, 2, 3), 0);
		ioasid_pages_put(p);
	}
	munmap(buf, (limit + 8) * PG);
}

/* 1 GiB of anonymous memory and of a memfd, pinned whole. */
static unsigned int resident_pages(void *p, size_t len)
{
	unsigned char vec[64];
	unsigned int n = 0;

	CHECK(len / PG <= sizeof(vec));
	CHECK_EQ(mincore(p, len, vec), 0);
	for (size_t i = 0; i < len / PG; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * A pin faults its pages in, as the kernel's does: resident when MAP
 * returns with a domain to fill; a page that cannot be had (past the end
 * of a shared file) fails the MAP with EFAULT and maps nothing.
 */
static void pin_populates(void)
{
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	char *anon = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("short", MFD_CLOEXEC);
	uint64_t iova = 1 << 24;
	char *shared;
	uint32_t a;

	CHECK(anon != MAP_FAILED && mfd >= 0);
	CHECK_EQ(ftruncate(mfd, 2 * PG), 0);
	shared = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(shared != MAP_FAILED);
	fresh();
	a = ioas_alloc();
	md.id = a;
	CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0);

	CHECK_EQ(resident_pages(anon, 16 * PG), 0);
	CHECK_EQ(map(a, RW | FIXED, (uintptr_t)anon, 16 * PG, &iova), 0);
	CHECK_EQ(resident_pages(anon, 16 * PG), 16);
	CHECK_EQ(unmap(a, iova, 16 * PG, NULL), 0);

	CHECK_EQ(map(a, RW | FIXED, (uintptr_t)shared, 2 * PG, &iova), 0);
	CHECK_EQ(resident_pages(shared, 2 * PG), 2);
	CHECK_EQ(unmap(a, iova, 2 * PG, NULL), 0);
	CHECK_EQ(map(a, RW | FIXED, (uintptr_t)shared, 4 * PG, &iova), -EFAULT);
	CHECK(pages_at(a, iova) == NULL);
	CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)shared), 0);
	munmap(shared, 4 * PG);
	munmap(anon, 16 * PG);
	close(mfd);
}

/* An address space opened while its process lived, as a daemon keeps
 * its client's. */
static struct ioasid_mm *gone_mm;

static int gone_get_mm(void *priv, struct ioasid_mm **out)
{
	*out = ioasid_mm_get(gone_mm);
	return 0;
}

/*
 * A map served after its process exited (a request the daemon reads late)
 * is EFAULT and maps nothing: into an IOAS with no domain, which pins
 * nothing and so asks whether the image is there, and into one with a
 * domain, whose pin finds it gone when it names the pages.
 */
static void map_after_exit(void)
{
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	char *buf = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ioasid_uaccess_ops ops = *caller.uaccess;
	struct ioasid_caller gone = caller;
	uint64_t iova = 1 << 24;
	uint32_t bare, with_domain;
	pid_t pid;

	CHECK(buf != MAP_FAILED);
	gone_mm = child_mm(&pid);
	CHECK(gone_mm != NULL);
	ops.get_mm = gone_get_mm;
	gone.uaccess = &ops;
	gone.pid = gone.tid = pid;
	fresh();
	bare = ioas_alloc();
	with_domain = ioas_alloc();
	md.id = with_domain;
	CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0);
	/* A call that found the image alive leaves no word of it to the
	 * calls after: the same address space is asked again. */
	{
		struct iommu_ioas_map alive = {
			.size = sizeof(alive), .flags = RW | FIXED,
			.ioas_id = bare, .user_va = (uintptr_t)buf,
			.length = PG, .iova = iova + 16 * PG,
		};

		CHECK_EQ(ioasid_ctx_ioctl(ctx, &gone, IOMMU_IOAS_MAP,
					  (unsigned long)&alive),
			 0);
	}
	child_end(pid);

	for (int i = 0; i < 2; i++) {
		struct iommu_ioas_map cmd = {
			.size = sizeof(cmd), .flags = RW | FIXED,
			.ioas_id = i ? with_domain : bare,
			.user_va = (uintptr_t)buf, .length = PG, .iova = iova,
		};

		CHECK_EQ(ioasid_ctx_ioctl(ctx, &gone, IOMMU_IOAS_MAP,
					  (unsigned long)&cmd),
			 -EFAULT);
		CHECK(pages_at(cmd.ioas_id, iova) == NULL);
	}
	ioasid_mm_put(gone_mm);
	munmap(buf, PG);
}

static void pin_one_gib(void)
{
	const uint64_t len = 1ull << 30, npages = len / PG;
	void *anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int mfd = memfd_create("pin", MFD_CLOEXEC);
	struct ioasid_pages *a, *f;
	uint64_t pinned, locked;

	CHECK(anon != MAP_FAILED && mfd >= 0);
	CHECK_EQ(ftruncate(mfd, (off_t)len), 0);
	CHECK_EQ(ioasid_pages_alloc_user(self_mm(), getuid(), (uintptr_t)anon, len,
					 true, IOASID_ACCOUNT_NONE, &a), 0);
	CHECK_EQ(ioasid_pages_alloc_file(getpid(), getuid(), dup(mfd), 0, len,
					 true, IOASID_ACCOUNT_NONE, &f), 0);
	CHECK_EQ(ioasid_pages_pin(a, 0, npages - 1), 0);
	CHECK_EQ(ioasid_pages_pin(f, 0, npages - 1), 0);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 2 * npages);
	/* Reads and writes reach the pinned memory at both ends. */
	{
		uint64_t v = 0x1122334455667788ull, r = 0;

		CHECK_EQ(ioasid_pages_rw(a, len - 8, &v, 8, true), 0);
		CHECK_EQ(*(uint64_t *)((char *)anon + len - 8), v);
		CHECK_EQ(ioasid_pages_rw(f, len - 8, &v, 8, true), 0);
		CHECK_EQ(pread(mfd, &r, 8, (off_t)(len - 8)), 8);
		CHECK_EQ(r, v);
		CHECK_EQ(ioasid_pages_rw(f, len - 4, &v, 8, false), -EINVAL);
	}
	ioasid_pages_unpin(a, 0, npages - 1);
	ioasid_pages_unpin(f, 0, npages - 1);
	ioasid_pages_put(a);
	ioasid_pages_put(f);
	ioasid_account_totals(getpid(), &pinned, &locked);
	CHECK_EQ(pinned, 0);
	munmap(anon, len);
	close(mfd);
}

int main(void)
{
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	RUN(map_errors);
	RUN(unmap_rules);
	RUN(lowest_fit);
	RUN(copy_rules);
	RUN(copies_pin_once);
	RUN(user_memory_charged);
	RUN(vfio_compat);
	RUN(accounting);
	RUN(pin_populates);
	RUN(map_after_exit);
	RUN(pin_one_gib);
	ioasid_ctx_put(ctx);
	return check_finish("ioas");
}
