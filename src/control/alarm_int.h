/* alarm_int.h - what alarm.c, alarm_notify.c and alarm_api.c share (the
 * engine's internals; not for other modules). Thread: control. */
#ifndef ALBD_ALARM_INT_H
#define ALBD_ALARM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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

struct alarm {
	char *name;
	int composite;
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

/* alarm_api.c */
void alarm_api_init(void);

#endif
