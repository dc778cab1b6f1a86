/* SPDX-License-Identifier: MIT */
/*
 * The daemon's threads: a leader and followers.
 *
 * The kernel runs the ioctls of different files at once, and a process
 * stuck in one holds nobody else.  So do we.  One thread at a time, the
 * leader, waits for events; every endpoint's requests are watched
 * EPOLLONESHOT, so a ready one stays with the thread that takes it until
 * that thread re-arms it: one request per connection is in service at a
 * time, in the order the client sent them.  The leader makes jobs of what
 * it found and serves one itself, leaving the lead loose (nobody watching)
 * meanwhile: in a quiet spell a client's next request then finds the very
 * thread that answered the last one, spinning where it waits, with no
 * hand-over and no second thread spinning beside the client.  A standby
 * thread takes a lead that has been loose for LOOSE_NS over, so a job
 * that blocks (a client that does not answer for its memory) holds its
 * own thread and delays everyone else by a millisecond or two at most;
 * other jobs found at once go to other threads.
 *
 * Last closes.  The kernel releases a file before close() returns, so a
 * program that closed its last copy and then asks anything finds the
 * release done.  Here a close is a hang-up, which the leader must see no
 * later than anything the program does after it.  Hang-ups are watched
 * apart from requests, in a second epoll set nested in the first, where
 * nothing disarms them while a request is in service (or its reply on
 * its way, when the program may already have closed).  The leader takes
 * every hang-up it found before anything else, and holds a user's new
 * connections and requests while a close of that user's is pending:
 * queued, running, or waiting for the request in service on that
 * endpoint to finish.  Holding by user (a hang-up names no process) keeps
 * one user's slow releases from delaying anyone else.
 *
 * Shares.  A user has at most USER_JOBS opens and requests in service;
 * the rest wait in its lane.  So a user whose clients all stall holds
 * that many threads, and the pool (up to MAX_THREADS, grown as the load
 * needs) goes on serving everyone else.
 *
 * Slots.  A connection (or a VFIO device file) whose client keeps a
 * request slot (wire/slot.h) is served there after a request that
 * opened it: the job goes on,
 * its thread waiting on the slot (session_linger), first giving away
 * the lead, which must not wait with it.  The job ends, and the
 * connection is watched again, when the client gives the slot up, when
 * it has been quiet, or when a message waits on its socket; and at
 * once when the connection hangs up, when its user has jobs held for
 * want of a share, when the pool has no thread left, and at the stop.
 * A request through a slot passes no leader, so it cannot wait for a
 * close the leader has not seen: the shim gives every slot up before a
 * close of its own, and its next request on each goes by the socket.
 *
 * Lifetimes.  An endpoint's memory is freed by the leader only, at the
 * end of the round after it died: by then its descriptor has been closed
 * for a whole collection of events, so no event the leader holds can
 * name it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "file_end.h"
#include "log.h"
#include "serve.h"
#include "session.h"
#include "wire/spin.h"

#define MAX_THREADS 128
#define USER_JOBS 16
/* Connections of one user taken but not yet opened (their share of
 * descriptors not yet taken, see JOB_OPEN): past this many, refused. */
#define USER_OPENING 1024
#define MAX_EVENTS 256
/* How long a lead may be loose before the standby takes it over; the
 * standby looks this often while the daemon is busy... */
#define LOOSE_NS 1000000
/* ...which it is when it has had events in this long. */
#define BUSY_NS 100000000

enum job {
	JOB_NONE,
	/* A new connection's context: on a thread and in its user's lane,
	 * since the user's share of descriptors may be waiting for the
	 * user's closes to give some back. */
	JOB_OPEN,
	JOB_SERVE, /* one request */
	JOB_CLOSE, /* the last close */
};

enum where { AT_REST, HELD, QUEUED, RUNNING, DEAD };

