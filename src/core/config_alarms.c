/* config_alarms.c - the top-level "region" and "account_id" settings and
 * the "topics", "alarms" and "composite_alarms" lists.
 *
 * This file checks the shape: types, ranges, required fields, unique names,
 * that an alarm names either a metric or a metric math list, and that every
 * action names a topic of the file. What is in CloudWatch's or SNS's words
 * (comparison operators, statistics, metric math, composite rules, filter
 * policies, endpoints, delivery policies) is checked by the control plane
 * (control/alarm.c: alarm_check(), control/notify.c: notify_check()),
 * which knows those languages; the config keeps the text as written.
 *
 * Topics come before alarms in the root table: alarms refer to them.
 */
#include "config_engine.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define ALARM_NAME_MAX 255  /* CloudWatch's AlarmName */
#define TOPIC_NAME_MAX 256  /* SNS's topic name */
#define DIMS_MAX 30         /* CloudWatch's dimensions per metric */
#define DIM_NAME_MAX 255
#define DIM_VALUE_MAX 1024
#define ACTIONS_MAX 5       /* CloudWatch's actions per state */
#define QUERIES_MAX 10      /* CloudWatch's metrics per metric math alarm */

/* ------------------------------------------------------------ region, account */

/* An AWS-like region name: 1..32 of [a-z0-9-]. */
int cfg_set_region(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);
	size_t n;

	if (!v)
		return -1;
	n = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (n == 0 || n > 32 || v[n])
		return cfg_fail(c, s, "invalid region \"%s\" (expected 1 to 32 characters from a-z 0-9 -)",
				v);
	return cfg_replace_str(c, field, v);
}

int cfg_set_account_id(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strlen(v) != 12 || strspn(v, "0123456789") != 12)
		return cfg_fail(c, s, "invalid account_id \"%s\" (expected 12 digits)", v);
	return cfg_replace_str(c, field, v);
}

/* ------------------------------------------------------------ helpers */

/* A free-form name: 1..MAX bytes, no control characters. */
static int check_text_name(struct cfg_ctx *c, const config_setting_t *s, const char *v, size_t max,
			   const char *what)
{
	size_t n = strlen(v);

	if (n == 0 || n > max)
		return cfg_fail(c, s, "invalid %s \"%s\" (expected 1 to %zu characters)", what, v, max);
	if (cfg_has_ctl(v))
		return cfg_fail(c, s, "invalid %s (control characters are not allowed)", what);
	if (!cfg_valid_utf8(v))
		return cfg_fail(c, s, "invalid %s (not UTF-8)", what);
	return 0;
}

/* Any string that is valid UTF-8 (it goes into JSON). */
static int set_utf8(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!cfg_valid_utf8(v))
		return cfg_fail(c, s, "not UTF-8 (text here goes into JSON)");
	return cfg_replace_str(c, field, v);
}

static int set_alarm_name(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v || check_text_name(c, s, v, ALARM_NAME_MAX, "alarm name") < 0)
		return -1;
	return cfg_replace_str(c, field, v);
}

/* SNS's topic names: 1..256 of A-Z a-z 0-9 _ -. */
static int set_topic_name(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);
	size_t n;

	if (!v)
		return -1;
	n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
	if (n == 0 || n > TOPIC_NAME_MAX || v[n])
		return cfg_fail(c, s,
				"invalid topic name \"%s\" (expected 1 to %d characters from A-Z a-z 0-9 _ -)",
				v, TOPIC_NAME_MAX);
	return cfg_replace_str(c, field, v);
}

static int set_text(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!*v)
		return cfg_fail(c, s, "expected a non-empty string");
	if (!cfg_valid_utf8(v))
		return cfg_fail(c, s, "not UTF-8 (text here goes into JSON)");
	return cfg_replace_str(c, field, v);
}

