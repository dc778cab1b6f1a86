/* SPDX-License-Identifier: MIT */
/*
 * The legacy way to a device: its IOMMU group's file (/dev/vfio/N) joins
 * a container -- here always an iommufd context, as the kernel's
 * /dev/vfio/vfio is iommufd's compat layer -- and hands out the group's
 * devices' files, bound to that context and attached to its compat IOAS
 * (the one VFIO_SET_IOMMU made).  One open of a group at a time, as the
 * kernel allows; a device reached either way cannot be reached the other
 * way while it is (EBUSY, or EINVAL for the cdev's bind).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/ioctl_desc.h"
#include "iommu/device.h"
#include "iopt/ioas.h"
#include "vfio.h"

struct vfio_group_file {
	struct ioasid_file file; /* first: files are found by it */
	unsigned int group;
	/* Under groups_lock: the container's context (a reference), and
	 * how many device files came from here and are still open. */
	struct ioasid_ctx *container;
	unsigned int devices_open;
	bool kvm_linked; /* in a VM's KVM VFIO pseudo-device */
	struct vfio_group_file *next;
};

/* The open groups.  Lock order: taken alone or inside nothing else. */
static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfio_group_file *open_groups;

static struct vfio_group_file *group_of(const struct ioasid_ucmd *u)
{
	return u->target;
}

static int in_group(struct vfio_dev *d, void *group)
{
	return d->group == *(unsigned int *)group;
}

static bool group_exists(unsigned int group)
{
	return vfio_devs_each(in_group, &group) != 0;
}

static void group_release(struct ioasid_file *file)
{
	struct vfio_group_file *gf = (struct vfio_group_file *)file;
	struct vfio_group_file **link;

	pthread_mutex_lock(&groups_lock);
	for (link = &open_groups; *link != gf; link = &(*link)->next)
		;
	*link = gf->next;
	pthread_mutex_unlock(&groups_lock);
	ioasid_ctx_put(gf->container);
	free(gf);
}

static long group_ioctl(struct ioasid_file *file, const struct ioasid_caller *c,
			unsigned int cmd, unsigned long arg)
{
	return ioasid_dispatch(IOASID_ON_VFIO_GROUP, file, NULL, c, cmd, arg);
}

static const struct ioasid_file_ops vfio_group_ops = {
	.name = "[vfio-group]",
	.release = group_release,
	.ioctl = group_ioctl,
};

int ioasid_vfio_open_group(unsigned int group, struct ioasid_file **out)
{
	struct vfio_group_file *gf;
	int rc = 0;

	if (!group_exists(group))
		return -ENODEV;
	gf = calloc(1, sizeof(*gf));
	if (!gf)
		return -ENOMEM;
	pthread_mutex_lock(&groups_lock);
	for (struct vfio_group_file *o = open_groups; o && !rc; o = o->next)
		if (o->group == group)
			rc = -EBUSY;
	if (!rc) {
		ioasid_file_init(&gf->file, &vfio_group_ops, NULL);
		gf->group = group;
		gf->next = open_groups;
		open_groups = gf;
	}
	pthread_mutex_unlock(&groups_lock);
	if (rc) {
		free(gf);
		return rc;
	}
	*out = &gf->file;
	return 0;
}

/* Under the devices' lock (vfio_devs_each), which comes before d->lock. */
static int held_by_cdev(struct vfio_dev *d, void *group)
{
	int held;

	if (d->group != *(unsigned int *)group)
		return 0;
	pthread_mutex_lock(&d->lock);
	held = d->bound && !d->bound->group;
	pthread_mutex_unlock(&d->lock);
	return held;
}

/* Not while one of its devices is bound through its own cdev. */
static bool group_viable(unsigned int group)
{
	return !vfio_devs_each(held_by_cdev, &group);
}

int vfio_group_kvm_link(struct ioasid_file *file, int add)
{
	struct vfio_group_file *gf = (struct vfio_group_file *)file;
	int rc = 0;

	if (file->ops != &vfio_group_ops)
		return -EINVAL;
	pthread_mutex_lock(&groups_lock);
	if (!add == !gf->kvm_linked)
		rc = add ? -EEXIST : -ENOENT;
	else
		gf->kvm_linked = add;
	pthread_mutex_unlock(&groups_lock);
	return rc;
}

long ioasid_vfio_group_get_status(struct ioasid_ucmd *u)
{
	struct vfio_group_status *cmd = u->cmd;
	struct vfio_group_file *gf = group_of(u);
	bool viable = group_viable(gf->group);

	pthread_mutex_lock(&groups_lock);
	if (gf->container)
		cmd->flags = VFIO_GROUP_FLAGS_VIABLE |
			     VFIO_GROUP_FLAGS_CONTAINER_SET;
	else
		cmd->flags = viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
	pthread_mutex_unlock(&groups_lock);
	return ucmd_respond(u, sizeof(*cmd));
}

static bool has_container(struct vfio_group_file *gf)
{
	bool has;

	pthread_mutex_lock(&groups_lock);
	has = gf->container != NULL;
	pthread_mutex_unlock(&groups_lock);
	return has;
}

