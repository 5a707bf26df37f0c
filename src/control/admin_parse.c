/* admin_parse.c - the admin listener's pure parsing. See admin_parse.h. */
#include "control/admin_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/uri.h"

char *admin_decode(const char *s, size_t len, int plus)
{
	char *d = malloc(len + 1), *o = d;

	if (!d)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto bad;
			hi = uri_hexval((unsigned char)s[i + 1]);
			lo = uri_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			ch = hi * 16 + lo;
			i += 2;
		} else if (ch == '+' && plus) {
			ch = ' ';
		}
		if (ch == 0)
			goto bad;
		*o++ = (char)ch;
	}
	*o = '\0';
	return d;
bad:
	free(d);
	return NULL;
}

int admin_parse_query(const char *q, size_t len, struct admin_kv **out, size_t *np)
{
	size_t n = 0;

	*out = NULL;
	*np = 0;
	for (size_t i = 0; i < len; i++)
		n += q[i] == '&';
	n++;
	if (n > ADMIN_MAX_PARAMS)
		return -1;
	if (!(*out = calloc(n, sizeof **out)))
		return -1;
	for (const char *p = q, *end = q + len; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));

		if (e > p) {
			struct admin_kv *v = &(*out)[(*np)++];

			v->name = admin_decode(p, (size_t)((eq ? eq : e) - p), 1);
			v->value = eq ? admin_decode(eq + 1, (size_t)(e - eq - 1), 1) : strdup("");
			if (!v->name || !v->value)
				return -1;
		}
		p = amp ? amp + 1 : end;
	}
	return 0;
}

void admin_kv_free(struct admin_kv *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

size_t admin_route_match(const char *route, int prefix, const char *path)
{
	size_t n = strlen(route);

	if (strcmp(route, path) == 0)
		return (size_t)-1;
	if (prefix && n > 0 && route[n - 1] == '/' && strncmp(route, path, n) == 0)
		return n;
	return 0;
}

/* ------------------------------------------------------------ Accept */

/* RFC 9110 §5.6.2 tchar */
static int is_tchar(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *skip_token(const char *p)
{
	while (*p && is_tchar((unsigned char)*p))
		p++;
	return p;
}

/* Past the quoted-string at P (at its '"'), NULL when it does not end. */
static const char *skip_quoted(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* RFC 9110 §12.4.2 qvalue, LEN bytes at P, in thousandths; -1 malformed. */
static int qvalue(const char *p, size_t len)
{
	int q = 0, scale = 100;

	if (len == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	if (len > 1 && (p[1] != '.' || len > 5))
		return -1;
	for (size_t i = 2; i < len; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9' || (p[0] == '1' && p[i] != '0'))
			return -1;
		q += (p[i] - '0') * scale;
	}
	return (p[0] - '0') * 1000 + q;
}

struct media_range {
	const char *type, *sub;     /* "*" for a wildcard */
	size_t tlen, slen;
	const char *ver;            /* its "version" parameter (quotes kept), NULL: none */
	size_t vlen;
	int q;                      /* thousandths */
};

/* Parse the element of an Accept value at *PP into R and move *PP past
 * its comma. Returns 1, 0 for an empty or malformed element. */
static int parse_range(const char **pp, struct media_range *r)
{
	const char *p = skip_ows(*pp), *e;
	int ok = 1;

	*r = (struct media_range){ .q = 1000 };
	r->type = p;
	p = skip_token(p);
	r->tlen = (size_t)(p - r->type);
	if (!r->tlen || *p != '/')
		ok = 0;
	else {
		r->sub = ++p;
		p = skip_token(p);
		r->slen = (size_t)(p - r->sub);
		if (!r->slen || (r->tlen == 1 && *r->type == '*' && !(r->slen == 1 && *r->sub == '*')))
			ok = 0;   /* "* /x" is no media range */
	}
	while (ok) {
		p = skip_ows(p);
		if (!*p || *p == ',')
			break;
		if (*p != ';') {
			ok = 0;
			break;
		}
		p = skip_ows(p + 1);
		if (!*p || *p == ',' || *p == ';')
			continue;   /* an empty parameter, as some clients send */
		const char *name = p;
		p = skip_token(p);
		size_t nlen = (size_t)(p - name);
		if (!nlen || *p != '=') {
			ok = 0;
			break;
		}
		const char *val = ++p;
		if (*p == '"')
			p = skip_quoted(p);
		else
			p = skip_token(p);
		if (!p || p == val) {
			ok = 0;
			p = val;
			break;
		}
		size_t vlen = (size_t)(p - val);
		if (nlen == 1 && (*name == 'q' || *name == 'Q')) {
			if ((r->q = qvalue(val, vlen)) < 0)
				ok = 0;
		} else if (nlen == 7 && strncasecmp(name, "version", 7) == 0) {
			r->ver = val;
			r->vlen = vlen;
		}
	}
	/* on to the next element (a comma in a quoted string is not one) */
	for (e = p; *e && *e != ',';)
		e = *e == '"' && skip_quoted(e) ? skip_quoted(e) : e + 1;
	*pp = *e ? e + 1 : e;
	return ok;
}

/* How specifically R names OFFER: 4 with its version, 3 type/subtype,
 * 2 type/wildcard, 1 the wildcard of all, 0 not at all. */
static int range_match(const struct media_range *r, const struct admin_offer *o)
{
	const char *slash = strchr(o->type, '/');
	size_t tlen = (size_t)(slash - o->type);
	int any_sub = r->slen == 1 && *r->sub == '*';

	if (r->tlen == 1 && *r->type == '*')
		return r->ver ? 0 : 1;
	if (r->tlen != tlen || strncasecmp(r->type, o->type, tlen) != 0)
		return 0;
	if (any_sub)
		return r->ver ? 0 : 2;
	if (r->slen != strlen(slash + 1) || strncasecmp(r->sub, slash + 1, r->slen) != 0)
		return 0;
	if (!r->ver)
		return 3;
	const char *v = r->ver;
	size_t vlen = r->vlen;
	if (*v == '"') {   /* a quoted version: no escapes in one that matches */
		v++;
		vlen -= 2;
	}
	return o->version && strlen(o->version) == vlen && strncasecmp(v, o->version, vlen) == 0 ? 4 : 0;
}

int admin_negotiate(const char *accept, const struct admin_offer *offers, size_t n)
{
	enum { MAX_OFFERS = 8 };
	int spec[MAX_OFFERS] = { 0 }, q[MAX_OFFERS] = { 0 };
	size_t pos[MAX_OFFERS] = { 0 }, k = 0;
	int any = 0, best = -1;

	if (!accept || n == 0)
		return 0;
	if (n > MAX_OFFERS)
		n = MAX_OFFERS;
	for (const char *p = accept; *p; k++) {
		struct media_range r;
		if (!parse_range(&p, &r))
			continue;
		any = 1;
		for (size_t i = 0; i < n; i++) {
			int s = range_match(&r, &offers[i]);
			/* the most specific range decides; among equals, the first */
			if (s > spec[i]) {
				spec[i] = s;
				q[i] = r.q;
				pos[i] = k;
			}
		}
	}
	if (!any)
		return 0;   /* nothing readable: as without the header */
	for (size_t i = 0; i < n; i++) {
		if (!spec[i] || !q[i])
			continue;
		if (best < 0 || q[i] > q[best] || (q[i] == q[best] && spec[i] > spec[best]) ||
		    (q[i] == q[best] && spec[i] == spec[best] && pos[i] < pos[best]))
			best = (int)i;
	}
	return best;
}
