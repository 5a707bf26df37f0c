/* alarm.c - the alarm engine (see alarm.h): the alarms of the live
 * config, their states and histories, evaluation on a 1 s tick,
 * persistence in state_dir/alarms.json, actions through the notifier.
 * The admin API over it is in alarm_api.c; CloudWatch's JSON shapes are
 * built here (alarm_json_*) so that the API, the history and the
 * notifications say the same thing.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "../core/atomic_file.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../proxy/gen.h"
#include "../proxy/target_group.h"
#include "alarm.h"
#include "alarm_int.h"
#include "alarm_rule.h"
#include "health.h"
#include "metric_query.h"
#include "metrics.h"
#include "store_codec.h"

#define STATE_FILE "alarms.json"
/* alarms.json: version 2 is {"version":2,"crc32c":"8 hex digits","alarms":A}
 * byte for byte as alarm_save() writes it, the CRC-32C of A's bytes, so a
 * flipped byte that still parses is found; version 1 (no checksum, from
 * albd before it) is still read. */
#define STATE_VERSION 2
#define STATE_V2_HEAD "{\"version\":2,\"crc32c\":\""
#define STATE_V2_MID "\",\"alarms\":"
#define STATE_MAX_BYTES (256u * 1024 * 1024)   /* larger: not a file albd wrote */
#define WHY_LEN 200                              /* state_load()'s reasons */
/* PutMetricAlarm's alarms: their definitions (their state is in
 * STATE_FILE with the file's alarms') */
#define RT_FILE "alarms_runtime.json"
#define RT_VERSION 1
#define RT_MAX 1000 /* run-time alarms at most: LimitExceeded beyond */

static int64_t real_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t (*alarm_clock)(void) = real_clock;

struct alarm_engine E;

/* ------------------------------------------------------------ time */

/* "2026-11-30T01:30:00.123Z" (SEP 'Z') or "...123+0000" (SEP '+'). */
void alarm_fmt_ms(int64_t ms, char *buf, size_t len, int plus)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000), plus ? "+0000" : "Z");
}

/* "Friday 04 August, 2023 12:54:46 UTC", as composite alarms' reasons. */
static void fmt_long(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%A %d %B, %Y %H:%M:%S UTC", &tm);
}

/* ------------------------------------------------------------ names */

void alarm_arn(const struct albd_config *cfg, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "arn:aws:cloudwatch:%s:%s:alarm:%s", cfg->region ? cfg->region : "local",
		 cfg->account_id ? cfg->account_id : "000000000000", name);
}

json_t *alarm_topic_arns(const struct albd_config *cfg, char *const *topics, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char arn[512];
		snprintf(arn, sizeof(arn), "arn:aws:sns:%s:%s:%s", cfg->region ? cfg->region : "local",
			 cfg->account_id ? cfg->account_id : "000000000000", topics[i]);
		json_array_append_new(a, json_string(arn));
	}
	return a;
}

struct alarm *alarm_find(const char *name)
{
	const struct albd_config *cfg = E.gen ? E.gen->cfg : NULL;
	char prefix[256];

	if (cfg) {
		int n = snprintf(prefix, sizeof(prefix), "arn:aws:cloudwatch:%s:%s:alarm:",
				 cfg->region ? cfg->region : "local", cfg->account_id ? cfg->account_id : "000000000000");
		if (n > 0 && (size_t)n < sizeof(prefix) && strncmp(name, prefix, (size_t)n) == 0)
			name += n;
	}
	for (size_t i = 0; i < E.n; i++)
		if (strcmp(E.a[i]->name, name) == 0)
			return E.a[i];
	return NULL;
}

/* ------------------------------------------------------------ definitions */

/* Dimensions as DescribeAlarms writes them ({"Name", "Value"}), or as a
 * notification's Trigger does ({"value", "name"}). */
static json_t *dims_json(const struct cfg_dim *d, size_t n, int lower)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, lower ? json_pack("{s:s, s:s}", "value", d[i].value, "name", d[i].name)
					       : json_pack("{s:s, s:s}", "Name", d[i].name, "Value", d[i].value));
	return a;
}

/* The Metrics list (MetricDataQuery), as DescribeAlarms (LOWER 0) or a
 * notification's Trigger (LOWER 1: lower-case dimension keys) shows it. */
static json_t *metrics_json(const struct cfg_alarm *c, int lower)
{
	json_t *a = json_array();

	for (size_t i = 0; i < c->nmetrics; i++) {
		const struct cfg_alarm_query *q = &c->metrics[i];
		json_t *j = json_pack("{s:s, s:b}", "Id", q->id, "ReturnData", q->return_data);
		if (q->label)
			json_object_set_new(j, "Label", json_string(q->label));
		if (q->expression) {
			json_object_set_new(j, "Expression", json_string(q->expression));
			if (q->period)
				json_object_set_new(j, "Period", json_integer(q->period));
		} else {
			json_object_set_new(j, "MetricStat",
					    json_pack("{s:{s:o, s:s, s:s}, s:I, s:s}", "Metric", "Dimensions",
						      dims_json(q->dims, q->ndims, lower), "MetricName", q->metric,
						      "Namespace", q->namespace ? q->namespace : METRICS_NAMESPACE,
						      "Period", (json_int_t)(q->period ? q->period : c->period), "Stat",
						      q->stat));
			if (q->unit)
				json_object_set_new(json_object_get(j, "MetricStat"), "Unit", json_string(q->unit));
		}
		json_array_append_new(a, j);
	}
	return a;
}

/* Metric alarm C's definition in DescribeAlarms' names, ActionsEnabled
 * ENABLED, with RT's own fields when it is a run-time alarm. */
static json_t *metric_definition(const struct albd_config *cfg, const struct cfg_alarm *c, const struct alarm_rt *rt,
				 int enabled)
{
	char arn[512];
	json_t *j;

	alarm_arn(cfg, c->name, arn, sizeof(arn));
	j = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:I, s:I, s:f, s:s, s:s}", "AlarmName", c->name, "AlarmArn",
		      arn, "ActionsEnabled", enabled, "OKActions", alarm_topic_arns(cfg, c->ok_actions, c->nok_actions),
		      "AlarmActions", alarm_topic_arns(cfg, c->alarm_actions, c->nalarm_actions),
		      "InsufficientDataActions",
		      alarm_topic_arns(cfg, c->insufficient_data_actions, c->ninsufficient_data_actions),
		      "EvaluationPeriods", (json_int_t)c->evaluation_periods, "DatapointsToAlarm",
		      (json_int_t)(c->datapoints_to_alarm ? c->datapoints_to_alarm : c->evaluation_periods),
		      "Threshold", c->threshold, "ComparisonOperator", c->comparison, "TreatMissingData",
		      c->treat_missing_data ? c->treat_missing_data : "missing");
	if (!j)
		return NULL;
	if (c->description)
		json_object_set_new(j, "AlarmDescription", json_string(c->description));
	if (c->metric) {
		json_object_set_new(j, "MetricName", json_string(c->metric));
		json_object_set_new(j, "Namespace", json_string(c->namespace ? c->namespace : METRICS_NAMESPACE));
		if (c->statistic)
			json_object_set_new(j, "Statistic", json_string(c->statistic));
		else
			json_object_set_new(j, "ExtendedStatistic", json_string(c->extended_statistic));
		json_object_set_new(j, "Dimensions", dims_json(c->dims, c->ndims, 0));
		json_object_set_new(j, "Period", json_integer(c->period));
	} else {
		json_object_set_new(j, "Metrics", metrics_json(c, 0));
		json_object_set_new(j, "Period", json_integer(c->period));
	}
	if (rt && rt->unit)
		json_object_set_new(j, "Unit", json_string(rt->unit));
	if (rt && rt->elscp)
		json_object_set_new(j, "EvaluateLowSampleCountPercentile", json_string(rt->elscp));
	return j;
}