long ioasid_vfio_group_set_container(struct ioasid_ucmd *u)
{
	const struct ioasid_uaccess_ops *ua = u->caller->uaccess;
	struct vfio_group_file *gf = group_of(u);
	struct ioasid_ctx *ctx;
	int32_t fd;
	int rc;

	rc = ucmd_read(u, u->ubuffer, &fd, sizeof(fd));
	if (rc)
		return rc;
	if (fd < 0 || !ua->get_ctx)
		return -EBADF;
	rc = ua->get_ctx(u->caller->uaccess_priv, fd, &ctx);
	if (rc)
		return rc;
	if (has_container(gf))
		return -EINVAL;
	/* As the kernel's: joining an iommufd brings its compat IOAS.  Made
	 * outside groups_lock (it takes the context's); a racing call on
	 * this group may then find a container after all. */
	rc = ioasid_vfio_compat_ioas_create(ctx);
	if (rc)
		return rc;
	pthread_mutex_lock(&groups_lock);
	if (gf->container) {
		rc = -EINVAL;
	} else {
		ioasid_ctx_get(ctx);
		gf->container = ctx;
	}
	pthread_mutex_unlock(&groups_lock);
	return rc;
}

long ioasid_vfio_group_unset_container(struct ioasid_ucmd *u)
{
	struct vfio_group_file *gf = group_of(u);
	struct ioasid_ctx *ctx = NULL;
	int rc = 0;

	pthread_mutex_lock(&groups_lock);
	if (!gf->container)
		rc = -EINVAL;
	else if (gf->devices_open)
		rc = -EBUSY;
	else
		ctx = gf->container;
	if (ctx)
		gf->container = NULL;
	pthread_mutex_unlock(&groups_lock);
	ioasid_ctx_put(ctx);
	return rc;
}

/* The name the call gives: 0, -EFAULT, or -EINVAL when it is too long. */
static int read_name(struct ioasid_ucmd *u, char *name, size_t cap)
{
	for (size_t i = 0; i < cap; i++) {
		int rc = ucmd_read(u, u->ubuffer + i, &name[i], 1);

		if (rc)
			return rc;
		if (!name[i])
			return 0;
	}
	return -EINVAL;
}

/* A device file from the group is done with: the group may let go. */
void vfio_group_device_closed(struct vfio_group_file *gf)
{
	pthread_mutex_lock(&groups_lock);
	gf->devices_open--;
	pthread_mutex_unlock(&groups_lock);
	ioasid_file_put(&gf->file);
}

struct by_name {
	unsigned int group;
	const char *name;
	int index;
};

static int named(struct vfio_dev *d, void *priv)
{
	struct by_name *look = priv;

	if (d->group != look->group || strcmp(d->fn->bdf, look->name))
		return 0;
	look->index = (int)d->index;
	return 1;
}

long ioasid_vfio_group_get_device_fd(struct ioasid_ucmd *u)
{
	struct vfio_group_file *gf = group_of(u);
	char name[IOASID_ARG_STRING_MAX];
	struct by_name look;
	struct ioasid_file *file;
	struct ioasid_object *obj;
	struct ioasid_ctx *ctx;
	uint32_t pt_id;
	int rc;

	rc = read_name(u, name, sizeof(name));
	if (rc)
		return rc;
	look.group = gf->group;
	look.name = name;
	if (!vfio_devs_each(named, &look))
		return -ENODEV;
	/* The container, whose compat IOAS the device attaches to.  The
	 * device counts as open from here, so the container stays. */
	pthread_mutex_lock(&groups_lock);
	ctx = gf->container;
	if (ctx) {
		ioasid_ctx_get(ctx);
		gf->devices_open++;
	}
	pthread_mutex_unlock(&groups_lock);
	if (!ctx)
		return -EINVAL;
	/* SET_CONTAINER made it; it is gone if the program destroyed it. */
	pthread_mutex_lock(&ctx->lock);
	pt_id = ctx->vfio_ioas_id;
	pthread_mutex_unlock(&ctx->lock);
	if (!pt_id) {
		rc = -ENODEV;
		goto out_unclaim;
	}
	/* Gone since (unplugged): ENODEV, as if never found. */
	rc = ioasid_vfio_open(look.index, &file);
	if (rc)
		goto out_unclaim;
	/* The group's from here (status sees it so): the file's release
	 * gives the claim back. */
	vfio_file_of(file)->group = gf;
	ioasid_file_get(&gf->file);
	rc = vfio_file_bind(vfio_file_of(file), ctx, &obj);
	/* Held through the cdev: the group cannot have it. */
	if (rc == -EINVAL)
		rc = -EBUSY;
	if (rc)
		goto out_put_file;
	rc = vfio_file_attach(vfio_file_of(file), IOASID_NO_PASID, &pt_id);
	if (rc)
		goto out_put_file;
	rc = ucmd_reserve_fd(u, file, 0);
	if (rc < 0)
		goto out_put_file;
	/* The device is the container's, published there with the answer
	 * (the binding holds the context). */
	u->ctx = ctx;
	u->new_obj = obj;
	ioasid_ctx_put(ctx);
	return rc;

out_put_file:
	ioasid_file_put(file);
	ioasid_ctx_put(ctx);
	return rc;
out_unclaim:
	pthread_mutex_lock(&groups_lock);
	gf->devices_open--;
	pthread_mutex_unlock(&groups_lock);
	ioasid_ctx_put(ctx);
	return rc;
}
