/* worker.h - worker threads: one event_base each, their listening sockets,
 * their client sessions and upstream pools, and how the control thread
 * talks to them (a mailbox + eventfd: no locks, no cross-thread libevent).
 */
#ifndef ALBD_WORKER_H
#define ALBD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "../core/clock.h"
#include "../core/runtime.h"
#include "../net/http1.h"
#include "upstream.h"

struct session;

/* A generation as one worker uses it: sessions count their use here with
 * plain integers; the worker holds one reference on the generation while
 * it is current or any session still uses it. */
struct wgen {
	struct albd_gen *gen;
	unsigned users;               /* sessions with a request on it */
	int current;
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
	struct event *ev_sweep;       /* 1 s: expired pooled connections, drained targets */
	_Atomic(struct albd_gen *) mailbox;   /* a newer generation, with one reference for this worker */
	atomic_int stop;              /* drain and exit */
	int stopping;
	struct event *drain_timer;
	struct wgen *cur;
	struct wlistener *listeners;
	unsigned accept_paused;       /* why accepting is off (worker.c), 0: accepting */
	struct event *ev_nofd;        /* ends the pause after EMFILE/ENFILE */
	struct session *sessions;     /* all client sessions of this worker */
	unsigned nsessions;
	struct upstream_pool pool;
	struct http1_header *hdrs;    /* scratch for parsing heads, max_headers entries */
	unsigned hdrs_cap;
	uint32_t rng;
	double retry_tokens;
	unsigned long tls_errors;     /* ClientTLSNegotiationErrorCount */
	struct evbuffer *spare[32];   /* empty evbuffers for exchanges, see worker_buf_get() */
	unsigned nspare;
	uint64_t now_ns;              /* worker_now(): clock_ns() at the start of the current callback */
	uint64_t exchanges;           /* exchanges ended on this worker (proxy.c's exchange_end) */
};

/* Start NWORKERS worker threads on generation G (each takes a reference).
 * Returns the array, or NULL with a message. Thread: control. */
struct worker *worker_start_all(unsigned nworkers, struct albd_gen *g, char *err, size_t errlen);

/* Hand a new generation to every worker (each takes a reference). Thread:
 * control. */
void worker_publish(struct worker *ws, unsigned n, struct albd_gen *g);

/* Ask every worker to stop accepting, finish in-flight requests (up to the
 * drain timeout of its generation), and exit; then join them and free the
 * array. Thread: control; blocks until the workers are gone. */
void worker_stop_all(struct worker *ws, unsigned n);

/* For sessions (proxy.c). Thread: the worker W. */
struct wgen *worker_gen_acquire(struct worker *w);
void worker_gen_release(struct worker *w, struct wgen *wg);
void worker_session_gone(struct worker *w);

/* An empty evbuffer for the length of one exchange, from a small free
 * list (so idle connections hold none and busy ones allocate none), or NULL
 * when memory is short. Give it back with worker_buf_put(), which empties
 * it. Thread: the worker W. */
struct evbuffer *worker_buf_get(struct worker *w);
void worker_buf_put(struct worker *w, struct evbuffer *b);

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
