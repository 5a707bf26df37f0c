/* config.h - the validated, immutable configuration snapshot.
 *
 * config_load() turns a libconfig file into a struct albd_config. Every
 * setting is checked (type, range, cross references); the first problem is
 * reported as "FILE:LINE: SETTING: what is wrong" and nothing is returned.
 * After config_load() returns, the struct is never modified: workers read it
 * from any thread without locks, and it is freed with config_free() once the
 * last generation that uses it is gone (see proxy/gen.h).
 *
 * Durations are stored in milliseconds. In the file they are seconds, given
 * as an integer or a float ("timeout = 5;" or "timeout = 0.5;").
 */
#ifndef ALBD_CONFIG_H
#define ALBD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define CONFIG_ERR_MAX 512

/* A resolved socket address plus its text form ("127.0.0.1:8080",
 * "[::1]:8080") for logs and headers. */
struct albd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;   /* host byte order */
	char text[64];   /* as normalised by config: "ip:port" or "[ip6]:port" */
};

enum tg_algorithm {
	TG_ALGO_ROUND_ROBIN = 0,          /* "round_robin" (smooth weighted) */
	TG_ALGO_LEAST_OUTSTANDING = 1,    /* "least_outstanding_requests" */
};

struct cfg_fixed_response {
	int status;             /* 2XX, 4XX or 5XX (ALB's StatusCode) */
	char *content_type;     /* one of ALB's five, default "text/plain" */
	char *body;             /* may be "", is "" for a 204, 205 or 304 */
	size_t body_len;        /* at most 1024 (ALB's MessageBody) */
};

/* Is STATUS one whose response carries no content: 204, 205 (RFC 9110
 * 15.3.5, 15.3.6) or 304 (15.4.5)? A fixed response of one has no body. */
static inline int config_status_no_content(int status)
{
	return status == 204 || status == 205 || status == 304;
}

struct cfg_target_group;

struct cfg_forward {
	char *target_group_name;
	struct cfg_target_group *tg;  /* resolved: points into the same config */
	unsigned weight;              /* 0..999, default 1 */
};

/* What a rule condition looks at. A new kind of condition is a new value
 * here, a key in config_listeners.c and a case in router.c. */
enum cfg_cond_type {
	CFG_COND_HOST = 0, /* "host": the Host without its port; values are lower-case patterns,
			    * matched case-insensitively */
	CFG_COND_PATH,     /* "path": the path without the query, its percent-encoded unreserved
			    * characters decoded; values are patterns (decoded the same way) */
	CFG_COND_METHOD,   /* "method": values are upper-case tokens, matched exactly */
	CFG_COND_HTTP_HEADER,  /* "http_header": header (lower case) and values, lower-case
				* patterns matched case-insensitively on any field of that name */
	CFG_COND_QUERY_STRING, /* "query_string": pairs, matched on the percent-decoded
				* key=value parameters of the query, case-insensitively */
	CFG_COND_SOURCE_IP,    /* "source_ip": cidrs, matched on the client's address */
};

/* One "query_string" entry: { key = "k*"; value = "v?"; }. Patterns, lower
 * case; '\' escapes a literal '*', '?' or '\'. */
struct cfg_query_pair {
	char *key;                      /* NULL: any key */
	char *value;                    /* never NULL */
};

/* One "source_ip" entry, parsed: the network's address (host bits zero). */
struct cfg_cidr {
	int family;                     /* AF_INET or AF_INET6 */
	unsigned prefix;                /* 0..32 or 0..128 */
	uint8_t addr[16];               /* network byte order; 4 bytes used for AF_INET */
};

/* One condition of a rule: it matches when any of its values matches.
 * Patterns accept '*' (any run of characters) and '?' (one character). */
struct cfg_condition {
	enum cfg_cond_type type;
	int line;                       /* of the setting in the file */
	char **values; size_t nvalues;  /* HOST, PATH, METHOD, HTTP_HEADER: at least one */
	char *header;                   /* HTTP_HEADER: the field name, lower case */
	struct cfg_query_pair *pairs; size_t npairs;  /* QUERY_STRING: at least one */
	struct cfg_cidr *cidrs; size_t ncidrs;        /* SOURCE_IP: at least one */
};

