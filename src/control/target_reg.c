/* target_reg.c - targets registered through the admin API. See
 * target_reg.h. */
#include "control/target_reg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/admin.h"
#include "proxy/gen.h"
#include "core/atomic_file.h"
#include "core/config.h"
#include "core/log.h"

#define TG_PREFIX "/api/v1/target-groups/"

struct reg {
	char *tg;
	struct albd_addr addr;
	unsigned weight;
};

static struct {
	char *dir;
	struct reg *v;
	size_t n, cap;
	int (*rebuild)(void *arg, char *err, size_t errlen);
	void *arg;
} R;

static int find(const char *tg, const struct albd_addr *a)
{
	for (size_t i = 0; i < R.n; i++)
		if (strcmp(R.v[i].tg, tg) == 0 && config_addr_equal(&R.v[i].addr, a))
			return (int)i;
	return -1;
}

static int add(const char *tg, const struct albd_addr *a, unsigned weight)
{
	if (R.n == R.cap) {
		size_t cap = R.cap ? R.cap * 2 : 16;
		struct reg *v = realloc(R.v, cap * sizeof *v);
		if (!v)
			return -1;
		R.v = v;
		R.cap = cap;
	}
	char *name = strdup(tg);
	if (!name)
		return -1;
	R.v[R.n++] = (struct reg){ name, *a, weight };
	return 0;
}

static void drop(size_t i)
{
	free(R.v[i].tg);
	memmove(&R.v[i], &R.v[i + 1], (R.n - i - 1) * sizeof *R.v);
	R.n--;
}

