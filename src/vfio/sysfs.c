/* SPDX-License-Identifier: MIT */
/*
 * Where programs look for VFIO devices: the part of /sys and /dev the
 * kernel would show for ours, written as a tree of files under a root
 * directory, for the shim to lay over the real ones (a path that exists
 * under the root is read there).  What each entry holds is what vfio-pci
 * shows for a bound function.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioasid/uapi/ioasid.h"
#include "vfio.h"

/* mkdir -p of root/rel. */
static int make_dirs(const char *root, const char *rel)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", root, rel);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

/* root/dir/name holding len bytes of data. */
static int put_bytes(const char *root, const char *dir, const char *name,
		     const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		rc = -EIO;
	close(fd);
	return rc;
}

static int put_text(const char *root, const char *dir, const char *name,
		    const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EINVAL;
	return put_bytes(root, dir, name, text, (size_t)n);
}

/* root/dir/name -> target (relative, as sysfs links are). */
static int put_link(const char *root, const char *dir, const char *name,
		    const char *target)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	unlink(path);
	return symlink(target, path) ? -errno : 0;
}

/* The resource file: start, end and flags of each of the six BARs, then
 * the ROM and the bridge windows, which ours do not have. */
static int put_resource(const char *root, const char *dir,
			const struct pci_fn *fn)
{
	char text[1024];
	size_t used = 0;

	for (unsigned int i = 0; i < 13; i++) {
		const struct pci_bar *b = i < PCI_NUM_BARS ? &fn->bars[i] : NULL;
		/* IORESOURCE_MEM, _MEM_64 and _PREFETCH, as the kernel says
		 * them; no host address (none is ours to have). */
		unsigned long long flags =
			b && b->size ? 0x00040200ULL |
				       (b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64 ?
						0x00100000ULL : 0) |
				       (b->flags & PCI_BASE_ADDRESS_MEM_PREFETCH ?
						0x00002000ULL : 0) :
				       0;

		used += (size_t)snprintf(text + used, sizeof(text) - used,
					 "0x%016llx 0x%016llx 0x%016llx\n", 0ULL,
					 b && b->size ? (unsigned long long)b->size - 1 :
							0ULL,
					 flags);
	}
	return put_bytes(root, dir, "resource", text, used);
}

static int write_device(const char *root, struct vfio_dev *dev)
{
	struct pci_fn *fn = dev->fn;
	char dir[256], rel[PATH_MAX], name[64];
	uint8_t cfg[PCI_CFG_SIZE];
	uint16_t vendor, device, sv, sd;
	uint32_t class_rev;
	int rc;

	pci_cfg_read(fn, 0, cfg, sizeof(cfg));
	memcpy(&vendor, cfg + PCI_VENDOR_ID, 2);
	memcpy(&device, cfg + PCI_DEVICE_ID, 2);
	memcpy(&sv, cfg + PCI_SUBSYSTEM_VENDOR_ID, 2);
	memcpy(&sd, cfg + PCI_SUBSYSTEM_ID, 2);
	memcpy(&class_rev, cfg + PCI_CLASS_REVISION, 4);
	snprintf(dir, sizeof(dir), "sys/devices/pci%04x:%02x/%s", fn->domain,
		 fn->bus, fn->bdf);
	snprintf(name, sizeof(name), "vfio-dev/vfio%u", dev->index);
	snprintf(rel, sizeof(rel), "%s/%s", dir, name);
	rc = make_dirs(root, rel);
	rc = rc ? rc : put_text(root, dir, "vendor", "0x%04x\n", vendor);
	rc = rc ? rc : put_text(root, dir, "device", "0x%04x\n", device);
	rc = rc ? rc : put_text(root, dir, "subsystem_vendor", "0x%04x\n", sv);
	rc = rc ? rc : put_text(root, dir, "subsystem_device", "0x%04x\n", sd);
	rc = rc ? rc : put_text(root, dir, "class", "0x%06x\n", class_rev >> 8);
	rc = rc ? rc : put_text(root, dir, "revision", "0x%02x\n", class_rev & 0xff);
	rc = rc ? rc : put_text(root, dir, "numa_node", "-1\n");
	rc = rc ? rc : put_text(root, dir, "irq", "0\n");
	rc = rc ? rc : put_text(root, dir, "enable", "1\n");
	rc = rc ? rc : put_bytes(root, dir, "config", cfg, sizeof(cfg));
	rc = rc ? rc : put_resource(root, dir, fn);
	rc = rc ? rc : put_text(root, dir, "uevent",
				"DRIVER=vfio-pci\nPCI_CLASS=%X\nPCI_ID=%04X:%04X\n"
				"PCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n",
				class_rev >> 8, vendor, device, sv, sd, fn->bdf);
	rc = rc ? rc : put_text(root, rel, "dev", "%u:%u\n",
				IOASID_VFIO_DEVICE_MAJOR, dev->index);
	snprintf(name, sizeof(name), "../../../kernel/iommu_groups/%u",
		 dev->group);
	rc = rc ? rc : put_link(root, dir, "iommu_group", name);
	rc = rc ? rc : put_link(root, dir, "driver",
				"../../../bus/pci/drivers/vfio-pci");
	rc = rc ? rc : put_link(root, dir, "subsystem", "../../../bus/pci");
	if (rc)
		return rc;

	/* The bus, the driver and the group name it too. */
	snprintf(rel, sizeof(rel), "../../../devices/pci%04x:%02x/%s",
		 fn->domain, fn->bus, fn->bdf);
	rc = make_dirs(root, "sys/bus/pci/devices");
	rc = rc ? rc : put_link(root, "sys/bus/pci/devices", fn->bdf, rel);
	snprintf(rel, sizeof(rel), "../../../../devices/pci%04x:%02x/%s",
		 fn->domain, fn->bus, fn->bdf);
	rc = rc ? rc : make_dirs(root, "sys/bus/pci/drivers/vfio-pci");
	rc = rc ? rc : put_link(root, "sys/bus/pci/drivers/vfio-pci", fn->bdf,
				rel);
	snprintf(dir, sizeof(dir), "sys/kernel/iommu_groups/%u/devices",
		 dev->group);
	snprintf(rel, sizeof(rel), "../../../../devices/pci%04x:%02x/%s",
		 fn->domain, fn->bus, fn->bdf);
	rc = rc ? rc : make_dirs(root, dir);
	rc = rc ? rc : put_link(root, dir, fn->bdf, rel);
	snprintf(dir, sizeof(dir), "sys/kernel/iommu_groups/%u", dev->group);
	rc = rc ? rc : put_text(root, dir, "type", "DMA\n");
	/* The VT-d model's interrupt window, as the kernel lists it. */
	rc = rc ? rc : put_text(root, dir, "reserved_regions",
				"0x00000000fee00000 0x00000000feefffff msi\n");
	/* The device nodes, for listings; what they are the shim says. */
	rc = rc ? rc : make_dirs(root, "dev/vfio/devices");
	snprintf(name, sizeof(name), "vfio%u", dev->index);
	rc = rc ? rc : put_bytes(root, "dev/vfio/devices", name, "", 0);
	snprintf(name, sizeof(name), "%u", dev->group);
	rc = rc ? rc : put_bytes(root, "dev/vfio", name, "", 0);
	return rc;
}

