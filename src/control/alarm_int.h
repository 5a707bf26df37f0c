/* alarm_int.h - what alarm.c, alarm_notify.c and alarm_api.c share (the
 * engine's internals; not for other modules). Thread: control. */
#ifndef ALBD_ALARM_INT_H
#define ALBD_ALARM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/config.h"
#include "alarm.h"
#include "alarm_eval.h"
#include "metric_query.h"

struct cfg_alarm;
struct cfg_composite_alarm;
struct ar_rule;
struct event;

enum alarm_hist_type { AH_STATE = 0,
		       AH_CONFIG,
		       AH_ACTION };

/* One DescribeAlarmHistory item. */
struct alarm_hist {
	int64_t ms;                /* Timestamp */
	enum alarm_hist_type type; /* HistoryItemType */
	char *summary;             /* HistorySummary */
	char *data;                /* HistoryData (JSON text) */
};

/* A run-time metric alarm's definition (PutMetricAlarm): the config's
 * shape, the actions as topic names, plus what only PutMetricAlarm has. */
struct alarm_rt {
	struct cfg_alarm c; /* line 0; every string and array its own */
	char *unit;         /* Unit, NULL: none (a single metric's: only that unit's data is evaluated) */
	char *elscp;        /* EvaluateLowSampleCountPercentile, NULL: none */
	json_t *tags;       /* Tags [{Key, Value}], NULL: none */
};

struct alarm {
	char *name;
	int composite;
	struct alarm_rt *rt;                  /* a run-time alarm: its definition (in E.rt); NULL: the file's */
	int actions_enabled;                  /* ActionsEnabled now: the definition's, or what
					       * Enable/DisableAlarmActions set since */
	const struct cfg_alarm *mc;           /* metric alarm: its config (E.gen's) */
	const struct cfg_composite_alarm *cc; /* composite alarm: its config */
	struct ar_rule *rule;                 /* composite: the parsed rule */
	struct alarm_def def;                 /* metric: for alarm_evaluate() */
	struct mquery *q;                     /* metric: the queries (inputs only) */
	size_t nq, ret;                       /* how many; which one is returned */
	struct store_dim *dims;               /* the single metric's dimensions */
	struct store_dim **qdims;             /* each query's dimensions */
	size_t nqdims;
	char hash[17]; /* of the definition (alarm_definition()) */
	/* state */
	enum alarm_state state;
	char *reason;                              /* StateReason */
	char *reason_data;                         /* StateReasonData JSON, NULL: none */
	int64_t state_ms;                          /* StateUpdatedTimestamp, ms */
	int64_t transition_ms;                     /* StateTransitionedTimestamp, ms */
	int64_t config_ms;                         /* AlarmConfigurationUpdatedTimestamp, ms */
	int64_t last_end;                          /* end of the newest period evaluated, s */
	int64_t due_from, due_to;                  /* alarm_tick(): the ends of the periods to evaluate */
	uint64_t changed_seq;                      /* E.seq at its last state change (0: none since start) */
	char *cause;                               /* what made its last change (alarm_change()), NULL: none
						    * since start; its notifications' MessageIds derive from it */
	uint64_t eval_seq;                         /* composite: E.seq when last evaluated */
	int evaluated;                             /* composite: evaluated since start or creation */
	struct alarm_hist hist[ALARM_HISTORY_MAX]; /* newest first */
	size_t nhist;
};

struct alarm_engine {
	struct event_base *base;
	struct event *timer;
	struct albd_gen *gen; /* one reference */
	struct alarm **a;     /* metric alarms, then composites, in config order */
	size_t n;
	notify_publish_fn publish; /* NULL: log, do not send */
	struct store *store;       /* tests: alarm_use_store() */
	const char *lb_name;
	int store_set;
	int dirty;            /* a state or history changed: save */
	int dirty_ends;       /* only a last_end moved: save within ALARM_SAVE_EVERY_S */
	int64_t saved_ms;     /* when alarm_save() last ran */
	int dirty_composites; /* an alarm changed: evaluate the composites */
	uint64_t seq;         /* counts state changes: which member changed last */
	struct alarm_rt **rt; /* the run-time alarms' definitions (state_dir/alarms_runtime.json) */
	size_t nrt;
};

extern struct alarm_engine E;

/* alarm.c */
struct alarm *alarm_find(const char *name); /* by name or ARN */
void alarm_arn(const struct albd_config *cfg, const char *name, char *buf, size_t len);

/* The ARNs of the topics TOPICS (names of CFG's topics), as a new JSON
 * array (OKActions, AlarmActions, InsufficientDataActions). */
json_t *alarm_topic_arns(const struct albd_config *cfg, char *const *topics, size_t n);
void alarm_fmt_ms(int64_t ms, char *buf, size_t len, int plus);
json_t *alarm_definition(const struct alarm *a);
void alarm_history_add(struct alarm *a, int64_t ms, enum alarm_hist_type type, const char *summary,
		       const char *data);
const char *alarm_hist_type_name(enum alarm_hist_type t);
void alarm_save(void);
int alarm_points(struct alarm *a, int64_t start, int64_t end, int64_t now, struct alarm_point *pts, size_t n);
/* CAUSE names the state change for its MessageIds (see alarm_actions()):
 * the same change evaluated again (after a crash between publishing and
 * saving) must have the same CAUSE, another change another one:
 * "period:END" (a metric alarm: the end of the period evaluated),
 * "set:MS" (SetAlarmState: the request's time), "child:NAME:CAUSE" (a
 * composite alarm: its triggering child's change). */
