/* test_metric_label.c - src/control/metric_label.c: every dynamic label
 * value of CloudWatch's "Use dynamic labels" that albd expands, the
 * number and time formats, and what is left as it is. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "control/metric_label.h"

static const struct store_dim dims[] = { { "LoadBalancer", "lb1" }, { "TargetGroup", "web" } };
static const int64_t ts[] = { 1796102100, 1796102160, 1796102220, 1796102280 };
static const double vs[] = { 4, 0.5, 10.25, 2 };

static struct mlabel_ctx ctx(void)
{
	return (struct mlabel_ctx){ "AWS/ApplicationELB", "RequestCount", "Sum", dims, 2, 60, "eu-west-1",
				    "123456789012", "RequestCount", ts, vs, 4 };
}

static void expect(const struct mlabel_ctx *c, const char *label, const char *want)
{
	char *got = mlabel_expand(label, c);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", label, got, want);
	free(got);
}

START_TEST(test_properties)
{
	struct mlabel_ctx c = ctx();
	expect(&c, "${PROP('MetricName')} of ${PROP('Namespace')}", "RequestCount of AWS/ApplicationELB");
	expect(&c, "${PROP('Dim.TargetGroup')}/${PROP('Dim.LoadBalancer')}", "web/lb1");
	expect(&c, "${PROP('Stat')} per ${PROP('Period')} s", "Sum per 60 s");
	expect(&c, "${PROP('Region')}:${PROP('AccountId')}", "eu-west-1:123456789012");
	expect(&c, "[${LABEL}]", "[RequestCount]");
	/* what the query has not: left as it is */
	expect(&c, "${PROP('Dim.Target')}", "${PROP('Dim.Target')}");
	c.ns = c.name = c.stat = NULL;
	c.period = 0;
	expect(&c, "${PROP('MetricName')} ${PROP('Period')}", "${PROP('MetricName')} ${PROP('Period')}");
}
END_TEST

START_TEST(test_values)
{
	struct mlabel_ctx c = ctx();
	expect(&c, "avg ${AVG} max ${MAX} min ${MIN} sum ${SUM}", "avg 4.1875 max 10.25 min 0.5 sum 16.75");
	expect(&c, "${FIRST} ${LAST} ${DATAPOINT_COUNT}", "4 2 4");
	expect(&c, "${MIN_MAX_RANGE} ${FIRST_LAST_RANGE}", "9.75 -2");
	expect(&c, "${FIRST_TIME} ${LAST_TIME} ${MIN_TIME} ${MAX_TIME}",
	       "2026-12-01T05:15:00Z 2026-12-01T05:18:00Z 2026-12-01T05:16:00Z 2026-12-01T05:17:00Z");
	/* the shortest decimal that reads back */
	static const double third[] = { 1.0 / 3 };
	c.v = third;
	c.n = 1;
	expect(&c, "${AVG}", "0.3333333333333333");
	static const double big[] = { 1e20 };
	c.v = big;
	expect(&c, "${MAX}", "1e+20");
	/* a value that is not finite is not a datapoint */
	static const double gap[] = { 1, (double)NAN, 3, (double)INFINITY };
	c.v = gap;
	c.n = 4;
	expect(&c, "${DATAPOINT_COUNT} ${SUM} ${LAST}", "2 4 3");
	/* no datapoints: a count of 0, the values of the data left */
	c.n = 0;
	expect(&c, "${DATAPOINT_COUNT} ${AVG} ${MAX_TIME}", "0 ${AVG} ${MAX_TIME}");
}
END_TEST

START_TEST(test_left_as_is)
{
	struct mlabel_ctx c = ctx();
	expect(&c, "plain", "plain");
	expect(&c, "", "");
	expect(&c, "${NOPE} ${FIRST_TIME_RELATIVE} ${MIN_MAX_TIME_RANGE} ${PROP('Foo')}",
	       "${NOPE} ${FIRST_TIME_RELATIVE} ${MIN_MAX_TIME_RANGE} ${PROP('Foo')}");
	expect(&c, "${SUM", "${SUM");
	expect(&c, "$${SUM}}", "$16.75}");
	expect(&c, "${}${SUM}", "${}16.75");
	ck_assert(mlabel_dynamic("a ${SUM}"));
	ck_assert(!mlabel_dynamic("a $SUM"));
	ck_assert(!mlabel_dynamic(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metric_label");
	TCase *tc = tcase_create("expand");
	tcase_add_test(tc, test_properties);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_left_as_is);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
