/* config.c - libconfig file -> validated, immutable struct albd_config.
 *
 * Every group of the file is described by a table of keys (name, kind,
 * offset of the field, bounds, default), as nginx's ngx_command_t rows are:
 * parse_group() rejects names the table does not know, reports required
 * ones that are missing, and converts and range-checks the numeric kinds
 * itself; strings, lists and sub-groups go to a handler named in the row.
 * Defaults are written into a new object before its group is read
 * (apply_defaults()), so an omitted group gets them too.
 *
 * Errors are formatted in one place, fail(), from the offending libconfig
 * setting: its file, its line and its dotted path as the user would look it
 * up ("listeners.[0].rules.[1].priority"). Only the first error is kept;
 * every parser returns -1 as soon as it has reported one, and config_load()
 * frees the partly built config with config_free(), which is why arrays are
 * allocated zeroed at their final size before they are filled.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN     64
#define HOST_PATTERN_MAX 255
#define PRIORITY_MAX     50000
#define WORKERS_MAX      256

struct ctx {
	const char *path; /* the file given to config_load() */
	char *err;        /* where the first error goes, may be NULL */
	size_t errlen;
	int failed; /* an error has been reported */
	struct albd_config *cfg;
};

/* ------------------------------------------------------------ errors */

/* The setting's line, or its closest ancestor's: the root has none (0). */
static unsigned line_of(const config_setting_t *s)
{
	for (; s; s = config_setting_parent(s))
		if (config_setting_source_line(s) > 0)
			return config_setting_source_line(s);
	return 0;
}

/* "listeners.[0].rules.[1].priority": names for group members, [i] for list
 * and array elements, nothing for the root. */
static void setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[32];
	size_t n = 0, used = 0;

	for (; s && !config_setting_is_root(s) && n < 32; s = config_setting_parent(s))
		chain[n++] = s;
	buf[0] = '\0';
	while (n-- > 0) {
		const char *name = config_setting_name(chain[n]);
		const char *dot = used ? "." : "";
		int w;

		if (name)
			w = snprintf(buf + used, len - used, "%s%s", dot, name);
		else
			w = snprintf(buf + used, len - used, "%s[%d]", dot,
				     config_setting_index(chain[n]));
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

/* Report "FILE:LINE: SETTING: message" about s (s may be NULL: "FILE:
 * message"); the line and the setting are left out when there is none (the
 * root). Keeps the first error only. Returns -1 for "return fail(...)". */
static int fail(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX], where[CONFIG_ERR_MAX / 2] = "";
	const char *file = c->path;
	unsigned line = 0;
	va_list ap;

	if (c->failed)
		return -1;
	c->failed = 1;
	if (!c->err || c->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (s) {
		if (config_setting_source_file(s))
			file = config_setting_source_file(s);
		line = line_of(s);
		setting_path(s, where, sizeof where);
	}
	if (line > 0 && where[0])
		snprintf(c->err, c->errlen, "%s:%u: %s: %s", file, line, where, msg);
	else if (line > 0)
		snprintf(c->err, c->errlen, "%s:%u: %s", file, line, msg);
	else if (where[0])
		snprintf(c->err, c->errlen, "%s: %s: %s", file, where, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", file, msg);
	return -1;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ small helpers */

static char *sdup(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		fail(c, NULL, "out of memory");
	return d;
}

static void *zalloc(struct ctx *c, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		fail(c, NULL, "out of memory");
	return p;
}

/* Replace *field (a default or NULL) with a copy of v. */
static int replace_str(struct ctx *c, char **field, const char *v)
{
	char *d = sdup(c, v);

	if (!d)
		return -1;
	free(*field);
	*field = d;
	return 0;
}

static const char *string_of(struct ctx *c, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		fail(c, s, "expected a string");
		return NULL;
	}
	return config_setting_get_string(s);
}

/* Length of a list "( ... )" (an array "[ ... ]" is accepted too: only an
 * empty one can get past the element checks), or -1. */
static int list_length(struct ctx *c, const config_setting_t *s)
{
	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return fail(c, s, "expected a list ( ... )");
	return config_setting_length(s);
}

/* An element of a list, as the setting its own errors should name. */
static const config_setting_t *elem(const config_setting_t *list, int i)
{
	return config_setting_get_elem(list, (unsigned)i);
}

/* The member NAME of group g if present, else g: where to point an error
 * about a value that may have come from a default. */
static const config_setting_t *member_or(const config_setting_t *g, const char *name)
{
	const config_setting_t *m = config_setting_get_member(g, name);

	return m ? m : g;
}

static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int valid_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_.-");

	return n > 0 && n <= NAME_MAX_LEN && s[n] == '\0';
}

/* ------------------------------------------------------------ key tables */

enum kind {
	K_INT = 0,     /* int, an integer in the file */
	K_UINT,        /* unsigned */
	K_U64,         /* uint64_t, int or int64 (100L) in the file */
	K_MS,          /* unsigned milliseconds; seconds, int or float, in the file */
	K_RATIO,       /* double, int or float in the file */
	K_BOOL,        /* int 0/1, true/false in the file */
	K_FN,          /* handled by fn */
	K_UNSUPPORTED, /* a name that later versions of albd understand */
};

#define KEY_REQUIRED 0x1 /* error when missing */
#define KEY_OR_ZERO  0x2 /* K_MS: 0 is allowed besides min..max */

typedef int (*key_fn)(struct ctx *c, const config_setting_t *s, void *field);

struct key {
	const char *name;
	enum kind kind;
	unsigned flags;       /* KEY_* */
	size_t off;           /* of the field in the object the table describes */
	double min, max, def; /* numeric kinds, in file units (seconds for K_MS) */
	key_fn fn;            /* K_FN: gets the field at off (the object if off = 0) */
};

/* clang-format off */
#define NUM(name, kind, type, field, min, max, def, flags) \
	{ name, kind, flags, offsetof(type, field), min, max, def, NULL }
#define FN(name, type, field, fn, flags) \
	{ name, K_FN, flags, offsetof(type, field), 0, 0, 0, fn }
#define FN_OBJ(name, fn, flags) \
	{ name, K_FN, flags, 0, 0, 0, 0, fn }
#define UNSUPPORTED(name) \
	{ name, K_UNSUPPORTED, 0, 0, 0, 0, 0, NULL }
#define KEY_END \
	{ NULL, K_FN, 0, 0, 0, 0, 0, NULL }
/* clang-format on */

#define I64_LIMIT 9223372036854775807.0

static unsigned to_ms(double seconds)
{
	return (unsigned)(seconds * 1000.0 + 0.5);
}

static void apply_defaults(const struct key *keys, void *obj)
{
	for (const struct key *k = keys; k->name; k++) {
		void *f = (char *)obj + k->off;

		switch (k->kind) {
		case K_INT:
			*(int *)f = (int)k->def;
			break;
		case K_UINT:
			*(unsigned *)f = (unsigned)k->def;
			break;
		case K_U64:
			*(uint64_t *)f = (uint64_t)k->def;
			break;
		case K_MS:
			*(unsigned *)f = to_ms(k->def);
			break;
		case K_RATIO:
			*(double *)f = k->def;
			break;
		case K_BOOL:
			*(int *)f = k->def != 0;
			break;
		case K_FN:
		case K_UNSUPPORTED:
			break;
		}
	}
}

static int get_integer(struct ctx *c, const config_setting_t *s, long long *out)
{
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return fail(c, s, "expected an integer");
	*out = t == CONFIG_TYPE_INT ? config_setting_get_int(s) : config_setting_get_int64(s);
	return 0;
}

static int get_number(struct ctx *c, const config_setting_t *s, const char *what, double *out)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		break;
	default:
		return fail(c, s, "expected %s", what);
	}
	if (!isfinite(*out))
		return fail(c, s, "expected %s", what);
	return 0;
}

