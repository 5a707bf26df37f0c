/* aws_sns.c - SNS (sns 2010-03-31) over aws.h's wire (aws.c). */
#include "control/aws.h"

const struct aws_op aws_sns_ops[] = {
	{ NULL, NULL },
};
