/* SPDX-License-Identifier: MIT */
/*
 * DMA through translation.  A device's access goes to the domain attached
 * at its PASID (found without locks), through the device's IOTLB or a walk
 * of the page table, to the frame of memory behind the address.  All of it
 * inside one RCU read-side section: an unmap waits for the section to end
 * before it unpins, so a DMA sees the mapping whole or not at all, and
 * never memory that has been given back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "device.h"
#include "domain.h"
#include "fault.h"
#include "hwpt.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/iommufd.h"
#include "pages/frame.h"

/* (device, PASID) -> attachment, for every PASID attachment there is. */
static struct cds_lfht *pasid_table;
static pthread_once_t pasid_table_once = PTHREAD_ONCE_INIT;

static void pasid_table_init(void)
{
	pasid_table = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE, NULL);
}

static unsigned long pasid_hash(const struct ioasid_device *dev,
				uint32_t pasid)
{
	uint64_t h = (uintptr_t)dev * 0x9e3779b97f4a7c15ULL;

	h ^= pasid * 0xbf58476d1ce4e5b9ULL;
	return (unsigned long)(h ^ (h >> 29));
}

struct pasid_key {
	const struct ioasid_device *dev;
	uint32_t pasid;
};

static int pasid_match(struct cds_lfht_node *node, const void *key)
{
	const struct ioasid_attach *a =
		caa_container_of(node, struct ioasid_attach, node);
	const struct pasid_key *k = key;

	return a->dev == k->dev && a->pasid == k->pasid;
}

int ioasid_dma_publish(struct ioasid_device *dev, struct ioasid_attach *a,
		       struct ioasid_domain *domain, bool is_new)
{
	atomic_store(&a->domain, domain);
	if (a->pasid == IOASID_NO_PASID) {
		atomic_store(&dev->whole_domain, domain);
		return 0;
	}
	if (!is_new)
		return 0;
	pthread_once(&pasid_table_once, pasid_table_init);
	if (!pasid_table)
		return -ENOMEM;
	cds_lfht_node_init(&a->node);
	urcu_bp_read_lock();
	cds_lfht_add(pasid_table, pasid_hash(dev, a->pasid), &a->node);
	urcu_bp_read_unlock();
	return 0;
}

void ioasid_dma_unpublish(struct ioasid_device *dev, struct ioasid_attach *a)
{
	atomic_store(&a->domain, NULL);
	if (a->pasid == IOASID_NO_PASID) {
		atomic_store(&dev->whole_domain, NULL);
		return;
	}
	urcu_bp_read_lock();
	cds_lfht_del(pasid_table, &a->node);
	urcu_bp_read_unlock();
}

