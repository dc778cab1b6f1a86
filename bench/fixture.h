/* SPDX-License-Identifier: MIT */
/* The in-process setup benchmarks share: a context, an IOAS, a device. */
#ifndef IOASID_BENCH_FIXTURE_H
#define IOASID_BENCH_FIXTURE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"

static struct ioasid_caller fx_caller;
static struct ioasid_ctx *fx_ctx;

static inline long fx_io(unsigned int cmd, void *arg)
{
	return ioasid_ctx_ioctl(fx_ctx, &fx_caller, cmd, (unsigned long)arg);
}

static inline void fx_die(const char *what, long rc)
{
	fprintf(stderr, "bench: %s: %ld\n", what, rc);
	exit(1);
}

/* A context with an IOAS and a VT-d device attached to it. */
static inline void fx_setup(uint32_t *ioas, uint32_t *dev_id)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct ioasid_device_alloc da = {
		.size = sizeof(da), .model = IOASID_DEVICE_VTD,
	};
	struct ioasid_device_attach at = { .size = sizeof(at) };
	long rc;

	if (ioasid_caller_self(&fx_caller))
		fx_die("caller", -1);
	fx_ctx = ioasid_ctx_new();
	if ((rc = fx_io(IOMMU_IOAS_ALLOC, &ia)))
		fx_die("IOAS_ALLOC", rc);
	if ((rc = fx_io(IOASID_DEVICE_ALLOC, &da)))
		fx_die("DEVICE_ALLOC", rc);
	at.dev_id = da.out_dev_id;
	at.pt_id = ia.out_ioas_id;
	if ((rc = fx_io(IOASID_DEVICE_ATTACH, &at)))
		fx_die("DEVICE_ATTACH", rc);
	*ioas = ia.out_ioas_id;
	*dev_id = da.out_dev_id;
}

static inline void fx_map(uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = iova,
	};
	long rc = fx_io(IOMMU_IOAS_MAP, &m);

	if (rc)
		fx_die("IOAS_MAP", rc);
}

static inline uint64_t fx_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
