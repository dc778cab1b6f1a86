/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "account.h"
#include "core/user_limits.h"
#include "core/util.h"
#include "dmabuf.h"
#include "frame.h"
#include "pt/pt.h"
#include "mm.h"
#include "reach.h"
#include "core/vm_access.h"
#include "pages.h"

/*
 * One node per distinct range, with a count of its holders: thousands of
 * copies of one area pin the same range, and each pin or unpin must not
 * walk all of them.
 */
struct pin_range {
	struct itree_node node; /* page indexes */
	unsigned long holders;
};

/* The pin range exactly [first, last], if one is held. */
static struct pin_range *range_find_locked(struct ioasid_pages *p,
					   uint64_t first, uint64_t last)
{
	struct itree_node *n;

	itree_for_each(n, &p->pin_itree, first, last)
		if (n->start == first && n->last == last)
			return container_of(n, struct pin_range, node);
	return NULL;
}

size_t ioasid_pages_pin_ranges(struct ioasid_pages *p)
{
	struct itree_node *n;
	size_t count = 0;

	pthread_mutex_lock(&p->mutex);
	if (p->npages)
		itree_for_each(n, &p->pin_itree, 0, p->npages - 1)
			count++;
	pthread_mutex_unlock(&p->mutex);
	return count;
}

static struct ioasid_pages *pages_alloc(pid_t pid, uid_t uid,
					uint64_t start_byte, uint64_t length,
					bool writable,
					enum ioasid_account_mode mode)
{
	struct ioasid_pages *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	p->npages = (length + start_byte + IOASID_PAGE_SIZE - 1) >>
		    IOASID_PAGE_SHIFT;
	p->writable = writable;
	p->account_mode = mode;
	p->source_pid = pid;
	p->source_uid = uid;
	p->fd = -1;
	pthread_mutex_init(&p->mutex, NULL);
	p->pin_itree = (struct itree)ITREE_INIT;
	return p;
}

/* Keeps the page count from overflowing, as size_t would. */
static int check_length(uint64_t length)
{
	return length == 0 || length > SIZE_MAX - IOASID_PAGE_SIZE ? -EINVAL :
								      0;
}

int ioasid_pages_alloc_user(struct ioasid_mm *mm, uid_t uid, uint64_t uptr,
			    uint64_t length, bool writable,
			    enum ioasid_account_mode mode,
			    struct ioasid_pages **out)
{
	uint64_t uptr_down = uptr & ~(uint64_t)(IOASID_PAGE_SIZE - 1);
	struct ioasid_pages *p;
	uint64_t end;
	int rc;

	if (add_overflows_u64(uptr, length, &end))
		return -EOVERFLOW;
	rc = check_length(length);
	if (rc)
		return rc;
	p = pages_alloc(ioasid_mm_pid(mm), uid, uptr - uptr_down, length,
			writable, mode);
	if (!p)
		return -ENOMEM;
	p->type = IOASID_PAGES_USER;
	p->mm = ioasid_mm_get(mm);
	p->uptr = uptr_down;
	p->in_self = ioasid_mm_is_self(mm);
	*out = p;
	return 0;
}

int ioasid_pages_alloc_file(pid_t pid, uid_t uid, int fd, uint64_t start,
			    uint64_t length, bool writable,
			    enum ioasid_account_mode mode,
			    struct ioasid_pages **out)
{
	uint64_t start_byte = start % IOASID_PAGE_SIZE;
	struct ioasid_pages *p;
	int rc = check_length(length);

	if (rc)
		return rc;
	p = pages_alloc(pid, uid, start_byte, length, writable, mode);
	if (!p)
		return -ENOMEM;
	p->type = IOASID_PAGES_FILE;
	p->fd = fd;
	p->start = start - start_byte;
	*out = p;
	return 0;
}

uint64_t ioasid_pages_source_addr(const struct ioasid_pages *p)
{
	return p->type == IOASID_PAGES_USER ? p->uptr : p->start;
}

/*
 * How much scratch memory one batch of page work may take.  The selftest
 * shrinks it (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT) to drive every batch
 * boundary; results never depend on it.
 */
static _Atomic size_t temp_memory_limit = 65536;

void ioasid_pages_set_temp_memory_limit(size_t bytes)
{
	atomic_store(&temp_memory_limit, bytes);
}

