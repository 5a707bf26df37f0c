/* test_notify.c - the notifier's pure parts: the formats (SNS's JSON and
 * its signature, Slack's, raw), the HMAC header, MessageIds and
 * timestamps, the filter attributes of alarm messages, endpoint URLs, the
 * spool (round trip, corrupt files set aside), dead-letter files, and
 * notify_check() on configs built by hand. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "control/filter_policy.h"
#include "control/notify.h"
#include "control/notify_format.h"
#include "control/notify_http.h"
#include "control/notify_spool.h"
#include "control/sns_sign.h"
#include "core/clock.h"
#include "core/config.h"
#include "proxy/gen.h"

#define TOPIC_ARN "arn:aws:sns:local:000000000000:ops"
#define SUB_ARN TOPIC_ARN ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
#define CERT_URL "https://127.0.0.1:9100/sns/SimpleNotificationService-albd.pem"
#define UNSUB_URL "https://127.0.0.1:9100/sns?Action=Unsubscribe&SubscriptionArn=" SUB_ARN "&Token=ab"
#define SUB_URL "https://127.0.0.1:9100/sns?Action=ConfirmSubscription&TopicArn=" TOPIC_ARN "&Token=cd"

static const char *alarm_json =
	"{\"AlarmName\":\"web-5xx\",\"AlarmDescription\":null,\"NewStateValue\":\"ALARM\","
	"\"OldStateValue\":\"OK\",\"NewStateReason\":\"Threshold Crossed: 2 out of the last 3 datapoints\","
	"\"StateChangeTime\":\"2026-11-29T10:15:00.000+0000\","
	"\"Trigger\":{\"MetricName\":\"HTTPCode_Target_5XX_Count\",\"Dimensions\":"
	"[{\"value\":\"web\",\"name\":\"TargetGroup\"}]}}";

static char dir[64];

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char p[512];
			snprintf(p, sizeof p, "%s/%s", path, de->d_name);
			rm_rf(p);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void setup(void)
{
	strcpy(dir, "/tmp/test_notify.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	rm_rf(dir);
}

static json_t *record(const char *subject, const char *message)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "Type", "Notification", "MessageId",
			      "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "Timestamp", "2026-11-30T01:02:03.456Z", "Message",
			      message);
	if (subject)
		json_object_set_new(r, "Subject", json_string(subject));
	return r;
}

static X509 *cert_of(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

static const char *s_(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ------------------------------------------------------------ sns */

START_TEST(sns_notification_as_sns_sends_it)
{
	char *pem = NULL, err[256];
	EVP_PKEY *key = sns_key_load_or_create(dir, &pem, err, sizeof err);
	ck_assert_msg(key != NULL, "%s", err);
	struct nf_ctx ctx = { TOPIC_ARN, SUB_ARN, CERT_URL, UNSUB_URL, SUB_URL, key };
	json_t *rec = record("Hello", "line 1\n\"quoted\" \xc3\xa9");
	json_object_set_new(rec, "MessageAttributes", json_pack("{s:{s:s, s:s}}", "env", "Type", "String", "Value", "prod"));
	struct nf_body b;

	ck_assert_int_eq(nf_render(NF_SNS, rec, &ctx, &b, err, sizeof err), 0);
	ck_assert_str_eq(b.content_type, "text/plain; charset=UTF-8");
	json_t *j = json_loads(b.body, JSON_PRESERVE_ORDER, NULL);
	ck_assert_ptr_nonnull(j);
	/* SNS's fields, in SNS's order */
	static const char *order[] = { "Type",      "MessageId",        "TopicArn",  "Subject",
				       "Message",   "Timestamp",        "SignatureVersion", "Signature",
				       "SigningCertURL", "UnsubscribeURL", "MessageAttributes" };
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		ck_assert_uint_lt(i, sizeof order / sizeof order[0]);
		ck_assert_str_eq(k, order[i++]);
	}
	ck_assert_uint_eq(i, sizeof order / sizeof order[0]);
	ck_assert_str_eq(s_(j, "Type"), "Notification");
	ck_assert_str_eq(s_(j, "Message"), "line 1\n\"quoted\" \xc3\xa9");
	ck_assert_str_eq(s_(j, "SignatureVersion"), "2");
	ck_assert_str_eq(s_(j, "SigningCertURL"), CERT_URL);
	ck_assert_str_eq(s_(j, "UnsubscribeURL"), UNSUB_URL);
	ck_assert_str_eq(s_(json_object_get(json_object_get(j, "MessageAttributes"), "env"), "Value"), "prod");
	/* the signature is over the fields as the receiver reads them */
	struct sns_fields f = { .type = s_(j, "Type"), .message_id = s_(j, "MessageId"), .topic_arn = s_(j, "TopicArn"),
				.subject = s_(j, "Subject"), .message = s_(j, "Message"), .timestamp = s_(j, "Timestamp"),
				.signature_version = "2" };
	X509 *x = cert_of(pem);
	ck_assert_int_eq(sns_verify(x, &f, s_(j, "Signature")), 1);
	f.message = "line 1";
	ck_assert_int_eq(sns_verify(x, &f, s_(j, "Signature")), 0);
	X509_free(x);
	json_decref(j);
	free(b.body);
	json_decref(rec);
	EVP_PKEY_free(key);
	free(pem);
}
END_TEST

START_TEST(sns_without_subject_has_no_subject)
{
	char *pem = NULL, err[256];
	EVP_PKEY *key = sns_key_load_or_create(dir, &pem, err, sizeof err);
	ck_assert_ptr_nonnull(key);
	struct nf_ctx ctx = { TOPIC_ARN, SUB_ARN, CERT_URL, UNSUB_URL, SUB_URL, key };
	json_t *rec = record(NULL, "m");
	struct nf_body b;
	ck_assert_int_eq(nf_render(NF_SNS, rec, &ctx, &b, err, sizeof err), 0);
	json_t *j = json_loads(b.body, 0, NULL);
	ck_assert_ptr_null(json_object_get(j, "Subject"));
	ck_assert_ptr_null(json_object_get(j, "MessageAttributes"));
	struct sns_fields f = { .type = "Notification", .message_id = s_(j, "MessageId"), .topic_arn = TOPIC_ARN,
				.message = "m", .timestamp = s_(j, "Timestamp"), .signature_version = "2" };
	X509 *x = cert_of(pem);
	ck_assert_int_eq(sns_verify(x, &f, s_(j, "Signature")), 1);
	X509_free(x);
	json_decref(j);
	free(b.body);
	json_decref(rec);
	EVP_PKEY_free(key);
	free(pem);
}
END_TEST

START_TEST(sns_confirmation)
{
	char *pem = NULL, err[256];
	EVP_PKEY *key = sns_key_load_or_create(dir, &pem, err, sizeof err);
	ck_assert_ptr_nonnull(key);
	struct nf_ctx ctx = { TOPIC_ARN, SUB_ARN, CERT_URL, UNSUB_URL, SUB_URL, key };
	char *text = nf_confirmation_text(TOPIC_ARN);
	ck_assert_str_eq(text, "You have chosen to subscribe to the topic " TOPIC_ARN
			       ".\nTo confirm the subscription, visit the SubscribeURL included in this message.");
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "SubscriptionConfirmation", "MessageId",
				"165545c9-2a5c-472c-8df2-7ff2be2b3b1b", "Timestamp", "2026-11-30T01:02:03.456Z", "Message",
				text, "Token", "cd");
	struct nf_body b;
	for (int fmt = NF_SNS; fmt <= NF_RAW; fmt += NF_RAW) {  /* sns and raw: the same JSON */
		ck_assert_int_eq(nf_render(fmt, rec, &ctx, &b, err, sizeof err), 0);
		json_t *j = json_loads(b.body, 0, NULL);
		ck_assert_str_eq(s_(j, "Type"), "SubscriptionConfirmation");
		ck_assert_str_eq(s_(j, "Token"), "cd");
		ck_assert_str_eq(s_(j, "SubscribeURL"), SUB_URL);
		ck_assert_ptr_null(json_object_get(j, "UnsubscribeURL"));
		struct sns_fields f = { .type = "SubscriptionConfirmation", .message_id = s_(j, "MessageId"),
					.topic_arn = TOPIC_ARN, .message = text, .timestamp = s_(j, "Timestamp"),
					.token = "cd", .subscribe_url = SUB_URL, .signature_version = "2" };
		X509 *x = cert_of(pem);
		ck_assert_int_eq(sns_verify(x, &f, s_(j, "Signature")), 1);
		X509_free(x);
		json_decref(j);
		free(b.body);
	}
	/* slack: the URL in the text */
	ck_assert_int_eq(nf_render(NF_SLACK, rec, &ctx, &b, err, sizeof err), 0);
	json_t *j = json_loads(b.body, 0, NULL);
	ck_assert_ptr_nonnull(strstr(s_(j, "text"), SUB_URL));
	json_decref(j);
	free(b.body);
	free(text);
	json_decref(rec);
	EVP_PKEY_free(key);
	free(pem);
}
END_TEST