/* dimensions = { Name = "value"; ... }: the group's members in file order. */
static int parse_dims(struct cfg_ctx *c, const config_setting_t *s, struct cfg_dim **out, size_t *nout)
{
	int n;

	if (!config_setting_is_group(s))
		return cfg_fail(c, s, "expected a group such as { TargetGroup = \"web\"; }");
	n = config_setting_length(s);
	if (n > DIMS_MAX)
		return cfg_fail(c, s, "at most %d dimensions", DIMS_MAX);
	if (n == 0)
		return 0;
	if (!(*out = cfg_zalloc(c, (size_t)n, sizeof **out)))
		return -1;
	*nout = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m), *v = cfg_string_of(c, m);

		if (!v)
			return -1;
		if (strlen(name) > DIM_NAME_MAX)
			return cfg_fail(c, m, "dimension name longer than %d characters", DIM_NAME_MAX);
		if (check_text_name(c, m, v, DIM_VALUE_MAX, "dimension value") < 0)
			return -1;
		if (!((*out)[i].name = cfg_strdup(c, name)) || !((*out)[i].value = cfg_strdup(c, v)))
			return -1;
	}
	return 0;
}

static int set_alarm_dims(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_alarm *a = obj;

	return parse_dims(c, s, &a->dims, &a->ndims);
}

static int set_query_dims(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_alarm_query *q = obj;

	return parse_dims(c, s, &q->dims, &q->ndims);
}

static int check_topic_ref(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	if (!config_find_topic(c->cfg, v))
		return cfg_fail(c, s, "no topic \"%s\" in this file", v);
	return 0;
}

/* An action list: one topic name or a list of them, possibly empty. */
static int parse_actions(struct cfg_ctx *c, const config_setting_t *s, char ***out, size_t *nout)
{
	if ((config_setting_is_list(s) || config_setting_is_array(s)) && config_setting_length(s) == 0)
		return 0;
	if (cfg_set_strings(c, s, out, nout, check_topic_ref) < 0)
		return -1;
	if (*nout > ACTIONS_MAX)
		return cfg_fail(c, s, "at most %d actions", ACTIONS_MAX);
	for (size_t i = 0; i < *nout; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp((*out)[i], (*out)[j]) == 0)
				return cfg_fail(c, s, "topic \"%s\" is named twice", (*out)[i]);
	return 0;
}

#define ACTION_SETTERS(type, prefix)                                                                 \
	static int prefix##_alarm_actions(struct cfg_ctx *c, const config_setting_t *s, void *obj)   \
	{                                                                                            \
		type *a = obj;                                                                       \
		return parse_actions(c, s, &a->alarm_actions, &a->nalarm_actions);                   \
	}                                                                                            \
	static int prefix##_ok_actions(struct cfg_ctx *c, const config_setting_t *s, void *obj)      \
	{                                                                                            \
		type *a = obj;                                                                       \
		return parse_actions(c, s, &a->ok_actions, &a->nok_actions);                         \
	}                                                                                            \
	static int prefix##_insufficient_actions(struct cfg_ctx *c, const config_setting_t *s,      \
						 void *obj)                                          \
	{                                                                                            \
		type *a = obj;                                                                       \
		return parse_actions(c, s, &a->insufficient_data_actions,                           \
				     &a->ninsufficient_data_actions);                                \
	}

ACTION_SETTERS(struct cfg_alarm, ma)
ACTION_SETTERS(struct cfg_composite_alarm, ca)

/* ------------------------------------------------------------ topics */

/* clang-format off */
static const struct cfg_key delivery_keys[] = {
	NUM("retries", K_UINT, struct cfg_delivery, retries, 0, 100, 3, 0),
	NUM("no_delay_retries", K_UINT, struct cfg_delivery, no_delay_retries, 0, 100, 0, 0),
	NUM("min_delay_retries", K_UINT, struct cfg_delivery, min_delay_retries, 0, 100, 0, 0),
	NUM("max_delay_retries", K_UINT, struct cfg_delivery, max_delay_retries, 0, 100, 0, 0),
	NUM("min_delay", K_MS, struct cfg_delivery, min_delay_ms, 1, 3600, 20, 0),
	NUM("max_delay", K_MS, struct cfg_delivery, max_delay_ms, 1, 3600, 20, 0),
	FN_STR("backoff", struct cfg_delivery, backoff, set_text, "linear", 0),
	NUM("throttle", K_UINT, struct cfg_delivery, throttle, 0, 1000000, 0, 0),
	NUM("timeout", K_MS, struct cfg_delivery, timeout_ms, 0.1, 300, 15, 0),
	KEY_END
};
/* clang-format on */

