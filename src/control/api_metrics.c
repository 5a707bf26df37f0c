/* api_metrics.c - CloudWatch's metric operations over the metric store (see
 * api_metrics.h), and the JSON API's handlers that call them. Every answer is
 * built from store.h; every error names the parameter that caused it.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../core/metrics.h"
#include "../proxy/gen.h"
#include "admin.h"
#include "api_metrics.h"
#include "aws.h"
#include "metric_label.h"
#include "metric_math.h"
#include "metric_query.h"
#include "metrics.h"
#include "store.h"

#define MAX_DIMS 30   /* CloudWatch's dimensions per metric */
#define NAME_MAX_LEN 255
#define DIM_VALUE_MAX_LEN 1024
#define PUT_MAX_DATA 1000        /* datapoints per PutMetricData call */
#define PUT_MAX_BODY 1048576u    /* "Each PutMetricData request is limited to 1 MB in size for HTTP POST
                                  * requests": bytes of body as received (a gzip body's compressed size) */
#define PUT_MAX_VALUES 150       /* Values per datum, as CloudWatch */
#define QUERY_MAX 500            /* MetricDataQueries per call */
#define LIST_PAGE 500            /* ListMetrics page */
#define LIST_MAX_DIMS 10         /* ListMetrics' dimension filters */
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
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > mdays[tm.tm_mon - 1] || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	/* 29 February of a common year (timegm() would make it 1 March) */
	int leap = (tm.tm_year % 4 == 0 && tm.tm_year % 100 != 0) || tm.tm_year % 400 == 0;
	if (tm.tm_mon == 2 && tm.tm_mday == 29 && !leap)
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

/* ------------------------------------------------------------ the call */

