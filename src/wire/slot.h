/* SPDX-License-Identifier: MIT */
/*
 * A connection's request slot: one request and its reply at a time in
 * memory both ends map, for the calls that need neither descriptors nor
 * the daemon's questions about the client's memory.  A message through
 * the socket costs each end a system call to send and one to receive,
 * and the daemon an epoll round besides; through the slot, an end that
 * is looking for the other's next step sees it with no system call at
 * all, and one that sleeps is woken by a futex on the slot's state.
 *
 * The client makes the slot (a sealed memfd: the daemon maps it, and
 * nobody can shrink it under the daemon) and hands it over with its
 * memory (IOASID_WIRE_SLOT).  It maps it MADV_DONTFORK: a child shares
 * the connection but not the slot, and goes by the socket.
 *
 * The state word is the whole protocol.  CLOSED: requests go by the
 * socket.  The daemon opens the slot (OPEN) while it serves a socket
 * request whose sender asked for it, before that reply, and then one of
 * its threads stays with the slot, looking and then sleeping, until it
 * closes it again.  Who moves the state:
 *
 *   client  OPEN -> POSTED (the request is in buf), DONE -> OPEN and
 *           LAST -> CLOSED (its reply read), OPEN -> CLOSED (it gives
 *           the slot up);
 *   daemon  CLOSED -> OPEN (in a socket request's service),
 *           POSTED -> DONE (the reply is in buf),
 *           OPEN -> CLOSED and DONE -> LAST (it stops waiting).
 *
 * A request the slot took is answered there, DONE or LAST, or sent back
 * (a RESEND reply); a client that finds the slot CLOSED under its
 * request knows it was not served, and sends it by the socket.
 *
 * Only the client writes buf while the state is OPEN, only the daemon
 * while it is POSTED.  The daemon copies a request out before it reads
 * it, so what a client scribbles meanwhile is its own loss.  One end at
 * a time waits; before it sleeps it sets SLEEPER, and whoever moves the
 * state on from a value with SLEEPER wakes it, unless the move is not
 * what the sleeper waits for (DONE -> OPEN: the daemon waits for POSTED),
 * which keeps SLEEPER for the move that is.
 */
#ifndef IOASID_WIRE_SLOT_H
#define IOASID_WIRE_SLOT_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

enum ioasid_slot_state {
	IOASID_SLOT_CLOSED = 0,
	IOASID_SLOT_OPEN = 1,
	IOASID_SLOT_POSTED = 2,
	IOASID_SLOT_DONE = 3,
	IOASID_SLOT_LAST = 4, /* DONE, and closed after it */
};
#define IOASID_SLOT_STATE 0xffu
#define IOASID_SLOT_SLEEPER 0x100u

struct ioasid_wire_slot {
	_Atomic uint32_t state;
	uint32_t len; /* bytes of the message in buf */
	uint32_t __reserved[14];
	unsigned char buf[IOASID_WIRE_MAX_MSG];
};

_Static_assert(sizeof(struct ioasid_wire_slot) == 64 + IOASID_WIRE_MAX_MSG,
	       "the slot's layout is part of the wire protocol");

/* The memfd's size: whole pages. */
#define IOASID_WIRE_SLOT_SIZE \
	((sizeof(struct ioasid_wire_slot) + 4095) & ~(size_t)4095)

static inline uint32_t ioasid_slot_load(struct ioasid_wire_slot *s)
{
	return atomic_load_explicit(&s->state, memory_order_acquire);
}

/* The state, from `from` (SLEEPER ignored) to `to`, SLEEPER kept when
 * `keep`: the value it had, or UINT32_MAX when it was not `from`. */
static inline uint32_t ioasid_slot_swap(struct ioasid_wire_slot *s,
					uint32_t from, uint32_t to, bool keep)
{
	uint32_t old = atomic_load_explicit(&s->state, memory_order_relaxed);

	do {
		if ((old & IOASID_SLOT_STATE) != from)
			return UINT32_MAX;
	} while (!atomic_compare_exchange_weak_explicit(
		&s->state, &old, keep ? to | (old & IOASID_SLOT_SLEEPER) : to,
		memory_order_acq_rel, memory_order_relaxed));
	return old;
}

/* Move the state from `from` (SLEEPER ignored) to `to`; the slot's
 * SLEEPER is woken.  Returns whether the state was `from`. */
static inline bool ioasid_slot_move(struct ioasid_wire_slot *s, uint32_t from,
				    uint32_t to)
{
	uint32_t old = ioasid_slot_swap(s, from, to, false);

	if (old == UINT32_MAX)
		return false;
	if (old & IOASID_SLOT_SLEEPER)
		syscall(SYS_futex, &s->state, FUTEX_WAKE, 1, NULL, NULL, 0);
	return true;
}

/*
 * Move the state from `from` to `to` keeping SLEEPER, and waking nobody:
 * for a move the sleeper does not wait for (the client's DONE -> OPEN,
 * while the daemon waits for POSTED).  Returns whether it was `from`.
 */
static inline bool ioasid_slot_pass(struct ioasid_wire_slot *s, uint32_t from,
				    uint32_t to)
{
	return ioasid_slot_swap(s, from, to, true) != UINT32_MAX;
}

/*
 * Sleep while the state is `seen` (as loaded, SLEEPER clear), at most
 * timeout_ns (0: no limit).  Returns the state after.
 */
static inline uint32_t ioasid_slot_sleep(struct ioasid_wire_slot *s,
					 uint32_t seen, uint64_t timeout_ns)
{
	struct timespec t = {
		.tv_sec = (time_t)(timeout_ns / 1000000000u),
		.tv_nsec = (long)(timeout_ns % 1000000000u),
	};
	uint32_t want = seen | IOASID_SLOT_SLEEPER;

	if (seen == want ||
	    atomic_compare_exchange_strong_explicit(&s->state, &seen, want,
						    memory_order_acq_rel,
						    memory_order_acquire))
		syscall(SYS_futex, &s->state, FUTEX_WAIT, want,
			timeout_ns ? &t : NULL, NULL, 0);
	return ioasid_slot_load(s);
}

/* Wake whoever sleeps on the slot (the daemon stopping a thread that
 * waits there). */
static inline void ioasid_slot_wake(struct ioasid_wire_slot *s)
{
	syscall(SYS_futex, &s->state, FUTEX_WAKE, 1, NULL, NULL, 0);
}

#endif
