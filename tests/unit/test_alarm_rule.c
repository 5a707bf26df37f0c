/* test_alarm_rule.c - src/control/alarm_rule.c: the CloudWatch
 * documentation's AlarmRule examples, quoting, precedence, the errors and
 * their columns, the nesting and length limits, and random input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/alarm_rule.h"

/* the alarms' states ------------------------------------------------------- */

struct st {
	const char *name;
	int state;
};

static struct st states[16];
static size_t nstates;
static int lookups;

static void set(const char *name, int state)
{
	size_t i;
	for (i = 0; i < nstates; i++)
		if (!strcmp(states[i].name, name))
			break;
	ck_assert_uint_lt(i, 16);
	if (i == nstates)
		nstates++;
	states[i] = (struct st){ name, state };
}

static int state_of(void *arg, const char *name)
{
	(void)arg;
	lookups++;
	for (size_t i = 0; i < nstates; i++)
		if (!strcmp(states[i].name, name))
			return states[i].state;
	return AR_UNKNOWN;
}

static void reset(void)
{
	nstates = 0;
	lookups = 0;
}

/* Parse TEXT (which must parse) and evaluate it. */
static int eval(const char *text)
{
	char err[256];
	struct ar_rule *r = ar_parse(text, err, sizeof err);
	int v;
	ck_assert_msg(r != NULL, "%s: %s", text, err);
	v = ar_eval(r, state_of, NULL);
	ar_free(r);
	return v;
}

/* TEXT must fail with a message containing WANT. */
static void bad(const char *text, const char *want)
{
	char err[256];
	struct ar_rule *r = ar_parse(text, err, sizeof err);
	ck_assert_msg(r == NULL, "%s parsed", text);
	ck_assert_msg(strstr(err, want) != NULL, "%s: \"%s\" lacks \"%s\"", text, err, want);
}

/* the documentation's examples --------------------------------------------- */

START_TEST(doc_and)
{
	/* "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh) specifies
	 * that the composite alarm goes into ALARM state only if both ... are in
	 * ALARM state." */
	const char *rule = "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)";
	reset();
	set("CPUUtilizationTooHigh", AR_ALARM);
	set("DiskReadOpsTooHigh", AR_ALARM);
	ck_assert_int_eq(eval(rule), 1);
	set("DiskReadOpsTooHigh", AR_OK);
	ck_assert_int_eq(eval(rule), 0);
	set("DiskReadOpsTooHigh", AR_INSUFFICIENT_DATA);
	ck_assert_int_eq(eval(rule), 0);
}
END_TEST

START_TEST(doc_and_not)
{
	/* "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)" */
	const char *rule = "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)";
	reset();
	set("CPUUtilizationTooHigh", AR_ALARM);
	set("DeploymentInProgress", AR_OK);
	ck_assert_int_eq(eval(rule), 1);
	set("DeploymentInProgress", AR_ALARM);
	ck_assert_int_eq(eval(rule), 0);
}
END_TEST

START_TEST(doc_grouped)
{
	/* "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND
	 * OK(NetworkOutTooHigh)" */
	const char *rule = "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)";
	reset();
	set("CPUUtilizationTooHigh", AR_OK);
	set("DiskReadOpsTooHigh", AR_ALARM);
	set("NetworkOutTooHigh", AR_OK);
	ck_assert_int_eq(eval(rule), 1);
	set("NetworkOutTooHigh", AR_ALARM);
	ck_assert_int_eq(eval(rule), 0);
	set("NetworkOutTooHigh", AR_OK);
	set("DiskReadOpsTooHigh", AR_OK);
	ck_assert_int_eq(eval(rule), 0);
}
END_TEST

