/* SPDX-License-Identifier: MIT */
/*
 * Test hooks only in test mode.  Run under ioasid-run, with one argument
 * saying what the daemon and the shim were started as:
 *   selftest      ioasid-run --selftest: IOMMU_TEST_CMD served, the
 *                 thread's fail-nth file is the daemon's and fails the
 *                 Nth allocation of a request
 *   normal        ioasid-run: IOMMU_TEST_CMD is ENOTTY; the fail-nth and
 *                 debugfs paths are the kernel's, untouched
 *   normal-daemon the shim told test mode (IOASID_SELFTEST=1) but the
 *                 daemon not: the counts it sends are ignored
 * Prints "N passed, N failed, N skipped".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"

enum result { PASS, FAIL, SKIP };

static int dev;
static bool sanitized; /* the daemon's allocator cannot fail on demand */

#define EXPECT(cond, ...)                                               \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "  %s:%d: ", __func__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			return FAIL;                                    \
		}                                                       \
	} while (0)

static int test_cmd_errno(void)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
	};
	static char page[4096] __attribute__((aligned(4096)));

	cmd.check_refs.uptr = (uintptr_t)page;
	cmd.check_refs.length = sizeof(page);
	return ioctl(dev, IOMMU_TEST_CMD, &cmd) ? errno : 0;
}

static int ioas_alloc_errno(void)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	return ioctl(dev, IOMMU_IOAS_ALLOC, &a) ? errno : 0;
}

static char fail_nth_path[64];

/* Write n to the thread's fail-nth file; the descriptor, or -1. */
static int arm(const char *n)
{
	int fd = open(fail_nth_path, O_RDWR);

	if (fd < 0)
		return -1;
	if (write(fd, n, strlen(n)) != (ssize_t)strlen(n)) {
		close(fd);
		return -1;
	}
	return fd;
}

static long read_count(int fd)
{
	char buf[32] = { 0 };

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* Under the shim path opens exactly as it does without it. */
static enum result same_as_kernel(const char *path, int flags)
{
	int raw = (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC);
	int raw_errno = errno;
	int fd = open(path, flags | O_CLOEXEC);
	int fd_errno = errno;
	struct stat a, b;
	enum result r = PASS;

	if (raw < 0) {
		if (fd >= 0 || fd_errno != raw_errno) {
			fprintf(stderr, "  %s: kernel says %s, the shim %s\n",
				path, strerror(raw_errno),
				fd >= 0 ? "opened it" : strerror(fd_errno));
			r = FAIL;
		}
	} else if (fd < 0 || fstat(raw, &a) || fstat(fd, &b) ||
		   a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		fprintf(stderr, "  %s: the shim's file is not the kernel's\n",
			path);
		r = FAIL;
	}
	if (raw >= 0)
		close(raw);
	if (fd >= 0)
		close(fd);
	return r;
}

static enum result t_test_cmd_served(void)
{
	EXPECT(test_cmd_errno() == 0, "IOMMU_TEST_CMD: %s",
	       strerror(test_cmd_errno()));
	return PASS;
}

static enum result t_test_cmd_refused(void)
{
	struct iommu_test_cmd bad = { .size = 1 };

	EXPECT(test_cmd_errno() == ENOTTY, "IOMMU_TEST_CMD: %s",
	       strerror(test_cmd_errno()));
	/* Not there at all: not even its size is judged. */
	EXPECT(ioctl(dev, IOMMU_TEST_CMD, &bad) && errno == ENOTTY,
	       "a short IOMMU_TEST_CMD: %s", strerror(errno));
	EXPECT(ioas_alloc_errno() == 0, "IOMMU_IOAS_ALLOC after it");
	return PASS;
}

static enum result t_fail_nth_counts(void)
{
	int fd, err;

	if (sanitized)
		return SKIP;
	fd = arm("1");
	EXPECT(fd >= 0, "arming %s: %s", fail_nth_path, strerror(errno));
	err = ioas_alloc_errno();
	EXPECT(err == ENOMEM, "IOMMU_IOAS_ALLOC with fail-nth 1: %s",
	       strerror(err));
	EXPECT(read_count(fd) == 0, "the count after the failure: %ld",
	       read_count(fd));
	close(fd);
	EXPECT(ioas_alloc_errno() == 0, "IOMMU_IOAS_ALLOC once disarmed");
	return PASS;
}

static enum result t_fail_nth_ignored(void)
{
	int fd = arm("1"), err;

	EXPECT(fd >= 0, "arming %s: %s", fail_nth_path, strerror(errno));
	err = ioas_alloc_errno();
	EXPECT(err == 0, "IOMMU_IOAS_ALLOC with fail-nth 1 sent to a "
			 "normal daemon: %s", strerror(err));
	EXPECT(read_count(fd) == 1, "the count came back as %ld, not 1",
	       read_count(fd));
	close(fd);
	return PASS;
}

static enum result t_fail_nth_kernels(void)
{
	/* Read-only: writing to the kernel's file would fail our own
	 * next system call. */
	return same_as_kernel(fail_nth_path, O_RDONLY);
}

static enum result t_debugfs_kernels(void)
{
	return same_as_kernel("/sys/kernel/debug/failslab/probability",
			      O_WRONLY) == PASS &&
			       same_as_kernel("/sys/kernel/debug/fail_page_alloc/"
					      "ignore-gfp-wait",
					      O_WRONLY) == PASS ?
		       PASS :
		       FAIL;
}

static const struct mode_case {
	const char *mode, *name;
	enum result (*fn)(void);
} cases[] = {
	{ "selftest", "IOMMU_TEST_CMD is served", t_test_cmd_served },
	{ "selftest", "fail-nth fails the Nth allocation", t_fail_nth_counts },
	{ "normal", "IOMMU_TEST_CMD is ENOTTY", t_test_cmd_refused },
	{ "normal", "fail-nth is the kernel's file", t_fail_nth_kernels },
	{ "normal", "debugfs fault knobs are the kernel's", t_debugfs_kernels },
	{ "normal-daemon", "IOMMU_TEST_CMD is ENOTTY", t_test_cmd_refused },
	{ "normal-daemon", "a fail-nth count is ignored", t_fail_nth_ignored },
};

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;

	if (argc != 2 || !getenv("IOASID_SOCKET")) {
		fprintf(stderr, "usage: ioasid-run [--selftest] -- mode-check "
				"selftest|normal|normal-daemon\n");
		return 2;
	}
	sanitized = getenv("IOASID_DAEMON_SANITIZED") != NULL;
	snprintf(fail_nth_path, sizeof(fail_nth_path),
		 "/proc/self/task/%d/fail-nth", (int)gettid());
	dev = open("/dev/iommu", O_RDWR);
	if (dev < 0) {
		perror("open /dev/iommu");
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].mode, argv[1]))
			continue;
		switch (cases[i].fn()) {
		case PASS:
			printf("ok: %s: %s\n", argv[1], cases[i].name);
			passed++;
			break;
		case SKIP:
			printf("skip: %s: %s (the daemon's allocator cannot "
			       "fail on demand)\n", argv[1], cases[i].name);
			skipped++;
			break;
		case FAIL:
			printf("FAIL: %s: %s\n", argv[1], cases[i].name);
			failed++;
			break;
		}
	}
	close(dev);
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
