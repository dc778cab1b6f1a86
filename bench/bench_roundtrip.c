/* SPDX-License-Identifier: MIT */
/*
 * T7: an ioctl's round trip through the shim and the daemon
 * (IOMMU_IOAS_IOVA_RANGES), and a map plus unmap of one page, in µs;
 * the baseline is a message's round trip between two processes over a
 * socket pair, the wake-ups every request through a daemon costs.  Also
 * what the shim costs the calls it intercepts on every other fd: a read
 * of /dev/zero through it against the bare system call.  Runs under
 * ioasid-run.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "ioasid/uapi/iommufd.h"

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR), sv[2];
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .num_iovas = 4, .allowed_iovas = (uintptr_t)r,
	};
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	double ping, ranges, mapunmap, bare, shimmed;
	int zero = open("/dev/zero", O_RDONLY);
	char byte = 0;
	pid_t pid;

	if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &ia)) {
		fprintf(stderr, "bench-roundtrip: run me under ioasid-run\n");
		return 1;
	}
	q.ioas_id = ia.out_ioas_id;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 1;
	pid = fork();
	if (!pid) {
		close(sv[0]);
		while (read(sv[1], &byte, 1) == 1 && write(sv[1], &byte, 1) == 1)
			;
		_exit(0);
	}
	close(sv[1]);
	bench_begin("roundtrip");
	ping = BENCH_BEST(5, 20000, {
		if (write(sv[0], &byte, 1) != 1 || read(sv[0], &byte, 1) != 1)
			return 1;
	}) / 1000;
	close(sv[0]);
	waitpid(pid, NULL, 0);
	ranges = BENCH_BEST(5, 20000, {
		if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q))
			return 1;
	}) / 1000;
	mapunmap = BENCH_BEST(5, 5000, {
		struct iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = ia.out_ioas_id, .user_va = (uintptr_t)page,
			.length = 4096,
		};
		struct iommu_ioas_unmap u = {
			.size = sizeof(u), .ioas_id = ia.out_ioas_id,
		};

		if (ioctl(fd, IOMMU_IOAS_MAP, &m))
			return 1;
		u.iova = m.iova;
		u.length = 4096;
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &u))
			return 1;
	}) / 1000;
	bare = BENCH_BEST(5, 200000, {
		if (syscall(SYS_read, zero, &byte, 1) != 1)
			return 1;
	});
	shimmed = BENCH_BEST(5, 200000, {
		if (read(zero, &byte, 1) != 1)
			return 1;
	});
	bench_row("t7_ioctl_us", "T7 ioctl round trip (IOVA_RANGES)", ranges,
		  ping, "us");
	bench_row("t7_map_unmap_us", "T7 map + unmap of one page", mapunmap,
		  ping, "us");
	bench_row("t7_other_read_ns", "read(2) of another fd, via the shim",
		  shimmed, bare, "ns");
	bench_end();
	close(zero);
	close(fd);
	return 0;
}