/* One user's endpoints, its jobs in service, and its pending closes. */
struct lane {
	struct lane *next;
	uid_t uid;
	unsigned int refs;    /* its endpoints */
	unsigned int closing; /* closes pending */
	unsigned int serving; /* open and serve jobs queued or running */
	unsigned int opening; /* open jobs held, queued or running */
	unsigned int lingering; /* jobs waiting on a slot */
	struct endpoint *held, **held_tail; /* open and serve jobs waiting */
};

/*
 * Lock order: sched.lock is the innermost lock of the daemon.  Nothing
 * is done under it but list work and the epoll calls that must be one
 * step with an endpoint's state (a re-arm, a first watch).
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a job is queued, the lead is free, or stop */
	pthread_cond_t standby_wake; /* the lead went loose, or stop */
	pthread_cond_t gone; /* a thread has exited */
	struct endpoint *queue, **queue_tail;
	unsigned int queued;
	struct lane *lanes;
	struct endpoint *all;   /* every live endpoint, for stopping */
	struct endpoint *dead;  /* closed, for the leader to free */
	unsigned int threads, idle, starting;
	bool led, stop;
	bool loose;            /* the leader is serving a job */
	uint64_t loose_since;  /* ns */
	unsigned int lead_gen; /* bumped when the lead changes hands */
	bool standby;          /* a thread is the standby */
	bool standby_deep;     /* it sleeps until woken (the daemon is idle) */
	uint64_t busy_at;      /* ns: when the leader last had events */
} sched = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.gone = PTHREAD_COND_INITIALIZER,
	.queue_tail = &sched.queue,
};

static const struct serve_loop *loop;
static int epfd = -1;  /* requests; the listener; hup_fd */
static int hup_fd = -1; /* hang-ups */
static struct endpoint listener = { .kind = ENDPOINT_LISTENER };
static struct endpoint hangups = { .kind = ENDPOINT_LISTENER };

#define HUNG_UP (EPOLLHUP | EPOLLRDHUP | EPOLLERR)

/* ---- lanes and queues: all under sched.lock ---- */

static struct lane *lane_get(uid_t uid)
{
	struct lane *l;

	for (l = sched.lanes; l; l = l->next) {
		if (l->uid == uid) {
			l->refs++;
			return l;
		}
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->uid = uid;
	l->refs = 1;
	l->held_tail = &l->held;
	l->next = sched.lanes;
	sched.lanes = l;
	return l;
}

static void lane_put(struct lane *l)
{
	struct lane **link;

	if (--l->refs)
		return;
	for (link = &sched.lanes; *link != l; link = &(*link)->next)
		;
	*link = l->next;
	free(l);
}

/* Under sched.lock: e's wait on its slot ends (see Slots). */
static void stop_lingering(struct endpoint *e)
{
	if (!e->lingering || atomic_load(&e->linger_stop))
		return;
	atomic_store(&e->linger_stop, true);
	if (e->kind == ENDPOINT_SESSION)
		session_slot_stop((struct session *)e);
	else
		file_end_slot_stop((struct file_end *)e);
}

/* ... and so does every such wait of lane l's, or of everyone's. */
static void stop_lingering_all(const struct lane *l)
{
	if (l && !l->lingering)
		return;
	for (struct endpoint *e = sched.all; e; e = e->next)
		if (!l || e->lane == l)
			stop_lingering(e);
}

static void enqueue(struct endpoint *e, enum job job)
{
	e->job = job;
	e->where = QUEUED;
	e->qnext = NULL;
	*sched.queue_tail = e;
	sched.queue_tail = &e->qnext;
	sched.queued++;
}

static struct endpoint *dequeue(void)
{
	struct endpoint *e = sched.queue;

