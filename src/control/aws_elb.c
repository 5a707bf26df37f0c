/* aws_elb.c - ELBv2 (elasticloadbalancing 2015-12-01) over aws.h's wire
 * (aws.c): the load balancer, its listeners and rules, the target groups
 * and their targets, as the aws CLI and the SDKs read and change them.
 *
 * albd is one application load balancer: its name is the config's "name",
 * its ARN arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/ELB_ID
 * (cfg->elb_id, "app/NAME/<16 hex>"). A listener's ARN is
 * listener/ELB_ID/<16 hex of the listener's name>, a rule's
 * listener-rule/ELB_ID/<listener's hex>/<16 hex of "LISTENER/PRIORITY">
 * ("LISTENER/default" for the listener's default action): names, not
 * positions, so ARNs stay what they were across restarts and reloads. A
 * target group's ARN is the config's (tg->arn).
 *
 * Read-only operations describe the live generation (admin_gen()); the
 * answers use api_elb.c's descriptions (target groups, target health), and
 * RegisterTargets/DeregisterTargets make target_reg.c's calls, as the JSON
 * API does. Errors are ELBv2's: ValidationError for what is not an ARN of
 * the right kind (ELBv2 takes ARNs, not names, where it says so),
 * LoadBalancerNotFound, ListenerNotFound, RuleNotFound,
 * TargetGroupNotFound, InvalidTarget; all 400.
 *
 * Thread: control, every function.
 */
#include "control/aws.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/admin.h"
#include "control/api_elb.h"
#include "control/target_reg.h"
#include "core/config.h"
#include "proxy/gen.h"

#define SVC "elasticloadbalancing"
#define PAGE_MAX 400          /* ELBv2's PageSize: 1..400 */

/* ------------------------------------------------------------ helpers */

/* The live configuration, or NULL after failing C (none yet). */
static const struct albd_config *live(struct aws_call *c)
{
	const struct albd_gen *g = admin_gen();

	if (!g) {
		aws_fail(c, 503, "ServiceUnavailable", "No configuration is live yet");
		return NULL;
	}
	return g->cfg;
}

/* Set KEY of O to V (consumed); nonzero when it failed (out of memory). */
static int set(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) != 0;
}

/* Append V (consumed) to list L; nonzero on failure. */
static int push(json_t *l, json_t *v)
{
	return json_array_append_new(l, v) != 0;
}

static json_t *oom(struct aws_call *c, json_t *garbage)
{
	json_decref(garbage);
	return aws_fail(c, 500, "InternalFailure", "Out of memory");
}

static const char *lb_arn(char *buf, size_t len, const struct albd_config *cfg)
{
	char res[300];

	snprintf(res, sizeof res, "loadbalancer/%s", cfg->elb_id);
	return aws_arn(buf, len, SVC, res);
}

static const char *listener_arn(char *buf, size_t len, const struct albd_config *cfg,
				const struct cfg_listener *l)
{
	char res[400], hex[17];

	config_name_hash_hex(l->name, hex);
	snprintf(res, sizeof res, "listener/%s/%s", cfg->elb_id, hex);
	return aws_arn(buf, len, SVC, res);
}

/* The ARN of listener L's rule R, or of its default rule when R is NULL. */
static const char *rule_arn(char *buf, size_t len, const struct albd_config *cfg, const struct cfg_listener *l,
			    const struct cfg_rule *r)
{
	char res[400], key[300], lhex[17], rhex[17];

	config_name_hash_hex(l->name, lhex);
	if (r)
		snprintf(key, sizeof key, "%s/%d", l->name, r->priority);
	else
		snprintf(key, sizeof key, "%s/default", l->name);
	config_name_hash_hex(key, rhex);
	snprintf(res, sizeof res, "listener-rule/%s/%s/%s", cfg->elb_id, lhex, rhex);
	return aws_arn(buf, len, SVC, res);
}

/* Is S shaped as an ELBv2 ARN of resource type TYPE ("targetgroup",
 * "loadbalancer", "listener", "listener-rule")? Unknown ones are then
 * NotFound, anything else a ValidationError, as ELBv2 answers. */
static int arn_shaped(const char *s, const char *type)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof want, ":%s/", type);
	if (strncmp(s, "arn:", 4) != 0 || !(p = strstr(s, want)))
		return 0;
	/* arn:PARTITION:SERVICE:REGION:ACCOUNT:TYPE/... */
	int colons = 0;
	for (const char *q = s; q <= p; q++)
		colons += *q == ':';
	return colons == 5;
}

