/* SPDX-License-Identifier: MIT */
/* What the daemon's event loop watches: the listener, sessions, files. */
#ifndef IOASID_DAEMON_ENDPOINT_H
#define IOASID_DAEMON_ENDPOINT_H

#include <stdint.h>

enum endpoint_kind {
	ENDPOINT_LISTENER,
	ENDPOINT_SESSION, /* a connection: one open of /dev/iommu */
	ENDPOINT_FILE,    /* our end of a file handed to a client */
};

/* Embedded first in what it stands for; epoll's data.ptr points here. */
struct endpoint {
	enum endpoint_kind kind;
	int fd;
	uint64_t round; /* the event-loop round that last listed it */
	struct endpoint *next, **pprev; /* every open one, for shutdown */
};

/* Every session and file end is on one list, so that stopping the
 * daemon closes them all (releasing every context) before it exits. */
extern struct endpoint *endpoints;

static inline void endpoint_track(struct endpoint *e)
{
	e->next = endpoints;
	e->pprev = &endpoints;
	if (endpoints)
		endpoints->pprev = &e->next;
	endpoints = e;
}

static inline void endpoint_untrack(struct endpoint *e)
{
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
}

#endif
