/* test_health.c - unit tests of the pure parts of src/control/health.c: the
 * threshold state machine (hc_machine_feed), ALB's state and reason names
 * (hc_state_name, hc_reason_code) and the status code matcher
 * (hc_status_matches, with matchers parsed by config_parse_matcher).
 *
 * The rules are ALB's: a new target ("initial") is healthy after one passing
 * check, and unhealthy after unhealthy_threshold failures in a row; a
 * healthy target turns unhealthy after unhealthy_threshold failures in a
 * row; an unhealthy one turns healthy after healthy_threshold passes in a
 * row, or after one pass when it was taken out by passive detection
 * (fast_recovery). Every kind of failure (code mismatch, timeout, connection
 * failure) counts the same.
 *
 * Then the module around it, driven through its test hooks with an injected
 * clock (health_clock) and no network: check results are handed in with
 * health_feed(), the 100 ms tick is run with health_tick(), and the log
 * lines (stderr) are read back. That covers flap damping and its hold-down,
 * the draining deadline and the slow start ramp start without a real wait.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../src/control/health.h"
#include "../../src/core/config.h"
#include "../../src/core/log.h"

/* ------------------------------------------------------------ helpers */

/* A machine in STATE with no history. */
static struct hc_machine machine(enum ts_health state)
{
	struct hc_machine m;

	memset(&m, 0, sizeof(m));
	m.state = state;
	return m;
}

/* Feed R N times, checking that none of them changes the state. */
static void feed_unchanged(struct hc_machine *m, enum hc_result r, unsigned n, unsigned healthy,
			   unsigned unhealthy)
{
	enum ts_health before = m->state;

	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(hc_machine_feed(m, r, healthy, unhealthy), 0);
		ck_assert_int_eq(m->state, before);
	}
}

static const enum hc_result failures[] = { HC_MISMATCH, HC_TIMEOUT, HC_FAILED };
#define NFAILURES ((int)(sizeof(failures) / sizeof(failures[0])))

/* ------------------------------------------------------------ initial */

START_TEST(test_initial_one_pass)
{
	/* whatever the healthy threshold: one pass */
	static const unsigned thresholds[] = { 2, 5, 10 };

	for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]); i++) {
		struct hc_machine m = machine(TS_INITIAL);

		ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, thresholds[i], 2), 1);
		ck_assert_int_eq(m.state, TS_HEALTHY);
		ck_assert_uint_eq(m.passes, 1);
		ck_assert_uint_eq(m.fails, 0);
		/* more passes: no change */
		feed_unchanged(&m, HC_PASS, 20, thresholds[i], 2);
		ck_assert_uint_eq(m.passes, 21);
	}
}
END_TEST

/* loop test: _i indexes failures[] */
START_TEST(test_initial_fails)
{
	enum hc_result r = failures[_i];
	struct hc_machine m = machine(TS_INITIAL);

	/* unhealthy_threshold 2: the first failure leaves it initial */
	ck_assert_int_eq(hc_machine_feed(&m, r, 5, 2), 0);
	ck_assert_int_eq(m.state, TS_INITIAL);
	ck_assert_uint_eq(m.fails, 1);
	ck_assert_int_eq(hc_machine_feed(&m, r, 5, 2), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);
	ck_assert_uint_eq(m.fails, 2);
	/* more failures: no change */
	feed_unchanged(&m, r, 10, 5, 2);

	/* unhealthy_threshold 10: nine failures are not enough */
	m = machine(TS_INITIAL);
	feed_unchanged(&m, r, 9, 5, 10);
	ck_assert_int_eq(m.state, TS_INITIAL);
	ck_assert_int_eq(hc_machine_feed(&m, r, 5, 10), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);

	/* failures, then one pass before the threshold: healthy */
	m = machine(TS_INITIAL);
	feed_unchanged(&m, r, 2, 5, 3);
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 5, 3), 1);
	ck_assert_int_eq(m.state, TS_HEALTHY);
	ck_assert_uint_eq(m.fails, 0);
}
END_TEST

/* ------------------------------------------------------------ healthy */

START_TEST(test_healthy_to_unhealthy)
{
	enum hc_result r = failures[_i];
	struct hc_machine m = machine(TS_HEALTHY);

	/* unhealthy_threshold 3: exactly 3 failures in a row */
	feed_unchanged(&m, r, 2, 5, 3);
	ck_assert_int_eq(m.state, TS_HEALTHY);
	ck_assert_int_eq(hc_machine_feed(&m, r, 5, 3), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);
	ck_assert_uint_eq(m.fails, 3);
	ck_assert_uint_eq(m.passes, 0);

	/* threshold 2 (the default) */
	m = machine(TS_HEALTHY);
	ck_assert_int_eq(hc_machine_feed(&m, r, 5, 2), 0);
	ck_assert_int_eq(hc_machine_feed(&m, r, 5, 2), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);
}
END_TEST

