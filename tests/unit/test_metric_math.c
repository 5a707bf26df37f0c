/* test_metric_math.c - src/control/metric_math.c: the parser, each operator
 * and function with CloudWatch's meaning (the user guide's own examples
 * where it has them), the error messages, and random input. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/metric_math.h"

/* the series the expressions read ------------------------------------------ */

struct fixture {
	const char *id;
	struct mm_series s;
	struct mm_value val; /* what the lookup gives: S, labelled with the id */
};

#define MAXFIX 16
static struct fixture fix[MAXFIX];
static size_t nfix;
static int64_t fix_t[MAXFIX][64];
static double fix_v[MAXFIX][64];

/* Add (or replace) series ID with N points. */
static void put(const char *id, size_t n, const int64_t *t, const double *v)
{
	size_t i;
	for (i = 0; i < nfix; i++)
		if (!strcmp(fix[i].id, id))
			break;
	ck_assert_uint_lt(i, MAXFIX);
	ck_assert_uint_le(n, 64);
	if (i == nfix)
		nfix++;
	fix[i].id = id;
	memcpy(fix_t[i], t, n * sizeof *t);
	memcpy(fix_v[i], v, n * sizeof *v);
	fix[i].s = (struct mm_series){ n, fix_t[i], fix_v[i] };
	fix[i].val = (struct mm_value){ 0, 1, &fix[i].s, &fix[i].id };
}

/* "arr": an array-valued expression's result, [m1, s] (labels "m1", "s") */
static struct mm_series arr_ser[2];
static const char *arr_lab[2];
static struct mm_value arr_val = { 1, 2, arr_ser, arr_lab };

static const struct mm_value *lookup(void *arg, const char *id)
{
	(void)arg;
	if (!strcmp(id, "arr")) {
		for (size_t i = 0; i < nfix; i++) {
			if (!strcmp(fix[i].id, "m1")) {
				arr_ser[0] = fix[i].s;
				arr_lab[0] = fix[i].id;
			} else if (!strcmp(fix[i].id, "s")) {
				arr_ser[1] = fix[i].s;
				arr_lab[1] = fix[i].id;
			}
		}
		return &arr_val;
	}
	for (size_t i = 0; i < nfix; i++)
		if (!strcmp(fix[i].id, id))
			return &fix[i].val;
	return NULL;
}

/* The label lookup() gives id ID (the fixture's own string: labels are
 * compared as pointers). */
static const char *label_of(const char *id)
{
	for (size_t i = 0; i < nfix; i++)
		if (!strcmp(fix[i].id, id))
			return fix[i].id;
	ck_abort_msg("no fixture %s", id);
	return NULL;
}

/* The usual fixtures, on 60 s periods:
 *   m1    0:10  60:20  120:30  180:40
 *   m2          60:1   120:0          240:5
 *   zero  0:0   60:0
 *   empty (no points)
 *   a, b  the guide's comparison example: a [30, 20, 0, 0], b [20, -, 20, -]
 *   c, x, y the guide's IF example: c [1, 1, 0, 0, -], x [30, -, 0, 0, 30],
 *         y [0, 0, 20, -, 20]
 *   s     sparse: 60:1 180:3 */
static void setup(void)
{
	nfix = 0;
	put("m1", 4, (int64_t[]){ 0, 60, 120, 180 }, (double[]){ 10, 20, 30, 40 });
	put("m2", 3, (int64_t[]){ 60, 120, 240 }, (double[]){ 1, 0, 5 });
	put("zero", 2, (int64_t[]){ 0, 60 }, (double[]){ 0, 0 });
	put("empty", 0, (int64_t[]){ 0 }, (double[]){ 0 });
	put("a", 4, (int64_t[]){ 0, 60, 120, 180 }, (double[]){ 30, 20, 0, 0 });
	put("b", 2, (int64_t[]){ 0, 120 }, (double[]){ 20, 20 });
	put("c", 4, (int64_t[]){ 0, 60, 120, 180 }, (double[]){ 1, 1, 0, 0 });
	put("x", 4, (int64_t[]){ 0, 120, 180, 240 }, (double[]){ 30, 0, 0, 30 });
	put("y", 4, (int64_t[]){ 0, 60, 120, 240 }, (double[]){ 0, 0, 20, 20 });
	put("s", 2, (int64_t[]){ 60, 180 }, (double[]){ 1, 3 });
}

static const char *const all2[] = { "m1", "m2" };

static int64_t q_start = 0, q_end = 300;
static unsigned q_period = 60;

/* Parse and evaluate TEXT over [q_start, q_end) with METRICS() = m1, m2.
 * Returns mm_eval's result; the message lands in ERR. */
static int run_value(const char *text, struct mm_value *out, char *err, size_t errlen)
{
	char perr[256];
	struct mm_expr *e = mm_parse(text, perr, sizeof perr);
	if (!e)
		ck_abort_msg("parse of \"%s\" failed: %s", text, perr);
	int rc = mm_eval(e, lookup, NULL, all2, 2, q_start, q_end, q_period, out, err, errlen);
	mm_free(e);
	return rc;
}

/* run_value() for an expression whose result is one series: into OUT
 * (the caller's, mm_series_free()). */
static int run(const char *text, struct mm_series *out, char *err, size_t errlen)
{
	struct mm_value v;
	int rc = run_value(text, &v, err, errlen);
	memset(out, 0, sizeof *out);
	if (rc == 0) {
		ck_assert_msg(!v.array && v.n == 1, "\"%s\": an array of %zu series, not one", text, v.n);
		*out = v.ser[0];
		v.n = 0;
	} else {
		ck_assert_uint_eq(v.n, 0);
		ck_assert_ptr_null(v.ser);
	}
	mm_value_free(&v);
	return rc;
}

/* S must be exactly the N points T/V. */
static void check_points(const char *text, const struct mm_series *s, size_t n, const int64_t *t,
			 const double *v)
{
	ck_assert_msg(s->n == n, "\"%s\": %zu points, expected %zu", text, s->n, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(s->t[i] == t[i], "\"%s\": point %zu at %lld, expected %lld", text, i,
			      (long long)s->t[i], (long long)t[i]);
		ck_assert_msg(fabs(s->v[i] - v[i]) <= 1e-9 * (1 + fabs(v[i])),
			      "\"%s\": point %zu is %g, expected %g", text, i, s->v[i], v[i]);
	}
}

/* TEXT must give exactly the N points T/V. */
static void expect(const char *text, size_t n, const int64_t *t, const double *v)
{
	struct mm_series out;
	char err[256];
	int rc = run(text, &out, err, sizeof err);
	ck_assert_msg(rc == 0, "\"%s\": %s", text, err);
	check_points(text, &out, n, t, v);
	mm_series_free(&out);
}

#define EXPECT(text, n, T, V) expect(text, n, (int64_t[])T, (double[])V)
#define L(...) { __VA_ARGS__ }

/* TEXT, a number, as TIME_SERIES(TEXT) over one period gives one point:
 * its value (NaN when there is no point). */
static double scalar(const char *text)
{
	struct mm_series out;
	char err[256], ts[2100];
	int64_t s = q_start, e = q_end;
	q_start = 0;
	q_end = 60;
	snprintf(ts, sizeof ts, "TIME_SERIES(%s)", text);
	int rc = run(ts, &out, err, sizeof err);
	q_start = s;
	q_end = e;
	ck_assert_msg(rc == 0, "\"%s\": %s", text, err);
	ck_assert_uint_le(out.n, 1);
	double v = out.n ? out.v[0] : NAN;
	if (out.n)
		ck_assert_int_eq(out.t[0], 0);
	mm_series_free(&out);
	return v;
}

#define ck_assert_scalar(text, want) \
	ck_assert_msg(fabs(scalar(text) - (want)) < 1e-9, "\"%s\" = %g, expected %g", text, scalar(text), \
		      (double)(want))

/* The parse error of TEXT (which must fail). */
static const char *parse_error(const char *text)
{
	static char err[256];
	struct mm_expr *e = mm_parse(text, err, sizeof err);
	ck_assert_msg(e == NULL, "\"%s\" parsed", text);
	return err;
}

#define ck_assert_parse_error(text, msg) \
	ck_assert_msg(!strcmp(parse_error(text), msg), "\"%s\": \"%s\", expected \"%s\"", text, \
		      parse_error(text), msg)

/* The evaluation error of TEXT (which must parse and fail). */
static const char *eval_error(const char *text)
{
	static char err[256];
	struct mm_series out;
	int rc = run(text, &out, err, sizeof err);
	ck_assert_msg(rc == -1, "\"%s\" evaluated", text);
	ck_assert_uint_eq(out.n, 0);
	ck_assert_ptr_null(out.t);
	return err;
}

