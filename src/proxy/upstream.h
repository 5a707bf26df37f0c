/* upstream.h - connections to targets and the per-worker keep-alive pool.
 *
 * A pooled connection waits with its read side on: if the target closes it
 * or sends anything, it is closed at once, so a request is never sent on a
 * connection already known dead. It is also closed after the target group's
 * keepalive_timeout, which should be shorter than the target's own: checked
 * exactly when it is taken, and swept once a second (upstream_pool_sweep),
 * so that waiting in the pool costs no timer operation per request.
 * A pool belongs to one worker (the proxy's struct proxy_worker), and so do
 * its connections. Thread: all functions run on the owning worker only.
 */
#ifndef ALBD_UPSTREAM_H
#define ALBD_UPSTREAM_H

#include <stdint.h>

#include "../net/conn.h"
#include "target_group.h"

struct tls_client;
struct upstream_pool;

struct upconn {
	struct conn *c;
	struct target_state *ts;      /* one reference */
	struct upstream_pool *pool;   /* the pool of its worker */
	struct upconn *prev, *next;   /* while idle: its target's list (ts->pw[worker].idle) */
	struct upconn *aprev, *anext; /* while idle: the pool's list of all idle connections */
	int connected;
	uint64_t expires;             /* while pooled: when it is closed (ms, monotonic) */
	struct tls_client *tls;       /* speaks TLS made from this context (one reference), or NULL */
};

/* One worker's idle connections. Those of each target hang off the
 * target's per-worker state (target_state.pw[worker]), found in O(1) when a
 * request needs one; the pool itself only links them all, for the
 * once-a-second sweep and purges. */
struct upstream_pool {
	unsigned worker;              /* which entry of target_state.pw is this pool's */
	struct upconn *all;           /* every idle connection */
	unsigned idle;                /* how many */
	struct shard_block *lb;       /* the worker's block of the load balancer's metrics, where
	                               * every connection made counts in NewConnectionCount and,
	                               * until it closes, in ActiveConnectionCount (as an ALB's
	                               * do, with the client connections); NULL: not counted */
};

/* A connection to T: an idle pooled one (*reused = 1) or a new one being
 * connected (*reused = 0: upstream_connect()). The caller sets the bev
 * callbacks. Returns NULL when a socket cannot be made. */
struct upconn *upstream_get(struct upstream_pool *p, struct event_base *base, const struct target *t,
			    struct tls_client *tls, int *reused);

/* A new connection to T (never from the pool), over TLS when TLS is not
 * NULL (an HTTPS target group). A socket made counts one in the pool's
 * NewConnectionCount and one in its ActiveConnectionCount until
 * upstream_close() (whether the target accepts it or not: a refused one
 * is also a TargetConnectionErrorCount). */
struct upconn *upstream_connect(struct upstream_pool *p, struct event_base *base, const struct target *t,
				struct tls_client *tls);

/* Give a connection that finished an exchange cleanly back to the pool, or
 * close it if the pool for its target is full, MAX_IDLE is 0, or the target
 * is retired. IDLE_MS is how long it may wait there. */
void upstream_put(struct upconn *c, unsigned max_idle, unsigned idle_ms);

/* Close and free a connection (leased or pooled); it leaves
 * ActiveConnectionCount. */
void upstream_close(struct upconn *c);

/* Close idle connections: all of them (ALL), or those of retired targets. */
void upstream_pool_purge(struct upstream_pool *p, int all);

/* Close idle connections whose keepalive_timeout has passed. */
void upstream_pool_sweep(struct upstream_pool *p);

#endif
