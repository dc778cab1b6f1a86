/* SPDX-License-Identifier: MIT */
/*
 * libioasid-preload.so: gives an unmodified program a /dev/iommu (and the
 * 2021 design's /dev/ioasid) served by ioasidd.  Only our paths and our
 * fds are touched; every other call goes straight to libc, with errno as
 * libc leaves it.  Nothing here ever exits or aborts the host program.
 */
#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload.h"

#define EXPORT __attribute__((visibility("default")))

struct real_libc real;

void preload_resolve(void)
{
	if (real.open)
		return;
	real.openat = dlsym(RTLD_NEXT, "openat");
	real.close = dlsym(RTLD_NEXT, "close");
	real.ioctl = dlsym(RTLD_NEXT, "ioctl");
	real.fstat = dlsym(RTLD_NEXT, "fstat");
	real.stat = dlsym(RTLD_NEXT, "stat");
	real.lstat = dlsym(RTLD_NEXT, "lstat");
	real.fstatat = dlsym(RTLD_NEXT, "fstatat");
	real.access = dlsym(RTLD_NEXT, "access");
	real.faccessat = dlsym(RTLD_NEXT, "faccessat");
	real.fopen = dlsym(RTLD_NEXT, "fopen");
	real.fopen64 = dlsym(RTLD_NEXT, "fopen64");
	real.freopen = dlsym(RTLD_NEXT, "freopen");
	real.statx = dlsym(RTLD_NEXT, "statx");
	real.close_range = dlsym(RTLD_NEXT, "close_range");
	real.readv = dlsym(RTLD_NEXT, "readv");
	real.getxattr = dlsym(RTLD_NEXT, "getxattr");
	real.lgetxattr = dlsym(RTLD_NEXT, "lgetxattr");
	real.listxattr = dlsym(RTLD_NEXT, "listxattr");
	real.llistxattr = dlsym(RTLD_NEXT, "llistxattr");
	real.writev = dlsym(RTLD_NEXT, "writev");
	real.open = dlsym(RTLD_NEXT, "open");
	real.read = dlsym(RTLD_NEXT, "read");
	real.mmap = dlsym(RTLD_NEXT, "mmap");
	real.munmap = dlsym(RTLD_NEXT, "munmap");
	real.write = dlsym(RTLD_NEXT, "write");
	real.pread = dlsym(RTLD_NEXT, "pread");
	real.pwrite = dlsym(RTLD_NEXT, "pwrite");
	real.dup = dlsym(RTLD_NEXT, "dup");
	real.dup2 = dlsym(RTLD_NEXT, "dup2");
	real.dup3 = dlsym(RTLD_NEXT, "dup3");
	real.fcntl = dlsym(RTLD_NEXT, "fcntl");
	real.fcntl64 = dlsym(RTLD_NEXT, "fcntl64");
	real.recvmsg = dlsym(RTLD_NEXT, "recvmsg");
	real.readlink = dlsym(RTLD_NEXT, "readlink");
	real.readlinkat = dlsym(RTLD_NEXT, "readlinkat");
	real.opendir = dlsym(RTLD_NEXT, "opendir");
	real.realpath = dlsym(RTLD_NEXT, "realpath");
	real.recvmmsg = dlsym(RTLD_NEXT, "recvmmsg");
	real.sigaction = dlsym(RTLD_NEXT, "sigaction");
	real.signal = dlsym(RTLD_NEXT, "signal");
	real.sysv_signal = dlsym(RTLD_NEXT, "sysv_signal");
}

__attribute__((constructor)) static void preload_init(void)
{
	preload_resolve();
	fail_nth_init();
	client_init();
}

bool preload_is_device_path(const char *path)
{
	/* libc declares path nonnull; programs still pass NULL by mistake. */
	const char *volatile p = path;

	/* /dev/vfio/vfio is iommufd's VFIO container, as the kernel's is
	 * when iommufd provides it. */
	return p && (!strcmp(path, "/dev/iommu") || !strcmp(path, "/dev/ioasid") ||
		     !strcmp(path, "/dev/vfio/vfio"));
}

