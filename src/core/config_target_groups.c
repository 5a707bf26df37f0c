/* config_target_groups.c - the "target_groups" section: target groups,
 * their targets and health checks (with the status code matcher). See
 * config_engine.h for the key tables.
 */
#include "config_engine.h"

#include <stdlib.h>
#include <string.h>

static int set_algorithm(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "round_robin") == 0)
		*(enum tg_algorithm *)field = TG_ALGO_ROUND_ROBIN;
	else if (strcmp(v, "least_outstanding_requests") == 0)
		*(enum tg_algorithm *)field = TG_ALGO_LEAST_OUTSTANDING;
	else
		return cfg_fail(c, s,
				"unknown algorithm \"%s\" (expected \"round_robin\" or "
				"\"least_outstanding_requests\")",
				v);
	return 0;
}

static int set_target_address(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_target *t = obj;
	char msg[CONFIG_ERR_MAX];
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (config_parse_addr(v, 1, &t->addr, msg, sizeof msg) < 0)
		return cfg_fail(c, s, "%s", msg);
	return cfg_replace_str(c, &t->address, v);
}

/* clang-format off */
static const struct cfg_key target_keys[] = {
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
	size_t mask; /* number of slots - 1, a power of two minus one */
};

static int addr_set_init(struct cfg_ctx *c, struct addr_set *set, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	set->mask = cap - 1;
	return (set->slots = cfg_zalloc(c, cap, sizeof *set->slots)) ? 0 : -1;
}

/* Add v[i]; returns the index of an earlier equal address instead, if any. */
static size_t addr_set_add(struct addr_set *set, const struct cfg_target *v, size_t i)
{
	for (size_t h = (size_t)config_addr_hash(&v[i].addr) & set->mask;;
	     h = (h + 1) & set->mask) {
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
static int parse_targets(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_target_group *tg = obj;
	struct addr_set seen = { NULL, 0 };
	int n = cfg_list_length(c, s), rc = -1;

	if (n <= 0)
		return n;
	if (!(tg->targets = cfg_zalloc(c, (size_t)n, sizeof *tg->targets)) ||
	    addr_set_init(c, &seen, (size_t)n) < 0)
		goto out;
	tg->ntargets = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_target *t = &tg->targets[i];
		size_t j;

		t->line = (int)cfg_line_of(e);
		if (cfg_apply_defaults(c, target_keys, t) < 0 ||
		    cfg_parse_group(c, e, target_keys, t) < 0)
			goto out;
		if ((j = addr_set_add(&seen, tg->targets, (size_t)i)) != (size_t)i) {
			cfg_fail(c, config_setting_get_member(e, "address"),
				 "duplicate target \"%s\" (also at line %d)", t->addr.text,
				 tg->targets[j].line);
			goto out;
		}
	}
	rc = 0;
out:
	free(seen.slots);
	return rc;
}

static int set_protocol(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "HTTP") == 0)
		*(int *)field = 0;
	else if (strcmp(v, "HTTPS") == 0)
		*(int *)field = 1;
	else
		return cfg_fail(c, s, "invalid protocol \"%s\" (expected \"HTTP\" or \"HTTPS\")",
				v);
	return 0;
}

/* port = 1..65535 or "traffic-port" (stored as 0). */
static int set_hc_port(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	int t = config_setting_type(s);
	long long v = 0;

	if (t == CONFIG_TYPE_STRING && strcmp(config_setting_get_string(s), "traffic-port") == 0) {
		*(int *)field = 0;
		return 0;
	}
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return cfg_fail(c, s, "expected a port number or \"traffic-port\"");
	if (cfg_get_integer(c, s, &v) < 0)
		return -1;
	if (v < 1 || v > 65535)
		return cfg_fail(c, s, "%lld is out of range (expected 1..65535)", v);
	*(int *)field = (int)v;
	return 0;
}

static int set_hc_path(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (v[0] != '/')
		return cfg_fail(c, s, "invalid path \"%s\" (must start with '/')", v);
	if (cfg_has_space_or_ctl(v))
		return cfg_fail(c, s,
				"invalid path \"%s\" (spaces and control characters are "
				"not allowed)",
				v);
	return cfg_replace_str(c, field, v);
}

static int set_matcher(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_health_check *hc = obj;
	char msg[CONFIG_ERR_MAX];
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (config_parse_matcher(v, hc, msg, sizeof msg) < 0)
		return cfg_fail(c, s, "%s", msg);
	return cfg_replace_str(c, &hc->matcher, v);
}

/* The default matcher, parsed as one from the file would be. */
static int def_matcher(struct cfg_ctx *c, void *obj, const char *text)
{
	struct cfg_health_check *hc = obj;
	char msg[CONFIG_ERR_MAX];

	if (config_parse_matcher(text, hc, msg, sizeof msg) < 0)
		return cfg_fail(c, NULL, "%s", msg);
	return cfg_replace_str(c, &hc->matcher, text);
}

