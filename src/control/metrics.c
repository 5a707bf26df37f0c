/* metrics.c - fold the workers' shards into the store once a second, sample
 * the gauges, and serve /metrics (see metrics.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/shard.h"
#include "../proxy/gen.h"
#include "../proxy/tls.h"
#include "admin.h"
#include "admin_parse.h"
#include "metrics.h"
#include "store.h"

/* Prometheus histogram buckets of TargetResponseTime, in seconds. A sample
 * is counted in the first bucket whose bound its DDSketch bucket value
 * does not exceed, so a sample within 1% of a bound may land on either
 * side of it. */
static const double le_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define NLE (sizeof(le_bounds) / sizeof(le_bounds[0]))

/* What the control thread keeps of one shard entity. */
struct ent_ctl {
	uint64_t prev[M_NMETRICS];          /* the blocks' sum at the last fold (MS_COUNT, latency ns) */
	uint64_t total[M_NMETRICS];         /* since albd started (MS_COUNT) */
	double last[M_NMETRICS];            /* the last sampled value (MS_LEVEL, MS_GAUGE, MS_DERIVED) */
	uint64_t delta_requests;            /* RequestCount of the last fold (RequestCountPerTarget) */
	uint32_t *hprev;                    /* the blocks' latency histogram at the last fold
	                                     * (HIST_DENSE_N, made at the first sample) */
	uint64_t le[NLE + 1];               /* cumulative Prometheus buckets (+Inf last) */
	uint64_t lat_count;
	double lat_sum;                     /* seconds */
	double lat_pending;                 /* seconds of samples whose buckets the fold has not seen yet */
	struct store_series *ser[M_NMETRICS];
	unsigned ser_gen;                   /* names_gen the series were looked up with */
	unsigned gauge_gen;                 /* M.gauge_gen when a group of the current generation
	                                     * last gave it gauges (0: never) */
	uint64_t gauges_off;                /* MBIT() of the gauges its group does not report */
};

#define MBIT(m) (UINT64_C(1) << (m))
_Static_assert(M_NMETRICS <= 64, "ent_ctl.gauges_off has a bit per metric");

/* CertificateDaysToExpiry: one per certificate of the current generation. */
struct cert_gauge {
	char *listener;
	char *file;
	int64_t not_after;
	struct store_series *ser;
};

static struct {
	struct event_base *base;
	struct event *timer;
	struct store *store;
	struct albd_gen *gen;       /* current, one reference */
	char *lb_name;
	unsigned names_gen;         /* bumped when lb_name changes */
	struct cert_gauge *certs;
	size_t ncerts;
	int64_t last_t;             /* the second the last fold was put into */
	unsigned gauge_gen;         /* bumped by each generation applied: a group's gauges are
	                             * exported while its entity has this one */
	struct hist scratch;
	struct hist_dense *sum;     /* scratch: the blocks' dense histograms added up */
} M;

struct store *metrics_store(void)
{
	return M.store;
}

const char *metrics_lb_name(void)
{
	return M.lb_name ? M.lb_name : "albd";
}

int64_t metrics_now(void)
{
	return (int64_t)time(NULL);
}

static unsigned level_bit(enum shard_level l)
{
	return l == SHARD_LB ? ML_LB : l == SHARD_TG ? ML_TG : ML_TARGET;
}

static struct store_series *series_of(struct shard_entity *e, struct ent_ctl *c, unsigned m)
{
	if (c->ser_gen != M.names_gen) {
		memset(c->ser, 0, sizeof(c->ser));
		c->ser_gen = M.names_gen;
	}
	if (!c->ser[m]) {
		struct store_dim d[3] = { { "LoadBalancer", metrics_lb_name() } };
		size_t nd = 1;
		if (e->tg)
			d[nd++] = (struct store_dim){ "TargetGroup", e->tg };
		if (e->target)
			d[nd++] = (struct store_dim){ "Target", e->target };
		unsigned flags = 0;
		if (metric_defs[m].src == MS_LATENCY)
			flags = STORE_HIST | (e->level == SHARD_TARGET ? STORE_HIST_COARSE : 0);
		c->ser[m] = store_series(M.store, METRICS_NAMESPACE, metric_defs[m].name, d, nd, metric_defs[m].unit,
					 flags);
	}
	return c->ser[m];
}

