/* filter_policy.c - Amazon SNS subscription filter policies on message
 * attributes: see filter_policy.h. */
#include "control/filter_policy.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FP_SCALE 1e5		/* five digits after the decimal point */
#define FP_LIMIT 1e9		/* numbers lie in [-1e9, 1e9] */

enum fp_kind {
	FPC_STR,	/* exact string */
	FPC_NUM,	/* a numeric range (exact numbers are [n, n]) */
	FPC_PREFIX,
	FPC_SUFFIX,
	FPC_EIC,	/* equals-ignore-case */
	FPC_EXISTS,
	FPC_AB_STRS,	/* anything-but a list of strings */
	FPC_AB_NUMS,	/* anything-but a list of numbers */
	FPC_AB_PREFIX,
	FPC_AB_SUFFIX,
	FPC_CIDR,	/* an IPv4 or IPv6 network */
};

struct fp_cond {
	enum fp_kind kind;
	char *s;		/* STR, PREFIX, SUFFIX, EIC, AB_PREFIX, AB_SUFFIX */
	size_t slen;
	char **strs;		/* AB_STRS */
	size_t *lens;
	int64_t *nums;		/* AB_NUMS */
	size_t nlist;
	int has_lo, lo_incl, has_hi, hi_incl;	/* NUM */
	int64_t lo, hi;
	int exists;		/* EXISTS */
	int family;		/* CIDR: AF_INET or AF_INET6 */
	unsigned char net[16];
	unsigned bits;
};

struct fp_key {
	char *name;
	struct fp_cond *conds;
	size_t nconds;
};

struct fp_policy {
	struct fp_key keys[FP_MAX_KEYS];
	size_t nkeys;
};

static void fp_err(char *err, size_t errlen, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (key)
		snprintf(err, errlen, "key \"%.64s\": %s", key, msg);
	else
		snprintf(err, errlen, "%s", msg);
}

static void fp_cond_free(struct fp_cond *c)
{
	free(c->s);
	for (size_t i = 0; c->strs && i < c->nlist; i++)
		free(c->strs[i]);
	free(c->strs);
	free(c->lens);
	free(c->nums);
}

void fp_free(struct fp_policy *p)
{
	if (!p)
		return;
	for (size_t k = 0; k < p->nkeys; k++) {
		for (size_t i = 0; i < p->keys[k].nconds; i++)
			fp_cond_free(&p->keys[k].conds[i]);
		free(p->keys[k].conds);
		free(p->keys[k].name);
	}
	free(p);
}

