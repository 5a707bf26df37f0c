/* aws_sns.c - SNS (sns 2010-03-31) over aws.h's wire (aws.c).
 *
 * The operations read SNS's input, call notify.h's actions (the same ones
 * the /api/v1/topics API and the /sns URLs call) and shape what they
 * return as SNS does: ListTopics, GetTopicAttributes, ListSubscriptions,
 * ListSubscriptionsByTopic, Subscribe, Unsubscribe, ConfirmSubscription,
 * Publish, CreateTopic, DeleteTopic. Errors are SNS's: InvalidParameter
 * (400), ParameterValueInvalid (400, message attributes), NotFound (404),
 * AuthorizationError (403, a config file's topic), TopicLimitExceeded and
 * SubscriptionLimitExceeded (403), InternalError (500).
 *
 * Thread: control, every function.
 */
#include "control/aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/admin.h"
#include "control/notify.h"
#include "control/notify_format.h"
#include "core/config.h"
#include "proxy/gen.h"

#define PAGE 100     /* ListTopics and ListSubscriptions: SNS's page */
#define MAX_ATTRS 10 /* message attributes of a Publish, as SNS */

static const char *account(void)
{
	const struct albd_gen *g = admin_gen();
	return g && g->cfg->account_id ? g->cfg->account_id : "000000000000";
}

/* Fail C with notify.h's RC and its message ERR as SNS answers it. */
static json_t *notify_fail(struct aws_call *c, int rc, const char *err)
{
	switch (rc) {
	case NOTIFY_NOT_FOUND:
		return aws_fail(c, 404, "NotFound", "%s", err);
	case NOTIFY_DENIED:
		return aws_fail(c, 403, "AuthorizationError", "%s", err);
	case NOTIFY_LIMIT:
		return aws_fail(c, 403, !strncmp(err, "Topic", 5) ? "TopicLimitExceeded" : "SubscriptionLimitExceeded",
				"%s", err);
	case NOTIFY_INTERNAL:
		return aws_fail(c, 500, "InternalError", "%s", err);
	default:
		return aws_fail(c, 400, "InvalidParameter", "%s", err);
	}
}

/* The page offset of C's NextToken into *OFF, or -1 after failing C. */
static int page_of(struct aws_call *c, size_t *off)
{
	*off = 0;
	if (aws_page_read(c->in, "NextToken", off) < 0) {
		aws_fail(c, 400, "InvalidParameter", "Invalid parameter: NextToken");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ topics */

static json_t *list_topics(struct aws_call *c)
{
	struct notify_topic_view v;
	size_t off, i;
	json_t *topics = json_array(), *out = json_object();

	if (page_of(c, &off) < 0)
		goto fail;
	for (i = off; i < off + PAGE && notify_topic_at(i, &v) == 0; i++)
		json_array_append_new(topics, json_pack("{s:s}", "TopicArn", v.arn));
	json_object_set_new(out, "Topics", topics);
	if (notify_topic_at(i, &v) == 0)
		json_object_set_new(out, "NextToken", aws_page_token(i));
	return out;
fail:
	json_decref(topics);
	json_decref(out);
	return NULL;
}

/* SNS's default access policy of a topic: its owner's account may do
 * everything (albd checks the request's signature, not policies). */
static char *default_policy(const char *arn)
{
	json_t *p = json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:s}, s:[s,s,s,s,s,s,s,s], s:s, s:{s:{s:s}}}]}", "Version",
			      "2008-10-17", "Id", "__default_policy_ID", "Statement", "Sid", "__default_statement_ID",
			      "Effect", "Allow", "Principal", "AWS", "*", "Action", "SNS:GetTopicAttributes",
			      "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission", "SNS:DeleteTopic",
			      "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish", "Resource", arn, "Condition",
			      "StringEquals", "AWS:SourceOwner", account());
	char *text = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(p);
	return text;
}

static json_t *count(size_t n)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%zu", n);
	return json_string(buf);
}

