/* SPDX-License-Identifier: MIT */
/*
 * Random sequences of every kind of ioctl, the arguments mostly made of
 * ids and fds earlier calls returned, sizes and addresses near the edges,
 * and flags anywhere: whatever they do, nothing may crash or hang, every
 * failure must be an errno the kernel uses, and when the context ends
 * nothing is left pinned or charged (leaks are the sanitizers' and
 * valgrind's to find).  Seeded, so a failure can be replayed:
 * IOASID_RANDOM_SEED, IOASID_RANDOM_OPS.  Built twice: in-process, and
 * through the shim and a daemon (random-via-shim).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "ioasid/uapi/ioasid.h"

/*
 * Two ways in, the same sequences: the core in-process (a unit test), or
 * /dev/iommu through the shim and a daemon (built with RANDOM_VIA_SHIM,
 * run under ioasid-run by the functional tests).
 */
#ifdef RANDOM_VIA_SHIM
#include <sys/ioctl.h>

#include "check.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"

#define PG 4096ull
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static int dev = -1;

static bool trace;

static long io(unsigned int cmd, void *arg)
{
	long rc = ioctl(dev, cmd, arg);

	rc = rc < 0 ? -errno : rc;
	if (trace)
		fprintf(stderr, "ioctl %#x op %u -> %ld\n", cmd,
			cmd == IOMMU_TEST_CMD ?
				((struct iommu_test_cmd *)arg)->op : 0,
			rc);
	return rc;
}

static void fresh(void)
{
	if (dev >= 0)
		close(dev);
	dev = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	CHECK(dev >= 0);
}

static void finish_context(void)
{
	close(dev);
	dev = -1;
}

static int file_close(int fd)
{
	return close(fd);
}

static long file_read(int fd, void *buf, size_t count)
{
	ssize_t n = read(fd, buf, count);

	return n < 0 ? -errno : n;
}

/* What the daemon holds for this process, asked on a fresh context
 * (the last close of the old one is handled before any later request). */
static void totals(uint64_t *pinned, uint64_t *locked)
{
	struct ioasid_process_accounting acc = { .size = sizeof(acc) };

	usleep(200000);
	fresh();
	CHECK_EQ(io(IOASID_PROCESS_ACCOUNTING, &acc), 0);
	finish_context();
	*pinned = acc.out_pinned;
	*locked = acc.out_locked;
}

static int setup_caller(void)
{
	trace = getenv("IOASID_RANDOM_TRACE") != NULL;
	return 0;
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}
#else
#include "ctx_harness.h"
#include "pages/account.h"

static void finish_context(void)
{
	ioasid_ctx_put(ctx);
	ctx = NULL;
}

static int file_close(int fd)
{
	return ioasid_self_close(fd);
}

static long file_read(int fd, void *buf, size_t count)
{
	return ioasid_self_read(fd, buf, count);
}

static void totals(uint64_t *pinned, uint64_t *locked)
{
	ioasid_account_totals(getpid(), pinned, locked);
}

static int setup_caller(void)
{
	return ioasid_caller_self(&caller);
}
#endif

static uint64_t seed;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* What earlier calls returned, by kind, the oldest dropped when full. */
enum kind { K_IOAS, K_HWPT, K_DEV, K_STDEV, K_VIOMMU, K_OTHER, NKINDS };
#define POOL 16
static uint32_t ids[NKINDS][POOL];
static size_t nids[NKINDS];
static int fds[POOL];
static size_t nfds;

static void keep_id(enum kind k, uint32_t id)
{
	if (id)
		ids[k][nids[k]++ % POOL] = id;
}

static void keep_fd(int fd)
{
	if (fd < 0)
		return;
	if (nfds >= POOL) {
		/* The pool is full: the oldest goes, as a program closes. */
		file_close(fds[nfds % POOL]);
	}
	fds[nfds++ % POOL] = fd;
}

/* Mostly an id of the kind asked for, sometimes another's, or anything. */
static uint32_t an_id_of(enum kind k)
{
	switch (below(10)) {
	case 0:
		return (uint32_t)(below(2) ? below(8) : rnd());
	case 1:
		k = (enum kind)below(NKINDS);
		break;
	}
	return nids[k] ? ids[k][below(MIN(nids[k], (size_t)POOL))] : 1;
}

