/* notify_format.c - see notify_format.h */
#include "control/notify_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "control/backoff.h"
#include "control/filter_policy.h"
#include "control/sns_sign.h"
#include "core/config.h"
#include "core/uri.h"

int nf_format_parse(const char *name)
{
	if (!name || !strcmp(name, "sns"))
		return NF_SNS;
	if (!strcmp(name, "slack"))
		return NF_SLACK;
	if (!strcmp(name, "raw"))
		return NF_RAW;
	return -1;
}

const char *nf_format_name(enum nf_format f)
{
	return f == NF_SLACK ? "slack" : f == NF_RAW ? "raw" : "sns";
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void nf_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

int nf_uuid_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];
		if (dash ? c != '-' : uri_hexval((unsigned char)c) < 0)
			return 0;
	}
	return 1;
}

int nf_hex_valid(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int nf_timestamp_valid(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS.mmmZ, 2000 to 9999, fields in range */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	unsigned y, mo, d, h, mi, sec;
	if (!s || strlen(s) != sizeof shape - 1)
		return 0;
	for (size_t i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return 0;
	if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u", &y, &mo, &d, &h, &mi, &sec) != 6)
		return 0;
	return y >= 2000 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 60;
}

int nf_record_check(const json_t *rec, char *err, size_t errlen)
{
	const char *type = str(rec, "Type");
	const json_t *v;

	if (!json_is_object(rec)) {
		nf_err(err, errlen, "not a JSON object");
		return -1;
	}
	if (!type || (strcmp(type, "Notification") && strcmp(type, "SubscriptionConfirmation"))) {
		nf_err(err, errlen, "Type is not Notification or SubscriptionConfirmation");
		return -1;
	}
	if (!nf_uuid_valid(str(rec, "MessageId"))) {
		nf_err(err, errlen, "no MessageId, or one that is not a UUID");
		return -1;
	}
	if (!nf_timestamp_valid(str(rec, "Timestamp")) || !str(rec, "Message")) {
		nf_err(err, errlen, "no Timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ) or Message");
		return -1;
	}
	if ((v = json_object_get(rec, "Attempts")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)) {
		nf_err(err, errlen, "Attempts is not a count");
		return -1;
	}
	if ((v = json_object_get(rec, "Subject")) && !json_is_string(v)) {
		nf_err(err, errlen, "Subject is not a string");
		return -1;
	}
	if (!strcmp(type, "SubscriptionConfirmation")) {
		const char *tok = str(rec, "Token");
		if (!tok || !*tok || strlen(tok) > 256 || !nf_hex_valid(tok, strlen(tok))) {
			nf_err(err, errlen, "a SubscriptionConfirmation without a Token of hex digits");
			return -1;
		}
	}
	if ((v = json_object_get(rec, "MessageAttributes"))) {
		const char *k;
		json_t *a;
		if (!json_is_object(v)) {
			nf_err(err, errlen, "MessageAttributes is not an object");
			return -1;
		}
		json_object_foreach((json_t *)v, k, a) {
			if (!str(a, "Type") || !str(a, "Value")) {
				nf_err(err, errlen, "a MessageAttribute without Type or Value");
				return -1;
			}
		}
	}
	if ((v = json_object_get(rec, "Alarm")) && !json_is_object(v)) {
		nf_err(err, errlen, "Alarm is not an object");
		return -1;
	}
	return 0;
}

char *nf_confirmation_text(const char *topic_arn)
{
	static const char fmt[] = "You have chosen to subscribe to the topic %s.\n"
				  "To confirm the subscription, visit the SubscribeURL included in this message.";
	size_t n = sizeof fmt + strlen(topic_arn);
	char *s = malloc(n);
	if (s)
		snprintf(s, n, fmt, topic_arn);
	return s;
}

/* ------------------------------------------------------------------ sns */

static int set_str(json_t *o, const char *k, const char *v)
{
	json_t *s = json_string(v);
	return s ? json_object_set_new(o, k, s) : -1;
}

static int render_sns(const json_t *rec, const struct nf_ctx *ctx, struct nf_body *out, char *err, size_t errlen)
{
	const char *type = str(rec, "Type");
	int confirm = !strcmp(type, "SubscriptionConfirmation");
	const char *subject = confirm ? NULL : str(rec, "Subject");
	struct sns_fields f = {
		.type = type,
		.message_id = str(rec, "MessageId"),
		.topic_arn = ctx->topic_arn,
		.subject = subject,
		.message = str(rec, "Message"),
		.timestamp = str(rec, "Timestamp"),
		.token = confirm ? str(rec, "Token") : NULL,
		.subscribe_url = confirm ? ctx->subscribe_url : NULL,
		.signature_version = "2",
	};
	char *sig = NULL;
	json_t *o = NULL;
	int rc = -1;

	if (!ctx->key || !ctx->topic_arn || !ctx->signing_cert_url || (confirm && !ctx->subscribe_url) ||
	    (!confirm && !ctx->unsubscribe_url)) {
		nf_err(err, errlen, "incomplete context");
		return -1;
	}
	if (sns_sign(ctx->key, &f, &sig, err, errlen) < 0)
		return -1;
	o = json_object();
	if (!o)
		goto out;
	/* SNS's order (the developer guide's examples) */
	int bad = set_str(o, "Type", type) | set_str(o, "MessageId", f.message_id);
	if (confirm)
		bad |= set_str(o, "Token", f.token);
	bad |= set_str(o, "TopicArn", f.topic_arn);
	if (subject)
		bad |= set_str(o, "Subject", subject);
	bad |= set_str(o, "Message", f.message);
	if (confirm)
		bad |= set_str(o, "SubscribeURL", f.subscribe_url);
	bad |= set_str(o, "Timestamp", f.timestamp) | set_str(o, "SignatureVersion", "2") |
	       set_str(o, "Signature", sig) | set_str(o, "SigningCertURL", ctx->signing_cert_url);
	if (!confirm) {
		bad |= set_str(o, "UnsubscribeURL", ctx->unsubscribe_url);
		json_t *ma = json_object_get(rec, "MessageAttributes");
		if (ma && json_object_size(ma))
			bad |= json_object_set(o, "MessageAttributes", ma);
	}
	if (bad)
		goto out;
	out->body = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2));
	if (!out->body)
		goto out;
	out->len = strlen(out->body);
	out->content_type = "text/plain; charset=UTF-8";
	rc = 0;
out:
	if (rc < 0 && err && errlen && !*err)
		nf_err(err, errlen, "out of memory");
	json_decref(o);
	free(sig);
	return rc;
}