	if (!e)
		return NULL;
	sched.queue = e->qnext;
	if (!sched.queue)
		sched.queue_tail = &sched.queue;
	sched.queued--;
	e->where = RUNNING;
	return e;
}

/* Put back a job just dequeued, first in line again. */
static void requeue_first(struct endpoint *e)
{
	e->where = QUEUED;
	e->qnext = sched.queue;
	if (!e->qnext)
		sched.queue_tail = &e->qnext;
	sched.queue = e;
	sched.queued++;
}

/* Queue e's job, or hold it while its user has closes pending or its
 * share of the threads in use. */
static void submit(struct endpoint *e, enum job job)
{
	struct lane *l = e->lane;

	if (job == JOB_CLOSE) {
		l->closing++;
		enqueue(e, job);
	} else if (l->closing || l->serving >= USER_JOBS) {
		e->job = job;
		e->where = HELD;
		e->qnext = NULL;
		*l->held_tail = e;
		l->held_tail = &e->qnext;
		/* A share held by slots waits no longer. */
		stop_lingering_all(l);
	} else {
		l->serving++;
		enqueue(e, job);
	}
}

/* What l's held jobs waited for may be over. */
static void release_held(struct lane *l)
{
	while (l->held && !l->closing && l->serving < USER_JOBS) {
		struct endpoint *e = l->held;

		l->held = e->qnext;
		if (!l->held)
			l->held_tail = &l->held;
		l->serving++;
		enqueue(e, e->job);
	}
}

static void unhold(struct endpoint *e)
{
	struct lane *l = e->lane;
	struct endpoint **link;

	for (link = &l->held; *link != e; link = &(*link)->qnext)
		;
	*link = e->qnext;
	if (l->held_tail == &e->qnext)
		l->held_tail = link;
}

/* e hung up: its close, now or after the job it is in. */
static void hang_up(struct endpoint *e)
{
	struct lane *l = e->lane;

	if (e->job == JOB_CLOSE || e->close_pending)
		return; /* seen already */
	/* The user's next requests wait for this close, by the socket. */
	stop_lingering_all(l);
	switch (e->where) {
	case AT_REST:
		submit(e, JOB_CLOSE);
		break;
	case HELD:
		/* Its request has no one left to answer. */
		unhold(e);
		submit(e, JOB_CLOSE);
		break;
	case QUEUED:
		/* The same: the job becomes the close, where it stands. */
		l->serving--;
		l->opening -= e->job == JOB_OPEN;
		l->closing++;
		e->job = JOB_CLOSE;
		break;
	case RUNNING:
		e->close_pending = 1;
		l->closing++;
		break;
	default:
		break;
	}
}

static void *thread_main(void *arg);

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * Threads for the queued jobs, for the lead when nobody holds it, and
 * for the standby when the lead is loose: idle ones woken, more started
 * while the pool may grow.
 */
static void kick(void)
{
	unsigned int want = sched.queued + !sched.led +
			    (sched.loose && !sched.standby);
	pthread_attr_t attr;
	pthread_t t;

	if (sched.loose && sched.standby && sched.standby_deep)
		pthread_cond_signal(&sched.standby_wake);
	for (unsigned int i = 0; i < want && i < sched.idle; i++)
		pthread_cond_signal(&sched.wake);
	if (want <= sched.idle + sched.starting)
		return;
	/* Threads waiting on slots give way to jobs that have none. */
	if (sched.threads >= MAX_THREADS)
		stop_lingering_all(NULL);
	if (sched.threads >= MAX_THREADS || pthread_attr_init(&attr))
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (want > sched.idle + sched.starting &&
	       sched.threads < MAX_THREADS) {
		if (pthread_create(&t, &attr, thread_main, NULL))
			break;
		sched.threads++;
		sched.starting++;
	}
	pthread_attr_destroy(&attr);
}

/* ---- endpoints ---- */

/* Under sched.lock: e is counted in uid's lane; false without memory. */
static bool track(struct endpoint *e, uid_t uid)
{
	e->lane = lane_get(uid);
	if (!e->lane)
		return false;
	e->next = sched.all;
	e->pprev = &sched.all;
	if (sched.all)
		sched.all->pprev = &e->next;
	sched.all = e;
	return true;
}

static void untrack(struct endpoint *e)
{
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	lane_put(e->lane);
}

/* Under sched.lock: e's next request is reported (op: EPOLL_CTL_ADD the
 * first time, EPOLL_CTL_MOD after a job), and e is at rest.  0 or
 * -ENOMEM. */
static int arm(struct endpoint *e, int op)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = e,
	};

	if (epoll_ctl(epfd, op, e->fd, &ev))
		return -ENOMEM;
	e->where = AT_REST;
	e->job = JOB_NONE;
	return 0;
}

