/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "quota.h"
#include "request.h"
#include "slot.h"
#include "wire/slot.h"
#include "wire/spin.h"

/* How often a thread waiting on a slot looks up: it gives the slot back
 * when nothing came through it since the last look, or when a message
 * waits on the socket (a request with descriptors, or another process
 * sharing the connection: the socket's requests wait for the slot's). */
#define LINGER_CHECK_NS 1000000u
/* Requests a stopped slot answers RESEND before it is closed whatever
 * its client does. */
#define STOP_ROUNDS 16

/*
 * The memfd must be sealed against shrinking, so that no page of our
 * mapping of it can vanish under us; the sender's memory comes with it,
 * as MEM_HANDLE's answer, since the slot's requests cannot ask for it.
 */
int slot_take(struct slot_end *se, struct request *r)
{
	struct wire_uaccess *w = &r->w;
	struct ioasid_wire_slot *slot;
	struct stat st;
	int seals, rc;

	if (r->req.fd != IOASID_WIRE_FDS_IN_DATA || w->nfds != 3)
		return -EINVAL;
	/* Tests that make every byte a question want no slot. */
	if (wire_uaccess_always_callback)
		return -EOPNOTSUPP;
	seals = fcntl(w->fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(w->fds[0], &st) ||
	    st.st_size < (off_t)IOASID_WIRE_SLOT_SIZE)
		return -EINVAL;
	slot_drop(se);
	/* The memory's two descriptors. */
	rc = quota_take(se->uid);
	if (rc)
		return rc;
	rc = quota_take(se->uid);
	if (rc)
		goto out_give;
	slot = mmap(NULL, IOASID_WIRE_SLOT_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, w->fds[0], 0);
	if (slot == MAP_FAILED) {
		rc = -ENOMEM;
		goto out_give2;
	}
	se->mm.mm = ioasid_mm_new(w->pid, w->uid, -1, w->fds[1], w->fds[2]);
	w->fds[1] = w->fds[2] = -1; /* taken, failure included */
	if (!se->mm.mm) {
		rc = -EINVAL;
		goto out_unmap;
	}
	se->mm.pid = w->pid;
	se->slot = slot;
	se->cred = (struct ucred){ .pid = w->pid, .uid = w->uid,
				   .gid = r->caller.gid };
	/* Only what the thread claimed, and only what it holds. */
	se->caps = r->req.cap_effective ?
			   r->req.cap_effective &
				   caps_of_thread(w->pid, w->tid, w->uid) :
			   0;
	return 0;

out_unmap:
	munmap(slot, IOASID_WIRE_SLOT_SIZE);
out_give2:
	quota_give(se->uid);
out_give:
	quota_give(se->uid);
	return rc;
}

void slot_drop(struct slot_end *se)
{
	if (!se->slot)
		return;
	ioasid_slot_move(se->slot, IOASID_SLOT_OPEN, IOASID_SLOT_CLOSED);
	munmap(se->slot, IOASID_WIRE_SLOT_SIZE);
	se->slot = NULL;
	client_mm_release(&se->mm);
	quota_give(se->uid);
	quota_give(se->uid);
}

void slot_open_for(struct slot_end *se, const struct request *r)
{
	/* A reply that hands a file out is not followed by the slot. */
	if (!(r->req.flags & IOASID_WIRE_REQ_SLOT) || !se->slot ||
	    r->w.pid != se->cred.pid || r->w.new_file)
		return;
	atomic_store_explicit(&se->slot->state, IOASID_SLOT_OPEN,
			      memory_order_release);
	se->opened = true;
}

void slot_unopen(struct slot_end *se)
{
	if (!se->opened)
		return;
	atomic_store_explicit(&se->slot->state, IOASID_SLOT_CLOSED,
			      memory_order_release);
	se->opened = false;
}

static struct spin_budget slot_spin = SPIN_BUDGET_INIT;

struct slot_wait {
	struct ioasid_wire_slot *slot;
	_Atomic bool *stop;
	uint64_t until; /* ns, the next look up */
};

/* Only OPEN and DONE are waited in: the client's turn. */
static bool slot_waits(struct slot_wait *sw, uint32_t st)
{
	st &= IOASID_SLOT_STATE;
	return (st == IOASID_SLOT_OPEN || st == IOASID_SLOT_DONE) &&
	       !atomic_load_explicit(sw->stop, memory_order_relaxed);
}

static int64_t slot_look(void *arg)
{
	struct slot_wait *sw = arg;
	uint32_t st = ioasid_slot_load(sw->slot);

	return slot_waits(sw, st) ? SPIN_NOTHING : st & IOASID_SLOT_STATE;
}

static int64_t slot_sleep(void *arg)
{
	struct slot_wait *sw = arg;
	uint64_t now = spin_now_ns();
	uint32_t st = ioasid_slot_load(sw->slot);

	if (now < sw->until && slot_waits(sw, st))
		st = ioasid_slot_sleep(sw->slot, st, sw->until - now);
	return st & IOASID_SLOT_STATE;
}

