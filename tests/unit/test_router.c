/* test_router.c - unit tests of src/proxy/router.c: the glob matcher, rule
 * evaluation (conditions, priority, the default action) and the weighted
 * choice among a forward action's target groups.
 *
 * Listeners, rules and actions are built by hand as config_load() would
 * leave them (rules sorted by ascending priority); no config file is parsed.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../src/proxy/router.h"

/* ------------------------------------------------------------ helpers */

static struct cfg_target_group tg_a = { .name = "a" };
static struct cfg_target_group tg_b = { .name = "b" };
static struct cfg_target_group tg_c = { .name = "c" };
static struct cfg_target_group tg_def = { .name = "default" };

static struct cfg_forward fwd_a[] = { { "a", &tg_a, 1 } };
static struct cfg_forward fwd_b[] = { { "b", &tg_b, 1 } };
static struct cfg_forward fwd_c[] = { { "c", &tg_c, 1 } };
static struct cfg_forward fwd_def[] = { { "default", &tg_def, 1 } };

static struct cfg_fixed_response fixed_403 = { 403, "text/plain", "forbidden", 9 };
static struct cfg_fixed_response fixed_404 = { 404, "text/plain", "not found", 9 };

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* clang-format off */
/* A condition of TYPE whose values are the array V. */
#define COND(type_, v) { .type = (type_), .line = 1, .values = (v), .nvalues = NELEMS(v) }

/* A rule's conditions, as designated initializers of struct cfg_rule. */
#define CONDS(...)                                                  \
	.conds = (struct cfg_condition[]){ __VA_ARGS__ },           \
	.nconds = sizeof((struct cfg_condition[]){ __VA_ARGS__ }) / \
		  sizeof(struct cfg_condition)

/* Actions: a forward to the array G of groups, a fixed response. */
#define FORWARD(g, total)                                                                  \
	{ .type = CFG_ACT_FORWARD,                                                         \
	  .u.forward = { .groups = (g), .ngroups = NELEMS(g), .weight_total = (total) } }
#define FIXED(fr) { .type = CFG_ACT_FIXED_RESPONSE, .u.fixed = (fr) }
/* clang-format on */

static const struct cfg_action default_forward = FORWARD(fwd_def, 1);

/* a's action is a fixed response: FR. */
static void expect_fixed(const struct router_action *a, const struct cfg_fixed_response *fr)
{
	ck_assert_ptr_nonnull(a->action);
	ck_assert_int_eq(a->action->type, CFG_ACT_FIXED_RESPONSE);
	ck_assert_ptr_eq(a->action->u.fixed, fr);
	ck_assert_ptr_null(router_pick_forward(a, 0));
}

/* a's action is a forward to the N groups at G, of weight TOTAL. */
static void expect_forward(const struct router_action *a, const struct cfg_forward *g, size_t n,
			   unsigned total)
{
	ck_assert_ptr_nonnull(a->action);
	ck_assert_int_eq(a->action->type, CFG_ACT_FORWARD);
	ck_assert_ptr_eq(a->action->u.forward.groups, g);
	ck_assert_uint_eq(a->action->u.forward.ngroups, n);
	ck_assert_uint_eq(a->action->u.forward.weight_total, total);
}

static void listener_init(struct cfg_listener *l, struct cfg_rule *rules, size_t nrules)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	l->name = "test";
	l->rules = rules;
	l->nrules = nrules;
	l->default_action = default_forward;
	for (i = 0; i < nrules; i++) {
		rules[i].priority = (int)(i + 1) * 10;
		rules[i].line = (int)i + 1;
		if (i > 0)
			ck_assert_int_lt(rules[i - 1].priority, rules[i].priority);
	}
}

/* Route RQ through a freshly built index of L and through the linear scan:
 * both must give the same answer, which is returned in *OUT. */
static void route_both(const struct cfg_listener *l, const struct route_req *rq, struct router_action *out)
{
	struct router_index *ix = router_index_build(l);
	struct router_action lin;

	ck_assert_ptr_nonnull(ix);
	memset(&lin, 0x5a, sizeof(lin));
	router_route(ix, rq, out);
	router_route_linear(l, rq, &lin);
	ck_assert_ptr_eq(out->action, lin.action);
	ck_assert_ptr_eq(out->rule, lin.rule);
	ck_assert_uint_eq(out->evaluated, lin.evaluated);
	router_index_free(ix);
}

/* router_route() with a request of explicit lengths; HOST may be NULL. */
static void route_n(const struct cfg_listener *l, const char *method, size_t method_len, const char *host,
		    size_t host_len, const char *path, size_t path_len, struct router_action *out)
{
	const struct route_req rq = { .method = method, .method_len = method_len, .host = host,
				      .host_len = host_len, .path = path, .path_len = path_len };

	route_both(l, &rq, out);
}

/* router_route() with NUL-terminated arguments; HOST may be NULL. */
static void route(const struct cfg_listener *l, const char *method, const char *host,
		  const char *path, struct router_action *out)
{
	memset(out, 0xa5, sizeof(*out)); /* router_route() must set every field */
	route_n(l, method, strlen(method), host, host ? strlen(host) : 0, path, strlen(path), out);
}

/* The index of the rule that matched, -1 for the default action. */
static int rule_index(const struct cfg_listener *l, const struct router_action *a)
{
	if (a->rule == NULL)
		return -1;
	ck_assert(a->rule >= l->rules && a->rule < l->rules + l->nrules);
	return (int)(a->rule - l->rules);
}

static int route_index(const struct cfg_listener *l, const char *method, const char *host,
		       const char *path)
{
	struct router_action a;

	route(l, method, host, path, &a);
	return rule_index(l, &a);
}

/* ------------------------------------------------------------ glob */

START_TEST(test_glob_exact)
{
	ck_assert_int_eq(router_glob("abc", "abc", 3, 0), 1);
	ck_assert_int_eq(router_glob("abc", "abd", 3, 0), 0);
	ck_assert_int_eq(router_glob("abc", "ab", 2, 0), 0);
	ck_assert_int_eq(router_glob("ab", "abc", 3, 0), 0);
	ck_assert_int_eq(router_glob("/api/v1", "/api/v1", 7, 0), 1);
	ck_assert_int_eq(router_glob("/api/v1", "/api/v2", 7, 0), 0);
	/* the length is explicit: what follows is not part of the string */
	ck_assert_int_eq(router_glob("abc", "abcdef", 3, 0), 1);
	ck_assert_int_eq(router_glob("abcdef", "abcdef", 3, 0), 0);
	ck_assert_int_eq(router_glob("ab", "ab\0c", 4, 0), 0);
}
END_TEST

START_TEST(test_glob_star)
{
	ck_assert_int_eq(router_glob("*", "", 0, 0), 1);
	ck_assert_int_eq(router_glob("*", "anything/at/all", 15, 0), 1);
	ck_assert_int_eq(router_glob("a*", "a", 1, 0), 1);
	ck_assert_int_eq(router_glob("a*", "abc", 3, 0), 1);
	ck_assert_int_eq(router_glob("a*", "ba", 2, 0), 0);
	ck_assert_int_eq(router_glob("*c", "abc", 3, 0), 1);
	ck_assert_int_eq(router_glob("*c", "abd", 3, 0), 0);
	ck_assert_int_eq(router_glob("a*c", "ac", 2, 0), 1);
	ck_assert_int_eq(router_glob("a*c", "abbbc", 5, 0), 1);
	ck_assert_int_eq(router_glob("a*c", "abbbd", 5, 0), 0);
	ck_assert_int_eq(router_glob("/api/*", "/api/", 5, 0), 1);
	ck_assert_int_eq(router_glob("/api/*", "/api/users/1", 12, 0), 1);
	ck_assert_int_eq(router_glob("/api/*", "/api", 4, 0), 0);
	ck_assert_int_eq(router_glob("/api/*", "/apix/y", 7, 0), 0);
	/* the star has to give characters back */
	ck_assert_int_eq(router_glob("*ab", "aab", 3, 0), 1);
	ck_assert_int_eq(router_glob("*aab", "aaab", 4, 0), 1);
	ck_assert_int_eq(router_glob("*abc", "ababc", 5, 0), 1);
	ck_assert_int_eq(router_glob("*.png", "a.png.txt", 9, 0), 0);
	ck_assert_int_eq(router_glob("*.png", "a.png.png", 9, 0), 1);
}
END_TEST

START_TEST(test_glob_multi_star)
{
	ck_assert_int_eq(router_glob("*a*b*", "xxaxxbxx", 8, 0), 1);
	ck_assert_int_eq(router_glob("*a*b*", "xxbxxaxx", 8, 0), 0);
	ck_assert_int_eq(router_glob("*a*b*", "ab", 2, 0), 1);
	ck_assert_int_eq(router_glob("a**b", "ab", 2, 0), 1);
	ck_assert_int_eq(router_glob("a**b", "axyzb", 5, 0), 1);
	ck_assert_int_eq(router_glob("***", "", 0, 0), 1);
	ck_assert_int_eq(router_glob("*.*.*", "a.b.c", 5, 0), 1);
	ck_assert_int_eq(router_glob("*.*.*", "a.b", 3, 0), 0);
	ck_assert_int_eq(router_glob("*.*.*", "..", 2, 0), 1);
	ck_assert_int_eq(router_glob("a*b*c", "aXbYbZc", 7, 0), 1);
	ck_assert_int_eq(router_glob("a*b*c", "aXbYbZcd", 8, 0), 0);
	ck_assert_int_eq(router_glob("*ab*ab", "abab", 4, 0), 1);
	ck_assert_int_eq(router_glob("*ab*ab", "abxab", 5, 0), 1);
	ck_assert_int_eq(router_glob("*ab*ab", "aba", 3, 0), 0);
	ck_assert_int_eq(router_glob("/img/*/thumb/*.jpg", "/img/2024/05/thumb/x.jpg", 24, 0), 1);
	ck_assert_int_eq(router_glob("/img/*/thumb/*.jpg", "/img/2024/05/thumb/x.png", 24, 0), 0);
}
END_TEST