int treg_parse_target(const char *id, long port, struct albd_addr *a, char *err, size_t errlen)
{
	char text[128];
	struct in6_addr in6;

	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "Port %ld is out of range (1-65535)", port);
		return -1;
	}
	if (strlen(id) > 64) {
		snprintf(err, errlen, "Id is not an IP address");
		return -1;
	}
	snprintf(text, sizeof text, inet_pton(AF_INET6, id, &in6) == 1 ? "[%s]:%ld" : "%s:%ld", id, port);
	/* IP addresses only (ALB's "ip" targets): no name resolution here */
	if (config_parse_addr(text, 0, a, err, errlen) < 0 || strchr(id, '*')) {
		snprintf(err, errlen, "Id '%s' is not an IP address", id);
		return -1;
	}
	/* nothing one can connect to a single host at */
	if (a->ss.ss_family == AF_INET) {
		uint32_t v = ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr);
		if (v == 0 || v == 0xffffffffu || (v >> 28) == 14) {
			snprintf(err, errlen, "Id '%s' is not a unicast address", id);
			return -1;
		}
	} else {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		if (IN6_IS_ADDR_UNSPECIFIED(v6) || IN6_IS_ADDR_MULTICAST(v6)) {
			snprintf(err, errlen, "Id '%s' is not a unicast address", id);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ the file */

static json_t *to_json(void)
{
	json_t *groups = json_object(), *root;
	char ip[64];

	for (size_t i = 0; groups && i < R.n; i++) {
		json_t *list = json_object_get(groups, R.v[i].tg);
		if (!list) {
			list = json_array();
			if (json_object_set_new(groups, R.v[i].tg, list) < 0)
				list = NULL;
		}
		config_addr_ip(&R.v[i].addr, ip, sizeof ip);
		if (!list || json_array_append_new(list, json_pack("{s:s,s:i,s:i}", "Id", ip, "Port",
								     (int)R.v[i].addr.port, "Weight",
								     (int)R.v[i].weight)) < 0) {
			json_decref(groups);
			return NULL;
		}
	}
	root = groups ? json_pack("{s:i,s:o}", "Version", 1, "TargetGroups", groups) : NULL;
	return root;
}

static int save(char *err, size_t errlen)
{
	json_t *j = to_json();
	char *text = j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	int rc;

	json_decref(j);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = atomic_write(R.dir, TREG_FILE, text, strlen(text), 0640, err, errlen);
	free(text);
	return rc;
}

int treg_init(const char *state_dir, char *err, size_t errlen)
{
	char path[4096];
	json_error_t je;
	json_t *root, *groups, *list, *t;
	const char *name;
	size_t i;

	free(R.dir);
	R.dir = strdup(state_dir);
	while (R.n)
		drop(R.n - 1);
	snprintf(path, sizeof path, "%s/%s", state_dir, TREG_FILE);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		FILE *f = fopen(path, "r");
		if (!f && errno == ENOENT)
			return 0;
		if (f)
			fclose(f);
		snprintf(err, errlen, "%s:%d: %s (registered targets; fix or remove the file)", path, je.line, je.text);
		return -1;
	}
	groups = json_object_get(root, "TargetGroups");
	if (!json_is_object(groups) || json_integer_value(json_object_get(root, "Version")) != 1) {
		json_decref(root);
		snprintf(err, errlen, "%s: not albd's registered targets (Version 1, TargetGroups)", path);
		return -1;
	}
	json_object_foreach(groups, name, list) {
		json_array_foreach(list, i, t) {
			struct albd_addr a;
			char why[256];
			const char *id = json_string_value(json_object_get(t, "Id"));
			json_int_t port = json_integer_value(json_object_get(t, "Port"));
			json_int_t w = json_integer_value(json_object_get(t, "Weight"));

			if (!id || treg_parse_target(id, (long)port, &a, why, sizeof why) < 0 || w < 1 || w > 999 ||
			    add(name, &a, (unsigned)w) < 0) {
				/* NAME belongs to ROOT: the message first */
				snprintf(err, errlen, "%s: target group %s, target %zu: %s", path, name, i,
					 id ? "invalid Id, Port or Weight" : "no Id");
				json_decref(root);
				return -1;
			}
		}
	}
	json_decref(root);
	if (R.n)
		log_info("%zu registered targets loaded from %s", R.n, path);
	return 0;
}

/* ------------------------------------------------------------ merging */

static struct cfg_target_group *tg_of(struct albd_config *cfg, const char *name)
{
	const struct cfg_target_group *tg = config_find_tg(cfg, name);

	return tg ? &cfg->target_groups[tg - cfg->target_groups] : NULL;
}

static int in_file(const struct cfg_target_group *tg, const struct albd_addr *a)
{
	for (size_t i = 0; i < tg->ntargets; i++)
		if (!tg->targets[i].registered && config_addr_equal(&tg->targets[i].addr, a))
			return 1;
	return 0;
}

int treg_merge(struct albd_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < R.n; i++) {
		struct cfg_target_group *tg = tg_of(cfg, R.v[i].tg);

		if (!tg || in_file(tg, &R.v[i].addr))
			continue;
		struct cfg_target *v = realloc(tg->targets, (tg->ntargets + 1) * sizeof *v);
		if (!v) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		tg->targets = v;
		struct cfg_target *t = &v[tg->ntargets];
		memset(t, 0, sizeof *t);
		if (!(t->address = strdup(R.v[i].addr.text))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->addr = R.v[i].addr;
		t->weight = R.v[i].weight;
		t->registered = 1;
		tg->ntargets++;
	}
	return 0;
}

void treg_forget_unknown(const struct albd_config *cfg)
{
	int changed = 0;
	char err[512];

	for (size_t i = 0; i < R.n;) {
		const struct cfg_target_group *tg = config_find_tg(cfg, R.v[i].tg);

		if (!tg) {
			log_warn("target group %s is gone: its registered target %s is dropped", R.v[i].tg,
				 R.v[i].addr.text);
		} else if (in_file(tg, &R.v[i].addr)) {
			log_info("target %s of group %s is in the configuration file now: its registration is dropped",
				 R.v[i].addr.text, R.v[i].tg);
		} else {
			i++;
			continue;
		}
		drop(i);
		changed = 1;
	}
	if (changed && R.dir && save(err, sizeof err) < 0)
		log_err("%s", err);
}

/* ------------------------------------------------------------ the calls */

static void fail(struct treg_error *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct treg_error *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->code, sizeof e->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

/* Put the registrations back as UNDO (a snapshot) has them. */
static void restore(const struct reg *undo, size_t nundo)
{
	while (R.n)
		drop(R.n - 1);
	for (size_t i = 0; i < nundo; i++)
		if (add(undo[i].tg, &undo[i].addr, undo[i].weight) < 0)
			log_err("registered targets: out of memory while undoing");
}

/* Make the registrations as they are now live (a new generation), then
 * keep them (targets.json): the file never holds what did not go live. On
 * failure the registrations go back as UNDO has them and E says why (503
 * while a binary upgrade is under way, else 500). */
static int commit(const struct reg *undo, size_t nundo, struct treg_error *e)
{
	char err[1024], why[1024];

	if (R.rebuild(R.arg, err, sizeof err) < 0) {
		restore(undo, nundo);
		log_err("registered targets: %s; nothing changed", err);
		fail(e, strstr(err, "upgrade") ? 503 : 500,
		     strstr(err, "upgrade") ? "ServiceUnavailable" : "InternalFailure", "%s", err);
		return -1;
	}
	if (save(err, sizeof err) == 0)
		return 0;
	/* live but not kept: undo both rather than lose it at a restart */
	snprintf(why, sizeof why, "%s", err);
	restore(undo, nundo);
	if (R.rebuild(R.arg, err, sizeof err) < 0)
		log_err("registered targets: cannot undo: %s", err);
	log_err("registered targets: %s; nothing changed", why);
	fail(e, 500, "InternalFailure", "%s", why);
	return -1;
}

static struct reg *snapshot(void)
{
	struct reg *c = malloc((R.n ? R.n : 1) * sizeof *c);

	for (size_t i = 0; c && i < R.n; i++) {
		c[i] = R.v[i];
		if (!(c[i].tg = strdup(R.v[i].tg))) {
			while (i--)
				free(c[i].tg);
			free(c);
			return NULL;
		}
	}
	return c;
}

static void snapshot_free(struct reg *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].tg);
	free(c);
}

