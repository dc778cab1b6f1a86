/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/event.h"
#include "core/ioctl_desc.h"
#include "core/util.h"
#include "iommu/device.h"
#include "iommu/driver.h"
#include "ioasid/uapi/ioasid.h"
#include "vfio.h"

/*
 * Plugged devices, in index order.  Lock order: devs_lock, then a
 * device's lock.  A device unplugged while files of it are open is
 * `leaving`: found by nothing, freed when its last file closes.
 */
static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfio_dev *devs;

/* Device index, counted as one more file open (dev_put), or NULL. */
static struct vfio_dev *dev_get(int index)
{
	struct vfio_dev *d;

	pthread_mutex_lock(&devs_lock);
	for (d = devs; d && ((int)d->index != index || d->leaving); d = d->next)
		;
	if (d)
		d->files++;
	pthread_mutex_unlock(&devs_lock);
	return d;
}

/* Under devs_lock: take d out of the list. */
static void dev_unlink(struct vfio_dev *d)
{
	struct vfio_dev **link;

	for (link = &devs; *link != d; link = &(*link)->next)
		;
	*link = d->next;
}

static void dev_free(struct vfio_dev *d)
{
	pci_fn_destroy(d->fn);
	pthread_cond_destroy(&d->dma_idle);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static void dev_put(struct vfio_dev *d)
{
	bool gone;

	pthread_mutex_lock(&devs_lock);
	gone = !--d->files && d->leaving;
	if (gone)
		dev_unlink(d);
	pthread_mutex_unlock(&devs_lock);
	if (gone)
		dev_free(d);
}

int vfio_devs_each(int (*fn)(struct vfio_dev *d, void *priv), void *priv)
{
	int rc = 0;

	pthread_mutex_lock(&devs_lock);
	for (struct vfio_dev *d = devs; d && !rc; d = d->next)
		if (!d->leaving)
			rc = fn(d, priv);
	pthread_mutex_unlock(&devs_lock);
	return rc;
}

/* ---- interrupts -------------------------------------------------- */

static void efd_signal(int efd)
{
	uint64_t one = 1;

	if (efd >= 0)
		(void)!write(efd, &one, sizeof(one));
}

/* The function raised vector v of kind: to its event fd, if routed. */
static int dev_raise(void *priv, enum pci_irq_kind kind, unsigned int v)
{
	static const int index_of[] = {
		[PCI_IRQ_INTX] = VFIO_PCI_INTX_IRQ_INDEX,
		[PCI_IRQ_MSI] = VFIO_PCI_MSI_IRQ_INDEX,
		[PCI_IRQ_MSIX] = VFIO_PCI_MSIX_IRQ_INDEX,
	};
	struct vfio_dev *dev = priv;
	struct vfio_irq_index *ix = &dev->irqs[index_of[kind]];
	int rc = -EAGAIN;

	pthread_mutex_lock(&dev->lock);
	if (dev->irq_type == index_of[kind] && v < ix->count &&
	    ix->efds[v] >= 0) {
		/* INTx is level: masked once it fires, until unmasked. */
		if (kind == PCI_IRQ_INTX && dev->intx_masked) {
			dev->intx_pending = true;
		} else {
			if (kind == PCI_IRQ_INTX)
				dev->intx_masked = true;
			efd_signal(ix->efds[v]);
		}
		rc = 0;
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

unsigned int vfio_irq_count(struct vfio_dev *dev, unsigned int index)
{
	struct pci_fn *fn = dev->fn;
	uint16_t flags;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return fn->cfg[PCI_INTERRUPT_PIN] ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (!fn->msi_cap)
			return 0;
		pci_cfg_read(fn, fn->msi_cap + PCI_MSI_FLAGS, &flags, 2);
		return 1u << ((flags & PCI_MSI_FLAGS_QMASK) >> 1);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return fn->msix_vectors;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return fn->exp_cap ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}

/*
 * The device's own MSI-X table follows the routes, as the host kernel
 * programs it: a routed vector unmasked, any other masked.  Called
 * without dev->lock: unmasking may deliver a pending interrupt, which
 * takes it.
 */
void vfio_msix_follow(struct vfio_dev *dev)
{
	struct vfio_irq_index *ix = &dev->irqs[VFIO_PCI_MSIX_IRQ_INDEX];

	for (unsigned int v = 0; v < dev->fn->msix_vectors; v++) {
		bool masked;

		pthread_mutex_lock(&dev->lock);
		masked = dev->irq_type != VFIO_PCI_MSIX_IRQ_INDEX ||
			 v >= ix->count || ix->efds[v] < 0;
		pthread_mutex_unlock(&dev->lock);
		pci_fn_msix_mask(dev->fn, v, masked);
	}
}

/* Drop the routes of index ix (under dev->lock). */
static void routes_drop(struct vfio_irq_index *ix)
{
	for (unsigned int v = 0; v < ix->count; v++)
		if (ix->efds[v] >= 0)
			close(ix->efds[v]);
	free(ix->efds);
	ix->efds = NULL;
	ix->count = 0;
}

/* The function's interrupt kind as the routes say. */
static void irq_type_set(struct vfio_dev *dev, int type)
{
	dev->irq_type = type;
	pci_fn_set_msix(dev->fn, type == VFIO_PCI_MSIX_IRQ_INDEX);
	pci_fn_set_msi(dev->fn, type == VFIO_PCI_MSI_IRQ_INDEX);
	if (type != VFIO_PCI_INTX_IRQ_INDEX)
		dev->intx_masked = dev->intx_pending = false;
}

/* Grow index ix to n routes, new ones none. */
static int routes_grow(struct vfio_irq_index *ix, unsigned int n)
{
	int *efds;

	if (n <= ix->count)
		return 0;
	efds = realloc(ix->efds, n * sizeof(*efds));
	if (!efds)
		return -ENOMEM;
	for (unsigned int v = ix->count; v < n; v++)
		efds[v] = -1;
	ix->efds = efds;
	ix->count = n;
	return 0;
}

/*
 * One index's trigger.  efds (event fds of ours, -1: none, taken over)
 * come with DATA_EVENTFD; DATA_NONE and DATA_BOOL fire vectors, as if the
 * device had.
 */
static int set_trigger(struct vfio_dev *dev, const struct vfio_irq_set *hdr,
		       const uint8_t *bools, const int *efds)
{
	struct vfio_irq_index *ix = &dev->irqs[hdr->index];
	bool exclusive = hdr->index <= VFIO_PCI_MSIX_IRQ_INDEX;
	int rc;

	if (!hdr->count && (hdr->flags & VFIO_IRQ_SET_DATA_NONE)) {
		/* Off: the index's routes go. */
		routes_drop(ix);
		if (dev->irq_type == (int)hdr->index)
			irq_type_set(dev, -1);
		return 0;
	}
	if (!(hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD)) {
		if (exclusive && dev->irq_type != (int)hdr->index)
			return -EINVAL;
		for (unsigned int i = 0; i < hdr->count; i++)
			if (!bools || bools[i])
				if (hdr->start + i < ix->count)
					efd_signal(ix->efds[hdr->start + i]);
		return 0;
	}
	/* One kind at a time among INTx, MSI and MSI-X. */
	if (exclusive && dev->irq_type >= 0 && dev->irq_type != (int)hdr->index)
		return -EINVAL;
	rc = routes_grow(ix, hdr->start + hdr->count);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < hdr->count; i++) {
		int *slot = &ix->efds[hdr->start + i];

		if (*slot >= 0)
			close(*slot);
		*slot = efds[i];
	}
	if (exclusive && dev->irq_type != (int)hdr->index) {
		irq_type_set(dev, (int)hdr->index);
		dev->intx_masked = false;
	}
	return 0;
}

/* INTx unmasked (under dev->lock): one that waited fires now. */
static void intx_unmask(struct vfio_dev *dev)
{
	if (!dev->intx_masked)
		return;
	dev->intx_masked = false;
	if (dev->intx_pending) {
		dev->intx_pending = false;
		dev->intx_masked = true;
		efd_signal(dev->irqs[VFIO_PCI_INTX_IRQ_INDEX].efds[0]);
	}
}

/*
 * An event fd whose every signal unmasks INTx: the kernel's virqfd,
 * which KVM's resample fd drives on the guest's EOI.  A thread waits on
 * it, so the unmask needs no round trip; `stop` ends the thread.
 */
struct vfio_unmask_watch {
	struct vfio_dev *dev;
	int efd, stop;
	pthread_t thread;
};

static void *unmask_wait(void *arg)
{
	struct vfio_unmask_watch *w = arg;
	struct pollfd p[2] = { { .fd = w->efd, .events = POLLIN },
			       { .fd = w->stop, .events = POLLIN } };
	uint64_t n;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if ((p[0].revents & POLLIN) && read(w->efd, &n, 8) == 8) {
			pthread_mutex_lock(&w->dev->lock);
			intx_unmask(w->dev);
			pthread_mutex_unlock(&w->dev->lock);
		} else if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			break;
		}
	}
	return NULL;
}

