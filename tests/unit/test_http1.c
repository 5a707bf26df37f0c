/* test_http1.c - unit tests of src/net/http1.c through its public API
 * (http1.h): scanning heads as they arrive, parsing request and response
 * heads strictly (RFC 9112), the hop-by-hop rules, and moving bodies
 * (Content-Length, chunked decoding and re-encoding, close-delimited).
 *
 * Heads are fed through libevent evbuffers, in one piece and one byte at a
 * time; bodies likewise. Parsed heads point into the test's own strings.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "../../src/net/desync.h"
#include "../../src/net/http1.h"

/* ------------------------------------------------------------ helpers */

#define NHDRS 64

static const struct http1_limits lim_default = { 256, 4096, 32, 0, 0 };

/* Scan the LEN bytes at S, added to a fresh evbuffer in one piece. */
static enum http1_status scan_once(const char *s, size_t len, int is_request, const struct http1_limits *lim,
				   size_t *head_len)
{
	struct evbuffer *in = evbuffer_new();
	struct http1_scan sc;
	enum http1_status st;

	ck_assert_ptr_nonnull(in);
	evbuffer_add(in, s, len);
	http1_scan_reset(&sc);
	*head_len = 0;
	st = http1_scan_head(in, is_request, lim, &sc, head_len);
	if (st == HTTP1_OK) {
		/* the head is contiguous and nothing was drained */
		ck_assert_uint_ge(evbuffer_get_contiguous_space(in), *head_len);
		ck_assert_uint_eq(evbuffer_get_length(in), len);
		ck_assert_mem_eq(evbuffer_pullup(in, -1), s, len);
	}
	evbuffer_free(in);
	return st;
}

static enum http1_status scan_str(const char *s, int is_request, const struct http1_limits *lim, size_t *head_len)
{
	return scan_once(s, strlen(s), is_request, lim, head_len);
}

/* Feed the LEN bytes at S one at a time, scanning after each. Returns the
 * first result other than INCOMPLETE (INCOMPLETE if none); *FED tells how
 * many bytes were in the buffer then. */
static enum http1_status scan_bytewise(const char *s, size_t len, int is_request, const struct http1_limits *lim,
				       size_t *head_len, size_t *fed)
{
	struct evbuffer *in = evbuffer_new();
	struct http1_scan sc;
	enum http1_status st = HTTP1_INCOMPLETE;
	size_t i;

	ck_assert_ptr_nonnull(in);
	http1_scan_reset(&sc);
	*head_len = 0;
	for (i = 0; i < len; i++) {
		evbuffer_add(in, s + i, 1);
		st = http1_scan_head(in, is_request, lim, &sc, head_len);
		if (st != HTTP1_INCOMPLETE)
			break;
	}
	*fed = i < len ? i + 1 : len;
	if (st == HTTP1_OK) {
		ck_assert_uint_ge(evbuffer_get_contiguous_space(in), *head_len);
		ck_assert_mem_eq(evbuffer_pullup(in, -1), s, *fed);
	}
	evbuffer_free(in);
	return st;
}

/* Both ways must agree; returns the common result. */
static enum http1_status scan_both(const char *s, int is_request, const struct http1_limits *lim, size_t *head_len)
{
	size_t len = strlen(s), hl1, hl2, fed;
	enum http1_status a = scan_once(s, len, is_request, lim, &hl1);
	enum http1_status b = scan_bytewise(s, len, is_request, lim, &hl2, &fed);

	ck_assert_int_eq(a, b);
	if (a == HTTP1_OK) {
		ck_assert_uint_eq(hl1, hl2);
		ck_assert_uint_eq(fed, hl2);   /* OK exactly when the final LF arrives */
	}
	*head_len = hl1;
	return a;
}

static struct http1_header hdr_store[NHDRS];

static enum http1_status parse_lim(const char *s, int is_request, int req_head, const struct http1_limits *lim,
				   struct http1_head *h)
{
	memset(h, 0, sizeof(*h));
	memset(hdr_store, 0, sizeof(hdr_store));
	h->hdrs = hdr_store;
	return http1_parse_head(s, strlen(s), is_request, req_head, lim, h);
}

static enum http1_status parse_req(const char *s, struct http1_head *h)
{
	return parse_lim(s, 1, 0, &lim_default, h);
}

static enum http1_status parse_resp(const char *s, int req_head, struct http1_head *h)
{
	return parse_lim(s, 0, req_head, &lim_default, h);
}

#define ck_assert_span_eq(p, n, lit)                                 \
	do {                                                         \
		ck_assert_uint_eq((n), strlen(lit));                 \
		ck_assert_ptr_nonnull(p);                            \
		ck_assert_mem_eq((p), (lit), strlen(lit));           \
	} while (0)

/* The header named NAME (first one), or NULL. */
static const struct http1_header *find_hdr(const struct http1_head *h, const char *name)
{
	for (size_t i = 0; i < h->nhdrs; i++)
		if (http1_name_is(&h->hdrs[i], name))
			return &h->hdrs[i];
	return NULL;
}

/* Everything in B as a NUL-terminated malloc'ed string (B is drained). */
static char *take_all(struct evbuffer *b, size_t *len)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = 0;
	if (len)
		*len = n;
	return s;
}

/* Independent strict chunked decoder: chunk-size (hex, no extension) CRLF
 * data CRLF ..., "0" CRLF CRLF, nothing after. Returns the payload length
 * (copied to OUT of CAP bytes) or -1. */
static long strict_dechunk(const char *s, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	for (;;) {
		size_t size = 0, digits = 0;
		while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
				 (s[i] >= 'A' && s[i] <= 'F'))) {
			char c = s[i++];
			size = size * 16 + (size_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
			digits++;
		}
		if (digits == 0 || i + 2 > n || s[i] != '\r' || s[i + 1] != '\n')
			return -1;
		i += 2;
		if (size == 0)
			break;
		if (i + size + 2 > n || o + size > cap)
			return -1;
		memcpy(out + o, s + i, size);
		o += size;
		i += size;
		if (s[i] != '\r' || s[i + 1] != '\n')
			return -1;
		i += 2;
	}
	if (i + 2 != n || s[i] != '\r' || s[i + 1] != '\n')
		return -1;
	return (long)o;
}

/* Run a body of MODE/LENGTH/OUT_CHUNKED over the LEN bytes at S, in one
 * piece or byte by byte (calling http1_body_move after every byte), with
 * MAX per call. Returns the first -1, else 0. *OUT gets what was written,
 * *REST what was left in the source, *DONE the done flag. */
struct run {
	int rc;
	int done;
	char *out;
	size_t out_len;
	char *rest;
	size_t rest_len;
	uint64_t total;
};

static void run_body(struct run *r, enum http1_body_mode mode, uint64_t length, int out_chunked, const char *s,
		     size_t len, int bytewise, size_t max)
{
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	struct http1_body b;
	int guard;

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(dst);
	memset(r, 0, sizeof(*r));
	http1_body_init(&b, mode, length, out_chunked);
	if (bytewise) {
		for (size_t i = 0; i < len && r->rc == 0; i++) {
			evbuffer_add(src, s + i, 1);
			r->rc = http1_body_move(&b, src, dst, max);
			/* with a limit, keep going until nothing more moves */
			for (guard = 0; r->rc == 0 && max && guard < 1000; guard++) {
				size_t before = evbuffer_get_length(src);
				r->rc = http1_body_move(&b, src, dst, max);
				if (evbuffer_get_length(src) == before)
					break;
			}
		}
	} else {
		evbuffer_add(src, s, len);
		for (guard = 0; guard < 100000; guard++) {
			size_t before = evbuffer_get_length(src);
			size_t dbefore = evbuffer_get_length(dst);
			r->rc = http1_body_move(&b, src, dst, max);
			if (r->rc || b.done)
				break;
			if (evbuffer_get_length(src) == before && evbuffer_get_length(dst) == dbefore)
				break;
		}
	}
	r->done = b.done;
	r->total = b.total;
	r->out = take_all(dst, &r->out_len);
	r->rest = take_all(src, &r->rest_len);
	evbuffer_free(src);
	evbuffer_free(dst);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->rest);
}

/* ------------------------------------------------------------ scan */

