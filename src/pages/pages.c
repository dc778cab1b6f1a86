/* SPDX-License-Identifier: MIT */
#include <pthread.h>

#include "core/util.h"
#include "pages.h"

/* Pins are global like a page's refcount: every context adds to them. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ioasid_pages_pins *registry;

void ioasid_pages_register(struct ioasid_pages_pins *p)
{
	pthread_mutex_lock(&registry_lock);
	p->next = registry;
	registry = p;
	pthread_mutex_unlock(&registry_lock);
}

void ioasid_pages_unregister(struct ioasid_pages_pins *p)
{
	struct ioasid_pages_pins **link;

	pthread_mutex_lock(&registry_lock);
	for (link = &registry; *link; link = &(*link)->next) {
		if (*link == p) {
			*link = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

unsigned int ioasid_pages_pin_count(pid_t pid, uint64_t uva)
{
	const struct ioasid_pages_pins *p;
	uint64_t page = uva & ~(uint64_t)(IOASID_PAGE_SIZE - 1);
	unsigned int n = 0;

	pthread_mutex_lock(&registry_lock);
	for (p = registry; p; p = p->next)
		if (p->pid == pid && page >= p->uva &&
		    (page - p->uva) / IOASID_PAGE_SIZE < p->npages)
			n++;
	pthread_mutex_unlock(&registry_lock);
	return n;
}