static json_t *fail(struct api_metrics_call *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Set C's error; returns NULL for "return fail(...)". */
static json_t *fail(struct api_metrics_call *c, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	c->status = status;
	snprintf(c->code, sizeof(c->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
	return NULL;
}

/* The getters of aws.h, but a typed input (a JSON body, awsJson, CBOR)
 * gives numbers and booleans as such, never as strings: the JSON API has
 * always refused "Value": "1". Same returns as aws_in_*(). */
static int in_int(const struct api_metrics_call *c, const json_t *o, const char *key, long long *out)
{
	const json_t *v = json_object_get(o, key);

	if (v && c->typed && json_is_string(v))
		return -1;
	return aws_in_int(o, key, out);
}

static int in_num(const struct api_metrics_call *c, const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (v && c->typed && json_is_string(v))
		return -1;
	return aws_in_num(o, key, out);
}

static int in_bool(const struct api_metrics_call *c, const json_t *o, const char *key, int *out)
{
	const json_t *v = json_object_get(o, key);

	if (v && c->typed && json_is_string(v))
		return -1;
	return aws_in_bool(o, key, out);
}

/* A string member: 0 absent, 1 with *OUT, -1 present but not a string. */
static int in_str(const json_t *o, const char *key, const char **out)
{
	if (!json_object_get(o, key))
		return 0;
	*out = aws_in_str(o, key);
	return *out ? 1 : -1;
}

/* A list member: 0 absent (*OUT NULL), 1 with *OUT, -1 not a list. */
static int in_list(const json_t *o, const char *key, const json_t **out)
{
	*out = aws_in_list(o, key);
	if (*out)
		return 1;
	return aws_in_list_bad(o, key) ? -1 : 0;
}

/* An element of a list of numbers (Values, Counts): a JSON number, or when
 * not typed a string strtod() reads whole. Returns 0 or -1. */
static int num_of(const struct api_metrics_call *c, const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out) ? 0 : -1;
	}
	if (c->typed || !json_is_string(v) || !*json_string_value(v))
		return -1;
	char *end;
	errno = 0;
	*out = strtod(json_string_value(v), &end);
	return errno || *end || !isfinite(*out) ? -1 : 0;
}

/* ------------------------------------------------------------ dimensions */

struct dimset {
	int any_value;                      /* a filter (ListMetrics): a Name without a Value matches any */
	int put;                            /* PutMetricData's: CloudWatch's Dimension rules (ASCII ...) */
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

/* 1 to MAX characters, none a control character. */
static int printable(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int valid_name(const char *s)
{
	return printable(s, NAME_MAX_LEN);
}

/* CloudWatch's Dimension: a name of 1 to 255 and a value of 1 to 1024
 * characters, ASCII without control characters, at least one that is not
 * a space; a name does not start with ':'. */
static int valid_dim(const char *s, size_t max, int name)
{
	size_t n = strlen(s);
	int seen = 0;
	if (n == 0 || n > max || (name && s[0] == ':'))
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
		seen |= *s != ' ';
	}
	return seen;
}

/* CloudWatch's Namespace: 1 to 255 characters, not starting with ':'. */
static int valid_namespace(const char *s)
{
	return valid_name(s) && s[0] != ':';
}

/* Add NAME=VALUE (copied; VALUE "" in a filter: any value). Returns 0 or
 * -1 with a message. */
static int dimset_add(struct dimset *ds, const char *name, const char *value, char *err, size_t errlen)
{
	if (ds->n >= MAX_DIMS) {
		snprintf(err, errlen, "at most %d dimensions", MAX_DIMS);
		return -1;
	}
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ds->strs[ds->nstrs++] = n;
	ds->strs[ds->nstrs++] = v;
	/* what is put follows CloudWatch's Dimension type; a query only has
	 * to be printable (it finds nothing where nothing was put) */
	int bad = ds->put ? !valid_dim(n, NAME_MAX_LEN, 1) || !valid_dim(v, DIM_VALUE_MAX_LEN, 0)
			  : !valid_name(n) || (!printable(v, DIM_VALUE_MAX_LEN) && !(ds->any_value && !*v));
	if (bad) {
		snprintf(err, errlen,
			 "a dimension name is 1 to %d ASCII characters not starting with ':', a value 1 to %d; "
			 "no control characters, not only spaces", NAME_MAX_LEN, DIM_VALUE_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < ds->n; i++) {
		if (strcmp(ds->d[i].name, n) == 0) {
			snprintf(err, errlen, "dimension %.200s given twice", n);
			return -1;
		}
	}
	ds->d[ds->n].name = n;
	ds->d[ds->n].value = v;
	ds->n++;
	return 0;
}

/* PREFIX NAME "/" HEX, HEX being config_name_hash_hex(NAME): NAME into
 * OUT, or NULL. The ids of a group or load balancer the configuration no
 * longer has (their history is still in the store) read without it. */
static const char *alb_id_name(const char *value, const char *prefix, char *out, size_t outlen)
{
	size_t pl = strlen(prefix);
	const char *slash = strrchr(value, '/');
	char hex[17];

	if (strncmp(value, prefix, pl) != 0 || !slash || slash < value + pl + 1 || strlen(slash + 1) != 16 ||
	    (size_t)(slash - value - pl) >= outlen)
		return NULL;
	memcpy(out, value + pl, (size_t)(slash - value - pl));
	out[slash - value - pl] = 0;
	config_name_hash_hex(out, hex);
	return strcmp(hex, slash + 1) == 0 ? out : NULL;
}

const char *api_metrics_dim_value(const char *ns, const char *dim, const char *value)
{
	const struct albd_gen *g = admin_gen();
	static char name[NAME_MAX_LEN + 1];   /* the control thread's; the caller copies it */
	const char *n;

	if (ns && strcmp(ns, METRICS_NAMESPACE) != 0)
		return value;
	if (strcmp(dim, "LoadBalancer") == 0 && g && g->cfg->elb_id && strcmp(value, g->cfg->elb_id) == 0)
		return metrics_lb_name();
	if (strcmp(dim, "TargetGroup") == 0 && strncmp(value, "targetgroup/", 12) == 0) {
		for (size_t i = 0; g && i < g->cfg->ntarget_groups; i++) {
			const char *arn = g->cfg->target_groups[i].arn, *colon = arn ? strrchr(arn, ':') : NULL;
			if (colon && strcmp(colon + 1, value) == 0)
				return g->cfg->target_groups[i].name;
		}
		if ((n = alb_id_name(value, "targetgroup/", name, sizeof(name))))
			return n;
	}
	if (strcmp(dim, "LoadBalancer") == 0 && (n = alb_id_name(value, "app/", name, sizeof(name))))
		return n;
	return value;
}

/* [{"Name": ..., "Value": ...}, ...] (a filter's Value may be left out) of
 * namespace NS (NULL: any, as a ListMetrics without one). Returns 0 or -1
 * with a message. */
static int dimset_json(struct dimset *ds, const json_t *a, const char *ns, char *err, size_t errlen)
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
		const char *n = aws_in_str(e, "Name"), *v = aws_in_str(e, "Value");
		if (!v && ds->any_value && !json_object_get(e, "Value"))
			v = "";
		if (!n || !v) {
			snprintf(err, errlen, "Dimensions[%zu] needs a string Name and Value", i);
			return -1;
		}
		if (*v)
			v = api_metrics_dim_value(ns, n, v);
		if (dimset_add(ds, n, v, err, errlen) < 0)
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

/* The series (NS, NAME, DS) of UNIT (NULL: one per unit) into OUT
 * (STORE_MAX_UNITS); returns how many. albd has one load balancer: a query
 * on its namespace that leaves LoadBalancer out means this one. */
static size_t resolve(const char *ns, const char *name, struct dimset *ds, const char *unit,
		      struct store_series **out)
{
	struct mquery_env env = api_env();
	return mquery_resolve(&env, ns, name, ds->d, ds->n, unit, out);
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

/* A timestamp of a result: an ISO 8601 string for the JSON API, a marked
 * timestamp for AWS's wire. */
static json_t *time_json(const struct api_metrics_call *c, int64_t t)
{
	char b[32];

	if (c->aws)
		return aws_out_time(t * 1000);
	api_format_time(t, b, sizeof(b));
	return json_string(b);
}

/* CloudWatch's units (StandardUnit). */
static int valid_unit(const char *u)
{
	static const char *const units[] = {
		"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
		"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
		"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
		"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
		"Count/Second", "None",
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(u, units[i]) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ ListMetrics */

struct list_arg {
	const struct api_metrics_call *c;
	const char *ns, *name;
	const struct dimset *filter;
	json_t *out;
	size_t skip, seen, added;
	int more;
	int64_t since;
};

static int list_cb(struct store_series *s, void *arg)
{
	struct list_arg *a = arg;

	if (a->ns && strcmp(store_series_ns(s), a->ns) != 0)
		return 0;
	if (a->name && strcmp(store_series_metric(s), a->name) != 0)
		return 0;
	/* a metric put with several units: listed once */
	if (!store_series_listed(s, a->since))
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

json_t *api_metrics_list(struct api_metrics_call *c, const json_t *in)
{
	struct dimset ds = { .any_value = 1 };
	struct list_arg a = { .c = c, .filter = &ds };
	const json_t *dims;
	const char *ra = NULL, *tok = NULL;
	json_t *res = NULL;
	char err[256];
	/* as CloudWatch: what had a datapoint in the last two weeks */
	int64_t since = metrics_now() - 14 * 86400;

	if (in_str(in, "Namespace", &a.ns) < 0 || (a.ns && !valid_namespace(a.ns)))
		return fail(c, 400, "InvalidParameterValue", "Namespace: 1 to %d characters, not starting with ':'",
			    NAME_MAX_LEN);
	if (in_str(in, "MetricName", &a.name) < 0 || (a.name && !valid_name(a.name)))
		return fail(c, 400, "InvalidParameterValue", "MetricName: 1 to %d characters", NAME_MAX_LEN);
	if (in_list(in, "Dimensions", &dims) < 0 || dimset_json(&ds, dims, a.ns, err, sizeof(err)) < 0) {
		fail(c, 400, "InvalidParameterValue", "Dimensions: %s", in_list(in, "Dimensions", &dims) < 0 ?
		     "a list of {Name, Value}" : err);
		goto out;
	}
	/* ListMetrics' Dimensions: "Array Members: Maximum number of 10 items" */
	if (dims && json_array_size(dims) > LIST_MAX_DIMS) {
		fail(c, 400, "InvalidParameterValue", "Dimensions: at most %d filters, not %zu", LIST_MAX_DIMS,
		     json_array_size(dims));
		goto out;
	}
	if (in_str(in, "RecentlyActive", &ra) != 0) {
		if (!ra || strcmp(ra, "PT3H") != 0) {
			fail(c, 400, "InvalidParameterValue",
			     "RecentlyActive: PT3H. This is the only valid value for this parameter.");
			goto out;
		}
		since = metrics_now() - 3 * 3600;
	}
	if (c->aws) {
		if (aws_page_read(in, "NextToken", &a.skip) < 0) {
			fail(c, 400, "InvalidParameterValue", "NextToken: not a token this API gave");
			goto out;
		}
	} else if (in_str(in, "NextToken", &tok) != 0) {
		char *end;
		errno = 0;
		unsigned long long v = tok ? strtoull(tok, &end, 10) : 0;
		if (!tok || errno || *end || !*tok || !isdigit((unsigned char)*tok)) {
			fail(c, 400, "InvalidParameterValue", "NextToken: not a token this API gave");
			goto out;
		}
		a.skip = (size_t)v;
	}
	a.out = json_array();
	a.since = since;
	store_foreach(metrics_store(), since, list_cb, &a);
	res = json_pack("{s:o}", "Metrics", a.out);
	if (a.more) {
		if (c->aws) {
			json_object_set_new(res, "NextToken", aws_page_token(a.skip + a.added));
		} else {
			char next[32];
			snprintf(next, sizeof(next), "%zu", a.skip + a.added);
			json_object_set_new(res, "NextToken", json_string(next));
		}
	}
out:
	dimset_free(&ds);
	return res;
}

/* The JSON API's query string's dimensions ("dimensions" or "dimension",
 * each "Name=Value,Name2=Value2"; a filter's "Name=" is any value) as a
 * Dimensions list. */
struct dim_collect {
	json_t *list;
	int filter;
	int failed;
};

static void dims_param_cb(const char *name, const char *value, void *arg)
{
	struct dim_collect *c = arg;

	if (c->failed || (strcmp(name, "dimensions") != 0 && strcmp(name, "dimension") != 0))
		return;
	for (const char *s = value; *s;) {
		const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (!eq) {
			c->failed = 1;
			return;
		}
		json_t *d = json_object();
		json_object_set_new(d, "Name", json_stringn(s, (size_t)(eq - s)));
		if (!c->filter || eq + 1 < end)
			json_object_set_new(d, "Value", json_stringn(eq + 1, (size_t)(end - eq - 1)));
		json_array_append_new(c->list, d);
		s = comma ? comma + 1 : end;
	}
}

static int dims_from_query(struct admin_req *r, json_t *in, int filter)
{
	struct dim_collect c = { json_array(), filter, 0 };

	admin_req_query_each(r, dims_param_cb, &c);
	if (c.failed) {
		json_decref(c.list);
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "dimensions: expected Name=Value pairs separated by commas");
		return -1;
	}
	json_object_set_new(in, "Dimensions", c.list);
	return 0;
}

/* Set KEY of IN to the query parameter NAME (or ALT), when given. */
static void param(struct admin_req *r, json_t *in, const char *key, const char *name, const char *alt)
{
	const char *v = admin_req_query(r, name);

	if (!v && alt)
		v = admin_req_query(r, alt);
	if (v)
		json_object_set_new(in, key, json_string(v));
}

/* Answer R with operation FN's result on IN (consumed), or its error. */
static void reply(struct admin_req *r, json_t *(*fn)(struct api_metrics_call *, const json_t *), json_t *in,
		  int typed, size_t body_len)
{
	struct api_metrics_call c = { .typed = typed, .body_len = body_len };
	json_t *res = fn(&c, in);

	if (res)
		admin_reply_json(r, 200, res);
	else
		admin_reply_error(r, c.status, c.code, "%s", c.message);
	json_decref(in);
}

/* The query parameters GET /api/v1/metrics takes. */
static const char *const list_params[] = { "namespace", "name", "metric_name", "dimensions", "dimension",
					   "recently_active", "RecentlyActive", "next_token", NULL };

struct unknown_params {
	char names[256];   /* "a, b": the unknown ones, cut at the end */
	size_t n;
};

static void unknown_param_cb(const char *name, const char *value, void *arg)
{
	struct unknown_params *u = arg;
	size_t len = strlen(u->names);

	(void)value;
	for (size_t i = 0; list_params[i]; i++)
		if (strcmp(name, list_params[i]) == 0)
			return;
	if (u->n++ < 8 && len + 1 < sizeof(u->names))
		snprintf(u->names + len, sizeof(u->names) - len, "%s%s", len ? ", " : "", name);
}

/* GET /api/v1/metrics?namespace=&name=&dimensions=&recently_active=PT3H
 * &next_token= (a parameter it does not know is refused: a misspelt
 * filter would list every metric) */
static void list_metrics(struct admin_req *r, void *arg)
{
	(void)arg;
	struct unknown_params u = { "", 0 };

	admin_req_query_each(r, unknown_param_cb, &u);
	if (u.n) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "unknown query parameter%s: %s%s (ListMetrics takes namespace, name, dimensions, "
				  "recently_active and next_token)",
				  u.n > 1 ? "s" : "", u.names, u.n > 8 ? ", ..." : "");
		return;
	}

	json_t *in = json_object();

	param(r, in, "Namespace", "namespace", NULL);
	param(r, in, "MetricName", "name", "metric_name");
	param(r, in, "RecentlyActive", "recently_active", "RecentlyActive");
	param(r, in, "NextToken", "next_token", NULL);
	if (dims_from_query(r, in, 1) < 0) {
		json_decref(in);
		return;
	}
	reply(r, api_metrics_list, in, 0, 0);
}

/* ------------------------------------------------------------ statistics */

#define STATS_MAX 32
#define AWS_MAX_STATISTICS 5
#define AWS_MAX_EXTENDED 10
#define AWS_MAX_DATAPOINTS 1440 /* GetMetricStatistics' limit */

/* A period CloudWatch takes: "1, 5, 10, 20, 30, 60, or any multiple of
 * 60" (at most 455 days). */
static int period_legal(long long p)
{
	return p == 1 || p == 5 || p == 10 || p == 20 || p == 30 || (p >= 60 && p % 60 == 0 && p <= 86400 * 455LL);
}

#define PERIOD_TEXT "1, 5, 10, 20, 30 or a multiple of 60 seconds"

static int is_percentile(const char *s)
{
	return s[0] == 'p' || s[0] == 'P';
}

/* The statistics of lists Statistics and ExtendedStatistics into STAT.
 * Returns the number, or -1 after fail(). */
static int read_stats(struct api_metrics_call *c, const json_t *in, const char **stat)
{
	const json_t *l[2];
	size_t n = 0;

	for (int k = 0; k < 2; k++) {
		const char *key = k ? "ExtendedStatistics" : "Statistics";
		size_t i;
		json_t *e;
		if (in_list(in, key, &l[k]) < 0) {
			fail(c, 400, "InvalidParameterValue", "%s: a list of statistics", key);
			return -1;
		}
		if (c->aws && json_array_size(l[k]) > (k ? AWS_MAX_EXTENDED : AWS_MAX_STATISTICS)) {
			fail(c, 400, "InvalidParameterValue", "%s: at most %d", key,
			     k ? AWS_MAX_EXTENDED : AWS_MAX_STATISTICS);
			return -1;
		}
		json_array_foreach(l[k], i, e) {
			const char *s = json_string_value(e);
			/* AWS's Statistics are the five; ExtendedStatistics percentiles */
			if (!s || !store_stat_valid(s) || (c->aws && !!is_percentile(s) != k)) {
				fail(c, 400, "InvalidParameterValue", "%s: \"%s\" is not one of the statistics %s", key,
				     s ? s : "", k ? "p0.0 to p100" : c->aws ? "SampleCount, Sum, Average, Minimum, "
				     "Maximum" : "SampleCount, Sum, Average, Minimum, Maximum or pNN");
				return -1;
			}
			if (n == STATS_MAX) {
				fail(c, 400, "InvalidParameterValue", "%s: at most %d statistics", key, STATS_MAX);
				return -1;
			}
			stat[n++] = s;
		}
	}
	if (n == 0) {
		fail(c, 400, "InvalidParameterCombination",
		     "At least one of the parameters Statistics and ExtendedStatistics must be specified.");
		return -1;
	}
	return (int)n;
}

/* StartTime and EndTime of IN. Returns 0, or -1 after fail(). */
static int read_range(struct api_metrics_call *c, const json_t *in, int64_t *start, int64_t *end)
{
	int rs = aws_in_time(in, "StartTime", start), re = aws_in_time(in, "EndTime", end);

	if (rs == 0 || re == 0) {
		fail(c, 400, "MissingParameter", "The parameter %s is required.", rs == 0 ? "StartTime" : "EndTime");
		return -1;
	}
	if (rs < 0 || re < 0) {
		const char *key = rs < 0 ? "StartTime" : "EndTime";
		const char *s = aws_in_str(in, key);
		fail(c, 400, "InvalidParameterValue",
		     "%s: \"%s\" is not a time for the %s: ISO 8601 (2026-11-29T10:15:00Z) or epoch seconds", key,
		     s ? s : "", rs < 0 ? "start" : "end");
		return -1;
	}
	if (*end <= *start) {
		fail(c, 400, "InvalidParameterValue",
		     "The parameter StartTime must be less than the parameter EndTime (end must be later than start).");
		return -1;
	}
	return 0;
}

/* The Datapoint of P (of unit UNIT) with the NSTAT statistics STAT. */
static json_t *datapoint_json(const struct api_metrics_call *c, const struct store_point *p, const char *unit,
			      const char *const *stat, int nstat)
{
	json_t *dp = json_pack("{s:o}", "Timestamp", time_json(c, p->t)), *ext = NULL;
	double v;

	if (c->aws) {
		/* AWS's members, in its order */
		static const char *const five[] = { "SampleCount", "Average", "Sum", "Minimum", "Maximum" };
		for (size_t f = 0; f < 5; f++)
			for (int k = 0; k < nstat; k++)
				if (strcmp(stat[k], five[f]) == 0 && store_stat(p, five[f], &v) == 0 && isfinite(v))
					json_object_set_new(dp, five[f], json_real(v));
	}
	for (int k = 0; k < nstat; k++) {
		if (store_stat(p, stat[k], &v) < 0 || !isfinite(v))
			continue;
		if (is_percentile(stat[k])) {
			if (!ext)
				ext = json_object();
			json_object_set_new(ext, stat[k], json_real(v));
		}
		if (!c->aws)
			json_object_set_new(dp, stat[k], json_real(v));
	}
	json_object_set_new(dp, "Unit", json_string(unit));
	if (ext)
		json_object_set_new(dp, "ExtendedStatistics", c->aws ? aws_out_map(ext) : ext);
	return dp;
}

json_t *api_metrics_statistics(struct api_metrics_call *c, const json_t *in)
{
	const char *ns = NULL, *name = NULL, *unit = NULL, *stat[STATS_MAX];
	const json_t *dims;
	struct dimset ds = { .n = 0 };
	int64_t start, end;
	long long period;
	char err[256];
	struct store_result res[STORE_MAX_UNITS] = { 0 };
	json_t *out = NULL;
	int nstat, rc;

	if (in_str(in, "Namespace", &ns) == 0)
		return fail(c, 400, "MissingParameter", "The parameter Namespace is required.");
	if (!ns || !valid_namespace(ns))
		return fail(c, 400, "InvalidParameterValue", "Namespace: 1 to %d characters, not starting with ':'",
			    NAME_MAX_LEN);
	if (in_str(in, "MetricName", &name) == 0)
		return fail(c, 400, "MissingParameter", "The parameter MetricName is required.");
	if (!name || !valid_name(name))
		return fail(c, 400, "InvalidParameterValue", "MetricName: 1 to %d characters", NAME_MAX_LEN);
	if (in_list(in, "Dimensions", &dims) < 0)
		return fail(c, 400, "InvalidParameterValue", "Dimensions: a list of {Name, Value}");
	if (dimset_json(&ds, dims, ns, err, sizeof(err)) < 0) {
		fail(c, 400, "InvalidParameterValue", "Dimensions: %s", err);
		goto out;
	}
	if (read_range(c, in, &start, &end) < 0)
		goto out;
	if ((rc = in_int(c, in, "Period", &period)) == 0) {
		fail(c, 400, "MissingParameter", "The parameter Period is required.");
		goto out;
	}
	if (rc < 0 || !period_legal(period)) {
		const char *s = aws_in_str(in, "Period");
		fail(c, 400, "InvalidParameterValue", "%s: \"%s\" is not a period: " PERIOD_TEXT,
		     c->aws ? "Period" : "period", s ? s : "");
		goto out;
	}
	if ((nstat = read_stats(c, in, stat)) < 0)
		goto out;
	if (in_str(in, "Unit", &unit) < 0 || (unit && !valid_unit(unit))) {
		fail(c, 400, "InvalidParameterValue", "Unit: one of CloudWatch's units (Seconds, Count, ...)");
		goto out;
	}
	/* the periods counted from where the store begins the first one
	 * (StartTime rounded as CloudWatch rounds it), not from StartTime
	 * rounded down to the period */
	int64_t origin = store_query_origin(metrics_store(), start, (unsigned)period, metrics_now());
	long long want = (long long)((end - origin + period - 1) / period);
	if (c->aws && want > AWS_MAX_DATAPOINTS) {
		fail(c, 400, "InvalidParameterCombination",
		     "You have requested up to %lld datapoints, which exceeds the limit of %d.", want,
		     AWS_MAX_DATAPOINTS);
		goto out;
	}
	/* CloudWatch answers a metric it never had with no datapoints; the
	 * JSON API tells a typo apart with a 404 */
	if (!c->aws && !metric_known(ns, name)) {
		fail(c, 404, "ResourceNotFound", "MetricName: no metric %s in namespace %s", name, ns);
		goto out;
	}
	/* one series per unit the metric was put with (the Unit asked for:
	 * that one only; none, as CloudWatch, when it has no such data) */
	struct store_series *s[STORE_MAX_UNITS];
	size_t nser = resolve(ns, name, &ds, unit, s);
	for (size_t k = 0; k < nser; k++) {
		if (store_query(metrics_store(), s[k], start, end, (unsigned)period, metrics_now(), &res[k], err,
				sizeof(err)) < 0) {
			fail(c, 400, "InvalidParameterCombination", "%s", err);
			goto out;
		}
		if (metric_counts_events_named(ns, name))
			store_result_events(&res[k]);
	}
	/* ascending by time; a period with data in two units: a datapoint of
	 * each, with its Unit */
	json_t *dps = json_array();
	size_t at[STORE_MAX_UNITS] = { 0 };
	for (;;) {
		size_t k = nser;
		for (size_t u = 0; u < nser; u++)
			if (at[u] < res[u].n && (k == nser || res[u].p[at[u]].t < res[k].p[at[k]].t))
				k = u;
		if (k == nser)
			break;
		json_array_append_new(dps, datapoint_json(c, &res[k].p[at[k]++], store_series_unit(s[k]), stat, nstat));
	}
	out = json_pack("{s:s, s:o}", "Label", name, "Datapoints", dps);
out:
	for (size_t k = 0; k < STORE_MAX_UNITS; k++)
		store_result_free(&res[k]);
	dimset_free(&ds);
	return out;
}

/* GET /api/v1/metrics/statistics?namespace=&name=&dimensions=&start=&end=
 * &period=&statistics=&extended_statistics=&unit= (defaults: albd's namespace,
 * the last hour, 60 s, the five statistics) */
static void get_statistics(struct admin_req *r, void *arg)
{
	(void)arg;
	json_t *in = json_object();
	const char *end_s = admin_req_query(r, "end");
	int64_t end = metrics_now();
	char b[32];

	json_object_set_new(in, "Namespace", json_string(METRICS_NAMESPACE));
	param(r, in, "Namespace", "namespace", NULL);
	param(r, in, "MetricName", "name", "metric_name");
	if (!json_object_get(in, "MetricName")) {
		json_decref(in);
		admin_reply_error(r, 400, "MissingParameter", "name: the metric's name is required");
		return;
	}
	if (dims_from_query(r, in, 0) < 0) {
		json_decref(in);
		return;
	}
	snprintf(b, sizeof(b), "%lld", (long long)end);
	json_object_set_new(in, "EndTime", json_string(end_s ? end_s : b));
	if (end_s && api_parse_time(end_s, &end) < 0)
		end = metrics_now();
	snprintf(b, sizeof(b), "%lld", (long long)(end - 3600));
	json_object_set_new(in, "StartTime", json_string(b));
	param(r, in, "StartTime", "start", NULL);
	json_object_set_new(in, "Period", json_string("60"));
	param(r, in, "Period", "period", NULL);
	param(r, in, "Unit", "unit", NULL);
	/* "statistics" may name percentiles too; "extended_statistics" adds to it */
	for (int k = 0; k < 2; k++) {
		const char *v = admin_req_query(r, k ? "extended_statistics" : "statistics");
		json_t *l = json_array();
		if (!k && (!v || !*v))
			v = "SampleCount,Sum,Average,Minimum,Maximum";
		for (const char *s = v ? v : ""; *s;) {
			const char *comma = strchr(s, ','), *e = comma ? comma : s + strlen(s);
			if (e > s)
				json_array_append_new(l, json_stringn(s, (size_t)(e - s)));
			s = comma ? comma + 1 : e;
		}
		json_object_set_new(in, k ? "ExtendedStatistics" : "Statistics", l);
	}
	reply(r, api_metrics_statistics, in, 0, 0);
}

/* ------------------------------------------------------------ GetMetricData */

#define AWS_MAX_DATAPOINTS_CALL 100800 /* GetMetricData's MaxDatapoints default */

struct mq {
	struct mquery q;         /* what metric_query.c evaluates */
	const char *label;
	int return_data;
	struct dimset ds;        /* q.dims points into it */
};

/* Read query I of MetricDataQueries into MQ. Returns 0, or -1 after fail(). */
static int parse_mq(struct api_metrics_call *c, const json_t *j, size_t i, struct mq *mq)
{
	struct mquery *q = &mq->q;
	const json_t *ms = aws_in_obj(j, "MetricStat");
	long long per;
	int rc;

	if (!json_is_object(j) || in_str(j, "Id", &q->id) < 0 || !mquery_valid_id(q->id)) {
		fail(c, 400, "ValidationError",
		     "MetricDataQueries[%zu].Id: required, a lower-case letter then letters, digits or _", i);
		return -1;
	}
	if (in_str(j, "Label", &mq->label) < 0 || in_str(j, "Expression", &q->expr) < 0) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu] (%s): Label and Expression are strings", i,
		     q->id);
		return -1;
	}
	mq->return_data = 1;
	if (in_bool(c, j, "ReturnData", &mq->return_data) < 0) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu].ReturnData: true or false", i);
		return -1;
	}
	if (!!q->expr == !!ms || (!ms && json_object_get(j, "MetricStat"))) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu] (%s): exactly one of MetricStat and Expression",
		     i, q->id);
		return -1;
	}
	if ((rc = in_int(c, j, "Period", &per)) != 0) {
		if (rc < 0 || !period_legal(per)) {
			fail(c, 400, "InvalidParameterValue", "MetricDataQueries[%zu].Period: %s" PERIOD_TEXT, i,
			     rc < 0 ? "" : "not a period: ");
			return -1;
		}
		q->period = (unsigned)per;
	}
	if (q->expr) {
		char why[256];
		if (!(q->e = mm_parse(q->expr, why, sizeof(why)))) {
			fail(c, 400, "ValidationError", "MetricDataQueries[%zu].Expression: %s", i, why);
			return -1;
		}
		return 0;
	}
	const json_t *m = aws_in_obj(ms, "Metric"), *dims;
	if (in_str(m, "Namespace", &q->ns) < 0 || in_str(m, "MetricName", &q->name) < 0 ||
	    in_str(ms, "Stat", &q->stat) < 0) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu].MetricStat: Namespace, MetricName and Stat are "
		     "strings", i);
		return -1;
	}
	if (!q->ns)
		q->ns = METRICS_NAMESPACE;
	if (!q->name || !*q->name) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu].MetricStat.Metric.MetricName: required", i);
		return -1;
	}
	if (!q->stat || !store_stat_valid(q->stat)) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu].MetricStat.Stat: \"%s\" is not one of "
		     "SampleCount, Sum, Average, Minimum, Maximum or pNN (p0 to p100)", i, q->stat ? q->stat : "");
		return -1;
	}
	if ((rc = in_int(c, ms, "Period", &per)) <= 0 || !period_legal(per)) {
		fail(c, 400, rc == 0 ? "ValidationError" : "InvalidParameterValue",
		     "MetricDataQueries[%zu].MetricStat.Period: %s" PERIOD_TEXT, i, rc == 0 ? "required, " : "");
		return -1;
	}
	q->period = (unsigned)per;
	char why[256];
	if (in_list(m, "Dimensions", &dims) < 0 || dimset_json(&mq->ds, dims, q->ns, why, sizeof(why)) < 0) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu].MetricStat.Metric.Dimensions: %s", i,
		     in_list(m, "Dimensions", &dims) < 0 ? "a list of {Name, Value}" : why);
		return -1;
	}
	q->dims = mq->ds.d;
	q->ndims = mq->ds.n;
	const char *unit = NULL;
	if (in_str(ms, "Unit", &unit) < 0 || (unit && !valid_unit(unit))) {
		fail(c, 400, "ValidationError", "MetricDataQueries[%zu].MetricStat.Unit: one of CloudWatch's units", i);
		return -1;
	}
	q->unit = unit; /* that unit's data only (none when the metric has none); NULL: all of it */
	return 0;
}

