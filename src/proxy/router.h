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

/* A listener's rules compiled for matching (router.c): rules filed by
 * their literal host values in a hash table, the others in a generic
 * list. Immutable once built; shared by every worker. */
struct router_index;

/* Compile L's rules. L must outlive the index (both belong to one
 * generation). Returns the index, owned by the caller (free it with
 * router_index_free()), or NULL when out of memory.
 * Thread: any (the control thread, when it builds a generation). */
struct router_index *router_index_build(const struct cfg_listener *l);

/* Free IX (NULL: nothing). No request may be using it any more.
 * Thread: any (the control thread, when it frees a generation). */
void router_index_free(struct router_index *ix);

/* Match request RQ against the rules of IX's listener: the first rule (in
 * ascending priority) whose every condition matches, else the default.
 * Fills *out and never fails (the default action always exists); nothing
 * is allocated. *OUT points into the listener, which the caller keeps
 * alive (its generation). out->evaluated is the matched rule's position
 * (1-based) in the listener's rules, or their number for the default, as
 * a linear scan would count. Thread: any; IX is only read. */
void router_route(const struct router_index *ix, const struct route_req *rq, struct router_action *out);

/* The same answer as router_route(), found by trying every rule of L in
 * turn: the reference the index is tested against. Thread: any. */
void router_route_linear(const struct cfg_listener *l, const struct route_req *rq,
			 struct router_action *out);

/* Choose one of a forward action's target groups, weighted: R is a random
 * number from the caller's generator. Entries with weight 0 are never
 * chosen. Returns the chosen entry (inside A's action), or NULL if A's
 * action is not a forward. Thread: any. */
const struct cfg_forward *router_pick_forward(const struct router_action *a, uint32_t r);

/* The R for router_pick_forward() of the Nth pick (0, 1, ...) of a forward
 * whose weights add up to TOTAL: N times the golden ratio, modulo 1, scaled
 * to [0, TOTAL) (a Weyl sequence). Over any N picks each group gets its
 * share within a few picks, spread out, not in runs. Thread: any. */
uint32_t router_spread(uint32_t n, unsigned total);

/* Glob match: '*' matches any run (also empty), '?' exactly one character.
 * NOCASE compares ASCII letters case-insensitively. Returns 1 on match. */
int router_glob(const char *pat, const char *s, size_t len, int nocase);

#endif
