/* SPDX-License-Identifier: MIT */
/*
 * What one user may hold.
 *
 * Objects, across all its contexts: the kernel charges an object's memory
 * to the cgroup of the task that makes it and fails the allocation at the
 * cgroup's limit; a daemon serving several users charges the user whose
 * call makes it, and fails with ENOMEM past the limit its operator set
 * (ioasidd --max-user-objects).  Objects made outside any call (by a
 * device emulator linking the core) are nobody's.
 *
 * The counting itself, per user against a limit, is shared with what the
 * daemon counts (its descriptors, quota.c).
 */
#ifndef IOASID_CORE_USER_LIMITS_H
#define IOASID_CORE_USER_LIMITS_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

struct ioasid_user_count {
	uid_t uid;
	unsigned long n;
};

/* Counts per user against max (0: no limit).  Lock order: taken alone. */
struct ioasid_user_counts {
	pthread_mutex_t lock;
	unsigned long max;
	struct ioasid_user_count *users; /* those holding any, unordered */
	size_t n, cap;
};
#define IOASID_USER_COUNTS_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

void ioasid_user_counts_set_max(struct ioasid_user_counts *c,
				unsigned long max);
/* n more for uid: 0, err past the limit, or -ENOMEM. */
int ioasid_user_counts_add(struct ioasid_user_counts *c, uid_t uid,
			   unsigned long n, int err);
void ioasid_user_counts_sub(struct ioasid_user_counts *c, uid_t uid,
			    unsigned long n);
/* What uid holds now. */
unsigned long ioasid_user_counts_of(struct ioasid_user_counts *c, uid_t uid);

/* Each user's objects; 0 (the default) leaves them unlimited. */
void ioasid_set_user_object_limit(unsigned long max);

/* One more object for uid: 0, or -ENOMEM at the limit. */
int ioasid_user_object_charge(uid_t uid);
void ioasid_user_object_uncharge(uid_t uid);

/*
 * Memory the core spends for a user that the user's calls make it spend:
 * page-table pages of the domains it creates, IOAS areas, and per pinned
 * page the frame, holder and frame-number slot (charged to whoever pinned
 * it).  The kernel charges such allocations to the caller's memory cgroup
 * (GFP_KERNEL_ACCOUNT); here a per-user total against ioasidd
 * --max-user-memory, ENOMEM past it.  IOASID_NOBODY is charged nothing:
 * memory spent outside any call (a device emulator linking the core).
 */
#define IOASID_NOBODY ((uid_t)-1)
void ioasid_set_user_memory_limit(unsigned long bytes);
int ioasid_user_mem_charge(uid_t uid, size_t bytes);
void ioasid_user_mem_uncharge(uid_t uid, size_t bytes);
unsigned long ioasid_user_mem_charged(uid_t uid);
/* `bytes` of zeroed memory charged to uid; NULL, with nothing charged,
 * past the limit or out of memory.  Freed with free() and an uncharge. */
void *ioasid_user_mem_calloc(uid_t uid, size_t bytes);

#endif
