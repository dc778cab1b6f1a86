/* SPDX-License-Identifier: MIT */
/*
 * T5: pinning plus accounting, per page, of resident memory (a page set
 * over 64 MiB of this process, or what RLIMIT_MEMLOCK allows, pinned and
 * unpinned whole), against mlock plus munlock of the same pages.
 * Charged as IOMMU_OPTION's default charges a caller without
 * CAP_IPC_LOCK: to the user's RLIMIT_MEMLOCK.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "pages/pages.h"
#include "../tests/unit/self_mm.h"

#define MAX_LEN (64ull << 20)

int main(void)
{
	struct rlimit lim;
	uint64_t len = MAX_LEN, npages;
	unsigned char *mem;
	struct ioasid_pages *p;
	double t_mlock, t_pin;

	/* Raised if it may be; else as much as it allows. */
	if (!getrlimit(RLIMIT_MEMLOCK, &lim) && lim.rlim_cur < len &&
	    lim.rlim_max > lim.rlim_cur) {
		lim.rlim_cur = lim.rlim_max < len ? lim.rlim_max : len;
		setrlimit(RLIMIT_MEMLOCK, &lim);
	}
	if (!getrlimit(RLIMIT_MEMLOCK, &lim) && lim.rlim_cur < len)
		len = lim.rlim_cur & ~((2ull << 20) - 1);
	if (len < (2ull << 20)) {
		fprintf(stderr, "bench-pin: RLIMIT_MEMLOCK allows under 2 MiB\n");
		return 1;
	}
	npages = len >> 12;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED ||
	    ioasid_pages_alloc_user(self_mm(), getuid(), (uintptr_t)mem, len,
				    true, IOASID_ACCOUNT_USER, &p))
		return 1;
	bench_begin("pin");
	t_mlock = BENCH_BEST(5, 1, {
		if (mlock(mem, len) || munlock(mem, len))
			return 1;
	}) / npages;
	t_pin = BENCH_BEST(5, 1, {
		if (ioasid_pages_pin(p, 0, npages - 1))
			return 1;
		ioasid_pages_unpin(p, 0, npages - 1);
	}) / npages;
	bench_row("t5_pin_ns", "T5 pin+unpin, RLIMIT_MEMLOCK charged, per page",
		  t_pin, t_mlock, "ns");
	bench_fact("t5_mib", "T5 pinned at once", (double)(len >> 20), "MiB");
	bench_end();
	ioasid_pages_put(p);
	return 0;
}
