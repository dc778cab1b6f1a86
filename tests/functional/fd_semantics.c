/* SPDX-License-Identifier: MIT */
/*
 * /dev/iommu through the shim and the daemon, as a program sees it: fd
 * sharing across fork, dup, exec and SCM_RIGHTS; the last close; the stat
 * answers; and a daemon that survives abuse without growing.
 * Run under ioasid-run.  Prints "N passed, N failed, N skipped".
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/iommufd_test.h"
#include "wire/slot.h"
#include "wire/wire.h"
#include <linux/sockios.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <poll.h>
#include <pthread.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <sys/syscall.h>

#include "expect.h"

static int ioas_alloc(int fd)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	return ioctl(fd, IOMMU_IOAS_ALLOC, &cmd) ? -errno : (int)cmd.out_ioas_id;
}

static int destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd) ? -errno : 0;
}

static void t_fork_shares_context(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	int to_parent[2], to_child[2];
	pid_t pid;
	char c;
	int st;

	EXPECT(fd >= 0);
	EXPECT(pipe(to_parent) == 0 && pipe(to_child) == 0);
	EXPECT(ioas_alloc(fd) == 1);
	pid = fork();
	if (pid == 0) {
		/* Same context: the child sees id 1 and gets id 2. */
		int ok = destroy(fd, 1) == 0 && ioas_alloc(fd) == 1 &&
			 ioas_alloc(fd) == 2;

		/* The parent's close does not end it: we still hold it. */
		ok = ok && write(to_parent[1], "c", 1) == 1 &&
		     read(to_child[0], &c, 1) == 1 && ioas_alloc(fd) == 3;
		_exit(ok ? 0 : 1);
	}
	EXPECT(pid > 0);
	EXPECT(read(to_parent[0], &c, 1) == 1);
	EXPECT(close(fd) == 0);
	EXPECT(write(to_child[1], "p", 1) == 1);
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

/*
 * Hundreds of connections hanging up at once (a client with 300 of them
 * exits): more endpoints are ready than one wait returns, and the daemon
 * must still get round to each and to the next client.  A daemon that
 * never does leaves the request below hanging until the alarm ends us.
 */
static void t_many_hang_ups(void)
{
	pid_t pid = fork();
	int st, fd;

	if (pid == 0) {
		for (int i = 0; i < 300; i++) {
			int f = open("/dev/iommu", O_RDWR);

			if (f < 0 || ioas_alloc(f) != 1)
				_exit(1);
		}
		_exit(0);
	}
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);
	alarm(60);
	fd = open("/dev/iommu", O_RDWR);
	EXPECT(ioas_alloc(fd) == 1);
	alarm(0);
	close(fd);
}

/* Requests, one after the other, until told to stop. */
struct busy {
	int fd;
	atomic_bool stop;
	atomic_long done;
};

static void *keep_busy(void *arg)
{
	struct busy *b = arg;

	while (!atomic_load(&b->stop)) {
		struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = 1 };

		ioctl(b->fd, IOMMU_IOAS_IOVA_RANGES, &r);
		atomic_fetch_add(&b->done, 1);
	}
	return NULL;
}

/*
 * fork() while another thread is in the middle of an ioctl: the child's
 * copy of the descriptor works at once (the kernel's does), its first
 * request is not left waiting for an exchange only the parent's thread
 * could finish.
 */
static void t_fork_mid_ioctl(void)
{
	struct busy b = { .fd = open("/dev/iommu", O_RDWR) };
	pthread_t th;
	int ok = 0;

	EXPECT(ioas_alloc(b.fd) == 1);
	EXPECT(pthread_create(&th, NULL, keep_busy, &b) == 0);
	for (int i = 0; i < 20; i++) {
		pid_t pid;
		int st;

		while (atomic_load(&b.done) < (long)(i + 1) * 50)
			;
		pid = fork();
		if (pid == 0) {
			alarm(10);
			_exit(ioas_alloc(b.fd) > 1 ? 0 : 1);
		}
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0)
			ok++;
	}
	atomic_store(&b.stop, true);
	pthread_join(th, NULL);
	EXPECT(ok == 20);
	close(b.fd);
}

/* A child making n IOVA_RANGES calls on fd: it exits 0 when every one
 * was answered as it should be. */
static pid_t child_ranges(int fd, int n)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	alarm(30);
	for (int i = 0; i < n; i++) {
		struct iommu_ioas_iova_ranges r = {
			.size = sizeof(r), .ioas_id = 1,
		};

		if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r) && errno != EMSGSIZE)
			_exit(1);
	}
	_exit(0);
}

/*
 * close(dup(fd)) in one thread while another is in an ioctl, and a second
 * process sharing the descriptor: closing a copy must not let the other
 * process in between a request and its reply.
 */
static void t_close_dup_mid_ioctl(void)
{
	struct busy b = { .fd = open("/dev/iommu", O_RDWR) };
	pthread_t th;
	pid_t pid;
	int st;

	EXPECT(ioas_alloc(b.fd) == 1);
	/* The thread in its calls before the child starts its own (which,
	 * through a request slot, may all be done in a few milliseconds). */
	alarm(30);
	EXPECT(pthread_create(&th, NULL, keep_busy, &b) == 0);
	while (atomic_load(&b.done) < 10)
		;
	pid = child_ranges(b.fd, 3000);
	while (waitpid(pid, &st, WNOHANG) == 0)
		close(dup(b.fd));
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT(atomic_load(&b.done) > 0);
	atomic_store(&b.stop, true);
	pthread_join(th, NULL);
	alarm(0);
	close(b.fd);
}

static void t_concurrent_processes(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	pid_t kids[4];
	int st, good = 1;

	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			for (int i = 0; i < 500; i++) {
				int id = ioas_alloc(fd);

				if (id <= 0 || destroy(fd, id))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		good &= waitpid(kids[k], &st, 0) == kids[k] && WIFEXITED(st) &&
			WEXITSTATUS(st) == 0;
	EXPECT(good);
	EXPECT(ioas_alloc(fd) == 1); /* everything they made is gone */
	close(fd);
}

/*
 * A thread's calls through its connection's slot while another process
 * sharing the connection makes calls through the socket, each of which
 * has the daemon give the slot back at whatever step the thread is in
 * (posting, being answered, reading the answer): every call of both is
 * answered once.
 */
static void t_slot_given_back(void)
{
	struct busy b = { .fd = open("/dev/iommu", O_RDWR) };
	pthread_t th;
	pid_t pid;
	int st;

	EXPECT(ioas_alloc(b.fd) == 1);
	alarm(60);
	EXPECT(pthread_create(&th, NULL, keep_busy, &b) == 0);
	while (atomic_load(&b.done) < 100)
		;
	pid = child_ranges(b.fd, 2000);
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);
	atomic_store(&b.stop, true);
	pthread_join(th, NULL);
	alarm(0);
	close(b.fd);
}

static void t_dup(void)
{
	int fd = open("/dev/iommu", O_RDWR), d;

	EXPECT(ioas_alloc(fd) == 1);
	d = dup(fd);
	EXPECT(close(fd) == 0);
	EXPECT(ioas_alloc(d) == 2);
	fd = fcntl(d, F_DUPFD_CLOEXEC, 100);
	EXPECT(fd >= 100);
	EXPECT(dup2(fd, 200) == 200);
	EXPECT(ioas_alloc(200) == 3);
	close(d);
	close(fd);
	close(200);
}

static void t_scm_rights(void)
{
	int sv[2], st;
	pid_t pid;

	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = fork();
	if (pid == 0) {
		char c;
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		int fd;

		if (recvmsg(sv[1], &m, 0) != 1)
			_exit(2);
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(fd));
		_exit(ioas_alloc(fd) == 2 ? 0 : 1);
	}
	{
		int fd = open("/dev/iommu", O_RDWR);
		char c = 'x';
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

		EXPECT(ioas_alloc(fd) == 1);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
		EXPECT(sendmsg(sv[0], &m, 0) == 1);
		close(fd); /* the child's copy keeps the context */
		EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		       WEXITSTATUS(st) == 0);
	}
	close(sv[0]);
	close(sv[1]);
}

/*
 * A number the shim has seen hold something else, closed where the shim
 * cannot see it (as glibc's own fclose does), must not stay "not ours"
 * once a copy of one of ours lands there.  Returns the number.
 */
static int used_and_closed_unseen(void)
{
	int n = open("/dev/null", O_RDONLY);
	char c;

	EXPECT(n >= 0);
	EXPECT(read(n, &c, 1) == 0); /* the shim looks at it */
	EXPECT(syscall(SYS_close, n) == 0);
	return n;
}

static void t_numbers_reused(void)
{
	int fd = open("/dev/iommu", O_RDWR), n, sv[2], st;
	pid_t pid;

	EXPECT(ioas_alloc(fd) == 1);
	n = used_and_closed_unseen();
	EXPECT(dup(fd) == n);
	EXPECT(ioas_alloc(n) == 2);
	close(n);
	n = used_and_closed_unseen();
	EXPECT(fcntl(fd, F_DUPFD_CLOEXEC, n) == n);
	EXPECT(ioas_alloc(n) == 3);
	close(n);
	n = used_and_closed_unseen();
	EXPECT(dup2(fd, n) == n);
	EXPECT(ioas_alloc(n) == 4);
	close(n);

	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = fork();
	if (pid == 0) {
		char c;
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		int got, want = used_and_closed_unseen();

		if (recvmsg(sv[1], &m, 0) != 1)
			_exit(2);
		memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(got));
		_exit(got == want && ioas_alloc(got) == 5 ? 0 : 1);
	}
	{
		char c = 'x';
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
		EXPECT(sendmsg(sv[0], &m, 0) == 1);
		EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		       WEXITSTATUS(st) == 0);
	}
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

static void *alloc_in_thread(void *arg)
{
	return (void *)(intptr_t)ioas_alloc(*(int *)arg);
}

/*
 * The kernel's fault injection, for our kernel: a thread's fail-nth file
 * makes the Nth allocation serving its next requests fail, and says how
 * much of the count is left.  The sanitizer build's daemon cannot wrap
 * its allocator: there nothing fails and the count comes back whole.
 */
static void t_fault_injection(void)
{
	bool can = !getenv("IOASID_DAEMON_SANITIZED");
	int fd = open("/dev/iommu", O_RDWR), nth, knob;
	char path[64], buf[16] = { 0 };
	DIR *debugfs = opendir("/sys/kernel/debug/");
	pthread_t other;
	void *other_id;
	ssize_t got;

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	nth = open(path, O_RDWR | O_CLOEXEC);
	EXPECT(nth >= 0);
	/* The selftest's test for fault injection: its knobs take writes. */
	if (debugfs) {
		knob = openat(dirfd(debugfs), "failslab/ignore-gfp-wait",
			      O_WRONLY);
		EXPECT(knob >= 0 && write(knob, "N", 1) == 1);
		close(knob);
		closedir(debugfs);
	}
	EXPECT(pwrite(nth, "x", 1, 0) == -1 && errno == EINVAL);
	EXPECT(pread(nth, buf, sizeof(buf), 0) == 2 && !strcmp(buf, "0\n"));

	/* The first allocation fails, and the count is spent. */
	EXPECT(pwrite(nth, "1", 1, 0) == 1);
	EXPECT(ioas_alloc(fd) == (can ? -ENOMEM : 1));
	memset(buf, 0, sizeof(buf));
	EXPECT(pread(nth, buf, sizeof(buf), 0) == 2);
	EXPECT(!strcmp(buf, can ? "0\n" : "1\n"));

	/* Armed, this thread's count; another thread's requests are not. */
	EXPECT(pwrite(nth, "1", 1, 0) == 1);
	EXPECT(pthread_create(&other, NULL, alloc_in_thread, &fd) == 0);
	EXPECT(pthread_join(other, &other_id) == 0 && (intptr_t)other_id > 0);
	/* A count too large to reach comes back counted down. */
	EXPECT(write(nth, "1000\n", 5) == 5);
	EXPECT(ioas_alloc(fd) > 0);
	memset(buf, 0, sizeof(buf));
	got = read(nth, buf, sizeof(buf));
	EXPECT(got > 1 && got == (ssize_t)strlen(buf) && buf[got - 1] == '\n');
	EXPECT(can ? atoi(buf) < 1000 && atoi(buf) > 0 : atoi(buf) == 1000);
	EXPECT(pwrite(nth, "0", 1, 0) == 1);
	close(nth);
	close(fd);
}

