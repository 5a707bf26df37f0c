/* test_balancer.c - unit tests of the balancing algorithms
 * (src/proxy/balancer_rr.c and src/proxy/balancer_lor.c) through
 * struct balancer_ops, of the slow start weight (tg_weight() in
 * target_group.h), and of the group operations of src/proxy/target_group.c
 * (tpick() with its fail-open, tg_release(), passive failure detection).
 *
 * For the algorithms, groups are built by hand, without target_group.c:
 * every target gets its own struct target_state (refs/inflight/retired and
 * the health fields atomic_init'ed, routable = 1 so that it is up), every
 * worker slot a zeroed `current` array of ntargets scores, and tg->cfg a
 * struct cfg_target_group with slow_start_ms = 0 (tg_weight() reads it).
 * ops->pick() is called with any = 0 and now = 0 (no slow start) unless a
 * test says otherwise. tpick() counts a picked request as outstanding; the
 * tests do the same themselves (pick_count() below) and release with
 * release() where the scenario says the request is over.
 *
 * For tpick() and friends, groups are built by tg_init() from a hand-made
 * struct cfg_target_group whose addresses come from config_parse_addr().
 * Target states live in a process-wide registry keyed by (group name,
 * address); Check runs every test in its own process, and each test uses
 * its own group names anyway.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/clock.h"
#include "../../src/core/config.h"
#include "../../src/proxy/balancer.h"
#include "../../src/proxy/target_group.h"

/* ------------------------------------------------------------ helpers */

struct group {
	struct target_group tg;
	struct cfg_target_group cfg;  /* tg.cfg: only slow_start_ms is read */
	struct target_state *states;
	struct cfg_target *cfgs;
};

static char tg_name[] = "test-tg";

/* A group of N targets with WEIGHTS and NSLOTS worker slots, balanced by OPS. */
static void group_init(struct group *g, const struct balancer_ops *ops, const unsigned *weights,
		       size_t n, unsigned nslots)
{
	size_t alloc = n > 0 ? n : 1;
	size_t i;
	unsigned w;

	memset(g, 0, sizeof(*g));
	g->states = calloc(alloc, sizeof(*g->states));
	g->cfgs = calloc(alloc, sizeof(*g->cfgs));
	g->tg.targets = calloc(alloc, sizeof(*g->tg.targets));
	g->tg.slots = calloc(nslots, sizeof(*g->tg.slots));
	ck_assert_ptr_nonnull(g->states);
	ck_assert_ptr_nonnull(g->cfgs);
	ck_assert_ptr_nonnull(g->tg.targets);
	ck_assert_ptr_nonnull(g->tg.slots);

	for (i = 0; i < n; i++) {
		struct target_state *st = &g->states[i];
		struct target *t = &g->tg.targets[i];

		atomic_init(&st->refs, 1);
		st->tg_name = tg_name;
		snprintf(st->addr.text, sizeof(st->addr.text), "10.0.0.%zu:80", i + 1);
		st->addr.port = 80;
		atomic_init(&st->inflight, 0);
		atomic_init(&st->retired, 0);
		atomic_init(&st->health, TS_HEALTHY);
		atomic_init(&st->routable, 1); /* up: else the balancers skip it */
		atomic_init(&st->ramp_start, 0);
		atomic_init(&st->drain_expired, 0);
		atomic_init(&st->passive_fails, 0);
		atomic_init(&st->passive_down, 0);
		st->next = NULL;

		g->cfgs[i].address = st->addr.text;
		g->cfgs[i].addr = st->addr;
		g->cfgs[i].weight = weights[i];

		t->cfg = &g->cfgs[i];
		t->st = st;
		t->weight = weights[i];
		t->index = (unsigned)i;
	}
	for (w = 0; w < nslots; w++) {
		g->tg.slots[w].current = calloc(alloc, sizeof(int64_t));
		ck_assert_ptr_nonnull(g->tg.slots[w].current);
	}
	g->cfg.name = tg_name;
	g->cfg.algorithm = ops == &balancer_lor_ops ? TG_ALGO_LEAST_OUTSTANDING : TG_ALGO_ROUND_ROBIN;
	g->cfg.targets = g->cfgs;
	g->cfg.ntargets = n;
	g->cfg.slow_start_ms = 0;
	g->tg.cfg = &g->cfg;
	g->tg.ops = ops;
	g->tg.ntargets = n;
	g->tg.nslots = nslots;
}

static void group_free(struct group *g)
{
	unsigned w;

	for (w = 0; w < g->tg.nslots; w++)
		free(g->tg.slots[w].current);
	free(g->tg.slots);
	free(g->tg.targets);
	free(g->cfgs);
	free(g->states);
	memset(g, 0, sizeof(*g));
}

/* ops->pick() for a request from WORKER that tried AVOID (may be NULL). */
static struct target *opick(struct target_group *tg, unsigned worker, const struct target *avoid, int any,
			    uint64_t now)
{
	struct pick_req rq = { .worker = worker, .now = now };

	if (avoid)
		pick_req_tried(&rq, avoid);
	return tg->ops->pick(tg, &rq, any);
}

/* tpick() for a request from WORKER that tried AVOID (may be NULL). */
static struct target *tpick(struct target_group *tg, unsigned worker, const struct target *avoid)
{
	struct pick_req rq = { .worker = worker };

	if (avoid)
		pick_req_tried(&rq, avoid);
	return tg_pick(tg, &rq);
}

/* The algorithm's choice among the targets that are up, without slow start. */
static struct target *pick(struct group *g, unsigned worker, const struct target *avoid)
{
	return opick(&g->tg, worker, avoid, 0, 0);
}

/* What tpick() does when some target is up: the algorithm's choice,
 * counted as outstanding. */
static struct target *pick_count(struct group *g, unsigned worker, const struct target *avoid)
{
	struct target *t = pick(g, worker, avoid);

	if (t != NULL)
		atomic_fetch_add(&t->st->inflight, 1);
	return t;
}

/* What tg_release() does. */
static void release(struct target *t)
{
	ck_assert_uint_gt(atomic_load(&t->st->inflight), 0);
	atomic_fetch_sub(&t->st->inflight, 1);
}

static unsigned inflight(const struct group *g, size_t i)
{
	return atomic_load(&g->tg.targets[i].st->inflight);
}

static void set_inflight(struct group *g, size_t i, unsigned v)
{
	atomic_store(&g->tg.targets[i].st->inflight, v);
}

/* The index of a pick, checking that it points into the group. */
static size_t idx(const struct group *g, const struct target *t)
{
	ck_assert_ptr_nonnull(t);
	ck_assert(t >= g->tg.targets && t < g->tg.targets + g->tg.ntargets);
	ck_assert_uint_eq(t->index, (size_t)(t - g->tg.targets));
	return (size_t)(t - g->tg.targets);
}

/* ------------------------------------------------------------ ops */

START_TEST(test_ops_names)
{
	ck_assert_str_eq(balancer_rr_ops.name, "round_robin");
	ck_assert_str_eq(balancer_lor_ops.name, "least_outstanding_requests");
	ck_assert_ptr_nonnull(balancer_rr_ops.pick);
	ck_assert_ptr_nonnull(balancer_lor_ops.pick);
}
END_TEST

/* ------------------------------------------------------------ round robin */

START_TEST(test_rr_equal_alternate)
{
	static const unsigned w2[] = { 1, 1 };
	static const unsigned w3[] = { 7, 7, 7 };
	struct group g;
	int i;

	group_init(&g, &balancer_rr_ops, w2, 2, 1);
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), (size_t)(i % 2));
	group_free(&g);

	group_init(&g, &balancer_rr_ops, w3, 3, 1);
	for (i = 0; i < 99; i++)
		ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), (size_t)(i % 3));
	group_free(&g);
}
END_TEST

