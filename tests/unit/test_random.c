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

#include "core/ioctl_desc.h"
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

/* What earlier calls returned, by kind (IOASID_ID_* bit), the oldest
 * dropped when full. */
#define NKINDS __builtin_popcount(IOASID_ID_ANY)
#define POOL 16
static uint32_t ids[NKINDS][POOL];
static size_t nids[NKINDS];
static int fds[POOL];
static size_t nfds;

static unsigned int kind_index(uint32_t kind_bit)
{
	return (unsigned int)__builtin_ctz(kind_bit);
}

static void keep_id(uint32_t kind_bit, uint32_t id)
{
	unsigned int k = kind_index(kind_bit);

	if (id && k < NKINDS)
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

/* Mostly an id of one of the kinds asked for, sometimes another's, or
 * anything. */
static uint32_t an_id_of(uint64_t kinds)
{
	unsigned int k, pick;

	switch (below(10)) {
	case 0:
		return (uint32_t)(below(2) ? below(8) : rnd());
	case 1:
		kinds = IOASID_ID_ANY;
		break;
	}
	pick = (unsigned int)below((uint64_t)__builtin_popcountll(kinds));
	for (k = 0; k < NKINDS; k++)
		if (((kinds >> k) & 1) && !pick--)
			break;
	if (k >= NKINDS)
		return 1;
	return nids[k] ? ids[k][below(MIN(nids[k], (size_t)POOL))] : 1;
}

#define SCRATCH (64 * PG)
static unsigned char *scratch;
static int memfd;
#define BASE (16ull << 20)

static int an_fd(void)
{
	if (!below(4))
		return memfd;
	if (!below(8) || !nfds)
		return (int)below(4) - 1;
	return fds[below(MIN(nfds, (size_t)POOL))];
}

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

static uint32_t some_flags(uint64_t known)
{
	switch (below(6)) {
	case 0:
		return (uint32_t)rnd();
	case 1:
		return 0;
	default:
		return (uint32_t)(rnd() & known);
	}
}

static uint64_t a_value_of(const uint64_t *values, unsigned int n)
{
	if (n && below(16))
		return values[below(n)];
	return below(2) ? below(8) : rnd();
}

/*
 * A value for one field, made from what its table entry says it is.
 * Pointer fields are filled in afterwards, once the counts they depend
 * on are known.
 */
static uint64_t invent(const struct ioasid_ioctl_desc *d,
		       const struct ioasid_field *f)
{
	switch (f->kind) {
	case IOASID_F_SIZE:
		return below(16) ? d->size : d->min_size + below(16) - 1;
	case IOASID_F_FLAGS:
		return some_flags(d->flags_mask);
	case IOASID_F_BITS:
		return some_flags(f->arg);
	case IOASID_F_ID:
		return an_id_of(f->arg);
	case IOASID_F_FD:
		return (uint32_t)an_fd();
	case IOASID_F_IOVA:
		return an_iova();
	case IOASID_F_LENGTH:
		return a_length();
	case IOASID_F_VA:
		return a_uptr();
	case IOASID_F_COUNT:
		return below(8) ? below(3) : rnd();
	case IOASID_F_ENUM:
		return a_value_of(f->values, f->nvalues);
	case IOASID_F_VALUE:
		return below(4) ? below(4) : rnd();
	default: /* reserved and output fields: mostly 0 */
		return below(32) ? 0 : rnd();
	}
}

/* Buffers pointer fields name, made of elements their entry describes. */
#define ARENA 4096
static unsigned char arena[ARENA];

static void invent_elements(const struct ioasid_struct_desc *elem,
			    unsigned char *buf, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (unsigned char)rnd();
	if (!elem->nfields)
		return;
	for (uint64_t at = 0; at + elem->size <= len; at += elem->size)
		for (unsigned int i = 0; i < elem->nfields; i++)
			ioasid_field_set(&elem->fields[i], buf + at,
					 invent(NULL, &elem->fields[i]));
}

static uint64_t invent_ptr(const struct ioasid_field *f, const void *image,
			   size_t len, size_t *arena_used)
{
	uint64_t need = ioasid_ptr_extent(f, image, len);
	unsigned char *buf = arena + *arena_used;

	if (!below(8) || need > ARENA - *arena_used)
		return a_uptr();
	if (f->ptr.dir & IOASID_PTR_IN)
		invent_elements(f->ptr.elem, buf, need);
	*arena_used += need;
	return (uintptr_t)buf;
}

/* Keep what a call that worked made: ids and descriptors, per the table. */
static void harvest(const struct ioasid_ioctl_desc *d, const void *image,
		    uint32_t op, long rc)
{
	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];

		if (!ioasid_field_active(d, f, op))
			continue;
		if (f->kind == IOASID_F_OUT_ID)
			keep_id((uint32_t)f->arg,
				(uint32_t)ioasid_field_get(f, image, d->size));
		else if (f->kind == IOASID_F_OUT_FD)
			keep_fd((int)ioasid_field_get(f, image, d->size));
	}
	if (rc > 0 && d->ret_fd_op && d->ret_fd_op == op)
		keep_fd((int)rc);
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