/* Where a page of GetMetricData begins: the datapoint of timestamp T of
 * the QI-th query (in scan order), or the start (HAS 0). A token names the
 * datapoint, not how many came before it, so that datapoints arriving
 * between two pages (a range that ends in the future) neither repeat nor
 * go missing. */
struct page_pos {
	int has;
	size_t qi;
	int64_t t;
};

#define MD_TOKEN_PREFIX "albd-md-"

static int md_token_read(const json_t *in, struct page_pos *pos)
{
	const char *s = aws_in_str(in, "NextToken");
	unsigned long long qi;
	long long t;
	int k = 0;

	if (!json_object_get(in, "NextToken"))
		return 0;
	if (!s || sscanf(s, MD_TOKEN_PREFIX "%llu-%lld%n", &qi, &t, &k) != 2 || s[k] || qi >= QUERY_MAX || t < 0 ||
	    strncmp(s, MD_TOKEN_PREFIX, strlen(MD_TOKEN_PREFIX)) != 0 || !isdigit((unsigned char)s[strlen(MD_TOKEN_PREFIX)]))
		return -1;
	*pos = (struct page_pos){ 1, (size_t)qi, t };
	return 1;
}

/* The MetricDataResult of series S with ID and LABEL: its datapoints in
 * scan order. A MetricStat's (PAGED, the QI-th query) are those from FROM
 * on, at most MAX - *TAKEN of them (*TAKEN counts those taken; *NEXT is
 * set at the first one left for the next page). An expression's are all
 * of them, whatever MaxDatapoints says, on the first page (none after):
 * CloudWatch's MetricDataResult: "NextToken is not returned if you are
 * performing a math expression", so its result is never split. */
