/* SPDX-License-Identifier: MIT */
/*
 * Naming pages.  A process' mappings are read once from /proc/PID/maps,
 * which the daemon may read of any process whose memory it may reach.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/util.h"
#include "pages.h"

int ioasid_va_page_ids(pid_t pid, uint64_t va, uint64_t npages,
		       struct ioasid_page_id *ids)
{
	uint64_t page = va >> IOASID_PAGE_SHIFT, done = 0;
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (!npages)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -EFAULT;
	/* Mappings come in address order, so one pass names every page. */
	while (done < npages && getline(&line, &cap, f) > 0) {
		unsigned long long start, end, off, ino;
		unsigned int maj, min;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end,
			   perms, &off, &maj, &min, &ino) != 7)
			continue;
		start >>= IOASID_PAGE_SHIFT;
		end >>= IOASID_PAGE_SHIFT;
		if (end <= page + done)
			continue;
		/* A hole, or memory that cannot be read, cannot be pinned. */
		if (start > page + done || perms[0] != 'r')
			break;
		for (; done < npages && page + done < end; done++) {
			struct ioasid_page_id *id = &ids[done];
			uint64_t cur = page + done;

			if (perms[3] == 's' && ino) {
				*id = (struct ioasid_page_id){
					.kind = IOASID_PAGE_ID_FILE,
					.a = makedev(maj, min),
					.b = ino,
					.index = (off >> IOASID_PAGE_SHIFT) +
						 (cur - start),
				};
			} else {
				*id = (struct ioasid_page_id){
					.kind = IOASID_PAGE_ID_PRIVATE,
					.a = (uint64_t)pid,
					.index = cur,
				};
			}
		}
	}
	free(line);
	fclose(f);
	return done == npages ? 0 : -EFAULT;
}

int ioasid_pages_page_ids(struct ioasid_pages *p, uint64_t first,
			  uint64_t last, struct ioasid_page_id *ids)
{
	struct stat st;

	if (first > last || last >= p->npages)
		return -EINVAL;
	if (p->type == IOASID_PAGES_USER)
		return ioasid_va_page_ids(p->source_pid,
					  p->uptr + (first << IOASID_PAGE_SHIFT),
					  last - first + 1, ids);
	if (fstat(p->fd, &st))
		return -EFAULT;
	for (uint64_t i = first; i <= last; i++)
		ids[i - first] = (struct ioasid_page_id){
			.kind = IOASID_PAGE_ID_FILE,
			.a = st.st_dev,
			.b = st.st_ino,
			.index = (p->start >> IOASID_PAGE_SHIFT) + i,
		};
	return 0;
}