int treg_register(const struct cfg_target_group *tg, const struct treg_target *v, size_t n,
		  struct treg_error *e)
{
	char name[256];
	size_t added = 0, nundo = R.n;
	int rc = 0;

	/* TG belongs to the live generation, which commit() replaces */
	snprintf(name, sizeof name, "%s", tg->name);
	if (R.n + n > TREG_MAX) {
		fail(e, 400, "TooManyTargets", "At most %d registered targets", TREG_MAX);
		return -1;
	}
	struct reg *undo = snapshot();
	if (!undo) {
		fail(e, 500, "InternalFailure", "Out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int k = find(name, &v[i].addr);

		/* registering again is no error (as RegisterTargets); a weight
		 * given again is the new weight */
		if (k < 0 && in_file(tg, &v[i].addr))
			continue;
		if (k >= 0) {
			if (v[i].weight && R.v[k].weight != v[i].weight) {
				R.v[k].weight = v[i].weight;
				added++;
			}
			continue;
		}
		if (add(name, &v[i].addr, v[i].weight ? v[i].weight : 1) < 0) {
			restore(undo, nundo);
			snapshot_free(undo, nundo);
			fail(e, 500, "InternalFailure", "Out of memory");
			return -1;
		}
		log_info("target %s registered in group %s (weight %u)", v[i].addr.text, name, R.v[R.n - 1].weight);
		added++;
	}
	if (added)
		rc = commit(undo, nundo, e);
	snapshot_free(undo, nundo);
	return rc;
}

int treg_deregister(const struct cfg_target_group *tg, const struct treg_target *v, size_t n,
		    struct treg_error *e)
{
	char name[256];
	size_t nundo = R.n;
	int rc;

