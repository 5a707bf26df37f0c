/* router.c - listener rules: which action a request gets. See router.h. */
#include "router.h"

#include "../core/uri.h"

#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/types.h>

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* How a subject string is read: as is, with its percent-encoded unreserved
 * characters decoded (paths), or with every percent-encoding decoded
 * (query keys and values). A '%' not followed by two hex digits stays. */
enum decode {
	DEC_NONE = 0,
	DEC_UNRESERVED,
	DEC_ALL,
};

/* Is S[I] where a hex digit of a percent-encoding goes (after '%', or
 * after '%' and a hex digit)? A request path's letter there matches a
 * pattern's ignoring case (RFC 3986 6.2.2.1: %2f is %2F; config_load()
 * writes the encodings a pattern keeps upper case), whether or not the
 * encoding is complete. */
static int esc_hex_pos(const char *s, size_t i)
{
	return (i >= 1 && s[i - 1] == '%') || (i >= 2 && s[i - 2] == '%' && uri_hexval((unsigned char)s[i - 1]) >= 0);
}

#define NC_HEX 0x100   /* next_char(): a letter at esc_hex_pos(), upper case */

/* The character of S (LEN bytes) at *I, decoded as MODE says; moves *I past
 * it (1 or 3 bytes). With DEC_UNRESERVED, a letter a-f at esc_hex_pos() is
 * returned upper case, with NC_HEX: it matches a pattern's letter in either
 * case. A letter that decoding made ("%61") has no flag and matches only
 * itself, whatever stands before it in the pattern ("/%%61" is "/%a"). */
static int next_char(const char *s, size_t len, size_t *i, enum decode mode)
{
	int c = (unsigned char)s[*i], hi, lo;

	if (mode != DEC_NONE && c == '%' && *i + 2 < len &&
	    (hi = uri_hexval((unsigned char)s[*i + 1])) >= 0 &&
	    (lo = uri_hexval((unsigned char)s[*i + 2])) >= 0 &&
	    (mode == DEC_ALL || uri_unreserved(hi * 16 + lo))) {
		*i += 3;
		return hi * 16 + lo;
	}
	if (mode == DEC_UNRESERVED && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) && esc_hex_pos(s, *i)) {
		*i += 1;
		return (c & ~0x20) | NC_HEX;
	}
	*i += 1;
	return c;
}

/* Iterative glob with single-star backtracking: on a mismatch, go back to
 * just after the last '*' seen and let that star absorb one more character.
 * An earlier star never needs to be revisited (a later star can absorb
 * whatever the earlier one would have), so this runs in O(len * strlen(pat))
 * at worst, with no recursion and no copy: S is decoded as it is read
 * (MODE), and ESC makes '\' in PAT escape the next character. */