START_TEST(test_glob_question)
{
	ck_assert_int_eq(router_glob("?", "a", 1, 0), 1);
	ck_assert_int_eq(router_glob("?", "", 0, 0), 0);
	ck_assert_int_eq(router_glob("?", "ab", 2, 0), 0);
	ck_assert_int_eq(router_glob("a?c", "abc", 3, 0), 1);
	ck_assert_int_eq(router_glob("a?c", "a/c", 3, 0), 1);
	ck_assert_int_eq(router_glob("a?c", "ac", 2, 0), 0);
	ck_assert_int_eq(router_glob("a?c", "abbc", 4, 0), 0);
	ck_assert_int_eq(router_glob("???", "abc", 3, 0), 1);
	ck_assert_int_eq(router_glob("???", "abcd", 4, 0), 0);
	ck_assert_int_eq(router_glob("??*", "a", 1, 0), 0);
	ck_assert_int_eq(router_glob("??*", "ab", 2, 0), 1);
	ck_assert_int_eq(router_glob("*?", "", 0, 0), 0);
	ck_assert_int_eq(router_glob("*?", "x", 1, 0), 1);
	ck_assert_int_eq(router_glob("/v?/*", "/v1/users", 9, 0), 1);
	ck_assert_int_eq(router_glob("/v?/*", "/v10/users", 10, 0), 0);
	/* '?' is any character, also a '?' or a '*' in the subject */
	ck_assert_int_eq(router_glob("a?", "a?", 2, 0), 1);
	ck_assert_int_eq(router_glob("a?", "a*", 2, 0), 1);
}
END_TEST

START_TEST(test_glob_empty)
{
	ck_assert_int_eq(router_glob("", "", 0, 0), 1);
	ck_assert_int_eq(router_glob("", "a", 1, 0), 0);
	ck_assert_int_eq(router_glob("a", "", 0, 0), 0);
	ck_assert_int_eq(router_glob("*", "", 0, 0), 1);
	ck_assert_int_eq(router_glob("**", "", 0, 0), 1);
	ck_assert_int_eq(router_glob("", "", 0, 1), 1);
	ck_assert_int_eq(router_glob("", "x", 0, 0), 1); /* length 0: the empty string */
}
END_TEST

START_TEST(test_glob_subdomain)
{
	ck_assert_int_eq(router_glob("*.example.com", "example.com", 11, 1), 0);
	ck_assert_int_eq(router_glob("*.example.com", "www.example.com", 15, 1), 1);
	ck_assert_int_eq(router_glob("*.example.com", "a.b.example.com", 15, 1), 1);
	ck_assert_int_eq(router_glob("*.example.com", "wwwexample.com", 14, 1), 0);
	ck_assert_int_eq(router_glob("*.example.com", "www.example.com.evil", 20, 1), 0);
	ck_assert_int_eq(router_glob("example.com", "www.example.com", 15, 1), 0);
}
END_TEST

START_TEST(test_glob_nocase)
{
	ck_assert_int_eq(router_glob("Example.COM", "example.com", 11, 1), 1);
	ck_assert_int_eq(router_glob("Example.COM", "example.com", 11, 0), 0);
	ck_assert_int_eq(router_glob("example.com", "EXAMPLE.COM", 11, 1), 1);
	ck_assert_int_eq(router_glob("example.com", "EXAMPLE.COM", 11, 0), 0);
	ck_assert_int_eq(router_glob("*.EXAMPLE.com", "WWW.example.COM", 15, 1), 1);
	ck_assert_int_eq(router_glob("A?C*", "aXcYZ", 5, 1), 1);
	ck_assert_int_eq(router_glob("abc", "abd", 3, 1), 0);
	/* only ASCII letters fold: '@'/'`', '['/'{' and bytes >= 0x80 differ by 0x20 too */
	ck_assert_int_eq(router_glob("@", "`", 1, 1), 0);
	ck_assert_int_eq(router_glob("[", "{", 1, 1), 0);
	ck_assert_int_eq(router_glob("a^", "A~", 2, 1), 0);
	ck_assert_int_eq(router_glob("\xc4", "\xe4", 1, 1), 0);
	ck_assert_int_eq(router_glob("\xe4", "\xe4", 1, 1), 1);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_glob_pathological)
{
	enum {
		NA = 4000,
		NSTARS = 40
	};
	char *s = malloc(NA + 2);
	char pat[2 * NSTARS + 2];
	double t0, elapsed;
	size_t i, p = 0;

	ck_assert_ptr_nonnull(s);
	memset(s, 'a', NA);
	s[NA] = 'b';
	s[NA + 1] = '\0';
	for (i = 0; i < NSTARS; i++) {
		pat[p++] = '*';
		pat[p++] = 'a';
	}
	pat[p++] = 'b';
	pat[p] = '\0';

	/* "*a*a*...*a b" against 4000 'a's: no 'b', exponential for naive backtracking */
	t0 = now_s();
	ck_assert_int_eq(router_glob(pat, s, NA, 0), 0);
	ck_assert_int_eq(router_glob(pat, s, NA, 1), 0);
	/* with the 'b' at the end it matches */
	ck_assert_int_eq(router_glob(pat, s, NA + 1, 0), 1);
	/* too few 'a's for the pattern */
	s[NSTARS - 1] = 'b';
	ck_assert_int_eq(router_glob(pat, s, NSTARS, 0), 0);
	elapsed = now_s() - t0;
	ck_assert_msg(elapsed < 1.0, "pathological glob took %.3f s", elapsed);
	free(s);
}
END_TEST

/* ------------------------------------------------------------ route */

START_TEST(test_route_host_port)
{
	static char *hosts[] = { "example.com" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_HOST, hosts)),
				       .action = FORWARD(fwd_a, 1) } };
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_index(&l, "GET", "example.com", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "example.com:8080", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "example.com:80", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "example.org:8080", "/"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "www.example.com:8080", "/"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "example.com.evil:8080", "/"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "8080", "/"), -1);
}
END_TEST

START_TEST(test_route_host_ipv6)
{
	static char *hosts[] = { "[::1]" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_HOST, hosts)),
				       .action = FORWARD(fwd_a, 1) } };
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_index(&l, "GET", "[::1]:8080", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "[::1]", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "[::2]:8080", "/"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "[::1:8080]", "/"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "127.0.0.1:8080", "/"), -1);
}
END_TEST

START_TEST(test_route_host_ipv4)
{
	static char *hosts[] = { "127.0.0.?" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_HOST, hosts)),
				       .action = FORWARD(fwd_a, 1) } };
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_index(&l, "GET", "127.0.0.1:8080", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "127.0.0.1", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "127.0.0.12", "/"), -1);
}
END_TEST

START_TEST(test_route_host_nocase)
{
	static char *hosts[] = { "Example.COM", "*.api.example.com" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_HOST, hosts)),
				       .action = FORWARD(fwd_a, 1) } };
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_index(&l, "GET", "example.com", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "EXAMPLE.COM", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "eXaMpLe.CoM:443", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "V2.API.Example.Com", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "api.example.com", "/"), -1);
}
END_TEST

START_TEST(test_route_path_query)
{
	static char *p_api[] = { "/api/*" };
	static char *p_exact[] = { "/exact" };
	static char *p_php[] = { "*.php" };
	struct cfg_rule rules[3] = {
		{ CONDS(COND(CFG_COND_PATH, p_api)), .action = FORWARD(fwd_a, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_exact)), .action = FORWARD(fwd_b, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_php)), .action = FORWARD(fwd_c, 1) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 3);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/api/x"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/api/x?y=1"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/exact"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/exact?"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/exact?a=b&c=d"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/exactly"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/index.php?x=1"), 2);
	/* what is in the query never matches */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/search?q=/api/x"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/index.html?f=.php"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/?/exact"), -1);
	/* paths are case-sensitive */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/API/x"), -1);
}
END_TEST

START_TEST(test_route_method)
{
	static char *methods[] = { "POST", "PUT" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_METHOD, methods)),
				       .action = FIXED(&fixed_403) } };
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_index(&l, "POST", "h", "/"), 0);
	ck_assert_int_eq(route_index(&l, "PUT", "h", "/"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/"), -1);
	ck_assert_int_eq(route_index(&l, "post", "h", "/"), -1);
	ck_assert_int_eq(route_index(&l, "POS", "h", "/"), -1);
	ck_assert_int_eq(route_index(&l, "POSTX", "h", "/"), -1);
	ck_assert_int_eq(route_index(&l, "PUTPOST", "h", "/"), -1);
	ck_assert_int_eq(route_index(&l, "", "h", "/"), -1);
}
END_TEST

START_TEST(test_route_and)
{
	static char *hosts[] = { "a.com" };
	static char *paths[] = { "/x/*" };
	static char *methods[] = { "GET" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_HOST, hosts), COND(CFG_COND_PATH, paths),
					     COND(CFG_COND_METHOD, methods)),
				       .action = FORWARD(fwd_a, 1) } };
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/x/1"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "b.com", "/x/1"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/y/1"), -1);
	ck_assert_int_eq(route_index(&l, "POST", "a.com", "/x/1"), -1);
	ck_assert_int_eq(route_index(&l, "POST", "b.com", "/y/1"), -1);
	ck_assert_int_eq(route_index(&l, "GET", NULL, "/x/1"), -1);
}
END_TEST

