/* SPDX-License-Identifier: MIT */
/*
 * A VFIO device end to end, as a userspace driver uses one, through the
 * shim and the daemon with nothing but system calls: run under
 * `ioasid-run --device ioat`.  It binds /dev/vfio/devices/vfio0 to an
 * iommufd, attaches it to an IOAS, maps BAR0, routes MSI-X to an event
 * fd, programs the I/OAT engine through the mapping, and checks the copy
 * went through the IOMMU and interrupted; then that an unmapped IOVA
 * halts the engine with its error, and that closing the file unbinds it;
 * and the same device the legacy way, through its group and a container.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "core/ioctl_desc.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "ioasid/uapi/vfio_compat.h"

#define PG 4096u
#define REGION(i) ((off_t)(i) << 40)
#define IOVA 0x200000ull

#include "../common/dsa_hw.h"
#include "expect.h"

static int bind(int dev, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd b = {
		.argsz = sizeof(b), .iommufd = iommufd,
	};
	int rc = ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);

	if (devid)
		*devid = b.out_devid;
	return rc;
}

static bool wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* Bounded: an engine that never interrupts fails, not hangs. */
	return poll(&p, 1, 5000) == 1;
}

/* A channel reset, done when the device clears the command (bounded). */
static void reset_channel(volatile uint8_t *bar)
{
	bar[0x84] = 0x20;
	for (int i = 0; i < 5000 && bar[0x84]; i++)
		usleep(1000);
}

/* Until the channel's status is `want` (bounded too). */
static uint64_t wait_status(volatile uint8_t *bar, unsigned int want)
{
	for (int i = 0; i < 5000 && (bar[0x88] & 7) != want; i++)
		usleep(1000);
	return *(volatile uint64_t *)(bar + 0x88);
}

/*
 * Every device ioctl of the table, through the shim: argsz below the
 * mandatory part is EINVAL, a pointer to nothing EFAULT, a flag it does
 * not know EINVAL -- the kernel's answers, and the device still works.
 */
static void errno_table(int dev)
{
	for (unsigned int i = 0; i < ioasid_ioctl_desc_count(); i++) {
		const struct ioasid_ioctl_desc *d = ioasid_ioctl_desc_at(i);
		unsigned char buf[64] = { 0 };
		uint32_t argsz = d->min_size - 1, flags;

		if (d->on != IOASID_ON_VFIO_DEVICE || d->arg != IOASID_ARG_ARGSZ)
			continue;
		memcpy(buf, &argsz, 4);
		EXPECT(ioctl(dev, d->cmd, buf) == -1 && errno == EINVAL);
		EXPECT(ioctl(dev, d->cmd, NULL) == -1 && errno == EFAULT);
		if (d->flags_mask != 0 && d->flags_mask != UINT32_MAX) {
			argsz = d->size;
			flags = ~d->flags_mask;
			memcpy(buf, &argsz, 4);
			memcpy(buf + 4, &flags, 4);
			EXPECT(ioctl(dev, d->cmd, buf) == -1 && errno == EINVAL);
		}
	}
	/* Not a device ioctl at all. */
	EXPECT(ioctl(dev, IOMMU_IOAS_ALLOC, NULL) == -1 && errno == ENOTTY);
}

/*
 * Where QEMU (host=) and the kernel's VFIO selftests look, given only the
 * address: the device's vfio-dev entry in sysfs, its "dev" file, the node
 * it names under /dev/vfio/devices, its IOMMU group and its driver.  The
 * path to open, or NULL.
 */
static char *discover(const char *bdf, char *path, size_t cap)
{
	char dir[PATH_MAX], link[256], buf[64], name[32];
	struct dirent *e;
	unsigned int maj, min;
	struct stat st;
	ssize_t n;
	DIR *d;
	FILE *f;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", bdf);
	EXPECT(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(dir, link, sizeof(link) - 1);
	EXPECT(n > 0 && (link[n] = 0, !strcmp(strrchr(link, '/'), "/0")));
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(dir, link, sizeof(link) - 1);
	EXPECT(n > 0 && (link[n] = 0, !strcmp(strrchr(link, '/'), "/vfio-pci")));
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	EXPECT(d != NULL);
	if (!d)
		return NULL;
	while ((e = readdir(d)) && strncmp(e->d_name, "vfio", 4))
		;
	EXPECT(e != NULL);
	if (!e) {
		closedir(d);
		return NULL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)sizeof(name) - 1, e->d_name);
	closedir(d);
	snprintf(path, cap, "/dev/vfio/devices/%s", name);
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev/%s/dev",
		 bdf, name);
	f = fopen(dir, "r");
	EXPECT(f && fgets(buf, sizeof(buf), f) &&
	       sscanf(buf, "%u:%u", &maj, &min) == 2);
	if (f)
		fclose(f);
	EXPECT(stat(path, &st) == 0 && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(maj, min));
	return path;
}

