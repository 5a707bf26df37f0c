/* alarm_check.c - alarm_check() (alarm.h): what config_load() leaves to
 * the control plane, in CloudWatch's words. Pure: reads the config only.
 * And alarm_rt_parse() (alarm_int.h): PutMetricAlarm's input into a
 * run-time alarm's definition, put through the same check_alarm() as the
 * file's alarms (its messages without the file's place, in PutMetricAlarm's
 * parameter names), plus what only the API has: topic ARNs of this albd's
 * region and account for the actions, Unit, EvaluateLowSampleCountPercentile,
 * Tags; ThresholdMetricId (anomaly detection) is refused.
 *
 * The rules, from the CloudWatch API reference (PutMetricAlarm,
 * PutCompositeAlarm, MetricDataQuery):
 *  - Period: "Valid values are 10, 20, 30, and any multiple of 60"
 *    (high resolution: 10, 20, 30 for a metric stored at 1 s; albd's
 *    store keeps 1 s points for every metric).
 *  - "The value of EvaluationPeriods multiplied by Period ... cannot be
 *    more than 86,400 seconds" ("for an alarm with a period of 1 hour or
 *    more, ... 7 days").
 *  - DatapointsToAlarm at most EvaluationPeriods.
 *  - albd's own: with a period of 10, 20 or 30 s the evaluation range
 *    (EvaluationPeriods + 2 periods) must lie within the 3 hours the store
 *    keeps 1-second points.
 *  - Statistic or ExtendedStatistic, not both; neither with Metrics.
 *  - Metrics: at most 10 queries ("an alarm based on a metric math
 *    expression can use up to 10 metrics"), ids unique, "exactly one ...
 *    must have ReturnData set to true"; "Any expression used in a
 *    PutMetricAlarm operation must return a single time series": the one
 *    with ReturnData may not give an array (METRICS()) and no expression a
 *    number (MAX(m), known without the data: mm_kind()); a query's Period, when given, is
 *    the alarm's (CloudWatch requires the metrics of an alarm to share
 *    its period; the engine evaluates every query on the alarm's grid).
 *  - AlarmRule: names "alarm-name or alarm-ARN" of existing alarms; a
 *    composite alarm may not refer to itself, directly or not.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "alarm.h"
#include "alarm_eval.h"
#include "alarm_int.h"
#include "aws.h"
#include "alarm_rule.h"
#include "metric_math.h"
#include "metric_query.h"
#include "store.h"

#define MAX_QUERIES 10

static const char *const statistics[] = { "SampleCount", "Sum", "Average", "Minimum", "Maximum" };

static int is_statistic(const char *s)
{
	for (size_t i = 0; i < sizeof(statistics) / sizeof(statistics[0]); i++)
		if (strcmp(s, statistics[i]) == 0)
			return 1;
	return 0;
}

static int is_percentile(const char *s)
{
	return s[0] == 'p' && store_stat_valid(s);
}

static int valid_period(unsigned p)
{
	return p == 10 || p == 20 || p == 30 || (p >= 60 && p % 60 == 0);
}

#define FAIL(line, ...)                                                       \
	do {                                                                  \
		int n_ = snprintf(err, errlen, "%s:%d: ", cfg->path, (line)); \
		if (n_ >= 0 && (size_t)n_ < errlen)                           \
			snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__); \
		return -1;                                                    \
	} while (0)

/* Does query ID of A reach itself through the expressions? */
static int query_cycle(const struct cfg_alarm *a, size_t i, unsigned char *mark, struct mm_expr **ex)
{
	if (mark[i] == 1)
		return 1;
	if (mark[i] == 2 || !ex[i])
		return 0;
	mark[i] = 1;
	const char *const *ids;
	int all = 0;
	size_t n = mm_ids(ex[i], &ids, &all);
	for (size_t k = 0; k < n; k++)
		for (size_t j = 0; j < a->nmetrics; j++)
			if (strcmp(a->metrics[j].id, ids[k]) == 0 && query_cycle(a, j, mark, ex))
				return 1;
	mark[i] = 2;
	return 0;
}

struct kinds {
	const struct cfg_alarm *a;
	struct mm_expr **ex;
	enum mm_kind kind[MAX_QUERIES];   /* each query's, once worked out */
	unsigned char known[MAX_QUERIES];
};

/* The kind of query ID's result (mm_kind()): a metric's is a series. The
 * ids are known and without a cycle (checked first). Each query's kind is
 * worked out once: "e2 = e1+e1+...", "e1 = m+m+..." would otherwise cost
 * the product of the references. */
static enum mm_kind query_kind(void *arg, const char *id)
{
	struct kinds *k = arg;