/* Convert, range-check and store the numeric kinds; hand K_FN to its fn. */
static int set_value(struct ctx *c, const config_setting_t *s, const struct key *k, void *f)
{
	long long v = 0;
	double d = 0;

	switch (k->kind) {
	case K_INT:
	case K_UINT:
	case K_U64:
		if (get_integer(c, s, &v) < 0)
			return -1;
		if ((double)v < k->min || (double)v > k->max) {
			if (k->max >= I64_LIMIT)
				return fail(c, s, "%lld is out of range (expected %lld or more)", v,
					    (long long)k->min);
			return fail(c, s, "%lld is out of range (expected %lld..%lld)", v,
				    (long long)k->min, (long long)k->max);
		}
		if (k->kind == K_INT)
			*(int *)f = (int)v;
		else if (k->kind == K_UINT)
			*(unsigned *)f = (unsigned)v;
		else
			*(uint64_t *)f = (uint64_t)v;
		return 0;
	case K_MS:
		if (get_number(c, s, "a number of seconds", &d) < 0)
			return -1;
		if (!((k->flags & KEY_OR_ZERO) && d == 0) && (d < k->min || d > k->max))
			return fail(c, s, "%g is out of range (expected %s%g..%g seconds)", d,
				    k->flags & KEY_OR_ZERO ? "0 or " : "", k->min, k->max);
		*(unsigned *)f = to_ms(d);
		return 0;
	case K_RATIO:
		if (get_number(c, s, "a number", &d) < 0)
			return -1;
		if (d < k->min || d > k->max)
			return fail(c, s, "%g is out of range (expected %g..%g)", d, k->min,
				    k->max);
		*(double *)f = d;
		return 0;
	case K_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(c, s, "expected true or false");
		*(int *)f = config_setting_get_bool(s) != 0;
		return 0;
	case K_FN:
		return k->fn(c, s, f);
	case K_UNSUPPORTED:
		break;
	}
	return fail(c, s, "not supported by this version of albd");
}

