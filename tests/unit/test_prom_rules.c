/* test_prom_rules.c - src/control/prom_rules.c: alarms as Prometheus
 * alerting rules. Every statistic of every kind of metric, M out of N,
 * treat_missing_data, metric math, composite alarms, what is skipped and
 * what is an error, and the escaping of names and descriptions.
 *
 * The configs are built by hand (struct albd_config), as config_load()
 * would leave them. With PROM_RULES_DUMP=DIR set, every file made is also
 * written to DIR/PID-NNN.yml, for promtool check rules (the
 * end-to-end test tests/e2e/test_53_export_rules.py does that through
 * the binary). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/prom_rules.h"

#define PATH "/etc/albd/albd.conf"

static char *text, *notes;
static char err[512];
static int dumps;

static void dump(void)
{
	const char *dir = getenv("PROM_RULES_DUMP");
	char path[512];

	if (!dir || !text)
		return;
	snprintf(path, sizeof(path), "%s/%d-%03d.yml", dir, (int)getpid(), dumps++);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Export CFG: 0 or -1 as prom_rules_export(). */
static int run(struct albd_config *cfg)
{
	free(text);
	free(notes);
	text = notes = NULL;
	err[0] = '\0';
	cfg->path = PATH;
	int r = prom_rules_export(cfg, &text, &notes, err, sizeof(err));
	if (r == 0) {
		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_nonnull(notes);
		dump();
	} else {
		ck_assert_ptr_null(text);
		ck_assert_ptr_null(notes);
	}
	return r;
}

static int run1(struct cfg_alarm *a)
{
	struct albd_config cfg = { .alarms = a, .nalarms = 1 };
	return run(&cfg);
}

/* The expr of the rule whose alert line is ALERT (as written: quoted), its
 * YAML single quotes undone; NULL when there is no such rule. */
