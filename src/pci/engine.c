/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "pci.h"

#define IDLE_FIRST_NS 20000
#define IDLE_MAX_NS 1000000

/*
 * Lock order: engine_lock, then a model's lock, then whatever a model's
 * interrupts take (the VFIO device's lock, vfio/vfio.h), then the
 * function's lock; so nobody holding those may call in here.  A round of
 * polls runs under engine_lock: once remove has taken a function off the
 * list under it, no poll of that function runs or will.
 */
static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t engine_wake;
static struct pci_fn **polled;
static size_t npolled, cap;
static bool running, kicked;

static void *engine_main(void *arg)
{
	long idle_ns = IDLE_FIRST_NS;

	(void)arg;
	pthread_mutex_lock(&engine_lock);
	/* It leaves when it has nothing to poll; add starts another. */
	while (npolled) {
		struct timespec until;
		bool worked = false;

		kicked = false;
		for (size_t i = 0; i < npolled; i++)
			if (polled[i]->model->poll)
				worked |= polled[i]->model->poll(polled[i]);
		if (worked || kicked) {
			idle_ns = IDLE_FIRST_NS;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += idle_ns;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&engine_wake, &engine_lock, &until);
		if (idle_ns < IDLE_MAX_NS)
			idle_ns *= 2;
	}
	running = false;
	pthread_mutex_unlock(&engine_lock);
	return NULL;
}

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

/* Timed waits on the monotonic clock: a clock step never stalls it. */
static void wake_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&engine_wake, &attr);
	pthread_condattr_destroy(&attr);
}

int pci_engine_add(struct pci_fn *fn)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc = 0;

	pthread_once(&wake_once, wake_init);
	pthread_mutex_lock(&engine_lock);
	if (npolled == cap) {
		size_t ncap = cap ? 2 * cap : 8;
		struct pci_fn **n = realloc(polled, ncap * sizeof(*n));

		if (!n) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		polled = n;
		cap = ncap;
	}
	if (!running) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, engine_main, NULL) ? -ENOMEM : 0;
		pthread_attr_destroy(&attr);
		if (rc)
			goto out_unlock;
		running = true;
	}
	polled[npolled++] = fn;
out_unlock:
	pthread_mutex_unlock(&engine_lock);
	return rc;
}

void pci_engine_remove(struct pci_fn *fn)
{
	pthread_mutex_lock(&engine_lock);
	for (size_t i = 0; i < npolled; i++) {
		if (polled[i] == fn) {
			polled[i] = polled[--npolled];
			break;
		}
	}
	kicked = true;
	pthread_cond_signal(&engine_wake);
	pthread_mutex_unlock(&engine_lock);
}

void pci_engine_kick(void)
{
	pthread_once(&wake_once, wake_init);
	pthread_mutex_lock(&engine_lock);
	kicked = true;
	pthread_cond_signal(&engine_wake);
	pthread_mutex_unlock(&engine_lock);
}
