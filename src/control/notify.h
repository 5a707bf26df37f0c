/* notify.h - SNS-like topics: publish a message to a topic, which fans it
 * out to every subscribed HTTP/S endpoint (formats sns, slack, raw),
 * signed like SNS, spooled durably in state_dir before the first attempt,
 * retried by the subscription's delivery policy, dead-lettered when the
 * policy is exhausted.
 *
 * The alarm engine (control/alarm.c) publishes through a notify_publish_fn
 * that main.c hands it (notify_publish), so that alarms neither link
 * against nor wait for delivery. notify_init() must have run before the
 * first publish (before it, every topic is unknown).
 *
 * Files (notify_spool.h): STATE_DIR/notify/ holds the signing key and
 * certificate, and per subscription sub-HASH/ its state.json (ARN,
 * confirmation state, tokens), spool/ and dead-letters.jsonl. Formats:
 * notify_format.h. The URLs, on the admin listener (or admin.public_url):
 *   SigningCertURL  BASE/sns/SimpleNotificationService-albd.pem (or admin.signing_cert_url)
 *   SubscribeURL    BASE/sns?Action=ConfirmSubscription&TopicArn=ARN&Token=HEX128
 *   UnsubscribeURL  BASE/sns?Action=Unsubscribe&SubscriptionArn=ARN&Token=HEX64
 * all three routed ADMIN_OPEN (no admin token). Admin API:
 *   GET  /api/v1/topics, GET /api/v1/topics/NAME
 *   POST /api/v1/topics/NAME/publish {Subject, Message, MessageAttributes}
 *   GET  /api/v1/topics/NAME/dead-letters[?MaxItems=N&NextToken=T]  (a page: N at most 1000,
 *        default 100; the answer's NextToken asks for the next; a retired subscription's
 *        letters are listed too, with "Retired": true)
 *   POST /api/v1/topics/NAME/dead-letters/redrive[?MessageId=ID]  (at most 1000 a request,
 *        "Remaining" says how many are left; a retired subscription's letters stay
 *        until its endpoint is subscribed to the topic again: "LeftInRetired")
 * The same actions for SNS's API (control/aws_sns.c) are the functions
 * below: topics made at run time (notify_topic_create, kept in
 * STATE_DIR/notify/topics.json beside the config's, which win a name both
 * have), subscriptions made at run time (notify_subscribe, always
 * confirmed by their endpoint first, their settings kept in their
 * state.json with "Runtime": true), notify_unsubscribe, notify_confirm;
 * both survive restarts and reloads. The /api/v1 handlers and the /sns
 * URLs call the same functions.
 * Each subscription keeps at most NOTIFY_DLQ_MAX dead letters or
 * NOTIFY_DLQ_MAX_BYTES of them: beyond, a new one is dropped (logged,
 * counted as the subscription's DeadLettersDropped) and the oldest stay.
 * A message the spool refuses (state_dir unwritable, full, gone) is not
 * dropped: its subscription holds it in memory and delivers it, retried as
 * any other, and the spool is tried again every 5 s (the message moves
 * there when it can be written). All subscriptions together hold at most
 * NOTIFY_MEM_MAX_BYTES of messages (their JSON) in memory: beyond, the
 * oldest held are dropped, each logged as an error. Held messages that the
 * spool still refuses at a stop (or a binary upgrade's handover) are lost,
 * each logged as an error.
 *
 * Thread: control thread only, unless a function says otherwise.
 */
#ifndef ALBD_NOTIFY_H
#define ALBD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct albd_gen;
struct albd_config;
struct cfg_delivery;

/* A message attribute (SNS MessageAttributes): type "String" or "Number".
 * Filter policies match on them. */
struct notify_attr {
	const char *name;
	const char *type;
	const char *value;
};

/* What an alarm's state change adds to a message, for the formats that
 * render it themselves (slack). All strings NUL-terminated, borrowed. */
struct notify_alarm {
	const char *name;
	const char *description;      /* NULL: none */
	const char *old_state;        /* "OK", "ALARM", "INSUFFICIENT_DATA" */
	const char *new_state;
	const char *reason;           /* NewStateReason */
	const char *state_change_time; /* ISO 8601 UTC with milliseconds, as CloudWatch's */
	const char *alarm_arn;
};

/* One message to publish. message is the SNS Message: for an alarm,
 * CloudWatch's alarm notification JSON text. Everything is borrowed for the
 * duration of the call: notify_publish() copies what it keeps. */
struct notify_msg {
	const char *subject;          /* NULL: none (SNS Subject, at most 99 characters) */
	const char *message;          /* required, at most 256 KiB */
	const struct notify_attr *attrs; size_t nattrs;
	const struct notify_alarm *alarm; /* NULL for a message that is not an alarm's */
	const char *message_id;       /* NULL: a new UUID v4; else a UUID the caller derived (the
	                               * alarm engine derives one from the alarm and the state
	                               * change, so that a change published again after a crash
	                               * carries the same MessageId and receivers deduplicate it) */
};