static char *fp_dup(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* A policy number as 10^-5 units: 0, or -1 when out of range. */
static int fp_policy_num(const json_t *v, int64_t *out)
{
	double d = json_number_value(v);
	if (!isfinite(d) || d < -FP_LIMIT || d > FP_LIMIT)
		return -1;
	*out = (int64_t)llround(d * FP_SCALE);
	return 0;
}

/* A string operand of OP: the string, or NULL with ERR set. */
static int fp_string_operand(const json_t *v, const char *key, const char *op, struct fp_cond *c, char *err,
			     size_t errlen)
{
	if (!json_is_string(v)) {
		fp_err(err, errlen, key, "%s takes a string (%s matching is for strings only)", op, op);
		return -1;
	}
	c->slen = json_string_length(v);
	c->s = fp_dup(json_string_value(v), c->slen);
	if (!c->s) {
		fp_err(err, errlen, key, "out of memory");
		return -1;
	}
	return 0;
}

static int fp_parse_numeric(const json_t *arr, const char *key, struct fp_cond *c, char *err, size_t errlen)
{
	size_t n, i = 0;
	c->kind = FPC_NUM;
	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0) {
		fp_err(err, errlen, key, "numeric takes an array such as [\">\", 0, \"<=\", 150]");
		return -1;
	}
	if (n != 2 && n != 4) {
		fp_err(err, errlen, key, "numeric takes one or two operator-number pairs, not %zu elements", n);
		return -1;
	}
	while (i < n) {
		const json_t *o = json_array_get(arr, i), *v = json_array_get(arr, i + 1);
		const char *op;
		int64_t x;
		if (!json_is_string(o)) {
			fp_err(err, errlen, key, "numeric: element %zu must be an operator (=, <, <=, >, >=)", i + 1);
			return -1;
		}
		op = json_string_value(o);
		if (!json_is_number(v)) {
			fp_err(err, errlen, key, "numeric: operator \"%.8s\" must be followed by a number", op);
			return -1;
		}
		if (fp_policy_num(v, &x) < 0) {
			fp_err(err, errlen, key, "numeric: %g is outside -1e9..1e9", json_number_value(v));
			return -1;
		}
		if (!strcmp(op, "=")) {
			if (n != 2) {
				fp_err(err, errlen, key, "numeric: \"=\" cannot be combined with another operator");
				return -1;
			}
			c->has_lo = c->has_hi = c->lo_incl = c->hi_incl = 1;
			c->lo = c->hi = x;
		} else if (!strcmp(op, ">") || !strcmp(op, ">=")) {
			if (i != 0) {
				fp_err(err, errlen, key, "numeric: the lower bound (> or >=) must come first");
				return -1;
			}
			c->has_lo = 1;
			c->lo_incl = op[1] == '=';
			c->lo = x;
		} else if (!strcmp(op, "<") || !strcmp(op, "<=")) {
			if (c->has_hi) {
				fp_err(err, errlen, key, "numeric: two upper bounds");
				return -1;
			}
			if (i == 0 && n == 4) {
				fp_err(err, errlen, key, "numeric: the lower bound (> or >=) must come first");
				return -1;
			}
			c->has_hi = 1;
			c->hi_incl = op[1] == '=';
			c->hi = x;
		} else {
			fp_err(err, errlen, key, "numeric: unknown operator \"%.16s\" (expected =, <, <=, > or >=)",
			       op);
			return -1;
		}
		i += 2;
	}
	if (n == 4 && !(c->has_lo && c->has_hi)) {
		fp_err(err, errlen, key, "numeric: a range needs a lower bound then an upper bound");
		return -1;
	}
	if (c->has_lo && c->has_hi && (c->lo > c->hi || (c->lo == c->hi && !(c->lo_incl && c->hi_incl)))) {
		fp_err(err, errlen, key, "numeric: the lower bound is not below the upper bound (an empty range)");
		return -1;
	}
	return 0;
}

static int fp_parse_anything_but(const json_t *v, const char *key, struct fp_cond *c, char *err, size_t errlen)
{
	if (json_is_object(v)) {
		void *it = json_object_iter((json_t *)v);
		const char *op;
		const json_t *x;
		if (json_object_size(v) != 1 || !it) {
			fp_err(err, errlen, key, "anything-but takes an object with one operator (prefix or suffix)");
			return -1;
		}
		op = json_object_iter_key(it);
		x = json_object_iter_value(it);
		if (!strcmp(op, "prefix"))
			c->kind = FPC_AB_PREFIX;
		else if (!strcmp(op, "suffix"))
			c->kind = FPC_AB_SUFFIX;
		else {
			fp_err(err, errlen, key, "anything-but: unsupported operator \"%.32s\" (prefix or suffix)", op);
			return -1;
		}
		return fp_string_operand(x, key, op, c, err, errlen);
	}
	if (json_is_string(v) || json_is_number(v)) {
		json_t *a = json_array();
		int rc;
		if (!a || json_array_append((json_t *)a, (json_t *)v) < 0) {
			json_decref(a);
			fp_err(err, errlen, key, "out of memory");
			return -1;
		}
		rc = fp_parse_anything_but(a, key, c, err, errlen);
		json_decref(a);
		return rc;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		fp_err(err, errlen, key, "anything-but takes a string, a number, a non-empty array of them, or "
					  "{\"prefix\": ...} / {\"suffix\": ...}");
		return -1;
	}
	c->nlist = json_array_size(v);
	c->kind = json_is_string(json_array_get(v, 0)) ? FPC_AB_STRS : FPC_AB_NUMS;
	if (c->kind == FPC_AB_STRS) {
		c->strs = calloc(c->nlist, sizeof *c->strs);
		c->lens = calloc(c->nlist, sizeof *c->lens);
	} else {
		c->nums = calloc(c->nlist, sizeof *c->nums);
	}
	if (c->kind == FPC_AB_STRS ? !c->strs || !c->lens : !c->nums) {
		fp_err(err, errlen, key, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < c->nlist; i++) {
		const json_t *e = json_array_get(v, i);
		if (c->kind == FPC_AB_STRS && json_is_string(e)) {
			c->lens[i] = json_string_length(e);
			c->strs[i] = fp_dup(json_string_value(e), c->lens[i]);
			if (!c->strs[i]) {
				fp_err(err, errlen, key, "out of memory");
				return -1;
			}
		} else if (c->kind == FPC_AB_NUMS && json_is_number(e)) {
			if (fp_policy_num(e, &c->nums[i]) < 0) {
				fp_err(err, errlen, key, "anything-but: %g is outside -1e9..1e9", json_number_value(e));
				return -1;
			}
		} else {
			fp_err(err, errlen, key, "anything-but: the list must be all strings or all numbers");
			return -1;
		}
	}
	return 0;
}

/* The address text S as FAMILY's bytes in OUT: 0, or -1. */
static int fp_addr(const char *s, int *family, unsigned char *out)
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Whether the first BITS bits of A and B are equal. */
static int fp_prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full))
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		return (a[full] & mask) == (b[full] & mask);
	}
	return 1;
}