/*
 * Under KVM, QEMU adds each device file to the VM's KVM VFIO
 * pseudo-device; the kernel's refuses anything but its own VFIO files.
 * Ours are linked (and unlinked) as the kernel links its own, and a file
 * that is no device gets KVM's own answer.  Skipped without /dev/kvm.
 */
static void kvm_link(int dev)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, efd;
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	int32_t file = dev;
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_GROUP, .attr = KVM_DEV_VFIO_GROUP_ADD,
		.addr = (uintptr_t)&file,
	};

	if (kvm < 0) {
		printf("  (no /dev/kvm: the KVM link is not tried)\n");
		return;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	EXPECT(vm >= 0 && ioctl(vm, KVM_CREATE_DEVICE, &cd) == 0);
	EXPECT(ioctl((int)cd.fd, KVM_SET_DEVICE_ATTR, &attr) == 0);
	EXPECT(ioctl((int)cd.fd, KVM_SET_DEVICE_ATTR, &attr) == -1 &&
	       errno == EEXIST);
	attr.attr = KVM_DEV_VFIO_GROUP_DEL;
	EXPECT(ioctl((int)cd.fd, KVM_SET_DEVICE_ATTR, &attr) == 0);
	EXPECT(ioctl((int)cd.fd, KVM_SET_DEVICE_ATTR, &attr) == -1 &&
	       errno == ENOENT);
	/* Not a VFIO file at all: KVM says so itself. */
	efd = eventfd(0, EFD_CLOEXEC);
	file = efd;
	attr.attr = KVM_DEV_VFIO_GROUP_ADD;
	EXPECT(ioctl((int)cd.fd, KVM_SET_DEVICE_ATTR, &attr) == -1 &&
	       errno == EINVAL);
	close(efd);
	close((int)cd.fd);
	close(vm);
	close(kvm);
}

/*
 * A device plugged and unplugged while programs run (our extension, as a
 * hot-plug and an unbind from vfio-pci): /sys and /dev show it at once;
 * unplugged while held, its holder hears the request interrupt, and it is
 * gone for good once the holder closes it.
 */
static void runtime_plug(int iommufd)
{
	const char spec[] = "ioat,bdf=0000:00:0a.0";
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
	char path[64];
	struct stat st;
	uint64_t n;
	int dev, efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	EXPECT(stat("/sys/bus/pci/devices/0000:00:0a.0", &st) == -1);
	EXPECT(ioctl(iommufd, IOASID_VFIO_PLUG, &p) == 0);
	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%u", p.out_index);
	EXPECT(stat("/sys/bus/pci/devices/0000:00:0a.0", &st) == 0);
	dev = open(path, O_RDWR | O_CLOEXEC);
	EXPECT(dev >= 0 && bind(dev, iommufd, NULL) == 0);
	req.fd = efd;
	EXPECT(ioctl(dev, VFIO_DEVICE_SET_IRQS, &req) == 0);
	up.index = p.out_index;
	EXPECT(ioctl(iommufd, IOASID_VFIO_UNPLUG, &up) == -1 &&
	       errno == EINPROGRESS);
	EXPECT(wait_readable(efd) && read(efd, &n, 8) == 8 && n == 1);
	EXPECT(stat("/sys/bus/pci/devices/0000:00:0a.0", &st) == -1);
	EXPECT(open(path, O_RDWR) == -1 && errno == ENOENT);
	close(dev);
	close(efd);
}

/* A 64-byte descriptor to a DSA portal as the selftests' driver and the
 * kernel's send one: MOVDIR64B, here in two of its addressing forms. */
static void movdir64b_plain(volatile void *portal, const void *desc)
{
	asm volatile(".byte 0x66, 0x0f, 0x38, 0xf8, 0x02" /* (%rdx), %rax */
		     : : "a"(portal), "d"(desc) : "memory");
}

static void movdir64b_sib(volatile void *portal, const void *base, long idx)
{
	asm volatile(".byte 0x66, 0x0f, 0x38, 0xf8, 0x44, 0x0a, 0x40"
		     /* 0x40(%rdx,%rcx,1), %rax */
		     : : "a"(portal), "d"(base), "c"(idx) : "memory");
}

/*
 * The DSA model through the shim: its command register and its portal
 * trap, so a command written through the mapping and a descriptor sent
 * with MOVDIR64B reach it as they happen.
 */
