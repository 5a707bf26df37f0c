/* api_elb.h - the target group endpoints of the admin API, in the shape of
 * ELBv2's DescribeTargetGroups and DescribeTargetHealth answers:
 *
 *   GET /api/v1/target-groups                 {"TargetGroups": [...]}
 *   GET /api/v1/target-groups/NAME/health     {"TargetHealthDescriptions": [...]}
 *
 * Beyond ELBv2's fields, a target's description has albd's own "Source"
 * ("config" or "api") and "StateUpdatedTimestamp" (ISO 8601 UTC with
 * milliseconds: when it entered its state; absent before its first state).
 *
 * They read the generation admin.c holds (admin_gen()) and the target
 * states health.c keeps; they change nothing. ELBv2's DescribeTargetGroups
 * and DescribeTargetHealth over AWS's wire (aws_elb.c) build their answers
 * with the same functions (api_elb_group(), api_elb_target_health()).
 */
#ifndef ALBD_API_ELB_H
#define ALBD_API_ELB_H

#include <jansson.h>

#include "core/config.h"
#include "proxy/gen.h"

/* The port all of TG's targets share (ELBv2's target group Port), 0 when
 * they differ or there are none. Thread: any. */
unsigned api_elb_port(const struct cfg_target_group *tg);

/* Target group TG of configuration CFG as ELBv2's TargetGroup (the
 * DescribeTargetGroups member), in AWS's member order, a new object (NULL:
 * out of memory): TargetGroupArn, ..., LoadBalancerArns (this load
 * balancer's when a listener forwards to TG, else empty), TargetType,
 * ProtocolVersion. Port only when all its targets share one (albd's
 * groups have no port of their own). Both endpoints use it; AWS: the
 * health check's seconds as AWS's integers (rounded up), else as albd
 * keeps them (reals when not whole). The load balancing algorithm is an
 * attribute in ELBv2 (DescribeTargetGroupAttributes), not here.
 * Thread: any. */
json_t *api_elb_group(const struct albd_config *cfg, const struct cfg_target_group *tg, int aws);

/* TargetHealthDescriptions of group TGC of generation G: its targets, then
 * the draining ones no generation names any more, as a new list (NULL: out
 * of memory). AWS: ELBv2's fields only (without albd's Source and
 * StateUpdatedTimestamp). Thread: control. */
json_t *api_elb_target_health(const struct albd_gen *g, const struct cfg_target_group *tgc, int aws);

/* Register the endpoints with admin_route(). Call after admin_init().
 * Thread: control. */
void api_elb_init(void);

#endif
