/* store_budget.c - the store's memory and disk for 100 target groups of 10
 * targets under steady traffic, over CloudWatch's whole ladder.
 *
 *   make store-budget        (or tests/bench/store_budget [scale [sigma]])
 *
 * The fleet, as albd publishes it (src/core/metrics.def): per target group
 * 14 series (TargetResponseTime with histograms at every resolution, 13
 * counts and gauges), per target 10 (TargetResponseTime with STORE_HIST |
 * STORE_HIST_COARSE, 9 counts), 23 for the load balancer: 100 x 14 +
 * 1000 x 10 + 23 = 11,423 series. Each target serves about 10 requests a
 * second with lognormal latencies (median 20 ms, sigma 0.5 or the second
 * argument) and a 1% tail near 400 ms; every series gets a put every
 * second (zero counts are put too, as albd does).
 *
 * 455 days of 11,423 series second by second cannot be simulated here, so
 * a sample of the fleet (SCALE target groups, 10 by default: 1,130 series)
 * runs on the injected clock:
 *   phase A: 2 hours second by second (every put as in production): the
 *            1 s and 60 s blocks, and the memory with every head window
 *            as full as it gets (1 s: a minute, 60 s: an hour; 300 s and
 *            3600 s have none: they come by roll-up);
 *   phase B: 3 days more, one put per series and minute carrying the
 *            minute's aggregate (n, sum, min, max, histogram), which gives
 *            the 60 s points the same content as per-second puts would;
 *   phase C: 64 days with no puts, a tick a minute: the 60 s blocks roll
 *            up into 300 s blocks as they pass 15 days, those into
 *            3600 s blocks at 63 days (store.c, "roll-up"), as in
 *            production.
 * The bytes of each block's chunks, per resolution and class of series
 * (plain, by kind; histograms at every resolution; histograms from 60 s),
 * plus each entry's share of its block's header and index (a few bytes:
 * version 2's varint index), divided by the points they hold, give bytes
 * per point b(c, r); a chunk written once for several series (version 2
 * blocks share identical chunks) counts for the first of them only. The
 * disk for the fleet is then
 *   sum over classes c and resolutions r of series(c) x points(r) x b(c, r)
 * with points(r) what a series holds at resolution r at the fullest
 * (ladder_points: no time is kept at two of 60 s, 300 s and 3600 s) =
 * 10,860, 21,720, 14,112, 9,432.
 * The store writes histograms collapsed to store_hist_shift() and the sum
 * of a latency point to 20 bits of mantissa (store.h): b(c, r) is at the
 * accuracy the README states. Memory is counted by the allocator
 * (mallinfo2), per series of the sample, at the fullest moment of phase
 * A, plus a roll-up's block while it is made (24 points a series).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/control/store.c"

#define T0 1700006400

/* the fleet: 100 target groups of 10 targets (see make_fleet) */
#define FLEET_PLAIN (22 + 100 * 13 + 1000 * 9)
#define FLEET_HIST (1 + 100)
#define FLEET_HIST_COARSE 1000
#define FLEET_SERIES (FLEET_PLAIN + FLEET_HIST + FLEET_HIST_COARSE)

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
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

static unsigned poisson(double lambda)
{
	if (lambda > 30)
		return (unsigned)fmax(0, lambda + sqrt(lambda) * nrand() + 0.5);
	double l = exp(-lambda), p = 1;
	unsigned k = 0;
	do {
		k++;
		p *= urand();
	} while (p > l);
	return k - 1;
}

/* the spread of the latencies (lognormal sigma): 0.5 by default, a wide
 * spread (the middle 95% within a factor of 7); 0.1 for a steady target
 * (within +-20%) */
static double sigma = 0.5;

static double latency(void)
{
	if (urand() < 0.01)
		return 0.4 * exp(0.3 * nrand());
	return 0.02 * exp(sigma * nrand());
}

enum kind { K_COUNT, K_ZERO, K_RARE, K_GAUGE, K_ONE, K_LAT };
enum cls { C_PLAIN, C_HIST, C_HIST_COARSE, NCLS };
static const char *const cls_name[NCLS] = { "plain", "histogram (all resolutions)",
					    "histogram (60 s and up)" };

struct sim {
	struct store_series *s;
	enum kind kind;
	double rate;   /* requests a second behind it */
	enum cls cls;
};

static struct sim *sims;
static size_t nsims;

