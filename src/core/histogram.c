/* histogram.c - see histogram.h
 *
 * The mapping is DDSketch's logarithmic one: key(v) = ceil(ln v / ln gamma),
 * gamma = (1 + a) / (1 - a). Keys of finite doubles fit in about
 * [-1036, 35489] once |v| < HIST_MIN_ABS counts as zero, so an ord
 * (HIST_ORD_BIAS + key, its negation, or 0) always fits an int32 and keeps
 * the order of the values. hist_decode() accepts only ords in that range.
 *
 * The sparse form is a sorted array that grows by doubling; adding to an
 * existing bucket is a binary search, a new one a memmove: a histogram of
 * latencies has a few hundred buckets at most, so this beats a tree.
 */
#include "histogram.h"
#include "varint.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ln(gamma), 1 / ln(gamma) and 2 / (gamma + 1) for gamma = 1.01 / 0.99, as
 * constants (C has no constexpr log(); test_histogram checks them against
 * log()), so that the workers' hist_dense_index_ns() reads no shared state
 * that needs initialising. */
#define LG_GAMMA 0.020000666706669435
#define LG_INV 49.99833328888678
#define VAL_SCALE 0.9900000000000001
#define LN_NS (-20.72326583694641)  /* ln(1e-9): nanoseconds to seconds under log() */
/* the key range of doubles: [key(HIST_MIN_ABS), key(DBL_MAX)] */
#define KEY_LO (-1036)
#define KEY_HI 35488

/* The key of v > 0, clamped to the range of finite doubles (infinity gets
 * DBL_MAX's key). */
int32_t hist_key(double v)
{
	if (!(v > 0))
		return KEY_LO;
	double k = ceil(log(v) * LG_INV);
	if (k < KEY_LO)
		return KEY_LO;
	if (k > KEY_HI)
		return KEY_HI;
	return (int32_t)k;
}

/* 2 gamma^k / (gamma + 1): the value within HIST_ALPHA of all of (gamma^(k-1), gamma^k]. */
double hist_key_value(int32_t key)
{
	return exp((double)key * LG_GAMMA) * VAL_SCALE;
}

/* ord of V; NaN has none and is mapped to 0 (hist_add refuses it first). */
int32_t hist_ord(double v)
{
	if (isnan(v) || fabs(v) < HIST_MIN_ABS)
		return 0;
	if (v > 0)
		return HIST_ORD_BIAS + hist_key(v);
	return -(HIST_ORD_BIAS + hist_key(-v));
}

double hist_ord_value(int32_t ord)
{
	if (ord == 0)
		return 0;
	if (ord > 0)
		return hist_key_value(ord - HIST_ORD_BIAS);
	return -hist_key_value(-ord - HIST_ORD_BIAS);
}

/* ------------------------------------------------------------ collapsed */

double hist_alpha(unsigned shift)
{
	if (shift == 0)
		return HIST_ALPHA;
	double g = exp(ldexp(LG_GAMMA, (int)shift));
	return (g - 1) / (g + 1);
}

/* ceil(k / 2^ds) for any int k */
static int64_t ceil_shift(int64_t k, unsigned ds)
{
	int64_t d = (int64_t)1 << ds;
	int64_t q = k / d;
	return (k % d != 0 && k > 0) ? q + 1 : q;
}

int32_t hist_ord_coarser(int32_t ord, unsigned ds)
{
	if (ord == 0 || ds == 0)
		return ord;
	int64_t m = ord > 0 ? ord : -(int64_t)ord;
	int64_t k = ceil_shift(m - HIST_ORD_BIAS, ds);
	return (int32_t)(ord > 0 ? HIST_ORD_BIAS + k : -(HIST_ORD_BIAS + k));
}

double hist_ord_value_at(int32_t ord, unsigned shift)
{
	if (shift == 0 || ord == 0)
		return hist_ord_value(ord);
	double lg = ldexp(LG_GAMMA, (int)shift);
	double scale = 2 / (exp(lg) + 1);
	int64_t k = (ord > 0 ? (int64_t)ord : -(int64_t)ord) - HIST_ORD_BIAS;
	double v = exp((double)k * lg) * scale;
	return ord > 0 ? v : -v;
}

void hist_collapse(struct hist *h, unsigned shift)
{
	if (shift <= h->shift)
		return;
	unsigned ds = shift - h->shift;
	uint32_t w = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		int32_t o = hist_ord_coarser(h->b[i].ord, ds);
		/* the mapping keeps the order: equal ords are neighbours */
		if (w && h->b[w - 1].ord == o) {
			h->b[w - 1].count += h->b[i].count;
		} else {
			h->b[w].ord = o;
			h->b[w].count = h->b[i].count;
			w++;
		}
	}
	h->n = w;
	h->shift = shift;
}

