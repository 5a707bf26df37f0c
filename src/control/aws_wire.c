/* aws_wire.c - the pure half of aws.c: awsQuery forms into input trees,
 * result trees into XML, JSON and CBOR (see aws_wire.h). */
#include "control/aws_wire.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "control/admin_parse.h"
#include "control/api_metrics.h"
#include "control/aws.h"
#include "control/cbor.h"
#include "core/utf8.h"

#define AWS_MAX_PARAMS 100000   /* awsQuery parameters in one call (PutMetricData's 1000 datapoints
				 * with their dimensions fit) */
#define AWS_MAX_INDEX 100000    /* a list index in an awsQuery parameter name */
#define AWS_MAX_NAME_DEPTH 32   /* dotted parts in an awsQuery parameter name */

/* The object members the result and input trees use as marks. */
#define PAGE_PREFIX "albd-page-"

#define MARK_TIME "\001albd-time"
#define MARK_MAP "\001albd-map"
#define MARK_ENTRIES "\001albd-entries"

/* ------------------------------------------------------------ errors */

static void utf8_fix(char *s);

json_t *aws_fail(struct aws_call *c, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	c->status = status;
	snprintf(c->code, sizeof c->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof c->message, fmt, ap);
	va_end(ap);
	utf8_fix(c->code);
	utf8_fix(c->message);
	return NULL;
}

/* ------------------------------------------------------------ input getters */

const char *aws_in_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int aws_in_int(const json_t *o, const char *key, long long *out)
{
	const json_t *v = json_object_get(o, key);
	const char *s, *p;
	char *end;
	long long n;

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d != floor(d) || fabs(d) > 9e15)
			return -1;
		*out = (long long)d;
		return 1;
	}
	if (!(s = json_string_value(v)) || !*s)
		return -1;
	p = s + (*s == '-' || *s == '+');
	if (!*p || strspn(p, "0123456789") != strlen(p))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = n;
	return 1;
}

int aws_in_num(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);
	const char *s;
	char *end;
	double d;

	if (!v)
		return 0;
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 1;
	}
	if (!(s = json_string_value(v)) || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno == ERANGE && fabs(d) > 1)
		return -1;
	if (*end || !isfinite(d))
		return -1;
	*out = d;
	return 1;
}

int aws_in_bool(const json_t *o, const char *key, int *out)
{
	const json_t *v = json_object_get(o, key);
	const char *s;

	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 1;
	}
	if (!(s = json_string_value(v)))
		return -1;
	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
		*out = s[0] == 't';
		return 1;
	}
	return -1;
}

int aws_in_time(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (json_is_number(v)) {
		double d = json_number_value(v);

		if (!isfinite(d) || d < 0 || d > 1e11)
			return -1;
		*out = (int64_t)floor(d);
		return 1;
	}
	if (!json_is_string(v) || api_parse_time(json_string_value(v), out) < 0)
		return -1;
	return 1;
}

const json_t *aws_in_list(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_array(v) ? v : NULL;
}

int aws_in_list_bad(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return v && !json_is_array(v) && !(json_is_string(v) && !*json_string_value(v));
}

const json_t *aws_in_obj(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_object(v) ? v : NULL;
}

/* ------------------------------------------------------------ pagination */

int aws_page_read(const json_t *in, const char *key, size_t *off)
{
	const char *s = aws_in_str(in, key);
	size_t n = strlen(PAGE_PREFIX);
	char *end;
	unsigned long long v;

	if (!json_object_get(in, key))
		return 0;
	if (!s || strncmp(s, PAGE_PREFIX, n) != 0 || !isdigit((unsigned char)s[n]))
		return -1;
	errno = 0;
	v = strtoull(s + n, &end, 10);
	if (errno || *end || v > 100000000ull)
		return -1;
	*off = (size_t)v;
	return 1;
}

json_t *aws_page_token(size_t off)
{
	char buf[64];

	snprintf(buf, sizeof buf, PAGE_PREFIX "%zu", off);
	return json_string(buf);
}

/* ------------------------------------------------------------ output marks */