/* Inside a read-side section. */
static struct ioasid_domain *dma_domain(struct ioasid_device *dev,
					uint32_t pasid)
{
	struct pasid_key key = { .dev = dev, .pasid = pasid };
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	if (pasid == IOASID_NO_PASID)
		return atomic_load_explicit(&dev->whole_domain,
					    memory_order_acquire);
	if (!pasid_table)
		return NULL;
	cds_lfht_lookup(pasid_table, pasid_hash(dev, pasid), pasid_match,
			&key, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (!node)
		return NULL;
	return atomic_load_explicit(
		&caa_container_of(node, struct ioasid_attach, node)->domain,
		memory_order_acquire);
}

/*
 * A read through a table of 4 KiB leaves that make one row over one run
 * of our own memory (memory mapped at an IOVA aligned otherwise than its
 * address, as a guest's RAM can be) is cached as the 2 MiB block, whose
 * entry then starts at an unaligned address.  Not a write, which walks
 * to its own leaf to mark it dirty.  The row and its memory are looked
 * over once, then trusted until a leaf of the table changes (pt.c); the
 * memory stays where it was for as long, since the page sets behind the
 * leaves hold it until their IOVAs' unmap.
 */
static void row_block(struct ioasid_domain *s2, uint64_t iova,
		      struct iotlb_hit *hit)
{
	const uint64_t pages = (1ull << IOTLB_HUGE_SHIFT) >> IOASID_PAGE_SHIFT;
	uint64_t row_pa;
	bool known;
	void *host;

	if (pt_leaf_row(&s2->pt, iova, &row_pa, &known))
		return;
	host = known ? ioasid_frame_host(row_pa >> IOASID_PAGE_SHIFT) :
		       ioasid_frame_host_run(row_pa >> IOASID_PAGE_SHIFT,
					     pages);
	if (!host)
		return;
	if (!known)
		pt_leaf_row_confirm(&s2->pt, iova, row_pa);
	hit->shift = IOTLB_HUGE_SHIFT;
	hit->pa = row_pa;
	hit->host = host;
}

/* A miss: walk the table, and cache what was found. */
static __attribute__((noinline)) int
translate_walk(struct ioasid_device *dev, struct ioasid_domain *s2,
	       uint32_t pasid, uint64_t iova, bool write, unsigned int dirty_gen,
	       uint64_t *pa, void **host, uint64_t *avail)
{
	const uint64_t huge = 1ull << IOTLB_HUGE_SHIFT;
	uint64_t inv_gen = atomic_load(&s2->inv_gen), off;
	struct pt_translation t;
	struct iotlb_hit hit;
	int rc;

	rc = pt_translate(&s2->pt, iova, write, &t);
	if (rc)
		return rc;
	hit = (struct iotlb_hit){
		.shift = IOTLB_SMALL_SHIFT,
		.prot = t.prot,
		.dirty = write,
		.dirty_gen = dirty_gen,
	};
	/* A leaf of 2 MiB or more, whose block is one run of our own
	 * memory, is cached as the block. */
	if (t.leaf_size >= huge) {
		uint64_t block_pa = t.pa & ~(huge - 1);

		hit.host = ioasid_frame_host_run(block_pa >> IOASID_PAGE_SHIFT,
						 huge >> IOASID_PAGE_SHIFT);
		if (hit.host) {
			hit.shift = IOTLB_HUGE_SHIFT;
			hit.pa = block_pa;
		}
	}
	if (hit.shift == IOTLB_SMALL_SHIFT) {
		hit.pa = t.pa & ~(uint64_t)(IOASID_PAGE_SIZE - 1);
		hit.host = ioasid_frame_host(t.pa >> IOASID_PAGE_SHIFT);
		/* Our own page in a table of 4 KiB leaves: see row_block(). */
		if (hit.host && !write &&
		    pt_level_shift(s2->pt.fmt, 1) == IOTLB_HUGE_SHIFT)
			row_block(s2, iova, &hit);
	}
	iotlb_fill(&dev->iotlb, pasid, s2, iova, &hit, &s2->inv_gen, inv_gen);
	off = iova & ((1ull << hit.shift) - 1);
	*pa = hit.pa + off;
	*host = hit.host ? (char *)hit.host + off : NULL;
	*avail = (1ull << hit.shift) - off;
	return 0;
}

/*
 * The physical address of iova, and where it is in this process (or
 * NULL), from the IOTLB when it can say, else by a walk (which sets the
 * accessed and dirty bits).  Entries are tagged with the stage-2 domain,
 * whose unmaps invalidate them; the mock's nested stage 1 is the
 * identity.  *avail is how far on from iova the translation holds (to
 * the end of its page, or of its 2 MiB block).  Inline: a hit is the
 * whole of a hot translation.
 */
static inline int translate(struct ioasid_device *dev,
			    struct ioasid_domain *dom, uint32_t pasid,
			    uint64_t iova, bool write, uint64_t *pa, void **host,
			    uint64_t *avail)
{
	struct ioasid_domain *s2 = ioasid_domain_s2(dom);
	unsigned int dirty_gen = atomic_load(&s2->dirty_gen);
	struct iotlb_hit hit;
	uint64_t off;

	if (iotlb_lookup(&dev->iotlb, pasid, s2, iova, &hit)) {
		if (!(hit.prot & (write ? PT_PROT_WRITE : PT_PROT_READ)))
			return -EPERM;
		/* A write may skip the walk only if it would not set the
		 * dirty bit: it is set, and has not been cleared since. */
		if (!write || (hit.dirty && hit.dirty_gen == dirty_gen)) {
			off = iova & ((1ull << hit.shift) - 1);
			*pa = hit.pa + off;
			*host = hit.host ? (char *)hit.host + off : NULL;
			*avail = (1ull << hit.shift) - off;
			return 0;
		}
	}
	return translate_walk(dev, s2, pasid, iova, write, dirty_gen, pa, host,
			      avail);
}

/*
 * A DMA that missed (nothing mapped, or not with its permission): where
 * the HWPT it went through has a fault queue, a page request goes there,
 * one group of its own, as a device with PRI sends one.  The device does
 * not wait for the answer; it has its error already.  Taken after the
 * walk's RCU section, since the device's lock is held across grace
 * periods elsewhere.
 */
static void dma_fault(struct ioasid_device *dev, uint32_t pasid, uint64_t iova,
		      bool write)
{
	/* Page request group indexes are 9 bits. */
	static _Atomic uint32_t next_group;
	struct ioasid_hwpt *hwpt;

	pthread_mutex_lock(&dev->lock);
	hwpt = ioasid_device_attached_locked(dev, pasid);
	if (hwpt && hwpt->fault)
		(void)ioasid_fault_report(hwpt->fault, dev, pasid,
					  atomic_fetch_add(&next_group, 1) & 0x1ff,
					  write ? IOMMU_PGFAULT_PERM_WRITE :
						  IOMMU_PGFAULT_PERM_READ,
					  iova & ~(uint64_t)(IOASID_PAGE_SIZE - 1));
	pthread_mutex_unlock(&dev->lock);
}

int ioasid_device_dma(struct ioasid_device *dev, uint32_t pasid,
		      uint64_t iova, void *buf, size_t len, bool write)
{
	struct ioasid_domain *dom;
	char *run = NULL; /* our own memory, contiguous so far */
	size_t run_len = 0;
	char *done = buf;  /* buf up to here is copied */
	int rc = 0;

	ioasid_rcu_read_lock();
	dom = dma_domain(dev, pasid);
	if (!dom)
		rc = -ENXIO;
	while (!rc && len) {
		uint64_t pa, avail;
		size_t n;
		void *host;

		rc = translate(dev, dom, pasid, iova, write, &pa, &host, &avail);
		if (rc)
			break;
		/* Our own memory is copied as far as the translation holds,
		 * and runs of it that follow each other in one go; any
		 * other memory a page at a time, through whoever holds it. */
		n = MIN(len, host ? avail :
				    IOASID_PAGE_SIZE -
					    (iova & (IOASID_PAGE_SIZE - 1)));
		if (host && run && run + run_len == host) {
			run_len += n;
		} else {
			if (run) {
				if (write)
					memcpy(run, done, run_len);
				else
					memcpy(done, run, run_len);
				done += run_len;
			}
			run = host;
			run_len = n;
			if (!host) {
				rc = ioasid_frame_rw(pa, done, n, write);
				done += n;
				run_len = 0;
			}
		}
		len -= n;
		iova += n;
		if (len && !iova)
			rc = -ENOENT; /* past the top of the IOVA space */
	}
	if (run && run_len) {
		if (write)
			memcpy(run, done, run_len);
		else
			memcpy(done, run, run_len);
	}
	ioasid_rcu_read_unlock();
	if (rc == -ENOENT || rc == -EPERM)
		dma_fault(dev, pasid, iova, write);
	return rc;
}

/* The largest DMA one IOASID_DEVICE_DMA moves. */
#define DMA_IOCTL_MAX (16u << 20)

long ioasid_device_dma_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_device_dma *cmd = u->cmd;
	bool write = cmd->flags & IOASID_DMA_WRITE;
	uint32_t pasid = IOASID_NO_PASID;
	struct ioasid_device *dev;
	uint64_t end;
	void *buf;
	int rc;

	if (cmd->flags & ~(IOASID_DMA_WRITE | IOASID_DMA_PASID))
		return -EOPNOTSUPP;
	if (cmd->flags & IOASID_DMA_PASID) {
		if (cmd->pasid == IOASID_NO_PASID)
			return -EINVAL;
		pasid = cmd->pasid;
	} else if (cmd->pasid) {
		return -EINVAL;
	}
	if (cmd->length > DMA_IOCTL_MAX)
		return -EINVAL;
	if (add_overflows_u64(cmd->iova, cmd->length, &end) ||
	    add_overflows_u64(cmd->uptr, cmd->length, &end))
		return -EOVERFLOW;
	rc = ioasid_device_get(u->ctx, cmd->dev_id, &dev);
	if (rc)
		return rc;
	buf = malloc(cmd->length ? cmd->length : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (write)
		rc = ucmd_read(u, cmd->uptr, buf, cmd->length);
	if (!rc)
		rc = ioasid_device_dma(dev, pasid, cmd->iova, buf, cmd->length,
				       write);
	if (!rc && !write)
		rc = ucmd_write(u, cmd->uptr, buf, cmd->length);
	free(buf);
out_put:
	ioasid_device_put(u->ctx, dev);
	return rc;
}

struct ioasid_dev {
	struct ioasid_device dev; /* the handle is the device itself */
};

int ioasid_dev_get(struct ioasid_ctx *ctx, uint32_t dev_id,
		   struct ioasid_dev **out)
{
	struct ioasid_device *dev;
	int rc;

	rc = ioasid_device_get(ctx, dev_id, &dev);
	if (rc)
		return rc;
	/* A structural reference: DESTROY says EBUSY rather than waiting.
	 * A driver's own device may be unbound at any time: no handle. */
	if (dev->owned)
		rc = -EPERM;
	else if (!ioasid_obj_users_tryinc(&dev->obj))
		rc = -ENOENT;
	ioasid_device_put(ctx, dev);
	if (!rc)
		*out = (struct ioasid_dev *)dev;
	return rc;
}

struct ioasid_dev *ioasid_device_dma_handle(struct ioasid_device *dev)
{
	return (struct ioasid_dev *)dev;
}

void ioasid_dev_put(struct ioasid_dev *handle)
{
	ioasid_obj_users_dec(&handle->dev.obj);
}

void ioasid_dma_begin(void)
{
	ioasid_rcu_read_lock();
}

void ioasid_dma_end(void)
{
	ioasid_rcu_read_unlock();
}

int ioasid_dma_translate(struct ioasid_dev *handle, uint32_t pasid,
			 uint64_t iova, int write, void **host)
{
	struct ioasid_device *dev = &handle->dev;
	struct ioasid_domain *dom = dma_domain(dev, pasid);
	uint64_t pa, avail;
	int rc;

	if (!dom)
		return -ENXIO;
	rc = translate(dev, dom, pasid, iova, write, &pa, host, &avail);
	if (!rc && !*host)
		rc = -EFAULT;
	return rc;
}

int ioasid_dev_dma(struct ioasid_dev *handle, uint32_t pasid, uint64_t iova,
		   void *buf, size_t len, int write)
{
	return ioasid_device_dma(&handle->dev, pasid, iova, buf, len, write);
}

struct pt *ioasid_dev_pt(struct ioasid_dev *handle)
{
	struct ioasid_domain *dom = dma_domain(&handle->dev, IOASID_NO_PASID);

	return dom ? &ioasid_domain_s2(dom)->pt : NULL;
}

static int dma_by_id(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
		     uint64_t iova, void *buf, size_t len, bool write)
{
	struct ioasid_device *dev;
	int rc;

	rc = ioasid_device_get(ctx, dev_id, &dev);
	if (rc)
		return rc;
	rc = ioasid_device_dma(dev, pasid, iova, buf, len, write);
	ioasid_device_put(ctx, dev);
	return rc;
}

int ioasid_dma_read(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
		    uint64_t iova, void *buf, size_t len)
{
	return dma_by_id(ctx, dev_id, pasid, iova, buf, len, false);
}

int ioasid_dma_write(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t pasid,
		     uint64_t iova, const void *buf, size_t len)
{
	return dma_by_id(ctx, dev_id, pasid, iova, (void *)buf, len, true);
}
