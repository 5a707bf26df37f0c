/* cbor.c - CBOR to jansson and the encoder's primitives (see cbor.h). */
#include "control/cbor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/utf8.h"

struct dec {
	const unsigned char *p, *end;
	size_t items;        /* decoded so far, at most CBOR_MAX_ITEMS */
	char *err;
	size_t errlen;
};

static json_t *fail(struct dec *d, const char *what)
{
	if (d->err && !d->err[0])
		snprintf(d->err, d->errlen, "CBOR: %s", what);
	return NULL;
}

/* The head at d->p: major type, additional info, argument. Returns 0, 1
 * for an indefinite length (ai 31), or -1. */
static int head(struct dec *d, unsigned *major, unsigned *ai, uint64_t *arg)
{
	unsigned n;

	if (d->p >= d->end)
		return -1;
	*major = *d->p >> 5;
	*ai = *d->p & 31;
	d->p++;
	if (*ai < 24) {
		*arg = *ai;
		return 0;
	}
	if (*ai == 31)
		return 1;
	if (*ai > 27)
		return -1;
	n = 1u << (*ai - 24);
	if ((size_t)(d->end - d->p) < n)
		return -1;
	*arg = 0;
	for (unsigned i = 0; i < n; i++)
		*arg = (*arg << 8) | *d->p++;
	return 0;
}

