/* store_codec.h - the store's compact encodings: a chunk of points of one
 * series at one resolution (Gorilla's delta-of-delta timestamps and XOR'd
 * doubles, Pielemeier et al., VLDB 2015, plus one histogram per point) and
 * CRC32C for the files that hold them.
 *
 * A chunk covers one block window starting at BASE (a multiple of STEP).
 * Four versions; chunks are always written in the current one (4), and
 * all are read (blocks and checkpoints say which they hold).
 *
 * Version 1. Per point: the timestamp (in steps) as a delta of deltas: '0'
 * same delta, '10'+7 bits, '110'+12, '1110'+20, '1111'+64 (zigzag); then '0'
 * for a point of one sample (n = 1, min = max = sum: only the sum follows)
 * or '1' for n, sum, min and then '0' (max = min) or '1' + max; each double
 * against the same field of the point before: '0' equal, '10' + the
 * difference (Exp-Golomb) when both are integers, or XOR'd: '110' + the
 * bits inside the previous window of meaningful bits, '111' + 5 bits of
 * leading zeros + 6 bits of length - 1 + the bits. Histograms go to a
 * second bit stream, one per point, as runs of neighbouring buckets with
 * Rice-coded counts or differences of neighbouring counts, whichever is
 * shorter (see store_codec.c).
 *
 * Version 2 (store_codec.c has the details), the same timestamps and
 * histogram runs, plus:
 * - in a chunk without histograms, a point equal to the one before (n,
 *   sum, min, max) at the same time delta is no bits of its own: '0' and
 *   the number of such points in a row (Exp-Golomb) stand for a whole run
 *   of them (a count that stays 0, a gauge that stays 1); '1' starts any
 *   other point;
 * - each field is equal to the one before, the integer difference (Rice
 *   with an adaptive parameter), the difference of its histogram bucket
 *   (ords) when the value is exactly a bucket's value (hist_ord_value: the
 *   minimum and maximum of a latency histogram), or XOR'd as in version
 *   1: '0' for the same mode as the field's last, else '1' and 2 bits;
 * - in a chunk with histograms, n is one bit when it is the histogram's
 *   count;
 * - the histogram stream starts with 3 bits of shift: its histograms are
 *   collapsed (histogram.h) to that shift before they are written; each
 *   histogram is '0' + runs as in version 1, or '1' + its count and every
 *   bucket from its first to its last as the difference to a prediction
 *   (the chunk's moving average of that bucket, scaled to the count):
 *   steady traffic's counts are noise around a shape that stays, and
 *   the prediction takes the shape out; the cheaper of the two.
 * Version 3, as version 2 but for the predictive histograms: they are
 * written from 60 s up (version 2: 300 s), the Rice parameter of each
 * bucket's difference comes from its prediction (the Poisson noise a
 * count of that size has; store_codec.c's pred_k) instead of adapting to
 * the buckets before it, and the predictor forgets an ord whose average
 * falls below a quarter of a count (version 2: to 0; store_codec.c,
 * "prediction").
 * Version 4 codes what version 3 does with an adaptive binary range coder
 * (LZMA's, integers only; store_codec.c, "version 4") instead of fixed bit
 * codes, each decision in a context of its own that starts at a prior
 * (store_prior.h, a generated table) and learns, over the chunk, how
 * likely it is: a point that repeats the one before is one
 * decision (no runs), the timestamp, a point's kind, n being the
 * histogram's count and each field's mode (equal, integer difference, ord
 * difference, XOR'd; in contexts of the field's last mode and whether the
 * field before it changed) are decisions, numbers are their bit length in
 * unary decisions, the bit below the top as a decision and the rest as
 * they are. A histogram is its count, then the buckets outside the runs
 * of the chunk's prediction (as version 3's, at every resolution; a run
 * breaks at more than 16 empty ords) and every ord of those runs against
 * its prediction: whether equal, the sign, the size, in contexts of the
 * prediction's class, so a count predicted near 0 costs a fraction of a
 * bit and where the histogram starts and ends costs nothing when it is
 * where the prediction has it; a chunk's first point, with no
 * prediction, is its own runs of buckets each against the bucket before.
 * A latency point's sum rounded to sum_bits (the histogram stream's
 * first point carries sum_bits) is coded, when it can be, against the sum
 * its histogram implies times the ratio of the point before (integer
 * bucket values, no exp(): store_codec.c, "version 4 sums"), as the
 * difference of the doubles' bits in units of the last bit kept. The serialized form: varint npts, varint bytes of
 * the points' stream, the bytes, varint 0 (no histograms) or bytes of the
 * histograms' stream + 1, the bytes; an open chunk writes the flush of a
 * copy of its coders and goes on.
 * Every double is kept bit for bit (but a sum with sum_bits, see
 * store_chunk_append; a bucket value is rebuilt with exp():
 * the same bits on the machine that wrote it, at most an ulp away on one
 * whose libm differs); histograms are kept exactly at the chunk's shift.
 *
 * Thread: any; nothing here is shared.
 */
#ifndef ALBD_STORE_CODEC_H
#define ALBD_STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "../core/varint.h"
#include "store.h"

/* CRC32C (Castagnoli) of LEN bytes, continuing from CRC (0 to start). */
uint32_t store_crc32c(uint32_t crc, const void *buf, size_t len);

