/* test_aws_wire.c - src/control/aws_wire.c: awsQuery forms as the aws CLI
 * and boto3 write them (lists, maps, SNS's message attributes, an empty
 * list) into input trees and the forms refused; result trees into XML,
 * JSON and CBOR; the input getters on both spellings of a value; paging
 * tokens. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "control/aws.h"
#include "control/aws_wire.h"
#include "control/cbor.h"

/* FORM parsed: the tree as compact sorted JSON (a new string), or
 * "ERR: why". */
static char *parse(const char *form, char **action, char **version)
{
	json_t *in;
	char why[256], *a = NULL, *v = NULL, *s;

	if (aws_query_parse(form, strlen(form), &in, &a, &v, why, sizeof why) < 0) {
		if (asprintf(&s, "ERR: %s", why) < 0)
			s = NULL;
		return s;
	}
	s = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(in);
	if (action)
		*action = a;
	else
		free(a);
	if (version)
		*version = v;
	else
		free(v);
	return s;
}

#define PARSE(form, want)                                                                      \
	do {                                                                                   \
		char *got_ = parse(form, NULL, NULL);                                          \
		ck_assert_msg(strcmp(got_, want) == 0, "%s\n got  %s\n want %s", form, got_, want); \
		free(got_);                                                                    \
	} while (0)

#define PARSE_FAILS(form, needle)                                                              \
	do {                                                                                   \
		char *got_ = parse(form, NULL, NULL);                                          \
		ck_assert_msg(strncmp(got_, "ERR: ", 5) == 0 && strstr(got_, needle), "%s: got %s", form, got_); \
		free(got_);                                                                    \
	} while (0)

START_TEST(query_action_and_scalars)
{
	char *a = NULL, *v = NULL;
	char *s = parse("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing"
			"%3Alocal%3A000000000000%3Atargetgroup%2Fweb%2F0123456789abcdef",
			&a, &v);

	ck_assert_str_eq(a, "DescribeTargetHealth");
	ck_assert_str_eq(v, "2015-12-01");
	ck_assert_str_eq(s, "{\"TargetGroupArn\":\"arn:aws:elasticloadbalancing:local:000000000000:targetgroup/web/"
			    "0123456789abcdef\"}");
	free(a);
	free(v);
	free(s);
	/* '+' is a space in a form; %2B a plus */
	PARSE("Action=Publish&Message=hello+world%2B%21&Subject=", "{\"Message\":\"hello world+!\",\"Subject\":\"\"}");
	/* no Action at all: the caller's MissingAction */
	s = parse("Version=2010-08-01", &a, &v);
	ck_assert_ptr_null(a);
	ck_assert_str_eq(v, "2010-08-01");
	free(v);
	free(s);
	PARSE("", "{}");
	PARSE("&&Action=X&&", "{}");
}
END_TEST

START_TEST(query_lists)
{
	PARSE("Targets.member.1.Id=10.0.0.1&Targets.member.1.Port=80&Targets.member.2.Id=10.0.0.2",
	      "{\"Targets\":[{\"Id\":\"10.0.0.1\",\"Port\":\"80\"},{\"Id\":\"10.0.0.2\"}]}");
	/* any order */
	PARSE("Targets.member.2.Id=b&Targets.member.1.Id=a", "{\"Targets\":[{\"Id\":\"a\"},{\"Id\":\"b\"}]}");
	PARSE("L.member.3=c&L.member.2=b&L.member.1=a", "{\"L\":[\"a\",\"b\",\"c\"]}");
	PARSE("M=%C3%A9t%C3%A9", "{\"M\":\"\u00e9t\u00e9\"}");
	PARSE("Statistics.member.1=Sum&Statistics.member.2=Maximum", "{\"Statistics\":[\"Sum\",\"Maximum\"]}");
	/* PutMetricData: lists in lists */
	PARSE("Namespace=App&MetricData.member.1.MetricName=Latency&MetricData.member.1.Dimensions.member.1.Name=Host"
	      "&MetricData.member.1.Dimensions.member.1.Value=a&MetricData.member.1.Values.member.1=1.5"
	      "&MetricData.member.1.Values.member.2=2",
	      "{\"MetricData\":[{\"Dimensions\":[{\"Name\":\"Host\",\"Value\":\"a\"}],\"MetricName\":\"Latency\","
	      "\"Values\":[\"1.5\",\"2\"]}],\"Namespace\":\"App\"}");
	/* an empty list is "Name=": kept as "", which aws_in_list() reads as absent */
	PARSE("Names=", "{\"Names\":\"\"}");
	PARSE("Names=&Names.member.1=a", "{\"Names\":[\"a\"]}");
}
END_TEST