START_TEST(test_rr_weights_123)
{
	static const unsigned w[] = { 1, 2, 3 };
	struct group g;
	size_t seq[600];
	unsigned count[3] = { 0, 0, 0 };
	int i, k;

	group_init(&g, &balancer_rr_ops, w, 3, 1);
	for (i = 0; i < 600; i++) {
		seq[i] = idx(&g, pick_count(&g, 0, NULL));
		count[seq[i]]++;
	}
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 200);
	ck_assert_uint_eq(count[2], 300);

	/* every run of 6 consecutive picks (aligned or not) holds 1, 2 and 3 */
	for (i = 0; i + 6 <= 600; i++) {
		unsigned c[3] = { 0, 0, 0 };

		for (k = 0; k < 6; k++)
			c[seq[i + k]]++;
		ck_assert_msg(c[0] == 1 && c[1] == 2 && c[2] == 3,
			      "window at %d: %u/%u/%u, want 1/2/3", i, c[0], c[1], c[2]);
	}
	group_free(&g);
}
END_TEST

START_TEST(test_rr_smooth_511)
{
	static const unsigned w[] = { 5, 1, 1 };
	static const size_t want[] = { 0, 0, 1, 0, 2, 0, 0 }; /* a a b a c a a */
	struct group g;
	int round, i;

	group_init(&g, &balancer_rr_ops, w, 3, 1);
	for (round = 0; round < 5; round++)
		for (i = 0; i < 7; i++) {
			size_t got = idx(&g, pick_count(&g, 0, NULL));

			ck_assert_msg(got == want[i], "round %d pick %d: got %zu, want %zu", round,
				      i, got, want[i]);
		}
	group_free(&g);
}
END_TEST

START_TEST(test_rr_avoid)
{
	static const unsigned w[] = { 1, 1, 1 };
	static const unsigned w123[] = { 1, 2, 3 };
	struct group g;
	unsigned count[3] = { 0, 0, 0 };
	int i;

	/* avoiding target 0 every time: 1 and 2 share the load, 0 never picked */
	group_init(&g, &balancer_rr_ops, w, 3, 1);
	for (i = 0; i < 300; i++) {
		size_t got = idx(&g, pick_count(&g, 0, &g.tg.targets[0]));

		ck_assert_uint_ne(got, 0);
		count[got]++;
	}
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_eq(count[1], 150);
	ck_assert_uint_eq(count[2], 150);

	/* a single avoided pick goes to the next best and the rotation goes on */
	{
		struct group h;
		size_t first, second;

		group_init(&h, &balancer_rr_ops, w, 3, 1);
		first = idx(&h, pick_count(&h, 0, &h.tg.targets[0]));
		ck_assert_uint_ne(first, 0);
		second = idx(&h, pick_count(&h, 0, &h.tg.targets[first]));
		ck_assert_uint_ne(second, first);
		group_free(&h);
	}
	group_free(&g);

	/* weights 1:2:3 with the heaviest avoided: the others keep 1:2 */
	memset(count, 0, sizeof(count));
	group_init(&g, &balancer_rr_ops, w123, 3, 1);
	for (i = 0; i < 300; i++)
		count[idx(&g, pick_count(&g, 0, &g.tg.targets[2]))]++;
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 200);
	ck_assert_uint_eq(count[2], 0);
	group_free(&g);
}
END_TEST

START_TEST(test_rr_all_avoided)
{
	static const unsigned one[] = { 4 };
	static const unsigned w[] = { 0, 3, 0 };
	struct group g;
	int i;

	/* the only target is avoided */
	group_init(&g, &balancer_rr_ops, one, 1, 1);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_null(pick(&g, 0, &g.tg.targets[0]));
	/* and is still picked when not avoided */
	ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), 0);
	ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), 0);
	group_free(&g);

	/* the only weighted target is avoided, the others have weight 0 */
	group_init(&g, &balancer_rr_ops, w, 3, 1);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_null(pick(&g, 0, &g.tg.targets[1]));
	ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), 1);
	group_free(&g);
}
END_TEST

START_TEST(test_rr_weight_zero)
{
	static const unsigned w[] = { 0, 2, 0, 1, 0 };
	static const unsigned zeros[] = { 0, 0 };
	struct group g;
	unsigned count[5] = { 0, 0, 0, 0, 0 };
	int i;

	group_init(&g, &balancer_rr_ops, w, 5, 1);
	for (i = 0; i < 300; i++)
		count[idx(&g, pick_count(&g, 0, NULL))]++;
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_eq(count[2], 0);
	ck_assert_uint_eq(count[4], 0);
	ck_assert_uint_eq(count[1], 200);
	ck_assert_uint_eq(count[3], 100);
	group_free(&g);

	/* nothing weighted at all: nothing eligible */
	group_init(&g, &balancer_rr_ops, zeros, 2, 1);
	ck_assert_ptr_null(pick(&g, 0, NULL));
	ck_assert_ptr_null(pick(&g, 0, NULL));
	group_free(&g);
}
END_TEST

START_TEST(test_rr_empty)
{
	struct group g;

	group_init(&g, &balancer_rr_ops, NULL, 0, 2);
	ck_assert_ptr_null(pick(&g, 0, NULL));
	ck_assert_ptr_null(pick(&g, 1, NULL));
	group_free(&g);
}
END_TEST

START_TEST(test_rr_per_worker)
{
	static const unsigned w[] = { 5, 1, 1 };
	static const size_t want[] = { 0, 0, 1, 0, 2, 0, 0 };
	struct group g;
	int i;

	group_init(&g, &balancer_rr_ops, w, 3, 3);
	/* worker 0 advances three picks; worker 1 still starts from the top */
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), want[i]);
	for (i = 0; i < 7; i++)
		ck_assert_uint_eq(idx(&g, pick_count(&g, 1, NULL)), want[i]);
	/* worker 0 resumes where it was, unaffected by worker 1 */
	for (i = 3; i < 7; i++)
		ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), want[i]);
	/* worker 2's slot was never written */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(g.tg.slots[2].current[i], 0);
	/* interleaved, each worker keeps its own exact sequence */
	for (i = 0; i < 70; i++) {
		ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), want[i % 7]);
		ck_assert_uint_eq(idx(&g, pick_count(&g, 2, NULL)), want[i % 7]);
	}
	group_free(&g);
}
END_TEST

static void set_routable(struct target *t, int v);

/* Equal weights take the rotation (a cursor per worker) instead of the
 * scores: 1000 targets share 3000 picks exactly, in index order, stepping
 * over targets that are down or tried, each worker on its own cursor. */
START_TEST(test_rr_equal_many)
{
	enum { N = 1000 };
	static unsigned w[N];
	unsigned count[N];
	struct group g;
	size_t i, k;

	for (i = 0; i < N; i++)
		w[i] = i % 7 == 3 ? 0 : 5; /* some weight 0: still "equal" */
	group_init(&g, &balancer_rr_ops, w, N, 2);
	memset(count, 0, sizeof(count));
	for (k = 0; k < 3; k++)
		for (i = 0; i < N; i++) {
			if (w[i] == 0)
				continue;
			ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), i);
			count[i]++;
		}
	/* the scores are not used on this path */
	for (i = 0; i < N; i++)
		ck_assert_int_eq(g.tg.slots[0].current[i], 0);
	/* worker 1 starts at the top, unaffected by worker 0 */
	ck_assert_uint_eq(idx(&g, pick(&g, 1, NULL)), 0);
	ck_assert_uint_eq(idx(&g, pick(&g, 1, NULL)), 1);

	/* targets down and a tried one are stepped over; the rest share evenly */
	for (i = 0; i < N; i += 2)
		set_routable(&g.tg.targets[i], 0);
	memset(count, 0, sizeof(count));
	for (k = 0; k < 30000; k++)
		count[idx(&g, pick(&g, 0, &g.tg.targets[1]))]++;
	{
		unsigned share = 0, eligible = 0;

		for (i = 0; i < N; i++) {
			if (i % 2 == 0 || w[i] == 0 || i == 1) {
				ck_assert_uint_eq(count[i], 0);
				continue;
			}
			if (share == 0)
				share = count[i];
			ck_assert_uint_le(count[i], share + 1);
			ck_assert_uint_ge(count[i] + 1, share);
			eligible++;
		}
		ck_assert_uint_gt(eligible, 0);
	}
	/* nothing up: nothing unless any */
	for (i = 0; i < N; i++)
		set_routable(&g.tg.targets[i], 0);
	ck_assert_ptr_null(pick(&g, 0, NULL));
	ck_assert_ptr_nonnull(opick(&g.tg, 0, NULL, 1, 0));
	group_free(&g);
}
END_TEST

