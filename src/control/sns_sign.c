/* sns_sign.c - see sns_sign.h */
#include "control/sns_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/atomic_file.h"

static void sns_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void sns_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ERR with OpenSSL's last error appended, and OpenSSL's queue emptied. */
static void sns_ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "unknown error";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	sns_err(err, errlen, "%s: %s", what, buf);
}

/* the string to sign ------------------------------------------------------ */

struct sns_pair {
	const char *name;
	const char *value;
	int optional;
};

char *sns_string_to_sign(const struct sns_fields *f)
{
	struct sns_pair p[7];
	size_t n = 0;
	if (!f || !f->type)
		return NULL;
	if (!strcmp(f->type, "Notification")) {
		p[n++] = (struct sns_pair){ "Message", f->message, 0 };
		p[n++] = (struct sns_pair){ "MessageId", f->message_id, 0 };
		p[n++] = (struct sns_pair){ "Subject", f->subject, 1 };
		p[n++] = (struct sns_pair){ "Timestamp", f->timestamp, 0 };
		p[n++] = (struct sns_pair){ "TopicArn", f->topic_arn, 0 };
		p[n++] = (struct sns_pair){ "Type", f->type, 0 };
	} else if (!strcmp(f->type, "SubscriptionConfirmation") || !strcmp(f->type, "UnsubscribeConfirmation")) {
		p[n++] = (struct sns_pair){ "Message", f->message, 0 };
		p[n++] = (struct sns_pair){ "MessageId", f->message_id, 0 };
		p[n++] = (struct sns_pair){ "SubscribeURL", f->subscribe_url, 0 };
		p[n++] = (struct sns_pair){ "Timestamp", f->timestamp, 0 };
		p[n++] = (struct sns_pair){ "Token", f->token, 0 };
		p[n++] = (struct sns_pair){ "TopicArn", f->topic_arn, 0 };
		p[n++] = (struct sns_pair){ "Type", f->type, 0 };
	} else {
		return NULL;
	}
	size_t len = 1;
	for (size_t i = 0; i < n; i++) {
		if (!p[i].value) {
			if (p[i].optional)
				continue;
			return NULL;
		}
		size_t vl = strlen(p[i].value);
		if (vl > SIZE_MAX / 2 - len - 64)
			return NULL;
		len += strlen(p[i].name) + vl + 2;
	}
	char *s = malloc(len), *o = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!p[i].value)
			continue;
		size_t nl = strlen(p[i].name), vl = strlen(p[i].value);
		memcpy(o, p[i].name, nl);
		o += nl;
		*o++ = '\n';
		memcpy(o, p[i].value, vl);
		o += vl;
		*o++ = '\n';
	}
	*o = '\0';
	return s;
}

/* signing and verifying --------------------------------------------------- */

/* The digest of signature version V (NULL = "2"), or NULL when unknown. */
static const EVP_MD *sns_md(const char *v)
{
	if (!v || !strcmp(v, "2"))
		return EVP_sha256();
	if (!strcmp(v, "1"))
		return EVP_sha1();
	return NULL;
}

int sns_sign(EVP_PKEY *key, const struct sns_fields *f, char **b64_sig, char *err, size_t errlen)
{
	*b64_sig = NULL;
	const EVP_MD *md = sns_md(f->signature_version);
	if (!md) {
		sns_err(err, errlen, "unknown SignatureVersion \"%s\"", f->signature_version);
		return -1;
	}
	char *sts = sns_string_to_sign(f);
	if (!sts) {
		sns_err(err, errlen, "a %s message lacks a field it signs", f->type ? f->type : "(typeless)");
		return -1;
	}
	int rc = -1;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSignUpdate(ctx, sts, strlen(sts)) != 1 || EVP_DigestSignFinal(ctx, NULL, &siglen) != 1) {
		sns_ossl_err(err, errlen, "sign");
		goto out;
	}
	sig = malloc(siglen);
	if (!sig) {
		sns_err(err, errlen, "sign: out of memory");
		goto out;
	}
	if (EVP_DigestSignFinal(ctx, sig, &siglen) != 1) {
		sns_ossl_err(err, errlen, "sign");
		goto out;
	}
	char *b64 = malloc(4 * ((siglen + 2) / 3) + 1);
	if (!b64) {
		sns_err(err, errlen, "sign: out of memory");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	*b64_sig = b64;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(sts);
	return rc;
}

/* Decode base64 S (no whitespace, padded) into a malloc'd buffer; NULL when
 * S is not base64. */
static unsigned char *sns_b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	if (n == 0 || n % 4 || n > INT_MAX)
		return NULL;
	size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < n - pad; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') &&
		    s[i] != '+' && s[i] != '/')
			return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (r < 0 || (size_t)r < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)r - pad;
	return out;
}

int sns_verify(X509 *cert, const struct sns_fields *f, const char *b64_sig)
{
	const EVP_MD *md = sns_md(f->signature_version);
	if (!cert || !b64_sig || !md)
		return 0;
	char *sts = sns_string_to_sign(f);
	if (!sts)
		return 0;
	size_t siglen = 0;
	unsigned char *sig = sns_b64_decode(b64_sig, &siglen);
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = sig && pub && ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
		 EVP_DigestVerifyUpdate(ctx, sts, strlen(sts)) == 1 &&
		 EVP_DigestVerifyFinal(ctx, sig, siglen) == 1;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(sts);
	return ok;
}

/* the key and certificate ------------------------------------------------- */

