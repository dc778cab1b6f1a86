/* SPDX-License-Identifier: MIT */
/*
 * Page sets: the memory behind IOAS areas, and the pins they hold.
 *
 * A page set is one linear run of pages from one source: a range of a
 * process' virtual memory (USER) or of a file such as a memfd (FILE).  Areas
 * share it by reference (IOAS_COPY never makes a second one), so its pages
 * are pinned and charged once, however many areas, domains and accesses use
 * them.  Page index i is pinned exactly while some pin range covers it.
 *
 * Pins are counted the kernel's way: a backing page carries one pin per page
 * set that holds it pinned.  Pinned pages are frames (frame.h), so "how
 * many pins does this page carry" (IOMMU_TEST_OP_MD_CHECK_REFS) and "which
 * page is behind this IOVA" are answered from the real state.
 */
#ifndef IOASID_PAGES_PAGES_H
#define IOASID_PAGES_PAGES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include <urcu-bp.h>

#include "core/context.h"
#include "core/util.h"
#include "core/rcu.h"
#include "core/interval_tree.h"
#include "pfn_record.h"

struct ioasid_mm;
struct ioasid_caller;
struct ioasid_dmabuf;
struct ioasid_dmabuf_track;

enum ioasid_pages_type {
	IOASID_PAGES_USER, /* a process' virtual memory */
	IOASID_PAGES_FILE, /* a file the daemon holds open */
};

struct ioasid_pages {
	atomic_uint refs;
	enum ioasid_pages_type type;
	uint64_t npages;
	bool writable;
	enum ioasid_account_mode account_mode;

	/* Whose charge: the process that created the set (or took it over
	 * with IOMMU_IOAS_CHANGE_PROCESS) and its user. */
	pid_t source_pid;
	uid_t source_uid;
	/* USER: the address space it was made in, and how it is reached. */
	struct ioasid_mm *mm;

	uint64_t uptr;  /* USER: page-aligned address of page 0 */
	bool in_self;   /* USER: the memory is this process' own */
	int fd;         /* FILE: our own descriptor of the file */
	uint64_t start; /* FILE: page-aligned file offset of page 0 */
	void *map;      /* FILE: the pages mapped here, on first need */

	/* FILE over a dma-buf (dmabuf.h): its exporter, held, and on its
	 * list of imports.  Under mutex: whether the exporter has revoked
	 * this import, and where domains show it. */
	struct ioasid_dmabuf *dmabuf;
	struct ioasid_pages *dmabuf_next;
	bool revoked;
	struct ioasid_dmabuf_track *tracks;

	/* Lock order: an IOAS's iova_lock, then this. */
	pthread_mutex_t mutex;
	struct itree pin_itree; /* page-index ranges held pinned */
	uint64_t npinned;       /* distinct pinned pages, all charged */
	/* The frame number each page holds (pfn_record.h): what IO page
	 * tables are filled with. */
	struct pfn_record record;

	struct rcu_head rcu;
	struct ioasid_release release; /* instead of rcu when it holds a descriptor */
};

/*
 * A page set over [uptr, uptr + length) of address space mm (which it
 * takes a reference to), charged to mm's process and user uid.
 * -EOVERFLOW when the range wraps, -EINVAL when it is empty or absurdly
 * long.  Whether mm's image is still there is for its pin to find
 * (ioasid_pages_pin), or for ioasid_mm_alive() where nothing pins.
 */
int ioasid_pages_alloc_user(struct ioasid_mm *mm, uid_t uid, uint64_t uptr,
			    uint64_t length, bool writable,
			    enum ioasid_account_mode mode,
			    struct ioasid_pages **out);

/*
 * A page set over bytes [start, start + length) of the file open as `fd`;
 * on success the set owns fd, on failure the caller still does.
 */
int ioasid_pages_alloc_file(pid_t pid, uid_t uid, int fd, uint64_t start,
			    uint64_t length, bool writable,
			    enum ioasid_account_mode mode,
			    struct ioasid_pages **out);

