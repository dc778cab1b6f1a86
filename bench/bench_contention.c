/* SPDX-License-Identifier: MIT */
/*
 * T8: one client's simple ioctl while others load the daemon.  The
 * latency of IOMMU_IOAS_IOVA_RANGES is measured open-loop: a request is
 * due every millisecond for three seconds, and each counts from when it
 * was due; the requests that fell due while one was held up count as
 * answered when it was, so a daemon that stops serving is charged for
 * every request it would have held up, not just one.  Alone (the
 * baseline); while another process opens 1000 connections and closes
 * them all at once over and over; while a client that made a request the
 * daemon must ask it about (its memory callback) never answers; and with
 * those two and a client making objects until its limit, all at once.
 * Runs under
 *     IOASID_MEMORY_CALLBACK=always ioasid-run -- bench-contention
 * (the daemon must ask clients for their memory for the stall to exist).
 * Reports; asserts nothing.
 *
 * With --check it is the load test of the functional suite instead: the
 * three loads at once for two seconds, and it fails unless every request
 * of ours was answered, and answered with success, while each load was
 * seen doing its worst (connections churned, the daemon's question left
 * unanswered, the object limit reached).  It prints the latencies but
 * judges none.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "ioasid/uapi/iommufd.h"
#include "wire/wire.h"

#define SAMPLES 3000 /* one per millisecond */

/* What the loads did, counted where the measuring process sees it. */
static struct seen {
	atomic_uint churned;  /* rounds of 1000 connections */
	atomic_uint asked;    /* questions the staller left unanswered */
	atomic_uint dropped;  /* times the daemon gave up on the staller */
	atomic_uint limited;  /* times the object maker reached its limit */
} *seen;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct latency {
	double p50, p99, max; /* µs */
	unsigned int failed;  /* requests not answered with success */
};

static struct latency measure(int fd, uint32_t ioas, int samples)
{
	static double t[SAMPLES];
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .ioas_id = ioas, .num_iovas = 4,
		.allowed_iovas = (uintptr_t)r,
	};

	double start = bench_now_ns();
	unsigned int failed = 0;

	for (int i = 0; i < samples;) {
		double due = start + i * 1e6, done;

		while (bench_now_ns() < due)
			;
		q.num_iovas = 4;
		failed += ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q) != 0;
		done = bench_now_ns();
		/* This one, and every one due while it was held up. */
		do
			t[i] = (done - (start + i * 1e6)) / 1e3;
		while (++i < samples && start + i * 1e6 < done);
	}
	qsort(t, samples, sizeof(t[0]), cmp_double);
	return (struct latency){ t[samples / 2], t[samples * 99 / 100],
				 t[samples - 1], failed };
}

/* Open 1000 connections, use each once, close them all; again. */
static void churn(void)
{
	static int fds[1000];

	for (;;) {
		for (int i = 0; i < 1000; i++) {
			struct iommu_ioas_alloc a = { .size = sizeof(a) };

			fds[i] = open("/dev/iommu", O_RDWR);
			if (fds[i] >= 0)
				ioctl(fds[i], IOMMU_IOAS_ALLOC, &a);
		}
		for (int i = 0; i < 1000; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		atomic_fetch_add(&seen->churned, 1);
	}
}

/* IOASes until the daemon's limit for us says ENOMEM; then all go, and
 * again. */
static void make_objects(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	uint32_t first = 0, last = 0;

	for (;;) {
		struct iommu_ioas_alloc a = { .size = sizeof(a) };

		if (!ioctl(fd, IOMMU_IOAS_ALLOC, &a)) {
			first = first ? first : a.out_ioas_id;
			last = a.out_ioas_id;
			continue;
		}
		if (errno == ENOMEM)
			atomic_fetch_add(&seen->limited, 1);
		for (uint32_t id = first; first && id <= last; id++) {
			struct iommu_destroy d = { .size = sizeof(d), .id = id };

			ioctl(fd, IOMMU_DESTROY, &d);
		}
		first = last = 0;
	}
}

/*
 * Speak the wire without the shim: a request naming memory it does not
 * carry (the ranges array of IOVA_RANGES), then never answer the
 * daemon's question about it.
 */
static void stall_once(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static struct iommu_iova_range r[4];
	static struct iommu_ioas_iova_ranges q;
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC, .kind = IOASID_WIRE_IOCTL,
		.version = IOASID_WIRE_VERSION, .cmd = IOMMU_IOAS_ALLOC,
		.arg = (uintptr_t)&q, .tid = (uint32_t)getpid(), .nsegs = 1,
		.fd = -1,
	};
	struct ioasid_wire_seg seg = {
		.uptr = (uintptr_t)&q,
		.flags = IOASID_SEG_DATA | IOASID_SEG_WRITABLE,
	};
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	unsigned char msg[256], buf[256];
	size_t n = 0;
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s",
		 getenv("IOASID_SOCKET"));
	setsockopt(s, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)))
		_exit(1);
	/* An IOAS of its own first (its context's id 1)... */
	seg.len = sizeof(a);
	memcpy(msg, &req, sizeof(req));
	memcpy(msg + sizeof(req), &seg, sizeof(seg));
	memcpy(msg + sizeof(req) + sizeof(seg), &a, sizeof(a));
	n = sizeof(req) + sizeof(seg) + sizeof(a);
	if (send(s, msg, n, 0) < 0 || recv(s, buf, sizeof(buf), 0) <= 0)
		_exit(1);
	/* ...then a request whose ranges the daemon must ask about: read
	 * its question and never answer, until it gives up on us. */
	q = (struct iommu_ioas_iova_ranges){
		.size = sizeof(q), .ioas_id = 1, .num_iovas = 4,
		.allowed_iovas = (uintptr_t)r,
	};
	req.cmd = IOMMU_IOAS_IOVA_RANGES;
	seg.len = sizeof(q);
	memcpy(msg, &req, sizeof(req));
	memcpy(msg + sizeof(req), &seg, sizeof(seg));
	memcpy(msg + sizeof(req) + sizeof(seg), &q, sizeof(q));
	n = sizeof(req) + sizeof(seg) + sizeof(q);
	if (send(s, msg, n, 0) < 0)
		_exit(0);
	while (recv(s, buf, sizeof(buf), 0) > 0)
		atomic_fetch_add(&seen->asked, 1);
	atomic_fetch_add(&seen->dropped, 1);
	close(s);
}