/* Conditions are ANDed whatever their order and type: the same conditions
 * as above in another order, and two conditions of the same type. */
START_TEST(test_route_and_any_order)
{
	static char *hosts[] = { "a.com" };
	static char *paths[] = { "/x/*" };
	static char *methods[] = { "GET" };
	static char *p_prefix[] = { "/a*" };
	static char *p_suffix[] = { "*z", "*y" };
	struct cfg_rule rules[2] = {
		{ CONDS(COND(CFG_COND_METHOD, methods), COND(CFG_COND_PATH, paths),
			COND(CFG_COND_HOST, hosts)),
		  .action = FORWARD(fwd_a, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_prefix), COND(CFG_COND_PATH, p_suffix)),
		  .action = FIXED(&fixed_403) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 2);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/x/1"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "b.com", "/x/1"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/y/1"), -1);
	ck_assert_int_eq(route_index(&l, "POST", "a.com", "/x/1"), -1);
	ck_assert_int_eq(route_index(&l, "GET", NULL, "/x/1"), -1);

	ck_assert_int_eq(route_index(&l, "GET", "h", "/abz"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/aby?q"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/ab"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/bz"), -1);
}
END_TEST

START_TEST(test_route_or)
{
	static char *hosts[] = { "a.com", "b.com" };
	static char *paths[] = { "/one", "/two/*" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_HOST, hosts),
					     COND(CFG_COND_PATH, paths)),
				       .action = FORWARD(fwd_a, 1) } };
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/one"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "b.com", "/one"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/two/2"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "b.com:81", "/two/2?q"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "c.com", "/one"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/three"), -1);
}
END_TEST

START_TEST(test_route_priority)
{
	static char *p_api[] = { "/api/*" };
	static char *p_v1[] = { "/api/v1/*" };
	static char *p_all[] = { "*" };
	struct cfg_rule rules[3] = {
		{ CONDS(COND(CFG_COND_PATH, p_api)), .action = FIXED(&fixed_403) },
		{ CONDS(COND(CFG_COND_PATH, p_v1)), .action = FORWARD(fwd_b, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_all)), .action = FORWARD(fwd_c, 1) },
	};
	struct cfg_listener l;
	struct router_action a;

	listener_init(&l, rules, 3);
	/* rules 0, 1 and 2 all match: the first (lowest priority number) wins */
	route(&l, "GET", "h", "/api/v1/x", &a);
	ck_assert_ptr_eq(a.rule, &rules[0]);
	ck_assert_ptr_eq(a.action, &rules[0].action);
	expect_fixed(&a, &fixed_403);

	route(&l, "GET", "h", "/other", &a);
	ck_assert_ptr_eq(a.rule, &rules[2]);
	ck_assert_ptr_eq(a.action, &rules[2].action);
	expect_forward(&a, fwd_c, 1, 1);
	ck_assert_ptr_eq(router_pick_forward(&a, 12345), &fwd_c[0]);

	/* with the catch-all first, it takes everything */
	{
		struct cfg_rule r2[2] = {
			{ CONDS(COND(CFG_COND_PATH, p_all)), .action = FORWARD(fwd_c, 1) },
			{ CONDS(COND(CFG_COND_PATH, p_api)), .action = FIXED(&fixed_403) },
		};
		struct cfg_listener l2;

		listener_init(&l2, r2, 2);
		ck_assert_int_eq(route_index(&l2, "GET", "h", "/api/x"), 0);
		ck_assert_int_eq(route_index(&l2, "GET", NULL, "/"), 0);
	}
}
END_TEST

START_TEST(test_route_default_forward)
{
	static char *p_api[] = { "/api/*" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_PATH, p_api)),
				       .action = FIXED(&fixed_403) } };
	struct cfg_listener l;
	struct router_action a;
	uint32_t r;

	listener_init(&l, rules, 1);
	route(&l, "GET", "h", "/index.html", &a);
	ck_assert_ptr_null(a.rule);
	ck_assert_ptr_eq(a.action, &l.default_action);
	expect_forward(&a, fwd_def, 1, 1);
	for (r = 0; r < 100; r++)
		ck_assert_ptr_eq(router_pick_forward(&a, r), &fwd_def[0]);
	ck_assert_ptr_eq(router_pick_forward(&a, UINT32_MAX), &fwd_def[0]);
	ck_assert_ptr_eq(router_pick_forward(&a, 0)->tg, &tg_def);

	/* no rules at all */
	listener_init(&l, NULL, 0);
	route(&l, "GET", NULL, "/", &a);
	ck_assert_ptr_null(a.rule);
	ck_assert_ptr_eq(a.action, &l.default_action);
	expect_forward(&a, fwd_def, 1, 1);
}
END_TEST

START_TEST(test_route_default_fixed)
{
	static char *p_api[] = { "/api/*" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_PATH, p_api)),
				       .action = FORWARD(fwd_a, 1) } };
	struct cfg_listener l;
	struct router_action a;

	const struct cfg_action fixed = FIXED(&fixed_404);

	listener_init(&l, rules, 1);
	l.default_action = fixed;

	route(&l, "GET", "h", "/index.html", &a);
	ck_assert_ptr_null(a.rule);
	ck_assert_ptr_eq(a.action, &l.default_action);
	expect_fixed(&a, &fixed_404);

	/* a matching rule still wins over the default fixed response */
	route(&l, "GET", "h", "/api/1", &a);
	ck_assert_ptr_eq(a.rule, &rules[0]);
	expect_forward(&a, fwd_a, 1, 1);
}
END_TEST

START_TEST(test_route_null_host)
{
	static char *h_all[] = { "*" };
	static char *p_all[] = { "/*" };
	struct cfg_rule rules[2] = {
		{ CONDS(COND(CFG_COND_HOST, h_all)), .action = FORWARD(fwd_a, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_all)), .action = FORWARD(fwd_b, 1) },
	};
	struct cfg_listener l;
	struct router_action a;

	listener_init(&l, rules, 2);
	/* no Host: the host rule is skipped even though "*" matches anything */
	ck_assert_int_eq(route_index(&l, "GET", NULL, "/x"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "anything", "/x"), 0);
	/* an empty Host is a host, and "*" matches it */
	ck_assert_int_eq(route_index(&l, "GET", "", "/x"), 0);

	/* only the host rule: a NULL host falls to the default */
	listener_init(&l, rules, 1);
	route(&l, "GET", NULL, "/x", &a);
	ck_assert_ptr_null(a.rule);
	ck_assert_ptr_eq(a.action, &l.default_action);
	/* NULL host with a non-zero length is still no host */
	memset(&a, 0xa5, sizeof(a));
	route_n(&l, "GET", 3, NULL, 7, "/x", 2, &a);
	ck_assert_ptr_null(a.rule);
}
END_TEST

START_TEST(test_route_lengths)
{
	/* nothing is NUL-terminated: the lengths alone delimit the values */
	static char *hosts[] = { "example.com" };
	static char *paths[] = { "/api" };
	static char *methods[] = { "GET" };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_HOST, hosts), COND(CFG_COND_PATH, paths),
					     COND(CFG_COND_METHOD, methods)),
				       .action = FIXED(&fixed_403) } };
	struct cfg_listener l;
	struct router_action a;
	const char *buf = "GETXexample.comXYZ/apiQQ";

	listener_init(&l, rules, 1);
	route_n(&l, buf, 3, buf + 4, 11, buf + 18, 4, &a);
	ck_assert_ptr_eq(a.rule, &rules[0]);
	route_n(&l, buf, 4, buf + 4, 11, buf + 18, 4, &a);
	ck_assert_ptr_null(a.rule);
	route_n(&l, buf, 3, buf + 4, 12, buf + 18, 4, &a);
	ck_assert_ptr_null(a.rule);
	route_n(&l, buf, 3, buf + 4, 11, buf + 18, 5, &a);
	ck_assert_ptr_null(a.rule);
	/* the port and the query are cut within the given length */
	route_n(&l, "GET", 3, "example.com:80", 14, "/api?x", 6, &a);
	ck_assert_ptr_eq(a.rule, &rules[0]);
}
END_TEST

START_TEST(test_route_rule_forwards)
{
	static char *paths[] = { "/split/*" };
	static struct cfg_forward split[] = { { "a", &tg_a, 2 }, { "b", &tg_b, 5 } };
	struct cfg_rule rules[1] = { { CONDS(COND(CFG_COND_PATH, paths)),
				       .action = FORWARD(split, 7) } };
	struct cfg_listener l;
	struct router_action a;
	unsigned count[2] = { 0, 0 };
	uint32_t r;

	listener_init(&l, rules, 1);
	route(&l, "GET", "h", "/split/x", &a);
	ck_assert_ptr_eq(a.rule, &rules[0]);
	expect_forward(&a, split, 2, 7);
	for (r = 0; r < 700; r++)
		count[router_pick_forward(&a, r) - split]++;
	ck_assert_uint_eq(count[0], 200);
	ck_assert_uint_eq(count[1], 500);
}
END_TEST

/* ------------------------------------------------------------ header, query, source ip, encoded paths */