START_TEST(test_healthy_pass_resets)
{
	struct hc_machine m = machine(TS_HEALTHY);

	/* threshold 3: fail fail pass fail fail stays healthy, the third
	 * failure after the pass takes it out */
	feed_unchanged(&m, HC_TIMEOUT, 2, 5, 3);
	feed_unchanged(&m, HC_PASS, 1, 5, 3);
	ck_assert_uint_eq(m.fails, 0);
	ck_assert_uint_eq(m.passes, 1);
	feed_unchanged(&m, HC_MISMATCH, 1, 5, 3);
	ck_assert_uint_eq(m.passes, 0);
	feed_unchanged(&m, HC_FAILED, 1, 5, 3);
	ck_assert_int_eq(m.state, TS_HEALTHY);
	ck_assert_int_eq(hc_machine_feed(&m, HC_TIMEOUT, 5, 3), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);

	/* failures of different kinds count together */
	m = machine(TS_HEALTHY);
	ck_assert_int_eq(hc_machine_feed(&m, HC_MISMATCH, 5, 3), 0);
	ck_assert_int_eq(hc_machine_feed(&m, HC_TIMEOUT, 5, 3), 0);
	ck_assert_int_eq(hc_machine_feed(&m, HC_FAILED, 5, 3), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);

	/* a long alternation never takes it out */
	m = machine(TS_HEALTHY);
	for (int i = 0; i < 50; i++) {
		feed_unchanged(&m, HC_FAILED, 2, 5, 3);
		feed_unchanged(&m, HC_PASS, 1, 5, 3);
	}
	ck_assert_int_eq(m.state, TS_HEALTHY);
}
END_TEST

/* ------------------------------------------------------------ unhealthy */

START_TEST(test_unhealthy_to_healthy)
{
	struct hc_machine m = machine(TS_UNHEALTHY);

	/* healthy_threshold 5: exactly 5 passes in a row */
	feed_unchanged(&m, HC_PASS, 4, 5, 2);
	ck_assert_uint_eq(m.passes, 4);
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 5, 2), 1);
	ck_assert_int_eq(m.state, TS_HEALTHY);
	ck_assert_uint_eq(m.passes, 5);

	/* threshold 2 */
	m = machine(TS_UNHEALTHY);
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 2, 2), 0);
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 2, 2), 1);
	ck_assert_int_eq(m.state, TS_HEALTHY);

	/* threshold 10 */
	m = machine(TS_UNHEALTHY);
	feed_unchanged(&m, HC_PASS, 9, 10, 2);
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 10, 2), 1);
	ck_assert_int_eq(m.state, TS_HEALTHY);
}
END_TEST

START_TEST(test_unhealthy_fail_resets)
{
	enum hc_result r = failures[_i];
	struct hc_machine m = machine(TS_UNHEALTHY);

	/* 4 passes, a failure, then 4 passes: still unhealthy; the 5th in a
	 * row brings it back */
	feed_unchanged(&m, HC_PASS, 4, 5, 2);
	feed_unchanged(&m, r, 1, 5, 2);
	ck_assert_uint_eq(m.passes, 0);
	ck_assert_uint_eq(m.fails, 1);
	feed_unchanged(&m, HC_PASS, 4, 5, 2);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 5, 2), 1);
	ck_assert_int_eq(m.state, TS_HEALTHY);

	/* failures while unhealthy change nothing */
	m = machine(TS_UNHEALTHY);
	feed_unchanged(&m, r, 100, 5, 2);
	ck_assert_uint_eq(m.fails, 100);
}
END_TEST

START_TEST(test_fast_recovery)
{
	struct hc_machine m = machine(TS_UNHEALTHY);

	/* taken out by passive detection: one pass is enough, whatever the
	 * healthy threshold, and the flag clears */
	m.fast_recovery = 1;
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 10, 2), 1);
	ck_assert_int_eq(m.state, TS_HEALTHY);
	ck_assert_int_eq(m.fast_recovery, 0);

	/* once cleared, the next time out needs the full threshold again */
	feed_unchanged(&m, HC_TIMEOUT, 1, 3, 2);
	ck_assert_int_eq(hc_machine_feed(&m, HC_TIMEOUT, 3, 2), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);
	feed_unchanged(&m, HC_PASS, 2, 3, 2);
	ck_assert_int_eq(hc_machine_feed(&m, HC_PASS, 3, 2), 1);
	ck_assert_int_eq(m.state, TS_HEALTHY);

	/* the flag does not make a healthy target fail faster */
	m = machine(TS_HEALTHY);
	m.fast_recovery = 1;
	feed_unchanged(&m, HC_FAILED, 1, 5, 2);
	ck_assert_int_eq(hc_machine_feed(&m, HC_FAILED, 5, 2), 1);
	ck_assert_int_eq(m.state, TS_UNHEALTHY);
}
END_TEST

START_TEST(test_other_states_stay)
{
	/* draining and unused targets are not checked; should a result
	 * arrive anyway, it changes nothing */
	static const enum ts_health states[] = { TS_DRAINING, TS_UNUSED };

	for (size_t i = 0; i < 2; i++) {
		struct hc_machine m = machine(states[i]);

		feed_unchanged(&m, HC_PASS, 12, 2, 2);
		feed_unchanged(&m, HC_TIMEOUT, 12, 2, 2);
		m.fast_recovery = 1;
		feed_unchanged(&m, HC_PASS, 1, 2, 2);
		ck_assert_int_eq(m.state, states[i]);
	}
}
END_TEST