static void t_exec(const char *self)
{
	int fd = open("/dev/iommu", O_RDWR), st;
	pid_t pid;

	EXPECT(ioas_alloc(fd) == 1);
	pid = fork();
	if (pid == 0) {
		char arg[16];

		snprintf(arg, sizeof(arg), "%d", fd);
		execl(self, self, "--exec-child", arg, (char *)NULL);
		_exit(3);
	}
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT(ioas_alloc(fd) == 3);
	close(fd);
}

static void t_stat(void)
{
	struct stat a, b;
	int fd = open("/dev/ioasid", O_RDWR | O_CLOEXEC);

	EXPECT(fd >= 0);
	EXPECT(stat("/dev/iommu", &a) == 0 && S_ISCHR(a.st_mode));
	EXPECT(fstat(fd, &b) == 0 && S_ISCHR(b.st_mode));
	EXPECT(a.st_rdev == b.st_rdev && major(a.st_rdev) == 10);
	EXPECT(access("/dev/iommu", F_OK | R_OK | W_OK) == 0);
	EXPECT(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	/* Other paths and fds are libc's. */
	EXPECT(stat("/dev/null", &a) == 0 && major(a.st_rdev) == 1);
	EXPECT(ioctl(0, IOMMU_DESTROY, NULL) == -1 && errno == ENOTTY);
	EXPECT(open("/no/such/file", O_RDONLY) == -1 && errno == ENOENT);
	close(fd);
}

static void t_errors_through_the_wire(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct {
		struct iommu_destroy cmd;
		uint64_t future;
	} cmd = { .cmd = { .size = sizeof(cmd) } };
	struct iommu_iova_range r[1];
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .num_iovas = 0,
					    .allowed_iovas = (uintptr_t)r };

	EXPECT(ioctl(fd, IOMMU_DESTROY, NULL) == -1 && errno == EFAULT);
	EXPECT(ioctl(fd, IOMMU_DESTROY, &cmd) == -1 && errno == ENOENT);
	cmd.future = 1;
	EXPECT(ioctl(fd, IOMMU_DESTROY, &cmd) == -1 && errno == E2BIG);
	cmd.cmd.size = 7;
	EXPECT(ioctl(fd, IOMMU_DESTROY, &cmd) == -1 && errno == EINVAL);
	EXPECT(ioctl(fd, _IO(IOMMUFD_TYPE, 0x7f), &cmd) == -1 && errno == ENOTTY);
	q.ioas_id = (uint32_t)ioas_alloc(fd);
	EXPECT(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q) == -1 && errno == EMSGSIZE);
	EXPECT(q.num_iovas == 1);
	EXPECT(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q) == 0 && r[0].last == UINT64_MAX);
	close(fd);
}

/*
 * The daemon's pid, from ioasid-run.  (SO_PEERCRED would name whoever
 * called listen(), which is ioasid-run itself.)
 */
static int daemon_pid(void)
{
	const char *p = getenv("IOASID_DAEMON_PID");

	return p ? atoi(p) : -1;
}

static long count_fds(int pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/*
 * The daemon's descriptor count, once every close made before the call
 * has reached it: a request is served only after every close that came
 * before it (the daemon's rounds hang up first), and what a request or a
 * close let go of is gone before the daemon goes on, so one round trip on
 * a connection kept for this is the barrier.  Its own descriptor is part
 * of every count alike.
 */
static long daemon_fds(int pid)
{
	static int barrier = -1;

	if (barrier < 0) {
		barrier = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		/* Past the shim's making a request slot (and the daemon's
		 * keeping its descriptors) now, not between two counts. */
		for (int i = 0; barrier >= 0 && i < 64; i++)
			destroy(barrier, ioas_alloc(barrier));
	}
	if (barrier < 0 || destroy(barrier, ioas_alloc(barrier)))
		return -1;
	return count_fds(pid);
}

static long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void garbage(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	unsigned char junk[3000];
	int s;

	strncpy(a.sun_path, getenv("IOASID_SOCKET"), sizeof(a.sun_path) - 1);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
		close(s);
		return;
	}
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	send(s, junk, (size_t)(rand() % (int)sizeof(junk)) + 1, MSG_NOSIGNAL);
	if (rand() & 1) /* a valid-looking header with nonsense after it */
		send(s, "ioas\x01\x00\x01\x00", 8, MSG_NOSIGNAL);
	close(s);
}

static void t_daemon_survives(void)
{
	int pid = daemon_pid();
	long fds0, rss0, fds1, rss1;

	EXPECT(pid > 0);
	/* Warm up allocator arenas before taking the baseline. */
	for (int i = 0; i < 500; i++) {
		int fd = open("/dev/iommu", O_RDWR);

		ioas_alloc(fd);
		close(fd);
	}
	fds0 = daemon_fds(pid);
	rss0 = rss_kb(pid);
	for (int i = 0; i < 10000; i++) {
		int fd = open("/dev/iommu", O_RDWR);

		if (ioas_alloc(fd) != 1) {
			EXPECT(0);
			close(fd);
			break;
		}
		close(fd);
		if (i % 100 == 0)
			garbage();
		if (i % 1000 == 0) {
			/* A client killed in the middle of its ioctls. */
			int started[2];
			pid_t k;
			char c;

			EXPECT(pipe(started) == 0);
			k = fork();
			if (k == 0) {
				int f = open("/dev/iommu", O_RDWR);

				ioas_alloc(f);
				(void)!write(started[1], "s", 1);
				for (;;)
					ioas_alloc(f);
			}
			EXPECT(read(started[0], &c, 1) == 1);
			close(started[0]);
			close(started[1]);
			kill(k, SIGKILL);
			waitpid(k, NULL, 0);
		}
	}
	{
		int fd = open("/dev/iommu", O_RDWR);

		EXPECT(ioas_alloc(fd) == 1);
		close(fd);
	}
	fds1 = daemon_fds(pid);
	rss1 = rss_kb(pid);
	printf("  daemon fds %ld -> %ld, RSS %ld kB -> %ld kB over 10000 cycles\n",
	       fds0, fds1, rss0, rss1);
	EXPECT(fds1 == fds0);
	/* No growth beyond allocator noise.  ASan's allocator keeps freed
	 * memory for itself, so there LeakSanitizer at exit is the check. */
	if (!getenv("IOASID_DAEMON_SANITIZED"))
		EXPECT(rss1 - rss0 < 1024);
}

/*
 * A daemon out of descriptors refuses new clients with EMFILE (their
 * first request says so) instead of leaving them connected to nobody,
 * and serves again once descriptors are free.  Its limit is lowered from
 * here (we are root, as the suite is).
 */
static void t_daemon_out_of_fds(void)
{
	int pid = daemon_pid(), fds[64], n = 0, refused = 0, served = 0, fd;
	struct rlimit old, low;
	long now = daemon_fds(pid); /* with "." and ".." */

	EXPECT(now > 0 && prlimit(pid, RLIMIT_NOFILE, NULL, &old) == 0);
	/* The soft limit only: putting it back needs no privilege. */
	low = old;
	low.rlim_cur = (rlim_t)now + 6;
	if (prlimit(pid, RLIMIT_NOFILE, &low, NULL)) {
		EXPECT(!"lowering the daemon's RLIMIT_NOFILE");
		return;
	}
	alarm(60);
	for (n = 0; n < 64; n++) {
		int rc;

		fds[n] = open("/dev/iommu", O_RDWR);
		EXPECT(fds[n] >= 0);
		rc = ioas_alloc(fds[n]);
		if (rc == 1)
			served++;
		else if (rc == -EMFILE)
			refused++;
		else
			fprintf(stderr, "  connection %d: %s\n", n, strerror(-rc));
	}
	EXPECT(served > 0 && refused > 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	EXPECT(prlimit(pid, RLIMIT_NOFILE, &old, NULL) == 0);
	fd = open("/dev/iommu", O_RDWR);
	EXPECT(ioas_alloc(fd) == 1);
	alarm(0);
	close(fd);
}

static int fault_queue(int fd, int *qfd)
{
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };

	if (ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa))
		return -errno;
	*qfd = (int)fa.out_fault_fd;
	return 0;
}

/*
 * Under a daemon started with --max-user-files N (IOASID_TEST_USER_FILES
 * says N): a user's connections and the files handed to it share N
 * descriptors of the daemon's; past them it gets EMFILE, and what it
 * closes it gets back.
 */
static void t_user_share(void)
{
	const char *v = getenv("IOASID_TEST_USER_FILES");
	int max = v ? atoi(v) : 0, fds[64], served = 0, refused = 0, n, fd;

	EXPECT(max > 1 && max < 32);
	if (max <= 1 || max >= 32)
		return;
	for (n = 0; n < max + 4; n++) {
		int rc;

		fds[n] = open("/dev/iommu", O_RDWR);
		rc = ioas_alloc(fds[n]);
		served += rc == 1;
		refused += rc == -EMFILE;
	}
	EXPECT(served == max && refused == 4);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	/* One connection, then files until the share is used up. */
	fd = open("/dev/iommu", O_RDWR);
	for (n = 0; n < max + 4; n++) {
		int rc = fault_queue(fd, &fds[n]);

		if (rc) {
			EXPECT(rc == -EMFILE);
			break;
		}
	}
	EXPECT(n == max - 1);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	EXPECT(fault_queue(fd, &fds[0]) == 0);
	close(fds[0]);
	close(fd);
}

/*
 * A page set belongs to the image it was made in.  A child maps a buffer,
 * then execs a new image (ours again, in --exec-image mode) that puts
 * other bytes at the very same address; DMA through the mapping must not
 * reach them.  The kernel's pins would still show the old pages; we no
 * longer can, so the DMA faults (EFAULT), which it must, rather than
 * read or write the new image (a setuid program's, say).
 */
static const char *self_path; /* argv[0], to exec ourselves */
static int test_cmd(int fd, struct iommu_test_cmd *cmd);

static void t_exec_leaves_page_set(void)
{
	/* In the shared daemon's run, the new image is a setuid program. */
	const char *self = getenv("IOASID_TEST_SETUID") ?
				   getenv("IOASID_TEST_SETUID") :
				   self_path;
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd);
	int mapped[2], go[2], ready[2];
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	unsigned char got[16];
	struct ioasid_device_dma dma = {
		.size = sizeof(dma), .length = sizeof(got),
		.uptr = (uintptr_t)got, .iova = 1 << 24,
	};
	char c;
	pid_t pid;

	EXPECT(pipe(mapped) == 0 && pipe(go) == 0 && pipe(ready) == 0);
	md.id = (uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0);
	dma.dev_id = md.mock_domain.out_idev_id;
	pid = fork();
	if (pid == 0) {
		unsigned char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE |
				 IOMMU_IOAS_MAP_FIXED_IOVA,
			.ioas_id = (uint32_t)ioas, .user_va = (uintptr_t)buf,
			.length = 4096, .iova = 1 << 24,
		};
		char addr[32], wfd[16];

		memset(buf, 0x5a, 4096);
		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			_exit(1);
		(void)!write(mapped[1], "m", 1);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		snprintf(addr, sizeof(addr), "%lu", (unsigned long)buf);
		snprintf(wfd, sizeof(wfd), "%d", ready[1]);
		execl(self, self, "--exec-image", addr, wfd, (char *)NULL);
		_exit(3);
	}
	EXPECT(read(mapped[0], &c, 1) == 1);
	/* Before the exec, the device reads the child's bytes. */
	EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == 0 && got[0] == 0x5a);
	EXPECT(write(go[1], "g", 1) == 1);
	EXPECT(read(ready[0], &c, 1) == 1 && c == 'r');
	memset(got, 0, sizeof(got));
	errno = 0;
	EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == -1 && errno == EFAULT);
	EXPECT(got[0] != 0xa5);
	dma.flags = IOASID_DMA_WRITE;
	EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == -1 && errno == EFAULT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(mapped[0]);
	close(mapped[1]);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
	close(fd);
}

/* Our daemon becomes a shared one (another user may connect), or ours
 * alone again. */
static void share_daemon(bool share)
{
	char dir[108];

	snprintf(dir, sizeof(dir), "%s", getenv("IOASID_SOCKET"));
	if (share)
		EXPECT(chmod(dir, 0666) == 0);
	*strrchr(dir, '/') = 0;
	EXPECT(chmod(dir, share ? 0711 : 0700) == 0);
}

/*
 * Two users pin the same page of a file both may read, the other user
 * first.  It then puts memory of its own where its mapping of the page
 * was.  Our device must still read the file's page, never the other
 * user's memory: a pinned page is reached only through its own user's
 * holders.
 * (Runs as root: the second user is nobody, uid 65534.)
 */
