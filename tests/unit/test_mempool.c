/* test_mempool.c - src/core/mempool.c: blocks come back by size class,
 * the lists are bounded, realloc keeps the contents, and libevent runs on
 * it. */
#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"

START_TEST(test_reuse_by_class)
{
	void *a = mempool_malloc(16000);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_ge(malloc_usable_size(a), 16384);   /* the class, not the request */
	size_t before = mempool_cached();
	mempool_free(a);
	ck_assert_uint_eq(mempool_cached(), before + 1);
	/* the same class gets the same block back; another class does not */
	void *c = mempool_malloc(2000);
	ck_assert_ptr_ne(c, a);
	void *b = mempool_malloc(9000);
	ck_assert_ptr_eq(b, a);
	ck_assert_uint_eq(mempool_cached(), before);
	mempool_free(b);
	mempool_free(c);
	mempool_free(NULL);
}
END_TEST

START_TEST(test_bounded)
{
	/* 32 KiB blocks: at most 64 KiB, 2 blocks, stay on the list */
	void *p[10];
	for (int i = 0; i < 10; i++)
		p[i] = mempool_malloc(32768);
	size_t before = mempool_cached();
	for (int i = 0; i < 10; i++)
		mempool_free(p[i]);
	ck_assert_uint_eq(mempool_cached(), before + 2);
	/* bigger than the largest class: straight to malloc and back */
	void *big = mempool_malloc(200000);
	ck_assert_ptr_nonnull(big);
	memset(big, 1, 200000);
	mempool_free(big);
	ck_assert_uint_eq(mempool_cached(), before + 2);
}
END_TEST

START_TEST(test_realloc)
{
	unsigned char *p = mempool_realloc(NULL, 1500);
	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 1500; i++)
		p[i] = (unsigned char)i;
	unsigned char *q = mempool_realloc(p, 2000);   /* fits the 2 KiB class */
	ck_assert_ptr_eq(q, p);
	unsigned char *r = mempool_realloc(q, 5000);
	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < 1500; i++)
		ck_assert_uint_eq(r[i], (unsigned char)i);
	ck_assert_ptr_null(mempool_realloc(r, 0));
	/* small blocks are malloc's own, unrounded */
	void *small = mempool_malloc(100);
	ck_assert_uint_lt(malloc_usable_size(small), 1024);
	size_t before = mempool_cached();
	mempool_free(small);
	ck_assert_uint_eq(mempool_cached(), before);
}
END_TEST

/* A block freed by another thread joins that thread's lists, which go
 * back to malloc when it exits. */
static void *other(void *arg)
{
	mempool_free(arg);
	return (void *)(uintptr_t)mempool_cached();
}

START_TEST(test_threads)
{
	void *p = mempool_malloc(3000);
	size_t mine = mempool_cached();
	pthread_t t;
	void *theirs;
	ck_assert_int_eq(pthread_create(&t, NULL, other, p), 0);
	ck_assert_int_eq(pthread_join(t, &theirs), 0);
	ck_assert_uint_eq((uintptr_t)theirs, 1);
	ck_assert_uint_eq(mempool_cached(), mine);
}
END_TEST

/* libevent with the pool installed: evbuffers fill and drain, and a
 * second round takes no new block from malloc for its chains. */
START_TEST(test_libevent)
{
	if (!mempool_install())
		return;   /* a sanitizer build: libevent keeps malloc */
	struct evbuffer *b = evbuffer_new();
	char data[3000];
	memset(data, 'x', sizeof data);
	for (int i = 0; i < 20; i++)
		evbuffer_add(b, data, sizeof data);
	ck_assert_uint_eq(evbuffer_get_length(b), 60000);
	evbuffer_drain(b, 60000);
	size_t cached = mempool_cached();
	ck_assert_uint_gt(cached, 0);
	for (int i = 0; i < 20; i++)
		evbuffer_add(b, data, sizeof data);
	char out[100];
	ck_assert_int_eq(evbuffer_remove(b, out, sizeof out), (int)sizeof out);
	ck_assert_int_eq(out[0], 'x');
	evbuffer_free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mempool");
	TCase *tc = tcase_create("mempool");
	tcase_add_test(tc, test_reuse_by_class);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_realloc);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_libevent);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
