/* SPDX-License-Identifier: MIT */
/*
 * A caller that is this very process.  Its memory is read and written with
 * process_vm_readv/writev on ourselves, which reports a bad pointer as
 * EFAULT instead of faulting: the same contract copy_from_user gives.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioasid/ioasid.h"
#include "util.h"

static int self_xfer(uint64_t uptr, void *buf, size_t len, int write)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)uptr,
				.iov_len = len };
	ssize_t n;

	n = write ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0) :
		    process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static int self_read(void *priv, uint64_t uptr, void *dst, size_t len)
{
	(void)priv;
	return self_xfer(uptr, dst, len, 0);
}

static int self_write(void *priv, uint64_t uptr, const void *src, size_t len)
{
	(void)priv;
	return self_xfer(uptr, (void *)src, len, 1);
}

static int self_check_zeroed(void *priv, uint64_t uptr, size_t len)
{
	unsigned char chunk[256];

	(void)priv;
	while (len) {
		size_t n = MIN(len, sizeof(chunk));

		if (self_xfer(uptr, chunk, n, 0))
			return -EFAULT;
		for (size_t i = 0; i < n; i++)
			if (chunk[i])
				return 0;
		uptr += n;
		len -= n;
	}
	return 1;
}

static const struct ioasid_uaccess_ops self_uaccess = {
	.read = self_read,
	.write = self_write,
	.check_zeroed = self_check_zeroed,
};

int ioasid_caller_self(struct ioasid_caller *caller)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(caller, 0, sizeof(*caller));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	caller->pid = getpid();
	caller->tid = gettid();
	caller->uid = geteuid();
	caller->gid = getegid();
	caller->cap_effective =
		data[0].effective | ((uint64_t)data[1].effective << 32);
	caller->uaccess = &self_uaccess;
	return 0;
}