static const struct key *find_key(const struct key *keys, const char *name)
{
	for (const struct key *k = keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Read group g into obj as described by keys: first every member must be
 * known (in file order), then the keys are handled in table order, which
 * lets a table read what others refer to first (target groups before
 * listeners). Defaults are expected to be in obj already. */
static int parse_group(struct ctx *c, const config_setting_t *g, const struct key *keys, void *obj)
{
	int n;

	if (!config_setting_is_group(g))
		return fail(c, g, "expected a group { ... }");
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = elem(g, i);
		const struct key *k = find_key(keys, config_setting_name(m));

		if (!k)
			return fail(c, m, "unknown setting \"%s\"", config_setting_name(m));
		if (k->kind == K_UNSUPPORTED)
			return fail(c, m, "not supported by this version of albd");
	}
	for (const struct key *k = keys; k->name; k++) {
		const config_setting_t *m;

		if (k->kind == K_UNSUPPORTED)
			continue;
		m = config_setting_get_member(g, k->name);
		if (!m) {
			if (k->flags & KEY_REQUIRED)
				return fail(c, g, "missing required setting \"%s\"", k->name);
			continue;
		}
		if (set_value(c, m, k, (char *)obj + k->off) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ string settings */

static int set_name(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (!valid_name(v))
		return fail(c, s,
			    "invalid name \"%s\" (expected 1 to %d characters "
			    "from A-Z a-z 0-9 _ . -)",
			    v, NAME_MAX_LEN);
	return replace_str(c, field, v);
}

/* ------------------------------------------------------------ fixed responses */

static int set_content_type(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (!v[0] || has_ctl(v))
		return fail(c, s, "invalid content type \"%s\"", v);
	return replace_str(c, field, v);
}

static int set_body(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_fixed_response *fr = obj;
	const char *v = string_of(c, s);

	if (!v || replace_str(c, &fr->body, v) < 0)
		return -1;
	fr->body_len = strlen(fr->body);
	return 0;
}

/* clang-format off */
static const struct key fixed_keys[] = {
	NUM("status", K_INT, struct cfg_fixed_response, status, 200, 599, 0, KEY_REQUIRED),
	FN("content_type", struct cfg_fixed_response, content_type, set_content_type, 0),
	FN_OBJ("body", set_body, 0),
	KEY_END
};
/* clang-format on */

/* "fixed_response" / "default_fixed_response" = { ... }: field is a
 * struct cfg_fixed_response **. */
static int set_fixed(struct ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_fixed_response *fr = zalloc(c, 1, sizeof *fr);

	if (!fr)
		return -1;
	*(struct cfg_fixed_response **)field = fr;
	apply_defaults(fixed_keys, fr);
	if (!(fr->content_type = sdup(c, "text/plain")) || !(fr->body = sdup(c, "")))
		return -1;
	return parse_group(c, s, fixed_keys, fr);
}

/* ------------------------------------------------------------ forwards */

static struct cfg_target_group *find_tg(struct albd_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ntarget_groups; i++)
		if (cfg->target_groups[i].name && strcmp(cfg->target_groups[i].name, name) == 0)
			return &cfg->target_groups[i];
	return NULL;
}

/* A target group name in a forward: field is a struct cfg_forward *. */
static int set_forward_tg(struct ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_forward *fw = field;
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (!(fw->tg = find_tg(c->cfg, v)))
		return fail(c, s, "unknown target group \"%s\"", v);
	return replace_str(c, &fw->target_group_name, v);
}

static int set_default_forward(struct ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_forward *fw = field;

	fw->weight = 1;
	return set_forward_tg(c, s, field);
}

/* clang-format off */
static const struct key forward_keys[] = {
	FN_OBJ("target_group", set_forward_tg, KEY_REQUIRED),
	NUM("weight", K_UINT, struct cfg_forward, weight, 0, 999, 1, 0),
	KEY_END
};
/* clang-format on */

/* forward = ( { target_group = "x"; weight = 1; }, ... ) */
static int parse_forwards(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;
	int n = list_length(c, s);
	unsigned total = 0;

	if (n < 0)
		return -1;
	if (n == 0)
		return fail(c, s, "expected at least one target group");
	if (!(r->forwards = zalloc(c, (size_t)n, sizeof *r->forwards)))
		return -1;
	r->nforwards = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = elem(s, i);
		struct cfg_forward *fw = &r->forwards[i];

		apply_defaults(forward_keys, fw);
		if (parse_group(c, e, forward_keys, fw) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (r->forwards[j].tg == fw->tg)
				return fail(c, config_setting_get_member(e, "target_group"),
					    "target group \"%s\" is listed twice",
					    fw->target_group_name);
		total += fw->weight;
	}
	if (total == 0)
		return fail(c, s, "total weight must be greater than 0");
	r->forward_weight_total = total;
	return 0;
}

/* ------------------------------------------------------------ rules */

typedef int (*value_check)(struct ctx *c, const config_setting_t *s, char *v);

/* A condition: one string or a list (array or list) of them, each checked
 * (and normalised in place) by check. */
static int set_strings(struct ctx *c, const config_setting_t *s, char ***out, size_t *nout,
		       value_check check)
{
	int single = config_setting_type(s) == CONFIG_TYPE_STRING;
	int n = 1;

	if (!single) {
		if (!config_setting_is_list(s) && !config_setting_is_array(s))
			return fail(c, s, "expected a string or a list of strings");
		if ((n = config_setting_length(s)) == 0)
			return fail(c, s, "expected at least one value");
	}
	if (!(*out = zalloc(c, (size_t)n, sizeof **out)))
		return -1;
	*nout = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = single ? s : elem(s, i);
		const char *v = string_of(c, e);

		if (!v || !((*out)[i] = sdup(c, v)) || check(c, e, (*out)[i]) < 0)
			return -1;
	}
	return 0;
}

/* Host patterns: DNS characters plus the wildcards, stored lower case. */
static int check_host(struct ctx *c, const config_setting_t *s, char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789-._*?");

	if (n == 0 || n > HOST_PATTERN_MAX || v[n] != '\0')
		return fail(c, s,
			    "invalid host pattern \"%s\" (expected A-Z a-z 0-9 - . _ "
			    "and the wildcards * ?)",
			    v);
	for (; *v; v++)
		if (*v >= 'A' && *v <= 'Z')
			*v = (char)(*v - 'A' + 'a');
	return 0;
}

static int check_path(struct ctx *c, const config_setting_t *s, char *v)
{
	if (v[0] != '/' && v[0] != '*')
		return fail(c, s, "invalid path pattern \"%s\" (must start with '/' or '*')", v);
	if (has_space_or_ctl(v))
		return fail(c, s,
			    "invalid path pattern \"%s\" (spaces and control characters "
			    "are not allowed)",
			    v);
	return 0;
}

/* Methods are tokens of letters, stored upper case (matched exactly). */
static int check_method(struct ctx *c, const config_setting_t *s, char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	if (n == 0 || v[n] != '\0')
		return fail(c, s, "invalid method \"%s\" (expected letters A-Z only)", v);
	for (; *v; v++)
		if (*v >= 'a' && *v <= 'z')
			*v = (char)(*v - 'a' + 'A');
	return 0;
}

static int set_hosts(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;

	return set_strings(c, s, &r->hosts, &r->nhosts, check_host);
}

static int set_paths(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;

	return set_strings(c, s, &r->paths, &r->npaths, check_path);
}

static int set_methods(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;

	return set_strings(c, s, &r->methods, &r->nmethods, check_method);
}

/* clang-format off */
static const struct key rule_keys[] = {
	NUM("priority", K_INT, struct cfg_rule, priority, 1, PRIORITY_MAX, 0, KEY_REQUIRED),
	FN_OBJ("host", set_hosts, 0),
	FN_OBJ("path", set_paths, 0),
	FN_OBJ("method", set_methods, 0),
	FN_OBJ("forward", parse_forwards, 0),
	FN("fixed_response", struct cfg_rule, fixed, set_fixed, 0),
	KEY_END
};
/* clang-format on */

static int parse_rule(struct ctx *c, const config_setting_t *s, struct cfg_rule *r)
{
	if (parse_group(c, s, rule_keys, r) < 0)
		return -1;
	if (r->nhosts + r->npaths + r->nmethods == 0)
		return fail(c, s, "needs a condition: host, path or method");
	if (r->forwards && r->fixed)
		return fail(c, s, "needs forward or fixed_response, not both");
	if (!r->forwards && !r->fixed)
		return fail(c, s, "needs forward or fixed_response");
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct cfg_rule *x = a, *y = b;

	return (x->priority > y->priority) - (x->priority < y->priority);
}

/* rules = ( { priority = 10; ... }, ... ), stored by ascending priority. */
static int parse_rules(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_listener *l = obj;
	unsigned char seen[PRIORITY_MAX / 8 + 1] = { 0 };
	int n = list_length(c, s);

	if (n <= 0)
		return n;
	if (!(l->rules = zalloc(c, (size_t)n, sizeof *l->rules)))
		return -1;
	l->nrules = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = elem(s, i);
		struct cfg_rule *r = &l->rules[i];
		int p;

		r->line = (int)line_of(e);
		if (parse_rule(c, e, r) < 0)
			return -1;
		p = r->priority;
		if (seen[p / 8] & (1u << (p % 8))) {
			int first = 0;

			for (int j = 0; j < i; j++)
				if (l->rules[j].priority == p)
					first = l->rules[j].line;
			return fail(c, config_setting_get_member(e, "priority"),
				    "duplicate priority %d (first used at line %d)", p, first);
		}
		seen[p / 8] |= (unsigned char)(1u << (p % 8));
	}
	qsort(l->rules, l->nrules, sizeof *l->rules, rule_cmp);
	return 0;
}

/* ------------------------------------------------------------ listeners */

static int set_listen(struct ctx *c, const config_setting_t *s, void *field)
{
	char msg[CONFIG_ERR_MAX];
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (config_parse_addr(v, 0, field, msg, sizeof msg) < 0)
		return fail(c, s, "%s", msg);
	return 0;
}

/* clang-format off */
/* ---------------------------------------------------------------- tls */

static int set_file(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (!*v)
		return fail(c, s, "expected a file name");
	return replace_str(c, field, v);
}

static int set_str(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	return v ? replace_str(c, field, v) : -1;
}

/* clang-format off */
static const struct key cert_keys[] = {
	FN("cert", struct cfg_certificate, cert, set_file, KEY_REQUIRED),
	FN("key", struct cfg_certificate, key, set_file, KEY_REQUIRED),
	KEY_END
};
/* clang-format on */

static int parse_certs(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_tls *t = obj;
	int n = list_length(c, s);

	if (n < 0)
		return -1;
	if (n == 0)
		return fail(c, s, "expected at least one certificate");
	if (!(t->certs = zalloc(c, (size_t)n, sizeof *t->certs)))
		return -1;
	t->ncerts = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = elem(s, i);
		t->certs[i].line = (int)line_of(e);
		if (!config_setting_is_group(e))
			return fail(c, e, "expected a group { cert = \"...\"; key = \"...\"; }");
		if (parse_group(c, e, cert_keys, &t->certs[i]) < 0)
			return -1;
	}
	return 0;
}

