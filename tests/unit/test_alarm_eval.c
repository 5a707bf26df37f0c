/* test_alarm_eval.c - src/control/alarm_eval.c: the CloudWatch user guide's
 * missing-data tables for every TreatMissingData mode, M out of N, each
 * comparison at, above and below the threshold, StateReason texts CloudWatch
 * really wrote, the StateReasonData JSON, value formatting, and bad input. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/alarm_eval.h"

#define BASE 1795947300 /* 2026-11-29 10:15:00 UTC, a multiple of 300 and of 60 */

static struct alarm_def mkdef(unsigned period, unsigned n, unsigned m, enum alarm_cmp cmp, double thr,
			      enum alarm_missing missing)
{
	struct alarm_def d = { period, n, m, cmp, thr, missing, "Average" };
	return d;
}

/* Points from PATTERN, oldest first as the user guide writes them ("0 - X - X",
 * most recent on the right): 0 a non-breaching value (5.0), X a breaching one
 * (15.0) for threshold 10 and GreaterThanThreshold, - a missing one. The
 * newest starts at BASE. Returns the count. */
static size_t pattern(const char *pat, unsigned period, struct alarm_point *pts)
{
	size_t n = 0;
	for (const char *c = pat; *c; c++)
		if (*c == '0' || *c == 'X' || *c == '-') {
			pts[n].present = *c != '-';
			pts[n].v = *c == 'X' ? 15.0 : 5.0;
			pts[n].samples = 0;
			n++;
		}
	for (size_t i = 0; i < n; i++)
		pts[i].t = BASE - (int64_t)(n - 1 - i) * period;
	return n;
}

/* Evaluate and check the result is well-formed; returns the new state. */
static enum alarm_state eval(const struct alarm_def *d, enum alarm_state cur, const struct alarm_point *pts,
			     size_t n, struct alarm_result *r)
{
	ck_assert_int_eq(alarm_evaluate(d, cur, pts, n, BASE + d->period + 5, r), 0);
	ck_assert_ptr_nonnull(r->reason_data);
	json_error_t err;
	json_t *j = json_loads(r->reason_data, 0, &err);
	ck_assert_msg(j != NULL, "reason data is not JSON: %s (%s)", r->reason_data, err.text);
	json_decref(j);
	ck_assert_int_eq(r->changed, r->state != cur);
	ck_assert_uint_gt(strlen(r->reason), 0);
	return r->state;
}

static enum alarm_state eval_pat(const char *pat, unsigned n, unsigned m, enum alarm_missing missing,
				 enum alarm_state cur)
{
	struct alarm_point pts[16];
	struct alarm_def d = mkdef(300, n, m, ALARM_CMP_GT, 10, missing);
	size_t np = pattern(pat, 300, pts);
	struct alarm_result r;
	enum alarm_state s = eval(&d, cur, pts, np, &r);
	alarm_result_free(&r);
	return s;
}

/* the user guide's tables ------------------------------------------------------ */

/* "Configuring how CloudWatch alarms treat missing data", section "How alarm
 * state is evaluated when data is missing", AlarmThatSendsEmail.md in
 * github.com/awsdocs/amazon-cloudwatch-user-guide (and the same on
 * docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
 * Evaluation Periods 3, evaluation range 5, most recent point on the right.
 * R = "Retain current state". Rows marked (old) are from the guide's older
 * edition, which the newer one replaced with "- - X - -". */
#define R (-1)
static const struct table_row {
	const char *points;
	unsigned m;
	int missing, ignore, breaching, not_breaching;
} table[] = {
	/* Datapoints to Alarm 3, Evaluation Periods 3 */
	{ "0 - X - X", 3, ALARM_OK, ALARM_OK, ALARM_OK, ALARM_OK },
	{ "0 - - - -", 3, ALARM_OK, ALARM_OK, ALARM_OK, ALARM_OK },
	{ "- - - - -", 3, ALARM_INSUFFICIENT_DATA, R, ALARM_ALARM, ALARM_OK },
	{ "0 X X - X", 3, ALARM_ALARM, ALARM_ALARM, ALARM_ALARM, ALARM_ALARM },
	{ "- - - - X", 3, ALARM_INSUFFICIENT_DATA, R, ALARM_ALARM, ALARM_OK }, /* (old) */
	{ "X - - - -", 3, ALARM_ALARM, R, ALARM_ALARM, ALARM_OK },             /* (old) */
	{ "- - X - -", 3, ALARM_ALARM, R, ALARM_ALARM, ALARM_OK },
	/* Datapoints to Alarm 2, Evaluation Periods 3 */
	{ "0 - X - X", 2, ALARM_ALARM, ALARM_ALARM, ALARM_ALARM, ALARM_ALARM },
	{ "0 0 X 0 X", 2, ALARM_ALARM, ALARM_ALARM, ALARM_ALARM, ALARM_ALARM },
	{ "0 - X - -", 2, ALARM_OK, ALARM_OK, ALARM_ALARM, ALARM_OK },
	{ "- - - - 0", 2, ALARM_OK, ALARM_OK, ALARM_ALARM, ALARM_OK },
	{ "- - - - X", 2, ALARM_INSUFFICIENT_DATA, R, ALARM_ALARM, ALARM_OK }, /* (old) */
	{ "- - - X -", 2, ALARM_ALARM, R, ALARM_ALARM, ALARM_OK },
};

