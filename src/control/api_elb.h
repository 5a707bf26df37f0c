/* api_elb.h - the target group endpoints of the admin API, in the shape of
 * ELBv2's DescribeTargetGroups and DescribeTargetHealth answers:
 *
 *   GET /api/v1/target-groups                 {"TargetGroups": [...]}
 *   GET /api/v1/target-groups/NAME/health     {"TargetHealthDescriptions": [...]}
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
