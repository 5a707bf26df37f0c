/* test_wbuf.c - src/net/wbuf.h: bounded writes, numbers, and a head
 * written into an evbuffer that is committed only when it fits. */
#include <arpa/inet.h>
#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "net/wbuf.h"

START_TEST(test_array)
{
	char buf[16];
	struct wbuf b;

	wbuf_init(&b, buf, sizeof buf);
	WBUF_LIT(&b, "n=");
	wbuf_u64(&b, 0);
	WBUF_LIT(&b, ",");
	wbuf_u64(&b, 18446744073709551615u);   /* 20 digits: does not fit */
	ck_assert_int_eq(b.over, 1);
	ck_assert_uint_eq(wbuf_len(&b), sizeof buf);

	wbuf_init(&b, buf, sizeof buf);
	wbuf_u64(&b, 404);
	wbuf_str(&b, " Not Found");
	ck_assert_int_eq(b.over, 0);
	ck_assert_uint_eq(wbuf_len(&b), 13);
	ck_assert_int_eq(memcmp(buf, "404 Not Found", 13), 0);
	wbuf_add(&b, "abcd", 4);   /* 17 > 16 */
	ck_assert_int_eq(b.over, 1);
}
END_TEST

START_TEST(test_evbuffer)
{
	struct evbuffer *o = evbuffer_new();
	struct evbuffer_iovec v;
	struct wbuf b;

	evbuffer_add(o, "before|", 7);
	/* more than the reserved run: nothing committed, what was there stays */
	ck_assert_int_eq(wbuf_begin(&b, o, 8, &v), 0);
	size_t room = v.iov_len;
	char *fill = malloc(room + 1);
	memset(fill, 'f', room + 1);
	wbuf_add(&b, fill, room);       /* fits exactly */
	ck_assert_int_eq(b.over, 0);
	wbuf_add(&b, fill, 1);          /* one too many */
	ck_assert_int_eq(b.over, 1);
	ck_assert_int_eq(wbuf_end(&b, o, &v), -1);
	ck_assert_uint_eq(evbuffer_get_length(o), 7);
	free(fill);
	/* a run that fits is committed after what was there */
	ck_assert_int_eq(wbuf_begin(&b, o, 16, &v), 0);
	WBUF_LIT(&b, "after");
	ck_assert_int_eq(wbuf_end(&b, o, &v), 0);
	ck_assert_uint_eq(evbuffer_get_length(o), 12);
	ck_assert_int_eq(memcmp(evbuffer_pullup(o, -1), "before|after", 12), 0);
	/* nothing from a NULL pointer with no length */
	wbuf_add(&b, NULL, 0);
	/* the retry loop of proxy.c: a run far too small grows until it fits */
	evbuffer_drain(o, evbuffer_get_length(o));
	char big[5000];
	memset(big, 'h', sizeof big);
	int tries = 0;
	for (size_t want = 64;; want *= 2) {
		tries++;
		ck_assert_int_eq(wbuf_begin(&b, o, want, &v), 0);
		wbuf_add(&b, big, sizeof big);
		WBUF_LIT(&b, "\r\n");
		if (wbuf_end(&b, o, &v) == 0)
			break;
		ck_assert_uint_eq(evbuffer_get_length(o), 0);
	}
	ck_assert_int_gt(tries, 1);
	ck_assert_uint_eq(evbuffer_get_length(o), sizeof big + 2);
	unsigned char *p = evbuffer_pullup(o, -1);
	ck_assert_int_eq(p[0], 'h');
	ck_assert_int_eq(p[sizeof big + 1], '\n');
	evbuffer_free(o);
}
END_TEST

START_TEST(test_ipv4)
{
	/* every octet value in every position, against inet_ntop() */
	char buf[32], want[INET_ADDRSTRLEN];
	struct wbuf b;
	for (unsigned v = 0; v < 256; v++) {
		for (int pos = 0; pos < 4; pos++) {
			unsigned char a[4] = { 10, 200, 3, 99 };
			a[pos] = (unsigned char)v;
			wbuf_init(&b, buf, sizeof buf);
			wbuf_ipv4(&b, a);
			ck_assert_int_eq(b.over, 0);
			ck_assert_ptr_nonnull(inet_ntop(AF_INET, a, want, sizeof want));
			ck_assert_uint_eq(wbuf_len(&b), strlen(want));
			ck_assert_int_eq(memcmp(buf, want, strlen(want)), 0);
		}
	}
	/* too little room: over, nothing past the end */
	const unsigned char a[4] = { 255, 255, 255, 255 };
	wbuf_init(&b, buf, 10);
	wbuf_ipv4(&b, a);
	ck_assert_int_eq(b.over, 1);
	ck_assert_uint_le(wbuf_len(&b), 10);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wbuf");
	TCase *tc = tcase_create("wbuf");
	tcase_add_test(tc, test_array);
	tcase_add_test(tc, test_evbuffer);
	tcase_add_test(tc, test_ipv4);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