START_TEST(test_missing_data_table)
{
	const struct table_row *row = &table[_i];
	const int want[4] = { row->missing, row->ignore, row->breaching, row->not_breaching };
	const enum alarm_state states[3] = { ALARM_OK, ALARM_ALARM, ALARM_INSUFFICIENT_DATA };

	for (int mode = 0; mode < 4; mode++)
		for (int c = 0; c < 3; c++) {
			enum alarm_state got = eval_pat(row->points, 3, row->m, (enum alarm_missing)mode, states[c]);
			enum alarm_state exp = want[mode] == R ? states[c] : (enum alarm_state)want[mode];
			ck_assert_msg(got == exp, "\"%s\" %u/3 %s from %s: got %s, want %s", row->points, row->m,
				      alarm_missing_name((enum alarm_missing)mode), alarm_state_name(states[c]),
				      alarm_state_name(got), alarm_state_name(exp));
		}
}
END_TEST

/* "In the second row ... The next time this alarm is evaluated, if the data is
 * still missing it will go to ALARM, as that non-breaching data point will no
 * longer be in the evaluation range." */
START_TEST(test_second_row_next_evaluation)
{
	ck_assert_int_eq(eval_pat("0 - - - -", 3, 3, ALARM_MISSING_BREACHING, ALARM_OK), ALARM_OK);
	ck_assert_int_eq(eval_pat("- - - - -", 3, 3, ALARM_MISSING_BREACHING, ALARM_OK), ALARM_ALARM);
	/* a caller passing more than the range: only the newest 5 count */
	ck_assert_int_eq(eval_pat("0 - - - - -", 3, 3, ALARM_MISSING_BREACHING, ALARM_OK), ALARM_ALARM);
	/* a shorter series than the range is fine */
	ck_assert_int_eq(eval_pat("X X X", 3, 3, ALARM_MISSING_MISSING, ALARM_OK), ALARM_ALARM);
}
END_TEST

/* M out of N with every point present ------------------------------------------ */

START_TEST(test_m_out_of_n)
{
	static const struct {
		const char *points;
		unsigned n, m;
		enum alarm_state want;
	} cases[] = {
		{ "- - X", 1, 1, ALARM_ALARM },
		{ "- - 0", 1, 1, ALARM_OK },
		{ "X X 0", 1, 1, ALARM_OK },
		{ "0 0 X", 1, 1, ALARM_ALARM },
		{ "- - X 0 X", 3, 2, ALARM_ALARM },
		{ "- - X 0 0", 3, 2, ALARM_OK },
		{ "- - 0 X X", 3, 2, ALARM_ALARM },
		{ "X X 0 0 X", 3, 2, ALARM_OK },
		{ "- - X X X", 3, 3, ALARM_ALARM },
		{ "- - X X 0", 3, 3, ALARM_OK },
		{ "- - 0 X X", 3, 3, ALARM_OK },
		{ "X X X 0 X X X", 5, 3, ALARM_ALARM },
		{ "- - X 0 X 0 X", 5, 3, ALARM_ALARM },
		{ "- - X 0 X 0 0", 5, 3, ALARM_OK },
		{ "X X 0 0 X 0 X", 5, 3, ALARM_OK },
		{ "0 0 X X X 0 0", 5, 3, ALARM_ALARM },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int mode = 0; mode < 4; mode++) {
			enum alarm_state got =
				eval_pat(cases[i].points, cases[i].n, cases[i].m, (enum alarm_missing)mode, ALARM_OK);
			ck_assert_msg(got == cases[i].want, "%s %u/%u %s: got %s", cases[i].points, cases[i].m,
				      cases[i].n, alarm_missing_name((enum alarm_missing)mode), alarm_state_name(got));
		}
}
END_TEST

