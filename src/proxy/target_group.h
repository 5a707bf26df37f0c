/* target_group.h - target groups of one config generation, and the runtime
 * state of each target, which lives outside any generation.
 *
 * struct target_state is keyed by (target group name, address) and shared by
 * every generation that names that target, so a reload keeps its counters
 * (outstanding requests now; health, slow start and draining later). It is
 * refcounted: generations and upstream connections hold references.
 *
 * struct target_group / struct target belong to one generation (runtime.h)
 * and are immutable once built, except for the per-worker balancer slots,
 * each written only by its own worker.
 */
#ifndef ALBD_TARGET_GROUP_H
#define ALBD_TARGET_GROUP_H

#include <stdatomic.h>
#include <stdint.h>

#include "../core/config.h"

struct target_state {
	atomic_uint refs;
	unsigned id;                  /* unique for the life of the process, never reused */
	char *tg_name;
	struct albd_addr addr;
	atomic_uint inflight;         /* outstanding requests, all workers together */
	atomic_int retired;           /* 1 once no current generation names it */
	struct target_state *next;    /* registry chain (registry lock) */
};

struct target {
	const struct cfg_target *cfg;
	struct target_state *st;      /* one reference held by the generation */
	unsigned weight;
	unsigned index;               /* position in its group */
};

/* Per-worker balancer state, written only by its worker. Padded so that two
 * workers never share a cache line. */
struct tg_slot {
	int64_t *current;             /* smooth weighted round robin: one per target */
	unsigned next;                /* least outstanding: where the tie-break turn starts */
	char _pad[64 - sizeof(int64_t *) - sizeof(unsigned)];
};

struct balancer_ops;

struct target_group {
	const struct cfg_target_group *cfg;
	const struct balancer_ops *ops;
	struct target *targets;
	size_t ntargets;
	struct tg_slot *slots;        /* one per worker */
	unsigned nslots;
};

/* Find or create the state of target ADDR in group TG_NAME and return it
 * with one new reference. Returns NULL on allocation failure.
 * Thread: any (takes the registry lock); not for the request path. */
struct target_state *ts_get(const char *tg_name, const struct albd_addr *addr);

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

/* Pick a target for a new request on WORKER, never AVOID (may be NULL), and
 * count it as outstanding. Returns NULL when the group has no eligible
 * target. Every non-NULL result must be given back with tg_release() exactly
 * once, whatever happens to the request. Thread: the worker WORKER only. */
struct target *tg_pick(struct target_group *tg, unsigned worker, const struct target *avoid);

/* The request picked on T is over. Thread: any worker. */
void tg_release(struct target *t);

#endif
