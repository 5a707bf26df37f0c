/* notify_http.h - the notifier's HTTP/1.1 client: one POST to a webhook
 * on a fresh connection (plain or TLS), on the control thread's loop,
 * bounded in time and in what it reads.
 *
 * Only the response's status line and head are read (at most
 * NH_MAX_HEAD bytes; a longer head fails the attempt), then the connection
 * closes: the body is ignored, so a receiver that answers without end
 * costs nothing. The attempt's whole time (connect, TLS, sending,
 * answer) is bounded by its timeout. Interim (1xx) answers are skipped,
 * also when the final answer arrives in the same read.
 *
 * Thread: control.
 */
#ifndef ALBD_NOTIFY_HTTP_H
#define ALBD_NOTIFY_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct tls_client;
struct nh_req;

#define NH_MAX_HEAD 16384

/* A parsed endpoint "http[s]://host[:port][/path[?query]]". */
struct nh_url {
	int https;
	char host[256];       /* without brackets */
	unsigned port;
	char hostport[272];   /* as in Host: and for TLS (SNI, name check): "host:port", "[v6]:port" */
	char *path;           /* malloc'd; "/" when the URL has none */
};

/* Parse URL into U (U->path malloc'd: nh_url_free). 0, or -1 with the
 * problem in ERR ("the scheme must be http or https", ...). */
int nh_url_parse(const char *url, struct nh_url *u, char *err, size_t errlen);
void nh_url_free(struct nh_url *u);

/* Is U's host an IP literal? Then 1 and its address (with U's port) in
 * SS/LEN; else 0 (a name: the caller resolves it, without blocking). */
int nh_literal(const struct nh_url *u, struct sockaddr_storage *ss, socklen_t *len);

/* The outcome of an attempt: STATUS is the HTTP status (>= 200), or 0 when
 * there was none, with WHY saying what happened ("connection refused",
 * "timed out after 2000 ms", ...); CONNECTED is 0 when the connection was
 * never made (the caller may try the host's next address), 1 when it was
 * (or its TLS handshake failed). Called once, from the event loop. The
 * request is freed after the callback returns. */
typedef void (*nh_done_fn)(int status, const char *why, int connected, void *arg);

/* POST BODY (LEN bytes, copied) with the header lines HEADERS ("Name:
 * value\r\n"... , copied; albd adds Host, Content-Length, Connection:
 * close) to U at SA, through TLS made from TC when U is https (TC NULL:
 * fails). Returns the request (to cancel it), or NULL when it could not
 * start (DONE is then not called; ERR says why). */
struct nh_req *nh_post(struct event_base *base, const struct nh_url *u, const struct sockaddr *sa, socklen_t salen,
		       struct tls_client *tc, const char *headers, const char *body, size_t len, unsigned timeout_ms,
		       nh_done_fn done, void *arg, char *err, size_t errlen);

/* Abandon R: its callback is never called. */
void nh_cancel(struct nh_req *r);

#endif