/* ---------------------------------------------------------------- slack */

/* The alarm REC is about: a Message that is CloudWatch's alarm JSON (a
 * new reference in *HOLD; it has the Trigger), else the record's Alarm.
 * NULL when none. */
static const json_t *alarm_of(const json_t *rec, json_t **hold)
{
	const json_t *a = json_object_get(rec, "Alarm");
	const char *m = str(rec, "Message");
	*hold = NULL;
	if (m && *m == '{') {
		json_t *j = json_loads(m, 0, NULL);
		if (json_is_object(j) && str(j, "AlarmName") && str(j, "NewStateValue")) {
			*hold = j;
			return j;
		}
		json_decref(j);
	}
	if (json_is_object(a) && str(a, "AlarmName") && str(a, "NewStateValue"))
		return a;
	return NULL;
}

static const char *slack_color(const char *state)
{
	if (!strcmp(state, "ALARM"))
		return "danger";
	if (!strcmp(state, "OK"))
		return "good";
	return "warning";
}

/* seconds since the epoch of an ISO 8601 UTC time, 0 when unreadable */
static long long iso_seconds(const char *s)
{
	struct tm tm = { 0 };
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static int render_slack(const json_t *rec, const struct nf_ctx *ctx, struct nf_body *out, char *err, size_t errlen)
{
	json_t *hold, *o = json_object(), *att = json_object(), *atts = json_array();
	const json_t *a = alarm_of(rec, &hold);
	const char *type = str(rec, "Type");
	const char *subject = str(rec, "Subject"), *message = str(rec, "Message");
	int bad = !o || !att || !atts;
	char *text = NULL;

	if (bad)
		goto out;
	if (!strcmp(type, "SubscriptionConfirmation")) {
#define SLACK_CONFIRM "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, visit the SubscribeURL: %s"
		size_t n = sizeof SLACK_CONFIRM + strlen(ctx->topic_arn ? ctx->topic_arn : "") +
			   strlen(ctx->subscribe_url ? ctx->subscribe_url : "");
		if ((text = malloc(n)))
			snprintf(text, n, SLACK_CONFIRM, ctx->topic_arn ? ctx->topic_arn : "",
				 ctx->subscribe_url ? ctx->subscribe_url : "");
		bad |= !text || set_str(o, "text", text);
		json_decref(att);
		att = NULL;
	} else if (a) {
		const char *name = str(a, "AlarmName"), *ns = str(a, "NewStateValue");
		const char *os = str(a, "OldStateValue"), *reason = str(a, "NewStateReason");
		size_t n = strlen(name) + strlen(ns) + (os ? strlen(os) : 0) + 40;
		if ((text = malloc(n))) {
			if (os)
				snprintf(text, n, "Alarm \"%s\" is now %s (was %s)", name, ns, os);
			else
				snprintf(text, n, "Alarm \"%s\" is now %s", name, ns);
		}
		bad |= !text || set_str(o, "text", text) || set_str(att, "fallback", text) ||
		       set_str(att, "color", slack_color(ns)) || set_str(att, "title", name) ||
		       set_str(att, "text", reason ? reason : "");
		json_t *fields = json_array();
		json_t *f1 = json_pack("{s:s, s:s, s:b}", "title", "New state", "value", ns, "short", 1);
		json_t *f2 = os ? json_pack("{s:s, s:s, s:b}", "title", "Old state", "value", os, "short", 1) : NULL;
		bad |= !fields || !f1 || (os && !f2);
		if (fields && f1)
			json_array_append(fields, f1);
		if (fields && f2)
			json_array_append(fields, f2);
		json_decref(f1);
		json_decref(f2);
		if (fields)
			bad |= json_object_set_new(att, "fields", fields);
		if (ctx->topic_arn)
			bad |= set_str(att, "footer", ctx->topic_arn);
		long long ts = iso_seconds(str(a, "StateChangeTime"));
		if (!ts)
			ts = iso_seconds(str(rec, "Timestamp"));
		bad |= json_object_set_new(att, "ts", json_integer(ts));
	} else if (subject) {
		bad |= set_str(o, "text", subject) || set_str(att, "fallback", subject) || set_str(att, "text", message);
	} else {
		bad |= set_str(o, "text", message);
		json_decref(att);
		att = NULL;
	}
	if (att) {
		bad |= json_array_append_new(atts, att);
		att = NULL;
		bad |= json_object_set_new(o, "attachments", atts);
		atts = NULL;
	}
	if (bad)
		goto out;
	out->body = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	if (!out->body) {
		bad = 1;
		goto out;
	}
	out->len = strlen(out->body);
	out->content_type = "application/json";
out:
	if (bad)
		nf_err(err, errlen, "out of memory or a string that is not UTF-8");
	free(text);
	json_decref(att);
	json_decref(atts);
	json_decref(o);
	json_decref(hold);
	return bad ? -1 : 0;
}

int nf_render(enum nf_format f, const json_t *rec, const struct nf_ctx *ctx, struct nf_body *out, char *err,
	      size_t errlen)
{
	if (err && errlen)
		*err = 0;
	memset(out, 0, sizeof *out);
	if (nf_record_check(rec, err, errlen) < 0)
		return -1;
	/* a confirmation is SNS's JSON whatever the format (as SNS does with
	 * raw message delivery), but Slack's: a Slack webhook shows text only */
	if (f == NF_SLACK)
		return render_slack(rec, ctx, out, err, errlen);
	if (f == NF_RAW && strcmp(str(rec, "Type"), "SubscriptionConfirmation") != 0) {
		const char *m = str(rec, "Message");
		out->len = strlen(m);
		out->body = malloc(out->len + 1);
		if (!out->body) {
			nf_err(err, errlen, "out of memory");
			return -1;
		}
		memcpy(out->body, m, out->len + 1);
		out->content_type = "text/plain; charset=UTF-8";
		return 0;
	}
	return render_sns(rec, ctx, out, err, errlen);
}

/* ---------------------------------------------------------------- small */

void nf_hmac_header(const char *secret, int64_t t, const char *body, size_t len, char *out, size_t outlen)
{
	char ts[24];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int n = snprintf(ts, sizeof ts, "%lld", (long long)t);

	/* HMAC over "T.BODY" without copying the body: EVP_MAC in one pass */
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_END };
	size_t l = 0;
	if (c && EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret), params) &&
	    EVP_MAC_update(c, (const unsigned char *)ts, (size_t)n) && EVP_MAC_update(c, (const unsigned char *)".", 1) &&
	    EVP_MAC_update(c, (const unsigned char *)body, len) && EVP_MAC_final(c, md, &l, sizeof md))
		mdlen = (unsigned)l;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);

	size_t k = (size_t)snprintf(out, outlen, "t=%s,v1=", ts);
	for (unsigned i = 0; i < mdlen && k + 2 < outlen; i++, k += 2)
		snprintf(out + k, outlen - k, "%02x", md[i]);
}

