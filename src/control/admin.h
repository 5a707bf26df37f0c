/* admin.h - the admin HTTP listener: /metrics, the JSON API (later the
 * dashboard and AWS's wire protocols), on the control thread's event loop,
 * never on a worker, so a slow or hostile admin client cannot slow the
 * request path.
 *
 * Config: "admin = { listen; token_file; metrics_token; tls; }" (core/config.h,
 * struct cfg_admin). With a token, every endpoint needs
 * "Authorization: Bearer TOKEN" (compared in constant time) except those
 * routed with ADMIN_PUBLIC (GET /metrics), which need it only with
 * metrics_token = true, and those routed with ADMIN_OPEN, which never need
 * it. A missing or wrong token gets 401 with a JSON
 * error. Errors are JSON: {"Error": {"Code": "...", "Message": "..."}}.
 *
 * Other modules add endpoints with admin_route(); admin.c knows nothing
 * of what they serve.
 *
 * Thread: control, for every function and every handler.
 */
#ifndef ALBD_ADMIN_H
#define ALBD_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct albd_config;
struct albd_gen;
struct admin_req;

/* A handler answers R exactly once, with one of the admin_reply* calls,
 * before it returns. */
typedef void (*admin_fn)(struct admin_req *r, void *arg);

#define ADMIN_PUBLIC 0x1  /* no token needed unless metrics_token is set */
#define ADMIN_PREFIX 0x2  /* PATH ends in '/' and matches every path below it */
#define ADMIN_OPEN   0x4  /* never needs the token, even with metrics_token: for URLs that
			   * outsiders fetch as given (SNS's SubscribeURL and UnsubscribeURL,
			   * which carry their own unguessable token, and SigningCertURL) */
#define ADMIN_SIGNED 0x8  /* never needs the token: the handler authenticates the request
			   * itself (AWS's APIs, SigV4 against admin.aws_credentials) */

/* The admin listener's socket and address (to hand to a new albd at a
 * binary upgrade), or -1 when it does not listen. */
struct albd_addr;
int admin_listen_fd(const struct albd_addr **addr);

/* Start the module on BASE. Returns 0 or -1. */
int admin_init(struct event_base *base);

/* Route METHOD ("GET", "POST", ...) on PATH to FN. A path with no route
 * gets 404, a known path with another method 405 (with Allow). */
void admin_route(const char *method, const char *path, unsigned flags, admin_fn fn, void *arg);

/* Generation GEN is live: listen as its config says (at start, and after a
 * reload that changes listen or tls: the old socket closes, admin requests
 * in flight finish), take its token. Returns 0, or -1 with a message (the
 * address cannot be bound, the certificate cannot be loaded): at start
 * albd exits, on a reload the old listener stays. The token and the
 * generation are taken even then: a new token never waits for a port. */
int admin_apply(const struct albd_gen *gen, char *err, size_t errlen);

/* What `albd -t` checks of CFG's admin listener beyond config_load():
 * that its TLS certificates and keys load and match. Returns 0, or -1
 * with "FILE:LINE: admin.tls...: problem" in ERR. Added to the contract
 * (admin.c): the listeners' certificates are checked by gen_check(). */
int admin_check(const struct albd_config *cfg, char *err, size_t errlen);

/* The generation admin_apply() was last given (one reference held by
 * admin.c until the next apply). */
const struct albd_gen *admin_gen(void);

/* "http://ADDR" or "https://ADDR" of the admin listener that runs (after a
 * reload whose admin address could not be bound, the old one) into BUF;
 * -1 when none runs. Thread: control. */
int admin_live_base(char *buf, size_t len);

/* 1 when the admin listener asks for a token (admin.token_file is set),
 * else 0: the dashboard's login page asks for one only then. */
int admin_token_required(void);

/* Close the listener and free the module. */
void admin_shutdown(void);

/* the request */
const char *admin_req_method(const struct admin_req *r);
const char *admin_req_path(const struct admin_req *r);     /* decoded, without the query */
/* The first value of query parameter NAME (decoded), NULL when absent. */
const char *admin_req_query(const struct admin_req *r, const char *name);
/* Call FN for every query parameter in order (decoded). */
void admin_req_query_each(const struct admin_req *r, void (*fn)(const char *name, const char *value, void *arg),
			  void *arg);
const char *admin_req_header(const struct admin_req *r, const char *name);
/* Seconds R's client (address) stays refused after too many wrong
 * credentials (bearer tokens and AWS signatures count together), 0 when it
 * is not. */
uint64_t admin_auth_locked(const struct admin_req *r);
/* R carried wrong credentials (WHAT: "token", "AWS signature", for the
 * log): counts toward its client's lockout. */
void admin_auth_failed(const struct admin_req *r, const char *what);
/* The request target as received (path and query, still percent-encoded):
 * what a signature covers. */
const char *admin_req_target(const struct admin_req *r);
/* The number of header lines of R; with I below it, *NAME and *VALUE get
 * the I-th (as received, in order). */
size_t admin_req_header_at(const struct admin_req *r, size_t i, const char **name, const char **value);
/* The request body (NUL-terminated; *LEN its length without the NUL). */
const char *admin_req_body(const struct admin_req *r, size_t *len);

/* the answer */
void admin_reply(struct admin_req *r, int status, const char *content_type, const char *body, size_t len);
/* As admin_reply() with EXTRA header lines (each ending in CRLF, or NULL).
 * A "Cache-Control:" line in EXTRA replaces the default "no-store"; a 304
 * goes without body, Content-Type and Content-Length. */
void admin_reply_hdrs(struct admin_req *r, int status, const char *content_type, const char *extra,
		      const char *body, size_t len);
/* J is consumed (json_decref'd). */
void admin_reply_json(struct admin_req *r, int status, json_t *j);
/* 405 MethodNotAllowed with "Allow: ALLOW" ("GET, HEAD"): for a handler
 * of a prefix route that finds its path is another route's. */
void admin_reply_405(struct admin_req *r, const char *allow);
/* {"Error": {"Code": CODE, "Message": ...}} with STATUS. */
void admin_reply_error(struct admin_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
