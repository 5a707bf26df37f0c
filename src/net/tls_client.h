/* tls_client.h - TLS client contexts: albd connecting to HTTPS targets,
 * and (later) to webhook receivers.
 *
 * Knows nothing of albd's configuration: the caller says what to verify
 * against. A context is immutable once made and shared by every worker
 * (an SSL_CTX is safe to use from several threads; each connection has its
 * own SSL). Thread: any, as stated per function.
 */
#ifndef ALBD_TLS_CLIENT_H
#define ALBD_TLS_CLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tls_client;

struct tls_client_opts {
	int verify;                   /* check the peer's certificate and name */
	const char *ca_file;          /* PEM bundle to verify against; NULL: the system's CAs */
	const char *server_name;      /* SNI and the name to verify; NULL: the host of each address */
};

/* A new client context with one reference, or NULL with the reason in ERR (e.g. "cannot load
 * /etc/ca.pem: ..."; no file:line prefix: the caller knows the setting).
 * Copies what it needs from OPTS. Thread: any (not the request path). */
struct tls_client *tls_client_new(const struct tls_client_opts *opts, char *err, size_t errlen);

/* Take a reference / drop one (the last frees; NULL is fine). SSLs made
 * from TC keep their own reference to its SSL_CTX. Thread: any. */
void tls_client_ref(struct tls_client *tc);
void tls_client_free(struct tls_client *tc);

/* Would tls_client_new(OPTS) make what TC is: the same options, and the
 * same ca_file unchanged on disk (device, inode, size, modification
 * and change times)? Thread: any (not the request path: it stat()s). */
int tls_client_matches(const struct tls_client *tc, const struct tls_client_opts *o);

/* A new client-side SSL to ADDRESS ("host:port", "ip:port" or
 * "[ipv6]:port", as written by the user: its host is the SNI name and the
 * name verified unless the options gave one; an IP literal is verified
 * against the certificate's IP SANs), or NULL. The caller owns it (until
 * conn_tls() takes it). Thread: any. */
SSL *tls_client_ssl(struct tls_client *tc, const char *address);

/* OpenSSL's reason for the last failure of this thread, into BUF (and the
 * error queue cleared). Thread: any. */
void tls_error_string(char *buf, size_t len);

#endif