/* ------------------------------------------------------------ names */

START_TEST(test_state_names)
{
	ck_assert_str_eq(hc_state_name(TS_INITIAL), "initial");
	ck_assert_str_eq(hc_state_name(TS_HEALTHY), "healthy");
	ck_assert_str_eq(hc_state_name(TS_UNHEALTHY), "unhealthy");
	ck_assert_str_eq(hc_state_name(TS_DRAINING), "draining");
	ck_assert_str_eq(hc_state_name(TS_UNUSED), "unused");
	ck_assert_int_eq(TS_INITIAL, 0); /* a zeroed target_state is "initial" */
}
END_TEST

START_TEST(test_reason_codes)
{
	ck_assert_str_eq(hc_reason_code(HC_MISMATCH), "Target.ResponseCodeMismatch");
	ck_assert_str_eq(hc_reason_code(HC_TIMEOUT), "Target.Timeout");
	ck_assert_str_eq(hc_reason_code(HC_FAILED), "Target.FailedHealthChecks");
	/* a pass has no reason code: "-" in the log line */
	ck_assert_str_eq(hc_reason_code(HC_PASS), "-");
}
END_TEST

/* ------------------------------------------------------------ matcher */

/* A health check whose matcher is TEXT, parsed as the config does. */
static struct cfg_health_check hc_with(const char *text)
{
	struct cfg_health_check hc;
	char err[CONFIG_ERR_MAX] = "";

	memset(&hc, 0, sizeof(hc));
	ck_assert_msg(config_parse_matcher(text, &hc, err, sizeof(err)) == 0, "\"%s\": %s", text, err);
	return hc;
}

/* STATUS matches exactly the codes in [lo, hi] of the listed ranges;
 * checked over every code from 100 to 699 and a few odd values. */
static void check_codes(const char *text, const int (*ranges)[2], size_t nranges)
{
	struct cfg_health_check hc = hc_with(text);

	for (int status = 100; status < 700; status++) {
		int want = 0;

		for (size_t i = 0; i < nranges; i++)
			if (status >= ranges[i][0] && status <= ranges[i][1])
				want = 1;
		ck_assert_msg(hc_status_matches(&hc, status) == want, "matcher \"%s\", status %d: got %d, want %d",
			      text, status, hc_status_matches(&hc, status), want);
	}
	ck_assert_int_eq(hc_status_matches(&hc, 0), 0);
	ck_assert_int_eq(hc_status_matches(&hc, -200), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 20000), 0);
}

START_TEST(test_match_single)
{
	static const int r[][2] = { { 200, 200 } };
	struct cfg_health_check hc = hc_with("200");

	ck_assert_uint_eq(hc.nmatch, 1);
	ck_assert_int_eq(hc_status_matches(&hc, 200), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 199), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 201), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 204), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 500), 0);
	check_codes("200", r, 1);
}
END_TEST

START_TEST(test_match_list)
{
	static const int r[][2] = { { 200, 200 }, { 202, 202 } };
	struct cfg_health_check hc = hc_with("200,202");

	ck_assert_uint_eq(hc.nmatch, 2);
	ck_assert_int_eq(hc_status_matches(&hc, 200), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 201), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 202), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 203), 0);
	check_codes("200,202", r, 2);
}
END_TEST

START_TEST(test_match_range)
{
	static const int r[][2] = { { 200, 399 } };
	struct cfg_health_check hc = hc_with("200-399");

	ck_assert_uint_eq(hc.nmatch, 1);
	ck_assert_int_eq(hc_status_matches(&hc, 199), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 200), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 302), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 399), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 400), 0);
	check_codes("200-399", r, 1);
}
END_TEST

START_TEST(test_match_range_and_code)
{
	static const int r[][2] = { { 200, 299 }, { 404, 404 } };
	struct cfg_health_check hc = hc_with("200-299,404");

	ck_assert_uint_eq(hc.nmatch, 2);
	ck_assert_int_eq(hc_status_matches(&hc, 199), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 200), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 299), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 300), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 403), 0);
	ck_assert_int_eq(hc_status_matches(&hc, 404), 1);
	ck_assert_int_eq(hc_status_matches(&hc, 405), 0);
	check_codes("200-299,404", r, 2);
}
END_TEST

START_TEST(test_match_edges)
{
	static const int all[][2] = { { 200, 599 } };
	static const int ends[][2] = { { 200, 200 }, { 599, 599 } };
	static const int one[][2] = { { 301, 301 } };

	/* the whole allowed range, its two ends, a range of one code */
	check_codes("200-599", all, 1);
	check_codes("200,599", ends, 2);
	check_codes("301-301", one, 1);

	/* no matcher at all matches nothing */
	{
		struct cfg_health_check hc;

		memset(&hc, 0, sizeof(hc));
		ck_assert_int_eq(hc_status_matches(&hc, 200), 0);
	}
}
END_TEST


/* ------------------------------------------------------------ module, injected clock */

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* One target group "tg" of NT targets (127.0.0.1:10001...) in a generation
 * built by hand, enough for health_apply(); stderr goes to a file that
 * log_text() reads back. */
