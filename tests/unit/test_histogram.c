/* test_histogram.c - src/core/histogram.c: the logarithmic mapping and its
 * 1% bound, quantiles against exact nearest ranks, merge, the dense form's
 * fold (with counters wrapping), and the encoding (round trip, truncated
 * and malformed input refused). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/histogram.h"

static const double gamma_ = (1.0 + HIST_ALPHA) / (1.0 - HIST_ALPHA);

/* xorshift64*: reproducible data without depending on libc's rand() */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* uniform in [0, 1) */
static double urand(void)
{
	return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static double nrand(void)
{
	double u1 = urand(), u2 = urand();
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void assert_rel(double got, double want, double tol)
{
	double err = fabs(got - want);
	if (err > tol * fabs(want) + 1e-300)
		ck_abort_msg("got %.17g want %.17g (relative error %.3g > %.3g)", got, want,
			     err / fabs(want), tol);
}

START_TEST(test_key_value_formula)
{
	for (int32_t k = -1000; k <= 1000; k += 7)
		assert_rel(hist_key_value(k), 2 * pow(gamma_, k) / (gamma_ + 1), 1e-12);
	/* the bucket of a value is (gamma^(k-1), gamma^k] */
	for (int i = 0; i < 100000; i++) {
		double v = exp((urand() * 2 - 1) * 20);
		int32_t k = hist_key(v);
		double lo = pow(gamma_, k - 1), hi = pow(gamma_, k);
		ck_assert_msg(v > lo * (1 - 1e-12) && v <= hi * (1 + 1e-12), "v %.17g key %d", v, k);
	}
}
END_TEST

START_TEST(test_round_trip_bound)
{
	/* 1e-6 .. 1e4, both signs: a value's bucket stands within 1% of it */
	for (int i = 0; i < 200000; i++) {
		double v = pow(10, -6 + urand() * 10);
		if (i & 1)
			v = -v;
		int32_t ord = hist_ord(v);
		double back = hist_ord_value(ord);
		ck_assert_msg((back > 0) == (v > 0), "sign lost for %g", v);
		assert_rel(back, v, HIST_ALPHA * (1 + 1e-9));
	}
	/* every decade edge, exactly */
	for (int e = -6; e <= 4; e++) {
		double v = pow(10, e);
		assert_rel(hist_ord_value(hist_ord(v)), v, HIST_ALPHA * (1 + 1e-9));
		assert_rel(hist_ord_value(hist_ord(-v)), -v, HIST_ALPHA * (1 + 1e-9));
	}
	/* zero and what counts as zero */
	ck_assert_int_eq(hist_ord(0.0), 0);
	ck_assert_int_eq(hist_ord(-0.0), 0);
	ck_assert_int_eq(hist_ord(HIST_MIN_ABS / 2), 0);
	ck_assert_int_eq(hist_ord(-HIST_MIN_ABS / 2), 0);
	ck_assert(hist_ord_value(0) == 0);
	/* huge values and infinity keep a finite key */
	assert_rel(hist_ord_value(hist_ord(1e300)), 1e300, HIST_ALPHA * (1 + 1e-9));
	ck_assert_int_eq(hist_ord(INFINITY), hist_ord(1.7976931348623157e308));
	ck_assert_int_eq(hist_ord(-INFINITY), -hist_ord(1.7976931348623157e308));
}
END_TEST

START_TEST(test_ord_order)
{
	/* ords sort like the values: negative (large magnitude first), 0, positive */
	double v[4000];
	for (int i = 0; i < 4000; i++)
		v[i] = (urand() * 2 - 1) * pow(10, urand() * 12 - 6);
	v[0] = 0;
	qsort(v, 4000, sizeof(v[0]), cmp_double);
	for (int i = 1; i < 4000; i++)
		ck_assert_int_le(hist_ord(v[i - 1]), hist_ord(v[i]));
	ck_assert_int_lt(hist_ord(-5.0), hist_ord(-0.5));
	ck_assert_int_lt(hist_ord(-0.5), 0);
	ck_assert_int_lt(0, hist_ord(1e-6));
}
END_TEST

START_TEST(test_dense_index)
{
	ck_assert_uint_eq(hist_dense_index_ns(0), 0);
	ck_assert_uint_eq(hist_dense_index_ns(1), 0);
	ck_assert_uint_eq(hist_dense_index_ns(UINT64_MAX), HIST_DENSE_N - 1);
	ck_assert_uint_eq(hist_dense_index_ns(100000ull * 1000000000ull), HIST_DENSE_N - 1);
	/* within the range, the dense bucket is the sparse one (a value on a
	 * bucket edge may go either way: one log() against another) */
	int off = 0;
	for (int i = 0; i < 100000; i++) {
		uint64_t ns = (uint64_t)pow(10, 3 + urand() * 10);
		unsigned idx = hist_dense_index_ns(ns);
		ck_assert_uint_lt(idx, HIST_DENSE_N);
		int32_t ord = HIST_ORD_BIAS + HIST_DENSE_KEY_MIN + (int32_t)idx;
		int32_t want = hist_ord((double)ns * 1e-9);
		ck_assert_int_le(abs(ord - want), 1);
		off += ord != want;
		assert_rel(hist_ord_value(ord), (double)ns * 1e-9, HIST_ALPHA * 1.001);
	}
	ck_assert_int_lt(off, 10);
}
END_TEST

/* exact nearest rank of Q = QM / 1000 over sorted V (integer arithmetic) */
static double exact_rank(const double *v, size_t n, unsigned qm)
{
	size_t rank = (qm * n + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static void check_quantiles(double *v, size_t n)
{
	struct hist h = HIST_INIT;
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(hist_add(&h, v[i], 1), 0);
	ck_assert_uint_eq(hist_count(&h), n);
	qsort(v, n, sizeof(v[0]), cmp_double);
	static const unsigned qs[] = { 0, 1, 10, 100, 250, 500, 750, 900, 950, 990, 999, 1000 };
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		assert_rel(hist_quantile(&h, qs[i] / 1000.0), exact_rank(v, n, qs[i]), HIST_ALPHA * (1 + 1e-9));
	assert_rel(hist_min(&h), v[0], HIST_ALPHA * (1 + 1e-9));
	assert_rel(hist_max(&h), v[n - 1], HIST_ALPHA * (1 + 1e-9));
	hist_free(&h);
}

START_TEST(test_quantiles_uniform)
{
	static double v[100000];
	for (size_t i = 0; i < 100000; i++)
		v[i] = 0.001 + urand();
	check_quantiles(v, 100000);
	/* small n: every rank is a distinct sample */
	for (size_t n = 1; n <= 20; n++) {
		for (size_t i = 0; i < n; i++)
			v[i] = 1 + 10 * (double)i;
		check_quantiles(v, n);
	}
}
END_TEST

START_TEST(test_quantiles_lognormal)
{
	static double v[100000];
	for (size_t i = 0; i < 100000; i++)
		v[i] = exp(log(0.05) + 1.2 * nrand());
	check_quantiles(v, 100000);
}
END_TEST

START_TEST(test_quantiles_bimodal_signed)
{
	static double v[100000];
	for (size_t i = 0; i < 100000; i++)
		v[i] = (i % 5 == 0) ? 2.0 + 0.3 * nrand() : 0.01 * exp(0.3 * nrand());
	check_quantiles(v, 100000);
	/* negative values and zeros in the mix */
	for (size_t i = 0; i < 100000; i++)
		v[i] = i % 7 == 0 ? 0 : (urand() - 0.3) * 1000;
	struct hist h = HIST_INIT;
	for (size_t i = 0; i < 100000; i++)
		hist_add(&h, v[i], 1);
	qsort(v, 100000, sizeof(v[0]), cmp_double);
	for (unsigned qm = 0; qm <= 1000; qm += 50) {
		double want = exact_rank(v, 100000, qm), got = hist_quantile(&h, qm / 1000.0);
		if (want == 0)
			ck_assert(got == 0);
		else
			assert_rel(got, want, HIST_ALPHA * (1 + 1e-9));
	}
	hist_free(&h);
}
END_TEST

START_TEST(test_quantile_edges)
{
	struct hist h = HIST_INIT;
	ck_assert(isnan(hist_quantile(&h, 0.5)));
	ck_assert(isnan(hist_min(&h)));
	ck_assert(isnan(hist_max(&h)));
	ck_assert_int_eq(hist_add(&h, NAN, 1), -1);
	ck_assert_uint_eq(h.n, 0);
	ck_assert_int_eq(hist_add(&h, 3.0, 0), 0);
	ck_assert_uint_eq(h.n, 0);
	/* 99 samples of 1 and one of 100: p99 is 1 (rank 99), p100 100 */
	hist_add(&h, 1.0, 99);
	hist_add(&h, 100.0, 1);
	assert_rel(hist_quantile(&h, 0.99), 1.0, 0.01);
	assert_rel(hist_quantile(&h, 0.995), 100.0, 0.01);
	assert_rel(hist_quantile(&h, 1.0), 100.0, 0.01);
	assert_rel(hist_quantile(&h, 0.0), 1.0, 0.01);
	assert_rel(hist_quantile(&h, 2.0), 100.0, 0.01);
	hist_clear(&h);
	ck_assert_uint_eq(hist_count(&h), 0);
	hist_free(&h);
	ck_assert_ptr_null(h.b);
}
END_TEST

static int hist_equal(const struct hist *a, const struct hist *b)
{
	if (a->n != b->n)
		return 0;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->b[i].ord != b->b[i].ord || a->b[i].count != b->b[i].count)
			return 0;
	return 1;
}

static void check_sorted(const struct hist *h)
{
	for (uint32_t i = 0; i < h->n; i++) {
		ck_assert_uint_gt(h->b[i].count, 0);
		if (i)
			ck_assert_int_lt(h->b[i - 1].ord, h->b[i].ord);
	}
}

START_TEST(test_merge_is_union)
{
	for (int round = 0; round < 50; round++) {
		struct hist a = HIST_INIT, b = HIST_INIT, all = HIST_INIT;
		int na = (int)(rnd() % 300), nb = (int)(rnd() % 300);
		for (int i = 0; i < na; i++) {
			double v = (urand() - 0.2) * pow(10, urand() * 6 - 3);
			uint64_t c = 1 + rnd() % 5;
			hist_add(&a, v, c);
			hist_add(&all, v, c);
		}
		for (int i = 0; i < nb; i++) {
			double v = (urand() - 0.2) * pow(10, urand() * 6 - 3);
			hist_add(&b, v, 1);
			hist_add(&all, v, 1);
		}
		ck_assert_int_eq(hist_merge(&a, &b), 0);
		check_sorted(&a);
		ck_assert(hist_equal(&a, &all));
		ck_assert_uint_eq(hist_count(&a), hist_count(&all));
		/* merging an empty one changes nothing; into an empty one copies */
		struct hist e = HIST_INIT;
		ck_assert_int_eq(hist_merge(&a, &e), 0);
		ck_assert(hist_equal(&a, &all));
		ck_assert_int_eq(hist_merge(&e, &a), 0);
		ck_assert(hist_equal(&e, &all));
		/* copy, and merge with itself doubles */
		struct hist c = HIST_INIT;
		ck_assert_int_eq(hist_copy(&c, &all), 0);
		ck_assert(hist_equal(&c, &all));
		ck_assert_int_eq(hist_merge(&c, &c), 0);
		ck_assert_uint_eq(hist_count(&c), 2 * hist_count(&all));
		hist_free(&a);
		hist_free(&b);
		hist_free(&c);
		hist_free(&e);
		hist_free(&all);
	}
}
END_TEST

/* Collapsed histograms (shift 1 .. 5): every quantile, min and max within
 * hist_alpha(shift) of the exact nearest rank, on positive, negative and
 * mixed samples; merges across shifts land at the coarser one. */
START_TEST(test_collapse_bound)
{
	/* the documented accuracies */
	assert_rel(hist_alpha(0), 0.01, 1e-12);
	assert_rel(hist_alpha(1), 0.019998, 1e-4);
	assert_rel(hist_alpha(2), 0.03998, 1e-3);
	assert_rel(hist_alpha(3), 0.079832, 1e-4);
	enum { N = 20000 };
	static double v[N];
	static const unsigned qs[] = { 0, 1, 10, 100, 250, 500, 750, 900, 950, 990, 999, 1000 };
	for (unsigned shift = 1; shift <= 5; shift++) {
		for (int kind = 0; kind < 3; kind++) {
			struct hist h = HIST_INIT, fine = HIST_INIT;
			for (size_t i = 0; i < N; i++) {
				double x = i % 50 == 0 ? 0.4 * exp(0.3 * nrand()) : 0.02 * exp(0.5 * nrand());
				v[i] = kind == 0 ? x : kind == 1 ? -x : (i % 3 ? x : -x * 10);
				ck_assert_int_eq(hist_add(&fine, v[i], 1), 0);
			}
			/* collapsed in one step, or in two, or sample by sample into a collapsed one */
			ck_assert_int_eq(hist_copy(&h, &fine), 0);
			hist_collapse(&h, shift);
			struct hist two = HIST_INIT, direct = HIST_INIT;
			ck_assert_int_eq(hist_copy(&two, &fine), 0);
			hist_collapse(&two, shift - 1);
			hist_collapse(&two, shift);
			direct.shift = shift;
			for (size_t i = 0; i < N; i++)
				ck_assert_int_eq(hist_add(&direct, v[i], 1), 0);
			ck_assert_uint_eq(h.shift, shift);
			ck_assert_uint_eq(two.n, h.n);
			ck_assert_uint_eq(direct.n, h.n);
			for (uint32_t k = 0; k < h.n; k++) {
				ck_assert_int_eq(two.b[k].ord, h.b[k].ord);
				ck_assert_int_eq(direct.b[k].ord, h.b[k].ord);
				ck_assert_uint_eq(direct.b[k].count, h.b[k].count);
			}
			ck_assert_uint_eq(hist_count(&h), N);
			ck_assert_uint_lt(h.n, fine.n);
			qsort(v, N, sizeof(v[0]), cmp_double);
			double tol = hist_alpha(shift) * (1 + 1e-9);
			for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
				assert_rel(hist_quantile(&h, qs[i] / 1000.0), exact_rank(v, N, qs[i]), tol);
			assert_rel(hist_min(&h), v[0], tol);
			assert_rel(hist_max(&h), v[N - 1], tol);
			/* fine + coarse: at the coarse shift, counts add up, the bound holds */
			struct hist m = HIST_INIT;
			ck_assert_int_eq(hist_copy(&m, &fine), 0);
			ck_assert_int_eq(hist_merge(&m, &h), 0);
			ck_assert_uint_eq(m.shift, shift);
			ck_assert_uint_eq(hist_count(&m), 2 * N);
			for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
				assert_rel(hist_quantile(&m, qs[i] / 1000.0), exact_rank(v, N, qs[i]), tol);
			struct hist m2 = HIST_INIT;
			ck_assert_int_eq(hist_copy(&m2, &h), 0);
			ck_assert_int_eq(hist_merge(&m2, &fine), 0);
			ck_assert_uint_eq(m2.n, m.n);
			for (uint32_t k = 0; k < m.n; k++)
				ck_assert_uint_eq(m2.b[k].count, m.b[k].count);
			hist_free(&m);
			hist_free(&m2);
			hist_free(&two);
			hist_free(&direct);
			hist_free(&h);
			hist_free(&fine);
		}
	}
	/* collapsing to a finer shift does nothing; clearing forgets the shift */
	struct hist h = HIST_INIT;
	hist_add(&h, 1.0, 1);
	hist_collapse(&h, 2);
	hist_collapse(&h, 1);
	ck_assert_uint_eq(h.shift, 2);
	hist_clear(&h);
	ck_assert_uint_eq(h.shift, 0);
	hist_free(&h);
}
END_TEST

START_TEST(test_fold_dense)
{
	static struct hist_dense d;
	static uint32_t prev[HIST_DENSE_N];
	struct hist h = HIST_INIT, want = HIST_INIT;

	memset(&d, 0, sizeof(d));
	memset(prev, 0, sizeof(prev));
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 0);
	ck_assert_uint_eq(h.n, 0);

	for (int i = 0; i < 5000; i++) {
		uint64_t ns = (uint64_t)exp(log(2e6) + nrand());
		hist_dense_record_ns(&d, ns);
		hist_add_ord(&want, HIST_ORD_BIAS + HIST_DENSE_KEY_MIN + (int32_t)hist_dense_index_ns(ns), 1);
	}
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 5000);
	ck_assert(hist_equal(&h, &want));
	/* nothing new: nothing folded */
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 0);
	ck_assert(hist_equal(&h, &want));

	/* a counter that wrapped past 2^32 since the last read */
	unsigned i = hist_dense_index_ns(1000000);
	prev[i] = UINT32_MAX - 5;
	atomic_store(&d.c[i], 10);
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 16);
	ck_assert_uint_eq(prev[i], 10);
	hist_add_ord(&want, HIST_ORD_BIAS + HIST_DENSE_KEY_MIN + (int32_t)i, 16);
	ck_assert(hist_equal(&h, &want));
	/* the end buckets */
	hist_dense_record_ns(&d, 0);
	hist_dense_record_ns(&d, UINT64_MAX);
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 2);
	ck_assert_int_eq(h.b[0].ord, HIST_ORD_BIAS + HIST_DENSE_KEY_MIN);
	ck_assert_int_eq(h.b[h.n - 1].ord, HIST_ORD_BIAS + HIST_DENSE_KEY_MAX);
	hist_free(&h);
	hist_free(&want);
}
END_TEST