static int set_policy(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "intermediate") != 0 && strcmp(v, "modern") != 0)
		return fail(c, s, "unknown policy \"%s\" (expected \"intermediate\" or \"modern\")", v);
	return replace_str(c, field, v);
}

static int set_min_version(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "TLSv1.2") == 0)
		*(int *)field = 0x0303;   /* TLS1_2_VERSION */
	else if (strcmp(v, "TLSv1.3") == 0)
		*(int *)field = 0x0304;   /* TLS1_3_VERSION */
	else
		return fail(c, s,
			    "unsupported min_version \"%s\" (expected \"TLSv1.2\" or \"TLSv1.3\"; "
			    "older versions stay off)",
			    v);
	return 0;
}

static int check_alpn(struct ctx *c, const config_setting_t *s, char *v)
{
	if (strcmp(v, "http/1.1") != 0 && strcmp(v, "http/1.0") != 0)
		return fail(c, s, "unsupported ALPN protocol \"%s\" (albd speaks \"http/1.1\")", v);
	return 0;
}

static int set_alpn(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_tls *t = obj;

	for (size_t i = 0; i < t->nalpn; i++)
		free(t->alpn[i]);
	free(t->alpn);
	t->alpn = NULL;
	t->nalpn = 0;
	return set_strings(c, s, &t->alpn, &t->nalpn, check_alpn);
}

/* clang-format off */
static const struct key tls_keys[] = {
	FN_OBJ("certificates", parse_certs, KEY_REQUIRED),
	FN("policy", struct cfg_tls, policy, set_policy, 0),
	FN("min_version", struct cfg_tls, min_version, set_min_version, 0),
	FN("ciphers", struct cfg_tls, ciphers, set_str, 0),
	FN("ciphersuites", struct cfg_tls, ciphersuites, set_str, 0),
	FN_OBJ("alpn", set_alpn, 0),
	KEY_END
};
/* clang-format on */

static int parse_tls(struct ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_tls *t = zalloc(c, 1, sizeof *t);

	if (!t)
		return -1;
	*(struct cfg_tls **)field = t;
	t->line = (int)line_of(s);
	if (!config_setting_is_group(s))
		return fail(c, s, "expected a group { ... }");
	if (!(t->policy = sdup(c, "intermediate")) || !(t->alpn = zalloc(c, 1, sizeof *t->alpn)) ||
	    !(t->alpn[0] = sdup(c, "http/1.1")))
		return -1;
	t->nalpn = 1;
	return parse_group(c, s, tls_keys, t);
}

static const struct key listener_keys[] = {
	FN("name", struct cfg_listener, name, set_name, KEY_REQUIRED),
	FN("listen", struct cfg_listener, addr, set_listen, KEY_REQUIRED),
	FN_OBJ("rules", parse_rules, 0),
	FN("default_forward", struct cfg_listener, default_forward, set_default_forward, 0),
	FN("default_fixed_response", struct cfg_listener, default_fixed, set_fixed, 0),
	FN("tls", struct cfg_listener, tls, parse_tls, 0),
	KEY_END
};
/* clang-format on */

static int parse_listener(struct ctx *c, const config_setting_t *s, struct cfg_listener *l)
{
	int fwd, fixed;

	if (parse_group(c, s, listener_keys, l) < 0)
		return -1;
	fwd = l->default_forward.target_group_name != NULL;
	fixed = l->default_fixed != NULL;
	if (fwd && fixed)
		return fail(c, s, "needs default_forward or default_fixed_response, not both");
	if (!fwd && !fixed)
		return fail(c, s, "needs default_forward or default_fixed_response");
	return 0;
}

static int parse_listeners(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct albd_config *cfg = obj;
	int n = list_length(c, s);

	if (n < 0)
		return -1;
	if (n == 0)
		return fail(c, s, "expected at least one listener");
	if (!(cfg->listeners = zalloc(c, (size_t)n, sizeof *cfg->listeners)))
		return -1;
	cfg->nlisteners = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = elem(s, i);
		struct cfg_listener *l = &cfg->listeners[i];

		l->line = (int)line_of(e);
		if (parse_listener(c, e, l) < 0)
			return -1;
		for (int j = 0; j < i; j++) {
			const struct cfg_listener *o = &cfg->listeners[j];

			if (strcmp(o->name, l->name) == 0)
				return fail(
					c, config_setting_get_member(e, "name"),
					"duplicate listener name \"%s\" (first defined at line %d)",
					l->name, o->line);
			if (config_addr_equal(&o->addr, &l->addr))
				return fail(
					c, config_setting_get_member(e, "listen"),
					"duplicate listen address \"%s\" (also used by listener "
					"\"%s\" at line %d)",
					l->addr.text, o->name, o->line);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ target groups */

static int set_algorithm(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "round_robin") == 0)
		*(enum tg_algorithm *)field = TG_ALGO_ROUND_ROBIN;
	else if (strcmp(v, "least_outstanding_requests") == 0)
		*(enum tg_algorithm *)field = TG_ALGO_LEAST_OUTSTANDING;
	else
		return fail(c, s,
			    "unknown algorithm \"%s\" (expected \"round_robin\" or "
			    "\"least_outstanding_requests\")",
			    v);
	return 0;
}

static int set_target_address(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_target *t = obj;
	char msg[CONFIG_ERR_MAX];
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (config_parse_addr(v, 1, &t->addr, msg, sizeof msg) < 0)
		return fail(c, s, "%s", msg);
	return replace_str(c, &t->address, v);
}

/* clang-format off */
static const struct key target_keys[] = {
	FN_OBJ("address", set_target_address, KEY_REQUIRED),
	NUM("weight", K_UINT, struct cfg_target, weight, 1, 999, 1, 0),
	KEY_END
};
/* clang-format on */

