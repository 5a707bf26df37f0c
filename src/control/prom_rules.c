/* prom_rules.c - the configuration's alarms as Prometheus alerting rules:
 * see prom_rules.h for the mapping and its approximations.
 *
 * Each translation step returns XL_OK, XL_SKIP (the alarm cannot be said in
 * PromQL: the reason is in ctx.why, the alarm becomes a YAML comment) or
 * XL_ERR (the alarm is invalid or memory ran out: ctx.err, the export
 * fails). */
#include "control/prom_rules.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/alarm_rule.h"
#include "control/metric_math.h"
#include "core/metrics.h"

enum { XL_ERR = -1, XL_OK = 0, XL_SKIP = 1 };

#define MAX_NEST 32   /* metric math queries referring to queries */

/* the universe of load balancers, for NOT and for missing data as breaching */
#define UNIVERSE "group by (load_balancer) (albd_requests_total%s)"

/* ------------------------------------------------------------ strings */

struct sb {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)n < sizeof(buf)) {
		sb_addn(b, buf, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_addn(b, big, (size_t)n);
	free(big);
}

static const char *sb_str(const struct sb *b)
{
	return b->s ? b->s : "";
}

static void sb_free(struct sb *b)
{
	free(b->s);
	*b = (struct sb){ 0 };
}

/* Move FROM's text to the end of TO and empty FROM. */
static void sb_take(struct sb *to, struct sb *from)
{
	if (from->oom)
		to->oom = 1;
	sb_add(to, sb_str(from));
	sb_free(from);
}

/* ------------------------------------------------------------ UTF-8 */

/* The code point at S + *I, advancing *I; U+FFFD (one byte) for a byte
 * that does not start a valid, shortest UTF-8 sequence of a scalar value. */
static uint32_t utf8_next(const char *s, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s + *i;
	uint32_t cp, min;
	size_t n;

	if (p[0] < 0x80) {
		*i += 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		*i += 1;
		return 0xfffd;
	}
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			*i += 1;
			return 0xfffd;
		}
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*i += 1;
		return 0xfffd;
	}
	*i += n;
	return cp;
}

