/* notify.c - see notify.h; the formats are in notify_format.c, the files
 * in notify_spool.c, the HTTP client in notify_http.c.
 *
 * One struct sub per subscription (topic name + endpoint), kept across
 * reloads. Each has its own queue of messages (struct entry, one spool
 * file each), at most one attempt in flight, its own timer: the next
 * attempt starts at the earliest due time among its messages, no sooner
 * than 1/throttle s after the previous start. A message's due time
 * follows its own retries (backoff.h), so messages do not wait behind one
 * another's backoff. A receiver that hangs costs its own subscription an
 * attempt's timeout and nothing else: every other subscription has its own
 * connection and timer on the same loop.
 */
#include "control/notify.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/evp.h>

#include "control/admin.h"
#include "control/backoff.h"
#include "control/filter_policy.h"
#include "control/notify_format.h"
#include "control/notify_http.h"
#include "control/notify_spool.h"
#include "control/sns_sign.h"
#include "core/clock.h"
#include "core/uri.h"
#include "core/config.h"
#include "core/log.h"
#include "net/tls_client.h"
#include "proxy/gen.h"

#define CERT_PATH "/sns/SimpleNotificationService-albd.pem"
#define SNS_PATH "/sns"
#define TOPICS_PREFIX "/api/v1/topics/"
#define MAX_MESSAGE (256 * 1024)
#define MAX_SUBJECT 99
#define MAX_ATTRS 10
#define DNS_TTL_MS 60000      /* how long a name's addresses are used before asking again */
#define MAX_ADDRS 8           /* of a name, tried in order while connecting fails */
#define DLQ_PAGE_DEFAULT 100
#define DLQ_PAGE_MAX 1000
#define REDRIVE_BATCH 1000    /* dead letters redriven per request at most */
#define MAX_ENDPOINT 2048     /* a run-time subscription's endpoint, characters */
#define MAX_POLICY 30720      /* a topic's Policy, bytes (SNS's limit) */
#define RESPOOL_EVERY_S 5     /* messages held in memory: the spool is tried again this often */
#define USER_AGENT "albd/" PACKAGE_VERSION " (Amazon Simple Notification Service Agent compatible)"

enum sub_status {
	SUB_CONFIRMED = 0,
	SUB_PENDING,        /* PendingConfirmation: only the SubscriptionConfirmation goes out */
	SUB_UNSUBSCRIBED,   /* the endpoint visited UnsubscribeURL: nothing goes out */
};

static const char *const status_names[] = { "Confirmed", "PendingConfirmation", "Unsubscribed" };

struct entry {
	TAILQ_ENTRY(entry) link;
	json_t *rec;                /* the record (shared, immutable) */
	char name[NS_NAME_MAX];     /* its spool file; "" while it is held in memory only */
	/* held in memory only (the spool could not be written): on N.mem_q,
	 * oldest first, until it is delivered or written to the spool */
	TAILQ_ENTRY(entry) mem_link;
	struct sub *sub;            /* whose queue it is on (set while held in memory) */
	size_t mem_bytes;           /* its JSON's size, counted in N.mem_bytes; 0: not held */
	unsigned attempts;          /* made so far (kept in the spool file across restarts) */
	uint64_t due_ms;            /* clock_ms() of the next attempt */
	char last_error[300];
};

TAILQ_HEAD(entry_q, entry);

struct sub {
	char *topic_name, *endpoint;
	char *dir, *spool, *dlq, *state;  /* paths */
	char id[37];                /* the SubscriptionArn's UUID */
	char *topic_arn, *arn;
	enum sub_status status;
	char confirm_token[129];
	char unsub_token[65];
	/* from the config (refreshed on reload) */
	int confirm;
	enum nf_format fmt;
	char *secret;
	char *filter_text;
	struct fp_policy *fp;
	struct backoff_policy bp;
	unsigned throttle, timeout_ms;
	struct nh_url url;
	char url_err[300];          /* the endpoint does not parse (notify_check refuses it) */
	/* the addresses: an IP literal's (literal), or the name's from evdns,
	 * used for DNS_TTL_MS; tried in order while connecting fails */
	int literal;
	struct sockaddr_storage addrs[MAX_ADDRS];
	socklen_t addrlens[MAX_ADDRS];
	size_t naddrs, addr_i;
	uint64_t resolved_ms;
	struct dns_q *dq;           /* a lookup in flight */
	struct evdns_getaddrinfo_request *dns_req; /* it, when evdns did not answer at once */
	struct event *dns_timer;    /* bounds it by the attempt's timeout */
	/* the attempt in flight: its request, kept for the next address */
	char *att_headers, *att_body;
	size_t att_len;
	uint64_t att_start_ms;
	struct tls_client *tc;
	/* delivery */
	struct entry_q q;
	size_t nq;
	struct entry *inflight;
	struct nh_req *req;
	struct event *timer;
	uint64_t last_start_ms;
	uint64_t delivered, failures, dead;
	size_t ndead;               /* lines in dead-letters.jsonl (counted once at start) */
	uint64_t dead_bytes;        /* its size */
	uint64_t dead_dropped;      /* dead letters refused: the file was full */
	int mark;
	/* made by notify_subscribe(), not the config's: its settings, kept in
	 * its state.json ("Runtime": true) */
	int runtime;
	int auth_unsub;             /* AuthenticateOnUnsubscribe: the UnsubscribeURL is refused */
	int64_t created_ms;         /* a run-time one's Subscribe (its place in the listings) */
	char *rt_filter;            /* FilterPolicy, NULL: none */
	int rt_raw;                 /* RawMessageDelivery */
	char *rt_delivery;          /* DeliveryPolicy (a subscription's), NULL: the topic's */
};

/* A lookup in flight: evdns calls back with it; sub NULL once the
 * subscription went (the lookup was cancelled). */
struct dns_q {
	struct sub *s;
	LIST_ENTRY(dns_q) link;     /* N.dq: freed by dns_cb, or at shutdown */
};

/* A subscription no longer configured whose dead letters are kept
 * (STATE_DIR/notify/sub-HASH/retired.json): listed with its topic's, and
 * taken back by the subscription when it is configured again. */
struct retired {
	char *topic, *endpoint, *dir, *dlq;
	char hash[33];
	size_t ndead;
};

struct topic {
	char *name, *arn;
	struct sub **subs;
	size_t nsubs;
	int runtime;                /* one of N.rt's, not the config's */
	struct cfg_delivery delivery; /* its subscriptions' unless they have their own (backoff borrowed) */
	const char *display_name;   /* "" when none (borrowed from N.rt's attributes) */
	const char *policy;         /* NULL: none (borrowed) */
	const char *delivery_policy; /* the DeliveryPolicy given (borrowed or dp_text), NULL: none */
	char *dp_text;              /* a config topic's delivery group as SNS's JSON */
};

/* A topic made at run time (notify_topic_create), kept in
 * STATE_DIR/notify/topics.json. */
struct rt_topic {
	char *name;
	json_t *attrs;              /* {"DisplayName": "...", ...}: strings, as given */
	json_t *tags;               /* [{"Key", "Value"}] */
	struct cfg_delivery delivery;
};

static struct {
	struct event_base *base;
	char *dir;                  /* STATE_DIR/notify */
	EVP_PKEY *key;
	char *cert_pem;
	char *base_url, *cert_url;
	struct topic *topics;
	size_t ntopics;
	struct sub **subs;
	size_t nsubs;
	struct retired *retired;
	size_t nretired;
	struct evdns_base *dns;
	LIST_HEAD(, dns_q) dq;
	size_t dlq_max;             /* dead letters per subscription, at most */
	uint64_t dlq_max_bytes;
	int routed;
	struct rt_topic *rt;        /* the run-time topics, in the order they were made */
	size_t nrt;
	int rt_damaged;             /* topics.json was not read whole at start: run-time
				     * subscriptions of unknown topics are left on disk */
	json_t *boot;               /* at start: the run-time subscriptions' states found on disk */
	char *region, *account, *cfg_path; /* of the config that runs */
	/* messages the spool refused, held in memory and delivered from there
	 * (struct entry's mem_link), oldest first; at most mem_max bytes */
	struct entry_q mem_q;
	size_t nmem;
	uint64_t mem_bytes, mem_max;
	uint64_t mem_dropped;       /* the oldest, dropped over mem_max */
	struct event *respool_timer; /* tries the spool again (RESPOOL_EVERY_S) */
} N = { .dlq_max = NOTIFY_DLQ_MAX, .dlq_max_bytes = NOTIFY_DLQ_MAX_BYTES, .mem_q = TAILQ_HEAD_INITIALIZER(N.mem_q),
	.mem_max = NOTIFY_MEM_MAX_BYTES };

static void kick(struct sub *s);

/* ------------------------------------------------------------ helpers */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static double rand01(void)
{
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		return 0.5;
	return r / 4294967295.0;
}

static void now_iso(char out[25])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	nf_timestamp(&ts, out);
}

/* append to *S the URL encoding of V (unreserved characters and ':' kept) */
static void urlenc(char *out, size_t outlen, const char *v)
{
	size_t k = strlen(out);
	for (; *v && k + 4 < outlen; v++) {
		unsigned char c = (unsigned char)*v;
		if (uri_unreserved(c) || c == ':')
			out[k++] = (char)c;
		else
			k += (size_t)snprintf(out + k, outlen - k, "%%%02X", c);
	}
	out[k] = 0;
}

static void subscribe_url(const struct sub *s, char *out, size_t n)
{
	snprintf(out, n, "%s%s?Action=ConfirmSubscription&TopicArn=", N.base_url, SNS_PATH);
	urlenc(out, n, s->topic_arn);
	snprintf(out + strlen(out), n - strlen(out), "&Token=%s", s->confirm_token);
}

static void unsubscribe_url(const struct sub *s, char *out, size_t n)
{
	snprintf(out, n, "%s%s?Action=Unsubscribe&SubscriptionArn=", N.base_url, SNS_PATH);
	urlenc(out, n, s->arn);
	snprintf(out + strlen(out), n - strlen(out), "&Token=%s", s->unsub_token);
}

static int tokens_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n > 0 && n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

static struct backoff_policy policy_of(const struct cfg_delivery *d)
{
	struct backoff_policy p = {
		.retries = d->retries,
		.no_delay_retries = d->no_delay_retries,
		.min_delay_retries = d->min_delay_retries,
		.max_delay_retries = d->max_delay_retries,
		.min_delay = d->min_delay_ms / 1000.0,
		.max_delay = d->max_delay_ms / 1000.0,
		.fn = BACKOFF_LINEAR,
	};
	int fn = d->backoff ? backoff_fn_parse(d->backoff) : BACKOFF_LINEAR;
	if (fn >= 0)
		p.fn = (enum backoff_fn)fn;
	return p;
}

/* ------------------------------------------------------------ check */

