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
 * The frame table keeps runs, not pages.  An extent is a run of pages
 * with consecutive identities (one file's consecutive offsets, or one
 * process' consecutive addresses) and consecutive frame numbers, of one
 * user.  What is per page lives in the page sets that hold the pages:
 * each set's frame-number record (pfn_record.h) says which of its pages it
 * holds, and through which frame.  So a pin of a million pages of one
 * mapping costs one extent and one holder here, however it is batched.
 *
 * Two users pinning the same page get an extent each, under different
 * numbers: DMA by a frame number reaches the page only through holders
 * of the user whose domain maps that number, never through another
 * user's process (which could have put other memory where the page was,
 * or may read what this user may not).
 */

/*
 * One page set's hold on pages of an extent: extent page k is the set's
 * page k + delta.  It holds page k exactly while the set's record says
 * so (ioasid_pages_pfn_at); count is how many pages that is.
 */
struct holder {
	struct ioasid_pages *pages;
	int64_t delta;
	uint64_t count; /* under frames_lock */
	struct holder *_Atomic next;
	struct rcu_head rcu;
};

struct source;

struct extent {
	struct itree_node node; /* identity indexes, in its source */
	struct source *src;
	uint64_t pfn; /* of its first page */
	/* Grows at the end only; readers check a page against it. */
	_Atomic uint64_t npages;
	/* Appended, so DMA keeps its way; none left, and the extent goes. */
	struct holder *_Atomic holders;
	/* Whether a holder over this process' own memory ever held it: only
	 * then can the host map say anything but NULL for its pages. */
	bool self_seen;
	struct rcu_head rcu;
};

/* One user's extents over one object (a file, or a process' memory). */
struct source {
	uint32_t kind;
	uint64_t a, b;
	uid_t owner;
	struct itree extents; /* by identity index */
	struct source *hash_next;
};

/*
 * Frame numbers keep a page's place within a 2 MiB block (its address or
 * file offset modulo 512 pages): memory that is contiguous and aligned in
 * its owner is contiguous and aligned here, and IO page tables can map it
 * with large leaves, as with real huge pages.  Small extents are packed
 * side by side, so that consecutive small pins get consecutive numbers
 * and the host map stays dense.
 *
 * The directory: block number -> what holds the block's frames, three
 * levels of 1024 slots.  A block one extent has wholly is that extent; a
 * block extents share is a table of 512, one per frame, tagged by its
 * low bit.  Slots and tables are written under frames_lock and read
 * without it; directory pages are never freed, tables and extents after
 * an RCU grace period.
 */
#define BLOCK_SHIFT 9
#define BLOCK_PAGES (1ULL << BLOCK_SHIFT)
#define DIR_BITS 10
#define DIR_SLOTS (1u << DIR_BITS)
#define DIR_LEVELS 3
#define PFN_LIMIT (1ULL << (DIR_BITS * DIR_LEVELS + BLOCK_SHIFT))

typedef void *_Atomic dir_slot;

struct block_table {
	struct extent *_Atomic page[BLOCK_PAGES];
	unsigned int used; /* non-NULL pages; under frames_lock */
	struct rcu_head rcu;
};

#define TABLE_TAG ((uintptr_t)1)

/* Lock order: a page set's mutex, then frames_lock. */
static pthread_mutex_t frames_lock = PTHREAD_MUTEX_INITIALIZER;
static dir_slot dir_root[DIR_SLOTS];

/*
 * Where each frame's page is in this process, by frame number: what a
 * translation after an IOTLB miss wants, one load away from the leaf's
 * frame number rather than the directory, the extent, its holders and
 * their page sets.  NULL for a frame whose page is not ours to touch
 * (another process' memory: DMA reaches it through its holders).  A
 * sparse array the kernel backs where it is written (8 bytes per frame
 * of this process' own memory, none in a daemon, whose memory is all its
 * clients'), in huge pages where it can: frame numbers are dense, and at
 * a million frames a load from 4 KiB pages was a TLB miss on top of the
 * cache miss (2 MiB is the least a process with any frame of its own
 * pays); written under frames_lock whenever who
 * holds a page changes, read without it.  Numbers past HOST_MAP_PFNS, or
 * no map at all (no address space to reserve), fall back to the holders.
 */
#define HOST_MAP_PFNS (1ULL << 30)
static void *_Atomic *_Atomic host_map;
static bool host_map_tried;