/* Under sched.lock, at rest from now on: its requests and its hang-up
 * watched.  0 or -ENOMEM. */
static int watch(struct endpoint *e)
{
	struct epoll_event hup = { .events = EPOLLRDHUP | EPOLLONESHOT,
				   .data.ptr = e };

	if (epoll_ctl(hup_fd, EPOLL_CTL_ADD, e->fd, &hup))
		return -ENOMEM;
	if (arm(e, EPOLL_CTL_ADD)) {
		epoll_ctl(hup_fd, EPOLL_CTL_DEL, e->fd, NULL);
		return -ENOMEM;
	}
	return 0;
}

int serve_add(struct endpoint *e, uid_t uid)
{
	int rc = -ENOMEM;

	pthread_mutex_lock(&sched.lock);
	if (track(e, uid)) {
		rc = watch(e);
		if (rc)
			untrack(e);
	}
	pthread_mutex_unlock(&sched.lock);
	return rc;
}

static void free_dead(struct endpoint *e)
{
	while (e) {
		struct endpoint *next = e->qnext;

		free(e); /* the session or file end it is embedded in */
		e = next;
	}
}

/* The last close, holding no lock: all but the memory goes. */
static void endpoint_close(struct endpoint *e)
{
	if (e->kind == ENDPOINT_SESSION)
		session_close((struct session *)e);
	else
		file_end_close((struct file_end *)e);
}

/* Under sched.lock: e is closed; the leader frees it (see Lifetimes). */
static void bury(struct endpoint *e)
{
	untrack(e);
	e->where = DEAD;
	e->qnext = sched.dead;
	sched.dead = e;
}

/* The lead's number while this thread holds it, else 0. */
static __thread unsigned int my_lead;

/*
 * e's job is to wait on its slot: stopped at once if a reason to stop
 * came first, and the lead given away if this thread holds it loose.
 */
static void linger_begin(struct endpoint *e)
{
	pthread_mutex_lock(&sched.lock);
	e->lingering = true;
	e->lane->lingering++;
	atomic_store(&e->linger_stop, false);
	if (e->close_pending || e->lane->held || e->lane->closing || sched.stop)
		atomic_store(&e->linger_stop, true);
	if (sched.loose && my_lead == sched.lead_gen) {
		sched.loose = false;
		sched.led = false;
		sched.lead_gen++;
		my_lead = 0;
		kick();
	}
	pthread_mutex_unlock(&sched.lock);
}

/* One request of e's, and then those through its slot if it opened it:
 * 0, or -errno to drop e. */
static int serve_request(struct endpoint *e)
{
	struct session *s = (struct session *)e;
	struct file_end *fe = (struct file_end *)e;
	bool session = e->kind == ENDPOINT_SESSION;
	int rc = session ? session_serve_one(s) : file_end_serve_one(fe);

	if (rc || !(session ? s->slot.opened : fe->slot.opened))
		return rc;
	linger_begin(e);
	return session ? session_linger(s, &e->linger_stop) :
			 file_end_linger(fe, &e->linger_stop);
}

/*
 * Do e's job, holding no lock.  Returns 1 when e is closed, 0 when it
 * is to be watched again, or -errno of an open that failed (e then
 * unwatched and unopened, its client still to be told).
 */
static int run(struct endpoint *e, enum job job)
{
	switch (job) {
	case JOB_OPEN:
		return session_open((struct session *)e);
	case JOB_SERVE:
		if (!serve_request(e))
			return 0;
		/* The client hung up, or broke the protocol. */
		break;
	default:
		break;
	}
	endpoint_close(e);
	return 1;
}

/* Under sched.lock: e's job is done (its result rc from run()); watch e
 * again, or bury it.  Returns with the lock held, perhaps dropped on the
 * way for a close. */
