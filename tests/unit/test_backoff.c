/* test_backoff.c - src/control/backoff.c: the phases of an SNS HTTP/S
 * delivery policy, each backoff function's schedule, the jitter, and the
 * policy checks. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "control/backoff.h"

#define EPS 1e-9

static struct backoff_policy pol(unsigned retries, unsigned nd, unsigned mn, unsigned mx, double lo, double hi,
				 enum backoff_fn fn)
{
	return (struct backoff_policy){ .retries = retries,
					.no_delay_retries = nd,
					.min_delay_retries = mn,
					.max_delay_retries = mx,
					.min_delay = lo,
					.max_delay = hi,
					.fn = fn };
}

START_TEST(test_fn_names)
{
	ck_assert_int_eq(backoff_fn_parse("linear"), BACKOFF_LINEAR);
	ck_assert_int_eq(backoff_fn_parse("arithmetic"), BACKOFF_ARITHMETIC);
	ck_assert_int_eq(backoff_fn_parse("geometric"), BACKOFF_GEOMETRIC);
	ck_assert_int_eq(backoff_fn_parse("exponential"), BACKOFF_EXPONENTIAL);
	ck_assert_int_eq(backoff_fn_parse("EXPONENTIAL"), BACKOFF_EXPONENTIAL); /* the CDK's spelling */
	ck_assert_int_eq(backoff_fn_parse("quadratic"), -1);
	ck_assert_int_eq(backoff_fn_parse(""), -1);
	ck_assert_int_eq(backoff_fn_parse(NULL), -1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(backoff_fn_parse(backoff_fn_name((enum backoff_fn)i)), i);
}
END_TEST

/* "By default, if the initial delivery of the message fails, Amazon SNS
 * attempts up to three retries with a delay between failed attempts set at
 * 20 seconds." */
START_TEST(test_default_policy)
{
	struct backoff_policy p = BACKOFF_POLICY_DEFAULT;
	ck_assert_int_eq(backoff_policy_check(&p, NULL, 0), 0);
	ck_assert_double_eq(backoff_delay(&p, 0, 0.5), 0);
	for (unsigned k = 1; k <= 3; k++)
		for (double r = 0; r <= 1; r += 0.25)
			ck_assert_double_eq_tol(backoff_delay(&p, k, r), 20, EPS); /* min = max: no room */
	ck_assert_double_eq(backoff_delay(&p, 4, 0.5), -1);
	ck_assert_double_eq(backoff_delay(&p, 1000, 0.5), -1);
	ck_assert_double_eq_tol(backoff_total(&p), 60, EPS);
}
END_TEST

/* The four phases in order: 0 (immediate), min (pre-backoff), min..max
 * (backoff), max (post-backoff). */
START_TEST(test_phases)
{
	for (int fn = 0; fn < 4; fn++) {
		struct backoff_policy p = pol(14, 3, 2, 4, 2, 40, (enum backoff_fn)fn); /* 5 backoff retries */
		ck_assert_int_eq(backoff_policy_check(&p, NULL, 0), 0);
		double d[15];
		for (unsigned k = 1; k <= 14; k++)
			d[k] = backoff_delay(&p, k, 0.5);
		for (unsigned k = 1; k <= 3; k++)
			ck_assert_double_eq(d[k], 0);
		ck_assert_double_eq_tol(d[4], 2, EPS);
		ck_assert_double_eq_tol(d[5], 2, EPS);
		ck_assert_double_eq_tol(d[6], 2, EPS);   /* the backoff phase starts at min */
		ck_assert_double_eq_tol(d[10], 40, EPS); /* and ends at max */
		for (unsigned k = 6; k < 10; k++)
			ck_assert_msg(d[k + 1] > d[k], "%s: retry %u %g, %u %g", backoff_fn_name(fn), k, d[k], k + 1,
				      d[k + 1]);
		for (unsigned k = 11; k <= 14; k++)
			ck_assert_double_eq_tol(d[k], 40, EPS);
		ck_assert_double_eq(backoff_delay(&p, 15, 0.5), -1);
		/* immediate retries are 0 whatever the jitter */
		for (unsigned k = 1; k <= 3; k++) {
			ck_assert_double_eq(backoff_delay(&p, k, 0), 0);
			ck_assert_double_eq(backoff_delay(&p, k, 1), 0);
		}
	}
}
END_TEST

/* Each function's backoff phase, values from its definition in
 * backoff.h. */
