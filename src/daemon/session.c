/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ioctl_desc.h"
#include "ioasid/ioasid.h"
#include "ioasid/uapi/vfio_compat.h"
#include "caps.h"
#include "file_end.h"
#include "log.h"
#include "quota.h"
#include "request.h"
#include "serve.h"
#include "session.h"
#include "trace.h"
#include "wire/slot.h"
#include "wire/spin.h"
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

static void slot_drop(struct session *s)
{
	/* Nobody waits there (the sender's thread, if it does, is woken
	 * to find it closed). */
	if (!s->slot)
		return;
	ioasid_slot_move(s->slot, IOASID_SLOT_OPEN, IOASID_SLOT_CLOSED);
	munmap(s->slot, IOASID_WIRE_SLOT_SIZE);
	s->slot = NULL;
	client_mm_release(&s->slot_mm);
	quota_give(s->opener_uid);
	quota_give(s->opener_uid);
}

void session_close(struct session *s)
{
	if (s->ctx) {
		ioasid_ctx_put(s->ctx);
		quota_give(s->opener_uid);
		s->ctx = NULL;
	}
	client_mm_release(&s->ep.mm);
	slot_drop(s);
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

/*
 * IOASID_WIRE_SLOT: the slot the sender made and its memory, which the
 * slot's requests are served in (they cannot ask for it).  The memfd
 * must be sealed against shrinking, so that no page of our mapping of
 * it can vanish under us.
 */
static long slot_take(struct session *s, struct request *r)
{
	struct wire_uaccess *w = &r->w;
	struct ioasid_wire_slot *slot;
	struct stat st;
	int seals, rc;

	if (r->req.fd != IOASID_WIRE_FDS_IN_DATA || w->nfds != 3)
		return -EINVAL;
	/* Tests that make every byte a question want no slot. */
	if (wire_uaccess_always_callback)
		return -EOPNOTSUPP;
	seals = fcntl(w->fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(w->fds[0], &st) ||
	    st.st_size < (off_t)IOASID_WIRE_SLOT_SIZE)
		return -EINVAL;
	slot_drop(s);
	/* The memory's two descriptors are the opener's share's. */
	rc = quota_take(s->opener_uid);
	if (rc)
		return rc;
	rc = quota_take(s->opener_uid);
	if (rc)
		goto out_give;
	slot = mmap(NULL, IOASID_WIRE_SLOT_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, w->fds[0], 0);
	if (slot == MAP_FAILED) {
		rc = -ENOMEM;
		goto out_give2;
	}
	s->slot_mm.mm = ioasid_mm_new(w->pid, w->uid, -1, w->fds[1], w->fds[2]);
	w->fds[1] = w->fds[2] = -1; /* taken, failure included */
	if (!s->slot_mm.mm) {
		rc = -EINVAL;
		goto out_unmap;
	}
	s->slot_mm.pid = w->pid;
	s->slot = slot;
	s->slot_cred = (struct ucred){ .pid = w->pid, .uid = w->uid,
				       .gid = r->caller.gid };
	return 0;

out_unmap:
	munmap(slot, IOASID_WIRE_SLOT_SIZE);
out_give2:
	quota_give(s->opener_uid);
out_give:
	quota_give(s->opener_uid);
	return rc;
}

int session_serve_one(struct session *s)
{
	struct request r;
	long result;
	int rc;

	s->slot_opened = false;
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
		result = r.sender_gone ? -ESRCH : slot_take(s, &r);
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
	/* Open before the reply: the sender's next request finds it so. */
	if ((r.req.flags & IOASID_WIRE_REQ_SLOT) && s->slot &&
	    r.w.pid == s->slot_cred.pid && !r.w.new_file) {
		atomic_store_explicit(&s->slot->state, IOASID_SLOT_OPEN,
				      memory_order_release);
		s->slot_opened = true;
	}
	if (r.w.new_file)
		rc = file_end_reply_with_file(s->ep.fd, &r, result, r.caller.uid);
	else
		rc = request_reply(s->ep.fd, &r, result, -1) ? -ECONNRESET : 0;
	if (!rc && r.w.cb_broken) {
		log_session(s, "did not answer for its memory, dropping the client");
		rc = -EPROTO;
	}
	if (rc && s->slot_opened) {
		atomic_store_explicit(&s->slot->state, IOASID_SLOT_CLOSED,
				      memory_order_release);
		s->slot_opened = false;
	}
	return rc;
}

/* ---- the slot -------------------------------------------------------- */

/* How often a thread waiting on a slot looks up: it gives the slot back
 * when nothing came through it since the last look, or when a message
 * waits on the socket (a request with descriptors, or another process
 * sharing the connection: the socket's requests wait for the slot's). */
#define LINGER_CHECK_NS 1000000u
/* Requests a stopped slot answers RESEND before it is closed whatever
 * its client does. */
#define STOP_ROUNDS 16

static struct spin_budget slot_spin = SPIN_BUDGET_INIT;

struct slot_wait {
	struct ioasid_wire_slot *slot;
	_Atomic bool *stop;
	uint64_t until; /* ns, the next look up */
};

/* Only OPEN and DONE are waited in: the client's turn. */
static bool slot_waits(struct slot_wait *sw, uint32_t st)
{
	st &= IOASID_SLOT_STATE;
	return (st == IOASID_SLOT_OPEN || st == IOASID_SLOT_DONE) &&
	       !atomic_load_explicit(sw->stop, memory_order_relaxed);
}

static int64_t slot_look(void *arg)
{
	struct slot_wait *sw = arg;
	uint32_t st = ioasid_slot_load(sw->slot);

	return slot_waits(sw, st) ? SPIN_NOTHING : st & IOASID_SLOT_STATE;
}

static int64_t slot_sleep(void *arg)
{
	struct slot_wait *sw = arg;
	uint64_t now = spin_now_ns();
	uint32_t st = ioasid_slot_load(sw->slot);

	if (now < sw->until && slot_waits(sw, st))
		st = ioasid_slot_sleep(sw->slot, st, sw->until - now);
	return st & IOASID_SLOT_STATE;
}

/* Whether a message (or the hang-up) waits on the socket. */
static bool socket_waiting(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || errno != EAGAIN;
}

/*
 * The request posted in s's slot, answered there: 0, or -EPROTO for a
 * message that does not hold together (the client is dropped).  With
 * `resend`, or for what only the socket can carry, the answer is RESEND
 * and nothing is done.
 */
static int slot_serve(struct session *s, bool resend)
{
	struct ioasid_wire_slot *slot = s->slot;
	const struct ioasid_ioctl_desc *d;
	struct request r;
	long result;
	size_t n;
	int rc;

	rc = request_take(&r, slot->buf, *(volatile uint32_t *)&slot->len,
			  &s->slot_cred, &s->slot_mm, "client");
	if (rc)
		return rc;
	d = ioasid_ioctl_desc_find(r.req.cmd);
	if (resend || r.req.kind != IOASID_WIRE_IOCTL || r.req.__reserved ||
	    (d && ioasid_ioctl_desc_moves_files(d))) {
		struct ioasid_wire_rep rep = {
			.magic = IOASID_WIRE_MAGIC,
			.kind = IOASID_WIRE_RESEND,
			.version = IOASID_WIRE_VERSION,
			.seq = r.req.seq,
			.fail_nth_left = r.req.fail_nth,
		};

		memcpy(slot->buf, &rep, sizeof(rep));
		n = sizeof(rep);
	} else {
		result = serve_ioctl(s, &r);
		if (r.w.reply_overflow && result >= 0)
			result = -ENOMEM;
		n = request_reply_into(&r, result, slot->buf);
	}
	request_end(&r);
	slot->len = (uint32_t)n;
	ioasid_slot_move(slot, IOASID_SLOT_POSTED, IOASID_SLOT_DONE);
	return 0;
}

int session_linger(struct session *s, _Atomic bool *stop)
{
	struct slot_wait sw = { s->slot, stop, spin_now_ns() + LINGER_CHECK_NS };
	bool served = true; /* the socket's request that opened it */
	unsigned int stopping = 0;
	int rc = 0;

	s->slot_opened = false;
	for (;;) {
		int64_t st = spin_wait(&slot_spin, slot_look, slot_sleep, &sw);
		bool stopped = atomic_load_explicit(stop, memory_order_relaxed);

		/* CLOSED: the client gave it up.  Anything else but its
		 * three states: the client's nonsense, which ends it too. */
		if (st != IOASID_SLOT_OPEN && st != IOASID_SLOT_DONE &&
		    st != IOASID_SLOT_POSTED)
			return 0;
		if (st == IOASID_SLOT_POSTED) {
			rc = slot_serve(s, stopping > 0);
			if (rc)
				break;
			if (!stopping)
				served = true;
			else if (++stopping > STOP_ROUNDS)
				break;
			continue;
		}
		if (!stopped && spin_now_ns() < sw.until)
			continue;
		if (!stopped && served && !socket_waiting(s->ep.fd)) {
			served = false;
			sw.until = spin_now_ns() + LINGER_CHECK_NS;
			continue;
		}
		/* Give it back; a request posted meanwhile is sent back. */
		if (ioasid_slot_move(s->slot, IOASID_SLOT_OPEN, IOASID_SLOT_CLOSED) ||
		    ioasid_slot_move(s->slot, IOASID_SLOT_DONE, IOASID_SLOT_LAST) ||
		    (ioasid_slot_load(s->slot) & IOASID_SLOT_STATE) !=
			    IOASID_SLOT_POSTED)
			return 0;
		stopping = stopping ? stopping : 1;
	}
	/* Whatever it holds now, nobody waits there any more: a request
	 * there was not served (it did not hold together, or it was sent
	 * back), and CLOSED says so. */
	atomic_store_explicit(&s->slot->state, IOASID_SLOT_CLOSED,
			      memory_order_release);
	ioasid_slot_wake(s->slot);
	return rc;
}

void session_slot_stop(struct session *s)
{
	/* The lingering thread's own slot: it outlives this call. */
	ioasid_slot_wake(s->slot);
}