static json_t *series_json(const struct api_metrics_call *c, const char *id, const char *label,
			   const struct mm_series *s, int paged, size_t qi, int descending, const struct page_pos *from,
			   size_t max, size_t *taken, struct page_pos *next)
{
	json_t *ts = json_array(), *vs = json_array();
	int cut = 0;   /* datapoints left for the next page (NextToken): PartialData, as CloudWatch */

	for (size_t k = 0; s && k < s->n && (paged || !from->has); k++) {
		size_t i = descending ? s->n - 1 - k : k;
		int64_t t = s->t[i];
		if (!isfinite(s->v[i]))
			continue;
		if (paged && from->has && (qi < from->qi || (qi == from->qi && (descending ? t > from->t : t < from->t))))
			continue;
		if (paged && *taken >= max) {
			if (!next->has)
				*next = (struct page_pos){ 1, qi, t };
			cut = 1;
			break;
		}
		if (paged)
			(*taken)++;
		json_array_append_new(ts, time_json(c, t));
		json_array_append_new(vs, json_real(s->v[i]));
	}
	return json_pack("{s:s, s:s, s:o, s:o, s:s}", "Id", id, "Label", label, "Timestamps", ts, "Values", vs,
			 "StatusCode", cut ? "PartialData" : "Complete");
}