static void t_no_alias_across_users(void)
{
	char path[] = "/tmp/ioasid-alias-XXXXXX";
	int file = mkstemp(path), fd = open("/dev/iommu", O_RDWR);
	int ioas = ioas_alloc(fd), pinned[2], go[2], swapped[2];
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	unsigned char *mine, got[8];
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
		.length = 4096, .iova = 1 << 24,
	};
	struct ioasid_device_dma dma = {
		.size = sizeof(dma), .length = sizeof(got),
		.uptr = (uintptr_t)got, .iova = 1 << 24,
	};
	char c;
	pid_t pid;

	share_daemon(true);
	EXPECT(file >= 0 && fchmod(file, 0644) == 0 && ftruncate(file, 4096) == 0);
	EXPECT(pwrite(file, "the file", 8, 0) == 8);
	EXPECT(pipe(pinned) == 0 && pipe(go) == 0 && pipe(swapped) == 0);
	md.id = (uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0);
	mine = mmap(NULL, 4096, PROT_READ, MAP_SHARED, file, 0);
	EXPECT(mine != MAP_FAILED);
	pid = fork();
	if (pid == 0) {
		int bfd, bioas, f;
		unsigned char *page;
		struct iommu_test_cmd bmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };

		/* A process that changed its credentials is not dumpable:
		 * not even it may open its own memory for the daemon until
		 * it says it may be (ioasidd(8)). */
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) ||
		    prctl(PR_SET_DUMPABLE, 1))
			_exit(2);
		f = open(path, O_RDONLY);
		bfd = open("/dev/iommu", O_RDWR);
		bioas = ioas_alloc(bfd);
		page = mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0);
		if (f < 0 || bioas < 0 || page == MAP_FAILED)
			_exit(3);
		bmd.id = (uint32_t)bioas;
		map.ioas_id = (uint32_t)bioas;
		map.user_va = (uintptr_t)page;
		if (test_cmd(bfd, &bmd) || ioctl(bfd, IOMMU_IOAS_MAP, &map))
			_exit(4);
		(void)!write(pinned[1], "p", 1);
		if (read(go[0], &c, 1) != 1)
			_exit(6);
		/* Its own memory where its view of the page was. */
		page = mmap(page, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (page == MAP_FAILED)
			_exit(5);
		memcpy(page, "EVILEVIL", 8);
		(void)!write(swapped[1], "s", 1);
		pause();
		_exit(0);
	}
	/* A child that fails closes these: the reads then end. */
	close(pinned[1]);
	close(swapped[1]);
	EXPECT(read(pinned[0], &c, 1) == 1);
	map.ioas_id = (uint32_t)ioas;
	map.user_va = (uintptr_t)mine;
	EXPECT(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	EXPECT(write(go[1], "g", 1) == 1);
	EXPECT(read(swapped[0], &c, 1) == 1);
	dma.dev_id = md.mock_domain.out_idev_id;
	EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == 0);
	EXPECT(!memcmp(got, "the file", 8));
	kill(pid, SIGKILL);
	{
		int st;

		EXPECT(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
		if (WIFEXITED(st))
			fprintf(stderr, "  the other user's side exited %d\n",
				WEXITSTATUS(st));
	}
	share_daemon(false);
	munmap(mine, 4096);
	close(file);
	unlink(path);
	close(pinned[0]);
	close(go[0]);
	close(go[1]);
	close(swapped[0]);
	close(fd);
}

/* A connection of our own, speaking the wire without the shim. */
static int raw_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", getenv("IOASID_SOCKET"));
	setsockopt(s, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
		close(s);
		return -1;
	}
	return s;
}

/* IOAS_ALLOC at arg whose struct says `size`, its first 12 bytes sent
 * along (nothing of the tail: the daemon reads that itself). */
static int raw_ioas_alloc(int s, void *arg, uint32_t size)
{
	struct {
		struct ioasid_wire_req req;
		struct ioasid_wire_seg seg;
		struct iommu_ioas_alloc a;
	} __attribute__((packed)) m = {
		.req = { .magic = IOASID_WIRE_MAGIC, .kind = IOASID_WIRE_IOCTL,
			 .version = IOASID_WIRE_VERSION,
			 .cmd = IOMMU_IOAS_ALLOC, .arg = (uintptr_t)arg,
			 .tid = (uint32_t)gettid(), .nsegs = 1, .fd = -1 },
		.seg = { .uptr = (uintptr_t)arg, .len = 12,
			 .flags = IOASID_SEG_DATA | IOASID_SEG_WRITABLE },
		.a = { .size = size },
	};

	return send(s, &m, sizeof(m), 0) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* The answer to a raw request: its result, and what it wrote to arg. */
/* What the shim does when the daemon asks for our memory: our own
 * descriptors of it. */
static void raw_give_memory(int s, uint32_t seq)
{
	struct ioasid_wire_req ans = {
		.magic = IOASID_WIRE_MAGIC, .kind = IOASID_WIRE_MEM_REPLY,
		.version = IOASID_WIRE_VERSION, .seq = seq, .fd = -1,
	};
	int fds[2] = { open("/proc/self/mem", O_RDWR | O_CLOEXEC),
		       open("/proc/self/maps", O_RDONLY | O_CLOEXEC) };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control;
	struct iovec iov = { &ans, sizeof(ans) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	EXPECT(sendmsg(s, &msg, 0) == sizeof(ans));
	close(fds[0]);
	close(fds[1]);
}

static long raw_reply(int s, void *arg, uint32_t len)
{
	static unsigned char buf[IOASID_WIRE_MAX_MSG];
	struct ioasid_wire_cursor c;
	struct ioasid_wire_rep rep;
	struct ioasid_wire_seg seg;
	const void *data;
	ssize_t n;

	for (;;) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(rep))
			return -999;
		memcpy(&rep, buf, sizeof(rep));
		if (rep.kind != IOASID_WIRE_MEM_HANDLE)
			break;
		raw_give_memory(s, rep.seq);
	}
	c = (struct ioasid_wire_cursor){ buf + sizeof(rep), buf + n, rep.nsegs };
	while (!ioasid_wire_next_seg(&c, &seg, &data))
		if (data && seg.uptr == (uintptr_t)arg && seg.len <= len)
			memcpy(arg, data, seg.len);
	return (long)rep.result;
}

/* The result alone. */
static long raw_result(int s)
{
	return raw_reply(s, NULL, 0);
}

/*
 * Any request of cmd on s: its struct (len bytes at arg) goes whole and
 * writable, with descriptor fd (unless -1) attached under its own number,
 * claiming every capability (the daemon must not take the claim's word).
 */
