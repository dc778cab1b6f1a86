/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stddef.h>

#include "fail_nth.h"
#include "pt/pt.h"

/* Only the thread serving requests counts (not liburcu's, say). */
static __thread uint32_t countdown;

void fail_nth_arm(uint32_t count)
{
	/* liburcu allocates when a thread first reads under RCU, and
	 * aborts if it cannot: that happens here, before anything counts. */
	pt_read_lock();
	pt_read_unlock();
	countdown = count;
}

uint32_t fail_nth_disarm(void)
{
	uint32_t left = countdown;

	countdown = 0;
	return left;
}

#ifndef __SANITIZE_ADDRESS__
static bool fail_now(void)
{
	return countdown && --countdown == 0;
}

/* glibc's allocator under its other names: these wrap it. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size)
{
	return fail_now() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	/* A free in disguise cannot fail. */
	if (p && !size)
		return __libc_realloc(p, size);
	return fail_now() ? NULL : __libc_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	return fail_now() ? NULL : __libc_memalign(align, size);
}
#endif
