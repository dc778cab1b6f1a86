/* SPDX-License-Identifier: MIT */
/*
 * Frames: one per pinned page of memory, kept in runs, shared by every
 * page set that pins it, numbered so that aligned memory stays aligned,
 * and reachable by physical address for DMA.
 */
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pages/frame.h"
#include "pages/pages.h"
#include "pages/pfn_record.h"
#include "core/user_limits.h"
#include "self_mm.h"
#include "pages/reach.h"
#include "pt/pt.h"

#define PG 4096ull
#define HUGE (2ull << 20)

static struct ioasid_pages *user_set(void *va, uint64_t len)
{
	struct ioasid_pages *p = NULL;

	CHECK_EQ(ioasid_pages_alloc_user(self_mm(), getuid(), (uintptr_t)va,
					 len, true, IOASID_ACCOUNT_NONE, &p),
		 0);
	return p;
}

/* 2 MiB-aligned memory gets 2 MiB-aligned, consecutive frame numbers. */
static void colour(void)
{
	char *raw = mmap(NULL, 3 * HUGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	uint64_t pfns[512];
	struct ioasid_pages *p = user_set(buf + PG, HUGE);

	CHECK_EQ(ioasid_pages_pin(p, 0, 511), 0);
	ioasid_pages_pfns(p, 0, 512, pfns);
	CHECK_EQ(pfns[0] % 512, 1);
	for (int i = 1; i < 512; i++)
		CHECK_EQ(pfns[i], pfns[0] + (uint64_t)i);
	ioasid_pages_put(p);
	munmap(raw, 3 * HUGE);
}

/* Two sets over one shared page: one frame, two pins. */
static void shared(void)
{
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ioasid_pages *a = user_set(buf, 4 * PG);
	struct ioasid_pages *b = user_set(buf + 2 * PG, 2 * PG);
	uint64_t pa, pb, pfn;
	struct ioasid_page_id id;

	CHECK_EQ(ioasid_pages_pin(a, 0, 3), 0);
	CHECK_EQ(ioasid_pages_pin(b, 0, 1), 0);
	ioasid_pages_pfns(a, 2, 1, &pa);
	ioasid_pages_pfns(b, 0, 1, &pb);
	CHECK_EQ(pa, pb);
	CHECK_EQ(ioasid_va_page_ids(self_mm(), (uintptr_t)buf + 2 * PG, 1, &id),
		 0);
	CHECK_EQ(ioasid_frame_pins(&id, &pfn), 2);
	CHECK_EQ(pfn, pa);
	CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf + PG), 1);
	ioasid_pages_put(a);
	CHECK_EQ(ioasid_frame_pins(&id, NULL), 1);

	/* DMA by physical address reaches the bytes, through b now. */
	memcpy(buf + 2 * PG + 10, "frame", 5);
	char got[5];

	ioasid_rcu_read_lock();
	CHECK_EQ(ioasid_frame_rw((pb << 12) + 10, got, 5, false), 0);
	CHECK_EQ(ioasid_frame_rw((pb << 12) + 20, "dma", 3, true), 0);
	CHECK_EQ(ioasid_frame_rw((pb << 12) + PG - 2, got, 5, false), -EFAULT);
	ioasid_rcu_read_unlock();
	CHECK(!memcmp(got, "frame", 5));
	CHECK(!memcmp(buf + 2 * PG + 20, "dma", 3));

	ioasid_pages_put(b);
	CHECK_EQ(ioasid_frame_pins(&id, NULL), 0);
	ioasid_rcu_read_lock();
	CHECK_EQ(ioasid_frame_rw(pb << 12, got, 1, false), -EFAULT);
	ioasid_rcu_read_unlock();
	munmap(buf, 4 * PG);
}

/*
 * A run's place here is where every one of its frames says: a page in the
 * middle held at a second address of ours (its places differ, so it has
 * none) breaks the run, however well its ends line up.
 */
