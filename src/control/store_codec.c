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

/* ------------------------------------------------------------ bits (versions 1 to 3) */

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


#define ESC_Q 24  /* Rice: a quotient this large is escaped (see put_rice) */

static uint64_t get_eg(struct bitr *r);
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


static unsigned get_mode(struct bitr *r, struct store_gorilla *g, int f)
{
	if (br_get(r, 1))
		g->mode[f] = (uint8_t)br_get(r, 2);
	return g->mode[f];
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


static uint64_t get_delta(struct bitr *r, struct adapt *s, uint64_t prev, int delta)
{
	uint64_t e = get_rice(r, adapt_k(s));
	adapt_update(s, e);
	return delta ? prev + (uint64_t)unzigzag(e) : e;
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

#define PRED_W4 16

/* EMA moved towards count C: by a quarter (versions 2 and 3; all the way
 * for the FIRST), or (version 4, D > 0) by 1/D */
static uint64_t ema_step(uint64_t ema, uint64_t c, int first, uint32_t d)
{
	uint64_t add = c > (UINT64_MAX >> (PRED_FRAC + 1)) ? UINT64_MAX >> 1 : c << PRED_FRAC;
	if (d)
		return add >= ema ? ema + (add - ema) / d : ema - (ema - add) / d;
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
	/* version 4: the mean of the points so far, up to PRED_W4 of them,
	 * then a moving average of weight 1/PRED_W4 (a count's Poisson noise
	 * carried into the prediction: a variance of 1/(2 PRED_W4 - 1) of the
	 * count's, where version 3's quarter kept 1/7 and took its first
	 * point whole) */
	uint32_t d = version >= STORE_CHUNK_V4 ? (p->seen < PRED_W4 ? p->seen + 1 : PRED_W4) : 0;
	next->seen = p->seen < PRED_W4 ? p->seen + 1 : PRED_W4;
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
		e = ema_step(e, c, first, d);
		if (e >= keep) {
			next->ord[next->n] = o;
			next->ema[next->n++] = e;
		}
	}
	next->ema_n = ema_step(p->ema_n, hist_count(h), first, d);
	return 0;
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

/* ------------------------------------------------------------ version 4: range coding
 *
 * Version 4 writes both streams with a binary range coder (LZMA's: 32-bit
 * range, a carry held back in the bytes not yet let go of) whose
 * probabilities adapt as it goes, each decision in a context of its own:
 * what is predictable costs a small fraction of a bit (a count's n, min
 * and max that stay, a timestamp a step after the last, the flags of a
 * point like the one before), and a histogram's count costs about the
 * entropy of its noise instead of a whole Rice code. Probabilities are 12
 * bits, P(0), that learn as counts at first and then follow (prob_update);
 * every chunk starts them at a generated prior (store_prior.h). Bits that carry no pattern (the low bits of a
 * number) go through as they are ("direct" bits, LZMA's). Integers only:
 * every machine codes the same bytes.
 *
 * The serialized stream is the coder's bytes without the first (always
 * 0), flushed with the shortest value inside the final interval: at most
 * 4 trailing zero bytes left off, which the decoder reads as zeros (and
 * refuses to read more of). A chunk still open is serialized from a copy
 * of its coder's state: appending goes on after.
 */

#define RC_PBITS 12
#define RC_ONE (1u << RC_PBITS)
#define RC_RMAX 32  /* (16: 10 MB more for the fleet) */

/* A context is 16 bits: P(0) in 1/4096 (12 bits) and how many decisions
 * it has seen (4 bits, up to 15). The n-th moves P by 1/(n + 1.5) of the
 * way to the bit seen, from the 15th on by 1/RC_RMAX: a context learns as
 * a count would at first (a chunk has 24 to 60 points to learn in) and
 * then follows. Q16 factors: 65536 / (n + 1.5), the last 65536 / RC_RMAX. */
static const uint16_t rc_rate[16] = { 43690, 26214, 18724, 14563, 11915, 10082, 8738, 7710,
				      6898,  6242,  5699,  5243,  4855,  4520,  4228, 65536 / RC_RMAX };

static inline void prob_update(uint16_t *p, unsigned bit)
{
	uint32_t q = *p >> 4, n = *p & 15, r = rc_rate[n];
	if (!bit)
		q += ((RC_ONE - q) * r) >> 16;
	else
		q -= (q * r) >> 16;
	if (q < 1)
		q = 1;
	if (q > RC_ONE - 1)
		q = RC_ONE - 1;
	*p = (uint16_t)(q << 4 | (n < 15 ? n + 1 : 15));
}
#define RC_TOP (1u << 24)

static void rc_init(struct store_rc *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
	e->range = 0xffffffffu;
	e->pending = 1;
	e->skip = 1;
}

static void rc_emit(struct store_rc *e, uint8_t b)
{
	if (e->skip) {
		e->skip = 0;
		return;
	}
	if (e->fail)
		return;
	if (e->len == e->cap) {
		/* an eighth more: chunks fill slowly and many are small */
		size_t cap = e->cap + e->cap / 8 + 16;
		uint8_t *p = realloc(e->buf, cap);
		if (!p) {
			e->fail = 1;
			return;
		}
		e->buf = p;
		e->cap = cap;
	}
	e->buf[e->len++] = b;
}

static void rc_shift(struct store_rc *e)
{
	if ((uint32_t)e->low < 0xff000000u || (e->low >> 32)) {
		uint8_t carry = (uint8_t)(e->low >> 32), t = e->cache;
		do {
			rc_emit(e, (uint8_t)(t + carry));
			t = 0xff;
		} while (--e->pending);
		e->cache = (uint8_t)(e->low >> 24);
	}
	e->pending++;
	e->low = (e->low & 0x00ffffffu) << 8;
}

static inline void rc_bit(struct store_rc *e, uint16_t *p, unsigned bit)
{
	uint32_t bound = (e->range >> RC_PBITS) * (*p >> 4);
	if (!bit) {
		e->range = bound;
	} else {
		e->low += bound;
		e->range -= bound;
	}
	prob_update(p, bit);
	while (e->range < RC_TOP) {
		e->range <<= 8;
		rc_shift(e);
	}
}

/* the N low bits of V as they are, most significant first */
static void rc_direct(struct store_rc *e, uint64_t v, unsigned n)
{
	while (n--) {
		e->range >>= 1;
		if ((v >> n) & 1)
			e->low += e->range;
		while (e->range < RC_TOP) {
			e->range <<= 8;
			rc_shift(e);
		}
	}
}

/* The bytes a flush now would add after E's (into T, room for
 * e->pending + 4; NULL: only counted), without touching E: the held-back
 * bytes, then the 4 bytes of the value inside [low, low + range) with
 * the most trailing zero bytes, those left off. */
static size_t rc_tail(const struct store_rc *e, uint8_t *t)
{
	uint64_t hi = e->low + e->range - 1, v = e->low;
	for (unsigned b = 32; b >= 8; b -= 8) {
		uint64_t m = ((uint64_t)1 << b) - 1, x = (e->low + m) & ~m;
		if (x <= hi) {
			v = x;
			break;
		}
	}
	uint8_t carry = (uint8_t)(v >> 32);
	uint32_t lo = (uint32_t)v;
	unsigned keep = 4;
	while (keep && !(lo & 0xff)) {
		lo >>= 8;
		keep--;
	}
	lo = (uint32_t)v;
	size_t n = 0;
	for (uint32_t i = 0; i < e->pending; i++) {
		if (i == 0 && e->skip)
			continue;
		if (t)
			t[n] = (uint8_t)((i == 0 ? e->cache : 0xff) + carry);
		n++;
	}
	for (unsigned i = 0; i < keep; i++) {
		if (t)
			t[n] = (uint8_t)(lo >> (24 - 8 * i));
		n++;
	}
	return n;
}

static size_t rc_size(const struct store_rc *e)
{
	return e->len + rc_tail(e, NULL);
}

static size_t rc_write(const struct store_rc *e, uint8_t *out)
{
	if (e->len)
		memcpy(out, e->buf, e->len);
	return e->len + rc_tail(e, out + e->len);
}

struct rcd {
	const uint8_t *p, *end;
	uint32_t range, code;
	unsigned over;  /* zeros read past the end: at most the 4 a flush leaves off */
	int bad;
};

static inline uint8_t rcd_byte(struct rcd *d)
{
	if (d->p < d->end)
		return *d->p++;
	if (++d->over > 4)
		d->bad = 1;
	return 0;
}

static void rcd_init(struct rcd *d, const uint8_t *p, size_t len)
{
	d->p = p;
	d->end = p + len;
	d->range = 0xffffffffu;
	d->code = 0;
	d->over = 0;
	d->bad = 0;
	for (int i = 0; i < 4; i++)
		d->code = (d->code << 8) | rcd_byte(d);
}

static inline unsigned rcd_bit(struct rcd *d, uint16_t *p)
{
	uint32_t bound = (d->range >> RC_PBITS) * (*p >> 4);
	unsigned bit;
	if (d->code < bound) {
		d->range = bound;
		bit = 0;
	} else {
		d->code -= bound;
		d->range -= bound;
		bit = 1;
	}
	prob_update(p, bit);
	while (d->range < RC_TOP) {
		d->range <<= 8;
		d->code = (d->code << 8) | rcd_byte(d);
	}
	return bit;
}

static uint64_t rcd_direct(struct rcd *d, unsigned n)
{
	uint64_t v = 0;
	while (n--) {
		d->range >>= 1;
		unsigned bit = d->code >= d->range;
		if (bit)
			d->code -= d->range;
		v = (v << 1) | bit;
		while (d->range < RC_TOP) {
			d->range <<= 8;
			d->code = (d->code << 8) | rcd_byte(d);
		}
	}
	return v;
}


/* An unsigned integer: its bit length in unary (a context per place, the
 * last shared), the bit below its top in a context per length, the rest
 * direct. */
#define IU_LEN 12
#define IU_TOP 4
struct iu {
	uint16_t len[IU_LEN], top[IU_TOP];
};

static void put_iu(struct store_rc *e, struct iu *x, uint64_t z)
{
	unsigned nb = z ? 64 - (unsigned)__builtin_clzll(z) : 0;
	for (unsigned i = 0; i < nb; i++)
		rc_bit(e, &x->len[i < IU_LEN ? i : IU_LEN - 1], 1);
	if (nb < 64)
		rc_bit(e, &x->len[nb < IU_LEN ? nb : IU_LEN - 1], 0);
	if (nb >= 2) {
		rc_bit(e, &x->top[nb - 2 < IU_TOP ? nb - 2 : IU_TOP - 1], (unsigned)(z >> (nb - 2)) & 1);
		rc_direct(e, z, nb - 2);
	}
}

static uint64_t get_iu(struct rcd *d, struct iu *x)
{
	unsigned nb = 0;
	while (nb < 64 && rcd_bit(d, &x->len[nb < IU_LEN ? nb : IU_LEN - 1]))
		nb++;
	if (nb < 2)
		return nb;
	uint64_t z = (uint64_t)1 << (nb - 1);
	z |= (uint64_t)rcd_bit(d, &x->top[nb - 2 < IU_TOP ? nb - 2 : IU_TOP - 1]) << (nb - 2);
	return z | rcd_direct(d, nb - 2);
}

/* the points' stream's models */
struct store_v4main {
	uint16_t rep[2];            /* a repeat of the point before, by whether that one was */
	uint16_t ts_same;           /* the same time delta */
	uint16_t single[2];         /* a point of one sample, by whether the last was */
	uint16_t is_count;          /* with histograms: n is the histogram's count */
	uint16_t mode[4][4][2][3];  /* field, its last mode, the field before it changed, decision */
	uint16_t xwin[4];           /* XOR'd inside the last window */
	struct iu ts;               /* zigzag delta of deltas - 1 */
	struct iu ival[3];          /* zigzag integer differences: n; sum; min and max */
	struct iu iord;             /* zigzag ord differences (minimum and maximum) */
	uint16_t sum_est;           /* a sum coded against its histogram's (sum_pred) */
	struct iu iest;             /* its zigzag difference, in last bits kept */
};

/* Histogram counts (see put_hist4): a class per predicted count (0, then
 * two a power of two), and one more for no prediction; per class: zero,
 * sign, the quotient's unary (QCTX places, the last shared; QESC or more
 * escapes to Exp-Golomb), the low bits' top. */
#define NCLS 42
#define QCTX 8
#define QESC 20
#define BCTX (2 + QCTX + 2)
#define RUN4_GAP 16      /* more empty buckets than this between two ends a run */
#define RUN4_MAX 4096    /* a run holds at most this many buckets */

struct store_v4hist {
	struct iu n, nruns, start, len, gap;
	struct iu xn, xo, xc;           /* buckets outside the prediction's runs: how many, ord, count - 1 */
	uint16_t b[2][NCLS + 1][BCTX];  /* against the prediction; against the bucket before (first point) */
};

#include "store_prior.h"

/* how many decisions a prior counts for: the points' models 2, the
 * histograms' 12 (measured: 2/10 2,267 MB, 3/13 2,271, 3/3 2,282, 8/8 2,296) */
#define PRIOR_NM 2
#define PRIOR_NH 12

/* A chunk's contexts start where the store budget's chunks left them on
 * average (store_prior.h, tests/bench/store_prior.py, trained at other
 * latency spreads than the budget is measured at), trusted as TRUST
 * decisions: the next moves them by 1/(TRUST + 1.5). A generated table
 * of integers: the same on every machine. */
static void prior_init(uint16_t *p, const uint16_t *prior, size_t n, unsigned trust)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint16_t)(prior[i] << 4 | trust);
}

