/* SPDX-License-Identifier: MIT */
/*
 * The client half of the wire protocol: connect a context, recognise our
 * fds wherever they came from, and turn one ioctl into one request/reply
 * exchange.
 *
 * An fd may be shared by threads and, after fork or SCM_RIGHTS, by other
 * processes; all of them talk over the same socket.  Each exchange is made
 * exclusive with a mutex (threads) and a POSIX record lock on the socket
 * (processes; the kernel drops it if the holder dies).  A reply whose
 * sequence number is not ours was left by an exchange whose process died
 * mid-call and is discarded.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/ioctl_desc.h"
#include "ioasid/uapi/ioasid.h"
#include "ioasid/uapi/vfio_compat.h"
#include "core/util.h"
#include "core/vm_access.h"
#include "preload.h"
#include "wire/slot.h"
#include "wire/spin.h"
#include "wire/wire.h"

#define DEFAULT_SOCKET "/run/ioasid/ioasid.sock"

static const char *socket_path(void)
{
	const char *p = getenv("IOASID_SOCKET");

	return p && *p ? p : DEFAULT_SOCKET;
}

int client_open(int oflags)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = socket_path();
	int fd, saved = errno;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -EIO;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | ((oflags & O_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -errno;
	/*
	 * With SO_PASSCRED on the sending socket the kernel stamps every
	 * message with our verified pid, even one sent before the daemon has
	 * accepted the connection (the daemon's own setting comes too late
	 * for those).
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)) ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		real.close(fd);
		errno = saved;
		return -EIO;
	}
	client_fd_maybe_ours(fd);
	errno = saved;
	return fd;
}

static long simple_request(int fd, uint16_t kind, uint64_t arg, uint32_t cmd,
			   uint32_t extra, struct ioasid_wire_rep *head);

/*
 * open(2) of /dev/vfio/devices/vfioN: a connection of its own asks for
 * the device's file, which is what the caller gets.
 */
int client_open_device(unsigned int index, int oflags, bool group)
{
	int conn = client_open(oflags | O_CLOEXEC), fd, saved = errno;

	if (conn < 0)
		return conn;
	fd = (int)simple_request(conn, group ? IOASID_WIRE_OPEN_GROUP :
					       IOASID_WIRE_OPEN_DEVICE,
				 index, 0, 0, NULL);
	real.close(conn);
	client_fd_forget(conn);
	if (fd >= 0 && !(oflags & O_CLOEXEC))
		real.fcntl(fd, F_SETFD, 0);
	if (fd >= 0)
		client_fd_maybe_ours(fd);
	errno = saved;
	/* No such device or group: as the kernel's missing node. */
	return fd == -ENODEV ? -ENOENT : fd;
}

/*
 * Recognition cache, by fd number.  What we saw there: not ours (most
 * fds, which must cost nothing more than the call itself), ours with
 * the socket inode we saw (fstat revalidates it, so an fd of ours closed
 * behind our back and its number reused is seen afresh), or nothing yet.
 *
 * "Not ours" holds until a copy of one of ours could land on the number:
 * by dup, dup2, dup3, fcntl(F_DUPFD*), or received with SCM_RIGHTS (all
 * intercepted), or made by us (open of the device, descriptors the
 * daemon hands over).  Those calls forget what we saw at the new number.
 * Anything else that makes a descriptor makes one that is not ours.
 */
#define FD_CACHE CLIENT_FD_CACHE
enum fd_seen { FD_UNSEEN, FD_NOT_OURS, FD_OURS };
static struct {
	_Atomic ino_t ino;
	_Atomic unsigned char seen;
	/* For FD_OURS: what it is, and its node's minor (kind_node). */
	_Atomic unsigned char kind;
	_Atomic unsigned int minor;
} fd_cache[FD_CACHE];

static void fd_cache_set(int fd, enum fd_seen seen, ino_t ino)
{
	if (fd < 0 || fd >= FD_CACHE)
		return;
	atomic_store_explicit(&fd_cache[fd].ino, ino, memory_order_relaxed);
	atomic_store_explicit(&fd_cache[fd].seen, seen, memory_order_relaxed);
}

void client_fd_maybe_ours(int fd)
{
	fd_cache_set(fd, FD_UNSEEN, 0);
}

void client_fd_not_ours(int fd)
{
	fd_cache_set(fd, FD_NOT_OURS, 0);
}

static bool peer_is_daemon(int fd)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	int type;
	socklen_t tlen = sizeof(type);
	const char *base;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
	    type != SOCK_SEQPACKET)
		return false;
	memset(&addr, 0, sizeof(addr));
	if (getpeername(fd, (struct sockaddr *)&addr, &len) ||
	    addr.sun_family != AF_UNIX)
		return false;
	/* A file the daemon handed out (a fault queue, an access). */
	if (!addr.sun_path[0])
		return len > offsetof(struct sockaddr_un, sun_path) +
				     sizeof(IOASID_WIRE_FILE_PREFIX) &&
		       !strncmp(addr.sun_path + 1, IOASID_WIRE_FILE_PREFIX,
				sizeof(IOASID_WIRE_FILE_PREFIX) - 1);
	if (!strcmp(addr.sun_path, socket_path()) ||
	    !strcmp(addr.sun_path, DEFAULT_SOCKET))
		return true;
	/* Another daemon's connection passed to us (private daemons of other
	 * ioasid-run instances all name their socket this way). */
	base = strrchr(addr.sun_path, '/');
	return base && !strcmp(base, "/ioasid.sock");
}

/* What a socket of ours is, by the name of its peer: the kind, and the
 * minor of the node a VFIO file was opened as (in *minor, else NO_NODE). */
#define NO_NODE UINT_MAX
static enum client_kind kind_by_name(int fd, unsigned int *minor)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	const char *name = addr.sun_path + 1;
	enum client_kind kind = CLIENT_OTHER_FILE;

	*minor = NO_NODE;
	memset(&addr, 0, sizeof(addr));
	/* The daemon's files are socket pairs: their names are abstract. */
	if (getpeername(fd, (struct sockaddr *)&addr, &len) || addr.sun_path[0])
		return CLIENT_CONNECTION;
	if (!strncmp(name, IOASID_WIRE_VFIO_PREFIX,
		     sizeof(IOASID_WIRE_VFIO_PREFIX) - 1)) {
		kind = CLIENT_VFIO_DEVICE;
		name += sizeof(IOASID_WIRE_VFIO_PREFIX) - 1;
	} else if (!strncmp(name, IOASID_WIRE_GROUP_PREFIX,
			    sizeof(IOASID_WIRE_GROUP_PREFIX) - 1)) {
		kind = CLIENT_VFIO_GROUP;
		name += sizeof(IOASID_WIRE_GROUP_PREFIX) - 1;
	}
	if (kind != CLIENT_OTHER_FILE &&
	    sscanf(name, IOASID_WIRE_NODE "%u:", minor) != 1)
		*minor = NO_NODE;
	return kind;
}

