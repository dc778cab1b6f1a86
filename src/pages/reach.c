/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "core/vm_access.h"
#include "ioasid/ioasid.h"
#include "reach.h"

/*
 * A few recent callers, by pid alone: a pid that has been recycled names
 * another process, which is used only if it maps the very same file page
 * (and then it does hold that page).  So no descriptor is kept for them.
 */
#define REACH_SLOTS 8

struct witness {
	pid_t pid; /* 0: empty */
	uint64_t last_seen;
};

static pthread_mutex_t reach_lock = PTHREAD_MUTEX_INITIALIZER;
static struct witness witnesses[REACH_SLOTS];
static uint64_t clock_ticks;

void ioasid_reach_note(pid_t pid)
{
	struct witness *victim = &witnesses[0];

	pthread_mutex_lock(&reach_lock);
	clock_ticks++;
	for (size_t i = 0; i < REACH_SLOTS; i++) {
		struct witness *w = &witnesses[i];

		if (w->pid == pid) {
			w->last_seen = clock_ticks;
			goto out_unlock;
		}
		/* The longest unseen goes (empty slots have never been). */
		if (w->last_seen < victim->last_seen)
			victim = w;
	}
	victim->pid = pid;
	victim->last_seen = clock_ticks;
out_unlock:
	pthread_mutex_unlock(&reach_lock);
}

/* Any caller's shared memory may be how pinned pages stay in reach. */
static void note_caller(const struct ioasid_caller *caller)
{
	ioasid_reach_note(caller->pid);
}
IOASID_CALL_OBSERVER(reach_observer, note_caller)

/* Where process pid maps page id: its address, or 0. */
static uint64_t find_mapping(pid_t pid, const struct ioasid_page_id *id)
{
	char path[64], *line = NULL;
	uint64_t va = 0;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!va && getline(&line, &cap, f) > 0) {
		unsigned long long start, end, off, ino;
		unsigned int maj, min;
		char perms[8];
		uint64_t first;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end,
			   perms, &off, &maj, &min, &ino) != 7)
			continue;
		/* Only a shared mapping shows the file's own page. */
		if (perms[3] != 's' || makedev(maj, min) != id->a ||
		    ino != id->b)
			continue;
		first = off >> IOASID_PAGE_SHIFT;
		if (id->index >= first &&
		    id->index - first < (end - start) >> IOASID_PAGE_SHIFT)
			va = start + ((id->index - first) << IOASID_PAGE_SHIFT);
	}
	free(line);
	fclose(f);
	return va;
}

int ioasid_reach_file_rw(const struct ioasid_page_id *id, uint64_t off,
			 void *buf, size_t len, bool write)
{
	pid_t pids[REACH_SLOTS];
	size_t n = 0;

	if (id->kind != IOASID_PAGE_ID_FILE || off + len > IOASID_PAGE_SIZE)
		return -EFAULT;
	pthread_mutex_lock(&reach_lock);
	for (size_t i = 0; i < REACH_SLOTS; i++)
		if (witnesses[i].pid)
			pids[n++] = witnesses[i].pid;
	pthread_mutex_unlock(&reach_lock);
	for (size_t i = 0; i < n; i++) {
		uint64_t va = find_mapping(pids[i], id);

		if (va && !vm_xfer(pids[i], va + off, buf, len, write))
			return 0;
	}
	return -EFAULT;
}
