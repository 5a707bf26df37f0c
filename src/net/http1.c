/* http1.c - see http1.h */
#include "http1.h"
#include "desync.h"
#include "core/uri.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#define MAX_EMPTY_PREFIX 4       /* empty lines tolerated before a request line */
#define MAX_CHUNK_LINE 1024      /* chunk-size line with extensions */
#define MAX_TRAILERS 16384       /* bytes of trailer section, dropped */

void http1_init(void)
{
	/* the largest max_header_size (config_limits.c) and its request line */
	http_parser_set_max_header_size(2u << 20);
}

void http1_scan_reset(struct http1_scan *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->in_start_line = 1;
}

static enum http1_status scan_bad(struct http1_scan *sc, enum http1_scan_bad why)
{
	sc->bad = why;
	return HTTP1_BAD;
}

enum http1_status http1_scan_head(struct evbuffer *in, int is_request, const struct http1_limits *lim,
				  struct http1_scan *sc, size_t *head_len)
{
	size_t n = evbuffer_get_length(in);
	size_t cap = lim->max_head + 2 * MAX_EMPTY_PREFIX;
	size_t m = n < cap ? n : cap;
	const unsigned char *p;
	size_t i;

	if (m <= sc->pos)
		return n >= cap ? HTTP1_HEAD_TOO_LARGE : HTTP1_INCOMPLETE;
	p = evbuffer_pullup(in, (ssize_t)m);
	if (!p)
		return HTTP1_HEAD_TOO_LARGE;
	for (i = sc->pos; i < m; i++) {
		unsigned char c = p[i];

		if (c == '\n') {
			/* RFC 9112 2.2: albd accepts CRLF line endings only */
			if (i == sc->line_start || p[i - 1] != '\r')
				return scan_bad(sc, HTTP1_SCAN_BARE_LF);
			size_t line_len = i - 1 - sc->line_start;
			if (line_len == 0) {
				if (!sc->in_start_line) {
					if (i + 1 - sc->skip * 2 > lim->max_head)
						return HTTP1_HEAD_TOO_LARGE;
					*head_len = i + 1;
					sc->pos = i + 1;
					return HTTP1_OK;
				}
				/* RFC 9112 2.2: a server SHOULD ignore at least one
				 * empty line received before the request-line */
				if (!is_request || ++sc->skip > MAX_EMPTY_PREFIX)
					return scan_bad(sc, HTTP1_SCAN_EMPTY_LINES);
				sc->line_start = i + 1;
				continue;
			}
			if (sc->in_start_line) {
				sc->in_start_line = 0;
				if (is_request && line_len > lim->max_start_line)
					return HTTP1_URI_TOO_LONG;
			} else {
				/* RFC 9112 5.2: obs-fold is rejected with 400 */
				if (p[sc->line_start] == ' ' || p[sc->line_start] == '\t')
					return scan_bad(sc, HTTP1_SCAN_OBS_FOLD);
				if (++sc->lines > lim->max_headers)
					return HTTP1_HEAD_TOO_LARGE;
			}
			sc->line_start = i + 1;
		} else if (c == '\r') {
			if (i + 1 == m)
				break;           /* decide when the next byte is here */
			if (p[i + 1] != '\n')
				return scan_bad(sc, HTTP1_SCAN_BARE_CR);   /* RFC 9112 2.2 */
		} else if (c == 0 || (!(is_request && lim->pass_controls) && ((c < 0x20 && c != '\t') || c == 0x7f))) {
			/* NUL never; other controls only where the caller
			 * classifies them (the proxy's desync policy) */
			return scan_bad(sc, c ? HTTP1_SCAN_CONTROL : HTTP1_SCAN_NUL);
		}
	}
	sc->pos = i;
	if (sc->in_start_line && is_request && sc->pos - sc->line_start > lim->max_start_line)
		return HTTP1_URI_TOO_LONG;
	if (n >= cap || sc->pos - sc->skip * 2 > lim->max_head)
		return HTTP1_HEAD_TOO_LARGE;
	return HTTP1_INCOMPLETE;
}

/* http-parser callbacks ------------------------------------------------ */

struct parse_ctx {
	struct http1_head *h;
	const struct http1_limits *lim;
	int last_was_value;
	enum http1_status err;
};

static int on_url(http_parser *hp, const char *at, size_t len)
{
	struct parse_ctx *ctx = hp->data;
	if (!ctx->h->target)
		ctx->h->target = at;
	ctx->h->target_len += len;
	return 0;
}

static int on_status(http_parser *hp, const char *at, size_t len)
{
	struct parse_ctx *ctx = hp->data;
	if (!ctx->h->reason)
		ctx->h->reason = at;
	ctx->h->reason_len += len;
	return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
	struct parse_ctx *ctx = hp->data;
	struct http1_head *h = ctx->h;

	if (h->nhdrs == 0 || ctx->last_was_value) {
		if (h->nhdrs >= ctx->lim->max_headers) {
			ctx->err = HTTP1_HEAD_TOO_LARGE;
			return 1;
		}
		struct http1_header *f = &h->hdrs[h->nhdrs++];
		f->name = at;
		f->name_len = len;
		f->value = NULL;
		f->value_len = 0;
		ctx->last_was_value = 0;
	} else {
		h->hdrs[h->nhdrs - 1].name_len += len;
	}
	return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
	struct parse_ctx *ctx = hp->data;
	struct http1_header *f = &ctx->h->hdrs[ctx->h->nhdrs - 1];

	if (!ctx->last_was_value) {
		f->value = at;
		f->value_len = len;
		ctx->last_was_value = 1;
	} else {
		f->value_len += len;
	}
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
};