START_TEST(test_comparisons)
{
	static const struct {
		enum alarm_cmp cmp;
		double v;
		enum alarm_state want;
	} cases[] = {
		{ ALARM_CMP_GT, 9.5, ALARM_OK },
		{ ALARM_CMP_GT, 10, ALARM_OK },
		{ ALARM_CMP_GT, 10.5, ALARM_ALARM },
		{ ALARM_CMP_GE, 9.5, ALARM_OK },
		{ ALARM_CMP_GE, 10, ALARM_ALARM },
		{ ALARM_CMP_GE, 10.5, ALARM_ALARM },
		{ ALARM_CMP_LT, 9.5, ALARM_ALARM },
		{ ALARM_CMP_LT, 10, ALARM_OK },
		{ ALARM_CMP_LT, 10.5, ALARM_OK },
		{ ALARM_CMP_LE, 9.5, ALARM_ALARM },
		{ ALARM_CMP_LE, 10, ALARM_ALARM },
		{ ALARM_CMP_LE, 10.5, ALARM_OK },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct alarm_def d = mkdef(60, 1, 1, cases[i].cmp, 10, ALARM_MISSING_MISSING);
		struct alarm_point p = { BASE, 1, cases[i].v, 1 };
		struct alarm_result r;
		enum alarm_state got = eval(&d, ALARM_INSUFFICIENT_DATA, &p, 1, &r);
		ck_assert_msg(got == cases[i].want, "%s %g: %s", alarm_cmp_name(cases[i].cmp), cases[i].v,
			      alarm_state_name(got));
		ck_assert_int_eq(r.changed, 1);
		alarm_result_free(&r);
	}
}
END_TEST

/* StateReason as CloudWatch writes it ------------------------------------------ */

/* A real ALARM -> OK reason and its reason data (quoted in a public repository's
 * test fixture of a CloudWatch alarm state change event). */
START_TEST(test_reason_alarm_to_ok_real)
{
	struct alarm_def d = mkdef(60, 2, 2, ALARM_CMP_GT, 40, ALARM_MISSING_MISSING);
	struct alarm_point p[2] = { { 1618329780, 1, 0.01575357001274824, 1 },
				    { 1618329840, 1, 0.01758096118768056, 1 } };
	struct alarm_result r;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_ALARM, p, 2, 1618329998, &r), 0);
	ck_assert_int_eq(r.state, ALARM_OK);
	ck_assert_int_eq(r.changed, 1);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 2 out of the last 2 datapoints [0.01758096118768056 (13/04/21 "
				   "16:04:00), 0.01575357001274824 (13/04/21 16:03:00)] were not greater than the "
				   "threshold (40.0) (minimum 1 datapoint for ALARM -> OK transition).");

	json_t *j = json_loads(r.reason_data, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "version")), "1.0");
	ck_assert_str_eq(json_string_value(json_object_get(j, "queryDate")), "2021-04-13T16:06:38.000+0000");
	ck_assert_str_eq(json_string_value(json_object_get(j, "startDate")), "2021-04-13T16:03:00.000+0000");
	ck_assert_str_eq(json_string_value(json_object_get(j, "statistic")), "Average");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "period")), 60);
	ck_assert(json_real_value(json_object_get(j, "threshold")) == 40.0);
	json_t *recent = json_object_get(j, "recentDatapoints");
	ck_assert_uint_eq(json_array_size(recent), 2);
	ck_assert(json_real_value(json_array_get(recent, 0)) == 0.01575357001274824);
	ck_assert(json_real_value(json_array_get(recent, 1)) == 0.01758096118768056);
	json_t *ev = json_object_get(j, "evaluatedDatapoints");
	ck_assert_uint_eq(json_array_size(ev), 2);
	json_t *e0 = json_array_get(ev, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e0, "timestamp")), "2021-04-13T16:04:00.000+0000");
	ck_assert(json_real_value(json_object_get(e0, "sampleCount")) == 1.0);
	ck_assert(json_real_value(json_object_get(e0, "value")) == 0.01758096118768056);
	json_decref(j);
	/* the raw text keeps CloudWatch's spelling of numbers */
	ck_assert_ptr_nonnull(strstr(r.reason_data, "\"threshold\":40.0,"));
	ck_assert_ptr_nonnull(
		strstr(r.reason_data, "\"recentDatapoints\":[0.01575357001274824,0.01758096118768056]"));
	alarm_result_free(&r);
}
END_TEST

