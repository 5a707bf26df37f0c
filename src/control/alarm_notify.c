/* alarm_notify.c - an alarm's state change as CloudWatch notifies it: the
 * SNS message whose Message is CloudWatch's alarm notification JSON,
 * published to each topic of the alarm's actions for the new state, plus
 * what albd adds for alarms on a target group (AlbdDetails).
 *
 * CloudWatch's message, as SNS delivers it (quoted in AWS's examples and
 * countless public fixtures): {"AlarmName", "AlarmDescription",
 * "AWSAccountId", "AlarmConfigurationUpdatedTimestamp", "NewStateValue",
 * "NewStateReason", "StateChangeTime" ("2023-08-04T12:56:46.138+0000"),
 * "Region", "AlarmArn", "OldStateValue", "OKActions", "AlarmActions",
 * "InsufficientDataActions", "Trigger": {"MetricName", "Namespace",
 * "StatisticType": "Statistic" | "ExtendedStatistic", "Statistic":
 * "AVERAGE" (upper case, SAMPLE_COUNT) or "ExtendedStatistic": "p99",
 * "Unit": null, "Dimensions": [{"value", "name"}], "Period",
 * "EvaluationPeriods", "DatapointsToAlarm", "ComparisonOperator",
 * "Threshold", "TreatMissingData", "EvaluateLowSampleCountPercentile": ""}}
 * (a metric math alarm's Trigger has "Metrics": [MetricDataQuery...]
 * instead of the metric's fields); a composite alarm's has "AlarmRule" and
 * "TriggeringChildren": [{"Arn", "State": {"Value", "Timestamp"}}]. The
 * Subject: 'ALARM: "name" in REGION'.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../proxy/gen.h"
#include "../proxy/target_group.h"
#include "alarm_int.h"
#include "alarm_rule.h"
#include "health.h"
#include "metrics.h"

static const char *upper_stat(const char *s)
{
	static const char *const map[][2] = { { "SampleCount", "SAMPLE_COUNT" }, { "Sum", "SUM" }, { "Average", "AVERAGE" }, { "Minimum", "MINIMUM" }, { "Maximum", "MAXIMUM" } };
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i][0]) == 0)
			return map[i][1];
	return s;
}

static json_t *trigger(const struct alarm *a)
{
	const struct cfg_alarm *c = a->mc;
	json_t *t = json_pack("{s:I, s:I, s:I, s:s, s:f, s:s, s:s}", "Period", (json_int_t)c->period,
			      "EvaluationPeriods", (json_int_t)c->evaluation_periods, "DatapointsToAlarm",
			      (json_int_t)(c->datapoints_to_alarm ? c->datapoints_to_alarm : c->evaluation_periods),
			      "ComparisonOperator", c->comparison, "Threshold", c->threshold, "TreatMissingData",
			      c->treat_missing_data ? c->treat_missing_data : "missing",
			      "EvaluateLowSampleCountPercentile", "");
	if (c->metric) {
		json_t *d = json_array();
		for (size_t i = 0; i < c->ndims; i++)
			json_array_append_new(d, json_pack("{s:s, s:s}", "value", c->dims[i].value, "name",
							   c->dims[i].name));
		json_object_set_new(t, "MetricName", json_string(c->metric));
		json_object_set_new(t, "Namespace", json_string(c->namespace ? c->namespace : METRICS_NAMESPACE));
		json_object_set_new(t, "StatisticType", json_string(c->statistic ? "Statistic" : "ExtendedStatistic"));
		if (c->statistic)
			json_object_set_new(t, "Statistic", json_string(upper_stat(c->statistic)));
		else
			json_object_set_new(t, "ExtendedStatistic", json_string(c->extended_statistic));
		json_object_set_new(t, "Unit", json_null());
		json_object_set_new(t, "Dimensions", d);
		return t;
	}
	/* metric math: the queries, as the MetricDataQuery list */
	json_t *def = alarm_definition(a);
	json_t *m = json_object_get(def, "Metrics");
	size_t i;
	json_t *q;
	/* CloudWatch's Trigger writes dimensions {"value", "name"} here too */
	json_array_foreach(m, i, q)
	{
		json_t *dims = json_object_get(json_object_get(json_object_get(q, "MetricStat"), "Metric"), "Dimensions");
		size_t k;
		json_t *d;
		json_array_foreach(dims, k, d)
		{
			json_t *n = json_pack("{s:O, s:O}", "value", json_object_get(d, "Value"), "name",
					      json_object_get(d, "Name"));
			json_array_set_new(dims, k, n);
		}
	}
	json_object_set(t, "Metrics", m);
	json_object_set_new(t, "Unit", json_null());
	json_decref(def);
	return t;
}

