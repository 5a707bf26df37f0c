/* aws.c - AWS's wire protocols on the admin listener (see aws.h). */
#include "control/aws.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/rand.h>

#include "control/admin.h"
#include "control/admin_parse.h"
#include "control/api_metrics.h"
#include "control/cbor.h"
#include "control/sigv4.h"
#include "core/config.h"
#include "core/log.h"
#include "proxy/gen.h"

#define AWS_MAX_PARAMS 100000   /* awsQuery parameters in one call (PutMetricData's 1000 datapoints
				 * with their dimensions fit) */
#define AWS_MAX_INDEX 100000    /* a list index in an awsQuery parameter name */
#define AWS_MAX_NAME_DEPTH 32   /* dotted parts in an awsQuery parameter name */
#define PAGE_PREFIX "albd-page-"

/* The object members the result and input trees use as marks. */
#define MARK_TIME "\001albd-time"
#define MARK_MAP "\001albd-map"
#define MARK_ENTRIES "\001albd-entries"

/* The JSON and CBOR protocols' service id (CloudWatch's Smithy shape). */
#define CW_SHAPE "GraniteServiceVersion20100801"

struct service {
	const char *name;      /* the credential scope's service */
	const char *version;   /* awsQuery's Version */
	const char *xmlns;
	const char *shape;     /* JSON/CBOR service shape, NULL: awsQuery only */
	const char *error_ns;  /* JSON/CBOR __type namespace */
	const struct aws_op *tables[3];
};

static const struct service services[] = {
	{ "elasticloadbalancing", "2015-12-01", "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/", NULL,
	  NULL, { aws_elb_ops, NULL, NULL } },
	{ "monitoring", "2010-08-01", "http://monitoring.amazonaws.com/doc/2010-08-01/", CW_SHAPE,
	  "com.amazonaws.cloudwatch", { aws_cw_metric_ops, aws_cw_alarm_ops, NULL } },
	{ "sns", "2010-03-31", "http://sns.amazonaws.com/doc/2010-03-31/", NULL, NULL, { aws_sns_ops, NULL, NULL } },
};

/* ------------------------------------------------------------ errors */

json_t *aws_fail(struct aws_call *c, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	c->status = status;
	snprintf(c->code, sizeof c->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof c->message, fmt, ap);
	va_end(ap);
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

const json_t *aws_in_obj(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_object(v) ? v : NULL;
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

/* ------------------------------------------------------------ ARNs */

const char *aws_arn(char *buf, size_t len, const char *service, const char *resource)
{
	const struct albd_gen *g = admin_gen();
	const struct albd_config *cfg = g ? g->cfg : NULL;

	snprintf(buf, len, "arn:aws:%s:%s:%s:%s", service, cfg && cfg->region ? cfg->region : "local",
		 cfg && cfg->account_id ? cfg->account_id : "000000000000", resource);
	return buf;
}

/* ------------------------------------------------------------ awsQuery input */

/* Set the scalar VALUE (consumed) at the dotted NAME under ROOT, as aws.h
 * describes. Returns 0, or -1 with a reason in WHY. */
static int query_put(json_t *root, const char *name, json_t *value, char *why, size_t whylen)
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
			if (!arr) {
				arr = json_array();
				if (!arr || json_object_set_new(holder, key, arr) < 0)
					goto oom;
			}
			if (!json_is_array(arr)) {
				snprintf(why, whylen, "%s: a list and something else at once", name);
				goto out;
			}
			while (json_array_size(arr) < idx)
				if (json_array_append_new(arr, json_null()) < 0)
					goto oom;
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
static int query_parse(const char *body, size_t len, json_t **in, char **action, char **version, char *why,
		       size_t whylen)
{
	json_t *root = json_object();
	size_t count = 0;
	const char *p = body, *end = body + len;

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
			int rc = query_put(root, name, json_string(value), why, whylen);

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

static void xml_text(struct evbuffer *b, const char *s, size_t n)
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
		xml_text(b, json_string_value(v), json_string_length(v));
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
				xml_text(b, k, strlen(k));
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

/* ------------------------------------------------------------ answers */

static void request_id(char out[37])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof r) != 1)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)random();
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

static void send_buf(struct admin_req *r, int status, const char *ctype, const char *extra, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	const char *p = n ? (const char *)evbuffer_pullup(b, -1) : "";

	if (!p) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	admin_reply_hdrs(r, status, ctype, extra, p, n);
}

