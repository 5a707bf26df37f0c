/* target_group.h - target groups of one config generation, and the runtime
 * state of each target, which lives outside any generation.
 *
 * struct target_state is keyed by (target group name, address) and shared by
 * every generation that names that target, so a reload keeps its counters
 * (outstanding requests now; health, slow start and draining later). It is
 * refcounted: generations and upstream connections hold references.
 *
 * struct target_group / struct target belong to one generation (gen.h)
 * and are immutable once built, except for the per-worker balancer slots,
 * each written only by its own worker.
 */
#ifndef ALBD_TARGET_GROUP_H
#define ALBD_TARGET_GROUP_H

#include <stdatomic.h>
#include <stdint.h>

#include "../core/config.h"
#include "../core/shard.h"

/* Target health states, with ALB's names (health.c decides them). */
enum ts_health {
	TS_INITIAL = 0,   /* "initial": registered, no check has passed yet */
	TS_HEALTHY,       /* "healthy" */
	TS_UNHEALTHY,     /* "unhealthy" */
	TS_DRAINING,      /* "draining": removed by a reload, in-flight requests finish */
	TS_UNUSED,        /* "unused": drained, or its group in no listener's actions */
};

struct upconn;

/* A target's state on one worker, written only by that worker: its idle
 * keep-alive connections (upstream.c) and, later, its counters. One cache
 * line each, so that two workers never write the same line. It lives with
 * the target state, so it survives reloads and goes with the target: no
 * per-worker array indexed by target grows with every target ever
 * registered. */
struct ts_worker {
	struct upconn *idle;          /* idle pooled connections, most recently used first */
	unsigned nidle;
	char _pad[64 - sizeof(struct upconn *) - sizeof(unsigned)];
};

struct target_state {
	atomic_uint refs;
	char *tg_name;
	struct albd_addr addr;
	atomic_uint inflight;         /* outstanding requests, all workers together */
	atomic_int retired;           /* 1 once no current generation names it */
	/* health (written by the control thread, health.c) */
	atomic_int health;            /* enum ts_health */
	atomic_int routable;          /* 1: may get new requests (healthy, not held down) */
	atomic_ullong ramp_start;     /* slow start: clock_ms() when it became healthy, 0 = full weight */
	atomic_int drain_expired;     /* deregistration delay over: close what still runs on it */
	/* passive failure detection (written by workers, cleared by health.c) */
	atomic_uint passive_fails;    /* consecutive connection failures on traffic */
	atomic_int passive_down;      /* 1: passive_failures reached; out until an active check passes */
	unsigned long build_mark;     /* the last gen_build() that named it (control thread) */
	void *hc_probe;               /* health.c's probe of it, NULL if none (control thread) */
	struct ts_worker *pw;         /* one per worker (npw), each written by its worker only */
	unsigned npw;
	struct shard_entity *ms;      /* its metrics (Target dimension), one reference */
	struct target_state *next;    /* registry hash chain (registry lock) */
};

struct target {
	const struct cfg_target *cfg;
	struct target_state *st;      /* one reference held by the generation */
	unsigned weight;
	unsigned index;               /* position in its group */
	uint64_t sticky_id;           /* what stickiness cookies call it (sticky.h); 0 in a group
	                               * without stickiness */
};

/* Per-worker balancer state, written only by its worker. Padded so that two
 * workers never share a cache line. */
struct tg_slot {
	int64_t *current;             /* smooth weighted round robin scores, one per target
	                               * (round robin; least outstanding among ties) */
	size_t next;                  /* equal weights: where the next pick starts looking
	                               * (balancer_rr.c, balancer_lor.c) */
	int equal;                    /* 0: not known yet; 1: every weighted target has the same
	                               * weight and no slow start; -1: not (balancer_equal_weights) */
	char _pad[64 - sizeof(int64_t *) - sizeof(size_t) - sizeof(int)];
};

struct balancer_ops;
struct tls_client;

struct target_group {
	const struct cfg_target_group *cfg;
	const struct balancer_ops *ops;
	struct target *targets;
	size_t ntargets;
	struct tg_slot *slots;        /* one per worker */
	unsigned nslots;
	atomic_ulong failopen_picks;  /* requests routed while no target was up */
	struct tls_client *tls;       /* HTTPS targets: the client context (the generation owns it) */
	struct shard_entity *ms;      /* its metrics (TargetGroup dimension), one reference */
	uint64_t sticky_gid;          /* what a forward's AWSALBTG cookie calls the group */
	uint32_t *sticky_tab;         /* sticky_id -> index + 1 (0: empty), open addressing;
	                               * NULL in a group without stickiness */
	uint32_t sticky_mask;         /* its size - 1 (a power of two) */
};

/* May T get new requests: healthy, not held down, not taken out by
 * passive detection? Thread: any (relaxed atomic loads). */
