/* config_listeners.c - the "listeners" section: listeners, their rules
 * (conditions and actions), forwards to target groups, fixed responses
 * and redirects. See config_engine.h for the key tables.
 */
#include "config_engine.h"
#include "uri.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_PATTERN_MAX 128    /* ALB's HostHeaderConditionConfig: 128 characters */
#define PATH_PATTERN_MAX 128    /* ALB's PathPatternConditionConfig: 128 characters */
#define METHOD_MAX       40     /* ALB's HttpRequestMethodConditionConfig: 40 characters */
#define FORWARD_GROUPS_MAX 5    /* ALB's quota "Target groups per action" */
#define PRIORITY_MAX     50000

/* ALB's limits on rule conditions (its quotas "Condition values per rule"
 * and "Condition wildcards per rule", and the sizes of HttpHeaderConditionConfig
 * and QueryStringConditionConfig). */
#define RULE_VALUES_MAX    5   /* values, query pairs and CIDRs of all a rule's conditions */
#define RULE_WILDCARDS_MAX 5   /* '*' and '?' in all a rule's patterns */
#define HEADER_NAME_MAX    40
#define COND_STRING_MAX    128 /* a header value, a query key or value */

/* ------------------------------------------------------------ fixed responses */

/* ALB's FixedResponseActionConfig: ContentType is one of these, MessageBody
 * at most FIXED_BODY_MAX long, StatusCode 2XX, 4XX or 5XX. */
#define FIXED_BODY_MAX 1024
static const char *const fixed_types[] = {
	"text/plain", "text/css", "text/html", "application/javascript", "application/json",
};

static int set_content_type(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	for (size_t i = 0; i < sizeof fixed_types / sizeof fixed_types[0]; i++)
		if (strcmp(v, fixed_types[i]) == 0)
			return cfg_replace_str(c, field, v);
	return cfg_fail(c, s,
			"invalid content type \"%s\" (expected text/plain, text/css, text/html, "
			"application/javascript or application/json, as ALB)",
			v);
}

static int set_body(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strlen(v) > FIXED_BODY_MAX)
		return cfg_fail(c, s, "body of %zu bytes, longer than ALB's %d", strlen(v), FIXED_BODY_MAX);
	return cfg_replace_str(c, field, v);
}

static int set_fixed_status(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	long long v;

	if (cfg_get_integer(c, s, &v) < 0)
		return -1;
	if (v < 200 || v > 599 || (v >= 300 && v <= 399))
		return cfg_fail(c, s, "%lld: expected a 2XX, 4XX or 5XX status (as ALB; a redirect "
				      "is a redirect action)", v);
	*(int *)field = (int)v;
	return 0;
}

/* clang-format off */
static const struct cfg_key fixed_keys[] = {
	FN("status", struct cfg_fixed_response, status, set_fixed_status, KEY_REQUIRED),
	FN_STR("content_type", struct cfg_fixed_response, content_type, set_content_type, "text/plain", 0),
	FN_STR("body", struct cfg_fixed_response, body, set_body, "", 0),
	KEY_END
};
/* clang-format on */

/* "fixed_response" / "default_fixed_response" = { ... }: field is a
 * struct cfg_fixed_response **. A 204, 205 or 304 has no content (RFC 9110
 * 15.3.5, 15.3.6, 15.4.5): a body there is refused, not dropped. */
static int set_fixed(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_fixed_response *fr = cfg_zalloc(c, 1, sizeof *fr);

	if (!fr)
		return -1;
	*(struct cfg_fixed_response **)field = fr;
	if (cfg_apply_defaults(c, fixed_keys, fr) < 0 || cfg_parse_group(c, s, fixed_keys, fr) < 0)
		return -1;
	fr->body_len = strlen(fr->body);
	if (fr->body_len && config_status_no_content(fr->status))
		return cfg_fail(c, cfg_member_or(s, "body"), "a %d response has no body", fr->status);
	return 0;
}

/* ------------------------------------------------------------ redirects */

/* ALB's RedirectActionConfig (API reference): the URL is
 * protocol://host:port/path?query; protocol is HTTP, HTTPS or #{protocol};
 * port 1..65535 or #{port}; host (1..128 characters) may hold #{host};
 * path (1..128, starting with '/') #{host}, #{path} and #{port}; query
 * (0..128, without the leading '?') any of the five placeholders. */
enum { RD_PROTOCOL = 1, RD_HOST = 2, RD_PORT = 4, RD_PATH = 8, RD_QUERY = 16 };
static const char *const rd_vars[] = { "#{protocol}", "#{host}", "#{port}", "#{path}", "#{query}" };

/* Check template V of a part that may hold the placeholders in ALLOWED:
 * every "#{" starts one of them, and no space, control character or
 * character of BAD stands outside them. */
static int check_template(struct cfg_ctx *c, const config_setting_t *s, const char *v,
			  unsigned allowed, const char *bad)
{
	char names[80] = "";

	for (unsigned i = 0; i < 5; i++)
		if (allowed & (1u << i)) {
			if (names[0])
				strcat(names, ", ");
			strcat(names, rd_vars[i]);
		}
	for (const char *p = v; *p;) {
		unsigned i = 5;

		if (p[0] == '#' && p[1] == '{')
			for (i = 0; i < 5 && strncmp(p, rd_vars[i], strlen(rd_vars[i])) != 0; i++)
				;
		if (i < 5 && (allowed & (1u << i))) {
			p += strlen(rd_vars[i]);
			continue;
		}
		if (p[0] == '#' && p[1] == '{')
			return cfg_fail(c, s, "\"%s\": only %s may be used here", v, names);
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return cfg_fail(c, s, "\"%s\": spaces and control characters are not allowed", v);
		if (strchr(bad, *p))
			return cfg_fail(c, s, "\"%s\": '%c' is not allowed here%s", v, *p,
					*p == '#' ? " (placeholders are #{...})" : "");
		p++;
	}
	return 0;
}

