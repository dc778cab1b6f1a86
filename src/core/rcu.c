/* SPDX-License-Identifier: MIT */
#include "urcu_inline.h"

#include "rcu.h"

#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
static char grace_period_order; /* a token for the annotations */
#define ended_read_section() __tsan_release(&grace_period_order)
#define after_grace_period() __tsan_acquire(&grace_period_order)
#else
#define ended_read_section() ((void)0)
#define after_grace_period() ((void)0)
#endif

void ioasid_rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

void ioasid_rcu_read_unlock(void)
{
	ended_read_section();
	urcu_bp_read_unlock();
}

void ioasid_synchronize_rcu(void)
{
	urcu_bp_synchronize_rcu();
	after_grace_period();
}

void ioasid_after_grace_period(void)
{
	after_grace_period();
}

void ioasid_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *head))
{
	ended_read_section();
	urcu_bp_call_rcu(head, fn);
}

/*
 * Releases the caller must see done when its call returns: kept here
 * until ioasid_wait_releases(), which waits one grace period itself and runs
 * them.  (Through call_rcu they would wait for liburcu's callback thread,
 * which takes its callbacks in batches milliseconds apart.)  Each thread
 * keeps its own: the call that dropped the last reference is the one that
 * must not return before the release, and another thread's call must not
 * pay for it or return early thinking it ran.
 */
static __thread struct ioasid_release *releases;

void ioasid_defer_release(struct ioasid_release *r, void (*fn)(struct ioasid_release *r))
{
	ended_read_section();
	r->fn = fn;
	r->next = releases;
	releases = r;
}

void ioasid_wait_releases(void)
{
	struct ioasid_release *r = releases, *next;

	if (!r)
		return;
	releases = NULL;
	ioasid_synchronize_rcu();
	for (; r; r = next) {
		next = r->next;
		r->fn(r);
	}
}
