/* metric_query.h - one period's value, computed one way for everyone: the
 * queries of GetMetricData (a MetricStat, or an expression over other
 * queries' ids) evaluated over the store. The admin API (api_metrics.c)
 * and the alarm engine (alarm.c) both call mquery_eval(), so an alarm sees
 * exactly the datapoints GetMetricData would return for the same query.
 *
 * Thread: control (the store is the control thread's).
 */
#ifndef ALBD_METRIC_QUERY_H
#define ALBD_METRIC_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "metric_math.h"
#include "store.h"

#define MQUERY_MAX_DIMS 30   /* CloudWatch's dimensions per metric */

/* Where and when queries run. */
struct mquery_env {
	struct store *st;
	const char *lb_name; /* the LoadBalancer dimension a query of AWS/ApplicationELB may leave out */
	int64_t now;         /* the store's now (period rules) */
	int strict;          /* 1: a metric no series ever had is an error (the API); 0: no data (alarms) */
};

/* One MetricDataQuery. The caller fills the inputs (borrowed: they must
 * outlive the evaluation); mquery_eval() fills the result. */
struct mquery {
	const char *id;
	const char *expr; /* an expression (parsed into e by the caller), or NULL */
	struct mm_expr *e;
	const char *ns, *name, *stat; /* a MetricStat */
	const struct store_dim *dims;
	size_t ndims;    /* at most MQUERY_MAX_DIMS */
	const char *unit; /* MetricStat's Unit: that unit's data only; NULL: every unit's together */
	unsigned period; /* 0: the call's */
	const char *label; /* its Label; NULL: the default (a MetricStat's MetricName, an expression's id) */
	/* result */
	int state;            /* 0 not evaluated, 1 evaluating, 2 done */
	struct mm_series ser; /* the datapoints, ascending (an array-valued expression: none, see arr) */
	double *samples;      /* MetricStat: each datapoint's SampleCount; NULL for expressions */
	struct mm_value arr;  /* an expression whose result is an array of time series (METRICS() * 2):
	                       * arr.array 1, its series and each one's label (the Label, or MetricName,
	                       * of the query it came from; NULL: not one query's); else all 0 */
};

/* Evaluate every query of Q[0..N) over [START, END) (an expression's grid
 * is PERIOD, or its own period): MetricStats read the store (a series not
 * found is tried again with the implicit LoadBalancer dimension; a metric
 * put with several units is read as one series of all its samples unless
 * the query names a unit),
 * expressions evaluate metric math over the others (METRICS() is every
 * MetricStat of the call): a single time series into ser, an array of them
 * into arr (an expression may refer to an array-valued one: SUM(e1)); an
 * expression whose result is a number is an error (metric_math.h). Limits
 * as GetMetricData's: expressions 10 deep, 100,800 datapoints in all.
 * Returns 0, or -1 with "ID: problem" in ERR (-2: the problem is a metric
 * that does not exist, with ENV->strict). Results stay in Q until
 * mquery_clear(). */
int mquery_eval(const struct mquery_env *env, struct mquery *q, size_t n, int64_t start, int64_t end,
		unsigned period, char *err, size_t errlen);

/* Free Q's result (not its inputs, not e) and make it not evaluated. */
void mquery_clear(struct mquery *q);

/* The series (NS, NAME, DIMS), or with the implicit LoadBalancer
 * dimension for albd's namespace (when (NS, NAME, DIMS) has no series of
 * any unit), of unit UNIT (NULL: one per unit it has) into OUT
 * (STORE_MAX_UNITS; the store's series). Returns how many (0: none). */
size_t mquery_resolve(const struct mquery_env *env, const char *ns, const char *name, const struct store_dim *dims,
		      size_t ndims, const char *unit, struct store_series **out);

/* Is NAME a metric of NS at all: one of albd's, or a series put there? */
int mquery_metric_known(const struct mquery_env *env, const char *ns, const char *name);

/* Is S a query id as GetMetricData and alarms' metrics take it: a lower-case
 * letter, then letters, digits and '_', at most 255 characters? */
int mquery_valid_id(const char *s);

#endif