START_TEST(raw_is_the_message_alone)
{
	struct nf_ctx ctx = { TOPIC_ARN, SUB_ARN, CERT_URL, UNSUB_URL, SUB_URL, NULL };
	json_t *rec = record("s", "just this\n");
	struct nf_body b;
	char err[128];
	ck_assert_int_eq(nf_render(NF_RAW, rec, &ctx, &b, err, sizeof err), 0);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.body, "just this\n");
	ck_assert_str_eq(b.content_type, "text/plain; charset=UTF-8");
	free(b.body);
	/* sns without a key: an error, not a crash */
	ck_assert_int_eq(nf_render(NF_SNS, rec, &ctx, &b, err, sizeof err), -1);
	json_decref(rec);
}
END_TEST

/* ------------------------------------------------------------ slack */

static json_t *slack_of(json_t *rec)
{
	struct nf_ctx ctx = { TOPIC_ARN, SUB_ARN, CERT_URL, UNSUB_URL, SUB_URL, NULL };
	struct nf_body b;
	char err[128];
	ck_assert_int_eq(nf_render(NF_SLACK, rec, &ctx, &b, err, sizeof err), 0);
	ck_assert_str_eq(b.content_type, "application/json");
	json_t *j = json_loads(b.body, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", b.body);
	free(b.body);
	return j;
}

START_TEST(slack_alarm_colors_and_fields)
{
	static const struct {
		const char *state, *color;
	} cases[] = { { "ALARM", "danger" }, { "OK", "good" }, { "INSUFFICIENT_DATA", "warning" } };
	for (size_t i = 0; i < 3; i++) {
		json_t *a = json_loads(alarm_json, 0, NULL);
		json_object_set_new(a, "NewStateValue", json_string(cases[i].state));
		char *m = json_dumps(a, 0);
		json_t *rec = record("ALARM: \"web-5xx\" in local", m);
		json_t *j = slack_of(rec);
		char want[128];
		snprintf(want, sizeof want, "Alarm \"web-5xx\" is now %s (was OK)", cases[i].state);
		ck_assert_str_eq(s_(j, "text"), want);
		json_t *att = json_array_get(json_object_get(j, "attachments"), 0);
		ck_assert_str_eq(s_(att, "color"), cases[i].color);
		ck_assert_str_eq(s_(att, "fallback"), want);
		ck_assert_str_eq(s_(att, "title"), "web-5xx");
		ck_assert_str_eq(s_(att, "text"), "Threshold Crossed: 2 out of the last 3 datapoints");
		ck_assert_str_eq(s_(att, "footer"), TOPIC_ARN);
		ck_assert_int_eq(json_integer_value(json_object_get(att, "ts")), 1795947300); /* 2026-11-29T10:15:00Z */
		json_t *f0 = json_array_get(json_object_get(att, "fields"), 0);
		ck_assert_str_eq(s_(f0, "title"), "New state");
		ck_assert_str_eq(s_(f0, "value"), cases[i].state);
		json_decref(j);
		json_decref(rec);
		free(m);
		json_decref(a);
	}
}
END_TEST

START_TEST(slack_from_the_alarm_record)
{
	json_t *rec = record(NULL, "not JSON");
	json_object_set_new(rec, "Alarm",
			    json_pack("{s:s, s:s, s:s, s:s}", "AlarmName", "db", "NewStateValue", "OK", "OldStateValue",
				      "ALARM", "NewStateReason", "back"));
	json_t *j = slack_of(rec);
	ck_assert_str_eq(s_(j, "text"), "Alarm \"db\" is now OK (was ALARM)");
	ck_assert_str_eq(s_(json_array_get(json_object_get(j, "attachments"), 0), "color"), "good");
	json_decref(j);
	json_decref(rec);
}
END_TEST

START_TEST(slack_plain_messages)
{
	json_t *rec = record("Deploy", "v2 is out");
	json_t *j = slack_of(rec);
	ck_assert_str_eq(s_(j, "text"), "Deploy");
	ck_assert_str_eq(s_(json_array_get(json_object_get(j, "attachments"), 0), "text"), "v2 is out");
	json_decref(j);
	json_decref(rec);
	rec = record(NULL, "just text \"q\"");
	j = slack_of(rec);
	ck_assert_str_eq(s_(j, "text"), "just text \"q\"");
	ck_assert_ptr_null(json_object_get(j, "attachments"));
	json_decref(j);
	json_decref(rec);
}
END_TEST

/* ------------------------------------------------------------ small */

START_TEST(hmac_header)
{
	char out[NF_HMAC_LEN];
	const char *body = "{\"a\":1}";
	nf_hmac_header("whsec", 1700000000, body, strlen(body), out, sizeof out);
	/* python3: hmac.new(b"whsec", b'1700000000.{"a":1}', hashlib.sha256).hexdigest() */
	ck_assert_str_eq(out, "t=1700000000,v1=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
	char other[NF_HMAC_LEN];
	nf_hmac_header("whsec", 1700000001, body, strlen(body), other, sizeof other);
	ck_assert_str_ne(strchr(out, 'v'), strchr(other, 'v'));
}
END_TEST

START_TEST(uuid_timestamp_tokens)
{
	char a[37], b[37], hex[129];
	nf_uuid4(a);
	nf_uuid4(b);
	ck_assert_uint_eq(strlen(a), 36);
	ck_assert_str_ne(a, b);
	ck_assert(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	ck_assert(a[14] == '4');
	ck_assert(strchr("89ab", a[19]) != NULL);
	struct timespec ts = { 1795947300, 7000000 };
	char t[25];
	nf_timestamp(&ts, t);
	ck_assert_str_eq(t, "2026-11-29T10:15:00.007Z");
	nf_random_hex(64, hex);
	ck_assert_uint_eq(strlen(hex), 128);
	ck_assert_uint_eq(strspn(hex, "0123456789abcdef"), 128);
}
END_TEST

START_TEST(filter_attributes_of_an_alarm)
{
	json_t *rec = record(NULL, alarm_json);
	json_object_set_new(rec, "MessageAttributes", json_pack("{s:{s:s, s:s}}", "env", "Type", "String", "Value", "prod"));
	struct fp_attr at[8];
	json_t *hold = NULL;
	size_t n = nf_filter_attrs(rec, at, 8, &hold);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(at[0].name, "env");
	ck_assert_str_eq(at[1].name, "AlarmName");
	ck_assert_str_eq(at[1].value, "web-5xx");
	ck_assert_str_eq(at[2].value, "ALARM");
	ck_assert_str_eq(at[3].name, "TargetGroup");
	ck_assert_str_eq(at[3].value, "web");
	struct fp_policy *p = fp_parse("{\"NewStateValue\": [\"ALARM\"], \"TargetGroup\": [{\"prefix\": \"we\"}]}", NULL, 0);
	ck_assert_int_eq(fp_match(p, at, n), 1);
	fp_free(p);
	p = fp_parse("{\"NewStateValue\": [\"OK\"]}", NULL, 0);
	ck_assert_int_eq(fp_match(p, at, n), 0);
	fp_free(p);
	json_decref(hold);
	json_decref(rec);
	/* a message that is not an alarm has only its attributes */
	rec = record(NULL, "{\"x\": 1}");
	hold = NULL;
	ck_assert_uint_eq(nf_filter_attrs(rec, at, 8, &hold), 0);
	json_decref(hold);
	json_decref(rec);
}
END_TEST

START_TEST(urls)
{
	struct nh_url u;
	char err[128];
	ck_assert_int_eq(nh_url_parse("http://127.0.0.1:9900/hook?x=1#frag", &u, err, sizeof err), 0);
	ck_assert(!u.https);
	ck_assert_str_eq(u.host, "127.0.0.1");
	ck_assert_uint_eq(u.port, 9900);
	ck_assert_str_eq(u.path, "/hook?x=1");
	ck_assert_str_eq(u.hostport, "127.0.0.1:9900");
	nh_url_free(&u);
	ck_assert_int_eq(nh_url_parse("https://hooks.example.com", &u, err, sizeof err), 0);
	ck_assert(u.https);
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.path, "/");
	nh_url_free(&u);
	ck_assert_int_eq(nh_url_parse("http://[::1]:8080/h", &u, err, sizeof err), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_str_eq(u.hostport, "[::1]:8080");
	nh_url_free(&u);
	ck_assert_int_eq(nh_url_parse("http://h?q", &u, err, sizeof err), 0);
	ck_assert_str_eq(u.path, "/?q");
	nh_url_free(&u);
	static const char *bad[] = { "ftp://h/", "http://", "http://h:0/", "http://h:65536/", "http://h:x/",
				     "http://u@h/", "http://h /", "http://[::1/", "http://[zz]/", "http://h!/" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(nh_url_parse(bad[i], &u, err, sizeof err) == -1, "%s accepted", bad[i]);
}
END_TEST


START_TEST(uuids_timestamps_and_hostile_records)
{
	char err[256];
	ck_assert(nf_uuid_valid("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"));
	ck_assert(nf_uuid_valid("22B80B92-FDEA-4C2C-8F9D-BDFB0C7BF324"));
	ck_assert(!nf_uuid_valid(NULL));
	ck_assert(!nf_uuid_valid(""));
	ck_assert(!nf_uuid_valid("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf32"));
	ck_assert(!nf_uuid_valid("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf3244"));
	ck_assert(!nf_uuid_valid("22b80b92xfdea-4c2c-8f9d-bdfb0c7bf324"));
	ck_assert(!nf_uuid_valid("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf\r\nX"));
	ck_assert(!nf_uuid_valid("../../../../etc/passwd-aaaaaaaaaaaaaa"));
	ck_assert(!nf_uuid_valid("g2b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"));
	ck_assert(nf_hex_valid("00ff", 4) && !nf_hex_valid("00FF", 4) && !nf_hex_valid("00f", 4));
	ck_assert(nf_timestamp_valid("2026-11-30T01:02:03.456Z"));
	ck_assert(!nf_timestamp_valid("2026-11-30T01:02:03Z"));
	ck_assert(!nf_timestamp_valid("1970-01-01T00:00:00.000Z"));
	ck_assert(!nf_timestamp_valid("2026-13-30T01:02:03.456Z"));
	ck_assert(!nf_timestamp_valid("2026-11-30T01:02:03.456Z\n"));
	json_t *r = record(NULL, "m");
	ck_assert_int_eq(nf_record_check(r, err, sizeof err), 0);
	json_object_set_new(r, "MessageId", json_string("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf\r\nX"));
	ck_assert_int_eq(nf_record_check(r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "MessageId"));
	json_object_set_new(r, "MessageId", json_string("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"));
	json_object_set_new(r, "Timestamp", json_string("yesterday"));
	ck_assert_int_eq(nf_record_check(r, err, sizeof err), -1);
	json_object_set_new(r, "Timestamp", json_string("2026-11-30T01:02:03.456Z"));
	json_object_set_new(r, "Attempts", json_integer(-1));
	ck_assert_int_eq(nf_record_check(r, err, sizeof err), -1);
	json_object_set_new(r, "Attempts", json_integer(4));
	ck_assert_int_eq(nf_record_check(r, err, sizeof err), 0);
	json_decref(r);
}
END_TEST

/* ------------------------------------------------------------ spool */

static int nloaded;
static char loaded[8][NS_NAME_MAX];

static void on_load(const char *name, json_t *rec, void *arg)
{
	(void)arg;
	if (nloaded < 8)
		snprintf(loaded[nloaded], NS_NAME_MAX, "%s|%s", name, s_(rec, "Message"));
	nloaded++;
	json_decref(rec);
}

static void write_file(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/spool/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static int exists(const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/spool/%s", dir, name);
	return access(p, F_OK) == 0;
}

START_TEST(spool_round_trip_and_corrupt_files)
{
	char sp[128], names[3][NS_NAME_MAX], err[256];
	snprintf(sp, sizeof sp, "%s/spool", dir);
	ck_assert_int_eq(ns_mkdirs(sp), 0);
	ck_assert_int_eq(ns_mkdirs(sp), 0);   /* again: fine */
	const char *msgs[] = { "first", "second", "third" };
	for (int i = 0; i < 3; i++) {
		json_t *r = record(NULL, msgs[i]);
		ck_assert_int_eq(ns_spool_put(sp, r, names[i], sizeof names[i], err, sizeof err), 0);
		json_decref(r);
	}
	ck_assert_int_lt(strcmp(names[0], names[1]), 0);
	ck_assert_int_lt(strcmp(names[1], names[2]), 0);
	/* what a crash leaves, and what nobody should deliver */
	write_file(".tmp-0000000000000001-x.json", "{\"Type\": \"Noti");
	write_file("0000000000000001-y.json.tmp", "{\"Type\": \"Noti");
	write_file("0000000000000002-a.json", "not json at all");
	write_file("0000000000000003-b.json", "{\"Type\": \"Notification\", \"Message\": \"no id\"}");
	write_file("0000000000000004-c.json", "");
	write_file("0000000000000005-d.json", "[1, 2]");
	nloaded = 0;
	ck_assert_int_eq(ns_spool_load(sp, on_load, NULL), 3);
	ck_assert_int_eq(nloaded, 3);
	for (int i = 0; i < 3; i++) {
		char want[NS_NAME_MAX + 16];
		snprintf(want, sizeof want, "%s|%s", names[i], msgs[i]);
		ck_assert_str_eq(loaded[i], want);
	}
	ck_assert(!exists(".tmp-0000000000000001-x.json"));
	ck_assert(!exists("0000000000000001-y.json.tmp"));
	ck_assert(!exists("0000000000000002-a.json") && exists("0000000000000002-a.json.corrupt"));
	ck_assert(exists("0000000000000003-b.json.corrupt"));
	ck_assert(exists("0000000000000004-c.json.corrupt"));
	ck_assert(exists("0000000000000005-d.json.corrupt"));
	/* a second load: the corrupt ones stay aside */
	nloaded = 0;
	ck_assert_int_eq(ns_spool_load(sp, on_load, NULL), 3);
	ck_assert_int_eq(ns_spool_remove(sp, names[1]), 0);
	ck_assert_int_eq(ns_spool_remove(sp, names[1]), 0);  /* gone already: fine */
	nloaded = 0;
	ck_assert_int_eq(ns_spool_load(sp, on_load, NULL), 2);
	/* a missing directory is an empty spool */
	char none[160];
	snprintf(none, sizeof none, "%s/none", dir);
	ck_assert_int_eq(ns_spool_load(none, on_load, NULL), 0);
}
END_TEST

START_TEST(dead_letter_lines)
{
	char p[128], err[256];
	snprintf(p, sizeof p, "%s/dead-letters.jsonl", dir);
	json_t *arr = ns_jsonl_read(p);
	ck_assert_uint_eq(json_array_size(arr), 0);
	json_decref(arr);
	ck_assert_uint_eq(ns_jsonl_count(p, NULL), 0);
	for (int i = 0; i < 2; i++) {
		json_t *r = record(NULL, i ? "two\nlines" : "one");
		ck_assert_int_eq(ns_jsonl_append(p, r, err, sizeof err), 0);
		json_decref(r);
	}
	FILE *f = fopen(p, "a");
	fputs("garbage\n", f);
	fclose(f);
	uint64_t bytes = 0;
	ck_assert_uint_eq(ns_jsonl_count(p, &bytes), 3);
	struct stat st;
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(bytes, (uint64_t)st.st_size);
	arr = ns_jsonl_read(p);
	ck_assert_uint_eq(json_array_size(arr), 2);
	ck_assert_str_eq(s_(json_array_get(arr, 1), "Message"), "two\nlines");
	json_decref(arr);
}
END_TEST


START_TEST(spool_sets_aside_records_with_hostile_ids)
{
	char sp[128];
	snprintf(sp, sizeof sp, "%s/spool", dir);
	ck_assert_int_eq(ns_mkdirs(sp), 0);
	write_file("0000000000000001-a.json",
		   "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf\\r\\nX\","
		   "\"Timestamp\":\"2026-11-30T01:02:03.456Z\",\"Message\":\"m\"}");
	write_file("0000000000000002-b.json",
		   "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\","
		   "\"Timestamp\":\"now\",\"Message\":\"m\"}");
	write_file("0000000000000003-c.json",
		   "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\","
		   "\"Timestamp\":\"2026-11-30T01:02:03.456Z\",\"Message\":\"good\"}");
	nloaded = 0;
	ck_assert_int_eq(ns_spool_load(sp, on_load, NULL), 1);
	ck_assert_str_eq(loaded[0], "0000000000000003-c.json|good");
	ck_assert(exists("0000000000000001-a.json.corrupt"));
	ck_assert(exists("0000000000000002-b.json.corrupt"));
}
END_TEST

START_TEST(torn_dead_letter_line_does_not_swallow_the_next)
{
	char p[128], err[256];
	snprintf(p, sizeof p, "%s/dead-letters.jsonl", dir);
	json_t *r = record(NULL, "first");
	ck_assert_int_eq(ns_jsonl_append(p, r, err, sizeof err), 0);
	json_decref(r);
	FILE *f = fopen(p, "a");
	fputs("{\"Type\":\"Notification\",\"MessageId\":\"22b8", f);   /* a crash mid-append */
	fclose(f);
	r = record(NULL, "after the crash");
	ck_assert_int_eq(ns_jsonl_append(p, r, err, sizeof err), 0);
	json_decref(r);
	json_t *arr = ns_jsonl_read(p);
	ck_assert_uint_eq(json_array_size(arr), 2);
	ck_assert_str_eq(s_(json_array_get(arr, 1), "Message"), "after the crash");
	json_decref(arr);
	ck_assert_uint_eq(ns_jsonl_count(p, NULL), 3);
}
END_TEST

static int keep_odd(json_t *l, void *arg)
{
	(void)arg;
	return atoi(s_(l, "Message")) % 2 ? 1 : 0;
}

START_TEST(dead_letter_pages_and_filter)
{
	char p[128], err[256];
	snprintf(p, sizeof p, "%s/dead-letters.jsonl", dir);
	for (int i = 0; i < 7; i++) {
		char m[8];
		snprintf(m, sizeof m, "%d", i);
		json_t *r = record(NULL, m);
		ck_assert_int_eq(ns_jsonl_append(p, r, err, sizeof err), 0);
		json_decref(r);
		if (i == 3) {
			FILE *f = fopen(p, "a");
			fputs("{\"Type\":\"Notification\",\"MessageId\":\"x\\r\\ny\",\"Timestamp\":\"t\",\"Message\":\"bad\"}\n",
			      f);
			fclose(f);
		}
	}
	/* pages of 3: 0-2, 3-5 (the bad line skipped), 6 */
	uint64_t off = 0, next;
	int pages = 0, total = 0;
	do {
		json_t *a = json_array();
		int n = ns_jsonl_page(p, off, 3, a, &next);
		ck_assert_int_ge(n, 1);
		ck_assert_int_eq(atoi(s_(json_array_get(a, 0), "Message")), total);
		total += n;
		pages++;
		json_decref(a);
		off = next;
	} while (next);
	ck_assert_int_eq(pages, 3);
	ck_assert_int_eq(total, 7);
	/* the filter keeps the odd ones, sets the bad line aside */
	ck_assert_int_eq(ns_jsonl_filter(p, keep_odd, NULL, err, sizeof err), 3);
	ck_assert_uint_eq(ns_jsonl_count(p, NULL), 3);
	char bad[160];
	snprintf(bad, sizeof bad, "%s.corrupt", p);
	ck_assert_uint_eq(ns_jsonl_count(bad, NULL), 1);
	/* nothing kept: the file goes */
	ck_assert_int_eq(ns_jsonl_filter(p, keep_odd, NULL, err, sizeof err) , 3);
	json_t *a = json_array();
	ck_assert_int_eq(ns_jsonl_page(p, 0, 100, a, &next), 3);
	ck_assert_uint_eq(next, 0);
	json_decref(a);
}
END_TEST

/* ------------------------------------------------------------ check */

static struct cfg_subscription csub;
static struct cfg_topic ctopic;
static struct albd_config ccfg;

static void config_setup(void)
{
	static const struct cfg_delivery d = { .retries = 3, .min_delay_ms = 1000, .max_delay_ms = 2000,
					       .timeout_ms = 1000 };
	memset(&csub, 0, sizeof csub);
	csub.endpoint = (char *)"http://127.0.0.1:9900/hook";
	csub.delivery = d;
	csub.line = 12;
	memset(&ctopic, 0, sizeof ctopic);
	ctopic.name = (char *)"ops";
	ctopic.subs = &csub;
	ctopic.nsubs = 1;
	ctopic.delivery = d;
	ctopic.line = 10;
	memset(&ccfg, 0, sizeof ccfg);
	ccfg.path = (char *)"albd.conf";
	ccfg.topics = &ctopic;
	ccfg.ntopics = 1;
	ccfg.admin.enabled = 1;
}

static void check_fails(const char *want)
{
	char err[512];
	ck_assert_int_eq(notify_check(&ccfg, err, sizeof err), -1);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err, want);
}

START_TEST(check_configs)
{
	char err[512];
	ck_assert_int_eq(notify_check(&ccfg, err, sizeof err), 0);
	csub.endpoint = (char *)"http://127.0.0.1:0/x";
	check_fails("albd.conf:12: topics.ops.subscriptions[0].endpoint: the port");
	csub.endpoint = (char *)"http://127.0.0.1:9900/hook";
	csub.format = (char *)"xml";
	check_fails("albd.conf:12: topics.ops.subscriptions[0].format:");
	csub.format = (char *)"slack";
	csub.filter_policy = (char *)"{\"a\": [";
	check_fails("albd.conf:12: topics.ops.subscriptions[0].filter_policy:");
	csub.filter_policy = (char *)"{\"a\": [\"x\"]}";
	ck_assert_int_eq(notify_check(&ccfg, err, sizeof err), 0);
	csub.delivery.min_delay_retries = 3;
	csub.delivery.no_delay_retries = 1;
	csub.delivery.line = 14;
	check_fails("albd.conf:14: topics.ops.subscriptions[0].delivery:");
	csub.delivery.min_delay_retries = 0;
	csub.delivery.backoff = (char *)"fibonacci";
	check_fails("albd.conf:14: topics.ops.subscriptions[0].delivery.backoff:");
	csub.delivery.backoff = (char *)"exponential";
	csub.confirm = 1;
	ccfg.admin.enabled = 0;
	check_fails("confirm: needs the admin listener");
	ccfg.admin.public_url = (char *)"https://lb.example.com";
	ck_assert_int_eq(notify_check(&ccfg, err, sizeof err), 0);
}
END_TEST


/* ------------------------------------------------------------ the notifier itself */

static struct event_base *nbase;
static struct cfg_subscription hsub;
static struct cfg_topic htopic;
static struct albd_config hcfg;
static struct albd_gen hgen;

static void harness(const char *endpoint, int confirm, unsigned retries)
{
	const struct cfg_delivery d = { .retries = retries, .no_delay_retries = retries, .min_delay_ms = 1000,
					.max_delay_ms = 1000, .timeout_ms = 1000 };
	memset(&hsub, 0, sizeof hsub);
	hsub.endpoint = (char *)endpoint;
	hsub.confirm = confirm;
	hsub.delivery = d;
	memset(&htopic, 0, sizeof htopic);
	htopic.name = (char *)"ops";
	htopic.subs = &hsub;
	htopic.nsubs = 1;
	htopic.delivery = d;
	memset(&hcfg, 0, sizeof hcfg);
	hcfg.path = (char *)"albd.conf";
	hcfg.state_dir = dir;
	hcfg.topics = &htopic;
	hcfg.ntopics = 1;
	hcfg.admin.enabled = 1;
	snprintf(hcfg.admin.addr.text, sizeof hcfg.admin.addr.text, "127.0.0.1:9100");
	memset(&hgen, 0, sizeof hgen);
	hgen.cfg = &hcfg;
}

static void n_start(void)
{
	char err[512];
	if (!nbase)
		nbase = event_base_new();
	ck_assert_int_eq(notify_init(nbase, &hgen, err, sizeof err), 0);
}

/* STATE_DIR/notify/sub-*: the one subscription directory, in OUT */
static void sub_dir(char *out, size_t n)
{
	char p[256];
	snprintf(p, sizeof p, "%s/notify", dir);
	DIR *d = opendir(p);
	struct dirent *de;
	out[0] = 0;
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "sub-", 4))
			snprintf(out, n, "%.120s/%.64s", p, de->d_name);
	closedir(d);
	ck_assert(out[0]);
}

static size_t count_files(const char *path, const char *suffix, char *last, size_t lastlen)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		if (de->d_name[0] != '.' && l >= sl && !strcmp(de->d_name + l - sl, suffix)) {
			n++;
			if (last)
				snprintf(last, lastlen, "%s/%s", path, de->d_name);
		}
	}
	closedir(d);
	return n;
}