static int check_delivery(const struct albd_config *cfg, const struct cfg_delivery *d, int line, const char *where,
			  char *err, size_t errlen)
{
	char why[256];
	int l = d->line ? d->line : line;

	if (d->backoff && backoff_fn_parse(d->backoff) < 0) {
		snprintf(err, errlen,
			 "%s:%d: %s.delivery.backoff: \"%s\" is not linear, arithmetic, geometric or exponential",
			 cfg->path, l, where, d->backoff);
		return -1;
	}
	struct backoff_policy p = policy_of(d);
	if (backoff_policy_check(&p, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s:%d: %s.delivery: %s", cfg->path, l, where, why);
		return -1;
	}
	if (d->timeout_ms == 0) {
		snprintf(err, errlen, "%s:%d: %s.delivery.timeout: must be more than 0", cfg->path, l, where);
		return -1;
	}
	return 0;
}

int notify_check(const struct albd_config *cfg, char *err, size_t errlen)
{
	char why[512], where[400];

	for (size_t i = 0; i < cfg->ntopics; i++) {
		const struct cfg_topic *t = &cfg->topics[i];
		snprintf(where, sizeof where, "topics.%s", t->name);
		if (check_delivery(cfg, &t->delivery, t->line, where, err, errlen) < 0)
			return -1;
		for (size_t j = 0; j < t->nsubs; j++) {
			const struct cfg_subscription *s = &t->subs[j];
			int line = s->line ? s->line : t->line;
			struct nh_url u;
			snprintf(where, sizeof where, "topics.%s.subscriptions[%zu]", t->name, j);
			if (!s->endpoint || nh_url_parse(s->endpoint, &u, why, sizeof why) < 0) {
				snprintf(err, errlen, "%s:%d: %s.endpoint: %s", cfg->path, line, where,
					 s->endpoint ? why : "missing");
				return -1;
			}
			/* the syntax only: a name is resolved at each attempt (one
			 * that does not resolve then is a failed attempt) */
			int https = u.https;
			nh_url_free(&u);
			for (size_t k = 0; k < j; k++) {
				if (t->subs[k].endpoint && !strcmp(t->subs[k].endpoint, s->endpoint)) {
					snprintf(err, errlen, "%s:%d: %s.endpoint: the topic already has a subscription to %s",
						 cfg->path, line, where, s->endpoint);
					return -1;
				}
			}
			if (nf_format_parse(s->format) < 0) {
				snprintf(err, errlen, "%s:%d: %s.format: \"%s\" is not sns, slack or raw", cfg->path, line,
					 where, s->format);
				return -1;
			}
			if (s->secret && !*s->secret) {
				snprintf(err, errlen, "%s:%d: %s.secret: must not be empty", cfg->path, line, where);
				return -1;
			}
			if (s->filter_policy) {
				struct fp_policy *fp = fp_parse(s->filter_policy, why, sizeof why);
				if (!fp) {
					snprintf(err, errlen, "%s:%d: %s.filter_policy: %s", cfg->path, line, where, why);
					return -1;
				}
				fp_free(fp);
			}
			if (check_delivery(cfg, &s->delivery, line, where, err, errlen) < 0)
				return -1;
			if (https && s->ca_file) {
				struct tls_client_opts o = { .verify = s->tls_verify, .ca_file = s->ca_file };
				struct tls_client *tc = tls_client_new(&o, why, sizeof why);
				if (!tc) {
					snprintf(err, errlen, "%s:%d: %s.ca_file: %s", cfg->path, line, where, why);
					return -1;
				}
				tls_client_free(tc);
			}
			if (s->confirm && !cfg->admin.enabled && !cfg->admin.public_url) {
				snprintf(err, errlen,
					 "%s:%d: %s.confirm: needs the admin listener (SubscribeURL is on it) or "
					 "admin.public_url",
					 cfg->path, line, where);
				return -1;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ state */

static int save_state(struct sub *s)
{
	char err[300];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Topic", s->topic_name, "Endpoint", s->endpoint,
			      "SubscriptionId", s->id, "SubscriptionArn", s->arn, "Status", status_names[s->status],
			      "ConfirmToken", s->confirm_token, "UnsubscribeToken", s->unsub_token);
	if (o && s->auth_unsub)
		json_object_set_new(o, "AuthenticateOnUnsubscribe", json_true());
	if (o && s->runtime) {
		json_object_set_new(o, "Runtime", json_true());
		json_object_set_new(o, "CreatedAt", json_integer((json_int_t)s->created_ms));
		json_object_set_new(o, "RawMessageDelivery", json_boolean(s->rt_raw));
		if (s->rt_filter)
			json_object_set_new(o, "FilterPolicy", json_string(s->rt_filter));
		if (s->rt_delivery)
			json_object_set_new(o, "DeliveryPolicy", json_string(s->rt_delivery));
	}
	char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;
	int rc = -1;
	json_decref(o);
	if (text && ns_write_atomic(s->dir, "state.json", text, strlen(text), err, sizeof err) == 0)
		rc = 0;
	else
		log_err("notify: %s: cannot save the subscription's state: %s", s->endpoint, text ? err : "out of memory");
	free(text);
	return rc;
}

static void set_arns(struct sub *s, const char *topic_arn)
{
	free(s->topic_arn);
	free(s->arn);
	s->topic_arn = strdup(topic_arn);
	s->arn = xasprintf("%s:%s", topic_arn, s->id);
}

/* Load S's state.json; 1 when found and usable, 0 when there is none. */
static int load_state(struct sub *s)
{
	json_t *o = ns_json_read(s->state);
	const char *id, *st, *ct, *ut;

	if (!o) {
		if (errno != ENOENT)
			log_err("notify: %s is unreadable or not JSON: the subscription starts afresh", s->state);
		return 0;
	}
	id = json_string_value(json_object_get(o, "SubscriptionId"));
	st = json_string_value(json_object_get(o, "Status"));
	ct = json_string_value(json_object_get(o, "ConfirmToken"));
	ut = json_string_value(json_object_get(o, "UnsubscribeToken"));
	int status = -1;
	for (int i = 0; st && i < 3; i++)
		if (!strcmp(st, status_names[i]))
			status = i;
	/* the id goes into ARNs and URLs, the tokens into URLs: exactly
	 * what albd writes, or nothing */
	if (!nf_uuid_valid(id) || !nf_hex_valid(ct, sizeof s->confirm_token - 1) ||
	    !nf_hex_valid(ut, sizeof s->unsub_token - 1) || status < 0) {
		log_err("notify: %s: %s: the subscription starts afresh%s", s->state,
			!nf_uuid_valid(id)                              ? "SubscriptionId is not a UUID"
			: !nf_hex_valid(ct, sizeof s->confirm_token - 1) ? "ConfirmToken is not 128 hex digits"
			: !nf_hex_valid(ut, sizeof s->unsub_token - 1)   ? "UnsubscribeToken is not 64 hex digits"
									 : "Status is not Confirmed, PendingConfirmation or Unsubscribed",
			s->confirm ? " (pending confirmation)" : "");
		json_decref(o);
		return 0;
	}
	memcpy(s->id, id, 37);
	snprintf(s->confirm_token, sizeof s->confirm_token, "%s", ct);
	snprintf(s->unsub_token, sizeof s->unsub_token, "%s", ut);
	s->status = (enum sub_status)status;
	s->auth_unsub = json_is_true(json_object_get(o, "AuthenticateOnUnsubscribe"));
	if (json_is_integer(json_object_get(o, "CreatedAt")))
		s->created_ms = (int64_t)json_integer_value(json_object_get(o, "CreatedAt"));
	json_decref(o);
	return 1;
}

/* ------------------------------------------------------------ queue */

/* E leaves memory: off N.mem_q when it was held there. */
static void entry_free(struct entry *e)
{
	if (e->mem_bytes) {
		TAILQ_REMOVE(&N.mem_q, e, mem_link);
		N.nmem--;
		N.mem_bytes -= e->mem_bytes;
	}
	json_decref(e->rec);
	free(e);
}

/* E's spool file goes (it was delivered or dead-lettered); none when E
 * was held in memory only. */
static void spool_remove(struct sub *s, const struct entry *e)
{
	if (e->name[0])
		ns_spool_remove(s->spool, e->name);
}

/* Queue REC (its reference taken) in S, from the spool file NAME ("":
 * held in memory only). Returns the entry, or NULL (out of memory). */
static struct entry *enqueue(struct sub *s, json_t *rec, const char *name)
{
	struct entry *e = calloc(1, sizeof *e);
	if (!e) {
		if (*name)
			log_err("notify: out of memory: %s stays in the spool until the next start", name);
		json_decref(rec);
		return NULL;
	}
	json_t *att = json_object_get(rec, "Attempts");
	if (json_is_integer(att) && json_integer_value(att) > 0 && json_integer_value(att) < 1000000)
		e->attempts = (unsigned)json_integer_value(att);
	if (att)
		json_object_del(rec, "Attempts");  /* the spool's bookkeeping, not the message's */
	e->rec = rec;
	snprintf(e->name, sizeof e->name, "%s", name);
	e->due_ms = clock_ms();
	TAILQ_INSERT_TAIL(&s->q, e, link);
	s->nq++;
	return e;
}

static void unlink_entry(struct sub *s, struct entry *e)
{
	TAILQ_REMOVE(&s->q, e, link);
	s->nq--;
}

/* Move E (taken off the queue) to S's dead letters, then out of the spool. */
static void dead_letter(struct sub *s, struct entry *e, const char *why)
{
	char err[300], now[25];
	json_t *line = json_deep_copy(e->rec);

	now_iso(now);
	if (line) {
		json_object_set_new(line, "TopicArn", json_string(s->topic_arn));
		json_object_set_new(line, "SubscriptionArn", json_string(s->arn));
		json_object_set_new(line, "Endpoint", json_string(s->endpoint));
		json_object_set_new(line, "Attempts", json_integer(e->attempts));
		json_object_set_new(line, "LastError", json_string(why));
		json_object_set_new(line, "DeadLetteredAt", json_string(now));
	}
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	size_t tlen = text ? strlen(text) + 1 : 0;
	free(text);
	if (line && (s->ndead >= N.dlq_max || s->dead_bytes + tlen > N.dlq_max_bytes)) {
		/* full: the oldest are kept (they say when and why things went
		 * wrong first); this one is dropped, logged and counted */
		s->dead_dropped++;
		log_err("notify: %s: the dead-letter file %s is full (%zu messages, %llu bytes): message %s dropped "
			"after %u attempts (%s)",
			s->endpoint, s->dlq, s->ndead, (unsigned long long)s->dead_bytes,
			json_string_value(json_object_get(e->rec, "MessageId")), e->attempts, why);
		json_decref(line);
		spool_remove(s, e);
		entry_free(e);
		return;
	}
	if (!line || ns_jsonl_append(s->dlq, line, err, sizeof err) < 0) {
		if (e->name[0])
			log_err("notify: %s: message %s could not be dead-lettered (%s): it stays in the spool",
				s->endpoint, json_string_value(json_object_get(e->rec, "MessageId")),
				line ? err : "out of memory");
		else
			log_err("notify: %s: message %s is LOST: it could not be dead-lettered (%s) and the spool "
				"could not be written (it was held in memory only)",
				s->endpoint, json_string_value(json_object_get(e->rec, "MessageId")),
				line ? err : "out of memory");
		json_decref(line);
		entry_free(e);
		return;
	}
	json_decref(line);
	s->dead++;
	s->ndead++;
	s->dead_bytes += tlen;
	log_err("notify: %s: message %s dead-lettered after %u attempts (%s)", s->endpoint,
		json_string_value(json_object_get(e->rec, "MessageId")), e->attempts, why);
	spool_remove(s, e);
	entry_free(e);
}

static int deliverable(const struct sub *s, const struct entry *e)
{
	const char *type = json_string_value(json_object_get(e->rec, "Type"));
	if (s->status == SUB_UNSUBSCRIBED)
		return 0;
	if (!strcmp(type, "SubscriptionConfirmation"))
		return 1;
	return s->status == SUB_CONFIRMED;
}

static void attempt_clear(struct sub *s)
{
	free(s->att_headers);
	free(s->att_body);
	s->att_headers = s->att_body = NULL;
	s->att_len = 0;
	if (s->dns_timer)
		evtimer_del(s->dns_timer);
}

/* Keep E's attempt count in its spool file (rewritten atomically), so that
 * a restart neither forgets the retries made nor gives more. */
static int respool(struct entry *e, char *err, size_t errlen);

static void save_attempts(struct sub *s, struct entry *e)
{
	char err[300];
	if (!e->name[0]) {
		/* held in memory: into the spool now if it can be written */
		(void)respool(e, err, sizeof err);
		return;
	}
	json_t *copy = json_copy(e->rec);   /* the record is shared: not changed */
	char *text = NULL;
	if (copy && json_object_set_new(copy, "Attempts", json_integer(e->attempts)) == 0)
		text = json_dumps(copy, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(copy);
	if (!text || ns_write_atomic(s->spool, e->name, text, strlen(text), err, sizeof err) < 0)
		log_warn("notify: %s: message %s: cannot record the attempt count (%s): a restart counts from "
			 "the last one recorded",
			 s->endpoint, json_string_value(json_object_get(e->rec, "MessageId")),
			 text ? err : "out of memory");
	free(text);
}

static void attempt_done(int status, const char *why, void *arg)
{
	struct sub *s = arg;
	struct entry *e = s->inflight;
	char reason[300];

	s->req = NULL;
	s->inflight = NULL;
	attempt_clear(s);
	if (!e)
		return;
	e->attempts++;
	const char *id = json_string_value(json_object_get(e->rec, "MessageId"));
	if (status >= 200 && status <= 299) {
		if (e->attempts > 1)
			log_info("notify: %s: message %s delivered (HTTP %d) after %u attempts", s->endpoint, id, status,
				 e->attempts);
		else
			log_debug("notify: %s: message %s delivered (HTTP %d)", s->endpoint, id, status);
		s->delivered++;
		unlink_entry(s, e);
		spool_remove(s, e);
		entry_free(e);
		kick(s);
		return;
	}
	s->failures++;
	if (status)
		snprintf(reason, sizeof reason, "HTTP %d", status);
	else
		snprintf(reason, sizeof reason, "%s", why);
	snprintf(e->last_error, sizeof e->last_error, "%s", reason);
	double d = backoff_delay(&s->bp, e->attempts, rand01());
	if (d < 0 || s->status == SUB_UNSUBSCRIBED) {
		/* exhausted, or the endpoint unsubscribed while it was in flight */
		unlink_entry(s, e);
		dead_letter(s, e, d < 0 ? reason : "the endpoint unsubscribed");
	} else {
		if (e->attempts == 1)
			log_warn("notify: %s: message %s: attempt failed (%s), retrying", s->endpoint, id, reason);
		e->due_ms = clock_ms() + (uint64_t)(d * 1000.0);
		save_attempts(s, e);
	}
	kick(s);
}

static unsigned time_left(const struct sub *s)
{
	uint64_t spent = clock_ms() - s->att_start_ms;
	return spent >= s->timeout_ms ? 0 : (unsigned)(s->timeout_ms - spent);
}

static void post_done(int status, const char *why, int connected, void *arg);

/* Post the attempt's request to the address S->addr_i. */
static void post(struct sub *s)
{
	char err[300];
	unsigned left = time_left(s);
	if (!left) {
		snprintf(err, sizeof err, "timed out after %u ms", s->timeout_ms);
		attempt_done(0, err, s);
		return;
	}
	s->req = nh_post(N.base, &s->url, (const struct sockaddr *)&s->addrs[s->addr_i], s->addrlens[s->addr_i], s->tc,
			 s->att_headers, s->att_body, s->att_len, left, post_done, s, err, sizeof err);
	if (!s->req)
		post_done(0, err, 0, s);
}

/* A connection that could not be made tries the host's next address
 * (within the attempt's time); anything else ends the attempt. */
static void post_done(int status, const char *why, int connected, void *arg)
{
	struct sub *s = arg;
	s->req = NULL;
	if (!status && !connected && s->addr_i + 1 < s->naddrs && time_left(s) > 0) {
		log_debug("notify: %s: address %zu of %zu: %s; trying the next", s->endpoint, s->addr_i + 1, s->naddrs,
			  why);
		s->addr_i++;
		post(s);
		return;
	}
	if (!status && !s->literal)
		s->resolved_ms = 0;   /* not reachable at what the name gave: ask again next time */
	attempt_done(status, why, s);
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct dns_q *q = arg;
	struct sub *s = q->s;
	char why[400];

	LIST_REMOVE(q, link);
	free(q);
	if (!s) {   /* the subscription went: the lookup was cancelled */
		if (res)
			evutil_freeaddrinfo(res);
		return;
	}
	s->dq = NULL;
	s->dns_req = NULL;
	evtimer_del(s->dns_timer);
	if (result == EVUTIL_EAI_CANCEL) {
		if (res)
			evutil_freeaddrinfo(res);
		snprintf(why, sizeof why, "cannot resolve %s: timed out after %u ms", s->url.host, s->timeout_ms);
		attempt_done(0, why, s);
		return;
	}
	s->naddrs = 0;
	for (struct evutil_addrinfo *ai = res; result == 0 && ai && s->naddrs < MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof s->addrs[0] || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
			continue;
		memcpy(&s->addrs[s->naddrs], ai->ai_addr, ai->ai_addrlen);
		s->addrlens[s->naddrs++] = (socklen_t)ai->ai_addrlen;
	}
	if (res)
		evutil_freeaddrinfo(res);
	if (!s->naddrs) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", s->url.host,
			 result ? evutil_gai_strerror(result) : "no address");
		attempt_done(0, why, s);
		return;
	}
	s->resolved_ms = clock_ms();
	s->addr_i = 0;
	post(s);
}

static void dns_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sub *s = arg;
	(void)fd;
	(void)what;
	if (s->dns_req) {
		/* dns_cb comes with EVUTIL_EAI_CANCEL and ends the attempt */
		struct evdns_getaddrinfo_request *req = s->dns_req;
		s->dns_req = NULL;
		evdns_getaddrinfo_cancel(req);
	}
}

static void start(struct sub *s, struct entry *e)
{
	char err[300], surl[1024], uurl[1024], hmac[NF_HMAC_LEN];
	struct nf_body b;

	subscribe_url(s, surl, sizeof surl);
	unsubscribe_url(s, uurl, sizeof uurl);
	struct nf_ctx ctx = {
		.topic_arn = s->topic_arn,
		.sub_arn = s->arn,
		.signing_cert_url = N.cert_url,
		.unsubscribe_url = uurl,
		.subscribe_url = surl,
		.key = N.key,
	};
	s->inflight = e;
	s->last_start_ms = s->att_start_ms = clock_ms();
	if (!s->url.path) {
		attempt_done(0, s->url_err, s);
		return;
	}
	if (nf_render(s->fmt, e->rec, &ctx, &b, err, sizeof err) < 0) {
		/* cannot happen with a checked record; never retried */
		s->inflight = NULL;
		unlink_entry(s, e);
		e->attempts++;
		dead_letter(s, e, err);
		kick(s);
		return;
	}
	const char *type = json_string_value(json_object_get(e->rec, "Type"));
	const char *id = json_string_value(json_object_get(e->rec, "MessageId"));
	int notif = !strcmp(type, "Notification");
	if (s->secret)
		nf_hmac_header(s->secret, (int64_t)time(NULL), b.body, b.len, hmac, sizeof hmac);
	s->att_headers = xasprintf("Content-Type: %s\r\nUser-Agent: %s\r\n"
				   "x-amz-sns-message-type: %s\r\nx-amz-sns-message-id: %s\r\n"
				   "x-amz-sns-topic-arn: %s\r\n%s%s%s%s%s%s%s",
				   b.content_type, USER_AGENT, type, id, s->topic_arn,
				   notif ? "x-amz-sns-subscription-arn: " : "", notif ? s->arn : "", notif ? "\r\n" : "",
				   notif && s->fmt == NF_RAW ? "x-amz-sns-rawdelivery: true\r\n" : "",
				   s->secret ? NF_HMAC_HEADER ": " : "", s->secret ? hmac : "", s->secret ? "\r\n" : "");
	s->att_body = b.body;
	s->att_len = b.len;
	if (!s->att_headers) {
		attempt_done(0, "out of memory", s);
		return;
	}
	if (s->literal || (s->naddrs && clock_ms() - s->resolved_ms < DNS_TTL_MS && s->resolved_ms)) {
		s->addr_i = 0;
		post(s);
		return;
	}
	/* a name: resolved without blocking the loop, within the attempt's time */
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
					 .ai_protocol = IPPROTO_TCP };
	char port[8];
	struct dns_q *q = calloc(1, sizeof *q);
	if (!q || !N.dns) {
		free(q);
		attempt_done(0, N.dns ? "out of memory" : "no DNS resolver", s);
		return;
	}
	q->s = s;
	s->dq = q;
	LIST_INSERT_HEAD(&N.dq, q, link);
	struct timeval tv = { s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000 };
	evtimer_add(s->dns_timer, &tv);
	snprintf(port, sizeof port, "%u", s->url.port);
	struct evdns_getaddrinfo_request *req = evdns_getaddrinfo(N.dns, s->url.host, port, &hints, dns_cb, q);
	/* NULL: answered already (dns_cb ran, and freed q) */
	if (req && s->dq)
		s->dns_req = req;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sub *s = arg;
	struct entry *e, *best = NULL;
	uint64_t now = clock_ms();
	(void)fd;
	(void)what;

	if (s->inflight)
		return;
	TAILQ_FOREACH(e, &s->q, link) {
		if (deliverable(s, e) && (!best || e->due_ms < best->due_ms))
			best = e;
	}
	if (!best)
		return;
	uint64_t at = best->due_ms;
	if (s->throttle && s->last_start_ms && at < s->last_start_ms + 1000 / s->throttle)
		at = s->last_start_ms + 1000 / s->throttle;
	if (at > now) {
		struct timeval tv = { (time_t)((at - now) / 1000), (suseconds_t)((at - now) % 1000) * 1000 };
		evtimer_add(s->timer, &tv);
		return;
	}
	start(s, best);
}

/* Look at S's queue again, from the event loop (never recursively). */
static void kick(struct sub *s)
{
	if (s->inflight || !s->nq)
		return;
	const struct timeval zero = { 0, 0 };
	evtimer_add(s->timer, &zero);
}

/* ------------------------------------------------------------ held in memory */

/* Write E (held in memory) into its subscription's spool, with the
 * attempts made so far: it is then an entry like any other. 0, or -1 with
 * ERR. */
static int respool(struct entry *e, char *err, size_t errlen)
{
	char name[NS_NAME_MAX];
	json_t *copy = json_copy(e->rec);   /* the record is shared: not changed */

	if (!copy || (e->attempts && json_object_set_new(copy, "Attempts", json_integer(e->attempts)) < 0)) {
		json_decref(copy);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = ns_spool_put(e->sub->spool, copy, name, sizeof name, err, errlen);
	json_decref(copy);
	if (rc < 0)
		return -1;
	snprintf(e->name, sizeof e->name, "%s", name);
	TAILQ_REMOVE(&N.mem_q, e, mem_link);
	N.nmem--;
	N.mem_bytes -= e->mem_bytes;
	e->mem_bytes = 0;
	if (!N.nmem)
		log_info("notify: the spool can be written again: no message is held in memory any more");
	return 0;
}

/* Every RESPOOL_EVERY_S while messages are held in memory: into the
 * spool, oldest first, until a write fails. */
static void respool_cb(evutil_socket_t fd, short what, void *arg)
{
	char err[300];
	size_t done = 0;
	struct entry *e;
	(void)fd;
	(void)what;
	(void)arg;

	while ((e = TAILQ_FIRST(&N.mem_q)) && respool(e, err, sizeof err) == 0)
		done++;
	if (!N.nmem)
		return;
	if (done)
		log_warn("notify: %zu messages held in memory were written to the spool, %zu still are not: %s", done,
			 N.nmem, err);
	const struct timeval tv = { RESPOOL_EVERY_S, 0 };
	evtimer_add(N.respool_timer, &tv);
}

/* The spool refused REC (WHY says why): S delivers it from memory, and the
 * spool is tried again every RESPOOL_EVERY_S. Over N.mem_max bytes held,
 * the oldest messages held (not in flight) are dropped, each logged. 0, or
 * -1 when out of memory. */
static int hold_in_memory(struct sub *s, json_t *rec, const char *why)
{
	size_t bytes = json_dumpb(rec, NULL, 0, JSON_COMPACT);
	const char *id = json_string_value(json_object_get(rec, "MessageId"));

	if (!N.respool_timer && !(N.respool_timer = evtimer_new(N.base, respool_cb, NULL)))
		return -1;
	struct entry *e = enqueue(s, json_incref(rec), "");
	if (!e)
		return -1;
	if (!N.nmem)
		log_err("notify: the spool cannot be written (%s): messages are held in memory (at most %llu "
			"bytes) and delivered from there; the spool is tried again every %d s; until then a "
			"restart loses them",
			why, (unsigned long long)N.mem_max, RESPOOL_EVERY_S);
	log_warn("notify: %s: message %s is held in memory, not in the spool (%s)", s->endpoint, id ? id : "?",
		 why);
	e->sub = s;
	e->mem_bytes = bytes ? bytes : 1;
	TAILQ_INSERT_TAIL(&N.mem_q, e, mem_link);
	N.nmem++;
	N.mem_bytes += e->mem_bytes;
	if (!evtimer_pending(N.respool_timer, NULL)) {
		const struct timeval tv = { RESPOOL_EVERY_S, 0 };
		evtimer_add(N.respool_timer, &tv);
	}
	/* the bound: the oldest undelivered go first (the newest say how
	 * things are now); the one in flight finishes its attempt */
	struct entry *old = TAILQ_FIRST(&N.mem_q), *next;
	for (; old && N.mem_bytes > N.mem_max && old != e; old = next) {
		next = TAILQ_NEXT(old, mem_link);
		if (old->sub->inflight == old)
			continue;
		N.mem_dropped++;
		log_err("notify: %s: message %s is DROPPED, undelivered: the spool cannot be written and the messages "
			"held in memory passed their limit (%llu bytes); the oldest go first (%llu dropped so far)",
			old->sub->endpoint, json_string_value(json_object_get(old->rec, "MessageId")),
			(unsigned long long)N.mem_max, (unsigned long long)N.mem_dropped);
		unlink_entry(old->sub, old);
		entry_free(old);
	}
	return 0;
}

/* Write REC to S's spool and queue it. REC is borrowed. MEM: when the
 * spool cannot be written, S holds REC in memory and delivers it from
 * there (hold_in_memory); without MEM (the caller keeps REC elsewhere:
 * a dead letter being redriven), -1 with ERR. 0, or -1 with ERR. */
static int spool_to(struct sub *s, json_t *rec, int mem, char *err, size_t errlen)
{
	char name[NS_NAME_MAX];
	if (ns_spool_put(s->spool, rec, name, sizeof name, err, errlen) == 0) {
		enqueue(s, json_incref(rec), name);
		return 0;
	}
	if (!mem)
		return -1;
	if (hold_in_memory(s, rec, err) < 0) {
		snprintf(err, errlen, "the spool cannot be written and there is no memory to hold the message");
		return -1;
	}
	return 0;
}

static void send_confirmation(struct sub *s)
{
	char id[37], ts[25], err[300];
	char *text = nf_confirmation_text(s->topic_arn);
	now_iso(ts);
	nf_uuid4(id);
	json_t *rec = text ? json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "SubscriptionConfirmation", "MessageId", id,
				       "Timestamp", ts, "Message", text, "Token", s->confirm_token)
			   : NULL;
	free(text);
	if (!rec || spool_to(s, rec, 1, err, sizeof err) < 0)
		log_err("notify: %s: cannot send the SubscriptionConfirmation: %s", s->endpoint,
			rec ? err : "out of memory");
	json_decref(rec);
	kick(s);
}

/* ------------------------------------------------------------ subs */

static void spool_loaded(const char *name, json_t *rec, void *arg)
{
	enqueue(arg, rec, name);
}

static void sub_hash(const char *topic, const char *endpoint, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	memset(md, 0, sizeof md);
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) || !EVP_DigestUpdate(c, topic, strlen(topic) + 1) ||
	    !EVP_DigestUpdate(c, endpoint, strlen(endpoint)) || !EVP_DigestFinal_ex(c, md, &mdlen))
		abort();   /* SHA-256 does not fail */
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void sub_configure(struct sub *s, const struct cfg_topic *t, const struct cfg_subscription *c)
{
	char why[300];

	s->confirm = c->confirm;
	s->fmt = (enum nf_format)(nf_format_parse(c->format) < 0 ? NF_SNS : nf_format_parse(c->format));
	free(s->secret);
	s->secret = c->secret ? strdup(c->secret) : NULL;
	if (!s->filter_text || !c->filter_policy || strcmp(s->filter_text, c->filter_policy)) {
		fp_free(s->fp);
		free(s->filter_text);
		s->fp = c->filter_policy ? fp_parse(c->filter_policy, why, sizeof why) : NULL;
		s->filter_text = c->filter_policy ? strdup(c->filter_policy) : NULL;
		if (c->filter_policy && !s->fp)
			log_err("notify: %s: filter policy: %s (every message is delivered)", s->endpoint, why);
	}
	s->bp = policy_of(&c->delivery);
	s->throttle = c->delivery.throttle;
	s->timeout_ms = c->delivery.timeout_ms ? c->delivery.timeout_ms : 15000;
	(void)t;
	/* the endpoint never changes (it names the subscription): parsed
	 * once; a name is resolved at each attempt (start), an IP literal
	 * here */
	if (!s->url.path && !s->url_err[0]) {
		if (nh_url_parse(c->endpoint, &s->url, why, sizeof why) < 0) {
			snprintf(s->url_err, sizeof s->url_err, "%s", why);
			log_err("notify: %s: %s", c->endpoint, why);
		} else if (nh_literal(&s->url, &s->addrs[0], &s->addrlens[0])) {
			s->literal = 1;
			s->naddrs = 1;
		}
	}
	if (s->url.https) {
		struct tls_client_opts o = { .verify = c->tls_verify, .ca_file = c->ca_file };
		if (!s->tc || !tls_client_matches(s->tc, &o)) {
			struct tls_client *tc = tls_client_new(&o, why, sizeof why);
			if (tc) {
				tls_client_free(s->tc);
				s->tc = tc;
			} else {
				log_err("notify: %s: %s", c->endpoint, why);
			}
		}
	}
	if (s->status == SUB_PENDING && !s->confirm) {
		s->status = SUB_CONFIRMED;  /* no consent asked any more */
		save_state(s);
	}
}

