/* api_metrics.c - CloudWatch-shaped JSON over the metric store (see
 * api_metrics.h). Every answer is built from store.h; every error names
 * the parameter that caused it.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../core/metrics.h"
#include "../proxy/gen.h"
#include "admin.h"
#include "api_metrics.h"
#include "metric_math.h"
#include "metric_query.h"
#include "metrics.h"
#include "store.h"

#define MAX_DIMS 10
#define NAME_MAX_LEN 255
#define PUT_MAX_DATA 1000        /* datapoints per PutMetricData call */
#define PUT_MAX_VALUES 150       /* Values per datum, as CloudWatch */
#define QUERY_MAX 500            /* MetricDataQueries per call */
#define LIST_PAGE 500            /* ListMetrics page */
#define PUT_MAX_AGE (14 * 86400) /* CloudWatch accepts two weeks back ... */
#define PUT_MAX_AHEAD (2 * 3600) /* ... and two hours ahead */
/* the store's own "now" is that of its last tick (up to a second or two
 * behind): a point it would refuse is refused here, before anything of
 * the call is stored */
#define PUT_AHEAD_MARGIN 10

/* ------------------------------------------------------------ time */

int api_parse_time(const char *s, int64_t *out)
{
	char *end;

	if (!s || !*s)
		return -1;
	/* epoch seconds: digits, maybe a fraction */
	if (isdigit((unsigned char)s[0]) && !strchr(s, '-') && !strchr(s, ':')) {
		errno = 0;
		double v = strtod(s, &end);
		if (errno || *end || !isfinite(v) || v < 0 || v > 1e11)
			return -1;
		*out = (int64_t)floor(v);
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
		return -1;
	const char *p = s + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		int m = 0;
		p++;
		if (sscanf(p, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2 || m != 5)
			return -1;
		p += 5;
		if (*p == ':') {
			if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
				return -1;
			tm.tm_sec = (p[1] - '0') * 10 + (p[2] - '0');
			p += 3;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh, mm = 0, k = 0;
		p++;
		if (sscanf(p, "%2d%n", &hh, &k) != 1 || k != 2)
			return -1;
		p += 2;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p)) {
			if (sscanf(p, "%2d%n", &mm, &k) != 1 || k != 2)
				return -1;
			p += 2;
		}
		if (hh > 23 || mm > 59)
			return -1;
		off = sign * (hh * 3600 + mm * 60);
	}
	if (*p)
		return -1;
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t - off;
	return 0;
}

