/* store_codec.c - see store_codec.h */
#include "store_codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ CRC32C */

static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
	crc_ready = 1;
}

/* Slicing by 8: about 1 GB/s without special instructions. */
uint32_t store_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
		      crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		      crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ------------------------------------------------------------ varints */

/* ------------------------------------------------------------ bits */

struct bitw {
	uint8_t *buf;
	size_t pos, cap;  /* bits written, bytes allocated */
};

static int bw_reserve(struct bitw *w, size_t more)
{
	size_t need = (w->pos + more + 7) / 8;
	if (need <= w->cap)
		return 0;
	/* an eighth more than needed: chunks fill slowly and many are small */
	size_t cap = need + need / 8 + 8;
	uint8_t *b = realloc(w->buf, cap);
	if (!b)
		return -1;
	memset(b + w->cap, 0, cap - w->cap);
	w->buf = b;
	w->cap = cap;
	return 0;
}

/* the N low bits of V, most significant first (room reserved; a writer
 * without a buffer only counts) */
static void bw_put(struct bitw *w, uint64_t v, unsigned n)
{
	if (!w->buf) {
		w->pos += n;
		return;
	}
	while (n) {
		unsigned room = 8 - (unsigned)(w->pos & 7);
		unsigned take = n < room ? n : room;
		uint8_t bits = (uint8_t)((v >> (n - take)) & ((1u << take) - 1));
		w->buf[w->pos >> 3] |= (uint8_t)(bits << (room - take));
		w->pos += take;
		n -= take;
	}
}

struct bitr {
	const uint8_t *buf;
	size_t pos, nbits;
	int bad;  /* read past the end */
};