static int raw_ioctl(int s, unsigned int cmd, void *arg, uint32_t len, int fd)
{
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC, .kind = IOASID_WIRE_IOCTL,
		.version = IOASID_WIRE_VERSION, .cmd = cmd,
		.arg = (uintptr_t)arg, .tid = (uint32_t)gettid(), .nsegs = 1,
		.fd = fd, .cap_effective = ~0ULL,
	};
	struct ioasid_wire_seg seg = {
		.uptr = (uintptr_t)arg, .len = len,
		.flags = IOASID_SEG_DATA | IOASID_SEG_WRITABLE,
	};
	struct iovec iov[3] = {
		{ &req, sizeof(req) }, { &seg, sizeof(seg) }, { arg, len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
	union ioasid_wire_fd_control control;

	if (fd >= 0)
		ioasid_wire_attach_fd(&msg, &control, fd);
	return sendmsg(s, &msg, 0) < 0 ? -1 : 0;
}

/*
 * The daemon asks a connection for our memory once, mid-request, and the
 * asking holds the connection: nothing else may be sent on it until we
 * answer (the shim's lock sees to that).  A test that queues a request
 * behind a long one has it asked first, on a small tail of zeros at m.
 */
static void raw_give_memory_first(int s, char *m)
{
	EXPECT(raw_ioas_alloc(s, m, 64) == 0 && raw_result(s) == 0);
}


/*
 * A request whose sender is gone before it is read is not served: a
 * process that has exited makes no call, and its pid may by then be
 * another process' (whose memory and rights the request would use).
 * The connection is kept busy first (a 4 GiB struct tail the daemon must
 * scan): a connection's requests are served in order, so the child's,
 * queued behind it, is read only after the child has exited.  The
 * connection lives on in us.
 */
static void t_sender_gone(void)
{
	size_t big = (4ULL << 30) + 4096;
	char *m = mmap(NULL, big, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int s = raw_connect(), queued = 1, st;
	struct iommu_ioas_alloc mine = { .size = sizeof(mine) };
	pid_t pid;

	EXPECT(m != MAP_FAILED && s >= 0);
	raw_give_memory_first(s, m);
	EXPECT(raw_ioas_alloc(s, m, 0xfffffff0u) == 0);
	/* Until the daemon has taken it, and so is scanning. */
	while (!ioctl(s, SIOCOUTQ, &queued) && queued > 0)
		;
	pid = fork();
	if (pid == 0)
		_exit(raw_ioas_alloc(s, &mine, sizeof(mine)) ? 1 : 0);
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);
	EXPECT(raw_result(s) == 0);
	EXPECT(raw_result(s) == -ESRCH);
	close(s);
	munmap(m, big);
}

/*
 * Under a daemon that asks clients for their memory (IOASID_MEMORY_CALLBACK
 * =always): a client that leaves the daemon's question unanswered holds
 * only its own request.  Another connection is opened and served
 * meanwhile, and the first, answered afterwards (well within the daemon's
 * patience), completes as if nothing had happened.  A daemon that waited
 * for the answer before serving anyone would serve the other connection
 * only after giving up on the first, which then gets no success.
 */
static void t_stalled_callback(void)
{
	struct iommu_ioas_alloc a = { .size = 16 };
	unsigned char buf[512];
	struct ioasid_wire_rep ask;
	struct ioasid_wire_seg want;
	int s = raw_connect(), fd;
	struct {
		struct ioasid_wire_req req;
		struct ioasid_wire_seg seg;
		uint32_t tail;
	} __attribute__((packed)) answer = {
		.req = { .magic = IOASID_WIRE_MAGIC,
			 .kind = IOASID_WIRE_MEM_REPLY,
			 .version = IOASID_WIRE_VERSION, .nsegs = 1 },
	};
	uint32_t padded[4] = { 16 };
	ssize_t n;

	if (!getenv("IOASID_MEMORY_CALLBACK")) {
		printf("  (needs a daemon that asks for memory)\n");
		return;
	}
	EXPECT(s >= 0);
	memcpy(padded, &a, sizeof(a));
	/* Bytes 12..15 are not sent: the daemon asks for them. */
	EXPECT(raw_ioas_alloc(s, padded, 16) == 0);
	n = recv(s, buf, sizeof(buf), 0);
	EXPECT(n >= (ssize_t)(sizeof(ask) + sizeof(want)));
	if (n < (ssize_t)(sizeof(ask) + sizeof(want)))
		return;
	memcpy(&ask, buf, sizeof(ask));
	memcpy(&want, buf + sizeof(ask), sizeof(want));
	EXPECT(ask.kind == IOASID_WIRE_MEM_READ && want.len == 4 &&
	       want.uptr == (uintptr_t)padded + 12);

	/* The daemon now waits for us; someone else asks meanwhile. */
	fd = open("/dev/iommu", O_RDWR);
	EXPECT(fd >= 0 && ioas_alloc(fd) > 0);
	close(fd);

	answer.req.seq = ask.seq;
	answer.seg = (struct ioasid_wire_seg){ .uptr = want.uptr, .len = 4,
					       .flags = IOASID_SEG_DATA };
	EXPECT(send(s, &answer, sizeof(answer), 0) == (ssize_t)sizeof(answer));
	EXPECT(raw_result(s) == 0);
	close(s);
}

/*
 * Capabilities and limits are the sender's as it was when it sent (run by
 * a user other than root, with IOASID_TEST_SETUID naming a setuid-root
 * copy of this program).  A child whose RLIMIT_MEMLOCK is 1 MiB (its hard
 * limit higher) asks for a 4 MiB pinned mapping, claiming every
 * capability, and at once execs the setuid program, which holds
 * CAP_IPC_LOCK and raises its limit to the hard one.  The request waits
 * behind one of ours on the same connection until the exec is done; it
 * must still be judged as the child's: no CAP_IPC_LOCK, and its 1 MiB, so
 * ENOMEM.
 */
static void t_caps_at_send(void)
{
	const char *suid = getenv("IOASID_TEST_SETUID");
	size_t big = (4ULL << 30) + 4096;
	char *m = mmap(NULL, big, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int s = raw_connect(), mem = memfd_create("pinned", 0), ready[2];
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
		.fd = mem, .length = 4 << 20, .iova = 1 << 24,
	};
	struct rlimit lim;
	struct stat st;
	char c;
	pid_t pid;

	if (!suid || getuid() == 0) {
		printf("  (needs a user other than root and a setuid program)\n");
		failures++;
		return;
	}
	EXPECT(m != MAP_FAILED && s >= 0 && mem >= 0 && pipe(ready) == 0 &&
	       ftruncate(mem, 4 << 20) == 0);
	/* Else the raised limit would refuse the mapping too. */
	EXPECT(!getrlimit(RLIMIT_MEMLOCK, &lim) && lim.rlim_max >= 4 << 20);
	EXPECT(raw_ioctl(s, IOMMU_IOAS_ALLOC, &a, sizeof(a), -1) == 0 &&
	       raw_reply(s, &a, sizeof(a)) == 0);
	md.id = map.ioas_id = a.out_ioas_id;
	EXPECT(raw_ioctl(s, IOMMU_TEST_CMD, &md, sizeof(md), -1) == 0 &&
	       raw_reply(s, &md, sizeof(md)) == 0);
	/* Ours first: a 4 GiB tail of our memory to scan, not the child's. */
	raw_give_memory_first(s, m);
	EXPECT(raw_ioas_alloc(s, m, 0xfffffff0u) == 0);
	pid = fork();
	if (pid == 0) {
		struct rlimit one = { 1 << 20, lim.rlim_max };
		char wfd[16];

		if (setrlimit(RLIMIT_MEMLOCK, &one) ||
		    raw_ioctl(s, IOMMU_IOAS_MAP_FILE, &map, sizeof(map), mem))
			_exit(1);
		snprintf(wfd, sizeof(wfd), "%d", ready[1]);
		execl(suid, suid, "--exec-image", "35184372088832", wfd,
		      (char *)NULL);
		_exit(3);
	}
	EXPECT(read(ready[0], &c, 1) == 1 && c == 'r');
	/* The exec did raise its privilege, or this proves nothing. */
	snprintf((char *)m, 64, "/proc/%d", (int)pid);
	EXPECT(stat((char *)m, &st) == 0 && st.st_uid == 0);
	memset(m, 0, 64);
	EXPECT(raw_result(s) == 0);
	EXPECT(raw_reply(s, &map, sizeof(map)) == -ENOMEM);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	close(mem);
	close(s);
	munmap(m, big);
}

/*
 * A request reads its sender's memory as the sender could when it sent,
 * never an image that has replaced it (a setuid program's, in the shared
 * daemon's run).  A child sends an IOAS_ALLOC whose tail the daemon must
 * read from its memory -- zeros, at an address the new image fills with
 * other bytes -- and execs while the request waits behind a long one of
 * ours.  Reading the new image would be E2BIG; the image the child sent
 * from is gone, so EFAULT.  (The daemon asks the connection for the
 * child's memory: we answer, as another process, and are refused.)
 */
static void t_exec_before_served(void)
{
	const char *image = getenv("IOASID_TEST_SETUID") ?
				    getenv("IOASID_TEST_SETUID") :
				    self_path;
	size_t big = (4ULL << 30) + 4096;
	char *m = mmap(NULL, big, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *at = (char *)(35184372088832ULL + (1ULL << 30));
	int s = raw_connect(), ready[2];
	char c, addr[32], wfd[16];
	pid_t pid;

	EXPECT(m != MAP_FAILED && s >= 0 && pipe(ready) == 0);
	raw_give_memory_first(s, m);
	EXPECT(raw_ioas_alloc(s, m, 0xfffffff0u) == 0);
	pid = fork();
	if (pid == 0) {
		char *zeros = mmap(at, 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS |
					   MAP_FIXED_NOREPLACE,
				   -1, 0);

		if (zeros != at || raw_ioas_alloc(s, zeros, 4096))
			_exit(1);
		munmap(zeros, 4096);
		snprintf(addr, sizeof(addr), "%lu", (unsigned long)at);
		snprintf(wfd, sizeof(wfd), "%d", ready[1]);
		execl(image, image, "--exec-image", addr, wfd, (char *)NULL);
		_exit(3);
	}
	EXPECT(read(ready[0], &c, 1) == 1 && c == 'r');
	EXPECT(raw_result(s) == 0);
	EXPECT(raw_result(s) == -EFAULT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	close(s);
	munmap(m, big);
}

/* --exec-image ADDR FD: the new image, other bytes at ADDR, then wait. */
static int exec_image(const char *addr, const char *wfd)
{
	void *want = (void *)strtoul(addr, NULL, 10);
	unsigned char *p = mmap(want, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				-1, 0);

	if (p != want)
		return 4;
	/* An image that raised its privilege raises its limit too (as far
	 * as it may here: CAP_SYS_RESOURCE may be out of the bounding set):
	 * a request sent before the exec must not be charged against it. */
	if (geteuid() == 0) {
		struct rlimit l;

		if (!getrlimit(RLIMIT_MEMLOCK, &l)) {
			l.rlim_cur = l.rlim_max;
			setrlimit(RLIMIT_MEMLOCK, &l);
		}
	}
	memset(p, 0xa5, 4096);
	(void)!write(atoi(wfd), "r", 1);
	for (;;)
		pause();
}

/*
 * Under a daemon started with --max-user-objects N (IOASID_TEST_USER_OBJECTS
 * says N): one user's objects in all its contexts come to N at most;
 * past them ENOMEM, as a cgroup at its limit would give; what is
 * destroyed, or goes with its context, is given back.
 */
static void t_user_objects(void)
{
	const char *v = getenv("IOASID_TEST_USER_OBJECTS");
	int max = v ? atoi(v) : 0, a = open("/dev/iommu", O_RDWR);
	int b = open("/dev/iommu", O_RDWR), made = 0, last = 0;

	EXPECT(max > 10 && max < 10000);
	if (max <= 10 || max >= 10000)
		return;
	for (int i = 0; i < max / 2; i++)
		made += ioas_alloc(a) > 0;
	for (int i = 0; i < max; i++) {
		int rc = ioas_alloc(b);

		if (rc < 0) {
			EXPECT(rc == -ENOMEM);
			break;
		}
		made++;
		last = rc;
	}
	EXPECT(made == max);
	EXPECT(ioas_alloc(a) == -ENOMEM);
	EXPECT(destroy(b, (uint32_t)last) == 0);
	EXPECT(ioas_alloc(a) > 0);
	/* The context's end gives back all it held: b, holding
	 * max - max/2 - 1, may make the rest. */
	close(a);
	for (int i = 0; i < max / 2 + 1; i++)
		EXPECT(ioas_alloc(b) > 0);
	EXPECT(ioas_alloc(b) == -ENOMEM);
	close(b);
}

/*
 * A process that changed its credentials is not dumpable: not even it may
 * open its own memory, so the daemon cannot reach it.  Its requests' own
 * buffers still travel (asked of it, the memory callback), but a mapping
 * of its memory fails (EFAULT) rather than be made with the daemon's
 * rights; once it says it may be reached (PR_SET_DUMPABLE), a new
 * connection maps.  (Runs as root: the process becomes nobody.)
 */
static void t_not_dumpable(void)
{
	int st;
	pid_t pid;

	if (getuid() != 0) {
		printf("  (needs root, to become another user)\n");
		return;
	}
	share_daemon(true);
	pid = fork();
	if (pid == 0) {
		unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_READABLE,
			.user_va = (uintptr_t)page, .length = 4096,
		};
		/* A 12-byte struct with a 4 KiB zero tail the daemon must
		 * read from us. */
		struct iommu_ioas_alloc *alloc = (void *)page;
		struct ioasid_ring ring;
		int fd;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) ||
		    prctl(PR_GET_DUMPABLE) != 0)
			_exit(2);
		fd = open("/dev/iommu", O_RDWR);
		alloc->size = 4096;
		if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, alloc))
			_exit(3);
		map.ioas_id = alloc->out_ioas_id;
		if (ioctl(fd, IOMMU_IOAS_MAP, &map) == 0 || errno != EFAULT)
			_exit(4);
		/* Nor through a ring, whose entries run as the ioctl. */
		if (ioasid_ring_open(fd, 1, &ring) ||
		    ioasid_ring_put(&ring, 0, IOMMU_IOAS_MAP, &map,
				    sizeof(map)) ||
		    ioasid_ring_enter(&ring, 0, 1, 0) != 1 ||
		    ring.entry[0].result != -EFAULT)
			_exit(7);
		ioasid_ring_close(&ring);
		close(fd);
		if (prctl(PR_SET_DUMPABLE, 1))
			_exit(5);
		fd = open("/dev/iommu", O_RDWR);
		map.ioas_id = (uint32_t)ioas_alloc(fd);
		if (ioctl(fd, IOMMU_IOAS_MAP, &map))
			_exit(6);
		close(fd);
		_exit(0);
	}
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WIFEXITED(st) && WEXITSTATUS(st))
		printf("  the other user's side exited %d\n", WEXITSTATUS(st));
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	share_daemon(false);
}

/*
 * Under a daemon started with --max-user-memory 1M
 * (IOASID_TEST_USER_MEMORY=1 says so): copies of one page at scattered
 * IOVAs, each costing the daemon page tables, end in ENOMEM; closing the
 * context gives it all back, so a new one may copy again.
 */
static int copies_until_enomem(int fd, unsigned char *page)
{
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
		.user_va = (uintptr_t)page, .length = 4096, .iova = 1 << 24,
	};
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
		.length = 4096, .src_iova = 1 << 24,
	};
	int ioas = ioas_alloc(fd), made = 0;

	md.id = map.ioas_id = copy.src_ioas_id = copy.dst_ioas_id =
		(uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0 && ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	for (; made < 5000; made++) {
		copy.dst_iova = (2ull << 24) + (uint64_t)made * (2 << 20);
		if (ioctl(fd, IOMMU_IOAS_COPY, &copy)) {
			EXPECT(errno == ENOMEM);
			break;
		}
	}
	return made;
}

static void t_user_memory(void)
{
	unsigned char *page = mmap(NULL, 4096, PROT_READ,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/dev/iommu", O_RDWR), first, again;

	EXPECT(getenv("IOASID_TEST_USER_MEMORY") != NULL);
	first = copies_until_enomem(fd, page);
	EXPECT(first > 0 && first < 5000);
	close(fd);
	fd = open("/dev/iommu", O_RDWR);
	again = copies_until_enomem(fd, page);
	EXPECT(again == first);
	close(fd);
	munmap(page, 4096);
}

static void t_unreachable(void)
{
	char *saved = strdup(getenv("IOASID_SOCKET"));

	setenv("IOASID_SOCKET", "/nonexistent/ioasid.sock", 1);
	errno = 0;
	EXPECT(open("/dev/iommu", O_RDWR) == -1 && errno == EIO);
	setenv("IOASID_SOCKET", saved, 1);
	free(saved);
}

/*
 * The first request on a brand-new connection can reach the daemon before it
 * has accepted the connection; it must still know whose memory it names.
 */
static void t_first_request_reaches_memory(void)
{
	void *buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iommu_test_cmd t = {
		.size = sizeof(t),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = 4 * 4096, .uptr = (uintptr_t)buf },
	};
	int bad = 0;

	for (int i = 0; i < 3000 && !bad; i++) {
		int fd = open("/dev/iommu", O_RDWR);

		bad = ioctl(fd, IOMMU_TEST_CMD, &t) != 0;
		close(fd);
	}
	EXPECT(!bad);
	munmap(buf, 4 * 4096);
}

static int thread_has_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

static int set_rlimit_mode(int fd, uint64_t val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = val,
	};

	return ioctl(fd, IOMMU_OPTION, &cmd) ? -errno : 0;
}

/*
 * RLIMIT_MODE needs CAP_SYS_RESOURCE of the calling thread, in the user
 * namespace the daemon serves: a thread that dropped it is refused, and so
 * is a root of a child namespace, which holds it only there.
 */