START_TEST(query_maps)
{
	PARSE("Name=ops&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Ops+team"
	      "&Attributes.entry.2.key=Policy&Attributes.entry.2.value=%7B%7D",
	      "{\"Attributes\":{\"DisplayName\":\"Ops team\",\"Policy\":\"{}\"},\"Name\":\"ops\"}");
	/* SNS's message attributes: Name and Value, the value a structure */
	PARSE("MessageAttributes.entry.1.Name=color&MessageAttributes.entry.1.Value.DataType=String"
	      "&MessageAttributes.entry.1.Value.StringValue=red&MessageAttributes.entry.2.Name=n"
	      "&MessageAttributes.entry.2.Value.DataType=Number&MessageAttributes.entry.2.Value.StringValue=5",
	      "{\"MessageAttributes\":{\"color\":{\"DataType\":\"String\",\"StringValue\":\"red\"},"
	      "\"n\":{\"DataType\":\"Number\",\"StringValue\":\"5\"}}}");
	PARSE_FAILS("Attributes.entry.1.key=a&Attributes.entry.1.value=1&Attributes.entry.2.key=a"
		    "&Attributes.entry.2.value=2",
		    "given twice");
	PARSE_FAILS("Attributes.entry.1.key=a", "key and value");
	PARSE_FAILS("Attributes.entry.1.key=a&Attributes.entry.1.value=b&Attributes.entry.1.other=c", "key and value");
}
END_TEST

START_TEST(query_refused)
{
	PARSE_FAILS("Targets.member.2.Id=a", "member.1: missing");
	PARSE_FAILS("Targets.member.0.Id=a", "out of range");
	PARSE_FAILS("Targets.member.100001.Id=a", "out of range");
	PARSE_FAILS("Targets.member.x.Id=a", "index");
	PARSE_FAILS("Targets.member=a", "index");
	PARSE_FAILS("A=1&A=2", "given twice");
	PARSE_FAILS("A=1&A.B=2", "a value and a structure");
	PARSE_FAILS("A.B=2&A=1", "given twice");
	PARSE_FAILS("A.member.1=x&A.member.1=y", "given twice");
	PARSE_FAILS("A..B=1", "not a parameter name");
	PARSE_FAILS(".A=1", "not a parameter name");
	PARSE_FAILS("A.=1", "not a parameter name");
	PARSE_FAILS("A=%zz", "percent");
	PARSE_FAILS("A=%00", "percent");
	PARSE_FAILS("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g=1", "too deep");
	/* an index beyond what the form's parameters can fill: refused before
	 * the list is made (no 100,000 empty members for one parameter) */
	PARSE_FAILS("A.member.100000=x", "beyond the list");
	PARSE_FAILS("A.member.5=x&B=1&C=2", "beyond the list");
	PARSE_FAILS("A.member.3=x&B=1&C=2", "member.1: missing");
	PARSE_FAILS("A.member.1.B.member.50=x", "beyond the list");
	/* not UTF-8 once decoded */
	PARSE_FAILS("Message=%E9t%E9", "not UTF-8");
	PARSE_FAILS("Na%FFme=x", "not UTF-8");
}
END_TEST