static const char req1[] = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
static const char resp1[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\n";

START_TEST(test_scan_one_piece)
{
	size_t hl;
	char buf[256];

	ck_assert_int_eq(scan_str(req1, 1, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(req1));
	ck_assert_int_eq(scan_str(resp1, 0, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(resp1));

	/* bytes after the head (a body, a pipelined request) are not part of it */
	snprintf(buf, sizeof(buf), "%shello", resp1);
	ck_assert_int_eq(scan_str(buf, 0, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(resp1));
	snprintf(buf, sizeof(buf), "%s%s", req1, req1);
	ck_assert_int_eq(scan_str(buf, 1, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(req1));
}
END_TEST

START_TEST(test_scan_pulls_up)
{
	/* the head arrives in several chains; on OK it is contiguous */
	struct evbuffer *in = evbuffer_new();
	struct http1_scan sc;
	size_t hl = 0, len = strlen(req1);

	evbuffer_add_reference(in, req1, 10, NULL, NULL);
	evbuffer_add_reference(in, req1 + 10, 20, NULL, NULL);
	evbuffer_add_reference(in, req1 + 30, len - 30, NULL, NULL);
	evbuffer_add_reference(in, "GET", 3, NULL, NULL);
	http1_scan_reset(&sc);
	ck_assert_int_eq(http1_scan_head(in, 1, &lim_default, &sc, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, len);
	ck_assert_uint_ge(evbuffer_get_contiguous_space(in), hl);
	ck_assert_mem_eq(evbuffer_pullup(in, (ssize_t)hl), req1, len);
	ck_assert_uint_eq(evbuffer_get_length(in), len + 3);
	evbuffer_free(in);
}
END_TEST

START_TEST(test_scan_bytewise)
{
	size_t hl, fed;
	static const char *heads[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x HTTP/1.0\r\nContent-Length: 3\r\nX:\ty\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		ck_assert_int_eq(scan_both(heads[i], 1, &lim_default, &hl), HTTP1_OK);
		ck_assert_uint_eq(hl, strlen(heads[i]));
	}
	ck_assert_int_eq(scan_both(req1, 1, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(req1));
	ck_assert_int_eq(scan_both(resp1, 0, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(resp1));

	/* byte by byte with a pipelined request behind: stops at the first head */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s%s", req1, req1);
	ck_assert_int_eq(scan_bytewise(buf, strlen(buf), 1, &lim_default, &hl, &fed), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(req1));
	ck_assert_uint_eq(fed, strlen(req1));
}
END_TEST

START_TEST(test_scan_incomplete)
{
	size_t hl, len = strlen(req1);

	/* every strict prefix of a valid head is incomplete */
	for (size_t n = 0; n < len; n++)
		ck_assert_int_eq(scan_once(req1, n, 1, &lim_default, &hl), HTTP1_INCOMPLETE);
	for (size_t n = 0; n < strlen(resp1); n++)
		ck_assert_int_eq(scan_once(resp1, n, 0, &lim_default, &hl), HTTP1_INCOMPLETE);
	/* a trailing CR waits for the next byte */
	ck_assert_int_eq(scan_str("GET / HTTP/1.1\r", 1, &lim_default, &hl), HTTP1_INCOMPLETE);
	ck_assert_int_eq(scan_str("GET / HTTP/1.1\r\nHost: a\r\n\r", 1, &lim_default, &hl), HTTP1_INCOMPLETE);

	/* the same scan state continues where it stopped */
	struct evbuffer *in = evbuffer_new();
	struct http1_scan sc;
	http1_scan_reset(&sc);
	evbuffer_add(in, req1, 20);
	ck_assert_int_eq(http1_scan_head(in, 1, &lim_default, &sc, &hl), HTTP1_INCOMPLETE);
	ck_assert_int_eq(http1_scan_head(in, 1, &lim_default, &sc, &hl), HTTP1_INCOMPLETE);
	evbuffer_add(in, req1 + 20, len - 20);
	ck_assert_int_eq(http1_scan_head(in, 1, &lim_default, &sc, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, len);
	evbuffer_free(in);
}
END_TEST

START_TEST(test_scan_bare_lf)
{
	size_t hl;

	ck_assert_int_eq(scan_both("GET / HTTP/1.1\nHost: a\r\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\r\n\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\n\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("HTTP/1.1 200 OK\nServer: a\r\n\r\n", 0, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("HTTP/1.1 200 OK\r\nServer: a\r\n\n", 0, &lim_default, &hl), HTTP1_BAD);
	/* decided as soon as the LF arrives, the rest need not be there */
	ck_assert_int_eq(scan_str("GET / HTTP/1.1\n", 1, &lim_default, &hl), HTTP1_BAD);
}
END_TEST

START_TEST(test_scan_bare_cr)
{
	size_t hl;

	ck_assert_int_eq(scan_both("GET / HTTP/1.1\rHost: a\r\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\r\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 0, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_str("GET / HTTP/1.1\rX", 1, &lim_default, &hl), HTTP1_BAD);
}
END_TEST

/* Control characters: refused at once by a strict scan (the admin
 * listener, responses); with pass_controls (the proxy, whose desync
 * policy classifies them) a request's pass the scanner but NUL, and then
 * never the strict parser, wherever they stand (http-parser does not check
 * a value's first byte, nor HTAB and FF in a target). */
START_TEST(test_scan_controls)
{
	static const unsigned char ctls[] = { 0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f };
	const struct http1_limits proxy = { 256, 4096, 32, 0, 1 };
	const struct http1_limits lenient = { 256, 4096, 32, 1, 1 };
	struct http1_header hdrs[32];
	struct http1_head h;
	char buf[64];
	size_t hl, fed, n;
	static const char *const where[] = {
		"GET / HTTP/1.1\r\nHost: a\r\nX: aZb\r\n\r\n",   /* in a value */
		"GET / HTTP/1.1\r\nHost: a\r\nX: Zb\r\n\r\n",    /* a value's first byte */
		"GET / HTTP/1.1\r\nHost: a\r\nX:Zb\r\n\r\n",
		"GET / HTTP/1.1\r\nHoZst: a\r\n\r\n",            /* in a name */
		"GET /Z HTTP/1.1\r\nHost: a\r\n\r\n",            /* in the target */
		"GET /aZb?c HTTP/1.1\r\nHost: a\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(ctls); i++) {
		for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
			n = (size_t)snprintf(buf, sizeof(buf), "%s", where[w]);
			char *z = memchr(buf, 'Z', n);
			*z = (char)ctls[i];
			/* strict: at once */
			ck_assert_int_eq(scan_once(buf, n, 1, &lim_default, &hl), HTTP1_BAD);
			ck_assert_int_eq(scan_bytewise(buf, n, 1, &lim_default, &hl, &fed), HTTP1_BAD);
			ck_assert_uint_eq(fed, (size_t)(z - buf) + 1);
			/* the proxy: NUL at once, the others to the parser */
			ck_assert_int_eq(scan_once(buf, n, 1, &proxy, &hl), ctls[i] ? HTTP1_OK : HTTP1_BAD);
			if (!ctls[i])
				continue;
			/* the classifier never calls it Compliant, so the strict
			 * parse below only ever sees it when the policy passed
			 * the head: http-parser misses a value's first byte */
			struct desync_verdict v;
			desync_classify(buf, n, &v);
			ck_assert_msg(v.cls != DESYNC_COMPLIANT, "0x%02x, case %zu", ctls[i], w);
			h.hdrs = hdrs;
			if (w != 1 && w != 2)
				ck_assert_msg(http1_parse_head(buf, n, 1, 0, &proxy, &h) == HTTP1_BAD,
					      "0x%02x, case %zu", ctls[i], w);
			/* a passed head's copy keeps them in values only */
			h.hdrs = hdrs;
			ck_assert_int_eq(http1_parse_head(buf, n, 1, 0, &lenient, &h), w < 3 ? HTTP1_OK : HTTP1_BAD);
		}
		/* in a response: at once, whatever pass_controls says */
		n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX: aZ\r\n\r\n");
		*(char *)memchr(buf, 'Z', n) = (char)ctls[i];
		ck_assert_int_eq(scan_once(buf, n, 0, &proxy, &hl), HTTP1_BAD);
	}
	/* HTAB: fine in a value, never in a target */
	h.hdrs = hdrs;
	ck_assert_int_eq(http1_parse_head("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 30, 1, 0, &proxy, &h), HTTP1_BAD);
	h.hdrs = hdrs;
	ck_assert_int_eq(http1_parse_head("GET /ab HTTP/1.1\r\nHost: a\r\nX:\tb\r\n\r\n", 35, 1, 0, &proxy, &h), HTTP1_OK);
}
END_TEST

/* http1_normalize_request: what the desync policy forwards, into a buffer
 * of exactly the documented 3 * len + 16 bytes (so ASan sees a write past
 * it); the result, NUL-terminated, in OUT. */
static const char *norm(const char *in, char *out, size_t cap)
{
	size_t len = strlen(in), need = 3 * len + 16;
	char *b = malloc(need);
	ck_assert_ptr_nonnull(b);
	size_t n = http1_normalize_request(in, len, b, cap < need ? cap : need);
	if (n) {
		ck_assert_uint_le(n, need);
		ck_assert_uint_lt(n, cap);
		memcpy(out, b, n);
		out[n] = 0;
	}
	free(b);
	return n ? out : NULL;
}

START_TEST(test_normalize_request)
{
	char out[1024];
	struct http1_header hdrs[32];
	struct http1_head h;
	static const struct { const char *in, *out; } cases[] = {
		{ "GET /a b?c d HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a%20b?c%20d HTTP/1.1\r\nHost: a\r\n\r\n" },
		{ "GET /a\x01\x7f HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a%01%7F HTTP/1.1\r\nHost: a\r\n\r\n" },
		{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n" },
		{ "GET / HTTP/0.9\r\n\r\n", "GET / HTTP/1.0\r\n\r\n" },
		{ "GET /\r\n\r\n", "GET / HTTP/1.0\r\n\r\n" },
		{ "GET / HTTP/1.1 \t\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n" },
		{ "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n" },
		/* spaces around the target go, as a tolerant front reads them */
		{ "GET  /a  HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a HTTP/1.1\r\nHost: a\r\n\r\n" },
		/* every byte of the target tripled: the bound */
		{ "GET /\x01\x01\x01\x01\r\n\r\n", "GET /%01%01%01%01 HTTP/1.0\r\n\r\n" },
		/* nameless lines, lines without a colon, names that are not tokens */
		{ "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n   : y\r\nNoColon\r\nX(y): 1\r\nOk: 2\r\n\r\n",
		  "GET / HTTP/1.1\r\nHost: a\r\nOk: 2\r\n\r\n" },
		/* the same length twice: once */
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length:  3 \r\n\r\n",
		  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n" },
		/* control characters in values stay */
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = norm(cases[i].in, out, sizeof out);
		ck_assert_msg(got != NULL, "case %zu refused", i);
		ck_assert_msg(strcmp(got, cases[i].out) == 0, "case %zu: %s", i, got);
		/* and what comes out parses */
		const struct http1_limits lenient = { 256, 4096, 32, 1, 0 };
		h.hdrs = hdrs;
		ck_assert_int_eq(http1_parse_head(out, strlen(out), 1, 0, &lenient, &h), HTTP1_OK);
	}
	/* what could be read two ways, whatever the classifier said first */
	static const char *refused[] = {
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\n: x\r\nTransfer-Encoding: chunked\r\ncontent-length: 3\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\n: x\r\nContent_Length: 3\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nBad Name: z\r\n\r\n",
		"GET HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x\r\nHost: a\r\nContent-Length: 3\r\n\r\n",     /* HTTP/0.9's form with fields */
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length 44\r\n\r\n",  /* a length without its colon */
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding chunked\r\n\r\n",
		"GET    HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\n\r\n",                   /* a bare LF */
		"GET\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		ck_assert_msg(norm(refused[i], out, sizeof out) == NULL, "refused case %zu passed", i);
	/* too small an output */
	ck_assert_ptr_null(norm("GET / HTTP/1.1\r\n\r\n", out, 20));
}
END_TEST

START_TEST(test_scan_htab_obstext_ok)
{
	size_t hl;
	static const char h1[] = "GET / HTTP/1.1\r\nHost: a\r\nX:\tv\tw\t\r\n\r\n";
	static const char h2[] = "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \xff\x80\r\n\r\n";

	ck_assert_int_eq(scan_both(h1, 1, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(h1));
	ck_assert_int_eq(scan_both(h2, 1, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, strlen(h2));
}
END_TEST

START_TEST(test_scan_obs_fold)
{
	size_t hl;

	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 1, &lim_default, &hl),
			 HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 1, &lim_default, &hl),
			 HTTP1_BAD);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, &lim_default, &hl), HTTP1_BAD);
}
END_TEST

START_TEST(test_scan_uri_too_long)
{
	const struct http1_limits lim = { 32, 4096, 32, 0, 0 };
	char line[64], buf[256];
	size_t hl, fed;

	/* "GET /aaa... HTTP/1.1" of exactly 32 bytes passes, 33 does not */
	memset(line, 0, sizeof(line));
	memcpy(line, "GET /", 5);
	memset(line + 5, 'a', 32 - 5 - 9);
	memcpy(line + 32 - 9, " HTTP/1.1", 9);
	ck_assert_uint_eq(strlen(line), 32);
	snprintf(buf, sizeof(buf), "%s\r\nHost: a\r\n\r\n", line);
	ck_assert_int_eq(scan_both(buf, 1, &lim, &hl), HTTP1_OK);

	memcpy(line, "GET /", 5);
	memset(line + 5, 'a', 33 - 5 - 9);
	memcpy(line + 33 - 9, " HTTP/1.1", 9);
	ck_assert_uint_eq(strlen(line), 33);
	snprintf(buf, sizeof(buf), "%s\r\nHost: a\r\n\r\n", line);
	ck_assert_int_eq(scan_both(buf, 1, &lim, &hl), HTTP1_URI_TOO_LONG);

	/* still incomplete, but already too long */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	ck_assert_int_eq(scan_once(buf, 32, 1, &lim, &hl), HTTP1_INCOMPLETE);
	ck_assert_int_eq(scan_once(buf, 33, 1, &lim, &hl), HTTP1_URI_TOO_LONG);
	ck_assert_int_eq(scan_once(buf, 200, 1, &lim, &hl), HTTP1_URI_TOO_LONG);
	ck_assert_int_eq(scan_bytewise(buf, 200, 1, &lim, &hl, &fed), HTTP1_URI_TOO_LONG);
	ck_assert_uint_eq(fed, 33);

	/* skipped empty lines do not count toward the request line */
	snprintf(buf, sizeof(buf), "\r\n\r\n%.32s", "GET /aaaaaaaaaaaaaaaaaaaaaa HTTP/1.1");
	ck_assert_int_eq(scan_once(buf, strlen(buf), 1, &lim, &hl), HTTP1_INCOMPLETE);

	/* a long status line is no 414 */
	snprintf(buf, sizeof(buf), "HTTP/1.1 200 %s\r\n\r\n", "a very long reason phrase, longer than 32 bytes");
	ck_assert_int_eq(scan_both(buf, 0, &lim, &hl), HTTP1_OK);
}
END_TEST

START_TEST(test_scan_head_too_large)
{
	const struct http1_limits lim = { 256, 128, 32, 0, 0 };
	char buf[1024];
	size_t hl, fed, n;

	/* far too large, complete */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %0300d\r\n\r\n", 0);
	ck_assert_int_eq(scan_once(buf, n, 1, &lim, &hl), HTTP1_HEAD_TOO_LARGE);
	ck_assert_int_eq(scan_bytewise(buf, n, 1, &lim, &hl, &fed), HTTP1_HEAD_TOO_LARGE);
	ck_assert_uint_le(fed, 128 + 1 + 8);

	/* far too large, no end in sight */
	memset(buf, 'a', sizeof(buf));
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	buf[n] = 'a';
	ck_assert_int_eq(scan_once(buf, sizeof(buf), 1, &lim, &hl), HTTP1_HEAD_TOO_LARGE);
	ck_assert_int_eq(scan_bytewise(buf, sizeof(buf), 1, &lim, &hl, &fed), HTTP1_HEAD_TOO_LARGE);

	/* a request line longer than max_head (but within max_start_line) is
	 * refused as a head too large */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	ck_assert_int_eq(scan_once(buf, sizeof(buf), 1, &lim, &hl), HTTP1_HEAD_TOO_LARGE);
	ck_assert_int_eq(scan_bytewise(buf, sizeof(buf), 1, &lim, &hl, &fed), HTTP1_HEAD_TOO_LARGE);

	/* responses too */
	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX: %0300d\r\n\r\n", 0);
	ck_assert_int_eq(scan_once(buf, n, 0, &lim, &hl), HTTP1_HEAD_TOO_LARGE);
	ck_assert_int_eq(scan_bytewise(buf, n, 0, &lim, &hl, &fed), HTTP1_HEAD_TOO_LARGE);
}
END_TEST

/* A request head of exactly LEN bytes (LEN >= 32). */
static void head_of_len(char *buf, size_t len)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	size_t p = strlen(pre);

	memcpy(buf, pre, p);
	memset(buf + p, 'v', len - p - 4);
	memcpy(buf + len - 4, "\r\n\r\n", 4);
	buf[len] = 0;
}

START_TEST(test_scan_head_size_boundary)
{
	const struct http1_limits lim = { 256, 128, 32, 0, 0 };
	char buf[256];
	size_t hl;

	/* exactly max_head bytes is fine, both ways */
	head_of_len(buf, 128);
	ck_assert_int_eq(scan_both(buf, 1, &lim, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, 128);
	/* as are max_head bytes after skipped empty lines */
	memmove(buf + 4, buf, 129);
	memcpy(buf, "\r\n\r\n", 4);
	ck_assert_int_eq(scan_both(buf, 1, &lim, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, 132);
}
END_TEST

START_TEST(test_scan_head_just_over_limit)
{
	/* max_head is "the whole head incl. start line (431)": a head of
	 * max_head + K bytes is too large however it arrives. */
	const struct http1_limits lim = { 256, 128, 32, 0, 0 };
	char buf[256];
	size_t hl, fed;

	for (size_t k = 1; k <= 12; k++) {
		head_of_len(buf, 128 + k);
		ck_assert_msg(scan_once(buf, 128 + k, 1, &lim, &hl) == HTTP1_HEAD_TOO_LARGE,
			      "one piece: head of max_head+%zu bytes not refused", k);
		ck_assert_msg(scan_bytewise(buf, 128 + k, 1, &lim, &hl, &fed) == HTTP1_HEAD_TOO_LARGE,
			      "byte by byte: head of max_head+%zu bytes not refused", k);
	}
}
END_TEST

START_TEST(test_scan_max_headers)
{
	const struct http1_limits lim = { 256, 4096, 4, 0, 0 };
	size_t hl;

	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\nD: d\r\n\r\n", 1, &lim, &hl),
			 HTTP1_OK);
	ck_assert_int_eq(scan_both("GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\nD: d\r\nE: e\r\n\r\n", 1, &lim, &hl),
			 HTTP1_HEAD_TOO_LARGE);
	/* decided when the 5th line ends, before the head does */
	ck_assert_int_eq(scan_str("GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\nD: d\r\nE: e\r\n", 1, &lim, &hl),
			 HTTP1_HEAD_TOO_LARGE);
	ck_assert_int_eq(scan_both("HTTP/1.1 200 OK\r\nA: a\r\nB: b\r\nC: c\r\nD: d\r\nE: e\r\n\r\n", 0, &lim, &hl),
			 HTTP1_HEAD_TOO_LARGE);
}
END_TEST

START_TEST(test_scan_leading_empty_lines)
{
	static const char body[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	char buf[128];
	size_t hl;
	struct http1_head h;

	for (int k = 0; k <= 4; k++) {
		buf[0] = 0;
		for (int j = 0; j < k; j++)
			strcat(buf, "\r\n");
		strcat(buf, body);
		ck_assert_int_eq(scan_both(buf, 1, &lim_default, &hl), HTTP1_OK);
		ck_assert_uint_eq(hl, strlen(buf));
		ck_assert_uint_eq(hl, strlen(body) + 2 * (size_t)k);
		/* and the parser skips them the same way */
		memset(&h, 0, sizeof(h));
		h.hdrs = hdr_store;
		ck_assert_int_eq(http1_parse_head(buf, hl, 1, 0, &lim_default, &h), HTTP1_OK);
		ck_assert_uint_eq(h.skip, 2 * (size_t)k);
		ck_assert_uint_eq(h.head_len, hl);
		ck_assert_span_eq(h.method, h.method_len, "GET");
		ck_assert_span_eq(h.target, h.target_len, "/");
	}
	strcpy(buf, "\r\n\r\n\r\n\r\n\r\n");
	strcat(buf, body);
	ck_assert_int_eq(scan_both(buf, 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_str("\r\n\r\n\r\n\r\n\r\n", 1, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_str("\r\n\r\n\r\n\r\n", 1, &lim_default, &hl), HTTP1_INCOMPLETE);
}
END_TEST

START_TEST(test_scan_response_no_skip)
{
	size_t hl;

	ck_assert_int_eq(scan_both("\r\nHTTP/1.1 200 OK\r\n\r\n", 0, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_str("\r\n", 0, &lim_default, &hl), HTTP1_BAD);
	ck_assert_int_eq(scan_both("HTTP/1.1 200 OK\r\n\r\n", 0, &lim_default, &hl), HTTP1_OK);
	ck_assert_uint_eq(hl, 19);
}
END_TEST

/* ------------------------------------------------------------ requests */

START_TEST(test_req_basic)
{
	struct http1_head h;
	static const char s[] = "GET /path/x?q=1&r=%20 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n"
				"User-Agent: t/1.0\r\n\r\n";

	ck_assert_int_eq(parse_req(s, &h), HTTP1_OK);
	ck_assert_span_eq(h.method, h.method_len, "GET");
	ck_assert_int_eq(h.method_id, HTTP_GET);
	ck_assert_span_eq(h.target, h.target_len, "/path/x?q=1&r=%20");
	ck_assert_int_eq(h.minor, 1);
	ck_assert_span_eq(h.host, h.host_len, "example.com:8080");
	ck_assert_uint_eq(h.nhdrs, 3);
	ck_assert_span_eq(h.hdrs[0].name, h.hdrs[0].name_len, "Host");
	ck_assert_span_eq(h.hdrs[1].name, h.hdrs[1].name_len, "Accept");
	ck_assert_span_eq(h.hdrs[1].value, h.hdrs[1].value_len, "*/*");
	ck_assert_span_eq(h.hdrs[2].name, h.hdrs[2].name_len, "User-Agent");
	ck_assert_span_eq(h.hdrs[2].value, h.hdrs[2].value_len, "t/1.0");
	ck_assert_uint_eq(h.head_len, strlen(s));
	ck_assert_uint_eq(h.skip, 0);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
	ck_assert_int_eq(h.keep_alive, 1);
	ck_assert_int_eq(h.expect_continue, 0);
	ck_assert_int_eq(h.conn_flags, 0);
	ck_assert_ptr_eq(h.hdrs, hdr_store);
	/* pointers into the caller's copy */
	ck_assert_ptr_eq(h.method, s);
	ck_assert_ptr_eq(h.target, s + 4);

	ck_assert_int_eq(parse_req("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.method, h.method_len, "POST");
	ck_assert_int_eq(h.method_id, HTTP_POST);
	ck_assert_int_eq(parse_req("DELETE * HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.method, h.method_len, "DELETE");
	ck_assert_span_eq(h.target, h.target_len, "*");
	ck_assert_int_eq(parse_req("HEAD http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.method_id, HTTP_HEAD);
	ck_assert_span_eq(h.target, h.target_len, "http://a.example/x");
	/* RFC 9112 3.2.2: the authority of an absolute-form target wins */
	ck_assert_span_eq(h.authority, h.authority_len, "a.example");
	ck_assert_span_eq(h.path, h.path_len, "/x");
	ck_assert_span_eq(h.host, h.host_len, "a.example");
}
END_TEST

/* ALB's custom methods (HttpRequestMethodConditionConfig): any 1 to 40 of
 * A-Z, '-' and '_' http-parser does not know is read as GET would be, the
 * method as sent and HTTP1_METHOD_CUSTOM; the methods http-parser knows
 * keep their ids, and any other method is still a 400. */
START_TEST(test_req_custom_method)
{
	static const char forty[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_ABCDEFGHIJKL";
	char buf[256];
	struct http1_head h;
	static const char s[] = "FOO_BAR /x?y=1 HTTP/1.1\r\nHost: a.example\r\nX-A: 1\r\n\r\n";

	ck_assert_int_eq(parse_req(s, &h), HTTP1_OK);
	ck_assert_int_eq(h.method_id, HTTP1_METHOD_CUSTOM);
	ck_assert_ptr_eq(h.method, s);
	ck_assert_span_eq(h.method, h.method_len, "FOO_BAR");
	ck_assert_ptr_eq(h.target, s + 8);   /* pointers into the request, not into "GET " */
	ck_assert_span_eq(h.target, h.target_len, "/x?y=1");
	ck_assert_span_eq(h.host, h.host_len, "a.example");
	ck_assert_uint_eq(h.nhdrs, 2);
	ck_assert_span_eq(h.hdrs[1].value, h.hdrs[1].value_len, "1");
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
	ck_assert_int_eq(h.minor, 1);
	ck_assert_int_eq(h.keep_alive, 1);
	ck_assert_int_eq(h.fast, 0);

	/* framed as any request: a length, chunks, after CRLFs, HTTP/1.0 */
	ck_assert_int_eq(parse_req("PURGE-ALL /u HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.method_id, HTTP1_METHOD_CUSTOM);
	ck_assert_int_eq(h.body, HTTP1_BODY_LENGTH);
	ck_assert_uint_eq(h.content_length, 3);
	ck_assert_int_eq(parse_req("X /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.method, h.method_len, "X");
	ck_assert_int_eq(h.body, HTTP1_BODY_CHUNKED);
	ck_assert_int_eq(parse_req("\r\nGETX / HTTP/1.0\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.method, h.method_len, "GETX");
	ck_assert_int_eq(h.method_id, HTTP1_METHOD_CUSTOM);
	ck_assert_int_eq(h.minor, 0);
	snprintf(buf, sizeof buf, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", forty);
	ck_assert_int_eq(parse_req(buf, &h), HTTP1_OK);
	ck_assert_span_eq(h.method, h.method_len, forty);
	/* http-parser's own methods keep their ids */
	ck_assert_int_eq(parse_req("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.method_id, HTTP_MSEARCH);
	ck_assert_int_eq(parse_req("PURGE / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.method_id, HTTP_PURGE);
	ck_assert_int_eq(parse_req("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", &h),
			 HTTP1_NOT_IMPLEMENTED);

	/* not a custom method: 41 characters, lower case, digits, other
	 * tokens; and the rest of the head is judged as ever */
	snprintf(buf, sizeof buf, "%sM / HTTP/1.1\r\nHost: a\r\n\r\n", forty);
	ck_assert_int_eq(parse_req(buf, &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("foo_bar / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO1 / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO.BAR / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO\t/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req(" FOO / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO /a#b HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO / HTTP/1.1\r\n\r\n", &h), HTTP1_BAD);   /* no Host */
	ck_assert_int_eq(parse_req("FOO / HTTP/2.0\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &h),
			 HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO / HTTP/1.1\r\nHost: a\r\nX : 1\r\n\r\n", &h), HTTP1_BAD);
}
END_TEST

START_TEST(test_req_absolute_form)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET http://a.example/x?y=1 HTTP/1.1\r\nHost: b.example\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.authority, h.authority_len, "a.example");
	ck_assert_span_eq(h.host, h.host_len, "a.example");
	ck_assert_span_eq(h.path, h.path_len, "/x?y=1");
	ck_assert_int_eq(parse_req("GET HTTPS://a.example:8443 HTTP/1.1\r\nHost: b\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.authority, h.authority_len, "a.example:8443");
	ck_assert_uint_eq(h.path_len, 0);
	ck_assert_int_eq(parse_req("GET http://a.example?q HTTP/1.1\r\nHost: b\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.path, h.path_len, "?q");
	/* origin-form: no authority, the path is the target */
	ck_assert_int_eq(parse_req("GET /p?q HTTP/1.1\r\nHost: b\r\n\r\n", &h), HTTP1_OK);
	ck_assert_ptr_null(h.authority);
	ck_assert_span_eq(h.path, h.path_len, "/p?q");
	ck_assert_span_eq(h.host, h.host_len, "b");
	/* userinfo, other schemes, an empty authority */
	ck_assert_int_eq(parse_req("GET http://u@a.example/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET ftp://a.example/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
}
END_TEST

START_TEST(test_req_empty_value)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nX-Empty:\r\nHost: a\r\nY:   \r\nZ: z\r\n\r\n", &h), HTTP1_OK);
	ck_assert_uint_eq(h.nhdrs, 4);
	ck_assert_span_eq(h.hdrs[0].name, h.hdrs[0].name_len, "X-Empty");
	ck_assert_uint_eq(h.hdrs[0].value_len, 0);
	ck_assert_span_eq(h.hdrs[1].name, h.hdrs[1].name_len, "Host");
	ck_assert_span_eq(h.hdrs[1].value, h.hdrs[1].value_len, "a");
	ck_assert_span_eq(h.hdrs[2].name, h.hdrs[2].name_len, "Y");
	ck_assert_uint_eq(h.hdrs[2].value_len, 0);
	ck_assert_span_eq(h.hdrs[3].name, h.hdrs[3].name_len, "Z");
	ck_assert_span_eq(h.hdrs[3].value, h.hdrs[3].value_len, "z");
}
END_TEST

START_TEST(test_req_keep_alive)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 1);

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 0);
	ck_assert(h.conn_flags & HTTP1_CONN_CLOSE);

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 0);
	ck_assert_int_eq(h.conn_flags, HTTP1_CONN_CLOSE | HTTP1_CONN_KEEPALIVE);

	ck_assert_int_eq(parse_req("GET / HTTP/1.0\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.minor, 0);
	ck_assert_int_eq(h.keep_alive, 0);

	ck_assert_int_eq(parse_req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 1);
	ck_assert_int_eq(h.conn_flags, HTTP1_CONN_KEEPALIVE);

	ck_assert_int_eq(parse_req("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", &h),
			 HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 0);

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n", &h),
			 HTTP1_OK);
	ck_assert_int_eq(h.conn_flags, HTTP1_CONN_UPGRADE);
	ck_assert_int_eq(h.keep_alive, 1);
}
END_TEST

START_TEST(test_req_expect)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
				   &h),
			 HTTP1_OK);
	ck_assert_int_eq(h.expect_continue, 1);
	ck_assert_int_eq(h.body, HTTP1_BODY_LENGTH);
	ck_assert_int_eq(parse_req("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue \r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.expect_continue, 1);
	ck_assert_int_eq(parse_req("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.expect_continue, 0);
}
END_TEST

START_TEST(test_req_body_framing)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_LENGTH);
	ck_assert_uint_eq(h.content_length, 42);

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_CHUNKED);

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  Chunked \r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_CHUNKED);

	ck_assert_int_eq(parse_req("POST / HTTP/1.0\r\nContent-Length: 7\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_LENGTH);
	ck_assert_uint_eq(h.content_length, 7);

	/* 18 digits still fit */
	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n", &h),
			 HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_LENGTH);
	ck_assert_uint_eq(h.content_length, UINT64_C(999999999999999999));

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
}
END_TEST

START_TEST(test_req_cl_and_te)
{
	struct http1_head h;

	ck_assert_int_eq(
		parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
		HTTP1_BAD);
	ck_assert_int_eq(
		parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", &h),
		HTTP1_BAD);
	ck_assert_int_eq(
		parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", &h),
		HTTP1_BAD);
}
END_TEST

START_TEST(test_req_two_cl)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &h),
			 HTTP1_BAD);
	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &h),
			 HTTP1_BAD);
	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n", &h),
			 HTTP1_BAD);
}
END_TEST

START_TEST(test_req_bad_cl)
{
	static const char *bad[] = { "12a", "-1", "", "1 2", "+1", "0x10", "1.0", " ", "\t", "a",
				     "1000000000000000000", "18446744073709551615", "18446744073709551616",
				     "99999999999999999999999" };
	char buf[256];
	struct http1_head h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n", bad[i]);
		ck_assert_msg(parse_req(buf, &h) == HTTP1_BAD, "Content-Length \"%s\" accepted", bad[i]);
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", bad[i]);
		ck_assert_msg(parse_resp(buf, 0, &h) == HTTP1_BAD, "response Content-Length \"%s\" accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_req_bad_te)
{
	static const char *bad[] = { "gzip", "chunked, gzip", "gzip, chunked", "chunked, chunked", "identity",
				     "chunked;q=1", "", "chunk" };
	char buf[256];
	struct http1_head h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: %s\r\n\r\n", bad[i]);
		ck_assert_msg(parse_req(buf, &h) == HTTP1_BAD, "Transfer-Encoding \"%s\" accepted", bad[i]);
	}
	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n",
				   &h),
			 HTTP1_BAD);
	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n",
				   &h),
			 HTTP1_BAD);
	/* Transfer-Encoding in HTTP/1.0 */
	ck_assert_int_eq(parse_req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &h), HTTP1_BAD);
}
END_TEST

START_TEST(test_req_host)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", &h), HTTP1_BAD);

	ck_assert_int_eq(parse_req("GET / HTTP/1.0\r\n\r\n", &h), HTTP1_OK);
	ck_assert_ptr_null(h.host);
	ck_assert_int_eq(parse_req("GET / HTTP/1.0\r\nHost: a.b\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.host, h.host_len, "a.b");
	/* an empty Host is still one Host (RFC 9112 3.2) */
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHOST:\r\n\r\n", &h), HTTP1_OK);
	ck_assert_ptr_nonnull(h.host);
	ck_assert_uint_eq(h.host_len, 0);
}
END_TEST

/* RFC 9112 3.2: a Host whose value is not uri-host [ ":" port ] is a 400,
 * and so is such an absolute-form authority. */
START_TEST(test_req_host_valid)
{
	static const char *const good[] = {
		"example.com", "example.com:8080", "[::1]:80", "[::1]", "127.0.0.1", "xn--bcher-kva.example",
		"", ":80", "a.example:", "EXAMPLE.com", "a_b-c~d.e", "%41b", "!$&'()*+,;=", "[2001:db8::1]:443",
		"[::ffff:192.0.2.1]", "[v1.fe80::a+en1]", "[V7.x]", "999.1.1.1",
	};
	static const char *const bad[] = {
		"good.example@evil.example", "a b/c", "[::1", "a b", "a/b", "a?b", "a#b", "a\"b", "a:b", "a:80:80",
		"a:8o", "[::1]x", "[::1]:x", "[::1]]", "[]", "[1.2.3.4]", "[::1%eth0]", "[fe80::1%25eth0]", "[v.x]",
		"[vz.x]", "[v1.]", "[v1]", "%4", "%zz", "a%", "u@a", "a\tb", "\x80", "é.example", "[::1]:80:",
		"[12345::1]",
	};
	char req[256];
	struct http1_head h;
	size_t hl;

	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		ck_assert_msg(http1_host_valid(good[i], strlen(good[i]), NULL), "%s", good[i]);
		snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
		ck_assert_msg(parse_req(req, &h) == HTTP1_OK, "%s", good[i]);
		ck_assert_span_eq(h.host, h.host_len, good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(!http1_host_valid(bad[i], strlen(bad[i]), NULL), "%s", bad[i]);
		snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
		ck_assert_msg(parse_req(req, &h) == HTTP1_BAD, "%s", bad[i]);
		snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", bad[i]);
		ck_assert_msg(parse_req(req, &h) == HTTP1_BAD, "%s", bad[i]);
	}
	/* the uri-host's length */
	ck_assert(http1_host_valid("[::1]:80", 8, &hl) && hl == 5);
	ck_assert(http1_host_valid("a.b:1", 5, &hl) && hl == 3);
	ck_assert(http1_host_valid(":1", 2, &hl) && hl == 0);
	/* still checked beside an absolute-form target, whose authority wins */
	ck_assert_int_eq(parse_req("GET http://a.example/ HTTP/1.1\r\nHost: a b\r\n\r\n", &h), HTTP1_BAD);
	/* the authority itself: valid, with a host */
	ck_assert_int_eq(parse_req("GET http://[::1]:8080/x HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	ck_assert_span_eq(h.host, h.host_len, "[::1]:8080");
	ck_assert_int_eq(parse_req("GET http://a%20b/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(parse_req("GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET http://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET http://a\"b/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
}
END_TEST

/* The Date of albd's own responses: an IMF-fixdate as strftime() makes
 * it in the C locale, without gmtime_r(); cached for a second. */
START_TEST(test_date)
{
	char want[64], got[HTTP1_DATE_LEN + 1];
	struct tm tm;
	/* day boundaries, leap days (2000, not 2100), the ends of the range */
	static const int64_t at[] = { 0, 784111777, 951782400, 951868799, 951868800, 4107542400, 4107456000,
				      4294967295, 253402300799, 1, 86399, 86400, 1709164800 };
	uint64_t x = 88172645463325252u;

	for (size_t i = 0; i < sizeof at / sizeof *at + 20000; i++) {
		int64_t t;
		if (i < sizeof at / sizeof *at) {
			t = at[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;    /* xorshift64 */
			t = (int64_t)(x % 253402300800u);
		}
		time_t tt = (time_t)t;
		ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
		strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		http1_format_date(t, got);
		ck_assert_uint_eq(strlen(got), HTTP1_DATE_LEN);
		ck_assert_str_eq(got, want);
	}
	http1_format_date(784111777, got);
	ck_assert_str_eq(got, "Sun, 06 Nov 1994 08:49:37 GMT");   /* RFC 9110's example */

	struct http1_date d;
	memset(&d, 0, sizeof d);
	ck_assert_str_eq(http1_date(&d, 0), "Thu, 01 Jan 1970 00:00:00 GMT");
	const char *a = http1_date(&d, 784111777);
	ck_assert_str_eq(a, "Sun, 06 Nov 1994 08:49:37 GMT");
	ck_assert_ptr_eq(http1_date(&d, 784111777), a);
	ck_assert_str_eq(http1_date(&d, 784111778), "Sun, 06 Nov 1994 08:49:38 GMT");
}
END_TEST

START_TEST(test_req_bad_field_name)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX-Foo\t: b\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX Foo: b\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nServer : a\r\nContent-Length: 0\r\n\r\n", 0, &h), HTTP1_BAD);
	/* tchar punctuation is fine */
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX-!#$%&'*+.^_`|~: b\r\n\r\n", &h), HTTP1_OK);
}
END_TEST

START_TEST(test_req_bad_version)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/0.9\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / HTTP/3.0\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET / FOO/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET /\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("GET  HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
	ck_assert_int_eq(parse_req("FOO@ / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_BAD);
}
END_TEST

START_TEST(test_req_connect)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", &h),
			 HTTP1_NOT_IMPLEMENTED);
	ck_assert_int_eq(parse_req("CONNECT example.com:443 HTTP/1.0\r\n\r\n", &h), HTTP1_NOT_IMPLEMENTED);
}
END_TEST

START_TEST(test_req_trim)
{
	struct http1_head h;
	const struct http1_header *f;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost:   a.example \t \r\nX-A:\t\t v  w \t\r\nX-B:b\r\n\r\n", &h),
			 HTTP1_OK);
	ck_assert_span_eq(h.host, h.host_len, "a.example");
	f = find_hdr(&h, "x-a");
	ck_assert_ptr_nonnull(f);
	ck_assert_span_eq(f->value, f->value_len, "v  w");
	f = find_hdr(&h, "X-B");
	ck_assert_ptr_nonnull(f);
	ck_assert_span_eq(f->value, f->value_len, "b");
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection:  close \r\n\r\n", &h), HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 0);
	ck_assert_span_eq(h.conn_tokens, h.conn_tokens_len, "close");
}
END_TEST

START_TEST(test_req_too_many_headers)
{
	const struct http1_limits lim3 = { 256, 4096, 3, 0, 0 };
	struct http1_head h;

	ck_assert_int_eq(parse_lim("GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\n\r\n", 1, 0, &lim3, &h), HTTP1_OK);
	ck_assert_uint_eq(h.nhdrs, 3);
	ck_assert_int_eq(parse_lim("GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\nD: d\r\n\r\n", 1, 0, &lim3, &h),
			 HTTP1_HEAD_TOO_LARGE);
	ck_assert_int_eq(parse_lim("HTTP/1.1 200 OK\r\nA: a\r\nB: b\r\nC: c\r\nD: d\r\n\r\n", 0, 0, &lim3, &h),
			 HTTP1_HEAD_TOO_LARGE);
	/* the array was never written past max_headers */
	ck_assert_ptr_null(hdr_store[3].name);
}
END_TEST

/* ------------------------------------------------------------ responses */

START_TEST(test_resp_status)
{
	struct http1_head h;

	ck_assert_int_eq(parse_resp("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.status, 404);
	ck_assert_span_eq(h.reason, h.reason_len, "Not Found");
	ck_assert_int_eq(h.minor, 1);
	ck_assert_int_eq(h.keep_alive, 1);

	ck_assert_int_eq(parse_resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.status, 200);
	ck_assert_span_eq(h.reason, h.reason_len, "OK");
	ck_assert_int_eq(h.minor, 0);
	ck_assert_int_eq(h.keep_alive, 0);
	ck_assert_int_eq(parse_resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", 0, &h),
			 HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 1);

	ck_assert_int_eq(parse_resp("HTTP/1.1 599 Custom Thing Here\r\nContent-Length: 0\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.status, 599);
	ck_assert_span_eq(h.reason, h.reason_len, "Custom Thing Here");
}
END_TEST

START_TEST(test_resp_no_body)
{
	static const int st[] = { 100, 101, 102, 103, 199, 204, 304 };
	char buf[128];
	struct http1_head h;

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		snprintf(buf, sizeof(buf), "HTTP/1.1 %d X\r\n\r\n", st[i]);
		ck_assert_int_eq(parse_resp(buf, 0, &h), HTTP1_OK);
		ck_assert_int_eq(h.status, st[i]);
		ck_assert_msg(h.body == HTTP1_BODY_NONE, "status %d: body %d", st[i], h.body);
		ck_assert_int_eq(h.keep_alive, 1);
	}
	ck_assert_int_eq(parse_resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
	ck_assert_int_eq(parse_resp("HTTP/1.1 204 No Content\r\nContent-Length: 100\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);

	/* the answer to a HEAD */
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 1, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
	ck_assert_int_eq(h.keep_alive, 1);
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\n\r\n", 1, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
	ck_assert_int_eq(h.keep_alive, 1);
}
END_TEST

START_TEST(test_resp_framing)
{
	struct http1_head h;

	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_EOF);
	ck_assert_int_eq(h.keep_alive, 0);

	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_LENGTH);
	ck_assert_uint_eq(h.content_length, 12);
	ck_assert_int_eq(h.keep_alive, 1);

	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_NONE);
	ck_assert_int_eq(h.keep_alive, 1);

	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, &h), HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_CHUNKED);
	ck_assert_int_eq(h.keep_alive, 1);

	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", 0, &h),
			 HTTP1_OK);
	ck_assert_int_eq(h.body, HTTP1_BODY_LENGTH);
	ck_assert_int_eq(h.keep_alive, 0);

	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 0, &h),
			 HTTP1_BAD);
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0, &h),
			 HTTP1_BAD);
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 0, &h),
			 HTTP1_BAD);
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, &h), HTTP1_BAD);
	ck_assert_int_eq(parse_resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, &h), HTTP1_BAD);
}
END_TEST

START_TEST(test_resp_bad_status_line)
{
	static const char *bad[] = {
		"HTTP/1.1 abc OK\r\n\r\n",  "HTTP/1.1 20 OK\r\n\r\n",   "HTTP/1.1 2000 OK\r\n\r\n",
		"HTTX/1.1 200 OK\r\n\r\n",  "HTTP/2.0 200 OK\r\n\r\n",  "HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",   "HTTP/1.1 -200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n",  "HTTP/1.1 600 OK\r\n\r\n",  "HTTP/1.1 999 OK\r\nContent-Length: 0\r\n\r\n",
	};
	struct http1_head h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_resp(bad[i], 0, &h) == HTTP1_BAD, "status line %zu accepted: %s", i, bad[i]);
}
END_TEST

/* ------------------------------------------------------------ hop-by-hop */

START_TEST(test_hop_by_hop_fixed)
{
	static const char *hop[] = { "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
				     "Transfer-Encoding", "Upgrade", "Content-Length", "connection", "KEEP-ALIVE",
				     "te", "tRaNsFeR-eNcOdInG", "content-length" };
	static const char *e2e[] = { "Host", "Accept", "Content-Type", "X-Foo", "Cookie", "Via", "Tex",
				     "Trailers", "Upgrade-Insecure-Requests", "Proxy-Authorization",
				     "Content-Length2", "Keep-Alive-X", "T" };
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &h), HTTP1_OK);
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
		struct http1_header f = { hop[i], strlen(hop[i]), "x", 1 };
		ck_assert_msg(http1_is_hop_by_hop(&h, &f), "%s not hop-by-hop", hop[i]);
	}
	for (size_t i = 0; i < sizeof(e2e) / sizeof(e2e[0]); i++) {
		struct http1_header f = { e2e[i], strlen(e2e[i]), "x", 1 };
		ck_assert_msg(!http1_is_hop_by_hop(&h, &f), "%s hop-by-hop", e2e[i]);
	}
}
END_TEST

START_TEST(test_hop_by_hop_in_head)
{
	struct http1_head h;
	static const char s[] = "POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nKeep-Alive: 5\r\n"
				"Proxy-Connection: x\r\nTE: trailers\r\nTrailer: X\r\nTransfer-Encoding: chunked\r\n"
				"Upgrade: ws\r\nAccept: */*\r\nX-Foo: 1\r\n\r\n";
	int expect[] = { 0, 1, 1, 1, 1, 1, 1, 1, 0, 0 };

	ck_assert_int_eq(parse_req(s, &h), HTTP1_OK);
	ck_assert_uint_eq(h.nhdrs, 10);
	for (size_t i = 0; i < h.nhdrs; i++)
		ck_assert_msg(http1_is_hop_by_hop(&h, &h.hdrs[i]) == expect[i], "header %zu (%.*s)", i,
			      (int)h.hdrs[i].name_len, h.hdrs[i].name);
}
END_TEST

START_TEST(test_hop_by_hop_connection_named)
{
	struct http1_head h;
	const struct http1_header *f;

	ck_assert_int_eq(
		parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Foo\r\nX-Foo: 1\r\nX-Bar: 2\r\n\r\n", &h),
		HTTP1_OK);
	f = find_hdr(&h, "X-Foo");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(http1_is_hop_by_hop(&h, f), 1);
	f = find_hdr(&h, "X-Bar");
	ck_assert_int_eq(http1_is_hop_by_hop(&h, f), 0);
	f = find_hdr(&h, "Host");
	ck_assert_int_eq(http1_is_hop_by_hop(&h, f), 0);
	{
		struct http1_header g = { "x-foo", 5, "", 0 };
		ck_assert_int_eq(http1_is_hop_by_hop(&h, &g), 1);   /* case-insensitive */
		struct http1_header g2 = { "X-Fo", 4, "", 0 };
		ck_assert_int_eq(http1_is_hop_by_hop(&h, &g2), 0);
	}
	/* the response side too */
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: s\r\nContent-Length: 0\r\n\r\n",
				    0, &h),
			 HTTP1_OK);
	ck_assert_int_eq(http1_is_hop_by_hop(&h, find_hdr(&h, "X-Secret")), 1);
}
END_TEST

START_TEST(test_hop_by_hop_two_connection)
{
	struct http1_head h;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nConnection: X-A\r\nHost: a\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n"
				   "Connection: keep-alive, X-B\r\n\r\n",
				   &h),
			 HTTP1_OK);
	ck_assert_int_eq(http1_is_hop_by_hop(&h, find_hdr(&h, "X-A")), 1);
	ck_assert_int_eq(http1_is_hop_by_hop(&h, find_hdr(&h, "X-B")), 1);
	ck_assert_int_eq(http1_is_hop_by_hop(&h, find_hdr(&h, "X-C")), 0);
	ck_assert_int_eq(http1_is_hop_by_hop(&h, find_hdr(&h, "Host")), 0);
	ck_assert_int_eq(h.conn_flags, HTTP1_CONN_KEEPALIVE);

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\nConnection: X-Z\r\nX-Z: 1\r\n\r\n",
				   &h),
			 HTTP1_OK);
	ck_assert_int_eq(h.keep_alive, 0);
	ck_assert_int_eq(http1_is_hop_by_hop(&h, find_hdr(&h, "X-Z")), 1);
}
END_TEST

START_TEST(test_token_in_list)
{
	static const char l1[] = "close";
	static const char l2[] = "  Keep-Alive ,\tclose\t, X-Foo";
	static const char l3[] = ",, ,close,,";
	static const char l4[] = "a,,b, ,c";

	ck_assert_int_eq(http1_token_in_list(l1, strlen(l1), "close", 5), 1);
	ck_assert_int_eq(http1_token_in_list(l1, strlen(l1), "CLOSE", 5), 1);
	ck_assert_int_eq(http1_token_in_list(l1, strlen(l1), "clos", 4), 0);
	ck_assert_int_eq(http1_token_in_list(l1, strlen(l1), "closed", 6), 0);
	ck_assert_int_eq(http1_token_in_list(l1, 4, "close", 5), 0);   /* LIST_LEN bounds the list */
	ck_assert_int_eq(http1_token_in_list(l2, strlen(l2), "keep-alive", 10), 1);
	ck_assert_int_eq(http1_token_in_list(l2, strlen(l2), "close", 5), 1);
	ck_assert_int_eq(http1_token_in_list(l2, strlen(l2), "x-foo", 5), 1);
	ck_assert_int_eq(http1_token_in_list(l2, strlen(l2), "foo", 3), 0);
	ck_assert_int_eq(http1_token_in_list(l3, strlen(l3), "close", 5), 1);
	ck_assert_int_eq(http1_token_in_list(l4, strlen(l4), "a", 1), 1);
	ck_assert_int_eq(http1_token_in_list(l4, strlen(l4), "b", 1), 1);
	ck_assert_int_eq(http1_token_in_list(l4, strlen(l4), "c", 1), 1);
	ck_assert_int_eq(http1_token_in_list(l4, strlen(l4), "d", 1), 0);
	ck_assert_int_eq(http1_token_in_list(l4, strlen(l4), "", 0), 0);   /* empty elements match nothing */
	ck_assert_int_eq(http1_token_in_list("", 0, "close", 5), 0);
	ck_assert_int_eq(http1_token_in_list(", ,", 3, "", 0), 0);
	ck_assert_int_eq(http1_token_in_list("x close", 7, "close", 5), 0);
	ck_assert_int_eq(http1_token_in_list("keep-alive", 10, "alive", 5), 0);
}
END_TEST

START_TEST(test_name_is_and_reason)
{
	struct http1_header f = { "Content-Length", 14, "1", 1 };

	ck_assert_int_eq(http1_name_is(&f, "content-length"), 1);
	ck_assert_int_eq(http1_name_is(&f, "CONTENT-LENGTH"), 1);
	ck_assert_int_eq(http1_name_is(&f, "content-lengt"), 0);
	ck_assert_int_eq(http1_name_is(&f, "content-lengths"), 0);
	ck_assert_str_eq(http1_reason(200), "OK");
	ck_assert_str_eq(http1_reason(404), "Not Found");
	ck_assert_str_eq(http1_reason(414), "URI Too Long");
	ck_assert_str_eq(http1_reason(431), "Request Header Fields Too Large");
	ck_assert_str_eq(http1_reason(502), "Bad Gateway");
	ck_assert_ptr_nonnull(http1_reason(299));
	ck_assert_ptr_nonnull(http1_reason(999));
}
END_TEST

/* ------------------------------------------------------------ bodies */

START_TEST(test_body_none)
{
	struct http1_body b;
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();

	evbuffer_add(src, "GET / HTTP/1.1\r\n", 16);
	http1_body_init(&b, HTTP1_BODY_NONE, 0, 0);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(b.done, 1);
	ck_assert_uint_eq(evbuffer_get_length(src), 16);
	ck_assert_uint_eq(evbuffer_get_length(dst), 0);
	ck_assert_int_eq(http1_body_eof(&b, dst), 0);
	ck_assert_uint_eq(evbuffer_get_length(dst), 0);

	/* out_chunked: no body, no terminator either */
	http1_body_init(&b, HTTP1_BODY_NONE, 0, 1);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_uint_eq(evbuffer_get_length(dst), 0);

	/* a zero length is done at once too */
	http1_body_init(&b, HTTP1_BODY_LENGTH, 0, 0);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_uint_eq(evbuffer_get_length(src), 16);
	ck_assert_uint_eq(evbuffer_get_length(dst), 0);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

START_TEST(test_body_length_partial)
{
	struct http1_body b;
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	static const char next[] = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
	char *s;
	size_t n;

	http1_body_init(&b, HTTP1_BODY_LENGTH, 10, 0);
	ck_assert_int_eq(b.done, 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);   /* nothing there yet */
	ck_assert_int_eq(b.done, 0);

	evbuffer_add(src, "abc", 3);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(b.done, 0);
	ck_assert_uint_eq(b.total, 3);
	ck_assert_uint_eq(b.remaining, 7);
	ck_assert_uint_eq(evbuffer_get_length(src), 0);

	evbuffer_add(src, "defg", 4);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(b.done, 0);
	ck_assert_uint_eq(b.total, 7);

	/* the end of the body and a pipelined request in the same read */
	evbuffer_add(src, "hij", 3);
	evbuffer_add(src, next, strlen(next));
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(b.done, 1);
	ck_assert_uint_eq(b.total, 10);
	ck_assert_uint_eq(b.remaining, 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);   /* done: moves no more */
	s = take_all(dst, &n);
	ck_assert_str_eq(s, "abcdefghij");
	free(s);
	s = take_all(src, &n);
	ck_assert_str_eq(s, next);
	free(s);
	ck_assert_int_eq(http1_body_eof(&b, dst), 0);
	ck_assert_uint_eq(evbuffer_get_length(dst), 0);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

START_TEST(test_body_length_bytewise_and_max)
{
	static const char in[] = "0123456789abcdefXYZ";
	struct run r;

	run_body(&r, HTTP1_BODY_LENGTH, 16, 0, in, strlen(in), 1, 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.done, 1);
	ck_assert_str_eq(r.out, "0123456789abcdef");
	ck_assert_str_eq(r.rest, "XYZ");
	ck_assert_uint_eq(r.total, 16);
	run_free(&r);

	/* MAX bounds each call */
	struct http1_body b;
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	evbuffer_add(src, in, strlen(in));
	http1_body_init(&b, HTTP1_BODY_LENGTH, 16, 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 5), 0);
	ck_assert_uint_eq(evbuffer_get_length(dst), 5);
	ck_assert_int_eq(b.done, 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 5), 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 5), 0);
	ck_assert_uint_eq(evbuffer_get_length(dst), 15);
	ck_assert_int_eq(b.done, 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 5), 0);
	ck_assert_uint_eq(evbuffer_get_length(dst), 16);
	ck_assert_int_eq(b.done, 1);
	ck_assert_uint_eq(evbuffer_get_length(src), 3);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

START_TEST(test_body_length_truncated)
{
	struct http1_body b;
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();

	http1_body_init(&b, HTTP1_BODY_LENGTH, 10, 0);
	evbuffer_add(src, "abcd", 4);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(http1_body_eof(&b, dst), -1);
	ck_assert_int_eq(b.done, 0);
	/* with nothing at all */
	http1_body_init(&b, HTTP1_BODY_LENGTH, 1, 1);
	ck_assert_int_eq(http1_body_eof(&b, dst), -1);
	/* a truncated chunked body likewise */
	http1_body_init(&b, HTTP1_BODY_CHUNKED, 0, 1);
	evbuffer_add(src, "5\r\nab", 5);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(http1_body_eof(&b, dst), -1);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

static const char chunked1[] = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
static const char payload1[] = "Wikipedia in\r\n\r\nchunks.";

START_TEST(test_body_chunked_decode)
{
	struct run r;
	char in[256];

	snprintf(in, sizeof(in), "%sGET /next HTTP/1.1\r\n", chunked1);
	for (int bw = 0; bw <= 1; bw++) {
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, in, strlen(in), bw, 0);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.done, 1);
		ck_assert_uint_eq(r.out_len, strlen(payload1));
		ck_assert_str_eq(r.out, payload1);
		ck_assert_str_eq(r.rest, "GET /next HTTP/1.1\r\n");
		ck_assert_uint_eq(r.total, strlen(payload1));
		run_free(&r);
	}
	/* hex digits in either case, leading zeros */
	static const char hx[] = "a\r\n0123456789\r\n0A\r\nABCDEFGHIJ\r\n000000000000001\r\nz\r\n0\r\n\r\n";
	run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, hx, strlen(hx), 0, 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.done, 1);
	ck_assert_str_eq(r.out, "0123456789ABCDEFGHIJz");
	run_free(&r);
	/* an empty body */
	run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, "0\r\n\r\n", 5, 0, 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.done, 1);
	ck_assert_uint_eq(r.out_len, 0);
	run_free(&r);
}
END_TEST

START_TEST(test_body_chunked_incomplete)
{
	struct run r;
	size_t len = strlen(chunked1);

	/* no prefix is an error, none is done */
	for (size_t n = 0; n < len; n++) {
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, chunked1, n, 0, 0);
		ck_assert_msg(r.rc == 0, "prefix of %zu bytes: %d", n, r.rc);
		ck_assert_msg(r.done == 0, "prefix of %zu bytes done", n);
		run_free(&r);
	}
}
END_TEST

/* A bare LF where CRLF belongs is an error the moment it arrives: the
 * reader must not wait for a CR that never comes (it hung until a timeout). */
START_TEST(test_body_chunked_bare_lf)
{
	static const char *bad[] = {
		"5\nhello\r\n0\r\n\r\n",       /* chunk-size line */
		"5\r\nhello\n0\r\n\r\n",       /* after the data */
		"5\r\nhello\r\n0\n\r\n",       /* last-chunk line */
		"5\r\nhello\r\n0\r\n\n",       /* the empty line ending the trailers */
		"5\r\nhello\r\n0\r\nX: y\n\r\n", /* a trailer line */
		"5;ext=1\nhello\r\n0\r\n\r\n", /* with an extension */
	};
	struct run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *lf = strchr(bad[i], '\n');
		while (lf > bad[i] && lf[-1] == '\r')
			lf = strchr(lf + 1, '\n');
		size_t upto = (size_t)(lf - bad[i]) + 1;   /* through the bare LF only */
		for (int bw = 0; bw <= 1; bw++) {
			run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, bad[i], upto, bw, 0);
			ck_assert_msg(r.rc < 0, "case %zu (bytewise %d): accepted or waiting (%d)", i, bw, r.rc);
			ck_assert_int_eq(r.done, 0);
			run_free(&r);
		}
	}
}
END_TEST

START_TEST(test_body_chunked_reencode)
{
	struct run r, r2;
	char dec[256];
	long n;

	for (int bw = 0; bw <= 1; bw++) {
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 1, chunked1, strlen(chunked1), bw, 0);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.done, 1);
		ck_assert_uint_eq(r.rest_len, 0);
		n = strict_dechunk(r.out, r.out_len, dec, sizeof(dec));
		ck_assert_msg(n >= 0, "invalid chunked output: %s", r.out);
		ck_assert_uint_eq((size_t)n, strlen(payload1));
		ck_assert_mem_eq(dec, payload1, (size_t)n);
		ck_assert_uint_eq(r.total, strlen(payload1));

		/* and albd's own decoder reads it back */
		run_body(&r2, HTTP1_BODY_CHUNKED, 0, 0, r.out, r.out_len, 0, 0);
		ck_assert_int_eq(r2.rc, 0);
		ck_assert_int_eq(r2.done, 1);
		ck_assert_str_eq(r2.out, payload1);
		run_free(&r2);
		run_free(&r);
	}
	/* an empty body encodes as the last chunk alone */
	run_body(&r, HTTP1_BODY_CHUNKED, 0, 1, "0\r\n\r\n", 5, 0, 0);
	ck_assert_int_eq(r.done, 1);
	ck_assert_str_eq(r.out, "0\r\n\r\n");
	run_free(&r);
}
END_TEST

START_TEST(test_body_chunked_max)
{
	struct run r;
	char dec[256];
	long n;

	for (int oc = 0; oc <= 1; oc++) {
		for (int bw = 0; bw <= 1; bw++) {
			run_body(&r, HTTP1_BODY_CHUNKED, 0, oc, chunked1, strlen(chunked1), bw, 3);
			ck_assert_int_eq(r.rc, 0);
			ck_assert_int_eq(r.done, 1);
			if (oc) {
				n = strict_dechunk(r.out, r.out_len, dec, sizeof(dec));
				ck_assert_int_ge(n, 0);
				ck_assert_mem_eq(dec, payload1, strlen(payload1));
			} else {
				ck_assert_str_eq(r.out, payload1);
			}
			run_free(&r);
		}
	}
	/* one call moves at most MAX payload bytes */
	struct http1_body b;
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	evbuffer_add(src, chunked1, strlen(chunked1));
	http1_body_init(&b, HTTP1_BODY_CHUNKED, 0, 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 3), 0);
	ck_assert_uint_eq(evbuffer_get_length(dst), 3);
	ck_assert_uint_eq(b.total, 3);
	ck_assert_int_eq(b.done, 0);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

START_TEST(test_body_chunked_extensions)
{
	static const char in[] = "4;name=value;x\r\nWiki\r\n5 ; q=\"a;b\"\r\npedia\r\n0;last=1\r\n\r\nNEXT";
	struct run r;
	char dec[64];

	for (int bw = 0; bw <= 1; bw++) {
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, in, strlen(in), bw, 0);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.done, 1);
		ck_assert_str_eq(r.out, "Wikipedia");
		ck_assert_str_eq(r.rest, "NEXT");
		run_free(&r);

		run_body(&r, HTTP1_BODY_CHUNKED, 0, 1, in, strlen(in), bw, 0);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.done, 1);
		ck_assert_ptr_null(strstr(r.out, "name"));
		ck_assert_ptr_null(strstr(r.out, ";"));
		ck_assert_int_eq(strict_dechunk(r.out, r.out_len, dec, sizeof(dec)), 9);
		ck_assert_mem_eq(dec, "Wikipedia", 9);
		ck_assert_str_eq(r.rest, "NEXT");
		run_free(&r);
	}
}
END_TEST

START_TEST(test_body_chunked_trailers)
{
	static const char in[] = "4\r\nWiki\r\n0\r\nX-Checksum: abc\r\nExpires:\tnever \r\n\r\nNEXT";
	struct run r;
	char dec[64];

	for (int bw = 0; bw <= 1; bw++) {
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, in, strlen(in), bw, 0);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.done, 1);
		ck_assert_str_eq(r.out, "Wiki");
		ck_assert_str_eq(r.rest, "NEXT");
		run_free(&r);

		run_body(&r, HTTP1_BODY_CHUNKED, 0, 1, in, strlen(in), bw, 0);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.done, 1);
		ck_assert_ptr_null(strstr(r.out, "X-Checksum"));
		ck_assert_int_eq(strict_dechunk(r.out, r.out_len, dec, sizeof(dec)), 4);
		ck_assert_str_eq(r.out + r.out_len - 5, "0\r\n\r\n");
		ck_assert_str_eq(r.rest, "NEXT");
		run_free(&r);
	}
}
END_TEST

