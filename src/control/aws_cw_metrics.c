/* aws_cw_metrics.c - CloudWatch's metric operations (monitoring
 * 2010-08-01) over aws.h's wire (aws.c): ListMetrics, GetMetricStatistics,
 * GetMetricData and PutMetricData. Each is api_metrics.c's operation, the
 * one the JSON API under /api/v1/metrics calls too; here it answers in
 * AWS's shapes (timestamps, maps, tokens) and takes awsQuery's strings for
 * numbers.
 *
 * Thread: control.
 */
#include "control/api_metrics.h"
#include "control/aws.h"

/* Run operation FN for call C. Returns its result, or NULL after aws_fail(). */
static json_t *run(struct aws_call *c, json_t *(*fn)(struct api_metrics_call *, const json_t *))
{
	struct api_metrics_call m = { .aws = 1, .typed = c->proto != AWS_QUERY, .body_len = c->body_len };
	json_t *res = fn(&m, c->in);

	if (!res)
		return aws_fail(c, m.status, m.code, "%s", m.message);
	return res;
}

static json_t *list_metrics(struct aws_call *c)
{
	return run(c, api_metrics_list);
}

static json_t *get_metric_statistics(struct aws_call *c)
{
	return run(c, api_metrics_statistics);
}

static json_t *get_metric_data(struct aws_call *c)
{
	return run(c, api_metrics_data);
}

static json_t *put_metric_data(struct aws_call *c)
{
	return run(c, api_metrics_put);
}

const struct aws_op aws_cw_metric_ops[] = {
	{ "ListMetrics", list_metrics },
	{ "GetMetricStatistics", get_metric_statistics },
	{ "GetMetricData", get_metric_data },
	{ "PutMetricData", put_metric_data },
	{ NULL, NULL },
};