static void finish(struct endpoint *e, enum job job, int rc)
{
	struct lane *l = e->lane;

	if (e->lingering) {
		e->lingering = false;
		l->lingering--;
	}
	if (job == JOB_CLOSE) {
		l->closing--;
	} else {
		l->serving--;
		l->opening -= job == JOB_OPEN;
	}
	if (!rc && !e->close_pending)
		rc = job == JOB_OPEN ? watch(e) : arm(e, EPOLL_CTL_MOD);
	if (rc < 0 && job == JOB_OPEN) {
		/* Never watched: no event names it; tell the client. */
		pthread_mutex_unlock(&sched.lock);
		log_debug("refusing a client: %s", strerror(-rc));
		session_refuse_fd(e->fd, rc);
		e->fd = -1;
		endpoint_close(e);
		pthread_mutex_lock(&sched.lock);
	} else if (rc < 0 || (!rc && e->close_pending)) {
		/* A re-arm failed, or it hung up while in service. */
		e->job = JOB_CLOSE;
		pthread_mutex_unlock(&sched.lock);
		endpoint_close(e);
		pthread_mutex_lock(&sched.lock);
	}
	if (e->close_pending)
		l->closing--;
	release_held(l);
	/* Last: it may drop the lane's last reference. */
	if (e->where == RUNNING)
		bury(e);
	kick();
}

/* ---- the leader ---- */

struct ready {
	struct endpoint *e;
	uint32_t events;
};

/* The leader's, passed on with the lead (under sched.lock). */
static struct epoll_event evs[MAX_EVENTS];
static struct ready *ready;
static size_t ready_cap;

static int wait_events(int fd, int timeout)
{
	return epoll_pwait(fd, evs, MAX_EVENTS, timeout, loop->wait_mask);
}

/* Look for work a little before sleeping, as long as looking pays
 * (wire/spin.h). */
static struct spin_budget lead_spin = SPIN_BUDGET_INIT;

static int64_t look_for_events(void *arg)
{
	int n = wait_events(epfd, 0);

	(void)arg;
	return n ? n : SPIN_NOTHING;
}

static int64_t sleep_on_events(void *arg)
{
	(void)arg;
	return wait_events(epfd, -1);
}

static int wait_first(void)
{
	return (int)spin_wait(&lead_spin, look_for_events, sleep_on_events,
			      NULL);
}

/* Room in `ready` for `more` past n: false without memory. */
static bool make_room(size_t n, size_t more)
{
	size_t cap = (n + more) * 2;
	struct ready *r;

	if (n + more <= ready_cap)
		return true;
	r = realloc(ready, cap * sizeof(*r));
	if (!r)
		return false;
	ready = r;
	ready_cap = cap;
	return true;
}

/* In `ready`, for a connection just taken: its open. */
#define TAKEN 0

/*
 * Everything ready now in set fd, not just one batch, appended to the n
 * in `ready`; waiting for the first (spinning a little) when `wait`.
 * Taken events are disarmed (EPOLLONESHOT), so none may be dropped: room
 * for a whole batch is made before each is taken.  Returns how many are
 * in `ready`; *nested says the hang-up set is ready.
 */
static size_t collect(int fd, size_t n, bool wait, bool *listening,
		      bool *nested)
{
	int got;

	for (;;) {
		/* The first batch always fits: ready_cap starts at two. */
		if (!make_room(n, MAX_EVENTS))
			break;
		got = wait ? wait_first() : wait_events(fd, 0);
		wait = false;
		if (got < 0 && errno != EINTR)
			log_msg("epoll_pwait: %s", strerror(errno));
		for (int i = 0; i < got; i++) {
			struct endpoint *e = evs[i].data.ptr;

			if (e == &listener)
				*listening = true;
			else if (e == &hangups)
				*nested = true;
			else
				ready[n++] = (struct ready){ e, evs[i].events };
		}
		/* The listener is level-triggered: a full batch may be it
		 * over and over, once per call. */
		if (got < MAX_EVENTS)
			break;
	}
	return n;
}

