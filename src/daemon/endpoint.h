/* SPDX-License-Identifier: MIT */
/* What the daemon's threads watch and serve: the listener, sessions, files. */
#ifndef IOASID_DAEMON_ENDPOINT_H
#define IOASID_DAEMON_ENDPOINT_H

enum endpoint_kind {
	ENDPOINT_LISTENER,
	ENDPOINT_SESSION, /* a connection: one open of /dev/iommu */
	ENDPOINT_FILE,    /* our end of a file handed to a client */
};

#include <stdatomic.h>
#include <stdbool.h>

#include "wire_uaccess.h"

struct lane;

/*
 * Embedded first in what it stands for; epoll's data.ptr points here.
 * Past kind and fd, the fields are serve.c's, under its lock.
 */
struct endpoint {
	enum endpoint_kind kind;
	int fd;
	struct client_mm mm;    /* its requests' senders' address space */
	struct lane *lane;      /* its user's share of the threads */
	int job;                /* what it is held, queued or run for */
	int where;              /* at rest (armed), held, queued, running */
	int close_pending;      /* hung up while running: close after */
	/* Its job waits on the client's request slot (session_linger);
	 * linger_stop, read without the lock, ends that wait. */
	bool lingering;
	_Atomic bool linger_stop;
	struct endpoint *qnext; /* in the run queue, held in its lane, or
				 * dead and waiting to be freed */
	struct endpoint *next, **pprev; /* every open one, for stopping */
};

#endif