/* delivery = { ... } over what the field holds already (SNS's defaults for
 * a topic, the topic's policy for a subscription). */
static int set_delivery(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_delivery *d = field;

	if (!config_setting_is_group(s))
		return cfg_fail(c, s, "expected a group { retries = ...; ... }");
	d->line = (int)cfg_line_of(s);
	if (cfg_parse_group(c, s, delivery_keys, d) < 0)
		return -1;
	if (d->min_delay_ms > d->max_delay_ms)
		return cfg_fail(c, cfg_member_or(s, "min_delay"), "min_delay (%g s) is above max_delay (%g s)",
				d->min_delay_ms / 1000.0, d->max_delay_ms / 1000.0);
	return 0;
}

static int set_endpoint(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return cfg_fail(c, s, "invalid endpoint \"%s\" (expected an http:// or https:// URL)", v);
	if (cfg_has_space_or_ctl(v))
		return cfg_fail(c, s, "invalid endpoint (spaces and control characters are not allowed)");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return cfg_fail(c, s, "invalid endpoint (non-ASCII characters: percent-encode them)");
	return cfg_replace_str(c, field, v);
}

static int set_format(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "sns") != 0 && strcmp(v, "slack") != 0 && strcmp(v, "raw") != 0)
		return cfg_fail(c, s, "unknown format \"%s\" (expected \"sns\", \"slack\" or \"raw\")", v);
	return cfg_replace_str(c, field, v);
}

/* clang-format off */
static const struct cfg_key sub_keys[] = {
	FN("endpoint", struct cfg_subscription, endpoint, set_endpoint, KEY_REQUIRED),
	FN_STR("format", struct cfg_subscription, format, set_format, "sns", 0),
	FN("secret", struct cfg_subscription, secret, set_text, 0),
	NUM("confirm", K_BOOL, struct cfg_subscription, confirm, 0, 1, 0, 0),
	FN("filter_policy", struct cfg_subscription, filter_policy, set_text, 0),
	NUM("tls_verify", K_BOOL, struct cfg_subscription, tls_verify, 0, 1, 1, 0),
	FN("ca_file", struct cfg_subscription, ca_file, cfg_set_file, 0),
	FN("delivery", struct cfg_subscription, delivery, set_delivery, 0),
	KEY_END
};
/* clang-format on */

static void free_delivery(struct cfg_delivery *d)
{
	free(d->backoff);
	d->backoff = NULL;
}

static void free_subscription(struct cfg_subscription *sub)
{
	free(sub->endpoint);
	free(sub->format);
	if (sub->secret) {
		memset(sub->secret, 0, strlen(sub->secret));
		free(sub->secret);
	}
	free(sub->filter_policy);
	free(sub->ca_file);
	free_delivery(&sub->delivery);
}

/* subscriptions = ( { endpoint = "..."; ... }, ... ); obj is the topic,
 * whose delivery policy is read already. */
static int parse_subscriptions(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_topic *t = obj;
	int n = cfg_list_length(c, s);

	if (n <= 0)
		return n;
	if (!(t->subs = cfg_zalloc(c, (size_t)n, sizeof *t->subs)))
		return -1;
	t->nsubs = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_subscription *sub = &t->subs[i];

		sub->line = (int)cfg_line_of(e);
		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { endpoint = \"...\"; ... }");
		if (cfg_apply_defaults(c, sub_keys, sub) < 0)
			return -1;
		sub->delivery = t->delivery;
		sub->delivery.backoff = NULL;
		if (!(sub->delivery.backoff = cfg_strdup(c, t->delivery.backoff)))
			return -1;
		if (cfg_parse_group(c, e, sub_keys, sub) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (strcmp(t->subs[j].endpoint, sub->endpoint) == 0)
				return cfg_fail(c, config_setting_get_member(e, "endpoint"),
						"endpoint \"%s\" is subscribed twice to this topic (line %d)",
						sub->endpoint, t->subs[j].line);
	}
	return 0;
}

