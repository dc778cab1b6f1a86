/* SPDX-License-Identifier: MIT */
/*
 * The ioctls of a VFIO device file, with vfio-pci's argsz, flags and
 * errno rules.  Until the file is bound (VFIO_DEVICE_BIND_IOMMUFD) every
 * other one is EINVAL, as the kernel's cdev path says.
 */
#include <errno.h>
#include <stddef.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/util.h"
#include "iommu/access.h"
#include "iommu/device.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/ioasid.h"
#include "vfio.h"

/* A bound file's, or EINVAL. */
static int bound(const struct ioasid_ucmd *u, struct vfio_file **out)
{
	struct vfio_file *vf = vfio_ucmd_file(u);

	if (!vfio_file_bound(vf))
		return -EINVAL;
	*out = vf;
	return 0;
}

long ioasid_vfio_device_bind(struct ioasid_ucmd *u)
{
	struct vfio_device_bind_iommufd *cmd = u->cmd;
	const struct ioasid_uaccess_ops *ua = u->caller->uaccess;
	struct vfio_file *vf = vfio_ucmd_file(u);
	struct ioasid_object *obj;
	struct ioasid_ctx *ctx;
	int rc;

	if (cmd->iommufd < 0)
		return -EINVAL;
	/* A token is for virtual functions; ours have none. */
	if (cmd->flags & VFIO_DEVICE_BIND_FLAG_TOKEN)
		return -EINVAL;
	if (vfio_file_bound(vf))
		return -EINVAL;
	if (!ua->get_ctx)
		return -EBADF;
	rc = ua->get_ctx(u->caller->uaccess_priv, cmd->iommufd, &ctx);
	if (rc)
		return rc;
	rc = vfio_file_bind(vf, ctx, &obj);
	if (rc)
		return rc;
	/* Published in that context once the answer is out. */
	u->ctx = ctx;
	u->new_obj = obj;
	cmd->out_devid = obj->id;
	return ucmd_respond(u, sizeof(*cmd));
}

/*
 * The PASID a PASID-flagged attach or detach names: past the mandatory
 * part, so argsz must reach it, as vfio-pci asks; and never "none".
 * 0 or -errno.
 */
static int flagged_pasid(struct ioasid_ucmd *u, size_t at, uint32_t *pasid)
{
	int rc;

	if (u->user_size < at + sizeof(*pasid))
		return -EINVAL;
	rc = ucmd_read(u, u->ubuffer + at, pasid, sizeof(*pasid));
	return rc ? rc : *pasid == IOASID_NO_PASID ? -EINVAL : 0;
}

long ioasid_vfio_device_attach(struct ioasid_ucmd *u)
{
	struct vfio_device_attach_iommufd_pt *cmd = u->cmd;
	bool pasid = cmd->flags & VFIO_DEVICE_ATTACH_PASID;
	struct vfio_file *vf;
	uint32_t pt_id = cmd->pt_id;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	if (pasid) {
		rc = flagged_pasid(u, offsetof(typeof(*cmd), pasid), &cmd->pasid);
		if (rc)
			return rc;
	}
	rc = vfio_file_attach(vf, pasid ? cmd->pasid : IOASID_NO_PASID, &pt_id);
	if (rc)
		return rc;
	/* Only pt_id goes back, as vfio-pci writes it alone. */
	return ucmd_write(u, u->ubuffer + offsetof(typeof(*cmd), pt_id), &pt_id,
			  sizeof(pt_id));
}

long ioasid_vfio_device_detach(struct ioasid_ucmd *u)
{
	struct vfio_device_detach_iommufd_pt *cmd = u->cmd;
	bool pasid = cmd->flags & VFIO_DEVICE_DETACH_PASID;
	struct vfio_file *vf;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	if (pasid) {
		rc = flagged_pasid(u, offsetof(typeof(*cmd), pasid), &cmd->pasid);
		if (rc)
			return rc;
	}
	if (pasid && vf->access)
		return -EOPNOTSUPP;
	if (pasid && !vf->idev->max_pasid_log2)
		return -EINVAL;
	vfio_file_detach(vf, pasid ? cmd->pasid : IOASID_NO_PASID);
	return 0;
}

long ioasid_vfio_device_get_info(struct ioasid_ucmd *u)
{
	struct vfio_device_info *cmd = u->cmd;
	struct vfio_file *vf;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	cmd->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	cmd->num_regions = VFIO_PCI_NUM_REGIONS;
	cmd->num_irqs = VFIO_PCI_NUM_IRQS;
	cmd->cap_offset = 0;
	return ucmd_respond(u, sizeof(*cmd));
}

/* A region's capability chain, built before it is sized against argsz. */
struct cap_chain {
	uint8_t buf[64];
	size_t len;
	size_t last; /* where the last capability begins, + 1; 0: none */
};

static void cap_add(struct cap_chain *c, const void *cap, size_t size)
{
	/* Links count from the start of the region info. */
	uint32_t at = (uint32_t)(sizeof(struct vfio_region_info) + c->len);

	if (c->last)
		memcpy(c->buf + c->last - 1 +
			       offsetof(struct vfio_info_cap_header, next),
		       &at, sizeof(at));
	memcpy(c->buf + c->len, cap, size);
	c->last = c->len + 1;
	c->len += (size + 7) & ~(size_t)7;
}