/* The definition of A in DescribeAlarms' names (no state): what the hash
 * covers (computed before Enable/DisableAlarmActions can change
 * ActionsEnabled) and ConfigurationUpdate history items show. */
json_t *alarm_definition(const struct alarm *a)
{
	const struct albd_config *cfg = E.gen->cfg;
	char arn[512];
	json_t *j;

	if (!a->composite)
		return metric_definition(cfg, a->mc, a->rt, a->actions_enabled);
	const struct cfg_composite_alarm *c = a->cc;
	alarm_arn(cfg, a->name, arn, sizeof(arn));
	j = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:s}", "AlarmName", c->name, "AlarmArn", arn, "ActionsEnabled",
		      a->actions_enabled, "OKActions", alarm_topic_arns(cfg, c->ok_actions, c->nok_actions),
		      "AlarmActions", alarm_topic_arns(cfg, c->alarm_actions, c->nalarm_actions),
		      "InsufficientDataActions",
		      alarm_topic_arns(cfg, c->insufficient_data_actions, c->ninsufficient_data_actions), "AlarmRule",
		      c->rule);
	if (j && c->description)
		json_object_set_new(j, "AlarmDescription", json_string(c->description));
	return j;
}

json_t *alarm_rt_json(const struct albd_config *cfg, const struct alarm_rt *rt)
{
	json_t *j = metric_definition(cfg, &rt->c, rt, rt->c.actions_enabled);

	if (!j)
		return NULL;
	json_object_del(j, "AlarmArn");
	if (rt->c.nmetrics)
		json_object_del(j, "Period"); /* the queries' */
	if (rt->tags)
		json_object_set(j, "Tags", rt->tags);
	return j;
}

/* FNV-1a 64 of the definition's canonical JSON, as 16 hex digits. */
static void definition_hash(const struct alarm *a, char out[17])
{
	json_t *d = alarm_definition(a);
	char *s = d ? json_dumps(d, JSON_SORT_KEYS | JSON_COMPACT) : NULL;

	config_name_hash_hex(s ? s : "", out);
	free(s);
	json_decref(d);
}

/* ------------------------------------------------------------ history */

static void ahist_free(struct alarm_hist *h)
{
	free(h->summary);
	free(h->data);
}

/* Add an item (newest first; the oldest beyond ALARM_HISTORY_MAX go).
 * SUMMARY and DATA are copied. */
void alarm_history_add(struct alarm *a, int64_t ms, enum alarm_hist_type type, const char *summary,
		       const char *data)
{
	struct alarm_hist h = { ms, type, strdup(summary), strdup(data ? data : "{}") };

	if (!h.summary || !h.data) {
		ahist_free(&h);
		return;
	}
	/* at most ALARM_HISTORY_MAX items, none older than CloudWatch's two weeks */
	while (a->nhist && (a->nhist == ALARM_HISTORY_MAX || a->hist[a->nhist - 1].ms < ms - ALARM_HISTORY_AGE_MS)) {
		ahist_free(&a->hist[a->nhist - 1]);
		a->nhist--;
	}
	memmove(&a->hist[1], &a->hist[0], a->nhist * sizeof(a->hist[0]));
	a->hist[0] = h;
	a->nhist++;
}

const char *alarm_hist_type_name(enum alarm_hist_type t)
{
	return t == AH_STATE ? "StateUpdate" : t == AH_CONFIG ? "ConfigurationUpdate"
							      : "Action";
}

static int hist_type_parse(const char *s, enum alarm_hist_type *t)
{
	for (int i = AH_STATE; i <= AH_ACTION; i++)
		if (strcmp(s, alarm_hist_type_name((enum alarm_hist_type)i)) == 0) {
			*t = (enum alarm_hist_type)i;
			return 0;
		}
	return -1;
}

/* ------------------------------------------------------------ persistence */

static json_t *reason_data_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *state_json(void)
{
	json_t *alarms = json_object();

	for (size_t i = 0; i < E.n; i++) {
		struct alarm *a = E.a[i];
		json_t *h = json_array();
		for (size_t k = 0; k < a->nhist; k++)
			json_array_append_new(h, json_pack("{s:I, s:s, s:s, s:s}", "ts", (json_int_t)a->hist[k].ms,
							   "type", alarm_hist_type_name(a->hist[k].type), "summary",
							   a->hist[k].summary, "data", a->hist[k].data));
		json_object_set_new(alarms, a->name,
				    json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o}", "type",
					      a->composite ? "CompositeAlarm" : "MetricAlarm", "hash", a->hash, "state",
					      alarm_state_name(a->state), "reason", a->reason ? a->reason : "",
					      "reason_data", reason_data_json(a->reason_data), "state_updated",
					      (json_int_t)a->state_ms, "config_updated", (json_int_t)a->config_ms,
					      "last_end", (json_int_t)a->last_end, "history", h));
		json_object_set_new(json_object_get(alarms, a->name), "state_transitioned",
				    json_integer(a->transition_ms));
		json_object_set_new(json_object_get(alarms, a->name), "actions_enabled",
				    json_boolean(a->actions_enabled));
	}
	return alarms;
}

static char *state_path(const char *suffix)
{
	const char *dir = E.gen && E.gen->cfg->state_dir ? E.gen->cfg->state_dir : NULL;
	char *p = NULL;

	if (!dir || asprintf(&p, "%s/%s%s", dir, STATE_FILE, suffix) < 0)
		return NULL;
	return p;
}

/* Write every alarm's state and history to state_dir/alarms.json:
 * written to a temporary file, fsynced, renamed over, the directory
 * fsynced. A failure is logged; the state in memory stays. */
void alarm_save(void)
{
	const char *dir = E.gen && E.gen->cfg->state_dir ? E.gen->cfg->state_dir : NULL;
	json_t *j = state_json();
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL, *text = NULL;
	char err[512];

	if (body && asprintf(&text, "%s%08x%s%s}\n", STATE_V2_HEAD, store_crc32c(0, body, strlen(body)), STATE_V2_MID,
			     body) < 0)
		text = NULL;
	free(body);

	if (!dir || !text) {
		log_err("alarms: cannot write the alarm state: out of memory");
	} else if (atomic_write_mkdir(dir, STATE_FILE, text, strlen(text), 0640, err, sizeof err) < 0) {
		log_err("alarms: %s", err);
	} else {
		E.dirty_ends = 0;
		E.saved_ms = alarm_clock();
		free(text);
		json_decref(j);
		return;
	}
	/* not written: again within ALARM_SAVE_EVERY_S (a change is not
	 * left unsaved until the next one) */
	E.saved_ms = alarm_clock();
	E.dirty_ends = 1;
	free(text);
	json_decref(j);
}

/* The whole of PATH, NUL-terminated, its length in *LEN; NULL with WHY
 * (at least WHY_LEN bytes). */