enum cfg_action_type {
	CFG_ACT_FORWARD = 0,    /* "forward" / "default_forward" */
	CFG_ACT_FIXED_RESPONSE, /* "fixed_response" / "default_fixed_response" */
	CFG_ACT_REDIRECT,       /* "redirect" / "default_redirect" */
};

/* A redirect action, ALB's RedirectActionConfig: the URL
 * protocol://host:port/path?query is built from these parts, each kept
 * (its default, a placeholder) or replaced. The templates are checked at
 * load time (which placeholders each part may hold, lengths, characters);
 * proxy/redirect.c expands them per request. */
#define CFG_REDIRECT_PART_MAX 128       /* ALB's length limit of host, path and query */
struct cfg_redirect {
	int status;             /* 301 or 302 (ALB's HTTP_301 / HTTP_302) */
	int proto;              /* "protocol": -1 "#{protocol}" (default), 0 "HTTP", 1 "HTTPS" */
	int port;               /* "port": 0 "#{port}" (default), else 1..65535 */
	char *host;             /* "host" template, default "#{host}" */
	char *path;             /* "path" template, starts with '/', default "/#{path}" */
	char *query;            /* "query" template without '?', default "#{query}" */
	int line;               /* of the group in the file */
};

/* What a request that a rule (or a listener's default) catches gets. */
struct cfg_action {
	enum cfg_action_type type;
	union {
		struct {                        /* CFG_ACT_FORWARD: one group, chosen by weight */
			struct cfg_forward *groups; size_t ngroups; /* at least one */
			unsigned weight_total;  /* sum of the weights, > 0 */
			unsigned stickiness_s;  /* group stickiness (AWSALBTG): seconds, 0 = off;
			                         * "forward = { target_groups = (...);
			                         * stickiness = { enabled; duration; }; }" */
		} forward;
		struct cfg_fixed_response *fixed; /* CFG_ACT_FIXED_RESPONSE */
		struct cfg_redirect *redirect;    /* CFG_ACT_REDIRECT */
	} u;
};

/* One listener rule. A rule matches when every condition it has matches. */
struct cfg_rule {
	int priority;           /* 1..50000, unique within the listener */
	int line;
	struct cfg_condition *conds; size_t nconds; /* at least one, in file order */
	struct cfg_action action;
};

struct cfg_certificate {
	char *cert;                 /* PEM file: the certificate, then its chain */
	char *key;                  /* PEM file: its private key */
	int line;
};

/* "tls = { ... }" on a listener: HTTPS. */
struct cfg_tls {
	struct cfg_certificate *certs; size_t ncerts;  /* picked by SNI; the first is the default */
	char *policy;               /* "intermediate" (default) or "modern" */
	int min_version;            /* 0 (the policy's), TLS1_2_VERSION or TLS1_3_VERSION */
	char *ciphers;              /* TLS 1.2 cipher list, NULL: the policy's */
	char *ciphersuites;         /* TLS 1.3 suites, NULL: the policy's */
	char **alpn; size_t nalpn;  /* protocols offered, default "http/1.1" */
	int line;
};

/* ALB's desync mitigation modes (see proxy/desync_policy in proxy.c) */
enum cfg_desync_mode { CFG_DESYNC_DEFENSIVE = 0, CFG_DESYNC_MONITOR, CFG_DESYNC_STRICTEST };

struct cfg_listener {
	char *name;                 /* unique */
	struct albd_addr addr;      /* "listen" */
	int line;
	struct cfg_rule *rules; size_t nrules;   /* sorted by ascending priority */
	struct cfg_action default_action;        /* "default_forward" = "tg name" (a forward to
	                                          * that one group, weight 1) or
	                                          * "default_fixed_response" = { ... } or
	                                          * "default_redirect" = { ... } */
	struct cfg_tls *tls;        /* NULL: plain HTTP */
	int trace_id;               /* "trace_id": add/update X-Amzn-Trace-Id, default 1 */
	enum cfg_desync_mode desync_mode; /* "desync_mitigation_mode", as ALB's: "monitor",
	                                   * "defensive" (default) or "strictest" */
	int drop_invalid_header_fields; /* as ALB's routing.http.drop_invalid_header_fields:
	                                 * remove fields whose names are not [-A-Za-z0-9]+ */
};

struct cfg_target {
	char *address;          /* as written in the file */
	struct albd_addr addr;
	unsigned weight;        /* 1..999, default 1 */
	int line;               /* 0 for a registered one */
	int registered;         /* added by the admin API (RegisterTargets), not in the file */
};