/* aws/aws-sdk-java issue #1723 quotes this one. */
START_TEST(test_reason_one_of_one_real)
{
	struct alarm_def d = mkdef(300, 1, 1, ALARM_CMP_LE, 70, ALARM_MISSING_MISSING);
	struct alarm_point p = { 1534367700, 1, 6.046241709654764, 0 };
	struct alarm_result r;
	ck_assert_int_eq(eval(&d, ALARM_INSUFFICIENT_DATA, &p, 1, &r), ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 1 out of the last 1 datapoints [6.046241709654764 (15/08/18 "
				   "21:15:00)] was less than or equal to the threshold (70.0) (minimum 1 datapoint "
				   "for OK -> ALARM transition).");
	ck_assert_ptr_null(strstr(r.reason_data, "sampleCount"));
	alarm_result_free(&r);
}
END_TEST

/* The user guide's EventBridge example (1 of 3, three breaching points). */
START_TEST(test_reason_user_guide_example)
{
	struct alarm_def d = mkdef(60, 3, 1, ALARM_CMP_GT, 0, ALARM_MISSING_MISSING);
	struct alarm_point p[3] = { { 1667906580, 1, 20000, 0 }, { 1667906640, 1, 20000, 0 }, { 1667906700, 1, 20000, 0 } };
	struct alarm_result r;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_INSUFFICIENT_DATA, p, 3, 1667906765, &r), 0);
	ck_assert_int_eq(r.state, ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 3 out of the last 3 datapoints [20000.0 (08/11/22 11:25:00), "
				   "20000.0 (08/11/22 11:24:00), 20000.0 (08/11/22 11:23:00)] were greater than the "
				   "threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).");
	ck_assert_ptr_nonnull(strstr(r.reason_data, "\"queryDate\":\"2022-11-08T11:26:05.000+0000\",\"startDate\":"
						    "\"2022-11-08T11:23:00.000+0000\""));
	alarm_result_free(&r);
}
END_TEST

/* The brief's example: 2 of 3, GreaterThanOrEqualToThreshold. */
START_TEST(test_reason_two_of_three)
{
	struct alarm_def d = mkdef(60, 3, 2, ALARM_CMP_GE, 10, ALARM_MISSING_MISSING);
	struct alarm_point p[3] = { { BASE - 120, 1, 5, 0 }, { BASE - 60, 1, 15, 0 }, { BASE, 1, 12, 0 } };
	struct alarm_result r;
	ck_assert_int_eq(eval(&d, ALARM_OK, p, 3, &r), ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 2 out of the last 3 datapoints [12.0 (29/11/26 10:15:00), "
				   "15.0 (29/11/26 10:14:00)] were greater than or equal to the threshold (10.0) "
				   "(minimum 2 datapoints for OK -> ALARM transition).");
	alarm_result_free(&r);
	/* back to OK needs N - M + 1 = 2 non-breaching points */
	p[1].v = 9;
	ck_assert_int_eq(eval(&d, ALARM_ALARM, p, 3, &r), ALARM_OK);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 2 out of the last 3 datapoints [9.0 (29/11/26 10:14:00), "
				   "5.0 (29/11/26 10:13:00)] were not greater than or equal to the threshold (10.0) "
				   "(minimum 2 datapoints for ALARM -> OK transition).");
	alarm_result_free(&r);
}
END_TEST

/* A real INSUFFICIENT_DATA reason and reason data (quoted from a Lambda alarm
 * action's event in a public repository); CloudWatch's queryDate had
 * milliseconds, ours are .000. */
START_TEST(test_reason_insufficient_real)
{
	struct alarm_def d = mkdef(60, 3, 3, ALARM_CMP_GT, 5, ALARM_MISSING_MISSING);
	struct alarm_point p[5];
	struct alarm_result r;
	for (int i = 0; i < 5; i++)
		p[i] = (struct alarm_point){ 1691152200 - (4 - i) * 60, 0, 0, 0 };
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, 5, 1691152289, &r), 0);
	ck_assert_int_eq(r.state, ALARM_INSUFFICIENT_DATA);
	ck_assert_str_eq(r.reason, "Insufficient Data: 5 datapoints were unknown.");
	ck_assert_str_eq(r.reason_data,
			 "{\"version\":\"1.0\",\"queryDate\":\"2023-08-04T12:31:29.000+0000\",\"statistic\":\"Average\","
			 "\"period\":60,\"recentDatapoints\":[],\"threshold\":5.0,\"evaluatedDatapoints\":["
			 "{\"timestamp\":\"2023-08-04T12:30:00.000+0000\"},{\"timestamp\":\"2023-08-04T12:29:00.000+0000\"},"
			 "{\"timestamp\":\"2023-08-04T12:28:00.000+0000\"},{\"timestamp\":\"2023-08-04T12:27:00.000+0000\"},"
			 "{\"timestamp\":\"2023-08-04T12:26:00.000+0000\"}]}");
	alarm_result_free(&r);

	/* one period, one missing point */
	d = mkdef(60, 1, 1, ALARM_CMP_GT, 5, ALARM_MISSING_MISSING);
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p + 4, 1, 1691152289, &r), 0);
	ck_assert_str_eq(r.reason, "Insufficient Data: 1 datapoint was unknown.");
	alarm_result_free(&r);
}
END_TEST

