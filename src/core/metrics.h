/* metrics.h - the metric table (metrics.def) as C: an id per metric and
 * one row of facts each. The workers' counters (shard.h), the store's
 * series, the Prometheus names and the API are all generated from it.
 */
#ifndef ALBD_METRICS_H
#define ALBD_METRICS_H

/* where a metric's values come from (see metrics.def) */
enum metric_src {
	MS_COUNT = 0,
	MS_LEVEL,
	MS_GAUGE,
	MS_LATENCY,
	MS_DERIVED,
};

/* the dimension sets a metric is published with */
#define ML_LB     0x1  /* LoadBalancer */
#define ML_TG     0x2  /* LoadBalancer, TargetGroup */
#define ML_TARGET 0x4  /* LoadBalancer, TargetGroup, Target */
#define ML_CERT   0x8  /* LoadBalancer, Listener, Certificate */

#define METRICS_NAMESPACE "AWS/ApplicationELB"

enum metric_id {
#define METRIC(id, name, unit, src, levels, prom, help) M_##id,
#include "metrics.def"
#undef METRIC
	M_NMETRICS
};

struct metric_def {
	const char *name;       /* CloudWatch's */
	const char *unit;
	enum metric_src src;
	unsigned levels;        /* ML_* */
	const char *prom;       /* Prometheus name without "_total", NULL: not exposed */
	const char *help;
};

extern const struct metric_def metric_defs[M_NMETRICS];

/* The id of the metric called NAME (CloudWatch's name), -1: none.
 * Thread: any. */
int metric_by_name(const char *name);

/* Does metric M count events (MS_COUNT in unit Count: requests, responses,
 * connections, errors)? Each event is then a sample of 1, as ALB's counts
 * are in CloudWatch: SampleCount is the count, and Minimum, Maximum and
 * Average are 1 (0 in a period with none). ProcessedBytes, in Bytes, is
 * one sample a second. Thread: any. */
int metric_counts_events(int m);
/* The same for metric NAME of namespace NS; 0 outside albd's namespace. */
int metric_counts_events_named(const char *ns, const char *name);

#endif