static void t_capabilities(void)
{
	int held = thread_has_cap(CAP_SYS_RESOURCE);
	int fd = open("/dev/iommu", O_RDWR);
	pid_t pid;
	int st;

	EXPECT(fd >= 0);
	EXPECT(set_rlimit_mode(fd, 1) == (held ? 0 : -EPERM));
	EXPECT(set_rlimit_mode(fd, 0) == (held ? 0 : -EPERM));

	/* Drop it from this thread's effective set only, in a child. */
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct data[2];

		if (syscall(SYS_capget, &hdr, data))
			_exit(3);
		data[CAP_SYS_RESOURCE / 32].effective &=
			~(1u << (CAP_SYS_RESOURCE % 32));
		if (syscall(SYS_capset, &hdr, data))
			_exit(3);
		_exit(set_rlimit_mode(fd, 1) == -EPERM ? 0 : 1);
	}
	EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);

	/* Root of a fresh user namespace: every capability, none over us. */
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER))
			_exit(4); /* no user namespaces here: nothing to check */
		if (!thread_has_cap(CAP_SYS_RESOURCE))
			_exit(3);
		_exit(set_rlimit_mode(fd, 1) == -EPERM ? 0 : 1);
	}
	EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 4));
	close(fd);
}

static int map_file(int fd, uint32_t ioas, int mfd, uint64_t start,
		    uint64_t len, uint64_t *iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .fd = mfd, .start = start, .length = len,
	};
	int rc = ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd) ? -errno : 0;

	*iova = cmd.iova;
	return rc;
}

/*
 * A descriptor lends the daemon what it grants, no more: an O_PATH one
 * (which a user may hold for a file it cannot open) names no open file
 * (EBADF), and as for mmap(2) a mapping needs the file open for reading
 * and, to be writeable, for writing (EACCES).
 */
static void t_map_file_modes(void)
{
	int fd = open("/dev/iommu", O_RDWR), mfd = memfd_create("modes", 0);
	int ioas = ioas_alloc(fd), path_fd, ro, wo;
	char proc[64];
	uint64_t iova;

	EXPECT(mfd >= 0 && ftruncate(mfd, 4096) == 0);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	path_fd = open(proc, O_PATH);
	ro = open(proc, O_RDONLY);
	wo = open(proc, O_WRONLY);
	EXPECT(path_fd >= 0 && ro >= 0 && wo >= 0);
	EXPECT(map_file(fd, ioas, path_fd, 0, 4096, &iova) == -EBADF);
	EXPECT(map_file(fd, ioas, ro, 0, 4096, &iova) == -EACCES);
	EXPECT(map_file(fd, ioas, wo, 0, 4096, &iova) == -EACCES);
	{
		struct iommu_ioas_map_file cmd = {
			.size = sizeof(cmd), .flags = IOMMU_IOAS_MAP_READABLE,
			.ioas_id = (uint32_t)ioas, .fd = ro, .length = 4096,
		};

		EXPECT(ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd) == 0);
	}
	EXPECT(map_file(fd, ioas, mfd, 0, 4096, &iova) == 0);
	close(path_fd);
	close(ro);
	close(wo);
	close(mfd);
	/* Another user's 0600 file (the shared daemon's run names one): we
	 * may hold an O_PATH descriptor for it, which opens nothing, and the
	 * root daemon must not read it for us. */
	if (getenv("IOASID_TEST_SECRET")) {
		path_fd = open(getenv("IOASID_TEST_SECRET"), O_PATH);
		EXPECT(path_fd >= 0 &&
		       open(getenv("IOASID_TEST_SECRET"), O_RDONLY) == -1 &&
		       errno == EACCES);
		EXPECT(map_file(fd, ioas, path_fd, 0, 4096, &iova) == -EBADF);
		close(path_fd);
	}
	close(fd);
}

/*
 * IOAS_MAP_FILE names a file by the caller's descriptor number: the shim
 * hands the file itself to the daemon, which keeps it for exactly as long
 * as the mapping lives.
 */
static void t_map_file(void)
{
	int dpid = daemon_pid();
	int fd = open("/dev/iommu", O_RDWR);
	int mfd = memfd_create("map-file", MFD_CLOEXEC);
	struct iommu_ioas_unmap um = { .size = sizeof(um), .length = UINT64_MAX };
	uint64_t iova = 0, file_iova = 0;
	long fds_before;
	int ioas;

	EXPECT(fd >= 0 && mfd >= 0 && ftruncate(mfd, 1 << 20) == 0);
	/* A first mapping of ours: the daemon now knows this process (one
	 * pidfd for all its mappings). */
	ioas = ioas_alloc(fd);
	{
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = ioas,
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
			.user_va = (uintptr_t)&m, .length = 4096, .iova = 1 << 30,
		};

		EXPECT(ioctl(fd, IOMMU_IOAS_MAP, &m) == 0);
	}
	fds_before = daemon_fds(dpid);
	EXPECT(map_file(fd, ioas, mfd, 4096, 8192, &file_iova) == 0);
	EXPECT(file_iova != 0);
	/* The daemon holds the file now, and nothing else new. */
	EXPECT(daemon_fds(dpid) == fds_before + 1);
	EXPECT(map_file(fd, ioas, 999, 0, 4096, &iova) == -EBADF);
	EXPECT(map_file(fd, ioas, -1, 0, 4096, &iova) == -EBADF);
	EXPECT(map_file(fd, ioas, mfd, 0, 0, &iova) == -EINVAL);
	EXPECT(map_file(fd, ioas, mfd, UINT64_MAX, 2, &iova) == -EOVERFLOW);
	EXPECT(map_file(fd, ioas + 1, mfd, 0, 4096, &iova) == -ENOENT);
	/* Only files have pages: not a pipe, not /dev/iommu itself (whose
	 * context an area holding it would keep alive for ever). */
	{
		int p[2];

		EXPECT(pipe(p) == 0);
		EXPECT(map_file(fd, ioas, p[0], 0, 4096, &iova) == -EINVAL);
		EXPECT(map_file(fd, ioas, fd, 0, 4096, &iova) == -EINVAL);
		close(p[0]);
		close(p[1]);
	}
	EXPECT(daemon_fds(dpid) == fds_before + 1);
	um.ioas_id = ioas;
	um.iova = file_iova;
	um.length = 8192;
	EXPECT(ioctl(fd, IOMMU_IOAS_UNMAP, &um) == 0 && um.length == 8192);
	EXPECT(daemon_fds(dpid) == fds_before);
	close(mfd);
	close(fd);
}

static int test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl(fd, IOMMU_TEST_CMD, cmd) ? -errno : 0;
}

static int access_rw(int fd, int access_fd, uint64_t iova, void *buf,
		     uint64_t len, uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
		.access_rw = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)buf, .flags = flags },
	};

	return test_cmd(fd, &cmd);
}

static int refs_are(int fd, void *buf, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)buf,
				.refs = refs },
	};

	return test_cmd(fd, &cmd) == 0;
}

/*
 * The access fd of the selftest: a real close-on-exec descriptor, named
 * by number in later ioctls from any copy (dup, fork); it holds the
 * context after /dev/iommu is closed, and its last close releases its
 * pins before the close returns.
 */
static void t_access_fd(void)
{
	int fd = open("/dev/iommu", O_RDWR), other = open("/dev/iommu", O_RDWR);
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_CREATE_ACCESS };
	int ioas = ioas_alloc(fd), afd, copy, st;
	long fds_before = daemon_fds(daemon_pid());
	char v = 0;
	pid_t pid;

	EXPECT(fd >= 0 && other >= 0 && buf != MAP_FAILED && ioas > 0);
	{
		struct iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = (uint32_t)ioas,
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.user_va = (uintptr_t)buf, .length = 8192,
			.iova = 1 << 20,
		};

		EXPECT(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	}
	cmd.id = (uint32_t)ioas;
	cmd.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	EXPECT(test_cmd(fd, &cmd) == 0);
	afd = (int)cmd.create_access.out_access_fd;
	EXPECT(fcntl(afd, F_GETFD) == FD_CLOEXEC);
	memset(&cmd, 0, sizeof(cmd));
	cmd.op = IOMMU_TEST_OP_ACCESS_PAGES;
	cmd.id = (uint32_t)afd;
	cmd.access_pages.iova = 1 << 20;
	cmd.access_pages.length = 8192;
	cmd.access_pages.uptr = (uintptr_t)buf;
	EXPECT(test_cmd(fd, &cmd) == 0);
	EXPECT(refs_are(other, buf, 8192, 1));
	EXPECT(destroy(fd, (uint32_t)ioas) == -EBUSY);

	/* Only access fds name accesses. */
	EXPECT(access_rw(fd, other, 1 << 20, &v, 1, 0) == -EBADFD);
	EXPECT(access_rw(fd, 1000, 1 << 20, &v, 1, 0) == -EBADFD);

	/* A copy under another number is the same access. */
	copy = dup(afd);
	buf[5] = 77;
	EXPECT(access_rw(fd, copy, (1 << 20) + 5, &v, 1, 0) == 0 && v == 77);
	EXPECT(close(afd) == 0);
	EXPECT(refs_are(other, buf, 8192, 1));

	/* A child uses the copies it inherited. */
	pid = fork();
	if (pid == 0) {
		char w = 99;

		_exit(access_rw(fd, copy, 1 << 20, &w, 1,
				MOCK_ACCESS_RW_WRITE) == 0 ? 0 : 1);
	}
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);
	EXPECT(buf[0] == 99);

	/* /dev/iommu closes; the access keeps the context and its pins. */
	EXPECT(close(fd) == 0);
	EXPECT(refs_are(other, buf, 8192, 1));
	/* Its last close ends both, before close returns. */
	EXPECT(close(copy) == 0);
	EXPECT(refs_are(other, buf, 8192, 0));
	close(other);
	munmap(buf, 8192);
	/* The daemon kept no descriptor of it: of the two connections and
	 * the access's socket pair only a new connection's is left, once a
	 * request shows the closes were handled. */
	fd = open("/dev/iommu", O_RDWR);
	EXPECT(ioas_alloc(fd) == 1);
	EXPECT(daemon_fds(daemon_pid()) == fds_before - 1);
	close(fd);
}

/* A "Key:  N kB" line of /proc/PID/status, read the way programs do. */
static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			sscanf(line + strlen(key), "%ld", &kb);
	fclose(f);
	return kb;
}

/*
 * Pins show in VmPin of /proc/PID/status, for fopen and open alike and for
 * any reader, and leave it at the last close.
 */
static void t_vm_pin(void)
{
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd), afd;
	char *buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_CREATE_ACCESS };
	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = (uint32_t)ioas,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.user_va = (uintptr_t)buf, .length = 1 << 20, .iova = 1 << 20,
	};
	long before = status_kb(getpid(), "VmPin:");
	pid_t pid;
	int st;

	EXPECT(before >= 0);
	EXPECT(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	cmd.id = (uint32_t)ioas;
	cmd.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	EXPECT(test_cmd(fd, &cmd) == 0);
	afd = (int)cmd.create_access.out_access_fd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.op = IOMMU_TEST_OP_ACCESS_PAGES;
	cmd.id = (uint32_t)afd;
	cmd.access_pages.iova = 1 << 20;
	cmd.access_pages.length = 1 << 20;
	EXPECT(test_cmd(fd, &cmd) == 0);
	EXPECT(status_kb(getpid(), "VmPin:") == before + 1024);
	/* Another process sees it in our status, not in its own. */
	pid = fork();
	if (pid == 0)
		_exit(status_kb(getppid(), "VmPin:") == before + 1024 &&
		      status_kb(getpid(), "VmPin:") == before ? 0 : 1);
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);
	/* open(2) and read(2) tell the same. */
	{
		char text[8192], want[64];
		int sfd = open("/proc/self/status", O_RDONLY);
		ssize_t n = read(sfd, text, sizeof(text) - 1);

		EXPECT(sfd >= 0 && n > 0);
		text[n > 0 ? n : 0] = 0;
		snprintf(want, sizeof(want), "VmPin:\t%8ld kB\n", before + 1024);
		EXPECT(strstr(text, want) != NULL);
		close(sfd);
	}
	close(afd);
	close(fd);
	/* The closes take effect before the next request: a query is one. */
	EXPECT(status_kb(getpid(), "VmPin:") == before);
	munmap(buf, 1 << 20);
}

/*
 * A fault queue's fd through the shim: poll and epoll see POLLIN exactly
 * while a fault waits, read and write follow the kernel's record rules,
 * a forked child reads the same queue, and a fd that is not a queue's
 * cannot be read (/dev/iommu itself: EINVAL).
 */
