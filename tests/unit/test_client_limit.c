/* test_client_limit.c - src/proxy/client_limit.c: keys (IPv4, IPv6 /64,
 * IPv4-mapped), connection counts, the GCRA's rate and burst on an
 * injected clock, and slots reused once idle. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/client_limit.h"

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	in6->sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

START_TEST(test_keys)
{
	climit_reset();
	struct sockaddr_storage a = v4("10.0.0.1"), b = v4("10.0.0.2"), m = v6("::ffff:10.0.0.1"),
				c = v6("2001:db8:1:2::1"), d = v6("2001:db8:1:2:ffff::9"), e = v6("2001:db8:1:3::1");
	int sa = climit_slot(SA(a), 0);
	ck_assert_int_ge(sa, 0);
	ck_assert_int_ne(climit_slot(SA(b), 0), sa);
	ck_assert_int_eq(climit_slot(SA(m), 0), sa);            /* mapped: the same client */
	int sc = climit_slot(SA(c), 0);
	ck_assert_int_eq(climit_slot(SA(d), 0), sc);            /* one /64 */
	ck_assert_int_ne(climit_slot(SA(e), 0), sc);
	struct sockaddr_storage u;
	memset(&u, 0, sizeof u);
	u.ss_family = AF_UNIX;
	ck_assert_int_eq(climit_slot(SA(u), 0), -1);
}
END_TEST

START_TEST(test_connections)
{
	climit_reset();
	struct sockaddr_storage a = v4("10.0.0.1");
	int s = climit_slot(SA(a), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(climit_conn_open(s, 3), 1);
	ck_assert_int_eq(climit_conn_open(s, 3), 0);
	ck_assert_int_eq(climit_conn_open(s, 3), 0);
	climit_conn_close(s);
	ck_assert_int_eq(climit_conn_open(s, 3), 1);
	ck_assert_int_eq(climit_conn_open(s, 0), 1);            /* 0: no limit */
	ck_assert_int_eq(climit_conn_open(-1, 1), 1);           /* untracked */
}
END_TEST

START_TEST(test_rate_and_burst)
{
	climit_reset();
	struct sockaddr_storage a = v4("10.0.0.1");
	int s = climit_slot(SA(a), 1000);
	uint64_t now = 1000000;
	/* 10 a second, burst 4: 5 at once, then one every 100 ms */
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(climit_request(s, now, 10, 4), 0);
	uint64_t wait = climit_request(s, now, 10, 4);
	ck_assert_uint_eq(wait, 100);
	ck_assert_uint_eq(climit_request(s, now + 99, 10, 4), 1);
	ck_assert_uint_eq(climit_request(s, now + 100, 10, 4), 0);
	ck_assert_uint_gt(climit_request(s, now + 100, 10, 4), 0);
	/* a steady client at the rate is never limited */
	uint64_t t = now + 10000;
	for (int i = 0; i < 100; i++, t += 100)
		ck_assert_uint_eq(climit_request(s, t, 10, 0), 0);
	/* no burst: one at a time */
	climit_reset();
	s = climit_slot(SA(a), 0);
	ck_assert_uint_eq(climit_request(s, now, 2, 0), 0);
	ck_assert_uint_eq(climit_request(s, now, 2, 0), 500);
	ck_assert_uint_eq(climit_request(s, now, 0, 0), 0);     /* 0: no limit */
}
END_TEST

START_TEST(test_slots_are_bounded_and_reused)
{
	climit_reset();
	char ip[32];
	int tracked = 0;
	/* far more clients than slots can hold: some go untracked (never limited), nothing breaks */
	for (int i = 0; i < 3 * CLIENT_LIMIT_SLOTS; i++) {
		snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		struct sockaddr_storage a = v4(ip);
		int s = climit_slot(SA(a), 0);
		if (s >= 0 && climit_conn_open(s, 1))
			tracked++;
	}
	ck_assert_int_le(tracked, CLIENT_LIMIT_SLOTS);
	ck_assert_int_gt(tracked, CLIENT_LIMIT_SLOTS / 2);
	/* idle slots (no connection, no debt) are taken by new clients */
	climit_reset();
	struct sockaddr_storage a = v4("192.0.2.1");
	int s = climit_slot(SA(a), 0);
	climit_request(s, 1000, 1, 0);          /* owes until 2000 */
	for (int i = 0; i < 3 * CLIENT_LIMIT_SLOTS; i++) {
		snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		struct sockaddr_storage b = v4(ip);
		climit_slot(SA(b), 5000);
	}
	ck_assert_int_ge(climit_slot(SA(a), 5000), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("client_limit");
	TCase *tc = tcase_create("client_limit");
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_connections);
	tcase_add_test(tc, test_rate_and_burst);
	tcase_add_test(tc, test_slots_are_bounded_and_reused);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