static const char *expr_of(const char *alert)
{
	static char out[8192];
	char key[600];

	snprintf(key, sizeof(key), "      - alert: %s\n        expr: '", alert);
	const char *p = strstr(text, key);
	if (!p)
		return NULL;
	p += strlen(key);
	size_t n = 0;
	for (; *p && n + 1 < sizeof(out); p++) {
		if (*p == '\'') {
			if (p[1] != '\'')
				break;
			p++;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

/* A metric alarm on METRIC: one period of 60 s, "> 0", the given
 * statistic (a pNN goes to extended_statistic). */
static struct cfg_alarm simple(const char *metric, const char *stat, struct cfg_dim *dims, size_t ndims)
{
	struct cfg_alarm a = {
		.name = "a",
		.metric = (char *)metric,
		.dims = dims,
		.ndims = ndims,
		.period = 60,
		.evaluation_periods = 1,
		.comparison = "GreaterThanThreshold",
		.threshold = 0,
		.actions_enabled = 1,
		.line = 7,
	};
	if (stat[0] == 'p' || (stat[0] >= 'a' && stat[0] <= 'z'))
		a.extended_statistic = (char *)stat;
	else
		a.statistic = (char *)stat;
	return a;
}

static struct cfg_dim tg_web[] = { { "TargetGroup", "web" } };
static struct cfg_dim target_1[] = { { "TargetGroup", "web" }, { "Target", "10.0.0.1:80" } };
static struct cfg_dim lb_1[] = { { "LoadBalancer", "lb1" } };
static struct cfg_dim lb_tg[] = { { "LoadBalancer", "lb1" }, { "TargetGroup", "web" } };
static struct cfg_dim cert_1[] = { { "Listener", "https" }, { "Certificate", "/etc/albd/a.pem" } };

/* ------------------------------------------------------------ the whole file */

START_TEST(design_example)
{
	/* the alarm of DESIGN.md, rule for rule */
	struct cfg_alarm a = {
		.name = "web-5xx",
		.description = "Targets of web answer 5XX",
		.metric = "HTTPCode_Target_5XX_Count",
		.dims = tg_web,
		.ndims = 1,
		.statistic = "Sum",
		.period = 60,
		.evaluation_periods = 3,
		.datapoints_to_alarm = 2,
		.comparison = "GreaterThanOrEqualToThreshold",
		.threshold = 10.0,
		.treat_missing_data = "notBreaching",
		.actions_enabled = 1,
		.line = 12,
	};
	ck_assert_int_eq(run1(&a), 0);
	ck_assert_str_eq(notes, "");
	ck_assert_str_eq(
		text,
		"# Prometheus alerting rules: the alarms of /etc/albd/albd.conf,\n"
		"# written by albd --export-prometheus-rules (see albd(8)).\n"
		"# Each alert fires, per load balancer, while its alarm would be in ALARM.\n"
		"groups:\n"
		"  - name: albd\n"
		"    rules:\n"
		"      # web-5xx: Sum of HTTPCode_Target_5XX_Count {TargetGroup=web} over 60 s >= 10 in 2 out of 3 periods\n"
		"      - alert: \"web-5xx\"\n"
		"        expr: 'count_over_time((sum by (load_balancer) (increase(albd_target_http_5xx_total"
		"{target_group=\"web\",target=\"\"}[1m])) >= 10)[2m59s999ms:1m]) >= 2'\n"
		"        for: 0s\n"
		"        labels:\n"
		"          alarm_name: \"web-5xx\"\n"
		"        annotations:\n"
		"          summary: \"Targets of web answer 5XX\"\n"
		"          description: \"Targets of web answer 5XX\\n\\nAlarm web-5xx: Sum of HTTPCode_Target_5XX_Count "
		"{TargetGroup=web} over 60 s >= 10 in 2 out of 3 periods.\\nLoad balancer: {{ $labels.load_balancer }}.\"\n");
}
END_TEST

START_TEST(empty)
{
	struct albd_config cfg = { 0 };
	ck_assert_int_eq(run(&cfg), 0);
	ck_assert_str_eq(notes, "");
	ck_assert_ptr_nonnull(strstr(text, "groups:\n  - name: albd\n    rules: []\n"));
	ck_assert_ptr_null(strstr(text, "alert:"));
}
END_TEST

/* ------------------------------------------------------------ statistics */

static const struct stat_case {
	const char *metric, *stat;
	struct cfg_dim *dims;
	size_t ndims;
	const char *value;   /* the PromQL of the value */
} stat_cases[] = {
	/* counts */
	{ "RequestCount", "Sum", NULL, 0,
	  "sum by (load_balancer) (increase(albd_requests_total{target_group=\"\",target=\"\"}[1m]))" },
	{ "RequestCount", "Sum", tg_web, 1,
	  "sum by (load_balancer) (increase(albd_requests_total{target_group=\"web\",target=\"\"}[1m]))" },
	{ "RequestCount", "Sum", target_1, 2,
	  "sum by (load_balancer) (increase(albd_requests_total{target_group=\"web\",target=\"10.0.0.1:80\"}[1m]))" },
	{ "RequestCount", "Sum", lb_1, 1,
	  "sum by (load_balancer) (increase(albd_requests_total{load_balancer=\"lb1\",target_group=\"\",target=\"\"}[1m]))" },
	{ "RequestCount", "Sum", lb_tg, 2,
	  "sum by (load_balancer) (increase(albd_requests_total{load_balancer=\"lb1\",target_group=\"web\",target=\"\"}"
	  "[1m]))" },
	/* event counts: every event a sample of 1 (ALB's "Minimum, Maximum,
	 * and Average all return 1"), 0 in a quiet period */
	{ "HTTPCode_Target_5XX_Count", "Average", tg_web, 1,
	  "(sum by (load_balancer) (increase(albd_target_http_5xx_total{target_group=\"web\",target=\"\"}[1m])) > bool 0)" },
	{ "HTTPCode_ELB_5XX_Count", "Maximum", NULL, 0,
	  "(sum by (load_balancer) (increase(albd_elb_http_5xx_total[1m])) > bool 0)" },
	{ "HTTPCode_ELB_502_Count", "Minimum", lb_1, 1,
	  "(sum by (load_balancer) (increase(albd_elb_http_502_total{load_balancer=\"lb1\"}[1m])) > bool 0)" },
	{ "NewConnectionCount", "SampleCount", NULL, 0,
	  "clamp_min(sum by (load_balancer) (increase(albd_new_connections_total[1m])), 1)" },
	/* ProcessedBytes is one sample a second */
	{ "ProcessedBytes", "Average", NULL, 0,
	  "avg by (load_balancer) (rate(albd_processed_bytes_total[1m]))" },
	{ "ProcessedBytes", "Maximum", NULL, 0,
	  "max by (load_balancer) (max_over_time(irate(albd_processed_bytes_total[5m])[1m:]))" },
	{ "RetriedRequestCount", "Sum", NULL, 0,
	  "sum by (load_balancer) (increase(albd_retried_requests_total{target_group=\"\"}[1m]))" },
	{ "TargetConnectionErrorCount", "Sum", target_1, 2,
	  "sum by (load_balancer) (increase(albd_target_connection_errors_total{target_group=\"web\","
	  "target=\"10.0.0.1:80\"}[1m]))" },
	{ "HealthCheckFailedCount", "Sum", target_1, 2,
	  "sum by (load_balancer) (increase(albd_health_checks_failed_total{target_group=\"web\","
	  "target=\"10.0.0.1:80\"}[1m]))" },
	{ "FailOpenRequestCount", "Sum", tg_web, 1,
	  "sum by (load_balancer) (increase(albd_fail_open_requests_total{target_group=\"web\"}[1m]))" },
	/* levels and gauges */
	{ "HealthyHostCount", "Minimum", tg_web, 1,
	  "min by (load_balancer) (min_over_time(albd_healthy_hosts{target_group=\"web\"}[1m]))" },
	{ "HealthyHostCount", "Average", tg_web, 1,
	  "avg by (load_balancer) (avg_over_time(albd_healthy_hosts{target_group=\"web\"}[1m]))" },
	{ "UnHealthyHostCount", "Maximum", lb_tg, 2,
	  "max by (load_balancer) (max_over_time(albd_unhealthy_hosts{load_balancer=\"lb1\",target_group=\"web\"}[1m]))" },
	{ "UnHealthyHostCount", "Sum", tg_web, 1,
	  "60 * sum by (load_balancer) (avg_over_time(albd_unhealthy_hosts{target_group=\"web\"}[1m]))" },
	{ "FailOpen", "Maximum", tg_web, 1,
	  "max by (load_balancer) (max_over_time(albd_fail_open{target_group=\"web\"}[1m]))" },
	{ "ActiveConnectionCount", "Maximum", NULL, 0,
	  "max by (load_balancer) (max_over_time(albd_active_connections[1m]))" },
	{ "CertificateDaysToExpiry", "Minimum", cert_1, 2,
	  "min by (load_balancer) (floor((min_over_time(albd_certificate_expiry_timestamp_seconds{listener=\"https\","
	  "certificate=\"/etc/albd/a.pem\"}[1m]) - time()) / 86400))" },
	/* the latency histogram */
	{ "TargetResponseTime", "p99", tg_web, 1,
	  "histogram_quantile(0.99, sum by (load_balancer, le) (rate(albd_target_response_time_seconds_bucket"
	  "{target_group=\"web\",target=\"\"}[1m])))" },
	{ "TargetResponseTime", "p99.9", NULL, 0,
	  "histogram_quantile(0.999, sum by (load_balancer, le) (rate(albd_target_response_time_seconds_bucket"
	  "{target_group=\"\",target=\"\"}[1m])))" },
	{ "TargetResponseTime", "p50", target_1, 2,
	  "histogram_quantile(0.5, sum by (load_balancer, le) (rate(albd_target_response_time_seconds_bucket"
	  "{target_group=\"web\",target=\"10.0.0.1:80\"}[1m])))" },
	{ "TargetResponseTime", "p100", tg_web, 1,
	  "histogram_quantile(1, sum by (load_balancer, le) (rate(albd_target_response_time_seconds_bucket"
	  "{target_group=\"web\",target=\"\"}[1m])))" },
	{ "TargetResponseTime", "Maximum", tg_web, 1,
	  "histogram_quantile(1, sum by (load_balancer, le) (rate(albd_target_response_time_seconds_bucket"
	  "{target_group=\"web\",target=\"\"}[1m])))" },
	{ "TargetResponseTime", "Average", tg_web, 1,
	  "sum by (load_balancer) (rate(albd_target_response_time_seconds_sum{target_group=\"web\",target=\"\"}[1m])) / "
	  "sum by (load_balancer) (rate(albd_target_response_time_seconds_count{target_group=\"web\",target=\"\"}[1m]))" },
	{ "TargetResponseTime", "SampleCount", tg_web, 1,
	  "sum by (load_balancer) (increase(albd_target_response_time_seconds_count{target_group=\"web\",target=\"\"}"
	  "[1m]))" },
	{ "TargetResponseTime", "Sum", NULL, 0,
	  "sum by (load_balancer) (increase(albd_target_response_time_seconds_sum{target_group=\"\",target=\"\"}[1m]))" },
	/* derived */
	{ "RequestCountPerTarget", "Sum", tg_web, 1,
	  "sum by (load_balancer) (increase(albd_requests_total{target_group=\"web\",target=\"\"}[1m])) / "
	  "clamp_min(avg by (load_balancer) (avg_over_time(albd_healthy_hosts{target_group=\"web\"}[1m])), 1)" },
};

START_TEST(statistics)
{
	const struct stat_case *sc = &stat_cases[_i];
	struct cfg_alarm a = simple(sc->metric, sc->stat, sc->dims, sc->ndims);
	char want[4096];

	ck_assert_int_eq(run1(&a), 0);
	ck_assert_msg(strcmp(notes, "") == 0, "%s %s: %s", sc->metric, sc->stat, notes);
	snprintf(want, sizeof(want), "count_over_time((%s > 0)[59s999ms:1m]) >= 1", sc->value);
	ck_assert_str_eq(expr_of("\"a\""), want);
}
END_TEST

/* ------------------------------------------------------------ periods, comparisons */

START_TEST(periods_and_m_of_n)
{
	static const struct {
		unsigned period, n, m;
		const char *window, *range, *step, *tail;
	} cases[] = {
		{ 60, 1, 0, "1m", "59s999ms", "1m", ">= 1" },
		{ 60, 5, 0, "1m", "4m59s999ms", "1m", ">= 5" },
		{ 60, 3, 1, "1m", "2m59s999ms", "1m", ">= 1" },
		{ 10, 6, 3, "10s", "59s999ms", "10s", ">= 3" },
		{ 30, 2, 2, "30s", "59s999ms", "30s", ">= 2" },
		{ 300, 3, 2, "5m", "14m59s999ms", "5m", ">= 2" },
		{ 3600, 24, 12, "1h", "23h59m59s999ms", "1h", ">= 12" },
		{ 120, 1, 1, "2m", "1m59s999ms", "2m", ">= 1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_alarm a = simple("RequestCount", "Sum", tg_web, 1);
		char want[1024];
		a.period = cases[i].period;
		a.evaluation_periods = cases[i].n;
		a.datapoints_to_alarm = cases[i].m;
		ck_assert_int_eq(run1(&a), 0);
		snprintf(want, sizeof(want),
			 "count_over_time((sum by (load_balancer) (increase(albd_requests_total{target_group=\"web\","
			 "target=\"\"}[%s])) > 0)[%s:%s]) %s",
			 cases[i].window, cases[i].range, cases[i].step, cases[i].tail);
		ck_assert_str_eq(expr_of("\"a\""), want);
	}
}
END_TEST

START_TEST(comparisons_and_thresholds)
{
	static const struct {
		const char *comparison;
		double threshold;
		const char *want;
	} cases[] = {
		{ "GreaterThanThreshold", 10, "> 10" },
		{ "GreaterThanOrEqualToThreshold", 0.5, ">= 0.5" },
		{ "LessThanThreshold", 1, "< 1" },
		{ "LessThanOrEqualToThreshold", -2.25, "<= -2.25" },
		{ "GreaterThanThreshold", 0.1, "> 0.1" },
		{ "GreaterThanThreshold", 1e-05, "> 1e-05" },
		{ "GreaterThanThreshold", 1e20, "> 1e+20" },
		{ "GreaterThanThreshold", 1.0 / 3, "> 0.33333333333333331" },
		{ "LessThanThreshold", -0.0, "< 0" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_alarm a = simple("HealthyHostCount", "Minimum", tg_web, 1);
		char want[512];
		a.comparison = (char *)cases[i].comparison;
		a.threshold = cases[i].threshold;
		ck_assert_int_eq(run1(&a), 0);
		snprintf(want, sizeof(want),
			 "count_over_time((min by (load_balancer) (min_over_time(albd_healthy_hosts{target_group=\"web\"}"
			 "[1m])) %s)[59s999ms:1m]) >= 1",
			 cases[i].want);
		ck_assert_str_eq(expr_of("\"a\""), want);
	}
}
END_TEST

START_TEST(missing_data)
{
	/* missing, ignore and notBreaching: a period without a value does not
	 * breach; breaching: at most N - M periods may not breach */
	const char *treats[] = { NULL, "missing", "ignore", "notBreaching" };
	for (size_t i = 0; i < 4; i++) {
		struct cfg_alarm a = simple("HealthyHostCount", "Minimum", tg_web, 1);
		a.comparison = "LessThanThreshold";
		a.threshold = 2;
		a.evaluation_periods = 3;
		a.datapoints_to_alarm = 2;
		a.treat_missing_data = (char *)treats[i];
		ck_assert_int_eq(run1(&a), 0);
		ck_assert_str_eq(expr_of("\"a\""),
				 "count_over_time((min by (load_balancer) (min_over_time(albd_healthy_hosts{target_group="
				 "\"web\"}[1m])) < 2)[2m59s999ms:1m]) >= 2");
		ck_assert_ptr_nonnull(strstr(text, i == 3 ? "in 2 out of 3 periods\n" : "exported as notBreaching\n"));
		/* the remark is the comment's, not the alert's */
		ck_assert_ptr_nonnull(strstr(text, "          summary: \"a: Minimum of HealthyHostCount {TargetGroup=web} "
						   "over 60 s < 2 in 2 out of 3 periods\"\n"));
		ck_assert_ptr_null(strstr(strstr(text, "- alert:"), "notBreaching"));
	}
	struct cfg_alarm a = simple("HealthyHostCount", "Minimum", tg_web, 1);
	a.comparison = "LessThanThreshold";
	a.threshold = 2;
	a.evaluation_periods = 3;
	a.datapoints_to_alarm = 2;
	a.treat_missing_data = "breaching";
	ck_assert_int_eq(run1(&a), 0);
	ck_assert_str_eq(expr_of("\"a\""),
			 "(count_over_time((min by (load_balancer) (min_over_time(albd_healthy_hosts{target_group="
			 "\"web\"}[1m])) >= 2)[2m59s999ms:1m]) or (group by (load_balancer) (albd_requests_total) * 0)) "
			 "<= 1");
	ck_assert_ptr_nonnull(strstr(text, "periods, missing data breaching\n"));
	/* with a LoadBalancer dimension, only that load balancer */
	a.dims = lb_tg;
	a.ndims = 2;
	a.comparison = "GreaterThanThreshold";
	a.datapoints_to_alarm = 0;
	ck_assert_int_eq(run1(&a), 0);
	ck_assert_str_eq(expr_of("\"a\""),
			 "(count_over_time((min by (load_balancer) (min_over_time(albd_healthy_hosts{load_balancer="
			 "\"lb1\",target_group=\"web\"}[1m])) <= 2)[2m59s999ms:1m]) or (group by (load_balancer) "
			 "(albd_requests_total{load_balancer=\"lb1\"}) * 0)) <= 0");
}
END_TEST

/* ------------------------------------------------------------ not exported */

static struct cfg_dim bad_dim[] = { { "AvailabilityZone", "a" } };
static struct cfg_dim target_only[] = { { "Target", "10.0.0.1:80" } };
static struct cfg_dim queue[] = { { "Queue", "jobs" } };

START_TEST(skipped)
{
	static const struct {
		const char *ns, *metric, *stat;
		struct cfg_dim *dims;
		size_t ndims;
		const char *why;
	} cases[] = {
		{ "MyApp", "QueueDepth", "Average", queue, 1,
		  "QueueDepth is in the custom namespace MyApp: metrics sent with PutMetricData are not on /metrics" },
		{ NULL, "CPUUtilization", "Average", NULL, 0, "albd publishes no metric CPUUtilization" },
		{ NULL, "RequestCount", "Sum", bad_dim, 1, "albd publishes RequestCount with no dimension AvailabilityZone" },
		{ NULL, "RequestCount", "Sum", target_only, 1,
		  "albd publishes RequestCount with the dimensions {LoadBalancer}, {LoadBalancer, TargetGroup}, "
		  "{LoadBalancer, TargetGroup, Target} only" },
		{ NULL, "HealthyHostCount", "Minimum", NULL, 0,
		  "albd publishes HealthyHostCount with the dimensions {LoadBalancer, TargetGroup} only" },
		{ NULL, "ProcessedBytes", "SampleCount", NULL, 0,
		  "SampleCount of ProcessedBytes counts albd's one-second datapoints, which Prometheus does not see" },
		{ NULL, "HealthyHostCount", "SampleCount", tg_web, 1,
		  "SampleCount of HealthyHostCount counts albd's one-second datapoints, which Prometheus does not see" },
		{ NULL, "RequestCount", "p99", NULL, 0,
		  "p99 of RequestCount has no PromQL equivalent: /metrics has its total only" },
		{ NULL, "HealthyHostCount", "p10", tg_web, 1, "p10 of HealthyHostCount has no PromQL equivalent" },
		{ NULL, "TargetResponseTime", "Minimum", NULL, 0,
		  "Minimum of TargetResponseTime has no PromQL equivalent: the histogram's lowest bucket starts at 0" },
		{ NULL, "TargetResponseTime", "tm99", NULL, 0, "tm99 of TargetResponseTime has no PromQL equivalent" },
		{ NULL, "TargetResponseTime", "IQM", NULL, 0, "IQM of TargetResponseTime has no PromQL equivalent" },
		{ NULL, "RequestCountPerTarget", "Average", tg_web, 1,
		  "Average of RequestCountPerTarget has no PromQL equivalent (its Sum has)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_alarm a = simple(cases[i].metric, cases[i].stat, cases[i].dims, cases[i].ndims);
		char want[1024];
		a.namespace = (char *)cases[i].ns;
		a.name = "x: \"y\"";
		ck_assert_int_eq(run1(&a), 0);
		snprintf(want, sizeof(want), PATH ":7: alarm \"x: \\\"y\\\"\" not exported: %s\n", cases[i].why);
		ck_assert_str_eq(notes, want);
		snprintf(want, sizeof(want), "    rules: []\n      # not exported: alarm \"x: \\\"y\\\"\": %s\n",
			 cases[i].why);
		ck_assert_ptr_nonnull(strstr(text, want));
		ck_assert_ptr_null(strstr(text, "alert:"));
	}
}
END_TEST

START_TEST(skipped_among_others)
{
	struct cfg_alarm a[3] = { simple("RequestCount", "Sum", NULL, 0), simple("QueueDepth", "Sum", queue, 1),
				  simple("RequestCount", "Sum", tg_web, 1) };
	a[0].name = "one";
	a[1].name = "two";
	a[1].namespace = "MyApp";
	a[1].line = 20;
	a[2].name = "three";
	struct albd_config cfg = { .alarms = a, .nalarms = 3 };
	ck_assert_int_eq(run(&cfg), 0);
	ck_assert_str_eq(notes, PATH ":20: alarm \"two\" not exported: QueueDepth is in the custom namespace MyApp: "
				"metrics sent with PutMetricData are not on /metrics\n");
	const char *p1 = strstr(text, "- alert: \"one\""), *p2 = strstr(text, "# not exported: alarm \"two\""),
		   *p3 = strstr(text, "- alert: \"three\"");
	ck_assert(p1 && p2 && p3 && p1 < p2 && p2 < p3);
	ck_assert_ptr_nonnull(strstr(text, "    rules:\n      # one:"));
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(errors)
{
	struct cfg_alarm a = simple("RequestCount", "Sum", NULL, 0);
	a.name = "bad";
	a.comparison = "GreaterThan";
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":7: alarm \"bad\": comparison: \"GreaterThan\" is not GreaterThanThreshold, "
			      "GreaterThanOrEqualToThreshold, LessThanThreshold or LessThanOrEqualToThreshold");

	a = simple("RequestCount", "Sum", NULL, 0);
	a.treat_missing_data = "breach";
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":7: alarm \"a\": treat_missing_data: \"breach\" is not missing, ignore, breaching "
			      "or notBreaching");

	a = simple("RequestCount", "Avg", NULL, 0);
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":7: alarm \"a\": RequestCount: unknown statistic \"Avg\" (SampleCount, Sum, "
			      "Average, Minimum, Maximum or pNN)");

	a = simple("TargetResponseTime", "p101", NULL, 0);
	ck_assert_int_eq(run1(&a), -1);
	a = simple("TargetResponseTime", "p99.", NULL, 0);
	ck_assert_int_eq(run1(&a), -1);

	a = simple("RequestCount", "Sum", NULL, 0);
	a.evaluation_periods = 2;
	a.datapoints_to_alarm = 3;
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":7: alarm \"a\": datapoints_to_alarm: 3 is more than evaluation_periods (2)");

	a = simple("RequestCount", "Sum", NULL, 0);
	a.extended_statistic = "p99";
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":7: alarm \"a\": statistic and extended_statistic are both set");

	a = simple("RequestCount", "Sum", NULL, 0);
	a.statistic = NULL;
	ck_assert_int_eq(run1(&a), -1);

	a = simple("RequestCount", "Sum", NULL, 0);
	a.period = 0;
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":7: alarm \"a\": RequestCount: no period");

	/* an error in the second alarm names that alarm, after a skipped one */
	struct cfg_alarm two[2] = { simple("QueueDepth", "Sum", queue, 1), simple("RequestCount", "Sum", NULL, 0) };
	two[0].namespace = "MyApp";
	two[1].name = "second";
	two[1].line = 30;
	two[1].evaluation_periods = 0;
	struct albd_config cfg = { .alarms = two, .nalarms = 2 };
	ck_assert_int_eq(run(&cfg), -1);
	ck_assert_str_eq(err, PATH ":30: alarm \"second\": evaluation_periods: must be at least 1");

	/* prom_rules_print: the error on ERRF, nothing on OUT, status 1 */
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;
	FILE *o = open_memstream(&obuf, &olen), *e = open_memstream(&ebuf, &elen);
	cfg.path = PATH;
	ck_assert_int_eq(prom_rules_print(&cfg, o, e), 1);
	fclose(o);
	fclose(e);
	ck_assert_str_eq(obuf, "");
	ck_assert_str_eq(ebuf, PATH ":30: alarm \"second\": evaluation_periods: must be at least 1\n");
	free(obuf);
	free(ebuf);

	/* and on success: the rules on OUT, the notes on ERRF, status 0 */
	two[1].evaluation_periods = 1;
	o = open_memstream(&obuf, &olen);
	e = open_memstream(&ebuf, &elen);
	ck_assert_int_eq(prom_rules_print(&cfg, o, e), 0);
	fclose(o);
	fclose(e);
	ck_assert_ptr_nonnull(strstr(obuf, "- alert: \"second\""));
	ck_assert_ptr_nonnull(strstr(ebuf, PATH ":7: alarm \"a\" not exported: QueueDepth is in the custom namespace"));
	free(obuf);
	free(ebuf);
}
END_TEST

/* ------------------------------------------------------------ metric math */

static struct cfg_alarm_query rate_queries[] = {
	{ .id = "m1", .metric = "RequestCount", .dims = tg_web, .ndims = 1, .stat = "Sum", .period = 60 },
	{ .id = "m2", .metric = "HTTPCode_Target_5XX_Count", .dims = tg_web, .ndims = 1, .stat = "Sum", .period = 60 },
	{ .id = "e1", .expression = "100 * m2 / m1", .label = "5XX rate", .return_data = 1 },
};

#define M1 "(sum by (load_balancer) (increase(albd_requests_total{target_group=\"web\",target=\"\"}[1m])))"
#define M2 "(sum by (load_balancer) (increase(albd_target_http_5xx_total{target_group=\"web\",target=\"\"}[1m])))"

static struct cfg_alarm math_alarm(struct cfg_alarm_query *q, size_t nq)
{
	struct cfg_alarm a = {
		.name = "rate",
		.metrics = q,
		.nmetrics = nq,
		.evaluation_periods = 2,
		.comparison = "GreaterThanThreshold",
		.threshold = 5,
		.line = 9,
	};
	return a;
}

START_TEST(math_rate)
{
	struct cfg_alarm a = math_alarm(rate_queries, 3);

	/* no period on the alarm: its metrics' */
	ck_assert_int_eq(run1(&a), 0);
	ck_assert_str_eq(notes, "");
	ck_assert_str_eq(expr_of("\"rate\""),
			 "count_over_time((((100 * " M2 ") / (" M1 " != 0)) > 5)[1m59s999ms:1m]) >= 2");
	ck_assert_ptr_nonnull(
		strstr(text, "# rate: the expression \\\"100 * m2 / m1\\\" over 60 s > 5 in 2 out of 2 periods; "
				 "treat_missing_data missing: exported as notBreaching\n"));
}
END_TEST

START_TEST(math_forms)
{
	static const struct {
		const char *expression, *value;
	} cases[] = {
		{ "m1", M1 },
		{ "m1 + m2", "(" M1 " + " M2 ")" },
		{ "m1 - m2 - m2", "((" M1 " - " M2 ") - " M2 ")" },
		{ "m1 - (m2 - m2)", "(" M1 " - (" M2 " - " M2 "))" },
		{ "m1 * (2 + 3)", "(" M1 " * 5)" },
		{ "(m1 + m2) / 60", "((" M1 " + " M2 ") / 60)" },
		{ "1 / m1", "(1 / (" M1 " != 0))" },
		{ "-m1", "(-" M1 ")" },
		{ "- -m1", "(-(-" M1 "))" },
		{ "(-m1) ^ 2", "((-" M1 ") ^ 2)" },
		{ "-m1 ^ 2", "(-(" M1 " ^ 2))" },
		{ "-2 * m1", "(-2 * " M1 ")" },
		{ "m1 ^ 2", "(" M1 " ^ 2)" },
		{ "2 ^ -1 * m1", "(0.5 * " M1 ")" },
		{ "m1 / 0.5e1", "(" M1 " / 5)" },
		{ "  m2/m1*100  ", "((" M2 " / (" M1 " != 0)) * 100)" },
		{ "e2 * 2", "((" M1 " + 1) * 2)" },
	};
	struct cfg_alarm_query q[4] = { rate_queries[0], rate_queries[1],
					{ .id = "e1", .return_data = 1 },
					{ .id = "e2", .expression = "m1 + 1" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_alarm a = math_alarm(q, 4);
		char want[4096];
		q[2].expression = (char *)cases[i].expression;
		a.period = 60;
		a.evaluation_periods = 1;
		ck_assert_int_eq(run1(&a), 0);
		ck_assert_msg(strcmp(notes, "") == 0, "%s: %s", cases[i].expression, notes);
		snprintf(want, sizeof(want), "count_over_time((%s > 5)[59s999ms:1m]) >= 1", cases[i].value);
		ck_assert_str_eq(expr_of("\"rate\""), want);
	}
}
END_TEST

START_TEST(math_periods)
{
	/* a query's own period wins over the alarm's */
	struct cfg_alarm_query q[2] = {
		{ .id = "m1", .metric = "RequestCount", .stat = "Sum", .period = 300 },
		{ .id = "e1", .expression = "m1 / 300", .return_data = 1 },
	};
	struct cfg_alarm a = math_alarm(q, 2);
	a.period = 60;
	a.evaluation_periods = 1;
	ck_assert_int_eq(run1(&a), 0);
	ck_assert_str_eq(expr_of("\"rate\""), "count_over_time((((sum by (load_balancer) (increase(albd_requests_total"
					      "{target_group=\"\",target=\"\"}[5m]))) / 300) > 5)[59s999ms:1m]) >= 1");
	/* a metric query with return_data: the metric itself */
	q[0].return_data = 1;
	q[1].return_data = 0;
	q[0].period = 0;
	ck_assert_int_eq(run1(&a), 0);
	ck_assert_str_eq(expr_of("\"rate\""), "count_over_time((sum by (load_balancer) (increase(albd_requests_total"
					      "{target_group=\"\",target=\"\"}[1m])) > 5)[59s999ms:1m]) >= 1");
	ck_assert_ptr_nonnull(strstr(text, "# rate: Sum of RequestCount over 60 s > 5 in 1 out of 1 periods; treat_missing_data "
					   "missing: exported as notBreaching\n"));
}
END_TEST

START_TEST(math_not_exported)
{
	static const struct {
		const char *expression, *why;
	} cases[] = {
		{ "IF(m1 > 0, m2)", "the expression \"IF(m1 > 0, m2)\" uses more than numbers, ids, + - * / ^ and "
				    "parentheses (at column 1)" },
		{ "SUM(METRICS())", "the expression \"SUM(METRICS())\" uses more than numbers, ids, + - * / ^ and "
				    "parentheses (at column 1)" },
		{ "m1 > 5", "the expression \"m1 > 5\" uses more than numbers, ids, + - * / ^ and parentheses (at "
			    "column 4)" },
		{ "m1 AND m2", "the expression \"m1 AND m2\" uses more than numbers, ids, + - * / ^ and parentheses (at "
			       "column 4)" },
		{ "FILL(m1, 0)", "the expression \"FILL(m1, 0)\" uses more than numbers, ids, + - * / ^ and parentheses "
				 "(at column 1)" },
		{ "m1 / 0", "the expression \"m1 / 0\" divides by 0" },
		{ "m1 / (1 - 1)", "the expression \"m1 / (1 - 1)\" divides by 0" },
		{ "m1 * (1 / 0)", "the expression \"m1 * (1 / 0)\" divides by 0 or overflows in its constants" },
		{ "2 + 3", "the expression \"2 + 3\" uses no metric" },
		{ "m3 * 2", "QueueDepth is in the custom namespace MyApp: metrics sent with PutMetricData are not on "
			    "/metrics" },
	};
	struct cfg_alarm_query q[4] = { rate_queries[0], rate_queries[1],
					{ .id = "e1", .return_data = 1 },
					{ .id = "m3", .namespace = "MyApp", .metric = "QueueDepth", .dims = queue,
					  .ndims = 1, .stat = "Maximum" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_alarm a = math_alarm(q, 4);
		char want[1024];
		q[2].expression = (char *)cases[i].expression;
		ck_assert_int_eq(run1(&a), 0);
		snprintf(want, sizeof(want), PATH ":9: alarm \"rate\" not exported: %s\n", cases[i].why);
		ck_assert_str_eq(notes, want);
		ck_assert_ptr_null(strstr(text, "alert:"));
	}
}
END_TEST

START_TEST(math_errors)
{
	struct cfg_alarm_query q[3] = { rate_queries[0], rate_queries[1], { .id = "e1", .return_data = 1 } };
	struct cfg_alarm a = math_alarm(q, 3);

	q[2].expression = "m1 +";
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_ptr_nonnull(strstr(err, PATH ":9: alarm \"rate\": query e1: expression \"m1 +\": "));
	q[2].expression = "m1 + m9";
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":9: alarm \"rate\": the expression \"m1 + m9\" refers to an unknown id m9");
	q[2].expression = "m1";
	q[2].return_data = 0;
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":9: alarm \"rate\": metrics: no query has return_data");
	q[2].return_data = 1;
	q[1].return_data = 1;
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_str_eq(err, PATH ":9: alarm \"rate\": metrics: more than one query has return_data");
	q[1].return_data = 0;
	/* expressions that refer to each other */
	struct cfg_alarm_query cyc[2] = { { .id = "e1", .expression = "e2 + 1", .return_data = 1 },
					  { .id = "e2", .expression = "e1 + 1" } };
	a = math_alarm(cyc, 2);
	a.period = 60;
	ck_assert_int_eq(run1(&a), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 32 deep (a cycle?)"));
}
END_TEST

/* ------------------------------------------------------------ escaping */

START_TEST(escaping)
{
	struct cfg_dim odd[] = { { "TargetGroup", "we\"b\\1 'x' #2\n" } };
	struct cfg_alarm a = simple("RequestCount", "Sum", odd, 1);
	a.name = "web: \"5xx\" #1 {{x}} 'q'\t\x01\xff\xc2\x85\xe2\x80\xa8 é";
	a.description = "First line: \"quoted\" # not a comment {{ $value }}\nsecond line";
	ck_assert_int_eq(run1(&a), 0);

	const char *yname = "\"web: \\\"5xx\\\" #1 {{x}} 'q'\\t\\x01\xef\xbf\xbd\\x85\\u2028 é\"";
	const char *lname = "\"web: \\\"5xx\\\" #1 {{ \\\"{{\\\" }}x}} 'q'\\t\\x01\xef\xbf\xbd\\x85\\u2028 é\"";
	char want[2048];

	/* the alert's name, as is; the label, untemplated */
	snprintf(want, sizeof(want), "      - alert: %s\n", yname);
	ck_assert_ptr_nonnull(strstr(text, want));
	snprintf(want, sizeof(want), "          alarm_name: %s\n", lname);
	ck_assert_ptr_nonnull(strstr(text, want));
	/* the comment stays on one line */
	snprintf(want, sizeof(want), "      # %.*s: Sum of RequestCount {TargetGroup=we\\\"b\\\\1 'x' #2\\n} over 60 s",
		 (int)strlen(yname) - 2, yname + 1);
	ck_assert_ptr_nonnull(strstr(text, want));
	/* PromQL's string, in YAML single quotes */
	ck_assert_ptr_nonnull(strstr(text, "{target_group=\"we\\\"b\\\\1 ''x'' #2\\n\",target=\"\"}"));
	ck_assert_str_eq(expr_of(yname), "count_over_time((sum by (load_balancer) (increase(albd_requests_total"
					 "{target_group=\"we\\\"b\\\\1 'x' #2\\n\",target=\"\"}[1m])) > 0)[59s999ms:1m]) >= 1");
	/* annotations: the first line as summary, templates neutralised */
	ck_assert_ptr_nonnull(strstr(text, "          summary: \"First line: \\\"quoted\\\" # not a comment "
					   "{{ \\\"{{\\\" }} $value }}\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "          description: \"First line: \\\"quoted\\\" # not a comment "
					   "{{ \\\"{{\\\" }} $value }}\\nsecond line\\n\\nAlarm web: "));
	/* no line of the file but the expected ones */
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_msg(*p == '#' || !strncmp(p, "groups:", 7) || !strncmp(p, "  ", 2), "line %.*s",
			      (int)(nl - p), p);
		p = nl + 1;
	}

	/* in a composite alarm's ALERTS matcher, the name as PromQL */
	struct cfg_composite_alarm ca = { .name = "c", .rule = "ALARM(\"web: \\\"5xx\")", .line = 3 };
	a.name = "web: \\\"5xx";
	struct albd_config cfg = { .alarms = &a, .nalarms = 1, .composite_alarms = &ca, .ncomposite_alarms = 1 };
	ca.rule = "ALARM(x\\y)";
	a.name = "x\\y";
	ck_assert_int_eq(run(&cfg), 0);
	ck_assert_str_eq(expr_of("\"c\""), "group by (load_balancer) (ALERTS{alertname=\"x\\\\y\",alertstate=\"firing\"})");
}
END_TEST

/* ------------------------------------------------------------ composite alarms */

#define GA "group by (load_balancer) (ALERTS{alertname=\"a\",alertstate=\"firing\"})"
#define GB "group by (load_balancer) (ALERTS{alertname=\"b\",alertstate=\"firing\"})"
#define GC "group by (load_balancer) (ALERTS{alertname=\"c-1\",alertstate=\"firing\"})"
#define U "group by (load_balancer) (albd_requests_total)"

START_TEST(composite_rules)
{
	static const struct {
		const char *rule, *expr;
	} cases[] = {
		{ "ALARM(a)", GA },
		{ "ALARM(\"a\")", GA },
		{ "ALARM( a )", GA },
		{ "ALARM(arn:aws:cloudwatch:local:000000000000:alarm:a)", GA },
		{ "ALARM(\"a\") AND ALARM(b)", "(" GA " and " GB ")" },
		{ "ALARM(a) AND NOT ALARM(b)", "(" GA " unless " GB ")" },
		{ "ALARM(a) AND OK(b)", "(" GA " unless " GB ")" },
		{ "ALARM(a) OR ALARM(b) OR ALARM(\"c-1\")", "(" GA " or " GB " or " GC ")" },
		{ "NOT ALARM(a)", "(" U " unless " GA ")" },
		{ "OK(a)", "(" U " unless " GA ")" },
		{ "NOT NOT ALARM(a)", GA },
		{ "NOT OK(a)", GA },
		{ "NOT ALARM(a) AND NOT ALARM(b)", "(" U " unless (" GA " or " GB "))" },
		{ "NOT ALARM(a) OR ALARM(b)", "((" U " unless " GA ") or " GB ")" },
		{ "OK(a) OR OK(b)", "(" U " unless (" GA " and " GB "))" },
		{ "(ALARM(a) OR ALARM(b)) AND NOT ALARM(c-1)", "((" GA " or " GB ") unless " GC ")" },
		{ "ALARM(a) AND ALARM(b) OR ALARM(c-1)", "((" GA " and " GB ") or " GC ")" },
		{ "ALARM(a) AND (ALARM(b) OR ALARM(c-1))", "(" GA " and (" GB " or " GC "))" },
		{ "NOT (ALARM(a) OR ALARM(b))", "(" U " unless (" GA " or " GB "))" },
		{ "ALARM(a) AND TRUE", GA },
		{ "ALARM(a) OR FALSE", GA },
		{ "ALARM(a) AND FALSE", "(" U " unless " U ")" },
		{ "ALARM(a) OR TRUE", U },
		{ "NOT FALSE", U },
		{ "TRUE", U },
		{ "(((ALARM(a))))", GA },
	};
	struct cfg_alarm al[3] = { simple("RequestCount", "Sum", NULL, 0), simple("RequestCount", "Sum", NULL, 0),
				   simple("RequestCount", "Sum", NULL, 0) };
	al[0].name = "a";
	al[1].name = "b";
	al[2].name = "c-1";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_composite_alarm ca = { .name = "comp", .description = "both", .rule = (char *)cases[i].rule,
						  .line = 40 };
		struct albd_config cfg = { .alarms = al, .nalarms = 3, .composite_alarms = &ca, .ncomposite_alarms = 1 };
		ck_assert_int_eq(run(&cfg), 0);
		ck_assert_msg(strcmp(notes, "") == 0, "%s: %s", cases[i].rule, notes);
		const char *e = expr_of("\"comp\"");
		ck_assert_msg(e != NULL, "%s", cases[i].rule);
		ck_assert_msg(strcmp(e, cases[i].expr) == 0, "%s:\n got  %s\n want %s", cases[i].rule, e,
			      cases[i].expr);
	}
}
END_TEST

