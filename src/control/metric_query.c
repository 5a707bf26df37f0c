/* metric_query.c - see metric_query.h. Moved out of api_metrics.c so that
 * alarms and GetMetricData compute a period's value with the same code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include "../core/metrics.h"
#include "metric_query.h"

/* Expressions may refer to expressions this deep (each is itself nested at
 * most 100 levels: metric_math.h), and a call may make this many
 * datapoints in all (CloudWatch's GetMetricData limit): a hostile request
 * gets an error, not the control thread's stack or memory. */
#define QUERY_MAX_DEPTH 10
#define QUERY_MAX_POINTS 100800

struct ctx {
	const struct mquery_env *env;
	struct mquery *q;
	size_t n;
	int64_t start, end;
	unsigned period;
	char *err;
	size_t errlen;
	int failed;
	const char **ids; /* the MetricStat queries' ids: what METRICS() means */
	size_t nids;
	struct mm_value *views;  /* what an expression reads of each query (lookup_cb) */
	const char **labels;     /* each query's label (views' borrow them) */
	unsigned depth;                    /* expressions being evaluated, one inside the other */
	uint64_t points;                   /* datapoints made so far, all queries together */
	const char *known_ns, *known_name; /* the last metric found to exist */
	int unknown;                       /* a MetricStat named no metric (strict) */
};

size_t mquery_resolve(const struct mquery_env *env, const char *ns, const char *name, const struct store_dim *dims,
		      size_t ndims, const char *unit, struct store_series **out)
{
	struct store_dim d[MQUERY_MAX_DIMS + 1];
	size_t n = store_find_units(env->st, ns, name, dims, ndims, NULL, out, STORE_MAX_UNITS);

	if (!n && strcmp(ns, METRICS_NAMESPACE) == 0 && ndims <= MQUERY_MAX_DIMS) {
		size_t i = 0;
		while (i < ndims && strcmp(dims[i].name, "LoadBalancer") != 0)
			i++;
		if (i < ndims)
			return 0;
		memcpy(d, dims, ndims * sizeof(*d));
		d[ndims] = (struct store_dim){ "LoadBalancer", env->lb_name };
		n = store_find_units(env->st, ns, name, d, ndims + 1, NULL, out, STORE_MAX_UNITS);
	}
	/* the query's unit: that series only, if the metric has it */
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!unit || strcmp(unit, store_series_unit(out[i])) == 0)
			out[k++] = out[i];
	return k;
}

struct name_probe {
	const char *ns, *name;
	int found;
};

static int probe_cb(struct store_series *s, void *arg)
{
	struct name_probe *p = arg;

	if (strcmp(store_series_ns(s), p->ns) == 0 && strcmp(store_series_metric(s), p->name) == 0) {
		p->found = 1;
		return 1;
	}
	return 0;
}

int mquery_metric_known(const struct mquery_env *env, const char *ns, const char *name)
{
	if (strcmp(ns, METRICS_NAMESPACE) == 0 && metric_by_name(name) >= 0)
		return 1;
	struct name_probe p = { ns, name, 0 };
	store_foreach(env->st, 0, probe_cb, &p);
	return p.found;
}

static int eval_query(struct ctx *c, struct mquery *q);

static const struct mm_value *lookup_cb(void *arg, const char *id)
{
	struct ctx *c = arg;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->q[i].id, id) != 0)
			continue;
		if (c->q[i].state == 1) {
			snprintf(c->err, c->errlen, "%s: refers to itself through its expressions", id);
			c->failed = 1;
			return NULL;
		}
		if (c->depth >= QUERY_MAX_DEPTH) {
			snprintf(c->err, c->errlen, "%s: expressions refer to expressions more than %d deep", id,
				 QUERY_MAX_DEPTH);
			c->failed = 1;
			return NULL;
		}
		if (eval_query(c, &c->q[i]) < 0) {
			c->failed = 1;
			return NULL;
		}
		if (c->q[i].arr.array)
			return &c->q[i].arr;
		c->views[i] = (struct mm_value){ 0, 1, &c->q[i].ser, &c->labels[i] };
		return &c->views[i];
	}
	return NULL;
}