void nf_random_hex(size_t n, char *out)
{
	unsigned char b[64];
	size_t k = 0;
	while (n) {
		size_t m = n < sizeof b ? n : sizeof b;
		if (RAND_bytes(b, (int)m) != 1)
			abort(); /* no randomness: no token may be made */
		for (size_t i = 0; i < m; i++, k += 2)
			snprintf(out + k, 3, "%02x", b[i]);
		n -= m;
	}
	out[k] = 0;
}

void nf_uuid4(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1)
		abort();
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void nf_timestamp(const struct timespec *ts, char out[25])
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	snprintf(out, 25, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, (unsigned)(ts->tv_nsec / 1000000) % 1000u);
}

size_t nf_filter_attrs(const json_t *rec, struct fp_attr *attrs, size_t max, json_t **hold)
{
	size_t n = 0;
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(rec, "MessageAttributes"), k, v) {
		if (n < max && str(v, "Type") && str(v, "Value"))
			attrs[n++] = (struct fp_attr){ k, str(v, "Type"), str(v, "Value") };
	}
	const json_t *a = alarm_of(rec, hold);
	if (!a)
		return n;
	if (n < max)
		attrs[n++] = (struct fp_attr){ "AlarmName", "String", str(a, "AlarmName") };
	if (n < max)
		attrs[n++] = (struct fp_attr){ "NewStateValue", "String", str(a, "NewStateValue") };
	/* CloudWatch's Trigger: "Dimensions": [{"value": "web", "name": "TargetGroup"}] */
	const json_t *dims = json_object_get(json_object_get(a, "Trigger"), "Dimensions");
	size_t i;
	json_array_foreach(dims, i, v) {
		const char *dn = str(v, "name") ? str(v, "name") : str(v, "Name");
		const char *dv = str(v, "value") ? str(v, "value") : str(v, "Value");
		if (dn && dv && !strcmp(dn, "TargetGroup") && n < max) {
			attrs[n++] = (struct fp_attr){ "TargetGroup", "String", dv };
			break;
		}
	}
	return n;
}