	for (size_t j = 0; j < k->a->nmetrics; j++) {
		if (strcmp(k->a->metrics[j].id, id) != 0)
			continue;
		if (!k->known[j]) {
			k->kind[j] = k->ex[j] ? mm_kind(k->ex[j], query_kind, arg) : MM_SERIES;
			k->known[j] = 1;
		}
		return k->kind[j];
	}
	return MM_UNKNOWN;
}

static int unit_known(const char *u);

static int check_metrics(const struct albd_config *cfg, const struct cfg_alarm *a, char *err, size_t errlen)
{
	struct mm_expr *ex[MAX_QUERIES] = { 0 };
	unsigned char mark[MAX_QUERIES] = { 0 };
	size_t nret = 0;
	int rc = -1;

	if (a->nmetrics > MAX_QUERIES)
		FAIL(a->line, "alarms.%s: metrics: at most %d queries", a->name, MAX_QUERIES);
	if (a->statistic || a->extended_statistic)
		FAIL(a->line, "alarms.%s: %s: not with metrics (each query has its own statistic)", a->name,
		     a->statistic ? "statistic" : "extended_statistic");
	for (size_t i = 0; i < a->nmetrics; i++) {
		const struct cfg_alarm_query *q = &a->metrics[i];
		char why[256];
		if (!mquery_valid_id(q->id)) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.id: \"%s\" is not a lower-case letter then "
					      "letters, digits or _",
				 cfg->path, q->line, a->name, q->id ? q->id : "");
			goto out;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(a->metrics[k].id, q->id) == 0) {
				snprintf(err, errlen, "%s:%d: alarms.%s: metrics.id: %s is used twice", cfg->path,
					 q->line, a->name, q->id);
				goto out;
			}
		}
		if (!!q->expression == !!q->metric) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s: exactly one of expression and metric",
				 cfg->path, q->line, a->name, q->id);
			goto out;
		}
		if (q->return_data)
			nret++;
		if (q->period && !valid_period(q->period)) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.period: %u is not 10, 20, 30 or a "
					      "multiple of 60",
				 cfg->path, q->line, a->name, q->id, q->period);
			goto out;
		}
		/* CloudWatch: the metrics of an alarm share its period (the
		 * engine evaluates every query on the alarm's grid) */
		if (q->period && q->period != a->period) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.period: %u is not the alarm's period "
					      "(%u); the metrics of an alarm must have its period",
				 cfg->path, q->line, a->name, q->id, q->period, a->period);
			goto out;
		}
		if (q->expression) {
			if (!(ex[i] = mm_parse(q->expression, why, sizeof(why)))) {
				snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.expression: %s", cfg->path, q->line,
					 a->name, q->id, why);
				goto out;
			}
			continue;
		}
		if (q->unit && !unit_known(q->unit)) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.unit: \"%s\" is not one of CloudWatch's units "
					      "(Seconds, Bytes, Count, Percent, None, ...)",
				 cfg->path, q->line, a->name, q->id, q->unit);
			goto out;
		}
		if (!q->stat || !(is_statistic(q->stat) || is_percentile(q->stat))) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.statistic: \"%s\" is not SampleCount, Sum, "
					      "Average, Minimum, Maximum or pNN",
				 cfg->path, q->line, a->name, q->id, q->stat ? q->stat : "");
			goto out;
		}
		if (q->ndims > MQUERY_MAX_DIMS) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.dimensions: at most %d", cfg->path,
				 q->line, a->name, q->id, MQUERY_MAX_DIMS);
			goto out;
		}
	}
	if (nret != 1) {
		snprintf(err, errlen, "%s:%d: alarms.%s: metrics: exactly one query must have return_data = true "
				      "(%zu have)",
			 cfg->path, a->line, a->name, nret);
		goto out;
	}
	for (size_t i = 0; i < a->nmetrics; i++) {
		if (!ex[i])
			continue;
		const char *const *ids;
		int all = 0;
		size_t n = mm_ids(ex[i], &ids, &all);
		for (size_t k = 0; k < n; k++) {
			size_t j;
			for (j = 0; j < a->nmetrics; j++)
				if (strcmp(a->metrics[j].id, ids[k]) == 0)
					break;
			if (j == a->nmetrics) {
				snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.expression: no query has the id %s",
					 cfg->path, a->metrics[i].line, a->name, a->metrics[i].id, ids[k]);
				goto out;
			}
		}
		memset(mark, 0, sizeof(mark));
		if (query_cycle(a, i, mark, ex)) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.expression: refers to itself", cfg->path,
				 a->metrics[i].line, a->name, a->metrics[i].id);
			goto out;
		}
	}
	/* "The final result of any math expression must be a single time
	 * series or an array of time series", and "Any expression used in a
	 * PutMetricAlarm operation must return a single time series" (what
	 * depends on the data, IF(1 > x, m, 5), is the evaluation's to refuse) */
	struct kinds kc = { .a = a, .ex = ex };
	for (size_t i = 0; i < a->nmetrics; i++) {
		if (!ex[i])
			continue;
		enum mm_kind k = mm_kind(ex[i], query_kind, &kc);
		if (k == MM_SCALAR) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.expression: the result is a single number, not "
					      "a time series%s",
				 cfg->path, a->metrics[i].line, a->name, a->metrics[i].id,
				 a->metrics[i].return_data ? "; an alarm's expression must return a single time series"
							   : " (TIME_SERIES(x) makes a time series of the number x)");
			goto out;
		}
		if (k == MM_ARRAY && a->metrics[i].return_data) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.expression: the result is an array of time "
					      "series; an alarm's expression must return a single time series (SUM, AVG, "
					      "MIN or MAX of the array makes one)",
				 cfg->path, a->metrics[i].line, a->name, a->metrics[i].id);
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < MAX_QUERIES; i++)
		mm_free(ex[i]);
	return rc;
}

