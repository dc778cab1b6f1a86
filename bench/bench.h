/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark shares: a clock, a "best of" runner, and one
 * table row plus one JSON field per result.  Each benchmark measures its
 * own baseline in the same run and reports the ratio to it; nothing here
 * asserts on time.
 */
#ifndef IOASID_BENCH_H
#define IOASID_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Fold a value into a sink the compiler cannot see through. */
static volatile uint64_t bench_sink;

/*
 * ns per op of the body (the rest of the arguments: it may hold commas)
 * run `ops` times, the best of `runs` tries (the least disturbed by the
 * other core's work).
 */
#define BENCH_BEST(runs, ops, ...)                                       \
	({                                                               \
		double _best = 1e300;                                    \
		for (int _r = 0; _r < (runs); _r++) {                    \
			double _t0 = bench_now_ns();                     \
			for (uint64_t _i = 0; _i < (uint64_t)(ops); _i++) { \
				__VA_ARGS__;                             \
			}                                                \
			double _t = (bench_now_ns() - _t0) / (double)(ops); \
			if (_t < _best)                                  \
				_best = _t;                              \
		}                                                        \
		_best;                                                   \
	})

static inline double bench_min(double a, double b)
{
	return a < b ? a : b;
}

/* The JSON line, built as rows are printed. */
static char bench_json[8192];

static inline void bench_begin(const char *name)
{
	printf("%-44s %12s %12s %8s\n", name, "value", "baseline", "ratio");
	snprintf(bench_json, sizeof(bench_json), "{\"bench\":\"%s\"", name);
}

/* One result: value and baseline in unit, and value/baseline. */
static inline void bench_row(const char *key, const char *what, double value,
			     double baseline, const char *unit)
{
	size_t n = strlen(bench_json);

	printf("%-44s %9.2f %-3s %9.2f %-3s %7.2fx\n", what, value, unit,
	       baseline, unit, baseline > 0 ? value / baseline : 0);
	snprintf(bench_json + n, sizeof(bench_json) - n,
		 ",\"%s\":{\"value\":%.3f,\"baseline\":%.3f,\"unit\":\"%s\"}",
		 key, value, baseline, unit);
}

/* A result with no baseline (a count, a size). */
static inline void bench_fact(const char *key, const char *what, double value,
			      const char *unit)
{
	size_t n = strlen(bench_json);

	printf("%-44s %9.2f %-3s\n", what, value, unit);
	snprintf(bench_json + n, sizeof(bench_json) - n,
		 ",\"%s\":{\"value\":%.3f,\"unit\":\"%s\"}", key, value, unit);
}

static inline void bench_end(void)
{
	printf("%s}\n", bench_json);
}

#endif
