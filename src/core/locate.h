/* SPDX-License-Identifier: MIT */
/*
 * Where a file of ours is: next to the running executable (a build tree,
 * where ioasid-run, ioasidd and the libraries sit side by side), else in
 * the directory it is installed in.  For ioasid-run (the daemon, the
 * shim) and ioasidd (its fault-injection allocator).
 */
#ifndef IOASID_CORE_LOCATE_H
#define IOASID_CORE_LOCATE_H

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 0 with the readable path in out, or -1. */
static inline int ioasid_locate(const char *name, const char *installed_dir,
				char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			/* A path cut short would name some other file. */
			if (snprintf(out, len, "%s/%s", self, name) < (int)len &&
			    !access(out, R_OK))
				return 0;
		}
	}
	if (snprintf(out, len, "%s/%s", installed_dir, name) >= (int)len)
		return -1;
	return access(out, R_OK) ? -1 : 0;
}

#endif