/* Answer R with call C's error in C's protocol; SVC may be NULL (not
 * known yet: the signature failed). */
static void reply_fail(struct admin_req *r, const struct service *svc, const struct aws_call *c)
{
	struct evbuffer *b = evbuffer_new();
	char extra[256];
	const char *type = c->status >= 500 ? "Receiver" : "Sender";

	if (!b) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	if (c->proto == AWS_QUERY)
		snprintf(extra, sizeof extra, "x-amzn-RequestId: %s\r\n", c->request_id);
	else /* AWS's JSON and CBOR protocols for a service that also speaks awsQuery */
		snprintf(extra, sizeof extra, "x-amzn-RequestId: %s\r\n%sx-amzn-query-error: %s;%s\r\n",
			 c->request_id, c->proto == AWS_CBOR ? "smithy-protocol: rpc-v2-cbor\r\n" : "", c->code, type);
	if (c->proto == AWS_QUERY) {
		evbuffer_add_printf(b, "<ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type><Code>",
				    svc ? svc->xmlns : "http://webservices.amazon.com/AWSFault/2005-15-09", type);
		xml_text(b, c->code, strlen(c->code));
		evbuffer_add_printf(b, "</Code><Message>");
		xml_text(b, c->message, strlen(c->message));
		evbuffer_add_printf(b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>\n", c->request_id);
		send_buf(r, c->status, "text/xml", extra, b);
	} else {
		char t[128];
		json_t *j;

		snprintf(t, sizeof t, "%s#%s", svc && svc->error_ns ? svc->error_ns : "com.amazonaws", c->code);
		j = json_pack("{ssss}", "__type", t, "message", c->message);
		if (!j || (c->proto == AWS_CBOR ? cbor_value(b, j, 0) : 0) < 0) {
			json_decref(j);
			evbuffer_free(b);
			admin_reply_error(r, 500, "InternalFailure", "Out of memory");
			return;
		}
		if (c->proto == AWS_JSON) {
			char *s = json_dumps(j, JSON_COMPACT);

			if (s)
				evbuffer_add(b, s, strlen(s));
			free(s);
		}
		json_decref(j);
		send_buf(r, c->status, c->proto == AWS_CBOR ? "application/cbor" : "application/x-amz-json-1.0",
			 extra, b);
	}
	evbuffer_free(b);
}

static void reply_ok(struct admin_req *r, const struct service *svc, const struct aws_call *c, const json_t *res)
{
	struct evbuffer *b = evbuffer_new();
	char extra[128];
	int rc = 0;

	if (!b) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	snprintf(extra, sizeof extra, "x-amzn-RequestId: %s\r\n%s", c->request_id,
		 c->proto == AWS_CBOR ? "smithy-protocol: rpc-v2-cbor\r\n" : "");
	if (c->proto == AWS_QUERY) {
		evbuffer_add_printf(b, "<%sResponse xmlns=\"%s\">", c->action, svc->xmlns);
		if (json_object_size(res)) {
			evbuffer_add_printf(b, "<%sResult>", c->action);
			xml_value(b, res, 0);
			evbuffer_add_printf(b, "</%sResult>", c->action);
		}
		evbuffer_add_printf(b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n",
				    c->request_id, c->action);
		send_buf(r, 200, "text/xml", extra, b);
	} else if (c->proto == AWS_JSON) {
		json_t *j = json_plain(res, 0);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

		json_decref(j);
		if (s)
			evbuffer_add(b, s, strlen(s));
		else
			rc = -1;
		free(s);
		if (!rc)
			send_buf(r, 200, "application/x-amz-json-1.0", extra, b);
	} else {
		if (cbor_value(b, res, 0) < 0)
			rc = -1;
		else
			send_buf(r, 200, "application/cbor", extra, b);
	}
	if (rc < 0)
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
	evbuffer_free(b);
}

/* ------------------------------------------------------------ the endpoint */

static const char *lookup_secret(const char *akid, void *arg)
{
	const struct cfg_admin *a = arg;

	for (size_t i = 0; i < a->naws_creds; i++)
		if (strcmp(a->aws_creds[i].access_key_id, akid) == 0)
			return a->aws_creds[i].secret;
	return NULL;
}

static int sigv4_status(enum sigv4_result v)
{
	switch (v) {
	case SIGV4_INCOMPLETE_SIGNATURE:
		return 400;
	case SIGV4_INTERNAL:
		return 500;
	default:
		return 403;
	}
}

static const char *sigv4_message(enum sigv4_result v)
{
	switch (v) {
	case SIGV4_INCOMPLETE_SIGNATURE:
		return "Authorization header requires a Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256) "
		       "signing host and x-amz-date, and an X-Amz-Date";
	case SIGV4_INVALID_CLIENT_TOKEN_ID:
		return "The security token included in the request is invalid.";
	case SIGV4_SIGNATURE_DOES_NOT_MATCH:
		return "The request signature we calculated does not match the signature you provided. Check your "
		       "AWS Secret Access Key and signing method. Consult the service documentation for details.";
	case SIGV4_REQUEST_TIME_TOO_SKEWED:
		return "Signature not yet current or expired: the request time differs from the server time by "
		       "more than 5 minutes";
	default:
		return "Internal failure";
	}
}

static const struct service *service_of(const char *name)
{
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	return NULL;
}

static aws_op_fn op_of(const struct service *svc, const char *action)
{
	for (size_t t = 0; t < 3 && svc->tables[t]; t++)
		for (const struct aws_op *op = svc->tables[t]; op->action; op++)
			if (strcmp(op->action, action) == 0)
				return op->fn;
	return NULL;
}

/* The protocol of R (by its path and headers) and, for JSON and CBOR, the
 * operation it names (into OP). Returns -1 for a request no protocol
 * takes, with WHY. */
static int protocol_of(struct admin_req *r, enum aws_proto *proto, char *op, size_t oplen, char *why,
		       size_t whylen)
{
	const char *path = admin_req_path(r), *target = admin_req_header(r, "X-Amz-Target");
	const char *ctype = admin_req_header(r, "Content-Type");

	op[0] = '\0';
	if (strncmp(path, "/service/", 9) == 0) {
		const char *s = path + 9, *slash = strchr(s, '/');

		*proto = AWS_CBOR;
		if (!slash || strncmp(slash, "/operation/", 11) != 0 || strchr(slash + 11, '/') || !slash[11]) {
			snprintf(why, whylen, "expected /service/SERVICE/operation/OPERATION");
			return -1;
		}
		if ((size_t)(slash - s) != strlen(CW_SHAPE) || strncmp(s, CW_SHAPE, strlen(CW_SHAPE)) != 0) {
			snprintf(why, whylen, "unknown service %.*s", (int)(slash - s), s);
			return -1;
		}
		snprintf(op, oplen, "%s", slash + 11);
		return 0;
	}
	if (target) {
		const char *dot = strrchr(target, '.');

		*proto = AWS_JSON;
		if (!dot || (size_t)(dot - target) != strlen(CW_SHAPE) ||
		    strncmp(target, CW_SHAPE, strlen(CW_SHAPE)) != 0 || !dot[1]) {
			snprintf(why, whylen, "unknown X-Amz-Target \"%s\"", target);
			return -1;
		}
		snprintf(op, oplen, "%s", dot + 1);
		return 0;
	}
	*proto = AWS_QUERY;
	if (ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
		snprintf(why, whylen, "expected a form (application/x-www-form-urlencoded), X-Amz-Target, or "
				      "/service/.../operation/...");
		return -1;
	}
	return 0;
}

static void aws_endpoint(struct admin_req *r, void *arg)
{
	const struct albd_gen *g = admin_gen();
	const struct cfg_admin *adm = g ? &g->cfg->admin : NULL;
	struct aws_call c;
	char rid[37], opname[128], why[256];
	const struct service *svc = NULL;
	struct sigv4_identity id;
	json_t *in = NULL, *res = NULL;
	char *action = NULL, *version = NULL;
	size_t blen, nh;
	const char *body = admin_req_body(r, &blen);

	(void)arg;
	if (!adm || !adm->naws_creds) {
		admin_reply_error(r, 404, "NotFound",
				  "No such endpoint: %s (AWS's APIs are off: admin.aws_credentials is not set)",
				  admin_req_path(r));
		return;
	}
	memset(&c, 0, sizeof c);
	request_id(rid);
	c.request_id = rid;
	c.now = (int64_t)time(NULL);
	if (protocol_of(r, &c.proto, opname, sizeof opname, why, sizeof why) < 0) {
		aws_fail(&c, c.proto == AWS_QUERY ? 400 : 404, c.proto == AWS_QUERY ? "InvalidAction" : "UnknownOperationException", "%s", why);
		reply_fail(r, NULL, &c);
		return;
	}

	/* the signature, over the request as received */
	const char *t = admin_req_target(r), *q = strchr(t, '?');
	char *rawpath = strndup(t, q ? (size_t)(q - t) : strlen(t));
	const char *hn = NULL, *hv = NULL;

	nh = admin_req_header_at(r, 0, &hn, &hv);
	struct sigv4_header *hs = calloc(nh ? nh : 1, sizeof *hs);

	if (!rawpath || !hs) {
		free(rawpath);
		free(hs);
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	for (size_t i = 0; i < nh; i++)
		admin_req_header_at(r, i, &hs[i].name, &hs[i].value);

	struct sigv4_request sr = { admin_req_method(r), rawpath, q ? q + 1 : NULL, hs, nh, body, blen };
	enum sigv4_result v = sigv4_verify(&sr, (time_t)c.now, lookup_secret, (void *)adm, &id);

	free(rawpath);
	free(hs);
	if (v != SIGV4_OK) {
		log_warn("admin: AWS call refused (%s) for key \"%s\" service \"%s\"", sigv4_error_code(v),
			 id.access_key_id, id.service);
		aws_fail(&c, sigv4_status(v), sigv4_error_code(v), "%s", sigv4_message(v));
		reply_fail(r, service_of(id.service), &c);
		return;
	}
	c.access_key_id = id.access_key_id;
	if (!(svc = service_of(id.service)) || (c.proto != AWS_QUERY && !svc->shape)) {
		aws_fail(&c, 400, "InvalidAction", "albd serves elasticloadbalancing, monitoring and sns over "
						  "this protocol, not \"%s\"", id.service);
		reply_fail(r, svc, &c);
		return;
	}
	c.service = svc->name;

	/* the input */
	if (c.proto == AWS_QUERY) {
		if (query_parse(body, blen, &in, &action, &version, why, sizeof why) < 0) {
			aws_fail(&c, 400, strcmp(why, "out of memory") ? "MalformedQueryString" : "InternalFailure",
				 "%s", why);
			goto done;
		}
		if (!action) {
			aws_fail(&c, 400, "MissingAction", "The request must contain the parameter Action");
			goto done;
		}
		if (!version || strcmp(version, svc->version) != 0) {
			aws_fail(&c, 400, version ? "InvalidParameterValue" : "MissingParameter",
				 "Version: expected %s for %s%s%s", svc->version, svc->name,
				 version ? ", not " : "", version ? version : "");
			goto done;
		}
		snprintf(opname, sizeof opname, "%s", action);
	} else {
		char err[256];

		if (blen == 0) {
			in = json_object();
		} else if (c.proto == AWS_JSON) {
			json_error_t je;

			if (!(in = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &je)))
				snprintf(err, sizeof err, "%s", je.text);
		} else {
			in = cbor_decode(body, blen, err, sizeof err);
		}
		if (!in || !json_is_object(in)) {
			aws_fail(&c, 400, "SerializationException", "The request body is not a %s object%s%s",
				 c.proto == AWS_JSON ? "JSON" : "CBOR map", in ? "" : ": ", in ? "" : err);
			goto done;
		}
	}
	c.action = opname;
	c.in = in;

	aws_op_fn fn = op_of(svc, opname);

	if (!fn) {
		if (c.proto == AWS_QUERY)
			aws_fail(&c, 400, "InvalidAction", "Could not find operation %s for version %s", opname,
				 svc->version);
		else
			aws_fail(&c, 404, "UnknownOperationException", "Unknown operation %s", opname);
		goto done;
	}
	res = fn(&c);
	if (!res && !c.status)
		aws_fail(&c, 500, "InternalFailure", "The operation gave no answer");
done:
	if (res)
		reply_ok(r, svc, &c, res);
	else
		reply_fail(r, svc, &c);
	json_decref(res);
	json_decref(in);
	free(action);
	free(version);
}

void aws_init(void)
{
	admin_route("POST", "/", ADMIN_SIGNED, aws_endpoint, NULL);
	admin_route("POST", "/service/", ADMIN_SIGNED | ADMIN_PREFIX, aws_endpoint, NULL);
}