static int write_each(struct vfio_dev *d, void *root)
{
	return write_device(root, d);
}

/* The whole tree under root, which exists and is empty. */
static int write_tree(const char *root)
{
	static const char *const modules[] = {
		"vfio", "vfio_pci", "vfio_pci_core", "vfio_iommu_type1",
		"iommufd",
	};
	int rc = 0;

	for (size_t i = 0; !rc && i < sizeof(modules) / sizeof(*modules); i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "sys/module/%s", modules[i]);
		rc = make_dirs(root, rel);
	}
	rc = rc ? rc : make_dirs(root, "dev/vfio");
	rc = rc ? rc : put_bytes(root, "dev/vfio", "vfio", "", 0);
	return rc ? rc : vfio_devs_each(write_each, (void *)root);
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The root the tree is shown at, once ioasid_vfio_sysfs() wrote it. */
static pthread_mutex_t root_lock = PTHREAD_MUTEX_INITIALIZER;
static char *shown_root;

int ioasid_vfio_sysfs(const char *root)
{
	char *copy = strdup(root);
	int rc;

	if (!copy)
		return -ENOMEM;
	rc = mkdir(root, 0755) && errno != EEXIST ? -errno : 0;
	rc = rc ? rc : write_tree(root);
	pthread_mutex_lock(&root_lock);
	free(shown_root);
	shown_root = rc ? NULL : copy;
	pthread_mutex_unlock(&root_lock);
	if (rc)
		free(copy);
	return rc;
}

/*
 * A device came or went: a new tree beside the shown one, exchanged with
 * it in one rename, so a program reading it sees the old tree or the new,
 * never half of either.
 */
int vfio_sysfs_refresh(void)
{
	char next[PATH_MAX];
	int rc = 0;

	pthread_mutex_lock(&root_lock);
	if (!shown_root)
		goto out_unlock;
	if (snprintf(next, sizeof(next), "%s.next", shown_root) >=
	    (int)sizeof(next)) {
		rc = -ENAMETOOLONG;
		goto out_unlock;
	}
	remove_tree(next);
	rc = mkdir(next, 0755) ? -errno : write_tree(next);
	if (!rc && renameat2(AT_FDCWD, next, AT_FDCWD, shown_root,
			     RENAME_EXCHANGE)) {
		/* Nothing there to exchange with (someone removed it): the
		 * new tree is simply put there. */
		rc = errno == ENOENT && !rename(next, shown_root) ? 0 : -errno;
	}
	/* What is at next now is the old tree (or a failed new one). */
	remove_tree(next);
out_unlock:
	pthread_mutex_unlock(&root_lock);
	return rc;
}