static void add(struct store *st, const char *metric, const char *tg, const char *target, enum kind k,
		double rate)
{
	struct store_dim d[3];
	size_t nd = 0;
	d[nd++] = (struct store_dim){ "LoadBalancer", "app/albd/1" };
	if (tg)
		d[nd++] = (struct store_dim){ "TargetGroup", tg };
	if (target)
		d[nd++] = (struct store_dim){ "Target", target };
	unsigned flags = 0;
	enum cls c = C_PLAIN;
	if (k == K_LAT) {
		flags = target ? STORE_HIST | STORE_HIST_COARSE : STORE_HIST;
		c = target ? C_HIST_COARSE : C_HIST;
	}
	struct store_series *s = store_series(st, "AWS/ApplicationELB", metric, d, nd, "None", flags);
	if (!s) {
		fprintf(stderr, "store_series failed\n");
		exit(1);
	}
	sims[nsims++] = (struct sim){ s, k, rate, c };
}

static void make_fleet(struct store *st, int ntg)
{
	/* albd's own mix (src/core/metrics.def): the load balancer 23 series
	 * (TargetResponseTime, 22 counts and levels), a target group 14
	 * (TargetResponseTime, RequestCount and its status classes, errors,
	 * retries, host counts, fail open), a target 10 (TargetResponseTime
	 * from 60 s, RequestCount, status classes, errors, health checks) */
	sims = calloc((size_t)ntg * 120 + 30, sizeof(*sims));
	char name[64], m[64];
	for (int k = 0; k < 23; k++) {
		snprintf(m, sizeof(m), "LbMetric%02d", k);
		add(st, m, NULL, NULL, k == 0 ? K_LAT : k < 9 ? K_COUNT : k < 18 ? K_ZERO : k < 21 ? K_RARE : K_GAUGE,
		    ntg * 100.0);
	}
	for (int g = 0; g < ntg; g++) {
		char tg[64];
		snprintf(tg, sizeof(tg), "targetgroup/tg%03d/%08x", g, (unsigned)(g * 2654435761u));
		for (int k = 0; k < 14; k++) {
			snprintf(m, sizeof(m), "TgMetric%02d", k);
			enum kind kind = k < 1 ? K_LAT : k < 5 ? K_COUNT : k < 9 ? K_ZERO : k < 11 ? K_RARE :
						k < 13 ? K_GAUGE : K_ONE;
			add(st, m, tg, NULL, kind, 100);
		}
		for (int t = 0; t < 10; t++) {
			snprintf(name, sizeof(name), "10.0.%d.%d:8080", g, t);
			static const enum kind tk[10] = { K_LAT,  K_COUNT, K_COUNT, K_ZERO, K_ZERO,
							  K_ZERO, K_RARE,  K_RARE,  K_ONE,  K_ONE };
			for (int k = 0; k < 10; k++) {
				snprintf(m, sizeof(m), "TargetMetric%d", k);
				add(st, m, tg, name, tk[k], 10);
			}
		}
	}
}

/* One second of S at T. */
static void put_second(struct sim *x, int64_t t)
{
	switch (x->kind) {
	case K_COUNT:
		store_put_events(x->s, t, poisson(x->rate));
		break;
	case K_ZERO:
		store_put_events(x->s, t, 0);
		break;
	case K_RARE:
		store_put_events(x->s, t, poisson(x->rate * 0.001));
		break;
	case K_GAUGE:
		store_put(x->s, t, floor(x->rate * 0.5 + sqrt(x->rate) * nrand()));
		break;
	case K_ONE:
		store_put(x->s, t, 1);
		break;
	case K_LAT: {
		struct hist h = HIST_INIT;
		unsigned n = poisson(x->rate);
		double sum = 0;
		for (unsigned i = 0; i < n; i++) {
			double v = latency();
			hist_add(&h, v, 1);
			sum += v;
		}
		store_put_hist(x->s, t, &h, sum);
		hist_free(&h);
		break;
	}
	}
}

/* One minute of S at T, as three puts whose aggregate is what sixty
 * per-second puts would give (n, sum, min, max; all samples for latencies). */
