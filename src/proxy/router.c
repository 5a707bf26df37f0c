/* router.c - listener rules: which action a request gets. See router.h. */
#include "router.h"

#include <string.h>

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Iterative glob with single-star backtracking: on a mismatch, go back to
 * just after the last '*' seen and let that star absorb one more character.
 * An earlier star never needs to be revisited (a later star can absorb
 * whatever the earlier one would have), so this runs in O(len * strlen(pat))
 * at worst, with no recursion. */
int router_glob(const char *pat, const char *s, size_t len, int nocase)
{
	const char *p = pat, *star = NULL;
	size_t i = 0, mark = 0;

	while (i < len) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star = p;
			mark = i;
			continue;
		}
		if (*p != '\0' && (*p == '?' || *p == s[i] ||
				   (nocase && lower((unsigned char)*p) == lower((unsigned char)s[i])))) {
			p++;
			i++;
			continue;
		}
		if (star == NULL)
			return 0;
		p = star;
		i = ++mark;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
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

static int any_glob(char *const *pats, size_t npats, const char *s, size_t len, int nocase)
{
	size_t i;

	for (i = 0; i < npats; i++)
		if (router_glob(pats[i], s, len, nocase))
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

/* The request as conditions look at it: the host without its port (NULL:
 * none), the path without its query. */
struct match_req {
	const struct route_req *rq;
	const char *host;
	size_t host_len;
	const char *path;
	size_t path_len;
};

static int cond_matches(const struct cfg_condition *cd, const struct match_req *m)
{
	switch (cd->type) {
	case CFG_COND_HOST:
		return m->host != NULL &&
		       any_glob(cd->values, cd->nvalues, m->host, m->host_len, 1);
	case CFG_COND_PATH:
		return any_glob(cd->values, cd->nvalues, m->path, m->path_len, 0);
	case CFG_COND_METHOD:
		return any_method(cd->values, cd->nvalues, m->rq->method, m->rq->method_len);
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

/* A missing Host (HOST == NULL) fails every rule that has a host condition.
 * RQ's path is the path alone: an absolute-form target ("http://h/p") is
 * matched as is, so the caller passes its path. */
void router_route(const struct cfg_listener *l, const struct route_req *rq, struct router_action *out)
{
	struct match_req m = { rq, rq->host, rq->host_len, rq->path, rq->path_len };
	const char *q;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (m.host != NULL)
		m.host_len = host_len_without_port(m.host, m.host_len);
	if (m.path == NULL)
		m.path_len = 0;
	else if ((q = memchr(m.path, '?', m.path_len)) != NULL)
		m.path_len = (size_t)(q - m.path);
	if (m.path == NULL)
		m.path = "";

	for (i = 0; i < l->nrules; i++) {
		const struct cfg_rule *r = &l->rules[i];

		if (rule_matches(r, &m)) {
			out->rule = r;
			out->action = &r->action;
			out->evaluated = (unsigned)i + 1;
			return;
		}
	}
	out->action = &l->default_action;
	out->evaluated = (unsigned)l->nrules;
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
