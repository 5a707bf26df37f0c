/* aws_cw_alarms.c - CloudWatch's alarm operations (monitoring 2010-08-01) over aws.h's wire (aws.c). */
#include "control/aws.h"

const struct aws_op aws_cw_alarm_ops[] = {
	{ NULL, NULL },
};