/* Is ORD one that hist_ord() can give? */
static int ord_valid(int64_t ord)
{
	if (ord == 0)
		return 1;
	if (ord > INT32_MAX || ord < -INT32_MAX)
		return 0;
	int64_t k = (ord > 0 ? ord : -ord) - HIST_ORD_BIAS;
	return k >= KEY_LO && k <= KEY_HI;
}

/* ------------------------------------------------------------ dense */

unsigned hist_dense_index_ns(uint64_t ns)
{
	if (ns == 0)
		return 0;
	double k = ceil((log((double)ns) + LN_NS) * LG_INV);
	if (k <= HIST_DENSE_KEY_MIN)
		return 0;
	if (k >= HIST_DENSE_KEY_MAX)
		return HIST_DENSE_N - 1;
	return (unsigned)((int)k - HIST_DENSE_KEY_MIN);
}

/* ------------------------------------------------------------ sparse */

void hist_free(struct hist *h)
{
	free(h->b);
	h->b = NULL;
	h->n = h->cap = 0;
	h->shift = 0;
}

void hist_clear(struct hist *h)
{
	h->n = 0;
	h->shift = 0;
}

/* Make room for at least N buckets. Returns 0 or -1 (H unchanged). */
static int reserve(struct hist *h, uint32_t n)
{
	if (n <= h->cap)
		return 0;
	/* by half: the store keeps many histograms of a few hundred buckets */
	uint32_t cap = h->cap ? h->cap : 4;
	while (cap < n)
		cap = cap > UINT32_MAX / 3 * 2 ? n : cap + cap / 2;
	struct hist_bucket *b = realloc(h->b, (size_t)cap * sizeof(*b));
	if (!b)
		return -1;
	h->b = b;
	h->cap = cap;
	return 0;
}

/* The index of the first bucket with ord >= ORD. */
static uint32_t lower_bound(const struct hist *h, int32_t ord)
{
	uint32_t lo = 0, hi = h->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (h->b[mid].ord < ord)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int hist_add_ord(struct hist *h, int32_t ord, uint64_t count)
{
	if (count == 0)
		return 0;
	uint32_t i = lower_bound(h, ord);
	if (i < h->n && h->b[i].ord == ord) {
		h->b[i].count += count;
		return 0;
	}
	if (reserve(h, h->n + 1) < 0)
		return -1;
	memmove(&h->b[i + 1], &h->b[i], (size_t)(h->n - i) * sizeof(h->b[0]));
	h->b[i].ord = ord;
	h->b[i].count = count;
	h->n++;
	return 0;
}

/* NaN is no sample: refused with -1 like an allocation failure. */
int hist_add(struct hist *h, double v, uint64_t count)
{
	if (isnan(v))
		return -1;
	return hist_add_ord(h, hist_ord_coarser(hist_ord(v), h->shift), count);
}

static int merge_same(struct hist *dst, const struct hist *src);

int hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->n == 0)
		return 0;
	if (dst->n == 0 && dst->shift < src->shift)
		dst->shift = src->shift;
	if (dst->shift < src->shift)
		hist_collapse(dst, src->shift);
	if (dst->shift > src->shift) {
		/* a collapsed copy of SRC (dst != src here) */
		struct hist tmp = HIST_INIT;
		if (hist_copy(&tmp, src) < 0)
			return -1;
		hist_collapse(&tmp, dst->shift);
		int rc = merge_same(dst, &tmp);
		hist_free(&tmp);
		return rc;
	}
	return merge_same(dst, src);
}

/* DST += SRC, both at the same shift */
static int merge_same(struct hist *dst, const struct hist *src)
{
	if (src->n == 0)
		return 0;
	if (dst == src) {
		for (uint32_t k = 0; k < dst->n; k++)
			dst->b[k].count *= 2;
		return 0;
	}
	if (reserve(dst, dst->n + src->n) < 0)
		return -1;
	/* merge from the back into the room behind dst's buckets, then close
	 * the gap left by ords both have */
	int64_t i = (int64_t)dst->n - 1, j = (int64_t)src->n - 1;
	uint32_t w = dst->n + src->n;
	while (j >= 0) {
		if (i >= 0 && dst->b[i].ord > src->b[j].ord) {
			dst->b[--w] = dst->b[i--];
		} else if (i >= 0 && dst->b[i].ord == src->b[j].ord) {
			dst->b[--w] = dst->b[i--];
			dst->b[w].count += src->b[j--].count;
		} else {
			dst->b[--w] = src->b[j--];
		}
	}
	/* dst->b[0..i] stay where they are; the merged tail starts at w */
	uint32_t head = (uint32_t)(i + 1);
	uint32_t tail = dst->n + src->n - w;
	if (w != head)
		memmove(&dst->b[head], &dst->b[w], (size_t)tail * sizeof(dst->b[0]));
	dst->n = head + tail;
	return 0;
}