static void put_minute(struct sim *x, int64_t t)
{
	if (x->kind == K_LAT) {
		struct hist h = HIST_INIT;
		unsigned n = poisson(x->rate * 60);
		double sum = 0;
		for (unsigned i = 0; i < n; i++) {
			double v = latency();
			hist_add(&h, v, 1);
			sum += v;
		}
		store_put_hist(x->s, t, &h, sum);
		hist_free(&h);
		return;
	}
	double v[60], sum = 0, mn = INFINITY, mx = -INFINITY;
	for (int i = 0; i < 60; i++) {
		switch (x->kind) {
		case K_COUNT: v[i] = poisson(x->rate); break;
		case K_ZERO: v[i] = 0; break;
		case K_RARE: v[i] = poisson(x->rate * 0.001); break;
		case K_GAUGE: v[i] = floor(x->rate * 0.5 + sqrt(x->rate) * nrand()); break;
		default: v[i] = 1;
		}
		sum += v[i];
		mn = fmin(mn, v[i]);
		mx = fmax(mx, v[i]);
	}
	if (x->kind == K_COUNT || x->kind == K_RARE || x->kind == K_ZERO) {
		/* event counts as albd puts them (store_put_events, a point a
		 * second): a minute with no quiet second in one put of its
		 * total (the same point but for n, 1 instead of 60: a
		 * constant either way), else second by second */
		if (mn > 0) {
			store_put_events(x->s, t, sum);
			return;
		}
		for (int i = 0; i < 60; i++)
			store_put_events(x->s, t, v[i]);
		return;
	}
	if (mn == mx) {
		store_put_n(x->s, t, mn, 60);
		return;
	}
	store_put(x->s, t, mn);
	store_put(x->s, t, mx);
	store_put_n(x->s, t, (sum - mn - mx) / 58, 58);
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* The points a series has on disk at the fullest, per resolution: 1 s
 * for 3 hours (and the minute being written); 60 s for 15 days and up to
 * 2 hours more (a block leaves with its 300 s window); 300 s from then to
 * 63 days and up to a day more; 3600 s from then to 455 days and a day
 * (store.c, "roll-up"). */
static const double ladder_points[STORE_NRES] = {
	10800 + 60,
	15 * 1440 + 120,
	48 * 288 + 288,
	392 * 24 + 24,
};

/* bytes and points of chunks, per resolution and class, from the blocks */
static double bytes[STORE_NRES][NCLS], points[STORE_NRES][NCLS], files_bytes[STORE_NRES];
static double hbytes[STORE_NRES][NCLS];  /* of which the histograms' bit stream */
/* plain series by kind (counts, zeros, rare counts, gauges, ones) */
static double kbytes[STORE_NRES][K_LAT], kpoints[STORE_NRES][K_LAT];
static enum kind *kind_of;  /* by series id */
static const char *const kind_name[K_LAT] = { "counts (10/s, 100/s)", "always 0", "rare (0.01/s)",
					      "gauges", "always 1" };
/* in the fleet (make_fleet's mix for 100 groups) */
static const double fleet_kind[K_LAT] = { 8 + 100 * 4 + 1000 * 2, 9 + 100 * 4 + 1000 * 3, 3 + 100 * 2 + 1000 * 2,
					  2 + 100 * 2, 100 + 1000 * 2 };
static size_t nfiles[STORE_NRES];
static enum cls *cls_of;  /* by series id */

static void account_blocks(struct store *st, int r)
{
	for (size_t i = 0; i < st->nblk[r];) {
		struct bview v;
		if (bview_open(st, r, i, &v) < 0) {
			i++;
			continue;
		}
		files_bytes[r] += (double)v.len;
		nfiles[r]++;
		struct bentry *e;
		long ne = bview_list(&v, &e);
		/* the header and index shared out by series: its entry, a few bytes */
		double per_entry = ne > 0 ? (double)(BLK_HDR + v.ilen) / (double)ne : 0;
		for (long k = 0; k < ne; k++) {
			enum cls c = cls_of[e[k].id];
			const uint8_t *q = e[k].p;
			uint64_t npts = 0, nbits = 0;
			varint_get(&q, e[k].p + e[k].len, &npts);
			varint_get(&q, e[k].p + e[k].len, &nbits);
			/* version 4: nbits is the points' stream's bytes */
			if (e[k].own)
				hbytes[r][c] += (double)(e[k].p + e[k].len - q) -
						(v.version >= 4 ? (double)nbits : (double)(nbits + 7) / 8);
			/* a chunk written once for several series counts for the first */
			bytes[r][c] += (double)e[k].own + per_entry;
			if (c == C_PLAIN) {
				kbytes[r][kind_of[e[k].id]] += (double)e[k].own + per_entry;
				kpoints[r][kind_of[e[k].id]] += (double)npts;
			}
			points[r][c] += (double)npts;
		}
		free(e);
		bview_close(&v);
		i++;
	}
}

/* where the memory is: chunk buffers, open points, their histograms */
static void breakdown(struct store *st)
{
	double chunk[STORE_NRES] = { 0 }, used[STORE_NRES] = { 0 }, open = 0, openh = 0;
	size_t nres = 0;
	for (size_t i = 0; i < st->nall; i++) {
		struct store_series *s = st->all[i];
		if (!s || !s->res)
			continue;
		nres++;
		for (int r = 0; r < STORE_NRES; r++) {
			const struct store_chunk *c = &s->res[r].c;
			/* the coders' buffers and their models */
			chunk[r] += (double)store_chunk_mem(c);
			used[r] += (double)(c->m.len + c->h.len);
			open += (double)s->res[r].capopen * sizeof(struct store_point);
			for (uint32_t k = 0; k < s->res[r].nopen; k++)
				openh += (double)s->res[r].open[k].h.cap * sizeof(struct hist_bucket);
		}
	}
	printf("  in memory: %zu series with data (%zu bytes of struct sres each); chunks allocated/used (KB):",
	       nres, STORE_NRES * sizeof(struct sres));
	for (int r = 0; r < STORE_NRES; r++)
		printf(" %.0f/%.0f", chunk[r] / 1e3, used[r] / 1e3);
	printf("; open points %.0f KB, their histograms %.0f KB\n", open / 1e3, openh / 1e3);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int ntg = argc > 1 ? atoi(argv[1]) : 10;
	if (argc > 2)
		sigma = atof(argv[2]);
	if (ntg < 1 || ntg > 100 || !(sigma > 0 && sigma < 5)) {
		fprintf(stderr, "usage: store_budget [target groups in the sample, 1..100 [latency sigma, 0.5]]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_LVL_WARN);
	store_nosync = 1;
	char dir[] = "/tmp/albd-store-budget-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char err[256];
	int64_t now = T0;
	size_t heap0 = heap_bytes();
	struct store *st = store_open(dir, now, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	make_fleet(st, ntg);
	size_t ns = nsims;
	size_t ncls[NCLS] = { 0 };
	cls_of = calloc(ns, sizeof(*cls_of));
	kind_of = calloc(ns, sizeof(*kind_of));
	for (size_t i = 0; i < ns; i++) {
		cls_of[sims[i].s->id] = sims[i].cls;
		kind_of[sims[i].s->id] = sims[i].kind;
		ncls[sims[i].cls]++;
	}
	size_t heap_ident = heap_bytes() - heap0;
	printf("sample: %d target groups, %zu series (%zu plain, %zu with histograms, %zu with histograms from 60 s)\n",
	       ntg, ns, ncls[0], ncls[1], ncls[2]);

	/* phase A: two hours, second by second */
	double w0 = now_s();
	size_t peak = 0;
	int64_t peak_at = 0;
	size_t ckpt_max = 0;
	for (int i = 0; i < 7200; i++) {
		for (size_t k = 0; k < ns; k++)
			put_second(&sims[k], now);
		now++;
		store_tick(st, now);
		if (now - T0 == 7199)
			breakdown(st);
		if (now % 60 == 59 || now % 3600 == 3599) {
			size_t h = heap_bytes() - heap0;
			if (h > peak) {
				peak = h;
				peak_at = now - T0;
			}
		}
		if (st->last_ckpt == st->now) {
			char p[600];
			snprintf(p, sizeof(p), "%s/head.ckpt", dir);
			struct stat sb;
			if (stat(p, &sb) == 0 && (size_t)sb.st_size > ckpt_max)
				ckpt_max = (size_t)sb.st_size;
		}
	}
	double wa = now_s() - w0;
	printf("phase A: 2 h second by second: %.1f s (%.2f us a put)\n", wa, wa * 1e6 / (7200.0 * (double)ns));
	account_blocks(st, 0);
	account_blocks(st, 1);

	/* phase B: three days, a put a minute */
	w0 = now_s();
	int64_t endb = now + 3 * 86400;
	while (now < endb) {
		for (size_t k = 0; k < ns; k++)
			put_minute(&sims[k], now);
		now += 60;
		st->last_ckpt = now;  /* no checkpoints: they would measure nothing new */
		store_tick(st, now);
	}
	printf("phase B: 3 days a minute at a time: %.1f s\n", now_s() - w0);
	/* 60 s blocks of phase B have the same content as A's: count them again */
	memset(bytes[1], 0, sizeof(bytes[1]));
	memset(points[1], 0, sizeof(points[1]));
	memset(hbytes[1], 0, sizeof(hbytes[1]));
	memset(kbytes[1], 0, sizeof(kbytes[1]));
	memset(kpoints[1], 0, sizeof(kpoints[1]));
	files_bytes[1] = 0;
	nfiles[1] = 0;
	account_blocks(st, 1);
	if (st->nblk[2] || st->nblk[3]) {
		fprintf(stderr, "300 s or 3600 s blocks before any roll-up was due\n");
		return 1;
	}
	/* phase C: no puts; the 60 s blocks roll up into 300 s blocks when
	 * they are 15 days old, those into 3600 s blocks at 63 days, a slice
	 * a tick (ROLLUP_POINTS) */
	w0 = now_s();
	double slowest = 0;
	int64_t endc = now + 16 * 86400;
	for (int phase = 2; phase <= 3; phase++) {
		while (now < endc) {
			now += 60;
			st->last_ckpt = now;
			double t0 = now_s();
			store_tick(st, now);
			double dt = now_s() - t0;
			if (st->ru.src && dt > slowest)
				slowest = dt;
		}
		account_blocks(st, phase);
		endc = now + 48 * 86400;
	}
	printf("phase C: 64 days of roll-ups: %.1f s; the longest tick with a roll-up: %.1f ms"
	       " (for the sample; ROLLUP_POINTS a tick bounds it for any fleet)\n", now_s() - w0, slowest * 1e3);

	double full_cls[NCLS] = { 0 }, bpp[STORE_NRES][NCLS];
	const double fleet_cls[NCLS] = { FLEET_PLAIN, FLEET_HIST, FLEET_HIST_COARSE };
	printf("\nbytes per point (chunk bytes and the series' share of block headers and indexes / points):\n");
	printf("  %-32s %10s %10s %10s %10s\n", "class", "1 s", "60 s", "300 s", "3600 s");
	for (int c = 0; c < NCLS; c++) {
		printf("  %-32s", cls_name[c]);
		for (int r = 0; r < STORE_NRES; r++) {
			bpp[r][c] = points[r][c] ? bytes[r][c] / points[r][c] : 0;
			printf(" %10.2f", bpp[r][c]);
			full_cls[c] += ladder_points[r] * bpp[r][c];
		}
		printf("\n");
		if (c == C_PLAIN) {
			for (int k = 0; k < K_LAT; k++) {
				double full = 0;
				printf("    %-30s", kind_name[k]);
				for (int r = 0; r < STORE_NRES; r++) {
					double b = kpoints[r][k] ? kbytes[r][k] / kpoints[r][k] : 0;
					printf(" %10.2f", b);
					full += ladder_points[r] * b;
				}
				printf("   %5.0f series: %6.1f MB\n", fleet_kind[k], full * fleet_kind[k] / 1e6);
			}
			continue;
		}
		printf("  %-32s", "  of which histograms");
		for (int r = 0; r < STORE_NRES; r++)
			printf(" %10.2f", points[r][c] ? hbytes[r][c] / points[r][c] : 0);
		printf("\n");
	}
	printf("\ndisk per series over the whole ladder (%.0f + %.0f + %.0f + %.0f points):\n", ladder_points[0],
	       ladder_points[1], ladder_points[2], ladder_points[3]);
	double disk = 0;
	for (int c = 0; c < NCLS; c++) {
		printf("  %-32s %10.0f bytes  x %6.0f series = %8.1f MB\n", cls_name[c], full_cls[c], fleet_cls[c],
		       full_cls[c] * fleet_cls[c] / 1e6);
		disk += full_cls[c] * fleet_cls[c];
	}
	printf("  disk for 100 target groups x 10 targets: %.0f MB (budget 2,000 MB)\n", disk / 1e6);

	/* memory: the fullest moment of phase A per series, plus a roll-up's
	 * block while it is made (the larger, 3600 s: 24 points a series) */
	double rolling = 0;
	for (int c = 0; c < NCLS; c++)
		rolling += 24 * fmax(bpp[2][c], bpp[3][c]) * (double)ncls[c];
	double per_series = ((double)peak + rolling) / (double)ns;
	printf("\nmemory (allocator bytes): identities %.0f bytes a series; fullest in phase A %.1f MB at +%llds"
	       " for %zu series;\n  + a roll-up's block while it is made %.1f MB: %.0f bytes a series;"
	       " for %d series: %.1f MB (budget 64 MB)\n",
	       (double)heap_ident / (double)ns, (double)peak / 1e6, (long long)peak_at, ns, rolling / 1e6,
	       per_series, FLEET_SERIES, per_series * FLEET_SERIES / 1e6);
	printf("  the checkpoint (largest in phase A): %.2f MB for the sample, %.1f MB for the fleet,"
	       " written once a minute\n", (double)ckpt_max / 1e6, (double)ckpt_max * FLEET_SERIES / (double)ns / 1e6);
	printf("  (streamed to its file through a buffer of about 1 MB: no transient of its size)\n");

	/* a 15-day query of one series with histograms over the sample's blocks */
	store_close(st);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
