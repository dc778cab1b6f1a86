/* SPDX-License-Identifier: MIT */
/* libioasid-preload internals: libc's own functions and our fd bookkeeping. */
#ifndef IOASID_PRELOAD_PRELOAD_H
#define IOASID_PRELOAD_PRELOAD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

struct real_libc {
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*close)(int);
	int (*ioctl)(int, unsigned long, ...);
	int (*fstat)(int, struct stat *);
	int (*stat)(const char *, struct stat *);
	int (*lstat)(const char *, struct stat *);
	int (*fstatat)(int, const char *, struct stat *, int);
	int (*access)(const char *, int);
	int (*faccessat)(int, const char *, int, int);
	FILE *(*fopen)(const char *, const char *);
	FILE *(*fopen64)(const char *, const char *);
	FILE *(*freopen)(const char *, const char *, FILE *);
	int (*statx)(int, const char *, int, unsigned int, struct statx *);
	int (*close_range)(unsigned int, unsigned int, int);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*getxattr)(const char *, const char *, void *, size_t);
	ssize_t (*lgetxattr)(const char *, const char *, void *, size_t);
	ssize_t (*listxattr)(const char *, char *, size_t);
	ssize_t (*llistxattr)(const char *, char *, size_t);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int,
			struct timespec *);
	ssize_t (*readlink)(const char *, char *, size_t);
	ssize_t (*readlinkat)(int, const char *, char *, size_t);
	void *(*opendir)(const char *);
	char *(*realpath)(const char *, char *);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	sighandler_t (*signal)(int, sighandler_t);
	sighandler_t (*sysv_signal)(int, sighandler_t);
};

extern struct real_libc real;
void preload_resolve(void);

/* The paths that name our device. */
bool preload_is_device_path(const char *path);

/*
 * The daemon's view of /sys and /dev/vfio (sysview.c): path, or where
 * under the view's root it is (in buf) when it is there.
 * sysview_node_stat fills st for a VFIO device node and says so;
 * sysview_unroot maps a resolved path in the view back to its name.
 */
const char *sysview_path(const char *path, char *buf, size_t cap);
bool sysview_node_stat(const char *path, struct stat *st);
/* What stat shows of a VFIO device or group node (and fstat of its fd). */
void sysview_fill_node_stat(struct stat *st, dev_t node);
char *sysview_unroot(char *resolved);

/* Make fork() safe for the shim's locks; once, at load. */
void client_init(void);
/*
 * Around a close of one of our descriptors (or a dup onto one): no
 * exchange of this process is in flight meanwhile, so the record lock an
 * exchange holds on the connection cannot go with the close.
 */
void client_quiesce_begin(void);
void client_quiesce_end(void);
/* Inside client_quiesce: fd (-1: some fd or other of ours) is about to
 * close.  The request slots all go back to the socket, which sees the
 * close first; fd's own is unmapped. */
void client_fd_closing(int fd);
/* Connect a new context; returns the fd or -errno (-EIO: no daemon). */
int client_open(int oflags);
/* open(2) of /dev/vfio/devices/vfio<index>: the fd, or -errno. */
int client_open_device(unsigned int index, int oflags, bool group);
/* What fd is to us: one fstat(2) for a socket of ours (its peer's name
 * is looked at once).  node (may be NULL) gets the device node a VFIO
 * file was opened as, or 0. */
enum client_kind {
	CLIENT_NOT_OURS,
	CLIENT_CONNECTION, /* /dev/iommu (or /dev/vfio/vfio) */
	CLIENT_VFIO_DEVICE,
	CLIENT_VFIO_GROUP,
	CLIENT_OTHER_FILE, /* a fault queue and the like */
};
enum client_kind client_fd_kind(int fd, dev_t *node);
/* A VFIO device file of ours. */
bool client_fd_is_vfio(int fd);
/* Is fd a connection to an ioasid daemon?  Cheap when it is not a socket. */
bool client_fd_is_ours(int fd);
/* Is fd one of the files the daemon hands out (not /dev/iommu itself)? */
bool client_fd_is_file(int fd);
/* Numbers from here up are not remembered (client_fd_forget needs none). */
#define CLIENT_FD_CACHE 4096
/* fd was just made by opening a path: it cannot be ours. */
void client_fd_not_ours(int fd);
/* Forget an fd about to be closed. */
void client_fd_forget(int fd);
/* fd was just made, maybe as a copy of one of ours: look at it afresh. */
void client_fd_maybe_ours(int fd);
/* Run one ioctl through the daemon on fd, of the kind client_fd_kind
 * said; returns its result or -errno. */
