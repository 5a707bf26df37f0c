/* alarm_api.c - the alarms on the admin listener, in CloudWatch's shapes:
 *
 *   GET /api/v1/alarms               DescribeAlarms: {"MetricAlarms": [...],
 *       ?AlarmNames=a&AlarmNames=b    "CompositeAlarms": [...]}; both kinds
 *       ?AlarmNamePrefix=web-         unless AlarmTypes says (CloudWatch
 *       ?StateValue=ALARM             returns only metric alarms without it)
 *       ?AlarmTypes=MetricAlarm,CompositeAlarm
 *       ?ActionPrefix=arn:aws:sns:... (an AlarmActions ARN starts with it)
 *   GET /api/v1/alarms/NAME/history  DescribeAlarmHistory: {"AlarmHistoryItems":
 *       ?HistoryItemType=StateUpdate  [...]}, newest first (ScanBy
 *       ?StartDate=...&EndDate=...    TimestampAscending for oldest first)
 *       ?MaxRecords=N&ScanBy=...
 *   PUT /api/v1/alarms/NAME/state    SetAlarmState: {"StateValue", "StateReason",
 *                                     "StateReasonData"}
 *
 * Errors as the other endpoints: 400 naming the parameter, 404 for an
 * alarm that does not exist.
 *
 * What these do is in the functions alarm_int.h declares (alarm_query_*,
 * alarm_describe, alarm_history_query, alarm_api_set_state): AWS's
 * CloudWatch operations (aws_cw_alarms.c) call the same ones, with their
 * own timestamps, defaults (AlarmTypes) and pagination.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../core/config.h"
#include "../proxy/gen.h"
#include "admin.h"
#include "alarm_int.h"
#include "api_metrics.h"

#define PREFIX "/api/v1/alarms/"

static int state_parse(const char *s, enum alarm_state *out)
{
	if (strcmp(s, "OK") == 0)
		*out = ALARM_OK;
	else if (strcmp(s, "ALARM") == 0)
		*out = ALARM_ALARM;
	else if (strcmp(s, "INSUFFICIENT_DATA") == 0)
		*out = ALARM_INSUFFICIENT_DATA;
	else
		return -1;
	return 0;
}

/* ------------------------------------------------------------ shared with aws_cw_alarms.c */

json_t *alarm_describe(const struct alarm *a, alarm_time_fn tf)
{
	json_t *j = alarm_definition(a);

	if (!j)
		return NULL;
	json_object_set_new(j, "StateValue", json_string(alarm_state_name(a->state)));
	json_object_set_new(j, "StateReason", json_string(a->reason ? a->reason : ""));
	if (a->reason_data)
		json_object_set_new(j, "StateReasonData", json_string(a->reason_data));
	json_object_set_new(j, "StateUpdatedTimestamp", tf(a->state_ms));
	json_object_set_new(j, "AlarmConfigurationUpdatedTimestamp", tf(a->config_ms));
	/* CloudWatch's StateTransitionedTimestamp: the last change of
	 * StateValue (StateUpdatedTimestamp also moves when SetAlarmState
	 * only changes the reason) */
	json_object_set_new(j, "StateTransitionedTimestamp", tf(a->transition_ms));
	return j;
}

int alarm_type_word(const char *t, int *metric, int *composite, struct alarm_err *e)
{
	if (strcmp(t, "MetricAlarm") == 0)
		*metric = 1;
	else if (strcmp(t, "CompositeAlarm") == 0)
		*composite = 1;
	else
		return alarm_fail(e, 400, "InvalidParameterValue",
				  "AlarmTypes: \"%s\" is not MetricAlarm or CompositeAlarm", t);
	return 0;
}

int alarm_query_check(const struct alarm_query *q, struct alarm_err *e)
{
	enum alarm_state st;

	if (q->nnames > 100)
		return alarm_fail(e, 400, "InvalidParameterValue", "AlarmNames: at most 100 names");
	if (q->nnames && q->prefix)
		return alarm_fail(e, 400, "InvalidParameterCombination", "AlarmNamePrefix: not with AlarmNames");
	if (q->state && state_parse(q->state, &st) < 0)
		return alarm_fail(e, 400, "InvalidParameterValue",
				  "StateValue: \"%s\" is not OK, ALARM or INSUFFICIENT_DATA", q->state);
	return 0;
}