#define NT 2
static struct {
	struct event_base *base;
	struct albd_config cfg;
	struct cfg_target_group tgc;
	struct target targets[NT];
	struct target_group tg;
	struct albd_gen gen;
	struct target_state *ts[NT];
	FILE *log;
} F;

static void module_setup(void)
{
	char err[CONFIG_ERR_MAX];
	struct cfg_health_check *hc = &F.tgc.health_check;

	memset(&F, 0, sizeof(F));
	/* health lines go to stderr: keep them in a file */
	F.log = tmpfile();
	ck_assert_ptr_nonnull(F.log);
	ck_assert_int_ge(dup2(fileno(F.log), 2), 0);

	F.tgc.name = "tg";
	F.tgc.in_use = 1;   /* a listener forwards to it */
	hc->enabled = 1;
	hc->path = "/health";
	hc->matcher = "200";
	ck_assert_int_eq(config_parse_matcher("200", hc, err, sizeof(err)), 0);
	hc->interval_ms = 10000;
	hc->timeout_ms = 5000;
	hc->healthy_threshold = 2;
	hc->unhealthy_threshold = 2;
	hc->passive_failures = 5;
	hc->flap_transitions = 4;
	hc->flap_window_ms = 60000;
	hc->flap_hold_ms = 120000;
	F.tgc.deregistration_delay_ms = 5000;
	F.tgc.slow_start_ms = 0;
	for (int i = 0; i < NT; i++) {
		struct albd_addr a;
		char text[32];

		snprintf(text, sizeof(text), "127.0.0.1:%d", 10001 + i);
		ck_assert_int_eq(config_parse_addr(text, 0, &a, err, sizeof(err)), 0);
		F.ts[i] = ts_get("tg", &a, 1);
		ck_assert_ptr_nonnull(F.ts[i]);
		F.targets[i].st = F.ts[i];
		F.targets[i].weight = 1;
		F.targets[i].index = (unsigned)i;
	}
	F.tg.cfg = &F.tgc;
	F.tg.targets = F.targets;
	F.tg.ntargets = NT;
	F.cfg.target_groups = &F.tgc;
	F.cfg.ntarget_groups = 1;
	F.gen.cfg = &F.cfg;
	F.gen.tgs = &F.tg;
	F.gen.nworkers = 1;

	fake_now = 1000000;
	health_clock = fake_clock;
	F.base = event_base_new();
	ck_assert_ptr_nonnull(F.base);
	/* the base never runs: no timer fires, no check is sent */
	ck_assert_int_eq(health_init(F.base), 0);
}

/* Go live with the generation (after changing F.tgc or F.tg.ntargets). */
static void module_apply(void)
{
	health_apply(&F.gen);
}

static void module_teardown(void)
{
	health_shutdown();
	for (int i = 0; i < NT; i++)
		ts_unref(F.ts[i]);
	event_base_free(F.base);
	fclose(F.log);
}

/* Everything logged so far (a static buffer). */
static const char *log_text(void)
{
	static char buf[65536];
	ssize_t n = pread(fileno(F.log), buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static size_t log_mark(void)
{
	return strlen(log_text());
}

/* Number of lines logged after MARK that contain every one of the (up to 3,
 * NULL-terminated) strings. */
static int log_count(size_t mark, const char *a, const char *b, const char *c)
{
	const char *t = log_text() + mark;
	int n = 0;

	while (*t) {
		const char *nl = strchr(t, '\n');
		size_t len = nl ? (size_t)(nl - t) : strlen(t);
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)len, t);
		if ((!a || strstr(line, a)) && (!b || strstr(line, b)) && (!c || strstr(line, c)))
			n++;
		t += len + (nl ? 1 : 0);
	}
	return n;
}

/* No line says a state changed into itself ("state=X previous=X"). */
static void assert_no_null_transition(void)
{
	static const enum ts_health all[] = { TS_INITIAL, TS_HEALTHY, TS_UNHEALTHY, TS_DRAINING, TS_UNUSED };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char s[64];

		snprintf(s, sizeof(s), "state=%s previous=%s ", hc_state_name(all[i]), hc_state_name(all[i]));
		ck_assert_msg(!strstr(log_text(), s), "a transition line where nothing changed (%s):\n%s", s,
			      log_text());
	}
}

static enum ts_health health_of(int i)
{
	return (enum ts_health)atomic_load(&F.ts[i]->health);
}

static int routable(int i)
{
	return atomic_load(&F.ts[i]->routable);
}

/* Feed target I N results R, one second apart. */
static void feed(int i, enum hc_result r, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		fake_now += 1000;
		health_feed(F.ts[i], r, r == HC_PASS ? "" : "Health checks failed with these codes: [500]");
	}
}

/* Target I from healthy to unhealthy and back (thresholds 2): two changes. */
static void flap_once(int i)
{
	feed(i, HC_MISMATCH, 2);
	ck_assert_int_eq(health_of(i), TS_UNHEALTHY);
	feed(i, HC_PASS, 2);
}

