/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fail_nth.h"
#include "log.h"
#include "core/locate.h"
#include "core/rcu.h"

#ifndef IOASID_LIBDIR
#define IOASID_LIBDIR "/usr/local/lib"
#endif
#define FAULTINJECT_LIB "libioasid-faultinject.so"
/* Set across our own re-exec, so a library that fails to load is
 * reported rather than retried forever. */
#define REEXEC_MARK "IOASID_FAULTINJECT_REEXEC"

static void (*arm_fn)(uint32_t);
static uint32_t (*disarm_fn)(void);
/* Without the counting allocator, the count goes back as it came. */
static __thread uint32_t uncounted;

int fail_nth_enable(char **argv)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* A sanitizer's allocator is not to be wrapped: counts go back
	 * uncounted (fail_nth.h). */
	(void)argv;
	return 0;
#else
	char lib[PATH_MAX], *preload;
	const char *old;

	arm_fn = (void (*)(uint32_t))dlsym(RTLD_DEFAULT, "ioasid_fault_arm");
	disarm_fn = (uint32_t (*)(void))dlsym(RTLD_DEFAULT,
					      "ioasid_fault_disarm");
	if (arm_fn && disarm_fn) {
		unsetenv(REEXEC_MARK);
		return 0;
	}
	arm_fn = NULL;
	if (getenv(REEXEC_MARK)) {
		log_msg("--selftest: %s did not load", FAULTINJECT_LIB);
		return -1;
	}
	if (ioasid_locate(FAULTINJECT_LIB, IOASID_LIBDIR, lib, sizeof(lib))) {
		log_msg("--selftest: %s not found", FAULTINJECT_LIB);
		return -1;
	}
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		if (asprintf(&preload, "%s:%s", lib, old) < 0)
			return -1;
	} else if (!(preload = strdup(lib))) {
		return -1;
	}
	setenv("LD_PRELOAD", preload, 1);
	setenv(REEXEC_MARK, "1", 1);
	free(preload);
	execv("/proc/self/exe", argv);
	log_msg("--selftest: cannot run again with %s: %m", FAULTINJECT_LIB);
	return -1;
#endif
}

void fail_nth_arm(uint32_t count)
{
	if (!arm_fn) {
		uncounted = count;
		return;
	}
	/* liburcu allocates when a thread first reads under RCU, and
	 * aborts if it cannot: that happens here, before anything counts. */
	ioasid_rcu_read_lock();
	ioasid_rcu_read_unlock();
	arm_fn(count);
}

uint32_t fail_nth_disarm(void)
{
	return arm_fn ? disarm_fn() : uncounted;
}