static int eval_stat(struct ctx *c, struct mquery *q, unsigned period)
{
	struct store_result res = { 0 };
	char err[256];

	/* one scan of the series for the queries of one metric (a custom
	 * name is looked up by scanning) */
	if (c->env->strict) {
		int known = c->known_ns && strcmp(c->known_ns, q->ns) == 0 && strcmp(c->known_name, q->name) == 0;
		if (!known && !mquery_metric_known(c->env, q->ns, q->name)) {
			snprintf(c->err, c->errlen, "%s: no metric %s in namespace %s", q->id, q->name, q->ns);
			c->unknown = 1;
			return -1;
		}
		c->known_ns = q->ns;
		c->known_name = q->name;
	}
	struct store_series *s[STORE_MAX_UNITS];
	size_t ns = mquery_resolve(c->env, q->ns, q->name, q->dims, q->ndims, q->unit, s);
	if (!ns) /* no data: an empty series */
		return 0;
	if (store_query_all(c->env->st, s, ns, c->start, c->end, period, c->env->now, &res, err, sizeof(err)) < 0) {
		snprintf(c->err, c->errlen, "%s: %s", q->id, err);
		return -1;
	}
	if (metric_counts_events_named(q->ns, q->name))
		store_result_events(&res);
	q->ser.t = calloc(res.n ? res.n : 1, sizeof(*q->ser.t));
	q->ser.v = calloc(res.n ? res.n : 1, sizeof(*q->ser.v));
	q->samples = calloc(res.n ? res.n : 1, sizeof(*q->samples));
	if (!q->ser.t || !q->ser.v || !q->samples) {
		store_result_free(&res);
		snprintf(c->err, c->errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < res.n; i++) {
		double v;
		if (store_stat(&res.p[i], q->stat, &v) < 0 || !isfinite(v))
			continue;
		q->ser.t[q->ser.n] = res.p[i].t;
		q->ser.v[q->ser.n] = v;
		q->samples[q->ser.n] = res.p[i].n;
		q->ser.n++;
	}
	store_result_free(&res);
	return 0;
}

static int eval_query(struct ctx *c, struct mquery *q)
{
	if (q->state == 2)
		return 0;
	q->state = 1;
	int rc;
	unsigned period = q->period ? q->period : c->period;
	/* the grid an expression may fill, counted before it is made */
	uint64_t grid = (uint64_t)(c->end - c->start) / period + 1;
	if (c->points + grid > QUERY_MAX_POINTS) {
		snprintf(c->err, c->errlen,
			 "%s: the queries would make more than %d datapoints (a call with expressions is "
			 "evaluated whole, not paged); ask for a shorter range, a longer period or fewer queries",
			 q->id, QUERY_MAX_POINTS);
		q->state = 2;
		return -1;
	}
	if (q->expr) {
		char err[512];
		struct mm_value r;
		c->depth++;
		int64_t origin = store_query_origin(c->env->st, c->start, period, c->env->now);
		rc = mm_eval(q->e, lookup_cb, c, c->ids, c->nids, origin, c->end, period, &r, err, sizeof(err));
		c->depth--;
		if (rc < 0 && !c->failed)
			snprintf(c->err, c->errlen, "%s: %s", q->id, err);
		if (rc == 0 && !r.array) {
			q->ser = r.ser[0];
			r.n = 0;
			mm_value_free(&r);
		} else if (rc == 0) {
			q->arr = r;
			for (size_t k = 0; k < r.n; k++)
				c->points += r.ser[k].n;
		}
	} else {
		rc = eval_stat(c, q, period);
	}
	c->points += q->ser.n;
	q->state = 2;
	/* an array may hold more than one grid's worth */
	if (rc == 0 && c->points > QUERY_MAX_POINTS) {
		snprintf(c->err, c->errlen,
			 "%s: the queries would make more than %d datapoints (a call with expressions is "
			 "evaluated whole, not paged); ask for a shorter range, a longer period or fewer queries",
			 q->id, QUERY_MAX_POINTS);
		return -1;
	}
	return rc;
}

int mquery_eval(const struct mquery_env *env, struct mquery *q, size_t n, int64_t start, int64_t end,
		unsigned period, char *err, size_t errlen)
{
	struct ctx c = { .env = env, .q = q, .n = n, .start = start, .end = end, .period = period, .err = err, .errlen = errlen };
	int rc = 0;

	c.ids = calloc(n ? n : 1, sizeof(*c.ids));
	c.views = calloc(n ? n : 1, sizeof(*c.views));
	c.labels = calloc(n ? n : 1, sizeof(*c.labels));
	if (!c.ids || !c.views || !c.labels) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!q[i].expr)
			c.ids[c.nids++] = q[i].id; /* METRICS(): the metrics, not the expressions */
		c.labels[i] = q[i].label ? q[i].label : q[i].expr ? q[i].id : q[i].name;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (eval_query(&c, &q[i]) < 0 || c.failed)
			rc = c.unknown ? -2 : -1;
out:
	free(c.ids);
	free(c.views);
	free(c.labels);
	return rc;
}

void mquery_clear(struct mquery *q)
{
	mm_series_free(&q->ser);
	mm_value_free(&q->arr);
	free(q->samples);
	q->samples = NULL;
	q->state = 0;
}

int mquery_valid_id(const char *s)
{
	if (!s || !islower((unsigned char)s[0]) || strlen(s) > 255)
		return 0;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}