START_TEST(test_body_chunked_bytewise_same)
{
	static const char in[] = "1a;e=1\r\nabcdefghijklmnopqrstuvwxyz\r\n1\r\n!\r\n10\r\n0123456789ABCDEF\r\n"
				 "0\r\nT: v\r\n\r\n";
	struct run a, b;

	for (int oc = 0; oc <= 1; oc++) {
		run_body(&a, HTTP1_BODY_CHUNKED, 0, oc, in, strlen(in), 0, 0);
		run_body(&b, HTTP1_BODY_CHUNKED, 0, oc, in, strlen(in), 1, 0);
		ck_assert_int_eq(a.rc, 0);
		ck_assert_int_eq(b.rc, 0);
		ck_assert_int_eq(a.done, 1);
		ck_assert_int_eq(b.done, 1);
		ck_assert_uint_eq(a.total, 43);
		ck_assert_uint_eq(b.total, 43);
		if (!oc) {
			ck_assert_str_eq(a.out, b.out);
		} else {
			char d1[64], d2[64];
			long n1 = strict_dechunk(a.out, a.out_len, d1, sizeof(d1));
			long n2 = strict_dechunk(b.out, b.out_len, d2, sizeof(d2));
			ck_assert_int_eq(n1, 43);
			ck_assert_int_eq(n2, 43);
			ck_assert_mem_eq(d1, d2, 43);
		}
		run_free(&a);
		run_free(&b);
	}
}
END_TEST