json_t *alarm_message(const struct alarm *a, enum alarm_state old, json_t *details)
{
	const struct albd_config *cfg = E.gen->cfg;
	char arn[512], when[40], updated[40];
	const char *desc = a->composite ? a->cc->description : a->mc->description;

	alarm_arn(cfg, a->name, arn, sizeof(arn));
	alarm_fmt_ms(a->state_ms, when, sizeof(when), 1);
	alarm_fmt_ms(a->config_ms, updated, sizeof(updated), 1);
	json_t *m = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "AlarmName", a->name,
			      "AlarmDescription", desc ? json_string(desc) : json_null(), "AWSAccountId",
			      cfg->account_id ? cfg->account_id : "000000000000", "AlarmConfigurationUpdatedTimestamp",
			      updated, "NewStateValue", alarm_state_name(a->state), "NewStateReason",
			      a->reason ? a->reason : "", "StateChangeTime", when, "Region",
			      cfg->region ? cfg->region : "local", "AlarmArn", arn, "OldStateValue",
			      alarm_state_name(old));
	if (!m)
		return NULL;
	if (a->composite) {
		const struct cfg_composite_alarm *c = a->cc;
		json_object_set_new(m, "OKActions", alarm_topic_arns(cfg, c->ok_actions, c->nok_actions));
		json_object_set_new(m, "AlarmActions", alarm_topic_arns(cfg, c->alarm_actions, c->nalarm_actions));
		json_object_set_new(m, "InsufficientDataActions",
				    alarm_topic_arns(cfg, c->insufficient_data_actions, c->ninsufficient_data_actions));
		json_object_set_new(m, "AlarmRule", json_string(c->rule));
		/* the triggering children: from the reason data */
		json_t *rd = a->reason_data ? json_loads(a->reason_data, 0, NULL) : NULL;
		json_t *kids = json_array(), *e;
		size_t i;
		json_array_foreach(json_object_get(rd, "triggeringAlarms"), i, e)
		{
			json_t *st = json_object_get(e, "state");
			json_array_append_new(kids, json_pack("{s:O, s:{s:O, s:O}}", "Arn", json_object_get(e, "arn"),
							      "State", "Value", json_object_get(st, "value"),
							      "Timestamp", json_object_get(st, "timestamp")));
		}
		json_decref(rd);
		json_object_set_new(m, "TriggeringChildren", kids);
	} else {
		const struct cfg_alarm *c = a->mc;
		json_object_set_new(m, "OKActions", alarm_topic_arns(cfg, c->ok_actions, c->nok_actions));
		json_object_set_new(m, "AlarmActions", alarm_topic_arns(cfg, c->alarm_actions, c->nalarm_actions));
		json_object_set_new(m, "InsufficientDataActions",
				    alarm_topic_arns(cfg, c->insufficient_data_actions, c->ninsufficient_data_actions));
		json_object_set_new(m, "Trigger", trigger(a));
	}
	if (details)
		json_object_set(m, "AlbdDetails", details);
	return m;
}

/* The TargetGroup dimension of metric alarm A (its metric's, or the
 * first of its queries'), NULL when none. */
static const char *target_group_of(const struct alarm *a)
{
	if (!a || a->composite)
		return NULL;
	const struct cfg_alarm *c = a->mc;
	for (size_t i = 0; i < c->ndims; i++)
		if (strcmp(c->dims[i].name, "TargetGroup") == 0)
			return c->dims[i].value;
	for (size_t k = 0; k < c->nmetrics; k++)
		for (size_t i = 0; i < c->metrics[k].ndims; i++)
			if (strcmp(c->metrics[k].dims[i].name, "TargetGroup") == 0)
				return c->metrics[k].dims[i].value;
	return NULL;
}

static int breaches(const struct alarm_def *d, double v)
{
	switch (d->cmp) {
	case ALARM_CMP_GT:
		return v > d->threshold;
	case ALARM_CMP_GE:
		return v >= d->threshold;
	case ALARM_CMP_LT:
		return v < d->threshold;
	case ALARM_CMP_LE:
		return v <= d->threshold;
	}
	return 0;
}