/* Unequal weights, or a slow start, keep the smooth scores: the choice is
 * made once per worker slot and stays. */
START_TEST(test_rr_equal_or_scores)
{
	static const unsigned w[] = { 2, 2, 2 };
	struct group g;
	int i;

	group_init(&g, &balancer_rr_ops, w, 3, 1);
	g.cfg.slow_start_ms = 10000;
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), (size_t)(i % 3));
	ck_assert_int_eq(g.tg.slots[0].equal, -1);
	group_free(&g);

	group_init(&g, &balancer_rr_ops, w, 3, 1);
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), (size_t)(i % 3));
	ck_assert_int_eq(g.tg.slots[0].equal, 1);
	group_free(&g);
}
END_TEST

/* ------------------------------------------------------------ least outstanding */

START_TEST(test_lor_fewest)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	struct group g;
	struct target *t;

	group_init(&g, &balancer_lor_ops, w, 4, 1);
	set_inflight(&g, 0, 5);
	set_inflight(&g, 1, 3);
	set_inflight(&g, 2, 1);
	set_inflight(&g, 3, 4);
	t = pick_count(&g, 0, NULL);
	ck_assert_uint_eq(idx(&g, t), 2);
	ck_assert_uint_eq(inflight(&g, 2), 2);
	/* 2 now has 2, still the fewest */
	ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), 2);
	/* 1 and 2 tie at 3 in flight; neither 0 (5) nor 3 (4) */
	t = pick_count(&g, 0, NULL);
	ck_assert(idx(&g, t) == 1 || idx(&g, t) == 2);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_weighted)
{
	/* Loads are compared as inflight / weight (as nginx's least_conn). */
	static const unsigned w[] = { 2, 1 };
	static const unsigned w_rev[] = { 1, 2 };
	struct group g;
	size_t a, b;

	/* 3/2 < 2/1: the first, although it has more in flight */
	group_init(&g, &balancer_lor_ops, w, 2, 1);
	set_inflight(&g, 0, 3);
	set_inflight(&g, 1, 2);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 0);
	/* 5/2 > 2/1: the second */
	set_inflight(&g, 0, 5);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 1);
	/* 4/2 = 2/1: a tie, which weighted round robin breaks: three picks
	 * (not counted, so the loads stay equal) give the first twice */
	set_inflight(&g, 0, 4);
	unsigned c[2] = { 0, 0 };
	for (int i = 0; i < 3; i++)
		c[idx(&g, pick(&g, 0, NULL))]++;
	ck_assert_uint_eq(c[0], 2);
	ck_assert_uint_eq(c[1], 1);
	group_free(&g);

	/* the same comparisons with the targets the other way round */
	group_init(&g, &balancer_lor_ops, w_rev, 2, 1);
	set_inflight(&g, 0, 2);
	set_inflight(&g, 1, 3);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 1);
	set_inflight(&g, 1, 5);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 0);
	set_inflight(&g, 1, 4);
	a = idx(&g, pick(&g, 0, NULL));
	b = idx(&g, pick(&g, 0, NULL));
	ck_assert_uint_eq(a, 1);   /* the heavier one first */
	ck_assert_uint_ne(a, b);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_tie_two)
{
	/* equal weights, requests that end at once: every pick is a tie at
	 * (0+1)/1 and the turn alternates exactly */
	static const unsigned w[] = { 1, 1 };
	struct group g;
	unsigned count[2] = { 0, 0 };
	int i;

	group_init(&g, &balancer_lor_ops, w, 2, 1);
	for (i = 0; i < 1000; i++) {
		struct target *t = pick_count(&g, 0, NULL);

		count[idx(&g, t)]++;
		release(t);
	}
	ck_assert_uint_eq(count[0], 500);
	ck_assert_uint_eq(count[1], 500);
	ck_assert_uint_eq(inflight(&g, 0), 0);
	ck_assert_uint_eq(inflight(&g, 1), 0);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_tie_three)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct group g;
	unsigned count[3] = { 0, 0, 0 };
	int i;

	group_init(&g, &balancer_lor_ops, w, 3, 1);
	for (i = 0; i < 1000; i++) {
		struct target *t = pick_count(&g, 0, NULL);

		count[idx(&g, t)]++;
		release(t);
	}
	for (i = 0; i < 3; i++)
		ck_assert_msg(count[i] == 333 || count[i] == 334, "target %d got %u of 1000", i,
			      count[i]);
	ck_assert_uint_eq(count[0] + count[1] + count[2], 1000);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_weighted_idle)
{
	/* Idle targets all tie at 0 in flight and share sequential requests by
	 * their weights, spread out (smooth weighted round robin), not 50/50
	 * and not all to the heaviest. */
	static const unsigned w[] = { 1, 5 };
	static const unsigned w_rev[] = { 5, 1 };
	static const unsigned w3[] = { 2, 3, 2 };
	struct group g;
	unsigned count[3] = { 0, 0, 0 };
	int i;

	group_init(&g, &balancer_lor_ops, w, 2, 1);
	for (i = 0; i < 120; i++) {
		struct target *t = pick_count(&g, 0, NULL);

		count[idx(&g, t)]++;
		release(t);
	}
	ck_assert_uint_eq(count[0], 20);
	ck_assert_uint_eq(count[1], 100);
	group_free(&g);

	memset(count, 0, sizeof(count));
	group_init(&g, &balancer_lor_ops, w_rev, 2, 1);
	for (i = 0; i < 120; i++) {
		struct target *t = pick_count(&g, 0, NULL);

		count[idx(&g, t)]++;
		release(t);
	}
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 20);
	group_free(&g);

	/* 2:3:2, and never the same target three times in a row */
	memset(count, 0, sizeof(count));
	group_init(&g, &balancer_lor_ops, w3, 3, 1);
	size_t prev[2] = { 9, 9 };
	for (i = 0; i < 700; i++) {
		struct target *t = pick_count(&g, 0, NULL);
		size_t k = idx(&g, t);

		ck_assert(!(prev[0] == k && prev[1] == k));
		prev[0] = prev[1];
		prev[1] = k;
		count[k]++;
		release(t);
	}
	ck_assert_uint_eq(count[0], 200);
	ck_assert_uint_eq(count[1], 300);
	ck_assert_uint_eq(count[2], 200);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_avoid)
{
	static const unsigned w[] = { 1, 1, 1 };
	static const unsigned one[] = { 1 };
	struct group g;
	int i;

	group_init(&g, &balancer_lor_ops, w, 3, 1);
	set_inflight(&g, 0, 0);
	set_inflight(&g, 1, 9);
	set_inflight(&g, 2, 4);
	/* the idle one is avoided: the next least loaded */
	ck_assert_uint_eq(idx(&g, pick(&g, 0, &g.tg.targets[0])), 2);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, &g.tg.targets[2])), 0);
	/* with all equal, the avoided one never comes up in its turn */
	set_inflight(&g, 1, 0);
	set_inflight(&g, 2, 0);
	for (i = 0; i < 30; i++) {
		struct target *t = pick_count(&g, 0, &g.tg.targets[1]);

		ck_assert_uint_ne(idx(&g, t), 1);
		release(t);
	}
	group_free(&g);

	/* the only target avoided: nothing */
	group_init(&g, &balancer_lor_ops, one, 1, 1);
	ck_assert_ptr_null(pick(&g, 0, &g.tg.targets[0]));
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 0);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_weight_zero_empty)
{
	static const unsigned w[] = { 0, 1, 0 };
	static const unsigned zeros[] = { 0, 0 };
	struct group g;
	int i;

	/* weight 0 is never picked, however loaded the others are */
	group_init(&g, &balancer_lor_ops, w, 3, 1);
	for (i = 0; i < 50; i++)
		ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), 1);
	ck_assert_uint_eq(inflight(&g, 1), 50);
	ck_assert_ptr_null(pick(&g, 0, &g.tg.targets[1]));
	group_free(&g);

	group_init(&g, &balancer_lor_ops, zeros, 2, 1);
	ck_assert_ptr_null(pick(&g, 0, NULL));
	group_free(&g);

	group_init(&g, &balancer_lor_ops, NULL, 0, 2);
	ck_assert_ptr_null(pick(&g, 0, NULL));
	ck_assert_ptr_null(pick(&g, 1, NULL));
	group_free(&g);
}
END_TEST