/* router_route() with a query, header fields and a client address. */
static int route_ex(const struct cfg_listener *l, const char *path, const char *query,
		    const struct http1_header *hdrs, size_t nhdrs, const struct sockaddr *client)
{
	const struct route_req rq = { .method = "GET", .method_len = 3, .host = "h", .host_len = 1,
				      .path = path, .path_len = strlen(path), .query = query,
				      .query_len = query ? strlen(query) : 0, .hdrs = hdrs,
				      .nhdrs = nhdrs, .client = client };
	struct router_action a;

	memset(&a, 0xa5, sizeof(a));
	route_both(l, &rq, &a);
	return rule_index(l, &a);
}

static int route_query(const struct cfg_listener *l, const char *query)
{
	return route_ex(l, "/", query, NULL, 0, NULL);
}

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static int route_hdrs(const struct cfg_listener *l, const struct http1_header *h, size_t n)
{
	return route_ex(l, "/", NULL, h, n, NULL);
}

START_TEST(test_route_path_encoded)
{
	static char *p_api[] = { "/api/*" };
	static char *p_user[] = { "/~user/a-b.c_d" };
	static char *p_slash[] = { "/x%2Fy" };
	struct cfg_rule rules[3] = {
		{ CONDS(COND(CFG_COND_PATH, p_api)), .action = FORWARD(fwd_a, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_user)), .action = FORWARD(fwd_b, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_slash)), .action = FORWARD(fwd_c, 1) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 3);
	/* unreserved characters are decoded, in either hex case */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%61pi/x"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%61%70%69/x"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%7Euser/a-b.c_d"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%7euser/a%2Db%2Ec%5Fd"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/~user/a-b.c_d"), 1);
	/* a decoded character is still compared case-sensitively in a path */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%41pi/x"), -1);
	/* reserved ones stay encoded: %2F is not a '/' */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/api%2Fx"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x%2Fy"), 2);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x/y"), -1);
	/* their hex digits in either case (RFC 3986 6.2.2.1; patterns have
	 * them upper case, config_listeners.c), the rest still case-sensitive */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x%2fy"), 2);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/X%2fy"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x%2fY"), -1);
	/* bad escapes are literal */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/api/%zz"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/api/%"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/api/%4"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%6"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "%"), -1);
	/* the star absorbs an encoded character whole */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/api/%7E%7E"), 0);
}
END_TEST

/* The hex letters of an encoding that stays encoded match in either case,
 * in literal prefixes (the trie) and around wildcards (the glob), whatever
 * the pattern's case: the same text always matches itself. */
START_TEST(test_route_path_encoded_hex_case)
{
	static char *p0[] = { "/%e*" };
	static char *p1[] = { "/%?f" };
	static char *p2[] = { "/x%*a" };
	static char *p3[] = { "/q%2Fr" };
	struct cfg_rule rules[4] = {
		{ CONDS(COND(CFG_COND_PATH, p0)), .action = FORWARD(fwd_a, 1) },
		{ CONDS(COND(CFG_COND_PATH, p1)), .action = FORWARD(fwd_b, 1) },
		{ CONDS(COND(CFG_COND_PATH, p2)), .action = FORWARD(fwd_c, 1) },
		{ CONDS(COND(CFG_COND_PATH, p3)), .action = FORWARD(fwd_a, 1) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 4);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%e2%82%ac"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%E2%82%AC"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%eZ"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%2f"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%2F"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x%2a"), 2);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x%2A"), 2);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/q%2fr"), 3);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/q%2fR"), -1);
	/* a letter outside an encoding is still case-sensitive */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/X%2a"), -1);
}
END_TEST

START_TEST(test_route_path_encoded_glob)
{
	static char *p[] = { "/a?c" };
	static char *p2[] = { "*%41" };
	struct cfg_rule rules[2] = {
		{ CONDS(COND(CFG_COND_PATH, p)), .action = FORWARD(fwd_a, 1) },
		{ CONDS(COND(CFG_COND_PATH, p2)), .action = FORWARD(fwd_b, 1) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 2);
	/* '?' matches one decoded character, i.e. three bytes of an escape */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/a%62c"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/a%2Fc"), -1);
	/* "%41" decodes to 'A', which the pattern's literal '%41' is not */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x%41"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/x%2541"), -1);
}
END_TEST

START_TEST(test_route_header)
{
	static char *vals[] = { "y*", "beta" };
	struct cfg_rule rules[1] = {
		{ CONDS({ .type = CFG_COND_HTTP_HEADER, .header = "x-canary", .values = vals,
			  .nvalues = NELEMS(vals) }),
		  .action = FORWARD(fwd_a, 1) },
	};
	struct cfg_listener l;
	const struct http1_header first[] = { HDR("X-Canary", "yes"), HDR("Host", "h"),
					      HDR("Accept", "*/*") };
	const struct http1_header middle[] = { HDR("Host", "h"), HDR("x-canary", "BETA"),
					       HDR("Accept", "*/*") };
	const struct http1_header last[] = { HDR("Host", "h"), HDR("Accept", "*/*"),
					     HDR("X-CANARY", "Y") };
	const struct http1_header twice[] = { HDR("X-Canary", "no"), HDR("Host", "h"),
					      HDR("X-Canary", "yes") };
	const struct http1_header no[] = { HDR("X-Canary", "no"), HDR("X-Canary-2", "yes"),
					   HDR("X-Canar", "yes"), HDR("Canary", "yes") };
	const struct http1_header other[] = { HDR("Host", "h"), HDR("X-Other", "yes") };
	const struct http1_header empty[] = { HDR("X-Canary", "") };
	const struct http1_header betas[] = { HDR("X-Canary", "betas") };

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_hdrs(&l, first, NELEMS(first)), 0);
	ck_assert_int_eq(route_hdrs(&l, middle, NELEMS(middle)), 0);
	ck_assert_int_eq(route_hdrs(&l, last, NELEMS(last)), 0);
	ck_assert_int_eq(route_hdrs(&l, twice, NELEMS(twice)), 0);
	ck_assert_int_eq(route_hdrs(&l, no, NELEMS(no)), -1);
	ck_assert_int_eq(route_hdrs(&l, other, NELEMS(other)), -1);
	ck_assert_int_eq(route_hdrs(&l, empty, NELEMS(empty)), -1);
	ck_assert_int_eq(route_hdrs(&l, betas, NELEMS(betas)), -1);
	ck_assert_int_eq(route_hdrs(&l, NULL, 0), -1);
}
END_TEST

START_TEST(test_route_header_any_value)
{
	static char *vals[] = { "*" };
	static char *vals_q[] = { "a?c" };
	struct cfg_rule rules[2] = {
		{ CONDS({ .type = CFG_COND_HTTP_HEADER, .header = "x-any", .values = vals,
			  .nvalues = 1 }),
		  .action = FORWARD(fwd_a, 1) },
		{ CONDS({ .type = CFG_COND_HTTP_HEADER, .header = "x-q", .values = vals_q,
			  .nvalues = 1 }),
		  .action = FORWARD(fwd_b, 1) },
	};
	struct cfg_listener l;
	const struct http1_header e[] = { HDR("X-Any", "") };
	const struct http1_header q1[] = { HDR("X-Q", "AbC") };
	const struct http1_header q2[] = { HDR("X-Q", "ac") };
	const struct http1_header q3[] = { HDR("X-Q", "a%62c") };

	listener_init(&l, rules, 2);
	/* "*" matches a field that is present, even empty */
	ck_assert_int_eq(route_hdrs(&l, e, 1), 0);
	ck_assert_int_eq(route_hdrs(&l, q1, 1), 1);
	ck_assert_int_eq(route_hdrs(&l, q2, 1), -1);
	/* header values are not percent-decoded */
	ck_assert_int_eq(route_hdrs(&l, q3, 1), -1);
}
END_TEST

