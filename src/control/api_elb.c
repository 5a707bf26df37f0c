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
#include "aws.h"
#include "health.h"

#define TG_PREFIX "/api/v1/target-groups/"

/* Seconds from milliseconds: an integer when whole. */
static json_t *seconds(unsigned ms)
{
	return ms % 1000 ? json_real(ms / 1000.0) : json_integer(ms / 1000);
}

unsigned api_elb_port(const struct cfg_target_group *tg)
{
	unsigned port = 0;

	for (size_t i = 0; i < tg->ntargets; i++) {
		if (i && tg->targets[i].addr.port != port)
			return 0;
		port = tg->targets[i].addr.port;
	}
	return port;
}

/* AWS's seconds are integers: MS rounded up (albd allows fractions). */
static json_t *whole_seconds(unsigned ms)
{
	return json_integer((ms + 999) / 1000);
}

static int set(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v);
}

/* LoadBalancerArns: this load balancer's ARN when a listener forwards to
 * TG, else none. */
static json_t *lb_arns(const struct albd_config *cfg, const struct cfg_target_group *tg)
{
	char res[300], arn[600];
	json_t *l = json_array();

	if (l && tg->in_use) {
		snprintf(res, sizeof res, "loadbalancer/%s", cfg->elb_id);
		if (json_array_append_new(l, json_string(aws_arn(arn, sizeof arn, "elasticloadbalancing", res))) < 0) {
			json_decref(l);
			return NULL;
		}
	}
	return l;
}

json_t *api_elb_group(const struct albd_config *cfg, const struct cfg_target_group *tg, int aws)
{
	const struct cfg_health_check *hc = &tg->health_check;
	unsigned port = api_elb_port(tg);
	json_t *(*secs)(unsigned) = aws ? whole_seconds : seconds;
	char hcport[16];
	json_t *j = json_object();
	int bad = !j;

	if (hc->port)
		snprintf(hcport, sizeof hcport, "%d", hc->port);
	else
		snprintf(hcport, sizeof hcport, "traffic-port");
	/* in AWS's member order; every set_new() consumes its value */
	bad |= set(j, "TargetGroupArn", json_string(tg->arn));
	bad |= set(j, "TargetGroupName", json_string(tg->name));
	bad |= set(j, "Protocol", json_string(tg->protocol_https ? "HTTPS" : "HTTP"));
	if (port)
		bad |= set(j, "Port", json_integer(port));
	bad |= set(j, "HealthCheckProtocol", json_string(hc->protocol_https ? "HTTPS" : "HTTP"));
	bad |= set(j, "HealthCheckPort", json_string(hcport));
	bad |= set(j, "HealthCheckEnabled", json_boolean(hc->enabled));
	bad |= set(j, "HealthCheckIntervalSeconds", secs(hc->interval_ms));
	bad |= set(j, "HealthCheckTimeoutSeconds", secs(hc->timeout_ms));
	bad |= set(j, "HealthyThresholdCount", json_integer(hc->healthy_threshold));
	bad |= set(j, "UnhealthyThresholdCount", json_integer(hc->unhealthy_threshold));
	bad |= set(j, "HealthCheckPath", json_string(hc->path ? hc->path : "/"));
	bad |= set(j, "Matcher", json_pack("{s:s}", "HttpCode", hc->matcher ? hc->matcher : "200"));
	bad |= set(j, "LoadBalancerArns", lb_arns(cfg, tg));
	bad |= set(j, "TargetType", json_string("ip"));
	bad |= set(j, "ProtocolVersion", json_string("HTTP1"));
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* GET /api/v1/target-groups */
static void target_groups(struct admin_req *r, void *arg)
{
	const struct albd_gen *g = admin_gen();
	json_t *list = json_array();

	for (size_t i = 0; g && list && i < g->cfg->ntarget_groups; i++) {
		json_t *j = api_elb_group(g->cfg, &g->cfg->target_groups[i], 0);

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
 * target no generation names any more. AWS: ELBv2's fields only. */
static json_t *describe_target(const struct target_state *ts, int hc_port, const char *source, int aws)
{
	char id[64], port[16];
	const char *reason, *desc;
	/* "unavailable" for a group whose checks are disabled */
	const char *state = health_state_name(ts);
	json_t *health, *j;

	config_addr_ip(&ts->addr, id, sizeof id);
	snprintf(port, sizeof port, "%d", hc_port ? hc_port : ts->addr.port);
	health_describe(ts, &reason, &desc);
	if (strcmp(state, "healthy") == 0)
		reason = desc = NULL; /* ALB gives no reason for a healthy target */
	/* ALB's text for this reason; what failed (connection refused, reset,
	 * flapping) is in the health check's log line */
	if (reason && strcmp(reason, "Target.FailedHealthChecks") == 0)
		desc = "Health checks failed";
	health = json_pack("{s:s}", "State", state);
	if (health && reason)
		json_object_set_new(health, "Reason", json_string(reason));
	if (health && reason && desc)
		json_object_set_new(health, "Description", json_string(desc));
	j = json_pack("{s:{s:s,s:i}, s:s, s:o}", "Target", "Id", id, "Port", (int)ts->addr.port,
		      "HealthCheckPort", port, "TargetHealth", health);
	/* albd's own: where the target comes from */
	if (j && source && !aws)
		json_object_set_new(j, "Source", json_string(source));
	/* albd's own: when it entered its state (the dashboard's target table) */
	uint64_t changed = aws ? 0 : health_changed_ms(ts);
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
	int aws;
	int failed;
};

static void add_target(const struct target_state *ts, struct draining_ctx *d, const char *source)
{
	json_t *j = describe_target(ts, d->hc_port, source, d->aws);

	if (!j || json_array_append_new(d->list, j) < 0)
		d->failed = 1;
}

static void add_draining(const struct target_state *ts, void *arg)
{
	add_target(ts, arg, NULL);
}

json_t *api_elb_target_health(const struct albd_gen *g, const struct cfg_target_group *tgc, int aws)
{
	const struct target_group *tg = gen_tg(g, tgc);
	struct draining_ctx d = { json_array(), tgc->health_check.port, aws, 0 };

	for (size_t i = 0; d.list && !d.failed && i < tg->ntargets; i++)
		add_target(tg->targets[i].st, &d, tg->targets[i].cfg->registered ? "api" : "config");
	if (d.list && !d.failed)
		health_each_draining(tgc->name, add_draining, &d);
	if (d.failed) {
		json_decref(d.list);
		return NULL;
	}
	return d.list;
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

	json_t *list = api_elb_target_health(g, tgc, 0);

	if (!list) {
		admin_reply_error(r, 500, "InternalFailure", "Out of memory");
		return;
	}
	admin_reply_json(r, 200, json_pack("{s:o}", "TargetHealthDescriptions", list));
}

void api_elb_init(void)
{
	admin_route("GET", "/api/v1/target-groups", 0, target_groups, NULL);
	admin_route("GET", TG_PREFIX, ADMIN_PREFIX, target_health, NULL);
}
