/* store.h - the time-series store: CloudWatch's retention ladder, its
 * statistics, on disk in state_dir.
 *
 * A series is (namespace, metric name, dimensions), and for a user's
 * metric (a namespace not starting with "AWS/") its unit too: data put with
 * two units is two series, as CloudWatch keeps every datum's unit (a query
 * asks for one unit, or for all of them: store_find_units()). Every point holds
 * SampleCount, Sum, Minimum and Maximum of what was put in its period, and
 * for series made with STORE_HIST a histogram (core/histogram.h) for
 * percentiles. Points are kept at four resolutions, as CloudWatch does:
 *   1 s for 3 hours, 60 s for 15 days, 300 s for 63 days, 3600 s for 455 days.
 * Puts make the 1 s and 60 s points. As CloudWatch documents it, data
 * older than 15 days is "aggregated and retrievable only with a
 * resolution of 5 minutes", and after 63 days of 1 hour: 60 s blocks roll
 * up into 300 s blocks when they pass 15 days, 300 s blocks into 3600 s
 * blocks at 63 days, so no time is kept twice (store.c, "roll-up"); a
 * query for 300 s or 3600 s periods reads the coarse blocks and the finer
 * data after them.
 * Recent points are in memory; older blocks are on disk under DIR in a
 * compact encoding, read on demand; what is in memory is written out
 * (atomically) at least once a minute and by store_close(), and read back
 * by store_open(). A corrupt or truncated file is logged and set aside,
 * never fatal. A write that fails loses nothing: a block is kept in
 * memory (and in the checkpoint) and retried, up to a bound (store.c,
 * "unsaved blocks"); a missing DIR is made again.
 *
 * Time is whole seconds since the epoch, always passed in by the caller
 * (no clock is read here): tests drive the store with any time they like.
 * Periods are aligned to multiples of their length since the epoch.
 *
 * Thread: every function is for one thread (the control thread); nothing
 * here is shared with the workers.
 */
#ifndef ALBD_STORE_H
#define ALBD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/histogram.h"

/* series flags */
#define STORE_HIST        0x1  /* keep a histogram in every point: percentiles */
#define STORE_HIST_COARSE 0x2  /* with STORE_HIST: no histogram at the 1 s resolution */

/* Accuracy of percentiles. A histogram is DDSketch's (core/histogram.h):
 * a percentile is within a relative error alpha of a sample that really
 * has its rank (nearest rank; ranks are exact). What is in memory (the
 * open period of every resolution) is at alpha = 1%; what is written
 * (head chunks, blocks) is collapsed to the shift store_hist_shift()
 * gives, to fit the disk budget (README, "Metrics", "Budget"):
 *
 *   series                               1 s     60 s    300 s   3600 s
 *   STORE_HIST (load balancer, target     1%      1%      2%      2%
 *     groups, custom metrics)
 *   STORE_HIST | STORE_HIST_COARSE        -       4%     16%     16%
 *     (per target)
 *
 * (2% is 1.9998%, 4% 3.998%, 16% 15.865%: hist_alpha()). A datapoint merged
 * from points of different accuracies has the coarsest of them. SampleCount,
 * Sum, Minimum and Maximum are kept as they were put (a user's exactly; a
 * latency's Minimum and Maximum are its extreme buckets' values at 1%, its
 * Sum to 20 bits of mantissa, store.c's HIST_SUM_BITS); store_stat()
 * answers them consistent with each other. */

/* the resolutions, finest first */
#define STORE_NRES 4
extern const unsigned store_res_step[STORE_NRES];   /* 1, 60, 300, 3600 */
extern const int64_t store_res_keep[STORE_NRES];    /* seconds kept: 3 h, 15 d, 63 d, 455 d */

/* The shift (histogram.h: hist_alpha(shift) is the relative accuracy) of
 * the histograms written at resolution R for a series with FLAGS; 0
 * without STORE_HIST. Thread: any. */
unsigned store_hist_shift(unsigned flags, int r);

struct store_dim {
	const char *name;
	const char *value;
};

struct store;
struct store_series;

/* Open the store in directory DIR (created if missing, mode 0750), loading
 * what an earlier run wrote there; DIR NULL: memory only (tests). NOW: the
 * current time. Returns NULL with a message in ERR when DIR cannot be
 * created or written. */