static void dsa_portal(int iommufd, uint32_t ioas, unsigned char *mem)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at),
						    .pt_id = ioas };
	struct dsa_desc d[3] __attribute__((aligned(64))) = { 0 };
	volatile unsigned char *bar0, *portal;
	volatile uint8_t *status = mem + 3 * PG;
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	int dev = open("/dev/vfio/devices/vfio1", O_RDWR | O_CLOEXEC);

	EXPECT(dev >= 0 && bind(dev, iommufd, NULL) == 0 &&
	       ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) == 0);
	EXPECT(pwrite(dev, &cmd, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX) +
				       PCI_COMMAND) == 2);
	bar0 = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		    REGION(0));
	portal = mmap(NULL, 16 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		      REGION(2));
	EXPECT(bar0 != MAP_FAILED && portal != MAP_FAILED);
	if (bar0 == MAP_FAILED || portal == MAP_FAILED)
		return;
	/* The queue's size in its configuration, then enable by command. */
	*(volatile uint32_t *)(bar0 + 0x3000) = 32;
	*(volatile uint32_t *)(bar0 + 0x3008) = 1;
	*(volatile uint32_t *)(bar0 + 0xa0) = 1u << 20;
	EXPECT(*(volatile uint32_t *)(bar0 + 0xa8) == 0);
	*(volatile uint32_t *)(bar0 + 0xa0) = 6u << 20;
	EXPECT(*(volatile uint32_t *)(bar0 + 0xa8) == 0);
	*(volatile uint32_t *)(bar0 + 0xa0) = 6u << 20; /* again */
	EXPECT(*(volatile uint32_t *)(bar0 + 0xa8) == 0x21);

	memset(mem + PG, 0x3d, PG);
	memset(mem + 2 * PG, 0, PG);
	for (int i = 0; i < 3; i++)
		d[i] = (struct dsa_desc){ .pasid_priv = 1u << 31,
					  .flags_op = DSA_FLAGS_OP(0x04 | 0x08, 3),
				       .completion = IOVA + 3 * PG,
				       .src = IOVA + PG, .dst = IOVA + 2 * PG,
				       .size = PG };
	*status = 0;
	movdir64b_plain(portal, &d[0]);
	EXPECT(*status == 1 && !memcmp(mem + 2 * PG, mem + PG, PG));
	/* A move from nowhere: the fault in the record. */
	*status = 0;
	d[2].src = 0x40000000;
	movdir64b_sib(portal, &d[0], 0x40);
	EXPECT(*status == 3);
	munmap((void *)bar0, 64 << 10);
	munmap((void *)portal, 16 << 10);
	close(dev);
}

struct desc {
	uint32_t size, ctl;
	uint64_t src, dst, next, rsv[4];
};

/*
 * The legacy way, as QEMU's host= and the VFIO selftests' type1 modes
 * take it: the container /dev/vfio/vfio (iommufd's compat layer), the
 * group /dev/vfio/0, the device by name, memory by VFIO_IOMMU_MAP_DMA;
 * the engine's copy proves the device sits in the container's IOAS.
 */
