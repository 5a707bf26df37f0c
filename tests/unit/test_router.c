/* test_router.c - unit tests of src/proxy/router.c: the glob matcher, rule
 * evaluation (conditions, priority, the default action) and the weighted
 * choice among a forward action's target groups.
 *
 * Listeners, rules and actions are built by hand as config_load() would
 * leave them (rules sorted by ascending priority); no config file is parsed.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* router_route() with a request of explicit lengths; HOST may be NULL. */
static void route_n(const struct cfg_listener *l, const char *method, size_t method_len, const char *host,
		    size_t host_len, const char *path, size_t path_len, struct router_action *out)
{
	const struct route_req rq = { .method = method, .method_len = method_len, .host = host,
				      .host_len = host_len, .path = path, .path_len = path_len };

	router_route(l, &rq, out);
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

	tc = tcase_create("pick_forward");
	tcase_add_test(tc, test_pick_forward_13);
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
