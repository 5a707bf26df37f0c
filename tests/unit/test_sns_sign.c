/* test_sns_sign.c - src/control/sns_sign.c: the string to sign of each
 * message type as AWS documents it, sign and verify (versions 1 and 2),
 * tampering, and the key and certificate files in a state directory. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "control/sns_sign.h"

static const struct sns_fields notif = {
	.type = "Notification",
	.message_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
	.topic_arn = "arn:aws:sns:us-west-2:123456789012:MyTopic",
	.subject = "My First Message",
	.message = "Hello world!",
	.timestamp = "2012-05-02T00:54:06.655Z",
	.signature_version = "2",
};

static const struct sns_fields confirm = {
	.type = "SubscriptionConfirmation",
	.message_id = "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
	.topic_arn = "arn:aws:sns:us-west-2:123456789012:MyTopic",
	.message = "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
		   "To confirm the subscription, visit the SubscribeURL included in this message.",
	.timestamp = "2012-04-26T20:45:04.751Z",
	.token = "2336412f37f",
	.subscribe_url = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:"
			 "us-west-2:123456789012:MyTopic&Token=2336412f37f",
};

/* a state directory per test ---------------------------------------------- */

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/test_sns_sign.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm(const char *name)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	unlink(p);
}

static void teardown(void)
{
	rm(SNS_KEY_FILE);
	rm(SNS_CERT_FILE);
	rmdir(dir);
}

static char *slurp(const char *name)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *fp = fopen(p, "rb");
	if (!fp)
		return NULL;
	char *s = calloc(1, 65536);
	ck_assert_ptr_nonnull(s);
	size_t n = fread(s, 1, 65535, fp);
	s[n] = '\0';
	fclose(fp);
	return s;
}

static void spit(const char *name, const char *text)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *fp = fopen(p, "wb");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