START_TEST(test_body_chunked_invalid)
{
	static const char *bad[] = {
		"g\r\nabc\r\n0\r\n\r\n",                    /* not hex */
		"\r\nabc\r\n0\r\n\r\n",                     /* empty size */
		";ext\r\n0\r\n\r\n",                        /* extension without size */
		" 4\r\nWiki\r\n0\r\n\r\n",                  /* leading space */
		"-4\r\nWiki\r\n0\r\n\r\n",                  /* sign */
		"0x4\r\nWiki\r\n0\r\n\r\n",                 /* prefix */
		"4x\r\nWiki\r\n0\r\n\r\n",                  /* junk after the size */
		"1000000000000000\r\nWiki\r\n0\r\n\r\n",    /* 16 hex digits */
		"ffffffffffffffffff\r\nWiki\r\n0\r\n\r\n",  /* overflow */
		"00000000000000004\r\nWiki\r\n0\r\n\r\n",   /* 17 digits, even if small */
		"4\r\nWikiXX\r\n0\r\n\r\n",                 /* no CRLF after the data */
		"4\r\nWiki\n0\r\n\r\n",                     /* LF only after the data */
		"4\r\nWiki\r0\r\n\r\n",                     /* CR only after the data */
		"4\r\nWikiXX0\r\n\r\n",                     /* two other bytes after the data */
		"4\r\nWiki\n\n0\r\n\r\n",
		"4\nWiki\r\n0\r\n\r\n",                     /* bare LF in the size line */
		"4;a\nb\r\nWiki\r\n0\r\n\r\n",              /* bare LF in an extension */
		"4\rx\r\nWiki\r\n0\r\n\r\n",                /* bare CR in the size line */
		"4;a\x01" "b\r\nWiki\r\n0\r\n\r\n",         /* control char in an extension */
		"4;a\x7f" "b\r\nWiki\r\n0\r\n\r\n",
		"4\r\nWiki\r\n0\r\nX-T: a\x01\r\n\r\n",     /* control char in a trailer */
		"4\r\nWiki\r\n0\r\n folded\r\n\r\n",        /* obs-fold in the trailers */
		"4\r\nWiki\r\n0\r\nno-colon\r\n\r\n",       /* a trailer line without a colon */
		"4\r\nWiki\r\n0\r\nX: a\n\r\n",             /* bare LF in the trailers */
	};
	struct run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);
		for (int oc = 0; oc <= 1; oc++) {
			for (int bw = 0; bw <= 1; bw++) {
				run_body(&r, HTTP1_BODY_CHUNKED, 0, oc, bad[i], len, bw, 0);
				ck_assert_msg(r.rc == -1, "bad chunked body %zu (oc %d, bytewise %d): rc %d done %d", i,
					      oc, bw, r.rc, r.done);
				run_free(&r);
			}
		}
	}
	/* NUL in an extension */
	static const char nul[] = "4;a\0b\r\nWiki\r\n0\r\n\r\n";
	for (int bw = 0; bw <= 1; bw++) {
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, nul, sizeof(nul) - 1, bw, 0);
		ck_assert_int_eq(r.rc, -1);
		run_free(&r);
	}
}
END_TEST

