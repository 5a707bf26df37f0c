/* admin.c - see admin.h.
 *
 * A small HTTP/1.1 server on the control thread, built from what the
 * proxy uses (net/conn.c sockets, net/http1.c's strict parser, proxy/tls.c
 * server contexts) rather than evhttp, so that every limit is albd's own
 * and every error is JSON:
 *
 *   - a request (head and body) must arrive within ADMIN_TIMEOUT_MS of its
 *     first chance to (accept, or the end of the previous response), and a
 *     response must be written within as long: a client that sends a byte a
 *     second, or nothing, or never reads, is dropped (408 when mid-request);
 *   - heads are limited to ADMIN_MAX_HEAD bytes (431), request lines to
 *     ADMIN_MAX_LINE (414), bodies to ADMIN_MAX_BODY (413, before any of it
 *     is read when Content-Length says so);
 *   - at most ADMIN_MAX_CONNS connections at once: more are closed at
 *     accept;
 *   - one request at a time per connection: a pipelined request waits
 *     until the previous response has left, so output never piles up.
 *
 * Everything runs on the control thread's event loop; handlers answer
 * synchronously. A response that closes the connection is followed by a
 * lingering close (the rest of the input is read and dropped for up to
 * LINGER_MS), so that a client still sending a refused body gets the 413
 * rather than a reset.
 */
#include "admin.h"
#include "admin_parse.h"

#include "../core/uri.h"
#include "../core/utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../core/config.h"
#include "../core/clock.h"
#include "../core/inherit.h"
#include "../core/log.h"
#include "../net/conn.h"
#include "../net/http1.h"
#include "../proxy/gen.h"
#include "../proxy/tls.h"

#define ADMIN_MAX_LINE 8192
#define ADMIN_MAX_HEAD 16384
#define ADMIN_MAX_HEADERS 100
#define ADMIN_MAX_BODY (2u << 20)
#define ADMIN_TIMEOUT_MS 10000
#define ADMIN_MAX_CONNS 256
#define LINGER_MS 2000
#define ACCEPT_PAUSE_MS 1000   /* out of file descriptors: stop accepting this long */

struct route {
	char *method;
	char *path;
	unsigned flags;
	admin_fn fn;
	void *arg;
	struct route *next;
};

enum aconn_state {
	AC_HEAD = 0,  /* waiting for (the rest of) a request head */
	AC_BODY,      /* reading a request body */
	AC_WRITING,   /* a response is leaving */
	AC_LINGER,    /* response sent, output closed: reading and dropping until EOF */
};

struct admin_req {
	struct aconn *ac;
	char *method;
	char *path;                   /* decoded */
	char *target;                 /* the request target as received */
	struct admin_kv *params;
	size_t nparams;
	struct admin_kv *hdrs;
	size_t nhdrs;
	struct evbuffer *body;        /* NUL-terminated once complete */
	int head;                     /* HEAD: the answer has no body */
	int replied;
	int close;                    /* close after the response */
	int expect_continue;
};

struct aconn {
	char peer[INET6_ADDRSTRLEN];  /* the client's address, for the token's lockout and logs */
	struct conn *c;
	struct event *timer;
	struct tls_server *tls;       /* one reference, NULL for plain HTTP */
	enum aconn_state state;
	struct http1_scan scan;
	struct http1_body body;
	struct admin_req *req;        /* the request being read or answered */
	int keep_alive;
	struct aconn *prev, *next;
};

static struct {
	struct event_base *base;
	struct route *routes;
	struct evconnlistener *listener;
	struct event *resume;          /* re-enables accepting after EMFILE */
	struct albd_addr addr;         /* where listener listens */
	struct tls_server *tls;        /* its TLS contexts, NULL for plain HTTP */
	struct aconn *conns;
	unsigned nconns;
	int have_token;
	unsigned char token_md[32];    /* SHA-256 of the token */
	int metrics_token;
	struct albd_gen *gen;          /* one reference */
	struct http1_header hdrs[ADMIN_MAX_HEADERS];
} A;

static const struct http1_limits admin_limits = { ADMIN_MAX_LINE, ADMIN_MAX_HEAD, ADMIN_MAX_HEADERS, 0, 0 };

/* ------------------------------------------------------------ requests */


static void req_free(struct admin_req *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->path);
	free(r->target);
	admin_kv_free(r->params, r->nparams);
	admin_kv_free(r->hdrs, r->nhdrs);
	if (r->body)
		evbuffer_free(r->body);
	free(r);
}

