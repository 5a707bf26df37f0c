/* balancer.h - load balancing algorithms behind one interface.
 *
 * pick() chooses among tg->targets for request RQ (struct pick_req) on
 * worker RQ->worker, skipping the targets RQ tried already and, unless
 * ANY, targets that are not up; weights come from tg_weight() with
 * RQ->now (slow start). It returns NULL when no target is eligible. It may
 * update only tg->slots[RQ->worker]; it reads the shared per-target state
 * with relaxed atomic loads. Stickiness and counting the request as
 * outstanding are tg_pick()'s job, not the algorithm's. Thread: the worker
 * RQ->worker only; no locks.
 */
#ifndef ALBD_BALANCER_H
#define ALBD_BALANCER_H

#include "target_group.h"

struct balancer_ops {
	const char *name;
	/* ANY: consider every target (fail-open), else only those up
	 * (tg_target_up). */
	struct target *(*pick)(struct target_group *tg, const struct pick_req *rq, int any);
};

/* Is T a candidate for this pick? */
static inline int balancer_eligible(const struct target *t, const struct pick_req *rq, int any)
{
	return t->weight != 0 && (any || tg_target_up(t)) && !pick_tried(rq, t);
}

/* Do all of TG's targets of non-zero weight have the same weight, with no
 * slow start ramp? Then weights do not tell targets apart, and both
 * algorithms take turns with a cursor per worker (tg_slot.next) instead
 * of scores: see balancer_rr.c and balancer_lor.c. O(targets): the
 * algorithms ask once per worker slot (tg_slot.equal), as weights and slow
 * start are fixed for a generation. */
static inline int balancer_equal_weights(const struct target_group *tg)
{
	unsigned w = 0;

	if (tg->cfg && tg->cfg->slow_start_ms)
		return 0;
	for (size_t i = 0; i < tg->ntargets; i++) {
		unsigned tw = tg->targets[i].weight;

		if (tw == 0)
			continue;
		if (w && tw != w)
			return 0;
		w = tw;
	}
	return 1;
}

/* "round_robin": smooth weighted round robin (as nginx), per worker. */
extern const struct balancer_ops balancer_rr_ops;
/* "least_outstanding_requests": the target with the fewest outstanding
 * requests across all workers relative to its weight; ties are broken in
 * turn, so equal targets share the load evenly. */
extern const struct balancer_ops balancer_lor_ops;

#endif
