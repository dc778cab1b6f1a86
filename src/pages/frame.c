/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <urcu-bp.h>

#include "core/user_limits.h"
#include "core/util.h"
#include "frame.h"
#include "core/interval_tree.h"
#include "pt/pt.h"

/*
 * Who holds a frame pinned: a page set and the page index there.  DMA
 * reaches a frame's bytes through its first holder.
 */
struct holder {
	struct ioasid_pages *pages;
	uint64_t index;
	struct holder *_Atomic next;
	struct rcu_head rcu;
};

/*
 * A frame is one user's hold on a page: two users pinning the same page
 * (a file both map) get a frame each, under different numbers.  DMA by a
 * frame number reaches the page only through its holders, so only ever
 * through the memory of the user whose domain maps that number, never
 * through another user's process (which could have put other memory
 * where the page was, or may read what this user may not).
 */
struct ioasid_frame {
	struct ioasid_page_id id;
	uid_t owner;
	uint64_t pfn;
	unsigned int pins; /* = holders on the list */
	struct holder *_Atomic holders;
	struct ioasid_frame *hash_next;
	struct rcu_head rcu;
	/* Most frames only ever have one holder: the first is this one,
	 * used once (readers may still be on it after it leaves). */
	struct holder first;
	bool first_spent;
};

/*
 * The directory: frame number -> frame, four levels of 1024 slots (40-bit
 * frame numbers, the width of a PTE's address field).  Slots are written
 * under frames_lock and read without it; directory pages are never freed.
 */
#define DIR_BITS 10
#define DIR_SLOTS (1u << DIR_BITS)
#define DIR_LEVELS 4
#define PFN_LIMIT (1ULL << (DIR_BITS * DIR_LEVELS))
#define COLOUR 512 /* pages in 2 MiB */

typedef void *_Atomic dir_slot;

/* Lock order: a page set's mutex, then frames_lock. */
static pthread_mutex_t frames_lock = PTHREAD_MUTEX_INITIALIZER;
static dir_slot dir_root[DIR_SLOTS];

/*
 * Where each frame's page is in this process, by frame number: what a
 * translation after an IOTLB miss wants, one load away from the leaf's
 * frame number rather than four levels of directory, the frame, its
 * holder and the page set.  NULL for a frame whose page is not ours to
 * touch (another process' memory: DMA reaches it through its holders).
 * A sparse array the kernel backs page by page as frames are numbered
 * (8 bytes per frame); written under frames_lock whenever a frame's
 * holders change, read without it.  Numbers past HOST_MAP_PFNS, or no
 * map at all (no address space to reserve), fall back to the holders.
 */
#define HOST_MAP_PFNS (1ULL << 30)
static void *_Atomic *_Atomic host_map;
static bool host_map_tried;

static struct ioasid_frame **hash;
static size_t hash_size, hash_count;

static size_t dir_pages, free_nodes;
static struct itree free_pfns = ITREE_INIT;
static uint64_t next_pfn = COLOUR; /* 0 is never a frame */

static dir_slot *dir_leaf_slot(uint64_t pfn, bool create)
{
	dir_slot *table = dir_root;

	for (int level = DIR_LEVELS - 1; level > 0; level--) {
		dir_slot *slot = &table[(pfn >> (level * DIR_BITS)) &
					(DIR_SLOTS - 1)];
		dir_slot *next = atomic_load_explicit(slot,
						      memory_order_acquire);

		if (!next) {
			if (!create)
				return NULL;
			next = calloc(DIR_SLOTS, sizeof(dir_slot));
			if (!next)
				return NULL;
			dir_pages++;
			atomic_store_explicit(slot, next,
					      memory_order_release);
		}
		table = next;
	}
	return &table[pfn & (DIR_SLOTS - 1)];
}

