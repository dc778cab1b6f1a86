/* SPDX-License-Identifier: MIT */
/*
 * The shim <-> daemon protocol.  One SOCK_SEQPACKET message per request and
 * one per reply; the kernel attaches the sender's verified pid/uid/gid to
 * every message (SO_PASSCRED), so nothing a client says about who it is is
 * taken on trust; the thread's capabilities it sends are a hint, checked
 * against the thread itself when a handler relies on one.
 *
 * A request carries the memory the descriptor table says the ioctl will
 * touch, as segments: the argument struct, the tail beyond our struct
 * (only whether it is zero), and each pointer field's buffer.  The daemon
 * answers reads from those segments and collects writes to them into the
 * reply, which the shim applies in order.  Memory outside every segment is
 * reached through the client's own descriptors of its memory (MEM_HANDLE
 * below), else asked of the client (MEM_READ, MEM_WRITE).
 */
#ifndef IOASID_WIRE_WIRE_H
#define IOASID_WIRE_WIRE_H

#include <stdint.h>
#include <sys/socket.h>

#define IOASID_WIRE_MAGIC 0x73616f69u /* "ioas" */
#define IOASID_WIRE_MAX_MSG (64 * 1024)

/*
 * On a file's socket (a fault queue's fd, say) READ and WRITE stand for
 * read(2) and write(2): arg is the buffer, cmd the count, and a segment
 * carries the bytes.  The daemon keeps one DOORBELL message waiting in
 * the client's end while the file has something to read, so that poll(2)
 * and epoll on the descriptor itself see POLLIN; the shim discards
 * doorbells before each request, and the daemon rings again after its
 * reply if there is still something.
 */
enum ioasid_wire_kind {
	IOASID_WIRE_IOCTL = 1,
	IOASID_WIRE_REPLY = 2,
	IOASID_WIRE_READ = 3,
	IOASID_WIRE_WRITE = 4,
	IOASID_WIRE_DOORBELL = 5,
	IOASID_WIRE_MEM_READ = 6,  /* daemon -> client, mid-request */
	IOASID_WIRE_MEM_WRITE = 7, /* daemon -> client, mid-request */
	IOASID_WIRE_MEM_REPLY = 8, /* client -> daemon */
	IOASID_WIRE_MMAP = 9,
	IOASID_WIRE_MUNMAP = 10,
	/* daemon -> client, instead of serving the connection at all: the
	 * daemon is out of descriptors (result -EMFILE), then it hangs up */
	IOASID_WIRE_REFUSED = 11,
	IOASID_WIRE_MEM_HANDLE = 12, /* daemon -> client, mid-request */
	/* client -> daemon, as a new connection's only request: open VFIO
	 * device arg; the reply carries the device file (its number the
	 * result), and the connection is then closed */
	IOASID_WIRE_OPEN_DEVICE = 13,
	/* pread(2) and pwrite(2) of a file: as READ and WRITE, at offset */
	IOASID_WIRE_PREAD = 14,
	IOASID_WIRE_PWRITE = 15,
	/* client -> daemon on a VFIO device file: it joins (arg 1) or
	 * leaves (arg 0) a VM's KVM VFIO pseudo-device */
	IOASID_WIRE_KVM_LINK = 16,
	/* as OPEN_DEVICE, for IOMMU group arg (/dev/vfio/<arg>) */
	IOASID_WIRE_OPEN_GROUP = 17,
	/* client -> daemon on /dev/iommu: take this request slot (slot.h),
	 * three descriptors attached: the slot's memfd, then the sender's
	 * /proc/self/mem and /proc/self/maps, as MEM_HANDLE's answer */
	IOASID_WIRE_SLOT = 18,
	/* daemon -> client, in the slot only: this request is not served
	 * there (it moves descriptors, or needs the socket); nothing was
	 * done, send it by the socket */
	IOASID_WIRE_RESEND = 19,
};

/*
 * MMAP of /dev/iommu, or of a file, at offset arg for cmd bytes;
 * __reserved carries the PROT_* bits, and IOASID_WIRE_MMAP_SHARED for
 * MAP_SHARED.  The answer is a descriptor of the memory to map (its
 * number the result) and where in it the mapping starts (extra).  MUNMAP
 * at offset arg tells the daemon that mapping is gone.
 *
 * An IOCTL's __reserved says which file it is made on (enum
 * ioasid_ioctl_on): 0 the connection's own; IOASID_ON_VFIO_DEVICE the
 * VFIO device file that comes with it (VFIO_DEVICE_BIND_IOMMUFD, sent on
 * the /dev/iommu connection its iommufd names, so that the context is
 * the connection's).
 */
#define IOASID_WIRE_MMAP_SHARED 0x100

/*
 * The memory callback.  Memory the daemon needs during a request, outside
 * the segments the request carried, when the client has not handed over
 * its memory (MEM_HANDLE below: it could not open it), is asked of the
 * client: while
 * the client waits for its reply, the daemon sends MEM_READ or MEM_WRITE
 * (an ioasid_wire_rep header with the request's seq and one segment, with
 * the bytes for a write) and the client answers MEM_REPLY (an
 * ioasid_wire_req header: the request's seq, arg = 0 or -errno, and for a
 * read one segment with the bytes).  At most IOASID_WIRE_MEM_CHUNK bytes
 * per message.
 */
#define IOASID_WIRE_MEM_CHUNK (32 * 1024)