START_TEST(test_module_initial_to_healthy)
{
	module_setup();
	module_apply();
	ck_assert_int_eq(health_of(0), TS_INITIAL);
	ck_assert_int_eq(routable(0), 0);
	ck_assert_int_eq(log_count(0, "target=127.0.0.1:10001 state=initial previous=unused",
				   "reason=Elb.InitialHealthChecking", NULL), 1);
	feed(0, HC_PASS, 1);
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_int_eq(routable(0), 1);
	ck_assert_int_eq(health_of(1), TS_INITIAL);
	ck_assert_int_eq(log_count(0, "target=127.0.0.1:10001 state=healthy previous=initial", "reason=-", NULL), 1);
	/* no slow start configured: full weight at once */
	ck_assert_uint_eq(atomic_load(&F.ts[0]->ramp_start), 0);
	module_teardown();
}
END_TEST

START_TEST(test_flap_hold_down)
{
	module_setup();
	module_apply();
	feed(0, HC_PASS, 1);                   /* change 1: initial -> healthy */
	flap_once(0);                          /* changes 2 and 3 */
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_int_eq(routable(0), 1);
	size_t mark = log_mark();
	feed(0, HC_MISMATCH, 2);               /* change 4 */
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	feed(0, HC_PASS, 1);
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	feed(0, HC_PASS, 1);                   /* would be change 5: held down */
	uint64_t t_hold = fake_now;
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	ck_assert_int_eq(routable(0), 0);
	ck_assert_int_eq(log_count(mark, "state=unhealthy previous=healthy", NULL, NULL), 1);
	/* one line, with the new reason and no "previous=" (defect 10: it
	 * said "state=unhealthy previous=unhealthy") */
	ck_assert_int_eq(log_count(mark, "target=127.0.0.1:10001 state=unhealthy reason=Target.FailedHealthChecks "
					 "description=\"flapping: 4 state changes within 60 s, held out for 120 s\"",
				   NULL, NULL),
			 1);
	ck_assert_int_eq(log_count(mark, "flapping", "previous=", NULL), 0);
	assert_no_null_transition();

	/* passing checks while held: out of rotation, nothing logged */
	mark = log_mark();
	while (fake_now + 1000 < t_hold + 120000) {
		feed(0, HC_PASS, 1);
		health_tick();
		ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
		ck_assert_int_eq(routable(0), 0);
	}
	ck_assert_int_eq(log_count(mark, "127.0.0.1:10001", NULL, NULL), 0);
	/* nor failing checks of another kind (they would repeat the reason) */
	fake_now += 500;
	health_feed(F.ts[0], HC_TIMEOUT, "Request timed out");
	ck_assert_int_eq(log_count(mark, "127.0.0.1:10001", NULL, NULL), 0);

	/* the hold ends: the next passing checks bring it back */
	fake_now = t_hold + 120000;
	health_tick();
	ck_assert_int_eq(routable(0), 0);
	feed(0, HC_PASS, 1);
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	feed(0, HC_PASS, 1);
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_int_eq(routable(0), 1);
	ck_assert_int_eq(log_count(mark, "target=127.0.0.1:10001 state=healthy previous=unhealthy", NULL, NULL), 1);
	/* the history was cleared by the hold: one more flap is not damped */
	flap_once(0);
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	assert_no_null_transition();
	/* the other target never moved */
	ck_assert_int_eq(health_of(1), TS_INITIAL);
	module_teardown();
}
END_TEST

START_TEST(test_flap_hold_ends_only_after_hold)
{
	/* a pass 1 ms before the hold ends keeps it out; the tick at the end
	 * of the hold lets the next pass in */
	module_setup();
	F.tgc.health_check.flap_transitions = 2;
	F.tgc.health_check.flap_hold_ms = 30000;
	module_apply();
	feed(0, HC_PASS, 1);                   /* change 1 */
	feed(0, HC_MISMATCH, 2);               /* change 2 */
	feed(0, HC_PASS, 2);                   /* held */
	uint64_t t_hold = fake_now;
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	ck_assert_int_eq(log_count(0, "state=unhealthy reason=Target.FailedHealthChecks",
				   "flapping: 2 state changes within 60 s, held out for 30 s", NULL),
			 1);
	fake_now = t_hold + 30000 - 1;
	health_tick();
	health_feed(F.ts[0], HC_PASS, "");
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	ck_assert_int_eq(routable(0), 0);
	fake_now = t_hold + 30000;
	health_feed(F.ts[0], HC_PASS, "");
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_int_eq(routable(0), 1);
	assert_no_null_transition();
	module_teardown();
}
END_TEST

START_TEST(test_flap_window)
{
	/* changes further apart than the window never add up: 4 transitions
	 * within 60 s are needed, and 31 s between changes keeps at most
	 * two in any window */
	module_setup();
	module_apply();
	feed(0, HC_PASS, 1);
	for (int k = 0; k < 10; k++) {
		fake_now += 29000;
		feed(0, HC_MISMATCH, 2);
		ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
		fake_now += 29000;
		feed(0, HC_PASS, 2);
		ck_assert_int_eq(health_of(0), TS_HEALTHY);
		ck_assert_int_eq(routable(0), 1);
	}
	ck_assert_int_eq(log_count(0, "flapping", NULL, NULL), 0);
	/* the same changes close together are damped: once the last ones
	 * have left the window, 3 changes pass and the 4th is held */
	fake_now += 61000;
	flap_once(0);
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	feed(0, HC_MISMATCH, 2);
	feed(0, HC_PASS, 2);
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	ck_assert_int_eq(log_count(0, "flapping", NULL, NULL), 1);
	module_teardown();
}
END_TEST