/* misc major 10; the minor is ours to pick, and stays the same everywhere. */
#define IOASID_DEV_MINOR 126

void preload_fill_chardev_stat(struct stat *st, ino_t ino)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0660;
	st->st_nlink = 1;
	st->st_rdev = makedev(10, IOASID_DEV_MINOR);
	st->st_dev = makedev(0, 5); /* devtmpfs-like */
	st->st_ino = ino;
	st->st_blksize = 4096;
}

void preload_fill_anon_stat(struct stat *st, ino_t ino)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IRUSR | S_IWUSR; /* no file type, like anon_inode */
	st->st_nlink = 1;
	st->st_dev = makedev(0, 14); /* the anonymous-inode filesystem's */
	st->st_ino = ino;
	st->st_blksize = 4096;
}

static int set_errno(int rc)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

/* ---- open family -------------------------------------------------------- */

static int our_open(int flags)
{
	return set_errno(client_open(flags));
}

static mode_t va_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
		       va_arg(ap, mode_t) : 0;
}

/* prefix, then a number N and nothing after it: N, or -1. */
static int path_index(const char *path, const char *prefix)
{
	const char *volatile p = path;
	size_t len = strlen(prefix);
	unsigned int n;
	int end = 0;

	if (!p || strncmp(path, prefix, len) ||
	    sscanf(path + len, "%u%n", &n, &end) != 1 || path[len + end] ||
	    n > INT32_MAX)
		return -1;
	return (int)n;
}

/* /dev/vfio/devices/vfioN: N, or -1. */
static int vfio_device_index(const char *path)
{
	return path_index(path, "/dev/vfio/devices/vfio");
}

/* /dev/vfio/N: N, or -1. */
static int vfio_group_index(const char *path)
{
	return path_index(path, "/dev/vfio/");
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	char view[PATH_MAX];
	int fd, index;

	preload_resolve();
	if (preload_is_device_path(path))
		return our_open(flags);
	index = vfio_device_index(path);
	if (index >= 0)
		return set_errno(client_open_device((unsigned int)index, flags,
						    false));
	index = vfio_group_index(path);
	if (index >= 0)
		return set_errno(client_open_device((unsigned int)index, flags,
						    true));
	if ((fd = proc_status_open(path, flags)) >= 0)
		return fd;
	if ((fd = fail_nth_open(path, flags)) >= 0)
		return fd;
	path = sysview_path(path, view, sizeof(view));
	if (dirfd == AT_FDCWD)
		fd = real.open(path, flags, mode);
	else
		fd = real.openat(dirfd, path, flags, mode);
	/* A path opens no socket: its close needs no look. */
	if (fd >= 0)
		client_fd_not_ours(fd);
	if (fd < 0 && errno == ENOENT) {
		int sink = fail_nth_debugfs_open(dirfd, path, flags);

		if (sink >= 0)
			return sink;
		errno = ENOENT;
	}
	return fd;
}

/* close(2) and dup3(2) as the wrappers below do them, for the shim's
 * own use (it never calls a wrapped symbol: tests/unit/shim_calls.py). */
static int do_close(int fd)
{
	bool ours = client_fd_is_ours(fd);
	int rc;

	fail_nth_close(fd);
	kvm_forget(fd);
	if (ours) {
		client_quiesce_begin();
		client_fd_closing(fd);
	}
	client_fd_forget(fd);
	rc = real.close(fd);
	if (ours)
		client_quiesce_end();
	return rc;
}