static char sdir[200];

static int spool_empty(void)
{
	char sp[300];
	snprintf(sp, sizeof sp, "%s/spool", sdir);
	return count_files(sp, ".json", NULL, 0) == 0;
}

static int attempt_recorded(void)
{
	char sp[300], f[600];
	snprintf(sp, sizeof sp, "%s/spool", sdir);
	if (count_files(sp, ".json", f, sizeof f) != 1)
		return 0;
	json_t *o = json_load_file(f, 0, NULL);
	int yes = json_integer_value(json_object_get(o, "Attempts")) == 1;
	json_decref(o);
	return yes;
}

static int run_until(int (*cond)(void), unsigned ms)
{
	uint64_t end = clock_ms() + ms;
	while (clock_ms() < end) {
		if (cond())
			return 1;
		event_base_loop(nbase, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
	return cond();
}

START_TEST(publish_takes_the_callers_message_id)
{
	char id[NOTIFY_ID_LEN], err[300], sp[300], f[600];
	harness("http://127.0.0.1:1/x", 0, 5);
	n_start();
	sub_dir(sdir, sizeof sdir);
	struct notify_msg m = { .message = "hello", .message_id = "0b5c3f1e-7d2a-4e8b-9c1d-2f3a4b5c6d7e" };
	ck_assert_int_eq(notify_publish("ops", &m, id, err, sizeof err), 0);
	ck_assert_str_eq(id, "0b5c3f1e-7d2a-4e8b-9c1d-2f3a4b5c6d7e");
	snprintf(sp, sizeof sp, "%s/spool", sdir);
	ck_assert_uint_eq(count_files(sp, "-0b5c3f1e-7d2a-4e8b-9c1d-2f3a4b5c6d7e.json", f, sizeof f), 1);
	json_t *o = json_load_file(f, 0, NULL);
	ck_assert_str_eq(s_(o, "MessageId"), "0b5c3f1e-7d2a-4e8b-9c1d-2f3a4b5c6d7e");
	json_decref(o);
	/* not a UUID: refused, nothing spooled */
	const char *bad[] = { "", "0b5c3f1e-7d2a-4e8b-9c1d-2f3a4b5c6d7", "0b5c3f1e-7d2a-4e8b-9c1d-2f3a4b5c\r\nX:y",
			      "../../../../../../../../../../../etc", "0b5c3f1e_7d2a-4e8b-9c1d-2f3a4b5c6d7e" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		m.message_id = bad[i];
		ck_assert_int_eq(notify_publish("ops", &m, id, err, sizeof err), -1);
		ck_assert_msg(!strncmp(err, "MessageId: ", 11), "%s", err);
	}
	ck_assert_uint_eq(count_files(sp, ".json", NULL, 0), 1);
	/* none: a new UUID v4 each time */
	m.message_id = NULL;
	ck_assert_int_eq(notify_publish("ops", &m, id, err, sizeof err), 0);
	ck_assert(nf_uuid_valid(id) && id[14] == '4');
	notify_shutdown();
}
END_TEST

static void write_state(const char *text)
{
	char p[400];
	snprintf(p, sizeof p, "%s/state.json", sdir);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static json_t *read_state(void)
{
	char p[400];
	snprintf(p, sizeof p, "%s/state.json", sdir);
	json_t *o = json_load_file(p, 0, NULL);
	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(hostile_state_files_start_afresh)
{
	static const char *const ok_id = "11111111-2222-4333-8444-555555555555";
	char ct[129], ut[65], text[2048];
	memset(ct, 'a', 128);
	ct[128] = 0;
	memset(ut, 'b', 64);
	ut[64] = 0;
	const struct {
		const char *id, *status, *ct, *ut;
		int fresh;
	} cases[] = {
		{ ok_id, "Confirmed", ct, ut, 0 },
		{ "11111111-2222-4333-8444-5555555\\r\\nX: y", "Confirmed", ct, ut, 1 },
		{ ok_id, "Bogus", ct, ut, 1 },
		{ ok_id, "Confirmed", "aa\\r\\nLocation: http://evil/", ut, 1 },
		{ ok_id, "Confirmed", ct, "bb&x=1", 1 },
		{ ok_id, "Confirmed", ct, "abc", 1 },
		{ "x", "Confirmed", ct, ut, 1 },
	};
	harness("http://127.0.0.1:1/x", 1, 5);
	hcfg.admin.public_url = (char *)"https://lb.example.com";
	n_start();
	sub_dir(sdir, sizeof sdir);
	notify_shutdown();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text,
			 "{\"Topic\":\"ops\",\"Endpoint\":\"http://127.0.0.1:1/x\",\"SubscriptionId\":\"%s\","
			 "\"SubscriptionArn\":\"arn:aws:sns:local:000000000000:ops:%s\",\"Status\":\"%s\","
			 "\"ConfirmToken\":\"%s\",\"UnsubscribeToken\":\"%s\"}",
			 cases[i].id, cases[i].id, cases[i].status, cases[i].ct, cases[i].ut);
		write_state(text);
		n_start();
		json_t *o = read_state();
		const char *id = s_(o, "SubscriptionId");
		ck_assert_msg(nf_uuid_valid(id), "case %zu: %s", i, id);
		ck_assert(nf_hex_valid(s_(o, "ConfirmToken"), 128) && nf_hex_valid(s_(o, "UnsubscribeToken"), 64));
		if (cases[i].fresh) {
			ck_assert_msg(strcmp(id, ok_id) != 0, "case %zu kept its id", i);
			/* confirm is set: the fresh subscription waits for consent */
			ck_assert_str_eq(s_(o, "Status"), "PendingConfirmation");
		} else {
			ck_assert_str_eq(id, ok_id);
			ck_assert_str_eq(s_(o, "Status"), "Confirmed");
		}
		json_decref(o);
		notify_shutdown();
	}
}
END_TEST

static int dlq_exists(void)
{
	char p[400];
	snprintf(p, sizeof p, "%s/dead-letters.jsonl", sdir);
	return access(p, F_OK) == 0 && spool_empty();
}

START_TEST(attempts_survive_a_restart)
{
	char id[NOTIFY_ID_LEN], err[300], p[400];
	harness("http://127.0.0.1:1/x", 0, 1);   /* two attempts in all */
	n_start();
	sub_dir(sdir, sizeof sdir);
	struct notify_msg m = { .message = "refused twice" };
	ck_assert_int_eq(notify_publish("ops", &m, id, err, sizeof err), 0);
	ck_assert(run_until(attempt_recorded, 5000));
	notify_shutdown();   /* as a crash after the first attempt would */
	n_start();
	ck_assert(run_until(dlq_exists, 5000));
	snprintf(p, sizeof p, "%s/dead-letters.jsonl", sdir);
	json_t *a = ns_jsonl_read(p);
	ck_assert_uint_eq(json_array_size(a), 1);
	ck_assert_str_eq(s_(json_array_get(a, 0), "MessageId"), id);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "Attempts")), 2);
	json_decref(a);
	notify_shutdown();
}
END_TEST

