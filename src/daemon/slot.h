/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of a client's request slot (wire/slot.h): taking it
 * over, opening it before a reply, and serving what comes through it
 * until it is given back.  Whatever an endpoint serves through it comes
 * as a request, to be answered by the endpoint's own serving function;
 * this file keeps the protocol.
 */
#ifndef IOASID_DAEMON_SLOT_H
#define IOASID_DAEMON_SLOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "wire_uaccess.h"

struct ioasid_wire_slot;
struct request;

/*
 * An endpoint's slot, or none (slot NULL); its requests' sender is the
 * process that handed it over, as it was then (the slot is that
 * process' alone: its children do not map it), and so is the address
 * space they are served in.  Used by the one thread that serves the
 * endpoint; the slot's two memory descriptors are `uid`'s share's.
 */
struct slot_end {
	struct ioasid_wire_slot *slot;
	struct ucred cred;
	/* The handing thread's effective capabilities, as verified then: a
	 * slot's request reaches us with no message the kernel stamped, and
	 * checking the thread again per call (four system calls, two of them
	 * path walks) cost a root caller's MAP more than the rest of it. */
	uint64_t caps;
	struct client_mm mm;
	uid_t uid;
	bool opened; /* by the request just served: wait there next */
};

/* IOASID_WIRE_SLOT: take the slot and memory r carries, in place of any
 * slot se had.  0 or -errno (the slot refused, the old one gone). */
int slot_take(struct slot_end *se, struct request *r);

/* No slot any more; a client thread waiting there finds it closed. */
void slot_drop(struct slot_end *se);

/* r (served, its reply not yet sent) asked for the slot: open it, if it
 * is its sender's and the reply hands out no file, so that its next
 * request finds it open. */
void slot_open_for(struct slot_end *se, const struct request *r);

/* The reply that was to follow slot_open_for() never went: closed. */
void slot_unopen(struct slot_end *se);

/*
 * Serve one request that came through the slot: its result, having
 * served it; or SLOT_RESEND, having done nothing, for a request only
 * the socket can carry.
 */
#define SLOT_RESEND (-(long)0x7fffffff)
typedef long slot_serve_fn(void *arg, struct request *r);

/*
 * After a request that opened the slot: serve what comes through it,
 * looking for each and then sleeping on it, until the client gives it
 * up, *stop is set (slot_wake then), or the connection on sock has been
 * quiet for a while or has a message waiting.  The slot is closed on
 * return.  0, or -EPROTO for a client whose message did not hold
 * together (to be dropped).
 */
int slot_linger(struct slot_end *se, int sock, _Atomic bool *stop,
		slot_serve_fn *serve, void *arg);

/* From another thread, *stop just set: wake the thread lingering on se. */
void slot_wake(struct slot_end *se);

#endif
