/* sigv4.c - AWS Signature Version 4 verification. See sigv4.h. */
#include "control/sigv4.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* A growing string; on allocation failure it turns sticky-failed. */
struct sbuf {
	char *p;
	size_t len, cap;
	int fail;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->fail)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->fail = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_ch(struct sbuf *b, char c)
{
	sb_add(b, &c, 1);
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.' || c == '~';
}

/* RFC 3986 encoding, uppercase hex, of N bytes at S. */
static void sb_uri_encode(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c)) {
			sb_ch(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			sb_add(b, e, 3);
		}
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode N bytes at S (a '+' stays a '+') then re-encode them. A
 * malformed escape is taken literally (and so encoded as %25…). */
static void sb_reencode(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			c = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
			i += 2;
		}
		sb_uri_encode(b, &c, 1);
	}
}

/* The canonical URI: PATH with empty and "." segments dropped and ".."
 * ones resolved (RFC 3986 5.2.4, AWS's normalization for all services but
 * S3), each segment URI-encoded (the path is still encoded on the wire, so
 * this is AWS's "encoded twice"). */
static void canonical_uri(struct sbuf *b, const char *path)
{
	if (!path || !*path) {
		sb_ch(b, '/');
		return;
	}
	size_t n = strlen(path);
	/* segment starts and lengths, as a stack */
	size_t cnt = 0, cap = n / 2 + 2;
	size_t *st = malloc(cap * sizeof *st), *ln = malloc(cap * sizeof *ln);
	if (!st || !ln) {
		free(st);
		free(ln);
		b->fail = 1;
		return;
	}
	int trailing = 0;
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && path[j] != '/')
			j++;
		size_t l = j - i;
		int last = j >= n;
		if (l == 0 || (l == 1 && path[i] == '.')) {
			trailing = 1;
		} else if (l == 2 && path[i] == '.' && path[i + 1] == '.') {
			if (cnt)
				cnt--;
			trailing = 1;
		} else {
			st[cnt] = i;
			ln[cnt] = l;
			cnt++;
			trailing = 0;
		}
		if (last)
			break;
		i = j + 1;
	}
	if (!cnt) {
		sb_ch(b, '/');
	} else {
		for (size_t k = 0; k < cnt; k++) {
			sb_ch(b, '/');
			sb_uri_encode(b, path + st[k], ln[k]);
		}
		if (trailing)
			sb_ch(b, '/');
	}
	free(st);
	free(ln);
}

struct qparam {
	char *k, *v;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

static char *reencoded(const char *s, size_t n)
{
	struct sbuf b = {0};
	sb_reencode(&b, s, n);
	sb_add(&b, "", 0);
	if (b.fail) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* The canonical query: each name and value decoded and re-encoded, sorted
 * by name then value, "name=value" joined by '&'; empty parts dropped.
 * (botocore signs a query already in its URL as it stands: the same thing
 * for what SDKs send, but a hand-made "%7e" or "%7E" signs differently.) */
static void canonical_query(struct sbuf *b, const char *q)
{
	if (!q || !*q)
		return;
	size_t n = strlen(q), cnt = 0;
	struct qparam *p = calloc(n / 2 + 2, sizeof *p);
	if (!p) {
		b->fail = 1;
		return;
	}
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && q[j] != '&')
			j++;
		if (j > i) {
			size_t e = i;
			while (e < j && q[e] != '=')
				e++;
			p[cnt].k = reencoded(q + i, e - i);
			p[cnt].v = e < j ? reencoded(q + e + 1, j - e - 1) : reencoded("", 0);
			cnt++;
			if (!p[cnt - 1].k || !p[cnt - 1].v) {
				b->fail = 1;
				goto out;
			}
		}
		i = j + 1;
	}
	qsort(p, cnt, sizeof *p, qparam_cmp);
	for (size_t k = 0; k < cnt; k++) {
		if (k)
			sb_ch(b, '&');
		sb_str(b, p[k].k);
		sb_ch(b, '=');
		sb_str(b, p[k].v);
	}
out:
	for (size_t k = 0; k < cnt; k++) {
		free(p[k].k);
		free(p[k].v);
	}
	free(p);
}

/* VALUE trimmed, its runs of spaces (and tabs) collapsed to one space. */
static void sb_header_value(struct sbuf *b, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	int space = 0;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			sb_ch(b, ' ');
		space = 0;
		sb_ch(b, *v);
	}
}

static int name_eq(const char *lower, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(lower, name, n) == 0;
}

/* "name:v1,v2\n" for each name of SIGNED (';'-separated), the values of
 * every header of that name in the order received. */
