/* test_sticky.c - src/proxy/sticky.c: stickiness cookies made and
 * checked (tampering, kinds, scopes, expiry, keys), keyed ids, the key
 * file, Cookie and Set-Cookie parsing, and the target lookup of
 * target_group.c. The clock is the caller's NOW: no waiting. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proxy/sticky.h"
#include "proxy/target_group.h"

#define NOW 1790000000u

static const uint8_t key_a[STICKY_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const uint8_t key_b[STICKY_KEY_LEN] = { 9, 9, 9 };

static struct albd_addr addr_of(const char *text)
{
	struct albd_addr a;
	char err[256];

	ck_assert_int_eq(config_parse_addr(text, 0, &a, err, sizeof err), 0);
	return a;
}

static struct sticky_mac *mac_with(const uint8_t *k)
{
	sticky_key_set(k);
	struct sticky_mac *m = sticky_mac_new();
	ck_assert_ptr_nonnull(m);
	return m;
}

static int check(struct sticky_mac *m, const char *v, enum sticky_kind kind, const char *scope, uint32_t now,
		 unsigned dur, uint64_t *id)
{
	return sticky_check(m, v, strlen(v), kind, scope, strlen(scope), now, dur, id);
}

START_TEST(test_round_trip)
{
	struct sticky_mac *m = mac_with(key_a);
	char v[STICKY_VALUE_LEN + 1];
	uint64_t id = 0;

	ck_assert_int_eq(sticky_make(m, STICKY_LB, "web", 3, 0x0123456789abcdefULL, NOW, v), 0);
	ck_assert_uint_eq(strlen(v), STICKY_VALUE_LEN);
	for (const char *p = v; *p; p++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
	ck_assert(check(m, v, STICKY_LB, "web", NOW, 60, &id));
	ck_assert_uint_eq(id, 0x0123456789abcdefULL);
	/* the same input, the same cookie (no randomness to leak or vary) */
	char w[STICKY_VALUE_LEN + 1];
	ck_assert_int_eq(sticky_make(m, STICKY_LB, "web", 3, 0x0123456789abcdefULL, NOW, w), 0);
	ck_assert_str_eq(v, w);
	sticky_mac_free(m);
}
END_TEST

START_TEST(test_tampering)
{
	struct sticky_mac *m = mac_with(key_a);
	char v[STICKY_VALUE_LEN + 1], t[STICKY_VALUE_LEN + 1];
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint64_t id;

	ck_assert_int_eq(sticky_make(m, STICKY_LB, "web", 3, 42, NOW, v), 0);
	/* every other character in every position: rejected (40 characters
	 * are exactly 30 bytes, so every change is a changed byte) */
	for (size_t i = 0; i < STICKY_VALUE_LEN; i++) {
		for (const char *c = alpha; *c; c++) {
			if (*c == v[i])
				continue;
			memcpy(t, v, sizeof t);
			t[i] = *c;
			ck_assert_msg(!check(m, t, STICKY_LB, "web", NOW, 60, &id), "position %zu char %c", i, *c);
		}
	}
	/* lengths and alphabets */
	ck_assert(!sticky_check(m, v, STICKY_VALUE_LEN - 1, STICKY_LB, "web", 3, NOW, 60, &id));
	ck_assert(!check(m, "", STICKY_LB, "web", NOW, 60, &id));
	memcpy(t, v, sizeof t);
	t[7] = '=';
	ck_assert(!check(m, t, STICKY_LB, "web", NOW, 60, &id));
	t[7] = '+';
	ck_assert(!check(m, t, STICKY_LB, "web", NOW, 60, &id));
	/* another kind or scope: rejected */
	ck_assert(!check(m, v, STICKY_APP, "web", NOW, 60, &id));
	ck_assert(!check(m, v, STICKY_GROUP, "web", NOW, 60, &id));
	ck_assert(!check(m, v, STICKY_LB, "web2", NOW, 60, &id));
	ck_assert(!check(m, v, STICKY_LB, "we", NOW, 60, &id));
	ck_assert(!check(m, v, STICKY_LB, "", NOW, 60, &id));
	/* another key: rejected */
	sticky_mac_free(m);
	m = mac_with(key_b);
	ck_assert(!check(m, v, STICKY_LB, "web", NOW, 60, &id));
	sticky_mac_free(m);
}
END_TEST