static void t_fault_fd(void)
{
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd), ep;
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent) };
	struct iommu_hwpt_alloc iopf = { .size = sizeof(iopf) };
	struct iommu_test_cmd trigger = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .grpid = 3, .perm = IOMMU_PGFAULT_PERM_READ,
				  .addr = 0x123000 },
	};
	struct iommu_hwpt_pgfault f;
	struct iommu_hwpt_page_response resp = { 0 };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	struct pollfd p;
	pid_t pid;
	int st;

	EXPECT(fd >= 0 && ioas > 0);
	md.id = (uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0);
	parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	parent.dev_id = md.mock_domain.out_idev_id;
	parent.pt_id = (uint32_t)ioas;
	EXPECT(ioctl(fd, IOMMU_HWPT_ALLOC, &parent) == 0);
	EXPECT(ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa) == 0);
	iopf = (struct iommu_hwpt_alloc){
		.size = sizeof(iopf), .flags = IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = md.mock_domain.out_idev_id,
		.pt_id = parent.out_hwpt_id, .fault_id = fa.out_fault_id,
		.data_type = IOMMU_HWPT_DATA_SELFTEST, .data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
	};
	EXPECT(ioctl(fd, IOMMU_HWPT_ALLOC, &iopf) == 0);
	{
		struct iommu_test_cmd rep = {
			.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
			.id = md.mock_domain.out_stdev_id,
			.mock_domain_replace.pt_id = iopf.out_hwpt_id,
		};

		EXPECT(test_cmd(fd, &rep) == 0);
	}
	int qfd = (int)fa.out_fault_fd;

	EXPECT(fcntl(qfd, F_GETFD) == FD_CLOEXEC);
	{
		struct stat sb;

		/* An anonymous inode, as the kernel's: no file type. */
		EXPECT(fstat(qfd, &sb) == 0 && sb.st_mode == 0600);
		EXPECT(fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode));
	}
	/* Nothing waiting: writable only, and reads give 0. */
	p = (struct pollfd){ .fd = qfd, .events = POLLIN | POLLOUT };
	EXPECT(poll(&p, 1, 0) == 1 && p.revents == POLLOUT);
	EXPECT(read(qfd, &f, sizeof(f)) == 0);
	EXPECT(read(qfd, &f, sizeof(f) - 1) == -1 && errno == ESPIPE);
	EXPECT(read(fd, &f, sizeof(f)) == -1 && errno == EINVAL);

	ep = epoll_create1(EPOLL_CLOEXEC);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, qfd, &ev) == 0);
	EXPECT(epoll_wait(ep, &got, 1, 0) == 0);
	trigger.trigger_iopf.dev_id = md.mock_domain.out_idev_id;
	EXPECT(test_cmd(fd, &trigger) == 0);
	/* A fault waits: POLLIN, here and for epoll, from another process
	 * reading the same queue. */
	p.revents = 0;
	EXPECT(poll(&p, 1, 1000) == 1 && (p.revents & POLLIN));
	EXPECT(epoll_wait(ep, &got, 1, 1000) == 1);
	pid = fork();
	if (!pid) {
		struct iommu_hwpt_pgfault cf;

		_exit(read(qfd, &cf, sizeof(cf)) == sizeof(cf) && cf.grpid == 3 &&
			      cf.cookie == 1 && cf.addr == 0x123000 ?
		      0 :
		      1);
	}
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);
	/* Read by the child: nothing left to read. */
	p.revents = 0;
	EXPECT(poll(&p, 1, 0) == 1 && p.revents == POLLOUT);
	EXPECT(read(qfd, &f, sizeof(f)) == 0);
	/* Answered here; an answer nobody waits for is refused. */
	resp.cookie = 1;
	EXPECT(write(qfd, &resp, sizeof(resp)) == sizeof(resp));
	EXPECT(write(qfd, &resp, sizeof(resp)) == -1 && errno == EINVAL);
	EXPECT(write(qfd, &resp, 3) == -1 && errno == ESPIPE);
	/* The fd holds the queue; once closed (and the HWPT gone), the queue
	 * can be destroyed. */
	EXPECT(destroy(fd, fa.out_fault_id) == -EBUSY);
	close(ep);
	EXPECT(close(qfd) == 0);
	{
		struct iommu_test_cmd rep = {
			.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
			.id = md.mock_domain.out_stdev_id,
			.mock_domain_replace.pt_id = (uint32_t)ioas,
		};

		EXPECT(test_cmd(fd, &rep) == 0);
	}
	EXPECT(destroy(fd, iopf.out_hwpt_id) == 0);
	EXPECT(destroy(fd, fa.out_fault_id) == 0);
	close(fd);
}

/*
 * A DMA larger than a wire message: its buffer is not carried with the
 * request, so the daemon reaches it directly, or, when it cannot (run
 * with IOASID_MEMORY_CALLBACK=always), asks this process for it in
 * chunks while the ioctl waits.
 */
static void t_big_dma(void)
{
	const size_t len = 1 << 20;
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd);
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	unsigned char *mem = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *buf = malloc(len);
	struct iommu_ioas_map map = {
		.size = sizeof(map), .flags = IOMMU_IOAS_MAP_READABLE |
					      IOMMU_IOAS_MAP_WRITEABLE,
		.length = 2 * len,
	};
	struct ioasid_device_dma dma = {
		.size = sizeof(dma), .length = len, .uptr = (uintptr_t)buf,
	};

	EXPECT(fd >= 0 && ioas > 0 && mem != MAP_FAILED && buf);
	md.id = (uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0);
	for (size_t i = 0; i < 2 * len; i++)
		mem[i] = (unsigned char)(i * 31 + 1);
	map.ioas_id = (uint32_t)ioas;
	map.user_va = (uintptr_t)mem;
	EXPECT(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	dma.dev_id = md.mock_domain.out_idev_id;
	dma.iova = map.iova + 4096 + 7;
	EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == 0);
	EXPECT(!memcmp(buf, mem + 4096 + 7, len));
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	dma.flags = IOASID_DMA_WRITE;
	dma.iova = map.iova + len / 2;
	EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == 0);
	EXPECT(!memcmp(buf, mem + len / 2, len));
	/* A buffer that is not there: EFAULT, and the context goes on. */
	dma.flags = 0;
	dma.uptr = 8;
	EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == -1 && errno == EFAULT);
	EXPECT(ioas_alloc(fd) > 0);
	free(buf);
	munmap(mem, 2 * len);
	close(fd);
}

/*
 * The shim copies the program's memory itself, catching the faults of a
 * bad pointer (as the kernel's copy_from_user does), so it owns SIGSEGV
 * and SIGBUS once the program uses us.  Every bad pointer is EFAULT;
 * the program still sees, sets and gets its own handlers, and its own
 * faults reach them.
 */
static sigjmp_buf fault_jump;
static volatile sig_atomic_t faults_first, faults_second;

static void first_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	faults_first++;
	siglongjmp(fault_jump, sig);
}

static void second_handler(int sig)
{
	faults_second++;
	siglongjmp(fault_jump, sig);
}

/* Store to p in the program's own code: which signal it took, or 0. */
static int own_store(volatile char *p)
{
	int sig = sigsetjmp(fault_jump, 1);

	if (!sig)
		*p = 1;
	return sig;
}

/* How a child that has used the shim ends after `how`: its status. */
enum child_act { STORE_UNMAPPED, SENT, SENT_IGNORED };

static int child_ends(int fd, volatile char *none, enum child_act how)
{
	int st = 0;
	pid_t pid = fork();

	if (!pid) {
		ioctl(fd, IOMMU_DESTROY, NULL); /* the shim's handler is in */
		if (how == SENT_IGNORED)
			signal(SIGSEGV, SIG_IGN);
		if (how == STORE_UNMAPPED)
			*none = 1;
		else
			kill(getpid(), SIGSEGV);
		_exit(7);
	}
	waitpid(pid, &st, 0);
	return st;
}

static void t_bad_pointers_and_handlers(void)
{
	struct sigaction first = { .sa_sigaction = first_handler,
				   .sa_flags = SA_SIGINFO },
			 cur;
	int fd = open("/dev/iommu", O_RDWR), memfd = memfd_create("t", 0);
	char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	/* Past the end of an empty file: SIGBUS, not SIGSEGV. */
	char *beyond = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			    memfd, 0);
	struct iommu_iova_range r[2];
	struct iommu_ioas_iova_ranges *ro;
	sighandler_t old;
	int st;

	sigemptyset(&first.sa_mask);
	EXPECT(sigaction(SIGSEGV, &first, NULL) == 0);
	EXPECT(sigaction(SIGBUS, &first, NULL) == 0);
	EXPECT(ioctl(fd, IOMMU_DESTROY, NULL) == -1 && errno == EFAULT);
	EXPECT(ioctl(fd, IOMMU_DESTROY, none) == -1 && errno == EFAULT);
	EXPECT(ioctl(fd, IOMMU_DESTROY, beyond) == -1 && errno == EFAULT);
	/* Readable, not writable: the answer cannot be written back. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*ro = (struct iommu_ioas_iova_ranges){
		.size = sizeof(*ro), .ioas_id = (uint32_t)ioas_alloc(fd),
		.num_iovas = 2, .allowed_iovas = (uintptr_t)r,
	};
	EXPECT(mprotect(ro, 4096, PROT_READ) == 0);
	EXPECT(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, ro) == -1 && errno == EFAULT);
	/* An output array that is not there. */
	EXPECT(mprotect(ro, 4096, PROT_READ | PROT_WRITE) == 0);
	ro->allowed_iovas = (uintptr_t)none;
	EXPECT(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, ro) == -1 && errno == EFAULT);
	EXPECT(faults_first == 0);

	/* The program's handler is what it reads back, and what its own
	 * faults run. */
	EXPECT(sigaction(SIGSEGV, NULL, &cur) == 0 &&
	       (cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_sigaction == first_handler);
	EXPECT(own_store(none) == SIGSEGV && faults_first == 1);
	EXPECT(own_store(beyond) == SIGBUS && faults_first == 2);
	old = signal(SIGSEGV, second_handler);
	EXPECT((void *)old == (void *)first_handler);
	EXPECT(own_store(none) == SIGSEGV && faults_second == 1);
	EXPECT(ioctl(fd, IOMMU_DESTROY, none) == -1 && errno == EFAULT);
	EXPECT(faults_first == 2 && faults_second == 1);
	EXPECT(signal(SIGSEGV, SIG_DFL) == second_handler);
	EXPECT(sigaction(SIGBUS, &(struct sigaction){ .sa_handler = SIG_DFL },
			 &cur) == 0 &&
	       cur.sa_sigaction == first_handler);

	/* A child whose fault goes unhandled dies of it, as it would
	 * without us; a SIGSEGV sent, not faulted, kills under the default
	 * and is ignored when ignored. */
	st = child_ends(fd, none, STORE_UNMAPPED);
	EXPECT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	st = child_ends(fd, none, SENT);
	EXPECT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	st = child_ends(fd, none, SENT_IGNORED);
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	munmap(ro, 4096);
	munmap(beyond, 4096);
	munmap(none, 4096);
	close(memfd);
	close(fd);
}

/*
 * A ring through the shim and the daemon: the entries live in memory the
 * daemon maps too, and one IOASID_RING_ENTER runs them all.
 */
/* ---- request slots (wire/slot.h), spoken without the shim ---- */

/* Hand the daemon slot memfd `mfd` (and our memory) on raw connection
 * s, with nfds of the three descriptors, claiming capabilities `caps`:
 * the result. */
static long raw_slot(int s, int mfd, int nfds, uint64_t caps)
{
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC, .kind = IOASID_WIRE_SLOT,
		.version = IOASID_WIRE_VERSION, .seq = 77,
		.tid = (uint32_t)gettid(), .fd = IOASID_WIRE_FDS_IN_DATA,
		.flags = IOASID_WIRE_REQ_SLOT, .cap_effective = caps,
	};
	int fds[3] = { mfd, open("/proc/self/mem", O_RDWR | O_CLOEXEC),
		       open("/proc/self/maps", O_RDONLY | O_CLOEXEC) };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control;
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = CMSG_SPACE(nfds * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	struct ioasid_wire_rep rep = { .result = -EIO };

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	if (sendmsg(s, &msg, 0) < 0 || recv(s, &rep, sizeof(rep), 0) < 0)
		rep.result = -EIO;
	close(fds[1]);
	close(fds[2]);
	return rep.result;
}

/* A sealed memfd of `size` bytes (unsealed when !seal). */
static int slot_memfd(size_t size, bool seal)
{
	int fd = memfd_create("slot", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) ||
	    (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)))
		return -1;
	return fd;
}

