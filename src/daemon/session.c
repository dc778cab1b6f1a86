/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ioctl_desc.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/vfio_compat.h"
#include "file_end.h"
#include "log.h"
#include "quota.h"
#include "request.h"
#include "serve.h"
#include "session.h"
#include "slot.h"
#include "trace.h"
#include "wire/wire.h"
#include "wire_uaccess.h"

struct session *session_alloc(int fd, uint64_t id)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	s->ep.kind = ENDPOINT_SESSION;
	s->ep.fd = fd;
	s->slot.uid = cred.uid; /* the opener's share pays for it */
	s->id = id;
	s->opener_pid = cred.pid;
	s->opener_uid = cred.uid;
	return s;
}

int session_open(struct session *s)
{
	/* The connection is the opener's: its share pays for it. */
	int rc = quota_take(s->opener_uid);

	if (rc)
		return rc;
	s->ctx = ioasid_ctx_new();
	if (!s->ctx) {
		quota_give(s->opener_uid);
		return -ENOMEM;
	}
	/* Every message then carries the sender's verified credentials. */
	setsockopt(s->ep.fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	request_pass_identity(s->ep.fd);
	return 0;
}

void session_refuse_fd(int fd, int err)
{
	struct ioasid_wire_rep rep = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_REFUSED,
		.version = IOASID_WIRE_VERSION,
		.result = err,
	};

	/* Its first request reads it. */
	(void)!send(fd, &rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

void session_close(struct session *s)
{
	if (s->ctx) {
		ioasid_ctx_put(s->ctx);
		quota_give(s->opener_uid);
		s->ctx = NULL;
	}
	client_mm_release(&s->ep.mm);
	slot_drop(&s->slot);
	if (s->ep.fd >= 0)
		close(s->ep.fd);
	s->ep.fd = -1;
}

/*
 * VFIO_DEVICE_BIND_IOMMUFD of the device file that came with the request,
 * sent on the connection whose context it binds to: the shim sends it
 * here because only this connection knows which context it is.
 */
static long bind_device(struct session *s, struct request *r)
{
	struct ioasid_file *file;
	struct trace_ioctl t;
	long result;

	/* So is a group's VFIO_GROUP_SET_CONTAINER, for its container. */
	if (!(r->req.__reserved == IOASID_ON_VFIO_DEVICE &&
	      r->req.cmd == VFIO_DEVICE_BIND_IOMMUFD) &&
	    !(r->req.__reserved == IOASID_ON_VFIO_GROUP &&
	      r->req.cmd == VFIO_GROUP_SET_CONTAINER))
		return -EINVAL;
	if (r->w.fd < 0 || ioasid_file_lookup(r->w.fd, &file))
		return -EBADF;
	r->w.bind_ctx = s->ctx;
	trace_ioctl_begin(&t, &r->caller, r->req.__reserved, r->req.cmd,
			  r->req.arg);
	request_serve_begin(r);
	result = ioasid_file_ioctl(file, &r->caller, r->req.cmd, r->req.arg);
	request_serve_end(r);
	trace_ioctl_end(&t, &r->caller, r->req.cmd, r->req.arg, result);
	ioasid_file_put(file);
	return result;
}

/* A VFIO device's or group's file, handed out like any file of ours. */
static long open_device(struct request *r, bool group)
{
	struct ioasid_file *file;
	char name[64];
	int rc;

	if (r->req.arg > INT32_MAX)
		return -ENODEV;
	rc = group ? ioasid_vfio_open_group((unsigned int)r->req.arg, &file) :
		     ioasid_vfio_open((int)r->req.arg, &file);
	if (rc)
		return rc;
	/* Named for its node, which the shim's fstat shows. */
	snprintf(name, sizeof(name), "%s" IOASID_WIRE_NODE "%u:",
		 group ? IOASID_WIRE_GROUP_PREFIX : IOASID_WIRE_VFIO_PREFIX,
		 (unsigned int)r->req.arg);
	rc = wire_file_pair(r->w.new_file_fds, name);
	if (rc) {
		ioasid_file_put(file);
		return rc;
	}
	r->w.new_file = file;
	return 0;
}

/* An ioctl on the connection's own context. */
static long serve_ioctl(struct session *s, struct request *r)
{
	struct trace_ioctl t;
	long result;

	trace_ioctl_begin(&t, &r->caller, IOASID_ON_IOMMUFD, r->req.cmd,
			  r->req.arg);
	request_serve_begin(r);
	result = ioasid_ctx_ioctl(s->ctx, &r->caller, r->req.cmd, r->req.arg);
	request_serve_end(r);
	trace_ioctl_end(&t, &r->caller, r->req.cmd, r->req.arg, result);
	return result;
}

int session_serve_one(struct session *s)
{
	struct request r;
	long result;
	int rc;

	s->slot.opened = false;
	rc = request_recv(s->ep.fd, &r, &s->ep.mm, "client");
	if (rc)
		return rc > 0 ? 0 : rc;
	switch (r.req.kind) {
	case IOASID_WIRE_IOCTL:
		if (r.sender_gone)
			result = -ESRCH;
		else if (r.req.__reserved)
			result = bind_device(s, &r);
		else
			result = serve_ioctl(s, &r);
		break;
	case IOASID_WIRE_OPEN_DEVICE:
	case IOASID_WIRE_OPEN_GROUP:
		result = r.sender_gone ?
				 -ESRCH :
				 open_device(&r, r.req.kind == IOASID_WIRE_OPEN_GROUP);
		break;
	case IOASID_WIRE_MMAP: {
		int flags = (r.req.__reserved & IOASID_WIRE_MMAP_SHARED) ?
				    MAP_SHARED :
				    MAP_PRIVATE;
		int fd = r.sender_gone ?
				 -ESRCH :
				 ioasid_ctx_mmap(s->ctx, r.req.arg, r.req.cmd,
						 (int)(r.req.__reserved & 0xff),
						 flags);

		/* The memory to map goes along; the client's number for it
		 * is the result. */
		if (fd < 0) {
			result = fd;
			break;
		}
		request_end(&r);
		rc = request_reply(s->ep.fd, &r, 0, fd) ? -ECONNRESET : 0;
		close(fd);
		if (rc)
			ioasid_ctx_munmap(s->ctx, r.req.arg);
		return rc;
	}
	case IOASID_WIRE_MUNMAP:
		result = ioasid_ctx_munmap(s->ctx, r.req.arg);
		break;
	case IOASID_WIRE_SLOT:
		result = r.sender_gone ? -ESRCH : slot_take(&s->slot, &r);
		break;
	default:
		/* /dev/iommu itself cannot be read or written. */
		result = -EINVAL;
		break;
	}
	if (r.w.reply_overflow && result >= 0)
		result = -ENOMEM;
	/* What came with the call is let go before it returns, as the
	 * kernel's fput() is: the caller may count our descriptors next. */
	request_end(&r);
	slot_open_for(&s->slot, &r);
	if (r.w.new_file)
		rc = file_end_reply_with_file(s->ep.fd, &r, result, r.caller.uid);
	else
		rc = request_reply(s->ep.fd, &r, result, -1) ? -ECONNRESET : 0;
	if (!rc && r.w.cb_broken) {
		log_session(s, "did not answer for its memory, dropping the client");
		rc = -EPROTO;
	}
	if (rc)
		slot_unopen(&s->slot);
	return rc;
}

/* A request through the slot: only a plain ioctl of the context's, one
 * that moves no file. */
static long slot_serve(void *arg, struct request *r)
{
	struct session *s = arg;
	const struct ioasid_ioctl_desc *d = ioasid_ioctl_desc_find(r->req.cmd);

	if (r->req.kind != IOASID_WIRE_IOCTL || r->req.__reserved ||
	    (d && ioasid_ioctl_desc_moves_files(d)))
		return SLOT_RESEND;
	return serve_ioctl(s, r);
}

int session_linger(struct session *s, _Atomic bool *stop)
{
	return slot_linger(&s->slot, s->ep.fd, stop, slot_serve, s);
}

void session_slot_stop(struct session *s)
{
	slot_wake(&s->slot);
}