START_TEST(composite_order_and_skips)
{
	struct cfg_alarm al[2] = { simple("RequestCount", "Sum", NULL, 0), simple("QueueDepth", "Sum", queue, 1) };
	al[0].name = "a";
	al[1].name = "custom";
	al[1].namespace = "MyApp";
	struct cfg_composite_alarm ca[6] = {
		{ .name = "outer", .rule = "ALARM(inner) OR ALARM(a)", .line = 50 },
		{ .name = "inner", .rule = "ALARM(a) AND NOT ALARM(\"a\")", .line = 51 },
		{ .name = "uses-custom", .rule = "ALARM(a) AND ALARM(custom)", .line = 52 },
		{ .name = "insufficient", .rule = "INSUFFICIENT_DATA(a)", .line = 53 },
		{ .name = "unknown", .rule = "ALARM(nobody)", .line = 54 },
		{ .name = "above-skipped", .rule = "ALARM(uses-custom)", .line = 55 },
	};
	struct albd_config cfg = { .alarms = al, .nalarms = 2, .composite_alarms = ca, .ncomposite_alarms = 6 };
	ck_assert_int_eq(run(&cfg), 0);
	/* inner before outer */
	const char *pi = strstr(text, "- alert: \"inner\""), *po = strstr(text, "- alert: \"outer\"");
	ck_assert(pi && po && pi < po);
	ck_assert_str_eq(expr_of("\"outer\""),
			 "(group by (load_balancer) (ALERTS{alertname=\"inner\",alertstate=\"firing\"}) or " GA ")");
	ck_assert_str_eq(notes,
			 PATH ":7: alarm \"custom\" not exported: QueueDepth is in the custom namespace MyApp: metrics "
			      "sent with PutMetricData are not on /metrics\n" PATH
			      ":52: composite alarm \"uses-custom\" not exported: the rule names the alarm \"custom\", "
			      "which is not exported\n" PATH
			      ":53: composite alarm \"insufficient\" not exported: INSUFFICIENT_DATA(\"a\"): Prometheus has no "
			      "such state\n" PATH
			      ":54: composite alarm \"unknown\" not exported: the rule names \"nobody\", which is not an "
			      "alarm of the configuration\n" PATH
			      ":55: composite alarm \"above-skipped\" not exported: the rule names the composite alarm "
			      "\"uses-custom\", which is not exported\n");
	ck_assert_ptr_nonnull(strstr(text, "      # not exported: composite alarm \"insufficient\": "
					   "INSUFFICIENT_DATA(\\\"a\\\"): Prometheus has no such state\n"));
	/* the composite alarm's annotations */
	ck_assert_ptr_nonnull(strstr(text, "      # outer: rule ALARM(inner) OR ALARM(a)\n"));
	ck_assert_ptr_nonnull(strstr(text, "          summary: \"outer: rule ALARM(inner) OR ALARM(a)\"\n"));
}
END_TEST

