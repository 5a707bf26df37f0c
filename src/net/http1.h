/* http1.h - HTTP/1.x message heads and bodies, strictly (RFC 9112).
 *
 * http-parser tokenizes the start line and the header fields; this module
 * adds the checks it lacks in its lenient build (bare CR or LF, obs-fold,
 * NUL and other controls, spaces in field names, Content-Length and
 * Transfer-Encoding conflicts, Host rules), decides the body framing, and
 * decodes/encodes bodies itself so that what goes out is always framed by
 * albd. The same code serves the client side (requests) and the upstream
 * side (responses).
 *
 * Thread: any; every function works on the caller's objects only.
 */
#ifndef ALBD_HTTP1_H
#define ALBD_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

struct http1_limits {
	unsigned max_start_line;    /* request line (414) */
	unsigned max_head;          /* whole head incl. start line (431) */
	unsigned max_headers;       /* header field count (431) */
	int lenient_values;         /* accept control characters in field values (a request the
	                             * desync policy lets through, see http1_normalize_request) */
	int pass_controls;          /* http1_scan_head: let a request's control characters but
	                             * NUL through, for a caller that classifies them (the
	                             * proxy's desync policy); 0: refused at once. http-parser
	                             * does not check a field value's first byte, so a caller
	                             * without a classifier must leave this 0 */
};

struct http1_header {
	const char *name;
	size_t name_len;
	const char *value;          /* without leading/trailing whitespace */
	size_t value_len;
};

enum http1_body_mode {
	HTTP1_BODY_NONE = 0,
	HTTP1_BODY_LENGTH,          /* Content-Length */
	HTTP1_BODY_CHUNKED,
	HTTP1_BODY_EOF,             /* response delimited by the connection's close */
};

/* Header flags: which hop-by-hop and special fields a head has. */
#define HTTP1_CONN_CLOSE      0x01  /* Connection: close */
#define HTTP1_CONN_KEEPALIVE  0x02  /* Connection: keep-alive */
#define HTTP1_CONN_UPGRADE    0x04  /* Connection: upgrade */

/* http1_head.method_id of a method http-parser does not know: one of
 * ALB's custom methods, 1..HTTP1_CUSTOM_METHOD_MAX of A-Z, '-' and '_'
 * (HttpRequestMethodConditionConfig). No http-parser method has it. */
#define HTTP1_METHOD_CUSTOM (-1)
#define HTTP1_CUSTOM_METHOD_MAX 40

/* A parsed head. The pointers point into the caller's contiguous copy of
 * the head (see http1_scan_head) and are valid until it is drained. */
struct http1_head {
	/* requests */
	const char *method; size_t method_len;
	int method_id;              /* http-parser's enum http_method, or HTTP1_METHOD_CUSTOM */
	const char *target; size_t target_len;
	const char *authority; size_t authority_len; /* absolute-form: its authority, else NULL */
	const char *path; size_t path_len; /* the target without scheme and authority: origin-form
	                                    * as sent, or what follows the authority (may be empty
	                                    * or start with '?': the forwarded line adds a '/') */
	/* responses */
	int status;                 /* 100..599 (RFC 9110 15); others are HTTP1_BAD */
	const char *reason; size_t reason_len;
	/* both */
	int minor;                  /* HTTP/1.MINOR (0 or 1) */
	struct http1_header *hdrs;  /* caller-provided array of limits.max_headers */
	size_t nhdrs;
	size_t head_len;            /* bytes of the head, final CRLF included */
	size_t skip;                /* leading empty lines before a request line */
	int conn_flags;             /* HTTP1_CONN_* */
	int keep_alive;             /* the sender allows another message on this connection */
	int expect_continue;        /* request: Expect: 100-continue */
	const char *host; size_t host_len;  /* request: the Host value, or NULL; for absolute-form
	                                     * the target's authority (RFC 9112 3.2.2) */
	enum http1_body_mode body;
	uint64_t content_length;    /* when body == HTTP1_BODY_LENGTH */
	const char *conn_tokens; size_t conn_tokens_len; /* last Connection value (for the hop-by-hop list) */
	const char *upgrade; size_t upgrade_len;  /* the Upgrade value, or NULL */
	int wants_upgrade;          /* HTTP/1.1 with "Connection: upgrade" and an Upgrade field */
	int fast;                   /* read by http1_parse_head()'s one-pass path, not http-parser */
};

