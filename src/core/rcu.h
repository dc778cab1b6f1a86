/* SPDX-License-Identifier: MIT */
/*
 * Read-copy-update, as everything lock-free here uses it: page-table
 * walks, DMA through a domain, frame lookups.  A thin layer over
 * liburcu's "bulletproof" flavour (no thread registration), which also
 * tells ThreadSanitizer the ordering it cannot see inside liburcu, and
 * keeps the releases a caller must see done before its call returns.
 */
#ifndef IOASID_CORE_RCU_H
#define IOASID_CORE_RCU_H

void ioasid_rcu_read_lock(void);
void ioasid_rcu_read_unlock(void);
/* Wait until every read-side critical section begun before has ended. */
void ioasid_synchronize_rcu(void);

/*
 * Called first by whatever runs after a grace period (an RCU callback
 * that frees): ThreadSanitizer cannot see liburcu's own ordering, so the
 * read-side sections that ended before are declared to happen before.
 * Nothing in other builds.
 */
void ioasid_after_grace_period(void);

struct rcu_head;
/* call_rcu(), with the caller's writes declared to ThreadSanitizer as
 * happening before fn runs. */
void ioasid_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *head));

/*
 * For a release that lets go of something outside this process' memory (a
 * descriptor of a file a client gave us, or of a client process): the
 * kernel has let go of such things by the time the call that dropped them
 * returns.  ioasid_defer_release() keeps fn(r) for after a grace period, and
 * ioasid_wait_releases(), at the end of that call (where no read-side section
 * and no lock a release takes is held), waits for one and runs every
 * release the calling thread kept so far.
 */
struct ioasid_release {
	struct ioasid_release *next;
	void (*fn)(struct ioasid_release *r);
};
void ioasid_defer_release(struct ioasid_release *r, void (*fn)(struct ioasid_release *r));
void ioasid_wait_releases(void);

#endif