START_TEST(dead_letters_are_capped_and_kept_when_retired)
{
	char id[NOTIFY_ID_LEN], err[300], p[400], p2[400];
	harness("http://127.0.0.1:1/x", 0, 0);   /* one attempt, then a dead letter */
	notify_set_dlq_limits(2, NOTIFY_DLQ_MAX_BYTES);
	n_start();
	sub_dir(sdir, sizeof sdir);
	struct notify_msg m = { .message = "doomed" };
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(notify_publish("ops", &m, id, err, sizeof err), 0);
	ck_assert(run_until(dlq_exists, 5000));
	snprintf(p, sizeof p, "%s/dead-letters.jsonl", sdir);
	ck_assert_uint_eq(ns_jsonl_count(p, NULL), 2);   /* the third was dropped */
	/* the subscription leaves the config: its letters stay, marked retired */
	struct cfg_subscription other = hsub;
	other.endpoint = (char *)"http://127.0.0.1:2/y";
	htopic.subs = &other;
	notify_apply(&hgen);
	snprintf(p2, sizeof p2, "%s/retired.json", sdir);
	ck_assert_int_eq(access(p2, F_OK), 0);
	ck_assert_uint_eq(ns_jsonl_count(p, NULL), 2);
	notify_shutdown();
	/* back in the config: they are its own again */
	htopic.subs = &hsub;
	n_start();
	ck_assert_int_ne(access(p2, F_OK), 0);
	ck_assert_uint_eq(ns_jsonl_count(p, NULL), 2);
	notify_shutdown();
	notify_set_dlq_limits(NOTIFY_DLQ_MAX, NOTIFY_DLQ_MAX_BYTES);
}
END_TEST