/* The topics of A's AlarmActions (names). */
static size_t alarm_actions_of(const struct alarm *a, char *const **topics)
{
	if (a->composite) {
		*topics = a->cc->alarm_actions;
		return a->cc->nalarm_actions;
	}
	*topics = a->mc->alarm_actions;
	return a->mc->nalarm_actions;
}

int alarm_query_match(const struct alarm_query *q, const struct alarm *a)
{
	enum alarm_state want;

	if ((a->composite && !q->composite) || (!a->composite && !q->metric))
		return 0;
	if (q->prefix && strncmp(a->name, q->prefix, strlen(q->prefix)) != 0)
		return 0;
	if (q->state && (state_parse(q->state, &want) < 0 || a->state != want))
		return 0;
	if (q->nnames) {
		size_t k;
		for (k = 0; k < q->nnames; k++)
			if (alarm_find(q->names[k]) == a)
				break;
		if (k == q->nnames)
			return 0;
	}
	if (q->action_prefix) {
		char *const *topics;
		size_t n = alarm_actions_of(a, &topics), k;
		json_t *arns = alarm_topic_arns(E.gen->cfg, topics, n);
		for (k = 0; k < n; k++)
			if (strncmp(json_string_value(json_array_get(arns, k)), q->action_prefix,
				    strlen(q->action_prefix)) == 0)
				break;
		json_decref(arns);
		if (k == n)
			return 0;
	}
	return 1;
}

static int hitem_cmp_desc(const void *x, const void *y)
{
	const struct alarm_hitem *a = x, *b = y;
	/* newest first; the same millisecond: as the history holds them */
	if (a->h->ms != b->h->ms)
		return a->h->ms < b->h->ms ? 1 : -1;
	if (a->a != b->a)
		return strcmp(a->a->name, b->a->name);
	return a->h < b->h ? -1 : a->h > b->h;
}

/* HistoryItemType TYPE (not NULL) into *WANT; -1 with E. */
static int hist_type_check(const char *type, enum alarm_hist_type *want, struct alarm_err *e)
{
	for (int t = AH_STATE; t <= AH_ACTION; t++)
		if (strcmp(type, alarm_hist_type_name((enum alarm_hist_type)t)) == 0) {
			*want = (enum alarm_hist_type)t;
			return 0;
		}
	return alarm_fail(e, 400, "InvalidParameterValue",
			  "HistoryItemType: \"%s\" is not ConfigurationUpdate, StateUpdate or Action", type);
}

int alarm_history_query(const struct alarm_hq *q, struct alarm_hitem **items, size_t *n, struct alarm_err *e)
{
	enum alarm_hist_type want = AH_STATE;

	*items = NULL;
	*n = 0;
	if (q->type && hist_type_check(q->type, &want, e) < 0)
		return -1;
	if (q->scan && strcmp(q->scan, "TimestampDescending") != 0 && strcmp(q->scan, "TimestampAscending") != 0)
		return alarm_fail(e, 400, "InvalidParameterValue",
				  "ScanBy: TimestampDescending (the default) or TimestampAscending");
	size_t cap = 0;
	for (size_t i = 0; i < E.n; i++)
		cap += E.a[i]->nhist;
	struct alarm_hitem *out = calloc(cap ? cap : 1, sizeof(*out));
	if (!out)
		return alarm_fail(e, 500, "InternalFailure", "out of memory");
	const struct alarm *only = q->name ? alarm_find(q->name) : NULL;
	for (size_t i = 0; i < E.n; i++) {
		const struct alarm *a = E.a[i];
		if ((q->name && a != only) || (a->composite && !q->composite) || (!a->composite && !q->metric))
			continue;
		for (size_t k = 0; k < a->nhist; k++) {
			const struct alarm_hist *h = &a->hist[k];
			if ((q->type && h->type != want) || h->ms < q->start_ms || h->ms > q->end_ms)
				continue;
			out[(*n)++] = (struct alarm_hitem){ a, h };
		}
	}
	qsort(out, *n, sizeof(*out), hitem_cmp_desc);
	if (q->scan && strcmp(q->scan, "TimestampAscending") == 0)
		for (size_t i = 0; i < *n / 2; i++) {
			struct alarm_hitem t = out[i];
			out[i] = out[*n - 1 - i];
			out[*n - 1 - i] = t;
		}
	*items = out;
	return 0;
}