/* The PEM text of an object written by WRITE to a memory BIO, malloc'd. */
static char *sns_bio_text(BIO *b, size_t *len)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

/* A self-signed certificate for KEY, as malloc'd PEM text. */
static char *sns_make_cert(EVP_PKEY *key, size_t *len, char *err, size_t errlen)
{
	char *pem = NULL;
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME *nm;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	if (!x || !bn || !b || !X509_set_version(x, X509_VERSION_3) || !BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 366 * 24 * 3600) || !X509_set_pubkey(x, key))
		goto ossl;
	nm = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"albd", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"albd SNS message signing", -1,
					-1, 0) ||
	    !X509_set_issuer_name(x, nm))
		goto ossl;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	static const char *const exts[][2] = {
		{ "basicConstraints", "critical,CA:FALSE" },
		{ "keyUsage", "critical,digitalSignature" },
		{ "subjectKeyIdentifier", "hash" },
	};
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		ext = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
		if (!ext)
			goto ossl;
		int ok = X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		if (!ok)
			goto ossl;
	}
	if (!X509_sign(x, key, EVP_sha256()) || !PEM_write_bio_X509(b, x))
		goto ossl;
	pem = sns_bio_text(b, len);
	if (!pem)
		sns_err(err, errlen, "certificate: out of memory");
	goto out;
ossl:
	sns_ossl_err(err, errlen, "make the SNS signing certificate");
out:
	BIO_free(b);
	BN_free(bn);
	X509_free(x);
	return pem;
}

/* Read DIR/NAME whole into a malloc'd NUL-terminated buffer. Returns NULL
 * with errno set (ENOENT: no such file). */
static char *sns_read_file(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	FILE *fp = fopen(path, "rbe");
	if (!fp)
		return NULL;
	size_t cap = 4096, n = 0;
	char *s = malloc(cap);
	while (s) {
		size_t r = fread(s + n, 1, cap - n - 1, fp);
		n += r;
		if (n < cap - 1)
			break;
		if (cap >= (1u << 20)) { /* no PEM key or certificate is this big */
			free(s);
			s = NULL;
			errno = EFBIG;
			break;
		}
		char *t = realloc(s, cap * 2);
		if (!t) {
			free(s);
			s = NULL;
			break;
		}
		s = t;
		cap *= 2;
	}
	if (s && ferror(fp)) {
		free(s);
		s = NULL;
		errno = EIO;
	}
	fclose(fp);
	if (s) {
		s[n] = '\0';
		*len = n;
	}
	return s;
}

/* 1 when PEM (a certificate) parses and holds KEY's public key. */
static int sns_cert_matches(const char *pem, size_t len, EVP_PKEY *key)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	int ok = x && X509_check_private_key(x, key) == 1;
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return ok;
}

/* An encrypted key is an error, not a prompt on the terminal. */
static int sns_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

EVP_PKEY *sns_key_load_or_create(const char *dir, char **cert_pem, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	char *keypem = NULL, *cert = NULL;
	size_t keylen = 0, certlen = 0;
	if (cert_pem)
		*cert_pem = NULL;
	keypem = sns_read_file(dir, SNS_KEY_FILE, &keylen);
	if (keypem) {
		BIO *b = BIO_new_mem_buf(keypem, (int)keylen);
		key = b ? PEM_read_bio_PrivateKey(b, NULL, sns_no_pass, NULL) : NULL;
		BIO_free(b);
		if (!key) {
			ERR_clear_error();
			sns_err(err, errlen, "%s/%s is not a PEM private key", dir, SNS_KEY_FILE);
			goto fail;
		}
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < 2048) {
			sns_err(err, errlen, "%s/%s is not an RSA key of 2048 bits or more", dir, SNS_KEY_FILE);
			goto fail;
		}
		cert = sns_read_file(dir, SNS_CERT_FILE, &certlen);
		if (cert && sns_cert_matches(cert, certlen, key))
			goto done;
		free(cert);
		cert = NULL;
	} else if (errno != ENOENT) {
		sns_err(err, errlen, "read %s/%s: %s", dir, SNS_KEY_FILE, strerror(errno));
		goto fail;
	} else {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		if (!key) {
			sns_ossl_err(err, errlen, "generate the SNS signing key");
			goto fail;
		}
	}
	/* a new certificate: written before a new key, so that a crash between
	 * the two leaves no key (both are made again), never a key without its
	 * certificate */
	cert = sns_make_cert(key, &certlen, err, errlen);
	if (!cert || atomic_write(dir, SNS_CERT_FILE, cert, certlen, 0644, err, errlen) < 0)
		goto fail;
	if (!keypem) {
		BIO *b = BIO_new(BIO_s_mem());
		if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) ||
		    !(keypem = sns_bio_text(b, &keylen))) {
			BIO_free(b);
			sns_ossl_err(err, errlen, "write the SNS signing key");
			goto fail;
		}
		BIO_free(b);
		int rc = atomic_write(dir, SNS_KEY_FILE, keypem, keylen, 0600, err, errlen);
		if (rc < 0)
			goto fail;
	}
done:
	if (keypem) {
		OPENSSL_cleanse(keypem, keylen);
		free(keypem);
	}
	if (cert_pem)
		*cert_pem = cert;
	else
		free(cert);
	return key;
fail:
	if (keypem) {
		OPENSSL_cleanse(keypem, keylen);
		free(keypem);
	}
	free(cert);
	EVP_PKEY_free(key);
	return NULL;
}
