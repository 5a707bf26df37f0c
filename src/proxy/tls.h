/* tls.h - OpenSSL contexts for HTTPS listeners (the server side; the
 * client side, for HTTPS target groups, is net/tls_client.h).
 *
 * A listener's contexts are built from its config when a generation is
 * built (start, reload), so a renewed certificate is picked up by SIGHUP;
 * they are immutable afterwards and shared by all workers (an SSL_CTX is
 * safe to use from several threads; each connection has its own SSL).
 * Certificates with the same names share one SSL_CTX, so that an RSA and
 * an ECDSA certificate for a name are both offered and OpenSSL serves each
 * client the one it supports. SNI picks the context: exact names first,
 * then wildcards, else the first certificate's.
 *
 * Session tickets are encrypted with process-wide keys, shared by every
 * listener, worker and generation and rotated by tls_rotate_ticket_keys(),
 * so a client resumes whichever worker accepts it, even across reloads.
 */
#ifndef ALBD_TLS_H
#define ALBD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "../core/config.h"
#include "../net/tls_client.h"

struct tls_server;
struct tls_client;

/* Process-wide set-up (ticket keys). Returns 0 or -1. Thread: main, once. */
int tls_global_init(void);

/* New ticket encryption key; the previous one still decrypts for one more
 * period. Thread: control (takes a write lock the handshakes read). */
void tls_rotate_ticket_keys(void);

/* Build the contexts of listener L (SETTING names it in errors, e.g.
 * "listeners.[0].tls"), with one reference. Returns NULL with
 * "FILE:LINE: SETTING: problem" in err when a file is missing, unreadable,
 * expired, or a key does not match its certificate. Warns (log) about key
 * files readable by others and certificates that expire within 30 days.
 * Thread: control. */
struct tls_server *tls_server_new(const struct albd_config *cfg, const struct cfg_listener *l,
				  const char *setting, char *err, size_t errlen);

/* Take a reference / drop one (the last frees; NULL is fine). A generation
 * holds one per listener; a new generation whose listener would build the
 * same contexts takes another instead of building them again. SSLs made
 * from TS keep their own references to its SSL_CTXs. Thread: any. */
void tls_server_ref(struct tls_server *ts);
void tls_server_free(struct tls_server *ts);

/* Would tls_server_new() for settings T build what TS is: the same
 * settings, and the same certificate and key files unchanged on disk
 * (device, inode, size, modification and change times)? A renewed certificate is
 * thus read again on reload; untouched ones are not. Thread: control. */
int tls_server_matches(const struct tls_server *ts, const struct cfg_tls *t);

/* A new server-side SSL for one accepted connection, or NULL. Thread: any. */
SSL *tls_server_ssl(struct tls_server *ts);

/* The file of the certificate SSL presented (one of TS's, compared by
 * content), or NULL (TS is NULL, or the certificate is not one of its:
 * a reload changed them). Thread: any. */
const char *tls_server_presented(const struct tls_server *ts, SSL *ssl);

/* Log a warning for every certificate of TS that expires within 30 days
 * (or has expired). Thread: control. */
void tls_server_check_expiry(const struct tls_server *ts);

/* The certificates of TS: how many, and certificate I's file and the time
 * it expires (seconds since the epoch, -1 when unknown). Thread: any. */
size_t tls_server_ncerts(const struct tls_server *ts);
const char *tls_server_cert(const struct tls_server *ts, size_t i, int64_t *not_after);

/* The client context (net/tls_client.h) of HTTPS target group TG, from its
 * config. NULL with "FILE:LINE: SETTING.ca_file: problem" in err (an
 * unreadable ca_file). Thread: control. */
struct tls_client *tls_client_for_group(const struct albd_config *cfg, const struct cfg_target_group *tg,
					const char *setting, char *err, size_t errlen);

/* Would tls_client_for_group(TG) make what TC is (tls_client_matches)?
 * Thread: control. */
int tls_client_matches_group(const struct tls_client *tc, const struct cfg_target_group *tg);

#endif