static void host_runs(void)
{
	int mfd = memfd_create("runs", MFD_CLOEXEC);
	char *x, *y;
	struct ioasid_pages *a, *b;
	uint64_t pfns[3], mid;

	CHECK(mfd >= 0 && !ftruncate(mfd, 3 * PG));
	x = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	y = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, PG);
	CHECK(x != MAP_FAILED && y != MAP_FAILED);
	a = user_set(x, 3 * PG);
	CHECK_EQ(ioasid_pages_pin(a, 0, 2), 0);
	ioasid_pages_pfns(a, 0, 3, pfns);
	CHECK_EQ(pfns[1], pfns[0] + 1);
	CHECK_EQ(pfns[2], pfns[0] + 2);
	ioasid_rcu_read_lock();
	CHECK(ioasid_frame_host_run(pfns[0], 3) == x);
	ioasid_rcu_read_unlock();

	b = user_set(y, PG);
	CHECK_EQ(ioasid_pages_pin(b, 0, 0), 0);
	ioasid_pages_pfns(b, 0, 1, &mid);
	CHECK_EQ(mid, pfns[1]);
	ioasid_rcu_read_lock();
	CHECK(ioasid_frame_host(pfns[0]) == x);
	CHECK(ioasid_frame_host(pfns[1]) == NULL);
	CHECK(ioasid_frame_host_run(pfns[0], 3) == NULL);
	CHECK(ioasid_frame_host_run(pfns[0], 1) == x);
	ioasid_rcu_read_unlock();

	ioasid_pages_put(b);
	ioasid_rcu_read_lock();
	CHECK(ioasid_frame_host_run(pfns[0], 3) == x);
	ioasid_rcu_read_unlock();
	ioasid_pages_put(a);
	munmap(x, 3 * PG);
	munmap(y, PG);
	close(mfd);
}

/*
 * Unpinning part of a set returns exactly those frames; a pin that grows
 * stays one extent, and the last unpin leaves none.
 */
static void partial(void)
{
	char *buf = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ioasid_pages *p = user_set(buf, 8 * PG);
	uint64_t pfns[8];
	size_t extents, cached;

	CHECK_EQ(ioasid_pages_pin(p, 0, 5), 0);
	CHECK_EQ(ioasid_pages_pin(p, 4, 7), 0);
	ioasid_frames_stats(&extents, &cached);
	CHECK_EQ(extents, 1);
	ioasid_pages_pfns(p, 0, 8, pfns);
	for (int i = 1; i < 8; i++)
		CHECK_EQ(pfns[i], pfns[0] + (uint64_t)i);
	ioasid_pages_unpin(p, 0, 5);
	CHECK_EQ(ioasid_pages_pfn_at(p, 3), 0);
	CHECK_EQ(ioasid_pages_pfn_at(p, 4), pfns[4]);
	CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf + 3 * PG), 0);
	CHECK_EQ(ioasid_pages_pin_count(self_mm(), (uintptr_t)buf + 4 * PG), 1);
	/* Pinned again, a page gets the number it had: the extent kept it. */
	CHECK_EQ(ioasid_pages_pin(p, 2, 3), 0);
	CHECK_EQ(ioasid_pages_pfn_at(p, 2), pfns[2]);
	ioasid_pages_unpin(p, 2, 3);
	ioasid_pages_put(p);
	ioasid_frames_stats(&extents, &cached);
	CHECK_EQ(extents, 0);
	munmap(buf, 8 * PG);
}

/*
 * The frame table's memory is per run of pages, not per page: a pin of
 * 4096 pages in one mapping, taken batch by batch, is one extent.
 */
static void one_extent_per_run(void)
{
	const uint64_t n = 4096;
	char *buf = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ioasid_pages *p = user_set(buf, n * PG);
	size_t extents, cached;

	ioasid_pages_set_temp_memory_limit(64 * sizeof(struct ioasid_page_id));
	CHECK_EQ(ioasid_pages_pin(p, 0, n - 1), 0);
	ioasid_pages_set_temp_memory_limit(65536);
	ioasid_frames_stats(&extents, &cached);
	CHECK_EQ(extents, 1);
	CHECK_EQ(ioasid_pages_pfn_at(p, (int64_t)n - 1),
		 ioasid_pages_pfn_at(p, 0) + n - 1);
	ioasid_pages_put(p);
	munmap(buf, n * PG);
}

