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
	const struct ioasid_ioctl_desc *d;
	struct ioasid_ring_entry *e;

	if (i >= ring->entries || len > sizeof(e->arg))
		return -EINVAL;
	/* As the shim does for the ioctl itself: the pages an entry pins
	 * are resident when it runs, which the daemon cannot see to. */
	d = ioasid_ioctl_desc_find(cmd);
	if (d)
		ioasid_ioctl_desc_populate(d, arg, len,
					   ioasid_ioctl_desc_op(d, arg, len));
	e = &ring->entry[i];
	e->cmd = cmd;
	e->result = 0;
	memcpy(e->arg, arg, len);
	memset(e->arg + len, 0, sizeof(e->arg) - len);
	return 0;
}

int ioasid_ring_enter(struct ioasid_ring *ring, unsigned int first,
		      unsigned int count, unsigned int flags)
{
	struct ioasid_ring_enter cmd = {
		.size = sizeof(cmd), .flags = flags, .ring_id = ring->id,
		.first = first, .count = count,
	};

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