/* Duplicate detection for targets: an open-addressing hash set of indexes
 * (plus one; 0 is empty) into the array being filled, keyed by address.
 * O(1) per target where comparing with every earlier one was O(n). */
struct addr_set {
	uint32_t *slots;
	size_t mask;   /* number of slots - 1, a power of two minus one */
};

static int addr_set_init(struct ctx *c, struct addr_set *set, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	set->mask = cap - 1;
	return (set->slots = zalloc(c, cap, sizeof *set->slots)) ? 0 : -1;
}

/* Add v[i]; returns the index of an earlier equal address instead, if any. */
static size_t addr_set_add(struct addr_set *set, const struct cfg_target *v, size_t i)
{
	for (size_t h = (size_t)config_addr_hash(&v[i].addr) & set->mask;; h = (h + 1) & set->mask) {
		uint32_t e = set->slots[h];

		if (e == 0) {
			set->slots[h] = (uint32_t)i + 1;
			return i;
		}
		if (config_addr_equal(&v[e - 1].addr, &v[i].addr))
			return e - 1;
	}
}

/* targets = ( { address = "ip:port"; weight = 1; }, ... ), may be empty. */
static int parse_targets(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_target_group *tg = obj;
	struct addr_set seen = { NULL, 0 };
	int n = list_length(c, s), rc = -1;

	if (n <= 0)
		return n;
	if (!(tg->targets = zalloc(c, (size_t)n, sizeof *tg->targets)) ||
	    addr_set_init(c, &seen, (size_t)n) < 0)
		goto out;
	tg->ntargets = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = elem(s, i);
		struct cfg_target *t = &tg->targets[i];
		size_t j;

		t->line = (int)line_of(e);
		apply_defaults(target_keys, t);
		if (parse_group(c, e, target_keys, t) < 0)
			goto out;
		if ((j = addr_set_add(&seen, tg->targets, (size_t)i)) != (size_t)i) {
			fail(c, config_setting_get_member(e, "address"), "duplicate target \"%s\" (also at line %d)",
			     t->addr.text, tg->targets[j].line);
			goto out;
		}
	}
	rc = 0;
out:
	free(seen.slots);
	return rc;
}

static int set_protocol(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "HTTP") == 0)
		*(int *)field = 0;
	else if (strcmp(v, "HTTPS") == 0)
		*(int *)field = 1;
	else
		return fail(c, s, "invalid protocol \"%s\" (expected \"HTTP\" or \"HTTPS\")", v);
	return 0;
}

/* port = 1..65535 or "traffic-port" (stored as 0). */
static int set_hc_port(struct ctx *c, const config_setting_t *s, void *field)
{
	int t = config_setting_type(s);
	long long v = 0;

	if (t == CONFIG_TYPE_STRING && strcmp(config_setting_get_string(s), "traffic-port") == 0) {
		*(int *)field = 0;
		return 0;
	}
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return fail(c, s, "expected a port number or \"traffic-port\"");
	if (get_integer(c, s, &v) < 0)
		return -1;
	if (v < 1 || v > 65535)
		return fail(c, s, "%lld is out of range (expected 1..65535)", v);
	*(int *)field = (int)v;
	return 0;
}

static int set_hc_path(struct ctx *c, const config_setting_t *s, void *field)
{
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (v[0] != '/')
		return fail(c, s, "invalid path \"%s\" (must start with '/')", v);
	if (has_space_or_ctl(v))
		return fail(c, s,
			    "invalid path \"%s\" (spaces and control characters are "
			    "not allowed)",
			    v);
	return replace_str(c, field, v);
}

static int set_matcher(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_health_check *hc = obj;
	char msg[CONFIG_ERR_MAX];
	const char *v = string_of(c, s);

	if (!v)
		return -1;
	if (config_parse_matcher(v, hc, msg, sizeof msg) < 0)
		return fail(c, s, "%s", msg);
	return replace_str(c, &hc->matcher, v);
}

/* clang-format off */
static const struct key hc_keys[] = {
	NUM("enabled", K_BOOL, struct cfg_health_check, enabled, 0, 1, 1, 0),
	FN("protocol", struct cfg_health_check, protocol_https, set_protocol, 0),
	FN("port", struct cfg_health_check, port, set_hc_port, 0),
	FN("path", struct cfg_health_check, path, set_hc_path, 0),
	NUM("interval", K_MS, struct cfg_health_check, interval_ms, 1, 300, 30, 0),
	NUM("timeout", K_MS, struct cfg_health_check, timeout_ms, 0.1, 120, 5, 0),
	NUM("healthy_threshold", K_UINT, struct cfg_health_check, healthy_threshold, 2, 10, 5, 0),
	NUM("unhealthy_threshold", K_UINT, struct cfg_health_check, unhealthy_threshold, 2, 10, 2, 0),
	FN_OBJ("matcher", set_matcher, 0),
	NUM("passive_failures", K_UINT, struct cfg_health_check, passive_failures, 0, 1000, 5, 0),
	NUM("flap_transitions", K_UINT, struct cfg_health_check, flap_transitions, 0, 100, 6, 0),
	NUM("flap_window", K_MS, struct cfg_health_check, flap_window_ms, 1, 3600, 60, 0),
	NUM("flap_hold", K_MS, struct cfg_health_check, flap_hold_ms, 1, 3600, 120, 0),
	KEY_END
};
/* clang-format on */

static int hc_init(struct ctx *c, struct cfg_health_check *hc)
{
	apply_defaults(hc_keys, hc);
	hc->protocol_https = 0;
	hc->port = 0;
	if (!(hc->path = sdup(c, "/")) || !(hc->matcher = sdup(c, "200")))
		return -1;
	hc->match[0].lo = hc->match[0].hi = 200;
	hc->nmatch = 1;
	return 0;
}

static int parse_health_check(struct ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_health_check *hc = field;

	if (parse_group(c, s, hc_keys, hc) < 0)
		return -1;
	if (hc->timeout_ms >= hc->interval_ms) {
		const config_setting_t *at = config_setting_get_member(s, "timeout");

		return fail(c, at ? at : member_or(s, "interval"),
			    "timeout (%g s) must be less than interval (%g s)",
			    hc->timeout_ms / 1000.0, hc->interval_ms / 1000.0);
	}
	return 0;
}