struct store *store_open(const char *dir, int64_t now, char *err, size_t errlen);

/* Write out what is in memory, then free everything. NULL is ignored. */
void store_close(struct store *st);

/* Find or create a series. DIMS (at most 30, in any order; the store keeps
 * them sorted by name) are copied; UNIT is CloudWatch's ("Count",
 * "Seconds", "Bytes", "None", ...; NULL: "None"). Outside the "AWS/"
 * namespaces the unit is part of the identity: another unit is another
 * series. An "AWS/" series that exists keeps its flags and its one unit
 * whatever UNIT says. Returns NULL when out of memory. */
struct store_series *store_series(struct store *st, const char *ns, const char *metric,
				  const struct store_dim *dims, size_t ndims, const char *unit,
				  unsigned flags);

/* Find a series (in memory or on disk) without creating it; NULL: none.
 * Of a metric with data in several units: the first one made. */
struct store_series *store_find(struct store *st, const char *ns, const char *metric,
				const struct store_dim *dims, size_t ndims);

/* A metric's series have at most this many units (CloudWatch has 27). */
#define STORE_MAX_UNITS 32
/* The series of (NS, METRIC, DIMS) with unit UNIT (NULL: of every unit),
 * the first made first, into OUT[0..MAX) (the store's: valid until it is
 * closed). Returns how many were put there (0: none). */
size_t store_find_units(struct store *st, const char *ns, const char *metric, const struct store_dim *dims,
			size_t ndims, const char *unit, struct store_series **out, size_t max);
/* Is S the first (made) of its metric's series, one per unit, that has a
 * point newer than SINCE? ListMetrics lists a metric once, whatever its
 * units. */
int store_series_listed(const struct store_series *s, int64_t since);

/* The series' identity. */
const char *store_series_ns(const struct store_series *s);
const char *store_series_metric(const struct store_series *s);
size_t store_series_dims(const struct store_series *s, const struct store_dim **dims);
const char *store_series_unit(const struct store_series *s);
unsigned store_series_flags(const struct store_series *s);
/* the time of its newest point, 0: none */
int64_t store_series_last(const struct store_series *s);

/* Put samples into second T of S: one sample of value V (a gauge, or
 * ProcessedBytes' per-second total; counts of events use
 * store_put_events()), COUNT samples of value V (PutMetricData's
 * Values and Counts), or the samples of histogram H whose values add up to
 * SUM (exact, while H's buckets are within 1%; H at shift 0). T may be up to 14 days in
 * the past (PutMetricData); older points, and points more than 2 hours
 * ahead, are refused with -1. Returns 0 or -1. */
int store_put(struct store_series *s, int64_t t, double v);
int store_put_n(struct store_series *s, int64_t t, double v, double count);
/* A statistic set (PutMetricData's StatisticValues) in second T of S: N
 * samples adding up to SUM between MIN and MAX, without their values, so
 * that the periods it falls in have no percentiles (as CloudWatch).
 * Returns 0 or -1. */
int store_put_stats(struct store_series *s, int64_t t, double n, double sum, double min, double max);
/* COUNT events (>= 0) in second T of S, a series of event counts read
 * through store_result_events(): the point is one sample, COUNT, with
 * Minimum and Maximum 1 (0 for a quiet second), so that a steady series
 * has one field that changes. Returns 0 or -1. */
int store_put_events(struct store_series *s, int64_t t, double count);
int store_put_hist(struct store_series *s, int64_t t, const struct hist *h, double sum);

/* Time moves to NOW: close the periods that ended, roll them up, write
 * finished blocks to disk, drop what is past retention, write out what is
 * in memory when the last write-out is a minute old. Call once a second. */
void store_tick(struct store *st, int64_t now);

/* Call FN for every series that has a point newer than SINCE (ListMetrics:
 * the last two weeks; each unit of a metric is its own series), in a
 * stable order; FN returns nonzero to stop. */
void store_foreach(struct store *st, int64_t since, int (*fn)(struct store_series *s, void *arg),
		   void *arg);
size_t store_nseries(const struct store *st);

/* One aggregated datapoint. */
struct store_point {
	int64_t t;          /* start of its period */
	double n, sum, min, max;
	struct hist h;      /* empty unless the series keeps histograms at the resolution used */
};