/*
 * A BAR's capabilities: where part of it holds registers the model must
 * see each write to, only the rest may be mapped (a VMM then traps the
 * guest's accesses there and sends them as region access); the BAR with
 * the MSI-X table says that table may be mapped all the same.
 */
static void bar_caps(struct pci_fn *fn, unsigned int index, uint64_t size,
		     struct cap_chain *c)
{
	const struct pci_bar *bar = &fn->bars[index];

	if (bar->trapped) {
		struct {
			struct vfio_region_info_cap_sparse_mmap s;
			struct vfio_region_sparse_mmap_area area;
		} sparse = {
			.s = { .header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP,
					   .version = 1 },
			       .nr_areas = bar->trapped < size },
			.area = { .offset = bar->trapped,
				  .size = size - bar->trapped },
		};

		cap_add(c, &sparse, sizeof(sparse.s) +
				    sparse.s.nr_areas * sizeof(sparse.area));
	}
	if (fn->msix_cap && index == (fn->cfg[fn->msix_cap + 4] & 7u)) {
		struct vfio_info_cap_header msix = {
			.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, .version = 1,
		};

		cap_add(c, &msix, sizeof(msix));
	}
}

long ioasid_vfio_device_get_region_info(struct ioasid_ucmd *u)
{
	struct vfio_region_info *cmd = u->cmd;
	struct cap_chain caps = { .len = 0 };
	struct vfio_file *vf;
	uint64_t size;
	uint32_t flags;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	if (vfio_region(vf->dev, cmd->index, &size, &flags))
		return -EINVAL;
	cmd->size = size;
	cmd->offset = (uint64_t)cmd->index << VFIO_REGION_SHIFT;
	cmd->flags = flags;
	cmd->cap_offset = 0;
	if (cmd->index < PCI_NUM_BARS && size)
		bar_caps(vf->dev->fn, cmd->index, size, &caps);
	if (caps.len) {
		cmd->flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (u->user_size >= sizeof(*cmd) + caps.len) {
			cmd->cap_offset = sizeof(*cmd);
			rc = ucmd_write(u, u->ubuffer + sizeof(*cmd), caps.buf,
					caps.len);
			if (rc)
				return rc;
		} else {
			/* Too small for the chain: say how large to ask. */
			cmd->argsz = (uint32_t)(sizeof(*cmd) + caps.len);
		}
	}
	return ucmd_respond(u, sizeof(*cmd));
}