/* dup2/dup3 close newfd first: the same care as close(). */
static int do_dup3(int fd, int newfd, int flags)
{
	bool ours = client_fd_is_ours(newfd);
	int rc;

	if (ours) {
		client_quiesce_begin();
		client_fd_closing(newfd);
	}
	rc = flags >= 0 ? real.dup3(fd, newfd, flags) : real.dup2(fd, newfd);
	client_fd_maybe_ours(rc);
	if (ours)
		client_quiesce_end();
	return rc;
}

#define OPEN_MODE(flags, last, mode)           \
	do {                                   \
		va_list ap;                    \
		va_start(ap, last);            \
		mode = va_mode(flags, ap);     \
		va_end(ap);                    \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return do_openat(AT_FDCWD, path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return do_openat(AT_FDCWD, path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return do_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return do_openat(dirfd, path, flags, mode);
}

/* Fortified builds call these when the mode argument is absent. */
EXPORT int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

EXPORT int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

/*
 * stdio opens files without going through open(): catch it here too.  A
 * stream of our device (or of a fail-nth file) is a stream over the
 * descriptor our open() gives.
 */
static int stdio_flags(const char *mode)
{
	int flags;

	switch (mode[0]) {
	case 'r':
		flags = O_RDONLY;
		break;
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return -1;
	}
	for (const char *m = mode + 1; *m && *m != ','; m++) {
		if (*m == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*m == 'e')
			flags |= O_CLOEXEC;
		else if (*m == 'x')
			flags |= O_EXCL;
	}
	return flags;
}

/* Our file behind path opened for a stream: its fd, -1 with errno, or -2
 * when path is not ours at all. */
static int stdio_open_ours(const char *path, const char *mode)
{
	int flags, fd;

	if (!mode || (!preload_is_device_path(path) && !fail_nth_names(path)))
		return -2;
	flags = stdio_flags(mode);
	if (flags < 0) {
		errno = EINVAL;
		return -1;
	}
	fd = do_openat(AT_FDCWD, path, flags, 0666);
	return fd;
}

static FILE *do_fopen(const char *path, const char *mode,
		      FILE *(*next)(const char *, const char *))
{
	FILE *f;
	int fd;

	preload_resolve();
	f = proc_status_fopen(path, mode);
	if (f)
		return f;
	fd = stdio_open_ours(path, mode);
	if (fd == -2) {
		char view[PATH_MAX];

		return next(sysview_path(path, view, sizeof(view)), mode);
	}
	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f) {
		int saved = errno;

		do_close(fd);
		errno = saved;
	}
	return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	preload_resolve();
	return do_fopen(path, mode, real.fopen);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	preload_resolve();
	return do_fopen(path, mode, real.fopen64);
}

/* The stream stays; its descriptor becomes a new one of ours. */
EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	int fd, old;

	preload_resolve();
	fd = path ? stdio_open_ours(path, mode) : -2;
	if (fd == -2)
		return real.freopen(path, mode, stream);
	if (fd < 0)
		return NULL;
	fflush(stream);
	old = fileno(stream);
	if (old < 0 || do_dup3(fd, old, (stdio_flags(mode) & O_CLOEXEC)) < 0) {
		int saved = old < 0 ? EBADF : errno;

		do_close(fd);
		errno = saved;
		return NULL;
	}
	do_close(fd);
	clearerr(stream);
	return stream;
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	return freopen(path, mode, stream);
}

/* ---- ioctl, close ------------------------------------------------------- */

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	enum client_kind kind;
	va_list ap;
	unsigned long arg;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	preload_resolve();
	kind = client_fd_kind(fd, NULL);
	if (kind != CLIENT_NOT_OURS) {
		long rc = client_ioctl(fd, kind, request, arg);

		if (rc < 0) {
			errno = (int)-rc;
			return -1;
		}
		return (int)rc;
	}
	{
		long rc;

		/* errno is set already when it fails. */
		if (kvm_ioctl(fd, request, arg, &rc))
			return (int)rc;
	}
	return real.ioctl(fd, request, arg);
}

/* ---- read, write: our files' own (a fault queue's records) ------------- */