_Static_assert(sizeof(prior_main) == sizeof(struct store_v4main), "store_prior.h is stale");
_Static_assert(sizeof(prior_hist) == sizeof(struct store_v4hist), "store_prior.h is stale");

static void v4main_init(struct store_v4main *x)
{
	prior_init((uint16_t *)x, prior_main, sizeof(*x) / sizeof(uint16_t), PRIOR_NM);
}

static void v4hist_init(struct store_v4hist *x)
{
	prior_init((uint16_t *)x, prior_hist, sizeof(*x) / sizeof(uint16_t), PRIOR_NH);
}

#ifdef STORE_CODEC_TRAIN
/* tests/bench/store_prior.py's input: where each context ended, summed
 * over the chunks reset, written at exit to $STORE_CODEC_TRAIN */
#include <stdio.h>
static double tr_sum[2][sizeof(struct store_v4hist) / 2], tr_w[2][sizeof(struct store_v4hist) / 2];
static int tr_reg;

static void tr_dump(void)
{
	FILE *o = fopen(getenv("STORE_CODEC_TRAIN"), "w");
	if (!o)
		return;
	size_t nm = sizeof(struct store_v4main) / 2, nh = sizeof(struct store_v4hist) / 2;
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < (t ? nh : nm); i++)
			fprintf(o, "%d %zu %.6f %.1f\n", t, i, tr_sum[t][i], tr_w[t][i]);
	fclose(o);
}

