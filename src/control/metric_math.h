/* metric_math.h - CloudWatch metric math expressions (GetMetricData's
 * Expression), parsed once and evaluated over time series.
 *
 * Grammar: numbers, ids (m1, errors, ... : [a-z][A-Za-z0-9_]*), + - * / ^
 * with the usual precedence and unary minus, parentheses, comparisons
 * (< <= > >= == !=, 1 or 0), AND/&& and OR/||, arrays [m1, m2], and the
 * functions (uppercase, as CloudWatch wants them) SUM, AVG, MIN, MAX, ABS,
 * METRICS(["s"]), FILL(x, value | series | REPEAT | LINEAR), IF(cond, a, b)
 * (and IF(cond, a)), TIME_SERIES(number) (the number at every period FILL
 * fills), with CloudWatch's meaning: an operation on two series
 * covers the timestamps of either, a missing value counting as 0 (the user
 * guide: "Missing values in a time series are treated as 0"); a series and
 * a scalar combine point by point; SUM/AVG/MIN/MAX of one series is a
 * scalar, of several ([m1, m2] or METRICS()) a series, point by point;
 * FILL fills every period of the query's range that has no value; a
 * division by zero gives no datapoint, not infinity, and no NaN or infinity
 * ever comes out. At most 2048 bytes (CloudWatch's limit on
 * MetricDataQuery.Expression), nesting at most 100 deep.
 *
 * Thread: any; nothing is shared.
 */
#ifndef ALBD_METRIC_MATH_H
#define ALBD_METRIC_MATH_H

#include <stddef.h>
#include <stdint.h>

/* A time series: N points, timestamps ascending (seconds since the epoch). */
struct mm_series {
	size_t n;
	int64_t *t;
	double *v;
};

/* Free S's arrays (not S itself) and empty it. NULL is ignored. */
void mm_series_free(struct mm_series *s);

struct mm_expr;

/* Parse TEXT. Returns NULL with a message in ERR ("unexpected ')' at
 * column 7", "unknown function FOO"). */
struct mm_expr *mm_parse(const char *text, char *err, size_t errlen);
void mm_free(struct mm_expr *e);

/* The ids E refers to (each once), valid while E lives; *IDS is set to an
 * array owned by E. METRICS() refers to every series the caller has: it
 * sets *ALL. */
size_t mm_ids(const struct mm_expr *e, const char *const **ids, int *all);

/* What an expression reads: the series of id ID, or NULL when there is no
 * such id. */
typedef const struct mm_series *(*mm_lookup_fn)(void *arg, const char *id);

/* Evaluate E over the query range [START, END) with PERIOD (the grid FILL
 * fills: START + k PERIOD, START being where the queries' periods begin,
 * store_period_origin()). LOOKUP gives each
 * id's series; ALL_IDS/NALL list every id for METRICS(). The result goes to
 * OUT (a scalar result becomes a series with that value at every timestamp
 * of the inputs, or at every period when there are none; an array of
 * series is an error). OUT's arrays are the caller's: mm_series_free(OUT).
 * Returns 0 or -1 with a message in ERR (an unknown id, a type error). */
int mm_eval(const struct mm_expr *e, mm_lookup_fn lookup, void *arg, const char *const *all_ids,
	    size_t nall, int64_t start, int64_t end, unsigned period, struct mm_series *out, char *err,
	    size_t errlen);

#endif