/*
 * What fd is: one fstat for a socket we have seen (its inode says the
 * number still holds the same socket), none for a number known not to
 * be ours, and the peer's name looked at once per socket.
 */
static enum client_kind fd_classify(int fd, unsigned int *minor)
{
	enum client_kind kind;
	struct stat st;
	int saved = errno;
	bool cached = fd < FD_CACHE;

	*minor = NO_NODE;
	if (fd < 0)
		return CLIENT_NOT_OURS;
	if (cached && atomic_load_explicit(&fd_cache[fd].seen,
					   memory_order_relaxed) == FD_NOT_OURS)
		return CLIENT_NOT_OURS;
	if (real.fstat(fd, &st)) {
		errno = saved;
		return CLIENT_NOT_OURS;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fd_cache_set(fd, FD_NOT_OURS, 0);
		errno = saved;
		return CLIENT_NOT_OURS;
	}
	if (cached &&
	    atomic_load_explicit(&fd_cache[fd].seen, memory_order_relaxed) ==
		    FD_OURS &&
	    atomic_load_explicit(&fd_cache[fd].ino, memory_order_relaxed) ==
		    st.st_ino) {
		*minor = atomic_load_explicit(&fd_cache[fd].minor,
					      memory_order_relaxed);
		errno = saved;
		return atomic_load_explicit(&fd_cache[fd].kind,
					    memory_order_relaxed);
	}
	kind = peer_is_daemon(fd) ? kind_by_name(fd, minor) : CLIENT_NOT_OURS;
	if (cached && kind != CLIENT_NOT_OURS) {
		atomic_store_explicit(&fd_cache[fd].kind, kind,
				      memory_order_relaxed);
		atomic_store_explicit(&fd_cache[fd].minor, *minor,
				      memory_order_relaxed);
	}
	fd_cache_set(fd, kind != CLIENT_NOT_OURS ? FD_OURS : FD_NOT_OURS,
		     st.st_ino);
	errno = saved;
	return kind;
}

/* What fd was seen to be, without looking again: for a caller that has
 * just classified it. */
static enum client_kind fd_cached_kind(int fd)
{
	if (fd < 0 || fd >= FD_CACHE ||
	    atomic_load_explicit(&fd_cache[fd].seen, memory_order_relaxed) !=
		    FD_OURS)
		return CLIENT_NOT_OURS;
	return atomic_load_explicit(&fd_cache[fd].kind, memory_order_relaxed);
}

enum client_kind client_fd_kind(int fd, dev_t *node)
{
	unsigned int minor;
	enum client_kind kind = fd_classify(fd, &minor);

	if (node)
		*node = minor == NO_NODE ? 0 :
			kind == CLIENT_VFIO_GROUP ?
				makedev(IOASID_VFIO_GROUP_MAJOR, minor) :
				makedev(IOASID_VFIO_DEVICE_MAJOR, minor);
	return kind;
}

bool client_fd_is_vfio(int fd)
{
	return client_fd_kind(fd, NULL) == CLIENT_VFIO_DEVICE;
}

bool client_fd_is_file(int fd)
{
	return client_fd_kind(fd, NULL) > CLIENT_CONNECTION;
}

bool client_fd_is_ours(int fd)
{
	return client_fd_kind(fd, NULL) != CLIENT_NOT_OURS;
}

void client_fd_forget(int fd)
{
	fd_cache_set(fd, FD_UNSEEN, 0);
}

/* ---- building a request --------------------------------------------- */

struct req_builder {
	unsigned char buf[IOASID_WIRE_MAX_MSG];
	size_t len;
	uint32_t nsegs;
};

static struct ioasid_wire_seg *add_seg(struct req_builder *b, uint64_t uptr,
				       uint64_t len, uint32_t flags, bool data)
{
	struct ioasid_wire_seg seg = { .uptr = uptr, .len = (uint32_t)len,
				       .flags = flags };
	struct ioasid_wire_seg *p;

	if (len > UINT32_MAX || uptr + len < uptr)
		return NULL;
	if (b->len + sizeof(seg) + (data ? len : 0) > sizeof(b->buf))
		return NULL; /* the daemon reaches it directly instead */
	p = (struct ioasid_wire_seg *)(b->buf + b->len);
	memcpy(p, &seg, sizeof(seg));
	b->len += sizeof(seg);
	if (data) {
		if (shim_read(uptr, b->buf + b->len, len)) {
			p->flags = (p->flags & ~IOASID_SEG_DATA) | IOASID_SEG_FAULT;
		} else {
			p->flags |= IOASID_SEG_DATA;
			b->len += len;
		}
	}
	b->nsegs++;
	return p;
}

/* Whether the argument struct can take the answer: written back unchanged. */
static uint32_t probe_writable(uint64_t uptr, const void *image, size_t len)
{
	return shim_write(uptr, image, len) ? IOASID_SEG_READONLY :
							 IOASID_SEG_WRITABLE;
}

/*
 * Returns the descriptor the struct's fd field names, -1 for none, or
 * -EFAULT when not even the size can be read: the kernel's first copy
 * fails there, and the daemon, which reads through /proc/PID/mem, could
 * read what the program may not (a PROT_NONE page).
 */
static int add_struct_segs(struct req_builder *b,
			   const struct ioasid_ioctl_desc *d, uint64_t arg)
{
	unsigned char image[IOASID_WIRE_MAX_MSG / 64] = { 0 };
	struct ioasid_wire_seg *s;
	uint32_t size;
	uint64_t len;
	int32_t fd = -1;

	if (d->arg == IOASID_ARG_SIZED) {
		if (shim_read(arg, &size, sizeof(size)))
			return -EFAULT;
		len = MIN((uint64_t)size, d->size);
	} else {
		len = d->size;
		if (shim_read(arg, image, len))
			len = d->min_size;
	}
	s = add_seg(b, arg, len, 0, true);
	if (!s || !(s->flags & IOASID_SEG_DATA))
		return -1;
	memcpy(image, s + 1, len);
	s->flags |= probe_writable(arg, image, len);
	fd = ioasid_ioctl_desc_fd(d, image, len);

	if (d->arg == IOASID_ARG_SIZED && size > d->size) {
		int z = shim_zeroed(arg + d->size, size - d->size);

		add_seg(b, arg + d->size, size - d->size,
			z < 0 ? IOASID_SEG_FAULT :
			z ? IOASID_SEG_ZEROED : IOASID_SEG_NONZERO, false);
	}

	uint32_t op = ioasid_ioctl_desc_op(d, image, len);

	/* Memory it pins, resident before the daemon pins it. */
	ioasid_ioctl_desc_populate(d, image, len, op);

	/* The buffers its pointer fields name, per the table.  What the
	 * daemon writes comes back in the reply, which holds less than a
	 * request: a large output buffer it writes directly instead. */

	for (unsigned int i = 0; i < d->nfields; i++) {
		const struct ioasid_field *f = &d->fields[i];
		uint64_t uptr, plen;

		if (!ioasid_field_is_ptr(f) || !ioasid_field_active(d, f, op))
			continue;
		uptr = ioasid_field_get(f, image, len);
		plen = ioasid_ptr_extent(f, image, len);
		if (!plen || ((f->ptr.dir & IOASID_PTR_OUT) &&
			      plen > IOASID_WIRE_MAX_MSG / 8))
			continue;
		s = add_seg(b, uptr, plen,
			    (f->ptr.dir & IOASID_PTR_OUT) ? IOASID_SEG_WRITABLE : 0,
			    f->ptr.dir & IOASID_PTR_IN);
		/* Memory we can read but not write must fail the handler's
		 * write, before it acts, as the kernel's copy_to_user would. */
		if (s && f->ptr.dir == IOASID_PTR_INOUT &&
		    (s->flags & IOASID_SEG_DATA))
			s->flags |= probe_writable(uptr, s + 1, plen);
	}
	return fd;
}

