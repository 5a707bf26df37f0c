/* target_group.c - see target_group.h */
#include "target_group.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "balancer.h"
#include "sticky.h"

/* The registry of target states: a hash table keyed by (target group name,
 * address), chained through target_state.next, so that building a
 * generation of n targets costs O(n), not O(n^2). Looked up when a
 * generation is built and changed when the last reference to a state goes;
 * never on the request path, so a plain mutex is right here. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct target_state **buckets;
	size_t nbuckets;   /* 0 or a power of two */
	size_t count;
} reg;

static size_t reg_hash(const char *tg_name, const struct albd_addr *addr)
{
	uint64_t h = config_addr_hash(addr);

	for (const unsigned char *p = (const unsigned char *)tg_name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)(h ^ (h >> 31));
}

/* Double the table (from 64 buckets) once it holds as many states as
 * buckets. On allocation failure the table stays as it is: chains get
 * longer, nothing breaks. Registry lock held. */
static void reg_grow(void)
{
	size_t n = reg.nbuckets ? reg.nbuckets * 2 : 64;
	struct target_state **b;

	if (reg.count < reg.nbuckets || !(b = calloc(n, sizeof(*b))))
		return;
	for (size_t i = 0; i < reg.nbuckets; i++) {
		struct target_state *ts = reg.buckets[i], *next;
		for (; ts; ts = next) {
			size_t h = reg_hash(ts->tg_name, &ts->addr) & (n - 1);
			next = ts->next;
			ts->next = b[h];
			b[h] = ts;
		}
	}
	free(reg.buckets);
	reg.buckets = b;
	reg.nbuckets = n;
}

struct target_state *ts_get(const char *tg_name, const struct albd_addr *addr, unsigned nworkers)
{
	struct target_state *ts;
	size_t h = reg_hash(tg_name, addr);

	pthread_mutex_lock(&reg_lock);
	for (ts = reg.nbuckets ? reg.buckets[h & (reg.nbuckets - 1)] : NULL; ts; ts = ts->next) {
		if (strcmp(ts->tg_name, tg_name) == 0 && config_addr_equal(&ts->addr, addr)) {
			atomic_fetch_add(&ts->refs, 1);
			pthread_mutex_unlock(&reg_lock);
			return ts;
		}
	}
	reg_grow();
	ts = reg.nbuckets ? calloc(1, sizeof(*ts)) : NULL;
	if (ts) {
		ts->npw = nworkers ? nworkers : 1;
		ts->tg_name = strdup(tg_name);
		ts->pw = aligned_alloc(64, ts->npw * sizeof(*ts->pw));
		if (!ts->tg_name || !ts->pw) {
			free(ts->tg_name);
			free(ts->pw);
			free(ts);
			ts = NULL;
		} else {
			memset(ts->pw, 0, ts->npw * sizeof(*ts->pw));
			/* its metrics; without them the target still works */
			ts->ms = shard_get(SHARD_TARGET, tg_name, addr->text);
		}
	}
	if (ts) {
		atomic_init(&ts->refs, 1);
		atomic_init(&ts->inflight, 0);
		atomic_init(&ts->retired, 0);
		atomic_init(&ts->health, TS_INITIAL);
		atomic_init(&ts->routable, 0);
		atomic_init(&ts->ramp_start, 0);
		atomic_init(&ts->drain_expired, 0);
		atomic_init(&ts->passive_fails, 0);
		atomic_init(&ts->passive_down, 0);
		ts->addr = *addr;
		ts->next = reg.buckets[h & (reg.nbuckets - 1)];
		reg.buckets[h & (reg.nbuckets - 1)] = ts;
		reg.count++;
	}
	pthread_mutex_unlock(&reg_lock);
	return ts;
}

void ts_ref(struct target_state *ts)
{
	atomic_fetch_add_explicit(&ts->refs, 1, memory_order_relaxed);
}