START_TEST(test_flap_damping_off)
{
	module_setup();
	F.tgc.health_check.flap_transitions = 0;
	module_apply();
	feed(0, HC_PASS, 1);
	for (int k = 0; k < 30; k++) {
		flap_once(0);
		ck_assert_int_eq(health_of(0), TS_HEALTHY);
	}
	ck_assert_int_eq(log_count(0, "flapping", NULL, NULL), 0);
	module_teardown();
}
END_TEST

START_TEST(test_reason_change_not_a_transition)
{
	/* unhealthy for one reason, then failing another way: one line with
	 * the new reason, no "previous=" */
	module_setup();
	module_apply();
	feed(0, HC_PASS, 1);
	feed(0, HC_MISMATCH, 2);
	ck_assert_int_eq(log_count(0, "state=unhealthy previous=healthy", "reason=Target.ResponseCodeMismatch", NULL),
			 1);
	size_t mark = log_mark();
	feed(0, HC_MISMATCH, 3);
	ck_assert_int_eq(log_count(mark, "127.0.0.1:10001", NULL, NULL), 0);
	fake_now += 1000;
	health_feed(F.ts[0], HC_TIMEOUT, "Request timed out");
	ck_assert_int_eq(log_count(mark, "target=127.0.0.1:10001 state=unhealthy reason=Target.Timeout "
					 "description=\"Request timed out\"",
				   NULL, NULL),
			 1);
	ck_assert_int_eq(log_count(mark, "previous=", NULL, NULL), 0);
	assert_no_null_transition();
	module_teardown();
}
END_TEST

START_TEST(test_slow_start_ramp_start)
{
	module_setup();
	F.tgc.slow_start_ms = 30000;
	module_apply();
	feed(0, HC_PASS, 1);
	uint64_t t0 = fake_now;
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	/* the ramp starts when the target turns healthy, on the module's clock */
	ck_assert_uint_eq(atomic_load(&F.ts[0]->ramp_start), t0);
	ck_assert_uint_eq(tg_weight(&F.tg, &F.targets[0], t0), 1);
	ck_assert_uint_eq(tg_weight(&F.tg, &F.targets[0], t0 + 15000), 500);
	ck_assert_uint_eq(tg_weight(&F.tg, &F.targets[0], t0 + 30000), 1000);
	/* more passes do not restart it */
	feed(0, HC_PASS, 5);
	ck_assert_uint_eq(atomic_load(&F.ts[0]->ramp_start), t0);

	/* a recovery ramps again, from the time it turned healthy */
	fake_now += 100000;
	feed(0, HC_MISMATCH, 2);
	ck_assert_uint_eq(atomic_load(&F.ts[0]->ramp_start), t0);
	feed(0, HC_PASS, 2);
	uint64_t t1 = fake_now;
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_uint_eq(atomic_load(&F.ts[0]->ramp_start), t1);
	ck_assert_uint_eq(tg_weight(&F.tg, &F.targets[0], t1 + 3000), 100);

	/* and so does a recovery from a passive ejection (one pass) */
	fake_now += 100000;
	atomic_store(&F.ts[0]->passive_down, 1);
	health_tick();
	ck_assert_int_eq(health_of(0), TS_UNHEALTHY);
	ck_assert_int_eq(log_count(0, "state=unhealthy previous=healthy", "consecutive connection failures", NULL), 1);
	feed(0, HC_PASS, 1);
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_uint_eq(atomic_load(&F.ts[0]->ramp_start), fake_now);
	ck_assert_int_eq(atomic_load(&F.ts[0]->passive_down), 0);
	module_teardown();
}
END_TEST

/* What DescribeTargetHealth says of target I: state, reason, description. */
static void assert_described(int i, const char *state, const char *reason, const char *desc)
{
	const char *r, *d;

	ck_assert_str_eq(health_state_name(F.ts[i]), state);
	ck_assert_int_eq(health_describe(F.ts[i], &r, &d), 0);
	if (reason)
		ck_assert_str_eq(r, reason);
	else
		ck_assert_ptr_null(r);
	if (desc)
		ck_assert_str_eq(d, desc);
	else
		ck_assert_ptr_null(d);
}

START_TEST(test_module_described_as_alb)
{
	module_setup();
	module_apply();
	/* ALB's text, not "Initial health checking in progress" */
	assert_described(0, "initial", "Elb.InitialHealthChecking", "Initial health checks in progress");
	feed(0, HC_PASS, 1);
	assert_described(0, "healthy", NULL, NULL);
	module_teardown();
}
END_TEST

/* Checks disabled: the targets take requests as healthy ones, and
 * DescribeTargetHealth says unavailable, Target.HealthCheckDisabled. */