static char *xml(const json_t *v)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	aws_xml_value(b, v);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

START_TEST(xml_shapes)
{
	json_t *attrs = json_pack("{ssss}", "TopicArn", "arn:aws:sns:local:000000000000:ops", "DisplayName", "a<b&c");
	json_t *v = json_pack("{s[{sssi}]s{so}sosbsfsIso}", "Targets", "Id", "10.0.0.1", "Port", 80, "Result",
			      "Attributes", aws_out_map(attrs), "When", aws_out_time(1764495300123LL), "Ok", 1,
			      "Avg", 0.1, "Big", (json_int_t)1099511627776LL, "Gone", json_null());
	char *s = xml(v);

	ck_assert_str_eq(s, "<Targets><member><Id>10.0.0.1</Id><Port>80</Port></member></Targets>"
			    "<Result><Attributes><entry><key>TopicArn</key><value>arn:aws:sns:local:000000000000:ops"
			    "</value></entry><entry><key>DisplayName</key><value>a&lt;b&amp;c</value></entry>"
			    "</Attributes></Result><When>2025-11-30T09:35:00.123Z</When><Ok>true</Ok><Avg>0.1</Avg>"
			    "<Big>1099511627776</Big>");
	free(s);
	json_decref(v);
	/* text: quotes, CR, characters XML 1.0 cannot hold */
	v = json_pack("{ss}", "M", "\"q'\r\n\t\x01");
	s = xml(v);
	ck_assert_str_eq(s, "<M>&quot;q&apos;&#xD;\n\t\xef\xbf\xbd</M>");
	free(s);
	json_decref(v);
	v = json_pack("{s[]}", "Metrics");
	s = xml(v);
	ck_assert_str_eq(s, "<Metrics></Metrics>");
	free(s);
	json_decref(v);
}
END_TEST

START_TEST(json_and_cbor)
{
	json_t *v = json_pack("{sos{ss}sos[ff]}", "T", aws_out_time(1764495300000LL), "M", "k", "v", "N",
			      aws_out_time(1764495300500LL), "V", 1.5, 2.0);
	json_t *m = json_object_get(v, "M");

	json_object_set_new(v, "M", aws_out_map(json_incref(m)));
	json_object_set_new(v, "Null", json_null());

	json_t *p = aws_json_plain(v);
	char *s = json_dumps(p, JSON_COMPACT);

	ck_assert_str_eq(s, "{\"T\":1764495300,\"M\":{\"k\":\"v\"},\"N\":1764495300.5,\"V\":[1.5,2.0]}");
	free(s);
	json_decref(p);

	struct evbuffer *b = evbuffer_new();
	char err[128];

	ck_assert_int_eq(aws_cbor_value(b, v), 0);
	/* the timestamp is tag 1 */
	ck_assert_ptr_nonnull(memmem(evbuffer_pullup(b, -1), evbuffer_get_length(b), "\xc1\x1a", 2));
	p = cbor_decode(evbuffer_pullup(b, -1), evbuffer_get_length(b), err, sizeof err);
	ck_assert_msg(p != NULL, "%s", err);
	s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "{\"M\":{\"k\":\"v\"},\"N\":1764495300.5,\"T\":1764495300,\"V\":[1.5,2.0]}");
	free(s);
	json_decref(p);
	evbuffer_free(b);
	json_decref(v);
}
END_TEST