	snprintf(name, sizeof name, "%s", tg->name);
	/* all or nothing: every target must be one the API registered */
	for (size_t i = 0; i < n; i++) {
		if (find(name, &v[i].addr) >= 0)
			continue;
		fail(e, 400, "InvalidTarget",
		     in_file(tg, &v[i].addr) ? "Target %s comes from the configuration file: remove it there and reload"
					     : "Target %s is not registered in target group '%s'",
		     v[i].addr.text, name);
		return -1;
	}
	struct reg *undo = snapshot();
	if (!undo) {
		fail(e, 500, "InternalFailure", "Out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int k = find(name, &v[i].addr);

		if (k < 0) /* listed twice */
			continue;
		drop((size_t)k);
		log_info("target %s deregistered from group %s", v[i].addr.text, name);
	}
	rc = commit(undo, nundo, e);
	snapshot_free(undo, nundo);
	return rc;
}

/* ------------------------------------------------------------ the JSON API */

/* The group NAME of the request's path (".../NAME/targets"), or NULL after
 * answering. */
static const struct cfg_target_group *group_of(struct admin_req *r, char *name, size_t len)
{
	const char *path = admin_req_path(r) + strlen(TG_PREFIX);
	const char *slash = strchr(path, '/');
	const struct albd_gen *g = admin_gen();
	const struct cfg_target_group *tg;

	if (slash && strcmp(slash, "/health") == 0) {
		admin_reply_405(r, "GET, HEAD");
		return NULL;
	}
	if (!slash || strcmp(slash, "/targets") != 0 || slash == path || (size_t)(slash - path) >= len) {
		admin_reply_error(r, 404, "NotFound", "No such endpoint: %s", admin_req_path(r));
		return NULL;
	}
	memcpy(name, path, (size_t)(slash - path));
	name[slash - path] = '\0';
	if (!g || !(tg = config_find_tg(g->cfg, name))) {
		admin_reply_error(r, 404, "TargetGroupNotFound", "Target group '%s' not found", name);
		return NULL;
	}
	return tg;
}

/* The body's Targets, checked; N of them into OUT (malloc'd). Returns 0, or
 * -1 after answering 400. */
static int parse_body(struct admin_req *r, int with_weight, struct treg_target **out, size_t *n)
{
	size_t len, i;
	const char *body = admin_req_body(r, &len);
	json_error_t je;
	json_t *root = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL, *list, *t;
	char why[256];

	*out = NULL;
	*n = 0;
	if (!root || !json_is_object(root)) {
		json_decref(root);
		admin_reply_error(r, 400, "ValidationError",
				  "The body must be a JSON object: {\"Targets\": [{\"Id\": \"10.0.0.5\", \"Port\": 8080}]}");
		return -1;
	}
	list = json_object_get(root, "Targets");
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > TREG_MAX_PER_CALL) {
		json_decref(root);
		admin_reply_error(r, 400, "ValidationError", "Targets must be a list of 1 to %d targets",
				  TREG_MAX_PER_CALL);
		return -1;
	}
	*out = calloc(json_array_size(list), sizeof **out);
	if (!*out) {
		json_decref(root);
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return -1;
	}
	json_array_foreach(list, i, t) {
		const char *key;
		json_t *v;
		json_t *id = json_object_get(t, "Id"), *port = json_object_get(t, "Port"),
		       *w = json_object_get(t, "Weight");

		if (!json_is_object(t) || !json_is_string(id) || !json_is_integer(port)) {
			snprintf(why, sizeof why, "Targets[%zu] needs Id (an IP address) and Port (an integer)", i);
			goto bad;
		}
		json_object_foreach(t, key, v) {
			if (strcmp(key, "Id") && strcmp(key, "Port") && strcmp(key, "Weight") && strcmp(key, "AvailabilityZone")) {
				snprintf(why, sizeof why, "Targets[%zu]: unknown field %.64s", i, key);
				goto bad;
			}
		}
		if (treg_parse_target(json_string_value(id), (long)json_integer_value(port), &(*out)[i].addr, why,
				      sizeof why) < 0)
			goto bad_at;
		(*out)[i].weight = 1;
		if (w && with_weight) {
			if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 999) {
				snprintf(why, sizeof why, "Weight must be an integer from 1 to 999");
				goto bad_at;
			}
			(*out)[i].weight = (unsigned)json_integer_value(w);
		}
		for (size_t j = 0; j < i; j++)
			if (config_addr_equal(&(*out)[j].addr, &(*out)[i].addr)) {
				snprintf(why, sizeof why, "target %s is listed twice", (*out)[i].addr.text);
				goto bad_at;
			}
		continue;
bad_at:
		json_decref(root);
		free(*out);
		*out = NULL;
		admin_reply_error(r, 400, "ValidationError", "Targets[%zu]: %s", i, why);
		return -1;
bad:
		json_decref(root);
		free(*out);
		*out = NULL;
		admin_reply_error(r, 400, "ValidationError", "%s", why);
		return -1;
	}
	*n = json_array_size(list);
	json_decref(root);
	return 0;
}

/* POST .../NAME/targets (REGISTER) or DELETE: RegisterTargets or
 * DeregisterTargets. */
static void targets_call(struct admin_req *r, int reg)
{
	char name[256];
	const struct cfg_target_group *tg = group_of(r, name, sizeof name);
	struct treg_target *v;
	struct treg_error e;
	size_t n;
	int rc;

	if (!tg || parse_body(r, reg, &v, &n) < 0)
		return;
	rc = reg ? treg_register(tg, v, n, &e) : treg_deregister(tg, v, n, &e);
	free(v);
	if (rc < 0)
		admin_reply_error(r, e.status, e.code, "%s", e.message);
	else
		admin_reply_json(r, 200, json_object());
}

static void register_targets(struct admin_req *r, void *arg)
{
	targets_call(r, 1);
}

static void deregister_targets(struct admin_req *r, void *arg)
{
	targets_call(r, 0);
}

void treg_api_init(int (*rebuild)(void *arg, char *err, size_t errlen), void *arg)
{
	R.rebuild = rebuild;
	R.arg = arg;
	admin_route("POST", TG_PREFIX, ADMIN_PREFIX, register_targets, NULL);
	admin_route("DELETE", TG_PREFIX, ADMIN_PREFIX, deregister_targets, NULL);
}