/* LABEL of a result of query Q (of PERIOD) with its dynamic values
 * (metric_label.h): ${LABEL} is DEF, the values of the data are those of
 * S (NULL: none known). A new string, or NULL: LABEL has nothing to
 * expand (or no memory), answer it as it is. */
static char *label_of(const char *label, const struct mquery *q, unsigned period, const char *def,
		      const struct mm_series *s)
{
	if (!mlabel_dynamic(label))
		return NULL;
	const struct albd_gen *g = admin_gen();
	struct mlabel_ctx x = {
		.period = period,
		.region = g && g->cfg->region ? g->cfg->region : "local",
		.account_id = g && g->cfg->account_id ? g->cfg->account_id : "000000000000",
		.deflabel = def,
		.t = s ? s->t : NULL,
		.v = s ? s->v : NULL,
		.n = s ? s->n : 0,
	};
	if (!q->expr) {
		x.ns = q->ns;
		x.name = q->name;
		x.stat = q->stat;
		x.dims = q->dims;
		x.ndims = q->ndims;
	}
	return mlabel_expand(label, &x);
}

/* The results of MQ, the QI-th query, into RESULTS (series_json()): one,
 * or one per series of an array-valued expression, all with its Id, each
 * labelled as the console's legend does it, "Expression-Label
 * Metric-Label": the element's label (that of the query it came from),
 * after the expression's Label when it has one; an element that is not one
 * query's has the expression's Label, or its Id. A Label's dynamic values
 * are expanded (label_of()); one with ${LABEL} is each element's whole
 * label, ${LABEL} being the element's, instead of coming before it.
 * PERIOD: the call's (an expression without one of its own has it). */