static X509 *cert_of(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	ck_assert_ptr_nonnull(b);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* One key for the signing tests, made once (RSA 2048 takes a moment). */
static EVP_PKEY *key;
static X509 *cert;

static void key_setup(void)
{
	char err[256] = "", *pem = NULL;
	setup();
	key = sns_key_load_or_create(dir, &pem, err, sizeof err);
	ck_assert_msg(key != NULL, "%s", err);
	cert = cert_of(pem);
	free(pem);
}

static void key_teardown(void)
{
	X509_free(cert);
	EVP_PKEY_free(key);
	teardown();
}

/* the string to sign ------------------------------------------------------ */

START_TEST(test_sts_notification)
{
	char *s = sns_string_to_sign(&notif);
	ck_assert_str_eq(s, "Message\nHello world!\n"
			    "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
			    "Subject\nMy First Message\n"
			    "Timestamp\n2012-05-02T00:54:06.655Z\n"
			    "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
			    "Type\nNotification\n");
	free(s);

	/* no Subject: the pair is left out, not written empty */
	struct sns_fields f = notif;
	f.subject = NULL;
	s = sns_string_to_sign(&f);
	ck_assert_str_eq(s, "Message\nHello world!\n"
			    "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
			    "Timestamp\n2012-05-02T00:54:06.655Z\n"
			    "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
			    "Type\nNotification\n");
	free(s);

	/* an empty Subject is a Subject */
	f.subject = "";
	s = sns_string_to_sign(&f);
	ck_assert_ptr_nonnull(strstr(s, "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\n\nTimestamp\n"));
	free(s);

	/* a Notification does not sign Token or SubscribeURL */
	f = notif;
	f.token = "tok";
	f.subscribe_url = "https://x/";
	s = sns_string_to_sign(&f);
	ck_assert_ptr_null(strstr(s, "Token"));
	ck_assert_ptr_null(strstr(s, "SubscribeURL"));
	free(s);

	/* values are signed as they are: newlines, UTF-8, JSON text */
	f = notif;
	f.message = "{\"a\":\"line1\\nline2\"}\nsecond line é";
	s = sns_string_to_sign(&f);
	ck_assert_ptr_nonnull(strstr(s, "Message\n{\"a\":\"line1\\nline2\"}\nsecond line é\nMessageId\n"));
	free(s);
}
END_TEST

/* The developer guide's own examples of a string to sign. */
START_TEST(test_sts_aws_examples)
{
	struct sns_fields f = {
		.type = "Notification",
		.message = "My Test Message",
		.message_id = "4d4dc071-ddbf-465d-bba8-08f81c89da64",
		.subject = "My subject",
		.timestamp = "2019-01-31T04:37:04.321Z",
		.topic_arn = "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
	};
	char *s = sns_string_to_sign(&f);
	ck_assert_str_eq(s, "Message\nMy Test Message\n"
			    "MessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n"
			    "Subject\nMy subject\n"
			    "Timestamp\n2019-01-31T04:37:04.321Z\n"
			    "TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
			    "Type\nNotification\n");
	free(s);
	f = (struct sns_fields){
		.type = "SubscriptionConfirmation",
		.message = "My Test Message",
		.message_id = "3d891288-136d-417f-bc05-901c108273ee",
		.subscribe_url = "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:"
				 "us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233...",
		.timestamp = "2019-01-31T19:25:13.719Z",
		.token = "233...",
		.topic_arn = "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
	};
	s = sns_string_to_sign(&f);
	ck_assert_str_eq(s, "Message\nMy Test Message\n"
			    "MessageId\n3d891288-136d-417f-bc05-901c108273ee\n"
			    "SubscribeURL\nhttps://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
			    "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233...\n"
			    "Timestamp\n2019-01-31T19:25:13.719Z\n"
			    "Token\n233...\n"
			    "TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
			    "Type\nSubscriptionConfirmation\n");
	free(s);
}
END_TEST

START_TEST(test_sts_confirmations)
{
	static const char *const types[] = { "SubscriptionConfirmation", "UnsubscribeConfirmation" };
	for (int i = 0; i < 2; i++) {
		struct sns_fields f = confirm;
		f.type = types[i];
		f.subject = "ignored"; /* confirmations have no Subject */
		char *s = sns_string_to_sign(&f), want[2048];
		snprintf(want, sizeof want,
			 "Message\n%s\nMessageId\n%s\nSubscribeURL\n%s\nTimestamp\n%s\nToken\n%s\nTopicArn\n%s\nType\n%s\n",
			 f.message, f.message_id, f.subscribe_url, f.timestamp, f.token, f.topic_arn, f.type);
		ck_assert_str_eq(s, want);
		free(s);
	}
}
END_TEST

START_TEST(test_sts_missing)
{
	struct sns_fields f = notif;
	f.type = NULL;
	ck_assert_ptr_null(sns_string_to_sign(&f));
	f.type = "Bogus";
	ck_assert_ptr_null(sns_string_to_sign(&f));
	f.type = "notification"; /* case matters */
	ck_assert_ptr_null(sns_string_to_sign(&f));
	ck_assert_ptr_null(sns_string_to_sign(NULL));

	const char *struct_off[] = { "message", "message_id", "timestamp", "topic_arn" };
	for (int i = 0; i < 4; i++) {
		f = notif;
		if (i == 0)
			f.message = NULL;
		else if (i == 1)
			f.message_id = NULL;
		else if (i == 2)
			f.timestamp = NULL;
		else
			f.topic_arn = NULL;
		ck_assert_msg(sns_string_to_sign(&f) == NULL, "Notification without %s", struct_off[i]);
	}
	f = confirm;
	f.token = NULL;
	ck_assert_ptr_null(sns_string_to_sign(&f));
	f = confirm;
	f.subscribe_url = NULL;
	ck_assert_ptr_null(sns_string_to_sign(&f));
	f = confirm;
	f.type = "UnsubscribeConfirmation";
	f.token = NULL;
	ck_assert_ptr_null(sns_string_to_sign(&f));
}
END_TEST

/* sign and verify --------------------------------------------------------- */

START_TEST(test_sign_verify)
{
	char err[256] = "", *sig = NULL;
	const struct sns_fields *msgs[] = { &notif, &confirm };
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(sns_sign(key, msgs[i], &sig, err, sizeof err) == 0, "%s", err);
		/* RSA 2048: 256 bytes, 344 base64 characters, no newline */
		ck_assert_uint_eq(strlen(sig), 344);
		ck_assert_ptr_null(strchr(sig, '\n'));
		ck_assert_int_eq(sns_verify(cert, msgs[i], sig), 1);
		free(sig);
	}
	struct sns_fields f = notif;
	f.subject = NULL;
	ck_assert_int_eq(sns_sign(key, &f, &sig, err, sizeof err), 0);
	ck_assert_int_eq(sns_verify(cert, &f, sig), 1);
	f.subject = ""; /* absent and empty are different messages */
	ck_assert_int_eq(sns_verify(cert, &f, sig), 0);
	free(sig);
}
END_TEST