static int check_alarm(const struct albd_config *cfg, const struct cfg_alarm *a, char *err, size_t errlen)
{
	enum alarm_cmp cmp;
	enum alarm_missing mis;

	if (!!a->metric == !!a->nmetrics)
		FAIL(a->line, "alarms.%s: metric: exactly one of metric and metrics", a->name);
	if (a->metric) {
		if (!!a->statistic == !!a->extended_statistic)
			FAIL(a->line, "alarms.%s: statistic: exactly one of statistic and extended_statistic",
			     a->name);
		if (a->statistic && !is_statistic(a->statistic))
			FAIL(a->line, "alarms.%s: statistic: \"%s\" is not SampleCount, Sum, Average, Minimum or "
				      "Maximum",
			     a->name, a->statistic);
		if (a->extended_statistic && !is_percentile(a->extended_statistic))
			FAIL(a->line, "alarms.%s: extended_statistic: \"%s\" is not a percentile (p0.0 to p100, "
				      "e.g. p99 or p99.9)",
			     a->name, a->extended_statistic);
		if (a->ndims > MQUERY_MAX_DIMS)
			FAIL(a->line, "alarms.%s: dimensions: at most %d", a->name, MQUERY_MAX_DIMS);
	} else if (check_metrics(cfg, a, err, errlen) < 0) {
		return -1;
	}
	if (!valid_period(a->period))
		FAIL(a->line, "alarms.%s: period: %u is not 10, 20, 30 or a multiple of 60", a->name, a->period);
	if (a->evaluation_periods < 1)
		FAIL(a->line, "alarms.%s: evaluation_periods: at least 1", a->name);
	uint64_t span = (uint64_t)a->period * a->evaluation_periods;
	if (span > (a->period >= 3600 ? 7 * 86400u : 86400u))
		FAIL(a->line, "alarms.%s: evaluation_periods: times period (%llu s) is more than %s", a->name,
		     (unsigned long long)span, a->period >= 3600 ? "7 days" : "one day (86400 s)");
	/* albd's own limit: a period under a minute reads 1-second points,
	 * kept 3 hours, so the evaluation range (N + 2 periods) must fit */
	if (a->period < 60 && ((uint64_t)a->evaluation_periods + 2) * a->period > 3 * 3600)
		FAIL(a->line, "alarms.%s: evaluation_periods: with a period of %u s, at most %u (the evaluation "
			      "range of evaluation_periods + 2 periods must fit in the 3 hours of 1-second data)",
		     a->name, a->period, 3 * 3600 / a->period - 2);
	if (a->datapoints_to_alarm > a->evaluation_periods)
		FAIL(a->line, "alarms.%s: datapoints_to_alarm: %u is more than evaluation_periods (%u)", a->name,
		     a->datapoints_to_alarm, a->evaluation_periods);
	if (!a->comparison || alarm_cmp_parse(a->comparison, &cmp) < 0)
		FAIL(a->line, "alarms.%s: comparison: \"%s\" is not GreaterThanThreshold, "
			      "GreaterThanOrEqualToThreshold, LessThanThreshold or LessThanOrEqualToThreshold",
		     a->name, a->comparison ? a->comparison : "");
	if (!isfinite(a->threshold))
		FAIL(a->line, "alarms.%s: threshold: must be a finite number", a->name);
	if (a->treat_missing_data && alarm_missing_parse(a->treat_missing_data, &mis) < 0)
		FAIL(a->line, "alarms.%s: treat_missing_data: \"%s\" is not missing, ignore, breaching or "
			      "notBreaching",
		     a->name, a->treat_missing_data);
	return 0;
}

/* The alarm of the config that NAME (an alarm name or its ARN) means:
 * *KIND 0 metric alarm, 1 composite; returns its index or -1. */