START_TEST(test_module_checks_disabled)
{
	module_setup();
	F.tgc.health_check.enabled = 0;
	module_apply();
	for (int i = 0; i < NT; i++) {
		ck_assert_int_eq(health_of(i), TS_HEALTHY);
		ck_assert_int_eq(routable(i), 1);
		assert_described(i, "unavailable", "Target.HealthCheckDisabled",
				 "Health checks are disabled for the target group");
	}
	/* switched on by a reload: from initial, as new targets */
	F.tgc.health_check.enabled = 1;
	module_apply();
	assert_described(0, "initial", "Elb.InitialHealthChecking", "Initial health checks in progress");
	ck_assert_int_eq(routable(0), 0);
	module_teardown();
}
END_TEST

/* A group no listener uses: its targets are "unused" (Target.NotInUse),
 * not checked; used again, they start from initial; unused again, they
 * stop. */
START_TEST(test_module_group_not_in_use)
{
	module_setup();
	F.tgc.in_use = 0;
	module_apply();
	for (int i = 0; i < NT; i++) {
		ck_assert_int_eq(health_of(i), TS_UNUSED);
		ck_assert_int_eq(routable(i), 0);
		assert_described(i, "unused", "Target.NotInUse",
				 "Target group is not configured to receive traffic from the load balancer");
	}
	ck_assert_int_eq(log_count(0, "state=", NULL, NULL), 0);
	/* a check result (none is sent) changes nothing */
	feed(0, HC_PASS, 2);
	ck_assert_int_eq(health_of(0), TS_UNUSED);
	/* a reload that keeps it unused changes nothing either */
	module_apply();
	ck_assert_int_eq(health_of(0), TS_UNUSED);
	ck_assert_int_eq(log_count(0, "state=", NULL, NULL), 0);
	/* used: initial, as new targets */
	size_t mark = log_mark();
	F.tgc.in_use = 1;
	module_apply();
	ck_assert_int_eq(health_of(0), TS_INITIAL);
	ck_assert_int_eq(log_count(mark, "target=127.0.0.1:10001 state=initial previous=unused",
				   "reason=Elb.InitialHealthChecking", NULL),
			 1);
	feed(0, HC_PASS, 1);
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_int_eq(routable(0), 1);
	/* a reload that keeps it in use keeps its state */
	module_apply();
	ck_assert_int_eq(health_of(0), TS_HEALTHY);
	ck_assert_int_eq(health_of(1), TS_INITIAL);
	/* unused again: out of rotation, no reason to log but NotInUse */
	mark = log_mark();
	F.tgc.in_use = 0;
	module_apply();
	ck_assert_int_eq(health_of(0), TS_UNUSED);
	ck_assert_int_eq(routable(0), 0);
	ck_assert_int_eq(log_count(mark, "target=127.0.0.1:10001 state=unused previous=healthy",
				   "reason=Target.NotInUse", NULL),
			 1);
	feed(0, HC_MISMATCH, 3);
	ck_assert_int_eq(health_of(0), TS_UNUSED);
	/* no fail-open line for a group that takes no traffic */
	ck_assert_int_eq(log_count(mark, "fail_open=on", NULL, NULL), 0);
	assert_no_null_transition();
	module_teardown();
}
END_TEST

START_TEST(test_draining_deadline)
{
	module_setup();
	module_apply();
	feed(0, HC_PASS, 1);
	feed(1, HC_PASS, 1);
	/* a reload drops both targets; one still has a request in flight */
	atomic_store(&F.ts[0]->inflight, 1);
	F.tg.ntargets = 0;
	fake_now += 1000;
	uint64_t t_reload = fake_now;
	module_apply();
	for (int i = 0; i < NT; i++) {
		ck_assert_int_eq(health_of(i), TS_DRAINING);
		ck_assert_int_eq(routable(i), 0);
	}
	ck_assert_int_eq(log_count(0, "state=draining previous=healthy", "reason=Target.DeregistrationInProgress",
				   NULL),
			 2);
	/* the idle one is unused at the next tick */
	fake_now += 100;
	health_tick();
	ck_assert_int_eq(health_of(1), TS_UNUSED);
	ck_assert_int_eq(atomic_load(&F.ts[1]->drain_expired), 0);
	ck_assert_int_eq(log_count(0, "target=127.0.0.1:10002 state=unused previous=draining",
				   "description=\"Target is not registered to the target group\"", NULL),
			 1);
	/* the busy one until deregistration_delay (5 s) */
	fake_now = t_reload + 4999;
	health_tick();
	ck_assert_int_eq(health_of(0), TS_DRAINING);
	ck_assert_int_eq(atomic_load(&F.ts[0]->drain_expired), 0);
	fake_now = t_reload + 5000;
	health_tick();
	ck_assert_int_eq(health_of(0), TS_UNUSED);
	ck_assert_int_eq(atomic_load(&F.ts[0]->drain_expired), 1);
	ck_assert_int_eq(log_count(0, "target=127.0.0.1:10001 state=unused previous=draining",
				   "1 requests cut at the deregistration delay", NULL),
			 1);
	assert_no_null_transition();
	module_teardown();
}
END_TEST