static void put(struct shard_entity *e, struct ent_ctl *c, unsigned m, int64_t t, double v)
{
	struct store_series *s = series_of(e, c, m);

	if (s)
		store_put(s, t, v);
}

/* Fold entity E: counters, levels and the latency histogram; put the
 * second T into the store unless T is 0 (a fold that only collects). */
static void fold_entity(struct shard_entity *e, int64_t t)
{
	struct ent_ctl *c = e->ctl;
	unsigned nb = shard_nblocks(), lv = level_bit(e->level);

	if (!c) {
		/* an entity of a generation that never went live (a reload
		 * refused after the groups were built) has no series */
		if (!e->applied || !(c = e->ctl = calloc(1, sizeof(*c))))
			return;
	}
	for (unsigned m = 0; m < M_NMETRICS; m++) {
		enum metric_src src = metric_defs[m].src;
		if (!(metric_defs[m].levels & lv) || (src != MS_COUNT && src != MS_LEVEL && src != MS_LATENCY))
			continue;
		uint64_t cur = 0;
		for (unsigned i = 0; i < nb; i++)
			cur += shard_read(shard_block(e, i), m);
		if (src == MS_LEVEL) {
			c->last[m] = (double)cur;
			if (t)
				put(e, c, m, t, (double)cur);
			continue;
		}
		uint64_t d = cur - c->prev[m];
		c->prev[m] = cur;
		if (src == MS_LATENCY && d == 0)
			continue;   /* no sample since the last fold (each adds > 0 ns) */
		if (src == MS_LATENCY) {
			/* the slot holds the latencies' sum in ns; the
			 * histogram holds their distribution */
			double sum_s = (double)d / 1e9;
			if (!c->hprev && !(c->hprev = calloc(HIST_DENSE_N, sizeof(uint32_t)))) {
				c->prev[m] -= d;   /* try again next time */
				continue;
			}
			/* the blocks' ranges first, then only their union is
			 * added up (and later folded) */
			unsigned lo = HIST_DENSE_N, hi = 0;
			for (unsigned i = 0; i < nb; i++) {
				const struct hist_dense *hd =
					atomic_load_explicit(&shard_block(e, i)->lat, memory_order_acquire);
				unsigned l, h;
				if (!hd || !hist_dense_range(hd, &l, &h))
					continue;
				if (l < lo)
					lo = l;
				if (h > hi)
					hi = h;
			}
			if (lo >= hi)
				lo = hi = 0;
			memset(&M.sum->c[lo], 0, (hi - lo) * sizeof(M.sum->c[0]));
			atomic_store_explicit(&M.sum->lo1, hi ? lo + 1 : 0, memory_order_relaxed);
			atomic_store_explicit(&M.sum->hi1, hi, memory_order_relaxed);
			for (unsigned i = 0; i < nb; i++) {
				const struct hist_dense *hd =
					atomic_load_explicit(&shard_block(e, i)->lat, memory_order_acquire);
				if (!hd)
					continue;
				for (unsigned k = lo; k < hi; k++) {
					uint32_t v = atomic_load_explicit(&hd->c[k], memory_order_relaxed);
					if (v)
						atomic_store_explicit(&M.sum->c[k],
							atomic_load_explicit(&M.sum->c[k], memory_order_relaxed) + v,
							memory_order_relaxed);
				}
			}
			hist_clear(&M.scratch);
			int64_t n = hist_fold_dense(&M.scratch, M.sum, c->hprev);
			/* a sum seen before its bucket (they are two stores)
			 * waits for the bucket: nothing is dropped */
			c->lat_sum += sum_s;
			sum_s += c->lat_pending;
			c->lat_pending = 0;
			if (n <= 0)
				c->lat_pending = sum_s;
			if (n > 0) {
				c->lat_count += (uint64_t)n;
				for (uint32_t i = 0; i < M.scratch.n; i++) {
					double v = hist_ord_value(M.scratch.b[i].ord);
					size_t k = 0;
					while (k < NLE && v > le_bounds[k])
						k++;
					c->le[k] += M.scratch.b[i].count;
				}
				if (t) {
					struct store_series *s = series_of(e, c, m);
					if (s)
						store_put_hist(s, t, &M.scratch, sum_s);
				}
			}
			continue;
		}
		c->total[m] += d;
		if (m == M_REQUEST_COUNT)
			c->delta_requests = d;
		if (t && metric_counts_events((int)m)) {
			struct store_series *s = series_of(e, c, m);
			if (s)
				store_put_events(s, t, (double)d);
		} else if (t) {
			put(e, c, m, t, (double)d);
		}
	}
}