/* A new request from head H (whose strings point into the pulled-up input
 * of AC), or NULL with *STATUS the error to answer with. */
static struct admin_req *req_new(struct aconn *ac, const struct http1_head *h, int *status, const char **why)
{
	struct admin_req *r = calloc(1, sizeof *r);
	const char *t = h->path, *q;
	size_t tlen = h->path_len;

	*status = 500;
	if (!r)
		return NULL;
	r->ac = ac;
	r->expect_continue = h->expect_continue;
	if (!(r->method = strndup(h->method, h->method_len)) || !(r->body = evbuffer_new()))
		goto fail;
	r->head = strcmp(r->method, "HEAD") == 0;
	*status = 400;
	if (tlen == 0 || t[0] != '/')
		goto fail; /* "*" (OPTIONS), or an absolute-form target without a path */
	q = memchr(t, '?', tlen);
	if (!(r->path = admin_decode(t, q ? (size_t)(q - t) : tlen, 0)) || !(r->target = strndup(t, tlen)))
		goto fail;
	if (q && admin_parse_query(q + 1, tlen - (size_t)(q + 1 - t), &r->params, &r->nparams) < 0)
		goto fail;
	/* every answer is JSON, which holds UTF-8 only: a parameter that is
	 * not would be dropped, and the error would name something else */
	for (size_t i = 0; i < r->nparams; i++)
		if (!utf8_valid(r->params[i].name) || !utf8_valid(r->params[i].value)) {
			*why = "A query parameter is not valid UTF-8 (after percent-decoding)";
			goto fail;
		}
	if (h->nhdrs && !(r->hdrs = calloc(h->nhdrs, sizeof *r->hdrs)))
		goto fail;
	for (size_t i = 0; i < h->nhdrs; i++) {
		struct admin_kv *v = &r->hdrs[r->nhdrs++];

		v->name = strndup(h->hdrs[i].name, h->hdrs[i].name_len);
		v->value = strndup(h->hdrs[i].value, h->hdrs[i].value_len);
		if (!v->name || !v->value) {
			*status = 500;
			goto fail;
		}
	}
	return r;
fail:
	req_free(r);
	return NULL;
}

const char *admin_req_method(const struct admin_req *r)
{
	return r->method;
}

const char *admin_req_path(const struct admin_req *r)
{
	return r->path;
}

const char *admin_req_query(const struct admin_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

void admin_req_query_each(const struct admin_req *r, void (*fn)(const char *name, const char *value, void *arg),
			  void *arg)
{
	for (size_t i = 0; i < r->nparams; i++)
		fn(r->params[i].name, r->params[i].value, arg);
}

const char *admin_req_target(const struct admin_req *r)
{
	return r->target;
}

size_t admin_req_header_at(const struct admin_req *r, size_t i, const char **name, const char **value)
{
	if (i < r->nhdrs) {
		*name = r->hdrs[i].name;
		*value = r->hdrs[i].value;
	}
	return r->nhdrs;
}

const char *admin_req_header(const struct admin_req *r, const char *name)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

const char *admin_req_body(const struct admin_req *r, size_t *len)
{
	size_t n = evbuffer_get_length(r->body);
	/* dispatch() ended the body with a NUL, which is not counted */
	const char *p = (const char *)evbuffer_pullup(r->body, -1);

	if (len)
		*len = n ? n - 1 : 0;
	return p && n ? p : "";
}

/* ------------------------------------------------------------ answers */

/* The Date of the admin's responses (RFC 9110 6.6.1): the control
 * thread's only. */
static struct http1_date admin_date;

static const char *date_now(void)
{
	return http1_date(&admin_date, (int64_t)time(NULL));
}

/* Write a response to AC with EXTRA header lines (each ending in CRLF, or
 * NULL). BODY is left out for HEAD. */
static void write_response(struct aconn *ac, int status, const char *ctype, const char *extra, const char *body,
			   size_t len, int head, int close)
{
	struct evbuffer *out = ac->c->out;
	/* EXTRA may choose the caching itself (the dashboard's files:
	 * "Cache-Control: no-cache" with an ETag); the API is never cached */
	int own_cache = extra && strstr(extra, "Cache-Control:") != NULL;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, http1_reason(status));
	if (status == 304) {
		/* no body, and no Content-Type or Content-Length of its own
		 * (RFC 9110, 15.4.5): the cached representation's stand */
		len = 0;
	} else {
		evbuffer_add_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n",
				    ctype ? ctype : "application/octet-stream", len);
	}
	evbuffer_add_printf(out, "Date: %s\r\n%sX-Content-Type-Options: nosniff\r\n%s%s\r\n", date_now(),
			    own_cache ? "" : "Cache-Control: no-store\r\n", extra ? extra : "",
			    close ? "Connection: close\r\n" : "");
	if (!head && len)
		evbuffer_add(out, body, len);
}

