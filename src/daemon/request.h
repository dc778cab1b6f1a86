/* SPDX-License-Identifier: MIT */
/*
 * One request from a client socket, decoded: the wire header, the
 * segments it carries, and the caller (verified credentials, the thread's
 * capabilities, its memory) that handlers see.  Sessions and file ends
 * both serve requests this way.
 */
#ifndef IOASID_DAEMON_REQUEST_H
#define IOASID_DAEMON_REQUEST_H

#include <stdbool.h>

#include "fail_nth.h"
#include "ioasid/ioasid.h"
#include "wire/wire.h"
#include "wire_uaccess.h"

struct request {
	struct ioasid_wire_req req;
	struct wire_uaccess w;
	struct ioasid_caller caller;
	uint32_t fail_nth_left; /* answered back (fail_nth.h) */
	uint64_t reply_extra;   /* the reply's extra and trap (wire.h) */
	uint64_t reply_trap;
	/* Its sender had exited by the time we read it: not served, as a
	 * process that is gone makes no call (and its pid may be another's). */
	bool sender_gone;
};

/*
 * Each message names its sender as it was when it sent it: a pidfd
 * (SO_PASSPIDFD), which tells whether that very process still exists.
 * Where the kernel has none (before Linux 6.5) the pid is asked instead,
 * which a pid already reused would pass.  On every socket we serve.
 */
void request_pass_identity(int sock);

/*
 * The serving of r, as opposed to its transport: the part the calling
 * thread's fault injection counts in.
 */
static inline void request_serve_begin(struct request *r)
{
	if (r->req.fail_nth)
		fail_nth_arm(r->req.fail_nth);
}

static inline void request_serve_end(struct request *r)
{
	if (r->req.fail_nth)
		r->fail_nth_left = fail_nth_disarm();
}

/*
 * Receive one request from sock into r, whose sender's address space is
 * kept in mm (the connection's, see wire_uaccess.h): 0 when one came, 1 when none was
 * waiting, -ECONNRESET or -EPROTO when the peer is to be dropped (a
 * message is logged under `who`).  After 0, request_end() must follow.
 */
int request_recv(int sock, struct request *r, struct client_mm *mm,
		 const char *who);

/*
 * The decoding half of request_recv: the n bytes of one message at buf,
 * from the peer cred names, into r, which the caller has zeroed (with
 * r->w.fd, r->w.cb_sock and r->w.pidfd -1, or a descriptor that came with it).  The
 * segments point into buf, which must outlive r.  0, or -EPROTO for a
 * message to drop (logged under `who`).
 */
int request_parse(struct request *r, const unsigned char *buf, size_t n,
		  const struct ucred *cred, int sock, const char *who);

/*
 * A request that came through a slot (wire/slot.h): the n bytes at msg,
 * copied before they are read, from the sender cred names, whose address
 * space is kept in mm.  Nothing can be asked of the client meanwhile.
 * 0 or -EPROTO, as request_parse; after 0, request_end() must follow.
 */
int request_take(struct request *r, const unsigned char *msg, size_t n,
		 const struct ucred *cred, struct client_mm *mm, const char *who);

/* Answer r with result (and the descriptor client_fd, if >= 0). */
int request_reply(int sock, struct request *r, long result, int client_fd);

/* The same answer, written at out (IOASID_WIRE_MAX_MSG bytes): its
 * length. */
size_t request_reply_into(struct request *r, long result, unsigned char *out);

/* Close what came with the request and was not taken. */
void request_end(struct request *r);

#endif
