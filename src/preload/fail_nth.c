/* SPDX-License-Identifier: MIT */
/*
 * The kernel's per-task fault injection, for the kernel the daemon plays:
 * /proc/self/task/TID/fail-nth (and /proc/PID/task/TID/, /proc/thread-self/)
 * opened under the shim is a file of ours.  Writing N to it arms that
 * thread: the requests it sends carry the count, the daemon fails the
 * Nth allocation made serving them, and the count left comes back.
 * Reading gives what is left ("0" once the failure came), as the kernel's
 * file does.  The kernel's own file, where there is one, is not used: it
 * would count the kernel's allocations, not ours.
 *
 * The selftest checks that fault injection is there by writing to knobs
 * under /sys/kernel/debug/ (failslab/ and the like); where the kernel has
 * none, those writes go nowhere and succeed.
 *
 * All of this only under a test-mode daemon (IOASID_SELFTEST=1, which
 * ioasid-run --selftest sets): otherwise these paths are the kernel's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload.h"

#define MAX_TASKS 64
#define MAX_FILES 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pid_t tid; /* 0: free */
	uint32_t count;
} tasks[MAX_TASKS];
static _Atomic int ntasks_armed; /* requests look no further while 0 */
static struct {
	int fd; /* -1: free */
	pid_t tid;
} files[MAX_FILES] = { [0 ... MAX_FILES - 1] = { .fd = -1 } };
static _Atomic int nfiles;

static bool test_mode;

void fail_nth_init(void)
{
	const char *v = getenv("IOASID_SELFTEST");

	test_mode = v && !strcmp(v, "1");
}

/* The thread a fail-nth path names, or 0 when it names none. */
static pid_t path_task(const char *path)
{
	int pid, tid, end = 0;

	if (!path || !test_mode)
		return 0;
	if (sscanf(path, "/proc/self/task/%d/fail-nth%n", &tid, &end) == 1 &&
	    !path[end])
		return tid;
	if (sscanf(path, "/proc/%d/task/%d/fail-nth%n", &pid, &tid, &end) ==
		    2 &&
	    !path[end] && pid == getpid())
		return tid;
	if (!strcmp(path, "/proc/thread-self/fail-nth"))
		return gettid();
	return 0;
}

void fail_nth_lock(void)
{
	pthread_mutex_lock(&lock);
}

void fail_nth_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

bool fail_nth_names(const char *path)
{
	return path_task(path) != 0;
}

int fail_nth_open(const char *path, int flags)
{
	pid_t tid = path_task(path);
	int fd;

	if (!tid)
		return -1;
	/* A descriptor of its own, whose reads and writes are ours. */
	fd = memfd_create("fail-nth", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_FILES; i++) {
		if (files[i].fd < 0) {
			files[i].fd = fd;
			files[i].tid = tid;
			atomic_fetch_add(&nfiles, 1);
			pthread_mutex_unlock(&lock);
			return fd;
		}
	}
	pthread_mutex_unlock(&lock);
	real.close(fd);
	errno = EMFILE;
	return -1;
}

int fail_nth_debugfs_open(int dirfd, const char *path, int flags)
{
	char link[64], dir[PATH_MAX];
	ssize_t n;

	const char *prefix = dirfd == AT_FDCWD ? "/sys/kernel/debug/fail" :
						 "fail";

	if (!test_mode || !path || strncmp(path, prefix, strlen(prefix)))
		return -1;
	if (dirfd != AT_FDCWD) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = real.readlink(link, dir, sizeof(dir) - 1);
		if (n < 0)
			return -1;
		dir[n] = 0;
		if (strcmp(dir, "/sys/kernel/debug"))
			return -1;
	}
	return real.open("/dev/null", (flags & O_CLOEXEC) | O_WRONLY);
}

static int file_slot(int fd)
{
	if (fd < 0 || !atomic_load_explicit(&nfiles, memory_order_relaxed))
		return -1;
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].fd == fd)
			return i;
	return -1;
}

bool fail_nth_is_fd(int fd)
{
	int i;

	/* Every read and write of every fd asks: no lock while none is. */
	if (!atomic_load_explicit(&nfiles, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&lock);
	i = file_slot(fd);
	pthread_mutex_unlock(&lock);
	return i >= 0;
}

/* Under lock: tid's entry, made if `make`. */
static int task_slot(pid_t tid, bool make)
{
	int free_slot = -1;

	for (int i = 0; i < MAX_TASKS; i++) {
		if (tasks[i].tid == tid)
			return i;
		if (!tasks[i].tid && free_slot < 0)
			free_slot = i;
	}
	if (make && free_slot >= 0)
		tasks[free_slot].tid = tid;
	return make ? free_slot : -1;
}

static void set_count_locked(int t, uint32_t count)
{
	if (!tasks[t].count != !count)
		atomic_fetch_add(&ntasks_armed, count ? 1 : -1);
	tasks[t].count = count;
	if (!count)
		tasks[t].tid = 0;
}

ssize_t fail_nth_read(int fd, void *buf, size_t count)
{
	char text[16];
	uint32_t left = 0;
	int f, t, len;

	pthread_mutex_lock(&lock);
	f = file_slot(fd);
	t = f < 0 ? -1 : task_slot(files[f].tid, false);
	if (t >= 0)
		left = tasks[t].count;
	pthread_mutex_unlock(&lock);
	len = snprintf(text, sizeof(text), "%u\n", left);
	if ((size_t)len > count)
		len = (int)count;
	memcpy(buf, text, (size_t)len);
	return len;
}

ssize_t fail_nth_write(int fd, const void *buf, size_t count)
{
	char text[16];
	unsigned long v;
	char *end;
	int f, t;

	if (count >= sizeof(text)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(text, buf, count);
	text[count] = 0;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (end == text || (*end && strcmp(end, "\n")) || errno ||
	    v > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&lock);
	f = file_slot(fd);
	t = f < 0 ? -1 : task_slot(files[f].tid, v != 0);
	if (t >= 0)
		set_count_locked(t, (uint32_t)v);
	pthread_mutex_unlock(&lock);
	if (f >= 0 && t < 0 && v) {
		errno = ENOMEM;
		return -1;
	}
	return (ssize_t)count;
}

void fail_nth_close(int fd)
{
	int f;

	if (!atomic_load_explicit(&nfiles, memory_order_relaxed))
		return;
	pthread_mutex_lock(&lock);
	f = file_slot(fd);
	if (f >= 0) {
		files[f].fd = -1;
		atomic_fetch_sub(&nfiles, 1);
	}
	pthread_mutex_unlock(&lock);
}

uint32_t fail_nth_take(void)
{
	uint32_t count = 0;
	int t;

	if (!atomic_load_explicit(&ntasks_armed, memory_order_relaxed))
		return 0;
	pthread_mutex_lock(&lock);
	t = task_slot(gettid(), false);
	if (t >= 0)
		count = tasks[t].count;
	pthread_mutex_unlock(&lock);
	return count;
}

void fail_nth_put_back(uint32_t sent, uint32_t left)
{
	int t;

	if (!sent || left == sent)
		return;
	pthread_mutex_lock(&lock);
	t = task_slot(gettid(), false);
	if (t >= 0)
		set_count_locked(t, left);
	pthread_mutex_unlock(&lock);
}