/* Wait (at most 5 s) for the slot to leave `from`: the state then. */
static uint32_t slot_wait_from(struct ioasid_wire_slot *slot, uint32_t from)
{
	for (int i = 0; i < 5000; i++) {
		uint32_t st = atomic_load(&slot->state) & IOASID_SLOT_STATE;

		if (st != from)
			return st;
		usleep(1000);
	}
	return from;
}

/* Post a request of len bytes at msg: the state after the daemon's
 * answer (or after 5 s). */
static uint32_t slot_post(struct ioasid_wire_slot *slot, const void *msg,
			  uint32_t len)
{
	if (slot_wait_from(slot, IOASID_SLOT_CLOSED) != IOASID_SLOT_OPEN)
		return UINT32_MAX;
	memcpy(slot->buf, msg, len < sizeof(slot->buf) ? len : 0);
	slot->len = len;
	atomic_store(&slot->state, IOASID_SLOT_POSTED);
	syscall(SYS_futex, &slot->state, FUTEX_WAKE, 1, NULL, NULL, 0);
	return slot_wait_from(slot, IOASID_SLOT_POSTED);
}

/* Hand raw connection s a slot, mapped at *slot, claiming capabilities
 * `caps`: 0, or -1 (s closed). */
static int slot_hand_over(int s, struct ioasid_wire_slot **slot, uint64_t caps)
{
	int mfd = slot_memfd(IOASID_WIRE_SLOT_SIZE, true);

	*slot = mfd < 0 ? MAP_FAILED :
		mmap(NULL, IOASID_WIRE_SLOT_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, mfd, 0);
	if (s < 0 || *slot == MAP_FAILED || raw_slot(s, mfd, 3, caps)) {
		EXPECT(!"a slot the daemon takes");
		if (mfd >= 0)
			close(mfd);
		if (s >= 0)
			close(s);
		return -1;
	}
	close(mfd);
	return 0;
}

/* A raw connection with a slot the daemon took, mapped at *slot, handed
 * over claiming no capability. */
static int slot_connect(struct ioasid_wire_slot **slot)
{
	int s = raw_connect();

	return slot_hand_over(s, slot, 0) ? -1 : s;
}

/* An ioctl request with no segments: the daemon reaches arg through
 * the memory the slot came with. */
static struct ioasid_wire_req slot_ioctl(uint32_t cmd, void *arg, uint32_t seq)
{
	return (struct ioasid_wire_req){
		.magic = IOASID_WIRE_MAGIC, .kind = IOASID_WIRE_IOCTL,
		.version = IOASID_WIRE_VERSION, .seq = seq, .cmd = cmd,
		.arg = (uintptr_t)arg, .tid = (uint32_t)gettid(), .fd = -1,
	};
}

/*
 * The slot the daemon maps is the client's to scribble on: what it
 * hands over is checked, a request there is served once or sent back
 * untouched, a message that does not hold together drops the client
 * alone, and a client that leaves the slot mid-exchange holds nothing.
 */
static void t_slot_hostile(void)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct ioasid_wire_slot *slot;
	struct ioasid_wire_req req;
	struct ioasid_wire_rep rep;
	int pid = daemon_pid(), s, mfd;
	long fds0 = daemon_fds(pid), fds1;

	/* What is handed over is checked before it is mapped. */
	s = raw_connect();
	mfd = slot_memfd(IOASID_WIRE_SLOT_SIZE, false);
	EXPECT(raw_slot(s, mfd, 3, 0) == -EINVAL); /* shrinkable */
	close(mfd);
	mfd = slot_memfd(4096, true);
	EXPECT(raw_slot(s, mfd, 3, 0) == -EINVAL); /* too small */
	close(mfd);
	mfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	EXPECT(raw_slot(s, mfd, 3, 0) == -EINVAL); /* no memfd */
	close(mfd);
	mfd = slot_memfd(IOASID_WIRE_SLOT_SIZE, true);
	EXPECT(raw_slot(s, mfd, 1, 0) == -EINVAL); /* no memory with it */
	close(mfd);
	close(s);

	/* Served there, through the memory it came with. */
	s = slot_connect(&slot);
	if (s < 0)
		return;
	req = slot_ioctl(IOMMU_IOAS_ALLOC, &a, 1);
	EXPECT(slot_post(slot, &req, sizeof(req)) == IOASID_SLOT_DONE);
	memcpy(&rep, slot->buf, sizeof(rep));
	EXPECT(rep.kind == IOASID_WIRE_REPLY && rep.seq == 1 && rep.result == 0);
	EXPECT(a.out_ioas_id == 1);
	/* A call that hands out a file is sent back, and not made. */
	atomic_store(&slot->state, IOASID_SLOT_OPEN);
	req = slot_ioctl(IOMMU_FAULT_QUEUE_ALLOC, &fa, 2);
	EXPECT(slot_post(slot, &req, sizeof(req)) == IOASID_SLOT_DONE);
	memcpy(&rep, slot->buf, sizeof(rep));
	EXPECT(rep.kind == IOASID_WIRE_RESEND && rep.seq == 2);
	atomic_store(&slot->state, IOASID_SLOT_OPEN);
	req = slot_ioctl(IOMMU_IOAS_ALLOC, &a, 3);
	EXPECT(slot_post(slot, &req, sizeof(req)) == IOASID_SLOT_DONE);
	EXPECT(a.out_ioas_id == 2); /* no fault object took an id */
	/* A length past the slot: the client is dropped, the slot closed. */
	atomic_store(&slot->state, IOASID_SLOT_OPEN);
	EXPECT(slot_post(slot, &req, 0xffffffffu) == IOASID_SLOT_CLOSED);
	EXPECT(recv(s, &rep, sizeof(rep), 0) == 0);
	close(s);
	munmap(slot, IOASID_WIRE_SLOT_SIZE);

	/* A state that is none of the protocol's ends the daemon's wait
	 * there: the socket is served again at once. */
	s = slot_connect(&slot);
	if (s < 0)
		return;
	EXPECT(slot_wait_from(slot, IOASID_SLOT_CLOSED) == IOASID_SLOT_OPEN);
	atomic_store(&slot->state, 7);
	alarm(10);
	memset(&a, 0, sizeof(a));
	EXPECT(raw_ioas_alloc(s, &a, sizeof(a)) == 0 && raw_result(s) == 0);
	alarm(0);
	close(s);
	munmap(slot, IOASID_WIRE_SLOT_SIZE);

	/* A client gone mid-exchange, its reply never read: the daemon's
	 * thread and descriptors are let go. */
	s = slot_connect(&slot);
	if (s < 0)
		return;
	req = slot_ioctl(IOMMU_IOAS_ALLOC, &a, 4);
	EXPECT(slot_post(slot, &req, sizeof(req)) == IOASID_SLOT_DONE);
	close(s);
	munmap(slot, IOASID_WIRE_SLOT_SIZE);
	fds1 = daemon_fds(pid);
	EXPECT(fds1 == fds0);
	s = open("/dev/iommu", O_RDWR);
	EXPECT(ioas_alloc(s) == 1);
	close(s);
}

/* Post ioctl cmd on arg through the slot, claiming `caps`: its result,
 * or -EIO when no reply came there. */
static long slot_call(struct ioasid_wire_slot *slot, uint32_t cmd, void *arg,
		      uint64_t caps)
{
	static uint32_t seq;
	struct ioasid_wire_req req = slot_ioctl(cmd, arg, ++seq);
	struct ioasid_wire_rep rep;

	req.cap_effective = caps;
	if (slot_post(slot, &req, sizeof(req)) != IOASID_SLOT_DONE)
		return -EIO;
	memcpy(&rep, slot->buf, sizeof(rep));
	atomic_store(&slot->state, IOASID_SLOT_OPEN);
	if (rep.kind != IOASID_WIRE_REPLY || rep.seq != seq)
		return -EIO;
	return rep.result;
}

/*
 * A slot's call holds a capability only when it claims it, the call that
 * handed the slot over claimed it too, and the thread held it then (the
 * shim claims what capget says at every call; the slot is checked once).
 * A raw client that handed its slot over claiming nothing gains nothing
 * by claiming everything later.  Seen through CAP_IPC_LOCK: without it,
 * a 1 MiB pin is refused under a 64 KiB RLIMIT_MEMLOCK.
 */
static void t_slot_caps(void)
{
	static const struct {
		uint64_t at_handover, at_call;
		bool may; /* when the thread holds it */
	} cases[] = {
		{ 0, ~0ull, false },
		{ ~0ull, ~0ull, true },
		{ ~0ull, 0, false },
		{ 1ull << CAP_IPC_LOCK, 1ull << CAP_IPC_LOCK, true },
		{ ~(1ull << CAP_IPC_LOCK), ~0ull, false },
	};
	int held = thread_has_cap(CAP_IPC_LOCK);
	size_t len = 1 << 20;
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct rlimit was, small;

	EXPECT(mem != MAP_FAILED && !getrlimit(RLIMIT_MEMLOCK, &was));
	small = (struct rlimit){ 64 << 10, was.rlim_max };
	EXPECT(!setrlimit(RLIMIT_MEMLOCK, &small));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct iommu_ioas_alloc a = { .size = sizeof(a) };
		struct iommu_test_cmd md = { .size = sizeof(md),
					     .op = IOMMU_TEST_OP_MOCK_DOMAIN };
		struct iommu_ioas_map m = {
			.size = sizeof(m), .flags = IOMMU_IOAS_MAP_READABLE,
			.user_va = (uintptr_t)mem, .length = len,
		};
		struct ioasid_wire_slot *slot;
		int s = raw_connect();

		/* A mock domain pins what is mapped (by the socket: test
		 * commands may carry descriptors). */
		EXPECT(raw_ioctl(s, IOMMU_IOAS_ALLOC, &a, sizeof(a), -1) == 0 &&
		       raw_reply(s, &a, sizeof(a)) == 0);
		md.id = m.ioas_id = a.out_ioas_id;
		EXPECT(raw_ioctl(s, IOMMU_TEST_CMD, &md, sizeof(md), -1) == 0 &&
		       raw_reply(s, &md, sizeof(md)) == 0);
		if (slot_hand_over(s, &slot, cases[i].at_handover))
			break;
		EXPECT(slot_call(slot, IOMMU_IOAS_MAP, &m, cases[i].at_call) ==
		       (cases[i].may && held ? 0 : -ENOMEM));
		close(s);
		munmap(slot, IOASID_WIRE_SLOT_SIZE);
	}
	EXPECT(!setrlimit(RLIMIT_MEMLOCK, &was));
	munmap(mem, len);
}