static json_t *get_topic_attributes(struct aws_call *c)
{
	struct notify_topic_view v;
	char err[512];
	int rc = notify_topic_get(aws_in_str(c->in, "TopicArn"), &v, err, sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	char *policy = v.policy ? NULL : default_policy(v.arn);
	char *effective = nf_delivery_text(v.delivery, 1);
	json_t *m = json_object();
	json_object_set_new(m, "TopicArn", json_string(v.arn));
	json_object_set_new(m, "Owner", json_string(account()));
	json_object_set_new(m, "DisplayName", json_string(v.display_name));
	if (v.policy || policy)
		json_object_set_new(m, "Policy", json_string(v.policy ? v.policy : policy));
	json_object_set_new(m, "SubscriptionsConfirmed", count(v.confirmed));
	json_object_set_new(m, "SubscriptionsPending", count(v.pending));
	json_object_set_new(m, "SubscriptionsDeleted", count(v.deleted));
	if (v.delivery_policy)
		json_object_set_new(m, "DeliveryPolicy", json_string(v.delivery_policy));
	if (effective)
		json_object_set_new(m, "EffectiveDeliveryPolicy", json_string(effective));
	json_object_set_new(m, "SignatureVersion", json_string("2"));
	free(policy);
	free(effective);
	return json_pack("{s:o}", "Attributes", aws_out_map(m));
}

static json_t *create_topic(struct aws_call *c)
{
	char arn[600], err[512];
	const char *name = aws_in_str(c->in, "Name");
	const json_t *attrs = aws_in_obj(c->in, "Attributes");
	const json_t *tags = aws_in_list(c->in, "Tags");

	if (aws_in_list_bad(c->in, "Tags"))
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: Tags Reason: expected a list");
	if (aws_in_str(c->in, "DataProtectionPolicy"))
		return aws_fail(c, 400, "InvalidParameter",
				"Invalid parameter: DataProtectionPolicy Reason: albd has no message data protection");
	int rc = notify_topic_create(name, attrs, tags, arn, sizeof arn, err, sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	return json_pack("{s:s}", "TopicArn", arn);
}

static json_t *delete_topic(struct aws_call *c)
{
	char err[512];
	int rc = notify_topic_delete(aws_in_str(c->in, "TopicArn"), err, sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	return json_object();
}

/* ------------------------------------------------------------ subscriptions */

/* A page of subscriptions (of TOPIC_ARN, NULL: all) as SNS lists them:
 * those unsubscribed are gone. */
static json_t *list_subs(struct aws_call *c, const char *topic_arn)
{
	struct notify_sub_view v;
	size_t off, i;

	if (page_of(c, &off) < 0)
		return NULL;
	json_t *subs = json_array(), *out = json_object();
	for (i = off; json_array_size(subs) < PAGE && notify_sub_at(topic_arn, i, &v) == 0; i++) {
		if (!strcmp(v.status, "Unsubscribed"))
			continue;
		json_array_append_new(subs, json_pack("{s:s, s:s, s:s, s:s, s:s}", "SubscriptionArn",
						      !strcmp(v.status, "PendingConfirmation") ? "PendingConfirmation"
											       : v.arn,
						      "Owner", account(), "Protocol", v.protocol, "Endpoint", v.endpoint,
						      "TopicArn", v.topic_arn));
	}
	json_object_set_new(out, "Subscriptions", subs);
	if (notify_sub_at(topic_arn, i, &v) == 0)
		json_object_set_new(out, "NextToken", aws_page_token(i));
	return out;
}

static json_t *list_subscriptions(struct aws_call *c)
{
	return list_subs(c, NULL);
}

static json_t *list_subscriptions_by_topic(struct aws_call *c)
{
	struct notify_topic_view v;
	char err[512];
	int rc = notify_topic_get(aws_in_str(c->in, "TopicArn"), &v, err, sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	return list_subs(c, v.arn);
}

static json_t *subscribe(struct aws_call *c)
{
	char arn[600], err[512];
	int pending = 0, ret = 0;
	const json_t *attrs = aws_in_obj(c->in, "Attributes");

	if (aws_in_bool(c->in, "ReturnSubscriptionArn", &ret) < 0)
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: ReturnSubscriptionArn");
	int rc = notify_subscribe(aws_in_str(c->in, "TopicArn"), aws_in_str(c->in, "Protocol"),
				  aws_in_str(c->in, "Endpoint"), attrs, arn, sizeof arn, &pending, err, sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	/* as SNS: "pending confirmation" until the endpoint confirms, unless
	 * the caller asked for the ARN */
	return json_pack("{s:s}", "SubscriptionArn", pending && !ret ? "pending confirmation" : arn);
}

static json_t *unsubscribe(struct aws_call *c)
{
	char err[512];
	int rc = notify_unsubscribe(aws_in_str(c->in, "SubscriptionArn"), NULL, err, sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	return json_object();
}

static json_t *confirm_subscription(struct aws_call *c)
{
	char arn[600], err[512];
	int auth = 0;

	if (aws_in_bool(c->in, "AuthenticateOnUnsubscribe", &auth) < 0)
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: AuthenticateOnUnsubscribe");
	int rc = notify_confirm(aws_in_str(c->in, "TopicArn"), aws_in_str(c->in, "Token"), auth, arn, sizeof arn, err,
				sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	return json_pack("{s:s}", "SubscriptionArn", arn);
}

/* ------------------------------------------------------------ publish */

/* notify_publish()'s message ERR as SNS words it. */
static json_t *publish_fail(struct aws_call *c, const char *err)
{
	if (!strncmp(err, "TopicArn: no such topic", 23))
		return aws_fail(c, 404, "NotFound", "Topic does not exist");
	if (!strncmp(err, "Message: must not be empty", 26))
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: Empty message");
	if (!strncmp(err, "Message: longer", 15))
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: Message too long");
	if (!strncmp(err, "MessageAttributes: ", 19))
		return aws_fail(c, 400, "ParameterValueInvalid", "%s", err + 19);
	if (!strncmp(err, "the spool", 9) || !strncmp(err, "out of memory", 13))
		return aws_fail(c, 500, "InternalError", "%s", err);
	return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: %s", err);
}

static json_t *publish(struct aws_call *c)
{
	struct notify_attr attrs[MAX_ATTRS];
	struct notify_topic_view v;
	char id[NOTIFY_ID_LEN], err[512];
	const char *arn = aws_in_str(c->in, "TopicArn");
	const char *message = aws_in_str(c->in, "Message");
	const char *structure = aws_in_str(c->in, "MessageStructure");
	const char *http = NULL, *https = NULL;
	json_t *doc = NULL, *out = NULL;
	size_t n = 0;

	if (!arn)
		arn = aws_in_str(c->in, "TargetArn");
	if (aws_in_str(c->in, "PhoneNumber"))
		return aws_fail(c, 400, "InvalidParameter",
				"Invalid parameter: PhoneNumber Reason: albd publishes to topics only, not SMS");
	if (aws_in_str(c->in, "MessageGroupId") || aws_in_str(c->in, "MessageDeduplicationId"))
		return aws_fail(c, 400, "InvalidParameter",
				"Invalid parameter: The MessageGroupId and MessageDeduplicationId parameters are only "
				"for FIFO topics");
	if (!arn)
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value "
							    "for required parameter");
	int rc = notify_topic_get(arn, &v, err, sizeof err);
	if (rc < 0)
		return notify_fail(c, rc, err);
	if (!message)
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: Empty message");
	if (structure && strcmp(structure, "json") != 0)
		return aws_fail(c, 400, "InvalidParameter", "Invalid parameter: MessageStructure");
	if (structure) {
		doc = json_loads(message, 0, NULL);
		if (!json_is_object(doc)) {
			json_decref(doc);
			return aws_fail(c, 400, "InvalidParameter",
					"Invalid parameter: Message Structure - JSON message body failed to parse");
		}
		message = json_string_value(json_object_get(doc, "default"));
		if (!message) {
			json_decref(doc);
			return aws_fail(c, 400, "InvalidParameter",
					"Invalid parameter: Message Structure - No default entry in JSON message body");
		}
		http = json_string_value(json_object_get(doc, "http"));
		https = json_string_value(json_object_get(doc, "https"));
	}
	const json_t *ma = aws_in_obj(c->in, "MessageAttributes");
	const char *k;
	json_t *a;
	if (json_object_size(ma) > MAX_ATTRS) {
		out = aws_fail(c, 400, "InvalidParameter",
			       "Invalid parameter: MessageAttributes Reason: at most %d message attributes", MAX_ATTRS);
		goto out;
	}
	json_object_foreach((json_t *)ma, k, a)
	{
		const char *dt = aws_in_str(a, "DataType");
		const char *sv = aws_in_str(a, "StringValue"), *bv = aws_in_str(a, "BinaryValue");
		if (!dt || !*dt) {
			out = aws_fail(c, 400, "ParameterValueInvalid",
				       "The message attribute '%s' must contain non-empty message attribute type.", k);
			goto out;
		}
		/* Binary: the base64 text, as SNS shows it to HTTP/S endpoints */
		const char *val = !strncmp(dt, "Binary", 6) ? bv : sv;
		if (!val) {
			out = aws_fail(c, 400, "ParameterValueInvalid",
				       "The message attribute '%s' must contain non-empty message attribute value for "
				       "message attribute type '%.6s'.",
				       k, dt);
			goto out;
		}
		attrs[n++] = (struct notify_attr){ k, dt, val };
	}
	struct notify_msg m = {
		.subject = aws_in_str(c->in, "Subject"),
		.message = message,
		.attrs = attrs,
		.nattrs = n,
	};
	if (notify_publish_protocols(v.name, &m, http, https, id, err, sizeof err) < 0) {
		out = publish_fail(c, err);
		goto out;
	}
	out = json_pack("{s:s}", "MessageId", id);
out:
	json_decref(doc);
	return out;
}

const struct aws_op aws_sns_ops[] = {
	{ "ListTopics", list_topics },
	{ "GetTopicAttributes", get_topic_attributes },
	{ "CreateTopic", create_topic },
	{ "DeleteTopic", delete_topic },
	{ "ListSubscriptions", list_subscriptions },
	{ "ListSubscriptionsByTopic", list_subscriptions_by_topic },
	{ "Subscribe", subscribe },
	{ "Unsubscribe", unsubscribe },
	{ "ConfirmSubscription", confirm_subscription },
	{ "Publish", publish },
	{ NULL, NULL },
};
