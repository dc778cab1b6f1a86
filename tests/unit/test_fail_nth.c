/* SPDX-License-Identifier: MIT */
/*
 * Fail at every allocation: a scenario of IOAS and access ioctls runs
 * again and again, the Nth allocation failing on run N, until a run needs
 * no more than N.  Whatever fails must fail cleanly: an error, no crash,
 * a failed call changing nothing we can see, and after teardown no pin,
 * no charge and (checked by LeakSanitizer and valgrind) no leak.
 *
 * Allocations are counted by wrapping malloc, calloc, realloc and free in
 * this executable, which the library's calls bind to; the real allocator
 * is the next one, libc's.  The wrapper also keeps the number of live
 * blocks, so a leak on an error path shows as a run that ends with more
 * than it began with.  ASan and valgrind put their allocators before ours:
 * under them nothing is injected, and the run is a plain one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "check.h"
#include "core/context.h"
#include "iommu/access.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "iopt/ioas.h"
#include "pages/account.h"
#include "pages/frame.h"
#include "core/user_limits.h"
#include "pages/pages.h"
#include "self_mm.h"

#ifdef __SANITIZE_ADDRESS__
/* ASan's allocator comes before any other: nothing to inject into. */
int main(void)
{
	return check_skip_all("needs the plain allocator: ASan's comes first");
}
#else

/* ---- the failing allocator ------------------------------------------- */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void (*next_free)(void *);
static long live; /* blocks handed out and not yet freed */

static long countdown;     /* fail when it reaches 0; <0: off */
static unsigned long seen; /* allocations since arming */
static bool injected;

/* dlsym may allocate before we know the allocator: a small bump arena. */
static char bootstrap[4096];
static size_t bootstrap_used;

static void *bootstrap_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (bootstrap_used + n > sizeof(bootstrap))
		return NULL;
	p = bootstrap + bootstrap_used;
	bootstrap_used += n;
	return p;
}

static bool fail_now(void)
{
	if (countdown < 0)
		return false;
	seen++;
	if (countdown-- == 0) {
		injected = true;
		return true;
	}
	return false;
}

static void resolve(void)
{
	static bool resolving;

	if (next_malloc || resolving)
		return;
	resolving = true;
	next_calloc = dlsym(RTLD_NEXT, "calloc");
	next_malloc = dlsym(RTLD_NEXT, "malloc");
	next_realloc = dlsym(RTLD_NEXT, "realloc");
	next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	next_free = dlsym(RTLD_NEXT, "free");
	resolving = false;
}

static bool from_bootstrap(const void *p)
{
	return (const char *)p >= bootstrap &&
	       (const char *)p < bootstrap + sizeof(bootstrap);
}

static void *counted(void *p)
{
	if (p)
		__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
	return p;
}