static void legacy_group(unsigned char *mem)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_iommu_type1_dma_map dm = {
		.argsz = sizeof(dm),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)mem, .iova = IOVA, .size = 4 * PG,
	};
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct desc *d = (struct desc *)mem;
	int container, group, dev, cdev, efd, closed;
	volatile uint8_t *bar;
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	struct stat sb;

	EXPECT(stat("/sys/kernel/iommu_groups/0/devices/0000:00:04.0", &sb) == 0);
	EXPECT(stat("/dev/vfio/0", &sb) == 0 && S_ISCHR(sb.st_mode));
	EXPECT(open("/dev/vfio/7", O_RDWR) == -1 && errno == ENOENT);
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open("/dev/vfio/0", O_RDWR | O_CLOEXEC);
	EXPECT(container >= 0 && group >= 0);
	{
		struct stat fst;

		EXPECT(fstat(group, &fst) == 0 && S_ISCHR(fst.st_mode) &&
		       fst.st_rdev == sb.st_rdev);
	}
	EXPECT(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION);
	EXPECT(open("/dev/vfio/0", O_RDWR) == -1 && errno == EBUSY);
	EXPECT(ioctl(group, VFIO_GROUP_GET_STATUS, &st) == 0 &&
	       st.flags == VFIO_GROUP_FLAGS_VIABLE);
	/* Containers that are not: an event fd, a closed number. */
	efd = eventfd(0, EFD_CLOEXEC);
	EXPECT(ioctl(group, VFIO_GROUP_SET_CONTAINER, &efd) == -1 &&
	       errno == EBADFD);
	closed = efd;
	close(efd);
	EXPECT(ioctl(group, VFIO_GROUP_SET_CONTAINER, &closed) == -1 &&
	       errno == EBADF);
	EXPECT(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:04.0") == -1 &&
	       errno == EINVAL);
	EXPECT(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
	EXPECT(ioctl(group, VFIO_GROUP_GET_STATUS, &st) == 0 &&
	       (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET));
	EXPECT(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
	EXPECT(ioctl(container, VFIO_IOMMU_MAP_DMA, &dm) == 0);
	EXPECT(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:05.0") == -1 &&
	       errno == ENODEV);
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:04.0");
	EXPECT(dev >= 0);
	if (dev < 0)
		return;
	/* What a group hands out is an anonymous file, not a node. */
	EXPECT(fstat(dev, &sb) == 0 && !S_ISCHR(sb.st_mode));
	/* The group has it: its cdev cannot bind it meanwhile. */
	cdev = open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
	EXPECT(cdev >= 0 && bind(cdev, container, NULL) == -1 &&
	       errno == EINVAL);
	close(cdev);

	EXPECT(pwrite(dev, &cmd, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX) +
				       PCI_COMMAND) == 2);
	EXPECT(ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0);
	bar = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		   (off_t)ri.offset);
	EXPECT(bar != MAP_FAILED);
	if (bar != MAP_FAILED) {
		reset_channel(bar);
		memset(mem + PG, 0x5a, PG);
		memset(mem + 2 * PG, 0, PG);
		*d = (struct desc){ .size = PG, .src = IOVA + PG,
				    .dst = IOVA + 2 * PG, .next = IOVA };
		*(volatile uint64_t *)(bar + 0x90) = IOVA;
		*(volatile uint16_t *)(bar + 0x86) = 1;
		EXPECT(wait_status(bar, 1) == (IOVA | 1));
		EXPECT(!memcmp(mem + 2 * PG, mem + PG, PG));
		munmap((void *)bar, ri.size);
	}
	/* Its device open, the group keeps its container. */
	EXPECT(ioctl(group, VFIO_GROUP_UNSET_CONTAINER) == -1 &&
	       errno == EBUSY);
	close(dev);
	EXPECT(ioctl(group, VFIO_GROUP_UNSET_CONTAINER) == 0);
	close(group);
	close(container);
}