static struct source **hash;
static size_t hash_size, hash_count;
static size_t nextents;

static size_t dir_pages, free_nodes;
static struct itree free_pfns = ITREE_INIT;
static uint64_t next_pfn = BLOCK_PAGES; /* 0 is never a frame */

static dir_slot *dir_slot_of(uint64_t block, bool create)
{
	dir_slot *table = dir_root;

	for (int level = DIR_LEVELS - 1; level > 0; level--) {
		dir_slot *slot = &table[(block >> (level * DIR_BITS)) &
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
	return &table[block & (DIR_SLOTS - 1)];
}

static struct block_table *as_table(void *v)
{
	return (uintptr_t)v & TABLE_TAG ?
		       (struct block_table *)((uintptr_t)v & ~TABLE_TAG) :
		       NULL;
}

/* The extent frame pfn belongs to, and the page's place in it; or NULL. */
static struct extent *extent_of(uint64_t pfn, uint64_t *k)
{
	struct block_table *t;
	struct extent *e;
	dir_slot *slot;
	void *v;

	if (pfn >= PFN_LIMIT)
		return NULL;
	slot = dir_slot_of(pfn >> BLOCK_SHIFT, false);
	v = slot ? atomic_load_explicit(slot, memory_order_acquire) : NULL;
	t = as_table(v);
	e = t ? atomic_load_explicit(&t->page[pfn & (BLOCK_PAGES - 1)],
				     memory_order_acquire) :
		v;
	if (!e || pfn < e->pfn ||
	    pfn - e->pfn >= atomic_load_explicit(&e->npages,
						 memory_order_acquire))
		return NULL;
	*k = pfn - e->pfn;
	return e;
}

static void table_free_rcu(struct rcu_head *head)
{
	ioasid_after_grace_period();
	free(caa_container_of(head, struct block_table, rcu));
}

/*
 * Point frames [in, in + len) of block b at e (e NULL: at nothing).
 * Clearing never fails, and passes over what was never claimed (a claim
 * that failed half way is cleared whole).
 */
static int block_point(uint64_t b, uint64_t in, uint64_t len, struct extent *e)
{
	dir_slot *slot = dir_slot_of(b, e != NULL);
	struct block_table *t;

	if (!slot)
		return e ? -ENOMEM : 0;
	t = as_table(atomic_load(slot));
	if (len == BLOCK_PAGES && !t) {
		atomic_store_explicit(slot, e, memory_order_release);
		return 0;
	}
	if (!t && !e)
		return 0;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		atomic_store_explicit(slot, (void *)((uintptr_t)t | TABLE_TAG),
				      memory_order_release);
	}
	for (uint64_t i = in; i < in + len; i++) {
		t->used += !atomic_load(&t->page[i]) - !e;
		atomic_store_explicit(&t->page[i], e, memory_order_release);
	}
	if (!t->used) {
		atomic_store_explicit(slot, NULL, memory_order_release);
		ioasid_call_rcu(&t->rcu, table_free_rcu);
	}
	return 0;
}

/* Point frames [pfn, pfn + n) at e, a block at a time. */
static int dir_point(uint64_t pfn, uint64_t n, struct extent *e)
{
	while (n) {
		uint64_t in = pfn & (BLOCK_PAGES - 1);
		uint64_t len = MIN(n, BLOCK_PAGES - in);
		int rc = block_point(pfn >> BLOCK_SHIFT, in, len, e);

		if (rc)
			return rc;
		pfn += len;
		n -= len;
	}
	return 0;
}

static uint64_t key_hash(uint32_t kind, uint64_t a, uint64_t b)
{
	uint64_t h = kind * 0x9e3779b97f4a7c15ULL;

	h ^= a + 0x517cc1b727220a95ULL + (h << 6) + (h >> 2);
	h ^= b + 0x517cc1b727220a95ULL + (h << 6) + (h >> 2);
	return h ^ (h >> 31);
}

static bool same_object(const struct source *s, const struct ioasid_page_id *id)
{
	return s->kind == id->kind && s->a == id->a && s->b == id->b;
}

static struct source **bucket_of(const struct ioasid_page_id *id)
{
	return &hash[key_hash(id->kind, id->a, id->b) & (hash_size - 1)];
}

static struct source *source_find(const struct ioasid_page_id *id,
				  uid_t owner)
{
	if (!hash_size)
		return NULL;
	for (struct source *s = *bucket_of(id); s; s = s->hash_next)
		if (s->owner == owner && same_object(s, id))
			return s;
	return NULL;
}

/* Room for one more source; failing to grow only makes chains longer. */
static int hash_grow(void)
{
	size_t want = hash_size ? hash_size * 2 : 64;
	struct source **nh;

	if (hash_count < hash_size)
		return 0;
	nh = calloc(want, sizeof(*nh));
	if (!nh)
		return hash_size ? 0 : -ENOMEM;
	for (size_t i = 0; i < hash_size; i++) {
		struct source *s, *next;

		for (s = hash[i]; s; s = next) {
			size_t b = key_hash(s->kind, s->a, s->b) & (want - 1);

			next = s->hash_next;
			s->hash_next = nh[b];
			nh[b] = s;
		}
	}
	free(hash);
	hash = nh;
	hash_size = want;
	return 0;
}

static struct source *source_get(const struct ioasid_page_id *id, uid_t owner)
{
	struct source *s = source_find(id, owner), **bucket;

	if (s)
		return s;
	if (hash_grow())
		return NULL;
	s = ioasid_user_mem_calloc(owner, sizeof(*s));
	if (!s)
		return NULL;
	s->kind = id->kind;
	s->a = id->a;
	s->b = id->b;
	s->owner = owner;
	s->extents = (struct itree)ITREE_INIT;
	bucket = bucket_of(id);
	s->hash_next = *bucket;
	*bucket = s;
	hash_count++;
	return s;
}

/* A source with no extents left goes. */
static void source_put_if_empty(struct source *s)
{
	struct ioasid_page_id id = { .kind = s->kind, .a = s->a, .b = s->b };
	struct source **link;

	if (!itree_empty(&s->extents))
		return;
	for (link = bucket_of(&id); *link != s; link = &(*link)->hash_next)
		;
	*link = s->hash_next;
	hash_count--;
	ioasid_user_mem_uncharge(s->owner, sizeof(*s));
	free(s);
}

/*
 * Free frame numbers below next_pfn, as ranges.  Returning numbers may
 * need a node; without memory they are simply not reused.
 */
static void pfns_free(uint64_t first, uint64_t n)
{
	uint64_t last = first + n - 1;
	struct itree_node *before = itree_iter_first(&free_pfns, first - 1,
						     first - 1);
	struct itree_node *after = itree_iter_first(&free_pfns, last + 1,
						    last + 1);
	struct itree_node *node;

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
		node = before ? before : after;
		itree_remove(&free_pfns, node);
		if (before)
			node->last = last;
		else
			node->start = first;
		itree_insert(&free_pfns, node);
		return;
	}
	node = malloc(sizeof(*node));
	if (!node)
		return;
	free_nodes++;
	node->start = first;
	node->last = last;
	itree_insert(&free_pfns, node);
}

