/* config.c - the configuration engine: libconfig file -> validated,
 * immutable struct albd_config.
 *
 * This file holds what every section shares (config_engine.h): the file
 * read once into memory and parsed by libconfig, the key-table machinery
 * (defaults, numeric kinds, unknown and required names), the one place
 * errors are formatted, and the public helpers of config.h (addresses,
 * the target group lookup). The sections describe themselves in tables
 * beside it: config_listeners.c, config_target_groups.c, config_tls.c,
 * config_limits.c and config_admin.c.
 *
 * Errors are formatted in one place, cfg_fail(), from the offending
 * libconfig setting: its file, its line and its dotted path as the user
 * would look it up ("listeners.[0].rules.[1].priority").
 */
#include "config_engine.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WORKERS_MAX 256

/* ------------------------------------------------------------ errors */

/* The setting's line, or its closest ancestor's: the root has none (0). */
unsigned cfg_line_of(const config_setting_t *s)
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
 * root). Keeps the first error only. Returns -1 for "return cfg_fail(...)". */
int cfg_fail(struct cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
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
		line = cfg_line_of(s);
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

void cfg_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ small helpers */

char *cfg_strdup(struct cfg_ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		cfg_fail(c, NULL, "out of memory");
	return d;
}

void *cfg_zalloc(struct cfg_ctx *c, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		cfg_fail(c, NULL, "out of memory");
	return p;
}

/* Replace *field (a default or NULL) with a copy of v. */
int cfg_replace_str(struct cfg_ctx *c, char **field, const char *v)
{
	char *d = cfg_strdup(c, v);

	if (!d)
		return -1;
	free(*field);
	*field = d;
	return 0;
}

const char *cfg_string_of(struct cfg_ctx *c, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_fail(c, s, "expected a string");
		return NULL;
	}
	return config_setting_get_string(s);
}

/* Length of a list "( ... )" (an array "[ ... ]" is accepted too: only an
 * empty one can get past the element checks), or -1. */
int cfg_list_length(struct cfg_ctx *c, const config_setting_t *s)
{
	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return cfg_fail(c, s, "expected a list ( ... )");
	return config_setting_length(s);
}

/* An element of a list, as the setting its own errors should name. */
const config_setting_t *cfg_elem(const config_setting_t *list, int i)
{
	return config_setting_get_elem(list, (unsigned)i);
}

/* The member NAME of group g if present, else g: where to point an error
 * about a value that may have come from a default. */
const config_setting_t *cfg_member_or(const config_setting_t *g, const char *name)
{
	const config_setting_t *m = config_setting_get_member(g, name);

	return m ? m : g;
}

int cfg_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Is s valid UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF)? */
int cfg_valid_utf8(const char *str)
{
	return utf8_valid(str);
}

int cfg_has_space_or_ctl(const char *s)
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

	return n > 0 && n <= CFG_NAME_MAX_LEN && s[n] == '\0';
}

/* ------------------------------------------------------------ key tables */

static unsigned to_ms(double seconds)
{
	return (unsigned)(seconds * 1000.0 + 0.5);
}

/* See config_engine.h. */
int cfg_apply_defaults(struct cfg_ctx *c, const struct cfg_key *keys, void *obj)
{
	for (const struct cfg_key *k = keys; k->name; k++) {
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
			if (k->flags & KEY_INT_DEF)
				*(int *)f = (int)k->def;
			else if (k->sdef && (k->dfn ? k->dfn(c, f, k->sdef) :
						      cfg_replace_str(c, f, k->sdef)) < 0)
				return -1;
			break;
		case K_GROUP:
			if (cfg_apply_defaults(c, k->sub, f) < 0)
				return -1;
			break;
		case K_UNSUPPORTED:
			break;
		}
	}
	return 0;
}