/* Results of scanning and parsing. For requests, each maps to a status. */
enum http1_status {
	HTTP1_OK = 0,
	HTTP1_INCOMPLETE,           /* need more bytes */
	HTTP1_BAD,                  /* 400 / 502: malformed or ambiguous */
	HTTP1_URI_TOO_LONG,         /* 414 */
	HTTP1_HEAD_TOO_LARGE,       /* 431: head size or field count */
	HTTP1_NOT_IMPLEMENTED,      /* 501: a method albd does not proxy (CONNECT) */
};

/* Why http1_scan_head() answered HTTP1_BAD. */
enum http1_scan_bad {
	HTTP1_SCAN_NONE = 0,
	HTTP1_SCAN_NUL,             /* a NUL byte */
	HTTP1_SCAN_CONTROL,         /* another control character (strict scan) */
	HTTP1_SCAN_BARE_CR,         /* CR not followed by LF */
	HTTP1_SCAN_BARE_LF,         /* LF not preceded by CR */
	HTTP1_SCAN_OBS_FOLD,        /* a line starting with SP or HTAB */
	HTTP1_SCAN_EMPTY_LINES,     /* too many empty lines before a request line */
};

/* Scanning state for one head, reset with http1_scan_reset() before each. */
struct http1_scan {
	size_t pos;                 /* bytes already checked */
	size_t line_start;
	unsigned lines;             /* header lines seen */
	size_t skip;                /* leading empty lines (requests) */
	int in_start_line;          /* after HTTP1_BAD: the fault is in the start line */
	enum http1_scan_bad bad;    /* after HTTP1_BAD: why */
};

/* Once, before any thread parses: let http-parser take heads as large as
 * limits.max_header_size allows (1 MiB; its own default is 80 KiB).
 * albd's scanner enforces the configured limit first. Thread: main, before
 * the workers start. */
void http1_init(void);

void http1_scan_reset(struct http1_scan *sc);

/* Look for a complete head at the start of IN, checking each line as it
 * arrives: CRLF endings only, no NUL or other control character but HTAB
 * (for a request with LIM->pass_controls: no NUL), no obs-fold, limits. On HTTP1_OK *head_len is the head's length (with the
 * empty line) and the first *head_len bytes of IN are contiguous (pulled
 * up). IS_REQUEST selects the 414 check and the skipping of empty lines
 * before a request line. */
enum http1_status http1_scan_head(struct evbuffer *in, int is_request, const struct http1_limits *lim,
				  struct http1_scan *sc, size_t *head_len);

/* Parse the head of LEN bytes at P (a complete, scanned head) into H, whose
 * hdrs array holds at least LIM->max_headers entries. Validates framing
 * (RFC 9112 section 6): Content-Length and Transfer-Encoding together, a
 * Transfer-Encoding other than exactly "chunked", a malformed or repeated
 * Content-Length, Transfer-Encoding in HTTP/1.0, for HTTP/1.1 requests
 * exactly one Host, and a valid one (http1_host_valid()). A request target
 * holds no control character, space or '#' (RFC 9112 3.2: no form of it
 * has a fragment). A request target in absolute-form must be an http or
 * https URI whose authority is a valid Host with a host (no userinfo, not
 * empty); it then stands in for the Host field (RFC 9112 3.2.2). For
 * responses, REQ_METHOD_HEAD tells that the request was HEAD (no body
 * whatever the head says). */
enum http1_status http1_parse_head(const char *p, size_t len, int is_request, int req_method_head,
				   const struct http1_limits *lim, struct http1_head *h);

/* http1_parse_head() without its fast path: http-parser reads every head.
 * For tests/fuzz/fuzz_http1_diff.c, which checks that both agree. */
enum http1_status http1_parse_head_slow(const char *p, size_t len, int is_request, int req_method_head,
					const struct http1_limits *lim, struct http1_head *h);

/* Is V[0..N) a valid Host value (RFC 9112 3.2: uri-host [ ":" port ], RFC
 * 3986 3.2.2): an IP-literal ("[" IPv6address or IPvFuture "]"), or a
 * reg-name (unreserved, pct-encoded, sub-delims; IPv4address is one),
 * possibly empty, then ":" and digits or nothing? No userinfo, no spaces,
 * no '/'. On 1, *HOST_LEN (may be NULL) gets the uri-host's length. Pure,
 * no allocation; thread: any. */
