/* SPDX-License-Identifier: MIT */
/*
 * T5: pinning plus accounting, per page, of resident memory (a page set
 * over 64 MiB of this process, pinned and unpinned whole), against
 * mlock plus munlock of the same pages.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "pages/pages.h"
#include "../tests/unit/self_mm.h"

#define LEN (64ull << 20)
#define NPAGES (LEN >> 12)

int main(void)
{
	unsigned char *mem = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				  -1, 0);
	struct ioasid_pages *p;
	double t_mlock, t_pin;

	if (mem == MAP_FAILED ||
	    ioasid_pages_alloc_user(self_mm(), getuid(), (uintptr_t)mem, LEN,
				    true, IOASID_ACCOUNT_NONE, &p))
		return 1;
	bench_begin("pin");
	t_mlock = BENCH_BEST(5, 1, {
		if (mlock(mem, LEN) || munlock(mem, LEN))
			return 1;
	}) / NPAGES;
	t_pin = BENCH_BEST(5, 1, {
		if (ioasid_pages_pin(p, 0, NPAGES - 1))
			return 1;
		ioasid_pages_unpin(p, 0, NPAGES - 1);
	}) / NPAGES;
	bench_row("t5_pin_ns", "T5 pin+unpin with accounting, per page", t_pin,
		  t_mlock, "ns");
	bench_end();
	ioasid_pages_put(p);
	return 0;
}
