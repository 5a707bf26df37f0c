/* notify_format.h - what the notifier sends: a spooled message rendered as
 * SNS's HTTP/S message, a Slack incoming-webhook body or the message alone,
 * the HMAC header of subscriptions with a secret, and the small pieces
 * (MessageId, timestamps, tokens) they are made of.
 *
 * A message is kept (in memory and in the spool) as one JSON object, a
 * "record", in SNS's words:
 *   Type               "Notification" or "SubscriptionConfirmation"
 *   MessageId          a UUID (v4, or one the publisher derived), the same for every
 *                      subscriber and retry
 *   Timestamp          publish time, ISO 8601 UTC with milliseconds ("...T01:02:03.456Z")
 *   Subject            optional
 *   Message            the text (for an alarm: CloudWatch's notification JSON)
 *   MessageAttributes  optional, as SNS's HTTP/S message shows them:
 *                      {"NAME": {"Type": "String", "Value": "..."}}
 *   Token              SubscriptionConfirmation only (128 hex digits)
 *   Attempts           optional: the attempts made so far (the spool file is rewritten
 *                      after each failed attempt, so that a restart keeps the count)
 *   Alarm              optional: {"AlarmName", "AlarmDescription", "OldStateValue",
 *                      "NewStateValue", "NewStateReason", "StateChangeTime", "AlarmArn"}
 *                      (struct notify_alarm) for the slack format
 *
 * The SNS body is exactly SNS's (fields in SNS's order; "Subject" only when
 * the message has one; MessageAttributes only when it has some), signed
 * with SignatureVersion 2 (sns_sign.h). The Slack body is
 *   {"text": "Alarm \"NAME\" is now ALARM (was OK)",
 *    "attachments": [{"fallback": <text>, "color": "danger" | "good" | "warning",
 *                     "title": NAME, "text": <NewStateReason>,
 *                     "fields": [{"title": "New state", "value": ..., "short": true},
 *                                {"title": "Old state", "value": ..., "short": true}],
 *                     "footer": <TopicArn>, "ts": <seconds since the epoch>}]}
 * for an alarm (the record's Alarm, else a Message that is CloudWatch's
 * alarm JSON), else {"text": Subject or Message, "attachments": [{"fallback",
 * "text": Message}]} (the attachment only with a Subject).
 *
 * Thread: any; pure functions (but the random ones).
 */
#ifndef ALBD_NOTIFY_FORMAT_H
#define ALBD_NOTIFY_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

enum nf_format {
	NF_SNS = 0,
	NF_SLACK,
	NF_RAW,
};

/* "sns" (and NULL), "slack", "raw" -> the format, or -1. */
int nf_format_parse(const char *name);
const char *nf_format_name(enum nf_format f);

/* What a rendering needs beyond the record. Strings borrowed. */
struct nf_ctx {
	const char *topic_arn;
	const char *sub_arn;
	const char *signing_cert_url;
	const char *unsubscribe_url;  /* Notification */
	const char *subscribe_url;    /* SubscriptionConfirmation */
	EVP_PKEY *key;                /* the signing key (sns format and confirmations) */
};

/* A rendered message: the body (malloc'd, the caller frees it) and its
 * Content-Type (static). */
struct nf_body {
	char *body;
	size_t len;
	const char *content_type;
};

/* Render REC in format F. Returns 0, or -1 with a message in ERR (a record
 * without its required fields, a signing failure). */
int nf_render(enum nf_format f, const json_t *rec, const struct nf_ctx *ctx, struct nf_body *out, char *err,
	      size_t errlen);

/* The SNS message text of a SubscriptionConfirmation to TOPIC_ARN
 * (malloc'd), as SNS words it. */
char *nf_confirmation_text(const char *topic_arn);

/* The X-Albd-Signature value for SECRET, the time T (seconds since the
 * epoch) and BODY: "t=T,v1=HEX" where HEX is the lower-case hex of
 * HMAC-SHA256(key = SECRET, data = "T" "." BODY). Into OUT (at least
 * NF_HMAC_LEN bytes). */
#define NF_HMAC_HEADER "X-Albd-Signature"
#define NF_HMAC_LEN 96
void nf_hmac_header(const char *secret, int64_t t, const char *body, size_t len, char *out, size_t outlen);

/* A random UUID v4 (RFC 9562), lower case, into OUT (37 bytes). */
void nf_uuid4(char out[37]);

/* TS as "YYYY-MM-DDTHH:MM:SS.mmmZ" into OUT (at least 25 bytes). */
void nf_timestamp(const struct timespec *ts, char out[25]);

/* N random bytes as 2N lower-case hex digits into OUT (2N+1 bytes). */
void nf_random_hex(size_t n, char *out);

/* Is S a UUID (36 characters: hex digits and dashes, 8-4-4-4-12)? 1 or 0. */
int nf_uuid_valid(const char *s);

/* Is S exactly LEN lower-case hex digits? 1 or 0. */
int nf_hex_valid(const char *s, size_t len);

/* Is S a timestamp as nf_timestamp() writes them (year 2000 or later)? 1 or 0. */
int nf_timestamp_valid(const char *s);

/* Is REC a record albd can deliver (the fields its Type requires, with the
 * right JSON types, a MessageId that is a UUID, a sane Timestamp)? 0 or -1 with the reason in ERR. Used on what comes
 * back from the spool and the dead-letter files. */
int nf_record_check(const json_t *rec, char *err, size_t errlen);

/* The attributes a filter policy sees for REC, appended to the caller's
 * arrays: the record's MessageAttributes, then for an alarm message
 * (the record's Alarm, else a Message holding CloudWatch's alarm JSON)
 * AlarmName, NewStateValue and, from the Trigger's dimensions,
 * TargetGroup. Returns the number of attributes (at most MAX); the strings
 * point into REC or into *HOLD, a JSON value the caller json_decref()s
 * after use (may be set to NULL). */
struct fp_attr;
size_t nf_filter_attrs(const json_t *rec, struct fp_attr *attrs, size_t max, json_t **hold);

/* SNS's HTTP/S delivery policy, the JSON text of a topic's DeliveryPolicy
 * attribute (TOPIC: {"http": {"defaultHealthyRetryPolicy": {...},
 * "defaultThrottlePolicy": {"maxReceivesPerSecond": N},
 * "disableSubscriptionOverrides": B, "defaultRequestPolicy": {...}}}) or a
 * subscription's (!TOPIC: {"healthyRetryPolicy": {...}, "throttlePolicy":
 * {...}, "requestPolicy": {...}}), read over D: what the text leaves out
 * keeps D's value. The retry policy's members are SNS's (minDelayTarget,
 * maxDelayTarget, numRetries, numNoDelayRetries, numMinDelayRetries,
 * numMaxDelayRetries, backoffFunction), checked as backoff_policy_check()
 * does; D->backoff becomes a static string. Returns 0, or -1 with a message
 * naming the member at fault in ERR (D may be half written then). */
struct cfg_delivery;
int nf_delivery_parse(const char *text, int topic, struct cfg_delivery *d, char *err, size_t errlen);

/* D as SNS writes an EffectiveDeliveryPolicy (TOPIC: a topic's, else a
 * subscription's), compact JSON text in SNS's member order (malloc'd; NULL
 * when out of memory). Delays in whole seconds. */
char *nf_delivery_text(const struct cfg_delivery *d, int topic);

#endif