static void tr_add(int t, const uint16_t *p, size_t n)
{
	if (!tr_reg) {
		tr_reg = 1;
		if (getenv("STORE_CODEC_TRAIN"))
			atexit(tr_dump);
	}
	for (size_t i = 0; i < n; i++) {
		/* how many decisions it saw beyond the prior's */
		unsigned k = p[i] & 15, k0 = t ? PRIOR_NH : PRIOR_NM;
		if (k <= k0)
			continue;
		tr_sum[t][i] += (double)(p[i] >> 4) * (k - k0);
		tr_w[t][i] += k - k0;
	}
}
#endif

/* ------------------------------------------------------------ version 4 fields
 *
 * As version 2's modes (put_val): 0 equal to the field before, 1 the
 * integer difference, 2 the difference of ords, 3 XOR'd; the mode is a
 * tree of up to three decisions in contexts of the field, its last mode
 * and whether the field before it in this point changed (a rare count's
 * sum and maximum change together).
 */

static unsigned nbits(uint64_t z)
{
	return z ? 64 - (unsigned)__builtin_clzll(z) : 0;
}

static unsigned put_val4(struct store_rc *e, struct store_v4main *x, struct store_gorilla *g, int f, uint64_t v,
			 unsigned changed)
{
	uint16_t *m = x->mode[f][g->mode[f] & 3][changed];
	uint64_t prev = g->prev[f];
	if (v == prev) {
		rc_bit(e, &m[0], 0);
		g->mode[f] = 0;
		return 0;
	}
	rc_bit(e, &m[0], 1);
	g->prev[f] = v;
	unsigned best = ~0u, mode = 3;
	int64_t a, b;
	uint64_t z = 0, zo = 0;
	int32_t ord = 0;
	if (as_int(prev, &a) && as_int(v, &b)) {
		z = zigzag(b - a);
		best = 2 + nbits(z);
		mode = 1;
	}
	if (best > 8 && as_ord(v, &ord)) {
		zo = zigzag((int64_t)ord - g->prev_ord[f]);
		if (2 + nbits(zo) < best) {
			best = 2 + nbits(zo);
			mode = 2;
		}
	}
	uint64_t xr = v ^ prev;
	unsigned lead = (unsigned)__builtin_clzll(xr), trail = (unsigned)__builtin_ctzll(xr);
	if (lead > 31)
		lead = 31;
	int in_window = g->lead[f] != 0xff && lead >= g->lead[f] && trail >= g->trail[f];
	unsigned xor_bits = in_window ? 1u + 64u - g->lead[f] - g->trail[f] : 12u + 64u - lead - trail;
	if (xor_bits < best)
		mode = 3;
	rc_bit(e, &m[1], mode != 1);
	if (mode != 1)
		rc_bit(e, &m[2], mode != 2);
	g->mode[f] = (uint8_t)mode;
	if (mode == 1) {
		put_iu(e, &x->ival[f == 0 ? 0 : f == 1 ? 1 : 2], z);
	} else if (mode == 2) {
		put_iu(e, &x->iord, zo);
		g->prev_ord[f] = ord;
	} else {
		rc_bit(e, &x->xwin[f], !in_window);
		if (in_window) {
			rc_direct(e, xr >> g->trail[f], 64 - g->lead[f] - g->trail[f]);
		} else {
			unsigned len = 64 - lead - trail;
			rc_direct(e, lead, 5);
			rc_direct(e, len - 1, 6);
			rc_direct(e, xr >> trail, len);
			g->lead[f] = (uint8_t)lead;
			g->trail[f] = (uint8_t)trail;
		}
	}
	return 1;
}

static uint64_t get_val4(struct rcd *d, struct store_v4main *x, struct store_gorilla *g, int f, unsigned *changed)
{
	uint16_t *m = x->mode[f][g->mode[f] & 3][*changed];
	if (!rcd_bit(d, &m[0])) {
		g->mode[f] = 0;
		*changed = 0;
		return g->prev[f];
	}
	*changed = 1;
	unsigned mode = !rcd_bit(d, &m[1]) ? 1 : !rcd_bit(d, &m[2]) ? 2 : 3;
	g->mode[f] = (uint8_t)mode;
	if (mode == 1) {
		uint64_t z = get_iu(d, &x->ival[f == 0 ? 0 : f == 1 ? 1 : 2]);
		int64_t a;
		if (d->bad || !as_int(g->prev[f], &a) || z > ((uint64_t)1 << 56)) {
			d->bad = 1;
			return 0;
		}
		int64_t b = a + unzigzag(z);
		if (b < -9007199254740992ll || b > 9007199254740992ll) {
			d->bad = 1;
			return 0;
		}
		g->prev[f] = dbits((double)b);
		/* equal is mode 0, never an integer difference of 0 */
		if (z == 0)
			d->bad = 1;
		return g->prev[f];
	}
	if (mode == 2) {
		uint64_t z = get_iu(d, &x->iord);
		int64_t ord = (int64_t)g->prev_ord[f] + unzigzag(z);
		if (d->bad || z > ((uint64_t)1 << 40) || ord == 0 || !ord_ok(ord)) {
			d->bad = 1;
			return 0;
		}
		g->prev_ord[f] = (int32_t)ord;
		g->prev[f] = dbits(hist_ord_value((int32_t)ord));
		return g->prev[f];
	}
	uint64_t xr;
	if (!rcd_bit(d, &x->xwin[f])) {
		if (g->lead[f] == 0xff) {
			d->bad = 1;
			return 0;
		}
		xr = rcd_direct(d, 64 - g->lead[f] - g->trail[f]) << g->trail[f];
	} else {
		unsigned lead = (unsigned)rcd_direct(d, 5);
		unsigned len = (unsigned)rcd_direct(d, 6) + 1;
		if (lead + len > 64) {
			d->bad = 1;
			return 0;
		}
		unsigned trail = 64 - lead - len;
		xr = rcd_direct(d, len) << trail;
		g->lead[f] = (uint8_t)lead;
		g->trail[f] = (uint8_t)trail;
	}
	g->prev[f] ^= xr;
	return g->prev[f];
}

static void put_ts4(struct store_rc *e, struct store_v4main *x, struct store_gorilla *g, int64_t idx)
{
	int64_t delta = idx - g->prev_idx;
	uint64_t z = zigzag(delta - g->prev_delta);
	g->prev_idx = idx;
	g->prev_delta = delta;
	rc_bit(e, &x->ts_same, z != 0);
	if (z)
		put_iu(e, &x->ts, z - 1);
}

static int64_t get_ts4(struct rcd *d, struct store_v4main *x, struct store_gorilla *g)
{
	uint64_t z = 0;
	if (rcd_bit(d, &x->ts_same))
		z = get_iu(d, &x->ts) + 1;
	/* garbage may overflow: wrap (the caller checks the order) */
	g->prev_delta = (int64_t)((uint64_t)g->prev_delta + (uint64_t)unzigzag(z));
	g->prev_idx = (int64_t)((uint64_t)g->prev_idx + (uint64_t)g->prev_delta);
	return g->prev_idx;
}