START_TEST(test_reason_missing_treated)
{
	struct alarm_point p[8];
	struct alarm_result r;
	struct alarm_def d = mkdef(60, 1, 1, ALARM_CMP_GT, 10, ALARM_MISSING_BREACHING);
	size_t n = pattern("- - -", 60, p);
	ck_assert_int_eq(eval(&d, ALARM_OK, p, n, &r), ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: no datapoints were received for 1 period and 1 missing "
				   "datapoint was treated as [Breaching].");
	alarm_result_free(&r);

	d = mkdef(60, 2, 2, ALARM_CMP_GT, 10, ALARM_MISSING_NOT_BREACHING);
	n = pattern("- - - -", 60, p);
	ck_assert_int_eq(eval(&d, ALARM_ALARM, p, n, &r), ALARM_OK);
	ck_assert_str_eq(r.reason, "Threshold Crossed: no datapoints were received for 2 periods and 2 missing "
				   "datapoints were treated as [NonBreaching].");
	/* the filled periods are listed as evaluated, without a value */
	json_t *j = json_loads(r.reason_data, 0, NULL);
	ck_assert_ptr_nonnull(j);
	json_t *ev = json_object_get(j, "evaluatedDatapoints");
	ck_assert_uint_eq(json_array_size(ev), 2);
	ck_assert_ptr_null(json_object_get(json_array_get(ev, 0), "value"));
	json_decref(j);
	alarm_result_free(&r);

	/* real and filled mixed: the 2 most recent missing periods are filled */
	d = mkdef(60, 3, 2, ALARM_CMP_GT, 10, ALARM_MISSING_BREACHING);
	n = pattern("- - 0 - -", 60, p);
	ck_assert_int_eq(eval(&d, ALARM_OK, p, n, &r), ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 2 missing datapoints were treated as [Breaching] (minimum 2 "
				   "datapoints for OK -> ALARM transition).");
	j = json_loads(r.reason_data, 0, NULL);
	ev = json_object_get(j, "evaluatedDatapoints");
	ck_assert_uint_eq(json_array_size(ev), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 0), "timestamp")),
			 "2026-11-29T10:15:00.000+0000");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 2), "timestamp")),
			 "2026-11-29T10:13:00.000+0000");
	json_decref(j);
	alarm_result_free(&r);

	d = mkdef(60, 3, 3, ALARM_CMP_GT, 10, ALARM_MISSING_BREACHING);
	n = pattern("- - 0 - -", 60, p);
	ck_assert_int_eq(eval(&d, ALARM_ALARM, p, n, &r), ALARM_OK);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 1 out of the last 3 datapoints [5.0 (29/11/26 10:13:00)] was "
				   "not greater than the threshold (10.0) and 2 missing datapoints were treated as "
				   "[Breaching] (minimum 1 datapoint for ALARM -> OK transition).");
	alarm_result_free(&r);
}
END_TEST

/* Alarms without DatapointsToAlarm: CloudWatch's short form, real reasons
 * quoted in public repositories. */
