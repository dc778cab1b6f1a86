/* SPDX-License-Identifier: MIT */
/*
 * A caller that is this very process.  A bad pointer is EFAULT, never a
 * crash: the contract copy_from_user gives.  Memory on the calling
 * thread's own stack, from its stack pointer up, is there and writable
 * whatever the pointer, and is where an ioctl's argument usually lives:
 * copied with memcpy.  Anything else is read and written with
 * process_vm_readv/writev on ourselves, which reports a bad pointer as
 * EFAULT instead of faulting.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioasid/ioasid.h"
#include "vm_access.h"

/* The calling thread's stack, learnt once per thread ([lo, hi)). */
static __thread struct {
	uintptr_t lo, hi;
	bool known;
} own_stack;

static __attribute__((noinline)) bool on_own_stack(uint64_t uptr, size_t len)
{
	/* Our frame is below every frame that called us. */
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (!own_stack.known) {
		pthread_attr_t attr;
		void *addr;
		size_t size;

		own_stack.known = true;
		if (!pthread_getattr_np(pthread_self(), &attr)) {
			if (!pthread_attr_getstack(&attr, &addr, &size)) {
				own_stack.lo = (uintptr_t)addr;
				own_stack.hi = (uintptr_t)addr + size;
			}
			pthread_attr_destroy(&attr);
		}
	}
	/* On an alternate signal stack, sp is elsewhere: the slow way. */
	return sp >= own_stack.lo && sp < own_stack.hi && uptr > sp &&
	       uptr < own_stack.hi && len <= own_stack.hi - uptr;
}

static int self_read(void *priv, uint64_t uptr, void *dst, size_t len)
{
	(void)priv;
	if (on_own_stack(uptr, len)) {
		memcpy(dst, (const void *)(uintptr_t)uptr, len);
		return 0;
	}
	return vm_xfer(getpid(), uptr, dst, len, 0);
}

static int self_write(void *priv, uint64_t uptr, const void *src, size_t len)
{
	(void)priv;
	if (on_own_stack(uptr, len)) {
		memcpy((void *)(uintptr_t)uptr, src, len);
		return 0;
	}
	return vm_xfer(getpid(), uptr, (void *)src, len, 1);
}

static int self_check_zeroed(void *priv, uint64_t uptr, size_t len)
{
	return vm_zeroed_by(self_read, priv, uptr, len);
}

static int self_get_fd(void *priv, int fd)
{
	int nfd;

	(void)priv;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return nfd < 0 ? -EBADF : nfd;
}

/*
 * Files get an empty memfd each: a real descriptor, so numbers are unique
 * and dup and fork behave, with an inode of its own (eventfds all share
 * one) whose identity finds the file again.  Nothing
 * watches it, so ioasid_self_close() is the close that releases the file.
 * A thread runs one ioctl at a time, so one reservation per thread.
 */
static __thread int self_reserved_fd = -1;

static int self_reserve_fd(void *priv, struct ioasid_file *file,
			   uint64_t fd_uptr)
{
	(void)priv;
	(void)file;
	(void)fd_uptr;
	self_reserved_fd = memfd_create("ioasid-file", MFD_CLOEXEC);
	return self_reserved_fd < 0 ? -errno : self_reserved_fd;
}

static void self_commit_fd(void *priv, struct ioasid_file *file, int ok)
{
	(void)priv;
	if (!ok || ioasid_file_register(file, self_reserved_fd)) {
		close(self_reserved_fd);
		/* Registration cannot fail on a descriptor we just made;
		 * if it did, the file would be unreachable: release it. */
		if (ok)
			ioasid_file_put(file);
	}
	self_reserved_fd = -1;
}

static int self_get_file(void *priv, int fd, struct ioasid_file **out)
{
	(void)priv;
	return ioasid_file_lookup(fd, out);
}

static const struct ioasid_uaccess_ops self_uaccess = {
	.read = self_read,
	.write = self_write,
	.check_zeroed = self_check_zeroed,
	.get_fd = self_get_fd,
	.reserve_fd = self_reserve_fd,
	.commit_fd = self_commit_fd,
	.get_file = self_get_file,
};

int ioasid_self_close(int fd)
{
	struct ioasid_file *file;

	if (ioasid_file_lookup(fd, &file))
		return -EBADF;
	ioasid_file_unregister(file);
	close(fd);
	ioasid_file_put(file); /* the lookup's */
	ioasid_file_put(file); /* the descriptor's */
	return 0;
}

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

static long self_file_io(int fd, void *buf, size_t count, bool write)
{
	struct ioasid_caller caller;
	struct ioasid_file *file;
	long rc;

	rc = ioasid_file_lookup(fd, &file);
	if (rc)
		return rc;
	rc = ioasid_caller_self(&caller);
	if (!rc)
		rc = write ? ioasid_file_write(file, &caller, (uintptr_t)buf,
					       count) :
			     ioasid_file_read(file, &caller, (uintptr_t)buf,
					      count);
	ioasid_file_put(file);
	return rc;
}

long ioasid_self_read(int fd, void *buf, size_t count)
{
	return self_file_io(fd, buf, count, false);
}

long ioasid_self_write(int fd, const void *buf, size_t count)
{
	return self_file_io(fd, (void *)buf, count, true);
}