/* ------------------------------------------------------------ retired */

static void retired_add(const char *topic, const char *endpoint, const char *hash, size_t ndead)
{
	if (!ndead)
		return;     /* nothing to show */
	struct retired *nr = realloc(N.retired, (N.nretired + 1) * sizeof *nr);
	if (!nr) {
		log_err("notify: out of memory: the dead letters of %s are not listed", endpoint);
		return;
	}
	N.retired = nr;
	struct retired *r = &N.retired[N.nretired];
	memset(r, 0, sizeof *r);
	snprintf(r->hash, sizeof r->hash, "%s", hash);
	r->topic = strdup(topic);
	r->endpoint = strdup(endpoint);
	r->dir = xasprintf("%s/sub-%s", N.dir, hash);
	r->dlq = xasprintf("%s/sub-%s/dead-letters.jsonl", N.dir, hash);
	r->ndead = ndead;
	if (!r->topic || !r->endpoint || !r->dir || !r->dlq) {
		free(r->topic);
		free(r->endpoint);
		free(r->dir);
		free(r->dlq);
		log_err("notify: out of memory: the dead letters of %s are not listed", endpoint);
		return;
	}
	N.nretired++;
}

static void retired_free(struct retired *r)
{
	free(r->topic);
	free(r->endpoint);
	free(r->dir);
	free(r->dlq);
}

/* The subscription HASH is configured again: its dead letters are its own. */
static void retired_take(const char *hash)
{
	char *path = xasprintf("%s/sub-%s/retired.json", N.dir, hash);
	if (path)
		unlink(path);
	free(path);
	for (size_t i = 0; i < N.nretired; i++) {
		if (!strcmp(N.retired[i].hash, hash)) {
			retired_free(&N.retired[i]);
			memmove(&N.retired[i], &N.retired[i + 1], (N.nretired - i - 1) * sizeof N.retired[0]);
			N.nretired--;
			return;
		}
	}
}

/* Abandon S's attempt in flight (its message stays queued). */
static void abandon(struct sub *s)
{
	if (s->req) {
		nh_cancel(s->req);
		s->req = NULL;
	}
	if (s->dq) {
		s->dq->s = NULL;    /* dns_cb frees it */
		s->dq = NULL;
	}
	if (s->dns_req) {
		struct evdns_getaddrinfo_request *req = s->dns_req;
		s->dns_req = NULL;
		evdns_getaddrinfo_cancel(req);
	}
	attempt_clear(s);
	s->inflight = NULL;
}

static void sub_free(struct sub *s)
{
	struct entry *e;

	abandon(s);
	while ((e = TAILQ_FIRST(&s->q))) {
		unlink_entry(s, e);
		entry_free(e);
	}
	if (s->timer)
		event_free(s->timer);
	if (s->dns_timer)
		event_free(s->dns_timer);
	tls_client_free(s->tc);
	nh_url_free(&s->url);
	fp_free(s->fp);
	free(s->filter_text);
	free(s->secret);
	free(s->topic_name);
	free(s->endpoint);
	free(s->dir);
	free(s->spool);
	free(s->dlq);
	free(s->state);
	free(s->topic_arn);
	free(s->arn);
	free(s->rt_filter);
	free(s->rt_delivery);
	free(s);
}

/* A run-time subscription's own settings (struct sub's rt_*). */
struct rt_settings {
	const char *filter;         /* NULL: none */
	int raw;
	const char *delivery;       /* NULL: the topic's */
};

/* A new subscription C of topic T (its files found again when it had
 * some); RT: a run-time subscription's settings, NULL for the config's. */
