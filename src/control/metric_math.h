/* metric_math.h - CloudWatch metric math expressions (GetMetricData's
 * Expression), parsed once and evaluated over time series.
 *
 * Grammar: numbers, ids (m1, errors, ... : [a-z][A-Za-z0-9_]*), + - * / ^
 * with the usual precedence and unary minus, parentheses, comparisons
 * (< <= > >= == !=, 1 or 0), AND/&& and OR/||, arrays [m1, m2], and the
 * functions (uppercase, as CloudWatch wants them) SUM, AVG, MIN, MAX, ABS,
 * METRICS(["s"]), FILL(x, value | series | REPEAT | LINEAR), IF(cond, a, b)
 * (and IF(cond, a)), TIME_SERIES(number), with CloudWatch's meaning: an
 * operation on two series covers the timestamps of either, a missing value
 * counting as 0 (the user guide: "Missing values in a time series are
 * treated as 0"); a series and a scalar combine point by point; SUM/AVG/
 * MIN/MAX of one series is a scalar, of several ([m1, m2] or METRICS()) a
 * series, point by point; FILL fills every period of the query's range
 * that has no value, TIME_SERIES(x) is x at every one of those periods; a
 * division by zero gives no datapoint, not infinity, and no NaN or
 * infinity ever comes out. At most 2048 bytes (CloudWatch's limit on
 * MetricDataQuery.Expression), nesting at most 100 deep.
 *
 * "The final result of any math expression must be a single time series or
 * an array of time series" (the user guide): a number is refused (wrap it
 * in TIME_SERIES()); an array (METRICS(), [m1, m2] * 2, FILL(METRICS(), 0))
 * is a result of several series, each with the label of the query it came
 * from (see struct mm_value). An id may name an array-valued expression:
 * it is an array where it is used (SUM(e1), e1 * 2).
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

/* A value an id names, or an expression's result: one time series (ARRAY
 * 0, N 1) or an array of N time series (ARRAY 1; N may be 0 or 1 too).
 * LABEL[i] is series i's label: the label of the one query it comes from
 * (m1, m1 * 2, FILL(m1, 0), -m1 and ABS(m1) are m1's; an operation on two
 * series of different queries, or TIME_SERIES(), has none: NULL). Labels
 * are borrowed from the lookup's values and compared as pointers, so a
 * lookup gives each query's label as one string. */
struct mm_value {
	int array;
	size_t n;
	struct mm_series *ser;
	const char **label;
};

/* Free an mm_value that mm_eval() filled (its series and arrays, not the
 * labels, which are borrowed) and empty it. NULL is ignored. */
void mm_value_free(struct mm_value *v);

struct mm_expr;

/* Parse TEXT. Returns NULL with a message in ERR ("unexpected ')' at
 * column 7", "unknown function FOO"). */
struct mm_expr *mm_parse(const char *text, char *err, size_t errlen);
void mm_free(struct mm_expr *e);

/* The ids E refers to (each once), valid while E lives; *IDS is set to an
 * array owned by E. METRICS() refers to every series the caller has: it
 * sets *ALL. */
size_t mm_ids(const struct mm_expr *e, const char *const **ids, int *all);

/* What an expression gives, known without the data. */
enum mm_kind {
	MM_SCALAR = 0,
	MM_SERIES,
	MM_ARRAY,
	MM_UNKNOWN, /* it depends on the data (IF(1 > x, m1, 5) with a number for a condition) or it is
		     * a type error that evaluation reports (SUM(5)) */
};

/* The kind of E's result, ID_KIND giving the kind of each id (NULL: every
 * id is a series; METRICS() is an array whatever it holds). */
enum mm_kind mm_kind(const struct mm_expr *e, enum mm_kind (*id_kind)(void *arg, const char *id), void *arg);

/* What an expression reads: the value of id ID, or NULL when there is no
 * such id. It must stay as it is until mm_eval() returns, and its labels
 * as long as the result's are used. */
typedef const struct mm_value *(*mm_lookup_fn)(void *arg, const char *id);

/* Evaluate E over the query range [START, END) with PERIOD (the grid FILL
 * and TIME_SERIES fill: START + k PERIOD, START being where the queries'
 * periods begin, store_period_origin()). LOOKUP gives each id's value;
 * ALL_IDS/NALL list every id for METRICS(). The result goes to OUT: one
 * series or an array of them, with their labels (a number is an error:
 * "the final result ... must be a single time series or an array of time
 * series"). OUT is the caller's: mm_value_free(OUT). Returns 0 or -1 with
 * a message in ERR (an unknown id, a type error, a number) and OUT empty. */
int mm_eval(const struct mm_expr *e, mm_lookup_fn lookup, void *arg, const char *const *all_ids,
	    size_t nall, int64_t start, int64_t end, unsigned period, struct mm_value *out, char *err,
	    size_t errlen);

#endif