/* A watch of efd (taken over), or -errno. */
static int unmask_watch_new(struct vfio_dev *dev, int efd,
			    struct vfio_unmask_watch **out)
{
	struct vfio_unmask_watch *w = calloc(1, sizeof(*w));
	int rc = -ENOMEM;

	if (!w)
		goto out_close;
	w->dev = dev;
	w->efd = efd;
	w->stop = eventfd(0, EFD_CLOEXEC);
	if (w->stop < 0) {
		rc = -errno;
		goto out_free;
	}
	rc = -pthread_create(&w->thread, NULL, unmask_wait, w);
	if (rc)
		goto out_stop;
	*out = w;
	return 0;

out_stop:
	close(w->stop);
out_free:
	free(w);
out_close:
	close(efd);
	return rc;
}

/* Stop and free a watch taken out from under dev->lock (which it takes). */
static void unmask_watch_stop(struct vfio_unmask_watch *w)
{
	if (!w)
		return;
	efd_signal(w->stop);
	pthread_join(w->thread, NULL);
	close(w->stop);
	close(w->efd);
	free(w);
}

/* Under dev->lock: the watch, if INTx is no longer in use, to stop. */
static struct vfio_unmask_watch *unmask_orphaned(struct vfio_dev *dev)
{
	struct vfio_unmask_watch *w = NULL;