/* A target whose requests never end against one that answers at once. */
static void slow_vs_fast(size_t slow)
{
	static const unsigned w[] = { 1, 1 };
	size_t fast = 1 - slow;
	struct group g;
	unsigned count[2] = { 0, 0 };
	int i;

	group_init(&g, &balancer_lor_ops, w, 2, 1);
	for (i = 0; i < 1000; i++) {
		struct target *t = pick_count(&g, 0, NULL);
		size_t k = idx(&g, t);

		count[k]++;
		if (k == fast)
			release(t);
	}
	ck_assert_msg(count[fast] >= 999, "fast target got %u of 1000 (slow index %zu)",
		      count[fast], slow);
	ck_assert_uint_eq(inflight(&g, slow), count[slow]);
	ck_assert_uint_eq(inflight(&g, fast), 0);
	group_free(&g);
}

START_TEST(test_lor_slow_target)
{
	slow_vs_fast(0);
	slow_vs_fast(1);
}
END_TEST

START_TEST(test_lor_weights_outstanding)
{
	/* Requests that never end: each pick goes to the least inflight/w,
	 * which hands out exactly 1:3 at every multiple of 4 picks (from
	 * (a, 3a) all tie; the weighted turn and then the loads give the
	 * heavier target three of the next four). */
	static const unsigned w[] = { 1, 3 };
	static const unsigned w_rev[] = { 3, 1 };
	struct group g;
	unsigned count[2] = { 0, 0 };
	int i;

	group_init(&g, &balancer_lor_ops, w, 2, 1);
	for (i = 0; i < 400; i++)
		count[idx(&g, pick_count(&g, 0, NULL))]++;
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 300);
	ck_assert_uint_eq(inflight(&g, 0), 100);
	ck_assert_uint_eq(inflight(&g, 1), 300);
	group_free(&g);

	memset(count, 0, sizeof(count));
	group_init(&g, &balancer_lor_ops, w_rev, 2, 1);
	for (i = 0; i < 400; i++)
		count[idx(&g, pick_count(&g, 0, NULL))]++;
	ck_assert_uint_eq(count[0], 300);
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(inflight(&g, 0), 300);
	ck_assert_uint_eq(inflight(&g, 1), 100);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_large_inflight)
{
	/* Loads are inflight / weight, weights scaled by 1000 by tg_weight();
	 * compared by cross-multiplication in 64 bits. */
	static const unsigned w[] = { 999, 1 };
	static const unsigned w2[] = { 999, 750 };
	static const unsigned w3[] = { 999, 999 };
	struct group g;

	/* 4e9/999 = 4004004.004: just above 4004004/1, just below 4004005/1 */
	group_init(&g, &balancer_lor_ops, w, 2, 1);
	set_inflight(&g, 0, 4000000000u);
	set_inflight(&g, 1, 4004004u);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 1);
	set_inflight(&g, 1, 4004005u);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 0);
	group_free(&g);

	/* products near 4e15 (3e9 * 750000, 4e9 * 999000), far beyond 32 bits */
	group_init(&g, &balancer_lor_ops, w2, 2, 1);
	set_inflight(&g, 0, 4000000000u); /* 4004004.004 */
	set_inflight(&g, 1, 3000000000u); /* 4000000 */
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 1);
	set_inflight(&g, 1, 3003004000u); /* 4004005.333 */
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 0);
	group_free(&g);

	/* near the top of the counter's range, one request decides */
	group_init(&g, &balancer_lor_ops, w3, 2, 1);
	set_inflight(&g, 0, 4294967294u);
	set_inflight(&g, 1, 4294967293u);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 1);
	set_inflight(&g, 0, 4294967292u);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 0);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_counter_top)
{
	/* At the very top of the counter a target with 4294967295 requests
	 * in flight is the most loaded, not an idle one. */
	static const unsigned w[] = { 1, 1 };
	struct group g;

	group_init(&g, &balancer_lor_ops, w, 2, 1);
	set_inflight(&g, 0, 4294967295u);
	set_inflight(&g, 1, 4294967294u);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 1);
	set_inflight(&g, 1, 0);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 1);
	/* and the other way round */
	set_inflight(&g, 0, 7);
	set_inflight(&g, 1, 4294967295u);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), 0);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_per_worker)
{
	static const unsigned w[] = { 1, 1 };
	struct group g;
	struct target *a, *b;

	group_init(&g, &balancer_lor_ops, w, 2, 2);
	/* worker 0 takes its turn; worker 1's turn has not moved */
	a = pick_count(&g, 0, NULL);
	release(a);
	b = pick_count(&g, 1, NULL);
	release(b);
	ck_assert_ptr_eq(a, b);
	/* each worker alternates on its own */
	ck_assert_ptr_ne(pick_count(&g, 0, NULL), a);
	release(&g.tg.targets[1 - idx(&g, a)]);
	ck_assert_ptr_ne(pick_count(&g, 1, NULL), b);
	release(&g.tg.targets[1 - idx(&g, b)]);
	/* but the load they see is shared: what worker 0 holds steers worker 1 */
	a = pick_count(&g, 0, NULL);
	b = pick_count(&g, 1, NULL);
	ck_assert_ptr_ne(a, b);
	release(a);
	release(b);
	group_free(&g);
}
END_TEST

/* Equal weights: one pass from the worker's cursor, stopping at the first
 * idle target; ties take turns; the least loaded still wins. */
START_TEST(test_lor_equal_many)
{
	enum { N = 1000 };
	static unsigned w[N];
	unsigned count[N];
	struct group g;
	size_t i, k;

	for (i = 0; i < N; i++)
		w[i] = 3;
	group_init(&g, &balancer_lor_ops, w, N, 2);
	/* nothing released: every target takes one request, in turn, then a second */
	for (k = 0; k < 2; k++)
		for (i = 0; i < N; i++)
			ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), i);
	ck_assert_int_eq(g.tg.slots[0].equal, 1);
	/* released at once: idle targets take turns */
	for (i = 0; i < N; i++)
		set_inflight(&g, i, 0);
	memset(count, 0, sizeof(count));
	for (k = 0; k < 3 * N; k++) {
		struct target *t = pick_count(&g, 1, NULL);

		count[idx(&g, t)]++;
		release(t);
	}
	for (i = 0; i < N; i++)
		ck_assert_uint_eq(count[i], 3);
	/* the least loaded wins wherever it is, and a tried one never */
	for (i = 0; i < N; i++)
		set_inflight(&g, i, 5);
	set_inflight(&g, 700, 2);
	set_inflight(&g, 300, 2);
	ck_assert_uint_eq(idx(&g, pick(&g, 0, &g.tg.targets[300])), 700);
	{
		size_t a = idx(&g, pick_count(&g, 0, NULL));

		ck_assert(a == 300 || a == 700);
		/* a has 3 now: the other */
		ck_assert_uint_eq(idx(&g, pick(&g, 0, NULL)), a == 300 ? 700 : 300);
	}
	group_free(&g);
}
END_TEST

/* ------------------------------------------------------------ health: targets not up */

static const struct balancer_ops *const all_ops[] = { &balancer_rr_ops, &balancer_lor_ops };

static void set_routable(struct target *t, int v)
{
	atomic_store(&t->st->routable, v);
}

static void set_passive_down(struct target *t, int v)
{
	atomic_store(&t->st->passive_down, v);
}

