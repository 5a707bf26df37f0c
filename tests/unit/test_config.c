/* test_config.c - unit tests of src/core/config*.c: valid files load with the
 * right values and defaults, every kind of mistake is reported as the exact
 * one-line "FILE:LINE: SETTING: problem", and the address and matcher
 * parsers work on their own.
 *
 * Config text is written to a fresh mkstemp() file in /tmp for each load;
 * the file name is random, so expected errors are written without it
 * (":3: listeners.[0].listen: ...") and the test prefixes it.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/config.h"

/* ------------------------------------------------------------ helpers */

/* A new temp file holding text; the caller unlinks and frees the name. */
static char *write_tmp(const char *text)
{
	char tmpl[] = "/tmp/albd_test_config_XXXXXX";
	size_t len = strlen(text);
	int fd = mkstemp(tmpl);
	char *path;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	path = strdup(tmpl);
	ck_assert_ptr_nonnull(path);
	return path;
}

/* Load text; fails the test with libconfig's message when it does not load. */
static struct albd_config *load_ok(const char *text)
{
	char err[CONFIG_ERR_MAX] = "";
	char *path = write_tmp(text);
	struct albd_config *cfg = config_load(path, err, sizeof err);

	unlink(path);
	ck_assert_msg(cfg != NULL, "config_load failed: %s", err);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg->path, path);
	free(path);
	return cfg;
}

/* Load text and expect exactly PATH + want as the error. */
static void expect_error(const char *text, const char *want)
{
	char err[CONFIG_ERR_MAX] = "", full[CONFIG_ERR_MAX + 64];
	char *path = write_tmp(text);
	struct albd_config *cfg = config_load(path, err, sizeof err);

	unlink(path);
	snprintf(full, sizeof full, "%s%s", path, want);
	free(path);
	if (cfg)
		config_free(cfg);
	ck_assert_msg(cfg == NULL, "loaded, expected the error \"%s\"", want);
	ck_assert_str_eq(err, full);
}

/* Condition I of rule r: its type, and its values as a list of strings
 * ending in NULL. */
static void expect_cond(const struct cfg_rule *r, size_t i, enum cfg_cond_type type,
			const char *const *values)
{
	size_t n = 0;

	ck_assert_uint_lt(i, r->nconds);
	ck_assert_int_eq(r->conds[i].type, type);
	ck_assert_int_gt(r->conds[i].line, 0);
	while (values[n])
		n++;
	ck_assert_uint_eq(r->conds[i].nvalues, n);
	for (n = 0; values[n]; n++)
		ck_assert_str_eq(r->conds[i].values[n], values[n]);
}

#define VALUES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static unsigned expected_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

/* ------------------------------------------------------------ valid files */

/* The listeners/target_groups part of DESIGN.md's example, plus the "api"
 * target group its first rule forwards to. */
static const char design_example[] =
	"workers = 0;                                   # 0: one per CPU\n"
	"listeners = (\n"
	"  { name = \"web\"; listen = \"0.0.0.0:8080\";\n"
	"    rules = (\n"
	"      { priority = 10; host = [ \"api.example.com\" ]; path = [ \"/v1/*\" ];\n"
	"        forward = ( { target_group = \"api\"; weight = 1; } ); },\n"
	"      { priority = 20; path = [ \"/ping\" ];\n"
	"        fixed_response = { status = 200; content_type = \"text/plain\"; body = \"pong\\n\"; }; } );\n"
	"    default_forward = \"web\"; } );\n"
	"target_groups = (\n"
	"  { name = \"web\"; algorithm = \"least_outstanding_requests\";\n"
	"    targets = ( { address = \"127.0.0.1:8081\"; }, { address = \"127.0.0.1:8082\"; weight = 2; } );\n"
	"    health_check = { path = \"/health\"; interval = 10; timeout = 5;\n"
	"                     healthy_threshold = 3; unhealthy_threshold = 2; matcher = \"200-399\"; };\n"
	"    deregistration_delay = 30; slow_start = 0; },\n"
	"  { name = \"api\"; targets = ( { address = \"127.0.0.1:9001\"; } ); } );\n";

START_TEST(test_design_example)
{
	struct albd_config *cfg = load_ok(design_example);
	const struct cfg_listener *l;
	const struct cfg_rule *r;
	const struct cfg_target_group *web, *api;
	const struct cfg_health_check *hc;

	ck_assert_uint_eq(cfg->workers, expected_workers());
	ck_assert_uint_eq(cfg->nlisteners, 1);
	ck_assert_uint_eq(cfg->ntarget_groups, 2);
	web = config_find_tg(cfg, "web");
	api = config_find_tg(cfg, "api");
	ck_assert_ptr_eq(web, &cfg->target_groups[0]);
	ck_assert_ptr_eq(api, &cfg->target_groups[1]);

	l = &cfg->listeners[0];
	ck_assert_str_eq(l->name, "web");
	ck_assert_int_eq(l->line, 3);
	ck_assert_str_eq(l->addr.text, "0.0.0.0:8080");
	ck_assert_uint_eq(l->addr.port, 8080);
	ck_assert_int_eq(l->addr.ss.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((const struct sockaddr_in *)&l->addr.ss)->sin_port), 8080);
	ck_assert_int_eq(l->default_action.type, CFG_ACT_FORWARD);
	ck_assert_uint_eq(l->default_action.u.forward.ngroups, 1);
	ck_assert_str_eq(l->default_action.u.forward.groups[0].target_group_name, "web");
	ck_assert_ptr_eq(l->default_action.u.forward.groups[0].tg, web);
	ck_assert_uint_eq(l->default_action.u.forward.groups[0].weight, 1);
	ck_assert_uint_eq(l->default_action.u.forward.weight_total, 1);

	ck_assert_uint_eq(l->nrules, 2);
	r = &l->rules[0];
	ck_assert_int_eq(r->priority, 10);
	ck_assert_int_eq(r->line, 5);
	ck_assert_uint_eq(r->nconds, 2);
	expect_cond(r, 0, CFG_COND_HOST, VALUES("api.example.com"));
	expect_cond(r, 1, CFG_COND_PATH, VALUES("/v1/*"));
	ck_assert_int_eq(r->action.type, CFG_ACT_FORWARD);
	ck_assert_uint_eq(r->action.u.forward.ngroups, 1);
	ck_assert_str_eq(r->action.u.forward.groups[0].target_group_name, "api");
	ck_assert_ptr_eq(r->action.u.forward.groups[0].tg, api);
	ck_assert_uint_eq(r->action.u.forward.groups[0].weight, 1);
	ck_assert_uint_eq(r->action.u.forward.weight_total, 1);

	r = &l->rules[1];
	ck_assert_int_eq(r->priority, 20);
	ck_assert_uint_eq(r->nconds, 1);
	expect_cond(r, 0, CFG_COND_PATH, VALUES("/ping"));
	ck_assert_int_eq(r->action.type, CFG_ACT_FIXED_RESPONSE);
	ck_assert_ptr_nonnull(r->action.u.fixed);
	ck_assert_int_eq(r->action.u.fixed->status, 200);
	ck_assert_str_eq(r->action.u.fixed->content_type, "text/plain");
	ck_assert_str_eq(r->action.u.fixed->body, "pong\n");
	ck_assert_uint_eq(r->action.u.fixed->body_len, 5);

	ck_assert_str_eq(web->name, "web");
	ck_assert_int_eq(web->line, 11);
	ck_assert_int_eq(web->algorithm, TG_ALGO_LEAST_OUTSTANDING);
	ck_assert_uint_eq(web->ntargets, 2);
	ck_assert_str_eq(web->targets[0].address, "127.0.0.1:8081");
	ck_assert_str_eq(web->targets[0].addr.text, "127.0.0.1:8081");
	ck_assert_uint_eq(web->targets[0].addr.port, 8081);
	ck_assert_uint_eq(web->targets[0].weight, 1);
	ck_assert_int_eq(web->targets[0].line, 12);
	ck_assert_str_eq(web->targets[1].address, "127.0.0.1:8082");
	ck_assert_uint_eq(web->targets[1].weight, 2);
	hc = &web->health_check;
	ck_assert_int_eq(hc->enabled, 1);
	ck_assert_int_eq(hc->protocol_https, 0);
	ck_assert_int_eq(hc->port, 0);
	ck_assert_str_eq(hc->path, "/health");
	ck_assert_uint_eq(hc->interval_ms, 10000);
	ck_assert_uint_eq(hc->timeout_ms, 5000);
	ck_assert_uint_eq(hc->healthy_threshold, 3);
	ck_assert_uint_eq(hc->unhealthy_threshold, 2);
	ck_assert_str_eq(hc->matcher, "200-399");
	ck_assert_uint_eq(hc->nmatch, 1);
	ck_assert_int_eq(hc->match[0].lo, 200);
	ck_assert_int_eq(hc->match[0].hi, 399);
	ck_assert_uint_eq(web->deregistration_delay_ms, 30000);
	ck_assert_uint_eq(web->slow_start_ms, 0);
	ck_assert_uint_eq(web->connect_timeout_ms, 10000);
	ck_assert_uint_eq(web->response_timeout_ms, 60000);
	ck_assert_uint_eq(web->keepalive_timeout_ms, 4000);
	ck_assert_uint_eq(web->keepalive_max_idle, 64);

	ck_assert_int_eq(api->algorithm, TG_ALGO_ROUND_ROBIN);
	ck_assert_uint_eq(api->ntargets, 1);
	ck_assert_str_eq(api->targets[0].addr.text, "127.0.0.1:9001");

	ck_assert_ptr_null(config_find_tg(cfg, "nope"));
	ck_assert_ptr_null(config_find_tg(cfg, NULL));
	ck_assert_ptr_null(config_find_tg(NULL, "web"));
	config_free(cfg);
}
END_TEST

/* HTTPS target groups: TLS settings, and health checks that speak HTTPS
 * unless told otherwise (as on an ALB). */
START_TEST(test_https_target_group)
{
	struct albd_config *cfg =
		load_ok("listeners = ( { name = \"l\"; listen = \"127.0.0.1:8080\"; default_forward = \"a\"; } );\n"
			"target_groups = (\n"
			"  { name = \"a\"; protocol = \"HTTPS\"; ca_file = \"/etc/ca.pem\"; tls_server_name = \"x\"; },\n"
			"  { name = \"b\"; protocol = \"HTTPS\"; tls_verify = false;\n"
			"    health_check = { protocol = \"HTTP\"; }; },\n"
			"  { name = \"c\"; } );\n");
	const struct cfg_target_group *a = &cfg->target_groups[0], *b = &cfg->target_groups[1],
				       *c = &cfg->target_groups[2];

	ck_assert_int_eq(a->protocol_https, 1);
	ck_assert_int_eq(a->tls_verify, 1);
	ck_assert_str_eq(a->ca_file, "/etc/ca.pem");
	ck_assert_str_eq(a->tls_server_name, "x");
	ck_assert_int_eq(a->health_check.protocol_https, 1);
	ck_assert_int_eq(b->protocol_https, 1);
	ck_assert_int_eq(b->tls_verify, 0);
	ck_assert_int_eq(b->health_check.protocol_https, 0);
	ck_assert_int_eq(c->protocol_https, 0);
	ck_assert_int_eq(c->health_check.protocol_https, 0);
	ck_assert_ptr_null(c->ca_file);
	config_free(cfg);
}
END_TEST

/* "trace_id" per listener: on by default, off with false, a boolean only */
START_TEST(test_trace_id_setting)
{
	struct albd_config *cfg =
		load_ok("listeners = ( { name = \"a\"; listen = \"127.0.0.1:8080\"; trace_id = false;\n"
			"                default_fixed_response = { status = 503; }; },\n"
			"              { name = \"b\"; listen = \"127.0.0.1:8081\"; trace_id = true;\n"
			"                default_fixed_response = { status = 503; }; } );\n");
	ck_assert_int_eq(cfg->listeners[0].trace_id, 0);
	ck_assert_int_eq(cfg->listeners[1].trace_id, 1);
	config_free(cfg);

	char err[CONFIG_ERR_MAX] = "";
	char *path = write_tmp("listeners = ( { name = \"a\"; listen = \"127.0.0.1:8080\"; trace_id = \"no\";\n"
			       "                default_fixed_response = { status = 503; }; } );\n");
	cfg = config_load(path, err, sizeof err);
	unlink(path);
	free(path);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, ":1:") && strstr(err, "trace_id"), "%s", err);
}
END_TEST

