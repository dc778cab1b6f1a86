/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ioctl_desc.h"
#include "ioasid/ioasid.h"
#include "caps.h"
#include "file_end.h"
#include "log.h"
#include "session.h"
#include "wire/wire.h"
#include "wire_uaccess.h"

struct session *session_new(int epfd, int fd, uint64_t id)
{
	struct session *s = calloc(1, sizeof(*s));
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int one = 1;

	if (!s)
		return NULL;
	s->ctx = ioasid_ctx_new();
	if (!s->ctx) {
		free(s);
		return NULL;
	}
	s->ep.kind = ENDPOINT_SESSION;
	s->ep.fd = fd;
	s->epfd = epfd;
	s->id = id;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		s->opener_pid = cred.pid;
		s->opener_uid = cred.uid;
	}
	/* Every message then carries the sender's verified credentials. */
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	return s;
}

void session_free(struct session *s)
{
	ioasid_ctx_put(s->ctx);
	close(s->ep.fd);
	free(s);
}

/*
 * The shim's claim is only a hint that spares the common request any proof;
 * a capability a handler actually relies on is checked against the thread's
 * real effective set, once per request.
 */
static int request_verify_cap(void *priv, unsigned int cap)
{
	struct wire_uaccess *w = priv;

	if (!w->caps_known) {
		w->caps = caps_of_thread(w->pid, w->tid);
		w->caps_known = 1;
	}
	return cap < 64 && ((w->caps >> cap) & 1);
}

/* With a file for the client, its end goes along with the reply. */
static int send_reply(struct session *s, uint32_t seq, long result,
		      struct wire_uaccess *w, int client_fd)
{
	union ioasid_wire_fd_control control;
	struct ioasid_wire_rep rep = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_REPLY,
		.version = IOASID_WIRE_VERSION,
		.seq = seq,
		.nsegs = w->reply_nsegs,
		.result = result,
	};
	struct iovec iov[2] = {
		{ .iov_base = &rep, .iov_len = sizeof(rep) },
		{ .iov_base = w->reply, .iov_len = w->reply_len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	if (client_fd >= 0) {
		rep.has_fd = 1;
		rep.fd_uptr = w->new_file_uptr;
		ioasid_wire_attach_fd(&msg, &control, client_fd);
	}
	/* Writes stand whatever the result, as the kernel's copy_to_user
	 * calls do (EMSGSIZE still fills the array it had room for). */
	if (sendmsg(s->ep.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

/*
 * The ioctl committed a file for the client: watch our end, then send
 * theirs.  If the ioctl failed after all, or the client cannot get it,
 * the file's only reference goes and with it the object.
 */
static int send_reply_with_file(struct session *s, uint32_t seq, long result,
				struct wire_uaccess *w)
{
	int ours = w->new_file_fds[0], theirs = w->new_file_fds[1];
	int rc = 0;

	if (result >= 0) {
		rc = file_end_open(s->epfd, ours, theirs, w->new_file);
		if (rc)
			result = rc;
	}
	if (result < 0) {
		close(ours);
		ioasid_file_put(w->new_file);
		rc = send_reply(s, seq, result, w, -1);
	} else {
		rc = send_reply(s, seq, result, w, theirs);
		/* Gone before it got it: our end hangs up at once and the
		 * event loop releases the file. */
	}
	close(theirs);
	return rc ? -ECONNRESET : 0;
}

/* Messages arrive whole; this is the largest one we accept. */
static unsigned char rxbuf[IOASID_WIRE_MAX_MSG + 1];
static unsigned char txbuf[IOASID_WIRE_MAX_MSG];

int session_serve_one(struct session *s)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
			 CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = rxbuf, .iov_len = sizeof(rxbuf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct ioasid_wire_req req;
	struct ioasid_wire_cursor cur;
	struct wire_uaccess w = { .fd = -1 };
	struct ioasid_caller caller = { 0 };
	struct ucred *cred = NULL;
	struct cmsghdr *cm;
	ssize_t n;
	long result;
	int rc;

	n = recvmsg(s->ep.fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN ? 0 : -ECONNRESET;
	if (n == 0)
		return -ECONNRESET;
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		log_session(s, "message too large, dropping the client");
		rc = -EPROTO;
		goto out_close_fd;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS)
			cred = (struct ucred *)CMSG_DATA(cm);
		else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			/* One descriptor per request is kept; extras are a
			 * client's mistake and closed at once. */
			int *fds = (int *)CMSG_DATA(cm);
			size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < nfds; i++) {
				if (w.fd < 0)
					w.fd = fds[i];
				else
					close(fds[i]);
			}
		}
	}
	/* pid 0: the message came without credentials (sent before
	 * SO_PASSCRED took effect on either end); we cannot tell whose
	 * memory it names. */
	if ((size_t)n < sizeof(req) || !cred || cred->pid <= 0) {
		log_session(s, "malformed message (%zd bytes), dropping the client", n);
		rc = -EPROTO;
		goto out_close_fd;
	}
	memcpy(&req, rxbuf, sizeof(req));
	if (req.magic != IOASID_WIRE_MAGIC || req.kind != IOASID_WIRE_IOCTL ||
	    req.version != IOASID_WIRE_VERSION ||
	    req.nsegs > WIRE_UACCESS_MAX_SEGS) {
		log_session(s, "malformed request header, dropping the client");
		rc = -EPROTO;
		goto out_close_fd;
	}
	cur = (struct ioasid_wire_cursor){
		.p = rxbuf + sizeof(req), .end = rxbuf + n, .left = req.nsegs,
	};
	while ((rc = ioasid_wire_next_seg(&cur, &w.segs[w.nsegs].seg,
					  (const void **)&w.segs[w.nsegs].data)) == 0)
		w.nsegs++;
	if (rc < 0) {
		log_session(s, "malformed request segments, dropping the client");
		rc = -EPROTO;
		goto out_close_fd;
	}

	w.pid = cred->pid;
	w.tid = (pid_t)req.tid;
	w.fd_num = req.fd;
	w.reply = txbuf;
	w.reply_cap = sizeof(txbuf) - sizeof(struct ioasid_wire_rep);
	caller.pid = cred->pid;
	caller.tid = (pid_t)req.tid;
	caller.uid = cred->uid;
	caller.gid = cred->gid;
	caller.cap_effective = req.cap_effective;
	caller.verify_cap = request_verify_cap;
	caller.uaccess = &wire_uaccess_ops;
	caller.uaccess_priv = &w;

	result = ioasid_ctx_ioctl(s->ctx, &caller, req.cmd, req.arg);
	if (w.reply_overflow && result >= 0)
		result = -ENOMEM;
	if (w.new_file)
		rc = send_reply_with_file(s, req.seq, result, &w);
	else
		rc = send_reply(s, req.seq, result, &w, -1) ? -ECONNRESET : 0;
out_close_fd:
	/* The core took its own copy if it needed one. */
	if (w.fd >= 0)
		close(w.fd);
	return rc;
}