/*
 * Send a request, with the descriptors in fds attached: the daemon needs
 * the files themselves (IOAS_MAP_FILE's, SET_IRQS's event fds), not our
 * numbers for them.  One number that is no open descriptor goes as -1,
 * and the daemon answers EBADF; among several, the call fails so.
 */
static int send_request(int sock, unsigned char *buf, size_t len,
			const int *fds, unsigned int nfds)
{
	union ioasid_wire_fd_control control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int32_t none = -1;
	int fd = nfds == 1 ? fds[0] : -1;

	if (nfds > 1) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(IOASID_WIRE_MAX_FDS * sizeof(int))];
		} many;
		struct cmsghdr *cm;

		if (nfds > IOASID_WIRE_MAX_FDS)
			return -EINVAL;
		msg.msg_control = many.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len)
			return 0;
		return errno == EBADF ? -EBADF : -EIO;
	}
	if (fd >= 0) {
		ioasid_wire_attach_fd(&msg, &control, fd);
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len)
			return 0;
		if (errno != EBADF)
			return -EIO;
		memcpy(buf + offsetof(struct ioasid_wire_req, fd), &none,
		       sizeof(none));
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EIO;
}

/* Whether the daemon's refusal of this connection is waiting to be read. */
static bool refused_waiting(int fd)
{
	struct ioasid_wire_rep rep;
	ssize_t n = recv(fd, &rep, sizeof(rep), MSG_PEEK | MSG_DONTWAIT);

	/* A hang-up with our request unread reports a reset once, before
	 * what was queued for us. */
	if (n < 0 && errno == ECONNRESET)
		n = recv(fd, &rep, sizeof(rep), MSG_PEEK | MSG_DONTWAIT);
	return n == (ssize_t)sizeof(rep) && rep.magic == IOASID_WIRE_MAGIC &&
	       rep.kind == IOASID_WIRE_REFUSED;
}

/* ---- the exchange ----------------------------------------------------- */

/*
 * One exchange at a time in this process; between processes sharing a
 * connection, a POSIX record lock on it (lock_fd).  That lock belongs to
 * the process and goes with any close of a descriptor of the connection,
 * so closes of ours wait for the exchange in flight (client_quiesce);
 * and fork() waits for it too, so a child starts with none half done.
 */
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;

void client_quiesce_begin(void)
{
	pthread_mutex_lock(&exchange_lock);
}

void client_quiesce_end(void)
{
	pthread_mutex_unlock(&exchange_lock);
}
static atomic_uint next_seq;

/*
 * Who we are, without a system call per request.  The pid lives in a
 * page the kernel empties in the child of any fork (MADV_WIPEONFORK),
 * however the child was made; a thread's tid is kept with the pid it was
 * read under, so the thread a child starts with reads its own afresh.
 */
static _Atomic pid_t *pid_page;
static __thread struct {
	pid_t pid, tid;
} self_thread;

static void pid_page_init(void)
{
	void *p = real.mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	if (madvise(p, 4096, MADV_WIPEONFORK)) {
		real.munmap(p, 4096);
		return;
	}
	pid_page = p;
}

static pid_t self_pid(void)
{
	pid_t pid;

	if (!pid_page)
		return getpid();
	pid = atomic_load_explicit(pid_page, memory_order_relaxed);
	if (!pid) {
		pid = getpid();
		atomic_store_explicit(pid_page, pid, memory_order_relaxed);
	}
	return pid;
}

static pid_t self_tid(void)
{
	pid_t pid = self_pid();

	if (self_thread.pid != pid) {
		self_thread.tid = gettid();
		self_thread.pid = pid;
	}
	return self_thread.tid;
}

/*
 * The capabilities we claim: read each time, since capset, a uid change
 * or prctl may have changed them by any path, and the daemon takes a
 * claim of none at its word.
 */
static uint64_t thread_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return data[0].effective | ((uint64_t)data[1].effective << 32);
}

/* The header fields that say who sends a request, and in what order. */
static void stamp_request(struct ioasid_wire_req *req)
{
	req->seq = atomic_fetch_add(&next_seq, 1) ^ ((uint32_t)self_pid() << 16);
	req->cap_effective = thread_caps();
	req->tid = (uint32_t)self_tid();
	req->fail_nth = fail_nth_take();
}