static ssize_t file_io(int fd, void *buf, size_t count, bool write)
{
	long rc = client_file_io(fd, buf, count, write);

	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	preload_resolve();
	if (client_fd_is_ours(fd))
		return file_io(fd, buf, count, false);
	if (fail_nth_is_fd(fd))
		return fail_nth_read(fd, buf, count);
	return real.read(fd, buf, count);
}

/* Only fail-nth files are ours to read at an offset (they have one
 * answer, at 0); sockets, ours included, cannot be. */
static ssize_t file_pio(int fd, void *buf, size_t count, off_t off,
			bool write)
{
	long rc;

	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	rc = client_file_pio(fd, buf, count, off, write);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t off)
{
	preload_resolve();
	if (fail_nth_is_fd(fd))
		return off ? 0 : fail_nth_read(fd, buf, count);
	/* A VFIO device's regions are read at their offsets. */
	if (client_fd_is_vfio(fd))
		return file_pio(fd, buf, count, off, false);
	return real.pread(fd, buf, count, off);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t count, off_t off)
{
	return pread(fd, buf, count, off);
}

/* What pread() becomes in programs built with _FORTIFY_SOURCE (QEMU). */
EXPORT ssize_t __pread_chk(int fd, void *buf, size_t count, off_t off,
			   size_t buflen)
{
	if (count > buflen)
		__builtin_trap(); /* glibc's own check would abort here */
	return pread(fd, buf, count, off);
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t count, off_t off,
			     size_t buflen)
{
	return __pread_chk(fd, buf, count, off, buflen);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
	preload_resolve();
	if (fail_nth_is_fd(fd))
		return fail_nth_write(fd, buf, count);
	if (client_fd_is_vfio(fd))
		return file_pio(fd, (void *)buf, count, off, true);
	return real.pwrite(fd, buf, count, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off)
{
	return pwrite(fd, buf, count, off);
}

/* What read() becomes in programs built with _FORTIFY_SOURCE. */
EXPORT ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
	if (count > buflen)
		__builtin_trap(); /* glibc's own check would abort here */
	return read(fd, buf, count);
}

EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	preload_resolve();
	if (client_fd_is_ours(fd))
		return file_io(fd, (void *)buf, count, true);
	if (fail_nth_is_fd(fd))
		return fail_nth_write(fd, buf, count);
	return real.write(fd, buf, count);
}

/*
 * readv/writev on our files: one read or write of the daemon's, through
 * a bounce buffer (our files' messages are small: fault records, event
 * records).  Other descriptors go straight to libc.
 */
