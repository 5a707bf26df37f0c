/* test_cbor.c - src/control/cbor.c: the examples of RFC 8949 Appendix A
 * that map onto JSON (decoded and compared), the ones albd refuses, the
 * encoder's shortest heads, and round trips of what the encoder writes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "control/cbor.h"

/* HEX into BUF; returns its length. */
static size_t unhex(const char *hex, unsigned char *buf)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		sscanf(hex, "%2x", &v);
		buf[n++] = (unsigned char)v;
	}
	return n;
}

/* The decoded HEX, compact JSON (a new string) or "ERR". */
static char *dec(const char *hex)
{
	unsigned char buf[512];
	char err[128];
	size_t n = unhex(hex, buf);
	json_t *j = cbor_decode(buf, n, err, sizeof err);
	char *s;

	if (!j)
		return strdup("ERR");
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17));
	json_decref(j);
	return s;
}

#define DEC(hex, want)                                                                  \
	do {                                                                            \
		char *got_ = dec(hex);                                                  \
		ck_assert_msg(strcmp(got_, want) == 0, "%s: got %s, want %s", hex, got_, want); \
		free(got_);                                                             \
	} while (0)

START_TEST(rfc8949_integers)
{
	DEC("00", "0");
	DEC("01", "1");
	DEC("0a", "10");
	DEC("17", "23");
	DEC("1818", "24");
	DEC("1819", "25");
	DEC("1864", "100");
	DEC("1903e8", "1000");
	DEC("1a000f4240", "1000000");
	DEC("1b000000e8d4a51000", "1000000000000");
	DEC("20", "-1");
	DEC("29", "-10");
	DEC("3863", "-100");
	DEC("3903e7", "-1000");
	/* beyond int64: refused, not wrapped */
	DEC("1bffffffffffffffff", "ERR");
	DEC("3bffffffffffffffff", "ERR");
}
END_TEST

START_TEST(rfc8949_floats)
{
	DEC("f90000", "0.0");
	DEC("f93c00", "1.0");
	DEC("fb3ff199999999999a", "1.1000000000000001");
	DEC("f93e00", "1.5");
	DEC("f97bff", "65504.0");
	DEC("fa47c35000", "100000.0");
	DEC("fa7f7fffff", "3.4028234663852886e38");
	DEC("fb7e37e43c8800759c", "1.0000000000000001e300"); /* 1e300 at 17 digits */
	DEC("f90001", "5.9604644775390625e-8");
	DEC("f90400", "6.103515625e-5");
	DEC("f9c400", "-4.0");
	DEC("fbc010666666666666", "-4.0999999999999996");
	/* the infinities and NaN have no JSON form */
	DEC("f97c00", "ERR");
	DEC("f97e00", "ERR");
	DEC("f9fc00", "ERR");
	DEC("fa7f800000", "ERR");
	DEC("fb7ff8000000000000", "ERR");
}
END_TEST

START_TEST(rfc8949_simple_and_tags)
{
	DEC("f4", "false");
	DEC("f5", "true");
	DEC("f6", "null");
	DEC("f7", "null");
	DEC("f0", "ERR");      /* simple(16) */
	DEC("f8ff", "ERR");    /* simple(255) */
	/* tags: the content is kept (tag 1: epoch seconds, Smithy's timestamps) */
	DEC("c074323031332d30332d32315432303a30343a30305a", "\"2013-03-21T20:04:00Z\"");
	DEC("c11a514b67b0", "1363896240");
	DEC("c1fb41d452d9ec200000", "1363896240.5");
	DEC("d74401020304", "\"AQIDBA==\"");
	DEC("d818456449455446", "\"ZElFVEY=\"");
}
END_TEST

START_TEST(rfc8949_strings)
{
	DEC("40", "\"\"");
	DEC("4401020304", "\"AQIDBA==\"");
	DEC("60", "\"\"");
	DEC("6161", "\"a\"");
	DEC("6449455446", "\"IETF\"");
	DEC("62225c", "\"\\\"\\\\\"");
	DEC("62c3bc", "\"\\u00FC\"");
	DEC("63e6b0b4", "\"\\u6C34\"");
	DEC("64f0908591", "\"\\uD800\\uDD51\"");
	/* indefinite lengths */
	DEC("5f42010243030405ff", "\"AQIDBAU=\"");
	DEC("7f657374726561646d696e67ff", "\"streaming\"");
	/* not UTF-8, a NUL, a chunk of the wrong type, truncation */
	DEC("62c328", "ERR");
	DEC("6100", "ERR");
	DEC("7f4161ff", "ERR");
	DEC("6461", "ERR");
	DEC("7f6161", "ERR");
}
END_TEST

