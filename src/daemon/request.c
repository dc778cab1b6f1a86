/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caps.h"
#include "core/vm_access.h"
#include "log.h"
#include "request.h"

/*
 * The shim's claim is only a hint that spares the common request any proof;
 * a capability a handler actually relies on is checked against the thread's
 * real effective set, once per request.
 */
static int request_verify_cap(void *priv, unsigned int cap)
{
	struct wire_uaccess *w = priv;

	if (!w->caps_known) {
		w->caps = caps_of_thread(w->pid, w->tid, w->uid);
		w->caps_known = 1;
	}
	return cap < 64 && ((w->caps >> cap) & 1);
}

/* The reply's header, without a descriptor. */
static struct ioasid_wire_rep reply_head(const struct request *r, long result)
{
	return (struct ioasid_wire_rep){
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_REPLY,
		.version = IOASID_WIRE_VERSION,
		.seq = r->req.seq,
		.nsegs = r->w.reply_nsegs,
		.result = result,
		.fail_nth_left = r->fail_nth_left,
		.extra = r->reply_extra,
		.trap = r->reply_trap,
	};
}

int request_reply(int sock, struct request *r, long result, int client_fd)
{
	struct wire_uaccess *w = &r->w;
	union ioasid_wire_fd_control control;
	struct ioasid_wire_rep rep = reply_head(r, result);
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
	if (sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

size_t request_reply_into(struct request *r, long result, unsigned char *out)
{
	struct ioasid_wire_rep rep = reply_head(r, result);

	memcpy(out, &rep, sizeof(rep));
	memcpy(out + sizeof(rep), r->w.reply, r->w.reply_len);
	return sizeof(rep) + r->w.reply_len;
}

void request_pass_identity(int sock)
{
	setsockopt(sock, SOL_SOCKET, SO_PASSPIDFD, &(int){ 1 }, sizeof(int));
}

/* Messages arrive whole; this is the largest one we accept.  Each
 * serving thread has its own, which its one request at a time uses. */
static __thread unsigned char rxbuf[IOASID_WIRE_MAX_MSG + 1];
static __thread unsigned char txbuf[IOASID_WIRE_MAX_MSG];

int request_parse(struct request *r, const unsigned char *buf, size_t n,
		  const struct ucred *cred, int sock, const char *who)
{
	struct wire_uaccess *w = &r->w;
	struct ioasid_wire_cursor cur;
	int rc;

	/* pid 0: the message came without credentials (sent before
	 * SO_PASSCRED took effect on either end); we cannot tell whose
	 * memory it names. */
	if (n < sizeof(r->req) || !cred || cred->pid <= 0) {
		log_msg("%s: malformed message (%zu bytes), dropping it", who, n);
		return -EPROTO;
	}
	memcpy(&r->req, buf, sizeof(r->req));
	r->fail_nth_left = r->req.fail_nth;
	if (r->req.magic != IOASID_WIRE_MAGIC ||
	    r->req.version != IOASID_WIRE_VERSION ||
	    r->req.nsegs > WIRE_UACCESS_MAX_SEGS) {
		log_msg("%s: malformed request header, dropping it", who);
		return -EPROTO;
	}
	cur = (struct ioasid_wire_cursor){
		.p = buf + sizeof(r->req), .end = buf + n,
		.left = r->req.nsegs,
	};
	/* At most req.nsegs (checked above) come out of the cursor. */
	for (;;) {
		struct ioasid_wire_seg seg;
		const void *data;

		rc = ioasid_wire_next_seg(&cur, &seg, &data);
		if (rc)
			break;
		w->segs[w->nsegs].seg = seg;
		w->segs[w->nsegs].data = (unsigned char *)data;
		w->nsegs++;
	}
	if (rc < 0) {
		log_msg("%s: malformed request segments, dropping it", who);
		return -EPROTO;
	}

	w->pid = cred->pid;
	w->uid = cred->uid;
	w->tid = (pid_t)r->req.tid;
	w->cb_sock = sock;
	w->cb_seq = r->req.seq;
	w->fd_num = r->req.fd;
	w->reply = txbuf;
	w->reply_cap = sizeof(txbuf) - sizeof(struct ioasid_wire_rep);
	r->caller = (struct ioasid_caller){
		.pid = cred->pid,
		.tid = (pid_t)r->req.tid,
		.uid = cred->uid,
		.gid = cred->gid,
		.cap_effective = r->req.cap_effective,
		.verify_cap = request_verify_cap,
		.uaccess = &wire_uaccess_ops,
		.uaccess_priv = w,
	};
	return 0;
}

/* Descriptors that came with it and were not taken. */
static void request_end_fds(struct wire_uaccess *w)
{
	for (unsigned int i = 0; i < w->nfds; i++)
		close(w->fds[i]);
	w->nfds = 0;
	w->fd = -1;
}

int request_recv(int sock, struct request *r, struct client_mm *mm,
		 const char *who)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
			 CMSG_SPACE(sizeof(int)) +
			 CMSG_SPACE(IOASID_WIRE_MAX_FDS * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = rxbuf, .iov_len = sizeof(rxbuf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct wire_uaccess *w = &r->w;
	struct ucred *cred = NULL;
	struct cmsghdr *cm;
	int pidfd = -1, rc;
	bool pidfd_said = false;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	w->fd = -1;
	w->cb_sock = -1;
	w->pidfd = -1;
	n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN ? 1 : -ECONNRESET;
	if (n == 0)
		return -ECONNRESET;
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		log_msg("%s: message too large, dropping it", who);
		rc = -EPROTO;
		goto out_close_fds;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS)
			cred = (struct ucred *)CMSG_DATA(cm);
		else if (cm->cmsg_level == SOL_SOCKET &&
			 cm->cmsg_type == SCM_PIDFD && !pidfd_said) {
			/* A negative one: the sender is gone (reaped). */
			memcpy(&pidfd, CMSG_DATA(cm), sizeof(int));
			pidfd_said = true;
		}
		else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(cm);
			size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < nfds; i++) {
				if (w->nfds < IOASID_WIRE_MAX_FDS)
					w->fds[w->nfds++] = fds[i];
				else
					close(fds[i]);
			}
			w->fd = w->nfds ? w->fds[0] : -1;
		}
	}
	rc = request_parse(r, rxbuf, (size_t)n, cred, sock, who);
	if (rc)
		goto out_close_fds;
	r->sender_gone = pidfd_said ? pidfd < 0 || !vm_process_alive(pidfd, 0) :
				      !vm_process_alive(-1, cred->pid);
	/* The sender, for its address space to be checked against. */
	w->pidfd = pidfd;
	w->mm = mm;
	return 0;

out_close_fds:
	if (pidfd >= 0)
		close(pidfd);
	request_end_fds(w);
	return rc;
}

int request_take(struct request *r, const unsigned char *msg, size_t n,
		 const struct ucred *cred, struct client_mm *mm, const char *who)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->w.fd = -1;
	r->w.cb_sock = -1;
	r->w.pidfd = -1;
	if (n > IOASID_WIRE_MAX_MSG) {
		log_msg("%s: message too large, dropping it", who);
		return -EPROTO;
	}
	/* Read once: the sender may be writing it still. */
	memcpy(rxbuf, msg, n);
	rc = request_parse(r, rxbuf, n, cred, -1, who);
	if (rc)
		return rc;
	r->w.mm = mm;
	return 0;
}

void request_end(struct request *r)
{
	/* The core took its own copies of what it needed. */
	request_end_fds(&r->w);
	if (r->w.pidfd >= 0)
		close(r->w.pidfd);
	r->w.pidfd = -1;
}