START_TEST(test_schedules)
{
	static const struct {
		enum backoff_fn fn;
		double lo, hi;
		double want[5];
	} cases[] = {
		{ BACKOFF_LINEAR, 10, 50, { 10, 20, 30, 40, 50 } },
		/* t^2 at t = 0, 1/4, 1/2, 3/4, 1: 0, 1/16, 1/4, 9/16, 1 */
		{ BACKOFF_ARITHMETIC, 10, 50, { 10, 12.5, 20, 32.5, 50 } },
		/* a constant ratio: (16/1)^(1/4) = 2 */
		{ BACKOFF_GEOMETRIC, 1, 16, { 1, 2, 4, 8, 16 } },
		{ BACKOFF_GEOMETRIC, 5, 405, { 5, 15, 45, 135, 405 } },
		/* the excess over min doubles: (2^i - 1) / 15 of 150 */
		{ BACKOFF_EXPONENTIAL, 10, 160, { 10, 20, 40, 80, 160 } },
		{ BACKOFF_EXPONENTIAL, 1, 31, { 1, 3, 7, 15, 31 } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct backoff_policy p = pol(5, 0, 0, 0, cases[c].lo, cases[c].hi, cases[c].fn);
		for (unsigned k = 1; k <= 5; k++)
			ck_assert_msg(fabs(backoff_delay(&p, k, 0.5) - cases[c].want[k - 1]) < 1e-6,
				      "%s case %zu retry %u: %g, want %g", backoff_fn_name(cases[c].fn), c, k,
				      backoff_delay(&p, k, 0.5), cases[c].want[k - 1]);
	}
}
END_TEST

/* Linear is the straight line; the others bend below it (slow start, fast
 * end); all stay within [min, max] and rise, for every phase length. */
START_TEST(test_shapes)
{
	for (unsigned n = 1; n <= 100; n++) {
		double prev[4] = { 0 };
		for (unsigned k = 1; k <= n; k++) {
			struct backoff_policy lin = pol(n, 0, 0, 0, 3, 600, BACKOFF_LINEAR);
			double l = backoff_delay(&lin, k, 0.5);
			for (int fn = 0; fn < 4; fn++) {
				struct backoff_policy p = pol(n, 0, 0, 0, 3, 600, (enum backoff_fn)fn);
				double d = backoff_delay(&p, k, 0.5);
				ck_assert(isfinite(d));
				ck_assert_double_ge(d, 3 - EPS);
				ck_assert_double_le(d, 600 + EPS);
				ck_assert_double_le(d, l + 1e-6);
				/* strictly, but for exponential's first retries when
				 * the phase is long: 2^-60 of the range is no step
				 * a double can show */
				if (k > 1 && (fn != BACKOFF_EXPONENTIAL || n <= 40))
					ck_assert_msg(d > prev[fn], "%s n %u k %u", backoff_fn_name(fn), n, k);
				if (k > 1)
					ck_assert_double_ge(d, prev[fn]);
				if (k == 1)
					ck_assert_double_eq_tol(d, 3, EPS);
				if (k == n && n > 1)
					ck_assert_double_eq_tol(d, 600, 1e-6);
				prev[fn] = d;
			}
		}
	}
	/* a single backoff retry waits min */
	struct backoff_policy p = pol(3, 1, 0, 1, 5, 50, BACKOFF_EXPONENTIAL);
	ck_assert_double_eq_tol(backoff_delay(&p, 2, 0.5), 5, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 3, 0.5), 50, EPS);
}
END_TEST

/* +-10%, bounded by [min, max]. */
START_TEST(test_jitter)
{
	struct backoff_policy p = pol(6, 0, 1, 1, 10, 100, BACKOFF_LINEAR); /* 10 | 10 40 70 100 | 100 */
	ck_assert_double_eq_tol(backoff_delay(&p, 3, 0), 36, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 3, 1), 44, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 3, 0.5), 40, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 4, 0), 63, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 4, 1), 77, EPS);
	/* min is a floor, max a ceiling */
	ck_assert_double_eq_tol(backoff_delay(&p, 1, 0), 10, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 1, 1), 11, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 6, 0), 90, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 6, 1), 100, EPS);
	/* out of [0, 1], NaN, infinities: clamped */
	ck_assert_double_eq_tol(backoff_delay(&p, 3, -5), 36, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 3, 7), 44, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 3, NAN), 36, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 3, INFINITY), 44, EPS);
	ck_assert_double_eq_tol(backoff_delay(&p, 3, -INFINITY), 36, EPS);
	/* random values: always within 10% and the bounds */
	srand(1);
	for (int i = 0; i < 100000; i++) {
		unsigned k = 1 + (unsigned)(rand() % 6);
		double r = rand() / (double)RAND_MAX, d = backoff_delay(&p, k, r), base = backoff_delay(&p, k, 0.5);
		ck_assert_double_ge(d, 10);
		ck_assert_double_le(d, 100);
		ck_assert_double_ge(d, base * 0.9 - EPS);
		ck_assert_double_le(d, base * 1.1 + EPS);
	}
}
END_TEST