static char *slurp_state(const char *path, size_t *len, char *why)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, WHY_LEN, "unreadable: %s", strerror(errno));
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > STATE_MAX_BYTES) {
		snprintf(why, WHY_LEN, "%s", S_ISREG(st.st_mode) ? "larger than 256 MiB" : "not a regular file");
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		snprintf(why, WHY_LEN, "out of memory");
	} else {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		buf[got] = 0;
		*len = got;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

/* The alarms object of the version 2 file BUF (LEN bytes), its checksum
 * checked; NULL with WHY. */
static json_t *state_v2(const char *buf, size_t len, char *why)
{
	const size_t hl = sizeof STATE_V2_HEAD - 1, ml = sizeof STATE_V2_MID - 1;
	json_error_t je;
	char hex[9];

	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (len < hl + 8 + ml + 3 || memcmp(buf + hl + 8, STATE_V2_MID, ml) != 0 || buf[len - 1] != '}') {
		snprintf(why, WHY_LEN, "version 2 but not laid out as albd writes it");
		return NULL;
	}
	memcpy(hex, buf + hl, 8);
	hex[8] = 0;
	char *end;
	unsigned long want = strtoul(hex, &end, 16);
	const char *body = buf + hl + 8 + ml;
	size_t blen = len - 1 - (hl + 8 + ml);
	uint32_t got = store_crc32c(0, body, blen);
	if (*end || got != want) {
		snprintf(why, WHY_LEN, "checksum mismatch (%s in the file, %08x computed): damaged", hex, got);
		return NULL;
	}
	json_t *a = json_loadb(body, blen, 0, &je);
	if (!json_is_object(a)) {
		snprintf(why, WHY_LEN, "%s", a ? "alarms is not an object" : je.text);
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Read the saved state: an object of alarm name -> saved record, or NULL
 * (none, or a corrupt file, which is logged and renamed *.corrupt). Reads
 * version 2 (checksummed) and version 1. */
static json_t *state_load(void)
{
	char *path = state_path("");
	json_error_t je;
	json_t *alarms = NULL;
	char why[WHY_LEN] = "";
	size_t len = 0;

	if (!path)
		return NULL;
	if (access(path, F_OK) < 0) {
		free(path);
		return NULL;
	}
	char *buf = slurp_state(path, &len, why);
	if (buf && len >= sizeof STATE_V2_HEAD - 1 && !memcmp(buf, STATE_V2_HEAD, sizeof STATE_V2_HEAD - 1)) {
		alarms = state_v2(buf, len, why);
	} else if (buf) {
		json_t *j = json_loadb(buf, len, 0, &je);
		if (j && json_integer_value(json_object_get(j, "version")) == 1 &&
		    json_is_object(json_object_get(j, "alarms")))
			alarms = json_incref(json_object_get(j, "alarms"));   /* version 1: no checksum */
		else
			snprintf(why, sizeof why, "%s", j ? "unknown version or shape" : je.text);
		json_decref(j);
	}
	if (!alarms) {
		char *bad = state_path(".corrupt");
		log_err("alarms: %s is not a state file albd wrote (%s); set aside as %s, every alarm starts "
			"from INSUFFICIENT_DATA",
			path, why, bad ? bad : "?");
		if (bad)
			rename(path, bad);
		free(bad);
	}
	free(buf);
	free(path);
	return alarms;
}

/* Restore A from its saved record S (when it has the same type and hash):
 * state, reason, times, history. Returns 1 when restored, 0 when the
 * record is of another definition (its history is still taken), -1 when
 * the record is unusable. */
static int restore(struct alarm *a, const json_t *s, enum alarm_state *saved_state, char **saved_reason)
{
	enum alarm_state st;
	const char *type = json_string_value(json_object_get(s, "type"));
	const char *hash = json_string_value(json_object_get(s, "hash"));
	const char *state = json_string_value(json_object_get(s, "state"));
	const char *reason = json_string_value(json_object_get(s, "reason"));
	const json_t *rd = json_object_get(s, "reason_data"), *h = json_object_get(s, "history"), *e;
	size_t i;

	if (!type || !hash || !state || !reason || !json_is_array(h))
		return -1;
	if (strcmp(state, "OK") == 0)
		st = ALARM_OK;
	else if (strcmp(state, "ALARM") == 0)
		st = ALARM_ALARM;
	else if (strcmp(state, "INSUFFICIENT_DATA") == 0)
		st = ALARM_INSUFFICIENT_DATA;
	else
		return -1;
	/* the history, oldest last in the file as in memory */
	json_array_foreach(h, i, e)
	{
		enum alarm_hist_type t;
		const char *ty = json_string_value(json_object_get(e, "type"));
		const char *sum = json_string_value(json_object_get(e, "summary"));
		const char *data = json_string_value(json_object_get(e, "data"));
		if (!ty || !sum || !data || hist_type_parse(ty, &t) < 0 || a->nhist == ALARM_HISTORY_MAX)
			continue;
		struct alarm_hist it = { json_integer_value(json_object_get(e, "ts")), t, strdup(sum), strdup(data) };
		if (!it.summary || !it.data) {
			ahist_free(&it);
			continue;
		}
		a->hist[a->nhist++] = it;
	}
	*saved_state = st;
	*saved_reason = strdup(reason);
	if (strcmp(type, a->composite ? "CompositeAlarm" : "MetricAlarm") != 0 || strcmp(hash, a->hash) != 0)
		return 0;
	a->state = st;
	free(a->reason);
	a->reason = strdup(reason);
	free(a->reason_data);
	a->reason_data = json_is_string(rd) ? strdup(json_string_value(rd)) : NULL;
	a->state_ms = json_integer_value(json_object_get(s, "state_updated"));
	a->transition_ms = json_integer_value(json_object_get(s, "state_transitioned"));
	if (!a->transition_ms)
		a->transition_ms = a->state_ms;
	a->config_ms = json_integer_value(json_object_get(s, "config_updated"));
	a->last_end = json_integer_value(json_object_get(s, "last_end"));
	/* Enable/DisableAlarmActions, kept while the definition stays */
	if (json_is_boolean(json_object_get(s, "actions_enabled")))
		a->actions_enabled = json_is_true(json_object_get(s, "actions_enabled"));
	return 1;
}

/* ------------------------------------------------------------ alarms */

void alarm_free(struct alarm *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nhist; i++)
		ahist_free(&a->hist[i]);
	for (size_t i = 0; i < a->nq; i++)
		mm_free(a->q[i].e);
	free(a->q);
	free(a->dims);
	for (size_t i = 0; i < a->nqdims; i++)
		free(a->qdims[i]);
	free(a->qdims);
	ar_free(a->rule);
	free(a->name);
	free(a->reason);
	free(a->reason_data);
	free(a->cause);
	free(a);
}

/* The queries of metric alarm A (one MetricStat, or its metrics), parsed
 * once; evaluation copies them. Returns 0 or -1. */
static int build_queries(struct alarm *a)
{
	const struct cfg_alarm *c = a->mc;
	char why[256];

	if (c->metric) {
		if (!(a->q = calloc(1, sizeof(*a->q))) || !(a->dims = calloc(c->ndims ? c->ndims : 1, sizeof(*a->dims))))
			return -1;
		for (size_t i = 0; i < c->ndims; i++)
			a->dims[i] = (struct store_dim){ c->dims[i].name, c->dims[i].value };
		a->q[0] = (struct mquery){ .id = "m", .ns = c->namespace ? c->namespace : METRICS_NAMESPACE, .name = c->metric, .stat = c->statistic ? c->statistic : c->extended_statistic, .dims = a->dims, .ndims = c->ndims, .period = c->period };
		a->nq = 1;
		a->ret = 0;
		return 0;
	}
	if (!(a->q = calloc(c->nmetrics, sizeof(*a->q))) || !(a->qdims = calloc(c->nmetrics, sizeof(*a->qdims))))
		return -1;
	a->nqdims = c->nmetrics;
	for (size_t i = 0; i < c->nmetrics; i++) {
		const struct cfg_alarm_query *q = &c->metrics[i];
		struct mquery *m = &a->q[i];
		a->nq++;
		m->id = q->id;
		m->period = q->period ? q->period : c->period;
		if (q->return_data)
			a->ret = i;
		if (q->expression) {
			m->expr = q->expression;
			if (!(m->e = mm_parse(q->expression, why, sizeof(why))))
				return -1;
			continue;
		}
		if (!(a->qdims[i] = calloc(q->ndims ? q->ndims : 1, sizeof(*a->qdims[i]))))
			return -1;
		for (size_t k = 0; k < q->ndims; k++)
			a->qdims[i][k] = (struct store_dim){ q->dims[k].name, q->dims[k].value };
		m->ns = q->namespace ? q->namespace : METRICS_NAMESPACE;
		m->name = q->metric;
		m->stat = q->stat;
		m->unit = q->unit;
		m->dims = a->qdims[i];
		m->ndims = q->ndims;
	}
	return 0;
}

/* A new alarm for metric alarm MC or composite alarm CC of the config. */
static struct alarm *alarm_new(const struct cfg_alarm *mc, const struct cfg_composite_alarm *cc)
{
	struct alarm *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->composite = cc != NULL;
	a->mc = mc;
	a->cc = cc;
	a->name = strdup(mc ? mc->name : cc->name);
	a->state = ALARM_INSUFFICIENT_DATA;
	a->actions_enabled = mc ? mc->actions_enabled : cc->actions_enabled;
	a->reason = strdup("Unchecked: Initial alarm creation");
	if (!a->name || !a->reason)
		goto err;
	if (mc) {
		a->def = (struct alarm_def){ .period = mc->period, .evaluation_periods = mc->evaluation_periods, .datapoints_to_alarm = mc->datapoints_to_alarm, .threshold = mc->threshold, .statistic = mc->metric ? (mc->statistic ? mc->statistic : mc->extended_statistic) : NULL };
		if (alarm_cmp_parse(mc->comparison, &a->def.cmp) < 0 ||
		    (mc->treat_missing_data && alarm_missing_parse(mc->treat_missing_data, &a->def.missing) < 0) ||
		    build_queries(a) < 0)
			goto err;
	} else {
		char why[256];
		if (!(a->rule = ar_parse(cc->rule, why, sizeof(why))))
			goto err;
	}
	return a;
err:
	alarm_free(a);
	return NULL;
}

/* ------------------------------------------------------------ state changes */

/* {"version":"1.0","oldState":{...},"newState":{...}} of a StateUpdate. */
static char *state_history_data(const struct alarm *a, enum alarm_state old, const char *old_reason,
				const char *old_data)
{
	json_t *o = json_pack("{s:s, s:s}", "stateValue", alarm_state_name(old), "stateReason",
			      old_reason ? old_reason : "");
	json_t *n = json_pack("{s:s, s:s}", "stateValue", alarm_state_name(a->state), "stateReason",
			      a->reason ? a->reason : "");
	json_t *od = old_data ? json_loads(old_data, 0, NULL) : NULL, *nd = a->reason_data ? json_loads(a->reason_data, 0, NULL) : NULL;

	if (od)
		json_object_set_new(o, "stateReasonData", od);
	if (nd)
		json_object_set_new(n, "stateReasonData", nd);
	json_t *j = json_pack("{s:s, s:o, s:o}", "version", "1.0", "oldState", o, "newState", n);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* Put A into STATE with REASON and DATA (copied) at MS: history, then the
 * actions (with DETAILS, borrowed, for the message), then composites are
 * marked for evaluation. Does not save: the caller does, once. */
void alarm_change(struct alarm *a, enum alarm_state state, const char *reason, const char *data, int64_t ms,
		  json_t *details, const char *cause)
{
	enum alarm_state old = a->state;
	char *old_reason = a->reason, *old_data = a->reason_data;
	char summary[128];

	a->state = state;
	a->reason = strdup(reason);
	a->reason_data = data ? strdup(data) : NULL;
	a->state_ms = a->transition_ms = ms;
	free(a->cause);
	a->cause = cause ? strdup(cause) : NULL;
	snprintf(summary, sizeof(summary), "Alarm updated from %s to %s", alarm_state_name(old),
		 alarm_state_name(state));
	char *hd = state_history_data(a, old, old_reason, old_data);
	alarm_history_add(a, ms, AH_STATE, summary, hd);
	free(hd);
	log_info("alarm: name=%s state=%s previous=%s reason=\"%s\"", a->name, alarm_state_name(state),
		 alarm_state_name(old), a->reason ? a->reason : "");
	alarm_actions(a, old, details);
	free(old_reason);
	free(old_data);
	a->changed_seq = ++E.seq;
	E.dirty_composites = 1;
}

/* ------------------------------------------------------------ evaluation */

static struct mquery_env env_now(int64_t now)
{
	struct store *st = E.store_set ? E.store : metrics_store();
	const char *lb = E.store_set ? E.lb_name : metrics_lb_name();
	return (struct mquery_env){ st, lb ? lb : "albd", now, 0 };
}

/* The value of each period of [START, END) for metric alarm A: PTS[i] for
 * the period START + i * period. Returns 0, or -1 (logged) when the
 * queries fail (every point is then missing). */
int alarm_points(struct alarm *a, int64_t start, int64_t end, int64_t now, struct alarm_point *pts, size_t n)
{
	unsigned P = a->def.period;
	struct mquery *q = calloc(a->nq, sizeof(*q));
	char err[512];
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		pts[i] = (struct alarm_point){ start + (int64_t)i * P, 0, 0, 0 };
	if (!q)
		return -1;
	memcpy(q, a->q, a->nq * sizeof(*q));
	/* PutMetricAlarm's Unit: that unit's data only (none: all units') */
	if (a->rt && a->mc && a->mc->metric)
		q[0].unit = a->rt->unit;
	struct mquery_env env = env_now(now);
	int ok = env.st && mquery_eval(&env, q, a->nq, start, end, P, err, sizeof(err)) == 0;
	if (ok && q[a->ret].arr.array) {
		/* alarm_check() refuses it; CloudWatch: "Any expression used in a
		 * PutMetricAlarm operation must return a single time series" */
		snprintf(err, sizeof(err), "%s: the result is an array of %zu time series, not one", q[a->ret].id,
			 q[a->ret].arr.n);
		ok = 0;
	}
	if (ok) {
		const struct mquery *r = &q[a->ret];
		for (size_t k = 0; k < r->ser.n; k++) {
			int64_t t = r->ser.t[k];
			if (t < start || t >= end || (t - start) % P || !isfinite(r->ser.v[k]))
				continue;
			struct alarm_point *p = &pts[(t - start) / P];
			p->present = 1;
			p->v = r->ser.v[k];
			p->samples = r->samples ? r->samples[k] : 0;
		}
		rc = 0;
	} else if (env.st) {
		log_warn("alarm: name=%s: the query failed: %s", a->name, err);
	}
	for (size_t i = 0; i < a->nq; i++)
		mquery_clear(&q[i]);
	free(q);
	return rc;
}

/* Evaluate metric alarm A over the periods that end at END (aligned). */
static void evaluate(struct alarm *a, int64_t end, int64_t ms)
{
	unsigned R = alarm_eval_range(&a->def);
	int64_t P = a->def.period, start = end - (int64_t)R * P;
	struct alarm_point *pts = calloc(R, sizeof(*pts));
	struct alarm_result res;

	a->last_end = end;
	E.dirty_ends = 1;
	if (!pts)
		return;
	/* a query that fails (logged) leaves the state as it is: an error in
	 * albd is not missing data */
	if (alarm_points(a, start, end, ms / 1000, pts, R) < 0) {
		free(pts);
		return;
	}
	if (alarm_evaluate(&a->def, a->state, pts, R, ms / 1000, &res) == 0) {
		if (res.changed) {
			json_t *details = alarm_details(a, pts, R, res.state, ms / 1000);
			char cause[40];
			snprintf(cause, sizeof(cause), "period:%lld", (long long)end);
			alarm_change(a, res.state, res.reason, res.reason_data, ms, details, cause);
			json_decref(details);
			E.dirty = 1;
		}
		alarm_result_free(&res);
	}
	free(pts);
}

static int state_of_cb(void *arg, const char *name)
{
	(void)arg;
	struct alarm *m = alarm_find(name);
	if (!m)
		return AR_UNKNOWN;
	return m->state == ALARM_OK ? AR_OK : m->state == ALARM_ALARM ? AR_ALARM
								      : AR_INSUFFICIENT_DATA;
}

/* Composite alarm A: its rule over the members' states now, when one of
 * them changed since A was last evaluated (or A never was since the start
 * or its creation). A state set by SetAlarmState stays until then. */
static void evaluate_composite(struct alarm *a, int64_t ms)
{
	const char *const *names;
	size_t n = ar_names(a->rule, &names);
	int due = !a->evaluated;
	for (size_t i = 0; i < n && !due; i++) {
		struct alarm *m = alarm_find(names[i]);
		due = m && m->changed_seq > a->eval_seq;
	}
	if (!due)
		return;
	uint64_t since = a->evaluated ? a->eval_seq : 0;
	a->evaluated = 1;
	a->eval_seq = E.seq;
	int v = ar_eval(a->rule, state_of_cb, NULL);
	if (v < 0)
		return;
	enum alarm_state st = v ? ALARM_ALARM : ALARM_OK;
	if (st == a->state)
		return;
	/* CloudWatch's "arn:...:alarm:X transitioned to ALARM at <date>":
	 * the triggering child, among the members that changed since the
	 * last evaluation, one now in ALARM when the composite goes to ALARM
	 * (the rule's cause), else the one that changed last */
	struct alarm *trig = NULL;
	for (size_t i = 0; i < n; i++) {
		struct alarm *m = alarm_find(names[i]);
		if (!m)
			continue;
		int fits = m->changed_seq > since && (st != ALARM_ALARM || m->state == ALARM_ALARM);
		int tfits = trig && trig->changed_seq > since && (st != ALARM_ALARM || trig->state == ALARM_ALARM);
		if (!trig || (fits && !tfits) || (fits == tfits && m->changed_seq > trig->changed_seq))
			trig = m;
	}
	char reason[1024], arn[512], when[64], ts[40];
	char *data = NULL;
	if (trig) {
		alarm_arn(E.gen->cfg, trig->name, arn, sizeof(arn));
		fmt_long(trig->state_ms ? trig->state_ms : ms, when, sizeof(when));
		alarm_fmt_ms(trig->state_ms ? trig->state_ms : ms, ts, sizeof(ts), 1);
		snprintf(reason, sizeof(reason), "%s transitioned to %s at %s", arn, alarm_state_name(trig->state),
			 when);
		json_t *d = json_pack("{s:[{s:s, s:{s:s, s:s}}]}", "triggeringAlarms", "arn", arn, "state", "value",
				      alarm_state_name(trig->state), "timestamp", ts);
		data = d ? json_dumps(d, JSON_COMPACT) : NULL;
		json_decref(d);
	} else {
		snprintf(reason, sizeof(reason), "The alarm rule %s evaluated to %s", a->cc->rule, v ? "TRUE" : "FALSE");
	}
	/* the cause: the triggering child's change, so that the same child
	 * change evaluated again after a restart gives the same MessageIds */
	char *cause = NULL;
	if ((trig && asprintf(&cause, "child:%s:%s", trig->name,
			      trig->cause ? trig->cause : "?") < 0) ||
	    (!trig && asprintf(&cause, "rule:%lld", (long long)a->transition_ms) < 0))
		cause = NULL;
	alarm_change(a, st, reason, data, ms, NULL, cause);
	free(cause);
	a->eval_seq = E.seq; /* its own change is not a reason to evaluate it again */
	free(data);
	E.dirty = 1;
}

/* Evaluate the composite alarms until none changes (a change may change
 * a composite that names it; there are no cycles, so this ends). */
void alarm_eval_composites(int64_t ms)
{
	for (size_t round = 0; E.dirty_composites && round <= E.n; round++) {
		E.dirty_composites = 0;
		for (size_t i = 0; i < E.n; i++)
			if (E.a[i]->composite)
				evaluate_composite(E.a[i], ms);
	}
}

/* A metric alarm's last period evaluated ends after NOW + a period: the
 * clock stepped back (NTP, a VM restored) or alarms.json came from a
 * clock ahead. Evaluation would stop until the clock caught up: log it
 * (once: the reset ends it) and evaluate from the newest period again. */
static void check_last_end(struct alarm *a, int64_t now)
{
	if (a->composite || a->last_end <= now + (int64_t)a->def.period)
		return;
	char was[40], clk[40];
	alarm_fmt_ms(a->last_end * 1000, was, sizeof(was), 0);
	alarm_fmt_ms(now * 1000, clk, sizeof(clk), 0);
	log_warn("alarm: name=%s: the last period evaluated ends at %s, after the clock (%s): the clock stepped "
		 "back; evaluating from the newest period again",
		 a->name, was, clk);
	a->last_end = 0;
	E.dirty = 1;
}

void alarm_tick(void)
{
	int64_t ms = alarm_clock(), now = ms / 1000;

	if (!E.gen)
		return;
	/* which periods each metric alarm evaluates now: [due_from, due_to] */
	for (size_t i = 0; i < E.n; i++) {
		struct alarm *a = E.a[i];
		if (a->composite)
			continue;
		int64_t P = a->def.period;
		int64_t end = (now - ALARM_EVAL_DELAY_S) / P * P; /* the newest period closed long enough */
		check_last_end(a, now);
		a->due_from = a->due_to = 0;
		if (end <= a->last_end)
			continue;
		/* periods missed (a restart, a stall) are evaluated in order,
		 * a few at most: after a crash between publishing a change and
		 * saving it, the same period is evaluated again and the change
		 * gets the same MessageIds, whatever the time of the restart */
		a->due_from = a->due_to = end;
		if (a->last_end > 0 && (end - a->last_end <= ALARM_CATCHUP_S ||
					end - a->last_end <= (int64_t)ALARM_CATCHUP_PERIODS * P))
			a->due_from = a->last_end + P;
	}
	/* in the order of the periods' ends, every alarm's, the composites
	 * evaluated after each: a change in a period caught up on is seen by
	 * the composites even when the next period changes it back */
	for (;;) {
		int64_t t = INT64_MAX;
		for (size_t i = 0; i < E.n; i++)
			if (!E.a[i]->composite && E.a[i]->due_from && E.a[i]->due_from <= E.a[i]->due_to &&
			    E.a[i]->due_from < t)
				t = E.a[i]->due_from;
		if (t == INT64_MAX)
			break;
		for (size_t i = 0; i < E.n; i++) {
			struct alarm *a = E.a[i];
			if (a->composite || a->due_from != t || a->due_from > a->due_to)
				continue;
			evaluate(a, t, ms);
			a->due_from += a->def.period;
		}
		alarm_eval_composites(ms);
	}
	alarm_eval_composites(ms);
	if (E.dirty || (E.dirty_ends && (ms - E.saved_ms >= ALARM_SAVE_EVERY_S * 1000 || ms < E.saved_ms))) {
		alarm_save();
		E.dirty = 0;
	}
}

/* Fire ~200 ms after each whole second: after the metrics fold (+20 ms). */
static void arm(void)
{
	struct timeval now, tv = { 0, 0 };

	gettimeofday(&now, NULL);
	tv.tv_usec = 1000000 - now.tv_usec + 200000;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = 1;
		tv.tv_usec -= 1000000;
	}
	event_add(E.timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	alarm_tick();
	arm();
}

/* ------------------------------------------------------------ run-time alarms */

/* A ConfigurationUpdate item for X, WHAT "created" or "updated". */
static void config_item(struct alarm *x, const char *what, int64_t ms)
{
	char summary[600];
	json_t *def = alarm_definition(x);
	json_t *d = json_pack("{s:s, s:O}", "type", what[0] == 'c' ? "Create" : "Update",
			      what[0] == 'c' ? "createdAlarm" : "updatedAlarm", def);
	char *ds = d ? json_dumps(d, JSON_COMPACT) : NULL;

	snprintf(summary, sizeof(summary), "Alarm \"%s\" %s", x->name, what);
	alarm_history_add(x, ms, AH_CONFIG, summary, ds);
	free(ds);
	json_decref(d);
	json_decref(def);
}

/* Does CFG (the file) define an alarm or composite alarm NAME? */
static int cfg_has_alarm(const struct albd_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nalarms; i++)
		if (strcmp(cfg->alarms[i].name, name) == 0)
			return 1;
	for (size_t i = 0; i < cfg->ncomposite_alarms; i++)
		if (strcmp(cfg->composite_alarms[i].name, name) == 0)
			return 1;
	return 0;
}

/* state_dir/alarms_runtime.json: {"version": 1, "MetricAlarms": [the
 * PutMetricAlarm input of each, typed]}, read back through the same
 * alarm_rt_parse() as the API's requests (the topics' ARNs of any region
 * and account: the config's may have changed since). */
static void rt_load(void)
{
	const char *dir = E.gen && E.gen->cfg->state_dir ? E.gen->cfg->state_dir : NULL;
	char *path = NULL;
	json_error_t je;

	if (!dir || asprintf(&path, "%s/%s", dir, RT_FILE) < 0)
		return;
	if (access(path, F_OK) < 0) {
		free(path);
		return;
	}
	json_t *j = json_load_file(path, 0, &je);
	const json_t *l = json_object_get(j, "MetricAlarms"), *x;
	size_t i;
	if (!j || json_integer_value(json_object_get(j, "version")) != RT_VERSION || !json_is_array(l)) {
		char *bad = NULL;
		if (asprintf(&bad, "%s.corrupt", path) < 0)
			bad = NULL;
		log_err("alarms: %s is not a file albd wrote (%s); set aside as %s: the alarms PutMetricAlarm made "
			"are gone",
			path, j ? "unknown version or shape" : je.text, bad ? bad : "?");
		if (bad)
			rename(path, bad);
		free(bad);
		json_decref(j);
		free(path);
		return;
	}
	size_t dropped = 0;
	json_array_foreach(l, i, x)
	{
		struct alarm_err e;
		struct alarm_rt *rt = alarm_rt_parse(x, NULL, NULL, &e);
		struct alarm_rt **grown = rt ? realloc(E.rt, (E.nrt + 1) * sizeof(*E.rt)) : NULL;
		if (!grown) {
			log_err("alarms: %s: alarm %s is not taken: %s", path,
				json_string_value(json_object_get(x, "AlarmName")) ?: "?", rt ? "out of memory" : e.msg);
			alarm_rt_free(rt);
			dropped++;
			continue;
		}
		E.rt = grown;
		E.rt[E.nrt++] = rt;
	}
	/* the next PutMetricAlarm or DeleteAlarms rewrites the file without
	 * what was not taken: keep the file as it was beside it */
	if (dropped) {
		char *keep = NULL, *text = json_dumps(j, JSON_COMPACT);
		char err[256];

		if (asprintf(&keep, "%s.corrupt", RT_FILE) < 0)
			keep = NULL;
		if (!text || !keep || atomic_write(dir, keep, text, strlen(text), 0640, err, sizeof(err)) < 0)
			log_err("alarms: %s: cannot keep a copy of the %zu alarm(s) not taken", path, dropped);
		else
			log_err("alarms: %s: the %zu alarm(s) not taken are kept in %s/%s", path, dropped, dir, keep);
		free(text);
		free(keep);
	}
	json_decref(j);
	free(path);
}

/* Write E.rt to state_dir/alarms_runtime.json (atomically). Returns 0, or
 * -1 with E (logged too). */
/* Write the run-time alarms as they are to be: E.rt with entry AT replaced
 * by PUT (AT < 0: PUT appended; PUT NULL: neither), without those whose
 * DROP[i] is set (DROP NULL: none). Nothing in memory changes: callers
 * change E only once the file holds the change, so a failed write (a full
 * or read-only state_dir) leaves the API's answer, memory and the file in
 * agreement. Returns 0, or -1 with E set. */
static int rt_save(struct alarm_err *e, const struct alarm_rt *put, long at, const unsigned char *drop)
{
	const char *dir = E.gen && E.gen->cfg->state_dir ? E.gen->cfg->state_dir : NULL;
	json_t *l = json_array();
	char err[512];

	for (size_t i = 0; i < E.nrt; i++)
		if (!drop || !drop[i])
			json_array_append_new(l, alarm_rt_json(E.gen->cfg, put && (long)i == at ? put : E.rt[i]));
	if (put && at < 0)
		json_array_append_new(l, alarm_rt_json(E.gen->cfg, put));
	json_t *j = json_pack("{s:i, s:o}", "version", RT_VERSION, "MetricAlarms", l);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc = 0;
	if (!dir || !text) {
		snprintf(err, sizeof(err), "%s", dir ? "out of memory" : "no state_dir");
		rc = -1;
	} else if (atomic_write_mkdir(dir, RT_FILE, text, strlen(text), 0640, err, sizeof(err)) < 0) {
		rc = -1;
	}
	if (rc < 0) {
		log_err("alarms: cannot keep the run-time alarms: %s", err);
		alarm_fail(e, 500, "InternalFailure", "the alarm definitions cannot be written: %s", err);
	}
	free(text);
	json_decref(j);
	return rc;
}

static long rt_index(const char *name)
{
	for (size_t i = 0; i < E.nrt; i++)
		if (strcmp(E.rt[i]->c.name, name) == 0)
			return (long)i;
	return -1;
}

int alarm_rt_put(struct alarm_rt *rt, struct alarm_err *e)
{
	const struct albd_config *cfg = E.gen->cfg;
	const char *name = rt->c.name;
	int64_t ms = alarm_clock();

	if (cfg_has_alarm(cfg, name)) {
		alarm_fail(e, 400, "ValidationError",
			   "AlarmName: %s is defined in the configuration file (%s); change it there, not through "
			   "PutMetricAlarm",
			   name, cfg->path ? cfg->path : "?");
		alarm_rt_free(rt);
		return -1;
	}
	long j = rt_index(name);
	if (j < 0 && E.nrt >= RT_MAX) {
		alarm_fail(e, 400, "LimitExceeded", "at most %d alarms made through PutMetricAlarm", RT_MAX);
		alarm_rt_free(rt);
		return -1;
	}
	struct alarm *x = alarm_new(&rt->c, NULL), *old = NULL;
	for (size_t i = 0; i < E.n; i++)
		if (strcmp(E.a[i]->name, name) == 0)
			old = E.a[i];
	struct alarm_rt **grt = j < 0 ? realloc(E.rt, (E.nrt + 1) * sizeof(*E.rt)) : E.rt;
	struct alarm **ga = grt && !old ? realloc(E.a, (E.n + 1) * sizeof(*E.a)) : E.a;
	if (grt)
		E.rt = grt;
	if (ga)
		E.a = ga;
	if (!x || !grt || !ga) {
		alarm_free(x);
		alarm_rt_free(rt);
		return alarm_fail(e, 500, "InternalFailure", "out of memory");
	}
	if (rt_save(e, rt, j, NULL) < 0) {
		alarm_free(x);
		alarm_rt_free(rt);
		return -1;
	}
	x->rt = rt;
	definition_hash(x, x->hash);
	x->config_ms = ms;
	if (old) {
		/* CloudWatch: "its state is left unchanged, but the update
		 * completely overwrites the previous configuration" */
		x->state = old->state;
		free(x->reason);
		x->reason = old->reason;
		x->reason_data = old->reason_data;
		old->reason = old->reason_data = NULL;
		x->state_ms = old->state_ms;
		x->transition_ms = old->transition_ms;
		x->cause = old->cause;
		old->cause = NULL;
		x->changed_seq = old->changed_seq;
		memcpy(x->hist, old->hist, old->nhist * sizeof(x->hist[0]));
		x->nhist = old->nhist;
		old->nhist = 0;
		/* the same definition goes on where it was; another from the newest period */
		if (strcmp(old->hash, x->hash) == 0)
			x->last_end = old->last_end;
		config_item(x, "updated", ms);
		for (size_t i = 0; i < E.n; i++)
			if (E.a[i] == old)
				E.a[i] = x;
		alarm_free(old);
	} else {
		x->state_ms = x->transition_ms = ms;
		config_item(x, "created", ms);
		E.a[E.n++] = x;
	}
	if (j >= 0) {
		alarm_rt_free(E.rt[j]);
		E.rt[j] = rt;
	} else {
		E.rt[E.nrt++] = rt;
	}
	log_info("alarm: name=%s %s by PutMetricAlarm: state=%s", name, old ? "updated" : "created",
		 alarm_state_name(x->state));
	alarm_save();
	E.dirty = 0;
	return 0;
}

int alarm_rt_delete(const char *const *names, size_t n, struct alarm_err *e)
{
	const struct albd_config *cfg = E.gen->cfg;

	/* all or none: "If you specify an incorrect alarm name or make any
	 * other error in the operation, no alarms are deleted" */
	for (size_t i = 0; i < n; i++) {
		struct alarm *a = alarm_find(names[i]);
		if (a && !a->rt)
			return alarm_fail(e, 400, "ValidationError",
					  "AlarmNames: %s is defined in the configuration file (%s) and cannot be "
					  "deleted through the API; remove it from the file",
					  a->name, cfg->path ? cfg->path : "?");
		if (!a)
			return alarm_fail(e, 404, "ResourceNotFound", "AlarmNames: no alarm %s", names[i]);
	}
	unsigned char *drop = calloc(E.nrt ? E.nrt : 1, 1);

	if (!drop)
		return alarm_fail(e, 500, "InternalFailure", "out of memory");
	for (size_t i = 0; i < n; i++) {
		long j = rt_index(alarm_find(names[i])->name); /* a name or an ARN, found above */

		if (j >= 0)
			drop[j] = 1;
	}
	int rc = rt_save(e, NULL, -1, drop);

	free(drop);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct alarm *a = alarm_find(names[i]);
		if (!a)
			continue; /* named twice */
		long j = rt_index(a->name);
		log_info("alarm: name=%s deleted by DeleteAlarms", a->name);
		for (size_t k = 0; k < E.n; k++)
			if (E.a[k] == a) {
				memmove(&E.a[k], &E.a[k + 1], (E.n - k - 1) * sizeof(*E.a));
				E.n--;
				break;
			}
		alarm_free(a);
		if (j >= 0) {
			alarm_rt_free(E.rt[j]);
			memmove(&E.rt[j], &E.rt[j + 1], (E.nrt - (size_t)j - 1) * sizeof(*E.rt));
			E.nrt--;
		}
	}
	alarm_save();
	E.dirty = 0;
	return 0;
}

void alarm_set_actions(struct alarm *a, int on)
{
	if (a->actions_enabled == !!on)
		return;
	a->actions_enabled = !!on;
	log_info("alarm: name=%s actions %s", a->name, on ? "enabled" : "disabled");
	E.dirty = 1;
}

/* ------------------------------------------------------------ apply */

static void take_gen(const struct albd_gen *gen)
{
	struct albd_gen *g = (struct albd_gen *)gen;

	gen_ref(g);
	if (E.gen)
		gen_unref(E.gen);
	E.gen = g;
}

/* Build the alarms of E.gen's config and the run-time ones (E.rt), keeping the state of those in OLD
 * (alarms of the previous config, NOLD) or in SAVED (the state file's
 * records) whose definition is the same. */
static void rebuild(struct alarm **old, size_t nold, const json_t *saved, int64_t ms)
{
	const struct albd_config *cfg = E.gen->cfg;
	size_t ncfg = cfg->nalarms + cfg->ncomposite_alarms, n = ncfg + E.nrt, k = 0;
	struct alarm **a = calloc(n ? n : 1, sizeof(*a));

	if (!a) {
		log_err("alarms: out of memory; the alarms are not evaluated");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct alarm_rt *rt = i >= ncfg ? E.rt[i - ncfg] : NULL;
		if (rt && cfg_has_alarm(cfg, rt->c.name)) {
			log_warn("alarm: name=%s: the configuration file defines it now: its PutMetricAlarm "
				 "definition is not evaluated while the file's is there",
				 rt->c.name);
			continue;
		}
		struct alarm *x = rt		     ? alarm_new(&rt->c, NULL)
				  : i < cfg->nalarms ? alarm_new(&cfg->alarms[i], NULL)
						     : alarm_new(NULL, &cfg->composite_alarms[i - cfg->nalarms]);
		if (!x) {
			log_err("alarms: cannot set up alarm %s (out of memory)",
				rt		   ? rt->c.name
				: i < cfg->nalarms ? cfg->alarms[i].name
						   : cfg->composite_alarms[i - cfg->nalarms].name);
			continue;
		}
		x->rt = rt;
		definition_hash(x, x->hash);
		struct alarm *prev = NULL;
		for (size_t j = 0; j < nold; j++)
			if (old[j] && strcmp(old[j]->name, x->name) == 0)
				prev = old[j];
		const json_t *rec = saved ? json_object_get(saved, x->name) : NULL;
		const char *what = NULL;
		enum alarm_state was = ALARM_INSUFFICIENT_DATA; /* the state before a change */
		char *was_reason = NULL;
		if (prev && prev->composite == x->composite && strcmp(prev->hash, x->hash) == 0) {
			/* unchanged: its state, history and timing move over */
			x->state = prev->state;
			free(x->reason);
			x->reason = prev->reason;
			x->reason_data = prev->reason_data;
			prev->reason = prev->reason_data = NULL;
			x->state_ms = prev->state_ms;
			x->transition_ms = prev->transition_ms;
			x->config_ms = prev->config_ms;
			x->last_end = prev->last_end;
			x->actions_enabled = prev->actions_enabled;
			x->cause = prev->cause; /* a composite naming it derives its MessageIds from it */
			prev->cause = NULL;
			memcpy(x->hist, prev->hist, prev->nhist * sizeof(x->hist[0]));
			x->nhist = prev->nhist;
			prev->nhist = 0;
		} else if (prev) {
			memcpy(x->hist, prev->hist, prev->nhist * sizeof(x->hist[0]));
			x->nhist = prev->nhist;
			prev->nhist = 0;
			was = prev->state;
			was_reason = prev->reason ? strdup(prev->reason) : NULL;
			what = "updated";
		} else if (rec) {
			int r = restore(x, rec, &was, &was_reason);
			what = r == 1 ? NULL : "updated";
			if (r == 1)
				check_last_end(x, ms / 1000);
			if (r < 0)
				log_warn("alarms: the saved state of alarm %s is unusable; it starts from "
					 "INSUFFICIENT_DATA",
					 x->name);
		} else {
			what = "created";
		}
		if (what) {
			/* created or changed: INSUFFICIENT_DATA, a ConfigurationUpdate item */
			char summary[600];
			x->config_ms = ms;
			x->state_ms = x->transition_ms = ms;
			if (what[0] == 'u') {
				free(x->reason);
				x->reason = strdup("Unchecked: Alarm configuration updated");
			}
			config_item(x, what, ms);
			if (was != ALARM_INSUFFICIENT_DATA) {
				/* the state it leaves, for readers of StateUpdate items (no actions run) */
				char *hd = state_history_data(x, was, was_reason, NULL);
				snprintf(summary, sizeof(summary), "Alarm updated from %s to %s", alarm_state_name(was),
					 alarm_state_name(x->state));
				alarm_history_add(x, ms, AH_STATE, summary, hd);
				free(hd);
			}
			log_info("alarm: name=%s %s: state=INSUFFICIENT_DATA", x->name, what);
			E.dirty = 1;
			if (x->composite)
				E.dirty_composites = 1;
		}
		free(was_reason);
		a[k++] = x;
	}
	for (size_t j = 0; j < nold; j++) {
		if (!old[j])
			continue;
		size_t i;
		for (i = 0; i < k; i++)
			if (strcmp(a[i]->name, old[j]->name) == 0)
				break;
		if (i == k) {
			log_info("alarm: name=%s removed from the configuration: forgotten", old[j]->name);
			E.dirty = 1;
		}
	}
	E.a = a;
	E.n = k;
	if (saved && json_object_size(saved) != k)
		E.dirty = 1;
	/* composites are evaluated at start and after each reload */
	E.dirty_composites = 1;
}

static void apply(const struct albd_gen *gen, const json_t *saved)
{
	struct alarm **old = E.a;
	size_t nold = E.n;
	int64_t ms = alarm_clock();

	take_gen(gen);
	E.a = NULL;
	E.n = 0;
	rebuild(old, nold, saved, ms);
	for (size_t j = 0; j < nold; j++)
		alarm_free(old[j]);
	free(old);
	alarm_eval_composites(ms);
	if (E.dirty) {
		alarm_save();
		E.dirty = 0;
	}
}

void alarm_apply(const struct albd_gen *gen)
{
	apply(gen, NULL);
}

int alarm_init(struct event_base *base, const struct albd_gen *gen, notify_publish_fn publish, char *err,
	       size_t errlen)
{
	E.publish = publish;
	E.base = base;
	take_gen(gen);
	/* a directory (or else) named as a temporary file would stop every
	 * write of the alarms' files: set aside now, logged */
	if (gen->cfg->state_dir) {
		atomic_clear_tmp(gen->cfg->state_dir, STATE_FILE);
		atomic_clear_tmp(gen->cfg->state_dir, RT_FILE);
	}
	rt_load();
	json_t *saved = state_load();
	apply(gen, saved);
	json_decref(saved);
	alarm_api_init();
	if (base) {
		if (!(E.timer = event_new(base, -1, 0, timer_cb, NULL))) {
			snprintf(err, errlen, "cannot create the alarm timer");
			return -1;
		}
		arm();
	}
	return 0;
}

void alarm_shutdown(void)
{
	if (E.gen && E.n)
		alarm_save();
	if (E.timer)
		event_free(E.timer);
	for (size_t i = 0; i < E.n; i++)
		alarm_free(E.a[i]);
	free(E.a);
	for (size_t i = 0; i < E.nrt; i++)
		alarm_rt_free(E.rt[i]);
	free(E.rt);
	if (E.gen)
		gen_unref(E.gen);
	/* the tests' store stays chosen across a simulated restart */
	struct store *st = E.store;
	const char *lb = E.lb_name;
	int set = E.store_set;
	memset(&E, 0, sizeof(E));
	E.store = st;
	E.lb_name = lb;
	E.store_set = set;
}

/* ------------------------------------------------------------ SetAlarmState */

int alarm_set_state(const char *name, enum alarm_state state, const char *reason, const char *reason_data,
		    char *err, size_t errlen)
{
	struct alarm *a = alarm_find(name);

	if (!a) {
		snprintf(err, errlen, "no alarm %s", name);
		return -1;
	}
	if (reason_data) {
		json_t *j = json_loads(reason_data, JSON_DECODE_ANY, NULL);
		if (!j) {
			snprintf(err, errlen, "StateReasonData: not JSON");
			return -1;
		}
		json_decref(j);
	}
	int64_t ms = alarm_clock();
	if (state == a->state) {
		/* CloudWatch: "If the value is the same as the current
		 * state, no action is taken" beyond the new reason */
		free(a->reason);
		a->reason = strdup(reason);
		free(a->reason_data);
		a->reason_data = reason_data ? strdup(reason_data) : NULL;
		a->state_ms = ms;
	} else {
		char cause[40];
		snprintf(cause, sizeof(cause), "set:%lld", (long long)ms); /* a new request: new MessageIds */
		alarm_change(a, state, reason, reason_data, ms, NULL, cause);
	}
	alarm_eval_composites(ms);
	alarm_save();
	E.dirty = 0;
	return 0;
}

/* ------------------------------------------------------------ tests */

void alarm_use_store(struct store *st, const char *lb_name)
{
	E.store = st;
	E.lb_name = lb_name;
	E.store_set = st != NULL;
}

int alarm_get(const char *name, enum alarm_state *state, const char **reason, const char **reason_data)
{
	struct alarm *a = alarm_find(name);

	if (!a)
		return -1;
	if (state)
		*state = a->state;
	if (reason)
		*reason = a->reason;
	if (reason_data)
		*reason_data = a->reason_data;
	return 0;
}

size_t alarm_history_count(const char *name)
{
	struct alarm *a = alarm_find(name);
	return a ? a->nhist : 0;
}