static struct sub *sub_new(const struct cfg_topic *t, const struct cfg_subscription *c, const char *topic_arn,
			   const struct rt_settings *rt)
{
	struct sub *s = calloc(1, sizeof *s);
	char hash[33];

	if (!s)
		return NULL;
	TAILQ_INIT(&s->q);
	if (rt) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s->created_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		s->runtime = 1;
		s->rt_raw = rt->raw;
		if ((rt->filter && !(s->rt_filter = strdup(rt->filter))) ||
		    (rt->delivery && !(s->rt_delivery = strdup(rt->delivery)))) {
			free(s->rt_filter);
			free(s);
			return NULL;
		}
	}
	sub_hash(t->name, c->endpoint, hash);
	s->topic_name = strdup(t->name);
	s->endpoint = strdup(c->endpoint);
	s->dir = xasprintf("%s/sub-%s", N.dir, hash);
	s->spool = xasprintf("%s/sub-%s/spool", N.dir, hash);
	s->dlq = xasprintf("%s/sub-%s/dead-letters.jsonl", N.dir, hash);
	s->state = xasprintf("%s/sub-%s/state.json", N.dir, hash);
	s->timer = evtimer_new(N.base, timer_cb, s);
	s->dns_timer = evtimer_new(N.base, dns_timeout_cb, s);
	if (!s->topic_name || !s->endpoint || !s->dir || !s->spool || !s->dlq || !s->state || !s->timer ||
	    !s->dns_timer) {
		sub_free(s);
		return NULL;
	}
	if (ns_mkdir_aside(s->dir) < 0 || ns_mkdir_aside(s->spool) < 0)
		log_err("notify: cannot create %s: %s", s->spool, strerror(errno));
	retired_take(hash);
	s->ndead = ns_jsonl_count(s->dlq, &s->dead_bytes);
	s->confirm = c->confirm;
	int fresh = !load_state(s);
	if (fresh) {
		nf_uuid4(s->id);
		nf_random_hex(64, s->confirm_token);
		nf_random_hex(32, s->unsub_token);
		s->status = c->confirm ? SUB_PENDING : SUB_CONFIRMED;
	}
	set_arns(s, topic_arn);
	sub_configure(s, t, c);
	if (fresh)
		save_state(s);
	int n = ns_spool_load(s->spool, spool_loaded, s);
	if (n < 0)
		log_err("notify: cannot read %s: %s", s->spool, strerror(errno));
	else if (n > 0)
		log_info("notify: %s: %d messages in the spool, delivery resumes", s->endpoint, n);
	if (fresh && s->status == SUB_PENDING)
		send_confirmation(s);
	kick(s);
	return s;
}

/* S leaves the config: what it still had to deliver becomes dead letters,
 * its state goes (a subscription added again is a new one). */
static void sub_retire(struct sub *s, const char *why)
{
	struct entry *e;
	abandon(s);
	while ((e = TAILQ_FIRST(&s->q))) {
		unlink_entry(s, e);
		dead_letter(s, e, why);
	}
	/* its dead letters stay listed (and redrivable when it comes back):
	 * retired.json says whose they are; the state goes */
	json_t *o = json_pack("{s:s, s:s, s:s}", "Topic", s->topic_name, "Endpoint", s->endpoint, "SubscriptionArn",
			      s->arn);
	char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;
	char err[300];
	json_decref(o);
	if (!text || ns_write_atomic(s->dir, "retired.json", text, strlen(text), err, sizeof err) < 0)
		log_err("notify: %s: %s", s->endpoint, text ? err : "out of memory");
	free(text);
	retired_add(s->topic_name, s->endpoint, strrchr(s->dir, '/') + 5, s->ndead);
	unlink(s->state);
	sub_free(s);
}

static int ensure_key(const struct albd_config *cfg, char *why, size_t whylen);

/* ------------------------------------------------------------ apply */

/* The URLs: admin.public_url when set, else the admin listener that runs
 * (after a reload whose admin address could not be bound, the old one),
 * else what the config says. */
static void compute_urls(const struct albd_config *topics_cfg, const struct albd_config *cfg)
{
	char live[128];

	free(N.base_url);
	free(N.cert_url);
	if (cfg->admin.public_url) {
		N.base_url = strdup(cfg->admin.public_url);
		size_t n = N.base_url ? strlen(N.base_url) : 0;
		while (n && N.base_url[n - 1] == '/')
			N.base_url[--n] = 0;
	} else if (admin_live_base(live, sizeof live) == 0) {
		N.base_url = strdup(live);
	} else {
		N.base_url = xasprintf("%s://%s", cfg->admin.tls ? "https" : "http", cfg->admin.addr.text);
	}
	if (cfg->admin.signing_cert_url)
		N.cert_url = strdup(cfg->admin.signing_cert_url);
	else
		N.cert_url = xasprintf("%s%s", N.base_url ? N.base_url : "", CERT_PATH);
	if (!N.base_url || !N.cert_url) {
		log_err("notify: out of memory");
		abort();
	}
	if (!cfg->admin.public_url && topics_cfg->ntopics &&
	    (!strncmp(cfg->admin.addr.text, "0.0.0.0:", 8) || !strncmp(cfg->admin.addr.text, "[::]:", 5)))
		log_warn("notify: the admin listener listens on %s: SubscribeURL, UnsubscribeURL and SigningCertURL "
			 "need an address receivers can reach; set admin.public_url",
			 cfg->admin.addr.text);
	int sns = 0;
	for (size_t i = 0; i < topics_cfg->ntopics; i++)
		for (size_t j = 0; j < topics_cfg->topics[i].nsubs; j++)
			sns |= nf_format_parse(topics_cfg->topics[i].subs[j].format) == NF_SNS;
	if (sns && strncasecmp(N.cert_url, "https://", 8) != 0)
		log_warn("notify: SigningCertURL is %s: receivers that verify SNS signatures (sns-validator, the AWS "
			 "SDKs) accept only https; give the admin listener tls, or set admin.public_url or "
			 "admin.signing_cert_url",
			 N.cert_url);
}

static struct sub *find_sub(const char *topic, const char *endpoint)
{
	for (size_t i = 0; i < N.nsubs; i++)
		if (!strcmp(N.subs[i]->topic_name, topic) && !strcmp(N.subs[i]->endpoint, endpoint))
			return N.subs[i];
	return NULL;
}

static void topic_free(struct topic *t)
{
	free(t->name);
	free(t->arn);
	free(t->subs);
	free(t->dp_text);
}

static void free_topics(void)
{
	for (size_t i = 0; i < N.ntopics; i++)
		topic_free(&N.topics[i]);
	free(N.topics);
	N.topics = NULL;
	N.ntopics = 0;
}

/* Append S to the array *V of *N. 0, or -1 when out of memory. */
static int subs_push(struct sub ***v, size_t *n, struct sub *s)
{
	struct sub **nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return -1;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static char *topic_arn_of(const char *name)
{
	return xasprintf("arn:aws:sns:%s:%s:%s", N.region ? N.region : "local", N.account ? N.account : "000000000000",
			 name);
}

static const char *attr_str(const json_t *attrs, const char *key)
{
	return json_string_value(json_object_get(attrs, key));
}

/* Fill TP for the topic NAME (the config's T, or the run-time RT). */
static void topic_init(struct topic *tp, const struct cfg_topic *t, const struct rt_topic *rt)
{
	memset(tp, 0, sizeof *tp);
	tp->name = strdup(t ? t->name : rt->name);
	tp->arn = tp->name ? topic_arn_of(tp->name) : NULL;
	if (!tp->name || !tp->arn) {
		log_err("notify: out of memory");
		abort();
	}
	tp->display_name = "";
	if (t) {
		tp->delivery = t->delivery;
		if (t->delivery.line)
			tp->delivery_policy = tp->dp_text = nf_delivery_text(&t->delivery, 1);
		return;
	}
	tp->runtime = 1;
	tp->delivery = rt->delivery;
	if (attr_str(rt->attrs, "DisplayName"))
		tp->display_name = attr_str(rt->attrs, "DisplayName");
	tp->policy = attr_str(rt->attrs, "Policy");
	tp->delivery_policy = attr_str(rt->attrs, "DeliveryPolicy");
}

/* The settings of run-time subscription S as the config would give them
 * (C borrows from S and TP). */
static void rt_cfg(const struct sub *s, const struct topic *tp, struct cfg_subscription *c)
{
	char why[300];
	memset(c, 0, sizeof *c);
	c->endpoint = s->endpoint;
	c->format = s->rt_raw ? "raw" : "sns";
	c->confirm = 1;             /* SNS always asks an http/s endpoint first */
	c->filter_policy = s->rt_filter;
	c->tls_verify = 1;
	c->delivery = tp->delivery;
	if (s->rt_delivery && nf_delivery_parse(s->rt_delivery, 0, &c->delivery, why, sizeof why) < 0) {
		log_err("notify: %s: DeliveryPolicy: %s: the topic's is used", s->endpoint, why);
		c->delivery = tp->delivery;
	}
}

/* Attach the run-time subscriptions of topic TP: those that run already,
 * and at start those found on disk (N.boot). */
static void attach_runtime(struct topic *tp, struct sub ***subs, size_t *nsubs)
{
	struct cfg_subscription c;
	struct cfg_topic tcfg = { .name = tp->name };

	for (size_t i = 0; i < N.nsubs; i++) {
		struct sub *s = N.subs[i];
		if (!s->runtime || s->mark || strcmp(s->topic_name, tp->name) != 0)
			continue;
		if (strcmp(s->topic_arn, tp->arn) != 0)
			set_arns(s, tp->arn);
		rt_cfg(s, tp, &c);
		sub_configure(s, &tcfg, &c);
		kick(s);
		if (subs_push(&tp->subs, &tp->nsubs, s) < 0 || subs_push(subs, nsubs, s) < 0) {
			log_err("notify: out of memory");
			abort();
		}
		s->mark = 1;
	}
	size_t i;
	json_t *b;
	json_array_foreach(N.boot, i, b) {
		const char *topic = attr_str(b, "Topic"), *endpoint = attr_str(b, "Endpoint");
		if (!topic || !endpoint || strcmp(topic, tp->name) != 0)
			continue;
		struct sub *s = NULL;
		for (size_t k = 0; k < *nsubs && !s; k++)
			if (!strcmp((*subs)[k]->topic_name, topic) && !strcmp((*subs)[k]->endpoint, endpoint))
				s = (*subs)[k];
		if (s) {
			if (!s->runtime)
				save_state(s);  /* the config has it now: no longer a run-time one */
			continue;
		}
		struct rt_settings rt = { attr_str(b, "FilterPolicy"),
					  json_is_true(json_object_get(b, "RawMessageDelivery")),
					  attr_str(b, "DeliveryPolicy") };
		struct sub tmp = { .endpoint = (char *)endpoint, .rt_filter = (char *)rt.filter, .rt_raw = rt.raw,
				   .rt_delivery = (char *)rt.delivery };
		rt_cfg(&tmp, tp, &c);
		s = sub_new(&tcfg, &c, tp->arn, &rt);
		if (!s)
			continue;
		s->mark = 1;
		if (subs_push(&tp->subs, &tp->nsubs, s) < 0 || subs_push(subs, nsubs, s) < 0) {
			log_err("notify: out of memory");
			abort();
		}
	}
}

void notify_apply(const struct albd_gen *gen)
{
	const struct albd_config *cfg = gen->cfg;
	char why[400];

	if (ensure_key(cfg, why, sizeof why) < 0)
		log_err("notify: the SNS signing key: %s; messages cannot be signed until a reload succeeds", why);

	free(N.region);
	free(N.account);
	free(N.cfg_path);
	N.region = strdup(cfg->region ? cfg->region : "local");
	N.account = strdup(cfg->account_id ? cfg->account_id : "000000000000");
	N.cfg_path = strdup(cfg->path ? cfg->path : "the configuration file");
	if (!N.region || !N.account || !N.cfg_path) {
		log_err("notify: out of memory");
		abort();
	}
	compute_urls(cfg, cfg);
	for (size_t i = 0; i < N.nsubs; i++)
		N.subs[i]->mark = 0;
	struct topic *topics = calloc(cfg->ntopics + N.nrt + 1, sizeof *topics);
	if (!topics) {
		log_err("notify: out of memory: the topics stay as they were");
		return;
	}
	struct sub **subs = NULL;
	size_t nsubs = 0, ntopics = 0;
	for (size_t i = 0; i < cfg->ntopics; i++) {
		const struct cfg_topic *t = &cfg->topics[i];
		struct topic *tp = &topics[ntopics++];
		topic_init(tp, t, NULL);
		for (size_t j = 0; j < t->nsubs; j++) {
			const struct cfg_subscription *c = &t->subs[j];
			struct sub *s = find_sub(t->name, c->endpoint);
			if (s && !s->mark) {
				if (strcmp(s->topic_arn, tp->arn) != 0)
					set_arns(s, tp->arn);
				sub_configure(s, t, c);
				if (s->runtime) {
					/* the config names it now: its settings are the config's */
					s->runtime = 0;
					save_state(s);
				}
				kick(s);
			} else if (!s) {
				s = sub_new(t, c, tp->arn, NULL);
			} else {
				s = NULL;   /* the same endpoint twice: notify_check refuses it */
			}
			if (!s)
				continue;
			s->mark = 1;
			if (subs_push(&tp->subs, &tp->nsubs, s) < 0 || subs_push(&subs, &nsubs, s) < 0) {
				log_err("notify: out of memory");
				abort();
			}
		}
	}
	for (size_t i = 0; i < N.nrt; i++) {
		if (config_find_topic(cfg, N.rt[i].name)) {
			log_warn("notify: topic %s is in the configuration and was made through the API: the "
				 "configuration's is used",
				 N.rt[i].name);
			continue;
		}
		topic_init(&topics[ntopics++], NULL, &N.rt[i]);
	}
	for (size_t i = 0; i < ntopics; i++)
		attach_runtime(&topics[i], &subs, &nsubs);
	for (size_t i = 0; i < N.nsubs; i++) {
		if (!N.subs[i]->mark) {
			log_info("notify: subscription %s of topic %s removed", N.subs[i]->endpoint, N.subs[i]->topic_name);
			sub_retire(N.subs[i], N.subs[i]->runtime ? "the subscription's topic was removed"
								 : "the subscription was removed from the configuration");
		}
	}
	free(N.subs);
	N.subs = subs;
	N.nsubs = nsubs;
	free_topics();
	N.topics = topics;
	N.ntopics = ntopics;
}

/* At start: subscription directories that the config no longer names
 * (removed while albd was stopped) are retired as a reload would. */
static void retire_orphans(void)
{
	DIR *d = opendir(N.dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "sub-", 4) != 0)
			continue;
		int known = 0;
		for (size_t i = 0; i < N.nsubs && !known; i++)
			known = !strcmp(strrchr(N.subs[i]->dir, '/') + 1, de->d_name);
		if (known)
			continue;
		char *state = xasprintf("%s/%s/state.json", N.dir, de->d_name);
		json_t *o = state ? ns_json_read(state) : NULL;
		const char *topic = json_string_value(json_object_get(o, "Topic"));
		const char *endpoint = json_string_value(json_object_get(o, "Endpoint"));
		if (!o && strlen(de->d_name) == 36) {
			/* retired already: its dead letters are listed with its topic's */
			char *rpath = xasprintf("%s/%s/retired.json", N.dir, de->d_name);
			char *dlq = xasprintf("%s/%s/dead-letters.jsonl", N.dir, de->d_name);
			json_t *ro = rpath ? ns_json_read(rpath) : NULL;
			const char *rt = json_string_value(json_object_get(ro, "Topic"));
			const char *re = json_string_value(json_object_get(ro, "Endpoint"));
			if (rt && re && dlq)
				retired_add(rt, re, de->d_name + 4, ns_jsonl_count(dlq, NULL));
			json_decref(ro);
			free(rpath);
			free(dlq);
		}
		if (topic && endpoint && N.rt_damaged && json_is_true(json_object_get(o, "Runtime"))) {
			/* its topic may be one topics.json lost: kept for when the
			 * file is mended, never retired */
			log_warn("notify: subscription %s of topic %s is left on disk: topics.json was not read whole",
				 endpoint, topic);
		} else if (topic && endpoint) {
			struct cfg_subscription c = { .endpoint = (char *)endpoint };
			struct cfg_topic t = { .name = (char *)topic };
			const char *arn = json_string_value(json_object_get(o, "SubscriptionArn"));
			char tarn[512];
			snprintf(tarn, sizeof tarn, "%s", arn ? arn : "arn:aws:sns:local:000000000000:x:y");
			char *colon = strrchr(tarn, ':');
			if (colon)
				*colon = 0;
			struct sub *s = sub_new(&t, &c, tarn, NULL);
			if (s) {
				log_info("notify: subscription %s of topic %s is no longer configured", endpoint, topic);
				sub_retire(s, "the subscription was removed from the configuration");
			}
		}
		json_decref(o);
		free(state);
	}
	closedir(d);
}

