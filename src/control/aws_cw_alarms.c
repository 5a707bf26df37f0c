/* aws_cw_alarms.c - CloudWatch's alarm operations (monitoring 2010-08-01)
 * over aws.h's wire (aws.c):
 *
 *   DescribeAlarms           AlarmNames, AlarmNamePrefix, AlarmTypes, StateValue,
 *                            ActionPrefix, ChildrenOfAlarmName, ParentsOfAlarmName,
 *                            MaxRecords (1..100, 50), NextToken; by name
 *   DescribeAlarmsForMetric  MetricName, Namespace, Statistic, ExtendedStatistic,
 *                            Dimensions, Period, Unit: the single-metric alarms
 *   DescribeAlarmHistory     AlarmName, AlarmTypes, HistoryItemType, StartDate,
 *                            EndDate, MaxRecords (1..100, 100), NextToken, ScanBy
 *   SetAlarmState            AlarmName, StateValue, StateReason, StateReasonData
 *   PutMetricAlarm           a run-time alarm (alarm_rt_parse(): every field of
 *                            PutMetricAlarm but ThresholdMetricId), kept in
 *                            state_dir/alarms_runtime.json
 *   DeleteAlarms             run-time alarms; the file's are refused
 *   Enable/DisableAlarmActions  ActionsEnabled, kept in alarms.json
 *
 * The logic is the engine's and the JSON API's (alarm_int.h: alarm_query_*,
 * alarm_describe, alarm_history_query, alarm_api_set_state, alarm_rt_*):
 * here are AWS's defaults (AlarmTypes: metric alarms only), member order,
 * timestamps and pagination.
 *
 * Thread: control.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../core/config.h"
#include "../proxy/gen.h"
#include "alarm_int.h"
#include "alarm_rule.h"
#include "control/aws.h"

static json_t *fail(struct aws_call *c, const struct alarm_err *e)
{
	return aws_fail(c, e->status, e->code, "%s", e->msg);
}

/* The strings of list KEY (at most MAX) into V; -1 after aws_fail(). */
static int strings(struct aws_call *c, const char *key, const char **v, size_t max, size_t *n)
{
	const json_t *l = aws_in_list(c->in, key), *x;
	size_t i;

	*n = 0;
	if (aws_in_list_bad(c->in, key)) {
		aws_fail(c, 400, "ValidationError", "%s: expected a list", key);
		return -1;
	}
	json_array_foreach(l, i, x)
	{
		if (!json_is_string(x)) {
			aws_fail(c, 400, "ValidationError", "%s.member.%zu: expected a string", key, i + 1);
			return -1;
		}
		if (*n == max) {
			aws_fail(c, 400, "ValidationError", "%s: at most %zu", key, max);
			return -1;
		}
		v[(*n)++] = json_string_value(x);
	}
	return 0;
}

/* AlarmTypes into *METRIC / *COMPOSITE: without it, metric alarms only
 * (CloudWatch's default). */
static int alarm_types(struct aws_call *c, int *metric, int *composite)
{
	const char *v[2];
	size_t n;
	struct alarm_err e;

	*metric = 1;
	*composite = 0;
	if (strings(c, "AlarmTypes", v, 2, &n) < 0)
		return -1;
	if (n)
		*metric = 0;
	for (size_t i = 0; i < n; i++)
		if (alarm_type_word(v[i], metric, composite, &e) < 0) {
			fail(c, &e);
			return -1;
		}
	return 0;
}

/* MaxRecords (1..100, DEF when absent) and NextToken. */
static int paging(struct aws_call *c, long long def, long long *max, size_t *off)
{
	int r = aws_in_int(c->in, "MaxRecords", max);

	*off = 0;
	if (r == 0)
		*max = def;
	if (r < 0 || *max < 1 || *max > 100) {
		aws_fail(c, 400, "InvalidParameterValue", "MaxRecords: expected an integer from 1 to 100");
		return -1;
	}
	if (aws_page_read(c->in, "NextToken", off) < 0) {
		aws_fail(c, 400, "InvalidNextToken", "NextToken: not a token albd gave");
		return -1;
	}
	return 0;
}

/* A new object of SRC's members (SRC consumed) in the order of KEYS. */
static json_t *ordered(json_t *src, const char *const *keys)
{
	json_t *o = json_object();

	for (size_t i = 0; keys[i]; i++) {
		json_t *v = json_object_get(src, keys[i]);
		if (v)
			json_object_set(o, keys[i], v);
	}
	json_decref(src);
	return o;
}