static int lock_fd(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_len = 1 };

	while (real.fcntl(fd, F_SETLKW, &fl)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* A descriptor that came with a message we do not keep. */
static void close_received(int *fd)
{
	if (*fd >= 0)
		real.close(*fd);
	*fd = -1;
}

/* How long to look for the daemon's answer before sleeping on it: as
 * long as looking pays (wire/spin.h).  The daemon looks for our next
 * request the same way. */
static struct spin_budget reply_spin = SPIN_BUDGET_INIT;

struct recv_wait {
	int fd;
	struct msghdr *msg;
};

static int64_t recv_look(void *arg)
{
	struct recv_wait *w = arg;
	ssize_t n = real.recvmsg(w->fd, w->msg,
				 MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	return n < 0 && errno == EAGAIN ? SPIN_NOTHING : n;
}

static int64_t recv_sleep(void *arg)
{
	struct recv_wait *w = arg;

	return real.recvmsg(w->fd, w->msg, MSG_CMSG_CLOEXEC);
}

static ssize_t recv_spinning(int fd, struct msghdr *msg)
{
	struct recv_wait w = { fd, msg };

	return (ssize_t)spin_wait(&reply_spin, recv_look, recv_sleep, &w);
}

/*
 * The daemon cannot reach our memory itself (it may not ptrace us): it
 * asks, mid-request, and we read or write our own memory for it.
 */
static void answer_for_memory(int fd, const unsigned char *msg, size_t len)
{
	static __thread unsigned char out[sizeof(struct ioasid_wire_req) +
					  sizeof(struct ioasid_wire_seg) +
					  IOASID_WIRE_MEM_CHUNK];
	struct ioasid_wire_rep ask;
	struct ioasid_wire_req ans = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_MEM_REPLY,
		.version = IOASID_WIRE_VERSION,
		.fd = -1,
	};
	struct ioasid_wire_cursor c;
	struct ioasid_wire_seg seg;
	const void *data;
	size_t olen = sizeof(ans);
	int64_t result = 0;

	memcpy(&ask, msg, sizeof(ask));
	ans.seq = ask.seq;
	c = (struct ioasid_wire_cursor){ msg + sizeof(ask), msg + len,
					 ask.nsegs };
	if (ioasid_wire_next_seg(&c, &seg, &data) ||
	    seg.len > IOASID_WIRE_MEM_CHUNK) {
		result = -EINVAL;
	} else if (ask.kind == IOASID_WIRE_MEM_WRITE) {
		if (!data || shim_write(seg.uptr, data, seg.len))
			result = -EFAULT;
	} else {
		unsigned char *dst = out + sizeof(ans) + sizeof(seg);

		if (shim_read(seg.uptr, dst, seg.len)) {
			result = -EFAULT;
		} else {
			seg.flags = IOASID_SEG_DATA;
			memcpy(out + sizeof(ans), &seg, sizeof(seg));
			olen += sizeof(seg) + seg.len;
			ans.nsegs = 1;
		}
	}
	ans.arg = (uint64_t)result;
	memcpy(out, &ans, sizeof(ans));
	send(fd, out, olen, MSG_NOSIGNAL);
}

/*
 * The daemon reaches our memory only through descriptors we open
 * ourselves: the kernel checks them against our rights, and they show
 * this image only.  It asks once per connection (and again after an
 * exec); they are closed here once sent, so the program never sees them.
 */
static void answer_with_handle(int fd, const struct ioasid_wire_rep *ask)
{
	struct ioasid_wire_req ans = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_MEM_REPLY,
		.version = IOASID_WIRE_VERSION,
		.seq = ask->seq,
		.fd = -1,
	};
	int fds[2] = {
		real.open("/proc/self/mem", O_RDWR | O_CLOEXEC, 0),
		real.open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0),
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control;
	struct iovec iov = { .iov_base = &ans, .iov_len = sizeof(ans) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fds[0] >= 0 && fds[1] >= 0) {
		struct cmsghdr *cm;

		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	} else {
		/* Not dumpable (it changed credentials): not even we may. */
		ans.arg = (uint64_t)(int64_t)-EACCES;
	}
	sendmsg(fd, &msg, MSG_NOSIGNAL);
	for (size_t i = 0; i < 2; i++)
		if (fds[i] >= 0)
			real.close(fds[i]);
}

/*
 * Receive our reply, and the descriptor it may carry (*rfd, else -1):
 * close-on-exec, as the kernel makes every file iommufd hands out.
 */
static int recv_reply(int fd, const struct ioasid_wire_req *req,
		      unsigned char *buf, size_t cap, size_t *len, int *rfd)
{
	const uint32_t seq = req->seq;
	bool reset_seen = false;

	for (;;) {
		/* SO_PASSCRED stamps the daemon's credentials on it too. */
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct ucred)) +
				 CMSG_SPACE(sizeof(int))];
		} control;
		struct iovec iov = { .iov_base = buf, .iov_len = cap };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		struct ioasid_wire_rep rep;
		struct cmsghdr *cm;
		ssize_t n = recv_spinning(fd, &msg);

		if (n < 0 && errno == EINTR)
			continue;
		/* Reported once, before a refusal that may be queued. */
		if (n < 0 && errno == ECONNRESET && !reset_seen) {
			reset_seen = true;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, -1);
			continue;
		}
		*rfd = -1;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
				memcpy(rfd, CMSG_DATA(cm), sizeof(int));
		client_fd_maybe_ours(*rfd);
		if (n < (ssize_t)sizeof(rep)) {
			close_received(rfd);
			return -EIO;
		}
		memcpy(&rep, buf, sizeof(rep));
		if (rep.magic == IOASID_WIRE_MAGIC &&
		    rep.kind == IOASID_WIRE_DOORBELL) {
			close_received(rfd);
			continue; /* rung again after the reply if it applies */
		}
		if (rep.magic == IOASID_WIRE_MAGIC && rep.seq == seq &&
		    (rep.kind == IOASID_WIRE_MEM_READ ||
		     rep.kind == IOASID_WIRE_MEM_WRITE)) {
			close_received(rfd);
			answer_for_memory(fd, buf, (size_t)n);
			continue;
		}
		if (rep.magic == IOASID_WIRE_MAGIC && rep.seq == seq &&
		    rep.kind == IOASID_WIRE_MEM_HANDLE) {
			close_received(rfd);
			answer_with_handle(fd, &rep);
			continue;
		}
		/* The daemon could not take this connection on. */
		if (rep.magic == IOASID_WIRE_MAGIC &&
		    rep.kind == IOASID_WIRE_REFUSED) {
			close_received(rfd);
			return rep.result < 0 && rep.result >= -4095 ?
				       (int)rep.result :
				       -EIO;
		}
		if (rep.magic != IOASID_WIRE_MAGIC || rep.kind != IOASID_WIRE_REPLY) {
			close_received(rfd);
			return -EIO;
		}
		if (rep.seq != seq) {
			/* Left over from a process that died mid-call. */
			close_received(rfd);
			continue;
		}
		*len = (size_t)n;
		fail_nth_put_back(req->fail_nth, rep.fail_nth_left);
		return 0;
	}
}

/*
 * Apply the daemon's writes, then install a descriptor it handed us: its
 * number goes where the daemon said, or is the result.  Whatever fails,
 * a descriptor we do not report is closed, never leaked.
 */
static long apply_reply(const unsigned char *buf, size_t len, int rfd,
			struct ioasid_wire_rep *head)
{
	struct ioasid_wire_rep rep;
	struct ioasid_wire_cursor c;
	struct ioasid_wire_seg seg;
	const void *data;
	long result;
	int rc;

	memcpy(&rep, buf, sizeof(rep));
	result = rep.result;
	if (head)
		*head = rep;
	c = (struct ioasid_wire_cursor){ buf + sizeof(rep), buf + len, rep.nsegs };
	while ((rc = ioasid_wire_next_seg(&c, &seg, &data)) == 0) {
		if (data && shim_write(seg.uptr, data, seg.len) &&
		    result >= 0)
			result = -EFAULT;
	}
	if (rc < 0)
		result = -EIO;
	if (rfd >= 0 && result >= 0 && rep.has_fd) {
		int32_t num = rfd;

		if (!rep.fd_uptr)
			return rfd;
		if (!shim_write(rep.fd_uptr, &num, sizeof(num)))
			return result;
		result = -EFAULT;
	} else if (result >= 0 && rep.has_fd) {
		result = -EIO; /* promised a descriptor, none came */
	}
	close_received(&rfd);
	return result;
}

/* Doorbells waiting in a file's socket: the daemon rings anew after our
 * next reply if there is still something to read. */
static void drain_doorbells(int fd)
{
	struct ioasid_wire_rep bell;

	while (recv(fd, &bell, sizeof(bell), MSG_DONTWAIT) > 0)
		;
}