/* The signature is RSA PKCS#1 v1.5 over SHA256 of the string to sign, what
 * a receiver checks with the certificate alone (sns-validator's
 * crypto.createVerify('RSA-SHA256').update(stringToSign).verify(cert, sig,
 * 'base64')), and SignatureVersion 1 is the same with SHA1. */
START_TEST(test_signature_is_plain_rsa_sha)
{
	char err[256] = "", *sig = NULL;
	const char *versions[] = { "2", "1", NULL };
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha1(), EVP_sha256() };
	for (int i = 0; i < 3; i++) {
		struct sns_fields f = notif;
		f.signature_version = versions[i];
		ck_assert_int_eq(sns_sign(key, &f, &sig, err, sizeof err), 0);
		char *sts = sns_string_to_sign(&f);
		unsigned char raw[512];
		int n = EVP_DecodeBlock(raw, (const unsigned char *)sig, (int)strlen(sig));
		/* 2048 bits: 256 bytes, 85 groups of 3 and one byte: "==" */
		ck_assert_str_eq(sig + 342, "==");
		ck_assert_int_eq(n, 258); /* EVP_DecodeBlock counts the padding */
		n -= 2;
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, mds[i], NULL, X509_get0_pubkey(cert)), 1);
		ck_assert_int_eq(EVP_DigestVerify(ctx, raw, (size_t)n, (const unsigned char *)sts, strlen(sts)), 1);
		EVP_MD_CTX_free(ctx);
		/* and the other digest does not verify it */
		f.signature_version = (i == 1) ? "2" : "1";
		ck_assert_int_eq(sns_verify(cert, &f, sig), 0);
		free(sts);
		free(sig);
	}
	struct sns_fields f = notif;
	f.signature_version = "3";
	sig = (char *)"x";
	ck_assert_int_eq(sns_sign(key, &f, &sig, err, sizeof err), -1);
	ck_assert_ptr_null(sig);
	ck_assert_ptr_nonnull(strstr(err, "SignatureVersion"));
	f.type = "Bogus";
	f.signature_version = "2";
	ck_assert_int_eq(sns_sign(key, &f, &sig, err, sizeof err), -1);
	ck_assert_ptr_null(sig);
}
END_TEST

/* Change one field: the signature no longer verifies. */
START_TEST(test_verify_tampered)
{
	char err[256] = "", *sig = NULL;
	for (int m = 0; m < 2; m++) {
		const struct sns_fields *orig = m ? &confirm : &notif;
		ck_assert_int_eq(sns_sign(key, orig, &sig, err, sizeof err), 0);
		for (int i = 0; i < 8; i++) {
			struct sns_fields f = *orig;
			const char **fld[] = { &f.message, &f.message_id, &f.topic_arn, &f.timestamp,
					       &f.subject, &f.token, &f.subscribe_url, &f.type };
			if (!*fld[i])
				continue; /* a field this type does not sign */
			if (fld[i] == &f.type)
				f.type = m ? "UnsubscribeConfirmation" : "SubscriptionConfirmation";
			else
				*fld[i] = "tampered";
			if (m == 0 && fld[i] == &f.type) {
				f.token = "t";
				f.subscribe_url = "u";
			}
			ck_assert_msg(sns_verify(cert, &f, sig) == 0, "message %d field %d", m, i);
		}
		/* a Notification's Subject removed */
		if (m == 0) {
			struct sns_fields f = *orig;
			f.subject = NULL;
			ck_assert_int_eq(sns_verify(cert, &f, sig), 0);
		}
		/* the signature changed: one character, cut, not base64, empty */
		char *bad = strdup(sig);
		bad[10] = bad[10] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(sns_verify(cert, orig, bad), 0);
		strcpy(bad, sig);
		bad[strlen(bad) - 4] = '\0';
		ck_assert_int_eq(sns_verify(cert, orig, bad), 0);
		strcpy(bad, sig);
		bad[20] = '*';
		ck_assert_int_eq(sns_verify(cert, orig, bad), 0);
		ck_assert_int_eq(sns_verify(cert, orig, ""), 0);
		ck_assert_int_eq(sns_verify(cert, orig, "===="), 0);
		ck_assert_int_eq(sns_verify(cert, orig, NULL), 0);
		free(bad);
		/* the same message still verifies */
		ck_assert_int_eq(sns_verify(cert, orig, sig), 1);
		free(sig);
	}
}
END_TEST

