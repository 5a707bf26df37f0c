/* proxy.c - see proxy.h
 *
 * Session life: IDLE (waiting for a request, keep-alive timer) -> HEAD
 * (reading a request head, header timer) -> EXCHANGE (request forwarded,
 * response streamed back) -> IDLE again, or CLOSING (flush, then close).
 *
 * Freeing: a session is never freed inside a function that may still touch
 * it. Every libevent callback holds a reference while it runs; closing only
 * marks the session dead, and the last release frees it (as Redis's
 * callHandler does).
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <http_parser.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/mempool.h"
#include "../core/theap.h"
#include "balancer.h"
#include "../net/conn.h"
#include "../net/wbuf.h"
#include "exchange.h"
#include "../net/desync.h"
#include "../net/http1.h"
#include "redirect.h"
#include "access_log.h"
#include "client_limit.h"
#include "router.h"
#include "sticky.h"
#include "target_group.h"
#include "tls.h"
#include "upstream.h"
#include "worker.h"

enum sstate { S_IDLE = 0, S_HEAD, S_EXCHANGE, S_CLOSING, S_LINGER };
enum tkind { T_NONE = 0, T_KEEPALIVE, T_HEAD, T_CONNECT, T_RESPONSE, T_IDLE, T_LINGER };

#define LINGER_MS 2000   /* how long unread client input is drained after an error */

#define RETRY_TOKENS_FLOOR 10.0   /* retries allowed before any request earned one */

/* The response window (see resp_mark()): what a client starts with, how
 * fast it must drain half of it for the window to double (a busy worker's
 * loop turn counts in that time, so not too short), and how slowly for it
 * to fall back to WIN_MIN. */
#define WIN_MIN 8192
#define WIN_FAST_MS 250
#define WIN_SLOW_MS 2000

/* A client connection. Ordered to pack (248 bytes, a 256-byte block): an
 * idle keep-alive connection holds this, its struct conn and nothing else
 * of its own (README, "Memory per idle connection"). */
struct session {
	struct worker *w;
	struct proxy_worker *pw;      /* the proxy's state on that worker */
	struct session *prev, *next;  /* worker's list */
	struct conn *c;               /* client */
	struct lsock *ls;             /* the listening socket it came from (one reference) */
	struct wgen *hs_wg;           /* the generation whose TLS contexts (and their SNI and
	                               * ALPN callbacks) this handshake uses: held until it ends */
	struct sticky_req *sticky;    /* the stickiness cookies of the request (made at the
	                               * first sticky one) */

	/* the current exchange */
	struct wgen *wg;
	const struct albd_config *cfg;
	const struct cfg_target_group *tgcfg;
	struct target_group *tg;
	struct target *target;
	struct upconn *up;
	struct exchange *ex;          /* the current request, from exchange_begin() until the
	                               * session waits for the next one (NULL while it waits:
	                               * an idle connection holds none, see ex_get()) */
	size_t win;                   /* the response window (resp_mark()), kept across requests */
	uint64_t up_paused_ms;        /* clock_ms() when up_paused was set */
	size_t idle_outq;             /* the socket's send queue when T_IDLE last fired */

	uint64_t deadline;            /* ms, monotonic */
	struct theap_node tn;         /* in the worker's timer heap until tn.at: timer_set() */
	struct http1_scan scan;
	union {                       /* the client's address (TCP: IPv4 or IPv6) */
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} client_sa;
	int refs;
	int climit;                   /* its slot in the per-client table when its connection is
	                               * counted there (client_limit.h), else -1 */
	unsigned char state;          /* enum sstate */
	unsigned char tkind;          /* enum tkind: what the deadline is for */
	unsigned dead : 1;
	unsigned processing : 1;      /* inside process_input() */
	unsigned client_paused : 1;   /* client reading off: upstream output is full */
	unsigned up_paused : 1;       /* upstream reading off: client output is full */
	unsigned linger : 1;          /* unread input may remain: drain it before closing */
	unsigned https : 1;           /* the client speaks TLS to albd */
	unsigned rd_eof : 1;          /* the client half-closed: what it sent is all there is */
};

static void client_cb(struct conn *c, enum conn_event ev, void *arg);
static void up_cb(struct conn *c, enum conn_event ev, void *arg);
static void process_input(struct session *s);
static void idle_park(struct session *s);
static void dispatch(struct session *s);
static void exchange_end(struct session *s, enum exchange_outcome why);
static struct exchange *ex_get(struct proxy_worker *pw);
static void ex_put(struct proxy_worker *pw, struct exchange *ex);

/* Give the session's exchange back, with what it still holds (the request
 * head kept for a resend, the access log's copies). */
static void exchange_drop(struct session *s)
{
	if (!s->ex)
		return;
	free(s->ex->al_ua);
	free(s->ex->al_loc);
	conn_pool_put(&s->pw->bufs, s->ex->head_out);
	ex_put(s->pw, s->ex);
	s->ex = NULL;
}

/* helpers ---------------------------------------------------------------- */

/* The client's address as text (no port) into B: made when it is needed,
 * not kept in the session (46 bytes an idle connection would hold). IPv4,
 * the common case, without inet_ntop()'s sprintf: X-Forwarded-For takes it
 * on every request. */
static void peer_put(struct wbuf *b, const struct session *s)
{
	if (s->client_sa.sa.sa_family == AF_INET) {
		wbuf_ipv4(b, (const unsigned char *)&s->client_sa.in.sin_addr);
		return;
	}
	char t[INET6_ADDRSTRLEN];
	if (s->client_sa.sa.sa_family == AF_INET6 && inet_ntop(AF_INET6, &s->client_sa.in6.sin6_addr, t, sizeof t))
		wbuf_str(b, t);
}

/* The same, NUL-terminated in a per-thread buffer: for a log line (one
 * client a line). */
static const char *peer_str(const struct session *s)
{
	static _Thread_local char buf[INET6_ADDRSTRLEN];
	struct wbuf b;

	wbuf_init(&b, buf, sizeof buf - 1);
	peer_put(&b, s);
	buf[wbuf_len(&b)] = 0;
	return buf;
}

static void hold(struct session *s)
{
	s->refs++;
}

static void session_free(struct session *s)
{
	struct worker *w = s->w;

	theap_del(&s->pw->timers, &s->tn);
	if (s->up)
		upstream_close(s->up);
	if (s->target)
		tg_release(s->target);
	if (s->wg)
		worker_gen_release(w, s->wg);
	if (s->hs_wg)
		worker_gen_release(w, s->hs_wg);
	conn_free(s->c);
	climit_conn_close(s->climit);
	free(s->sticky);
	exchange_drop(s);
	lsock_unref(s->ls);
	if (s->prev)
		s->prev->next = s->next;
	else
		s->pw->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	struct shard_block *lb = s->pw->lb;
	free(s);
	worker_conn_closed(w);
	shard_level_add(lb, M_ACTIVE_CONNECTION_COUNT, -1);   /* with upstream.c's target connections */
}

static void unhold(struct session *s)
{
	if (--s->refs == 0 && s->dead)
		session_free(s);
}

/* Close the session. A request still running ends here, with WHY as its
 * outcome unless a failure was recorded first. */
static void session_close(struct session *s, enum exchange_outcome why)
{
	if (s->dead)
		return;
	exchange_end(s, why);
	s->dead = 1;
	conn_read(s->c, 0);
	if (s->refs == 0)
		session_free(s);
}

/* The worker's one timer event, at the earliest node of its heap (unless
 * it is armed for that time or sooner already). */
static void timers_arm(struct proxy_worker *pw)
{
	struct theap_node *m = theap_min(&pw->timers);

	if (!m || (pw->timer_armed && pw->timer_armed <= m->at))
		return;
	uint64_t now = clock_ms();
	unsigned ms = m->at > now ? (unsigned)(m->at - now) : 0;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_add(&pw->timer_ev, &tv);
	pw->timer_armed = m->at > now ? m->at : now;
}

/* One lazy timer per session, a node in the worker's heap (theap.h: 16
 * bytes in the session where a libevent timer took 128): setting a
 * deadline later than the node's costs nothing (the node goes back in when
 * it comes up early), so a keep-alive request sets and clears its
 * deadlines without touching the heap. */
static void timer_set(struct session *s, enum tkind kind, unsigned ms)
{
	s->tkind = kind;
	s->deadline = clock_ms() + ms;
	if (!theap_in(&s->tn) || s->deadline < s->tn.at) {
		/* cannot fail: p_accept() made room for every session */
		theap_add(&s->pw->timers, &s->tn, s->deadline);
		timers_arm(s->pw);
	}
}

/* Push the current deadline out by MS from now (progress was made). */
static void timer_touch(struct session *s, unsigned ms)
{
	s->deadline = clock_ms() + ms;
}

static void timer_clear(struct session *s)
{
	s->tkind = T_NONE;
}

static const struct albd_config *cur_cfg(struct session *s)
{
	return s->cfg ? s->cfg : s->w->cur->gen->cfg;
}

/* The worker's live configuration (the session's while none). */
static const struct albd_config *live_cfg(struct session *s)
{
	return s->w->cur ? s->w->cur->gen->cfg : cur_cfg(s);
}

static size_t high_mark(struct session *s)
{
	return cur_cfg(s)->limits.buffer_size;
}

/* The response window: the target is read MARK bytes at a time while the
 * client's output holds less than MARK, so albd holds at most about twice
 * MARK of a response. MARK is the session's window, which starts at
 * WIN_MIN and doubles up to limits.buffer_size each time the client drains
 * half of it within WIN_FAST_MS, and falls back to WIN_MIN when that takes
 * longer than WIN_SLOW_MS. A slow reader so costs about 2 * WIN_MIN (the
 * kernel's socket buffers aside), while a fast client soon moves
 * buffer_size at a time, as before. (Bounding the sum to MARK instead,
 * reading only MARK minus what is queued, made fast transfers take twice
 * the reads, whenever the client's socket was momentarily full.) */
static size_t resp_mark(struct session *s)
{
	size_t hm = high_mark(s);
	return s->win && s->win < hm ? s->win : hm;
}

static void resp_room(struct session *s)
{
	s->up->c->read_max = resp_mark(s);
	s->c->low_mark = resp_mark(s) / 2;
}

/* The client half-closed and albd has taken every byte it sent: the
 * current request is its last. (A parked conn holds no input.) */
static int client_finished(const struct session *s)
{
	return s->rd_eof && (!s->c->in || evbuffer_get_length(s->c->in) == 0);
}

/* exchanges --------------------------------------------------------------- */

/* A request begins: a fresh, zeroed struct exchange (nothing of the last
 * request's state survives), started now, taken from the worker's free
 * list (a session between requests holds none). Returns 0, or -1 when there is
 * no memory for it: then the session is closed (with an error line) and
 * the request, which never began, is neither answered nor counted; the
 * caller holds a reference and only looks at s->dead afterwards. */
static int exchange_begin(struct session *s)
{
	exchange_drop(s);   /* none is held here; if one were, nothing of it leaks */
	struct exchange *ex = s->ex = ex_get(s->pw);

	if (!ex) {
		log_err("client %s: out of memory for a request: closing", peer_str(s));
		session_close(s, EXCH_INTERNAL_ERROR);
		return -1;
	}
	memset(ex, 0, sizeof(*ex));
	ex->active = 1;
	ex->t_start = worker_now(s->w);
	ex->client = &s->client_sa.sa;
	if (s->c->ssl) {
		ex->tls_protocol = SSL_get_version(s->c->ssl);
		const SSL_CIPHER *ciph = SSL_get_current_cipher(s->c->ssl);
		ex->tls_cipher = ciph ? SSL_CIPHER_get_name(ciph) : NULL;
	}
	return 0;
}

/* Record why the request is failing (the first reason stays). */
static void exchange_fail(struct session *s, enum exchange_outcome why)
{
	if (s->ex && s->ex->outcome == EXCH_OK)
		s->ex->outcome = why;
}

/* A connection to target T (of the session's group) failed: count it as
 * metric M (TargetConnectionErrorCount, TargetTLSNegotiationErrorCount)
 * for the load balancer, the group and the target. */
static void count_target_error(struct session *s, const struct target *t, unsigned m)
{
	unsigned w = s->w->id;

	shard_add(s->pw->lb, m, 1);
	if (s->ex && s->ex->tg_ms)
		shard_add(shard_block(s->ex->tg_ms, w), m, 1);
	if (t && t->st->ms)
		shard_add(shard_block(t->st->ms, w), m, 1);
}

/* Count an ended request in the worker's blocks: the load balancer's,
 * its target group's and its (last) target's. */
