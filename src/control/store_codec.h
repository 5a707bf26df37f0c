/* store_codec.h - the store's compact encodings: a chunk of points of one
 * series at one resolution (Gorilla's delta-of-delta timestamps and XOR'd
 * doubles, Pielemeier et al., VLDB 2015, plus one histogram per point) and
 * CRC32C for the files that hold them.
 *
 * A chunk covers one block window starting at BASE (a multiple of STEP).
 * Per point: the timestamp (in steps) as a delta of deltas: '0' same
 * delta, '10'+7 bits, '110'+12, '1110'+20, '1111'+64 (zigzag); then '0'
 * for a point of one sample (n = 1, min = max = sum: only the sum follows)
 * or '1' for n, sum, min and then '0' (max = min) or '1' + max; each double
 * against the same field of the point before: '0' equal, '10' + the
 * difference when both are integers, or XOR'd: '110' + the bits inside the
 * previous window of meaningful bits, '111' + 5 bits of leading zeros + 6
 * bits of length - 1 + the bits. Histograms go to a
 * second bit stream, one per point, as runs of neighbouring buckets with
 * Rice-coded counts or differences of neighbouring counts, whichever is
 * shorter (see store_codec.c). Every double is kept bit for bit.
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

/* the state both ends of the bit stream keep */
struct store_gorilla {
	int64_t prev_idx, prev_delta;   /* timestamp (in steps) and delta of the last point */
	uint64_t prev[4];               /* n, sum, min, max of the last point, as bits */
	uint8_t lead[4], trail[4];      /* their windows of meaningful bits; lead 0xff: none yet */
};

struct store_chunk {
	uint8_t *bits; size_t nbits, bcap;  /* the bit stream (bcap bytes, zero past nbits) */
	uint8_t *hb; size_t hbits, hcap;    /* the histograms' bit stream, when with_hist */
	uint32_t npts;
	int64_t base;                       /* block window start */
	unsigned step;
	int with_hist;
	struct store_gorilla g;             /* the encoder's state after the last point */
	int32_t h_ref;                      /* the last point's first ord (the next one's reference) */
};

/* An empty chunk of window BASE, resolution STEP. No allocation. */
void store_chunk_init(struct store_chunk *c, int64_t base, unsigned step, int with_hist);
/* Free its memory and leave it empty (same base, step and with_hist). */
void store_chunk_reset(struct store_chunk *c);

/* Append P (P->t a multiple of step, later than the last point, not before
 * base). Returns 0 or -1 (out of memory or out of order: C unchanged). */
int store_chunk_append(struct store_chunk *c, const struct store_point *p);

/* The chunk's serialized form: varint npts, varint nbits, the bits
 * (ceil(nbits / 8) bytes), varint hbits, the histogram bits (ceil(hbits /
 * 8) bytes). Returns the
 * number of bytes; store_chunk_write writes them to BUF (room for
 * store_chunk_size(c) bytes). */
size_t store_chunk_size(const struct store_chunk *c);
void store_chunk_write(const struct store_chunk *c, uint8_t *buf);

/* Decode a serialized chunk of window BASE, resolution STEP: *OUT gets a
 * malloc'd array of *N points (ascending t; each with its own histogram,
 * empty when the chunk has none; free with store_points_free). Returns 0,
 * or -1 when BUF is malformed or truncated (nothing allocated). */
int store_chunk_decode(const uint8_t *buf, size_t len, int64_t base, unsigned step,
		       struct store_point **out, size_t *n);
void store_points_free(struct store_point *p, size_t n);

/* Re-encode points (ascending t) into C, which is reset first. Returns 0 or -1. */
int store_chunk_build(struct store_chunk *c, const struct store_point *p, size_t n);

#endif
