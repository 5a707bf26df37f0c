/* tls.c - see tls.h */
#include "tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "../core/log.h"
#include "../net/tls_client.h"

/* Mozilla's server side TLS guidelines, version 5.7: "intermediate" without
 * the DHE suites (ECDHE is faster and needs no parameters). */
#define INTERMEDIATE_CIPHERS                                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define GROUPS "X25519:P-256:P-384"
#define EXPIRY_WARN_DAYS 30

struct tls_name {
	char *name;       /* lower case; "*.example.com" for a wildcard */
	SSL_CTX *ctx;
};

struct tls_server {
	atomic_uint refs;
	unsigned char sig[32];  /* tls_sig() of the settings and files it was built from */
	SSL_CTX **ctxs;   /* ctxs[0]: the default (first certificate's) */
	size_t nctxs;
	struct tls_name *names;
	size_t nnames;
	unsigned char *alpn;   /* wire format */
	size_t alpn_len;
	X509 **certs;     /* for expiry warnings */
	SSL_CTX **cert_ctx; /* the context each certificate went into */
	char **cert_files;
	size_t ncerts;
};

/* session ticket keys ------------------------------------------------------ */

struct ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
	int valid;
};

static pthread_rwlock_t tk_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct ticket_key tk[2];   /* tk[tk_cur] encrypts; both decrypt */
static int tk_cur;

static int new_key(struct ticket_key *k)
{
	if (RAND_bytes(k->name, sizeof(k->name)) <= 0 || RAND_bytes(k->aes, sizeof(k->aes)) <= 0 ||
	    RAND_bytes(k->hmac, sizeof(k->hmac)) <= 0)
		return -1;
	k->valid = 1;
	return 0;
}

int tls_global_init(void)
{
	return new_key(&tk[0]);
}

void tls_rotate_ticket_keys(void)
{
	struct ticket_key k;

	if (new_key(&k) < 0) {
		log_err("tls: cannot make a new session ticket key, keeping the current one");
		return;
	}
	pthread_rwlock_wrlock(&tk_lock);
	tk_cur ^= 1;
	tk[tk_cur] = k;
	pthread_rwlock_unlock(&tk_lock);
	OPENSSL_cleanse(&k, sizeof(k));
	log_info("tls: session ticket key rotated");
}

/* SSL_CTX_set_tlsext_ticket_key_evp_cb: 1 ok, 2 ok but renew the ticket,
 * 0 no such key (full handshake), -1 error. */
static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
		     EVP_MAC_CTX *hctx, int enc)
{
	const struct ticket_key *k = NULL;
	int ret = -1;
	OSSL_PARAM params[3];

	pthread_rwlock_rdlock(&tk_lock);
	if (enc) {
		k = &tk[tk_cur];
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) <= 0)
			goto out;
		memcpy(key_name, k->name, 16);
	} else {
		for (int i = 0; i < 2; i++)
			if (tk[i].valid && memcmp(key_name, tk[i].name, 16) == 0)
				k = &tk[i];
		if (!k) {
			ret = 0;
			goto out;
		}
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"sha256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(hctx, params))
		goto out;
	if (enc) {
		if (!EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv))
			goto out;
		ret = 1;
	} else {
		if (!EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv))
			goto out;
		/* TLS 1.3: always a new ticket (2). RFC 8446 C.4: a client
		 * should not use a ticket twice, and OpenSSL's clients (wrk,
		 * curl) do not: given none after a resumption, their next
		 * connection is a full handshake, so every other one was
		 * (OpenSSL sends no ticket after a resumption unless asked).
		 * TLS 1.2 keeps its ticket while its key is current. */
		ret = k == &tk[tk_cur] && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
	}
out:
	pthread_rwlock_unlock(&tk_lock);
	return ret;
}

/* helpers ------------------------------------------------------------------ */

static int days_left(const X509 *x)
{
	int days = 0, secs = 0;
	ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
	return days;
}

