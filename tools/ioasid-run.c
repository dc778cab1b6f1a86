/* SPDX-License-Identifier: MIT */
/*
 * ioasid-run [--socket PATH] [--selftest] [--trace FILE] -- PROG [ARGS...]
 *
 * Run PROG with a working /dev/iommu.  Without --socket, a private ioasidd
 * is started on a fresh socket for PROG alone and stopped afterwards
 * (with --selftest, in test mode, and PROG's fail-nth files are the
 * daemon's: IOASID_SELFTEST=1 tells the shim).  The
 * shim is prepended to LD_PRELOAD, never replacing what was there.  The
 * exit status is PROG's; if PROG died of a signal, so do we.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/locate.h"

#ifndef IOASID_LIBEXECDIR
#define IOASID_LIBEXECDIR "/usr/local/libexec"
#endif
#ifndef IOASID_LIBDIR
#define IOASID_LIBDIR "/usr/local/lib"
#endif
#ifndef IOASID_VERSION
#define IOASID_VERSION "unknown"
#endif

static pid_t child = -1;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static int make_listener(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	if (fd < 0 || strlen(path) >= sizeof(addr.sun_path))
		return -1;
	strcpy(addr.sun_path, path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 128)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Start ioasidd on an already-listening socket, so PROG can never race it,
 * and wait until it says it serves (a byte on `ready`) or fails (the pipe
 * closes with no byte): -1 then, the daemon reaped and its end reported.
 */
static pid_t start_daemon(const char *daemon, int lfd, int selftest,
			  const char *trace, char **devices, int ndevices)
{
	int ready[2];
	pid_t pid;
	char byte;
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC)) {
		perror("ioasid-run: pipe");
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		char buf[32];

		close(ready[0]);
		/* The write end stays open across exec, above fd 3, where
		 * the listener goes next (F_DUPFD's copy is not CLOEXEC). */
		if (ready[1] <= 3)
			ready[1] = fcntl(ready[1], F_DUPFD, 4);
		else
			fcntl(ready[1], F_SETFD, 0);
		if (lfd != 3) {
			dup2(lfd, 3);
			close(lfd);
		}
		fcntl(3, F_SETFD, 0);
		snprintf(buf, sizeof(buf), "%d", ready[1]);
		setenv("IOASID_READY_FD", buf, 1);
		snprintf(buf, sizeof(buf), "%d", (int)getpid());
		setenv("LISTEN_PID", buf, 1);
		setenv("LISTEN_FDS", "1", 1);
		unsetenv("LD_PRELOAD");
		{
			/* One user's daemon: that user may have all of it. */
			const char **args = calloc(12 + 2 * (size_t)ndevices,
						   sizeof(*args));
			int n = 0;

			if (!args)
				_exit(127);
			args[n++] = "ioasidd";
			args[n++] = "--max-user-files";
			args[n++] = "0";
			args[n++] = "--max-user-objects";
			args[n++] = "0";
			args[n++] = "--max-user-memory";
			args[n++] = "0";
			if (selftest)
				args[n++] = "--selftest";
			if (trace) {
				args[n++] = "--trace";
				args[n++] = trace;
			}
			for (int i = 0; i < ndevices; i++) {
				args[n++] = "--device";
				args[n++] = devices[i];
			}
			execv(daemon, (char *const *)args);
		}
		fprintf(stderr, "ioasid-run: cannot run %s: %s\n", daemon,
			strerror(errno));
		_exit(127);
	}
	close(ready[1]);
	if (pid < 0) {
		perror("ioasid-run: fork");
		close(ready[0]);
		return -1;
	}
	do
		n = read(ready[0], &byte, 1);
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != 1) {
		int status;

		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status))
			fprintf(stderr, "ioasid-run: the daemon died of signal "
					"%d before serving\n", WTERMSIG(status));
		else
			fprintf(stderr, "ioasid-run: the daemon exited with "
					"status %d before serving\n",
				WEXITSTATUS(status));
		return -1;
	}
	return pid;
}