/*
 * The daemon reaches a client's memory only through the client's own
 * descriptors of it.  On first need it sends MEM_HANDLE (a header with
 * the request's seq, no segments); the client answers MEM_REPLY with
 * arg = 0 and, with SCM_RIGHTS, two descriptors it opened itself:
 * /proc/self/mem (read-write) then /proc/self/maps; or arg = -errno and
 * none when it cannot open them.  The answer must come from the process
 * that sent the request.
 */

struct ioasid_wire_req {
	uint32_t magic;
	uint16_t kind;
	uint16_t version;
	uint32_t seq;
	uint32_t cmd;
	uint64_t arg;
	uint64_t cap_effective;
	uint32_t tid;
	uint32_t nsegs;
	/* The caller's number for the descriptor attached with SCM_RIGHTS
	 * (an fd field of the argument, per the table), or -1; or
	 * IOASID_WIRE_FDS_IN_DATA: up to IOASID_WIRE_MAX_FDS descriptors
	 * attached in the order the call's data names them (the event fds of
	 * VFIO_DEVICE_SET_IRQS, -1 entries skipped). */
	int32_t fd;
	uint32_t __reserved;
	/* The calling thread's fault-injection count (fail-nth), 0: none;
	 * what is left comes back in the reply. */
	uint32_t fail_nth;
	uint32_t flags; /* enum ioasid_wire_req_flags */
	uint64_t offset; /* PREAD, PWRITE: the file offset */
	/* nsegs x (struct ioasid_wire_seg, then len bytes if it has data) */
};

enum ioasid_wire_req_flags {
	/* The sender keeps a request slot on this connection: open it
	 * (slot.h) before the reply. */
	IOASID_WIRE_REQ_SLOT = 1 << 0,
};

enum ioasid_wire_seg_flags {
	IOASID_SEG_DATA = 1 << 0,     /* the bytes follow */
	IOASID_SEG_FAULT = 1 << 1,    /* reading it faulted */
	IOASID_SEG_WRITABLE = 1 << 2, /* writes go into the reply */
	IOASID_SEG_READONLY = 1 << 3, /* writing it would fault */
	IOASID_SEG_ZEROED = 1 << 4,   /* known all-zero, no bytes sent */
	IOASID_SEG_NONZERO = 1 << 5,  /* known not all-zero, no bytes sent */
};

struct ioasid_wire_seg {
	uint64_t uptr;
	uint32_t len;
	uint32_t flags;
};

struct ioasid_wire_rep {
	uint32_t magic;
	uint16_t kind;
	uint16_t version;
	uint32_t seq;
	uint32_t nsegs;
	int64_t result; /* >= 0, or -errno */
	/*
	 * has_fd: a descriptor for the caller came with SCM_RIGHTS (an
	 * object handed out as a file).  Its number, once the caller has it,
	 * is written at fd_uptr after the segments, or is the result when
	 * fd_uptr is 0.
	 */
	uint32_t has_fd;
	uint32_t fail_nth_left; /* the request's fail_nth, counted down */
	uint64_t fd_uptr;
	uint64_t extra; /* MMAP: where in the descriptor to map from */
	/* MMAP: how much from the mapping's start must be mapped read-only,
	 * its stores sent as PWRITEs (registers a model must see written) */
	uint64_t trap;
	/* nsegs x (struct ioasid_wire_seg, then len bytes to write at uptr) */
};

#define IOASID_WIRE_VERSION 11

#define IOASID_WIRE_FDS_IN_DATA (-2)
#define IOASID_WIRE_MAX_FDS 64

/* The abstract socket name of the daemon's end of every file it hands
 * out begins so: "\0" IOASID_WIRE_FILE_PREFIX "<pid>:<serial>". */
#define IOASID_WIRE_FILE_PREFIX "ioasid-file:"
/* ... and of a VFIO device file: "\0" IOASID_WIRE_VFIO_PREFIX "<pid>:<n>",
 * or, opened as its cdev /dev/vfio/devices/vfio<N> (which fstat(2) shows
 * as that node), IOASID_WIRE_VFIO_PREFIX IOASID_WIRE_NODE "<N>:<pid>:<n>". */
#define IOASID_WIRE_VFIO_PREFIX "ioasid-file:vfio:"
/* ... and of a VFIO group file: IOASID_WIRE_GROUP_PREFIX IOASID_WIRE_NODE
 * "<N>:<pid>:<n>" for /dev/vfio/<N>. */
#define IOASID_WIRE_GROUP_PREFIX "ioasid-file:vfio-group:"
#define IOASID_WIRE_NODE "node"

/* Room for one descriptor in a message's ancillary data. */
union ioasid_wire_fd_control {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int))];
};

/* Send `fd` along with `msg` (SCM_RIGHTS), using `control` for the room. */
void ioasid_wire_attach_fd(struct msghdr *msg,
			   union ioasid_wire_fd_control *control, int fd);

/*
 * Walk the segments of a received message.  Returns 0 and fills *seg and
 * *data (NULL without DATA), 1 at the end, -EPROTO when the bytes do not
 * hold together.
 */
struct ioasid_wire_cursor {
	const unsigned char *p, *end;
	uint32_t left;
};

int ioasid_wire_next_seg(struct ioasid_wire_cursor *c,
			 struct ioasid_wire_seg *seg, const void **data);

#endif
