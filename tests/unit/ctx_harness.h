/* SPDX-License-Identifier: MIT */
/*
 * For unit tests that drive one context in-process, as this process: the
 * caller, the context, ioctls on it, and the steps every such test takes.
 */
#ifndef IOASID_TEST_CTX_HARNESS_H
#define IOASID_TEST_CTX_HARNESS_H

#include "check.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/iommufd.h"

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
	ctx = ioasid_ctx_new();
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

#endif