START_TEST(rfc8949_containers)
{
	DEC("80", "[]");
	DEC("83010203", "[1,2,3]");
	DEC("8301820203820405", "[1,[2,3],[4,5]]");
	DEC("98190102030405060708090a0b0c0d0e0f101112131415161718181819",
	    "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]");
	DEC("a0", "{}");
	DEC("a26161016162820203", "{\"a\":1,\"b\":[2,3]}");
	DEC("826161a161626163", "[\"a\",{\"b\":\"c\"}]");
	DEC("a56161614161626142616361436164614461656145",
	    "{\"a\":\"A\",\"b\":\"B\",\"c\":\"C\",\"d\":\"D\",\"e\":\"E\"}");
	DEC("9fff", "[]");
	DEC("9f018202039f0405ffff", "[1,[2,3],[4,5]]");
	DEC("9f01820203820405ff", "[1,[2,3],[4,5]]");
	DEC("83018202039f0405ff", "[1,[2,3],[4,5]]");
	DEC("bf61610161629f0203ffff", "{\"a\":1,\"b\":[2,3]}");
	DEC("826161bf61626163ff", "[\"a\",{\"b\":\"c\"}]");
	DEC("bf6346756ef563416d7421ff", "{\"Fun\":true,\"Amt\":-2}");
	/* maps whose keys are not text, a key twice, a missing value or end */
	DEC("a201020304", "ERR");
	DEC("a2616101616102", "ERR");
	DEC("a16161", "ERR");
	DEC("bf616101", "ERR");
	DEC("83010203ff", "ERR"); /* a break where none belongs: a trailing byte */
	DEC("ff", "ERR");
	DEC("", "ERR");
	DEC("1c", "ERR");         /* reserved additional information */
	DEC("0101", "ERR");       /* two items */
	DEC("a2616101", "ERR");   /* a map of 2 pairs with 1 */
	DEC("830102", "ERR");     /* an array of 3 with 2 */
	DEC("9f0102", "ERR");     /* an indefinite array without its break */
}
END_TEST

START_TEST(depth_limit)
{
	unsigned char buf[CBOR_MAX_DEPTH + 10];
	char err[128];
	json_t *j;

	memset(buf, 0x81, sizeof buf); /* [[[[...]]]] */
	buf[sizeof buf - 1] = 0x00;
	ck_assert_ptr_null(cbor_decode(buf, sizeof buf, err, sizeof err));
	ck_assert_msg(strstr(err, "deep") != NULL, "%s", err);
	memset(buf, 0x81, CBOR_MAX_DEPTH);
	buf[CBOR_MAX_DEPTH] = 0x00;
	j = cbor_decode(buf, CBOR_MAX_DEPTH + 1, err, sizeof err);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
}
END_TEST

/* The encoded bytes of B as hex (a static buffer). */
static const char *hex_of(struct evbuffer *b)
{
	static char out[256];
	size_t n = evbuffer_get_length(b);
	const unsigned char *p = evbuffer_pullup(b, -1);

	out[0] = '\0';
	for (size_t i = 0; i < n && 2 * i + 2 < sizeof out; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	evbuffer_drain(b, n);
	return out;
}

START_TEST(encoder)
{
	struct evbuffer *b = evbuffer_new();

	ck_assert_int_eq(cbor_put_int(b, 0), 0);
	ck_assert_str_eq(hex_of(b), "00");
	cbor_put_int(b, 23);
	ck_assert_str_eq(hex_of(b), "17");
	cbor_put_int(b, 24);
	ck_assert_str_eq(hex_of(b), "1818");
	cbor_put_int(b, 1000);
	ck_assert_str_eq(hex_of(b), "1903e8");
	cbor_put_int(b, 1000000);
	ck_assert_str_eq(hex_of(b), "1a000f4240");
	cbor_put_int(b, 1000000000000LL);
	ck_assert_str_eq(hex_of(b), "1b000000e8d4a51000");
	cbor_put_int(b, -1);
	ck_assert_str_eq(hex_of(b), "20");
	cbor_put_int(b, -1000);
	ck_assert_str_eq(hex_of(b), "3903e7");
	cbor_put_double(b, 1.5);
	ck_assert_str_eq(hex_of(b), "fa3fc00000");
	cbor_put_double(b, 1.1);
	ck_assert_str_eq(hex_of(b), "fb3ff199999999999a");
	cbor_put_text(b, "IETF", 4);
	ck_assert_str_eq(hex_of(b), "6449455446");
	cbor_put_text(b, "", 0);
	ck_assert_str_eq(hex_of(b), "60");
	cbor_put_simple(b, 21);
	ck_assert_str_eq(hex_of(b), "f5");
	cbor_put_head(b, 6, 1);
	cbor_put_int(b, 1363896240);
	ck_assert_str_eq(hex_of(b), "c11a514b67b0");
	evbuffer_free(b);
}
END_TEST

START_TEST(round_trip)
{
	struct evbuffer *b = evbuffer_new();
	const double vals[] = { 0.0, -0.5, 3.14159, 1e-300, 123456789.125, 1e300 };

	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		size_t n;
		json_t *j;

		cbor_put_double(b, vals[i]);
		n = evbuffer_get_length(b);
		j = cbor_decode(evbuffer_pullup(b, -1), n, NULL, 0);
		ck_assert_ptr_nonnull(j);
		ck_assert(json_real_value(j) == vals[i]);
		json_decref(j);
		evbuffer_drain(b, n);
	}
	evbuffer_free(b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cbor");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc8949_integers);
	tcase_add_test(tc, rfc8949_floats);
	tcase_add_test(tc, rfc8949_simple_and_tags);
	tcase_add_test(tc, rfc8949_strings);
	tcase_add_test(tc, rfc8949_containers);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, encoder);
	tcase_add_test(tc, round_trip);
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
