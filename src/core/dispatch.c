/* SPDX-License-Identifier: MIT */
/*
 * ioctl dispatch: the size-first rules of the iommufd ABI, applied the same
 * way to every command before its handler sees it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "context.h"
#include "dispatch.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "ioasid/uapi/vfio_compat.h"
#include "ioctl_desc.h"
#include "object.h"
#include "rcu.h"
#include "ucmd.h"
#include "util.h"

/* Each entry's handler, at the entry's index in the table. */
static const ioasid_handler_fn handlers[IOASID_NR_IOCTLS] = {
#define IOASID_IOCTL(cmd, nr, argk, st, sz, last, handler, ...) \
	[IOASID_IX_##cmd] = handler,
#define IOASID_IOCTL_INT(cmd, nr, argk, handler, attrs) \
	[IOASID_IX_##cmd] = handler,
#define IOASID_STRUCT(...)
#include "ioctls.def"
#undef IOASID_IOCTL
#undef IOASID_IOCTL_INT
#undef IOASID_STRUCT
};

_Static_assert(sizeof(struct iommu_test_cmd) <= IOASID_UCMD_MAX,
	       "ucmd buffer too small");
_Static_assert(sizeof(struct iommu_hwpt_alloc) <= IOASID_UCMD_MAX,
	       "ucmd buffer too small");

static __thread const struct ioasid_caller *current_caller;
/* The address space the outermost call running on this thread has seen
 * alive, or NULL. */
static __thread const void *call_alive;

const struct ioasid_caller *ioasid_current_caller(void)
{
	return current_caller;
}

/*
 * The kernel's caller cannot exec or exit while it is inside an ioctl:
 * its address space, alive when the call began, is alive until it
 * returns, however many of a ring's entries ask.
 */
bool ioasid_call_saw_alive(const void *mm)
{
	return current_caller && call_alive == mm;
}

void ioasid_call_note_alive(const void *mm)
{
	if (current_caller)
		call_alive = mm;
}

uid_t ioasid_current_uid(void)
{
	return current_caller ? current_caller->uid : IOASID_NOBODY;
}

/* Written once, before any context serves (ioasid.h), then only read. */
static bool test_mode;

void ioasid_enable_test_mode(void)
{
	test_mode = true;
}

int ucmd_respond(struct ioasid_ucmd *u, size_t len)
{
	return ucmd_write(u, u->ubuffer, u->cmd, MIN((size_t)u->user_size, len));
}

/*
 * Known fields with values we do not support: flags outside the entry's
 * mask, reserved fields that are not 0.  (Per-op fields are the op's
 * handler's to judge.)
 */
static int check_generic_fields(const struct ioasid_ioctl_desc *d,
				const void *cmd)
{
	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];
		uint64_t v;

		if (f->op || (f->kind != IOASID_F_FLAGS && f->kind != IOASID_F_ZERO))
			continue;
		v = ioasid_field_get(f, cmd, d->size);
		if (f->kind == IOASID_F_FLAGS)
			v &= ~(uint64_t)d->flags_mask;
		if (v)
			return -(int)d->bad_flags_errno;
	}
	return 0;
}

/* iommufd: size first, zero-extend short structs, refuse unknown tails. */
static int load_sized(struct ioasid_ucmd *u)
{
	const struct ioasid_ioctl_desc *d = u->desc;
	int rc;

	rc = ucmd_read(u, u->ubuffer, &u->user_size, sizeof(u->user_size));
	if (rc)
		return rc;
	if (u->user_size < d->min_size)
		return -EINVAL;
	if (u->user_size > d->size) {
		rc = u->caller->uaccess->check_zeroed(u->caller->uaccess_priv,
						      u->ubuffer + d->size,
						      u->user_size - d->size);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return -E2BIG;
	}
	rc = ucmd_read(u, u->ubuffer, u->cmd, MIN(u->user_size, d->size));
	if (rc)
		return rc;
	return check_generic_fields(d, u->cmd);
}

/* VFIO: the mandatory prefix is read first, then argsz is judged. */
static int load_argsz(struct ioasid_ucmd *u)
{
	const struct ioasid_ioctl_desc *d = u->desc;
	int rc;

	rc = ucmd_read(u, u->ubuffer, u->cmd, d->min_size);
	if (rc)
		return rc;
	memcpy(&u->user_size, u->cmd, sizeof(u->user_size));
	if (u->user_size < d->min_size)
		return -EINVAL;
	return check_generic_fields(d, u->cmd);
}

long ioasid_ctx_ioctl(struct ioasid_ctx *ctx, const struct ioasid_caller *caller,
		      unsigned int cmd, unsigned long arg)
{
	return ioasid_dispatch(IOASID_ON_IOMMUFD, NULL, ctx, caller, cmd, arg);
}

long ioasid_dispatch(unsigned int on, void *target, struct ioasid_ctx *ctx,
		     const struct ioasid_caller *caller, unsigned int cmd,
		     unsigned long arg)
{
	_Alignas(8) unsigned char buf[IOASID_UCMD_MAX] = { 0 };
	struct ioasid_ucmd u = {
		.ctx = ctx,
		.target = target,
		.caller = caller,
		.ubuffer = arg,
		.cmd = buf,
	};
	const struct ioasid_caller *outer;
	ioasid_handler_fn fn;
	long rc;

	u.desc = ioasid_ioctl_desc_find_on(on, cmd);
	/* Without test mode the hooks are not there at all, as without
	 * CONFIG_IOMMUFD_TEST: the argument is not even read. */
	if (!u.desc || ((u.desc->attrs & IOASID_IOCTL_TEST_ONLY) && !test_mode))
		return -ENOTTY;
	fn = handlers[ioasid_ioctl_desc_index(u.desc)];

	switch (u.desc->arg) {
	case IOASID_ARG_SIZED:
		rc = load_sized(&u);
		break;
	case IOASID_ARG_ARGSZ:
		rc = load_argsz(&u);
		break;
	default:
		rc = 0;
		break;
	}
	if (rc)
		return rc;
	if (!fn)
		return -ENOTTY;

	/* A ring's entries are dispatched from inside its handler. */
	outer = current_caller;
	current_caller = caller;
	if (!outer)
		call_alive = NULL;
	rc = fn(&u);
	current_caller = outer;
	if (!outer)
		call_alive = NULL;
	/* A handler on another file may have joined a context (u.ctx). */
	if (u.new_obj) {
		if (rc < 0)
			ioasid_obj_abort(u.ctx, u.new_obj);
		else
			ioasid_obj_publish(u.ctx, u.new_obj);
	}
	if (u.new_file)
		caller->uaccess->commit_fd(caller->uaccess_priv, u.new_file,
					   rc >= 0);
	/* What the call let go of is gone when it returns: the outermost
	 * call, for a ring's entries, so that a ring of unmaps waits for
	 * one grace period rather than one each. */
	if (!outer)
		ioasid_wait_releases();
	return rc;
}

long ioasid_destroy_ioctl(struct ioasid_ucmd *u)
{
	const struct iommu_destroy *cmd = u->cmd;

	return ioasid_obj_destroy_id(u->ctx, cmd->id);
}