START_TEST(test_body_chunked_long_line)
{
	/* a size line with extensions longer than the decoder's line limit,
	 * never ending: refused rather than buffered for ever */
	size_t n = 8192;
	char *in = malloc(n);
	struct run r;

	ck_assert_ptr_nonnull(in);
	memset(in, 'e', n);
	memcpy(in, "4;", 2);
	run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, in, n, 0, 0);
	ck_assert_int_eq(r.rc, -1);
	run_free(&r);
	/* with its CRLF */
	memcpy(in + n - 2, "\r\n", 2);
	run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, in, n, 0, 0);
	ck_assert_int_eq(r.rc, -1);
	run_free(&r);
	free(in);
	/* trailers are dropped, but not without bound (16 KiB) */
	{
		size_t cap = 40 * 1024, len = 0;
		char *t = malloc(cap);
		ck_assert_ptr_nonnull(t);
		len += (size_t)sprintf(t, "0\r\n");
		for (int i = 0; i < 20; i++) {
			len += (size_t)sprintf(t + len, "X-%02d: ", i);
			memset(t + len, 'v', 1000);
			len += 1000;
			memcpy(t + len, "\r\n", 2);
			len += 2;
		}
		memcpy(t + len, "\r\n", 2);
		len += 2;
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, t, len, 0, 0);
		ck_assert_int_eq(r.rc, -1);
		run_free(&r);
		/* a few are fine */
		len = (size_t)sprintf(t, "0\r\n");
		for (int i = 0; i < 4; i++) {
			len += (size_t)sprintf(t + len, "X-%02d: ", i);
			memset(t + len, 'v', 1000);
			len += 1000;
			memcpy(t + len, "\r\n", 2);
			len += 2;
		}
		memcpy(t + len, "\r\n", 2);
		len += 2;
		run_body(&r, HTTP1_BODY_CHUNKED, 0, 1, t, len, 0, 0);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(r.done, 1);
		ck_assert_str_eq(r.out, "0\r\n\r\n");
		run_free(&r);
		free(t);
	}
	/* 15 hex digits are still fine */
	static const char ok[] = "000000000000004\r\nWiki\r\n0\r\n\r\n";
	run_body(&r, HTTP1_BODY_CHUNKED, 0, 0, ok, strlen(ok), 0, 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.done, 1);
	ck_assert_str_eq(r.out, "Wiki");
	run_free(&r);
}
END_TEST