/* Another key's certificate does not verify our signature. */
START_TEST(test_verify_other_cert)
{
	char err[256] = "", *sig = NULL, *pem = NULL;
	char other[64];
	strcpy(other, "/tmp/test_sns_sign2.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(other));
	EVP_PKEY *k2 = sns_key_load_or_create(other, &pem, err, sizeof err);
	ck_assert_msg(k2 != NULL, "%s", err);
	X509 *c2 = cert_of(pem);
	ck_assert_int_eq(sns_sign(key, &notif, &sig, err, sizeof err), 0);
	ck_assert_int_eq(sns_verify(c2, &notif, sig), 0);
	ck_assert_int_eq(sns_verify(cert, &notif, sig), 1);
	free(sig);
	free(pem);
	X509_free(c2);
	EVP_PKEY_free(k2);
	char p[128];
	snprintf(p, sizeof p, "%s/%s", other, SNS_KEY_FILE);
	unlink(p);
	snprintf(p, sizeof p, "%s/%s", other, SNS_CERT_FILE);
	unlink(p);
	rmdir(other);
}
END_TEST

/* the key and certificate files ------------------------------------------- */

START_TEST(test_key_created_then_loaded)
{
	char err[256] = "", *pem1 = NULL, *pem2 = NULL;
	EVP_PKEY *k1 = sns_key_load_or_create(dir, &pem1, err, sizeof err);
	ck_assert_msg(k1 != NULL, "%s", err);
	ck_assert_int_eq(EVP_PKEY_get_base_id(k1), EVP_PKEY_RSA);
	ck_assert_int_eq(EVP_PKEY_get_bits(k1), 2048);

	char p[128];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, SNS_KEY_FILE);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	snprintf(p, sizeof p, "%s/%s", dir, SNS_CERT_FILE);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);

	char *keyfile = slurp(SNS_KEY_FILE), *certfile = slurp(SNS_CERT_FILE);
	ck_assert_ptr_nonnull(strstr(keyfile, "-----BEGIN PRIVATE KEY-----"));
	ck_assert_str_eq(certfile, pem1);

	/* the certificate: self-signed, the key's, valid now for years */
	X509 *x = cert_of(pem1);
	ck_assert_int_eq(X509_check_private_key(x, k1), 1);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(x)), 1);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	ck_assert_int_lt(X509_cmp_current_time(X509_get0_notBefore(x)), 0);
	time_t in9y = time(NULL) + 9L * 365 * 24 * 3600;
	ck_assert_int_gt(X509_cmp_time(X509_get0_notAfter(x), &in9y), 0);
	X509_free(x);

	/* again: the same key and certificate, the files untouched */
	EVP_PKEY *k2 = sns_key_load_or_create(dir, &pem2, err, sizeof err);
	ck_assert_msg(k2 != NULL, "%s", err);
	ck_assert_int_eq(EVP_PKEY_eq(k1, k2), 1);
	ck_assert_str_eq(pem1, pem2);
	char *keyfile2 = slurp(SNS_KEY_FILE), *certfile2 = slurp(SNS_CERT_FILE);
	ck_assert_str_eq(keyfile, keyfile2);
	ck_assert_str_eq(certfile, certfile2);

	/* a signature by the loaded key verifies with the first certificate */
	char *sig = NULL;
	ck_assert_int_eq(sns_sign(k2, &notif, &sig, err, sizeof err), 0);
	x = cert_of(pem1);
	ck_assert_int_eq(sns_verify(x, &notif, sig), 1);
	X509_free(x);
	free(sig);

	/* cert_pem may be NULL */
	EVP_PKEY *k3 = sns_key_load_or_create(dir, NULL, err, sizeof err);
	ck_assert_ptr_nonnull(k3);
	EVP_PKEY_free(k3);

	/* no temporary files left behind */
	char cmd[160];
	snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 2", dir);
	ck_assert_int_eq(system(cmd), 0);

	free(keyfile);
	free(certfile);
	free(keyfile2);
	free(certfile2);
	free(pem1);
	free(pem2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}