/* ------------------------------------------------------------ version 4 histograms
 *
 * Per point: its count against the average count (zigzag); then, when the
 * chunk has a prediction (put_hist4p), the buckets outside the
 * prediction's runs and every ord of those runs against its prediction;
 * else (a chunk's first point) the number of
 * runs, the first run's first ord against the last point's (zigzag) and
 * its length - 1 against the last point's (zigzag), a later run's gap
 * from the run before and its length - 1; then every bucket of every run
 * (empty ones inside too) against its prediction PR, the chunk's moving
 * average of that ord scaled to the count (as version 3; for a chunk's
 * first point, when there is none, the bucket before in the same
 * histogram, in contexts of their own): '0' when equal, else '1', the
 * sign (when PR > 0) and |difference| - 1 as a quotient in unary and k
 * low bits, k one less than version 3's Rice parameter for PR (pred_k),
 * the top low bit in a context, the others direct. The contexts are those
 * of PR's class (class4): a bucket predicted to hold 0.3 is 0 nine times
 * in ten and costs a fraction of a bit, where a Rice code takes one. A
 * run ends at more than RUN4_GAP empty buckets or at RUN4_MAX buckets.
 */

static unsigned class4(uint64_t pr)
{
	if (!pr)
		return 0;
	unsigned b = nbits(pr);
	unsigned c = 2 * b - 1 + (b >= 2 ? (unsigned)(pr >> (b - 2)) & 1 : 0);
	return c < NCLS ? c : NCLS - 1;
}

static unsigned k4(uint64_t pr)
{
	unsigned k = pred_k(pr);
	return k ? k - 1 : 0;
}

static void put_count4(struct store_rc *e, uint16_t *u, uint64_t pr, uint64_t c)
{
	if (c == pr) {
		rc_bit(e, &u[0], 0);
		return;
	}
	rc_bit(e, &u[0], 1);
	uint64_t m;
	if (pr) {
		unsigned neg = c < pr;
		rc_bit(e, &u[1], neg);
		m = (neg ? pr - c : c - pr) - 1;
	} else {
		m = c - 1;
	}
	unsigned k = k4(pr);
	uint64_t q = m >> k;
	unsigned j;
	for (j = 0; j < q && j < QESC; j++)
		rc_bit(e, &u[2 + (j < QCTX ? j : QCTX - 1)], 1);
	if (j < QESC) {
		rc_bit(e, &u[2 + (j < QCTX ? j : QCTX - 1)], 0);
	} else {
		/* Exp-Golomb of q - QESC, direct */
		uint64_t v = q - QESC + 1;
		unsigned n = nbits(v);
		rc_direct(e, 0, n - 1);
		rc_direct(e, v, n);
	}
	if (k) {
		rc_bit(e, &u[2 + QCTX + (q != 0)], (unsigned)(m >> (k - 1)) & 1);
		rc_direct(e, m, k - 1);
	}
}

/* Add ORD (ok, above H's last) with COUNT at H's end. Returns 0 or -1. */
static int hist_append(struct hist *h, int32_t ord, uint64_t count)
{
	if (!ord_ok(ord))
		return -1;
	if (h->n < h->cap) {
		h->b[h->n++] = (struct hist_bucket){ ord, count };
		return 0;
	}
	return hist_add_ord(h, ord, count);
}

/* a count predicted PR, at most N: -1 when garbage */
static int64_t get_count4(struct rcd *d, uint16_t *u, uint64_t pr, uint64_t n)
{
	if (!rcd_bit(d, &u[0]))
		return (int64_t)pr;
	unsigned neg = pr ? rcd_bit(d, &u[1]) : 0;
	unsigned k = k4(pr);
	uint64_t q = 0;
	while (q < QESC && rcd_bit(d, &u[2 + (q < QCTX ? q : QCTX - 1)]))
		q++;
	if (q == QESC) {
		unsigned z = 0;
		while (!rcd_direct(d, 1)) {
			if (d->bad || ++z > 52)
				return -1;
		}
		q += (((uint64_t)1 << z) | rcd_direct(d, z)) - 1;
	}
	if (q > ((uint64_t)1 << 53) >> k)
		return -1;
	uint64_t m = q << k;
	if (k)
		m |= ((uint64_t)rcd_bit(d, &u[2 + QCTX + (q != 0)]) << (k - 1)) | rcd_direct(d, k - 1);
	if (d->bad)
		return -1;
	if (neg)
		return m + 1 > pr ? -1 : (int64_t)(pr - m - 1);
	if (m + 1 > n || pr > n - m - 1)
		return -1;
	return (int64_t)(pr + m + 1);
}

/* The end of the prediction's run that starts at its ord I (a run of
 * the predictor's ords breaks where RUN4_GAP empty ords or more lie
 * between two, or at RUN4_MAX); *J: the index after it. */
static int64_t pred_run(const struct store_pred *p, uint32_t i, uint32_t *j)
{
	uint32_t k = i + 1;
	while (k < p->n && p->ord[k] - p->ord[k - 1] <= RUN4_GAP + 1 && p->ord[k] - p->ord[i] < RUN4_MAX)
		k++;
	*j = k;
	return p->ord[k - 1];
}

/* H (N samples) after a predictor P that has ords: the buckets outside
 * P's runs first (how many; each one's ord against the one before, the
 * first against P's first; its count - 1), then every ord of every run
 * of P against its prediction: where the histogram starts and ends costs
 * nothing when it is where the prediction has it. */
static void put_hist4p(struct store_rc *e, struct store_v4hist *x, const struct hist *h, uint64_t n,
		       const struct store_pred *p)
{
	uint32_t nx = 0, k = 0, i = 0, j;
	for (i = 0; i < p->n; i = j) {
		int64_t s = p->ord[i], t = pred_run(p, i, &j);
		for (; k < h->n && h->b[k].ord <= t; k++)
			nx += h->b[k].ord < s;
	}
	nx += h->n - k;
	put_iu(e, &x->xn, nx);
	int64_t prev = p->ord[0];
	k = 0;
	for (i = 0; i <= p->n; i = j) {
		int64_t s = INT64_MAX, t = INT64_MAX;
		j = p->n + 1;
		if (i < p->n) {
			s = p->ord[i];
			t = pred_run(p, i, &j);
		}
		for (; k < h->n && h->b[k].ord <= t; k++) {
			if (h->b[k].ord >= s)
				continue;
			put_iu(e, &x->xo, zigzag(h->b[k].ord - prev));
			prev = h->b[k].ord;
			put_iu(e, &x->xc, h->b[k].count - 1);
		}
	}
	k = 0;
	for (i = 0; i < p->n; i = j) {
		int64_t s = p->ord[i], t = pred_run(p, i, &j);
		uint32_t pi = i;
		for (int64_t o = s; o <= t; o++) {
			uint64_t c = 0, pr = 0;
			while (k < h->n && h->b[k].ord < o)
				k++;
			if (k < h->n && h->b[k].ord == o)
				c = h->b[k].count;
			if (pi < j && p->ord[pi] == o)
				pr = pred_at(p, pi++, n);
			put_count4(e, x->b[0][class4(pr)], pr, c);
		}
	}
}

