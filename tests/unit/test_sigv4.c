/* test_sigv4.c - src/control/sigv4.c: AWS's SigV4 test suite, the IAM
 * ListUsers example of AWS's documentation, a request signed by botocore,
 * and the ways a request fails (each mapped to AWS's error code).
 *
 * The suite vectors are the header-signed-request.txt files of the
 * aws-sig-v4-test-suite as shipped in awslabs/aws-c-auth,
 * tests/aws-signing-test-suite/v4/<name>/ (commit 495329c2), copied
 * verbatim: secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, access key
 * AKIDEXAMPLE, 20150830T123600Z, us-east-1, service "service". Only the
 * "-normalized" path cases are here: the "-unnormalized" ones are S3's
 * rules, which this module does not implement. get-header-value-multiline
 * (obs-fold) is left out: albd's HTTP parser rejects folded headers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/sigv4.h"

#define T_20150830_123600 1440938160 /* 2015-08-30T12:36:00Z */

struct vec {
	const char *name;
	const char *text; /* request line, "Name:value" headers, blank line, body */
};

static const struct vec suite[] = {
	{"get-header-key-duplicate",
	  "GET / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "My-Header1:value2\n"
	  "My-Header1:value2\n"
	  "My-Header1:value1\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea\n"
	  "\n"
	  ""},
	{"get-header-value-order",
	  "GET / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "My-Header1:value4\n"
	  "My-Header1:value1\n"
	  "My-Header1:value3\n"
	  "My-Header1:value2\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01\n"
	  "\n"
	  ""},
	{"get-header-value-trim",
	  "GET / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "My-Header1: value1\n"
	  "My-Header2: \"a   b   c\"\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736\n"
	  "\n"
	  ""},
	{"get-relative-normalized",
	  "GET /example/.. HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
	  "\n"
	  ""},
	{"get-relative-relative-normalized",
	  "GET /example1/example2/../.. HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
	  "\n"
	  ""},
	{"get-slash-dot-slash-normalized",
	  "GET /./ HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
	  "\n"
	  ""},
	{"get-slash-normalized",
	  "GET // HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
	  "\n"
	  ""},
	{"get-slash-pointless-dot-normalized",
	  "GET /./example HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5\n"
	  "\n"
	  ""},
	{"get-slashes-normalized",
	  "GET //example// HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84\n"
	  "\n"
	  ""},
	{"get-space-normalized",
	  "GET /example space/ HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741\n"
	  "\n"
	  ""},
	{"get-unreserved",
	  "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f\n"
	  "\n"
	  ""},
	{"get-utf8",
	  "GET /\341\210\264 HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85\n"
	  "\n"
	  ""},
	{"get-vanilla",
	  "GET / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
	  "\n"
	  ""},
	{"get-vanilla-empty-query-key",
	  "GET /?Param1=value1 HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb\n"
	  "\n"
	  ""},
	{"get-vanilla-query",
	  "GET / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
	  "\n"
	  ""},
	{"get-vanilla-query-order-encoded",
	  "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac\n"
	  "\n"
	  ""},
	{"get-vanilla-query-order-key-case",
	  "GET /?Param2=value2&Param1=value1 HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500\n"
	  "\n"
	  ""},
	{"get-vanilla-query-unreserved",
	  "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197\n"
	  "\n"
	  ""},
	{"get-vanilla-utf8-query",
	  "GET /?\341\210\264=bar HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04\n"
	  "\n"
	  ""},
	{"get-vanilla-with-session-token",
	  "GET / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8\n"
	  "\n"
	  ""},
	{"post-header-key-case",
	  "POST / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n"
	  "\n"
	  ""},
	{"post-header-key-sort",
	  "POST / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "My-Header1:value1\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c\n"
	  "\n"
	  ""},
	{"post-header-value-case",
	  "POST / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "My-Header1:VALUE1\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d\n"
	  "\n"
	  ""},
	{"post-sts-header-after",
	  "POST / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n"
	  "\n"
	  ""},
	{"post-sts-header-before",
	  "POST / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead\n"
	  "\n"
	  ""},
	{"post-vanilla",
	  "POST / HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n"
	  "\n"
	  ""},
	{"post-vanilla-empty-query-value",
	  "POST /?Param1=value1 HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11\n"
	  "\n"
	  ""},
	{"post-vanilla-query",
	  "POST /?Param1=value1 HTTP/1.1\n"
	  "Host:example.amazonaws.com\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11\n"
	  "\n"
	  ""},
	{"post-x-www-form-urlencoded",
	  "POST / HTTP/1.1\n"
	  "Content-Type:application/x-www-form-urlencoded\n"
	  "Host:example.amazonaws.com\n"
	  "Content-Length:13\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\n"
	  "\n"
	  "Param1=value1"},
	{"post-x-www-form-urlencoded-parameters",
	  "POST / HTTP/1.1\n"
	  "Content-Type:application/x-www-form-urlencoded; charset=utf-8\n"
	  "Host:example.amazonaws.com\n"
	  "Content-Length:13\n"
	  "X-Amz-Date:20150830T123600Z\n"
	  "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
	  "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422\n"
	  "\n"
	  "Param1=value1"},
};

