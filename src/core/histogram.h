/* histogram.h - mergeable log-bucketed histograms for latencies and any
 * other samples (DDSketch's logarithmic mapping, Masson et al., VLDB 2019).
 *
 * A value v > 0 falls in bucket key k = ceil(log(v) / log(gamma)), the
 * interval (gamma^(k-1), gamma^k], with gamma = (1 + a) / (1 - a) and
 * a = HIST_ALPHA = 1%. A bucket stands for 2 gamma^k / (gamma + 1), which is
 * within a (1%) of every value in it: every quantile a histogram answers is
 * within 1% (relative) of a sample that really has that rank. Histograms
 * with the same mapping merge by adding counts, so per-worker, per-second
 * histograms fold into per-minute, per-hour ones without losing accuracy.
 *
 * Two forms:
 * - struct hist_dense: a fixed array over 1 us .. about 3.4 hours (latencies
 *   in seconds; values outside are clamped to the end buckets), written by
 *   one worker with plain relaxed stores (no read-modify-write) and read by
 *   the control thread, which folds the difference since its last read.
 * - struct hist: sparse, sorted (ord, count) pairs over every double
 *   (negative values, zero and positive values), for the store's points.
 *   An ord orders buckets by value: negative values (larger magnitude
 *   first), then zero, then positive values.
 *
 * Quantiles use the nearest rank: pQ is the smallest bucket value v such
 * that at least Q% of the samples are <= v (rank ceil(Q/100 * n), 1-based).
 */
#ifndef ALBD_HISTOGRAM_H
#define ALBD_HISTOGRAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_ALPHA 0.01
/* |v| below this counts as zero */
#define HIST_MIN_ABS 1e-9

/* The bucket key of v > 0 and the value a key stands for. Thread: any. */
int32_t hist_key(double v);
double hist_key_value(int32_t key);

/* ords: 0 is zero; key k of a positive value is HIST_ORD_BIAS + k; of a
 * negative value -(HIST_ORD_BIAS + k). */
#define HIST_ORD_BIAS 0x1000000
int32_t hist_ord(double v);
double hist_ord_value(int32_t ord);

/* ------------------------------------------------------------ dense */

#define HIST_DENSE_KEY_MIN (-698)  /* gamma^-698 ~ 0.87 us */
#define HIST_DENSE_KEY_MAX 471     /* gamma^471 ~ 12,300 s */
#define HIST_DENSE_N (HIST_DENSE_KEY_MAX - HIST_DENSE_KEY_MIN + 1)

/* Counts wrap at 2^32: the reader takes differences modulo 2^32, so it
 * must read at least once per 4 billion samples of a bucket. LO1 and HI1
 * are the lowest and highest index ever counted, plus one (0: none yet):
 * the reader scans only that range, a few hundred buckets for a target
 * instead of HIST_DENSE_N, every second for every target. They only
 * widen; a count seen before the range that covers it is folded by the
 * next fold that reads it (prev keeps its old value until then): the
 * control thread folds a histogram when it sees the latencies' sum grow,
 * which the worker stores last (shard_record_ns()). */
struct hist_dense {
	_Atomic uint32_t c[HIST_DENSE_N];
	_Atomic uint32_t lo1, hi1;
};

/* The range of buckets H ever counted, as [*LO, *HI); 0 when none yet.
 * Thread: any (the reader sees a range no wider than the writer's). */
static inline int hist_dense_range(const struct hist_dense *h, unsigned *lo, unsigned *hi)
{
	unsigned lo1 = atomic_load_explicit(&h->lo1, memory_order_relaxed);
	unsigned hi1 = atomic_load_explicit(&h->hi1, memory_order_relaxed);
	if (lo1 == 0 || hi1 < lo1 || hi1 > HIST_DENSE_N)
		return 0;
	*lo = lo1 - 1;
	*hi = hi1;
	return 1;
}

/* The dense index of a latency of NS nanoseconds (clamped). Thread: any. */
unsigned hist_dense_index_ns(uint64_t ns);

/* Count one sample in dense bucket IDX (hist_dense_index_ns()) / record
 * one latency of NS nanoseconds. Thread: the one writer of H. */
static inline void hist_dense_add(struct hist_dense *h, unsigned idx)
{
	uint32_t lo1 = atomic_load_explicit(&h->lo1, memory_order_relaxed);
	if (lo1 == 0 || idx + 1 < lo1)
		atomic_store_explicit(&h->lo1, idx + 1, memory_order_relaxed);
	if (idx + 1 > atomic_load_explicit(&h->hi1, memory_order_relaxed))
		atomic_store_explicit(&h->hi1, idx + 1, memory_order_relaxed);
	_Atomic uint32_t *p = &h->c[idx];
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1, memory_order_relaxed);
}

