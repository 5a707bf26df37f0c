/* api_elb.c - see api_elb.h. Field names, state names and reason codes are
 * ELBv2's, so that scripts written against an ALB read these answers too. */
#include "api_elb.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../core/config.h"
#include "../proxy/gen.h"
#include "../proxy/target_group.h"
#include "admin.h"
#include "health.h"

#define TG_PREFIX "/api/v1/target-groups/"

/* Seconds from milliseconds: an integer when whole. */
static json_t *seconds(unsigned ms)
{
	return ms % 1000 ? json_real(ms / 1000.0) : json_integer(ms / 1000);
}

/* The port all of TG's targets share, 0 when they differ or there are none. */
static unsigned common_port(const struct cfg_target_group *tg)
{
	unsigned port = 0;

	for (size_t i = 0; i < tg->ntargets; i++) {
		if (i && tg->targets[i].addr.port != port)
			return 0;
		port = tg->targets[i].addr.port;
	}
	return port;
}

static json_t *describe_group(const struct cfg_target_group *tg)
{
	const struct cfg_health_check *hc = &tg->health_check;
	unsigned port = common_port(tg);
	char hcport[16];
	json_t *j;

	if (hc->port)
		snprintf(hcport, sizeof hcport, "%d", hc->port);
	else
		snprintf(hcport, sizeof hcport, "traffic-port");
	j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:o, s:o, s:I, s:I, s:{s:s}, s:s, s:s}",
		      "TargetGroupName", tg->name,
		      "Protocol", tg->protocol_https ? "HTTPS" : "HTTP",
		      "HealthCheckProtocol", hc->protocol_https ? "HTTPS" : "HTTP",
		      "HealthCheckPort", hcport,
		      "HealthCheckEnabled", hc->enabled,
		      "HealthCheckPath", hc->path ? hc->path : "/",
		      "HealthCheckIntervalSeconds", seconds(hc->interval_ms),
		      "HealthCheckTimeoutSeconds", seconds(hc->timeout_ms),
		      "HealthyThresholdCount", (json_int_t)hc->healthy_threshold,
		      "UnhealthyThresholdCount", (json_int_t)hc->unhealthy_threshold,
		      "Matcher", "HttpCode", hc->matcher ? hc->matcher : "200",
		      "LoadBalancingAlgorithmType",
		      tg->algorithm == TG_ALGO_LEAST_OUTSTANDING ? "least_outstanding_requests" : "round_robin",
		      "TargetType", "ip");
	if (j && port)
		json_object_set_new(j, "Port", json_integer(port));
	return j;
}

/* GET /api/v1/target-groups */
static void target_groups(struct admin_req *r, void *arg)
{
	const struct albd_gen *g = admin_gen();
	json_t *list = json_array();

	for (size_t i = 0; g && list && i < g->cfg->ntarget_groups; i++) {
		json_t *j = describe_group(&g->cfg->target_groups[i]);

		if (!j || json_array_append_new(list, j) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	admin_reply_json(r, 200, json_pack("{s:o}", "TargetGroups", list));
}

/* SOURCE: "config" (the file) or "api" (registered), NULL for a draining
 * target no generation names any more. */
static json_t *describe_target(const struct target_state *ts, int hc_port, const char *source)
{
	char id[64], port[16];
	const char *reason, *desc;
	enum ts_health st = (enum ts_health)atomic_load_explicit(&ts->health, memory_order_relaxed);
	json_t *health, *j;

	config_addr_ip(&ts->addr, id, sizeof id);
	snprintf(port, sizeof port, "%d", hc_port ? hc_port : ts->addr.port);
	health_describe(ts, &reason, &desc);
	if (st == TS_HEALTHY)
		reason = desc = NULL; /* ALB gives no reason for a healthy target */
	health = json_pack("{s:s}", "State", hc_state_name(st));
	if (health && reason)
		json_object_set_new(health, "Reason", json_string(reason));
	if (health && reason && desc)
		json_object_set_new(health, "Description", json_string(desc));
	j = json_pack("{s:{s:s,s:i}, s:s, s:o}", "Target", "Id", id, "Port", (int)ts->addr.port,
		      "HealthCheckPort", port, "TargetHealth", health);
	/* albd's own: where the target comes from */
	if (j && source)
		json_object_set_new(j, "Source", json_string(source));
	/* albd's own: when it entered its state (the dashboard's target table) */
	uint64_t changed = health_changed_ms(ts);
	if (j && changed) {
		char when[40];
		time_t secs = (time_t)(changed / 1000);
		struct tm tm;

		gmtime_r(&secs, &tm);
		size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(when + n, sizeof when - n, ".%03uZ", (unsigned)(changed % 1000));
		json_object_set_new(j, "StateUpdatedTimestamp", json_string(when));
	}
	return j;
}

struct draining_ctx {
	json_t *list;
	int hc_port;
	int failed;
};

static void add_target(const struct target_state *ts, struct draining_ctx *d, const char *source)
{
	json_t *j = describe_target(ts, d->hc_port, source);

	if (!j || json_array_append_new(d->list, j) < 0)
		d->failed = 1;
}

static void add_draining(const struct target_state *ts, void *arg)
{
	add_target(ts, arg, NULL);
}

/* GET /api/v1/target-groups/NAME/health */
static void target_health(struct admin_req *r, void *arg)
{
	const struct albd_gen *g = admin_gen();
	const char *path = admin_req_path(r) + strlen(TG_PREFIX);
	const char *slash = strchr(path, '/');
	char name[128];
	const struct cfg_target_group *tgc;

	if (slash && strcmp(slash, "/targets") == 0) {
		admin_reply_405(r, "POST, DELETE");
		return;
	}
	if (!slash || strcmp(slash, "/health") != 0 || slash == path || (size_t)(slash - path) >= sizeof name) {
		admin_reply_error(r, 404, "NotFound", "No such endpoint: %s", admin_req_path(r));
		return;
	}
	memcpy(name, path, (size_t)(slash - path));
	name[slash - path] = '\0';
	if (!g || !(tgc = config_find_tg(g->cfg, name))) {
		admin_reply_error(r, 404, "TargetGroupNotFound", "Target group '%s' not found", name);
		return;
	}

	const struct target_group *tg = gen_tg(g, tgc);
	struct draining_ctx d = { json_array(), tgc->health_check.port, 0 };

	for (size_t i = 0; d.list && !d.failed && i < tg->ntargets; i++)
		add_target(tg->targets[i].st, &d, tg->targets[i].cfg->registered ? "api" : "config");
	if (d.list && !d.failed)
		health_each_draining(tgc->name, add_draining, &d);
	if (!d.list || d.failed) {
		json_decref(d.list);
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	admin_reply_json(r, 200, json_pack("{s:o}", "TargetHealthDescriptions", d.list));
}

void api_elb_init(void)
{
	admin_route("GET", "/api/v1/target-groups", 0, target_groups, NULL);
	admin_route("GET", TG_PREFIX, ADMIN_PREFIX, target_health, NULL);
}
