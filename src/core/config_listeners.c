/* config_listeners.c - the "listeners" section: listeners, their rules
 * (conditions and actions), forwards to target groups and fixed
 * responses. See config_engine.h for the key tables.
 */
#include "config_engine.h"

#include <stdlib.h>
#include <string.h>

#define HOST_PATTERN_MAX 255
#define PRIORITY_MAX     50000

/* ------------------------------------------------------------ fixed responses */

static int set_content_type(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!v[0] || cfg_has_ctl(v))
		return cfg_fail(c, s, "invalid content type \"%s\"", v);
	return cfg_replace_str(c, field, v);
}

static int set_body(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	return v ? cfg_replace_str(c, field, v) : -1;
}

/* clang-format off */
static const struct cfg_key fixed_keys[] = {
	NUM("status", K_INT, struct cfg_fixed_response, status, 200, 599, 0, KEY_REQUIRED),
	FN_STR("content_type", struct cfg_fixed_response, content_type, set_content_type, "text/plain", 0),
	FN_STR("body", struct cfg_fixed_response, body, set_body, "", 0),
	KEY_END
};
/* clang-format on */

/* "fixed_response" / "default_fixed_response" = { ... }: field is a
 * struct cfg_fixed_response **. */
static int set_fixed(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_fixed_response *fr = cfg_zalloc(c, 1, sizeof *fr);

	if (!fr)
		return -1;
	*(struct cfg_fixed_response **)field = fr;
	if (cfg_apply_defaults(c, fixed_keys, fr) < 0 || cfg_parse_group(c, s, fixed_keys, fr) < 0)
		return -1;
	fr->body_len = strlen(fr->body);
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
	return cfg_replace_str(c, &fw->target_group_name, v);
}

/* clang-format off */
static const struct cfg_key forward_keys[] = {
	FN_OBJ("target_group", set_forward_tg, KEY_REQUIRED),
	NUM("weight", K_UINT, struct cfg_forward, weight, 0, 999, 1, 0),
	KEY_END
};
/* clang-format on */

/* default_forward = "name": a forward of weight 1 (the table's default). */
static int set_default_forward(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	if (cfg_apply_defaults(c, forward_keys, field) < 0)
		return -1;
	return set_forward_tg(c, s, field);
}

/* forward = ( { target_group = "x"; weight = 1; }, ... ) */
static int parse_forwards(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;
	int n = cfg_list_length(c, s);
	unsigned total = 0;

	if (n < 0)
		return -1;
	if (n == 0)
		return cfg_fail(c, s, "expected at least one target group");
	if (!(r->forwards = cfg_zalloc(c, (size_t)n, sizeof *r->forwards)))
		return -1;
	r->nforwards = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_forward *fw = &r->forwards[i];

		if (cfg_apply_defaults(c, forward_keys, fw) < 0 ||
		    cfg_parse_group(c, e, forward_keys, fw) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (r->forwards[j].tg == fw->tg)
				return cfg_fail(c, config_setting_get_member(e, "target_group"),
						"target group \"%s\" is listed twice",
						fw->target_group_name);
		total += fw->weight;
	}
	if (total == 0)
		return cfg_fail(c, s, "total weight must be greater than 0");
	r->forward_weight_total = total;
	return 0;
}

/* ------------------------------------------------------------ rules */

/* Host patterns: DNS characters plus the wildcards, stored lower case. */
static int check_host(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789-._*?");

	if (n == 0 || n > HOST_PATTERN_MAX || v[n] != '\0')
		return cfg_fail(c, s,
				"invalid host pattern \"%s\" (expected A-Z a-z 0-9 - . _ "
				"and the wildcards * ?)",
				v);
	for (; *v; v++)
		if (*v >= 'A' && *v <= 'Z')
			*v = (char)(*v - 'A' + 'a');
	return 0;
}

static int check_path(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	if (v[0] != '/' && v[0] != '*')
		return cfg_fail(c, s, "invalid path pattern \"%s\" (must start with '/' or '*')",
				v);
	if (cfg_has_space_or_ctl(v))
		return cfg_fail(c, s,
				"invalid path pattern \"%s\" (spaces and control characters "
				"are not allowed)",
				v);
	return 0;
}

