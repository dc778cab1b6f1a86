/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz harnesses share: the record format of their inputs, and
 * the rule that keeps a fuzzed request from reaching anything but memory
 * and files the harness owns.
 *
 * An input is a sequence of records, each [u16 length][length bytes].
 * fuzz-dispatch reads a record as [u8 entry][u8 spare][struct image or a
 * u64 value]; fuzz-wire as one wire message.  fuzz-seeds writes a
 * starting corpus for both from the ioctl table.
 */
#ifndef IOASID_FUZZ_COMMON_H
#define IOASID_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_MAX_RECORDS 64

/* The next record of [*p, end): its bytes and length, or NULL at the end. */
static inline const uint8_t *fuzz_next_record(const uint8_t **p,
					      const uint8_t *end, size_t *len)
{
	const uint8_t *rec;
	uint16_t n;

	if (end - *p < 2)
		return NULL;
	memcpy(&n, *p, 2);
	rec = *p + 2;
	if ((size_t)(end - rec) < n)
		n = (uint16_t)(end - rec);
	*p = rec + n;
	*len = n;
	return rec;
}

#endif
