/* SPDX-License-Identifier: MIT */
/* This process' address space, for tests that make page sets directly. */
#ifndef IOASID_TEST_SELF_MM_H
#define IOASID_TEST_SELF_MM_H

#include "pages/mm.h"

/* Held for the whole run: page sets' memory is reached through it. */
static inline struct ioasid_mm *self_mm(void)
{
	static struct ioasid_mm *mm;

	if (!mm)
		mm = ioasid_mm_self();
	return mm;
}

#endif