/* Methods are tokens of letters, stored upper case (matched exactly). */
static int check_method(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	if (n == 0 || v[n] != '\0')
		return cfg_fail(c, s, "invalid method \"%s\" (expected letters A-Z only)", v);
	for (; *v; v++)
		if (*v >= 'a' && *v <= 'z')
			*v = (char)(*v - 'a' + 'A');
	return 0;
}

static int set_hosts(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;

	return cfg_set_strings(c, s, &r->hosts, &r->nhosts, check_host);
}

static int set_paths(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;

	return cfg_set_strings(c, s, &r->paths, &r->npaths, check_path);
}

static int set_methods(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_rule *r = obj;

	return cfg_set_strings(c, s, &r->methods, &r->nmethods, check_method);
}

/* clang-format off */
static const struct cfg_key rule_keys[] = {
	NUM("priority", K_INT, struct cfg_rule, priority, 1, PRIORITY_MAX, 0, KEY_REQUIRED),
	FN_OBJ("host", set_hosts, 0),
	FN_OBJ("path", set_paths, 0),
	FN_OBJ("method", set_methods, 0),
	FN_OBJ("forward", parse_forwards, 0),
	FN("fixed_response", struct cfg_rule, fixed, set_fixed, 0),
	KEY_END
};
/* clang-format on */

static int parse_rule(struct cfg_ctx *c, const config_setting_t *s, struct cfg_rule *r)
{
	if (cfg_parse_group(c, s, rule_keys, r) < 0)
		return -1;
	if (r->nhosts + r->npaths + r->nmethods == 0)
		return cfg_fail(c, s, "needs a condition: host, path or method");
	if (r->forwards && r->fixed)
		return cfg_fail(c, s, "needs forward or fixed_response, not both");
	if (!r->forwards && !r->fixed)
		return cfg_fail(c, s, "needs forward or fixed_response");
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct cfg_rule *x = a, *y = b;

	return (x->priority > y->priority) - (x->priority < y->priority);
}

/* rules = ( { priority = 10; ... }, ... ), stored by ascending priority. */
static int parse_rules(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_listener *l = obj;
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

		r->line = (int)cfg_line_of(e);
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

/* clang-format off */
static const struct cfg_key listener_keys[] = {
	FN("name", struct cfg_listener, name, cfg_set_name, KEY_REQUIRED),
	FN("listen", struct cfg_listener, addr, set_listen, KEY_REQUIRED),
	FN_OBJ("rules", parse_rules, 0),
	FN("default_forward", struct cfg_listener, default_forward, set_default_forward, 0),
	FN("default_fixed_response", struct cfg_listener, default_fixed, set_fixed, 0),
	FN("tls", struct cfg_listener, tls, cfg_parse_tls, 0),
	KEY_END
};
/* clang-format on */

static int parse_listener(struct cfg_ctx *c, const config_setting_t *s, struct cfg_listener *l)
{
	int fwd, fixed;

	if (cfg_parse_group(c, s, listener_keys, l) < 0)
		return -1;
	fwd = l->default_forward.target_group_name != NULL;
	fixed = l->default_fixed != NULL;
	if (fwd && fixed)
		return cfg_fail(c, s, "needs default_forward or default_fixed_response, not both");
	if (!fwd && !fixed)
		return cfg_fail(c, s, "needs default_forward or default_fixed_response");
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

		l->line = (int)cfg_line_of(e);
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
	cfg_free_strings(r->hosts, r->nhosts);
	cfg_free_strings(r->paths, r->npaths);
	cfg_free_strings(r->methods, r->nmethods);
	if (r->forwards)
		for (size_t i = 0; i < r->nforwards; i++)
			free(r->forwards[i].target_group_name);
	free(r->forwards);
	free_fixed(r->fixed);
}

/* What a listener owns, partly built ones too (not l itself). */
void cfg_free_listener(struct cfg_listener *l)
{
	free(l->name);
	for (size_t j = 0; l->rules && j < l->nrules; j++)
		free_rule(&l->rules[j]);
	free(l->rules);
	free(l->default_forward.target_group_name);
	free_fixed(l->default_fixed);
	cfg_free_tls(l->tls);
}
