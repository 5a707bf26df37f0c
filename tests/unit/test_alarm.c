/* test_alarm.c - src/control/alarm.c and friends: the engine on an injected
 * clock, a real store in memory and a fake publisher that keeps every
 * message. Evaluation timing (periods aligned, a period evaluated
 * ALARM_EVAL_DELAY_S after it closes, the incomplete period left out), state
 * changes and their reasons, persistence across a simulated restart (no
 * second notification), a changed definition (INSUFFICIENT_DATA), a removed
 * alarm (forgotten), reloads, composite rules (also nested, and by ARN),
 * the notification JSON, SetAlarmState, metric math, TreatMissingData
 * through the engine, M out of N, a corrupt state file, alarm_check().
 *
 * (The CloudWatch table of missing-data outcomes is in test_alarm_eval.c,
 * the rule grammar in test_alarm_rule.c.) */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/admin.h"
#include "control/alarm.h"
#include "control/alarm_int.h"
#include "control/aws.h"
#include "control/alarm_eval.h"
#include "control/store.h"
#include "core/config.h"
#include "core/log.h"
#include "proxy/gen.h"
#include "proxy/target_group.h"

#define T0 1795947300 /* 2026-11-29 10:15:00 UTC, a multiple of 300 */

/* ------------------------------------------------------------ fixtures */

static int64_t now_ms;
static int64_t fake_clock(void)
{
	return now_ms;
}

#define MAXMSG 64
struct sent {
	char topic[64], subject[128], attrs[256], old_state[32], new_state[32];
	char mid[40]; /* the MessageId asked for ("" for none) */
	char *message;
};
static struct sent sent[MAXMSG];
static int nsent;
static int publish_fails;

static int fake_publish(const char *topic, const struct notify_msg *m, char *id, char *err, size_t errlen)
{
	if (publish_fails) {
		snprintf(err, errlen, "topic down");
		return -1;
	}
	ck_assert_int_lt(nsent, MAXMSG);
	struct sent *s = &sent[nsent++];
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	snprintf(s->subject, sizeof(s->subject), "%s", m->subject ? m->subject : "");
	s->attrs[0] = '\0';
	for (size_t i = 0; i < m->nattrs; i++) {
		size_t n = strlen(s->attrs);
		snprintf(s->attrs + n, sizeof(s->attrs) - n, "%s%s=%s", i ? "," : "", m->attrs[i].name,
			 m->attrs[i].value);
	}
	ck_assert_ptr_nonnull(m->alarm);
	snprintf(s->old_state, sizeof(s->old_state), "%s", m->alarm->old_state);
	snprintf(s->new_state, sizeof(s->new_state), "%s", m->alarm->new_state);
	s->message = strdup(m->message);
	snprintf(s->mid, sizeof(s->mid), "%s", m->message_id ? m->message_id : "");
	snprintf(id, NOTIFY_ID_LEN, "00000000-0000-4000-8000-%012d", nsent);
	return 0;
}

/* Forget the messages kept so far. */
static void reset_sent(void)
{
	for (int i = 0; i < nsent; i++)
		free(sent[i].message);
	nsent = 0;
}

static char dir[64];
static struct store *st;
static struct store_series *s5xx, *sreq;
static struct albd_config cfg;
static struct albd_gen gen;
static int64_t cur;   /* the last second driven */

static struct cfg_dim tgdim[] = { { (char *)"TargetGroup", (char *)"web" } };
static char *ops[] = { (char *)"ops" };

static struct cfg_alarm mk_alarm(const char *name)
{
	struct cfg_alarm a;
	memset(&a, 0, sizeof(a));
	a.name = (char *)name;
	a.namespace = (char *)"AWS/ApplicationELB";
	a.metric = (char *)"HTTPCode_Target_5XX_Count";
	a.dims = tgdim;
	a.ndims = 1;
	a.statistic = (char *)"Sum";
	a.period = 10;
	a.evaluation_periods = 1;
	a.comparison = (char *)"GreaterThanOrEqualToThreshold";
	a.threshold = 5.0;
	a.treat_missing_data = (char *)"notBreaching";
	a.alarm_actions = ops;
	a.nalarm_actions = 1;
	a.ok_actions = ops;
	a.nok_actions = 1;
	a.actions_enabled = 1;
	a.line = 7;
	return a;
}

/* A custom metric nobody puts: every period missing. */
static struct cfg_alarm mk_missing(const char *name, const char *mode)
{
	struct cfg_alarm a = mk_alarm(name);
	a.namespace = (char *)"MyApp";
	a.metric = (char *)"Never";
	a.ndims = 0;
	a.treat_missing_data = (char *)mode;
	return a;
}

static struct cfg_alarm alarms[8];
static struct cfg_composite_alarm comps[4];

static void use(size_t nalarms, size_t ncomps)
{
	cfg.alarms = alarms;
	cfg.nalarms = nalarms;
	cfg.composite_alarms = comps;
	cfg.ncomposite_alarms = ncomps;
}

static void setup(void)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/albd-test-alarm-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = (char *)"alarms.conf";
	cfg.name = (char *)"lb";
	cfg.state_dir = dir;
	cfg.region = (char *)"eu-west-1";
	cfg.account_id = (char *)"123456789012";
	memset(&gen, 0, sizeof(gen));
	atomic_init(&gen.refs, 1000000);   /* never freed: the config is the test's */
	gen.cfg = &cfg;
	cur = T0 + 5;
	now_ms = cur * 1000 + 200;
	alarm_clock = fake_clock;
	st = store_open(NULL, cur, err, sizeof(err));
	ck_assert_ptr_nonnull(st);
	struct store_dim d[2] = { { "LoadBalancer", "lb" }, { "TargetGroup", "web" } };
	s5xx = store_series(st, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", d, 2, "Count", 0);
	sreq = store_series(st, "AWS/ApplicationELB", "RequestCount", d, 2, "Count", 0);
	alarm_use_store(st, "lb");
	log_set_level(LOG_LVL_WARN);
	reset_sent();
	publish_fails = 0;
}

static void teardown(void)
{
	char cmd[128];

	alarm_shutdown();
	admin_shutdown();
	store_close(st);
	reset_sent();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void start(void)
{
	char err[256] = "";
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	alarm_tick();
}

/* Time moves on to second TO (+200 ms), the store and the evaluator
 * ticking every second as in albd. */
static void advance(int64_t to)
{
	while (cur < to) {
		cur++;
		store_tick(st, cur);
		now_ms = cur * 1000 + 200;
		alarm_tick();
	}
}

/* V in every second of [FROM, TO) of series S. */
static void fill(struct store_series *s, int64_t from, int64_t to, double v)
{
	for (int64_t t = from; t < to; t++)
		ck_assert_int_eq(store_put(s, t, v), 0);
}

static enum alarm_state state_of(const char *name)
{
	enum alarm_state s;
	ck_assert_int_eq(alarm_get(name, &s, NULL, NULL), 0);
	return s;
}

static const char *reason_of(const char *name)
{
	const char *r;
	ck_assert_int_eq(alarm_get(name, NULL, &r, NULL), 0);
	return r;
}

static json_t *last_message(void)
{
	ck_assert_int_gt(nsent, 0);
	json_error_t je;
	json_t *j = json_loads(sent[nsent - 1].message, 0, &je);
	ck_assert_msg(j != NULL, "not JSON: %s", je.text);
	return j;
}

static json_t *state_file(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/alarms.json", dir);
	json_t *j = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* ------------------------------------------------------------ timing */

START_TEST(test_timing)
{
	alarms[0] = mk_alarm("web-5xx");
	use(1, 0);
	start();
	/* the period before the start, [T0-10, T0): no data, notBreaching */
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	ck_assert_int_eq(nsent, 1);
	ck_assert_str_eq(sent[0].new_state, "OK");
	ck_assert_str_eq(sent[0].old_state, "INSUFFICIENT_DATA");
	fill(s5xx, T0, T0 + 10, 1);     /* 10 in [T0, T0+10): breaching */
	fill(s5xx, T0 + 10, T0 + 11, 100); /* the next period, incomplete */
	advance(T0 + 11);
	/* closed 1 s ago: not evaluated yet */
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	ck_assert_int_eq(nsent, 1);
	advance(T0 + 10 + ALARM_EVAL_DELAY_S);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	/* the incomplete period's 100 is not in it */
	ck_assert_str_eq(reason_of("web-5xx"), "Threshold Crossed: 1 datapoint [10.0 (29/11/26 10:15:00)] was greater "
					       "than or equal to the threshold (5.0).");
	ck_assert_int_eq(nsent, 2);
	ck_assert_str_eq(sent[1].topic, "ops");
	ck_assert_str_eq(sent[1].subject, "ALARM: \"web-5xx\" in eu-west-1");
	/* evaluated once per period: nothing until T0+22 */
	advance(T0 + 21);
	ck_assert_int_eq(nsent, 2);
	/* [T0+10, T0+20) had 100 then zeros from nobody: 100 -> still ALARM */
	advance(T0 + 22);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	ck_assert_int_eq(nsent, 2);
	/* [T0+20, T0+30) gets 0s: OK */
	fill(s5xx, T0 + 20, T0 + 30, 0);
	advance(T0 + 32);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	ck_assert_str_eq(reason_of("web-5xx"), "Threshold Crossed: 1 datapoint [0.0 (29/11/26 10:15:20)] was not "
					       "greater than or equal to the threshold (5.0).");
	ck_assert_int_eq(nsent, 3);
	ck_assert_str_eq(sent[2].subject, "OK: \"web-5xx\" in eu-west-1");
	ck_assert_uint_eq(alarm_history_count("web-5xx"), 1 + 3 * 2); /* created; 3 changes, each + an action */
}
END_TEST

START_TEST(test_m_out_of_n)
{
	alarms[0] = mk_alarm("m-of-n");
	alarms[0].evaluation_periods = 3;
	alarms[0].datapoints_to_alarm = 2;
	use(1, 0);
	fill(s5xx, T0 - 30, T0, 0);
	start();
	ck_assert_int_eq(state_of("m-of-n"), ALARM_OK);
	fill(s5xx, T0, T0 + 10, 1);      /* breaching */
	fill(s5xx, T0 + 10, T0 + 20, 0); /* not */
	advance(T0 + 22);
	ck_assert_int_eq(state_of("m-of-n"), ALARM_OK);  /* 1 of 3 */
	fill(s5xx, T0 + 20, T0 + 30, 2); /* 20: breaching, 2 of 3 */
	advance(T0 + 32);
	ck_assert_int_eq(state_of("m-of-n"), ALARM_ALARM);
	ck_assert_str_eq(reason_of("m-of-n"),
			 "Threshold Crossed: 2 out of the last 3 datapoints [20.0 (29/11/26 10:15:20), 10.0 (29/11/26 "
			 "10:15:00)] were greater than or equal to the threshold (5.0) (minimum 2 datapoints for OK -> "
			 "ALARM transition).");
	const char *rd;
	ck_assert_int_eq(alarm_get("m-of-n", NULL, NULL, &rd), 0);
	json_t *j = json_loads(rd, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "statistic")), "Sum");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "period")), 10);
	json_decref(j);
}
END_TEST

