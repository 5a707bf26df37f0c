/* tls_client.c - see tls_client.h */
#include "tls_client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

struct tls_client {
	SSL_CTX *ctx;
	char *server_name;
	int verify;
};

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
	if (o->server_name && !(tc->server_name = strdup(o->server_name))) {
		snprintf(err, errlen, "out of memory");
		tls_client_free(tc);
		return NULL;
	}
	return tc;
}

void tls_client_free(struct tls_client *tc)
{
	if (!tc)
		return;
	SSL_CTX_free(tc->ctx);
	free(tc->server_name);
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