START_TEST(test_route_query)
{
	static struct cfg_query_pair pairs[] = { { "v", "2" }, { NULL, "x*" } };
	struct cfg_rule rules[1] = {
		{ CONDS({ .type = CFG_COND_QUERY_STRING, .pairs = pairs, .npairs = NELEMS(pairs) }),
		  .action = FORWARD(fwd_a, 1) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_query(&l, "v=2"), 0);
	ck_assert_int_eq(route_query(&l, "a=1&v=2"), 0);
	ck_assert_int_eq(route_query(&l, "v=2&a=1"), 0);
	ck_assert_int_eq(route_query(&l, "V=2"), 0);           /* case-insensitive */
	ck_assert_int_eq(route_query(&l, "v=3"), -1);
	ck_assert_int_eq(route_query(&l, "v=22"), -1);
	ck_assert_int_eq(route_query(&l, "vv=2"), -1);
	ck_assert_int_eq(route_query(&l, "=2"), -1);
	/* repeated keys: any occurrence */
	ck_assert_int_eq(route_query(&l, "v=1&v=2"), 0);
	ck_assert_int_eq(route_query(&l, "v=1&v=3"), -1);
	/* a value alone matches under any key */
	ck_assert_int_eq(route_query(&l, "q=xyz"), 0);
	ck_assert_int_eq(route_query(&l, "q=XYZ"), 0);
	ck_assert_int_eq(route_query(&l, "x=q"), -1);
	ck_assert_int_eq(route_query(&l, "=x"), 0);
	/* a parameter without '=' is a key with an empty value */
	ck_assert_int_eq(route_query(&l, "x"), -1);
	ck_assert_int_eq(route_query(&l, "v"), -1);
	/* empty parameters are skipped */
	ck_assert_int_eq(route_query(&l, "&&v=2&"), 0);
	ck_assert_int_eq(route_query(&l, "&"), -1);
	ck_assert_int_eq(route_query(&l, ""), -1);
	ck_assert_int_eq(route_query(&l, NULL), -1);
	/* percent-decoded, keys and values alike */
	ck_assert_int_eq(route_query(&l, "%76=%32"), 0);
	ck_assert_int_eq(route_query(&l, "%56=2"), 0);
	ck_assert_int_eq(route_query(&l, "q=%78yz"), 0);
	/* an encoded '&' or '=' does not split */
	ck_assert_int_eq(route_query(&l, "a=1%26v=2"), -1);
	ck_assert_int_eq(route_query(&l, "v%3D2"), -1);
	/* bad escapes are literal */
	ck_assert_int_eq(route_query(&l, "v=%2"), -1);
	ck_assert_int_eq(route_query(&l, "q=x%zz"), 0);
	ck_assert_int_eq(route_query(&l, "q=x%"), 0);
	/* '#' is no delimiter (the HTTP/1 parser refuses a target with one) */
	ck_assert_int_eq(route_query(&l, "v=2#f"), -1);
	ck_assert_int_eq(route_query(&l, "v=3#&v=2"), 0);
	/* the query in the path when route_req has none */
	ck_assert_int_eq(route_ex(&l, "/p?v=2", NULL, NULL, 0, NULL), 0);
	ck_assert_int_eq(route_ex(&l, "/p?v=3", NULL, NULL, 0, NULL), -1);
	ck_assert_int_eq(route_ex(&l, "/p?v=3", "v=2", NULL, 0, NULL), 0);
}
END_TEST

START_TEST(test_route_query_plus_escapes)
{
	static struct cfg_query_pair sp[] = { { "q", "a b" } };
	static struct cfg_query_pair plus[] = { { "p", "a+b" } };
	static struct cfg_query_pair star[] = { { "k", "\\*" } };
	static struct cfg_query_pair qmark[] = { { "w\\?", "1" } };
	static struct cfg_query_pair empty[] = { { "e", "*" } };
	struct cfg_rule rules[5] = {
		{ CONDS({ .type = CFG_COND_QUERY_STRING, .pairs = sp, .npairs = 1 }),
		  .action = FORWARD(fwd_a, 1) },
		{ CONDS({ .type = CFG_COND_QUERY_STRING, .pairs = plus, .npairs = 1 }),
		  .action = FORWARD(fwd_b, 1) },
		{ CONDS({ .type = CFG_COND_QUERY_STRING, .pairs = star, .npairs = 1 }),
		  .action = FORWARD(fwd_c, 1) },
		{ CONDS({ .type = CFG_COND_QUERY_STRING, .pairs = qmark, .npairs = 1 }),
		  .action = FIXED(&fixed_403) },
		{ CONDS({ .type = CFG_COND_QUERY_STRING, .pairs = empty, .npairs = 1 }),
		  .action = FIXED(&fixed_404) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 5);
	/* '+' is not a space (RFC 3986); %20 is */
	ck_assert_int_eq(route_query(&l, "q=a%20b"), 0);
	ck_assert_int_eq(route_query(&l, "q=a+b"), -1);
	ck_assert_int_eq(route_query(&l, "p=a+b"), 1);
	ck_assert_int_eq(route_query(&l, "p=a%2Bb"), 1);
	ck_assert_int_eq(route_query(&l, "p=a%20b"), -1);
	/* escaped wildcards are literal */
	ck_assert_int_eq(route_query(&l, "k=*"), 2);
	ck_assert_int_eq(route_query(&l, "k=%2a"), 2);
	ck_assert_int_eq(route_query(&l, "k=x"), -1);
	ck_assert_int_eq(route_query(&l, "w?=1"), 3);
	ck_assert_int_eq(route_query(&l, "w%3F=1"), 3);
	ck_assert_int_eq(route_query(&l, "wx=1"), -1);
	/* an empty value matches '*' */
	ck_assert_int_eq(route_query(&l, "e="), 4);
	ck_assert_int_eq(route_query(&l, "e"), 4);
}
END_TEST

/* A CIDR from its text, as config_load() would leave it. */
static struct cfg_cidr cidr(const char *addr, unsigned prefix)
{
	struct cfg_cidr c;

	memset(&c, 0, sizeof c);
	c.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	c.prefix = prefix;
	ck_assert_int_eq(inet_pton(c.family, addr, c.addr), 1);
	return c;
}

static int route_from(const struct cfg_listener *l, const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return route_ex(l, "/", NULL, NULL, 0, (const struct sockaddr *)&ss);
}

START_TEST(test_route_source_ip)
{
	struct cfg_cidr nets[] = { cidr("10.0.0.0", 8), cidr("2001:db8::", 32),
				   cidr("172.16.0.0", 12) };
	struct cfg_cidr exact[] = { cidr("192.0.2.7", 32), cidr("::1", 128) };
	struct cfg_cidr mapped[] = { cidr("::ffff:0:0", 96) };
	struct cfg_rule rules[3] = {
		{ CONDS({ .type = CFG_COND_SOURCE_IP, .cidrs = nets, .ncidrs = NELEMS(nets) }),
		  .action = FORWARD(fwd_a, 1) },
		{ CONDS({ .type = CFG_COND_SOURCE_IP, .cidrs = exact, .ncidrs = NELEMS(exact) }),
		  .action = FORWARD(fwd_b, 1) },
		{ CONDS({ .type = CFG_COND_SOURCE_IP, .cidrs = mapped, .ncidrs = 1 }),
		  .action = FORWARD(fwd_c, 1) },
	};
	struct cfg_listener l;

	listener_init(&l, rules, 3);
	ck_assert_int_eq(route_from(&l, "10.0.0.0"), 0);
	ck_assert_int_eq(route_from(&l, "10.255.255.255"), 0);
	ck_assert_int_eq(route_from(&l, "11.0.0.0"), -1);
	ck_assert_int_eq(route_from(&l, "9.255.255.255"), -1);
	ck_assert_int_eq(route_from(&l, "172.31.255.255"), 0);  /* /12: not byte-aligned */
	ck_assert_int_eq(route_from(&l, "172.32.0.0"), -1);
	ck_assert_int_eq(route_from(&l, "172.15.255.255"), -1);
	ck_assert_int_eq(route_from(&l, "2001:db8::1"), 0);
	ck_assert_int_eq(route_from(&l, "2001:db8:ffff:ffff::"), 0);
	ck_assert_int_eq(route_from(&l, "2001:db9::"), -1);
	/* an IPv4-mapped client matches IPv4 networks */
	ck_assert_int_eq(route_from(&l, "::ffff:10.1.2.3"), 0);
	ck_assert_int_eq(route_from(&l, "::ffff:192.0.2.7"), 1);
	/* /32 and /128 are one address */
	ck_assert_int_eq(route_from(&l, "192.0.2.7"), 1);
	ck_assert_int_eq(route_from(&l, "192.0.2.8"), -1);
	ck_assert_int_eq(route_from(&l, "192.0.2.6"), -1);
	ck_assert_int_eq(route_from(&l, "::1"), 1);
	ck_assert_int_eq(route_from(&l, "::2"), -1);
	ck_assert_int_eq(route_from(&l, "::"), -1);
	/* an IPv6 network matches the mapped form, not a plain IPv4 client */
	ck_assert_int_eq(route_from(&l, "::ffff:1.2.3.4"), 2);
	ck_assert_int_eq(route_from(&l, "1.2.3.4"), -1);
	/* 10.0.0.1 embedded other ways is IPv6, not IPv4 */
	ck_assert_int_eq(route_from(&l, "::10.0.0.1"), -1);
	ck_assert_int_eq(route_from(&l, "64:ff9b::10.0.0.1"), -1);
	/* no client address: no match */
	ck_assert_int_eq(route_ex(&l, "/", NULL, NULL, 0, NULL), -1);
}
END_TEST

START_TEST(test_route_source_ip_all)
{
	struct cfg_cidr v4all[] = { cidr("0.0.0.0", 0) };
	struct cfg_cidr v6all[] = { cidr("::", 0) };
	struct cfg_rule rules[2] = {
		{ CONDS({ .type = CFG_COND_SOURCE_IP, .cidrs = v4all, .ncidrs = 1 }),
		  .action = FORWARD(fwd_a, 1) },
		{ CONDS({ .type = CFG_COND_SOURCE_IP, .cidrs = v6all, .ncidrs = 1 }),
		  .action = FORWARD(fwd_b, 1) },
	};
	struct cfg_listener l;
	struct fake_un { sa_family_t f; char p[8]; } un = { AF_UNIX, "x" };

	listener_init(&l, rules, 2);
	ck_assert_int_eq(route_from(&l, "0.0.0.0"), 0);
	ck_assert_int_eq(route_from(&l, "255.255.255.255"), 0);
	ck_assert_int_eq(route_from(&l, "::ffff:127.0.0.1"), 0);
	ck_assert_int_eq(route_from(&l, "::1"), 1);
	ck_assert_int_eq(route_from(&l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
	/* another family matches nothing */
	ck_assert_int_eq(route_ex(&l, "/", NULL, NULL, 0, (const struct sockaddr *)&un), -1);
}
END_TEST

/* Every condition must hold: a header, a query and a source together. */
START_TEST(test_route_new_and)
{
	static char *vals[] = { "1" };
	static struct cfg_query_pair pairs[] = { { "a", "b" } };
	struct cfg_cidr nets[] = { cidr("127.0.0.0", 8) };
	struct cfg_rule rules[1] = {
		{ CONDS({ .type = CFG_COND_HTTP_HEADER, .header = "x-a", .values = vals, .nvalues = 1 },
			{ .type = CFG_COND_QUERY_STRING, .pairs = pairs, .npairs = 1 },
			{ .type = CFG_COND_SOURCE_IP, .cidrs = nets, .ncidrs = 1 }),
		  .action = FORWARD(fwd_a, 1) },
	};
	struct cfg_listener l;
	const struct http1_header h[] = { HDR("X-A", "1") };
	const struct http1_header h0[] = { HDR("X-A", "0") };
	struct sockaddr_in lo = { .sin_family = AF_INET }, ext = { .sin_family = AF_INET };

	lo.sin_addr.s_addr = htonl(0x7f000001);
	ext.sin_addr.s_addr = htonl(0x08080808);
	listener_init(&l, rules, 1);
	ck_assert_int_eq(route_ex(&l, "/", "a=b", h, 1, (struct sockaddr *)&lo), 0);
	ck_assert_int_eq(route_ex(&l, "/", "a=c", h, 1, (struct sockaddr *)&lo), -1);
	ck_assert_int_eq(route_ex(&l, "/", "a=b", h0, 1, (struct sockaddr *)&lo), -1);
	ck_assert_int_eq(route_ex(&l, "/", "a=b", h, 1, (struct sockaddr *)&ext), -1);
}
END_TEST

/* ------------------------------------------------------------ pick_forward */

START_TEST(test_pick_forward_13)
{
	static struct cfg_forward f[] = { { "a", &tg_a, 1 }, { "b", &tg_b, 3 } };
	const struct cfg_action act = FORWARD(f, 4);
	struct router_action a = { .action = &act };
	unsigned count[2] = { 0, 0 };
	uint32_t r;

	for (r = 0; r < 4000; r++) {
		const struct cfg_forward *got = router_pick_forward(&a, r);

		ck_assert(got == &f[0] || got == &f[1]);
		count[got - f]++;
	}
	ck_assert_uint_eq(count[0], 1000);
	ck_assert_uint_eq(count[1], 3000);

	/* the top of the generator's range splits the same way */
	count[0] = count[1] = 0;
	for (r = UINT32_MAX - 3999;; r++) {
		count[router_pick_forward(&a, r) - f]++;
		if (r == UINT32_MAX)
			break;
	}
	ck_assert_uint_eq(count[0], 1000);
	ck_assert_uint_eq(count[1], 3000);
}
END_TEST

/* router_spread(): successive picks give each group its share within 4
 * picks at any point (a Weyl sequence's low discrepancy; 3.5 at most over
 * 20,000 picks of these weights), and no long runs of one group. */
START_TEST(test_pick_forward_spread)
{
	static struct cfg_forward f[3] = { { .weight = 1 }, { .weight = 9 }, { .weight = 0 } };
	static const unsigned w[][3] = { { 1, 9, 0 }, { 1, 3, 0 }, { 1, 1, 0 }, { 2, 2, 1 }, { 999, 1, 0 } };
	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
		unsigned total = 0;
		for (int i = 0; i < 3; i++)
			total += f[i].weight = w[k][i];
		struct cfg_action act = { .type = CFG_ACT_FORWARD };
		act.u.forward.groups = f;
		act.u.forward.ngroups = 3;
		act.u.forward.weight_total = total;
		struct router_action a = { &act, NULL, 0 };
		unsigned count[3] = { 0 }, run = 0, maxrun = 0;
		const struct cfg_forward *prev = NULL;
		for (uint32_t n = 0; n < 2000; n++) {
			const struct cfg_forward *got = router_pick_forward(&a, router_spread(n, total));
			count[got - f]++;
			run = got == prev ? run + 1 : 1;
			prev = got;
			if (run > maxrun && got->weight * 2 <= total)
				maxrun = run;
			for (int i = 0; i < 3; i++) {
				double want = (double)(n + 1) * f[i].weight / total;
				ck_assert_msg(fabs(count[i] - want) < 4, "weights %u:%u:%u, after %u picks group %d has %u, want %.1f",
					      w[k][0], w[k][1], w[k][2], n + 1, i, count[i], want);
			}
		}
		/* a group of at most half the weight never comes more than twice running */
		ck_assert_uint_le(maxrun, 2);
	}
}
END_TEST

START_TEST(test_pick_forward_weight_zero)
{
	static struct cfg_forward f[] = {
		{ "z0", &tg_c, 0 }, { "a", &tg_a, 1 },  { "z1", &tg_c, 0 },
		{ "b", &tg_b, 3 },  { "z2", &tg_c, 0 },
	};
	const struct cfg_action act = FORWARD(f, 4);
	struct router_action a = { .action = &act };
	unsigned count[5] = { 0, 0, 0, 0, 0 };
	uint32_t r;

	for (r = 0; r < 4000; r++) {
		const struct cfg_forward *got = router_pick_forward(&a, r);

		ck_assert_ptr_nonnull(got);
		ck_assert(got >= f && got < f + 5);
		ck_assert_uint_ne(got->weight, 0);
		count[got - f]++;
	}
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_eq(count[2], 0);
	ck_assert_uint_eq(count[4], 0);
	ck_assert_uint_eq(count[1], 1000);
	ck_assert_uint_eq(count[3], 3000);

	/* one weighted entry among zero-weight ones gets everything */
	{
		static struct cfg_forward g[] = { { "z", &tg_c, 0 }, { "b", &tg_b, 2 } };
		const struct cfg_action act2 = FORWARD(g, 2);
		struct router_action b = { .action = &act2 };

		for (r = 0; r < 100; r++)
			ck_assert_ptr_eq(router_pick_forward(&b, r), &g[1]);
	}
}
END_TEST


/* ------------------------------------------------------------ the index against the linear scan */

/* A reproducible generator (xorshift64*), so a failure can be replayed. */
static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (uint32_t)((rnd_state * 2685821657736338717ull) >> 32) % n;
}

/* Host patterns: literals (also in upper case, and the same literal twice
 * in different case), wildcards, IP literals. */
static char *host_pool[] = { "a.com", "b.com", "A.COM", "x.a.com", "*.a.com", "a.?om", "*",
			     "c.org", "[::1]", "10.0.0.1", "b.co*", "localhost", "a.com." };
/* Path patterns as config_load() leaves them (encoded unreserved characters
 * decoded, others kept): exact, prefixes, wildcards, a reserved escape; and
 * a '%' that starts no encoding followed by hex letters, of either case,
 * some decoded ("/%%61" is "/%a", "/100%%66ree" "/100%free"). */
static char *path_pool[] = { "/", "/a", "/a/*", "/a*", "*", "/b?c", "/abc", "/a%2Fb", "/~x/*",
			     "*/c", "/A/*", "/abc*", "/%a", "/%a*", "/%A", "/%aB*", "/100%free", "/%e*",
			     "/%Ea" };
static char *method_pool[] = { "GET", "POST", "HEAD" };
static char *hval_pool[] = { "y*", "n", "*" };

/* Requests: hosts in any case, with ports, encoded, missing. */
static const char *rq_hosts[] = { "a.com", "A.COM", "a.com:8080", "B.Com:1", "x.a.com", "X.A.COM:443",
				  "c.org", "[::1]", "[::1]:80", "10.0.0.1:9", "a.com.", "a%2ecom",
				  "", ":80", "b.cod", "localhost", NULL, "a.coM" };
static const char *rq_paths[] = { "/", "/a", "/a/", "/a/b", "/abc", "/%61bc", "/%61/x", "/b%63",
				  "/bxc", "/a%2Fb", "/a%2fb", "/a/b?q=1", "/%7Ex/y", "/~x/", "/x/c",
				  "/A/b", "", "/abcdef", "/a%2", "/%%61", "/%a", "/%A", "/%%41", "/%ab", "/%AB",
				  "/%aB", "/%%61b", "/%%61%62", "/%%61B", "/100%%66ree", "/100%free", "/100%Free",
				  "/%e", "/%E", "/%%65", "/%%45", "/%ea", "/%Ea", "/%%65a", "/%e%61" };

static void gen_cond(struct cfg_condition *cd)
{
	size_t j;

	memset(cd, 0, sizeof(*cd));
	cd->line = 1;
	switch (rnd(5)) {
	case 0:
	case 1:
		cd->type = CFG_COND_HOST;
		cd->nvalues = 1 + rnd(3);
		cd->values = calloc(cd->nvalues, sizeof(char *));
		ck_assert_ptr_nonnull(cd->values);
		for (j = 0; j < cd->nvalues; j++)
			cd->values[j] = host_pool[rnd(NELEMS(host_pool))];
		break;
	case 2:
		cd->type = CFG_COND_PATH;
		cd->nvalues = 1 + rnd(2);
		cd->values = calloc(cd->nvalues, sizeof(char *));
		ck_assert_ptr_nonnull(cd->values);
		for (j = 0; j < cd->nvalues; j++)
			cd->values[j] = path_pool[rnd(NELEMS(path_pool))];
		break;
	case 3:
		cd->type = CFG_COND_METHOD;
		cd->nvalues = 1;
		cd->values = calloc(1, sizeof(char *));
		ck_assert_ptr_nonnull(cd->values);
		cd->values[0] = method_pool[rnd(NELEMS(method_pool))];
		break;
	default:
		cd->type = CFG_COND_HTTP_HEADER;
		cd->header = "x-h";
		cd->nvalues = 1;
		cd->values = calloc(1, sizeof(char *));
		ck_assert_ptr_nonnull(cd->values);
		cd->values[0] = hval_pool[rnd(NELEMS(hval_pool))];
		break;
	}
}

/* NRULES random rules into a fresh listener L: most have a host condition
 * (sometimes two), some a path, some other conditions. */
static struct cfg_rule *gen_rules(struct cfg_listener *l, size_t nrules)
{
	struct cfg_rule *rules = calloc(nrules ? nrules : 1, sizeof(*rules));
	static const struct cfg_action actions[] = { FORWARD(fwd_a, 1), FORWARD(fwd_b, 1), FIXED(&fixed_403) };
	size_t i, c;

	ck_assert_ptr_nonnull(rules);
	for (i = 0; i < nrules; i++) {
		struct cfg_rule *r = &rules[i];

		r->nconds = 1 + rnd(3);
		r->conds = calloc(r->nconds, sizeof(*r->conds));
		ck_assert_ptr_nonnull(r->conds);
		for (c = 0; c < r->nconds; c++)
			gen_cond(&r->conds[c]);
		r->action = actions[rnd(NELEMS(actions))];
	}
	listener_init(l, rules, nrules);
	return rules;
}

static void free_rules(struct cfg_rule *rules, size_t nrules)
{
	size_t i, c;

	for (i = 0; i < nrules; i++) {
		for (c = 0; c < rules[i].nconds; c++)
			free(rules[i].conds[c].values);
		free(rules[i].conds);
	}
	free(rules);
}

/* Route NREQ random requests through IX and through the linear scan of L.
 * Returns how many matched a rule (not the default). */
static unsigned differential(const struct cfg_listener *l, const struct router_index *ix, unsigned nreq)
{
	static const struct http1_header hdrs[][1] = { { HDR("X-H", "yes") }, { HDR("x-h", "n") },
						       { HDR("x-other", "y") } };
	unsigned k, matched = 0;

	for (k = 0; k < nreq; k++) {
		const char *host = rq_hosts[rnd(NELEMS(rq_hosts))];
		const char *path = rq_paths[rnd(NELEMS(rq_paths))];
		const char *method = method_pool[rnd(NELEMS(method_pool))];
		size_t h = rnd(NELEMS(hdrs) + 1);
		const struct route_req rq = { .method = method, .method_len = strlen(method), .host = host,
					      .host_len = host ? strlen(host) : 0, .path = path,
					      .path_len = strlen(path), .hdrs = h < NELEMS(hdrs) ? hdrs[h] : NULL,
					      .nhdrs = h < NELEMS(hdrs) ? 1 : 0 };
		struct router_action a, b;

		memset(&a, 0xa5, sizeof(a));
		memset(&b, 0x5a, sizeof(b));
		router_route(ix, &rq, &a);
		router_route_linear(l, &rq, &b);
		if (a.action != b.action || a.rule != b.rule || a.evaluated != b.evaluated)
			ck_abort_msg("index and linear scan differ: %zu rules, host %s, path %s, "
				     "method %s, header %zu: rule %d vs %d, evaluated %u vs %u",
				     l->nrules, host ? host : "(none)", path, method, h, rule_index(l, &a),
				     rule_index(l, &b), a.evaluated, b.evaluated);
		ck_assert_ptr_nonnull(a.action);
		matched += a.rule != NULL;
	}
	return matched;
}

START_TEST(test_index_differential)
{
	unsigned set, matched = 0, total = 0;

	rnd_state = 0x9e3779b97f4a7c15ull;
	for (set = 0; set < 3000; set++) {
		struct cfg_listener l;
		size_t nrules = rnd(set % 10 == 0 ? 200 : 24);
		struct cfg_rule *rules = gen_rules(&l, nrules);
		struct router_index *ix = router_index_build(&l);

		ck_assert_ptr_nonnull(ix);
		matched += differential(&l, ix, 60);
		total += 60;
		router_index_free(ix);
		free_rules(rules, nrules);
	}
	/* the generator must exercise both outcomes */
	ck_assert_uint_gt(matched, total / 10);
	ck_assert_uint_lt(matched, total - total / 10);
}
END_TEST

/* The same literal host in several rules, at different priorities and in
 * different case: the first whose other conditions match wins. */
START_TEST(test_index_same_host)
{
	static char *h_a[] = { "a.com" }, *h_A[] = { "A.Com", "b.com" }, *h_b[] = { "b.com" };
	static char *p_x[] = { "/x/*" }, *p_y[] = { "/y" };
	struct cfg_rule rules[] = {
		{ CONDS(COND(CFG_COND_HOST, h_a), COND(CFG_COND_PATH, p_x)), .action = FIXED(&fixed_403) },
		{ CONDS(COND(CFG_COND_HOST, h_b)), .action = FORWARD(fwd_b, 1) },
		{ CONDS(COND(CFG_COND_PATH, p_y), COND(CFG_COND_HOST, h_A)), .action = FORWARD(fwd_a, 1) },
		{ CONDS(COND(CFG_COND_HOST, h_A)), .action = FORWARD(fwd_c, 1) },
	};
	struct cfg_listener l;
	struct router_action a;

	listener_init(&l, rules, NELEMS(rules));
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/x/1"), 0);
	ck_assert_int_eq(route_index(&l, "GET", "A.COM:80", "/y"), 2);
	ck_assert_int_eq(route_index(&l, "GET", "a.com", "/z"), 3);
	ck_assert_int_eq(route_index(&l, "GET", "b.com", "/y"), 1);
	ck_assert_int_eq(route_index(&l, "GET", "c.com", "/y"), -1);
	route(&l, "GET", "a.com", "/z", &a);
	ck_assert_uint_eq(a.evaluated, 4);
	expect_forward(&a, fwd_c, 1, 1);
}
END_TEST

/* A wildcard host rule with a lower priority number than a literal one
 * comes first, though the literal one is found through the hash table. */
START_TEST(test_index_wildcard_first)
{
	static char *h_w[] = { "*.com" }, *h_lit[] = { "a.com" }, *p_a[] = { "/a*" };
	struct cfg_rule rules[] = {
		{ CONDS(COND(CFG_COND_PATH, p_a)), .action = FIXED(&fixed_404) },
		{ CONDS(COND(CFG_COND_HOST, h_w)), .action = FIXED(&fixed_403) },
		{ CONDS(COND(CFG_COND_HOST, h_lit)), .action = FORWARD(fwd_a, 1) },
	};
	struct cfg_listener l;
	struct router_action a;

	listener_init(&l, rules, NELEMS(rules));
	route(&l, "GET", "a.com", "/b", &a);
	ck_assert_int_eq(rule_index(&l, &a), 1);
	ck_assert_uint_eq(a.evaluated, 2);
	route(&l, "GET", "a.com", "/a", &a);
	ck_assert_int_eq(rule_index(&l, &a), 0);
	ck_assert_uint_eq(a.evaluated, 1);
	route(&l, "GET", "a.org", "/b", &a);
	ck_assert_int_eq(rule_index(&l, &a), -1);
	ck_assert_uint_eq(a.evaluated, 3);
	expect_forward(&a, fwd_def, 1, 1);
	route(&l, "GET", NULL, "/%61", &a);
	ck_assert_int_eq(rule_index(&l, &a), 0);
}
END_TEST

/* No rules at all: the default, zero rules evaluated. */
START_TEST(test_index_no_rules)
{
	struct cfg_listener l;
	struct router_action a;

	listener_init(&l, NULL, 0);
	route(&l, "GET", "a.com", "/", &a);
	ck_assert_ptr_null(a.rule);
	ck_assert_uint_eq(a.evaluated, 0);
	expect_forward(&a, fwd_def, 1, 1);
}
END_TEST

/* 1000 host+path rules, as the benchmark has them: the last one is found
 * through the index, with the linear scan's count. */
START_TEST(test_index_1000)
{
	enum { N = 1000 };
	static char hosts[N][32], paths[N][32];
	static char *hv[N][1], *pv[N][1];
	static struct cfg_condition conds[N][2];
	static struct cfg_rule rules[N];
	struct cfg_listener l;
	struct router_index *ix;
	struct router_action a;
	char path[64];
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(hosts[i], sizeof(hosts[i]), "h%zu.example.com", i);
		snprintf(paths[i], sizeof(paths[i]), "/p%zu/*", i);
		hv[i][0] = hosts[i];
		pv[i][0] = paths[i];
		conds[i][0] = (struct cfg_condition){ .type = CFG_COND_HOST, .values = hv[i], .nvalues = 1 };
		conds[i][1] = (struct cfg_condition){ .type = CFG_COND_PATH, .values = pv[i], .nvalues = 1 };
		rules[i] = (struct cfg_rule){ .conds = conds[i], .nconds = 2,
					      .action = i % 2 ? (struct cfg_action)FORWARD(fwd_a, 1)
							      : (struct cfg_action)FIXED(&fixed_403) };
	}
	listener_init(&l, rules, N);
	ix = router_index_build(&l);
	ck_assert_ptr_nonnull(ix);
	for (i = 0; i < N; i += 37) {
		struct route_req rq = { .method = "GET", .method_len = 3, .host = hosts[i],
					.host_len = strlen(hosts[i]) };

		snprintf(path, sizeof(path), "/p%zu/x", i);
		rq.path = path;
		rq.path_len = strlen(path);
		router_route(ix, &rq, &a);
		ck_assert_ptr_eq(a.rule, &rules[i]);
		ck_assert_uint_eq(a.evaluated, i + 1);
		/* the right host, another rule's path: the default */
		snprintf(path, sizeof(path), "/p%zu/x", (i + 1) % N);
		rq.path_len = strlen(path);
		router_route(ix, &rq, &a);
		ck_assert_ptr_null(a.rule);
		ck_assert_uint_eq(a.evaluated, N);
	}
	ck_assert_int_eq(route_index(&l, "GET", "H999.EXAMPLE.COM:8080", "/p999/"), 999);
	router_index_free(ix);
}
END_TEST

/* Deeply nested path prefixes, in one host's list and in the generic one:
 * more than the router merges at once, so both fall back to their whole
 * list; and exact paths beside them. Every answer is the linear scan's
 * (route() checks). */
START_TEST(test_index_deep_prefixes)
{
	enum { N = 80 };
	static char pats[N][N + 4];
	static char *pv[N][1], *hv[] = { "deep.example" };
	static struct cfg_condition conds[N][2];
	static struct cfg_rule rules[N];
	struct cfg_listener l;
	char path[N + 8];
	size_t i, d;

	for (i = 0; i < N; i++) {
		size_t depth = (N - 1 - i) / 2; /* deeper prefixes first */

		pats[i][0] = '/';
		memset(pats[i] + 1, 'a', depth);
		pats[i][depth + 1] = i % 5 == 4 ? '\0' : '*'; /* some exact */
		pats[i][depth + 2] = '\0';
		pv[i][0] = pats[i];
		conds[i][0] = (struct cfg_condition){ .type = CFG_COND_PATH, .values = pv[i], .nvalues = 1 };
		conds[i][1] = (struct cfg_condition){ .type = CFG_COND_HOST, .values = hv, .nvalues = 1 };
		rules[i] = (struct cfg_rule){ .conds = conds[i], .nconds = i % 2 ? 2 : 1,
					      .action = (struct cfg_action)FIXED(&fixed_403) };
	}
	listener_init(&l, rules, N);
	for (d = 0; d < N; d++) {
		path[0] = '/';
		memset(path + 1, 'a', d);
		path[d + 1] = '\0';
		(void)route_index(&l, "GET", "deep.example", path);
		(void)route_index(&l, "GET", "other.example", path);
		/* an encoded 'a' walks the trie the same way */
		if (d > 0) {
			memcpy(path + d, "%61", 4);
			(void)route_index(&l, "GET", "DEEP.example:1", path);
		}
	}
	ck_assert_int_eq(route_index(&l, "GET", "deep.example", "/"), N - 2);
}
END_TEST

/* A letter that decoding made ("%61" is 'a') where the pattern has a hex
 * letter after a '%' that starts no encoding: the scan compares it
 * exactly, and the trie (a list of 10 path rules has one) must find the
 * same rule. config_load() makes "/%%61" the pattern "/%a", "/100%%66ree"
 * "/100%free". A hex letter the request has as is still matches in
 * either case; one decoding made, in its own case only. */
START_TEST(test_index_decoded_hex_letter)
{
	static char *pv[10][1] = { { "/p0" }, { "/p1" }, { "/p2" }, { "/p3" }, { "/%a" }, { "/100%free" },
				   { "/p6*" }, { "/p7" }, { "/%aB" }, { "/p9" } };
	static struct cfg_condition conds[10];
	static struct cfg_rule rules[10];
	struct cfg_listener l;
	size_t i;

	for (i = 0; i < 10; i++) {
		conds[i] = (struct cfg_condition){ .type = CFG_COND_PATH, .values = pv[i], .nvalues = 1 };
		rules[i] = (struct cfg_rule){ .conds = &conds[i], .nconds = 1, .action = FIXED(&fixed_403) };
	}
	listener_init(&l, rules, 10);
	/* route() checks the index against the scan; the answers are the scan's */
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%%61"), 4);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%a"), 4);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%A"), 4);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%%41"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/100%%66ree"), 5);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/100%free"), 5);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/100%Free"), 5);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/100%%46ree"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%ab"), 8);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%AB"), 8);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%%61B"), 8);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%%61%42"), 8);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%%61b"), -1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%%41B"), -1);
	/* the same single rule alone (no trie) agrees */
	listener_init(&l, &rules[4], 1);
	ck_assert_int_eq(route_index(&l, "GET", "h", "/%%61"), 0);
}
END_TEST