json_t *alarm_hitem_json(const struct alarm_hitem *it, alarm_time_fn tf)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "AlarmName", it->a->name, "AlarmType",
			 it->a->composite ? "CompositeAlarm" : "MetricAlarm", "Timestamp", tf(it->h->ms),
			 "HistoryItemType", alarm_hist_type_name(it->h->type), "HistorySummary", it->h->summary,
			 "HistoryData", it->h->data);
}

/* SetAlarmState's checks of the alarm, StateValue and StateReason: *A
 * and *ST, or -1 with E. */
static int set_state_check(const char *name, const char *sv, const char *reason, struct alarm **a,
			   enum alarm_state *st, struct alarm_err *e)
{
	if (!(*a = name ? alarm_find(name) : NULL))
		return alarm_fail(e, 404, "ResourceNotFound", "AlarmName: no alarm %s", name ? name : "");
	if (!sv || state_parse(sv, st) < 0)
		return alarm_fail(e, 400, "InvalidParameterValue", "StateValue: required, OK, ALARM or INSUFFICIENT_DATA");
	if (!reason || strlen(reason) > 1023)
		return alarm_fail(e, 400, "InvalidParameterValue", "StateReason: required, at most 1023 characters");
	return 0;
}

int alarm_api_set_state(const char *name, const char *sv, const char *reason, const char *rd, struct alarm_err *e)
{
	enum alarm_state st;
	char err[256];
	struct alarm *a;

	if (set_state_check(name, sv, reason, &a, &st, e) < 0)
		return -1;
	if (rd && strlen(rd) > 4000)
		return alarm_fail(e, 400, "InvalidParameterValue", "StateReasonData: at most 4000 characters");
	if (alarm_set_state(a->name, st, reason, rd, err, sizeof(err)) < 0)
		return alarm_fail(e, 400, "InvalidFormat", "StateReasonData: %s", err);
	return 0;
}

/* ------------------------------------------------------------ the JSON API */

static json_t *iso_time(int64_t ms)
{
	char ts[40];

	alarm_fmt_ms(ms, ts, sizeof(ts), 0);
	return json_string(ts);
}

static void reply_err(struct admin_req *r, const struct alarm_err *e)
{
	admin_reply_error(r, e->status, e->code, "%s", e->msg);
}

struct names {
	const char *v[101];
	size_t n;
};

static void names_cb(const char *name, const char *value, void *arg)
{
	struct names *ns = arg;

	if (strcmp(name, "AlarmNames") != 0 && strncmp(name, "AlarmNames.member.", 18) != 0)
		return;
	if (ns->n < sizeof(ns->v) / sizeof(ns->v[0]))
		ns->v[ns->n++] = value;
}

/* GET /api/v1/alarms */
static void describe_alarms(struct admin_req *r, void *arg)
{
	(void)arg;
	const char *types = admin_req_query(r, "AlarmTypes");
	struct names names = { .n = 0 };
	struct alarm_query q = { .prefix = admin_req_query(r, "AlarmNamePrefix"),
				 .state = admin_req_query(r, "StateValue"),
				 .action_prefix = admin_req_query(r, "ActionPrefix"),
				 .metric = 1,
				 .composite = 1 };
	struct alarm_err e;

	admin_req_query_each(r, names_cb, &names);
	q.names = names.v;
	q.nnames = names.n;
	if (alarm_query_check(&q, &e) < 0) {
		reply_err(r, &e);
		return;
	}
	if (types) {
		q.metric = q.composite = 0;
		char *dup = strdup(types), *save = NULL;
		for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
			if (alarm_type_word(t, &q.metric, &q.composite, &e) < 0) {
				reply_err(r, &e);
				free(dup);
				return;
			}
		}
		free(dup);
	}
	json_t *ma = json_array(), *ca = json_array();
	for (size_t i = 0; i < E.n; i++) {
		const struct alarm *a = E.a[i];
		if (alarm_query_match(&q, a))
			json_array_append_new(a->composite ? ca : ma, alarm_describe(a, iso_time));
	}
	admin_reply_json(r, 200, json_pack("{s:o, s:o}", "MetricAlarms", ma, "CompositeAlarms", ca));
}

/* NAME and what follows it ("/history", "/state") in the path; NULL when
 * the path has neither. */
static struct alarm *path_alarm(struct admin_req *r, const char *suffix)
{
	const char *p = admin_req_path(r) + strlen(PREFIX);
	size_t n = strlen(p), s = strlen(suffix);
	char name[1024];

