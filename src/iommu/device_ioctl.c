/* SPDX-License-Identifier: MIT */
/*
 * Our extension's device ioctls: plug in an emulated device behind the
 * IOMMU model asked for, and attach or detach it as VFIO's iommufd ioctls
 * do for a real one.
 */
#include <errno.h>

#include "core/dispatch.h"
#include "core/ucmd.h"
#include "device.h"
#include "driver.h"
#include "ioasid/uapi/ioasid.h"

/* Registered at load, before any call: never changed while read. */
static struct ioasid_device_factory *factories;

void ioasid_register_device_factory(struct ioasid_device_factory *m)
{
	m->next = factories;
	factories = m;
}

const struct ioasid_device_factory *ioasid_device_factory_find(uint32_t model)
{
	const struct ioasid_device_factory *m;

	for (m = factories; m && m->model != model; m = m->next)
		;
	return m;
}

long ioasid_device_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_device_alloc *cmd = u->cmd;
	const struct ioasid_device_factory *m;
	struct ioasid_device *dev;
	int rc;

	m = ioasid_device_factory_find(cmd->model);
	if (!m)
		return -EOPNOTSUPP;
	rc = m->create(u->ctx, cmd->flags & IOASID_DEVICE_ALLOC_PASID, false,
		       &dev);
	if (rc)
		return rc;
	/* Published by the dispatcher once the answer is out; unanswered,
	 * it was never there. */
	u->new_obj = &dev->obj;
	cmd->out_dev_id = dev->obj.id;
	return ucmd_respond(u, sizeof(*cmd));
}

static int pasid_of(uint32_t flags, uint32_t pasid, uint32_t *out)
{
	if (!(flags & IOASID_ATTACH_PASID)) {
		*out = IOASID_NO_PASID;
		return pasid ? -EINVAL : 0;
	}
	if (pasid == IOASID_NO_PASID)
		return -EINVAL;
	*out = pasid;
	return 0;
}

long ioasid_device_attach_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_device_attach *cmd = u->cmd;
	struct ioasid_device *dev;
	uint32_t pasid, pt_id = cmd->pt_id;
	bool replace = cmd->flags & IOASID_ATTACH_REPLACE;
	int rc;

	rc = pasid_of(cmd->flags, cmd->pasid, &pasid);
	if (rc)
		return rc;
	rc = ioasid_device_get(u->ctx, cmd->dev_id, &dev);
	if (rc)
		return rc;
	rc = replace ? ioasid_device_replace(dev, pasid, &pt_id) :
		       ioasid_device_attach(dev, pasid, &pt_id);
	if (!rc) {
		cmd->pt_id = pt_id;
		rc = ucmd_respond(u, sizeof(*cmd));
		/* A new attachment nobody heard of is undone; a replaced one
		 * stays, as the kernel's would. */
		if (rc && !replace)
			ioasid_device_detach(dev, pasid);
	}
	ioasid_device_put(u->ctx, dev);
	return rc;
}

long ioasid_device_detach_ioctl(struct ioasid_ucmd *u)
{
	struct ioasid_device_detach *cmd = u->cmd;
	struct ioasid_device *dev;
	uint32_t pasid;
	int rc;

	rc = pasid_of(cmd->flags, cmd->pasid, &pasid);
	if (rc)
		return rc;
	rc = ioasid_device_get(u->ctx, cmd->dev_id, &dev);
	if (rc)
		return rc;
	ioasid_device_detach(dev, pasid);
	ioasid_device_put(u->ctx, dev);
	return 0;
}