static X509 *read_cert(const char *file, char *why, size_t len)
{
	FILE *f = fopen(file, "r");
	X509 *x;

	if (!f) {
		snprintf(why, len, "cannot read %s: %s", file, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		snprintf(why, len, "%s holds no PEM certificate", file);
	ERR_clear_error();
	return x;
}

static EVP_PKEY *read_key(const char *file, char *why, size_t len)
{
	FILE *f = fopen(file, "r");
	EVP_PKEY *k;
	struct stat st;

	if (!f) {
		snprintf(why, len, "cannot read %s: %s", file, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		log_warn("tls: private key %s is readable by %s (mode %04o): chmod 600 it", file,
			 (st.st_mode & 007) ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		snprintf(why, len, "%s holds no PEM private key (or it is encrypted)", file);
	ERR_clear_error();
	return k;
}

/* The DNS names a certificate is for: its SAN, else its CN. */
static size_t cert_names(X509 *x, char names[][256], size_t max)
{
	size_t n = 0;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && n < max; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
		int l = ASN1_STRING_length(g->d.dNSName);
		if (l <= 0 || l >= 256)
			continue;
		for (int k = 0; k < l; k++)
			names[n][k] = (char)tolower(s[k]);
		names[n][l] = 0;
		n++;
	}
	GENERAL_NAMES_free(gens);
	if (n == 0) {
		X509_NAME *sub = X509_get_subject_name(x);
		if (X509_NAME_get_text_by_NID(sub, NID_commonName, names[0], 256) > 0) {
			for (char *p = names[0]; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			n = 1;
		}
	}
	return n;
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
			  unsigned int inlen, void *arg)
{
	struct tls_server *ts = arg;
	unsigned char *o = NULL;

	if (SSL_select_next_proto(&o, outlen, ts->alpn, (unsigned)ts->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;   /* no common protocol: go on without ALPN */
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *find_ctx(const struct tls_server *ts, const char *name)
{
	for (size_t i = 0; i < ts->nnames; i++)
		if (ts->names[i].name[0] != '*' && strcmp(ts->names[i].name, name) == 0)
			return ts->names[i].ctx;
	const char *dot = strchr(name, '.');
	if (!dot)
		return NULL;
	for (size_t i = 0; i < ts->nnames; i++)
		if (ts->names[i].name[0] == '*' && strcmp(ts->names[i].name + 1, dot) == 0)
			return ts->names[i].ctx;
	return NULL;
}

/* SNI: switch to the context of the name the client asked for. */
static int client_hello_cb(SSL *ssl, int *al, void *arg)
{
	struct tls_server *ts = arg;
	const unsigned char *p;
	size_t len;
	char name[256];

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 5)
		return SSL_CLIENT_HELLO_SUCCESS;   /* no SNI: the default certificate */
	/* server_name_list: u16 length, then type 0 (host_name), u16 length, name */
	size_t list = ((size_t)p[0] << 8) | p[1];
	if (list + 2 > len || p[2] != 0)
		return SSL_CLIENT_HELLO_SUCCESS;
	size_t n = ((size_t)p[3] << 8) | p[4];
	if (n == 0 || n + 5 > len || n >= sizeof(name))
		return SSL_CLIENT_HELLO_SUCCESS;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)tolower(p[5 + i]);
	name[n] = 0;
	SSL_CTX *ctx = find_ctx(ts, name);
	if (ctx && ctx != SSL_get_SSL_CTX(ssl))
		SSL_set_SSL_CTX(ssl, ctx);
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* A session-id context per set of names: a session (ticket) made for one
 * certificate's names is never resumed on a connection that SNI sent to
 * another (RFC 6066 section 3), while the same names resume across
 * workers, listeners and reloads. */
static void set_sid_ctx(SSL_CTX *ctx, char names[][256], size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();

	if (h && EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
		for (size_t i = 0; i < n; i++)
			EVP_DigestUpdate(h, names[i], strlen(names[i]) + 1);
		if (EVP_DigestFinal_ex(h, md, &mdlen) && mdlen)
			SSL_CTX_set_session_id_context(ctx, md,
						       mdlen > SSL_MAX_SID_CTX_LENGTH ? SSL_MAX_SID_CTX_LENGTH : mdlen);
	}
	EVP_MD_CTX_free(h);
}

static SSL_CTX *server_ctx(struct tls_server *ts, const struct cfg_tls *t, char *why, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		snprintf(why, len, "cannot create a TLS context");
		return NULL;
	}
	int modern = strcmp(t->policy, "modern") == 0;
	int minv = t->min_version ? t->min_version : (modern ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(ctx, minv);
	/* TLS 1.0/1.1, SSLv3, compression and renegotiation stay off */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_SSLv3 |
					 SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
	/* idle connections give their buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!SSL_CTX_set_cipher_list(ctx, t->ciphers ? t->ciphers : INTERMEDIATE_CIPHERS)) {
		snprintf(why, len, "ciphers: no usable cipher in \"%s\"", t->ciphers ? t->ciphers : "");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (t->ciphersuites && !*t->ciphersuites) {
		/* no TLS 1.3 suite: TLS 1.3 off (left on, OpenSSL would pick
		 * it and then fail every such handshake) */
		if (minv >= TLS1_3_VERSION) {
			snprintf(why, len, "ciphersuites: empty, but the %s needs TLS 1.3",
				 t->min_version ? "min_version" : "\"modern\" policy");
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	}
	if (!SSL_CTX_set_ciphersuites(ctx, t->ciphersuites ? t->ciphersuites : TLS13_SUITES)) {
		snprintf(why, len, "ciphersuites: no usable suite in \"%s\"", t->ciphersuites ? t->ciphersuites : "");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set1_groups_list(ctx, GROUPS);
	/* stateless resumption only: tickets with the shared, rotated keys */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	SSL_CTX_set_num_tickets(ctx, 1);
	/* read what the socket holds in one read(), not a record's header
	 * and then its body; conn.c's short-read check relies on it */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, ts);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, ts);
	return ctx;
}

/* What a listener's contexts are built from, as a SHA-256: every setting
 * of T, and each certificate and key file's path and identity on disk
 * (device, inode, size, modification and change times), so that a renewed file
 * changes it while an untouched one does not. Returns 0, or -1 when a file
 * cannot be stat()ed (never reuse then: the build will say why). */
static int tls_sig(const struct cfg_tls *t, unsigned char out[32])
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned int n = 0;
	int rc = -1;

	/* a presence byte first: unset and "" are different settings */
#define ADD_STR(x) (EVP_DigestUpdate(h, (x) ? "\1" : "\0", 1), (x) ? EVP_DigestUpdate(h, (x), strlen(x) + 1) : 1)
#define ADD_VAL(x) EVP_DigestUpdate(h, &(x), sizeof(x))
	if (!h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL))
		goto out;
	ADD_STR(t->policy);
	ADD_VAL(t->min_version);
	ADD_STR(t->ciphers);
	ADD_STR(t->ciphersuites);
	ADD_VAL(t->nalpn);
	for (size_t i = 0; i < t->nalpn; i++)
		ADD_STR(t->alpn[i]);
	ADD_VAL(t->ncerts);
	for (size_t i = 0; i < t->ncerts; i++) {
		const char *files[2] = { t->certs[i].cert, t->certs[i].key };
		for (int f = 0; f < 2; f++) {
			struct stat st;
			if (stat(files[f], &st) < 0)
				goto out;
			ADD_STR(files[f]);
			ADD_VAL(st.st_dev);
			ADD_VAL(st.st_ino);
			ADD_VAL(st.st_size);
			ADD_VAL(st.st_mtim.tv_sec);
			ADD_VAL(st.st_mtim.tv_nsec);
			/* the change time too: an in-place rewrite that keeps
			 * size and mtime (rsync -t --inplace) still moves it */
			ADD_VAL(st.st_ctim.tv_sec);
			ADD_VAL(st.st_ctim.tv_nsec);
		}
	}
	if (EVP_DigestFinal_ex(h, out, &n) && n == 32)
		rc = 0;
#undef ADD_STR
#undef ADD_VAL
out:
	EVP_MD_CTX_free(h);
	return rc;
}

int tls_server_matches(const struct tls_server *ts, const struct cfg_tls *t)
{
	unsigned char sig[32];

	return ts && t && tls_sig(t, sig) == 0 && memcmp(sig, ts->sig, sizeof(sig)) == 0;
}

void tls_server_ref(struct tls_server *ts)
{
	atomic_fetch_add(&ts->refs, 1);
}

void tls_server_free(struct tls_server *ts)
{
	if (!ts || atomic_fetch_sub(&ts->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ts->nctxs; i++)
		SSL_CTX_free(ts->ctxs[i]);
	free(ts->ctxs);
	for (size_t i = 0; i < ts->nnames; i++)
		free(ts->names[i].name);
	free(ts->names);
	for (size_t i = 0; i < ts->ncerts; i++) {
		X509_free(ts->certs[i]);
		free(ts->cert_files[i]);
	}
	free(ts->certs);
	free(ts->cert_ctx);
	free(ts->cert_files);
	free(ts->alpn);
	free(ts);
}

#define MAX_NAMES 64

struct tls_server *tls_server_new(const struct albd_config *cfg, const struct cfg_listener *l,
				  const char *setting, char *err, size_t errlen)
{
	const struct cfg_tls *t = l->tls;
	struct tls_server *ts = calloc(1, sizeof(*ts));
	char why[512];
	char (*names)[256] = calloc(MAX_NAMES, 256);
	char (*other)[256] = calloc(MAX_NAMES, 256);

	if (ts)
		atomic_init(&ts->refs, 1);
	if (!ts || !names || !other ||
	    !(ts->ctxs = calloc(t->ncerts, sizeof(*ts->ctxs))) ||
	    !(ts->certs = calloc(t->ncerts, sizeof(*ts->certs))) ||
	    !(ts->cert_ctx = calloc(t->ncerts, sizeof(*ts->cert_ctx))) ||
	    !(ts->cert_files = calloc(t->ncerts, sizeof(*ts->cert_files))) ||
	    !(ts->names = calloc(t->ncerts * MAX_NAMES, sizeof(*ts->names)))) {
		snprintf(err, errlen, "%s: %s: out of memory", cfg->path, setting);
		goto fail;
	}
	/* before reading the files: a file renewed meanwhile changes the
	 * signature and is read again at the next reload */
	if (tls_sig(t, ts->sig) < 0)
		memset(ts->sig, 0, sizeof(ts->sig));   /* matches nothing real */
	/* ALPN in wire format */
	size_t al = 0;
	for (size_t i = 0; i < t->nalpn; i++)
		al += 1 + strlen(t->alpn[i]);
	if (!(ts->alpn = malloc(al ? al : 1)))
		goto fail;
	for (size_t i = 0; i < t->nalpn; i++) {
		size_t n = strlen(t->alpn[i]);
		ts->alpn[ts->alpn_len++] = (unsigned char)n;
		memcpy(ts->alpn + ts->alpn_len, t->alpn[i], n);
		ts->alpn_len += n;
	}

	for (size_t i = 0; i < t->ncerts; i++) {
		const struct cfg_certificate *c = &t->certs[i];
		X509 *x = read_cert(c->cert, why, sizeof(why));
		if (!x) {
			snprintf(err, errlen, "%s:%d: %s.certificates.[%zu].cert: %s", cfg->path, c->line, setting, i, why);
			goto fail;
		}
		ts->certs[ts->ncerts] = x;
		ts->cert_files[ts->ncerts++] = strdup(c->cert);
		if (days_left(x) < 0 || X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
			snprintf(err, errlen, "%s:%d: %s.certificates.[%zu].cert: %s has expired", cfg->path, c->line,
				 setting, i, c->cert);
			goto fail;
		}
		EVP_PKEY *k = read_key(c->key, why, sizeof(why));
		if (!k) {
			snprintf(err, errlen, "%s:%d: %s.certificates.[%zu].key: %s", cfg->path, c->line, setting, i, why);
			goto fail;
		}
		int match = X509_check_private_key(x, k);
		EVP_PKEY_free(k);
		ERR_clear_error();
		if (!match) {
			snprintf(err, errlen, "%s:%d: %s.certificates.[%zu].key: %s does not match the certificate %s",
				 cfg->path, c->line, setting, i, c->key, c->cert);
			goto fail;
		}
		size_t nn = cert_names(x, names, MAX_NAMES);
		/* a certificate for the same names as an earlier one, with
		 * another key type (RSA + ECDSA), shares its context */
		SSL_CTX *ctx = NULL;
		for (size_t j = 0; j < i && !ctx; j++) {
			X509 *y = ts->certs[j];
			size_t on = cert_names(y, other, MAX_NAMES);
			int same = on == nn && EVP_PKEY_get_base_id(X509_get0_pubkey(y)) !=
						       EVP_PKEY_get_base_id(X509_get0_pubkey(x));
			for (size_t a = 0; same && a < nn; a++)
				same = strcmp(names[a], other[a]) == 0;
			if (same)
				ctx = ts->cert_ctx[j];
		}
		if (!ctx) {
			ctx = server_ctx(ts, t, why, sizeof(why));
			if (!ctx) {
				snprintf(err, errlen, "%s:%d: %s.%s", cfg->path, t->line, setting, why);
				goto fail;
			}
			ts->ctxs[ts->nctxs++] = ctx;
			ts->cert_ctx[i] = ctx;
			set_sid_ctx(ctx, names, nn);
			for (size_t a = 0; a < nn; a++) {
				if (find_ctx(ts, names[a]) && strchr(names[a], '*') == NULL)
					continue;   /* an earlier certificate has this name */
				ts->names[ts->nnames].name = strdup(names[a]);
				ts->names[ts->nnames++].ctx = ctx;
			}
		}
		ts->cert_ctx[i] = ctx;
		if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			tls_error_string(why, sizeof(why));
			snprintf(err, errlen, "%s:%d: %s.certificates.[%zu]: %s / %s: %s", cfg->path, c->line, setting,
				 i, c->cert, c->key, why);
			goto fail;
		}
	}
	free(names);
	free(other);
	tls_server_check_expiry(ts);
	return ts;
fail:
	free(names);
	free(other);
	tls_server_free(ts);
	return NULL;
}

void tls_server_check_expiry(const struct tls_server *ts)
{
	for (size_t i = 0; ts && i < ts->ncerts; i++) {
		int d = days_left(ts->certs[i]);
		if (d < EXPIRY_WARN_DAYS)
			log_warn("tls: certificate %s expires in %d days", ts->cert_files[i], d);
	}
}

size_t tls_server_ncerts(const struct tls_server *ts)
{
	return ts ? ts->ncerts : 0;
}

const char *tls_server_cert(const struct tls_server *ts, size_t i, int64_t *not_after)
{
	struct tm tm;

	*not_after = -1;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(ts->certs[i]), &tm) == 1)
		*not_after = (int64_t)timegm(&tm);
	return ts->cert_files[i];
}

const char *tls_server_presented(const struct tls_server *ts, SSL *ssl)
{
	X509 *x = ssl ? SSL_get_certificate(ssl) : NULL;

	if (!ts || !x)
		return NULL;
	for (size_t i = 0; i < ts->ncerts; i++)
		if (ts->certs[i] == x || X509_cmp(ts->certs[i], x) == 0)
			return ts->cert_files[i];
	return NULL;
}

SSL *tls_server_ssl(struct tls_server *ts)
{
	SSL *ssl = SSL_new(ts->ctxs[0]);
	if (ssl)
		SSL_set_accept_state(ssl);
	return ssl;
}

/* clients (HTTPS target groups) -------------------------------------------- */

struct tls_client *tls_client_for_group(const struct albd_config *cfg, const struct cfg_target_group *tg,
					const char *setting, char *err, size_t errlen)
{
	const struct tls_client_opts o = { tg->tls_verify, tg->ca_file, tg->tls_server_name };
	char why[512];
	struct tls_client *tc = tls_client_new(&o, why, sizeof(why));

	if (!tc)
		snprintf(err, errlen, "%s:%d: %s.ca_file: %s", cfg->path, tg->line, setting, why);
	return tc;
}

int tls_client_matches_group(const struct tls_client *tc, const struct cfg_target_group *tg)
{
	const struct tls_client_opts o = { tg->tls_verify, tg->ca_file, tg->tls_server_name };

	return tls_client_matches(tc, &o);
}
