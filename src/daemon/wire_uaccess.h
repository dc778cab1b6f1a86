/* SPDX-License-Identifier: MIT */
/*
 * Client memory as the core sees it while serving one request: first the
 * segments the shim sent, then the client process itself.
 */
#ifndef IOASID_DAEMON_WIRE_UACCESS_H
#define IOASID_DAEMON_WIRE_UACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ioasid/ioasid.h"
#include "wire/wire.h"

#define WIRE_UACCESS_MAX_SEGS 8

struct wire_uaccess {
	pid_t pid;
	pid_t tid;
	uid_t uid; /* the sender's real uid when it sent */
	/* The calling thread's verified capabilities, read on first need. */
	int caps_known;
	uint64_t caps;
	/* A descriptor that came with the request, and the client's number
	 * for it; fd is -1 when none came. */
	int fd;
	int fd_num;
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