START_TEST(test_reason_short_form_real)
{
	struct alarm_point p[12];
	struct alarm_result r;
	struct alarm_def d = mkdef(60, 1, 0, ALARM_CMP_GT, 0, ALARM_MISSING_NOT_BREACHING);
	d.statistic = "Sum";
	p[0] = (struct alarm_point){ 1747322940, 1, 1.0, 1 };
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, 1, 1747323104, &r), 0);
	ck_assert_int_eq(r.state, ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 1 datapoint [1.0 (15/05/25 15:29:00)] was greater than the "
				   "threshold (0.0).");
	ck_assert_str_eq(r.reason_data,
			 "{\"version\":\"1.0\",\"queryDate\":\"2025-05-15T15:31:44.000+0000\",\"startDate\":"
			 "\"2025-05-15T15:29:00.000+0000\",\"statistic\":\"Sum\",\"period\":60,\"recentDatapoints\":[1.0],"
			 "\"threshold\":0.0,\"evaluatedDatapoints\":[{\"timestamp\":\"2025-05-15T15:29:00.000+0000\","
			 "\"sampleCount\":1.0,\"value\":1.0}]}");
	alarm_result_free(&r);

	/* 8 periods, 1 real non-breaching point, 7 filled as breaching: OK */
	d = mkdef(60, 8, 0, ALARM_CMP_LE, 0, ALARM_MISSING_BREACHING);
	for (int i = 0; i < 10; i++)
		p[i] = (struct alarm_point){ 1787132160 - (9 - i) * 60, i == 9, 2.0, 0 };
	ck_assert_int_eq(eval(&d, ALARM_ALARM, p, 10, &r), ALARM_OK);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 1 datapoint [2.0 (19/08/26 09:36:00)] was not less than or "
				   "equal to the threshold (0.0) and 7 missing datapoints were treated as [Breaching].");
	alarm_result_free(&r);

	/* 2 periods, 1 real breaching point and 1 filled as breaching: ALARM */
	d = mkdef(60, 2, 0, ALARM_CMP_LT, 1, ALARM_MISSING_BREACHING);
	for (int i = 0; i < 4; i++)
		p[i] = (struct alarm_point){ 1776710700 - (3 - i) * 60, i == 3, 0.0, 0 };
	ck_assert_int_eq(eval(&d, ALARM_OK, p, 4, &r), ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 1 datapoint [0.0 (20/04/26 18:45:00)] was less than the "
				   "threshold (1.0) and 1 missing datapoint was treated as [Breaching].");
	alarm_result_free(&r);

	/* the short form with several points */
	d = mkdef(60, 3, 0, ALARM_CMP_GT, 0, ALARM_MISSING_MISSING);
	for (int i = 0; i < 3; i++)
		p[i] = (struct alarm_point){ BASE - (2 - i) * 60, 1, (double)(i + 1), 0 };
	ck_assert_int_eq(eval(&d, ALARM_OK, p, 3, &r), ALARM_ALARM);
	ck_assert_str_eq(r.reason, "Threshold Crossed: 3 datapoints [3.0 (29/11/26 10:15:00), 2.0 (29/11/26 "
				   "10:14:00), 1.0 (29/11/26 10:13:00)] were greater than the threshold (0.0).");
	alarm_result_free(&r);
}
END_TEST

/* values and names ----------------------------------------------------------------- */

START_TEST(test_format_value)
{
	static const struct {
		double v;
		const char *s;
	} cases[] = {
		{ 12, "12.0" },
		{ 0.5, "0.5" },
		{ 1e-4, "1.0E-4" },
		{ 0.001, "0.001" },
		{ 1e7, "1.0E7" },
		{ 9999999, "9999999.0" },
		{ 20000, "20000.0" },
		{ -1.5, "-1.5" },
		{ 0, "0.0" },
		{ 1.5e-10, "1.5E-10" },
		{ 123456.789, "123456.789" },
		{ 2.5e7, "2.5E7" },
		{ 0.01758096118768056, "0.01758096118768056" },
		{ 3.4666088898518357, "3.4666088898518357" },
		{ 1e21, "1.0E21" },
		{ 0.1, "0.1" },
		{ 100, "100.0" },
		{ -0.00012, "-1.2E-4" },
	};
	char buf[40];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		alarm_format_value(cases[i].v, buf, sizeof buf);
		ck_assert_str_eq(buf, cases[i].s);
	}
}
END_TEST

START_TEST(test_names)
{
	enum alarm_cmp c;
	enum alarm_missing m;
	ck_assert_str_eq(alarm_state_name(ALARM_OK), "OK");
	ck_assert_str_eq(alarm_state_name(ALARM_ALARM), "ALARM");
	ck_assert_str_eq(alarm_state_name(ALARM_INSUFFICIENT_DATA), "INSUFFICIENT_DATA");
	const char *cmps[] = { "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold",
			       "LessThanOrEqualToThreshold" };
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(alarm_cmp_parse(cmps[i], &c), 0);
		ck_assert_int_eq(c, i);
		ck_assert_str_eq(alarm_cmp_name(c), cmps[i]);
	}
	const char *ms[] = { "missing", "ignore", "breaching", "notBreaching" };
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(alarm_missing_parse(ms[i], &m), 0);
		ck_assert_int_eq(m, i);
		ck_assert_str_eq(alarm_missing_name(m), ms[i]);
	}
	ck_assert_int_eq(alarm_cmp_parse("greaterthanthreshold", &c), -1);
	ck_assert_int_eq(alarm_cmp_parse("LessThanLowerOrGreaterThanUpperThreshold", &c), -1);
	ck_assert_int_eq(alarm_cmp_parse(NULL, &c), -1);
	ck_assert_int_eq(alarm_missing_parse("NotBreaching", &m), -1);
	ck_assert_int_eq(alarm_missing_parse("", &m), -1);
	ck_assert_str_eq(alarm_cmp_name((enum alarm_cmp)9), "?");
}
END_TEST