struct fold_arg {
	int64_t t;
};

static void fold_cb(struct shard_entity *e, void *arg)
{
	struct fold_arg *a = arg;

	/* a retired entity (its target or group is gone) puts its last
	 * counts; then its series stop */
	fold_entity(e, a->t);
}

/* ARG: the fold's struct fold_arg (what a worker counted between the fold
 * and the reap goes to the same second), or NULL at exit. */
static void reap_cb(struct shard_entity *e, void *arg)
{
	const struct fold_arg *a = arg;

	fold_entity(e, a && M.store ? a->t : 0);
	if (e->ctl)
		free(((struct ent_ctl *)e->ctl)->hprev);
	free(e->ctl);
	e->ctl = NULL;
}

/* The gauges of the current generation's target groups. */
static void sample_groups(int64_t t)
{
	const struct albd_gen *g = M.gen;

	for (size_t i = 0; g && i < g->cfg->ntarget_groups; i++) {
		const struct target_group *tg = &g->tgs[i];
		struct shard_entity *e = tg->ms;
		if (!e || !e->ctl)
			continue;
		struct ent_ctl *c = e->ctl;
		unsigned up = 0, initial = 0;
		for (size_t k = 0; k < tg->ntargets; k++) {
			if (tg_target_up(&tg->targets[k]))
				up++;
			else if (atomic_load_explicit(&tg->targets[k].st->health, memory_order_relaxed) == TS_INITIAL)
				initial++;
		}
		/* as ALB's: HealthyHostCount and UnHealthyHostCount are
		 * "reported if health checks are enabled"; a group no listener
		 * uses (its targets "unused") is not the load balancer's, and
		 * has none of its gauges */
		c->gauges_off = 0;
		if (!tg->cfg->health_check.enabled || !tg->cfg->in_use)
			c->gauges_off = MBIT(M_HEALTHY_HOST_COUNT) | MBIT(M_UNHEALTHY_HOST_COUNT);
		if (!tg->cfg->in_use)
			c->gauges_off |= MBIT(M_FAIL_OPEN) | MBIT(M_REQUEST_COUNT_PER_TARGET);
		c->last[M_HEALTHY_HOST_COUNT] = up;
		c->last[M_UNHEALTHY_HOST_COUNT] = (double)(tg->ntargets - up - initial);
		c->last[M_FAIL_OPEN] = tg->ntargets > 0 && up == 0;
		/* ALB's: the group's requests over its healthy targets, over
		 * all its targets when none is healthy (failing open) */
		c->last[M_REQUEST_COUNT_PER_TARGET] =
			(double)c->delta_requests / (up ? up : tg->ntargets ? (unsigned)tg->ntargets : 1);
		c->gauge_gen = M.gauge_gen;
		if (!t)
			continue;
		static const unsigned gauges[] = { M_HEALTHY_HOST_COUNT, M_UNHEALTHY_HOST_COUNT, M_FAIL_OPEN,
						   M_REQUEST_COUNT_PER_TARGET };
		for (size_t k = 0; k < sizeof(gauges) / sizeof(gauges[0]); k++)
			if (!(c->gauges_off & MBIT(gauges[k])))
				put(e, c, gauges[k], t, c->last[gauges[k]]);
	}
}

static double cert_days(const struct cert_gauge *cg, int64_t now)
{
	return cg->not_after < 0 ? NAN : floor((double)(cg->not_after - now) / 86400.0);
}

static void sample_certs(int64_t t)
{
	for (size_t i = 0; i < M.ncerts; i++) {
		struct cert_gauge *cg = &M.certs[i];
		double d = cert_days(cg, t);
		if (isnan(d))
			continue;
		if (!cg->ser) {
			struct store_dim dims[3] = { { "LoadBalancer", metrics_lb_name() },
						     { "Listener", cg->listener },
						     { "Certificate", cg->file } };
			cg->ser = store_series(M.store, METRICS_NAMESPACE, metric_defs[M_CERTIFICATE_DAYS_TO_EXPIRY].name,
					       dims, 3, metric_defs[M_CERTIFICATE_DAYS_TO_EXPIRY].unit, 0);
		}
		if (cg->ser)
			store_put(cg->ser, t, d);
	}
}