START_TEST(test_missing_data_modes)
{
	alarms[0] = mk_missing("missing", "missing");
	alarms[1] = mk_missing("ignore", "ignore");
	alarms[2] = mk_missing("breaching", "breaching");
	alarms[3] = mk_missing("notBreaching", "notBreaching");
	use(4, 0);
	start();
	ck_assert_int_eq(state_of("missing"), ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(state_of("ignore"), ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(state_of("breaching"), ALARM_ALARM);
	ck_assert_str_eq(reason_of("breaching"), "Threshold Crossed: no datapoints were received for 1 period and 1 "
						 "missing datapoint was treated as [Breaching].");
	ck_assert_int_eq(state_of("notBreaching"), ALARM_OK);
	ck_assert_str_eq(reason_of("notBreaching"), "Threshold Crossed: no datapoints were received for 1 period and "
						    "1 missing datapoint was treated as [NonBreaching].");
	/* ignore keeps whatever state it has */
	char err[128];
	ck_assert_int_eq(alarm_set_state("ignore", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	advance(T0 + 32);
	ck_assert_int_eq(state_of("ignore"), ALARM_ALARM);
	ck_assert_int_eq(state_of("missing"), ALARM_INSUFFICIENT_DATA);
}
END_TEST

START_TEST(test_metric_math)
{
	struct cfg_alarm_query q[3];
	memset(q, 0, sizeof(q));
	q[0].id = (char *)"rate";
	q[0].expression = (char *)"100 * errors / requests";
	q[0].return_data = 1;
	q[1].id = (char *)"errors";
	q[1].namespace = (char *)"AWS/ApplicationELB";
	q[1].metric = (char *)"HTTPCode_Target_5XX_Count";
	q[1].dims = tgdim;
	q[1].ndims = 1;
	q[1].stat = (char *)"Sum";
	q[2] = q[1];
	q[2].id = (char *)"requests";
	q[2].metric = (char *)"RequestCount";
	alarms[0] = mk_alarm("rate");
	alarms[0].metric = NULL;
	alarms[0].statistic = NULL;
	alarms[0].ndims = 0;
	alarms[0].metrics = q;
	alarms[0].nmetrics = 3;
	alarms[0].comparison = (char *)"GreaterThanThreshold";
	alarms[0].threshold = 10;
	alarms[0].treat_missing_data = (char *)"missing";
	use(1, 0);
	start();
	ck_assert_int_eq(state_of("rate"), ALARM_INSUFFICIENT_DATA);
	fill(s5xx, T0, T0 + 10, 1);
	fill(sreq, T0, T0 + 10, 4);
	advance(T0 + 12);
	ck_assert_int_eq(state_of("rate"), ALARM_ALARM);
	ck_assert_str_eq(reason_of("rate"), "Threshold Crossed: 1 datapoint [25.0 (29/11/26 10:15:00)] was greater "
					    "than the threshold (10.0).");
	json_t *m = last_message(), *t = json_object_get(m, "Trigger");
	json_t *ms = json_object_get(t, "Metrics");
	ck_assert_int_eq(json_array_size(ms), 3);
	ck_assert_ptr_null(json_object_get(t, "MetricName"));
	json_t *m1 = json_array_get(ms, 1);
	ck_assert_str_eq(json_string_value(json_object_get(m1, "Id")), "errors");
	json_t *metric = json_object_get(json_object_get(m1, "MetricStat"), "Metric");
	ck_assert_str_eq(json_string_value(json_object_get(metric, "MetricName")), "HTTPCode_Target_5XX_Count");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(metric, "Dimensions"), 0),
							   "name")),
			 "TargetGroup");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ms, 0), "Expression")),
			 "100 * errors / requests");
	ck_assert(json_is_true(json_object_get(json_array_get(ms, 0), "ReturnData")));
	/* the TargetGroup attribute comes from the queries' dimensions */
	ck_assert_str_eq(sent[nsent - 1].attrs, "AlarmName=rate,NewStateValue=ALARM,TargetGroup=web");
	json_decref(m);
}
END_TEST

/* An expression may read an array-valued one (METRICS() * 100) as long as
 * the returned one is a single series (MAX of it). */
START_TEST(test_metric_math_array_inside)
{
	struct cfg_alarm_query q[4];
	memset(q, 0, sizeof(q));
	q[0].id = (char *)"peak";
	q[0].expression = (char *)"MAX(all) - TIME_SERIES(1)";
	q[0].return_data = 1;
	q[1].id = (char *)"all";
	q[1].expression = (char *)"METRICS() * 100";
	q[2].id = (char *)"errors";
	q[2].namespace = (char *)"AWS/ApplicationELB";
	q[2].metric = (char *)"HTTPCode_Target_5XX_Count";
	q[2].dims = tgdim;
	q[2].ndims = 1;
	q[2].stat = (char *)"Sum";
	q[3] = q[2];
	q[3].id = (char *)"requests";
	q[3].metric = (char *)"RequestCount";
	alarms[0] = mk_alarm("peak");
	alarms[0].metric = NULL;
	alarms[0].statistic = NULL;
	alarms[0].ndims = 0;
	alarms[0].metrics = q;
	alarms[0].nmetrics = 4;
	alarms[0].comparison = (char *)"GreaterThanThreshold";
	alarms[0].threshold = 300;
	alarms[0].treat_missing_data = (char *)"missing";
	use(1, 0);
	start();
	fill(s5xx, T0, T0 + 10, 1);
	fill(sreq, T0, T0 + 10, 4);
	advance(T0 + 12);
	ck_assert_int_eq(state_of("peak"), ALARM_ALARM);
	ck_assert_str_eq(reason_of("peak"), "Threshold Crossed: 1 datapoint [3999.0 (29/11/26 10:15:00)] was greater "
					    "than the threshold (300.0).");
}
END_TEST

/* ------------------------------------------------------------ long names */

/* S is well-formed UTF-8 (what notify_publish() requires of a Subject). */
static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
		if (!n)
			return 0;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

START_TEST(test_utf8_cut)
{
	const char *s = "ab\xec\x95\x8c\xeb\xa6\xbc"; /* "ab알림": 2 + 3 + 3 bytes */
	ck_assert_uint_eq(alarm_utf8_cut(s, 8), 8);
	ck_assert_uint_eq(alarm_utf8_cut(s, 7), 5);
	ck_assert_uint_eq(alarm_utf8_cut(s, 6), 5);
	ck_assert_uint_eq(alarm_utf8_cut(s, 5), 5);
	ck_assert_uint_eq(alarm_utf8_cut(s, 4), 2);
	ck_assert_uint_eq(alarm_utf8_cut(s, 3), 2);
	ck_assert_uint_eq(alarm_utf8_cut(s, 2), 2);
	ck_assert_uint_eq(alarm_utf8_cut(s, 0), 0);
	const char *e = "\xf0\x9f\x94\x94!"; /* a 4-byte bell, "!" */
	ck_assert_uint_eq(alarm_utf8_cut(e, 5), 5);
	ck_assert_uint_eq(alarm_utf8_cut(e, 4), 4);
	ck_assert_uint_eq(alarm_utf8_cut(e, 3), 0);
	ck_assert_uint_eq(alarm_utf8_cut(e, 1), 0);
}
END_TEST

/* A long non-ASCII name: the Subject is cut at a character, not in one. */
START_TEST(test_long_unicode_name)
{
	static char name[256];
	name[0] = '\0';
	for (int i = 0; i < 20; i++)
		strcat(name, "\xec\x95\x8c\xeb\xa6\xbc"); /* 알림 */
	strcat(name, "x");
	alarms[0] = mk_alarm(name);
	use(1, 0);
	start();
	fill(s5xx, T0, T0 + 10, 1);
	advance(T0 + 12);
	ck_assert_int_eq(state_of(name), ALARM_ALARM);
	ck_assert_int_gt(nsent, 0);
	const char *sub = sent[nsent - 1].subject;
	ck_assert_msg(utf8_ok(sub), "not UTF-8: %s", sub);
	/* 'ALARM: "' (8 bytes) and 30 whole characters of 3 bytes: 98 < 100 */
	ck_assert_uint_eq(strlen(sub), 98);
	ck_assert_int_eq(strncmp(sub, "ALARM: \"\xec\x95\x8c\xeb\xa6\xbc", 14), 0);
}
END_TEST

/* ------------------------------------------------------------ notification */

