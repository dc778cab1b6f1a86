/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "caps.h"

static dev_t own_userns_dev;
static ino_t own_userns_ino;

int caps_init(void)
{
	struct stat st;

	if (stat("/proc/self/ns/user", &st))
		return -errno;
	own_userns_dev = st.st_dev;
	own_userns_ino = st.st_ino;
	return 0;
}

/*
 * A capability is only as good as the namespace it is held in.  A root
 * inside a child namespace holds every capability there and none over us,
 * exactly as capable() in the kernel would see it.
 */
static int same_userns(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &st))
		return 0;
	return st.st_dev == own_userns_dev && st.st_ino == own_userns_ino;
}

uint64_t caps_of_thread(pid_t pid, pid_t tid)
{
	char path[96], line[256];
	unsigned long long eff = 0;
	FILE *f;

	if (pid <= 0 || tid <= 0 || !same_userns(pid))
		return 0;
	/* The task directory only lists threads of `pid`, so a client cannot
	 * borrow the capabilities of a thread of some other process. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
		 (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff;
}
