/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "user_limits.h"

void ioasid_user_counts_set_max(struct ioasid_user_counts *c,
				unsigned long max)
{
	pthread_mutex_lock(&c->lock);
	c->max = max;
	pthread_mutex_unlock(&c->lock);
}

static struct ioasid_user_count *find_locked(struct ioasid_user_counts *c,
					     uid_t uid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->users[i].uid == uid)
			return &c->users[i];
	return NULL;
}

int ioasid_user_counts_add(struct ioasid_user_counts *c, uid_t uid,
			   unsigned long n, int err)
{
	struct ioasid_user_count *u;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	u = find_locked(c, uid);
	if (!u) {
		if (c->n == c->cap) {
			size_t ncap = c->cap ? 2 * c->cap : 8;
			struct ioasid_user_count *n =
				realloc(c->users, ncap * sizeof(*n));

			if (!n) {
				rc = -ENOMEM;
				goto out_unlock;
			}
			c->users = n;
			c->cap = ncap;
		}
		u = &c->users[c->n++];
		*u = (struct ioasid_user_count){ .uid = uid };
	}
	if (c->max && (u->n > c->max || n > c->max - u->n)) {
		rc = err;
		/* One that has just been made holds nothing. */
		if (!u->n)
			*u = c->users[--c->n];
	} else {
		u->n += n;
	}
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void ioasid_user_counts_sub(struct ioasid_user_counts *c, uid_t uid,
			    unsigned long n)
{
	struct ioasid_user_count *u;

	pthread_mutex_lock(&c->lock);
	u = find_locked(c, uid);
	if (u)
		u->n -= n < u->n ? n : u->n;
	/* A user holding nothing is forgotten. */
	if (u && !u->n)
		*u = c->users[--c->n];
	pthread_mutex_unlock(&c->lock);
}

unsigned long ioasid_user_counts_of(struct ioasid_user_counts *c, uid_t uid)
{
	struct ioasid_user_count *u;
	unsigned long n;

	pthread_mutex_lock(&c->lock);
	u = find_locked(c, uid);
	n = u ? u->n : 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static struct ioasid_user_counts objects = IOASID_USER_COUNTS_INIT;

void ioasid_set_user_object_limit(unsigned long max)
{
	ioasid_user_counts_set_max(&objects, max);
}

int ioasid_user_object_charge(uid_t uid)
{
	return ioasid_user_counts_add(&objects, uid, 1, -ENOMEM);
}

void ioasid_user_object_uncharge(uid_t uid)
{
	ioasid_user_counts_sub(&objects, uid, 1);
}

static struct ioasid_user_counts memory = IOASID_USER_COUNTS_INIT;

void ioasid_set_user_memory_limit(unsigned long bytes)
{
	ioasid_user_counts_set_max(&memory, bytes);
}

int ioasid_user_mem_charge(uid_t uid, size_t bytes)
{
	return uid == IOASID_NOBODY ?
		       0 :
		       ioasid_user_counts_add(&memory, uid, bytes, -ENOMEM);
}

void ioasid_user_mem_uncharge(uid_t uid, size_t bytes)
{
	if (uid != IOASID_NOBODY)
		ioasid_user_counts_sub(&memory, uid, bytes);
}

void *ioasid_user_mem_calloc(uid_t uid, size_t bytes)
{
	void *mem;

	if (ioasid_user_mem_charge(uid, bytes))
		return NULL;
	mem = calloc(1, bytes);
	if (!mem)
		ioasid_user_mem_uncharge(uid, bytes);
	return mem;
}

unsigned long ioasid_user_mem_charged(uid_t uid)
{
	return ioasid_user_counts_of(&memory, uid);
}
