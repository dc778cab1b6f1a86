/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "quota.h"

struct user_count {
	uid_t uid;
	unsigned long n;
};

static unsigned long max_files;
/* Users holding anything, unordered: few on any machine. */
static struct user_count *users;
static size_t nusers, cap;

void quota_set_files(unsigned long max)
{
	max_files = max;
}

unsigned long quota_files(void)
{
	return max_files;
}

static struct user_count *find(uid_t uid)
{
	for (size_t i = 0; i < nusers; i++)
		if (users[i].uid == uid)
			return &users[i];
	return NULL;
}

int quota_take(uid_t uid)
{
	struct user_count *u = find(uid);

	if (!u) {
		if (nusers == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct user_count *n = realloc(users, ncap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			users = n;
			cap = ncap;
		}
		u = &users[nusers++];
		*u = (struct user_count){ .uid = uid };
	}
	if (max_files && u->n >= max_files)
		return -EMFILE;
	u->n++;
	return 0;
}

void quota_give(uid_t uid)
{
	struct user_count *u = find(uid);

	if (!u || !u->n)
		return;
	/* A user holding nothing is forgotten. */
	if (!--u->n)
		*u = users[--nusers];
}