/* The strings of list KEY of C's input into a new array of borrowed
 * pointers (*N of them; NULL and 0 when absent or empty), or -1 after
 * failing C (a member that is not a string). */
static int str_list(struct aws_call *c, const char *key, const char ***out, size_t *n)
{
	const json_t *l = aws_in_list(c->in, key), *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (aws_in_list_bad(c->in, key)) {
		aws_fail(c, 400, "ValidationError", "%s: expected a list", key);
		return -1;
	}
	if (!l || !json_array_size(l))
		return 0;
	if (!(*out = calloc(json_array_size(l), sizeof **out))) {
		oom(c, NULL);
		return -1;
	}
	json_array_foreach(l, i, v) {
		if (!json_is_string(v)) {
			free(*out);
			*out = NULL;
			aws_fail(c, 400, "ValidationError", "%s.member.%zu must be a string", key, i + 1);
			return -1;
		}
		(*out)[i] = json_string_value(v);
	}
	*n = json_array_size(l);
	return 0;
}

/* Marker and PageSize: 0, or -1 after failing C. */
static int page_in(struct aws_call *c, size_t *off, size_t *size)
{
	long long ps = PAGE_MAX;
	int r;

	*off = 0;
	if (aws_page_read(c->in, "Marker", off) < 0) {
		aws_fail(c, 400, "ValidationError", "Invalid Marker: not one this load balancer gave");
		return -1;
	}
	r = aws_in_int(c->in, "PageSize", &ps);
	if (r < 0 || ps < 1 || ps > PAGE_MAX) {
		aws_fail(c, 400, "ValidationError", "PageSize must be an integer from 1 to %d", PAGE_MAX);
		return -1;
	}
	*size = (size_t)ps;
	return 0;
}

/* The result {KEY: LIST[OFF..OFF+SIZE), NextMarker} with LIST consumed, or
 * NULL after failing C. */
static json_t *page_out(struct aws_call *c, json_t *list, const char *key, size_t off, size_t size)
{
	json_t *res = json_object(), *page = json_array();
	size_t n = json_array_size(list);
	int bad = !res || !page || !list;

	for (size_t i = off; !bad && i < n && i - off < size; i++)
		bad |= json_array_append(page, json_array_get(list, i)) != 0;
	bad |= set(res, key, page);
	if (off < n && n - off > size)
		bad |= set(res, "NextMarker", aws_page_token(off + size));
	json_decref(list);
	if (bad)
		return oom(c, res);
	return res;
}

/* ------------------------------------------------------------ descriptions */

/* Is target group TG a forward target of action A? */
static int action_uses(const struct cfg_action *a, const struct cfg_target_group *tg)
{
	if (a->type != CFG_ACT_FORWARD)
		return 0;
	for (size_t i = 0; i < a->u.forward.ngroups; i++)
		if (strcmp(a->u.forward.groups[i].target_group_name, tg->name) == 0)
			return 1;
	return 0;
}

/* Does a listener of CFG send traffic to TG (ELBv2: is TG associated with
 * the load balancer)? */
static int lb_uses(const struct albd_config *cfg, const struct cfg_target_group *tg)
{
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];

		if (action_uses(&l->default_action, tg))
			return 1;
		for (size_t j = 0; j < l->nrules; j++)
			if (action_uses(&l->rules[j].action, tg))
				return 1;
	}
	return 0;
}

/* The N bytes at S as a string: as they are when UTF-8, else with every
 * byte beyond ASCII as '?' (a fixed response's body may be any bytes; the
 * answer carries text; aws.c escapes control characters). */