static void canonical_headers(struct sbuf *b, const struct sigv4_request *req, const char *signed_headers)
{
	const char *s = signed_headers;
	while (*s) {
		const char *e = strchr(s, ';');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		sb_add(b, s, n);
		sb_ch(b, ':');
		int first = 1;
		for (size_t i = 0; i < req->nheaders; i++) {
			if (!name_eq(s, n, req->headers[i].name))
				continue;
			if (!first)
				sb_ch(b, ',');
			first = 0;
			sb_header_value(b, req->headers[i].value ? req->headers[i].value : "");
		}
		sb_ch(b, '\n');
		s += n;
		if (*s == ';')
			s++;
	}
}

char *sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers,
			      const char *payload_hash)
{
	struct sbuf b = {0};
	sb_str(&b, req->method ? req->method : "");
	sb_ch(&b, '\n');
	canonical_uri(&b, req->path);
	sb_ch(&b, '\n');
	canonical_query(&b, req->query);
	sb_ch(&b, '\n');
	canonical_headers(&b, req, signed_headers);
	sb_ch(&b, '\n');
	sb_str(&b, signed_headers);
	sb_ch(&b, '\n');
	sb_str(&b, payload_hash);
	if (b.fail) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char d[32];
	unsigned int dl = 0;
	if (EVP_Digest(p ? p : "", n, d, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
		return -1;
	hex(d, 32, out);
	return 0;
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	size_t ol = 0;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, (const unsigned char *)msg, strlen(msg), out,
		       32, &ol) ||
	    ol != 32)
		return -1;
	return 0;
}

/* The value of the only header NAME, NULL when absent; *DUP set when it
 * occurs more than once. */
static const char *header1(const struct sigv4_request *req, const char *name, int *dup)
{
	const char *v = NULL;
	*dup = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0) {
			if (v)
				*dup = 1;
			v = req->headers[i].value ? req->headers[i].value : "";
		}
	}
	return v;
}

/* Copy N bytes at S into OUT (SIZE bytes); -1 when too long or empty. */
static int copy_part(char *out, size_t size, const char *s, size_t n)
{
	if (!n || n >= size)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Days from 1970-01-01 to Y-M-D (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int valid_ymdhms(int y, int mo, int d, int h, int mi, int s)
{
	return y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60;
}

/* "20150830T123600Z" -> seconds; -1 when malformed. */
static int64_t parse_amz_date(const char *v)
{
	if (strlen(v) != 16 || v[8] != 'T' || v[15] != 'Z' || !all_digits(v, 8) || !all_digits(v + 9, 6))
		return -1;
	int y = num(v, 4), mo = num(v + 4, 2), d = num(v + 6, 2);
	int h = num(v + 9, 2), mi = num(v + 11, 2), s = num(v + 13, 2);
	if (!valid_ymdhms(y, mo, d, h, mi, s))
		return -1;
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* An RFC 7231 IMF-fixdate "Sun, 30 Aug 2015 12:36:00 GMT" -> seconds and
 * its "20150830T123600Z" form in ISO; -1 when malformed. */
static int64_t parse_http_date(const char *v, char iso[17])
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	if (strlen(v) != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
	    v[19] != ':' || v[22] != ':' || v[25] != ' ' || strcmp(v + 26, "GMT") != 0)
		return -1;
	if (!all_digits(v + 5, 2) || !all_digits(v + 12, 4) || !all_digits(v + 17, 2) || !all_digits(v + 20, 2) ||
	    !all_digits(v + 23, 2))
		return -1;
	int mo = 0;
	for (int i = 0; i < 12; i++)
		if (strncmp(v + 8, mon[i], 3) == 0)
			mo = i + 1;
	int y = num(v + 12, 4), d = num(v + 5, 2), h = num(v + 17, 2), mi = num(v + 20, 2), s = num(v + 23, 2);
	if (!mo || !valid_ymdhms(y, mo, d, h, mi, s))
		return -1;
	iso[0] = '\0';
	memcpy(iso, v + 12, 4);
	iso[4] = (char)('0' + mo / 10);
	iso[5] = (char)('0' + mo % 10);
	memcpy(iso + 6, v + 5, 2);
	iso[8] = 'T';
	memcpy(iso + 9, v + 17, 2);
	memcpy(iso + 11, v + 20, 2);
	memcpy(iso + 13, v + 23, 2);
	iso[15] = 'Z';
	iso[16] = '\0';
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* Whether the ';'-list LIST holds NAME. */
static int list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = list; *s;) {
		const char *e = strchr(s, ';');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l == n && memcmp(s, name, n) == 0)
			return 1;
		s += l;
		if (*s)
			s++;
	}
	return 0;
}

