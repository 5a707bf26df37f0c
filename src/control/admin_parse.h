/* admin_parse.h - the admin listener's pure parsing: percent-decoding,
 * query strings, route matching. No state, no I/O: admin.c uses them on
 * every request, and tests/fuzz/fuzz_admin.c feeds them anything.
 * Thread: any. */
#ifndef ALBD_ADMIN_PARSE_H
#define ALBD_ADMIN_PARSE_H

#include <stddef.h>

#define ADMIN_MAX_PARAMS 256

struct admin_kv {
	char *name;
	char *value;
};

/* Percent-decode LEN bytes at S ('+' as a space when PLUS) into a new
 * string. NULL when malformed (a bad escape, a NUL) or out of memory. */
char *admin_decode(const char *s, size_t len, int plus);

/* Split the query Q (LEN bytes, without the '?') into *OUT (*N pairs,
 * decoded; empty parts skipped; a name without '=' has the value "").
 * Returns 0, or -1 when malformed, with more than ADMIN_MAX_PARAMS, or out
 * of memory (*OUT, *N then hold what was made: admin_kv_free() them). */
int admin_parse_query(const char *q, size_t len, struct admin_kv **out, size_t *n);

void admin_kv_free(struct admin_kv *v, size_t n);

/* How well route path ROUTE (with PREFIX set, ending in '/': it serves
 * every path below it) matches PATH: (size_t)-1 exactly, the length of
 * ROUTE for a prefix match, 0 not at all. */
size_t admin_route_match(const char *route, int prefix, const char *path);

/* One representation a handler can send, for admin_negotiate(). */
struct admin_offer {
	const char *type;       /* "type/subtype", lower case */
	const char *version;    /* the value of its "version" parameter, NULL: none */
};

/* Proactive negotiation (RFC 9110 §12.5.1): which of OFFERS (N of them,
 * the server's preference first) the Accept header value ACCEPT (NULL:
 * none) asks for. Each offer takes the weight of the most specific media
 * range that matches it (type/subtype with a "version" parameter, then
 * type/subtype, then a type with a wildcard subtype, then the wildcard of
 * all types; types and parameter names are case-insensitive); a range
 * naming another version does not match it,
 * other parameters (charset, escaping) are ignored, as Prometheus's
 * client libraries do; q=0 means "not acceptable". The highest weight
 * wins; a tie goes to the offer whose range is more specific, then listed
 * first in ACCEPT, then first in OFFERS. Malformed elements are skipped.
 * Returns the offer's index, 0 without ACCEPT, or -1 when ACCEPT makes
 * none acceptable. */
int admin_negotiate(const char *accept, const struct admin_offer *offers, size_t n);

#endif
