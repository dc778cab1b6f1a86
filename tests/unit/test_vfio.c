/* SPDX-License-Identifier: MIT */
/*
 * VFIO devices in-process (src/vfio): plugging, the device file's ioctls
 * with vfio-pci's argsz, flags and errno rules, region access, mapping a
 * BAR, interrupts to event fds, and the I/OAT model copying through the
 * domain its file attached it to, programmed through the mapping.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/dsa_hw.h"
#include "check.h"
#include "core/ioctl_desc.h"
#include "core/rcu.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/vfio_compat.h"

#define PG 4096u
#define REGION(i) ((uint64_t)(i) << 40)
#define IOMMUFD 77 /* the number our callers give for the context */

static struct ioasid_caller caller;
static struct ioasid_uaccess_ops ops;
static struct ioasid_ctx *ctx;

static int get_ctx(void *priv, int fd, struct ioasid_ctx **out)
{
	(void)priv;
	if (fd != IOMMUFD)
		return -EBADF;
	*out = ctx;
	return 0;
}

static long io(unsigned int cmd, void *arg)
{
	return ioasid_ctx_ioctl(ctx, &caller, cmd, (unsigned long)arg);
}

static long dio(struct ioasid_file *f, unsigned int cmd, void *arg)
{
	return ioasid_file_ioctl(f, &caller, cmd, (unsigned long)arg);
}

static long bind(struct ioasid_file *f, uint32_t *devid)
{
	struct vfio_device_bind_iommufd b = {
		.argsz = sizeof(b), .iommufd = IOMMUFD,
	};
	long rc = dio(f, VFIO_DEVICE_BIND_IOMMUFD, &b);

	if (devid)
		*devid = b.out_devid;
	return rc;
}

static void plugging(void)
{
	CHECK_EQ(ioasid_vfio_plug("no-such-model"), -ENODEV);
	CHECK_EQ(ioasid_vfio_plug("ioat,bdf=zz"), -EINVAL);
	CHECK_EQ(ioasid_vfio_plug("ioat,iommu=none"), -EINVAL);
	CHECK_EQ(ioasid_vfio_plug("ioat,group=x"), -EINVAL);
	CHECK_EQ(ioasid_vfio_plug("ioat,speed=9"), -EINVAL); /* the model's */
	CHECK_EQ(ioasid_vfio_plug("ioat"), 0);
	CHECK_EQ(ioasid_vfio_plug("ioat,bdf=0000:00:04.0"), -EEXIST);
	CHECK_EQ(ioasid_vfio_plug("ioat,bdf=00:06.0,group=9"), 1);
}

