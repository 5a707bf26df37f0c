/* api_metrics.h - the JSON API over the metric store, shaped like
 * CloudWatch's answers: ListMetrics, GetMetricStatistics, GetMetricData
 * (with metric math) and PutMetricData, under /api/v1/metrics.
 *
 * Thread: control.
 */
#ifndef ALBD_API_METRICS_H
#define ALBD_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Register the endpoints with admin.h. */
void api_metrics_init(void);

/* Parse a time: ISO 8601 ("2026-11-29T10:15:00Z", fractions and offsets
 * allowed; a time without a zone is UTC) or seconds since the epoch.
 * Returns 0 with *OUT (whole seconds, rounded down), or -1. Thread: any. */
int api_parse_time(const char *s, int64_t *out);

/* Format T as ISO 8601 UTC ("2026-11-29T10:15:00Z") into BUF (>= 21 bytes). */
void api_format_time(int64_t t, char *buf, size_t len);

#endif
