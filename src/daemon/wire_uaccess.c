/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/util.h"
#include "core/vm_access.h"
#include "log.h"
#include "wire_uaccess.h"

int wire_uaccess_always_callback;

/* How long a client may take to answer for its memory. */
#define CALLBACK_TIMEOUT_MS 5000

/*
 * Wait for the client's MEM_REPLY to this request, from the process that
 * sent it: its arg (0 or -errno) or -EPROTO when it does not answer in
 * time or answers nonsense.  A read's bytes go to dst (len of them); up
 * to nfds descriptors that came with it to fds (the rest -1).
 */
static int callback_answer(struct wire_uaccess *w, void *dst, size_t len,
			   int *fds, size_t nfds)
{
	static __thread unsigned char buf[sizeof(struct ioasid_wire_req) +
				 sizeof(struct ioasid_wire_seg) +
				 IOASID_WIRE_MEM_CHUNK];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
			 CMSG_SPACE(sizeof(int)) + CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct pollfd p = { .fd = w->cb_sock, .events = POLLIN };
	const struct ucred *cred = NULL;
	struct ioasid_wire_cursor c;
	struct ioasid_wire_req rep;
	struct ioasid_wire_seg seg;
	const void *data;
	size_t got = 0;
	ssize_t n;

	for (size_t i = 0; i < nfds; i++)
		fds[i] = -1;
	if (poll(&p, 1, CALLBACK_TIMEOUT_MS) != 1)
		return -EPROTO;
	n = recvmsg(w->cb_sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm;
	     cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS) {
			cred = (const struct ucred *)CMSG_DATA(cm);
		} else if (cm->cmsg_type == SCM_RIGHTS || cm->cmsg_type == SCM_PIDFD) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(fd));
				if (cm->cmsg_type == SCM_RIGHTS && got < nfds)
					fds[got++] = fd;
				else if (fd >= 0)
					close(fd);
			}
		}
	}
	if (n < (ssize_t)sizeof(rep) || !cred || cred->pid != w->pid)
		goto out_proto;
	memcpy(&rep, buf, sizeof(rep));
	if (rep.magic != IOASID_WIRE_MAGIC || rep.kind != IOASID_WIRE_MEM_REPLY ||
	    rep.seq != w->cb_seq)
		goto out_proto;
	if ((int64_t)rep.arg < 0) {
		for (size_t i = 0; i < got; i++)
			close(fds[i]);
		return (int64_t)rep.arg < -4095 ? -EPROTO : (int)(int64_t)rep.arg;
	}
	if (!dst)
		return 0;
	c = (struct ioasid_wire_cursor){ buf + sizeof(rep), buf + n, rep.nsegs };
	if (ioasid_wire_next_seg(&c, &seg, &data) || !data || seg.len != len)
		goto out_proto;
	memcpy(dst, data, len);
	return 0;

out_proto:
	for (size_t i = 0; i < got; i++)
		close(fds[i]);
	return -EPROTO;
}

/* Ask the client, mid-request: 0, or the answer's -errno. */
static int callback_ask(struct wire_uaccess *w, uint16_t kind, uint64_t uptr,
			const void *wbuf, size_t len)
{
	static __thread unsigned char out[sizeof(struct ioasid_wire_rep) +
				 sizeof(struct ioasid_wire_seg) +
				 IOASID_WIRE_MEM_CHUNK];
	struct ioasid_wire_rep ask = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = kind,
		.version = IOASID_WIRE_VERSION,
		.seq = w->cb_seq,
		.nsegs = kind == IOASID_WIRE_MEM_HANDLE ? 0 : 1,
	};
	struct ioasid_wire_seg seg = {
		.uptr = uptr, .len = (uint32_t)len,
		.flags = wbuf ? IOASID_SEG_DATA : 0,
	};
	size_t olen = sizeof(ask);

	memcpy(out, &ask, sizeof(ask));
	if (ask.nsegs) {
		memcpy(out + olen, &seg, sizeof(seg));
		olen += sizeof(seg);
	}
	if (wbuf) {
		memcpy(out + olen, wbuf, len);
		olen += len;
	}
	return send(w->cb_sock, out, olen, MSG_NOSIGNAL) == (ssize_t)olen ?
		       0 :
		       -EPROTO;
}