#define HC_MATCHER_MAX 16
struct cfg_health_check {
	int enabled;                /* default 1 */
	int protocol_https;         /* "protocol" = "HTTP" | "HTTPS" (certificate not verified, as ALB);
	                             * default: the target group's protocol */
	int port;                   /* 0 = the target's traffic port */
	char *path;                 /* default "/" */
	unsigned interval_ms;       /* "interval", 5..300 s in ALB; albd allows 1..300, default 30 */
	unsigned timeout_ms;        /* "timeout", 2..120 s in ALB; albd allows 0.1..120, default 5, < interval */
	unsigned healthy_threshold;   /* 2..10, default 5 */
	unsigned unhealthy_threshold; /* 2..10, default 2 */
	char *matcher;              /* as written, default "200" */
	/* parsed matcher: a list of inclusive ranges */
	struct { int lo, hi; } match[HC_MATCHER_MAX];
	size_t nmatch;
	unsigned passive_failures;  /* consecutive connection failures on traffic that take a
	                             * target out until an active check passes; 0..1000, default 5, 0 = off */
	unsigned flap_transitions;  /* this many state changes within flap_window hold a target
	                             * out for flap_hold; 0..100, default 6, 0 = off */
	unsigned flap_window_ms;    /* default 60 s */
	unsigned flap_hold_ms;      /* default 120 s */
};

/* "stickiness = { ... }" of a target group (ALB's stickiness.* attributes). */
enum cfg_sticky_type {
	CFG_STICKY_NONE = 0,        /* off (default, and "enabled = false") */
	CFG_STICKY_LB_COOKIE,       /* "lb_cookie": albd's cookie names the target */
	CFG_STICKY_APP_COOKIE,      /* "app_cookie": follows the application's cookie */
};

struct cfg_stickiness {
	int enabled;                /* "enabled", default true once the group is given */
	enum cfg_sticky_type type;  /* "type", required when enabled */
	unsigned duration_s;        /* "duration": 1..604800 s, default 86400 */
	char *cookie_name;          /* lb_cookie: default "AWSALB"; app_cookie: required, the
	                             * application's cookie (not AWSALB, AWSALBAPP, AWSALBTG...) */
	int line;
};

struct cfg_target_group {
	char *name;                 /* unique */
	int line;
	enum tg_algorithm algorithm;        /* default round_robin */
	struct cfg_target *targets; size_t ntargets;  /* may be empty (503) */
	struct cfg_health_check health_check;
	unsigned deregistration_delay_ms;   /* 0..3600 s, default 300 */
	unsigned slow_start_ms;             /* 0 or 30..900 s, default 0 */
	unsigned connect_timeout_ms;        /* "connect_timeout", default 10 s */
	unsigned response_timeout_ms;       /* "response_timeout", default 60 s: first response byte */
	unsigned keepalive_timeout_ms;      /* "keepalive_timeout", default 4 s: pooled idle connection lifetime,
	                                     * keep it below the targets' own keep-alive timeout */
	int protocol_https;                 /* "protocol" = "HTTP" (default) | "HTTPS": TLS to the targets */
	int tls_verify;                     /* "tls_verify", default true: check the target's certificate */
	char *ca_file;                      /* "ca_file": CAs to check it against, NULL: the system's */
	char *tls_server_name;              /* "tls_server_name": SNI and name to verify, NULL: the
	                                     * host name of each target's address (none for an IP) */
	unsigned keepalive_max_idle;        /* "keepalive_max_idle", idle pooled connections per target
	                                     * per worker, default 64, 0 disables reuse */
	struct cfg_stickiness stickiness;   /* "stickiness", off by default */
	char *arn;                          /* "arn:aws:elasticloadbalancing:REGION:ACCOUNT:
	                                     * targetgroup/NAME/<16 hex>", set after loading */
	int in_use;                         /* a listener's default action or rule forwards to it
	                                     * (set when a forward names it); else ALB's "unused":
	                                     * its targets are not checked (Target.NotInUse) */
};

struct cfg_timeouts {                   /* "timeouts = { ... }" */
	unsigned client_header_ms;          /* "client_header", default 10 s: whole request head -> 408 */
	unsigned client_keepalive_ms;       /* "client_keepalive", default 60 s: idle between requests */
	unsigned idle_ms;                   /* "idle", default 60 s: no byte either way mid-exchange */
	unsigned drain_ms;                  /* "drain", default 30 s: SIGTERM grace for in-flight requests */
};