/* ------------------------------------------------------------ main */

/* A fake clock for the log's rate limits: 10 ms a line, one token each,
 * so that every line of the scale test gets out. */
static uint64_t log_now;
static uint64_t log_clock_step(void)
{
	return log_now += 10;
}

/* Lines of the whole log (F.log) that contain NEEDLE. */
static int log_count_all(const char *needle)
{
	char line[512];
	int n = 0;

	fflush(F.log);
	rewind(F.log);
	while (fgets(line, sizeof(line), F.log))
		n += strstr(line, needle) != NULL;
	fseek(F.log, 0, SEEK_END);
	return n;
}

/* 50,000 targets turning healthy and then failing at once: each change
 * updates its group's up/total counts in O(1). (A recount of the whole
 * group on every change made this O(n^2), minutes at this size, far past
 * Check's timeout.) The fail-open lines still come exactly when they
 * should, with the right counts. */
#if defined(__SANITIZE_THREAD__)
#define SCALE_N 5000    /* TSan runs ~10x slower: look for races, not for O(n^2) */
#else
#define SCALE_N 50000
#endif
START_TEST(test_group_counts_scale)
{
	enum { N = SCALE_N };
	struct target_state **ts = calloc(N, sizeof(*ts));
	struct target *targets = calloc(N, sizeof(*targets));
	char err[256];

	ck_assert_ptr_nonnull(ts);
	ck_assert_ptr_nonnull(targets);
	module_setup();
	log_set_clock(log_clock_step);
	for (int i = 0; i < N; i++) {
		struct albd_addr a;
		char text[32];

		snprintf(text, sizeof(text), "127.1.%d.%d:80", i / 250, i % 250 + 1);
		ck_assert_int_eq(config_parse_addr(text, 0, &a, err, sizeof(err)), 0);
		ts[i] = ts_get("big", &a, 1);
		ck_assert_ptr_nonnull(ts[i]);
		targets[i].st = ts[i];
		targets[i].weight = 1;
		targets[i].index = (unsigned)i;
	}
	F.tgc.name = "big";
	F.tg.targets = targets;
	F.tg.ntargets = N;
	module_apply();
	/* all initial: none up, the group fails open */
	char open_line[96], closed_line[96];
	snprintf(open_line, sizeof(open_line), "target_group=big fail_open=on healthy=0 total=%d", N);
	snprintf(closed_line, sizeof(closed_line), "target_group=big fail_open=off healthy=1 total=%d", N);
	ck_assert_int_eq(log_count_all(open_line), 1);
	for (int i = 0; i < N; i++)
		health_feed(ts[i], HC_PASS, "");
	ck_assert_int_eq(log_count_all(closed_line), 1);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < N; i++)
			health_feed(ts[i], HC_TIMEOUT, "Request timed out");
	ck_assert_int_eq(atomic_load(&ts[N - 1]->health), TS_UNHEALTHY);
	ck_assert_int_eq(log_count_all("fail_open=on"), 2);
	ck_assert_int_eq(log_count_all(open_line), 2);
	health_tick();   /* the resync changes nothing */
	ck_assert_int_eq(log_count_all("fail_open="), 3);
	log_set_clock(NULL);
	module_teardown();
	for (int i = 0; i < N; i++)
		ts_unref(ts[i]);
	free(ts);
	free(targets);
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc;

	tc = tcase_create("machine");
	tcase_add_test(tc, test_initial_one_pass);
	tcase_add_loop_test(tc, test_initial_fails, 0, NFAILURES);
	tcase_add_loop_test(tc, test_healthy_to_unhealthy, 0, NFAILURES);
	tcase_add_test(tc, test_healthy_pass_resets);
	tcase_add_test(tc, test_unhealthy_to_healthy);
	tcase_add_loop_test(tc, test_unhealthy_fail_resets, 0, NFAILURES);
	tcase_add_test(tc, test_fast_recovery);
	tcase_add_test(tc, test_other_states_stay);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_state_names);
	tcase_add_test(tc, test_reason_codes);
	suite_add_tcase(s, tc);

	tc = tcase_create("matcher");
	tcase_add_test(tc, test_match_single);
	tcase_add_test(tc, test_match_list);
	tcase_add_test(tc, test_match_range);
	tcase_add_test(tc, test_match_range_and_code);
	tcase_add_test(tc, test_match_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("module");
	/* the 50,000-target case takes ~2 s alone: room for a loaded machine
	 * and the sanitizer builds */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_module_initial_to_healthy);
	tcase_add_test(tc, test_flap_hold_down);
	tcase_add_test(tc, test_flap_hold_ends_only_after_hold);
	tcase_add_test(tc, test_flap_window);
	tcase_add_test(tc, test_flap_damping_off);
	tcase_add_test(tc, test_reason_change_not_a_transition);
	tcase_add_test(tc, test_slow_start_ramp_start);
	tcase_add_test(tc, test_draining_deadline);
	tcase_add_test(tc, test_module_described_as_alb);
	tcase_add_test(tc, test_module_checks_disabled);
	tcase_add_test(tc, test_module_group_not_in_use);
	tcase_add_test(tc, test_group_counts_scale);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(health_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