static char *error_json(const char *code, const char *msg, size_t *len)
{
	json_t *j = json_pack("{s:{s:s,s:s}}", "Error", "Code", code, "Message", msg);
	char *s;

	/* a message quoting the client's bytes may not be UTF-8 */
	if (!j)
		j = json_pack("{s:{s:s,s:s}}", "Error", "Code", code, "Message", "(the message is not valid UTF-8)");
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	*len = s ? strlen(s) : 0;
	return s;
}

static void reply_full(struct admin_req *r, int status, const char *ctype, const char *extra, const char *body,
		       size_t len)
{
	if (r->replied) {
		log_err("admin: %s %s answered twice (bug)", r->method, r->path);
		return;
	}
	r->replied = 1;
	write_response(r->ac, status, ctype, extra, body, len, r->head, r->close || !r->ac->keep_alive);
}

static void reply_error_extra(struct admin_req *r, int status, const char *extra, const char *code,
			      const char *msg)
{
	size_t len;
	char *s = error_json(code, msg, &len);

	if (!s) {
		reply_full(r, 500, "text/plain", NULL, "out of memory\n", 14);
		return;
	}
	reply_full(r, status, "application/json", extra, s, len);
	free(s);
}

void admin_reply_405(struct admin_req *r, const char *allow)
{
	char hdr[256], msg[320];

	snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
	snprintf(msg, sizeof msg, "%s is not allowed here (%s)", r->method, allow);
	reply_error_extra(r, 405, hdr, "MethodNotAllowed", msg);
}

void admin_reply(struct admin_req *r, int status, const char *content_type, const char *body, size_t len)
{
	reply_full(r, status, content_type, NULL, body, len);
}

void admin_reply_hdrs(struct admin_req *r, int status, const char *content_type, const char *extra,
		      const char *body, size_t len)
{
	reply_full(r, status, content_type, extra, body, len);
}

int admin_token_required(void)
{
	return A.have_token;
}

void admin_reply_json(struct admin_req *r, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s) {
		reply_error_extra(r, 500, NULL, "InternalFailure", "cannot encode the answer");
		return;
	}
	reply_full(r, status, "application/json", NULL, s, strlen(s));
	free(s);
}

void admin_reply_error(struct admin_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	reply_error_extra(r, status, NULL, code, msg);
}

/* An error answer to a request that could not be read (no admin_req):
 * always closes the connection. */
static void fail_conn(struct aconn *ac, int status, const char *code, const char *msg)
{
	size_t len;
	char *s = error_json(code, msg, &len);

	write_response(ac, status, "application/json", NULL, s ? s : "", s ? len : 0, 0, 1);
	free(s);
}

/* ------------------------------------------------------------ routes */

void admin_route(const char *method, const char *path, unsigned flags, admin_fn fn, void *arg)
{
	struct route *rt = calloc(1, sizeof *rt), **pp;

	if (!rt || !(rt->method = strdup(method)) || !(rt->path = strdup(path))) {
		log_err("admin: out of memory adding the route %s %s", method, path);
		if (rt)
			free(rt->method);
		free(rt);
		return;
	}
	rt->flags = flags;
	rt->fn = fn;
	rt->arg = arg;
	for (pp = &A.routes; *pp; pp = &(*pp)->next)
		;
	*pp = rt;
}

/* Does route RT serve PATH; how well (longer is better, exact best)? */
static size_t route_match(const struct route *rt, const char *path)
{
	return admin_route_match(rt->path, (rt->flags & ADMIN_PREFIX) != 0, path);
}

/* The best match for PATH among the routes of method METHOD (HEAD counts
 * as GET), and in *ANY_PATH whether any route at all serves PATH. */
