/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/file.h"
#include "core/ucmd.h"
#include "core/util.h"
#include "veventq.h"
#include "viommu.h"

/* The kernel's bound on veventq_depth. */
#define VEVENTQ_MAX_DEPTH (1u << 19)

struct veventq_file {
	struct ioasid_file file;
	struct ioasid_veventq *q; /* a users reference; NULL until made */
};

static void veventq_destroy(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	struct ioasid_veventq *q = container_of(obj, struct ioasid_veventq,
						obj);
	struct ioasid_viommu *v = q->viommu;
	struct vevent *ev, *tmp;

	if (v) {
		pthread_mutex_lock(&v->lock);
		for (struct ioasid_veventq **link = &v->veventqs; *link;
		     link = &(*link)->next) {
			if (*link == q) {
				*link = q->next;
				break;
			}
		}
		pthread_mutex_unlock(&v->lock);
		ioasid_obj_users_dec(&v->obj);
	}
	cds_list_for_each_entry_safe(ev, tmp, &q->deliver, node)
		if (ev != &q->lost)
			free(ev);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static const struct ioasid_obj_ops ioasid_veventq_obj_ops = {
	.name = "veventq",
	.destroy = veventq_destroy,
};
IOASID_OBJ_TYPE(IOASID_OBJ_VEVENTQ, ioasid_veventq_obj_ops)

/* Tell the file's watcher, outside our lock: it may ask poll at once. */
static void veventq_notify(struct ioasid_veventq *q)
{
	struct ioasid_file *file;

	pthread_mutex_lock(&q->lock);
	file = q->file;
	if (file)
		ioasid_file_get(file);
	pthread_mutex_unlock(&q->lock);
	if (file) {
		ioasid_file_notify(file);
		ioasid_file_put(file);
	}
}

/* Queue ev (maybe the lost-events header) last, with the next number. */
static void enqueue_locked(struct ioasid_veventq *q, struct vevent *ev)
{
	/* A lost-events header is only ever last: it moves behind. */
	if (!cds_list_empty(&q->deliver) &&
	    q->deliver.prev == &q->lost.node)
		cds_list_del(&q->lost.node);
	cds_list_add_tail(&ev->node, &q->deliver);
	ev->hdr.sequence = q->sequence;
	q->sequence = (q->sequence + 1) & INT_MAX;
}

int ioasid_viommu_report_event(struct ioasid_viommu *v, uint32_t type,
			       const void *data, size_t len)
{
	struct ioasid_veventq *q;
	struct vevent *ev;
	int rc = 0;

	pthread_mutex_lock(&v->lock);
	for (q = v->veventqs; q && q->type != type; q = q->next)
		;
	if (!q) {
		pthread_mutex_unlock(&v->lock);
		return -EOPNOTSUPP;
	}
	ev = malloc(sizeof(*ev) + len);
	pthread_mutex_lock(&q->lock);
	if (!ev || q->num_events == q->depth) {
		if (!ev)
			rc = -ENOMEM;
		free(ev);
		ev = &q->lost;
	} else {
		ev->hdr.flags = 0;
		ev->len = (uint32_t)len;
		memcpy(ev->data, data, len);
		q->num_events++;
	}
	enqueue_locked(q, ev);
	pthread_mutex_unlock(&q->lock);
	/* The vIOMMU's lock keeps the queue until it is told. */
	veventq_notify(q);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static struct ioasid_veventq *file_veventq(struct ioasid_file *file)
{
	return container_of(file, struct veventq_file, file)->q;
}

/*
 * Whole events, headers first, as many as fit: none fitting is EINVAL
 * (a lost-events header needs only its own 8 bytes).  A read shorter
 * than a header is EINVAL whatever is queued.
 */
static long veventq_read(struct ioasid_file *file, const struct ioasid_caller *c,
			 uint64_t uptr, size_t count)
{
	const size_t hdr = sizeof(struct iommufd_vevent_header);
	struct ioasid_veventq *q = file_veventq(file);
	size_t done = 0;
	long rc = 0;

	if (count < hdr)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	while (!cds_list_empty(&q->deliver) && count - done >= hdr) {
		struct vevent *ev = cds_list_entry(q->deliver.next,
						   struct vevent, node);
		bool lost = ev == &q->lost;
		size_t len = lost ? 0 : ev->len;

		if (hdr + len > count - done) {
			if (!done)
				rc = -EINVAL;
			break;
		}
		if (c->uaccess->write(c->uaccess_priv, uptr + done, &ev->hdr,
				      hdr) ||
		    (len && c->uaccess->write(c->uaccess_priv,
					      uptr + done + hdr, ev->data,
					      len))) {
			rc = -EFAULT;
			break;
		}
		cds_list_del(&ev->node);
		if (!lost) {
			q->num_events--;
			free(ev);
		}
		done += hdr + len;
	}
	pthread_mutex_unlock(&q->lock);
	return done ? (long)done : rc;
}

static unsigned int veventq_poll(struct ioasid_file *file)
{
	struct ioasid_veventq *q = file_veventq(file);
	unsigned int mask = POLLOUT;

	pthread_mutex_lock(&q->lock);
	if (!cds_list_empty(&q->deliver))
		mask |= POLLIN | POLLRDNORM;
	pthread_mutex_unlock(&q->lock);
	return mask;
}

static void veventq_file_release(struct ioasid_file *file)
{
	struct veventq_file *vf = container_of(file, struct veventq_file,
					       file);
	struct ioasid_veventq *q = vf->q;

	if (q) {
		pthread_mutex_lock(&q->lock);
		q->file = NULL;
		pthread_mutex_unlock(&q->lock);
		/* The queue may be destroyed from now on. */
		ioasid_obj_users_dec(&q->obj);
	}
	free(vf);
}

static const struct ioasid_file_ops veventq_file_ops = {
	.name = "[iommufd-viommu-event]",
	.release = veventq_file_release,
	.read = veventq_read,
	.poll = veventq_poll,
};

long ioasid_veventq_alloc_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_veventq_alloc *cmd = u->cmd;
	struct veventq_file *vf = NULL;
	struct ioasid_veventq *q;
	struct ioasid_object *obj;
	struct ioasid_viommu *v;
	int fd, rc;

	if (cmd->flags || cmd->__reserved ||
	    cmd->type == IOMMU_VEVENTQ_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->veventq_depth || cmd->veventq_depth > VEVENTQ_MAX_DEPTH)
		return -EINVAL;
	rc = ioasid_obj_get(u->ctx, cmd->viommu_id, IOASID_OBJ_VIOMMU, &obj);
	if (rc)
		return rc;
	v = container_of(obj, struct ioasid_viommu, obj);
	rc = ioasid_obj_new(u->ctx, IOASID_OBJ_VEVENTQ, &q);
	if (rc)
		goto out_put;
	pthread_mutex_init(&q->lock, NULL);
	CDS_INIT_LIST_HEAD(&q->deliver);
	q->lost.hdr.flags = IOMMU_VEVENTQ_FLAG_LOST_EVENTS;
	q->type = cmd->type;
	q->depth = cmd->veventq_depth;
	/* Published by the dispatcher, or aborted: the destroy undoes
	 * whatever of the below was done. */
	u->new_obj = &q->obj;
	if (!ioasid_obj_users_tryinc(&v->obj)) {
		rc = -ENOENT;
		goto out_put;
	}
	q->viommu = v;

	vf = calloc(1, sizeof(*vf));
	if (!vf) {
		rc = -ENOMEM;
		goto out_put;
	}
	ioasid_file_init(&vf->file, &veventq_file_ops, u->ctx);
	fd = ucmd_reserve_fd(u, &vf->file,
			     u->ubuffer + offsetof(struct iommu_veventq_alloc,
						   out_veventq_fd));
	if (fd < 0) {
		rc = fd;
		goto out_put_file;
	}
	/* One queue per type: checked and joined in one step. */
	pthread_mutex_lock(&v->lock);
	for (struct ioasid_veventq *o = v->veventqs; o; o = o->next)
		if (o->type == cmd->type)
			rc = -EEXIST;
	if (!rc) {
		q->next = v->veventqs;
		v->veventqs = q;
	}
	pthread_mutex_unlock(&v->lock);
	if (rc)
		goto out_put_file;
	cmd->out_veventq_id = q->obj.id;
	cmd->out_veventq_fd = (uint32_t)fd;
	rc = ucmd_respond(u, sizeof(*cmd));
	if (rc)
		goto out_put_file;
	/* The file holds the queue: DESTROY waits for its close. */
	vf->q = q;
	q->file = &vf->file;
	ioasid_obj_users_inc(&q->obj);
	goto out_put;

out_put_file:
	/* Not handed out: the transport forgets the reservation. */
	ioasid_file_put(&vf->file);
out_put:
	ioasid_obj_put(u->ctx, obj);
	return rc;
}