/* Take [first, first + n) out of free range `node`, which holds it. */
static int pfns_carve(struct itree_node *node, uint64_t first, uint64_t n)
{
	uint64_t last = first + n - 1;
	struct itree_node *tail = NULL;

	if (first != node->start && last != node->last) {
		tail = malloc(sizeof(*tail));
		if (!tail)
			return -ENOMEM;
		free_nodes++;
	}
	itree_remove(&free_pfns, node);
	if (tail) {
		tail->start = last + 1;
		tail->last = node->last;
		itree_insert(&free_pfns, tail);
	}
	if (first != node->start) {
		node->last = first - 1;
		itree_insert(&free_pfns, node);
	} else if (last != node->last) {
		node->start = last + 1;
		itree_insert(&free_pfns, node);
	} else {
		free(node);
		free_nodes--;
	}
	return 0;
}

static uint64_t colour_up(uint64_t pfn, uint64_t colour)
{
	return pfn + ((colour - pfn) & (BLOCK_PAGES - 1));
}

/*
 * n consecutive free numbers, the first one of `colour`, in the first
 * place with room for `room` of them (>= n: what the caller means to grow
 * to, so that it can); 0 when there are none.
 */
static uint64_t pfns_alloc(uint64_t n, uint64_t room, uint64_t colour)
{
	struct itree_node *node;
	uint64_t first;

	itree_for_each(node, &free_pfns, 0, UINT64_MAX) {
		first = colour_up(node->start, colour);
		if (first >= node->start && first + room - 1 >= first &&
		    first + room - 1 <= node->last &&
		    !pfns_carve(node, first, n))
			return first;
	}
	first = colour_up(next_pfn, colour);
	if (first + n > PFN_LIMIT)
		return 0;
	if (first > next_pfn)
		pfns_free(next_pfn, first - next_pfn);
	next_pfn = first + n;
	return first;
}

