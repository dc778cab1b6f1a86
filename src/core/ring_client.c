/* SPDX-License-Identifier: MIT */
/*
 * The caller's side of a ring (ring.c is ours): plain ioctl(2) and
 * mmap(2) on a /dev/iommu descriptor, so a program gets the same whether
 * a kernel or a daemon behind the shim answers them.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioctl_desc.h"

int ioasid_ring_open(int iommufd, unsigned int entries,
		     struct ioasid_ring *ring)
{
	struct ioasid_ring_alloc cmd = { .size = sizeof(cmd),
					 .entries = entries };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	void *p;
	int rc;

	memset(ring, 0, sizeof(*ring));
	ring->fd = -1;
	if (ioctl(iommufd, IOASID_RING_ALLOC, &cmd))
		return -errno;
	p = mmap(NULL, cmd.out_mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED,
		 iommufd, (off_t)cmd.out_mmap_offset);
	if (p == MAP_FAILED) {
		rc = -errno;
		destroy.id = cmd.out_ring_id;
		ioctl(iommufd, IOMMU_DESTROY, &destroy);
		return rc;
	}
	*ring = (struct ioasid_ring){
		.fd = iommufd, .id = cmd.out_ring_id, .entries = entries,
		.entry = p, .length = cmd.out_mmap_length,
	};
	return 0;
}

int ioasid_ring_put(struct ioasid_ring *ring, unsigned int i,
		    unsigned int cmd, const void *arg, size_t len)
{
	struct ioasid_ring_entry *e;

	if (i >= ring->entries || len > sizeof(e->arg))
		return -EINVAL;
	e = &ring->entry[i];
	e->cmd = cmd;
	e->result = 0;
	memcpy(e->arg, arg, len);
	memset(e->arg + len, 0, sizeof(e->arg) - len);
	return 0;
}

/*
 * As the shim does for an ioctl: the pages the entries pin are resident
 * when they run, which the daemon cannot see to.  Entries that name
 * neighbouring pages, as a guest's memory laid out in order does, are
 * faulted in with one call.
 */
static void populate_entries(const struct ioasid_ring *ring,
			     unsigned int first, unsigned int count)
{
	uint64_t run_start = 0, run_end = 0;
	bool run_write = false;

	if (first > ring->entries || count > ring->entries - first)
		return; /* ENTER says EINVAL */
	for (unsigned int i = first; i < first + count; i++) {
		const struct ioasid_ring_entry *e = &ring->entry[i];
		const struct ioasid_ioctl_desc *d = ioasid_ioctl_desc_find(e->cmd);
		uint64_t start, end;
		bool write;

		if (!d || !ioasid_ioctl_desc_pin_range(
				  d, e->arg, sizeof(e->arg),
				  ioasid_ioctl_desc_op(d, e->arg, sizeof(e->arg)),
				  &start, &end, &write))
			continue;
		if (run_end && write == run_write && start <= run_end &&
		    end >= run_start) {
			run_start = start < run_start ? start : run_start;
			run_end = end > run_end ? end : run_end;
			continue;
		}
		if (run_end)
			ioasid_populate(run_start, run_end, run_write);
		run_start = start;
		run_end = end;
		run_write = write;
	}
	if (run_end)
		ioasid_populate(run_start, run_end, run_write);
}

int ioasid_ring_enter(struct ioasid_ring *ring, unsigned int first,
		      unsigned int count, unsigned int flags)
{
	struct ioasid_ring_enter cmd = {
		.size = sizeof(cmd), .flags = flags, .ring_id = ring->id,
		.first = first, .count = count,
	};

	populate_entries(ring, first, count);
	if (ioctl(ring->fd, IOASID_RING_ENTER, &cmd))
		return -errno;
	return (int)cmd.out_done;
}

void ioasid_ring_close(struct ioasid_ring *ring)
{
	struct iommu_destroy destroy = { .size = sizeof(destroy),
					 .id = ring->id };

	if (ring->fd < 0)
		return;
	munmap(ring->entry, ring->length);
	ioctl(ring->fd, IOMMU_DESTROY, &destroy);
	ring->fd = -1;
}
