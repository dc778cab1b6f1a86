/* SPDX-License-Identifier: MIT */
/*
 * The handlers behind the ioctl table, one per entry of ioctls.def, which
 * names them.  Each returns 0 (or a non-negative ioctl result) or -errno;
 * each lives with its object.
 */
#ifndef IOASID_CORE_DISPATCH_H
#define IOASID_CORE_DISPATCH_H

#include <stdbool.h>

#include "user_limits.h"

struct ioasid_ctx;
struct ioasid_ucmd;

typedef long (*ioasid_handler_fn)(struct ioasid_ucmd *u);

#define IOASID_IOCTL(cmd, nr, argk, st, sz, last, handler, ...) \
	long handler(struct ioasid_ucmd *u);
#define IOASID_IOCTL_INT(cmd, nr, argk, handler, attrs) \
	long handler(struct ioasid_ucmd *u);
#define IOASID_STRUCT(...)
#include "ioctls.def"
#undef IOASID_IOCTL
#undef IOASID_IOCTL_INT
#undef IOASID_STRUCT

struct ioasid_caller;

/*
 * Run ioctl cmd made on a file of kind `on` (enum ioasid_ioctl_on): the
 * handler finds that file in u->target and a context in u->ctx.
 */
long ioasid_dispatch(unsigned int on, void *target, struct ioasid_ctx *ctx,
		     const struct ioasid_caller *caller, unsigned int cmd,
		     unsigned long arg);

/* Who makes the call this thread is running (NULL outside one): what
 * the kernel calls current, for charging what the call makes. */
const struct ioasid_caller *ioasid_current_caller(void);

/* Whether the call this thread runs (a ring's included) has seen address
 * space mm alive; and that it has.  Outside a call, never. */
bool ioasid_call_saw_alive(const void *mm);
void ioasid_call_note_alive(const void *mm);

/* Its user, who pays for what the call makes; IOASID_NOBODY outside one. */
uid_t ioasid_current_uid(void);

#endif
