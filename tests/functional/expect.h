/* SPDX-License-Identifier: MIT */
/* The functional programs' check: a failed expectation says where, and
 * counts. */
#ifndef IOASID_TEST_EXPECT_H
#define IOASID_TEST_EXPECT_H

#include <errno.h>
#include <stdio.h>

static int failures;

#define EXPECT(cond)                                                         \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "  %s:%d: expected %s (errno %d)\n", \
				__FILE__, __LINE__, #cond, errno);           \
			failures++;                                          \
		}                                                            \
	} while (0)

#endif