START_TEST(states_and_constants)
{
	reset();
	set("a", AR_INSUFFICIENT_DATA);
	ck_assert_int_eq(eval("INSUFFICIENT_DATA(a)"), 1);
	ck_assert_int_eq(eval("OK(a)"), 0);
	ck_assert_int_eq(eval("ALARM(a)"), 0);
	ck_assert_int_eq(eval("TRUE"), 1);
	ck_assert_int_eq(eval("FALSE"), 0);
	ck_assert_int_eq(eval("NOT FALSE"), 1);
	ck_assert_int_eq(eval("NOT NOT TRUE"), 1);
	ck_assert_int_eq(eval("TRUE AND FALSE"), 0);
	ck_assert_int_eq(eval("TRUE OR FALSE"), 1);
}
END_TEST

/* quoting and names -------------------------------------------------------- */

START_TEST(quoting)
{
	struct ar_rule *r;
	const char *const *names;
	char err[128];
	reset();
	set("my alarm", AR_ALARM);
	set("arn:aws:cloudwatch:us-east-1:123456789012:alarm:x", AR_OK);
	/* "can be surrounded with double-quotes ("), but do not have to be" */
	ck_assert_int_eq(eval("ALARM(\"my alarm\")"), 1);
	ck_assert_int_eq(eval("ALARM( my alarm )"), 1);
	ck_assert_int_eq(eval("OK(arn:aws:cloudwatch:us-east-1:123456789012:alarm:x)"), 1);
	ck_assert_int_eq(eval("OK( \"arn:aws:cloudwatch:us-east-1:123456789012:alarm:x\" )"), 1);

	r = ar_parse("ALARM(b) OR OK(\"a\") AND ALARM(b) OR INSUFFICIENT_DATA(c)", err, sizeof err);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(ar_names(r, &names), 3);
	ck_assert_str_eq(names[0], "b");
	ck_assert_str_eq(names[1], "a");
	ck_assert_str_eq(names[2], "c");
	ar_free(r);

	r = ar_parse("TRUE", err, sizeof err);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(ar_names(r, &names), 0);
	ar_free(r);
}
END_TEST

/* precedence --------------------------------------------------------------- */

START_TEST(precedence)
{
	reset();
	set("a", AR_ALARM);
	set("b", AR_OK);
	set("c", AR_OK);
	/* AND before OR: a OR (b AND c) */
	ck_assert_int_eq(eval("ALARM(a) OR ALARM(b) AND ALARM(c)"), 1);
	ck_assert_int_eq(eval("(ALARM(a) OR ALARM(b)) AND ALARM(c)"), 0);
	ck_assert_int_eq(eval("ALARM(b) AND ALARM(c) OR ALARM(a)"), 1);
	/* NOT before AND: (NOT a) AND b */
	ck_assert_int_eq(eval("NOT ALARM(a) AND OK(b)"), 0);
	ck_assert_int_eq(eval("NOT (ALARM(a) AND ALARM(b))"), 1);
	ck_assert_int_eq(eval("NOT ALARM(a) OR OK(b)"), 1);
	/* long chains */
	ck_assert_int_eq(eval("OK(b) AND OK(c) AND ALARM(a) AND TRUE"), 1);
	ck_assert_int_eq(eval("FALSE OR FALSE OR OK(a) OR ALARM(a)"), 1);
}
END_TEST

/* unknown alarms ------------------------------------------------------------- */

START_TEST(unknown)
{
	reset();
	set("a", AR_ALARM);
	ck_assert_int_eq(eval("ALARM(a) OR ALARM(nope)"), -1);
	ck_assert_int_eq(eval("FALSE AND ALARM(nope)"), -1);
	/* every name is looked up, whatever short-circuiting would allow */
	lookups = 0;
	ck_assert_int_eq(eval("TRUE OR ALARM(a) OR OK(a)"), 1);
	ck_assert_int_eq(lookups, 2);
	set("bad", 7);
	ck_assert_int_eq(eval("ALARM(bad)"), -1);
}
END_TEST

/* errors --------------------------------------------------------------------- */