/* One ioctl of any kind the table lists, made of what came before. */
static void one_ioctl(void)
{
	const struct ioasid_ioctl_desc *d =
		ioasid_ioctl_desc_at((unsigned int)below(ioasid_ioctl_desc_count()));
	_Alignas(8) unsigned char image[256] = { 0 };
	const struct ioasid_field *op_field;
	size_t arena_used = 0;
	uint32_t op = 0;
	long rc;

	/* Not at random: a device another program uses could go. */
	if (d->attrs & IOASID_IOCTL_MACHINE)
		return;
	if (d->arg == IOASID_ARG_VALUE || d->arg == IOASID_ARG_NONE ||
	    d->arg == IOASID_ARG_S32 || d->arg == IOASID_ARG_STRING) {
		rc = io(d->cmd, (void *)(uintptr_t)a_value_of(d->values,
							       d->nvalues));
		check_rc(d->name, rc);
		return;
	}
	/* The op first (the __u32 after size): it decides which of the
	 * union's fields are there. */
	op_field = ioasid_ioctl_desc_op_field(d);
	if (op_field) {
		op = (uint32_t)invent(d, op_field);
		ioasid_field_set(op_field, image, op);
	}
	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];

		if (f == op_field || ioasid_field_is_ptr(f) ||
		    !ioasid_field_active(d, f, op))
			continue;
		ioasid_field_set(f, image, invent(d, f));
	}
	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];

		if (ioasid_field_is_ptr(f) && ioasid_field_active(d, f, op))
			ioasid_field_set(f, image, invent_ptr(f, image, d->size,
							       &arena_used));
	}
	rc = io(d->cmd, image);
	check_rc(d->name, rc);
	if (rc >= 0)
		harvest(d, image, op, rc);
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
		keep_id(IOASID_ID_IOAS, ioas_alloc());
		{
			struct iommu_test_cmd md = {
				.size = sizeof(md),
				.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
				.id = ids[kind_index(IOASID_ID_IOAS)][0],
				.mock_domain_flags.dev_flags =
					MOCK_FLAGS_DEVICE_PASID,
			};
			struct ioasid_device_alloc vtd = {
				.size = sizeof(vtd),
				.model = IOASID_DEVICE_VTD,
			};

			CHECK_EQ(io(IOMMU_TEST_CMD, &md), 0);
			keep_id(IOASID_ID_STDEV, md.mock_domain.out_stdev_id);
			keep_id(IOASID_ID_HWPT, md.mock_domain.out_hwpt_id);
			keep_id(IOASID_ID_DEV, md.mock_domain.out_idev_id);
			CHECK_EQ(io(IOASID_DEVICE_ALLOC, &vtd), 0);
			keep_id(IOASID_ID_DEV, vtd.out_dev_id);
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
	printf("# random: seed %#llx, %lu ops per context, %lu succeeded\n",
	       (unsigned long long)(s ? strtoull(s, NULL, 0) :
					0x2545f4914f6cdd1dull),
	       ops, succeeded);
#ifdef RANDOM_VIA_SHIM
	/* One case, for the functional suite's count; it cannot be
	 * skipped. */
	printf("%d passed, %d failed, %d skipped\n", !check_failures,
	       !!check_failures, 0);
#endif
	return check_finish("random");
}