/* Run for both algorithms (loop test, _i indexes all_ops). */
START_TEST(test_not_up)
{
	static const unsigned w[] = { 1, 1, 1, 0 };
	const struct balancer_ops *ops = all_ops[_i];
	struct group g;
	unsigned count[4] = { 0, 0, 0, 0 };
	struct target *t;
	int i;

	group_init(&g, ops, w, 4, 1);
	/* up: routable and not held down by passive detection */
	ck_assert(tg_target_up(&g.tg.targets[0]));
	set_routable(&g.tg.targets[1], 0);     /* e.g. unhealthy or initial */
	set_passive_down(&g.tg.targets[2], 1); /* taken out by passive detection */
	set_routable(&g.tg.targets[3], 1);     /* up, but weight 0 */
	ck_assert(!tg_target_up(&g.tg.targets[1]));
	ck_assert(!tg_target_up(&g.tg.targets[2]));

	/* any = 0: only target 0, however loaded it is */
	set_inflight(&g, 0, 100);
	for (i = 0; i < 60; i++)
		ck_assert_uint_eq(idx(&g, opick(&g.tg, 0, NULL, 0, 0)), 0);
	/* and nothing once it is avoided */
	ck_assert_ptr_null(opick(&g.tg, 0, &g.tg.targets[0], 0, 0));

	/* any = 1: every weighted target is a candidate */
	set_inflight(&g, 0, 0);
	for (i = 0; i < 300; i++) {
		t = opick(&g.tg, 0, NULL, 1, 0);
		count[idx(&g, t)]++;
	}
	/* equal weights, nothing in flight: an even share each (RR rotates,
	 * LOR ties and takes turns); weight 0 never, even with any */
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(count[2], 100);
	ck_assert_uint_eq(count[3], 0);
	/* any = 1 still respects AVOID */
	for (i = 0; i < 30; i++) {
		t = opick(&g.tg, 0, &g.tg.targets[0], 1, 0);
		ck_assert_uint_ne(idx(&g, t), 0);
		ck_assert_uint_ne(idx(&g, t), 3);
	}

	/* nothing up at all: NULL without any, a target with it */
	set_routable(&g.tg.targets[0], 0);
	ck_assert_ptr_null(opick(&g.tg, 0, NULL, 0, 0));
	ck_assert_uint_lt(idx(&g, opick(&g.tg, 0, NULL, 1, 0)), 3);

	/* passive_down wins over routable; clearing it brings the target back */
	set_routable(&g.tg.targets[2], 1);
	ck_assert_ptr_null(opick(&g.tg, 0, NULL, 0, 0));
	set_passive_down(&g.tg.targets[2], 0);
	ck_assert_uint_eq(idx(&g, opick(&g.tg, 0, NULL, 0, 0)), 2);
	group_free(&g);
}
END_TEST

/* ------------------------------------------------------------ slow start */

#define NOW 1000000u   /* an arbitrary clock_ms() */

START_TEST(test_weight_slow_start)
{
	static const unsigned w[] = { 4, 1, 7 };
	struct group g;
	const struct target *t0, *t1, *t2;
	const uint64_t start = NOW - 2500;

	group_init(&g, &balancer_rr_ops, w, 3, 1);
	t0 = &g.tg.targets[0];
	t1 = &g.tg.targets[1];
	t2 = &g.tg.targets[2];

	/* no slow start configured: full weight (scaled by 1000) */
	atomic_store(&t0->st->ramp_start, start);
	ck_assert_uint_eq(tg_weight(&g.tg, t0, NOW), 4000);
	ck_assert_uint_eq(tg_weight(&g.tg, t2, NOW), 7000);

	g.cfg.slow_start_ms = 10000;
	atomic_store(&t1->st->ramp_start, start);
	/* 2.5 s into a 10 s ramp: a quarter */
	ck_assert_uint_eq(tg_weight(&g.tg, t0, NOW), 4 * 1000 / 4);
	ck_assert_uint_eq(tg_weight(&g.tg, t1, NOW), 1 * 1000 / 4);
	/* ramp_start 0: not ramping, full weight */
	ck_assert_uint_eq(tg_weight(&g.tg, t2, NOW), 7000);
	/* now 0: the caller has no slow start, full weight */
	ck_assert_uint_eq(tg_weight(&g.tg, t0, 0), 4000);
	/* along the ramp, truncated: 4000 * 9999 / 10000 = 3999.6 */
	ck_assert_uint_eq(tg_weight(&g.tg, t0, start + 5000), 2000);
	ck_assert_uint_eq(tg_weight(&g.tg, t0, start + 9999), 3999);
	/* the ramp is over at ramp_start + slow_start, and stays over */
	ck_assert_uint_eq(tg_weight(&g.tg, t0, start + 10000), 4000);
	ck_assert_uint_eq(tg_weight(&g.tg, t0, start + 10001), 4000);
	ck_assert_uint_eq(tg_weight(&g.tg, t0, start + 3600000), 4000);
	/* at the very start (or a clock before it): the minimum, never 0 */
	ck_assert_uint_eq(tg_weight(&g.tg, t0, start), 1);
	ck_assert_uint_eq(tg_weight(&g.tg, t0, start - 1), 1);
	ck_assert_uint_eq(tg_weight(&g.tg, t1, start + 1), 1); /* 1000 * 1 / 10000 = 0 -> 1 */
	ck_assert_uint_eq(tg_weight(&g.tg, t1, start + 10), 1);
	ck_assert_uint_eq(tg_weight(&g.tg, t1, start + 20), 2);

	/* the longest ramp and the heaviest weight stay exact in 64 bits */
	g.cfg.slow_start_ms = 900000;
	g.tg.targets[2].weight = 999;
	atomic_store(&t2->st->ramp_start, start);
	ck_assert_uint_eq(tg_weight(&g.tg, t2, start + 899999), 998998); /* 999000*899999/900000 */
	ck_assert_uint_eq(tg_weight(&g.tg, t2, start + 900000), 999000);

	/* no config at all: no slow start */
	g.tg.cfg = NULL;
	ck_assert_uint_eq(tg_weight(&g.tg, t0, NOW), 4000);
	ck_assert_uint_eq(tg_weight(&g.tg, t1, start + 1), 1000);
	group_free(&g);
}
END_TEST

START_TEST(test_rr_slow_start)
{
	static const unsigned w[] = { 1, 1 };
	struct group g;
	const uint64_t start = NOW - 2500;
	size_t seq[1000];
	unsigned count[2] = { 0, 0 };
	int i, k;

	group_init(&g, &balancer_rr_ops, w, 2, 1);
	g.cfg.slow_start_ms = 10000;
	atomic_store(&g.tg.targets[0].st->ramp_start, start);

	/* 250 against 1000: one pick in five, spread out (smooth WRR: the
	 * scores are back to 0 after every 5 picks) */
	for (i = 0; i < 1000; i++) {
		seq[i] = idx(&g, opick(&g.tg, 0, NULL, 0, NOW));
		count[seq[i]]++;
	}
	ck_assert_uint_eq(count[0], 200);
	ck_assert_uint_eq(count[1], 800);
	for (i = 0; i + 5 <= 1000; i++) {
		unsigned c = 0;

		for (k = 0; k < 5; k++)
			c += seq[i + k] == 0;
		ck_assert_msg(c == 1, "window at %d holds %u picks of the ramping target", i, c);
	}
	ck_assert_int_eq(g.tg.slots[0].current[0], 0);
	ck_assert_int_eq(g.tg.slots[0].current[1], 0);

	/* halfway (500 against 1000): one in three */
	memset(count, 0, sizeof(count));
	for (i = 0; i < 999; i++)
		count[idx(&g, opick(&g.tg, 0, NULL, 0, start + 5000))]++;
	ck_assert_uint_eq(count[0], 333);
	ck_assert_uint_eq(count[1], 666);

	/* ramp over: they alternate */
	memset(count, 0, sizeof(count));
	for (i = 0; i < 1000; i++)
		count[idx(&g, opick(&g.tg, 0, NULL, 0, start + 10000))]++;
	ck_assert_uint_eq(count[0], 500);
	ck_assert_uint_eq(count[1], 500);

	/* now = 0 (slow start off for this pick): full weight at once */
	memset(count, 0, sizeof(count));
	for (i = 0; i < 100; i++)
		count[idx(&g, opick(&g.tg, 0, NULL, 0, 0))]++;
	ck_assert_uint_eq(count[0], 50);
	ck_assert_uint_eq(count[1], 50);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_slow_start)
{
	static const unsigned w[] = { 1, 1 };
	struct group g;
	const uint64_t start = NOW - 2500;
	unsigned count[2] = { 0, 0 };
	int i;

	group_init(&g, &balancer_lor_ops, w, 2, 1);
	g.cfg.slow_start_ms = 10000;
	atomic_store(&g.tg.targets[0].st->ramp_start, start);

	/* requests that end at once (a concurrency of one): the ramping
	 * target, a quarter into its slow start, gets its share, 250 of every
	 * 1250, not none (the former (inflight + 1) / weight gave it nothing) */
	for (i = 0; i < 1250; i++) {
		struct target *t = opick(&g.tg, 0, NULL, 0, NOW);

		count[idx(&g, t)]++;
	}
	ck_assert_uint_eq(count[0], 250);
	ck_assert_uint_eq(count[1], 1000);

	/* requests that never end: i0/250 against i1/1000, which hands out
	 * exactly 1:4 at every multiple of 5 picks */
	memset(count, 0, sizeof(count));
	for (i = 0; i < 1000; i++) {
		struct target *t = opick(&g.tg, 0, NULL, 0, NOW);

		count[idx(&g, t)]++;
		atomic_fetch_add(&t->st->inflight, 1);
	}
	ck_assert_uint_eq(count[0], 200);
	ck_assert_uint_eq(count[1], 800);

	/* 1/250 against 5/1000: the ramping one; against 3/1000: the full one */
	set_inflight(&g, 0, 1);
	set_inflight(&g, 1, 5);
	ck_assert_uint_eq(idx(&g, opick(&g.tg, 0, NULL, 0, NOW)), 0);
	set_inflight(&g, 1, 3);
	ck_assert_uint_eq(idx(&g, opick(&g.tg, 0, NULL, 0, NOW)), 1);

	/* ramp over: equal again, idle picks take turns */
	set_inflight(&g, 0, 0);
	set_inflight(&g, 1, 0);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 100; i++)
		count[idx(&g, opick(&g.tg, 0, NULL, 0, start + 10000))]++;
	ck_assert_uint_eq(count[0], 50);
	ck_assert_uint_eq(count[1], 50);
	group_free(&g);
}
END_TEST