START_TEST(test_notification_json)
{
	alarms[0] = mk_alarm("web-5xx");
	alarms[0].description = (char *)"web answers 5xx";
	use(1, 0);
	start();
	fill(s5xx, T0, T0 + 10, 3);
	advance(T0 + 12);
	ck_assert_int_eq(nsent, 2);
	json_t *m = last_message();
	ck_assert_str_eq(json_string_value(json_object_get(m, "AlarmName")), "web-5xx");
	ck_assert_str_eq(json_string_value(json_object_get(m, "AlarmDescription")), "web answers 5xx");
	ck_assert_str_eq(json_string_value(json_object_get(m, "AWSAccountId")), "123456789012");
	ck_assert_str_eq(json_string_value(json_object_get(m, "NewStateValue")), "ALARM");
	ck_assert_str_eq(json_string_value(json_object_get(m, "OldStateValue")), "OK");
	ck_assert_str_eq(json_string_value(json_object_get(m, "NewStateReason")), reason_of("web-5xx"));
	ck_assert_str_eq(json_string_value(json_object_get(m, "StateChangeTime")), "2026-11-29T10:15:12.200+0000");
	ck_assert_str_eq(json_string_value(json_object_get(m, "AlarmConfigurationUpdatedTimestamp")),
			 "2026-11-29T10:15:05.200+0000");
	ck_assert_str_eq(json_string_value(json_object_get(m, "Region")), "eu-west-1");
	ck_assert_str_eq(json_string_value(json_object_get(m, "AlarmArn")),
			 "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-5xx");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "AlarmActions"), 0)),
			 "arn:aws:sns:eu-west-1:123456789012:ops");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "OKActions"), 0)),
			 "arn:aws:sns:eu-west-1:123456789012:ops");
	ck_assert_int_eq(json_array_size(json_object_get(m, "InsufficientDataActions")), 0);
	json_t *t = json_object_get(m, "Trigger");
	ck_assert_str_eq(json_string_value(json_object_get(t, "MetricName")), "HTTPCode_Target_5XX_Count");
	ck_assert_str_eq(json_string_value(json_object_get(t, "Namespace")), "AWS/ApplicationELB");
	ck_assert_str_eq(json_string_value(json_object_get(t, "StatisticType")), "Statistic");
	ck_assert_str_eq(json_string_value(json_object_get(t, "Statistic")), "SUM");
	ck_assert(json_is_null(json_object_get(t, "Unit")));
	json_t *d = json_array_get(json_object_get(t, "Dimensions"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(d, "name")), "TargetGroup");
	ck_assert_str_eq(json_string_value(json_object_get(d, "value")), "web");
	ck_assert_int_eq(json_integer_value(json_object_get(t, "Period")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "EvaluationPeriods")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "DatapointsToAlarm")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(t, "ComparisonOperator")), "GreaterThanOrEqualToThreshold");
	ck_assert(json_real_value(json_object_get(t, "Threshold")) == 5.0);
	ck_assert_str_eq(json_string_value(json_object_get(t, "TreatMissingData")), "notBreaching");
	ck_assert_str_eq(json_string_value(json_object_get(t, "EvaluateLowSampleCountPercentile")), "");
	/* beyond CloudWatch: the target group's details */
	json_t *x = json_object_get(m, "AlbdDetails");
	ck_assert_str_eq(json_string_value(json_object_get(x, "TargetGroup")), "web");
	ck_assert(json_is_array(json_object_get(x, "UnhealthyTargets")));
	ck_assert_str_eq(sent[1].attrs, "AlarmName=web-5xx,NewStateValue=ALARM,TargetGroup=web");
	json_decref(m);
	/* an Action history item with the MessageId */
	json_t *f = state_file();
	json_t *h = json_object_get(json_object_get(json_object_get(f, "alarms"), "web-5xx"), "history");
	json_t *act = json_array_get(h, 0);
	ck_assert_str_eq(json_string_value(json_object_get(act, "type")), "Action");
	ck_assert_str_eq(json_string_value(json_object_get(act, "summary")),
			 "Successfully executed action arn:aws:sns:eu-west-1:123456789012:ops");
	json_t *hd = json_loads(json_string_value(json_object_get(act, "data")), 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(hd, "actionState")), "Succeeded");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(hd, "publishedMessage"), "messageId")),
			 "00000000-0000-4000-8000-000000000002");
	json_decref(hd);
	json_decref(f);
}
END_TEST

/* An alarm on a target group: the message names its unhealthy targets
 * and the target with the most 5XX in the breaching periods. */
START_TEST(test_albd_details)
{
	static struct cfg_target_group ctg[1];
	static struct target_state ts[3];
	static struct target tt[3];
	static struct target_group tg[1];
	const char *addr[3] = { "127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083" };

	memset(ctg, 0, sizeof(ctg));
	ctg[0].name = (char *)"web";
	cfg.target_groups = ctg;
	cfg.ntarget_groups = 1;
	for (int i = 0; i < 3; i++) {
		memset(&ts[i], 0, sizeof(ts[i]));
		snprintf(ts[i].addr.text, sizeof(ts[i].addr.text), "%s", addr[i]);
		atomic_store(&ts[i].health, i == 1 ? TS_UNHEALTHY : TS_HEALTHY);
		tt[i] = (struct target){ .st = &ts[i], .index = (unsigned)i };
		struct store_dim d[3] = { { "LoadBalancer", "lb" }, { "TargetGroup", "web" }, { "Target", addr[i] } };
		struct store_series *s = store_series(st, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", d, 3,
						      "Count", 0);
		/* 8082 errs most while the alarm breaches; 8083 errs more, but earlier */
		fill(s, T0 - 10, T0, i == 2 ? 50 : 0);
		fill(s, T0, T0 + 10, i == 1 ? 2 : i == 0 ? 1 : 0);
	}
	memset(tg, 0, sizeof(tg));
	tg[0].targets = tt;
	tg[0].ntargets = 3;
	gen.tgs = tg;
	alarms[0] = mk_alarm("web-5xx");
	alarms[0].threshold = 100;   /* breaching: a Sum below 100 (so that the */
	alarms[0].comparison = (char *)"LessThanThreshold"; /* periods differ from the targets') */
	use(1, 0);
	fill(s5xx, T0 - 10, T0, 50);   /* 500 */
	fill(s5xx, T0, T0 + 10, 3);    /* 30 */
	start();
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);   /* 500 is not < 100 */
	advance(T0 + 12);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM); /* 30 < 100 */
	json_t *m = last_message(), *d = json_object_get(m, "AlbdDetails");
	ck_assert_str_eq(json_string_value(json_object_get(d, "TargetGroup")), "web");
	json_t *u = json_object_get(d, "UnhealthyTargets");
	ck_assert_int_eq(json_array_size(u), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(u, 0), "Id")), "127.0.0.1:8082");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(u, 0), "State")), "unhealthy");
	json_t *top = json_object_get(d, "Top5XXTarget");
	ck_assert_str_eq(json_string_value(json_object_get(top, "Id")), "127.0.0.1:8082");
	ck_assert(json_real_value(json_object_get(top, "HTTPCode_Target_5XX_Count")) == 20.0);
	json_decref(m);
	alarm_shutdown();
	gen.tgs = NULL;
}
END_TEST

