/* desync.c - see desync.h
 *
 * A C reimplementation of http_desync_guardian's raw request analysis
 * (https://github.com/aws/http-desync-guardian, Apache-2.0, Copyright
 * Amazon.com, Inc. or its affiliates): request_analyzer.rs,
 * raw_request_parser.rs and http_token_utils.rs. The line splitting keeps
 * the guardian's window arithmetic (a window may end up "partial", one
 * past its end, when a delimiter was missing), so that malformed heads
 * split the same way.
 *
 * The guardian parses the whole head, then analyses it; a reason replaces
 * the current one only with a strictly higher tier. Here each header is
 * analysed as soon as its line is split, and a reason is noted in a slot
 * per (stage, tier), first one kept: the verdict is the highest tier, and
 * at that tier the slot of the earliest stage, which is the reason the
 * guardian's sequence would have kept.
 */
#include "desync.h"

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------ character classes */

#define C_NTCHAR 0x01 /* not an RFC 7230 tchar */
#define C_NVALUE 0x02 /* not VCHAR, obs-text, SP or HTAB (header values) */
#define C_BAD    0x04 /* NUL, CR, LF: never acceptable in a name or a value */
#define C_UAMB   0x08 /* a control character other than NUL CR LF SP (URIs) */
#define C_WS     0x10 /* SP, HTAB */
#define C_ALNUM  0x20 /* ASCII letter or digit */
#define C_SP     0x40 /* SP */
#define C_DIGIT  0x80 /* 0-9 */

static const uint8_t ctab[256] = {
	0x07, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x19, 0x07, 0x0b, 0x0b, 0x07, 0x0b, 0x0b, /* 00 */
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, /* 10 */
	0x51, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, /* 20 */
	0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* 30 */
	0x01, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, /* 40 */
	0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x01, 0x01, 0x01, 0x00, 0x00, /* 50 */
	0x00, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, /* 60 */
	0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x01, 0x00, 0x01, 0x00, 0x0b, /* 70 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* 80 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* 90 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* a0 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* b0 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* c0 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* d0 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* e0 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, /* f0 */
};

