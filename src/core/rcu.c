/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <urcu-bp.h>

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
 * which takes its callbacks in batches milliseconds apart.)
 */
static pthread_mutex_t releases_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ioasid_release *releases; /* under releases_lock */
static atomic_bool releases_pending;

void ioasid_defer_release(struct ioasid_release *r, void (*fn)(struct ioasid_release *r))
{
	ended_read_section();
	r->fn = fn;
	pthread_mutex_lock(&releases_lock);
	r->next = releases;
	releases = r;
	atomic_store_explicit(&releases_pending, true, memory_order_relaxed);
	pthread_mutex_unlock(&releases_lock);
}

void ioasid_wait_releases(void)
{
	struct ioasid_release *r, *next;

	if (!atomic_load_explicit(&releases_pending, memory_order_relaxed))
		return;
	pthread_mutex_lock(&releases_lock);
	r = releases;
	releases = NULL;
	atomic_store_explicit(&releases_pending, false, memory_order_relaxed);
	pthread_mutex_unlock(&releases_lock);
	if (!r)
		return;
	ioasid_synchronize_rcu();
	for (; r; r = next) {
		next = r->next;
		r->fn(r);
	}
}