/*
 * Set a holds pages 0-3 of one mapping, b pages 2-3; a lets go of 2-3 but
 * keeps 0-1.  a's hold on the run remains, yet DMA to page 2 must go
 * through b, the set that holds it: here a's process has put other
 * memory where page 2 was.
 */
static void holder_of_part(void)
{
	int fd = memfd_create("holder_of_part", MFD_CLOEXEC);
	char *buf, *alias, got[4];
	struct ioasid_pages *a, *b;
	struct ioasid_page_id id;
	uint64_t pfn;

	CHECK(fd >= 0 && !ftruncate(fd, 4 * PG));
	/* One file at two addresses: b reaches a's pages elsewhere. */
	buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	alias = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	CHECK(buf != MAP_FAILED && alias != MAP_FAILED);
	a = user_set(buf, 4 * PG);
	CHECK_EQ(ioasid_pages_pin(a, 0, 1), 0);
	CHECK_EQ(ioasid_pages_pin(a, 2, 3), 0);
	b = user_set(alias + 2 * PG, 2 * PG);
	CHECK_EQ(ioasid_pages_pin(b, 0, 1), 0);
	pfn = ioasid_pages_pfn_at(a, 2);
	CHECK_EQ(ioasid_pages_pfn_at(b, 0), pfn);
	CHECK_EQ(ioasid_va_page_ids(self_mm(), (uintptr_t)buf + 2 * PG, 1, &id),
		 0);
	CHECK_EQ(ioasid_frame_pins(&id, NULL), 2);

	/* a's hold on the run stays, first on its list, for pages 0-1. */
	ioasid_pages_unpin(a, 2, 3);
	CHECK_EQ(ioasid_frame_pins(&id, NULL), 1);
	/* Other memory where a's page 2 was. */
	CHECK(mmap(buf + 2 * PG, PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED);
	memcpy(buf + 2 * PG, "evil", 4);
	memcpy(alias + 2 * PG, "good", 4);
	ioasid_rcu_read_lock();
	CHECK_EQ(ioasid_frame_rw(pfn << 12, got, 4, false), 0);
	ioasid_rcu_read_unlock();
	CHECK(!memcmp(got, "good", 4));
	/* Its number names the page while b holds it, and no longer. */
	CHECK_EQ(ioasid_frame_id(pfn, &id), 0);
	ioasid_pages_put(b);
	CHECK_EQ(ioasid_frame_id(pfn, &id), -ENOENT);
	ioasid_rcu_read_lock();
	CHECK_EQ(ioasid_frame_rw(pfn << 12, got, 4, false), -EFAULT);
	ioasid_rcu_read_unlock();
	ioasid_pages_put(a);
	munmap(buf, 4 * PG);
	munmap(alias, 4 * PG);
}

/*
 * A set's record of its frame numbers: a chunk of 512 pages that holds one
 * run costs a run's first number and a bit per page; holding numbers from
 * two runs turns it into an array, every page keeping its number.
 */
static void record_runs(void)
{
	const size_t array = 512 * sizeof(uint64_t);
	struct pfn_record r = { 0 };

	CHECK_EQ(pfn_record_prepare(&r, 2048, getuid(), 0, 2047), 0);
	CHECK_EQ(pfn_record_set(&r, 0, 2048, 1000), 0);
	CHECK(r.charged < 2048 / 4);
	CHECK_EQ(pfn_record_get(&r, 0), 1000);
	CHECK_EQ(pfn_record_get(&r, 2047), 3047);

	pfn_record_clear(&r, 100, 100);
	CHECK_EQ(pfn_record_get(&r, 150), 0);
	CHECK_EQ(pfn_record_get(&r, 99), 1099);
	CHECK_EQ(pfn_record_get(&r, 200), 1200);

	/* Another run in the same chunk. */
	CHECK_EQ(pfn_record_set(&r, 150, 1, 5000), 0);
	CHECK(r.charged >= array);
	CHECK_EQ(pfn_record_get(&r, 150), 5000);
	CHECK_EQ(pfn_record_get(&r, 149), 0);
	CHECK_EQ(pfn_record_get(&r, 99), 1099);
	CHECK_EQ(pfn_record_get(&r, 511), 1511);
	CHECK_EQ(pfn_record_get(&r, 512), 1512);

	/* A chunk emptied may start another run without becoming an array. */
	pfn_record_clear(&r, 512, 512);
	CHECK_EQ(pfn_record_set(&r, 600, 10, 77), 0);
	CHECK(r.charged < array + 2048 / 4);
	CHECK_EQ(pfn_record_get(&r, 605), 82);
	CHECK_EQ(pfn_record_get(&r, 599), 0);
	CHECK_EQ(pfn_record_get(&r, 1 << 20), 0);

	/* A set that needs an array it cannot have writes nothing, in the
	 * chunk before the one that failed either. */
	pfn_record_clear(&r, 0, 1026);
	ioasid_set_user_memory_limit(ioasid_user_mem_charged(getuid()) + 64);
	CHECK_EQ(pfn_record_set(&r, 1020, 6, 9000), -ENOMEM);
	ioasid_set_user_memory_limit(0);
	CHECK_EQ(pfn_record_get(&r, 1020), 0);
	CHECK_EQ(pfn_record_get(&r, 1023), 0);
	CHECK_EQ(pfn_record_get(&r, 1024), 0);
	CHECK_EQ(pfn_record_get(&r, 1026), 2026);

	pfn_record_uncharge(&r);
	CHECK_EQ(r.charged, 0);
	pfn_record_free(&r);
	ioasid_synchronize_rcu();
}

/*
 * A child's page set over memory it shares with us: once the child has
 * gone, its pinned shared pages are reached through us; unpinned ones and
 * private ones are not.
 */
static void source_gone(void)
{
	char *shared = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ioasid_pages *s, *pv;
	char got[8] = { 0 };
	struct ioasid_mm *theirs;
	pid_t child;

	memset(priv, 1, PG);
	theirs = child_mm(&child);
	CHECK(theirs != NULL);
	CHECK_EQ(ioasid_pages_alloc_user(theirs, getuid(), (uintptr_t)shared,
					 4 * PG, true, IOASID_ACCOUNT_NONE, &s),
		 0);
	CHECK_EQ(ioasid_pages_alloc_user(theirs, getuid(), (uintptr_t)priv, PG,
					 true, IOASID_ACCOUNT_NONE, &pv),
		 0);
	ioasid_mm_put(theirs);
	CHECK_EQ(ioasid_pages_pin(s, 0, 1), 0);
	CHECK_EQ(ioasid_pages_pin(pv, 0, 0), 0);
	/* We are an address space of the same user that maps them. */
	(void)self_mm();
	child_end(child);

	memcpy(shared + PG + 5, "reached", 7);
	CHECK_EQ(ioasid_pages_rw(s, PG + 5, got, 7, false), 0);
	CHECK(!memcmp(got, "reached", 7));
	CHECK_EQ(ioasid_pages_rw(s, PG - 2, "wr", 2, true), 0);
	CHECK(!memcmp(shared + PG - 2, "wr", 2));
	CHECK_EQ(ioasid_pages_rw(s, 2 * PG, got, 1, false), -EFAULT);
	CHECK_EQ(ioasid_pages_rw(pv, 0, got, 1, false), -EFAULT);
	ioasid_pages_put(s);
	ioasid_pages_put(pv);
	munmap(shared, 4 * PG);
	munmap(priv, PG);
}

/*
 * A pin of a process that has exited is EFAULT, whichever way it is
 * charged: with accounting, its limit can no longer be read, and that
 * must not read as over it.
 */
static void pin_after_exit(void)
{
	static const enum ioasid_account_mode modes[] = {
		IOASID_ACCOUNT_NONE, IOASID_ACCOUNT_USER, IOASID_ACCOUNT_MM,
	};
	char *mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ioasid_pages *p[3];
	struct ioasid_mm *theirs;
	pid_t child;

	theirs = child_mm(&child);
	CHECK(theirs != NULL);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(ioasid_pages_alloc_user(theirs, getuid(),
						 (uintptr_t)mem, PG, true,
						 modes[i], &p[i]),
			 0);
	ioasid_mm_put(theirs);
	child_end(child);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(ioasid_pages_pin(p[i], 0, 0), -EFAULT);
		ioasid_pages_put(p[i]);
	}
	munmap(mem, PG);
}