static const struct route *route_find(const char *method, const char *path, size_t *best_for_path)
{
	const struct route *best = NULL;
	size_t best_m = 0, any = 0;

	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (const struct route *rt = A.routes; rt; rt = rt->next) {
		size_t m = route_match(rt, path);

		if (m > any)
			any = m;
		if (m && m > best_m && strcmp(rt->method, method) == 0) {
			best = rt;
			best_m = m;
		}
	}
	*best_for_path = any;
	/* a better (more specific) route for another method wins: 405 */
	return best && best_m == any ? best : NULL;
}

/* "Allow: GET, HEAD, POST\r\n" for the routes that match PATH as well as
 * the best one. */
static void allow_header(const char *path, size_t level, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "Allow: ");
	int first = 1;

	for (const struct route *rt = A.routes; rt; rt = rt->next) {
		int dup = 0;

		if (route_match(rt, path) != level)
			continue;
		for (const struct route *o = A.routes; o != rt; o = o->next)
			dup |= route_match(o, path) == level && strcmp(o->method, rt->method) == 0;
		if (dup)
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s%s", first ? "" : ", ",
					 rt->method, strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
		first = 0;
		if (used >= len)
			break;
	}
	if (used + 3 > len)
		used = len - 3;
	memcpy(buf + used, "\r\n", 3);
}

/* ------------------------------------------------------------ the token */

static void sha256(const void *p, size_t n, unsigned char md[32])
{
	unsigned int mdlen = 32;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, 32);
}

/* Is R authorised: "Authorization: Bearer TOKEN" with the configured token?
 * Both sides are hashed and the digests compared with CRYPTO_memcmp, so
 * neither the token's bytes nor its length show in the time taken.
 * Returns 1, 0 (wrong), or -1 (no bearer credentials at all). */
static int authorised(const struct admin_req *r)
{
	const char *v = admin_req_header(r, "Authorization");
	unsigned char md[32];
	size_t n;

	if (!v || strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return -1;
	v += 6;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	sha256(v, n, md);
	return CRYPTO_memcmp(md, A.token_md, sizeof md) == 0 && n > 0;
}

/* ------------------------------------------------------------ connections */

static void set_timer(struct aconn *ac, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ac->timer, &tv);
}

static void aconn_free(struct aconn *ac)
{
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		A.conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	A.nconns--;
	req_free(ac->req);
	if (ac->timer)
		event_free(ac->timer);
	conn_free(ac->c);
	tls_server_free(ac->tls);
	free(ac);
}

/* The response has been queued: send it, then close or take the next
 * request. */
static void process(struct aconn *ac);

static void response_queued(struct aconn *ac, int close)
{
	req_free(ac->req);
	ac->req = NULL;
	if (close)
		ac->keep_alive = 0;
	ac->state = AC_WRITING;
	set_timer(ac, ADMIN_TIMEOUT_MS);
	conn_flush(ac->c);
}

/* What to do once the output is empty. */
static void response_sent(struct aconn *ac)
{
	if (!ac->keep_alive) {
		/* lingering close: read and drop the rest for a while */
		conn_shutdown_write(ac->c);
		ac->state = AC_LINGER;
		evbuffer_drain(ac->c->in, evbuffer_get_length(ac->c->in));
		conn_read(ac->c, 1);
		set_timer(ac, LINGER_MS);
		return;
	}
	ac->state = AC_HEAD;
	http1_scan_reset(&ac->scan);
	set_timer(ac, ADMIN_TIMEOUT_MS);
	conn_read(ac->c, 1);
	process(ac);
}

/* Token failures: a client (address) that sends TOKEN_FAILS_MAX wrong
 * tokens within TOKEN_WINDOW_MS (guessing; a request without one is only
 * refused) is answered 429 for TOKEN_LOCK_MS (Retry-After) on every route
 * that needs the token, even with the right one, so that guessing goes
 * nowhere (what needs none, such as GET /metrics without metrics_token,
 * still answers: a scraper behind the same address keeps working); every failure is logged (the log
 * folds repeats). A table of TOKEN_CLIENTS, the oldest entry replaced. */
#define TOKEN_FAILS_MAX 20
#define TOKEN_WINDOW_MS 60000
#define TOKEN_LOCK_MS 60000
#define TOKEN_CLIENTS 64

static struct token_fail {
	char peer[INET6_ADDRSTRLEN];
	unsigned fails;
	uint64_t since, locked_until, last;
} token_fails[TOKEN_CLIENTS];

