/* SPDX-License-Identifier: MIT */
/* One connection to the daemon: one open file of /dev/iommu. */
#ifndef IOASID_DAEMON_SESSION_H
#define IOASID_DAEMON_SESSION_H

#include <stdint.h>
#include <sys/types.h>

struct ioasid_ctx;

struct session {
	int fd;
	struct ioasid_ctx *ctx;
	pid_t opener_pid; /* SO_PEERCRED at accept, for log lines */
	uid_t opener_uid;
	uint64_t id;
	uint64_t round; /* the event-loop round that last listed it */
};

struct session *session_new(int fd, uint64_t id);
/* The last close: the context and everything in it go, synchronously. */
void session_free(struct session *s);

/*
 * Receive and serve one message.  Returns 0 when served, -ECONNRESET when
 * the peer has gone, or another -errno when the client broke the protocol
 * (the caller drops it).  Never blocks: the socket is non-blocking and the
 * caller only calls this when a message is ready.
 */
int session_serve_one(struct session *s);

#endif
