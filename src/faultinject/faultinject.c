/* SPDX-License-Identifier: MIT */
/*
 * libioasid-faultinject.so: the allocator a test-mode ioasidd runs with
 * (it puts this in its own LD_PRELOAD), as a kernel built with
 * CONFIG_FAULT_INJECTION has failslab.  A daemon in normal mode never
 * loads it, so its malloc is glibc's own.
 *
 * The calling thread arms a count; each allocation it then makes counts
 * one down, and the one that reaches zero fails.  Other threads (liburcu's,
 * say) never count.
 */
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

static __thread uint32_t countdown;

EXPORT void ioasid_fault_arm(uint32_t count)
{
	countdown = count;
}

EXPORT uint32_t ioasid_fault_disarm(void)
{
	uint32_t left = countdown;

	countdown = 0;
	return left;
}

static int fail_now(void)
{
	return countdown && --countdown == 0;
}

/* glibc's allocator under its other names: these wrap it. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);

EXPORT void *malloc(size_t size)
{
	return fail_now() ? NULL : __libc_malloc(size);
}

EXPORT void *calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __libc_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t size)
{
	/* A free in disguise cannot fail. */
	if (p && !size)
		return __libc_realloc(p, size);
	return fail_now() ? NULL : __libc_realloc(p, size);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return fail_now() ? NULL : __libc_memalign(align, size);
}

/* A page table's page, which the library carves from slabs of its own
 * (src/pt/table_page.c), counts as one allocation. */
EXPORT int ioasid_fault_page(void)
{
	return fail_now();
}