START_TEST(test_extended_statistic_and_no_actions)
{
	char err[128];
	alarms[0] = mk_alarm("p99");
	alarms[0].statistic = NULL;
	alarms[0].extended_statistic = (char *)"p99";
	alarms[0].metric = (char *)"TargetResponseTime";
	alarms[1] = mk_alarm("quiet");
	alarms[1].actions_enabled = 0;
	use(2, 0);
	start();
	reset_sent();
	ck_assert_int_eq(alarm_set_state("p99", ALARM_ALARM, "x", NULL, err, sizeof(err)), 0);
	json_t *m = last_message(), *t = json_object_get(m, "Trigger");
	ck_assert_str_eq(json_string_value(json_object_get(t, "StatisticType")), "ExtendedStatistic");
	ck_assert_str_eq(json_string_value(json_object_get(t, "ExtendedStatistic")), "p99");
	ck_assert_ptr_null(json_object_get(t, "Statistic"));
	json_decref(m);
	ck_assert_int_eq(alarm_set_state("quiet", ALARM_ALARM, "x", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(nsent, 1);   /* actions_enabled = false: nothing */
	/* a topic that refuses: logged, a Failed action item */
	publish_fails = 1;
	ck_assert_int_eq(alarm_set_state("p99", ALARM_OK, "y", NULL, err, sizeof(err)), 0);
	json_t *f = state_file();
	json_t *act = json_array_get(json_object_get(json_object_get(json_object_get(f, "alarms"), "p99"), "history"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(act, "summary")),
			 "Failed to execute action arn:aws:sns:eu-west-1:123456789012:ops");
	json_decref(f);
}
END_TEST

/* ------------------------------------------------------------ persistence */

START_TEST(test_restart_keeps_state)
{
	alarms[0] = mk_alarm("web-5xx");
	use(1, 0);
	start();
	fill(s5xx, T0, T0 + 20, 1);
	advance(T0 + 12);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	char reason[512];
	snprintf(reason, sizeof(reason), "%s", reason_of("web-5xx"));
	size_t nh = alarm_history_count("web-5xx");
	int before = nsent;
	/* restart */
	alarm_shutdown();
	alarm_init(NULL, &gen, fake_publish, reason, 0);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	ck_assert_uint_eq(alarm_history_count("web-5xx"), nh);
	alarm_tick();
	advance(T0 + 22);   /* [T0+10, T0+20) breaches too: still ALARM, no message */
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	ck_assert_int_eq(nsent, before);
	ck_assert_uint_eq(alarm_history_count("web-5xx"), nh);
}
END_TEST

START_TEST(test_changed_and_removed)
{
	char err[128];
	alarms[0] = mk_alarm("web-5xx");
	alarms[1] = mk_missing("other", "breaching");
	use(2, 0);
	start();
	ck_assert_int_eq(alarm_set_state("web-5xx", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	int before = nsent;
	alarm_shutdown();
	/* web-5xx changed (threshold), other removed */
	alarms[0].threshold = 50;
	use(1, 0);
	alarm_init(NULL, &gen, fake_publish, err, sizeof(err));
	ck_assert_int_eq(state_of("web-5xx"), ALARM_INSUFFICIENT_DATA);
	ck_assert_str_eq(reason_of("web-5xx"), "Unchecked: Alarm configuration updated");
	ck_assert_int_eq(alarm_get("other", NULL, NULL, NULL), -1);
	json_t *f = state_file();
	json_t *a = json_object_get(f, "alarms");
	ck_assert_int_eq(json_object_size(a), 1);
	json_t *h = json_object_get(json_object_get(a, "web-5xx"), "history");
	json_t *h0 = json_array_get(h, 0), *h1 = json_array_get(h, 1);
	/* newest first: the state it left (no action), then the update itself */
	ck_assert_str_eq(json_string_value(json_object_get(h0, "summary")), "Alarm updated from ALARM to INSUFFICIENT_DATA");
	ck_assert_str_eq(json_string_value(json_object_get(h0, "type")), "StateUpdate");
	ck_assert_str_eq(json_string_value(json_object_get(h1, "summary")), "Alarm \"web-5xx\" updated");
	ck_assert_str_eq(json_string_value(json_object_get(h1, "type")), "ConfigurationUpdate");
	ck_assert_int_eq(nsent, before);
	json_decref(f);
	alarm_shutdown();
	/* other comes back: a new alarm, its old history forgotten */
	use(2, 0);
	alarm_init(NULL, &gen, fake_publish, err, sizeof(err));
	ck_assert_int_eq(state_of("other"), ALARM_INSUFFICIENT_DATA);
	ck_assert_uint_eq(alarm_history_count("other"), 1);
}
END_TEST

START_TEST(test_reload)
{
	char err[128];
	alarms[0] = mk_alarm("stays");
	alarms[1] = mk_alarm("changes");
	alarms[2] = mk_alarm("goes");
	use(3, 0);
	start();
	ck_assert_int_eq(alarm_set_state("stays", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(alarm_set_state("changes", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	int before = nsent;
	/* a new generation: its own config */
	static struct cfg_alarm next[3];
	static struct albd_config cfg2;
	static struct albd_gen gen2;
	cfg2 = cfg;
	next[0] = mk_alarm("stays");
	next[1] = mk_alarm("changes");
	next[1].evaluation_periods = 2;
	next[2] = mk_alarm("new");
	cfg2.alarms = next;
	cfg2.nalarms = 3;
	gen2 = gen;
	gen2.cfg = &cfg2;
	alarm_apply(&gen2);
	ck_assert_int_eq(state_of("stays"), ALARM_ALARM);
	ck_assert_str_eq(reason_of("stays"), "by hand");
	ck_assert_int_eq(state_of("changes"), ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(state_of("new"), ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(alarm_get("goes", NULL, NULL, NULL), -1);
	ck_assert_int_eq(nsent, before);   /* a reload notifies nothing */
	alarm_shutdown();
}
END_TEST

START_TEST(test_corrupt_state_file)
{
	char path[128], bad[128];
	snprintf(path, sizeof(path), "%s/alarms.json", dir);
	snprintf(bad, sizeof(bad), "%s/alarms.json.corrupt", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"version\": 1, \"alarms\": {\"web-5xx\": ", f);   /* cut short */
	fclose(f);
	alarms[0] = mk_alarm("web-5xx");
	use(1, 0);
	start();
	ck_assert_int_eq(access(bad, F_OK), 0);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	alarm_shutdown();
	/* a record of the wrong shape: that alarm starts over, no crash */
	f = fopen(path, "w");
	fputs("{\"version\": 1, \"alarms\": {\"web-5xx\": {\"state\": 12, \"history\": 3}}}", f);
	fclose(f);
	alarm_init(NULL, &gen, fake_publish, path, 0);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_INSUFFICIENT_DATA);
}
END_TEST

/* ------------------------------------------------------------ composites */

START_TEST(test_composite)
{
	char err[128];
	alarms[0] = mk_missing("a", "missing");
	alarms[1] = mk_missing("b", "missing");
	memset(comps, 0, sizeof(comps));
	comps[0].name = (char *)"a-not-b";
	comps[0].rule = (char *)"ALARM(\"a\") AND NOT ALARM(arn:aws:cloudwatch:eu-west-1:123456789012:alarm:b)";
	comps[0].alarm_actions = ops;
	comps[0].nalarm_actions = 1;
	comps[0].actions_enabled = 1;
	comps[1].name = (char *)"outer";
	comps[1].rule = (char *)"ALARM(a-not-b) OR INSUFFICIENT_DATA(a)";
	comps[1].actions_enabled = 1;
	use(2, 2);
	start();
	/* at start: a-not-b is false (OK), outer true (a is INSUFFICIENT_DATA) */
	ck_assert_int_eq(state_of("a-not-b"), ALARM_OK);
	ck_assert_int_eq(state_of("outer"), ALARM_ALARM);
	now_ms += 1000;
	reset_sent();
	ck_assert_int_eq(alarm_set_state("a", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("a-not-b"), ALARM_ALARM);
	ck_assert_int_eq(state_of("outer"), ALARM_ALARM);
	ck_assert_str_eq(reason_of("a-not-b"), "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a transitioned to "
					       "ALARM at Sunday 29 November, 2026 10:15:06 UTC");
	const char *rd;
	alarm_get("a-not-b", NULL, NULL, &rd);
	ck_assert_str_eq(rd, "{\"triggeringAlarms\":[{\"arn\":\"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a\","
			     "\"state\":{\"value\":\"ALARM\",\"timestamp\":\"2026-11-29T10:15:06.200+0000\"}}]}");
	/* a's own message (alarm_actions) then a-not-b's */
	ck_assert_int_eq(nsent, 2);
	json_t *m = last_message();
	ck_assert_str_eq(json_string_value(json_object_get(m, "AlarmName")), "a-not-b");
	ck_assert_str_eq(json_string_value(json_object_get(m, "AlarmRule")), comps[0].rule);
	json_t *kid = json_array_get(json_object_get(m, "TriggeringChildren"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(kid, "Arn")), "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(kid, "State"), "Value")), "ALARM");
	ck_assert_ptr_null(json_object_get(m, "Trigger"));
	json_decref(m);
	/* b in ALARM: a-not-b OK; outer follows (a is ALARM now, not INSUFFICIENT_DATA) */
	ck_assert_int_eq(alarm_set_state("b", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("a-not-b"), ALARM_OK);
	ck_assert_int_eq(state_of("outer"), ALARM_OK);
	ck_assert(strstr(reason_of("outer"), ":alarm:a-not-b transitioned to OK at ") != NULL);
	/* SetAlarmState works on a composite too, until its members change */
	ck_assert_int_eq(alarm_set_state("outer", ALARM_ALARM, "drill", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("outer"), ALARM_ALARM);
}
END_TEST

/* ------------------------------------------------------------ SetAlarmState */

START_TEST(test_set_alarm_state)
{
	char err[128];
	alarms[0] = mk_alarm("web-5xx");
	use(1, 0);
	fill(s5xx, T0 - 30, T0 + 20, 0);
	start();
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	reset_sent();
	ck_assert_int_eq(alarm_set_state("web-5xx", ALARM_ALARM, "testing", "{\"by\":\"me\"}", err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	ck_assert_str_eq(reason_of("web-5xx"), "testing");
	ck_assert_int_eq(nsent, 1);
	ck_assert_str_eq(sent[0].new_state, "ALARM");
	ck_assert_int_eq(alarm_set_state("web-5xx", ALARM_OK, "x", "{oops", err, sizeof(err)), -1);
	ck_assert(strstr(err, "StateReasonData") != NULL);
	ck_assert_int_eq(alarm_set_state("nope", ALARM_OK, "x", NULL, err, sizeof(err)), -1);
	/* the history item: CloudWatch's HistoryData */
	json_t *f = state_file();
	json_t *h = json_object_get(json_object_get(json_object_get(f, "alarms"), "web-5xx"), "history");
	json_t *it = json_array_get(h, 1);   /* 0 is the action */
	ck_assert_str_eq(json_string_value(json_object_get(it, "summary")), "Alarm updated from OK to ALARM");
	json_t *hd = json_loads(json_string_value(json_object_get(it, "data")), 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(hd, "version")), "1.0");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(hd, "oldState"), "stateValue")), "OK");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(hd, "newState"), "stateValue")), "ALARM");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(hd, "newState"), "stateReason")), "testing");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(hd, "newState"),
									  "stateReasonData"),
							   "by")),
			 "me");
	json_decref(hd);
	json_decref(f);
	/* the next evaluation puts it back */
	advance(T0 + 12);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	ck_assert_int_eq(nsent, 2);
}
END_TEST

/* ------------------------------------------------------------ MessageIds */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

/* A UUID v5: 8-4-4-4-12 lower-case hex, version 5, variant 10xx. */
static void assert_uuid5(const char *id)
{
	ck_assert_uint_eq(strlen(id), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			ck_assert_int_eq(id[i], '-');
		else
			ck_assert_msg(strchr("0123456789abcdef", id[i]) != NULL, "%s", id);
	}
	ck_assert_int_eq(id[14], '5');
	ck_assert_msg(strchr("89ab", id[19]) != NULL, "%s", id);
}

/* The message to TOPIC about alarm NAME going to STATE, the first from
 * sent[FROM] on: its MessageId ("" when there is none). */
static const char *mid_of(int from, const char *name, const char *topic, const char *state)
{
	char attr[300];
	snprintf(attr, sizeof(attr), "AlarmName=%s,", name);
	for (int i = from; i < nsent; i++)
		if (strncmp(sent[i].attrs, attr, strlen(attr)) == 0 && strcmp(sent[i].topic, topic) == 0 &&
		    strcmp(sent[i].new_state, state) == 0)
			return sent[i].mid;
	return "";
}

/* A crash between publishing a change and saving alarms.json: after the
 * restart (later than the next period) the same period is evaluated again
 * and the change is published again with the same MessageIds (one per
 * topic; a composite's too); a different change gets other ones. */
START_TEST(test_message_id_after_crash)
{
	static char *two[] = { (char *)"ops", (char *)"pager" };
	char path[128], err[128];
	char id_ops[40], id_pager[40], id_comp[40], id_ok[40], set1[40];
	alarms[0] = mk_alarm("web-5xx");
	alarms[0].alarm_actions = two;
	alarms[0].nalarm_actions = 2;
	memset(comps, 0, sizeof(comps));
	comps[0].name = (char *)"c";
	comps[0].rule = (char *)"ALARM(web-5xx)";
	comps[0].alarm_actions = ops;
	comps[0].nalarm_actions = 1;
	comps[0].actions_enabled = 1;
	use(1, 1);
	start();
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	snprintf(path, sizeof(path), "%s/alarms.json", dir);
	char *saved = slurp(path); /* OK, last_end T0 */
	fill(s5xx, T0, T0 + 10, 1);
	fill(s5xx, T0 + 10, T0 + 20, 0);
	int before = nsent;
	advance(T0 + 12);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	ck_assert_int_eq(state_of("c"), ALARM_ALARM);
	snprintf(id_ops, sizeof(id_ops), "%s", mid_of(before, "web-5xx", "ops", "ALARM"));
	snprintf(id_pager, sizeof(id_pager), "%s", mid_of(before, "web-5xx", "pager", "ALARM"));
	snprintf(id_comp, sizeof(id_comp), "%s", mid_of(before, "c", "ops", "ALARM"));
	assert_uuid5(id_ops);
	assert_uuid5(id_pager);
	assert_uuid5(id_comp);
	ck_assert_str_ne(id_ops, id_pager); /* one per publish to a topic, as SNS */
	ck_assert_str_ne(id_ops, id_comp);
	/* the crash: alarms.json as it was before the change */
	alarm_shutdown();
	spit(path, saved);
	free(saved);
	advance(T0 + 25); /* down for 13 s: the next period closed meanwhile */
	before = nsent;
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	alarm_tick();
	/* [T0, T0+10) again: ALARM with the same ids; then [T0+10, T0+20): OK */
	ck_assert_str_eq(mid_of(before, "web-5xx", "ops", "ALARM"), id_ops);
	ck_assert_str_eq(mid_of(before, "web-5xx", "pager", "ALARM"), id_pager);
	ck_assert_str_eq(mid_of(before, "c", "ops", "ALARM"), id_comp);
	snprintf(id_ok, sizeof(id_ok), "%s", mid_of(before, "web-5xx", "ops", "OK"));
	assert_uuid5(id_ok);
	ck_assert_str_ne(id_ok, id_ops);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	/* a later change to ALARM is another change: other ids */
	before = nsent;
	fill(s5xx, T0 + 30, T0 + 40, 1);
	advance(T0 + 42);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	assert_uuid5(mid_of(before, "web-5xx", "ops", "ALARM"));
	ck_assert_str_ne(mid_of(before, "web-5xx", "ops", "ALARM"), id_ops);
	ck_assert_str_ne(mid_of(before, "web-5xx", "pager", "ALARM"), id_pager);
	assert_uuid5(mid_of(before, "c", "ops", "ALARM"));
	ck_assert_str_ne(mid_of(before, "c", "ops", "ALARM"), id_comp);
	/* SetAlarmState: a new id for each request */
	before = nsent;
	ck_assert_int_eq(alarm_set_state("web-5xx", ALARM_OK, "testing", NULL, err, sizeof(err)), 0);
	snprintf(set1, sizeof(set1), "%s", mid_of(before, "web-5xx", "ops", "OK"));
	assert_uuid5(set1);
	ck_assert_int_eq(alarm_set_state("web-5xx", ALARM_ALARM, "testing", NULL, err, sizeof(err)), 0);
	now_ms += 1;
	before = nsent;
	ck_assert_int_eq(alarm_set_state("web-5xx", ALARM_OK, "testing", NULL, err, sizeof(err)), 0);
	assert_uuid5(mid_of(before, "web-5xx", "ops", "OK"));
	ck_assert_str_ne(mid_of(before, "web-5xx", "ops", "OK"), set1);
	ck_assert_str_ne(mid_of(before, "web-5xx", "ops", "OK"), id_ok);
}
END_TEST

/* ------------------------------------------------------------ clock steps */

static int64_t saved_last_end(const char *name)
{
	json_t *f = state_file();
	json_t *r = json_object_get(json_object_get(f, "alarms"), name);
	ck_assert_ptr_nonnull(r);
	int64_t v = json_integer_value(json_object_get(r, "last_end"));
	json_decref(f);
	return v;
}

/* The clock steps back an hour: the alarm goes on being evaluated (its
 * last period evaluated is forgotten), not only once the clock is back. */
START_TEST(test_clock_steps_back)
{
	alarms[0] = mk_alarm("web-5xx");
	use(1, 0);
	start();
	fill(s5xx, T0, T0 + 10, 1);
	advance(T0 + 12);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	ck_assert_int_eq(saved_last_end("web-5xx"), T0 + 10);
	/* back to T0 - 3588: the newest period closed is [T0 - 3600, T0 - 3590), no data */
	now_ms = (int64_t)(T0 - 3588) * 1000 + 200;
	alarm_tick();
	ck_assert_int_eq(saved_last_end("web-5xx"), T0 - 3590);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
	/* the periods evaluated since are saved at least once a minute */
	now_ms += 60000;
	alarm_tick();
	ck_assert_int_eq(saved_last_end("web-5xx"), T0 - 3530);
	/* a small step (under a period) only waits for the clock */
	now_ms -= 15000;
	alarm_tick();
	now_ms += 60000;
	alarm_tick();
	ck_assert_int_eq(saved_last_end("web-5xx"), T0 - 3490);
}
END_TEST

/* alarms.json carries a CRC-32C of its alarms: a flipped byte that still
 * parses is found, logged and the file set aside, not read as a state. */
START_TEST(test_state_checksum)
{
	char path[128], bad[160], err[128];
	alarms[0] = mk_alarm("web-5xx");
	alarms[0].period = 3600;
	use(1, 0);
	start();
	ck_assert_int_eq(alarm_set_state("web-5xx", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	alarm_shutdown();
	snprintf(path, sizeof(path), "%s/alarms.json", dir);
	snprintf(bad, sizeof(bad), "%s.corrupt", path);
	char *text = slurp(path);
	ck_assert(!strncmp(text, "{\"version\":2,\"crc32c\":\"", strlen("{\"version\":2,\"crc32c\":\"")));
	/* untouched: restored */
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	alarm_shutdown();
	/* one digit of a time changed: still JSON, still a record */
	char *p = strstr(text, "\"state_updated\":");
	ck_assert_ptr_nonnull(p);
	p += strlen("\"state_updated\":");
	*p = *p == '1' ? '2' : '1';
	spit(path, text);
	free(text);
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	ck_assert_int_ne(access(bad, F_OK), -1);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_INSUFFICIENT_DATA);
}
END_TEST

/* alarms.json holds a last_end in the future (written under a clock that
 * was ahead): it is reset when restored, and evaluation goes on. */
START_TEST(test_future_last_end_restored)
{
	char path[128], err[128];
	alarms[0] = mk_alarm("web-5xx");
	use(1, 0);
	start();
	fill(s5xx, T0, T0 + 10, 1);
	advance(T0 + 12);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM);
	alarm_shutdown();
	json_t *f = state_file();
	json_object_set_new(json_object_get(json_object_get(f, "alarms"), "web-5xx"), "last_end",
			    json_integer(T0 + 86400));
	/* written back as version 1 (no checksum), as albd before it wrote */
	json_object_set_new(f, "version", json_integer(1));
	json_object_del(f, "crc32c");
	snprintf(path, sizeof(path), "%s/alarms.json", dir);
	ck_assert_int_eq(json_dump_file(f, path, JSON_COMPACT), 0);
	json_decref(f);
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_ALARM); /* the state stays */
	ck_assert_int_eq(saved_last_end("web-5xx"), 0);
	fill(s5xx, T0 + 10, T0 + 20, 0);
	advance(T0 + 22);
	ck_assert_int_eq(saved_last_end("web-5xx"), T0 + 20);
	ck_assert_int_eq(state_of("web-5xx"), ALARM_OK);
}
END_TEST