static struct token_fail *token_fail_of(const char *peer, int make)
{
	struct token_fail *old = &token_fails[0];

	for (size_t i = 0; i < TOKEN_CLIENTS; i++) {
		if (token_fails[i].peer[0] && strcmp(token_fails[i].peer, peer) == 0)
			return &token_fails[i];
		if (token_fails[i].last < old->last)
			old = &token_fails[i];
	}
	if (!make)
		return NULL;
	memset(old, 0, sizeof *old);
	snprintf(old->peer, sizeof old->peer, "%s", peer);
	return old;
}

/* Seconds R's client is locked out for, 0 when it is not. */
static uint64_t token_locked(const struct admin_req *r, uint64_t now)
{
	const struct token_fail *f = token_fail_of(r->ac->peer, 0);

	return f && f->locked_until > now ? (f->locked_until - now + 999) / 1000 : 0;
}

static void token_failed(const struct admin_req *r, uint64_t now, const char *what)
{
	struct token_fail *f = token_fail_of(r->ac->peer, 1);

	if (now - f->since > TOKEN_WINDOW_MS) {
		f->since = now;
		f->fails = 0;
	}
	f->last = now;
	log_warn("admin: a wrong %s from %s for %s %s", what, r->ac->peer, r->method, r->path);
	if (++f->fails >= TOKEN_FAILS_MAX && f->locked_until <= now) {
		f->locked_until = now + TOKEN_LOCK_MS;
		log_warn("admin: %u credential failures from %s within %d s: refused for %d s", f->fails,
			 r->ac->peer, TOKEN_WINDOW_MS / 1000, TOKEN_LOCK_MS / 1000);
	}
}

uint64_t admin_auth_locked(const struct admin_req *r)
{
	return token_locked(r, clock_ms());
}

void admin_auth_failed(const struct admin_req *r, const char *what)
{
	token_failed(r, clock_ms(), what);
}

/* The route that will answer R, or NULL after answering R itself: 401
 * without a valid token (unless the route is public or open), 404 for a path no
 * route serves, 405 (with Allow) for a method no route of the path has.
 * Called when the head has arrived, so that a request refused here never
 * has its body read, and again before the handler runs. */
static const struct route *admit(struct admin_req *r)
{
	size_t level;
	const struct route *rt = route_find(r->method, r->path, &level);
	int pub = rt && (((rt->flags & ADMIN_PUBLIC) && !A.metrics_token) || (rt->flags & (ADMIN_OPEN | ADMIN_SIGNED)));

	if (A.have_token && !pub) {
		uint64_t now = clock_ms(), wait = token_locked(r, now);

		if (wait) {
			char hdr[64], msg[128];

			snprintf(hdr, sizeof hdr, "Retry-After: %llu\r\n", (unsigned long long)wait);
			snprintf(msg, sizeof msg, "Too many token failures from %s: try again in %llu s", r->ac->peer,
				 (unsigned long long)wait);
			reply_error_extra(r, 429, hdr, "Throttling", msg);
			return NULL;
		}
		int ok = authorised(r);

		/* a success does not wipe the count: behind one address (NAT),
		 * a client with the token cannot cover a guesser's tries */
		if (ok == 0)
			token_failed(r, now, "token");
		else if (ok < 0)
			log_warn("admin: no token from %s for %s %s", r->ac->peer, r->method, r->path);
		if (ok <= 0) {
			reply_error_extra(r, 401,
					  ok < 0 ? "WWW-Authenticate: Bearer realm=\"albd\"\r\n"
						 : "WWW-Authenticate: Bearer realm=\"albd\", error=\"invalid_token\"\r\n",
					  "Unauthorized",
					  ok < 0 ? "This endpoint needs \"Authorization: Bearer TOKEN\""
						 : "The bearer token is not valid");
			return NULL;
		}
	}
	if (!rt && !level) {
		admin_reply_error(r, 404, "NotFound", "No such endpoint: %s", r->path);
	} else if (!rt) {
		char allow[256], msg[320];

		allow_header(r->path, level, allow, sizeof allow);
		snprintf(msg, sizeof msg, "%s is not allowed here (%.*s)", r->method, (int)(strlen(allow) - 9),
			 allow + 7);
		reply_error_extra(r, 405, allow, "MethodNotAllowed", msg);
	}
	return rt;
}