/* Numbers [first, first + n) if every one of them is free. */
static bool pfns_take_at(uint64_t first, uint64_t n)
{
	struct itree_node *node;

	if (first == next_pfn) {
		if (first + n > PFN_LIMIT)
			return false;
		next_pfn += n;
		return true;
	}
	node = itree_iter_first(&free_pfns, first, first);
	return node && node->last >= first + n - 1 &&
	       !pfns_carve(node, first, n);
}

/*
 * Where page k of e is in this process, when every set that holds it
 * says the same place: then a translation that cached it stays right
 * until the page's last holder goes, which unmaps every IOVA that leads
 * here.  With holders that differ (the page at two addresses, or another
 * process' memory besides) NULL: an IOTLB entry filled through one
 * mapping must not keep the address another mapping's holder gave, which
 * that holder's unmap does not invalidate.  In a read-side section, or
 * under frames_lock.
 */
static void *page_self_host(struct extent *e, uint64_t k)
{
	const uint64_t pfn = e->pfn + k;
	void *host = NULL;

	for (struct holder *h = atomic_load_explicit(&e->holders,
						     memory_order_acquire);
	     h; h = atomic_load_explicit(&h->next, memory_order_acquire)) {
		int64_t index = (int64_t)k + h->delta;
		void *at;

		if (ioasid_pages_pfn_at(h->pages, index) != pfn)
			continue;
		at = ioasid_pages_self_addr(h->pages, (uint64_t)index);
		if (!at || (host && at != host))
			return NULL;
		host = at;
	}
	return host;
}

/* Under frames_lock: the host map says where pages [k, k + n) of e are. */
static void host_map_update(struct extent *e, uint64_t k, uint64_t n)
{
	if (!e->self_seen)
		return; /* NULL, as it has always been */
	if (!host_map_tried) {
		void *p = mmap(NULL, HOST_MAP_PFNS * sizeof(void *),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			       0);

		host_map_tried = true;
		if (p != MAP_FAILED) {
			madvise(p, HOST_MAP_PFNS * sizeof(void *),
				MADV_HUGEPAGE);
			host_map = p;
		}
	}
	for (uint64_t pfn = e->pfn + k; n--; k++, pfn++) {
		void *host;

		if (!host_map || pfn >= HOST_MAP_PFNS)
			return;
		host = page_self_host(e, k);
		if (atomic_load_explicit(&host_map[pfn],
					 memory_order_relaxed) != host)
			atomic_store_explicit(&host_map[pfn], host,
					      memory_order_release);
	}
}

static void extent_free_rcu(struct rcu_head *head)
{
	ioasid_after_grace_period();
	free(caa_container_of(head, struct extent, rcu));
}

static void holder_free_rcu(struct rcu_head *head)
{
	ioasid_after_grace_period();
	free(caa_container_of(head, struct holder, rcu));
}

/*
 * An extent nobody holds any page of goes, and its numbers with it; its
 * source stays for the caller to put.
 */
static void extent_drop(struct extent *e)
{
	uint64_t npages = atomic_load(&e->npages);

	dir_point(e->pfn, npages, NULL);
	pfns_free(e->pfn, npages);
	itree_remove(&e->src->extents, &e->node);
	nextents--;
	ioasid_user_mem_uncharge(e->src->owner, sizeof(*e));
	ioasid_call_rcu(&e->rcu, extent_free_rcu);
}

/*
 * A new extent of n pages from identity index `index` of s, numbered so
 * that the first page has the colour of `index`, where it can grow to
 * `room` pages.
 */
static struct extent *extent_new(struct source *s, uint64_t index, uint64_t n,
				 uint64_t room)
{
	struct extent *e;
	uint64_t pfn;

	e = ioasid_user_mem_calloc(s->owner, sizeof(*e));
	if (!e)
		return NULL;
	pfn = pfns_alloc(n, room, index & (BLOCK_PAGES - 1));
	if (!pfn)
		goto out_free;
	e->src = s;
	e->pfn = pfn;
	atomic_init(&e->npages, n);
	atomic_init(&e->holders, NULL);
	e->node.start = index;
	e->node.last = index + n - 1;
	if (dir_point(pfn, n, e))
		goto out_pfns;
	itree_insert(&s->extents, &e->node);
	nextents++;
	return e;

out_pfns:
	dir_point(pfn, n, NULL);
	pfns_free(pfn, n);
out_free:
	free(e);
	ioasid_user_mem_uncharge(s->owner, sizeof(*e));
	return NULL;
}