static uint32_t an_id(void)
{
	return an_id_of((enum kind)below(NKINDS));
}

static int an_fd(void)
{
	if (!below(8) || !nfds)
		return (int)below(4) - 1;
	return fds[below(MIN(nfds, (size_t)POOL))];
}

#define SCRATCH (64 * PG)
static unsigned char *scratch;
static int memfd;
#define BASE (16ull << 20)

/* An IOVA or length: page-ish, near the mock's aperture, or an edge. */
static uint64_t an_iova(void)
{
	switch (below(8)) {
	case 0:
		return rnd();
	case 1:
		return ~0ull - below(2 * PG);
	case 2:
		return below(4) * 2048;
	default:
		return BASE + below(128) * PG / (below(4) ? 1 : 2);
	}
}

static uint64_t a_length(void)
{
	switch (below(8)) {
	case 0:
		return rnd();
	case 1:
		return 0;
	case 2:
		return below(3 * PG);
	default:
		return (1 + below(16)) * PG;
	}
}

/* Memory of ours, or none at all: an address no process can map (a
 * random one might be a sanitizer's shadow, which devices must not
 * write). */
static uint64_t a_uptr(void)
{
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return (1ull << 47) | rnd();
	default:
		return (uintptr_t)scratch + below(SCRATCH / PG) * PG +
		       (below(4) ? 0 : below(PG));
	}
}

static uint32_t some_flags(uint32_t known)
{
	switch (below(6)) {
	case 0:
		return (uint32_t)rnd();
	case 1:
		return 0;
	default:
		return (uint32_t)rnd() & known;
	}
}

static const long allowed[] = {
	0, -ENOTTY, -E2BIG, -EOPNOTSUPP, -EINVAL, -ENOENT, -EEXIST, -EBUSY,
	-EFAULT, -EOVERFLOW, -EMSGSIZE, -ENOMEM, -EPERM, -ENXIO, -ENODEV,
	-EADDRINUSE, -ENOSPC, -EBADF, -EBADFD, -ERANGE, -EIO, -EDEADLOCK,
	-EBADE, -ESPIPE,
};

static unsigned long succeeded;