static int held_none(void)
{
	return notify_held_in_memory() == 0;
}

static size_t spooled(const char *sp, const char *id)
{
	char suffix[64];
	snprintf(suffix, sizeof suffix, "-%s.json", id);
	return count_files(sp, suffix, NULL, 0);
}

/* The spool's directory replaced by a file: every write to it fails. */
static void break_spool(const char *sp, const char *aside)
{
	ck_assert_int_eq(rename(sp, aside), 0);
	FILE *f = fopen(sp, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static void mend_spool(const char *sp, const char *aside)
{
	ck_assert_int_eq(unlink(sp), 0);
	ck_assert_int_eq(rename(aside, sp), 0);
}

START_TEST(a_spool_that_cannot_be_written_holds_messages_in_memory)
{
	char ids[4][NOTIFY_ID_LEN], err[300], sp[300], aside[320], text[1001];
	harness("http://127.0.0.1:1/x", 0, 5);   /* refused: the messages stay queued */
	n_start();
	sub_dir(sdir, sizeof sdir);
	snprintf(sp, sizeof sp, "%s/spool", sdir);
	snprintf(aside, sizeof aside, "%s/spool.away", sdir);
	memset(text, 'x', 1000);
	text[1000] = 0;
	struct notify_msg m = { .message = text };
	notify_set_mem_limit(2500);   /* two such messages, not three */
	break_spool(sp, aside);
	/* published, not refused: held in memory */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(notify_publish("ops", &m, ids[i], err, sizeof err), 0);
		ck_assert_uint_eq(notify_held_in_memory(), i < 2 ? (size_t)i + 1 : 2);
	}
	/* the spool can be written again: the held ones (the newest two) move
	 * there within RESPOOL_EVERY_S */
	mend_spool(sp, aside);
	ck_assert(run_until(held_none, 8000));
	ck_assert_uint_eq(spooled(sp, ids[0]), 0);
	ck_assert_uint_eq(spooled(sp, ids[1]), 1);
	ck_assert_uint_eq(spooled(sp, ids[2]), 1);
	/* held at a stop: written to the spool then */
	break_spool(sp, aside);
	ck_assert_int_eq(notify_publish("ops", &m, ids[3], err, sizeof err), 0);
	ck_assert_uint_eq(notify_held_in_memory(), 1);
	mend_spool(sp, aside);
	notify_shutdown();
	ck_assert_uint_eq(spooled(sp, ids[3]), 1);
	notify_set_mem_limit(NOTIFY_MEM_MAX_BYTES);
}
END_TEST

/* ------------------------------------------------------------ SNS's API: delivery policies */

START_TEST(delivery_policies_read_and_written_as_sns)
{
	struct cfg_delivery d = { .retries = 3, .min_delay_ms = 20000, .max_delay_ms = 20000, .timeout_ms = 15000 };
	char err[300];
	ck_assert_int_eq(nf_delivery_parse("{\"http\": {\"defaultHealthyRetryPolicy\": {\"minDelayTarget\": 2, "
					   "\"maxDelayTarget\": 30, \"numRetries\": 6, \"numNoDelayRetries\": 1, "
					   "\"numMaxDelayRetries\": 2, \"backoffFunction\": \"geometric\"}, "
					   "\"disableSubscriptionOverrides\": false, "
					   "\"defaultThrottlePolicy\": {\"maxReceivesPerSecond\": 5}}}",
					   1, &d, err, sizeof err),
			 0);
	ck_assert_uint_eq(d.min_delay_ms, 2000);
	ck_assert_uint_eq(d.max_delay_ms, 30000);
	ck_assert_uint_eq(d.retries, 6);
	ck_assert_uint_eq(d.no_delay_retries, 1);
	ck_assert_uint_eq(d.max_delay_retries, 2);
	ck_assert_uint_eq(d.throttle, 5);
	ck_assert_str_eq(d.backoff, "geometric");
	ck_assert_uint_eq(d.timeout_ms, 15000);   /* not SNS's: kept */
	char *t = nf_delivery_text(&d, 1);
	ck_assert_str_eq(t, "{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":2,\"maxDelayTarget\":30,"
			    "\"numRetries\":6,\"numMaxDelayRetries\":2,\"numNoDelayRetries\":1,\"numMinDelayRetries\":0,"
			    "\"backoffFunction\":\"geometric\"},\"disableSubscriptionOverrides\":false,"
			    "\"defaultRequestPolicy\":{\"headerContentType\":\"text/plain; charset=UTF-8\"},"
			    "\"defaultThrottlePolicy\":{\"maxReceivesPerSecond\":5}}}");
	free(t);
	/* a subscription's: over the topic's; what it leaves out stays */
	ck_assert_int_eq(nf_delivery_parse("{\"healthyRetryPolicy\": {\"numRetries\": 1, \"numNoDelayRetries\": 1, "
					   "\"numMaxDelayRetries\": 0}}",
					   0, &d, err, sizeof err),
			 0);
	ck_assert_uint_eq(d.retries, 1);
	ck_assert_uint_eq(d.max_delay_ms, 30000);
	t = nf_delivery_text(&d, 0);
	ck_assert_ptr_nonnull(strstr(t, "\"healthyRetryPolicy\":{\"minDelayTarget\":2,"));
	ck_assert_ptr_nonnull(strstr(t, "\"throttlePolicy\":{\"maxReceivesPerSecond\":5}"));
	free(t);
	/* refused, naming the member */
	static const struct {
		const char *text;
		int topic;
		const char *says;
	} bad[] = {
		{ "nope", 1, "not a JSON object" },
		{ "[]", 1, "not a JSON object" },
		{ "{\"https\": {}}", 1, "unknown member https" },
		{ "{\"http\": {\"defaultHealthyRetryPolicy\": {\"numRetries\": 101}}}", 1, "numRetries" },
		{ "{\"http\": {\"defaultHealthyRetryPolicy\": {\"numRetries\": \"3\"}}}", 1, "numRetries" },
		{ "{\"http\": {\"defaultHealthyRetryPolicy\": {\"minDelayTarget\": 0}}}", 1, "minDelayTarget" },
		{ "{\"http\": {\"defaultHealthyRetryPolicy\": {\"backoffFunction\": \"cubic\"}}}", 1, "backoffFunction" },
		{ "{\"http\": {\"defaultHealthyRetryPolicy\": {\"retries\": 3}}}", 1, "unknown member retries" },
		{ "{\"http\": {\"defaultHealthyRetryPolicy\": {\"minDelayTarget\": 30, \"maxDelayTarget\": 2}}}", 1,
		  "defaultHealthyRetryPolicy" },
		{ "{\"http\": {\"defaultThrottlePolicy\": {\"maxReceivesPerSecond\": 0}}}", 1, "maxReceivesPerSecond" },
		{ "{\"http\": {\"disableSubscriptionOverrides\": 1}}", 1, "disableSubscriptionOverrides" },
		{ "{\"http\": {}}", 0, "unknown member http" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cfg_delivery x = d;
		err[0] = 0;
		ck_assert_int_eq(nf_delivery_parse(bad[i].text, bad[i].topic, &x, err, sizeof err), -1);
		ck_assert_msg(strstr(err, bad[i].says), "%s: %s", bad[i].text, err);
	}
}
END_TEST

/* ------------------------------------------------------------ SNS's API: run-time topics and subscriptions */

/* The state.json of topic TOPIC's subscription (a new reference). */
static json_t *state_of(const char *topic)
{
	char p[256];
	snprintf(p, sizeof p, "%s/notify", dir);
	DIR *d = opendir(p);
	struct dirent *de;
	json_t *found = NULL;
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && !found) {
		char f[600];
		if (strncmp(de->d_name, "sub-", 4) != 0)
			continue;
		snprintf(f, sizeof f, "%s/%s/state.json", p, de->d_name);
		json_t *o = json_load_file(f, 0, NULL);
		if (o && !strcmp(s_(o, "Topic"), topic))
			found = o;
		else
			json_decref(o);
	}
	closedir(d);
	return found;
}

START_TEST(runtime_topics_and_subscriptions_survive_a_restart)
{
	char arn[600], err[400];
	int pending = -1;
	struct notify_topic_view tv;
	struct notify_sub_view sv;

	harness("http://127.0.0.1:1/x", 0, 5);
	n_start();
	json_t *attrs = json_pack("{s:s}", "DisplayName", "Run time");
	ck_assert_int_eq(notify_topic_create("rt", attrs, NULL, arn, sizeof arn, err, sizeof err), NOTIFY_OK);
	ck_assert_str_eq(arn, "arn:aws:sns:local:000000000000:rt");
	/* idempotent; with other attributes refused */
	ck_assert_int_eq(notify_topic_create("rt", NULL, NULL, arn, sizeof arn, err, sizeof err), NOTIFY_OK);
	json_object_set_new(attrs, "DisplayName", json_string("Other"));
	ck_assert_int_eq(notify_topic_create("rt", attrs, NULL, arn, sizeof arn, err, sizeof err), NOTIFY_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "already exists with different attributes"));
	json_decref(attrs);
	ck_assert_int_eq(notify_topic_create("a/b", NULL, NULL, arn, sizeof arn, err, sizeof err), NOTIFY_INVALID);
	ck_assert_str_eq(err, "Invalid parameter: Topic Name");
	ck_assert_int_eq(notify_topic_delete("arn:aws:sns:local:000000000000:ops", err, sizeof err), NOTIFY_DENIED);
	ck_assert_ptr_nonnull(strstr(err, "albd.conf"));
	ck_assert_int_eq(notify_topic_delete("ops", err, sizeof err), NOTIFY_INVALID);
	ck_assert_int_eq(notify_topic_at(1, &tv), 0);
	ck_assert_str_eq(tv.name, "rt");
	ck_assert_str_eq(tv.display_name, "Run time");
	ck_assert_int_eq(tv.runtime, 1);
	ck_assert_int_eq(notify_topic_at(2, &tv), -1);

	/* a subscription: pending until its token comes back */
	const char *rt = "arn:aws:sns:local:000000000000:rt";
	json_t *sa = json_pack("{s:s, s:s}", "FilterPolicy", "{\"env\": [\"prod\"]}", "RawMessageDelivery", "true");
	ck_assert_int_eq(notify_subscribe(rt, "http", "http://127.0.0.1:1/y", sa, arn, sizeof arn, &pending, err,
					  sizeof err),
			 NOTIFY_OK);
	ck_assert_int_eq(pending, 1);
	json_decref(sa);
	char sarn[600];
	snprintf(sarn, sizeof sarn, "%s", arn);
	ck_assert_int_eq(notify_subscribe(rt, "https", "http://127.0.0.1:1/y", NULL, arn, sizeof arn, &pending, err,
					  sizeof err),
			 NOTIFY_INVALID);
	ck_assert_int_eq(notify_subscribe(rt, "sqs", "arn:aws:sqs:x", NULL, arn, sizeof arn, &pending, err, sizeof err),
			 NOTIFY_INVALID);
	ck_assert_int_eq(notify_subscribe("arn:aws:sns:local:000000000000:none", "http", "http://127.0.0.1:1/y", NULL,
					  arn, sizeof arn, &pending, err, sizeof err),
			 NOTIFY_NOT_FOUND);
	ck_assert_int_eq(notify_sub_at(rt, 0, &sv), 0);
	ck_assert_str_eq(sv.status, "PendingConfirmation");
	ck_assert_str_eq(sv.format, "raw");
	ck_assert_str_eq(sv.filter_policy, "{\"env\": [\"prod\"]}");
	ck_assert_int_eq(notify_confirm(rt, "00", 0, arn, sizeof arn, err, sizeof err), NOTIFY_INVALID);
	json_t *st = state_of("rt");
	ck_assert_ptr_nonnull(st);
	ck_assert(json_is_true(json_object_get(st, "Runtime")));
	char token[200];
	snprintf(token, sizeof token, "%s", s_(st, "ConfirmToken"));
	json_decref(st);
	ck_assert_int_eq(notify_confirm(rt, token, 0, arn, sizeof arn, err, sizeof err), NOTIFY_OK);
	ck_assert_str_eq(arn, sarn);
	notify_shutdown();

	/* after a restart: the topic, the subscription, confirmed, its settings */
	n_start();
	ck_assert_int_eq(notify_topic_find(rt, 0, &tv), 0);
	ck_assert_str_eq(tv.display_name, "Run time");
	ck_assert_uint_eq(tv.confirmed, 1);
	ck_assert_int_eq(notify_sub_at(NULL, 1, &sv), 0);
	ck_assert_str_eq(sv.arn, sarn);
	ck_assert_str_eq(sv.status, "Confirmed");
	ck_assert_str_eq(sv.format, "raw");
	ck_assert_int_eq(sv.runtime, 1);
	ck_assert_int_eq(notify_sub_at(NULL, 2, &sv), -1);
	/* unsubscribed: it goes */
	ck_assert_int_eq(notify_unsubscribe(sarn, "bad", err, sizeof err), NOTIFY_INVALID);
	ck_assert_int_eq(notify_unsubscribe(sarn, NULL, err, sizeof err), NOTIFY_OK);
	ck_assert_int_eq(notify_sub_at(rt, 0, &sv), -1);
	ck_assert_int_eq(notify_unsubscribe(sarn, NULL, err, sizeof err), NOTIFY_NOT_FOUND);
	/* the topic deleted: gone for good */
	ck_assert_int_eq(notify_topic_delete(rt, err, sizeof err), NOTIFY_OK);
	ck_assert_int_eq(notify_topic_find(rt, 0, &tv), -1);
	ck_assert_int_eq(notify_topic_delete(rt, err, sizeof err), NOTIFY_OK);
	notify_shutdown();
	n_start();
	ck_assert_int_eq(notify_topic_find(rt, 0, &tv), -1);
	ck_assert_int_eq(notify_topic_at(1, &tv), -1);
	notify_shutdown();
}
END_TEST

