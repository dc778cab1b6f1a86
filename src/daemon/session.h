/* SPDX-License-Identifier: MIT */
/* One connection to the daemon: one open file of /dev/iommu. */
#ifndef IOASID_DAEMON_SESSION_H
#define IOASID_DAEMON_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "endpoint.h"
#include "slot.h"

struct ioasid_ctx;

struct session {
	struct endpoint ep;
	struct ioasid_ctx *ctx;
	pid_t opener_pid; /* SO_PEERCRED at accept, for log lines */
	uid_t opener_uid; /* whose share of descriptors it takes */
	uint64_t id;
	struct slot_end slot; /* the client's request slot (slot.h) */
};

/* A connection just accepted, its opener known; NULL without memory. */
struct session *session_alloc(int fd, uint64_t id);
/* Give s its context, which the opener's share of descriptors pays for:
 * 0, -EMFILE (that share is used up, quota.h) or -ENOMEM. */
int session_open(struct session *s);
/* Tell a connection we will not serve why (REFUSED, which its first
 * request reads), and close it. */
void session_refuse_fd(int fd, int err);
/*
 * The connection's last close (or, unopened, its end): the context and
 * everything in it go, synchronously, unless files it handed out are
 * still open; the last of those to close takes the context with it.
 * The memory of s stays, for serve.c to free (free(s)).
 */
void session_close(struct session *s);

/*
 * Receive and serve one message.  Returns 0 when served, -ECONNRESET when
 * the peer has gone, or another -errno when the client broke the protocol
 * (the caller drops it).  Waits for nothing but the client's answers
 * about its memory: the socket is non-blocking, and the caller calls this
 * when a message is ready.
 */
int session_serve_one(struct session *s);

/*
 * After a request that opened the client's slot (slot.opened): serve
 * the requests that come through it, looking for each and then sleeping
 * on it, until the client gives the slot up, *stop is set
 * (session_slot_stop), or the connection has been quiet for a while or
 * has a message waiting on its socket.  The slot is closed on return.
 * Returns as session_serve_one.
 */
int session_linger(struct session *s, _Atomic bool *stop);

/* From another thread, *stop just set: wake the thread lingering on s. */
void session_slot_stop(struct session *s);

#endif