/*
 * Make e n pages longer, when the numbers after its end are free: a pin
 * that comes in batches, or grows, stays one run of numbers.
 */
static bool extent_grow(struct extent *e, uint64_t n)
{
	uint64_t npages = atomic_load(&e->npages), end = e->pfn + npages;

	if (e->node.last + n < e->node.last || !pfns_take_at(end, n))
		return false;
	if (dir_point(end, n, e)) {
		dir_point(end, n, NULL);
		pfns_free(end, n);
		return false;
	}
	itree_remove(&e->src->extents, &e->node);
	e->node.last += n;
	itree_insert(&e->src->extents, &e->node);
	atomic_store_explicit(&e->npages, npages + n, memory_order_release);
	return true;
}

static struct holder *holder_find(struct extent *e, struct ioasid_pages *p,
				  int64_t delta)
{
	for (struct holder *h = atomic_load(&e->holders); h;
	     h = atomic_load(&h->next))
		if (h->pages == p && h->delta == delta)
			return h;
	return NULL;
}

/* A holder gone from its extent's list, or never on it. */
static void holder_free(struct extent *e, struct holder *h)
{
	ioasid_user_mem_uncharge(e->src->owner, sizeof(*h));
	free(h);
}

/* Set p's pages [index, index + n) to hold pages [k, k + n) of e. */
static int extent_hold(struct extent *e, uint64_t k, uint64_t n,
		       struct ioasid_pages *p, uint64_t index)
{
	const int64_t delta = (int64_t)(index - k);
	struct holder *h = holder_find(e, p, delta), *fresh = NULL;
	struct holder *_Atomic *link;

	if (!h) {
		fresh = h = ioasid_user_mem_calloc(e->src->owner, sizeof(*h));
		if (!h)
			return -ENOMEM;
		h->pages = p;
		h->delta = delta;
		atomic_init(&h->next, NULL);
	}
	if (pfn_record_set(&p->record, index, n, e->pfn + k)) {
		if (fresh)
			holder_free(e, fresh);
		return -ENOMEM;
	}
	if (fresh) {
		for (link = &e->holders; atomic_load(link);
		     link = &atomic_load(link)->next)
			;
		atomic_store_explicit(link, h, memory_order_release);
	}
	h->count += n;
	if (p->in_self)
		e->self_seen = true;
	host_map_update(e, k, n);
	return 0;
}

/* p gives up pages [index, index + n), pages [k, k + n) of e. */
static void extent_release(struct extent *e, uint64_t k, uint64_t n,
			   struct ioasid_pages *p, uint64_t index)
{
	struct holder *h = holder_find(e, p, (int64_t)(index - k));
	struct holder *_Atomic *link;

	if (!h || h->count < n)
		return; /* not held so: a caller bug, and nothing to undo */
	pfn_record_clear(&p->record, index, n);
	host_map_update(e, k, n);
	h->count -= n;
	if (!h->count) {
		for (link = &e->holders; atomic_load(link) != h;
		     link = &atomic_load(link)->next)
			;
		atomic_store_explicit(link, atomic_load(&h->next),
				      memory_order_release);
		ioasid_user_mem_uncharge(e->src->owner, sizeof(*h));
		ioasid_call_rcu(&h->rcu, holder_free_rcu);
	}
	if (!atomic_load(&e->holders)) {
		struct source *s = e->src;

		extent_drop(e);
		source_put_if_empty(s);
	}
}

/*
 * Whether p, holding from e's end on with this delta, should grow e rather
 * than start an extent of its own: when it is e's only holder, so that a
 * pin taken in batches, or pinned further, stays one run; but sets that
 * hold pages side by side keep their own extents, or every DMA to one of
 * them would walk the holders of all the others.
 */
static bool grows_for(struct extent *e, struct ioasid_pages *p, int64_t delta)
{
	struct holder *h = atomic_load(&e->holders);

	return h && !atomic_load(&h->next) && h->pages == p &&
	       h->delta == delta;
}

