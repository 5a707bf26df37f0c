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
 * (tg->slots[rq->worker].current), so no locks. */
#include "balancer.h"

/* T's load for this pick, as a fraction *LOAD / *W (inflight over the
 * weight with its slow start ramp). */
static inline void load_of(const struct target_group *tg, const struct target *t, const struct pick_req *rq,
			   uint64_t *load, uint64_t *w)
{
	*load = atomic_load_explicit(&t->st->inflight, memory_order_relaxed);
	*w = tg_weight(tg, t, rq->now);
}

static struct target *pick(struct target_group *tg, const struct pick_req *rq, int any)
{
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