static double half(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v = e == 0 ? ldexp(m, -24) : e != 31 ? ldexp(m + 1024, e - 25) : (m == 0 ? INFINITY : NAN);

	return (h & 0x8000) ? -v : v;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Append N bytes at S to the string being built in *BUF (*LEN, *CAP). */
static int append(char **buf, size_t *len, size_t *cap, const void *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 64;
		char *b;

		while (c < *len + n + 1)
			c *= 2;
		if (!(b = realloc(*buf, c)))
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* A text (MAJOR 3) or byte (2) string, definite or indefinite, into a new
 * buffer (*LEN bytes, NUL-terminated). */
static char *string(struct dec *d, unsigned major, uint64_t arg, int indef, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!indef) {
		if (arg > (uint64_t)(d->end - d->p)) {
			fail(d, "a string runs past the end");
			return NULL;
		}
		if (append(&buf, len, &cap, d->p, (size_t)arg) < 0) {
			fail(d, "out of memory");
			return NULL;
		}
		d->p += arg;
		return buf;
	}
	for (;;) {
		unsigned m, a;
		uint64_t v;
		int r;

		if (d->p < d->end && *d->p == 0xff) {
			d->p++;
			break;
		}
		if ((r = head(d, &m, &a, &v)) != 0 || m != major || v > (uint64_t)(d->end - d->p)) {
			free(buf);
			fail(d, "a malformed chunk of an indefinite-length string");
			return NULL;
		}
		if (v && append(&buf, len, &cap, d->p, (size_t)v) < 0) {
			free(buf);
			fail(d, "out of memory");
			return NULL;
		}
		d->p += v;
	}
	if (!buf && !(buf = calloc(1, 1)))
		fail(d, "out of memory");
	return buf;
}

static json_t *item(struct dec *d, unsigned depth);

static json_t *bytes_b64(struct dec *d, const unsigned char *s, size_t n)
{
	size_t olen = (n + 2) / 3 * 4;
	char *o = malloc(olen + 1);
	json_t *j;
	size_t k = 0;

	if (!o)
		return fail(d, "out of memory");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);

		o[k++] = b64[v >> 18 & 63];
		o[k++] = b64[v >> 12 & 63];
		o[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		o[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	o[k] = '\0';
	j = json_stringn(o, k);
	free(o);
	return j ? j : fail(d, "out of memory");
}

static json_t *container(struct dec *d, unsigned major, uint64_t arg, int indef, unsigned depth)
{
	json_t *c = major == 4 ? json_array() : json_object();

	if (!c)
		return fail(d, "out of memory");
	for (uint64_t i = 0; indef || i < arg; i++) {
		json_t *k = NULL, *v;

		if (indef && d->p < d->end && *d->p == 0xff) {
			d->p++;
			return c;
		}
		if (d->p >= d->end) {
			fail(d, indef ? "an indefinite-length container without its end"
				      : "a container with fewer items than it declares");
			goto fail;
		}
		if (major == 5) {
			if (!(k = item(d, depth + 1)))
				goto fail;
			if (!json_is_string(k)) {
				json_decref(k);
				fail(d, "a map key that is not a text string");
				goto fail;
			}
			if (json_object_get(c, json_string_value(k))) {
				json_decref(k);
				fail(d, "a map key given twice");
				goto fail;
			}
		}
		if (!(v = item(d, depth + 1))) {
			json_decref(k);
			goto fail;
		}
		if (major == 4 ? json_array_append_new(c, v) : json_object_set_new(c, json_string_value(k), v)) {
			json_decref(k);
			fail(d, "out of memory");
			goto fail;
		}
		json_decref(k);
	}
	return c;
fail:
	json_decref(c);
	return NULL;
}

static json_t *item(struct dec *d, unsigned depth)
{
	unsigned major = 0, ai = 0;
	uint64_t arg = 0;
	int r;

	if (depth > CBOR_MAX_DEPTH)
		return fail(d, "nested too deep");
	if (++d->items > CBOR_MAX_ITEMS)
		return fail(d, "more than " CBOR_MAX_ITEMS_TEXT " items");
	if ((r = head(d, &major, &ai, &arg)) < 0)
		return fail(d, d->p >= d->end ? "truncated" : "a reserved additional information value");
	if (r == 1 && (major == 0 || major == 1 || major == 6))
		return fail(d, "an indefinite length where none is allowed");
	switch (major) {
	case 0:
		if (arg > INT64_MAX)
			return fail(d, "an integer beyond 64-bit signed");
		return json_integer((json_int_t)arg);
	case 1:
		if (arg > INT64_MAX)
			return fail(d, "an integer beyond 64-bit signed");
		return json_integer(-1 - (json_int_t)arg);
	case 2:
	case 3: {
		size_t len;
		char *s = string(d, major, arg, r == 1, &len);
		json_t *j;

		if (!s)
			return NULL;
		if (major == 2) {
			j = bytes_b64(d, (const unsigned char *)s, len);
		} else if (memchr(s, '\0', len) || !utf8_valid(s)) {
			j = fail(d, "a text string that is not UTF-8 (or holds a NUL)");
		} else if (!(j = json_stringn(s, len))) {
			j = fail(d, "out of memory");
		}
		free(s);
		return j;
	}
	case 4:
	case 5:
		return container(d, major, arg, r == 1, depth);
	case 6:
		return item(d, depth + 1); /* the tag's content */
	default: {
		double v;

		if (r == 1)
			return fail(d, "an unexpected break");
		if (ai < 24 || ai == 24) {
			switch (arg) {
			case 20:
				return json_false();
			case 21:
				return json_true();
			case 22:
			case 23:
				return json_null();
			default:
				return fail(d, "an unassigned simple value");
			}
		}
		if (ai == 25) {
			v = half((uint16_t)arg);
		} else if (ai == 26) {
			uint32_t u = (uint32_t)arg;
			float f;

			memcpy(&f, &u, sizeof f);
			v = f;
		} else {
			memcpy(&v, &arg, sizeof v);
		}
		if (!isfinite(v))
			return fail(d, "a float that is NaN or infinite");
		return json_real(v);
	}
	}
}

json_t *cbor_decode(const void *p, size_t n, char *err, size_t errlen)
{
	struct dec d = { p, (const unsigned char *)p + n, 0, err, errlen };
	json_t *j;

	if (err && errlen)
		err[0] = '\0';
	if (!n)
		return fail(&d, "empty");
	if (!(j = item(&d, 0)))
		return NULL;
	if (d.p != d.end) {
		json_decref(j);
		return fail(&d, "bytes after the item");
	}
	return j;
}

/* ------------------------------------------------------------ encoding */

int cbor_put_head(struct evbuffer *out, unsigned major, uint64_t v)
{
	unsigned char b[9];
	size_t n;

	major <<= 5;
	if (v < 24) {
		b[0] = (unsigned char)(major | v);
		n = 1;
	} else if (v <= 0xff) {
		b[0] = (unsigned char)(major | 24);
		b[1] = (unsigned char)v;
		n = 2;
	} else if (v <= 0xffff) {
		b[0] = (unsigned char)(major | 25);
		b[1] = (unsigned char)(v >> 8);
		b[2] = (unsigned char)v;
		n = 3;
	} else if (v <= 0xffffffffu) {
		b[0] = (unsigned char)(major | 26);
		for (int i = 0; i < 4; i++)
			b[1 + i] = (unsigned char)(v >> (24 - 8 * i));
		n = 5;
	} else {
		b[0] = (unsigned char)(major | 27);
		for (int i = 0; i < 8; i++)
			b[1 + i] = (unsigned char)(v >> (56 - 8 * i));
		n = 9;
	}
	return evbuffer_add(out, b, n);
}

int cbor_put_int(struct evbuffer *out, int64_t v)
{
	return v >= 0 ? cbor_put_head(out, 0, (uint64_t)v) : cbor_put_head(out, 1, (uint64_t)(-1 - v));
}

int cbor_put_double(struct evbuffer *out, double v)
{
	unsigned char b[9];
	float f = (float)v;

	if ((double)f == v || v != v) {
		uint32_t u;

		memcpy(&u, &f, sizeof u);
		b[0] = 0xfa;
		for (int i = 0; i < 4; i++)
			b[1 + i] = (unsigned char)(u >> (24 - 8 * i));
		return evbuffer_add(out, b, 5);
	}
	uint64_t u;

	memcpy(&u, &v, sizeof u);
	b[0] = 0xfb;
	for (int i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(u >> (56 - 8 * i));
	return evbuffer_add(out, b, 9);
}

int cbor_put_text(struct evbuffer *out, const char *s, size_t len)
{
	if (cbor_put_head(out, 3, len) < 0)
		return -1;
	return len ? evbuffer_add(out, s, len) : 0;
}

int cbor_put_simple(struct evbuffer *out, unsigned v)
{
	return cbor_put_head(out, 7, v);
}
