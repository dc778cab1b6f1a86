/* SPDX-License-Identifier: MIT */
/*
 * T5: pinning plus accounting of resident memory, against mlock plus
 * munlock of the same pages: per page over 64 MiB, and whole over 4 GiB
 * (as a VMM maps its guest's RAM); and the memory the pins cost the
 * daemon per 4 KiB page (its resident set before and after a pin of
 * another process' memory, as all of a daemon's pins are: 1 GiB in 2 MiB
 * runs, and 16 MiB of pages that are each a run of their own).  Charged
 * as IOMMU_OPTION's default
 * charges a caller without CAP_IPC_LOCK: to the user's RLIMIT_MEMLOCK,
 * which a root run raises; a run that may not pins what it allows.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "pages/mm.h"
#include "pages/pages.h"
#include "core/user_limits.h"
#include "../tests/unit/self_mm.h"

#define SMALL (64ull << 20)
#define LARGE (4ull << 30)
#define DAEMON (1ull << 30)
#define SCATTERED (16ull << 20)
#define HUGE (2ull << 20)

/* RLIMIT_MEMLOCK at len if it may be raised so far, else what it is. */
static uint64_t lockable(uint64_t len)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_MEMLOCK, &lim))
		return 0;
	if (lim.rlim_cur < len) {
		struct rlimit want = { len, MAX(lim.rlim_max, len) };

		if (setrlimit(RLIMIT_MEMLOCK, &want) &&
		    lim.rlim_max > lim.rlim_cur) {
			want = (struct rlimit){ lim.rlim_max, lim.rlim_max };
			setrlimit(RLIMIT_MEMLOCK, &want);
		}
		getrlimit(RLIMIT_MEMLOCK, &lim);
	}
	return lim.rlim_cur < len ? lim.rlim_cur & ~(HUGE - 1) : len;
}

