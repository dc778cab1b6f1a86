/* SPDX-License-Identifier: MIT */
/*
 * How long each end of a connection looks for the other's next message
 * before it sleeps on it.  Looking costs a core; sleeping costs a
 * wake-up, which on a virtual machine is several microseconds.  Looking
 * pays when the other end runs on another core and answers at once; it
 * costs more than it saves when the other end needs the looker's own
 * core (the other cores busy): then the answer comes only after the look
 * gives up.  So each end keeps a budget: a look that found the message
 * restores it whole; after SPIN_STREAK looks in a row whose messages came
 * soon after they gave up, each such look halves it, down to no look at
 * all, and then one wait per SPIN_PROBE_PERIOD_NS looks briefly, to
 * notice when looking pays again.  (A probe that finds nothing took its
 * time from the other end on a shared core: counted in time, not in
 * waits, what probing costs stays within a few percent at any rate.)  A message that came long after says nothing
 * about the machine (the other end had nothing to say), and changes
 * nothing.  (The streak keeps a busy daemon, whose looks mostly find
 * something, from halving on the odd near miss: under a churn of 1000
 * connections that doubled another client's 99th percentile.)
 */
#ifndef IOASID_WIRE_SPIN_H
#define IOASID_WIRE_SPIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define SPIN_MAX_NS 50000u
#define SPIN_MIN_NS 2000u
#define SPIN_PROBE_NS 20000u
#define SPIN_PROBE_PERIOD_NS 1000000u
/* A message this soon after the look gave up was missed by a little. */
#define SPIN_MISSED_NS 200000u
#define SPIN_STREAK 4u

struct spin_budget {
	_Atomic uint32_t ns;        /* 0: do not look */
	_Atomic uint32_t missed;    /* near misses in a row */
	_Atomic uint64_t probed_at; /* ns: the last probe, while not looking */
};

#define SPIN_BUDGET_INIT { SPIN_MAX_NS, 0, 0 }

static inline uint64_t spin_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* How long this wait may look. */
static inline uint32_t spin_budget_take(struct spin_budget *b)
{
	uint32_t ns = atomic_load_explicit(&b->ns, memory_order_relaxed);
	uint64_t now, at;

	if (ns)
		return ns;
	now = spin_now_ns();
	at = atomic_load_explicit(&b->probed_at, memory_order_relaxed);
	if (now - at < SPIN_PROBE_PERIOD_NS ||
	    !atomic_compare_exchange_strong_explicit(&b->probed_at, &at, now,
						     memory_order_relaxed,
						     memory_order_relaxed))
		return 0;
	return SPIN_PROBE_NS;
}

/*
 * What a wait taught: found while looking, or `late` ns after a look of
 * `looked` ns gave up (then slept).
 */
static inline void spin_budget_learn(struct spin_budget *b, bool found,
				     uint32_t looked, uint64_t late)
{
	uint32_t ns = atomic_load_explicit(&b->ns, memory_order_relaxed);
	uint32_t missed = atomic_load_explicit(&b->missed, memory_order_relaxed);

	if (found) {
		ns = SPIN_MAX_NS;
		missed = 0;
	} else if (looked && late < SPIN_MISSED_NS) {
		if (missed < SPIN_STREAK)
			missed++;
		if (missed == SPIN_STREAK) {
			ns /= 2;
			if (ns < SPIN_MIN_NS)
				ns = 0;
		}
	}
	atomic_store_explicit(&b->missed, missed, memory_order_relaxed);
	atomic_store_explicit(&b->ns, ns, memory_order_relaxed);
}

/* What look() returns when there is nothing yet. */
#define SPIN_NOTHING INT64_MIN

/*
 * Wait for the other end's next message: look(arg) once, then again for
 * as long as the budget says, then sleep(arg); the first result that is
 * not SPIN_NOTHING is returned, and what the wait taught is learnt.
 */
static inline int64_t spin_wait(struct spin_budget *b,
				int64_t (*look)(void *arg),
				int64_t (*sleep)(void *arg), void *arg)
{
	int64_t r = look(arg);
	uint32_t budget;
	uint64_t t0, gave_up;

	if (r != SPIN_NOTHING)
		return r;
	budget = spin_budget_take(b);
	if (!budget)
		return sleep(arg);
	t0 = spin_now_ns();
	do {
		r = look(arg);
		if (r != SPIN_NOTHING) {
			spin_budget_learn(b, true, budget, 0);
			return r;
		}
		gave_up = spin_now_ns();
	} while (gave_up - t0 < budget);
	r = sleep(arg);
	spin_budget_learn(b, false, budget, spin_now_ns() - gave_up);
	return r;
}

#endif