static long find_alarm(const struct albd_config *cfg, const char *name, int *kind)
{
	char prefix[256];
	int n = snprintf(prefix, sizeof(prefix), "arn:aws:cloudwatch:%s:%s:alarm:", cfg->region ? cfg->region : "local",
			 cfg->account_id ? cfg->account_id : "000000000000");
	if (n > 0 && (size_t)n < sizeof(prefix) && strncmp(name, prefix, (size_t)n) == 0)
		name += n;
	for (size_t i = 0; i < cfg->nalarms; i++)
		if (strcmp(cfg->alarms[i].name, name) == 0) {
			*kind = 0;
			return (long)i;
		}
	for (size_t i = 0; i < cfg->ncomposite_alarms; i++)
		if (strcmp(cfg->composite_alarms[i].name, name) == 0) {
			*kind = 1;
			return (long)i;
		}
	return -1;
}

/* Does composite alarm I reach itself through its rule? MARK: 0 new, 1 on
 * the path, 2 done. */
static int rule_cycle(const struct albd_config *cfg, struct ar_rule **rules, unsigned char *mark, size_t i)
{
	if (mark[i] == 1)
		return 1;
	if (mark[i] == 2)
		return 0;
	mark[i] = 1;
	const char *const *names;
	size_t n = ar_names(rules[i], &names);
	for (size_t k = 0; k < n; k++) {
		int kind;
		long j = find_alarm(cfg, names[k], &kind);
		if (j >= 0 && kind == 1 && rule_cycle(cfg, rules, mark, (size_t)j))
			return 1;
	}
	mark[i] = 2;
	return 0;
}

int alarm_check(const struct albd_config *cfg, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; i < cfg->nalarms; i++)
		if (check_alarm(cfg, &cfg->alarms[i], err, errlen) < 0)
			return -1;
	if (!cfg->ncomposite_alarms)
		return 0;
	struct ar_rule **rules = calloc(cfg->ncomposite_alarms, sizeof(*rules));
	unsigned char *mark = calloc(cfg->ncomposite_alarms, 1);
	if (!rules || !mark) {
		snprintf(err, errlen, "%s: out of memory", cfg->path);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < cfg->ncomposite_alarms && rc == 0; i++) {
		const struct cfg_composite_alarm *c = &cfg->composite_alarms[i];
		char why[256];
		if (!c->rule || !(rules[i] = ar_parse(c->rule, why, sizeof(why)))) {
			snprintf(err, errlen, "%s:%d: composite_alarms.%s: rule: %s", cfg->path, c->line, c->name,
				 c->rule ? why : "required");
			rc = -1;
			break;
		}
		const char *const *names;
		size_t n = ar_names(rules[i], &names);
		for (size_t k = 0; k < n; k++) {
			int kind;
			if (find_alarm(cfg, names[k], &kind) < 0) {
				snprintf(err, errlen, "%s:%d: composite_alarms.%s: rule: \"%s\" is not an alarm or "
						      "composite alarm of the configuration",
					 cfg->path, c->line, c->name, names[k]);
				rc = -1;
				break;
			}
		}
	}
	for (size_t i = 0; i < cfg->ncomposite_alarms && rc == 0; i++) {
		memset(mark, 0, cfg->ncomposite_alarms);
		if (rule_cycle(cfg, rules, mark, i)) {
			const struct cfg_composite_alarm *c = &cfg->composite_alarms[i];
			snprintf(err, errlen, "%s:%d: composite_alarms.%s: rule: refers to itself (through the "
					      "composite alarms it names)",
				 cfg->path, c->line, c->name);
			rc = -1;
		}
	}
out:
	for (size_t i = 0; rules && i < cfg->ncomposite_alarms; i++)
		ar_free(rules[i]);
	free(rules);
	free(mark);
	return rc;
}

/* ------------------------------------------------------------ PutMetricAlarm */

