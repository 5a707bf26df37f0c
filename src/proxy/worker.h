/* worker.h - worker threads: a thread, its event_base, a mailbox from the
 * control thread, the listening sockets, a clock and a random source. What
 * runs on them plugs in through a handler table (struct worker_handler):
 * the proxy (proxy.h) is the one handler today, and keeps its per-worker
 * state (sessions, upstream pools, scratch, retry tokens) to itself.
 *
 * The control thread talks to workers only through the mailbox (an atomic
 * pointer + eventfd): no locks, no cross-thread libevent.
 */
#ifndef ALBD_WORKER_H
#define ALBD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <sys/socket.h>

#include "../core/clock.h"
#include "gen.h"

struct worker;

/* A generation as one worker uses it: users count their use here with plain
 * integers; the worker holds one reference on the generation while it is
 * current or anything still uses it. */
struct wgen {
	struct albd_gen *gen;
	unsigned users;               /* acquired and not released */
	int current;
};

/* What runs on the workers. Every callback runs on the worker W (or the
 * thread that starts it, before the loop runs) and gets the state its
 * start() returned. */
struct worker_handler {
	/* The worker is set up: make the per-worker state (NULL: failure). */
	void *(*start)(struct worker *w);
	/* The worker moves to generation G. Returns 0, or -1 when it cannot
	 * (out of memory): the worker then stays on its generation. */
	int (*adopt)(void *st, const struct albd_gen *g);
	/* A connection was accepted on LS (the worker owns FD's accounting
	 * through worker_conn_open/closed; the handler owns FD). */
	void (*accept)(void *st, struct lsock *ls, int fd, const struct sockaddr *sa, socklen_t salen);
	/* Once a second. */
	void (*tick)(void *st);
	/* Stopping: close idle connections; the others close after their
	 * request (then call worker_conn_closed()). */
	void (*drain)(void *st);
	/* Close everything now (the drain timeout ran out, or the loop ended). */
	void (*close_all)(void *st);
	/* The worker is going away: free the state. */
	void (*stop)(void *st);
};

struct wlistener {
	struct evconnlistener *evl;
	struct lsock *ls;             /* one reference */
	struct wlistener *next;
};

struct worker {
	unsigned id;                  /* 0 .. nworkers-1 */
	pthread_t thread;
	struct event_base *base;
	int evfd;                     /* control -> worker wake-up */
	struct event *ev_msg;
	struct event *ev_tick;        /* once a second: handler->tick */
	atomic_ullong alive_ms;       /* clock_ms() of its last tick: the watchdog's proof of life */
	_Atomic(struct albd_gen *) mailbox;   /* a newer generation, with one reference for this worker */
	atomic_int stop;              /* drain and exit */
	int stopping;
	struct event *drain_timer;
	struct wgen *cur;
	struct wlistener *listeners;
	unsigned accept_paused;       /* why accepting is off (worker.c), 0: accepting */
	struct event *ev_nofd;        /* ends the pause after EMFILE/ENFILE */
	unsigned nconns;              /* connections open (worker_conn_open/closed) */
	unsigned conns_high;          /* nconns' high-water mark since the last memory trim */
	const struct worker_handler *handler;
	void *hstate;                 /* what handler->start() returned */
	uint32_t rng;
	uint64_t now_ns;              /* worker_now(): clock_ns() at the start of the current callback */
};

/* Start NWORKERS worker threads on generation G (each takes a reference),
 * running handler H. Returns the array, or NULL with a message.
 * Thread: control. */
struct worker *worker_start_all(unsigned nworkers, struct albd_gen *g, const struct worker_handler *h, char *err,
				size_t errlen);

/* Has every worker of WS[0..N) ticked within MAX_AGE_MS (its loop turns)?
 * Thread: any. */
int worker_all_alive(const struct worker *ws, unsigned n, uint64_t max_age_ms);

/* Return freed memory to the system (glibc's malloc_trim) if a worker asked
 * for it after its connections fell a lot (see worker.c). Thread: the
 * control thread, from a timer: the walk takes each malloc arena's lock in
 * turn, so no worker's loop runs it. */
void worker_trim_memory(void);

/* Hand a new generation to every worker (each takes a reference). Thread:
 * control. */
void worker_publish(struct worker *ws, unsigned n, struct albd_gen *g);

/* Ask every worker to stop accepting, finish in-flight requests (up to the
 * drain timeout of its generation), and exit; then join them and free the
 * array. IDLE (may be NULL) is called with ARG every 100 ms meanwhile (the
 * access log's writer). Thread: control; blocks until the workers are gone. */
void worker_stop_all(struct worker *ws, unsigned n, void (*idle)(void *arg), void *arg);

/* The current generation, counted as used until worker_gen_release().
 * Thread: the worker W. */
struct wgen *worker_gen_acquire(struct worker *w);
void worker_gen_release(struct worker *w, struct wgen *wg);

/* A connection the handler took over is open / has closed: the worker
 * pauses accepting at max_connections and ends its loop when stopping and
 * the last one closed. Thread: the worker W. */
void worker_conn_open(struct worker *w);
void worker_conn_closed(struct worker *w);

/* The worker's precise clock (clock_ns()), as read by the last
 * worker_clock_tick(). Every event callback of the worker that measures
 * time ticks first, so latencies are exact to the callback, at one clock
 * read per callback. Thread: the worker W. */
static inline uint64_t worker_now(const struct worker *w)
{
	return w->now_ns;
}

static inline uint64_t worker_clock_tick(struct worker *w)
{
	return w->now_ns = clock_ns();
}

/* A small fast random number (xorshift32), per worker. */
uint32_t worker_rand(struct worker *w);

#endif