/* Decode what put_hist4p wrote into H (empty). Returns 0 or -1. */
static int get_hist4p(struct rcd *d, struct store_v4hist *x, struct hist *h, uint64_t n, const struct store_pred *p)
{
	struct hist_bucket xs[32], *xb = xs;
	uint64_t nx = get_iu(d, &x->xn), total = 0;
	if (d->bad || nx > n || nx > (uint64_t)1 << 20)
		return -1;
	if (nx > sizeof(xs) / sizeof(xs[0]) && !(xb = malloc(nx * sizeof(*xb))))
		return -1;
	int64_t prev = p->ord[0];
	for (uint64_t k = 0; k < nx; k++) {
		uint64_t z = get_iu(d, &x->xo), c = get_iu(d, &x->xc) + 1;
		int64_t o = prev + unzigzag(z);
		/* c == 0: get_iu gave 2^64 - 1 (a bucket's count is never 0) */
		if (d->bad || z > ((uint64_t)1 << 40) || (k && o <= prev) || !ord_ok(o) || c == 0 || c > n - total)
			goto bad;
		xb[k] = (struct hist_bucket){ (int32_t)o, c };
		total += c;
		prev = o;
	}
	uint64_t xi = 0;
	uint32_t j;
	for (uint32_t i = 0; i < p->n; i = j) {
		int64_t s = p->ord[i], t = pred_run(p, i, &j);
		/* the extra buckets before this run, none inside it */
		for (; xi < nx && xb[xi].ord < s; xi++)
			if (hist_append(h, xb[xi].ord, xb[xi].count) < 0)
				goto bad;
		if (xi < nx && xb[xi].ord <= t)
			goto bad;
		uint32_t pi = i;
		for (int64_t o = s; o <= t; o++) {
			uint64_t pr = 0;
			if (pi < j && p->ord[pi] == o)
				pr = pred_at(p, pi++, n);
			int64_t c = get_count4(d, x->b[0][class4(pr)], pr, n - total);
			if (c < 0 || d->bad)
				goto bad;
			if (!c)
				continue;
			if (hist_append(h, (int32_t)o, (uint64_t)c) < 0)
				goto bad;
			total += (uint64_t)c;
		}
	}
	for (; xi < nx; xi++)
		if (hist_append(h, xb[xi].ord, xb[xi].count) < 0)
			goto bad;
	if (total != n)
		goto bad;
	if (xb != xs)
		free(xb);
	return 0;
bad:
	if (xb != xs)
		free(xb);
	return -1;
}

static void put_hist4(struct store_rc *e, struct store_v4hist *x, const struct hist *h, int32_t *ref, int32_t *plen,
		      const struct store_pred *p)
{
	uint64_t n = hist_count(h);
	int64_t avg = (int64_t)((p->ema_n + ((uint64_t)1 << (PRED_FRAC - 1))) >> PRED_FRAC);
	put_iu(e, &x->n, zigzag((int64_t)n - avg));
	if (p->n && p->ema_n) {
		put_hist4p(e, x, h, n, p);
		return;
	}
	uint32_t i = 0, nr = 0, pi = 0;
	/* count the runs first */
	for (uint32_t k = 0, st = 0; k < h->n; k++)
		if (k == 0 || h->b[k].ord - h->b[k - 1].ord > RUN4_GAP + 1 || h->b[k].ord - h->b[st].ord >= RUN4_MAX) {
			st = k;
			nr++;
		}
	put_iu(e, &x->nruns, nr);
	int64_t prev_end = 0;
	int first = p->ema_n == 0;
	for (uint32_t r = 0; r < nr; r++) {
		uint32_t j = i + 1;
		while (j < h->n && h->b[j].ord - h->b[j - 1].ord <= RUN4_GAP + 1 && h->b[j].ord - h->b[i].ord < RUN4_MAX)
			j++;
		int64_t start = h->b[i].ord, end = h->b[j - 1].ord;
		if (r == 0) {
			put_iu(e, &x->start, zigzag(start - *ref));
			*ref = (int32_t)start;
			put_iu(e, &x->len, zigzag(end - start - *plen));
			*plen = (int32_t)(end - start);
		} else {
			put_iu(e, &x->gap, (uint64_t)(start - prev_end - 1));
			put_iu(e, &x->gap, (uint64_t)(end - start));
		}
		uint64_t before = 0;
		uint32_t k = i;
		for (int64_t o = start; o <= end; o++) {
			uint64_t c = 0, pr = 0;
			if (h->b[k].ord == o)
				c = h->b[k++].count;
			if (first) {
				pr = before;
				before = c;
			} else {
				while (pi < p->n && p->ord[pi] < o)
					pi++;
				if (pi < p->n && p->ord[pi] == o)
					pr = pred_at(p, pi, n);
			}
			put_count4(e, x->b[first][class4(pr)], pr, c);
		}
		prev_end = end;
		i = j;
	}
}

static int get_hist4(struct rcd *d, struct store_v4hist *x, struct hist *h, int32_t *ref, int32_t *plen,
		     const struct store_pred *p)
{
	hist_clear(h);
	int64_t avg = (int64_t)((p->ema_n + ((uint64_t)1 << (PRED_FRAC - 1))) >> PRED_FRAC);
	uint64_t zn = get_iu(d, &x->n);
	if (d->bad || zn > ((uint64_t)1 << 60))
		goto bad;
	int64_t n = avg + unzigzag(zn);
	if (n >= 0 && p->n && p->ema_n) {
		if (get_hist4p(d, x, h, (uint64_t)n, p) < 0)
			goto bad;
		return 0;
	}
	uint64_t nr = get_iu(d, &x->nruns);
	if (d->bad || n < 0 || (n == 0) != (nr == 0) || nr > (uint64_t)n)
		goto bad;
	int first = p->ema_n == 0;
	int64_t prev_end = 0;
	uint64_t total = 0;
	uint32_t pi = 0;
	for (uint64_t r = 0; r < nr; r++) {
		int64_t start, span;
		if (r == 0) {
			uint64_t z = get_iu(d, &x->start);
			if (z > ((uint64_t)1 << 40))
				goto bad;
			start = (int64_t)*ref + unzigzag(z);
			z = get_iu(d, &x->len);
			if (z > ((uint64_t)1 << 40))
				goto bad;
			span = (int64_t)*plen + unzigzag(z);
		} else {
			uint64_t gap = get_iu(d, &x->gap), s = get_iu(d, &x->gap);
			if (gap > ((uint64_t)1 << 40) || s > ((uint64_t)1 << 40))
				goto bad;
			start = prev_end + 1 + (int64_t)gap;
			span = (int64_t)s;
		}
		if (d->bad || span < 0 || span >= RUN4_MAX || !ord_ok(start) || !ord_ok(start + span))
			goto bad;
		if (r == 0) {
			*ref = (int32_t)start;
			*plen = (int32_t)span;
		}
		uint64_t before = 0;
		for (int64_t o = start; o <= start + span; o++) {
			uint64_t pr = 0;
			if (first) {
				pr = before;
			} else {
				while (pi < p->n && p->ord[pi] < o)
					pi++;
				if (pi < p->n && p->ord[pi] == o)
					pr = pred_at(p, pi, (uint64_t)n);
			}
			int64_t c = get_count4(d, x->b[first][class4(pr)], pr, (uint64_t)n - total);
			if (c < 0 || d->bad || ((o == start || o == start + span) && c == 0))
				goto bad;
			before = (uint64_t)c;
			if (!c)
				continue;
			if (!ord_ok(o))
				goto bad;
			if (h->n < h->cap)
				h->b[h->n++] = (struct hist_bucket){ (int32_t)o, (uint64_t)c };
			else if (hist_add_ord(h, (int32_t)o, (uint64_t)c) < 0)
				goto bad;
			total += (uint64_t)c;
		}
		prev_end = start + span;
	}
	if (total != (uint64_t)n)
		goto bad;
	return 0;
bad:
	d->bad = 1;
	hist_clear(h);
	return -1;
}

/* ------------------------------------------------------------ version 4 sums
 *
 * A latency point's sum, written with sum_bits of mantissa, is coded
 * against the sum its histogram implies: every bucket's count times its
 * value, scaled by the ratio the point before had between its sum and
 * its implied one (the buckets' values stand where the samples fall in
 * them only on average, and a shape that stays keeps the ratio). The
 * difference is taken between the doubles' bits (positive doubles order
 * as their bits do), in units of the last bit kept. The implied sum is
 * made of integers (a bucket's value 2^(K log2 gamma), K its key at shift
 * 0, from a table of 2^(i/256)) and turned into a double exactly; the
 * ratio and the product are one IEEE division and one multiplication:
 * the same bits on every machine, no exp().
 */

