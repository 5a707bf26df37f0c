/* alarm_check.c - alarm_check() (alarm.h): what config_load() leaves to
 * the control plane, in CloudWatch's words. Pure: reads the config only.
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
 *    must have ReturnData set to true"; a query's Period, when given, is
 *    the alarm's (CloudWatch requires the metrics of an alarm to share
 *    its period; the engine evaluates every query on the alarm's grid).
 *  - AlarmRule: names "alarm-name or alarm-ARN" of existing alarms; a
 *    composite alarm may not refer to itself, directly or not.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "alarm.h"
#include "alarm_eval.h"
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
		if (!q->stat || !(is_statistic(q->stat) || is_percentile(q->stat))) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.statistic: \"%s\" is not SampleCount, Sum, "
					      "Average, Minimum, Maximum or pNN",
				 cfg->path, q->line, a->name, q->id, q->stat ? q->stat : "");
			goto out;
		}
		if (q->ndims > 10) {
			snprintf(err, errlen, "%s:%d: alarms.%s: metrics.%s.dimensions: at most 10", cfg->path,
				 q->line, a->name, q->id);
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
		if (a->ndims > 10)
			FAIL(a->line, "alarms.%s: dimensions: at most 10", a->name);
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