/* alarms.json cannot be written when a state changes: it is written
 * again within a minute, not only at the next change. */
START_TEST(test_failed_save_retried)
{
	char tmp[128], err[128];
	alarms[0] = mk_alarm("hourly");
	alarms[0].period = 3600; /* no evaluation in the next minutes */
	use(1, 0);
	start();
	snprintf(tmp, sizeof(tmp), "%s/alarms.json", dir);
	unlink(tmp);
	ck_assert_int_eq(mkdir(tmp, 0700), 0); /* the rename over it fails */
	ck_assert_int_eq(alarm_set_state("hourly", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	struct stat sb;
	ck_assert(stat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode));   /* not written */
	ck_assert_int_eq(rmdir(tmp), 0);
	advance(cur + 61);
	json_t *f = state_file();
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(f, "alarms"), "hourly"),
							   "state")),
			 "ALARM");
	json_decref(f);
}
END_TEST

/* A directory where alarms.json.tmp goes (a stale one, or made while
 * albd runs) is set aside: it does not stop every write of alarms.json. */
START_TEST(test_tmp_directory_set_aside)
{
	char tmp[160], aside[200], err[128];
	struct stat sb;
	alarms[0] = mk_alarm("hourly");
	alarms[0].period = 3600;
	use(1, 0);
	snprintf(tmp, sizeof(tmp), "%s/alarms.json.tmp", dir);
	snprintf(aside, sizeof(aside), "%s.corrupt", tmp);
	ck_assert_int_eq(mkdir(tmp, 0700), 0);
	start();   /* at start */
	ck_assert(stat(aside, &sb) == 0 && S_ISDIR(sb.st_mode));
	ck_assert_int_ne(access(tmp, F_OK), 0);
	ck_assert_int_eq(rmdir(aside), 0);
	ck_assert_int_eq(mkdir(tmp, 0700), 0);   /* and at a write */
	ck_assert_int_eq(alarm_set_state("hourly", ALARM_ALARM, "by hand", NULL, err, sizeof(err)), 0);
	json_t *f = state_file();
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(f, "alarms"), "hourly"),
							   "state")),
			 "ALARM");
	json_decref(f);
	ck_assert(stat(aside, &sb) == 0 && S_ISDIR(sb.st_mode));
	ck_assert_int_eq(rmdir(aside), 0);
}
END_TEST