json_t *alarm_details(struct alarm *a, const struct alarm_point *pts, size_t n, enum alarm_state state,
		      int64_t now)
{
	const char *tgname = target_group_of(a);

	if (!tgname || !E.gen)
		return NULL;
	const struct cfg_target_group *tgc = config_find_tg(E.gen->cfg, tgname);
	const struct target_group *tg = tgc && E.gen->tgs ? gen_tg(E.gen, tgc) : NULL;
	json_t *unhealthy = json_array();
	json_t *d = json_pack("{s:s, s:o, s:n}", "TargetGroup", tgname, "UnhealthyTargets", unhealthy, "Top5XXTarget");

	for (size_t i = 0; tg && i < tg->ntargets; i++) {
		const struct target_state *ts = tg->targets[i].st;
		enum ts_health h = (enum ts_health)atomic_load_explicit(&ts->health, memory_order_relaxed);
		int pd = atomic_load_explicit(&ts->passive_down, memory_order_relaxed);
		if (h != TS_UNHEALTHY && !pd)
			continue;
		const char *reason = NULL, *desc = NULL;
		health_describe(ts, &reason, &desc);
		json_t *t = json_pack("{s:s, s:s}", "Id", ts->addr.text, "State", hc_state_name(h));
		if (reason)
			json_object_set_new(t, "Reason", json_string(reason));
		if (desc)
			json_object_set_new(t, "Description", json_string(desc));
		json_array_append_new(unhealthy, t);
	}
	/* the breaching periods: real points that breach; for an ALARM
	 * reached on missing data alone, the whole evaluation range */
	unsigned P = a->def.period;
	int64_t lo = 0, hi = 0;
	for (size_t i = 0; i < n; i++) {
		if (pts[i].present && breaches(&a->def, pts[i].v)) {
			if (!lo)
				lo = pts[i].t;
			hi = pts[i].t + P;
		}
	}
	if (!lo && state == ALARM_ALARM && n) {
		lo = pts[0].t;
		hi = pts[n - 1].t + P;
	}
	if (!lo || !tg)
		return d;
	struct store *st = E.store_set ? E.store : metrics_store();
	struct mquery_env env = { st, E.store_set ? E.lb_name : metrics_lb_name(), now, 0 };
	const char *best = NULL;
	double best_v = 0;
	for (size_t i = 0; st && i < tg->ntargets; i++) {
		const struct target_state *ts = tg->targets[i].st;
		struct store_dim dims[2] = { { "TargetGroup", tgname }, { "Target", ts->addr.text } };
		struct mquery q = { .id = "t", .ns = METRICS_NAMESPACE, .name = "HTTPCode_Target_5XX_Count", .stat = "Sum", .dims = dims, .ndims = 2, .period = P };
		char err[256];
		if (mquery_eval(&env, &q, 1, lo, hi, P, err, sizeof(err)) == 0) {
			double sum = 0;
			for (size_t k = 0; k < q.ser.n; k++) {
				/* only the periods that breached */
				for (size_t j = 0; j < n; j++)
					if (pts[j].t == q.ser.t[k] &&
					    (!pts[j].present || breaches(&a->def, pts[j].v)))
						sum += q.ser.v[k];
			}
			if (sum > best_v) {
				best_v = sum;
				best = ts->addr.text;
			}
		}
		mquery_clear(&q);
	}
	if (best)
		json_object_set_new(d, "Top5XXTarget",
				    json_pack("{s:s, s:f}", "Id", best, "HTTPCode_Target_5XX_Count", best_v));
	return d;
}

/* albd's namespace for the MessageIds of alarm notifications (a UUID v4
 * drawn once). */
static const unsigned char msgid_ns[16] = { 0x6b, 0x1e, 0x0c, 0x52, 0x8f, 0x3d, 0x4a, 0x61,
					    0x9e, 0x27, 0x5c, 0x88, 0x13, 0xa4, 0xf0, 0x7d };

/* OUT (NOTIFY_ID_LEN): the UUID v5 (RFC 9562: SHA-1 of the namespace and
 * the name) of A's change from OLD to its state for the topic TOPIC. The
 * name is the alarm's ARN, its definition's hash (a changed definition is
 * another alarm), OLD, the new state, A->cause (which change: the period
 * evaluated, a SetAlarmState request's time, a composite's triggering
 * child) and the topic (SNS gives one MessageId per publish to a topic).
 * Returns 0, or -1 (OUT empty: the notifier draws one). */