/* clang-format off */
static const struct key tg_keys[] = {
	FN("name", struct cfg_target_group, name, set_name, KEY_REQUIRED),
	FN("algorithm", struct cfg_target_group, algorithm, set_algorithm, 0),
	FN_OBJ("targets", parse_targets, 0),
	FN("health_check", struct cfg_target_group, health_check, parse_health_check, 0),
	NUM("deregistration_delay", K_MS, struct cfg_target_group, deregistration_delay_ms,
	    0, 3600, 300, 0),
	NUM("slow_start", K_MS, struct cfg_target_group, slow_start_ms, 30, 900, 0, KEY_OR_ZERO),
	NUM("connect_timeout", K_MS, struct cfg_target_group, connect_timeout_ms,
	    0.001, 3600, 10, 0),
	NUM("response_timeout", K_MS, struct cfg_target_group, response_timeout_ms,
	    0.001, 3600, 60, 0),
	NUM("keepalive_timeout", K_MS, struct cfg_target_group, keepalive_timeout_ms,
	    0.001, 3600, 4, 0),
	NUM("keepalive_max_idle", K_UINT, struct cfg_target_group, keepalive_max_idle,
	    0, 10000, 64, 0),
	FN("protocol", struct cfg_target_group, protocol_https, set_protocol, 0),
	NUM("tls_verify", K_BOOL, struct cfg_target_group, tls_verify, 0, 1, 1, 0),
	FN("ca_file", struct cfg_target_group, ca_file, set_file, 0),
	FN("tls_server_name", struct cfg_target_group, tls_server_name, set_str, 0),
	KEY_END
};
/* clang-format on */

static int parse_target_groups(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct albd_config *cfg = obj;
	int n = list_length(c, s);

	if (n <= 0)
		return n;
	if (!(cfg->target_groups = zalloc(c, (size_t)n, sizeof *cfg->target_groups)))
		return -1;
	cfg->ntarget_groups = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = elem(s, i);
		struct cfg_target_group *tg = &cfg->target_groups[i];

		tg->line = (int)line_of(e);
		apply_defaults(tg_keys, tg);
		tg->algorithm = TG_ALGO_ROUND_ROBIN;
		if (hc_init(c, &tg->health_check) < 0 || parse_group(c, e, tg_keys, tg) < 0)
			return -1;
		/* as on an ALB, checks speak the group's protocol unless told */
		const config_setting_t *hcs = config_setting_get_member(e, "health_check");
		if (!hcs || !config_setting_get_member(hcs, "protocol"))
			tg->health_check.protocol_https = tg->protocol_https;
		for (int j = 0; j < i; j++)
			if (strcmp(cfg->target_groups[j].name, tg->name) == 0)
				return fail(
					c, config_setting_get_member(e, "name"),
					"duplicate target group name \"%s\" (first defined at line %d)",
					tg->name, cfg->target_groups[j].line);
	}
	return 0;
}

/* ------------------------------------------------------------ top level */

/* clang-format off */
static const struct key timeout_keys[] = {
	NUM("client_header", K_MS, struct cfg_timeouts, client_header_ms, 0.001, 3600, 10, 0),
	NUM("client_keepalive", K_MS, struct cfg_timeouts, client_keepalive_ms, 0.001, 3600, 60, 0),
	NUM("idle", K_MS, struct cfg_timeouts, idle_ms, 0.001, 3600, 60, 0),
	NUM("drain", K_MS, struct cfg_timeouts, drain_ms, 0, 3600, 30, 0),
	KEY_END
};
/* clang-format on */

/* clang-format off */
static const struct key limit_keys[] = {
	NUM("max_request_line", K_UINT, struct cfg_limits, max_request_line, 256, 1048576, 8192, 0),
	NUM("max_header_size", K_UINT, struct cfg_limits, max_header_size, 1024, 1048576, 65536, 0),
	NUM("max_headers", K_UINT, struct cfg_limits, max_headers, 1, 1000, 100, 0),
	NUM("max_body_size", K_U64, struct cfg_limits, max_body_size, 0, I64_LIMIT, 0, 0),
	NUM("max_connections", K_UINT, struct cfg_limits, max_connections, 1, 1000000, 10000, 0),
	NUM("buffer_size", K_UINT, struct cfg_limits, buffer_size, 4096, 16777216, 65536, 0),
	NUM("retry_budget", K_RATIO, struct cfg_limits, retry_budget_ratio, 0, 1, 0.2, 0),
	KEY_END
};
/* clang-format on */

static int parse_timeouts(struct ctx *c, const config_setting_t *s, void *field)
{
	return parse_group(c, s, timeout_keys, field);
}

static int parse_limits(struct ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_limits *lim = field;

	/* A request line longer than max_header_size is refused as a head
	 * too large (431) before it can be refused as too long (414): the two
	 * limits need not be ordered. */
	return parse_group(c, s, limit_keys, lim);
}

/* Target groups come before listeners: listeners refer to them by name. */
/* clang-format off */
static const struct key root_keys[] = {
	NUM("workers", K_UINT, struct albd_config, workers, 0, WORKERS_MAX, 0, 0),
	FN("timeouts", struct albd_config, timeouts, parse_timeouts, 0),
	FN("limits", struct albd_config, limits, parse_limits, 0),
	FN_OBJ("target_groups", parse_target_groups, 0),
	FN_OBJ("listeners", parse_listeners, KEY_REQUIRED),
	UNSUPPORTED("admin"),
	UNSUPPORTED("alarms"),
	UNSUPPORTED("topics"),
	KEY_END
};
/* clang-format on */

/* The number of online CPUs, within 1..WORKERS_MAX. */
static unsigned cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
}

/* The largest configuration file albd reads (the main file or an include). */
#define CONFIG_FILE_MAX (64u << 20)

/* Read all of PATH into a new NUL-terminated buffer (the caller frees it),
 * opening it once: a regular file, a pipe, a FIFO or /dev/stdin alike.
 * Returns NULL with *e set to errno (EISDIR for a directory, EFBIG beyond
 * CONFIG_FILE_MAX). Blocking: opening a FIFO waits for a writer, reading
 * waits for its end. */
