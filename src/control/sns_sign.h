/* sns_sign.h - the signature of an SNS message (HTTP/S delivery), as a
 * receiver verifies it, and albd's signing key and certificate.
 *
 * The string to sign, from the Amazon SNS Developer Guide, "Verifying the
 * signatures of Amazon SNS messages" (docs.aws.amazon.com/sns/latest/dg/
 * sns-verify-signature-of-message.html, and awsdocs/amazon-sns-developer-
 * guide doc_source/sns-verify-signature-of-message.md): "The string to sign
 * is a newline character-delimited list of name-value pairs from the
 * message. Each name-value pair is represented with the name first followed
 * by a newline character, followed by the value, and ending with a newline
 * character. The name-value pairs must be listed in byte-sort order." The
 * pairs are, for a Notification: Message, MessageId, Subject ("if
 * included" in the message), Timestamp, TopicArn, Type; for a
 * SubscriptionConfirmation or UnsubscribeConfirmation: Message, MessageId,
 * SubscribeURL, Timestamp, Token, TopicArn, Type. So the string ends with
 * "Type\n<type>\n". The values are the fields' original (JSON-unescaped)
 * text. SignatureVersion "1" signs the string with RSA and SHA1,
 * SignatureVersion "2" (what albd sends) with RSA and SHA256 (PKCS#1 v1.5,
 * what SNS and every receiver use); Signature is the base64 of the RSA
 * signature.
 *
 * What receivers do (checked against the npm package sns-validator, its
 * validateSignature/hashHasKeys): each signable key is appended as
 * key + "\n" + value + "\n" when it is present in the message, in the order
 * above, and the signature is verified with 'RSA-SHA1' or 'RSA-SHA256' and
 * 'base64'. Its key list for everything but SubscriptionConfirmation also
 * includes SubscribeURL (absent from Notifications, so it changes nothing)
 * and lacks Token: so sns-validator cannot verify an UnsubscribeConfirmation
 * signed as AWS documents; albd follows AWS (and the AWS SDKs' validators),
 * not that list. A Notification without a subject has no Subject at all
 * (sns-validator also drops "Subject": null), which sns_fields expresses as
 * subject == NULL; an empty subject "" is a Subject present and signed.
 *
 * The key: RSA 2048, PKCS#8 PEM, STATE_DIR/sns-signing-key.pem (mode 0600);
 * the certificate: self-signed X.509 v3, SHA256, ten years, PEM,
 * STATE_DIR/sns-signing-cert.pem (mode 0644), served at SigningCertURL.
 * Both files are written atomically (temporary file, fsync, rename, fsync of
 * the directory).
 *
 * Thread: any; nothing is shared but what the caller passes. An EVP_PKEY
 * may be used by several threads at once for signing (OpenSSL 3).
 */
#ifndef ALBD_SNS_SIGN_H
#define ALBD_SNS_SIGN_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define SNS_KEY_FILE "sns-signing-key.pem"
#define SNS_CERT_FILE "sns-signing-cert.pem"

/* The fields of a message that its signature covers, NUL-terminated UTF-8
 * as they appear (unescaped) in the JSON body; NULL = absent. The caller
 * owns the strings. SIGNATURE_VERSION is "1" or "2"; NULL means "2". */
struct sns_fields {
	const char *type; /* "Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation" */
	const char *message_id;
	const char *topic_arn;
	const char *subject; /* Notification only; NULL = no Subject */
	const char *message;
	const char *timestamp;
	const char *token;         /* confirmations only */
	const char *subscribe_url; /* confirmations only */
	const char *signature_version;
};

/* The string to sign for F, malloc'd (the caller frees it), or NULL when
 * F's type is unknown or a field its type requires is missing (for a
 * Notification: message, message_id, timestamp, topic_arn; for a
 * confirmation also token and subscribe_url), or on allocation failure.
 * Fields that the type does not sign are ignored. */
char *sns_string_to_sign(const struct sns_fields *f);

/* Sign F with KEY (RSA, PKCS#1 v1.5) using the digest of
 * F->signature_version (SHA256 for "2" or NULL, SHA1 for "1"). On success
 * returns 0 and sets *B64_SIG to the malloc'd base64 signature (no
 * newlines; the caller frees it). Returns -1 with a message in ERR on a bad
 * message (see sns_string_to_sign), an unknown signature version, or an
 * OpenSSL error. KEY stays the caller's. */
int sns_sign(EVP_PKEY *key, const struct sns_fields *f, char **b64_sig, char *err, size_t errlen);

/* 1 when B64_SIG is a valid signature of F (with F->signature_version's
 * digest) by CERT's public key, else 0 (bad base64, a bad message, a wrong
 * signature). What a receiver does once it trusts CERT; used by the tests.
 * CERT stays the caller's. */
int sns_verify(X509 *cert, const struct sns_fields *f, const char *b64_sig);

/* The signing key in directory DIR: loaded from DIR/SNS_KEY_FILE, or, when
 * that file does not exist, generated (RSA 2048) and written there with a
 * new self-signed certificate in DIR/SNS_CERT_FILE. When the key exists but
 * the certificate is missing, unreadable or not the key's, a new
 * certificate is made for the key and written. DIR must exist. Returns the
 * key (the caller frees it with EVP_PKEY_free) and, when CERT_PEM is not
 * NULL, sets *CERT_PEM to the malloc'd PEM text of the certificate (the
 * caller frees it). Returns NULL with a message in ERR when a file cannot
 * be read or written or the key file is not a PEM RSA private key (a
 * corrupt key is never replaced: the caller decides). Call it from one
 * thread at a time per DIR. */
EVP_PKEY *sns_key_load_or_create(const char *dir, char **cert_pem, char *err, size_t errlen);

#endif