#define ck_assert_eval_error(text, msg) \
	ck_assert_msg(!strcmp(eval_error(text), msg), "\"%s\": \"%s\", expected \"%s\"", text, \
		      eval_error(text), msg)

/* arithmetic --------------------------------------------------------------- */

START_TEST(test_operators)
{
	ck_assert_scalar("2+3", 5);
	ck_assert_scalar("7-2", 5);
	ck_assert_scalar("3*4", 12);
	ck_assert_scalar("8/2", 4);
	ck_assert_scalar("2^10", 1024);
	ck_assert_scalar("-5", -5);
	ck_assert_scalar("42", 42);
}
END_TEST

START_TEST(test_precedence)
{
	ck_assert_scalar("2+3*4", 14);
	ck_assert_scalar("2*3+4", 10);
	ck_assert_scalar("10-4-3", 3);
	ck_assert_scalar("8/4/2", 1);
	ck_assert_scalar("-2*3", -6);
	ck_assert_scalar("2*-3", -6);
	ck_assert_scalar("--2", 2);
	ck_assert_scalar("-2^2", -4);
	ck_assert_scalar("2^3^2", 512);
	ck_assert_scalar("2^-1", 0.5);
	ck_assert_scalar("(2+3)*4", 20);
	ck_assert_scalar("2*(3+4)*5", 70);
	ck_assert_scalar("((((1))))", 1);
	ck_assert_scalar("10-(4-3)", 9);
	ck_assert_scalar("1 + 2 < 4", 1);
	ck_assert_scalar("1 < 2 AND 3 > 4", 0);
	ck_assert_scalar("1 || 0 && 0", 1);
	ck_assert_scalar("0 OR 1 AND 1", 1);
	ck_assert_scalar("(1 || 0) && 0", 0);
}
END_TEST

START_TEST(test_numbers_and_spaces)
{
	ck_assert_scalar("1e3", 1000);
	ck_assert_scalar("0.5", 0.5);
	ck_assert_scalar(".5", 0.5);
	ck_assert_scalar("2.5E-1", 0.25);
	ck_assert_scalar("1E+2", 100);
	ck_assert_scalar("7.", 7);
	ck_assert_scalar(" \t1 +\n 2\r\n ", 3);
	ck_assert_scalar("( 2 )*( 3 )", 6);
	EXPECT("  m1\t*\n2  ", 4, L(0, 60, 120, 180), L(20, 40, 60, 80));
}
END_TEST

START_TEST(test_comparisons_and_logic)
{
	ck_assert_scalar("1 < 2", 1);
	ck_assert_scalar("2 < 2", 0);
	ck_assert_scalar("2 <= 2", 1);
	ck_assert_scalar("3 <= 2", 0);
	ck_assert_scalar("3 > 2", 1);
	ck_assert_scalar("2 > 2", 0);
	ck_assert_scalar("2 >= 2", 1);
	ck_assert_scalar("1 >= 2", 0);
	ck_assert_scalar("2 == 2", 1);
	ck_assert_scalar("2 == 3", 0);
	ck_assert_scalar("2 != 3", 1);
	ck_assert_scalar("2 != 2", 0);
	ck_assert_scalar("1 AND 0", 0);
	ck_assert_scalar("2 && -1", 1);
	ck_assert_scalar("0 OR 0", 0);
	ck_assert_scalar("0 || 3", 1);
	/* the guide: metric1 [30, 20, 0, 0], metric2 [20, -, 20, -] */
	EXPECT("(a < b)", 4, L(0, 60, 120, 180), L(0, 0, 1, 0));
	EXPECT("(a >= 30)", 4, L(0, 60, 120, 180), L(1, 0, 0, 0));
	EXPECT("(a > 15 AND b > 15)", 4, L(0, 60, 120, 180), L(1, 0, 0, 0));
	EXPECT("a > 15 && b > 15", 4, L(0, 60, 120, 180), L(1, 0, 0, 0));
	EXPECT("a < 10 || b > 15", 4, L(0, 60, 120, 180), L(1, 0, 1, 1));
	EXPECT("a == 0", 4, L(0, 60, 120, 180), L(0, 0, 1, 1));
	EXPECT("a != 0", 4, L(0, 60, 120, 180), L(1, 1, 0, 0));
	EXPECT("25 > a", 4, L(0, 60, 120, 180), L(0, 1, 1, 1));
}
END_TEST

