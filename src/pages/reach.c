/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>

#include "core/dispatch.h"
#include "ioasid/ioasid.h"
#include "mm.h"
#include "reach.h"

/* How many of the user's address spaces are looked through, newest first. */
#define REACH_TRIES 8

/* Where address space mm maps page id: its address, or 0. */
static uint64_t find_mapping(struct ioasid_mm *mm,
			     const struct ioasid_page_id *id)
{
	struct mm_vma vma;
	uint64_t at = 0;

	while (!ioasid_mm_vma(mm, at, &vma)) {
		uint64_t first = vma.off >> IOASID_PAGE_SHIFT;
		uint64_t pages = (vma.end - vma.start) >> IOASID_PAGE_SHIFT;

		/* Only a shared mapping shows the file's own page. */
		if (vma.shared && vma.dev == id->a && vma.ino == id->b &&
		    id->index >= first && id->index - first < pages)
			return vma.start +
			       ((id->index - first) << IOASID_PAGE_SHIFT);
		at = vma.end;
	}
	return 0;
}

/*
 * The caller of the ioctl this thread serves, when it is the same user:
 * the process that asks for the page may well map it (a parent whose
 * child pinned memory they share, then exited).
 */
static size_t current_callers(uid_t uid, struct ioasid_mm **out)
{
	const struct ioasid_caller *caller = ioasid_current_caller();

	return caller && caller->uid == uid && !ioasid_caller_mm(caller, out);
}

int ioasid_reach_file_rw(const struct ioasid_page_id *id, uid_t uid,
			 const struct ioasid_mm *not, uint64_t off, void *buf,
			 size_t len, bool write)
{
	struct ioasid_mm *mms[REACH_TRIES + 1];
	size_t n;
	int rc = -EFAULT;

	if (id->kind != IOASID_PAGE_ID_FILE || off + len > IOASID_PAGE_SIZE)
		return -EFAULT;
	n = current_callers(uid, mms);
	n += ioasid_mm_others(uid, not, mms + n, REACH_TRIES);
	for (size_t i = 0; i < n; i++) {
		uint64_t va = rc ? find_mapping(mms[i], id) : 0;

		if (va && !ioasid_mm_xfer(mms[i], va + off, buf, len, write))
			rc = 0;
		ioasid_mm_put(mms[i]);
	}
	return rc;
}