static const char *const metric_alarm_keys[] = {
	"AlarmName", "AlarmArn", "AlarmDescription", "AlarmConfigurationUpdatedTimestamp", "ActionsEnabled",
	"OKActions", "AlarmActions", "InsufficientDataActions", "StateValue", "StateReason", "StateReasonData",
	"StateUpdatedTimestamp", "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions",
	"Period", "Unit", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
	"TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
	"StateTransitionedTimestamp", NULL
};
static const char *const composite_alarm_keys[] = {
	"ActionsEnabled", "AlarmActions", "AlarmArn", "AlarmConfigurationUpdatedTimestamp", "AlarmDescription",
	"AlarmName", "AlarmRule", "InsufficientDataActions", "OKActions", "StateReason", "StateReasonData",
	"StateUpdatedTimestamp", "StateValue", "StateTransitionedTimestamp", NULL
};
static const char *const query_keys[] = { "Id", "MetricStat", "Expression", "Label", "ReturnData", "Period", NULL };
static const char *const stat_keys[] = { "Metric", "Period", "Stat", "Unit", NULL };
static const char *const metric_keys[] = { "Namespace", "MetricName", "Dimensions", NULL };

/* DescribeAlarms' MetricAlarm or CompositeAlarm for A, in AWS's order. */
static json_t *describe(const struct alarm *a)
{
	json_t *j = alarm_describe(a, aws_out_time);

	if (!j)
		return NULL;
	if (a->composite)
		return ordered(j, composite_alarm_keys);
	json_t *m = json_object_get(j, "Metrics");
	if (m) {
		/* a metric math alarm: the period is its queries' */
		json_object_del(j, "Period");
		size_t i;
		json_t *q;
		json_array_foreach(m, i, q)
		{
			json_t *ms = json_object_get(q, "MetricStat");
			if (ms) {
				json_object_set_new(ms, "Metric",
						    ordered(json_incref(json_object_get(ms, "Metric")), metric_keys));
				json_object_set_new(q, "MetricStat", ordered(json_incref(ms), stat_keys));
			}
			json_array_set_new(m, i, ordered(json_incref(q), query_keys));
		}
	}
	return ordered(j, metric_alarm_keys);
}

/* Does composite alarm P's rule name alarm A? */
static int names_in_rule(const struct alarm *p, const struct alarm *a)
{
	const char *const *names;
	size_t n = p->composite ? ar_names(p->rule, &names) : 0;

	for (size_t i = 0; i < n; i++)
		if (alarm_find(names[i]) == a)
			return 1;
	return 0;
}

/* Metric alarms first, then composite ones, each by name (CloudWatch
 * lists alarms by name). */
static int by_type_name(const void *x, const void *y)
{
	const struct alarm *a = *(const struct alarm *const *)x, *b = *(const struct alarm *const *)y;

	if (a->composite != b->composite)
		return a->composite - b->composite;
	return strcmp(a->name, b->name);
}

static json_t *describe_alarms(struct aws_call *c)
{
	const char *names[101];
	struct alarm_query q = { .names = names };
	struct alarm_err e;
	long long max;
	size_t off;

	if (strings(c, "AlarmNames", names, 101, &q.nnames) < 0 || alarm_types(c, &q.metric, &q.composite) < 0 ||
	    paging(c, 50, &max, &off) < 0)
		return NULL;
	q.prefix = aws_in_str(c->in, "AlarmNamePrefix");
	q.state = aws_in_str(c->in, "StateValue");
	q.action_prefix = aws_in_str(c->in, "ActionPrefix");
	const char *children = aws_in_str(c->in, "ChildrenOfAlarmName");
	const char *parents = aws_in_str(c->in, "ParentsOfAlarmName");
	/* "If you specify ChildrenOfAlarmName, you cannot specify any other
	 * parameters in the request except for MaxRecords and NextToken" */
	if ((children || parents) &&
	    (q.nnames || q.prefix || q.state || q.action_prefix || aws_in_list(c->in, "AlarmTypes") || (children && parents)))
		return aws_fail(c, 400, "InvalidParameterCombination",
				"%s: only with MaxRecords and NextToken", children ? "ChildrenOfAlarmName" : "ParentsOfAlarmName");
	if (alarm_query_check(&q, &e) < 0)
		return fail(c, &e);
	const struct alarm *rel = children ? alarm_find(children) : parents ? alarm_find(parents) : NULL;
	const struct alarm **all = calloc(E.n ? E.n : 1, sizeof(*all));
	size_t n = 0;
	if (!all)
		return aws_fail(c, 500, "InternalFailure", "out of memory");
	for (size_t i = 0; i < E.n; i++) {
		const struct alarm *a = E.a[i];
		if (children || parents) {
			/* the alarms composite CHILDREN names; the composites naming PARENTS */
			if (rel && (children ? names_in_rule(rel, a) : names_in_rule(a, rel)))
				all[n++] = a;
		} else if (alarm_query_match(&q, a)) {
			all[n++] = a;
		}
	}
	qsort(all, n, sizeof(*all), by_type_name);
	json_t *ma = json_array(), *ca = json_array(), *out;
	for (size_t i = off; i < n && i < off + (size_t)max; i++)
		json_array_append_new(all[i]->composite ? ca : ma, describe(all[i]));
	free(all);
	out = json_pack("{s:o, s:o}", "CompositeAlarms", ca, "MetricAlarms", ma);
	if (n > off + (size_t)max)
		json_object_set_new(out, "NextToken", aws_page_token(off + (size_t)max));
	return out;
}