/* The error of a run-time definition: Fill E; returns -1. */
int alarm_fail(struct alarm_err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void alarm_rt_free(struct alarm_rt *rt)
{
	if (!rt)
		return;
	struct cfg_alarm *c = &rt->c;
	free(c->name);
	free(c->description);
	free(c->namespace);
	free(c->metric);
	for (size_t i = 0; i < c->ndims; i++) {
		free(c->dims[i].name);
		free(c->dims[i].value);
	}
	free(c->dims);
	free(c->statistic);
	free(c->extended_statistic);
	for (size_t k = 0; k < c->nmetrics; k++) {
		struct cfg_alarm_query *q = &c->metrics[k];
		free(q->id);
		free(q->expression);
		free(q->label);
		free(q->namespace);
		free(q->metric);
		for (size_t i = 0; i < q->ndims; i++) {
			free(q->dims[i].name);
			free(q->dims[i].value);
		}
		free(q->dims);
		free(q->stat);
		free(q->unit);
	}
	free(c->metrics);
	free(c->comparison);
	free(c->treat_missing_data);
	char **lists[3] = { c->alarm_actions, c->ok_actions, c->insufficient_data_actions };
	size_t ns[3] = { c->nalarm_actions, c->nok_actions, c->ninsufficient_data_actions };
	for (int l = 0; l < 3; l++) {
		for (size_t i = 0; i < ns[l]; i++)
			free(lists[l][i]);
		free(lists[l]);
	}
	free(rt->unit);
	free(rt->elscp);
	json_decref(rt->tags);
	free(rt);
}

/* A copy of the string under KEY of IN into *OUT (NULL when absent).
 * Returns 0, or -1 with E when present but not a string, empty (unless
 * FREE_TEXT), longer than MAX bytes or holding control characters (but
 * for FREE_TEXT: AlarmDescription). */
static int get_text(const json_t *in, const char *key, size_t max, int free_text, char **out, struct alarm_err *e)
{
	const json_t *v = json_object_get(in, key);
	const char *s;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!(s = json_string_value(v)))
		return alarm_fail(e, 400, "ValidationError", "%s: expected a string", key);
	size_t n = strlen(s);
	if ((!n && !free_text) || n > max)
		return alarm_fail(e, 400, "ValidationError", "%s: expected %d to %zu characters", key, free_text ? 0 : 1,
				  max);
	for (const char *p = s; *p && !free_text; p++)
		if ((unsigned char)*p < 0x20)
			return alarm_fail(e, 400, "ValidationError", "%s: control characters are not allowed", key);
	if (!(*out = strdup(s)))
		return alarm_fail(e, 500, "InternalFailure", "out of memory");
	return 0;
}

/* An unsigned integer under KEY: 0 absent, 1 read, -1 with E (not an
 * integer, or outside 1..MAX). */
static int get_uint(const json_t *in, const char *key, long long max, unsigned *out, struct alarm_err *e)
{
	long long v;
	int r = aws_in_int(in, key, &v);

	if (r == 0)
		return 0;
	if (r < 0 || v < 1 || v > max)
		return alarm_fail(e, 400, "ValidationError", "%s: expected an integer from 1 to %lld", key, max);
	*out = (unsigned)v;
	return 1;
}

/* CloudWatch's Dimensions list [{Name, Value}] under KEY into *D, *ND. */
static int get_dims(const json_t *in, const char *key, struct cfg_dim **d, size_t *nd, struct alarm_err *e)
{
	const json_t *l = aws_in_list(in, key), *x;
	size_t i;

	*d = NULL;
	*nd = 0;
	if (aws_in_list_bad(in, key))
		return alarm_fail(e, 400, "ValidationError", "%s: expected a list", key);
	if (!l)
		return 0;
	if (json_array_size(l) > 30)
		return alarm_fail(e, 400, "ValidationError", "%s: at most 30 dimensions", key);
	if (!json_array_size(l))
		return 0;
	if (!(*d = calloc(json_array_size(l), sizeof(**d))))
		return alarm_fail(e, 500, "InternalFailure", "out of memory");
	json_array_foreach(l, i, x)
	{
		struct cfg_dim *dim = &(*d)[i];
		(*nd)++;
		if (get_text(x, "Name", 255, 0, &dim->name, e) < 0 || get_text(x, "Value", 1024, 0, &dim->value, e) < 0)
			return -1;
		if (!dim->name || !dim->value)
			return alarm_fail(e, 400, "ValidationError", "%s.member.%zu: Name and Value are required", key,
					  i + 1);
		for (size_t k = 0; k < i; k++)
			if (strcmp((*d)[k].name, dim->name) == 0)
				return alarm_fail(e, 400, "InvalidParameterCombination",
						  "%s: the dimension %s is given twice", key, dim->name);
	}
	return 0;
}

/* SNS's topic name: 1..256 of A-Z a-z 0-9 _ -. */
static int topic_name_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
	return n > 0 && n <= 256 && !s[n];
}