static int glob(const char *pat, const char *s, size_t len, int nocase, enum decode mode, int esc)
{
	const char *p = pat, *star = NULL;
	size_t i = 0, mark = 0;

	while (i < len) {
		size_t next = i;
		int c, pc, any;
		const char *pn;

		if (*p == '*') {
			while (*p == '*')
				p++;
			star = p;
			mark = i;
			continue;
		}
		c = next_char(s, len, &next, mode);
		int hex = c & NC_HEX;   /* a hex letter of an encoding: either case */
		c &= 0xff;
		if (esc && p[0] == '\\' && p[1] != '\0') {
			pc = (unsigned char)p[1];
			pn = p + 2;
			any = 0;
		} else {
			pc = (unsigned char)*p;
			pn = p + 1;
			any = pc == '?';
		}
		if (pc != '\0' && (any || pc == c || ((nocase || hex) && lower(pc) == lower(c)))) {
			p = pn;
			i = next;
			continue;
		}
		if (star == NULL)
			return 0;
		p = star;
		(void)next_char(s, len, &mark, mode);
		i = mark;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int router_glob(const char *pat, const char *s, size_t len, int nocase)
{
	return glob(pat, s, len, nocase, DEC_NONE, 0);
}

/* The host part of a Host header value (RFC 9110 7.2: uri-host [ ":" port ]).
 * An IP-literal keeps its brackets ("[::1]:8080" -> "[::1]"), as a rule
 * pattern writes it. A value with several colons and no brackets is not a
 * valid Host; it is left whole rather than cut at a guess. */
static size_t host_len_without_port(const char *host, size_t len)
{
	const char *colon;

	if (len > 0 && host[0] == '[') {
		const char *close = memchr(host, ']', len);

		return close != NULL ? (size_t)(close - host) + 1 : len;
	}
	colon = memchr(host, ':', len);
	if (colon == NULL)
		return len;
	if (memchr(colon + 1, ':', len - (size_t)(colon - host) - 1) != NULL)
		return len;
	return (size_t)(colon - host);
}

static int any_glob(char *const *pats, size_t npats, const char *s, size_t len, int nocase,
		    enum decode mode)
{
	size_t i;

	for (i = 0; i < npats; i++)
		if (glob(pats[i], s, len, nocase, mode, 0))
			return 1;
	return 0;
}

static int any_method(char *const *methods, size_t n, const char *m, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(methods[i]) == len && memcmp(methods[i], m, len) == 0)
			return 1;
	return 0;
}

/* Any field named NAME (lower case) whose value matches one of CD's values:
 * a field sent several times matches if any of its occurrences does. */
static int header_matches(const struct cfg_condition *cd, const struct route_req *rq)
{
	size_t nlen = strlen(cd->header), i, k;

	for (i = 0; i < rq->nhdrs; i++) {
		const struct http1_header *f = &rq->hdrs[i];

		if (f->name_len != nlen)
			continue;
		for (k = 0; k < nlen && lower((unsigned char)f->name[k]) == cd->header[k]; k++)
			;
		if (k == nlen && any_glob(cd->values, cd->nvalues, f->value, f->value_len, 1, DEC_NONE))
			return 1;
	}
	return 0;
}

/* Does one of CD's pairs match the parameter KEY=VAL (raw, percent-encoded)? */
static int pair_matches(const struct cfg_condition *cd, const char *key, size_t klen,
			const char *val, size_t vlen)
{
	size_t i;

	for (i = 0; i < cd->npairs; i++) {
		const struct cfg_query_pair *qp = &cd->pairs[i];

		if ((qp->key == NULL || glob(qp->key, key, klen, 1, DEC_ALL, 1)) &&
		    glob(qp->value, val, vlen, 1, DEC_ALL, 1))
			return 1;
	}
	return 0;
}

/* The query is split at '&' into parameters, each at its first '=' into a
 * key and a value ("k" alone: the key k and an empty value); empty
 * parameters are skipped. Keys and values are percent-decoded as they are
 * compared; '+' stays '+' (RFC 3986). */
static int query_matches(const struct cfg_condition *cd, const char *q, size_t qlen)
{
	const char *end = q ? q + qlen : NULL;

	while (q != NULL && q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *pend = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(pend - q));

		if (pend > q) {
			size_t klen = (size_t)((eq ? eq : pend) - q);
			const char *v = eq ? eq + 1 : pend;

			if (pair_matches(cd, q, klen, v, (size_t)(pend - v)))
				return 1;
		}
		q = pend + 1;
	}
	return 0;
}

static int cidr_contains(const struct cfg_cidr *c, const uint8_t *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, a, full) != 0)
		return 0;
	return rest == 0 || ((c->addr[full] ^ a[full]) & (uint8_t)(0xffu << (8 - rest))) == 0;
}

/* The client's address against CD's networks: IPv4 networks match IPv4
 * clients and IPv4-mapped IPv6 ones (::ffff:a.b.c.d, a dual-stack socket's
 * IPv4 client); IPv6 networks match IPv6 clients. */
static int source_matches(const struct cfg_condition *cd, const struct sockaddr *sa)
{
	const uint8_t *a4 = NULL, *a6 = NULL;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t i;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		a4 = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(a6, mapped, sizeof mapped) == 0)
			a4 = a6 + 12;
	}
	for (i = 0; i < cd->ncidrs; i++) {
		const struct cfg_cidr *c = &cd->cidrs[i];

		if ((c->family == AF_INET && a4 && cidr_contains(c, a4)) ||
		    (c->family == AF_INET6 && a6 && cidr_contains(c, a6)))
			return 1;
	}
	return 0;
}