/* Are dimension lists A (NA) and B (NB) the same set? */
static int same_dims(const struct cfg_dim *a, size_t na, const struct cfg_dim *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		size_t k;
		for (k = 0; k < nb; k++)
			if (strcmp(a[i].name, b[k].name) == 0 && strcmp(a[i].value, b[k].value) == 0)
				break;
		if (k == nb)
			return 0;
	}
	return 1;
}

static json_t *describe_alarms_for_metric(struct aws_call *c)
{
	const char *metric = aws_in_str(c->in, "MetricName"), *ns = aws_in_str(c->in, "Namespace");
	const char *stat = aws_in_str(c->in, "Statistic"), *xstat = aws_in_str(c->in, "ExtendedStatistic");
	const char *unit = aws_in_str(c->in, "Unit");
	const json_t *dl = aws_in_list(c->in, "Dimensions"), *x;
	long long period = 0;
	int has_period = aws_in_int(c->in, "Period", &period);
	size_t i, nd = dl ? json_array_size(dl) : 0;

	if (aws_in_list_bad(c->in, "Dimensions"))
		return aws_fail(c, 400, "ValidationError", "Dimensions: expected a list");
	if (!metric)
		return aws_fail(c, 400, "MissingParameter", "The parameter MetricName is required.");
	if (!ns)
		return aws_fail(c, 400, "MissingParameter", "The parameter Namespace is required.");
	if (has_period < 0 || (has_period && period < 1))
		return aws_fail(c, 400, "InvalidParameterValue", "Period: expected a positive integer");
	if (nd > 30)
		return aws_fail(c, 400, "InvalidParameterValue", "Dimensions: at most 30");
	struct cfg_dim dims[30];
	json_array_foreach(dl, i, x)
	{
		dims[i].name = (char *)aws_in_str(x, "Name");
		dims[i].value = (char *)aws_in_str(x, "Value");
		if (!dims[i].name || !dims[i].value)
			return aws_fail(c, 400, "InvalidParameterValue", "Dimensions.member.%zu: Name and Value are required",
					i + 1);
	}
	json_t *ma = json_array();
	for (size_t k = 0; k < E.n; k++) {
		const struct alarm *a = E.a[k];
		const struct cfg_alarm *m = a->composite ? NULL : a->mc;
		const char *ans = m && m->namespace ? m->namespace : "AWS/ApplicationELB";
		if (!m || !m->metric || strcmp(m->metric, metric) != 0 || strcmp(ans, ns) != 0)
			continue;
		if ((stat && (!m->statistic || strcmp(stat, m->statistic) != 0)) ||
		    (xstat && (!m->extended_statistic || strcmp(xstat, m->extended_statistic) != 0)) ||
		    (has_period && (long long)m->period != period) ||
		    (unit && (!a->rt || !a->rt->unit || strcmp(unit, a->rt->unit) != 0)) ||
		    (dl && !same_dims(dims, nd, m->dims, m->ndims)))
			continue;
		json_array_append_new(ma, describe(a));
	}
	return json_pack("{s:o}", "MetricAlarms", ma);
}