/* A template of MIN..CFG_REDIRECT_PART_MAX characters into field. */
static int set_template(struct cfg_ctx *c, const config_setting_t *s, void *field, size_t min,
			unsigned allowed, const char *bad)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strlen(v) < min || strlen(v) > CFG_REDIRECT_PART_MAX)
		return cfg_fail(c, s, "must be %zu to %d characters long", min, CFG_REDIRECT_PART_MAX);
	if (check_template(c, s, v, allowed, bad) < 0)
		return -1;
	return cfg_replace_str(c, field, v);
}

/* "host": a template, or an IPv6 literal: '[', an address inet_pton(3)
 * reads, ']' and nothing after it (a port goes in "port"). Brackets stand
 * nowhere else. */
static int set_rd_host(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (v[0] == '[') {
		const char *e = strchr(v, ']');
		char addr[INET6_ADDRSTRLEN];
		struct in6_addr a;
		size_t n = e ? (size_t)(e - v - 1) : 0;

		if (!e || n == 0 || n >= sizeof addr)
			return cfg_fail(c, s, "\"%s\": an IPv6 literal is [address]", v);
		memcpy(addr, v + 1, n);
		addr[n] = 0;
		if (inet_pton(AF_INET6, addr, &a) != 1)
			return cfg_fail(c, s, "\"%s\": \"%s\" is not an IPv6 address", v, addr);
		if (e[1] == ':')
			return cfg_fail(c, s, "\"%s\": a port goes in port, not in host", v);
		if (e[1])
			return cfg_fail(c, s, "\"%s\": nothing may follow an IPv6 literal's ']'", v);
		return set_template(c, s, field, 1, 0, "/?#@\\");
	}
	if (strchr(v, ':'))
		return cfg_fail(c, s, "\"%s\": a port goes in port, not in host", v);
	return set_template(c, s, field, 1, RD_HOST, "/?#@\\[]");
}

static int set_rd_path(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (v && v[0] != '/')
		return cfg_fail(c, s, "\"%s\": must start with '/'", v);
	return v ? set_template(c, s, field, 1, RD_HOST | RD_PATH | RD_PORT, "?#") : -1;
}

static int set_rd_query(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (v && v[0] == '?')
		return cfg_fail(c, s, "\"%s\": without the leading '?' (albd adds it)", v);
	return v ? set_template(c, s, field, 0, 0x1f, "#") : -1;
}

static int set_rd_status(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	long long v;

	if (cfg_get_integer(c, s, &v) < 0)
		return -1;
	if (v != 301 && v != 302)
		return cfg_fail(c, s, "%lld: must be 301 or 302 (ALB's HTTP_301, HTTP_302)", v);
	*(int *)field = (int)v;
	return 0;
}

static int set_rd_protocol(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "#{protocol}") == 0)
		*(int *)field = -1;
	else if (strcasecmp(v, "HTTP") == 0)
		*(int *)field = 0;
	else if (strcasecmp(v, "HTTPS") == 0)
		*(int *)field = 1;
	else
		return cfg_fail(c, s, "\"%s\": expected \"HTTP\", \"HTTPS\" or \"#{protocol}\"", v);
	return 0;
}

/* "port": "#{port}", or 1..65535 as a string or an integer. */
static int set_rd_port(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	long long n = -1;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);
		char *end;

		if (strcmp(v, "#{port}") == 0) {
			*(int *)field = 0;
			return 0;
		}
		if (v[0] >= '0' && v[0] <= '9' && strlen(v) <= 5) {
			n = strtoll(v, &end, 10);
			if (*end)
				n = -1;
		}
		if (n < 1 || n > 65535)
			return cfg_fail(c, s, "\"%s\": expected 1 to 65535 or \"#{port}\"", v);
	} else if (cfg_get_integer(c, s, &n) < 0) {
		return -1;
	} else if (n < 1 || n > 65535) {
		return cfg_fail(c, s, "%lld: expected 1 to 65535 or \"#{port}\"", n);
	}
	*(int *)field = (int)n;
	return 0;
}

/* clang-format off */
static const struct cfg_key redirect_keys[] = {
	FN("status", struct cfg_redirect, status, set_rd_status, KEY_REQUIRED),
	FN_INT("protocol", struct cfg_redirect, proto, set_rd_protocol, -1, 0),
	FN_INT("port", struct cfg_redirect, port, set_rd_port, 0, 0),
	FN_STR("host", struct cfg_redirect, host, set_rd_host, "#{host}", 0),
	FN_STR("path", struct cfg_redirect, path, set_rd_path, "/#{path}", 0),
	FN_STR("query", struct cfg_redirect, query, set_rd_query, "#{query}", 0),
	KEY_END
};
/* clang-format on */

static void free_redirect(struct cfg_redirect *rd)
{
	if (!rd)
		return;
	free(rd->host);
	free(rd->path);
	free(rd->query);
	free(rd);
}

/* "redirect" / "default_redirect" = { ... }: field is a
 * struct cfg_redirect **. What depends on the listener (a loop, HTTPS to
 * HTTP) is checked by check_redirects() once the listener is read. */
static int set_redirect(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_redirect *rd = cfg_zalloc(c, 1, sizeof *rd);

	if (!rd)
		return -1;
	*(struct cfg_redirect **)field = rd;
	rd->line = (int)cfg_line_of(s);
	if (cfg_apply_defaults(c, redirect_keys, rd) < 0 || cfg_parse_group(c, s, redirect_keys, rd) < 0)
		return -1;
	return 0;
}

static void decode_unreserved(char *v);

/* Does rule R (NULL: the default action) let a request through only with
 * V as its host (TYPE CFG_COND_HOST, ignoring case) or its path
 * (CFG_COND_PATH, compared as the router reads paths): a condition of that
 * type whose one value is V, without wildcards, in a rule of host and path
 * conditions only? A redirect to that same host or path then comes back
 * to the rule. (Another condition, a query string or a header, may well
 * not hold for the redirected request: no loop is certain.) */