static int fp_parse_cidr(const json_t *v, const char *key, struct fp_cond *c, char *err, size_t errlen)
{
	char buf[64], *slash, *end;
	unsigned long bits;
	c->kind = FPC_CIDR;
	if (!json_is_string(v) || json_string_length(v) >= sizeof buf) {
		fp_err(err, errlen, key, "cidr takes a network such as \"10.0.0.0/24\"");
		return -1;
	}
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (fp_addr(buf, &c->family, c->net) < 0) {
		fp_err(err, errlen, key, "cidr: \"%.48s\" is not an IP address", buf);
		return -1;
	}
	c->bits = c->family == AF_INET ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9' || (bits = strtoul(slash + 1, &end, 10), *end) ||
		    bits > c->bits) {
			fp_err(err, errlen, key, "cidr: bad prefix length \"/%.8s\" (0 to %u)", slash + 1, c->bits);
			return -1;
		}
		c->bits = (unsigned)bits;
	}
	return 0;
}

static int fp_parse_cond(const json_t *v, const char *key, struct fp_cond *c, char *err, size_t errlen)
{
	const char *op;
	const json_t *x;
	if (json_is_string(v)) {
		c->kind = FPC_STR;
		return fp_string_operand(v, key, "exact", c, err, errlen);
	}
	if (json_is_number(v)) {
		c->kind = FPC_NUM;
		if (fp_policy_num(v, &c->lo) < 0) {
			fp_err(err, errlen, key, "%g is outside -1e9..1e9", json_number_value(v));
			return -1;
		}
		c->hi = c->lo;
		c->has_lo = c->has_hi = c->lo_incl = c->hi_incl = 1;
		return 0;
	}
	if (!json_is_object(v)) {
		fp_err(err, errlen, key, "a condition must be a string, a number or an operator object, not %s",
		       json_is_array(v) ? "an array" : json_is_null(v) ? "null" : "a boolean");
		return -1;
	}
	if (json_object_size(v) != 1) {
		fp_err(err, errlen, key, "an operator object must have exactly one operator, not %zu",
		       json_object_size(v));
		return -1;
	}
	op = json_object_iter_key(json_object_iter((json_t *)v));
	x = json_object_iter_value(json_object_iter((json_t *)v));
	if (!strcmp(op, "prefix")) {
		c->kind = FPC_PREFIX;
		return fp_string_operand(x, key, op, c, err, errlen);
	}
	if (!strcmp(op, "suffix")) {
		c->kind = FPC_SUFFIX;
		return fp_string_operand(x, key, op, c, err, errlen);
	}
	if (!strcmp(op, "equals-ignore-case")) {
		c->kind = FPC_EIC;
		return fp_string_operand(x, key, op, c, err, errlen);
	}
	if (!strcmp(op, "anything-but"))
		return fp_parse_anything_but(x, key, c, err, errlen);
	if (!strcmp(op, "numeric"))
		return fp_parse_numeric(x, key, c, err, errlen);
	if (!strcmp(op, "exists")) {
		if (!json_is_boolean(x)) {
			fp_err(err, errlen, key, "exists takes true or false");
			return -1;
		}
		c->kind = FPC_EXISTS;
		c->exists = json_is_true(x);
		return 0;
	}
	if (!strcmp(op, "cidr"))
		return fp_parse_cidr(x, key, c, err, errlen);
	fp_err(err, errlen, key,
	       "\"%.32s\" is not an operator; nested filter policies are not accepted for attribute-based filtering",
	       op);
	return -1;
}

