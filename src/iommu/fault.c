/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "core/file.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "device.h"
#include "fault.h"
#include "ioasid/uapi/iommufd.h"

struct fault_group {
	struct ioasid_device *dev; /* only compared: the group goes first */
	uint32_t pasid;
	uint32_t cookie; /* 0 until delivered */
	uint32_t n;
	struct fault_group *next;
	struct iommu_hwpt_pgfault recs[];
};

/* The file userspace reads the queue through. */
struct fault_file {
	struct ioasid_file file;
	struct ioasid_fault *fault; /* a users reference; NULL until made */
};

static void fault_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_fault *fault = container_of(obj, struct ioasid_fault, obj);
	struct fault_group *g;

	/* Whatever is left is answered by going away. */
	while ((g = fault->deliver)) {
		fault->deliver = g->next;
		free(g);
	}
	while ((g = fault->waiting)) {
		fault->waiting = g->next;
		free(g);
	}
	pthread_mutex_destroy(&fault->lock);
	free(fault);
}

static const struct ioasid_obj_ops ioasid_fault_obj_ops = {
	.name = "fault",
	.destroy = fault_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_FAULT, ioasid_fault_obj_ops)

int ioasid_fault_get(struct ioasid_ctx *ctx, uint32_t id,
		     struct ioasid_fault **out)
{
	struct ioasid_object *obj;
	int rc;

	rc = ioasid_obj_get(ctx, id, IOASID_OBJ_FAULT, &obj);
	if (!rc)
		*out = container_of(obj, struct ioasid_fault, obj);
	return rc;
}

/* Tell the file's watcher, outside our lock: it may ask poll at once. */
static void fault_notify(struct ioasid_fault *fault)
{
	struct ioasid_file *file;

	pthread_mutex_lock(&fault->lock);
	file = fault->file;
	if (file)
		ioasid_file_get(file);
	pthread_mutex_unlock(&fault->lock);
	if (file) {
		ioasid_file_notify(file);
		ioasid_file_put(file);
	}
}

int ioasid_fault_report(struct ioasid_fault *fault, struct ioasid_device *dev,
			uint32_t pasid, uint32_t grpid, uint32_t perm,
			uint64_t addr)
{
	struct fault_group *g = calloc(1, sizeof(*g) + sizeof(g->recs[0]));

	if (!g)
		return -ENOMEM;
	g->dev = dev;
	g->pasid = pasid;
	g->n = 1;
	g->recs[0] = (struct iommu_hwpt_pgfault){
		.flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE |
			 (pasid != IOASID_NO_PASID ?
				  IOMMU_PGFAULT_FLAGS_PASID_VALID :
				  0),
		.dev_id = dev->obj.id,
		.pasid = pasid,
		.grpid = grpid,
		.perm = perm,
		.addr = addr,
	};
	pthread_mutex_lock(&fault->lock);
	*fault->deliver_tail = g;
	fault->deliver_tail = &g->next;
	pthread_mutex_unlock(&fault->lock);
	fault_notify(fault);
	return 0;
}

static void drop_groups(struct fault_group **link, struct ioasid_device *dev,
			uint32_t pasid)
{
	while (*link) {
		struct fault_group *g = *link;

		if (g->dev == dev && g->pasid == pasid) {
			*link = g->next;
			free(g);
		} else {
			link = &g->next;
		}
	}
}

void ioasid_fault_auto_respond(struct ioasid_fault *fault,
			       struct ioasid_device *dev, uint32_t pasid)
{
	pthread_mutex_lock(&fault->lock);
	drop_groups(&fault->deliver, dev, pasid);
	drop_groups(&fault->waiting, dev, pasid);
	/* The tail may have gone with the groups. */
	fault->deliver_tail = &fault->deliver;
	while (*fault->deliver_tail)
		fault->deliver_tail = &(*fault->deliver_tail)->next;
	pthread_mutex_unlock(&fault->lock);
	fault_notify(fault);
}

/* The lowest cookie from 1 no waiting group holds. */
static uint32_t free_cookie_locked(struct ioasid_fault *fault)
{
	uint32_t c = 1;

	for (bool again = true; again;) {
		again = false;
		for (struct fault_group *g = fault->waiting; g; g = g->next) {
			if (g->cookie == c) {
				c++;
				again = true;
			}
		}
	}
	return c;
}

static struct ioasid_fault *file_fault(struct ioasid_file *file)
{
	return container_of(file, struct fault_file, file)->fault;
}

/*
 * Whole groups, as many as fit: none fitting is EINVAL, none waiting 0.
 * A count that is not a whole number of records is ESPIPE.
 */
