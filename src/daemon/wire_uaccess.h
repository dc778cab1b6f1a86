/* SPDX-License-Identifier: MIT */
/*
 * Client memory as the core sees it while serving one request: first the
 * segments the shim sent, then the client process itself.
 */
#ifndef IOASID_DAEMON_WIRE_UACCESS_H
#define IOASID_DAEMON_WIRE_UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ioasid/ioasid.h"
#include "wire/wire.h"

#define WIRE_UACCESS_MAX_SEGS 8

/* Not in Debian 12's headers yet: Linux 6.5's numbers. */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/*
 * The address space the last process to send on a connection handed
 * over (ioasid_mm_new: its own /proc/self/mem and maps), asked for on
 * first need and kept for its next requests.  A request from another
 * process, or from the same one after an exec, asks anew.  Used by the
 * connection's one request in service: no lock.
 */
struct client_mm {
	struct ioasid_mm *mm;
	pid_t pid;
	bool refused; /* pid cannot open its own memory: data callbacks */
};

void client_mm_release(struct client_mm *cm);

struct wire_uaccess {
	pid_t pid;
	pid_t tid;
	uid_t uid; /* the sender's real uid when it sent */
	int pidfd; /* the sender as it was when it sent (SCM_PIDFD), or -1 */
	struct client_mm *mm; /* the connection's, or NULL */
	/* A VFIO device bind sent on a /dev/iommu connection: its context. */
	struct ioasid_ctx *bind_ctx;
	bool mm_asked; /* in this request: ask at most once */
	/* The connection's address space was there when this request first
	 * looked: its sender cannot have exec'd inside its own call. */
	bool mm_alive;
	/* The calling thread's verified capabilities, read on first need. */
	int caps_known;
	uint64_t caps;
	/* A descriptor that came with the request, and the client's number
	 * for it; fd is -1 when none came. */
	int fd;
	int fd_num;
	/* With fd_num IOASID_WIRE_FDS_IN_DATA: all that came, handed out in
	 * order (fds[0] is fd). */
	int fds[IOASID_WIRE_MAX_FDS];
	unsigned int nfds, fds_taken;
	/* A file handed to the client (reserve_fd): our end, the client's
	 * end, where its number goes, and whether the ioctl committed it. */
	struct ioasid_file *new_file;
	int new_file_fds[2];
	uint64_t new_file_uptr;
	int new_file_ok;
	unsigned int nsegs;
	struct {
		struct ioasid_wire_seg seg;
		unsigned char *data;
	} segs[WIRE_UACCESS_MAX_SEGS];
	/* The memory callback: the socket and request to ask the client
	 * through, and whether it stopped answering (then it is dropped). */
	int cb_sock;
	uint32_t cb_seq;
	int cb_broken;
	/* The reply under construction: writes are appended here. */
	unsigned char *reply;
	size_t reply_len, reply_cap;
	uint32_t reply_nsegs;
	int reply_overflow; /* a write did not fit: the request fails */
};

extern const struct ioasid_uaccess_ops wire_uaccess_ops;

/* A socket pair for a file handed to a client, our end named prefix... */
int wire_file_pair(int fds[2], const char *prefix);

/*
 * Read [uptr, uptr+len) as the client will see it once the reply is
 * delivered: the last write of this request covering it, else what the
 * request carries or the client holds.  0 or -errno (for the tracer).
 */
int wire_uaccess_read_after(struct wire_uaccess *w, uint64_t uptr, void *dst,
			    size_t len);

/* Ask clients for every byte outside their requests' segments, even
 * when we could reach it: IOASID_MEMORY_CALLBACK=always, for tests. */
extern int wire_uaccess_always_callback;

#endif