static void before_bind(void)
{
	struct ioasid_file *f, *g;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_device_bind_iommufd b = { .argsz = 12, .iommufd = IOMMUFD };
	uint32_t devid, v;

	CHECK_EQ(ioasid_vfio_open(5, &f), -ENODEV);
	CHECK_EQ(ioasid_vfio_open(0, &f), 0);
	/* Nothing but BIND until bound. */
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
	CHECK_EQ(ioasid_file_pread(f, &caller, (uintptr_t)&v, 4,
				   REGION(VFIO_PCI_CONFIG_REGION_INDEX)),
		 -EINVAL);
	CHECK_EQ(dio(f, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL); /* argsz */
	b.argsz = sizeof(b);
	b.iommufd = -1;
	CHECK_EQ(dio(f, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
	b.iommufd = 3;
	CHECK_EQ(dio(f, VFIO_DEVICE_BIND_IOMMUFD, &b), -EBADF);
	b.iommufd = IOMMUFD;
	b.flags = 2;
	CHECK_EQ(dio(f, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
	b.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
	CHECK_EQ(dio(f, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
	/* The container's number on a device is the device's ioctl. */
	CHECK_EQ(dio(f, 0x3b64, NULL), -ENOTTY);

	CHECK_EQ(bind(f, &devid), 0);
	CHECK(devid != 0);
	CHECK_EQ(bind(f, NULL), -EINVAL);
	/* A second file of the same device cannot bind it too. */
	CHECK_EQ(ioasid_vfio_open(0, &g), 0);
	CHECK_EQ(bind(g, NULL), -EINVAL);
	ioasid_file_put(g);
	/* Its id is the device's in the context: owned, DESTROY refuses. */
	{
		struct iommu_destroy d = { .size = sizeof(d), .id = devid };

		CHECK_EQ(io(IOMMU_DESTROY, &d), -EBUSY);
	}
	/* Closing the file unbinds it; another may bind then. */
	ioasid_file_put(f);
	CHECK_EQ(ioasid_vfio_open(0, &g), 0);
	CHECK_EQ(bind(g, NULL), 0);
	ioasid_file_put(g);
}

static uint32_t ioas;

static void info_ioctls(void)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_device_feature feat = { .argsz = sizeof(feat) };
	struct {
		struct vfio_region_info ri;
		struct vfio_region_info_cap_sparse_mmap sparse;
		struct vfio_region_sparse_mmap_area area;
		struct vfio_info_cap_header msix;
	} big = { .ri = { .argsz = sizeof(big) } };
	struct {
		struct vfio_pci_hot_reset_info h;
		struct vfio_pci_dependent_device d;
	} hr = { .h = { .argsz = sizeof(hr.h) } };
	static const uint32_t counts[] = { 1, 0, 1, 1, 1 };
	struct ioasid_file *f;
	uint32_t devid;

	CHECK_EQ(ioasid_vfio_open(0, &f), 0);
	CHECK_EQ(bind(f, &devid), 0);
	at.pt_id = ioas;
	CHECK_EQ(dio(f, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	CHECK(at.pt_id != ioas); /* the automatic HWPT's id */
	at.pt_id = ioas;
	CHECK_EQ(dio(f, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0); /* replace */
	at.flags = 4;
	CHECK_EQ(dio(f, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);

	CHECK_EQ(dio(f, VFIO_DEVICE_GET_INFO, &info), 0);
	CHECK_EQ(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	CHECK_EQ(info.num_regions, 9);
	CHECK_EQ(info.num_irqs, 5);
	info.argsz = 15;
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_INFO, &info), -EINVAL);

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	CHECK(ri.size == 4096 && ri.offset == REGION(7) &&
	      ri.flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE));
	ri.index = VFIO_PCI_BAR1_REGION_INDEX;
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	CHECK(ri.size == 0 && ri.flags == 0);
	ri.index = 9;
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_REGION_INFO, &ri), -EINVAL);
	/* BAR0's registers page traps, the rest maps; it has the MSI-X
	 * table too: two capabilities, and too small an argsz learns how
	 * much they take. */
	ri.index = 0;
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	CHECK_EQ(ri.size, 16 << 10);
	CHECK(ri.flags & VFIO_REGION_INFO_FLAG_MMAP);
	CHECK(ri.flags & VFIO_REGION_INFO_FLAG_CAPS);
	CHECK_EQ(ri.argsz, sizeof(big));
	CHECK_EQ(ri.cap_offset, 0);
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_REGION_INFO, &big), 0);
	CHECK_EQ(big.ri.cap_offset, sizeof(big.ri));
	CHECK_EQ(big.sparse.header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	CHECK_EQ(big.sparse.header.next, offsetof(typeof(big), msix));
	CHECK(big.sparse.nr_areas == 1 && big.area.offset == PG &&
	      big.area.size == (16 << 10) - PG);
	CHECK(big.msix.id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE && !big.msix.next);

	for (unsigned int i = 0; i < 5; i++) {
		ii.index = i;
		CHECK_EQ(dio(f, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
		CHECK_EQ(ii.count, counts[i]);
		CHECK(ii.flags & VFIO_IRQ_INFO_EVENTFD);
	}
	ii.index = 0;
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	CHECK(ii.flags & VFIO_IRQ_INFO_AUTOMASKED);
	ii.index = 5;
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);

	feat.flags = VFIO_DEVICE_FEATURE_PROBE | 3;
	CHECK_EQ(dio(f, VFIO_DEVICE_FEATURE, &feat), -ENOTTY);
	feat.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | 3;
	CHECK_EQ(dio(f, VFIO_DEVICE_FEATURE, &feat), -EINVAL);
	feat.flags = 1u << 20;
	CHECK_EQ(dio(f, VFIO_DEVICE_FEATURE, &feat), -EINVAL);

	CHECK_EQ(dio(f, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hr), -ENOSPC);
	CHECK_EQ(hr.h.count, 1);
	hr.h.argsz = sizeof(hr);
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hr), 0);
	CHECK(hr.h.flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID);
	CHECK(hr.d.devid == devid && hr.d.devfn == (4 << 3));
	CHECK_EQ(dio(f, VFIO_DEVICE_RESET, NULL), 0);
	ioasid_file_put(f);
}

/*
 * Every device ioctl of the table, on a bound file: argsz below the
 * mandatory part is EINVAL, a flag it does not know is EINVAL, a pointer
 * to nothing is EFAULT; none of them changes anything.
 */
static void argsz_rules(void)
{
	struct ioasid_file *f;

	CHECK_EQ(ioasid_vfio_open(0, &f), 0);
	CHECK_EQ(bind(f, NULL), 0);
	for (unsigned int i = 0; i < ioasid_ioctl_desc_count(); i++) {
		const struct ioasid_ioctl_desc *d = ioasid_ioctl_desc_at(i);
		unsigned char buf[64] = { 0 };
		uint32_t argsz = d->min_size - 1, flags;

		if (d->on != IOASID_ON_VFIO_DEVICE || d->arg != IOASID_ARG_ARGSZ)
			continue;
		memcpy(buf, &argsz, 4);
		CHECK_EQ(dio(f, d->cmd, buf), -EINVAL);
		if (d->flags_mask != 0 && d->flags_mask != UINT32_MAX) {
			argsz = d->size;
			flags = ~d->flags_mask;
			memcpy(buf, &argsz, 4);
			memcpy(buf + 4, &flags, 4);
			CHECK_EQ(dio(f, d->cmd, buf), -EINVAL);
		}
		CHECK_EQ(dio(f, d->cmd, NULL), -EFAULT);
		if (dio(f, d->cmd, NULL) != -EFAULT)
			fprintf(stderr, "  in %s\n", d->name);
	}
	ioasid_file_put(f);
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* Bounded: a device that never interrupts fails here, not hangs. */
	return poll(&p, 1, 5000) == 1;
}

/* Readable within a tenth of a second: for what must not happen. */
static int readable_soon(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 100) == 1;
}

/* The chain at 0x100000 (one descriptor) again, from a channel reset,
 * armed to interrupt. */
static void copy_interrupting(volatile unsigned char *bar)
{
	bar[0x80 + 0x04] = 0x20;
	for (int i = 0; i < 5000 && bar[0x80 + 0x04]; i++)
		usleep(1000);
	*(volatile uint64_t *)(bar + 0x80 + 0x10) = 0x100000;
	*(volatile uint16_t *)(bar + 0x80 + 0x00) = 1;
	*(volatile uint16_t *)(bar + 0x80 + 0x06) = 1;
}

static void regions_irqs_dma(void)
{
	unsigned char *mem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)mem, .length = 4 * PG, .iova = 0x100000,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct {
		struct vfio_irq_set s;
		int32_t fds[2];
	} irq = { .s = { .argsz = sizeof(irq) } };
	struct {
		uint32_t size, ctl;
		uint64_t src, dst, next, rsv[4];
	} *d = (void *)mem;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int ufd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	volatile unsigned char *bar;
	struct ioasid_file *f;
	uint64_t fd_off = 1, count, trap;
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, vendor = 0;
	int memfd;

	map.ioas_id = ioas;
	CHECK_EQ(io(IOMMU_IOAS_MAP, &map), 0);
	CHECK_EQ(ioasid_vfio_open(0, &f), 0);
	CHECK_EQ(bind(f, NULL), 0);
	at.pt_id = ioas;
	CHECK_EQ(dio(f, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);

	/* Configuration space by pread/pwrite at its region. */
	CHECK_EQ(ioasid_file_pread(f, &caller, (uintptr_t)&vendor, 2,
				   REGION(7)), 2);
	CHECK_EQ(vendor, 0x8086);
	CHECK_EQ(ioasid_file_pwrite(f, &caller, (uintptr_t)&cmd, 2,
				    REGION(7) + PCI_COMMAND), 2);
	CHECK_EQ(ioasid_file_pread(f, &caller, (uintptr_t)&vendor, 4,
				   REGION(7) + 4094), -EINVAL);
	CHECK_EQ(ioasid_file_pread(f, &caller, (uintptr_t)&vendor, 2,
				   REGION(1)), -EINVAL);

	/* BAR0, mapped: shared, whole pages, inside the BAR. */
	CHECK_EQ(ioasid_file_mmap(f, REGION(0), 16 << 10, PROT_READ,
				  MAP_PRIVATE, &fd_off, &trap), -EINVAL);
	CHECK_EQ(ioasid_file_mmap(f, REGION(0) + 8, PG, PROT_READ, MAP_SHARED,
				  &fd_off, &trap), -EINVAL);
	CHECK_EQ(ioasid_file_mmap(f, REGION(0), 32 << 10, PROT_READ,
				  MAP_SHARED, &fd_off, &trap), -EINVAL);
	CHECK_EQ(ioasid_file_mmap(f, REGION(7), PG, PROT_READ, MAP_SHARED,
				  &fd_off, &trap), -EINVAL);
	memfd = ioasid_file_mmap(f, REGION(0), 16 << 10,
				 PROT_READ | PROT_WRITE, MAP_SHARED, &fd_off,
				 &trap);
	CHECK(memfd >= 0 && fd_off == 0);
	/* The registers' page is to trap; the MSI-X table's is not. */
	CHECK_EQ(trap, PG);
	bar = mmap(NULL, 16 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		   (off_t)fd_off);
	CHECK(bar != MAP_FAILED);
	close(memfd);
	CHECK_EQ(bar[0x08], 0x33);

	/* Interrupts: bad settings change nothing. */
	irq.s.index = VFIO_PCI_MSIX_IRQ_INDEX;
	irq.s.count = 1;
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_DATA_BOOL |
		      VFIO_IRQ_SET_ACTION_TRIGGER;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -EINVAL);
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	irq.s.count = 2;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -EINVAL);
	irq.s.count = 1;
	irq.fds[0] = 999;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -EBADF);
	irq.s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -ENOTTY);
	irq.s.argsz = sizeof(irq.s) + 2;
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -EINVAL); /* no room */
	irq.s.argsz = sizeof(irq);
	/* MSI-X vector 0 to our event fd. */
	irq.fds[0] = efd;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	/* INTx now is one kind too many. */
	irq.s.index = VFIO_PCI_INTX_IRQ_INDEX;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -EINVAL);
	/* Fired by hand: DATA_NONE. */
	irq.s.index = VFIO_PCI_MSIX_IRQ_INDEX;
	irq.s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	CHECK(readable(efd) && read(efd, &count, 8) == 8 && count == 1);

	/* The engine, programmed through the mapping as a driver does:
	 * unmask the vector, reset, chain, arm, count. */
	*(volatile uint32_t *)(bar + 0x2000 + 12) = 0;
	bar[0x80 + 0x04] = 0x20;
	for (int i = 0; i < 5000 && bar[0x80 + 0x04]; i++)
		usleep(1000);
	CHECK_EQ(bar[0x80 + 0x08] & 7, 3); /* halted after reset */
	memset(mem + PG, 0x3c, PG);
	d->size = PG;
	d->ctl = 1; /* interrupt */
	d->src = 0x100000 + PG;
	d->dst = 0x100000 + 2 * PG;
	d->next = 0x100000;
	*(volatile uint64_t *)(bar + 0x80 + 0x10) = 0x100000;
	*(volatile uint16_t *)(bar + 0x80 + 0x00) = 1;
	*(volatile uint16_t *)(bar + 0x80 + 0x06) = 1;
	CHECK(readable(efd) && read(efd, &count, 8) == 8 && count == 1);
	CHECK_EQ(*(volatile uint64_t *)(bar + 0x80 + 0x08), 0x100000 | 1);
	CHECK(!memcmp(mem + 2 * PG, mem + PG, PG));

	/* Off: count 0, no data. */
	irq.s.count = 0;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	irq.s.count = 1;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -EINVAL); /* not on */

	/* INTx, level and automasked; unmasked by an event fd as KVM's
	 * resample fd does it.  Nothing to mask or unmask before INTx is on. */
	irq.s.index = VFIO_PCI_INTX_IRQ_INDEX;
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
	irq.fds[0] = ufd;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -EINVAL);
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	irq.fds[0] = efd;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK;
	irq.fds[0] = ufd;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), -ETIMEDOUT);
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	copy_interrupting(bar);
	CHECK(readable(efd) && read(efd, &count, 8) == 8 && count == 1);
	/* Masked since it fired: the next waits... */
	copy_interrupting(bar);
	CHECK(!readable_soon(efd));
	/* ...until the unmask fd is signalled, and then fires. */
	count = 1;
	CHECK(write(ufd, &count, 8) == 8);
	CHECK(readable(efd) && read(efd, &count, 8) == 8 && count == 1);
	/* Without the fd (-1), unmasking is by ioctl again. */
	irq.fds[0] = -1;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	copy_interrupting(bar);
	count = 1;
	CHECK(write(ufd, &count, 8) == 8);
	CHECK(!readable_soon(efd));
	irq.s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	CHECK(readable(efd) && read(efd, &count, 8) == 8 && count == 1);
	/* An unmask fd left in place goes with INTx. */
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
	irq.fds[0] = ufd;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	irq.s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	irq.s.count = 0;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &irq), 0);
	irq.s.count = 1;
	close(ufd);

	munmap((void *)bar, 16 << 10);
	ioasid_file_put(f);
	close(efd);
	munmap(mem, 4 * PG);
}