static void t_ring(void)
{
	enum { N = 64 };
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd);
	char *mem = mmap(NULL, N * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q),
					    .ioas_id = (uint32_t)ioas };
	struct iommu_ioas_unmap all = { .size = sizeof(all),
					.ioas_id = (uint32_t)ioas,
					.length = UINT64_MAX };
	struct iommu_destroy d = { .size = sizeof(d) };
	struct ioasid_ring ring;
	uint64_t iovas[N];

	/* A device first: each map pins its page as it is made. */
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN,
				     .id = (uint32_t)ioas };

	EXPECT(test_cmd(fd, &md) == 0);
	for (int i = 0; i < N * 4096; i++)
		mem[i] = (char)(i * 13 + i / 4096);
	EXPECT(ioasid_ring_open(fd, N + 2, &ring) == 0);
	for (int i = 0; i < N; i++) {
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = (uint32_t)ioas,
			.flags = IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.user_va = (uintptr_t)mem + i * 4096, .length = 4096,
		};

		EXPECT(ioasid_ring_put(&ring, i, IOMMU_IOAS_MAP, &m,
				       sizeof(m)) == 0);
	}
	/* A map of nothing, and an ioctl a ring may not run. */
	EXPECT(ioasid_ring_put(&ring, N, IOMMU_IOAS_MAP,
			       &(struct iommu_ioas_map){
				       .size = sizeof(struct iommu_ioas_map),
				       .ioas_id = (uint32_t)ioas,
				       .flags = IOMMU_IOAS_MAP_READABLE,
				       .user_va = (uintptr_t)mem, .length = 0 },
			       sizeof(struct iommu_ioas_map)) == 0);
	EXPECT(ioasid_ring_put(&ring, N + 1, IOMMU_IOAS_IOVA_RANGES, &q,
			       sizeof(q)) == 0);
	EXPECT(ioasid_ring_put(&ring, N + 2, IOMMU_IOAS_MAP, &q, 8) == -EINVAL);
	EXPECT(ioasid_ring_put(&ring, 0, IOMMU_IOAS_MAP, &q, 57) == -EINVAL);
	EXPECT(ioasid_ring_enter(&ring, 0, N + 2, 0) == N + 2);
	for (int i = 0; i < N; i++) {
		struct iommu_ioas_map m;

		memcpy(&m, ring.entry[i].arg, sizeof(m));
		EXPECT(ring.entry[i].result == 0);
		iovas[i] = m.iova;
		EXPECT(i == 0 || iovas[i] != iovas[i - 1]);
	}
	EXPECT(ring.entry[N].result == -EINVAL);
	EXPECT(ring.entry[N + 1].result == -EOPNOTSUPP);
	EXPECT(ioasid_ring_enter(&ring, N, 3, 0) == -EINVAL);
	/* The pages pinned are the caller's: the device reads its bytes. */
	{
		unsigned char got[64];
		struct ioasid_device_dma dma = {
			.size = sizeof(dma), .length = sizeof(got),
			.uptr = (uintptr_t)got,
			.dev_id = md.mock_domain.out_idev_id,
		};

		for (int i = 0; i < N; i += 21) {
			dma.iova = iovas[i] + 100;
			EXPECT(ioctl(fd, IOASID_DEVICE_DMA, &dma) == 0 &&
			       !memcmp(got, mem + i * 4096 + 100, sizeof(got)));
		}
	}
	/* Mapped, the ring stays; closed, it is gone. */
	d.id = ring.id;
	EXPECT(ioctl(fd, IOMMU_DESTROY, &d) == -1 && errno == EBUSY);
	ioasid_ring_close(&ring);
	EXPECT(ioctl(fd, IOMMU_DESTROY, &d) == -1 && errno == ENOENT);
	/* What the entries mapped is there. */
	EXPECT(ioctl(fd, IOMMU_IOAS_UNMAP, &all) == 0 &&
	       all.length == N * 4096);
	munmap(mem, N * 4096);
	close(fd);
}

/* Pages of buf that are in memory, of n. */
static unsigned int resident(void *buf, unsigned int n)
{
	unsigned char vec[64];
	unsigned int in = 0;

	if (n > sizeof(vec) || mincore(buf, (size_t)n * 4096, vec))
		return ~0u;
	for (unsigned int i = 0; i < n; i++)
		in += vec[i] & 1;
	return in;
}

/*
 * IOMMU_IOAS_MAP leaves the memory it pins in memory, as the kernel's pin
 * does: anonymous pages never touched, for writing; a read-only
 * mapping's, for reading.  (The shim finds the range from the ioctl
 * table's VA and LENGTH fields, VFIO_IOMMU_MAP_DMA's as these.)
 */
static void t_map_populates(void)
{
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd);
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	unsigned char *rw = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *ro = mmap(NULL, 8 * 4096, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.user_va = (uintptr_t)rw, .length = 16 * 4096, .iova = 1 << 24,
	};

	EXPECT(fd >= 0 && ioas > 0 && rw != MAP_FAILED && ro != MAP_FAILED);
	md.id = (uint32_t)ioas;
	map.ioas_id = (uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0);
	EXPECT(resident(rw, 16) == 0 && resident(ro, 8) == 0);
	EXPECT(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	EXPECT(resident(rw, 16) == 16);
	map.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA;
	map.user_va = (uintptr_t)ro;
	map.length = 8 * 4096;
	map.iova = 2 << 24;
	EXPECT(ioctl(fd, IOMMU_IOAS_MAP, &map) == 0);
	EXPECT(resident(ro, 8) == 8);
	munmap(rw, 16 * 4096);
	munmap(ro, 8 * 4096);
	close(fd);
}

/* The same through a ring whose entries the program wrote itself: pages
 * side by side, and a run apart from them. */
static void t_ring_populates(void)
{
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd);
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	unsigned char *mem = mmap(NULL, 32 * 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ioasid_ring ring;

	EXPECT(fd >= 0 && ioas > 0 && mem != MAP_FAILED);
	md.id = (uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0);
	EXPECT(ioasid_ring_open(fd, 9, &ring) == 0);
	for (int i = 0; i < 9; i++) {
		/* Pages 0-7 one by one, then 24-31 in one entry. */
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = (uint32_t)ioas,
			.flags = IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE |
				 IOMMU_IOAS_MAP_FIXED_IOVA,
			.user_va = (uintptr_t)mem + (i < 8 ? i : 24) * 4096,
			.length = (i < 8 ? 1 : 8) * 4096,
			.iova = (1 << 24) + (uint64_t)i * (8 << 12),
		};

		ring.entry[i].cmd = IOMMU_IOAS_MAP;
		memcpy(ring.entry[i].arg, &m, sizeof(m));
	}
	EXPECT(resident(mem, 32) == 0);
	EXPECT(ioasid_ring_enter(&ring, 0, 9, IOASID_RING_ENTER_STOP) == 9);
	EXPECT(ring.entry[8].result == 0);
	EXPECT(resident(mem, 8) == 8 && resident(mem + 8 * 4096, 16) == 0 &&
	       resident(mem + 24 * 4096, 8) == 8);
	ioasid_ring_close(&ring);
	munmap(mem, 32 * 4096);
	close(fd);
}

/*
 * mmap of /dev/iommu: a vIOMMU's region, mapped only exactly, holding the
 * vIOMMU while mapped; a forked child's copy does not count.
 */
static void t_mmap(void)
{
	int fd = open("/dev/iommu", O_RDWR), ioas = ioas_alloc(fd), st;
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent) };
	struct iommu_viommu_selftest data = { .in_data = 0x5eed };
	struct iommu_viommu_alloc va = { .size = sizeof(va) };
	uint32_t *p, *q;
	pid_t pid;

	EXPECT(fd >= 0 && ioas > 0);
	md.id = (uint32_t)ioas;
	EXPECT(test_cmd(fd, &md) == 0);
	parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	parent.dev_id = md.mock_domain.out_idev_id;
	parent.pt_id = (uint32_t)ioas;
	EXPECT(ioctl(fd, IOMMU_HWPT_ALLOC, &parent) == 0);
	va.type = IOMMU_VIOMMU_TYPE_SELFTEST;
	va.dev_id = md.mock_domain.out_idev_id;
	va.hwpt_id = parent.out_hwpt_id;
	va.data_len = sizeof(data);
	va.data_uptr = (uintptr_t)&data;
	EXPECT(ioctl(fd, IOMMU_VIOMMU_ALLOC, &va) == 0);
	EXPECT(data.out_data == 0x5eed && data.out_mmap_length == 8192);

	EXPECT(mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd,
		    (off_t)data.out_mmap_offset + 4096) == MAP_FAILED &&
	       errno == ENXIO);
	EXPECT(mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_SHARED, fd,
		    (off_t)data.out_mmap_offset) == MAP_FAILED &&
	       errno == EPERM);
	EXPECT(mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd,
		    (off_t)data.out_mmap_offset) == MAP_FAILED &&
	       errno == EINVAL);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)data.out_mmap_offset);
	EXPECT(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	EXPECT(*p == 0x5eed);
	/* One region, shared: a second mapping sees the first's writes. */
	q = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd,
		 (off_t)data.out_mmap_offset);
	EXPECT(q != MAP_FAILED);
	p[1] = 77;
	EXPECT(q[1] == 77);
	EXPECT(destroy(fd, va.out_viommu_id) == -EBUSY);
	pid = fork();
	if (!pid)
		_exit(munmap(p, 8192) == 0 ? 0 : 1);
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0);
	EXPECT(munmap(q, 8192) == 0);
	EXPECT(destroy(fd, va.out_viommu_id) == -EBUSY); /* p is still ours */
	EXPECT(munmap(p, 8192) == 0);
	EXPECT(destroy(fd, va.out_viommu_id) == 0);
	EXPECT(destroy(fd, parent.out_hwpt_id) == 0);
	close(fd);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "fork shares one context until the last close", t_fork_shares_context },
	{ "four processes share one fd concurrently", t_concurrent_processes },
	{ "300 connections hang up at once", t_many_hang_ups },
	{ "fork while another thread is in an ioctl", t_fork_mid_ioctl },
	{ "close(dup(fd)) while another process shares it",
	  t_close_dup_mid_ioctl },
	{ "a slot given back at any step of its client's call",
	  t_slot_given_back },
	{ "dup, F_DUPFD and dup2 copies", t_dup },
	{ "fd passed with SCM_RIGHTS", t_scm_rights },
	{ "copies landing on numbers that held other files", t_numbers_reused },
	{ "fault injection (fail-nth)", t_fault_injection },
	{ "stat, fstat and access", t_stat },
	{ "errno contract through the wire", t_errors_through_the_wire },
	{ "bad pointers are EFAULT; the program's fault handlers stay its own",
	  t_bad_pointers_and_handlers },
	{ "daemon unreachable gives EIO", t_unreachable },
	{ "a daemon out of descriptors refuses with EMFILE",
	  t_daemon_out_of_fds },
	{ "a user's share of the daemon's descriptors", t_user_share },
	{ "a user's objects in all its contexts", t_user_objects },
	{ "a user's memory in the daemon", t_user_memory },
	{ "a page set stays with the image it was made in",
	  t_exec_leaves_page_set },
	{ "a page two users pin is reached only through one's own",
	  t_no_alias_across_users },
	{ "a request whose sender is gone is not served", t_sender_gone },
	{ "a client stalling its memory callback holds only itself",
	  t_stalled_callback },
	{ "rights are the sender's when it sent", t_caps_at_send },
	{ "memory is the sender's image's, not its successor's",
	  t_exec_before_served },
	{ "a process that is not dumpable is not reached",
	  t_not_dumpable },
	{ "first request of a new connection reads caller memory",
	  t_first_request_reaches_memory },
	{ "IOAS_MAP_FILE hands the file to the daemon", t_map_file },
	{ "IOAS_MAP_FILE takes only what the descriptor grants",
	  t_map_file_modes },
	{ "capabilities are the calling thread's, in the daemon's namespace",
	  t_capabilities },
	{ "access fds: numbers, copies, the context they hold, last close",
	  t_access_fd },
	{ "VmPin in /proc/PID/status counts the daemon's pins", t_vm_pin },
	{ "fault queue fds: read, write, poll and epoll", t_fault_fd },
	{ "a 1 MiB DMA: memory beyond one wire message", t_big_dma },
	{ "mmap of a vIOMMU's region", t_mmap },
	{ "MAP leaves the pages it pins in memory", t_map_populates },
	{ "a ring of 66 operations in one call", t_ring },
	{ "a ring's maps leave their pages in memory", t_ring_populates },
	{ "a request slot: what the client makes of it", t_slot_hostile },
	{ "a slot's calls hold the capabilities claimed at both ends", t_slot_caps },
	{ "10000 cycles, garbage and SIGKILL", t_daemon_survives },
};

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	if (argc == 4 && !strcmp(argv[1], "--exec-image"))
		return exec_image(argv[2], argv[3]);
	self_path = argv[0];
	if (argc == 3 && !strcmp(argv[1], "--exec-child")) {
		int fd = atoi(argv[2]);

		return ioas_alloc(fd) == 2 ? 0 : 1;
	}
	if (!getenv("IOASID_SOCKET")) {
		fprintf(stderr, "run me under ioasid-run\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) + 1; i++) {
		int before = failures;

		/* Arguments pick the cases whose names contain one. */
		/* Cases that need a daemon started for them run when named. */
		if (argc == 1 && i < sizeof(cases) / sizeof(cases[0]) &&
		    (cases[i].fn == t_user_share ||
		     cases[i].fn == t_user_objects ||
		     cases[i].fn == t_user_memory ||
		     cases[i].fn == t_stalled_callback ||
		     cases[i].fn == t_caps_at_send))
			continue;
		if (argc > 1) {
			bool picked = false;

			for (int k = 1; k < argc && i < sizeof(cases) / sizeof(cases[0]); k++)
				picked |= strstr(cases[i].name, argv[k]) != NULL;
			if (!picked)
				continue;
		}
		if (i == sizeof(cases) / sizeof(cases[0])) {
			t_exec(argv[0]);
			printf("%s: exec keeps the fd\n", failures == before ? "ok" : "FAIL");
		} else {
			cases[i].fn();
			printf("%s: %s\n", failures == before ? "ok" : "FAIL", cases[i].name);
		}
		if (failures == before)
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed, 0 skipped\n", passed, failed);
	return failed ? 1 : 0;
}