START_TEST(test_body_eof_mode)
{
	struct http1_body b;
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	char *s;
	size_t n;

	/* raw: everything moves, EOF ends it without a terminator */
	http1_body_init(&b, HTTP1_BODY_EOF, 0, 0);
	ck_assert_int_eq(b.done, 0);
	evbuffer_add(src, "hello", 5);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	evbuffer_add(src, " world\r\n0\r\n\r\n", 13);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(b.done, 0);
	ck_assert_uint_eq(evbuffer_get_length(src), 0);
	ck_assert_int_eq(http1_body_eof(&b, dst), 0);
	ck_assert_int_eq(b.done, 1);
	ck_assert_uint_eq(b.total, 18);
	s = take_all(dst, &n);
	ck_assert_str_eq(s, "hello world\r\n0\r\n\r\n");
	free(s);

	/* chunked toward the peer: each move is one chunk, EOF the last chunk */
	http1_body_init(&b, HTTP1_BODY_EOF, 0, 1);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);   /* nothing: no empty chunk */
	ck_assert_uint_eq(evbuffer_get_length(dst), 0);
	evbuffer_add(src, "hello", 5);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	evbuffer_add(src, "0123456789abcdefXY", 18);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 0), 0);
	ck_assert_int_eq(b.done, 0);
	ck_assert_int_eq(http1_body_eof(&b, dst), 0);
	ck_assert_int_eq(b.done, 1);
	ck_assert_int_eq(http1_body_eof(&b, dst), 0);   /* once only */
	s = take_all(dst, &n);
	ck_assert_str_eq(s, "5\r\nhello\r\n12\r\n0123456789abcdefXY\r\n0\r\n\r\n");
	{
		char dec[64];
		ck_assert_int_eq(strict_dechunk(s, n, dec, sizeof(dec)), 23);
		ck_assert_mem_eq(dec, "hello0123456789abcdefXY", 23);
	}
	free(s);

	/* MAX bounds each chunk */
	http1_body_init(&b, HTTP1_BODY_EOF, 0, 1);
	evbuffer_add(src, "abcdefg", 7);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 4), 0);
	ck_assert_int_eq(http1_body_move(&b, src, dst, 4), 0);
	ck_assert_int_eq(http1_body_eof(&b, dst), 0);
	s = take_all(dst, &n);
	ck_assert_str_eq(s, "4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
	free(s);

	/* an empty close-delimited body */
	http1_body_init(&b, HTTP1_BODY_EOF, 0, 1);
	ck_assert_int_eq(http1_body_eof(&b, dst), 0);
	s = take_all(dst, &n);
	ck_assert_str_eq(s, "0\r\n\r\n");
	free(s);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

/* ------------------------------------------------------------ main */

/* The fast path of http1_parse_head() against http-parser alone
 * (http1_parse_head_slow): the same answer for every head, including the
 * ones where http-parser has its own view (tests/fuzz/fuzz_http1_diff.c
 * compares them on generated heads). */
START_TEST(test_fast_path_agrees)
{
	static const struct {
		int req;
		const char *head;
		enum http1_status want;
		int fast;   /* the one-pass path reads it */
	} cases[] = {
		{ 1, "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", HTTP1_OK, 1 },
		{ 1, "POST /a?b=c HTTP/1.0\r\nContent-Length: 12  \r\n\r\n", HTTP1_OK, 1 },
		/* a fragment, in any form of target (RFC 9112 3.2 has none) */
		{ 1, "POST /a?b=c#d HTTP/1.0\r\nContent-Length: 12  \r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET /# HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET http://h/a#b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET http://h#b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET /a%23b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_OK, 1 },
		{ 1, "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\t\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "POST /p HTTP/1.0\r\nTransfer-Encodingx: a\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\t\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked \r\n\r\n", HTTP1_OK, 0 },
		{ 1, "GET /a HTTP/1.1\r\nHost: x\r\nX: \x7f\r\n\r\n", HTTP1_OK, 0 },   /* http-parser skips a value's first byte */
		{ 1, "GET /a HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET /a HTTP/1.1\r\nHost: x\r\nX: \t \r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n", HTTP1_OK, 1 },
		{ 1, "GET /\xd4\xff HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_OK, 1 },
		{ 1, "GET  /a HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_OK, 0 },
		{ 1, "get /a HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET /a HTTP/1.2\r\nHost: x\r\n\r\n", HTTP1_OK, 0 },
		{ 1, "GET /a HTTP/1.1\r\nHost : x\r\n\r\n", HTTP1_BAD, 0 },
		{ 1, "GET http://h/a HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_OK, 0 },
		{ 1, "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_NOT_IMPLEMENTED, 0 },
		{ 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_OK, 1 },
		{ 0, "HTTP/1.1 200\r\nContent-Length: 3\r\n\r\n", HTTP1_OK, 1 },
		{ 0, "HTTP/1.1 200 \r\nContent-Length: 3\r\nKeep-Alive: timeout=5\r\n\r\n", HTTP1_OK, 1 },
		{ 0, "HTTP/1.1 20 OK\r\n\r\n", HTTP1_BAD, 0 },
		{ 0, "HTTP/1.1 2000 OK\r\n\r\n", HTTP1_BAD, 0 },
		{ 0, "HTTP/1.1 204 No\x01" "Content\r\n\r\n", HTTP1_OK, 1 },
		{ 0, "HTTP/1.0 101 Switching\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", HTTP1_OK, 1 },
	};
	const struct http1_limits lim = { 1024, 4096, 32, 0, 1 };

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct http1_header ha[32], hb[32];
		struct http1_head a, b;
		size_t n = strlen(cases[i].head);
		a.hdrs = ha;
		b.hdrs = hb;
		enum http1_status sa = http1_parse_head(cases[i].head, n, cases[i].req, 0, &lim, &a);
		enum http1_status sb = http1_parse_head_slow(cases[i].head, n, cases[i].req, 0, &lim, &b);
		ck_assert_msg(sa == sb && sa == cases[i].want, "case %zu: fast %d slow %d want %d", i, sa, sb,
			      cases[i].want);
		ck_assert_msg(b.fast == 0, "case %zu: the slow path took the fast one", i);
		if (sa != HTTP1_OK)
			continue;
		ck_assert_msg(a.fast == cases[i].fast, "case %zu: fast path %d, want %d", i, a.fast, cases[i].fast);
		ck_assert_uint_eq(a.nhdrs, b.nhdrs);
		for (size_t k = 0; k < a.nhdrs; k++) {
			ck_assert_uint_eq(ha[k].name_len, hb[k].name_len);
			ck_assert_int_eq(memcmp(ha[k].name, hb[k].name, ha[k].name_len), 0);
			ck_assert_uint_eq(ha[k].value_len, hb[k].value_len);
			ck_assert_int_eq(memcmp(ha[k].value, hb[k].value, ha[k].value_len), 0);
		}
		ck_assert_int_eq(a.method_id, b.method_id);
		ck_assert_int_eq(a.minor, b.minor);
		ck_assert_int_eq(a.conn_flags, b.conn_flags);
		ck_assert_int_eq(a.keep_alive, b.keep_alive);
		ck_assert_int_eq(a.wants_upgrade, b.wants_upgrade);
		ck_assert_uint_eq(a.host_len, b.host_len);
		ck_assert_int_eq(memcmp(a.target ? a.target : "", b.target ? b.target : "", a.target_len), 0);
		ck_assert_uint_eq(a.target_len, b.target_len);
		ck_assert_int_eq(a.status, b.status);
		ck_assert_uint_eq(a.reason_len, b.reason_len);
		ck_assert_int_eq(a.body, b.body);
		ck_assert_uint_eq(a.content_length, b.content_length);
	}
}
END_TEST

static Suite *http1_suite(void)
{
	Suite *s = suite_create("http1");
	TCase *tc;

	tc = tcase_create("fast path");
	tcase_add_test(tc, test_fast_path_agrees);
	suite_add_tcase(s, tc);

	tc = tcase_create("scan");
	tcase_add_test(tc, test_scan_one_piece);
	tcase_add_test(tc, test_scan_pulls_up);
	tcase_add_test(tc, test_scan_bytewise);
	tcase_add_test(tc, test_scan_incomplete);
	tcase_add_test(tc, test_scan_bare_lf);
	tcase_add_test(tc, test_scan_bare_cr);
	tcase_add_test(tc, test_scan_controls);
	tcase_add_test(tc, test_scan_htab_obstext_ok);
	tcase_add_test(tc, test_scan_obs_fold);
	tcase_add_test(tc, test_scan_uri_too_long);
	tcase_add_test(tc, test_scan_head_too_large);
	tcase_add_test(tc, test_scan_head_size_boundary);
	tcase_add_test(tc, test_scan_head_just_over_limit);
	tcase_add_test(tc, test_scan_max_headers);
	tcase_add_test(tc, test_scan_leading_empty_lines);
	tcase_add_test(tc, test_scan_response_no_skip);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_req_basic);
	tcase_add_test(tc, test_req_custom_method);
	tcase_add_test(tc, test_req_absolute_form);
	tcase_add_test(tc, test_req_host_valid);
	tcase_add_test(tc, test_date);
	tcase_add_test(tc, test_req_empty_value);
	tcase_add_test(tc, test_req_keep_alive);
	tcase_add_test(tc, test_req_expect);
	tcase_add_test(tc, test_req_body_framing);
	tcase_add_test(tc, test_req_cl_and_te);
	tcase_add_test(tc, test_req_two_cl);
	tcase_add_test(tc, test_req_bad_cl);
	tcase_add_test(tc, test_req_bad_te);
	tcase_add_test(tc, test_req_host);
	tcase_add_test(tc, test_req_bad_field_name);
	tcase_add_test(tc, test_req_bad_version);
	tcase_add_test(tc, test_req_connect);
	tcase_add_test(tc, test_req_trim);
	tcase_add_test(tc, test_req_too_many_headers);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, test_resp_status);
	tcase_add_test(tc, test_resp_no_body);
	tcase_add_test(tc, test_resp_framing);
	tcase_add_test(tc, test_resp_bad_status_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("hop_by_hop");
	tcase_add_test(tc, test_hop_by_hop_fixed);
	tcase_add_test(tc, test_hop_by_hop_in_head);
	tcase_add_test(tc, test_hop_by_hop_connection_named);
	tcase_add_test(tc, test_hop_by_hop_two_connection);
	tcase_add_test(tc, test_token_in_list);
	tcase_add_test(tc, test_name_is_and_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_test(tc, test_body_none);
	tcase_add_test(tc, test_body_length_partial);
	tcase_add_test(tc, test_body_length_bytewise_and_max);
	tcase_add_test(tc, test_body_length_truncated);
	tcase_add_test(tc, test_body_chunked_decode);
	tcase_add_test(tc, test_body_chunked_incomplete);
	tcase_add_test(tc, test_body_chunked_bare_lf);
	tcase_add_test(tc, test_body_chunked_reencode);
	tcase_add_test(tc, test_body_chunked_max);
	tcase_add_test(tc, test_body_chunked_extensions);
	tcase_add_test(tc, test_body_chunked_trailers);
	tcase_add_test(tc, test_body_chunked_bytewise_same);
	tcase_add_test(tc, test_body_chunked_invalid);
	tcase_add_test(tc, test_body_chunked_long_line);
	tcase_add_test(tc, test_body_eof_mode);
	tcase_add_test(tc, test_normalize_request);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http1_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