struct fp_policy *fp_parse(const char *json_text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	struct fp_policy *p;
	const char *key;
	json_t *val;
	size_t len, combos = 1;
	if (err && errlen)
		err[0] = '\0';
	if (!json_text) {
		fp_err(err, errlen, NULL, "no policy");
		return NULL;
	}
	len = strlen(json_text);
	if (len > FP_MAX_SIZE) {
		fp_err(err, errlen, NULL, "the policy is %zu bytes; the maximum size is 256 KB", len);
		return NULL;
	}
	root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		fp_err(err, errlen, NULL, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		fp_err(err, errlen, NULL, "the policy must be a JSON object");
		json_decref(root);
		return NULL;
	}
	if (json_object_size(root) > FP_MAX_KEYS) {
		fp_err(err, errlen, NULL, "the policy has %zu keys; the maximum is %d", json_object_size(root),
		       FP_MAX_KEYS);
		json_decref(root);
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		fp_err(err, errlen, NULL, "out of memory");
		json_decref(root);
		return NULL;
	}
	json_object_foreach(root, key, val) {
		struct fp_key *k = &p->keys[p->nkeys];
		size_t n;
		if (json_is_object(val)) {
			fp_err(err, errlen, key,
			       "nested filter policies are not accepted for attribute-based filtering");
			goto fail;
		}
		if (!json_is_array(val)) {
			fp_err(err, errlen, key, "the value must be an array of conditions");
			goto fail;
		}
		n = json_array_size(val);
		if (n == 0) {
			fp_err(err, errlen, key, "the array of conditions is empty");
			goto fail;
		}
		if (n > FP_MAX_COMBINATIONS || combos * n > FP_MAX_COMBINATIONS) {
			fp_err(err, errlen, key, "the policy's total combination of values exceeds %d",
			       FP_MAX_COMBINATIONS);
			goto fail;
		}
		combos *= n;
		k->name = strdup(key);
		k->conds = calloc(n, sizeof *k->conds);
		p->nkeys++;
		if (!k->name || !k->conds) {
			fp_err(err, errlen, key, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			k->nconds++;
			if (fp_parse_cond(json_array_get(val, i), key, &k->conds[i], err, errlen) < 0)
				goto fail;
		}
	}
	json_decref(root);
	return p;
fail:
	json_decref(root);
	fp_free(p);
	return NULL;
}

/* matching ------------------------------------------------------------------ */

/* One value of an attribute: a string or a number (10^-5 units). */
struct fp_val {
	int is_num;
	const char *s;
	size_t len;
	int64_t n;
};

/* A message number in 10^-5 units: 0, or -1 if it is not a number in range. */
static int fp_msg_num(const char *s, int64_t *out)
{
	char *end;
	double d;
	if (!*s)
		return -1;
	d = strtod(s, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end || !isfinite(d) || d < -FP_LIMIT || d > FP_LIMIT)
		return -1;
	*out = (int64_t)llround(d * FP_SCALE);
	return 0;
}

static int fp_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int fp_cond_val(const struct fp_cond *c, const struct fp_val *v)
{
	switch (c->kind) {
	case FPC_STR:
		return !v->is_num && v->len == c->slen && !memcmp(v->s, c->s, c->slen);
	case FPC_NUM:
		if (!v->is_num)
			return 0;
		if (c->has_lo && (v->n < c->lo || (v->n == c->lo && !c->lo_incl)))
			return 0;
		if (c->has_hi && (v->n > c->hi || (v->n == c->hi && !c->hi_incl)))
			return 0;
		return 1;
	case FPC_PREFIX:
	case FPC_AB_PREFIX:
		return !v->is_num && v->len >= c->slen && !memcmp(v->s, c->s, c->slen);
	case FPC_SUFFIX:
	case FPC_AB_SUFFIX:
		return !v->is_num && v->len >= c->slen && !memcmp(v->s + v->len - c->slen, c->s, c->slen);
	case FPC_EIC:
		if (v->is_num || v->len != c->slen)
			return 0;
		for (size_t i = 0; i < c->slen; i++)
			if (fp_lower((unsigned char)v->s[i]) != fp_lower((unsigned char)c->s[i]))
				return 0;
		return 1;
	case FPC_AB_STRS:
		for (size_t i = 0; i < c->nlist; i++)
			if (!v->is_num && v->len == c->lens[i] && !memcmp(v->s, c->strs[i], v->len))
				return 1;
		return 0;
	case FPC_AB_NUMS:
		for (size_t i = 0; i < c->nlist; i++)
			if (v->is_num && v->n == c->nums[i])
				return 1;
		return 0;
	case FPC_CIDR: {
		char buf[64];
		unsigned char addr[16];
		int family;
		if (v->is_num || v->len >= sizeof buf)
			return 0;
		memcpy(buf, v->s, v->len);
		buf[v->len] = '\0';
		return fp_addr(buf, &family, addr) == 0 && family == c->family &&
		       fp_prefix_eq(addr, c->net, c->bits);
	}
	case FPC_EXISTS:
		return 0;
	}
	return 0;
}

static int fp_is_ab(enum fp_kind k)
{
	return k == FPC_AB_STRS || k == FPC_AB_NUMS || k == FPC_AB_PREFIX || k == FPC_AB_SUFFIX;
}

/* Whether C holds for an attribute with the NV values VALS. */
static int fp_cond_attr(const struct fp_cond *c, const struct fp_val *vals, size_t nv)
{
	if (c->kind == FPC_EXISTS)
		return c->exists;
	if (fp_is_ab(c->kind)) {
		/* present, with values of the list's type, none of them listed */
		int want_num = c->kind == FPC_AB_NUMS, typed = 0;
		for (size_t i = 0; i < nv; i++) {
			if (vals[i].is_num != want_num)
				continue;
			typed = 1;
			if (fp_cond_val(c, &vals[i]))
				return 0;
		}
		return typed;
	}
	for (size_t i = 0; i < nv; i++)
		if (fp_cond_val(c, &vals[i]))
			return 1;
	return 0;
}

/* Whether TYPE is BASE or BASE.custom. */
static int fp_type_is(const char *type, const char *base)
{
	size_t n = strlen(base);
	return !strncmp(type, base, n) && (type[n] == '\0' || type[n] == '.');
}

static int fp_key_match(const struct fp_key *k, const struct fp_attr *a)
{
	struct fp_val one, *vals = NULL;
	size_t nv = 0;
	json_t *arr = NULL;
	int r = 0;
	if (!a) {
		for (size_t i = 0; i < k->nconds; i++)
			if (k->conds[i].kind == FPC_EXISTS && !k->conds[i].exists)
				return 1;
		return 0;
	}
	const char *type = a->type ? a->type : "String", *value = a->value ? a->value : "";
	if (fp_type_is(type, "String.Array")) {
		arr = json_loads(value, JSON_DECODE_ANY, NULL);
		if (json_is_array(arr) && json_array_size(arr)) {
			vals = calloc(json_array_size(arr), sizeof *vals);
			for (size_t i = 0; vals && i < json_array_size(arr); i++) {
				const json_t *e = json_array_get(arr, i);
				if (json_is_string(e)) {
					vals[nv++] = (struct fp_val){ 0, json_string_value(e),
								      json_string_length(e), 0 };
				} else if (json_is_number(e)) {
					double d = json_number_value(e);
					if (isfinite(d) && d >= -FP_LIMIT && d <= FP_LIMIT)
						vals[nv++] = (struct fp_val){ 1, NULL, 0,
									      (int64_t)llround(d * FP_SCALE) };
				}
			}
		}
	} else if (fp_type_is(type, "Number")) {
		one = (struct fp_val){ 1, NULL, 0, 0 };
		if (fp_msg_num(value, &one.n) == 0) {
			vals = &one;
			nv = 1;
		}
	} else if (fp_type_is(type, "String")) {
		one = (struct fp_val){ 0, value, strlen(value), 0 };
		vals = &one;
		nv = 1;
	}
	for (size_t i = 0; i < k->nconds && !r; i++)
		r = fp_cond_attr(&k->conds[i], vals, nv);
	if (vals != &one)
		free(vals);
	json_decref(arr);
	return r;
}

int fp_match(const struct fp_policy *p, const struct fp_attr *attrs, size_t n)
{
	for (size_t k = 0; k < p->nkeys; k++) {
		const struct fp_attr *a = NULL;
		for (size_t i = 0; i < n; i++)
			if (attrs[i].name && !strcmp(attrs[i].name, p->keys[k].name)) {
				a = &attrs[i];
				break;
			}
		if (!fp_key_match(&p->keys[k], a))
			return 0;
	}
	return 1;
}