/* Only the range ever counted is read; a count the reader sees before the
 * range that covers it is folded at the next read, not lost. */
START_TEST(test_fold_dense_range)
{
	static struct hist_dense d;
	static uint32_t prev[HIST_DENSE_N];
	struct hist h = HIST_INIT;

	memset(&d, 0, sizeof(d));
	memset(prev, 0, sizeof(prev));
	unsigned a = hist_dense_index_ns(2000000);
	hist_dense_add(&d, a);
	ck_assert_uint_eq(atomic_load(&d.lo1), a + 1);
	ck_assert_uint_eq(atomic_load(&d.hi1), a + 1);
	hist_dense_add(&d, a - 3);
	hist_dense_add(&d, a + 2);
	ck_assert_uint_eq(atomic_load(&d.lo1), a - 2);
	ck_assert_uint_eq(atomic_load(&d.hi1), a + 3);
	hist_dense_add(&d, a);   /* inside: the range stays */
	ck_assert_uint_eq(atomic_load(&d.lo1), a - 2);
	ck_assert_uint_eq(atomic_load(&d.hi1), a + 3);

	/* a count whose range store is not seen yet */
	atomic_store(&d.c[a + 10], 7);
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 4);
	ck_assert_uint_eq(prev[a + 10], 0);
	atomic_store(&d.hi1, a + 11);
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 7);
	ck_assert_uint_eq(prev[a + 10], 7);
	ck_assert_uint_eq(hist_count(&h), 11);
	ck_assert_int_eq(hist_fold_dense(&h, &d, prev), 0);
	hist_free(&h);
}
END_TEST