/* The delivery row of a topic comes before its subscriptions: they start
 * from it. */
/* clang-format off */
static const struct cfg_key topic_keys[] = {
	FN("name", struct cfg_topic, name, set_topic_name, KEY_REQUIRED),
	FN("delivery", struct cfg_topic, delivery, set_delivery, 0),
	FN_OBJ("subscriptions", parse_subscriptions, 0),
	KEY_END
};
/* clang-format on */

int cfg_parse_topics(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct albd_config *cfg = obj;
	int n = cfg_list_length(c, s);

	if (n <= 0)
		return n;
	if (!(cfg->topics = cfg_zalloc(c, (size_t)n, sizeof *cfg->topics)))
		return -1;
	cfg->ntopics = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_topic *t = &cfg->topics[i];

		t->line = (int)cfg_line_of(e);
		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { name = \"...\"; subscriptions = ( ... ); }");
		if (cfg_apply_defaults(c, topic_keys, t) < 0 || cfg_apply_defaults(c, delivery_keys, &t->delivery) < 0)
			return -1;
		/* the name first: the duplicate check below needs it, and a
		 * failing subscription is reported before it otherwise */
		if (cfg_parse_group(c, e, topic_keys, t) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (strcmp(cfg->topics[j].name, t->name) == 0)
				return cfg_fail(c, config_setting_get_member(e, "name"),
						"duplicate topic name \"%s\" (first defined at line %d)", t->name,
						cfg->topics[j].line);
	}
	return 0;
}

void cfg_free_topic(struct cfg_topic *t)
{
	free(t->name);
	for (size_t i = 0; t->subs && i < t->nsubs; i++)
		free_subscription(&t->subs[i]);
	free(t->subs);
	free_delivery(&t->delivery);
}

/* ------------------------------------------------------------ alarms */

/* clang-format off */
static const struct cfg_key query_keys[] = {
	FN("id", struct cfg_alarm_query, id, set_text, KEY_REQUIRED),
	FN("expression", struct cfg_alarm_query, expression, set_text, 0),
	FN("label", struct cfg_alarm_query, label, set_text, 0),
	NUM("return_data", K_BOOL, struct cfg_alarm_query, return_data, 0, 1, 0, 0),
	FN_STR("namespace", struct cfg_alarm_query, namespace, set_text, "AWS/ApplicationELB", 0),
	FN("metric", struct cfg_alarm_query, metric, set_text, 0),
	FN_OBJ("dimensions", set_query_dims, 0),
	FN("statistic", struct cfg_alarm_query, stat, set_text, 0),
	FN("unit", struct cfg_alarm_query, unit, set_text, 0),
	NUM("period", K_UINT, struct cfg_alarm_query, period, 1, 86400, 0, 0),
	KEY_END
};
/* clang-format on */

static int parse_queries(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_alarm *a = obj;
	int n = cfg_list_length(c, s);

	if (n < 0)
		return n;
	if (n == 0)
		return cfg_fail(c, s, "expected at least one query");
	if (n > QUERIES_MAX)
		return cfg_fail(c, s, "at most %d queries", QUERIES_MAX);
	if (!(a->metrics = cfg_zalloc(c, (size_t)n, sizeof *a->metrics)))
		return -1;
	a->nmetrics = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_alarm_query *q = &a->metrics[i];

		q->line = (int)cfg_line_of(e);
		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { id = \"...\"; ... }");
		if (cfg_apply_defaults(c, query_keys, q) < 0 || cfg_parse_group(c, e, query_keys, q) < 0)
			return -1;
		if (!q->expression == !q->metric)
			return cfg_fail(c, e, "query \"%s\": expected either expression or metric", q->id);
		if (q->metric && !q->stat)
			return cfg_fail(c, e, "query \"%s\": a metric needs a statistic", q->id);
		if (q->expression && (q->stat || q->ndims || config_setting_get_member(e, "namespace")))
			return cfg_fail(c, e,
					"query \"%s\": an expression takes no namespace, dimensions or statistic",
					q->id);
		for (int j = 0; j < i; j++)
			if (strcmp(a->metrics[j].id, q->id) == 0)
				return cfg_fail(c, config_setting_get_member(e, "id"), "duplicate id \"%s\"",
						q->id);
	}
	return 0;
}