static inline uint64_t br_get(struct bitr *r, unsigned n)
{
	if (r->pos + n > r->nbits) {
		r->bad = 1;
		r->pos = r->nbits;
		return 0;
	}
	/* fast path: up to 56 bits from one 8-byte load, when 8 bytes remain */
	if (n <= 56 && (r->pos >> 3) + 8 <= (r->nbits + 7) >> 3) {
		const uint8_t *p = r->buf + (r->pos >> 3);
		uint64_t x = (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
			     (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | (uint64_t)p[7];
		x <<= r->pos & 7;
		r->pos += n;
		return n ? x >> (64 - n) : 0;
	}
	uint64_t v = 0;
	while (n) {
		unsigned room = 8 - (unsigned)(r->pos & 7);
		unsigned take = n < room ? n : room;
		uint8_t byte = r->buf[r->pos >> 3];
		v = (v << take) | ((byte >> (room - take)) & ((1u << take) - 1));
		r->pos += take;
		n -= take;
	}
	return v;
}

/* ------------------------------------------------------------ Gorilla */

static void g_init(struct store_gorilla *g, int64_t base, unsigned step)
{
	memset(g, 0, sizeof(*g));
	g->prev_idx = base / step - 1;
	g->prev_delta = 1;
	memset(g->lead, 0xff, sizeof(g->lead));
	for (int f = 0; f < 4; f++) {
		g->ad_a[f] = 4;
		g->ad_n[f] = 1;
		g->prev_ord[f] = HIST_ORD_BIAS;
	}
}

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bitsd(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Is the double of bits U an integer that an int64 holds exactly
 * (|v| <= 2^53, and not -0)? */
static int as_int(uint64_t u, int64_t *out)
{
	double d = bitsd(u);
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || u == 0x8000000000000000ull)
		return 0;
	int64_t i = (int64_t)d;
	if ((double)i != d)
		return 0;
	*out = i;
	return 1;
}

static unsigned eg_len(uint64_t v)
{
	return 2 * (64 - (unsigned)__builtin_clzll(v + 1)) - 1;
}

#define ESC_Q 24  /* Rice: a quotient this large is escaped (see put_rice) */

static void put_eg(struct bitw *w, uint64_t v);
static uint64_t get_eg(struct bitr *r);
static void put_rice(struct bitw *w, uint64_t c, unsigned k);
static uint64_t get_rice(struct bitr *r, unsigned k);
static int ord_ok(int64_t ord);

/* An integer field: the one before plus the zigzag difference Z (both
 * versions). */
static uint64_t add_int(struct bitr *r, struct store_gorilla *g, int f, uint64_t z)
{
	int64_t a;
	if (r->bad || !as_int(g->prev[f], &a) || z > ((uint64_t)1 << 56)) {
		r->bad = 1;
		return 0;
	}
	int64_t b = a + unzigzag(z);
	if (b < -9007199254740992ll || b > 9007199254740992ll) {
		r->bad = 1;
		return 0;
	}
	g->prev[f] = dbits((double)b);
	return g->prev[f];
}

/* An XOR'd field after its mode (both versions): '0' + the bits inside
 * the previous window of meaningful bits, or '1' + 5 bits of leading
 * zeros, 6 bits of length - 1 and the bits. */
static uint64_t get_xor_bits(struct bitr *r, struct store_gorilla *g, int f)
{
	uint64_t x;
	if (!br_get(r, 1)) {
		if (g->lead[f] == 0xff) {
			r->bad = 1;
			return 0;
		}
		x = br_get(r, 64 - g->lead[f] - g->trail[f]) << g->trail[f];
	} else {
		unsigned lead = (unsigned)br_get(r, 5);
		unsigned len = (unsigned)br_get(r, 6) + 1;
		if (lead + len > 64) {
			r->bad = 1;
			return 0;
		}
		unsigned trail = 64 - lead - len;
		x = br_get(r, len) << trail;
		g->lead[f] = (uint8_t)lead;
		g->trail[f] = (uint8_t)trail;
	}
	g->prev[f] ^= x;
	return g->prev[f];
}

/* A version 1 field: '0' the same as before; '10' + Exp-Golomb of the
 * zigzag difference when both are integers; '110' + the bits inside the
 * previous window of meaningful bits of the XOR; '111' + 5 bits of leading
 * zeros + 6 bits of length - 1 + the bits. (Only read now: version 2
 * writes put_val's codes.) */
static uint64_t get_xor(struct bitr *r, struct store_gorilla *g, int f)
{
	if (!br_get(r, 1))
		return g->prev[f];
	if (!br_get(r, 1))
		return add_int(r, g, f, get_eg(r));
	return get_xor_bits(r, g, f);
}


/* ------------------------------------------------------------ version 2 fields
 *
 * Mode 0: equal to the field of the point before; 1: zigzag of the
 * integer difference, Rice with the field's adaptive parameter (JPEG-LS's
 * rule, as for histogram counts below); 2: Exp-Golomb of the zigzag
 * difference of ords, when the value is exactly the value of its bucket
 * (hist_ord_value(hist_ord(v)) has its bits: the minimum and maximum of a
 * latency point are); 3: XOR'd as in version 1 ('0' + the bits in the
 * previous window, '1' + 5 bits of leading zeros, 6 of length - 1, the
 * bits). The cheapest that applies; the mode is '0' when it is the
 * field's last one (a count's sum is an integer difference point after
 * point, a latency's minimum a bucket), else '1' + 2 bits.
 */

static void put_mode(struct bitw *w, struct store_gorilla *g, int f, unsigned mode)
{
	if (mode == g->mode[f]) {
		bw_put(w, 0, 1);
	} else {
		bw_put(w, 4 | mode, 3);
		g->mode[f] = (uint8_t)mode;
	}
}

static unsigned get_mode(struct bitr *r, struct store_gorilla *g, int f)
{
	if (br_get(r, 1))
		g->mode[f] = (uint8_t)br_get(r, 2);
	return g->mode[f];
}

static unsigned rice_len(uint64_t c, unsigned k)
{
	uint64_t q = c >> k;
	if (q >= ESC_Q)
		return ESC_Q + 6 + (64 - (unsigned)__builtin_clzll(c));
	return (unsigned)q + 1 + k;
}

static unsigned g_k(const struct store_gorilla *g, int f)
{
	unsigned k = 0;
	while (((uint64_t)g->ad_n[f] << k) < g->ad_a[f] && k < 56)
		k++;
	return k;
}

static void g_adapt(struct store_gorilla *g, int f, uint64_t e)
{
	g->ad_a[f] += e > ((uint64_t)1 << 24) ? (uint32_t)1 << 24 : (uint32_t)e;
	if (++g->ad_n[f] >= 16) {
		g->ad_a[f] = (g->ad_a[f] + 1) >> 1;
		g->ad_n[f] >>= 1;
	}
}

/* Is the double of bits U exactly the value of a histogram bucket? *ORD: its ord. */
static int as_ord(uint64_t u, int32_t *ord)
{
	double d = bitsd(u);
	if (!isfinite(d) || d == 0)
		return 0;
	int32_t o = hist_ord(d);
	if (dbits(hist_ord_value(o)) != u)
		return 0;
	*ord = o;
	return 1;
}

/* In a chunk with histograms, the ords of min and max are coded against
 * the first and the last bucket of the point's histogram (at shift 0, a
 * latency's min and max are those buckets: one bit each; collapsed, a few
 * bits of where in the bucket): their shift-0 ords that end the buckets. */
static int32_t fine_top(int32_t ord, unsigned shift)
{
	if (ord == 0 || shift == 0)
		return ord;
	int64_t m = ord > 0 ? ord : -(int64_t)ord;
	int64_t k = (m - HIST_ORD_BIAS) * ((int64_t)1 << shift);
	return (int32_t)(ord > 0 ? HIST_ORD_BIAS + k : -(HIST_ORD_BIAS + k));
}

static void minmax_refs(struct store_gorilla *g, const struct hist *h)
{
	if (!h->n)
		return;
	g->prev_ord[2] = fine_top(h->b[0].ord, h->shift);
	g->prev_ord[3] = fine_top(h->b[h->n - 1].ord, h->shift);
}

static void put_val(struct bitw *w, struct store_gorilla *g, int f, uint64_t v)
{
	uint64_t prev = g->prev[f];
	if (v == prev) {
		put_mode(w, g, f, 0);
		return;
	}
	g->prev[f] = v;
	unsigned best = ~0u, mode = 3;
	int64_t a, b;
	uint64_t z = 0;
	unsigned k = g_k(g, f);
	if (as_int(prev, &a) && as_int(v, &b)) {
		z = zigzag(b - a);
		best = 2 + rice_len(z, k);
		mode = 1;
	}
	int32_t ord = 0;
	uint64_t zo = 0;
	if (best > 8 && as_ord(v, &ord)) {
		zo = zigzag((int64_t)ord - g->prev_ord[f]);
		if (2 + eg_len(zo) < best) {
			best = 2 + eg_len(zo);
			mode = 2;
		}
	}
	uint64_t x = v ^ prev;
	unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
	if (lead > 31)
		lead = 31;
	int in_window = g->lead[f] != 0xff && lead >= g->lead[f] && trail >= g->trail[f];
	unsigned xor_bits = in_window ? 3u + 64u - g->lead[f] - g->trail[f] : 3u + 11u + 64u - lead - trail;
	if (xor_bits < best)
		mode = 3;
	put_mode(w, g, f, mode);
	if (mode == 1) {
		put_rice(w, z, k);
		g_adapt(g, f, z);
	} else if (mode == 2) {
		put_eg(w, zo);
		g->prev_ord[f] = ord;
	} else if (in_window) {
		bw_put(w, 0, 1);
		bw_put(w, x >> g->trail[f], 64 - g->lead[f] - g->trail[f]);
	} else {
		unsigned len = 64 - lead - trail;
		bw_put(w, 1, 1);
		bw_put(w, lead, 5);
		bw_put(w, len - 1, 6);
		bw_put(w, x >> trail, len);
		g->lead[f] = (uint8_t)lead;
		g->trail[f] = (uint8_t)trail;
	}
}

static uint64_t get_val(struct bitr *r, struct store_gorilla *g, int f)
{
	unsigned mode = get_mode(r, g, f);
	if (r->bad)
		return 0;
	if (mode == 0)
		return g->prev[f];
	if (mode == 1) {
		uint64_t z = get_rice(r, g_k(g, f));
		g_adapt(g, f, z);
		return add_int(r, g, f, z);
	}
	if (mode == 2) {
		uint64_t z = get_eg(r);
		int64_t ord = (int64_t)g->prev_ord[f] + unzigzag(z);
		if (r->bad || z > ((uint64_t)1 << 40) || ord == 0 || !ord_ok(ord)) {
			r->bad = 1;
			return 0;
		}
		g->prev_ord[f] = (int32_t)ord;
		g->prev[f] = dbits(hist_ord_value((int32_t)ord));
		return g->prev[f];
	}
	return get_xor_bits(r, g, f);
}

/* at most 4 + 64 bits */
static void put_ts(struct bitw *w, struct store_gorilla *g, int64_t idx)
{
	int64_t delta = idx - g->prev_idx;
	uint64_t z = zigzag(delta - g->prev_delta);
	g->prev_idx = idx;
	g->prev_delta = delta;
	if (z == 0) {
		bw_put(w, 0, 1);
	} else if (z < (1u << 7)) {
		bw_put(w, 2, 2);
		bw_put(w, z, 7);
	} else if (z < (1u << 12)) {
		bw_put(w, 6, 3);
		bw_put(w, z, 12);
	} else if (z < (1u << 20)) {
		bw_put(w, 14, 4);
		bw_put(w, z, 20);
	} else {
		bw_put(w, 15, 4);
		bw_put(w, z, 64);
	}
}

static int64_t get_ts(struct bitr *r, struct store_gorilla *g)
{
	uint64_t z;
	if (!br_get(r, 1))
		z = 0;
	else if (!br_get(r, 1))
		z = br_get(r, 7);
	else if (!br_get(r, 1))
		z = br_get(r, 12);
	else if (!br_get(r, 1))
		z = br_get(r, 20);
	else
		z = br_get(r, 64);
	/* garbage may overflow: wrap (the caller checks the order) */
	g->prev_delta = (int64_t)((uint64_t)g->prev_delta + (uint64_t)unzigzag(z));
	g->prev_idx = (int64_t)((uint64_t)g->prev_idx + (uint64_t)g->prev_delta);
	return g->prev_idx;
}

/* ------------------------------------------------------------ histograms
 *
 * Per point: nruns; per run its first ord (the first run's relative to the
 * previous point's first ord, zigzag; the others' as the gap from the end
 * of the run before, minus RUN_GAP + 2), length - 1, and per bucket of the
 * run (0 for an empty one inside it) its count or, after a '1' for the
 * run, the zigzag difference to the bucket before (whichever is shorter),
 * Rice coded with an adaptive parameter k: value >> k in unary
 * ('1' each, then '0'), then its k low bits; a quotient of ESC_Q or more is
 * written as ESC_Q ones, 6 bits of bit length - 1 and the value. The rest
 * is Exp-Golomb (order 0). A bucket costs about 2 + log2(sqrt(2 count))
 * bits: the Poisson noise of steady traffic, not the count itself.
 */

/* a run breaks at more than this many empty buckets in a row: an empty
 * bucket inside a run costs k + 1 bits, a new run about a dozen */
#define RUN_GAP 2

/* Exp-Golomb of V < 2^63: at most 127 bits */
static void put_eg(struct bitw *w, uint64_t v)
{
	uint64_t x = v + 1;
	unsigned n = 64 - (unsigned)__builtin_clzll(x);
	if (n > 1)
		bw_put(w, 0, n - 1);
	bw_put(w, x, n);
}

static uint64_t get_eg(struct bitr *r)
{
	unsigned z = 0;
	while (!br_get(r, 1)) {
		if (r->bad || ++z > 62) {
			r->bad = 1;
			return 0;
		}
	}
	uint64_t x = ((uint64_t)1 << z) | br_get(r, z);
	return x - 1;
}

/* at most ESC_Q + 6 + 64 bits */
static void put_rice(struct bitw *w, uint64_t c, unsigned k)
{
	uint64_t q = c >> k;
	if (q >= ESC_Q) {
		unsigned n = 64 - (unsigned)__builtin_clzll(c);
		bw_put(w, (1u << ESC_Q) - 1, ESC_Q);
		bw_put(w, n - 1, 6);
		bw_put(w, c, n);
		return;
	}
	bw_put(w, ((uint64_t)1 << (q + 1)) - 2, (unsigned)q + 1);
	if (k)
		bw_put(w, c, k);
}

static uint64_t get_rice(struct bitr *r, unsigned k)
{
	uint64_t q = 0;
	/* fast path: the unary part's ones counted in one 8-byte load (at
	 * least 57 bits of it are the stream's), as the loop below would */
	if ((r->pos >> 3) + 8 <= (r->nbits + 7) >> 3) {
		const uint8_t *p = r->buf + (r->pos >> 3);
		uint64_t x = (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
			     (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | (uint64_t)p[7];
		x <<= r->pos & 7;
		unsigned ones = ~x ? (unsigned)__builtin_clzll(~x) : 64;
		if (ones < ESC_Q) {
			if (r->pos + ones + 1 > r->nbits) {
				r->bad = 1;
				r->pos = r->nbits;
				return 0;
			}
			r->pos += ones + 1;
			return ((uint64_t)ones << k) | (k ? br_get(r, k) : 0);
		}
	}
	while (br_get(r, 1)) {
		if (r->bad)
			return 0;
		if (++q == ESC_Q) {
			unsigned n = (unsigned)br_get(r, 6) + 1;
			uint64_t c = br_get(r, n);
			if (!(c >> (n - 1)))
				r->bad = 1;  /* not its bit length */
			return c;
		}
	}
	return (q << k) | (k ? br_get(r, k) : 0);
}

/* Could hist_ord() give ORD? (loosely: the key range of finite doubles is
 * about [-1036, 35488]; histogram.c checks it exactly) */
static int ord_ok(int64_t ord)
{
	if (ord == 0)
		return 1;
	int64_t k = (ord < 0 ? -ord : ord) - HIST_ORD_BIAS;
	return k >= -1100 && k <= 36000;
}

/* Counts are coded as the difference to the bucket before (neighbouring
 * buckets of a smooth distribution hold similar counts), zigzag, Rice with
 * a parameter that follows the recent magnitudes (as JPEG-LS does: k is
 * the smallest with n << k >= a, a the sum of the last n or so codes). */
struct adapt {
	uint64_t a;
	unsigned n;
};

static unsigned adapt_k(const struct adapt *s)
{
	unsigned k = 0;
	while (((uint64_t)s->n << k) < s->a && k < 56)
		k++;
	return k;
}

static void adapt_update(struct adapt *s, uint64_t e)
{
	s->a += e > ((uint64_t)1 << 56) ? (uint64_t)1 << 56 : e;
	if (++s->n >= 16) {
		s->a = (s->a + 1) >> 1;
		s->n >>= 1;
	}
}

/* C after PREV: the count itself (DELTA 0) or the difference, which wraps
 * both ways in uint64 */
static void put_delta(struct bitw *w, struct adapt *s, uint64_t c, uint64_t prev, int delta)
{
	uint64_t e = delta ? zigzag((int64_t)(c - prev)) : c;
	put_rice(w, e, adapt_k(s));
	adapt_update(s, e);
}

static uint64_t get_delta(struct bitr *r, struct adapt *s, uint64_t prev, int delta)
{
	uint64_t e = get_rice(r, adapt_k(s));
	adapt_update(s, e);
	return delta ? prev + (uint64_t)unzigzag(e) : e;
}

/* the counts of buckets B[I..J) from ord START (empty ones between) */
static void put_counts(struct bitw *w, const struct hist_bucket *b, uint32_t i, uint32_t j, int64_t start,
		       int delta)
{
	struct adapt ad = { 4, 1 };
	uint64_t prev = 0;
	int64_t o = start;
	for (uint32_t k = i; k < j; k++) {
		for (; o < b[k].ord; o++) {
			put_delta(w, &ad, 0, prev, delta);
			prev = 0;
		}
		put_delta(w, &ad, b[k].count, prev, delta);
		prev = b[k].count;
		o++;
	}
}

static void put_hist_runs(struct bitw *w, const struct hist *h, int32_t *ref)
{
	uint32_t nruns = 0;
	for (uint32_t i = 0; i < h->n; i++)
		if (i == 0 || h->b[i].ord - h->b[i - 1].ord > RUN_GAP + 1)
			nruns++;
	put_eg(w, nruns);
	int64_t prev_end = 0;
	for (uint32_t i = 0; i < h->n;) {
		uint32_t j = i + 1;
		while (j < h->n && h->b[j].ord - h->b[j - 1].ord <= RUN_GAP + 1)
			j++;
		int64_t start = h->b[i].ord, end = h->b[j - 1].ord;
		if (i == 0) {
			put_eg(w, zigzag(start - *ref));
			*ref = (int32_t)start;
		} else {
			put_eg(w, (uint64_t)(start - prev_end - (RUN_GAP + 2)));
		}
		put_eg(w, (uint64_t)(end - start));
		/* the cheaper of counts and differences: small counts (a
		 * second's histogram) are cheaper as they are */
		struct bitw c0 = { NULL, 0, 0 }, c1 = { NULL, 0, 0 };
		put_counts(&c0, h->b, i, j, start, 0);
		put_counts(&c1, h->b, i, j, start, 1);
		int delta = c1.pos < c0.pos;
		bw_put(w, (uint64_t)delta, 1);
		put_counts(w, h->b, i, j, start, delta);
		prev_end = end;
		i = j;
	}
}

/* Decode one histogram into H (replaced). Returns 0 or -1 (malformed: H empty). */
static int get_hist_runs(struct bitr *r, struct hist *h, int32_t *ref)
{
	int64_t prev_end = 0;
	hist_clear(h);
	uint64_t nruns = get_eg(r);
	if (r->bad || nruns > r->nbits - r->pos)
		goto bad;
	for (uint64_t i = 0; i < nruns; i++) {
		int64_t start;
		uint64_t v = get_eg(r);
		if (i == 0) {
			start = (int64_t)*ref + unzigzag(v);
			if (start < INT32_MIN || start > INT32_MAX)
				goto bad;
			*ref = (int32_t)start;
		} else {
			if (v > (uint64_t)1 << 33)
				goto bad;
			start = prev_end + (int64_t)v + RUN_GAP + 2;
		}
		uint64_t len = get_eg(r) + 1;
		if (r->bad || len > r->nbits - r->pos || len > (uint64_t)1 << 33)
			goto bad;
		struct adapt ad = { 4, 1 };
		uint64_t prev = 0;
		int delta = (int)br_get(r, 1);
		for (uint64_t b = 0; b < len; b++) {
			uint64_t count = get_delta(r, &ad, prev, delta);
			prev = count;
			int64_t ord = start + (int64_t)b;
			if (r->bad || ((b == 0 || b == len - 1) && count == 0))
				goto bad;
			if (!count)
				continue;
			if (!ord_ok(ord))
				goto bad;
			/* ords ascend strictly (runs follow each other): append */
			if (h->n < h->cap)
				h->b[h->n++] = (struct hist_bucket){ (int32_t)ord, count };
			else if (hist_add_ord(h, (int32_t)ord, count) < 0)
				goto bad;
		}
		prev_end = start + (int64_t)len - 1;
	}
	return 0;
bad:
	r->bad = 1;
	hist_clear(h);
	return -1;
}

/* ------------------------------------------------------------ prediction
 *
 * The second way to write a histogram (versions 2 and 3): '1', Exp-Golomb
 * of the zigzag difference of its count to the average count, of its
 * first ord to the reference (the first ord of the point before), of last
 * - first, then for every ord from the first to the last the zigzag
 * difference of its count to the prediction, Rice with a parameter: in
 * version 2 an adaptive one (as the runs' counts), in version 3 the one
 * its prediction calls for (pred_k). The prediction of ord o is ema(o) n
 * / ema_n, in integers (the same on every machine); the averages move by
 * a quarter towards each point's counts (fixed point, 16 bits of
 * fraction), and an ord is forgotten when its average falls to 0 (version
 * 2) or below a quarter of a count, 2^14 (version 3): pred_next. */

#define PRED_FRAC 16
#define PRED_SPAN 4096  /* a histogram wider than this many buckets is written in runs */
/* Version 2 predicted at 300 s and 3600 s only and wrote the differences
 * with the adaptive Rice parameter of the runs; version 3 predicts from
 * 60 s up and takes each bucket's parameter from its prediction
 * (pred_k): at 60 s that is 10% fewer histogram bytes than the runs, at
 * 300 s and 3600 s 15% fewer than version 2 (tests/bench/store_budget).
 * At 1 s a histogram has too few samples a bucket for either. */
static unsigned pred_min_step(unsigned version)
{
	return version >= STORE_CHUNK_V3 ? 60 : 300;
}

/* Version 3's Rice parameter for a bucket predicted to hold PR: the
 * count is Poisson noise around PR (variance PR) and so is the moving
 * average, a quarter of each point (variance PR / 7), so the zigzag
 * difference has a mean of about m = 1.6 sqrt(8/7 PR + 1/2); k =
 * floor(log2 m), in integers: the largest k with 4^k <= m^2 = 2.56 (8/7
 * PR + 1/2), i.e. with 4^k <= q = floor((2048 PR + 896) / 700), k = 0
 * when q = 0 (the factor 1.6 measured best of 1.1, 1.6 and 2.3). */
static unsigned pred_k(uint64_t pr)
{
	if (pr > ((uint64_t)1 << 50))
		pr = (uint64_t)1 << 50;
	/* the largest k with 4^k <= q: floor(log2(q) / 2) */
	uint64_t q = (2048 * pr + 896) / 700;
	return q ? (63u - (unsigned)__builtin_clzll(q)) / 2 : 0;
}

static void pred_free(struct store_pred *p)
{
	free(p->ord);
	free(p->ema);
	memset(p, 0, sizeof(*p));
}

static uint64_t pred_at(const struct store_pred *p, uint32_t i, uint64_t n)
{
	if (!p->ema_n)
		return 0;
	if (p->ema[i] < ((uint64_t)1 << 40) && n < ((uint64_t)1 << 22))
		return (p->ema[i] * n + p->ema_n / 2) / p->ema_n;  /* the same, in 64 bits */
	unsigned __int128 x = (unsigned __int128)p->ema[i] * n + p->ema_n / 2;
	x /= p->ema_n;
	return x > UINT64_MAX / 4 ? UINT64_MAX / 4 : (uint64_t)x;
}

static uint64_t ema_step(uint64_t ema, uint64_t c, int first)
{
	uint64_t add = c > (UINT64_MAX >> (PRED_FRAC + 1)) ? UINT64_MAX >> 1 : c << PRED_FRAC;
	return first ? add : ema - (ema >> 2) + (add >> 2);
}

/* The predictor of chunk version VERSION after histogram H, into NEXT
 * (empty, or one that is done with: its arrays are reused when they are
 * large enough; P is kept). An ord is forgotten when its average falls
 * to 0 (version 2) or below a quarter of a count (version 3: fewer ords
 * to carry from point to point, the same bytes). Returns 0 or -1 (out
 * of memory: NEXT empty). */
static int pred_next(const struct store_pred *p, const struct hist *h, struct store_pred *next, unsigned version)
{
	uint64_t keep = version >= STORE_CHUNK_V3 ? (uint64_t)1 << (PRED_FRAC - 2) : 1;
	uint32_t cap = p->n + h->n;
	if (cap > next->cap) {
		pred_free(next);
		next->ord = malloc(cap * sizeof(*next->ord));
		next->ema = malloc(cap * sizeof(*next->ema));
		if (!next->ord || !next->ema) {
			pred_free(next);
			return -1;
		}
		next->cap = cap;
	}
	next->n = 0;
	next->ema_n = 0;
	int first = p->ema_n == 0 && p->n == 0;
	uint32_t i = 0, j = 0;
	while (i < p->n || j < h->n) {
		int32_t o;
		uint64_t e = 0, c = 0;
		if (j >= h->n || (i < p->n && p->ord[i] < h->b[j].ord)) {
			o = p->ord[i];
			e = p->ema[i++];
		} else if (i >= p->n || h->b[j].ord < p->ord[i]) {
			o = h->b[j].ord;
			c = h->b[j++].count;
		} else {
			o = p->ord[i];
			e = p->ema[i++];
			c = h->b[j++].count;
		}
		e = ema_step(e, c, first);
		if (e >= keep) {
			next->ord[next->n] = o;
			next->ema[next->n++] = e;
		}
	}
	next->ema_n = ema_step(p->ema_n, hist_count(h), first);
	return 0;
}

/* H the predictive way after P (H not empty, at most PRED_SPAN wide), as
 * version 3 writes it */
static void put_hist_pred(struct bitw *w, const struct hist *h, int32_t *ref, const struct store_pred *p)
{
	uint64_t n = hist_count(h);
	int32_t lo = h->b[0].ord, hi = h->b[h->n - 1].ord;
	bw_put(w, 1, 1);
	put_eg(w, zigzag((int64_t)n - (int64_t)((p->ema_n + ((uint64_t)1 << (PRED_FRAC - 1))) >> PRED_FRAC)));
	put_eg(w, zigzag((int64_t)lo - *ref));
	*ref = lo;
	put_eg(w, (uint64_t)(hi - lo));
	uint32_t j = 0, pi = 0;
	for (int64_t o = lo; o <= hi; o++) {
		uint64_t c = 0, pr = 0;
		if (j < h->n && h->b[j].ord == o)
			c = h->b[j++].count;
		while (pi < p->n && p->ord[pi] < o)
			pi++;
		if (pi < p->n && p->ord[pi] == o)
			pr = pred_at(p, pi, n);
		put_rice(w, zigzag((int64_t)(c - pr)), pred_k(pr));
	}
}

/* Decode a predictive histogram (after its '1') of chunk version VERSION
 * into H. Returns 0 or -1. */
static int get_hist_pred(struct bitr *r, struct hist *h, int32_t *ref, const struct store_pred *p,
			 unsigned version)
{
	hist_clear(h);
	uint64_t zn = get_eg(r), zlo = get_eg(r), span = get_eg(r);
	int64_t avg = (int64_t)((p->ema_n + ((uint64_t)1 << (PRED_FRAC - 1))) >> PRED_FRAC);
	int64_t n = avg + unzigzag(zn), lo = (int64_t)*ref + unzigzag(zlo);
	if (r->bad || zn > ((uint64_t)1 << 60) || zlo > ((uint64_t)1 << 40) || n <= 0 || span >= PRED_SPAN ||
	    !ord_ok(lo) || !ord_ok(lo + (int64_t)span))
		goto bad;
	*ref = (int32_t)lo;
	struct adapt ad = { 4, 1 };
	uint32_t pi = 0;
	uint64_t total = 0;
	for (int64_t o = lo; o <= lo + (int64_t)span; o++) {
		uint64_t pr = 0;
		while (pi < p->n && p->ord[pi] < o)
			pi++;
		if (pi < p->n && p->ord[pi] == o)
			pr = pred_at(p, pi, (uint64_t)n);
		uint64_t e;
		if (version >= STORE_CHUNK_V3) {
			e = get_rice(r, pred_k(pr));
		} else {
			e = get_rice(r, adapt_k(&ad));
			adapt_update(&ad, e);
		}
		/* a count in [0, n] differs from PR by at most max(PR, n):
		 * anything larger is garbage (and would overflow below) */
		uint64_t most = pr > (uint64_t)n ? pr : (uint64_t)n;
		if (e > 2 * most + 1)
			goto bad;
		int64_t c = (int64_t)pr + unzigzag(e);
		if (r->bad || c < 0 || ((o == lo || o == lo + (int64_t)span) && c == 0) || (uint64_t)c > (uint64_t)n)
			goto bad;
		if (!c)
			continue;
		if (!ord_ok(o))
			goto bad;
		/* ords ascend strictly: append */
		if (h->n < h->cap)
			h->b[h->n++] = (struct hist_bucket){ (int32_t)o, (uint64_t)c };
		else if (hist_add_ord(h, (int32_t)o, (uint64_t)c) < 0)
			goto bad;
		total += (uint64_t)c;
	}
	if (total != (uint64_t)n)
		goto bad;
	return 0;
bad:
	r->bad = 1;
	hist_clear(h);
	return -1;
}

/* ------------------------------------------------------------ chunks */

void store_chunk_init(struct store_chunk *c, int64_t base, unsigned step, int with_hist, unsigned hshift)
{
	memset(c, 0, sizeof(*c));
	c->base = base;
	c->step = step;
	c->with_hist = with_hist != 0;
	c->hshift = (uint8_t)(hshift > HIST_SHIFT_MAX ? HIST_SHIFT_MAX : hshift);
	g_init(&c->g, base, step);
}

void store_chunk_reset(struct store_chunk *c)
{
	unsigned sum_bits = c->sum_bits;
	free(c->bits);
	free(c->hb);
	pred_free(&c->pred);
	store_chunk_init(c, c->base, c->step, c->with_hist, c->hshift);
	c->sum_bits = (uint8_t)sum_bits;
}

/* U (a double's bits) rounded to the nearest with BITS bits of mantissa
 * (ties away from zero); integers, infinities and NaN as they are. */
static uint64_t round_mantissa(uint64_t u, unsigned bits)
{
	int64_t i;
	if (bits == 0 || bits >= 52 || as_int(u, &i) || ((u >> 52) & 0x7ff) == 0x7ff)
		return u;
	unsigned drop = 52 - bits;
	uint64_t r = (u + ((uint64_t)1 << (drop - 1))) & ~(((uint64_t)1 << drop) - 1);
	return ((r >> 52) & 0x7ff) == 0x7ff ? u : r;
}

/* Cut the stream of W back to POS bits (the bits after are zeroed). */
static void bw_truncate(struct bitw *w, size_t pos)
{
	if (pos >= w->pos)
		return;
	size_t byte = pos >> 3;
	if (pos & 7)
		w->buf[byte++] &= (uint8_t)(0xff << (8 - (pos & 7)));
	size_t end = (w->pos + 7) >> 3;
	if (end > byte)
		memset(w->buf + byte, 0, end - byte);
	w->pos = pos;
}

/* the most a point takes in the main stream: a run's count, or '1', the
 * timestamp, '1' (not single), n's bit and four fields */
#define POINT_BITS_MAX (1 + 127 + 4 + 64 + 1 + 1 + 4 * (2 + ESC_Q + 6 + 64))

int store_chunk_append(struct store_chunk *c, const struct store_point *p)
{
	if (p->t < c->base || p->t % c->step || (c->npts && p->t / c->step <= c->g.prev_idx))
		return -1;
	if (c->with_hist && p->h.shift > c->hshift)
		return -1;
	/* room first, so that a failure leaves C as it was */
	struct bitw w = { c->bits, c->nbits, c->bcap };
	if (bw_reserve(&w, POINT_BITS_MAX) < 0)
		return -1;
	c->bits = w.buf;
	c->bcap = w.cap;
	int64_t idx = p->t / c->step;
	int single = p->n == 1 && dbits(p->min) == dbits(p->sum) && dbits(p->max) == dbits(p->sum);
	uint64_t sum = single ? dbits(p->sum) : round_mantissa(dbits(p->sum), c->sum_bits);
	int same = dbits(p->n) == c->g.prev[0] && sum == c->g.prev[1] && dbits(p->min) == c->g.prev[2] &&
		   dbits(p->max) == c->g.prev[3];
	if (!c->with_hist && c->npts && same && idx - c->g.prev_idx == c->g.prev_delta) {
		/* one more of a run: '0' + Exp-Golomb of (repeats - 1), the
		 * count rewritten in place at the end of the stream */
		if (c->run_len) {
			bw_truncate(&w, c->run_pos);
		} else {
			bw_put(&w, 0, 1);
			c->run_pos = (uint32_t)w.pos;
		}
		put_eg(&w, c->run_len);
		/* a block window holds far fewer points than 2^32 */
		c->run_len++;
		c->g.prev_idx = idx;
		c->nbits = w.pos;
		c->npts++;
		return 0;
	}
	struct bitw hw = { c->hb, c->hbits, c->hcap };
	if (c->with_hist) {
		struct hist tmp = HIST_INIT;
		const struct hist *h = &p->h;
		if (h->shift < c->hshift && h->n) {
			if (hist_copy(&tmp, h) < 0)
				return -1;
			hist_collapse(&tmp, c->hshift);
			h = &tmp;
		}
		/* counting passes first (runs, prediction): reserve what the
		 * cheaper takes, no more */
		struct bitw runs = { NULL, 0, 0 }, pred = { NULL, 0, 0 };
		int32_t ref = c->h_ref;
		put_hist_runs(&runs, h, &ref);
		int use_pred = 0, predict = c->step >= pred_min_step(STORE_CHUNK_V3);
		if (predict && h->n && h->b[h->n - 1].ord - h->b[0].ord < PRED_SPAN && c->npts) {
			ref = c->h_ref;
			put_hist_pred(&pred, h, &ref, &c->pred);
			use_pred = pred.pos < runs.pos + 1;
		}
		struct store_pred next = { 0 };
		if ((predict && pred_next(&c->pred, h, &next, STORE_CHUNK_V3) < 0) ||
		    bw_reserve(&hw, 3 + (use_pred ? pred.pos : runs.pos + 1)) < 0) {
			pred_free(&next);
			hist_free(&tmp);
			return -1;
		}
		c->hb = hw.buf;
		c->hcap = hw.cap;
		if (hw.pos == 0)
			bw_put(&hw, c->hshift, 3);
		if (use_pred) {
			put_hist_pred(&hw, h, &c->h_ref, &c->pred);
		} else {
			bw_put(&hw, 0, 1);
			put_hist_runs(&hw, h, &c->h_ref);
		}
		c->hbits = hw.pos;
		pred_free(&c->pred);
		c->pred = next;
		hist_free(&tmp);
	} else {
		bw_put(&w, 1, 1);
	}
	c->run_len = 0;
	if (c->with_hist && p->h.n) {
		struct hist view = p->h;  /* its extreme buckets at the chunk's shift */
		int32_t lo = hist_ord_coarser(view.b[0].ord, c->hshift - view.shift);
		int32_t hi = hist_ord_coarser(view.b[view.n - 1].ord, c->hshift - view.shift);
		struct hist_bucket ends[2] = { { lo, 1 }, { hi, 1 } };
		view = (struct hist){ ends, lo == hi ? 1 : 2, 2, c->hshift };
		if (lo == hi)
			ends[1] = ends[0];
		minmax_refs(&c->g, &view);
	}
	put_ts(&w, &c->g, idx);
	bw_put(&w, !single, 1);
	if (single) {
		put_val(&w, &c->g, 1, dbits(p->sum));
		c->g.prev[0] = dbits(1.0);
		c->g.prev[2] = c->g.prev[3] = dbits(p->sum);
	} else {
		if (c->with_hist) {
			int is_count = p->n == (double)hist_count(&p->h);
			bw_put(&w, (uint64_t)is_count, 1);
			if (is_count)
				c->g.prev[0] = dbits(p->n);
			else
				put_val(&w, &c->g, 0, dbits(p->n));
		} else {
			put_val(&w, &c->g, 0, dbits(p->n));
		}
		put_val(&w, &c->g, 1, sum);
		put_val(&w, &c->g, 2, dbits(p->min));
		put_val(&w, &c->g, 3, dbits(p->max));
	}
	c->nbits = w.pos;
	c->npts++;
	return 0;
}

size_t store_chunk_size(const struct store_chunk *c)
{
	uint8_t tmp[10];
	return varint_put(tmp, c->npts) + varint_put(tmp, c->nbits) + (c->nbits + 7) / 8 +
	       varint_put(tmp, c->hbits) + (c->hbits + 7) / 8;
}

void store_chunk_write(const struct store_chunk *c, uint8_t *buf)
{
	size_t n = varint_put(buf, c->npts);
	n += varint_put(buf + n, c->nbits);
	if (c->nbits)
		memcpy(buf + n, c->bits, (c->nbits + 7) / 8);
	n += (c->nbits + 7) / 8;
	n += varint_put(buf + n, c->hbits);
	if (c->hbits)
		memcpy(buf + n, c->hb, (c->hbits + 7) / 8);
}

void store_points_free(struct store_point *p, size_t n)
{
	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		hist_free(&p[i].h);
	free(p);
}

/* One version 1 point's fields into Q. */
static void get_fields_v1(struct bitr *r, struct store_gorilla *g, struct store_point *q)
{
	if (!br_get(r, 1)) {
		q->n = 1;
		q->sum = q->min = q->max = bitsd(get_xor(r, g, 1));
		g->prev[0] = dbits(1.0);
		g->prev[2] = g->prev[3] = g->prev[1];
	} else {
		q->n = bitsd(get_xor(r, g, 0));
		q->sum = bitsd(get_xor(r, g, 1));
		q->min = bitsd(get_xor(r, g, 2));
		if (!br_get(r, 1)) {
			q->max = q->min;
			g->prev[3] = g->prev[2];
		} else {
			q->max = bitsd(get_xor(r, g, 3));
		}
	}
}

/* One version 2 point's fields into Q (N_IS_COUNT: n is the histogram's
 * count, filled in by the caller). */
static void get_fields_v2(struct bitr *r, struct store_gorilla *g, struct store_point *q, int with_hist,
			  int *n_is_count)
{
	*n_is_count = 0;
	if (!br_get(r, 1)) {
		q->n = 1;
		q->sum = q->min = q->max = bitsd(get_val(r, g, 1));
		g->prev[0] = dbits(1.0);
		g->prev[2] = g->prev[3] = g->prev[1];
		return;
	}
	if (with_hist && br_get(r, 1))
		*n_is_count = 1;
	else
		q->n = bitsd(get_val(r, g, 0));
	q->sum = bitsd(get_val(r, g, 1));
	q->min = bitsd(get_val(r, g, 2));
	q->max = bitsd(get_val(r, g, 3));
}

int store_chunk_decode(const uint8_t *buf, size_t len, unsigned version, int64_t base, unsigned step,
		       struct store_point **out, size_t *n)
{
	const uint8_t *p = buf, *end = buf + len;
	uint64_t npts, nbits, hbits;
	*out = NULL;
	*n = 0;
	if (step == 0 || version < STORE_CHUNK_V1 || version > STORE_CHUNK_V3 ||
	    varint_get(&p, end, &npts) < 0 || varint_get(&p, end, &nbits) < 0)
		return -1;
	if (nbits / 8 > (uint64_t)(end - p) || (nbits + 7) / 8 > (uint64_t)(end - p))
		return -1;
	/* every point takes at least 3 bits (version 1), or a run of them at
	 * least 2 (version 2, which refuses runs longer than a block window) */
	if (version == STORE_CHUNK_V1 ? npts > nbits / 3 : npts > 86400 * 7)
		return -1;
	int predict = step >= pred_min_step(version);
	struct bitr r = { p, 0, nbits, 0 };
	p += (nbits + 7) / 8;
	if (varint_get(&p, end, &hbits) < 0 || (hbits + 7) / 8 != (uint64_t)(end - p))
		return -1;
	struct bitr hr = { p, 0, hbits, 0 };
	unsigned hshift = 0;
	if (version >= STORE_CHUNK_V2 && hbits) {
		hshift = (unsigned)br_get(&hr, 3);
		if (hr.bad || hshift > HIST_SHIFT_MAX)
			return -1;
	}
	struct store_point *pts = calloc(npts ? npts : 1, sizeof(*pts));
	if (!pts)
		return -1;
	struct store_gorilla g;
	g_init(&g, base, step);
	struct store_pred pred = { 0 }, spare = { 0 };
	int32_t href = 0;
	int64_t last_idx = base / step - 1;
	for (uint64_t i = 0; i < npts;) {
		struct store_point *q = &pts[i];
		if (version >= STORE_CHUNK_V2 && !hbits && !br_get(&r, 1)) {
			/* a run of repeats of the point before */
			uint64_t rep = get_eg(&r) + 1;
			if (r.bad || i == 0 || rep > npts - i)
				goto bad;
			for (uint64_t k = 0; k < rep; k++, i++) {
				/* garbage may hold any delta: no overflow, no going back */
				if (g.prev_delta <= 0 || g.prev_idx > INT64_MAX / (int64_t)step - g.prev_delta)
					goto bad;
				g.prev_idx += g.prev_delta;
				pts[i] = pts[i - 1];
				pts[i].t = g.prev_idx * (int64_t)step;
			}
			last_idx = g.prev_idx;
			continue;
		}
		int64_t idx = get_ts(&r, &g);
		if (r.bad || idx <= last_idx || idx > INT64_MAX / step)
			goto bad;
		last_idx = idx;
		q->t = idx * (int64_t)step;
		int n_is_count = 0;
		/* version 2: the histogram first (its extreme buckets are the
		 * references of min and max) */
		if (hbits && version == STORE_CHUNK_V1) {
			get_fields_v1(&r, &g, q);
			if (r.bad || get_hist_runs(&hr, &q->h, &href) < 0)
				goto bad;
		} else if (hbits) {
			int rc;
			if (br_get(&hr, 1))
				rc = predict ? get_hist_pred(&hr, &q->h, &href, &pred, version) : -1;
			else
				rc = get_hist_runs(&hr, &q->h, &href);
			if (rc < 0 || hr.bad)
				goto bad;
			if (predict) {
				/* the next predictor into the spare, which becomes
				 * the spare again after: no allocation a point */
				if (pred_next(&pred, &q->h, &spare, version) < 0)
					goto bad;
				struct store_pred t = pred;
				pred = spare;
				spare = t;
			}
			q->h.shift = hshift;
			minmax_refs(&g, &q->h);
			get_fields_v2(&r, &g, q, 1, &n_is_count);
		} else if (version == STORE_CHUNK_V1) {
			get_fields_v1(&r, &g, q);
		} else {
			get_fields_v2(&r, &g, q, 0, &n_is_count);
		}
		if (r.bad)
			goto bad;
		if (n_is_count) {
			q->n = (double)hist_count(&q->h);
			g.prev[0] = dbits(q->n);
		}
		i++;
	}
	if (hr.pos != hr.nbits || r.pos != r.nbits)
		goto bad;
	pred_free(&pred);
	pred_free(&spare);
	*out = pts;
	*n = (size_t)npts;
	return 0;
bad:
	pred_free(&pred);
	pred_free(&spare);
	store_points_free(pts, (size_t)npts);
	return -1;
}

int store_chunk_build(struct store_chunk *c, const struct store_point *p, size_t n)
{
	store_chunk_reset(c);
	for (size_t i = 0; i < n; i++) {
		if (store_chunk_append(c, &p[i]) < 0) {
			store_chunk_reset(c);
			return -1;
		}
	}
	return 0;
}