/* ------------------------------------------------------------ delivery policies */

static int dp_uint(const json_t *o, const char *key, unsigned lo, unsigned hi, unsigned *out, char *err,
		   size_t errlen)
{
	const json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, errlen, "%s: must be an integer from %u to %u", key, lo, hi);
		return -1;
	}
	*out = (unsigned)json_integer_value(v);
	return 0;
}

static int dp_known(const json_t *o, const char *const *keys, const char *where, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) {
		int ok = 0;
		for (size_t i = 0; keys[i] && !ok; i++)
			ok = !strcmp(keys[i], k);
		if (!ok) {
			snprintf(err, errlen, "%s: unknown member %s", where, k);
			return -1;
		}
	}
	return 0;
}

static const char *const retry_keys[] = { "minDelayTarget", "maxDelayTarget", "numRetries", "numNoDelayRetries",
					  "numMinDelayRetries", "numMaxDelayRetries", "backoffFunction", NULL };
static const char *const backoff_names[] = { "linear", "arithmetic", "geometric", "exponential" };

static int dp_retry(const json_t *p, const char *where, struct cfg_delivery *d, char *err, size_t errlen)
{
	unsigned min = d->min_delay_ms / 1000, max = d->max_delay_ms / 1000;
	char why[256];

	if (!json_is_object(p)) {
		snprintf(err, errlen, "%s: must be an object", where);
		return -1;
	}
	if (dp_known(p, retry_keys, where, err, errlen) < 0 ||
	    dp_uint(p, "minDelayTarget", 1, 3600, &min, err, errlen) < 0 ||
	    dp_uint(p, "maxDelayTarget", 1, 3600, &max, err, errlen) < 0 ||
	    dp_uint(p, "numRetries", 0, BACKOFF_MAX_RETRIES, &d->retries, err, errlen) < 0 ||
	    dp_uint(p, "numNoDelayRetries", 0, BACKOFF_MAX_RETRIES, &d->no_delay_retries, err, errlen) < 0 ||
	    dp_uint(p, "numMinDelayRetries", 0, BACKOFF_MAX_RETRIES, &d->min_delay_retries, err, errlen) < 0 ||
	    dp_uint(p, "numMaxDelayRetries", 0, BACKOFF_MAX_RETRIES, &d->max_delay_retries, err, errlen) < 0)
		return -1;
	d->min_delay_ms = min * 1000;
	d->max_delay_ms = max * 1000;
	const json_t *fn = json_object_get(p, "backoffFunction");
	int f = d->backoff ? backoff_fn_parse(d->backoff) : BACKOFF_LINEAR;
	if (fn) {
		f = json_is_string(fn) ? backoff_fn_parse(json_string_value(fn)) : -1;
		if (f < 0) {
			snprintf(err, errlen, "backoffFunction: must be linear, arithmetic, geometric or exponential");
			return -1;
		}
	}
	d->backoff = (char *)backoff_names[f < 0 ? 0 : f];
	struct backoff_policy bp = {
		.retries = d->retries,
		.no_delay_retries = d->no_delay_retries,
		.min_delay_retries = d->min_delay_retries,
		.max_delay_retries = d->max_delay_retries,
		.min_delay = min,
		.max_delay = max,
		.fn = (enum backoff_fn)(f < 0 ? 0 : f),
	};
	if (backoff_policy_check(&bp, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", where, why);
		return -1;
	}
	return 0;
}

int nf_delivery_parse(const char *text, int topic, struct cfg_delivery *d, char *err, size_t errlen)
{
	static const char *const topic_keys[] = { "http", NULL };
	static const char *const http_keys[] = { "defaultHealthyRetryPolicy", "defaultThrottlePolicy",
						 "disableSubscriptionOverrides", "defaultRequestPolicy",
						 "defaultSicklyRetryPolicy", NULL };
	static const char *const sub_keys[] = { "healthyRetryPolicy", "throttlePolicy", "requestPolicy",
						"sicklyRetryPolicy", NULL };
	json_error_t je;
	json_t *root = json_loads(text, 0, &je);
	const json_t *o = root;
	int rc = -1;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object%s%s", root ? "" : ": ", root ? "" : je.text);
		goto out;
	}
	if (topic) {
		if (dp_known(root, topic_keys, "DeliveryPolicy", err, errlen) < 0)
			goto out;
		o = json_object_get(root, "http");
		if (!o) {
			rc = 0;
			goto out;
		}
		if (!json_is_object(o)) {
			snprintf(err, errlen, "http: must be an object");
			goto out;
		}
		if (dp_known(o, http_keys, "http", err, errlen) < 0)
			goto out;
	} else if (dp_known(root, sub_keys, "DeliveryPolicy", err, errlen) < 0) {
		goto out;
	}
	const char *rk = topic ? "defaultHealthyRetryPolicy" : "healthyRetryPolicy";
	const char *tk = topic ? "defaultThrottlePolicy" : "throttlePolicy";
	const json_t *retry = json_object_get(o, rk), *thr = json_object_get(o, tk);
	if (retry && dp_retry(retry, rk, d, err, errlen) < 0)
		goto out;
	if (thr) {
		static const char *const thr_keys[] = { "maxReceivesPerSecond", NULL };
		if (!json_is_object(thr)) {
			snprintf(err, errlen, "%s: must be an object", tk);
			goto out;
		}
		if (dp_known(thr, thr_keys, tk, err, errlen) < 0 ||
		    dp_uint(thr, "maxReceivesPerSecond", 1, 1000000, &d->throttle, err, errlen) < 0)
			goto out;
	}
	const json_t *dso = json_object_get(o, "disableSubscriptionOverrides");
	if (topic && dso && !json_is_boolean(dso)) {
		snprintf(err, errlen, "disableSubscriptionOverrides: must be true or false");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

char *nf_delivery_text(const struct cfg_delivery *d, int topic)
{
	int f = d->backoff ? backoff_fn_parse(d->backoff) : BACKOFF_LINEAR;
	json_t *retry = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "minDelayTarget",
				  (json_int_t)((d->min_delay_ms + 500) / 1000), "maxDelayTarget",
				  (json_int_t)((d->max_delay_ms + 500) / 1000), "numRetries", (json_int_t)d->retries,
				  "numMaxDelayRetries", (json_int_t)d->max_delay_retries, "numNoDelayRetries",
				  (json_int_t)d->no_delay_retries, "numMinDelayRetries", (json_int_t)d->min_delay_retries,
				  "backoffFunction", backoff_fn_name((enum backoff_fn)(f < 0 ? 0 : f)));
	json_t *o = NULL;
	if (!retry)
		return NULL;
	if (topic) {
		json_t *http = json_pack("{s:o, s:b, s:{s:s}}", "defaultHealthyRetryPolicy", retry,
					 "disableSubscriptionOverrides", 0, "defaultRequestPolicy", "headerContentType",
					 "text/plain; charset=UTF-8");
		if (http && d->throttle)
			json_object_set_new(http, "defaultThrottlePolicy",
					    json_pack("{s:I}", "maxReceivesPerSecond", (json_int_t)d->throttle));
		o = http ? json_pack("{s:o}", "http", http) : NULL;
	} else {
		o = json_pack("{s:o}", "healthyRetryPolicy", retry);
		if (o && d->throttle)
			json_object_set_new(o, "throttlePolicy",
					    json_pack("{s:I}", "maxReceivesPerSecond", (json_int_t)d->throttle));
	}
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return text;
}