/*
 * Ask the client for memory we have no handle on: in chunks, each a
 * message and an answer.  A client that does not answer in time, or
 * answers nonsense, gets EFAULT and is dropped after the reply.
 */
static int mem_callback(struct wire_uaccess *w, uint64_t uptr, void *buf,
			size_t len, int write)
{
	if (w->cb_sock < 0 || w->cb_broken)
		return -EFAULT;
	while (len) {
		size_t n = MIN(len, (size_t)IOASID_WIRE_MEM_CHUNK);
		int rc = callback_ask(w, write ? IOASID_WIRE_MEM_WRITE :
						 IOASID_WIRE_MEM_READ,
				      uptr, write ? buf : NULL, n);

		if (!rc)
			rc = callback_answer(w, write ? NULL : buf, n, NULL, 0);
		if (rc) {
			/* A hole in its memory is just EFAULT; a silent or
			 * garbled client is dropped after the reply. */
			if (rc == -EPROTO)
				w->cb_broken = 1;
			return -EFAULT;
		}
		uptr += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

void client_mm_release(struct client_mm *cm)
{
	ioasid_mm_put(cm->mm);
	*cm = (struct client_mm){ 0 };
}

/*
 * The sender's address space: the connection's, while it is still the
 * sender's image (the pid is the sender's and the image has neither
 * exited nor exec'd: the descriptors would read nothing), else handed
 * over afresh.  Borrowed from the connection; NULL when the client
 * cannot hand it over (-EFAULT) or does not answer (-EPROTO).
 */
static int client_mm(struct wire_uaccess *w, struct ioasid_mm **out)
{
	struct client_mm *cm = w->mm;
	int fds[2], rc;

	if (!cm || w->cb_broken)
		return -EFAULT;
	/* A slot's request (no socket) comes from the image that handed the
	 * slot over with this memory: an exec unmaps the slot.  Another
	 * request may come from a successor image, which is asked anew. */
	if (cm->pid == w->pid && cm->mm &&
	    (w->cb_sock < 0 || w->mm_alive ||
	     !ioasid_mm_rw(cm->mm, 0, NULL, 0, 0))) {
		w->mm_alive = true;
		*out = cm->mm;
		return 0;
	}
	/* A slot's request has no socket to ask through. */
	if (w->cb_sock < 0 || (cm->pid == w->pid && cm->refused))
		return -EFAULT;
	/* Once per request: an image that dies meanwhile is not chased. */
	if (w->mm_asked)
		return -EFAULT;
	w->mm_asked = true;
	client_mm_release(cm);
	cm->pid = w->pid;
	rc = callback_ask(w, IOASID_WIRE_MEM_HANDLE, 0, NULL, 0);
	if (!rc)
		rc = callback_answer(w, NULL, 0, fds, 2);
	if (rc == -EPROTO) {
		w->cb_broken = 1;
		return rc;
	}
	if (!rc && fds[1] < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		rc = -EBADF;
	}
	if (rc) {
		/* Said once per process: its maps fail until it may. */
		log_msg("client pid %d cannot hand over its memory (%s): "
			"mapping it fails with EFAULT; a process that changed "
			"its credentials must make itself dumpable "
			"(PR_SET_DUMPABLE), see ioasidd(8)",
			(int)w->pid, rc == -EBADF ? "no descriptors" : strerror(-rc));
		cm->refused = true;
		return -EFAULT;
	}
	cm->mm = ioasid_mm_new(w->pid, w->uid,
			       w->pidfd >= 0 ?
				       fcntl(w->pidfd, F_DUPFD_CLOEXEC, 3) :
				       -1,
			       fds[0], fds[1]);
	if (!cm->mm) {
		cm->refused = true;
		return -EFAULT;
	}
	*out = cm->mm;
	return 0;
}

/* Only the connection's own context, for a bind sent on it. */
static int wu_get_ctx(void *priv, int fd, struct ioasid_ctx **out)
{
	struct wire_uaccess *w = priv;

	if (!w->bind_ctx || fd < 0)
		return -EBADF;
	*out = w->bind_ctx;
	return 0;
}

static int wu_get_mm(void *priv, struct ioasid_mm **out)
{
	struct wire_uaccess *w = priv;
	struct ioasid_mm *mm;
	int rc = client_mm(w, &mm);

	if (rc)
		return -EFAULT;
	*out = ioasid_mm_get(mm);
	return 0;
}

/*
 * Client memory outside the segments: through its address space, else
 * asked of the client.
 */
static int client_xfer(struct wire_uaccess *w, uint64_t uptr, void *buf,
		       size_t len, int write)
{
	struct ioasid_mm *mm;

	if (!len)
		return 0;
	if (!wire_uaccess_always_callback && !client_mm(w, &mm)) {
		int rc = ioasid_mm_rw(mm, uptr, buf, len, write);

		if (rc != -ESRCH)
			return rc;
	}
	return mem_callback(w, uptr, buf, len, write);
}

/* The segment wholly containing [uptr, uptr+len), if any. */
static int find_seg(const struct wire_uaccess *w, uint64_t uptr, size_t len)
{
	for (unsigned int i = 0; i < w->nsegs; i++) {
		const struct ioasid_wire_seg *s = &w->segs[i].seg;

		if (uptr >= s->uptr && len <= s->len &&
		    uptr - s->uptr <= s->len - len)
			return (int)i;
	}
	return -1;
}

static int wu_read(void *priv, uint64_t uptr, void *dst, size_t len)
{
	struct wire_uaccess *w = priv;
	int i = find_seg(w, uptr, len);

	if (i >= 0) {
		const struct ioasid_wire_seg *s = &w->segs[i].seg;

		if (s->flags & IOASID_SEG_FAULT)
			return -EFAULT;
		if (w->segs[i].data) {
			memcpy(dst, w->segs[i].data + (uptr - s->uptr), len);
			return 0;
		}
	}
	return client_xfer(w, uptr, dst, len, 0);
}

static int reply_append(struct wire_uaccess *w, uint64_t uptr, const void *src,
			size_t len)
{
	struct ioasid_wire_seg seg = {
		.uptr = uptr, .len = (uint32_t)len, .flags = IOASID_SEG_DATA,
	};

	if (w->reply_len + sizeof(seg) + len > w->reply_cap) {
		w->reply_overflow = 1;
		return -ENOMEM;
	}
	memcpy(w->reply + w->reply_len, &seg, sizeof(seg));
	memcpy(w->reply + w->reply_len + sizeof(seg), src, len);
	w->reply_len += sizeof(seg) + len;
	w->reply_nsegs++;
	return 0;
}

int wire_uaccess_read_after(struct wire_uaccess *w, uint64_t uptr, void *dst,
			    size_t len)
{
	const unsigned char *found = NULL;
	size_t at = 0;

	while (at + sizeof(struct ioasid_wire_seg) <= w->reply_len) {
		struct ioasid_wire_seg seg;

		memcpy(&seg, w->reply + at, sizeof(seg));
		at += sizeof(seg);
		if (seg.len > w->reply_len - at)
			break;
		if (uptr >= seg.uptr && len <= seg.len &&
		    uptr - seg.uptr <= seg.len - len)
			found = w->reply + at + (uptr - seg.uptr);
		at += seg.len;
	}
	if (found) {
		memcpy(dst, found, len);
		return 0;
	}
	return wu_read(w, uptr, dst, len);
}

static int wu_write(void *priv, uint64_t uptr, const void *src, size_t len)
{
	struct wire_uaccess *w = priv;
	int i = find_seg(w, uptr, len);

	if (i >= 0) {
		const struct ioasid_wire_seg *s = &w->segs[i].seg;

		if (s->flags & IOASID_SEG_READONLY)
			return -EFAULT;
		if (s->flags & IOASID_SEG_WRITABLE) {
			/* Later reads of this request must see the write. */
			if (w->segs[i].data)
				memcpy(w->segs[i].data +
					       (uptr - s->uptr), src, len);
			return reply_append(w, uptr, src, len);
		}
	}
	return client_xfer(w, uptr, (void *)src, len, 1);
}

static int client_read(void *priv, uint64_t uptr, void *buf, size_t len)
{
	return client_xfer(priv, uptr, buf, len, 0);
}

static int wu_check_zeroed(void *priv, uint64_t uptr, size_t len)
{
	struct wire_uaccess *w = priv;
	int i = find_seg(w, uptr, len);

	if (i >= 0) {
		const struct ioasid_wire_seg *s = &w->segs[i].seg;

		if (s->uptr == uptr && s->len == len) {
			if (s->flags & IOASID_SEG_FAULT)
				return -EFAULT;
			if (s->flags & IOASID_SEG_ZEROED)
				return 1;
			if (s->flags & IOASID_SEG_NONZERO)
				return 0;
		}
	}
	/* No tail segment: the shim sent no bytes there, so look. */
	return vm_zeroed_by(client_read, w, uptr, len);
}

/* Only the descriptor the shim attached, under the number it gave. */
static int wu_get_fd(void *priv, int fd)
{
	struct wire_uaccess *w = priv;
	int nfd;

	/* Several, in the order the call's data names them. */
	if (w->fd_num == IOASID_WIRE_FDS_IN_DATA) {
		if (fd < 0 || w->fds_taken >= w->nfds)
			return -EBADF;
		nfd = fcntl(w->fds[w->fds_taken++], F_DUPFD_CLOEXEC, 3);
		return nfd < 0 ? -EBADF : nfd;
	}
	if (w->fd < 0 || fd != w->fd_num)
		return -EBADF;
	nfd = fcntl(w->fd, F_DUPFD_CLOEXEC, 3);
	return nfd < 0 ? -EBADF : nfd;
}

/*
 * A file is a socket pair: the client gets one end, and when its last copy
 * is closed our end hangs up, which is the file's last close.  Our end
 * gets a name the shim knows as ours, beginning with prefix: what the
 * client's end reports as its peer (an abstract name, in no filesystem).
 */
int wire_file_pair(int fds[2], const char *prefix)
{
	static atomic_ulong serial;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds))
		return errno == EMFILE || errno == ENFILE ? -EMFILE : -ENOMEM;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
				   "%s%d:%lu", prefix, (int)getpid(),
				   atomic_fetch_add(&serial, 1) + 1));
	if (bind(fds[0], (struct sockaddr *)&addr, len)) {
		close(fds[0]);
		close(fds[1]);
		return -ENOMEM;
	}
	return 0;
}

