/* upstream.c - see upstream.h */
#include "upstream.h"

#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/shard.h"
#include "../net/tls_client.h"

/* U's entry in its target's per-worker state, or NULL when the target
 * state has none for this worker (then nothing of it is pooled). */
static struct ts_worker *slot_of(const struct upstream_pool *p, const struct target_state *ts)
{
	return p->worker < ts->npw ? &ts->pw[p->worker] : NULL;
}

static void pool_unlink(struct upconn *u)
{
	struct upstream_pool *p = u->pool;
	struct ts_worker *tw = slot_of(p, u->ts);

	if (u->prev)
		u->prev->next = u->next;
	else
		tw->idle = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	tw->nidle--;
	if (u->aprev)
		u->aprev->anext = u->anext;
	else
		p->all = u->anext;
	if (u->anext)
		u->anext->aprev = u->aprev;
	u->aprev = u->anext = NULL;
	p->idle--;
}

/* An idle pooled connection saw data, EOF or an error: whatever it is, the
 * connection is not reusable any more. */
static void idle_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct upconn *u = arg;
	pool_unlink(u);
	upstream_close(u);
}

struct upconn *upstream_connect(struct upstream_pool *p, struct event_base *base, const struct target *t,
				struct tls_client *tls)
{
	struct upconn *u = calloc(1, sizeof(*u));
	const struct albd_addr *a = &t->st->addr;

	if (!u)
		return NULL;
	/* Connection errors (refused, unreachable) are reported later through
	 * the callback, which the caller sets right after this returns. */
	u->c = conn_connect(base, (const struct sockaddr *)&a->ss, a->len);
	if (!u->c) {
		free(u);
		return NULL;
	}
	if (tls) {
		SSL *ssl = tls_client_ssl(tls, t->cfg->address);
		if (!ssl) {
			conn_free(u->c);
			free(u);
			return NULL;
		}
		conn_tls(u->c, ssl, 1);
		tls_client_ref(tls);
		u->tls = tls;
	}
	u->pool = p;
	u->ts = t->st;
	ts_ref(u->ts);
	if (p->lb) {
		shard_add(p->lb, M_NEW_CONNECTION_COUNT, 1);
		shard_level_add(p->lb, M_ACTIVE_CONNECTION_COUNT, 1);
	}
	return u;
}

struct upconn *upstream_get(struct upstream_pool *p, struct event_base *base, const struct target *t,
			    struct tls_client *tls, int *reused)
{
	struct ts_worker *tw = slot_of(p, t->st);
	uint64_t now = 0;
	struct upconn *u;

	while (tw && (u = tw->idle)) {
		pool_unlink(u);
		if (!now)
			now = clock_ms();
		/* made with the group's current TLS settings (the same
		 * context, which U keeps alive: no address reuse), or both
		 * plain: a reload that changed verification, the CA or the
		 * name must not keep using connections made before it */
		if (u->expires > now && u->tls == tls) {
			*reused = 1;
			return u;
		}
		upstream_close(u);
	}
	*reused = 0;
	return upstream_connect(p, base, t, tls);
}

void upstream_put(struct upconn *u, unsigned max_idle, unsigned idle_ms)
{
	struct upstream_pool *p = u->pool;
	struct ts_worker *tw = slot_of(p, u->ts);

	if (!tw || tw->nidle >= max_idle || atomic_load_explicit(&u->ts->retired, memory_order_relaxed) ||
	    evbuffer_get_length(u->c->in) != 0 || evbuffer_get_length(u->c->out) != 0 || u->c->eof ||
	    u->c->failed) {
		upstream_close(u);
		return;
	}
	u->expires = clock_ms() + idle_ms;
	conn_setcb(u->c, idle_cb, u);
	conn_read(u->c, 1);
	/* most recently used first: the warmest connections get reused and
	 * the others age out */
	u->prev = NULL;
	u->next = tw->idle;
	if (tw->idle)
		tw->idle->prev = u;
	tw->idle = u;
	tw->nidle++;
	u->aprev = NULL;
	u->anext = p->all;
	if (p->all)
		p->all->aprev = u;
	p->all = u;
	p->idle++;
}

void upstream_close(struct upconn *u)
{
	if (!u)
		return;
	if (u->pool->lb)
		shard_level_add(u->pool->lb, M_ACTIVE_CONNECTION_COUNT, -1);
	conn_free(u->c);
	tls_client_free(u->tls);
	ts_unref(u->ts);
	free(u);
}

static void purge(struct upstream_pool *p, int all, uint64_t now)
{
	struct upconn *u, *next;

	for (u = p->all; u; u = next) {
		next = u->anext;
		if (all || (now && u->expires <= now) || atomic_load_explicit(&u->ts->retired, memory_order_relaxed)) {
			pool_unlink(u);
			upstream_close(u);
		}
	}
}

void upstream_pool_purge(struct upstream_pool *p, int all)
{
	if (p->idle)
		purge(p, all, 0);
}

void upstream_pool_sweep(struct upstream_pool *p)
{
	if (p->idle)
		purge(p, 0, clock_ms());
}