static inline void hist_dense_record_ns(struct hist_dense *h, uint64_t ns)
{
	hist_dense_add(h, hist_dense_index_ns(ns));
}

/* ------------------------------------------------------------ sparse */

struct hist_bucket {
	int32_t ord;
	uint64_t count;
};

struct hist {
	struct hist_bucket *b;  /* sorted by ord, counts > 0 */
	uint32_t n, cap;
	uint32_t shift;         /* collapsed: ords at gamma^(2^shift) (hist_collapse); 0: HIST_ALPHA */
};

/* An empty histogram needs no allocation: zero it, or HIST_INIT. */
#define HIST_INIT { NULL, 0, 0, 0 }
void hist_free(struct hist *h);           /* and leave it empty (shift 0) */
void hist_clear(struct hist *h);          /* keep the memory; shift 0 */

/* ------------------------------------------------------------ collapsed
 *
 * DDSketch's collapse: a histogram at shift s has buckets of gamma^(2^s),
 * each the union of 2^s neighbouring buckets of shift 0: ord o (key k =
 * o - HIST_ORD_BIAS of a positive value) holds the values of the shift-0
 * keys (2^s (k - 1), 2^s k], its value is 2 g^k / (g + 1) with g =
 * gamma^(2^s), within hist_alpha(s) of each of them: 1% at shift 0, 2.0% at
 * 1, 4.0% at 2, 7.98% at 3 ((g - 1) / (g + 1)). Counts are kept: ranks stay
 * exact, only values get coarser. Histograms of different shifts merge at
 * the coarser one. HIST_SHIFT_MAX bounds it. */
#define HIST_SHIFT_MAX 6
double hist_alpha(unsigned shift);
/* The ord at shift SHIFT + DS of the ord ORD at shift SHIFT. */
int32_t hist_ord_coarser(int32_t ord, unsigned ds);
/* The value of ORD at shift SHIFT (hist_ord_value() for 0). */
double hist_ord_value_at(int32_t ord, unsigned shift);
/* Collapse H to SHIFT (>= H's; a smaller one is ignored). No allocation. */
void hist_collapse(struct hist *h, unsigned shift);

/* Add COUNT samples of value V / of bucket ORD (an ord at H's shift).
 * Return 0 or -1 (out of memory: H is unchanged). */
int hist_add(struct hist *h, double v, uint64_t count);
int hist_add_ord(struct hist *h, int32_t ord, uint64_t count);

/* DST += SRC, at the coarser of their shifts. Returns 0 or -1 (out of
 * memory: DST unchanged, but possibly collapsed to SRC's shift). */
int hist_merge(struct hist *dst, const struct hist *src);

/* Copy (DST's old content is replaced). Returns 0 or -1. */
int hist_copy(struct hist *dst, const struct hist *src);

/* Fold what a dense histogram gained since PREV into DST and make PREV
 * equal to CUR (HIST_DENSE_N counts each; only CUR's range, lo1..hi1, is
 * read and updated: PREV is 0 outside it). Returns the number of samples
 * added, or -1 (out of memory: DST and PREV unchanged). Thread: the
 * reader (the control thread). */
int64_t hist_fold_dense(struct hist *dst, const struct hist_dense *cur, uint32_t *prev);

uint64_t hist_count(const struct hist *h);

/* The quantile Q in [0, 1] (nearest rank), the smallest and the largest
 * bucket values (at H's shift: within hist_alpha(h->shift)); NAN when H is
 * empty. */
double hist_quantile(const struct hist *h, double q);
double hist_min(const struct hist *h);
double hist_max(const struct hist *h);

/* Compact encoding (varints, ords as deltas) of a histogram at shift 0
 * (the shift is not written; hist_decode gives shift 0). hist_encode writes at most
 * hist_encoded_max(h) bytes to BUF and returns how many; hist_decode reads
 * one histogram from BUF (LEN bytes) into H (replacing it) and returns the
 * bytes used, or -1 when BUF is malformed or truncated (H is then empty). */
size_t hist_encoded_max(const struct hist *h);
size_t hist_encode(const struct hist *h, uint8_t *buf);
long hist_decode(struct hist *h, const uint8_t *buf, size_t len);

#endif
