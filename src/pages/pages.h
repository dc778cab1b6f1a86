/* SPDX-License-Identifier: MIT */
/*
 * Page sets: the user memory behind IOAS areas, and the pins they hold.
 *
 * Pins are counted the kernel's way: a backing page is pinned once by each
 * page set that needs it, however many domains map it.  Every live page set
 * of the daemon is registered here, so "how many pins does this page carry"
 * (IOMMU_TEST_OP_MD_CHECK_REFS) is answered from the real state.
 */
#ifndef IOASID_PAGES_PAGES_H
#define IOASID_PAGES_PAGES_H

#include <stdint.h>
#include <sys/types.h>

/* The pinned part of one page set, as the registry sees it. */
struct ioasid_pages_pins {
	pid_t pid;          /* whose address space the pages come from */
	uint64_t uva;       /* first pinned byte, page aligned */
	uint64_t npages;    /* pinned pages from uva on */
	struct ioasid_pages_pins *next;
};

void ioasid_pages_register(struct ioasid_pages_pins *p);
void ioasid_pages_unregister(struct ioasid_pages_pins *p);

/* How many page sets hold the page at `uva` of process `pid` pinned. */
unsigned int ioasid_pages_pin_count(pid_t pid, uint64_t uva);

#endif
