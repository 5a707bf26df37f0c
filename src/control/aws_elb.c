/* aws_elb.c - ELBv2 (elasticloadbalancing 2015-12-01) over aws.h's wire (aws.c). */
#include "control/aws.h"

const struct aws_op aws_elb_ops[] = {
	{ NULL, NULL },
};