/*
 * Mappings are asked for with PROCMAP_QUERY where the kernel has it and
 * read as text where it does not: both name the same pages, see the same
 * permissions and holes, and both see an image that has gone.
 */
static void maps_query_and_text_agree(void)
{
	char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ioasid_page_id q[3], t[3];
	struct ioasid_mm *theirs;
	struct mm_vma v, first[2];
	pid_t child;

	CHECK(m != MAP_FAILED);
	CHECK_EQ(mprotect(m + 2 * PG, PG, PROT_READ), 0);
	/* A page nobody may read: named, it is a hole to DMA. */
	CHECK_EQ(mprotect(m + 3 * PG, PG, PROT_NONE), 0);
	for (int text = 0; text < 2; text++) {
		ioasid_mm_maps_as_text = text;
		CHECK_EQ(ioasid_va_page_ids(self_mm(), (uintptr_t)m, 3,
					    text ? t : q),
			 0);
		CHECK_EQ(ioasid_mm_vma(self_mm(), (uintptr_t)m + 2 * PG, &v), 0);
		CHECK(v.start == (uintptr_t)m + 2 * PG && v.read && !v.write &&
		      v.shared && v.ino);
		CHECK_EQ(ioasid_va_page_ids(self_mm(), (uintptr_t)m + 3 * PG, 1,
					    text ? t : q),
			 -EFAULT);
		/* Below every mapping, a hole: the one found is above. */
		CHECK_EQ(ioasid_mm_vma(self_mm(), 0, &first[text]), 0);
		CHECK(first[text].start > 0);
		CHECK_EQ(ioasid_va_page_ids(self_mm(), 0, 1, text ? t : q),
			 -EFAULT);
		CHECK_EQ(ioasid_va_page_ids(self_mm(), (uintptr_t)m, 3,
					    text ? t : q),
			 0);
	}
	CHECK(!memcmp(q, t, sizeof(q)));
	CHECK(first[0].start == first[1].start && first[0].end == first[1].end);
	CHECK_EQ(q[1].kind, IOASID_PAGE_ID_FILE);
	CHECK_EQ(q[1].index, 1);

	theirs = child_mm(&child);
	CHECK(theirs && ioasid_mm_alive(theirs));
	child_end(child);
	for (int text = 0; text < 2; text++) {
		ioasid_mm_maps_as_text = text;
		CHECK_EQ(ioasid_mm_vma(theirs, 0, &v), -ESRCH);
		CHECK(!ioasid_mm_alive(theirs));
	}
	ioasid_mm_maps_as_text = false;
	ioasid_mm_put(theirs);
	munmap(m, 4 * PG);
}

int main(void)
{
	RUN(colour);
	RUN(maps_query_and_text_agree);
	RUN(shared);
	RUN(host_runs);
	RUN(partial);
	RUN(record_runs);
	RUN(one_extent_per_run);
	RUN(holder_of_part);
	RUN(source_gone);
	RUN(pin_after_exit);
	ioasid_synchronize_rcu();
	return check_finish("frame");
}