START_TEST(getters)
{
	json_t *o = json_pack("{sssisssfsssbsssssIss}", "A", "5", "B", 7, "C", "5.5", "D", 2.5, "E", "-12", "F", 1, "G",
			      "true", "H", "2026-11-30T10:00:00Z", "I", (json_int_t)1796032800, "J", "1e3");
	long long n;
	double d;
	int b;
	int64_t t;

	ck_assert_int_eq(aws_in_int(o, "A", &n), 1);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(aws_in_int(o, "B", &n), 1);
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(aws_in_int(o, "C", &n), -1);
	ck_assert_int_eq(aws_in_int(o, "D", &n), -1);
	ck_assert_int_eq(aws_in_int(o, "E", &n), 1);
	ck_assert_int_eq(n, -12);
	ck_assert_int_eq(aws_in_int(o, "Z", &n), 0);
	ck_assert_int_eq(aws_in_num(o, "C", &d), 1);
	ck_assert(d == 5.5);
	ck_assert_int_eq(aws_in_num(o, "D", &d), 1);
	ck_assert(d == 2.5);
	ck_assert_int_eq(aws_in_num(o, "J", &d), 1);
	ck_assert(d == 1000);
	ck_assert_int_eq(aws_in_num(o, "G", &d), -1);
	ck_assert_int_eq(aws_in_bool(o, "F", &b), 1);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(aws_in_bool(o, "G", &b), 1);
	ck_assert_int_eq(aws_in_bool(o, "A", &b), -1);
	ck_assert_int_eq(aws_in_time(o, "H", &t), 1);
	ck_assert_int_eq(t, 1796032800);
	ck_assert_int_eq(aws_in_time(o, "I", &t), 1);
	ck_assert_int_eq(t, 1796032800);
	ck_assert_int_eq(aws_in_time(o, "D", &t), 1);
	ck_assert_int_eq(t, 2);
	ck_assert_int_eq(aws_in_time(o, "G", &t), -1);
	ck_assert_ptr_eq(aws_in_str(o, "G"), json_string_value(json_object_get(o, "G")));
	ck_assert_ptr_null(aws_in_str(o, "B"));
	ck_assert_ptr_null(aws_in_list(o, "A"));
	ck_assert_ptr_null(aws_in_obj(o, "A"));
	ck_assert_ptr_null(aws_in_str(NULL, "A"));
	json_decref(o);
}
END_TEST

START_TEST(paging)
{
	json_t *tok = aws_page_token(250);
	json_t *in = json_pack("{sO}", "NextToken", tok);
	size_t off = 0;

	ck_assert_int_eq(aws_page_read(in, "NextToken", &off), 1);
	ck_assert_uint_eq(off, 250);
	ck_assert_int_eq(aws_page_read(in, "Marker", &off), 0);
	json_object_set_new(in, "Marker", json_string("not-ours"));
	ck_assert_int_eq(aws_page_read(in, "Marker", &off), -1);
	json_object_set_new(in, "Marker", json_string("albd-page-12x"));
	ck_assert_int_eq(aws_page_read(in, "Marker", &off), -1);
	json_object_set_new(in, "Marker", json_integer(3));
	ck_assert_int_eq(aws_page_read(in, "Marker", &off), -1);
	json_decref(tok);
	json_decref(in);
}
END_TEST

START_TEST(fail_sets_the_error)
{
	struct aws_call c;

	memset(&c, 0, sizeof c);
	ck_assert_ptr_null(aws_fail(&c, 400, "ValidationError", "Targets: at most %d", 5));
	ck_assert_int_eq(c.status, 400);
	ck_assert_str_eq(c.code, "ValidationError");
	ck_assert_str_eq(c.message, "Targets: at most 5");
	/* a client's bytes quoted in a message, or a character cut at the
	 * end, never make the error body invalid UTF-8 */
	aws_fail(&c, 404, "UnknownOperationException", "unknown X-Amz-Target \"%s\"", "G.\xff\xfeX\xc3");
	ck_assert_str_eq(c.message, "unknown X-Amz-Target \"G.??X?\"");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("aws_wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, query_action_and_scalars);
	tcase_add_test(tc, query_lists);
	tcase_add_test(tc, query_maps);
	tcase_add_test(tc, query_refused);
	tcase_add_test(tc, xml_shapes);
	tcase_add_test(tc, json_and_cbor);
	tcase_add_test(tc, getters);
	tcase_add_test(tc, paging);
	tcase_add_test(tc, fail_sets_the_error);
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