struct cfg_per_client {                 /* "limits.per_client = { ... }": beyond ALB */
	unsigned max_connections;           /* a client's connections at once, 0 = no limit (default) */
	unsigned requests_per_second;       /* a client's request rate, 0 = no limit (default) */
	unsigned burst;                     /* requests beyond the rate at once, default 0 */
};

struct cfg_limits {                     /* "limits = { ... }" */
	unsigned max_request_line;          /* bytes, default 8192 -> 414 */
	unsigned max_header_size;           /* bytes of the whole head, default 65536 -> 431 */
	unsigned max_headers;               /* count, default 100 -> 431 */
	uint64_t max_body_size;             /* bytes, 0 = unlimited (default) -> 413 */
	unsigned max_connections;           /* client connections per worker, default 10000 */
	unsigned buffer_size;               /* per-direction buffering high mark, default 65536 */
	double retry_budget_ratio;          /* "retry_budget", share of requests that may be retried, default 0.2 */
	struct cfg_per_client per_client;   /* "per_client", off by default */
};

/* "admin = { ... }": the admin HTTP listener on the control thread
 * (control/admin.c): /metrics, the JSON API. */
/* One AWS credential of the AWS API endpoints:
 * "aws_credentials = ( { access_key_id = "..."; secret_access_key_file = "..."; } );". */
struct cfg_aws_credential {
	char *access_key_id;        /* 16 to 128 characters [A-Z0-9a-z] */
	char *secret_file;          /* "secret_access_key_file" */
	char *secret;               /* its content, trimmed (read by config_load()) */
	int line;
};

struct cfg_admin {
	int enabled;                /* default 1; "enabled = false" turns it off */
	struct albd_addr addr;      /* "listen", default "127.0.0.1:9100" */
	char *token_file;           /* "token_file": a file holding the bearer token, NULL: none */
	char *token;                /* its content, surrounding white space removed (read by
	                             * config_load(); never empty when token_file is set) */
	int metrics_token;          /* "metrics_token", default false: /metrics needs the token too */
	struct cfg_tls *tls;        /* "tls = { ... }" as a listener's; NULL: plain HTTP */
	unsigned max_custom_series; /* "max_custom_series", default 10000 (PutMetricData series) */
	char *public_url;           /* "public_url": base of SubscribeURL, UnsubscribeURL and
	                             * SigningCertURL, e.g. "https://lb.example.com:9100"; NULL:
	                             * http(s)://listen as configured */
	char *signing_cert_url;     /* "signing_cert_url": the SigningCertURL itself, NULL:
	                             * public_url + "/sns/SimpleNotificationService-albd.pem" */
	struct cfg_aws_credential *aws_creds; /* "aws_credentials": the AWS API endpoints'
	                             * SigV4 keys; none: those endpoints are off */
	size_t naws_creds;
	int line;
};

/* A dimension of a metric: "dimensions = { TargetGroup = \"web\"; };". */
struct cfg_dim {
	char *name;
	char *value;
};

/* One query of an alarm's "metrics" list (metric math), as GetMetricData's
 * MetricDataQuery: either an expression over the other queries' ids, or a
 * metric with its statistic. */
struct cfg_alarm_query {
	char *id;                   /* "id": [a-z][A-Za-z0-9_]*, unique in the alarm */
	char *expression;           /* "expression": metric math, NULL for a metric */
	char *label;                /* "label", NULL: none */
	int return_data;            /* "return_data": exactly one query of an alarm has it */
	char *namespace;            /* "namespace", default "AWS/ApplicationELB" */
	char *metric;               /* "metric": the metric name, NULL for an expression */
	struct cfg_dim *dims; size_t ndims; /* "dimensions" */
	char *stat;                 /* "statistic": SampleCount, Sum, Average, Minimum, Maximum or pNN */
	char *unit;                 /* "unit": only the data put with this unit (MetricStat.Unit); NULL: every unit's */
	unsigned period;            /* "period" in seconds; 0: the alarm's */
	int line;
};

/* "alarms = ( { ... } )": a metric alarm, with PutMetricAlarm's fields.
 * Strings whose values are CloudWatch's words (comparison,
 * treat_missing_data, statistic, the metric math) are kept as written and
 * checked by the control plane (control/alarm.c: alarm_check()). */
