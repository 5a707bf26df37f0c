/* exchange.h - one request and its response, as metrics and access logs
 * see it.
 *
 * A session (proxy.c) takes a struct exchange from its worker's free list
 * and zeroes it when a request begins (its head is complete, or albd
 * answers a head it could not read), fills it as the request goes: times,
 * statuses, the target, bytes, the outcome, and gives it back when the
 * connection waits for its next request (an idle connection holds none).
 * Every request ends through exactly one exchange_end() in proxy.c,
 * however it ends: answered in full, client gone, target lost, a timeout,
 * the drain or the close-all at shutdown. That is the one place where the
 * request is counted (and, later, logged).
 *
 * Times are nanoseconds of the worker's clock (worker_now(): CLOCK_MONOTONIC,
 * read once per event callback), fine enough for latency percentiles.
 * Thread: an exchange belongs to the worker of its session.
 */
#ifndef ALBD_EXCHANGE_H
#define ALBD_EXCHANGE_H

#include <stdint.h>
#include <sys/socket.h>

#include "../net/http1.h"
#include "target_group.h"
#include "trace.h"

struct cfg_listener;
struct evbuffer;
struct cfg_rule;
struct cfg_target_group;

/* How a request ended, in the words of ALB's access log error_reason where
 * ALB has one (TargetConnectionError, TargetResponseTimeout, ...) and in
 * the same style where it has none. EXCH_OK ("-") is a complete answer,
 * whoever produced it; a target's own 5xx is EXCH_OK too. */
#define EXCHANGE_OUTCOMES(X)                                                                         \
	X(EXCH_OK, "-")                                                                              \
	X(EXCH_TARGET_CONNECTION_ERROR, "TargetConnectionError")     /* refused, reset, unreachable */ \
	X(EXCH_TARGET_CONNECTION_TIMEOUT, "TargetConnectionTimeout") /* connect_timeout ran out */     \
	X(EXCH_TARGET_RESPONSE_TIMEOUT, "TargetResponseTimeout")     /* response_timeout ran out */    \
	X(EXCH_TARGET_RESPONSE_ERROR, "TargetResponseError")         /* malformed response */          \
	X(EXCH_TARGET_CLOSED, "TargetConnectionClosed")              /* closed before/while answering */ \
	X(EXCH_TARGET_DEREGISTERED, "TargetDeregistered")            /* deregistration delay over */   \
	X(EXCH_NO_TARGET, "NoHealthyTarget")                         /* nothing to forward to (503) */ \
	X(EXCH_CLIENT_BAD_REQUEST, "ClientBadRequest")               /* 400, 414, 431, 501 */          \
	X(EXCH_CLIENT_BODY_TOO_LARGE, "ClientBodyTooLarge")          /* 413 */                         \
	X(EXCH_CLIENT_TIMEOUT, "ClientTimeout")                      /* 408: head or body too slow */  \
	X(EXCH_CLIENT_CLOSED, "ClientClosed")                        /* the client left first */       \
	X(EXCH_IDLE_TIMEOUT, "IdleTimeout")                          /* no byte either way */          \
	X(EXCH_LISTENER_REMOVED, "ListenerRemoved")                  /* removed by a reload (503) */   \
	X(EXCH_SHUTDOWN, "ShuttingDown")                             /* drain timeout at stop */       \
	X(EXCH_INTERNAL_ERROR, "InternalError")                      /* out of memory, no socket */

enum exchange_outcome {
#define X(e, s) e,
	EXCHANGE_OUTCOMES(X)
#undef X
	EXCH_NOUTCOMES
};

/* ALB's spelling of OUTCOME ("-" for EXCH_OK). Thread: any. */
const char *exchange_outcome_name(enum exchange_outcome outcome);

#define EXCHANGE_RESENT_MAX 2   /* one resend per target, at most one retry */

struct exchange {
	unsigned active : 1;          /* begun and not ended: exchange_end() has work to do */
	unsigned by_albd : 1;         /* albd made the response (an error, a fixed response,
	                               * a redirect) */
	/* request state the session reads while the exchange runs */
	unsigned req_keepalive : 1;   /* the client allows another request */
	unsigned http10 : 1;
	unsigned is_head : 1;
	unsigned idempotent : 1;
	unsigned expect_continue : 1;
	unsigned body_moved : 1;      /* request body bytes left the client buffer */
	unsigned resp_started : 1;    /* the final response head went to the client */
	unsigned up_keepalive : 1;    /* the upstream connection may be reused */
	unsigned close_after : 1;     /* close the client connection after this response */
	unsigned resent : 1;          /* the one resend on a fresh connection is used */
	unsigned upgrade_req : 1;     /* the client asked to switch protocols */
	unsigned tunnel : 1;          /* switched (101): bytes flow both ways untouched */
	unsigned fixed : 1;           /* answered by a fixed-response action */
	unsigned redirect : 1;        /* answered by a redirect action */
	unsigned sticky_app_in : 1;   /* the request carried the group's app_cookie */
	unsigned desync_close : 1;    /* the desync policy closes both connections after it */
	unsigned char desync_class;   /* enum desync_class of the request head (net/desync.h) */
	unsigned char desync_reason;  /* enum desync_reason */
	struct pick_req pick;         /* what the balancer is asked: worker, targets tried */

