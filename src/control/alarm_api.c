/* alarm_api.c - the alarms on the admin listener, in CloudWatch's shapes:
 *
 *   GET /api/v1/alarms               DescribeAlarms: {"MetricAlarms": [...],
 *       ?AlarmNames=a&AlarmNames=b    "CompositeAlarms": [...]}; both kinds
 *       ?AlarmNamePrefix=web-         unless AlarmTypes says (CloudWatch
 *       ?StateValue=ALARM             returns only metric alarms without it)
 *       ?AlarmTypes=MetricAlarm,CompositeAlarm
 *   GET /api/v1/alarms/NAME/history  DescribeAlarmHistory: {"AlarmHistoryItems":
 *       ?HistoryItemType=StateUpdate  [...]}, newest first (ScanBy
 *       ?StartDate=...&EndDate=...    TimestampAscending for oldest first)
 *       ?MaxRecords=N&ScanBy=...
 *   PUT /api/v1/alarms/NAME/state    SetAlarmState: {"StateValue", "StateReason",
 *                                     "StateReasonData"}
 *
 * Errors as the other endpoints: 400 naming the parameter, 404 for an
 * alarm that does not exist.
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

static json_t *describe(const struct alarm *a)
{
	json_t *j = alarm_definition(a);
	char ts[40];

	if (!j)
		return NULL;
	alarm_fmt_ms(a->state_ms, ts, sizeof(ts), 0);
	json_object_set_new(j, "StateValue", json_string(alarm_state_name(a->state)));
	json_object_set_new(j, "StateReason", json_string(a->reason ? a->reason : ""));
	if (a->reason_data)
		json_object_set_new(j, "StateReasonData", json_string(a->reason_data));
	json_object_set_new(j, "StateUpdatedTimestamp", json_string(ts));
	alarm_fmt_ms(a->config_ms, ts, sizeof(ts), 0);
	json_object_set_new(j, "AlarmConfigurationUpdatedTimestamp", json_string(ts));
	/* CloudWatch's StateTransitionedTimestamp: the last change of
	 * StateValue (StateUpdatedTimestamp also moves when SetAlarmState
	 * only changes the reason) */
	alarm_fmt_ms(a->transition_ms, ts, sizeof(ts), 0);
	json_object_set_new(j, "StateTransitionedTimestamp", json_string(ts));
	return j;
}

struct names {
	const char *v[100];
	size_t n;
	int too_many;
};

static void names_cb(const char *name, const char *value, void *arg)
{
	struct names *ns = arg;

	if (strcmp(name, "AlarmNames") != 0 && strncmp(name, "AlarmNames.member.", 18) != 0)
		return;
	if (ns->n == sizeof(ns->v) / sizeof(ns->v[0]))
		ns->too_many = 1;
	else
		ns->v[ns->n++] = value;
}