void *malloc(size_t n)
{
	resolve();
	if (!next_malloc)
		return bootstrap_alloc(n);
	if (fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return counted(next_malloc(n));
}

void *calloc(size_t n, size_t size)
{
	resolve();
	if (!next_calloc)
		return bootstrap_alloc(n * size); /* the arena is zeroed */
	if (fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return counted(next_calloc(n, size));
}

void *realloc(void *p, size_t n)
{
	void *q;

	resolve();
	if (!p)
		return malloc(n);
	if (fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	q = next_realloc(p, n);
	if (!q && !n)
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	return q;
}

void *aligned_alloc(size_t align, size_t n)
{
	resolve();
	if (!next_aligned_alloc)
		return NULL;
	if (fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return counted(next_aligned_alloc(align, n));
}

/* A page table's page comes from the library's own slabs; each counts
 * as an allocation (src/pt/table_page.c asks this, where defined). */
int ioasid_fault_page(void)
{
	return fail_now();
}

void free(void *p)
{
	if (!p || from_bootstrap(p))
		return;
	resolve();
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	next_free(p);
}

static void arm(long nth)
{
	seen = 0;
	injected = false;
	countdown = nth;
}

static void disarm(void)
{
	countdown = -1;
}

/* ---- the scenario ------------------------------------------------------ */

#define PG 4096ull
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA

static struct ioasid_caller caller;
static struct ioasid_ctx *ctx;
static char *buf;
static int mfd;

static long io(unsigned int cmd, void *arg)
{
	return ioasid_ctx_ioctl(ctx, &caller, cmd, (unsigned long)arg);
}

static int count_area(struct iopt_area *area, void *arg)
{
	(void)area;
	(*(unsigned int *)arg)++;
	return 0;
}

/* How many areas the IOAS has, or -1 when there is no such IOAS. */
static int areas_of(uint32_t id)
{
	struct ioasid_ioas *ioas;
	unsigned int n = 0;
	long saved = countdown;

	countdown = -1; /* looking is not part of the run */
	if (ioasid_ioas_get(ctx, id, &ioas)) {
		countdown = saved;
		return -1;
	}
	iopt_for_each_area(&ioas->iopt, count_area, &n);
	ioasid_ioas_put(ctx, ioas);
	countdown = saved;
	return (int)n;
}

/*
 * Eight pages marked dirty are all reported by a harvest, or, when the
 * harvest fails, by the next one: a failure clears nothing.
 */
static void dirty_harvest(uint32_t hwpt)
{
	struct iommu_hwpt_set_dirty_tracking on = {
		.size = sizeof(on), .hwpt_id = hwpt,
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	uint8_t marks = 0xff, got = 0;
	struct iommu_test_cmd mark = {
		.size = sizeof(mark), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = 0x1100000, .length = 8 * PG,
			   .page_size = PG, .uptr = (uintptr_t)&marks },
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .hwpt_id = hwpt, .iova = 0x1100000,
		.length = 8 * PG, .page_size = PG, .data = (uintptr_t)&got,
	};

	long rc;

	if (io(IOMMU_HWPT_SET_DIRTY_TRACKING, &on) ||
	    io(IOMMU_TEST_CMD, &mark))
		return;
	rc = io(IOMMU_HWPT_GET_DIRTY_BITMAP, &get);
	if (rc == -EINVAL)
		return; /* the range was never mapped: its map failed */
	if (rc) {
		CHECK_EQ(rc, -ENOMEM);
		got = 0;
		CHECK_EQ(io(IOMMU_HWPT_GET_DIRTY_BITMAP, &get), 0);
	}
	CHECK_EQ(got, 0xff);
}

/* An ioctl that makes an object: made, or no object more than before. */
static long make(unsigned int cmd, void *arg)
{
	unsigned int objs = ioasid_ctx_object_count(ctx);
	long rc = io(cmd, arg);

	if (rc < 0)
		CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
	return rc;
}

/*
 * What lives on a vIOMMU: a vDEVICE, an event queue with one event in
 * it, and a HW queue pinning a page of a's.  Left for the context's end.
 */
static void viommu_objects(uint32_t a, uint32_t stdev, uint32_t idev)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc parent = {
		.size = sizeof(parent), .dev_id = idev, .pt_id = a,
		.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
	};
	struct iommu_viommu_alloc viommu = {
		.size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_SELFTEST,
		.dev_id = idev,
	};
	struct iommu_vdevice_alloc vdev = {
		.size = sizeof(vdev), .dev_id = idev, .virt_id = 0x99,
	};
	struct iommu_veventq_alloc q = {
		.size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
		.veventq_depth = 2,
	};
	struct iommu_hwpt_alloc nested = {
		.size = sizeof(nested), .dev_id = idev,
		.data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
	};
	struct iommu_hw_queue_alloc hwq = {
		.size = sizeof(hwq), .type = IOMMU_HW_QUEUE_TYPE_SELFTEST,
		.nesting_parent_iova = 0x1100000, .length = PG,
	};

	if (make(IOMMU_HWPT_ALLOC, &parent))
		return;
	viommu.hwpt_id = parent.out_hwpt_id;
	if (make(IOMMU_VIOMMU_ALLOC, &viommu))
		return;
	vdev.viommu_id = q.viommu_id = nested.pt_id = hwq.viommu_id =
		viommu.out_viommu_id;
	make(IOMMU_HW_QUEUE_ALLOC, &hwq);
	if (make(IOMMU_VDEVICE_ALLOC, &vdev) ||
	    make(IOMMU_VEVENTQ_ALLOC, &q))
		return;
	if (!make(IOMMU_HWPT_ALLOC, &nested)) {
		struct iommu_test_cmd rep = {
			.size = sizeof(rep),
			.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
			.mock_domain_replace.pt_id = nested.out_hwpt_id,
		};
		struct iommu_test_cmd trigger = {
			.size = sizeof(trigger),
			.op = IOMMU_TEST_OP_TRIGGER_VEVENT,
			.trigger_vevent.dev_id = idev,
		};
		unsigned char rec[12];

		if (!io(IOMMU_TEST_CMD, &rep) && !io(IOMMU_TEST_CMD, &trigger))
			CHECK_EQ(ioasid_self_read((int)q.out_veventq_fd, rec,
						  sizeof(rec)),
				 sizeof(rec));
	}
	CHECK_EQ(ioasid_self_close((int)q.out_veventq_fd), 0);
}

/* Each step either works or fails, and a failed one leaves no trace. */
static void scenario(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	uint32_t a = 0, b = 0, stdev = 0, idev = 0;
	int access = -1;
	long rc;

	if (io(IOMMU_IOAS_ALLOC, &alloc) == 0)
		a = alloc.out_ioas_id;
	if (io(IOMMU_IOAS_ALLOC, &alloc) == 0)
		b = alloc.out_ioas_id;
	if (!a || !b)
		goto out;
	{
		struct iommu_ioas_map map = {
			.size = sizeof(map), .flags = RW | FIXED, .ioas_id = a,
			.user_va = (uintptr_t)buf, .length = 16 * PG,
			.iova = 0x1100000,
		};
		int before = areas_of(a);

		rc = io(IOMMU_IOAS_MAP, &map);
		CHECK(rc == 0 || areas_of(a) == before);
	}
	{
		struct iommu_ioas_map_file map = {
			.size = sizeof(map), .flags = RW | FIXED, .ioas_id = a,
			.fd = mfd, .length = 8 * PG, .iova = 0x1200000,
		};
		int before = areas_of(a);

		rc = io(IOMMU_IOAS_MAP_FILE, &map);
		CHECK(rc == 0 || areas_of(a) == before);
	}
	{
		struct iommu_ioas_copy copy = {
			.size = sizeof(copy), .flags = RW,
			.dst_ioas_id = b, .src_ioas_id = a, .length = 8 * PG,
			.src_iova = 0x1100000,
		};
		int before = areas_of(b);

		rc = io(IOMMU_IOAS_COPY, &copy);
		CHECK(rc == 0 || areas_of(b) == before);
	}
	{
		/* A device: an automatic domain, filled with a's areas. */
		struct iommu_test_cmd md = {
			.size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
			.id = a,
		};
		unsigned int objs = ioasid_ctx_object_count(ctx);

		rc = io(IOMMU_TEST_CMD, &md);
		if (rc) {
			CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
			CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf),
				 0);
		} else {
			stdev = md.mock_domain.out_stdev_id;
			idev = md.mock_domain.out_idev_id;
		}
	}
	{
		/* An emulated VT-d device, plugged in and attached: a domain
		 * of its own, its interrupt window reserved. */
		struct ioasid_device_alloc alloc_dev = {
			.size = sizeof(alloc_dev), .model = IOASID_DEVICE_VTD,
		};
		unsigned int objs = ioasid_ctx_object_count(ctx);

		rc = io(IOASID_DEVICE_ALLOC, &alloc_dev);
		if (rc) {
			CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
		} else {
			struct ioasid_device_attach att = {
				.size = sizeof(att),
				.dev_id = alloc_dev.out_dev_id, .pt_id = a,
			};

			objs = ioasid_ctx_object_count(ctx);
			if (io(IOASID_DEVICE_ATTACH, &att))
				CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
		}
	}
	{
		/* A map filled into the domain as it arrives. */
		struct iommu_ioas_map map = {
			.size = sizeof(map), .flags = RW | FIXED, .ioas_id = a,
			.user_va = (uintptr_t)buf + 8 * PG, .length = 4 * PG,
			.iova = 0x1300000,
		};
		int before = areas_of(a);

		rc = io(IOMMU_IOAS_MAP, &map);
		CHECK(rc == 0 || areas_of(a) == before);
	}
	{
		/* A ring, made whole or not at all, and a map entered through
		 * it: there, or no trace of it. */
		struct ioasid_ring_alloc ra = { .size = sizeof(ra),
						.entries = 2 };
		unsigned int objs = ioasid_ctx_object_count(ctx);
		struct ioasid_ring_entry *e;
		int fd;

		rc = io(IOASID_RING_ALLOC, &ra);
		if (rc)
			CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
		fd = rc ? -1 :
			  ioasid_ctx_mmap(ctx, ra.out_mmap_offset,
					  ra.out_mmap_length,
					  PROT_READ | PROT_WRITE, MAP_SHARED);
		e = fd < 0 ? MAP_FAILED :
			     mmap(NULL, ra.out_mmap_length,
				  PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (fd >= 0)
			close(fd);
		if (e != MAP_FAILED) {
			struct iommu_ioas_map map = {
				.size = sizeof(map), .flags = RW | FIXED,
				.ioas_id = a, .length = 2 * PG,
				.user_va = (uintptr_t)buf + 12 * PG,
				.iova = 0x1500000,
			};
			struct ioasid_ring_enter enter = {
				.size = sizeof(enter),
				.ring_id = ra.out_ring_id, .count = 1,
			};
			int before = areas_of(a);

			e[0].cmd = IOMMU_IOAS_MAP;
			memcpy(e[0].arg, &map, sizeof(map));
			rc = io(IOASID_RING_ENTER, &enter);
			CHECK(rc == 0 || areas_of(a) == before);
			CHECK(rc != 0 || e[0].result == 0 ||
			      areas_of(a) == before);
			munmap(e, ra.out_mmap_length);
			CHECK_EQ(ioasid_ctx_munmap(ctx, ra.out_mmap_offset), 0);
		}
	}
	{
		/* A dma-buf imported into the domains, then revoked. */
		struct iommu_test_cmd get = {
			.size = sizeof(get), .op = IOMMU_TEST_OP_DMABUF_GET,
			.dmabuf_get = { .length = 2 * PG,
					.open_flags = O_CLOEXEC },
		};
		long dfd = io(IOMMU_TEST_CMD, &get);

		if (dfd >= 0) {
			struct iommu_ioas_map_file map = {
				.size = sizeof(map), .flags = RW | FIXED,
				.ioas_id = a, .fd = (int)dfd,
				.length = 2 * PG, .iova = 0x1400000,
			};
			struct iommu_test_cmd revoke = {
				.size = sizeof(revoke),
				.op = IOMMU_TEST_OP_DMABUF_REVOKE,
				.dmabuf_revoke = { .dmabuf_fd = (int)dfd,
						   .revoked = 1 },
			};
			int before = areas_of(a);

			rc = io(IOMMU_IOAS_MAP_FILE, &map);
			CHECK(rc == 0 || areas_of(a) == before);
			CHECK_EQ(io(IOMMU_TEST_CMD, &revoke), 0);
			CHECK_EQ(ioasid_self_close((int)dfd), 0);
		}
	}
	if (idev) {
		/* A HWPT of the user's, and the device moved onto it. */
		struct iommu_hwpt_alloc hwpt = {
			.size = sizeof(hwpt), .dev_id = idev, .pt_id = a,
			.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		};
		unsigned int objs = ioasid_ctx_object_count(ctx);

		rc = io(IOMMU_HWPT_ALLOC, &hwpt);
		if (rc) {
			CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
		} else {
			struct iommu_test_cmd rep = {
				.size = sizeof(rep),
				.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				.id = stdev,
				.mock_domain_replace.pt_id = hwpt.out_hwpt_id,
			};

			io(IOMMU_TEST_CMD, &rep);
			dirty_harvest(hwpt.out_hwpt_id);
		}
		viommu_objects(a, stdev, idev);
	}
	{
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
			.id = a,
			.create_access.flags =
				MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
		};
		unsigned int objs = ioasid_ctx_object_count(ctx);

		if (io(IOMMU_TEST_CMD, &cmd) == 0)
			access = (int)cmd.create_access.out_access_fd;
		else
			CHECK_EQ(ioasid_ctx_object_count(ctx), objs);
	}
	if (access >= 0) {
		struct iommu_test_cmd pages = {
			.size = sizeof(pages), .op = IOMMU_TEST_OP_ACCESS_PAGES,
			.id = (uint32_t)access,
			.access_pages = { .iova = 0x1100000, .length = 4 * PG,
					  .uptr = (uintptr_t)buf },
		};
		char tmp[64];
		struct iommu_test_cmd rw = {
			.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
			.id = (uint32_t)access,
			.access_rw = { .iova = 0x1200000 + 100, .length = 64,
				       .uptr = (uintptr_t)tmp },
		};
		uint64_t pinned, locked, pinned_before;

		ioasid_account_totals(getpid(), &pinned_before, &locked);
		rc = io(IOMMU_TEST_CMD, &pages);
		ioasid_account_totals(getpid(), &pinned, &locked);
		CHECK(rc == 0 || pinned == pinned_before);
		io(IOMMU_TEST_CMD, &rw);
	}
	{
		/* Unmapping all of a notifies the access first. */
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = a, .length = UINT64_MAX,
		};

		int before = areas_of(a);

		/* All of it goes; or the injected failure is the answer and
		 * what it did not reach is still there; or an access that
		 * could not let go of its pins (its earlier set-up failed)
		 * keeps everything (EBUSY). */
		rc = io(IOMMU_IOAS_UNMAP, &unmap);
		if (rc == 0)
			CHECK_EQ(areas_of(a), 0);
		else if (rc == -EBUSY)
			CHECK_EQ(areas_of(a), before);
		else
			CHECK(rc == -ENOMEM && areas_of(a) >= 0 &&
			      areas_of(a) <= before);
	}
	{
		struct iommu_ioas_change_process cp = { .size = sizeof(cp) };

		io(IOMMU_IOAS_CHANGE_PROCESS, &cp);
	}
out:
	if (access >= 0)
		CHECK_EQ(ioasid_self_close(access), 0);
}