START_TEST(composite_cycle_and_errors)
{
	struct cfg_alarm al = simple("RequestCount", "Sum", NULL, 0);
	struct cfg_composite_alarm ca[2] = {
		{ .name = "x", .rule = "ALARM(y) OR ALARM(a)", .line = 60 },
		{ .name = "y", .rule = "ALARM(x)", .line = 61 },
	};
	struct albd_config cfg = { .alarms = &al, .nalarms = 1, .composite_alarms = ca, .ncomposite_alarms = 2 };
	ck_assert_int_eq(run(&cfg), 0);
	ck_assert_str_eq(notes, PATH ":61: composite alarm \"y\" not exported: the rule names the composite alarm \"x\", "
				     "whose rule names this one (a cycle)\n" PATH
				":60: composite alarm \"x\" not exported: the rule names the composite alarm \"y\", which "
				"is not exported\n");

	ca[1].rule = "ALARM(a) AND";
	ck_assert_int_eq(run(&cfg), -1);
	ck_assert_ptr_nonnull(strstr(err, PATH ":61: composite alarm \"y\": rule: "));
	ca[1].rule = NULL;
	ck_assert_int_eq(run(&cfg), -1);
	ck_assert_str_eq(err, PATH ":61: composite alarm \"y\": rule: none");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("prom_rules");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, design_example);
	tcase_add_test(tc, empty);
	tcase_add_loop_test(tc, statistics, 0, sizeof(stat_cases) / sizeof(stat_cases[0]));
	tcase_add_test(tc, periods_and_m_of_n);
	tcase_add_test(tc, comparisons_and_thresholds);
	tcase_add_test(tc, missing_data);
	tcase_add_test(tc, skipped);
	tcase_add_test(tc, skipped_among_others);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, math_rate);
	tcase_add_test(tc, math_forms);
	tcase_add_test(tc, math_periods);
	tcase_add_test(tc, math_not_exported);
	tcase_add_test(tc, math_errors);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, composite_rules);
	tcase_add_test(tc, composite_order_and_skips);
	tcase_add_test(tc, composite_cycle_and_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