int cfg_get_integer(struct cfg_ctx *c, const config_setting_t *s, long long *out)
{
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return cfg_fail(c, s, "expected an integer");
	*out = t == CONFIG_TYPE_INT ? config_setting_get_int(s) : config_setting_get_int64(s);
	return 0;
}

static int get_number(struct cfg_ctx *c, const config_setting_t *s, const char *what, double *out)
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
		return cfg_fail(c, s, "expected %s", what);
	}
	if (!isfinite(*out))
		return cfg_fail(c, s, "expected %s", what);
	return 0;
}

/* Convert, range-check and store the numeric kinds; hand K_FN to its fn. */
static int set_value(struct cfg_ctx *c, const config_setting_t *s, const struct cfg_key *k, void *f)
{
	long long v = 0;
	double d = 0;

	switch (k->kind) {
	case K_INT:
	case K_UINT:
	case K_U64:
		if (cfg_get_integer(c, s, &v) < 0)
			return -1;
		if ((double)v < k->min || (double)v > k->max) {
			if (k->max >= CFG_I64_LIMIT)
				return cfg_fail(c, s,
						"%lld is out of range (expected %lld or more)", v,
						(long long)k->min);
			return cfg_fail(c, s, "%lld is out of range (expected %lld..%lld)", v,
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
			return cfg_fail(c, s, "%g is out of range (expected %s%g..%g seconds)", d,
					k->flags & KEY_OR_ZERO ? "0 or " : "", k->min, k->max);
		*(unsigned *)f = to_ms(d);
		return 0;
	case K_RATIO:
		if (get_number(c, s, "a number", &d) < 0)
			return -1;
		if (d < k->min || d > k->max)
			return cfg_fail(c, s, "%g is out of range (expected %g..%g)", d, k->min,
					k->max);
		*(double *)f = d;
		return 0;
	case K_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_fail(c, s, "expected true or false");
		*(int *)f = config_setting_get_bool(s) != 0;
		return 0;
	case K_FN:
		return k->fn(c, s, f);
	case K_GROUP:
		if (cfg_parse_group(c, s, k->sub, f) < 0)
			return -1;
		return k->fn ? k->fn(c, s, f) : 0;
	case K_UNSUPPORTED:
		break;
	}
	return cfg_fail(c, s, "not supported by this version of albd");
}

static const struct cfg_key *find_key(const struct cfg_key *keys, const char *name)
{
	for (const struct cfg_key *k = keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* See config_engine.h. */
int cfg_parse_group(struct cfg_ctx *c, const config_setting_t *g, const struct cfg_key *keys,
		    void *obj)
{
	int n;

	if (!config_setting_is_group(g))
		return cfg_fail(c, g, "expected a group { ... }");
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = cfg_elem(g, i);
		const struct cfg_key *k = find_key(keys, config_setting_name(m));

		if (!k)
			return cfg_fail(c, m, "unknown setting \"%s\"", config_setting_name(m));
		if (k->kind == K_UNSUPPORTED)
			return cfg_fail(c, m, "not supported by this version of albd");
	}
	for (const struct cfg_key *k = keys; k->name; k++) {
		const config_setting_t *m;

		if (k->kind == K_UNSUPPORTED)
			continue;
		m = config_setting_get_member(g, k->name);
		if (!m) {
			if (k->flags & KEY_REQUIRED)
				return cfg_fail(c, g, "missing required setting \"%s\"", k->name);
			continue;
		}
		if (set_value(c, m, k, (char *)obj + k->off) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ string settings */

int cfg_set_name(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!valid_name(v))
		return cfg_fail(c, s,
				"invalid name \"%s\" (expected 1 to %d characters "
				"from A-Z a-z 0-9 _ . -)",
				v, CFG_NAME_MAX_LEN);
	return cfg_replace_str(c, field, v);
}

int cfg_set_file(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!*v)
		return cfg_fail(c, s, "expected a file name");
	return cfg_replace_str(c, field, v);
}

int cfg_set_str(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	return v ? cfg_replace_str(c, field, v) : -1;
}

/* A condition: one string or a list (array or list) of them, each checked
 * (and normalised in place) by check. */
int cfg_set_strings(struct cfg_ctx *c, const config_setting_t *s, char ***out, size_t *nout,
		    cfg_value_check check)
{
	int single = config_setting_type(s) == CONFIG_TYPE_STRING;
	int n = 1;

	if (!single) {
		if (!config_setting_is_list(s) && !config_setting_is_array(s))
			return cfg_fail(c, s, "expected a string or a list of strings");
		if ((n = config_setting_length(s)) == 0)
			return cfg_fail(c, s, "expected at least one value");
	}
	if (!(*out = cfg_zalloc(c, (size_t)n, sizeof **out)))
		return -1;
	*nout = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = single ? s : cfg_elem(s, i);
		const char *v = cfg_string_of(c, e);

		if (!v || !((*out)[i] = cfg_strdup(c, v)) || check(c, e, (*out)[i]) < 0)
			return -1;
	}
	return 0;
}

void cfg_free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ------------------------------------------------------------ top level */

static int set_log_format(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "alb") == 0)
		*(enum cfg_log_format *)field = CFG_LOG_ALB;
	else if (strcmp(v, "json") == 0)
		*(enum cfg_log_format *)field = CFG_LOG_JSON;
	else
		return cfg_fail(c, s, "unknown format \"%s\" (expected \"alb\" or \"json\")", v);
	return 0;
}

/* clang-format off */
static const struct cfg_key access_log_keys[] = {
	NUM("enabled", K_BOOL, struct cfg_access_log, enabled, 0, 1, 1, 0),
	FN("path", struct cfg_access_log, path, cfg_set_file, 0),
	FN_INT("format", struct cfg_access_log, format, set_log_format, CFG_LOG_ALB, 0),
	KEY_END
};
/* clang-format on */

static int check_access_log(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_access_log *al = field;

	if (al->enabled && !al->path)
		return cfg_fail(c, s, "needs path (or enabled = false)");
	return 0;
}

/* Target groups come before listeners: listeners refer to them by name. */
/* clang-format off */
static const struct cfg_key root_keys[] = {
	FN_DEF("name", struct albd_config, name, cfg_set_lb_name, "", cfg_def_lb_name, 0),
	FN_STR("state_dir", struct albd_config, state_dir, cfg_set_state_dir, "/var/lib/albd", 0),
	FN("user", struct albd_config, user, cfg_set_user, 0),
	FN("group", struct albd_config, group, cfg_set_group, 0),
	NUM("workers", K_UINT, struct albd_config, workers, 0, WORKERS_MAX, 0, 0),
	GROUP("timeouts", struct albd_config, timeouts, cfg_timeout_keys, NULL),
	GROUP("limits", struct albd_config, limits, cfg_limit_keys, NULL),
	FN_OBJ("target_groups", cfg_parse_target_groups, 0),
	FN_OBJ("listeners", cfg_parse_listeners, KEY_REQUIRED),
	GROUP("admin", struct albd_config, admin, cfg_admin_keys, cfg_admin_group),
	FN_STR("region", struct albd_config, region, cfg_set_region, "local", 0),
	FN_STR("account_id", struct albd_config, account_id, cfg_set_account_id, "000000000000", 0),
	FN_OBJ("topics", cfg_parse_topics, 0),
	FN_OBJ("alarms", cfg_parse_alarms, 0),
	FN_OBJ("composite_alarms", cfg_parse_composite_alarms, 0),
	GROUP("access_log", struct albd_config, access_log, access_log_keys, check_access_log),
	KEY_END
};
/* clang-format on */

/* 16 hex digits of FNV-1a 64 of S: the id part of ALB-style resource ids
 * and ARNs, the same for the same name on every start. */
void config_name_hash_hex(const char *s, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The ids a loaded config names itself and its groups by (access log,
 * later the AWS APIs). Returns 0 or -1 (out of memory). */
static int set_resource_ids(struct cfg_ctx *c, struct albd_config *cfg)
{
	char hex[17], *p;

	config_name_hash_hex(cfg->name, hex);
	if (asprintf(&cfg->elb_id, "app/%s/%s", cfg->name, hex) < 0) {
		cfg->elb_id = NULL;
		return cfg_fail(c, NULL, "out of memory");
	}
	for (size_t i = 0; i < cfg->ntarget_groups; i++) {
		struct cfg_target_group *tg = &cfg->target_groups[i];

		config_name_hash_hex(tg->name, hex);
		if (asprintf(&p, "arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", cfg->region,
			     cfg->account_id, tg->name, hex) < 0)
			return cfg_fail(c, NULL, "out of memory");
		tg->arn = p;
	}
	return 0;
}

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
		cap = (size_t)st.st_size + 1; /* one read and one to see the end */
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

	for (const char *l = text; rc == 0 && *l;) {
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
			continue; /* libconfig reports the syntax */

		char inc[4096];
		struct stat st;
		size_t ilen = (size_t)(q - p - 1);

		if (ilen >= sizeof inc) {
			cfg_seterr(err, errlen, "%s:%d: @include: file name too long", file, n);
			return -1;
		}
		memcpy(inc, p + 1, ilen);
		inc[ilen] = '\0';
		if (depth >= INCLUDE_DEPTH_MAX) {
			cfg_seterr(err, errlen, "%s:%d: @include \"%s\": includes nested too deep",
				   file, n, inc);
			rc = -1;
		} else if (stat(inc, &st) < 0 || access(inc, R_OK) < 0) {
			cfg_seterr(err, errlen, "%s:%d: @include \"%s\": cannot read: %s", file, n,
				   inc, strerror(errno));
			rc = -1;
		} else if (!S_ISREG(st.st_mode)) {
			cfg_seterr(err, errlen, "%s:%d: @include \"%s\": not a regular file", file,
				   n, inc);
			rc = -1;
		} else {
			size_t len;
			int e = 0;
			char *sub = read_all(inc, &len, &e);

			if (!sub) {
				cfg_seterr(err, errlen, "%s:%d: @include \"%s\": cannot read: %s",
					   file, n, inc, read_error(e));
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
static struct albd_config *parse_text(const char *path, char *text, size_t len, char *err, size_t errlen);

struct albd_config *config_load(const char *path, char *err, size_t errlen)
{
	size_t len;
	int e = 0;
	char *text;

	cfg_seterr(err, errlen, "%s", "");
	if (!(text = read_all(path, &len, &e))) {
		cfg_seterr(err, errlen, "%s: cannot read: %s", path, read_error(e));
		return NULL;
	}
	return parse_text(path, text, len, err, errlen);
}

struct albd_config *config_reparse(const struct albd_config *old, char *err, size_t errlen)
{
	char *text = malloc(old->text_len + 1);

	cfg_seterr(err, errlen, "%s", "");
	if (!text) {
		cfg_seterr(err, errlen, "%s: out of memory", old->path);
		return NULL;
	}
	memcpy(text, old->text, old->text_len);
	text[old->text_len] = 0;
	return parse_text(old->path, text, old->text_len, err, errlen);
}

/* config_load() of TEXT (LEN bytes and a NUL, owned: kept in the config,
 * or freed) read from PATH. */
static struct albd_config *parse_text(const char *path, char *text, size_t len, char *err, size_t errlen)
{
	struct cfg_ctx c = { .path = path, .err = err, .errlen = errlen };
	struct albd_config *cfg = NULL;
	config_t lc;
	const char *nul;

	/* libconfig reads a C string: a NUL byte would hide the rest */
	if ((nul = memchr(text, '\0', len))) {
		int line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		cfg_seterr(err, errlen, "%s:%d: syntax error: NUL character", path, line);
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
			cfg_seterr(err, errlen, "%s:%d: cannot read: %s", file,
				   config_error_line(&lc), etext);
		else if (strcmp(etext, "syntax error") == 0)
			cfg_seterr(err, errlen, "%s:%d: syntax error", file,
				   config_error_line(&lc));
		else
			cfg_seterr(err, errlen, "%s:%d: syntax error: %s", file,
				   config_error_line(&lc), etext);
		goto err;
	}
	if (!(cfg = cfg_zalloc(&c, 1, sizeof *cfg)))
		goto err;
	cfg->text = text;      /* config_reparse() parses it again */
	cfg->text_len = len;
	text = NULL;
	c.cfg = cfg;
	if (!(cfg->path = cfg_strdup(&c, path)))
		goto err;
	if (cfg_apply_defaults(&c, root_keys, cfg) < 0 ||
	    cfg_parse_group(&c, config_root_setting(&lc), root_keys, cfg) < 0 ||
	    cfg_check_admin(&c, config_root_setting(&lc)) < 0 || set_resource_ids(&c, cfg) < 0)
		goto err;
	/* "enabled" defaults to true only where the group is written */
	if (!config_setting_get_member(config_root_setting(&lc), "access_log"))
		cfg->access_log.enabled = 0;
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

/* Free a config from config_load(), partly built ones too. NULL is ignored. */
void config_free(struct albd_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->listeners && i < cfg->nlisteners; i++)
		cfg_free_listener(&cfg->listeners[i]);
	free(cfg->listeners);
	for (size_t i = 0; cfg->target_groups && i < cfg->ntarget_groups; i++)
		cfg_free_target_group(&cfg->target_groups[i]);
	free(cfg->target_groups);
	cfg_free_admin(&cfg->admin);
	for (size_t i = 0; cfg->alarms && i < cfg->nalarms; i++)
		cfg_free_alarm(&cfg->alarms[i]);
	free(cfg->alarms);
	for (size_t i = 0; cfg->composite_alarms && i < cfg->ncomposite_alarms; i++)
		cfg_free_composite_alarm(&cfg->composite_alarms[i]);
	free(cfg->composite_alarms);
	for (size_t i = 0; cfg->topics && i < cfg->ntopics; i++)
		cfg_free_topic(&cfg->topics[i]);
	free(cfg->topics);
	free(cfg->region);
	free(cfg->account_id);
	free(cfg->access_log.path);
	free(cfg->user);
	free(cfg->group);
	free(cfg->elb_id);
	free(cfg->text);
	free(cfg->name);
	free(cfg->state_dir);
	free(cfg->path);
	free(cfg);
}

void config_addr_ip(const struct albd_addr *a, char *buf, size_t len)
{
	const void *ip = a->ss.ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr
						     : (const void *)&((const struct sockaddr_in *)&a->ss)->sin_addr;

	if (!inet_ntop(a->ss.ss_family, ip, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* The topic called NAME, or NULL. Thread: any. */
const struct cfg_topic *config_find_topic(const struct albd_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->ntopics; i++)
		if (cfg->topics[i].name && strcmp(cfg->topics[i].name, name) == 0)
			return &cfg->topics[i];
	return NULL;
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
		cfg_seterr(err, errlen, "invalid port in address \"%s\" (expected 1..65535)", text);
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
		cfg_seterr(err, errlen,
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
			cfg_seterr(err, errlen, "cannot resolve \"%s\": %s", host,
				   rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
			return -1;
		}
		if (res->ai_addrlen > sizeof a.ss ||
		    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
			freeaddrinfo(res);
			cfg_seterr(err, errlen, "cannot resolve \"%s\": no IPv4 or IPv6 address",
				   host);
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
	cfg_seterr(err, errlen, "invalid address \"%s\" (expected ip:port)", text);
	return -1;
}