void metrics_fold(void)
{
	int64_t now = metrics_now();
	/* the second that just ended; a second already put (the timer ran
	 * early) is added to, one that was skipped stays empty */
	int64_t t = now - 1;
	struct fold_arg a = { t };

	if (!M.store)
		return;
	shard_foreach(fold_cb, &a);
	sample_groups(t);
	sample_certs(t);
	shard_reap(reap_cb, &a);
	M.last_t = t;
	store_tick(M.store, now);
}

/* Fire a little after each whole second, so that a fold covers one second.
 * libevent counts a timeout from the time its loop last woke, which is
 * before the fold that just ran: without updating that cached time, a fold
 * longer than the 20 ms margin (1000 targets under load) made the next
 * one fire within the same second, put every series' point late and
 * rebuild each series' chunk (chunk_patch), a longer fold again. */
static void arm(void)
{
	struct timeval now, tv;

	event_base_update_cache_time(event_get_base(M.timer));
	gettimeofday(&now, NULL);
	tv.tv_sec = 0;
	tv.tv_usec = 1000000 - now.tv_usec + 20000;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = 1;
		tv.tv_usec -= 1000000;
	}
	event_add(M.timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	metrics_fold();
	arm();
}

/* ------------------------------------------------------------ /metrics */

static void esc_label(struct evbuffer *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

/* {load_balancer="..",target_group="..",target="..",EXTRA} */
static void labels(struct evbuffer *b, const struct shard_entity *e, const char *extra_name, const char *extra)
{
	evbuffer_add_printf(b, "{load_balancer=\"");
	esc_label(b, metrics_lb_name());
	evbuffer_add(b, "\"", 1);
	if (e && e->tg) {
		evbuffer_add_printf(b, ",target_group=\"");
		esc_label(b, e->tg);
		evbuffer_add(b, "\"", 1);
	}
	if (e && e->target) {
		evbuffer_add_printf(b, ",target=\"");
		esc_label(b, e->target);
		evbuffer_add(b, "\"", 1);
	}
	if (extra_name) {
		evbuffer_add_printf(b, ",%s=\"", extra_name);
		esc_label(b, extra);
		evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, "}", 1);
}

struct expo {
	struct evbuffer *b;
	unsigned m;
	int om;       /* OpenMetrics */
};

static void fmt_double(char *out, size_t len, double v)
{
	if (isinf(v))
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, len, "%.0f", v);
	else {
		/* the shortest form that reads back as V: le="0.005", not
		 * "0.0050000000000000001" */
		snprintf(out, len, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, len, "%.17g", v);
	}
}

/* An "le" label value. OpenMetrics: canonical ("Arbitrary integer and
 * floating point rendering of numbers MUST NOT be used for ... le"), the
 * shortest form that reads back with ".0" added when it has neither a
 * point nor an exponent: "1.0", "10.0", "0.005" (client_golang's
 * writeOpenMetricsFloat). The text format: "1", "10", "0.005", as
 * client_golang writes it there. */
static void fmt_le(char *out, size_t len, double v, int om)
{
	fmt_double(out, len, v);
	if (om && !isinf(v) && !strpbrk(out, ".eE"))
		snprintf(out + strlen(out), len - strlen(out), ".0");
}

static void expo_entity(struct shard_entity *e, void *arg)
{
	struct expo *x = arg;
	const struct metric_def *d = &metric_defs[x->m];
	struct ent_ctl *c = e->ctl;
	char num[64];

	if (!c || atomic_load(&e->refs) == 0 || !(d->levels & level_bit(e->level)))
		return;
	switch (d->src) {
	case MS_COUNT:
		evbuffer_add_printf(x->b, "%s_total", d->prom);
		labels(x->b, e, NULL, NULL);
		evbuffer_add_printf(x->b, " %" PRIu64 "\n", c->total[x->m]);
		break;
	case MS_LEVEL:
	case MS_GAUGE:
	case MS_DERIVED:
		/* a group the current generation no longer has (its entity
		 * lives on while requests of an older one run): none */
		if (d->src == MS_GAUGE && (c->gauge_gen != M.gauge_gen || (c->gauges_off & MBIT(x->m))))
			return;
		fmt_double(num, sizeof(num), c->last[x->m]);
		evbuffer_add_printf(x->b, "%s", d->prom);
		labels(x->b, e, NULL, NULL);
		evbuffer_add_printf(x->b, " %s\n", num);
		break;
	case MS_LATENCY: {
		uint64_t cum = 0;
		for (size_t k = 0; k <= NLE; k++) {
			cum += c->le[k];
			if (k < NLE)
				fmt_le(num, sizeof(num), le_bounds[k], x->om);
			evbuffer_add_printf(x->b, "%s_bucket", d->prom);
			labels(x->b, e, "le", k < NLE ? num : "+Inf");
			evbuffer_add_printf(x->b, " %" PRIu64 "\n", cum);
		}
		evbuffer_add_printf(x->b, "%s_sum", d->prom);
		labels(x->b, e, NULL, NULL);
		evbuffer_add_printf(x->b, " %.9f\n", c->lat_sum);
		evbuffer_add_printf(x->b, "%s_count", d->prom);
		labels(x->b, e, NULL, NULL);
		evbuffer_add_printf(x->b, " %" PRIu64 "\n", c->lat_count);
		break;
	}
	}
}