int hist_copy(struct hist *dst, const struct hist *src)
{
	if (dst == src)
		return 0;
	if (reserve(dst, src->n) < 0)
		return -1;
	if (src->n)
		memcpy(dst->b, src->b, (size_t)src->n * sizeof(src->b[0]));
	dst->n = src->n;
	dst->shift = src->shift;
	return 0;
}

int64_t hist_fold_dense(struct hist *dst, const struct hist_dense *cur, uint32_t *prev)
{
	/* each counter is read once: the value folded is the value kept */
	uint32_t now[HIST_DENSE_N];
	struct hist_bucket gained[HIST_DENSE_N];
	uint32_t ng = 0;
	int64_t total = 0;
	unsigned lo, hi;

	if (!hist_dense_range(cur, &lo, &hi))
		return 0;   /* nothing counted yet */
	for (unsigned i = lo; i < hi; i++) {
		now[i] = atomic_load_explicit(&cur->c[i], memory_order_relaxed);
		uint32_t d = now[i] - prev[i];  /* modulo 2^32 */
		if (d) {
			gained[ng].ord = HIST_ORD_BIAS + HIST_DENSE_KEY_MIN + (int32_t)i;
			gained[ng].count = d;
			ng++;
			total += d;
		}
	}
	if (ng) {
		struct hist g = { gained, ng, ng, 0 };
		if (hist_merge(dst, &g) < 0)
			return -1;
	}
	memcpy(prev + lo, now + lo, (hi - lo) * sizeof(now[0]));
	return total;
}

uint64_t hist_count(const struct hist *h)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < h->n; i++)
		n += h->b[i].count;
	return n;
}

/* Nearest rank: the bucket holding sample number ceil(q n) (1-based; q = 0
 * gives the first). q n is nudged down by a few ulps so that 0.99 * 100,
 * which a double may hold as 99.00000000000001, is rank 99, not 100. */
double hist_quantile(const struct hist *h, double q)
{
	if (h->n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	uint64_t n = hist_count(h);
	double r = q * (double)n;
	r = ceil(r - r * 1e-13);
	uint64_t rank = r < 1 ? 1 : (uint64_t)r;
	if (rank > n)
		rank = n;
	uint64_t cum = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		cum += h->b[i].count;
		if (cum >= rank)
			return hist_ord_value_at(h->b[i].ord, h->shift);
	}
	return hist_ord_value_at(h->b[h->n - 1].ord, h->shift);
}

double hist_min(const struct hist *h)
{
	return h->n ? hist_ord_value_at(h->b[0].ord, h->shift) : NAN;
}

double hist_max(const struct hist *h)
{
	return h->n ? hist_ord_value_at(h->b[h->n - 1].ord, h->shift) : NAN;
}

/* ------------------------------------------------------------ encoding
 *
 * varint(nbuckets), then per bucket: the ord (zigzag varint for the first,
 * plain varint of the difference to the previous one after: ords ascend
 * strictly, so a difference is >= 1) and the count (varint, >= 1).
 */

#define VARINT_MAX 10

size_t hist_encoded_max(const struct hist *h)
{
	return 5 + (size_t)h->n * (5 + VARINT_MAX);
}

size_t hist_encode(const struct hist *h, uint8_t *buf)
{
	size_t n = varint_put(buf, h->n);
	int64_t prev = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		int64_t ord = h->b[i].ord;
		n += i == 0 ? varint_put(buf + n, zigzag(ord)) : varint_put(buf + n, (uint64_t)(ord - prev));
		n += varint_put(buf + n, h->b[i].count);
		prev = ord;
	}
	return n;
}

long hist_decode(struct hist *h, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len;
	uint64_t nb, v, count;
	int64_t ord = 0;

	hist_clear(h);
	if (varint_get(&p, end, &nb) < 0)
		goto bad;
	/* every bucket takes at least two bytes: a count that does not fit the
	 * rest is garbage, not a reason to allocate */
	if (nb > (uint64_t)(end - p) / 2 || nb > UINT32_MAX)
		goto bad;
	if (reserve(h, (uint32_t)nb) < 0)
		goto bad;
	for (uint64_t i = 0; i < nb; i++) {
		if (varint_get(&p, end, &v) < 0)
			goto bad;
		if (i == 0) {
			ord = unzigzag(v);
		} else {
			if (v == 0 || v > (uint64_t)2 * HIST_ORD_BIAS + 0x100000)
				goto bad;
			ord += (int64_t)v;
		}
		if (!ord_valid(ord))
			goto bad;
		if (varint_get(&p, end, &count) < 0 || count == 0)
			goto bad;
		h->b[i].ord = (int32_t)ord;
		h->b[i].count = count;
	}
	h->n = (uint32_t)nb;
	return (long)(p - buf);
bad:
	hist_clear(h);
	return -1;
}