/* bad input ---------------------------------------------------------------------- */

START_TEST(test_refused)
{
	struct alarm_point p[5];
	struct alarm_result r;
	size_t n = pattern("0 0 X X X", 60, p);
	struct alarm_def ok = mkdef(60, 3, 2, ALARM_CMP_GT, 10, ALARM_MISSING_MISSING), d;

	ck_assert_uint_eq(alarm_eval_range(&ok), 5);
	d = ok, d.evaluation_periods = 0, d.datapoints_to_alarm = 0;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, n, BASE, &r), -1);
	ck_assert_ptr_null(r.reason_data);
	ck_assert_uint_eq(alarm_eval_range(&d), 0);
	d = ok, d.datapoints_to_alarm = 4;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, n, BASE, &r), -1);
	/* DatapointsToAlarm not set: M = N */
	d = ok, d.datapoints_to_alarm = 0;
	ck_assert_int_eq(eval(&d, ALARM_OK, p, n, &r), ALARM_ALARM);
	alarm_result_free(&r);
	p[2].v = 0;
	ck_assert_int_eq(eval(&d, ALARM_OK, p, n, &r), ALARM_OK);
	alarm_result_free(&r);
	n = pattern("0 0 X X X", 60, p);
	d = ok, d.period = 0;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, n, BASE, &r), -1);
	d = ok, d.threshold = NAN;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, n, BASE, &r), -1);
	d = ok, d.cmp = (enum alarm_cmp)7;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, n, BASE, &r), -1);
	d = ok, d.missing = (enum alarm_missing)7;
	ck_assert_int_eq(alarm_evaluate(&d, ALARM_OK, p, n, BASE, &r), -1);
	ck_assert_int_eq(alarm_evaluate(NULL, ALARM_OK, p, n, BASE, &r), -1);
	ck_assert_int_eq(alarm_evaluate(&ok, ALARM_OK, p, 0, BASE, &r), -1);
	ck_assert_int_eq(alarm_evaluate(&ok, ALARM_OK, NULL, 3, BASE, &r), -1);
	ck_assert_int_eq(alarm_evaluate(&ok, ALARM_OK, p, n, BASE, NULL), -1);
	ck_assert_uint_eq(alarm_eval_range(NULL), 0);
	/* not aligned */
	p[4].t += 1;
	ck_assert_int_eq(alarm_evaluate(&ok, ALARM_OK, p, n, BASE, &r), -1);
	/* not consecutive */
	n = pattern("0 0 X X X", 60, p);
	p[4].t += 60;
	ck_assert_int_eq(alarm_evaluate(&ok, ALARM_OK, p, n, BASE, &r), -1);
	/* out of order */
	n = pattern("0 0 X X X", 60, p);
	p[3].t = p[4].t, p[4].t -= 60;
	ck_assert_int_eq(alarm_evaluate(&ok, ALARM_OK, p, n, BASE, &r), -1);
	/* and it still works */
	n = pattern("0 0 X X X", 60, p);
	ck_assert_int_eq(eval(&ok, ALARM_OK, p, n, &r), ALARM_ALARM);
	alarm_result_free(&r);
	alarm_result_free(NULL);
}
END_TEST

/* NaN and infinite values are missing datapoints. */
START_TEST(test_nan_is_missing)
{
	struct alarm_point p[3];
	struct alarm_result r;
	struct alarm_def d = mkdef(60, 1, 1, ALARM_CMP_GT, 10, ALARM_MISSING_MISSING);
	size_t n = pattern("X X X", 60, p);
	for (int i = 0; i < 3; i++)
		p[i].v = i == 1 ? INFINITY : NAN;
	ck_assert_int_eq(eval(&d, ALARM_OK, p, n, &r), ALARM_INSUFFICIENT_DATA);
	ck_assert_str_eq(r.reason, "Insufficient Data: 3 datapoints were unknown.");
	ck_assert_ptr_null(strstr(r.reason_data, "nan"));
	ck_assert_ptr_null(strstr(r.reason_data, "Infinity"));
	alarm_result_free(&r);
	d.missing = ALARM_MISSING_BREACHING;
	ck_assert_int_eq(eval(&d, ALARM_OK, p, n, &r), ALARM_ALARM);
	alarm_result_free(&r);
	/* a real point older than the NaN one is used */
	n = pattern("- 0 X", 60, p);
	p[2].v = NAN;
	d.missing = ALARM_MISSING_MISSING;
	ck_assert_int_eq(eval(&d, ALARM_ALARM, p, n, &r), ALARM_OK);
	alarm_result_free(&r);
}
END_TEST