END_TEST

/* The certificate lost or replaced: a new one for the same key. */
START_TEST(test_cert_remade)
{
	char err[256] = "", *pem1 = NULL, *pem2 = NULL;
	EVP_PKEY *k1 = sns_key_load_or_create(dir, &pem1, err, sizeof err);
	ck_assert_ptr_nonnull(k1);
	char *keyfile = slurp(SNS_KEY_FILE);
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			rm(SNS_CERT_FILE);
		else
			spit(SNS_CERT_FILE, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
		EVP_PKEY *k2 = sns_key_load_or_create(dir, &pem2, err, sizeof err);
		ck_assert_msg(k2 != NULL, "%s", err);
		ck_assert_int_eq(EVP_PKEY_eq(k1, k2), 1);
		X509 *x = cert_of(pem2);
		ck_assert_int_eq(X509_check_private_key(x, k1), 1);
		X509_free(x);
		char *certfile = slurp(SNS_CERT_FILE), *keyfile2 = slurp(SNS_KEY_FILE);
		ck_assert_str_eq(certfile, pem2);
		ck_assert_str_eq(keyfile, keyfile2); /* the key is never rewritten */
		free(certfile);
		free(keyfile2);
		free(pem2);
		EVP_PKEY_free(k2);
	}
	free(keyfile);
	free(pem1);
	EVP_PKEY_free(k1);
}
END_TEST

/* A corrupt key file is an error (with the file's name), and stays. */
START_TEST(test_corrupt_key)
{
	static const char *const bad[] = {
		"",
		"not a key at all\n",
		"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\n",
	};
	char err[256], *pem;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		spit(SNS_KEY_FILE, bad[i]);
		err[0] = '\0';
		pem = (char *)"untouched";
		EVP_PKEY *k = sns_key_load_or_create(dir, &pem, err, sizeof err);
		ck_assert_msg(k == NULL, "bad key %zu loaded", i);
		ck_assert_ptr_null(pem);
		ck_assert_msg(strstr(err, SNS_KEY_FILE) != NULL, "bad key %zu: %s", i, err);
		char *now = slurp(SNS_KEY_FILE);
		ck_assert_str_eq(now, bad[i]);
		free(now);
	}
	/* a valid key, but not RSA */
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(ec);
	BIO *b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL), 1);
	char *ecpem;
	long n = BIO_get_mem_data(b, &ecpem);
	char *ectext = strndup(ecpem, (size_t)n);
	BIO_free(b);
	EVP_PKEY_free(ec);
	spit(SNS_KEY_FILE, ectext);
	err[0] = '\0';
	ck_assert_ptr_null(sns_key_load_or_create(dir, NULL, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "RSA"));
	free(ectext);

	/* a key file that cannot be read: an error too */
	rm(SNS_KEY_FILE);
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, SNS_KEY_FILE);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	err[0] = '\0';
	ck_assert_ptr_null(sns_key_load_or_create(dir, NULL, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, SNS_KEY_FILE));
	rmdir(p);
}
END_TEST

/* A directory that does not exist: an error. */
START_TEST(test_no_dir)
{
	char err[256] = "";
	char *pem = NULL;
	ck_assert_ptr_null(sns_key_load_or_create("/nonexistent/albd-test-dir", &pem, err, sizeof err));
	ck_assert_ptr_null(pem);
	ck_assert_int_ne(err[0], '\0');
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sns_sign");
	TCase *tc = tcase_create("string_to_sign");
	tcase_add_test(tc, test_sts_notification);
	tcase_add_test(tc, test_sts_aws_examples);
	tcase_add_test(tc, test_sts_confirmations);
	tcase_add_test(tc, test_sts_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("sign");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, key_setup, key_teardown);
	tcase_add_test(tc, test_sign_verify);
	tcase_add_test(tc, test_signature_is_plain_rsa_sha);
	tcase_add_test(tc, test_verify_tampered);
	tcase_add_test(tc, test_verify_other_cert);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_key_created_then_loaded);
	tcase_add_test(tc, test_cert_remade);
	tcase_add_test(tc, test_corrupt_key);
	tcase_add_test(tc, test_no_dir);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