void ts_unref(struct target_state *ts)
{
	struct target_state **pp;

	if (!ts)
		return;
	/* Fast path: not the last reference. The registry lock is taken only
	 * for the last one, so that ts_get() never revives a dying state. */
	unsigned r = atomic_load(&ts->refs);
	while (r > 1) {
		if (atomic_compare_exchange_weak(&ts->refs, &r, r - 1))
			return;
	}
	pthread_mutex_lock(&reg_lock);
	if (atomic_fetch_sub(&ts->refs, 1) != 1) {
		pthread_mutex_unlock(&reg_lock);
		return;
	}
	pp = reg.nbuckets ? &reg.buckets[reg_hash(ts->tg_name, &ts->addr) & (reg.nbuckets - 1)] : NULL;
	for (; pp && *pp; pp = &(*pp)->next) {
		if (*pp == ts) {
			*pp = ts->next;
			reg.count--;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	shard_unref(ts->ms);
	free(ts->pw);
	free(ts->tg_name);
	free(ts);
}

/* The targets' sticky ids and the table that finds them: at least twice
 * as many slots as targets, linear probing. */
static int tg_sticky_index(struct target_group *tg)
{
	size_t size = 8;

	while (size < tg->ntargets * 2)
		size *= 2;
	tg->sticky_tab = calloc(size, sizeof *tg->sticky_tab);
	if (!tg->sticky_tab)
		return -1;
	tg->sticky_mask = (uint32_t)(size - 1);
	for (size_t i = 0; i < tg->ntargets; i++) {
		struct target *t = &tg->targets[i];
		uint32_t h;

		t->sticky_id = sticky_id(tg->cfg->name, &t->st->addr);
		for (h = (uint32_t)t->sticky_id & tg->sticky_mask; tg->sticky_tab[h]; h = (h + 1) & tg->sticky_mask)
			;
		tg->sticky_tab[h] = (uint32_t)i + 1;
	}
	return 0;
}

struct target *tg_find_sticky(const struct target_group *tg, uint64_t id)
{
	if (!tg->sticky_tab)
		return NULL;
	for (uint32_t h = (uint32_t)id & tg->sticky_mask; tg->sticky_tab[h]; h = (h + 1) & tg->sticky_mask) {
		struct target *t = &tg->targets[tg->sticky_tab[h] - 1];
		if (t->sticky_id == id)
			return t;
	}
	return NULL;
}

int tg_init(struct target_group *tg, const struct cfg_target_group *cfg, unsigned nworkers)
{
	memset(tg, 0, sizeof(*tg));
	tg->cfg = cfg;
	atomic_init(&tg->failopen_picks, 0);
	tg->ms = shard_get(SHARD_TG, cfg->name, NULL);
	tg->ops = cfg->algorithm == TG_ALGO_LEAST_OUTSTANDING ? &balancer_lor_ops : &balancer_rr_ops;
	if (cfg->ntargets) {
		tg->targets = calloc(cfg->ntargets, sizeof(*tg->targets));
		if (!tg->targets)
			return -1;
	}
	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct target *t = &tg->targets[i];
		t->cfg = &cfg->targets[i];
		t->weight = cfg->targets[i].weight;
		t->index = (unsigned)i;
		t->st = ts_get(cfg->name, &cfg->targets[i].addr, nworkers);
		if (!t->st)
			return -1;
		tg->ntargets++;
		atomic_store(&t->st->retired, 0);
	}
	tg->sticky_gid = sticky_id(cfg->name, NULL);
	if (cfg->stickiness.type != CFG_STICKY_NONE && tg_sticky_index(tg) < 0)
		return -1;
	/* cache-line aligned, so that workers never write to one line */
	size_t nslots = nworkers ? nworkers : 1;
	tg->slots = aligned_alloc(64, nslots * sizeof(*tg->slots));
	if (!tg->slots)
		return -1;
	memset(tg->slots, 0, nslots * sizeof(*tg->slots));
	tg->nslots = (unsigned)nslots;
	for (unsigned w = 0; w < tg->nslots; w++) {
		if (cfg->ntargets && !(tg->slots[w].current = calloc(cfg->ntargets, sizeof(int64_t))))
			return -1;
	}
	return 0;
}

void tg_destroy(struct target_group *tg)
{
	for (size_t i = 0; i < tg->ntargets; i++)
		ts_unref(tg->targets[i].st);
	shard_unref(tg->ms);
	free(tg->targets);
	free(tg->sticky_tab);
	if (tg->slots) {
		for (unsigned w = 0; w < tg->nslots; w++)
			free(tg->slots[w].current);
		free(tg->slots);
	}
	memset(tg, 0, sizeof(*tg));
}

static int any_up(const struct target_group *tg)
{
	for (size_t i = 0; i < tg->ntargets; i++)
		if (tg->targets[i].weight && tg_target_up(&tg->targets[i]))
			return 1;
	return 0;
}

struct target *tg_pick(struct target_group *tg, struct pick_req *rq)
{
	struct target *t = NULL;

	if (tg->ntargets == 0)
		return NULL;
	rq->worker %= tg->nslots;
	rq->now = tg->cfg->slow_start_ms ? clock_ms() : 0;
	if (rq->sticky && balancer_eligible(rq->sticky, rq, 0))
		t = (struct target *)rq->sticky;   /* one of tg's: tg_find_sticky() */
	if (!t)
		t = tg->ops->pick(tg, rq, 0);
	if (!t) {
		/* No target is up: fail open to all of them, as an ALB does.
		 * Or the only ones up already failed this request: its retry
		 * may as well try a target that is not up than answer 502
		 * for sure. */
		int none_up = !any_up(tg);
		/* failing open, a sticky client stays where it was */
		if (none_up && rq->sticky && balancer_eligible(rq->sticky, rq, 1))
			t = (struct target *)rq->sticky;
		else if (none_up || rq->ntried)
			t = tg->ops->pick(tg, rq, 1);
		if (t && none_up) {
			atomic_fetch_add_explicit(&tg->failopen_picks, 1, memory_order_relaxed);
			rq->failopen = 1;
		}
	}
	if (t)
		atomic_fetch_add_explicit(&t->st->inflight, 1, memory_order_relaxed);
	return t;
}

void tg_release(struct target *t)
{
	atomic_fetch_sub_explicit(&t->st->inflight, 1, memory_order_relaxed);
}

void tg_passive_failure(const struct target *t, unsigned max)
{
	unsigned n = atomic_fetch_add_explicit(&t->st->passive_fails, 1, memory_order_relaxed) + 1;
	if (max && n >= max && !atomic_load_explicit(&t->st->passive_down, memory_order_relaxed))
		atomic_store_explicit(&t->st->passive_down, 1, memory_order_relaxed);
}

void tg_passive_success(const struct target *t)
{
	/* read first: a store on every response would bounce the line
	 * between workers */
	if (atomic_load_explicit(&t->st->passive_fails, memory_order_relaxed))
		atomic_store_explicit(&t->st->passive_fails, 0, memory_order_relaxed);
}
