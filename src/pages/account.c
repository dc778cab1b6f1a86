/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "core/dispatch.h"
#include "core/ucmd.h"
#include "ioasid/uapi/ioasid.h"
#include "core/util.h"

/*
 * One counter per user and one per process.  There are few of either, and
 * the hot path (pinning) touches one entry; a flat array is plenty.
 */
struct counter {
	long key; /* a uid, or a pid */
	int is_user;
	uint64_t locked, pinned;
};

static pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counter *counters;
static size_t ncounters, counters_cap;

static struct counter *find_locked(long key, int is_user, int create)
{
	for (size_t i = 0; i < ncounters; i++)
		if (counters[i].key == key && counters[i].is_user == is_user)
			return &counters[i];
	if (!create)
		return NULL;
	if (ncounters == counters_cap) {
		size_t cap = counters_cap ? counters_cap * 2 : 16;
		struct counter *c = realloc(counters, cap * sizeof(*c));

		if (!c)
			return NULL;
		counters = c;
		counters_cap = cap;
	}
	counters[ncounters] = (struct counter){ .key = key, .is_user = is_user };
	return &counters[ncounters++];
}

/* Forget counters that went back to zero, so the table never grows. */
static void trim_locked(struct counter *c)
{
	if (!c || c->locked || c->pinned)
		return;
	*c = counters[--ncounters];
	if (!ncounters) {
		free(counters);
		counters = NULL;
		counters_cap = 0;
	}
}

static uint64_t limit_from_proc(pid_t pid)
{
	char path[64], line[256];
	unsigned long long soft;
	uint64_t pages = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char word[32];

		if (sscanf(line, "Max locked memory %31s", word) != 1)
			continue;
		if (sscanf(word, "%llu", &soft) == 1)
			pages = soft >> IOASID_PAGE_SHIFT;
		else
			pages = UINT64_MAX; /* "unlimited" */
		break;
	}
	fclose(f);
	return pages;
}

/*
 * The limit is read when pages are pinned, which may be after the process
 * that asked went on to exec a setuid program: that program may raise its
 * own limit, and the request would borrow it.  An exec that raised the
 * process' privilege leaves its /proc directory root's rather than its
 * user's (as caps.c relies on too), so a limit counts only while the
 * directory still belongs to the user the charge is for.  Our own process
 * is the caller itself, whoever it is.
 */
static bool still_users(pid_t pid, uid_t uid)
{
	char path[32];
	struct stat st;

	if (pid == getpid())
		return true;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return !stat(path, &st) && st.st_uid == uid;
}

uint64_t ioasid_account_limit(pid_t pid, uid_t uid)
{
	struct rlimit rl;
	uint64_t pages;

	/* Reading another user's limits needs privilege; /proc does not. */
	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &rl))
		pages = limit_from_proc(pid);
	else if (rl.rlim_cur == RLIM_INFINITY)
		pages = UINT64_MAX;
	else
		pages = rl.rlim_cur >> IOASID_PAGE_SHIFT;
	/* After the read: a limit read before a change of user is not
	 * trusted either. */
	return still_users(pid, uid) ? pages : 0;
}

int ioasid_account_charge(enum ioasid_account_mode mode, pid_t pid, uid_t uid,
			  uint64_t npages)
{
	uint64_t limit = mode == IOASID_ACCOUNT_NONE ? UINT64_MAX :
						       ioasid_account_limit(pid, uid);
	struct counter *mm, *user = NULL;
	uint64_t total;
	int rc = 0;

	if (mode == IOASID_ACCOUNT_UNPINNED)
		return 0;
	pthread_mutex_lock(&account_lock);
	mm = find_locked(pid, 0, 1);
	if (!mm) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	if (mode == IOASID_ACCOUNT_USER) {
		user = find_locked(uid, 1, 1);
		if (!user) {
			rc = -ENOMEM;
			goto out_trim;
		}
	}
	if (mode == IOASID_ACCOUNT_USER || mode == IOASID_ACCOUNT_MM) {
		struct counter *c = user ? user : mm;

		if (add_overflows_u64(c->locked, npages, &total) ||
		    total > limit) {
			rc = -ENOMEM;
			goto out_trim;
		}
		c->locked = total;
	}
	mm->pinned += npages;
	goto out_unlock;

out_trim:
	/* find_locked() may have just added these; never keep empty ones.
	 * The user entry goes first: trimming moves the last entry. */
	if (user)
		trim_locked(user);
	trim_locked(find_locked(pid, 0, 0));
out_unlock:
	pthread_mutex_unlock(&account_lock);
	return rc;
}

void ioasid_account_uncharge(enum ioasid_account_mode mode, pid_t pid,
			     uid_t uid, uint64_t npages)
{
	struct counter *c;

	if (mode == IOASID_ACCOUNT_UNPINNED)
		return;
	pthread_mutex_lock(&account_lock);
	if (mode == IOASID_ACCOUNT_USER || mode == IOASID_ACCOUNT_MM) {
		c = mode == IOASID_ACCOUNT_USER ? find_locked(uid, 1, 0) :
						  find_locked(pid, 0, 0);
		if (c) {
			c->locked -= MIN(c->locked, npages);
			trim_locked(c);
		}
	}
	c = find_locked(pid, 0, 0);
	if (c) {
		c->pinned -= MIN(c->pinned, npages);
		trim_locked(c);
	}
	pthread_mutex_unlock(&account_lock);
}

void ioasid_account_totals(pid_t pid, uint64_t *pinned, uint64_t *locked)
{
	struct counter *c;

	pthread_mutex_lock(&account_lock);
	c = find_locked(pid, 0, 0);
	*pinned = c ? c->pinned : 0;
	*locked = c ? c->locked : 0;
	pthread_mutex_unlock(&account_lock);
}

long ioasid_process_accounting_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_process_accounting *cmd = u->cmd;
	uint64_t pinned, locked;

	ioasid_account_totals(cmd->pid ? (pid_t)cmd->pid : u->caller->pid,
			      &pinned, &locked);
	cmd->out_pinned = pinned;
	cmd->out_locked = locked;
	return ucmd_respond(u, sizeof(*cmd));
}
