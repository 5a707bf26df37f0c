/* router.h - listener rules: which action a request gets.
 *
 * Rules are evaluated in ascending priority; the first rule whose every
 * condition matches wins, else the listener's default action applies.
 * Thread: any; reads only the immutable config and the caller's buffers.
 */
#ifndef ALBD_ROUTER_H
#define ALBD_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"

struct router_action {
	const struct cfg_forward *forwards;   /* non-NULL: forward to one of these (weighted) */
	size_t nforwards;
	unsigned weight_total;
	const struct cfg_fixed_response *fixed; /* non-NULL: answer with this */
	const struct cfg_rule *rule;          /* the rule that matched, NULL for the default */
};

/* Match a request against L's rules. METHOD is the request method token,
 * HOST the Host header value (may include ":port", which is ignored; may be
 * NULL), PATH the request target (the query, from '?', is ignored).
 * Lengths are explicit: nothing needs to be NUL-terminated. Fills *out and
 * never fails (the default action always exists). */
void router_route(const struct cfg_listener *l, const char *method, size_t method_len,
		  const char *host, size_t host_len, const char *path, size_t path_len,
		  struct router_action *out);

/* Choose one of a forward action's target groups, weighted: R is a random
 * number from the caller's generator. Entries with weight 0 are never
 * chosen. Returns the chosen entry. */
const struct cfg_forward *router_pick_forward(const struct router_action *a, uint32_t r);

/* Glob match: '*' matches any run (also empty), '?' exactly one character.
 * NOCASE compares ASCII letters case-insensitively. Returns 1 on match. */
int router_glob(const char *pat, const char *s, size_t len, int nocase);

#endif