static inline unsigned char lower(unsigned char c)
{
	return (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* ------------------------------------------------ windows (RequestBuffer) */

/* [pos, end) on the head; pos == end + 1 marks a window whose delimiter
 * was missing ("partial"); pos >= end is "done" (nothing left). */
struct win {
	size_t pos, end;
};

static inline int done(struct win w)
{
	return w.pos >= w.end;
}

static inline int partial(struct win w)
{
	return w.pos > w.end;
}

static inline size_t wlen(struct win w)
{
	return w.pos < w.end ? w.end - w.pos : 0;
}

/* the next token up to DELIM (excluded); W moves past the delimiter */
static inline struct win next_token(const unsigned char *p, struct win *w, unsigned char delim)
{
	size_t cur = w->end;
	if (w->pos < w->end) {
		const unsigned char *d = memchr(p + w->pos, delim, w->end - w->pos);
		if (d)
			cur = (size_t)(d - p);
	} else {
		cur = w->pos;
	}
	struct win t = { w->pos, cur };
	w->pos = cur + 1;
	return t;
}

/* drops a CR before the (already dropped) LF: 1 if there was one */
static inline int trim_cr(const unsigned char *p, struct win *w)
{
	if (w->end > w->pos && p[w->end - 1] == '\r') {
		w->end--;
		return 1;
	}
	return 0;
}

/* The last SP-separated token (the version), skipping trailing non-tchars
 * before looking for the SP; W then ends before that SP. */
static struct win last_token_sp(const unsigned char *p, struct win *w)
{
	size_t cur = w->end > w->pos ? w->end - 1 : w->pos;
	int skip = 1;
	while (w->pos < cur && (p[cur] != ' ' || skip)) {
		skip &= (ctab[p[cur]] & C_NTCHAR) != 0;
		cur--;
	}
	struct win t;
	if (cur >= w->pos && cur < w->end) {
		t.pos = p[cur] == ' ' ? cur + 1 : cur;
		t.end = w->end;
		w->end = t.pos - 1; /* pos >= 1: the method and its SP come first */
	} else {
		t.pos = 1;
		t.end = 0;
	}
	return t;
}

/* ------------------------------------------------ token helpers */

static inline int tok_eq(const unsigned char *p, struct win w, const char *lit, size_t n)
{
	return wlen(w) == n && memcmp(p + w.pos, lit, n) == 0;
}

static int tok_eq_ci(const unsigned char *a, size_t n, const char *lit, size_t m)
{
	if (n != m)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != (unsigned char)lit[i])
			return 0;
	return 1;
}

/* bytewise (slice) order of A against LIT: <0, 0, >0 */
static int tok_cmp(const unsigned char *a, size_t n, const char *lit, size_t m)
{
	int c = n && m ? memcmp(a, lit, n < m ? n : m) : 0;
	if (c)
		return c;
	return n < m ? -1 : n > m;
}

static inline void ws_trim(const unsigned char *p, size_t *b, size_t *e)
{
	while (*b < *e && (ctab[p[*b]] & C_WS))
		(*b)++;
	while (*b < *e && (ctab[p[*e - 1]] & C_WS))
		(*e)--;
}

/* ------------------------------------------------ header names */

enum sim { SIM_IDENTICAL, SIM_SAME_LETTERS, SIM_DISTANT };

static inline size_t next_alnum(const unsigned char *h, size_t n, size_t i)
{
	while (i < n && !(ctab[h[i]] & C_ALNUM))
		i++;
	return i;
}

static inline size_t next_symbol(const unsigned char *h, size_t n, size_t i)
{
	while (i < n && h[i] <= ' ')
		i++;
	return i;
}

/* determine_similarity(): IMP is lower case letters and '-' */
static enum sim similarity(const char *imp, size_t m, const unsigned char *h, size_t n)
{
	if (n < m)
		return SIM_DISTANT;
	size_t i = next_alnum(h, n, 0);
	int identical = i == 0 && m == n;
	for (size_t k = 0; k < m; k++) {
		unsigned char c = (unsigned char)imp[k];
		if (i == n)
			return SIM_DISTANT;
		int delim = c == '-';
		size_t ni = i + 1;
		int same = c == lower(h[i]);
		if (!same && i + 1 < n &&
		    ((c == 's' && h[i] == 0xc5 && h[i + 1] == 0xbf) ||  /* U+017F long s */
		     (c == 'i' && h[i] == 0xc4 && h[i + 1] == 0xb1))) { /* U+0131 dotless i */
			same = 1;
			ni = i + 2;
		}
		if (!same) {
			if (!delim)
				break;
			identical = 0;
		}
		i = delim ? next_alnum(h, n, ni) : next_symbol(h, n, ni);
	}
	if (i == n)
		return identical ? SIM_IDENTICAL : SIM_SAME_LETTERS;
	return next_alnum(h, n, i) == n ? SIM_SAME_LETTERS : SIM_DISTANT;
}

#define TE_NAME "transfer-encoding"
#define CL_NAME "content-length"

enum desync_name desync_name_kind(const char *name, size_t len)
{
	const unsigned char *h = (const unsigned char *)name;
	switch (similarity(TE_NAME, sizeof TE_NAME - 1, h, len)) {
	case SIM_IDENTICAL:
		return DESYNC_NAME_TE;
	case SIM_SAME_LETTERS:
		return DESYNC_NAME_LIKE_TE;
	default:
		break;
	}
	switch (similarity(CL_NAME, sizeof CL_NAME - 1, h, len)) {
	case SIM_IDENTICAL:
		return DESYNC_NAME_CL;
	case SIM_SAME_LETTERS:
		return DESYNC_NAME_LIKE_CL;
	default:
		return DESYNC_NAME_OTHER;
	}
}

/* ------------------------------------------------ analysis state */

/* the guardian's order of checks; see the comment at the top */
enum stage {
	ST_PARSE,   /* line splitting */
	ST_HEADER,  /* each header's characters and name */
	ST_OLDVER,  /* TE (<= HTTP/1.0) or CL (< HTTP/1.0): replaces the next two */
	ST_TE,      /* Transfer-Encoding values */
	ST_CL,      /* Content-Length values */
	ST_BODY,    /* GET/HEAD with TE or CL, then both TE and CL */
	ST_METHOD,
	ST_VERSION,
	ST_URI,
	ST_COUNT
};

struct state {
	uint8_t slot[ST_COUNT][4]; /* first reason per stage and tier */
	unsigned te_count, cl_count;
	int te_chunked;            /* the last TE coding seen was chunked */
	int cl_have;
	uint64_t cl_value;         /* the first valid Content-Length */
};

static inline void note(struct state *s, enum stage st, enum desync_class c, enum desync_reason r)
{
	if (!s->slot[st][c])
		s->slot[st][c] = (uint8_t)r;
}

/* is_valid_te(): 0 unknown, 1 chunked, 2 another known coding */
static int te_coding(const unsigned char *p, size_t b, size_t e)
{
	ws_trim(p, &b, &e);
	const unsigned char *semi = e > b ? memchr(p + b, ';', e - b) : NULL;
	if (semi)
		e = (size_t)(semi - p);
	ws_trim(p, &b, &e);
	const unsigned char *t = p + b;
	size_t n = e - b;
	if (tok_eq_ci(t, n, "chunked", 7))
		return 1;
	if (tok_eq_ci(t, n, "compress", 8) || tok_eq_ci(t, n, "deflate", 7) || tok_eq_ci(t, n, "gzip", 4) ||
	    tok_eq_ci(t, n, "identity", 8))
		return 2;
	return 0;
}

static void transfer_encoding(struct state *s, const unsigned char *p, struct win v)
{
	size_t b = v.pos < v.end ? v.pos : 0, e = v.pos < v.end ? v.end : 0;
	s->te_count++;
	for (;;) { /* every comma-separated item, empty ones too */
		const unsigned char *comma = e > b ? memchr(p + b, ',', e - b) : NULL;
		size_t ie = comma ? (size_t)(comma - p) : e;
		int k = te_coding(p, b, ie);
		if (!k) {
			note(s, ST_TE, DESYNC_SEVERE, DESYNC_R_BAD_TRANSFER_ENCODING);
		} else {
			if (k == 1 && s->te_chunked)
				note(s, ST_TE, DESYNC_SEVERE, DESYNC_R_MULTIPLE_TRANSFER_ENCODING_CHUNKED);
			s->te_chunked = k == 1;
		}
		if (!comma)
			break;
		b = ie + 1;
	}
}

static void content_length(struct state *s, const unsigned char *p, struct win v)
{
	size_t b = v.pos < v.end ? v.pos : 0, e = v.pos < v.end ? v.end : 0;
	uint64_t n = 0;
	s->cl_count++;
	ws_trim(p, &b, &e);
	for (; b < e; b++) { /* parse_num(): an empty value is 0 */
		unsigned d = (unsigned)p[b] - '0';
		if (d > 9 || n > (UINT64_MAX - d) / 10) {
			note(s, ST_CL, DESYNC_SEVERE, DESYNC_R_BAD_CONTENT_LENGTH);
			return;
		}
		n = n * 10 + d;
	}
	if (!s->cl_have) {
		s->cl_have = 1;
		s->cl_value = n;
	} else if (n != s->cl_value) {
		note(s, ST_CL, DESYNC_SEVERE, DESYNC_R_MULTIPLE_CONTENT_LENGTH);
	} else {
		note(s, ST_CL, DESYNC_AMBIGUOUS, DESYNC_R_DUPLICATE_CONTENT_LENGTH);
	}
}

static inline unsigned scan_or(const unsigned char *p, struct win w)
{
	unsigned acc = 0;
	for (size_t i = w.pos; i < w.end; i++)
		acc |= ctab[p[i]];
	return acc;
}

/* SWAR: does the word hold a byte below N (N <= 128) / equal to 0x7f? */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline uint64_t has_below(uint64_t x, unsigned n)
{
	return (x - ONES * n) & ~x & HIGHS;
}

static inline uint64_t has_del(uint64_t x)
{
	uint64_t y = x ^ (ONES * 0x7f);
	return (y - ONES) & ~y & HIGHS;
}

/* scan_or() over a header value or a URI, eight bytes at a time while no
 * byte is below LOW (0x20 for values, 0x21 for URIs) or DEL: those words
 * are all VCHAR or obs-text, whose flags matter to neither */
static inline unsigned scan_text(const unsigned char *p, struct win w, unsigned low)
{
	unsigned acc = 0;
	size_t i = w.pos;
	for (; i + 8 <= w.end; i += 8) {
		uint64_t x;
		memcpy(&x, p + i, 8);
		if (has_below(x, low) | has_del(x))
			for (size_t k = 0; k < 8; k++)
				acc |= ctab[p[i + k]];
	}
	for (; i < w.end; i++)
		acc |= ctab[p[i]];
	return acc;
}

/* One header as the guardian's analysis sees it; NF: scan_or() of NAME. */
static void header(struct state *s, const unsigned char *p, struct win name, unsigned nf, struct win value)
{
	unsigned vf = scan_text(p, value, 0x20);
	int bad = ((nf | vf) & C_BAD) != 0;
	if (bad)
		note(s, ST_HEADER, DESYNC_SEVERE, DESYNC_R_BAD_HEADER);
	else if ((nf & C_NTCHAR) || (vf & C_NVALUE))
		note(s, ST_HEADER, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_HEADER);

	const unsigned char *h = p + name.pos;
	size_t n = wlen(name);
	enum sim te = SIM_DISTANT, cl = SIM_DISTANT;
	if (n >= sizeof CL_NAME - 1) { /* shorter names are never alike */
		te = similarity(TE_NAME, sizeof TE_NAME - 1, h, n);
		if (te == SIM_DISTANT)
			cl = similarity(CL_NAME, sizeof CL_NAME - 1, h, n);
	}
	int essential = te == SIM_IDENTICAL || cl == SIM_IDENTICAL;

	size_t b = name.pos, e = name.pos + n;
	ws_trim(p, &b, &e);
	if (b == e || p[b] == ':') {
		note(s, ST_HEADER, DESYNC_AMBIGUOUS, DESYNC_R_EMPTY_HEADER);
	} else if (!essential && !bad) {
		if (te == SIM_SAME_LETTERS) {
			transfer_encoding(s, p, value);
			note(s, ST_HEADER, DESYNC_AMBIGUOUS, DESYNC_R_SUSPICIOUS_HEADER);
		} else if (cl == SIM_SAME_LETTERS) {
			content_length(s, p, value);
			note(s, ST_HEADER, DESYNC_AMBIGUOUS, DESYNC_R_SUSPICIOUS_HEADER);
		}
	} else if (te == SIM_IDENTICAL) {
		transfer_encoding(s, p, value);
	} else if (cl == SIM_IDENTICAL) {
		content_length(s, p, value);
	}
}

/* ------------------------------------------------ classification */

static void check_version(struct state *s, const unsigned char *p, size_t vb, size_t ve)
{
	size_t b = vb, e = ve;
	ws_trim(p, &b, &e);
	const unsigned char *t = p + b;
	size_t n = e - b;
	if (n == 8 && memcmp(t, "HTTP/0.9", 8) == 0) {
		note(s, ST_VERSION, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_VERSION);
		return;
	}
	if (n != 8 || memcmp(t, "HTTP/1.", 7) != 0 || !(ctab[t[7]] & C_DIGIT))
		note(s, ST_VERSION, DESYNC_SEVERE, DESYNC_R_BAD_VERSION);
	else if (n != ve - vb || t[7] > '1')
		note(s, ST_VERSION, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_VERSION);
}

void desync_classify(const char *cp, size_t len, struct desync_verdict *v)
{
	const unsigned char *p = (const unsigned char *)cp;
	struct state s;
	memset(&s, 0, sizeof s);
	v->cls = DESYNC_COMPLIANT;
	v->reason = DESYNC_R_NONE;

	size_t start = 0;
	while (len - start >= 2 && p[start] == '\r' && p[start + 1] == '\n')
		start += 2;
	struct win buf = { start, len };

	/* request-line = method SP request-target SP HTTP-version CRLF */
	struct win rl = next_token(p, &buf, '\n');
	if (!trim_cr(p, &rl))
		note(&s, ST_PARSE, DESYNC_ACCEPTABLE, DESYNC_R_NON_CRLF_LINE_TERMINATION);
	struct win method = next_token(p, &rl, ' ');
	struct win version = last_token_sp(p, &rl);
	struct win uri = rl;
	if ((partial(uri) && wlen(version) >= 7 && memcmp(p + version.pos, "HTTP/1.", 7) == 0) ||
	    (done(version) && done(uri))) {
		note(&s, ST_PARSE, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_URI);
	} else if (partial(uri)) { /* no version: HTTP/0.9 */
		uri = version;
		version.pos = version.end = 0;
	}

	/* The guardian does not analyse a version at or above "HTTP/2" (bytewise,
	 * so "http/1.1" too); albd speaks only HTTP/1.x here, so such a version
	 * is analysed, and check_version() calls it BadVersion. */

	/* header-field = field-name ":" OWS field-value OWS, obs-fold for Content-Type */
	struct win fold_name = { 0, 0 };
	int have_fold_name = 0, media_type = 0;
	for (;;) {
		struct win line = next_token(p, &buf, '\n');
		if (!trim_cr(p, &line))
			note(&s, ST_PARSE, DESYNC_ACCEPTABLE, DESYNC_R_NON_CRLF_LINE_TERMINATION);
		if (done(line))
			break;
		int multi = (ctab[p[line.pos]] & C_WS) != 0;
		/* next_token(':'), with the name's flags: most names are all
		 * tchars up to their colon */
		struct win first;
		unsigned nf = 0;
		size_t i = line.pos;
		while (i < line.end && !(ctab[p[i]] & C_NTCHAR))
			i++;
		if (i < line.end && p[i] == ':') {
			first.pos = line.pos;
			first.end = i;
			line.pos = i + 1;
		} else {
			first = next_token(p, &line, ':');
			nf = scan_or(p, first);
		}
		if (!multi && !partial(line)) {
			media_type = tok_eq_ci(p + first.pos, wlen(first), "content-type", 12);
			fold_name = first;
			have_fold_name = 1;
		}
		if (multi && have_fold_name && (media_type || partial(line)))
			header(&s, p, fold_name, scan_or(p, fold_name), first);
		else
			header(&s, p, first, nf, line);
		if (!multi && partial(line))
			note(&s, ST_PARSE, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_HEADER_COLON);
		if (multi && !media_type)
			note(&s, ST_PARSE, DESYNC_AMBIGUOUS, DESYNC_R_MULTILINE_HEADER);
		if (partial(buf)) {
			note(&s, ST_PARSE, DESYNC_AMBIGUOUS, DESYNC_R_PARTIAL_HEADER_LINE);
			break;
		}
		if (done(buf)) {
			note(&s, ST_PARSE, DESYNC_AMBIGUOUS, DESYNC_R_MISSING_LAST_EMPTY_LINE);
			break;
		}
	}

	/* the version as analysed: empty (after trimming) is HTTP/0.9 */
	static const char http09[] = "HTTP/0.9";
	const unsigned char *ver = p + version.pos;
	size_t vlen = wlen(version), vb = version.pos, ve = version.pos + vlen;
	ws_trim(p, &vb, &ve);
	int is09 = vb == ve;
	if (is09) {
		ver = (const unsigned char *)http09;
		vlen = sizeof http09 - 1;
	}

	int skip_te_cl = 0;
	if (s.te_count || s.cl_count) {
		if (s.te_count && tok_cmp(ver, vlen, "HTTP/1.0", 8) <= 0) {
			note(&s, ST_OLDVER, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_TRANSFER_ENCODING);
			skip_te_cl = 1;
		} else if (s.cl_count && tok_cmp(ver, vlen, "HTTP/1.0", 8) < 0) {
			note(&s, ST_OLDVER, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_CONTENT_LENGTH);
			skip_te_cl = 1;
		} else {
			if (tok_eq(p, method, "GET", 3) || tok_eq(p, method, "HEAD", 4)) {
				if (s.te_count)
					note(&s, ST_BODY, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_TRANSFER_ENCODING);
				if (s.cl_have && s.cl_value == 0)
					note(&s, ST_BODY, DESYNC_ACCEPTABLE, DESYNC_R_GET_HEAD_ZERO_CONTENT_LENGTH);
				else if (s.cl_have)
					note(&s, ST_BODY, DESYNC_AMBIGUOUS, DESYNC_R_UNDEFINED_CONTENT_LENGTH);
			}
			if (s.cl_have && s.te_count)
				note(&s, ST_BODY, DESYNC_AMBIGUOUS, DESYNC_R_BOTH_TE_PRESENT);
		}
	}

	if (scan_or(p, method) & C_NTCHAR)
		note(&s, ST_METHOD, DESYNC_SEVERE, DESYNC_R_BAD_METHOD);

	if (is09)
		note(&s, ST_VERSION, DESYNC_ACCEPTABLE, DESYNC_R_NON_COMPLIANT_VERSION);
	else
		check_version(&s, p, version.pos, version.pos + vlen);

	unsigned uf = scan_text(p, uri, 0x21);
	if (uf & C_BAD)
		note(&s, ST_URI, DESYNC_SEVERE, DESYNC_R_BAD_URI);
	if (uf & C_UAMB)
		note(&s, ST_URI, DESYNC_AMBIGUOUS, DESYNC_R_AMBIGUOUS_URI);
	if (uf & C_SP)
		note(&s, ST_URI, DESYNC_ACCEPTABLE, DESYNC_R_SPACE_IN_URI);

	for (int c = DESYNC_SEVERE; c > DESYNC_COMPLIANT; c--) {
		for (int st = 0; st < ST_COUNT; st++) {
			if (skip_te_cl && (st == ST_TE || st == ST_CL))
				continue;
			if (s.slot[st][c]) {
				v->cls = (enum desync_class)c;
				v->reason = (enum desync_reason)s.slot[st][c];
				return;
			}
		}
	}
}

/* ------------------------------------------------ names */

const char *desync_class_name(enum desync_class c)
{
	static const char *const names[] = { "Compliant", "Acceptable", "Ambiguous", "Severe" };
	return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "-";
}

const char *desync_reason_name(enum desync_reason r)
{
	static const char *const names[DESYNC_R_COUNT] = {
		[DESYNC_R_NONE] = "-",
		[DESYNC_R_AMBIGUOUS_URI] = "AmbiguousUri",
		[DESYNC_R_BAD_CONTENT_LENGTH] = "BadContentLength",
		[DESYNC_R_BAD_HEADER] = "BadHeader",
		[DESYNC_R_BAD_TRANSFER_ENCODING] = "BadTransferEncoding",
		[DESYNC_R_BAD_URI] = "BadUri",
		[DESYNC_R_BAD_METHOD] = "BadMethod",
		[DESYNC_R_BAD_VERSION] = "BadVersion",
		[DESYNC_R_BOTH_TE_PRESENT] = "BothTePresent",
		[DESYNC_R_DUPLICATE_CONTENT_LENGTH] = "DuplicateContentLength",
		[DESYNC_R_EMPTY_HEADER] = "EmptyHeader",
		[DESYNC_R_GET_HEAD_ZERO_CONTENT_LENGTH] = "GetHeadZeroContentLength",
		[DESYNC_R_MULTIPLE_CONTENT_LENGTH] = "MultipleContentLength",
		[DESYNC_R_MULTIPLE_TRANSFER_ENCODING_CHUNKED] = "MultipleTransferEncodingChunked",
		[DESYNC_R_NON_COMPLIANT_HEADER] = "NonCompliantHeader",
		[DESYNC_R_NON_COMPLIANT_VERSION] = "NonCompliantVersion",
		[DESYNC_R_SPACE_IN_URI] = "SpaceInUri",
		[DESYNC_R_SUSPICIOUS_HEADER] = "SuspiciousHeader",
		[DESYNC_R_UNDEFINED_CONTENT_LENGTH] = "UndefinedContentLength",
		[DESYNC_R_UNDEFINED_TRANSFER_ENCODING] = "UndefinedTransferEncoding",
		[DESYNC_R_MISSING_URI] = "MissingUri",
		[DESYNC_R_MULTILINE_HEADER] = "MultilineHeader",
		[DESYNC_R_NON_CRLF_LINE_TERMINATION] = "NonCrLfLineTermination",
		[DESYNC_R_MISSING_HEADER_COLON] = "MissingHeaderColon",
		[DESYNC_R_PARTIAL_HEADER_LINE] = "PartialHeaderLine",
		[DESYNC_R_MISSING_LAST_EMPTY_LINE] = "MissingLastEmptyLine",
	};
	return (unsigned)r < DESYNC_R_COUNT && names[r] ? names[r] : "-";
}