START_TEST(hostile_topics_file_is_set_aside)
{
	char p[400], arn[600], err[300];
	struct notify_topic_view tv;
	harness("http://127.0.0.1:1/x", 0, 5);
	n_start();
	notify_shutdown();
	/* entries albd would not write are left out, the others kept */
	snprintf(p, sizeof p, "%s/notify/topics.json", dir);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"Topics\": [{\"Name\": \"../x\"}, {\"Name\": \"good\", \"Attributes\": {\"DisplayName\": \"G\"}},"
	      " {\"Name\": \"good\"}, {\"Name\": \"k\", \"Attributes\": {\"KmsMasterKeyId\": \"x\"}}, 7]}",
	      f);
	fclose(f);
	n_start();
	ck_assert_int_eq(notify_topic_at(1, &tv), 0);
	ck_assert_str_eq(tv.name, "good");
	ck_assert_str_eq(tv.display_name, "G");
	ck_assert_int_eq(notify_topic_at(2, &tv), -1);
	notify_shutdown();
	/* not JSON: set aside, never overwritten by the next CreateTopic */
	f = fopen(p, "w");
	fputs("{\"Topics\": [", f);
	fclose(f);
	n_start();
	ck_assert_int_eq(notify_topic_at(1, &tv), -1);
	ck_assert_int_eq(notify_topic_create("new", NULL, NULL, arn, sizeof arn, err, sizeof err), NOTIFY_OK);
	char aside[420];
	snprintf(aside, sizeof aside, "%s.corrupt", p);
	ck_assert_int_eq(access(aside, F_OK), 0);
	notify_shutdown();
}
END_TEST