START_TEST(errors)
{
	bad("", "empty rule at column 1");
	bad("   ", "empty rule");
	bad("ALARM(a) AND", "unexpected end of the rule at column 13");
	bad("ALARM(a) AND AND ALARM(b)", "unknown function or keyword 'AND' (expected ALARM, OK, INSUFFICIENT_DATA, "
					    "NOT, TRUE, FALSE or '(') at column 14");
	bad("alarm(a)", "unknown function or keyword 'alarm'");
	bad("alarm(a)", "at column 1");
	bad("ALARM(a) and ALARM(b)", "unexpected 'and' (expected AND, OR or the end) at column 10");
	bad("ALARM a", "expected '(' after ALARM at column 7");
	bad("ALARM()", "empty alarm name at column 7");
	bad("ALARM(\"\")", "empty alarm name at column 8");
	bad("ALARM(  )", "empty alarm name");
	bad("ALARM(\"a)", "unterminated quoted alarm name at column 7");
	bad("ALARM(\"a\" b)", "expected ')' after the alarm name at column 11");
	bad("ALARM(a", "expected ')' after the alarm name at column 8");
	bad("ALARM(a(b))", "unexpected '(' in an alarm name at column 8");
	bad("(ALARM(a)", "missing ')' (end of the rule) at column 10");
	bad("(ALARM(a) ALARM(b))", "expected ')' at column 11");
	bad("ALARM(a))", "unexpected ')' (expected AND, OR or the end) at column 9");
	bad("ALARM(a) ALARM(b)", "unexpected 'ALARM'");
	bad("TRUE FALSE", "at column 6");
	bad("NOT", "unexpected end of the rule at column 4");
	bad("()", "unexpected ')' at column 2");
	bad("ALARM(a) & ALARM(b)", "unexpected '&'");
	bad("TRUEAND FALSE", "unknown function or keyword 'TRUEAND'");
}
END_TEST