/* A buffer for the bytes of iov (at least one), or NULL with errno. */
static char *bounce_buffer(const struct iovec *iov, int n, size_t *total)
{
	char *buf;

	*total = 0;
	if (n < 0 || n > IOV_MAX) {
		errno = EINVAL;
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - *total) {
			errno = EINVAL;
			return NULL;
		}
		*total += iov[i].iov_len;
	}
	buf = malloc(*total ? *total : 1);
	if (!buf)
		errno = ENOMEM;
	return buf;
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	size_t total, done = 0;
	ssize_t got;
	char *buf;

	preload_resolve();
	if (!client_fd_is_ours(fd) && !fail_nth_is_fd(fd))
		return real.readv(fd, iov, n);
	buf = bounce_buffer(iov, n, &total);
	if (!buf)
		return -1;
	got = client_fd_is_ours(fd) ? file_io(fd, buf, total, false) :
				      fail_nth_read(fd, buf, total);
	for (int i = 0; got > 0 && i < n && done < (size_t)got; i++) {
		size_t left = (size_t)got - done;
		size_t part = iov[i].iov_len < left ? iov[i].iov_len : left;

		memcpy(iov[i].iov_base, buf + done, part);
		done += part;
	}
	free(buf);
	return got;
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	size_t total, done = 0;
	ssize_t rc;
	char *buf;

	preload_resolve();
	if (!client_fd_is_ours(fd) && !fail_nth_is_fd(fd))
		return real.writev(fd, iov, n);
	buf = bounce_buffer(iov, n, &total);
	if (!buf)
		return -1;
	for (int i = 0; i < n; i++) {
		memcpy(buf + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	rc = client_fd_is_ours(fd) ? file_io(fd, buf, total, true) :
				     fail_nth_write(fd, buf, total);
	free(buf);
	return rc;
}

/* ---- mmap, munmap: a context's regions (a vIOMMU's registers) --------- */

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t offset)
{
	preload_resolve();
	if (fd >= 0 && !(flags & MAP_ANONYMOUS) && client_fd_is_ours(fd)) {
		int err = 0;
		void *p;

		/* The daemon's files have nothing to map, as the kernel's;
		 * a VFIO device's BARs do. */
		if (client_fd_is_file(fd) && !client_fd_is_vfio(fd)) {
			errno = ENODEV;
			return MAP_FAILED;
		}
		p = client_mmap(addr, len, prot, flags, fd, offset, &err);
		if (p == MAP_FAILED)
			errno = err;
		return p;
	}
	return real.mmap(addr, len, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off64_t offset)
{
	return mmap(addr, len, prot, flags, fd, (off_t)offset);
}

EXPORT int munmap(void *addr, size_t len)
{
	preload_resolve();
	client_munmap(addr, len);
	return real.munmap(addr, len);
}

EXPORT int close(int fd)
{
	preload_resolve();
	return do_close(fd);
}

/* Every number in the range is forgotten as close() forgets one (only
 * numbers below the recognition cache's end are remembered at all). */
EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int rc;

	preload_resolve();
	if (flags & CLOSE_RANGE_CLOEXEC)
		return real.close_range(first, last, flags);
	client_quiesce_begin();
	client_fd_closing(-1);
	for (unsigned int fd = first;
	     fd <= last && fd < (unsigned int)CLIENT_FD_CACHE; fd++) {
		client_fd_closing((int)fd);
		client_fd_forget((int)fd);
		fail_nth_close((int)fd);
	}
	rc = real.close_range(first, last, flags);
	client_quiesce_end();
	return rc;
}

/*
 * ---- calls that may copy one of our fds to a new number ----------------
 * Whatever the new number was before, it must be looked at afresh (see
 * the recognition cache in client.c).
 */

EXPORT int dup(int fd)
{
	int rc;

	preload_resolve();
	rc = real.dup(fd);
	client_fd_maybe_ours(rc);
	return rc;
}

EXPORT int dup2(int fd, int newfd)
{
	preload_resolve();
	return do_dup3(fd, newfd, -1);
}

EXPORT int dup3(int fd, int newfd, int flags)
{
	preload_resolve();
	return do_dup3(fd, newfd, flags);
}

/* fcntl's third argument is an int or a pointer: a register either way,
 * passed on as it came. */
static int fcntl_common(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
	int rc = fn(fd, cmd, arg);

	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		client_fd_maybe_ours(rc);
	return rc;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	preload_resolve();
	return fcntl_common(real.fcntl, fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	preload_resolve();
	return fcntl_common(real.fcntl64 ? real.fcntl64 : real.fcntl, fd, cmd,
			    arg);
}

static void received_fds(const struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			client_fd_maybe_ours(fd);
		}
	}
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t rc;

	preload_resolve();
	rc = real.recvmsg(fd, msg, flags);
	if (rc >= 0 && msg->msg_controllen)
		received_fds(msg);
	return rc;
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
		    struct timespec *timeout)
{
	int rc;

	preload_resolve();
	rc = real.recvmmsg(fd, vec, n, flags, timeout);
	for (int i = 0; i < rc; i++)
		if (vec[i].msg_hdr.msg_controllen)
			received_fds(&vec[i].msg_hdr);
	return rc;
}

