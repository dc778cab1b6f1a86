/* SPDX-License-Identifier: MIT */
/*
 * ioasidd: the daemon that plays the kernel.  Here: its options, its
 * socket, its descriptors and taking clients in; serve.c runs the threads
 * that serve them.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "caps.h"
#include "core/user_limits.h"
#include "fail_nth.h"
#include "file_end.h"
#include "log.h"
#include "quota.h"
#include "serve.h"
#include "session.h"
#include "trace.h"
#include "wire/wire.h"
#include "wire_uaccess.h"

int log_verbose;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_msg("socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(fd, 128)) {
		log_msg("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* /dev/iommu is 0660 in the kernel; a system daemon's socket follows
	 * its directory's permissions, a private one its owner's umask. */
	return fd;
}

/* Socket activation: LISTEN_FDS=1 for our pid hands us fd 3. */
static int inherited_listener(void)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");

	if (!pid || !n || atoi(pid) != getpid() || atoi(n) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 3;
}

/*
 * Descriptors.  Every connection, file and pinned file costs one, so the
 * daemon takes all its hard limit allows, and keeps one in reserve: when
 * accept() fails for want of descriptors, the reserve makes room to take
 * the connection and tell the client why it is not served, rather than
 * leave it connected to a listener that never answers (and the listener
 * ready for ever, so the loop would spin on it).
 */
static int reserve_fd = -1;

static void raise_nofile(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors: take one waiting client with the reserve's room,
 * refuse it with EMFILE, and put the reserve back.  0, or -1 when no
 * client was waiting. */
static int refuse_one(int lfd)
{
	int fd;

	if (reserve_fd < 0)
		return -1;
	close(reserve_fd);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0)
		session_refuse_fd(fd, -EMFILE);
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? 0 : -1;
}

/* A count option: 0 and -EINVAL for what is not one. */
static int parse_count(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || !*s || *end || *s == '-' ? -EINVAL : 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* Best effort: what cannot go stays, and the walk goes on. */
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/*
 * The devices' view of /sys and /dev (ioasid_vfio_sysfs), in "root"
 * beside the listening socket, where the shim looks for it.  A root left
 * by a daemon that did not stop cleanly is replaced.
 */
static int sysfs_write(int lfd, char *root, size_t cap)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	char *slash;
	int rc;

	memset(&addr, 0, sizeof(addr));
	if (getsockname(lfd, (struct sockaddr *)&addr, &len) ||
	    addr.sun_family != AF_UNIX || !addr.sun_path[0] ||
	    !(slash = strrchr(addr.sun_path, '/'))) {
		fprintf(stderr, "ioasidd: --device needs a socket in a "
				"directory, for the devices' /sys view\n");
		return -EINVAL;
	}
	*slash = 0;
	if ((size_t)snprintf(root, cap, "%s/root", addr.sun_path) >= cap)
		return -ENAMETOOLONG;
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	rc = ioasid_vfio_sysfs(root);
	if (rc) {
		fprintf(stderr, "ioasidd: cannot write %s: %s\n", root,
			strerror(-rc));
		nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		root[0] = 0;
	}
	return rc;
}

/* A size: a count of bytes, with K, M or G for binary multiples. */
static int parse_size(const char *s, unsigned long *out)
{
	static const char units[] = "KMG";
	size_t n = strlen(s);
	const char *u = n ? strchr(units, s[n - 1]) : NULL;
	char digits[32];
	unsigned int shift;

	if (!u)
		return parse_count(s, out);
	if (n - 1 >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, n - 1);
	digits[n - 1] = 0;
	shift = 10 * (unsigned int)(u - units + 1);
	if (parse_count(digits, out) || *out > (ULONG_MAX >> shift))
		return -EINVAL;
	*out <<= shift;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ioasidd [--socket PATH] [--selftest] [--trace FILE]\n"
		"               [--max-user-files N] [--max-user-objects N]\n"
		"               [--max-user-memory SIZE] [--device SPEC]... [--verbose]\n"
		"       ioasidd --version\n"
		"  Serve /dev/iommu contexts on a UNIX socket (default\n"
		"  /run/ioasid/ioasid.sock, or the socket-activated fd 3).\n"
		"  --selftest serves the test hooks (IOMMU_TEST_CMD, fail-nth):\n"
		"  never on a daemon shared by users who do not trust each other.\n"
		"  --trace FILE appends every ioctl, decoded, to FILE.\n"
		"  --max-user-files N: descriptors held for one user (connections\n"
		"  and files), EMFILE past it; 0 is no limit, the default a\n"
		"  quarter of the daemon's RLIMIT_NOFILE.\n"
		"  --max-user-objects N: objects one user may hold in all its\n"
		"  contexts, ENOMEM past it; 0 is no limit, the default 65536.\n"
		"  --max-user-memory SIZE: daemon memory one user's calls may\n"
		"  spend (page tables, areas, the daemon's record of each pinned\n"
		"  page), ENOMEM past it; K, M and G suffixes; 0 is no limit,\n"
		"  the default 4G.\n"
		"  --device MODEL[,bdf=DDDD:BB:DD.F][,iommu=vtd|mock][,group=N][,...]:\n"
		"  plug an emulated PCI device in, behind VFIO (repeatable; see\n"
		"  ioasid-devices(7)).\n");
}

/* The signal mask while the loop waits: stop signals let through. */
static sigset_t waiting_mask;
static int lfd = -1;

