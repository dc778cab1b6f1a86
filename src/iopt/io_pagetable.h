/* SPDX-License-Identifier: MIT */
/*
 * The IOVA space of one IOAS: the areas mapped in it, the ranges reserved
 * (never mappable), and the ranges userspace allowed for automatic
 * allocation.
 */
#ifndef IOASID_IOPT_IO_PAGETABLE_H
#define IOASID_IOPT_IO_PAGETABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"
#include "core/interval_tree.h"

struct ioasid_pages;
struct ioasid_page_id;
struct ioasid_domain;

/* Protection of an area, as the IOMMU API spells it. */
#define IOASID_PROT_READ (1 << 0)
#define IOASID_PROT_WRITE (1 << 1)

/*
 * One contiguous IOVA mapping: IOVA [node.start, node.last] shows bytes of
 * `pages` starting at page index first_index, page_offset bytes in.
 */
struct iopt_area {
	struct itree_node node;
	struct ioasid_pages *pages;
	uint64_t page_offset;
	uint64_t first_index, last_index;
	int prot;
	/* Access pins inside this area.  Changed under the read side of
	 * iova_lock by concurrent pinners, read under the write side. */
	atomic_uint num_accesses;
	/* Pins by the core's own objects (HW queues), which answer no
	 * unmap request: an unmap meeting one is EBUSY.  As num_accesses. */
	atomic_uint num_locks;
	bool prevent_access; /* being unmapped: no new pins or rw */
	bool storage_pinned; /* pinned whole, for the domains */
	struct iopt_area *unmap_next; /* out of the tree, awaiting release */
	uid_t payer; /* whose call made it (core/user_limits.h) */
};

static inline uint64_t iopt_area_length(const struct iopt_area *a)
{
	return a->node.last - a->node.start + 1;
}

/* The byte offset within the page set that IOVA `iova` of `a` shows. */
static inline uint64_t iopt_area_start_byte(const struct iopt_area *a,
					    uint64_t iova)
{
	return (a->first_index << IOASID_PAGE_SHIFT) + a->page_offset +
	       (iova - a->node.start);
}

/*
 * A piece of a page set about to become an area: what MAP creates and
 * what COPY gathers from its source.
 */
struct iopt_pages_elm {
	struct ioasid_pages *pages; /* a reference, handed to the area */
	uint64_t start_byte;        /* offset of the first byte in pages */
	uint64_t length;
};

struct iopt_reserved {
	struct itree_node node;
	const void *owner; /* who reserved it: a device, or the user */
};

struct iopt_allowed {
	struct itree_node node;
};

/*
 * An access attached to an IOAS, as the IOAS sees it: how strictly it
 * needs IOVAs aligned, and its place in the list an unmap notifies.
 */
struct iopt_access_link {
	void *owner; /* the access */
	struct iopt_access_link *next, **pprev;
	uint64_t seq; /* list order: notification walks resume by it */
	uint64_t iova_alignment;
};

/* The lowest IOVA an automatic placement gives. */
#define IOPT_ALLOC_LO IOASID_PAGE_SIZE

/*
 * Lock order: iova_lock, then access_lock, then any page-set lock.
 * iova_lock guards the three trees, the domains, disable_large_pages and
 * iova_alignment.  While there is a domain, every area is pinned whole
 * and mapped in every domain.  The access list changes under both locks; unmap walks
 * it under access_lock alone, having dropped iova_lock to let accesses
 * unpin.
 */
struct io_pagetable {
	pthread_rwlock_t iova_lock;
	struct itree area_itree;
	struct itree allowed_itree;
	struct itree reserved_itree;
	bool disable_large_pages;
	uint64_t iova_alignment;
	/*
	 * Every IOVA from IOPT_ALLOC_LO (where automatic IOVAs begin) below
	 * this is an area's or a reserved range's, so the search for the
	 * lowest free place starts here: raised by the searches that find
	 * where the first hole is, lowered by anything that frees IOVA
	 * below it.  Under iova_lock.
	 */
	uint64_t free_floor;
	struct ioasid_domain **domains;
	size_t ndomains;

	pthread_mutex_t access_lock;
	struct iopt_access_link *accesses; /* in seq order */
	uint64_t next_access_seq;
};

void iopt_init(struct io_pagetable *iopt);
/* Unmaps whatever is left, then frees the ranges. */
void iopt_destroy(struct io_pagetable *iopt);

/* Reserve [start, last]; -EADDRINUSE over an area or an allowed range. */
int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last,
		      const void *owner);
/* Drop every range `owner` reserved. */
void iopt_remove_reserved(struct io_pagetable *iopt, const void *owner);

/*
 * Replace the allowed ranges with those in `allowed` (which the call takes
 * over on success and leaves untouched on failure): -EADDRINUSE if any of
 * them meets a reserved range.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct itree *allowed);
void iopt_free_allowed(struct itree *allowed);

/* Whether a domain is attached now, so that a map pins at once. */
bool iopt_has_domains(struct io_pagetable *iopt);

