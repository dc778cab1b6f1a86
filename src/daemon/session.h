/* SPDX-License-Identifier: MIT */
/* One connection to the daemon: one open file of /dev/iommu. */
#ifndef IOASID_DAEMON_SESSION_H
#define IOASID_DAEMON_SESSION_H

#include <stdint.h>
#include <sys/types.h>

#include "endpoint.h"

struct ioasid_ctx;

struct session {
	struct endpoint ep;
	int epfd; /* the event loop, for the files it hands out */
	struct ioasid_ctx *ctx;
	pid_t opener_pid; /* SO_PEERCRED at accept, for log lines */
	uid_t opener_uid; /* whose share of descriptors it takes */
	uint64_t id;
};

/* A session for accepted connection fd: 0, -EMFILE (the opener's share
 * is used up, quota.h) or -ENOMEM. */
int session_new(int epfd, int fd, uint64_t id, struct session **out);
/*
 * The connection's last close: the context and everything in it go,
 * synchronously, unless files it handed out are still open; the last of
 * those to close takes the context with it.
 */
void session_free(struct session *s);

/*
 * Receive and serve one message.  Returns 0 when served, -ECONNRESET when
 * the peer has gone, or another -errno when the client broke the protocol
 * (the caller drops it).  Never blocks: the socket is non-blocking and the
 * caller only calls this when a message is ready.
 */
int session_serve_one(struct session *s);

#endif