static int only_value(const struct cfg_rule *r, enum cfg_cond_type type, const char *v)
{
	char buf[CFG_REDIRECT_PART_MAX + 1];

	for (size_t i = 0; r && i < r->nconds; i++)
		if (r->conds[i].type != CFG_COND_HOST && r->conds[i].type != CFG_COND_PATH)
			return 0;
	if (strstr(v, "#{") || strlen(v) > CFG_REDIRECT_PART_MAX)
		return 0;
	strcpy(buf, v);
	if (type == CFG_COND_PATH)
		decode_unreserved(buf);
	for (size_t i = 0; r && i < r->nconds; i++) {
		const struct cfg_condition *cd = &r->conds[i];

		if (cd->type != type || cd->nvalues != 1 || strpbrk(cd->values[0], "*?"))
			continue;
		if (type == CFG_COND_HOST ? strcasecmp(cd->values[0], buf) == 0 : strcmp(cd->values[0], buf) == 0)
			return 1;
	}
	return 0;
}

/* Redirect RD of listener L, read from setting s: ALB refuses a redirect
 * that keeps protocol, host, port and path ("You must modify at least one
 * of the following components to avoid a redirect loop"; the query does
 * not count), and one from HTTPS to HTTP. A part replaced by the value the
 * request would keep anyway (HTTP on a plain listener, the listener's own
 * port) is kept. */
static int check_redirect(struct cfg_ctx *c, const config_setting_t *s, const struct cfg_listener *l,
			  const struct cfg_rule *r, const struct cfg_redirect *rd)
{
	int https = l->tls != NULL;

	if (https && rd->proto == 0)
		return cfg_fail(c, cfg_member_or(s, "protocol"),
				"an HTTPS listener cannot redirect to HTTP (as ALB)");
	if ((rd->proto < 0 || rd->proto == https) && (rd->port == 0 || rd->port == l->addr.port) &&
	    (strcmp(rd->host, "#{host}") == 0 || only_value(r, CFG_COND_HOST, rd->host)) &&
	    (strcmp(rd->path, "/#{path}") == 0 || only_value(r, CFG_COND_PATH, rd->path)))
		return cfg_fail(c, s,
				"redirect loop: protocol, host, port and path all stay the same "
				"(change at least one of them)");
	return 0;
}

/* ------------------------------------------------------------ forwards */

/* A target group name in a forward: field is a struct cfg_forward *. */
static int set_forward_tg(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_forward *fw = field;
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	const struct cfg_target_group *tg = config_find_tg(c->cfg, v);

	if (!tg)
		return cfg_fail(c, s, "unknown target group \"%s\"", v);
	fw->tg = &c->cfg->target_groups[tg - c->cfg->target_groups]; /* ours to point at */
	fw->tg->in_use = 1;
	return cfg_replace_str(c, &fw->target_group_name, v);
}

/* clang-format off */
static const struct cfg_key forward_keys[] = {
	FN_OBJ("target_group", set_forward_tg, KEY_REQUIRED),
	NUM("weight", K_UINT, struct cfg_forward, weight, 0, 999, 1, 0),
	KEY_END
};
/* clang-format on */

/* default_forward = "name": a forward action to that one group, of weight
 * 1 (the table's default); field is a struct cfg_action *. */
static int set_default_forward(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_action *a = field;
	struct cfg_forward *fw = cfg_zalloc(c, 1, sizeof *fw);

	if (!fw)
		return -1;
	a->type = CFG_ACT_FORWARD;
	a->u.forward.groups = fw;
	a->u.forward.ngroups = 1;
	if (cfg_apply_defaults(c, forward_keys, fw) < 0 || set_forward_tg(c, s, fw) < 0)
		return -1;
	a->u.forward.weight_total = fw->weight;
	return 0;
}

/* The groups of a forward: ( { target_group = "x"; weight = 1; }, ... );
 * field is a struct cfg_action *. */
static int parse_forward_list(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_action *a = field;
	int n = cfg_list_length(c, s);
	unsigned total = 0;

	if (n < 0)
		return -1;
	if (n == 0)
		return cfg_fail(c, s, "expected at least one target group");
	if (n > FORWARD_GROUPS_MAX)
		return cfg_fail(c, s, "%d target groups, more than ALB's %d per forward", n,
				FORWARD_GROUPS_MAX);
	a->type = CFG_ACT_FORWARD;
	if (!(a->u.forward.groups = cfg_zalloc(c, (size_t)n, sizeof *a->u.forward.groups)))
		return -1;
	a->u.forward.ngroups = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_forward *fw = &a->u.forward.groups[i];

		if (cfg_apply_defaults(c, forward_keys, fw) < 0 ||
		    cfg_parse_group(c, e, forward_keys, fw) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (a->u.forward.groups[j].tg == fw->tg)
				return cfg_fail(c, config_setting_get_member(e, "target_group"),
						"target group \"%s\" is listed twice",
						fw->target_group_name);
		total += fw->weight;
	}
	if (total == 0)
		return cfg_fail(c, s, "total weight must be greater than 0");
	a->u.forward.weight_total = total;
	return 0;
}

/* A forward's group stickiness, ALB's TargetGroupStickinessConfig. */
struct fwd_sticky {
	int enabled;
	unsigned duration_s;
};

/* clang-format off */
static const struct cfg_key fwd_sticky_keys[] = {
	NUM("enabled", K_BOOL, struct fwd_sticky, enabled, 0, 1, 1, 0),
	NUM("duration", K_UINT, struct fwd_sticky, duration_s, 1, 604800, 3600, 0),
	KEY_END
};
/* clang-format on */

struct fwd_in {
	struct cfg_action *a;
	struct fwd_sticky st;
};

static int set_fwd_groups(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	return parse_forward_list(c, s, ((struct fwd_in *)field)->a);
}

/* clang-format off */
static const struct cfg_key fwd_keys[] = {
	FN_OBJ("target_groups", set_fwd_groups, KEY_REQUIRED),
	GROUP("stickiness", struct fwd_in, st, fwd_sticky_keys, NULL),
	KEY_END
};
/* clang-format on */

/* forward = ( { target_group = "x"; weight = 1; }, ... ), or, with group
 * stickiness, forward = { target_groups = ( ... ); stickiness = {
 * enabled = true; duration = 3600; }; }: field is a struct cfg_action *. */