json_t *aws_out_time(int64_t t_ms)
{
	return json_pack("{sI}", MARK_TIME, (json_int_t)t_ms);
}

json_t *aws_out_map(json_t *m)
{
	json_t *o = json_object();

	if (!o || !m || json_object_set_new(o, MARK_MAP, m) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The milliseconds of a timestamp mark, or -1 when V is not one. */
static int64_t time_mark(const json_t *v)
{
	const json_t *t;

	if (!json_is_object(v) || json_object_size(v) != 1 || !(t = json_object_get(v, MARK_TIME)))
		return -1;
	return json_integer_value(t);
}

static const json_t *map_mark(const json_t *v)
{
	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	return json_object_get(v, MARK_MAP);
}

/* ------------------------------------------------------------ awsQuery input */

/* Replace in place every byte of S that starts no UTF-8 sequence with '?'
 * (an error message that quotes a client's bytes, or cut a character in
 * two, must still go into JSON, CBOR and XML). */
static void utf8_fix(char *s)
{
	for (size_t n; *s; s += n)
		if (!(n = utf8_seq((const unsigned char *)s))) {
			*s = '?';
			n = 1;
		}
}

/* Set the scalar VALUE (consumed) at the dotted NAME under ROOT, as aws.h
 * describes. Returns 0, or -1 with a reason in WHY. */
static int query_put(json_t *root, const char *name, json_t *value, size_t *holes, char *why, size_t whylen)
{
	char *copy = strdup(name), *parts[AWS_MAX_NAME_DEPTH], *save = NULL;
	size_t n = 0;
	json_t *node = root;
	int rc = -1;

	if (!copy) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (char *t = strtok_r(copy, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
		if (n == AWS_MAX_NAME_DEPTH) {
			snprintf(why, whylen, "%s: nested too deep", name);
			goto out;
		}
		parts[n++] = t;
	}
	if (!n || name[0] == '.' || name[strlen(name) - 1] == '.' || strstr(name, "..")) {
		snprintf(why, whylen, "%s: not a parameter name", name);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = parts[i];
		int last = i + 1 == n;
		int list = !last && i + 2 < n + 1 && (strcmp(parts[i + 1], "member") == 0 ||
						      strcmp(parts[i + 1], "entry") == 0);

		if (!json_is_object(node)) {
			snprintf(why, whylen, "%s: a value and a structure at once", name);
			goto out;
		}
		if (list) {
			int entries = strcmp(parts[i + 1], "entry") == 0;
			json_t *arr, *holder = node;
			char *end;
			unsigned long idx;

			if (i + 2 >= n || !isdigit((unsigned char)parts[i + 2][0])) {
				snprintf(why, whylen, "%s: a list member without its index", name);
				goto out;
			}
			errno = 0;
			idx = strtoul(parts[i + 2], &end, 10);
			if (errno || *end || idx < 1 || idx > AWS_MAX_INDEX) {
				snprintf(why, whylen, "%s: list index out of range (1 to %d)", name, AWS_MAX_INDEX);
				goto out;
			}
			if (entries) {
				/* node[key] = { MARK_ENTRIES: [...] } until query_maps() */
				json_t *m = json_object_get(node, key);

				if (!m) {
					m = json_object();
					if (!m || json_object_set_new(node, key, m) < 0)
						goto oom;
				}
				if (!json_is_object(m)) {
					snprintf(why, whylen, "%s: a map and something else at once", name);
					goto out;
				}
				holder = m;
				key = MARK_ENTRIES;
			}
			arr = json_object_get(holder, key);
			if (json_is_string(arr) && !*json_string_value(arr)) {
				json_object_del(holder, key); /* "A=" (an empty list) and "A.member.1=..." */
				arr = NULL;
			}
			if (!arr) {
				arr = json_array();
				if (!arr || json_object_set_new(holder, key, arr) < 0)
					goto oom;
			}
			if (!json_is_array(arr)) {
				snprintf(why, whylen, "%s: a list and something else at once", name);
				goto out;
			}
			/* a hole is a member not given yet: a form that lists
			 * without gaps has fewer of them than parameters, so
			 * "A.member.100000=" alone cannot make 100000 */
			while (json_array_size(arr) < idx) {
				if (json_array_size(arr) + 1 < idx && (*holes)-- == 0) {
					snprintf(why, whylen, "%s: list index beyond the list (members count from 1 "
							      "without gaps)", name);
					goto out;
				}
				if (json_array_append_new(arr, json_null()) < 0)
					goto oom;
			}
			i += 2;
			if (i + 1 == n) {
				if (!json_is_null(json_array_get(arr, idx - 1))) {
					snprintf(why, whylen, "%s: given twice", name);
					goto out;
				}
				if (json_array_set(arr, idx - 1, value) < 0)
					goto oom;
				rc = 0;
				goto out;
			}
			node = json_array_get(arr, idx - 1);
			if (json_is_null(node)) {
				node = json_object();
				if (!node || json_array_set_new(arr, idx - 1, node) < 0)
					goto oom;
			}
			continue;
		}
		if (last) {
			json_t *old = json_object_get(node, key);

			if (old && !(json_is_string(old) && json_is_string(value) && !*json_string_value(old))) {
				snprintf(why, whylen, "%s: given twice", name);
				goto out;
			}
			if (json_object_set(node, key, value) < 0)
				goto oom;
			rc = 0;
			goto out;
		}
		json_t *next = json_object_get(node, key);

		if (json_is_string(next) && !*json_string_value(next)) {
			json_object_del(node, key); /* "A=" (an empty list) and "A.B=..." */
			next = NULL;
		}
		if (!next) {
			next = json_object();
			if (!next || json_object_set_new(node, key, next) < 0)
				goto oom;
		}
		node = next;
	}
	snprintf(why, whylen, "%s: not a parameter name", name);
	goto out;
oom:
	snprintf(why, whylen, "out of memory");
out:
	json_decref(value);
	free(copy);
	return rc;
}

/* Turn the entry lists query_put() made into maps, and check that no list
 * has holes. Returns 0, or -1 with WHY. */
static int query_maps(json_t *v, const char *where, char *why, size_t whylen)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e) {
			if (json_is_null(e)) {
				snprintf(why, whylen, "%s.member.%zu: missing (list members count from 1 without gaps)",
					 where, i + 1);
				return -1;
			}
			if (query_maps(e, where, why, whylen) < 0)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(v))
		return 0;

	const char *key;
	json_t *e, *entries;
	void *tmp;

	json_object_foreach_safe(v, tmp, key, e) {
		if (!json_is_object(e) || !(entries = json_object_get(e, MARK_ENTRIES))) {
			if (query_maps(e, key, why, whylen) < 0)
				return -1;
			continue;
		}
		json_t *map = json_object();
		size_t i;
		json_t *ent;

		if (!map) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		json_array_foreach(entries, i, ent) {
			const char *k = aws_in_str(ent, "key");
			json_t *val = json_object_get(ent, "value");

			if (!k) {
				k = aws_in_str(ent, "Name");
				val = json_object_get(ent, "Value");
			}
			if (!k || !val || json_object_size(ent) != 2) {
				snprintf(why, whylen, "%s.entry.%zu: expected key and value (or Name and Value)", key,
					 i + 1);
				json_decref(map);
				return -1;
			}
			if (query_maps(val, key, why, whylen) < 0 || json_object_get(map, k)) {
				if (json_object_get(map, k))
					snprintf(why, whylen, "%s: key \"%s\" given twice", key, k);
				json_decref(map);
				return -1;
			}
			if (json_object_set(map, k, val) < 0) {
				json_decref(map);
				snprintf(why, whylen, "out of memory");
				return -1;
			}
		}
		if (json_object_size(e) != 1) {
			json_decref(map);
			snprintf(why, whylen, "%s: a map and a structure at once", key);
			return -1;
		}
		if (json_object_set_new(v, key, map) < 0) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Parse the form-encoded BODY (LEN bytes) into *IN (a new tree), with
 * *ACTION and *VERSION (new strings). Returns 0, or -1 with WHY. */
int aws_query_parse(const char *body, size_t len, json_t **in, char **action, char **version, char *why,
		       size_t whylen)
{
	json_t *root = json_object();
	size_t count = 0, holes = 1;
	const char *p = body, *end = body + len;

	for (const char *a = body; (a = memchr(a, '&', (size_t)(end - a))); a++)
		holes++;

	*in = NULL;
	*action = *version = NULL;
	if (!root) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		char *name, *value;

		if (stop == p) {
			p = stop + 1;
			continue;
		}
		if (++count > AWS_MAX_PARAMS) {
			snprintf(why, whylen, "more than %d parameters", AWS_MAX_PARAMS);
			goto fail;
		}
		name = admin_decode(p, (size_t)((eq ? eq : stop) - p), 1);
		value = eq ? admin_decode(eq + 1, (size_t)(stop - eq - 1), 1) : strdup("");
		if (!name || !value) {
			snprintf(why, whylen, "a malformed form parameter (bad percent-encoding)");
			free(name);
			free(value);
			goto fail;
		}
		if (strcmp(name, "Action") == 0 || strcmp(name, "Version") == 0) {
			char **slot = name[0] == 'A' ? action : version;

			free(*slot);
			*slot = value;
			free(name);
		} else {
			json_t *v = utf8_valid(name) && utf8_valid(value) ? json_string(value) : NULL;
			int rc = v ? query_put(root, name, v, &holes, why, whylen) : -1;

			if (!v)
				snprintf(why, whylen, "a parameter that is not UTF-8 once decoded");

			free(name);
			free(value);
			if (rc < 0)
				goto fail;
		}
		p = stop + (amp != NULL);
	}
	if (query_maps(root, "", why, whylen) < 0)
		goto fail;
	*in = root;
	return 0;
fail:
	json_decref(root);
	free(*action);
	free(*version);
	*action = *version = NULL;
	return -1;
}

/* ------------------------------------------------------------ XML output */

void aws_xml_text(struct evbuffer *b, const char *s, size_t n)
{
	const char *run = s;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *rep = NULL;

		switch (ch) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		case '\r':
			rep = "&#xD;";
			break;
		default:
			if (ch < 0x20 && ch != '\t' && ch != '\n')
				rep = "\xef\xbf\xbd"; /* not allowed in XML 1.0 even as a reference */
		}
		if (!rep)
			continue;
		evbuffer_add(b, run, (size_t)(s + i - run));
		evbuffer_add(b, rep, strlen(rep));
		run = s + i + 1;
	}
	evbuffer_add(b, run, (size_t)(s + n - run));
}