/*
 * Numbers for identities [pos, pos + len) of s, which no extent has, to be
 * held by p's pages from `index`: the extent that ends just before, grown,
 * or a new one with room for `room` pages.
 */
static struct extent *gap_extent(struct source *s, uint64_t pos, uint64_t len,
				 uint64_t room, struct ioasid_pages *p,
				 uint64_t index)
{
	struct itree_node *before = pos ? itree_iter_first(&s->extents, pos - 1,
							   pos - 1) :
					  NULL;
	struct extent *e = before ? container_of(before, struct extent, node) :
				    NULL;

	if (e && grows_for(e, p, (int64_t)index - (int64_t)(pos - e->node.start)) &&
	    extent_grow(e, len))
		return e;
	return extent_new(s, pos, len, room);
}

/*
 * Pages [index, index + n) of p, identities id .. id + n - 1 of source s,
 * take frames: those of extents already there, new numbers for the rest.
 */
static int hold_run(struct source *s, const struct ioasid_page_id *id,
		    uint64_t n, uint64_t more, struct ioasid_pages *p,
		    uint64_t index)
{
	uint64_t pos = id->index, end = id->index + n;

	while (pos < end) {
		struct itree_node *node = itree_iter_first(&s->extents, pos,
							   end - 1);
		uint64_t len, off = pos - id->index;
		struct extent *e;
		int rc;

		if (node && node->start <= pos) {
			e = container_of(node, struct extent, node);
			len = MIN(end, node->last + 1) - pos;
		} else {
			/* A gap up to the next extent, or to past the run. */
			len = (node ? node->start : end) - pos;
			e = gap_extent(s, pos, len, node ? len : len + more, p,
				       index + off);
			if (!e)
				return -ENOMEM;
		}
		rc = extent_hold(e, pos - e->node.start, len, p, index + off);
		if (rc) {
			if (!atomic_load(&e->holders))
				extent_drop(e);
			return rc;
		}
		pos += len;
	}
	return 0;
}

static bool consecutive(const struct ioasid_page_id *x,
			const struct ioasid_page_id *y)
{
	return x->kind == y->kind && x->a == y->a && x->b == y->b &&
	       x->index + 1 == y->index;
}

/* Pages [first, first + n) of p let go of whatever frames they hold. */
static void release_locked(struct ioasid_pages *p, uint64_t first, uint64_t n)
{
	uint64_t i = 0;

	while (i < n) {
		uint64_t pfn = pfn_record_get(&p->record, first + i), k;
		struct extent *e = pfn ? extent_of(pfn, &k) : NULL;
		uint64_t len = 1, npages;

		if (!e) {
			i++;
			continue;
		}
		npages = atomic_load(&e->npages);
		while (i + len < n && k + len < npages &&
		       pfn_record_get(&p->record, first + i + len) == pfn + len)
			len++;
		extent_release(e, k, len, p, first + i);
		i += len;
	}
}

int ioasid_frames_hold(const struct ioasid_page_id *ids, size_t n,
		       uint64_t more, struct ioasid_pages *p,
		       uint64_t first_index)
{
	const uid_t owner = ioasid_pages_owner(p);
	size_t i = 0;
	int rc = 0;

	pthread_mutex_lock(&frames_lock);
	while (i < n) {
		struct source *s = source_get(&ids[i], owner);
		size_t run = 1;

		while (i + run < n && consecutive(&ids[i + run - 1], &ids[i + run]))
			run++;
		/* Only a run that reaches the end of the batch may go on in
		 * the next: room for more is for that one alone. */
		rc = s ? hold_run(s, &ids[i], run, i + run == n ? more : 0, p,
				  first_index + i) :
			 -ENOMEM;
		if (rc) {
			if (s)
				source_put_if_empty(s);
			/* The part of this run held so far, with the rest. */
			release_locked(p, first_index, i + run);
			break;
		}
		i += run;
	}
	pthread_mutex_unlock(&frames_lock);
	return rc;
}

void ioasid_frames_release(struct ioasid_pages *p, uint64_t first_index,
			   uint64_t n)
{
	pthread_mutex_lock(&frames_lock);
	release_locked(p, first_index, n);
	pthread_mutex_unlock(&frames_lock);
}

/* How many sets hold page k of e. */
static unsigned int page_pins(struct extent *e, uint64_t k)
{
	unsigned int pins = 0;

	for (struct holder *h = atomic_load(&e->holders); h;
	     h = atomic_load(&h->next))
		pins += ioasid_pages_pfn_at(h->pages, (int64_t)k + h->delta) ==
			e->pfn + k;
	return pins;
}