static long gio(struct ioasid_file *g, unsigned int cmd, unsigned long arg)
{
	return ioasid_file_ioctl(g, &caller, cmd, arg);
}

/* The legacy path: group file, container, device file by name. */
static void legacy_group(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct iommu_vfio_ioas vi = { .size = sizeof(vi),
				      .op = IOMMU_VFIO_IOAS_GET };
	struct iommu_destroy d = { .size = sizeof(d) };
	struct ioasid_file *g, *g2, *f, *cdev;
	int32_t container = IOMMUFD, badfd = 3;
	char longname[IOASID_ARG_STRING_MAX + 8];
	long fd;

	CHECK_EQ(ioasid_vfio_open_group(77, &g), -ENODEV);
	CHECK_EQ(ioasid_vfio_open_group(0, &g), 0);
	CHECK_EQ(ioasid_vfio_open_group(0, &g2), -EBUSY);
	/* A VMM links the group to its VM's KVM VFIO device. */
	CHECK_EQ(ioasid_vfio_kvm_link(g, 1), 0);
	CHECK_EQ(ioasid_vfio_kvm_link(g, 1), -EEXIST);
	CHECK_EQ(ioasid_vfio_kvm_link(g, 0), 0);
	CHECK_EQ(ioasid_vfio_kvm_link(g, 0), -ENOENT);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_STATUS, (uintptr_t)&st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	st.argsz = 4;
	CHECK_EQ(gio(g, VFIO_GROUP_GET_STATUS, (uintptr_t)&st), -EINVAL);
	st.argsz = sizeof(st);
	/* Not viable while a device of it is bound through its cdev. */
	CHECK_EQ(ioasid_vfio_open(0, &cdev), 0);
	CHECK_EQ(bind(cdev, NULL), 0);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_STATUS, (uintptr_t)&st), 0);
	CHECK_EQ(st.flags, 0);
	ioasid_file_put(cdev);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_STATUS, (uintptr_t)&st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);

	/* No container: nothing to hand devices to. */
	CHECK_EQ(gio(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)"0000:00:04.0"),
		 -EINVAL);
	CHECK_EQ(gio(g, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);
	CHECK_EQ(gio(g, VFIO_GROUP_SET_CONTAINER, (uintptr_t)&badfd), -EBADF);
	CHECK_EQ(gio(g, VFIO_GROUP_SET_CONTAINER, 0), -EFAULT);
	CHECK_EQ(io(IOMMU_VFIO_IOAS, &vi), -ENODEV);
	CHECK_EQ(gio(g, VFIO_GROUP_SET_CONTAINER, (uintptr_t)&container), 0);
	CHECK_EQ(gio(g, VFIO_GROUP_SET_CONTAINER, (uintptr_t)&container),
		 -EINVAL);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_STATUS, (uintptr_t)&st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE |
			   VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* Joining brought the compat IOAS, a new one. */
	CHECK_EQ(io(IOMMU_VFIO_IOAS, &vi), 0);
	CHECK(vi.ioas_id != 0 && vi.ioas_id != ioas);

	/* Names: another group's device, none, one without an end. */
	CHECK_EQ(gio(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)"0000:00:06.0"),
		 -ENODEV);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)"0000:00:04.1"),
		 -ENODEV);
	memset(longname, 'a', sizeof(longname));
	CHECK_EQ(gio(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)longname),
		 -EINVAL);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_DEVICE_FD, 0), -EFAULT);

	/* Bound through its cdev, the device is not the group's to give. */
	CHECK_EQ(ioasid_vfio_open(0, &cdev), 0);
	CHECK_EQ(bind(cdev, NULL), 0);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)"0000:00:04.0"),
		 -EBUSY);
	ioasid_file_put(cdev);

	fd = gio(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)"0000:00:04.0");
	CHECK(fd >= 0);
	CHECK_EQ(ioasid_file_lookup((int)fd, &f), 0);
	/* Bound and attached already: usable at once, the IOAS pinned. */
	CHECK_EQ(dio(f, VFIO_DEVICE_GET_INFO, &info), 0);
	CHECK_EQ(info.num_regions, VFIO_PCI_NUM_REGIONS);
	CHECK_EQ(bind(f, NULL), -EINVAL);
	d.id = vi.ioas_id;
	CHECK_EQ(io(IOMMU_DESTROY, &d), -EBUSY);
	/* The cdev cannot have it now. */
	CHECK_EQ(ioasid_vfio_open(0, &cdev), 0);
	CHECK_EQ(bind(cdev, NULL), -EINVAL);
	ioasid_file_put(cdev);
	/* Its file still open, the group keeps its container. */
	CHECK_EQ(gio(g, VFIO_GROUP_UNSET_CONTAINER, 0), -EBUSY);
	ioasid_file_put(f);
	CHECK_EQ(ioasid_self_close((int)fd), 0);
	CHECK_EQ(gio(g, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_STATUS, (uintptr_t)&st), 0);
	CHECK_EQ(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	CHECK_EQ(io(IOMMU_DESTROY, &d), 0);

	/* A container whose compat IOAS is gone has none to attach to. */
	CHECK_EQ(gio(g, VFIO_GROUP_SET_CONTAINER, (uintptr_t)&container), 0);
	vi.op = IOMMU_VFIO_IOAS_CLEAR;
	CHECK_EQ(io(IOMMU_VFIO_IOAS, &vi), 0);
	CHECK_EQ(gio(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)"0000:00:04.0"),
		 -ENODEV);
	/* Closed with its container set: let go with the file. */
	ioasid_file_put(g);
	CHECK_EQ(ioasid_vfio_open_group(0, &g), 0);
	ioasid_file_put(g);
	/* And the cdev binds again. */
	CHECK_EQ(ioasid_vfio_open(0, &cdev), 0);
	CHECK_EQ(bind(cdev, NULL), 0);
	ioasid_file_put(cdev);
}