/* GET /api/v1/alarms */
static void describe_alarms(struct admin_req *r, void *arg)
{
	(void)arg;
	const char *prefix = admin_req_query(r, "AlarmNamePrefix");
	const char *sv = admin_req_query(r, "StateValue");
	const char *types = admin_req_query(r, "AlarmTypes");
	struct names names = { .n = 0 };
	enum alarm_state want = ALARM_OK;
	int metric = 1, composite = 1;

	admin_req_query_each(r, names_cb, &names);
	if (names.too_many) {
		admin_reply_error(r, 400, "InvalidParameterValue", "AlarmNames: at most 100 names");
		return;
	}
	if (names.n && prefix) {
		admin_reply_error(r, 400, "InvalidParameterCombination",
				  "AlarmNamePrefix: not with AlarmNames");
		return;
	}
	if (sv && state_parse(sv, &want) < 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "StateValue: \"%s\" is not OK, ALARM or INSUFFICIENT_DATA", sv);
		return;
	}
	if (types) {
		metric = composite = 0;
		char *dup = strdup(types), *save = NULL;
		for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
			if (strcmp(t, "MetricAlarm") == 0) {
				metric = 1;
			} else if (strcmp(t, "CompositeAlarm") == 0) {
				composite = 1;
			} else {
				admin_reply_error(r, 400, "InvalidParameterValue",
						  "AlarmTypes: \"%s\" is not MetricAlarm or CompositeAlarm", t);
				free(dup);
				return;
			}
		}
		free(dup);
	}
	json_t *ma = json_array(), *ca = json_array();
	for (size_t i = 0; i < E.n; i++) {
		const struct alarm *a = E.a[i];
		if ((a->composite && !composite) || (!a->composite && !metric))
			continue;
		if (prefix && strncmp(a->name, prefix, strlen(prefix)) != 0)
			continue;
		if (sv && a->state != want)
			continue;
		if (names.n) {
			size_t k;
			for (k = 0; k < names.n; k++)
				if (strcmp(names.v[k], a->name) == 0)
					break;
			if (k == names.n)
				continue;
		}
		json_array_append_new(a->composite ? ca : ma, describe(a));
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
	const char *type = admin_req_query(r, "HistoryItemType");
	const char *sd = admin_req_query(r, "StartDate"), *ed = admin_req_query(r, "EndDate");
	const char *mr = admin_req_query(r, "MaxRecords"), *scan = admin_req_query(r, "ScanBy");
	int64_t start = 0, end = INT64_MAX;
	long max = 100;
	enum alarm_hist_type want = AH_STATE;

	struct alarm *a = path_alarm(r, "/history");
	if (!a)
		return;
	if (type) {
		int ok = 0;
		for (int t = AH_STATE; t <= AH_ACTION; t++)
			if (strcmp(type, alarm_hist_type_name((enum alarm_hist_type)t)) == 0) {
				want = (enum alarm_hist_type)t;
				ok = 1;
			}
		if (!ok) {
			admin_reply_error(r, 400, "InvalidParameterValue",
					  "HistoryItemType: \"%s\" is not ConfigurationUpdate, StateUpdate or Action",
					  type);
			return;
		}
	}
	if (sd) {
		if (api_parse_time(sd, &start) < 0) {
			admin_reply_error(r, 400, "InvalidParameterValue",
					  "StartDate: \"%s\" is neither ISO 8601 nor epoch seconds", sd);
			return;
		}
		start *= 1000;
	}
	if (ed) {
		if (api_parse_time(ed, &end) < 0) {
			admin_reply_error(r, 400, "InvalidParameterValue",
					  "EndDate: \"%s\" is neither ISO 8601 nor epoch seconds", ed);
			return;
		}
		end = end * 1000 + 999;
	}
	if (mr) {
		char *e;
		errno = 0;
		max = strtol(mr, &e, 10);
		if (errno || *e || !*mr || max < 1 || max > 100) {
			admin_reply_error(r, 400, "InvalidParameterValue", "MaxRecords: \"%s\" is not 1 to 100", mr);
			return;
		}
	}
	if (scan && strcmp(scan, "TimestampDescending") != 0 && strcmp(scan, "TimestampAscending") != 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "ScanBy: TimestampDescending (the default) or TimestampAscending");
		return;
	}
	int asc = scan && strcmp(scan, "TimestampAscending") == 0;
	json_t *items = json_array();
	for (size_t k = 0; k < a->nhist && (long)json_array_size(items) < max; k++) {
		const struct alarm_hist *h = &a->hist[asc ? a->nhist - 1 - k : k];
		if ((type && h->type != want) || h->ms < start || h->ms > end)
			continue;
		char ts[40];
		alarm_fmt_ms(h->ms, ts, sizeof(ts), 0);
		json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "AlarmName", a->name,
						       "AlarmType", a->composite ? "CompositeAlarm" : "MetricAlarm",
						       "Timestamp", ts, "HistoryItemType",
						       alarm_hist_type_name(h->type), "HistorySummary", h->summary,
						       "HistoryData", h->data));
	}
	admin_reply_json(r, 200, json_pack("{s:o}", "AlarmHistoryItems", items));
}

/* PUT /api/v1/alarms/NAME/state */
static void set_state(struct admin_req *r, void *arg)
{
	(void)arg;
	size_t len;
	const char *body = admin_req_body(r, &len);
	json_error_t je;
	enum alarm_state st;
	char err[256];

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
	if (!sv || state_parse(sv, &st) < 0) {
		admin_reply_error(r, 400, "InvalidParameterValue",
				  "StateValue: required, OK, ALARM or INSUFFICIENT_DATA");
		goto out;
	}
	if (!reason || strlen(reason) > 1023) {
		admin_reply_error(r, 400, "InvalidParameterValue", "StateReason: required, at most 1023 characters");
		goto out;
	}
	if (rdj && !json_is_string(rdj)) {
		admin_reply_error(r, 400, "InvalidParameterValue", "StateReasonData: a string holding JSON");
		goto out;
	}
	const char *rd = json_string_value(rdj);
	if (rd && strlen(rd) > 4000) {
		admin_reply_error(r, 400, "InvalidParameterValue", "StateReasonData: at most 4000 characters");
		goto out;
	}
	if (alarm_set_state(a->name, st, reason, rd, err, sizeof(err)) < 0) {
		admin_reply_error(r, 400, "InvalidFormat", "StateReasonData: %s", err);
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
