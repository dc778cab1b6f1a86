/* SPDX-License-Identifier: MIT */
/*
 * Fault-safe access to a process' memory (our own included): a bad address
 * is -EFAULT, never a crash.  Shared by the core, the daemon and the shim.
 */
#ifndef IOASID_CORE_VM_ACCESS_H
#define IOASID_CORE_VM_ACCESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/uio.h>

static inline int vm_xfer(pid_t pid, uint64_t uptr, void *buf, size_t len,
			  int write)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)uptr,
				.iov_len = len };
	ssize_t n;

	if (!len)
		return 0;
	n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) :
		    process_vm_readv(pid, &local, 1, &remote, 1, 0);
	/* A gone process or a hole in its memory reads as EFAULT. */
	return n == (ssize_t)len ? 0 : -EFAULT;
}

/*
 * Whether the process behind pidfd (or, without one, pid: a pid already
 * reused would pass) still exists; one we may not signal does.
 */
static inline bool vm_process_alive(int pidfd, pid_t pid)
{
	int rc = pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, pidfd, 0,
					   NULL, 0) :
			      kill(pid, 0);

	return rc == 0 || errno == EPERM;
}

/* Whether n bytes at p are all zero. */
static inline bool vm_all_zero(const unsigned char *p, size_t n)
{
	return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

/*
 * 1 when [uptr, uptr+len) is all zero, 0 when not, -EFAULT, read with
 * read(priv, uptr, buf, n) (0 or -errno).  A size field may name
 * gigabytes: read in large chunks, so that each read moves 64 KiB rather
 * than a few hundred bytes.
 */
static inline int vm_zeroed_by(int (*read)(void *priv, uint64_t uptr,
					   void *buf, size_t len),
			       void *priv, uint64_t uptr, uint64_t len)
{
	enum { CHUNK = 64 * 1024 };
	unsigned char small[512], *chunk = len > sizeof(small) ? malloc(CHUNK) : NULL;
	size_t cap = chunk ? CHUNK : sizeof(small);
	int rc = 1;

	if (!chunk)
		chunk = small;
	while (len && rc == 1) {
		size_t n = len < cap ? (size_t)len : cap;

		if (read(priv, uptr, chunk, n))
			rc = -EFAULT;
		else if (!vm_all_zero(chunk, n))
			rc = 0;
		uptr += n;
		len -= n;
	}
	if (chunk != small)
		free(chunk);
	return rc;
}

#endif