int main(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev, efd;
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} irq = { .s = { .argsz = sizeof(irq),
			 .flags = VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER,
			 .index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 1 } };
	unsigned char *mem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)mem, .length = 4 * PG, .iova = IOVA,
	};
	struct desc *d = (struct desc *)mem;
	volatile uint8_t *bar;
	uint16_t vendor = 0, cmd;
	uint64_t count;
	uint32_t devid;
	char path[64] = "/dev/vfio/devices/vfio0";

	EXPECT(iommufd >= 0 && ioctl(iommufd, IOMMU_IOAS_ALLOC, &ia) == 0);
	EXPECT(open("/dev/vfio/devices/vfio7", O_RDWR) == -1 && errno == ENOENT);
	EXPECT(discover("0000:00:04.0", path, sizeof(path)) != NULL &&
	       !strcmp(path, "/dev/vfio/devices/vfio0"));
	dev = open(path, O_RDWR | O_CLOEXEC);
	EXPECT(dev >= 0);
	/* The descriptor is that node, as QEMU checks of a cdev it opens. */
	{
		struct stat node, fst;

		EXPECT(stat(path, &node) == 0 && fstat(dev, &fst) == 0 &&
		       S_ISCHR(fst.st_mode) && fst.st_rdev == node.st_rdev);
	}
	/* Before bind, nothing else. */
	EXPECT(ioctl(dev, VFIO_DEVICE_GET_INFO, &info) == -1 && errno == EINVAL);
	EXPECT(bind(dev, dev, NULL) == -1 && errno == EBADF);
	EXPECT(bind(dev, iommufd, &devid) == 0 && devid);
	EXPECT(bind(dev, iommufd, NULL) == -1 && errno == EINVAL);
	at.pt_id = ia.out_ioas_id;
	EXPECT(ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) == 0);
	EXPECT(ioctl(dev, VFIO_DEVICE_GET_INFO, &info) == 0 &&
	       info.num_regions == 9 && info.num_irqs == 5 &&
	       (info.flags & VFIO_DEVICE_FLAGS_PCI));
	errno_table(dev);
	kvm_link(dev);

	/* Configuration space, by pread and pwrite at its region. */
	EXPECT(pread(dev, &vendor, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX)) == 2 &&
	       vendor == 0x8086);
	cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	EXPECT(pwrite(dev, &cmd, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX) +
				       PCI_COMMAND) == 2);
	EXPECT(pread(dev, &vendor, 2, REGION(1)) == -1 && errno == EINVAL);

	/* BAR0, mapped where the region info says. */
	ri.index = 0;
	EXPECT(ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0 &&
	       (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) && ri.size == 16 << 10);
	bar = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		   (off_t)ri.offset);
	EXPECT(bar != MAP_FAILED);
	if (bar == MAP_FAILED)
		return 1;
	EXPECT(bar[0x08] == 0x33);

	/* The device's DMA goes through the IOAS. */
	EXPECT(ioctl(iommufd, IOMMU_IOAS_MAP, (map.ioas_id = ia.out_ioas_id, &map)) == 0);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irq.fd = efd;
	EXPECT(ioctl(dev, VFIO_DEVICE_SET_IRQS, &irq) == 0);
	*(volatile uint32_t *)(bar + 0x2000 + 12) = 0; /* unmask vector 0 */
	reset_channel(bar);
	EXPECT((bar[0x88] & 7) == 3); /* halted */
	memset(mem + PG, 0x6b, PG);
	*d = (struct desc){ .size = PG, .ctl = 1, .src = IOVA + PG,
			    .dst = IOVA + 2 * PG, .next = IOVA };
	*(volatile uint64_t *)(bar + 0x90) = IOVA; /* chain */
	*(volatile uint16_t *)(bar + 0x80) = 1;    /* arm the interrupt */
	*(volatile uint16_t *)(bar + 0x86) = 1;    /* one descriptor */
	EXPECT(wait_readable(efd) && read(efd, &count, 8) == 8 && count == 1);
	EXPECT(wait_status(bar, 1) == (IOVA | 1));
	EXPECT(!memcmp(mem + 2 * PG, mem + PG, PG));

	/* A source outside the IOAS: the engine halts with the error. */
	reset_channel(bar);
	EXPECT((bar[0x88] & 7) == 3);
	d->src = 0x40000000;
	*(volatile uint64_t *)(bar + 0x90) = IOVA;
	*(volatile uint16_t *)(bar + 0x86) = 1;
	for (int i = 0; i < 5000 && !*(volatile uint32_t *)(bar + 0xa8); i++)
		usleep(1000);
	EXPECT(*(volatile uint32_t *)(bar + 0xa8) == 1); /* source error */
	EXPECT((bar[0x88] & 7) == 3);

	/* Closing the file unbinds it: a new one binds again. */
	munmap((void *)bar, ri.size);
	close(dev);
	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	EXPECT(dev >= 0 && bind(dev, iommufd, NULL) == 0);
	close(dev);

	/* A process killed while it holds the device, attached and with
	 * memory mapped, lets go of it: the device binds again. */
	{
		int ready[2];
		pid_t pid;
		char c;

		EXPECT(pipe(ready) == 0);
		pid = fork();
		if (pid == 0) {
			int fd = open("/dev/iommu", O_RDWR);
			struct iommu_ioas_alloc a = { .size = sizeof(a) };
			struct vfio_device_attach_iommufd_pt pt = {
				.argsz = sizeof(pt),
			};
			int d = open("/dev/vfio/devices/vfio0", O_RDWR);

			if (fd < 0 || ioctl(fd, IOMMU_IOAS_ALLOC, &a) ||
			    bind(d, fd, NULL))
				_exit(1);
			pt.pt_id = a.out_ioas_id;
			map.ioas_id = a.out_ioas_id;
			if (ioctl(d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &pt) ||
			    ioctl(fd, IOMMU_IOAS_MAP, &map))
				_exit(2);
			(void)!write(ready[1], "r", 1);
			pause();
			_exit(0);
		}
		EXPECT(read(ready[0], &c, 1) == 1);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(ready[0]);
		close(ready[1]);
		dev = open("/dev/vfio/devices/vfio0", O_RDWR);
		/* The daemon saw the hang-ups before this request. */
		EXPECT(dev >= 0 && bind(dev, iommufd, NULL) == 0);
		close(dev);
	}
	dsa_portal(iommufd, ia.out_ioas_id, mem);
	legacy_group(mem);
	runtime_plug(iommufd);
	close(efd);
	close(iommufd);
	printf("%s: a VFIO device through the shim and the daemon\n",
	       failures ? "FAIL" : "ok");
	printf("%d passed, %d failed, 0 skipped\n", !failures, !!failures);
	return failures ? 1 : 0;
}