/* ------------------------------------------------------------ target_group.c */

#define RG_MAX 8

/* A group built by tg_init() from a hand-made config. */
struct rgroup {
	char name[32];
	struct cfg_target targets[RG_MAX];
	struct cfg_target_group cfg;
	struct target_group tg;
};

static void rgroup_init(struct rgroup *r, const char *name, enum tg_algorithm algo, const unsigned *weights,
			size_t n, unsigned nworkers, unsigned slow_start_ms)
{
	char err[CONFIG_ERR_MAX], text[64];
	size_t i;

	ck_assert_uint_le(n, RG_MAX);
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "127.0.0.%zu:%zu", i + 1, 8000 + i);
		ck_assert_msg(config_parse_addr(text, 0, &r->targets[i].addr, err, sizeof(err)) == 0, "%s: %s",
			      text, err);
		ck_assert_str_eq(r->targets[i].addr.text, text);
		r->targets[i].address = r->targets[i].addr.text;
		r->targets[i].weight = weights[i];
	}
	r->cfg.name = r->name;
	r->cfg.algorithm = algo;
	r->cfg.targets = r->targets;
	r->cfg.ntargets = n;
	r->cfg.slow_start_ms = slow_start_ms;
	ck_assert_int_eq(tg_init(&r->tg, &r->cfg, nworkers), 0);
	ck_assert_uint_eq(r->tg.ntargets, n);
	ck_assert_ptr_eq(r->tg.ops, algo == TG_ALGO_LEAST_OUTSTANDING ? &balancer_lor_ops : &balancer_rr_ops);
	ck_assert_uint_eq(atomic_load(&r->tg.failopen_picks), 0);
}

static struct target *rt(struct rgroup *r, size_t i)
{
	return &r->tg.targets[i];
}

static size_t ridx(const struct rgroup *r, const struct target *t)
{
	ck_assert_ptr_nonnull(t);
	ck_assert(t >= r->tg.targets && t < r->tg.targets + r->tg.ntargets);
	return (size_t)(t - r->tg.targets);
}

static unsigned rinflight(struct rgroup *r, size_t i)
{
	return atomic_load(&rt(r, i)->st->inflight);
}

static unsigned long failopen(const struct rgroup *r)
{
	return atomic_load(&r->tg.failopen_picks);
}

START_TEST(test_tg_init_states)
{
	static const unsigned w[] = { 3, 1 };
	struct rgroup r, r2, other;

	rgroup_init(&r, "tg-init", TG_ALGO_ROUND_ROBIN, w, 2, 2, 0);
	ck_assert_ptr_eq(r.tg.cfg, &r.cfg);
	ck_assert_uint_eq(r.tg.nslots, 2);
	ck_assert_uint_eq(rt(&r, 0)->weight, 3);
	ck_assert_uint_eq(rt(&r, 1)->index, 1);
	ck_assert_ptr_eq(rt(&r, 0)->cfg, &r.targets[0]);
	/* a new target state: initial, not up, nothing in flight */
	ck_assert_int_eq(atomic_load(&rt(&r, 0)->st->health), TS_INITIAL);
	ck_assert_int_eq(atomic_load(&rt(&r, 0)->st->routable), 0);
	ck_assert_int_eq(atomic_load(&rt(&r, 0)->st->passive_down), 0);
	ck_assert_uint_eq(atomic_load(&rt(&r, 0)->st->passive_fails), 0);
	ck_assert_uint_eq(atomic_load(&rt(&r, 0)->st->ramp_start), 0);
	ck_assert_uint_eq(rinflight(&r, 0), 0);
	ck_assert(!tg_target_up(rt(&r, 0)));
	ck_assert_str_eq(rt(&r, 1)->st->tg_name, "tg-init");
	ck_assert_str_eq(rt(&r, 1)->st->addr.text, "127.0.0.2:8001");
	/* per-worker state lives with the target state, a cache line each,
	 * empty to begin with */
	ck_assert_uint_eq(rt(&r, 0)->st->npw, 2);
	ck_assert_uint_eq(sizeof(struct ts_worker), 64);
	ck_assert_uint_eq((uintptr_t)rt(&r, 0)->st->pw % 64, 0);
	ck_assert_ptr_null(rt(&r, 0)->st->pw[1].idle);
	ck_assert_uint_eq(rt(&r, 0)->st->pw[1].nidle, 0);

	/* a second generation of the same group shares the states */
	rgroup_init(&r2, "tg-init", TG_ALGO_LEAST_OUTSTANDING, w, 2, 1, 0);
	ck_assert_ptr_eq(rt(&r2, 0)->st, rt(&r, 0)->st);
	ck_assert_ptr_eq(rt(&r2, 1)->st, rt(&r, 1)->st);
	/* another group with the same addresses does not */
	rgroup_init(&other, "tg-other", TG_ALGO_ROUND_ROBIN, w, 2, 1, 0);
	ck_assert_ptr_ne(rt(&other, 0)->st, rt(&r, 0)->st);

	tg_destroy(&other.tg);
	tg_destroy(&r2.tg);
	tg_destroy(&r.tg);
}
END_TEST

