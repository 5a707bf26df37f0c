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
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/control/health.h"
#include "../../src/core/config.h"

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

/* ------------------------------------------------------------ main */

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