START_TEST(test_encode_round_trip)
{
	for (int round = 0; round < 200; round++) {
		struct hist h = HIST_INIT, back = HIST_INIT;
		int n = round == 0 ? 0 : (int)(rnd() % 400);
		for (int i = 0; i < n; i++) {
			double v = (urand() - 0.3) * pow(10, urand() * 20 - 10);
			hist_add(&h, v, 1 + (rnd() % 3 == 0 ? rnd() : rnd() % 100));
		}
		if (round == 1) {
			hist_add(&h, 1e308, 1);
			hist_add(&h, -1e308, 1);
			hist_add(&h, 0, UINT64_MAX / 2);
		}
		size_t max = hist_encoded_max(&h);
		uint8_t *buf = malloc(max + 1);
		size_t len = hist_encode(&h, buf);
		ck_assert_uint_le(len, max);
		/* hist_decode replaces what was there */
		hist_add(&back, 42.0, 1);
		ck_assert_int_eq(hist_decode(&back, buf, len), (long)len);
		ck_assert(hist_equal(&h, &back));
		/* trailing bytes are not read */
		buf[len] = 0xff;
		ck_assert_int_eq(hist_decode(&back, buf, len + 1), (long)len);
		/* every truncation is refused, leaving it empty */
		for (size_t cut = 0; cut < len; cut++) {
			hist_add(&back, 1.0, 1);
			ck_assert_int_eq(hist_decode(&back, buf, cut), -1);
			ck_assert_uint_eq(back.n, 0);
		}
		free(buf);
		hist_free(&h);
		hist_free(&back);
	}
}
END_TEST