int http1_host_valid(const char *v, size_t n, size_t *host_len);

/* Is NAME (of NAME_LEN) listed in the comma separated token list LIST? */
int http1_token_in_list(const char *list, size_t list_len, const char *name, size_t name_len);

/* Is this header hop-by-hop for head H: a field every proxy must remove
 * (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
 * Upgrade), Content-Length (albd frames bodies itself), or a field named
 * in H's Connection header? */
int http1_is_hop_by_hop(const struct http1_head *h, const struct http1_header *f);

/* Case-insensitive compare of a header name with a NUL-terminated literal. */
int http1_name_is(const struct http1_header *f, const char *lit);

/* Body transfer: decode the sender's framing and re-encode for the peer. */
struct http1_body {
	enum http1_body_mode mode;
	uint64_t remaining;         /* LENGTH: left; CHUNKED: left in this chunk */
	uint64_t total;             /* payload bytes moved so far */
	int state;                  /* chunked decoder state */
	unsigned trailer_bytes;
	int out_chunked;            /* encode as chunked toward the peer */
	int done;                   /* the whole body was moved (and the terminator written) */
};

/* Prepare B for a body of MODE (LENGTH: LENGTH bytes). OUT_CHUNKED: write
 * chunked framing to the peer. */
void http1_body_init(struct http1_body *b, enum http1_body_mode mode, uint64_t length, int out_chunked);

/* Move body bytes from SRC to DST, at most MAX payload bytes (0: no limit),
 * moving evbuffer chains rather than copying where possible. Returns 0 (see
 * b->done), or -1 when the framing is invalid (bad chunk syntax). For
 * HTTP1_BODY_EOF, call http1_body_eof() when the sender closes. */
int http1_body_move(struct http1_body *b, struct evbuffer *src, struct evbuffer *dst, size_t max);

/* The sender closed: finishes an EOF-delimited body (returns 0) or reports
 * a truncated one (-1). */
int http1_body_eof(struct http1_body *b, struct evbuffer *dst);

/* Rewrite the request head of LEN bytes at P (complete, scanned) into OUT
 * (of CAP >= 3 * LEN + 16 bytes) as albd forwards a request its desync
 * policy lets through although the classifier found it non-compliant:
 * spaces around the target dropped, those within it and control
 * characters percent-encoded, a
 * well-formed version other than 1.0 and 1.1 read as 1.1 (0.x as 1.0),
 * and left out: lines without a colon or with an empty name, fields whose
 * names are not tokens, a Content-Length repeated with the same value.
 * Returns the new length, or 0 for a head that could be read two ways
 * whatever reason the classifier reported first (Transfer-Encoding beside
 * Content-Length, a field named like either but not quite, or a line
 * without a colon that starts with such a name, RFC 9112 6.1; whitespace in
 * or after a field name, 5.1; HTTP/0.9's form followed by fields)
 * or whose request line lacks a method, target or version. Thread: any. */
size_t http1_normalize_request(const char *p, size_t len, char *out, size_t cap);

/* The reason phrase for a status albd generates itself. */
const char *http1_reason(int status);

/* An IMF-fixdate (RFC 9110 5.6.7), "Sun, 06 Nov 1994 08:49:37 GMT". */
#define HTTP1_DATE_LEN 29

/* Write EPOCH (seconds since 1970, UTC) as an IMF-fixdate into OUT, with a
 * NUL; years beyond 0..9999 are clamped. No lock (not gmtime_r()), no
 * allocation. Thread: any. */
void http1_format_date(int64_t epoch, char out[HTTP1_DATE_LEN + 1]);

/* The Date field of the responses albd makes itself (RFC 9110 6.6.1: an
 * origin with a clock sends one), formatted again only when the second
 * changes. One per thread (a worker's, the control thread's); starts
 * zeroed. */
struct http1_date {
	int64_t sec;                     /* what text says */
	char text[HTTP1_DATE_LEN + 1];   /* empty until the first call */
};

/* D's text for EPOCH, made again when EPOCH is another second. Valid until
 * the next call with D. Thread: D's owner. */
const char *http1_date(struct http1_date *d, int64_t epoch);

#endif