/* The request as conditions look at it: the host without its port (NULL:
 * none), the path without its query. */
struct match_req {
	const struct route_req *rq;
	const char *host;
	size_t host_len;
	const char *path;
	size_t path_len;
	const char *query; /* the route_req's, or what follows a '?' in its path; NULL: none */
	size_t query_len;
};

static int cond_matches(const struct cfg_condition *cd, const struct match_req *m)
{
	switch (cd->type) {
	case CFG_COND_HOST:
		return m->host != NULL &&
		       any_glob(cd->values, cd->nvalues, m->host, m->host_len, 1, DEC_NONE);
	case CFG_COND_PATH:
		return any_glob(cd->values, cd->nvalues, m->path, m->path_len, 0, DEC_UNRESERVED);
	case CFG_COND_METHOD:
		return any_method(cd->values, cd->nvalues, m->rq->method, m->rq->method_len);
	case CFG_COND_HTTP_HEADER:
		return header_matches(cd, m->rq);
	case CFG_COND_QUERY_STRING:
		return query_matches(cd, m->query, m->query_len);
	case CFG_COND_SOURCE_IP:
		return source_matches(cd, m->rq->client);
	}
	return 0; /* a type this router does not know never matches */
}

static int rule_matches(const struct cfg_rule *r, const struct match_req *m)
{
	size_t i;

	for (i = 0; i < r->nconds; i++)
		if (!cond_matches(&r->conds[i], m))
			return 0;
	return 1;
}

/* The request as conditions see it: the Host without its port, the path
 * without its query. A target with a fragment ('#') never gets here: the
 * HTTP/1 parser refuses it (net/http1.h), so '#' is no delimiter here. */
static void match_req_init(struct match_req *m, const struct route_req *rq)
{
	const char *q;

	*m = (struct match_req){ rq, rq->host, rq->host_len, rq->path, rq->path_len, rq->query,
				 rq->query_len };
	if (m->host != NULL)
		m->host_len = host_len_without_port(m->host, m->host_len);
	if (m->path == NULL)
		m->path_len = 0;
	else if ((q = memchr(m->path, '?', m->path_len)) != NULL) {
		if (m->query == NULL) {
			m->query = q + 1;
			m->query_len = m->path_len - (size_t)(q - m->path) - 1;
		}
		m->path_len = (size_t)(q - m->path);
	}
	if (m->path == NULL)
		m->path = "";
}

static void route_matched(const struct cfg_listener *l, size_t i, struct router_action *out)
{
	out->rule = &l->rules[i];
	out->action = &l->rules[i].action;
	out->evaluated = (unsigned)i + 1;
}

static void route_default(const struct cfg_listener *l, struct router_action *out)
{
	out->rule = NULL;
	out->action = &l->default_action;
	out->evaluated = (unsigned)l->nrules;
}

/* A missing Host (HOST == NULL) fails every rule that has a host condition.
 * RQ's path is the path alone: an absolute-form target ("http://h/p") is
 * matched as is, so the caller passes its path. */
void router_route_linear(const struct cfg_listener *l, const struct route_req *rq,
			 struct router_action *out)
{
	struct match_req m;
	size_t i;

	memset(out, 0, sizeof(*out));
	match_req_init(&m, rq);
	for (i = 0; i < l->nrules; i++) {
		if (rule_matches(&l->rules[i], &m)) {
			route_matched(l, i, out);
			return;
		}
	}
	route_default(l, out);
}

/* ------------------------------------------------------------ the index
 *
 * The index only prunes: every candidate it yields is checked in full with
 * rule_matches(), in ascending rule order, so the first that matches is
 * the rule the linear scan finds. It must therefore never leave out a rule
 * that could match; it may yield rules that cannot.
 *
 * Host: a rule can only match a request whose host (port stripped,
 * compared case-insensitively) is one of the values of each of its host
 * conditions. When one of its host conditions has only literal values (no
 * '*' or '?'), the rule is filed under each of those values, lower-cased,
 * in a hash table; every other rule (no host condition, or wildcards in
 * every host condition) goes to the generic list.
 *
 * Path: a list of at least PATH_INDEX_MIN rules (a host's, or the generic
 * one) also gets a trie of path patterns. A rule with a path condition
 * whose values are all "L" (exact) or "L*" (prefix), L free of '*' and
 * '?', is filed at the trie node of each L, as an exact or a prefix rule;
 * the others stay in the list's residual list. A request walks the trie
 * along its path, read through the same decoder as the glob (unreserved
 * characters decoded; patterns were decoded at load) and compared as the
 * glob compares (a hex letter of the request's encodings takes either
 * case, any other character only itself: the trie keeps the patterns'
 * characters as they are, so such a letter may lead to two children), and
 * its candidates are the prefix rules of every node it passes, the exact
 * rules of the nodes where the path ends, and the residual rules.
 *
 * The candidate lists (each ascending) are merged by rule index; a rule
 * that is in several of them (two values of one condition) is tried once.
 */