static void exchange_count(struct session *s, const struct exchange *ex)
{
	unsigned w = s->w->id;
	struct shard_block *b[3];
	unsigned nb = 0;

	b[nb++] = s->pw->lb;
	if (ex->tg_ms)
		b[nb++] = shard_block(ex->tg_ms, w);
	if (ex->target && ex->target->st->ms && ex->tg_ms)
		b[nb++] = shard_block(ex->target->st->ms, w);

	/* the load balancer only */
	struct shard_block *lb = b[0];
	shard_add(lb, M_PROCESSED_BYTES, ex->bytes_in + ex->bytes_out);
	if (ex->rule_evals)
		shard_add(lb, M_RULE_EVALUATIONS, ex->rule_evals);
	if (ex->fixed)
		shard_add(lb, M_HTTP_FIXED_RESPONSE_COUNT, 1);
	if (ex->redirect)
		shard_add(lb, M_HTTP_REDIRECT_COUNT, 1);
	if (ex->by_albd && ex->status >= 300 && ex->status < 600) {
		static const unsigned cls[] = { M_HTTPCODE_ELB_3XX, M_HTTPCODE_ELB_4XX, M_HTTPCODE_ELB_5XX };
		shard_add(lb, cls[ex->status / 100 - 3], 1);
		switch (ex->status) {
		case 500: shard_add(lb, M_HTTPCODE_ELB_500, 1); break;
		case 502: shard_add(lb, M_HTTPCODE_ELB_502, 1); break;
		case 503: shard_add(lb, M_HTTPCODE_ELB_503, 1); break;
		case 504: shard_add(lb, M_HTTPCODE_ELB_504, 1); break;
		}
	}
	if (ex->tg_ms && ex->pick.failopen)
		shard_add(b[1], M_FAIL_OPEN_REQUEST_COUNT, 1);

	/* every level it reached */
	int tcode = ex->target_status >= 200 && ex->target_status < 600 ? ex->target_status / 100 : 0;
	uint64_t trt = ex->t_first_byte > ex->t_sent && ex->t_sent ? ex->t_first_byte - ex->t_sent : 0;
	unsigned idx = trt ? hist_dense_index_ns(trt) : 0;   /* one log() for all three */
	for (unsigned i = 0; i < nb; i++) {
		shard_add(b[i], M_REQUEST_COUNT, 1);
		if (tcode)
			shard_add(b[i], M_HTTPCODE_TARGET_2XX + (unsigned)(tcode - 2), 1);
		if (trt)
			shard_record_ns(b[i], trt, idx);
		if (ex->retries && i < 2)
			shard_add(b[i], M_RETRIED_REQUEST_COUNT, 1);
	}
}

/* The access log's copy of N bytes at P (the head is drained before the
 * exchange ends). NULL when out of memory: the field is then "-". */
static char *al_copy(const char *p, size_t n, size_t *len)
{
	char *c = malloc(n + 1);

	if (c) {
		memcpy(c, p, n);
		c[n] = 0;
		*len = n;
	}
	return c;
}

/* The client's port (its address: peer_put(), peer_str()). */
static unsigned client_port(const struct session *s)
{
	const struct sockaddr *sa = &s->client_sa.sa;

	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

/* The access log line of the exchange that ends (access_log.h), into the
 * worker's ring; a line the ring has no room for is counted. */
static void access_log_line(struct session *s, const struct exchange *ex)
{
	const struct albd_config *cfg = live_cfg(s);
	struct alog_fields f;
	char client[INET6_ADDRSTRLEN + 16], targets[(PICK_TRIED_MAX + 1 + EXCHANGE_RESENT_MAX) * 72],
		codes[(PICK_TRIED_MAX + 1 + EXCHANGE_RESENT_MAX) * 4 + 8];
	char uri[sizeof ex->target_uri];
	char line[ALOG_LINE_MAX];
	struct timespec now;
	size_t tl = 0, cl = 0;

	memset(&f, 0, sizeof f);
	clock_gettime(CLOCK_REALTIME, &now);
	f.time_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
	uint64_t took_us = ex->t_end > ex->t_start ? (ex->t_end - ex->t_start) / 1000 : 0;
	f.created_us = f.time_us > took_us ? f.time_us - took_us : 0;
	f.type = ex->tunnel ? (s->https ? "wss" : "ws") : s->https ? "https" : "http";
	f.scheme = s->https ? "https" : "http";
	f.elb = cfg->elb_id;
	snprintf(client, sizeof client, s->client_sa.sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", peer_str(s),
		 client_port(s));
	f.client = client;
	f.target = ex->target ? ex->target->st->addr.text : NULL;
	f.request_us = ex->t_sent ? (int64_t)((ex->t_sent - ex->t_start) / 1000) : -1;
	f.target_us = ex->t_first_byte && ex->t_sent ? (int64_t)((ex->t_first_byte - ex->t_sent) / 1000) : -1;
	/* albd relays the head in the callback that parsed it */
	f.response_us = ex->t_first_byte && ex->t_sent ? 0 : -1;
	f.elb_status = ex->status;
	f.target_status = ex->target_status;
	f.received_bytes = ex->bytes_in;
	f.sent_bytes = ex->bytes_out;
	if (ex->method[0]) {
		const char *u = ex->target_uri, *p;

		f.method = ex->method;
		/* an absolute-form target: its path */
		if (u[0] != '/' && (p = strstr(u, "://")) != NULL) {
			p = strchr(p + 3, '/');
			u = p ? p : "/";
		}
		snprintf(uri, sizeof uri, "%s", u);
		f.uri = uri;
		f.version = ex->http10 ? "HTTP/1.0" : "HTTP/1.1";
	}
	if (ex->host[0]) {
		const char *h = ex->host, *colon = strrchr(h, ':');
		size_t hl = strlen(h);

		/* without its port ("[::1]:80" keeps its brackets) */
		if (colon && (h[0] != '[' || colon > strchr(h, ']')))
			hl = (size_t)(colon - h);
		f.host = h;
		f.host_len = hl;
	}
	f.port = s->ls ? s->ls->addr.port : 0;
	f.user_agent = ex->al_ua;
	f.user_agent_len = ex->al_ua_len;
	f.ssl_cipher = ex->tls_cipher;
	f.ssl_protocol = ex->tls_protocol;
	f.tg_arn = ex->tg ? ex->tg->arn : NULL;
	f.trace = exchange_trace(ex, &f.trace_len);
	if (s->c && s->c->ssl) {
		f.domain = SSL_get_servername(s->c->ssl, TLSEXT_NAMETYPE_host_name);
		if (SSL_session_reused(s->c->ssl))
			f.cert = "session-reused";
		else if (ex->listener && s->wg)
			f.cert = tls_server_presented(gen_tls_of(s->wg->gen, ex->listener), s->c->ssl);
	}
	f.rule_priority = !ex->listener ? -1 : ex->rule ? ex->rule->priority : 0;
	f.actions = ex->redirect ? "redirect" : ex->fixed ? "fixed-response" : ex->tg ? "forward" : NULL;
	f.redirect_url = ex->al_loc;
	f.redirect_url_len = ex->al_loc_len;
	f.error_reason = ex->outcome != EXCH_OK ? exchange_outcome_name(ex->outcome) : NULL;
	/* the targets tried, in order: the failed ones ("-"), then the last
	 * (its status, or "-"); a target that may have had the request twice
	 * (a resend after it went out on a pooled connection) twice */
	const struct target *list[PICK_TRIED_MAX + 1];
	unsigned nl = 0;
	for (unsigned i = 0; i < ex->pick.ntried; i++)
		if (ex->pick.tried[i] != ex->target)
			list[nl++] = ex->pick.tried[i];
	if (ex->target)
		list[nl++] = ex->target;
	for (unsigned i = 0; i < nl; i++) {
		unsigned reps = 1;
		for (unsigned k = 0; k < ex->nresent_on; k++)
			reps += ex->resent_on[k] == list[i];
		for (unsigned r = 0; r < reps; r++) {
			int status = r == reps - 1 && list[i] == ex->target ? ex->target_status : 0;
			tl += (size_t)snprintf(targets + tl, sizeof targets - tl, "%s%s", tl ? " " : "",
					       list[i]->st->addr.text);
			if (status)
				cl += (size_t)snprintf(codes + cl, sizeof codes - cl, "%s%d", cl ? " " : "", status);
			else
				cl += (size_t)snprintf(codes + cl, sizeof codes - cl, "%s-", cl ? " " : "");
		}
	}
	f.target_list = tl ? targets : NULL;
	f.target_status_list = cl ? codes : NULL;
	if (ex->desync_class != DESYNC_COMPLIANT) {
		f.classification = desync_class_name((enum desync_class)ex->desync_class);
		f.classification_reason = desync_reason_name((enum desync_reason)ex->desync_reason);
	}
	size_t n = alog_format(line, sizeof line, &f, cfg->access_log.format);
	if (!alog_append(s->w->id, line, n))
		shard_add(s->pw->lb, M_ACCESS_LOG_DROPPED_LINE_COUNT, 1);
}

/* Every request ends here, exactly once, however it ends (answered in
 * full, client gone, target lost, timeouts, drain, close-all): the one
 * place to count it and, later, to write its access log line. Does nothing
 * when no request is running. WHY: the outcome unless one was recorded. */
static void exchange_end(struct session *s, enum exchange_outcome why)
{
	struct exchange *ex = s->ex;

	if (!ex || !ex->active)
		return;
	ex->active = 0;
	exchange_fail(s, why);
	ex->t_end = worker_now(s->w);
	ex->bytes_in += ex->reqb.total;
	if (!ex->by_albd)
		ex->bytes_out += ex->respb.total;
	s->pw->exchanges++;
	exchange_count(s, ex);
	/* the log as the live configuration has it (a tunnel may outlive
	 * the generation it started on) */
	if (live_cfg(s)->access_log.enabled)
		access_log_line(s, ex);
	free(ex->al_ua);
	free(ex->al_loc);
	ex->al_ua = ex->al_loc = NULL;
	log_debug("exchange end: worker=%u seq=%" PRIu64 " client=%s \"%s %s\" status=%d target_status=%d "
		  "target=%s outcome=%s retries=%u bytes_in=%" PRIu64 " bytes_out=%" PRIu64
		  " time_us=%" PRIu64 " target_time_us=%" PRIu64 " trace=" EXCHANGE_TRACE_FMT,
		  s->w->id, s->pw->exchanges, peer_str(s), ex->method, ex->target_uri, ex->status, ex->target_status,
		  ex->target ? ex->target->st->addr.text : "-", exchange_outcome_name(ex->outcome), ex->retries,
		  ex->bytes_in, ex->bytes_out, (ex->t_end - ex->t_start) / 1000,
		  ex->t_first_byte > ex->t_sent && ex->t_sent ? (ex->t_first_byte - ex->t_sent) / 1000 : 0,
		  EXCHANGE_TRACE_ARGS(ex));
}

/* the end of an exchange --------------------------------------------------- */

/* Drop what the current exchange holds. UP_REUSABLE: the upstream
 * connection finished cleanly and may go back to the pool. */
static void exchange_release(struct session *s, int up_reusable)
{
	if (s->up) {
		if (up_reusable && s->ex && s->ex->up_keepalive && s->ex->reqb.done && s->ex->respb.done)
			upstream_put(s->up, s->tgcfg->keepalive_max_idle, s->tgcfg->keepalive_timeout_ms);
		else
			upstream_close(s->up);
		s->up = NULL;
	}
	if (s->target) {
		tg_release(s->target);
		s->target = NULL;
	}
	if (s->wg) {
		worker_gen_release(s->w, s->wg);
		s->wg = NULL;
	}
	/* the copy kept for a resend is not needed any more: an idle
	 * connection holds no buffer of its own */
	if (s->ex) {
		conn_pool_put(&s->pw->bufs, s->ex->head_out);
		s->ex->head_out = NULL;
	}
	s->cfg = NULL;
	s->tg = NULL;
	s->tgcfg = NULL;
}

/* The last response is flushed: close, after draining what the client may
 * still send when that is needed (lingering close, as nginx does). */
static void flushed(struct session *s)
{
	if (!s->linger) {
		session_close(s, EXCH_OK);
		return;
	}
	s->state = S_LINGER;
	conn_shutdown_write(s->c);
	conn_read(s->c, 1);
	timer_set(s, T_LINGER, LINGER_MS);
}

/* No request follows on this connection: close once what is in the
 * client's output went out (flushed()). */
static void close_after_output(struct session *s)
{
	s->state = S_CLOSING;
	s->c->low_mark = 0;     /* CONN_DRAINED only once all is out */
	conn_read(s->c, s->linger);
	if (evbuffer_get_length(s->c->out) == 0)
		flushed(s);
	else
		timer_set(s, T_IDLE, cur_cfg(s)->timeouts.idle_ms);
}

/* The response went (or is going) out in full: on to the next request
 * (one pipelined before a half-close too), or close once the output is
 * flushed. */
static void exchange_done(struct session *s)
{
	int keep = s->ex->req_keepalive && !s->ex->close_after && s->ex->reqb.done && !s->w->stopping &&
		   !client_finished(s);

	timer_clear(s);
	exchange_end(s, EXCH_OK);
	exchange_release(s, 1);
	s->client_paused = s->up_paused = 0;
	conn_flush(s->c);
	if (!keep) {
		close_after_output(s);
		return;
	}
	s->state = S_IDLE;
	/* an idle connection holds no exchange (the next one is taken from
	 * the worker's free list when a request begins) */
	exchange_drop(s);
	conn_read(s->c, 1);
	timer_set(s, T_KEEPALIVE, cur_cfg(s)->timeouts.client_keepalive_ms);
	if (!s->processing)
		process_input(s);
}

/* Answer with a response albd makes itself (an error, a fixed response or
 * a redirect), with one more field HDR: VALUE (HDR may be NULL): Location,
 * Retry-After. CLOSE forces the connection closed after it. Must not be
 * used once a response head went to the client. Every such response has a
 * Date (RFC 9110 6.6.1), the worker's, of its last tick's second. */
static void respond_loc(struct session *s, int status, const char *ctype, const char *body,
			size_t body_len, int close, const char *hdr, const char *value)
{
	struct evbuffer *out = s->c->out;
	char html[256];

	if (!body) {
		int n = snprintf(html, sizeof(html),
				 "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n</body>\r\n</html>\r\n",
				 status, http1_reason(status), status, http1_reason(status));
		body = html;
		body_len = (size_t)n;
		ctype = "text/html";
	}
	/* Once it is answered, the rest of a request body is not read: the
	 * connection cannot carry another request, and what the client still
	 * sends is drained so that a reset does not destroy the answer. */
	if (close || !s->ex->reqb.done)
		s->ex->close_after = s->linger = 1;
	if (client_finished(s))
		s->ex->close_after = 1;   /* its last request */
	int keep = s->ex->req_keepalive && !s->ex->close_after && !s->w->stopping;
	size_t before = evbuffer_get_length(out);
	char framing[128];
	/* A 204 or 304 ends at its head (RFC 9112 6.3), and a 204 has no
	 * Content-Length (RFC 9110 8.6), a 304 none that would say 0 for
	 * the 200 it stands for; a 205 has no content (RFC 9110 15.3.6)
	 * but is framed as any response: Content-Length: 0. None has a
	 * Content-Type: there is no content to describe. */
	int no_content = config_status_no_content(status);
	if (no_content)
		body_len = 0;
	if (no_content && status != 205)
		framing[0] = '\0';
	else if (no_content)
		snprintf(framing, sizeof framing, "Content-Length: 0\r\n");
	else
		snprintf(framing, sizeof framing, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, body_len);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nServer: albd\r\nDate: %s\r\n%s"
			    "%s%s%s%s%s\r\n",
			    status, http1_reason(status), http1_date(&s->pw->date, s->pw->epoch), framing,
			    hdr ? hdr : "", hdr ? ": " : "",
			    hdr ? value : "", hdr ? "\r\n" : "",
			    keep ? (s->ex->http10 ? "Connection: keep-alive\r\n" : "") : "Connection: close\r\n");
	if (!s->ex->is_head)
		evbuffer_add(out, body, body_len);
	s->ex->status = status;
	s->ex->by_albd = 1;
	s->ex->bytes_out += evbuffer_get_length(out) - before;
	s->ex->resp_started = 1;
	s->ex->respb.done = 1;
	exchange_done(s);
}