/*
 * Map the pieces back to back at *iova: there exactly with `fixed`,
 * otherwise at an address allocated as upstream does.  On success the areas
 * own the pieces' page references (elm->pages is cleared); on failure
 * nothing changed and the caller still owns them.
 */
int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_elm *elms,
		   size_t nelms, uint64_t length, uint64_t *iova, int prot,
		   bool fixed);

/*
 * Gather the page sets behind [iova, iova + length), which areas must cover
 * without a gap (-ENOENT otherwise), as a new array of referenced pieces.
 */
int iopt_get_pages(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		   struct iopt_pages_elm **elms, size_t *nelms);
void iopt_put_pages_elms(struct iopt_pages_elm *elms, size_t nelms);

/*
 * Unmap every area inside [iova, iova + length).  An area reaching outside
 * the range fails the call with -ENOENT before anything is unmapped.
 * *unmapped gets the bytes unmapped (0 when nothing was there).
 */
int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		    uint64_t *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped);

/*
 * Make each of `iovas` the last byte of an area, splitting the area that
 * holds it (VFIO type1 v1 unmaps may cut mappings).  Stops at the first
 * cut that cannot be made.
 */
int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t n);

/* Do areas cover [iova, last] without a gap?  Under iova_lock. */
bool iopt_covered_locked(struct io_pagetable *iopt, uint64_t iova,
			 uint64_t last);

/* Call fn on every area, in IOVA order, under the read lock. */
int iopt_for_each_area(struct io_pagetable *iopt,
		       int (*fn)(struct iopt_area *area, void *arg), void *arg);

int iopt_disable_large_pages(struct io_pagetable *iopt);

/*
 * Attach an access: the IOAS's alignment becomes at least the access's
 * (-EADDRINUSE when a mapped area would break it).
 */
int iopt_add_access(struct io_pagetable *iopt, struct iopt_access_link *link);
void iopt_remove_access(struct io_pagetable *iopt,
			struct iopt_access_link *link);

/*
 * The next attached access after sequence number *seq, advancing *seq:
 * a walk that survives accesses coming and going between steps.  Returns
 * NULL at the end; `take` is tried on each candidate under the list lock
 * and decides whether it is returned (it must take a reference).
 */
struct iopt_access_link *
iopt_next_access(struct io_pagetable *iopt, uint64_t *seq,
		 bool (*take)(struct iopt_access_link *link));

/*
 * What an access does with [iova, last]: areas must cover it back to back
 * (-ENOENT otherwise), none may be being unmapped (-EINVAL), and each must
 * allow the direction (-EPERM).
 *
 * iopt_access_pin pins every page, which also needs each piece to start
 * and (but for the last) end on a page boundary (-EINVAL), and reports
 * which page each is in ids[] when ids is not NULL.  On failure nothing
 * stays pinned.  iopt_access_unpin undoes exactly one such pin.
 * iopt_access_rw copies to or from buf.
 */
int iopt_access_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
		    bool write, struct ioasid_page_id *ids);
void iopt_access_unpin(struct io_pagetable *iopt, uint64_t iova,
		       uint64_t last);
int iopt_access_rw(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
		   void *buf, bool write);
void iopt_enable_large_pages(struct io_pagetable *iopt);

/* Who pins: an access, asked to let go when an unmap meets its pins, or
 * an object of the core's own, which is not. */
enum iopt_pinner {
	IOPT_PIN_ACCESS,
	IOPT_PIN_LOCK,
};

/*
 * iopt_access_pin for the core's own objects: pfns[] (when not NULL)
 * gets the frame of each page pinned, and until iopt_lock_unpin an unmap
 * meeting the pins fails with -EBUSY.
 */
int iopt_lock_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
		  uint64_t *pfns);
void iopt_lock_unpin(struct io_pagetable *iopt, uint64_t iova, uint64_t last);

/*
 * Add a domain: the IOVA outside its aperture becomes reserved, the
 * alignment follows its page size (-EINVAL past PAGE_SIZE, -EADDRINUSE
 * when an area breaks it), and every area is pinned and mapped in it.
 * All or nothing.  Remove undoes it; the last domain's removal unpins.
 */
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct ioasid_domain *dom);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct ioasid_domain *dom);

/* For the iopt files: under iova_lock, written. */
int iopt_reserve_iova_locked(struct io_pagetable *iopt, uint64_t start,
			     uint64_t last, const void *owner);
void iopt_remove_reserved_locked(struct io_pagetable *iopt, const void *owner);
int iopt_check_iova_alignment_locked(struct io_pagetable *iopt,
				     uint64_t align);
int iopt_calculate_iova_alignment_locked(struct io_pagetable *iopt);
/* Pin a new area and map it in every domain; undone by unfill. */
int iopt_area_fill_domains_locked(struct io_pagetable *iopt,
				  struct iopt_area *area);
void iopt_area_unfill_domains_locked(struct io_pagetable *iopt,
				     struct iopt_area *area);

#endif