static inline int tg_target_up(const struct target *t)
{
	return atomic_load_explicit(&t->st->routable, memory_order_relaxed) &&
	       !atomic_load_explicit(&t->st->passive_down, memory_order_relaxed);
}

/* T's weight for the balancers, scaled by 1000, with the slow start ramp:
 * a target that became healthy less than slow_start ago gets the elapsed
 * share of its weight (at least 1/1000). NOW is clock_ms(), or 0 when the
 * group has no slow start. Thread: any. */
static inline uint64_t tg_weight(const struct target_group *tg, const struct target *t, uint64_t now)
{
	uint64_t full = (uint64_t)t->weight * 1000u;
	unsigned ss = tg->cfg ? tg->cfg->slow_start_ms : 0;

	if (!ss || !now)
		return full;
	uint64_t start = atomic_load_explicit(&t->st->ramp_start, memory_order_relaxed);
	if (!start || now >= start + ss)
		return full;
	uint64_t w = full * (now > start ? now - start : 0) / ss;
	return w ? w : 1;
}

/* Find or create the state of target ADDR in group TG_NAME and return it
 * with one new reference; a new one gets per-worker state for NWORKERS
 * workers (the worker count never changes while albd runs). Returns NULL
 * on allocation failure.
 * Thread: any (takes the registry lock); not for the request path. */
struct target_state *ts_get(const char *tg_name, const struct albd_addr *addr, unsigned nworkers);

/* Take / drop a reference. The last ts_unref() frees the state.
 * Thread: any. */
void ts_ref(struct target_state *ts);
void ts_unref(struct target_state *ts);

/* Build the runtime group for CFG with one balancer slot per worker; takes a
 * target_state reference for every target and clears their retired flag.
 * Returns 0, or -1 on allocation failure (tg is then empty and safe to
 * destroy). Thread: control. */
int tg_init(struct target_group *tg, const struct cfg_target_group *cfg, unsigned nworkers);

/* Release what tg_init() took. Thread: any (the last user of a generation). */
void tg_destroy(struct target_group *tg);

#define PICK_TRIED_MAX 4   /* targets a request remembers as failed */

/* What one request asks of a group's balancer. Zero it, set WORKER, and
 * add what failed with pick_req_tried(); a sticky session names its
 * target in STICKY (tg_find_sticky). */
struct pick_req {
	unsigned worker;              /* the picking worker (its balancer scores) */
	uint64_t now;                 /* clock_ms() for the slow start ramp, 0: none (tg_pick sets it) */
	const struct target *tried[PICK_TRIED_MAX];  /* failed for this request: not again */
	unsigned ntried;
	const struct target *sticky;  /* take this target if it can have the request, or NULL */
	unsigned failopen : 1;        /* out: tg_pick() failed open for this request */
};

/* Has RQ tried T already? */
static inline int pick_tried(const struct pick_req *rq, const struct target *t)
{
	for (unsigned i = 0; i < rq->ntried; i++)
		if (rq->tried[i] == t)
			return 1;
	return 0;
}

/* T failed this request: pick others from now on (the oldest is forgotten
 * beyond PICK_TRIED_MAX). */
static inline void pick_req_tried(struct pick_req *rq, const struct target *t)
{
	if (rq->ntried == PICK_TRIED_MAX) {
		for (unsigned i = 1; i < PICK_TRIED_MAX; i++)
			rq->tried[i - 1] = rq->tried[i];
		rq->ntried--;
	}
	rq->tried[rq->ntried++] = t;
}

/* Pick a target for request RQ, and count it as outstanding: RQ's sticky
 * target when it can take it (up, weighted, not tried; or, when no target
 * is up, still the sticky one), else the balancer's choice among the
 * targets that are up (tg_target_up) and not tried. When none is up, the
 * group fails open to all its targets, as an ALB does, and counts it in
 * failopen_picks; a retry whose untried targets are all down tries one
 * anyway. Returns NULL when no target is eligible. Every non-NULL result
 * must be given back with tg_release() exactly once, whatever happens to
 * the request. Thread: the worker RQ->worker only. */
struct target *tg_pick(struct target_group *tg, struct pick_req *rq);

/* The target of TG whose sticky_id is ID, or NULL (none: deregistered,
 * or a group without stickiness). Thread: any. */
struct target *tg_find_sticky(const struct target_group *tg, uint64_t id);

/* The request picked on T is over. Thread: any worker. */
void tg_release(struct target *t);

/* Passive health: a connection to T failed (refused, reset, timed out)
 * on real traffic / T answered. After MAX consecutive failures (0 = never)
 * T is taken out of rotation at once, until an active check passes.
 * Thread: any worker. */
void tg_passive_failure(const struct target *t, unsigned max);
void tg_passive_success(const struct target *t);

#endif
