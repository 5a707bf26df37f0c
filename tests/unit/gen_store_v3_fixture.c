/* gen_store_v3_fixture.c - writes store_v3_fixture.h: chunks of version 3
 * as store_codec.c wrote them at commit 869c4a7 (the last to write
 * version 3), for test_store's test_version3_chunks, and a digest of what
 * they decode to (t, n, sum and the histograms' ords and counts; not min
 * and max, whose bucket values exp() rebuilds).
 *
 * Built and run once, at 869c4a7, from the project root:
 *   cc -std=gnu11 -O1 -I. -Isrc tests/unit/gen_store_v3_fixture.c \
 *      src/control/store_codec.c src/core/histogram.c -lm -o /tmp/gen3 &&
 *   /tmp/gen3 > tests/unit/store_v3_fixture.h
 * (kept for the record: it does not build against later versions). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/control/store_codec.h"

#define T0 1700006400

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

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

/* FNV-1a over what a decode gives back exactly on every machine */
static uint64_t digest(const struct store_point *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
#define MIX(v) do { uint64_t x_ = (uint64_t)(v); for (int b_ = 0; b_ < 8; b_++) { h ^= (x_ >> (8 * b_)) & 0xff; h *= 0x100000001b3ull; } } while (0)
	for (size_t i = 0; i < n; i++) {
		uint64_t u;
		MIX(p[i].t);
		memcpy(&u, &p[i].n, 8);
		MIX(u);
		memcpy(&u, &p[i].sum, 8);
		MIX(u);
		MIX(p[i].h.n);
		for (uint32_t k = 0; k < p[i].h.n; k++) {
			MIX((uint32_t)p[i].h.b[k].ord);
			MIX(p[i].h.b[k].count);
		}
	}
	return h;
}

static const unsigned steps[4] = { 1, 60, 300, 3600 };
static const int64_t lens[4] = { 60, 3600, 7200, 86400 };

int main(void)
{
	printf("/* store_v3_fixture.h - chunks of version 3 written by store_codec.c at\n"
	       " * commit 869c4a7, and a digest of their points: see gen_store_v3_fixture.c. */\n");
	printf("struct v3_chunk {\n\tunsigned step;\n\tint64_t base;\n\tunsigned npts;\n\tuint64_t digest;\n"
	       "\tsize_t len;\n\tconst unsigned char *bytes;\n};\n");
	int nchunks = 0;
	char *tab = malloc(1 << 20);
	size_t tl = 0;
	for (int round = 0; round < 24; round++) {
		int res = round % 4, kind = (round / 4) % 3;  /* 0 latency hist, 1 plain counts, 2 plain mixed */
		unsigned shift = (unsigned)(round / 4) % 4;
		unsigned step = steps[res];
		int64_t base = T0 - T0 % lens[res];
		struct store_chunk c;
		store_chunk_init(&c, base, step, kind == 0, shift);
		c.sum_bits = kind == 0 ? 20 : 0;
		size_t n = lens[res] / step < 50 ? (size_t)(lens[res] / step) : 50;
		for (size_t i = 0; i < n; i++) {
			struct store_point p = { base + (int64_t)(i * step), 0, 0, 0, 0, HIST_INIT };
			if (kind == 0) {
				unsigned k = 20 + (unsigned)(rnd() % 400);
				double sum = 0;
				for (unsigned j = 0; j < k; j++) {
					double v = urand() < 0.01 ? 0.4 : 0.02 * exp(0.5 * nrand());
					hist_add(&p.h, v, 1);
					sum += v;
				}
				p.n = k;
				p.sum = sum;
				p.min = hist_min(&p.h);
				p.max = hist_max(&p.h);
			} else if (kind == 1) {
				double v = (double)(rnd() % 3 ? 600 + rnd() % 50 : 0);
				p.n = 60;
				p.sum = v;
				p.min = p.max = v > 0;
			} else {
				switch (rnd() % 4) {
				case 0: p.n = 1; p.sum = p.min = p.max = nrand() * 1e3; break;
				case 1: p.n = 1; p.sum = p.min = p.max = (double)(rnd() % 10); break;
				case 2: p.n = 60; p.sum = 60; p.min = p.max = 1; break;
				default: p.n = 3; p.sum = 0.1 + (double)(rnd() % 7); p.min = -2.5; p.max = 1e15; break;
				}
			}
			if (store_chunk_append(&c, &p) < 0)
				return 1;
			hist_free(&p.h);
			if (rnd() % 5 == 0)
				i++;  /* a gap */
		}
		size_t len = store_chunk_size(&c);
		unsigned char *b = malloc(len);
		store_chunk_write(&c, b);
		struct store_point *out;
		size_t nout;
		if (store_chunk_decode(b, len, STORE_CHUNK_V3, base, step, &out, &nout) < 0)
			return 1;
		printf("static const unsigned char v3_chunk%d[] = {", nchunks);
		for (size_t k = 0; k < len; k++)
			printf("%s0x%02x,", k % 12 ? " " : "\n\t", b[k]);
		printf("\n};\n");
		tl += (size_t)sprintf(tab + tl, "\t{ %u, %lld, %zu, 0x%016llxull, %zu, v3_chunk%d },\n", step,
				      (long long)base, nout, (unsigned long long)digest(out, nout), len, nchunks);
		nchunks++;
		store_points_free(out, nout);
		free(b);
		store_chunk_reset(&c);
	}
	printf("static const struct v3_chunk v3_chunks[] = {\n%s};\n", tab);
	return 0;
}