/* The topic ARNs under KEY (at most 5) into topic names. */
static int get_actions(const json_t *in, const char *key, const char *region, const char *account, char ***out,
		       size_t *n, struct alarm_err *e)
{
	const json_t *l = aws_in_list(in, key), *x;
	size_t i;

	*out = NULL;
	*n = 0;
	if (aws_in_list_bad(in, key))
		return alarm_fail(e, 400, "ValidationError", "%s: expected a list", key);
	if (!l || !json_array_size(l))
		return 0;
	if (json_array_size(l) > 5)
		return alarm_fail(e, 400, "ValidationError", "%s: at most 5 actions", key);
	if (!(*out = calloc(json_array_size(l), sizeof(**out))))
		return alarm_fail(e, 500, "InternalFailure", "out of memory");
	json_array_foreach(l, i, x)
	{
		const char *arn = json_string_value(x);
		if (!arn)
			return alarm_fail(e, 400, "ValidationError", "%s.member.%zu: expected an ARN", key, i + 1);
		/* arn:aws:sns:REGION:ACCOUNT:NAME */
		if (strncmp(arn, "arn:aws:sns:", 12) != 0)
			return alarm_fail(e, 400, "ValidationError",
					  "%s.member.%zu: %s is not an SNS topic ARN (albd's alarms notify topics only)",
					  key, i + 1, arn);
		const char *r = arn + 12, *acc = strchr(r, ':'), *name = acc ? strchr(acc + 1, ':') : NULL;
		if (!acc || !name || !topic_name_ok(name + 1))
			return alarm_fail(e, 400, "ValidationError", "%s.member.%zu: %s is not a topic ARN "
								     "(arn:aws:sns:REGION:ACCOUNT:NAME)",
					  key, i + 1, arn);
		if (region && ((size_t)(acc - r) != strlen(region) || strncmp(r, region, strlen(region)) != 0 ||
			       (size_t)(name - acc - 1) != strlen(account) || strncmp(acc + 1, account, strlen(account)) != 0))
			return alarm_fail(e, 400, "ValidationError",
					  "%s.member.%zu: %s is not a topic of this albd (region %s, account %s)", key,
					  i + 1, arn, region, account);
		for (size_t k = 0; k < *n; k++)
			if (strcmp((*out)[k], name + 1) == 0)
				return alarm_fail(e, 400, "ValidationError", "%s: %s is given twice", key, arn);
		if (!((*out)[(*n)++] = strdup(name + 1)))
			return alarm_fail(e, 500, "InternalFailure", "out of memory");
	}
	return 0;
}

static const char *const units[] = { "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
				     "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
				     "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
				     "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
				     "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None" };

static int unit_known(const char *u)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(u, units[i]) == 0)
			return 1;
	return 0;
}

static int get_unit(const json_t *in, char **out, struct alarm_err *e)
{
	if (get_text(in, "Unit", 64, 0, out, e) < 0)
		return -1;
	if (!*out || unit_known(*out))
		return 0;
	return alarm_fail(e, 400, "ValidationError", "Unit: \"%s\" is not one of CloudWatch's units (Seconds, Bytes, "
						     "Count, Percent, None, ...)",
			  *out);
}

/* Member I of Metrics (a MetricDataQuery) into Q: the period is its
 * MetricStat's (or an expression's Period). */
static int get_query(const json_t *x, size_t i, struct cfg_alarm_query *q, struct alarm_err *e)
{
	int rd = 1;

	if (get_text(x, "Id", 255, 0, &q->id, e) < 0 || get_text(x, "Expression", 2048, 0, &q->expression, e) < 0 ||
	    get_text(x, "Label", 1024, 0, &q->label, e) < 0)
		return -1;
	if (!q->id)
		return alarm_fail(e, 400, "ValidationError", "Metrics.member.%zu.Id: required", i + 1);
	if (aws_in_bool(x, "ReturnData", &rd) < 0)
		return alarm_fail(e, 400, "ValidationError", "Metrics.member.%zu.ReturnData: true or false", i + 1);
	q->return_data = rd;
	if (get_uint(x, "Period", 7 * 86400, &q->period, e) < 0)
		return -1;
	const json_t *ms = aws_in_obj(x, "MetricStat");
	if (ms && q->expression)
		return alarm_fail(e, 400, "ValidationError",
				  "Metrics.member.%zu: exactly one of MetricStat and Expression", i + 1);
	if (!ms)
		return 0;
	const json_t *m = aws_in_obj(ms, "Metric");
	if (!m)
		return alarm_fail(e, 400, "ValidationError", "Metrics.member.%zu.MetricStat.Metric: required", i + 1);
	if (get_text(m, "Namespace", 255, 0, &q->namespace, e) < 0 || get_text(m, "MetricName", 255, 0, &q->metric, e) < 0 ||
	    get_dims(m, "Dimensions", &q->dims, &q->ndims, e) < 0 || get_text(ms, "Stat", 64, 0, &q->stat, e) < 0 ||
	    get_unit(ms, &q->unit, e) < 0)
		return -1;
	if (!q->namespace || !q->metric)
		return alarm_fail(e, 400, "ValidationError",
				  "Metrics.member.%zu.MetricStat.Metric: Namespace and MetricName are required", i + 1);
	if (!q->stat)
		return alarm_fail(e, 400, "ValidationError", "Metrics.member.%zu.MetricStat.Stat: required", i + 1);
	unsigned p = 0;
	if (get_uint(ms, "Period", 7 * 86400, &p, e) < 0)
		return -1;
	if (!p)
		return alarm_fail(e, 400, "ValidationError", "Metrics.member.%zu.MetricStat.Period: required", i + 1);
	if (q->period && q->period != p)
		return alarm_fail(e, 400, "ValidationError",
				  "Metrics.member.%zu: Period and MetricStat.Period differ", i + 1);
	q->period = p;
	return 0;
}

