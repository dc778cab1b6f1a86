/* SPDX-License-Identifier: MIT */
/*
 * VFIO devices: PCI functions (pci/) exposed as vfio-pci exposes a real
 * one.  A device is plugged once and opened as files: a file binds it to
 * an iommufd context (VFIO_DEVICE_BIND_IOMMUFD, one file at a time, as
 * the kernel's cdev path allows), attaches it there, and then reaches its
 * regions (configuration space and BARs, at index << 40 in the file),
 * maps its BARs, and routes its interrupts to event fds.  Closing the
 * bound file unbinds it.
 */
#ifndef IOASID_VFIO_VFIO_H
#define IOASID_VFIO_VFIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/file.h"
#include "core/ucmd.h"
#include "ioasid/uapi/vfio_compat.h"
#include "pci/pci.h"

#define VFIO_REGION_SHIFT 40
#define VFIO_MAX_VECTORS 2048

struct ioasid_access;
struct ioasid_device;
struct ioasid_object;
struct vfio_file;
struct vfio_group_file;
struct vfio_unmask_watch;

/* Where one interrupt index goes. */
struct vfio_irq_index {
	unsigned int count; /* vectors with a route (trigger set up) */
	int *efds;          /* count event fds of ours, -1: none */
};

/*
 * Lock order: the PCI engine's lock, then a model's lock, then this lock
 * (a model raises interrupts, which find their routes here), then the
 * function's lock.  So nothing here calls into the engine or a model
 * with it held.  lock guards the binding and the interrupt routes.
 */
struct vfio_dev {
	struct pci_fn *fn;
	unsigned int index; /* N of /dev/vfio/devices/vfioN */
	uint32_t iommu_model;
	unsigned int group;
	pthread_mutex_t lock;
	struct vfio_file *bound; /* the file it is bound through */
	int irq_type;            /* the index in use, or -1 */
	bool intx_masked, intx_pending;
	/* A mediated device (mdev=1): no domain; DMA by `access`, the bound
	 * file's, through `path`, with dma_inflight transfers under way. */
	bool mdev;
	struct ioasid_access *access;
	struct pci_dma_path path;
	unsigned int dma_inflight;
	pthread_cond_t dma_idle;
	/* INTx unmasked when this event fd is signalled (a VMM's resample
	 * fd from KVM), or NULL; goes when INTx does. */
	struct vfio_unmask_watch *unmask;
	struct vfio_irq_index irqs[VFIO_PCI_NUM_IRQS];
	/* Under the devices' lock (device.c): files open, and unplugged. */
	unsigned int files;
	bool leaving;
	struct vfio_dev *next;
};

/* A file of a device: what a descriptor of /dev/vfio/devices/vfioN is. */
struct vfio_file {
	struct ioasid_file file; /* first: files are found by it */
	struct vfio_dev *dev;
	/* Bound: the context (file.ctx, referenced) and our device there,
	 * which this file owns. */
	struct ioasid_device *idev;
	struct ioasid_access *access; /* instead, for a mediated device */
	bool kvm_linked; /* in a VM's KVM VFIO pseudo-device */
	/* Handed out by a group file (which it holds), or NULL: a cdev's. */
	struct vfio_group_file *group;
	struct pci_dma_stats dma_at_bind; /* to say what it did while bound */
};

static inline struct vfio_file *vfio_file_of(struct ioasid_file *f)
{
	return (struct vfio_file *)f;
}

/* The file an ioctl on a VFIO device is made on (dispatcher's target). */
static inline struct vfio_file *vfio_ucmd_file(const struct ioasid_ucmd *u)
{
	return u->target;
}

/* fn on each plugged device in index order (under the devices' lock,
 * which comes before a device's), until it returns non-zero: that. */
int vfio_devs_each(int (*fn)(struct vfio_dev *d, void *priv), void *priv);
/* Rewrite the /sys view, if ioasid_vfio_sysfs() made one (sysfs.c). */
int vfio_sysfs_refresh(void);

/*
 * Bound: to a context, by a device or (mediated) an access.  Another of
 * the client's threads may bind the file while this one asks: binding
 * publishes the context last, so whoever sees it sees the rest.
 */
static inline bool vfio_file_bound(const struct vfio_file *vf)
{
	return __atomic_load_n(&vf->file.ctx, __ATOMIC_ACQUIRE) != NULL;
}

/*
 * Bind to ctx: 0 and the object the context knows the device by (not
 * yet published), or -errno (EINVAL when another file has it bound).
 */
int vfio_file_bind(struct vfio_file *vf, struct ioasid_ctx *ctx,
		   struct ioasid_object **obj);
/* Attach (or replace) at pasid (IOASID_NO_PASID: whole); detach. */
int vfio_file_attach(struct vfio_file *vf, uint32_t pasid, uint32_t *pt_id);
void vfio_file_detach(struct vfio_file *vf, uint32_t pasid);

/* The mediated path (mdev.c). */
int vfio_mdev_bind(struct vfio_file *vf, struct ioasid_ctx *ctx,
		   struct ioasid_object **obj);
void vfio_mdev_unbind(struct vfio_file *vf);
int vfio_mdev_attach(struct vfio_file *vf, uint32_t pt_id);
void vfio_mdev_detach(struct vfio_file *vf);
/* Interrupt setting (VFIO_DEVICE_SET_IRQS), once validated. */
int vfio_set_irqs(struct vfio_dev *dev, const struct vfio_irq_set *hdr,
		  const void *data, const int *efds);
/* A device file a group handed out is closed (group.c). */
void vfio_group_device_closed(struct vfio_group_file *gf);
/* ioasid_vfio_kvm_link() for a group's file; -EINVAL for any other. */
int vfio_group_kvm_link(struct ioasid_file *file, int add);

/* The function's MSI-X table as the routes say (without dev->lock). */
void vfio_msix_follow(struct vfio_dev *dev);
/* How many vectors an index has; 0 when the device has none. */
unsigned int vfio_irq_count(struct vfio_dev *dev, unsigned int index);
/* Region index's size and flags; -EINVAL for no such index. */
int vfio_region(struct vfio_dev *dev, unsigned int index, uint64_t *size,
		uint32_t *flags);

#endif