static int message_id(const struct alarm *a, const char *arn, enum alarm_state old, const char *topic,
		      char out[NOTIFY_ID_LEN])
{
	char *name = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int n = asprintf(&name, "%s\n%s\n%s\n%s\n%s\n%s", arn, a->hash, alarm_state_name(old),
			 alarm_state_name(a->state), a->cause ? a->cause : "?", topic);
	EVP_MD_CTX *c = n < 0 ? NULL : EVP_MD_CTX_new();

	out[0] = '\0';
	if (!c || EVP_DigestInit_ex(c, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(c, msgid_ns, sizeof(msgid_ns)) != 1 ||
	    EVP_DigestUpdate(c, name, (size_t)n) != 1 || EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen < 16) {
		EVP_MD_CTX_free(c);
		if (n >= 0)
			free(name);
		return -1;
	}
	EVP_MD_CTX_free(c);
	free(name);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* variant RFC 4122 */
	snprintf(out, NOTIFY_ID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2],
		 md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
	return 0;
}

void alarm_actions(struct alarm *a, enum alarm_state old, json_t *details)
{
	const struct albd_config *cfg = E.gen->cfg;
	int enabled = a->actions_enabled; /* the definition's, or Enable/DisableAlarmActions' */
	char *const *topics;
	size_t ntopics;

	if (!enabled)
		return;
	if (a->composite) {
		const struct cfg_composite_alarm *c = a->cc;
		topics = a->state == ALARM_ALARM ? c->alarm_actions : a->state == ALARM_OK ? c->ok_actions
											   : c->insufficient_data_actions;
		ntopics = a->state == ALARM_ALARM ? c->nalarm_actions
			  : a->state == ALARM_OK  ? c->nok_actions
						  : c->ninsufficient_data_actions;
	} else {
		const struct cfg_alarm *c = a->mc;
		topics = a->state == ALARM_ALARM ? c->alarm_actions : a->state == ALARM_OK ? c->ok_actions
											   : c->insufficient_data_actions;
		ntopics = a->state == ALARM_ALARM ? c->nalarm_actions
			  : a->state == ALARM_OK  ? c->nok_actions
						  : c->ninsufficient_data_actions;
	}
	if (!ntopics)
		return;
	json_t *m = alarm_message(a, old, details);
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!text) {
		log_err("alarm: name=%s: cannot build the notification (out of memory)", a->name);
		return;
	}
	char subject[100], arn[512], when[40];
	const char *region = cfg->region ? cfg->region : "local";
	int sn = snprintf(subject, sizeof(subject), "%s: \"%s\" in %s", alarm_state_name(a->state), a->name, region);
	if (sn >= (int)sizeof(subject)) /* SNS's Subject is under 100 bytes: cut at a character */
		subject[alarm_utf8_cut(subject, sizeof(subject) - 1)] = '\0';
	alarm_arn(cfg, a->name, arn, sizeof(arn));
	alarm_fmt_ms(a->state_ms, when, sizeof(when), 1);
	const char *tg = target_group_of(a);
	struct notify_attr attrs[3] = { { "AlarmName", "String", a->name },
					{ "NewStateValue", "String", alarm_state_name(a->state) },
					{ "TargetGroup", "String", tg } };
	struct notify_alarm na = { a->name, a->composite ? a->cc->description : a->mc->description,
				   alarm_state_name(old), alarm_state_name(a->state), a->reason, when, arn };
	struct notify_msg msg = { subject, text, attrs, tg ? 3 : 2, &na, NULL };
	for (size_t i = 0; i < ntopics; i++) {
		char id[NOTIFY_ID_LEN] = "", err[256] = "", tarn[512], summary[700];
		snprintf(tarn, sizeof(tarn), "arn:aws:sns:%s:%s:%s", region,
			 cfg->account_id ? cfg->account_id : "000000000000", topics[i]);
		char mid[NOTIFY_ID_LEN];
		msg.message_id = message_id(a, arn, old, topics[i], mid) == 0 ? mid : NULL;
		int rc = -1;
		if (E.publish)
			rc = E.publish(topics[i], &msg, id, err, sizeof(err));
		else
			snprintf(err, sizeof(err), "no notifier in this build");
		json_t *hd;
		if (rc == 0) {
			snprintf(summary, sizeof(summary), "Successfully executed action %s", tarn);
			hd = json_pack("{s:s, s:I, s:s, s:{s:s, s:s}}", "actionState", "Succeeded",
				       "stateUpdateTimestamp", (json_int_t)a->state_ms, "notificationResource", tarn,
				       "publishedMessage", "messageId", id, "message", text);
		} else {
			log_warn("alarm: name=%s: the notification to topic %s was not published: %s", a->name,
				 topics[i], err);
			snprintf(summary, sizeof(summary), "Failed to execute action %s", tarn);
			hd = json_pack("{s:s, s:I, s:s, s:s}", "actionState", "Failed", "stateUpdateTimestamp",
				       (json_int_t)a->state_ms, "notificationResource", tarn, "error", err);
		}
		char *hs = hd ? json_dumps(hd, JSON_COMPACT) : NULL;
		alarm_history_add(a, a->state_ms, AH_ACTION, summary, hs);
		free(hs);
		json_decref(hd);
	}
	free(text);
}
