/* SPDX-License-Identifier: MIT */
/*
 * Mediated devices: a function plugged with mdev=1 (a DSA work queue, as
 * the idxd mdev of the design threads) has no IOMMU domain of its own.
 * Binding makes an access in the context instead of a device, attaching
 * attaches that access to an IOAS, and the function's DMA goes by the
 * software path only: each transfer pins its pages by IOVA, reads or
 * writes them by IOVA, and unpins.  When an unmap asks the access to let
 * go of a range, the IOAS has already closed it to new pins; the answer
 * waits for the transfers in flight, which end (unpinning) or fault, and
 * the device then sees the range as gone, as a vfio_pin_pages user whose
 * dma_unmap callback waits out its DMA.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/context.h"
#include "core/util.h"
#include "iommu/access.h"
#include "vfio.h"

#define MDEV_PAGE 4096ULL

/* The function's DMA, by the access bound now (or none: -EIO). */
static int mdev_rw(void *priv, uint32_t pasid, uint64_t iova, void *buf,
		   size_t len, bool write)
{
	struct vfio_dev *dev = priv;
	unsigned int flags = write ? IOASID_ACCESS_RW_WRITE : 0;
	struct ioasid_access *access;
	uint64_t start, end;
	int rc;

	/* A queue of a mediated device has no PASIDs of its own. */
	if (pasid || !len)
		return pasid ? -EIO : 0;
	if (add_overflows_u64(iova, len, &end))
		return -EFAULT;
	start = iova & ~(MDEV_PAGE - 1);
	end = (end + MDEV_PAGE - 1) & ~(MDEV_PAGE - 1);
	pthread_mutex_lock(&dev->lock);
	access = dev->access;
	if (access)
		dev->dma_inflight++;
	pthread_mutex_unlock(&dev->lock);
	if (!access)
		return -EIO;
	rc = ioasid_access_pin_pages(access, start, end - start, flags, NULL);
	if (!rc) {
		rc = ioasid_access_rw(access, iova, buf, len, flags);
		ioasid_access_unpin_pages(access, start, end - start);
	}
	pthread_mutex_lock(&dev->lock);
	if (!--dev->dma_inflight)
		pthread_cond_broadcast(&dev->dma_idle);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

/* An unmap asks: new pins there fail already; wait out those in flight. */
static void mdev_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct vfio_dev *dev = data;

	(void)iova;
	(void)length;
	pthread_mutex_lock(&dev->lock);
	while (dev->dma_inflight)
		pthread_cond_wait(&dev->dma_idle, &dev->lock);
	pthread_mutex_unlock(&dev->lock);
}

static const struct ioasid_access_ops mdev_access_ops = {
	.needs_pin_pages = true,
	.unmap = mdev_unmap,
};

int vfio_mdev_bind(struct vfio_file *vf, struct ioasid_ctx *ctx,
		   struct ioasid_object **obj)
{
	struct vfio_dev *dev = vf->dev;
	struct ioasid_access *access;
	int rc;

	rc = ioasid_access_create(ctx, &mdev_access_ops, dev, &access);
	if (rc)
		return rc;
	pthread_mutex_lock(&dev->lock);
	dev->access = access;
	pthread_mutex_unlock(&dev->lock);
	dev->path = (struct pci_dma_path){ .rw = mdev_rw, .priv = dev };
	pci_fn_set_dma_path(dev->fn, &dev->path);
	vf->access = access;
	*obj = &access->obj;
	return 0;
}

void vfio_mdev_unbind(struct vfio_file *vf)
{
	struct vfio_dev *dev = vf->dev;

	pci_fn_set_dma_path(dev->fn, NULL);
	/* DMA from here finds no access; what is in flight ends first. */
	pthread_mutex_lock(&dev->lock);
	dev->access = NULL;
	while (dev->dma_inflight)
		pthread_cond_wait(&dev->dma_idle, &dev->lock);
	pthread_mutex_unlock(&dev->lock);
	ioasid_access_destroy(vf->access);
	vf->access = NULL;
}

int vfio_mdev_attach(struct vfio_file *vf, uint32_t pt_id)
{
	int rc = ioasid_access_attach(vf->access, pt_id);

	/* Attached already: this moves it, as the kernel's does. */
	if (rc == -EINVAL)
		rc = ioasid_access_replace(vf->access, pt_id);
	return rc;
}

void vfio_mdev_detach(struct vfio_file *vf)
{
	ioasid_access_detach(vf->access);
}
