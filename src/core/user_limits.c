/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "user_limits.h"

struct user_objects {
	uid_t uid;
	unsigned long n;
};

/* Lock order: taken alone, never with a context's lock wanted inside. */
static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long max_objects;
static struct user_objects *users; /* those holding any, unordered */
static size_t nusers, cap;

void ioasid_set_user_object_limit(unsigned long max)
{
	pthread_mutex_lock(&limits_lock);
	max_objects = max;
	pthread_mutex_unlock(&limits_lock);
}

static struct user_objects *find_locked(uid_t uid)
{
	for (size_t i = 0; i < nusers; i++)
		if (users[i].uid == uid)
			return &users[i];
	return NULL;
}

int ioasid_user_object_charge(uid_t uid)
{
	struct user_objects *u;
	int rc = 0;

	pthread_mutex_lock(&limits_lock);
	u = find_locked(uid);
	if (!u) {
		if (nusers == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct user_objects *n = realloc(users, ncap * sizeof(*n));

			if (!n) {
				rc = -ENOMEM;
				goto out_unlock;
			}
			users = n;
			cap = ncap;
		}
		u = &users[nusers++];
		*u = (struct user_objects){ .uid = uid };
	}
	if (max_objects && u->n >= max_objects)
		rc = -ENOMEM;
	else
		u->n++;
out_unlock:
	pthread_mutex_unlock(&limits_lock);
	return rc;
}

void ioasid_user_object_uncharge(uid_t uid)
{
	struct user_objects *u;

	pthread_mutex_lock(&limits_lock);
	u = find_locked(uid);
	/* A user holding nothing is forgotten. */
	if (u && u->n && !--u->n)
		*u = users[--nusers];
	pthread_mutex_unlock(&limits_lock);
}