static long fault_read(struct ioasid_file *file, const struct ioasid_caller *c,
		       uint64_t uptr, size_t count)
{
	const size_t rec = sizeof(struct iommu_hwpt_pgfault);
	struct ioasid_fault *fault = file_fault(file);
	size_t done = 0;
	long rc = 0;

	if (count % rec)
		return -ESPIPE;
	pthread_mutex_lock(&fault->lock);
	while (fault->deliver) {
		struct fault_group *g = fault->deliver;
		size_t len = g->n * rec;

		if (len > count - done) {
			if (!done)
				rc = -EINVAL;
			break;
		}
		g->cookie = free_cookie_locked(fault);
		for (uint32_t i = 0; i < g->n; i++)
			g->recs[i].cookie = g->cookie;
		rc = c->uaccess->write(c->uaccess_priv, uptr + done, g->recs,
				       len);
		if (rc) {
			g->cookie = 0;
			break;
		}
		fault->deliver = g->next;
		if (!fault->deliver)
			fault->deliver_tail = &fault->deliver;
		g->next = fault->waiting;
		fault->waiting = g;
		done += len;
	}
	pthread_mutex_unlock(&fault->lock);
	if (done)
		fault_notify(fault);
	return done ? (long)done : rc;
}

/* Responses, each to a group read before: what was taken, or the error. */
static long fault_write(struct ioasid_file *file, const struct ioasid_caller *c,
			uint64_t uptr, size_t count)
{
	const size_t rsz = sizeof(struct iommu_hwpt_page_response);
	struct ioasid_fault *fault = file_fault(file);
	size_t done = 0;
	long rc = 0;

	if (count % rsz)
		return -ESPIPE;
	pthread_mutex_lock(&fault->lock);
	while (done < count) {
		struct iommu_hwpt_page_response resp;
		struct fault_group **link, *g;

		rc = c->uaccess->read(c->uaccess_priv, uptr + done, &resp,
				      rsz);
		if (rc)
			break;
		if (resp.code != IOMMUFD_PAGE_RESP_SUCCESS &&
		    resp.code != IOMMUFD_PAGE_RESP_INVALID) {
			rc = -EINVAL;
			break;
		}
		for (link = &fault->waiting; *link; link = &(*link)->next)
			if ((*link)->cookie == resp.cookie)
				break;
		if (!*link) {
			rc = -EINVAL;
			break;
		}
		/* The mock's devices take any answer; a group is done. */
		g = *link;
		*link = g->next;
		free(g);
		done += rsz;
	}
	pthread_mutex_unlock(&fault->lock);
	return done ? (long)done : rc;
}

static unsigned int fault_poll(struct ioasid_file *file)
{
	struct ioasid_fault *fault = file_fault(file);
	unsigned int mask = POLLOUT;

	pthread_mutex_lock(&fault->lock);
	if (fault->deliver)
		mask |= POLLIN | POLLRDNORM;
	pthread_mutex_unlock(&fault->lock);
	return mask;
}

static void fault_file_release(struct ioasid_file *file)
{
	struct fault_file *ff = container_of(file, struct fault_file, file);
	struct ioasid_fault *fault = ff->fault;

	if (fault) {
		pthread_mutex_lock(&fault->lock);
		fault->file = NULL;
		pthread_mutex_unlock(&fault->lock);
		/* The queue may be destroyed from now on. */
		ioasid_obj_users_dec(&fault->obj);
	}
	free(ff);
}

static const struct ioasid_file_ops fault_file_ops = {
	.name = "[iommufd-pgfault]",
	.release = fault_file_release,
	.read = fault_read,
	.write = fault_write,
	.poll = fault_poll,
};

long ioasid_fault_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_fault_alloc *cmd = u->cmd;
	struct ioasid_fault *fault;
	struct fault_file *ff;
	int fd, rc;

	rc = ioasid_obj_new(u->ctx, IOASID_OBJ_FAULT, &fault);
	if (rc)
		return rc;
	pthread_mutex_init(&fault->lock, NULL);
	fault->deliver_tail = &fault->deliver;
	ff = calloc(1, sizeof(*ff));
	if (!ff) {
		rc = -ENOMEM;
		goto out_abort;
	}
	ioasid_file_init(&ff->file, &fault_file_ops, u->ctx);
	fd = ucmd_reserve_fd(u, &ff->file,
			     u->ubuffer + offsetof(struct iommu_fault_alloc,
						   out_fault_fd));
	if (fd < 0) {
		rc = fd;
		goto out_put_file;
	}
	cmd->out_fault_id = fault->obj.id;
	cmd->out_fault_fd = (uint32_t)fd;
	rc = ucmd_respond(u, sizeof(*cmd));
	if (rc)
		goto out_put_file;
	/* The file holds the queue: DESTROY waits for its close. */
	ff->fault = fault;
	fault->file = &ff->file;
	ioasid_obj_users_inc(&fault->obj);
	u->new_obj = &fault->obj;
	return 0;

out_put_file:
	ioasid_file_put(&ff->file);
out_abort:
	ioasid_obj_abort(u->ctx, &fault->obj);
	return rc;
}