/* The whole request is in: answer it. */
static void dispatch(struct aconn *ac)
{
	struct admin_req *r = ac->req;
	const struct route *rt;

	/* complete the body with a NUL for admin_req_body() */
	evbuffer_add(r->body, "", 1);
	if ((rt = admit(r))) {
		rt->fn(r, rt->arg);
		if (!r->replied) {
			log_err("admin: the handler of %s %s gave no answer (bug)", r->method, rt->path);
			admin_reply_error(r, 500, "InternalFailure", "The handler gave no answer");
		}
	}
	response_queued(ac, r->close);
}

/* Read what the body needs from the input; dispatch when complete. */
static void read_body(struct aconn *ac)
{
	struct admin_req *r = ac->req;

	if (http1_body_move(&ac->body, ac->c->in, r->body, 0) < 0) {
		fail_conn(ac, 400, "BadRequest", "Malformed chunked body");
		response_queued(ac, 1);
		return;
	}
	if (evbuffer_get_length(r->body) > ADMIN_MAX_BODY) {
		fail_conn(ac, 413, "PayloadTooLarge", "The request body is larger than 2 MiB");
		response_queued(ac, 1);
		return;
	}
	if (ac->body.done)
		dispatch(ac);
	else
		conn_read(ac->c, 1); /* the input was drained: go on reading */
}

/* Take what the input holds as far as the state allows. */
static void process(struct aconn *ac)
{
	if (ac->state == AC_LINGER) {
		evbuffer_drain(ac->c->in, evbuffer_get_length(ac->c->in));
		conn_read(ac->c, 1);
		return;
	}
	if (ac->state == AC_BODY) {
		read_body(ac);
		return;
	}
	if (ac->state != AC_HEAD)
		return; /* the next request waits until the response has left */

	size_t head_len;
	struct http1_head h;
	enum http1_status st = http1_scan_head(ac->c->in, 1, &admin_limits, &ac->scan, &head_len);
	int status;

	if (st == HTTP1_INCOMPLETE)
		return;
	memset(&h, 0, sizeof h);
	h.hdrs = A.hdrs;
	if (st == HTTP1_OK)
		st = http1_parse_head((const char *)evbuffer_pullup(ac->c->in, (ssize_t)head_len), head_len, 1, 0,
				      &admin_limits, &h);
	switch (st) {
	case HTTP1_OK:
		break;
	case HTTP1_INCOMPLETE: /* not after a complete scan; taken as malformed */
	case HTTP1_BAD:
		fail_conn(ac, 400, "BadRequest", "Malformed request");
		response_queued(ac, 1);
		return;
	case HTTP1_URI_TOO_LONG:
		fail_conn(ac, 414, "URITooLong", "The request line is too long");
		response_queued(ac, 1);
		return;
	case HTTP1_HEAD_TOO_LARGE:
		fail_conn(ac, 431, "RequestHeaderFieldsTooLarge", "The request head is larger than 16 KiB");
		response_queued(ac, 1);
		return;
	case HTTP1_NOT_IMPLEMENTED:
		fail_conn(ac, 501, "NotImplemented", "Method not implemented");
		response_queued(ac, 1);
		return;
	}
	ac->keep_alive = h.keep_alive;
	const char *why = "Malformed request target";
	if (!(ac->req = req_new(ac, &h, &status, &why))) {
		fail_conn(ac, status, status == 400 ? "BadRequest" : "InternalFailure",
			  status == 400 ? why : "Out of memory");
		response_queued(ac, 1);
		return;
	}
	evbuffer_drain(ac->c->in, head_len);
	if (h.body == HTTP1_BODY_NONE) {
		http1_body_init(&ac->body, HTTP1_BODY_NONE, 0, 0);
		dispatch(ac);
		return;
	}
	if (h.body == HTTP1_BODY_LENGTH && h.content_length > ADMIN_MAX_BODY) {
		fail_conn(ac, 413, "PayloadTooLarge", "The request body is larger than 2 MiB");
		response_queued(ac, 1);
		return;
	}
	/* refused before its body is read (and then the connection closes:
	 * the body is still on its way) */
	ac->req->close = 1;
	if (!admit(ac->req)) {
		response_queued(ac, 1);
		return;
	}
	ac->req->close = 0;
	http1_body_init(&ac->body, h.body, h.content_length, 0);
	ac->state = AC_BODY;
	if (ac->req->expect_continue && evbuffer_get_length(ac->c->in) == 0) {
		evbuffer_add_printf(ac->c->out, "HTTP/1.1 100 Continue\r\nDate: %s\r\n\r\n", date_now());
		conn_flush(ac->c);
	}
	read_body(ac);
}

