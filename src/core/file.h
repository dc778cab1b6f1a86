/* SPDX-License-Identifier: MIT */
/*
 * Files: objects the caller holds as descriptors of their own, as the
 * kernel hands out anonymous-inode files (the selftest access fd; later
 * the fault and event-queue fds).  A file holds its context, so the
 * context outlives the /dev/iommu descriptor until its files are closed.
 */
#ifndef IOASID_CORE_FILE_H
#define IOASID_CORE_FILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ioasid/ioasid.h"

struct ioasid_ctx;

struct ioasid_file_ops {
	const char *name; /* what the kernel's anon inode is called */
	/* The last reference is gone: undo everything.  Never fails. */
	void (*release)(struct ioasid_file *file);
	/*
	 * Optional, as the kernel's file operations: read(2) and write(2)
	 * of count bytes at the caller's uptr (bytes done, or -errno), and
	 * what poll(2) would say (POLLIN and friends).  A file without
	 * read or write answers -EINVAL, as a file without the op does.
	 */
	long (*read)(struct ioasid_file *file, const struct ioasid_caller *c,
		     uint64_t uptr, size_t count);
	long (*write)(struct ioasid_file *file, const struct ioasid_caller *c,
		      uint64_t uptr, size_t count);
	unsigned int (*poll)(struct ioasid_file *file);
	/*
	 * Optional too: ioctl(2) (a file without it answers -ENOTTY),
	 * pread(2) and pwrite(2) at a file offset, and mmap(2): a new
	 * descriptor of the memory to map and, in *fd_off, where in it.
	 */
	long (*ioctl)(struct ioasid_file *file, const struct ioasid_caller *c,
		      unsigned int cmd, unsigned long arg);
	long (*pread)(struct ioasid_file *file, const struct ioasid_caller *c,
		      uint64_t uptr, size_t count, uint64_t off);
	long (*pwrite)(struct ioasid_file *file, const struct ioasid_caller *c,
		       uint64_t uptr, size_t count, uint64_t off);
	int (*mmap)(struct ioasid_file *file, uint64_t off, uint64_t len,
		    int prot, int flags, uint64_t *fd_off, uint64_t *trap_len);
};

struct ioasid_file {
	const struct ioasid_file_ops *ops;
	struct ioasid_ctx *ctx; /* a reference, or NULL */
	atomic_uint refs;
	/* The transport's, told when what poll says may have changed. */
	pthread_mutex_t notify_lock;
	void (*notify)(void *priv);
	void *notify_priv;
	/* The registry of descriptors: see ioasid_file_register(). */
	dev_t dev;
	ino_t ino;
	struct ioasid_file *reg_next;
};

/*
 * One reference, held by the creator; the file takes one on ctx, which is
 * NULL for a file that belongs to no context (a dma-buf an exporter
 * lends to any importer).
 */
void ioasid_file_init(struct ioasid_file *file,
		      const struct ioasid_file_ops *ops, struct ioasid_ctx *ctx);

/* What poll says of file may have changed: tell whoever watches it. */
void ioasid_file_notify(struct ioasid_file *file);

static inline void ioasid_file_get(struct ioasid_file *file)
{
	atomic_fetch_add_explicit(&file->refs, 1, memory_order_relaxed);
}

struct ioasid_ucmd;

/*
 * The caller's descriptor `fd` as a file with `ops`: a reference the
 * caller drops with ioasid_file_put(), or -EBADFD (what the kernel says of
 * a descriptor that is not that kind of file, or of no file at all).
 */
int ucmd_get_file(struct ioasid_ucmd *u, int fd,
		  const struct ioasid_file_ops *ops, struct ioasid_file **out);

/*
 * Reserve the caller's descriptor for `file` (see reserve_fd in
 * ioasid.h): returns the number to report at fd_uptr, or -errno.  If the
 * ioctl then succeeds the transport takes over the creator's reference.
 */
int ucmd_reserve_fd(struct ioasid_ucmd *u, struct ioasid_file *file,
		    uint64_t fd_uptr);

#endif