/* A request parsed out of a vector's text; strings point into buf. */
struct parsed {
	char *buf;
	struct sigv4_header h[32];
	struct sigv4_request r;
};

static void parse(struct parsed *p, const char *text)
{
	memset(p, 0, sizeof *p);
	p->buf = strdup(text);
	ck_assert_ptr_nonnull(p->buf);
	char *s = p->buf, *nl = strchr(s, '\n');
	ck_assert_ptr_nonnull(nl);
	*nl = '\0';
	char *sp1 = strchr(s, ' '), *sp2 = strrchr(s, ' ');
	ck_assert(sp1 && sp2 && sp2 > sp1);
	*sp1 = *sp2 = '\0';
	p->r.method = s;
	p->r.path = sp1 + 1;
	char *q = strchr(sp1 + 1, '?');
	if (q) {
		*q = '\0';
		p->r.query = q + 1;
	}
	s = nl + 1;
	while (*s && *s != '\n') {
		nl = strchr(s, '\n');
		ck_assert_ptr_nonnull(nl);
		*nl = '\0';
		char *c = strchr(s, ':');
		ck_assert_ptr_nonnull(c);
		*c = '\0';
		ck_assert_uint_lt(p->r.nheaders, 32);
		p->h[p->r.nheaders].name = s;
		p->h[p->r.nheaders].value = c + 1;
		p->r.nheaders++;
		s = nl + 1;
	}
	if (*s == '\n')
		s++;
	p->r.headers = p->h;
	p->r.body = s;
	p->r.body_len = strlen(s);
}

static const char *lookup(const char *akid, void *arg)
{
	(void)arg;
	if (strcmp(akid, "AKIDEXAMPLE") == 0)
		return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	if (strcmp(akid, "AKIDBOTO") == 0)
		return "botoSecretKey/123";
	return NULL;
}

static enum sigv4_result verify_text(const char *text, time_t now, struct sigv4_identity *id)
{
	struct parsed p;
	parse(&p, text);
	enum sigv4_result r = sigv4_verify(&p.r, now, lookup, NULL, id);
	free(p.buf);
	return r;
}

START_TEST(test_suite)
{
	struct sigv4_identity id;
	enum sigv4_result r = verify_text(suite[_i].text, T_20150830_123600, &id);
	if (r != SIGV4_OK)
		ck_abort_msg("%s: %s", suite[_i].name, sigv4_error_code(r));
	ck_assert_str_eq(id.access_key_id, "AKIDEXAMPLE");
	ck_assert_str_eq(id.date, "20150830");
	ck_assert_str_eq(id.region, "us-east-1");
	ck_assert_str_eq(id.service, "service");
}
END_TEST