static void aconn_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct aconn *ac = arg;

	switch (ev) {
	case CONN_CONNECTED:
		return;
	case CONN_READ:
		process(ac);
		break;
	case CONN_DRAINED:
		break;
	case CONN_EOF:
		if (ac->state == AC_WRITING && evbuffer_get_length(c->out) > 0) {
			ac->keep_alive = 0;   /* half-closed: finish writing, then go */
			break;
		}
		aconn_free(ac);
		return;
	case CONN_ERROR:
		aconn_free(ac);
		return;
	}
	/* a response that left at once may be followed by a pipelined
	 * request, answered at once too */
	while (ac->state == AC_WRITING && evbuffer_get_length(c->out) == 0)
		response_sent(ac);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct aconn *ac = arg;

	if (ac->state == AC_BODY || (ac->state == AC_HEAD && evbuffer_get_length(ac->c->in) > 0)) {
		fail_conn(ac, 408, "RequestTimeout", "The request did not arrive within 10 s");
		response_queued(ac, 1);
		if (evbuffer_get_length(ac->c->out) == 0)
			response_sent(ac);
		return;
	}
	aconn_free(ac);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	if (A.listener)
		evconnlistener_enable(A.listener);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct aconn *ac;

	if (A.nconns >= ADMIN_MAX_CONNS) {
		log_warn("admin: %u connections already: closing a new one", A.nconns);
		close(fd);
		return;
	}
	if (!(ac = calloc(1, sizeof *ac))) {
		close(fd);
		return;
	}
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ac->peer, sizeof ac->peer);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, ac->peer, sizeof ac->peer);
	if (!(ac->c = conn_new(A.base, fd, NULL))) { /* closes fd */
		free(ac);
		return;
	}
	if (!(ac->timer = event_new(A.base, -1, 0, timer_cb, ac))) {
		conn_free(ac->c);
		free(ac);
		return;
	}
	if (A.tls) {
		SSL *ssl = tls_server_ssl(A.tls);

		if (!ssl) {
			event_free(ac->timer);
			conn_free(ac->c);
			free(ac);
			return;
		}
		tls_server_ref(A.tls);
		ac->tls = A.tls;
		conn_tls(ac->c, ssl, 0);
	}
	ac->c->read_max = ADMIN_MAX_HEAD + 4096;
	conn_setcb(ac->c, aconn_cb, ac);
	ac->state = AC_HEAD;
	http1_scan_reset(&ac->scan);
	ac->next = A.conns;
	if (A.conns)
		A.conns->prev = ac;
	A.conns = ac;
	A.nconns++;
	set_timer(ac, ADMIN_TIMEOUT_MS);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	const struct timeval tv = { ACCEPT_PAUSE_MS / 1000, (ACCEPT_PAUSE_MS % 1000) * 1000 };

	log_warn("admin: accept: %s: not accepting for %d ms", strerror(e), ACCEPT_PAUSE_MS);
	/* EMFILE and the like: the socket stays readable; do not spin */
	evconnlistener_disable(l);
	if (A.resume)
		event_add(A.resume, &tv);
}

/* ------------------------------------------------------------ the listener */

