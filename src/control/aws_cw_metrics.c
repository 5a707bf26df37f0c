/* aws_cw_metrics.c - CloudWatch's metric operations (monitoring 2010-08-01) over aws.h's wire (aws.c). */
#include "control/aws.h"

const struct aws_op aws_cw_metric_ops[] = {
	{ NULL, NULL },
};