static char *read_all(const char *path, size_t *lenp, int *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t len = 0, cap = 65536;
	char *buf = NULL;

	if (fd < 0) {
		*e = errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		*e = errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		*e = EISDIR;
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		if ((uintmax_t)st.st_size > CONFIG_FILE_MAX) {
			*e = EFBIG;
			goto fail;
		}
		cap = (size_t)st.st_size + 1;   /* one read and one to see the end */
	}
	if (!(buf = malloc(cap + 1))) {
		*e = ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > CONFIG_FILE_MAX) {
				*e = EFBIG;
				goto fail;
			}
			cap *= 2;
			if (!(nb = realloc(buf, cap + 1))) {
				*e = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*e = errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		*e = EFBIG;
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

static const char *read_error(int e)
{
	return e == EFBIG ? "larger than 64 MiB" : strerror(e);
}

/* libconfig 1.5's scanner calls exit() when it cannot read an included
 * file (a directory, for one): that would end a running albd on reload.
 * So every "@include" of TEXT (the contents of FILE) is checked here first,
 * recursively, the way libconfig will resolve it (relative to the working
 * directory), and must name a readable regular file. Returns 0, or -1 with
 * "FILE:LINE: ...". */
#define INCLUDE_DEPTH_MAX 10

static int check_includes(const char *file, const char *text, int depth, char *err, size_t errlen)
{
	int n = 0, rc = 0;

	for (const char *l = text; rc == 0 && *l; ) {
		const char *eol = strchr(l, '\n'), *p = l, *q;
		size_t ll = eol ? (size_t)(eol - l) : strlen(l);

		n++;
		l += ll + (eol ? 1 : 0);
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "@include", 8) != 0)
			continue;
		p += 8;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '"' || !(q = memchr(p + 1, '"', (size_t)(l - p - 1))))
			continue;   /* libconfig reports the syntax */

		char inc[4096];
		struct stat st;
		size_t ilen = (size_t)(q - p - 1);

		if (ilen >= sizeof inc) {
			seterr(err, errlen, "%s:%d: @include: file name too long", file, n);
			return -1;
		}
		memcpy(inc, p + 1, ilen);
		inc[ilen] = '\0';
		if (depth >= INCLUDE_DEPTH_MAX) {
			seterr(err, errlen, "%s:%d: @include \"%s\": includes nested too deep", file, n, inc);
			rc = -1;
		} else if (stat(inc, &st) < 0 || access(inc, R_OK) < 0) {
			seterr(err, errlen, "%s:%d: @include \"%s\": cannot read: %s", file, n, inc, strerror(errno));
			rc = -1;
		} else if (!S_ISREG(st.st_mode)) {
			seterr(err, errlen, "%s:%d: @include \"%s\": not a regular file", file, n, inc);
			rc = -1;
		} else {
			size_t len;
			int e = 0;
			char *sub = read_all(inc, &len, &e);

			if (!sub) {
				seterr(err, errlen, "%s:%d: @include \"%s\": cannot read: %s", file, n, inc,
				       read_error(e));
				return -1;
			}
			rc = check_includes(inc, sub, depth + 1, err, errlen);
			free(sub);
		}
	}
	return rc;
}

/* Parse and validate PATH into a new config owned by the caller; NULL and a
 * one-line "PATH:LINE: SETTING: problem" in err on error. The file is read
 * once, into memory, and parsed from there: /dev/stdin and FIFOs work.
 * Thread: any; blocking (file I/O, resolution of target host names). */
struct albd_config *config_load(const char *path, char *err, size_t errlen)
{
	struct ctx c = { .path = path, .err = err, .errlen = errlen };
	struct albd_config *cfg = NULL;
	config_t lc;
	size_t len;
	int e = 0;
	char *text;
	const char *nul;

	seterr(err, errlen, "%s", "");
	if (!(text = read_all(path, &len, &e))) {
		seterr(err, errlen, "%s: cannot read: %s", path, read_error(e));
		return NULL;
	}
	/* libconfig reads a C string: a NUL byte would hide the rest */
	if ((nul = memchr(text, '\0', len))) {
		int line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		seterr(err, errlen, "%s:%d: syntax error: NUL character", path, line);
		free(text);
		return NULL;
	}
	if (check_includes(path, text, 0, err, errlen) < 0) {
		free(text);
		return NULL;
	}
	config_init(&lc);
	if (!config_read_string(&lc, text)) {
		const char *etext = config_error_text(&lc);
		/* NULL for the string itself; an include's errors name the include */
		const char *file = config_error_file(&lc) ? config_error_file(&lc) : path;

		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			seterr(err, errlen, "%s:%d: cannot read: %s", file, config_error_line(&lc), etext);
		else if (strcmp(etext, "syntax error") == 0)
			seterr(err, errlen, "%s:%d: syntax error", file, config_error_line(&lc));
		else
			seterr(err, errlen, "%s:%d: syntax error: %s", file, config_error_line(&lc),
			       etext);
		goto err;
	}
	free(text);
	text = NULL;
	if (!(cfg = zalloc(&c, 1, sizeof *cfg)))
		goto err;
	c.cfg = cfg;
	if (!(cfg->path = sdup(&c, path)))
		goto err;
	apply_defaults(root_keys, cfg);
	apply_defaults(timeout_keys, &cfg->timeouts);
	apply_defaults(limit_keys, &cfg->limits);
	if (parse_group(&c, config_root_setting(&lc), root_keys, cfg) < 0)
		goto err;
	if (cfg->workers == 0)
		cfg->workers = cpu_count();
	config_destroy(&lc);
	return cfg;
err:
	free(text);
	config_destroy(&lc);
	config_free(cfg);
	return NULL;
}

/* ------------------------------------------------------------ freeing */

static void free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_fixed(struct cfg_fixed_response *fr)
{
	if (!fr)
		return;
	free(fr->content_type);
	free(fr->body);
	free(fr);
}

static void free_rule(struct cfg_rule *r)
{
	free_strings(r->hosts, r->nhosts);
	free_strings(r->paths, r->npaths);
	free_strings(r->methods, r->nmethods);
	if (r->forwards)
		for (size_t i = 0; i < r->nforwards; i++)
			free(r->forwards[i].target_group_name);
	free(r->forwards);
	free_fixed(r->fixed);
}

/* Free a config from config_load(), partly built ones too. NULL is ignored. */
static void free_tls(struct cfg_tls *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->certs && i < t->ncerts; i++) {
		free(t->certs[i].cert);
		free(t->certs[i].key);
	}
	free(t->certs);
	free(t->policy);
	free(t->ciphers);
	free(t->ciphersuites);
	for (size_t i = 0; t->alpn && i < t->nalpn; i++)
		free(t->alpn[i]);
	free(t->alpn);
	free(t);
}

void config_free(struct albd_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->listeners && i < cfg->nlisteners; i++) {
		struct cfg_listener *l = &cfg->listeners[i];

		free(l->name);
		for (size_t j = 0; l->rules && j < l->nrules; j++)
			free_rule(&l->rules[j]);
		free(l->rules);
		free(l->default_forward.target_group_name);
		free_fixed(l->default_fixed);
		free_tls(l->tls);
	}
	free(cfg->listeners);
	for (size_t i = 0; cfg->target_groups && i < cfg->ntarget_groups; i++) {
		struct cfg_target_group *tg = &cfg->target_groups[i];

		free(tg->name);
		for (size_t j = 0; tg->targets && j < tg->ntargets; j++)
			free(tg->targets[j].address);
		free(tg->targets);
		free(tg->health_check.path);
		free(tg->health_check.matcher);
		free(tg->ca_file);
		free(tg->tls_server_name);
	}
	free(cfg->target_groups);
	free(cfg->path);
	free(cfg);
}

/* The target group called NAME, or NULL. Thread: any. */
const struct cfg_target_group *config_find_tg(const struct albd_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->ntarget_groups; i++)
		if (cfg->target_groups[i].name && strcmp(cfg->target_groups[i].name, name) == 0)
			return &cfg->target_groups[i];
	return NULL;
}