/* ------------------------------------------------------------ publish */

static struct topic *find_topic(const char *name)
{
	for (size_t i = 0; i < N.ntopics; i++)
		if (!strcmp(N.topics[i].name, name))
			return &N.topics[i];
	return NULL;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* SNS's checks of a message attribute's DataType and value: 0, or -1
 * with "MessageAttributes: ..." in ERR. */
static int attr_type_check(const struct notify_attr *a, char *err, size_t errlen)
{
	const char *ty = a->type ? a->type : "String";
	const char *base = !strncmp(ty, "String", 6) ? "String" : !strncmp(ty, "Number", 6) ? "Number"
							 : !strncmp(ty, "Binary", 6)   ? "Binary"
										       : NULL;
	size_t bl = base ? strlen(base) : 0;
	if (!base || (ty[bl] && (ty[bl] != '.' || !ty[bl + 1])) || strlen(ty) > 256) {
		snprintf(err, errlen,
			 "MessageAttributes: The message attribute '%s' has an invalid message attribute type, the set of "
			 "supported type prefixes is Binary, Number, and String.",
			 a->name);
		return -1;
	}
	if (!*a->value) {
		snprintf(err, errlen,
			 "MessageAttributes: The message attribute '%s' must contain non-empty message attribute value "
			 "for message attribute type '%s'.",
			 a->name, base);
		return -1;
	}
	if (!strcmp(base, "Number")) {
		char *end;
		errno = 0;
		double d = strtod(a->value, &end);
		(void)d;
		if (*end || end == a->value || errno == ERANGE) {
			snprintf(err, errlen,
				 "MessageAttributes: The message attribute '%s' with type 'Number' must be a valid number.",
				 a->name);
			return -1;
		}
	}
	if (!strcmp(ty, "String.Array")) {
		json_t *j = json_loads(a->value, JSON_DECODE_ANY, NULL);
		int ok = json_is_array(j);
		json_decref(j);
		if (!ok) {
			snprintf(err, errlen,
				 "MessageAttributes: The message attribute '%s' with type 'String.Array' must be a JSON "
				 "array.",
				 a->name);
			return -1;
		}
	}
	return 0;
}

int notify_publish(const char *topic, const struct notify_msg *m, char *id, char *err, size_t errlen)
{
	return notify_publish_protocols(topic, m, NULL, NULL, id, err, errlen);
}

int notify_publish_protocols(const char *topic, const struct notify_msg *m, const char *http, const char *https,
			     char *id, char *err, size_t errlen)
{
	struct topic *t = topic ? find_topic(topic) : NULL;
	char mid[37], ts[25], e2[300];
	json_t *rec = NULL, *attrs = NULL, *rec_http = NULL, *rec_https = NULL;
	int rc = -1;

	if (!t) {
		snprintf(err, errlen, "TopicArn: no such topic: %s", topic ? topic : "(null)");
		return -1;
	}
	if (!m->message || !*m->message) {
		snprintf(err, errlen, "Message: must not be empty");
		return -1;
	}
	if (strlen(m->message) > MAX_MESSAGE) {
		snprintf(err, errlen, "Message: longer than %d bytes", MAX_MESSAGE);
		return -1;
	}
	if (m->subject) {
		if (!*m->subject || utf8_chars(m->subject) > MAX_SUBJECT) {
			snprintf(err, errlen, "Subject: must be 1 to %d characters", MAX_SUBJECT);
			return -1;
		}
		for (const char *p = m->subject; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(err, errlen, "Subject: must not hold line breaks or control characters");
				return -1;
			}
		}
	}
	if (m->nattrs > MAX_ATTRS) {
		snprintf(err, errlen, "MessageAttributes: at most %d", MAX_ATTRS);
		return -1;
	}
	if (m->message_id) {
		if (!nf_uuid_valid(m->message_id)) {
			snprintf(err, errlen, "MessageId: not a UUID (8-4-4-4-12 hex digits)");
			return -1;
		}
		snprintf(mid, sizeof mid, "%s", m->message_id);
	} else {
		nf_uuid4(mid);
	}
	now_iso(ts);
	rec = json_pack("{s:s, s:s, s:s}", "Type", "Notification", "MessageId", mid, "Timestamp", ts);
	if (!rec)
		goto nomem;
	if (m->subject && json_object_set_new(rec, "Subject", json_string(m->subject)) < 0) {
		snprintf(err, errlen, "Subject: not UTF-8");
		goto out;
	}
	if (json_object_set_new(rec, "Message", json_string(m->message)) < 0) {
		snprintf(err, errlen, "Message: not UTF-8");
		goto out;
	}
	const char *per_proto[] = { http, https };
	for (size_t i = 0; i < 2; i++) {
		if (per_proto[i] && (!*per_proto[i] || strlen(per_proto[i]) > MAX_MESSAGE)) {
			snprintf(err, errlen, "Message: each protocol's message must be 1 to %d bytes", MAX_MESSAGE);
			goto out;
		}
	}
	if (m->nattrs) {
		attrs = json_object();
		for (size_t i = 0; i < m->nattrs && attrs; i++) {
			const struct notify_attr *a = &m->attrs[i];
			const char *ty = a->type ? a->type : "String";
			if (!a->name || !*a->name || strlen(a->name) > 256 || !a->value) {
				snprintf(err, errlen,
					 "MessageAttributes: %s: a name, a value and a DataType String, Number or Binary",
					 a->name ? a->name : "(no name)");
				goto out;
			}
			if (attr_type_check(a, err, errlen) < 0)
				goto out;
			json_t *v = json_pack("{s:s, s:s}", "Type", ty, "Value", a->value);
			if (!v || json_object_set_new(attrs, a->name, v) < 0) {
				snprintf(err, errlen, "MessageAttributes: %s: not UTF-8", a->name);
				goto out;
			}
		}
		if (!attrs || json_object_set(rec, "MessageAttributes", attrs) < 0)
			goto nomem;
	}
	if (m->alarm && m->alarm->name && m->alarm->new_state) {
		const struct notify_alarm *a = m->alarm;
		json_t *al = json_pack("{s:s, s:s}", "AlarmName", a->name, "NewStateValue", a->new_state);
		if (!al)
			goto nomem;
		if (a->description)
			json_object_set_new(al, "AlarmDescription", json_string(a->description));
		if (a->old_state)
			json_object_set_new(al, "OldStateValue", json_string(a->old_state));
		if (a->reason)
			json_object_set_new(al, "NewStateReason", json_string(a->reason));
		if (a->state_change_time)
			json_object_set_new(al, "StateChangeTime", json_string(a->state_change_time));
		if (a->alarm_arn)
			json_object_set_new(al, "AlarmArn", json_string(a->alarm_arn));
		json_object_set_new(rec, "Alarm", al);
	}

	/* MessageStructure json: http:// and https:// subscriptions may get
	 * their own text (the same MessageId) */
	if (http && !(rec_http = json_copy(rec)))
		goto nomem;
	if (https && !(rec_https = json_copy(rec)))
		goto nomem;
	if ((rec_http && json_object_set_new(rec_http, "Message", json_string(http)) < 0) ||
	    (rec_https && json_object_set_new(rec_https, "Message", json_string(https)) < 0)) {
		snprintf(err, errlen, "Message: not UTF-8");
		goto out;
	}

	struct fp_attr fa[MAX_ATTRS + 3];
	json_t *hold = NULL;
	size_t nfa = nf_filter_attrs(rec, fa, sizeof fa / sizeof fa[0], &hold);
	rc = 0;
	for (size_t i = 0; i < t->nsubs; i++) {
		struct sub *s = t->subs[i];
		if (s->status != SUB_CONFIRMED)
			continue;   /* pending confirmation or unsubscribed: not delivered */
		if (s->fp && !fp_match(s->fp, fa, nfa)) {
			log_debug("notify: %s: message %s filtered out", s->endpoint, mid);
			continue;
		}
		json_t *r = s->url.https && rec_https ? rec_https : !s->url.https && rec_http ? rec_http : rec;
		if (spool_to(s, r, 1, e2, sizeof e2) < 0) {
			log_err("notify: %s: %s", s->endpoint, e2);
			snprintf(err, errlen, "out of memory: %s", e2);
			rc = -1;
			continue;
		}
		kick(s);
	}
	json_decref(hold);
	if (id)
		memcpy(id, mid, NOTIFY_ID_LEN);
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	json_decref(attrs);
	json_decref(rec);
	json_decref(rec_http);
	json_decref(rec_https);
	return rc;
}

/* ------------------------------------------------------------ the API's actions */

static struct topic *find_topic_arn(const char *arn)
{
	for (size_t i = 0; arn && i < N.ntopics; i++)
		if (!strcmp(N.topics[i].arn, arn))
			return &N.topics[i];
	return NULL;
}

static struct sub *find_sub_arn(const char *arn)
{
	for (size_t i = 0; arn && i < N.nsubs; i++)
		if (!strcmp(N.subs[i]->arn, arn))
			return N.subs[i];
	return NULL;
}

/* Is ARN an SNS ARN of NPARTS resources after the account
 * ("arn:PARTITION:sns:REGION:ACCOUNT:TOPIC[:ID]")? 1 or 0. */
static int sns_arn_ok(const char *arn, int nparts)
{
	int fields = 0;
	if (!arn)
		return 0;
	for (const char *p = arn;; p++) {
		const char *q = strchr(p, ':');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		if (!n || (fields == 0 && strncmp(p, "arn", n) != 0) || (fields == 2 && strncmp(p, "sns:", 4) != 0))
			return 0;
		fields++;
		if (!q)
			break;
		p = q;
	}
	return fields == 5 + nparts;
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static void sub_view(const struct sub *s, struct notify_sub_view *v)
{
	*v = (struct notify_sub_view){
		.arn = s->arn,
		.topic_arn = s->topic_arn,
		.topic_name = s->topic_name,
		.endpoint = s->endpoint,
		.protocol = s->url.https || !strncasecmp(s->endpoint, "https:", 6) ? "https" : "http",
		.status = status_names[s->status],
		.format = nf_format_name(s->fmt),
		.filter_policy = s->filter_text,
		.runtime = s->runtime,
		.queued = s->nq,
		.dead = s->ndead,
		.dropped = s->dead_dropped,
		.delivered = s->delivered,
	};
}

static void topic_view(const struct topic *t, struct notify_topic_view *v)
{
	*v = (struct notify_topic_view){
		.name = t->name,
		.arn = t->arn,
		.runtime = t->runtime,
		.display_name = t->display_name,
		.policy = t->policy,
		.delivery_policy = t->delivery_policy,
		.delivery = &t->delivery,
	};
	for (size_t i = 0; i < t->nsubs; i++) {
		enum sub_status st = t->subs[i]->status;
		v->confirmed += st == SUB_CONFIRMED;
		v->pending += st == SUB_PENDING;
		v->deleted += st == SUB_UNSUBSCRIBED;
	}
}

int notify_topic_at(size_t i, struct notify_topic_view *v)
{
	if (i >= N.ntopics)
		return -1;
	topic_view(&N.topics[i], v);
	return 0;
}

int notify_topic_find(const char *arn, int by_name, struct notify_topic_view *v)
{
	struct topic *t = by_name ? (arn ? find_topic(arn) : NULL) : find_topic_arn(arn);
	if (!t)
		return -1;
	topic_view(t, v);
	return 0;
}

int notify_topic_get(const char *arn, struct notify_topic_view *v, char *err, size_t errlen)
{
	if (!sns_arn_ok(arn, 1))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: TopicArn");
	if (notify_topic_find(arn, 0, v) < 0)
		return fail(err, errlen, NOTIFY_NOT_FOUND, "Topic does not exist");
	return NOTIFY_OK;
}

int notify_sub_at(const char *topic_arn, size_t i, struct notify_sub_view *v)
{
	for (size_t k = 0; k < N.ntopics; k++) {
		const struct topic *t = &N.topics[k];
		if (topic_arn && strcmp(t->arn, topic_arn) != 0)
			continue;
		if (i < t->nsubs) {
			sub_view(t->subs[i], v);
			return 0;
		}
		i -= t->nsubs;
	}
	return -1;
}

/* ---- run-time topics */

static void rt_free(struct rt_topic *r)
{
	free(r->name);
	json_decref(r->attrs);
	json_decref(r->tags);
}

/* Write N.rt to STATE_DIR/notify/topics.json. 0, or -1 with ERR. */
static int rt_save(char *err, size_t errlen)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < N.nrt; i++) {
		json_t *o = json_pack("{s:s, s:O, s:O}", "Name", N.rt[i].name, "Attributes", N.rt[i].attrs, "Tags",
				      N.rt[i].tags);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	json_t *doc = arr ? json_pack("{s:o}", "Topics", arr) : NULL;
	char *text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;
	json_decref(doc);
	int rc = text ? ns_write_atomic(N.dir, "topics.json", text, strlen(text), err, errlen) : -1;
	if (!text)
		snprintf(err, errlen, "out of memory");
	free(text);
	return rc;
}

static int topic_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 1 || n > 256)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
			return 0;
	return 1;
}

/* Read a DeliveryPolicy TEXT over D: NOTIFY_OK or NOTIFY_INVALID with ERR. */
static int delivery_attr(const char *text, int topic, struct cfg_delivery *d, char *err, size_t errlen)
{
	char why[300];
	if (nf_delivery_parse(text, topic, d, why, sizeof why) < 0)
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: DeliveryPolicy: %s", why);
	return NOTIFY_OK;
}

/* Check a topic's ATTRS (see notify_topic_create) and read its delivery
 * policy over D. */
