/* test_desync.c - src/net/desync.c: http_desync_guardian's own test cases
 * (tests/unit/desync_cases.h, generated from its tests/NAME.yaml), a case for
 * each of ALB's classification reasons and the guardian's parsing ones,
 * the precedence of reasons, desync_name_kind() on the guardian's
 * similarity cases, the names, and the time per request head. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/desync.h"

#include "desync_cases.h"

/* The guardian's YAML cases: the raw verdict is the guardian's own
 * (analyze_raw_request on the same bytes). Like the guardian's test, the
 * YAML's tier (for the parsed request) must also be the raw one unless
 * building the raw request changed it (a value with CR/LF, a URI with a
 * space), which shows as one of these reasons. */
START_TEST(test_guardian_cases)
{
	size_t n = sizeof desync_cases / sizeof desync_cases[0], same = 0;
	for (size_t i = 0; i < n; i++) {
		const struct desync_case *c = &desync_cases[i];
		struct desync_verdict v;
		desync_classify(c->raw, c->len, &v);
		ck_assert_msg(v.cls == c->raw_tier && v.reason == c->raw_reason, "%s: %s: got %s %s, want %s %s",
			      c->file, c->name, desync_class_name(v.cls), desync_reason_name(v.reason),
			      desync_class_name(c->raw_tier), desync_reason_name(c->raw_reason));
		switch (c->raw_reason) {
		case DESYNC_R_MULTILINE_HEADER:
		case DESYNC_R_MISSING_HEADER_COLON:
		case DESYNC_R_SPACE_IN_URI:
		case DESYNC_R_AMBIGUOUS_URI:
		case DESYNC_R_NON_CRLF_LINE_TERMINATION:
			ck_assert_int_ne(c->tier, DESYNC_COMPLIANT);
			break;
		default:
			ck_assert_msg(c->raw_tier == c->tier, "%s: %s", c->file, c->name);
		}
		same += v.cls == c->tier && v.reason == c->reason;
	}
	ck_assert_uint_eq(n, 159);
	ck_assert_uint_eq(same, 147); /* 12 raw requests differ from the parsed ones */
}
END_TEST