START_TEST(test_expiry)
{
	struct sticky_mac *m = mac_with(key_a);
	char v[STICKY_VALUE_LEN + 1];
	uint64_t id;

	ck_assert_int_eq(sticky_make(m, STICKY_APP, "g", 1, 7, NOW, v), 0);
	ck_assert(check(m, v, STICKY_APP, "g", NOW, 1, &id));
	ck_assert(check(m, v, STICKY_APP, "g", NOW + 59, 60, &id));
	ck_assert(!check(m, v, STICKY_APP, "g", NOW + 60, 60, &id));
	ck_assert(!check(m, v, STICKY_APP, "g", NOW + 1, 1, &id));
	ck_assert(check(m, v, STICKY_APP, "g", NOW + 604799, 604800, &id));
	/* issued in the future: believed within the skew only */
	ck_assert(check(m, v, STICKY_APP, "g", NOW - STICKY_SKEW_S, 60, &id));
	ck_assert(!check(m, v, STICKY_APP, "g", NOW - STICKY_SKEW_S - 1, 60, &id));
	/* the far ends of the clock */
	ck_assert_int_eq(sticky_make(m, STICKY_APP, "g", 1, 7, 0xffffffffu, v), 0);
	ck_assert(check(m, v, STICKY_APP, "g", 0xffffffffu, 10, &id));
	ck_assert(!check(m, v, STICKY_APP, "g", 0, 10, &id));
	ck_assert_int_eq(sticky_make(m, STICKY_APP, "g", 1, 7, 0, v), 0);
	ck_assert(!check(m, v, STICKY_APP, "g", 0xffffffffu, 604800, &id));
	sticky_mac_free(m);
}
END_TEST

START_TEST(test_ids)
{
	struct albd_addr a = addr_of("127.0.0.1:8080"), b = addr_of("127.0.0.1:8081"),
			 c = addr_of("[::1]:8080");

	sticky_key_set(key_a);
	uint64_t ia = sticky_id("web", &a);
	ck_assert_uint_ne(ia, 0);
	ck_assert_uint_eq(ia, sticky_id("web", &a));
	ck_assert_uint_ne(ia, sticky_id("web", &b));
	ck_assert_uint_ne(ia, sticky_id("web", &c));
	ck_assert_uint_ne(ia, sticky_id("api", &a));
	ck_assert_uint_ne(sticky_id("web", NULL), sticky_id("api", NULL));
	ck_assert_uint_ne(sticky_id("web", NULL), ia);
	/* keyed: another key, other ids */
	sticky_key_set(key_b);
	ck_assert_uint_ne(ia, sticky_id("web", &a));
}
END_TEST

START_TEST(test_key_file)
{
	char dir[] = "/tmp/test_sticky_XXXXXX", sub[300], path[400], err[256];
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof sub, "%s/state", dir);
	snprintf(path, sizeof path, "%s/%s", sub, STICKY_KEY_FILE);
	/* once a key is loaded sticky_key_init() does nothing, and other
	 * tests load one (in this process too with CK_FORK=no): each call
	 * runs in a child of its own, as albd would at start */
	pid_t pid = fork();
	if (pid == 0)
		_exit(sticky_key_init(sub, err, sizeof err) == 0 ? 0 : 1);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, STICKY_KEY_LEN);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* a file of the wrong size is an error, never overwritten */
	FILE *f = fopen(path, "w");
	fputs("short", f);
	fclose(f);
	pid = fork();
	if (pid == 0)
		_exit(sticky_key_init(sub, err, sizeof err) == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 5);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

static struct http1_header hdr(const char *n, const char *v)
{
	struct http1_header h = { n, strlen(n), v, strlen(v) };
	return h;
}

static const char *find(const struct http1_header *hs, size_t n, const char *name, char *buf)
{
	const char *v;
	size_t len;

	if (!sticky_cookie_find(hs, n, name, strlen(name), &v, &len))
		return NULL;
	memcpy(buf, v, len);
	buf[len] = 0;
	return buf;
}

