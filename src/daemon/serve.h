/* SPDX-License-Identifier: MIT */
/*
 * The daemon's threads and the endpoints they serve: who waits for events,
 * who serves which request, and in what order (serve.c says why).
 */
#ifndef IOASID_DAEMON_SERVE_H
#define IOASID_DAEMON_SERVE_H

#include <signal.h>
#include <sys/types.h>

#include "endpoint.h"

struct serve_loop {
	int listen_fd;
	/* The next client waiting on the listener, or -1 when none is. */
	int (*take)(void);
	/* The signal mask while waiting: the stop signals let through. */
	const sigset_t *wait_mask;
	/* Set by a stop signal. */
	volatile sig_atomic_t *stopping;
};

/*
 * Serve until *loop->stopping, on the calling thread and as many more as
 * the load needs.  Returns once every other thread has finished what it
 * was doing and every endpoint is closed (each context released).
 */
void serve_run(const struct serve_loop *loop);

/*
 * Serve e (kind and fd set, the rest zero) for user uid: its requests and
 * its last close.  From here on a thread may serve it at any time.
 * 0, or -ENOMEM; on failure e is not known and stays the caller's.
 */
int serve_add(struct endpoint *e, uid_t uid);

#endif