static json_t *describe_alarm_history(struct aws_call *c)
{
	struct alarm_hq q = { .name = aws_in_str(c->in, "AlarmName"),
			      .type = aws_in_str(c->in, "HistoryItemType"),
			      .scan = aws_in_str(c->in, "ScanBy"),
			      .start_ms = 0,
			      .end_ms = INT64_MAX };
	struct alarm_err e;
	struct alarm_hitem *items;
	int64_t t;
	long long max;
	size_t off, n;
	int r;

	if (alarm_types(c, &q.metric, &q.composite) < 0 || paging(c, 100, &max, &off) < 0)
		return NULL;
	if ((r = aws_in_time(c->in, "StartDate", &t)) < 0)
		return aws_fail(c, 400, "InvalidParameterValue", "StartDate: not a timestamp");
	if (r)
		q.start_ms = t * 1000;
	if ((r = aws_in_time(c->in, "EndDate", &t)) < 0)
		return aws_fail(c, 400, "InvalidParameterValue", "EndDate: not a timestamp");
	if (r)
		q.end_ms = t * 1000 + 999;
	if (alarm_history_query(&q, &items, &n, &e) < 0)
		return fail(c, &e);
	json_t *l = json_array(), *out;
	for (size_t i = off; i < n && i < off + (size_t)max; i++)
		json_array_append_new(l, alarm_hitem_json(&items[i], aws_out_time));
	free(items);
	out = json_pack("{s:o}", "AlarmHistoryItems", l);
	if (n > off + (size_t)max)
		json_object_set_new(out, "NextToken", aws_page_token(off + (size_t)max));
	return out;
}

static json_t *set_alarm_state(struct aws_call *c)
{
	struct alarm_err e;
	const char *name = aws_in_str(c->in, "AlarmName");

	if (!name)
		return aws_fail(c, 400, "MissingParameter", "The parameter AlarmName is required.");
	if (alarm_api_set_state(name, aws_in_str(c->in, "StateValue"), aws_in_str(c->in, "StateReason"),
				aws_in_str(c->in, "StateReasonData"), &e) < 0)
		return fail(c, &e);
	return json_object();
}

static json_t *put_metric_alarm(struct aws_call *c)
{
	struct alarm_err e;
	const struct albd_config *cfg = E.gen ? E.gen->cfg : NULL;

	if (!cfg)
		return aws_fail(c, 503, "ServiceUnavailable", "the alarm engine is not running");
	struct alarm_rt *rt = alarm_rt_parse(c->in, cfg->region ? cfg->region : "local",
					     cfg->account_id ? cfg->account_id : "000000000000", &e);
	if (!rt || alarm_rt_put(rt, &e) < 0)
		return fail(c, &e);
	return json_object();
}

static json_t *delete_alarms(struct aws_call *c)
{
	const char *names[100];
	size_t n;
	struct alarm_err e;

	if (!E.gen)
		return aws_fail(c, 503, "ServiceUnavailable", "the alarm engine is not running");
	if (strings(c, "AlarmNames", names, 100, &n) < 0)
		return NULL;
	if (!n)
		return aws_fail(c, 400, "MissingParameter", "The parameter AlarmNames is required.");
	if (alarm_rt_delete(names, n, &e) < 0)
		return fail(c, &e);
	return json_object();
}

/* Enable/DisableAlarmActions: names that are no alarm are passed over,
 * as CloudWatch does. */
static json_t *alarm_actions_on(struct aws_call *c, int on)
{
	const char *names[100];
	size_t n;

	if (strings(c, "AlarmNames", names, 100, &n) < 0)
		return NULL;
	if (!n)
		return aws_fail(c, 400, "MissingParameter", "The parameter AlarmNames is required.");
	for (size_t i = 0; i < n; i++) {
		struct alarm *a = alarm_find(names[i]);
		if (a)
			alarm_set_actions(a, on);
	}
	if (E.dirty) {
		alarm_save();
		E.dirty = 0;
	}
	return json_object();
}

static json_t *enable_alarm_actions(struct aws_call *c)
{
	return alarm_actions_on(c, 1);
}

static json_t *disable_alarm_actions(struct aws_call *c)
{
	return alarm_actions_on(c, 0);
}

const struct aws_op aws_cw_alarm_ops[] = {
	{ "DescribeAlarms", describe_alarms },
	{ "DescribeAlarmsForMetric", describe_alarms_for_metric },
	{ "DescribeAlarmHistory", describe_alarm_history },
	{ "SetAlarmState", set_alarm_state },
	{ "PutMetricAlarm", put_metric_alarm },
	{ "DeleteAlarms", delete_alarms },
	{ "EnableAlarmActions", enable_alarm_actions },
	{ "DisableAlarmActions", disable_alarm_actions },
	{ NULL, NULL },
};
