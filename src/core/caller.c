/* SPDX-License-Identifier: MIT */
/*
 * A caller that is this very process.  Its memory is read and written with
 * process_vm_readv/writev on ourselves, which reports a bad pointer as
 * EFAULT instead of faulting: the same contract copy_from_user gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioasid/ioasid.h"
#include "vm_access.h"

static int self_read(void *priv, uint64_t uptr, void *dst, size_t len)
{
	(void)priv;
	return vm_xfer(getpid(), uptr, dst, len, 0);
}

static int self_write(void *priv, uint64_t uptr, const void *src, size_t len)
{
	(void)priv;
	return vm_xfer(getpid(), uptr, (void *)src, len, 1);
}

static int self_check_zeroed(void *priv, uint64_t uptr, size_t len)
{
	(void)priv;
	return vm_zeroed(getpid(), uptr, len);
}

static int self_get_fd(void *priv, int fd)
{
	int nfd;

	(void)priv;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return nfd < 0 ? -EBADF : nfd;
}

static const struct ioasid_uaccess_ops self_uaccess = {
	.read = self_read,
	.write = self_write,
	.check_zeroed = self_check_zeroed,
	.get_fd = self_get_fd,
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