/* RFC 9110 5.6.2: tchar */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
	['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

int http1_name_is(const struct http1_header *f, const char *lit)
{
	size_t n = strlen(lit);
	return f->name_len == n && strncasecmp(f->name, lit, n) == 0;
}

static int value_is(const struct http1_header *f, const char *lit)
{
	size_t n = strlen(lit);
	return f->value_len == n && strncasecmp(f->value, lit, n) == 0;
}

int http1_token_in_list(const char *list, size_t list_len, const char *name, size_t name_len)
{
	size_t i = 0;

	while (i < list_len) {
		while (i < list_len && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		size_t s = i;
		while (i < list_len && list[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		if (e - s == name_len && name_len && strncasecmp(list + s, name, name_len) == 0)
			return 1;
	}
	return 0;
}

static void parse_connection(struct http1_head *h, const struct http1_header *f)
{
	if (http1_token_in_list(f->value, f->value_len, "close", 5))
		h->conn_flags |= HTTP1_CONN_CLOSE;
	if (http1_token_in_list(f->value, f->value_len, "keep-alive", 10))
		h->conn_flags |= HTTP1_CONN_KEEPALIVE;
	if (http1_token_in_list(f->value, f->value_len, "upgrade", 7))
		h->conn_flags |= HTTP1_CONN_UPGRADE;
}

/* RFC 9110 8.6: Content-Length = 1*DIGIT */
static int parse_length(const struct http1_header *f, uint64_t *out)
{
	uint64_t v = 0;

	if (f->value_len == 0 || f->value_len > 18)
		return -1;
	for (size_t i = 0; i < f->value_len; i++) {
		if (f->value[i] < '0' || f->value[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(f->value[i] - '0');
	}
	*out = v;
	return 0;
}

/* RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive; at
 * the end of a request line, at the start of a status line. http-parser's
 * lenient build does not check the letters. */
static int check_version(const char *p, size_t len, int is_request)
{
	const char *eol = memchr(p, '\r', len);
	const char *v;

	if (!eol)
		return -1;
	if (is_request) {
		if (eol - p < 10 || eol[-9] != ' ')
			return -1;
		v = eol - 8;
	} else {
		if (eol - p < 9 || p[8] != ' ')
			return -1;
		v = p;
	}
	return memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' && v[7] >= '0' &&
			       v[7] <= '9'
		       ? 0
		       : -1;
}

/* Host values (RFC 9112 3.2, RFC 3986 3.2.2) ---------------------------- */

/* reg-name's characters but '%' (RFC 3986 3.2.2: unreserved / sub-delims):
 * a table, as every request's Host is read through it */
static const uint8_t reg_name_tab[256] = {
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1,
	['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* IP-literal's inside: IPv6address (inet_pton's reading) or IPvFuture
 * ("v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )). */
static int ip_literal_inside(const char *p, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n && (p[0] | 0x20) == 'v') {
		size_t i = 1;
		while (i < n && uri_hexval((unsigned char)p[i]) >= 0)
			i++;
		if (i == 1 || i >= n || p[i] != '.' || ++i == n)
			return 0;
		for (; i < n; i++)
			if (p[i] != ':' && !reg_name_tab[(unsigned char)p[i]])
				return 0;
		return 1;
	}
	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, p, n);
	buf[n] = 0;
	return inet_pton(AF_INET6, buf, &a) == 1;
}

int http1_host_valid(const char *v, size_t n, size_t *host_len)
{
	size_t i = 0;

	if (n && v[0] == '[') {
		const char *e = memchr(v, ']', n);
		if (!e || !ip_literal_inside(v + 1, (size_t)(e - v) - 1))
			return 0;
		i = (size_t)(e - v) + 1;
	} else {
		/* reg-name, which IPv4address is one of */
		while (i < n && v[i] != ':') {
			if (reg_name_tab[(unsigned char)v[i]]) {
				i++;
			} else if (v[i] == '%') {
				if (n - i < 3 || uri_hexval((unsigned char)v[i + 1]) < 0 || uri_hexval((unsigned char)v[i + 2]) < 0)
					return 0;
				i += 3;
			} else {
				return 0;
			}
		}
	}
	if (host_len)
		*host_len = i;
	if (i == n)
		return 1;
	if (v[i] != ':')
		return 0;
	for (i++; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	return 1;
}

/* Split a request target into H's authority (absolute-form only) and path.
 * RFC 9112 3.2: origin-form starts with '/'; absolute-form is an absolute
 * URI, of which a gateway proxies only http and https ones; asterisk-form
 * ("*") goes on as it came. Returns -1 for what albd does not forward. */
static int split_target(struct http1_head *h)
{
	const char *t = h->target, *end = h->target + h->target_len;
	size_t slen;

	h->path = t;
	h->path_len = h->target_len;
	if (t[0] == '/')
		return 0;
	if (h->target_len == 1 && t[0] == '*')
		return 0;   /* asterisk-form, forwarded as it came */
	if (h->target_len > 7 && strncasecmp(t, "http://", 7) == 0)
		slen = 7;
	else if (h->target_len > 8 && strncasecmp(t, "https://", 8) == 0)
		slen = 8;
	else
		return -1;
	const char *a = t + slen, *q = a;
	while (q < end && *q != '/' && *q != '?')
		q++;
	/* RFC 9110 4.2.4: userinfo is not to be sent in an http(s) URI (and
	 * '@' is no host's); 4.2.1: nor is an empty host */
	size_t host_len;
	if (!http1_host_valid(a, (size_t)(q - a), &host_len) || host_len == 0)
		return -1;
	h->authority = a;
	h->authority_len = (size_t)(q - a);
	h->path = q;
	h->path_len = (size_t)(end - q);
	return 0;
}

/* The fast path of http1_parse_head(): the common shapes of a head, read in
 * one pass. A request line "METHOD /target HTTP/1.x" with one of the usual
 * methods and an origin-form target, or a status line "HTTP/1.x DDD
 * reason"; then "name: value" lines with token names and values free of
 * control characters but HTAB. Anything else (other methods, other target
 * forms, extra spaces, a control character, too many fields, a very large
 * head) returns 0 and http-parser reads the head instead, so a head is
 * accepted or refused exactly as http-parser with the checks below does:
 * tests/fuzz/fuzz_http1_diff.c compares the two on every head the scanner
 * lets through. On 1, H has the start line's parts (target, reason),
 * hdrs/nhdrs with values as http-parser gives them (leading whitespace
 * removed), *MINOR, *METHOD (http-parser's enum) and *STATUS. */
#define FAST_HEAD_MAX 65536   /* well under http-parser's HTTP_MAX_HEADER_SIZE (80 KiB) */

static int fast_method(const char *m, size_t n)
{
	switch (n) {
	case 3:
		if (memcmp(m, "GET", 3) == 0)
			return HTTP_GET;
		if (memcmp(m, "PUT", 3) == 0)
			return HTTP_PUT;
		break;
	case 4:
		if (memcmp(m, "POST", 4) == 0)
			return HTTP_POST;
		if (memcmp(m, "HEAD", 4) == 0)
			return HTTP_HEAD;
		break;
	case 5:
		if (memcmp(m, "PATCH", 5) == 0)
			return HTTP_PATCH;
		break;
	case 6:
		if (memcmp(m, "DELETE", 6) == 0)
			return HTTP_DELETE;
		break;
	case 7:
		if (memcmp(m, "OPTIONS", 7) == 0)
			return HTTP_OPTIONS;
		break;
	}
	return -1;
}

static int fast_head(const char *p, size_t len, int is_request, const struct http1_limits *lim,
		     struct http1_head *h, int *minor, int *method, int *status)
{
	const char *end = p + len, *q = p;

	if (len > FAST_HEAD_MAX || len < 4 || memcmp(end - 4, "\r\n\r\n", 4) != 0)
		return 0;
	if (is_request) {
		const char *sp = memchr(q, ' ', (size_t)(end - q));
		if (!sp || (*method = fast_method(q, (size_t)(sp - q))) < 0)
			return 0;
		q = sp + 1;
		if (*q != '/')
			return 0;
		const char *t = q;
		while (q < end && (unsigned char)*q > 0x20 && *q != 0x7f)
			q++;
		/* " HTTP/1.x\r\n" */
		if (end - q < 11 || memcmp(q, " HTTP/1.", 8) != 0 || (q[8] != '0' && q[8] != '1') || q[9] != '\r' ||
		    q[10] != '\n')
			return 0;
		h->target = t;
		h->target_len = (size_t)(q - t);
		*minor = q[8] - '0';
		q += 11;
	} else {
		/* "HTTP/1.x DDD" then " reason" or nothing, then CRLF */
		if (end - q < 14 || memcmp(q, "HTTP/1.", 7) != 0 || (q[7] != '0' && q[7] != '1') || q[8] != ' ' ||
		    q[9] < '0' || q[9] > '9' || q[10] < '0' || q[10] > '9' || q[11] < '0' || q[11] > '9')
			return 0;
		*minor = q[7] - '0';
		*status = (q[9] - '0') * 100 + (q[10] - '0') * 10 + (q[11] - '0');
		q += 12;
		if (*q == ' ') {
			const char *r = ++q;
			while (q < end && *q != '\r')
				q++;
			h->reason = r;
			h->reason_len = (size_t)(q - r);
		}
		if (end - q < 2 || q[0] != '\r' || q[1] != '\n')
			return 0;
		q += 2;
	}
	/* fields, up to the empty line */
	while (q < end - 2) {
		const char *n = q;
		while (q < end && tchar[(unsigned char)*q])
			q++;
		if (q == n || q == end || *q != ':' || h->nhdrs >= lim->max_headers)
			return 0;
		/* http-parser takes any name that starts with
		 * "Transfer-Encoding" for one, and then refuses a request whose
		 * "transfer coding" does not end with chunked: its call */
		if (q - n > 17 && (*n | 0x20) == 't' && strncasecmp(n, "transfer-encoding", 17) == 0)
			return 0;
		struct http1_header *f = &h->hdrs[h->nhdrs++];
		f->name = n;
		f->name_len = (size_t)(q - n);
		q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		const char *v = q;
		for (; q < end; q++) {
			unsigned char c = (unsigned char)*q;
			if (c < 0x20 || c == 0x7f) {
				if (c == '\t')
					continue;
				break;
			}
		}
		if (end - q < 2 || q[0] != '\r' || q[1] != '\n')
			return 0;   /* a control character, which http-parser judges */
		/* http-parser reads these values itself: a Content-Length of
		 * digits and spaces only, a request's Transfer-Encoding always */
		if (f->name_len == 14 && (*n | 0x20) == 'c' && strncasecmp(n, "content-length", 14) == 0) {
			const char *d = v;
			while (d < q && *d >= '0' && *d <= '9')
				d++;
			if (d == v)
				return 0;
			while (d < q && *d == ' ')
				d++;
			if (d != q)
				return 0;
		} else if (is_request && f->name_len == 17 && (*n | 0x20) == 't' &&
			   strncasecmp(n, "transfer-encoding", 17) == 0)
			return 0;
		if (q == v) {
			f->value = NULL;   /* empty: set to name + name_len below */
			f->value_len = 0;
		} else {
			f->value = v;
			f->value_len = (size_t)(q - v);
		}
		q += 2;
	}
	return q == end - 2;
}

/* The methods http-parser knows (its parser matches them letter by letter
 * and refuses every other). */
static const char *const parser_methods[] = {
#define XX(num, name, string) #string,
	HTTP_METHOD_MAP(XX)
#undef XX
};

/* If the request line P (LEN bytes) starts with a custom method followed
 * by a space, its length; else 0. A custom method is ALB's: 1 to
 * HTTP1_CUSTOM_METHOD_MAX of A-Z, '-' and '_' (a token, RFC 9110 9.1),
 * and not one of http-parser's, which it reads itself. */
static size_t custom_method_len(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && n <= HTTP1_CUSTOM_METHOD_MAX &&
	       ((p[n] >= 'A' && p[n] <= 'Z') || p[n] == '-' || p[n] == '_'))
		n++;
	if (n == 0 || n > HTTP1_CUSTOM_METHOD_MAX || n == len || p[n] != ' ')
		return 0;
	for (size_t i = 0; i < sizeof parser_methods / sizeof parser_methods[0]; i++)
		if (strlen(parser_methods[i]) == n && memcmp(parser_methods[i], p, n) == 0)
			return 0;
	return n;
}

static enum http1_status parse_head(const char *p, size_t len, int is_request, int req_method_head,
				    const struct http1_limits *lim, struct http1_head *h, int fast);

enum http1_status http1_parse_head(const char *p, size_t len, int is_request, int req_method_head,
				   const struct http1_limits *lim, struct http1_head *h)
{
	return parse_head(p, len, is_request, req_method_head, lim, h, 1);
}

enum http1_status http1_parse_head_slow(const char *p, size_t len, int is_request, int req_method_head,
					const struct http1_limits *lim, struct http1_head *h)
{
	return parse_head(p, len, is_request, req_method_head, lim, h, 0);
}

static enum http1_status parse_head(const char *p, size_t len, int is_request, int req_method_head,
				    const struct http1_limits *lim, struct http1_head *h, int fast)
{
	struct http1_header *hdrs = h->hdrs;
	struct parse_ctx ctx = { .h = h, .lim = lim, .err = HTTP1_BAD };
	http_parser hp;
	size_t skip = 0;
	int n_cl = 0, n_te = 0, n_host = 0, n_conn = 0;
	const struct http1_header *cl = NULL, *te = NULL;

	memset(h, 0, sizeof(*h));
	h->hdrs = hdrs;
	if (is_request)
		while (skip + 1 < len && p[skip] == '\r' && p[skip + 1] == '\n')
			skip += 2;
	h->skip = skip;
	h->head_len = len;

	int major = 1, minor = 0, method = -1, status = 0;
	if (fast && !lim->lenient_values &&
	    fast_head(p + skip, len - skip, is_request, lim, h, &minor, &method, &status)) {
		h->fast = 1;
	} else {
		/* http-parser reads what the fast path does not */
		h->nhdrs = 0;
		h->target = h->reason = NULL;
		h->target_len = h->reason_len = 0;
		http_parser_init(&hp, is_request ? HTTP_REQUEST : HTTP_RESPONSE);
		hp.data = &ctx;
		hp.lenient_http_headers = lim->lenient_values ? 1 : 0;
		/* http-parser knows a fixed list of methods and refuses the
		 * others. It reads a head as a stream, so for a custom method
		 * it is given "GET " in its place and then the rest of the
		 * head from the target on: every byte it judges and every
		 * pointer its callbacks give are the request's own, and GET
		 * means nothing to it for a request (only CONNECT does). */
		size_t cm = is_request ? custom_method_len(p + skip, len - skip) : 0;
		size_t from = cm ? skip + cm + 1 : skip;
		if (cm && http_parser_execute(&hp, &parser_settings, "GET ", 4) != 4)
			return HTTP1_BAD;
		size_t done = http_parser_execute(&hp, &parser_settings, p + from, len - from);
		if (HTTP_PARSER_ERRNO(&hp) != HPE_OK)
			return HTTP_PARSER_ERRNO(&hp) == HPE_CB_header_field ? ctx.err : HTTP1_BAD;
		/* http-parser stops after the head of an upgrade or CONNECT */
		if (done != len - from && !hp.upgrade)
			return HTTP1_BAD;
		major = hp.http_major;
		minor = hp.http_minor;
		method = cm ? HTTP1_METHOD_CUSTOM : (int)hp.method;
		status = (int)hp.status_code;
	}
	if (major != 1 || check_version(p + skip, len - skip, is_request) < 0)
		return HTTP1_BAD;
	h->minor = minor >= 1 ? 1 : 0;

	if (is_request) {
		h->method_id = method;
		h->method = p + skip;
		const char *sp = memchr(h->method, ' ', len - skip);
		if (!sp)
			return HTTP1_BAD;
		h->method_len = (size_t)(sp - h->method);
		if (!h->target || h->target_len == 0)
			return HTTP1_BAD;
		/* http-parser's lenient build takes HTAB and FF in a target;
		 * and a fragment: RFC 9112 3.2's request-target has none (no
		 * form of it allows '#'), and a proxy that reads "/a#b" as
		 * the path /a while its target reads it whole matches one
		 * path and serves another (HAProxy refuses it since
		 * CVE-2023-45539) */
		for (size_t k = 0; k < h->target_len; k++)
			if ((unsigned char)h->target[k] <= 0x20 || h->target[k] == 0x7f || h->target[k] == '#')
				return HTTP1_BAD;
		if (method == HTTP_CONNECT)
			return HTTP1_NOT_IMPLEMENTED;
		if (split_target(h) < 0)
			return HTTP1_BAD;
	} else {
		h->status = status;
		/* RFC 9110 15: a status code is 100..599; any other three
		 * digits make a malformed response */
		if (h->status < 100 || h->status > 599)
			return HTTP1_BAD;
	}

	for (size_t i = 0; i < h->nhdrs; i++) {
		struct http1_header *f = &h->hdrs[i];

		if (f->name_len == 0)
			return HTTP1_BAD;
		for (size_t k = 0; k < f->name_len; k++)
			if (!tchar[(unsigned char)f->name[k]])
				return HTTP1_BAD;   /* RFC 9112 5.1: no whitespace before the colon */
		if (!f->value)
			f->value = f->name + f->name_len;

		while (f->value_len && (f->value[0] == ' ' || f->value[0] == '\t')) {
			f->value++;
			f->value_len--;
		}
		while (f->value_len && (f->value[f->value_len - 1] == ' ' || f->value[f->value_len - 1] == '\t'))
			f->value_len--;

		switch (f->name_len) {
		case 4:
			if (http1_name_is(f, "host")) {
				n_host++;
				h->host = f->value;
				h->host_len = f->value_len;
			}
			break;
		case 6:
			if (is_request && http1_name_is(f, "expect") && value_is(f, "100-continue"))
				h->expect_continue = 1;
			break;
		case 7:
			if (http1_name_is(f, "upgrade")) {
				h->upgrade = f->value;
				h->upgrade_len = f->value_len;
			}
			break;
		case 10:
			if (http1_name_is(f, "connection")) {
				n_conn++;
				parse_connection(h, f);
				h->conn_tokens = f->value;
				h->conn_tokens_len = f->value_len;
			}
			break;
		case 14:
			if (http1_name_is(f, "content-length")) {
				n_cl++;
				cl = f;
			}
			break;
		case 17:
			if (http1_name_is(f, "transfer-encoding")) {
				n_te++;
				te = f;
			}
			break;
		}
	}
	if (n_conn > 1)
		h->conn_tokens_len = (size_t)-1;   /* several lists: see http1_is_hop_by_hop() */

	/* RFC 9112 6.1, 6.3: ambiguous framing is an error, never guessed */
	if (n_cl > 1 || n_te > 1 || (cl && te))
		return HTTP1_BAD;
	if (cl && parse_length(cl, &h->content_length) < 0)
		return HTTP1_BAD;
	if (te && (h->minor == 0 || !value_is(te, "chunked")))
		return HTTP1_BAD;

	if (is_request) {
		/* RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in 1.0,
		 * and a valid one (uri-host [ ":" port ]; it may be empty) even
		 * when the target's authority stands in for it */
		if (n_host > 1 || (h->minor == 1 && n_host == 0))
			return HTTP1_BAD;
		if (h->host && !http1_host_valid(h->host, h->host_len, NULL))
			return HTTP1_BAD;
		if (h->authority) {
			/* RFC 9112 3.2.2: the target's authority wins over Host */
			h->host = h->authority;
			h->host_len = h->authority_len;
		}
		if (te)
			h->body = HTTP1_BODY_CHUNKED;
		else if (cl && h->content_length > 0)
			h->body = HTTP1_BODY_LENGTH;
		else
			h->body = HTTP1_BODY_NONE;
	} else {
		if (h->status < 200 || h->status == 204 || h->status == 304 || req_method_head)
			h->body = HTTP1_BODY_NONE;
		else if (te)
			h->body = HTTP1_BODY_CHUNKED;
		else if (cl)
			h->body = h->content_length ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
		else
			h->body = HTTP1_BODY_EOF;
	}
	h->wants_upgrade = h->minor == 1 && (h->conn_flags & HTTP1_CONN_UPGRADE) && h->upgrade_len;
	if (h->minor == 1)
		h->keep_alive = !(h->conn_flags & HTTP1_CONN_CLOSE);
	else
		h->keep_alive = (h->conn_flags & HTTP1_CONN_KEEPALIVE) && !(h->conn_flags & HTTP1_CONN_CLOSE);
	if (h->body == HTTP1_BODY_EOF)
		h->keep_alive = 0;
	return HTTP1_OK;
}

int http1_is_hop_by_hop(const struct http1_head *h, const struct http1_header *f)
{
	switch (f->name_len) {
	case 2:
		if (http1_name_is(f, "te"))
			return 1;
		break;
	case 7:
		if (http1_name_is(f, "trailer") || http1_name_is(f, "upgrade"))
			return 1;
		break;
	case 10:
		if (http1_name_is(f, "connection") || http1_name_is(f, "keep-alive"))
			return 1;
		break;
	case 14:
		if (http1_name_is(f, "content-length"))
			return 1;
		break;
	case 16:
		if (http1_name_is(f, "proxy-connection"))
			return 1;
		break;
	case 17:
		if (http1_name_is(f, "transfer-encoding"))
			return 1;
		break;
	}
	if (!h->conn_tokens)
		return 0;
	if (h->conn_tokens_len != (size_t)-1)
		return http1_token_in_list(h->conn_tokens, h->conn_tokens_len, f->name, f->name_len);
	for (size_t i = 0; i < h->nhdrs; i++) {
		const struct http1_header *c = &h->hdrs[i];
		if (http1_name_is(c, "connection") &&
		    http1_token_in_list(c->value, c->value_len, f->name, f->name_len))
			return 1;
	}
	return 0;
}

/* Bodies ---------------------------------------------------------------- */

enum { CS_SIZE = 0, CS_DATA, CS_DATA_CRLF, CS_TRAILER };

void http1_body_init(struct http1_body *b, enum http1_body_mode mode, uint64_t length, int out_chunked)
{
	memset(b, 0, sizeof(*b));
	b->mode = mode;
	b->out_chunked = out_chunked;
	if (mode == HTTP1_BODY_LENGTH)
		b->remaining = length;
	if (mode == HTTP1_BODY_NONE || (mode == HTTP1_BODY_LENGTH && length == 0))
		b->done = 1;
}

static void put_chunk_header(struct evbuffer *dst, uint64_t n)
{
	char line[24];
	int k = snprintf(line, sizeof(line), "%" PRIx64 "\r\n", n);
	evbuffer_add(dst, line, (size_t)k);
}

/* Read a CRLF-terminated line of at most MAX bytes into LINE (NUL
 * terminated, without CRLF). Returns its length, -2 if incomplete, -1 if
 * too long or not CRLF-terminated: a bare LF is an error as soon as it
 * arrives (RFC 9112 7.1 asks for CRLF after chunk lines), not a wait for a
 * CRLF that may never come. */
static ssize_t take_line(struct evbuffer *src, char *line, size_t max)
{
	size_t eol_len = 0;
	struct evbuffer_ptr e = evbuffer_search_eol(src, NULL, &eol_len, EVBUFFER_EOL_LF);

	if (e.pos < 0)
		return evbuffer_get_length(src) > max + 2 ? -1 : -2;
	if (e.pos == 0 || (size_t)e.pos > max + 1)
		return -1;
	evbuffer_remove(src, line, (size_t)e.pos);
	if (line[e.pos - 1] != '\r')
		return -1;
	line[e.pos - 1] = 0;
	evbuffer_drain(src, 1);
	return e.pos - 1;
}

/* RFC 9112 7.1: chunk-size [ chunk-ext ] */
static int parse_chunk_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n && isxdigit((unsigned char)s[i]); i++) {
		if (i >= 15)
			return -1;
		int d = isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10);
		v = (v << 4) | (uint64_t)d;
	}
	if (i == 0)
		return -1;
	/* BWS is allowed only before a chunk extension */
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n || s[n - 1] == ' ' || s[n - 1] == '\t') {
		if (i >= n || s[i] != ';')
			return -1;
		for (; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return -1;
		}
	}
	*out = v;
	return 0;
}

static int move_chunked(struct http1_body *b, struct evbuffer *src, struct evbuffer *dst, size_t max)
{
	char line[MAX_CHUNK_LINE + 1];
	size_t budget = max ? max : SIZE_MAX;

	for (;;) {
		switch (b->state) {
		case CS_SIZE: {
			ssize_t n = take_line(src, line, MAX_CHUNK_LINE);
			if (n == -2)
				return 0;
			if (n < 0 || parse_chunk_size(line, (size_t)n, &b->remaining) < 0)
				return -1;
			if (b->remaining == 0) {
				b->state = CS_TRAILER;
				break;
			}
			if (b->out_chunked)
				put_chunk_header(dst, b->remaining);
			b->state = CS_DATA;
			break;
		}
		case CS_DATA: {
			size_t avail = evbuffer_get_length(src);
			size_t k = avail < b->remaining ? avail : (size_t)b->remaining;
			if (k > budget)
				k = budget;
			if (k == 0)
				return 0;
			evbuffer_remove_buffer(src, dst, k);
			b->remaining -= k;
			b->total += k;
			budget -= k;
			if (b->remaining == 0)
				b->state = CS_DATA_CRLF;
			break;
		}
		case CS_DATA_CRLF: {
			unsigned char crlf[2];
			size_t have = evbuffer_get_length(src);
			if (have == 0)
				return 0;
			evbuffer_copyout(src, crlf, have < 2 ? have : 2);
			if (crlf[0] != '\r' || (have >= 2 && crlf[1] != '\n'))
				return -1;
			if (have < 2)
				return 0;
			evbuffer_drain(src, 2);
			if (b->out_chunked)
				evbuffer_add(dst, "\r\n", 2);
			b->state = CS_SIZE;
			break;
		}
		case CS_TRAILER: {
			/* trailer fields are not forwarded (the Trailer header is
			 * hop-by-hop here), only checked and counted */
			ssize_t n = take_line(src, line, MAX_CHUNK_LINE);
			if (n == -2)
				return 0;
			if (n < 0)
				return -1;
			if (n == 0) {
				if (b->out_chunked)
					evbuffer_add(dst, "0\r\n\r\n", 5);
				b->done = 1;
				return 0;
			}
			for (ssize_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)line[i];
				if ((c < 0x20 && c != '\t') || c == 0x7f)
					return -1;
			}
			if (line[0] == ' ' || line[0] == '\t' || !memchr(line, ':', (size_t)n))
				return -1;
			b->trailer_bytes += (unsigned)n;
			if (b->trailer_bytes > MAX_TRAILERS)
				return -1;
			break;
		}
		}
	}
}

int http1_body_move(struct http1_body *b, struct evbuffer *src, struct evbuffer *dst, size_t max)
{
	size_t avail, k;

	if (b->done)
		return 0;
	switch (b->mode) {
	case HTTP1_BODY_NONE:
		b->done = 1;
		return 0;
	case HTTP1_BODY_LENGTH:
		avail = evbuffer_get_length(src);
		k = avail < b->remaining ? avail : (size_t)b->remaining;
		if (max && k > max)
			k = max;
		if (k) {
			evbuffer_remove_buffer(src, dst, k);
			b->remaining -= k;
			b->total += k;
		}
		if (b->remaining == 0)
			b->done = 1;
		return 0;
	case HTTP1_BODY_CHUNKED:
		return move_chunked(b, src, dst, max);
	case HTTP1_BODY_EOF:
		k = evbuffer_get_length(src);
		if (max && k > max)
			k = max;
		if (k) {
			if (b->out_chunked)
				put_chunk_header(dst, k);
			evbuffer_remove_buffer(src, dst, k);
			if (b->out_chunked)
				evbuffer_add(dst, "\r\n", 2);
			b->total += k;
		}
		return 0;
	}
	return -1;
}

int http1_body_eof(struct http1_body *b, struct evbuffer *dst)
{
	if (b->done)
		return 0;
	if (b->mode != HTTP1_BODY_EOF)
		return -1;
	if (b->out_chunked)
		evbuffer_add(dst, "0\r\n\r\n", 5);
	b->done = 1;
	return 0;
}

const char *http1_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	if (status >= 200 && status < 300)
		return "OK";
	if (status >= 300 && status < 400)
		return "Redirect";
	if (status >= 400 && status < 500)
		return "Client Error";
	return "Server Error";
}

/* Request normalisation for the desync policy ---------------------------- */

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static const char *trimmed(const char *v, size_t *n)
{
	while (*n && is_ows(v[0])) {
		v++;
		(*n)--;
	}
	while (*n && is_ows(v[*n - 1]))
		(*n)--;
	return v;
}

/* The header line [L, L+N) (no CRLF) as name and value; 0 when it has no
 * colon or an empty or whitespace-only name. */
static int split_field(const char *l, size_t n, const char **name, size_t *name_len, const char **val,
		       size_t *val_len)
{
	const char *colon = memchr(l, ':', n);
	size_t k;

	if (!colon || colon == l)
		return 0;
	*name = l;
	*name_len = (size_t)(colon - l);
	for (k = 0; k < *name_len && is_ows(l[k]); k++)
		;
	if (k == *name_len)
		return 0;
	*val_len = n - *name_len - 1;
	*val = trimmed(colon + 1, val_len);
	return 1;
}

size_t http1_normalize_request(const char *p, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, o = 0;
	const char *kept_cl = NULL;
	size_t kept_cl_len = 0;
	int has_te = 0, has_cl = 0;

	if (cap < 3 * len + 16)
		return 0;
	while (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
		i += 2;
	const char *eol = memchr(p + i, '\n', len - i);
	if (!eol || eol == p + i || eol[-1] != '\r')
		return 0;
	const char *line = p + i;
	size_t ll = (size_t)(eol - line) - 1;
	while (ll && is_ows(line[ll - 1]))
		ll--;       /* whitespace after the version */
	const char *end = line + ll;
	const char *sp1 = ll ? memchr(line, ' ', ll) : NULL, *sp2 = end;
	while (sp2 > line && sp2[-1] != ' ')
		sp2--;
	if (!sp1 || sp1 + 1 == end)
		return 0;   /* no target */
	if (sp2 - 1 == sp1) {
		if (end - sp2 >= 5 && memcmp(sp2, "HTTP/", 5) == 0)
			return 0;   /* a version and no target (MissingUri) */
		sp2 = end;  /* no version: HTTP/0.9's "GET /path", read as 1.0 */
	} else
		sp2--;      /* the last space */
	if (sp2 == end && (size_t)(eol + 1 - p) + 2 != len)
		return 0;   /* HTTP/0.9's form with fields: its framing is no one's */
	/* method */
	memcpy(out + o, line, (size_t)(sp1 - line + 1));
	o += (size_t)(sp1 - line + 1);
	/* target: without the spaces around it (a whitespace-tolerant
	 * front reads "GET /a  HTTP/1.1" as "/a" too), a space or control
	 * character within percent-encoded (RFC 3986 2.1) */
	const char *t0 = sp1 + 1, *t1 = sp2;
	while (t0 < t1 && *t0 == ' ')
		t0++;
	while (t1 > t0 && t1[-1] == ' ')
		t1--;
	if (t0 == t1)
		return 0;
	for (const char *c = t0; c < t1; c++) {
		unsigned char b = (unsigned char)*c;
		if (b <= 0x20 || b == 0x7f) {
			out[o++] = '%';
			out[o++] = hex[b >> 4];
			out[o++] = hex[b & 15];
		} else {
			out[o++] = (char)b;
		}
	}
	out[o++] = ' ';
	/* version: a well-formed one other than 1.0 and 1.1 read as the
	 * nearest albd speaks */
	const char *v = sp2 == end ? "HTTP/0.9" : sp2 + 1;
	size_t vlen = sp2 == end ? 8 : (size_t)(end - v);
	if (vlen == 8 && memcmp(v, "HTTP/", 5) == 0 && isdigit((unsigned char)v[5]) && v[6] == '.' &&
	    isdigit((unsigned char)v[7]) && !(v[5] == '1' && (v[7] == '0' || v[7] == '1'))) {
		memcpy(out + o, v[5] == '0' ? "HTTP/1.0" : "HTTP/1.1", 8);
		o += 8;
	} else {
		memcpy(out + o, v, vlen);
		o += vlen;
	}
	out[o++] = '\r';
	out[o++] = '\n';
	i = (size_t)(eol - p) + 1;

	/* first pass: what could be read two ways is refused, whatever
	 * reason the classifier gave first: Transfer-Encoding beside
	 * Content-Length (RFC 9112 6.1), a field that only looks like one
	 * (with or without its colon), whitespace in a field name (RFC 9112
	 * 5.1: "Host : a") */
	for (size_t j = i; j < len;) {
		const char *e = memchr(p + j, '\n', len - j);
		const char *name, *val;
		size_t name_len, val_len;
		if (!e || e - (p + j) <= 1)
			break;
		if (is_ows(p[j])) {
			j = (size_t)(e - p) + 1;
			continue;
		}
		if (!split_field(p + j, (size_t)(e - 1 - (p + j)), &name, &name_len, &val, &val_len)) {
			/* no colon: "Content-Length 44" is someone's length */
			size_t w = 0;
			while (p + j + w < e - 1 && !is_ows(p[j + w]) && p[j + w] != ':')
				w++;
			if (w && desync_name_kind(p + j, w) != DESYNC_NAME_OTHER)
				return 0;
			j = (size_t)(e - p) + 1;
			continue;
		}
		/* RFC 9112 5.1: whitespace in or after a field name is a 400 */
		if (memchr(name, ' ', name_len) || memchr(name, '\t', name_len))
			return 0;
		switch (desync_name_kind(name, name_len)) {
		case DESYNC_NAME_TE:
			has_te = 1;
			break;
		case DESYNC_NAME_CL:
			has_cl = 1;
			break;
		case DESYNC_NAME_LIKE_CL:
		case DESYNC_NAME_LIKE_TE:
			return 0;
		case DESYNC_NAME_OTHER:
			break;
		}
		j = (size_t)(e - p) + 1;
	}
	if (has_te && has_cl)
		return 0;
	/* the fields: what cannot be forwarded as it came is left out */
	while (i < len) {
		const char *e = memchr(p + i, '\n', len - i);
		const char *name, *val;
		size_t name_len, val_len, n;
		int keep = 1;

		if (!e || e == p + i || e[-1] != '\r')
			return 0;   /* a bare LF (the scanner lets none through) */
		n = (size_t)(e - 1 - (p + i));
		if (n == 0)
			break;      /* the empty line */
		if (is_ows(p[i]) || !split_field(p + i, n, &name, &name_len, &val, &val_len)) {
			keep = 0;   /* obs-fold, no colon, empty name */
		} else {
			for (size_t k = 0; k < name_len && keep; k++)
				keep = tchar[(unsigned char)name[k]];
			if (keep && desync_name_kind(name, name_len) == DESYNC_NAME_CL) {
				/* the same length again (different ones are Severe) */
				if (kept_cl)
					keep = !(val_len == kept_cl_len && memcmp(val, kept_cl, val_len) == 0);
				kept_cl = val;
				kept_cl_len = val_len;
			}
		}
		if (keep) {
			memcpy(out + o, p + i, n + 2);
			o += n + 2;
		}
		i = (size_t)(e - p) + 1;
	}
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

/* Dates (RFC 9110 5.6.7) -------------------------------------------------- */

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void http1_format_date(int64_t epoch, char out[HTTP1_DATE_LEN + 1])
{
	static const char days[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };  /* from 1970-01-01 */
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t z = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400;   /* days since 1970-01-01 */
	int64_t secs = epoch - z * 86400;
	int64_t wd = z % 7;

	if (wd < 0)
		wd += 7;
	/* the proleptic Gregorian calendar from a day number, without
	 * gmtime_r() (glibc takes a lock in it): H. Hinnant's civil_from_days */
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned day = doy - (153 * mp + 2) / 5 + 1;
	unsigned month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = (int64_t)yoe + era * 400 + (month <= 2);
	unsigned y = year < 0 ? 0 : year > 9999 ? 9999 : (unsigned)year;   /* four digits */

	memcpy(out, days[wd], 3);
	memcpy(out + 3, ", ", 2);
	put2(out + 5, day);
	out[7] = ' ';
	memcpy(out + 8, months[month - 1], 3);
	out[11] = ' ';
	put2(out + 12, y / 100);
	put2(out + 14, y % 100);
	out[16] = ' ';
	put2(out + 17, (unsigned)(secs / 3600));
	out[19] = ':';
	put2(out + 20, (unsigned)(secs / 60 % 60));
	out[22] = ':';
	put2(out + 23, (unsigned)(secs % 60));
	memcpy(out + 25, " GMT", 5);   /* and the NUL */
}

const char *http1_date(struct http1_date *d, int64_t epoch)
{
	if (!d->text[0] || d->sec != epoch) {
		http1_format_date(epoch, d->text);
		d->sec = epoch;
	}
	return d->text;
}