void alarm_change(struct alarm *a, enum alarm_state state, const char *reason, const char *data, int64_t ms,
		  json_t *details, const char *cause);
void alarm_eval_composites(int64_t ms);
void alarm_free(struct alarm *a);

/* alarm_notify.c */
/* Publish A's change from OLD to its state to the topics of its actions
 * for that state (when actions are enabled), with DETAILS (borrowed; may
 * be NULL) as "AlbdDetails"; an Action history item for each. Each
 * message's MessageId is a UUID v5 of the alarm's ARN and definition, OLD,
 * the new state, A->cause and the topic: publishing the same change to the
 * same topic again gives the same MessageId, so that receivers drop it. */
void alarm_actions(struct alarm *a, enum alarm_state old, json_t *details);
/* What albd adds for an alarm on a target group: its unhealthy targets
 * (with ALB's reasons) and the target with the most HTTPCode_Target_5XX_Count
 * in the breaching periods of PTS. NULL when A has no TargetGroup
 * dimension. New reference. */
json_t *alarm_details(struct alarm *a, const struct alarm_point *pts, size_t n, enum alarm_state state,
		      int64_t now);
/* The notification's Message (CloudWatch's alarm notification JSON). New. */
json_t *alarm_message(const struct alarm *a, enum alarm_state old, json_t *details);

/* Parse PutMetricAlarm's input IN (AWS's shape, read with aws.h's
 * getters) into a new run-time definition and check it as alarm_check()
 * checks the file's alarms. REGION and ACCOUNT: what the actions' topic
 * ARNs must name (NULL: any, for the definitions albd saved itself).
 * Returns it, or NULL with E filled (ValidationError, MissingParameter).
 * alarm_check.c. */
struct alarm_err {
	int status;     /* HTTP status: 400, 404 */
	char code[48];  /* AWS's error code */
	char msg[512];
};
struct alarm_rt *alarm_rt_parse(const json_t *in, const char *region, const char *account, struct alarm_err *e);
void alarm_rt_free(struct alarm_rt *rt);
/* RT as PutMetricAlarm's input (typed JSON; the actions as topic ARNs of
 * CFG): what state_dir/alarms_runtime.json keeps. New reference. */
json_t *alarm_rt_json(const struct albd_config *cfg, const struct alarm_rt *rt);
/* Fill E; returns -1. */
int alarm_fail(struct alarm_err *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* alarm.c: the run-time alarms. */
/* Create or replace run-time alarm RT (consumed): a new one starts in
 * INSUFFICIENT_DATA; a replaced one keeps its state (CloudWatch: "its
 * state is left unchanged, but the update completely overwrites the
 * previous configuration") and evaluates from the newest period. Saved.
 * Returns 0, or -1 with E (the name is a file's alarm, too many). */
int alarm_rt_put(struct alarm_rt *rt, struct alarm_err *e);
/* Delete run-time alarms NAMES, all or none: -1 with E when one is the
 * file's (ValidationError) or none (ResourceNotFound). */
int alarm_rt_delete(const char *const *names, size_t n, struct alarm_err *e);
/* Enable/DisableAlarmActions on alarm A: kept in alarms.json while its
 * definition stays. */
void alarm_set_actions(struct alarm *a, int on);

/* alarm_api.c: DescribeAlarms, DescribeAlarmHistory, SetAlarmState for
 * both the JSON API and AWS's (aws_cw_alarms.c). */
typedef json_t *(*alarm_time_fn)(int64_t ms);
struct alarm_query {
	const char *const *names; /* AlarmNames (names or ARNs); NULL: any */
	size_t nnames;
	const char *prefix;        /* AlarmNamePrefix */
	const char *state;         /* StateValue */
	const char *action_prefix; /* ActionPrefix: an AlarmActions ARN starts with it */
	int metric, composite;     /* AlarmTypes */
};
/* Check Q: -1 with E (too many names, names with a prefix, a StateValue
 * that is not one). */
int alarm_query_check(const struct alarm_query *q, struct alarm_err *e);
int alarm_query_match(const struct alarm_query *q, const struct alarm *a);
/* One AlarmTypes word T into *METRIC / *COMPOSITE; -1 with E. */
int alarm_type_word(const char *t, int *metric, int *composite, struct alarm_err *e);
/* DescribeAlarms' MetricAlarm or CompositeAlarm for A (members in the
 * JSON API's order), timestamps made by TF. New reference. */
json_t *alarm_describe(const struct alarm *a, alarm_time_fn tf);
/* DescribeAlarmHistory's items: of alarm NAME (NULL: every alarm of the
 * types asked), of item type TYPE (NULL: all), in [START_MS, END_MS],
 * newest first unless SCAN is "TimestampAscending". */
struct alarm_hq {
	const char *name;
	int metric, composite;
	const char *type, *scan;
	int64_t start_ms, end_ms;
};
struct alarm_hitem {
	const struct alarm *a;
	const struct alarm_hist *h;
};
/* Returns 0 with *ITEMS (free()) and *N, or -1 with E (a bad
 * HistoryItemType or ScanBy). */
int alarm_history_query(const struct alarm_hq *q, struct alarm_hitem **items, size_t *n, struct alarm_err *e);
json_t *alarm_hitem_json(const struct alarm_hitem *it, alarm_time_fn tf);
/* SetAlarmState with its checks: ResourceNotFound (404), StateValue,
 * StateReason, StateReasonData (InvalidParameterValue; InvalidFormat when
 * not JSON). Returns 0 or -1 with E. */
int alarm_api_set_state(const char *name, const char *sv, const char *reason, const char *rd, struct alarm_err *e);
void alarm_api_init(void);

#endif