#define PATH_INDEX_MIN 8 /* smaller lists are scanned whole */
#define ROUTE_CURSORS 32 /* candidate lists a request merges at most */

/* An ascending list of rule indexes. */
struct rule_vec {
	uint32_t *v;
	size_t n, cap;
};

struct path_node {
	uint32_t child;         /* first child; 0: none (the root, node 0, is no one's child) */
	uint32_t sibling;       /* next child of the same parent; 0: none */
	unsigned char c;        /* the (decoded) character leading here */
	struct rule_vec prefix; /* rules with a value "L*", L the path to this node */
	struct rule_vec exact;  /* rules with a value "L" */
};

/* The rules that can match for one host (or any host). */
struct rule_list {
	struct rule_vec all;     /* every rule of the list */
	struct path_node *nodes; /* the path trie; NULL: scan ALL */
	size_t nnodes, capnodes;
	struct rule_vec residual; /* with a trie: rules it does not file */
};

struct host_bucket {
	char *host; /* lower case, NUL-terminated; NULL: empty slot */
	size_t len;
	uint32_t hash;
	struct rule_list list;
};

struct router_index {
	const struct cfg_listener *l;
	struct host_bucket *buckets; /* open addressing, linear probing */
	size_t mask;                 /* number of buckets - 1 (a power of two) */
	struct rule_list generic;    /* rules not filed by host */
};

/* FNV-1a of S (LEN bytes), ASCII letters lower-cased as they are read. */
static uint32_t host_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint32_t)lower((unsigned char)s[i]);
		h *= 16777619u;
	}
	return h;
}

/* Does the lower-case KEY (KLEN bytes) equal S (LEN bytes), ignoring the
 * case of S's ASCII letters? That is what glob() says of a literal host
 * pattern. */
static int host_eq(const char *key, size_t klen, const char *s, size_t len)
{
	size_t i;

	if (klen != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)key[i])
			return 0;
	return 1;
}

static const struct host_bucket *bucket_find(const struct router_index *ix, const char *s, size_t len)
{
	uint32_t h;
	size_t k;

	if (ix->buckets == NULL)
		return NULL;
	h = host_hash(s, len);
	for (k = h & ix->mask;; k = (k + 1) & ix->mask) {
		const struct host_bucket *b = &ix->buckets[k];

		if (b->host == NULL)
			return NULL;
		if (b->hash == h && host_eq(b->host, b->len, s, len))
			return b;
	}
}

/* Append rule R to V unless it is already its last. */
static int vec_add(struct rule_vec *v, uint32_t r)
{
	if (v->n > 0 && v->v[v->n - 1] == r)
		return 0;
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 4;
		uint32_t *nv = realloc(v->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->n++] = r;
	return 0;
}

/* File rule R under host literal V (any case). */
static int bucket_add(struct router_index *ix, const char *v, uint32_t r)
{
	size_t len = strlen(v), k, i;
	uint32_t h = host_hash(v, len);
	struct host_bucket *b;

	for (k = h & ix->mask;; k = (k + 1) & ix->mask) {
		b = &ix->buckets[k];
		if (b->host == NULL || (b->hash == h && host_eq(b->host, b->len, v, len)))
			break;
	}
	if (b->host == NULL) {
		b->host = malloc(len + 1);
		if (b->host == NULL)
			return -1;
		for (i = 0; i < len; i++)
			b->host[i] = (char)lower((unsigned char)v[i]);
		b->host[len] = '\0';
		b->len = len;
		b->hash = h;
	}
	return vec_add(&b->list.all, r);
}