/* Patterns with both cases of many hex letters: a request's hex letters
 * (either case) fork the walk at each, more than it keeps pending, so it
 * takes the whole list; the answers are still the scan's. */
START_TEST(test_index_hex_forks)
{
	enum { TRIPLETS = 20, LETTERS = 2 * TRIPLETS, N = LETTERS + 1 };
	static char pats[N][3 * TRIPLETS + 2];
	static char *pv[N][1];
	static struct cfg_condition conds[N];
	static struct cfg_rule rules[N];
	char upper[3 * TRIPLETS + 2], lowered[3 * TRIPLETS + 2];
	struct cfg_listener l;
	size_t i, j;

	upper[0] = '/';
	for (i = 0; i < TRIPLETS; i++)
		memcpy(upper + 1 + 3 * i, "%AB", 3);
	upper[1 + 3 * TRIPLETS] = '\0';
	for (j = 0; j < N; j++) {
		/* rule j < LETTERS: the upper-case path up to its j-th letter,
		 * that one lower case; the last rule: the whole path upper case */
		size_t at = j < LETTERS ? 1 + 3 * (j / 2) + 1 + j % 2 : 3 * TRIPLETS;

		memcpy(pats[j], upper, at + 1);
		if (j < LETTERS)
			pats[j][at] = (char)(pats[j][at] - 'A' + 'a');
		pats[j][at + 1] = '\0';
		pv[j][0] = pats[j];
		conds[j] = (struct cfg_condition){ .type = CFG_COND_PATH, .values = pv[j], .nvalues = 1 };
		rules[j] = (struct cfg_rule){ .conds = &conds[j], .nconds = 1, .action = FIXED(&fixed_403) };
	}
	listener_init(&l, rules, N);
	/* the last lower-case letter's rule, as long as the path, comes first */
	ck_assert_int_eq(route_index(&l, "GET", "h", upper), LETTERS - 1);
	for (i = 0; upper[i]; i++)
		lowered[i] = (char)(upper[i] >= 'A' && upper[i] <= 'Z' ? upper[i] - 'A' + 'a' : upper[i]);
	lowered[i] = '\0';
	ck_assert_int_eq(route_index(&l, "GET", "h", lowered), LETTERS - 1);
	for (j = 0; j < LETTERS; j++) {
		ck_assert_int_eq(route_index(&l, "GET", "h", pats[j]), (int)j);
		/* its letter decoded: only that case matches */
		char enc[sizeof pats[j] + 2];
		size_t n = strlen(pats[j]);

		snprintf(enc, sizeof enc, "%.*s%%%02x", (int)(n - 1), pats[j], (unsigned char)pats[j][n - 1]);
		ck_assert_int_eq(route_index(&l, "GET", "h", enc), (int)j);
	}
}
END_TEST