/* SignedHeaders: non-empty lowercase token names, strictly ascending. */
static int valid_signed_headers(const char *s)
{
	const char *prev = NULL;
	size_t prevlen = 0;
	if (!*s)
		return 0;
	while (*s) {
		const char *e = strchr(s, ';');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (!l)
			return 0;
		for (size_t i = 0; i < l; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') || c == ',' || c == ':')
				return 0;
		}
		if (prev) {
			size_t m = prevlen < l ? prevlen : l;
			int c = memcmp(prev, s, m);
			if (c > 0 || (c == 0 && prevlen >= l))
				return 0;
		}
		prev = s;
		prevlen = l;
		s += l;
		if (*s == ';' && !s[1])
			return 0;
		if (*s)
			s++;
	}
	return 1;
}

struct auth {
	char signed_headers[1024];
	char signature[65];
};

/* Parse "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=a;b, Signature=hex" (components in any order, ", " or ","
 * between them) into A and ID; -1 when malformed or incomplete. */
static int parse_auth(const char *v, struct auth *a, struct sigv4_identity *id)
{
	static const char scheme[] = "AWS4-HMAC-SHA256";
	int have_cred = 0, have_sh = 0, have_sig = 0;
	while (*v == ' ')
		v++;
	if (strncmp(v, scheme, sizeof scheme - 1) != 0 || v[sizeof scheme - 1] != ' ')
		return -1;
	v += sizeof scheme;
	while (*v) {
		while (*v == ' ' || *v == ',')
			v++;
		if (!*v)
			break;
		const char *e = strchr(v, ',');
		size_t n = e ? (size_t)(e - v) : strlen(v);
		while (n && v[n - 1] == ' ')
			n--;
		const char *eq = memchr(v, '=', n);
		if (!eq)
			return -1;
		size_t kl = (size_t)(eq - v), vl = n - kl - 1;
		const char *val = eq + 1;
		if (kl == 10 && memcmp(v, "Credential", 10) == 0 && !have_cred) {
			const char *p[5];
			size_t l[5];
			size_t k = 0, i = 0, start = 0;
			for (i = 0; i <= vl; i++) {
				if (i == vl || val[i] == '/') {
					if (k == 5)
						return -1;
					p[k] = val + start;
					l[k] = i - start;
					k++;
					start = i + 1;
				}
			}
			if (k != 5 || copy_part(id->access_key_id, sizeof id->access_key_id, p[0], l[0]) ||
			    copy_part(id->date, sizeof id->date, p[1], l[1]) ||
			    copy_part(id->region, sizeof id->region, p[2], l[2]) ||
			    copy_part(id->service, sizeof id->service, p[3], l[3]) || l[1] != 8 ||
			    !all_digits(p[1], 8) || l[4] != 12 || memcmp(p[4], "aws4_request", 12) != 0)
				return -1;
			have_cred = 1;
		} else if (kl == 13 && memcmp(v, "SignedHeaders", 13) == 0 && !have_sh) {
			if (copy_part(a->signed_headers, sizeof a->signed_headers, val, vl) ||
			    !valid_signed_headers(a->signed_headers))
				return -1;
			have_sh = 1;
		} else if (kl == 9 && memcmp(v, "Signature", 9) == 0 && !have_sig) {
			if (vl != 64 || copy_part(a->signature, sizeof a->signature, val, vl))
				return -1;
			for (size_t i = 0; i < 64; i++)
				if (hexval((unsigned char)val[i]) < 0)
					return -1;
			have_sig = 1;
		} else {
			return -1;
		}
		v += e ? (size_t)(e - v) : strlen(v);
	}
	return have_cred && have_sh && have_sig ? 0 : -1;
}

enum sigv4_result sigv4_verify(const struct sigv4_request *req, time_t now, sigv4_lookup_fn lookup, void *arg,
			       struct sigv4_identity *idp)
{
	struct sigv4_identity scratch;
	struct sigv4_identity *id = idp ? idp : &scratch;
	struct auth a;
	int dup;
	memset(id, 0, sizeof *id);

	const char *authz = header1(req, "authorization", &dup);
	if (!authz || dup || parse_auth(authz, &a, id))
		return SIGV4_INCOMPLETE_SIGNATURE;