START_TEST(test_history_bounded)
{
	char err[128];
	alarms[0] = mk_alarm("flappy");
	alarms[0].actions_enabled = 0;
	use(1, 0);
	start();
	for (int i = 0; i < 150; i++)
		ck_assert_int_eq(alarm_set_state("flappy", i % 2 ? ALARM_OK : ALARM_ALARM, "flap", NULL, err,
						 sizeof(err)),
				 0);
	ck_assert_uint_eq(alarm_history_count("flappy"), ALARM_HISTORY_MAX);
	/* two weeks later, one change: the old items are gone */
	now_ms += ALARM_HISTORY_AGE_MS + 1000;
	ck_assert_int_eq(alarm_set_state("flappy", ALARM_INSUFFICIENT_DATA, "later", NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(alarm_history_count("flappy"), 1);
}
END_TEST

/* ------------------------------------------------------------ alarm_check */

static void check_fails(const char *want)
{
	char err[512] = "";
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "got \"%s\", wanted \"%s\"", err, want);
}

/* Working out what each query gives is linear: four levels of expressions
 * that each refer to the one below ~680 times (2048 bytes) used to cost
 * 680^4 walks (minutes; the control thread stopped). */
START_TEST(test_check_nested_references)
{
	char err[256];
	static char text[4][2100];
	const char *below[4] = { "m0", "e0", "e1", "e2" };
	struct cfg_alarm_query q[5];
	memset(q, 0, sizeof(q));
	q[0].id = (char *)"m0";
	q[0].metric = (char *)"RequestCount";
	q[0].stat = (char *)"Sum";
	q[0].line = 9;
	for (int k = 0; k < 4; k++) {
		size_t n = 0;
		while (n + strlen(below[k]) + 1 < 2048) {
			n += (size_t)sprintf(text[k] + n, "%s%s", n ? "+" : "", below[k]);
		}
		q[k + 1].id = (char *)(k == 0 ? "e0" : k == 1 ? "e1" : k == 2 ? "e2" : "e3");
		q[k + 1].expression = text[k];
		q[k + 1].line = 10 + k;
	}
	q[4].return_data = 1;
	alarms[0] = mk_alarm("deep");
	alarms[0].metric = NULL;
	alarms[0].statistic = NULL;
	alarms[0].ndims = 0;
	alarms[0].metrics = q;
	alarms[0].nmetrics = 5;
	use(1, 0);
	time_t t0 = time(NULL);
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(time(NULL) - t0 <= 2, "took %ld s", (long)(time(NULL) - t0));
}
END_TEST

START_TEST(test_check)
{
	char err[256];
	alarms[0] = mk_alarm("ok");
	use(1, 0);
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), 0);
	alarms[0].comparison = (char *)"Bigger";
	check_fails("alarms.conf:7: alarms.ok: comparison: \"Bigger\" is not GreaterThanThreshold");
	alarms[0] = mk_alarm("ok");
	alarms[0].period = 45;
	check_fails("alarms.conf:7: alarms.ok: period: 45 is not 10, 20, 30 or a multiple of 60");
	alarms[0].period = 20;
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), 0);
	alarms[0].period = 10;
	alarms[0].evaluation_periods = 1079;
	check_fails("alarms.ok: evaluation_periods: with a period of 10 s, at most 1078");
	alarms[0].evaluation_periods = 1078;
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), 0);
	alarms[0].period = 60;
	alarms[0].evaluation_periods = 1441;
	check_fails("alarms.ok: evaluation_periods: times period (86460 s) is more than one day");
	alarms[0].period = 3600;
	alarms[0].evaluation_periods = 168;
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), 0);   /* 7 days */
	alarms[0] = mk_alarm("ok");
	alarms[0].treat_missing_data = (char *)"zero";
	check_fails("alarms.ok: treat_missing_data: \"zero\"");
	alarms[0] = mk_alarm("ok");
	alarms[0].statistic = (char *)"Median";
	check_fails("alarms.ok: statistic: \"Median\"");
	alarms[0].statistic = NULL;
	alarms[0].extended_statistic = (char *)"q99";
	check_fails("alarms.ok: extended_statistic: \"q99\" is not a percentile");
	alarms[0].extended_statistic = (char *)"p99.9";
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), 0);
	/* metric math */
	struct cfg_alarm_query q[2];
	memset(q, 0, sizeof(q));
	q[0].id = (char *)"e";
	q[0].expression = (char *)"m1 * 2";
	q[0].return_data = 1;
	q[0].line = 9;
	q[1].id = (char *)"m1";
	q[1].metric = (char *)"RequestCount";
	q[1].stat = (char *)"Sum";
	q[1].line = 10;
	alarms[0] = mk_alarm("mm");
	alarms[0].metric = NULL;
	alarms[0].statistic = NULL;
	alarms[0].ndims = 0;
	alarms[0].metrics = q;
	alarms[0].nmetrics = 2;
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	q[1].return_data = 1;
	check_fails("alarms.conf:7: alarms.mm: metrics: exactly one query must have return_data = true (2 have)");
	q[1].return_data = 0;
	q[0].expression = (char *)"m1 *";
	check_fails("alarms.conf:9: alarms.mm: metrics.e.expression: ");
	q[0].expression = (char *)"m2 * 2";
	check_fails("alarms.conf:9: alarms.mm: metrics.e.expression: no query has the id m2");
	q[0].expression = (char *)"e + m1";
	check_fails("alarms.mm: metrics.e.expression: refers to itself");
	/* "Any expression used in a PutMetricAlarm operation must return a
	 * single time series" */
	q[0].expression = (char *)"METRICS()";
	check_fails("alarms.conf:9: alarms.mm: metrics.e.expression: the result is an array of time series; an "
		    "alarm's expression must return a single time series");
	q[0].expression = (char *)"[m1, m1] * 2";
	check_fails("alarms.conf:9: alarms.mm: metrics.e.expression: the result is an array of time series");
	q[0].expression = (char *)"MAX(m1)";
	check_fails("alarms.conf:9: alarms.mm: metrics.e.expression: the result is a single number, not a time "
		    "series; an alarm's expression must return a single time series");
	q[0].expression = (char *)"10";
	check_fails("alarms.conf:9: alarms.mm: metrics.e.expression: the result is a single number");
	q[0].expression = (char *)"SUM(METRICS())";
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	q[0].expression = (char *)"m1 - TIME_SERIES(MAX(m1))";
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	q[0].expression = (char *)"m1 * 2";
	q[1].stat = (char *)"Mean";
	check_fails("alarms.conf:10: alarms.mm: metrics.m1.statistic: \"Mean\"");
	q[1].stat = (char *)"p90";
	q[1].id = (char *)"M1";
	check_fails("alarms.mm: metrics.id: \"M1\"");
	q[1].id = (char *)"m1";
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	/* the metrics share the alarm's period (10 s) */
	q[1].period = 10;
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	q[1].period = 60;
	check_fails("alarms.conf:10: alarms.mm: metrics.m1.period: 60 is not the alarm's period (10)");
	q[1].period = 0;
	q[0].period = 20;
	check_fails("alarms.conf:9: alarms.mm: metrics.e.period: 20 is not the alarm's period (10)");
	q[0].period = 0;
	alarms[0].period = 60;
	q[1].period = 60;
	ck_assert_msg(alarm_check(&cfg, err, sizeof(err)) == 0, "%s", err);
	q[1].period = 0;
	/* composites */
	alarms[0] = mk_alarm("a");
	memset(comps, 0, sizeof(comps));
	comps[0].name = (char *)"c";
	comps[0].rule = (char *)"ALARM(a) AND";
	comps[0].line = 20;
	use(1, 1);
	check_fails("alarms.conf:20: composite_alarms.c: rule: ");
	comps[0].rule = (char *)"ALARM(b)";
	check_fails("alarms.conf:20: composite_alarms.c: rule: \"b\" is not an alarm or composite alarm");
	comps[0].rule = (char *)"ALARM(arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a) OR TRUE";
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), 0);
	comps[0].rule = (char *)"ALARM(d)";
	comps[1].name = (char *)"d";
	comps[1].rule = (char *)"OK(a) AND NOT ALARM(c)";
	comps[1].line = 21;
	use(1, 2);
	check_fails("composite_alarms.c: rule: refers to itself");
	comps[1].rule = (char *)"OK(a)";
	ck_assert_int_eq(alarm_check(&cfg, err, sizeof(err)), 0);
}
END_TEST

/* ------------------------------------------------------------ run-time alarms */

/* PutMetricAlarm's input TEXT (JSON) parsed for this config. */
static struct alarm_rt *rt_parse(const char *text, struct alarm_err *e)
{
	json_error_t je;
	json_t *in = json_loads(text, 0, &je);
	ck_assert_msg(in != NULL, "%s", je.text);
	struct alarm_rt *rt = alarm_rt_parse(in, "eu-west-1", "123456789012", e);
	json_decref(in);
	return rt;
}

static void rt_put_ok(const char *text)
{
	struct alarm_err e = { 0 };
	struct alarm_rt *rt = rt_parse(text, &e);
	ck_assert_msg(rt != NULL, "%s: %s", e.code, e.msg);
	ck_assert_msg(alarm_rt_put(rt, &e) == 0, "%s: %s", e.code, e.msg);
}

static void rt_parse_fails(const char *text, const char *code, const char *msg)
{
	struct alarm_err e = { 0 };
	struct alarm_rt *rt = rt_parse(text, &e);
	ck_assert_ptr_null(rt);
	ck_assert_str_eq(e.code, code);
	ck_assert_msg(strncmp(e.msg, msg, strlen(msg)) == 0, "\"%s\" does not start with \"%s\"", e.msg, msg);
}

static json_t *runtime_file(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/alarms_runtime.json", dir);
	return json_load_file(path, 0, NULL);
}

#define RT_5XX                                                                                                  \
	"{\"AlarmName\": \"rt-5xx\", \"MetricName\": \"HTTPCode_Target_5XX_Count\", \"Namespace\": "           \
	"\"AWS/ApplicationELB\", \"Statistic\": \"Sum\", \"Dimensions\": [{\"Name\": \"TargetGroup\", \"Value\": " \
	"\"web\"}], \"Period\": %s, \"EvaluationPeriods\": 1, \"Threshold\": %s, \"ComparisonOperator\": "       \
	"\"GreaterThanOrEqualToThreshold\", \"TreatMissingData\": \"notBreaching\", \"AlarmActions\": "          \
	"[\"arn:aws:sns:eu-west-1:123456789012:ops\"], \"Unit\": \"Count\", \"Tags\": [{\"Key\": \"k\", "        \
	"\"Value\": \"v\"}]}"

