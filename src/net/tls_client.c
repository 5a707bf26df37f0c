/* tls_client.c - see tls_client.h */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

struct tls_client {
	atomic_uint refs;
	SSL_CTX *ctx;
	char *server_name;
	int verify;
	char *ca_file;                /* as given, for tls_client_matches() */
	struct stat ca_st;            /* its identity when it was read */
};

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int tls_client_matches(const struct tls_client *tc, const struct tls_client_opts *o)
{
	struct stat st;

	if (!tc || tc->verify != o->verify || !same_str(tc->server_name, o->server_name) ||
	    !same_str(tc->ca_file, o->ca_file))
		return 0;
	if (!o->verify || !o->ca_file)
		return 1;
	return stat(o->ca_file, &st) == 0 && same_file(&st, &tc->ca_st);
}

void tls_client_ref(struct tls_client *tc)
{
	atomic_fetch_add(&tc->refs, 1);
}

void tls_error_string(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "unknown error");
	ERR_clear_error();
}

struct tls_client *tls_client_new(const struct tls_client_opts *o, char *err, size_t errlen)
{
	struct tls_client *tc = calloc(1, sizeof(*tc));
	char why[256];

	if (!tc || !(tc->ctx = SSL_CTX_new(TLS_client_method()))) {
		free(tc);
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	atomic_init(&tc->refs, 1);
	/* the file's identity before reading it: renewed meanwhile, it is
	 * read again at the next reload */
	if (o->verify && o->ca_file && stat(o->ca_file, &tc->ca_st) < 0) {
		snprintf(err, errlen, "cannot load %s: %s", o->ca_file, strerror(errno));
		tls_client_free(tc);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(tc->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(tc->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(tc->ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	tc->verify = o->verify;
	if (tc->verify) {
		SSL_CTX_set_verify(tc->ctx, SSL_VERIFY_PEER, NULL);
		int ok = o->ca_file ? SSL_CTX_load_verify_locations(tc->ctx, o->ca_file, NULL)
				    : SSL_CTX_set_default_verify_paths(tc->ctx);
		if (ok != 1) {
			tls_error_string(why, sizeof(why));
			snprintf(err, errlen, "cannot load %s: %s", o->ca_file ? o->ca_file : "the system CAs", why);
			tls_client_free(tc);
			return NULL;
		}
	}
	if ((o->server_name && !(tc->server_name = strdup(o->server_name))) ||
	    (o->ca_file && !(tc->ca_file = strdup(o->ca_file)))) {
		snprintf(err, errlen, "out of memory");
		tls_client_free(tc);
		return NULL;
	}
	return tc;
}

void tls_client_free(struct tls_client *tc)
{
	if (!tc || atomic_fetch_sub(&tc->refs, 1) != 1)
		return;
	SSL_CTX_free(tc->ctx);
	free(tc->server_name);
	free(tc->ca_file);
	free(tc);
}

SSL *tls_client_ssl(struct tls_client *tc, const char *address)
{
	SSL *ssl = SSL_new(tc->ctx);
	char host[256];

	if (!ssl)
		return NULL;
	SSL_set_connect_state(ssl);
	const char *name = tc->server_name;
	if (!name) {
		/* the host part of "name:port"; none for an IP literal */
		const char *colon = strrchr(address, ':');
		size_t n = colon ? (size_t)(colon - address) : strlen(address);
		if (n < sizeof(host) && address[0] != '[') {
			memcpy(host, address, n);
			host[n] = 0;
			struct in_addr a4;
			if (inet_pton(AF_INET, host, &a4) != 1 && strcmp(host, "*") != 0)
				name = host;
		}
	}
	if (name) {
		SSL_set_tlsext_host_name(ssl, name);
		if (tc->verify)
			SSL_set1_host(ssl, name);
	} else if (tc->verify) {
		/* an IP address: verify it against the certificate's IP SANs */
		const char *colon = strrchr(address, ':');
		size_t n = colon ? (size_t)(colon - address) : strlen(address);
		if (address[0] == '[' && n >= 2) {
			address++;
			n -= 2;
		}
		if (n < sizeof(host)) {
			memcpy(host, address, n);
			host[n] = 0;
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
		}
	}
	return ssl;
}
