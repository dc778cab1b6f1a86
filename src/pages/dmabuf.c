/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "dmabuf.h"
#include "iommu/domain.h"
#include "pages.h"

static void dmabuf_release(struct ioasid_file *file)
{
	struct ioasid_dmabuf *db = container_of(file, struct ioasid_dmabuf,
						file);

	/* Imports hold the file: none is left. */
	close(db->memfd);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

const struct ioasid_file_ops ioasid_dmabuf_file_ops = {
	.name = "dmabuf",
	.release = dmabuf_release,
};

int ioasid_dmabuf_create(uint64_t size, struct ioasid_dmabuf **out)
{
	struct ioasid_dmabuf *db;
	int rc;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->memfd = memfd_create("ioasid-dmabuf", MFD_CLOEXEC);
	if (db->memfd < 0) {
		rc = -errno;
		goto out_free;
	}
	if (ftruncate(db->memfd, (off_t)size)) {
		rc = -errno;
		goto out_close;
	}
	db->size = size;
	pthread_mutex_init(&db->lock, NULL);
	/* No context: the memory is lent to whoever imports it, and an
	 * import must not keep its own IOAS's context alive. */
	ioasid_file_init(&db->file, &ioasid_dmabuf_file_ops, NULL);
	*out = db;
	return 0;

out_close:
	close(db->memfd);
out_free:
	free(db);
	return rc;
}

int ioasid_pages_alloc_dmabuf(struct ioasid_dmabuf *db, pid_t pid, uid_t uid,
			      uint64_t start, uint64_t length, bool writable,
			      struct ioasid_pages **out)
{
	struct ioasid_pages *p;
	int fd, rc;

	if (!length || start >= db->size || length > db->size - start)
		return -EINVAL;
	fd = fcntl(db->memfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = ioasid_pages_alloc_file(pid, uid, fd, start, length, writable,
				     IOASID_ACCOUNT_UNPINNED, &p);
	if (rc) {
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&db->lock);
	if (db->revoked) {
		pthread_mutex_unlock(&db->lock);
		ioasid_pages_put(p);
		return -ENODEV;
	}
	ioasid_file_get(&db->file);
	p->dmabuf = db;
	p->dmabuf_next = db->imports;
	db->imports = p;
	pthread_mutex_unlock(&db->lock);
	*out = p;
	return 0;
}

void ioasid_dmabuf_revoke(struct ioasid_dmabuf *db, bool revoked)
{
	pthread_mutex_lock(&db->lock);
	db->revoked = revoked;
	for (struct ioasid_pages *p = db->imports; p; p = p->dmabuf_next) {
		pthread_mutex_lock(&p->mutex);
		if (!p->revoked) {
			/* Out of every table now; the areas stay, showing
			 * nothing, until they are unmapped. */
			for (struct ioasid_dmabuf_track *t = p->tracks; t;
			     t = t->next)
				ioasid_domain_unmap(t->dom, t->iova, t->length);
			p->revoked = true;
		}
		pthread_mutex_unlock(&p->mutex);
	}
	pthread_mutex_unlock(&db->lock);
}

int ioasid_dmabuf_track(struct ioasid_pages *p, struct ioasid_domain *dom,
			uint64_t iova, uint64_t length)
{
	struct ioasid_dmabuf_track *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->dom = dom;
	t->iova = iova;
	t->length = length;
	t->next = p->tracks;
	p->tracks = t;
	return 0;
}

void ioasid_dmabuf_untrack(struct ioasid_pages *p, struct ioasid_domain *dom,
			   uint64_t iova)
{
	for (struct ioasid_dmabuf_track **link = &p->tracks; *link;
	     link = &(*link)->next) {
		struct ioasid_dmabuf_track *t = *link;

		if (t->dom == dom && t->iova == iova) {
			*link = t->next;
			free(t);
			return;
		}
	}
}

void ioasid_dmabuf_detach(struct ioasid_pages *p)
{
	struct ioasid_dmabuf *db = p->dmabuf;

	pthread_mutex_lock(&db->lock);
	for (struct ioasid_pages **link = &db->imports; *link;
	     link = &(*link)->dmabuf_next) {
		if (*link == p) {
			*link = p->dmabuf_next;
			break;
		}
	}
	pthread_mutex_unlock(&db->lock);
	p->dmabuf = NULL;
	ioasid_file_put(&db->file);
}