struct store_result {
	struct store_point *p;  /* ascending t; periods without data are absent */
	size_t n;
	unsigned res_step;      /* the resolution it was computed from */
};

/* Where the periods of a query from START begin, as CloudWatch rounds
 * StartTime: for a PERIOD of 60 s or more, START rounded down to the
 * minute (START within 15 days of NOW), to 5 minutes (within 63 days) or
 * to the hour (older); for a shorter PERIOD, to a multiple of PERIOD (of
 * 1, 5, 10, 20 or 30 s: "even divisions of a minute"). Thread: any. */
int64_t store_period_origin(int64_t start, unsigned period, int64_t now);
/* The same as store_query() takes it: from the later of NOW and ST's own
 * time (a clock set back). ST may be NULL. */
int64_t store_query_origin(const struct store *st, int64_t start, unsigned period, int64_t now);

/* GetMetricStatistics: the points of S from store_period_origin(START) to
 * END aggregated into periods of PERIOD seconds from that origin (the
 * periods of a START on a multiple of PERIOD are multiples of PERIOD since
 * the epoch). PERIOD must be a multiple of the resolution that covers START at
 * NOW (1 s within 3 hours, 60 s within 15 days, 300 s within 63 days,
 * 3600 s beyond), else there are no points (CloudWatch: "no data points
 * in that time range is returned"); that resolution's blocks answer, then
 * the finer resolutions' data after them (the time not rolled up yet),
 * down to 60 s. A series without histograms at 1 s but with them at 60 s
 * (STORE_HIST_COARSE: a target's latency) is read from its 60 s points
 * for a PERIOD of whole minutes, so that it has percentiles.
 * Returns 0, or -1 with a message naming the
 * offending parameter ("period", "start", "end") in ERR. */
int store_query(struct store *st, const struct store_series *s, int64_t start, int64_t end,
		unsigned period, int64_t now, struct store_result *out, char *err, size_t errlen);
/* store_query() over the N series S (a metric's units, all of them): a
 * period's point is one of all their samples, percentiles from their
 * merged histograms. N 0: no points. Same returns. */
int store_query_all(struct store *st, struct store_series *const *s, size_t n, int64_t start, int64_t end,
		    unsigned period, int64_t now, struct store_result *out, char *err, size_t errlen);
void store_result_free(struct store_result *r);

/* CloudWatch's period rule alone: PERIOD (> 0) must be a multiple of the
 * step of the resolution that still covers START at NOW (store_query()
 * answers no points otherwise). Returns that resolution's index, or -1
 * with a message naming "period". */
int store_check_period(int64_t start, unsigned period, int64_t now, char *err, size_t errlen);

/* The statistic STAT of point P: "SampleCount", "Sum", "Average",
 * "Minimum", "Maximum", or a percentile "p99", "p99.9", "p50", "p0" (0 <=
 * NN <= 100; within the Minimum and Maximum answered, p0 and p100 those).
 * Consistent as CloudWatch defines them: Average is Sum/SampleCount; one
 * sample's Minimum and Maximum are its Sum; otherwise a Minimum (Maximum)
 * estimated from a bucket is lowered (raised) to the Average when it is
 * past it, and a non-negative series' Maximum is at most its Sum (exact
 * values are kept: an Average off a bound by a division's rounding is put
 * on the bound). Returns 0 with the
 * value in *OUT, or -1 when STAT is not a statistic name, or is a
 * percentile of a point without a histogram of all its samples (a
 * statistic set of different values) or with a negative value (as
 * CloudWatch). */
int store_stat(const struct store_point *p, const char *stat, double *out);
/* The points of R as CloudWatch gives a metric whose every event is a
 * sample of 1 (ALB's counts: "Minimum, Maximum, and Average all return
 * 1"): a period with Sum s > 0 has SampleCount s and Minimum, Maximum
 * and Average 1; a quiet period (Sum 0) is one sample of 0. Only each
 * point's Sum is read, so points put with store_put() (one sample a
 * second, before store_put_events()) give the same answer. Thread: any. */
void store_result_events(struct store_result *r);
/* Is STAT a valid statistic name? */
int store_stat_valid(const char *stat);

#endif