	if (dev->irq_type != VFIO_PCI_INTX_IRQ_INDEX) {
		w = dev->unmask;
		dev->unmask = NULL;
	}
	return w;
}

/* INTx masking and unmasking (MASK / UNMASK), under dev->lock. */
static int set_intx_mask(struct vfio_dev *dev, const struct vfio_irq_set *hdr,
			 const uint8_t *bools, const int *efds,
			 struct vfio_unmask_watch **retired)
{
	uint32_t action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	if (dev->irq_type != VFIO_PCI_INTX_IRQ_INDEX)
		return -EINVAL;
	if (hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		/* vfio-pci masks through an event fd no more than we do. */
		if (action == VFIO_IRQ_SET_ACTION_MASK)
			return -ETIMEDOUT;
		/* -1 takes the fd away; the watch was made unlocked. */
		*retired = dev->unmask;
		dev->unmask = NULL;
		(void)efds;
		return 0;
	}
	if (!hdr->count || (bools && !bools[0]))
		return 0;
	if (action == VFIO_IRQ_SET_ACTION_MASK)
		dev->intx_masked = true;
	else
		intx_unmask(dev);
	return 0;
}

int vfio_set_irqs(struct vfio_dev *dev, const struct vfio_irq_set *hdr,
		  const void *data, const int *efds)
{
	uint32_t action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	const uint8_t *bools = hdr->flags & VFIO_IRQ_SET_DATA_BOOL ? data : NULL;
	int rc = 0;

	struct vfio_unmask_watch *fresh = NULL, *retired = NULL;
	bool unmask_fd = action == VFIO_IRQ_SET_ACTION_UNMASK &&
			 (hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD);

	/* A new unmask fd's watch, made before the lock its thread takes. */
	if (unmask_fd && hdr->index == VFIO_PCI_INTX_IRQ_INDEX &&
	    efds && efds[0] >= 0) {
		rc = unmask_watch_new(dev, efds[0], &fresh);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&dev->lock);
	if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
		rc = set_trigger(dev, hdr, bools, efds);
	} else if (hdr->index != VFIO_PCI_INTX_IRQ_INDEX) {
		/* vfio-pci masks only INTx. */
		rc = -ENOTTY;
	} else {
		rc = set_intx_mask(dev, hdr, bools, efds, &retired);
		if (!rc && fresh) {
			dev->unmask = fresh;
			fresh = NULL;
		}
	}
	if (!retired)
		retired = unmask_orphaned(dev);
	pthread_mutex_unlock(&dev->lock);
	unmask_watch_stop(retired);
	/* Refused: the watch goes, and the fd it took over with it. */
	unmask_watch_stop(fresh);
	if (unmask_fd)
		efds = NULL; /* taken over, by the watch or its end */
	if (!rc && action == VFIO_IRQ_SET_ACTION_TRIGGER)
		vfio_msix_follow(dev);
	/* Whatever trigger routes did not take over are ours to close. */
	if (rc && efds)
		for (unsigned int i = 0; i < hdr->count; i++)
			if (efds[i] >= 0)
				close(efds[i]);
	return rc;
}