/* The shortest %g of V that reads back as V. */
static void fmt_double(double v, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static void fmt_iso_ms(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - (int64_t)t * 1000));
}

static void xml_value(struct evbuffer *b, const json_t *v, unsigned depth);

static void xml_elem(struct evbuffer *b, const char *name, const json_t *v, unsigned depth)
{
	if (json_is_null(v))
		return;
	evbuffer_add_printf(b, "<%s>", name);
	xml_value(b, v, depth + 1);
	evbuffer_add_printf(b, "</%s>", name);
}

static void xml_value(struct evbuffer *b, const json_t *v, unsigned depth)
{
	char buf[64];
	int64_t ms;
	const json_t *m;

	if (depth > 64)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		aws_xml_text(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		evbuffer_add_printf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		fmt_double(json_real_value(v), buf, sizeof buf);
		evbuffer_add(b, buf, strlen(buf));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		evbuffer_add_printf(b, "%s", json_is_true(v) ? "true" : "false");
		break;
	case JSON_ARRAY: {
		size_t i;
		const json_t *e;

		json_array_foreach(v, i, e) xml_elem(b, "member", e, depth);
		break;
	}
	case JSON_OBJECT: {
		const char *k;
		const json_t *e;

		if ((ms = time_mark(v)) >= 0) {
			fmt_iso_ms(ms, buf, sizeof buf);
			evbuffer_add(b, buf, strlen(buf));
		} else if ((m = map_mark(v))) {
			json_object_foreach((json_t *)m, k, e) {
				evbuffer_add_printf(b, "<entry><key>");
				aws_xml_text(b, k, strlen(k));
				evbuffer_add_printf(b, "</key>");
				xml_elem(b, "value", e, depth);
				evbuffer_add_printf(b, "</entry>");
			}
		} else {
			json_object_foreach((json_t *)v, k, e) xml_elem(b, k, e, depth);
		}
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------ JSON and CBOR output */

/* A copy of V with the marks resolved for JSON: timestamps as epoch
 * seconds, maps as objects. */
static json_t *json_plain(const json_t *v, unsigned depth)
{
	int64_t ms;
	const json_t *m;

	if (depth > 64)
		return json_null();
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		const json_t *e;

		json_array_foreach(v, i, e) json_array_append_new(a, json_plain(e, depth + 1));
		return a;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	if ((ms = time_mark(v)) >= 0)
		return ms % 1000 ? json_real((double)ms / 1000.0) : json_integer(ms / 1000);
	if ((m = map_mark(v)))
		v = m;

	json_t *o = json_object();
	const char *k;
	const json_t *e;

	json_object_foreach((json_t *)v, k, e) if (!json_is_null(e))
		json_object_set_new(o, k, json_plain(e, depth + 1));
	return o;
}

static int cbor_value(struct evbuffer *b, const json_t *v, unsigned depth)
{
	int64_t ms;
	const json_t *m;

	if (depth > 64)
		return cbor_put_simple(b, 22);
	switch (json_typeof(v)) {
	case JSON_STRING:
		return cbor_put_text(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return cbor_put_int(b, json_integer_value(v));
	case JSON_REAL:
		return cbor_put_double(b, json_real_value(v));
	case JSON_TRUE:
		return cbor_put_simple(b, 21);
	case JSON_FALSE:
		return cbor_put_simple(b, 20);
	case JSON_NULL:
		return cbor_put_simple(b, 22);
	case JSON_ARRAY: {
		size_t i;
		const json_t *e;

		if (cbor_put_head(b, 4, json_array_size(v)) < 0)
			return -1;
		json_array_foreach(v, i, e) if (cbor_value(b, e, depth + 1) < 0) return -1;
		return 0;
	}
	case JSON_OBJECT: {
		const char *k;
		const json_t *e;
		size_t n = 0;

		if ((ms = time_mark(v)) >= 0) {
			if (cbor_put_head(b, 6, 1) < 0)
				return -1;
			return ms % 1000 ? cbor_put_double(b, (double)ms / 1000.0) : cbor_put_int(b, ms / 1000);
		}
		if ((m = map_mark(v)))
			v = m;
		json_object_foreach((json_t *)v, k, e) n += !json_is_null(e);
		if (cbor_put_head(b, 5, n) < 0)
			return -1;
		json_object_foreach((json_t *)v, k, e) {
			if (json_is_null(e))
				continue;
			if (cbor_put_text(b, k, strlen(k)) < 0 || cbor_value(b, e, depth + 1) < 0)
				return -1;
		}
		return 0;
	}
	}
	return -1;
}


static int in_check(const json_t *v, unsigned depth, char *why, size_t whylen)
{
	const char *k;
	const json_t *e;
	size_t i;

	if (depth > 64) {
		snprintf(why, whylen, "nested too deep");
		return -1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) if (in_check(e, depth + 1, why, whylen) < 0) return -1;
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach((json_t *)v, k, e) {
		for (const char *p = k; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(why, whylen, "a member name with a control character (byte %zu of \"%.40s\")",
					 (size_t)(p - k) + 1, k + 1);
				return -1;
			}
		}
		if (in_check(e, depth + 1, why, whylen) < 0)
			return -1;
	}
	return 0;
}

int aws_in_check(const json_t *in, char *why, size_t whylen)
{
	return in_check(in, 0, why, whylen);
}

void aws_xml_value(struct evbuffer *b, const json_t *v)
{
	xml_value(b, v, 0);
}

json_t *aws_json_plain(const json_t *v)
{
	return json_plain(v, 0);
}

int aws_cbor_value(struct evbuffer *b, const json_t *v)
{
	return cbor_value(b, v, 0);
}