#define STORE_CHUNK_V1 1
#define STORE_CHUNK_V2 2
#define STORE_CHUNK_V3 3
#define STORE_CHUNK_V4 4   /* the one written */

/* the state both ends of the bit stream keep */
struct store_gorilla {
	int64_t prev_idx, prev_delta;   /* timestamp (in steps) and delta of the last point */
	uint64_t prev[4];               /* n, sum, min, max of the last point, as bits */
	uint8_t lead[4], trail[4];      /* their windows of meaningful bits; lead 0xff: none yet */
	uint32_t ad_a[4];               /* v2: the adaptive Rice state of integer differences */
	uint8_t ad_n[4];
	int32_t prev_ord[4];            /* v2: the last bucket ord coded, per field */
	uint8_t mode[4];                /* v2: the last mode of each field */
};

/* the histograms' predictor (versions 2 to 4): per ord, a moving average of its count
 * (weight 1/4; version 4: the mean of the first points, then 1/PRED_W4;
 * fixed point 2^16), and of the points' counts */
struct store_pred {
	int32_t *ord;                       /* ascending */
	uint64_t *ema;
	uint32_t n, cap;
	uint64_t ema_n;
	uint32_t seen;                      /* v4: histograms folded in so far */
};

/* version 4: one end of a range coder (LZMA's, store_codec.c) and the
 * bytes it has let go of */
struct store_rc {
	uint8_t *buf; size_t len, cap;      /* the bytes out so far (the first, always 0, is not kept) */
	uint64_t low;                       /* the interval: [low, low + range) of 2^32 ... */
	uint32_t range;
	uint32_t pending;                   /* bytes held back: CACHE and pending - 1 0xff (a carry may change them) */
	uint8_t cache, skip, fail;          /* skip: the first byte is still to come; fail: out of memory */
};

struct store_v4main;                        /* version 4's adaptive probabilities (store_codec.c) */
struct store_v4hist;

struct store_chunk {
	struct store_rc m;                  /* the points' stream */
	struct store_rc h;                  /* the histograms' stream, when with_hist */
	struct store_v4main *xm;            /* their models, allocated with the first point */
	struct store_v4hist *xh;
	uint32_t npts;
	int64_t base;                       /* block window start */
	unsigned step;
	uint8_t with_hist;
	uint8_t hshift;                     /* histograms are collapsed to this shift */
	uint8_t sum_bits;                   /* 0, or a sum that is not an integer keeps this
					     * many bits of mantissa (store_chunk_append) */
	uint8_t prev_rep;                   /* the last point repeated the one before it */
	int32_t h_ref;                      /* the last point's first ord (the next one's reference) */
	int32_t h_len;                      /* the last point's first run's length - 1 */
	double sum_ratio;                   /* the last point's sum over its histogram's (0: none) */
	struct store_gorilla g;             /* the encoder's state after the last point */
	struct store_pred pred;             /* with_hist: the histograms' predictor */
};

/* An empty chunk of window BASE, resolution STEP, with histograms
 * collapsed to HSHIFT (<= HIST_SHIFT_MAX, histogram.h) when WITH_HIST. No
 * allocation. */
void store_chunk_init(struct store_chunk *c, int64_t base, unsigned step, int with_hist, unsigned hshift);
/* Free its memory and leave it empty (same base, step, with_hist, hshift,
 * sum_bits). */
void store_chunk_reset(struct store_chunk *c);

/* Append P (P->t a multiple of step, later than the last point, not before
 * base; its histogram at shift 0 or any shift up to the chunk's). With
 * c->sum_bits (set after store_chunk_init), a sum that is not an integer
 * (and not the one sample of a single-sample point) is rounded to that
 * many bits of mantissa first: relative error at most 2^-(sum_bits + 1).
 * Returns 0 or -1 (out of memory or out of order: C unchanged). */
int store_chunk_append(struct store_chunk *c, const struct store_point *p);

/* The chunk's serialized form (version 4): varint npts, varint bytes of
 * the points' stream, those bytes, varint 0 or bytes of the histograms'
 * stream + 1, those bytes (versions 1 to 3: varint npts, varint nbits,
 * the bits, varint hbits, the bits). Returns the number of bytes;
 * store_chunk_write writes them to BUF (room for store_chunk_size(c)
 * bytes). Either may be called at any time; appending goes on after. */
size_t store_chunk_size(const struct store_chunk *c);
void store_chunk_write(const struct store_chunk *c, uint8_t *buf);

/* The heap bytes C holds (its coders' buffers and models). */
size_t store_chunk_mem(const struct store_chunk *c);

/* Decode a serialized chunk of version VERSION (STORE_CHUNK_V1 to _V4),
 * window BASE, resolution STEP: *OUT gets a malloc'd array of *N points
 * (ascending t; each with its own histogram, at the chunk's shift, empty
 * when the chunk has none; free with store_points_free). Returns 0, or -1
 * when BUF is malformed or truncated (nothing allocated). */
int store_chunk_decode(const uint8_t *buf, size_t len, unsigned version, int64_t base, unsigned step,
		       struct store_point **out, size_t *n);
void store_points_free(struct store_point *p, size_t n);

/* Re-encode points (ascending t) into C, which is reset first. Returns 0 or -1. */
int store_chunk_build(struct store_chunk *c, const struct store_point *p, size_t n);

#endif