void api_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A time given in JSON: a string (ISO 8601 or epoch) or a number. */
static int json_time(const json_t *v, int64_t *out)
{
	if (json_is_string(v))
		return api_parse_time(json_string_value(v), out);
	if (json_is_number(v)) {
		double d = json_number_value(v);
		if (!isfinite(d) || d < 0 || d > 1e11)
			return -1;
		*out = (int64_t)floor(d);
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------------ dimensions */

struct dimset {
	int any_value;                      /* a filter (ListMetrics): "Name=" matches any value */
	struct store_dim d[MAX_DIMS + 1];   /* one spare for the implicit LoadBalancer */
	size_t n;
	char *strs[2 * (MAX_DIMS + 1)];     /* owned copies */
	size_t nstrs;
};

static void dimset_free(struct dimset *ds)
{
	for (size_t i = 0; i < ds->nstrs; i++)
		free(ds->strs[i]);
	ds->nstrs = ds->n = 0;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Add NAME=VALUE (copied). Returns 0 or -1 with a message. */
static int dimset_add(struct dimset *ds, const char *name, size_t nlen, const char *value, size_t vlen, char *err,
		      size_t errlen)
{
	if (ds->n >= MAX_DIMS) {
		snprintf(err, errlen, "at most %d dimensions", MAX_DIMS);
		return -1;
	}
	char *n = strndup(name, nlen), *v = strndup(value, vlen);
	if (!n || !v) {
		free(n);
		free(v);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ds->strs[ds->nstrs++] = n;
	ds->strs[ds->nstrs++] = v;
	if (!valid_name(n) || (!valid_name(v) && !(ds->any_value && !*v))) {
		snprintf(err, errlen, "a dimension name and value are 1 to %d printable characters", NAME_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < ds->n; i++) {
		if (strcmp(ds->d[i].name, n) == 0) {
			snprintf(err, errlen, "dimension %s given twice", n);
			return -1;
		}
	}
	ds->d[ds->n].name = n;
	ds->d[ds->n].value = v;
	ds->n++;
	return 0;
}

/* "Name=Value,Name2=Value2" */
static int dimset_parse(struct dimset *ds, const char *s, char *err, size_t errlen)
{
	while (*s) {
		const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (!eq) {
			snprintf(err, errlen, "expected Name=Value pairs separated by commas");
			return -1;
		}
		if (dimset_add(ds, s, (size_t)(eq - s), eq + 1, (size_t)(end - eq - 1), err, errlen) < 0)
			return -1;
		s = comma ? comma + 1 : end;
	}
	return 0;
}

/* [{"Name": ..., "Value": ...}, ...] */
static int dimset_json(struct dimset *ds, const json_t *a, char *err, size_t errlen)
{
	size_t i;
	json_t *e;

	if (!a)
		return 0;
	if (!json_is_array(a)) {
		snprintf(err, errlen, "Dimensions must be a list of {\"Name\", \"Value\"}");
		return -1;
	}
	json_array_foreach(a, i, e) {
		const char *n = json_string_value(json_object_get(e, "Name"));
		const char *v = json_string_value(json_object_get(e, "Value"));
		if (!n || !v) {
			snprintf(err, errlen, "Dimensions[%zu] needs a string Name and Value", i);
			return -1;
		}
		if (dimset_add(ds, n, strlen(n), v, strlen(v), err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Where the API's queries run: albd's store, now, and a metric no series
 * ever had is an error (404 / ValidationError). */
static struct mquery_env api_env(void)
{
	return (struct mquery_env){ metrics_store(), metrics_lb_name(), metrics_now(), 1 };
}

/* The series (NS, NAME, DS). albd has one load balancer: a query on its
 * namespace that leaves LoadBalancer out means this one. */
static struct store_series *resolve(const char *ns, const char *name, struct dimset *ds)
{
	struct mquery_env env = api_env();
	return mquery_resolve(&env, ns, name, ds->d, ds->n);
}

static int metric_known(const char *ns, const char *name)
{
	struct mquery_env env = api_env();
	return mquery_metric_known(&env, ns, name);
}

static json_t *dims_json(const struct store_series *s)
{
	const struct store_dim *d;
	size_t n = store_series_dims(s, &d);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "Name", d[i].name, "Value", d[i].value));
	return a;
}

/* ------------------------------------------------------------ ListMetrics */

struct list_arg {
	const char *ns, *name;
	const struct dimset *filter;
	json_t *out;
	size_t skip, seen, added;
	int more;
};

static int list_cb(struct store_series *s, void *arg)
{
	struct list_arg *a = arg;

	if (a->ns && strcmp(store_series_ns(s), a->ns) != 0)
		return 0;
	if (a->name && strcmp(store_series_metric(s), a->name) != 0)
		return 0;
	const struct store_dim *d;
	size_t n = store_series_dims(s, &d);
	for (size_t i = 0; i < a->filter->n; i++) {
		size_t k;
		for (k = 0; k < n; k++)
			if (strcmp(d[k].name, a->filter->d[i].name) == 0 &&
			    (!*a->filter->d[i].value || strcmp(d[k].value, a->filter->d[i].value) == 0))
				break;
		if (k == n)
			return 0;
	}
	if (a->seen++ < a->skip)
		return 0;
	if (a->added == LIST_PAGE) {
		a->more = 1;
		return 1;
	}
	json_array_append_new(a->out, json_pack("{s:s, s:s, s:o}", "Namespace", store_series_ns(s), "MetricName",
						store_series_metric(s), "Dimensions", dims_json(s)));
	a->added++;
	return 0;
}

struct dim_collect {
	struct dimset *ds;
	char *err;
	size_t errlen;
	int failed;
};

static void dims_param_cb(const char *name, const char *value, void *arg)
{
	struct dim_collect *c = arg;

	if (c->failed || (strcmp(name, "dimensions") != 0 && strcmp(name, "dimension") != 0))
		return;
	if (dimset_parse(c->ds, value, c->err, c->errlen) < 0)
		c->failed = 1;
}

static int dims_from_query(struct admin_req *r, struct dimset *ds)
{
	char err[256];
	struct dim_collect c = { ds, err, sizeof(err), 0 };

	admin_req_query_each(r, dims_param_cb, &c);
	if (c.failed) {
		admin_reply_error(r, 400, "InvalidParameterValue", "dimensions: %s", err);
		return -1;
	}
	return 0;
}

static void list_metrics(struct admin_req *r, void *arg)
{
	(void)arg;
	struct dimset ds = { .any_value = 1 };
	const char *tok = admin_req_query(r, "next_token");
	struct list_arg a = { admin_req_query(r, "namespace"), admin_req_query(r, "name"), &ds, json_array(), 0, 0, 0, 0 };

	if (!a.name)
		a.name = admin_req_query(r, "metric_name");
	if (dims_from_query(r, &ds) < 0)
		goto out;
	if (tok) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(tok, &end, 10);
		if (errno || *end || !*tok) {
			admin_reply_error(r, 400, "InvalidParameterValue", "next_token: not a token this API gave");
			goto out;
		}
		a.skip = (size_t)v;
	}
	/* as CloudWatch: what had a datapoint in the last two weeks */
	store_foreach(metrics_store(), metrics_now() - 14 * 86400, list_cb, &a);
	json_t *j = json_pack("{s:O}", "Metrics", a.out);
	if (a.more) {
		char next[32];
		snprintf(next, sizeof(next), "%zu", a.skip + a.added);
		json_object_set_new(j, "NextToken", json_string(next));
	}
	admin_reply_json(r, 200, j);
out:
	json_decref(a.out);
	dimset_free(&ds);
}

/* ------------------------------------------------------------ statistics */

static int is_percentile(const char *s)
{
	return s[0] == 'p' || s[0] == 'P';
}

/* Fill *START, *END from the query (defaults: the last hour). */
static int range_from_query(struct admin_req *r, int64_t *start, int64_t *end)
{
	const char *s = admin_req_query(r, "start"), *e = admin_req_query(r, "end");
	int64_t now = metrics_now();

	*end = now;
	if (e && api_parse_time(e, end) < 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "end: \"%s\" is neither ISO 8601 (2026-11-29T10:15:00Z) nor epoch seconds", e);
		return -1;
	}
	*start = *end - 3600;
	if (s && api_parse_time(s, start) < 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "start: \"%s\" is neither ISO 8601 (2026-11-29T10:15:00Z) nor epoch seconds", s);
		return -1;
	}
	if (*end <= *start) {
		admin_reply_error(r, 400, "InvalidParameterValue", "end: must be later than start");
		return -1;
	}
	return 0;
}

static void get_statistics(struct admin_req *r, void *arg)
{
	(void)arg;
	const char *ns = admin_req_query(r, "namespace");
	const char *name = admin_req_query(r, "name");
	const char *period_s = admin_req_query(r, "period");
	const char *stats_s = admin_req_query(r, "statistics");
	struct dimset ds = { .n = 0 };
	char *stats = NULL, *stat[32];
	size_t nstat = 0;
	int64_t start, end;
	unsigned long period = 60;
	char err[256];
	struct store_result res = { 0 };

	if (!ns)
		ns = METRICS_NAMESPACE;
	if (!name)
		name = admin_req_query(r, "metric_name");
	if (!name || !*name) {
		admin_reply_error(r, 400, "MissingParameter", "name: the metric's name is required");
		return;
	}
	if (dims_from_query(r, &ds) < 0 || range_from_query(r, &start, &end) < 0)
		goto out;
	if (period_s) {
		char *e;
		errno = 0;
		period = strtoul(period_s, &e, 10);
		if (errno || *e || !*period_s || period == 0 || period > 86400 * 455UL) {
			admin_reply_error(r, 400, "InvalidParameterValue",
					  "period: \"%s\" is not a number of seconds (1 or more)", period_s);
			goto out;
		}
	}
	/* "statistics" may name percentiles too; "extended_statistics" (as
	 * GetMetricStatistics' ExtendedStatistics) adds to it */
	const char *ext_s = admin_req_query(r, "extended_statistics");
	if (ext_s && *ext_s) {
		size_t n = (stats_s ? strlen(stats_s) : 0) + strlen(ext_s) + 2;
		if ((stats = malloc(n)))
			snprintf(stats, n, "%s%s%s", stats_s && *stats_s ? stats_s : "", stats_s && *stats_s ? "," : "",
				 ext_s);
	} else {
		stats = strdup(stats_s && *stats_s ? stats_s : "SampleCount,Sum,Average,Minimum,Maximum");
	}
	if (!stats) {
		admin_reply_error(r, 500, "InternalFailure", "out of memory");
		goto out;
	}
	for (char *save = NULL, *t = strtok_r(stats, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!store_stat_valid(t)) {
			admin_reply_error(r, 400, "InvalidParameterValue",
					  "statistics: \"%s\" is not SampleCount, Sum, Average, Minimum, Maximum or pNN", t);
			goto out;
		}
		if (nstat == sizeof(stat) / sizeof(stat[0])) {
			admin_reply_error(r, 400, "InvalidParameterValue", "statistics: at most 32");
			goto out;
		}
		stat[nstat++] = t;
	}
	if (!metric_known(ns, name)) {
		admin_reply_error(r, 404, "ResourceNotFound", "name: no metric %s in namespace %s", name, ns);
		goto out;
	}
	struct store_series *s = resolve(ns, name, &ds);
	if (!s && store_check_period(start, (unsigned)period, metrics_now(), err, sizeof(err)) < 0) {
		admin_reply_error(r, 400, "InvalidParameterCombination", "%s", err);
		goto out;
	}
	json_t *dps = json_array();
	if (s) {
		if (store_query(metrics_store(), s, start, end, (unsigned)period, metrics_now(), &res, err,
				sizeof(err)) < 0) {
			json_decref(dps);
			admin_reply_error(r, 400, "InvalidParameterCombination", "%s", err);
			goto out;
		}
		for (size_t i = 0; i < res.n; i++) {
			char ts[32];
			api_format_time(res.p[i].t, ts, sizeof(ts));
			json_t *dp = json_pack("{s:s}", "Timestamp", ts), *ext = NULL;
			for (size_t k = 0; k < nstat; k++) {
				double v;
				if (store_stat(&res.p[i], stat[k], &v) < 0 || !isfinite(v))
					continue;
				if (is_percentile(stat[k])) {
					if (!ext)
						ext = json_object();
					json_object_set_new(ext, stat[k], json_real(v));
				}
				json_object_set_new(dp, stat[k], json_real(v));
			}
			if (ext)
				json_object_set_new(dp, "ExtendedStatistics", ext);
			json_object_set_new(dp, "Unit", json_string(store_series_unit(s)));
			json_array_append_new(dps, dp);
		}
	}
	admin_reply_json(r, 200, json_pack("{s:s, s:o}", "Label", name, "Datapoints", dps));
out:
	store_result_free(&res);
	free(stats);
	dimset_free(&ds);
}

/* ------------------------------------------------------------ GetMetricData */

struct mq {
	struct mquery q;         /* what metric_query.c evaluates */
	const char *label;
	int return_data;
	struct dimset ds;        /* q.dims points into it */
};

static int parse_mq(const json_t *j, size_t i, struct mq *mq, char *err, size_t errlen)
{
	struct mquery *q = &mq->q;
	const json_t *ms = json_object_get(j, "MetricStat"), *rd = json_object_get(j, "ReturnData");
	const json_t *per = json_object_get(j, "Period");

	q->id = json_string_value(json_object_get(j, "Id"));
	mq->label = json_string_value(json_object_get(j, "Label"));
	q->expr = json_string_value(json_object_get(j, "Expression"));
	mq->return_data = rd ? json_is_true(rd) : 1;
	if (!json_is_object(j) || !mquery_valid_id(q->id)) {
		snprintf(err, errlen, "MetricDataQueries[%zu].Id: required, a lower-case letter then letters, digits or _",
			 i);
		return -1;
	}
	if (!!q->expr == !!ms) {
		snprintf(err, errlen, "MetricDataQueries[%zu] (%s): exactly one of MetricStat and Expression", i, q->id);
		return -1;
	}
	if (per) {
		json_int_t p = json_integer_value(per);
		if (!json_is_integer(per) || p < 1 || p > 86400 * 455) {
			snprintf(err, errlen, "MetricDataQueries[%zu].Period: a number of seconds", i);
			return -1;
		}
		q->period = (unsigned)p;
	}
	if (q->expr) {
		char why[256];
		if (!(q->e = mm_parse(q->expr, why, sizeof(why)))) {
			snprintf(err, errlen, "MetricDataQueries[%zu].Expression: %s", i, why);
			return -1;
		}
		return 0;
	}
	const json_t *m = json_object_get(ms, "Metric"), *p = json_object_get(ms, "Period");
	q->ns = json_string_value(json_object_get(m, "Namespace"));
	q->name = json_string_value(json_object_get(m, "MetricName"));
	q->stat = json_string_value(json_object_get(ms, "Stat"));
	if (!q->ns)
		q->ns = METRICS_NAMESPACE;
	if (!q->name || !*q->name) {
		snprintf(err, errlen, "MetricDataQueries[%zu].MetricStat.Metric.MetricName: required", i);
		return -1;
	}
	if (!q->stat || !store_stat_valid(q->stat)) {
		snprintf(err, errlen, "MetricDataQueries[%zu].MetricStat.Stat: SampleCount, Sum, Average, Minimum, "
				      "Maximum or pNN",
			 i);
		return -1;
	}
	if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 86400 * 455) {
		snprintf(err, errlen, "MetricDataQueries[%zu].MetricStat.Period: required, a number of seconds", i);
		return -1;
	}
	q->period = (unsigned)json_integer_value(p);
	char why[256];
	if (dimset_json(&mq->ds, json_object_get(m, "Dimensions"), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "MetricDataQueries[%zu].MetricStat.Metric.Dimensions: %s", i, why);
		return -1;
	}
	q->dims = mq->ds.d;
	q->ndims = mq->ds.n;
	return 0;
}

static json_t *result_json(const struct mq *mq, int descending)
{
	const struct mquery *q = &mq->q;
	json_t *ts = json_array(), *vs = json_array();

	for (size_t k = 0; k < q->ser.n; k++) {
		size_t i = descending ? q->ser.n - 1 - k : k;
		char b[32];
		if (!isfinite(q->ser.v[i]))
			continue;
		api_format_time(q->ser.t[i], b, sizeof(b));
		json_array_append_new(ts, json_string(b));
		json_array_append_new(vs, json_real(q->ser.v[i]));
	}
	return json_pack("{s:s, s:s, s:o, s:o, s:s}", "Id", q->id, "Label",
			 mq->label ? mq->label : q->expr ? q->id : q->name, "Timestamps", ts, "Values", vs, "StatusCode",
			 "Complete");
}

static void get_metric_data(struct admin_req *r, void *arg)
{
	(void)arg;
	size_t len;
	const char *body = admin_req_body(r, &len);
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je);
	struct {
		struct mq *q;
		size_t n;
		int64_t start, end;
		unsigned period;
	} c = { 0 };
	char err[512];
	struct mquery *qs_eval = NULL;
	if (!json_is_object(j)) {
		admin_reply_error(r, 400, "InvalidParameterValue", "body: not a JSON object (%s)", je.text);
		goto out;
	}
	const json_t *qs = json_object_get(j, "MetricDataQueries");
	if (!json_is_array(qs) || json_array_size(qs) == 0 || json_array_size(qs) > QUERY_MAX) {
		admin_reply_error(r, 400, "InvalidParameterValue", "MetricDataQueries: a list of 1 to %d queries",
				  QUERY_MAX);
		goto out;
	}
	if (json_time(json_object_get(j, "StartTime"), &c.start) < 0 ||
	    json_time(json_object_get(j, "EndTime"), &c.end) < 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "%s: required, ISO 8601 or epoch seconds",
				  json_time(json_object_get(j, "StartTime"), &c.start) < 0 ? "StartTime" : "EndTime");
		goto out;
	}
	if (c.end <= c.start) {
		admin_reply_error(r, 400, "InvalidParameterValue", "EndTime: must be later than StartTime");
		goto out;
	}
	const char *scan = json_string_value(json_object_get(j, "ScanBy"));
	if (scan && strcmp(scan, "TimestampDescending") != 0 && strcmp(scan, "TimestampAscending") != 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "ScanBy: TimestampDescending (the default) or TimestampAscending");
		goto out;
	}
	c.n = json_array_size(qs);
	c.q = calloc(c.n, sizeof(*c.q));
	qs_eval = calloc(c.n, sizeof(*qs_eval));
	if (!c.q || !qs_eval) {
		admin_reply_error(r, 500, "InternalFailure", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (parse_mq(json_array_get(qs, i), i, &c.q[i], err, sizeof(err)) < 0) {
			admin_reply_error(r, 400, "ValidationError", "%s", err);
			goto out;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(c.q[k].q.id, c.q[i].q.id) == 0) {
				admin_reply_error(r, 400, "ValidationError", "MetricDataQueries[%zu].Id: %s is used twice",
						  i, c.q[i].q.id);
				goto out;
			}
		}
		if (!c.q[i].q.expr && !c.period)
			c.period = c.q[i].q.period;
	}
	if (!c.period)
		c.period = 60;
	/* evaluated as an array of struct mquery (metric_query.c), copied
	 * back for the answer */
	for (size_t i = 0; i < c.n; i++)
		qs_eval[i] = c.q[i].q;
	struct mquery_env env = api_env();
	int rc = mquery_eval(&env, qs_eval, c.n, c.start, c.end, c.period, err, sizeof(err));
	for (size_t i = 0; i < c.n; i++)
		c.q[i].q = qs_eval[i];
	if (rc < 0) {
		admin_reply_error(r, 400, "ValidationError", "%s", err);
		goto out;
	}
	json_t *results = json_array();
	int desc = !scan || strcmp(scan, "TimestampDescending") == 0;
	for (size_t i = 0; i < c.n; i++)
		if (c.q[i].return_data)
			json_array_append_new(results, result_json(&c.q[i], desc));
	admin_reply_json(r, 200, json_pack("{s:o, s:[]}", "MetricDataResults", results, "Messages"));
out:
	for (size_t i = 0; c.q && i < c.n; i++) {
		mquery_clear(&c.q[i].q);
		mm_free(c.q[i].q.e);
		dimset_free(&c.q[i].ds);
	}
	free(c.q);
	free(qs_eval);
	json_decref(j);
}

