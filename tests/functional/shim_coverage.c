/* SPDX-License-Identifier: MIT */
/*
 * Every way a program reaches /dev/iommu, through the shim: stdio,
 * statx, the stat entry points of binaries older than glibc 2.33,
 * close_range, readv/writev.  Run under ioasid-run --selftest (readv and
 * writev are tried on a thread's fail-nth file, a file of the shim's).
 * Prints "N passed, N failed, N skipped".
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioasid/uapi/iommufd.h"

static int failures;

#define EXPECT(cond)                                                        \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "  %s:%d: expected %s (errno %s)\n", \
				__func__, __LINE__, #cond, strerror(errno)); \
			failures++;                                         \
		}                                                           \
	} while (0)

static bool works(int fd)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	return ioctl(fd, IOMMU_IOAS_ALLOC, &a) == 0 && a.out_ioas_id > 0;
}

static bool is_our_chardev(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 10;
}

static void t_stdio(void)
{
	FILE *f = fopen("/dev/iommu", "r+e"), *g;
	struct stat st;

	EXPECT(f != NULL);
	if (!f)
		return;
	EXPECT(works(fileno(f)));
	EXPECT(fcntl(fileno(f), F_GETFD) == FD_CLOEXEC);
	EXPECT(fstat(fileno(f), &st) == 0 && is_our_chardev(&st));
	fclose(f);
	f = fopen64("/dev/ioasid", "r");
	EXPECT(f != NULL && works(fileno(f)));
	if (f)
		fclose(f);
	/* A stream of another file becomes one of ours. */
	g = tmpfile();
	EXPECT(g != NULL);
	if (!g)
		return;
	EXPECT(freopen("/dev/iommu", "r+", g) == g);
	EXPECT(works(fileno(g)));
	fclose(g);
	errno = 0;
	EXPECT(fopen("/dev/iommu", "q") == NULL && errno == EINVAL);
}

static void t_statx(void)
{
	struct statx stx;
	int fd = open("/dev/iommu", O_RDWR);

	EXPECT(statx(AT_FDCWD, "/dev/iommu", 0, STATX_BASIC_STATS, &stx) == 0);
	EXPECT(S_ISCHR(stx.stx_mode) && stx.stx_rdev_major == 10);
	EXPECT(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0);
	EXPECT(S_ISCHR(stx.stx_mode) && stx.stx_rdev_major == 10);
	close(fd);
}

/* What a binary linked before glibc 2.33 calls for stat(2) and friends. */
static void t_legacy_stat(void)
{
	int (*xstat)(int, const char *, struct stat *) =
		(int (*)(int, const char *, struct stat *))dlsym(RTLD_DEFAULT,
								  "__xstat");
	int (*lxstat)(int, const char *, struct stat *) =
		(int (*)(int, const char *, struct stat *))dlsym(RTLD_DEFAULT,
								  "__lxstat64");
	int (*fxstat)(int, int, struct stat *) =
		(int (*)(int, int, struct stat *))dlsym(RTLD_DEFAULT,
							"__fxstat64");
	int (*fxstatat)(int, int, const char *, struct stat *, int) =
		(int (*)(int, int, const char *, struct stat *, int))dlsym(
			RTLD_DEFAULT, "__fxstatat");
	int fd = open("/dev/iommu", O_RDWR);
	struct stat st;

	EXPECT(xstat && lxstat && fxstat && fxstatat);
	if (!xstat || !lxstat || !fxstat || !fxstatat)
		return;
	EXPECT(xstat(1, "/dev/iommu", &st) == 0 && is_our_chardev(&st));
	EXPECT(lxstat(1, "/dev/ioasid", &st) == 0 && is_our_chardev(&st));
	EXPECT(fxstat(1, fd, &st) == 0 && is_our_chardev(&st));
	EXPECT(fxstatat(1, AT_FDCWD, "/dev/iommu", &st, 0) == 0 &&
	       is_our_chardev(&st));
	EXPECT(xstat(1, "/", &st) == 0 && S_ISDIR(st.st_mode));
	close(fd);
}

/* A number closed by close_range() and reused is not taken for ours. */
static void t_close_range(void)
{
	int fd = open("/dev/iommu", O_RDWR), again;
	struct stat st;

	EXPECT(fd >= 0 && works(fd));
	EXPECT(close_range((unsigned int)fd, (unsigned int)fd, 0) == 0);
	again = open("/dev/null", O_RDONLY);
	EXPECT(again == fd);
	EXPECT(fstat(again, &st) == 0 && !is_our_chardev(&st));
	errno = 0;
	EXPECT(ioctl(again, IOMMU_IOAS_ALLOC, &(struct iommu_ioas_alloc){
				  .size = sizeof(struct iommu_ioas_alloc) }) ==
		       -1 &&
	       errno == ENOTTY);
	close(again);
}

static void t_readv_writev(void)
{
	char path[64], a[1] = { '3' }, nl[1] = { '\n' }, r1[1], r2[8] = { 0 };
	struct iovec w[2] = { { a, 1 }, { nl, 1 } };
	struct iovec r[2] = { { r1, 1 }, { r2, sizeof(r2) - 1 } };
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth",
		 (int)gettid());
	fd = open(path, O_RDWR);
	EXPECT(fd >= 0);
	EXPECT(writev(fd, w, 2) == 2);
	EXPECT(readv(fd, r, 2) == 2 && r1[0] == '3' && r2[0] == '\n');
	a[0] = '0';
	EXPECT(writev(fd, w, 2) == 2);
	close(fd);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "fopen, fopen64 and freopen of /dev/iommu", t_stdio },
	{ "statx of the node and of an fd", t_statx },
	{ "__xstat and friends (binaries before glibc 2.33)", t_legacy_stat },
	{ "close_range forgets our numbers", t_close_range },
	{ "readv and writev on a file of ours", t_readv_writev },
};

int main(void)
{
	int passed = 0, failed = 0;

	if (!getenv("IOASID_SOCKET") || !getenv("IOASID_SELFTEST")) {
		fprintf(stderr, "run me under ioasid-run --selftest\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = failures;

		cases[i].fn();
		printf("%s: %s\n", failures == before ? "ok" : "FAIL",
		       cases[i].name);
		if (failures == before)
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, 0);
	return failed ? 1 : 0;
}