/* Whether a message (or the hang-up) waits on the socket. */
static bool socket_waiting(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || errno != EAGAIN;
}

/*
 * The request posted in the slot, answered there: 0, or -EPROTO for a
 * message that does not hold together.  With `resend`, or when serve()
 * says so, the answer is RESEND and nothing is done.
 */
static int serve_posted(struct slot_end *se, bool resend,
			slot_serve_fn *serve, void *arg)
{
	struct ioasid_wire_slot *slot = se->slot;
	struct request r;
	long result;
	size_t n;
	int rc;

	rc = request_take(&r, slot->buf, *(volatile uint32_t *)&slot->len,
			  &se->cred, &se->mm, "client");
	if (rc)
		return rc;
	r.w.caps = se->caps;
	r.w.caps_known = 1;
	result = resend ? SLOT_RESEND : serve(arg, &r);
	if (result == SLOT_RESEND) {
		struct ioasid_wire_rep rep = {
			.magic = IOASID_WIRE_MAGIC,
			.kind = IOASID_WIRE_RESEND,
			.version = IOASID_WIRE_VERSION,
			.seq = r.req.seq,
			.fail_nth_left = r.req.fail_nth,
		};

		memcpy(slot->buf, &rep, sizeof(rep));
		n = sizeof(rep);
	} else {
		if (r.w.reply_overflow && result >= 0)
			result = -ENOMEM;
		n = request_reply_into(&r, result, slot->buf);
	}
	request_end(&r);
	slot->len = (uint32_t)n;
	ioasid_slot_move(slot, IOASID_SLOT_POSTED, IOASID_SLOT_DONE);
	return 0;
}

/*
 * Close the slot from whichever state the client leaves it in: true
 * when it is closed (or in a state no client waits in), false when a
 * request is posted there.  The client moves OPEN and DONE on while we
 * try; a client that keeps moving them past any bound is left what it
 * asked for, a slot closed under it.
 */
static bool give_back(struct ioasid_wire_slot *slot)
{
	for (int tries = 0; tries < 1000; tries++) {
		switch (ioasid_slot_load(slot) & IOASID_SLOT_STATE) {
		case IOASID_SLOT_OPEN:
			if (ioasid_slot_move(slot, IOASID_SLOT_OPEN,
					     IOASID_SLOT_CLOSED))
				return true;
			break;
		case IOASID_SLOT_DONE:
			if (ioasid_slot_move(slot, IOASID_SLOT_DONE,
					     IOASID_SLOT_LAST))
				return true;
			break;
		case IOASID_SLOT_POSTED:
			return false;
		default:
			return true;
		}
	}
	atomic_store_explicit(&slot->state, IOASID_SLOT_CLOSED,
			      memory_order_release);
	ioasid_slot_wake(slot);
	return true;
}

int slot_linger(struct slot_end *se, int sock, _Atomic bool *stop,
		slot_serve_fn *serve, void *arg)
{
	struct slot_wait sw = { se->slot, stop, spin_now_ns() + LINGER_CHECK_NS };
	bool served = true; /* the socket's request that opened it */
	unsigned int stopping = 0;
	int rc = 0;

	se->opened = false;
	for (;;) {
		int64_t st = spin_wait(&slot_spin, slot_look, slot_sleep, &sw);
		bool stopped = atomic_load_explicit(stop, memory_order_relaxed);

		/* CLOSED: the client gave it up.  Anything else but its
		 * three states: the client's nonsense, which ends it too. */
		if (st != IOASID_SLOT_OPEN && st != IOASID_SLOT_DONE &&
		    st != IOASID_SLOT_POSTED)
			return 0;
		if (st == IOASID_SLOT_POSTED) {
			rc = serve_posted(se, stopping > 0, serve, arg);
			if (rc)
				break;
			if (!stopping)
				served = true;
			else if (++stopping > STOP_ROUNDS)
				break;
			continue;
		}
		if (!stopped && spin_now_ns() < sw.until)
			continue;
		if (!stopped && served && !socket_waiting(sock)) {
			served = false;
			sw.until = spin_now_ns() + LINGER_CHECK_NS;
			continue;
		}
		/* Give it back; a request posted meanwhile is sent back. */
		if (give_back(se->slot))
			return 0;
		stopping = stopping ? stopping : 1;
	}
	/* Whatever it holds now, nobody waits there any more: a request
	 * there was not served (it did not hold together, or it was sent
	 * back), and CLOSED says so. */
	atomic_store_explicit(&se->slot->state, IOASID_SLOT_CLOSED,
			      memory_order_release);
	ioasid_slot_wake(se->slot);
	return rc;
}

void slot_wake(struct slot_end *se)
{
	/* The lingering thread's own slot: it outlives this call. */
	ioasid_slot_wake(se->slot);
}