/* ---- regions ----------------------------------------------------- */

int vfio_region(struct vfio_dev *dev, unsigned int index, uint64_t *size,
		uint32_t *flags)
{
	const struct pci_bar *bar;

	*flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		*size = PCI_CFG_SIZE;
		return 0;
	}
	if (index == VFIO_PCI_ROM_REGION_INDEX ||
	    index == VFIO_PCI_VGA_REGION_INDEX) {
		*size = 0;
		*flags = 0;
		return 0;
	}
	if (index >= PCI_NUM_BARS)
		return -EINVAL;
	bar = &dev->fn->bars[index];
	*size = bar->size;
	if (!bar->size)
		*flags = 0;
	else if (bar->size >= (uint64_t)getpagesize())
		*flags |= VFIO_REGION_INFO_FLAG_MMAP;
	return 0;
}

/* Region access at a file offset: bytes done, or -errno. */
static long region_rw(struct vfio_file *vf, void *buf, size_t count,
		      uint64_t off, bool write)
{
	unsigned int index = (unsigned int)(off >> VFIO_REGION_SHIFT);
	uint64_t at = off & ((1ULL << VFIO_REGION_SHIFT) - 1), size, end;
	struct pci_fn *fn = vf->dev->fn;
	uint32_t flags;
	int rc;

	if (!vfio_file_bound(vf))
		return -EINVAL;
	if (vfio_region(vf->dev, index, &size, &flags) ||
	    add_overflows_u64(at, count, &end) || end > size)
		return -EINVAL;
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		if (write)
			pci_cfg_write(fn, (uint32_t)at, buf, count);
		else
			pci_cfg_read(fn, (uint32_t)at, buf, count);
		return (long)count;
	}
	rc = write ? pci_bar_write(fn, index, at, buf, count) :
		     pci_bar_read(fn, index, at, buf, count);
	return rc ? rc : (long)count;
}

/* What read(2)/pread(2) of the file moves at most at once. */
#define RW_MAX (64u << 10)

