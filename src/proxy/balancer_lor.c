/* balancer_lor.c - least outstanding requests.
 *
 * The target with the fewest requests in flight (counted across all
 * workers, in target_state.inflight) relative to its weight wins. Loads are
 * compared as inflight / weight by cross-multiplication (h2o's
 * least_conn.c), never divided. Targets that tie for the least load share
 * the request by smooth weighted round robin over the tied set, as nginx's
 * least_conn does: idle targets of weights 1 and 5 get one and five of
 * every six sequential requests, and a target early in its slow start gets
 * its ramped share even at a concurrency of one (comparing (inflight + 1) /
 * weight, as HAProxy's leastconn does, gave it almost nothing until the
 * others had requests piled up). The round robin scores are per worker
 * (tg->slots[rq->worker].current), so no locks.
 *
 * That is two passes over every target a pick. When every weighted target
 * has the same weight and the group has no slow start, the load is the
 * inflight count alone and ties are broken by a rotation: one pass from
 * the worker's cursor (tg_slot.next) takes the first target with the
 * fewest requests in flight, and stops at the first idle one, since none
 * can have fewer; the cursor moves past the target taken, so tied targets
 * take turns. With fewer requests in flight than targets, that is O(1)
 * a pick, whatever the number of targets. */
#include "balancer.h"

/* T's load for this pick, as a fraction *LOAD / *W (inflight over the
 * weight with its slow start ramp). */
static inline void load_of(const struct target_group *tg, const struct target *t, const struct pick_req *rq,
			   uint64_t *load, uint64_t *w)
{
	*load = atomic_load_explicit(&t->st->inflight, memory_order_relaxed);
	*w = tg_weight(tg, t, rq->now);
}

/* Equal weights: the first target with the least inflight from the cursor on. */
static struct target *pick_equal(struct target_group *tg, struct tg_slot *slot, const struct pick_req *rq,
				 int any)
{
	size_t n = tg->ntargets, i = slot->next < n ? slot->next : 0;
	struct target *least = NULL;
	unsigned best = 0;

	for (size_t k = 0; k < n; k++, i = i + 1 < n ? i + 1 : 0) {
		struct target *t = &tg->targets[i];
		unsigned load;

		if (!balancer_eligible(t, rq, any))
			continue;
		load = atomic_load_explicit(&t->st->inflight, memory_order_relaxed);
		if (!least || load < best) {
			least = t;
			best = load;
			if (load == 0)
				break;
		}
	}
	if (least)
		slot->next = least->index + 1 < n ? least->index + 1 : 0;
	return least;
}

static struct target *pick(struct target_group *tg, const struct pick_req *rq, int any)
{
	struct tg_slot *slot = &tg->slots[rq->worker];

	if (slot->equal == 0)
		slot->equal = balancer_equal_weights(tg) ? 1 : -1;
	if (slot->equal > 0)
		return pick_equal(tg, slot, rq, any);

	int64_t *cur = tg->slots[rq->worker].current;
	size_t n = tg->ntargets;
	uint64_t best_load = 0, best_w = 1, load, w;
	struct target *least = NULL;

	/* the least load, inflight / weight */
	for (size_t i = 0; i < n; i++) {
		struct target *t = &tg->targets[i];
		if (!balancer_eligible(t, rq, any))
			continue;
		load_of(tg, t, rq, &load, &w);
		if (!least || load * best_w < best_load * w) {
			best_load = load;
			best_w = w;
			least = t;
		}
	}
	if (!least)
		return NULL;

	/* smooth weighted round robin among the targets with that load */
	struct target *best = NULL;
	int64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		struct target *t = &tg->targets[i];
		if (!balancer_eligible(t, rq, any))
			continue;
		load_of(tg, t, rq, &load, &w);
		if (load * best_w != best_load * w)
			continue;
		cur[i] += (int64_t)w;
		total += (int64_t)w;
		if (!best || cur[i] > cur[best->index])
			best = t;
	}
	if (!best)   /* another worker moved the loads between the passes */
		return least;
	cur[best->index] -= total;
	return best;
}

const struct balancer_ops balancer_lor_ops = { "least_outstanding_requests", pick };