static int parse_forwards(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_action *a = field;
	struct fwd_in in = { .a = a };

	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		if (parse_forward_list(c, s, a) < 0)
			return -1;
	} else {
		if (cfg_apply_defaults(c, fwd_keys, &in) < 0 || cfg_parse_group(c, s, fwd_keys, &in) < 0)
			return -1;
		/* "enabled" defaults to true only where the group is written */
		if (!config_setting_get_member(s, "stickiness"))
			in.st.enabled = 0;
		a->u.forward.stickiness_s = in.st.enabled ? in.st.duration_s : 0;
	}
	/* As ALB requires: a sticky target group among several needs the
	 * forward to be sticky too, else the next request may land in
	 * another group and the target's stickiness means nothing. */
	if (a->u.forward.ngroups > 1 && !a->u.forward.stickiness_s)
		for (size_t i = 0; i < a->u.forward.ngroups; i++)
			if (a->u.forward.groups[i].tg->stickiness.type != CFG_STICKY_NONE)
				return cfg_fail(c, s,
						"target group \"%s\" is sticky: a forward to several target "
						"groups needs group stickiness too (forward = { target_groups "
						"= ( ... ); stickiness = { enabled = true; duration = ...; }; })",
						a->u.forward.groups[i].target_group_name);
	return 0;
}

/* ------------------------------------------------------------ actions */

/* A rule or a listener may give several kinds of action; that is reported
 * only once its whole group is read, after any error inside it. So while
 * the group is read, a fixed response and a redirect wait beside the
 * action (a forward goes to the action at once, which stays
 * CFG_ACT_FORWARD until here). Returns how many actions the group gave: 0,
 * 1 (then it is in *a, and *fixed and *redirect are NULL) or more. */
static int settle_action(struct cfg_action *a, struct cfg_fixed_response **fixed,
			 struct cfg_redirect **redirect)
{
	int n = (a->u.forward.groups != NULL) + (*fixed != NULL) + (*redirect != NULL);

	if (n == 1 && *fixed) {
		a->type = CFG_ACT_FIXED_RESPONSE;
		a->u.fixed = *fixed;
		*fixed = NULL;
	} else if (n == 1 && *redirect) {
		a->type = CFG_ACT_REDIRECT;
		a->u.redirect = *redirect;
		*redirect = NULL;
	}
	return n;
}

static void free_fixed(struct cfg_fixed_response *fr)
{
	if (!fr)
		return;
	free(fr->content_type);
	free(fr->body);
	free(fr);
}

static void free_action(struct cfg_action *a)
{
	switch (a->type) {
	case CFG_ACT_FORWARD:
		for (size_t i = 0; a->u.forward.groups && i < a->u.forward.ngroups; i++)
			free(a->u.forward.groups[i].target_group_name);
		free(a->u.forward.groups);
		break;
	case CFG_ACT_FIXED_RESPONSE:
		free_fixed(a->u.fixed);
		break;
	case CFG_ACT_REDIRECT:
		free_redirect(a->u.redirect);
		break;
	}
}

/* ------------------------------------------------------------ rules */

/* Host patterns are ALB's (HostHeaderConditionConfig): A-Z a-z 0-9 - . and
 * the wildcards * ?, at least one '.', and only letters after the last one
 * (a name under a top-level domain, not "localhost" or an address); stored
 * lower case. */
static int check_host(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789-.*?");
	const char *dot = strrchr(v, '.');

	if (n == 0 || v[n] != '\0')
		return cfg_fail(c, s,
				"invalid host pattern \"%s\" (expected A-Z a-z 0-9 - . "
				"and the wildcards * ?)",
				v);
	if (n > HOST_PATTERN_MAX)
		return cfg_fail(c, s, "host pattern longer than ALB's %d characters", HOST_PATTERN_MAX);
	if (!dot)
		return cfg_fail(c, s, "invalid host pattern \"%s\" (needs at least one '.', as ALB)",
				v);
	if (!dot[1] || strspn(dot + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") !=
			       strlen(dot + 1))
		return cfg_fail(c, s,
				"invalid host pattern \"%s\" (only letters may follow the last "
				"'.', as ALB)",
				v);
	for (; *v; v++)
		if (*v >= 'A' && *v <= 'Z')
			*v = (char)(*v - 'A' + 'a');
	return 0;
}

/* Path patterns are ALB's (PathPatternConditionConfig): A-Z a-z 0-9 and
 * _ - . $ / ~ " ' @ : + & and the wildcards * ?, plus albd's '%' escapes;
 * anything else ('#', '<', a space) no request path can hold as written. */
static int check_path(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_-.$/~\"'@:+&*?%");

	if (v[0] != '/' && v[0] != '*')
		return cfg_fail(c, s, "invalid path pattern \"%s\" (must start with '/' or '*')",
				v);
	if (v[n] != '\0') {
		if ((unsigned char)v[n] <= ' ' || v[n] == 0x7f)
			return cfg_fail(c, s,
					"invalid path pattern \"%s\" (spaces and control "
					"characters are not allowed)",
					v);
		if ((unsigned char)v[n] > 0x7e)
			return cfg_fail(c, s,
					"invalid path pattern \"%s\" (non-ASCII characters are not "
					"allowed: write them %%-encoded)",
					v);
		return cfg_fail(c, s,
				"invalid path pattern \"%s\" ('%c' is not allowed: expected A-Z a-z "
				"0-9 _ - . $ / ~ \" ' @ : + & %%-escapes and the wildcards * ?)",
				v, v[n]);
	}
	if (strlen(v) > PATH_PATTERN_MAX)
		return cfg_fail(c, s, "path pattern longer than ALB's %d characters", PATH_PATTERN_MAX);
	return 0;
}

/* Methods are ALB's: upper-case letters, '-' and '_', at most 40, matched
 * exactly (ALB's comparison is case sensitive: "get" would never match). */
static int check_method(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_");

	if (n == 0 || v[n] != '\0')
		return cfg_fail(c, s,
				"invalid method \"%s\" (expected upper-case letters A-Z, - and _: "
				"methods are matched case-sensitively)",
				v);
	if (n > METHOD_MAX)
		return cfg_fail(c, s, "method longer than ALB's %d characters", METHOD_MAX);
	return 0;
}

static void to_lower(char *v)
{
	for (; *v; v++)
		if (*v >= 'A' && *v <= 'Z')
			*v = (char)(*v - 'A' + 'a');
}

