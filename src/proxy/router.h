/* router.h - listener rules: which action a request gets.
 *
 * Rules are evaluated in ascending priority; the first rule whose every
 * condition matches wins, else the listener's default action applies.
 * Matching allocates nothing: paths are compared with their percent-encoded
 * unreserved characters decoded, query keys and values fully decoded, as
 * they are read.
 * Thread: any; reads only the immutable config and the caller's buffers.
 */
#ifndef ALBD_ROUTER_H
#define ALBD_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "../core/config.h"
#include "../net/http1.h"

/* What rules look at: the request, as the session has parsed it. Lengths
 * are explicit: nothing needs to be NUL-terminated. */
struct route_req {
	const char *method; size_t method_len;
	const char *host; size_t host_len;      /* Host (or the absolute-form authority), may include
	                                         * ":port" (ignored); NULL: none */
	const char *path; size_t path_len;      /* the path; a query from '?' on is the query
	                                         * when QUERY is NULL */
	const char *query; size_t query_len;    /* what follows '?', without it; NULL: none (or
	                                         * in the path) */
	const struct http1_header *hdrs; size_t nhdrs;  /* the request's fields, in order */
	const struct sockaddr *client;          /* the client's address (not X-Forwarded-For); may be NULL */
};

/* What router_route() chose: the action, and the rule it came from. */
struct router_action {
	const struct cfg_action *action;  /* never NULL: the rule's, or the listener's default */
	const struct cfg_rule *rule;      /* the rule that matched, NULL for the default */
	unsigned evaluated;               /* rules evaluated (RuleEvaluations) */
};

/* Match request RQ against L's rules. Fills *out and never fails (the
 * default action always exists). *OUT points into L, which the caller
 * keeps alive (its generation). Thread: any. */
void router_route(const struct cfg_listener *l, const struct route_req *rq, struct router_action *out);

/* Choose one of a forward action's target groups, weighted: R is a random
 * number from the caller's generator. Entries with weight 0 are never
 * chosen. Returns the chosen entry (inside A's action), or NULL if A's
 * action is not a forward. Thread: any. */
const struct cfg_forward *router_pick_forward(const struct router_action *a, uint32_t r);

/* Glob match: '*' matches any run (also empty), '?' exactly one character.
 * NOCASE compares ASCII letters case-insensitively. Returns 1 on match. */
int router_glob(const char *pat, const char *s, size_t len, int nocase);

#endif