	/* the record */
	enum exchange_outcome outcome;  /* the first failure seen; EXCH_OK when none */
	enum exchange_outcome last_failure; /* why the last attempt on a target failed (it may
	                                     * have been retried: not the outcome by itself) */
	uint64_t t_start;             /* ns: the request head was complete */
	uint64_t t_sent;              /* ns: the request went to the (last) target */
	uint64_t t_first_byte;        /* ns: that target's final response head began (an
	                               * interim 1xx one does not count), 0: none */
	uint64_t t_end;               /* ns: exchange_end() */
	int status;                   /* status sent to the client, 0: none (aborted first) */
	int target_status;            /* the target's final status, 0: none */
	unsigned retries;             /* other targets tried after a failure (one at most today) */
	unsigned resends;             /* fresh connections after a stale pooled one */
	unsigned nresent_on;
	const struct target *resent_on[EXCHANGE_RESENT_MAX];  /* resends after bytes of the request
	                                       * had gone out on the pooled connection: the target
	                                       * may have run it twice (the access log lists it twice) */
	unsigned rule_evals;          /* listener rules evaluated to route it */

	uint64_t bytes_in;            /* from the client: head and body payload */
	uint64_t bytes_out;           /* to the client: head and body payload */
	const struct sockaddr *client;        /* the client's address (the session's) */
	const struct cfg_listener *listener;  /* NULL until routed, or when removed */
	const struct cfg_rule *rule;          /* the matched rule, NULL: default action */
	const struct cfg_target_group *tg;    /* forwarded to this group, or NULL */
	const struct cfg_action *sticky_group;  /* a forward with group stickiness (AWSALBTG goes
	                                         * out), or NULL */
	struct shard_entity *tg_ms;           /* that group's metrics (valid until exchange_end()) */
	const struct target *target;          /* the last target tried, or NULL; valid until
	                                       * exchange_end() returns */
	const char *tls_protocol;     /* "TLSv1.3" ...: OpenSSL's static strings, or NULL */
	const char *tls_cipher;
	char method[HTTP1_CUSTOM_METHOD_MAX + 1]; /* as received, NUL-terminated */
	char target_uri[256];         /* the request target as received (truncated) */
	char host[128];               /* Host (or the absolute-form authority), truncated */
	char trace_id[TRACE_ID_LEN + 1];   /* albd's id for it ("" when the listener's trace_id is
	                                    * off or the head was not read) */
	uint32_t trace_off, trace_len;     /* the X-Amzn-Trace-Id value the request was given, in
	                                    * head_out (trace_len 0: none kept); see exchange_trace() */

	/* the session's per-request transfer state (proxy.c), here so that a
	 * connection waiting for its next request holds none of it */
	struct http1_body reqb;       /* the request body, client -> target */
	struct http1_body respb;      /* the response body, target -> client */
	struct http1_scan uscan;      /* the target's response head, scanned as it arrives */
	struct evbuffer *head_out;    /* the upstream request head, kept for a resend */
	size_t up_queued;             /* bytes queued on the upstream for this attempt */
	int up_reused;                /* the upstream connection came from the pool */
	char *al_ua;                  /* access log: the request's User-Agent, its redirect's */
	size_t al_ua_len;             /* Location (malloc'd, only while the log is on; freed */
	char *al_loc;                 /* when the exchange ends) */
	size_t al_loc_len;
};

/* The X-Amzn-Trace-Id value EX's request was given: the one forwarded to
 * the target, byte for byte (the client's fields with albd's id, trace.h),
 * or for a request albd answered itself the one it would have forwarded.
 * It points into EX's head_out (valid until the exchange is released) and
 * is *LEN bytes, not NUL-terminated; NULL when the request has none (the
 * listener's trace_id off, the head not read, or no memory to keep it).
 * No allocation, no copy. Thread: the exchange's worker. */
const char *exchange_trace(const struct exchange *ex, size_t *len);

/* printf arguments for that value, "-" when there is none:
 * log_x("... trace=" EXCHANGE_TRACE_FMT, EXCHANGE_TRACE_ARGS(ex)). */
#define EXCHANGE_TRACE_FMT "%.*s"
#define EXCHANGE_TRACE_ARGS(ex) exchange_trace_len(ex), exchange_trace_text(ex)
int exchange_trace_len(const struct exchange *ex);
const char *exchange_trace_text(const struct exchange *ex);

#endif