/* clang-format off */
static const struct cfg_key hc_keys[] = {
	NUM("enabled", K_BOOL, struct cfg_health_check, enabled, 0, 1, 1, 0),
	/* protocol: unless given, the target group's (cfg_parse_target_groups) */
	FN_INT("protocol", struct cfg_health_check, protocol_https, set_protocol, 0, 0),
	FN_INT("port", struct cfg_health_check, port, set_hc_port, 0, 0),
	FN_STR("path", struct cfg_health_check, path, set_hc_path, "/", 0),
	NUM("interval", K_MS, struct cfg_health_check, interval_ms, 1, 300, 30, 0),
	NUM("timeout", K_MS, struct cfg_health_check, timeout_ms, 0.1, 120, 5, 0),
	NUM("healthy_threshold", K_UINT, struct cfg_health_check, healthy_threshold, 2, 10, 5, 0),
	NUM("unhealthy_threshold", K_UINT, struct cfg_health_check, unhealthy_threshold, 2, 10, 2, 0),
	FN_OBJ_DEF("matcher", set_matcher, "200", def_matcher, 0),
	NUM("passive_failures", K_UINT, struct cfg_health_check, passive_failures, 0, 1000, 5, 0),
	NUM("flap_transitions", K_UINT, struct cfg_health_check, flap_transitions, 0, 100, 6, 0),
	NUM("flap_window", K_MS, struct cfg_health_check, flap_window_ms, 1, 3600, 60, 0),
	NUM("flap_hold", K_MS, struct cfg_health_check, flap_hold_ms, 1, 3600, 120, 0),
	KEY_END
};
/* clang-format on */

/* After health_check = { ... } is read: what one key cannot check alone. */
static int check_health_check(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_health_check *hc = field;

	if (hc->timeout_ms >= hc->interval_ms) {
		const config_setting_t *at = config_setting_get_member(s, "timeout");

		return cfg_fail(c, at ? at : cfg_member_or(s, "interval"),
				"timeout (%g s) must be less than interval (%g s)",
				hc->timeout_ms / 1000.0, hc->interval_ms / 1000.0);
	}
	return 0;
}

/* ------------------------------------------------------------ stickiness */

static int set_sticky_type(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "lb_cookie") == 0)
		*(enum cfg_sticky_type *)field = CFG_STICKY_LB_COOKIE;
	else if (strcmp(v, "app_cookie") == 0)
		*(enum cfg_sticky_type *)field = CFG_STICKY_APP_COOKIE;
	else
		return cfg_fail(c, s, "unknown stickiness type \"%s\" (expected \"lb_cookie\" or \"app_cookie\")",
				v);
	return 0;
}

/* A cookie name is an RFC 6265 token: visible ASCII but separators. */
int config_cookie_name_valid(const char *v)
{
	if (!*v)
		return 0;
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= 0x20 || ch >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", ch))
			return 0;
	}
	return 1;
}

static int set_cookie_name(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!config_cookie_name_valid(v))
		return cfg_fail(c, s, "invalid cookie name \"%s\" (a token: letters, digits and !#$%%&'*+-.^_`|~)",
				v);
	if (strlen(v) > 64)
		return cfg_fail(c, s, "cookie name longer than 64 characters");
	return cfg_replace_str(c, field, v);
}

/* clang-format off */
static const struct cfg_key sticky_keys[] = {
	NUM("enabled", K_BOOL, struct cfg_stickiness, enabled, 0, 1, 1, 0),
	FN_INT("type", struct cfg_stickiness, type, set_sticky_type, CFG_STICKY_NONE, 0),
	NUM("duration", K_UINT, struct cfg_stickiness, duration_s, 1, 604800, 86400, 0),
	FN("cookie_name", struct cfg_stickiness, cookie_name, set_cookie_name, 0),
	KEY_END
};
/* clang-format on */

/* After stickiness = { ... } is read: the type, and the cookie names ALB
 * keeps for itself. */
static int check_stickiness(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_stickiness *st = field;
	const config_setting_t *name = config_setting_get_member(s, "cookie_name");

	st->line = (int)cfg_line_of(s);
	if (!st->enabled) {
		st->type = CFG_STICKY_NONE;
		return 0;
	}
	if (st->type == CFG_STICKY_NONE)
		return cfg_fail(c, s, "needs a type: \"lb_cookie\" or \"app_cookie\" (or enabled = false)");
	if (st->type == CFG_STICKY_APP_COOKIE) {
		if (!st->cookie_name)
			return cfg_fail(c, s, "app_cookie needs cookie_name, the application's cookie");
		if (strncmp(st->cookie_name, "AWSALB", 6) == 0)
			return cfg_fail(c, name,
					"\"%s\": cookie names starting with AWSALB (AWSALB, AWSALBAPP, AWSALBTG) are the "
					"load balancer's",
					st->cookie_name);
	} else if (!st->cookie_name) {
		if (cfg_replace_str(c, &st->cookie_name, "AWSALB") < 0)
			return -1;
	} else if (strncmp(st->cookie_name, "AWSALB", 6) == 0 && strcmp(st->cookie_name, "AWSALB") != 0) {
		return cfg_fail(c, name,
				"\"%s\": cookie names starting with AWSALB are the load balancer's (AWSALB itself "
				"is the default)",
				st->cookie_name);
	}
	return 0;
}