/* Does root/rel exist? */
static bool shown(const char *root, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return access(path, F_OK) == 0;
}

/* Plugging and unplugging while programs run: the extension ioctls. */
static char root[] = "/tmp/test-vfio-sysfs-XXXXXX";

static void plug_unplug(void)
{
	const char spec[] = "ioat,bdf=0000:00:09.0";
	struct ioasid_vfio_plug p = {
		.size = sizeof(p), .spec = (uintptr_t)spec,
		.spec_len = sizeof(spec) - 1,
	};
	struct ioasid_vfio_unplug up = { .size = sizeof(up) };
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} req = { .s = { .argsz = sizeof(req), .index = VFIO_PCI_REQ_IRQ_INDEX,
			 .flags = VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER,
			 .count = 1 } };
	struct ioasid_caller user = caller;
	struct ioasid_file *f;
	uint64_t n;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	CHECK(mkdtemp(root) != NULL);
	CHECK_EQ(ioasid_vfio_sysfs(root), 0);
	/* Only an administrator plugs. */
	user.cap_effective = 0;
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &user, IOASID_VFIO_PLUG,
				  (unsigned long)&p), -EPERM);
	CHECK_EQ(ioasid_ctx_ioctl(ctx, &user, IOASID_VFIO_UNPLUG,
				  (unsigned long)&up), -EPERM);
	/* Specs it refuses change nothing. */
	p.spec_len = 0;
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -EINVAL);
	p.spec_len = 256;
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -EINVAL);
	p.spec_len = sizeof(spec); /* the NUL inside */
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -EINVAL);
	p.spec_len = 4;
	p.spec = (uintptr_t)"nope";
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -ENODEV);
	p.spec = 8;
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -EFAULT);
	p.spec = (uintptr_t)spec;
	p.spec_len = sizeof(spec) - 1;
	p.flags = 1;
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -EOPNOTSUPP);
	p.flags = 0;
	CHECK(!shown(root, "sys/bus/pci/devices/0000:00:09.0"));

	/* Plugged: the first free index, and /sys shows it at once. */
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), 0);
	CHECK_EQ(p.out_index, 2);
	CHECK(shown(root, "sys/bus/pci/devices/0000:00:09.0"));
	CHECK(shown(root, "dev/vfio/devices/vfio2"));
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -EEXIST);

	/* Unplugged while a program holds it: the program is asked to let
	 * go (its request interrupt), nothing finds the device meanwhile,
	 * and it goes with the program's last file. */
	CHECK_EQ(ioasid_vfio_open(2, &f), 0);
	CHECK_EQ(bind(f, NULL), 0);
	req.fd = efd;
	CHECK_EQ(dio(f, VFIO_DEVICE_SET_IRQS, &req), 0);
	up.index = 2;
	CHECK_EQ(io(IOASID_VFIO_UNPLUG, &up), -EINPROGRESS);
	CHECK(readable(efd) && read(efd, &n, 8) == 8 && n == 1);
	CHECK(!shown(root, "sys/bus/pci/devices/0000:00:09.0"));
	CHECK(shown(root, "sys/bus/pci/devices/0000:00:04.0"));
	CHECK_EQ(ioasid_vfio_open(2, &f), -ENODEV);
	CHECK_EQ(io(IOASID_VFIO_UNPLUG, &up), -ENODEV);
	/* Still its slot until then. */
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), -EEXIST);
	ioasid_file_put(f);
	ioasid_wait_releases();
	CHECK_EQ(io(IOASID_VFIO_PLUG, &p), 0);
	CHECK_EQ(p.out_index, 2);
	/* Idle, it goes at once. */
	CHECK_EQ(io(IOASID_VFIO_UNPLUG, &up), 0);
	CHECK(!shown(root, "dev/vfio/devices/vfio2"));
	up.index = 99;
	CHECK_EQ(io(IOASID_VFIO_UNPLUG, &up), -ENODEV);
	close(efd);
}