static json_t *text_of(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *copy;

	if (j || !(copy = malloc(n)))
		return j;
	for (size_t i = 0; i < n; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

/* ELBv2's Action: forward, fixed-response or redirect. */
static json_t *action_json(const struct cfg_action *a)
{
	json_t *j = json_object(), *cf = json_object();
	int bad = !j || !cf;
	char num[16];

	switch (a->type) {
	case CFG_ACT_FORWARD: {
		json_t *groups = json_array(), *stick = json_object();
		unsigned st = a->u.forward.stickiness_s;

		bad |= set(j, "Type", json_string("forward"));
		if (a->u.forward.ngroups == 1)
			bad |= set(j, "TargetGroupArn", json_string(a->u.forward.groups[0].tg->arn));
		for (size_t i = 0; !bad && groups && i < a->u.forward.ngroups; i++)
			bad |= push(groups, json_pack("{s:s, s:i}", "TargetGroupArn", a->u.forward.groups[i].tg->arn,
						      "Weight", (int)a->u.forward.groups[i].weight));
		bad |= set(cf, "TargetGroups", groups);
		bad |= set(stick, "Enabled", json_boolean(st > 0));
		if (st)
			bad |= set(stick, "DurationSeconds", json_integer(st));
		bad |= set(cf, "TargetGroupStickinessConfig", stick);
		bad |= set(j, "ForwardConfig", cf);
		break;
	}
	case CFG_ACT_FIXED_RESPONSE: {
		const struct cfg_fixed_response *f = a->u.fixed;

		bad |= set(j, "Type", json_string("fixed-response"));
		if (f->body && f->body_len)
			bad |= set(cf, "MessageBody", text_of(f->body, f->body_len));
		snprintf(num, sizeof num, "%d", f->status);
		bad |= set(cf, "StatusCode", json_string(num));
		bad |= set(cf, "ContentType", json_string(f->content_type ? f->content_type : "text/plain"));
		bad |= set(j, "FixedResponseConfig", cf);
		break;
	}
	case CFG_ACT_REDIRECT: {
		const struct cfg_redirect *r = a->u.redirect;

		bad |= set(j, "Type", json_string("redirect"));
		bad |= set(cf, "Protocol", json_string(r->proto < 0 ? "#{protocol}" : r->proto ? "HTTPS" : "HTTP"));
		if (r->port)
			snprintf(num, sizeof num, "%d", r->port);
		else
			snprintf(num, sizeof num, "#{port}");
		bad |= set(cf, "Port", json_string(num));
		bad |= set(cf, "Host", json_string(r->host ? r->host : "#{host}"));
		bad |= set(cf, "Path", json_string(r->path ? r->path : "/#{path}"));
		bad |= set(cf, "Query", json_string(r->query ? r->query : "#{query}"));
		bad |= set(cf, "StatusCode", json_string(r->status == 302 ? "HTTP_302" : "HTTP_301"));
		bad |= set(j, "RedirectConfig", cf);
		break;
	}
	default:
		json_decref(cf);
		bad = 1;
	}
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *l = json_array();

	for (size_t i = 0; l && i < n; i++)
		if (push(l, json_string(v[i]))) {
			json_decref(l);
			return NULL;
		}
	return l;
}

/* ELBv2's RuleCondition: Field, the legacy Values (host-header and
 * path-pattern only, as ELBv2 gives them) and the *Config form. */
static json_t *condition_json(const struct cfg_condition *k)
{
	static const char *const field[] = {
		[CFG_COND_HOST] = "host-header",          [CFG_COND_PATH] = "path-pattern",
		[CFG_COND_METHOD] = "http-request-method", [CFG_COND_HTTP_HEADER] = "http-header",
		[CFG_COND_QUERY_STRING] = "query-string", [CFG_COND_SOURCE_IP] = "source-ip",
	};
	json_t *j = json_object(), *cf = json_object(), *vals = NULL;
	int bad = !j || !cf;
	const char *cfname = NULL;

	if ((unsigned)k->type >= sizeof field / sizeof *field) {
		json_decref(j);
		json_decref(cf);
		return NULL;
	}
	bad |= set(j, "Field", json_string(field[k->type]));
	switch (k->type) {
	case CFG_COND_HOST:
	case CFG_COND_PATH:
		bad |= set(j, "Values", str_array(k->values, k->nvalues));
		bad |= set(cf, "Values", str_array(k->values, k->nvalues));
		cfname = k->type == CFG_COND_HOST ? "HostHeaderConfig" : "PathPatternConfig";
		break;
	case CFG_COND_METHOD:
		bad |= set(cf, "Values", str_array(k->values, k->nvalues));
		cfname = "HttpRequestMethodConfig";
		break;
	case CFG_COND_HTTP_HEADER:
		bad |= set(cf, "HttpHeaderName", json_string(k->header));
		bad |= set(cf, "Values", str_array(k->values, k->nvalues));
		cfname = "HttpHeaderConfig";
		break;
	case CFG_COND_QUERY_STRING:
		vals = json_array();
		for (size_t i = 0; !bad && vals && i < k->npairs; i++) {
			json_t *p = json_object();

			if (k->pairs[i].key)
				bad |= set(p, "Key", json_string(k->pairs[i].key));
			bad |= set(p, "Value", json_string(k->pairs[i].value));
			bad |= push(vals, p);
		}
		bad |= set(cf, "Values", vals);
		cfname = "QueryStringConfig";
		break;
	case CFG_COND_SOURCE_IP:
		vals = json_array();
		for (size_t i = 0; !bad && vals && i < k->ncidrs; i++) {
			char ip[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];

			if (!inet_ntop(k->cidrs[i].family, k->cidrs[i].addr, ip, sizeof ip)) {
				bad = 1;
				break;
			}
			snprintf(text, sizeof text, "%s/%u", ip, k->cidrs[i].prefix);
			bad |= push(vals, json_string(text));
		}
		bad |= set(cf, "Values", vals);
		cfname = "SourceIpConfig";
		break;
	}
	if (cfname)
		bad |= set(j, cfname, cf);
	else
		json_decref(cf);
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ELBv2's Rule: rule R of listener L, its default rule when R is NULL. */
static json_t *rule_json(const struct albd_config *cfg, const struct cfg_listener *l, const struct cfg_rule *r)
{
	char arn[600], prio[16];
	json_t *j = json_object(), *conds = json_array(), *acts = json_array();
	int bad = !j || !conds || !acts;

	if (r)
		snprintf(prio, sizeof prio, "%d", r->priority);
	else
		snprintf(prio, sizeof prio, "default");
	bad |= set(j, "RuleArn", json_string(rule_arn(arn, sizeof arn, cfg, l, r)));
	bad |= set(j, "Priority", json_string(prio));
	for (size_t i = 0; r && !bad && conds && i < r->nconds; i++)
		bad |= push(conds, condition_json(&r->conds[i]));
	bad |= set(j, "Conditions", conds);
	if (acts)
		bad |= push(acts, action_json(r ? &r->action : &l->default_action));
	bad |= set(j, "Actions", acts);
	bad |= set(j, "IsDefault", json_boolean(!r));
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ELBv2's Listener. */
static json_t *listener_json(const struct albd_config *cfg, const struct cfg_listener *l)
{
	char arn[600];
	json_t *j = json_object(), *acts = json_array();
	int bad = !j || !acts;

	bad |= set(j, "ListenerArn", json_string(listener_arn(arn, sizeof arn, cfg, l)));
	bad |= set(j, "LoadBalancerArn", json_string(lb_arn(arn, sizeof arn, cfg)));
	bad |= set(j, "Port", json_integer(l->addr.port));
	bad |= set(j, "Protocol", json_string(l->tls ? "HTTPS" : "HTTP"));
	if (acts)
		bad |= push(acts, action_json(&l->default_action));
	bad |= set(j, "DefaultActions", acts);
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The load balancer's DNSName: the first listener's address when it is a
 * specific one, else the load balancer's name. */
static void dns_name(const struct albd_config *cfg, char *buf, size_t len)
{
	const struct albd_addr *a = cfg->nlisteners ? &cfg->listeners[0].addr : NULL;
	int any = 1;

	if (a && a->ss.ss_family == AF_INET)
		any = ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	else if (a && a->ss.ss_family == AF_INET6)
		any = IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	if (any)
		snprintf(buf, len, "%s", cfg->name);
	else
		config_addr_ip(a, buf, len);
}

/* ELBv2's LoadBalancer: albd itself. */
static json_t *lb_json(const struct albd_config *cfg)
{
	char arn[600], dns[256];
	int v6 = 0;

	for (size_t i = 0; i < cfg->nlisteners; i++)
		v6 |= cfg->listeners[i].addr.ss.ss_family == AF_INET6;
	dns_name(cfg, dns, sizeof dns);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s}", "LoadBalancerArn",
			 lb_arn(arn, sizeof arn, cfg), "DNSName", dns, "LoadBalancerName", cfg->name, "Scheme",
			 "internal", "State", "Code", "active", "Type", "application", "IpAddressType",
			 v6 ? "dualstack" : "ipv4");
}

/* ------------------------------------------------------------ lookups */

/* The target group whose ARN is TargetGroupArn in C's input, or NULL after
 * failing C. */
static const struct cfg_target_group *tg_by_arn(struct aws_call *c, const struct albd_config *cfg)
{
	const char *arn = aws_in_str(c->in, "TargetGroupArn");

	if (!arn) {
		aws_fail(c, 400, "ValidationError", "TargetGroupArn is required");
		return NULL;
	}
	if (!arn_shaped(arn, "targetgroup")) {
		aws_fail(c, 400, "ValidationError", "'%.300s' is not a valid target group ARN", arn);
		return NULL;
	}
	for (size_t i = 0; i < cfg->ntarget_groups; i++)
		if (strcmp(cfg->target_groups[i].arn, arn) == 0)
			return &cfg->target_groups[i];
	aws_fail(c, 400, "TargetGroupNotFound", "Target groups '%.300s' not found", arn);
	return NULL;
}

/* Check that ARN is the load balancer's: 0, or -1 after failing C. */
static int check_lb_arn(struct aws_call *c, const struct albd_config *cfg, const char *arn)
{
	char ours[600];

	if (!arn_shaped(arn, "loadbalancer")) {
		aws_fail(c, 400, "ValidationError", "'%.300s' is not a valid load balancer ARN", arn);
		return -1;
	}
	if (strcmp(arn, lb_arn(ours, sizeof ours, cfg)) != 0) {
		aws_fail(c, 400, "LoadBalancerNotFound", "Load balancer '%.300s' not found", arn);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ operations */

/* DescribeLoadBalancers: LoadBalancerArns, Names, Marker, PageSize. */
static json_t *describe_load_balancers(struct aws_call *c)
{
	const struct albd_config *cfg = live(c);
	const char **arns = NULL, **names = NULL;
	size_t narns, nnames, off, size;
	json_t *list;

	if (!cfg || page_in(c, &off, &size) < 0 || str_list(c, "LoadBalancerArns", &arns, &narns) < 0 ||
	    str_list(c, "Names", &names, &nnames) < 0)
		goto fail;
	for (size_t i = 0; i < narns; i++)
		if (check_lb_arn(c, cfg, arns[i]) < 0)
			goto fail;
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(names[i], cfg->name) != 0) {
			aws_fail(c, 400, "LoadBalancerNotFound", "Load balancers '[%.200s]' not found", names[i]);
			goto fail;
		}
	free(arns);
	free(names);
	list = json_array();
	if (!list || push(list, lb_json(cfg)))
		return oom(c, list);
	return page_out(c, list, "LoadBalancers", off, size);
fail:
	free(arns);
	free(names);
	return NULL;
}

/* DescribeListeners: LoadBalancerArn or ListenerArns, Marker, PageSize. */
static json_t *describe_listeners(struct aws_call *c)
{
	const struct albd_config *cfg = live(c);
	const char *lb = aws_in_str(c->in, "LoadBalancerArn"), **arns = NULL;
	size_t narns, off, size;
	char arn[600];
	json_t *list = NULL;

	if (!cfg || page_in(c, &off, &size) < 0 || str_list(c, "ListenerArns", &arns, &narns) < 0)
		goto fail;
	if (!lb == !narns) {
		aws_fail(c, 400, "ValidationError", "Specify either a load balancer ARN or listener ARNs");
		goto fail;
	}
	if (lb && check_lb_arn(c, cfg, lb) < 0)
		goto fail;
	for (size_t i = 0; i < narns; i++) {
		size_t k = 0;

		if (!arn_shaped(arns[i], "listener")) {
			aws_fail(c, 400, "ValidationError", "'%.300s' is not a valid listener ARN", arns[i]);
			goto fail;
		}
		while (k < cfg->nlisteners && strcmp(listener_arn(arn, sizeof arn, cfg, &cfg->listeners[k]), arns[i]))
			k++;
		if (k == cfg->nlisteners) {
			aws_fail(c, 400, "ListenerNotFound", "One or more listeners not found");
			goto fail;
		}
	}
	/* the config's order; with ListenerArns, those listed */
	if (!(list = json_array()))
		goto nomem;
	for (size_t k = 0; k < cfg->nlisteners; k++) {
		int want = !narns;

		listener_arn(arn, sizeof arn, cfg, &cfg->listeners[k]);
		for (size_t i = 0; !want && i < narns; i++)
			want = strcmp(arn, arns[i]) == 0;
		if (want && push(list, listener_json(cfg, &cfg->listeners[k])))
			goto nomem;
	}
	free(arns);
	return page_out(c, list, "Listeners", off, size);
nomem:
	oom(c, list);
fail:
	free(arns);
	return NULL;
}

/* DescribeRules: ListenerArn or RuleArns, Marker, PageSize. A listener's
 * rules by priority, its default rule last. */
static json_t *describe_rules(struct aws_call *c)
{
	const struct albd_config *cfg = live(c);
	const char *la = aws_in_str(c->in, "ListenerArn"), **arns = NULL;
	size_t narns, off, size, found = 0;
	const struct cfg_listener *only = NULL;
	char arn[600];
	json_t *list = NULL;

	if (!cfg || page_in(c, &off, &size) < 0 || str_list(c, "RuleArns", &arns, &narns) < 0)
		goto fail;
	if (!la == !narns) {
		aws_fail(c, 400, "ValidationError", "Specify either a listener ARN or rule ARNs");
		goto fail;
	}
	if (la) {
		if (!arn_shaped(la, "listener")) {
			aws_fail(c, 400, "ValidationError", "'%.300s' is not a valid listener ARN", la);
			goto fail;
		}
		for (size_t k = 0; !only && k < cfg->nlisteners; k++)
			if (strcmp(listener_arn(arn, sizeof arn, cfg, &cfg->listeners[k]), la) == 0)
				only = &cfg->listeners[k];
		if (!only) {
			aws_fail(c, 400, "ListenerNotFound", "Listener '%.300s' not found", la);
			goto fail;
		}
	}
	for (size_t i = 0; i < narns; i++)
		if (!arn_shaped(arns[i], "listener-rule")) {
			aws_fail(c, 400, "ValidationError", "'%.300s' is not a valid rule ARN", arns[i]);
			goto fail;
		}
	if (!(list = json_array()))
		goto nomem;
	for (size_t k = 0; k < cfg->nlisteners; k++) {
		const struct cfg_listener *l = &cfg->listeners[k];

		if (only && l != only)
			continue;
		/* the rules, then the default one (j == nrules) */
		for (size_t j = 0; j <= l->nrules; j++) {
			const struct cfg_rule *r = j < l->nrules ? &l->rules[j] : NULL;
			int want = !narns;

			rule_arn(arn, sizeof arn, cfg, l, r);
			for (size_t i = 0; !want && i < narns; i++)
				want = strcmp(arn, arns[i]) == 0;
			if (!want)
				continue;
			found++;
			if (push(list, rule_json(cfg, l, r)))
				goto nomem;
		}
	}
	if (narns) {
		/* every ARN asked for must be a rule (the same one twice counts once) */
		size_t distinct = 0;

		for (size_t i = 0; i < narns; i++) {
			size_t j = 0;

			while (j < i && strcmp(arns[j], arns[i]))
				j++;
			distinct += j == i;
		}
		if (found < distinct) {
			json_decref(list);
			aws_fail(c, 400, "RuleNotFound", "One or more rules not found");
			goto fail;
		}
	}
	free(arns);
	return page_out(c, list, "Rules", off, size);
nomem:
	oom(c, list);
fail:
	free(arns);
	return NULL;
}

/* DescribeTargetGroups: one of LoadBalancerArn, TargetGroupArns, Names;
 * Marker, PageSize. */
static json_t *describe_target_groups(struct aws_call *c)
{
	const struct albd_config *cfg = live(c);
	const char *lb = aws_in_str(c->in, "LoadBalancerArn"), **arns = NULL, **names = NULL;
	size_t narns, nnames, off, size;
	json_t *list = NULL;

	if (!cfg || page_in(c, &off, &size) < 0 || str_list(c, "TargetGroupArns", &arns, &narns) < 0 ||
	    str_list(c, "Names", &names, &nnames) < 0)
		goto fail;
	if ((lb != NULL) + (narns > 0) + (nnames > 0) > 1) {
		aws_fail(c, 400, "ValidationError",
			 "Specify only one of a load balancer ARN, target group ARNs or target group names");
		goto fail;
	}
	if (lb && check_lb_arn(c, cfg, lb) < 0)
		goto fail;
	for (size_t i = 0; i < narns; i++) {
		if (!arn_shaped(arns[i], "targetgroup")) {
			aws_fail(c, 400, "ValidationError", "'%.300s' is not a valid target group ARN", arns[i]);
			goto fail;
		}
		size_t k = 0;
		while (k < cfg->ntarget_groups && strcmp(cfg->target_groups[k].arn, arns[i]))
			k++;
		if (k == cfg->ntarget_groups) {
			aws_fail(c, 400, "TargetGroupNotFound", "One or more target groups not found");
			goto fail;
		}
	}
	for (size_t i = 0; i < nnames; i++)
		if (!config_find_tg(cfg, names[i])) {
			aws_fail(c, 400, "TargetGroupNotFound", "One or more target groups not found");
			goto fail;
		}
	if (!(list = json_array()))
		goto nomem;
	for (size_t k = 0; k < cfg->ntarget_groups; k++) {
		const struct cfg_target_group *tg = &cfg->target_groups[k];
		int used = lb_uses(cfg, tg), want = !narns && !nnames && (!lb || used);

		for (size_t i = 0; !want && i < narns; i++)
			want = strcmp(tg->arn, arns[i]) == 0;
		for (size_t i = 0; !want && i < nnames; i++)
			want = strcmp(tg->name, names[i]) == 0;
		if (!want)
			continue;
		if (push(list, api_elb_group(cfg, tg, 1)))
			goto nomem;
	}
	free(arns);
	free(names);
	return page_out(c, list, "TargetGroups", off, size);
nomem:
	oom(c, list);
fail:
	free(arns);
	free(names);
	return NULL;
}

/* The Targets of C's input (required for RegisterTargets and
 * DeregisterTargets: REQUIRED) into a new array (*N of them; NULL and 0
 * when absent and not REQUIRED). A target without Port takes TG's port
 * (ELBv2's default: the group's). Returns 0, or -1 after failing C. */
static int targets_in(struct aws_call *c, const struct cfg_target_group *tg, int required,
		      struct treg_target **out, size_t *n)
{
	const json_t *l = aws_in_list(c->in, "Targets"), *t;
	size_t i;
	char why[256];

	*out = NULL;
	*n = 0;
	if (aws_in_list_bad(c->in, "Targets")) {
		aws_fail(c, 400, "ValidationError", "Targets: expected a list");
		return -1;
	}
	if (!l || !json_array_size(l)) {
		if (!required)
			return 0;
		aws_fail(c, 400, "ValidationError", "Targets must list at least one target");
		return -1;
	}
	if (json_array_size(l) > TREG_MAX_PER_CALL) {
		aws_fail(c, 400, "ValidationError", "At most %d targets in one call", TREG_MAX_PER_CALL);
		return -1;
	}
	if (!(*out = calloc(json_array_size(l), sizeof **out))) {
		oom(c, NULL);
		return -1;
	}
	json_array_foreach(l, i, t) {
		const char *id = json_is_object(t) ? aws_in_str(t, "Id") : NULL;
		long long port = api_elb_port(tg);
		int r = json_is_object(t) ? aws_in_int(t, "Port", &port) : 0;

		if (!id) {
			aws_fail(c, 400, "ValidationError", "Targets.member.%zu.Id is required", i + 1);
			goto bad;
		}
		if (r < 0 || (r == 0 && !port) || port < 1 || port > 65535) {
			aws_fail(c, 400, "ValidationError",
				 r == 0 ? "Targets.member.%zu.Port is required: target group '%s' has no port"
					: "Targets.member.%zu.Port must be an integer from 1 to 65535",
				 i + 1, tg->name);
			goto bad;
		}
		if (treg_parse_target(id, (long)port, &(*out)[i].addr, why, sizeof why) < 0) {
			aws_fail(c, 400, "InvalidTarget", "The following targets are not valid: %.100s (%s)", id, why);
			goto bad;
		}
		/* 0: ELBv2 has no weight; a registered target keeps its own */
		(*out)[i].weight = 0;
	}
	*n = json_array_size(l);
	return 0;
bad:
	free(*out);
	*out = NULL;
	return -1;
}

/* RegisterTargets (REG) or DeregisterTargets: TargetGroupArn, Targets. */
static json_t *change_targets(struct aws_call *c, int reg)
{
	const struct albd_config *cfg = live(c);
	const struct cfg_target_group *tg = cfg ? tg_by_arn(c, cfg) : NULL;
	struct treg_target *v;
	struct treg_error e;
	size_t n;
	int rc;

	if (!tg || targets_in(c, tg, 1, &v, &n) < 0)
		return NULL;
	/* TG and CFG may be gone once the call made a new generation */
	rc = reg ? treg_register(tg, v, n, &e) : treg_deregister(tg, v, n, &e);
	free(v);
	if (rc < 0)
		return aws_fail(c, e.status, e.code, "%s", e.message);
	return json_object();
}

static json_t *register_targets(struct aws_call *c)
{
	return change_targets(c, 1);
}

static json_t *deregister_targets(struct aws_call *c)
{
	return change_targets(c, 0);
}

/* DescribeTargetHealth: TargetGroupArn, Targets (those only; one not in
 * the group is "unused", Target.NotRegistered, as ELBv2 answers). */
static json_t *describe_target_health(struct aws_call *c)
{
	const struct albd_gen *g = admin_gen();
	const struct albd_config *cfg = live(c);
	const struct cfg_target_group *tg = cfg ? tg_by_arn(c, cfg) : NULL;
	struct treg_target *want;
	size_t nwant, i;
	json_t *all, *list, *d;

	if (!tg || targets_in(c, tg, 0, &want, &nwant) < 0)
		return NULL;
	if (!(all = api_elb_target_health(g, tg, 1))) {
		free(want);
		return oom(c, NULL);
	}
	if (!nwant)
		return json_pack("{s:o}", "TargetHealthDescriptions", all);
	/* those asked for, in the order asked */
	list = json_array();
	for (size_t k = 0; list && k < nwant; k++) {
		char ip[64];
		int port = want[k].addr.port, hit = 0;

		config_addr_ip(&want[k].addr, ip, sizeof ip);
		json_array_foreach(all, i, d) {
			const json_t *t = json_object_get(d, "Target");

			if (strcmp(json_string_value(json_object_get(t, "Id")), ip) == 0 &&
			    json_integer_value(json_object_get(t, "Port")) == port) {
				hit = 1;
				if (json_array_append(list, d)) {
					json_decref(list);
					list = NULL;
					break;
				}
			}
		}
		if (list && !hit &&
		    push(list, json_pack("{s:{s:s, s:i}, s:{s:s, s:s, s:s}}", "Target", "Id", ip, "Port", port,
					 "TargetHealth", "State", "unused", "Reason", "Target.NotRegistered",
					 "Description", "Target is not registered to the target group"))) {
			json_decref(list);
			list = NULL;
		}
	}
	free(want);
	json_decref(all);
	if (!list)
		return oom(c, NULL);
	return json_pack("{s:o}", "TargetHealthDescriptions", list);
}

/* DescribeTargetGroupAttributes: TargetGroupArn. The attributes ELBv2
 * documents for an application load balancer's target group that albd
 * has, as Key/Value strings. */
static json_t *describe_target_group_attributes(struct aws_call *c)
{
	const struct albd_config *cfg = live(c);
	const struct cfg_target_group *tg = cfg ? tg_by_arn(c, cfg) : NULL;
	const struct cfg_stickiness *st;
	char dereg[16], slow[16], dur[16];
	unsigned d;
	int app;

	if (!tg)
		return NULL;
	st = &tg->stickiness;
	app = st->type == CFG_STICKY_APP_COOKIE;
	d = st->duration_s ? st->duration_s : 86400;
	snprintf(dereg, sizeof dereg, "%u", tg->deregistration_delay_ms / 1000);
	snprintf(slow, sizeof slow, "%u", tg->slow_start_ms / 1000);
	snprintf(dur, sizeof dur, "%u", d);
	return json_pack("{s:[{s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}, {s:s,s:s}]}",
			 "Attributes",
			 "Key", "stickiness.enabled", "Value",
			 st->enabled && st->type != CFG_STICKY_NONE ? "true" : "false",
			 "Key", "deregistration_delay.timeout_seconds", "Value", dereg,
			 "Key", "stickiness.type", "Value", app ? "app_cookie" : "lb_cookie",
			 "Key", "stickiness.app_cookie.cookie_name", "Value", app && st->cookie_name ? st->cookie_name : "",
			 "Key", "stickiness.app_cookie.duration_seconds", "Value", app ? dur : "86400",
			 "Key", "stickiness.lb_cookie.duration_seconds", "Value",
			 st->type == CFG_STICKY_LB_COOKIE ? dur : "86400",
			 "Key", "slow_start.duration_seconds", "Value", slow,
			 "Key", "load_balancing.algorithm.type", "Value",
			 tg->algorithm == TG_ALGO_LEAST_OUTSTANDING ? "least_outstanding_requests" : "round_robin");
}

const struct aws_op aws_elb_ops[] = {
	{ "DescribeLoadBalancers", describe_load_balancers },
	{ "DescribeListeners", describe_listeners },
	{ "DescribeRules", describe_rules },
	{ "DescribeTargetGroups", describe_target_groups },
	{ "DescribeTargetHealth", describe_target_health },
	{ "RegisterTargets", register_targets },
	{ "DeregisterTargets", deregister_targets },
	{ "DescribeTargetGroupAttributes", describe_target_group_attributes },
	{ NULL, NULL },
};
