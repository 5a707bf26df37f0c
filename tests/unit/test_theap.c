/* test_theap.c - src/core/theap.c: the timer heap against a plain array
 * through random adds, moves and deletions; reserve; ties. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/theap.h"

#define N 500

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* the heap property and the nodes' indexes */
static void check_heap(const struct theap *h)
{
	for (uint32_t i = 0; i < h->n; i++) {
		ck_assert_uint_eq(h->v[i]->idx, i + 1);
		if (i)
			ck_assert_uint_le(h->v[(i - 1) / 2]->at, h->v[i]->at);
	}
}

START_TEST(test_random_ops)
{
	struct theap h = { 0 };
	static struct theap_node nodes[N];
	static int in[N];

	for (int step = 0; step < 200000; step++) {
		int k = (int)(rnd() % N);
		unsigned op = (unsigned)(rnd() % 4);
		if (op < 2) {
			ck_assert_int_eq(theap_add(&h, &nodes[k], rnd() % 1000), 0);
			in[k] = 1;
		} else if (op == 2) {
			theap_del(&h, &nodes[k]);
			in[k] = 0;
		} else if (h.n) {
			/* pop the minimum, as a timer pass does */
			struct theap_node *m = theap_min(&h);
			for (int i = 0; i < N; i++)
				if (in[i])
					ck_assert_uint_le(m->at, nodes[i].at);
			theap_del(&h, m);
			in[m - nodes] = 0;
		}
		ck_assert_int_eq(theap_in(&nodes[k]), in[k]);
		if (step % 1000 == 0)
			check_heap(&h);
	}
	check_heap(&h);
	uint32_t count = 0;
	for (int i = 0; i < N; i++)
		count += (uint32_t)in[i];
	ck_assert_uint_eq(count, h.n);
	/* drains in order */
	uint64_t last = 0;
	while (theap_min(&h)) {
		struct theap_node *m = theap_min(&h);
		ck_assert_uint_ge(m->at, last);
		last = m->at;
		theap_del(&h, m);
	}
	theap_free(&h);
}
END_TEST

START_TEST(test_reserve_and_move)
{
	struct theap h = { 0 };
	struct theap_node a = { 0 }, b = { 0 }, c = { 0 };

	ck_assert_int_eq(theap_reserve(&h, 3), 0);
	ck_assert_uint_ge(h.cap, 3);
	ck_assert_ptr_null(theap_min(&h));
	theap_add(&h, &a, 30);
	theap_add(&h, &b, 20);
	theap_add(&h, &c, 10);
	ck_assert_ptr_eq(theap_min(&h), &c);
	theap_add(&h, &c, 40);   /* moved later */
	ck_assert_ptr_eq(theap_min(&h), &b);
	theap_add(&h, &a, 5);    /* moved earlier */
	ck_assert_ptr_eq(theap_min(&h), &a);
	ck_assert_uint_eq(h.n, 3);
	theap_del(&h, &b);
	theap_del(&h, &b);       /* not in it: nothing */
	ck_assert_uint_eq(h.n, 2);
	ck_assert_int_eq(theap_in(&b), 0);
	theap_del(&h, &a);
	ck_assert_ptr_eq(theap_min(&h), &c);
	theap_del(&h, &c);
	ck_assert_ptr_null(theap_min(&h));
	theap_free(&h);
	ck_assert_ptr_null(h.v);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("theap");
	TCase *t = tcase_create("heap");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_random_ops);
	tcase_add_test(t, test_reserve_and_move);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