/* A listening socket on ADDR, or -1 with a message. */
static int listen_on(const struct albd_addr *addr, char *err, size_t errlen)
{
	int one = 1;
	int fd = inherit_take(addr);   /* the previous albd's (binary upgrade) */

	if (fd >= 0)
		return fd;
	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr->text, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (addr->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 128) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void close_listener(void)
{
	if (A.listener) {
		evconnlistener_free(A.listener);
		A.listener = NULL;
		log_info("admin: no longer listening on %s", A.addr.text);
	}
	if (A.resume)
		event_del(A.resume);
	tls_server_free(A.tls);
	A.tls = NULL;
}

/* The TLS contexts of CFG's admin listener (NULL for plain HTTP: *ERR is
 * then untouched), or NULL with a message. */
static struct tls_server *admin_tls(const struct albd_config *cfg, char *err, size_t errlen, int *failed)
{
	struct cfg_listener l = { .name = "admin", .addr = cfg->admin.addr, .line = cfg->admin.line,
				  .tls = cfg->admin.tls };
	struct tls_server *ts;

	*failed = 0;
	if (!cfg->admin.tls)
		return NULL;
	ts = tls_server_new(cfg, &l, "admin.tls", err, errlen);
	*failed = ts == NULL;
	return ts;
}

int admin_check(const struct albd_config *cfg, char *err, size_t errlen)
{
	int failed;
	struct tls_server *ts;

	if (!cfg->admin.enabled)
		return 0;
	ts = admin_tls(cfg, err, errlen, &failed);
	tls_server_free(ts);
	return failed ? -1 : 0;
}

/* Listen as A says, if that is not what the listener does already. */
static int apply_listener(const struct albd_config *cfg, char *err, size_t errlen)
{
	const struct cfg_admin *a = &cfg->admin;
	int same_addr = A.listener && config_addr_equal(&A.addr, &a->addr);
	int same_tls = (!A.tls && !a->tls) || (A.tls && a->tls && tls_server_matches(A.tls, a->tls));
	struct tls_server *ts;
	struct evconnlistener *l;
	char why[CONFIG_ERR_MAX];
	int failed, fd;

	if (!a->enabled) {
		close_listener();
		return 0;
	}
	if (same_addr && same_tls)
		return 0;
	ts = admin_tls(cfg, err, errlen, &failed);
	if (failed)
		return -1;
	if (same_addr) {
		/* new certificates or settings on the same socket: connections
		 * already open keep theirs */
		tls_server_free(A.tls);
		A.tls = ts;
		log_info("admin: listening on %s (%s, TLS settings changed)", A.addr.text, ts ? "HTTPS" : "HTTP");
		return 0;
	}
	if ((fd = listen_on(&a->addr, why, sizeof why)) < 0) {
		/* named as gen.c names a listener's */
		if (a->line > 0)
			snprintf(err, errlen, "%s:%d: admin.listen: %s", cfg->path, a->line, why);
		else
			snprintf(err, errlen, "%s: admin.listen: %s", cfg->path, why);
		tls_server_free(ts);
		return -1;
	}
	l = evconnlistener_new(A.base, accept_cb, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!l) {
		close(fd);
		tls_server_free(ts);
		snprintf(err, errlen, "%s: admin.listen: cannot listen on %s: out of memory", cfg->path, a->addr.text);
		return -1;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	close_listener();
	A.listener = l;
	A.tls = ts;
	A.addr = a->addr;
	log_info("admin: listening on %s (%s)", A.addr.text, ts ? "HTTPS" : "HTTP");
	return 0;
}

int admin_apply(const struct albd_gen *gen, char *err, size_t errlen)
{
	const struct albd_config *cfg = gen->cfg;
	int rc = apply_listener(cfg, err, errlen);

	/* the token and the generation change even when the socket could
	 * not: a new token must not wait for a free port */
	A.have_token = cfg->admin.token != NULL;
	if (A.have_token)
		sha256(cfg->admin.token, strlen(cfg->admin.token), A.token_md);
	else
		memset(A.token_md, 0, sizeof A.token_md);
	A.metrics_token = cfg->admin.metrics_token;
	gen_ref((struct albd_gen *)gen);
	if (A.gen)
		gen_unref(A.gen);
	A.gen = (struct albd_gen *)gen;
	return rc;
}

const struct albd_gen *admin_gen(void)
{
	return A.gen;
}

int admin_live_base(char *buf, size_t len)
{
	if (!A.listener)
		return -1;
	snprintf(buf, len, "%s://%s", A.tls ? "https" : "http", A.addr.text);
	return 0;
}

int admin_listen_fd(const struct albd_addr **addr)
{
	if (!A.listener)
		return -1;
	*addr = &A.addr;
	return evconnlistener_get_fd(A.listener);
}

int admin_init(struct event_base *base)
{
	A.base = base;
	A.resume = event_new(base, -1, 0, resume_cb, NULL);
	return A.resume ? 0 : -1;
}

void admin_shutdown(void)
{
	close_listener();
	while (A.conns)
		aconn_free(A.conns);
	while (A.routes) {
		struct route *rt = A.routes;

		A.routes = rt->next;
		free(rt->method);
		free(rt->path);
		free(rt);
	}
	if (A.resume)
		event_free(A.resume);
	A.resume = NULL;
	if (A.gen)
		gen_unref(A.gen);
	A.gen = NULL;
	OPENSSL_cleanse(A.token_md, sizeof A.token_md);
	A.have_token = 0;
}