/* ------------------------------------------------------------ addresses */

/* Same family, port and address, and the scope for IPv6; the text form is
 * not compared. Other families: the same bytes. Thread: any. */
int config_addr_equal(const struct albd_addr *a, const struct albd_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return a->port == b->port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return a->port == b->port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
		       x->sin6_scope_id == y->sin6_scope_id;
	}
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	for (const unsigned char *b = p; n--; b++)
		h = (h ^ *b) * 1099511628211ull;
	return h;
}

/* A hash of what config_addr_equal() compares. Thread: any. */
uint64_t config_addr_hash(const struct albd_addr *a)
{
	uint64_t h = fnv1a(14695981039346656037ull, &a->ss.ss_family, sizeof a->ss.ss_family);

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;

		h = fnv1a(h, &a->port, sizeof a->port);
		h = fnv1a(h, &x->sin_addr, sizeof x->sin_addr);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss;

		h = fnv1a(h, &a->port, sizeof a->port);
		h = fnv1a(h, &x->sin6_addr, sizeof x->sin6_addr);
		h = fnv1a(h, &x->sin6_scope_id, sizeof x->sin6_scope_id);
	} else {
		h = fnv1a(h, &a->ss, a->len <= sizeof a->ss ? a->len : sizeof a->ss);
	}
	return h ^ (h >> 32);
}

/* Digits only, 1..65535; 0 when invalid. */
static unsigned parse_port(const char *s)
{
	unsigned long v = 0;
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 5 || s[n] != '\0')
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	return v <= 65535 ? (unsigned)v : 0;
}

/* "ip:port", "[ip6]:port", "*:port" (0.0.0.0), or with resolve a host name
 * (first getaddrinfo() result) into *out, text normalised by inet_ntop().
 * Returns 0, or -1 with a message in err and *out untouched. Thread: any. */
int config_parse_addr(const char *text, int resolve, struct albd_addr *out, char *err,
		      size_t errlen)
{
	struct albd_addr a;
	char host[256], ip[INET6_ADDRSTRLEN];
	const char *hstart, *port_s;
	size_t hlen;
	int bracket = 0;
	unsigned port;

	memset(&a, 0, sizeof a);
	if (!text)
		text = "";
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			goto invalid;
		bracket = 1;
		hstart = text + 1;
		hlen = (size_t)(close - hstart);
		port_s = close + 2;
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon)
			goto invalid;
		hstart = text;
		hlen = (size_t)(colon - text);
		if (memchr(text, ':', hlen)) /* an IPv6 address needs brackets */
			goto invalid;
		port_s = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof host || !port_s[0] ||
	    strspn(port_s, "0123456789") != strlen(port_s))
		goto invalid;
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (!(port = parse_port(port_s))) {
		seterr(err, errlen, "invalid port in address \"%s\" (expected 1..65535)", text);
		return -1;
	}

	if (bracket) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto invalid;
		sin6->sin6_family = AF_INET6;
		a.len = sizeof *sin6;
	} else if (strcmp(host, "*") == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		a.len = sizeof *sin;
	} else if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&a.ss)->sin_addr) == 1) {
		a.ss.ss_family = AF_INET;
		a.len = sizeof(struct sockaddr_in);
	} else if (!resolve) {
		seterr(err, errlen,
		       "invalid address \"%s\" (expected ip:port, host names are "
		       "not allowed here)",
		       text);
		return -1;
	} else {
		struct addrinfo hints, *res;
		int rc;

		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
			seterr(err, errlen, "cannot resolve \"%s\": %s", host,
			       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
			return -1;
		}
		if (res->ai_addrlen > sizeof a.ss ||
		    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
			freeaddrinfo(res);
			seterr(err, errlen, "cannot resolve \"%s\": no IPv4 or IPv6 address", host);
			return -1;
		}
		memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
		a.len = (socklen_t)res->ai_addrlen;
		freeaddrinfo(res);
	}

	a.port = (uint16_t)port;
	if (a.ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

		sin->sin_port = htons(a.port);
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
		snprintf(a.text, sizeof a.text, "%s:%u", ip, port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

		sin6->sin6_port = htons(a.port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
		snprintf(a.text, sizeof a.text, "[%s]:%u", ip, port);
	}
	*out = a;
	return 0;
invalid:
	seterr(err, errlen, "invalid address \"%s\" (expected ip:port)", text);
	return -1;
}

/* ------------------------------------------------------------ matchers */

/* A status code at *p (spaces around it skipped); -1 when there is none. */
static int matcher_code(const char **p)
{
	const char *s = *p;
	int v = 0, digits = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if (v < 100000)
			v = v * 10 + (*s - '0');
	while (*s == ' ' || *s == '\t')
		s++;
	*p = s;
	return digits ? v : -1;
}

/* "200", "200,202", "200-399" (codes 200..599, at most HC_MATCHER_MAX items,
 * blanks around numbers allowed) into hc->match and hc->nmatch; hc->matcher
 * is the caller's. Returns 0, or -1 with a message and hc untouched.
 * Thread: any. */
int config_parse_matcher(const char *text, struct cfg_health_check *hc, char *err, size_t errlen)
{
	struct cfg_health_check tmp;
	const char *p = text ? text : "";
	size_t n = 0;

	for (;;) {
		int lo = matcher_code(&p), hi = lo;

		if (lo < 0)
			goto invalid;
		if (*p == '-') {
			p++;
			if ((hi = matcher_code(&p)) < 0)
				goto invalid;
		}
		if (*p != ',' && *p != '\0')
			goto invalid;
		if (lo < 200 || lo > 599 || hi < 200 || hi > 599) {
			seterr(err, errlen, "invalid matcher \"%s\" (codes must be 200..599)",
			       text);
			return -1;
		}
		if (lo > hi) {
			seterr(err, errlen, "invalid matcher \"%s\" (range %d-%d is reversed)",
			       text, lo, hi);
			return -1;
		}
		if (n == HC_MATCHER_MAX) {
			seterr(err, errlen, "invalid matcher \"%s\" (more than %d codes or ranges)",
			       text, HC_MATCHER_MAX);
			return -1;
		}
		tmp.match[n].lo = lo;
		tmp.match[n].hi = hi;
		n++;
		if (*p == '\0')
			break;
		p++;
	}
	memcpy(hc->match, tmp.match, n * sizeof tmp.match[0]);
	hc->nmatch = n;
	return 0;
invalid:
	seterr(err, errlen,
	       "invalid matcher \"%s\" (expected codes or ranges such as "
	       "\"200,202\" or \"200-399\")",
	       text ? text : "");
	return -1;
}