/* Decode, in place, the percent-encoded unreserved characters of a path
 * pattern (RFC 3986 2.3: ALPHA DIGIT - . _ ~), as the router decodes
 * request paths: "/%7Euser" is the pattern "/~user". */
static void decode_unreserved(char *v)
{
	char *w = v;

	while (*v) {
		int hi, lo;

		if (v[0] == '%' && (hi = uri_hexval((unsigned char)v[1])) >= 0 &&
		    (lo = uri_hexval((unsigned char)v[2])) >= 0) {
			int ch = hi * 16 + lo;

			if (uri_unreserved(ch)) {
				*w++ = (char)ch;
				v += 3;
				continue;
			}
			/* kept: its hex digits upper case (the router reads a
			 * request's so, and compares them ignoring case) */
			*w++ = '%';
			*w++ = (char)toupper((unsigned char)v[1]);
			*w++ = (char)toupper((unsigned char)v[2]);
			v += 3;
			continue;
		}
		*w++ = *v++;
	}
	*w = '\0';
}

/* A header value or query pattern: visible ASCII and spaces (ALB applies
 * rules to visible ASCII only), at most COND_STRING_MAX, stored lower case
 * (matched case-insensitively). ESC: '\' escapes '*', '?' and '\'. */
static int check_cond_string(struct cfg_ctx *c, const config_setting_t *s, char *v, int esc,
			     const char *what)
{
	if (!v[0])
		return cfg_fail(c, s, "empty %s", what);
	if (strlen(v) > COND_STRING_MAX)
		return cfg_fail(c, s, "%s longer than %d characters", what, COND_STRING_MAX);
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return cfg_fail(c, s, "invalid %s \"%s\" (visible ASCII characters only)",
					what, v);
		if (esc && *p == '\\') {
			if (p[1] != '*' && p[1] != '?' && p[1] != '\\')
				return cfg_fail(c, s,
						"invalid %s \"%s\" ('\\' escapes only '*', '?' "
						"and '\\')",
						what, v);
			p++;
		}
	}
	to_lower(v);
	return 0;
}

static int check_header_value(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	return check_cond_string(c, s, v, 0, "header value");
}

/* What a rule owns, partly built ones too (not r itself). */
static void free_rule(struct cfg_rule *r)
{
	for (size_t i = 0; r->conds && i < r->nconds; i++) {
		struct cfg_condition *cd = &r->conds[i];

		cfg_free_strings(cd->values, cd->nvalues);
		free(cd->header);
		for (size_t j = 0; cd->pairs && j < cd->npairs; j++) {
			free(cd->pairs[j].key);
			free(cd->pairs[j].value);
		}
		free(cd->pairs);
		free(cd->cidrs);
	}
	free(r->conds);
	free_action(&r->action);
}

/* A rule while it is read: the rule, and a fixed response or a redirect
 * that waits for settle_action(). */
struct rule_in {
	struct cfg_rule r;
	struct cfg_fixed_response *fixed; /* "fixed_response" */
	struct cfg_redirect *redirect;    /* "redirect" */
};

/* The keys of the conditions, by type. */
static const char *const cond_key[] = {
	[CFG_COND_HOST] = "host",
	[CFG_COND_PATH] = "path",
	[CFG_COND_METHOD] = "method",
	[CFG_COND_HTTP_HEADER] = "http_header",
	[CFG_COND_QUERY_STRING] = "query_string",
	[CFG_COND_SOURCE_IP] = "source_ip",
};

/* Append a zeroed condition of TYPE, read from s, to the rule. Returns it,
 * or NULL (out of memory, reported). */
static struct cfg_condition *new_cond(struct cfg_ctx *c, const config_setting_t *s,
				      struct cfg_rule *r, enum cfg_cond_type type)
{
	struct cfg_condition *v = cfg_zalloc(c, r->nconds + 1, sizeof *v);

	if (!v)
		return NULL;
	if (r->nconds)
		memcpy(v, r->conds, r->nconds * sizeof *v);
	free(r->conds);
	r->conds = v;
	v = &r->conds[r->nconds++];
	v->type = type;
	v->line = (int)cfg_line_of(s);
	return v;
}

/* Append a condition of TYPE whose values are the strings of s. */
static int add_cond(struct cfg_ctx *c, const config_setting_t *s, struct cfg_rule *r,
		    enum cfg_cond_type type, cfg_value_check check)
{
	struct cfg_condition *v = new_cond(c, s, r, type);

	return v ? cfg_set_strings(c, s, &v->values, &v->nvalues, check) : -1;
}

static int set_hosts(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	return add_cond(c, s, &((struct rule_in *)obj)->r, CFG_COND_HOST, check_host);
}

static int check_path_decoded(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	if (check_path(c, s, v) < 0)
		return -1;
	decode_unreserved(v);
	return 0;
}

static int set_paths(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	return add_cond(c, s, &((struct rule_in *)obj)->r, CFG_COND_PATH, check_path_decoded);
}

static int set_methods(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	return add_cond(c, s, &((struct rule_in *)obj)->r, CFG_COND_METHOD, check_method);
}

/* http_header = { name = "X-Canary"; values = [ ... ]; }: the name is an
 * RFC 9110 token of at most 40 characters, not Host (a host condition
 * says that); field is a struct cfg_condition. */
static int set_header_name(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_condition *cd = field;
	const char *v = cfg_string_of(c, s);
	size_t n;

	if (!v)
		return -1;
	n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		      "!#$%&'*+-.^_`|~");
	if (n == 0 || v[n] != '\0')
		return cfg_fail(c, s,
				"invalid header name \"%s\" (expected a token: letters, digits "
				"and !#$%%&'*+-.^_`|~)",
				v);
	if (n > HEADER_NAME_MAX)
		return cfg_fail(c, s, "header name \"%s\" longer than %d characters", v,
				HEADER_NAME_MAX);
	if (strcasecmp(v, "host") == 0)
		return cfg_fail(c, s, "use a host condition to match the Host header");
	if (cfg_replace_str(c, &cd->header, v) < 0)
		return -1;
	to_lower(cd->header);
	return 0;
}

static int set_header_values(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_condition *cd = field;

	return cfg_set_strings(c, s, &cd->values, &cd->nvalues, check_header_value);
}