/*
 * One request and its reply through the socket: the result, or -errno.
 * Holds the connection's record lock (see above).
 */
static long socket_exchange(int fd, struct req_builder *b,
			    const struct ioasid_wire_req *req, const int *fds,
			    unsigned int nfds, bool drain,
			    struct ioasid_wire_rep *head)
{
	size_t rlen;
	long result;
	int rfd = -1;

	result = lock_fd(fd, F_WRLCK);
	if (result)
		return result;
	if (drain)
		drain_doorbells(fd);
	result = send_request(fd, b->buf, b->len, fds, nfds);
	/* A daemon that refused the connection said why before it hung
	 * up, maybe before we sent: the reply reads that first. */
	if (!result || refused_waiting(fd))
		result = recv_reply(fd, req, b->buf, sizeof(b->buf), &rlen,
				    &rfd);
	if (!result)
		result = apply_reply(b->buf, rlen, rfd, head);
	lock_fd(fd, F_UNLCK);
	return result;
}

/* ---- request slots (wire/slot.h) ---------------------------------------- */

/*
 * A connection gets a slot once it has made this many requests that a
 * slot can carry (a program that opens /dev/iommu for a call or two
 * would not pay back the slot's making); IOASID_SLOT_AFTER sets it, and
 * "never" turns slots off.  Never before the first: that one reads the
 * daemon's refusal of the connection, if it refused it.
 */
#define SLOT_AFTER 16

/* By fd number, under exchange_lock.  An entry is this process' only
 * (pid: a child inherits the table, not the mappings) and this socket's
 * (ino: the number may have been closed and reused behind our back). */
static struct slot_entry {
	struct ioasid_wire_slot *slot;
	ino_t ino;
	pid_t pid;
	uint32_t uses;
	bool refused; /* the daemon would not take one */
} slots[FD_CACHE];
static int slot_after = -2; /* -2: not read yet; -1: never */
/* The numbers that have one, this process' (a child's list is empty:
 * its entries say another pid). */
#define MAX_SLOTS 64
static int live[MAX_SLOTS];
static unsigned int nlive;

static int slot_threshold(void)
{
	if (slot_after == -2) {
		const char *v = getenv("IOASID_SLOT_AFTER");
		char *end;
		long n;

		slot_after = SLOT_AFTER;
		if (v && !strcmp(v, "never")) {
			slot_after = -1;
		} else if (v && *v) {
			n = strtol(v, &end, 10);
			if (!*end && n >= 0 && n <= INT_MAX)
				slot_after = n ? (int)n : 1;
		}
	}
	return slot_after;
}

/* Give a slot up: the daemon's thread waiting on it goes back to the
 * socket, which our next request on it then takes. */
static void slot_give_up(struct ioasid_wire_slot *slot)
{
	ioasid_slot_move(slot, IOASID_SLOT_OPEN, IOASID_SLOT_CLOSED);
}

/* How many numbers in `live` are ours: none in a child, whose list
 * (and table) is the parent's. */
static unsigned int slots_live(void)
{
	if (nlive && slots[live[0]].pid != self_pid())
		nlive = 0;
	return nlive;
}

static void slot_forget(int fd)
{
	struct slot_entry *e = &slots[fd];

	if (!e->pid)
		return; /* never used: left untouched, and so not resident */
	if (e->slot && e->pid == self_pid()) {
		slot_give_up(e->slot);
		real.munmap(e->slot, IOASID_WIRE_SLOT_SIZE);
		for (unsigned int i = 0; i < nlive; i++)
			if (live[i] == fd)
				live[i] = live[--nlive];
	}
	*e = (struct slot_entry){ 0 };
}

void client_fd_closing(int fd)
{
	/* The daemon sees a close only by the socket, and a request through
	 * a slot would pass it by: every slot is given up, and the next
	 * request on each goes by the socket, after the close. */
	for (unsigned int i = 0; i < slots_live(); i++)
		slot_give_up(slots[live[i]].slot);
	if (fd >= 0 && fd < FD_CACHE)
		slot_forget(fd);
}

/*
 * Make a slot for connection fd and hand it to the daemon with our
 * memory: the mapping, or NULL when that fails (then the connection
 * keeps to the socket).
 */
static struct ioasid_wire_slot *slot_make(int fd)
{
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_SLOT,
		.version = IOASID_WIRE_VERSION,
		.fd = IOASID_WIRE_FDS_IN_DATA,
		.flags = IOASID_WIRE_REQ_SLOT,
	};
	struct ioasid_wire_slot *slot = MAP_FAILED;
	struct req_builder *b = malloc(sizeof(*b));
	int fds[3] = { -1, -1, -1 };
	long rc = -ENOMEM;

	if (!b)
		return NULL;
	fds[0] = memfd_create("ioasid-slot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fds[0] < 0 || ftruncate(fds[0], IOASID_WIRE_SLOT_SIZE) ||
	    real.fcntl(fds[0], F_ADD_SEALS,
		       F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto out_close;
	slot = real.mmap(NULL, IOASID_WIRE_SLOT_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fds[0], 0);
	if (slot == MAP_FAILED ||
	    madvise(slot, IOASID_WIRE_SLOT_SIZE, MADV_DONTFORK))
		goto out_close;
	fds[1] = real.open("/proc/self/mem", O_RDWR | O_CLOEXEC, 0);
	fds[2] = real.open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fds[1] < 0 || fds[2] < 0)
		goto out_close;
	stamp_request(&req);
	memcpy(b->buf, &req, sizeof(req));
	b->len = sizeof(req);
	rc = socket_exchange(fd, b, &req, fds, 3, false, NULL);
out_close:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			real.close(fds[i]);
	free(b);
	if (rc && slot != MAP_FAILED)
		real.munmap(slot, IOASID_WIRE_SLOT_SIZE);
	return rc ? NULL : slot;
}

/* Connection fd's slot, made on its SLOT_AFTER-th request; or NULL. */
static struct ioasid_wire_slot *slot_of(int fd)
{
	struct slot_entry *e;
	pid_t pid = self_pid();
	ino_t ino;

	if (fd < 0 || fd >= FD_CACHE || slot_threshold() < 0)
		return NULL;
	e = &slots[fd];
	ino = atomic_load_explicit(&fd_cache[fd].ino, memory_order_relaxed);
	if (e->pid != pid || e->ino != ino) {
		slot_forget(fd);
		*e = (struct slot_entry){ .ino = ino, .pid = pid };
	}
	if (e->slot || e->refused || e->uses++ < (uint32_t)slot_threshold())
		return e->slot;
	e->slot = slots_live() < MAX_SLOTS ? slot_make(fd) : NULL;
	e->refused = !e->slot;
	if (e->slot)
		live[nlive++] = fd;
	return e->slot;
}

/* The reply in slot is read: on to OPEN, or CLOSED when the daemon
 * closed it after the reply, or when `close`. */
