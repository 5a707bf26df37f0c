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
#include <time.h>
#include <dirent.h>
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

static struct sticky_set one(uint64_t group, uint64_t target, uint32_t issued)
{
	struct sticky_set set = { 0 };

	sticky_put(&set, group, target, issued);
	return set;
}

static int opens(struct sticky_mac *m, const char *v, enum sticky_kind kind, struct sticky_set *out)
{
	return sticky_open(m, v, strlen(v), kind, out);
}

START_TEST(test_round_trip)
{
	struct sticky_mac *m = mac_with(key_a);
	char v[STICKY_VALUE_MAX], w[STICKY_VALUE_MAX];
	struct sticky_set set = one(0x1111, 0x0123456789abcdefULL, NOW), out;

	ck_assert_uint_eq(sticky_seal(m, STICKY_LB, &set, v), 52);   /* 39 bytes */
	ck_assert_uint_eq(strlen(v), 52);
	for (const char *p = v; *p; p++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
	ck_assert(opens(m, v, STICKY_LB, &out));
	ck_assert_uint_eq(out.n, 1);
	ck_assert_uint_eq(out.e[0].group, 0x1111);
	ck_assert_uint_eq(out.e[0].target, 0x0123456789abcdefULL);
	ck_assert_uint_eq(out.e[0].issued, NOW);
	/* the same entries, the same value; another second, nothing alike */
	ck_assert_uint_eq(sticky_seal(m, STICKY_LB, &set, w), 52);
	ck_assert_str_eq(v, w);
	set = one(0x1111, 0x0123456789abcdefULL, NOW + 1);
	sticky_seal(m, STICKY_LB, &set, w);
	ck_assert_str_ne(v, w);
	int same = 0;
	for (int i = 20; i < 52; i++)
		same += v[i] == w[i];
	ck_assert_int_lt(same, 12);   /* the encrypted part differs throughout (1/64 per char by chance) */
	/* eight groups, the most a cookie keeps */
	struct sticky_set many = { 0 };
	for (unsigned g = 1; g <= 10; g++)
		sticky_put(&many, g, g * 100, NOW + g);
	ck_assert_uint_eq(many.n, STICKY_ENTRIES_MAX);
	size_t len = sticky_seal(m, STICKY_APP, &many, v);
	ck_assert_uint_eq(len, strlen(v));
	ck_assert_uint_lt(len, STICKY_VALUE_MAX);
	ck_assert(opens(m, v, STICKY_APP, &out));
	ck_assert_uint_eq(out.n, STICKY_ENTRIES_MAX);
	/* the two oldest (groups 1 and 2) went */
	ck_assert_ptr_null(sticky_find(&out, 1, NOW + 10, 600));
	ck_assert_ptr_null(sticky_find(&out, 2, NOW + 10, 600));
	for (unsigned g = 3; g <= 10; g++)
		ck_assert_uint_eq(sticky_find(&out, g, NOW + 10, 600)->target, g * 100);
	/* an empty set is a value too */
	struct sticky_set none = { 0 };
	ck_assert_uint_gt(sticky_seal(m, STICKY_GROUP, &none, v), 0);
	ck_assert(opens(m, v, STICKY_GROUP, &out));
	ck_assert_uint_eq(out.n, 0);
	sticky_mac_free(m);
}
END_TEST

/* Nothing of the ids shows: they are encrypted. */
START_TEST(test_confidential)
{
	struct sticky_mac *m = mac_with(key_a);
	char v[STICKY_VALUE_MAX];
	struct sticky_set set = one(0x4142434445464748ULL, 0x5152535455565758ULL, NOW);
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t raw[64];
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	sticky_seal(m, STICKY_LB, &set, v);
	for (const char *p = v; *p; p++) {
		acc = acc << 6 | (uint32_t)(strchr(b64, *p) - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (uint8_t)(acc >> bits);
		}
	}
	static const uint8_t g[4] = { 0x41, 0x42, 0x43, 0x44 }, t[4] = { 0x51, 0x52, 0x53, 0x54 };
	ck_assert_ptr_null(memmem(raw, n, g, 4));
	ck_assert_ptr_null(memmem(raw, n, t, 4));
	sticky_mac_free(m);
}
END_TEST

START_TEST(test_tampering)
{
	struct sticky_mac *m = mac_with(key_a);
	char v[STICKY_VALUE_MAX], t[STICKY_VALUE_MAX];
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct sticky_set set = one(42, 43, NOW), out;

	sticky_put(&set, 44, 45, NOW);   /* 59 bytes: the last character has 2 spare bits */
	size_t len = sticky_seal(m, STICKY_LB, &set, v);
	ck_assert_uint_eq(len, 79);
	/* every other character in every position: rejected (a changed byte,
	 * or spare bits that are not zero) */
	for (size_t i = 0; i < len; i++) {
		for (const char *c = alpha; *c; c++) {
			if (*c == v[i])
				continue;
			memcpy(t, v, len + 1);
			t[i] = *c;
			ck_assert_msg(!opens(m, t, STICKY_LB, &out), "position %zu char %c", i, *c);
			ck_assert_uint_eq(out.n, 0);
		}
	}
	/* lengths and alphabets */
	for (size_t cut = 0; cut < len; cut++)
		ck_assert(!sticky_open(m, v, cut, STICKY_LB, &out));
	memcpy(t, v, len + 1);
	t[len] = 'A';
	t[len + 1] = 0;
	ck_assert(!opens(m, t, STICKY_LB, &out));
	ck_assert(!opens(m, "", STICKY_LB, &out));
	memcpy(t, v, len + 1);
	t[7] = '=';
	ck_assert(!opens(m, t, STICKY_LB, &out));
	t[7] = '+';
	ck_assert(!opens(m, t, STICKY_LB, &out));
	/* another kind: rejected */
	ck_assert(!opens(m, v, STICKY_APP, &out));
	ck_assert(!opens(m, v, STICKY_GROUP, &out));
	/* another key: rejected */
	sticky_mac_free(m);
	m = mac_with(key_b);
	ck_assert(!opens(m, v, STICKY_LB, &out));
	sticky_mac_free(m);
}
END_TEST

START_TEST(test_expiry)
{
	struct sticky_set set = one(7, 8, NOW);

	ck_assert_ptr_nonnull(sticky_find(&set, 7, NOW, 1));
	ck_assert_ptr_null(sticky_find(&set, 6, NOW, 1));
	ck_assert_ptr_nonnull(sticky_find(&set, 7, NOW + 59, 60));
	ck_assert_ptr_null(sticky_find(&set, 7, NOW + 60, 60));
	ck_assert_ptr_null(sticky_find(&set, 7, NOW + 1, 1));
	ck_assert_ptr_nonnull(sticky_find(&set, 7, NOW + 604799, 604800));
	/* issued in the future: believed within the skew only */
	ck_assert_ptr_nonnull(sticky_find(&set, 7, NOW - STICKY_SKEW_S, 60));
	ck_assert_ptr_null(sticky_find(&set, 7, NOW - STICKY_SKEW_S - 1, 60));
	/* the far ends of the clock */
	set = one(7, 8, 0xffffffffu);
	ck_assert_ptr_nonnull(sticky_find(&set, 7, 0xffffffffu, 10));
	ck_assert_ptr_null(sticky_find(&set, 7, 0, 10));
	set = one(7, 8, 0);
	ck_assert_ptr_null(sticky_find(&set, 7, 0xffffffffu, 604800));
	/* put: replaces its group's entry, drops what no duration keeps */
	set = one(1, 10, NOW - STICKY_MAX_AGE_S);
	sticky_put(&set, 2, 20, NOW);          /* (1, ...) is 7 days old: gone */
	ck_assert_uint_eq(set.n, 1);
	sticky_put(&set, 3, 30, NOW + STICKY_SKEW_S + 100);
	ck_assert_uint_eq(set.n, 2);
	sticky_put(&set, 2, 21, NOW);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_uint_eq(set.e[0].target, 21);
	sticky_remove(&set, 2);
	ck_assert_uint_eq(set.n, 0);
	sticky_remove(&set, 2);
	ck_assert_uint_eq(set.n, 0);
}
END_TEST

START_TEST(test_ids)
{
	struct albd_addr a = addr_of("127.0.0.1:8080"), b = addr_of("127.0.0.1:8081"),
			 c = addr_of("[::1]:8080");

	sticky_key_set(key_a);
	uint64_t ia = sticky_id("web", &a);
	ck_assert_uint_ne(ia, 0);
	ck_assert_uint_ne(sticky_id("web", NULL), 0);
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

static int in_child(int (*fn)(const char *, char *, size_t), const char *dir)
{
	char err[256];
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(dir, err, sizeof err) == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WEXITSTATUS(status);
}

START_TEST(test_key_file)
{
	char dir[] = "/tmp/test_sticky_XXXXXX", sub[300], path[400], err[256];
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof sub, "%s/state", dir);
	snprintf(path, sizeof path, "%s/%s", sub, STICKY_KEY_FILE);
	/* albd -t: nothing yet, a directory that can be made: fine, and nothing made */
	ck_assert_int_eq(sticky_key_check(sub, err, sizeof err), 0);
	ck_assert_int_ne(access(sub, F_OK), 0);
	/* once a key is loaded sticky_key_init() does nothing, and other
	 * tests load one (in this process too with CK_FORK=no): each call
	 * runs in a child of its own, as albd would at start */
	ck_assert_int_eq(in_child(sticky_key_init, sub), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, STICKY_KEY_LEN);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(sticky_key_check(sub, err, sizeof err), 0);
	/* a second start reads the same key (no temporary left behind) */
	uint8_t k1[STICKY_KEY_LEN], k2[STICKY_KEY_LEN];
	FILE *f = fopen(path, "r");
	ck_assert_uint_eq(fread(k1, 1, sizeof k1, f), sizeof k1);
	fclose(f);
	ck_assert_int_eq(in_child(sticky_key_init, sub), 0);
	f = fopen(path, "r");
	ck_assert_uint_eq(fread(k2, 1, sizeof k2, f), sizeof k2);
	fclose(f);
	ck_assert_int_eq(memcmp(k1, k2, sizeof k1), 0);
	/* many starting at once agree on one key */
	unlink(path);
	for (int i = 0; i < 8; i++)
		if (fork() == 0)
			_exit(sticky_key_init(sub, err, sizeof err) == 0 ? 0 : 1);
	for (int i = 0; i < 8; i++) {
		int status;
		ck_assert_int_gt(wait(&status), 0);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	DIR *d = opendir(sub);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(files, 1);
	/* a file of the wrong size is an error, for -t too, and never overwritten */
	f = fopen(path, "w");
	fputs("short", f);
	fclose(f);
	ck_assert_int_eq(in_child(sticky_key_init, sub), 1);
	ck_assert_int_eq(sticky_key_check(sub, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "5 bytes, expected 32"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 5);
	unlink(path);
	rmdir(sub);
	/* -t: a state_dir whose parent does not exist cannot be made */
	snprintf(sub, sizeof sub, "%s/no/such", dir);
	ck_assert_int_eq(sticky_key_check(sub, err, sizeof err), -1);
	rmdir(dir);
}
END_TEST

static struct http1_header hdr(const char *n, const char *v)
{
	struct http1_header h = { n, strlen(n), v, strlen(v) };
	return h;
}

static const char *find(const struct http1_header *hs, size_t n, const char *name, unsigned nth, char *buf)
{
	const char *v;
	size_t len;

	if (!sticky_cookie_find(hs, n, name, strlen(name), nth, &v, &len))
		return NULL;
	memcpy(buf, v, len);
	buf[len] = 0;
	return buf;
}

START_TEST(test_cookie_parse)
{
	char buf[256];
	struct http1_header h1[] = { hdr("Cookie", "AWSALB=abc") };
	ck_assert_str_eq(find(h1, 1, "AWSALB", 0, buf), "abc");
	ck_assert_ptr_null(find(h1, 1, "AWSALB", 1, buf));
	ck_assert_ptr_null(find(h1, 1, "AWSALBCORS", 0, buf));
	ck_assert_ptr_null(find(h1, 1, "awsalb", 0, buf));          /* names are case-sensitive */
	struct http1_header h2[] = { hdr("X-A", "AWSALB=no"), hdr("cookie", "a=1;  AWSALB = \"q\" ;b=2") };
	ck_assert_str_eq(find(h2, 2, "AWSALB", 0, buf), "q");
	ck_assert_str_eq(find(h2, 2, "a", 0, buf), "1");
	ck_assert_str_eq(find(h2, 2, "b", 0, buf), "2");
	/* every occurrence, in field and position order */
	struct http1_header h3[] = { hdr("COOKIE", "x=AWSALB; AWSALBX=1; AWSALB=; AWSALB=late"),
				     hdr("Cookie", "AWSALB=second") };
	ck_assert_str_eq(find(h3, 2, "AWSALB", 0, buf), "");
	ck_assert_str_eq(find(h3, 2, "AWSALB", 1, buf), "late");
	ck_assert_str_eq(find(h3, 2, "AWSALB", 2, buf), "second");
	ck_assert_ptr_null(find(h3, 2, "AWSALB", 3, buf));
	ck_assert_str_eq(find(h3, 2, "AWSALBX", 0, buf), "1");
	struct http1_header h4[] = { hdr("Cookie", ";;; =x; AWSALB"), hdr("Cookie", ""), hdr("Cookie", "AWSALB=z") };
	ck_assert_str_eq(find(h4, 3, "AWSALB", 0, buf), "z");
	struct http1_header h5[] = { hdr("Set-Cookie", "AWSALB=x") };
	ck_assert_ptr_null(find(h5, 1, "AWSALB", 0, buf));
}
END_TEST

/* One walk gives every occurrence, in the order sticky_cookie_find()
 * counts them, and costs one pass: 131072 pairs in a 1 MB field are
 * walked at once (looked up by nth from the start, each lookup from the
 * first pair, they take more than a minute). */
START_TEST(test_cookie_iter)
{
	struct http1_header h[] = { hdr("COOKIE", "x=AWSALB; AWSALBX=1; AWSALB=; AWSALB=late"), hdr("X-A", "AWSALB=no"),
				    hdr("Cookie", ""), hdr("Cookie", "AWSALB=\"second\";b=2"), hdr("Cookie", "AWSALB") };
	const char *want[] = { "", "late", "second" };
	struct sticky_cookie_iter it;
	const char *v;
	size_t len;
	unsigned k = 0;

	sticky_cookie_iter_init(&it, h, 5);
	while (sticky_cookie_next(&it, "AWSALB", 6, &v, &len)) {
		ck_assert_uint_lt(k, 3);
		ck_assert_uint_eq(len, strlen(want[k]));
		ck_assert(memcmp(v, want[k], len) == 0);
		k++;
	}
	ck_assert_uint_eq(k, 3);
	ck_assert(!sticky_cookie_next(&it, "AWSALB", 6, &v, &len));   /* stays at the end */

	size_t pairs = 131072, plen = 8;
	char *big = malloc(pairs * plen + 16);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < pairs; i++)
		memcpy(big + i * plen, "AWSALB=;", plen);
	memcpy(big + pairs * plen, "AWSALB=z", 9);
	struct http1_header hb[] = { { "Cookie", 6, big, pairs * plen + 8 } };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sticky_cookie_iter_init(&it, hb, 1);
	size_t seen = 0;
	while (sticky_cookie_next(&it, "AWSALB", 6, &v, &len))
		seen++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_uint_eq(seen, pairs + 1);
	ck_assert(len == 1 && *v == 'z');
	ck_assert_double_lt((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, 1.0);
	free(big);
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
	tcase_add_test(tc, test_confidential);
	tcase_add_test(tc, test_tampering);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_key_file);
	tcase_add_test(tc, test_cookie_parse);
	tcase_add_test(tc, test_cookie_iter);
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