/* A file's pages exist while the file is long enough to hold them. */
static int file_check(const struct ioasid_pages *p, uint64_t last)
{
	struct stat st;

	if (fstat(p->fd, &st))
		return -EFAULT;
	if ((uint64_t)st.st_size < p->start + ((last + 1) << IOASID_PAGE_SHIFT))
		return -EINVAL;
	return 0;
}

/* How many of [first, last] no pin range covers yet. */
static uint64_t count_unpinned_locked(struct ioasid_pages *p, uint64_t first,
				      uint64_t last)
{
	struct itree_span span;
	uint64_t n = 0;

	itree_for_each_span(&span, &p->pin_itree, first, last)
		if (span.is_hole)
			n += span.end - span.start + 1;
	return n;
}

uint64_t ioasid_pages_pfn_at(const struct ioasid_pages *p, int64_t index)
{
	if (index < 0 || (uint64_t)index >= p->npages)
		return 0;
	return pfn_record_get(&p->record, (uint64_t)index);
}

void ioasid_pages_pfns(struct ioasid_pages *p, uint64_t first, uint64_t n,
		       uint64_t *pfns)
{
	for (uint64_t i = 0; i < n; i++)
		pfns[i] = pfn_record_get(&p->record, first + i);
}

/* Drop the frames of [first, last], which no pin range covers any more. */
static void frames_drop(struct ioasid_pages *p, uint64_t first, uint64_t last)
{
	ioasid_frames_release(p, first, last - first + 1);
}

/*
 * Name the pages [first, last] and take their frames, a batch at a time.
 * On failure nothing is taken.
 */
static int frames_take(struct ioasid_pages *p, uint64_t first, uint64_t last)
{
	enum { BACKUP = 32 };
	struct ioasid_page_id backup[BACKUP], *ids = NULL;
	uint64_t held = first; /* [first, held) have their frames */
	size_t batch = atomic_load(&temp_memory_limit) / sizeof(*ids);
	struct page_namer namer;
	int rc;

	/* Resident when the pin returns, as the kernel's pin leaves them. */
	if (p->type == IOASID_PAGES_USER) {
		rc = ioasid_mm_populate(
			p->mm, p->uptr + (first << IOASID_PAGE_SHIFT),
			(last - first + 1) << IOASID_PAGE_SHIFT, p->writable);
		if (rc)
			return rc;
	}
	rc = pfn_record_prepare(&p->record, p->npages, p->source_uid, first,
				last);
	if (rc)
		return rc;
	rc = page_namer_start(&namer, p, first);
	if (rc) {
		page_namer_end(&namer);
		return rc;
	}
	/* A batch of names in scratch memory, or in a small backup so that
	 * this never fails for want of it. */
	batch = MIN(MAX(batch, (size_t)1), (size_t)(last - first + 1));
	if (batch > BACKUP)
		ids = malloc(batch * sizeof(*ids));
	if (!ids) {
		ids = backup;
		batch = MIN(batch, (size_t)BACKUP);
	}
	while (held <= last) {
		uint64_t n = MIN(last - held + 1, (uint64_t)batch);

		rc = page_namer_next(&namer, n, ids);
		if (!rc)
			rc = ioasid_frames_hold(ids, n, last - held - n + 1, p,
						held);
		if (rc)
			break;
		held += n;
	}
	if (rc && held > first)
		frames_drop(p, first, held - 1);
	if (ids != backup)
		free(ids);
	page_namer_end(&namer);
	return rc;
}