/* clang-format off */
static const struct cfg_key header_keys[] = {
	FN_OBJ("name", set_header_name, KEY_REQUIRED),
	FN_OBJ("values", set_header_values, KEY_REQUIRED),
	KEY_END
};
/* clang-format on */

/* http_header = { ... } or a list of them, each a condition of its own
 * (all must match, as ALB's several http-header conditions). */
static int set_http_header(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = &((struct rule_in *)obj)->r;
	int list = config_setting_is_list(s);
	int n = list ? config_setting_length(s) : 1;

	if (!list && !config_setting_is_group(s))
		return cfg_fail(c, s, "expected a group { name = ...; values = [ ... ]; } or a "
				      "list of them");
	if (n == 0)
		return cfg_fail(c, s, "expected at least one header condition");
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = list ? cfg_elem(s, i) : s;
		struct cfg_condition *cd;

		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { name = ...; values = [ ... ]; }");
		if (!(cd = new_cond(c, s, r, CFG_COND_HTTP_HEADER)) ||
		    cfg_parse_group(c, e, header_keys, cd) < 0)
			return -1;
	}
	return 0;
}

static int set_query_key(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_query_pair *qp = field;
	const char *v = cfg_string_of(c, s);

	if (!v || cfg_replace_str(c, &qp->key, v) < 0)
		return -1;
	return check_cond_string(c, s, qp->key, 1, "query key");
}

static int set_query_value(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_query_pair *qp = field;
	const char *v = cfg_string_of(c, s);

	if (!v || cfg_replace_str(c, &qp->value, v) < 0)
		return -1;
	return check_cond_string(c, s, qp->value, 1, "query value");
}

/* clang-format off */
static const struct cfg_key query_keys[] = {
	FN_OBJ("key", set_query_key, 0),
	FN_OBJ("value", set_query_value, KEY_REQUIRED),
	KEY_END
};
/* clang-format on */

/* One query-string condition from S, a group { key = "k"; value = "v"; }
 * or a list of them: any pair matches. */
static int query_cond(struct cfg_ctx *c, const config_setting_t *s, struct cfg_rule *r)
{
	int list = config_setting_is_list(s);
	int n = list ? config_setting_length(s) : 1;
	struct cfg_condition *cd;

	if (!list && !config_setting_is_group(s))
		return cfg_fail(c, s, "expected a list of groups { key = ...; value = ...; }");
	if (n == 0)
		return cfg_fail(c, s, "expected at least one { key = ...; value = ...; }");
	if (!(cd = new_cond(c, s, r, CFG_COND_QUERY_STRING)) ||
	    !(cd->pairs = cfg_zalloc(c, (size_t)n, sizeof *cd->pairs)))
		return -1;
	cd->npairs = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = list ? cfg_elem(s, i) : s;

		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { key = ...; value = ...; }");
		if (cfg_parse_group(c, e, query_keys, &cd->pairs[i]) < 0)
			return -1;
	}
	return 0;
}

/* query_string = ( { key = "k"; value = "v"; }, { value = "x*"; } ) (or
 * one group): one condition, any pair matches. A list of such lists,
 * ( ( { ... } ), ( { ... }, { ... } ) ), is one condition each, all of
 * which must match (as ALB's several query-string conditions). */
static int set_query_string(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = &((struct rule_in *)obj)->r;
	int n = config_setting_is_list(s) ? config_setting_length(s) : 0;

	if (n > 0 && config_setting_is_list(cfg_elem(s, 0))) {
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = cfg_elem(s, i);

			if (!config_setting_is_list(e))
				return cfg_fail(c, e, "expected a list ( { key = ...; value = ...; } ) "
						      "(one condition), as the other elements");
			if (query_cond(c, e, r) < 0)
				return -1;
		}
		return 0;
	}
	return query_cond(c, s, r);
}

/* "10.0.0.0/8", "2001:db8::/32": an address and a prefix length, whose
 * host bits are zero. Returns 0 or -1 after cfg_fail(). */
static int parse_cidr(struct cfg_ctx *c, const config_setting_t *s, const char *v,
		      struct cfg_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : 0;
	unsigned long prefix;
	char *end;
	unsigned max;

	if (!slash || alen == 0 || alen >= sizeof addr || !slash[1] || slash[1] < '0' ||
	    slash[1] > '9' || strlen(slash + 1) > 3)
		goto bad;
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	prefix = strtoul(slash + 1, &end, 10);
	if (*end != '\0')
		goto bad;
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	if (prefix > max)
		return cfg_fail(c, s, "invalid CIDR \"%s\" (prefix length above %u)", v, max);
	out->prefix = (unsigned)prefix;
	for (unsigned bit = out->prefix; bit < max; bit++)
		if (out->addr[bit / 8] & (0x80u >> (bit % 8))) {
			char net[INET6_ADDRSTRLEN];
			uint8_t a[16];

			memcpy(a, out->addr, sizeof a);
			for (unsigned b = out->prefix; b < max; b++)
				a[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
			inet_ntop(out->family, a, net, sizeof net);
			return cfg_fail(c, s,
					"invalid CIDR \"%s\" (host bits set: the network is "
					"%s/%u)",
					v, net, out->prefix);
		}
	return 0;
bad:
	return cfg_fail(c, s,
			"invalid CIDR \"%s\" (expected an IPv4 or IPv6 network such as "
			"\"10.0.0.0/8\" or \"2001:db8::/32\")",
			v);
}

/* source_ip = [ "10.0.0.0/8", ... ] (or one string). */
static int set_source_ip(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = &((struct rule_in *)obj)->r;
	int single = config_setting_type(s) == CONFIG_TYPE_STRING;
	int n = single ? 1 : config_setting_length(s);
	struct cfg_condition *cd;

	if (!single && !config_setting_is_list(s) && !config_setting_is_array(s))
		return cfg_fail(c, s, "expected a CIDR or a list of them");
	if (n == 0)
		return cfg_fail(c, s, "expected at least one CIDR");
	if (!(cd = new_cond(c, s, r, CFG_COND_SOURCE_IP)) ||
	    !(cd->cidrs = cfg_zalloc(c, (size_t)n, sizeof *cd->cidrs)))
		return -1;
	cd->ncidrs = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = single ? s : cfg_elem(s, i);
		const char *v = cfg_string_of(c, e);

		if (!v || parse_cidr(c, e, v, &cd->cidrs[i]) < 0)
			return -1;
	}
	return 0;
}

