/* SPDX-License-Identifier: MIT */
/*
 * T7: an ioctl's round trip through the shim and the daemon
 * (IOMMU_IOAS_IOVA_RANGES), in µs; the baseline is a message's round trip
 * between two processes over a socket pair, the wake-ups every request
 * through a daemon costs.  The same with another process keeping a core
 * busy, against the ping-pong measured with it.  A one-page map among 10
 * of the process' mappings, against the round trip, and among 5000,
 * against 10.  Also
 * what the shim costs the calls it intercepts on every other fd: a read
 * of /dev/zero through it against the bare system call.  Runs under
 * ioasid-run.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "ioasid/uapi/iommufd.h"

/* A socket pair's round trip, the other end in a child process. */
static double ping_pong(void)
{
	char byte = 0;
	double us;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return -1;
	pid = fork();
	if (!pid) {
		close(sv[0]);
		while (read(sv[1], &byte, 1) == 1 && write(sv[1], &byte, 1) == 1)
			;
		_exit(0);
	}
	close(sv[1]);
	us = BENCH_BEST(5, 20000, {
		if (write(sv[0], &byte, 1) != 1 || read(sv[0], &byte, 1) != 1)
			return -1;
	}) / 1000;
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return us;
}

/* A process that keeps a core busy until killed. */
static pid_t start_hog(void)
{
	pid_t pid = fork();

	if (!pid)
		for (;;)
			__asm__ volatile("" ::: "memory");
	return pid;
}

static void stop_hog(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * A one-page IOMMU_IOAS_MAP, the page in the middle of `vmas` mappings of
 * the process' own (alternate pages read-only, so none merge): what
 * naming the page costs as the process' map grows.  Each run maps the
 * page 1000 times over; the unmap of them all is not timed.
 */
static double map_among(int fd, uint32_t ioas, unsigned int vmas)
{
	size_t len = (size_t)vmas * 4096;
	char *area = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iommu_ioas_unmap all = {
		.size = sizeof(all), .ioas_id = ioas, .length = UINT64_MAX,
	};
	double best = 1e300;

	if (area == MAP_FAILED)
		return -1;
	for (unsigned int i = 0; i < vmas; i += 2)
		mprotect(area + (size_t)i * 4096, 4096, PROT_READ);
	for (int run = 0; run < 5; run++) {
		double t0 = bench_now_ns(), t;

		for (int i = 0; i < 1000; i++) {
			struct iommu_ioas_map m = {
				.size = sizeof(m),
				.flags = IOMMU_IOAS_MAP_READABLE |
					 IOMMU_IOAS_MAP_WRITEABLE,
				.ioas_id = ioas,
				.user_va = (uintptr_t)area +
					   (size_t)(vmas / 2 | 1) * 4096,
				.length = 4096,
			};

			if (ioctl(fd, IOMMU_IOAS_MAP, &m))
				return -1;
		}
		t = (bench_now_ns() - t0) / 1000;
		if (t < best)
			best = t;
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &all))
			return -1;
	}
	munmap(area, len);
	return best / 1000;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .num_iovas = 4, .allowed_iovas = (uintptr_t)r,
	};
	double ping, ranges, map10, map5000, ping_busy, ranges_busy, bare,
		shimmed;
	int zero = open("/dev/zero", O_RDONLY);
	char byte = 0;
	pid_t hog;

	if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &ia)) {
		fprintf(stderr, "bench-roundtrip: run me under ioasid-run\n");
		return 1;
	}
	q.ioas_id = ia.out_ioas_id;
	bench_begin("roundtrip");
	ping = ping_pong();
	ranges = BENCH_BEST(5, 20000, {
		if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q))
			return 1;
	}) / 1000;
	map10 = map_among(fd, ia.out_ioas_id, 10);
	map5000 = map_among(fd, ia.out_ioas_id, 5000);
	/* The other core busy: a wait that spins for an answer which needs
	 * the spinning core costs more than it saves. */
	hog = start_hog();
	ping_busy = ping_pong();
	ranges_busy = BENCH_BEST(5, 5000, {
		if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q))
			return 1;
	}) / 1000;
	stop_hog(hog);
	bare = BENCH_BEST(5, 200000, {
		if (syscall(SYS_read, zero, &byte, 1) != 1)
			return 1;
	});
	shimmed = BENCH_BEST(5, 200000, {
		if (read(zero, &byte, 1) != 1)
			return 1;
	});
	if (ping < 0 || ping_busy < 0 || map10 < 0 || map5000 < 0)
		return 1;
	bench_row("t7_ioctl_us", "T7 ioctl round trip (IOVA_RANGES)", ranges,
		  ping, "us");
	bench_row("t7_ioctl_busy_us", "T7 the same, other core busy (vs its ping-pong)",
		  ranges_busy, ping_busy, "us");
	bench_row("t7_map_10_us", "T7 one-page MAP, 10 VMAs (vs the round trip)",
		  map10, ranges, "us");
	bench_row("t7_map_5000_us", "T7 one-page MAP, 5000 VMAs (vs 10)",
		  map5000, map10, "us");
	bench_row("t7_other_read_ns", "read(2) of another fd, via the shim",
		  shimmed, bare, "ns");
	bench_end();
	close(zero);
	close(fd);
	return 0;
}