START_TEST(length_limit)
{
	char *s = malloc(AR_MAX_LEN + 2);
	struct ar_rule *r;
	char err[128];
	size_t n;
	ck_assert_ptr_nonnull(s);
	/* exactly 10240 characters: "TRUE" then " OR TRUE"s, padded with blanks */
	strcpy(s, "TRUE");
	n = 4;
	while (n + 8 <= AR_MAX_LEN) {
		memcpy(s + n, " OR TRUE", 8);
		n += 8;
	}
	while (n < AR_MAX_LEN)
		s[n++] = ' ';
	s[n] = '\0';
	r = ar_parse(s, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(ar_eval(r, state_of, NULL), 1);
	ar_free(r);
	s[n++] = ' ';
	s[n] = '\0';
	ck_assert_ptr_null(ar_parse(s, err, sizeof err));
	ck_assert_str_eq(err, "the rule is 10241 characters long; the maximum is 10240");
	free(s);
}
END_TEST

START_TEST(nesting_limit)
{
	char s[4096], err[128];
	struct ar_rule *r;
	size_t n = 0;
	int i;
	/* 100 levels of parentheses parse */
	for (i = 0; i < AR_MAX_DEPTH; i++)
		s[n++] = '(';
	memcpy(s + n, "TRUE", 4);
	n += 4;
	for (i = 0; i < AR_MAX_DEPTH; i++)
		s[n++] = ')';
	s[n] = '\0';
	r = ar_parse(s, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(ar_eval(r, state_of, NULL), 1);
	ar_free(r);
	/* 101 do not */
	memmove(s + 1, s, n + 1);
	s[0] = '(';
	strcat(s, ")");
	ck_assert_ptr_null(ar_parse(s, err, sizeof err));
	ck_assert_str_eq(err, "nesting deeper than 100 at column 101");
	/* nor do 101 NOTs, or NOTs and parentheses mixed */
	s[0] = '\0';
	for (i = 0; i <= AR_MAX_DEPTH; i++)
		strcat(s, "NOT ");
	strcat(s, "TRUE");
	ck_assert_ptr_null(ar_parse(s, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "nesting deeper than 100"));
	s[0] = '\0';
	for (i = 0; i < 60; i++)
		strcat(s, "NOT (");
	ck_assert_ptr_null(ar_parse(s, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "nesting deeper than 100"));
	/* 100 NOTs: even */
	s[0] = '\0';
	for (i = 0; i < AR_MAX_DEPTH; i++)
		strcat(s, "NOT ");
	strcat(s, "FALSE");
	r = ar_parse(s, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(ar_eval(r, state_of, NULL), 0);
	ar_free(r);
	/* a very deep input is refused quickly, not recursed into */
	{
		char *deep = malloc(AR_MAX_LEN + 1);
		ck_assert_ptr_nonnull(deep);
		memset(deep, '(', AR_MAX_LEN);
		deep[AR_MAX_LEN] = '\0';
		ck_assert_ptr_null(ar_parse(deep, err, sizeof err));
		ck_assert_ptr_nonnull(strstr(err, "nesting deeper than 100"));
		free(deep);
	}
}
END_TEST

START_TEST(alarm_limit)
{
	char s[4096], err[128];
	struct ar_rule *r;
	const char *const *names;
	int i;
	/* 100 distinct alarms, each named twice */
	strcpy(s, "FALSE");
	for (i = 0; i < 2 * AR_MAX_ALARMS; i++)
		sprintf(s + strlen(s), " OR ALARM(a%d)", i % AR_MAX_ALARMS);
	r = ar_parse(s, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_uint_eq(ar_names(r, &names), AR_MAX_ALARMS);
	ck_assert_str_eq(names[99], "a99");
	ar_free(r);
	/* a 101st */
	strcat(s, " OR OK(\"extra\")");
	ck_assert_ptr_null(ar_parse(s, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "more than 100 alarms in the rule at column"));
}
END_TEST

/* random input never crashes ------------------------------------------------ */

START_TEST(garbage)
{
	static const char *const pieces[] = { "ALARM(", "OK(", "INSUFFICIENT_DATA(", "\"", "a", "b c", ")", "(",
					      " AND ", " OR ", "NOT ", "TRUE", "FALSE", " ", "\t", "x", "&", "\\",
					      "ALARM", "\xff", "0" };
	char s[512], err[256];
	unsigned seed = 12345;
	reset();
	set("a", AR_ALARM);
	set("b c", AR_OK);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		int k;
		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 16) % 24);
		s[0] = '\0';
		while (k-- > 0) {
			const char *p;
			seed = seed * 1103515245u + 12345u;
			p = pieces[(seed >> 16) % (sizeof pieces / sizeof *pieces)];
			if (n + strlen(p) + 1 >= sizeof s)
				break;
			strcpy(s + n, p);
			n += strlen(p);
		}
		struct ar_rule *r = ar_parse(s, err, sizeof err);
		if (r) {
			int v = ar_eval(r, state_of, NULL);
			ck_assert(v >= -1 && v <= 1);
			ar_free(r);
		} else {
			ck_assert_ptr_nonnull(strstr(err, "column"));
		}
	}
	/* random bytes too */
	for (int iter = 0; iter < 5000; iter++) {
		size_t n;
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 64;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = (char)(1 + (seed >> 16) % 255);
		}
		s[n] = '\0';
		struct ar_rule *r = ar_parse(s, err, sizeof err);
		ar_free(r);
	}
	ck_assert_ptr_null(ar_parse(NULL, err, sizeof err));
	ck_assert_ptr_null(ar_parse("(", NULL, 0));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("alarm_rule");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, doc_and);
	tcase_add_test(tc, doc_and_not);
	tcase_add_test(tc, doc_grouped);
	tcase_add_test(tc, states_and_constants);
	tcase_add_test(tc, quoting);
	tcase_add_test(tc, precedence);
	tcase_add_test(tc, unknown);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, length_limit);
	tcase_add_test(tc, nesting_limit);
	tcase_add_test(tc, alarm_limit);
	tcase_add_test(tc, garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