#define NOTIFY_ID_LEN 37 /* a MessageId: a UUID and its NUL */

/* Publish M to the topic called TOPIC: one MessageId (written to ID, at
 * least NOTIFY_ID_LEN bytes, may be NULL) for every subscriber and every
 * retry; the message is in the spool (written and fsynced) for each
 * confirmed subscription whose filter policy matches before this returns,
 * and is delivered in the background. Subscriptions pending confirmation
 * or unsubscribed do not get it, now or later. Filter policies see M's
 * attrs and, for an alarm (M->alarm, or a message that is CloudWatch's
 * alarm JSON), AlarmName, NewStateValue and TargetGroup (from the
 * Trigger's dimensions). Returns 0, or -1 with a message in ERR that
 * starts with the parameter at fault ("TopicArn: no such topic: x",
 * "Message: ...", "Subject: ...", "MessageAttributes: ..." (an attribute's
 * DataType is String, Number or Binary, or one of them with a ".suffix";
 * a Number's value a number, a String.Array's a JSON array), "MessageId: not
 * a UUID ...": M->message_id must be 36 characters, hex digits and dashes
 * as 8-4-4-4-12) or "out of memory: ..." (then subscriptions before the
 * failing one have it already). A spool that cannot be written is not an
 * error: the message is held in memory (see the top). Blocking: one
 * fsync'd file per subscription. */
int notify_publish(const char *topic, const struct notify_msg *m, char *id, char *err, size_t errlen);

/* notify_publish() with SNS's MessageStructure json: http:// subscriptions
 * get HTTP instead of M->message, https:// ones HTTPS (NULL: M->message),
 * all with the same MessageId. */
int notify_publish_protocols(const char *topic, const struct notify_msg *m, const char *http, const char *https,
			     char *id, char *err, size_t errlen);

typedef int (*notify_publish_fn)(const char *topic, const struct notify_msg *m, char *id, char *err,
				 size_t errlen);

/* Check what the config says about topics and subscriptions beyond its
 * shape (endpoints, formats, filter policies, delivery policies). Returns
 * 0, or -1 with "FILE:LINE: ..." in ERR. Thread: any; no side effects. */
int notify_check(const struct albd_config *cfg, char *err, size_t errlen);

/* Start the notifier on BASE with GEN's topics: load the signing key (or
 * create it) and the spool from state_dir, resume pending deliveries,
 * register the admin routes. Returns 0 or -1 with a message. */
int notify_init(struct event_base *base, const struct albd_gen *gen, char *err, size_t errlen);

/* Take GEN's topics after a reload: subscriptions that stay keep their
 * state, spool and confirmation; removed ones stop (their spool is set
 * aside as dead letters, which stay listed with the topic's). The URLs
 * (SubscribeURL, ...) are made from the admin settings that run,
 * admin_gen()'s (GEN's when there is none): call it after admin_apply(). */
void notify_apply(const struct albd_gen *gen);

/* ------------------------------------------------------------ the API's actions
 * Each returns 0 or one of these, with SNS's message in ERR
 * ("Invalid parameter: TopicArn", "Topic does not exist", ...). */
enum notify_rc {
	NOTIFY_OK = 0,
	NOTIFY_INVALID = -1,   /* SNS's InvalidParameter (400) */
	NOTIFY_NOT_FOUND = -2, /* NotFound (404) */
	NOTIFY_DENIED = -3,    /* AuthorizationError (403): a config file's topic */
	NOTIFY_LIMIT = -4,     /* TopicLimitExceeded / SubscriptionLimitExceeded (403) */
	NOTIFY_INTERNAL = -5,  /* InternalError (500): a file cannot be written */
};

#define NOTIFY_RT_TOPICS_MAX 10000  /* topics made at run time, at most */
#define NOTIFY_RT_SUBS_MAX 1000     /* subscriptions made at run time per topic, at most */

/* What the API shows of a topic (borrowed until the next change). */
struct notify_topic_view {
	const char *name, *arn;
	int runtime;                  /* made by notify_topic_create(), not the config's */
	const char *display_name;     /* "" when none */
	const char *policy;           /* the Policy attribute given, NULL: none */
	const char *delivery_policy;  /* the DeliveryPolicy given (JSON text), NULL: none */
	const struct cfg_delivery *delivery; /* what its subscriptions use */
	size_t confirmed, pending, deleted; /* subscriptions by state */
};

/* What the API shows of a subscription (borrowed until the next change). */
struct notify_sub_view {
	const char *arn, *topic_arn, *topic_name, *endpoint;
	const char *protocol;         /* "http" or "https" */
	const char *status;           /* "Confirmed", "PendingConfirmation", "Unsubscribed" */
	const char *format;           /* "sns", "slack", "raw" */
	const char *filter_policy;    /* NULL: none */
	int runtime;                  /* made by notify_subscribe() */
	uint64_t queued, dead, dropped, delivered;
};

