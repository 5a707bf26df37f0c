/* fuzz_http1_diff.c - differential libFuzzer target: http1_parse_head()
 * (with its fast path) against http1_parse_head_slow() (http-parser for
 * every head) on every head http1_scan_head() lets through. They must
 * agree on the result and, for a head both accept, on every part of it;
 * any difference aborts.
 *
 * Inputs are turned into heads that look like heads often: the first byte
 * picks a request method (or none: the line is taken as it is) or the
 * response form, the rest is split at '\n' into the start line's remainder
 * and the field lines, which are joined with CRLF and ended with an empty
 * line. The raw input is also tried as it is.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_http1_diff.c src/net/http1.c src/net/desync.c -levent_core -lhttp_parser -o /tmp/fuzz_http1_diff
 *   /tmp/fuzz_http1_diff -max_total_time=120
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "net/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* heads the fast path read: the seeds alone must give some (checked on
 * the first inputs), or the comparison would only be http-parser's with
 * itself */
static unsigned long fast_heads, runs;

static const char *const methods[] = {
	"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "TRACE ", "CONNECT ",
	"GET  ", "get ", "PURGE ", "MKCOL ", "GETX ", "", "",
};

static int same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || (a && b && memcmp(a, b, an) == 0));
}

#define CHECK(c)                     \
	do {                         \
		if (!(c))            \
			abort();     \
	} while (0)

static void compare(const char *p, size_t len, int is_request, int head_req, const struct http1_limits *lim)
{
	struct http1_header ha[32], hb[32];
	struct http1_head a, b;

	a.hdrs = ha;
	b.hdrs = hb;
	enum http1_status sa = http1_parse_head(p, len, is_request, head_req, lim, &a);
	enum http1_status sb = http1_parse_head_slow(p, len, is_request, head_req, lim, &b);
	CHECK(sa == sb);
	CHECK(!b.fast);
	if (sa != HTTP1_OK)
		return;
	fast_heads += a.fast;
	CHECK(a.minor == b.minor && a.skip == b.skip && a.head_len == b.head_len);
	CHECK(a.nhdrs == b.nhdrs);
	for (size_t i = 0; i < a.nhdrs; i++) {
		CHECK(same(ha[i].name, ha[i].name_len, hb[i].name, hb[i].name_len));
		CHECK(same(ha[i].value, ha[i].value_len, hb[i].value, hb[i].value_len));
	}
	if (is_request) {
		CHECK(a.method_id == b.method_id);
		CHECK(same(a.method, a.method_len, b.method, b.method_len));
		CHECK(same(a.target, a.target_len, b.target, b.target_len));
		CHECK(same(a.authority, a.authority_len, b.authority, b.authority_len));
		CHECK(same(a.path, a.path_len, b.path, b.path_len));
		CHECK(same(a.host, a.host_len, b.host, b.host_len));
		CHECK(!a.host == !b.host);
		CHECK(a.expect_continue == b.expect_continue);
	} else {
		CHECK(a.status == b.status);
		CHECK(same(a.reason, a.reason_len, b.reason, b.reason_len));
	}
	CHECK(a.conn_flags == b.conn_flags && a.keep_alive == b.keep_alive);
	CHECK(a.body == b.body && a.content_length == b.content_length);
	CHECK(a.conn_tokens_len == b.conn_tokens_len);
	if (a.conn_tokens_len != (size_t)-1)
		CHECK(same(a.conn_tokens, a.conn_tokens_len, b.conn_tokens, b.conn_tokens_len));
	CHECK(same(a.upgrade, a.upgrade_len, b.upgrade, b.upgrade_len));
	CHECK(!a.upgrade == !b.upgrade);
	CHECK(a.wants_upgrade == b.wants_upgrade);
}

/* Scan P as a socket would deliver it; on a complete head, compare. */
static void scan_and_compare(const char *p, size_t n, int is_request, int head_req)
{
	/* as the proxy scans (control characters passed to the classifier),
	 * and as the admin listener and responses do (refused at once) */
	const struct http1_limits lims[2] = { { 1024, 4096, 32, 0, 1 }, { 1024, 4096, 32, 0, 0 } };

	for (int k = 0; k < 2; k++) {
		struct evbuffer *in = evbuffer_new();
		struct http1_scan sc;
		size_t head_len = 0;
		http1_scan_reset(&sc);
		evbuffer_add(in, p, n);
		if (http1_scan_head(in, is_request, &lims[k], &sc, &head_len) == HTTP1_OK) {
			const char *h = (const char *)evbuffer_pullup(in, (ssize_t)head_len);
			compare(h, head_len, is_request, head_req, &lims[k]);
			/* the lenient reading of a normalized request takes http-parser */
			const struct http1_limits lenient = { 1024, 4096, 32, 1, 0 };
			compare(h, head_len, is_request, head_req, &lenient);
		}
		evbuffer_free(in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (++runs == 1000)
		CHECK(fast_heads > 0);
	if (size < 1 || size > 3000)
		return 0;
	unsigned sel = data[0];
	int is_request = !(sel & 0x80);
	int head_req = (sel & 0x40) != 0;
	/* raw */
	scan_and_compare((const char *)data + 1, size - 1, is_request, head_req);

	/* shaped: prefix, lines joined with CRLF, an empty line */
	size_t cap = 2 * size + 64;
	char *buf = malloc(cap);
	if (!buf)
		return 0;
	size_t n = 0;
	const char *prefix = is_request ? methods[sel & 15] : ((sel & 1) ? "HTTP/1.1 " : "HTTP/1.0 ");
	size_t pl = strlen(prefix);
	memcpy(buf, prefix, pl);
	n = pl;
	for (size_t i = 1; i < size; i++) {
		if (data[i] == '\n') {
			buf[n++] = '\r';
			buf[n++] = '\n';
		} else
			buf[n++] = (char)data[i];
	}
	memcpy(buf + n, "\r\n\r\n", 4);
	n += 4;
	scan_and_compare(buf, n, is_request, head_req);
	free(buf);
	return 0;
}
