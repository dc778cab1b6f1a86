/* SPDX-License-Identifier: MIT */
/*
 * For unit tests that drive one context in-process, as this process: the
 * caller, the context, ioctls on it, and the steps every such test takes.
 */
#ifndef IOASID_TEST_CTX_HARNESS_H
#define IOASID_TEST_CTX_HARNESS_H

#include <stdint.h>

#include "check.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"

#define PG 4096ull
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA

static struct ioasid_caller caller;
static struct ioasid_ctx *ctx;

static long io(unsigned int cmd, void *arg)
{
	return ioasid_ctx_ioctl(ctx, &caller, cmd, (unsigned long)arg);
}

/* Close the context in use (if any) and open a new one. */
static void fresh(void)
{
	if (ctx)
		ioasid_ctx_put(ctx);
	ioasid_enable_test_mode();
	ctx = ioasid_ctx_new();
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

static inline long map_at(uint32_t ioas, uint32_t flags, const void *va,
			  uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags | FIXED, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = len, .iova = iova,
	};

	return io(IOMMU_IOAS_MAP, &cmd);
}

static inline long destroy(uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return io(IOMMU_DESTROY, &cmd);
}

/* MD_CHECK_REFS: every page of [uptr, uptr + len) carries `refs` pins. */
static inline long check_refs(const void *uptr, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)uptr,
				.refs = refs },
	};

	return io(IOMMU_TEST_CMD, &cmd);
}

#endif