/* ---- stat family: our node and fds look like a character device -------- */

static int do_fstat(int fd, struct stat *st)
{
	if (client_fd_is_ours(fd)) {
		struct stat sock;
		dev_t node;
		enum client_kind kind = client_fd_kind(fd, &node);

		if (real.fstat(fd, &sock))
			return -1;
		/* A VFIO node's file is that node, as the kernel's cdevs; the
		 * device files a group hands out are anonymous. */
		if (node)
			sysview_fill_node_stat(st, node);
		else if (kind > CLIENT_CONNECTION)
			preload_fill_anon_stat(st, sock.st_ino);
		else
			preload_fill_chardev_stat(st, sock.st_ino);
		return 0;
	}
	return real.fstat(fd, st);
}

EXPORT int fstat(int fd, struct stat *st)
{
	preload_resolve();
	return do_fstat(fd, st);
}

/* On 64-bit targets struct stat64 and struct stat are the same layout. */
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 layout");

EXPORT int fstat64(int fd, struct stat64 *st)
{
	return fstat(fd, (struct stat *)st);
}

EXPORT int stat(const char *path, struct stat *st)
{
	char view[PATH_MAX];

	preload_resolve();
	if (preload_is_device_path(path)) {
		preload_fill_chardev_stat(st, 1);
		return 0;
	}
	if (sysview_node_stat(path, st))
		return 0;
	return real.stat(sysview_path(path, view, sizeof(view)), st);
}

EXPORT int stat64(const char *path, struct stat64 *st)
{
	return stat(path, (struct stat *)st);
}

EXPORT int lstat(const char *path, struct stat *st)
{
	char view[PATH_MAX];

	preload_resolve();
	if (preload_is_device_path(path)) {
		preload_fill_chardev_stat(st, 1);
		return 0;
	}
	if (sysview_node_stat(path, st))
		return 0;
	return real.lstat(sysview_path(path, view, sizeof(view)), st);
}

EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return lstat(path, (struct stat *)st);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	/* Declared nonnull, passed NULL by some programs all the same. */
	const char *volatile maybe_null = path;
	char view[PATH_MAX];

	preload_resolve();
	if (preload_is_device_path(path)) {
		preload_fill_chardev_stat(st, 1);
		return 0;
	}
	if (sysview_node_stat(path, st))
		return 0;
	if (maybe_null && !*path && (flags & AT_EMPTY_PATH) &&
	    client_fd_is_ours(dirfd))
		return do_fstat(dirfd, st);
	return real.fstatat(dirfd, sysview_path(path, view, sizeof(view)), st,
			    flags);
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat(dirfd, path, (struct stat *)st, flags);
}

/* What statx(2) reports of a struct stat we made up. */
static void statx_from_stat(struct statx *stx, const struct stat *st,
			    unsigned int mask)
{
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS & (mask | STATX_BASIC_STATS);
	stx->stx_blksize = (uint32_t)st->st_blksize;
	stx->stx_nlink = (uint32_t)st->st_nlink;
	stx->stx_uid = st->st_uid;
	stx->stx_gid = st->st_gid;
	stx->stx_mode = (uint16_t)st->st_mode;
	stx->stx_ino = st->st_ino;
	stx->stx_size = (uint64_t)st->st_size;
	stx->stx_blocks = (uint64_t)st->st_blocks;
	stx->stx_rdev_major = major(st->st_rdev);
	stx->stx_rdev_minor = minor(st->st_rdev);
	stx->stx_dev_major = major(st->st_dev);
	stx->stx_dev_minor = minor(st->st_dev);
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		 struct statx *stx)
{
	const char *volatile maybe_null = path;
	char view[PATH_MAX];
	struct stat st;

	preload_resolve();
	if (preload_is_device_path(path) || sysview_node_stat(path, &st)) {
		if (preload_is_device_path(path))
			preload_fill_chardev_stat(&st, 1);
		statx_from_stat(stx, &st, mask);
		return 0;
	}
	if (maybe_null && !*path && (flags & AT_EMPTY_PATH) &&
	    client_fd_is_ours(dirfd)) {
		if (do_fstat(dirfd, &st))
			return -1;
		statx_from_stat(stx, &st, mask);
		return 0;
	}
	return real.statx(dirfd, sysview_path(path, view, sizeof(view)), flags,
			  mask, stx);
}