struct portal_job {
	struct ioasid_file *f;
	struct dsa_desc d;
};

static void *portal_send(void *arg)
{
	struct portal_job *j = arg;

	CHECK_EQ(ioasid_file_pwrite(j->f, &caller, (uintptr_t)&j->d,
				    sizeof(j->d), REGION(2)), 64);
	return NULL;
}

static void dsa_cmd(struct ioasid_file *f, uint32_t cmd, uint32_t expect)
{
	uint32_t sts = 0xff;

	CHECK_EQ(ioasid_file_pwrite(f, &caller, (uintptr_t)&cmd, 4,
				    REGION(0) + 0xa0), 4);
	CHECK_EQ(ioasid_file_pread(f, &caller, (uintptr_t)&sts, 4,
				   REGION(0) + 0xa8), 4);
	CHECK_EQ(sts, expect);
}

/*
 * A mediated DSA queue: bound as an access, attached to an IOAS, its DMA
 * by pins and reads and writes by IOVA; an unmap while it copies is
 * answered (the copy ends or faults), never refused.
 */
static void mediated(void)
{
	const uint64_t iova = 0x4000000, big = 1 << 20;
	unsigned char *mem = mmap(NULL, 66 * big, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Three areas: the record and the list, the sources, the
	 * destinations; an unmap takes whole areas. */
	static const uint64_t area[3][2] = { { 0, 1 }, { 1, 32 }, { 33, 33 } };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap),
					  .ioas_id = ioas };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at),
						    .pt_id = ioas };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	uint32_t wqcfg[4] = { 32, 0, 1, 0 };
	/* Completion record in the first page; sources, destinations and a
	 * descriptor list after. */
	volatile uint8_t *status = mem;
	struct dsa_desc *list = (struct dsa_desc *)(mem + 4096);
	struct portal_job job;
	struct ioasid_file *f;
	pthread_t t;
	uint32_t devid;
	int index;

	index = ioasid_vfio_plug("dsa,mdev=1,bdf=0000:00:0b.0");
	CHECK(index >= 0);
	CHECK_EQ(ioasid_vfio_plug("dsa,mdev=2,bdf=0000:00:0c.0"), -EINVAL);
	CHECK_EQ(ioasid_vfio_open(index, &f), 0);
	CHECK_EQ(bind(f, &devid), 0);
	/* An access of the context's own: not for IOMMU_DESTROY. */
	destroy.id = devid;
	CHECK_EQ(io(IOMMU_DESTROY, &destroy), -EBUSY);
	at.flags = VFIO_DEVICE_ATTACH_PASID;
	at.pasid = 5;
	CHECK_EQ(dio(f, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EOPNOTSUPP);
	at.flags = 0;
	at.pasid = 0;
	CHECK_EQ(dio(f, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
	CHECK_EQ(dio(f, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0); /* again */
	for (int i = 0; i < 3; i++) {
		map.user_va = (uintptr_t)mem + area[i][0] * big;
		map.iova = iova + area[i][0] * big;
		map.length = area[i][1] * big;
		CHECK_EQ(io(IOMMU_IOAS_MAP, &map), 0);
	}

	CHECK_EQ(ioasid_file_pwrite(f, &caller, (uintptr_t)&cmd, 2,
				    REGION(VFIO_PCI_CONFIG_REGION_INDEX) +
					    PCI_COMMAND), 2);
	CHECK_EQ(ioasid_file_pwrite(f, &caller, (uintptr_t)wqcfg,
				    sizeof(wqcfg), REGION(0) + 0x3000),
		 (long)sizeof(wqcfg));
	dsa_cmd(f, 1u << 20, 0);
	dsa_cmd(f, 6u << 20, 0);

	/* One move, by the software path. */
	memset(mem + big, 0x2b, big);
	job = (struct portal_job){ .f = f, .d = {
		.pasid_priv = 1u << 31, .flags_op = 0x04 | 0x08 | 3u << 24,
		.completion = iova, .src = iova + big, .dst = iova + 33 * big,
		.size = (uint32_t)big } };
	portal_send(&job);
	CHECK_EQ(*status, 1);
	CHECK(!memcmp(mem + 33 * big, mem + big, big));

	/* A batch of 32 moves of 1 MiB, and the sources unmapped meanwhile:
	 * the unmap is answered, the batch ends whole or with faults. */
	for (int i = 0; i < 32; i++)
		list[i] = (struct dsa_desc){
			.flags_op = 0x04 | 3u << 24,
			.src = iova + (uint64_t)(1 + i) * big,
			.dst = iova + (uint64_t)(33 + i) * big,
			.size = (uint32_t)big };
	*status = 0;
	job.d = (struct dsa_desc){ .flags_op = 0x04 | 0x08 | 1u << 24,
				   .completion = iova, .src = iova + 4096,
				   .size = 32 };
	CHECK_EQ(pthread_create(&t, NULL, portal_send, &job), 0);
	usleep(2000);
	unmap.iova = iova + big;
	unmap.length = 32 * big;
	CHECK_EQ(io(IOMMU_IOAS_UNMAP, &unmap), 0);
	pthread_join(t, NULL);
	CHECK(*status == 1 || *status == 5);
	/* From a source gone: a fault. */
	job.d = (struct dsa_desc){
		.pasid_priv = 1u << 31, .flags_op = 0x04 | 0x08 | 3u << 24,
		.completion = iova, .src = iova + big, .dst = iova + 33 * big,
		.size = 4096 };
	portal_send(&job);
	CHECK_EQ(*status, 3);

	ioasid_file_put(f);
	ioasid_wait_releases();
	CHECK_EQ(ioasid_vfio_unplug(index), 0);
	for (int i = 0; i < 3; i += 2) {
		unmap.iova = iova + area[i][0] * big;
		unmap.length = area[i][1] * big;
		CHECK_EQ(io(IOMMU_IOAS_UNMAP, &unmap), 0);
	}
	munmap(mem, 66 * big);
}

int main(void)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };

	CHECK_EQ(ioasid_caller_self(&caller), 0);
	ops = *caller.uaccess;
	ops.get_ctx = get_ctx;
	caller.uaccess = &ops;
	ctx = ioasid_ctx_new();
	CHECK_EQ(io(IOMMU_IOAS_ALLOC, &ia), 0);
	ioas = ia.out_ioas_id;
	RUN(plugging);
	RUN(before_bind);
	RUN(info_ioctls);
	RUN(argsz_rules);
	RUN(regions_irqs_dma);
	RUN(legacy_group);
	RUN(plug_unplug);
	RUN(mediated);
	ioasid_ctx_put(ctx);
	ioasid_synchronize_rcu();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		CHECK_EQ(system(cmd), 0);
	}
	return check_finish("vfio");
}