static int is_literal(const char *pat)
{
	return strpbrk(pat, "*?") == NULL;
}

/* R's first host condition whose values are all literals, or NULL. */
static const struct cfg_condition *literal_host_cond(const struct cfg_rule *r)
{
	size_t c, v;

	for (c = 0; c < r->nconds; c++) {
		const struct cfg_condition *cd = &r->conds[c];

		if (cd->type != CFG_COND_HOST || cd->nvalues == 0)
			continue;
		for (v = 0; v < cd->nvalues && is_literal(cd->values[v]); v++)
			;
		if (v == cd->nvalues)
			return cd;
	}
	return NULL;
}

/* The length of the literal L of a path pattern "L" or "L*" ("L**..."
 * too), or -1 when the pattern has a wildcard elsewhere. *PREFIX: 1 for
 * "L*". */
static ssize_t path_literal(const char *pat, int *prefix)
{
	size_t len = strlen(pat), l = len;

	while (l > 0 && pat[l - 1] == '*')
		l--;
	if (memchr(pat, '*', l) != NULL || memchr(pat, '?', l) != NULL)
		return -1;
	*prefix = l < len;
	return (ssize_t)l;
}

/* R's first path condition whose values are all "L" or "L*", or NULL. */
static const struct cfg_condition *literal_path_cond(const struct cfg_rule *r)
{
	size_t c, v;
	int prefix;

	for (c = 0; c < r->nconds; c++) {
		const struct cfg_condition *cd = &r->conds[c];

		if (cd->type != CFG_COND_PATH || cd->nvalues == 0)
			continue;
		for (v = 0; v < cd->nvalues && path_literal(cd->values[v], &prefix) >= 0; v++)
			;
		if (v == cd->nvalues)
			return cd;
	}
	return NULL;
}

/* The child of node N reached by C, or 0. */
static uint32_t node_child(const struct rule_list *rl, uint32_t n, int c)
{
	uint32_t k;

	for (k = rl->nodes[n].child; k != 0; k = rl->nodes[k].sibling)
		if (rl->nodes[k].c == c)
			return k;
	return 0;
}

/* File rule R in RL's trie under path pattern PAT. */
static int trie_add(struct rule_list *rl, const char *pat, uint32_t r)
{
	int prefix;
	ssize_t len = path_literal(pat, &prefix);
	uint32_t n = 0, k;
	ssize_t i;

	for (i = 0; i < len; i++) {
		/* the pattern's own characters, as glob() compares them: the
		 * walk lets a request's hex letter (NC_HEX) take either case */
		unsigned char c = (unsigned char)pat[i];

		k = node_child(rl, n, c);
		if (k == 0) {
			if (rl->nnodes == rl->capnodes) {
				size_t ncap = rl->capnodes * 2;
				struct path_node *nn;

				if (ncap > UINT32_MAX)
					return -1;
				nn = realloc(rl->nodes, ncap * sizeof(*nn));
				if (nn == NULL)
					return -1;
				rl->nodes = nn;
				rl->capnodes = ncap;
			}
			k = (uint32_t)rl->nnodes++;
			memset(&rl->nodes[k], 0, sizeof(rl->nodes[k]));
			rl->nodes[k].c = c;
			rl->nodes[k].sibling = rl->nodes[n].child;
			rl->nodes[n].child = k;
		}
		n = k;
	}
	return vec_add(prefix ? &rl->nodes[n].prefix : &rl->nodes[n].exact, r);
}

/* Build RL's path trie from its rules (L's). */
static int list_index_paths(struct rule_list *rl, const struct cfg_listener *l)
{
	size_t i, v;

	if (rl->all.n < PATH_INDEX_MIN)
		return 0;
	rl->capnodes = 64;
	rl->nodes = calloc(rl->capnodes, sizeof(*rl->nodes));
	if (rl->nodes == NULL)
		return -1;
	rl->nnodes = 1;
	for (i = 0; i < rl->all.n; i++) {
		uint32_t r = rl->all.v[i];
		const struct cfg_condition *cd = literal_path_cond(&l->rules[r]);

		if (cd == NULL) {
			if (vec_add(&rl->residual, r) < 0)
				return -1;
			continue;
		}
		for (v = 0; v < cd->nvalues; v++)
			if (trie_add(rl, cd->values[v], r) < 0)
				return -1;
	}
	return 0;
}