static int results_json(const struct api_metrics_call *c, json_t *results, const struct mq *mq, size_t qi,
			unsigned period, int descending, const struct page_pos *from, size_t max, size_t *taken,
			struct page_pos *next)
{
	const struct mquery *q = &mq->q;
	const char *def = q->expr ? q->id : q->name, *own = mq->label ? mq->label : def;
	unsigned per = q->period ? q->period : period;

	if (!q->arr.array) {
		char *dyn = label_of(mq->label, q, per, def, &q->ser);
		int rc = json_array_append_new(results, series_json(c, q->id, dyn ? dyn : own, &q->ser, !q->expr, qi,
								    descending, from, max, taken, next));
		free(dyn);
		return rc;
	}
	int whole = mq->label && strstr(mq->label, "${LABEL}") != NULL;
	for (size_t k = 0; k < q->arr.n; k++) {
		const char *el = q->arr.label ? q->arr.label[k] : NULL, *lab = el ? el : own;
		char *both = NULL, *dyn = label_of(mq->label, q, per, el ? el : def, &q->arr.ser[k]);
		if (mq->label && (whole || !el))
			lab = dyn ? dyn : mq->label;
		else if (el && mq->label && asprintf(&both, "%s %s", dyn ? dyn : mq->label, el) >= 0)
			lab = both;
		else
			both = NULL;
		json_t *r = series_json(c, q->id, lab, &q->arr.ser[k], 0, qi, descending, from, max, taken, next);
		free(both);
		free(dyn);
		if (json_array_append_new(results, r) < 0)
			return -1;
	}
	return 0;
}

/* The results of a call of MetricStats only (no expression), into
 * RESULTS, a query at a time: each is evaluated when the page reaches it
 * and freed before the next, so that a call holds one query's datapoints
 * whatever its total, and pages past MaxDatapoints (CloudWatch's default
 * 100,800) instead of refusing. A query after the page's end is not
 * evaluated: PartialData when its metric has a series, Complete (no data)
 * when not. With ENV->strict, every query's metric must exist (-2, as
 * mquery_eval()). Returns 0, or -1/-2 with ERR. */
static int stats_paged(const struct api_metrics_call *c, const struct mquery_env *env, const struct mq *mqs, size_t n,
		       int64_t start, int64_t end, int descending, const struct page_pos *from, size_t max,
		       struct page_pos *next, json_t *results, char *err, size_t errlen)
{
	struct mquery_env e = *env;
	size_t taken = 0;

	if (env->strict) {
		const char *kns = NULL, *kname = NULL;
		for (size_t i = 0; i < n; i++) {
			const struct mquery *q = &mqs[i].q;
			if (kns && strcmp(kns, q->ns) == 0 && strcmp(kname, q->name) == 0)
				continue;
			if (!mquery_metric_known(env, q->ns, q->name)) {
				snprintf(err, errlen, "%s: no metric %s in namespace %s", q->id, q->name, q->ns);
				return -2;
			}
			kns = q->ns;
			kname = q->name;
		}
		e.strict = 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mquery *q = &mqs[i].q;
		const char *label = mqs[i].label ? mqs[i].label : q->name;
		char *dyn;
		if (!mqs[i].return_data)
			continue;
		if ((from->has && i < from->qi) || next->has) {
			/* on an earlier page, or left for a later one: not
			 * evaluated, so a Label's values of the data stay */
			struct store_series *ser[STORE_MAX_UNITS];
			int later = next->has && mquery_resolve(&e, q->ns, q->name, q->dims, q->ndims, q->unit, ser) > 0;
			dyn = label_of(mqs[i].label, q, q->period, q->name, NULL);
			json_array_append_new(results, json_pack("{s:s, s:s, s:[], s:[], s:s}", "Id", q->id, "Label",
								 dyn ? dyn : label, "Timestamps", "Values", "StatusCode",
								 later ? "PartialData" : "Complete"));
			free(dyn);
			continue;
		}
		struct mquery one = *q;
		one.label = mqs[i].label;
		if (mquery_eval(&e, &one, 1, start, end, q->period, err, errlen) < 0) {
			mquery_clear(&one);
			return -1;
		}
		dyn = label_of(mqs[i].label, q, q->period, q->name, &one.ser);
		json_array_append_new(results, series_json(c, q->id, dyn ? dyn : label, &one.ser, 1, i, descending, from,
							   max, &taken, next));
		free(dyn);
		mquery_clear(&one);
	}
	return 0;
}

json_t *api_metrics_data(struct api_metrics_call *c, const json_t *in)
{
	struct mq *mqs = NULL;
	struct mquery *qs_eval = NULL;
	size_t n = 0;
	struct page_pos from = { 0 }, next = { 0 };
	int64_t start, end;
	unsigned period = 0;
	int exprs = 0;
	long long maxdp = AWS_MAX_DATAPOINTS_CALL;
	const char *scan = NULL;
	const json_t *qs;
	json_t *out = NULL;
	char err[512];
	int rc;

	if ((rc = in_list(in, "MetricDataQueries", &qs)) == 0 && c->aws)
		return fail(c, 400, "MissingParameter", "The parameter MetricDataQueries is required.");
	if (rc <= 0 || json_array_size(qs) == 0 || json_array_size(qs) > QUERY_MAX)
		return fail(c, 400, "InvalidParameterValue", "MetricDataQueries: a list of 1 to %d queries", QUERY_MAX);
	if (read_range(c, in, &start, &end) < 0)
		return NULL;
	if (in_str(in, "ScanBy", &scan) < 0 ||
	    (scan && strcmp(scan, "TimestampDescending") != 0 && strcmp(scan, "TimestampAscending") != 0))
		return fail(c, 400, "InvalidParameterValue",
			    "ScanBy: TimestampDescending (the default) or TimestampAscending");
	if ((rc = in_int(c, in, "MaxDatapoints", &maxdp)) < 0 || (rc && maxdp < 1))
		return fail(c, 400, "InvalidParameterValue", "MaxDatapoints: a number, 1 or more");
	if (md_token_read(in, &from) < 0)
		return fail(c, 400, "InvalidNextToken", "NextToken: not a token this API gave");
	n = json_array_size(qs);
	mqs = calloc(n, sizeof(*mqs));
	qs_eval = calloc(n, sizeof(*qs_eval));
	if (!mqs || !qs_eval) {
		fail(c, 500, "InternalServiceError", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_mq(c, json_array_get(qs, i), i, &mqs[i]) < 0)
			goto out;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(mqs[k].q.id, mqs[i].q.id) == 0) {
				fail(c, 400, "ValidationError", "MetricDataQueries[%zu].Id: %s is used twice", i,
				     mqs[i].q.id);
				goto out;
			}
		}
		if (!mqs[i].q.expr && !period)
			period = mqs[i].q.period;
		exprs |= mqs[i].q.expr != NULL;
	}
	if (!period)
		period = 60;
	/* evaluated as an array of struct mquery (metric_query.c), copied
	 * back for the answer */
	for (size_t i = 0; i < n; i++) {
		qs_eval[i] = mqs[i].q;
		qs_eval[i].label = mqs[i].label; /* an array's elements are labelled with it */
	}
	struct mquery_env env = api_env();
	json_t *results = json_array();
	int desc = !scan || strcmp(scan, "TimestampDescending") == 0;

	env.strict = !c->aws; /* as above: CloudWatch has no error for a metric without data */
	if (!exprs) {
		/* MetricStats only: a query at a time, paged */
		rc = stats_paged(c, &env, mqs, n, start, end, desc, &from, (size_t)maxdp, &next, results, err,
				 sizeof(err));
		goto answer;
	}
	/* expressions read the other queries' whole series: everything is
	 * evaluated at once, within mquery_eval()'s 100,800 datapoints */
	rc = mquery_eval(&env, qs_eval, n, start, end, period, err, sizeof(err));
	for (size_t i = 0; i < n; i++)
		mqs[i].q = qs_eval[i];
	size_t taken = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (mqs[i].return_data)
			results_json(c, results, &mqs[i], i, period, desc, &from, (size_t)maxdp, &taken, &next);