static int topic_attrs_check(const json_t *attrs, struct cfg_delivery *d, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)attrs, k, v) {
		const char *val = json_string_value(v);
		if (!val)
			return fail(err, errlen, NOTIFY_INVALID,
				    "Invalid parameter: Attributes Reason: %s: a string is required", k);
		if (!strcmp(k, "DisplayName")) {
			if (strlen(val) > 100)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: DisplayName Reason: at most 100 characters");
		} else if (!strcmp(k, "Policy")) {
			if (strlen(val) > MAX_POLICY)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: Policy Error: longer than %d bytes", MAX_POLICY);
			json_t *j = json_loads(val, 0, NULL);
			int ok = json_is_object(j);
			json_decref(j);
			if (!ok)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: Policy Error: the policy is not a JSON object");
		} else if (!strcmp(k, "DeliveryPolicy")) {
			if (delivery_attr(val, 1, d, err, errlen) < 0)
				return NOTIFY_INVALID;
		} else if (!strcmp(k, "SignatureVersion")) {
			if (strcmp(val, "2") != 0)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: SignatureVersion Reason: albd signs with SignatureVersion 2 "
					    "(SHA256withRSA) only");
		} else if (!strcmp(k, "FifoTopic")) {
			if (strcmp(val, "false") != 0)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: FifoTopic Reason: albd has standard topics only");
		} else {
			return fail(err, errlen, NOTIFY_INVALID,
				    "Invalid parameter: AttributeName Reason: %s is not an attribute albd supports (it has "
				    "DisplayName, Policy, DeliveryPolicy, SignatureVersion and FifoTopic)",
				    k);
		}
	}
	return NOTIFY_OK;
}

static int tags_check(const json_t *tags, char *err, size_t errlen)
{
	size_t i;
	json_t *t;
	if (json_array_size(tags) > 50)
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Tags Reason: at most 50 tags");
	json_array_foreach(tags, i, t) {
		const char *k = attr_str(t, "Key"), *v = attr_str(t, "Value");
		if (!k || !*k || strlen(k) > 128 || (json_object_get(t, "Value") && !v) || (v && strlen(v) > 256))
			return fail(err, errlen, NOTIFY_INVALID,
				    "Invalid parameter: Tags Reason: a tag is a Key of 1 to 128 characters and a Value of "
				    "at most 256");
	}
	return NOTIFY_OK;
}

/* The value topic T shows for the attribute KEY (for CreateTopic's
 * "already exists with different attributes"), NULL: none. */
static const char *topic_attr(const struct topic *t, const char *key)
{
	if (!strcmp(key, "DisplayName"))
		return t->display_name;
	if (!strcmp(key, "Policy"))
		return t->policy;
	if (!strcmp(key, "DeliveryPolicy"))
		return t->delivery_policy;
	if (!strcmp(key, "SignatureVersion"))
		return "2";
	if (!strcmp(key, "FifoTopic"))
		return "false";
	return NULL;
}

int notify_topic_create(const char *name, const json_t *attrs, const json_t *tags, char *arn, size_t arnlen,
			char *err, size_t errlen)
{
	struct cfg_delivery d = { .retries = 3, .min_delay_ms = 20000, .max_delay_ms = 20000, .timeout_ms = 15000 };
	int rc;

	if (!topic_name_ok(name)) {
		size_t n = name ? strlen(name) : 0;
		if (n > 5 && !strcmp(name + n - 5, ".fifo"))
			return fail(err, errlen, NOTIFY_INVALID,
				    "Invalid parameter: Topic Name Reason: albd has standard topics only, not FIFO ones");
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Topic Name");
	}
	if (attrs && !json_is_object(attrs))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Attributes");
	if (tags && !json_is_array(tags))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Tags");
	if ((rc = topic_attrs_check(attrs, &d, err, errlen)) < 0 || (rc = tags_check(tags, err, errlen)) < 0)
		return rc;
	struct topic *t = find_topic(name);
	if (t) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)attrs, k, v) {
			const char *cur = topic_attr(t, k);
			if (!cur || strcmp(cur, json_string_value(v)) != 0)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: Attributes Reason: Topic already exists with different "
					    "attributes");
		}
		snprintf(arn, arnlen, "%s", t->arn);
		return NOTIFY_OK;
	}
	if (N.nrt >= NOTIFY_RT_TOPICS_MAX)
		return fail(err, errlen, NOTIFY_LIMIT, "Topic limit exceeded");
	struct rt_topic *nr = realloc(N.rt, (N.nrt + 1) * sizeof *nr);
	struct topic *nt = realloc(N.topics, (N.ntopics + 1) * sizeof *nt);
	if (nr)
		N.rt = nr;
	if (nt)
		N.topics = nt;
	if (!nr || !nt)
		return fail(err, errlen, NOTIFY_INTERNAL, "out of memory");
	struct rt_topic *r = &N.rt[N.nrt];
	r->name = strdup(name);
	r->attrs = attrs ? json_deep_copy(attrs) : json_object();
	r->tags = tags ? json_deep_copy(tags) : json_array();
	r->delivery = d;
	if (!r->name || !r->attrs || !r->tags) {
		rt_free(r);
		return fail(err, errlen, NOTIFY_INTERNAL, "out of memory");
	}
	N.nrt++;
	char why[300];
	if (rt_save(why, sizeof why) < 0) {
		N.nrt--;
		rt_free(r);
		log_err("notify: topic %s cannot be made: %s", name, why);
		return fail(err, errlen, NOTIFY_INTERNAL, "the topic cannot be kept: %s", why);
	}
	topic_init(&N.topics[N.ntopics++], NULL, r);
	log_info("notify: topic %s made through the API", name);
	snprintf(arn, arnlen, "%s", N.topics[N.ntopics - 1].arn);
	return NOTIFY_OK;
}

/* Take S out of its topic's list and N.subs (the caller frees or retires it). */
static void sub_detach(struct sub *s)
{
	struct topic *t = find_topic(s->topic_name);
	for (size_t i = 0; t && i < t->nsubs; i++) {
		if (t->subs[i] == s) {
			memmove(&t->subs[i], &t->subs[i + 1], (t->nsubs - i - 1) * sizeof t->subs[0]);
			t->nsubs--;
			break;
		}
	}
	for (size_t i = 0; i < N.nsubs; i++) {
		if (N.subs[i] == s) {
			memmove(&N.subs[i], &N.subs[i + 1], (N.nsubs - i - 1) * sizeof N.subs[0]);
			N.nsubs--;
			break;
		}
	}
}

int notify_topic_delete(const char *arn, char *err, size_t errlen)
{
	char why[300];

	if (!sns_arn_ok(arn, 1))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: TopicArn");
	struct topic *t = find_topic_arn(arn);
	if (!t)
		return NOTIFY_OK;   /* as SNS: deleting a topic that does not exist is not an error */
	if (!t->runtime)
		return fail(err, errlen, NOTIFY_DENIED,
			    "Topic %s is defined in the configuration file %s: albd deletes only the topics made "
			    "through the API (remove it from the file and reload)",
			    t->name, N.cfg_path ? N.cfg_path : "");
	size_t k;
	for (k = 0; k < N.nrt && strcmp(N.rt[k].name, t->name) != 0; k++)
		;
	if (k == N.nrt)
		return fail(err, errlen, NOTIFY_INTERNAL, "the topic %s has no record", t->name);
	struct rt_topic gone = N.rt[k];
	memmove(&N.rt[k], &N.rt[k + 1], (N.nrt - k - 1) * sizeof N.rt[0]);
	N.nrt--;
	if (rt_save(why, sizeof why) < 0) {
		memmove(&N.rt[k + 1], &N.rt[k], (N.nrt - k) * sizeof N.rt[0]);
		N.rt[k] = gone;
		N.nrt++;
		return fail(err, errlen, NOTIFY_INTERNAL, "the topic cannot be deleted: %s", why);
	}
	log_info("notify: topic %s deleted through the API", t->name);
	while (t->nsubs) {
		struct sub *s = t->subs[0];
		sub_detach(s);
		sub_retire(s, "the subscription's topic was deleted");
	}
	size_t i = (size_t)(t - N.topics);
	topic_free(t);
	memmove(&N.topics[i], &N.topics[i + 1], (N.ntopics - i - 1) * sizeof N.topics[0]);
	N.ntopics--;
	rt_free(&gone);
	return NOTIFY_OK;
}

/* Are the subscription attributes of RT those of S? */
static int same_settings(const struct sub *s, const struct rt_settings *rt, int has_raw, int has_dp)
{
	if (rt->filter && (!s->filter_text || strcmp(rt->filter, s->filter_text) != 0))
		return 0;
	if (has_raw && rt->raw != (s->fmt == NF_RAW))
		return 0;
	if (has_dp && (!s->rt_delivery || strcmp(rt->delivery, s->rt_delivery) != 0))
		return 0;
	return 1;
}

int notify_subscribe(const char *topic_arn, const char *protocol, const char *endpoint, const json_t *attrs,
		     char *arn, size_t arnlen, int *pending, char *err, size_t errlen)
{
	static const char *const other[] = { "email", "email-json", "sms", "sqs", "application", "lambda", "firehose",
					     NULL };
	struct rt_settings rt = { 0 };
	int has_raw = 0, has_dp = 0;
	char why[400];

	if (!sns_arn_ok(topic_arn, 1))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: TopicArn");
	struct topic *t = find_topic_arn(topic_arn);
	if (!t)
		return fail(err, errlen, NOTIFY_NOT_FOUND, "Topic does not exist");
	if (!protocol || !*protocol)
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Protocol");
	if (strcmp(protocol, "http") != 0 && strcmp(protocol, "https") != 0) {
		for (size_t i = 0; other[i]; i++)
			if (!strcmp(other[i], protocol))
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: Protocol Reason: albd delivers to http and https endpoints "
					    "only, not %s",
					    protocol);
		return fail(err, errlen, NOTIFY_INVALID,
			    "Invalid parameter: Amazon SNS does not support this protocol string: %s", protocol);
	}
	size_t pl = strlen(protocol);
	if (!endpoint || strncasecmp(endpoint, protocol, pl) != 0 || strncmp(endpoint + pl, "://", 3) != 0)
		return fail(err, errlen, NOTIFY_INVALID,
			    "Invalid parameter: Endpoint must match the specified protocol");
	if (strlen(endpoint) > MAX_ENDPOINT)
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Endpoint Reason: longer than %d characters",
			    MAX_ENDPOINT);
	struct nh_url u;
	if (nh_url_parse(endpoint, &u, why, sizeof why) < 0)
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Endpoint Reason: %s", why);
	nh_url_free(&u);
	if (attrs && !json_is_object(attrs))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Attributes");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)attrs, k, v) {
		const char *val = json_string_value(v);
		if (!val)
			return fail(err, errlen, NOTIFY_INVALID,
				    "Invalid parameter: Attributes Reason: %s: a string is required", k);
		if (!strcmp(k, "FilterPolicy")) {
			struct fp_policy *fp = fp_parse(val, why, sizeof why);
			if (!fp)
				return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: FilterPolicy: %s", why);
			fp_free(fp);
			rt.filter = val;
		} else if (!strcmp(k, "FilterPolicyScope")) {
			if (strcmp(val, "MessageAttributes") != 0)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: FilterPolicyScope Reason: albd filters on MessageAttributes "
					    "only");
		} else if (!strcmp(k, "RawMessageDelivery")) {
			if (strcasecmp(val, "true") != 0 && strcasecmp(val, "false") != 0)
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [%s]. "
					    "Must be true or false.",
					    val);
			rt.raw = !strcasecmp(val, "true");
			has_raw = 1;
		} else if (!strcmp(k, "DeliveryPolicy")) {
			struct cfg_delivery d = t->delivery;
			if (delivery_attr(val, 0, &d, err, errlen) < 0)
				return NOTIFY_INVALID;
			rt.delivery = val;
			has_dp = 1;
		} else {
			return fail(err, errlen, NOTIFY_INVALID,
				    "Invalid parameter: Attributes Reason: %s is not an attribute albd supports (it has "
				    "FilterPolicy, FilterPolicyScope, RawMessageDelivery and DeliveryPolicy)",
				    k);
		}
	}
	struct sub *s = find_sub(t->name, endpoint);
	if (s) {
		if (s->status != SUB_UNSUBSCRIBED) {
			if (!same_settings(s, &rt, has_raw, has_dp))
				return fail(err, errlen, NOTIFY_INVALID,
					    "Invalid parameter: Attributes Reason: Subscription already exists with "
					    "different attributes");
		} else {
			/* it unsubscribed: subscribed again, it is asked to confirm again */
			nf_random_hex(64, s->confirm_token);
			nf_random_hex(32, s->unsub_token);
			s->status = SUB_PENDING;
			if (save_state(s) < 0) {
				s->status = SUB_UNSUBSCRIBED;
				return fail(err, errlen, NOTIFY_INTERNAL,
					    "the subscription cannot be kept in state_dir (see albd's log)");
			}
			send_confirmation(s);
			log_info("notify: subscription %s of topic %s subscribed again through the API", s->arn, t->name);
		}
		snprintf(arn, arnlen, "%s", s->arn);
		*pending = s->status == SUB_PENDING;
		return NOTIFY_OK;
	}
	size_t nrt = 0;
	for (size_t i = 0; i < t->nsubs; i++)
		nrt += t->subs[i]->runtime;
	if (nrt >= NOTIFY_RT_SUBS_MAX)
		return fail(err, errlen, NOTIFY_LIMIT, "Subscription limit exceeded");
	if (!N.key) {
		/* the first subscription of this albd: the confirmation is signed */
		N.key = sns_key_load_or_create(N.dir, &N.cert_pem, why, sizeof why);
		if (!N.key) {
			log_err("notify: the SNS signing key: %s", why);
			return fail(err, errlen, NOTIFY_INTERNAL, "the SNS signing key: %s", why);
		}
	}
	struct cfg_topic tcfg = { .name = t->name };
	struct cfg_subscription c;
	struct sub tmp = { .endpoint = (char *)endpoint, .rt_filter = (char *)rt.filter, .rt_raw = rt.raw,
			   .rt_delivery = (char *)rt.delivery };
	rt_cfg(&tmp, t, &c);
	/* a state an earlier subscription of the endpoint left (none runs):
	 * this one is new, asked to confirm */
	char hash[33];
	sub_hash(t->name, endpoint, hash);
	char *old = xasprintf("%s/sub-%s/state.json", N.dir, hash);
	if (old)
		unlink(old);
	free(old);
	s = sub_new(&tcfg, &c, t->arn, &rt);
	if (!s)
		return fail(err, errlen, NOTIFY_INTERNAL, "out of memory");
	/* sub_new() wrote its state.json: a subscription that would not
	 * survive a restart is not made (written again to know) */
	int kept = save_state(s) == 0;

	if (!kept || subs_push(&t->subs, &t->nsubs, s) < 0 || subs_push(&N.subs, &N.nsubs, s) < 0) {
		sub_detach(s);
		sub_free(s);
		return fail(err, errlen, NOTIFY_INTERNAL, "%s",
			    kept ? "out of memory" : "the subscription cannot be kept in state_dir (see albd's log)");
	}
	log_info("notify: subscription %s of topic %s to %s made through the API (pending confirmation)", s->arn,
		 t->name, endpoint);
	snprintf(arn, arnlen, "%s", s->arn);
	*pending = 1;
	return NOTIFY_OK;
}

