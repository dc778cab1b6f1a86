/* SPDX-License-Identifier: MIT */
/* IOMMU_TEST_CMD ops, grouped by the object they drive. */
#ifndef IOASID_IOMMU_SELFTEST_H
#define IOASID_IOMMU_SELFTEST_H

#include <stdint.h>

struct ioasid_ucmd;
struct io_pagetable;

/* selftest_access.c: the test driver's mediated device (an access fd). */
int test_create_access(struct ioasid_ucmd *u, uint32_t ioas_id,
		       uint32_t flags);
int test_access_replace_ioas(struct ioasid_ucmd *u, int access_fd,
			     uint32_t ioas_id);
int test_access_pages(struct ioasid_ucmd *u, int access_fd);
int test_destroy_access_pages(struct ioasid_ucmd *u, int access_fd,
			      uint32_t item_id);
int test_access_rw(struct ioasid_ucmd *u, int access_fd);

/*
 * Fuzzers cannot know IOVAs: with MOCK_FLAGS_ACCESS_SYZ an IOVA is read
 * as {u32 nth area, u32 offset into it}.  0 when there is no such area.
 */
uint64_t test_syz_iova(struct io_pagetable *iopt, uint64_t syz);

#endif