static void utf8_put(struct sb *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		sb_addn(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		sb_addn(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		sb_addn(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		sb_addn(b, u, 4);
	}
}

/* May CP stand as itself in any YAML scalar or comment? YAML's printable
 * set, less the line breaks YAML 1.1 readers know (NEL, LS, PS) and the
 * byte order mark. */
static int plain_cp(uint32_t cp)
{
	return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff && cp != 0x2028 && cp != 0x2029) ||
	       (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) || cp >= 0x10000;
}

/* S in a YAML double-quoted scalar, without the quotes. */
static void yaml_body(struct sb *b, const char *s)
{
	for (size_t i = 0; s[i];) {
		uint32_t cp = utf8_next(s, &i);
		if (cp == '"' || cp == '\\') {
			sb_addn(b, "\\", 1);
			utf8_put(b, cp);
		} else if (cp == '\n') {
			sb_add(b, "\\n");
		} else if (cp == '\t') {
			sb_add(b, "\\t");
		} else if (cp == '\r') {
			sb_add(b, "\\r");
		} else if (plain_cp(cp)) {
			utf8_put(b, cp);
		} else if (cp < 0x100) {
			sb_printf(b, "\\x%02X", (unsigned)cp);
		} else {
			sb_printf(b, "\\u%04X", (unsigned)cp);
		}
	}
}

static void yaml_dq(struct sb *b, const char *s)
{
	sb_add(b, "\"");
	yaml_body(b, s);
	sb_add(b, "\"");
}

/* S with every "{{" written {{ "{{" }}: Prometheus expands label and
 * annotation values as Go templates, and this one prints "{{". */
static void untemplate(struct sb *b, const char *s)
{
	const char *p;

	while ((p = strstr(s, "{{"))) {
		sb_addn(b, s, (size_t)(p - s));
		sb_add(b, "{{ \"{{\" }}");
		s = p + 2;
	}
	sb_add(b, s);
}

/* A label or annotation value: S untemplated, YAML double-quoted. */
static void yaml_value(struct sb *b, const char *s)
{
	struct sb t = { 0 };

	untemplate(&t, s);
	if (t.oom)
		b->oom = 1;
	yaml_dq(b, sb_str(&t));
	sb_free(&t);
}

/* S as a PromQL string literal: printable (every control character, line
 * break and non-UTF-8 byte escaped), so that it can sit in a YAML
 * single-quoted scalar. */
static void promql_str(struct sb *b, const char *s)
{
	sb_add(b, "\"");
	for (size_t i = 0; s[i];) {
		uint32_t cp = utf8_next(s, &i);
		if (cp == '"' || cp == '\\') {
			sb_addn(b, "\\", 1);
			utf8_put(b, cp);
		} else if (cp == '\n') {
			sb_add(b, "\\n");
		} else if (cp == '\t') {
			sb_add(b, "\\t");
		} else if (cp == '\r') {
			sb_add(b, "\\r");
		} else if (plain_cp(cp)) {
			utf8_put(b, cp);
		} else if (cp < 0x80) {
			sb_printf(b, "\\x%02x", (unsigned)cp);
		} else {
			sb_printf(b, "\\u%04x", (unsigned)cp);
		}
	}
	sb_add(b, "\"");
}

/* The shortest text that reads back as V (V finite). */
static void fmt_num(char *out, size_t len, double v)
{
	if (v == 0)
		v = 0;   /* no "-0" */
	snprintf(out, len, "%.15g", v);
	if (strtod(out, NULL) != v)
		snprintf(out, len, "%.17g", v);
}

/* MS milliseconds as a Prometheus duration: "1m", "2m59s999ms", "0s". */
static void fmt_dur(char *out, size_t len, uint64_t ms)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} units[] = { { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" } };
	size_t n = 0;

	out[0] = '\0';
	if (ms == 0) {
		snprintf(out, len, "0s");
		return;
	}
	for (size_t k = 0; k < sizeof(units) / sizeof(units[0]) && n < len; k++) {
		if (ms >= units[k].ms) {
			int w = snprintf(out + n, len - n, "%llu%s", (unsigned long long)(ms / units[k].ms), units[k].unit);
			if (w < 0)
				return;
			n += (size_t)w;
			ms %= units[k].ms;
		}
	}
}

/* ------------------------------------------------------------ context */

struct ctx {
	const struct albd_config *cfg;
	char why[512];      /* XL_SKIP: why the alarm is not exported */
	char err[512];      /* XL_ERR: what is wrong */
	/* the LoadBalancer dimensions the alarm's metrics name */
	const char *lb;
	int lb_seen, lb_mixed;
	/* composite alarms: what became of each alarm and composite alarm */
	signed char *alarm_done;   /* 1 exported, 0 not */
	signed char *comp_state;   /* 0 to do, 1 in progress, 2 exported, 3 not */
};

static int skip(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int skip(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return XL_SKIP;
}

static int fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return XL_ERR;
}

static void note_lb(struct ctx *c, const char *lb)
{
	if (!c->lb_seen) {
		c->lb_seen = 1;
		c->lb = lb;
	} else if ((c->lb == NULL) != (lb == NULL) || (lb && strcmp(c->lb, lb) != 0)) {
		c->lb_mixed = 1;
	}
}

/* U, restricted to the alarm's load balancer when all its metrics name the
 * same one. */
static void universe(struct sb *b, const struct ctx *c)
{
	if (c && c->lb_seen && !c->lb_mixed && c->lb) {
		struct sb m = { 0 };
		sb_add(&m, "{load_balancer=");
		promql_str(&m, c->lb);
		sb_add(&m, "}");
		sb_printf(b, UNIVERSE, sb_str(&m));
		if (m.oom)
			b->oom = 1;
		sb_free(&m);
	} else {
		sb_printf(b, UNIVERSE, "");
	}
}

/* ------------------------------------------------------------ statistics */

enum stat { ST_SAMPLE_COUNT, ST_SUM, ST_AVERAGE, ST_MINIMUM, ST_MAXIMUM, ST_PERCENTILE, ST_OTHER };

/* STAT's kind; a percentile's fraction in *Q ("p99.9": 0.999). ST_OTHER:
 * one of CloudWatch's other extended statistics (tm99, wm90, tc(10%:90%),
 * ts99, pr(:300), IQM, TM(10%:90%), ...). -1: not a statistic. */
static int parse_stat(const char *s, double *q)
{
	static const char *const names[] = { "SampleCount", "Sum", "Average", "Minimum", "Maximum" };
	static const char *const other[] = { "tm", "wm", "tc", "ts", "pr", "TM", "WM", "TC", "TS", "PR", "IQM" };
	char *end;

	for (int k = 0; k < 5; k++)
		if (strcmp(s, names[k]) == 0)
			return k;
	if (s[0] == 'p' && s[1] >= '0' && s[1] <= '9') {
		size_t i = 1;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (s[i] == '.') {
			i++;
			if (!(s[i] >= '0' && s[i] <= '9'))
				return -1;
			while (s[i] >= '0' && s[i] <= '9')
				i++;
		}
		double v = strtod(s + 1, &end);
		if (s[i] != '\0' || end != s + i || v < 0 || v > 100)
			return -1;
		*q = v / 100;
		return ST_PERCENTILE;
	}
	for (size_t k = 0; k < sizeof(other) / sizeof(other[0]); k++)
		if (strncmp(s, other[k], strlen(other[k])) == 0)
			return ST_OTHER;
	return -1;
}

/* ------------------------------------------------------------ one metric */

/* The dimensions albd publishes, their labels, and the dimension sets (as
 * bits of this table) of each ML_* level. */
static const struct {
	const char *dim, *label;
} dimtab[] = {
	{ "LoadBalancer", "load_balancer" },
	{ "TargetGroup", "target_group" },
	{ "Target", "target" },
	{ "Listener", "listener" },
	{ "Certificate", "certificate" },
};
#define NDIMTAB (sizeof(dimtab) / sizeof(dimtab[0]))
#define D_TG (1u << 1)
#define D_TARGET (1u << 2)
#define D_LISTENER (1u << 3)
#define D_CERT (1u << 4)

static const struct {
	unsigned level, dims;
	const char *text;
} leveltab[] = {
	{ ML_LB, 0, "{LoadBalancer}" },
	{ ML_TG, D_TG, "{LoadBalancer, TargetGroup}" },
	{ ML_TARGET, D_TG | D_TARGET, "{LoadBalancer, TargetGroup, Target}" },
	{ ML_CERT, D_LISTENER | D_CERT, "{LoadBalancer, Listener, Certificate}" },
};
#define NLEVELTAB (sizeof(leveltab) / sizeof(leveltab[0]))

/* The dimensions of one metric of an alarm, resolved. */
struct msel {
	const char *val[NDIMTAB];   /* by dimtab index; NULL: not given */
	unsigned level;             /* ML_* */
	unsigned dims;              /* bits of dimtab, LoadBalancer excluded */
};

/* NAME{SEL}: the series of metric M (a metric_defs index) at S's level, with
 * SUFFIX after its Prometheus name ("_total", "_bucket", ""). A dimension
 * of another of the metric's levels that S does not give is matched empty. */
static void selector(struct sb *b, unsigned m, const char *suffix, const struct msel *s)
{
	const struct metric_def *d = &metric_defs[m];
	unsigned other = 0;
	int first = 1;

	for (size_t k = 0; k < NLEVELTAB; k++)
		if (d->levels & leveltab[k].level)
			other |= leveltab[k].dims;
	sb_printf(b, "%s%s", d->prom, suffix);
	for (size_t k = 0; k < NDIMTAB; k++) {
		const char *v = s->val[k];
		if (k == 0 && !v)
			continue;
		if (k > 0 && !(s->dims & (1u << k))) {
			if (!(other & (1u << k)))
				continue;
			v = "";
		}
		sb_printf(b, "%s%s=", first ? "{" : ",", dimtab[k].label);
		promql_str(b, v);
		first = 0;
	}
	if (!first)
		sb_add(b, "}");
}

/* The PromQL of statistic STAT of metric METRIC in namespace NS with DIMS
 * over PERIOD seconds: a vector labelled {load_balancer}. */
static int metric_promql(struct ctx *c, const char *ns, const char *metric, const struct cfg_dim *dims,
			 size_t ndims, const char *stat, unsigned period, struct sb *out)
{
	struct msel s = { .level = 0 };
	char w[32], qs[64];
	double q = 0;
	int st;

	if (!metric)
		return fail(c, "no metric");
	if (!stat)
		return fail(c, "%s: no statistic", metric);
	st = parse_stat(stat, &q);
	if (st < 0)
		return fail(c, "%s: unknown statistic \"%s\" (SampleCount, Sum, Average, Minimum, Maximum or pNN)",
			    metric, stat);
	if (period == 0)
		return fail(c, "%s: no period", metric);
	if (!ns)
		ns = METRICS_NAMESPACE;
	if (strcmp(ns, METRICS_NAMESPACE) != 0)
		return skip(c, "%s is in the custom namespace %s: metrics sent with PutMetricData are not on /metrics",
			    metric, ns);
	int m = metric_by_name(metric);
	if (m < 0)
		return skip(c, "albd publishes no metric %s", metric);
	const struct metric_def *d = &metric_defs[m];
	for (size_t i = 0; i < ndims; i++) {
		size_t k;
		for (k = 0; k < NDIMTAB; k++)
			if (strcmp(dims[i].name, dimtab[k].dim) == 0)
				break;
		if (k == NDIMTAB)
			return skip(c, "albd publishes %s with no dimension %s", metric, dims[i].name);
		if (s.val[k])
			return fail(c, "%s: dimension %s given twice", metric, dims[i].name);
		s.val[k] = dims[i].value ? dims[i].value : "";
		if (k > 0)
			s.dims |= 1u << k;
	}
	for (size_t k = 0; k < NLEVELTAB; k++)
		if (leveltab[k].dims == s.dims)
			s.level = leveltab[k].level;
	if (!(s.level & d->levels)) {
		char sets[200] = "";
		for (size_t k = 0; k < NLEVELTAB; k++)
			if (d->levels & leveltab[k].level)
				snprintf(sets + strlen(sets), sizeof(sets) - strlen(sets), "%s%s", sets[0] ? ", " : "",
					 leveltab[k].text);
		return skip(c, "albd publishes %s with the dimensions %s only", metric, sets);
	}
	note_lb(c, s.val[0]);
	fmt_dur(w, sizeof(w), (uint64_t)period * 1000);

	if (d->src == MS_DERIVED) {
		/* RequestCountPerTarget: RequestCount over the healthy targets */
		if (m != M_REQUEST_COUNT_PER_TARGET || st != ST_SUM)
			return skip(c, "%s of %s has no PromQL equivalent (its Sum has)", stat, metric);
		s.level = ML_TG;
		sb_add(out, "sum by (load_balancer) (increase(");
		selector(out, M_REQUEST_COUNT, "_total", &s);
		sb_printf(out, "[%s])) / clamp_min(avg by (load_balancer) (avg_over_time(", w);
		selector(out, M_HEALTHY_HOST_COUNT, "", &s);
		sb_printf(out, "[%s])), 1)", w);
		return XL_OK;
	}
	if (!d->prom)
		return skip(c, "%s is not on /metrics", metric);

	switch (d->src) {
	case MS_COUNT:
		if (metric_counts_events(m)) {
			/* each event a sample of 1 (store_result_events): SampleCount
			 * is the Sum, or 1 for a quiet period's 0; Minimum, Maximum
			 * and Average are 1, or 0 in a quiet period */
			switch (st) {
			case ST_SUM:
			case ST_SAMPLE_COUNT:
				sb_add(out, st == ST_SUM ? "sum by (load_balancer) (increase(" :
							   "clamp_min(sum by (load_balancer) (increase(");
				selector(out, (unsigned)m, "_total", &s);
				sb_printf(out, st == ST_SUM ? "[%s]))" : "[%s])), 1)", w);
				return XL_OK;
			case ST_AVERAGE:
			case ST_MAXIMUM:
			case ST_MINIMUM:
				sb_add(out, "(sum by (load_balancer) (increase(");
				selector(out, (unsigned)m, "_total", &s);
				sb_printf(out, "[%s])) > bool 0)", w);
				return XL_OK;
			default:
				return skip(c, "%s of %s has no PromQL equivalent: /metrics has its total only", stat,
					    metric);
			}
		}
		switch (st) {
		case ST_SUM:
			sb_add(out, "sum by (load_balancer) (increase(");
			selector(out, (unsigned)m, "_total", &s);
			sb_printf(out, "[%s]))", w);
			return XL_OK;
		case ST_AVERAGE:
			sb_add(out, "avg by (load_balancer) (rate(");
			selector(out, (unsigned)m, "_total", &s);
			sb_printf(out, "[%s]))", w);
			return XL_OK;
		case ST_MAXIMUM:
		case ST_MINIMUM: {
			const char *f = st == ST_MAXIMUM ? "max" : "min";
			sb_printf(out, "%s by (load_balancer) (%s_over_time(irate(", f, f);
			selector(out, (unsigned)m, "_total", &s);
			sb_printf(out, "[5m])[%s:]))", w);
			return XL_OK;
		}
		case ST_SAMPLE_COUNT:
			return skip(c, "SampleCount of %s counts albd's one-second datapoints, which Prometheus does not see",
				    metric);
		default:
			return skip(c, "%s of %s has no PromQL equivalent: /metrics has its total only", stat, metric);
		}
	case MS_LEVEL:
	case MS_GAUGE: {
		/* /metrics has the certificate's expiry as a time (Prometheus's
		 * base unit); CertificateDaysToExpiry is whole days from now */
		int days = m == M_CERTIFICATE_DAYS_TO_EXPIRY;
		switch (st) {
		case ST_AVERAGE:
		case ST_MAXIMUM:
		case ST_MINIMUM: {
			const char *f = st == ST_AVERAGE ? "avg" : st == ST_MAXIMUM ? "max" : "min";
			sb_printf(out, "%s by (load_balancer) (%s%s_over_time(", f, days ? "floor((" : "", f);
			selector(out, (unsigned)m, "", &s);
			sb_printf(out, "[%s])%s)", w, days ? " - time()) / 86400)" : "");
			return XL_OK;
		}
		case ST_SUM:
			sb_printf(out, "%u * sum by (load_balancer) (%savg_over_time(", period, days ? "floor((" : "");
			selector(out, (unsigned)m, "", &s);
			sb_printf(out, "[%s])%s)", w, days ? " - time()) / 86400)" : "");
			return XL_OK;
		case ST_SAMPLE_COUNT:
			return skip(c, "SampleCount of %s counts albd's one-second datapoints, which Prometheus does not see",
				    metric);
		default:
			return skip(c, "%s of %s has no PromQL equivalent", stat, metric);
		}
	}
	case MS_LATENCY:
		switch (st) {
		case ST_PERCENTILE:
		case ST_MAXIMUM:
			/* "p99.9": 0.999, not 0.99900000000000011 */
			snprintf(qs, sizeof(qs), "%.15g", st == ST_MAXIMUM ? 1 : q);
			sb_printf(out, "histogram_quantile(%s, sum by (load_balancer, le) (rate(", qs);
			selector(out, (unsigned)m, "_bucket", &s);
			sb_printf(out, "[%s])))", w);
			return XL_OK;
		case ST_AVERAGE:
			sb_add(out, "sum by (load_balancer) (rate(");
			selector(out, (unsigned)m, "_sum", &s);
			sb_printf(out, "[%s])) / sum by (load_balancer) (rate(", w);
			selector(out, (unsigned)m, "_count", &s);
			sb_printf(out, "[%s]))", w);
			return XL_OK;
		case ST_SAMPLE_COUNT:
		case ST_SUM:
			sb_add(out, "sum by (load_balancer) (increase(");
			selector(out, (unsigned)m, st == ST_SUM ? "_sum" : "_count", &s);
			sb_printf(out, "[%s]))", w);
			return XL_OK;
		case ST_MINIMUM:
			return skip(c, "Minimum of %s has no PromQL equivalent: the histogram's lowest bucket starts at 0",
				    metric);
		default:
			return skip(c, "%s of %s has no PromQL equivalent", stat, metric);
		}
	case MS_DERIVED:
		break;
	}
	return skip(c, "%s is not on /metrics", metric);
}

/* ------------------------------------------------------------ metric math */

struct mx {
	struct ctx *c;
	const struct cfg_alarm *a;
	unsigned period;   /* the alarm's evaluation period */
	const char *s, *p;
	int depth;   /* parentheses, powers and unary minus */
	int nest;    /* queries of expressions of queries */
};

/* A translated subexpression: a constant, or PromQL for a vector. */
struct mval {
	int is_const;
	double k;
	struct sb q;
};

static int mx_expr(struct mx *x, struct mval *v);
static int query_promql(struct ctx *c, const struct cfg_alarm *a, const struct cfg_alarm_query *q, unsigned period,
			int depth, struct sb *out);

static void mx_blank(struct mx *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')
		x->p++;
}

static int mx_word(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static int mx_unsupported(struct mx *x)
{
	return skip(x->c, "the expression \"%s\" uses more than numbers, ids, + - * / ^ and parentheses (at column %zu)",
		    x->s, (size_t)(x->p - x->s) + 1);
}

static int mx_primary(struct mx *x, struct mval *v)
{
	mx_blank(x);
	const char *p = x->p;
	if ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
		char *end;
		v->is_const = 1;
		v->k = strtod(p, &end);
		if (end == p || !isfinite(v->k))
			return mx_unsupported(x);
		x->p = end;
		return XL_OK;
	}
	if (*p == '(') {
		x->p++;
		if (++x->depth > 100)
			return mx_unsupported(x);
		int r = mx_expr(x, v);
		x->depth--;
		if (r != XL_OK)
			return r;
		mx_blank(x);
		if (*x->p != ')')
			return mx_unsupported(x);
		x->p++;
		return XL_OK;
	}
	if (*p >= 'a' && *p <= 'z') {
		size_t n = 0;
		while (mx_word(p[n]))
			n++;
		const char *after = p + n;
		while (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r')
			after++;
		if (*after == '(')
			return mx_unsupported(x);
		for (size_t i = 0; i < x->a->nmetrics; i++) {
			const struct cfg_alarm_query *q = &x->a->metrics[i];
			if (q->id && strlen(q->id) == n && memcmp(q->id, p, n) == 0) {
				struct sb sub = { 0 };
				int r = query_promql(x->c, x->a, q, x->period, x->nest + 1, &sub);
				if (r != XL_OK) {
					sb_free(&sub);
					return r;
				}
				/* an expression's PromQL is a constant or
				 * parenthesised already */
				v->is_const = 0;
				sb_add(&v->q, q->expression ? "" : "(");
				sb_take(&v->q, &sub);
				sb_add(&v->q, q->expression ? "" : ")");
				x->p = p + n;
				return XL_OK;
			}
		}
		return fail(x->c, "the expression \"%s\" refers to an unknown id %.*s", x->s, (int)n, p);
	}
	return mx_unsupported(x);
}

/* V's PromQL, a constant written out. */
static void mval_text(struct sb *b, const struct mval *v)
{
	char num[64];

	if (v->is_const) {
		fmt_num(num, sizeof(num), v->k);
		sb_add(b, num);
	} else {
		sb_add(b, sb_str(&v->q));
		if (v->q.oom)
			b->oom = 1;
	}
}

/* L := L op R, folding constants. */
static int mx_apply(struct mx *x, char op, struct mval *l, struct mval *r)
{
	if (l->is_const && r->is_const) {
		double k;
		switch (op) {
		case '+': k = l->k + r->k; break;
		case '-': k = l->k - r->k; break;
		case '*': k = l->k * r->k; break;
		case '/': k = r->k == 0 ? NAN : l->k / r->k; break;
		default: k = pow(l->k, r->k); break;
		}
		if (!isfinite(k))
			return skip(x->c, "the expression \"%s\" divides by 0 or overflows in its constants", x->s);
		l->k = k;
		return XL_OK;
	}
	if (op == '/' && r->is_const && r->k == 0)
		return skip(x->c, "the expression \"%s\" divides by 0", x->s);
	struct sb t = { 0 };
	sb_add(&t, "(");
	mval_text(&t, l);
	sb_printf(&t, " %c ", op);
	if (op == '/' && !r->is_const) {
		/* CloudWatch: a division by zero gives no datapoint */
		sb_add(&t, "(");
		mval_text(&t, r);
		sb_add(&t, " != 0)");
	} else {
		mval_text(&t, r);
	}
	sb_add(&t, ")");
	sb_free(&l->q);
	l->q = t;
	l->is_const = 0;
	return XL_OK;
}

static int mx_unary(struct mx *x, struct mval *v);

/* primary [ ^ unary ]: as metric_math.c, right-associative, tighter than
 * unary minus */
static int mx_pow(struct mx *x, struct mval *v)
{
	int r = mx_primary(x, v);
	if (r != XL_OK)
		return r;
	mx_blank(x);
	if (*x->p != '^')
		return XL_OK;
	x->p++;
	struct mval rv = { 0 };
	if (++x->depth > 100)
		return mx_unsupported(x);
	r = mx_unary(x, &rv);
	x->depth--;
	if (r == XL_OK)
		r = mx_apply(x, '^', v, &rv);
	sb_free(&rv.q);
	return r;
}

static int mx_unary(struct mx *x, struct mval *v)
{
	mx_blank(x);
	if (*x->p != '-')
		return mx_pow(x, v);
	x->p++;
	if (++x->depth > 100)
		return mx_unsupported(x);
	int r = mx_unary(x, v);
	x->depth--;
	if (r != XL_OK)
		return r;
	if (v->is_const) {
		v->k = -v->k;
		return XL_OK;
	}
	struct sb t = { 0 };
	sb_add(&t, "(-");
	sb_take(&t, &v->q);
	sb_add(&t, ")");
	v->q = t;
	return XL_OK;
}

static int mx_level(struct mx *x, struct mval *v, const char *ops, int (*sub)(struct mx *, struct mval *))
{
	int r = sub(x, v);
	while (r == XL_OK) {
		mx_blank(x);
		if (!*x->p || !strchr(ops, *x->p))
			return XL_OK;
		char op = *x->p++;
		struct mval rv = { 0 };
		r = sub(x, &rv);
		if (r == XL_OK)
			r = mx_apply(x, op, v, &rv);
		sb_free(&rv.q);
	}
	return r;
}

static int mx_mul(struct mx *x, struct mval *v)
{
	return mx_level(x, v, "*/", mx_unary);
}

static int mx_expr(struct mx *x, struct mval *v)
{
	return mx_level(x, v, "+-", mx_mul);
}

/* The PromQL of query Q of alarm A (a metric, or an expression over the
 * alarm's other queries). */
static int query_promql(struct ctx *c, const struct cfg_alarm *a, const struct cfg_alarm_query *q, unsigned period,
			int depth, struct sb *out)
{
	char perr[256];

	if (depth > MAX_NEST)
		return fail(c, "query %s: expressions refer to each other more than %d deep (a cycle?)",
			    q->id ? q->id : "?", MAX_NEST);
	if (!q->expression)
		return metric_promql(c, q->namespace, q->metric, q->dims, q->ndims, q->stat,
				     q->period ? q->period : period, out);

	struct mm_expr *e = mm_parse(q->expression, perr, sizeof(perr));
	if (!e)
		return fail(c, "query %s: expression \"%s\": %s", q->id ? q->id : "?", q->expression, perr);
	mm_free(e);
	struct mx x = { c, a, period, q->expression, q->expression, 0, depth };
	struct mval v = { 0 };
	int r = mx_expr(&x, &v);
	if (r == XL_OK) {
		mx_blank(&x);
		if (*x.p)
			r = mx_unsupported(&x);
	}
	if (r == XL_OK && v.is_const)
		r = skip(c, "the expression \"%s\" uses no metric", q->expression);
	if (r == XL_OK)
		mval_text(out, &v);
	sb_free(&v.q);
	return r;
}

/* ------------------------------------------------------------ metric alarms */

static const struct {
	const char *name, *op, *neg, *text;
} cmptab[] = {
	{ "GreaterThanThreshold", ">", "<=", ">" },
	{ "GreaterThanOrEqualToThreshold", ">=", "<", ">=" },
	{ "LessThanThreshold", "<", ">=", "<" },
	{ "LessThanOrEqualToThreshold", "<=", ">", "<=" },
};

/* "Sum of HTTPCode_Target_5XX_Count {TargetGroup=web}" */
static void metric_text(struct sb *b, const char *stat, const char *metric, const struct cfg_dim *dims,
			size_t ndims)
{
	sb_printf(b, "%s of %s", stat ? stat : "?", metric ? metric : "?");
	for (size_t i = 0; i < ndims; i++)
		sb_printf(b, "%s%s=%s", i ? ", " : " {", dims[i].name, dims[i].value ? dims[i].value : "");
	if (ndims)
		sb_add(b, "}");
}

/* Translate alarm A: EXPR gets its PromQL, COND a sentence for people,
 * NOTE what the export changes (for the comment; may stay empty). */
static int alarm_expr(struct ctx *c, const struct cfg_alarm *a, struct sb *expr, struct sb *cond, struct sb *note)
{
	const char *treat = a->treat_missing_data ? a->treat_missing_data : "missing";
	const struct cfg_alarm_query *ret = NULL;
	unsigned period = a->period;
	size_t k;
	char thr[64], rng[32], step[32];

	for (k = 0; k < sizeof(cmptab) / sizeof(cmptab[0]); k++)
		if (a->comparison && strcmp(a->comparison, cmptab[k].name) == 0)
			break;
	if (k == sizeof(cmptab) / sizeof(cmptab[0]))
		return fail(c, "comparison: \"%s\" is not GreaterThanThreshold, GreaterThanOrEqualToThreshold, "
			       "LessThanThreshold or LessThanOrEqualToThreshold",
			    a->comparison ? a->comparison : "");
	if (strcmp(treat, "missing") != 0 && strcmp(treat, "ignore") != 0 && strcmp(treat, "breaching") != 0 &&
	    strcmp(treat, "notBreaching") != 0)
		return fail(c, "treat_missing_data: \"%s\" is not missing, ignore, breaching or notBreaching", treat);
	if (!isfinite(a->threshold))
		return fail(c, "threshold: not a finite number");
	unsigned n = a->evaluation_periods, m = a->datapoints_to_alarm ? a->datapoints_to_alarm : n;
	if (n == 0)
		return fail(c, "evaluation_periods: must be at least 1");
	if (m > n)
		return fail(c, "datapoints_to_alarm: %u is more than evaluation_periods (%u)", m, n);

	c->lb = NULL;
	c->lb_seen = c->lb_mixed = 0;
	struct sb v = { 0 };
	int r;
	if (a->nmetrics) {
		for (size_t i = 0; i < a->nmetrics; i++) {
			if (!a->metrics[i].return_data)
				continue;
			if (ret)
				return fail(c, "metrics: more than one query has return_data");
			ret = &a->metrics[i];
		}
		if (!ret)
			return fail(c, "metrics: no query has return_data");
		if (!period) {
			/* the period of the alarm's metrics */
			for (size_t i = 0; i < a->nmetrics && !period; i++)
				if (!a->metrics[i].expression)
					period = a->metrics[i].period;
		}
		if (!period)
			return fail(c, "period: none, and no query of metrics has one");
		r = query_promql(c, a, ret, period, 0, &v);
		if (ret->expression)
			sb_printf(cond, "the expression \"%s\"", ret->expression);
		else
			metric_text(cond, ret->stat, ret->metric, ret->dims, ret->ndims);
	} else {
		if (a->statistic && a->extended_statistic)
			return fail(c, "statistic and extended_statistic are both set");
		const char *stat = a->statistic ? a->statistic : a->extended_statistic;
		if (!stat)
			return fail(c, "neither statistic nor extended_statistic is set");
		r = metric_promql(c, a->namespace, a->metric, a->dims, a->ndims, stat, period, &v);
		metric_text(cond, stat, a->metric, a->dims, a->ndims);
	}
	if (r != XL_OK) {
		sb_free(&v);
		return r;
	}

	fmt_num(thr, sizeof(thr), a->threshold);
	fmt_dur(rng, sizeof(rng), (uint64_t)n * period * 1000 - 1);
	fmt_dur(step, sizeof(step), (uint64_t)period * 1000);
	sb_printf(cond, " over %u s %s %s in %u out of %u periods", period, cmptab[k].text, thr, m, n);
	if (strcmp(treat, "breaching") == 0) {
		/* at most N - M periods that do not breach; none at all counts as 0 */
		sb_add(expr, "(count_over_time((");
		sb_take(expr, &v);
		sb_printf(expr, " %s %s)[%s:%s]) or (", cmptab[k].neg, thr, rng, step);
		universe(expr, c);
		sb_printf(expr, " * 0)) <= %u", n - m);
		sb_add(cond, ", missing data breaching");
	} else {
		sb_add(expr, "count_over_time((");
		sb_take(expr, &v);
		sb_printf(expr, " %s %s)[%s:%s]) >= %u", cmptab[k].op, thr, rng, step, m);
		if (strcmp(treat, "notBreaching") != 0)
			sb_printf(note, "; treat_missing_data %s: exported as notBreaching", treat);
	}
	return XL_OK;
}

/* ------------------------------------------------------------ composite alarms */

enum cv_kind { CV_POS, CV_NEG, CV_TRUE, CV_FALSE };

/* A translated rule: POS: Q fires where the rule holds; NEG: the rule holds
 * where Q does not fire. */
struct cval {
	enum cv_kind k;
	struct sb q;
};

struct cx {
	struct ctx *c;
	const char *s, *p;
	int depth;
};

static void cx_blank(struct cx *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')
		x->p++;
}

static size_t cx_word(const char *p)
{
	size_t n = 0;
	while (mx_word(p[n]))
		n++;
	return n;
}

static int cx_is(const char *p, size_t n, const char *kw)
{
	return strlen(kw) == n && memcmp(p, kw, n) == 0;
}

static int cx_bad(struct cx *x)
{
	return fail(x->c, "rule: cannot read \"%s\" at column %zu", x->s, (size_t)(x->p - x->s) + 1);
}

/* V as a vector: NEG becomes U unless Q. */
static void cv_vector(struct sb *b, const struct cval *v)
{
	switch (v->k) {
	case CV_POS:
		sb_add(b, sb_str(&v->q));
		break;
	case CV_NEG:
		sb_add(b, "(");
		universe(b, NULL);
		sb_printf(b, " unless %s)", sb_str(&v->q));
		break;
	case CV_TRUE:
		universe(b, NULL);
		break;
	case CV_FALSE:
		sb_add(b, "(");
		universe(b, NULL);
		sb_add(b, " unless ");
		universe(b, NULL);
		sb_add(b, ")");
		break;
	}
	if (v->q.oom)
		b->oom = 1;
}

static int cx_or(struct cx *x, struct cval *v);

/* Is NAME (LEN bytes; an alarm's name or ARN) an alarm this export has
 * written a rule for? Sets *OUT to the name. */
static int cx_ref(struct cx *x, const char *name, size_t len, struct sb *out)
{
	const struct albd_config *cfg = x->c->cfg;
	const char *arn = NULL;

	/* arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME */
	if (len > 4 && memcmp(name, "arn:", 4) == 0) {
		for (size_t i = 0; i + 7 <= len; i++)
			if (memcmp(name + i, ":alarm:", 7) == 0)
				arn = name + i + 7;
		if (arn) {
			len -= (size_t)(arn - name);
			name = arn;
		}
	}
	sb_addn(out, name, len);
	for (size_t i = 0; i < cfg->nalarms; i++)
		if (cfg->alarms[i].name && strcmp(cfg->alarms[i].name, sb_str(out)) == 0)
			return x->c->alarm_done[i] ? XL_OK
						   : skip(x->c, "the rule names the alarm \"%s\", which is not exported",
							  sb_str(out));
	for (size_t i = 0; i < cfg->ncomposite_alarms; i++) {
		if (!cfg->composite_alarms[i].name || strcmp(cfg->composite_alarms[i].name, sb_str(out)) != 0)
			continue;
		if (x->c->comp_state[i] == 2)
			return XL_OK;
		if (x->c->comp_state[i] == 1)
			return skip(x->c, "the rule names the composite alarm \"%s\", whose rule names this one (a cycle)",
				    sb_str(out));
		return skip(x->c, "the rule names the composite alarm \"%s\", which is not exported", sb_str(out));
	}
	return skip(x->c, "the rule names \"%s\", which is not an alarm of the configuration", sb_str(out));
}

static int cx_unary(struct cx *x, struct cval *v)
{
	cx_blank(x);
	const char *at = x->p;
	size_t n = cx_word(at);
	int r;

	if (*at == '(') {
		x->p++;
		if (++x->depth > AR_MAX_DEPTH)
			return cx_bad(x);
		r = cx_or(x, v);
		x->depth--;
		if (r != XL_OK)
			return r;
		cx_blank(x);
		if (*x->p != ')')
			return cx_bad(x);
		x->p++;
		return XL_OK;
	}
	if (cx_is(at, n, "NOT")) {
		x->p += n;
		if (++x->depth > AR_MAX_DEPTH)
			return cx_bad(x);
		r = cx_unary(x, v);
		x->depth--;
		if (r != XL_OK)
			return r;
		v->k = v->k == CV_POS ? CV_NEG : v->k == CV_NEG ? CV_POS : v->k == CV_TRUE ? CV_FALSE : CV_TRUE;
		return XL_OK;
	}
	if (cx_is(at, n, "TRUE") || cx_is(at, n, "FALSE")) {
		x->p += n;
		v->k = at[0] == 'T' ? CV_TRUE : CV_FALSE;
		return XL_OK;
	}
	int want = cx_is(at, n, "ALARM") ? 1 : cx_is(at, n, "OK") ? 0 : cx_is(at, n, "INSUFFICIENT_DATA") ? 2 : -1;
	if (want < 0)
		return cx_bad(x);
	x->p += n;
	cx_blank(x);
	if (*x->p != '(')
		return cx_bad(x);
	x->p++;
	cx_blank(x);
	const char *start, *end;
	if (*x->p == '"') {
		start = ++x->p;
		while (*x->p && *x->p != '"')
			x->p++;
		if (!*x->p)
			return cx_bad(x);
		end = x->p++;
		cx_blank(x);
	} else {
		start = x->p;
		while (*x->p && *x->p != ')' && *x->p != '(' && *x->p != '"')
			x->p++;
		end = x->p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
			end--;
	}
	if (*x->p != ')' || end == start)
		return cx_bad(x);
	x->p++;
	if (want == 2)
		return skip(x->c, "INSUFFICIENT_DATA(\"%.*s\"): Prometheus has no such state", (int)(end - start), start);
	struct sb name = { 0 };
	r = cx_ref(x, start, (size_t)(end - start), &name);
	if (r == XL_OK) {
		sb_add(&v->q, "group by (load_balancer) (ALERTS{alertname=");
		promql_str(&v->q, sb_str(&name));
		sb_add(&v->q, ",alertstate=\"firing\"})");
		v->k = want == 1 ? CV_POS : CV_NEG;
	}
	if (name.oom)
		v->q.oom = 1;
	sb_free(&name);
	return r;
}

/* One AND or OR chain, its operands in KIDS. AND: FALSE wins, TRUE drops
 * out, the positive operands joined by "and" and the negative ones taken
 * away by "unless" (NOT a AND NOT b: NOT (a OR b)). OR: the dual. */
static void cx_chain(int is_and, struct cval *kids, size_t nkids, struct cval *v)
{
	enum cv_kind absorb = is_and ? CV_FALSE : CV_TRUE, neutral = is_and ? CV_TRUE : CV_FALSE;
	size_t npos = 0, nneg = 0;

	for (size_t i = 0; i < nkids; i++) {
		if (kids[i].k == absorb) {
			v->k = absorb;
			return;
		}
		npos += kids[i].k == CV_POS;
		nneg += kids[i].k == CV_NEG;
	}
	if (npos + nneg == 0) {
		v->k = neutral;
		return;
	}
	if (npos + nneg == 1) {
		for (size_t i = 0; i < nkids; i++) {
			if (kids[i].k == CV_POS || kids[i].k == CV_NEG) {
				v->k = kids[i].k;
				v->q = kids[i].q;
				kids[i].q = (struct sb){ 0 };
			}
		}
		return;
	}
	/* AND with a positive operand: P1 and P2 unless N1 unless N2 */
	if (is_and && npos) {
		int first = 1;
		sb_add(&v->q, "(");
		for (size_t i = 0; i < nkids; i++) {
			if (kids[i].k != CV_POS)
				continue;
			sb_printf(&v->q, "%s%s", first ? "" : " and ", sb_str(&kids[i].q));
			first = 0;
		}
		for (size_t i = 0; i < nkids; i++)
			if (kids[i].k == CV_NEG)
				sb_printf(&v->q, " unless %s", sb_str(&kids[i].q));
		sb_add(&v->q, ")");
		v->k = CV_POS;
		return;
	}
	/* AND of negatives only: NOT (N1 or N2); OR of negatives only: NOT
	 * (N1 and N2); OR with a positive: each as a vector */
	const char *op = is_and ? " or " : npos ? " or " : " and ";
	sb_add(&v->q, "(");
	for (size_t i = 0, first = 1; i < nkids; i++) {
		if (kids[i].k != CV_POS && kids[i].k != CV_NEG)
			continue;
		sb_add(&v->q, first ? "" : op);
		if (!is_and && npos)
			cv_vector(&v->q, &kids[i]);
		else
			sb_add(&v->q, sb_str(&kids[i].q));
		first = 0;
	}
	sb_add(&v->q, ")");
	v->k = !is_and && npos ? CV_POS : CV_NEG;
}

static int cx_level(struct cx *x, struct cval *v, int is_and)
{
	struct cval *kids = NULL;
	size_t nkids = 0, cap = 0;
	int r;

	for (;;) {
		if (nkids == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct cval *k = realloc(kids, ncap * sizeof(*k));
			if (!k) {
				r = fail(x->c, "out of memory");
				break;
			}
			kids = k;
			cap = ncap;
		}
		kids[nkids] = (struct cval){ CV_POS, { 0 } };
		r = is_and ? cx_unary(x, &kids[nkids]) : cx_level(x, &kids[nkids], 1);
		nkids++;
		if (r != XL_OK)
			break;
		cx_blank(x);
		size_t n = cx_word(x->p);
		if (!cx_is(x->p, n, is_and ? "AND" : "OR"))
			break;
		x->p += n;
	}
	if (r == XL_OK)
		cx_chain(is_and, kids, nkids, v);
	for (size_t i = 0; i < nkids; i++) {
		if (kids[i].q.oom)
			v->q.oom = 1;
		sb_free(&kids[i].q);
	}
	free(kids);
	return r;
}

static int cx_or(struct cx *x, struct cval *v)
{
	return cx_level(x, v, 0);
}

static int composite_expr(struct ctx *c, const struct cfg_composite_alarm *ca, struct sb *expr)
{
	struct cx x = { c, ca->rule, ca->rule, 0 };
	struct cval v = { CV_POS, { 0 } };

	int r = cx_or(&x, &v);
	if (r == XL_OK) {
		cx_blank(&x);
		if (*x.p)
			r = cx_bad(&x);
	}
	if (r == XL_OK)
		cv_vector(expr, &v);
	sb_free(&v.q);
	return r;
}

/* ------------------------------------------------------------ the file */

static void where(struct sb *b, const struct albd_config *cfg, int line, const char *kind, const char *name)
{
	sb_printf(b, "%s:%d: %s ", cfg->path ? cfg->path : "-", line, kind);
	yaml_dq(b, name ? name : "");
}

/* One rule. DESC: the alarm's description (NULL: none); COND: the
 * condition in words; NOTE: a remark for the comment ("" or "; ...");
 * EXPR: PromQL (printable: see promql_str()). */
static void rule(struct sb *out, const char *name, const char *desc, const char *cond, const char *note,
		 const char *expr)
{
	struct sb t = { 0 };

	sb_add(out, "      # ");
	yaml_body(out, name);
	sb_add(out, ": ");
	yaml_body(out, cond);
	yaml_body(out, note);
	sb_add(out, "\n      - alert: ");
	yaml_dq(out, name);
	/* single-quoted: PromQL's own quotes and backslashes stay as they are */
	sb_add(out, "\n        expr: '");
	for (const char *p = expr; *p; p++) {
		if (*p == '\'')
			sb_addn(out, "'", 1);
		sb_addn(out, p, 1);
	}
	sb_add(out, "'\n        for: 0s\n        labels:\n          alarm_name: ");
	yaml_value(out, name);
	sb_add(out, "\n        annotations:\n          summary: ");
	if (desc && *desc)
		sb_addn(&t, desc, strcspn(desc, "\n"));
	else
		sb_printf(&t, "%s: %s", name, cond);
	yaml_value(out, sb_str(&t));
	sb_free(&t);
	/* the load balancer is the only template: the rest is the alarm's text */
	if (desc && *desc) {
		untemplate(&t, desc);
		sb_add(&t, "\n\n");
	}
	sb_add(&t, "Alarm ");
	untemplate(&t, name);
	sb_add(&t, ": ");
	untemplate(&t, cond);
	sb_add(&t, ".\nLoad balancer: {{ $labels.load_balancer }}.");
	sb_add(out, "\n          description: ");
	yaml_dq(out, sb_str(&t));
	sb_add(out, "\n");
	if (t.oom)
		out->oom = 1;
	sb_free(&t);
}

static void skipped(struct sb *out, struct sb *notes, const struct albd_config *cfg, int line, const char *kind,
		    const char *name, const char *why)
{
	sb_add(out, "      # not exported: ");
	sb_add(out, kind);
	sb_add(out, " ");
	yaml_dq(out, name ? name : "");
	sb_add(out, ": ");
	yaml_body(out, why);
	sb_add(out, "\n");
	where(notes, cfg, line, kind, name);
	sb_add(notes, " not exported: ");
	sb_add(notes, why);
	sb_add(notes, "\n");
}

/* Put "FILE:LINE: KIND "NAME": " before c->err. Returns XL_ERR. */
static int where_err(struct ctx *c, int line, const char *kind, const char *name)
{
	char msg[sizeof(c->err)];
	struct sb w = { 0 };

	memcpy(msg, c->err, sizeof(msg));
	where(&w, c->cfg, line, kind, name);
	snprintf(c->err, sizeof(c->err), "%s: %s", w.oom ? "" : sb_str(&w), msg);
	sb_free(&w);
	return XL_ERR;
}

/* Composite alarm I, after the composite alarms it names. */
static int export_composite(struct ctx *c, size_t i, struct sb *rules, struct sb *notes)
{
	const struct albd_config *cfg = c->cfg;
	const struct cfg_composite_alarm *ca = &cfg->composite_alarms[i];
	struct sb expr = { 0 }, cond = { 0 };
	const char *const *names;
	char perr[256];
	int r = XL_OK;

	if (c->comp_state[i] != 0)
		return XL_OK;
	c->comp_state[i] = 1;
	struct ar_rule *ar = ca->rule ? ar_parse(ca->rule, perr, sizeof(perr)) : NULL;
	if (!ar) {
		fail(c, "rule: %s", ca->rule ? perr : "none");
		return where_err(c, ca->line, "composite alarm", ca->name);
	}
	size_t nn = ar_names(ar, &names);
	for (size_t k = 0; k < nn && r == XL_OK; k++)
		for (size_t j = 0; j < cfg->ncomposite_alarms && r == XL_OK; j++)
			if (cfg->composite_alarms[j].name && strcmp(cfg->composite_alarms[j].name, names[k]) == 0)
				r = export_composite(c, j, rules, notes);
	ar_free(ar);
	if (r != XL_OK)
		return r;   /* the message names the alarm at fault */

	r = composite_expr(c, ca, &expr);
	if (r == XL_OK) {
		sb_add(&cond, "rule ");
		sb_add(&cond, ca->rule);
		rule(rules, ca->name ? ca->name : "", ca->description, sb_str(&cond), "", sb_str(&expr));
		c->comp_state[i] = 2;
	} else if (r == XL_SKIP) {
		skipped(rules, notes, cfg, ca->line, "composite alarm", ca->name, c->why);
		c->comp_state[i] = 3;
	}
	if (expr.oom || cond.oom)
		rules->oom = 1;
	sb_free(&expr);
	sb_free(&cond);
	return r == XL_ERR ? where_err(c, ca->line, "composite alarm", ca->name) : XL_OK;
}

int prom_rules_export(const struct albd_config *cfg, char **text, char **notes_out, char *err, size_t errlen)
{
	struct ctx c = { .cfg = cfg };
	struct sb out = { 0 }, rules = { 0 }, notes = { 0 };
	size_t nrules = 0;
	int r = XL_OK;

	*text = *notes_out = NULL;
	c.alarm_done = calloc(cfg->nalarms + 1, 1);
	c.comp_state = calloc(cfg->ncomposite_alarms + 1, 1);
	if (!c.alarm_done || !c.comp_state) {
		snprintf(c.err, sizeof(c.err), "out of memory");
		r = XL_ERR;
		goto out;
	}
	for (size_t i = 0; i < cfg->nalarms; i++) {
		const struct cfg_alarm *a = &cfg->alarms[i];
		struct sb expr = { 0 }, cond = { 0 }, note = { 0 };
		r = alarm_expr(&c, a, &expr, &cond, &note);
		if (r == XL_OK) {
			rule(&rules, a->name ? a->name : "", a->description, sb_str(&cond), sb_str(&note),
			     sb_str(&expr));
			c.alarm_done[i] = 1;
			nrules++;
		} else if (r == XL_SKIP) {
			skipped(&rules, &notes, cfg, a->line, "alarm", a->name, c.why);
		}
		if (expr.oom || cond.oom || note.oom)
			rules.oom = 1;
		sb_free(&expr);
		sb_free(&cond);
		sb_free(&note);
		if (r == XL_ERR) {
			where_err(&c, a->line, "alarm", a->name);
			goto out;
		}
	}
	for (size_t i = 0; i < cfg->ncomposite_alarms; i++) {
		r = export_composite(&c, i, &rules, &notes);
		if (r == XL_ERR)
			goto out;
	}
	for (size_t i = 0; i < cfg->ncomposite_alarms; i++)
		nrules += c.comp_state[i] == 2;

	sb_add(&out, "# Prometheus alerting rules: the alarms of ");
	yaml_body(&out, cfg->path ? cfg->path : "-");
	sb_add(&out, ",\n# written by albd --export-prometheus-rules (see albd(8)).\n"
		     "# Each alert fires, per load balancer, while its alarm would be in ALARM.\n"
		     "groups:\n  - name: albd\n");
	sb_add(&out, nrules ? "    rules:\n" : "    rules: []\n");
	sb_take(&out, &rules);
	r = XL_OK;
out:
	free(c.alarm_done);
	free(c.comp_state);
	if (r == XL_OK && (out.oom || rules.oom || notes.oom)) {
		snprintf(c.err, sizeof(c.err), "out of memory");
		r = XL_ERR;
	}
	sb_free(&rules);
	if (r == XL_ERR) {
		if (err && errlen)
			snprintf(err, errlen, "%s", c.err);
		sb_free(&out);
		sb_free(&notes);
		return -1;
	}
	*text = out.s ? out.s : strdup("");
	*notes_out = notes.s ? notes.s : strdup("");
	if (!*text || !*notes_out) {
		free(*text);
		free(*notes_out);
		*text = *notes_out = NULL;
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int prom_rules_print(const struct albd_config *cfg, FILE *out, FILE *errf)
{
	char err[CONFIG_ERR_MAX], *text, *notes;

	if (prom_rules_export(cfg, &text, &notes, err, sizeof(err)) < 0) {
		fprintf(errf, "%s\n", err);
		return 1;
	}
	fputs(notes, errf);
	fputs(text, out);
	free(text);
	free(notes);
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(errf, "albd: cannot write the rules to standard output\n");
		return 1;
	}
	return 0;
}