static inline void ioasid_pages_get(struct ioasid_pages *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

/* Drop a reference; the last one unpins and frees everything. */
void ioasid_pages_put(struct ioasid_pages *p);

/* The byte offset within page 0 where a source address lands. */
uint64_t ioasid_pages_source_addr(const struct ioasid_pages *p);

/*
 * Pin page indexes [first, last] once more.  Pages not pinned before are
 * checked to exist (-EFAULT when the memory is gone or the source process
 * has exited) and charged (-ENOMEM over RLIMIT_MEMLOCK).  On failure
 * nothing changed.
 */
int ioasid_pages_pin(struct ioasid_pages *p, uint64_t first, uint64_t last);
void ioasid_pages_unpin(struct ioasid_pages *p, uint64_t first, uint64_t last);

/* How many distinct ranges the set holds pinned (pins of one range count
 * once, however many holders). */
size_t ioasid_pages_pin_ranges(struct ioasid_pages *p);

/*
 * Where page index of the set is in this process' address space, or
 * NULL: only a set over this process' own memory has one (the core used
 * in-process, by a device emulator or a benchmark).  Valid while the page
 * is pinned.
 */
static inline void *ioasid_pages_self_addr(const struct ioasid_pages *p,
					   uint64_t index)
{
	return p->in_self ? (void *)(uintptr_t)(p->uptr +
						(index << IOASID_PAGE_SHIFT)) :
			    NULL;
}

/*
 * Copy `len` bytes at byte offset `off` of the set (page 0 starts at 0)
 * to or from `buf`.  -EFAULT when the source memory cannot be reached.
 */
int ioasid_pages_rw(struct ioasid_pages *p, uint64_t off, void *buf,
		    size_t len, bool write);

/*
 * Which page of memory a page is, comparable across page sets and
 * processes, as the kernel compares struct page pointers.  A page of a
 * shared mapping or a file is named by the file and the page's offset in
 * it; any other page by the process and address that own it (a pin
 * breaks copy-on-write, so a pinned private page is its process' own).
 */
enum ioasid_page_id_kind {
	IOASID_PAGE_ID_FILE = 1,    /* a = device, b = inode, index = offset */
	IOASID_PAGE_ID_PRIVATE = 2, /* a = pid, b = 0, index = address */
};

struct ioasid_page_id {
	uint32_t kind;
	uint32_t __pad;
	uint64_t a, b;
	uint64_t index; /* in pages */
};

/*
 * Naming a run of pages batch by batch: page_namer_next names the next
 * count of them (-EFAULT at a hole or an unreadable page), reading the
 * process' mappings once for the whole run.
 */
struct page_namer {
	struct ioasid_mm *mm;
	bool file;   /* a file page set's: no mappings to read */
	bool write;  /* the pages must be writable too */
	uint64_t next; /* the page (of the process, or of the file) */
	/* The mapping met last, in pages. */
	bool have;
	uint64_t start, end, off, dev, ino;
	bool readable, writable, shared;
};
int page_namer_start(struct page_namer *n, struct ioasid_pages *p,
		     uint64_t first);
int page_namer_start_va(struct page_namer *n, struct ioasid_mm *mm,
			uint64_t va);
int page_namer_next(struct page_namer *n, uint64_t count,
		    struct ioasid_page_id *ids);
void page_namer_end(struct page_namer *n);

/* The pages [first, last] of a set: -EFAULT when they cannot be named. */
int ioasid_pages_page_ids(struct ioasid_pages *p, uint64_t first,
			  uint64_t last, struct ioasid_page_id *ids);

/* The npages pages from page-aligned `va` of address space mm. */
int ioasid_va_page_ids(struct ioasid_mm *mm, uint64_t va, uint64_t npages,
		       struct ioasid_page_id *ids);

/* The same, in the caller's address space. */
int ioasid_caller_page_ids(const struct ioasid_caller *caller, uint64_t va,
			   uint64_t npages, struct ioasid_page_id *ids);

/*
 * Make process pid (of user uid) the source of every set in ps[]: its
 * memory and its charges from now on (IOMMU_IOAS_CHANGE_PROCESS, for
 * file-backed sets).  All or nothing: -ENOMEM when the new owner cannot
 * carry the charges.  The caller keeps pins from running meanwhile.
 */
int ioasid_pages_change_source(struct ioasid_pages *const *ps, size_t n,
			       pid_t pid, uid_t uid);

/* Scratch memory one batch of page work may use (a selftest knob). */
void ioasid_pages_set_temp_memory_limit(size_t bytes);

/*
 * The frame numbers of pinned pages [first, first + n): the caller holds
 * a pin on them.
 */
void ioasid_pages_pfns(struct ioasid_pages *p, uint64_t first, uint64_t n,
		       uint64_t *pfns);

/*
 * The frame number page `index` of p holds, or 0 when it holds none (or
 * there is no such page): what frame.c reads, without the set's mutex, to
 * tell whether the set holds a page.
 */
uint64_t ioasid_pages_pfn_at(const struct ioasid_pages *p, int64_t index);

/* How many page sets hold the page at `uva` of address space mm pinned. */
unsigned int ioasid_pages_pin_count(struct ioasid_mm *mm, uint64_t uva);

/* The user whose pins the set's frames are (frame.c keeps users apart). */
static inline uid_t ioasid_pages_owner(const struct ioasid_pages *p)
{
	return p->source_uid;
}

#endif