int notify_unsubscribe(const char *sub_arn, const char *token, char *err, size_t errlen)
{
	if (!sns_arn_ok(sub_arn, 2))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: SubscriptionArn");
	struct sub *s = find_sub_arn(sub_arn);
	if (!s)
		return fail(err, errlen, NOTIFY_NOT_FOUND, "Subscription does not exist");
	if (token && !tokens_equal(s->unsub_token, token))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid token");
	if (token && s->auth_unsub)
		return fail(err, errlen, NOTIFY_DENIED,
			    "The subscription was confirmed with AuthenticateOnUnsubscribe: only an authenticated "
			    "Unsubscribe removes it");
	if (s->runtime) {
		log_info("notify: subscription %s of topic %s unsubscribed%s: it goes", s->arn, s->topic_name,
			 token ? " by its endpoint" : " through the API");
		sub_detach(s);
		sub_retire(s, "the endpoint unsubscribed");
		return NOTIFY_OK;
	}
	if (s->status != SUB_UNSUBSCRIBED) {
		s->status = SUB_UNSUBSCRIBED;
		save_state(s);
		log_info("notify: subscription %s of topic %s unsubscribed%s", s->arn, s->topic_name,
			 token ? " by its endpoint" : " through the API");
		/* what it still had to get: dead letters, as for a removed subscription */
		struct entry *e, *next;
		for (e = TAILQ_FIRST(&s->q); e; e = next) {
			next = TAILQ_NEXT(e, link);
			if (e == s->inflight)
				continue;
			unlink_entry(s, e);
			dead_letter(s, e, "the endpoint unsubscribed");
		}
	}
	return NOTIFY_OK;
}

int notify_confirm(const char *topic_arn, const char *token, int auth_unsub, char *arn, size_t arnlen, char *err,
		   size_t errlen)
{
	struct sub *s = NULL;

	if (!sns_arn_ok(topic_arn, 1))
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: TopicArn");
	if (!token || !*token)
		return fail(err, errlen, NOTIFY_INVALID, "Invalid parameter: Token");
	for (size_t i = 0; i < N.nsubs && !s; i++)
		if (!strcmp(N.subs[i]->topic_arn, topic_arn) && tokens_equal(N.subs[i]->confirm_token, token))
			s = N.subs[i];
	if (!s && !find_topic_arn(topic_arn))
		return fail(err, errlen, NOTIFY_NOT_FOUND, "Topic does not exist");
	if (!s)
		return fail(err, errlen, NOTIFY_INVALID, "Invalid token");
	if (s->status != SUB_CONFIRMED || (auth_unsub && !s->auth_unsub)) {
		if (s->status != SUB_CONFIRMED)
			log_info("notify: subscription %s of topic %s confirmed", s->arn, s->topic_name);
		s->status = SUB_CONFIRMED;
		s->auth_unsub |= auth_unsub;
		save_state(s);
		kick(s);
	}
	snprintf(arn, arnlen, "%s", s->arn);
	return NOTIFY_OK;
}

/* ------------------------------------------------------------ admin API */

static json_t *describe_sub(const struct notify_sub_view *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:I}", "SubscriptionArn", v->arn, "TopicArn",
			      v->topic_arn, "Endpoint", v->endpoint, "Protocol", v->protocol, "Format", v->format,
			      "PendingConfirmation", !strcmp(v->status, "PendingConfirmation"), "ConfirmationState",
			      v->status, "Pending", (json_int_t)v->queued, "DeadLetters", (json_int_t)v->dead, "Delivered",
			      (json_int_t)v->delivered);
	if (o)
		json_object_set_new(o, "DeadLettersDropped", json_integer((json_int_t)v->dropped));
	if (o && v->filter_policy)
		json_object_set_new(o, "FilterPolicy", json_string(v->filter_policy));
	if (o)
		json_object_set_new(o, "RawMessageDelivery", json_boolean(!strcmp(v->format, "raw")));
	return o;
}

static json_t *describe_topic(const struct notify_topic_view *t)
{
	struct notify_sub_view sv;
	json_t *subs = json_array();
	for (size_t i = 0; subs && notify_sub_at(t->arn, i, &sv) == 0; i++)
		json_array_append_new(subs, describe_sub(&sv));
	return json_pack("{s:s, s:s, s:o}", "TopicArn", t->arn, "Name", t->name, "Subscriptions",
			 subs ? subs : json_array());
}

static void list_topics(struct admin_req *r, void *arg)
{
	struct notify_topic_view tv;
	json_t *arr = json_array();
	(void)arg;
	for (size_t i = 0; arr && notify_topic_at(i, &tv) == 0; i++)
		json_array_append_new(arr, describe_topic(&tv));
	admin_reply_json(r, 200, json_pack("{s:o}", "Topics", arr ? arr : json_array()));
}

static void publish(struct admin_req *r, struct topic *t)
{
	size_t len;
	const char *body = admin_req_body(r, &len);
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je);
	struct notify_attr attrs[MAX_ATTRS];
	size_t n = 0;
	char id[NOTIFY_ID_LEN], err[400];

	if (!json_is_object(j)) {
		admin_reply_error(r, 400, "InvalidParameter", "The body must be a JSON object: %s",
				  j ? "not an object" : je.text);
		goto out;
	}
	json_t *msg = json_object_get(j, "Message"), *subj = json_object_get(j, "Subject");
	json_t *ma = json_object_get(j, "MessageAttributes");
	if (!json_is_string(msg)) {
		admin_reply_error(r, 400, "InvalidParameter", "Message: a string is required");
		goto out;
	}
	if (subj && !json_is_null(subj) && !json_is_string(subj)) {
		admin_reply_error(r, 400, "InvalidParameter", "Subject: must be a string");
		goto out;
	}
	if (ma && !json_is_null(ma)) {
		const char *k;
		json_t *v;
		if (!json_is_object(ma)) {
			admin_reply_error(r, 400, "InvalidParameter", "MessageAttributes: must be an object");
			goto out;
		}
		if (json_object_size(ma) > MAX_ATTRS) {
			admin_reply_error(r, 400, "InvalidParameter", "MessageAttributes: at most %d", MAX_ATTRS);
			goto out;
		}
		json_object_foreach(ma, k, v) {
			const char *dt = json_string_value(json_object_get(v, "DataType"));
			const char *sv = json_string_value(json_object_get(v, "StringValue"));
			if (!dt || !sv) {
				admin_reply_error(r, 400, "InvalidParameter",
						  "MessageAttributes.%s: DataType and StringValue (strings) are required", k);
				goto out;
			}
			attrs[n++] = (struct notify_attr){ k, dt, sv };
		}
	}
	struct notify_msg m = {
		.subject = json_string_value(subj),
		.message = json_string_value(msg),
		.attrs = attrs,
		.nattrs = n,
	};
	if (notify_publish(t->name, &m, id, err, sizeof err) < 0) {
		int spool = !strncmp(err, "the spool", 9) || !strncmp(err, "out of memory", 13);
		admin_reply_error(r, spool ? 500 : 400, spool ? "InternalFailure" : "InvalidParameter", "%s", err);
		goto out;
	}
	admin_reply_json(r, 200, json_pack("{s:s}", "MessageId", id));
out:
	json_decref(j);
}

/* The dead-letter files of topic T, in order: its subscriptions', then
 * those of its retired ones. */
struct dl_src {
	const char *hash, *dlq, *endpoint;
	struct sub *sub;            /* NULL: retired */
	struct retired *ret;
};

static size_t dl_sources(const struct topic *t, struct dl_src **out)
{
	size_t n = 0;
	struct dl_src *v = calloc(t->nsubs + N.nretired + 1, sizeof *v);
	*out = v;
	if (!v)
		return 0;
	for (size_t i = 0; i < t->nsubs; i++)
		v[n++] = (struct dl_src){ strrchr(t->subs[i]->dir, '/') + 5, t->subs[i]->dlq, t->subs[i]->endpoint,
					  t->subs[i], NULL };
	for (size_t i = 0; i < N.nretired; i++)
		if (!strcmp(N.retired[i].topic, t->name))
			v[n++] = (struct dl_src){ N.retired[i].hash, N.retired[i].dlq, N.retired[i].endpoint, NULL,
						  &N.retired[i] };
	return n;
}

static size_t dl_count(const struct dl_src *d)
{
	return d->sub ? d->sub->ndead : d->ret->ndead;
}

/* GET /api/v1/topics/NAME/dead-letters[?MaxItems=N][&NextToken=T]: a page
 * of at most MaxItems (default 100, at most 1000); NextToken, when the
 * answer has one, asks for the next page (HASH.OFFSET: a file and where
 * in it). Only the lines of the page are read. */
static void list_dead_letters(struct admin_req *r, struct topic *t)
{
	const char *mx = admin_req_query(r, "MaxItems"), *tok = admin_req_query(r, "NextToken");
	size_t max = DLQ_PAGE_DEFAULT, k = 0;
	uint64_t off = 0;
	struct dl_src *src;
	size_t n = dl_sources(t, &src);
	json_t *page = json_array();
	char next[64] = "";

	if (mx) {
		char *end;
		unsigned long v = strtoul(mx, &end, 10);
		if (!*mx || *end || v < 1 || v > DLQ_PAGE_MAX) {
			admin_reply_error(r, 400, "InvalidParameter", "MaxItems: a number from 1 to %d", DLQ_PAGE_MAX);
			goto out;
		}
		max = v;
	}
	if (tok) {
		const char *dot = strchr(tok, '.');
		char *end;
		for (k = 0; dot && k < n; k++)
			if ((size_t)(dot - tok) == 32 && !strncmp(src[k].hash, tok, 32))
				break;
		if (dot) {
			errno = 0;
			off = strtoull(dot + 1, &end, 16);
		}
		if (!dot || k == n || !dot[1] || *end || errno) {
			admin_reply_error(r, 400, "InvalidParameter", "NextToken: not a token this topic gave");
			goto out;
		}
	}
	if (!src || !page) {
		admin_reply_error(r, 500, "InternalFailure", "out of memory");
		goto out;
	}
	for (; k < n && json_array_size(page) < max; k++, off = 0) {
		json_t *got = json_array();
		uint64_t nx = 0;
		int c = got ? ns_jsonl_page(src[k].dlq, off, max - json_array_size(page), got, &nx) : -1;
		if (c < 0) {
			admin_reply_error(r, 500, "InternalFailure", "cannot read %s: %s", src[k].dlq, strerror(errno));
			json_decref(got);
			goto out;
		}
		size_t i;
		json_t *l;
		json_array_foreach(got, i, l) {
			if (!src[k].sub)
				json_object_set_new(l, "Retired", json_true());
			json_array_append(page, l);
		}
		json_decref(got);
		if (nx) {
			snprintf(next, sizeof next, "%s.%llx", src[k].hash, (unsigned long long)nx);
			break;
		}
	}
	if (!next[0]) {
		/* the page is full at the end of a file: the next file with letters */
		for (; k < n; k++) {
			if (json_array_size(page) >= max && dl_count(&src[k])) {
				snprintf(next, sizeof next, "%s.0", src[k].hash);
				break;
			}
		}
	}
	json_t *ans = json_pack("{s:s, s:O}", "TopicArn", t->arn, "DeadLetters", page);
	if (ans && next[0])
		json_object_set_new(ans, "NextToken", json_string(next));
	admin_reply_json(r, 200, ans);
out:
	json_decref(page);
	free(src);
}

static const char *const dl_extras[] = { "TopicArn", "SubscriptionArn", "Endpoint", "Attempts", "LastError",
					 "DeadLetteredAt", "Retired" };

struct redrive_ctx {
	struct sub *to;             /* where the messages go; NULL: none (they stay) */
	const char *only;           /* MessageId, or NULL for all */
	size_t n, limit, matched;
	int failed;
	char err[300];
};

static int redrive_line(json_t *l, void *arg)
{
	struct redrive_ctx *c = arg;
	struct sub *s = c->to;
	const char *id = json_string_value(json_object_get(l, "MessageId"));
	const char *type = json_string_value(json_object_get(l, "Type"));

	if (c->only && strcmp(id, c->only) != 0)
		return 1;
	c->matched++;
	if (!s || c->failed || c->n >= c->limit || s->status == SUB_UNSUBSCRIBED ||
	    (s->status != SUB_CONFIRMED && strcmp(type, "SubscriptionConfirmation") != 0))
		return 1;
	json_t *rec = json_deep_copy(l);
	for (size_t k = 0; rec && k < sizeof dl_extras / sizeof dl_extras[0]; k++)
		json_object_del(rec, dl_extras[k]);
	int ok = rec && spool_to(s, rec, 0, c->err, sizeof c->err) == 0;
	json_decref(rec);
	if (!ok) {
		c->failed = 1;
		if (!rec)
			snprintf(c->err, sizeof c->err, "out of memory");
		return 1;
	}
	c->n++;
	return 0;
}

/* Redrive the dead letters in D (those with MessageId ONLY, when not
 * NULL) to TO, at most LIMIT: back into TO's spool with their MessageId
 * and Timestamp; the file keeps the rest. A crash between the spool and
 * the rewrite sends a message twice (with its MessageId), never loses
 * one. Returns the number redriven, -1 with ERR. */
static int redrive_src(struct dl_src *d, struct sub *to, const char *only, size_t limit, size_t *matched,
		       char *err, size_t errlen)
{
	struct redrive_ctx c = { .to = to, .only = only, .limit = limit };
	struct stat st;

	if (!dl_count(d) || !to || !limit)
		return 0;   /* nothing to do: the file is not rewritten */
	int kept = ns_jsonl_filter(d->dlq, redrive_line, &c, err, errlen);
	*matched += c.matched;
	if (kept < 0)
		return -1;
	if (d->sub) {
		d->sub->ndead = (size_t)kept;
		d->sub->dead_bytes = stat(d->dlq, &st) == 0 ? (uint64_t)st.st_size : 0;
	} else {
		d->ret->ndead = (size_t)kept;
	}
	if (to)
		kick(to);
	if (c.failed) {
		snprintf(err, errlen, "%s", c.err);
		return -1;
	}
	return (int)c.n;
}

/* POST /api/v1/topics/NAME/dead-letters/redrive[?MessageId=ID]: at most
 * REDRIVE_BATCH per request ("Remaining" says how many are left: ask
 * again). A retired subscription's letters go to the topic's subscription
 * with the same endpoint when there is one, else they stay
 * ("LeftInRetired"). */