static uint64_t resident_bytes(void)
{
	unsigned long size, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Resident memory of len bytes, 2 MiB aligned (so it comes in 2 MiB
 * runs), or NULL. */
static unsigned char *resident(uint64_t len, int flags)
{
	unsigned char *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
				flags | MAP_ANONYMOUS, -1, 0);
	uintptr_t at;

	if (p == MAP_FAILED)
		return NULL;
	at = ((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
	if (madvise((void *)at, len, MADV_POPULATE_WRITE))
		memset((void *)at, 1, len);
	return (unsigned char *)at;
}

/*
 * Best of `runs` of pin+unpin and of mlock+munlock of len bytes, in ns
 * per page.  0, or -1 when the memory cannot be had.
 */
static int pin_vs_mlock(uint64_t len, enum ioasid_account_mode mode,
			int runs, double *pin, double *lock)
{
	uint64_t npages = len >> 12;
	unsigned char *mem = resident(len, MAP_PRIVATE);
	struct ioasid_pages *p;

	if (!mem || ioasid_pages_alloc_user(self_mm(), getuid(),
					    (uintptr_t)mem, len, true, mode, &p))
		return -1;
	*lock = BENCH_BEST(runs, 1, {
		if (mlock(mem, len) || munlock(mem, len))
			return -1;
	}) / (double)npages;
	*pin = BENCH_BEST(runs, 1, {
		if (ioasid_pages_pin(p, 0, npages - 1))
			return -1;
		ioasid_pages_unpin(p, 0, npages - 1);
	}) / (double)npages;
	ioasid_pages_put(p);
	munmap(mem, len);
	return 0;
}

/*
 * len bytes of a memfd mapped a page at a time in reverse order, so that
 * no two neighbouring pages are neighbours in the file: every page a run
 * of its own, the frame table's worst case.  NULL when it cannot be had.
 */
static unsigned char *scattered(uint64_t len)
{
	int fd = memfd_create("bench-pin", MFD_CLOEXEC);
	unsigned char *at = MAP_FAILED;

	if (fd >= 0 && !ftruncate(fd, (off_t)len))
		at = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	for (uint64_t i = 0; at != MAP_FAILED && i < len >> 12; i++)
		if (mmap(at + (i << 12), 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd,
			 (off_t)(len - ((i + 1) << 12))) == MAP_FAILED) {
			munmap(at, len);
			at = MAP_FAILED;
		}
	if (fd >= 0)
		close(fd);
	return at == MAP_FAILED ? NULL : at;
}

/*
 * The memory a pin of len bytes at mem, shared memory of ours, costs us
 * per page when we pin it from a child, as the daemon pins its clients'
 * memory: our resident set before and after (which reads 0 where the
 * allocator reuses what it had), and what the core charged the pinner
 * for (its frame table and frame-number record).  Not charged against
 * RLIMIT_MEMLOCK: the limit is not what is measured.
 */
static int daemon_heap(unsigned char *mem, uint64_t len, double *heap,
		       double *charged)
{
	struct ioasid_pages *p = NULL;
	struct ioasid_mm *child_mm;
	uint64_t before;
	pid_t child;
	int rc = -1;

	if (!mem)
		return -1;
	child = fork();
	if (!child) {
		pause();
		_exit(0);
	}
	child_mm = child > 0 ? ioasid_mm_open(child, getuid()) : NULL;
	if (child_mm &&
	    !ioasid_pages_alloc_user(child_mm, getuid(), (uintptr_t)mem, len,
				     true, IOASID_ACCOUNT_NONE, &p)) {
		unsigned long was = ioasid_user_mem_charged(getuid());

		before = resident_bytes();
		if (!ioasid_pages_pin(p, 0, (len >> 12) - 1)) {
			*heap = (double)(resident_bytes() - before) /
				(double)(len >> 12);
			*charged = (double)(ioasid_user_mem_charged(getuid()) -
					    was) /
				   (double)(len >> 12);
			ioasid_pages_unpin(p, 0, (len >> 12) - 1);
			rc = 0;
		}
		ioasid_pages_put(p);
	}
	ioasid_mm_put(child_mm);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	munmap(mem, len);
	return rc;
}

int main(void)
{
	uint64_t large = lockable(LARGE);
	uint64_t small = large < SMALL ? large : SMALL;
	enum ioasid_account_mode mode = IOASID_ACCOUNT_USER;
	double pin, lock, heap, heap_scattered, charged, charged_scattered;
	char what[80];

	if (small < HUGE) {
		fprintf(stderr, "bench-pin: RLIMIT_MEMLOCK allows under 2 MiB\n");
		return 1;
	}
	bench_begin("pin");
	if (pin_vs_mlock(small, mode, 5, &pin, &lock) ||
	    /* Once to warm up: the first pin from a child faults in code
	     * and the allocator's first arenas, which no page costs. */
	    daemon_heap(resident(2 * HUGE, MAP_SHARED), 2 * HUGE, &heap,
			&charged) ||
	    daemon_heap(resident(DAEMON, MAP_SHARED), DAEMON, &heap,
			&charged) ||
	    daemon_heap(scattered(SCATTERED), SCATTERED, &heap_scattered,
			&charged_scattered))
		return 1;
	bench_row("t5_pin_ns", "T5 pin+unpin, RLIMIT_MEMLOCK charged, per page",
		  pin, lock, "ns");
	bench_fact("t5_mib", "T5 pinned at once", (double)(small >> 20), "MiB");
	bench_fact("t5_heap_b",
		   "T5 daemon memory per pinned page, 2 MiB runs",
		   heap, "B");
	bench_fact("t5_charged_b", "T5 the same, charged to the pinner",
		   charged, "B");
	bench_fact("t5_heap_scattered_b",
		   "T5 the same, 16 MiB, no two pages a run", heap_scattered,
		   "B");
	bench_fact("t5_charged_scattered_b",
		   "T5 the same, charged to the pinner", charged_scattered,
		   "B");
	/* Where the limit stops short of 4 GiB and may not be raised, the
	 * whole-guest pin is made uncharged, and says so. */
	if (large < LARGE) {
		large = LARGE;
		mode = IOASID_ACCOUNT_NONE;
	}
	if (pin_vs_mlock(large, mode, 3, &pin, &lock))
		return 1;
	snprintf(what, sizeof(what), "T5 pin+unpin %llu GiB whole%s",
		 (unsigned long long)(large >> 30),
		 mode == IOASID_ACCOUNT_NONE ? ", uncharged" : "");
	bench_row("t5_pin_4g_ms", what, pin * (double)(large >> 12) / 1e6,
		  lock * (double)(large >> 12) / 1e6, "ms");
	bench_end();
	return 0;
}