/* What check_alarm() calls a field, in PutMetricAlarm's words. */
static void aws_words(char *msg, size_t len)
{
	static const char *const map[][2] = {
		{ "metric", "MetricName" },
		{ "metrics", "Metrics" },
		{ "statistic", "Statistic" },
		{ "extended_statistic", "ExtendedStatistic" },
		{ "dimensions", "Dimensions" },
		{ "period", "Period" },
		{ "evaluation_periods", "EvaluationPeriods" },
		{ "datapoints_to_alarm", "DatapointsToAlarm" },
		{ "comparison", "ComparisonOperator" },
		{ "threshold", "Threshold" },
		{ "treat_missing_data", "TreatMissingData" },
	};
	size_t n = strcspn(msg, ":."), ml = strlen(msg);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t k = strlen(map[i][0]), w = strlen(map[i][1]);
		if (n == k && strncmp(msg, map[i][0], k) == 0 && ml - k + w < len) {
			memmove(msg + w, msg + k, ml - k + 1);
			memcpy(msg, map[i][1], w);
			return;
		}
	}
}

struct alarm_rt *alarm_rt_parse(const json_t *in, const char *region, const char *account, struct alarm_err *e)
{
	struct alarm_rt *rt = calloc(1, sizeof(*rt));
	struct cfg_alarm *c;
	int ae = 1;