/* clang-format off */
static const struct cfg_key alarm_keys[] = {
	FN("name", struct cfg_alarm, name, set_alarm_name, KEY_REQUIRED),
	FN("description", struct cfg_alarm, description, set_utf8, 0),
	FN_STR("namespace", struct cfg_alarm, namespace, set_text, "AWS/ApplicationELB", 0),
	FN("metric", struct cfg_alarm, metric, set_text, 0),
	FN_OBJ("dimensions", set_alarm_dims, 0),
	FN("statistic", struct cfg_alarm, statistic, set_text, 0),
	FN("extended_statistic", struct cfg_alarm, extended_statistic, set_text, 0),
	FN_OBJ("metrics", parse_queries, 0),
	NUM("period", K_UINT, struct cfg_alarm, period, 1, 86400, 0, KEY_REQUIRED),
	NUM("evaluation_periods", K_UINT, struct cfg_alarm, evaluation_periods, 1, 10000, 0, KEY_REQUIRED),
	NUM("datapoints_to_alarm", K_UINT, struct cfg_alarm, datapoints_to_alarm, 1, 10000, 0, 0),
	FN("comparison", struct cfg_alarm, comparison, set_text, KEY_REQUIRED),
	NUM("threshold", K_RATIO, struct cfg_alarm, threshold, -DBL_MAX, DBL_MAX, 0, KEY_REQUIRED),
	FN_STR("treat_missing_data", struct cfg_alarm, treat_missing_data, set_text, "missing", 0),
	FN_OBJ("alarm_actions", ma_alarm_actions, 0),
	FN_OBJ("ok_actions", ma_ok_actions, 0),
	FN_OBJ("insufficient_data_actions", ma_insufficient_actions, 0),
	NUM("actions_enabled", K_BOOL, struct cfg_alarm, actions_enabled, 0, 1, 1, 0),
	KEY_END
};

static const struct cfg_key composite_keys[] = {
	FN("name", struct cfg_composite_alarm, name, set_alarm_name, KEY_REQUIRED),
	FN("description", struct cfg_composite_alarm, description, set_utf8, 0),
	FN("rule", struct cfg_composite_alarm, rule, set_text, KEY_REQUIRED),
	FN_OBJ("alarm_actions", ca_alarm_actions, 0),
	FN_OBJ("ok_actions", ca_ok_actions, 0),
	FN_OBJ("insufficient_data_actions", ca_insufficient_actions, 0),
	NUM("actions_enabled", K_BOOL, struct cfg_composite_alarm, actions_enabled, 0, 1, 1, 0),
	KEY_END
};
/* clang-format on */

/* The line where the alarm or composite alarm called NAME is defined, or 0. */
static int alarm_defined(const struct albd_config *cfg, const char *name, size_t nalarms, size_t ncomposite)
{
	for (size_t i = 0; i < nalarms; i++)
		if (strcmp(cfg->alarms[i].name, name) == 0)
			return cfg->alarms[i].line;
	for (size_t i = 0; i < ncomposite; i++)
		if (strcmp(cfg->composite_alarms[i].name, name) == 0)
			return cfg->composite_alarms[i].line;
	return 0;
}

