/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID/status as the kernel would write it if it did our pinning:
 * VmPin and VmLck include what the daemon pinned and locked for PID.  The
 * real file is read, those two lines are rewritten, and the program gets
 * a read-only memfd (or a FILE over it) with the result.  Any trouble, a
 * daemon out of reach included, and the program gets the real file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioasid/uapi/ioasid.h"
#include "preload.h"

#define STATUS_MAX (64 * 1024)

/* The pid a status path names, 0 when it is not one we rewrite. */
static pid_t status_pid(const char *path)
{
	const char *p;
	char *end;
	long v;

	if (!path || strncmp(path, "/proc/", 6))
		return 0;
	p = path + 6;
	if (!strcmp(p, "self/status") || !strcmp(p, "thread-self/status"))
		return getpid();
	if (!isdigit((unsigned char)*p))
		return 0;
	v = strtol(p, &end, 10);
	if (strcmp(end, "/status") || v <= 0 || v > INT32_MAX)
		return 0;
	return (pid_t)v;
}

static int query(pid_t pid, uint64_t *pinned, uint64_t *locked)
{
	struct ioasid_process_accounting q = {
		.size = sizeof(q), .pid = (uint32_t)pid,
	};
	int fd = client_open(O_CLOEXEC);
	long rc;

	if (fd < 0)
		return fd;
	rc = client_ioctl(fd, CLIENT_CONNECTION, IOASID_PROCESS_ACCOUNTING,
			  (unsigned long)&q);
	real.close(fd);
	if (rc < 0)
		return (int)rc;
	*pinned = q.out_pinned;
	*locked = q.out_locked;
	return 0;
}

/* Add `pages` to the kB count of the line that starts with `key`. */
static size_t patch_line(char *out, size_t cap, const char *line, size_t len,
			 const char *key, uint64_t pages)
{
	size_t klen = strlen(key);
	unsigned long long kb;

	if (len <= klen || strncmp(line, key, klen) ||
	    sscanf(line + klen, "%llu", &kb) != 1)
		return 0;
	/* The kernel's layout: tab, the number right-aligned in 8. */
	return (size_t)snprintf(out, cap, "%s\t%8llu kB\n", key,
				kb + pages * 4);
}

/* The rewritten status of pid as a new read-only descriptor, or -1. */
static int patched_fd(const char *path, pid_t pid)
{
	uint64_t pinned = 0, locked = 0;
	char *in = NULL, *out = NULL;
	size_t n = 0, o = 0;
	int src = -1, fd = -1;
	ssize_t r;

	if (query(pid, &pinned, &locked))
		return -1;
	in = malloc(STATUS_MAX);
	out = malloc(STATUS_MAX + 128);
	src = real.open(path, O_RDONLY | O_CLOEXEC, 0);
	if (!in || !out || src < 0)
		goto out;
	while (n < STATUS_MAX && (r = real.read(src, in + n, STATUS_MAX - n)) > 0)
		n += (size_t)r;
	for (size_t i = 0; i < n;) {
		char *nl = memchr(in + i, '\n', n - i);
		size_t len = (nl ? (size_t)(nl - in) + 1 : n) - i, w;

		w = patch_line(out + o, STATUS_MAX + 128 - o, in + i, len,
			       "VmPin:", pinned);
		if (!w)
			w = patch_line(out + o, STATUS_MAX + 128 - o, in + i,
				       len, "VmLck:", locked);
		if (!w) {
			memcpy(out + o, in + i, len);
			w = len;
		}
		o += w;
		i += len;
	}
	fd = memfd_create("status", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && (real.write(fd, out, o) != (ssize_t)o ||
			lseek(fd, 0, SEEK_SET) != 0)) {
		real.close(fd);
		fd = -1;
	}
	if (fd >= 0)
		real.fcntl(fd, F_ADD_SEALS,
			   F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
out:
	if (src >= 0)
		real.close(src);
	free(in);
	free(out);
	return fd;
}

int proc_status_open(const char *path, int flags)
{
	pid_t pid = status_pid(path);
	int saved = errno, fd;

	if (!pid || (flags & O_ACCMODE) != O_RDONLY)
		return -1;
	fd = patched_fd(path, pid);
	errno = saved;
	if (fd >= 0 && !(flags & O_CLOEXEC))
		real.fcntl(fd, F_SETFD, 0);
	return fd;
}

FILE *proc_status_fopen(const char *path, const char *mode)
{
	int saved = errno, fd;
	FILE *f;

	/* Only reads are rewritten; "e" asks for close-on-exec. */
	if (!mode || (strcmp(mode, "r") && strcmp(mode, "re") &&
		      strcmp(mode, "rb")))
		return NULL;
	fd = proc_status_open(path, strchr(mode, 'e') ? O_RDONLY | O_CLOEXEC :
							O_RDONLY);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f)
		real.close(fd);
	errno = saved;
	return f;
}