answer:
	if (rc < 0) {
		json_decref(results);
		fail(c, rc == -2 ? 404 : 400, rc == -2 ? "ResourceNotFound" : "ValidationError", "%s", err);
		goto out;
	}
	out = json_pack("{s:o}", "MetricDataResults", results);
	if (next.has) {
		char tok[64];
		snprintf(tok, sizeof(tok), MD_TOKEN_PREFIX "%zu-%lld", next.qi, (long long)next.t);
		json_object_set_new(out, "NextToken", json_string(tok));
	}
	json_object_set_new(out, "Messages", json_array());
out:
	for (size_t i = 0; mqs && i < n; i++) {
		mquery_clear(&mqs[i].q);
		mm_free(mqs[i].q.e);
		dimset_free(&mqs[i].ds);
	}
	free(mqs);
	free(qs_eval);
	return out;
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

/* CloudWatch's range: 8.515920e-109 to 1.174271e+108, or 0 */
/* CloudWatch: "Values must be in the range of -2^360 to 2^360"; a value
 * of a smaller magnitude than 2^-360 other than 0 is refused too. */
static int in_range(double v)
{
	return isfinite(v) && fabs(v) <= ldexp(1, 360) && (v == 0 || fabs(v) >= ldexp(1, -360));
}

#define RANGE_TEXT "a number from -2^360 to 2^360 (0, or of a magnitude 2^-360 or more)"

/* One MetricDatum, checked. */
struct datum {
	const char *name, *unit;
	int64_t t;
	double value;             /* Value */
	const json_t *values;     /* Values, NULL: none */
	const json_t *counts;     /* Counts, NULL: all 1 */
	int has_sv;               /* StatisticValues: */
	double sv_n, sv_sum, sv_min, sv_max;
	struct dimset ds;
};

/* Read and check datum I of MetricData (of namespace NS) into D before anything is stored (a
 * call is all or nothing). Returns 0, or -1 after fail(). */
static int read_datum(struct api_metrics_call *c, const json_t *j, const char *ns, size_t i, int64_t now,
		      struct datum *d)
{
	const json_t *sv = aws_in_obj(j, "StatisticValues"), *dims;
	int hv, hvs, rc;
	long long sr;
	size_t k;
	json_t *e;
	double x;
	char why[256];

	if (!json_is_object(j))
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu]: not a structure", i), -1);
	if ((rc = in_str(j, "MetricName", &d->name)) == 0)
		return (fail(c, 400, "MissingParameter", "The parameter MetricData[%zu].MetricName is required.", i), -1);
	if (rc < 0 || !valid_name(d->name))
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].MetricName: 1 to %d characters", i,
			     NAME_MAX_LEN), -1);
	if ((hv = in_num(c, j, "Value", &d->value)) < 0 || (hv && !in_range(d->value)))
		return (fail(c, 400, "InvalidParameterValue",
			     "MetricData[%zu].Value: " RANGE_TEXT, i), -1);
	if ((hvs = in_list(j, "Values", &d->values)) < 0)
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Values: a list of numbers", i), -1);
	if (json_object_get(j, "StatisticValues") && !sv)
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].StatisticValues: a structure", i), -1);
	if (hv + !!hvs + !!sv > 1)
		return (fail(c, 400, "InvalidParameterCombination",
			     "MetricData[%zu]: Value, Values and StatisticValues are mutually exclusive and you have "
			     "specified more than one", i), -1);
	if (hv + !!hvs + !!sv == 0)
		return (fail(c, 400, "MissingParameter",
			     "MetricData[%zu]: one of Value, Values and StatisticValues is required", i), -1);
	if (hvs && (json_array_size(d->values) == 0 || json_array_size(d->values) > PUT_MAX_VALUES))
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Values: a list of 1 to %d numbers", i,
			     PUT_MAX_VALUES), -1);
	json_array_foreach(d->values, k, e) {
		if (num_of(c, e, &x) < 0 || !in_range(x))
			return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Values[%zu]: " RANGE_TEXT, i,
				     k), -1);
	}
	if ((rc = in_list(j, "Counts", &d->counts)) < 0)
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Counts: a list of numbers", i), -1);
	if (rc && !hvs)
		return (fail(c, 400, "InvalidParameterCombination", "MetricData[%zu].Counts: only with Values", i), -1);
	if (rc && json_array_size(d->counts) != json_array_size(d->values))
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Counts: as many as Values", i), -1);
	json_array_foreach(d->counts, k, e) {
		/* bounded, so that no second's histogram count can wrap */
		if (num_of(c, e, &x) < 0 || !(x > 0) || x > 4294967296.0)
			return (fail(c, 400, "InvalidParameterValue",
				     "MetricData[%zu].Counts[%zu]: a number above 0, at most 2^32", i, k), -1);
	}
	if (sv) {
		static const char *const keys[] = { "SampleCount", "Sum", "Minimum", "Maximum" };
		double *out[] = { &d->sv_n, &d->sv_sum, &d->sv_min, &d->sv_max };
		for (int f = 0; f < 4; f++) {
			if ((rc = in_num(c, sv, keys[f], out[f])) == 0)
				return (fail(c, 400, "MissingParameter",
					     "The parameter MetricData[%zu].StatisticValues.%s is required.", i, keys[f]), -1);
			if (rc < 0 || !in_range(*out[f]))
				return (fail(c, 400, "InvalidParameterValue",
					     "MetricData[%zu].StatisticValues.%s: " RANGE_TEXT, i, keys[f]), -1);
		}
		if (!(d->sv_n > 0) || d->sv_n > 4294967296.0 || d->sv_min > d->sv_max)
			return (fail(c, 400, "InvalidParameterValue",
				     "MetricData[%zu].StatisticValues: SampleCount above 0 (at most 2^32), Minimum at "
				     "most Maximum", i), -1);
		d->has_sv = 1;
	}
	d->t = now;
	if ((rc = aws_in_time(j, "Timestamp", &d->t)) < 0)
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Timestamp: ISO 8601 or epoch seconds",
			     i), -1);
	if (rc && (d->t < now - PUT_MAX_AGE + PUT_AHEAD_MARGIN || d->t > now + PUT_MAX_AHEAD - PUT_AHEAD_MARGIN))
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Timestamp: must be within the last two "
			     "weeks and at most two hours ahead", i), -1);
	if ((rc = in_int(c, j, "StorageResolution", &sr)) < 0 || (rc && sr != 1 && sr != 60))
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].StorageResolution: 1 or 60", i), -1);
	if (in_str(j, "Unit", &d->unit) < 0 || (d->unit && !valid_unit(d->unit)))
		return (fail(c, 400, "InvalidParameterValue",
			     "MetricData[%zu].Unit: one of CloudWatch's units (Seconds, Count, None, ...)", i), -1);
	d->ds.put = 1;
	if (in_list(j, "Dimensions", &dims) < 0 || dimset_json(&d->ds, dims, ns, why, sizeof(why)) < 0)
		return (fail(c, 400, "InvalidParameterValue", "MetricData[%zu].Dimensions: %s", i,
			     in_list(j, "Dimensions", &dims) < 0 ? "a list of {Name, Value}" : why), -1);
	return 0;
}