/* ------------------------------------------------------------ main */

static Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc;

	tc = tcase_create("glob");
	tcase_add_test(tc, test_glob_exact);
	tcase_add_test(tc, test_glob_star);
	tcase_add_test(tc, test_glob_multi_star);
	tcase_add_test(tc, test_glob_question);
	tcase_add_test(tc, test_glob_empty);
	tcase_add_test(tc, test_glob_subdomain);
	tcase_add_test(tc, test_glob_nocase);
	tcase_add_test(tc, test_glob_pathological);
	suite_add_tcase(s, tc);

	tc = tcase_create("route");
	tcase_add_test(tc, test_route_host_port);
	tcase_add_test(tc, test_route_host_ipv6);
	tcase_add_test(tc, test_route_host_ipv4);
	tcase_add_test(tc, test_route_host_nocase);
	tcase_add_test(tc, test_route_path_query);
	tcase_add_test(tc, test_route_method);
	tcase_add_test(tc, test_route_and);
	tcase_add_test(tc, test_route_and_any_order);
	tcase_add_test(tc, test_route_or);
	tcase_add_test(tc, test_route_priority);
	tcase_add_test(tc, test_route_default_forward);
	tcase_add_test(tc, test_route_default_fixed);
	tcase_add_test(tc, test_route_null_host);
	tcase_add_test(tc, test_route_lengths);
	tcase_add_test(tc, test_route_rule_forwards);
	suite_add_tcase(s, tc);

	tc = tcase_create("conditions");
	tcase_add_test(tc, test_route_path_encoded);
	tcase_add_test(tc, test_route_path_encoded_hex_case);
	tcase_add_test(tc, test_route_path_encoded_glob);
	tcase_add_test(tc, test_route_header);
	tcase_add_test(tc, test_route_header_any_value);
	tcase_add_test(tc, test_route_query);
	tcase_add_test(tc, test_route_query_plus_escapes);
	tcase_add_test(tc, test_route_source_ip);
	tcase_add_test(tc, test_route_source_ip_all);
	tcase_add_test(tc, test_route_new_and);
	suite_add_tcase(s, tc);

	tc = tcase_create("index");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_index_differential);
	tcase_add_test(tc, test_index_same_host);
	tcase_add_test(tc, test_index_wildcard_first);
	tcase_add_test(tc, test_index_no_rules);
	tcase_add_test(tc, test_index_1000);
	tcase_add_test(tc, test_index_deep_prefixes);
	tcase_add_test(tc, test_index_decoded_hex_letter);
	tcase_add_test(tc, test_index_hex_forks);
	suite_add_tcase(s, tc);

	tc = tcase_create("pick_forward");
	tcase_add_test(tc, test_pick_forward_13);
	tcase_add_test(tc, test_pick_forward_spread);
	tcase_add_test(tc, test_pick_forward_weight_zero);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
