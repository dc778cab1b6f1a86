/* SPDX-License-Identifier: MIT */
/*
 * A minimal harness for standalone test programs: count, report, exit.
 * The program speaks TAP on stdout: each case it runs with RUN() (or
 * RUN_AS() for a call with arguments) is a named "ok" or "not ok" line,
 * a case that cannot run here says check_skip() and is "# SKIP", and
 * check_finish() ends the stream with its plan.  A program that runs no
 * named case is one case, under its own name.  Failed checks say where
 * and what on stderr.
 */
#ifndef IOASID_TEST_CHECK_H
#define IOASID_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures;
static int check_count;
static int check_cases;
static const char *check_skipped; /* the running case's reason, if any */

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

/* The running case cannot run here: it is reported skipped, for why. */
static inline void check_skip(const char *why)
{
	check_skipped = why;
}

#define RUN_AS(name, call)                                                 \
	do {                                                               \
		int _before = check_failures;                              \
		check_skipped = NULL;                                      \
		call;                                                      \
		check_cases++;                                             \
		printf("%s %d - %s", check_failures == _before ? "ok" : "not ok", \
		       check_cases, (name));                               \
		if (check_skipped)                                         \
			printf(" # SKIP %s", check_skipped);               \
		printf("\n");                                             \
		fflush(stdout);                                            \
	} while (0)
#define RUN(fn) RUN_AS(#fn, fn())

static inline int check_finish(const char *name)
{
	if (!check_cases) {
		check_cases = 1;
		printf("%s 1 - %s\n", check_failures ? "not ok" : "ok", name);
	}
	printf("1..%d\n# %s: %d checks, %d failed\n", check_cases, name,
	       check_count, check_failures);
	return check_failures ? 1 : 0;
}

/* The whole program cannot run here. */
static inline int check_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 0;
}

#endif