START_TEST(test_stickiness)
{
	struct albd_config *cfg = load_ok(
		"listeners = ( { name = \"a\"; listen = \"127.0.0.1:8080\"; default_forward = \"lb\";\n"
		"  rules = ( { priority = 1; path = \"/w\";\n"
		"    forward = { target_groups = ( { target_group = \"lb\"; weight = 1; },\n"
		"                                  { target_group = \"app\"; weight = 2; } );\n"
		"                stickiness = { enabled = true; duration = 120; }; }; },\n"
		"    { priority = 2; path = \"/x\"; forward = { target_groups = ( { target_group = \"off\"; } ); }; },\n"
		"    { priority = 3; path = \"/y\";\n"
		"      forward = { target_groups = ( { target_group = \"off\"; } ); stickiness = { duration = 9; }; }; },\n"
		"    { priority = 4; path = \"/z\";\n"
		"      forward = { target_groups = ( { target_group = \"off\"; } ); stickiness = { enabled = false; }; }; } ); } );\n"
		"target_groups = (\n"
		"  { name = \"lb\"; stickiness = { type = \"lb_cookie\"; }; },\n"
		"  { name = \"app\"; stickiness = { type = \"app_cookie\"; cookie_name = \"SESSION\"; duration = 3600; }; },\n"
		"  { name = \"named\"; stickiness = { type = \"lb_cookie\"; cookie_name = \"LB\"; duration = 604800; }; },\n"
		"  { name = \"off\"; stickiness = { enabled = false; type = \"lb_cookie\"; }; },\n"
		"  { name = \"none\"; } );\n");
	const struct cfg_target_group *tg = cfg->target_groups;

	ck_assert_int_eq(tg[0].stickiness.type, CFG_STICKY_LB_COOKIE);
	ck_assert_str_eq(tg[0].stickiness.cookie_name, "AWSALB");
	ck_assert_uint_eq(tg[0].stickiness.duration_s, 86400);   /* ALB's default: one day */
	ck_assert_int_eq(tg[1].stickiness.type, CFG_STICKY_APP_COOKIE);
	ck_assert_str_eq(tg[1].stickiness.cookie_name, "SESSION");
	ck_assert_uint_eq(tg[1].stickiness.duration_s, 3600);
	ck_assert_str_eq(tg[2].stickiness.cookie_name, "LB");
	ck_assert_uint_eq(tg[2].stickiness.duration_s, 604800);
	ck_assert_int_eq(tg[3].stickiness.type, CFG_STICKY_NONE);
	ck_assert_int_eq(tg[4].stickiness.type, CFG_STICKY_NONE);
	ck_assert_ptr_null(tg[4].stickiness.cookie_name);
	const struct cfg_rule *r = cfg->listeners[0].rules;
	ck_assert_uint_eq(r[0].action.u.forward.ngroups, 2);
	ck_assert_uint_eq(r[0].action.u.forward.weight_total, 3);
	ck_assert_uint_eq(r[0].action.u.forward.stickiness_s, 120);
	ck_assert_uint_eq(r[1].action.u.forward.stickiness_s, 0);
	ck_assert_uint_eq(r[2].action.u.forward.stickiness_s, 9);
	ck_assert_uint_eq(r[3].action.u.forward.stickiness_s, 0);
	ck_assert_uint_eq(cfg->listeners[0].default_action.u.forward.stickiness_s, 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct albd_config *cfg =
		load_ok("listeners = ( { name = \"l\"; listen = \"127.0.0.1:8080\";\n"
			"                default_fixed_response = { status = 503; }; } );\n"
			"target_groups = ( { name = \"tg\"; } );\n");
	const struct cfg_listener *l = &cfg->listeners[0];
	const struct cfg_target_group *tg = &cfg->target_groups[0];
	const struct cfg_health_check *hc = &tg->health_check;

	ck_assert_int_eq(l->trace_id, 1);
	ck_assert_uint_eq(cfg->workers, expected_workers());
	ck_assert_uint_eq(cfg->timeouts.client_header_ms, 10000);
	ck_assert_uint_eq(cfg->timeouts.client_keepalive_ms, 60000);
	ck_assert_uint_eq(cfg->timeouts.idle_ms, 60000);
	ck_assert_uint_eq(cfg->timeouts.drain_ms, 30000);
	ck_assert_uint_eq(cfg->limits.max_request_line, 8192);
	ck_assert_uint_eq(cfg->limits.max_header_size, 65536);
	ck_assert_uint_eq(cfg->limits.max_headers, 100);
	ck_assert_uint_eq(cfg->limits.max_body_size, 0);
	ck_assert_uint_eq(cfg->limits.max_connections, 10000);
	ck_assert_uint_eq(cfg->limits.buffer_size, 65536);
	ck_assert_double_eq(cfg->limits.retry_budget_ratio, 0.2);

	ck_assert_uint_eq(l->nrules, 0);
	ck_assert_ptr_null(l->rules);
	ck_assert_int_eq(l->default_action.type, CFG_ACT_FIXED_RESPONSE);
	ck_assert_ptr_nonnull(l->default_action.u.fixed);
	ck_assert_int_eq(l->default_action.u.fixed->status, 503);
	ck_assert_str_eq(l->default_action.u.fixed->content_type, "text/plain");
	ck_assert_str_eq(l->default_action.u.fixed->body, "");
	ck_assert_uint_eq(l->default_action.u.fixed->body_len, 0);

	ck_assert_str_eq(tg->name, "tg");
	ck_assert_int_eq(tg->algorithm, TG_ALGO_ROUND_ROBIN);
	ck_assert_uint_eq(tg->ntargets, 0);
	ck_assert_uint_eq(tg->deregistration_delay_ms, 300000);
	ck_assert_uint_eq(tg->slow_start_ms, 0);
	ck_assert_uint_eq(tg->connect_timeout_ms, 10000);
	ck_assert_uint_eq(tg->response_timeout_ms, 60000);
	ck_assert_uint_eq(tg->keepalive_timeout_ms, 4000);
	ck_assert_uint_eq(tg->keepalive_max_idle, 64);
	ck_assert_int_eq(hc->enabled, 1);
	ck_assert_int_eq(hc->protocol_https, 0);
	ck_assert_int_eq(hc->port, 0);
	ck_assert_str_eq(hc->path, "/");
	ck_assert_uint_eq(hc->interval_ms, 30000);
	ck_assert_uint_eq(hc->timeout_ms, 5000);
	ck_assert_uint_eq(hc->healthy_threshold, 5);
	ck_assert_uint_eq(hc->unhealthy_threshold, 2);
	ck_assert_str_eq(hc->matcher, "200");
	ck_assert_uint_eq(hc->nmatch, 1);
	ck_assert_int_eq(hc->match[0].lo, 200);
	ck_assert_int_eq(hc->match[0].hi, 200);
	config_free(cfg);
}
END_TEST

/* Every setting given a value other than its default; floats and ints
 * where durations go, 100L for the body size, normalisation of rules. */
START_TEST(test_all_settings)
{
	struct albd_config *cfg = load_ok(
		"workers = 3;\n"
		"timeouts = { client_header = 0.5; client_keepalive = 5; idle = 7.25; drain = 0; };\n"
		"limits = { max_request_line = 256; max_header_size = 1024; max_headers = 1;\n"
		"           max_body_size = 10000000000L; max_connections = 1000000;\n"
		"           buffer_size = 16777216; retry_budget = 1; };\n"
		"listeners = (\n"
		"  { name = \"A-b_c.9\"; listen = \"[::1]:8443\";\n"
		"    rules = (\n"
		"      { priority = 30; method = \"GET\"; fixed_response = { status = 404;\n"
		"          content_type = \"application/json\"; body = \"{}\"; }; },\n"
		"      { priority = 10; host = ( \"API.Example.COM\", \"*.example.com\" );\n"
		"        method = [ \"GET\", \"POST\" ]; path = \"*\";\n"
		"        forward = ( { target_group = \"one\"; weight = 0; },\n"
		"                    { target_group = \"two\"; weight = 3; } ); },\n"
		"      { priority = 50000; path = ( \"/a\", \"/b/*\" ); forward = ( { target_group = \"one\"; } ); } );\n"
		"    default_fixed_response = { status = 599; body = \"down\"; }; },\n"
		"  { name = \"second\"; listen = \"*:80\"; default_forward = \"two\"; } );\n"
		"target_groups = (\n"
		"  { name = \"one\"; algorithm = \"round_robin\";\n"
		"    targets = ( { address = \"[::1]:9000\"; weight = 999; }, { address = \"127.0.0.1:9000\"; } );\n"
		"    health_check = { enabled = false; protocol = \"HTTPS\"; port = 8443; path = \"/hc?x=1\";\n"
		"      interval = 300; timeout = 120; healthy_threshold = 10; unhealthy_threshold = 10;\n"
		"      matcher = \"200, 202,300 - 399\"; };\n"
		"    deregistration_delay = 0.5; slow_start = 30; connect_timeout = 0.001;\n"
		"    response_timeout = 3600; keepalive_timeout = 1.5; keepalive_max_idle = 0; },\n"
		"  { name = \"two\"; algorithm = \"least_outstanding_requests\";\n"
		"    health_check = { port = \"traffic-port\"; interval = 2.5; timeout = 2; };\n"
		"    slow_start = 900; } );\n");
	const struct cfg_listener *l = &cfg->listeners[0];
	const struct cfg_target_group *one = &cfg->target_groups[0], *two = &cfg->target_groups[1];
	const struct cfg_rule *r;

	ck_assert_uint_eq(cfg->workers, 3);
	ck_assert_uint_eq(cfg->timeouts.client_header_ms, 500);
	ck_assert_uint_eq(cfg->timeouts.client_keepalive_ms, 5000);
	ck_assert_uint_eq(cfg->timeouts.idle_ms, 7250);
	ck_assert_uint_eq(cfg->timeouts.drain_ms, 0);
	ck_assert_uint_eq(cfg->limits.max_request_line, 256);
	ck_assert_uint_eq(cfg->limits.max_header_size, 1024);
	ck_assert_uint_eq(cfg->limits.max_headers, 1);
	ck_assert_uint_eq(cfg->limits.max_body_size, 10000000000ULL);
	ck_assert_uint_eq(cfg->limits.max_connections, 1000000);
	ck_assert_uint_eq(cfg->limits.buffer_size, 16777216);
	ck_assert_double_eq(cfg->limits.retry_budget_ratio, 1.0);

	ck_assert_str_eq(l->name, "A-b_c.9");
	ck_assert_str_eq(l->addr.text, "[::1]:8443");
	ck_assert_int_eq(l->addr.ss.ss_family, AF_INET6);
	ck_assert_uint_eq(l->addr.len, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(l->default_action.type, CFG_ACT_FIXED_RESPONSE);
	ck_assert_int_eq(l->default_action.u.fixed->status, 599);
	ck_assert_str_eq(l->default_action.u.fixed->content_type, "text/plain");
	ck_assert_str_eq(l->default_action.u.fixed->body, "down");
	ck_assert_uint_eq(l->default_action.u.fixed->body_len, 4);

	/* sorted by priority: 10, 30, 50000 */
	ck_assert_uint_eq(l->nrules, 3);
	r = &l->rules[0];
	ck_assert_int_eq(r->priority, 10);
	ck_assert_uint_eq(r->nconds, 3); /* in file order: host, method, path */
	expect_cond(r, 0, CFG_COND_HOST, VALUES("api.example.com", "*.example.com"));
	expect_cond(r, 1, CFG_COND_METHOD, VALUES("GET", "POST"));
	expect_cond(r, 2, CFG_COND_PATH, VALUES("*"));
	ck_assert_int_eq(r->action.type, CFG_ACT_FORWARD);
	ck_assert_uint_eq(r->action.u.forward.ngroups, 2);
	ck_assert_ptr_eq(r->action.u.forward.groups[0].tg, one);
	ck_assert_uint_eq(r->action.u.forward.groups[0].weight, 0);
	ck_assert_ptr_eq(r->action.u.forward.groups[1].tg, two);
	ck_assert_uint_eq(r->action.u.forward.groups[1].weight, 3);
	ck_assert_uint_eq(r->action.u.forward.weight_total, 3);
	r = &l->rules[1];
	ck_assert_int_eq(r->priority, 30);
	ck_assert_uint_eq(r->nconds, 1);
	expect_cond(r, 0, CFG_COND_METHOD, VALUES("GET"));
	ck_assert_int_eq(r->action.type, CFG_ACT_FIXED_RESPONSE);
	ck_assert_int_eq(r->action.u.fixed->status, 404);
	ck_assert_str_eq(r->action.u.fixed->content_type, "application/json");
	ck_assert_str_eq(r->action.u.fixed->body, "{}");
	r = &l->rules[2];
	ck_assert_int_eq(r->priority, 50000);
	ck_assert_uint_eq(r->nconds, 1);
	expect_cond(r, 0, CFG_COND_PATH, VALUES("/a", "/b/*"));
	ck_assert_int_eq(r->action.type, CFG_ACT_FORWARD);
	ck_assert_uint_eq(r->action.u.forward.ngroups, 1);
	ck_assert_uint_eq(r->action.u.forward.groups[0].weight, 1);
	ck_assert_uint_eq(r->action.u.forward.weight_total, 1);

	ck_assert_str_eq(cfg->listeners[1].addr.text, "0.0.0.0:80");
	ck_assert_int_eq(cfg->listeners[1].default_action.type, CFG_ACT_FORWARD);
	ck_assert_uint_eq(cfg->listeners[1].default_action.u.forward.ngroups, 1);
	ck_assert_ptr_eq(cfg->listeners[1].default_action.u.forward.groups[0].tg, two);

	ck_assert_uint_eq(one->ntargets, 2);
	ck_assert_str_eq(one->targets[0].addr.text, "[::1]:9000");
	ck_assert_uint_eq(one->targets[0].weight, 999);
	ck_assert_int_eq(one->health_check.enabled, 0);
	ck_assert_int_eq(one->health_check.protocol_https, 1);
	ck_assert_int_eq(one->health_check.port, 8443);
	ck_assert_str_eq(one->health_check.path, "/hc?x=1");
	ck_assert_uint_eq(one->health_check.interval_ms, 300000);
	ck_assert_uint_eq(one->health_check.timeout_ms, 120000);
	ck_assert_uint_eq(one->health_check.healthy_threshold, 10);
	ck_assert_uint_eq(one->health_check.unhealthy_threshold, 10);
	ck_assert_str_eq(one->health_check.matcher, "200, 202,300 - 399");
	ck_assert_uint_eq(one->health_check.nmatch, 3);
	ck_assert_int_eq(one->health_check.match[1].lo, 202);
	ck_assert_int_eq(one->health_check.match[2].lo, 300);
	ck_assert_int_eq(one->health_check.match[2].hi, 399);
	ck_assert_uint_eq(one->deregistration_delay_ms, 500);
	ck_assert_uint_eq(one->slow_start_ms, 30000);
	ck_assert_uint_eq(one->connect_timeout_ms, 1);
	ck_assert_uint_eq(one->response_timeout_ms, 3600000);
	ck_assert_uint_eq(one->keepalive_timeout_ms, 1500);
	ck_assert_uint_eq(one->keepalive_max_idle, 0);

	ck_assert_int_eq(two->algorithm, TG_ALGO_LEAST_OUTSTANDING);
	ck_assert_int_eq(two->health_check.port, 0);
	ck_assert_uint_eq(two->health_check.interval_ms, 2500);
	ck_assert_uint_eq(two->health_check.timeout_ms, 2000);
	ck_assert_uint_eq(two->slow_start_ms, 900000);
	config_free(cfg);
}
END_TEST

/* A rule's conditions come out typed, one per setting, in the order of the
 * file (not the order albd reads the keys in), each with its own line. */
START_TEST(test_rule_conditions_in_file_order)
{
	struct albd_config *cfg = load_ok(
		"listeners = (\n"
		"  { name = \"web\"; listen = \"127.0.0.1:8080\"; default_forward = \"tg\";\n"
		"    rules = (\n"
		"      { priority = 2; method = \"PUT\";\n"
		"        path = [ \"/x\", \"/y*\" ]; host = \"A.Example\";\n"
		"        fixed_response = { status = 204; }; },\n"
		"      { priority = 1; path = \"/p\"; method = [ \"GET\", \"HEAD\" ];\n"
		"        forward = ( { target_group = \"tg\"; } ); },\n"
		"      { priority = 3; forward = ( { target_group = \"tg\"; } );\n"
		"        host = \"h.example.com\"; } ); } );\n"
		"target_groups = ( { name = \"tg\"; } );\n");
	const struct cfg_listener *l = &cfg->listeners[0];
	const struct cfg_rule *r;

	ck_assert_uint_eq(l->nrules, 3);
	r = &l->rules[0]; /* priority 1 */
	ck_assert_int_eq(r->priority, 1);
	ck_assert_uint_eq(r->nconds, 2);
	expect_cond(r, 0, CFG_COND_PATH, VALUES("/p"));
	expect_cond(r, 1, CFG_COND_METHOD, VALUES("GET", "HEAD"));
	ck_assert_int_eq(r->conds[0].line, 7);
	ck_assert_int_eq(r->conds[1].line, 7);

	r = &l->rules[1]; /* priority 2 */
	ck_assert_int_eq(r->priority, 2);
	ck_assert_uint_eq(r->nconds, 3);
	expect_cond(r, 0, CFG_COND_METHOD, VALUES("PUT"));
	expect_cond(r, 1, CFG_COND_PATH, VALUES("/x", "/y*"));
	expect_cond(r, 2, CFG_COND_HOST, VALUES("a.example"));
	ck_assert_int_eq(r->conds[0].line, 4);
	ck_assert_int_eq(r->conds[1].line, 5);
	ck_assert_int_eq(r->conds[2].line, 5);
	ck_assert_int_eq(r->action.type, CFG_ACT_FIXED_RESPONSE);
	ck_assert_int_eq(r->action.u.fixed->status, 204);

	r = &l->rules[2]; /* priority 3: the action before the condition */
	ck_assert_uint_eq(r->nconds, 1);
	expect_cond(r, 0, CFG_COND_HOST, VALUES("h.example.com"));
	ck_assert_int_eq(r->conds[0].line, 10);
	ck_assert_int_eq(r->action.type, CFG_ACT_FORWARD);
	config_free(cfg);
}
END_TEST

/* Host patterns ALB takes load: wildcards anywhere before the last label,
 * digits and hyphens, upper case (stored lower). */
START_TEST(test_host_patterns_ok)
{
	struct albd_config *cfg = load_ok(
		"listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
		"  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
		"    host = [ \"*.Example.COM\", \"api-2.x?.example.org\", \"10-0-0-1.nip.io\", \"a.b\" ]; } ); }\n"
		");\n"
		"target_groups = ( { name = \"web\"; } );\n");

	expect_cond(&cfg->listeners[0].rules[0], 0, CFG_COND_HOST,
		    VALUES("*.example.com", "api-2.x?.example.org", "10-0-0-1.nip.io", "a.b"));
	config_free(cfg);
}
END_TEST

/* Every character of ALB's path patterns loads, and albd's %-escapes. */
START_TEST(test_path_patterns_ok)
{
	struct albd_config *cfg = load_ok(
		"listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
		"  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
		"    path = [ \"/Az09_-.$/~\\\"'@:+&*\", \"/caf%C3%A9?\", \"*\" ]; } ); }\n"
		");\n"
		"target_groups = ( { name = \"web\"; } );\n");

	expect_cond(&cfg->listeners[0].rules[0], 0, CFG_COND_PATH,
		    VALUES("/Az09_-.$/~\"'@:+&*", "/caf%C3%A9?", "*"));
	config_free(cfg);
}
END_TEST

/* http_header, query_string and source_ip come out compiled: the header
 * name and the patterns lower case, the CIDRs parsed; path patterns have
 * their encoded unreserved characters decoded. */
START_TEST(test_rule_new_conditions)
{
	struct albd_config *cfg = load_ok(
		"listeners = (\n"
		"  { name = \"web\"; listen = \"127.0.0.1:8080\"; default_forward = \"tg\";\n"
		"    rules = (\n"
		"      { priority = 1; http_header = { name = \"X-Canary\"; values = [ \"Y*\" ]; };\n"
		"        query_string = ( { key = \"V\"; value = \"2\"; }, { value = \"x\\\\*\"; } );\n"
		"        source_ip = [ \"10.0.0.0/8\", \"2001:DB8::/32\" ];\n"
		"        forward = ( { target_group = \"tg\"; } ); },\n"
		"      { priority = 2; path = \"/%7Ejoe/%2f%41*\";\n"
		"        http_header = ( { name = \"A\"; values = \"1\"; },\n"
		"                        { name = \"B\"; values = [ \"2\", \"3\" ]; } );\n"
		"        source_ip = \"0.0.0.0/0\";\n"
		"        forward = ( { target_group = \"tg\"; } ); },\n"
		"      { priority = 3; query_string = { value = \"*\"; }; source_ip = \"::/0\";\n"
		"        forward = ( { target_group = \"tg\"; } ); },\n"
		"      { priority = 4; source_ip = [ \"192.0.2.7/32\", \"::1/128\" ];\n"
		"        forward = ( { target_group = \"tg\"; } ); } ); } );\n"
		"target_groups = ( { name = \"tg\"; } );\n");
	const struct cfg_listener *l = &cfg->listeners[0];
	const struct cfg_rule *r = &l->rules[0];
	const struct cfg_condition *cd;
	uint8_t a[16];

	ck_assert_uint_eq(r->nconds, 3);
	cd = &r->conds[0];
	ck_assert_int_eq(cd->type, CFG_COND_HTTP_HEADER);
	ck_assert_str_eq(cd->header, "x-canary");
	expect_cond(r, 0, CFG_COND_HTTP_HEADER, VALUES("y*"));
	ck_assert_int_eq(cd->line, 4);
	cd = &r->conds[1];
	ck_assert_int_eq(cd->type, CFG_COND_QUERY_STRING);
	ck_assert_int_eq(cd->line, 5);
	ck_assert_uint_eq(cd->npairs, 2);
	ck_assert_str_eq(cd->pairs[0].key, "v");
	ck_assert_str_eq(cd->pairs[0].value, "2");
	ck_assert_ptr_null(cd->pairs[1].key);
	ck_assert_str_eq(cd->pairs[1].value, "x\\*");
	cd = &r->conds[2];
	ck_assert_int_eq(cd->type, CFG_COND_SOURCE_IP);
	ck_assert_uint_eq(cd->ncidrs, 2);
	ck_assert_int_eq(cd->cidrs[0].family, AF_INET);
	ck_assert_uint_eq(cd->cidrs[0].prefix, 8);
	ck_assert_int_eq(memcmp(cd->cidrs[0].addr, "\x0a\0\0\0", 4), 0);
	ck_assert_int_eq(cd->cidrs[1].family, AF_INET6);
	ck_assert_uint_eq(cd->cidrs[1].prefix, 32);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::", a), 1);
	ck_assert_int_eq(memcmp(cd->cidrs[1].addr, a, 16), 0);

	r = &l->rules[1];
	ck_assert_uint_eq(r->nconds, 4);
	/* unreserved escapes decoded; a kept one (%2f) gets upper-case hex digits */
	expect_cond(r, 0, CFG_COND_PATH, VALUES("/~joe/%2FA*"));
	expect_cond(r, 1, CFG_COND_HTTP_HEADER, VALUES("1"));
	ck_assert_str_eq(r->conds[1].header, "a");
	expect_cond(r, 2, CFG_COND_HTTP_HEADER, VALUES("2", "3"));
	ck_assert_str_eq(r->conds[2].header, "b");
	ck_assert_int_eq(r->conds[3].type, CFG_COND_SOURCE_IP);
	ck_assert_uint_eq(r->conds[3].cidrs[0].prefix, 0);

	r = &l->rules[2];
	ck_assert_uint_eq(r->conds[0].npairs, 1);
	ck_assert_str_eq(r->conds[0].pairs[0].value, "*");
	ck_assert_int_eq(r->conds[1].cidrs[0].family, AF_INET6);
	ck_assert_uint_eq(r->conds[1].cidrs[0].prefix, 0);

	r = &l->rules[3];
	ck_assert_uint_eq(r->conds[0].cidrs[0].prefix, 32);
	ck_assert_uint_eq(r->conds[0].cidrs[1].prefix, 128);
	config_free(cfg);
}
END_TEST

/* default_forward and default_fixed_response both come out as the
 * listener's default action, of the right type. */
START_TEST(test_default_actions)
{
	struct albd_config *cfg = load_ok(
		"listeners = (\n"
		"  { name = \"fwd\"; listen = \"127.0.0.1:8080\"; default_forward = \"tg2\"; },\n"
		"  { name = \"fixed\"; listen = \"127.0.0.1:8081\";\n"
		"    default_fixed_response = { status = 418; content_type = \"text/css\"; body = \"tea\"; }; } );\n"
		"target_groups = ( { name = \"tg1\"; }, { name = \"tg2\"; } );\n");
	const struct cfg_action *a = &cfg->listeners[0].default_action;

	ck_assert_int_eq(a->type, CFG_ACT_FORWARD);
	ck_assert_uint_eq(a->u.forward.ngroups, 1);
	ck_assert_str_eq(a->u.forward.groups[0].target_group_name, "tg2");
	ck_assert_ptr_eq(a->u.forward.groups[0].tg, &cfg->target_groups[1]);
	ck_assert_uint_eq(a->u.forward.groups[0].weight, 1);
	ck_assert_uint_eq(a->u.forward.weight_total, 1);

	a = &cfg->listeners[1].default_action;
	ck_assert_int_eq(a->type, CFG_ACT_FIXED_RESPONSE);
	ck_assert_ptr_nonnull(a->u.fixed);
	ck_assert_int_eq(a->u.fixed->status, 418);
	ck_assert_str_eq(a->u.fixed->content_type, "text/css");
	ck_assert_str_eq(a->u.fixed->body, "tea");
	ck_assert_uint_eq(a->u.fixed->body_len, 3);
	config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------ bad files */

/* A valid tail: target group "web" with one target. */
#define TG_WEB \
	"target_groups = ( { name = \"web\"; targets = ( { address = \"127.0.0.1:8081\"; } ); } );\n"

struct bad_case {
	const char *text;
	const char *want; /* the error without the leading file name */
};

#define LISTENER1 "listeners = ( { name = \"l\"; listen = \"127.0.0.1:8080\"; default_fixed_response = { status = 200; }; } );\n"

static const struct bad_case bad_cases[] = {
	/* 0: libconfig's syntax error */
	{ "workers = 2;\n"
	  "listeners = (\n"
	  "  { name = ; }\n"
	  ");\n",
	  ":3: syntax error" },
	/* 1: libconfig's other parse errors keep its text */
	{ "workers = 1;\n"
	  "workers = 2;\n",
	  ":2: syntax error: duplicate setting name" },
	/* 2 */
	{ "worker = 2;\n", ":1: worker: unknown setting \"worker\"" },
	/* 3 */
	{ "workers = 1;\n"
	  "admin = { listen = \"127.0.0.1:9100\"; port = 1; };\n"
	  "listeners = ( { name = \"l\"; listen = \"127.0.0.1:8080\"; default_fixed_response = { status = 200; }; } );\n",
	  ":2: admin.port: unknown setting \"port\"" },
	/* 4 */
	{ "alarms = 5;\n" LISTENER1, ":1: alarms: expected a list ( ... )" },
	/* 5: the root has no line */
	{ "workers = 1;\n", ": missing required setting \"listeners\"" },
	/* 6 */
	{ "listeners = (\n"
	  "  { name = \"web\";\n"
	  "    default_fixed_response = { status = 200; }; }\n"
	  ");\n",
	  ":2: listeners.[0]: missing required setting \"listen\"" },
	/* 7 */
	{ "listeners = (\n"
	  "  { name = \"web\";\n"
	  "    listen = \"127.0.0.1\";\n"
	  "    default_fixed_response = { status = 200; }; }\n"
	  ");\n",
	  ":3: listeners.[0].listen: invalid address \"127.0.0.1\" (expected ip:port)" },
	/* 8 */
	{ "listeners = (\n"
	  "  { name = \"web\";\n"
	  "    listen = \"127.0.0.1:0\";\n"
	  "    default_fixed_response = { status = 200; }; }\n"
	  ");\n",
	  ":3: listeners.[0].listen: invalid port in address \"127.0.0.1:0\" (expected 1..65535)" },
	/* 9: listeners take addresses, never names */
	{ "listeners = (\n"
	  "  { name = \"web\"; listen = \"localhost:80\";\n"
	  "    default_fixed_response = { status = 200; }; }\n"
	  ");\n",
	  ":2: listeners.[0].listen: invalid address \"localhost:80\" (expected ip:port, "
	  "host names are not allowed here)" },
	/* 10 */
	{ "listeners = (\n"
	  "  { name = \"web\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; },\n"
	  "  { name = \"web\";\n"
	  "    listen = \"127.0.0.1:81\"; default_forward = \"web\"; }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[1].name: duplicate listener name \"web\" (first defined at line 2)" },
	/* 11: compared after normalisation ("*" is 0.0.0.0) */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"0.0.0.0:80\"; default_forward = \"web\"; },\n"
	  "  { name = \"b\";\n"
	  "    listen = \"*:80\"; default_forward = \"web\"; }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[1].listen: duplicate listen address \"0.0.0.0:80\" (also used by "
	  "listener \"a\" at line 2)" },
	/* 12 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\";\n"
	  "    default_forward = \"wbe\"; }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].default_forward: unknown target group \"wbe\"" },
	/* 13 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = (\n"
	  "      { priority = 1; path = \"/\";\n"
	  "        forward = ( { target_group = \"web\"; },\n"
	  "                    { target_group = \"api\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":6: listeners.[0].rules.[0].forward.[1].target_group: unknown target group \"api\"" },
	/* 14 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = (\n"
	  "      { priority = 7; path = \"/a\"; forward = ( { target_group = \"web\"; } ); },\n"
	  "      { priority = 8; path = \"/b\"; forward = ( { target_group = \"web\"; } ); },\n"
	  "      { path = \"/c\"; forward = ( { target_group = \"web\"; } );\n"
	  "        priority = 7; } ); }\n"
	  ");\n" TG_WEB,
	  ":7: listeners.[0].rules.[2].priority: duplicate priority 7 (first used at line 4)" },
	/* 15 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = (\n"
	  "      { priority = 1; forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0]: needs a condition: host, path, method, http_header, "
	  "query_string or source_ip" },
	/* 16 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = (\n"
	  "      { priority = 1; path = \"/\";\n"
	  "        forward = ( { target_group = \"web\"; } );\n"
	  "        fixed_response = { status = 200; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0]: needs only one of forward, fixed_response and redirect" },
	/* 17 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/\"; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0]: needs forward, fixed_response or redirect" },
	/* 18 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; }\n"
	  ");\n",
	  ":2: listeners.[0]: needs default_forward, default_fixed_response or default_redirect" },
	/* 19 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    default_fixed_response = { status = 200; }; }\n"
	  ");\n" TG_WEB,
	  ":2: listeners.[0]: needs only one of default_forward, default_fixed_response and default_redirect" },
	/* 20 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    algorithm = \"least_connections\"; }\n"
	  ");\n",
	  ":4: target_groups.[0].algorithm: unknown algorithm \"least_connections\" (expected "
	  "\"round_robin\" or \"least_outstanding_requests\")" },
	/* 21 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    health_check = {\n"
	  "      matcher = \"2xx\"; }; }\n"
	  ");\n",
	  ":5: target_groups.[0].health_check.matcher: invalid matcher \"2xx\" (expected codes "
	  "or ranges such as \"200,202\" or \"200-399\")" },
	/* 22 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    health_check = { interval = 10;\n"
	  "                     timeout = 10; }; }\n"
	  ");\n",
	  ":5: target_groups.[0].health_check.timeout: timeout (10 s) must be less than "
	  "interval (10 s)" },
	/* 23: only interval given: the default timeout (5 s) is too long for it */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    health_check = { interval = 2.5; }; }\n"
	  ");\n",
	  ":4: target_groups.[0].health_check.interval: timeout (5 s) must be less than "
	  "interval (2.5 s)" },
	/* 24 */
	{ "workers = 300;\n", ":1: workers: 300 is out of range (expected 0..256)" },
	/* 25 */
	{ "workers = \"4\";\n", ":1: workers: expected an integer" },
	/* 26 */
	{ "workers = 1.5;\n", ":1: workers: expected an integer" },
	/* 27 */
	{ "listeners = (\n"
	  "  { name = 5; listen = \"127.0.0.1:80\"; default_forward = \"web\"; }\n"
	  ");\n",
	  ":2: listeners.[0].name: expected a string" },
	/* 28 */
	{ "timeouts = {\n"
	  "  client_header = 0; };\n",
	  ":2: timeouts.client_header: 0 is out of range (expected 0.001..3600 seconds)" },
	/* 29 */
	{ "timeouts = { idle = \"5s\"; };\n", ":1: timeouts.idle: expected a number of seconds" },
	/* 30 */
	{ "timeouts = { drain = 3600.5; };\n",
	  ":1: timeouts.drain: 3600.5 is out of range (expected 0..3600 seconds)" },
	/* 31 */
	{ "timeouts = ( 1 );\n", ":1: timeouts: expected a group { ... }" },
	/* libconfig 1.5 would exit() on these: albd checks includes first */
	{ "workers = 1;\n@include \"/\"\n", ":2: @include \"/\": not a regular file" },
	{ "@include \"/nonexistent/albd.inc\"\n",
	  ":1: @include \"/nonexistent/albd.inc\": cannot read: No such file or directory" },
	/* 34 */
	{ "limits = { max_body_size = -1; };\n",
	  ":1: limits.max_body_size: -1 is out of range (expected 0 or more)" },
	/* 35 */
	{ "limits = { retry_budget = 1.5; };\n",
	  ":1: limits.retry_budget: 1.5 is out of range (expected 0..1)" },
	/* 36 */
	{ "limits = { max_header = 10; };\n",
	  ":1: limits.max_header: unknown setting \"max_header\"" },
	/* 37 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    tls = { certificate = \"x.pem\"; }; }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].tls.certificate: unknown setting \"certificate\"" },
	/* 38 */
	{ "listeners = { name = \"a\"; };\n", ":1: listeners: expected a list ( ... )" },
	/* 39 */
	{ "listeners = ( );\n", ":1: listeners: expected at least one listener" },
	/* 40 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\"; },\n"
	  "  \"api\" );\n",
	  ":3: target_groups.[1]: expected a group { ... }" },
	/* 41 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\"; },\n"
	  "  { name = \"web\"; }\n"
	  ");\n",
	  ":4: target_groups.[1].name: duplicate target group name \"web\" (first defined at line 3)" },
	/* 42: the example message of the brief */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    targets = ( { address = \"127.0.0.1:8081\"; },\n"
	  "                { address = \"127.0.0.1\"; } ); }\n"
	  ");\n",
	  ":5: target_groups.[0].targets.[1].address: invalid address \"127.0.0.1\" (expected ip:port)" },
	/* 43 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    targets = ( { address = \"127.0.0.1:8081\"; },\n"
	  "                { address = \"127.0.0.1:08081\"; } ); }\n"
	  ");\n",
	  ":5: target_groups.[0].targets.[1].address: duplicate target \"127.0.0.1:8081\" "
	  "(also at line 4)" },
	/* 44 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    targets = ( { weight = 2; } ); }\n"
	  ");\n",
	  ":4: target_groups.[0].targets.[0]: missing required setting \"address\"" },
	/* 45 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = (\n"
	  "  { name = \"web\";\n"
	  "    targets = ( { address = \"127.0.0.1:8081\"; weight = 0; } ); }\n"
	  ");\n",
	  ":4: target_groups.[0].targets.[0].weight: 0 is out of range (expected 1..999)" },
	/* 46 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/\";\n"
	  "                forward = ( { target_group = \"web\"; weight = 0; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].forward: total weight must be greater than 0" },
	/* 47 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1;\n"
	  "                path = [ \"/ok\", \"v1/*\" ];\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].path.[1]: invalid path pattern \"v1/*\" (must start with "
	  "'/' or '*')" },
	/* 48 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; method = \"GET1\";\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].method: invalid method \"GET1\" (expected upper-case letters A-Z, - and _: "
	  "methods are matched case-sensitively)" },
	/* 49 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; host = 5;\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].host: expected a string or a list of strings" },
	/* 50 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; host = ( \"a.example.com\", 5 );\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].host.[1]: expected a string" },
	/* 51 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 50001; path = \"/\";\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].priority: 50001 is out of range (expected 1..50000)" },
	/* 52 */
	{ "listeners = (\n"
	  "  { name = \"web server\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; }\n"
	  ");\n",
	  ":2: listeners.[0].name: invalid name \"web server\" (expected 1 to 64 characters "
	  "from A-Z a-z 0-9 _ . -)" },
	/* 53 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\";\n"
	  "  default_fixed_response = { status = 600; }; } );\n",
	  ":2: listeners.[0].default_fixed_response.status: 600: expected a 2XX, 4XX or 5XX status "
	  "(as ALB; a redirect is a redirect action)" },
	/* 54 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\";\n"
	  "  default_fixed_response = { body = \"x\"; }; } );\n",
	  ":2: listeners.[0].default_fixed_response: missing required setting \"status\"" },
	/* 55 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  health_check = { port = \"traffic\"; }; } );\n",
	  ":3: target_groups.[0].health_check.port: expected a port number or \"traffic-port\"" },
	/* 56 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  health_check = { protocol = \"http\"; }; } );\n",
	  ":3: target_groups.[0].health_check.protocol: invalid protocol \"http\" (expected "
	  "\"HTTP\" or \"HTTPS\")" },
	/* 57 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  health_check = { path = \"health\"; }; } );\n",
	  ":3: target_groups.[0].health_check.path: invalid path \"health\" (must start with '/')" },
	/* 58 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  health_check = { enabled = 1; }; } );\n",
	  ":3: target_groups.[0].health_check.enabled: expected true or false" },
	/* 59 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  health_check = { healthy_threshold = 1; }; } );\n",
	  ":3: target_groups.[0].health_check.healthy_threshold: 1 is out of range (expected 2..10)" },
	/* 60 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  slow_start = 10; } );\n",
	  ":3: target_groups.[0].slow_start: 10 is out of range (expected 0 or 30..900 seconds)" },
	/* 61 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = true; } );\n",
	  ":3: target_groups.[0].stickiness: expected a group { ... }" },
	/* 62 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  connect_timeout = 0; } );\n",
	  ":3: target_groups.[0].connect_timeout: 0 is out of range (expected 0.001..3600 seconds)" },
	/* 63 */
	{ "topics = { };\n" LISTENER1, ":1: topics: expected a list ( ... )" },
	/* 64 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = \"all\"; }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules: expected a list ( ... )" },
	/* 65 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; host = [ ];\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].host: expected at least one value" },
	/* 66 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; host = \"www.example.com:8080\";\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].host: invalid host pattern \"www.example.com:8080\" "
	  "(expected A-Z a-z 0-9 - . and the wildcards * ?)" },
	/* 67 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/a b\";\n"
	  "                forward = ( { target_group = \"web\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].path: invalid path pattern \"/a b\" (spaces and control "
	  "characters are not allowed)" },
	/* 68 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/\";\n"
	  "                forward = ( ); } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].forward: expected at least one target group" },
	/* 69 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/\";\n"
	  "                forward = ( { target_group = \"web\"; weight = 1; },\n"
	  "                            { target_group = \"web\"; weight = 2; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":5: listeners.[0].rules.[0].forward.[1].target_group: target group \"web\" is "
	  "listed twice" },
	/* 70 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/\";\n"
	  "                forward = ( { target_group = \"web\"; weight = 1000; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].forward.[0].weight: 1000 is out of range (expected 0..999)" },
	/* 71 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/\";\n"
	  "                fixed_response = { status = 200; content_type = \"\"; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].fixed_response.content_type: invalid content type \"\" "
	  "(expected text/plain, text/css, text/html, application/javascript or application/json, "
	  "as ALB)" },
	/* 72 */
	{ "listeners = (\n"
	  "  { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "    rules = ( { priority = 1; path = \"/\";\n"
	  "                fixed_response = { status = 200; headers = \"x\"; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].fixed_response.headers: unknown setting \"headers\"" },
	/* 73 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  health_check = { port = 0; }; } );\n",
	  ":3: target_groups.[0].health_check.port: 0 is out of range (expected 1..65535)" },
	/* 74 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  keepalive_max_idle = 10001; } );\n",
	  ":3: target_groups.[0].keepalive_max_idle: 10001 is out of range (expected 0..10000)" },
	/* 75 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { algorithm = \"round_robin\";\n"
	  "  targets = ( ); } );\n",
	  ":2: target_groups.[0]: missing required setting \"name\"" },
	/* 76 */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  targets = { address = \"127.0.0.1:8081\"; }; } );\n",
	  ":3: target_groups.[0].targets: expected a list ( ... )" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = { type = \"app_cookie\"; }; } );\n",
	  ":3: target_groups.[0].stickiness: app_cookie needs cookie_name, the application's cookie" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = { type = \"app_cookie\";\n"
	  "    cookie_name = \"AWSALBTG\"; }; } );\n",
	  ":4: target_groups.[0].stickiness.cookie_name: \"AWSALBTG\": cookie names starting with AWSALB (AWSALB, AWSALBAPP, AWSALBTG) are the load balancer's" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = { type = \"lb_cookie\"; cookie_name = \"AWSALBAPP\"; }; } );\n",
	  ":3: target_groups.[0].stickiness.cookie_name: \"AWSALBAPP\": cookie names starting with AWSALB are the load balancer's (AWSALB itself is the default)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\"; stickiness = { type = \"lb_cookie\";\n"
	  "    cookie_name = \"SESSION\"; }; },\n"
	  "  { name = \"app\"; stickiness = { type = \"app_cookie\"; cookie_name = \"SESSION\"; }; } );\n",
	  ":3: target_groups.[0].stickiness.cookie_name: \"SESSION\" is the application cookie of target group \"app\" (line 4): albd would overwrite it" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = { type = \"lb_cookie\"; cookie_name = \"a;b\"; }; } );\n",
	  ":3: target_groups.[0].stickiness.cookie_name: invalid cookie name \"a;b\" (a token: letters, digits and !#$%&'*+-.^_`|~)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = { type = \"lb_cookie\"; duration = 0; }; } );\n",
	  ":3: target_groups.[0].stickiness.duration: 0 is out of range (expected 1..604800)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = { duration = 60; }; } );\n",
	  ":3: target_groups.[0].stickiness: needs a type: \"lb_cookie\" or \"app_cookie\" (or enabled = false)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
	  "target_groups = ( { name = \"web\";\n"
	  "  stickiness = { type = \"source_ip\"; }; } );\n",
	  ":3: target_groups.[0].stickiness.type: unknown stickiness type \"source_ip\" (expected \"lb_cookie\" or \"app_cookie\")" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; path = \"/\";\n"
	  "    forward = ( { target_group = \"web\"; }, { target_group = \"two\"; } ); } ); } );\n"
	  "target_groups = ( { name = \"web\"; stickiness = { type = \"lb_cookie\"; }; }, { name = \"two\"; } );\n",
	  ":3: listeners.[0].rules.[0].forward: target group \"web\" is sticky: a forward to several target groups "
	  "needs group stickiness too (forward = { target_groups = ( ... ); stickiness = { enabled = true; "
	  "duration = ...; }; })" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; path = \"/\";\n"
	  "    forward = { stickiness = { duration = 5; }; }; } ); } );\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].forward: missing required setting \"target_groups\"" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; path = \"/\";\n"
	  "    forward = { target_groups = ( { target_group = \"web\"; } );\n"
	  "      stickiness = { duration = 604801; }; }; } ); } );\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].forward.stickiness.duration: 604801 is out of range (expected 1..604800)" },
};

START_TEST(test_bad_file)
{
	expect_error(bad_cases[_i].text, bad_cases[_i].want);
}
END_TEST

/* Rule conditions: each error names the setting and its line. */
static const struct bad_case cond_bad_cases[] = {
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"X-A\"; values = [ ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.values: expected at least one value" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"X-A\"; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header: missing required setting \"values\"" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { values = [ \"1\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header: missing required setting \"name\"" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"X A\"; values = [ \"1\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.name: invalid header name \"X A\" "
	  "(expected a token: letters, digits and !#$%&'*+-.^_`|~)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"X:A\"; values = [ \"1\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.name: invalid header name \"X:A\" "
	  "(expected a token: letters, digits and !#$%&'*+-.^_`|~)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"\"; values = [ \"1\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.name: invalid header name \"\" "
	  "(expected a token: letters, digits and !#$%&'*+-.^_`|~)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"A234567890123456789012345678901234567890X\";\n"
	  "                    values = [ \"1\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.name: header name "
	  "\"A234567890123456789012345678901234567890X\" longer than 40 characters" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"HOST\"; values = [ \"1\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.name: use a host condition to match "
	  "the Host header" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"X-A\"; values = [ \"\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.values.[0]: empty header value" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = { name = \"X-A\"; values = [ \"a\\tb\" ]; }; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header.values.[0]: invalid header value "
	  "\"a\tb\" (visible ASCII characters only)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = ( ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header: expected at least one header condition" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    http_header = \"X-A\"; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].http_header: expected a group { name = ...; "
	  "values = [ ... ]; } or a list of them" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = ( ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string: expected at least one { key = ...; "
	  "value = ...; }" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = ( { key = \"k\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string.[0]: missing required setting \"value\"" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = ( { key = \"\"; value = \"v\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string.[0].key: empty query key" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = ( { value = \"\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string.[0].value: empty query value" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = ( { value = \"a\\\\b\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string.[0].value: invalid query value "
	  "\"a\\b\" ('\\' escapes only '*', '?' and '\\')" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = ( { value = \"v\"; name = \"k\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string.[0].name: unknown setting \"name\"" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = [ \"v\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string: expected a list of groups { key = "
	  "...; value = ...; }" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip: expected at least one CIDR" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0.0\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"10.0.0.0\" "
	  "(expected an IPv4 or IPv6 network such as \"10.0.0.0/8\" or \"2001:db8::/32\")" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0.0/33\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"10.0.0.0/33\" "
	  "(prefix length above 32)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"::/129\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"::/129\" (prefix "
	  "length above 128)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0.1/8\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"10.0.0.1/8\" (host "
	  "bits set: the network is 10.0.0.0/8)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"2001:db8::1/32\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"2001:db8::1/32\" "
	  "(host bits set: the network is 2001:db8::/32)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0.0/\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"10.0.0.0/\" "
	  "(expected an IPv4 or IPv6 network such as \"10.0.0.0/8\" or \"2001:db8::/32\")" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0.0/-1\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"10.0.0.0/-1\" "
	  "(expected an IPv4 or IPv6 network such as \"10.0.0.0/8\" or \"2001:db8::/32\")" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0.0/08x\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"10.0.0.0/08x\" "
	  "(expected an IPv4 or IPv6 network such as \"10.0.0.0/8\" or \"2001:db8::/32\")" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0/8\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"10.0.0/8\" "
	  "(expected an IPv4 or IPv6 network such as \"10.0.0.0/8\" or \"2001:db8::/32\")" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"example.com/8\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[0]: invalid CIDR \"example.com/8\" "
	  "(expected an IPv4 or IPv6 network such as \"10.0.0.0/8\" or \"2001:db8::/32\")" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = ( \"10.0.0.0/8\", 5 ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].source_ip.[1]: expected a string" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    source_ip = [ \"10.0.0.0/8\", \"10.1.0.0/16\", \"10.2.0.0/16\" ];\n"
	  "    path = [ \"/a\", \"/b\" ]; host = \"h.example.com\"; } ); }\n"
	  ");\n" TG_WEB,
	  ":2: listeners.[0].rules.[0]: 6 condition values, more than ALB's 5 per rule "
	  "(split the rule)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    path = [ \"/a*\", \"/b*\" ]; host = \"*.a?.example.com\";\n"
	  "    query_string = ( { key = \"k*\"; value = \"*\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":2: listeners.[0].rules.[0]: 6 wildcards, more than ALB's 5 per rule" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    query_string = ( ( { key = \"a\"; value = \"1\"; } ), { key = \"b\"; value = \"1\"; } ); } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].query_string.[1]: expected a list ( { key = ...; value = ...; } ) "
	  "(one condition), as the other elements" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    method = [ \"M-SEARCH\", \"X_Y\", \"GE T\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].method.[2]: invalid method \"GE T\" (expected upper-case "
	  "letters A-Z, - and _: methods are matched case-sensitively)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    method = [ \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].method.[0]: method longer than ALB's 40 characters" },
	/* ALB compares methods case-sensitively and allows upper case only:
	 * "get" is no GET (albd once upper-cased it) */
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    method = [ \"GET\",\n"
	  "               \"get\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":4: listeners.[0].rules.[0].method.[1]: invalid method \"get\" (expected upper-case "
	  "letters A-Z, - and _: methods are matched case-sensitively)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    method = \"Foo_Bar\"; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].method: invalid method \"Foo_Bar\" (expected upper-case "
	  "letters A-Z, - and _: methods are matched case-sensitively)" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    path = [ \"/" "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].path.[0]: path pattern longer than ALB's 128 characters" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n"
	  "    host = [ \"a" "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123\" ]; } ); }\n"
	  ");\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].host.[0]: host pattern longer than ALB's 128 characters" },
#define HOST_RULE(h) \
	"listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n" \
	"  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n" \
	"    host = [ \"api.example.com\", \"" h "\" ]; } ); }\n" \
	");\n" TG_WEB
	/* ALB's HostHeaderConditionConfig: A-Z a-z 0-9 - . * ?, at least one
	 * '.', only letters after the last */
	{ HOST_RULE("localhost"),
	  ":3: listeners.[0].rules.[0].host.[1]: invalid host pattern \"localhost\" (needs at least one "
	  "'.', as ALB)" },
	{ HOST_RULE("10.0.0.1"),
	  ":3: listeners.[0].rules.[0].host.[1]: invalid host pattern \"10.0.0.1\" (only letters may "
	  "follow the last '.', as ALB)" },
	{ HOST_RULE("example.c0m"),
	  ":3: listeners.[0].rules.[0].host.[1]: invalid host pattern \"example.c0m\" (only letters may "
	  "follow the last '.', as ALB)" },
	{ HOST_RULE("*.example.*"),
	  ":3: listeners.[0].rules.[0].host.[1]: invalid host pattern \"*.example.*\" (only letters may "
	  "follow the last '.', as ALB)" },
	{ HOST_RULE("example."),
	  ":3: listeners.[0].rules.[0].host.[1]: invalid host pattern \"example.\" (only letters may "
	  "follow the last '.', as ALB)" },
	{ HOST_RULE("a_b.example.com"),
	  ":3: listeners.[0].rules.[0].host.[1]: invalid host pattern \"a_b.example.com\" (expected A-Z "
	  "a-z 0-9 - . and the wildcards * ?)" },
#undef HOST_RULE
#define PATH_RULE(p) \
	"listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n" \
	"  rules = ( { priority = 1; forward = ( { target_group = \"web\"; } );\n" \
	"    path = [ \"/ok\", \"" p "\" ]; } ); }\n" \
	");\n" TG_WEB
	/* ALB's PathPatternConditionConfig characters, and albd's %-escapes */
	{ PATH_RULE("/a#b"),
	  ":3: listeners.[0].rules.[0].path.[1]: invalid path pattern \"/a#b\" ('#' is not allowed: "
	  "expected A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & %-escapes and the wildcards * ?)" },
	{ PATH_RULE("/x<y"),
	  ":3: listeners.[0].rules.[0].path.[1]: invalid path pattern \"/x<y\" ('<' is not allowed: "
	  "expected A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & %-escapes and the wildcards * ?)" },
	{ PATH_RULE("/k=v"),
	  ":3: listeners.[0].rules.[0].path.[1]: invalid path pattern \"/k=v\" ('=' is not allowed: "
	  "expected A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & %-escapes and the wildcards * ?)" },
	{ PATH_RULE("/x\\ty"),
	  ":3: listeners.[0].rules.[0].path.[1]: invalid path pattern \"/x\ty\" (spaces and control "
	  "characters are not allowed)" },
	{ PATH_RULE("/caf\xc3\xa9"),
	  ":3: listeners.[0].rules.[0].path.[1]: invalid path pattern \"/caf\xc3\xa9\" (non-ASCII "
	  "characters are not allowed: write them %-encoded)" },
#undef PATH_RULE
};

START_TEST(test_cond_bad)
{
	expect_error(cond_bad_cases[_i].text, cond_bad_cases[_i].want);
}
END_TEST

/* ALB's FixedResponseActionConfig: StatusCode 2XX, 4XX or 5XX, one of its
 * five content types, a body of at most 1024; and no body where the status
 * has no content (204, 205; a 304 is refused as a 3XX already). */
#define FIXED(body) \
	"listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\";\n" \
	"  default_fixed_response = {\n" body " }; } );\n"
static const struct bad_case fixed_bad_cases[] = {
	{ FIXED("    status = 302; body = \"x\";"),
	  ":3: listeners.[0].default_fixed_response.status: 302: expected a 2XX, 4XX or 5XX status "
	  "(as ALB; a redirect is a redirect action)" },
	{ FIXED("    status = 304;"),
	  ":3: listeners.[0].default_fixed_response.status: 304: expected a 2XX, 4XX or 5XX status "
	  "(as ALB; a redirect is a redirect action)" },
	{ FIXED("    status = 199;"),
	  ":3: listeners.[0].default_fixed_response.status: 199: expected a 2XX, 4XX or 5XX status "
	  "(as ALB; a redirect is a redirect action)" },
	{ FIXED("    status = 200;\n    content_type = \"image/png\";"),
	  ":4: listeners.[0].default_fixed_response.content_type: invalid content type \"image/png\" "
	  "(expected text/plain, text/css, text/html, application/javascript or application/json, "
	  "as ALB)" },
	{ FIXED("    status = 200; content_type = \"Text/Plain\";"),
	  ":3: listeners.[0].default_fixed_response.content_type: invalid content type \"Text/Plain\" "
	  "(expected text/plain, text/css, text/html, application/javascript or application/json, "
	  "as ALB)" },
	{ FIXED("    status = 204;\n    body = \"x\";"),
	  ":4: listeners.[0].default_fixed_response.body: a 204 response has no body" },
	{ FIXED("    body = \"x\";\n    status = 205;"),
	  ":3: listeners.[0].default_fixed_response.body: a 205 response has no body" },
	{ "listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\";\n"
	  "  rules = ( { priority = 1; path = \"/\";\n"
	  "              fixed_response = { status = 204; body = \"x\"; }; } ); } );\n" TG_WEB,
	  ":3: listeners.[0].rules.[0].fixed_response.body: a 204 response has no body" },
};

START_TEST(test_fixed_bad)
{
	expect_error(fixed_bad_cases[_i].text, fixed_bad_cases[_i].want);
}
END_TEST

/* A body of 1024 bytes is ALB's longest: 1025 is refused; a 204 or 205
 * without a body, every 2XX 4XX 5XX and the five content types load. */
START_TEST(test_fixed_limits)
{
	static const char *const types[] = { "text/plain", "text/css", "text/html",
					     "application/javascript", "application/json" };
	char body[1026], text[1400];
	struct albd_config *cfg;

	memset(body, 'x', sizeof body - 1);
	body[1025] = '\0';
	snprintf(text, sizeof text, FIXED("    status = 503;\n    body = \"%s\";"), body);
	expect_error(text, ":4: listeners.[0].default_fixed_response.body: body of 1025 bytes, longer "
			   "than ALB's 1024");
	body[1024] = '\0';
	snprintf(text, sizeof text, FIXED("    status = 503;\n    body = \"%s\";"), body);
	cfg = load_ok(text);
	ck_assert_uint_eq(cfg->listeners[0].default_action.u.fixed->body_len, 1024);
	config_free(cfg);
	for (int status = 200; status <= 599; status += 99) {
		int s = status / 100 == 3 ? 404 : status;

		snprintf(text, sizeof text, FIXED("    status = %d; content_type = \"%s\";"), s,
			 types[(status / 99) % 5]);
		cfg = load_ok(text);
		ck_assert_int_eq(cfg->listeners[0].default_action.u.fixed->status, s);
		ck_assert_str_eq(cfg->listeners[0].default_action.u.fixed->content_type, types[(status / 99) % 5]);
		config_free(cfg);
	}
	cfg = load_ok(FIXED("    status = 204; content_type = \"application/json\";"));
	ck_assert_uint_eq(cfg->listeners[0].default_action.u.fixed->body_len, 0);
	config_free(cfg);
}
END_TEST
#undef FIXED

START_TEST(test_missing_file)
{
	char err[CONFIG_ERR_MAX];

	ck_assert_ptr_null(config_load("/nonexistent/albd.conf", err, sizeof err));
	ck_assert_str_eq(err, "/nonexistent/albd.conf: cannot read: No such file or directory");
	ck_assert_ptr_null(config_load("/tmp", err, sizeof err));
	ck_assert_str_eq(err, "/tmp: cannot read: Is a directory");
	/* no buffer, or a short one: still NULL, never an overflow */
	ck_assert_ptr_null(config_load("/nonexistent/albd.conf", NULL, 0));
	memset(err, 'x', sizeof err);
	ck_assert_ptr_null(config_load("/nonexistent/albd.conf", err, 8));
	ck_assert_str_eq(err, "/nonexi");
	ck_assert_int_eq(err[8], 'x');
}
END_TEST

/* The file is parsed from memory as a C string: a NUL byte is refused with
 * its line rather than hiding what follows it. */
START_TEST(test_nul_byte)
{
	static const char text[] = "workers = 1;\n# a\0b\nlisteners = ();\n";
	char tmpl[] = "/tmp/albd_test_config_XXXXXX", err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	int fd = mkstemp(tmpl);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	ck_assert_ptr_null(config_load(tmpl, err, sizeof err));
	snprintf(want, sizeof want, "%s:2: syntax error: NUL character", tmpl);
	ck_assert_str_eq(err, want);
	unlink(tmpl);
}
END_TEST

/* Errors inside an @include name the included file and its own line. */
START_TEST(test_include_error)
{
	char *inc = write_tmp("target_groups = (\n"
			      "  { name = \"web\"; algorithm = \"random\"; } );\n");
	char text[512], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	char *path;

	snprintf(
		text, sizeof text,
		"listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"web\"; } );\n"
		"@include \"%s\"\n",
		inc);
	path = write_tmp(text);
	ck_assert_ptr_null(config_load(path, err, sizeof err));
	snprintf(want, sizeof want,
		 "%s:2: target_groups.[0].algorithm: unknown algorithm "
		 "\"random\" (expected \"round_robin\" or \"least_outstanding_requests\")",
		 inc);
	ck_assert_str_eq(err, want);
	unlink(path);
	unlink(inc);
	free(path);
	free(inc);
}
END_TEST

START_TEST(test_free_null)
{
	config_free(NULL);
}
END_TEST

/* ------------------------------------------------------------ config_parse_addr */

START_TEST(test_parse_addr_ok)
{
	static const struct {
		const char *in, *text;
		int family;
		unsigned port;
	} ok[] = {
		{ "127.0.0.1:8080", "127.0.0.1:8080", AF_INET, 8080 },
		{ "10.1.2.3:1", "10.1.2.3:1", AF_INET, 1 },
		{ "0.0.0.0:65535", "0.0.0.0:65535", AF_INET, 65535 },
		{ "*:80", "0.0.0.0:80", AF_INET, 80 },
		{ "127.0.0.1:0080", "127.0.0.1:80", AF_INET, 80 },
		{ "[::1]:8080", "[::1]:8080", AF_INET6, 8080 },
		{ "[::]:443", "[::]:443", AF_INET6, 443 },
		{ "[2001:DB8:0:0:0:0:0:1]:80", "[2001:db8::1]:80", AF_INET6, 80 },
		{ "[::ffff:192.0.2.1]:80", "[::ffff:192.0.2.1]:80", AF_INET6, 80 },
	};
	char err[CONFIG_ERR_MAX];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct albd_addr a;

		memset(&a, 0xa5, sizeof a);
		ck_assert_msg(config_parse_addr(ok[i].in, 0, &a, err, sizeof err) == 0, "%s: %s",
			      ok[i].in, err);
		ck_assert_str_eq(a.text, ok[i].text);
		ck_assert_int_eq(a.ss.ss_family, ok[i].family);
		ck_assert_uint_eq(a.port, ok[i].port);
		if (ok[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;

			ck_assert_uint_eq(a.len, sizeof *sin);
			ck_assert_uint_eq(ntohs(sin->sin_port), ok[i].port);
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;

			ck_assert_uint_eq(a.len, sizeof *sin6);
			ck_assert_uint_eq(ntohs(sin6->sin6_port), ok[i].port);
		}
	}
}
END_TEST

START_TEST(test_parse_addr_bad)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "127.0.0.1", "invalid address \"127.0.0.1\" (expected ip:port)" },
		{ "", "invalid address \"\" (expected ip:port)" },
		{ ":80", "invalid address \":80\" (expected ip:port)" },
		{ "127.0.0.1:", "invalid address \"127.0.0.1:\" (expected ip:port)" },
		{ "127.0.0.1:http", "invalid address \"127.0.0.1:http\" (expected ip:port)" },
		{ "127.0.0.1:-1", "invalid address \"127.0.0.1:-1\" (expected ip:port)" },
		{ "127.0.0.1:80 ", "invalid address \"127.0.0.1:80 \" (expected ip:port)" },
		{ "::1:80", "invalid address \"::1:80\" (expected ip:port)" },
		{ "[::1]", "invalid address \"[::1]\" (expected ip:port)" },
		{ "[::1]80", "invalid address \"[::1]80\" (expected ip:port)" },
		{ "[127.0.0.1]:80", "invalid address \"[127.0.0.1]:80\" (expected ip:port)" },
		{ "[localhost]:80", "invalid address \"[localhost]:80\" (expected ip:port)" },
		{ "127.0.0.1:0", "invalid port in address \"127.0.0.1:0\" (expected 1..65535)" },
		{ "127.0.0.1:65536",
		  "invalid port in address \"127.0.0.1:65536\" (expected 1..65535)" },
		{ "[::1]:123456", "invalid port in address \"[::1]:123456\" (expected 1..65535)" },
		{ "256.0.0.1:80", "invalid address \"256.0.0.1:80\" (expected ip:port, host names "
				  "are not allowed here)" },
		{ "localhost:80", "invalid address \"localhost:80\" (expected ip:port, host names "
				  "are not allowed here)" },
	};
	char err[CONFIG_ERR_MAX];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct albd_addr a;

		memset(&a, 0, sizeof a);
		ck_assert_msg(config_parse_addr(bad[i].in, 0, &a, err, sizeof err) == -1,
			      "\"%s\" was accepted", bad[i].in);
		ck_assert_str_eq(err, bad[i].err);
		ck_assert_str_eq(a.text, ""); /* out untouched */
	}
	ck_assert_int_eq(config_parse_addr(NULL, 0, &(struct albd_addr){ .port = 0 }, NULL, 0), -1);
}
END_TEST

START_TEST(test_parse_addr_resolve)
{
	struct albd_addr a;
	char err[CONFIG_ERR_MAX];

	/* numeric addresses need no resolver */
	ck_assert_int_eq(config_parse_addr("192.0.2.7:81", 1, &a, err, sizeof err), 0);
	ck_assert_str_eq(a.text, "192.0.2.7:81");
	/* "localhost" is in /etc/hosts, as 127.0.0.1 or ::1 */
	ck_assert_msg(config_parse_addr("localhost:8080", 1, &a, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(a.port, 8080);
	ck_assert_msg(strcmp(a.text, "127.0.0.1:8080") == 0 || strcmp(a.text, "[::1]:8080") == 0,
		      "localhost resolved to %s", a.text);
	/* .invalid never resolves (RFC 6761) */
	ck_assert_int_eq(config_parse_addr("no-such-host.invalid:80", 1, &a, err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "cannot resolve \"no-such-host.invalid\": ", 39) == 0, "%s",
		      err);
	ck_assert_int_eq(config_parse_addr("[::1]:0", 1, &a, err, sizeof err), -1);
	ck_assert_str_eq(err, "invalid port in address \"[::1]:0\" (expected 1..65535)");
}
END_TEST

/* ------------------------------------------------------------ config_parse_matcher */

START_TEST(test_parse_matcher_ok)
{
	struct cfg_health_check hc;
	char err[CONFIG_ERR_MAX];

	memset(&hc, 0, sizeof hc);
	ck_assert_int_eq(config_parse_matcher("200", &hc, err, sizeof err), 0);
	ck_assert_uint_eq(hc.nmatch, 1);
	ck_assert_int_eq(hc.match[0].lo, 200);
	ck_assert_int_eq(hc.match[0].hi, 200);

	ck_assert_int_eq(config_parse_matcher("200,202", &hc, err, sizeof err), 0);
	ck_assert_uint_eq(hc.nmatch, 2);
	ck_assert_int_eq(hc.match[1].lo, 202);
	ck_assert_int_eq(hc.match[1].hi, 202);

	ck_assert_int_eq(config_parse_matcher("200-399", &hc, err, sizeof err), 0);
	ck_assert_uint_eq(hc.nmatch, 1);
	ck_assert_int_eq(hc.match[0].lo, 200);
	ck_assert_int_eq(hc.match[0].hi, 399);

	ck_assert_int_eq(config_parse_matcher(" 200 , 300-302,599-599 ", &hc, err, sizeof err), 0);
	ck_assert_uint_eq(hc.nmatch, 3);
	ck_assert_int_eq(hc.match[1].lo, 300);
	ck_assert_int_eq(hc.match[1].hi, 302);
	ck_assert_int_eq(hc.match[2].lo, 599);
	ck_assert_int_eq(hc.match[2].hi, 599);

	/* HC_MATCHER_MAX items is the limit, not over it */
	ck_assert_int_eq(config_parse_matcher("200,201,202,203,204,205,206,207,"
					      "208,209,210,211,212,213,214,215",
					      &hc, err, sizeof err),
			 0);
	ck_assert_uint_eq(hc.nmatch, HC_MATCHER_MAX);
	ck_assert_int_eq(hc.match[15].lo, 215);
}
END_TEST

START_TEST(test_parse_matcher_bad)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "abc", "invalid matcher \"abc\" (expected codes or ranges such as \"200,202\" "
			 "or \"200-399\")" },
		{ "",
		  "invalid matcher \"\" (expected codes or ranges such as \"200,202\" or \"200-399\")" },
		{ "200,", "invalid matcher \"200,\" (expected codes or ranges such as \"200,202\" "
			  "or \"200-399\")" },
		{ "200-", "invalid matcher \"200-\" (expected codes or ranges such as \"200,202\" "
			  "or \"200-399\")" },
		{ "200;201", "invalid matcher \"200;201\" (expected codes or ranges such as "
			     "\"200,202\" or \"200-399\")" },
		{ "2 00", "invalid matcher \"2 00\" (expected codes or ranges such as \"200,202\" "
			  "or \"200-399\")" },
		{ "-200", "invalid matcher \"-200\" (expected codes or ranges such as \"200,202\" "
			  "or \"200-399\")" },
		{ "199", "invalid matcher \"199\" (codes must be 200..599)" },
		{ "200-600", "invalid matcher \"200-600\" (codes must be 200..599)" },
		{ "99999999999", "invalid matcher \"99999999999\" (codes must be 200..599)" },
		{ "399-200", "invalid matcher \"399-200\" (range 399-200 is reversed)" },
		{ "200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216",
		  "invalid matcher \"200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,"
		  "215,216\" (more than 16 codes or ranges)" },
	};
	struct cfg_health_check hc;
	char err[CONFIG_ERR_MAX];

	memset(&hc, 0, sizeof hc);
	hc.match[0].lo = hc.match[0].hi = 204;
	hc.nmatch = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(config_parse_matcher(bad[i].in, &hc, err, sizeof err) == -1,
			      "\"%s\" was accepted", bad[i].in);
		ck_assert_str_eq(err, bad[i].err);
		/* hc is left as it was */
		ck_assert_uint_eq(hc.nmatch, 1);
		ck_assert_int_eq(hc.match[0].lo, 204);
	}
}
END_TEST

/* ------------------------------------------------------------ main */

/* Duplicate targets are found through a hash of the addresses, not by
 * comparing every pair: 50,000 targets load well within Check's 4 s
 * default timeout (comparing pairs took about 4 s alone), the first
 * duplicate in file order is reported with the line of its original, and
 * the same IP on another port, or an IPv6 address with another scope, is
 * not a duplicate. */
#define MANY_TARGETS 50000

static char *many_targets_config(const char *last)
{
	size_t cap = (size_t)MANY_TARGETS * 48 + 1024, len = 0;
	char *text = malloc(cap);

	ck_assert_ptr_nonnull(text);
	len += (size_t)snprintf(text + len, cap - len,
				"listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; "
				"default_forward = \"big\"; } );\n"
				"target_groups = ( { name = \"big\"; targets = (\n");
	for (int i = 0; i < MANY_TARGETS; i++)
		len += (size_t)snprintf(text + len, cap - len, "  { address = \"127.0.%d.%d:%d\"; },\n",
					i / 250 % 250, 1 + i % 250, 1000 + i / 62500);
	len += (size_t)snprintf(text + len, cap - len, "  { address = \"%s\"; }\n) } );\n", last);
	return text;
}

START_TEST(test_many_targets_duplicates)
{
	char *text = many_targets_config("127.0.0.18:1000");   /* target [17], line 3 + 17 */
	char want[CONFIG_ERR_MAX];
	struct albd_config *cfg;

	snprintf(want, sizeof want,
		 ":%d: target_groups.[0].targets.[%d].address: duplicate target \"127.0.0.18:1000\" "
		 "(also at line %d)",
		 3 + MANY_TARGETS, MANY_TARGETS, 3 + 17);
	expect_error(text, want);
	free(text);

	text = many_targets_config("127.0.0.18:1001");   /* another port */
	cfg = load_ok(text);
	ck_assert_uint_eq(cfg->target_groups[0].ntargets, MANY_TARGETS + 1);
	config_free(cfg);
	free(text);

	/* the first duplicate in file order wins, with its first original */
	expect_error("listeners = ( { name = \"a\"; listen = \"127.0.0.1:80\"; default_forward = \"t\"; } );\n"
		     "target_groups = ( { name = \"t\"; targets = (\n"
		     "  { address = \"[::1]:80\"; },\n"
		     "  { address = \"10.0.0.1:80\"; },\n"
		     "  { address = \"[0:0::1]:80\"; },\n"
		     "  { address = \"10.0.0.1:80\"; } ) } );\n",
		     ":5: target_groups.[0].targets.[2].address: duplicate target \"[::1]:80\" "
		     "(also at line 3)");
}
END_TEST

START_TEST(test_addr_equal_hash)
{
	struct albd_addr a, b;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(config_parse_addr("[fe80::1]:80", 0, &a, err, sizeof err), 0);
	b = a;
	ck_assert(config_addr_equal(&a, &b));
	ck_assert_uint_eq(config_addr_hash(&a), config_addr_hash(&b));
	((struct sockaddr_in6 *)&b.ss)->sin6_scope_id = 2;   /* another interface */
	ck_assert(!config_addr_equal(&a, &b));
	b = a;
	snprintf(b.text, sizeof b.text, "other text");       /* the text form does not count */
	ck_assert(config_addr_equal(&a, &b));
	ck_assert_uint_eq(config_addr_hash(&a), config_addr_hash(&b));

	ck_assert_int_eq(config_parse_addr("10.1.2.3:80", 0, &a, err, sizeof err), 0);
	ck_assert_int_eq(config_parse_addr("10.1.2.3:81", 0, &b, err, sizeof err), 0);
	ck_assert(!config_addr_equal(&a, &b));
	ck_assert_int_eq(config_parse_addr("10.1.2.4:80", 0, &b, err, sizeof err), 0);
	ck_assert(!config_addr_equal(&a, &b));
	ck_assert_int_eq(config_parse_addr("10.1.2.3:80", 0, &b, err, sizeof err), 0);
	ck_assert(config_addr_equal(&a, &b));
	ck_assert_uint_eq(config_addr_hash(&a), config_addr_hash(&b));
	/* "*:80" is 0.0.0.0:80, not [::]:80 */
	ck_assert_int_eq(config_parse_addr("*:80", 0, &a, err, sizeof err), 0);
	ck_assert_int_eq(config_parse_addr("[::]:80", 0, &b, err, sizeof err), 0);
	ck_assert(!config_addr_equal(&a, &b));
}
END_TEST


/* ------------------------------------------------------------ name, state_dir, admin */

#define ADMIN_LISTENER "listeners = ( { name = \"l\"; listen = \"127.0.0.1:8080\";\n" \
		       "                default_fixed_response = { status = 200; }; } );\n"

/* A temp file holding TEXT, for token_file; the caller unlinks and frees. */
static char *token_tmp(const char *text)
{
	return write_tmp(text);
}

START_TEST(test_admin_defaults)
{
	struct albd_config *cfg = load_ok(ADMIN_LISTENER);
	char host[256] = "", want[64];
	size_t n = 0;

	ck_assert_str_eq(cfg->state_dir, "/var/lib/albd");
	ck_assert_int_eq(cfg->admin.enabled, 1);
	ck_assert_str_eq(cfg->admin.addr.text, "127.0.0.1:9100");
	ck_assert_int_eq(cfg->admin.addr.port, 9100);
	ck_assert_int_eq(cfg->admin.addr.ss.ss_family, AF_INET);
	ck_assert_ptr_null(cfg->admin.token_file);
	ck_assert_ptr_null(cfg->admin.token);
	ck_assert_int_eq(cfg->admin.metrics_token, 0);
	ck_assert_ptr_null(cfg->admin.tls);
	ck_assert_uint_eq(cfg->admin.max_custom_series, 10000);
	ck_assert_int_eq(cfg->admin.line, 0);
	/* the name: the host name's first label, made a valid ALB name */
	ck_assert_int_eq(gethostname(host, sizeof host - 1), 0);
	for (size_t i = 0; host[i] && host[i] != '.' && n < 32; i++)
		want[n++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", host[i]) ?
				    host[i] : '-';
	while (n > 0 && want[n - 1] == '-')
		n--;
	want[n] = '\0';
	ck_assert_str_eq(cfg->name, want[0] && want[0] != '-' ? want : cfg->name);
	ck_assert_uint_ge(strlen(cfg->name), 1);
	ck_assert_uint_le(strlen(cfg->name), 32);
	ck_assert_uint_eq(strspn(cfg->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"),
			  strlen(cfg->name));
	ck_assert_int_ne(cfg->name[0], '-');
	config_free(cfg);
}
END_TEST

START_TEST(test_admin_all_settings)
{
	char *tok = token_tmp("  \n\tS3cr3t-token_/+=\r\n\n");
	char text[2048];
	struct albd_config *cfg;

	snprintf(text, sizeof text,
		 "name = \"my-alb-01\";\n"
		 "state_dir = \"state/here\";\n"
		 ADMIN_LISTENER
		 "admin = {\n"
		 "  enabled = false;\n"
		 "  listen = \"[::1]:9300\";\n"
		 "  token_file = \"%s\";\n"
		 "  metrics_token = true;\n"
		 "  tls = { certificates = ( { cert = \"a.pem\"; key = \"a.key\"; } ); policy = \"modern\"; };\n"
		 "  max_custom_series = 1000000;\n"
		 "};\n",
		 tok);
	cfg = load_ok(text);
	unlink(tok);
	ck_assert_str_eq(cfg->name, "my-alb-01");
	ck_assert_str_eq(cfg->state_dir, "state/here");
	ck_assert_int_eq(cfg->admin.enabled, 0);
	ck_assert_str_eq(cfg->admin.addr.text, "[::1]:9300");
	ck_assert_int_eq(cfg->admin.addr.ss.ss_family, AF_INET6);
	ck_assert_str_eq(cfg->admin.token_file, tok);
	ck_assert_str_eq(cfg->admin.token, "S3cr3t-token_/+=");
	ck_assert_int_eq(cfg->admin.metrics_token, 1);
	ck_assert_ptr_nonnull(cfg->admin.tls);
	ck_assert_uint_eq(cfg->admin.tls->ncerts, 1);
	ck_assert_str_eq(cfg->admin.tls->certs[0].cert, "a.pem");
	ck_assert_str_eq(cfg->admin.tls->policy, "modern");
	ck_assert_uint_eq(cfg->admin.tls->nalpn, 1);
	ck_assert_uint_eq(cfg->admin.max_custom_series, 1000000);
	ck_assert_int_eq(cfg->admin.line, 5);
	config_free(cfg);
	free(tok);

	/* the edges of the name */
	cfg = load_ok("name = \"A\";\n" ADMIN_LISTENER);
	ck_assert_str_eq(cfg->name, "A");
	config_free(cfg);
	cfg = load_ok("name = \"abcdefghij0123456789ABCDEFGHIJ-z\";\n" ADMIN_LISTENER);
	ck_assert_str_eq(cfg->name, "abcdefghij0123456789ABCDEFGHIJ-z");
	config_free(cfg);
	/* a disabled admin listener may share a listener's address */
	cfg = load_ok("listeners = ( { name = \"l\"; listen = \"127.0.0.1:9100\";\n"
		      "                default_fixed_response = { status = 200; }; } );\n"
		      "admin = { enabled = false; };\n");
	ck_assert_int_eq(cfg->admin.enabled, 0);
	config_free(cfg);
	/* another address on the same port does not clash */
	cfg = load_ok("listeners = ( { name = \"l\"; listen = \"127.0.0.2:9100\";\n"
		      "                default_fixed_response = { status = 200; }; } );\n");
	config_free(cfg);
}
END_TEST

static const struct bad_case admin_bad_cases[] = {
	/* 0 */
	{ "name = \"-alb\";\n" ADMIN_LISTENER,
	  ":1: name: invalid name \"-alb\" (expected 1 to 32 characters from A-Z a-z 0-9 -, "
	  "not starting or ending with -)" },
	/* 1 */
	{ ADMIN_LISTENER "name = \"abcdefghij0123456789ABCDEFGHIJxyz\";\n",
	  ":3: name: invalid name \"abcdefghij0123456789ABCDEFGHIJxyz\" (expected 1 to 32 characters "
	  "from A-Z a-z 0-9 -, not starting or ending with -)" },
	/* 2 */
	{ "name = \"my_alb\";\n" ADMIN_LISTENER,
	  ":1: name: invalid name \"my_alb\" (expected 1 to 32 characters from A-Z a-z 0-9 -, "
	  "not starting or ending with -)" },
	/* 3 */
	{ "name = \"\";\n" ADMIN_LISTENER,
	  ":1: name: invalid name \"\" (expected 1 to 32 characters from A-Z a-z 0-9 -, "
	  "not starting or ending with -)" },
	/* 4 */
	{ "name = 5;\n" ADMIN_LISTENER, ":1: name: expected a string" },
	/* 5 */
	{ "state_dir = \"\";\n" ADMIN_LISTENER, ":1: state_dir: expected a directory name" },
	/* 6 */
	{ "state_dir = \"a\\nb\";\n" ADMIN_LISTENER,
	  ":1: state_dir: control characters are not allowed in a directory name" },
	/* 7 */
	{ ADMIN_LISTENER "admin = {\n  listen = \"localhost:9100\";\n};\n",
	  ":4: admin.listen: invalid address \"localhost:9100\" (expected ip:port, host names are "
	  "not allowed here)" },
	/* 8 */
	{ ADMIN_LISTENER "admin = { listen = \"127.0.0.1:0\"; };\n",
	  ":3: admin.listen: invalid port in address \"127.0.0.1:0\" (expected 1..65535)" },
	/* 9 */
	{ ADMIN_LISTENER "admin = { enabled = 1; };\n", ":3: admin.enabled: expected true or false" },
	/* 10 */
	{ ADMIN_LISTENER "admin = { metrics_token = \"yes\"; };\n",
	  ":3: admin.metrics_token: expected true or false" },
	/* 11 */
	{ ADMIN_LISTENER "admin = { max_custom_series = 0; };\n",
	  ":3: admin.max_custom_series: 0 is out of range (expected 1..1000000)" },
	/* 12 */
	{ ADMIN_LISTENER "admin = { max_custom_series = 1000001; };\n",
	  ":3: admin.max_custom_series: 1000001 is out of range (expected 1..1000000)" },
	/* 13 */
	{ ADMIN_LISTENER "admin = { token_file = \"\"; };\n", ":3: admin.token_file: expected a file name" },
	/* 14 */
	{ ADMIN_LISTENER "admin = { token_file = \"/nonexistent/albd-token\"; };\n",
	  ":3: admin.token_file: cannot read \"/nonexistent/albd-token\": No such file or directory" },
	/* 15 */
	{ ADMIN_LISTENER "admin = { token_file = \"/\"; };\n",
	  ":3: admin.token_file: cannot read \"/\": not a regular file" },
	/* 16 */
	{ ADMIN_LISTENER "admin = { tls = { }; };\n",
	  ":3: admin.tls: missing required setting \"certificates\"" },
	/* 17 */
	{ ADMIN_LISTENER "admin = (1);\n", ":3: admin: expected a group { ... }" },
	/* 18: the admin listener on a listener's address */
	{ ADMIN_LISTENER "admin = {\n  listen = \"127.0.0.1:8080\";\n};\n",
	  ":4: admin.listen: \"127.0.0.1:8080\" clashes with the address of listener \"l\" "
	  "(127.0.0.1:8080, line 1)" },
	/* 19: ... or on the same port as a wildcard listener */
	{ "listeners = ( { name = \"w\"; listen = \"*:9200\"; default_fixed_response = { status = 200; }; } );\n"
	  "admin = { listen = \"127.0.0.1:9200\"; };\n",
	  ":2: admin.listen: \"127.0.0.1:9200\" clashes with the address of listener \"w\" "
	  "(0.0.0.0:9200, line 1)" },
	/* 20: the default admin address */
	{ "workers = 1;\n"
	  "listeners = (\n"
	  "  { name = \"l\";\n"
	  "    listen = \"127.0.0.1:9100\";\n"
	  "    default_fixed_response = { status = 200; }; } );\n",
	  ":4: listeners.[0].listen: \"127.0.0.1:9100\" clashes with the admin listener's default address "
	  "127.0.0.1:9100 (set admin.listen, or admin.enabled = false)" },
};

START_TEST(test_admin_bad)
{
	expect_error(admin_bad_cases[_i].text, admin_bad_cases[_i].want);
}
END_TEST

/* token_file contents that are refused, each with its message. */
START_TEST(test_admin_bad_token)
{
	static const struct {
		const char *content, *why;
	} cases[] = {
		{ "", "is empty (expected the token)" },
		{ " \n\t\r\n", "is empty (expected the token)" },
		{ "two words\n", "the token must be printable ASCII without spaces (byte 4 is 0x20)" },
		{ "tok\x01x", "the token must be printable ASCII without spaces (byte 4 is 0x01)" },
		{ "caf\xc3\xa9", "the token must be printable ASCII without spaces (byte 4 is 0xc3)" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *tok = token_tmp(cases[i].content), text[1024], want[1024];
		const char *sep = strcmp(cases[i].why, "is empty (expected the token)") == 0 ? " " : ": ";

		snprintf(text, sizeof text, ADMIN_LISTENER "admin = {\n  token_file = \"%s\"; };\n", tok);
		snprintf(want, sizeof want, ":4: admin.token_file: \"%s\"%s%s", tok, sep, cases[i].why);
		expect_error(text, want);
		unlink(tok);
		free(tok);
	}

	/* larger than 4096 bytes */
	char big[5000], *tok, text[1024], want[1024];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	tok = token_tmp(big);
	snprintf(text, sizeof text, ADMIN_LISTENER "admin = { token_file = \"%s\"; };\n", tok);
	snprintf(want, sizeof want, ":3: admin.token_file: \"%s\" is larger than 4096 bytes", tok);
	expect_error(text, want);
	unlink(tok);
	free(tok);
}
END_TEST

/* A reload reads the token file again. */
START_TEST(test_admin_token_reread)
{
	char *tok = token_tmp("first\n"), text[1024];
	struct albd_config *cfg;
	FILE *f;

	snprintf(text, sizeof text, ADMIN_LISTENER "admin = { token_file = \"%s\"; };\n", tok);
	cfg = load_ok(text);
	ck_assert_str_eq(cfg->admin.token, "first");
	config_free(cfg);
	f = fopen(tok, "w");
	ck_assert_ptr_nonnull(f);
	fputs("second", f);
	fclose(f);
	cfg = load_ok(text);
	ck_assert_str_eq(cfg->admin.token, "second");
	config_free(cfg);
	unlink(tok);
	free(tok);
}
END_TEST


/* ------------------------------------------------------------ alarms and topics */

#define TOPICS_ALARMS                                                                                   \
	LISTENER1                                                                                       \
	"region = \"eu-west-1\";\n"                                                                     \
	"account_id = \"123456789012\";\n"                                                              \
	"topics = (\n"                                                                                  \
	"  { name = \"ops\";\n"                                                                         \
	"    delivery = { retries = 5; min_delay = 1; max_delay = 10; backoff = \"exponential\"; };\n"  \
	"    subscriptions = (\n"                                                                       \
	"      { endpoint = \"http://127.0.0.1:9900/hook\"; secret = \"s3\"; },\n"                       \
	"      { endpoint = \"https://hooks.example.com/x\"; format = \"slack\"; confirm = true;\n"     \
	"        filter_policy = \"{\\\"NewStateValue\\\": [\\\"ALARM\\\"]}\"; tls_verify = false;\n"   \
	"        delivery = { retries = 1; timeout = 2.5; }; } ); },\n"                                 \
	"  { name = \"quiet\"; } );\n"                                                                  \
	"alarms = (\n"                                                                                  \
	"  { name = \"web-5xx\"; metric = \"HTTPCode_Target_5XX_Count\";\n"                             \
	"    dimensions = { TargetGroup = \"web\"; LoadBalancer = \"x\"; };\n"                          \
	"    statistic = \"Sum\"; period = 60; evaluation_periods = 3; datapoints_to_alarm = 2;\n"      \
	"    comparison = \"GreaterThanOrEqualToThreshold\"; threshold = 10.5;\n"                       \
	"    treat_missing_data = \"notBreaching\"; alarm_actions = [ \"ops\" ]; ok_actions = \"ops\";\n" \
	"    insufficient_data_actions = [ ]; },\n"                                                     \
	"  { name = \"rate\"; description = \"5XX rate\"; period = 10; evaluation_periods = 1;\n"       \
	"    comparison = \"GreaterThanThreshold\"; threshold = -1; actions_enabled = false;\n"         \
	"    metrics = ( { id = \"e\"; expression = \"100*m1/m2\"; return_data = true; label = \"r\"; },\n" \
	"                { id = \"m1\"; metric = \"HTTPCode_Target_5XX_Count\"; statistic = \"Sum\"; period = 10; },\n" \
	"                { id = \"m2\"; namespace = \"Custom\"; metric = \"M\"; statistic = \"p99\"; } ); } );\n" \
	"composite_alarms = ( { name = \"c\"; rule = \"ALARM(\\\"web-5xx\\\")\"; alarm_actions = \"quiet\"; } );\n"

START_TEST(test_alarms_topics)
{
	struct albd_config *cfg = load_ok(TOPICS_ALARMS);
	const struct cfg_topic *t;
	const struct cfg_alarm *a;

	ck_assert_str_eq(cfg->region, "eu-west-1");
	ck_assert_str_eq(cfg->account_id, "123456789012");
	ck_assert_uint_eq(cfg->ntopics, 2);
	t = config_find_topic(cfg, "ops");
	ck_assert_ptr_eq(t, &cfg->topics[0]);
	ck_assert_ptr_null(config_find_topic(cfg, "nope"));
	ck_assert_uint_eq(t->delivery.retries, 5);
	ck_assert_uint_eq(t->delivery.min_delay_ms, 1000);
	ck_assert_uint_eq(t->delivery.max_delay_ms, 10000);
	ck_assert_str_eq(t->delivery.backoff, "exponential");
	ck_assert_uint_eq(t->delivery.timeout_ms, 15000);
	ck_assert_uint_eq(t->nsubs, 2);
	/* the first subscription: the topic's policy, SNS's format */
	ck_assert_str_eq(t->subs[0].endpoint, "http://127.0.0.1:9900/hook");
	ck_assert_str_eq(t->subs[0].format, "sns");
	ck_assert_str_eq(t->subs[0].secret, "s3");
	ck_assert_int_eq(t->subs[0].confirm, 0);
	ck_assert_int_eq(t->subs[0].tls_verify, 1);
	ck_assert_ptr_null(t->subs[0].filter_policy);
	ck_assert_uint_eq(t->subs[0].delivery.retries, 5);
	ck_assert_str_eq(t->subs[0].delivery.backoff, "exponential");
	/* the second: its own retries over the topic's other fields */
	ck_assert_str_eq(t->subs[1].format, "slack");
	ck_assert_int_eq(t->subs[1].confirm, 1);
	ck_assert_int_eq(t->subs[1].tls_verify, 0);
	ck_assert_str_eq(t->subs[1].filter_policy, "{\"NewStateValue\": [\"ALARM\"]}");
	ck_assert_uint_eq(t->subs[1].delivery.retries, 1);
	ck_assert_uint_eq(t->subs[1].delivery.timeout_ms, 2500);
	ck_assert_uint_eq(t->subs[1].delivery.max_delay_ms, 10000);
	ck_assert_str_eq(t->subs[1].delivery.backoff, "exponential");
	/* a topic with nothing but a name: SNS's default policy */
	ck_assert_uint_eq(cfg->topics[1].nsubs, 0);
	ck_assert_uint_eq(cfg->topics[1].delivery.retries, 3);
	ck_assert_uint_eq(cfg->topics[1].delivery.min_delay_ms, 20000);
	ck_assert_str_eq(cfg->topics[1].delivery.backoff, "linear");

	ck_assert_uint_eq(cfg->nalarms, 2);
	a = &cfg->alarms[0];
	ck_assert_str_eq(a->name, "web-5xx");
	ck_assert_str_eq(a->namespace, "AWS/ApplicationELB");
	ck_assert_str_eq(a->metric, "HTTPCode_Target_5XX_Count");
	ck_assert_uint_eq(a->ndims, 2);
	ck_assert_str_eq(a->dims[0].name, "TargetGroup");
	ck_assert_str_eq(a->dims[0].value, "web");
	ck_assert_str_eq(a->dims[1].name, "LoadBalancer");
	ck_assert_str_eq(a->statistic, "Sum");
	ck_assert_ptr_null(a->extended_statistic);
	ck_assert_uint_eq(a->period, 60);
	ck_assert_uint_eq(a->evaluation_periods, 3);
	ck_assert_uint_eq(a->datapoints_to_alarm, 2);
	ck_assert_str_eq(a->comparison, "GreaterThanOrEqualToThreshold");
	ck_assert(a->threshold == 10.5);
	ck_assert_str_eq(a->treat_missing_data, "notBreaching");
	ck_assert_uint_eq(a->nalarm_actions, 1);
	ck_assert_str_eq(a->alarm_actions[0], "ops");
	ck_assert_uint_eq(a->nok_actions, 1);
	ck_assert_uint_eq(a->ninsufficient_data_actions, 0);
	ck_assert_int_eq(a->actions_enabled, 1);
	a = &cfg->alarms[1];
	ck_assert_str_eq(a->description, "5XX rate");
	ck_assert_ptr_null(a->metric);
	ck_assert_str_eq(a->treat_missing_data, "missing");
	ck_assert(a->threshold == -1);
	ck_assert_int_eq(a->actions_enabled, 0);
	ck_assert_uint_eq(a->datapoints_to_alarm, 0);
	ck_assert_uint_eq(a->nmetrics, 3);
	ck_assert_str_eq(a->metrics[0].expression, "100*m1/m2");
	ck_assert_int_eq(a->metrics[0].return_data, 1);
	ck_assert_str_eq(a->metrics[0].label, "r");
	ck_assert_str_eq(a->metrics[1].metric, "HTTPCode_Target_5XX_Count");
	ck_assert_str_eq(a->metrics[1].namespace, "AWS/ApplicationELB");
	ck_assert_uint_eq(a->metrics[1].period, 10);
	ck_assert_int_eq(a->metrics[1].return_data, 0);
	ck_assert_str_eq(a->metrics[2].namespace, "Custom");
	ck_assert_str_eq(a->metrics[2].stat, "p99");
	ck_assert_uint_eq(a->metrics[2].period, 0);
	ck_assert_uint_eq(cfg->ncomposite_alarms, 1);
	ck_assert_str_eq(cfg->composite_alarms[0].rule, "ALARM(\"web-5xx\")");
	ck_assert_str_eq(cfg->composite_alarms[0].alarm_actions[0], "quiet");
	config_free(cfg);

	/* none of it: the defaults */
	cfg = load_ok(LISTENER1);
	ck_assert_str_eq(cfg->region, "local");
	ck_assert_str_eq(cfg->account_id, "000000000000");
	ck_assert_uint_eq(cfg->ntopics + cfg->nalarms + cfg->ncomposite_alarms, 0);
	ck_assert_ptr_null(cfg->admin.public_url);
	config_free(cfg);

	cfg = load_ok(LISTENER1 "admin = { listen = \"127.0.0.1:9100\"; public_url = \"https://lb.example.com:9100/\";\n"
		      "  signing_cert_url = \"https://cdn.example.com/albd.pem\"; };\n");
	ck_assert_str_eq(cfg->admin.public_url, "https://lb.example.com:9100");
	ck_assert_str_eq(cfg->admin.signing_cert_url, "https://cdn.example.com/albd.pem");
	config_free(cfg);
}
END_TEST

#define TOPIC_OPS "topics = ( { name = \"ops\"; } );\n"
#define ALARM_HEAD "alarms = ( { name = \"a\"; metric = \"RequestCount\"; period = 60; evaluation_periods = 1;\n"
#define ALARM_TAIL "comparison = \"GreaterThanThreshold\"; threshold = 1; } );\n"

static const struct {
	const char *text, *want;
} alarm_bad_cases[] = {
	/* 0 */
	{ LISTENER1 "region = \"Europe\";\n",
	  ":2: region: invalid region \"Europe\" (expected 1 to 32 characters from a-z 0-9 -)" },
	/* 1 */
	{ LISTENER1 "account_id = \"12345\";\n", ":2: account_id: invalid account_id \"12345\" (expected 12 digits)" },
	/* 2 */
	{ LISTENER1 "topics = ( { name = \"a b\"; } );\n",
	  ":2: topics.[0].name: invalid topic name \"a b\" (expected 1 to 256 characters from A-Z a-z 0-9 _ -)" },
	/* 3 */
	{ LISTENER1 "topics = ( { name = \"a\"; },\n { name = \"a\"; } );\n",
	  ":3: topics.[1].name: duplicate topic name \"a\" (first defined at line 2)" },
	/* 4 */
	{ LISTENER1 "topics = ( { name = \"a\"; subscriptions = ( { endpoint = \"ftp://x/\"; } ); } );\n",
	  ":2: topics.[0].subscriptions.[0].endpoint: invalid endpoint \"ftp://x/\" (expected an http:// or "
	  "https:// URL)" },
	/* 5 */
	{ LISTENER1 "topics = ( { name = \"a\"; subscriptions = ( { format = \"sns\"; } ); } );\n",
	  ":2: topics.[0].subscriptions.[0]: missing required setting \"endpoint\"" },
	/* 6 */
	{ LISTENER1 "topics = ( { name = \"a\"; subscriptions = ( { endpoint = \"http://h/\"; format = \"xml\"; } ); } );\n",
	  ":2: topics.[0].subscriptions.[0].format: unknown format \"xml\" (expected \"sns\", \"slack\" or \"raw\")" },
	/* 7 */
	{ LISTENER1 "topics = ( { name = \"a\"; subscriptions = ( { endpoint = \"http://h/\"; },\n"
		    "  { endpoint = \"http://h/\"; } ); } );\n",
	  ":3: topics.[0].subscriptions.[1].endpoint: endpoint \"http://h/\" is subscribed twice to this topic (line 2)" },
	/* 8 */
	{ LISTENER1 "topics = ( { name = \"a\"; delivery = { min_delay = 30; }; } );\n",
	  ":2: topics.[0].delivery.min_delay: min_delay (30 s) is above max_delay (20 s)" },
	/* 9 */
	{ LISTENER1 "topics = ( { name = \"a\"; delivery = { retries = 101; }; } );\n",
	  ":2: topics.[0].delivery.retries: 101 is out of range (expected 0..100)" },
	/* 10 */
	{ LISTENER1 "topics = ( { name = \"a\"; delivery = { retry = 1; }; } );\n",
	  ":2: topics.[0].delivery.retry: unknown setting \"retry\"" },
	/* 11 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\"; alarm_actions = [ \"ops\" ];\n" ALARM_TAIL,
	  ":3: alarms.[0].alarm_actions.[0]: no topic \"ops\" in this file" },
	/* 12 */
	{ LISTENER1 TOPIC_OPS ALARM_HEAD "statistic = \"Sum\"; alarm_actions = [ \"ops\", \"ops\" ];\n" ALARM_TAIL,
	  ":4: alarms.[0].alarm_actions: topic \"ops\" is named twice" },
	/* 13 */
	{ LISTENER1 ALARM_HEAD ALARM_TAIL,
	  ":2: alarms.[0].metric: alarm \"a\": expected exactly one of statistic and extended_statistic" },
	/* 14 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\"; extended_statistic = \"p99\";\n" ALARM_TAIL,
	  ":3: alarms.[0].statistic: alarm \"a\": expected exactly one of statistic and extended_statistic" },
	/* 15 */
	{ LISTENER1 "alarms = ( { name = \"a\"; period = 60; evaluation_periods = 1; statistic = \"Sum\";\n" ALARM_TAIL,
	  ":2: alarms.[0]: alarm \"a\": expected metric (with statistic or extended_statistic) or metrics" },
	/* 16 */
	{ LISTENER1 "alarms = ( { name = \"a\"; metric = \"RequestCount\"; statistic = \"Sum\"; evaluation_periods = 1;\n"
		    ALARM_TAIL,
	  ":2: alarms.[0]: missing required setting \"period\"" },
	/* 17 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\"; datapoints_to_alarm = 2;\n" ALARM_TAIL,
	  ":3: alarms.[0].datapoints_to_alarm: datapoints_to_alarm (2) is above evaluation_periods (1)" },
	/* 18 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\"; metrics = ( { id = \"m\"; expression = \"1\"; } );\n" ALARM_TAIL,
	  ":3: alarms.[0].metrics: an alarm has either metric or metrics, not both" },
	/* 19 */
	{ LISTENER1 "alarms = ( { name = \"a\"; period = 60; evaluation_periods = 1;\n"
		    "  metrics = ( { id = \"m\"; metric = \"RequestCount\"; } );\n" ALARM_TAIL,
	  ":3: alarms.[0].metrics.[0]: query \"m\": a metric needs a statistic" },
	/* 20 */
	{ LISTENER1 "alarms = ( { name = \"a\"; period = 60; evaluation_periods = 1;\n"
		    "  metrics = ( { id = \"m\"; } );\n" ALARM_TAIL,
	  ":3: alarms.[0].metrics.[0]: query \"m\": expected either expression or metric" },
	/* 21 */
	{ LISTENER1 "alarms = ( { name = \"a\"; period = 60; evaluation_periods = 1;\n"
		    "  metrics = ( { id = \"m\"; expression = \"1\"; },\n { id = \"m\"; expression = \"2\"; } );\n" ALARM_TAIL,
	  ":4: alarms.[0].metrics.[1].id: duplicate id \"m\"" },
	/* 22 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\"; dimensions = [ \"x\" ];\n" ALARM_TAIL,
	  ":3: alarms.[0].dimensions: expected a group such as { TargetGroup = \"web\"; }" },
	/* 23 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\";\n threshold = \"high\"; comparison = \"GreaterThanThreshold\"; } );\n",
	  ":4: alarms.[0].threshold: expected a number" },
	/* 24 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\"; comparison = \"LessThanThreshold\"; threshold = 0; },\n { name = \"a\"; metric = \"M\"; statistic = \"Sum\";\n"
		    "  period = 60; evaluation_periods = 1;\n" ALARM_TAIL,
	  ":4: alarms.[1].name: duplicate alarm name \"a\" (first defined at line 2)" },
	/* 25 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\";\n" ALARM_TAIL
		    "composite_alarms = ( { name = \"a\"; rule = \"TRUE\"; } );\n",
	  ":5: composite_alarms.[0].name: duplicate alarm name \"a\" (first defined at line 2)" },
	/* 26 */
	{ LISTENER1 "composite_alarms = ( { name = \"c\"; } );\n",
	  ":2: composite_alarms.[0]: missing required setting \"rule\"" },
	/* 28, 29, 30: text that goes into JSON must be UTF-8 */
	{ LISTENER1 ALARM_HEAD "statistic = \"Sum\"; description = \"St\xf6rung\";\n" ALARM_TAIL,
	  ":3: alarms.[0].description: not UTF-8 (text here goes into JSON)" },
	{ LISTENER1 "alarms = ( { name = \"\xed\xa0\x80\"; metric = \"M\"; statistic = \"Sum\";\n"
		    "  period = 60; evaluation_periods = 1;\n" ALARM_TAIL,
	  ":2: alarms.[0].name: invalid alarm name (not UTF-8)" },
	{ LISTENER1 "topics = ( { name = \"a\"; subscriptions = ( { endpoint = \"http://h/\xc3\xa9\"; } ); } );\n",
	  ":2: topics.[0].subscriptions.[0].endpoint: invalid endpoint (non-ASCII characters: percent-encode them)" },
	/* 27 */
	{ LISTENER1 "admin = { listen = \"127.0.0.1:9100\"; public_url = \"lb.example.com\"; };\n",
	  ":2: admin.public_url: invalid URL \"lb.example.com\" (expected http://host[:port] or https://host[:port])" },
};

START_TEST(test_alarms_bad)
{
	expect_error(alarm_bad_cases[_i].text, alarm_bad_cases[_i].want);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("load");
	/* the 100,000-target files take seconds under TSan on a loaded machine */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_design_example);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_trace_id_setting);
	tcase_add_test(tc, test_stickiness);
	tcase_add_test(tc, test_https_target_group);
	tcase_add_test(tc, test_all_settings);
	tcase_add_test(tc, test_rule_conditions_in_file_order);
	tcase_add_test(tc, test_rule_new_conditions);
	tcase_add_test(tc, test_default_actions);
	tcase_add_test(tc, test_host_patterns_ok);
	tcase_add_test(tc, test_path_patterns_ok);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_include_error);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_many_targets_duplicates);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad_file, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
	tcase_add_loop_test(tc, test_fixed_bad, 0, (int)(sizeof fixed_bad_cases / sizeof fixed_bad_cases[0]));
	tcase_add_test(tc, test_fixed_limits);
	tcase_add_loop_test(tc, test_cond_bad, 0,
			    (int)(sizeof cond_bad_cases / sizeof cond_bad_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("parsers");
	tcase_add_test(tc, test_parse_addr_ok);
	tcase_add_test(tc, test_parse_addr_bad);
	tcase_add_test(tc, test_parse_addr_resolve);
	tcase_add_test(tc, test_parse_matcher_ok);
	tcase_add_test(tc, test_parse_matcher_bad);
	tcase_add_test(tc, test_addr_equal_hash);
	suite_add_tcase(s, tc);

	tc = tcase_create("admin");
	tcase_add_test(tc, test_admin_defaults);
	tcase_add_test(tc, test_admin_all_settings);
	tcase_add_loop_test(tc, test_admin_bad, 0, (int)(sizeof admin_bad_cases / sizeof admin_bad_cases[0]));
	tcase_add_test(tc, test_admin_bad_token);
	tcase_add_test(tc, test_admin_token_reread);
	suite_add_tcase(s, tc);

	tc = tcase_create("alarms");
	tcase_add_test(tc, test_alarms_topics);
	tcase_add_loop_test(tc, test_alarms_bad, 0, (int)(sizeof alarm_bad_cases / sizeof alarm_bad_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