	if (n <= s || strcmp(p + n - s, suffix) != 0 || n - s >= sizeof(name)) {
		admin_reply_error(r, 404, "NotFound", "No such endpoint: %s", admin_req_path(r));
		return NULL;
	}
	memcpy(name, p, n - s);
	name[n - s] = '\0';
	struct alarm *a = alarm_find(name);
	if (!a)
		admin_reply_error(r, 404, "ResourceNotFound", "AlarmName: no alarm %s", name);
	return a;
}

/* GET /api/v1/alarms/NAME/history */
static void alarm_history(struct admin_req *r, void *arg)
{
	(void)arg;
	const char *sd = admin_req_query(r, "StartDate"), *ed = admin_req_query(r, "EndDate");
	const char *mr = admin_req_query(r, "MaxRecords");
	long max = 100;
	struct alarm_err e;

	struct alarm *a = path_alarm(r, "/history");
	if (!a)
		return;
	struct alarm_hq q = { .name = a->name, .metric = 1, .composite = 1,
			      .type = admin_req_query(r, "HistoryItemType"), .scan = admin_req_query(r, "ScanBy"),
			      .start_ms = 0, .end_ms = INT64_MAX };
	enum alarm_hist_type want;
	if (q.type && hist_type_check(q.type, &want, &e) < 0) {
		reply_err(r, &e);
		return;
	}
	if (sd) {
		if (api_parse_time(sd, &q.start_ms) < 0) {
			admin_reply_error(r, 400, "InvalidParameterValue",
					  "StartDate: \"%s\" is neither ISO 8601 nor epoch seconds", sd);
			return;
		}
		q.start_ms *= 1000;
	}
	if (ed) {
		if (api_parse_time(ed, &q.end_ms) < 0) {
			admin_reply_error(r, 400, "InvalidParameterValue",
					  "EndDate: \"%s\" is neither ISO 8601 nor epoch seconds", ed);
			return;
		}
		q.end_ms = q.end_ms * 1000 + 999;
	}
	if (mr) {
		char *end;
		errno = 0;
		max = strtol(mr, &end, 10);
		if (errno || *end || !*mr || max < 1 || max > 100) {
			admin_reply_error(r, 400, "InvalidParameterValue", "MaxRecords: \"%s\" is not 1 to 100", mr);
			return;
		}
	}
	struct alarm_hitem *items;
	size_t n;
	if (alarm_history_query(&q, &items, &n, &e) < 0) {
		reply_err(r, &e);
		return;
	}
	json_t *out = json_array();
	for (size_t k = 0; k < n && (long)k < max; k++)
		json_array_append_new(out, alarm_hitem_json(&items[k], iso_time));
	free(items);
	admin_reply_json(r, 200, json_pack("{s:o}", "AlarmHistoryItems", out));
}

/* PUT /api/v1/alarms/NAME/state */
static void set_state(struct admin_req *r, void *arg)
{
	(void)arg;
	size_t len;
	const char *body = admin_req_body(r, &len);
	json_error_t je;
	struct alarm_err e;

	struct alarm *a = path_alarm(r, "/state");
	if (!a)
		return;
	json_t *j = json_loadb(body, len, 0, &je);
	if (!json_is_object(j)) {
		admin_reply_error(r, 400, "InvalidParameterValue", "body: not a JSON object (%s)", je.text);
		goto out;
	}
	const char *sv = json_string_value(json_object_get(j, "StateValue"));
	const char *reason = json_string_value(json_object_get(j, "StateReason"));
	const json_t *rdj = json_object_get(j, "StateReasonData");
	if (rdj && !json_is_string(rdj)) {
		struct alarm *x;
		enum alarm_state st;
		if (set_state_check(a->name, sv, reason, &x, &st, &e) < 0)
			reply_err(r, &e);
		else
			admin_reply_error(r, 400, "InvalidParameterValue", "StateReasonData: a string holding JSON");
		goto out;
	}
	if (alarm_api_set_state(a->name, sv, reason, json_string_value(rdj), &e) < 0) {
		reply_err(r, &e);
		goto out;
	}
	admin_reply_json(r, 200, json_object());
out:
	json_decref(j);
}

void alarm_api_init(void)
{
	admin_route("GET", "/api/v1/alarms", 0, describe_alarms, NULL);
	admin_route("GET", PREFIX, ADMIN_PREFIX, alarm_history, NULL);
	admin_route("PUT", PREFIX, ADMIN_PREFIX, set_state, NULL);
}
