/* SPDX-License-Identifier: MIT */
/*
 * Naming pages.  A namer asks the address space (mm.h) for the mapping
 * each page is in, once per mapping, keeping it from one batch of pages
 * to the next.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/util.h"
#include "mm.h"
#include "pages.h"

/* The next mapping of n->mm that ends after page `page`: 0, or -EFAULT
 * when there is none. */
static int namer_find(struct page_namer *n, uint64_t page)
{
	struct mm_vma vma;

	if (n->have && n->end > page)
		return 0;
	n->have = false;
	if (ioasid_mm_vma(n->mm, page << IOASID_PAGE_SHIFT, &vma))
		return -EFAULT;
	n->start = vma.start >> IOASID_PAGE_SHIFT;
	n->end = vma.end >> IOASID_PAGE_SHIFT;
	n->off = vma.off >> IOASID_PAGE_SHIFT;
	n->dev = vma.dev;
	n->ino = vma.ino;
	n->readable = vma.read;
	n->writable = vma.write;
	n->shared = vma.shared;
	n->have = true;
	return 0;
}

int page_namer_start_va(struct page_namer *n, struct ioasid_mm *mm,
			uint64_t va)
{
	*n = (struct page_namer){ .mm = mm, .next = va >> IOASID_PAGE_SHIFT };
	return 0;
}

int page_namer_start(struct page_namer *n, struct ioasid_pages *p,
		     uint64_t first)
{
	struct stat st;

	*n = (struct page_namer){ 0 };
	if (p->type == IOASID_PAGES_USER) {
		int rc = page_namer_start_va(
			n, p->mm, p->uptr + (first << IOASID_PAGE_SHIFT));

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
		if (rc || n->start > n->next || !n->readable ||
		    (n->write && !n->writable))
			return -EFAULT;
		if (n->shared && n->ino)
			*id = (struct ioasid_page_id){
				.kind = IOASID_PAGE_ID_FILE,
				.a = n->dev, .b = n->ino,
				.index = n->off + (n->next - n->start),
			};
		else
			*id = (struct ioasid_page_id){
				.kind = IOASID_PAGE_ID_PRIVATE,
				.a = (uint64_t)ioasid_mm_pid(n->mm),
				.index = n->next,
			};
	}
	return 0;
}

void page_namer_end(struct page_namer *n)
{
	(void)n; /* nothing held: kept for the batches' symmetry */
}

int ioasid_va_page_ids(struct ioasid_mm *mm, uint64_t va, uint64_t npages,
		       struct ioasid_page_id *ids)
{
	struct page_namer n;
	int rc;

	if (!npages)
		return 0;
	rc = page_namer_start_va(&n, mm, va);
	if (!rc)
		rc = page_namer_next(&n, npages, ids);
	page_namer_end(&n);
	return rc;
}

int ioasid_caller_page_ids(const struct ioasid_caller *caller, uint64_t va,
			   uint64_t npages, struct ioasid_page_id *ids)
{
	struct ioasid_mm *mm;
	int rc = ioasid_caller_mm(caller, &mm);

	if (rc)
		return rc;
	rc = ioasid_va_page_ids(mm, va, npages, ids);
	ioasid_mm_put(mm);
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