static void check_rc(const char *what, long rc)
{
	if (rc >= 0)
		succeeded++;
	if (rc > 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (rc == allowed[i])
			return;
	CHECK_CASE(what, rc, 0);
}

static void one_test_cmd(void)
{
	static const uint32_t ops[] = {
		IOMMU_TEST_OP_ADD_RESERVED, IOMMU_TEST_OP_MOCK_DOMAIN,
		IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, IOMMU_TEST_OP_MD_CHECK_MAP,
		IOMMU_TEST_OP_CREATE_ACCESS, IOMMU_TEST_OP_ACCESS_PAGES,
		IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, IOMMU_TEST_OP_ACCESS_RW,
		IOMMU_TEST_OP_DIRTY, IOMMU_TEST_OP_TRIGGER_IOPF,
		IOMMU_TEST_OP_TRIGGER_VEVENT, IOMMU_TEST_OP_PASID_ATTACH,
		IOMMU_TEST_OP_PASID_REPLACE, IOMMU_TEST_OP_PASID_DETACH,
		IOMMU_TEST_OP_DMABUF_GET, IOMMU_TEST_OP_DMABUF_REVOKE,
		IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	};
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = ops[below(ARRAY_SIZE(ops))],
		.id = an_id_of(below(2) ? K_IOAS : K_STDEV),
	};
	long rc;

	switch (cmd.op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		cmd.add_reserved.start = an_iova();
		cmd.add_reserved.length = a_length();
		break;
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		cmd.mock_domain_flags.dev_flags = some_flags(
			MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID);
		break;
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		cmd.mock_domain_replace.pt_id = an_id_of(below(2) ? K_HWPT : K_IOAS);
		break;
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		cmd.check_map.iova = an_iova();
		cmd.check_map.length = a_length() % (8 * PG);
		cmd.check_map.uptr = a_uptr();
		break;
	case IOMMU_TEST_OP_CREATE_ACCESS:
		cmd.create_access.flags = some_flags(
			MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
		break;
	case IOMMU_TEST_OP_ACCESS_PAGES:
		cmd.id = (uint32_t)an_fd();
		cmd.access_pages.flags = some_flags(MOCK_FLAGS_ACCESS_WRITE);
		cmd.access_pages.iova = an_iova();
		cmd.access_pages.length = a_length() % (16 * PG);
		cmd.access_pages.uptr = a_uptr();
		break;
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		cmd.id = (uint32_t)an_fd();
		cmd.destroy_access_pages.access_pages_id = (uint32_t)below(4);
		break;
	case IOMMU_TEST_OP_ACCESS_RW:
		cmd.id = (uint32_t)an_fd();
		cmd.access_rw.flags = some_flags(MOCK_ACCESS_RW_WRITE |
						  MOCK_ACCESS_RW_SLOW_PATH);
		cmd.access_rw.iova = an_iova();
		cmd.access_rw.length = a_length() % (4 * PG);
		cmd.access_rw.uptr = a_uptr();
		break;
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		cmd.id = (uint32_t)an_fd();
		cmd.access_replace_ioas.ioas_id = an_id_of(K_IOAS);
		break;
	case IOMMU_TEST_OP_DIRTY:
		cmd.dirty.iova = an_iova();
		cmd.dirty.length = a_length() % (64 * PG);
		cmd.dirty.page_size = below(2) ? PG : 2048;
		cmd.dirty.uptr = a_uptr();
		break;
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		cmd.trigger_iopf.dev_id = an_id_of(K_DEV);
		cmd.trigger_iopf.pasid = (uint32_t)below(3);
		cmd.trigger_iopf.grpid = (uint32_t)below(4);
		cmd.trigger_iopf.addr = an_iova();
		break;
	case IOMMU_TEST_OP_TRIGGER_VEVENT:
		cmd.trigger_vevent.dev_id = an_id_of(K_DEV);
		break;
	case IOMMU_TEST_OP_PASID_ATTACH:
	case IOMMU_TEST_OP_PASID_REPLACE:
		cmd.pasid_attach.pasid = (uint32_t)below(3) * 100;
		cmd.pasid_attach.pt_id = an_id_of(below(2) ? K_HWPT : K_IOAS);
		break;
	case IOMMU_TEST_OP_PASID_DETACH:
		cmd.pasid_detach.pasid = (uint32_t)below(3) * 100;
		break;
	case IOMMU_TEST_OP_DMABUF_GET:
		cmd.dmabuf_get.length = (uint32_t)a_length() % (8 * PG);
		break;
	case IOMMU_TEST_OP_DMABUF_REVOKE:
		cmd.dmabuf_revoke.dmabuf_fd = an_fd();
		cmd.dmabuf_revoke.revoked = (uint32_t)below(2);
		break;
	}
	rc = io(IOMMU_TEST_CMD, &cmd);
	check_rc("IOMMU_TEST_CMD", rc);
	if (rc < 0)
		return;
	switch (cmd.op) {
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		keep_id(K_STDEV, cmd.mock_domain.out_stdev_id);
		keep_id(K_HWPT, cmd.mock_domain.out_hwpt_id);
		keep_id(K_DEV, cmd.mock_domain.out_idev_id);
		break;
	case IOMMU_TEST_OP_CREATE_ACCESS:
		keep_fd((int)cmd.create_access.out_access_fd);
		break;
	case IOMMU_TEST_OP_DMABUF_GET:
		keep_fd((int)rc);
		break;
	}
}

/* One ioctl of any kind, made of what came before. */
static void one_ioctl(void)
{
	long rc;

	switch (below(24)) {
	case 0: {
		struct iommu_ioas_alloc c = { .size = sizeof(c) };

		if (!(rc = io(IOMMU_IOAS_ALLOC, &c)))
			keep_id(K_IOAS, c.out_ioas_id);
		break;
	}
	case 1:
	case 2: {
		struct iommu_ioas_map c = {
			.size = sizeof(c), .ioas_id = an_id_of(K_IOAS),
			.flags = some_flags(IOMMU_IOAS_MAP_FIXED_IOVA |
					    IOMMU_IOAS_MAP_READABLE |
					    IOMMU_IOAS_MAP_WRITEABLE),
			.user_va = a_uptr(), .length = a_length() % SCRATCH,
			.iova = an_iova(),
		};

		rc = io(IOMMU_IOAS_MAP, &c);
		break;
	}
	case 3: {
		struct iommu_ioas_map_file c = {
			.size = sizeof(c), .ioas_id = an_id_of(K_IOAS),
			.flags = some_flags(IOMMU_IOAS_MAP_FIXED_IOVA |
					    IOMMU_IOAS_MAP_READABLE |
					    IOMMU_IOAS_MAP_WRITEABLE),
			.fd = below(2) ? memfd : an_fd(),
			.start = below(4) * PG, .length = a_length() % SCRATCH,
			.iova = an_iova(),
		};

		rc = io(IOMMU_IOAS_MAP_FILE, &c);
		break;
	}
	case 4:
	case 5: {
		struct iommu_ioas_unmap c = {
			.size = sizeof(c), .ioas_id = an_id_of(K_IOAS),
			.iova = below(4) ? an_iova() : 0,
			.length = below(4) ? a_length() : ~0ull,
		};

		rc = io(IOMMU_IOAS_UNMAP, &c);
		break;
	}
	case 6: {
		struct iommu_ioas_copy c = {
			.size = sizeof(c), .dst_ioas_id = an_id_of(K_IOAS),
			.src_ioas_id = an_id_of(K_IOAS),
			.flags = some_flags(IOMMU_IOAS_MAP_FIXED_IOVA |
					    IOMMU_IOAS_MAP_READABLE |
					    IOMMU_IOAS_MAP_WRITEABLE),
			.length = a_length(), .src_iova = an_iova(),
			.dst_iova = an_iova(),
		};

		rc = io(IOMMU_IOAS_COPY, &c);
		break;
	}
	case 7: {
		struct iommu_iova_range r[4] = {
			{ an_iova(), an_iova() }, { an_iova(), an_iova() },
		};
		struct iommu_ioas_allow_iovas c = {
			.size = sizeof(c), .ioas_id = an_id_of(K_IOAS),
			.num_iovas = (uint32_t)below(3),
			.allowed_iovas = (uintptr_t)r,
		};

		rc = io(below(2) ? IOMMU_IOAS_ALLOW_IOVAS :
				   IOMMU_IOAS_IOVA_RANGES,
			&c);
		break;
	}
	case 8: {
		struct iommu_destroy c = { .size = sizeof(c), .id = an_id() };

		rc = io(IOMMU_DESTROY, &c);
		break;
	}
	case 9: {
		struct iommu_hwpt_selftest data = {
			.iotlb = IOMMU_TEST_IOTLB_DEFAULT,
			.pagetable_type = (uint32_t)below(3),
		};
		struct iommu_hwpt_alloc c = {
			.size = sizeof(c), .dev_id = an_id_of(K_DEV),
			.pt_id = an_id_of(below(3) ? K_IOAS :
					  below(2) ? K_HWPT : K_VIOMMU),
			.flags = some_flags(IOMMU_HWPT_ALLOC_NEST_PARENT |
					    IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
					    IOMMU_HWPT_ALLOC_PASID),
		};

		if (below(2)) {
			c.data_type = IOMMU_HWPT_DATA_SELFTEST;
			c.data_len = sizeof(data);
			c.data_uptr = (uintptr_t)&data;
		}
		if (!(rc = io(IOMMU_HWPT_ALLOC, &c)))
			keep_id(K_HWPT, c.out_hwpt_id);
		break;
	}
	case 10: {
		struct iommu_hwpt_invalidate_selftest inv[2] = {
			{ .flags = some_flags(IOMMU_TEST_INVALIDATE_FLAG_ALL),
			  .iotlb_id = (uint32_t)below(5) },
		};
		struct iommu_hwpt_invalidate c = {
			.size = sizeof(c),
			.hwpt_id = an_id_of(below(2) ? K_HWPT : K_VIOMMU),
			.data_uptr = (uintptr_t)inv,
			.data_type = below(2) ? IOMMU_HWPT_INVALIDATE_DATA_SELFTEST :
						(uint32_t)rnd(),
			.entry_len = (uint32_t)(below(4) ? sizeof(inv[0]) :
							   below(32)),
			.entry_num = (uint32_t)below(3),
		};

		rc = io(IOMMU_HWPT_INVALIDATE, &c);
		break;
	}
	case 11: {
		struct iommu_hwpt_set_dirty_tracking c = {
			.size = sizeof(c), .hwpt_id = an_id_of(K_HWPT),
			.flags = some_flags(IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
		};

		rc = io(IOMMU_HWPT_SET_DIRTY_TRACKING, &c);
		break;
	}
	case 12: {
		struct iommu_hwpt_get_dirty_bitmap c = {
			.size = sizeof(c), .hwpt_id = an_id_of(K_HWPT),
			.flags = some_flags(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR),
			.iova = an_iova(), .length = a_length() % (64 * PG),
			.page_size = below(4) ? PG : below(3) * 2048,
			.data = a_uptr(),
		};

		rc = io(IOMMU_HWPT_GET_DIRTY_BITMAP, &c);
		break;
	}
	case 13: {
		unsigned char info[64];
		struct iommu_hw_info c = {
			.size = sizeof(c), .dev_id = an_id_of(K_DEV),
			.data_len = (uint32_t)below(sizeof(info) + 1),
			.data_uptr = (uintptr_t)info,
		};

		rc = io(IOMMU_GET_HW_INFO, &c);
		break;
	}
	case 14: {
		struct iommu_fault_alloc c = {
			.size = sizeof(c), .flags = some_flags(0),
		};

		if (!(rc = io(IOMMU_FAULT_QUEUE_ALLOC, &c))) {
			keep_id(K_OTHER, c.out_fault_id);
			keep_fd((int)c.out_fault_fd);
		}
		break;
	}
	case 15: {
		struct iommu_viommu_alloc c = {
			.size = sizeof(c), .dev_id = an_id_of(K_DEV),
			.hwpt_id = an_id_of(K_HWPT),
			.type = below(4) ? IOMMU_VIOMMU_TYPE_SELFTEST :
					   (uint32_t)below(3),
		};

		if (!(rc = io(IOMMU_VIOMMU_ALLOC, &c)))
			keep_id(K_VIOMMU, c.out_viommu_id);
		break;
	}
	case 16: {
		struct iommu_vdevice_alloc c = {
			.size = sizeof(c), .viommu_id = an_id_of(K_VIOMMU),
			.dev_id = an_id_of(K_DEV), .virt_id = below(4),
		};

		if (!(rc = io(IOMMU_VDEVICE_ALLOC, &c)))
			keep_id(K_OTHER, c.out_vdevice_id);
		break;
	}
	case 17: {
		struct iommu_veventq_alloc c = {
			.size = sizeof(c), .viommu_id = an_id_of(K_VIOMMU),
			.type = below(4) ? IOMMU_VEVENTQ_TYPE_SELFTEST :
					   (uint32_t)below(3),
			.veventq_depth = (uint32_t)below(4),
		};

		if (!(rc = io(IOMMU_VEVENTQ_ALLOC, &c))) {
			keep_id(K_OTHER, c.out_veventq_id);
			keep_fd((int)c.out_veventq_fd);
		}
		break;
	}
	case 18: {
		struct iommu_hw_queue_alloc c = {
			.size = sizeof(c), .viommu_id = an_id_of(K_VIOMMU),
			.type = below(4) ? IOMMU_HW_QUEUE_TYPE_SELFTEST :
					   (uint32_t)below(3),
			.index = (uint32_t)below(3),
			.nesting_parent_iova = an_iova(),
			.length = a_length() % (4 * PG),
		};

		if (!(rc = io(IOMMU_HW_QUEUE_ALLOC, &c)))
			keep_id(K_OTHER, c.out_hw_queue_id);
		break;
	}
	case 19:
	case 20: {
		struct ioasid_device_attach c = {
			.size = sizeof(c), .dev_id = an_id_of(K_DEV),
			.pasid = below(3) ? 0 : (uint32_t)below(3) * 100,
			.pt_id = an_id_of(below(2) ? K_IOAS : K_HWPT),
		};

		rc = io(below(3) ? IOASID_DEVICE_ATTACH : IOASID_DEVICE_DETACH,
			&c);
		break;
	}
	case 21: {
		struct ioasid_device_dma c = {
			.size = sizeof(c), .dev_id = an_id_of(K_DEV),
			.flags = some_flags(IOASID_DMA_WRITE),
			.iova = an_iova(), .length = a_length() % (8 * PG),
			.uptr = a_uptr(),
		};

		rc = io(IOASID_DEVICE_DMA, &c);
		break;
	}
	default:
		one_test_cmd();
		return;
	}
	check_rc("an ioctl", rc);
}

/* Reads of the files we were given, as a program polling them would. */
static void one_read(void)
{
	unsigned char buf[128];
	long rc;

	if (!nfds)
		return;
	rc = file_read(an_fd(), buf, below(sizeof(buf) + 1));
	check_rc("a read", rc);
}

int main(void)
{
	const char *s = getenv("IOASID_RANDOM_SEED");
	const char *o = getenv("IOASID_RANDOM_OPS");
	unsigned long ops = o ? strtoul(o, NULL, 0) : 10000;
	uint64_t pinned, locked;

	seed = s ? strtoull(s, NULL, 0) : 0x2545f4914f6cdd1dull;
	CHECK_EQ(setup_caller(), 0);
	/* With a guard after it: a range running off its end must meet
	 * memory nobody may pin, not whatever the allocator put there. */
	scratch = mmap(NULL, 2 * SCRATCH, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	CHECK(scratch != MAP_FAILED &&
	      !mprotect(scratch + SCRATCH, SCRATCH, PROT_NONE));
	memfd = memfd_create("random", MFD_CLOEXEC);
	CHECK(scratch != MAP_FAILED && memfd >= 0 &&
	      !ftruncate(memfd, SCRATCH));
	/* Several contexts one after the other, each left to its end. */
	for (int round = 0; round < 4; round++) {
		fresh();
		memset(nids, 0, sizeof(nids));
		/* Material to start from: an IOAS with a mock device on it,
		 * and an emulated VT-d device. */
		keep_id(K_IOAS, ioas_alloc());
		{
			struct iommu_test_cmd md = {
				.size = sizeof(md),
				.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
				.id = ids[K_IOAS][0],
				.mock_domain_flags.dev_flags =
					MOCK_FLAGS_DEVICE_PASID,
			};
			struct ioasid_device_alloc vtd = {
				.size = sizeof(vtd),
				.model = IOASID_DEVICE_VTD,
			};

			CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0);
			keep_id(K_STDEV, md.mock_domain.out_stdev_id);
			keep_id(K_HWPT, md.mock_domain.out_hwpt_id);
			keep_id(K_DEV, md.mock_domain.out_idev_id);
			CHECK_EQ(io(IOASID_DEVICE_ALLOC, &vtd), 0);
			keep_id(K_DEV, vtd.out_dev_id);
		}
		for (unsigned long i = 0; i < ops; i++) {
			if (below(16))
				one_ioctl();
			else
				one_read();
		}
		for (size_t i = 0; i < MIN(nfds, (size_t)POOL); i++)
			file_close(fds[i]);
		nfds = 0;
		finish_context();
		totals(&pinned, &locked);
		CHECK_EQ(pinned, 0);
		CHECK_EQ(locked, 0);
	}
	munmap(scratch, 2 * SCRATCH);
	close(memfd);
	printf("random: seed %#llx, %lu ops per context, %lu succeeded\n",
	       (unsigned long long)(s ? strtoull(s, NULL, 0) :
					0x2545f4914f6cdd1dull),
	       ops, succeeded);
#ifdef RANDOM_VIA_SHIM
	/* One case, for the functional suite's count. */
	printf("%d passed, %d failed, 0 skipped\n", !check_failures,
	       !!check_failures);
#endif
	return check_finish("random");
}
