/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context.h"
#include "file.h"
#include "rcu.h"
#include "ucmd.h"

void ioasid_file_init(struct ioasid_file *file,
		      const struct ioasid_file_ops *ops, struct ioasid_ctx *ctx)
{
	file->ops = ops;
	file->ctx = ctx;
	if (ctx)
		ioasid_ctx_get(ctx);
	atomic_init(&file->refs, 1);
	pthread_mutex_init(&file->notify_lock, NULL);
	file->notify = NULL;
}

void ioasid_file_set_notify(struct ioasid_file *file, void (*fn)(void *priv),
			    void *priv)
{
	pthread_mutex_lock(&file->notify_lock);
	file->notify = fn;
	file->notify_priv = priv;
	pthread_mutex_unlock(&file->notify_lock);
}

void ioasid_file_notify(struct ioasid_file *file)
{
	pthread_mutex_lock(&file->notify_lock);
	if (file->notify)
		file->notify(file->notify_priv);
	pthread_mutex_unlock(&file->notify_lock);
}

long ioasid_file_read(struct ioasid_file *file,
		      const struct ioasid_caller *caller, uint64_t uptr,
		      size_t count)
{
	if (!file->ops->read)
		return -EINVAL;
	return file->ops->read(file, caller, uptr, count);
}

long ioasid_file_write(struct ioasid_file *file,
		       const struct ioasid_caller *caller, uint64_t uptr,
		       size_t count)
{
	if (!file->ops->write)
		return -EINVAL;
	return file->ops->write(file, caller, uptr, count);
}

long ioasid_file_ioctl(struct ioasid_file *file,
		       const struct ioasid_caller *caller, unsigned int cmd,
		       unsigned long arg)
{
	if (!file->ops->ioctl)
		return -ENOTTY;
	return file->ops->ioctl(file, caller, cmd, arg);
}

long ioasid_file_pread(struct ioasid_file *file,
		       const struct ioasid_caller *caller, uint64_t uptr,
		       size_t count, uint64_t off)
{
	if (!file->ops->pread)
		return file->ops->read ? -ESPIPE : -EINVAL;
	return file->ops->pread(file, caller, uptr, count, off);
}

long ioasid_file_pwrite(struct ioasid_file *file,
			const struct ioasid_caller *caller, uint64_t uptr,
			size_t count, uint64_t off)
{
	if (!file->ops->pwrite)
		return file->ops->write ? -ESPIPE : -EINVAL;
	return file->ops->pwrite(file, caller, uptr, count, off);
}

int ioasid_file_mmap(struct ioasid_file *file, uint64_t off, uint64_t len,
		     int prot, int flags, uint64_t *fd_off, uint64_t *trap_len)
{
	*trap_len = 0;
	if (!file->ops->mmap)
		return -ENODEV;
	return file->ops->mmap(file, off, len, prot, flags, fd_off, trap_len);
}

const char *ioasid_file_name(const struct ioasid_file *file)
{
	return file->ops->name;
}

unsigned int ioasid_file_poll(struct ioasid_file *file)
{
	return file->ops->poll ? file->ops->poll(file) : 0;
}

void ioasid_file_put(struct ioasid_file *file)
{
	struct ioasid_ctx *ctx;

	if (atomic_fetch_sub_explicit(&file->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Read after the last put: a file may be bound while shared. */
	ctx = file->ctx;
	pthread_mutex_destroy(&file->notify_lock);
	file->ops->release(file);
	/* Last: the release may still need the context's objects. */
	ioasid_ctx_put(ctx);
	ioasid_wait_releases();
}

int ucmd_get_file(struct ioasid_ucmd *u, int fd,
		  const struct ioasid_file_ops *ops, struct ioasid_file **out)
{
	const struct ioasid_uaccess_ops *ua = u->caller->uaccess;
	struct ioasid_file *file;

	if (fd < 0 || !ua->get_file ||
	    ua->get_file(u->caller->uaccess_priv, fd, &file))
		return -EBADFD;
	if (file->ops != ops) {
		ioasid_file_put(file);
		return -EBADFD;
	}
	*out = file;
	return 0;
}

int ucmd_reserve_fd(struct ioasid_ucmd *u, struct ioasid_file *file,
		    uint64_t fd_uptr)
{
	const struct ioasid_uaccess_ops *ua = u->caller->uaccess;
	int rc;

	if (!ua->reserve_fd || !ua->commit_fd)
		return -EOPNOTSUPP;
	if (u->new_file)
		return -EINVAL; /* one per ioctl: a handler bug */
	rc = ua->reserve_fd(u->caller->uaccess_priv, file, fd_uptr);
	if (rc >= 0)
		u->new_file = file;
	return rc;
}

/*
 * The registry.  Files are few (one per access or event queue), so a
 * list under one lock is enough.
 */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ioasid_file *registry;

int ioasid_file_register(struct ioasid_file *file, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	pthread_mutex_lock(&registry_lock);
	file->reg_next = registry;
	registry = file;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

void ioasid_file_unregister(struct ioasid_file *file)
{
	struct ioasid_file **link;

	pthread_mutex_lock(&registry_lock);
	for (link = &registry; *link; link = &(*link)->reg_next) {
		if (*link == file) {
			*link = file->reg_next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

int ioasid_file_lookup(int fd, struct ioasid_file **out)
{
	struct ioasid_file *file;
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return -EBADF;
	pthread_mutex_lock(&registry_lock);
	for (file = registry; file; file = file->reg_next)
		if (file->dev == st.st_dev && file->ino == st.st_ino)
			break;
	if (file)
		ioasid_file_get(file);
	pthread_mutex_unlock(&registry_lock);
	if (!file)
		return -EBADF;
	*out = file;
	return 0;
}