/* A long reason is cut inside the buffer; the JSON still lists every point. */
START_TEST(test_long_reason)
{
	static struct alarm_point p[200];
	struct alarm_result r;
	struct alarm_def d = mkdef(60, 150, 100, ALARM_CMP_GT, 10, ALARM_MISSING_MISSING);
	d.statistic = "p99 \"quoted\"\n";
	for (int i = 0; i < 152; i++)
		p[i] = (struct alarm_point){ BASE - (151 - i) * 60, 1, 123.456789 + i, 3 };
	ck_assert_int_eq(eval(&d, ALARM_OK, p, 152, &r), ALARM_ALARM);
	ck_assert_uint_lt(strlen(r.reason), sizeof r.reason);
	ck_assert(strncmp(r.reason, "Threshold Crossed: 150 out of the last 150 datapoints [", 55) == 0);
	json_t *j = json_loads(r.reason_data, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "evaluatedDatapoints")), 150);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "recentDatapoints")), 150);
	ck_assert_str_eq(json_string_value(json_object_get(j, "statistic")), "p99 \"quoted\"\n");
	json_decref(j);
	alarm_result_free(&r);
}
END_TEST

/* Random series: the result is always well-formed, and with at least N real
 * points the treatment of missing data does not matter. */
START_TEST(test_random)
{
	unsigned seed = 12345;
	for (int iter = 0; iter < 3000; iter++) {
		struct alarm_point p[12];
		seed = seed * 1103515245u + 12345u;
		unsigned nn = 1 + (seed >> 16) % 5;
		seed = seed * 1103515245u + 12345u;
		unsigned m = 1 + (seed >> 16) % nn;
		size_t n = nn + 2, real = 0;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			unsigned x = (seed >> 16) % 3;
			p[i] = (struct alarm_point){ BASE - (int64_t)(n - 1 - i) * 60, x != 2, x ? 20.0 : 0.0, 0 };
			real += x != 2;
		}
		enum alarm_state first = ALARM_OK;
		for (int mode = 0; mode < 4; mode++) {
			struct alarm_def d = mkdef(60, nn, m, ALARM_CMP_GE, 10, (enum alarm_missing)mode);
			struct alarm_result r;
			enum alarm_state s = eval(&d, ALARM_OK, p, n, &r);
			ck_assert_int_le(s, ALARM_INSUFFICIENT_DATA);
			if (real >= nn) {
				if (mode == 0)
					first = s;
				ck_assert_int_eq(s, first);
			}
			if (mode == ALARM_MISSING_BREACHING || mode == ALARM_MISSING_NOT_BREACHING)
				ck_assert_int_ne(s, ALARM_INSUFFICIENT_DATA);
			alarm_result_free(&r);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alarm_eval");
	TCase *tc = tcase_create("missing data");
	tcase_add_loop_test(tc, test_missing_data_table, 0, (int)(sizeof table / sizeof table[0]));
	tcase_add_test(tc, test_second_row_next_evaluation);
	suite_add_tcase(s, tc);

	tc = tcase_create("evaluation");
	tcase_add_test(tc, test_m_out_of_n);
	tcase_add_test(tc, test_comparisons);
	suite_add_tcase(s, tc);

	tc = tcase_create("reasons");
	tcase_add_test(tc, test_reason_alarm_to_ok_real);
	tcase_add_test(tc, test_reason_one_of_one_real);
	tcase_add_test(tc, test_reason_user_guide_example);
	tcase_add_test(tc, test_reason_two_of_three);
	tcase_add_test(tc, test_reason_insufficient_real);
	tcase_add_test(tc, test_reason_missing_treated);
	tcase_add_test(tc, test_reason_short_form_real);
	suite_add_tcase(s, tc);

	tc = tcase_create("values and names");
	tcase_add_test(tc, test_format_value);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad input");
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_nan_is_missing);
	tcase_add_test(tc, test_long_reason);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
