/* test_filter_policy.c - src/control/filter_policy.c: each operator with the
 * SNS developer guide's matching and non-matching examples, AND/OR, missing
 * attributes, String.Array and Number attributes, the numeric edge cases,
 * and the policies that must be refused (with their messages). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/filter_policy.h"

static struct fp_policy *parse(const char *json)
{
	char err[256];
	struct fp_policy *p = fp_parse(json, err, sizeof err);
	ck_assert_msg(p != NULL, "%s: %s", json, err);
	return p;
}

/* Whether POLICY matches the one attribute NAME of TYPE with VALUE. */
static int one(const char *policy, const char *name, const char *type, const char *value)
{
	struct fp_policy *p = parse(policy);
	struct fp_attr a = { name, type, value };
	int r = fp_match(p, &a, 1);
	fp_free(p);
	return r;
}

static void bad(const char *policy, const char *want)
{
	char err[256];
	struct fp_policy *p = fp_parse(policy, err, sizeof err);
	ck_assert_msg(p == NULL, "%s parsed", policy);
	ck_assert_msg(strstr(err, want) != NULL, "%s: \"%s\" lacks \"%s\"", policy, err, want);
}

/* string matching ----------------------------------------------------------- */

START_TEST(string_exact)
{
	const char *p = "{\"customer_interests\": [\"rugby\", \"tennis\"]}";
	ck_assert_int_eq(one(p, "customer_interests", "String", "rugby"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "tennis"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String.Array", "[\"rugby\", \"tennis\"]"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "baseball"), 0);
	ck_assert_int_eq(one(p, "customer_interests", "String.Array", "[\"baseball\"]"), 0);
	/* case-sensitive */
	ck_assert_int_eq(one(p, "customer_interests", "String", "Rugby"), 0);
	/* a Number attribute is not a string */
	ck_assert_int_eq(one("{\"a\": [\"100\"]}", "a", "Number", "100"), 0);
	ck_assert_int_eq(one("{\"a\": [\"100\"]}", "a", "String", "100"), 1);
	/* custom type suffixes count as the base type */
	ck_assert_int_eq(one(p, "customer_interests", "String.sport", "rugby"), 1);
}
END_TEST

START_TEST(string_prefix_suffix)
{
	const char *p = "{\"customer_interests\": [{\"prefix\": \"bas\"}]}";
	ck_assert_int_eq(one(p, "customer_interests", "String", "baseball"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "basketball"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "rugby"), 0);
	ck_assert_int_eq(one(p, "customer_interests", "String", "ba"), 0);
	ck_assert_int_eq(one(p, "customer_interests", "String.Array", "[\"rugby\", \"bass\"]"), 1);
	p = "{\"customer_interests\": [{\"suffix\": \"ball\"}]}";
	ck_assert_int_eq(one(p, "customer_interests", "String", "baseball"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "basketball"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "rugby"), 0);
	ck_assert_int_eq(one(p, "customer_interests", "String", "all"), 0);
}
END_TEST

START_TEST(string_ignore_case)
{
	const char *p = "{\"customer_interests\": [{\"equals-ignore-case\": \"tennis\"}]}";
	ck_assert_int_eq(one(p, "customer_interests", "String", "TENNIS"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "Tennis"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "tennis"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "baseball"), 0);
	ck_assert_int_eq(one(p, "customer_interests", "String", "tennisx"), 0);
}
END_TEST

START_TEST(string_anything_but)
{
	const char *p = "{\"customer_interests\": [{\"anything-but\": [\"rugby\", \"tennis\"]}]}";
	ck_assert_int_eq(one(p, "customer_interests", "String", "baseball"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "football"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String", "rugby"), 0);
	ck_assert_int_eq(one(p, "customer_interests", "String", "tennis"), 0);
	/* "For String.Array type attributes, it matches if none of the array
	 * elements are listed in the policy property." */
	ck_assert_int_eq(one(p, "customer_interests", "String.Array", "[\"baseball\", \"football\"]"), 1);
	ck_assert_int_eq(one(p, "customer_interests", "String.Array", "[\"rugby\", \"baseball\"]"), 0);
	/* a missing attribute does not match anything-but */
	{
		struct fp_policy *pp = parse(p);
		ck_assert_int_eq(fp_match(pp, NULL, 0), 0);
		fp_free(pp);
	}
	/* a single value */
	ck_assert_int_eq(one("{\"a\": [{\"anything-but\": \"rugby\"}]}", "a", "String", "golf"), 1);
	ck_assert_int_eq(one("{\"a\": [{\"anything-but\": \"rugby\"}]}", "a", "String", "rugby"), 0);
	/* anything-but with a prefix, and a suffix */
	p = "{\"event_type\": [{\"anything-but\": {\"prefix\": \"order-\"}}]}";
	ck_assert_int_eq(one(p, "event_type", "String", "data-entry"), 1);
	ck_assert_int_eq(one(p, "event_type", "String", "order-cancelled"), 0);
	p = "{\"event_type\": [{\"anything-but\": {\"suffix\": \"-cancelled\"}}]}";
	ck_assert_int_eq(one(p, "event_type", "String", "order-created"), 1);
	ck_assert_int_eq(one(p, "event_type", "String", "order-cancelled"), 0);
	/* combined with "exists": false, a missing attribute matches */
	p = "{\"a\": [{\"anything-but\": \"x\"}, {\"exists\": false}]}";
	{
		struct fp_policy *pp = parse(p);
		struct fp_attr other = { "b", "String", "x" };
		ck_assert_int_eq(fp_match(pp, &other, 1), 1);
		fp_free(pp);
	}
	ck_assert_int_eq(one(p, "a", "String", "x"), 0);
	ck_assert_int_eq(one(p, "a", "String", "y"), 1);
}
END_TEST

/* numeric matching ---------------------------------------------------------- */

START_TEST(numeric_exact)
{
	const char *p = "{\"price_usd\": [{\"numeric\": [\"=\", 301.5]}]}";
	ck_assert_int_eq(one(p, "price_usd", "Number", "301.5"), 1);
	ck_assert_int_eq(one(p, "price_usd", "Number", "3.015e2"), 1);
	ck_assert_int_eq(one(p, "price_usd", "Number", "301.50001"), 0);
	ck_assert_int_eq(one(p, "price_usd", "String", "301.5"), 0);
	/* a bare number is an exact numeric match */
	ck_assert_int_eq(one("{\"price\": [100]}", "price", "Number", "100"), 1);
	ck_assert_int_eq(one("{\"price\": [100]}", "price", "Number", "1e2"), 1);
	ck_assert_int_eq(one("{\"price\": [100]}", "price", "Number", "100.0"), 1);
	ck_assert_int_eq(one("{\"price\": [100]}", "price", "Number", "101"), 0);
	ck_assert_int_eq(one("{\"price\": [100]}", "price", "Number", "abc"), 0);
	ck_assert_int_eq(one("{\"price\": [100]}", "price", "Number", ""), 0);
	ck_assert_int_eq(one("{\"price\": [100]}", "price", "String.Array", "[1, 100]"), 1);
}
END_TEST

START_TEST(numeric_anything_but)
{
	const char *p = "{\"price\": [{\"anything-but\": [100, 500]}]}";
	ck_assert_int_eq(one(p, "price", "Number", "101"), 1);
	ck_assert_int_eq(one(p, "price", "Number", "100.1"), 1);
	ck_assert_int_eq(one(p, "price", "Number", "100"), 0);
	ck_assert_int_eq(one(p, "price", "Number", "5e2"), 0);
	ck_assert_int_eq(one(p, "price", "String.Array", "[101, 50]"), 1);
	ck_assert_int_eq(one(p, "price", "String.Array", "[100, 50]"), 0);
	/* only numbers count against a list of numbers */
	ck_assert_int_eq(one(p, "price", "String", "cheap"), 0);
}
END_TEST

START_TEST(numeric_range)
{
	const char *p = "{\"price_usd\": [{\"numeric\": [\"<\", 0]}]}";
	ck_assert_int_eq(one(p, "price_usd", "Number", "-0.5"), 1);
	ck_assert_int_eq(one(p, "price_usd", "Number", "0"), 0);
	ck_assert_int_eq(one(p, "price_usd", "Number", "1"), 0);
	p = "{\"price_usd\": [{\"numeric\": [\">\", 0, \"<=\", 150]}]}";
	ck_assert_int_eq(one(p, "price_usd", "Number", "0"), 0);
	ck_assert_int_eq(one(p, "price_usd", "Number", "0.00001"), 1);
	ck_assert_int_eq(one(p, "price_usd", "Number", "150"), 1);
	ck_assert_int_eq(one(p, "price_usd", "Number", "150.00001"), 0);
	ck_assert_int_eq(one(p, "price_usd", "Number", "75"), 1);
	p = "{\"x\": [{\"numeric\": [\">=\", 10, \"<\", 20]}]}";
	ck_assert_int_eq(one(p, "x", "Number", "10"), 1);
	ck_assert_int_eq(one(p, "x", "Number", "20"), 0);
	ck_assert_int_eq(one(p, "x", "Number", "9.99999"), 0);
	p = "{\"x\": [{\"numeric\": [\">=\", 5]}]}";
	ck_assert_int_eq(one(p, "x", "Number", "5"), 1);
	ck_assert_int_eq(one(p, "x", "Number", "1000000000"), 1);
	ck_assert_int_eq(one(p, "x", "Number", "4"), 0);
}
END_TEST

START_TEST(numeric_edges)
{
	/* five digits after the decimal point */
	const char *p = "{\"x\": [{\"numeric\": [\"=\", 0.00001]}]}";
	ck_assert_int_eq(one(p, "x", "Number", "0.00001"), 1);
	ck_assert_int_eq(one(p, "x", "Number", "0.000010000001"), 1);
	ck_assert_int_eq(one(p, "x", "Number", "0.00002"), 0);
	ck_assert_int_eq(one(p, "x", "Number", "1e-5"), 1);
	/* -1e9 .. 1e9 */
	ck_assert_int_eq(one("{\"x\": [1000000000]}", "x", "Number", "1e9"), 1);
	ck_assert_int_eq(one("{\"x\": [-1000000000]}", "x", "Number", "-1000000000"), 1);
	ck_assert_int_eq(one("{\"x\": [{\"numeric\": [\">\", 0]}]}", "x", "Number", "1e10"), 0);
	ck_assert_int_eq(one("{\"x\": [{\"numeric\": [\">\", 0]}]}", "x", "Number", "inf"), 0);
	ck_assert_int_eq(one("{\"x\": [{\"numeric\": [\">\", 0]}]}", "x", "Number", "nan"), 0);
	ck_assert_int_eq(one("{\"x\": [{\"numeric\": [\">\", 0]}]}", "x", "Number", "12abc"), 0);
	ck_assert_int_eq(one("{\"x\": [0]}", "x", "Number", "-0"), 1);
	bad("{\"x\": [1000000001]}", "key \"x\": 1e+09 is outside -1e9..1e9");
	bad("{\"x\": [{\"numeric\": [\">\", -2e9]}]}", "outside -1e9..1e9");
	bad("{\"x\": [{\"anything-but\": [1e10]}]}", "outside -1e9..1e9");
}
END_TEST

/* IP address matching --------------------------------------------------------- */

START_TEST(cidr)
{
	const char *p = "{\"source_ip\": [{\"cidr\": \"10.0.0.0/24\"}]}";
	ck_assert_int_eq(one(p, "source_ip", "String", "10.0.0.0"), 1);
	ck_assert_int_eq(one(p, "source_ip", "String", "10.0.0.255"), 1);
	ck_assert_int_eq(one(p, "source_ip", "String", "10.0.1.0"), 0);
	ck_assert_int_eq(one(p, "source_ip", "String", "10.0.0"), 0);
	ck_assert_int_eq(one(p, "source_ip", "String", "::ffff:10.0.0.1"), 0);
	ck_assert_int_eq(one(p, "source_ip", "String.Array", "[\"192.168.0.1\", \"10.0.0.7\"]"), 1);
	p = "{\"ip\": [{\"cidr\": \"10.1.2.3/13\"}]}";
	ck_assert_int_eq(one(p, "ip", "String", "10.7.255.255"), 1);
	ck_assert_int_eq(one(p, "ip", "String", "10.8.0.0"), 0);
	p = "{\"ip\": [{\"cidr\": \"2001:db8::/32\"}]}";
	ck_assert_int_eq(one(p, "ip", "String", "2001:db8:1::5"), 1);
	ck_assert_int_eq(one(p, "ip", "String", "2001:db9::1"), 0);
	ck_assert_int_eq(one(p, "ip", "String", "10.0.0.1"), 0);
	ck_assert_int_eq(one("{\"ip\": [{\"cidr\": \"0.0.0.0/0\"}]}", "ip", "String", "8.8.8.8"), 1);
	ck_assert_int_eq(one("{\"ip\": [{\"cidr\": \"1.2.3.4\"}]}", "ip", "String", "1.2.3.4"), 1);
	ck_assert_int_eq(one("{\"ip\": [{\"cidr\": \"1.2.3.4\"}]}", "ip", "String", "1.2.3.5"), 0);
}
END_TEST

/* key matching ---------------------------------------------------------------- */

START_TEST(exists)
{
	const char *p = "{\"store\": [{\"exists\": true}]}";
	struct fp_policy *pp;
	struct fp_attr a[2] = { { "store", "String", "example_corp" }, { "price_usd", "Number", "511.5" } };
	ck_assert_int_eq(one(p, "store", "String", "example_corp"), 1);
	ck_assert_int_eq(one(p, "store", "Binary", "AAAA"), 1);
	ck_assert_int_eq(one(p, "price_usd", "Number", "1"), 0);
	p = "{\"store\": [{\"exists\": false}]}";
	ck_assert_int_eq(one(p, "store", "String", "example_corp"), 0);
	ck_assert_int_eq(one(p, "price_usd", "Number", "1"), 1);
	pp = parse(p);
	ck_assert_int_eq(fp_match(pp, NULL, 0), 1);
	ck_assert_int_eq(fp_match(pp, a, 2), 0);
	ck_assert_int_eq(fp_match(pp, a + 1, 1), 1);
	fp_free(pp);
}
END_TEST

/* AND / OR ------------------------------------------------------------------- */

START_TEST(and_or)
{
	/* the developer guide's example policy */
	const char *p = "{"
			"\"store\": [\"example_corp\"],"
			"\"event\": [{\"anything-but\": \"order_cancelled\"}],"
			"\"customer_interests\": [\"rugby\", \"football\", \"baseball\"],"
			"\"price_usd\": [{\"numeric\": [\">=\", 100]}]"
			"}";
	struct fp_policy *pp = parse(p);
	struct fp_attr m[] = {
		{ "store", "String", "example_corp" },
		{ "event", "String", "order_placed" },
		{ "customer_interests", "String", "soccer" },
		{ "price_usd", "Number", "210.75" },
		{ "unrelated", "String", "ignored" },
	};
	/* soccer is none of the interests */
	ck_assert_int_eq(fp_match(pp, m, 5), 0);
	m[2].value = "football";
	ck_assert_int_eq(fp_match(pp, m, 5), 1);
	m[2].value = "baseball";
	ck_assert_int_eq(fp_match(pp, m, 5), 1);
	/* every key must match */
	m[3].value = "99.99";
	ck_assert_int_eq(fp_match(pp, m, 5), 0);
	m[3].value = "100";
	m[1].value = "order_cancelled";
	ck_assert_int_eq(fp_match(pp, m, 5), 0);
	m[1].value = "order_placed";
	/* a missing attribute fails its key */
	ck_assert_int_eq(fp_match(pp, m, 3), 0);
	ck_assert_int_eq(fp_match(pp, m + 1, 4), 0);
	/* order does not matter; the first of duplicate names counts */
	{
		struct fp_attr r[] = { m[3], m[2], m[1], m[0], { "store", "String", "other" } };
		ck_assert_int_eq(fp_match(pp, r, 5), 1);
	}
	fp_free(pp);
	/* OR across different operators of one key */
	p = "{\"k\": [\"a\", {\"prefix\": \"b\"}, {\"numeric\": [\">\", 10]}, 5]}";
	ck_assert_int_eq(one(p, "k", "String", "a"), 1);
	ck_assert_int_eq(one(p, "k", "String", "bcd"), 1);
	ck_assert_int_eq(one(p, "k", "Number", "11"), 1);
	ck_assert_int_eq(one(p, "k", "Number", "5"), 1);
	ck_assert_int_eq(one(p, "k", "Number", "6"), 0);
	ck_assert_int_eq(one(p, "k", "String", "c"), 0);
	/* the empty policy matches everything */
	pp = parse("{}");
	ck_assert_int_eq(fp_match(pp, NULL, 0), 1);
	ck_assert_int_eq(fp_match(pp, m, 5), 1);
	fp_free(pp);
	/* a malformed String.Array has no values */
	ck_assert_int_eq(one("{\"k\": [\"a\"]}", "k", "String.Array", "not json"), 0);
	ck_assert_int_eq(one("{\"k\": [{\"exists\": true}]}", "k", "String.Array", "not json"), 1);
}
END_TEST

/* invalid policies ----------------------------------------------------------- */

START_TEST(invalid)
{
	char big[300];
	bad("", "invalid JSON at line");
	bad("{\"a\": [\"x\"]", "invalid JSON");
	bad("[\"a\"]", "the policy must be a JSON object");
	bad("{\"a\": [\"x\"], \"a\": [\"y\"]}", "invalid JSON");
	bad("{\"a\": [1], \"b\": [1], \"c\": [1], \"d\": [1], \"e\": [1], \"f\": [1]}",
	    "the policy has 6 keys; the maximum is 5");
	bad("{\"a\": \"x\"}", "key \"a\": the value must be an array of conditions");
	bad("{\"a\": []}", "key \"a\": the array of conditions is empty");
	bad("{\"a\": {\"b\": [\"x\"]}}", "key \"a\": nested filter policies are not accepted");
	bad("{\"a\": [{\"b\": [\"x\"]}]}", "\"b\" is not an operator; nested filter policies are not accepted");
	bad("{\"a\": [[\"x\"]]}", "a condition must be a string, a number or an operator object, not an array");
	bad("{\"a\": [null]}", "not null");
	bad("{\"a\": [true]}", "not a boolean");
	bad("{\"a\": [{\"prefix\": \"x\", \"suffix\": \"y\"}]}", "exactly one operator, not 2");
	bad("{\"a\": [{\"prefix\": 5}]}", "key \"a\": prefix takes a string");
	bad("{\"a\": [{\"suffix\": null}]}", "suffix takes a string");
	bad("{\"a\": [{\"equals-ignore-case\": 1}]}", "equals-ignore-case takes a string");
	bad("{\"a\": [{\"exists\": \"yes\"}]}", "exists takes true or false");
	bad("{\"a\": [{\"cidr\": 10}]}", "cidr takes a network");
	bad("{\"a\": [{\"cidr\": \"10.0.0/24\"}]}", "cidr: \"10.0.0\" is not an IP address");
	bad("{\"a\": [{\"cidr\": \"10.0.0.0/33\"}]}", "cidr: bad prefix length \"/33\" (0 to 32)");
	bad("{\"a\": [{\"cidr\": \"10.0.0.0/\"}]}", "bad prefix length");
	bad("{\"a\": [{\"cidr\": \"10.0.0.0/-1\"}]}", "bad prefix length");
	bad("{\"a\": [{\"cidr\": \"2001:db8::/129\"}]}", "(0 to 128)");
	bad("{\"a\": [{\"anything-but\": []}]}", "anything-but takes");
	bad("{\"a\": [{\"anything-but\": [\"x\", 1]}]}", "all strings or all numbers");
	bad("{\"a\": [{\"anything-but\": {\"numeric\": [\">\", 1]}}]}",
	    "anything-but: unsupported operator \"numeric\"");
	bad("{\"a\": [{\"anything-but\": true}]}", "anything-but takes");
	bad("{\"a\": [{\"numeric\": 5}]}", "numeric takes an array");
	bad("{\"a\": [{\"numeric\": [\">\"]}]}", "one or two operator-number pairs, not 1 elements");
	bad("{\"a\": [{\"numeric\": [\">\", \"5\"]}]}", "operator \">\" must be followed by a number");
	bad("{\"a\": [{\"numeric\": [5, \">\"]}]}", "element 1 must be an operator");
	bad("{\"a\": [{\"numeric\": [\"!=\", 5]}]}", "unknown operator \"!=\"");
	bad("{\"a\": [{\"numeric\": [\"=\", 5, \"<\", 6]}]}", "\"=\" cannot be combined");
	bad("{\"a\": [{\"numeric\": [\"<\", 5, \">\", 1]}]}", "the lower bound (> or >=) must come first");
	bad("{\"a\": [{\"numeric\": [\">\", 5, \">\", 1]}]}", "the lower bound (> or >=) must come first");
	bad("{\"a\": [{\"numeric\": [\">\", 5, \"<\", 1]}]}", "the lower bound is not below the upper bound");
	bad("{\"a\": [{\"numeric\": [\">\", 5, \"<=\", 5]}]}", "the lower bound is not below the upper bound");
	ck_assert_ptr_null(fp_parse(NULL, NULL, 0));
	/* the combinations: 5 * 5 * 6 = 150 passes, 151+ does not */
	{
		struct fp_policy *p = parse("{\"a\": [1,2,3,4,5], \"b\": [1,2,3,4,5], \"c\": [1,2,3,4,5,6]}");
		fp_free(p);
	}
	bad("{\"a\": [1,2,3,4,5], \"b\": [1,2,3,4,5], \"c\": [1,2,3,4,5,6,7]}",
	    "key \"c\": the policy's total combination of values exceeds 150");
	bad("{\"a\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16], \"b\": [1,2,3,4,5,6,7,8,9,10]}",
	    "exceeds 150");
	/* 256 KB */
	{
		size_t n = FP_MAX_SIZE + 1;
		char *s = malloc(n + 1), err[256];
		ck_assert_ptr_nonnull(s);
		memset(s, ' ', n);
		memcpy(s, "{\"a\": [\"x\"]}", 12);
		s[n] = '\0';
		ck_assert_ptr_null(fp_parse(s, err, sizeof err));
		ck_assert_str_eq(err, "the policy is 262145 bytes; the maximum size is 256 KB");
		s[n - 1] = '\0';
		struct fp_policy *p = fp_parse(s, err, sizeof err);
		ck_assert_msg(p != NULL, "%s", err);
		fp_free(p);
		free(s);
	}
	/* deeply nested JSON is refused, not recursed into */
	memset(big, '[', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	bad(big, "invalid JSON");
}
END_TEST

/* random input never crashes ------------------------------------------------ */

START_TEST(garbage)
{
	static const char *const pieces[] = { "{", "}", "[", "]", "\"a\"", ":", ",", "1", "-2.5e3", "\"prefix\"",
					      "\"numeric\"", "\"anything-but\"", "\"exists\"", "true", "null", "\">\"",
					      "\"=\"", "\"<=\"", " " };
	char s[512], err[256];
	unsigned seed = 777;
	struct fp_attr attrs[] = {
		{ "a", "String", "x" }, { "a", "Number", "5" }, { "b", "String.Array", "[1,\"a\"]" }
	};
	for (int iter = 0; iter < 30000; iter++) {
		size_t n = 0;
		int k;
		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 16) % 30);
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
		struct fp_policy *p = fp_parse(s, err, sizeof err);
		if (p) {
			for (size_t i = 0; i < 3; i++) {
				int r = fp_match(p, attrs + i, 1);
				ck_assert(r == 0 || r == 1);
			}
			fp_free(p);
		} else {
			ck_assert(err[0] != '\0');
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("filter_policy");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, string_exact);
	tcase_add_test(tc, string_prefix_suffix);
	tcase_add_test(tc, string_ignore_case);
	tcase_add_test(tc, string_anything_but);
	tcase_add_test(tc, numeric_exact);
	tcase_add_test(tc, numeric_anything_but);
	tcase_add_test(tc, numeric_range);
	tcase_add_test(tc, numeric_edges);
	tcase_add_test(tc, cidr);
	tcase_add_test(tc, exists);
	tcase_add_test(tc, and_or);
	tcase_add_test(tc, invalid);
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