/* Whether a daemon answers on `path`: connecting is how a program would. */
static int reachable(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ioasid-run [--socket PATH] [--selftest] [--trace FILE]\n"
		   "                  [--device SPEC]... -- PROG [ARGS...]\n"
		   "       ioasid-run --version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "selftest", no_argument, NULL, 'T' },
		{ "trace", required_argument, NULL, 't' },
		{ "device", required_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int selftest = 0;
	const char *trace = NULL;
	static char *devices[64];
	int ndevices = 0;
	char daemon[PATH_MAX], shim[PATH_MAX], dir[] = "/tmp/ioasid-XXXXXX";
	char sock[PATH_MAX];
	const char *socket_arg = NULL, *old;
	char *preload;
	pid_t daemon_pid = -1;
	int status = 0, c, lfd;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_arg = optarg;
			break;
		case 'T':
			selftest = 1;
			break;
		case 't':
			trace = optarg;
			break;
		case 'D':
			if (ndevices == (int)(sizeof(devices) / sizeof(*devices))) {
				fprintf(stderr, "ioasid-run: too many --device\n");
				return 2;
			}
			devices[ndevices++] = optarg;
			break;
		case 'V':
			printf("ioasid-run %s\n", IOASID_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (ioasid_locate("libioasid-preload.so", IOASID_LIBDIR, shim, sizeof(shim))) {
		fprintf(stderr, "ioasid-run: libioasid-preload.so not found\n");
		return 127;
	}

	if (socket_arg) {
		/* A daemon already running has the devices it was started with. */
		if (ndevices) {
			fprintf(stderr, "ioasid-run: --device needs a daemon of "
					"its own, not --socket\n");
			return 2;
		}
		if (reachable(socket_arg)) {
			fprintf(stderr, "ioasid-run: no daemon at %s: %s\n",
				socket_arg, strerror(errno));
			return 127;
		}
		snprintf(sock, sizeof(sock), "%s", socket_arg);
	} else {
		if (ioasid_locate("ioasidd", IOASID_LIBEXECDIR, daemon, sizeof(daemon))) {
			fprintf(stderr, "ioasid-run: ioasidd not found\n");
			return 127;
		}
		if (!mkdtemp(dir)) {
			perror("ioasid-run: mkdtemp");
			return 127;
		}
		snprintf(sock, sizeof(sock), "%s/ioasid.sock", dir);
		lfd = make_listener(sock);
		if (lfd < 0) {
			perror("ioasid-run: socket");
			rmdir(dir);
			return 127;
		}
		daemon_pid = start_daemon(daemon, lfd, selftest, trace, devices,
					  ndevices);
		close(lfd);
		if (daemon_pid < 0) {
			unlink(sock);
			rmdir(dir);
			return 127;
		}
	}

	old = getenv("LD_PRELOAD");
	if (old && *old) {
		preload = malloc(strlen(shim) + strlen(old) + 2);
		sprintf(preload, "%s:%s", shim, old);
	} else {
		preload = strdup(shim);
	}
	setenv("LD_PRELOAD", preload, 1);
	setenv("IOASID_SOCKET", sock, 1);
	free(preload);
	if (selftest)
		setenv("IOASID_SELFTEST", "1", 1);
	else
		unsetenv("IOASID_SELFTEST");
	/* For tools and tests that watch the daemon (fds, memory). */
	if (daemon_pid > 0) {
		char pidbuf[16];

		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)daemon_pid);
		setenv("IOASID_DAEMON_PID", pidbuf, 1);
	}

	signal(SIGINT, forward);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	signal(SIGQUIT, forward);

	child = fork();
	if (child == 0) {
		execvp(argv[optind], &argv[optind]);
		fprintf(stderr, "ioasid-run: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	if (child > 0) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	} else {
		status = 127 << 8;
	}

	if (daemon_pid > 0) {
		int dstatus;

		/* A daemon that does not stop within 10 s is killed: the
		 * caller's run must end whatever the daemon does. */
		kill(daemon_pid, SIGTERM);
		for (int ms = 0;; ms++) {
			pid_t r = waitpid(daemon_pid, &dstatus, WNOHANG);

			if (r == daemon_pid || (r < 0 && errno != EINTR))
				break;
			if (ms == 10000) {
				fprintf(stderr, "ioasid-run: the daemon did not "
						"stop; killing it\n");
				kill(daemon_pid, SIGKILL);
			}
			usleep(1000);
		}
		unlink(sock);
		rmdir(dir);
	}

	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		signal(sig, SIG_DFL);
		unsetenv("LD_PRELOAD");
		kill(getpid(), sig);
		return 128 + sig;
	}
	return WEXITSTATUS(status);
}
