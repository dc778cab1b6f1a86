/* SPDX-License-Identifier: MIT */
/*
 * One ioctl in flight: the kernel-side copy of its argument struct, who
 * called, and how to reach their memory.
 */
#ifndef IOASID_CORE_UCMD_H
#define IOASID_CORE_UCMD_H

#include <stdint.h>

#include "ioasid/ioasid.h"

struct ioasid_ctx;
struct ioasid_object;
struct ioasid_ioctl_desc;

/* Large enough for the biggest argument struct we know (checked in ucmd.c). */
#define IOASID_UCMD_MAX 128

struct ioasid_ucmd {
	/* The context: /dev/iommu's, or the one a VFIO device is bound to
	 * (NULL while it is not). */
	struct ioasid_ctx *ctx;
	/* The file it is made on when that is not /dev/iommu (desc->on). */
	void *target;
	const struct ioasid_caller *caller;
	const struct ioasid_ioctl_desc *desc;
	uint64_t ubuffer;   /* the raw ioctl argument */
	uint32_t user_size; /* what the caller said its struct is */
	void *cmd;          /* our struct, zero-extended */
	/* An object the handler created: published if the ioctl succeeds,
	 * aborted and destroyed if it fails. */
	struct ioasid_object *new_obj;
	/* A file given a descriptor (ucmd_reserve_fd): installed if the
	 * ioctl succeeds, forgotten by the transport if it fails. */
	struct ioasid_file *new_file;
};

static inline int ucmd_read(const struct ioasid_ucmd *u, uint64_t uptr,
			    void *dst, size_t len)
{
	if (!len)
		return 0;
	return u->caller->uaccess->read(u->caller->uaccess_priv, uptr, dst, len);
}

static inline int ucmd_write(const struct ioasid_ucmd *u, uint64_t uptr,
			     const void *src, size_t len)
{
	if (!len)
		return 0;
	return u->caller->uaccess->write(u->caller->uaccess_priv, uptr, src,
					 len);
}

/* A new descriptor of ours for the caller's `fd` (ours to close), or -EBADF. */
static inline int ucmd_get_fd(const struct ioasid_ucmd *u, int fd)
{
	if (fd < 0 || !u->caller->uaccess->get_fd)
		return -EBADF;
	return u->caller->uaccess->get_fd(u->caller->uaccess_priv, fd);
}

/* Write the answer back: the first min(user_size, len) bytes of cmd. */
int ucmd_respond(struct ioasid_ucmd *u, size_t len);

/* Does the calling thread hold capability `cap` in its effective set? */
static inline int ucmd_capable(const struct ioasid_ucmd *u, unsigned int cap)
{
	const struct ioasid_caller *c = u->caller;

	if (cap >= 64 || !((c->cap_effective >> cap) & 1))
		return 0;
	return c->verify_cap ? c->verify_cap(c->uaccess_priv, cap) == 1 : 1;
}

#endif