static uint64_t round_mantissa(uint64_t u, unsigned bits);

#define LG2_GAMMA_Q32 123930692  /* log2((1 + 1%) / (1 - 1%)) in 2^-32 */

/* 2^(i/256) in 2^-30: round(2^(i/256) 2^30) */
static const uint32_t exp2_q30[256] = {
	1073741824, 1076653033, 1079572136, 1082499153, 1085434106, 1088377016, 1091327906, 1094286796,
	1097253708, 1100228665, 1103211687, 1106202798, 1109202018, 1112209370, 1115224875, 1118248556,
	1121280436, 1124320536, 1127368878, 1130425485, 1133490379, 1136563583, 1139645120, 1142735011,
	1145833280, 1148939949, 1152055042, 1155178580, 1158310587, 1161451085, 1164600099, 1167757650,
	1170923762, 1174098458, 1177281762, 1180473697, 1183674286, 1186883552, 1190101520, 1193328213,
	1196563654, 1199807867, 1203060876, 1206322705, 1209593378, 1212872918, 1216161350, 1219458698,
	1222764986, 1226080238, 1229404479, 1232737732, 1236080024, 1239431376, 1242791816, 1246161366,
	1249540052, 1252927899, 1256324931, 1259731174, 1263146652, 1266571390, 1270005413, 1273448747,
	1276901417, 1280363448, 1283834865, 1287315695, 1290805962, 1294305692, 1297814910, 1301333643,
	1304861917, 1308399756, 1311947188, 1315504238, 1319070932, 1322647296, 1326233356, 1329829140,
	1333434672, 1337049980, 1340675091, 1344310030, 1347954824, 1351609500, 1355274085, 1358948606,
	1362633090, 1366327563, 1370032052, 1373746586, 1377471191, 1381205894, 1384950723, 1388705706,
	1392470869, 1396246240, 1400031848, 1403827719, 1407633882, 1411450365, 1415277195, 1419114401,
	1422962010, 1426820052, 1430688553, 1434567544, 1438457051, 1442357104, 1446267730, 1450188960,
	1454120821, 1458063343, 1462016553, 1465980482, 1469955159, 1473940611, 1477936870, 1481943963,
	1485961921, 1489990772, 1494030547, 1498081275, 1502142985, 1506215708, 1510299473, 1514394310,
	1518500250, 1522617322, 1526745556, 1530884983, 1535035634, 1539197537, 1543370725, 1547555228,
	1551751076, 1555958300, 1560176931, 1564406999, 1568648537, 1572901575, 1577166143, 1581442275,
	1585730000, 1590029350, 1594340357, 1598663052, 1602997467, 1607343634, 1611701585, 1616071351,
	1620452965, 1624846459, 1629251865, 1633669214, 1638098541, 1642539877, 1646993254, 1651458706,
	1655936265, 1660425963, 1664927835, 1669441912, 1673968228, 1678506817, 1683057710, 1687620943,
	1692196547, 1696784557, 1701385007, 1705997930, 1710623359, 1715261330, 1719911875, 1724575029,
	1729250827, 1733939301, 1738640488, 1743354420, 1748081133, 1752820662, 1757573041, 1762338305,
	1767116489, 1771907628, 1776711757, 1781528911, 1786359126, 1791202437, 1796058879, 1800928489,
	1805811301, 1810707353, 1815616678, 1820539314, 1825475297, 1830424663, 1835387448, 1840363688,
	1845353420, 1850356681, 1855373507, 1860403934, 1865448001, 1870505744, 1875577199, 1880662405,
	1885761398, 1890874216, 1896000896, 1901141476, 1906295993, 1911464486, 1916646992, 1921843549,
	1927054196, 1932278970, 1937517909, 1942771053, 1948038440, 1953320108, 1958616096, 1963926443,
	1969251188, 1974590370, 1979944027, 1985312200, 1990694927, 1996092249, 2001504204, 2006930832,
	2012372174, 2017828268, 2023299156, 2028784876, 2034285470, 2039800978, 2045331439, 2050876895,
	2056437387, 2062012954, 2067603638, 2073209480, 2078830522, 2084466803, 2090118366, 2095785251,
	2101467502, 2107165158, 2112878262, 2118606857, 2124350982, 2130110682, 2135885998, 2141676973,
};

/* floor(E / 2^32) and E mod 2^32, for any E */
static int64_t fl32(int64_t e, uint32_t *frac)
{
	int64_t q = e >= 0 ? e / 4294967296ll : -((-e + 4294967295ll) / 4294967296ll);
	*frac = (uint32_t)(e - q * 4294967296ll);
	return q;
}

/* The sum H (its ords at SHIFT) implies, up to a constant factor; 0 when
 * H is empty, has a bucket not above zero, or lies outside doubles' range. */
static double hist_est(const struct hist *h, unsigned shift)
{
	if (!h->n || h->b[0].ord <= 0)
		return 0;
	uint32_t frac;
	int64_t top = fl32(((int64_t)h->b[h->n - 1].ord - HIST_ORD_BIAS) * ((int64_t)1 << shift) * LG2_GAMMA_Q32, &frac);
	unsigned __int128 acc = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		int64_t e = fl32(((int64_t)h->b[i].ord - HIST_ORD_BIAS) * ((int64_t)1 << shift) * LG2_GAMMA_Q32, &frac);
		int64_t d = top - e;
		if (d > 90)
			continue;
		acc += ((unsigned __int128)h->b[i].count * exp2_q30[frac >> 24]) >> d;
	}
	int sh = 0;
	while (acc >> 53) {
		acc >>= 1;
		sh++;
	}
	if (!acc || top + sh - 30 < -900 || top + sh - 30 > 900)
		return 0;
	return ldexp((double)(uint64_t)acc, (int)(top + sh - 30));
}

/* The sum a point with histogram H is predicted to have, rounded to
 * SUM_BITS (> 0) of mantissa, after a point whose ratio of sum to
 * implied sum was RATIO (> 0); its bits, or 0 when there is none. */
static uint64_t sum_pred(const struct hist *h, unsigned shift, double ratio, unsigned sum_bits, double *est)
{
	*est = hist_est(h, shift);
	if (!(*est > 0) || !(ratio > 0) || !sum_bits)
		return 0;
	double p = *est * ratio;
	if (!(p > 0) || !isfinite(p))
		return 0;
	uint64_t u = round_mantissa(dbits(p), sum_bits);
	return u & ((((uint64_t)1 << (52 - sum_bits)) - 1)) ? 0 : u;
}

/* ------------------------------------------------------------ chunks */

void store_chunk_init(struct store_chunk *c, int64_t base, unsigned step, int with_hist, unsigned hshift)
{
	memset(c, 0, sizeof(*c));
	rc_init(&c->m);
	rc_init(&c->h);
	c->base = base;
	c->step = step;
	c->with_hist = with_hist != 0;
	c->hshift = (uint8_t)(hshift > HIST_SHIFT_MAX ? HIST_SHIFT_MAX : hshift);
	g_init(&c->g, base, step);
}