/* The wildcards of pattern P ('\'-escaped ones when ESC are literal). */
static unsigned wildcards_of(const char *p, int esc)
{
	unsigned n = 0;

	for (; *p; p++) {
		if (esc && *p == '\\' && p[1]) {
			p++;
			continue;
		}
		n += *p == '*' || *p == '?';
	}
	return n;
}

/* ALB's per-rule limits: RULE_VALUES_MAX values, RULE_WILDCARDS_MAX wildcards. */
static int check_rule_limits(struct cfg_ctx *c, const config_setting_t *s, const struct cfg_rule *r)
{
	size_t values = 0;
	unsigned wild = 0;

	for (size_t i = 0; i < r->nconds; i++) {
		const struct cfg_condition *cd = &r->conds[i];
		/* ALB also has "up to three match evaluations per condition";
		 * albd takes up to the rule's 5 in one condition (a config an
		 * ALB takes, albd takes) */
		values += cd->nvalues + cd->npairs + cd->ncidrs;
		if (cd->type != CFG_COND_METHOD)
			for (size_t j = 0; j < cd->nvalues; j++)
				wild += wildcards_of(cd->values[j], 0);
		for (size_t j = 0; j < cd->npairs; j++)
			wild += (cd->pairs[j].key ? wildcards_of(cd->pairs[j].key, 1) : 0) +
				wildcards_of(cd->pairs[j].value, 1);
	}
	if (values > RULE_VALUES_MAX)
		return cfg_fail(c, s,
				"%zu condition values, more than ALB's %d per rule (split the "
				"rule)",
				values, RULE_VALUES_MAX);
	if (wild > RULE_WILDCARDS_MAX)
		return cfg_fail(c, s, "%u wildcards, more than ALB's %d per rule", wild,
				RULE_WILDCARDS_MAX);
	return 0;
}

/* clang-format off */
static const struct cfg_key rule_keys[] = {
	NUM("priority", K_INT, struct rule_in, r.priority, 1, PRIORITY_MAX, 0, KEY_REQUIRED),
	FN_OBJ("host", set_hosts, 0),
	FN_OBJ("path", set_paths, 0),
	FN_OBJ("method", set_methods, 0),
	FN_OBJ("http_header", set_http_header, 0),
	FN_OBJ("query_string", set_query_string, 0),
	FN_OBJ("source_ip", set_source_ip, 0),
	FN("forward", struct rule_in, r.action, parse_forwards, 0),
	FN("fixed_response", struct rule_in, fixed, set_fixed, 0),
	FN("redirect", struct rule_in, redirect, set_redirect, 0),
	KEY_END
};
/* clang-format on */

/* Where the setting of a condition stands among the members of rule g. */
static int cond_pos(const config_setting_t *g, const struct cfg_condition *cd)
{
	return config_setting_index(config_setting_get_member(g, cond_key[cd->type]));
}

/* The keys are read in table order (so that errors come in that order);
 * put the conditions back in file order. A stable insertion sort: a rule
 * has a handful of conditions. */
static void sort_conds(const config_setting_t *g, struct cfg_rule *r)
{
	for (size_t i = 1; i < r->nconds; i++) {
		struct cfg_condition x = r->conds[i];
		int pos = cond_pos(g, &x);
		size_t j = i;

		for (; j > 0 && cond_pos(g, &r->conds[j - 1]) > pos; j--)
			r->conds[j] = r->conds[j - 1];
		r->conds[j] = x;
	}
}

static int check_rule(struct cfg_ctx *c, const config_setting_t *s, struct rule_in *in)
{
	int nact;

	if (cfg_parse_group(c, s, rule_keys, in) < 0)
		return -1;
	if (in->r.nconds == 0)
		return cfg_fail(c, s,
				"needs a condition: host, path, method, http_header, "
				"query_string or source_ip");
	if (check_rule_limits(c, s, &in->r) < 0)
		return -1;
	nact = settle_action(&in->r.action, &in->fixed, &in->redirect);
	if (nact > 1)
		return cfg_fail(c, s, "needs only one of forward, fixed_response and redirect");
	if (nact == 0)
		return cfg_fail(c, s, "needs forward, fixed_response or redirect");
	sort_conds(s, &in->r);
	return 0;
}

/* Read rule s into *r (zeroed). */
static int parse_rule(struct cfg_ctx *c, const config_setting_t *s, struct cfg_rule *r)
{
	struct rule_in in = { .r = { .line = (int)cfg_line_of(s) } };

	if (check_rule(c, s, &in) < 0) {
		free_rule(&in.r);
		free_fixed(in.fixed);
		free_redirect(in.redirect);
		return -1;
	}
	*r = in.r;
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct cfg_rule *x = a, *y = b;

	return (x->priority > y->priority) - (x->priority < y->priority);
}

/* A listener while it is read: the listener, and a default fixed response
 * or redirect that waits for settle_action(). */
struct listener_in {
	struct cfg_listener l;
	struct cfg_fixed_response *fixed; /* "default_fixed_response" */
	struct cfg_redirect *redirect;    /* "default_redirect" */
};

/* rules = ( { priority = 10; ... }, ... ), stored by ascending priority;
 * obj is a struct listener_in. */
static int parse_rules(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_listener *l = &((struct listener_in *)obj)->l;
	unsigned char seen[PRIORITY_MAX / 8 + 1] = { 0 };
	int n = cfg_list_length(c, s);

	if (n <= 0)
		return n;
	if (!(l->rules = cfg_zalloc(c, (size_t)n, sizeof *l->rules)))
		return -1;
	l->nrules = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_rule *r = &l->rules[i];
		int p;

		if (parse_rule(c, e, r) < 0)
			return -1;
		p = r->priority;
		if (seen[p / 8] & (1u << (p % 8))) {
			int first = 0;

			for (int j = 0; j < i; j++)
				if (l->rules[j].priority == p)
					first = l->rules[j].line;
			return cfg_fail(c, config_setting_get_member(e, "priority"),
					"duplicate priority %d (first used at line %d)", p, first);
		}
		seen[p / 8] |= (unsigned char)(1u << (p % 8));
	}
	qsort(l->rules, l->nrules, sizeof *l->rules, rule_cmp);
	return 0;
}