static void list_free(struct rule_list *rl)
{
	size_t k;

	free(rl->all.v);
	free(rl->residual.v);
	for (k = 0; k < rl->nnodes; k++) {
		free(rl->nodes[k].prefix.v);
		free(rl->nodes[k].exact.v);
	}
	free(rl->nodes);
}

void router_index_free(struct router_index *ix)
{
	size_t k;

	if (ix == NULL)
		return;
	if (ix->buckets != NULL)
		for (k = 0; k <= ix->mask; k++) {
			free(ix->buckets[k].host);
			list_free(&ix->buckets[k].list);
		}
	free(ix->buckets);
	list_free(&ix->generic);
	free(ix);
}

struct router_index *router_index_build(const struct cfg_listener *l)
{
	struct router_index *ix = calloc(1, sizeof(*ix));
	size_t nlit = 0, size = 1, i, v;

	if (ix == NULL)
		return NULL;
	ix->l = l;
	if (l->nrules > UINT32_MAX)
		goto fail;
	for (i = 0; i < l->nrules; i++) {
		const struct cfg_condition *cd = literal_host_cond(&l->rules[i]);

		if (cd != NULL)
			nlit += cd->nvalues;
	}
	if (nlit > 0) {
		while (size < 2 * nlit)
			size *= 2;
		ix->buckets = calloc(size, sizeof(*ix->buckets));
		if (ix->buckets == NULL)
			goto fail;
		ix->mask = size - 1;
	}
	for (i = 0; i < l->nrules; i++) {
		const struct cfg_condition *cd = literal_host_cond(&l->rules[i]);

		if (cd == NULL) {
			if (vec_add(&ix->generic.all, (uint32_t)i) < 0)
				goto fail;
			continue;
		}
		for (v = 0; v < cd->nvalues; v++)
			if (bucket_add(ix, cd->values[v], (uint32_t)i) < 0)
				goto fail;
	}
	if (list_index_paths(&ix->generic, l) < 0)
		goto fail;
	for (i = 0; ix->buckets != NULL && i <= ix->mask; i++)
		if (ix->buckets[i].host != NULL && list_index_paths(&ix->buckets[i].list, l) < 0)
			goto fail;
	return ix;
fail:
	router_index_free(ix);
	return NULL;
}

/* A candidate list being merged. */
struct cursor {
	const uint32_t *v;
	size_t n;
};

static void cursor_add(struct cursor *cur, size_t *k, const struct rule_vec *v)
{
	if (v->n > 0) {
		cur[*k].v = v->v;
		cur[*k].n = v->n;
		(*k)++;
	}
}

#define TRIE_FORKS 32 /* pending branches of one trie walk; more: the whole list */

/* Add V to CUR[*K...] below LIM; 0 when there is no room left. */
static int cursor_room_add(struct cursor *cur, size_t *k, size_t lim, const struct rule_vec *v)
{
	if (v->n == 0)
		return 1;
	if (*k >= lim)
		return 0;
	cursor_add(cur, k, v);
	return 1;
}

/* Add RL's candidates for M to CUR[*K...], using at most ROOM (>= 1)
 * entries: what its trie yields for M's path, or its whole list when it
 * has no trie or the trie would yield more lists than ROOM.
 *
 * The walk reads the path as glob() does (next_char()) and follows, for
 * each character, the child glob() would let match it: the same
 * character, and for a hex letter of the request's encodings (NC_HEX,
 * upper case) the lower-case one too. So a walk can fork; each branch
 * spells another string, so a node is still visited at most once. Forks
 * wait on a stack of TRIE_FORKS; a path that would need more (a pattern
 * set with both cases of a long run of hex letters) takes the whole list. */