struct cfg_alarm {
	char *name;                 /* "name": unique among alarms and composite alarms */
	char *description;          /* "description", NULL: none */
	char *namespace;            /* "namespace", default "AWS/ApplicationELB" */
	char *metric;               /* "metric", NULL when "metrics" is used */
	struct cfg_dim *dims; size_t ndims;       /* "dimensions" */
	char *statistic;            /* "statistic": SampleCount, Sum, Average, Minimum, Maximum */
	char *extended_statistic;   /* "extended_statistic": "p99", "p99.9", ... */
	struct cfg_alarm_query *metrics; size_t nmetrics; /* "metrics": metric math instead of metric */
	unsigned period;            /* "period", seconds: 10, 30 or a multiple of 60 */
	unsigned evaluation_periods;  /* N, 1.. */
	unsigned datapoints_to_alarm; /* M, 1..N; 0 (absent): N */
	char *comparison;           /* "comparison": GreaterThanThreshold, ... */
	double threshold;           /* "threshold" */
	char *treat_missing_data;   /* "treat_missing_data", default "missing" */
	char **alarm_actions; size_t nalarm_actions;   /* topic names, each a topic of the config */
	char **ok_actions; size_t nok_actions;
	char **insufficient_data_actions; size_t ninsufficient_data_actions;
	int actions_enabled;        /* "actions_enabled", default true */
	int line;
};

/* "composite_alarms = ( { ... } )": PutCompositeAlarm. */
struct cfg_composite_alarm {
	char *name;                 /* unique among alarms and composite alarms */
	char *description;
	char *rule;                 /* "rule": CloudWatch's AlarmRule text */
	char **alarm_actions; size_t nalarm_actions;
	char **ok_actions; size_t nok_actions;
	char **insufficient_data_actions; size_t ninsufficient_data_actions;
	int actions_enabled;        /* default true */
	int line;
};

/* "delivery = { ... }" on a topic or a subscription: SNS's HTTP/S delivery
 * policy (healthyRetryPolicy and throttlePolicy). A subscription's group
 * starts from its topic's values; a topic's from SNS's defaults. */
struct cfg_delivery {
	unsigned retries;           /* "retries" (numRetries), 0..100, default 3 */
	unsigned no_delay_retries;  /* "no_delay_retries" (numNoDelayRetries), default 0 */
	unsigned min_delay_retries; /* "min_delay_retries" (numMinDelayRetries), default 0 */
	unsigned max_delay_retries; /* "max_delay_retries" (numMaxDelayRetries), default 0 */
	unsigned min_delay_ms;      /* "min_delay" (minDelayTarget), 1..3600 s, default 20 */
	unsigned max_delay_ms;      /* "max_delay" (maxDelayTarget), 1..3600 s, default 20 */
	char *backoff;              /* "backoff": linear (default), arithmetic, geometric, exponential */
	unsigned throttle;          /* "throttle" (maxReceivesPerSecond), 0 = no limit (default) */
	unsigned timeout_ms;        /* "timeout": one attempt, default 15 s */
	int line;                   /* of the group, 0 when absent */
};

/* One subscription of a topic: an HTTP or HTTPS endpoint. */
struct cfg_subscription {
	char *endpoint;             /* "endpoint": http://host[:port]/path or https://... */
	char *format;               /* "format": "sns" (default), "slack" or "raw" */
	char *secret;               /* "secret": HMAC-SHA256 key for X-Albd-Signature, NULL: none */
	int confirm;                /* "confirm", default false: SubscriptionConfirmation first */
	char *filter_policy;        /* "filter_policy": SNS filter policy JSON text, NULL: none */
	int tls_verify;             /* "tls_verify", default true (https endpoints) */
	char *ca_file;              /* "ca_file", NULL: the system's CAs */
	struct cfg_delivery delivery;
	int line;
};

/* "topics = ( { ... } )": an SNS-like topic. */
struct cfg_topic {
	char *name;                 /* "name": unique, 1..256 of [A-Za-z0-9_-] as SNS's */
	struct cfg_subscription *subs; size_t nsubs; /* "subscriptions" */
	struct cfg_delivery delivery;
	int line;
};

