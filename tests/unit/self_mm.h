/* SPDX-License-Identifier: MIT */
/* This process' address space, for tests that make page sets directly. */
#ifndef IOASID_TEST_SELF_MM_H
#define IOASID_TEST_SELF_MM_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pages/mm.h"

/* Held for the whole run: page sets' memory is reached through it. */
static inline struct ioasid_mm *self_mm(void)
{
	static struct ioasid_mm *mm;

	if (!mm)
		mm = ioasid_mm_self();
	return mm;
}

/*
 * Another process, which maps what we mapped before and only waits, and
 * its address space as a daemon would hold a client's; NULL when it
 * cannot be had.  child_end() makes the process gone.
 */
static inline struct ioasid_mm *child_mm(pid_t *pid)
{
	*pid = fork();
	if (!*pid) {
		pause();
		_exit(0);
	}
	return *pid > 0 ? ioasid_mm_open(*pid, getuid()) : NULL;
}

static inline void child_end(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

#endif