START_TEST(test_runtime_alarm)
{
	char text[2048], err[128];
	struct alarm_err e = { 0 };

	alarms[0] = mk_missing("file", "ignore");
	use(1, 0);
	start();
	snprintf(text, sizeof(text), RT_5XX, "10", "5");
	rt_put_ok(text);
	ck_assert_int_eq(state_of("rt-5xx"), ALARM_INSUFFICIENT_DATA);
	ck_assert_uint_eq(alarm_history_count("rt-5xx"), 1); /* created */
	/* evaluated by the engine, its action published */
	fill(s5xx, T0 + 10, T0 + 20, 1);
	advance(T0 + 22);
	ck_assert_int_eq(state_of("rt-5xx"), ALARM_ALARM);
	ck_assert_int_eq(nsent, 1);
	ck_assert_str_eq(sent[0].topic, "ops");
	ck_assert_str_eq(sent[0].new_state, "ALARM");
	/* kept: the definition in alarms_runtime.json, the state in alarms.json */
	json_t *f = runtime_file();
	ck_assert_ptr_nonnull(f);
	json_t *d = json_array_get(json_object_get(f, "MetricAlarms"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(d, "AlarmName")), "rt-5xx");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(d, "AlarmActions"), 0)),
			 "arn:aws:sns:eu-west-1:123456789012:ops");
	ck_assert_str_eq(json_string_value(json_object_get(d, "Unit")), "Count");
	ck_assert_ptr_null(json_object_get(d, "AlarmArn"));
	ck_assert_int_eq(json_array_size(json_object_get(d, "Tags")), 1);
	json_decref(f);
	/* a restart: the same alarm, its state, no second message */
	size_t nh = alarm_history_count("rt-5xx");
	alarm_shutdown();
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	ck_assert_int_eq(state_of("rt-5xx"), ALARM_ALARM);
	ck_assert_uint_eq(alarm_history_count("rt-5xx"), nh);
	struct alarm *a = alarm_find("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rt-5xx");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(a->rt);
	ck_assert_str_eq(a->rt->unit, "Count");
	/* a reload too */
	alarm_apply(&gen);
	ck_assert_int_eq(state_of("rt-5xx"), ALARM_ALARM);
	ck_assert_int_eq(nsent, 1);
	/* put again: the definition changes, the state stays */
	snprintf(text, sizeof(text), RT_5XX, "60", "50");
	rt_put_ok(text);
	ck_assert_int_eq(state_of("rt-5xx"), ALARM_ALARM);
	ck_assert_uint_eq(alarm_history_count("rt-5xx"), nh + 1);
	a = alarm_find("rt-5xx");
	ck_assert_uint_eq(a->mc->period, 60);
	ck_assert(a->mc->threshold == 50.0);
	/* the file's alarm is not PutMetricAlarm's to change nor DeleteAlarms' to delete */
	struct alarm_rt *rt = rt_parse("{\"AlarmName\": \"file\", \"MetricName\": \"M\", \"Namespace\": \"N\", "
				       "\"Statistic\": \"Sum\", \"Period\": 60, \"EvaluationPeriods\": 1, "
				       "\"Threshold\": 1, \"ComparisonOperator\": \"LessThanThreshold\"}",
				       &e);
	ck_assert_ptr_nonnull(rt);
	ck_assert_int_eq(alarm_rt_put(rt, &e), -1);
	ck_assert_str_eq(e.code, "ValidationError");
	ck_assert_ptr_nonnull(strstr(e.msg, "configuration file"));
	const char *both[] = { "rt-5xx", "file" };
	ck_assert_int_eq(alarm_rt_delete(both, 2, &e), -1);
	ck_assert_str_eq(e.code, "ValidationError");
	ck_assert_int_eq(state_of("rt-5xx"), ALARM_ALARM); /* all or none */
	const char *unknown[] = { "rt-5xx", "nope" };
	ck_assert_int_eq(alarm_rt_delete(unknown, 2, &e), -1);
	ck_assert_str_eq(e.code, "ResourceNotFound");
	ck_assert_int_eq(e.status, 404);
	ck_assert_int_eq(alarm_rt_delete(both, 1, &e), 0);
	ck_assert_int_eq(alarm_get("rt-5xx", NULL, NULL, NULL), -1);
	f = runtime_file();
	ck_assert_int_eq(json_array_size(json_object_get(f, "MetricAlarms")), 0);
	json_decref(f);
	json_t *s = state_file();
	ck_assert_ptr_null(json_object_get(json_object_get(s, "alarms"), "rt-5xx"));
	json_decref(s);
	alarm_shutdown();
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	ck_assert_int_eq(alarm_get("rt-5xx", NULL, NULL, NULL), -1);
	ck_assert_int_eq(alarm_get("file", NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(test_runtime_parse)
{
	struct alarm_err e = { 0 };

	use(0, 0);
	start();
	/* awsQuery gives every scalar as a string; metric math */
	struct alarm_rt *rt = rt_parse(
		"{\"AlarmName\": \"math\", \"EvaluationPeriods\": \"2\", \"DatapointsToAlarm\": \"1\", \"Threshold\": "
		"\"40.5\", \"ComparisonOperator\": \"GreaterThanThreshold\", \"ActionsEnabled\": \"false\", \"Metrics\": "
		"[{\"Id\": \"rate\", \"Expression\": \"100 * e / r\", \"ReturnData\": \"true\"}, {\"Id\": \"e\", "
		"\"ReturnData\": \"false\", \"MetricStat\": {\"Metric\": {\"Namespace\": \"AWS/ApplicationELB\", "
		"\"MetricName\": \"HTTPCode_Target_5XX_Count\"}, \"Period\": \"60\", \"Stat\": \"Sum\"}}, {\"Id\": "
		"\"r\", \"ReturnData\": \"false\", \"MetricStat\": {\"Metric\": {\"Namespace\": \"AWS/ApplicationELB\", "
		"\"MetricName\": \"RequestCount\"}, \"Period\": \"60\", \"Stat\": \"Sum\"}}]}",
		&e);
	ck_assert_msg(rt != NULL, "%s", e.msg);
	ck_assert_uint_eq(rt->c.period, 60);
	ck_assert_uint_eq(rt->c.nmetrics, 3);
	ck_assert_int_eq(rt->c.actions_enabled, 0);
	ck_assert(rt->c.threshold == 40.5);
	ck_assert_int_eq(rt->c.metrics[0].return_data, 1);
	/* what it saves reads back the same */
	json_t *j = alarm_rt_json(&cfg, rt);
	struct alarm_rt *again = alarm_rt_parse(j, NULL, NULL, &e);
	ck_assert_msg(again != NULL, "%s", e.msg);
	json_t *j2 = alarm_rt_json(&cfg, again);
	ck_assert(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
	alarm_rt_free(again);
	alarm_rt_free(rt);
	/* the file's checks, in PutMetricAlarm's words */
	rt_parse_fails("{\"AlarmName\": \"x\", \"MetricName\": \"M\", \"Namespace\": \"N\", \"Statistic\": \"Sum\", "
		       "\"Period\": 15, \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		       "\"LessThanThreshold\"}",
		       "ValidationError", "Period: 15 is not 10, 20, 30 or a multiple of 60");
	rt_parse_fails("{\"AlarmName\": \"x\", \"MetricName\": \"M\", \"Namespace\": \"N\", \"Statistic\": \"Sum\", "
		       "\"Period\": 60, \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": \"Less\"}",
		       "ValidationError", "ComparisonOperator: \"Less\" is not");
	rt_parse_fails("{\"AlarmName\": \"x\", \"MetricName\": \"M\", \"Namespace\": \"N\", \"Statistic\": \"Sum\", "
		       "\"Period\": 60, \"Threshold\": 1, \"ComparisonOperator\": \"LessThanThreshold\"}",
		       "MissingParameter", "The parameter EvaluationPeriods is required.");
	rt_parse_fails("{\"AlarmName\": \"x\", \"MetricName\": \"M\", \"Namespace\": \"N\", \"Statistic\": \"Sum\", "
		       "\"Period\": 60, \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		       "\"LessThanThreshold\", \"OKActions\": [\"arn:aws:sns:us-east-1:123456789012:ops\"]}",
		       "ValidationError", "OKActions.member.1: arn:aws:sns:us-east-1:123456789012:ops is not a topic of this albd");
	rt_parse_fails("{\"AlarmName\": \"x\", \"MetricName\": \"M\", \"Namespace\": \"N\", \"Statistic\": \"Sum\", "
		       "\"Period\": 60, \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		       "\"LessThanThreshold\", \"Unit\": \"Parsecs\"}",
		       "ValidationError", "Unit: \"Parsecs\" is not");
	rt_parse_fails("{\"AlarmName\": \"x\", \"MetricName\": \"M\", \"Namespace\": \"N\", \"Statistic\": \"Sum\", "
		       "\"Period\": 60, \"EvaluationPeriods\": 1, \"ComparisonOperator\": \"LessThanThreshold\"}",
		       "ValidationError", "Threshold: required");
	rt_parse_fails("{\"AlarmName\": \"x\", \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		       "\"LessThanThreshold\", \"Metrics\": [{\"Id\": \"a\", \"MetricStat\": {\"Metric\": {\"Namespace\": "
		       "\"N\", \"MetricName\": \"M\"}, \"Period\": 60, \"Stat\": \"Sum\"}}, {\"Id\": \"b\", "
		       "\"Expression\": \"a * 2\"}]}",
		       "ValidationError", "Metrics: exactly one query must have return_data = true (2 have)");
	/* an alarm's expression returns a single time series */
	rt_parse_fails("{\"AlarmName\": \"x\", \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		       "\"LessThanThreshold\", \"Metrics\": [{\"Id\": \"a\", \"ReturnData\": false, \"MetricStat\": "
		       "{\"Metric\": {\"Namespace\": \"N\", \"MetricName\": \"M\"}, \"Period\": 60, \"Stat\": \"Sum\"}}, "
		       "{\"Id\": \"b\", \"Expression\": \"METRICS() * 2\"}]}",
		       "ValidationError", "Metrics.b.expression: the result is an array of time series; an alarm's "
					  "expression must return a single time series");
	rt_parse_fails("{\"AlarmName\": \"x\", \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		       "\"LessThanThreshold\", \"Metrics\": [{\"Id\": \"a\", \"ReturnData\": false, \"MetricStat\": "
		       "{\"Metric\": {\"Namespace\": \"N\", \"MetricName\": \"M\"}, \"Period\": 60, \"Stat\": \"Sum\"}}, "
		       "{\"Id\": \"b\", \"Expression\": \"AVG(a)\"}]}",
		       "ValidationError", "Metrics.b.expression: the result is a single number, not a time series");
	/* an array-valued expression that the returned one aggregates is fine; a
	 * number is not, returned or not */
	rt = rt_parse("{\"AlarmName\": \"x\", \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		      "\"LessThanThreshold\", \"Metrics\": [{\"Id\": \"a\", \"ReturnData\": false, \"MetricStat\": "
		      "{\"Metric\": {\"Namespace\": \"N\", \"MetricName\": \"M\"}, \"Period\": 60, \"Stat\": \"Sum\"}}, "
		      "{\"Id\": \"all\", \"ReturnData\": false, \"Expression\": \"METRICS() * 2\"}, "
		      "{\"Id\": \"b\", \"Expression\": \"MAX(all)\"}]}",
		      &e);
	ck_assert_msg(rt != NULL, "%s", e.msg);
	alarm_rt_free(rt);
	rt_parse_fails("{\"AlarmName\": \"x\", \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": "
		       "\"LessThanThreshold\", \"Metrics\": [{\"Id\": \"a\", \"ReturnData\": false, \"MetricStat\": "
		       "{\"Metric\": {\"Namespace\": \"N\", \"MetricName\": \"M\"}, \"Period\": 60, \"Stat\": \"Sum\"}}, "
		       "{\"Id\": \"top\", \"ReturnData\": false, \"Expression\": \"MAX(a)\"}, "
		       "{\"Id\": \"b\", \"Expression\": \"a / top\"}]}",
		       "ValidationError", "Metrics.top.expression: the result is a single number, not a time series "
					  "(TIME_SERIES(x) makes a time series of the number x)");
}
END_TEST

START_TEST(test_actions_enabled)
{
	char err[128];

	alarms[0] = mk_missing("quiet", "ignore");
	use(1, 0);
	start();
	alarm_set_actions(alarm_find("quiet"), 0);
	alarm_save();
	ck_assert_int_eq(alarm_set_state("quiet", ALARM_ALARM, "x", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(nsent, 0);
	/* kept across a restart */
	alarm_shutdown();
	ck_assert_int_eq(alarm_init(NULL, &gen, fake_publish, err, sizeof(err)), 0);
	ck_assert_int_eq(alarm_find("quiet")->actions_enabled, 0);
	ck_assert_int_eq(alarm_set_state("quiet", ALARM_OK, "y", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(nsent, 0);
	alarm_set_actions(alarm_find("quiet"), 1);
	ck_assert_int_eq(alarm_set_state("quiet", ALARM_ALARM, "z", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(nsent, 1);
	/* a changed definition takes the file's ActionsEnabled again */
	alarm_set_actions(alarm_find("quiet"), 0);
	alarms[0].threshold = 6.0;
	alarm_apply(&gen);
	ck_assert_int_eq(alarm_find("quiet")->actions_enabled, 1);
}
END_TEST

/* ------------------------------------------------------------ AWS's operations */

/* Call CloudWatch operation ACTION with the JSON input IN (AWS's JSON
 * protocol shapes); the result (new), or NULL with C's error. */
static json_t *aws_call_op(const char *action, const char *in, struct aws_call *c)
{
	json_error_t je;
	json_t *j = json_loads(in, 0, &je);
	ck_assert_msg(j != NULL, "%s", je.text);
	memset(c, 0, sizeof(*c));
	c->service = "monitoring";
	c->action = action;
	c->proto = AWS_JSON;
	c->in = j;
	for (const struct aws_op *op = aws_cw_alarm_ops; op->action; op++)
		if (strcmp(op->action, action) == 0) {
			json_t *r = op->fn(c);
			json_decref(j);
			return r;
		}
	ck_abort_msg("no operation %s", action);
	return NULL;
}

static void aws_ok(const char *action, const char *in)
{
	struct aws_call c;
	json_t *r = aws_call_op(action, in, &c);
	ck_assert_msg(r != NULL, "%s: %s %s", action, c.code, c.message);
	json_decref(r);
}

static void aws_fails(const char *action, const char *in, int status, const char *code)
{
	struct aws_call c;
	json_t *r = aws_call_op(action, in, &c);
	ck_assert_msg(r == NULL, "%s succeeded", action);
	ck_assert_int_eq(c.status, status);
	ck_assert_str_eq(c.code, code);
}

START_TEST(test_aws_ops)
{
	struct aws_call c;
	char text[2048];

	alarms[0] = mk_missing("file", "ignore");
	memset(comps, 0, sizeof(comps));
	comps[0].name = (char *)"comp";
	comps[0].rule = (char *)"ALARM(file)";
	comps[0].actions_enabled = 1;
	use(1, 1);
	start();
	snprintf(text, sizeof(text), RT_5XX, "10", "5");
	aws_ok("PutMetricAlarm", text);
	/* metric alarms only, by name, in AWS's member order */
	json_t *r = aws_call_op("DescribeAlarms", "{}", &c);
	ck_assert_ptr_nonnull(r);
	json_t *ma = json_object_get(r, "MetricAlarms");
	ck_assert_int_eq(json_array_size(ma), 2);
	ck_assert_int_eq(json_array_size(json_object_get(r, "CompositeAlarms")), 0);
	json_t *x = json_array_get(ma, 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ma, 0), "AlarmName")), "file");
	ck_assert_str_eq(json_string_value(json_object_get(x, "AlarmName")), "rt-5xx");
	const char *order[] = { "AlarmName", "AlarmArn", "AlarmConfigurationUpdatedTimestamp", "ActionsEnabled",
				"OKActions", "AlarmActions", "InsufficientDataActions", "StateValue", "StateReason",
				"StateUpdatedTimestamp", "MetricName", "Namespace", "Statistic", "Dimensions", "Period",
				"Unit", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
				"TreatMissingData", "StateTransitionedTimestamp", NULL };
	void *it = json_object_iter(x);
	for (size_t i = 0; order[i]; i++, it = json_object_iter_next(x, it)) {
		ck_assert_ptr_nonnull(it);
		ck_assert_str_eq(json_object_iter_key(it), order[i]);
	}
	ck_assert_ptr_null(it);
	json_decref(r);
	/* pages */
	r = aws_call_op("DescribeAlarms", "{\"MaxRecords\": 1, \"AlarmTypes\": [\"MetricAlarm\", \"CompositeAlarm\"]}", &c);
	ck_assert_int_eq(json_array_size(json_object_get(r, "MetricAlarms")), 1);
	const char *tok = json_string_value(json_object_get(r, "NextToken"));
	ck_assert_ptr_nonnull(tok);
	snprintf(text, sizeof(text), "{\"MaxRecords\": 2, \"NextToken\": \"%s\", \"AlarmTypes\": [\"MetricAlarm\", "
				     "\"CompositeAlarm\"]}",
		 tok);
	json_decref(r);
	r = aws_call_op("DescribeAlarms", text, &c);
	ck_assert_int_eq(json_array_size(json_object_get(r, "MetricAlarms")), 1);
	ck_assert_int_eq(json_array_size(json_object_get(r, "CompositeAlarms")), 1);
	ck_assert_ptr_null(json_object_get(r, "NextToken"));
	json_decref(r);
	r = aws_call_op("DescribeAlarms", "{\"ParentsOfAlarmName\": \"file\"}", &c);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r, "CompositeAlarms"), 0),
							   "AlarmName")),
			 "comp");
	json_decref(r);
	aws_fails("DescribeAlarms", "{\"StateValue\": \"BAD\"}", 400, "InvalidParameterValue");
	aws_fails("DescribeAlarms", "{\"NextToken\": \"x\"}", 400, "InvalidNextToken");
	aws_fails("DescribeAlarms", "{\"MaxRecords\": 101}", 400, "InvalidParameterValue");
	/* for a metric */
	r = aws_call_op("DescribeAlarmsForMetric",
			"{\"MetricName\": \"HTTPCode_Target_5XX_Count\", \"Namespace\": \"AWS/ApplicationELB\", "
			"\"Dimensions\": [{\"Name\": \"TargetGroup\", \"Value\": \"web\"}], \"Unit\": \"Count\"}",
			&c);
	ck_assert_int_eq(json_array_size(json_object_get(r, "MetricAlarms")), 1);
	json_decref(r);
	aws_fails("DescribeAlarmsForMetric", "{\"Namespace\": \"N\"}", 400, "MissingParameter");
	/* state and history */
	aws_ok("SetAlarmState", "{\"AlarmName\": \"rt-5xx\", \"StateValue\": \"ALARM\", \"StateReason\": \"r\"}");
	ck_assert_int_eq(nsent, 1);
	aws_fails("SetAlarmState", "{\"AlarmName\": \"nope\", \"StateValue\": \"OK\", \"StateReason\": \"r\"}", 404,
		  "ResourceNotFound");
	aws_fails("SetAlarmState",
		  "{\"AlarmName\": \"rt-5xx\", \"StateValue\": \"OK\", \"StateReason\": \"r\", \"StateReasonData\": \"{\"}",
		  400, "InvalidFormat");
	r = aws_call_op("DescribeAlarmHistory", "{\"AlarmName\": \"rt-5xx\", \"ScanBy\": \"TimestampAscending\"}", &c);
	json_t *items = json_object_get(r, "AlarmHistoryItems");
	ck_assert_int_eq(json_array_size(items), 3); /* created, ALARM, its action */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "HistoryItemType")),
			 "ConfigurationUpdate");
	json_decref(r);
	r = aws_call_op("DescribeAlarmHistory", "{\"AlarmTypes\": [\"CompositeAlarm\"]}", &c);
	items = json_object_get(r, "AlarmHistoryItems");
	ck_assert_int_gt(json_array_size(items), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "AlarmName")), "comp");
	json_decref(r);
	aws_fails("DescribeAlarmHistory", "{\"ScanBy\": \"Sideways\"}", 400, "InvalidParameterValue");
	/* actions */
	aws_ok("DisableAlarmActions", "{\"AlarmNames\": [\"rt-5xx\", \"nope\"]}");
	ck_assert_int_eq(alarm_find("rt-5xx")->actions_enabled, 0);
	aws_ok("SetAlarmState", "{\"AlarmName\": \"rt-5xx\", \"StateValue\": \"OK\", \"StateReason\": \"r\"}");
	ck_assert_int_eq(nsent, 1);
	aws_ok("EnableAlarmActions", "{\"AlarmNames\": [\"rt-5xx\"]}");
	ck_assert_int_eq(alarm_find("rt-5xx")->actions_enabled, 1);
	/* delete */
	aws_fails("DeleteAlarms", "{\"AlarmNames\": [\"file\"]}", 400, "ValidationError");
	aws_fails("DeleteAlarms", "{\"AlarmNames\": [\"gone\"]}", 404, "ResourceNotFound");
	aws_fails("PutMetricAlarm", "{\"AlarmName\": \"x\"}", 400, "MissingParameter");
	aws_ok("DeleteAlarms", "{\"AlarmNames\": [\"rt-5xx\"]}");
	ck_assert_int_eq(alarm_get("rt-5xx", NULL, NULL, NULL), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alarm");
	TCase *tc = tcase_create("engine");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_timing);
	tcase_add_test(tc, test_m_out_of_n);
	tcase_add_test(tc, test_missing_data_modes);
	tcase_add_test(tc, test_metric_math);
	tcase_add_test(tc, test_metric_math_array_inside);
	tcase_add_test(tc, test_notification_json);
	tcase_add_test(tc, test_albd_details);
	tcase_add_test(tc, test_extended_statistic_and_no_actions);
	tcase_add_test(tc, test_restart_keeps_state);
	tcase_add_test(tc, test_changed_and_removed);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_corrupt_state_file);
	tcase_add_test(tc, test_composite);
	tcase_add_test(tc, test_set_alarm_state);
	tcase_add_test(tc, test_history_bounded);
	tcase_add_test(tc, test_utf8_cut);
	tcase_add_test(tc, test_long_unicode_name);
	tcase_add_test(tc, test_message_id_after_crash);
	tcase_add_test(tc, test_clock_steps_back);
	tcase_add_test(tc, test_future_last_end_restored);
	tcase_add_test(tc, test_failed_save_retried);
	tcase_add_test(tc, test_tmp_directory_set_aside);
	tcase_add_test(tc, test_state_checksum);
	tcase_add_test(tc, test_runtime_alarm);
	tcase_add_test(tc, test_runtime_parse);
	tcase_add_test(tc, test_actions_enabled);
	tcase_add_test(tc, test_aws_ops);
	suite_add_tcase(s, tc);
	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_check_nested_references);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