/* ------------------------------------------------------------ PutMetricData */

static size_t ncustom;
static int ncustom_known;

static int count_custom_cb(struct store_series *s, void *arg)
{
	(void)arg;
	if (strncmp(store_series_ns(s), "AWS/", 4) != 0)
		ncustom++;
	return 0;
}

static int finite_value(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	/* CloudWatch's range: 8.515920e-109 to 1.174271e+108, or 0 */
	if (!isfinite(*out) || fabs(*out) > 1.174271e108 || (*out != 0 && fabs(*out) < 8.515920e-109))
		return -1;
	return 0;
}

/* Check datum I fully before anything is stored (a call is all or nothing).
 * Returns 0 or -1 with a message. */
static int check_datum(const json_t *d, size_t i, int64_t now, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(d, "MetricName"));
	const json_t *v = json_object_get(d, "Value"), *vs = json_object_get(d, "Values");
	const json_t *cs = json_object_get(d, "Counts"), *ts = json_object_get(d, "Timestamp");
	const json_t *sr = json_object_get(d, "StorageResolution");
	double x;
	int64_t t;

	if (!json_is_object(d)) {
		snprintf(err, errlen, "MetricData[%zu]: not an object", i);
		return -1;
	}
	if (!name || !valid_name(name)) {
		snprintf(err, errlen, "MetricData[%zu].MetricName: required, 1 to %d characters", i, NAME_MAX_LEN);
		return -1;
	}
	if (json_object_get(d, "StatisticValues")) {
		snprintf(err, errlen, "MetricData[%zu].StatisticValues: not supported; send Values and Counts", i);
		return -1;
	}
	if (!!v + !!vs != 1) {
		snprintf(err, errlen, "MetricData[%zu]: exactly one of Value and Values", i);
		return -1;
	}
	if (v && finite_value(v, &x) < 0) {
		snprintf(err, errlen, "MetricData[%zu].Value: a finite number within CloudWatch's range", i);
		return -1;
	}
	if (vs) {
		size_t k;
		json_t *e;
		if (!json_is_array(vs) || json_array_size(vs) == 0 || json_array_size(vs) > PUT_MAX_VALUES) {
			snprintf(err, errlen, "MetricData[%zu].Values: a list of 1 to %d numbers", i, PUT_MAX_VALUES);
			return -1;
		}
		json_array_foreach(vs, k, e) {
			if (finite_value(e, &x) < 0) {
				snprintf(err, errlen, "MetricData[%zu].Values[%zu]: a finite number", i, k);
				return -1;
			}
		}
		if (cs && (!json_is_array(cs) || json_array_size(cs) != json_array_size(vs))) {
			snprintf(err, errlen, "MetricData[%zu].Counts: as many as Values", i);
			return -1;
		}
		json_array_foreach(cs, k, e) {
			/* bounded, so that no second's histogram count can wrap */
			if (!json_is_number(e) || !(json_number_value(e) > 0) || json_number_value(e) > 4294967296.0) {
				snprintf(err, errlen, "MetricData[%zu].Counts[%zu]: a number above 0, at most 2^32", i, k);
				return -1;
			}
		}
	} else if (cs) {
		snprintf(err, errlen, "MetricData[%zu].Counts: only with Values", i);
		return -1;
	}
	if (ts) {
		if (json_time(ts, &t) < 0) {
			snprintf(err, errlen, "MetricData[%zu].Timestamp: ISO 8601 or epoch seconds", i);
			return -1;
		}
		if (t < now - PUT_MAX_AGE + PUT_AHEAD_MARGIN || t > now + PUT_MAX_AHEAD - PUT_AHEAD_MARGIN) {
			snprintf(err, errlen,
				 "MetricData[%zu].Timestamp: must be within the last two weeks and at most two hours ahead",
				 i);
			return -1;
		}
	}
	if (sr && (!json_is_integer(sr) || (json_integer_value(sr) != 1 && json_integer_value(sr) != 60))) {
		snprintf(err, errlen, "MetricData[%zu].StorageResolution: 1 or 60", i);
		return -1;
	}
	const json_t *u = json_object_get(d, "Unit");
	if (u && !json_is_string(u)) {
		snprintf(err, errlen, "MetricData[%zu].Unit: a string", i);
		return -1;
	}
	return 0;
}