/* The limits SNS puts on a policy. */
START_TEST(test_check)
{
	char err[200];
	/* a policy with every phase: 0 x3, 1 s x2, 10 backoff retries 1..60 s, 60 s x35 */
	struct backoff_policy p = pol(50, 3, 2, 35, 1, 60, BACKOFF_EXPONENTIAL);
	ck_assert_msg(backoff_policy_check(&p, err, sizeof err) == 0, "%s", err);
	ck_assert_double_le(backoff_total(&p), 3600);

	struct {
		struct backoff_policy p;
		const char *msg;
	} bad[] = {
		{ pol(101, 0, 0, 0, 1, 1, BACKOFF_LINEAR), "numRetries" },
		{ pol(5, 3, 2, 1, 1, 1, BACKOFF_LINEAR), "must not exceed numRetries" },
		{ pol(5, UINT32_MAX, 2, 1, 1, 1, BACKOFF_LINEAR), "must not exceed numRetries" },
		{ pol(5, 0, 0, 0, 0, 1, BACKOFF_LINEAR), "minDelayTarget" },
		{ pol(5, 0, 0, 0, 1.5, 2, BACKOFF_LINEAR), "minDelayTarget" },
		{ pol(5, 0, 0, 0, NAN, 2, BACKOFF_LINEAR), "minDelayTarget" },
		{ pol(5, 0, 0, 0, 10, 5, BACKOFF_LINEAR), "maxDelayTarget" },
		{ pol(5, 0, 0, 0, 10, 3601, BACKOFF_LINEAR), "maxDelayTarget" },
		{ pol(5, 0, 0, 0, 10, INFINITY, BACKOFF_LINEAR), "maxDelayTarget" },
		{ pol(5, 0, 0, 0, 10, 20, (enum backoff_fn)9), "backoffFunction" },
		/* 100 retries a minute apart: 6000 s */
		{ pol(100, 0, 0, 0, 60, 60, BACKOFF_LINEAR), "3600" },
		{ pol(2, 0, 0, 0, 3600, 3600, BACKOFF_LINEAR), "3600" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(backoff_policy_check(&bad[i].p, err, sizeof err) == -1, "bad policy %zu accepted", i);
		ck_assert_msg(strstr(err, bad[i].msg) != NULL, "bad policy %zu: %s", i, err);
	}
	/* just at the limit */
	p = pol(60, 0, 0, 0, 60, 60, BACKOFF_LINEAR);
	ck_assert_int_eq(backoff_policy_check(&p, err, sizeof err), 0);
	p = pol(0, 0, 0, 0, 1, 1, BACKOFF_LINEAR);
	ck_assert_int_eq(backoff_policy_check(&p, err, sizeof err), 0);
	ck_assert_double_eq(backoff_delay(&p, 1, 0.5), -1);
}
END_TEST

/* A policy that failed its check still gives finite, bounded delays. */
START_TEST(test_nonsense_policy)
{
	struct backoff_policy ps[] = {
		pol(5, 3, 2, 4, 1, 10, BACKOFF_LINEAR),                      /* phases overflow numRetries */
		pol(5, UINT32_MAX, UINT32_MAX, 4, 1, 10, BACKOFF_GEOMETRIC), /* sums overflow unsigned */
		pol(5, 0, 0, 0, 50, 10, BACKOFF_ARITHMETIC),                 /* min > max */
		pol(5, 0, 0, 0, -5, NAN, BACKOFF_EXPONENTIAL),               /* negative, NaN */
		pol(5, 0, 0, 0, 0, 1e300, BACKOFF_GEOMETRIC),                /* 0 and huge */
		pol(5, 0, 0, 0, 1, 10, (enum backoff_fn)77),                 /* unknown function */
		pol(UINT32_MAX, 0, 0, 0, 1, 10, BACKOFF_EXPONENTIAL),
	};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
		for (unsigned k = 0; k <= 7; k++) {
			double d = backoff_delay(&ps[i], k, 0.3);
			ck_assert_msg(isfinite(d) && (d == -1 || (d >= 0 && d <= 3600)), "policy %zu k %u: %g", i, k, d);
		}
		ck_assert(isfinite(backoff_total(&ps[i])));
	}
	/* the last one: a huge backoff phase, exponential: no overflow */
	double d = backoff_delay(&ps[6], UINT32_MAX, 0.5);
	ck_assert_double_eq_tol(d, 10, 1e-6);
	d = backoff_delay(&ps[6], 2, 0.5);
	ck_assert_double_eq_tol(d, 1, 1e-6);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("backoff");
	tcase_add_test(tc, test_fn_names);
	tcase_add_test(tc, test_default_policy);
	tcase_add_test(tc, test_phases);
	tcase_add_test(tc, test_schedules);
	tcase_add_test(tc, test_shapes);
	tcase_add_test(tc, test_jitter);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_nonsense_policy);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
