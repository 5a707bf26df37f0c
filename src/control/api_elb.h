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
 * states health.c keeps; they change nothing.
 */
#ifndef ALBD_API_ELB_H
#define ALBD_API_ELB_H

/* Register the endpoints with admin_route(). Call after admin_init().
 * Thread: control. */
void api_elb_init(void);

#endif
