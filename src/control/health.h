/* health.h - active health checks and the target lifecycle (control plane).
 *
 * One probe per target state (so per target group and address): it sends
 * "GET <path>" over a fresh connection every interval (jittered), on the
 * control thread's event loop, and decides the target's state with ALB's
 * rules and names: initial -> healthy after one passing check; healthy ->
 * unhealthy after unhealthy_threshold failures in a row; unhealthy ->
 * healthy after healthy_threshold passes. It also folds in what workers
 * report (passive ejection), damps flapping targets, ramps recovered ones
 * (slow start), drains targets removed by a reload, and fails a group open
 * when none of its targets is up. Every change is one log line:
 *
 *   health: target_group=web target=10.0.0.1:80 state=unhealthy previous=healthy
 *           reason=Target.Timeout description="Request timed out"
 *
 * A new reason for a state that stays (a flapping target held out, an
 * unhealthy target failing another way) is logged without "previous=":
 *
 *   health: target_group=web target=10.0.0.1:80 state=unhealthy
 *           reason=Target.FailedHealthChecks description="flapping: ..."
 *
 * Only this module writes a target's health fields (target_group.h); the
 * request path reads them with relaxed atomic loads.
 */
#ifndef ALBD_HEALTH_H
#define ALBD_HEALTH_H

#include "../proxy/gen.h"
#include "../proxy/target_group.h"

struct event_base;

/* Start the module on the control thread's BASE. Returns 0 or -1.
 * Thread: control. */
int health_init(struct event_base *base);

/* Generation GEN is about to go live: probe its new targets at once, keep
 * the state of those that stay, drain those no generation names any more.
 * Call before the workers see GEN (probes copy what they need from it, so
 * older generations may go at any time). Thread: control. */
void health_apply(const struct albd_gen *gen);

/* Stop every probe and free the module. Thread: control. */
void health_shutdown(void);

/* Why TS is in its state, in ALB's words (DescribeTargetHealth): *REASON
 * the reason code ("Target.Timeout", "Elb.InitialHealthChecking", ...) or
 * NULL when ALB gives none (a healthy target), *DESCRIPTION its text or
 * NULL. The strings stay valid until the next health_* call or the next
 * turn of the control loop. Returns 0, or -1 when TS has no probe (never
 * applied, or drained and forgotten): both are then NULL.
 * Thread: control. */
int health_describe(const struct target_state *ts, const char **reason, const char **description);

/* TS's state as DescribeTargetHealth names it: hc_state_name() of its
 * health, but "unavailable" while its group's health checks are disabled
 * (Target.HealthCheckDisabled: it takes requests as a healthy target).
 * The string is static. Thread: control. */
const char *health_state_name(const struct target_state *ts);

/* When TS last changed state (wall clock, Unix milliseconds), 0 when it
 * has no probe. Thread: control. */
uint64_t health_changed_ms(const struct target_state *ts);

/* Call FN for every target of target group TG_NAME that is draining
 * (removed by a reload, requests still in flight): the targets no
 * generation names any more, which DescribeTargetHealth still lists.
 * FN must not call health_apply(). Thread: control. */
void health_each_draining(const char *tg_name, void (*fn)(const struct target_state *ts, void *arg), void *arg);

/* The threshold state machine, pure (unit-tested on its own). */
enum hc_result {
	HC_PASS = 0,
	HC_MISMATCH,      /* Target.ResponseCodeMismatch */
	HC_TIMEOUT,       /* Target.Timeout */
	HC_FAILED,        /* Target.FailedHealthChecks: connection or protocol failure */
};

struct hc_machine {
	enum ts_health state;
	unsigned passes;          /* passing checks in a row */
	unsigned fails;           /* failing checks in a row */
	int fast_recovery;        /* taken out by passive detection: one pass brings it back */
};

/* Feed one check result R. Returns 1 when m->state changed. */
int hc_machine_feed(struct hc_machine *m, enum hc_result r, unsigned healthy_threshold,
		    unsigned unhealthy_threshold);

/* ALB's names: "initial", "healthy", ...; "Target.Timeout", ... */
const char *hc_state_name(enum ts_health s);
const char *hc_reason_code(enum hc_result r);

/* Does STATUS match HC's matcher? */
int hc_status_matches(const struct cfg_health_check *hc, int status);

/* Test hooks (tests/unit/test_health.c), so that time-dependent behaviour
 * (flap window and hold-down, draining deadline, slow start ramp start) is
 * tested without real waits. health_clock: where the module reads the
 * time, in ms (clock_ms() unless replaced; set it before health_init()).
 * health_feed: hand TS's probe the result of a check as if one had just
 * ended. health_tick: run the 100 ms tick now. Thread: control. */
extern uint64_t (*health_clock)(void);
void health_feed(const struct target_state *ts, enum hc_result r, const char *desc);
void health_tick(void);

#endif