START_TEST(test_tg_pick_failopen)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct rgroup r;
	struct target *got[3];
	unsigned seen[3] = { 0, 0, 0 };
	int i;

	rgroup_init(&r, "tg-failopen", TG_ALGO_ROUND_ROBIN, w, 3, 1, 0);
	/* no target is up (all initial): the group fails open to all */
	for (i = 0; i < 3; i++) {
		got[i] = tpick(&r.tg, 0, NULL);
		seen[ridx(&r, got[i])]++;
		ck_assert_uint_eq(failopen(&r), (unsigned long)i + 1);
	}
	ck_assert_uint_eq(seen[0], 1);
	ck_assert_uint_eq(seen[1], 1);
	ck_assert_uint_eq(seen[2], 1);
	/* each counted as outstanding, until released */
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(rinflight(&r, (size_t)i), 1);
	for (i = 0; i < 3; i++)
		tg_release(got[i]);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(rinflight(&r, (size_t)i), 0);

	/* one target up: it gets everything, and that is no fail-open */
	set_routable(rt(&r, 2), 1);
	for (i = 0; i < 10; i++) {
		struct target *t = tpick(&r.tg, 0, NULL);

		ck_assert_uint_eq(ridx(&r, t), 2);
		tg_release(t);
	}
	ck_assert_uint_eq(failopen(&r), 3);

	/* taken out by passive detection: none up again, fail open again */
	set_passive_down(rt(&r, 2), 1);
	got[0] = tpick(&r.tg, 0, NULL);
	ck_assert_ptr_nonnull(got[0]);
	ck_assert_uint_eq(failopen(&r), 4);
	tg_release(got[0]);
	tg_destroy(&r.tg);

	/* the same with least outstanding: fail-open spreads by load too */
	rgroup_init(&r, "tg-failopen-lor", TG_ALGO_LEAST_OUTSTANDING, w, 3, 1, 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 3; i++) {
		got[i] = tpick(&r.tg, 0, NULL);
		seen[ridx(&r, got[i])]++;
	}
	ck_assert_uint_eq(seen[0], 1);
	ck_assert_uint_eq(seen[1], 1);
	ck_assert_uint_eq(seen[2], 1);
	ck_assert_uint_eq(failopen(&r), 3);
	for (i = 0; i < 3; i++)
		tg_release(got[i]);
	tg_destroy(&r.tg);
}
END_TEST

/* struct pick_req: several tried targets, and a sticky one */
START_TEST(test_tg_pick_req)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	struct rgroup r;
	struct pick_req rq;
	struct target *t;

	for (int algo = 0; algo < 2; algo++) {
		rgroup_init(&r, algo ? "tg-req-lor" : "tg-req-rr",
			    algo ? TG_ALGO_LEAST_OUTSTANDING : TG_ALGO_ROUND_ROBIN, w, 4, 2, 0);
		for (size_t i = 0; i < 4; i++)
			set_routable(rt(&r, i), 1);
		/* three tried: only the fourth is left, every time */
		memset(&rq, 0, sizeof(rq));
		rq.worker = 1;
		pick_req_tried(&rq, rt(&r, 0));
		pick_req_tried(&rq, rt(&r, 2));
		pick_req_tried(&rq, rt(&r, 3));
		for (int i = 0; i < 5; i++) {
			t = tg_pick(&r.tg, &rq);
			ck_assert_uint_eq(ridx(&r, t), 1);
			tg_release(t);
		}
		/* beyond PICK_TRIED_MAX the oldest is forgotten */
		pick_req_tried(&rq, rt(&r, 1));
		pick_req_tried(&rq, rt(&r, 1));
		ck_assert_uint_eq(rq.ntried, PICK_TRIED_MAX);
		ck_assert(!pick_tried(&rq, rt(&r, 0)));
		/* sticky: its target whenever it can take the request */
		memset(&rq, 0, sizeof(rq));
		rq.sticky = rt(&r, 2);
		for (int i = 0; i < 5; i++) {
			t = tg_pick(&r.tg, &rq);
			ck_assert_uint_eq(ridx(&r, t), 2);
			tg_release(t);
		}
		/* ... but not when it is down or tried: the balancer decides */
		set_routable(rt(&r, 2), 0);
		t = tg_pick(&r.tg, &rq);
		ck_assert_uint_ne(ridx(&r, t), 2);
		tg_release(t);
		set_routable(rt(&r, 2), 1);
		pick_req_tried(&rq, rt(&r, 2));
		t = tg_pick(&r.tg, &rq);
		ck_assert_uint_ne(ridx(&r, t), 2);
		tg_release(t);
		/* no target up: failing open, the sticky one keeps its client */
		memset(&rq, 0, sizeof(rq));
		rq.sticky = rt(&r, 3);
		for (size_t i = 0; i < 4; i++)
			set_routable(rt(&r, i), 0);
		for (int i = 0; i < 5; i++) {
			t = tg_pick(&r.tg, &rq);
			ck_assert_uint_eq(ridx(&r, t), 3);
			ck_assert(rq.failopen);
			tg_release(t);
		}
		for (size_t i = 0; i < 4; i++)
			set_routable(rt(&r, i), 1);
		for (size_t i = 0; i < 4; i++)
			ck_assert_uint_eq(rinflight(&r, i), 0);
		tg_destroy(&r.tg);
	}
}
END_TEST

START_TEST(test_tg_pick_avoid)
{
	static const unsigned w[] = { 1, 1, 1 };
	static const unsigned one[] = { 1 };
	struct rgroup r;
	struct target *t;
	int i;

	rgroup_init(&r, "tg-avoid", TG_ALGO_ROUND_ROBIN, w, 3, 1, 0);
	set_routable(rt(&r, 0), 1);
	/* the only target up just failed this request: the retry goes to a
	 * target that is not up rather than nowhere, and it is no fail-open */
	for (i = 0; i < 6; i++) {
		t = tpick(&r.tg, 0, rt(&r, 0));
		ck_assert_ptr_nonnull(t);
		ck_assert_uint_ne(ridx(&r, t), 0);
		ck_assert_uint_eq(rinflight(&r, ridx(&r, t)), 1);
		tg_release(t);
	}
	ck_assert_uint_eq(failopen(&r), 0);
	/* without AVOID, only the one up */
	for (i = 0; i < 6; i++) {
		t = tpick(&r.tg, 0, NULL);
		ck_assert_uint_eq(ridx(&r, t), 0);
		tg_release(t);
	}
	/* two up, one avoided: the other one up, never the one down */
	set_routable(rt(&r, 1), 1);
	for (i = 0; i < 6; i++) {
		t = tpick(&r.tg, 0, rt(&r, 0));
		ck_assert_uint_eq(ridx(&r, t), 1);
		tg_release(t);
	}
	/* none up and one avoided: fail open to the others, counted */
	set_routable(rt(&r, 0), 0);
	set_routable(rt(&r, 1), 0);
	t = tpick(&r.tg, 0, rt(&r, 1));
	ck_assert_uint_ne(ridx(&r, t), 1);
	ck_assert_uint_eq(failopen(&r), 1);
	tg_release(t);
	tg_destroy(&r.tg);

	/* the only target, avoided: nothing to pick, up or not */
	rgroup_init(&r, "tg-avoid-one", TG_ALGO_LEAST_OUTSTANDING, one, 1, 1, 0);
	ck_assert_ptr_null(tpick(&r.tg, 0, rt(&r, 0)));
	set_routable(rt(&r, 0), 1);
	ck_assert_ptr_null(tpick(&r.tg, 0, rt(&r, 0)));
	ck_assert_uint_eq(rinflight(&r, 0), 0);
	ck_assert_uint_eq(failopen(&r), 0);
	tg_destroy(&r.tg);
}
END_TEST

START_TEST(test_tg_pick_inflight)
{
	static const unsigned w[] = { 1, 1 };
	struct rgroup r;
	struct target *held[4];
	struct target *t;
	int i;

	rgroup_init(&r, "tg-inflight", TG_ALGO_LEAST_OUTSTANDING, w, 2, 2, 0);
	set_routable(rt(&r, 0), 1);
	set_routable(rt(&r, 1), 1);
	/* tg_pick counts: least outstanding spreads held requests evenly,
	 * whichever worker picks (the count is shared) */
	for (i = 0; i < 4; i++)
		held[i] = tpick(&r.tg, (unsigned)i % 2, NULL);
	ck_assert_uint_eq(rinflight(&r, 0), 2);
	ck_assert_uint_eq(rinflight(&r, 1), 2);
	/* one of target 0's requests ends: the next goes to target 0 */
	for (i = 0; i < 4 && ridx(&r, held[i]) != 0; i++)
		;
	ck_assert_int_lt(i, 4);
	tg_release(held[i]);
	ck_assert_uint_eq(rinflight(&r, 0), 1);
	t = tpick(&r.tg, 1, NULL);
	ck_assert_uint_eq(ridx(&r, t), 0);
	held[i] = t;
	/* a worker number beyond the slots wraps, it does not overrun */
	t = tpick(&r.tg, 7, NULL);
	ck_assert_ptr_nonnull(t);
	tg_release(t);
	for (i = 0; i < 4; i++)
		tg_release(held[i]);
	ck_assert_uint_eq(rinflight(&r, 0), 0);
	ck_assert_uint_eq(rinflight(&r, 1), 0);
	ck_assert_uint_eq(failopen(&r), 0);
	tg_destroy(&r.tg);

	/* an empty group: nothing, and no fail-open */
	rgroup_init(&r, "tg-empty", TG_ALGO_ROUND_ROBIN, NULL, 0, 2, 0);
	ck_assert_ptr_null(tpick(&r.tg, 0, NULL));
	ck_assert_ptr_null(tpick(&r.tg, 1, NULL));
	ck_assert_uint_eq(failopen(&r), 0);
	tg_destroy(&r.tg);
}
END_TEST

