/* proxy.h - client sessions: one per client connection, on the worker that
 * accepted it, for its whole life.
 *
 * A session reads a request head, routes it, forwards it (rewritten) to a
 * target over a pooled or new upstream connection, streams the request
 * body up and the response back with backpressure, and then waits for the
 * next request on the same connection. Pipelined requests are answered one
 * after the other, in order.
 *
 * The proxy runs on the workers as their handler (proxy_handler, see
 * worker.h) and keeps its per-worker state in a struct proxy_worker of its
 * own: the worker knows nothing of sessions, pools or retries.
 */
#ifndef ALBD_PROXY_H
#define ALBD_PROXY_H

#include <stdint.h>

#include <event2/buffer.h>

#include "../core/shard.h"
#include "../core/theap.h"
#include "../net/http1.h"
#include "trace.h"

struct sticky_mac;
#include "upstream.h"
#include "worker.h"

struct session;

/* A free exchange, linked through its first bytes. */
struct ex_free {
	struct ex_free *next;
};

#define PROXY_EX_FREE_MAX 256

/* The proxy's state on one worker. Thread: that worker only. */
struct proxy_worker {
	struct worker *w;
	struct session *sessions;     /* all client sessions of this worker */
	struct theap timers;          /* the sessions' deadlines (timer_set() in proxy.c) */
	struct event timer_ev;        /* fires at the heap's earliest */
	uint64_t timer_armed;         /* when timer_ev fires (ms), 0 = not pending */
	struct upstream_pool pool;    /* keep-alive connections to targets */
	struct http1_header *hdrs;    /* scratch for parsing heads, max_headers entries */
	unsigned hdrs_cap;
	double retry_tokens;          /* retry budget (limits.retry_budget_ratio) */
	struct shard_block *lb;       /* this worker's block of the load balancer's metrics */
	/* weighted forwards: each forward action's picks so far on this worker,
	 * for FWD_GEN (the current generation; pick_seq() in proxy.c):
	 * listener i's rules, then its default action, from FWD_OFF[i] */
	const struct albd_gen *fwd_gen;
	uint32_t *fwd_seq, *fwd_off;
	uint64_t exchanges;           /* exchanges ended (exchange_end) */
	struct conn_pool bufs;        /* empty evbuffers: idle clients' (conn_park()) and
	                               * exchanges' request heads kept for a resend) */
	struct ex_free *ex_free;      /* exchanges no session holds (ex_get() in proxy.c): a
	                               * connection waiting for its next request holds none */
	unsigned nex_free;            /* at most PROXY_EX_FREE_MAX */
	struct trace_rng trace_rng;   /* request ids (X-Amzn-Trace-Id) */
	uint32_t epoch;               /* wall clock seconds for them, for stickiness
	                               * cookies and Date, read each tick (1 s): no clock read
	                               * per request */
	struct http1_date date;       /* the Date of albd's own responses, for epoch */
	struct sticky_mac *sticky;    /* stickiness cookies' MAC, made at first use (sticky.h) */
	char *norm;                   /* scratch for a request head the desync policy rewrites */
	size_t norm_cap;              /* (http1_normalize_request), grown at first use */
};

/* The handler the workers run (worker_start_all). */
extern const struct worker_handler proxy_handler;

#endif
