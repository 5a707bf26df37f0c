/* fuzz_store_chunk.c - libFuzzer target for store_chunk_decode(): the
 * chunks of a block or checkpoint file are read back from disk, so any
 * bytes, of any of the four versions, must decode to points or to -1,
 * never to a crash, a hang or a read past the buffer. What decodes is
 * then written again in the current version (store_chunk_build) and read
 * back: every field and bucket must come back bit for bit (the encoder is
 * lossless but for a sum's mantissa, which only sum_bits cuts, unset here).
 * Every decoded histogram must be one (ords ascending, counts above 0).
 *
 *   make tests/fuzz/fuzz_store_chunk && \
 *     tests/fuzz/fuzz_store_chunk -max_total_time=60 tests/fuzz/work/fuzz_store_chunk
 *
 * The first input byte picks the version (1 to 4) and the resolution
 * (1, 60, 300 or 3600 s); the rest is the chunk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/store_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned steps[4] = { 1, 60, 300, 3600 };

static uint64_t bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static int same_point(const struct store_point *a, const struct store_point *b)
{
	if (a->t != b->t || bits(a->n) != bits(b->n) || bits(a->sum) != bits(b->sum) ||
	    bits(a->min) != bits(b->min) || bits(a->max) != bits(b->max) || a->h.n != b->h.n)
		return 0;
	for (uint32_t i = 0; i < a->h.n; i++)
		if (a->h.b[i].ord != b->h.b[i].ord || a->h.b[i].count != b->h.b[i].count)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned version = STORE_CHUNK_V1 + (data[0] & 3);
	unsigned step = steps[(data[0] >> 2) & 3];
	int64_t base = (int64_t)step * 86400;
	struct store_point *p = NULL, *q = NULL;
	size_t n = 0, m = 0;

	if (store_chunk_decode(data + 1, size - 1, version, base, step, &p, &n) < 0)
		return 0;
	int with_hist = 0;
	unsigned shift = 0;
	for (size_t i = 0; i < n; i++) {
		/* what decodes is a histogram as histogram.h defines one:
		 * ords ascending, every count above 0 */
		for (uint32_t k = 0; k < p[i].h.n; k++)
			if (p[i].h.b[k].count == 0 || (k && p[i].h.b[k].ord <= p[i].h.b[k - 1].ord))
				abort();
	}
	for (size_t i = 0; i < n; i++)
		if (p[i].h.n) {
			with_hist = 1;
			if (p[i].h.shift > shift)
				shift = p[i].h.shift;
		}
	struct store_chunk c;
	store_chunk_init(&c, base, step, with_hist, shift);
	if (store_chunk_build(&c, p, n) == 0) {
		size_t len = store_chunk_size(&c);
		uint8_t *buf = malloc(len ? len : 1);
		if (!buf)
			abort();
		store_chunk_write(&c, buf);
		if (store_chunk_decode(buf, len, STORE_CHUNK_V4, base, step, &q, &m) < 0 || m != n)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!same_point(&p[i], &q[i]))
				abort();
		store_points_free(q, m);
		free(buf);
	}
	store_chunk_reset(&c);
	store_points_free(p, n);
	return 0;
}