/* Topic I (0.. in the config's order, then the run-time ones in the order
 * they were made) into V: 0, or -1 past the last. */
int notify_topic_at(size_t i, struct notify_topic_view *v);
/* The topic whose TopicArn is ARN (or, BY_NAME, whose name is ARN): 0 or -1. */
int notify_topic_find(const char *arn, int by_name, struct notify_topic_view *v);
/* The topic ARN into V, for an API: NOTIFY_INVALID when ARN is not an SNS
 * topic ARN, NOTIFY_NOT_FOUND when no topic has it ("Topic does not exist"). */
int notify_topic_get(const char *arn, struct notify_topic_view *v, char *err, size_t errlen);
/* Subscription I of the topic TOPIC_ARN (NULL: of every topic, topic by
 * topic) into V: 0, or -1 past the last. */
int notify_sub_at(const char *topic_arn, size_t i, struct notify_sub_view *v);

/* CreateTopic: a run-time topic called NAME with ATTRS (a JSON object of
 * strings: DisplayName, Policy, DeliveryPolicy, SignatureVersion "2",
 * FifoTopic "false"; NULL: none) and TAGS (an array of {Key, Value}, NULL:
 * none), kept in STATE_DIR/notify/topics.json. A topic that exists already
 * (the config's or a run-time one) is answered with its ARN when ATTRS
 * does not differ from its own (as SNS). The ARN goes to ARN (ARNLEN
 * bytes). */
int notify_topic_create(const char *name, const json_t *attrs, const json_t *tags, char *arn, size_t arnlen,
			char *err, size_t errlen);
/* DeleteTopic: the run-time topic ARN and its subscriptions (their dead
 * letters stay on disk). The config's topics are refused (NOTIFY_DENIED);
 * an ARN that names no topic is not an error (as SNS). */
int notify_topic_delete(const char *arn, char *err, size_t errlen);
/* Subscribe: ENDPOINT (PROTOCOL "http" or "https", the URL's scheme) to
 * the topic TOPIC_ARN with ATTRS (a JSON object of strings: FilterPolicy,
 * FilterPolicyScope "MessageAttributes", RawMessageDelivery,
 * DeliveryPolicy; NULL: none). The endpoint gets SNS's
 * SubscriptionConfirmation; nothing else until it confirms. An endpoint
 * subscribed already is answered with its subscription (one that
 * unsubscribed is asked to confirm again). SubscriptionArn to ARN,
 * *PENDING 1 while it waits for its confirmation. */
int notify_subscribe(const char *topic_arn, const char *protocol, const char *endpoint, const json_t *attrs,
		     char *arn, size_t arnlen, int *pending, char *err, size_t errlen);
/* Unsubscribe SUB_ARN: with TOKEN (the UnsubscribeURL's), or NULL for a
 * caller the admin listener authenticated (a subscription confirmed with
 * AuthenticateOnUnsubscribe refuses the token: NOTIFY_DENIED). A run-time subscription goes
 * (its dead letters stay), a config's stays Unsubscribed (nothing is
 * delivered to it) until it subscribes again or the config drops it. */
int notify_unsubscribe(const char *sub_arn, const char *token, char *err, size_t errlen);
/* ConfirmSubscription: the subscription of topic TOPIC_ARN whose
 * SubscriptionConfirmation carried TOKEN is confirmed; its ARN to ARN.
 * AUTH_UNSUB (AuthenticateOnUnsubscribe, from an authenticated caller):
 * from now on only an authenticated caller unsubscribes it, not its
 * UnsubscribeURL (kept across restarts). */
int notify_confirm(const char *topic_arn, const char *token, int auth_unsub, char *arn, size_t arnlen, char *err,
		   size_t errlen);

/* The dead-letter cap of each subscription (defaults below); for tests. */
#define NOTIFY_DLQ_MAX 10000
#define NOTIFY_DLQ_MAX_BYTES (64u * 1024 * 1024)
void notify_set_dlq_limits(size_t max_messages, uint64_t max_bytes);

/* The most bytes of messages held in memory while the spool cannot be
 * written, all subscriptions together (the default below); for tests. */
#define NOTIFY_MEM_MAX_BYTES (32u * 1024 * 1024)
void notify_set_mem_limit(uint64_t max_bytes);

/* Messages held in memory now (the spool refused them), for tests. */
size_t notify_held_in_memory(void);

/* Stop delivering (attempts in flight are abandoned; their messages stay
 * in the spool for the next start; messages held in memory are written to
 * it, or lost and logged when it still cannot be written). */
void notify_shutdown(void);

#endif