static void slot_read(struct ioasid_wire_slot *slot, bool close)
{
	if (close || !ioasid_slot_pass(slot, IOASID_SLOT_DONE, IOASID_SLOT_OPEN))
		ioasid_slot_move(slot, IOASID_SLOT_DONE, IOASID_SLOT_CLOSED);
	ioasid_slot_move(slot, IOASID_SLOT_LAST, IOASID_SLOT_CLOSED);
}

/* A wait for the answer in slot, on connection fd. */
struct slot_wait {
	struct ioasid_wire_slot *slot;
	int fd;
};

static int64_t slot_look(void *arg)
{
	struct slot_wait *sw = arg;
	uint32_t st = ioasid_slot_load(sw->slot) & IOASID_SLOT_STATE;

	return st == IOASID_SLOT_POSTED ? SPIN_NOTHING : st;
}

/* How long a sleep on the slot lasts before we ask whether the daemon
 * is still there. */
#define SLOT_HANGUP_CHECK_NS 100000000u

static int64_t slot_sleep(void *arg)
{
	struct slot_wait *sw = arg;
	struct ioasid_wire_slot *slot = sw->slot;

	for (;;) {
		uint32_t st = ioasid_slot_load(slot);
		struct pollfd p = { .fd = sw->fd, .events = POLLRDHUP };

		if ((st & IOASID_SLOT_STATE) != IOASID_SLOT_POSTED)
			return st & IOASID_SLOT_STATE;
		st = ioasid_slot_sleep(slot, st, SLOT_HANGUP_CHECK_NS);
		if ((st & IOASID_SLOT_STATE) != IOASID_SLOT_POSTED)
			return st & IOASID_SLOT_STATE;
		if (poll(&p, 1, 0) != 0)
			return IOASID_SLOT_CLOSED; /* the daemon hung up */
	}
}

/*
 * One request and its reply through fd's slot.  Returns true with the
 * result in *result when the daemon answered; false when the request is
 * to go by the socket instead (the slot is closed, or the daemon sent it
 * back): then nothing was done.
 */
static bool slot_exchange(int fd, struct ioasid_wire_slot *slot,
			  struct req_builder *b,
			  const struct ioasid_wire_req *req,
			  struct ioasid_wire_rep *head, long *result)
{
	struct slot_wait sw = { slot, fd };
	struct ioasid_wire_rep rep;
	uint32_t len, st;

	if ((ioasid_slot_load(slot) & IOASID_SLOT_STATE) != IOASID_SLOT_OPEN)
		return false;
	memcpy(slot->buf, b->buf, b->len);
	slot->len = (uint32_t)b->len;
	if (!ioasid_slot_move(slot, IOASID_SLOT_OPEN, IOASID_SLOT_POSTED))
		return false;
	st = (uint32_t)spin_wait(&reply_spin, slot_look, slot_sleep, &sw);
	if (st != IOASID_SLOT_DONE && st != IOASID_SLOT_LAST)
		return false; /* the daemon closed it unanswered */
	len = slot->len;
	memcpy(&rep, slot->buf, MIN(sizeof(rep), sizeof(slot->buf)));
	if (len < sizeof(rep) || len > sizeof(slot->buf) ||
	    rep.magic != IOASID_WIRE_MAGIC || rep.seq != req->seq ||
	    (rep.kind != IOASID_WIRE_REPLY && rep.kind != IOASID_WIRE_RESEND)) {
		*result = -EIO;
		slot_read(slot, true);
		return true;
	}
	if (rep.kind == IOASID_WIRE_RESEND) {
		/* The daemon's thread goes back to the socket with it. */
		slot_read(slot, true);
		return false;
	}
	fail_nth_put_back(req->fail_nth, rep.fail_nth_left);
	*result = apply_reply(slot->buf, len, -1, head);
	slot_read(slot, false);
	return true;
}

/*
 * One request and its reply on fd, one exchange at a time per process
 * (and per open file, across processes): the result, or -errno.  A
 * file's stale doorbells are dropped first when `drain`.  A request a
 * slot can carry (`slottable`: no descriptors either way, on a
 * connection) goes through the connection's slot when the daemon has
 * it open; any other, on a connection with a slot, asks the daemon to
 * open it again.
 */
static long exchange(int fd, struct req_builder *b,
		     const struct ioasid_wire_req *req, const int *fds,
		     unsigned int nfds, bool drain, bool slottable,
		     struct ioasid_wire_rep *head)
{
	struct ioasid_wire_slot *slot = NULL;
	long result;

	pthread_mutex_lock(&exchange_lock);
	if (slottable)
		slot = slot_of(fd);
	if (slot && slot_exchange(fd, slot, b, req, head, &result))
		goto out_unlock;
	if (slot) {
		struct ioasid_wire_req *sent = (struct ioasid_wire_req *)b->buf;

		/* Sent by the socket, the daemon must not wait on the slot
		 * meanwhile; it opens it again before the reply. */
		slot_give_up(slot);
		sent->flags |= IOASID_WIRE_REQ_SLOT;
	}
	result = socket_exchange(fd, b, req, fds, nfds, drain, head);
out_unlock:
	pthread_mutex_unlock(&exchange_lock);
	return result;
}

/*
 * VFIO_DEVICE_BIND_IOMMUFD names the context by our descriptor of it;
 * only that connection knows which context it is.  So the request goes
 * there, with the device file attached instead: the connection to send
 * on, or -errno.
 */
static int bind_route(int devfd, unsigned long arg, int *pass_fd,
		      struct ioasid_wire_req *req)
{
	struct vfio_device_bind_iommufd bind;

	if (shim_read(arg, &bind, offsetof(struct vfio_device_bind_iommufd,
					   token_uuid_ptr)))
		return -EFAULT;
	/* The kernel's order: what it can judge alone first. */
	if (bind.argsz < offsetof(struct vfio_device_bind_iommufd,
				  token_uuid_ptr) ||
	    bind.iommufd < 0 || (bind.flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN))
		return -EINVAL;
	if (!client_fd_is_ours(bind.iommufd) || client_fd_is_file(bind.iommufd))
		return -EBADF;
	*pass_fd = devfd;
	req->fd = devfd;
	req->__reserved = IOASID_ON_VFIO_DEVICE;
	return bind.iommufd;
}

/*
 * VFIO_GROUP_SET_CONTAINER names the container by our descriptor of it,
 * a /dev/iommu connection: sent there, with the group file attached, as
 * a bind is (bind_route).
 */
static int container_route(int groupfd, unsigned long arg, int *pass_fd,
			   struct ioasid_wire_req *req)
{
	int32_t container;

	if (shim_read(arg, &container, sizeof(container)))
		return -EFAULT;
	if (container < 0)
		return -EBADF;
	/* Not a container of ours: the kernel's "not a VFIO container". */
	if (!client_fd_is_ours(container) || client_fd_is_file(container))
		return real.fcntl(container, F_GETFD) < 0 ? -EBADF : -EBADFD;
	*pass_fd = groupfd;
	req->fd = groupfd;
	req->__reserved = IOASID_ON_VFIO_GROUP;
	return container;
}

/*
 * An ioctl whose argument points at an __s32 or a name: those bytes go
 * along (a name up to its NUL, or the most a name may be).
 */