static void respond(struct session *s, int status, const char *ctype, const char *body, size_t body_len,
		    int close)
{
	respond_loc(s, status, ctype, body, body_len, close, NULL, NULL);
}

/* Answer request H (its head, HEAD_LEN bytes, still in the client
 * buffer: drained here) with redirect RD (see redirect.h): its status, the
 * Location, the small HTML body of albd's own answers (as ALB's). A
 * Location over REDIRECT_LOCATION_MAX is a 500; a host of #{host} when the
 * Host field has an empty host a 400. */
static void respond_redirect(struct session *s, const struct http1_head *h, size_t head_len,
			     const struct cfg_redirect *rd)
{
	char loc[REDIRECT_LOCATION_MAX], local[64];
	const char *q = memchr(h->path, '?', h->path_len);
	size_t plen = q ? (size_t)(q - h->path) : h->path_len;
	struct redirect_req rq = {
		.https = s->https, .port = s->ls->addr.port,
		.path = plen ? h->path : "/", .path_len = plen ? plen : 1,
		.query = q ? q + 1 : "", .query_len = q ? h->path_len - plen - 1 : 0,
	};

	if (h->host) {
		rq.host = h->host;
		rq.host_len = redirect_host_len(h->host, h->host_len);
		if (!rq.host_len && strstr(rd->host, "#{host}")) {
			/* "Host:" or "Host: :80" is valid (RFC 9112 3.2), but
			 * there is no host to write: not "http://:80/" */
			evbuffer_drain(s->c->in, head_len);
			log_debug("client %s: a redirect to #{host} with an empty Host", peer_str(s));
			exchange_fail(s, EXCH_CLIENT_BAD_REQUEST);
			respond(s, 400, NULL, NULL, 0, 0);
			return;
		}
	} else {
		/* HTTP/1.0 without Host: the address the client reached */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char ip[INET6_ADDRSTRLEN] = "localhost";

		if (getsockname(s->c->fd, (struct sockaddr *)&ss, &sl) == 0) {
			if (ss.ss_family == AF_INET6)
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
			else if (ss.ss_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
		}
		snprintf(local, sizeof local, ss.ss_family == AF_INET6 ? "[%s]" : "%s", ip);
		rq.host = local;
		rq.host_len = strlen(local);
	}
	long n = redirect_location(rd, &rq, loc, sizeof loc);

	evbuffer_drain(s->c->in, head_len);     /* H points into it: done with it */
	if (n < 0) {
		log_debug("client %s: redirect Location longer than %d bytes", peer_str(s), REDIRECT_LOCATION_MAX);
		exchange_fail(s, EXCH_INTERNAL_ERROR);
		respond(s, 500, NULL, NULL, 0, 0);
		return;
	}
	s->ex->redirect = 1;
	if (cur_cfg(s)->access_log.enabled) {
		free(s->ex->al_loc);
		s->ex->al_loc = al_copy(loc, strlen(loc), &s->ex->al_loc_len);
	}
	respond_loc(s, rd->status, NULL, NULL, 0, 0, "Location", loc);
}

/* request side ----------------------------------------------------------- */

static int status_of(enum http1_status st)
{
	switch (st) {
	case HTTP1_URI_TOO_LONG: return 414;
	case HTTP1_HEAD_TOO_LARGE: return 431;
	case HTTP1_NOT_IMPLEMENTED: return 501;
	default: return 400;
	}
}

static int is_idempotent(int method)
{
	switch (method) {
	case HTTP_GET: case HTTP_HEAD: case HTTP_OPTIONS: case HTTP_TRACE: case HTTP_PUT: case HTTP_DELETE:
		return 1;
	}
	return 0;
}

static const struct cfg_listener *find_listener(const struct albd_config *cfg, const struct albd_gen *g,
						 const struct lsock *ls)
{
	for (size_t i = 0; i < cfg->nlisteners; i++)
		if (g->lsocks[i] == ls)
			return &cfg->listeners[i];
	return NULL;
}

/* What router_pick_forward() gets for action A of listener L (generation
 * G): the next of A's picks on this worker, spread by router_spread(), so
 * that weighted groups get their shares within a few requests; a random
 * number while the worker has no count for G (an older generation, or no
 * memory). */
static uint32_t pick_seq(struct proxy_worker *pw, const struct albd_gen *g, const struct cfg_listener *l,
			 const struct router_action *a)
{
	const struct cfg_action *act = a->action;

	if (act->type != CFG_ACT_FORWARD || act->u.forward.ngroups < 2)
		return 0;
	if (pw->fwd_gen != g)
		return worker_rand(pw->w);
	size_t li = (size_t)(l - g->cfg->listeners);
	size_t ri = a->rule ? (size_t)(a->rule - l->rules) : l->nrules;
	return router_spread(pw->fwd_seq[pw->fwd_off[li] + ri]++, act->u.forward.weight_total);
}

/* What the rules of a listener look at, from head H: "http://a.example"
 * and "http://a.example?q" have the path "/". Returns RQ. */
static const struct route_req *route_req_of(const struct session *s, const struct http1_head *h,
					    struct route_req *rq)
{
	const char *q = memchr(h->path, '?', h->path_len);
	size_t plen = q ? (size_t)(q - h->path) : h->path_len;

	rq->method = h->method;
	rq->method_len = h->method_len;
	rq->host = h->host;
	rq->host_len = h->host_len;
	rq->path = plen ? h->path : "/";
	rq->path_len = plen ? plen : 1;
	rq->query = q ? q + 1 : NULL;
	rq->query_len = q ? h->path_len - plen - 1 : 0;
	rq->hdrs = h->hdrs;
	rq->nhdrs = h->nhdrs;
	rq->client = &s->client_sa.sa;
	return rq;
}

/* Copy N bytes of SRC into DST of DSTLEN as a NUL-terminated string,
 * truncated to fit. */
static void copy_text(char *dst, size_t dstlen, const char *src, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Give the request its id when the listener L has trace_id on (trace.h):
 * s->ex->trace_id. Returns the client's X-Amzn-Trace-Id field to keep, or
 * NULL. The head (HEAD_LEN bytes) is read; the id is made once, so a
 * resend or a retry carries the same one. */
static const struct http1_header *trace_begin(struct session *s, const struct cfg_listener *l,
					      const struct http1_head *h, size_t head_len)
{
	const struct http1_header *in = NULL;

	if (!l->trace_id)
		return NULL;
	for (size_t i = 0; i < h->nhdrs; i++) {
		const struct http1_header *f = &h->hdrs[i];
		if (f->name_len == 15 && http1_name_is(f, "x-amzn-trace-id")) {
			/* the first one; the others are dropped (and one a
			 * Connection field names is not kept either) */
			if (!http1_is_hop_by_hop(h, f))
				in = f;
			break;
		}
	}
	if (in && (head_len > TRACE_HEAD_MAX || !trace_header_valid(in->value, in->value_len, NULL)))
		in = NULL;
	trace_make_id(&s->pw->trace_rng, s->pw->epoch, s->ex->trace_id);
	return in;
}

/* stickiness (sticky.h) ------------------------------------------------- */

/* The stickiness cookies of a request as they came (opened), kept for the
 * response, which puts this request's entry among the others. Made at a
 * session's first sticky request. */
struct sticky_req {
	struct sticky_set group;      /* AWSALBTG */
	struct sticky_set target;     /* the group's AWSALB (or its name) or AWSALBAPP */
};

/* The worker's MAC context, made at first use: the key was loaded before
 * the generation that asks for it was built (main.c). NULL: out of memory,
 * and stickiness is off for this request. */
static struct sticky_mac *sticky_mac_of(struct proxy_worker *pw)
{
	if (!pw->sticky)
		pw->sticky = sticky_mac_new();
	return pw->sticky;
}

static struct sticky_req *sticky_req_of(struct session *s)
{
	if (!s->sticky)
		s->sticky = calloc(1, sizeof *s->sticky);
	return s->sticky;
}

/* Does SET hold an entry ACCEPT takes? ARG is ACCEPT's. */
typedef int (*sticky_accept_fn)(struct session *s, const struct sticky_set *set, void *arg);

/* Open the stickiness cookie NAME, else ALT (may be NULL), of KIND in H
 * into *SET: every occurrence is tried (a client may send a name twice),
 * the first whose entries ACCEPT takes wins, else the first albd made
 * (kept for the response), else none. Returns 1 when ACCEPT took one. */
static int sticky_read(struct session *s, const struct http1_head *h, const char *name, const char *alt,
		       enum sticky_kind kind, struct sticky_set *set, sticky_accept_fn accept, void *arg)
{
	struct sticky_mac *m = sticky_mac_of(s->pw);
	struct sticky_set tmp;
	const char *names[2] = { name, alt };
	const char *v;
	size_t vlen;

	set->n = 0;
	if (!m)
		return 0;
	for (int k = 0; k < 2 && names[k]; k++) {
		size_t nlen = strlen(names[k]);
		struct sticky_cookie_iter it;

		/* one walk over the Cookie fields: a client may repeat a name
		 * as often as its head has room for */
		sticky_cookie_iter_init(&it, h->hdrs, h->nhdrs);
		while (sticky_cookie_next(&it, names[k], nlen, &v, &vlen)) {
			if (!sticky_open(m, v, vlen, kind, &tmp))
				continue;
			if (accept(s, &tmp, arg)) {
				*set = tmp;
				return 1;
			}
			if (!set->n)
				*set = tmp;
		}
	}
	return 0;
}

struct group_pick {
	const struct cfg_action *a;
	const struct cfg_forward *chosen;
};

/* An entry for one of the forward's groups that has a weight, still
 * within the forward's duration. */
static int group_accept(struct session *s, const struct sticky_set *set, void *arg)
{
	struct group_pick *gp = arg;

	for (size_t i = 0; i < gp->a->u.forward.ngroups; i++) {
		const struct cfg_forward *f = &gp->a->u.forward.groups[i];
		const struct target_group *tg = gen_tg(s->wg->gen, f->tg);

		if (f->weight && tg &&
		    sticky_find(set, tg->sticky_gid, s->pw->epoch, gp->a->u.forward.stickiness_s)) {
			gp->chosen = f;
			return 1;
		}
	}
	return 0;
}

/* Group stickiness of forward A (AWSALBTG): the group the cookie names,
 * when it is one of A's groups with a weight, else FWD (the weighted
 * choice). The response gets a new cookie either way. */
static const struct cfg_forward *sticky_group(struct session *s, const struct http1_head *h,
					      const struct cfg_action *a, const struct cfg_forward *fwd)
{
	struct sticky_req *sr = sticky_req_of(s);
	struct group_pick gp = { a, NULL };

	if (!sr)
		return fwd;
	s->ex->sticky_group = a;
	if (sticky_read(s, h, "AWSALBTG", "AWSALBTGCORS", STICKY_GROUP, &sr->group, group_accept, &gp))
		return gp.chosen;
	return fwd;
}

/* An entry for s->tg within its duration, naming one of its targets. */
static int target_accept(struct session *s, const struct sticky_set *set, void *arg)
{
	const struct sticky_entry *e =
		sticky_find(set, s->tg->sticky_gid, s->pw->epoch, s->tgcfg->stickiness.duration_s);
	struct target *t = e ? tg_find_sticky(s->tg, e->target) : NULL;

	if (t)
		*(struct target **)arg = t;
	return t != NULL;
}

/* Target stickiness of s->tg: the target its cookie names goes into the
 * pick (tg_pick() takes it when it can have the request). lb_cookie: the
 * cookie (AWSALB or its CORS twin); app_cookie: AWSALBAPP, believed only
 * beside the application's own cookie. */
static void sticky_target(struct session *s, const struct http1_head *h)
{
	const struct cfg_stickiness *st = &s->tgcfg->stickiness;
	struct sticky_req *sr = sticky_req_of(s);
	struct target *t = NULL;
	const char *v;
	size_t vlen;

	if (!sr)
		return;
	sr->target.n = 0;
	if (st->type == CFG_STICKY_APP_COOKIE) {
		s->ex->sticky_app_in = sticky_cookie_find(h->hdrs, h->nhdrs, st->cookie_name, strlen(st->cookie_name), 0,
							 &v, &vlen);
		/* without the application's cookie, the session is over; the
		 * other groups' entries still go back */
		sticky_read(s, h, "AWSALBAPP", NULL, STICKY_APP, &sr->target, target_accept, &t);
		if (!s->ex->sticky_app_in)
			t = NULL;
	} else {
		sticky_read(s, h, st->cookie_name, strcmp(st->cookie_name, "AWSALB") == 0 ? "AWSALBCORS" : NULL,
			    STICKY_LB, &sr->target, target_accept, &t);
	}
	s->ex->pick.sticky = t;
}

/* The cookies write_sticky_cookies() sets for the response H: a target's
 * own Set-Cookie of one of these names is dropped (ALB keeps AWSALB* for
 * itself). Fills NAMES (up to 4) and returns how many. */
static unsigned sticky_names(struct session *s, const struct http1_head *h, const char *names[4])
{
	const struct cfg_stickiness *st = &s->tgcfg->stickiness;
	unsigned n = 0;

	if (s->ex->sticky_group) {
		names[n++] = "AWSALBTG";
		names[n++] = "AWSALBTGCORS";
	}
	if (st->type == CFG_STICKY_LB_COOKIE) {
		names[n++] = st->cookie_name;
		if (strcmp(st->cookie_name, "AWSALB") == 0)
			names[n++] = "AWSALBCORS";
	} else if (st->type == CFG_STICKY_APP_COOKIE) {
		int set = s->ex->sticky_app_in;
		size_t nlen = strlen(st->cookie_name);

		/* not sticky yet: it becomes so when the target sets its cookie */
		for (size_t i = 0; i < h->nhdrs && !set; i++)
			set = sticky_sets_cookie(&h->hdrs[i], st->cookie_name, nlen);
		if (set)
			names[n++] = "AWSALBAPP";
	}
	return n;
}

/* Is F a Set-Cookie of one of NAMES[0..N)? */
static int sticky_owned(const struct http1_header *f, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (sticky_sets_cookie(f, names[i], strlen(names[i])))
			return 1;
	return 0;
}

/* One Set-Cookie field: NAME=VALUE, Expires, Path=/ and, for the CORS
 * twins, SameSite=None; Secure. */
static void put_cookie(struct evbuffer *out, const char *name, const char *suffix, const char *value,
		       const char *expires, int cors)
{
	evbuffer_add_printf(out, "Set-Cookie: %s%s=%s; Expires=%s; Path=/%s\r\n", name, suffix, value, expires,
			    cors ? "; SameSite=None; Secure" : "");
}

/* The stickiness cookies of this exchange's response, NAMES[0..N) as
 * sticky_names() gave them, into OUT: the cookies as they came with this
 * request's entry in place of its group's. They expire in 7 days, the
 * longest duration, as ALB's: each entry carries its own second. */
static void write_sticky_cookies(struct session *s, const char *const *names, unsigned n, struct evbuffer *out)
{
	struct sticky_mac *m = sticky_mac_of(s->pw);
	struct sticky_req *sr = s->sticky;
	uint32_t now = s->pw->epoch;
	char v[STICKY_VALUE_MAX], date[30];
	unsigned i = 0;

	if (!m || !sr || !s->target || !s->tg)
		return;
	sticky_http_date(now + STICKY_MAX_AGE_S, date);
	if (s->ex->sticky_group) {
		const struct cfg_action *a = s->ex->sticky_group;

		for (size_t k = 0; k < a->u.forward.ngroups; k++) {
			const struct target_group *tg = gen_tg(s->wg->gen, a->u.forward.groups[k].tg);
			if (tg)
				sticky_remove(&sr->group, tg->sticky_gid);
		}
		sticky_put(&sr->group, s->tg->sticky_gid, 0, now);
		if (sticky_seal(m, STICKY_GROUP, &sr->group, v)) {
			put_cookie(out, names[0], "", v, date, 0);
			put_cookie(out, names[1], "", v, date, 1);
		}
		i = 2;
	}
	if (i == n)
		return;
	int app = s->tgcfg->stickiness.type == CFG_STICKY_APP_COOKIE;
	sticky_put(&sr->target, s->tg->sticky_gid, s->target->sticky_id, now);
	if (!sticky_seal(m, app ? STICKY_APP : STICKY_LB, &sr->target, v))
		return;
	for (; i < n; i++)
		put_cookie(out, names[i], "", v, date, strcmp(names[i], "AWSALBCORS") == 0);
}

/* ALB's routing.http.drop_invalid_header_fields: a valid name is
 * [-A-Za-z0-9]+ */
static int valid_field_name(const struct http1_header *f)
{
	for (size_t i = 0; i < f->name_len; i++) {
		unsigned char c = (unsigned char)f->name[i];
		if (!(c == '-' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
			return 0;
	}
	return f->name_len > 0;
}

/* EX's X-Amzn-Trace-Id value (exchange_trace()): the field trace_write_header()
 * wrote from AT to END ("X-Amzn-Trace-Id: " VALUE "\r\n"). */
static void trace_span(struct exchange *ex, size_t at, size_t end)
{
	ex->trace_off = (uint32_t)(at + TRACE_FIELD_NAME_LEN);
	ex->trace_len = (uint32_t)(end - at - TRACE_FIELD_NAME_LEN - 2);
}

/* Write the request head the target gets: request line (origin-form, RFC
 * 9112 3.2.2: an absolute-form target becomes its path, its authority the
 * Host field), the client's fields minus the hop-by-hop ones, in their
 * order, then X-Forwarded-*, X-Amzn-Trace-Id (when the request has an id:
 * from TRACE_IN, the client's field trace_begin() kept, or new) and albd's
 * own framing (RFC 9112 7.1.3: a proxy re-frames what it forwards). The
 * client's X-Forwarded-For fields, wherever they stand, become one field at
 * the end, in their order, with the client's address appended once. */
static void put_request_head(struct session *s, const struct http1_head *h, const struct http1_header *trace_in,
			     struct wbuf *b)
{
	int tracing = s->ex->trace_id[0] != 0;
	int drop_invalid = s->ex->listener && s->ex->listener->drop_invalid_header_fields;

	wbuf_add(b, h->method, h->method_len);
	WBUF_LIT(b, " ");
	if (h->path_len == 0 || h->path[0] == '?')
		WBUF_LIT(b, "/");
	wbuf_add(b, h->path, h->path_len);
	WBUF_LIT(b, " HTTP/1.1\r\n");
	for (size_t i = 0; i < h->nhdrs; i++) {
		const struct http1_header *f = &h->hdrs[i];
		if (http1_is_hop_by_hop(h, f))
			continue;
		if (f->name_len == 15 && http1_name_is(f, "x-forwarded-for"))
			continue;
		if ((f->name_len == 17 && http1_name_is(f, "x-forwarded-proto")) ||
		    (f->name_len == 16 && http1_name_is(f, "x-forwarded-port")))
			continue;
		if (h->authority && f->name_len == 4 && http1_name_is(f, "host"))
			continue;   /* replaced by the target's authority below */
		if (tracing && f->name_len == 15 && http1_name_is(f, "x-amzn-trace-id"))
			continue;   /* one field, written below */
		if (drop_invalid && !valid_field_name(f))
			continue;
		wbuf_add(b, f->name, f->name_len);
		WBUF_LIT(b, ": ");
		wbuf_add(b, f->value, f->value_len);
		WBUF_LIT(b, "\r\n");
	}
	if (h->wants_upgrade) {
		/* RFC 9110 7.8: Upgrade is hop-by-hop, so albd, which does
		 * relay the switch, asks for it again itself */
		WBUF_LIT(b, "Connection: upgrade\r\nUpgrade: ");
		wbuf_add(b, h->upgrade, h->upgrade_len);
		WBUF_LIT(b, "\r\n");
	}
	if (h->authority) {
		WBUF_LIT(b, "Host: ");
		wbuf_add(b, h->authority, h->authority_len);
		WBUF_LIT(b, "\r\n");
	} else if (!h->host) {
		/* RFC 9112 3.2: an HTTP/1.0 request may come without Host; what
		 * albd sends is HTTP/1.1, which requires one */
		WBUF_LIT(b, "Host: ");
		wbuf_str(b, s->ls->addr.text);
		WBUF_LIT(b, "\r\n");
	}
	WBUF_LIT(b, "X-Forwarded-For: ");
	for (size_t i = 0; i < h->nhdrs; i++) {
		const struct http1_header *f = &h->hdrs[i];
		if (f->name_len != 15 || f->value_len == 0 || !http1_name_is(f, "x-forwarded-for") ||
		    http1_is_hop_by_hop(h, f))
			continue;   /* a Connection header may name it: then it goes */
		wbuf_add(b, f->value, f->value_len);
		WBUF_LIT(b, ", ");
	}
	peer_put(b, s);
	if (s->https)
		WBUF_LIT(b, "\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: ");
	else
		WBUF_LIT(b, "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ");
	wbuf_u64(b, s->ls->addr.port);
	WBUF_LIT(b, "\r\n");
	if (tracing) {
		/* the value, for the request's log lines (exchange_trace()) */
		size_t at = wbuf_len(b);
		trace_write_header(b, trace_in ? trace_in->value : NULL, trace_in ? trace_in->value_len : 0,
				   trace_in != NULL, s->ex->trace_id);
		trace_span(s->ex, at, wbuf_len(b));
	}
	if (s->ex->desync_close)
		WBUF_LIT(b, "Connection: close\r\n");
	if (h->body == HTTP1_BODY_CHUNKED)
		WBUF_LIT(b, "Transfer-Encoding: chunked\r\n");
	else if (h->body == HTTP1_BODY_LENGTH) {
		WBUF_LIT(b, "Content-Length: ");
		wbuf_u64(b, h->content_length);
		WBUF_LIT(b, "\r\n");
	}
	WBUF_LIT(b, "\r\n");
}

/* Write the request head the target gets: request line (origin-form, RFC
 * 9112 3.2.2: an absolute-form target becomes its path, its authority the
 * Host field), the client's fields minus the hop-by-hop ones, in their
 * order, then X-Forwarded-*, X-Amzn-Trace-Id (when the request has an id:
 * from TRACE_IN, the client's field trace_begin() kept, or new) and albd's
 * own framing (RFC 9112 7.1.3: a proxy re-frames what it forwards). The
 * client's X-Forwarded-For fields, wherever they stand, become one field at
 * the end, in their order, with the client's address appended once.
 * Written in one piece (net/wbuf.h); the estimate covers all albd adds, a
 * retry with twice the room covers a miss. */
static int build_request_head(struct session *s, const struct http1_head *h, const struct http1_header *trace_in,
			      struct evbuffer *o)
{
	size_t want = h->head_len + h->path_len + INET6_ADDRSTRLEN + (trace_in ? trace_in->value_len : 0) + 512;
	size_t base = evbuffer_get_length(o);
	struct evbuffer_iovec v;
	struct wbuf b;

	for (;; want *= 2) {
		if (wbuf_begin(&b, o, want, &v) < 0)
			return -1;
		put_request_head(s, h, trace_in, &b);
		if (wbuf_end(&b, o, &v) == 0) {
			s->ex->trace_off += (uint32_t)base;
			return 0;
		}
	}
}

/* For a request albd answers itself (a fixed response, a redirect): keep
 * the X-Amzn-Trace-Id value it would have forwarded (TRACE_IN as for
 * build_request_head()) in the exchange's head buffer, from the worker's
 * pool as a forwarded head's is, for the request's log lines
 * (exchange_trace()). Without memory for it they say "-". */
static void keep_trace(struct session *s, const struct http1_header *trace_in)
{
	struct exchange *ex = s->ex;
	size_t inlen = trace_in ? trace_in->value_len : 0;
	struct evbuffer_iovec v;
	struct wbuf b;

	if (!ex->trace_id[0] || (!ex->head_out && !(ex->head_out = conn_pool_get(&s->pw->bufs))))
		return;
	size_t base = evbuffer_get_length(ex->head_out);
	if (wbuf_begin(&b, ex->head_out, inlen + TRACE_FIELD_EXTRA, &v) < 0)
		return;
	trace_write_header(&b, trace_in ? trace_in->value : NULL, inlen, trace_in != NULL, ex->trace_id);
	size_t n = wbuf_len(&b);
	if (wbuf_end(&b, ex->head_out, &v) < 0)
		return;
	trace_span(ex, base, base + n);
}

/* Move request body bytes from the client to the target. */
static void forward_request_body(struct session *s)
{
	struct evbuffer *in = s->c->in;

	if (s->ex->reqb.done || !s->up)
		return;
	struct evbuffer *uo = s->up->c->out;
	size_t before = evbuffer_get_length(in);
	if (http1_body_move(&s->ex->reqb, in, uo, 0) < 0) {
		log_debug("client %s: invalid chunked request body trace=" EXCHANGE_TRACE_FMT, peer_str(s),
			  EXCHANGE_TRACE_ARGS(s->ex));
		exchange_fail(s, EXCH_CLIENT_BAD_REQUEST);
		if (!s->ex->resp_started) {
			s->ex->reqb.done = 1;       /* nothing more will be read */
			respond(s, 400, NULL, NULL, 0, 1);
		} else {
			session_close(s, EXCH_CLIENT_BAD_REQUEST);
		}
		return;
	}
	if (evbuffer_get_length(in) != before) {
		s->ex->body_moved = 1;
		timer_touch(s, s->tkind == T_IDLE ? s->cfg->timeouts.idle_ms : s->tgcfg->response_timeout_ms);
		conn_flush(s->up->c);
	}
	uint64_t max = s->cfg->limits.max_body_size;
	if (max && s->ex->reqb.total > max && !s->ex->resp_started) {
		s->ex->reqb.done = 1;
		exchange_fail(s, EXCH_CLIENT_BODY_TOO_LARGE);
		respond(s, 413, NULL, NULL, 0, 1);
		return;
	}
	if (s->ex->reqb.done)
		return;   /* the client may pipeline the next request meanwhile */
	if (evbuffer_get_length(uo) >= high_mark(s)) {
		conn_read(s->c, 0);
		s->client_paused = 1;
	}
}

enum desync_action { DESYNC_PASS, DESYNC_BLOCK, DESYNC_NOMEM };

/* Record the desync classification of the request head at P (LEN bytes)
 * in the exchange, and count it when it is not Compliant. */
static void desync_note(struct session *s, const struct desync_verdict *v)
{
	s->ex->desync_class = (unsigned char)v->cls;
	s->ex->desync_reason = (unsigned char)v->reason;
	if (v->cls != DESYNC_COMPLIANT)
		shard_add(s->pw->lb, M_DESYNC_NONCOMPLIANT_REQUEST_COUNT, 1);
}

static void desync_record(struct session *s, const char *p, size_t len, struct desync_verdict *v)
{
	desync_classify(p, len, v);
	desync_note(s, v);
}

/* A head the scanner refused as soon as the fault arrived (http1_scan_head:
 * a NUL, a bare CR or LF, obs-fold, too many empty lines first), recorded
 * and counted as the classifier would name it had it seen the whole head,
 * whatever else was read so far. Every mode answers it 400. */
static void desync_scan_bad(struct session *s)
{
	struct desync_verdict v;

	switch (s->scan.bad) {
	case HTTP1_SCAN_NUL:
	case HTTP1_SCAN_BARE_CR:
		v = (struct desync_verdict){ DESYNC_SEVERE,
					     s->scan.in_start_line ? DESYNC_R_BAD_URI : DESYNC_R_BAD_HEADER };
		break;
	case HTTP1_SCAN_BARE_LF:
		v = (struct desync_verdict){ DESYNC_ACCEPTABLE, DESYNC_R_NON_CRLF_LINE_TERMINATION };
		break;
	case HTTP1_SCAN_OBS_FOLD:
		v = (struct desync_verdict){ DESYNC_AMBIGUOUS, DESYNC_R_MULTILINE_HEADER };
		break;
	case HTTP1_SCAN_EMPTY_LINES:
		v = (struct desync_verdict){ DESYNC_AMBIGUOUS, DESYNC_R_MISSING_URI };
		break;
	default:
		return;
	}
	desync_note(s, &v);
}

/* ALB's desync mitigation for the request head *P (*LEN bytes) on listener
 * L (NULL: removed, the default mode): classified (net/desync.h), then
 *
 *                 monitor          defensive (default)   strictest
 *   Compliant     pass             pass                  pass
 *   Acceptable    pass             pass                  400
 *   Ambiguous     pass             pass, then close      400
 *   Severe        400              400                   400
 *
 * as ALB documents, but for what can be read two ways, which albd never
 * forwards, in any mode: a Severe head (NUL or CR in it, several different
 * or unreadable lengths, a bad Transfer-Encoding, a malformed method or
 * version), Transfer-Encoding beside Content-Length (BothTePresent) and a
 * field that only looks like either (SuspiciousHeader): 400 and close.
 * "Close" is both connections: the client's after the response, the
 * target's (Connection: close, never pooled). A head that passes without
 * being Compliant is rewritten (http1_normalize_request) into the worker's
 * scratch: *P and *LEN then name the copy, and *LENIENT lets its fields
 * keep their control characters. */
static enum desync_action desync_policy(struct session *s, const struct cfg_listener *l, const char **p,
					size_t *len, int *lenient)
{
	struct proxy_worker *pw = s->pw;
	struct desync_verdict v;

	desync_record(s, *p, *len, &v);
	if (v.cls == DESYNC_COMPLIANT)
		return DESYNC_PASS;
	enum cfg_desync_mode mode = l ? l->desync_mode : CFG_DESYNC_DEFENSIVE;
	if (v.cls == DESYNC_SEVERE || mode == CFG_DESYNC_STRICTEST || v.reason == DESYNC_R_BOTH_TE_PRESENT ||
	    v.reason == DESYNC_R_SUSPICIOUS_HEADER) {
		log_debug("client %s: request blocked by desync mitigation (%s, %s)", peer_str(s),
			  desync_class_name(v.cls), desync_reason_name(v.reason));
		return DESYNC_BLOCK;
	}
	if (v.cls == DESYNC_AMBIGUOUS && mode == CFG_DESYNC_DEFENSIVE)
		s->ex->desync_close = s->ex->close_after = 1;
	size_t need = 3 * *len + 16;
	if (pw->norm_cap < need) {
		char *n = realloc(pw->norm, need);
		if (!n)
			return DESYNC_NOMEM;
		pw->norm = n;
		pw->norm_cap = need;
	}
	size_t n = http1_normalize_request(*p, *len, pw->norm, pw->norm_cap);
	if (!n) {
		log_debug("client %s: request blocked by desync mitigation (%s, %s, and read two ways)", peer_str(s),
			  desync_class_name(v.cls), desync_reason_name(v.reason));
		return DESYNC_BLOCK;
	}
	*p = pw->norm;
	*len = n;
	*lenient = 1;
	return DESYNC_PASS;
}

/* Parse the request head now complete in the client buffer and start the
 * exchange. */
static void start_request(struct session *s, size_t head_len)
{
	struct worker *w = s->w;
	struct evbuffer *in = s->c->in;
	struct http1_head h;
	struct router_action act;
	struct route_req rq;
	const struct albd_config *cfg;

	timer_clear(s);
	s->wg = worker_gen_acquire(w);
	s->cfg = cfg = s->wg->gen->cfg;
	struct http1_limits lim = { cfg->limits.max_request_line, cfg->limits.max_header_size,
				    cfg->limits.max_headers, 0, 1 };
	s->state = S_EXCHANGE;
	if (exchange_begin(s) < 0)
		return;
	http1_body_init(&s->ex->reqb, HTTP1_BODY_NONE, 0, 0);
	http1_body_init(&s->ex->respb, HTTP1_BODY_NONE, 0, 0);
	s->ex->respb.done = 0;

	h.hdrs = s->pw->hdrs;
	const char *p = (const char *)evbuffer_pullup(in, (ssize_t)head_len);
	size_t parse_len = head_len;
	s->ex->bytes_in = head_len;
	const struct cfg_listener *l = find_listener(cfg, s->wg->gen, s->ls);
	switch (desync_policy(s, l, &p, &parse_len, &lim.lenient_values)) {
	case DESYNC_PASS:
		break;
	case DESYNC_BLOCK:
		exchange_fail(s, EXCH_CLIENT_BAD_REQUEST);
		respond(s, 400, NULL, NULL, 0, 1);
		return;
	case DESYNC_NOMEM:
		exchange_fail(s, EXCH_INTERNAL_ERROR);
		respond(s, 503, NULL, NULL, 0, 1);
		return;
	}
	enum http1_status st = http1_parse_head(p, parse_len, 1, 0, &lim, &h);
	if (st != HTTP1_OK) {
		log_debug("client %s: bad request head (%d)", peer_str(s), (int)st);
		exchange_fail(s, EXCH_CLIENT_BAD_REQUEST);
		respond(s, status_of(st), NULL, NULL, 0, 1);
		return;
	}
	copy_text(s->ex->method, sizeof(s->ex->method), h.method, h.method_len);
	copy_text(s->ex->target_uri, sizeof(s->ex->target_uri), h.target, h.target_len);
	if (h.host)
		copy_text(s->ex->host, sizeof(s->ex->host), h.host, h.host_len);
	if (cfg->access_log.enabled)
		for (size_t i = 0; i < h.nhdrs; i++)
			if (h.hdrs[i].name_len == 10 && http1_name_is(&h.hdrs[i], "user-agent")) {
				size_t n = h.hdrs[i].value_len < ALOG_UA_MAX ? h.hdrs[i].value_len : ALOG_UA_MAX;
				free(s->ex->al_ua);
				s->ex->al_ua = al_copy(h.hdrs[i].value, n, &s->ex->al_ua_len);
				break;
			}
	s->ex->req_keepalive = h.keep_alive;
	s->ex->http10 = h.minor == 0;
	s->ex->is_head = h.method_id == HTTP_HEAD;
	s->ex->idempotent = is_idempotent(h.method_id);
	s->ex->expect_continue = h.expect_continue && !s->ex->http10;
	if (s->ex->desync_close)
		h.wants_upgrade = 0;   /* both connections close after it: no tunnel */
	s->ex->upgrade_req = h.wants_upgrade;
	http1_body_init(&s->ex->reqb, h.body, h.content_length, h.body == HTTP1_BODY_CHUNKED);
	if (cfg->limits.max_body_size && h.body == HTTP1_BODY_LENGTH && h.content_length > cfg->limits.max_body_size) {
		exchange_fail(s, EXCH_CLIENT_BODY_TOO_LARGE);
		respond(s, 413, NULL, NULL, 0, 1);
		return;
	}

	if (!l) {
		/* this listener was removed by a reload */
		exchange_fail(s, EXCH_LISTENER_REMOVED);
		respond(s, 503, NULL, NULL, 0, 1);
		return;
	}
	s->ex->listener = l;
	/* limits.per_client's rate: 429 with Retry-After, the connection stays */
	const struct cfg_per_client *pc = &cfg->limits.per_client;
	if (pc->requests_per_second) {
		uint64_t now = clock_ms();
		uint64_t wait = climit_request(climit_slot(&s->client_sa.sa, now), now,
					       pc->requests_per_second, pc->burst);
		if (wait) {
			char after[24];

			snprintf(after, sizeof after, "%llu", (unsigned long long)((wait + 999) / 1000));
			evbuffer_drain(in, head_len);
			shard_add(s->pw->lb, M_CLIENT_LIMITED_REQUEST_COUNT, 1);
			respond_loc(s, 429, NULL, NULL, 0, 0, "Retry-After", after);
			return;
		}
	}
	const struct http1_header *trace_in = trace_begin(s, l, &h, head_len);
	router_route(gen_router(s->wg->gen, l), route_req_of(s, &h, &rq), &act);
	s->ex->rule = act.rule;
	s->ex->rule_evals = act.evaluated;
	if (act.action->type != CFG_ACT_FORWARD)
		keep_trace(s, trace_in);
	switch (act.action->type) {
	case CFG_ACT_FIXED_RESPONSE: {
		const struct cfg_fixed_response *fr = act.action->u.fixed;

		evbuffer_drain(in, head_len);
		s->ex->fixed = 1;
		respond(s, fr->status, fr->content_type, fr->body, fr->body_len, 0);
		return;
	}
	case CFG_ACT_REDIRECT:
		respond_redirect(s, &h, head_len, act.action->u.redirect);
		return;
	case CFG_ACT_FORWARD:
		break;
	}
	const struct cfg_forward *fwd = router_pick_forward(&act, pick_seq(s->pw, s->wg->gen, l, &act));
	if (!fwd) {
		keep_trace(s, trace_in);
		evbuffer_drain(in, head_len);
		exchange_fail(s, EXCH_NO_TARGET);
		respond(s, 503, NULL, NULL, 0, 0);
		return;
	}
	if (act.action->u.forward.stickiness_s)
		fwd = sticky_group(s, &h, act.action, fwd);
	s->tgcfg = fwd->tg;
	s->ex->tg = fwd->tg;
	s->tg = gen_tg(s->wg->gen, fwd->tg);
	s->ex->tg_ms = s->tg ? s->tg->ms : NULL;
	if (s->tg && fwd->tg->stickiness.type != CFG_STICKY_NONE)
		sticky_target(s, &h);
	s->ex->head_out = conn_pool_get(&s->pw->bufs);
	if (!s->ex->head_out || build_request_head(s, &h, trace_in, s->ex->head_out) < 0) {
		exchange_fail(s, EXCH_INTERNAL_ERROR);
		respond(s, 503, NULL, NULL, 0, 1);
		return;
	}
	evbuffer_drain(in, head_len);

	/* retry budget: every request earns a share of a retry */
	s->pw->retry_tokens += cfg->limits.retry_budget_ratio;
	if (s->pw->retry_tokens > 100.0)
		s->pw->retry_tokens = 100.0;

	s->ex->pick.worker = w->id;
	dispatch(s);
}

/* Send the request to a target: pick one (never one it tried), take a
 * pooled or new connection, queue the head and what there is of the body. */
static void dispatch(struct session *s)
{
	if (!s->target) {
		s->target = tg_pick(s->tg, &s->ex->pick);
		if (!s->target) {
			/* a retry finds no other target: the failure that
			 * caused it is the outcome */
			int retry = s->ex->pick.ntried > 0;
			exchange_fail(s, retry ? s->ex->last_failure : EXCH_NO_TARGET);
			respond(s, retry ? 502 : 503, NULL, NULL, 0, 0);
			return;
		}
	}
	s->ex->target = s->target;
	s->ex->t_first_byte = 0;
	int reused = 0;
	s->up = s->ex->resent ? upstream_connect(&s->pw->pool, s->w->base, s->target, s->tg->tls)
			  : upstream_get(&s->pw->pool, s->w->base, s->target, s->tg->tls, &reused);
	if (!s->up) {
		log_warn("target %s: cannot create a socket trace=" EXCHANGE_TRACE_FMT, s->target->st->addr.text,
			 EXCHANGE_TRACE_ARGS(s->ex));
		exchange_fail(s, EXCH_INTERNAL_ERROR);
		respond(s, 502, NULL, NULL, 0, 0);
		return;
	}
	s->ex->up_reused = reused;
	http1_scan_reset(&s->ex->uscan);
	struct conn *uc = s->up->c;
	conn_setcb(uc, up_cb, s);
	resp_room(s);
	uc->low_mark = high_mark(s) / 2;
	conn_read(uc, 1);

	size_t hl = evbuffer_get_length(s->ex->head_out);
	evbuffer_add(uc->out, evbuffer_pullup(s->ex->head_out, -1), hl);
	s->ex->up_queued = hl;
	if (reused || s->up->connected) {
		s->ex->t_sent = worker_now(s->w);
		timer_set(s, T_RESPONSE, s->tgcfg->response_timeout_ms);
	} else
		timer_set(s, T_CONNECT, s->tgcfg->connect_timeout_ms);
	if (s->client_paused) {
		s->client_paused = 0;
		conn_read(s->c, 1);
	}
	forward_request_body(s);
	if (!s->dead && s->up)
		conn_flush(s->up->c);
}

/* The attempt on s->up failed before any response byte came back. Resend
 * the request when that is safe, else answer 502 (or 504 for TIMEOUT). */
static void attempt_failed(struct session *s, int connect_failed, int timeout, const char *why)
{
	const struct target *failed = s->target;
	int replayable = !s->ex->body_moved;
	int nothing_sent = s->up && evbuffer_get_length(s->up->c->out) >= s->ex->up_queued;

	log_debug("target %s: %s trace=" EXCHANGE_TRACE_FMT, failed ? failed->st->addr.text : "?", why,
		  EXCHANGE_TRACE_ARGS(s->ex));
	if (connect_failed)
		count_target_error(s, failed,
				   s->up && s->up->c->tls_failed ? M_TARGET_TLS_NEGOTIATION_ERROR_COUNT
								  : M_TARGET_CONNECTION_ERROR_COUNT);
	upstream_close(s->up);
	s->up = NULL;
	s->ex->last_failure = timeout ? (connect_failed ? EXCH_TARGET_CONNECTION_TIMEOUT : EXCH_TARGET_RESPONSE_TIMEOUT)
			   : connect_failed ? EXCH_TARGET_CONNECTION_ERROR : EXCH_TARGET_CLOSED;
	/* A fresh connection that failed says something about the target
	 * (passive health); a pooled one the target had closed does not. */
	if (failed && !s->ex->up_reused)
		tg_passive_failure(failed, s->tgcfg->health_check.enabled ? s->tgcfg->health_check.passive_failures : 0);

	/* A pooled connection the target had closed: resend once on a fresh
	 * connection to the same target. Not charged to the retry budget: it
	 * says nothing about the target's health. */
	if (s->ex->up_reused && !s->ex->resent && replayable && (nothing_sent || s->ex->idempotent)) {
		s->ex->resent = 1;
		s->ex->resends++;
		if (!nothing_sent && failed && s->ex->nresent_on < EXCHANGE_RESENT_MAX)
			s->ex->resent_on[s->ex->nresent_on++] = failed;
		dispatch(s);
		return;
	}
	/* A connection that could not be made, or a fresh one that the target
	 * reset or closed before any byte of its answer (it died with the
	 * request): one retry on another target, for idempotent requests,
	 * within the budget. */
	if ((connect_failed || !s->ex->up_reused) && !s->ex->retries && replayable && s->ex->idempotent &&
	    s->pw->retry_tokens >= 1.0 && s->tg->ntargets > 1) {
		s->ex->resent = 0;
		s->ex->retries++;
		s->pw->retry_tokens -= 1.0;
		tg_release(s->target);
		s->target = NULL;
		pick_req_tried(&s->ex->pick, failed);
		dispatch(s);
		return;
	}
	log_info("target %s: %s, answering %d trace=" EXCHANGE_TRACE_FMT, failed ? failed->st->addr.text : "?", why,
		 timeout ? 504 : 502, EXCHANGE_TRACE_ARGS(s->ex));
	exchange_fail(s, s->ex->last_failure);
	respond(s, timeout ? 504 : 502, NULL, NULL, 0, 0);
}

/* response side ---------------------------------------------------------- */

/* The client's response head up to albd's framing: status line and the
 * target's fields minus the hop-by-hop ones and the stickiness cookies
 * albd writes itself. */
static void put_response_fields(const struct http1_head *h, const char *const *sticky, unsigned nsticky,
				struct wbuf *b)
{
	WBUF_LIT(b, "HTTP/1.1 ");
	wbuf_u64(b, (uint64_t)h->status);
	WBUF_LIT(b, " ");
	if (h->reason_len)
		wbuf_add(b, h->reason, h->reason_len);
	else
		wbuf_str(b, http1_reason(h->status));
	WBUF_LIT(b, "\r\n");
	for (size_t i = 0; i < h->nhdrs; i++) {
		const struct http1_header *f = &h->hdrs[i];
		if (nsticky && sticky_owned(f, sticky, nsticky))
			continue;
		if (http1_is_hop_by_hop(h, f)) {
			/* a HEAD or 304 answer keeps the length it announces */
			if (h->body == HTTP1_BODY_NONE && h->status >= 200 && h->status != 204 &&
			    f->name_len == 14 && http1_name_is(f, "content-length")) {
				WBUF_LIT(b, "Content-Length: ");
				wbuf_add(b, f->value, f->value_len);
				WBUF_LIT(b, "\r\n");
			}
			continue;
		}
		wbuf_add(b, f->name, f->name_len);
		WBUF_LIT(b, ": ");
		wbuf_add(b, f->value, f->value_len);
		WBUF_LIT(b, "\r\n");
	}
}

/* albd's own framing of the client's response and the empty line. */
static void put_response_framing(const struct session *s, const struct http1_head *h, int out_chunked, int keep,
				 struct wbuf *b)
{
	if (h->body == HTTP1_BODY_LENGTH) {
		WBUF_LIT(b, "Content-Length: ");
		wbuf_u64(b, h->content_length);
		WBUF_LIT(b, "\r\n");
	} else if (out_chunked)
		WBUF_LIT(b, "Transfer-Encoding: chunked\r\n");
	if (!keep)
		WBUF_LIT(b, "Connection: close\r\n");
	else if (s->ex->http10)
		WBUF_LIT(b, "Connection: keep-alive\r\n");
	WBUF_LIT(b, "\r\n");
}

/* Returns -1 (out of memory) when the head could not be written whole. */
static int write_response_head(struct session *s, const struct http1_head *h)
{
	struct evbuffer *out = s->c->out;
	int keep;

	/* How the body reaches the client (RFC 9112 6.3, 7) */
	int out_chunked = 0;
	if ((h->body == HTTP1_BODY_CHUNKED || h->body == HTTP1_BODY_EOF)) {
		if (s->ex->http10)
			s->ex->close_after = 1;   /* close-delimited for HTTP/1.0 */
		else
			out_chunked = 1;
	}
	if (!s->ex->reqb.done)
		s->ex->close_after = 1;           /* answered before the request was read in full */
	if (client_finished(s))
		s->ex->close_after = 1;           /* the client half-closed after this request */
	keep = s->ex->req_keepalive && !s->ex->close_after && !s->w->stopping;
	if (!keep)
		s->ex->close_after = 1;

	size_t before = evbuffer_get_length(out);
	const char *sticky[4];
	unsigned nsticky = s->ex->sticky_group || s->tgcfg->stickiness.type != CFG_STICKY_NONE
				   ? sticky_names(s, h, sticky) : 0;
	struct evbuffer_iovec v;
	struct wbuf b;
	/* in one piece (net/wbuf.h), or two around the stickiness cookies */
	for (size_t want = h->head_len + 256;; want *= 2) {
		if (wbuf_begin(&b, out, want, &v) < 0)
			return -1;
		put_response_fields(h, sticky, nsticky, &b);
		if (!nsticky)
			put_response_framing(s, h, out_chunked, keep, &b);
		if (wbuf_end(&b, out, &v) == 0)
			break;
	}
	if (nsticky) {
		write_sticky_cookies(s, sticky, nsticky, out);
		for (size_t want = 128;; want *= 2) {
			if (wbuf_begin(&b, out, want, &v) < 0)
				return -1;
			put_response_framing(s, h, out_chunked, keep, &b);
			if (wbuf_end(&b, out, &v) == 0)
				break;
		}
	}
	http1_body_init(&s->ex->respb, h->body, h->content_length, out_chunked);
	s->ex->status = s->ex->target_status = h->status;
	s->ex->bytes_out += evbuffer_get_length(out) - before;
	s->ex->resp_started = 1;
	return 0;
}

static void forward_response_body(struct session *s)
{
	struct evbuffer *out = s->c->out;
	size_t avail = evbuffer_get_length(s->up->c->in);

	if (http1_body_move(&s->ex->respb, s->up->c->in, out, 0) < 0) {
		log_info("target %s: invalid response body framing trace=" EXCHANGE_TRACE_FMT, s->target->st->addr.text,
			 EXCHANGE_TRACE_ARGS(s->ex));
		session_close(s, EXCH_TARGET_RESPONSE_ERROR);   /* the client sees a truncated response */
		return;
	}
	timer_touch(s, s->cfg->timeouts.idle_ms);
	conn_flush(s->c);
	/* A client that took a window's worth at once, and whose receive
	 * window let the kernel send nearly all of it, reads as fast as albd
	 * sends: grow its window (never backing up, it would never be
	 * drained slowly or quickly below). A slow reader's socket buffer
	 * takes the first bytes too, but they stay unsent. Also on a
	 * response's last bytes: small responses are read whole at once. */
	size_t mark = resp_mark(s);
	if (mark < high_mark(s) && evbuffer_get_length(out) == 0 &&
	    2 * (avail - evbuffer_get_length(s->up->c->in)) >= mark && conn_unsent(s->c) < mark / 4) {
		s->win = 2 * mark;
		resp_room(s);
	}
	if (s->ex->respb.done) {
		exchange_done(s);
		return;
	}
	/* backpressure from the client first: no more from the target while
	 * what the client has not taken fills the window */
	if (evbuffer_get_length(out) >= resp_mark(s)) {
		conn_read(s->up->c, 0);
		s->up_paused = 1;
		s->up_paused_ms = clock_ms();
	}
}

/* The target agreed to switch protocols (101): relay its answer, then move
 * bytes both ways untouched until either side closes. */
static void start_tunnel(struct session *s, const struct http1_head *h, size_t head_len)
{
	struct evbuffer *out = s->c->out;
	size_t before = evbuffer_get_length(out);

	const char *sticky[4];
	unsigned nsticky = s->ex->sticky_group || s->tgcfg->stickiness.type != CFG_STICKY_NONE
				   ? sticky_names(s, h, sticky) : 0;

	evbuffer_add(out, "HTTP/1.1 101 Switching Protocols\r\n", 34);
	for (size_t i = 0; i < h->nhdrs; i++) {
		const struct http1_header *f = &h->hdrs[i];
		if (http1_is_hop_by_hop(h, f) || (nsticky && sticky_owned(f, sticky, nsticky)))
			continue;
		evbuffer_add(out, f->name, f->name_len);
		evbuffer_add(out, ": ", 2);
		evbuffer_add(out, f->value, f->value_len);
		evbuffer_add(out, "\r\n", 2);
	}
	/* a WebSocket client that reconnects comes back to the same target */
	if (nsticky)
		write_sticky_cookies(s, sticky, nsticky, out);
	evbuffer_add(out, "Connection: upgrade\r\n", 21);
	if (h->upgrade) {
		evbuffer_add(out, "Upgrade: ", 9);
		evbuffer_add(out, h->upgrade, h->upgrade_len);
		evbuffer_add(out, "\r\n", 2);
	}
	evbuffer_add(out, "\r\n", 2);
	evbuffer_drain(s->up->c->in, head_len);
	s->ex->status = s->ex->target_status = 101;
	s->ex->bytes_out += evbuffer_get_length(out) - before;
	s->ex->tunnel = 1;
	s->ex->resp_started = 1;
	s->ex->up_keepalive = 0;
	s->ex->close_after = 1;
	http1_body_init(&s->ex->reqb, HTTP1_BODY_EOF, 0, 0);
	http1_body_init(&s->ex->respb, HTTP1_BODY_EOF, 0, 0);
	timer_set(s, T_IDLE, s->cfg->timeouts.idle_ms);
	conn_read(s->c, 1);
	forward_request_body(s);
	if (!s->dead && s->up)
		forward_response_body(s);
}

/* Read response heads until the final one. Returns 0 when more input is
 * needed or the body can start, -1 when the session moved on. */
static int read_response_head(struct session *s)
{
	struct evbuffer *ui = s->up->c->in;
	const struct albd_config *cfg = s->cfg;
	const struct http1_limits lim = { cfg->limits.max_header_size, cfg->limits.max_header_size,
					  cfg->limits.max_headers, 0, 0 };
	struct http1_head h;
	size_t head_len;

	for (;;) {
		enum http1_status st = http1_scan_head(ui, 0, &lim, &s->ex->uscan, &head_len);
		if (st == HTTP1_INCOMPLETE) {
			/* a head larger than the window: room for the largest */
			if (evbuffer_get_length(ui) >= s->up->c->read_max)
				s->up->c->read_max = cfg->limits.max_header_size + 16;
			return 0;
		}
		h.hdrs = s->pw->hdrs;
		if (st == HTTP1_OK)
			st = http1_parse_head((const char *)evbuffer_pullup(ui, (ssize_t)head_len), head_len, 0,
					      s->ex->is_head, &lim, &h);
		if (st == HTTP1_OK && h.status == 101 && s->ex->upgrade_req) {
			start_tunnel(s, &h, head_len);
			return -1;
		}
		if (st != HTTP1_OK || h.status == 101) {
			log_info("target %s: invalid response head, answering 502 trace=" EXCHANGE_TRACE_FMT,
				 s->target->st->addr.text, EXCHANGE_TRACE_ARGS(s->ex));
			upstream_close(s->up);
			s->up = NULL;
			exchange_fail(s, EXCH_TARGET_RESPONSE_ERROR);
			respond(s, 502, NULL, NULL, 0, 0);
			return -1;
		}
		if (h.status < 200) {
			/* interim responses: 100 goes to a client that asked for it */
			if (h.status == 100 && s->ex->expect_continue) {
				evbuffer_add(s->c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				s->ex->bytes_out += 25;
				conn_flush(s->c);
				s->ex->expect_continue = 0;
			}
			evbuffer_drain(ui, head_len);
			http1_scan_reset(&s->ex->uscan);
			/* TargetResponseTime runs to the final head: it starts
			 * with what follows, in this read or a later one */
			s->ex->t_first_byte = evbuffer_get_length(ui) ? worker_now(s->w) : 0;
			continue;
		}
		s->ex->up_keepalive = h.keep_alive && !s->ex->desync_close;
		tg_passive_success(s->target);
		if (write_response_head(s, &h) < 0) {
			/* what part of the head went out is no answer: close */
			log_warn("out of memory writing a response head; closing the connection trace=" EXCHANGE_TRACE_FMT,
				 EXCHANGE_TRACE_ARGS(s->ex));
			upstream_close(s->up);
			s->up = NULL;
			session_close(s, EXCH_INTERNAL_ERROR);
			return -1;
		}
		evbuffer_drain(ui, head_len);
		resp_room(s);   /* back to the window after a large head */
		timer_set(s, T_IDLE, cfg->timeouts.idle_ms);
		return 0;
	}
}

/* Response bytes came. t_first_byte: when the final response head (not
 * an interim 1xx one; 101 is final) began to arrive, the end of
 * TargetResponseTime (ALB: "until the target starts to send the response
 * headers"); read_response_head() takes it back after an interim head. */
static void up_read(struct session *s)
{
	if (!s->ex->t_first_byte)
		s->ex->t_first_byte = worker_now(s->w);
	if (!s->ex->resp_started && read_response_head(s) < 0)
		return;
	if (s->ex->resp_started && !s->dead && s->up)
		forward_response_body(s);
}

/* The upstream output drained: take more request body from the client. */
static void up_drained(struct session *s)
{
	if (s->client_paused) {
		s->client_paused = 0;
		conn_read(s->c, 1);
		forward_request_body(s);
	}
}

static void up_connected(struct session *s)
{
	s->up->connected = 1;
	s->ex->t_sent = worker_now(s->w);   /* the head goes out now */
	if (s->tkind == T_CONNECT)
		timer_set(s, T_RESPONSE, s->tgcfg->response_timeout_ms);
}

static void up_closed(struct session *s, enum conn_event ev)
{
	if (!s->up->connected) {
		attempt_failed(s, 1, 0, "connection failed");
		return;
	}
	if (!s->ex->resp_started) {
		attempt_failed(s, 0, 0, ev == CONN_EOF ? "closed before responding" : "connection error before responding");
		return;
	}
	if (ev == CONN_EOF && s->ex->respb.mode == HTTP1_BODY_EOF) {
		/* the body ends with the connection */
		http1_body_eof(&s->ex->respb, s->c->out);
		s->ex->up_keepalive = 0;
		exchange_done(s);
		return;
	}
	log_info("target %s: connection lost mid-response trace=" EXCHANGE_TRACE_FMT, s->target->st->addr.text,
		 EXCHANGE_TRACE_ARGS(s->ex));
	session_close(s, EXCH_TARGET_CLOSED);
}

static void up_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct session *s = arg;

	worker_clock_tick(s->w);
	hold(s);
	switch (ev) {
	case CONN_READ:
		up_read(s);
		break;
	case CONN_DRAINED:
		up_drained(s);
		break;
	case CONN_CONNECTED:
		up_connected(s);
		break;
	case CONN_EOF:
	case CONN_ERROR:
		up_closed(s, ev);
		break;
	}
	idle_park(s);
	unhold(s);
}

/* client side ------------------------------------------------------------- */

/* Handle what the client sent: start the next request when its head is
 * complete. Loops rather than recursing, so that many pipelined requests
 * answered at once do not grow the stack. After a half-close (rd_eof)
 * the connection closes, once its answers are out, when no complete head
 * is left: a partial one is dropped, neither answered nor counted. */
static void process_input(struct session *s)
{
	struct evbuffer *in = s->c->in;
	int waiting = 0;

	s->processing = 1;
	while (!s->dead && (s->state == S_IDLE || s->state == S_HEAD) && evbuffer_get_length(in)) {
		const struct albd_config *cfg = s->w->cur->gen->cfg;
		if (evbuffer_get_length(s->c->out) >= cfg->limits.buffer_size) {
			/* the client is not reading its answers: wait for it */
			conn_read(s->c, 0);
			waiting = 1;
			break;
		}
		if (s->state == S_IDLE) {
			s->state = S_HEAD;
			http1_scan_reset(&s->scan);
			timer_set(s, T_HEAD, cfg->timeouts.client_header_ms);
		}
		const struct http1_limits lim = { cfg->limits.max_request_line, cfg->limits.max_header_size,
						  cfg->limits.max_headers, 0, 1 };
		size_t head_len;
		enum http1_status st = http1_scan_head(in, 1, &lim, &s->scan, &head_len);
		if (st == HTTP1_INCOMPLETE)
			break;
		if (st != HTTP1_OK) {
			/* a head albd cannot read is a request all the same */
			s->state = S_EXCHANGE;
			if (exchange_begin(s) < 0)
				break;
			http1_body_init(&s->ex->reqb, HTTP1_BODY_NONE, 0, 0);
			/* its bytes: all that came since it began (ProcessedBytes) */
			s->ex->bytes_in = evbuffer_get_length(in);
			if (st == HTTP1_BAD)
				desync_scan_bad(s);
			exchange_fail(s, EXCH_CLIENT_BAD_REQUEST);
			respond(s, status_of(st), NULL, NULL, 0, 1);
			break;
		}
		start_request(s, head_len);
	}
	s->processing = 0;
	if (!s->dead && s->rd_eof && !waiting && (s->state == S_IDLE || s->state == S_HEAD)) {
		timer_clear(s);
		close_after_output(s);
	}
	if (!s->dead)
		conn_flush(s->c);
}

static void client_read(struct session *s)
{
	if (s->hs_wg) {
		/* data: the handshake is over, its callbacks are done with */
		worker_gen_release(s->w, s->hs_wg);
		s->hs_wg = NULL;
	}
	switch (s->state) {
	case S_IDLE:
	case S_HEAD:
		process_input(s);
		break;
	case S_EXCHANGE:
		forward_request_body(s);
		break;
	case S_CLOSING:
	case S_LINGER:
		evbuffer_drain(s->c->in, evbuffer_get_length(s->c->in));
		break;
	}
}

static void client_drained(struct session *s)
{
	if (s->state == S_CLOSING) {
		if (evbuffer_get_length(s->c->out) == 0)
			flushed(s);
	} else if (s->state == S_EXCHANGE && s->up_paused && s->up) {
		s->up_paused = 0;
		/* half the window went out: quickly, grow it; slowly, shrink it */
		uint64_t took = clock_ms() - s->up_paused_ms;
		if (took <= WIN_FAST_MS)
			s->win = resp_mark(s) < high_mark(s) ? resp_mark(s) * 2 : high_mark(s);
		else if (took > WIN_SLOW_MS)
			s->win = WIN_MIN;
		resp_room(s);
		conn_read(s->up->c, 1);
	} else if ((s->state == S_IDLE || s->state == S_HEAD) && !s->c->reading) {
		/* process_input() stopped at buffer_size of answers the client
		 * had not taken: there is room again. Go on with the requests
		 * already in c->in (conn_read() only reads the socket, which
		 * may hold nothing more: they would wait for a byte or a timer,
		 * and client_keepalive closes the connection under them), then
		 * read what the socket still holds, within read_max. */
		conn_read(s->c, 1);
		process_input(s);
	}
}

static void client_closed(struct session *s, enum conn_event ev)
{
	if (ev == CONN_EOF && s->ex && s->ex->tunnel && s->up && !s->ex->reqb.done) {
		/* pass the half-close on; the tunnel ends when the target
		 * closes too */
		http1_body_eof(&s->ex->reqb, s->up->c->out);
		conn_flush(s->up->c);
		if (evbuffer_get_length(s->up->c->out) == 0)
			conn_shutdown_write(s->up->c);
		return;
	}
	if (ev == CONN_EOF && s->state == S_EXCHANGE && s->ex->reqb.done) {
		/* The client half-closed after a complete request: answer it
		 * and the complete ones it pipelined behind it (exchange_done()
		 * goes on to them), then close. */
		s->rd_eof = 1;
		if (client_finished(s)) {
			s->ex->close_after = 1;
			s->ex->req_keepalive = 0;
		}
		return;
	}
	if (ev == CONN_EOF && s->state == S_CLOSING)
		return;   /* the last response is still being flushed */
	if (ev == CONN_EOF && (s->state == S_IDLE || s->state == S_HEAD)) {
		/* A half-close between requests: the complete ones read before
		 * it (held while the client did not read its answers) are
		 * answered, the answers still queued go out, then the
		 * connection closes (process_input()). */
		s->rd_eof = 1;
		process_input(s);
		return;
	}
	/* ClientTLSNegotiationErrorCount, as ALB's: "TLS connections
	 * initiated by the client that did not establish a session"; one
	 * that closed without a byte (a port probe) initiated none */
	if (s->c->tls_failed && conn_tls_heard(s->c)) {
		shard_add(s->pw->lb, M_CLIENT_TLS_NEGOTIATION_ERROR_COUNT, 1);
		log_debug("client %s: TLS handshake failed", peer_str(s));
	}
	/* a switched connection ends when either side closes: that is how
	 * a tunnel finishes, not a failure */
	session_close(s, s->ex && s->ex->tunnel && ev == CONN_EOF ? EXCH_OK : EXCH_CLIENT_CLOSED);
}

/* A keep-alive session waiting for its next request holds no buffer: its
 * conn gives them to the worker's pool until the client sends again
 * (conn_park() checks that both are empty). Called as each event on the
 * session ends. */
static void idle_park(struct session *s)
{
	if (!s->dead && s->state == S_IDLE && !s->processing)
		conn_park(s->c, &s->pw->bufs);
}

static void client_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct session *s = arg;

	worker_clock_tick(s->w);
	hold(s);
	switch (ev) {
	case CONN_READ:
		client_read(s);
		break;
	case CONN_DRAINED:
		client_drained(s);
		break;
	case CONN_CONNECTED:
		break;
	case CONN_EOF:
	case CONN_ERROR:
		client_closed(s, ev);
		break;
	}
	idle_park(s);
	unhold(s);
}

/* S's node came up (and is out of the heap). */
static void timer_fire(struct session *s)
{
	enum tkind kind = s->tkind;

	if (kind == T_NONE)
		return;
	uint64_t now = clock_ms();
	if (now < s->deadline) {
		/* the deadline moved on since the node was set */
		theap_add(&s->pw->timers, &s->tn, s->deadline);
		return;
	}
	worker_clock_tick(s->w);
	hold(s);
	s->tkind = T_NONE;
	if (conn_unpark(s->c) < 0) {
		/* parked (idle, or nothing sent yet: no exchange) and no
		 * memory for an answer */
		session_close(s, EXCH_OK);
		unhold(s);
		return;
	}
	switch (kind) {
	case T_KEEPALIVE:
		session_close(s, EXCH_OK);   /* between requests: none is running */
		break;
	case T_HEAD:
		if (s->c->handshaking) {
			/* the TLS handshake never finished: no request began
			 * (an ALB logs none), and there is no channel for a
			 * 408 either; a failed negotiation if the client began
			 * one (sent a byte), closed quietly */
			if (conn_tls_heard(s->c))
				shard_add(s->pw->lb, M_CLIENT_TLS_NEGOTIATION_ERROR_COUNT, 1);
			log_debug("client %s: TLS handshake not finished within client_header", peer_str(s));
			session_close(s, EXCH_OK);
			break;
		}
		/* RFC 9110 15.5.9: 408, and the connection closes */
		s->state = S_EXCHANGE;
		if (exchange_begin(s) < 0)
			break;
		http1_body_init(&s->ex->reqb, HTTP1_BODY_NONE, 0, 0);
		s->ex->bytes_in = evbuffer_get_length(s->c->in);   /* the partial head */
		exchange_fail(s, EXCH_CLIENT_TIMEOUT);
		respond(s, 408, NULL, NULL, 0, 1);
		break;
	case T_CONNECT:
		attempt_failed(s, 1, 1, "connect timeout");
		break;
	case T_RESPONSE:
		if (!s->ex->reqb.done) {
			/* the client stopped sending its body */
			exchange_fail(s, EXCH_CLIENT_TIMEOUT);
			respond(s, 408, NULL, NULL, 0, 1);
			break;
		}
		log_info("target %s: no response within %u ms, answering 504 trace=" EXCHANGE_TRACE_FMT,
			 s->target->st->addr.text, s->tgcfg->response_timeout_ms, EXCHANGE_TRACE_ARGS(s->ex));
		upstream_close(s->up);
		s->up = NULL;
		exchange_fail(s, EXCH_TARGET_RESPONSE_TIMEOUT);
		respond(s, 504, NULL, NULL, 0, 0);
		break;
	case T_IDLE: {
		/* no byte moved either way for timeouts.idle, counting what the
		 * kernel still sends from albd's socket buffer: a client reading
		 * a large response slowly from it is not idle, though albd had
		 * nothing to write meanwhile (one that stopped reading is closed
		 * at the next expiry, when the queue has not moved) */
		size_t q = conn_outq(s->c);
		if (q && q != s->idle_outq) {
			s->idle_outq = q;
			timer_set(s, T_IDLE, cur_cfg(s)->timeouts.idle_ms);
			break;
		}
		/* a response cut short is worth a line (a tunnel's quiet end is
		 * not); T_IDLE runs only with an exchange, in S_EXCHANGE or in
		 * S_CLOSING with output left (else flushed() closed already).
		 * The queue was compared at the expiry before: no byte moved
		 * for between one and two idle timeouts */
		if (s->ex && !s->ex->tunnel)
			log_info("client %s: no byte moved for at least %u ms: closing with %zu bytes of the "
				 "response unsent (albd) and %zu in the socket trace=" EXCHANGE_TRACE_FMT, peer_str(s),
				 cur_cfg(s)->timeouts.idle_ms, evbuffer_get_length(s->c->out), q,
				 EXCHANGE_TRACE_ARGS(s->ex));
		session_close(s, s->ex && s->ex->tunnel ? EXCH_OK : EXCH_IDLE_TIMEOUT);
		break;
	}
	case T_LINGER:
		session_close(s, EXCH_OK);   /* the answer is out already */
		break;
	case T_NONE:
		break;
	}
	idle_park(s);
	unhold(s);
}

/* The worker's timer event: fire the nodes that are due, as many as the
 * heap held when it began (a node set again for now waits for the next
 * loop turn), then arm the event for the next. */
static void timers_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_worker *pw = arg;
	uint64_t now = clock_ms();
	uint32_t budget = pw->timers.n;
	struct theap_node *m;

	(void)fd;
	(void)what;
	pw->timer_armed = 0;
	while (budget-- && (m = theap_min(&pw->timers)) && m->at <= now) {
		theap_del(&pw->timers, m);
		timer_fire((struct session *)(void *)((char *)m - offsetof(struct session, tn)));
	}
	timers_arm(pw);
}

/* the handler -------------------------------------------------------------- */

/* An exchange for a request that begins: from the worker's free list (no
 * allocation per request), else malloc'd; NULL when out of memory. */
static struct exchange *ex_get(struct proxy_worker *pw)
{
	struct ex_free *f = pw->ex_free;
	if (!f)
		return malloc(sizeof(struct exchange));
	pw->ex_free = f->next;
	pw->nex_free--;
	return (struct exchange *)f;
}

/* Give back EX when its session waits for the next request or ends; the
 * free list keeps at most PROXY_EX_FREE_MAX, and none where libevent's
 * buffers are not pooled either (sanitizer builds, ALBD_MEMPOOL=0: a
 * memory checker must see every exchange freed). */
static void ex_put(struct proxy_worker *pw, struct exchange *ex)
{
	if (pw->nex_free >= PROXY_EX_FREE_MAX || !mempool_installed()) {
		free(ex);
		return;
	}
	struct ex_free *f = (struct ex_free *)(void *)ex;
	f->next = pw->ex_free;
	pw->ex_free = f;
	pw->nex_free++;
}

/* Take over the accepted socket FD from listening socket LS: a session,
 * speaking TLS when LS is an HTTPS listener of the current generation. */
static void p_accept(void *st, struct lsock *ls, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct proxy_worker *pw = st;
	struct worker *w = pw->w;
	SSL *ssl = NULL;

	/* HTTPS listener: a new SSL from the current generation's contexts */
	const struct albd_gen *g = w->cur->gen;
	for (size_t i = 0; i < g->cfg->nlisteners; i++) {
		if (g->lsocks[i] != ls)
			continue;
		if (g->tls[i] && !(ssl = tls_server_ssl(g->tls[i]))) {
			shard_add(pw->lb, M_REJECTED_CONNECTION_COUNT, 1);
			evutil_closesocket(fd);
			return;
		}
		break;
	}
	/* limits.per_client.max_connections: refused at once */
	const struct cfg_per_client *pc = &g->cfg->limits.per_client;
	int slot = pc->max_connections ? climit_slot(sa, clock_ms()) : -1;
	if (!climit_conn_open(slot, pc->max_connections)) {
		shard_add(pw->lb, M_CLIENT_LIMITED_CONNECTION_COUNT, 1);
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	struct session *s = calloc(1, sizeof(*s));
	if (!s) {
		climit_conn_close(slot);
		shard_add(pw->lb, M_REJECTED_CONNECTION_COUNT, 1);
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	s->climit = slot;
	/* its timer's room in the heap, so that timer_set() cannot fail */
	if (theap_reserve(&pw->timers, w->nconns + 1) < 0) {
		climit_conn_close(slot);
		shard_add(pw->lb, M_REJECTED_CONNECTION_COUNT, 1);
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(s);
		return;
	}
	s->c = conn_new(w->base, fd, &pw->bufs);
	if (!s->c) {
		climit_conn_close(slot);
		shard_add(pw->lb, M_REJECTED_CONNECTION_COUNT, 1);
		SSL_free(ssl);
		free(s);
		return;
	}
	if (ssl) {
		conn_tls(s->c, ssl, 0);
		s->https = 1;
		s->hs_wg = worker_gen_acquire(w);
	}
	/* TCP_NODELAY comes from the listening socket (gen.c) */
	s->w = w;
	s->pw = pw;
	s->ls = ls;
	lsock_ref(ls);
	if (salen > 0 && (size_t)salen <= sizeof(s->client_sa))
		memcpy(&s->client_sa, sa, (size_t)salen);
	s->next = pw->sessions;
	if (pw->sessions)
		pw->sessions->prev = s;
	pw->sessions = s;
	worker_conn_open(w);
	/* the client connections; upstream.c counts the target ones in the
	 * same two */
	shard_add(pw->lb, M_NEW_CONNECTION_COUNT, 1);
	shard_level_add(pw->lb, M_ACTIVE_CONNECTION_COUNT, 1);

	const struct albd_config *cfg = g->cfg;
	conn_setcb(s->c, client_cb, s);
	s->c->read_max = cfg->limits.buffer_size;
	if (s->c->read_max < cfg->limits.max_header_size + 16)
		s->c->read_max = cfg->limits.max_header_size + 16;
	s->c->low_mark = cfg->limits.buffer_size / 2;
	s->win = WIN_MIN;
	s->state = S_HEAD;
	http1_scan_reset(&s->scan);
	timer_set(s, T_HEAD, cfg->timeouts.client_header_ms);
}

/* Stopping: close idle sessions and idle upstream connections now; the
 * others finish their request and close after it. */
static void p_drain(void *st)
{
	struct proxy_worker *pw = st;
	struct session *s, *next;

	worker_clock_tick(pw->w);
	upstream_pool_purge(&pw->pool, 0);
	for (s = pw->sessions; s; s = next) {
		next = s->next;
		if (s->state == S_IDLE || (s->state == S_HEAD && (!s->c->in || evbuffer_get_length(s->c->in) == 0)))
			session_close(s, EXCH_OK);   /* no request is running on these */
	}
}

/* Once a second: expired pooled connections and spare buffers go, and
 * sessions whose target finished draining (deregistration_delay is over)
 * close. */
static void p_tick(void *st)
{
	struct proxy_worker *pw = st;
	struct session *s, *next;

	worker_clock_tick(pw->w);
	pw->epoch = (uint32_t)time(NULL);
	alog_publish(pw->w->id);   /* the writer gets this second's lines */
	upstream_pool_sweep(&pw->pool);
	conn_pool_trim(&pw->bufs);   /* what this second did not need */
	for (s = pw->sessions; s; s = next) {
		next = s->next;
		/* deregistration_delay is over for its target: close, as an
		 * ALB closes what is still running on a drained target */
		if (s->target && atomic_load_explicit(&s->target->st->drain_expired, memory_order_relaxed))
			session_close(s, EXCH_TARGET_DEREGISTERED);
	}
}

/* Close every session at once (the drain timeout ran out). */
static void p_close_all(void *st)
{
	struct proxy_worker *pw = st;
	struct session *s, *next;

	worker_clock_tick(pw->w);
	for (s = pw->sessions; s; s = next) {
		next = s->next;
		session_close(s, EXCH_SHUTDOWN);
	}
}

/* Grow the head-parsing scratch to G's max_headers, and let pooled
 * connections to targets G no longer names go. Returns -1 when memory is
 * short: the worker must then not move to G, whose heads the old array is
 * too small for. */
static int p_adopt(void *st, const struct albd_gen *g)
{
	struct proxy_worker *pw = st;
	unsigned want = g->cfg->limits.max_headers;

	if (pw->hdrs_cap < want) {
		struct http1_header *h = realloc(pw->hdrs, want * sizeof(*h));
		if (!h)
			return -1;
		pw->hdrs = h;
		pw->hdrs_cap = want;
	}
	upstream_pool_purge(&pw->pool, 0);
	/* the picks of G's weighted forwards start over; without memory
	 * they are random (pick_seq()) */
	size_t nl = g->cfg->nlisteners, n = 0;
	free(pw->fwd_seq);
	free(pw->fwd_off);
	pw->fwd_gen = NULL;
	pw->fwd_off = malloc((nl ? nl : 1) * sizeof(*pw->fwd_off));
	for (size_t i = 0; pw->fwd_off && i < nl; i++) {
		pw->fwd_off[i] = (uint32_t)n;
		n += g->cfg->listeners[i].nrules + 1;
	}
	pw->fwd_seq = calloc(n ? n : 1, sizeof(*pw->fwd_seq));
	if (pw->fwd_off && pw->fwd_seq)
		pw->fwd_gen = g;
	return 0;
}

static void *p_start(struct worker *w)
{
	struct proxy_worker *pw = calloc(1, sizeof(*pw));

	if (!pw)
		return NULL;
	pw->w = w;
	pw->pool.worker = w->id;
	if (!shard_lb() || w->id >= shard_control()) {
		free(pw);
		return NULL;
	}
	pw->lb = shard_block(shard_lb(), w->id);
	pw->pool.lb = pw->lb;
	pw->retry_tokens = RETRY_TOKENS_FLOOR;
	trace_rng_seed(&pw->trace_rng, w->id + 1u);
	pw->epoch = (uint32_t)time(NULL);
	event_assign(&pw->timer_ev, w->base, -1, 0, timers_cb, pw);
	return pw;
}

static void p_stop(void *st)
{
	struct proxy_worker *pw = st;

	upstream_pool_purge(&pw->pool, 1);
	event_del(&pw->timer_ev);
	theap_free(&pw->timers);
	alog_publish(pw->w->id);   /* the last lines, for alog_shutdown() */
	sticky_mac_free(pw->sticky);
	free(pw->fwd_seq);
	free(pw->fwd_off);
	free(pw->hdrs);
	free(pw->norm);
	conn_pool_clear(&pw->bufs);
	while (pw->ex_free) {
		struct ex_free *f = pw->ex_free;
		pw->ex_free = f->next;
		free(f);
	}
	pw->nex_free = 0;
	free(pw);
}

const struct worker_handler proxy_handler = {
	.start = p_start,
	.adopt = p_adopt,
	.accept = p_accept,
	.tick = p_tick,
	.drain = p_drain,
	.close_all = p_close_all,
	.stop = p_stop,
};