START_TEST(damaged_topics_file_keeps_runtime_subscriptions)
{
	char p[400], arn[600], err[300], good[8192];
	int pending = -1;
	struct notify_topic_view tv;
	struct notify_sub_view sv;
	const char *rt = "arn:aws:sns:local:000000000000:rt";

	harness("http://127.0.0.1:1/x", 0, 5);
	n_start();
	ck_assert_int_eq(notify_topic_create("rt", NULL, NULL, arn, sizeof arn, err, sizeof err), NOTIFY_OK);
	ck_assert_int_eq(notify_subscribe(rt, "http", "http://127.0.0.1:1/y", NULL, arn, sizeof arn, &pending, err,
					  sizeof err),
			 NOTIFY_OK);
	notify_shutdown();
	snprintf(p, sizeof p, "%s/notify/topics.json", dir);
	FILE *f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(good, 1, sizeof good - 1, f);
	good[n] = '\0';
	fclose(f);
	/* the topic's entry damaged: the topic is not there, its subscription
	 * stays on disk (not retired), the file as it was is kept aside */
	f = fopen(p, "w");
	fputs("{\"Topics\": [{\"Name\": \"../rt\"}]}", f);
	fclose(f);
	n_start();
	ck_assert_int_eq(notify_topic_find(rt, 0, &tv), -1);
	ck_assert_int_eq(notify_sub_at(NULL, 1, &sv), -1);
	char aside[420];
	snprintf(aside, sizeof aside, "%s.corrupt", p);
	ck_assert_int_eq(access(aside, F_OK), 0);
	notify_shutdown();
	/* mended: the topic and its subscription are back */
	f = fopen(p, "w");
	fputs(good, f);
	fclose(f);
	n_start();
	ck_assert_int_eq(notify_topic_find(rt, 0, &tv), 0);
	ck_assert_int_eq(notify_sub_at(rt, 0, &sv), 0);
	ck_assert_str_eq(sv.endpoint, "http://127.0.0.1:1/y");
	ck_assert_int_eq(sv.runtime, 1);
	notify_shutdown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("formats");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, sns_notification_as_sns_sends_it);
	tcase_add_test(tc, sns_without_subject_has_no_subject);
	tcase_add_test(tc, sns_confirmation);
	tcase_add_test(tc, raw_is_the_message_alone);
	tcase_add_test(tc, slack_alarm_colors_and_fields);
	tcase_add_test(tc, slack_from_the_alarm_record);
	tcase_add_test(tc, slack_plain_messages);
	tcase_add_test(tc, hmac_header);
	tcase_add_test(tc, uuid_timestamp_tokens);
	tcase_add_test(tc, filter_attributes_of_an_alarm);
	tcase_add_test(tc, urls);
	tcase_add_test(tc, uuids_timestamps_and_hostile_records);
	suite_add_tcase(s, tc);

	tc = tcase_create("spool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, spool_round_trip_and_corrupt_files);
	tcase_add_test(tc, dead_letter_lines);
	tcase_add_test(tc, spool_sets_aside_records_with_hostile_ids);
	tcase_add_test(tc, torn_dead_letter_line_does_not_swallow_the_next);
	tcase_add_test(tc, dead_letter_pages_and_filter);
	suite_add_tcase(s, tc);

	tc = tcase_create("notifier");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, publish_takes_the_callers_message_id);
	tcase_add_test(tc, hostile_state_files_start_afresh);
	tcase_add_test(tc, attempts_survive_a_restart);
	tcase_add_test(tc, dead_letters_are_capped_and_kept_when_retired);
	tcase_add_test(tc, a_spool_that_cannot_be_written_holds_messages_in_memory);
	tcase_add_test(tc, delivery_policies_read_and_written_as_sns);
	tcase_add_test(tc, runtime_topics_and_subscriptions_survive_a_restart);
	tcase_add_test(tc, damaged_topics_file_keeps_runtime_subscriptions);
	tcase_add_test(tc, hostile_topics_file_is_set_aside);
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, config_setup, NULL);
	tcase_add_test(tc, check_configs);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