/* ------------------------------------------------------------ listeners */

static int set_listen(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	char msg[CONFIG_ERR_MAX];
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (config_parse_addr(v, 0, field, msg, sizeof msg) < 0)
		return cfg_fail(c, s, "%s", msg);
	return 0;
}

static int set_desync_mode(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "defensive") == 0)
		*(enum cfg_desync_mode *)field = CFG_DESYNC_DEFENSIVE;
	else if (strcmp(v, "monitor") == 0)
		*(enum cfg_desync_mode *)field = CFG_DESYNC_MONITOR;
	else if (strcmp(v, "strictest") == 0)
		*(enum cfg_desync_mode *)field = CFG_DESYNC_STRICTEST;
	else
		return cfg_fail(c, s, "unknown desync_mitigation_mode \"%s\" (expected \"monitor\", "
				      "\"defensive\" or \"strictest\")", v);
	return 0;
}

/* clang-format off */
static const struct cfg_key listener_keys[] = {
	FN("name", struct listener_in, l.name, cfg_set_name, KEY_REQUIRED),
	FN("listen", struct listener_in, l.addr, set_listen, KEY_REQUIRED),
	FN_OBJ("rules", parse_rules, 0),
	FN("default_forward", struct listener_in, l.default_action, set_default_forward, 0),
	FN("default_fixed_response", struct listener_in, fixed, set_fixed, 0),
	FN("default_redirect", struct listener_in, redirect, set_redirect, 0),
	FN("tls", struct listener_in, l.tls, cfg_parse_tls, 0),
	NUM("trace_id", K_BOOL, struct listener_in, l.trace_id, 0, 1, 1, 0),
	FN_INT("desync_mitigation_mode", struct listener_in, l.desync_mode, set_desync_mode,
	       CFG_DESYNC_DEFENSIVE, 0),
	NUM("drop_invalid_header_fields", K_BOOL, struct listener_in, l.drop_invalid_header_fields, 0, 1, 0, 0),
	KEY_END
};
/* clang-format on */

/* The redirects of listener l (read from s), in file order: the rules'
 * (found by their unique priority, as they are sorted now), then the
 * default. */
static int check_redirects(struct cfg_ctx *c, const config_setting_t *s, const struct cfg_listener *l)
{
	const config_setting_t *rules = config_setting_get_member(s, "rules");
	int n = rules ? config_setting_length(rules) : 0;

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(rules, (unsigned)i);
		const config_setting_t *rd = config_setting_get_member(e, "redirect");
		int prio;

		if (!rd || !config_setting_lookup_int(e, "priority", &prio))
			continue;
		for (size_t j = 0; j < l->nrules; j++)
			if (l->rules[j].priority == prio && l->rules[j].action.type == CFG_ACT_REDIRECT &&
			    check_redirect(c, rd, l, &l->rules[j], l->rules[j].action.u.redirect) < 0)
				return -1;
	}
	if (l->default_action.type == CFG_ACT_REDIRECT)
		return check_redirect(c, config_setting_get_member(s, "default_redirect"), l, NULL,
				      l->default_action.u.redirect);
	return 0;
}

static int check_listener(struct cfg_ctx *c, const config_setting_t *s, struct listener_in *in)
{
	int nact;

	if (cfg_apply_defaults(c, listener_keys, in) < 0 || cfg_parse_group(c, s, listener_keys, in) < 0)
		return -1;
	nact = settle_action(&in->l.default_action, &in->fixed, &in->redirect);
	if (nact > 1)
		return cfg_fail(c, s, "needs only one of default_forward, default_fixed_response and "
				      "default_redirect");
	if (nact == 0)
		return cfg_fail(c, s, "needs default_forward, default_fixed_response or default_redirect");
	return check_redirects(c, s, &in->l);
}

/* Read listener s into *l (zeroed). */
static int parse_listener(struct cfg_ctx *c, const config_setting_t *s, struct cfg_listener *l)
{
	struct listener_in in = { .l = { .line = (int)cfg_line_of(s) } };

	if (check_listener(c, s, &in) < 0) {
		cfg_free_listener(&in.l);
		free_fixed(in.fixed);
		free_redirect(in.redirect);
		return -1;
	}
	*l = in.l;
	return 0;
}

/* listeners = ( { name = "web"; listen = "ip:port"; ... }, ... ): at least
 * one; names and addresses unique. Target groups are read already. */
int cfg_parse_listeners(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct albd_config *cfg = obj;
	int n = cfg_list_length(c, s);

	if (n < 0)
		return -1;
	if (n == 0)
		return cfg_fail(c, s, "expected at least one listener");
	if (!(cfg->listeners = cfg_zalloc(c, (size_t)n, sizeof *cfg->listeners)))
		return -1;
	cfg->nlisteners = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_listener *l = &cfg->listeners[i];

		if (parse_listener(c, e, l) < 0)
			return -1;
		for (int j = 0; j < i; j++) {
			const struct cfg_listener *o = &cfg->listeners[j];

			if (strcmp(o->name, l->name) == 0)
				return cfg_fail(
					c, config_setting_get_member(e, "name"),
					"duplicate listener name \"%s\" (first defined at line %d)",
					l->name, o->line);
			if (config_addr_equal(&o->addr, &l->addr))
				return cfg_fail(
					c, config_setting_get_member(e, "listen"),
					"duplicate listen address \"%s\" (also used by listener "
					"\"%s\" at line %d)",
					l->addr.text, o->name, o->line);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ freeing */

/* What a listener owns, partly built ones too (not l itself). */
void cfg_free_listener(struct cfg_listener *l)
{
	free(l->name);
	for (size_t j = 0; l->rules && j < l->nrules; j++)
		free_rule(&l->rules[j]);
	free(l->rules);
	free_action(&l->default_action);
	cfg_free_tls(l->tls);
}
