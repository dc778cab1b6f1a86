/* SPDX-License-Identifier: MIT */
/*
 * ioasidd --trace PATH: every ioctl a client makes (on /dev/iommu and on
 * VFIO device and group files), decoded from the
 * ioctl table (src/core/ioctl_decode.c), one line each, with the caller's
 * pid and thread.  The struct is read before the call and after it, so a
 * line shows what came in, what went out, and the result.
 */
#ifndef IOASID_DAEMON_TRACE_H
#define IOASID_DAEMON_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "ioasid/ioasid.h"

/* Start writing to path (appended to); 0 or -errno. */
int trace_open(const char *path);

struct trace_ioctl {
	bool on, readable;
	unsigned int file; /* enum ioasid_ioctl_on: the file it is made on */
	size_t len;
	_Alignas(8) unsigned char before[512];
};

void trace_ioctl_begin(struct trace_ioctl *t, const struct ioasid_caller *c,
		       unsigned int on, unsigned int cmd, unsigned long arg);
void trace_ioctl_end(struct trace_ioctl *t, const struct ioasid_caller *c,
		     unsigned int cmd, unsigned long arg, long result);

#endif