START_TEST(test_tg_passive)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	struct rgroup r;
	struct target *a, *b, *c, *d;
	int i;

	rgroup_init(&r, "tg-passive", TG_ALGO_ROUND_ROBIN, w, 4, 1, 0);
	a = rt(&r, 0);
	b = rt(&r, 1);
	c = rt(&r, 2);
	d = rt(&r, 3);
	for (i = 0; i < 4; i++)
		set_routable(rt(&r, (size_t)i), 1);

	/* max 3: the third failure in a row takes it out */
	tg_passive_failure(a, 3);
	tg_passive_failure(a, 3);
	ck_assert_uint_eq(atomic_load(&a->st->passive_fails), 2);
	ck_assert_int_eq(atomic_load(&a->st->passive_down), 0);
	ck_assert(tg_target_up(a));
	tg_passive_failure(a, 3);
	ck_assert_uint_eq(atomic_load(&a->st->passive_fails), 3);
	ck_assert_int_eq(atomic_load(&a->st->passive_down), 1);
	ck_assert(!tg_target_up(a));
	/* out of rotation at once */
	for (i = 0; i < 30; i++) {
		struct target *t = tpick(&r.tg, 0, NULL);

		ck_assert_uint_ne(ridx(&r, t), 0);
		tg_release(t);
	}
	/* a success resets the count, but only an active check (health.c)
	 * brings it back */
	tg_passive_success(a);
	ck_assert_uint_eq(atomic_load(&a->st->passive_fails), 0);
	ck_assert_int_eq(atomic_load(&a->st->passive_down), 1);

	/* consecutive: a success in between starts the count again */
	tg_passive_failure(b, 3);
	tg_passive_failure(b, 3);
	tg_passive_success(b);
	ck_assert_uint_eq(atomic_load(&b->st->passive_fails), 0);
	tg_passive_failure(b, 3);
	tg_passive_failure(b, 3);
	ck_assert_int_eq(atomic_load(&b->st->passive_down), 0);
	tg_passive_failure(b, 3);
	ck_assert_int_eq(atomic_load(&b->st->passive_down), 1);
	/* more failures keep it down */
	tg_passive_failure(b, 3);
	ck_assert_int_eq(atomic_load(&b->st->passive_down), 1);
	/* a success on a target with no failures changes nothing */
	tg_passive_success(c);
	ck_assert_uint_eq(atomic_load(&c->st->passive_fails), 0);
	ck_assert_int_eq(atomic_load(&c->st->passive_down), 0);

	/* max 0: never taken out */
	for (i = 0; i < 1000; i++)
		tg_passive_failure(c, 0);
	ck_assert_int_eq(atomic_load(&c->st->passive_down), 0);
	ck_assert(tg_target_up(c));

	/* max 1: the first failure */
	tg_passive_failure(d, 1);
	ck_assert_int_eq(atomic_load(&d->st->passive_down), 1);

	/* c is the only one up now */
	for (i = 0; i < 10; i++) {
		struct target *t = tpick(&r.tg, 0, NULL);

		ck_assert_uint_eq(ridx(&r, t), 2);
		tg_release(t);
	}
	ck_assert_uint_eq(failopen(&r), 0);
	tg_destroy(&r.tg);
}
END_TEST

START_TEST(test_tg_pick_slow_start)
{
	static const unsigned w[] = { 1, 1 };
	struct rgroup r;
	unsigned count[2] = { 0, 0 };
	uint64_t now = clock_ms();
	int i;

	if (now < 20001)
		return; /* too soon after boot to place a ramp in the past */

	/* tpick() passes clock_ms() when the group has a slow start */
	rgroup_init(&r, "tg-slow", TG_ALGO_ROUND_ROBIN, w, 2, 1, 10000);
	set_routable(rt(&r, 0), 1);
	set_routable(rt(&r, 1), 1);
	/* halfway through the ramp: about 500 against 1000, one in three
	 * (a little more as the clock moves on: 0.1 per ms) */
	atomic_store(&rt(&r, 0)->st->ramp_start, now - 5000);
	for (i = 0; i < 300; i++) {
		struct target *t = tpick(&r.tg, 0, NULL);

		count[ridx(&r, t)]++;
		tg_release(t);
	}
	ck_assert_msg(count[0] >= 95 && count[0] <= 110, "ramping target got %u of 300", count[0]);
	tg_destroy(&r.tg);

	/* the ramp long over: an even share */
	rgroup_init(&r, "tg-slow-done", TG_ALGO_ROUND_ROBIN, w, 2, 1, 10000);
	set_routable(rt(&r, 0), 1);
	set_routable(rt(&r, 1), 1);
	atomic_store(&rt(&r, 0)->st->ramp_start, now - 20000);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 300; i++) {
		struct target *t = tpick(&r.tg, 0, NULL);

		count[ridx(&r, t)]++;
		tg_release(t);
	}
	ck_assert_uint_eq(count[0], 150);
	ck_assert_uint_eq(count[1], 150);
	tg_destroy(&r.tg);
}
END_TEST

/* ------------------------------------------------------------ main */

static Suite *balancer_suite(void)
{
	Suite *s = suite_create("balancer");
	TCase *tc;

	tc = tcase_create("ops");
	tcase_add_test(tc, test_ops_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("round_robin");
	tcase_add_test(tc, test_rr_equal_alternate);
	tcase_add_test(tc, test_rr_weights_123);
	tcase_add_test(tc, test_rr_smooth_511);
	tcase_add_test(tc, test_rr_avoid);
	tcase_add_test(tc, test_rr_all_avoided);
	tcase_add_test(tc, test_rr_weight_zero);
	tcase_add_test(tc, test_rr_empty);
	tcase_add_test(tc, test_rr_per_worker);
	tcase_add_test(tc, test_rr_equal_many);
	tcase_add_test(tc, test_rr_equal_or_scores);
	suite_add_tcase(s, tc);

	tc = tcase_create("least_outstanding");
	tcase_add_test(tc, test_lor_fewest);
	tcase_add_test(tc, test_lor_weighted);
	tcase_add_test(tc, test_lor_tie_two);
	tcase_add_test(tc, test_lor_tie_three);
	tcase_add_test(tc, test_lor_weighted_idle);
	tcase_add_test(tc, test_lor_avoid);
	tcase_add_test(tc, test_lor_weight_zero_empty);
	tcase_add_test(tc, test_lor_slow_target);
	tcase_add_test(tc, test_lor_weights_outstanding);
	tcase_add_test(tc, test_lor_large_inflight);
	tcase_add_test(tc, test_lor_counter_top);
	tcase_add_test(tc, test_lor_per_worker);
	tcase_add_test(tc, test_lor_equal_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("health");
	tcase_add_loop_test(tc, test_not_up, 0, (int)(sizeof(all_ops) / sizeof(all_ops[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("slow_start");
	tcase_add_test(tc, test_weight_slow_start);
	tcase_add_test(tc, test_rr_slow_start);
	tcase_add_test(tc, test_lor_slow_start);
	suite_add_tcase(s, tc);

	tc = tcase_create("target_group");
	tcase_add_test(tc, test_tg_init_states);
	tcase_add_test(tc, test_tg_pick_failopen);
	tcase_add_test(tc, test_tg_pick_req);
	tcase_add_test(tc, test_tg_pick_avoid);
	tcase_add_test(tc, test_tg_pick_inflight);
	tcase_add_test(tc, test_tg_passive);
	tcase_add_test(tc, test_tg_pick_slow_start);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(balancer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