/* Store datum D in series S. Returns 0 or -1. */
static int put_datum(struct api_metrics_call *c, struct store_series *s, const struct datum *d)
{
	int rc = 0;
	double v, n;

	if (d->values) {
		for (size_t k = 0; k < json_array_size(d->values) && rc == 0; k++) {
			num_of(c, json_array_get(d->values, k), &v);
			n = 1.0;
			if (d->counts)
				num_of(c, json_array_get(d->counts, k), &n);
			rc = store_put_n(s, d->t, v, n);
		}
		return rc;
	}
	if (!d->has_sv)
		return store_put(s, d->t, d->value);
	/* a statistic set: SampleCount, Sum, Minimum and Maximum as given;
	 * percentiles only when CloudWatch has them (SampleCount 1, or
	 * Minimum equal to Maximum: then every sample's value is known;
	 * store_put_stats() gives that point its histogram) */
	if (d->sv_n == 1)
		return store_put_n(s, d->t, d->sv_sum, 1);
	return store_put_stats(s, d->t, d->sv_n, d->sv_sum, d->sv_min, d->sv_max);
}

/* A series' key: its name, its unit and its dimensions sorted by name,
 * each part ended by a byte no name contains. Returns a new string or NULL. */
static char *series_key(const char *name, const char *unit, const struct dimset *ds)
{
	const struct store_dim *d[MAX_DIMS + 1];
	size_t len = strlen(name) + strlen(unit) + 3;

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
	p += sprintf(p, "%s\x1f%s\x1f", name, unit);
	for (size_t i = 0; i < ds->n; i++)
		p += sprintf(p, "%s\x1e%s\x1f", d[i]->name, d[i]->value);
	return key;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *api_metrics_put(struct api_metrics_call *c, const json_t *in)
{
	const char *ns = NULL;
	const json_t *data;
	size_t n = 0, nnew = 0, nfresh = 0;
	int64_t now = metrics_now();
	struct datum *d = NULL;
	char **fresh = NULL;
	json_t *out = NULL;
	int rc;

	if (c->body_len > PUT_MAX_BODY)
		return fail(c, 413, "RequestEntityTooLarge", "Request size %zu exceeded %u bytes (PutMetricData is "
			    "limited to 1 MB a request)", c->body_len, PUT_MAX_BODY);
	if ((rc = in_str(in, "Namespace", &ns)) == 0)
		return fail(c, 400, "MissingParameter", "The parameter Namespace is required.");
	if (rc < 0 || !valid_namespace(ns) || strncmp(ns, "AWS/", 4) == 0)
		return fail(c, 400, "InvalidParameterValue",
			    "Namespace: 1 to %d characters, not starting with ':' or \"AWS/\" (got \"%s\")", NAME_MAX_LEN,
			    ns ? ns : "");
	if ((rc = in_list(in, "MetricData", &data)) == 0)
		return fail(c, 400, "MissingParameter", "The parameter MetricData is required.");
	if (rc < 0 || json_array_size(data) == 0 || json_array_size(data) > PUT_MAX_DATA)
		return fail(c, 400, "InvalidParameterValue", "MetricData: a list of 1 to %d datapoints", PUT_MAX_DATA);
	n = json_array_size(data);
	d = calloc(n, sizeof(*d));
	fresh = calloc(n, sizeof(*fresh));
	if (!d || !fresh) {
		fail(c, 500, "InternalServiceError", "out of memory");
		goto out;
	}
	/* everything is checked first: a call is stored whole or not at all */
	for (size_t i = 0; i < n; i++)
		if (read_datum(c, json_array_get(data, i), ns, i, now, &d[i]) < 0)
			goto out;
	/* the series it would add (each once: keys sorted; a metric has one
	 * per unit), so that the limit refuses the call whole */
	for (size_t i = 0; i < n; i++) {
		struct store_series *s;
		if (!d[i].unit)
			d[i].unit = "None";
		if (store_find_units(metrics_store(), ns, d[i].name, d[i].ds.d, d[i].ds.n, d[i].unit, &s, 1))
			continue;
		if (!(fresh[nnew] = series_key(d[i].name, d[i].unit, &d[i].ds))) {
			fail(c, 500, "InternalServiceError", "out of memory");
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
		fail(c, 400, "LimitExceeded", "MetricData: this call would make %zu custom series; "
		     "admin.max_custom_series is %u", ncustom + nfresh, limit);
		goto out;
	}
	ncustom += nfresh;
	for (size_t i = 0; i < n; i++) {
		struct store_series *s = store_series(metrics_store(), ns, d[i].name, d[i].ds.d, d[i].ds.n,
						      d[i].unit, STORE_HIST);
		if (!s || put_datum(c, s, &d[i]) < 0) {
			fail(c, 500, "InternalServiceError", "MetricData[%zu]: could not be stored", i);
			goto out;
		}
	}
	out = json_object();
out:
	for (size_t k = 0; d && k < n; k++)
		dimset_free(&d[k].ds);
	free(d);
	for (size_t k = 0; k < nnew; k++)
		free(fresh[k]);
	free(fresh);
	return out;
}

/* The operation a POST route runs on its JSON body. */
struct post_op {
	json_t *(*fn)(struct api_metrics_call *, const json_t *);
};

static const struct post_op get_data_op = { api_metrics_data }, put_data_op = { api_metrics_put };

/* POST /api/v1/metrics/query (GetMetricData) and /data (PutMetricData):
 * the operation's input as a JSON object; ARG is its struct post_op. */
static void post_json(struct admin_req *r, void *arg)
{
	const struct post_op *op = arg;
	size_t len;
	const char *body = admin_req_body(r, &len);
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je);

	if (!json_is_object(j)) {
		admin_reply_error(r, 400, "InvalidParameterValue", "body: not a JSON object (%s)", je.text);
		json_decref(j);
		return;
	}
	reply(r, op->fn, j, 1, len);
}

void api_metrics_init(void)
{
	admin_route("GET", "/api/v1/metrics", 0, list_metrics, NULL);
	admin_route("GET", "/api/v1/metrics/statistics", 0, get_statistics, NULL);
	admin_route("POST", "/api/v1/metrics/query", 0, post_json, (void *)&get_data_op);
	admin_route("POST", "/api/v1/metrics/data", 0, post_json, (void *)&put_data_op);
}