long client_ioctl(int fd, enum client_kind kind, unsigned long cmd,
		  unsigned long arg);
/*
 * mmap(2) of /dev/iommu: the region the daemon gives mapped as asked
 * (MAP_FAILED and *err otherwise); munmap(2) of a range that holds such
 * a mapping whole tells the daemon it is gone.
 */
void *client_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t offset, int *err);
void client_munmap(void *addr, size_t len);
/*
 * Registers of a device mapping whose stores must reach the model as
 * they happen (mmio.c): [start, start + len) of the program's memory,
 * mapped read-only, is at offset in the device file devfd (ours now).
 * remove hands back the descriptor of one trap in the range, or -1.
 */
int mmio_trap_add(uintptr_t start, size_t len, int devfd, uint64_t off);
/* A SIGSEGV at a trapped register, handled (true), or not ours. */
bool mmio_on_fault(siginfo_t *si, void *uc);
/*
 * The program's memory, fault-safe (uaccess.c): 0 or -EFAULT, as
 * copy_from_user and copy_to_user.  shim_zeroed: 1 when all zero, 0 when
 * not, -EFAULT.  shim_own_faults makes SIGSEGV and SIGBUS ours (0 or
 * -errno); the first copy does it.
 */
int shim_read(uint64_t uptr, void *buf, size_t len);
int shim_write(uint64_t uptr, const void *buf, size_t len);
int shim_zeroed(uint64_t uptr, uint64_t len);
int shim_own_faults(void);
/*
 * KVM's VFIO pseudo-device (kvm.c): kvm_ioctl handles an ioctl on a file
 * that is not ours when it is KVM's business with our files (1, and the
 * ioctl's result in *result, -1 with errno set), else leaves it to the
 * kernel (0).  kvm_forget: fd
 * is being closed.  client_kvm_link tells the daemon a VFIO file of ours
 * joins (or leaves) a VM: 0 or -errno.
 */
int kvm_ioctl(int fd, unsigned long request, unsigned long arg, long *result);
void kvm_forget(int fd);
long client_kvm_link(int fd, bool add);
int mmio_trap_remove(uintptr_t start, size_t len);
/*
 * Fault injection (fail_nth.c).  fail_nth_open: a descriptor for a
 * thread's fail-nth file, or -1 when path is not one.
 * fail_nth_debugfs_open: a sink for a fault-injection knob the kernel
 * does not have (call it after the real open failed), or -1.  Requests
 * take the calling thread's count and put back what the daemon left.
 */
/* Whether to serve them at all: only under a test-mode daemon. */
void fail_nth_init(void);
/* Its lock, for fork() (client_init). */
void fail_nth_lock(void);
void fail_nth_unlock(void);
int fail_nth_open(const char *path, int flags);
/* Does path name a thread's fail-nth file we serve? */
bool fail_nth_names(const char *path);
int fail_nth_debugfs_open(int dirfd, const char *path, int flags);
bool fail_nth_is_fd(int fd);
ssize_t fail_nth_read(int fd, void *buf, size_t count);
ssize_t fail_nth_write(int fd, const void *buf, size_t count);
void fail_nth_close(int fd);
uint32_t fail_nth_take(void);
void fail_nth_put_back(uint32_t sent, uint32_t left);

/* read(2) or write(2) on one of our fds, through the daemon. */
long client_file_io(int fd, void *buf, size_t count, bool write);
/* pread(2)/pwrite(2) at off (or read/write with off < 0). */
long client_file_pio(int fd, void *buf, size_t count, int64_t off, bool write);

/*
 * /proc/PID/status with the daemon's VmPin and VmLck added: a descriptor
 * or FILE over the rewritten text, or -1 / NULL when the path is not one
 * we rewrite (or anything fails: then the real file it is).
 */
int proc_status_open(const char *path, int flags);
FILE *proc_status_fopen(const char *path, const char *mode);

/* What stat says about /dev/iommu and our fds: a misc character device;
 * and about the files handed out: an anonymous inode, as the kernel's. */
void preload_fill_chardev_stat(struct stat *st, ino_t ino);
void preload_fill_anon_stat(struct stat *st, ino_t ino);

#endif
