/* balancer_rr.c - smooth weighted round robin (nginx's
 * ngx_http_upstream_get_peer): every pick adds each eligible target's weight
 * to its running score, takes the highest score and subtracts the total
 * weight from it. Weights {5,1,1} give a a b a c a a: spread out, not
 * bunched. The scores are per worker (tg->slots[rq->worker]), so no locks.
 *
 * That is O(targets) a pick. When every weighted target has the same
 * weight and the group has no slow start (the common case, and the only
 * one where smooth weighted round robin is a plain rotation), a pick
 * instead starts at the worker's cursor and takes the first eligible
 * target: O(1) while most targets are eligible, whatever their number.
 * Targets that are not eligible (down, tried, weight 0) are stepped over,
 * so the others share the load evenly, as the scores would share it. The
 * slot learns which case its group is on its first pick: weights and
 * slow start are fixed for a generation. */
#include "balancer.h"

/* The rotation: the first eligible target from the slot's cursor on. */
static struct target *pick_equal(struct target_group *tg, struct tg_slot *slot, const struct pick_req *rq,
				 int any)
{
	size_t n = tg->ntargets, i = slot->next < n ? slot->next : 0;

	for (size_t k = 0; k < n; k++) {
		struct target *t = &tg->targets[i];

		if (balancer_eligible(t, rq, any)) {
			slot->next = i + 1 < n ? i + 1 : 0;
			return t;
		}
		i = i + 1 < n ? i + 1 : 0;
	}
	return NULL;
}

static struct target *pick(struct target_group *tg, const struct pick_req *rq, int any)
{
	struct tg_slot *slot = &tg->slots[rq->worker];

	if (slot->equal == 0)
		slot->equal = balancer_equal_weights(tg) ? 1 : -1;
	if (slot->equal > 0)
		return pick_equal(tg, slot, rq, any);

	int64_t *cur = tg->slots[rq->worker].current;
	struct target *best = NULL;
	int64_t total = 0;

	for (size_t i = 0; i < tg->ntargets; i++) {
		struct target *t = &tg->targets[i];
		if (!balancer_eligible(t, rq, any))
			continue;
		int64_t w = (int64_t)tg_weight(tg, t, rq->now);
		cur[i] += w;
		total += w;
		if (!best || cur[i] > cur[best->index])
			best = t;
	}
	if (best)
		cur[best->index] -= total;
	return best;
}

const struct balancer_ops balancer_rr_ops = { "round_robin", pick };
