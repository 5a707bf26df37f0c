/* test_balancer.c - unit tests of the balancing algorithms
 * (src/proxy/balancer_rr.c and src/proxy/balancer_lor.c) through
 * struct balancer_ops.
 *
 * Groups are built by hand here, without target_group.c: every target gets
 * its own struct target_state (refs/inflight/retired atomic_init'ed) and
 * every worker slot a zeroed `current` array of ntargets scores. tg_pick()
 * counts a picked request as outstanding; the tests do the same themselves
 * (pick_count() below) and release with release() where the scenario says
 * the request is over.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/proxy/balancer.h"
#include "../../src/proxy/target_group.h"

/* ------------------------------------------------------------ helpers */

struct group {
	struct target_group tg;
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
		st->id = (unsigned)i + 1;
		st->tg_name = tg_name;
		snprintf(st->addr.text, sizeof(st->addr.text), "10.0.0.%zu:80", i + 1);
		st->addr.port = 80;
		atomic_init(&st->inflight, 0);
		atomic_init(&st->retired, 0);
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
		g->tg.slots[w].next = 0;
	}
	g->tg.cfg = NULL;
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

/* What tg_pick() does: the algorithm's choice, counted as outstanding. */
static struct target *pick_count(struct group *g, unsigned worker, const struct target *avoid)
{
	struct target *t = g->tg.ops->pick(&g->tg, worker, avoid);

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
		ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, &g.tg.targets[0]));
	/* and is still picked when not avoided */
	ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), 0);
	ck_assert_uint_eq(idx(&g, pick_count(&g, 0, NULL)), 0);
	group_free(&g);

	/* the only weighted target is avoided, the others have weight 0 */
	group_init(&g, &balancer_rr_ops, w, 3, 1);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, &g.tg.targets[1]));
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
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, NULL));
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, NULL));
	group_free(&g);
}
END_TEST

START_TEST(test_rr_empty)
{
	struct group g;

	group_init(&g, &balancer_rr_ops, NULL, 0, 2);
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, NULL));
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 1, NULL));
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
	/* 1 and 2 tie at 3; neither 0 (5) nor 3 (4) */
	t = pick_count(&g, 0, NULL);
	ck_assert(idx(&g, t) == 1 || idx(&g, t) == 2);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_weighted)
{
	static const unsigned w[] = { 2, 1 };
	static const unsigned w_rev[] = { 1, 2 };
	struct group g;

	/* 3/2 < 2/1: the first, although it has more in flight */
	group_init(&g, &balancer_lor_ops, w, 2, 1);
	set_inflight(&g, 0, 3);
	set_inflight(&g, 1, 2);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 0);
	/* 5/2 > 2/1: the second */
	set_inflight(&g, 0, 5);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 1);
	group_free(&g);

	/* the same comparisons with the targets the other way round */
	group_init(&g, &balancer_lor_ops, w_rev, 2, 1);
	set_inflight(&g, 0, 2);
	set_inflight(&g, 1, 3);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 1);
	set_inflight(&g, 1, 5);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 0);
	group_free(&g);
}
END_TEST

START_TEST(test_lor_tie_two)
{
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

START_TEST(test_lor_tie_weighted_idle)
{
	/* idle targets all tie whatever their weight: each gets its turn */
	static const unsigned w[] = { 1, 5 };
	struct group g;
	unsigned count[2] = { 0, 0 };
	int i;

	group_init(&g, &balancer_lor_ops, w, 2, 1);
	for (i = 0; i < 100; i++) {
		struct target *t = pick_count(&g, 0, NULL);

		count[idx(&g, t)]++;
		release(t);
	}
	ck_assert_uint_eq(count[0], 50);
	ck_assert_uint_eq(count[1], 50);
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
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, &g.tg.targets[0])), 2);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, &g.tg.targets[2])), 0);
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
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, &g.tg.targets[0]));
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 0);
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
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, &g.tg.targets[1]));
	group_free(&g);

	group_init(&g, &balancer_lor_ops, zeros, 2, 1);
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, NULL));
	group_free(&g);

	group_init(&g, &balancer_lor_ops, NULL, 0, 2);
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 0, NULL));
	ck_assert_ptr_null(g.tg.ops->pick(&g.tg, 1, NULL));
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
	static const unsigned w[] = { 999, 1 };
	static const unsigned w2[] = { 999, 750 };
	static const unsigned w3[] = { 999, 999 };
	struct group g;

	/* 4e9/999 = 4004004.004: just above 4004004/1, just below 4004005/1 */
	group_init(&g, &balancer_lor_ops, w, 2, 1);
	set_inflight(&g, 0, 4000000000u);
	set_inflight(&g, 1, 4004004u);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 1);
	set_inflight(&g, 1, 4004005u);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 0);
	group_free(&g);

	/* products near 3e12, far beyond 32 bits */
	group_init(&g, &balancer_lor_ops, w2, 2, 1);
	set_inflight(&g, 0, 4000000000u); /* 4004004.004 */
	set_inflight(&g, 1, 3000000000u); /* 4000000 */
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 1);
	set_inflight(&g, 1, 3003004000u); /* 4004005.333 */
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 0);
	group_free(&g);

	/* at the top of the counter's range, one request decides */
	group_init(&g, &balancer_lor_ops, w3, 2, 1);
	set_inflight(&g, 0, 4294967295u);
	set_inflight(&g, 1, 4294967294u);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 1);
	set_inflight(&g, 0, 4294967293u);
	ck_assert_uint_eq(idx(&g, g.tg.ops->pick(&g.tg, 0, NULL)), 0);
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
	suite_add_tcase(s, tc);

	tc = tcase_create("least_outstanding");
	tcase_add_test(tc, test_lor_fewest);
	tcase_add_test(tc, test_lor_weighted);
	tcase_add_test(tc, test_lor_tie_two);
	tcase_add_test(tc, test_lor_tie_three);
	tcase_add_test(tc, test_lor_tie_weighted_idle);
	tcase_add_test(tc, test_lor_avoid);
	tcase_add_test(tc, test_lor_weight_zero_empty);
	tcase_add_test(tc, test_lor_slow_target);
	tcase_add_test(tc, test_lor_weights_outstanding);
	tcase_add_test(tc, test_lor_large_inflight);
	tcase_add_test(tc, test_lor_per_worker);
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