static void list_candidates(const struct rule_list *rl, const struct match_req *m, struct cursor *cur,
			    size_t *k, size_t room)
{
	struct {
		uint32_t node;
		size_t pos; /* the request's next character */
	} fork[TRIE_FORKS];
	size_t k0 = *k, lim = k0 + room, nfork = 0;

	if (rl->nodes == NULL)
		goto all;
	if (!cursor_room_add(cur, k, lim, &rl->residual) || !cursor_room_add(cur, k, lim, &rl->nodes[0].prefix))
		goto full;
	fork[nfork].node = 0;
	fork[nfork++].pos = 0;
	while (nfork > 0) {
		uint32_t n = fork[--nfork].node;
		size_t i = fork[nfork].pos;

		/* N's prefix rules are in: the root's above, the others when
		 * they were reached */
		for (;;) {
			if (i == m->path_len) {
				if (!cursor_room_add(cur, k, lim, &rl->nodes[n].exact))
					goto full;
				break;
			}
			int c = next_char(m->path, m->path_len, &i, DEC_UNRESERVED);
			uint32_t a = node_child(rl, n, c & 0xff);
			uint32_t b = (c & NC_HEX) ? node_child(rl, n, lower(c & 0xff)) : 0;

			if (a == 0) {
				a = b;
				b = 0;
			}
			if (a == 0)
				break;
			if (b != 0) {
				if (nfork == TRIE_FORKS)
					goto full;
				if (!cursor_room_add(cur, k, lim, &rl->nodes[b].prefix))
					goto full;
				fork[nfork].node = b;
				fork[nfork++].pos = i;
			}
			if (!cursor_room_add(cur, k, lim, &rl->nodes[a].prefix))
				goto full;
			n = a;
		}
	}
	return;
full:
	*k = k0;
all:
	cursor_add(cur, k, &rl->all);
}

void router_route(const struct router_index *ix, const struct route_req *rq, struct router_action *out)
{
	const struct cfg_listener *l = ix->l;
	const struct host_bucket *b;
	struct cursor cur[ROUTE_CURSORS];
	struct match_req m;
	size_t k = 0, j;

	memset(out, 0, sizeof(*out));
	match_req_init(&m, rq);
	/* the host's lists leave at least one entry: the generic list's whole */
	if (m.host != NULL && (b = bucket_find(ix, m.host, m.host_len)) != NULL)
		list_candidates(&b->list, &m, cur, &k, ROUTE_CURSORS - 1);
	list_candidates(&ix->generic, &m, cur, &k, ROUTE_CURSORS - k);
	for (;;) {
		uint32_t r = UINT32_MAX;

		for (j = 0; j < k; j++)
			if (cur[j].n > 0 && cur[j].v[0] < r)
				r = cur[j].v[0];
		if (r == UINT32_MAX)
			break;
		for (j = 0; j < k; j++)
			if (cur[j].n > 0 && cur[j].v[0] == r) {
				cur[j].v++;
				cur[j].n--;
			}
		if (rule_matches(&l->rules[r], &m)) {
			route_matched(l, r, out);
			return;
		}
	}
	route_default(l, out);
}

/* Walks the cumulative weights: entry k owns the residues
 * [w0 + ... + w(k-1), w0 + ... + wk) of R % weight_total. Returns NULL for
 * an action that is not a forward, and for one without any weighted entry,
 * which config validation rules out. */
const struct cfg_forward *router_pick_forward(const struct router_action *a, uint32_t r)
{
	const struct cfg_forward *groups, *last = NULL;
	size_t ngroups, i;
	unsigned total, x;

	if (a->action == NULL || a->action->type != CFG_ACT_FORWARD)
		return NULL;
	groups = a->action->u.forward.groups;
	ngroups = a->action->u.forward.ngroups;
	total = a->action->u.forward.weight_total;
	if (ngroups == 1)
		return &groups[0];
	if (total == 0)
		return NULL;
	x = r % total;
	for (i = 0; i < ngroups; i++) {
		const struct cfg_forward *f = &groups[i];

		if (f->weight == 0)
			continue;
		if (x < f->weight)
			return f;
		x -= f->weight;
		last = f;
	}
	/* weight_total larger than the sum: stay on a weighted entry */
	return last;
}

uint32_t router_spread(uint32_t n, unsigned total)
{
	uint32_t u = n * 2654435769u;   /* 2^32 / golden ratio */

	return (uint32_t)(((uint64_t)u * total) >> 32);
}