/* After every group is read: an lb_cookie's name must not be an
 * app_cookie's (albd would overwrite the application's session cookie). */
static int check_cookie_names(struct cfg_ctx *c, const config_setting_t *list, const struct albd_config *cfg)
{
	for (size_t i = 0; i < cfg->ntarget_groups; i++) {
		const struct cfg_stickiness *a = &cfg->target_groups[i].stickiness;

		if (a->type != CFG_STICKY_LB_COOKIE)
			continue;
		for (size_t j = 0; j < cfg->ntarget_groups; j++) {
			const struct cfg_stickiness *b = &cfg->target_groups[j].stickiness;

			if (b->type == CFG_STICKY_APP_COOKIE && strcmp(a->cookie_name, b->cookie_name) == 0)
				return cfg_fail(c,
						config_setting_get_member(
							config_setting_get_member(cfg_elem(list, (int)i), "stickiness"),
							"cookie_name"),
						"\"%s\" is the application cookie of target group \"%s\" (line %d): "
						"albd would overwrite it",
						a->cookie_name, cfg->target_groups[j].name, b->line);
		}
	}
	return 0;
}

/* clang-format off */
static const struct cfg_key tg_keys[] = {
	FN("name", struct cfg_target_group, name, cfg_set_name, KEY_REQUIRED),
	FN_INT("algorithm", struct cfg_target_group, algorithm, set_algorithm, TG_ALGO_ROUND_ROBIN, 0),
	FN_OBJ("targets", parse_targets, 0),
	GROUP("health_check", struct cfg_target_group, health_check, hc_keys, check_health_check),
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
	FN_INT("protocol", struct cfg_target_group, protocol_https, set_protocol, 0, 0),
	NUM("tls_verify", K_BOOL, struct cfg_target_group, tls_verify, 0, 1, 1, 0),
	FN("ca_file", struct cfg_target_group, ca_file, cfg_set_file, 0),
	FN("tls_server_name", struct cfg_target_group, tls_server_name, cfg_set_str, 0),
	GROUP("stickiness", struct cfg_target_group, stickiness, sticky_keys, check_stickiness),
	KEY_END
};
/* clang-format on */

/* target_groups = ( { name = "web"; targets = ( ... ); ... }, ... ): names
 * unique; may be empty. */
int cfg_parse_target_groups(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct albd_config *cfg = obj;
	int n = cfg_list_length(c, s);

	if (n <= 0)
		return n;
	if (!(cfg->target_groups = cfg_zalloc(c, (size_t)n, sizeof *cfg->target_groups)))
		return -1;
	cfg->ntarget_groups = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_target_group *tg = &cfg->target_groups[i];

		tg->line = (int)cfg_line_of(e);
		if (cfg_apply_defaults(c, tg_keys, tg) < 0 ||
		    cfg_parse_group(c, e, tg_keys, tg) < 0)
			return -1;
		/* A default that depends on another setting: as on an ALB, checks
		 * speak the group's protocol unless told. */
		const config_setting_t *hcs = config_setting_get_member(e, "health_check");
		if (!hcs || !config_setting_get_member(hcs, "protocol"))
			tg->health_check.protocol_https = tg->protocol_https;
		for (int j = 0; j < i; j++)
			if (strcmp(cfg->target_groups[j].name, tg->name) == 0)
				return cfg_fail(
					c, config_setting_get_member(e, "name"),
					"duplicate target group name \"%s\" (first defined at line %d)",
					tg->name, cfg->target_groups[j].line);
	}
	return check_cookie_names(c, s, cfg);
}

/* What a target group owns, partly built ones too (not tg itself). */
void cfg_free_target_group(struct cfg_target_group *tg)
{
	free(tg->name);
	for (size_t j = 0; tg->targets && j < tg->ntargets; j++)
		free(tg->targets[j].address);
	free(tg->targets);
	free(tg->health_check.path);
	free(tg->health_check.matcher);
	free(tg->ca_file);
	free(tg->tls_server_name);
	free(tg->stickiness.cookie_name);
	free(tg->arn);
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
			cfg_seterr(err, errlen, "invalid matcher \"%s\" (codes must be 200..599)",
				   text);
			return -1;
		}
		if (lo > hi) {
			cfg_seterr(err, errlen, "invalid matcher \"%s\" (range %d-%d is reversed)",
				   text, lo, hi);
			return -1;
		}
		if (n == HC_MATCHER_MAX) {
			cfg_seterr(err, errlen,
				   "invalid matcher \"%s\" (more than %d codes or ranges)", text,
				   HC_MATCHER_MAX);
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
	cfg_seterr(err, errlen,
		   "invalid matcher \"%s\" (expected codes or ranges such as "
		   "\"200,202\" or \"200-399\")",
		   text ? text : "");
	return -1;
}
