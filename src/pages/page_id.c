/* SPDX-License-Identifier: MIT */
/*
 * Naming pages.  A process' mappings are read once from /proc/PID/maps,
 * which the daemon may read of any process whose memory it may reach:
 * a namer keeps its place in them from one batch of pages to the next.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/util.h"
#include "pages.h"

/* The next mapping of n->maps that ends after page `page`: 0, or
 * -EFAULT when there is none. */
static int namer_find(struct page_namer *n, uint64_t page)
{
	while (!n->have || n->end <= page) {
		unsigned long long start, end, off, ino;
		unsigned int maj, min;

		n->have = false;
		if (getline(&n->line, &n->cap, n->maps) <= 0)
			return -EFAULT;
		if (sscanf(n->line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end,
			   n->perms, &off, &maj, &min, &ino) != 7)
			continue;
		n->start = start >> IOASID_PAGE_SHIFT;
		n->end = end >> IOASID_PAGE_SHIFT;
		n->off = off >> IOASID_PAGE_SHIFT;
		n->dev = makedev(maj, min);
		n->ino = ino;
		n->have = true;
	}
	return 0;
}

int page_namer_start_va(struct page_namer *n, pid_t pid, uint64_t va)
{
	char path[64];

	*n = (struct page_namer){ .pid = pid, .next = va >> IOASID_PAGE_SHIFT };
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	n->maps = fopen(path, "re");
	return n->maps ? 0 : -EFAULT;
}

int page_namer_start(struct page_namer *n, struct ioasid_pages *p,
		     uint64_t first)
{
	struct stat st;

	*n = (struct page_namer){ 0 };
	if (p->type == IOASID_PAGES_USER) {
		int rc = page_namer_start_va(
			n, p->source_pid, p->uptr + (first << IOASID_PAGE_SHIFT));

		/* As a pin for writing: a device may write what it maps. */
		n->write = p->writable;
		return rc;
	}
	if (fstat(p->fd, &st))
		return -EFAULT;
	*n = (struct page_namer){
		.file = true, .dev = st.st_dev, .ino = st.st_ino,
		.next = (p->start >> IOASID_PAGE_SHIFT) + first,
	};
	return 0;
}

int page_namer_next(struct page_namer *n, uint64_t count,
		    struct ioasid_page_id *ids)
{
	for (uint64_t done = 0; done < count; done++, n->next++) {
		struct ioasid_page_id *id = &ids[done];
		int rc;

		if (n->file) {
			*id = (struct ioasid_page_id){
				.kind = IOASID_PAGE_ID_FILE,
				.a = n->dev, .b = n->ino, .index = n->next,
			};
			continue;
		}
		/* Mappings come in address order: one pass names every page.
		 * A hole, or memory that cannot be read (or written, for a
		 * writable set), cannot be pinned. */
		rc = namer_find(n, n->next);
		if (rc || n->start > n->next || n->perms[0] != 'r' ||
		    (n->write && n->perms[1] != 'w'))
			return -EFAULT;
		if (n->perms[3] == 's' && n->ino)
			*id = (struct ioasid_page_id){
				.kind = IOASID_PAGE_ID_FILE,
				.a = n->dev, .b = n->ino,
				.index = n->off + (n->next - n->start),
			};
		else
			*id = (struct ioasid_page_id){
				.kind = IOASID_PAGE_ID_PRIVATE,
				.a = (uint64_t)n->pid, .index = n->next,
			};
	}
	return 0;
}

void page_namer_end(struct page_namer *n)
{
	free(n->line);
	if (n->maps)
		fclose(n->maps);
}

int ioasid_va_page_ids(pid_t pid, uint64_t va, uint64_t npages,
		       struct ioasid_page_id *ids)
{
	struct page_namer n;
	int rc;

	if (!npages)
		return 0;
	rc = page_namer_start_va(&n, pid, va);
	if (!rc)
		rc = page_namer_next(&n, npages, ids);
	page_namer_end(&n);
	return rc;
}

int ioasid_pages_page_ids(struct ioasid_pages *p, uint64_t first,
			  uint64_t last, struct ioasid_page_id *ids)
{
	struct page_namer n;
	int rc;

	if (first > last || last >= p->npages)
		return -EINVAL;
	rc = page_namer_start(&n, p, first);
	if (!rc)
		rc = page_namer_next(&n, last - first + 1, ids);
	page_namer_end(&n);
	return rc;
}