static int wu_reserve_fd(void *priv, struct ioasid_file *file,
			 uint64_t fd_uptr)
{
	struct wire_uaccess *w = priv;
	int rc;

	/* Only the socket carries files: a slot serves no call that makes
	 * one (ioasid_ioctl_desc_moves_files), and this keeps it so. */
	if (w->cb_sock < 0)
		return -EMFILE;
	/* A VFIO device's file says so in its name: the shim serves its
	 * regions and mappings. */
	rc = wire_file_pair(w->new_file_fds,
				strcmp(ioasid_file_name(file), "[vfio-device]") ?
					IOASID_WIRE_FILE_PREFIX :
					IOASID_WIRE_VFIO_PREFIX);

	if (rc)
		return rc;
	w->new_file = file;
	w->new_file_uptr = fd_uptr;
	/* The client fixes the number up once it has the descriptor. */
	return 0;
}

static void wu_commit_fd(void *priv, struct ioasid_file *file, int ok)
{
	struct wire_uaccess *w = priv;

	(void)file;
	w->new_file_ok = ok;
	if (!ok) {
		close(w->new_file_fds[0]);
		close(w->new_file_fds[1]);
		w->new_file = NULL;
	}
}

/* The file behind the descriptor the shim attached, under its number. */
static int wu_get_file(void *priv, int fd, struct ioasid_file **out)
{
	struct wire_uaccess *w = priv;

	if (w->fd < 0 || fd != w->fd_num)
		return -EBADF;
	return ioasid_file_lookup(w->fd, out);
}

const struct ioasid_uaccess_ops wire_uaccess_ops = {
	.read = wu_read,
	.write = wu_write,
	.check_zeroed = wu_check_zeroed,
	.get_fd = wu_get_fd,
	.reserve_fd = wu_reserve_fd,
	.commit_fd = wu_commit_fd,
	.get_file = wu_get_file,
	.get_mm = wu_get_mm,
	.get_ctx = wu_get_ctx,
};