static long file_prw(struct ioasid_file *file, const struct ioasid_caller *c,
		     uint64_t uptr, size_t count, uint64_t off, bool write)
{
	const struct ioasid_uaccess_ops *ua = c->uaccess;
	unsigned char *buf;
	long rc;

	count = MIN(count, (size_t)RW_MAX);
	buf = malloc(count ? count : 1);
	if (!buf)
		return -ENOMEM;
	rc = write ? ua->read(c->uaccess_priv, uptr, buf, count) : 0;
	if (!rc)
		rc = region_rw(vfio_file_of(file), buf, count, off, write);
	if (rc > 0 && !write &&
	    ua->write(c->uaccess_priv, uptr, buf, (size_t)rc))
		rc = -EFAULT;
	free(buf);
	return rc;
}

static long file_pread(struct ioasid_file *file, const struct ioasid_caller *c,
		       uint64_t uptr, size_t count, uint64_t off)
{
	return file_prw(file, c, uptr, count, off, false);
}

static long file_pwrite(struct ioasid_file *file, const struct ioasid_caller *c,
			uint64_t uptr, size_t count, uint64_t off)
{
	return file_prw(file, c, uptr, count, off, true);
}

/*
 * mmap(2) of a BAR: a descriptor of its memory, and where in it.  The
 * kernel maps only shared, whole pages of a region that allows it.
 */