START_TEST(test_series_and_scalars)
{
	EXPECT("m1", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("m1 * 2", 4, L(0, 60, 120, 180), L(20, 40, 60, 80));
	EXPECT("2 * m1", 4, L(0, 60, 120, 180), L(20, 40, 60, 80));
	EXPECT("m1 - 5", 4, L(0, 60, 120, 180), L(5, 15, 25, 35));
	EXPECT("50 - m1", 4, L(0, 60, 120, 180), L(40, 30, 20, 10));
	EXPECT("m1 / 10", 4, L(0, 60, 120, 180), L(1, 2, 3, 4));
	EXPECT("100 / m1", 4, L(0, 60, 120, 180), L(10, 5, 100.0 / 30, 2.5));
	EXPECT("m1 ^ 2", 4, L(0, 60, 120, 180), L(100, 400, 900, 1600));
	EXPECT("(m1 + 2) * 3", 4, L(0, 60, 120, 180), L(36, 66, 96, 126));
	EXPECT("m1 + 2 * 3", 4, L(0, 60, 120, 180), L(16, 26, 36, 46));
	EXPECT("-m1", 4, L(0, 60, 120, 180), L(-10, -20, -30, -40));
	EXPECT("--m1", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("-m1 + 50", 4, L(0, 60, 120, 180), L(40, 30, 20, 10));
	EXPECT("-(m1 - 25)", 4, L(0, 60, 120, 180), L(15, 5, -5, -15));
	EXPECT("m1 - m1", 4, L(0, 60, 120, 180), L(0, 0, 0, 0));
}
END_TEST

/* "Missing values in a time series are treated as 0": an operation on two
 * series covers the timestamps of either. */
START_TEST(test_different_timestamps)
{
	EXPECT("m1 + m2", 5, L(0, 60, 120, 180, 240), L(10, 21, 30, 40, 5));
	EXPECT("m1 - m2", 5, L(0, 60, 120, 180, 240), L(10, 19, 30, 40, -5));
	EXPECT("m2 - m1", 5, L(0, 60, 120, 180, 240), L(-10, -19, -30, -40, 5));
	EXPECT("m1 * m2", 5, L(0, 60, 120, 180, 240), L(0, 20, 0, 0, 0));
	EXPECT("m1 + empty", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("empty * 3", 0, L(0), L(0));
	/* series whose timestamps do not overlap at all */
	put("p", 2, (int64_t[]){ 0, 120 }, (double[]){ 1, 2 });
	put("q", 2, (int64_t[]){ 60, 180 }, (double[]){ 10, 20 });
	EXPECT("p + q", 4, L(0, 60, 120, 180), L(1, 10, 2, 20));
}
END_TEST

START_TEST(test_division_by_zero)
{
	ck_assert(isnan(scalar("1/0")));
	ck_assert(isnan(scalar("0/0")));
	ck_assert(isnan(scalar("5 + 1/0")));
	EXPECT("m1 / 0", 0, L(0), L(0));
	EXPECT("m1 / zero", 0, L(0), L(0));
	/* m2 is missing (0) at 0 and 180, 0 at 120; m1 missing (0) at 240 */
	EXPECT("m1 / m2", 2, L(60, 240), L(20, 0));
	EXPECT("m1 / (m1 - 20)", 3, L(0, 120, 180), L(-1, 3, 2));
	EXPECT("m1 / (2 - 2)", 0, L(0), L(0));
	/* overflow and NaN are dropped as well: no infinity, no NaN */
	EXPECT("m1 * 1e308 * 10", 0, L(0), L(0));
	EXPECT("(m1 - 25) ^ 0.5", 2, L(120, 180), L(sqrt(5), sqrt(15)));
}
END_TEST

/* The example: a 5XX rate in percent. */
START_TEST(test_5xx_rate)
{
	put("requests", 4, (int64_t[]){ 0, 60, 120, 180 }, (double[]){ 200, 400, 0, 50 });
	put("errors", 3, (int64_t[]){ 0, 120, 180 }, (double[]){ 10, 3, 50 });
	/* 60: no 5XX stored, 0 %; 120: no request, no datapoint */
	expect("100 * errors / requests", 3, (int64_t[]){ 0, 60, 180 }, (double[]){ 5, 0, 100 });
	put("m1", 3, (int64_t[]){ 0, 60, 120 }, (double[]){ 1000, 2000, 10 });
	put("m2", 3, (int64_t[]){ 0, 60, 120 }, (double[]){ 5, 1, 10 });
	EXPECT("100 * m2 / m1", 3, L(0, 60, 120), L(0.5, 0.05, 100));
	EXPECT("100*m2/m1", 3, L(0, 60, 120), L(0.5, 0.05, 100));
}
END_TEST

/* functions ------------------------------------------------------------------ */

START_TEST(test_aggregates_of_one_series)
{
	/* a scalar: a final result only through TIME_SERIES(), at every period */
	ck_assert_scalar("SUM(m1)", 100);
	ck_assert_scalar("AVG(m1)", 25);
	ck_assert_scalar("MIN(m1)", 10);
	ck_assert_scalar("MAX(m1)", 40);
	EXPECT("TIME_SERIES(SUM(m1))", 5, L(0, 60, 120, 180, 240), L(100, 100, 100, 100, 100));
	EXPECT("m1 - AVG(m1)", 4, L(0, 60, 120, 180), L(-15, -5, 5, 15));
	EXPECT("m1 / MAX(m1)", 4, L(0, 60, 120, 180), L(0.25, 0.5, 0.75, 1));
	EXPECT("TIME_SERIES(SUM(m1) / SUM(m2))", 5, L(0, 60, 120, 180, 240),
	       L(100.0 / 6, 100.0 / 6, 100.0 / 6, 100.0 / 6, 100.0 / 6));
	ck_assert_scalar("MIN(m1 + m2)", 5);
	/* no datapoint: AVG, MIN and MAX have no value, SUM is 0 */
	EXPECT("m1 - AVG(empty)", 0, L(0), L(0));
	EXPECT("m1 + MIN(empty)", 0, L(0), L(0));
	EXPECT("m1 + SUM(empty)", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("TIME_SERIES(SUM(empty) + 1)", 5, L(0, 60, 120, 180, 240), L(1, 1, 1, 1, 1));
	EXPECT("TIME_SERIES(7)", 5, L(0, 60, 120, 180, 240), L(7, 7, 7, 7, 7));
}
END_TEST

START_TEST(test_aggregates_of_arrays)
{
	/* m1 0:10 60:20 120:30 180:40; m2 60:1 120:0 240:5 */
	EXPECT("SUM([m1, m2])", 5, L(0, 60, 120, 180, 240), L(10, 21, 30, 40, 5));
	/* AVG: "Missing values are treated as 0" */
	EXPECT("AVG([m1, m2])", 5, L(0, 60, 120, 180, 240), L(5, 10.5, 15, 20, 2.5));
	/* MIN and MAX: of the values present */
	EXPECT("MIN([m1, m2])", 5, L(0, 60, 120, 180, 240), L(10, 1, 0, 40, 5));
	EXPECT("MAX([m1, m2])", 5, L(0, 60, 120, 180, 240), L(10, 20, 30, 40, 5));
	EXPECT("MAX([m1])", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("SUM([m1, m1, m1])", 4, L(0, 60, 120, 180), L(30, 60, 90, 120));
	EXPECT("SUM([m1, m2 * 10])", 5, L(0, 60, 120, 180, 240), L(10, 30, 30, 40, 50));
	/* operators on arrays, as in the guide's SUM(-[m1, m2]), AVG([m1,m2]/m3) */
	EXPECT("SUM(-[m1, m2])", 5, L(0, 60, 120, 180, 240), L(-10, -21, -30, -40, -5));
	EXPECT("SUM([m1, m2] * 2)", 5, L(0, 60, 120, 180, 240), L(20, 42, 60, 80, 10));
	EXPECT("SUM(100 / [m1, m2])", 5, L(0, 60, 120, 180, 240), L(10, 105, 100.0 / 30, 2.5, 20));
	EXPECT("MAX([m1, m2] / zero)", 0, L(0), L(0));
	EXPECT("SUM([m1, m2]) - (m1 + m2)", 5, L(0, 60, 120, 180, 240), L(0, 0, 0, 0, 0));
	EXPECT("SUM([empty, empty])", 0, L(0), L(0));
}
END_TEST

START_TEST(test_metrics)
{
	EXPECT("SUM(METRICS())", 5, L(0, 60, 120, 180, 240), L(10, 21, 30, 40, 5));
	EXPECT("AVG(METRICS())", 5, L(0, 60, 120, 180, 240), L(5, 10.5, 15, 20, 2.5));
	EXPECT("SUM(METRICS() / 10)", 5, L(0, 60, 120, 180, 240), L(1, 2.1, 3, 4, 0.5));
	EXPECT("SUM(METRICS(\"1\"))", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("SUM(METRICS(\"m\"))", 5, L(0, 60, 120, 180, 240), L(10, 21, 30, 40, 5));
	EXPECT("SUM(METRICS(\"nothing\"))", 0, L(0), L(0));
	EXPECT("SUM([METRICS(\"1\"), METRICS(\"2\")])", 5, L(0, 60, 120, 180, 240), L(10, 21, 30, 40, 5));
	EXPECT("MAX(METRICS()) - MIN(METRICS())", 5, L(0, 60, 120, 180, 240), L(0, 19, 30, 0, 0));

	/* mm_ids: each id once, METRICS() sets all */
	char err[128];
	struct mm_expr *e = mm_parse("m1 + m2 * m1 - SUM(METRICS()) + errors", err, sizeof err);
	ck_assert_ptr_nonnull(e);
	const char *const *ids;
	int all = 0;
	ck_assert_uint_eq(mm_ids(e, &ids, &all), 3);
	ck_assert_str_eq(ids[0], "m1");
	ck_assert_str_eq(ids[1], "m2");
	ck_assert_str_eq(ids[2], "errors");
	ck_assert_int_eq(all, 1);
	mm_free(e);
	e = mm_parse("42", err, sizeof err);
	ck_assert_ptr_nonnull(e);
	all = 1;
	ck_assert_uint_eq(mm_ids(e, &ids, &all), 0);
	ck_assert_int_eq(all, 0);
	mm_free(e);
}
END_TEST

START_TEST(test_fill)
{
	/* s: 60:1 180:3; the query's periods: 0 60 120 180 240 */
	EXPECT("FILL(s, 0)", 5, L(0, 60, 120, 180, 240), L(0, 1, 0, 3, 0));
	EXPECT("FILL(s, -2.5)", 5, L(0, 60, 120, 180, 240), L(-2.5, 1, -2.5, 3, -2.5));
	/* the value is any expression that gives a scalar */
	EXPECT("FILL(s, 2 * 3)", 5, L(0, 60, 120, 180, 240), L(6, 1, 6, 3, 6));
	EXPECT("FILL(s, MAX(m1))", 5, L(0, 60, 120, 180, 240), L(40, 1, 40, 3, 40));
	EXPECT("FILL(s, TIME_SERIES(2))", 5, L(0, 60, 120, 180, 240), L(2, 1, 2, 3, 2));
	EXPECT("FILL(s, AVG(empty))", 2, L(60, 180), L(1, 3));
	/* a series: its value at that timestamp, when it has one */
	EXPECT("FILL(s, m1)", 4, L(0, 60, 120, 180), L(10, 1, 30, 3));
	/* REPEAT: the latest value before the gap; nothing before the first */
	EXPECT("FILL(s, REPEAT)", 4, L(60, 120, 180, 240), L(1, 1, 3, 3));
	/* LINEAR: between the values on either side of the gap */
	EXPECT("FILL(s, LINEAR)", 3, L(60, 120, 180), L(1, 2, 3));
	put("w", 2, (int64_t[]){ 0, 240 }, (double[]){ 0, 8 });
	EXPECT("FILL(w, LINEAR)", 5, L(0, 60, 120, 180, 240), L(0, 2, 4, 6, 8));
	/* used in an expression */
	EXPECT("FILL(s, 0) * 2 + 1", 5, L(0, 60, 120, 180, 240), L(1, 3, 1, 7, 1));
	EXPECT("FILL(empty, 5)", 5, L(0, 60, 120, 180, 240), L(5, 5, 5, 5, 5));
	/* arrays */
	EXPECT("SUM(FILL(METRICS(), 0))", 5, L(0, 60, 120, 180, 240), L(10, 21, 30, 40, 5));
	EXPECT("MIN(FILL(METRICS(), 0))", 5, L(0, 60, 120, 180, 240), L(0, 1, 0, 0, 0));
	EXPECT("MIN(FILL([m1, s], REPEAT))", 5, L(0, 60, 120, 180, 240), L(10, 1, 1, 3, 3));

	/* the periods are start + k period within [start, end) (the caller
	 * passes where the queries' periods begin, store_period_origin()) */
	q_start = 60;
	q_end = 250;
	EXPECT("FILL(s, 0)", 4, L(60, 120, 180, 240), L(1, 0, 3, 0));
	q_start = 30;
	EXPECT("FILL(empty, 9)", 4, L(30, 90, 150, 210), L(9, 9, 9, 9));
	q_start = 61;
	q_end = 180;
	EXPECT("FILL(empty, 9)", 2, L(61, 121), L(9, 9));
	q_start = 0;
	q_end = 600;
	q_period = 300;
	EXPECT("FILL(empty, 9)", 2, L(0, 300), L(9, 9));
	q_start = -120;
	q_end = 60;
	q_period = 60;
	EXPECT("FILL(empty, 1)", 3, L(-120, -60, 0), L(1, 1, 1));
	q_start = 100;
	q_end = 100;
	EXPECT("FILL(empty, 1)", 0, L(0), L(0));
	q_start = 0;
	q_end = 300;
}
END_TEST

START_TEST(test_if)
{
	/* the guide's tables: c [1, 1, 0, 0, -], x [30, -, 0, 0, 30], y [0, 0, 20, -, 20] */
	EXPECT("IF(c, x, y)", 3, L(0, 60, 120), L(30, 0, 20));
	EXPECT("IF(c, 5, y)", 3, L(0, 60, 120), L(5, 5, 20));
	EXPECT("IF(c, x, 5)", 4, L(0, 60, 120, 180), L(30, 0, 5, 5));
	EXPECT("IF(c, x)", 2, L(0, 60), L(30, 0));
	/* with comparisons: the guide's use cases */
	EXPECT("IF(m1 < 25, m1)", 2, L(0, 60), L(10, 20));
	EXPECT("IF(m1<25, 10, 2)", 4, L(0, 60, 120, 180), L(10, 10, 2, 2));
	EXPECT("IF(m1 > 15 AND m1 < 35, 1, 0)", 4, L(0, 60, 120, 180), L(0, 1, 1, 0));
	EXPECT("IF(m1 >= 20, m1 * 2, -m1)", 4, L(0, 60, 120, 180), L(-10, 40, 60, 80));
	EXPECT("IF(m1 == 30, m1)", 1, L(120), L(30));
	EXPECT("IF(m1 != 30, m1)", 3, L(0, 60, 180), L(10, 20, 40));
	/* a nonzero value, negative too, is true */
	put("neg", 2, (int64_t[]){ 0, 60 }, (double[]){ -1, 0 });
	EXPECT("IF(neg, 1, 2)", 2, L(0, 60), L(1, 2));
	/* a scalar condition picks a whole argument */
	EXPECT("IF(1, m1, m2)", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("IF(0, m1, m2)", 3, L(60, 120, 240), L(1, 0, 5));
	EXPECT("IF(2 > 1, m1)", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("IF(0, m1)", 0, L(0), L(0));
	EXPECT("IF(AVG(m1) > 20, m1, m2)", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("IF(1/0, m1)", 0, L(0), L(0));
	/* nested */
	EXPECT("IF(m1 < 15, 1, IF(m1 < 35, 2, 3))", 4, L(0, 60, 120, 180), L(1, 2, 2, 3));
	EXPECT("SUM([IF(c, x), y])", 4, L(0, 60, 120, 240), L(30, 0, 20, 20));
}
END_TEST

/* errors ---------------------------------------------------------------------- */

START_TEST(test_parse_errors)
{
	ck_assert_parse_error("", "empty expression");
	ck_assert_parse_error("  \t\n", "empty expression");
	ck_assert_parse_error("(m1 + 2", "missing ')' for the '(' at column 1");
	ck_assert_parse_error("((m1 + 2)", "missing ')' for the '(' at column 1");
	ck_assert_parse_error("m1 + 2)", "unexpected ')' at column 7");
	ck_assert_parse_error("(m1 + 2))", "unexpected ')' at column 9");
	ck_assert_parse_error(")", "unexpected ')' at column 1");
	ck_assert_parse_error("()", "unexpected ')' at column 2");
	ck_assert_parse_error("m1 +", "unexpected end of expression at column 5");
	ck_assert_parse_error("m1 * ", "unexpected end of expression at column 6");
	ck_assert_parse_error("m1 * / 2", "unexpected '/' at column 6");
	ck_assert_parse_error("* m1", "unexpected '*' at column 1");
	ck_assert_parse_error("1 2", "unexpected '2' at column 3");
	ck_assert_parse_error("m1 m2", "unexpected 'm2' at column 4");
	ck_assert_parse_error("FOO(m1)", "unknown function FOO at column 1");
	ck_assert_parse_error("m1 + BAR(2)", "unknown function BAR at column 6");
	ck_assert_parse_error("sum(m1)",
			      "unknown function sum (function names are uppercase: SUM) at column 1");
	ck_assert_parse_error("foo(m1)", "unknown function foo at column 1");
	ck_assert_parse_error("M1 + 1", "unknown name M1 (ids start with a lowercase letter) at column 1");
	ck_assert_parse_error("SUM + 1", "expected '(' after SUM at column 5");
	ck_assert_parse_error("SUM(m1, m2)", "SUM takes 1 argument, not 2 at column 1");
	ck_assert_parse_error("AVG()", "AVG takes 1 argument, not 0 at column 1");
	ck_assert_parse_error("IF(m1)", "IF takes 2 or 3 arguments, not 1 at column 1");
	ck_assert_parse_error("IF(m1, 1, 2, 3)", "IF takes 2 or 3 arguments, not 4 at column 1");
	ck_assert_parse_error("FILL(m1)", "FILL takes 2 arguments, not 1 at column 1");
	ck_assert_parse_error("SUM(m1", "missing ')' at column 7");
	ck_assert_parse_error("REPEAT", "REPEAT is only valid as FILL's second argument at column 1");
	ck_assert_parse_error("FILL(REPEAT, 0)",
			      "REPEAT is only valid as FILL's second argument at column 6");
	ck_assert_parse_error("FILL(m1, REPEAT + 1)", "unexpected '+' at column 17");
	ck_assert_parse_error("METRICS(m1)",
			      "METRICS takes no argument or one string, unexpected 'm1' at column 9");
	ck_assert_parse_error("[m1,]", "unexpected ']' at column 5");
	ck_assert_parse_error("[]", "unexpected ']' at column 2");
	ck_assert_parse_error("[m1, m2", "missing ']' at column 8");
	ck_assert_parse_error("m1 $ 2", "unexpected character '$' at column 4");
	ck_assert_parse_error("m1 = 2", "unexpected '=' (comparison is '==') at column 4");
	ck_assert_parse_error("!m1", "unexpected character '!' at column 1");
	ck_assert_parse_error("m1 & m2", "unexpected character '&' at column 4");
	ck_assert_parse_error("m1 | m2", "unexpected character '|' at column 4");
	ck_assert_parse_error("+m1", "unexpected '+' at column 1");
	ck_assert_parse_error("\x01", "unexpected byte 0x01 at column 1");
	ck_assert_parse_error("m1 + \xc3\xa9", "unexpected byte 0xc3 at column 6");
	ck_assert_parse_error("1e", "malformed number at column 1");
	ck_assert_parse_error("1e+", "malformed number at column 1");
	ck_assert_parse_error("2m1", "malformed number at column 1");
	ck_assert_parse_error("1.2.3", "malformed number at column 1");
	ck_assert_parse_error("1e999", "number out of range at column 1");
	ck_assert_parse_error("\"abc\"", "unexpected string at column 1");
	ck_assert_parse_error("METRICS(\"abc)", "unterminated string at column 9");
	ck_assert_parse_error("_m1", "unexpected character '_' at column 1");
	ck_assert_parse_error("m1 AND", "unexpected end of expression at column 7");
	ck_assert_parse_error("m1 < < 2", "unexpected '<' at column 6");

	/* NULL text, NULL or short error buffers */
	ck_assert_ptr_null(mm_parse(NULL, NULL, 0));
	ck_assert_ptr_null(mm_parse("(", NULL, 0));
	char tiny[8];
	ck_assert_ptr_null(mm_parse("FOO(1)", tiny, sizeof tiny));
	ck_assert_str_eq(tiny, "unknown");
}
END_TEST

START_TEST(test_limits)
{
	char buf[4096];
	char err[256];
	struct mm_expr *e;

	/* 2048 bytes is CloudWatch's limit (MetricDataQuery.Expression) */
	memset(buf, ' ', 2046);
	memcpy(buf + 2046, "m1", 3);
	e = mm_parse(buf, err, sizeof err);
	ck_assert_msg(e != NULL, "%s", err);
	mm_free(e);
	EXPECT(buf, 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	memset(buf, ' ', 2047);
	memcpy(buf + 2047, "m1", 3);
	ck_assert_parse_error(buf, "expression longer than 2048 bytes");
	/* a number as long as the expression */
	memset(buf, '0', 2047);
	memcpy(buf + 2047, "7", 2);
	e = mm_parse(buf, err, sizeof err);
	ck_assert_msg(e != NULL, "%s", err);
	mm_free(e);

	/* 100 levels of parentheses are fine, 101 are not */
	size_t n = 0;
	buf[n++] = 'm';
	buf[n++] = '1';
	buf[n++] = '*';
	for (int i = 0; i < 100; i++)
		buf[n++] = '(';
	buf[n++] = '1';
	for (int i = 0; i < 100; i++)
		buf[n++] = ')';
	buf[n] = 0;
	EXPECT(buf, 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	n = 0;
	for (int i = 0; i < 101; i++)
		buf[n++] = '(';
	buf[n++] = '1';
	for (int i = 0; i < 101; i++)
		buf[n++] = ')';
	buf[n] = 0;
	ck_assert_parse_error(buf, "expression nests deeper than 100 levels at column 101");
	/* nesting of every kind counts: brackets, calls, unary minus, ^ */
	memset(buf, '-', 500);
	strcpy(buf + 500, "m1");
	ck_assert_str_eq(parse_error(buf), "expression nests deeper than 100 levels at column 101");
	memset(buf, '[', 500);
	buf[500] = 0;
	ck_assert_str_eq(parse_error(buf), "expression nests deeper than 100 levels at column 101");
	n = 0;
	for (int i = 0; i < 200; i++)
		n += (size_t)sprintf(buf + n, "SUM(");
	buf[n] = 0;
	ck_assert_str_eq(parse_error(buf), "expression nests deeper than 100 levels at column 401");
	n = 0;
	for (int i = 0; i < 300; i++)
		n += (size_t)sprintf(buf + n, "2^");
	strcpy(buf + n, "1");
	ck_assert_ptr_nonnull(strstr(parse_error(buf), "nests deeper than 100 levels"));
	/* a long flat chain is not nesting */
	n = 0;
	for (int i = 0; i < 500; i++)
		n += (size_t)sprintf(buf + n, "1+");
	strcpy(buf + n, "1");
	ck_assert_scalar(buf, 501);
	/* a range of too many periods is an error, not a huge allocation */
	q_start = 0;
	q_end = INT64_MAX;
	q_period = 1;
	ck_assert_eval_error("FILL(m1, 0)", "the range holds more than 1000000 periods at column 1");
	ck_assert_eval_error("TIME_SERIES(5)", "the range holds more than 1000000 periods at column 1");
	q_start = INT64_MIN;
	ck_assert_eval_error("m1 + TIME_SERIES(5)", "the range holds more than 1000000 periods at column 6");
	q_start = INT64_MAX - 1;
	EXPECT("TIME_SERIES(5)", 1, L(INT64_MAX - 1), L(5));
	q_period = 60;
	q_start = INT64_MAX - 10;
	EXPECT("TIME_SERIES(5)", 0, L(0), L(0));
	q_period = 0;
	q_start = 0;
	q_end = 300;
	ck_assert_eval_error("FILL(m1, 0)", "the period must be positive at column 1");
	q_period = 60;
}
END_TEST

START_TEST(test_eval_errors)
{
	ck_assert_eval_error("m1 + nope", "unknown id nope at column 6");
	ck_assert_eval_error("SUM(5)",
			      "SUM takes a time series or an array of time series, not a number at column 1");
	ck_assert_eval_error("m1 + AVG(2 * 3)",
			     "AVG takes a time series or an array of time series, not a number at column 6");
	ck_assert_eval_error("FILL(1, 0)", "FILL takes a time series or an array of time series, "
					   "not a number at column 1");
	ck_assert_eval_error("FILL(m1, [m1, m2])",
			      "FILL's value cannot be an array of time series at column 10");
	ck_assert_eval_error("[m1, 5]", "an array holds time series, not numbers at column 6");
	ck_assert_eval_error("SUM([m1] + [m2])",
			      "'+' between two arrays of time series is not supported at column 10");
	ck_assert_eval_error("IF([m1, m2], 1)", "IF does not take an array of time series at column 4");
	ck_assert_eval_error("TIME_SERIES(m1)", "TIME_SERIES takes a number, not a time series at column 1");
	ck_assert_eval_error("TIME_SERIES(METRICS())",
			     "TIME_SERIES takes a number, not an array of time series at column 1");

	/* METRICS() with an id the lookup does not know */
	static const char *const bad[] = { "m1", "gone" };
	char err[256];
	struct mm_value out;
	struct mm_expr *e = mm_parse("SUM(METRICS())", err, sizeof err);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(mm_eval(e, lookup, NULL, bad, 2, 0, 300, 60, &out, err, sizeof err), -1);
	ck_assert_str_eq(err, "unknown id gone at column 5");
	ck_assert_uint_eq(out.n, 0);
	/* METRICS() without any id: an empty array, its SUM an empty series */
	ck_assert_int_eq(mm_eval(e, lookup, NULL, NULL, 0, 0, 300, 60, &out, err, sizeof err), 0);
	ck_assert_int_eq(out.array, 0);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_uint_eq(out.ser[0].n, 0);
	mm_value_free(&out);
	mm_free(e);
	e = mm_parse("METRICS()", err, sizeof err);
	ck_assert_int_eq(mm_eval(e, lookup, NULL, NULL, 0, 0, 300, 60, &out, err, sizeof err), 0);
	ck_assert_int_eq(out.array, 1);
	ck_assert_uint_eq(out.n, 0);
	mm_value_free(&out);
	mm_free(e);
	/* no lookup at all */
	e = mm_parse("m1", err, sizeof err);
	ck_assert_int_eq(mm_eval(e, NULL, NULL, NULL, 0, 0, 300, 60, &out, err, sizeof err), -1);
	ck_assert_str_eq(err, "unknown id m1 at column 1");
	mm_free(e);
	mm_free(NULL);
	mm_series_free(NULL);
	mm_value_free(NULL);
}
END_TEST

/* Input that breaks the contract (NaN, infinity, out of order, the same
 * timestamp twice) is cleaned, never passed on. */
START_TEST(test_bad_input_series)
{
	put("bad", 6, (int64_t[]){ 120, 0, 60, 60, 180, 240 },
	    (double[]){ 3, 1, NAN, 2, INFINITY, -INFINITY });
	EXPECT("bad", 3, L(0, 60, 120), L(1, 2, 3));
	EXPECT("bad * 2 + m2", 4, L(0, 60, 120, 240), L(2, 5, 6, 5));
	EXPECT("TIME_SERIES(SUM(bad))", 5, L(0, 60, 120, 180, 240), L(6, 6, 6, 6, 6));
	EXPECT("bad - AVG(bad)", 3, L(0, 60, 120), L(-1, 0, 1));
	put("nans", 2, (int64_t[]){ 0, 60 }, (double[]){ NAN, NAN });
	EXPECT("nans + 1", 0, L(0), L(0));
	EXPECT("AVG(nans) + m1", 0, L(0), L(0));
}
END_TEST


/* results ----------------------------------------------------------------------- */

/* TEXT must give an array of N series, the K-th labelled LABS[K] (NULL:
 * none) with the points of the series named WANT[K] (an expression of one
 * series, evaluated apart). */
static void expect_array(const char *text, size_t n, const char *const *labs, const char *const *want)
{
	struct mm_value out;
	char err[256];
	int rc = run_value(text, &out, err, sizeof err);
	ck_assert_msg(rc == 0, "\"%s\": %s", text, err);
	ck_assert_msg(out.array, "\"%s\": not an array", text);
	ck_assert_msg(out.n == n, "\"%s\": %zu series, expected %zu", text, out.n, n);
	for (size_t k = 0; k < n; k++) {
		const char *lab = labs[k] ? label_of(labs[k]) : NULL;
		ck_assert_msg(out.label[k] == lab, "\"%s\": series %zu labelled %s, expected %s", text, k,
			      out.label[k] ? out.label[k] : "(none)", lab ? lab : "(none)");
		struct mm_series w;
		ck_assert_msg(run(want[k], &w, err, sizeof err) == 0, "\"%s\": %s", want[k], err);
		check_points(text, &out.ser[k], w.n, w.t, w.v);
		mm_series_free(&w);
	}
	mm_value_free(&out);
}

#define EXPECT_ARRAY(text, n, LABS, WANT) expect_array(text, n, (const char *[])LABS, (const char *[])WANT)

/* "The final result of any math expression must be a single time series or
 * an array of time series": an array comes out whole, each series with the
 * label of the query it came from. */
START_TEST(test_array_results)
{
	EXPECT_ARRAY("METRICS()", 2, L("m1", "m2"), L("m1", "m2"));
	EXPECT_ARRAY("METRICS(\"2\")", 1, L("m2"), L("m2"));
	EXPECT_ARRAY("METRICS() / 100", 2, L("m1", "m2"), L("m1 / 100", "m2 / 100"));
	EXPECT_ARRAY("100 * METRICS()", 2, L("m1", "m2"), L("100 * m1", "100 * m2"));
	EXPECT_ARRAY("FILL(METRICS(), 0)", 2, L("m1", "m2"), L("FILL(m1, 0)", "FILL(m2, 0)"));
	EXPECT_ARRAY("FILL(METRICS(), s)", 2, L("m1", "m2"), L("FILL(m1, s)", "FILL(m2, s)"));
	EXPECT_ARRAY("[m1, m2] * 2", 2, L("m1", "m2"), L("m1 * 2", "m2 * 2"));
	EXPECT_ARRAY("-[m1, m2]", 2, L("m1", "m2"), L("-m1", "-m2"));
	EXPECT_ARRAY("[m1, m2] / s", 2, L("m1", "m2"), L("m1 / s", "m2 / s"));
	EXPECT_ARRAY("ABS([m1 - 25, -m2])", 2, L("m1", "m2"), L("ABS(m1 - 25)", "ABS(-m2)"));
	/* an element that is not one query's has no label of its own */
	EXPECT_ARRAY("[m1 + m2, m1]", 2, L(NULL, "m1"), L("m1 + m2", "m1"));
	EXPECT_ARRAY("[m1 + m1, m1 * m1 - 2]", 2, L("m1", "m1"), L("m1 + m1", "m1 * m1 - 2"));
	EXPECT_ARRAY("[METRICS(\"1\"), m2 / m1, s]", 3, L("m1", NULL, "s"), L("m1", "m2 / m1", "s"));
	EXPECT_ARRAY("[FILL(s, m1), FILL(s, REPEAT)]", 2, L("s", "s"), L("FILL(s, m1)", "FILL(s, REPEAT)"));
	EXPECT_ARRAY("[IF(m1 > 15, m1, 0), IF(c, x, y), IF(c, 1)]", 3, L("m1", NULL, "c"),
		     L("IF(m1 > 15, m1, 0)", "IF(c, x, y)", "IF(c, 1)"));
	EXPECT_ARRAY("[IF(1, m2, m1), SUM([m1]), MAX([m1, m2]), TIME_SERIES(3)]", 4, L("m2", "m1", NULL, NULL),
		     L("m2", "m1", "MAX([m1, m2])", "TIME_SERIES(3)"));
	/* an id whose value is an array (an array-valued expression's) */
	EXPECT_ARRAY("arr", 2, L("m1", "s"), L("m1", "s"));
	EXPECT_ARRAY("arr * 2 + m2", 2, L("m1", "s"), L("m1 * 2 + m2", "s * 2 + m2"));
	EXPECT_ARRAY("[arr, m2]", 3, L("m1", "s", "m2"), L("m1", "s", "m2"));
	EXPECT("SUM(arr)", 4, L(0, 60, 120, 180), L(10, 21, 30, 43));

	/* a single series has a label too */
	struct mm_value out;
	char err[256];
	ck_assert_int_eq(run_value("m1 * 2", &out, err, sizeof err), 0);
	ck_assert_int_eq(out.array, 0);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_ptr_eq(out.label[0], label_of("m1"));
	mm_value_free(&out);
	ck_assert_int_eq(run_value("m1 * m2", &out, err, sizeof err), 0);
	ck_assert_ptr_null(out.label[0]);
	mm_value_free(&out);
	/* an array of one series is still an array */
	ck_assert_int_eq(run_value("[m1]", &out, err, sizeof err), 0);
	ck_assert_int_eq(out.array, 1);
	ck_assert_uint_eq(out.n, 1);
	mm_value_free(&out);
}
END_TEST

/* "taking the AVG of a single time series produces a scalar number, so it
 * can't be the final expression result" */
START_TEST(test_scalar_result_refused)
{
	static const char *const texts[] = { "10", "MAX(m1)", "IF(1, 2, 3)", "SUM(m1) + 1", "-AVG(m1)",
					     "ABS(-2)", "IF(0, m1, 5)", "(1/0)" };
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		ck_assert_eval_error(texts[i], "the result is a single number, not a time series; the final result "
					       "of an expression must be a time series or an array of time series "
					       "(TIME_SERIES(x) makes a time series of the number x)");
	/* a scalar inside an expression is fine */
	EXPECT("m1 - MIN(m1)", 4, L(0, 60, 120, 180), L(0, 10, 20, 30));
	EXPECT("IF(1, m2, 5)", 3, L(60, 120, 240), L(1, 0, 5));
}
END_TEST

START_TEST(test_time_series)
{
	/* the value at every period of the query's grid, the one FILL fills */
	EXPECT("TIME_SERIES(5)", 5, L(0, 60, 120, 180, 240), L(5, 5, 5, 5, 5));
	EXPECT("TIME_SERIES(-2.5 * 2)", 5, L(0, 60, 120, 180, 240), L(-5, -5, -5, -5, -5));
	EXPECT("TIME_SERIES(MAX(m1))", 5, L(0, 60, 120, 180, 240), L(40, 40, 40, 40, 40));
	/* no value (AVG of nothing, a division by zero): no datapoint */
	EXPECT("TIME_SERIES(AVG(empty))", 0, L(0), L(0));
	EXPECT("TIME_SERIES(1/0)", 0, L(0), L(0));
	/* with a series: the grid's periods count, as a series' points */
	EXPECT("s + TIME_SERIES(1)", 5, L(0, 60, 120, 180, 240), L(1, 2, 1, 4, 1));
	EXPECT("s + 1", 2, L(60, 180), L(2, 4));
	EXPECT("m1 > TIME_SERIES(AVG(m1))", 5, L(0, 60, 120, 180, 240), L(0, 0, 1, 1, 0));
	q_start = 30;
	q_end = 200;
	EXPECT("TIME_SERIES(7)", 3, L(30, 90, 150), L(7, 7, 7));
	q_start = 100;
	q_end = 100;
	EXPECT("TIME_SERIES(7)", 0, L(0), L(0));
	q_start = 0;
	q_end = 300;
	ck_assert_parse_error("TIME_SERIES(1, 2)", "TIME_SERIES takes 1 argument, not 2 at column 1");
	ck_assert_parse_error("time_series(1)",
			      "unknown function time_series (function names are uppercase: TIME_SERIES) at column 1");
}
END_TEST

START_TEST(test_abs)
{
	ck_assert_scalar("ABS(-5)", 5);
	ck_assert_scalar("ABS(5)", 5);
	ck_assert_scalar("ABS(0 - 2.5)", 2.5);
	ck_assert(isnan(scalar("ABS(1/0)")));
	EXPECT("ABS(m1 - 25)", 4, L(0, 60, 120, 180), L(15, 5, 5, 15));
	EXPECT("ABS(-m1)", 4, L(0, 60, 120, 180), L(10, 20, 30, 40));
	EXPECT("ABS(m2 - m1)", 5, L(0, 60, 120, 180, 240), L(10, 19, 30, 40, 5));
	EXPECT("SUM(ABS([-m1, m2 - 3]))", 5, L(0, 60, 120, 180, 240), L(10, 22, 33, 40, 2));
	ck_assert_parse_error("ABS()", "ABS takes 1 argument, not 0 at column 1");
}
END_TEST

static enum mm_kind kind_cb(void *arg, const char *id)
{
	(void)arg;
	return !strcmp(id, "arr") ? MM_ARRAY : !strcmp(id, "k") ? MM_SCALAR : MM_SERIES;
}

/* mm_kind(): what alarms check without the data */
START_TEST(test_kind)
{
	static const struct {
		const char *text;
		enum mm_kind kind;
	} cases[] = {
		{ "m1", MM_SERIES }, { "10", MM_SCALAR }, { "MAX(m1)", MM_SCALAR }, { "MAX(METRICS())", MM_SERIES },
		{ "METRICS()", MM_ARRAY }, { "METRICS() / 100", MM_ARRAY }, { "FILL(METRICS(), 0)", MM_ARRAY },
		{ "[m1, m2] * 2", MM_ARRAY }, { "-[m1]", MM_ARRAY }, { "m1 + 1", MM_SERIES },
		{ "1 + 2 * 3", MM_SCALAR }, { "TIME_SERIES(1)", MM_SERIES }, { "TIME_SERIES(m1)", MM_UNKNOWN },
		{ "ABS(m1)", MM_SERIES }, { "ABS(-1)", MM_SCALAR }, { "ABS(METRICS())", MM_ARRAY },
		{ "IF(m1, 1, 2)", MM_SERIES }, { "IF(1, 2, 3)", MM_SCALAR }, { "IF(1, m1, m2)", MM_SERIES },
		{ "IF(1, m1, 5)", MM_UNKNOWN }, { "IF(1, m1)", MM_SERIES }, { "IF(1, 5)", MM_UNKNOWN },
		{ "IF(METRICS(), 1)", MM_UNKNOWN }, { "SUM(5)", MM_UNKNOWN }, { "FILL(1, 0)", MM_UNKNOWN },
		{ "[m1] + [m2]", MM_UNKNOWN }, { "[m1, 5]", MM_UNKNOWN }, { "arr", MM_ARRAY },
		{ "SUM(arr)", MM_SERIES }, { "k * m1", MM_SERIES }, { "k", MM_SCALAR },
	};
	char err[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_expr *e = mm_parse(cases[i].text, err, sizeof err);
		ck_assert_msg(e != NULL, "%s: %s", cases[i].text, err);
		enum mm_kind k = mm_kind(e, kind_cb, NULL);
		ck_assert_msg(k == cases[i].kind, "\"%s\": kind %d, expected %d", cases[i].text, k, cases[i].kind);
		mm_free(e);
	}
	/* without a callback, an id is a series */
	struct mm_expr *e = mm_parse("arr", err, sizeof err);
	ck_assert_int_eq(mm_kind(e, NULL, NULL), MM_SERIES);
	mm_free(e);
	ck_assert_int_eq(mm_kind(NULL, NULL, NULL), MM_UNKNOWN);
}
END_TEST

/* random input ------------------------------------------------------------------- */

static unsigned rnd_state = 12345;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

/* The output of a successful evaluation: ascending, finite. */
static void check_series(const struct mm_series *s, const char *text)
{
	for (size_t i = 0; i < s->n; i++) {
		ck_assert_msg(isfinite(s->v[i]), "\"%s\": point %zu is %g", text, i, s->v[i]);
		if (i)
			ck_assert_msg(s->t[i - 1] < s->t[i], "\"%s\": timestamps out of order", text);
	}
}

/* Parse TEXT; when it parses, evaluate it: whatever happens, no crash, and
 * either a clean result or a message. Returns 1 when it parsed. */
static int try_text(const char *text)
{
	char err[256];
	err[0] = 0;
	struct mm_expr *e = mm_parse(text, err, sizeof err);
	if (!e) {
		ck_assert_msg(err[0] != 0, "\"%s\": no message", text);
		return 0;
	}
	struct mm_value out;
	if (mm_eval(e, lookup, NULL, all2, 2, 0, 300, 60, &out, err, sizeof err) == 0) {
		ck_assert_msg(out.array || out.n == 1, "\"%s\": %zu series", text, out.n);
		for (size_t k = 0; k < out.n; k++)
			check_series(&out.ser[k], text);
		mm_value_free(&out);
	} else {
		ck_assert_msg(err[0] != 0, "\"%s\": no message", text);
		ck_assert_uint_eq(out.n, 0);
	}
	mm_free(e);
	return 1;
}

START_TEST(test_fuzz_garbage)
{
	static const char *const pieces[] = {
		"m1", "m2", "zero", "empty", "nope", "s", "(", ")", "[", "]", ",", "+", "-", "*", "/", "^",
		"<", "<=", ">", ">=", "==", "!=", "=", "!", "AND", "OR", "&&", "||", "&", "|", "SUM(", "AVG(",
		"MIN(", "MAX(", "FILL(", "IF(", "METRICS(", "METRICS()", "REPEAT", "LINEAR", "\"", "\"m\"",
		"ABS(", "TIME_SERIES(", "arr",
		"0", "1", "2.5", "1e3", "1e", ".", "e", "E", " ", "\t", "\n", "FOO(", "sum(", "_", "$", "1/0",
	};
	char buf[1100];
	int parsed = 0;

	for (int iter = 0; iter < 30000; iter++) {
		size_t n = 0, len = rnd(40);
		for (size_t i = 0; i < len && n < 1000; i++) {
			if (rnd(8) == 0) {
				buf[n++] = (char)(1 + rnd(255));
			} else {
				const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
				size_t l = strlen(p);
				memcpy(buf + n, p, l);
				n += l;
			}
		}
		buf[n] = 0;
		parsed += try_text(buf);
	}
	/* the mix above does parse now and then: evaluation is exercised too */
	ck_assert_int_gt(parsed, 100);
}
END_TEST

static void emit(char *b, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* snprintf, where truncation is fine: a truncated expression is over 1024
 * bytes and skipped (the generators keep below that; the limit is 2048). */
static void emit(char *b, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, len, fmt, ap);
	va_end(ap);
}

/* A random expression of a given type, kept below 1024 bytes by DEPTH. For
 * a number, *V gets its value as C computes it (NaN: none). */
static void gen_scalar(char *b, size_t len, int depth, double *v);
static void gen_series(char *b, size_t len, int depth);

static void gen_array(char *b, size_t len, int depth)
{
	char x[1100], y[1100];
	double k;
	switch (depth <= 0 ? rnd(3) : rnd(8)) {
	case 0: emit(b, len, rnd(2) ? "METRICS()" : "arr"); return;
	case 1: emit(b, len, "METRICS(\"%s\")", rnd(2) ? "1" : "m"); return;
	case 2:
		gen_series(x, sizeof x, depth - 1);
		emit(b, len, "[%s]", x);
		return;
	case 3:
		gen_series(x, sizeof x, depth - 1);
		gen_series(y, sizeof y, depth - 1);
		emit(b, len, "[%s, %s]", x, y);
		return;
	case 4:
		gen_array(x, sizeof x, depth - 1);
		gen_scalar(y, sizeof y, depth - 1, &k);
		emit(b, len, "(%s %s %s)", x, (const char *[]){ "+", "-", "*", "/" }[rnd(4)], y);
		return;
	case 5:
		gen_array(x, sizeof x, depth - 1);
		emit(b, len, "ABS(%s)", x);
		return;
	case 6:
		gen_array(x, sizeof x, depth - 1);
		gen_series(y, sizeof y, depth - 1);
		emit(b, len, "(%s %s %s)", y, (const char *[]){ "+", "-", "*", "/" }[rnd(4)], x);
		return;
	default:
		gen_array(x, sizeof x, depth - 1);
		gen_scalar(y, sizeof y, depth - 1, &k);
		emit(b, len, "FILL(%s, %s)", x, y);
		return;
	}
}

static double capply(int op, double x, double y)
{
	if (isnan(x) || isnan(y))
		return NAN;
	double r;
	switch (op) {
	case 0: r = x + y; break;
	case 1: r = x - y; break;
	case 2: r = x * y; break;
	case 3: r = y == 0 ? NAN : x / y; break;
	case 4: r = x < y; break;
	case 5: r = x >= y; break;
	case 6: r = x != 0 && y != 0; break;
	default: r = x != 0 || y != 0; break;
	}
	return isfinite(r) ? r : NAN;
}

static void gen_scalar(char *b, size_t len, int depth, double *v)
{
	static const char *const ops[] = { "+", "-", "*", "/", "<", ">=", "AND", "||" };
	char x[1100], y[1100];
	double a, c;
	switch (depth <= 0 ? 0 : rnd(8)) {
	case 0: {
		int n = (int)rnd(21) - 5;
		emit(b, len, "%d", n);
		*v = n;
		return;
	}
	case 1:
		gen_scalar(x, sizeof x, depth - 1, &a);
		emit(b, len, "(%s)", x);
		*v = a;
		return;
	case 2:
		gen_scalar(x, sizeof x, depth - 1, &a);
		emit(b, len, "-%s", x);
		*v = isnan(a) || a == -INFINITY ? a : 0 - a;
		return;
	case 3: {
		static const char *const fns[] = { "SUM", "AVG", "MIN", "MAX" };
		static const double m1v[] = { 100, 25, 10, 40 };
		unsigned f = rnd(4);
		emit(b, len, "%s(m1)", fns[f]);
		*v = m1v[f];
		return;
	}
	case 4: {
		unsigned f = rnd(4);
		gen_series(x, sizeof x, depth - 1);
		emit(b, len, "%s(%s)", (const char *[]){ "SUM", "AVG", "MIN", "MAX" }[f], x);
		*v = -INFINITY; /* unknown: not checked */
		return;
	}
	case 6:
		gen_scalar(x, sizeof x, depth - 1, &a);
		emit(b, len, "ABS(%s)", x);
		*v = a == -INFINITY ? a : fabs(a);
		return;
	default: {
		int op = (int)rnd(8);
		gen_scalar(x, sizeof x, depth - 1, &a);
		gen_scalar(y, sizeof y, depth - 1, &c);
		emit(b, len, "(%s %s %s)", x, ops[op], y);
		*v = a == -INFINITY || c == -INFINITY ? -INFINITY : capply(op, a, c);
		return;
	}
	}
}

static void gen_series(char *b, size_t len, int depth)
{
	static const char *const ids[] = { "m1", "m2", "zero", "empty", "s", "a", "b", "c" };
	static const char *const ops[] = { "+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "AND",
					   "OR" };
	char x[1100], y[1100], z[1100];
	double k;
	switch (depth <= 0 ? 0 : rnd(13)) {
	case 0: emit(b, len, "%s", ids[rnd(8)]); return;
	case 1:
		gen_series(x, sizeof x, depth - 1);
		emit(b, len, "-(%s)", x);
		return;
	case 2:
		gen_series(x, sizeof x, depth - 1);
		gen_series(y, sizeof y, depth - 1);
		emit(b, len, "(%s %s %s)", x, ops[rnd(13)], y);
		return;
	case 3:
		gen_series(x, sizeof x, depth - 1);
		gen_scalar(y, sizeof y, depth - 1, &k);
		if (rnd(2))
			emit(b, len, "(%s %s %s)", x, ops[rnd(13)], y);
		else
			emit(b, len, "(%s %s %s)", y, ops[rnd(13)], x);
		return;
	case 4:
		gen_array(x, sizeof x, depth - 1);
		emit(b, len, "%s(%s)", (const char *[]){ "SUM", "AVG", "MIN", "MAX" }[rnd(4)], x);
		return;
	case 5:
		gen_series(x, sizeof x, depth - 1);
		gen_scalar(y, sizeof y, depth - 1, &k);
		emit(b, len, "FILL(%s, %s)", x, y);
		return;
	case 6:
		gen_series(x, sizeof x, depth - 1);
		emit(b, len, "FILL(%s, %s)", x, rnd(2) ? "REPEAT" : "LINEAR");
		return;
	case 7:
		gen_series(x, sizeof x, depth - 1);
		gen_series(y, sizeof y, depth - 1);
		emit(b, len, "FILL(%s, %s)", x, y);
		return;
	case 8:
		gen_series(x, sizeof x, depth - 1);
		gen_series(y, sizeof y, depth - 1);
		gen_series(z, sizeof z, depth - 1);
		emit(b, len, "IF(%s, %s, %s)", x, y, z);
		return;
	case 9:
		gen_series(x, sizeof x, depth - 1);
		gen_scalar(y, sizeof y, depth - 1, &k);
		emit(b, len, "IF(%s > %s, %s)", x, y, x);
		return;
	case 10:
		gen_series(x, sizeof x, depth - 1);
		emit(b, len, "ABS(%s)", x);
		return;
	case 11:
		gen_scalar(x, sizeof x, depth - 1, &k);
		emit(b, len, "TIME_SERIES(%s)", x);
		return;
	default:
		gen_series(x, sizeof x, depth - 1);
		emit(b, len, "(%s)", x);
		return;
	}
}

START_TEST(test_fuzz_valid)
{
	char text[1100], err[256];
	int checked = 0, evaluated = 0;

	int arrays = 0, refused = 0;

	for (int iter = 0; iter < 5000; iter++) {
		double want = -INFINITY;
		unsigned kind = rnd(6);
		char sub[1100];
		if (kind < 2) {
			/* a number: a final result as TIME_SERIES(), refused bare */
			gen_scalar(sub, sizeof sub, 1 + (int)rnd(5), &want);
			emit(text, sizeof text, kind ? "TIME_SERIES(%s)" : "%s", sub);
		} else if (kind == 2) {
			gen_array(text, sizeof text, 1 + (int)rnd(3));
		} else {
			gen_series(text, sizeof text, 1 + (int)rnd(4));
		}
		if (strlen(text) > 1024)
			continue;
		struct mm_expr *e = mm_parse(text, err, sizeof err);
		ck_assert_msg(e != NULL, "\"%s\": %s", text, err);
		struct mm_value out;
		int rc = mm_eval(e, lookup, NULL, all2, 2, 0, 300, 60, &out, err, sizeof err);
		if (kind == 0) {
			ck_assert_msg(rc == -1 && strstr(err, "the result is a single number"), "\"%s\": %d %s",
				      text, rc, err);
			refused++;
			mm_free(e);
			continue;
		}
		ck_assert_msg(rc == 0, "\"%s\": %s", text, err);
		ck_assert_int_eq(out.array, kind == 2);
		ck_assert_msg(out.array || out.n == 1, "\"%s\": %zu series", text, out.n);
		for (size_t k = 0; k < out.n; k++)
			check_series(&out.ser[k], text);
		arrays += out.array;
		evaluated++;
		if (want != -INFINITY) {
			/* TIME_SERIES(number): its value at every period, or none */
			const struct mm_series *o = &out.ser[0];
			if (isnan(want)) {
				ck_assert_msg(o->n == 0, "\"%s\": %zu points, expected none", text, o->n);
			} else {
				ck_assert_msg(o->n == 5, "\"%s\": %zu points", text, o->n);
				for (size_t i = 0; i < o->n; i++)
					ck_assert_msg(o->v[i] == want, "\"%s\" = %g, expected %g", text,
						      o->v[i], want);
			}
			checked++;
		}
		mm_value_free(&out);
		mm_free(e);
	}
	ck_assert_int_gt(evaluated, 3000);
	ck_assert_int_gt(checked, 200);
	ck_assert_int_gt(arrays, 200);
	ck_assert_int_gt(refused, 200);
}
END_TEST

/* Every prefix and every one-byte mutation of valid expressions. */
START_TEST(test_fuzz_mutations)
{
	static const char *const seeds[] = {
		"100 * m2 / m1",
		"IF(m1 > 15 AND m1 < 35, FILL(s, REPEAT), -m2 ^ 2)",
		"SUM([m1, FILL(METRICS(\"m\"), LINEAR)]) / AVG(m1) - MIN(METRICS()) >= 1e-3",
		"FILL(s, MAX([m1, m2]) * 0.5) || (zero != .5)",
	};
	char buf[256];
	static const char subst[] = "()[],+-*/^<>=!&|\"0.e mMSIFR_\x01\xff";

	for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
		size_t n = strlen(seeds[k]);
		ck_assert_int_eq(try_text(seeds[k]), 1);
		for (size_t cut = 0; cut < n; cut++) {
			memcpy(buf, seeds[k], cut);
			buf[cut] = 0;
			try_text(buf);
		}
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < sizeof subst - 1; j++) {
				strcpy(buf, seeds[k]);
				buf[i] = subst[j];
				try_text(buf);
				/* and with the byte removed */
				memmove(buf + i, buf + i + 1, n - i);
				try_text(buf);
			}
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metric_math");
	TCase *tc = tcase_create("arithmetic");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_operators);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_numbers_and_spaces);
	tcase_add_test(tc, test_comparisons_and_logic);
	tcase_add_test(tc, test_series_and_scalars);
	tcase_add_test(tc, test_different_timestamps);
	tcase_add_test(tc, test_division_by_zero);
	tcase_add_test(tc, test_5xx_rate);
	suite_add_tcase(s, tc);

	tc = tcase_create("functions");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_aggregates_of_one_series);
	tcase_add_test(tc, test_aggregates_of_arrays);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_fill);
	tcase_add_test(tc, test_if);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_eval_errors);
	tcase_add_test(tc, test_bad_input_series);
	suite_add_tcase(s, tc);

	tc = tcase_create("results");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_array_results);
	tcase_add_test(tc, test_scalar_result_refused);
	tcase_add_test(tc, test_time_series);
	tcase_add_test(tc, test_abs);
	tcase_add_test(tc, test_kind);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fuzz_garbage);
	tcase_add_test(tc, test_fuzz_valid);
	tcase_add_test(tc, test_fuzz_mutations);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
