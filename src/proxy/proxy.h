/* proxy.h - client sessions: one per client connection, on the worker that
 * accepted it, for its whole life.
 *
 * A session reads a request head, routes it, forwards it (rewritten) to a
 * target over a pooled or new upstream connection, streams the request
 * body up and the response back with backpressure, and then waits for the
 * next request on the same connection. Pipelined requests are answered one
 * after the other, in order.
 */
#ifndef ALBD_PROXY_H
#define ALBD_PROXY_H

#include <event2/util.h>
#include <openssl/ssl.h>

struct worker;
struct lsock;

/* Take over the accepted socket FD (from listening socket LS), speaking
 * TLS with SSL when it is not NULL (the session then owns it). On failure
 * the socket is closed. Thread: the worker W. */
void proxy_accept(struct worker *w, struct lsock *ls, evutil_socket_t fd, const struct sockaddr *sa,
		  int salen, SSL *ssl);

/* The worker is stopping: close idle sessions now, let the others finish
 * their request and close after it. Thread: the worker W. */
void proxy_drain(struct worker *w);

/* Once a second: close sessions whose target finished draining
 * (deregistration_delay is over). Thread: the worker W. */
void proxy_sweep(struct worker *w);

/* Close every session at once (the drain timeout ran out). Thread: W. */
void proxy_close_all(struct worker *w);

#endif