static int file_mmap(struct ioasid_file *file, uint64_t off, uint64_t len,
		     int prot, int flags, uint64_t *fd_off, uint64_t *trap_len)
{
	struct vfio_file *vf = vfio_file_of(file);
	unsigned int index = (unsigned int)(off >> VFIO_REGION_SHIFT);
	uint64_t at = off & ((1ULL << VFIO_REGION_SHIFT) - 1), size, end;
	uint32_t rflags;
	int fd;

	(void)prot;
	if (!vfio_file_bound(vf))
		return -EINVAL;
	if (!(flags & MAP_SHARED) || vfio_region(vf->dev, index, &size, &rflags) ||
	    !(rflags & VFIO_REGION_INFO_FLAG_MMAP) || !len ||
	    (at | len) & ((uint64_t)getpagesize() - 1) ||
	    add_overflows_u64(at, len, &end) || end > size)
		return -EINVAL;
	fd = fcntl(vf->dev->fn->bars[index].memfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -ENOMEM;
	*fd_off = at;
	/* From the mapping's start: the registers that must trap. */
	*trap_len = vf->dev->fn->bars[index].trapped > at ?
			    MIN(vf->dev->fn->bars[index].trapped - at, len) :
			    0;
	return fd;
}

/* ---- binding ----------------------------------------------------- */

int vfio_file_bind(struct vfio_file *vf, struct ioasid_ctx *ctx,
		   struct ioasid_object **obj)
{
	struct vfio_dev *dev = vf->dev;
	const struct ioasid_device_factory *m =
		ioasid_device_factory_find(dev->iommu_model);
	struct ioasid_device *idev = NULL;
	int rc;

	if (!m)
		return -ENODEV;
	/* One file at a time: the cdev path has no safe way to share.  The
	 * claim is taken under the lock; the rest is done without it, as the
	 * engine takes a model's lock, which takes ours (vfio.h). */
	pthread_mutex_lock(&dev->lock);
	rc = vfio_file_bound(vf) || dev->bound ? -EINVAL : 0;
	if (!rc)
		dev->bound = vf;
	pthread_mutex_unlock(&dev->lock);
	if (rc)
		return rc;
	if (dev->mdev) {
		rc = vfio_mdev_bind(vf, ctx, obj);
	} else {
		rc = m->create(ctx, true, true, &idev);
		if (!rc)
			*obj = &idev->obj;
	}
	if (rc)
		goto out_unclaim;
	rc = pci_engine_add(dev->fn);
	if (rc)
		goto out_unbind;
	pci_fn_dma_stats(dev->fn, &vf->dma_at_bind);
	if (idev) {
		vf->idev = idev;
		pci_fn_set_dma(dev->fn, ioasid_device_dma_handle(idev));
	}
	ioasid_ctx_get(ctx);
	__atomic_store_n(&vf->file.ctx, ctx, __ATOMIC_RELEASE);
	return 0;

out_unbind:
	if (idev)
		ioasid_device_unbind(idev);
	else
		vfio_mdev_unbind(vf);
out_unclaim:
	pthread_mutex_lock(&dev->lock);
	dev->bound = NULL;
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int vfio_file_attach(struct vfio_file *vf, uint32_t pasid, uint32_t *pt_id)
{
	int rc;

	/* A mediated device has no PASIDs to attach. */
	if (vf->access)
		return pasid == IOASID_NO_PASID ? vfio_mdev_attach(vf, *pt_id) :
						  -EOPNOTSUPP;
	if (pasid != IOASID_NO_PASID && !vf->idev->max_pasid_log2)
		return -EINVAL;
	/* Attached already: this replaces it, as the kernel's does. */
	rc = ioasid_device_attach(vf->idev, pasid, pt_id);
	if (rc == -EBUSY)
		rc = ioasid_device_replace(vf->idev, pasid, pt_id);
	return rc;
}

void vfio_file_detach(struct vfio_file *vf, uint32_t pasid)
{
	if (vf->access) {
		if (pasid == IOASID_NO_PASID)
			vfio_mdev_detach(vf);
		return;
	}
	ioasid_device_detach(vf->idev, pasid);
}

/* What the device did while bound: whether DMA went anywhere, for
 * someone looking at the trace after a VM or a driver ran on it. */
static void say_dma(struct vfio_file *vf)
{
	const struct pci_dma_stats *b = &vf->dma_at_bind;
	struct pci_fn *fn = vf->dev->fn;
	struct pci_dma_stats now;

	pci_fn_dma_stats(fn, &now);
	ioasid_event("vfio%u %s %s: unbound; DMA while bound: reads %llu "
		     "(%llu bytes), writes %llu (%llu bytes), failures %llu",
		     vf->dev->index, fn->bdf, fn->model->name,
		     (unsigned long long)(now.reads - b->reads),
		     (unsigned long long)(now.read_bytes - b->read_bytes),
		     (unsigned long long)(now.writes - b->writes),
		     (unsigned long long)(now.write_bytes - b->write_bytes),
		     (unsigned long long)(now.errors - b->errors));
}

/* The bound file closes: interrupts off, the function reset, unbound. */
static void file_unbind(struct vfio_file *vf)
{
	struct vfio_dev *dev = vf->dev;
	struct vfio_unmask_watch *unmask;

	pci_engine_remove(dev->fn);
	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < VFIO_PCI_NUM_IRQS; i++)
		routes_drop(&dev->irqs[i]);
	irq_type_set(dev, -1);
	unmask = unmask_orphaned(dev);
	pci_fn_set_dma(dev->fn, NULL);
	dev->bound = NULL;
	pthread_mutex_unlock(&dev->lock);
	unmask_watch_stop(unmask);
	/* The reset masks every vector again. */
	pci_fn_reset(dev->fn);
	if (vf->access) {
		vfio_mdev_unbind(vf);
	} else {
		ioasid_device_unbind(vf->idev);
		vf->idev = NULL;
	}
	say_dma(vf);
}

static long file_ioctl(struct ioasid_file *file, const struct ioasid_caller *c,
		       unsigned int cmd, unsigned long arg)
{
	return ioasid_dispatch(IOASID_ON_VFIO_DEVICE, file,
			       __atomic_load_n(&file->ctx, __ATOMIC_ACQUIRE), c,
			       cmd, arg);
}

static void file_release(struct ioasid_file *file)
{
	struct vfio_file *vf = vfio_file_of(file);

	if (vfio_file_bound(vf))
		file_unbind(vf);
	if (vf->group)
		vfio_group_device_closed(vf->group);
	dev_put(vf->dev);
	free(vf);
}

static const struct ioasid_file_ops vfio_file_ops = {
	.name = "[vfio-device]",
	.release = file_release,
	.ioctl = file_ioctl,
	.pread = file_pread,
	.pwrite = file_pwrite,
	.mmap = file_mmap,
};

int ioasid_vfio_kvm_link(struct ioasid_file *file, int add)
{
	struct vfio_file *vf = vfio_file_of(file);
	int rc = 0;

	/* A VMM on the legacy path links the group. */
	if (file->ops != &vfio_file_ops)
		return vfio_group_kvm_link(file, add);
	pthread_mutex_lock(&vf->dev->lock);
	if (add && vf->kvm_linked)
		rc = -EEXIST;
	else if (!add && !vf->kvm_linked)
		rc = -ENOENT;
	else
		vf->kvm_linked = add;
	pthread_mutex_unlock(&vf->dev->lock);
	return rc;
}

int ioasid_vfio_open(int index, struct ioasid_file **out)
{
	struct vfio_dev *dev = dev_get(index);
	struct vfio_file *vf;

	if (!dev)
		return -ENODEV;
	vf = calloc(1, sizeof(*vf));
	if (!vf) {
		dev_put(dev);
		return -ENOMEM;
	}
	ioasid_file_init(&vf->file, &vfio_file_ops, NULL);
	vf->dev = dev;
	*out = &vf->file;
	return 0;
}

/* ---- plugging ---------------------------------------------------- */

/* "DDDD:BB:DD.F" or "BB:DD.F". */
static int parse_bdf(const char *s, uint16_t *domain, uint8_t *bus,
		     uint8_t *devfn)
{
	unsigned int d = 0, b, slot, f;
	int end = 0;

	if (sscanf(s, "%x:%x:%x.%u%n", &d, &b, &slot, &f, &end) != 4 ||
	    s[end]) {
		d = 0;
		end = 0;
		if (sscanf(s, "%x:%x.%u%n", &b, &slot, &f, &end) != 3 || s[end])
			return -EINVAL;
	}
	if (d > 0xffff || b > 0xff || slot > 31 || f > 7)
		return -EINVAL;
	*domain = (uint16_t)d;
	*bus = (uint8_t)b;
	*devfn = (uint8_t)(slot << 3 | f);
	return 0;
}

static bool slot_taken(uint16_t domain, uint8_t bus, uint8_t devfn)
{
	for (struct vfio_dev *d = devs; d; d = d->next)
		if (d->fn->domain == domain && d->fn->bus == bus &&
		    d->fn->devfn == devfn)
			return true;
	return false;
}

/*
 * The spec's own keys (bdf=, iommu=, group=) taken out; the rest, in
 * order, is the model's.
 */
struct plug_spec {
	char model[32];
	char rest[256];
	bool have_bdf, have_group, mdev;
	uint16_t domain;
	uint8_t bus, devfn;
	uint32_t iommu;
	unsigned int group;
};

static int parse_spec(const char *spec, struct plug_spec *ps)
{
	char copy[512], *save = NULL, *tok;
	size_t used = 0;

	if (strlen(spec) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, spec);
	*ps = (struct plug_spec){ .iommu = IOASID_DEVICE_VTD };
	tok = strtok_r(copy, ",", &save);
	if (!tok || strlen(tok) >= sizeof(ps->model))
		return -EINVAL;
	strcpy(ps->model, tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		unsigned long v;
		char *end;

		if (!strncmp(tok, "bdf=", 4)) {
			if (parse_bdf(tok + 4, &ps->domain, &ps->bus, &ps->devfn))
				return -EINVAL;
			ps->have_bdf = true;
		} else if (!strncmp(tok, "iommu=", 6)) {
			if (!strcmp(tok + 6, "vtd"))
				ps->iommu = IOASID_DEVICE_VTD;
			else if (!strcmp(tok + 6, "mock"))
				ps->iommu = IOASID_DEVICE_MOCK;
			else
				return -EINVAL;
		} else if (!strncmp(tok, "group=", 6)) {
			v = strtoul(tok + 6, &end, 10);
			if (!tok[6] || *end || v > 1000000)
				return -EINVAL;
			ps->group = (unsigned int)v;
			ps->have_group = true;
		} else if (!strncmp(tok, "mdev=", 5)) {
			/* A mediated device: the software path only. */
			if (strcmp(tok + 5, "0") && strcmp(tok + 5, "1"))
				return -EINVAL;
			ps->mdev = tok[5] == '1';
		} else {
			int n = snprintf(ps->rest + used, sizeof(ps->rest) - used,
					 "%s%s", used ? "," : "", tok);

			if (n < 0 || (size_t)n >= sizeof(ps->rest) - used)
				return -EINVAL;
			used += (size_t)n;
		}
	}
	return 0;
}

int ioasid_vfio_plug(const char *spec)
{
	struct vfio_dev *dev, **link;
	struct plug_spec ps;
	unsigned int index = 0;
	int rc;

	rc = parse_spec(spec, &ps);
	if (rc)
		return rc;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	pthread_mutex_lock(&devs_lock);
	/* Without a slot asked for, the first free one from 00:04.0. */
	if (!ps.have_bdf) {
		ps.devfn = 4 << 3;
		while (ps.devfn < 0xf8 && slot_taken(0, 0, ps.devfn))
			ps.devfn += 8;
	}
	if (slot_taken(ps.domain, ps.bus, ps.devfn)) {
		rc = -EEXIST;
		goto out_unlock;
	}
	for (link = &devs; *link && (*link)->index == index;
	     link = &(*link)->next)
		index++;
	rc = pci_fn_create(ps.model, ps.rest[0] ? ps.rest : NULL, ps.domain,
			   ps.bus, ps.devfn, &dev->fn);
	if (rc)
		goto out_unlock;
	dev->index = index;
	dev->iommu_model = ps.iommu;
	/* A group of its own unless told to share. */
	dev->group = ps.have_group ? ps.group : index;
	dev->irq_type = -1;
	dev->mdev = ps.mdev;
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->dma_idle, NULL);
	pci_fn_set_irq_sink(dev->fn, &(struct pci_irq_sink){
		.raise = dev_raise, .priv = dev });
	dev->next = *link;
	*link = dev;
	pthread_mutex_unlock(&devs_lock);
	/* Once /sys is shown, a device is there for programs when it shows
	 * in it: else it goes again. */
	rc = vfio_sysfs_refresh();
	if (rc) {
		ioasid_vfio_unplug((int)index);
		return rc;
	}
	return (int)index;

out_unlock:
	pthread_mutex_unlock(&devs_lock);
	free(dev);
	return rc;
}

int ioasid_vfio_unplug(int index)
{
	struct vfio_dev *d;
	int rc = 0;

	pthread_mutex_lock(&devs_lock);
	for (d = devs; d && ((int)d->index != index || d->leaving); d = d->next)
		;
	if (!d) {
		pthread_mutex_unlock(&devs_lock);
		return -ENODEV;
	}
	d->leaving = true;
	if (!d->files) {
		dev_unlink(d);
	} else {
		/* Held: ask the holder to let go, as vfio-pci asks through
		 * the request interrupt; it goes when its last file does. */
		struct vfio_irq_index *req = &d->irqs[VFIO_PCI_REQ_IRQ_INDEX];

		pthread_mutex_lock(&d->lock);
		if (req->count && req->efds[0] >= 0)
			efd_signal(req->efds[0]);
		pthread_mutex_unlock(&d->lock);
		rc = -EINPROGRESS;
	}
	pthread_mutex_unlock(&devs_lock);
	if (!rc)
		dev_free(d);
	/* Gone from /sys at once; what cannot be rewritten stays stale. */
	(void)vfio_sysfs_refresh();
	return rc;
}