static void add_value_seg(struct req_builder *b,
			  const struct ioasid_ioctl_desc *d, unsigned long arg)
{
	char name[IOASID_ARG_STRING_MAX];
	size_t len = 0;

	if (d->arg == IOASID_ARG_S32) {
		add_seg(b, arg, 4, 0, true);
		return;
	}
	while (len < sizeof(name) &&
	       !shim_read(arg + len, &name[len], 1) && name[len])
		len++;
	if (len < sizeof(name))
		len++; /* the NUL */
	add_seg(b, arg, len, 0, true);
}

/*
 * One ioctl request: made on file `on_fd` (fd, or the /dev/iommu
 * connection a bind goes to), with fds attached; fd_field says what the
 * request's fd field holds (our number for a single one, or
 * IOASID_WIRE_FDS_IN_DATA).
 */
static long ioctl_request(int fd, const struct ioasid_ioctl_desc *d,
			  unsigned long cmd, unsigned long arg, bool vfio,
			  const int *fds, unsigned int nfds, int32_t fd_field)
{
	struct req_builder *b;
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = IOASID_WIRE_IOCTL,
		.version = IOASID_WIRE_VERSION,
		.cmd = (uint32_t)cmd,
		.arg = arg,
	};
	long result;
	int pass_fd = -1, on_fd = fd;

	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->len = sizeof(req);
	b->nsegs = 0;
	if (d->arg == IOASID_ARG_SIZED || d->arg == IOASID_ARG_ARGSZ)
		pass_fd = add_struct_segs(b, d, arg);
	if (pass_fd == -EFAULT) {
		free(b);
		return -EFAULT;
	}
	else if (d->arg == IOASID_ARG_S32 || d->arg == IOASID_ARG_STRING)
		add_value_seg(b, d, arg);
	req.fd = pass_fd;
	if (nfds) {
		req.fd = fd_field;
	} else if (pass_fd >= 0) {
		fds = &pass_fd;
		nfds = 1;
	}
	if ((vfio && cmd == VFIO_DEVICE_BIND_IOMMUFD) ||
	    (d->on == IOASID_ON_VFIO_GROUP && cmd == VFIO_GROUP_SET_CONTAINER)) {
		on_fd = cmd == VFIO_GROUP_SET_CONTAINER ?
				container_route(fd, arg, &pass_fd, &req) :
				bind_route(fd, arg, &pass_fd, &req);
		if (on_fd < 0) {
			free(b);
			return on_fd;
		}
		fds = &pass_fd;
		nfds = 1;
	}
	stamp_request(&req);
	req.nsegs = b->nsegs;
	memcpy(b->buf, &req, sizeof(req));
	/* What a slot carries: a connection's or a device's own calls
	 * that move no file (a device's interrupts name event fds). */
	result = exchange(on_fd, b, &req, fds, nfds, false,
			  (d->on == IOASID_ON_IOMMUFD ||
			   d->on == IOASID_ON_VFIO_DEVICE) &&
				  on_fd == fd && !nfds &&
				  cmd != VFIO_DEVICE_SET_IRQS &&
				  !ioasid_ioctl_desc_moves_files(d),
			  NULL);
	free(b);
	return result;
}

/*
 * VFIO_DEVICE_SET_IRQS with event fds: the descriptors go along in the
 * order the data names them, at most IOASID_WIRE_MAX_FDS per request; a
 * call naming more goes as several, each for its part of the range, as
 * a program may make it itself.  The result, or -errno.
 */
static long set_irqs(int fd, const struct ioasid_ioctl_desc *d,
		     unsigned long arg)
{
	struct vfio_irq_set set;
	struct {
		struct vfio_irq_set s;
		int32_t data[IOASID_WIRE_MAX_FDS];
	} part;
	long result = 0;

	if (shim_read(arg, &set, sizeof(set)))
		return -EFAULT;
	if (!(set.flags & VFIO_IRQ_SET_DATA_EVENTFD) || !set.count ||
	    set.argsz < sizeof(set) + 4ull * set.count)
		return ioctl_request(fd, d, VFIO_DEVICE_SET_IRQS, arg, true,
				     NULL, 0, -1);
	for (uint32_t at = 0; at < set.count && result >= 0;) {
		uint32_t n = MIN(set.count - at, (uint32_t)IOASID_WIRE_MAX_FDS);
		int fds[IOASID_WIRE_MAX_FDS];
		unsigned int nfds = 0;

		if (shim_read(arg + sizeof(set) + 4ull * at, part.data, 4 * n))
			return -EFAULT;
		part.s = set;
		part.s.argsz = (uint32_t)(sizeof(set) + 4 * n);
		part.s.start = set.start + at;
		part.s.count = n;
		for (uint32_t i = 0; i < n; i++)
			if (part.data[i] >= 0)
				fds[nfds++] = part.data[i];
		result = ioctl_request(fd, d, VFIO_DEVICE_SET_IRQS,
				       (uintptr_t)&part, true, fds, nfds,
				       nfds ? IOASID_WIRE_FDS_IN_DATA : -1);
		at += n;
	}
	return result;
}

long client_ioctl(int fd, enum client_kind kind, unsigned long cmd,
		  unsigned long arg)
{
	static const enum ioasid_ioctl_on on_kind[] = {
		[CLIENT_CONNECTION] = IOASID_ON_IOMMUFD,
		[CLIENT_VFIO_DEVICE] = IOASID_ON_VFIO_DEVICE,
		[CLIENT_VFIO_GROUP] = IOASID_ON_VFIO_GROUP,
	};
	const struct ioasid_ioctl_desc *d;
	bool vfio = kind == CLIENT_VFIO_DEVICE;
	int saved = errno;
	long result;

	/* A file of ours with no ioctls: the kernel's anon files say so. */
	if (kind == CLIENT_OTHER_FILE || kind == CLIENT_NOT_OURS ||
	    cmd > UINT32_MAX)
		return -ENOTTY;
	d = ioasid_ioctl_desc_find_on(on_kind[kind], (unsigned int)cmd);
	if (!d)
		return -ENOTTY;
	if (vfio && cmd == VFIO_DEVICE_SET_IRQS)
		result = set_irqs(fd, d, arg);
	else
		result = ioctl_request(fd, d, cmd, arg, vfio, NULL, 0, -1);
	errno = saved;
	return result;
}

long client_kvm_link(int fd, bool add)
{
	return simple_request(fd, IOASID_WIRE_KVM_LINK, add, 0, 0, NULL);
}

long client_file_io(int fd, void *buf, size_t count, bool write)
{
	return client_file_pio(fd, buf, count, -1, write);
}

