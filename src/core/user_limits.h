/* SPDX-License-Identifier: MIT */
/*
 * What one user may make: objects, across all its contexts.  The kernel
 * charges an object's memory to the cgroup of the task that makes it and
 * fails the allocation at the cgroup's limit; a daemon serving several
 * users charges the user whose call makes it, and fails with ENOMEM past
 * the limit its operator set (ioasidd --max-user-objects).  Objects made
 * outside any call (by a device emulator linking the core) are nobody's.
 */
#ifndef IOASID_CORE_USER_LIMITS_H
#define IOASID_CORE_USER_LIMITS_H

#include <stdbool.h>
#include <sys/types.h>

/* Each user's objects; 0 (the default) leaves them unlimited. */
void ioasid_set_user_object_limit(unsigned long max);

/* One more object for uid: 0, or -ENOMEM at the limit. */
int ioasid_user_object_charge(uid_t uid);
void ioasid_user_object_uncharge(uid_t uid);

#endif
