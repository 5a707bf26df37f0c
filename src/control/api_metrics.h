/* api_metrics.h - CloudWatch's metric operations over the metric store:
 * ListMetrics, GetMetricStatistics, GetMetricData (with metric math) and
 * PutMetricData, one implementation for both ways in: the JSON API under
 * /api/v1/metrics (registered here) and AWS's wire (aws_cw_metrics.c).
 *
 * Each operation takes its input as CloudWatch's JSON shapes it (an input
 * tree as aws.h describes: read with the aws_in_* getters, so awsQuery's
 * strings and JSON's numbers both do) and returns its result in
 * CloudWatch's member order.
 *
 * Thread: control.
 */
#ifndef ALBD_API_METRICS_H
#define ALBD_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* One call of an operation below: who asks, and its error. */
struct api_metrics_call {
	int aws;          /* 1: AWS's wire: AWS's result shapes (aws_out_time(), aws_out_map(),
	                   * aws_page_token()) and its stricter rules (Statistics are the five
	                   * named ones, 1,440 datapoints); 0: the JSON API's */
	int typed;        /* 1: numbers and booleans must be JSON's (a JSON body, awsJson, CBOR);
	                   * 0: strings of them do too (awsQuery, the JSON API's query strings) */
	size_t body_len;  /* the request body's bytes as received (gzip: before inflating); 0: none */
	/* the error, when an operation returns NULL */
	int status;       /* 400, 404, 413, 500 */
	char code[64];    /* CloudWatch's: InvalidParameterValue, MissingParameter, ... */
	char message[512];
};

/* The operations. IN is the input tree (borrowed). Each returns its result
 * (a new reference; PutMetricData's is an empty object), or NULL with the
 * error in C. */
json_t *api_metrics_list(struct api_metrics_call *c, const json_t *in);
json_t *api_metrics_statistics(struct api_metrics_call *c, const json_t *in);
json_t *api_metrics_data(struct api_metrics_call *c, const json_t *in);
json_t *api_metrics_put(struct api_metrics_call *c, const json_t *in);

/* A real ALB's users name its dimensions by resource id: LoadBalancer
 * "app/NAME/<hex>" (the config's elb_id, the end of ELBv2's
 * LoadBalancerArn) and TargetGroup "targetgroup/NAME/<hex>" (the end of
 * TargetGroupArn); albd's store names them NAME. VALUE of dimension DIM in
 * namespace NS (NULL: any) as the store names it: the live config's name
 * for such an id, else VALUE itself. The result is borrowed (VALUE, or a
 * string of the live generation or of metrics.h), valid until the control
 * thread goes back to its loop. */
const char *api_metrics_dim_value(const char *ns, const char *dim, const char *value);

/* Register the JSON API's endpoints with admin.h. */
void api_metrics_init(void);

/* Parse a time: ISO 8601 ("2026-11-29T10:15:00Z", fractions and offsets
 * allowed; a time without a zone is UTC) or seconds since the epoch.
 * Returns 0 with *OUT (whole seconds, rounded down), or -1. Thread: any. */
int api_parse_time(const char *s, int64_t *out);

/* Format T as ISO 8601 UTC ("2026-11-29T10:15:00Z") into BUF (>= 21 bytes). */
void api_format_time(int64_t t, char *buf, size_t len);

#endif