long client_file_pio(int fd, void *buf, size_t count, int64_t off, bool write)
{
	struct req_builder *b;
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = off < 0 ? (write ? IOASID_WIRE_WRITE : IOASID_WIRE_READ) :
				  (write ? IOASID_WIRE_PWRITE : IOASID_WIRE_PREAD),
		.version = IOASID_WIRE_VERSION,
		.arg = (uintptr_t)buf,
		.fd = -1,
		.offset = off < 0 ? 0 : (uint64_t)off,
	};
	long result;
	int saved = errno;

	/* One call moves at most what a count field can say, as read(2)
	 * may return less than asked. */
	if (count > UINT32_MAX)
		count = UINT32_MAX & ~(size_t)4095;
	req.cmd = (uint32_t)count;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->len = sizeof(req);
	b->nsegs = 0;
	if (count)
		add_seg(b, (uintptr_t)buf, count,
			write ? 0 : IOASID_SEG_WRITABLE, write);
	stamp_request(&req);
	req.nsegs = b->nsegs;
	memcpy(b->buf, &req, sizeof(req));

	/* A device's region accesses go through its slot. */
	result = exchange(fd, b, &req, NULL, 0, true,
			  off >= 0 && fd_cached_kind(fd) == CLIENT_VFIO_DEVICE,
			  NULL);
	free(b);
	errno = saved;
	return result;
}

/* ---- mmap of /dev/iommu ------------------------------------------------ */

/*
 * Our mappings of a context's regions: each keeps a copy of the
 * connection, as a kernel mapping holds its file, to say when it is gone.
 * A forked child inherits the mapping but not the daemon's count of it:
 * its munmap tells nobody.
 */
#define MAX_MAPPINGS 64

static struct mapping {
	uintptr_t addr;
	size_t len;
	uint64_t offset;
	int conn; /* -1: free slot */
	pid_t pid;
} mappings[MAX_MAPPINGS] = { [0 ... MAX_MAPPINGS - 1] = { .conn = -1 } };
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

/* Every lock of the shim, in its order, held across fork(). */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&exchange_lock);
	pthread_mutex_lock(&mappings_lock);
	fail_nth_lock();
}

static void atfork_release(void)
{
	fail_nth_unlock();
	pthread_mutex_unlock(&mappings_lock);
	pthread_mutex_unlock(&exchange_lock);
}

void client_init(void)
{
	pid_page_init();
	pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

/* A request without segments on fd: the result, or -errno. */
static long simple_request(int fd, uint16_t kind, uint64_t arg, uint32_t cmd,
			   uint32_t extra, struct ioasid_wire_rep *head)
{
	struct req_builder *b;
	struct ioasid_wire_req req = {
		.magic = IOASID_WIRE_MAGIC,
		.kind = kind,
		.version = IOASID_WIRE_VERSION,
		.cmd = cmd,
		.arg = arg,
		.fd = -1,
		.__reserved = extra,
	};
	long result;
	int saved = errno;

	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	stamp_request(&req);
	memcpy(b->buf, &req, sizeof(req));
	b->len = sizeof(req);

	result = exchange(fd, b, &req, NULL, 0, false, false, head);
	free(b);
	errno = saved;
	return result;
}

/* The first len bytes of mapping p, a device file's at offset: trapped. */
static int trap_registers(void *p, uint64_t len, int prot, int devfd,
			  uint64_t offset)
{
	int fd = real.fcntl(devfd, F_DUPFD_CLOEXEC, 3);
	unsigned int minor;

	client_fd_maybe_ours(fd);
	if (fd < 0)
		return -EMFILE;
	/* Known for what it is before a fault handler's write needs it
	 * (which then goes through the device's slot). */
	fd_classify(fd, &minor);
	if (mprotect(p, len, prot & ~PROT_WRITE) ||
	    mmio_trap_add((uintptr_t)p, len, fd, offset)) {
		real.close(fd);
		return -ENOMEM;
	}
	return 0;
}

static void untrap_registers(uintptr_t start, size_t len)
{
	int fd;

	while ((fd = mmio_trap_remove(start, len)) >= 0)
		real.close(fd);
}

void *client_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t offset, int *err)
{
	struct ioasid_wire_rep head = { 0 };
	struct mapping *slot = NULL;
	long memfd;
	void *p;
	int conn;

	if (offset < 0) {
		*err = EINVAL;
		return MAP_FAILED;
	}
	memfd = simple_request(fd, IOASID_WIRE_MMAP, (uint64_t)offset,
			       len > UINT32_MAX ? UINT32_MAX : (uint32_t)len,
			       (uint32_t)(prot & 0xff) |
				       ((flags & MAP_SHARED) ?
						IOASID_WIRE_MMAP_SHARED :
						0),
			       &head);
	if (memfd < 0) {
		*err = (int)-memfd;
		return MAP_FAILED;
	}
	conn = real.fcntl(fd, F_DUPFD_CLOEXEC, 3);
	client_fd_maybe_ours(conn);
	pthread_mutex_lock(&mappings_lock);
	for (int i = 0; i < MAX_MAPPINGS && conn >= 0; i++) {
		if (mappings[i].conn < 0) {
			slot = &mappings[i];
			slot->conn = conn;
			break;
		}
	}
	pthread_mutex_unlock(&mappings_lock);
	p = slot ? real.mmap(addr, len, prot, flags, (int)memfd,
			     (off_t)head.extra) :
		   MAP_FAILED;
	/* Registers that must see each store: read-only, stores trapped. */
	if (p != MAP_FAILED && head.trap && (prot & PROT_WRITE) &&
	    trap_registers(p, MIN(head.trap, (uint64_t)len), prot, fd,
			   (uint64_t)offset)) {
		real.munmap(p, len);
		p = MAP_FAILED;
		errno = ENOMEM;
	}
	*err = slot ? errno : ENOMEM;
	real.close((int)memfd);
	if (p == MAP_FAILED) {
		/* Nobody maps it after all. */
		simple_request(fd, IOASID_WIRE_MUNMAP, (uint64_t)offset, 0, 0,
			       NULL);
		if (conn >= 0)
			real.close(conn);
		if (slot) {
			pthread_mutex_lock(&mappings_lock);
			slot->conn = -1;
			pthread_mutex_unlock(&mappings_lock);
		}
		return MAP_FAILED;
	}
	pthread_mutex_lock(&mappings_lock);
	slot->addr = (uintptr_t)p;
	slot->len = len;
	slot->offset = (uint64_t)offset;
	slot->pid = self_pid();
	pthread_mutex_unlock(&mappings_lock);
	return p;
}

void client_munmap(void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr, end = start + len;

	for (int i = 0; i < MAX_MAPPINGS; i++) {
		struct mapping m;

		pthread_mutex_lock(&mappings_lock);
		m = mappings[i];
		/* The whole mapping goes: its count in the daemon with it. */
		if (m.conn < 0 || m.addr < start || m.addr + m.len > end) {
			pthread_mutex_unlock(&mappings_lock);
			continue;
		}
		mappings[i].conn = -1;
		pthread_mutex_unlock(&mappings_lock);
		if (m.pid == self_pid())
			simple_request(m.conn, IOASID_WIRE_MUNMAP, m.offset, 0, 0,
				       NULL);
		real.close(m.conn);
		untrap_registers(m.addr, m.len);
	}
}
