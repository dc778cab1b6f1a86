/* SPDX-License-Identifier: MIT */
/* A minimal harness for standalone test programs: count, report, exit. */
#ifndef IOASID_TEST_CHECK_H
#define IOASID_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                        \
	do {                                                               \
		check_count++;                                             \
		if (!(cond)) {                                             \
			check_failures++;                                  \
			fprintf(stderr, "%s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
		}                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		long long _a = (long long)(a), _b = (long long)(b);        \
		check_count++;                                             \
		if (_a != _b) {                                            \
			check_failures++;                                  \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
				__FILE__, __LINE__, #a, _a, #b, _b);       \
		}                                                          \
	} while (0)

/* A case of a table: its name is said when it fails. */
#define CHECK_CASE(what, got, want)                                        \
	do {                                                               \
		long long _g = (long long)(got), _w = (long long)(want);   \
		check_count++;                                             \
		if (_g != _w) {                                            \
			check_failures++;                                  \
			fprintf(stderr, "%s:%d: case '%s': %lld, expected %lld\n", \
				__FILE__, __LINE__, (what), _g, _w);       \
		}                                                          \
	} while (0)

static inline int check_finish(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