/* All that is ready in both sets, appended to the n in `ready`. */
static size_t collect_all(size_t n, bool wait, bool *listening)
{
	bool nested = false, again = false;

	n = collect(epfd, n, wait, listening, &nested);
	return nested ? collect(hup_fd, n, false, &again, &again) : n;
}

/*
 * Every client waiting on the listener, appended to the n in `ready` as
 * sessions to open (on a thread: JOB_OPEN).  Returns how many are there.
 */
static size_t take_clients(size_t n)
{
	static uint64_t next_id = 1;
	struct session *s;
	int fd;

	while (make_room(n, 1) && (fd = loop->take()) >= 0) {
		bool ok = false;

		s = session_alloc(fd, next_id++);
		if (!s) {
			session_refuse_fd(fd, -ENOMEM);
			continue;
		}
		pthread_mutex_lock(&sched.lock);
		if (track(&s->ep, s->opener_uid)) {
			ok = s->ep.lane->opening < USER_OPENING;
			if (ok)
				s->ep.lane->opening++;
			else
				untrack(&s->ep);
		}
		pthread_mutex_unlock(&sched.lock);
		if (ok) {
			ready[n++] = (struct ready){ &s->ep, TAKEN };
		} else {
			/* Never watched: no event names it. */
			session_refuse_fd(fd, -EMFILE);
			free(s);
		}
	}
	return n;
}

/* Under sched.lock: jobs for what the leader found, hang-ups first. */
static void submit_all(size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((ready[i].events & HUNG_UP) && ready[i].e->where != DEAD)
			hang_up(ready[i].e);
	for (size_t i = 0; i < n; i++)
		if (ready[i].events == TAKEN)
			submit(ready[i].e, JOB_OPEN);
	/* A request reported by an endpoint whose hang-up came by the other
	 * set is not served: it is closing. */
	for (size_t i = 0; i < n; i++)
		if (ready[i].events && !(ready[i].events & HUNG_UP) &&
		    ready[i].e->where == AT_REST)
			submit(ready[i].e, JOB_SERVE);
}

/*
 * Lead until there is a job to serve, or until the stop.  Called holding
 * the lead and no lock; returns holding sched.lock, with the job (the
 * lead now loose) or NULL (stopping, the lead given up).
 */
static struct endpoint *lead(void)
{
	for (;;) {
		bool listening = false, again = false;
		struct endpoint *dead;
		size_t n = collect_all(0, true, &listening);

		/* A program may close and then connect: whatever hung up
		 * before the connections we take is seen with them. */
		if (listening && !*loop->stopping)
			n = collect_all(take_clients(n), false, &again);
		pthread_mutex_lock(&sched.lock);
		if (*loop->stopping) {
			sched.stop = true;
			sched.led = false;
			stop_lingering_all(NULL);
			pthread_cond_broadcast(&sched.wake);
			pthread_cond_broadcast(&sched.standby_wake);
			return NULL;
		}
		sched.busy_at = now_ns();
		submit_all(n);
		/* Nothing we collected can name these any more. */
		dead = sched.dead;
		sched.dead = NULL;
		/* Serve one ourselves, if a standby is there or can be had to
		 * take the lead over should it take long. */
		if (sched.queue && (sched.standby || sched.idle ||
				    sched.starting || sched.threads < MAX_THREADS)) {
			struct endpoint *mine;

			sched.loose = true;
			sched.loose_since = sched.busy_at;
			/* Taken before the kick, which then wakes nobody for
			 * it: a request in a quiet spell wakes no thread. */
			mine = dequeue();
			kick();
			if (sched.standby || sched.idle || sched.starting) {
				free_dead(dead);
				return mine;
			}
			requeue_first(mine);
			sched.loose = false;
		}
		kick();
		pthread_mutex_unlock(&sched.lock);
		free_dead(dead);
	}
}

/* ---- the threads ---- */

/*
 * Under sched.lock, with nothing to do: be the standby if there is none
 * (true when it takes the lead over), else wait to be woken.
 */