/* "access_log = { path = "..."; format = "alb"; };": off by default. */
enum cfg_log_format {
	CFG_LOG_ALB = 0,            /* "alb": ALB's space-separated fields, in ALB's order */
	CFG_LOG_JSON,               /* "json": the same fields, one JSON object a line */
};

struct cfg_access_log {
	int enabled;                /* "enabled", default true once the group is given */
	char *path;                 /* "path", required when enabled */
	enum cfg_log_format format; /* "format", default "alb" */
};

struct albd_config {
	char *path;                 /* the file it was read from */
	char *name;                 /* "name": the LoadBalancer dimension, default the host name */
	char *state_dir;            /* "state_dir", default "/var/lib/albd": the metric store */
	struct cfg_admin admin;
	unsigned workers;           /* resolved: 0 in the file means the number of CPUs */
	struct cfg_timeouts timeouts;
	struct cfg_limits limits;
	struct cfg_listener *listeners; size_t nlisteners;
	struct cfg_target_group *target_groups; size_t ntarget_groups;
	char *region;               /* "region", default "local": in ARNs and alarm notifications */
	char *account_id;           /* "account_id", default "000000000000" (12 digits) */
	struct cfg_topic *topics; size_t ntopics;
	struct cfg_alarm *alarms; size_t nalarms;
	struct cfg_composite_alarm *composite_alarms; size_t ncomposite_alarms;
	struct cfg_access_log access_log;
	char *user;                 /* "user": run as this user once the ports are bound (albd
	                             * started as root), NULL: stay */
	char *group;                /* "group", default the user's own group */
	uid_t uid;                  /* resolved when user is set */
	gid_t gid;
	char *text;                 /* the file as it was read (config_reparse()) */
	size_t text_len;
	char *elb_id;               /* ALB's resource id, "app/NAME/<16 hex digits>" (access log's
	                             * elb; the hex is a hash of the name, stable across restarts) */
};

/* Parse and validate PATH. Returns a new config owned by the caller, or NULL
 * with a one-line message "PATH:LINE: SETTING: problem" in err (err may be
 * NULL). Thread: any (it only touches its own objects); blocking (file I/O,
 * name resolution of target addresses). */
struct albd_config *config_load(const char *path, char *err, size_t errlen);

/* Parse the text OLD was read from again (its @include files are read
 * again): a fresh config equal to what OLD was before anything was added
 * to it (the targets the API registered, target_reg.c). Returns it, or
 * NULL with a message in ERR. Thread: any; blocking (includes, names). */
struct albd_config *config_reparse(const struct albd_config *old, char *err, size_t errlen);

/* Free a config returned by config_load(). NULL is ignored. */
void config_free(struct albd_config *cfg);

/* Look up a topic by name; NULL if none. Thread: any. */
const struct cfg_topic *config_find_topic(const struct albd_config *cfg, const char *name);

/* Look up a target group by name; NULL if none. Thread: any. */
const struct cfg_target_group *config_find_tg(const struct albd_config *cfg, const char *name);

/* Do A and B name the same socket address: family, port and address, and
 * the scope for IPv6 (the text forms are not compared)? Thread: any. */
int config_addr_equal(const struct albd_addr *a, const struct albd_addr *b);

/* 16 hex digits of FNV-1a 64 of S: stable ids derived from names (ARNs,
 * ALB resource ids, alarm definitions). Thread: any. */
void config_name_hash_hex(const char *s, char out[17]);

/* The IP address of A as text, without the port or brackets ("?" when it
 * cannot be written). Thread: any. */
void config_addr_ip(const struct albd_addr *a, char *buf, size_t len);

/* A hash of what config_addr_equal() compares: equal addresses hash alike.
 * Thread: any. */
uint64_t config_addr_hash(const struct albd_addr *a);

/* Parse "ip:port", "[ip6]:port" or "*:port" (all IPv4 addresses) into out.
 * When resolve is set, a host name is resolved (first address). Returns 0
 * or -1 with a message in err. Thread: any. */
int config_parse_addr(const char *text, int resolve, struct albd_addr *out, char *err, size_t errlen);

/* Parse a health check matcher ("200", "200,202", "200-399") into cfg->match.
 * Returns 0 or -1 with a message. Thread: any. */
int config_parse_matcher(const char *text, struct cfg_health_check *hc, char *err, size_t errlen);

/* Is V a cookie name (an RFC 6265 token)? Thread: any. */
int config_cookie_name_valid(const char *v);

#endif