static uint64_t id_hash(const struct ioasid_page_id *id)
{
	uint64_t h = id->kind * 0x9e3779b97f4a7c15ULL;

	h ^= id->a + 0x517cc1b727220a95ULL + (h << 6) + (h >> 2);
	h ^= id->b + 0x517cc1b727220a95ULL + (h << 6) + (h >> 2);
	h ^= id->index * 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

static bool id_equal(const struct ioasid_page_id *x,
		     const struct ioasid_page_id *y)
{
	return x->kind == y->kind && x->a == y->a && x->b == y->b &&
	       x->index == y->index;
}

static struct ioasid_frame *hash_find(const struct ioasid_page_id *id,
				      uid_t owner)
{
	struct ioasid_frame *f;

	if (!hash_size)
		return NULL;
	for (f = hash[id_hash(id) & (hash_size - 1)]; f; f = f->hash_next)
		if (f->owner == owner && id_equal(&f->id, id))
			return f;
	return NULL;
}

/* Room for `more` entries; failing to grow only makes chains longer. */
static int hash_reserve(size_t more)
{
	size_t want = hash_size ? hash_size : 1024;
	struct ioasid_frame **nh;

	while (want < hash_count + more)
		want *= 2;
	if (want == hash_size)
		return 0;
	nh = calloc(want, sizeof(*nh));
	if (!nh)
		return hash_size ? 0 : -ENOMEM;
	for (size_t i = 0; i < hash_size; i++) {
		struct ioasid_frame *f, *next;

		for (f = hash[i]; f; f = next) {
			size_t b = id_hash(&f->id) & (want - 1);

			next = f->hash_next;
			f->hash_next = nh[b];
			nh[b] = f;
		}
	}
	free(hash);
	hash = nh;
	hash_size = want;
	return 0;
}

static void hash_del(struct ioasid_frame *f)
{
	struct ioasid_frame **link = &hash[id_hash(&f->id) & (hash_size - 1)];

	while (*link != f)
		link = &(*link)->hash_next;
	*link = f->hash_next;
	hash_count--;
}

/*
 * Free frame numbers below next_pfn, as ranges.  Returning numbers may
 * need a node; without memory they are simply not reused.
 */
static void pfns_free(uint64_t pfn)
{
	struct itree_node *before = pfn ? itree_iter_first(&free_pfns, pfn - 1,
							  pfn - 1) :
					  NULL;
	struct itree_node *after = itree_iter_first(&free_pfns, pfn + 1,
						    pfn + 1);
	struct itree_node *n;

	if (before && after) {
		itree_remove(&free_pfns, after);
		itree_remove(&free_pfns, before);
		before->last = after->last;
		itree_insert(&free_pfns, before);
		free(after);
		free_nodes--;
		return;
	}
	if (before || after) {
		n = before ? before : after;
		itree_remove(&free_pfns, n);
		if (before)
			n->last = pfn;
		else
			n->start = pfn;
		itree_insert(&free_pfns, n);
		return;
	}
	n = malloc(sizeof(*n));
	if (!n)
		return;
	free_nodes++;
	n->start = n->last = pfn;
	itree_insert(&free_pfns, n);
}

static uint64_t colour_up(uint64_t pfn, uint64_t colour)
{
	return pfn + ((colour - pfn) & (COLOUR - 1));
}

/* n consecutive free numbers, the first one of `colour`; 0 when none. */
static uint64_t pfns_alloc(uint64_t n, uint64_t colour)
{
	struct itree_node *node;
	uint64_t start;

	itree_for_each(node, &free_pfns, 0, UINT64_MAX) {
		struct itree_node *tail = NULL;

		start = colour_up(node->start, colour);
		if (start < node->start || start + n - 1 > node->last)
			continue;
		if (start != node->start && start + n - 1 != node->last) {
			tail = malloc(sizeof(*tail));
			if (!tail)
				continue;
			free_nodes++;
		}
		itree_remove(&free_pfns, node);
		if (tail) {
			tail->start = start + n;
			tail->last = node->last;
			itree_insert(&free_pfns, tail);
			node->last = start - 1;
			itree_insert(&free_pfns, node);
		} else if (start != node->start) {
			node->last = start - 1;
			itree_insert(&free_pfns, node);
		} else if (start + n - 1 != node->last) {
			node->start = start + n;
			itree_insert(&free_pfns, node);
		} else {
			free(node);
			free_nodes--;
		}
		return start;
	}
	start = colour_up(next_pfn, colour);
	if (start + n > PFN_LIMIT)
		return 0;
	for (uint64_t gap = next_pfn; gap < start; gap++)
		pfns_free(gap);
	next_pfn = start + n;
	return start;
}

static void frame_free_rcu(struct rcu_head *head)
{
	ioasid_after_grace_period();
	free(caa_container_of(head, struct ioasid_frame, rcu));
}

static void holder_free_rcu(struct rcu_head *head)
{
	ioasid_after_grace_period();
	free(caa_container_of(head, struct holder, rcu));
}

/*
 * Where f's page is in this process, when every holder says the same
 * place: then any translation that cached it stays right until the
 * frame's last holder goes, which unmaps every IOVA that leads here.
 * With holders that differ (the page at two addresses, or another
 * process' memory besides) NULL: an IOTLB entry filled through one
 * mapping must not keep the address another mapping's holder gave, which
 * that holder's unmap does not invalidate.  In a read-side section, or
 * under frames_lock.
 */
static void *frame_self_host(struct ioasid_frame *f)
{
	void *host = NULL;

	for (struct holder *h = atomic_load_explicit(&f->holders,
						     memory_order_acquire);
	     h; h = atomic_load_explicit(&h->next, memory_order_acquire)) {
		void *at = ioasid_pages_self_addr(h->pages, h->index);

		if (!at || (host && at != host))
			return NULL;
		host = at;
	}
	return host;
}

/* Under frames_lock: the host map says where f's page is now. */
static void host_map_update(struct ioasid_frame *f, bool gone)
{
	void *host;

	if (!host_map_tried) {
		void *p = mmap(NULL, HOST_MAP_PFNS * sizeof(void *),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			       0);

		host_map_tried = true;
		if (p != MAP_FAILED)
			host_map = p;
	}
	if (!host_map || f->pfn >= HOST_MAP_PFNS)
		return;
	host = gone ? NULL : frame_self_host(f);
	/* Compared first: a daemon's frames are all NULL, and a page of the
	 * map that is never written costs no memory. */
	if (atomic_load_explicit(&host_map[f->pfn], memory_order_relaxed) !=
	    host)
		atomic_store_explicit(&host_map[f->pfn], host,
				      memory_order_release);
}

static void frame_drop_locked(struct ioasid_frame *f, struct ioasid_pages *p,
			      uint64_t index)
{
	struct holder *_Atomic *link = &f->holders, *h;

	while ((h = atomic_load(link)) && (h->pages != p || h->index != index))
		link = &h->next;
	if (!h)
		return; /* not ours: a caller bug, and nothing to undo */
	atomic_store_explicit(link, atomic_load(&h->next),
			      memory_order_release);
	if (h != &f->first) {
		ioasid_user_mem_uncharge(f->owner, sizeof(*h));
		ioasid_call_rcu(&h->rcu, holder_free_rcu);
	}
	host_map_update(f, f->pins == 1);
	if (--f->pins)
		return;
	ioasid_user_mem_uncharge(f->owner, sizeof(*f));
	hash_del(f);
	atomic_store_explicit(dir_leaf_slot(f->pfn, false), NULL,
			      memory_order_release);
	pfns_free(f->pfn);
	ioasid_call_rcu(&f->rcu, frame_free_rcu);
}

static int frame_add_holder(struct ioasid_frame *f, struct ioasid_pages *p,
			    uint64_t index)
{
	struct holder *h = &f->first;

	if (f->first_spent) {
		if (ioasid_user_mem_charge(f->owner, sizeof(*h)))
			return -ENOMEM;
		h = malloc(sizeof(*h));
		if (!h) {
			ioasid_user_mem_uncharge(f->owner, sizeof(*h));
			return -ENOMEM;
		}
	}
	f->first_spent = true;
	h->pages = p;
	h->index = index;
	/* Appended: DMA keeps going through the holder it used before. */
	atomic_init(&h->next, NULL);
	struct holder *_Atomic *link = &f->holders;
	while (atomic_load(link))
		link = &atomic_load(link)->next;
	atomic_store_explicit(link, h, memory_order_release);
	f->pins++;
	host_map_update(f, false);
	return 0;
}

/* A new frame for id at number pfn, published; its owner pays for it. */
static struct ioasid_frame *frame_new(const struct ioasid_page_id *id,
				      uid_t owner, uint64_t pfn)
{
	struct ioasid_frame *f;
	dir_slot *slot;

	if (ioasid_user_mem_charge(owner, sizeof(*f)))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto out_uncharge;
	slot = dir_leaf_slot(pfn, true);
	if (!slot)
		goto out_free;
	f->id = *id;
	f->owner = owner;
	f->pfn = pfn;
	atomic_init(&f->holders, NULL);
	f->hash_next = hash[id_hash(id) & (hash_size - 1)];
	hash[id_hash(id) & (hash_size - 1)] = f;
	hash_count++;
	atomic_store_explicit(slot, f, memory_order_release);
	return f;

out_free:
	free(f);
out_uncharge:
	ioasid_user_mem_uncharge(owner, sizeof(*f));
	return NULL;
}

/* A frame with no holders yet goes away again. */
static void frame_unwind_new(struct ioasid_frame *f)
{
	ioasid_user_mem_uncharge(f->owner, sizeof(*f));
	hash_del(f);
	atomic_store_explicit(dir_leaf_slot(f->pfn, false), NULL,
			      memory_order_release);
	pfns_free(f->pfn);
	ioasid_call_rcu(&f->rcu, frame_free_rcu);
}

int ioasid_frames_hold(const struct ioasid_page_id *ids, size_t n,
		       struct ioasid_pages *p, uint64_t first_index,
		       uint64_t *pfns)
{
	const uid_t owner = ioasid_pages_owner(p);
	size_t i = 0;
	int rc;

	pthread_mutex_lock(&frames_lock);
	rc = hash_reserve(n);
	if (rc)
		goto out_unlock;
	while (i < n) {
		struct ioasid_frame *f = hash_find(&ids[i], owner);
		uint64_t run = 0, base;

		if (f) {
			rc = frame_add_holder(f, p, first_index + i);
			if (rc)
				goto out_release;
			pfns[i++] = f->pfn;
			continue;
		}
		/* A run of pages new to us gets consecutive numbers. */
		while (i + run < n && !hash_find(&ids[i + run], owner))
			run++;
		base = pfns_alloc(run, ids[i].index);
		if (!base) {
			rc = -ENOMEM;
			goto out_release;
		}
		for (uint64_t k = 0; k < run; k++, i++) {
			f = hash_find(&ids[i], owner); /* twice in one run */
			if (f) {
				pfns_free(base + k);
			} else {
				f = frame_new(&ids[i], owner, base + k);
				if (!f) {
					while (++k < run)
						pfns_free(base + k);
					rc = -ENOMEM;
					goto out_release;
				}
			}
			rc = frame_add_holder(f, p, first_index + i);
			if (rc) {
				if (!f->pins)
					frame_unwind_new(f);
				while (++k < run)
					pfns_free(base + k);
				goto out_release;
			}
			pfns[i] = f->pfn;
		}
	}
	pthread_mutex_unlock(&frames_lock);
	return 0;

out_release:
	while (i-- > 0) {
		struct ioasid_frame *f = atomic_load(dir_leaf_slot(pfns[i], false));

		frame_drop_locked(f, p, first_index + i);
	}
out_unlock:
	pthread_mutex_unlock(&frames_lock);
	return rc;
}

void ioasid_frames_release(struct ioasid_pages *p, uint64_t first_index,
			   const uint64_t *pfns, size_t n)
{
	pthread_mutex_lock(&frames_lock);
	for (size_t i = 0; i < n; i++) {
		dir_slot *slot = dir_leaf_slot(pfns[i], false);
		struct ioasid_frame *f = slot ? atomic_load(slot) : NULL;

		if (f)
			frame_drop_locked(f, p, first_index + i);
	}
	pthread_mutex_unlock(&frames_lock);
}

unsigned int ioasid_frame_pins(const struct ioasid_page_id *id, uint64_t *pfn)
{
	struct ioasid_frame *f;
	unsigned int pins = 0;

	/* The page's pins, whoever holds them, as its refcount would say;
	 * the number is the first frame's. */
	pthread_mutex_lock(&frames_lock);
	for (f = hash_size ? hash[id_hash(id) & (hash_size - 1)] : NULL; f;
	     f = f->hash_next) {
		if (!id_equal(&f->id, id))
			continue;
		if (!pins && pfn)
			*pfn = f->pfn;
		pins += f->pins;
	}
	pthread_mutex_unlock(&frames_lock);
	return pins;
}

void *ioasid_frame_host(uint64_t pfn)
{
	void *_Atomic *map = atomic_load_explicit(&host_map,
						    memory_order_acquire);
	struct ioasid_frame *f;
	dir_slot *slot;

	if (map && pfn < HOST_MAP_PFNS)
		return atomic_load_explicit(&map[pfn], memory_order_acquire);
	if (pfn >= PFN_LIMIT)
		return NULL;
	slot = dir_leaf_slot(pfn, false);
	f = slot ? atomic_load_explicit(slot, memory_order_acquire) : NULL;
	return f ? frame_self_host(f) : NULL;
}

void *ioasid_frame_host_run(uint64_t pfn, uint64_t n)
{
	char *first = ioasid_frame_host(pfn), *last;

	/*
	 * A leaf maps a run of one area's pages, consecutive in its set and
	 * so in the set's addresses.  Every holder of both ends says where
	 * they are (frame_self_host), the leaf's set among them: if those
	 * places are n - 1 pages apart, the set's addresses for the whole
	 * run are the block from the first, good until its area's unmap
	 * invalidates what cached it.
	 */
	if (!first)
		return NULL;
	last = ioasid_frame_host(pfn + n - 1);
	return last == first + ((n - 1) << IOASID_PAGE_SHIFT) ? first : NULL;
}

int ioasid_frame_id(uint64_t pfn, struct ioasid_page_id *id)
{
	struct ioasid_frame *f = NULL;
	dir_slot *slot;

	pthread_mutex_lock(&frames_lock);
	slot = pfn < PFN_LIMIT ? dir_leaf_slot(pfn, false) : NULL;
	if (slot)
		f = atomic_load(slot);
	if (f)
		*id = f->id;
	pthread_mutex_unlock(&frames_lock);
	return f ? 0 : -ENOENT;
}

int ioasid_frame_rw(uint64_t pa, void *buf, size_t len, bool write)
{
	uint64_t pfn = pa >> IOASID_PAGE_SHIFT, off = pa & (IOASID_PAGE_SIZE - 1);
	struct ioasid_frame *f;
	struct holder *h;
	dir_slot *slot;

	if (pfn >= PFN_LIMIT || off + len > IOASID_PAGE_SIZE)
		return -EFAULT;
	slot = dir_leaf_slot(pfn, false);
	f = slot ? atomic_load_explicit(slot, memory_order_acquire) : NULL;
	if (!f)
		return -EFAULT;
	/* Any holder reaches the same page; try them in turn, as one of
	 * them may have lost its way to it (its process exited). */
	for (h = atomic_load_explicit(&f->holders, memory_order_acquire); h;
	     h = atomic_load_explicit(&h->next, memory_order_acquire))
		if (!ioasid_pages_rw(h->pages,
				     (h->index << IOASID_PAGE_SHIFT) + off, buf,
				     len, write))
			return 0;
	return -EFAULT;
}

void ioasid_frames_stats(size_t *frames, size_t *cached_blocks)
{
	pthread_mutex_lock(&frames_lock);
	*frames = hash_count;
	*cached_blocks = (hash ? 1 : 0) + dir_pages + free_nodes;
	pthread_mutex_unlock(&frames_lock);
}