int ioasid_pages_pin(struct ioasid_pages *p, uint64_t first, uint64_t last)
{
	struct pin_range *r;
	struct itree_span span;
	uint64_t newly;
	int rc;

	if (first > last || last >= p->npages)
		return -EINVAL;
	pthread_mutex_lock(&p->mutex);
	r = range_find_locked(p, first, last);
	if (r) {
		/* Every page of it is pinned and charged already. */
		r->holders++;
		pthread_mutex_unlock(&p->mutex);
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		pthread_mutex_unlock(&p->mutex);
		return -ENOMEM;
	}
	r->node.start = first;
	r->node.last = last;
	r->holders = 1;
	newly = count_unpinned_locked(p, first, last);
	if (newly) {
		/* A process' pages are proven there when they are named:
		 * frames_take queries the map of the image the set was made
		 * in, so a hole, a page it cannot read, or an image that has
		 * exited or exec'd is EFAULT there, as the kernel's pin of a
		 * gone mm fails. */
		if (p->type == IOASID_PAGES_FILE) {
			rc = file_check(p, last);
			if (rc)
				goto out_free;
		}
		rc = ioasid_account_charge(p->account_mode, p->source_pid,
					   p->source_uid, newly);
		/* A gone process has no limit to read: its pin is EFAULT, as
		 * naming would have found, not over a limit. */
		if (rc == -ENOMEM && p->type == IOASID_PAGES_USER &&
		    !ioasid_mm_alive(p->mm))
			rc = -EFAULT;
		if (rc)
			goto out_free;
		itree_for_each_span(&span, &p->pin_itree, first, last) {
			if (!span.is_hole)
				continue;
			rc = frames_take(p, span.start, span.end);
			if (rc)
				goto out_drop;
		}
	}
	itree_insert(&p->pin_itree, &r->node);
	p->npinned += newly;
	pthread_mutex_unlock(&p->mutex);
	return 0;

out_drop:
	/* The holes before the one that failed got their frames. */
	if (span.start > first) {
		struct itree_span undo;
		uint64_t failed = span.start;

		itree_for_each_span(&undo, &p->pin_itree, first, failed - 1)
			if (undo.is_hole)
				frames_drop(p, undo.start, undo.end);
	}
	ioasid_account_uncharge(p->account_mode, p->source_pid, p->source_uid,
				newly);
out_free:
	pthread_mutex_unlock(&p->mutex);
	free(r);
	return rc;
}

void ioasid_pages_unpin(struct ioasid_pages *p, uint64_t first, uint64_t last)
{
	struct itree_span span;
	struct pin_range *r;
	uint64_t freed;

	pthread_mutex_lock(&p->mutex);
	r = range_find_locked(p, first, last);
	if (r && !--r->holders) {
		itree_remove(&p->pin_itree, &r->node);
		free(r);
		freed = count_unpinned_locked(p, first, last);
		itree_for_each_span(&span, &p->pin_itree, first, last)
			if (span.is_hole)
				frames_drop(p, span.start, span.end);
		p->npinned -= freed;
		ioasid_account_uncharge(p->account_mode, p->source_pid,
					p->source_uid, freed);
	}
	pthread_mutex_unlock(&p->mutex);
}

/*
 * The source process has gone, or lost the mapping: pinned shared pages
 * are still there, as the kernel keeps them, and reachable through any
 * process that maps them.
 */