	e->code[0] = '\0';
	if (!rt) {
		alarm_fail(e, 500, "InternalFailure", "out of memory");
		return NULL;
	}
	c = &rt->c;
	if (get_text(in, "AlarmName", 255, 0, &c->name, e) < 0)
		goto err;
	if (!c->name) {
		alarm_fail(e, 400, "MissingParameter", "The parameter AlarmName is required.");
		goto err;
	}
	if (get_text(in, "AlarmDescription", 1024, 1, &c->description, e) < 0)
		goto err;
	if (aws_in_bool(in, "ActionsEnabled", &ae) < 0) {
		alarm_fail(e, 400, "ValidationError", "ActionsEnabled: true or false");
		goto err;
	}
	c->actions_enabled = ae;
	if (get_actions(in, "OKActions", region, account, &c->ok_actions, &c->nok_actions, e) < 0 ||
	    get_actions(in, "AlarmActions", region, account, &c->alarm_actions, &c->nalarm_actions, e) < 0 ||
	    get_actions(in, "InsufficientDataActions", region, account, &c->insufficient_data_actions,
			&c->ninsufficient_data_actions, e) < 0)
		goto err;
	if (get_text(in, "MetricName", 255, 0, &c->metric, e) < 0 || get_text(in, "Namespace", 255, 0, &c->namespace, e) < 0 ||
	    get_text(in, "Statistic", 64, 0, &c->statistic, e) < 0 ||
	    get_text(in, "ExtendedStatistic", 64, 0, &c->extended_statistic, e) < 0 ||
	    get_dims(in, "Dimensions", &c->dims, &c->ndims, e) < 0 || get_unit(in, &rt->unit, e) < 0 ||
	    get_text(in, "ComparisonOperator", 64, 0, &c->comparison, e) < 0 ||
	    get_text(in, "TreatMissingData", 255, 0, &c->treat_missing_data, e) < 0 ||
	    get_text(in, "EvaluateLowSampleCountPercentile", 255, 0, &rt->elscp, e) < 0)
		goto err;
	if (get_uint(in, "Period", 7 * 86400, &c->period, e) < 0 ||
	    get_uint(in, "EvaluationPeriods", 100000, &c->evaluation_periods, e) < 0 ||
	    get_uint(in, "DatapointsToAlarm", 100000, &c->datapoints_to_alarm, e) < 0)
		goto err;
	if (!c->evaluation_periods) {
		alarm_fail(e, 400, "MissingParameter", "The parameter EvaluationPeriods is required.");
		goto err;
	}
	if (!c->comparison) {
		alarm_fail(e, 400, "MissingParameter", "The parameter ComparisonOperator is required.");
		goto err;
	}
	if (json_object_get(in, "ThresholdMetricId")) {
		alarm_fail(e, 400, "ValidationError",
			   "ThresholdMetricId: anomaly detection bands are not supported by albd; give a Threshold");
		goto err;
	}
	int tr = aws_in_num(in, "Threshold", &c->threshold);
	if (tr <= 0) {
		alarm_fail(e, 400, "ValidationError", tr < 0 ? "Threshold: expected a number"
							     : "Threshold: required (albd has no anomaly detection)");
		goto err;
	}
	if (rt->elscp && strcmp(rt->elscp, "evaluate") != 0 && strcmp(rt->elscp, "ignore") != 0) {
		alarm_fail(e, 400, "ValidationError", "EvaluateLowSampleCountPercentile: \"%s\" is not evaluate or ignore",
			   rt->elscp);
		goto err;
	}
	const json_t *tags = aws_in_list(in, "Tags"), *x;
	size_t i;
	if (aws_in_list_bad(in, "Tags") || aws_in_list_bad(in, "Metrics")) {
		alarm_fail(e, 400, "ValidationError", "%s: expected a list", aws_in_list_bad(in, "Tags") ? "Tags" : "Metrics");
		goto err;
	}
	if (tags && json_array_size(tags)) {
		if (json_array_size(tags) > 50) {
			alarm_fail(e, 400, "ValidationError", "Tags: at most 50");
			goto err;
		}
		rt->tags = json_array();
		json_array_foreach(tags, i, x)
		{
			const char *k = aws_in_str(x, "Key"), *v = aws_in_str(x, "Value");
			if (!k || !v || !*k || strlen(k) > 128 || strlen(v) > 256) {
				alarm_fail(e, 400, "ValidationError",
					   "Tags.member.%zu: Key (1 to 128 characters) and Value (0 to 256) are required",
					   i + 1);
				goto err;
			}
			json_array_append_new(rt->tags, json_pack("{s:s, s:s}", "Key", k, "Value", v));
		}
	}
	const json_t *ml = aws_in_list(in, "Metrics");
	if (ml && json_array_size(ml)) {
		if (c->metric || c->namespace || c->statistic || c->extended_statistic || c->ndims || c->period) {
			alarm_fail(e, 400, "InvalidParameterCombination",
				   "Metrics: not with MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions "
				   "or Period (each query has its own)");
			goto err;
		}
		if (json_array_size(ml) > MAX_QUERIES) {
			alarm_fail(e, 400, "ValidationError", "Metrics: at most %d queries", MAX_QUERIES);
			goto err;
		}
		if (!(c->metrics = calloc(json_array_size(ml), sizeof(*c->metrics)))) {
			alarm_fail(e, 500, "InternalFailure", "out of memory");
			goto err;
		}
		json_array_foreach(ml, i, x)
		{
			c->nmetrics++;
			if (get_query(x, i, &c->metrics[i], e) < 0)
				goto err;
		}
		/* the alarm's period: its queries' (check_alarm() wants them equal) */
		for (i = 0; i < c->nmetrics && !c->period; i++)
			if (c->metrics[i].metric)
				c->period = c->metrics[i].period;
		for (i = 0; i < c->nmetrics && !c->period; i++)
			c->period = c->metrics[i].period;
		if (!c->period) {
			alarm_fail(e, 400, "ValidationError", "Metrics: no query has a Period");
			goto err;
		}
	} else {
		if (!c->metric || !c->namespace) {
			alarm_fail(e, 400, "ValidationError", "MetricName and Namespace are required (or Metrics)");
			goto err;
		}
		if (!c->period) {
			alarm_fail(e, 400, "ValidationError", "Period: required with MetricName");
			goto err;
		}
		if (c->statistic && c->extended_statistic) {
			alarm_fail(e, 400, "InvalidParameterCombination", "Statistic: not with ExtendedStatistic");
			goto err;
		}
		if (!c->statistic && !c->extended_statistic) {
			alarm_fail(e, 400, "ValidationError", "Statistic or ExtendedStatistic is required");
			goto err;
		}
	}
	/* the file's alarms' checks, in PutMetricAlarm's words: without
	 * the ":0: alarms.NAME: " that names a place in the file */
	struct albd_config fake = { .path = "" };
	char err[512], prefix[300];
	if (check_alarm(&fake, c, err, sizeof(err)) < 0) {
		int n = snprintf(prefix, sizeof(prefix), ":0: alarms.%s: ", c->name);
		char out[512];
		snprintf(out, sizeof(out), "%s",
			 n > 0 && (size_t)n < sizeof(prefix) && strncmp(err, prefix, (size_t)n) == 0 ? err + n : err);
		aws_words(out, sizeof(out));
		alarm_fail(e, 400, "ValidationError", "%s", out);
		goto err;
	}
	return rt;
err:
	alarm_rt_free(rt);
	return NULL;
}