unsigned int ioasid_frame_pins(const struct ioasid_page_id *id, uint64_t *pfn)
{
	unsigned int pins = 0;

	/* The page's pins, whoever holds them, as its refcount would say;
	 * the number is the first held frame's. */
	pthread_mutex_lock(&frames_lock);
	for (struct source *s = hash_size ? *bucket_of(id) : NULL; s;
	     s = s->hash_next) {
		struct itree_node *node;
		struct extent *e;
		unsigned int here;

		if (!same_object(s, id))
			continue;
		node = itree_iter_first(&s->extents, id->index, id->index);
		if (!node)
			continue;
		e = container_of(node, struct extent, node);
		here = page_pins(e, id->index - node->start);
		if (here && !pins && pfn)
			*pfn = e->pfn + id->index - node->start;
		pins += here;
	}
	pthread_mutex_unlock(&frames_lock);
	return pins;
}

void *ioasid_frame_host(uint64_t pfn)
{
	void *_Atomic *map = atomic_load_explicit(&host_map,
						    memory_order_acquire);
	struct extent *e;
	uint64_t k;

	if (map && pfn < HOST_MAP_PFNS)
		return atomic_load_explicit(&map[pfn], memory_order_acquire);
	e = extent_of(pfn, &k);
	return e ? page_self_host(e, k) : NULL;
}

void *ioasid_frame_host_run(uint64_t pfn, uint64_t n)
{
	void *_Atomic *map = atomic_load_explicit(&host_map,
						    memory_order_acquire);
	char *first;

	/*
	 * Every page's place, from the host map.  An entry there is what
	 * every holder of its page says, so also what the holder through
	 * which the IOVA leads to it says; it holds the page until that
	 * IOVA's unmap, which invalidates what cached the block.  So the
	 * leaves over the run may come from one page set or several: what
	 * counts is that each page is where the block says.
	 */
	if (!map || !n || n > HOST_MAP_PFNS || pfn > HOST_MAP_PFNS - n)
		return NULL;
	first = atomic_load_explicit(&map[pfn], memory_order_acquire);
	if (!first)
		return NULL;
	for (uint64_t i = 1; i < n; i++)
		if (atomic_load_explicit(&map[pfn + i], memory_order_relaxed) !=
		    first + (i << IOASID_PAGE_SHIFT))
			return NULL;
	return first;
}

int ioasid_frame_id(uint64_t pfn, struct ioasid_page_id *id)
{
	struct extent *e;
	uint64_t k;
	int rc = -ENOENT;

	pthread_mutex_lock(&frames_lock);
	e = extent_of(pfn, &k);
	if (e && page_pins(e, k)) {
		*id = (struct ioasid_page_id){
			.kind = e->src->kind,
			.a = e->src->a,
			.b = e->src->b,
			.index = e->node.start + k,
		};
		rc = 0;
	}
	pthread_mutex_unlock(&frames_lock);
	return rc;
}

int ioasid_frame_rw(uint64_t pa, void *buf, size_t len, bool write)
{
	uint64_t pfn = pa >> IOASID_PAGE_SHIFT, off = pa & (IOASID_PAGE_SIZE - 1);
	struct extent *e;
	uint64_t k;

	if (off + len > IOASID_PAGE_SIZE)
		return -EFAULT;
	e = extent_of(pfn, &k);
	if (!e)
		return -EFAULT;
	/* Any set that holds the page reaches it; try them in turn, as one
	 * of them may have lost its way to it (its process exited). */
	for (struct holder *h = atomic_load_explicit(&e->holders,
						     memory_order_acquire);
	     h; h = atomic_load_explicit(&h->next, memory_order_acquire)) {
		int64_t index = (int64_t)k + h->delta;

		if (ioasid_pages_pfn_at(h->pages, index) == pfn &&
		    !ioasid_pages_rw(h->pages,
				     ((uint64_t)index << IOASID_PAGE_SHIFT) +
					     off,
				     buf, len, write))
			return 0;
	}
	return -EFAULT;
}

void ioasid_frames_stats(size_t *extents, size_t *cached_blocks)
{
	pthread_mutex_lock(&frames_lock);
	*extents = nextents;
	*cached_blocks = (hash ? 1 : 0) + dir_pages + free_nodes;
	pthread_mutex_unlock(&frames_lock);
}