/* OpenMetrics' UNIT of family NAME: the base unit its name ends with
 * ("_seconds", "_bytes", as a family's name MUST end with its unit),
 * NULL for none (a count). */
static const char *prom_unit(const char *name)
{
	static const char *const units[] = { "seconds", "bytes" };
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t u = strlen(units[i]);
		if (n > u + 1 && name[n - u - 1] == '_' && strcmp(name + n - u, units[i]) == 0)
			return units[i];
	}
	return NULL;
}

/* The text format unless the scraper's Accept prefers OpenMetrics 1.0.0
 * (RFC 9110 negotiation, admin_negotiate()). As Prometheus's client
 * libraries, the text format also when Accept finds neither acceptable.
 * Prometheus's own header ("application/openmetrics-text;version=1.0.0,
 * ...;q=0.75,text/plain;version=0.0.4;q=0.5,...") gets OpenMetrics. */
static int wants_openmetrics(const struct admin_req *r)
{
	static const struct admin_offer offers[] = {
		{ "text/plain", "0.0.4" },
		{ "application/openmetrics-text", "1.0.0" },
	};

	return admin_negotiate(admin_req_header(r, "Accept"), offers, 2) == 1;
}

static void metrics_endpoint(struct admin_req *r, void *arg)
{
	(void)arg;
	struct evbuffer *b = evbuffer_new();
	int om = wants_openmetrics(r);

	if (!b) {
		admin_reply_error(r, 500, "InternalFailure", "out of memory");
		return;
	}
	for (unsigned m = 0; m < M_NMETRICS; m++) {
		const struct metric_def *d = &metric_defs[m];
		if (!d->prom)
			continue;
		const char *type = d->src == MS_COUNT ? "counter" : d->src == MS_LATENCY ? "histogram" : "gauge";
		const char *suffix = d->src == MS_COUNT && !om ? "_total" : "";
		const char *unit = om ? prom_unit(d->prom) : NULL;
		if (om) {
			/* OpenMetrics: TYPE, UNIT, HELP (the order its spec
			 * says metadata SHOULD come in) */
			evbuffer_add_printf(b, "# TYPE %s %s\n", d->prom, type);
			if (unit)
				evbuffer_add_printf(b, "# UNIT %s %s\n", d->prom, unit);
			evbuffer_add_printf(b, "# HELP %s %s (%s).\n", d->prom, d->help, d->name);
		} else {
			/* the text format: HELP, TYPE, as client_golang */
			evbuffer_add_printf(b, "# HELP %s%s %s (%s).\n", d->prom, suffix, d->help, d->name);
			evbuffer_add_printf(b, "# TYPE %s%s %s\n", d->prom, suffix, type);
		}
		if (d->levels & ML_CERT) {
			/* Prometheus wants base units: the expiry as a time
			 * (as the blackbox exporter's probe_ssl_earliest_cert_expiry),
			 * not CertificateDaysToExpiry's days */
			for (size_t i = 0; i < M.ncerts; i++) {
				char num[64];
				if (M.certs[i].not_after < 0)
					continue;
				fmt_double(num, sizeof(num), (double)M.certs[i].not_after);
				evbuffer_add_printf(b, "%s{load_balancer=\"", d->prom);
				esc_label(b, metrics_lb_name());
				evbuffer_add(b, "\",listener=\"", 12);
				esc_label(b, M.certs[i].listener);
				evbuffer_add(b, "\",certificate=\"", 15);
				esc_label(b, M.certs[i].file);
				evbuffer_add_printf(b, "\"} %s\n", num);
			}
			continue;
		}
		struct expo x = { b, m, om };
		shard_foreach(expo_entity, &x);
	}
	if (om)
		evbuffer_add(b, "# EOF\n", 6);
	size_t len = evbuffer_get_length(b);
	admin_reply(r, 200,
		    om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
		       : "text/plain; version=0.0.4; charset=utf-8",
		    (const char *)evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ lifecycle */

static void free_certs(void)
{
	for (size_t i = 0; i < M.ncerts; i++) {
		free(M.certs[i].listener);
		free(M.certs[i].file);
	}
	free(M.certs);
	M.certs = NULL;
	M.ncerts = 0;
}

void metrics_apply(const struct albd_gen *gen)
{
	struct albd_gen *g = (struct albd_gen *)gen;
	const char *name = g->cfg->name ? g->cfg->name : "albd";

	gen_ref(g);
	if (M.gen)
		gen_unref(M.gen);
	M.gen = g;
	/* its entities go live: they fold into series from now on */
	if (shard_lb())
		shard_lb()->applied = 1;
	for (size_t i = 0; i < g->cfg->ntarget_groups; i++) {
		const struct target_group *tg = &g->tgs[i];
		if (tg->ms)
			tg->ms->applied = 1;
		for (size_t k = 0; k < tg->ntargets; k++)
			if (tg->targets[k].st && tg->targets[k].st->ms)
				tg->targets[k].st->ms->applied = 1;
	}
	/* the groups' gauges are exported for this generation's groups only:
	 * sampled now (not put), so /metrics has them at once */
	if (++M.gauge_gen == 0)
		M.gauge_gen = 1;
	sample_groups(0);
	if (!M.lb_name || strcmp(M.lb_name, name) != 0) {
		char *n = strdup(name);
		if (n) {
			free(M.lb_name);
			M.lb_name = n;
			M.names_gen++;
		}
	}
	free_certs();
	size_t n = 0;
	for (size_t i = 0; i < g->cfg->nlisteners; i++)
		n += tls_server_ncerts(g->tls[i]);
	if (n && !(M.certs = calloc(n, sizeof(*M.certs))))
		return;
	for (size_t i = 0; i < g->cfg->nlisteners; i++) {
		for (size_t k = 0; k < tls_server_ncerts(g->tls[i]); k++) {
			struct cert_gauge *cg = &M.certs[M.ncerts];
			const char *file = tls_server_cert(g->tls[i], k, &cg->not_after);
			cg->listener = strdup(g->cfg->listeners[i].name);
			cg->file = strdup(file);
			if (!cg->listener || !cg->file) {
				free(cg->listener);
				free(cg->file);
				continue;
			}
			M.ncerts++;
		}
	}
}

int metrics_init(struct event_base *base, const struct albd_gen *gen, char *err, size_t errlen)
{
	char why[512];

	M.base = base;
	M.sum = aligned_alloc(64, (sizeof(*M.sum) + 63) / 64 * 64);
	if (!M.sum) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	M.store = store_open(gen->cfg->state_dir, metrics_now(), why, sizeof(why));
	if (!M.store) {
		snprintf(err, errlen, "%s: state_dir: %s", gen->cfg->path, why);
		return -1;
	}
	M.timer = event_new(base, -1, 0, timer_cb, NULL);
	if (!M.timer) {
		snprintf(err, errlen, "cannot create the metrics timer");
		return -1;
	}
	metrics_apply(gen);
	admin_route("GET", "/metrics", ADMIN_PUBLIC, metrics_endpoint, NULL);
	arm();
	return 0;
}

void metrics_shutdown(void)
{
	if (!M.store)
		return;
	metrics_fold();
	store_close(M.store);
	M.store = NULL;
	if (M.timer)
		event_free(M.timer);
	M.timer = NULL;
	if (M.gen)
		gen_unref(M.gen);
	M.gen = NULL;
	free_certs();
	free(M.lb_name);
	M.lb_name = NULL;
	hist_free(&M.scratch);
}

void metrics_free(void)
{
	shard_shutdown(reap_cb, NULL);
	free(M.sum);
	M.sum = NULL;
}