/* The canonical requests the suite gives (header-canonical-request.txt). */
START_TEST(test_canonical)
{
	struct parsed p;
	parse(&p, suite[0].text); /* get-header-key-duplicate */
	char *c = sigv4_canonical_request(&p.r, "host;my-header1;x-amz-date",
					  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_str_eq(c, "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
			    "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(c);
	free(p.buf);

	/* get-header-value-trim, and double encoding of an encoded path */
	static const struct sigv4_header h[] = {{"Host", "example.amazonaws.com"}, {"My-Header2", " \"a   b   c\" "}};
	struct sigv4_request r = {"GET", "//a%20b/./c/../d//", "b=2&a=%7e&a=1&c&d=x+y", h, 2, NULL, 0};
	c = sigv4_canonical_request(&r, "host;my-header2", "x");
	ck_assert_str_eq(c, "GET\n/a%2520b/d/\na=1&a=~&b=2&c=&d=x%2By\nhost:example.amazonaws.com\n"
			    "my-header2:\"a b c\"\n\nhost;my-header2\nx");
	free(c);
}
END_TEST

/* AWS's documentation example (IAM ListUsers, "Create a signed AWS API
 * request", docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * and the General Reference's signature-v4 examples). */
START_TEST(test_iam_doc_example)
{
	static const struct sigv4_header h[] = {
		{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
		{"Host", "iam.amazonaws.com"},
		{"X-Amz-Date", "20150830T123600Z"},
		{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
				  "SignedHeaders=content-type;host;x-amz-date, "
				  "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
	};
	struct sigv4_request r = {"GET", "/", "Action=ListUsers&Version=2010-05-08", h, 4, NULL, 0};
	struct sigv4_identity id;
	ck_assert_int_eq(sigv4_verify(&r, T_20150830_123600, lookup, NULL, &id), SIGV4_OK);
	ck_assert_str_eq(id.service, "iam");
}
END_TEST

/* An awsQuery POST signed by botocore 1.43.11 (SigV4Auth.add_auth on an
 * AWSRequest for https://elasticloadbalancing.eu-west-1.amazonaws.com/). */
static const char boto_req[] =
	"POST / HTTP/1.1\n"
	"Host:elasticloadbalancing.eu-west-1.amazonaws.com\n"
	"Content-Type:application/x-www-form-urlencoded; charset=utf-8\n"
	"X-Amz-Date:20261130T082904Z\n"
	"Authorization:AWS4-HMAC-SHA256 Credential=AKIDBOTO/20261130/eu-west-1/elasticloadbalancing/aws4_request, "
	"SignedHeaders=content-type;host;x-amz-date, "
	"Signature=b5289606de94cff0f3a2dbcbb1f0ed0c3147bce3f218c099a3885431eda70045\n"
	"\n"
	"Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=my%20lb";
#define T_BOTO 1796027344 /* 2026-11-30T08:29:04Z */

START_TEST(test_botocore_query)
{
	struct sigv4_identity id;
	ck_assert_int_eq(verify_text(boto_req, T_BOTO, &id), SIGV4_OK);
	ck_assert_str_eq(id.access_key_id, "AKIDBOTO");
	ck_assert_str_eq(id.region, "eu-west-1");
	ck_assert_str_eq(id.service, "elasticloadbalancing");
	ck_assert_int_eq(verify_text(boto_req, T_BOTO + 300, NULL), SIGV4_OK);
	ck_assert_int_eq(verify_text(boto_req, T_BOTO - 300, NULL), SIGV4_OK);
}
END_TEST

/* A GET signed by botocore 1.43.11 for https://sns.us-east-1.amazonaws.com
 * /a%20b/c%2Fd/?b=%2F%E1%88%B4&a=x%20y&a=1: botocore's canonical URI is
 * "/a%2520b/c%252Fd/" (the wire path encoded again, AWS's "twice"). */
START_TEST(test_botocore_path)
{
	static const struct sigv4_header h[] = {
		{"Host", "sns.us-east-1.amazonaws.com"},
		{"X-Amz-Date", "20261130T083042Z"},
		{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBOTO/20261130/us-east-1/sns/aws4_request, "
				  "SignedHeaders=host;x-amz-date, "
				  "Signature=968408419134e7ba5710399d6dbe45c3a9436964f6f360da9d81408c896737f7"},
	};
	struct sigv4_request r = {"GET", "/a%20b/c%2Fd/", "b=%2F%E1%88%B4&a=x%20y&a=1", h, 3, NULL, 0};
	struct sigv4_identity id;
	ck_assert_int_eq(sigv4_verify(&r, 1796027442, lookup, NULL, &id), SIGV4_OK);
	ck_assert_str_eq(id.service, "sns");
	r.path = "/a b/c%2Fd/"; /* decoded once: not what was signed */
	ck_assert_int_eq(sigv4_verify(&r, 1796027442, lookup, NULL, &id), SIGV4_SIGNATURE_DOES_NOT_MATCH);
}
END_TEST

/* TEXT with the first FROM replaced by TO (a new string). */
static char *subst(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	ck_assert_ptr_nonnull(at);
	size_t n = strlen(text) - strlen(from) + strlen(to);
	char *o = malloc(n + 1);
	ck_assert_ptr_nonnull(o);
	size_t pre = (size_t)(at - text);
	memcpy(o, text, pre);
	strcpy(o + pre, to);
	strcat(o, at + strlen(from));
	return o;
}

static enum sigv4_result verify_subst(const char *text, time_t now, const char *from, const char *to)
{
	char *t = subst(text, from, to);
	enum sigv4_result r = verify_text(t, now, NULL);
	free(t);
	return r;
}

START_TEST(test_negative)
{
	/* a changed byte in the body */
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "my%20lb", "my%20lc"), SIGV4_SIGNATURE_DOES_NOT_MATCH);
	/* ... also when x-amz-content-sha256 is sent (it no longer matches the body) */
	const char *form = suite[28].text; /* post-x-www-form-urlencoded */
	ck_assert_int_eq(verify_text(form, T_20150830_123600, NULL), SIGV4_OK);
	ck_assert_int_eq(verify_subst(form, T_20150830_123600, "Param1=value1", "Param1=value2"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH);
	/* a signed header changed; an unsigned one may change */
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "charset=utf-8", "charset=utf-16"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH);
	ck_assert_int_eq(verify_subst(suite[23].text, T_20150830_123600, "X-Amz-Security-Token:AQo",
				      "X-Amz-Security-Token:XQo"),
			 SIGV4_OK); /* post-sts-header-after: the token is not signed */
	/* a header added to the request is not signed: still fine */
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "\n\n", "\nX-Extra:1\n\n"), SIGV4_OK);
	/* a signed header missing from the request */
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "Content-Type:", "Content-Typo:"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH);
	/* host or x-amz-date not among the signed headers */
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "content-type;host;x-amz-date", "content-type;x-amz-date"),
			 SIGV4_INCOMPLETE_SIGNATURE);
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "content-type;host;x-amz-date", "content-type;host"),
			 SIGV4_INCOMPLETE_SIGNATURE);
	/* the wrong region (the key derived for us-east-1), a changed path or query */
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "/eu-west-1/", "/us-east-1/"), SIGV4_SIGNATURE_DOES_NOT_MATCH);
	ck_assert_int_eq(verify_subst(suite[12].text, T_20150830_123600, "/us-east-1/", "/us-west-2/"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH); /* get-vanilla */
	ck_assert_int_eq(verify_subst(suite[12].text, T_20150830_123600, "GET / ", "GET /x "),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH);
	ck_assert_int_eq(verify_subst(suite[16].text, T_20150830_123600, "value2", "value3"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH); /* get-vanilla-query-order-key-case */
	/* the method */
	ck_assert_int_eq(verify_subst(suite[25].text, T_20150830_123600, "POST", "PUT"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH); /* post-vanilla */
	/* skew: 300 s is fine, 301 s either way is not */
	ck_assert_int_eq(verify_text(boto_req, T_BOTO + 301, NULL), SIGV4_REQUEST_TIME_TOO_SKEWED);
	ck_assert_int_eq(verify_text(boto_req, T_BOTO - 301, NULL), SIGV4_REQUEST_TIME_TOO_SKEWED);
	/* the scope's date is not the request's */
	ck_assert_int_eq(verify_subst(suite[12].text, T_20150830_123600, "/20150830/", "/20150831/"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH);
	/* an unknown access key */
	struct sigv4_identity id;
	char *t = subst(boto_req, "AKIDBOTO", "AKIDOTHER");
	ck_assert_int_eq(verify_text(t, T_BOTO, &id), SIGV4_INVALID_CLIENT_TOKEN_ID);
	ck_assert_str_eq(id.access_key_id, "AKIDOTHER");
	ck_assert_str_eq(id.service, "elasticloadbalancing");
	free(t);
	/* a flipped signature digit; an uppercase signature is the same one */
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "Signature=b5", "Signature=b6"),
			 SIGV4_SIGNATURE_DOES_NOT_MATCH);
	ck_assert_int_eq(verify_subst(boto_req, T_BOTO, "Signature=b5289606de", "Signature=B5289606DE"), SIGV4_OK);
}
END_TEST

static const char *const malformed[] = {
	"AWS4-HMAC-SHA256",
	"AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/aws4_request, SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws5_request, SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3g",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=x-amz-date;host, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=Host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
	"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31, Foo=bar",
	"Basic QUtJRDpzZWNyZXQ=",
	"",
};

START_TEST(test_malformed)
{
	struct sigv4_header h[] = {
		{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}, {"Authorization", malformed[_i]}};
	struct sigv4_request r = {"GET", "/", NULL, h, 3, NULL, 0};
	ck_assert_int_eq(sigv4_verify(&r, T_20150830_123600, lookup, NULL, NULL), SIGV4_INCOMPLETE_SIGNATURE);
}
END_TEST

START_TEST(test_headers_and_dates)
{
	const char *v = suite[12].text; /* get-vanilla */
	ck_assert_int_eq(verify_text(v, T_20150830_123600, NULL), SIGV4_OK);
	/* components in another order, no space after the commas */
	ck_assert_int_eq(verify_subst(v, T_20150830_123600,
				      "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ",
				      "SignedHeaders=host;x-amz-date,Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"),
			 SIGV4_OK);
	/* no Authorization; two of them; no date; a malformed date; two dates */
	ck_assert_int_eq(verify_subst(v, T_20150830_123600, "Authorization:", "X-Authorization:"),
			 SIGV4_INCOMPLETE_SIGNATURE);
	ck_assert_int_eq(verify_subst(v, T_20150830_123600, "X-Amz-Date:", "Authorization:x\nX-Amz-Date:"),
			 SIGV4_INCOMPLETE_SIGNATURE);
	ck_assert_int_eq(verify_subst(v, T_20150830_123600, "X-Amz-Date:", "X-Amz-Datum:"),
			 SIGV4_INCOMPLETE_SIGNATURE);
	ck_assert_int_eq(verify_subst(v, T_20150830_123600, "X-Amz-Date:20150830T123600Z", "X-Amz-Date:2015-08-30"),
			 SIGV4_INCOMPLETE_SIGNATURE);
	ck_assert_int_eq(verify_subst(v, T_20150830_123600, "X-Amz-Date:", "X-Amz-Date:20150830T123600Z\nX-Amz-Date:"),
			 SIGV4_INCOMPLETE_SIGNATURE);
	/* the HTTP Date instead of X-Amz-Date: signed as "date"; the signature
	 * then differs from the vector's, but the date is accepted */
	ck_assert_int_eq(verify_subst(v, T_20150830_123600, "X-Amz-Date:20150830T123600Z",
				      "Date:Sun, 30 Aug 2015 12:36:00 GMT"),
			 SIGV4_INCOMPLETE_SIGNATURE); /* x-amz-date is signed, date is not */
	char *t = subst(v, "X-Amz-Date:20150830T123600Z", "Date:Sun, 30 Aug 2015 12:36:00 GMT");
	char *t2 = subst(t, "host;x-amz-date", "date;host");
	ck_assert_int_eq(verify_text(t2, T_20150830_123600, NULL), SIGV4_SIGNATURE_DOES_NOT_MATCH);
	ck_assert_int_eq(verify_text(t2, T_20150830_123600 + 301, NULL), SIGV4_REQUEST_TIME_TOO_SKEWED);
	free(t2);
	free(t);
	ck_assert_str_eq(sigv4_error_code(SIGV4_OK), "");
	ck_assert_str_eq(sigv4_error_code(SIGV4_INCOMPLETE_SIGNATURE), "IncompleteSignature");
	ck_assert_str_eq(sigv4_error_code(SIGV4_INVALID_CLIENT_TOKEN_ID), "InvalidClientTokenId");
	ck_assert_str_eq(sigv4_error_code(SIGV4_SIGNATURE_DOES_NOT_MATCH), "SignatureDoesNotMatch");
	ck_assert_str_eq(sigv4_error_code(SIGV4_REQUEST_TIME_TOO_SKEWED), "RequestTimeTooSkewed");
}
END_TEST

static Suite *sigv4_suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_suite, 0, (int)(sizeof suite / sizeof suite[0]));
	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_iam_doc_example);
	tcase_add_test(tc, test_botocore_query);
	tcase_add_test(tc, test_botocore_path);
	tcase_add_test(tc, test_negative);
	tcase_add_loop_test(tc, test_malformed, 0, (int)(sizeof malformed / sizeof malformed[0]));
	tcase_add_test(tc, test_headers_and_dates);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sigv4_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