	/* the date: X-Amz-Date, else Date; it has to be signed, and so has host */
	char iso[17];
	int64_t t;
	const char *d = header1(req, "x-amz-date", &dup);
	if (d) {
		if (dup || (t = parse_amz_date(d)) < 0 || !list_has(a.signed_headers, "x-amz-date"))
			return SIGV4_INCOMPLETE_SIGNATURE;
		memcpy(iso, d, 17);
	} else {
		d = header1(req, "date", &dup);
		if (!d || dup || (t = parse_http_date(d, iso)) < 0 || !list_has(a.signed_headers, "date"))
			return SIGV4_INCOMPLETE_SIGNATURE;
	}
	if (!list_has(a.signed_headers, "host"))
		return SIGV4_INCOMPLETE_SIGNATURE;

	const char *secret = lookup ? lookup(id->access_key_id, arg) : NULL;
	if (!secret)
		return SIGV4_INVALID_CLIENT_TOKEN_ID;

	if ((int64_t)now - t > SIGV4_MAX_SKEW || t - (int64_t)now > SIGV4_MAX_SKEW)
		return SIGV4_REQUEST_TIME_TOO_SKEWED;
	if (memcmp(iso, id->date, 8) != 0)
		return SIGV4_SIGNATURE_DOES_NOT_MATCH;

	/* every signed header has to be there */
	for (const char *s = a.signed_headers; *s;) {
		const char *e = strchr(s, ';');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		int found = 0;
		for (size_t i = 0; i < req->nheaders && !found; i++)
			found = req->headers[i].name && name_eq(s, l, req->headers[i].name);
		if (!found)
			return SIGV4_SIGNATURE_DOES_NOT_MATCH;
		s += l;
		if (*s)
			s++;
	}

	char body_hash[65];
	if (sha256_hex(req->body, req->body_len, body_hash))
		return SIGV4_INTERNAL;
	const char *ch = header1(req, "x-amz-content-sha256", &dup);
	if (ch) {
		/* the header is what was signed; the body has to match it */
		if (dup || strlen(ch) != 64 || CRYPTO_memcmp(ch, body_hash, 64) != 0)
			return SIGV4_SIGNATURE_DOES_NOT_MATCH;
	}

	char *creq = sigv4_canonical_request(req, a.signed_headers, body_hash);
	if (!creq)
		return SIGV4_INTERNAL;
	char creq_hash[65];
	int rc = sha256_hex(creq, strlen(creq), creq_hash);
	free(creq);
	if (rc)
		return SIGV4_INTERNAL;

	struct sbuf sts = {0};
	sb_str(&sts, "AWS4-HMAC-SHA256\n");
	sb_str(&sts, iso);
	sb_ch(&sts, '\n');
	sb_str(&sts, id->date);
	sb_ch(&sts, '/');
	sb_str(&sts, id->region);
	sb_ch(&sts, '/');
	sb_str(&sts, id->service);
	sb_str(&sts, "/aws4_request\n");
	sb_str(&sts, creq_hash);

	struct sbuf key = {0};
	sb_str(&key, "AWS4");
	sb_str(&key, secret);
	unsigned char k[32], sig[32];
	char sighex[65];
	int bad = sts.fail || key.fail || hmac(key.p, key.len, id->date, k) || hmac(k, 32, id->region, k) ||
		  hmac(k, 32, id->service, k) || hmac(k, 32, "aws4_request", k) || hmac(k, 32, sts.p, sig);
	if (key.p)
		OPENSSL_cleanse(key.p, key.cap);
	OPENSSL_cleanse(k, sizeof k);
	free(key.p);
	free(sts.p);
	if (bad)
		return SIGV4_INTERNAL;
	hex(sig, 32, sighex);
	/* the Signature may be in either case: compare lowercased */
	for (int i = 0; i < 64; i++)
		if (a.signature[i] >= 'A' && a.signature[i] <= 'F')
			a.signature[i] = (char)(a.signature[i] - 'A' + 'a');
	return CRYPTO_memcmp(sighex, a.signature, 64) == 0 ? SIGV4_OK : SIGV4_SIGNATURE_DOES_NOT_MATCH;
}

const char *sigv4_error_code(enum sigv4_result r)
{
	switch (r) {
	case SIGV4_OK:
		return "";
	case SIGV4_INCOMPLETE_SIGNATURE:
		return "IncompleteSignature";
	case SIGV4_INVALID_CLIENT_TOKEN_ID:
		return "InvalidClientTokenId";
	case SIGV4_SIGNATURE_DOES_NOT_MATCH:
		return "SignatureDoesNotMatch";
	case SIGV4_REQUEST_TIME_TOO_SKEWED:
		return "RequestTimeTooSkewed";
	case SIGV4_INTERNAL:
		break;
	}
	return "InternalFailure";
}
