/* SPDX-License-Identifier: MIT */
/*
 * Fault-safe access to a process' memory (our own included): a bad address
 * is -EFAULT, never a crash.  Shared by the core, the daemon and the shim.
 */
#ifndef IOASID_CORE_VM_ACCESS_H
#define IOASID_CORE_VM_ACCESS_H

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
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
 * vm_xfer, telling apart why it failed: -EPERM when we may not reach the
 * process' memory at all (it belongs to someone we cannot ptrace), else
 * -EFAULT (a hole in its memory, or the process has gone).
 */
static inline int vm_xfer_status(pid_t pid, uint64_t uptr, void *buf,
				 size_t len, int write)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)uptr,
				.iov_len = len };
	ssize_t n;

	if (!len)
		return 0;
	n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) :
		    process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	return n < 0 && errno == EPERM ? -EPERM : -EFAULT;
}

/* 1 when [uptr, uptr+len) is all zero, 0 when not, -EFAULT. */
static inline int vm_zeroed(pid_t pid, uint64_t uptr, uint64_t len)
{
	unsigned char chunk[512];

	while (len) {
		size_t n = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);

		if (vm_xfer(pid, uptr, chunk, n, 0))
			return -EFAULT;
		for (size_t i = 0; i < n; i++)
			if (chunk[i])
				return 0;
		uptr += n;
		len -= n;
	}
	return 1;
}

#endif
