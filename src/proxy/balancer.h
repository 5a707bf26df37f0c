/* balancer.h - load balancing algorithms behind one interface.
 *
 * pick() chooses among tg->targets for a new request on worker WORKER,
 * skipping AVOID (a target that just failed this request; may be NULL) and,
 * unless ANY, targets that are not up; weights come from tg_weight() (slow
 * start). It returns NULL when no target is eligible. It may update only
 * tg->slots[worker]; it reads the shared per-target state with relaxed
 * atomic loads. Counting the request as outstanding is tg_pick()'s job, not
 * the algorithm's. Thread: the worker WORKER only; no locks.
 */
#ifndef ALBD_BALANCER_H
#define ALBD_BALANCER_H

#include "target_group.h"

struct balancer_ops {
	const char *name;
	/* ANY: consider every target (fail-open), else only those up
	 * (tg_target_up). NOW: clock_ms() for the slow start ramp, or 0. */
	struct target *(*pick)(struct target_group *tg, unsigned worker, const struct target *avoid, int any,
			       uint64_t now);
};

/* Is T a candidate for this pick? */
static inline int balancer_eligible(const struct target *t, const struct target *avoid, int any)
{
	return t != avoid && t->weight != 0 && (any || tg_target_up(t));
}

/* "round_robin": smooth weighted round robin (as nginx), per worker. */
extern const struct balancer_ops balancer_rr_ops;
/* "least_outstanding_requests": the target with the fewest outstanding
 * requests across all workers relative to its weight; ties are broken in
 * turn, so equal targets share the load evenly. */
extern const struct balancer_ops balancer_lor_ops;

#endif