/* Dropped after each wait, it comes back and does it again. */
static void stall(uint32_t unused)
{
	(void)unused;
	for (;;)
		stall_once();
}

static pid_t spawn(void (*fn)(uint32_t), uint32_t arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void churn_arg(uint32_t unused)
{
	(void)unused;
	churn();
}

static void objects_arg(uint32_t unused)
{
	(void)unused;
	make_objects();
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * --check: the three loads at once; 0 only if we were served throughout,
 * and while the staller's question was still unanswered: a daemon that
 * served us only once it gave up on the staller (after 5 s) fails.
 */
static int check(int fd, uint32_t ioas)
{
	pid_t pids[3] = { spawn(churn_arg, 0), spawn(objects_arg, 0) };
	unsigned int dropped;
	struct latency l;
	bool ok;

	/* Until each load is under way: otherwise we measure nothing.  The
	 * staller last, so that its question is fresh when we start. */
	while (!atomic_load(&seen->churned) || !atomic_load(&seen->limited))
		usleep(1000);
	pids[2] = spawn(stall, 0);
	while (!atomic_load(&seen->asked))
		usleep(1000);
	dropped = atomic_load(&seen->dropped);
	l = measure(fd, ioas, 2000);
	ok = !l.failed && atomic_load(&seen->dropped) == dropped;
	for (int i = 0; i < 3; i++)
		stop(pids[i]);
	printf("  under churn, a stalled callback and a client at its object limit:\n"
	       "  %u of 2000 requests failed; p50 %.0f us, p99 %.0f us, worst %.0f us\n"
	       "  (%u churn rounds, the object limit reached %u times; the staller\n"
	       "  %s)\n",
	       l.failed, l.p50, l.p99, l.max, atomic_load(&seen->churned),
	       atomic_load(&seen->limited),
	       atomic_load(&seen->dropped) == dropped ?
		       "was still waiting when we were done" :
		       "was given up on before we were served");
	printf("%s: another client is served under load\n", ok ? "ok" : "FAIL");
	printf("%d passed, %d failed, 0 skipped\n", ok, !ok);
	return ok ? 0 : 1;
}

static void row(const char *key, const char *what, struct latency l,
		struct latency base)
{
	char k[64], w[96];

	snprintf(k, sizeof(k), "%s_p50", key);
	snprintf(w, sizeof(w), "%s: p50", what);
	bench_row(k, w, l.p50, base.p50, "us");
	snprintf(k, sizeof(k), "%s_p99", key);
	snprintf(w, sizeof(w), "%s: p99", what);
	bench_row(k, w, l.p99, base.p99, "us");
	snprintf(k, sizeof(k), "%s_max", key);
	snprintf(w, sizeof(w), "%s: worst", what);
	bench_row(k, w, l.max, base.max, "us");
}

int main(int argc, char **argv)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct latency alone, churning, stalled, all;
	pid_t pid, pids[2];

	seen = mmap(NULL, sizeof(*seen), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &ia) ||
	    !getenv("IOASID_SOCKET") || seen == MAP_FAILED) {
		fprintf(stderr, "bench-contention: run me under ioasid-run\n");
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "--check"))
		return check(fd, ia.out_ioas_id);
	alone = measure(fd, ia.out_ioas_id, SAMPLES);

	pid = spawn(churn_arg, 0);
	churning = measure(fd, ia.out_ioas_id, SAMPLES);
	stop(pid);

	pid = spawn(stall, 1);
	stalled = measure(fd, ia.out_ioas_id, SAMPLES);
	stop(pid);

	pids[0] = spawn(churn_arg, 0);
	pids[1] = spawn(stall, 1);
	all = measure(fd, ia.out_ioas_id, SAMPLES);
	stop(pids[0]);
	stop(pids[1]);

	bench_begin("T8 contention (IOVA_RANGES round trip)");
	row("alone", "alone", alone, alone);
	row("churn", "1000 connections churning", churning, alone);
	row("stall", "a client stalling its memory callback", stalled, alone);
	row("both", "both at once", all, alone);
	bench_end();
	close(fd);
	return 0;
}