static sem_t rcu_done;

static void rcu_sentinel(struct rcu_head *head)
{
	sem_post(&rcu_done);
}

/*
 * Blocks alive once every deferred free has run, less those the frame
 * table keeps for reuse; and no frame may be left.  Deferred frees run in
 * order on one thread, so a callback of our own queued last runs after
 * them all (urcu_bp_barrier() would allocate, and free after returning).
 */
static long live_blocks(void)
{
	static struct rcu_head sentinel;
	size_t frames, cached;

	urcu_bp_call_rcu(&sentinel, rcu_sentinel);
	while (sem_wait(&rcu_done))
		;
	ioasid_frames_stats(&frames, &cached);
	CHECK_EQ(frames, 0);
	return live - (long)cached;
}

int main(void)
{
	unsigned long runs = 0, failed_runs = 0;

	disarm();
	ioasid_enable_test_mode();
	sem_init(&rcu_done, 0, 0);
	CHECK_EQ(ioasid_caller_self(&caller), 0);
	buf = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	mfd = memfd_create("fail-nth", MFD_CLOEXEC);
	CHECK(buf != MAP_FAILED && mfd >= 0);
	CHECK_EQ(ftruncate(mfd, 8 * PG), 0);
	/* Held throughout, so no run counts it as its own. */
	CHECK(self_mm() != NULL);

	/* One run with nothing injected first: what lives for the whole
	 * program (the RCU callback thread) is made outside the count. */
	ctx = ioasid_ctx_new();
	scenario();
	ioasid_ctx_put(ctx);
	for (long nth = 0;; nth++) {
		uint64_t pinned, locked;
		long live_before = live_blocks();

		ctx = ioasid_ctx_new();
		if (!ctx)
			break;
		arm(nth);
		scenario();
		disarm();
		ioasid_ctx_put(ctx);
		runs++;
		failed_runs += injected;
		/* Torn down, nothing is pinned or charged, whatever failed. */
		ioasid_account_totals(getpid(), &pinned, &locked);
		CHECK_EQ(pinned, 0);
		CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf), 0);
		/* And every byte charged to the caller's user is back. */
		CHECK_EQ(ioasid_user_mem_charged(caller.uid), 0);
		if (live_blocks() != live_before)
			fprintf(stderr, "run %ld: %ld blocks leaked\n", nth,
				live_blocks() - live_before);
		CHECK_EQ(live_blocks(), live_before);
		if (!injected)
			break; /* the run needed fewer allocations than nth */
		if (nth > 100000) {
			CHECK(!"the scenario never ends");
			break;
		}
	}
	printf("# fail-nth: %lu runs, a failure injected in %lu; a whole run "
	       "allocates %lu times\n", runs, failed_runs, seen);
	/* Under valgrind our allocator is replaced: nothing gets injected,
	 * which is no failure of the code under test. */
	munmap(buf, 16 * PG);
	close(mfd);
	return check_finish("fail_nth");
}
#endif
