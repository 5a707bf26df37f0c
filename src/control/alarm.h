/* alarm.h - the alarm engine: CloudWatch metric alarms and composite
 * alarms over albd's metric store, evaluated on the control thread.
 *
 * A metric alarm (config "alarms") reads its metric, or its metric math
 * (config "metrics", evaluated by metric_query.c exactly as GetMetricData
 * would), in periods aligned to multiples of its period since the epoch,
 * a few seconds (ALARM_EVAL_DELAY_S) after each period closes, over the
 * evaluation range of alarm_eval_range() periods, oldest first, the
 * current incomplete period left out; alarm_eval.c decides the state and
 * writes CloudWatch's reason. A composite alarm (config
 * "composite_alarms") is evaluated whenever an alarm changes state, and at
 * start. A state change records the reason, its JSON data, the time and a
 * history item (DescribeAlarmHistory's shape), is written to
 * state_dir/alarms.json (atomically), and runs the alarm's actions for
 * the new state: one message per topic, with CloudWatch's alarm
 * notification JSON as the Message, handed to the publish function given
 * to alarm_init() (the notifier's notify_publish). Its MessageId derives
 * from the alarm, the change and the topic (a UUID v5): after a crash
 * between publishing a change and saving it, the restart evaluates the
 * same period again (missed periods are evaluated in order, up to
 * ALARM_CATCHUP_PERIODS) and the same change goes out with the same
 * MessageId, which receivers can drop.
 *
 * State survives restarts and reloads: an alarm whose definition is
 * unchanged keeps its state (and is not notified again); a changed one
 * starts again from INSUFFICIENT_DATA; one removed from the config is
 * forgotten.
 *
 * Run-time alarms: PutMetricAlarm (AWS's API, aws_cw_alarms.c) adds metric
 * alarms beside the file's, checked as the file's are (alarm_check.c:
 * alarm_rt_parse()), their actions topic ARNs; their definitions are kept
 * in state_dir/alarms_runtime.json (their state in alarms.json with the
 * others'), so they survive restarts and reloads, and are evaluated and
 * notified as the file's. PutMetricAlarm on one of them replaces its
 * definition and keeps its state (CloudWatch's rule); DeleteAlarms deletes
 * them, never the file's; a file alarm of the same name hides one (logged).
 * Enable/DisableAlarmActions set any alarm's ActionsEnabled, kept in
 * alarms.json until its definition changes.
 *
 * Admin API (admin.h): GET /api/v1/alarms (DescribeAlarms),
 * GET /api/v1/alarms/NAME/history (DescribeAlarmHistory),
 * PUT /api/v1/alarms/NAME/state (SetAlarmState).
 *
 * Thread: control, for every function.
 */
#ifndef ALBD_ALARM_H
#define ALBD_ALARM_H

#include <stddef.h>
#include <stdint.h>

#include "alarm_eval.h"
#include "notify.h"

struct event_base;
struct albd_gen;
struct albd_config;
struct store;

/* Seconds after a period closes before it is evaluated: the fold puts
 * each second into the store ~20 ms after it ends (control/metrics.c). */
#define ALARM_EVAL_DELAY_S 2
/* Periods missed since the last one evaluated (a restart, a stall) are
 * evaluated in order when they span at most ALARM_CATCHUP_S seconds or
 * ALARM_CATCHUP_PERIODS periods; more, and only the newest is. The end
 * of the last period evaluated is saved with every state change, and at
 * least every ALARM_SAVE_EVERY_S seconds, so a restart after a crash
 * evaluates again the periods evaluated since the last save. */
#define ALARM_CATCHUP_PERIODS 6
#define ALARM_CATCHUP_S 300
#define ALARM_SAVE_EVERY_S 60
/* History items kept per alarm, newest first, and for at most as long as
 * CloudWatch keeps them (two weeks). */
#define ALARM_HISTORY_MAX 100
#define ALARM_HISTORY_AGE_MS (14LL * 86400 * 1000)

/* What `albd -t`, the start and every reload check of CFG's alarms beyond
 * config_load(): CloudWatch's words (comparison, treat_missing_data,
 * statistic, extended_statistic), the period rules, datapoints_to_alarm,
 * the metric math (ids, one return_data, expressions that parse and name
 * ids of the alarm, no cycles), composite rules (syntax, names of alarms
 * of the config, no cycles). Returns 0, or -1 with
 * "FILE:LINE: alarms.NAME: field: problem" in ERR. Thread: any; pure. */
int alarm_check(const struct albd_config *cfg, char *err, size_t errlen);

/* Start the engine on BASE with GEN's alarms: read state_dir/alarms.json
 * (a corrupt file is logged and renamed alarms.json.corrupt), register
 * the admin routes, evaluate composites, start the once-a-second tick.
 * PUBLISH may be NULL: messages are then logged and not sent. BASE may be
 * NULL (tests: no timer; call alarm_tick()). Takes a reference on GEN.
 * Returns 0, or -1 with a message. */
int alarm_init(struct event_base *base, const struct albd_gen *gen, notify_publish_fn publish, char *err,
	       size_t errlen);

/* Generation GEN is live (a reload): alarms that stayed keep their state,
 * changed ones restart from INSUFFICIENT_DATA, removed ones are forgotten.
 * GEN must have passed alarm_check(). Takes a reference on GEN. */
void alarm_apply(const struct albd_gen *gen);

/* Write the state out and free everything. */
void alarm_shutdown(void);

/* SetAlarmState: set alarm NAME (metric or composite) to STATE with
 * REASON and REASON_DATA (JSON text or NULL), record it, run the actions;
 * the next evaluation may change it back. Returns 0, or -1 with a
 * message (no such alarm, REASON_DATA not JSON). */
int alarm_set_state(const char *name, enum alarm_state state, const char *reason, const char *reason_data,
		    char *err, size_t errlen);

/* Test hooks (tests/unit/test_alarm.c). alarm_clock: the wall clock in ms
 * since the epoch (replace it before alarm_init()); alarm_use_store: read
 * ST with LB_NAME as the LoadBalancer dimension instead of the metric
 * store of control/metrics.c (NULL: that one again); alarm_tick: run the
 * evaluator now, as the timer does; alarm_get: alarm NAME's state, reason
 * and reason data (borrowed, valid until the next alarm_* call); returns
 * -1 when there is no such alarm. alarm_history_count: its history items. */
extern int64_t (*alarm_clock)(void);
void alarm_use_store(struct store *st, const char *lb_name);
void alarm_tick(void);
int alarm_get(const char *name, enum alarm_state *state, const char **reason, const char **reason_data);
size_t alarm_history_count(const char *name);

#endif
