/* metrics.c - the metric table (metrics.def) as data. */
#include <string.h>

#include "metrics.h"

const struct metric_def metric_defs[M_NMETRICS] = {
#define METRIC(id, name, unit, src, levels, prom, help) [M_##id] = { name, unit, src, levels, prom, help },
#include "metrics.def"
#undef METRIC
};

int metric_by_name(const char *name)
{
	for (int i = 0; i < M_NMETRICS; i++)
		if (strcmp(metric_defs[i].name, name) == 0)
			return i;
	return -1;
}

int metric_counts_events(int m)
{
	return m >= 0 && m < M_NMETRICS && metric_defs[m].src == MS_COUNT && strcmp(metric_defs[m].unit, "Count") == 0;
}

int metric_counts_events_named(const char *ns, const char *name)
{
	return ns && name && strcmp(ns, METRICS_NAMESPACE) == 0 && metric_counts_events(metric_by_name(name));
}
