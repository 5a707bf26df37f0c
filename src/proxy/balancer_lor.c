/* balancer_lor.c - least outstanding requests.
 *
 * The target with the fewest requests in flight (counted across all
 * workers, in target_state.inflight) relative to its weight wins. Loads are
 * compared as (inflight + 1) / weight, by cross-multiplication (h2o's
 * least_conn.c), never divided; the +1, as in HAProxy's leastconn, means
 * that the next request is counted too, so weights (and slow start ramps)
 * decide even between idle targets: idle targets of weights 1 and 5 send
 * every sequential request to the heavier one. Exact ties are broken in
 * turn from a per-worker starting point, so equal targets share evenly. */
#include "balancer.h"

static struct target *pick(struct target_group *tg, unsigned worker, const struct target *avoid, int any,
			   uint64_t now)
{
	struct tg_slot *slot = &tg->slots[worker];
	size_t n = tg->ntargets;
	struct target *best = NULL;
	uint64_t best_load = 0, best_w = 1;

	if (n == 0)
		return NULL;
	size_t start = slot->next % n;
	for (size_t k = 0; k < n; k++) {
		struct target *t = &tg->targets[(start + k) % n];
		if (!balancer_eligible(t, avoid, any))
			continue;
		/* one more request, so that a ramping (slow start) target with
		 * nothing in flight still compares by its weight */
		uint64_t load = (uint64_t)atomic_load_explicit(&t->st->inflight, memory_order_relaxed) + 1;
		uint64_t w = tg_weight(tg, t, now);
		/* load/w < best_load/best_w, without dividing */
		if (!best || load * best_w < best_load * w) {
			best = t;
			best_load = load;
			best_w = w;
		}
	}
	if (best)
		slot->next = best->index + 1;
	return best;
}

const struct balancer_ops balancer_lor_ops = { "least_outstanding_requests", pick };
