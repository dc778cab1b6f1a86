/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every part of ioasid. */
#ifndef IOASID_CORE_UTIL_H
#define IOASID_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* The kernel's ULONG_MAX on the 64-bit targets we serve. */
#define IOASID_ULONG_MAX UINT64_MAX

/* True when a + b does not fit; *sum gets the wrapped value either way. */
static inline int add_overflows_u64(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

static inline int is_power_of_2_u64(uint64_t v)
{
	return v && !(v & (v - 1));
}

#define IOASID_PAGE_SHIFT 12
#define IOASID_PAGE_SIZE (1UL << IOASID_PAGE_SHIFT)

#endif