/*
 * The stat entry points of binaries linked against glibc before 2.33,
 * which glibc still serves them.  On x86-64 every version of the
 * structure is struct stat.
 */
EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return stat(path, st);
}

EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	(void)ver;
	return stat(path, (struct stat *)st);
}

EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return lstat(path, st);
}

EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	(void)ver;
	return lstat(path, (struct stat *)st);
}

EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	(void)ver;
	return fstat(fd, st);
}

EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	(void)ver;
	return fstat(fd, (struct stat *)st);
}

EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st,
		      int flags)
{
	(void)ver;
	return fstatat(dirfd, path, st, flags);
}

EXPORT int __fxstatat64(int ver, int dirfd, const char *path,
			struct stat64 *st, int flags)
{
	(void)ver;
	return fstatat(dirfd, path, (struct stat *)st, flags);
}

/*
 * Extended attributes of the device node (ls -l asks for ACLs): it has
 * none, as a devtmpfs node without a security module has none.
 */
static ssize_t no_xattr(const char *path, const char *name, void *value,
			size_t size, bool list,
			ssize_t (*next_get)(const char *, const char *, void *,
					    size_t),
			ssize_t (*next_list)(const char *, char *, size_t))
{
	preload_resolve();
	if (preload_is_device_path(path)) {
		if (list)
			return 0;
		errno = ENODATA;
		return -1;
	}
	return list ? next_list(path, value, size) :
		      next_get(path, name, value, size);
}

EXPORT ssize_t getxattr(const char *path, const char *name, void *value,
			size_t size)
{
	return no_xattr(path, name, value, size, false, real.getxattr, NULL);
}

EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value,
			 size_t size)
{
	return no_xattr(path, name, value, size, false, real.lgetxattr, NULL);
}

EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	return no_xattr(path, NULL, list, size, true, NULL, real.listxattr);
}

EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	return no_xattr(path, NULL, list, size, true, NULL, real.llistxattr);
}

EXPORT int access(const char *path, int mode)
{
	char view[PATH_MAX];

	preload_resolve();
	if (preload_is_device_path(path))
		return (mode & X_OK) ? (errno = EACCES, -1) : 0;
	return real.access(sysview_path(path, view, sizeof(view)), mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	char view[PATH_MAX];

	preload_resolve();
	if (preload_is_device_path(path))
		return (mode & X_OK) ? (errno = EACCES, -1) : 0;
	return real.faccessat(dirfd, sysview_path(path, view, sizeof(view)),
			      mode, flags);
}

/* ---- the daemon's view of /sys: links, directories, names ------------- */

EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	char view[PATH_MAX];

	preload_resolve();
	return real.readlink(sysview_path(path, view, sizeof(view)), buf, size);
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	char view[PATH_MAX];

	preload_resolve();
	return real.readlinkat(dirfd, sysview_path(path, view, sizeof(view)),
			       buf, size);
}

EXPORT DIR *opendir(const char *path)
{
	char view[PATH_MAX];

	preload_resolve();
	return real.opendir(sysview_path(path, view, sizeof(view)));
}

/* A path in the view resolves to its /sys name, as the kernel's would. */
EXPORT char *realpath(const char *path, char *resolved)
{
	char view[PATH_MAX];
	const char *where;

	preload_resolve();
	where = sysview_path(path, view, sizeof(view));
	if (where == path)
		return real.realpath(path, resolved);
	return sysview_unroot(real.realpath(where, resolved));
}
