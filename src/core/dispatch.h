/* SPDX-License-Identifier: MIT */
/*
 * The handlers behind the ioctl table, one per entry of ioctls.def, which
 * names them.  Each returns 0 (or a non-negative ioctl result) or -errno;
 * each lives with its object.
 */
#ifndef IOASID_CORE_DISPATCH_H
#define IOASID_CORE_DISPATCH_H

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

/* Who makes the call this thread is running (NULL outside one): what
 * the kernel calls current, for charging what the call makes. */
const struct ioasid_caller *ioasid_current_caller(void);

/*
 * Told of every ioctl's caller before it runs, for a layer above the
 * core that must know who calls (pages/reach.c remembers the processes
 * that may map shared memory).  Registered when the library is loaded
 * (IOASID_CALL_OBSERVER), before any call, so the list is never changed
 * while it is read.
 */
struct ioasid_call_observer {
	void (*fn)(const struct ioasid_caller *caller);
	struct ioasid_call_observer *next;
};
void ioasid_observe_calls(struct ioasid_call_observer *o);
#define IOASID_CALL_OBSERVER(name, fn_)                                  \
	static struct ioasid_call_observer name = { .fn = fn_ };         \
	__attribute__((constructor)) static void register_##name(void)  \
	{                                                               \
		ioasid_observe_calls(&name);                            \
	}

#endif