void store_chunk_reset(struct store_chunk *c)
{
#ifdef STORE_CODEC_TRAIN
	if (c->xm)
		tr_add(0, (const uint16_t *)c->xm, sizeof(*c->xm) / 2);
	if (c->xh)
		tr_add(1, (const uint16_t *)c->xh, sizeof(*c->xh) / 2);
#endif
	unsigned sum_bits = c->sum_bits;
	free(c->m.buf);
	free(c->h.buf);
	free(c->xm);
	free(c->xh);
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

int store_chunk_append(struct store_chunk *c, const struct store_point *p)
{
	if (p->t < c->base || p->t % c->step || (c->npts && p->t / c->step <= c->g.prev_idx))
		return -1;
	if (c->with_hist && p->h.shift > c->hshift)
		return -1;
	if (!c->xm) {
		c->xm = malloc(sizeof(*c->xm));
		if (!c->xm)
			return -1;
		v4main_init(c->xm);
	}
	if (c->with_hist && !c->xh) {
		c->xh = malloc(sizeof(*c->xh));
		if (!c->xh)
			return -1;
		v4hist_init(c->xh);
	}
	/* what the point changes, to put back when the coder runs out of
	 * memory half way: C as it was */
	struct store_v4main xm = *c->xm;
	struct store_v4hist xh = { 0 };
	if (c->xh)
		xh = *c->xh;
	struct store_rc m = c->m, hr = c->h;
	struct store_gorilla g = c->g;
	int32_t h_ref = c->h_ref, h_len = c->h_len;
	uint8_t prev_rep = c->prev_rep;

	int64_t idx = p->t / c->step;
	int single = p->n == 1 && dbits(p->min) == dbits(p->sum) && dbits(p->max) == dbits(p->sum);
	uint64_t sum = single ? dbits(p->sum) : round_mantissa(dbits(p->sum), c->sum_bits);
	struct store_pred next = { 0 };
	struct hist tmp = HIST_INIT;
	const struct hist *hh = NULL;  /* the histogram at the chunk's shift */
	double sum_ratio = c->sum_ratio;
	if (!c->with_hist && c->npts) {
		int same = dbits(p->n) == c->g.prev[0] && sum == c->g.prev[1] && dbits(p->min) == c->g.prev[2] &&
			   dbits(p->max) == c->g.prev[3] && idx - c->g.prev_idx == c->g.prev_delta;
		rc_bit(&c->m, &c->xm->rep[c->prev_rep], (unsigned)same);
		c->prev_rep = (uint8_t)same;
		if (same) {
			c->g.prev_idx = idx;
			goto done;
		}
	}
	if (c->with_hist) {
		const struct hist *h = &p->h;
		if (h->shift < c->hshift && h->n) {
			if (hist_copy(&tmp, h) < 0)
				goto fail;
			hist_collapse(&tmp, c->hshift);
			h = &tmp;
		}
		if (pred_next(&c->pred, h, &next, STORE_CHUNK_V4) < 0)
			goto fail;
		hh = h;
		if (c->npts == 0) {
			rc_direct(&c->h, c->hshift, 3);
			rc_direct(&c->h, c->sum_bits, 6);
		}
		put_hist4(&c->h, c->xh, h, &c->h_ref, &c->h_len, &c->pred);
		if (p->h.n) {
			/* its extreme buckets at the chunk's shift: the references
			 * of min and max */
			struct hist_bucket ends[2] = { h->b[0], h->b[h->n - 1] };
			struct hist view = { ends, 2, 2, c->hshift };
			minmax_refs(&c->g, &view);
		}
	}
	put_ts4(&c->m, c->xm, &c->g, idx);
	rc_bit(&c->m, &c->xm->single[c->g.prev[0] == dbits(1.0) && c->g.prev[1] == c->g.prev[2] &&
				     c->g.prev[1] == c->g.prev[3]], (unsigned)!single);
	if (single) {
		put_val4(&c->m, c->xm, &c->g, 1, dbits(p->sum), 0);
		c->g.prev[0] = dbits(1.0);
		c->g.prev[2] = c->g.prev[3] = dbits(p->sum);
	} else {
		unsigned ch = 0;
		int is_count = c->with_hist && p->n == (double)hist_count(&p->h);
		if (c->with_hist)
			rc_bit(&c->m, &c->xm->is_count, (unsigned)is_count);
		if (is_count)
			c->g.prev[0] = dbits(p->n);
		else
			ch = put_val4(&c->m, c->xm, &c->g, 0, dbits(p->n), 0);
		double est = 0;
		uint64_t pu = hh ? sum_pred(hh, c->hshift, c->sum_ratio, c->sum_bits, &est) : 0;
		if (pu) {
			/* a positive double whose bits are PU's plus a multiple of the last bit kept */
			uint64_t unit = (uint64_t)1 << (52 - c->sum_bits);
			int64_t dd = (int64_t)(sum - pu);
			unsigned ok = !(sum >> 63) && sum && ((sum >> 52) & 0x7ff) != 0x7ff && !(sum & (unit - 1));
			rc_bit(&c->m, &c->xm->sum_est, ok);
			if (ok) {
				put_iu(&c->m, &c->xm->iest, zigzag(dd / (int64_t)unit));
				ch = sum != c->g.prev[1];
				c->g.prev[1] = sum;
			} else {
				ch = put_val4(&c->m, c->xm, &c->g, 1, sum, ch);
			}
		} else {
			ch = put_val4(&c->m, c->xm, &c->g, 1, sum, ch);
		}
		if (hh) {
			if (!pu)
				est = hist_est(hh, c->hshift);
			if (est > 0 && bitsd(sum) > 0 && isfinite(bitsd(sum)))
				c->sum_ratio = bitsd(sum) / est;
		}
		ch = put_val4(&c->m, c->xm, &c->g, 2, dbits(p->min), ch);
		put_val4(&c->m, c->xm, &c->g, 3, dbits(p->max), ch);
	}
done:
	if (c->m.fail || c->h.fail)
		goto fail;
	if (c->with_hist) {
		pred_free(&c->pred);
		c->pred = next;
	}
	hist_free(&tmp);
	c->npts++;
	return 0;
fail:
	/* the buffers may have moved: keep the new ones, at the old lengths */
	m.buf = c->m.buf;
	m.cap = c->m.cap;
	hr.buf = c->h.buf;
	hr.cap = c->h.cap;
	c->m = m;
	c->h = hr;
	*c->xm = xm;
	if (c->xh)
		*c->xh = xh;
	c->g = g;
	c->sum_ratio = sum_ratio;
	c->h_ref = h_ref;
	c->h_len = h_len;
	c->prev_rep = prev_rep;
	pred_free(&next);
	hist_free(&tmp);
	return -1;
}

size_t store_chunk_size(const struct store_chunk *c)
{
	uint8_t tmp[10];
	size_t ml = rc_size(&c->m), hl = c->with_hist ? rc_size(&c->h) : 0;
	return varint_put(tmp, c->npts) + varint_put(tmp, ml) + ml + varint_put(tmp, c->with_hist ? hl + 1 : 0) + hl;
}

void store_chunk_write(const struct store_chunk *c, uint8_t *buf)
{
	size_t n = varint_put(buf, c->npts);
	n += varint_put(buf + n, rc_size(&c->m));
	n += rc_write(&c->m, buf + n);
	if (!c->with_hist) {
		varint_put(buf + n, 0);
		return;
	}
	n += varint_put(buf + n, rc_size(&c->h) + 1);
	rc_write(&c->h, buf + n);
}

size_t store_chunk_mem(const struct store_chunk *c)
{
	return c->m.cap + c->h.cap + (c->xm ? sizeof(*c->xm) : 0) + (c->xh ? sizeof(*c->xh) : 0) +
	       (size_t)c->pred.cap * (sizeof(*c->pred.ord) + sizeof(*c->pred.ema));
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

/* Version 4 (store_chunk_decode's header read: NPTS points, the points'
 * stream M of ML bytes, the histograms' H of HL, when WITH_HIST). */
static int decode_v4(const uint8_t *m, size_t ml, const uint8_t *hb, size_t hl, int with_hist, uint64_t npts,
		     int64_t base, unsigned step, struct store_point **out, size_t *n)
{
	/* a point takes at least one decision, and a decision at least
	 * -log2(4095/4096) bits: about 2,900 points a bit at most (a
	 * window holds at most 60 points; this only keeps garbage from
	 * allocating much) */
	if (npts > ((uint64_t)ml + 8) * 8 * 2900)
		return -1;
	struct store_point *pts = calloc(npts ? npts : 1, sizeof(*pts));
	struct store_v4main *xm = malloc(sizeof(*xm));
	struct store_v4hist *xh = with_hist ? malloc(sizeof(*xh)) : NULL;
	struct store_pred pred = { 0 }, spare = { 0 };
	if (!pts || !xm || (with_hist && !xh))
		goto bad;
	v4main_init(xm);
	if (xh)
		v4hist_init(xh);
	struct rcd d, h;
	rcd_init(&d, m, ml);
	rcd_init(&h, hb, hl);
	unsigned hshift = 0, sum_bits = 0;
	double sum_ratio = 0;
	if (with_hist && npts) {
		hshift = (unsigned)rcd_direct(&h, 3);
		sum_bits = (unsigned)rcd_direct(&h, 6);
		if (hshift > HIST_SHIFT_MAX || sum_bits >= 52)
			goto bad;
	}
	struct store_gorilla g;
	g_init(&g, base, step);
	int32_t href = 0, hlen = 0;
	unsigned prev_rep = 0;
	int64_t last_idx = base / step - 1;
	for (uint64_t i = 0; i < npts; i++) {
		struct store_point *q = &pts[i];
		if (!with_hist && i) {
			unsigned rep = rcd_bit(&d, &xm->rep[prev_rep]);
			prev_rep = rep;
			if (rep) {
				/* garbage may hold any delta: no overflow, no going back */
				if (g.prev_delta <= 0 || g.prev_idx > INT64_MAX / (int64_t)step - g.prev_delta)
					goto bad;
				g.prev_idx += g.prev_delta;
				*q = pts[i - 1];
				q->t = g.prev_idx * (int64_t)step;
				last_idx = g.prev_idx;
				if (d.bad)
					goto bad;
				continue;
			}
		}
		if (with_hist) {
			if (get_hist4(&h, xh, &q->h, &href, &hlen, &pred) < 0)
				goto bad;
			/* the next predictor into the spare, which becomes the
			 * spare again after: no allocation a point */
			if (pred_next(&pred, &q->h, &spare, STORE_CHUNK_V4) < 0)
				goto bad;
			struct store_pred t = pred;
			pred = spare;
			spare = t;
			q->h.shift = hshift;
			minmax_refs(&g, &q->h);
		}
		unsigned was_single = g.prev[0] == dbits(1.0) && g.prev[1] == g.prev[2] && g.prev[1] == g.prev[3];
		int64_t idx = get_ts4(&d, xm, &g);
		if (d.bad || idx <= last_idx || idx > INT64_MAX / step)
			goto bad;
		last_idx = idx;
		q->t = idx * (int64_t)step;
		if (!rcd_bit(&d, &xm->single[was_single])) {
			unsigned ch = 0;
			q->n = 1;
			q->sum = q->min = q->max = bitsd(get_val4(&d, xm, &g, 1, &ch));
			g.prev[0] = dbits(1.0);
			g.prev[2] = g.prev[3] = g.prev[1];
		} else {
			unsigned ch = 0;
			if (with_hist && rcd_bit(&d, &xm->is_count)) {
				q->n = (double)hist_count(&q->h);
				g.prev[0] = dbits(q->n);
			} else {
				q->n = bitsd(get_val4(&d, xm, &g, 0, &ch));
			}
			double est = 0;
			uint64_t pu = with_hist ? sum_pred(&q->h, hshift, sum_ratio, sum_bits, &est) : 0;
			if (pu && rcd_bit(&d, &xm->sum_est)) {
				uint64_t unit = (uint64_t)1 << (52 - sum_bits);
				int64_t dd = unzigzag(get_iu(&d, &xm->iest));
				if (dd > (INT64_MAX >> (52 - sum_bits)) || dd < -(INT64_MAX >> (52 - sum_bits)))
					goto bad;
				uint64_t v = pu + (uint64_t)(dd * (int64_t)unit);
				if ((v >> 63) || !v || ((v >> 52) & 0x7ff) == 0x7ff)
					goto bad;
				ch = v != g.prev[1];
				g.prev[1] = v;
				q->sum = bitsd(v);
			} else {
				q->sum = bitsd(get_val4(&d, xm, &g, 1, &ch));
			}
			if (with_hist) {
				if (!pu)
					est = hist_est(&q->h, hshift);
				if (est > 0 && q->sum > 0 && isfinite(q->sum))
					sum_ratio = q->sum / est;
			}
			q->min = bitsd(get_val4(&d, xm, &g, 2, &ch));
			q->max = bitsd(get_val4(&d, xm, &g, 3, &ch));
		}
		if (d.bad || h.bad)
			goto bad;
	}
	if (d.bad || h.bad)
		goto bad;
	free(xm);
	free(xh);
	pred_free(&pred);
	pred_free(&spare);
	*out = pts;
	*n = (size_t)npts;
	return 0;
bad:
	free(xm);
	free(xh);
	pred_free(&pred);
	pred_free(&spare);
	store_points_free(pts, (size_t)npts);
	return -1;
}

int store_chunk_decode(const uint8_t *buf, size_t len, unsigned version, int64_t base, unsigned step,
		       struct store_point **out, size_t *n)
{
	const uint8_t *p = buf, *end = buf + len;
	uint64_t npts, nbits, hbits;
	*out = NULL;
	*n = 0;
	if (step == 0 || version < STORE_CHUNK_V1 || version > STORE_CHUNK_V4 ||
	    varint_get(&p, end, &npts) < 0 || varint_get(&p, end, &nbits) < 0)
		return -1;
	if (version == STORE_CHUNK_V4) {
		/* nbits is the points' stream's bytes; then 0, or its
		 * histograms' bytes + 1 */
		uint64_t hl;
		const uint8_t *m = p;
		if (nbits > (uint64_t)(end - p) || npts > 86400 * 7)
			return -1;
		p += nbits;
		if (varint_get(&p, end, &hl) < 0 || (hl ? hl - 1 : 0) != (uint64_t)(end - p))
			return -1;
		return decode_v4(m, (size_t)nbits, p, hl ? (size_t)(hl - 1) : 0, hl != 0, npts, base, step, out, n);
	}
	if (nbits / 8 > (uint64_t)(end - p) || (nbits + 7) / 8 > (uint64_t)(end - p))
		return -1;
	/* every point takes at least 3 bits (version 1), or a run of them at
	 * least 2 (version 2, which refuses runs longer than a block window) */
	if (version == STORE_CHUNK_V1 ? npts > nbits / 3 : npts > 86400 * 7)
		return -1;
	int predict = step >= pred_min_step(version);
	struct bitr r = { p, 0, nbits, 0 };
	p += (nbits + 7) / 8;
	/* hbits / 8 first: a varint near 2^64 would wrap hbits + 7 */
	if (varint_get(&p, end, &hbits) < 0 || hbits / 8 > (uint64_t)(end - p) ||
	    (hbits + 7) / 8 != (uint64_t)(end - p))
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