static int check_alarm(struct cfg_ctx *c, const config_setting_t *e, const struct cfg_alarm *a)
{
	if (a->metric && a->nmetrics)
		return cfg_fail(c, config_setting_get_member(e, "metrics"),
				"an alarm has either metric or metrics, not both");
	if (!a->metric && !a->nmetrics)
		return cfg_fail(c, e, "alarm \"%s\": expected metric (with statistic or extended_statistic) or metrics",
				a->name);
	if (a->metric && !a->statistic == !a->extended_statistic)
		return cfg_fail(c, cfg_member_or(e, a->statistic ? "statistic"
							      : a->extended_statistic ? "extended_statistic"
										: "metric"),
				"alarm \"%s\": expected exactly one of statistic and extended_statistic", a->name);
	if (a->nmetrics && (a->statistic || a->extended_statistic || a->ndims ||
			    config_setting_get_member(e, "namespace")))
		return cfg_fail(c, config_setting_get_member(e, "metrics"),
				"alarm \"%s\": with metrics, namespace, dimensions and statistics go into the queries",
				a->name);
	if (a->datapoints_to_alarm > a->evaluation_periods)
		return cfg_fail(c, config_setting_get_member(e, "datapoints_to_alarm"),
				"datapoints_to_alarm (%u) is above evaluation_periods (%u)", a->datapoints_to_alarm,
				a->evaluation_periods);
	return 0;
}

int cfg_parse_alarms(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct albd_config *cfg = obj;
	int n = cfg_list_length(c, s);

	if (n <= 0)
		return n;
	if (!(cfg->alarms = cfg_zalloc(c, (size_t)n, sizeof *cfg->alarms)))
		return -1;
	cfg->nalarms = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_alarm *a = &cfg->alarms[i];
		int dup;

		a->line = (int)cfg_line_of(e);
		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { name = \"...\"; ... }");
		if (cfg_apply_defaults(c, alarm_keys, a) < 0 || cfg_parse_group(c, e, alarm_keys, a) < 0 ||
		    check_alarm(c, e, a) < 0)
			return -1;
		if ((dup = alarm_defined(cfg, a->name, (size_t)i, 0)))
			return cfg_fail(c, config_setting_get_member(e, "name"),
					"duplicate alarm name \"%s\" (first defined at line %d)", a->name, dup);
	}
	return 0;
}

int cfg_parse_composite_alarms(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct albd_config *cfg = obj;
	int n = cfg_list_length(c, s);

	if (n <= 0)
		return n;
	if (!(cfg->composite_alarms = cfg_zalloc(c, (size_t)n, sizeof *cfg->composite_alarms)))
		return -1;
	cfg->ncomposite_alarms = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		struct cfg_composite_alarm *a = &cfg->composite_alarms[i];
		int dup;

		a->line = (int)cfg_line_of(e);
		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { name = \"...\"; rule = \"...\"; }");
		if (cfg_apply_defaults(c, composite_keys, a) < 0 || cfg_parse_group(c, e, composite_keys, a) < 0)
			return -1;
		if ((dup = alarm_defined(cfg, a->name, cfg->nalarms, (size_t)i)))
			return cfg_fail(c, config_setting_get_member(e, "name"),
					"duplicate alarm name \"%s\" (first defined at line %d)", a->name, dup);
	}
	return 0;
}

static void free_dims(struct cfg_dim *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++) {
		free(d[i].name);
		free(d[i].value);
	}
	free(d);
}

void cfg_free_alarm(struct cfg_alarm *a)
{
	free(a->name);
	free(a->description);
	free(a->namespace);
	free(a->metric);
	free_dims(a->dims, a->ndims);
	free(a->statistic);
	free(a->extended_statistic);
	for (size_t i = 0; a->metrics && i < a->nmetrics; i++) {
		struct cfg_alarm_query *q = &a->metrics[i];

		free(q->id);
		free(q->expression);
		free(q->label);
		free(q->namespace);
		free(q->metric);
		free_dims(q->dims, q->ndims);
		free(q->stat);
		free(q->unit);
	}
	free(a->metrics);
	free(a->comparison);
	free(a->treat_missing_data);
	cfg_free_strings(a->alarm_actions, a->nalarm_actions);
	cfg_free_strings(a->ok_actions, a->nok_actions);
	cfg_free_strings(a->insufficient_data_actions, a->ninsufficient_data_actions);
}

void cfg_free_composite_alarm(struct cfg_composite_alarm *a)
{
	free(a->name);
	free(a->description);
	free(a->rule);
	cfg_free_strings(a->alarm_actions, a->nalarm_actions);
	cfg_free_strings(a->ok_actions, a->nok_actions);
	cfg_free_strings(a->insufficient_data_actions, a->ninsufficient_data_actions);
}
