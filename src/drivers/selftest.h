/* SPDX-License-Identifier: MIT */
/* IOMMU_TEST_CMD ops, grouped by the object they drive. */
#ifndef IOASID_IOMMU_SELFTEST_H
#define IOASID_IOMMU_SELFTEST_H

#include <stdbool.h>
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

/* selftest_device.c: mock devices and what they are attached to. */
int test_mock_domain(struct ioasid_ucmd *u, uint32_t pt_id, uint32_t dev_flags,
		     bool with_flags);
int test_mock_domain_replace(struct ioasid_ucmd *u, uint32_t stdev_id,
			     uint32_t pt_id);
int test_md_check_map(struct ioasid_ucmd *u, uint32_t hwpt_id, uint64_t iova,
		      uint64_t length, uint64_t uptr);
int test_dev_check_cache(struct ioasid_ucmd *u, uint32_t idev_id,
			 uint32_t cache_id, uint32_t value);
int test_md_check_iotlb(struct ioasid_ucmd *u, uint32_t hwpt_id, uint32_t id,
			uint32_t value);
int test_trigger_iopf(struct ioasid_ucmd *u);
int test_trigger_vevent(struct ioasid_ucmd *u);
int test_dirty(struct ioasid_ucmd *u, uint32_t hwpt_id);
/* selftest_dmabuf.c */
int test_dmabuf_get(struct ioasid_ucmd *u);
int test_dmabuf_revoke(struct ioasid_ucmd *u);
/* PASID_ATTACH, _REPLACE, _DETACH and _CHECK_HWPT on a stdev. */
int test_pasid(struct ioasid_ucmd *u, uint32_t stdev_id);

/*
 * Fuzzers cannot know IOVAs: with MOCK_FLAGS_ACCESS_SYZ an IOVA is read
 * as {u32 nth area, u32 offset into it}.  0 when there is no such area.
 */
uint64_t test_syz_iova(struct io_pagetable *iopt, uint64_t syz);

#endif