START_TEST(test_cookie_parse)
{
	char buf[256];
	struct http1_header h1[] = { hdr("Cookie", "AWSALB=abc") };
	ck_assert_str_eq(find(h1, 1, "AWSALB", buf), "abc");
	ck_assert_ptr_null(find(h1, 1, "AWSALBCORS", buf));
	ck_assert_ptr_null(find(h1, 1, "awsalb", buf));          /* names are case-sensitive */
	struct http1_header h2[] = { hdr("X-A", "AWSALB=no"), hdr("cookie", "a=1;  AWSALB = \"q\" ;b=2") };
	ck_assert_str_eq(find(h2, 2, "AWSALB", buf), "q");
	ck_assert_str_eq(find(h2, 2, "a", buf), "1");
	ck_assert_str_eq(find(h2, 2, "b", buf), "2");
	struct http1_header h3[] = { hdr("COOKIE", "x=AWSALB; AWSALBX=1; AWSALB=; AWSALB=late"),
				     hdr("Cookie", "AWSALB=second") };
	ck_assert_str_eq(find(h3, 2, "AWSALB", buf), "");        /* the first one */
	ck_assert_str_eq(find(h3, 2, "AWSALBX", buf), "1");
	struct http1_header h4[] = { hdr("Cookie", ";;; =x; AWSALB"), hdr("Cookie", ""), hdr("Cookie", "AWSALB=z") };
	ck_assert_str_eq(find(h4, 3, "AWSALB", buf), "z");
	struct http1_header h5[] = { hdr("Set-Cookie", "AWSALB=x") };
	ck_assert_ptr_null(find(h5, 1, "AWSALB", buf));
}
END_TEST

START_TEST(test_sets_cookie)
{
	struct http1_header a = hdr("Set-Cookie", "SESSION=abc; Path=/"), b = hdr("set-cookie", " SESSION = x"),
			    c = hdr("Set-Cookie", "SESSIONX=abc"), d = hdr("Set-Cookie", "SESSION"),
			    e = hdr("Cookie", "SESSION=abc"), f = hdr("Set-Cookie", "session=abc");

	ck_assert(sticky_sets_cookie(&a, "SESSION", 7));
	ck_assert(sticky_sets_cookie(&b, "SESSION", 7));
	ck_assert(!sticky_sets_cookie(&c, "SESSION", 7));
	ck_assert(!sticky_sets_cookie(&d, "SESSION", 7));
	ck_assert(!sticky_sets_cookie(&e, "SESSION", 7));
	ck_assert(!sticky_sets_cookie(&f, "SESSION", 7));
}
END_TEST

START_TEST(test_http_date)
{
	char d[30];

	sticky_http_date(784111777u, d);
	ck_assert_str_eq(d, "Sun, 06 Nov 1994 08:49:37 GMT");   /* RFC 9110's example */
	sticky_http_date(0, d);
	ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	sticky_http_date(0xffffffffu, d);
	ck_assert_str_eq(d, "Sun, 07 Feb 2106 06:28:15 GMT");
}
END_TEST

START_TEST(test_find_target)
{
	struct cfg_target targets[40];
	struct cfg_target_group cfg;
	struct target_group tg;
	char text[64];

	sticky_key_set(key_a);
	memset(&cfg, 0, sizeof cfg);
	memset(targets, 0, sizeof targets);
	cfg.name = "sticky-find";
	cfg.stickiness.type = CFG_STICKY_LB_COOKIE;
	cfg.targets = targets;
	cfg.ntargets = 40;
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof text, "127.0.0.%d:%d", 1 + i % 3, 8000 + i);
		targets[i].addr = addr_of(text);
		targets[i].weight = 1;
	}
	ck_assert_int_eq(tg_init(&tg, &cfg, 1), 0);
	for (size_t i = 0; i < tg.ntargets; i++) {
		ck_assert_uint_eq(tg.targets[i].sticky_id, sticky_id("sticky-find", &targets[i].addr));
		ck_assert_ptr_eq(tg_find_sticky(&tg, tg.targets[i].sticky_id), &tg.targets[i]);
	}
	ck_assert_ptr_null(tg_find_sticky(&tg, 0));
	ck_assert_ptr_null(tg_find_sticky(&tg, 12345));
	ck_assert_uint_eq(tg.sticky_gid, sticky_id("sticky-find", NULL));
	tg_destroy(&tg);
	/* a group without stickiness has no table */
	cfg.stickiness.type = CFG_STICKY_NONE;
	cfg.name = "sticky-none";
	ck_assert_int_eq(tg_init(&tg, &cfg, 1), 0);
	ck_assert_ptr_null(tg_find_sticky(&tg, sticky_id("sticky-none", &targets[0].addr)));
	tg_destroy(&tg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sticky");
	TCase *tc = tcase_create("sticky");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_tampering);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_key_file);
	tcase_add_test(tc, test_cookie_parse);
	tcase_add_test(tc, test_sets_cookie);
	tcase_add_test(tc, test_http_date);
	tcase_add_test(tc, test_find_target);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