/* A series' key: its name and its dimensions sorted by name, each part
 * ended by a byte no name contains. Returns a new string or NULL. */
static char *series_key(const char *name, const struct dimset *ds)
{
	const struct store_dim *d[MAX_DIMS + 1];
	size_t len = strlen(name) + 2;

	for (size_t i = 0; i < ds->n; i++) {
		d[i] = &ds->d[i];
		len += strlen(d[i]->name) + strlen(d[i]->value) + 2;
		for (size_t k = i; k > 0 && strcmp(d[k - 1]->name, d[k]->name) > 0; k--) {
			const struct store_dim *t = d[k];
			d[k] = d[k - 1];
			d[k - 1] = t;
		}
	}
	char *key = malloc(len), *p = key;
	if (!key)
		return NULL;
	p += sprintf(p, "%s\x1f", name);
	for (size_t i = 0; i < ds->n; i++)
		p += sprintf(p, "%s\x1e%s\x1f", d[i]->name, d[i]->value);
	return key;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_metric_data(struct admin_req *r, void *arg)
{
	(void)arg;
	size_t len, i, n = 0;
	const char *body = admin_req_body(r, &len);
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je), *d;
	char err[512];
	int64_t now = metrics_now();
	struct dimset *ds = NULL;
	char **fresh = NULL;
	size_t nnew = 0, nfresh = 0;

	if (!json_is_object(j)) {
		admin_reply_error(r, 400, "InvalidParameterValue", "body: not a JSON object (%s)", je.text);
		goto out;
	}
	const char *ns = json_string_value(json_object_get(j, "Namespace"));
	const json_t *data = json_object_get(j, "MetricData");
	if (!ns || !valid_name(ns) || strncmp(ns, "AWS/", 4) == 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "Namespace: required, 1 to %d characters, not starting with \"AWS/\"", NAME_MAX_LEN);
		goto out;
	}
	if (!json_is_array(data) || json_array_size(data) == 0 || json_array_size(data) > PUT_MAX_DATA) {
		admin_reply_error(r, 400, "InvalidParameterValue", "MetricData: a list of 1 to %d datapoints",
				  PUT_MAX_DATA);
		goto out;
	}
	n = json_array_size(data);
	ds = calloc(n, sizeof(*ds));
	fresh = calloc(n, sizeof(*fresh));
	if (!ds || !fresh) {
		admin_reply_error(r, 500, "InternalFailure", "out of memory");
		goto out;
	}
	/* everything is checked first: a call is stored whole or not at all */
	json_array_foreach(data, i, d) {
		char why[256];
		if (check_datum(d, i, now, err, sizeof(err)) < 0) {
			admin_reply_error(r, 400, "InvalidParameterValue", "%s", err);
			goto out;
		}
		if (dimset_json(&ds[i], json_object_get(d, "Dimensions"), why, sizeof(why)) < 0) {
			admin_reply_error(r, 400, "InvalidParameterValue", "MetricData[%zu].Dimensions: %s", i, why);
			goto out;
		}
	}
	/* the series it would add (each once: keys sorted), so that the
	 * limit refuses the call whole */
	json_array_foreach(data, i, d) {
		const char *name = json_string_value(json_object_get(d, "MetricName"));
		if (store_find(metrics_store(), ns, name, ds[i].d, ds[i].n))
			continue;
		if (!(fresh[nnew] = series_key(name, &ds[i]))) {
			admin_reply_error(r, 500, "InternalFailure", "out of memory");
			goto out;
		}
		nnew++;
	}
	qsort(fresh, nnew, sizeof(*fresh), key_cmp);
	for (size_t k = 0; k < nnew; k++)
		nfresh += k == 0 || strcmp(fresh[k - 1], fresh[k]) != 0;
	if (!ncustom_known) {
		store_foreach(metrics_store(), 0, count_custom_cb, NULL);
		ncustom_known = 1;
	}
	const struct albd_gen *g = admin_gen();
	unsigned limit = g ? g->cfg->admin.max_custom_series : 10000;
	if (ncustom + nfresh > limit) {
		admin_reply_error(r, 400, "LimitExceeded",
				  "MetricData: this call would make %zu custom series; admin.max_custom_series is %u",
				  ncustom + nfresh, limit);
		goto out;
	}
	ncustom += nfresh;
	json_array_foreach(data, i, d) {
		int64_t t = now;
		json_time(json_object_get(d, "Timestamp"), &t);
		const char *name = json_string_value(json_object_get(d, "MetricName"));
		const char *unit = json_string_value(json_object_get(d, "Unit"));
		struct store_series *s = store_series(metrics_store(), ns, name, ds[i].d, ds[i].n, unit ? unit : "None",
						      STORE_HIST);
		const json_t *v = json_object_get(d, "Value"), *vs = json_object_get(d, "Values");
		const json_t *cs = json_object_get(d, "Counts");
		int rc = 0;
		if (!s)
			rc = -1;
		else if (v)
			rc = store_put(s, t, json_number_value(v));
		else
			for (size_t k = 0; k < json_array_size(vs) && rc == 0; k++)
				rc = store_put_n(s, t, json_number_value(json_array_get(vs, k)),
						 cs ? json_number_value(json_array_get(cs, k)) : 1.0);
		if (rc < 0) {
			admin_reply_error(r, 500, "InternalFailure", "MetricData[%zu]: could not be stored", i);
			goto out;
		}
	}
	admin_reply_json(r, 200, json_object());
out:
	for (size_t k = 0; ds && k < n; k++)
		dimset_free(&ds[k]);
	free(ds);
	for (size_t k = 0; k < nnew; k++)
		free(fresh[k]);
	free(fresh);
	json_decref(j);
}

void api_metrics_init(void)
{
	admin_route("GET", "/api/v1/metrics", 0, list_metrics, NULL);
	admin_route("GET", "/api/v1/metrics/statistics", 0, get_statistics, NULL);
	admin_route("POST", "/api/v1/metrics/query", 0, get_metric_data, NULL);
	admin_route("POST", "/api/v1/metrics/data", 0, put_metric_data, NULL);
}