START_TEST(test_encode_compact)
{
	/* a latency histogram of 10,000 samples: a couple of bytes a bucket */
	struct hist h = HIST_INIT;
	for (int i = 0; i < 10000; i++)
		hist_add(&h, exp(log(0.02) + 0.5 * nrand()), 1);
	uint8_t *buf = malloc(hist_encoded_max(&h));
	size_t len = hist_encode(&h, buf);
	printf("histogram: %u buckets, %zu bytes encoded\n", h.n, len);
	ck_assert_uint_lt(len, (size_t)h.n * 3 + 8);
	free(buf);
	hist_free(&h);
}
END_TEST

START_TEST(test_decode_malformed)
{
	struct hist h = HIST_INIT;
	/* nothing at all */
	ck_assert_int_eq(hist_decode(&h, (const uint8_t *)"", 0), -1);
	/* an empty histogram is one zero byte */
	ck_assert_int_eq(hist_decode(&h, (const uint8_t[]){ 0 }, 1), 1);
	/* a bucket count far beyond the bytes there */
	ck_assert_int_eq(hist_decode(&h, (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1 }, 7), -1);
	/* a varint longer than 64 bits */
	uint8_t over[16];
	memset(over, 0xff, sizeof(over));
	ck_assert_int_eq(hist_decode(&h, over, sizeof(over)), -1);
	/* a zero count */
	ck_assert_int_eq(hist_decode(&h, (const uint8_t[]){ 1, 0, 0 }, 3), -1);
	/* two buckets with the same ord (delta 0) */
	ck_assert_int_eq(hist_decode(&h, (const uint8_t[]){ 2, 0, 1, 0, 1 }, 5), -1);
	/* an ord that no value has (zigzag 2 = ord 1, far below the bias) */
	ck_assert_int_eq(hist_decode(&h, (const uint8_t[]){ 1, 2, 1 }, 3), -1);
	/* a valid one for comparison: ord 0, count 3 */
	ck_assert_int_eq(hist_decode(&h, (const uint8_t[]){ 1, 0, 3 }, 3), 3);
	ck_assert_uint_eq(hist_count(&h), 3);
	/* random garbage never crashes and never yields an unsorted histogram */
	uint8_t g[64];
	int ok = 0;
	for (int round = 0; round < 100000; round++) {
		size_t len = rnd() % sizeof(g);
		for (size_t i = 0; i < len; i++)
			g[i] = (uint8_t)rnd();
		if (round & 1)
			g[0] = (uint8_t)(rnd() % 4);
		long r = hist_decode(&h, g, len);
		if (r < 0) {
			ck_assert_uint_eq(h.n, 0);
		} else {
			ok++;
			ck_assert_int_le(r, (long)len);
			check_sorted(&h);
		}
	}
	printf("garbage: %d of 100000 decoded as valid\n", ok);
	hist_free(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("histogram");
	TCase *tc = tcase_create("mapping");
	tcase_add_test(tc, test_key_value_formula);
	tcase_add_test(tc, test_round_trip_bound);
	tcase_add_test(tc, test_ord_order);
	tcase_add_test(tc, test_dense_index);
	suite_add_tcase(s, tc);

	tc = tcase_create("quantiles");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_quantiles_uniform);
	tcase_add_test(tc, test_quantiles_lognormal);
	tcase_add_test(tc, test_quantiles_bimodal_signed);
	tcase_add_test(tc, test_quantile_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("merge");
	/* test_collapse_bound sorts and collapses 30 sketches of 20,000 samples:
	 * seconds under the sanitizers on a loaded machine */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_merge_is_union);
	tcase_add_test(tc, test_collapse_bound);
	tcase_add_test(tc, test_fold_dense);
	tcase_add_test(tc, test_fold_dense_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_encode_round_trip);
	tcase_add_test(tc, test_encode_compact);
	tcase_add_test(tc, test_decode_malformed);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