static const struct {
	const char *name, *raw;
	size_t len;
	enum desync_class cls;
	enum desync_reason reason;
} hand[] = {
	/* checked against the guardian's analyze_raw_request() */
	{ "compliant GET",
	  "GET /index.html\077a=b HTTP/1.1\015\012Host: example.com\015\012Accept: */*\015\012\015\012", 64, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "compliant POST with CL",
	  "POST /form HTTP/1.1\015\012Host: example.com\015\012Content-Length: 12\015\012\015\012", 62, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "compliant POST chunked",
	  "POST /form HTTP/1.1\015\012Host: example.com\015\012Transfer-Encoding: gzip, chunked\015\012\015\012", 76, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "AmbiguousUri: control character",
	  "GET /a\001b HTTP/1.1\015\012Host: example.com\015\012\015\012", 40, DESYNC_AMBIGUOUS, DESYNC_R_AMBIGUOUS_URI },
	{ "AmbiguousUri: tab",
	  "GET /a\011b HTTP/1.1\015\012Host: example.com\015\012\015\012", 40, DESYNC_AMBIGUOUS, DESYNC_R_AMBIGUOUS_URI },
	{ "AmbiguousUri: DEL",
	  "GET /a\177 HTTP/1.1\015\012Host: example.com\015\012\015\012", 39, DESYNC_AMBIGUOUS, DESYNC_R_AMBIGUOUS_URI },
	{ "BadContentLength: not a number",
	  "POST / HTTP/1.1\015\012Host: example.com\015\012Content-Length: 12a\015\012\015\012", 59, DESYNC_SEVERE, DESYNC_R_BAD_CONTENT_LENGTH },
	{ "BadContentLength: negative",
	  "POST / HTTP/1.1\015\012Content-Length: -1\015\012\015\012", 39, DESYNC_SEVERE, DESYNC_R_BAD_CONTENT_LENGTH },
	{ "BadContentLength: list",
	  "POST / HTTP/1.1\015\012Content-Length: 5, 5\015\012\015\012", 41, DESYNC_SEVERE, DESYNC_R_BAD_CONTENT_LENGTH },
	{ "BadContentLength: 2^64",
	  "POST / HTTP/1.1\015\012Content-Length: 18446744073709551616\015\012\015\012", 57, DESYNC_SEVERE, DESYNC_R_BAD_CONTENT_LENGTH },
	{ "Content-Length: 2^64-1 is a number",
	  "POST / HTTP/1.1\015\012Content-Length: 18446744073709551615\015\012\015\012", 57, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "BadHeader: NUL in a value",
	  "GET / HTTP/1.1\015\012X-A: a\000b\015\012\015\012", 28, DESYNC_SEVERE, DESYNC_R_BAD_HEADER },
	{ "BadHeader: CR in a value",
	  "GET / HTTP/1.1\015\012X-A: a\015b\015\012\015\012", 28, DESYNC_SEVERE, DESYNC_R_BAD_HEADER },
	{ "BadHeader: NUL in a name",
	  "GET / HTTP/1.1\015\012X\000A: b\015\012\015\012", 26, DESYNC_SEVERE, DESYNC_R_BAD_HEADER },
	{ "BadTransferEncoding: unknown coding",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: xchunked\015\012\015\012", 48, DESYNC_SEVERE, DESYNC_R_BAD_TRANSFER_ENCODING },
	{ "BadTransferEncoding: empty",
	  "POST / HTTP/1.1\015\012Transfer-Encoding:\015\012\015\012", 39, DESYNC_SEVERE, DESYNC_R_BAD_TRANSFER_ENCODING },
	{ "BadTransferEncoding: trailing comma",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: chunked,\015\012\015\012", 48, DESYNC_SEVERE, DESYNC_R_BAD_TRANSFER_ENCODING },
	{ "Transfer-Encoding with parameters",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: gzip;q=1, CHUNKED ; x\015\012\015\012", 61, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "BadUri: NUL",
	  "GET /a\000b HTTP/1.1\015\012Host: example.com\015\012\015\012", 40, DESYNC_SEVERE, DESYNC_R_BAD_URI },
	{ "BadUri: CR",
	  "GET /a\015b HTTP/1.1\015\012Host: example.com\015\012\015\012", 40, DESYNC_SEVERE, DESYNC_R_BAD_URI },
	{ "BadMethod: separator",
	  "G(T / HTTP/1.1\015\012Host: example.com\015\012\015\012", 37, DESYNC_SEVERE, DESYNC_R_BAD_METHOD },
	{ "BadMethod: control character",
	  "GE\001T / HTTP/1.1\015\012Host: example.com\015\012\015\012", 38, DESYNC_SEVERE, DESYNC_R_BAD_METHOD },
	{ "BadVersion: HTTP/1.x",
	  "GET / HTTP/1.x\015\012Host: example.com\015\012\015\012", 37, DESYNC_SEVERE, DESYNC_R_BAD_VERSION },
	{ "BadVersion: HTTP/1.10",
	  "GET / HTTP/1.10\015\012Host: example.com\015\012\015\012", 38, DESYNC_SEVERE, DESYNC_R_BAD_VERSION },
	{ "BadVersion: HTTP/1",
	  "GET / HTTP/1\015\012Host: example.com\015\012\015\012", 35, DESYNC_SEVERE, DESYNC_R_BAD_VERSION },
	{ "BothTePresent",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: chunked\015\012Content-Length: 5\015\012\015\012", 66, DESYNC_AMBIGUOUS, DESYNC_R_BOTH_TE_PRESENT },
	{ "DuplicateContentLength",
	  "POST / HTTP/1.1\015\012Content-Length: 5\015\012content-length: 5\015\012\015\012", 57, DESYNC_AMBIGUOUS, DESYNC_R_DUPLICATE_CONTENT_LENGTH },
	{ "EmptyHeader: no name",
	  "GET / HTTP/1.1\015\012Host: example.com\015\012: x\015\012\015\012", 42, DESYNC_AMBIGUOUS, DESYNC_R_EMPTY_HEADER },
	{ "GetHeadZeroContentLength: GET",
	  "GET / HTTP/1.1\015\012Host: example.com\015\012Content-Length: 0\015\012\015\012", 56, DESYNC_ACCEPTABLE, DESYNC_R_GET_HEAD_ZERO_CONTENT_LENGTH },
	{ "GetHeadZeroContentLength: HEAD",
	  "HEAD / HTTP/1.1\015\012Content-Length:  0 \015\012\015\012", 40, DESYNC_ACCEPTABLE, DESYNC_R_GET_HEAD_ZERO_CONTENT_LENGTH },
	{ "MultipleContentLength",
	  "POST / HTTP/1.1\015\012Content-Length: 5\015\012Content-Length: 6\015\012\015\012", 57, DESYNC_SEVERE, DESYNC_R_MULTIPLE_CONTENT_LENGTH },
	{ "MultipleTransferEncodingChunked: one header",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: chunked, chunked\015\012\015\012", 56, DESYNC_SEVERE, DESYNC_R_MULTIPLE_TRANSFER_ENCODING_CHUNKED },
	{ "MultipleTransferEncodingChunked: two headers",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: chunked\015\012Transfer-Encoding: chunked\015\012\015\012", 75, DESYNC_SEVERE, DESYNC_R_MULTIPLE_TRANSFER_ENCODING_CHUNKED },
	{ "chunked, gzip, chunked is not several chunked in a row",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: chunked, gzip, chunked\015\012\015\012", 62, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "NonCompliantHeader: control character in a value",
	  "GET / HTTP/1.1\015\012X-A: b\001c\015\012\015\012", 28, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_HEADER },
	{ "NonCompliantHeader: space in a name",
	  "GET / HTTP/1.1\015\012X A: b\015\012\015\012", 26, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_HEADER },
	{ "NonCompliantHeader: non-ASCII name",
	  "GET / HTTP/1.1\015\012X-\303\251: b\015\012\015\012", 27, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_HEADER },
	{ "obs-text in a value is compliant",
	  "GET / HTTP/1.1\015\012X-A: \303\251t\303\251\015\012\015\012", 30, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "NonCompliantVersion: HTTP/1.2",
	  "GET / HTTP/1.2\015\012Host: example.com\015\012\015\012", 37, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_VERSION },
	{ "NonCompliantVersion: HTTP/0.9 (no version)",
	  "GET /x\015\012\015\012", 10, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_VERSION },
	{ "NonCompliantVersion: trailing space",
	  "GET / HTTP/1.1 \015\012Host: example.com\015\012\015\012", 38, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_VERSION },
	{ "SpaceInUri",
	  "GET /a b HTTP/1.1\015\012Host: example.com\015\012\015\012", 40, DESYNC_ACCEPTABLE, DESYNC_R_SPACE_IN_URI },
	{ "SuspiciousHeader: underscore",
	  "POST / HTTP/1.1\015\012Transfer_Encoding: chunked\015\012\015\012", 47, DESYNC_AMBIGUOUS, DESYNC_R_SUSPICIOUS_HEADER },
	{ "SuspiciousHeader: space before the colon",
	  "POST / HTTP/1.1\015\012Content-Length : 5\015\012\015\012", 39, DESYNC_AMBIGUOUS, DESYNC_R_SUSPICIOUS_HEADER },
	{ "SuspiciousHeader: long s",
	  "POST / HTTP/1.1\015\012Tran\305\277fer-Encoding: chunked\015\012\015\012", 48, DESYNC_AMBIGUOUS, DESYNC_R_SUSPICIOUS_HEADER },
	{ "SuspiciousHeader: dotless i",
	  "POST / HTTP/1.1\015\012Transfer-Encod\304\261ng: chunked\015\012\015\012", 48, DESYNC_AMBIGUOUS, DESYNC_R_SUSPICIOUS_HEADER },
	{ "UndefinedContentLength: GET",
	  "GET / HTTP/1.1\015\012Host: example.com\015\012Content-Length: 5\015\012\015\012", 56, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_CONTENT_LENGTH },
	{ "UndefinedContentLength: HTTP/0.9",
	  "POST /x\015\012Content-Length: 5\015\012\015\012", 30, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_CONTENT_LENGTH },
	{ "UndefinedTransferEncoding: HEAD",
	  "HEAD / HTTP/1.1\015\012Transfer-Encoding: chunked\015\012\015\012", 47, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_TRANSFER_ENCODING },
	{ "UndefinedTransferEncoding: HTTP/1.0",
	  "POST / HTTP/1.0\015\012Transfer-Encoding: chunked\015\012\015\012", 47, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_TRANSFER_ENCODING },
	{ "HTTP/1.0 TE hides a bad Content-Length",
	  "POST / HTTP/1.0\015\012Transfer-Encoding: chunked\015\012Content-Length: x\015\012\015\012", 66, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_TRANSFER_ENCODING },
	{ "MissingUri",
	  "GET HTTP/1.1\015\012Host: example.com\015\012\015\012", 35, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_URI },
	{ "MissingUri: method only",
	  "GET\015\012Host: example.com\015\012\015\012", 26, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_URI },
	{ "MultilineHeader",
	  "GET / HTTP/1.1\015\012Host: example.com\015\012X-A: a\015\012 b\015\012\015\012", 49, DESYNC_AMBIGUOUS, DESYNC_R_MULTILINE_HEADER },
	{ "MultilineHeader: hidden Content-Length",
	  "POST / HTTP/1.1\015\012X-A: a\015\012 Content-Length: 5\015\012\015\012", 47, DESYNC_AMBIGUOUS, DESYNC_R_MULTILINE_HEADER },
	{ "a folded Content-Type is compliant",
	  "POST / HTTP/1.1\015\012Content-Type: multipart/mixed;\015\012 boundary=x\015\012\015\012", 64, DESYNC_COMPLIANT, DESYNC_R_NONE },
	{ "NonCrLfLineTermination",
	  "GET / HTTP/1.1\012Host: example.com\012\012", 34, DESYNC_ACCEPTABLE, DESYNC_R_NON_CRLF_LINE_TERMINATION },
	{ "MissingHeaderColon",
	  "GET / HTTP/1.1\015\012Host: example.com\015\012X-A b\015\012\015\012", 44, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_HEADER_COLON },
	{ "PartialHeaderLine",
	  "GET / HTTP/1.1\015\012Host: example.com\015\012X-A: b", 41, DESYNC_AMBIGUOUS, DESYNC_R_PARTIAL_HEADER_LINE },
	{ "MissingLastEmptyLine",
	  "GET / HTTP/1.1\015\012Host: example.com\015\012", 35, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_LAST_EMPTY_LINE },
	{ "Severe wins over Ambiguous found first",
	  "G(T / HTTP/1.1\015\012Transfer_Encoding: chunked\015\012\015\012", 46, DESYNC_SEVERE, DESYNC_R_BAD_METHOD },
	{ "at one tier the first found wins: body before URI",
	  "GET /a\001 HTTP/1.1\015\012Content-Length: 5\015\012\015\012", 39, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_CONTENT_LENGTH },
	{ "at one tier the first found wins: TE before CL",
	  "POST / HTTP/1.1\015\012Content-Length: x\015\012Transfer-Encoding: y\015\012\015\012", 60, DESYNC_SEVERE, DESYNC_R_BAD_TRANSFER_ENCODING },
	{ "at one tier the first found wins: headers before TE",
	  "POST / HTTP/1.1\015\012Transfer-Encoding: y\015\012X-A: \000\015\012\015\012", 49, DESYNC_SEVERE, DESYNC_R_BAD_HEADER },
	{ "at one tier the first found wins: parsing before headers",
	  "POST / HTTP/1.1\015\012Transfer_Encoding: chunked\015\012X-A b\015\012\015\012", 54, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_HEADER_COLON },
	/* albd departs from the guardian, which does not analyse versions at or
	 * above "HTTP/2" (bytewise): on an HTTP/1 connection they are BadVersion */
	{ "HTTP/2 and above are a bad version",
	  "POST / HTTP/2.0\015\012Transfer-Encoding: chunked\015\012Content-Length: 5\015\012\015\012", 66, DESYNC_SEVERE, DESYNC_R_BAD_VERSION },
	{ "a lowercase version is a bad version",
	  "GET / http/1.1\015\012Transfer-Encoding: chunked\015\012Content-Length: 5\015\012\015\012", 65, DESYNC_SEVERE, DESYNC_R_BAD_VERSION },
	{ "an extra token after the version is a bad version",
	  "GET / HTTP/1.1 x\015\012Host: a\015\012\015\012", 29, DESYNC_SEVERE, DESYNC_R_BAD_VERSION },
};

START_TEST(test_reasons)
{
	for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
		struct desync_verdict v = { DESYNC_SEVERE, DESYNC_R_COUNT };
		desync_classify(hand[i].raw, hand[i].len, &v);
		ck_assert_msg(v.cls == hand[i].cls && v.reason == hand[i].reason, "%s: got %s %s", hand[i].name,
			      desync_class_name(v.cls), desync_reason_name(v.reason));
	}
	/* every reason of ALB's table and the guardian's parsing ones is covered */
	for (int r = DESYNC_R_AMBIGUOUS_URI; r < DESYNC_R_COUNT; r++) {
		int found = 0;
		for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++)
			found |= hand[i].reason == (enum desync_reason)r;
		ck_assert_msg(found, "no case for %s", desync_reason_name((enum desync_reason)r));
	}
}
END_TEST

#define CLASSIFY(s, v) desync_classify((s), sizeof(s) - 1, (v))

/* empty lines before the request line are skipped (RFC 9112 2.2); the
 * guardian itself would see an empty request line (MissingUri) */
START_TEST(test_leading_empty_lines)
{
	struct desync_verdict v;
	CLASSIFY("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &v);
	ck_assert_int_eq(v.cls, DESYNC_COMPLIANT);
	ck_assert_int_eq(v.reason, DESYNC_R_NONE);
	CLASSIFY("\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", &v);
	ck_assert_int_eq(v.cls, DESYNC_AMBIGUOUS);
	ck_assert_int_eq(v.reason, DESYNC_R_UNDEFINED_CONTENT_LENGTH);
	CLASSIFY("\nGET / HTTP/1.1\r\n\r\n", &v); /* a bare LF is not an empty line */
	ck_assert_int_eq(v.cls, DESYNC_AMBIGUOUS);
	ck_assert_int_eq(v.reason, DESYNC_R_MISSING_URI);
	CLASSIFY("\r\n", &v);
	ck_assert_int_eq(v.cls, DESYNC_AMBIGUOUS);
	ck_assert_int_eq(v.reason, DESYNC_R_MISSING_URI);
	desync_classify("", 0, &v);
	ck_assert_int_eq(v.cls, DESYNC_AMBIGUOUS);
	ck_assert_int_eq(v.reason, DESYNC_R_MISSING_URI);
}
END_TEST

#define KIND(s) desync_name_kind((s), sizeof(s) - 1)

/* the guardian's determine_similarity() cases for its two names */
START_TEST(test_name_kind)
{
	ck_assert_int_eq(KIND("Transfer-Encoding"), DESYNC_NAME_TE);
	ck_assert_int_eq(KIND("transfer-encoding"), DESYNC_NAME_TE);
	ck_assert_int_eq(KIND("TRANSFER-ENCODING"), DESYNC_NAME_TE);
	ck_assert_int_eq(KIND("Content-Length"), DESYNC_NAME_CL);
	ck_assert_int_eq(KIND("cOnTeNt-LeNgTh"), DESYNC_NAME_CL);

	ck_assert_int_eq(KIND("transfer_encoding"), DESYNC_NAME_LIKE_TE);
	ck_assert_int_eq(KIND("transfer---encoding"), DESYNC_NAME_LIKE_TE);
	ck_assert_int_eq(KIND("transfer-\tencoding"), DESYNC_NAME_LIKE_TE);
	ck_assert_int_eq(KIND("\r\ntransfer-\t\te\tn\tc o d i ng\t"), DESYNC_NAME_LIKE_TE);
	ck_assert_int_eq(KIND("\t\x01\x02transfer-encoding\t\x0f\x0c"), DESYNC_NAME_LIKE_TE);
	ck_assert_int_eq(KIND("Transfer-Encoding "), DESYNC_NAME_LIKE_TE);
	ck_assert_int_eq(KIND("tran\xc5\xbf" "fer-encoding"), DESYNC_NAME_LIKE_TE);   /* U+017F */
	ck_assert_int_eq(KIND("transfer-encod\xc4\xb1ng"), DESYNC_NAME_LIKE_TE);      /* U+0131 */
	ck_assert_int_eq(KIND("\xc2\xa0Transfer-Encoding\xc2\xa0"), DESYNC_NAME_LIKE_TE); /* U+00A0 */
	ck_assert_int_eq(KIND("\xe3\x80\x80Transfer-Encoding\xe3\x80\x80"), DESYNC_NAME_LIKE_TE); /* U+3000 */
	ck_assert_int_eq(KIND("Transfer\xe2\x80\x93" "Encoding"), DESYNC_NAME_LIKE_TE); /* U+2013 */
	ck_assert_int_eq(KIND("Transfer\x88\x88" "Encoding"), DESYNC_NAME_LIKE_TE);
	ck_assert_int_eq(KIND("Content_Length"), DESYNC_NAME_LIKE_CL);
	ck_assert_int_eq(KIND("Content-Length\t"), DESYNC_NAME_LIKE_CL);
	ck_assert_int_eq(KIND(" Content-Length"), DESYNC_NAME_LIKE_CL);
	ck_assert_int_eq(KIND("content.length"), DESYNC_NAME_LIKE_CL);

	ck_assert_int_eq(KIND("transfer-encoding1"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("transfer-encodin"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("x_transfer_encoding"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("x_transfer_encodings"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("accept-encoding"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("gibberish"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("Content-Lengths"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("Content-Type"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(KIND("Host"), DESYNC_NAME_OTHER);
	ck_assert_int_eq(desync_name_kind("", 0), DESYNC_NAME_OTHER);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(desync_class_name(DESYNC_COMPLIANT), "Compliant");
	ck_assert_str_eq(desync_class_name(DESYNC_ACCEPTABLE), "Acceptable");
	ck_assert_str_eq(desync_class_name(DESYNC_AMBIGUOUS), "Ambiguous");
	ck_assert_str_eq(desync_class_name(DESYNC_SEVERE), "Severe");
	ck_assert_str_eq(desync_class_name((enum desync_class)4), "-");
	ck_assert_str_eq(desync_reason_name(DESYNC_R_NONE), "-");
	ck_assert_str_eq(desync_reason_name(DESYNC_R_COUNT), "-");
	ck_assert_str_eq(desync_reason_name(DESYNC_R_AMBIGUOUS_URI), "AmbiguousUri");
	ck_assert_str_eq(desync_reason_name(DESYNC_R_BOTH_TE_PRESENT), "BothTePresent");
	ck_assert_str_eq(desync_reason_name(DESYNC_R_UNDEFINED_CONTENT_LENGTH), "UndefinedContentLength");
	ck_assert_str_eq(desync_reason_name(DESYNC_R_UNDEFINED_TRANSFER_ENCODING), "UndefinedTransferEncoding");
	ck_assert_str_eq(desync_reason_name(DESYNC_R_MISSING_LAST_EMPTY_LINE), "MissingLastEmptyLine");
	for (int i = DESYNC_R_AMBIGUOUS_URI; i < DESYNC_R_COUNT; i++) {
		const char *a = desync_reason_name((enum desync_reason)i);
		ck_assert_str_ne(a, "-");
		for (int j = i + 1; j < DESYNC_R_COUNT; j++)
			ck_assert_str_ne(a, desync_reason_name((enum desync_reason)j));
	}
}
END_TEST

/* A browser's ~300-byte request head, classified in a loop: the time per
 * head (the fastest of 20 rounds, as other tests share the CPU) is printed
 * in this test's log; the bound only catches a pathological slowdown,
 * sanitizer builds included. */
START_TEST(test_speed)
{
	static const char head[] =
		"GET /assets/app.js?v=1234567 HTTP/1.1\r\n"
		"Host: www.example.com\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
		"Accept: */*\r\n"
		"Accept-Language: en-US,en;q=0.5\r\n"
		"Accept-Encoding: gzip, deflate, br\r\n"
		"Referer: https://www.example.com/\r\n"
		"Cookie: session=0123456789abcdef\r\n"
		"Connection: keep-alive\r\n"
		"\r\n";
	enum { ROUNDS = 20, N = 20000 };
	struct desync_verdict v;
	unsigned bad = 0;
	double best = 1e12;
	for (int r = 0; r < ROUNDS; r++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < N; i++) {
			desync_classify(head, sizeof head - 1, &v);
			bad += v.cls != DESYNC_COMPLIANT;
			__asm__ __volatile__("" ::: "memory"); /* one classification per round */
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / N;
		if (ns < best)
			best = ns;
	}
	printf("desync_classify: %.1f ns per %zu-byte head\n", best, sizeof head - 1);
	ck_assert_uint_eq(bad, 0);
	ck_assert_double_lt(best, 50000.0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("desync");
	TCase *tc = tcase_create("desync");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_guardian_cases);
	tcase_add_test(tc, test_reasons);
	tcase_add_test(tc, test_leading_empty_lines);
	tcase_add_test(tc, test_name_kind);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_speed);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