static bool wait_for_work(void)
{
	struct timespec until;
	uint64_t now = now_ns(), at;
	bool took = false;

	if (sched.standby) {
		sched.idle++;
		pthread_cond_wait(&sched.wake, &sched.lock);
		sched.idle--;
		return false;
	}
	sched.standby = true;
	/* While the daemon is busy, look every LOOSE_NS; idle, sleep until
	 * a leader goes loose and says so. */
	sched.standby_deep = !sched.loose && now - sched.busy_at > BUSY_NS;
	if (sched.standby_deep) {
		pthread_cond_wait(&sched.standby_wake, &sched.lock);
	} else {
		at = (sched.loose ? sched.loose_since : now) + LOOSE_NS;
		until.tv_sec = (time_t)(at / 1000000000u);
		until.tv_nsec = (long)(at % 1000000000u);
		pthread_cond_timedwait(&sched.standby_wake, &sched.lock, &until);
	}
	sched.standby = false;
	if (sched.loose && !sched.stop && now_ns() - sched.loose_since >= LOOSE_NS) {
		sched.loose = false;
		took = true;
	}
	return took;
}

static void *thread_main(void *arg)
{
	unsigned int gen = 0; /* the lead's, while this thread holds it */
	bool leading = false;

	pthread_mutex_lock(&sched.lock);
	if (arg != &sched)
		sched.starting--;
	for (;;) {
		struct endpoint *e;
		enum job job;
		int rc;

		if (sched.stop)
			break;
		/* Back from a job: the lead is ours again unless the
		 * standby took it over meanwhile. */
		if (leading && sched.lead_gen == gen) {
			sched.loose = false;
		} else if (!sched.led) {
			sched.led = true;
			gen = ++sched.lead_gen;
			leading = true;
		} else {
			leading = false;
		}
		my_lead = leading ? gen : 0;
		if (leading) {
			pthread_mutex_unlock(&sched.lock);
			e = lead();
			if (!e) {
				leading = false;
				continue;
			}
		} else if (!(e = dequeue())) {
			if (wait_for_work()) {
				gen = ++sched.lead_gen;
				leading = true;
				my_lead = gen;
				/* As if back from a job of its own. */
			}
			continue;
		}
		job = e->job;
		pthread_mutex_unlock(&sched.lock);
		rc = run(e, job);
		pthread_mutex_lock(&sched.lock);
		finish(e, job, rc);
	}
	sched.threads--;
	pthread_cond_broadcast(&sched.gone);
	pthread_mutex_unlock(&sched.lock);
	return NULL;
}

void serve_run(const struct serve_loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listener };
	struct epoll_event hev = { .events = EPOLLIN, .data.ptr = &hangups };
	pthread_condattr_t attr;

	loop = l;
	listener.fd = l->listen_fd;
	/* The standby's waits are timed on the clock now_ns() reads. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sched.standby_wake, &attr);
	pthread_condattr_destroy(&attr);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	hup_fd = epoll_create1(EPOLL_CLOEXEC);
	/* Room for one batch from the start: collect() never drops one. */
	ready_cap = 2 * MAX_EVENTS;
	ready = calloc(ready_cap, sizeof(*ready));
	if (epfd < 0 || hup_fd < 0 || !ready ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, l->listen_fd, &ev) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, hup_fd, &hev)) {
		log_msg("cannot serve: %s", strerror(errno));
		goto out;
	}
	pthread_mutex_lock(&sched.lock);
	sched.threads++;
	pthread_mutex_unlock(&sched.lock);
	thread_main(&sched);

	pthread_mutex_lock(&sched.lock);
	while (sched.threads)
		pthread_cond_wait(&sched.gone, &sched.lock);
	pthread_mutex_unlock(&sched.lock);
	/* Alone now.  Clients still connected are let go as if they had
	 * closed: every context is released and nothing is left behind. */
	while (sched.all) {
		struct endpoint *e = sched.all;

		endpoint_close(e);
		bury(e);
	}
	free_dead(sched.dead);
	sched.dead = NULL;
out:
	free(ready);
	if (hup_fd >= 0)
		close(hup_fd);
	if (epfd >= 0)
		close(epfd);
}