/* The next client waiting on the listener, or -1 when none is. */
static int take_client(void)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0 || (errno != EMFILE && errno != ENFILE))
			return fd;
		if (refuse_one(lfd))
			return -1;
		log_msg("out of descriptors: refused a client (EMFILE)");
	}
}

/*
 * IOASID_READY_FD=N: a pipe our launcher (ioasid-run) reads, told once we
 * serve.  A daemon that fails before then closes it by exiting, so the
 * launcher learns of the failure without guessing how long to wait.
 */
static void tell_ready(void)
{
	const char *v = getenv("IOASID_READY_FD");
	char *end;
	long fd;

	if (!v)
		return;
	fd = strtol(v, &end, 10);
	unsetenv("IOASID_READY_FD");
	if (*v && !*end && fd > 2 && fd < INT_MAX) {
		(void)!write((int)fd, "1", 1);
		close((int)fd);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "selftest", no_argument, NULL, 'T' },
		{ "trace", required_argument, NULL, 't' },
		{ "max-user-files", required_argument, NULL, 'F' },
		{ "max-user-objects", required_argument, NULL, 'O' },
		{ "max-user-memory", required_argument, NULL, 'M' },
		{ "device", required_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int selftest = 0;
	const char *trace_path = NULL;
	unsigned long max_user_files = 0, max_user_objects = 65536;
	unsigned long max_user_memory = 4UL << 30;
	const char **devices = NULL;
	int ndevices = 0;
	char sysfs_root[PATH_MAX] = "";
	int user_files_set = 0;
	const char *path = NULL, *made = NULL;
	struct serve_loop serving = {
		.take = take_client,
		.wait_mask = &waiting_mask,
		.stopping = &stopping,
	};
	int c;

	_Static_assert(offsetof(struct session, ep) == 0 &&
			       offsetof(struct file_end, ep) == 0,
		       "endpoints are embedded first");

	while ((c = getopt_long(argc, argv, "s:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'v':
			log_verbose = 1;
			break;
		case 'T':
			selftest = 1;
			break;
		case 't':
			trace_path = optarg;
			break;
		case 'F':
			if (parse_count(optarg, &max_user_files)) {
				usage(stderr);
				return 2;
			}
			user_files_set = 1;
			break;
		case 'O':
			if (parse_count(optarg, &max_user_objects)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'D': {
			const char **more = realloc(devices, (ndevices + 1) *
							     sizeof(*devices));

			if (!more)
				return 1;
			devices = more;
			devices[ndevices++] = optarg;
			break;
		}
		case 'M':
			if (parse_size(optarg, &max_user_memory)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'V':
			printf("ioasidd %s\n", IOASID_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (selftest) {
		/* Before anything is opened: this may run us again. */
		if (fail_nth_enable(argv))
			return 1;
		ioasid_enable_test_mode();
	}

	/* Devices are there before the first client is. */
	for (int i = 0; i < ndevices; i++) {
		int rc = ioasid_vfio_plug(devices[i]);

		if (rc < 0) {
			fprintf(stderr, "ioasidd: --device %s: %s\n", devices[i],
				strerror(-rc));
			return 2;
		}
		log_debug("device %s is vfio%d", devices[i], rc);
	}
	free(devices);

	if (trace_path && trace_open(trace_path)) {
		fprintf(stderr, "ioasidd: cannot write %s: %s\n", trace_path,
			strerror(errno));
		return 1;
	}

	/* For tests of the memory callback: pretend to reach no client. */
	if (getenv("IOASID_MEMORY_CALLBACK") &&
	    !strcmp(getenv("IOASID_MEMORY_CALLBACK"), "always"))
		wire_uaccess_always_callback = 1;

	if (caps_init()) {
		fprintf(stderr, "ioasidd: cannot read /proc/self/ns/user\n");
		return 1;
	}
	raise_nofile();
	/* By default a user may hold a quarter of what the daemon can. */
	if (!user_files_set) {
		struct rlimit r;

		if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur != RLIM_INFINITY)
			max_user_files = r.rlim_cur / 4;
	}
	quota_set_files(max_user_files);
	ioasid_set_user_object_limit(max_user_objects);
	ioasid_set_user_memory_limit(max_user_memory);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* Stop signals only arrive while the loop waits (epoll_pwait with
	 * the old mask), so none is lost between a check and a sleep. */
	{
		sigset_t stop;

		sigemptyset(&stop);
		sigaddset(&stop, SIGTERM);
		sigaddset(&stop, SIGINT);
		sigprocmask(SIG_BLOCK, &stop, &waiting_mask);
	}

	lfd = path ? -1 : inherited_listener();
	if (lfd < 0) {
		if (!path) {
			path = "/run/ioasid/ioasid.sock";
			mkdir("/run/ioasid", 0755);
		}
		lfd = listen_on(path);
		if (lfd < 0)
			return 1;
		/* Ours to remove when we stop; an inherited one is not. */
		made = path;
	}

	/* Accepted sockets inherit SO_PASSCRED from the listener. */
	setsockopt(lfd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	/* accept() is drained until EAGAIN, whoever created the socket. */
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	fcntl(lfd, F_SETFD, FD_CLOEXEC);

	/* Where programs look for the devices: beside the socket. */
	if (ndevices && sysfs_write(lfd, sysfs_root, sizeof(sysfs_root)))
		return 1;
	log_debug("serving on %s", path ? path : "inherited socket");
	tell_ready();
	serving.listen_fd = lfd;
	serve_run(&serving);
	log_debug("stopped");
	if (made)
		unlink(made);
	if (sysfs_root[0])
		nftw(sysfs_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