static int rw_elsewhere(struct ioasid_pages *p, uint64_t off, void *buf,
			size_t len, bool write)
{
	while (len) {
		uint64_t index = off >> IOASID_PAGE_SHIFT;
		uint64_t in_page = off & (IOASID_PAGE_SIZE - 1);
		size_t n = MIN(len, IOASID_PAGE_SIZE - in_page);
		struct ioasid_page_id id;
		uint64_t pfn = 0;
		bool pinned;

		pthread_mutex_lock(&p->mutex);
		pinned = itree_iter_first(&p->pin_itree, index, index);
		if (pinned)
			pfn = pfn_record_get(&p->record, index);
		pthread_mutex_unlock(&p->mutex);
		if (!pinned || ioasid_frame_id(pfn, &id) ||
		    ioasid_reach_file_rw(&id, p->source_uid, p->mm, in_page,
					 buf, n, write))
			return -EFAULT;
		off += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

int ioasid_pages_rw(struct ioasid_pages *p, uint64_t off, void *buf,
		    size_t len, bool write)
{
	uint64_t end;
	ssize_t n;

	if (add_overflows_u64(off, len, &end) ||
	    end > (p->npages << IOASID_PAGE_SHIFT))
		return -EINVAL;
	if (p->type == IOASID_PAGES_USER) {
		/* Only the image the set was made in (mm.h). */
		if (!ioasid_mm_xfer(p->mm, p->uptr + off, buf, len, write))
			return 0;
		return rw_elsewhere(p, off, buf, len, write);
	}
	/* pread/pwrite rather than a mapping: a file truncated under us
	 * reads short, where a mapping would kill the daemon with SIGBUS. */
	n = write ? pwrite(p->fd, buf, len, (off_t)(p->start + off)) :
		    pread(p->fd, buf, len, (off_t)(p->start + off));
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static void pages_free(struct ioasid_pages *p)
{
	ioasid_after_grace_period();
	/* Freed only now: DMA may have been reading the record until the
	 * grace period ended (frame.c). */
	pfn_record_free(&p->record);
	if (p->fd >= 0)
		close(p->fd);
	ioasid_mm_put(p->mm);
	pthread_mutex_destroy(&p->mutex);
	free(p);
}

static void pages_free_rcu(struct rcu_head *head)
{
	pages_free(caa_container_of(head, struct ioasid_pages, rcu));
}

static void pages_release(struct ioasid_release *r)
{
	pages_free(caa_container_of(r, struct ioasid_pages, release));
}

void ioasid_pages_put(struct ioasid_pages *p)
{
	struct itree_span span;
	struct itree_node *n;

	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Whoever pinned has unpinned by now; anything left is released
	 * here so that the last reference always returns every charge. */
	if (p->npinned)
		itree_for_each_span(&span, &p->pin_itree, 0, p->npages - 1)
			if (!span.is_hole)
				frames_drop(p, span.start, span.end);
	while ((n = p->pin_itree.root)) {
		itree_remove(&p->pin_itree, n);
		free(container_of(n, struct pin_range, node));
	}
	if (p->npinned)
		ioasid_account_uncharge(p->account_mode, p->source_pid,
					p->source_uid, p->npinned);
	if (p->dmabuf)
		ioasid_dmabuf_detach(p);
	pfn_record_uncharge(&p->record);
	/* A device's DMA may still be reading through the set (frame.c):
	 * its descriptor and process stay until no reader can be, and go
	 * before the call that dropped the set returns (a grace period,
	 * about a microsecond).  Whether its reference to the process is
	 * the last cannot be told here: the connection that lent it may
	 * close next, and must then find it gone, as a kernel's close
	 * leaves nothing behind. */
	if (p->fd >= 0 || p->mm)
		ioasid_defer_release(&p->release, pages_release);
	else
		ioasid_call_rcu(&p->rcu, pages_free_rcu);
}

/* Does handing the set to (pid, uid) move what it charged? */
static bool charge_moves(const struct ioasid_pages *p, pid_t pid, uid_t uid)
{
	switch (p->account_mode) {
	case IOASID_ACCOUNT_MM:
		return p->source_pid != pid;
	case IOASID_ACCOUNT_USER:
		/* The process carries the pinned total in every mode. */
		return p->source_pid != pid || p->source_uid != uid;
	default:
		return false;
	}
}

enum { NMODES = IOASID_ACCOUNT_UNPINNED + 1 };

int ioasid_pages_change_source(struct ioasid_pages *const *ps, size_t n,
			       pid_t pid, uid_t uid)
{
	uint64_t moving[NMODES] = { 0 };
	int mode, rc = 0;

	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&ps[i]->mutex);
		if (charge_moves(ps[i], pid, uid))
			moving[ps[i]->account_mode] += ps[i]->npinned;
		pthread_mutex_unlock(&ps[i]->mutex);
	}
	/* The new owner takes the charges first: if it cannot, nothing moved. */
	for (mode = 0; mode < NMODES; mode++) {
		if (!moving[mode])
			continue;
		rc = ioasid_account_charge(mode, pid, uid, moving[mode]);
		if (rc)
			break;
	}
	if (rc) {
		while (mode-- > 0)
			if (moving[mode])
				ioasid_account_uncharge(mode, pid, uid,
							moving[mode]);
		return rc;
	}

	for (size_t i = 0; i < n; i++) {
		struct ioasid_pages *p = ps[i];

		pthread_mutex_lock(&p->mutex);
		if (charge_moves(p, pid, uid))
			ioasid_account_uncharge(p->account_mode, p->source_pid,
						p->source_uid, p->npinned);
		p->source_pid = pid;
		p->source_uid = uid;
		pthread_mutex_unlock(&p->mutex);
	}
	return 0;
}

unsigned int ioasid_pages_pin_count(struct ioasid_mm *mm, uint64_t uva)
{
	struct ioasid_page_id id;

	if (ioasid_va_page_ids(mm, uva & ~(uint64_t)(IOASID_PAGE_SIZE - 1), 1,
			       &id))
		return 0;
	return ioasid_frame_pins(&id, NULL);
}