long ioasid_vfio_device_get_irq_info(struct ioasid_ucmd *u)
{
	struct vfio_irq_info *cmd = u->cmd;
	struct vfio_file *vf;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	if (cmd->index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	cmd->count = vfio_irq_count(vf->dev, cmd->index);
	cmd->flags = VFIO_IRQ_INFO_EVENTFD;
	if (cmd->index == VFIO_PCI_INTX_IRQ_INDEX)
		cmd->flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else if (cmd->index == VFIO_PCI_MSI_IRQ_INDEX)
		cmd->flags |= VFIO_IRQ_INFO_NORESIZE;
	return ucmd_respond(u, sizeof(*cmd));
}

long ioasid_vfio_device_set_irqs(struct ioasid_ucmd *u)
{
	struct vfio_irq_set *cmd = u->cmd;
	uint32_t data_type = cmd->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = cmd->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	size_t elem = data_type == VFIO_IRQ_SET_DATA_EVENTFD ? 4 :
		      data_type == VFIO_IRQ_SET_DATA_BOOL ? 1 : 0;
	unsigned int max;
	struct vfio_file *vf;
	void *data = NULL;
	int *efds = NULL;
	uint64_t end;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	if (cmd->index >= VFIO_PCI_NUM_IRQS ||
	    __builtin_popcount(data_type) != 1 ||
	    __builtin_popcount(action) != 1)
		return -EINVAL;
	max = vfio_irq_count(vf->dev, cmd->index);
	end = (uint64_t)cmd->start + cmd->count;
	if (end > max ||
	    (!cmd->count && !(data_type == VFIO_IRQ_SET_DATA_NONE &&
			      action == VFIO_IRQ_SET_ACTION_TRIGGER)))
		return -EINVAL;
	if (elem) {
		if (u->user_size - sizeof(*cmd) < elem * cmd->count)
			return -EINVAL;
		data = calloc(cmd->count ? cmd->count : 1, elem);
		if (!data)
			return -ENOMEM;
		rc = ucmd_read(u, u->ubuffer + sizeof(*cmd), data,
			       elem * cmd->count);
		if (rc)
			goto out_free;
	}
	if (data_type == VFIO_IRQ_SET_DATA_EVENTFD) {
		const int32_t *nums = data;

		efds = calloc(cmd->count, sizeof(*efds));
		if (!efds) {
			rc = -ENOMEM;
			goto out_free;
		}
		for (unsigned int i = 0; i < cmd->count; i++)
			efds[i] = -1;
		/* -1 leaves a vector without an event fd. */
		for (unsigned int i = 0; i < cmd->count && !rc; i++) {
			if (nums[i] == -1)
				continue;
			efds[i] = nums[i] < 0 ? -EBADF :
				  u->caller->uaccess->get_fd(
					  u->caller->uaccess_priv, nums[i]);
			if (efds[i] < 0)
				rc = -EBADF;
		}
		if (rc) {
			for (unsigned int i = 0; i < cmd->count; i++)
				if (efds[i] >= 0)
					close(efds[i]);
			goto out_free;
		}
	}
	rc = vfio_set_irqs(vf->dev, cmd, data, efds);
out_free:
	free(efds);
	free(data);
	return rc;
}

long ioasid_vfio_device_reset(struct ioasid_ucmd *u)
{
	struct vfio_file *vf;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	pci_fn_reset(vf->dev->fn);
	/* Interrupt enables come back as they were, as the kernel restores
	 * the function's saved state after a reset. */
	pthread_mutex_lock(&vf->dev->lock);
	pci_fn_set_msix(vf->dev->fn, vf->dev->irq_type == VFIO_PCI_MSIX_IRQ_INDEX);
	pci_fn_set_msi(vf->dev->fn, vf->dev->irq_type == VFIO_PCI_MSI_IRQ_INDEX);
	pthread_mutex_unlock(&vf->dev->lock);
	vfio_msix_follow(vf->dev);
	return 0;
}

long ioasid_vfio_device_feature(struct ioasid_ucmd *u)
{
	struct vfio_device_feature *cmd = u->cmd;
	uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;
	struct vfio_file *vf;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	if (cmd->flags & ~known)
		return -EINVAL;
	if (!(cmd->flags & VFIO_DEVICE_FEATURE_PROBE) &&
	    (cmd->flags & VFIO_DEVICE_FEATURE_GET) &&
	    (cmd->flags & VFIO_DEVICE_FEATURE_SET))
		return -EINVAL;
	/* None of the optional features (migration, dirty logging, low
	 * power) is ours yet. */
	return -ENOTTY;
}

long ioasid_vfio_device_hot_reset_info(struct ioasid_ucmd *u)
{
	struct vfio_pci_hot_reset_info *cmd = u->cmd;
	struct vfio_pci_dependent_device self;
	struct vfio_file *vf;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	/* Each function is alone on its slot: a reset reaches only it. */
	self = (struct vfio_pci_dependent_device){
		.devid = vf->idev ? vf->idev->obj.id : vf->access->obj.id,
		.segment = vf->dev->fn->domain,
		.bus = vf->dev->fn->bus,
		.devfn = vf->dev->fn->devfn,
	};
	cmd->flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		     VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	cmd->count = 1;
	if (u->user_size < sizeof(*cmd) + sizeof(self)) {
		rc = ucmd_respond(u, sizeof(*cmd));
		return rc ? rc : -ENOSPC;
	}
	rc = ucmd_write(u, u->ubuffer + sizeof(*cmd), &self, sizeof(self));
	return rc ? rc : ucmd_respond(u, sizeof(*cmd));
}

long ioasid_vfio_device_hot_reset(struct ioasid_ucmd *u)
{
	struct vfio_pci_hot_reset *cmd = u->cmd;
	struct vfio_file *vf;
	int rc = bound(u, &vf);

	if (rc)
		return rc;
	/* Through iommufd ownership an empty list says "the devices I
	 * own"; a list of group descriptors is the legacy path's. */
	if (cmd->count)
		return -EINVAL;
	pci_fn_reset(vf->dev->fn);
	return 0;
}

/* ---- plugging at run time (our extension, on /dev/iommu) ---------- */

#define PLUG_SPEC_MAX 255

long ioasid_vfio_plug_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_vfio_plug *cmd = u->cmd;
	char spec[PLUG_SPEC_MAX + 1];
	int rc;

	/* What binding a device to vfio-pci takes: root's say-so. */
	if (!ucmd_capable(u, CAP_SYS_ADMIN))
		return -EPERM;
	if (!cmd->spec_len || cmd->spec_len > PLUG_SPEC_MAX)
		return -EINVAL;
	rc = ucmd_read(u, cmd->spec, spec, cmd->spec_len);
	if (rc)
		return rc;
	spec[cmd->spec_len] = 0;
	if (strlen(spec) != cmd->spec_len)
		return -EINVAL;
	rc = ioasid_vfio_plug(spec);
	if (rc < 0)
		return rc;
	cmd->out_index = (uint32_t)rc;
	rc = ucmd_respond(u, sizeof(*cmd));
	/* Unanswered, it was never there. */
	if (rc)
		ioasid_vfio_unplug((int)cmd->out_index);
	return rc;
}

long ioasid_vfio_unplug_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_vfio_unplug *cmd = u->cmd;

	if (!ucmd_capable(u, CAP_SYS_ADMIN))
		return -EPERM;
	if (cmd->index > INT32_MAX)
		return -ENODEV;
	return ioasid_vfio_unplug((int)cmd->index);
}
