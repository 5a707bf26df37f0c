/* balancer_rr.c - smooth weighted round robin (nginx's
 * ngx_http_upstream_get_peer): every pick adds each eligible target's weight
 * to its running score, takes the highest score and subtracts the total
 * weight from it. Weights {5,1,1} give a a b a c a a: spread out, not
 * bunched. The scores are per worker (tg->slots[rq->worker]), so no locks. */
#include "balancer.h"

static struct target *pick(struct target_group *tg, const struct pick_req *rq, int any)
{
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
