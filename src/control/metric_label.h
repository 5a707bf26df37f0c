/* metric_label.h - GetMetricData's dynamic labels: a MetricDataQuery's
 * Label with ${...} values expanded, as CloudWatch's "Use dynamic labels"
 * lists them (graph-dynamic-labels.html):
 *
 *   ${AVG} ${MAX} ${MIN} ${SUM} ${FIRST} ${LAST} ${DATAPOINT_COUNT}
 *   ${MIN_MAX_RANGE} ${FIRST_LAST_RANGE}      of the datapoints returned
 *   ${FIRST_TIME} ${LAST_TIME} ${MIN_TIME} ${MAX_TIME}  their timestamps
 *   ${LABEL}                                   the default label
 *   ${PROP('MetricName')} ${PROP('Namespace')} ${PROP('Dim.NAME')}
 *   ${PROP('Period')} ${PROP('Stat')} ${PROP('Region')} ${PROP('AccountId')}
 *
 * The document gives no number format: a number is written as the
 * shortest decimal that reads back as the same double (4, 0.25, 1e+20), a
 * time in ISO 8601 UTC as albd's Timestamps are. Anything else in ${...}
 * (the *_TIME_RANGE and *_RELATIVE values, whose format the document does
 * not give, an unknown name), a value of the data when there is none
 * (${AVG} of no datapoints; ${DATAPOINT_COUNT} is 0), and a property the
 * query has not (an expression's MetricName, a dimension it does not
 * name) is left as it is.
 *
 * Thread: any (no state).
 */
#ifndef ALBD_METRIC_LABEL_H
#define ALBD_METRIC_LABEL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* What a label's values are taken from (all borrowed). */
struct mlabel_ctx {
	const char *ns, *name, *stat;   /* a MetricStat's; NULL: an expression's */
	const struct store_dim *dims;   /* its dimensions */
	size_t ndims;
	unsigned period;                /* seconds; 0: none */
	const char *region, *account_id;
	const char *deflabel;           /* what ${LABEL} is: the label without one given */
	const int64_t *t;               /* the datapoints, ascending by time; a value */
	const double *v;                /* that is not finite is not one */
	size_t n;
};

/* Does LABEL have anything to expand (a "${")? */
int mlabel_dynamic(const char *label);

/* LABEL with its dynamic values expanded from CTX: a new string (the
 * caller frees it), or NULL when out of memory. */
char *mlabel_expand(const char *label, const struct mlabel_ctx *ctx);

#endif
