/* admin_parse.c - the admin listener's pure parsing. See admin_parse.h. */
#include "control/admin_parse.h"

#include <stdlib.h>
#include <string.h>

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