static void redrive(struct admin_req *r, struct topic *t)
{
	const char *only = admin_req_query(r, "MessageId");
	char err[400];
	size_t total = 0, left_retired = 0, matched = 0, remaining = 0;
	struct dl_src *src;
	size_t n = dl_sources(t, &src);

	if (!src) {
		admin_reply_error(r, 500, "InternalFailure", "out of memory");
		return;
	}
	for (size_t k = 0; k < n; k++) {
		struct sub *to = src[k].sub;
		for (size_t i = 0; !to && i < t->nsubs; i++)
			if (!strcmp(t->subs[i]->endpoint, src[k].endpoint))
				to = t->subs[i];
		int got = redrive_src(&src[k], to, only, total < REDRIVE_BATCH ? REDRIVE_BATCH - total : 0, &matched,
				      err, sizeof err);
		if (got < 0) {
			admin_reply_error(r, 500, "InternalFailure", "%s", err);
			free(src);
			return;
		}
		total += (size_t)got;
		remaining += dl_count(&src[k]);
		if (!to)
			left_retired += dl_count(&src[k]);
	}
	free(src);
	if (total)
		log_info("notify: topic %s: %zu dead letters redriven", t->name, total);
	json_t *ans = json_pack("{s:s, s:I, s:I}", "TopicArn", t->arn, "Redriven", (json_int_t)total, "Remaining",
				(json_int_t)remaining);
	if (ans && left_retired) {
		json_object_set_new(ans, "LeftInRetired", json_integer((json_int_t)left_retired));
		json_object_set_new(ans, "Note", json_string("dead letters of subscriptions no longer configured stay "
							     "until a subscription of the topic to their endpoint is "
							     "configured again"));
	}
	admin_reply_json(r, 200, ans);
}

static void topic_path(struct admin_req *r, void *arg)
{
	const char *path = admin_req_path(r) + strlen(TOPICS_PREFIX);
	const char *method = admin_req_method(r);
	const char *slash = strchr(path, '/');
	size_t nl = slash ? (size_t)(slash - path) : strlen(path);
	const char *rest = slash ? slash : "";
	char name[300];
	(void)arg;

	if (nl == 0 || nl >= sizeof name) {
		admin_reply_error(r, 404, "NotFound", "No such topic");
		return;
	}
	memcpy(name, path, nl);
	name[nl] = 0;
	struct topic *t = find_topic(name);
	int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
	int known = !*rest || !strcmp(rest, "/publish") || !strcmp(rest, "/dead-letters") ||
		    !strcmp(rest, "/dead-letters/redrive");
	if (!known) {
		admin_reply_error(r, 404, "NotFound", "No such endpoint: %s", admin_req_path(r));
		return;
	}
	if (!t) {
		admin_reply_error(r, 404, "NotFound", "Topic does not exist: %s", name);
		return;
	}
	struct notify_topic_view tv;
	if (!*rest && get && notify_topic_find(t->name, 1, &tv) == 0)
		admin_reply_json(r, 200, describe_topic(&tv));
	else if (!strcmp(rest, "/publish") && post)
		publish(r, t);
	else if (!strcmp(rest, "/dead-letters") && get)
		list_dead_letters(r, t);
	else if (!strcmp(rest, "/dead-letters/redrive") && post)
		redrive(r, t);
	else
		admin_reply_error(r, 405, "MethodNotAllowed", "%s is not allowed on %s", method, admin_req_path(r));
}

/* SNS's answers to the SubscribeURL and UnsubscribeURL are XML. */
static void sns_xml_error(struct admin_req *r, int status, const char *code, const char *msg)
{
	char id[37], body[1024];
	nf_uuid4(id);
	snprintf(body, sizeof body,
		 "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n  <Error>\n    "
		 "<Type>Sender</Type>\n    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n  "
		 "<RequestId>%s</RequestId>\n</ErrorResponse>\n",
		 code, msg, id);
	admin_reply(r, status, "text/xml", body, strlen(body));
}

static void sns_action(struct admin_req *r, void *arg)
{
	const char *action = admin_req_query(r, "Action");
	const char *token = admin_req_query(r, "Token");
	char id[37], body[2048];
	(void)arg;

	nf_uuid4(id);
	if (!action || (strcmp(action, "ConfirmSubscription") && strcmp(action, "Unsubscribe"))) {
		sns_xml_error(r, 400, "InvalidAction", "Action must be ConfirmSubscription or Unsubscribe");
		return;
	}
	if (!token) {
		sns_xml_error(r, 400, "InvalidParameter", "Token is required");
		return;
	}
	if (!strcmp(action, "ConfirmSubscription")) {
		char arn[600], err[300];
		if (notify_confirm(admin_req_query(r, "TopicArn"), token, 0, arn, sizeof arn, err, sizeof err) < 0) {
			sns_xml_error(r, 400, "InvalidParameter", "Invalid token");
			return;
		}
		snprintf(body, sizeof body,
			 "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n"
			 "  <ConfirmSubscriptionResult>\n    <SubscriptionArn>%s</SubscriptionArn>\n"
			 "  </ConfirmSubscriptionResult>\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n"
			 "  </ResponseMetadata>\n</ConfirmSubscriptionResponse>\n",
			 arn, id);
	} else {
		char err[300];
		int rc = notify_unsubscribe(admin_req_query(r, "SubscriptionArn"), token, err, sizeof err);
		if (rc == NOTIFY_DENIED) {
			sns_xml_error(r, 403, "AuthorizationError", err);
			return;
		}
		if (rc < 0) {
			sns_xml_error(r, 400, "InvalidParameter", "Invalid token");
			return;
		}
		snprintf(body, sizeof body,
			 "<UnsubscribeResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n"
			 "  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n"
			 "</UnsubscribeResponse>\n",
			 id);
	}
	admin_reply(r, 200, "text/xml", body, strlen(body));
}

static void signing_cert(struct admin_req *r, void *arg)
{
	(void)arg;
	if (!N.cert_pem) {
		admin_reply_error(r, 404, "NotFound", "no signing certificate: no topic has subscriptions");
		return;
	}
	admin_reply(r, 200, "application/x-pem-file", N.cert_pem, strlen(N.cert_pem));
}

/* The signing key, loaded or (the first time, an RSA 2048 key: a second or
 * so) created, once a config has subscriptions or the key exists: a config
 * without topics starts without the wait. Returns 0 or -1 with WHY. */
static int ensure_key(const struct albd_config *cfg, char *why, size_t whylen)
{
	char path[4096];
	int need = 0;

	if (N.key)
		return 0;
	for (size_t i = 0; i < cfg->ntopics && !need; i++)
		need = cfg->topics[i].nsubs > 0;
	snprintf(path, sizeof path, "%s/%s", N.dir, SNS_KEY_FILE);
	if (!need && access(path, F_OK) != 0)
		return 0;
	N.key = sns_key_load_or_create(N.dir, &N.cert_pem, why, whylen);
	return N.key ? 0 : -1;
}

/* ------------------------------------------------------------ life */

static int boot_cmp(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "CreatedAt"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "CreatedAt"));
	if (x != y)
		return x < y ? -1 : 1;
	const char *p = json_string_value(json_object_get(*(json_t *const *)a, "SubscriptionArn"));
	const char *q = json_string_value(json_object_get(*(json_t *const *)b, "SubscriptionArn"));
	return strcmp(p ? p : "", q ? q : "");
}

/* At start: the run-time topics (topics.json) into N.rt, and the states
 * of the run-time subscriptions into N.boot for notify_apply(). */
static void load_runtime(void)
{
	for (size_t i = 0; i < N.nrt; i++)
		rt_free(&N.rt[i]);
	N.nrt = 0;
	json_decref(N.boot);
	char *path = xasprintf("%s/topics.json", N.dir);
	json_t *doc = path ? ns_json_read(path) : NULL;
	size_t i;
	json_t *o;
	int damaged = 0;

	if (!doc && path && errno != ENOENT) {
		damaged = 1;
		/* set aside (never overwritten by the next CreateTopic) */
		char *aside = xasprintf("%s.corrupt", path);
		log_err("notify: %s is unreadable or not JSON: the topics made through the API are not there (the "
			"file is kept as %s)",
			path, aside ? aside : "it is");
		if (aside && rename(path, aside) < 0)
			log_err("notify: cannot rename %s: %s", path, strerror(errno));
		free(aside);
	}
	if (doc && !json_is_array(json_object_get(doc, "Topics"))) {
		log_err("notify: %s has no list of Topics: the topics made through the API are not there", path);
		damaged = 1;
	}
	json_array_foreach(json_object_get(doc, "Topics"), i, o) {
		const char *name = attr_str(o, "Name");
		json_t *attrs = json_object_get(o, "Attributes"), *tags = json_object_get(o, "Tags");
		struct cfg_delivery d = { .retries = 3, .min_delay_ms = 20000, .max_delay_ms = 20000, .timeout_ms = 15000 };
		char why[400];
		int dup = 0;
		for (size_t k = 0; name && k < N.nrt; k++)
			dup |= !strcmp(N.rt[k].name, name);
		if (!topic_name_ok(name) || dup || (attrs && !json_is_object(attrs)) || (tags && !json_is_array(tags)) ||
		    topic_attrs_check(attrs, &d, why, sizeof why) < 0) {
			log_err("notify: %s: topic %zu is not one albd wrote: left out", path, i);
			damaged = 1;
			continue;
		}
		struct rt_topic *nr = realloc(N.rt, (N.nrt + 1) * sizeof *nr);
		if (!nr) {
			damaged = 1;
			break;
		}
		N.rt = nr;
		nr[N.nrt] = (struct rt_topic){ strdup(name), attrs ? json_deep_copy(attrs) : json_object(),
					       tags ? json_deep_copy(tags) : json_array(), d };
		if (!nr[N.nrt].name || !nr[N.nrt].attrs || !nr[N.nrt].tags) {
			rt_free(&nr[N.nrt]);
			damaged = 1;
			break;
		}
		N.nrt++;
	}
	if (damaged && doc) {
		/* the next CreateTopic or DeleteTopic rewrites the file without
		 * what was left out: keep it as it was beside it */
		char err[300], *text = json_dumps(doc, JSON_COMPACT);

		if (!text || ns_write_atomic(N.dir, "topics.json.corrupt", text, strlen(text), err, sizeof err) < 0)
			log_err("notify: cannot keep a copy of %s", path);
		else
			log_err("notify: %s as it was is kept in %s/topics.json.corrupt", path, N.dir);
		free(text);
	}
	N.rt_damaged = damaged;
	json_decref(doc);
	free(path);

	N.boot = json_array();
	DIR *dir = opendir(N.dir);
	struct dirent *de;
	while (dir && N.boot && (de = readdir(dir))) {
		if (strncmp(de->d_name, "sub-", 4) != 0)
			continue;
		char *state = xasprintf("%s/%s/state.json", N.dir, de->d_name);
		json_t *st = state ? ns_json_read(state) : NULL;
		if (json_is_true(json_object_get(st, "Runtime")))
			json_array_append(N.boot, st);
		json_decref(st);
		free(state);
	}
	if (dir)
		closedir(dir);
	/* in the order they were made, as they were listed before */
	size_t nb = json_array_size(N.boot);
	json_t **v = nb ? calloc(nb, sizeof *v) : NULL;
	if (v) {
		for (size_t k = 0; k < nb; k++)
			v[k] = json_incref(json_array_get(N.boot, k));
		qsort(v, nb, sizeof *v, boot_cmp);
		json_array_clear(N.boot);
		for (size_t k = 0; k < nb; k++)
			json_array_append_new(N.boot, v[k]);
		free(v);
	}
}

void notify_set_dlq_limits(size_t max_messages, uint64_t max_bytes)
{
	N.dlq_max = max_messages;
	N.dlq_max_bytes = max_bytes;
}

void notify_set_mem_limit(uint64_t max_bytes)
{
	N.mem_max = max_bytes;
}

size_t notify_held_in_memory(void)
{
	return N.nmem;
}

int notify_init(struct event_base *base, const struct albd_gen *gen, char *err, size_t errlen)
{
	const struct albd_config *cfg = gen->cfg;
	char why[400];

	N.base = base;
	N.dir = xasprintf("%s/notify", cfg->state_dir);
	if (!N.dir || ns_mkdir_aside(N.dir) < 0) {
		snprintf(err, errlen, "%s: state_dir: cannot create %s/notify: %s", cfg->path, cfg->state_dir,
			 strerror(errno));
		return -1;
	}
	if (!N.dns) {
		/* names of endpoints are resolved per attempt, never blocking
		 * the loop (/etc/hosts first, then resolv.conf's servers) */
		N.dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (!N.dns) {
			log_warn("notify: cannot read the resolver's configuration: endpoints given by name use "
				 "/etc/hosts only");
			N.dns = evdns_base_new(base, 0);
			if (N.dns)
				evdns_base_load_hosts(N.dns, NULL);
		}
	}
	if (ensure_key(cfg, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: state_dir: the SNS signing key: %s", cfg->path, why);
		return -1;
	}
	if (!N.routed) {
		admin_route("GET", "/api/v1/topics", 0, list_topics, NULL);
		admin_route("GET", TOPICS_PREFIX, ADMIN_PREFIX, topic_path, NULL);
		admin_route("POST", TOPICS_PREFIX, ADMIN_PREFIX, topic_path, NULL);
		admin_route("GET", SNS_PATH, ADMIN_OPEN, sns_action, NULL);
		admin_route("GET", CERT_PATH, ADMIN_OPEN, signing_cert, NULL);
		N.routed = 1;
	}
	load_runtime();
	notify_apply(gen);
	json_decref(N.boot);
	N.boot = NULL;
	retire_orphans();
	return 0;
}

void notify_shutdown(void)
{
	/* what is held in memory: into the spool, else lost (said loudly) */
	if (N.respool_timer) {
		event_free(N.respool_timer);
		N.respool_timer = NULL;
	}
	char err[300];
	struct entry *e, *next;
	size_t lost = 0;
	for (e = TAILQ_FIRST(&N.mem_q); e; e = next) {
		next = TAILQ_NEXT(e, mem_link);
		if (respool(e, err, sizeof err) < 0) {
			lost++;
			log_err("notify: %s: message %s is LOST at this stop: it was held in memory and the spool still "
				"cannot be written (%s)",
				e->sub->endpoint, json_string_value(json_object_get(e->rec, "MessageId")), err);
		}
	}
	if (lost)
		log_err("notify: %zu undelivered messages held in memory are lost at this stop", lost);
	for (size_t i = 0; i < N.nsubs; i++)
		sub_free(N.subs[i]);
	free(N.subs);
	N.subs = NULL;
	N.nsubs = 0;
	for (size_t i = 0; i < N.nretired; i++)
		retired_free(&N.retired[i]);
	free(N.retired);
	N.retired = NULL;
	N.nretired = 0;
	if (N.dns) {
		evdns_base_free(N.dns, 1);
		N.dns = NULL;
	}
	struct dns_q *q;
	while ((q = LIST_FIRST(&N.dq))) {   /* cancelled lookups evdns never called back */
		LIST_REMOVE(q, link);
		free(q);
	}
	free_topics();
	for (size_t i = 0; i < N.nrt; i++)
		rt_free(&N.rt[i]);
	free(N.rt);
	N.rt = NULL;
	N.nrt = 0;
	free(N.region);
	free(N.account);
	free(N.cfg_path);
	N.region = N.account = N.cfg_path = NULL;
	EVP_PKEY_free(N.key);
	N.key = NULL;
	free(N.cert_pem);
	N.cert_pem = NULL;
	free(N.dir);
	N.dir = NULL;
	free(N.base_url);
	N.base_url = NULL;
	free(N.cert_url);
	N.cert_url = NULL;
}
