/* shard.h - per-worker counters and latency histograms.
 *
 * A shard entity is what a metric is counted for: the load balancer, a
 * target group (by name) or a target (group name and address). It holds
 * one block per worker plus one for the control thread, each on its own
 * cache lines: a block is written by its one thread only, with plain
 * relaxed stores (no lock, no atomic read-modify-write), and read by the
 * control thread (control/metrics.c), which folds every block into the
 * store once a second.
 *
 * Entities are found by key (shard_get) when a generation is built, so
 * their number follows the config. They outlive reloads while something
 * uses them, and are freed by the control thread after their last counts
 * were folded (shard_reap): nothing counted is lost when a target goes.
 */
#ifndef ALBD_SHARD_H
#define ALBD_SHARD_H

#include <stdatomic.h>
#include <stdint.h>

#include "histogram.h"
#include "metrics.h"

enum shard_level {
	SHARD_LB = 0,
	SHARD_TG,
	SHARD_TARGET,
};

struct shard_block {
	_Atomic uint64_t c[M_NMETRICS];    /* MS_COUNT: a running total; MS_LEVEL: the level now;
	                                    * MS_LATENCY: the running sum of the samples in ns */
	/* TargetResponseTime's histogram (4.7 KB), made by the block's
	 * owner at its first sample: most targets of a large group never
	 * see traffic on most workers */
	_Atomic(struct hist_dense *) lat;
} __attribute__((aligned(64)));

struct shard_entity {
	enum shard_level level;
	char *tg;                 /* SHARD_TG, SHARD_TARGET: the target group's name */
	char *target;             /* SHARD_TARGET: "ip:port" */
	struct shard_block *b;    /* shard_nblocks() blocks: the workers', then the control thread's */
	atomic_uint refs;         /* 0: retired, freed by shard_reap() */
	void *ctl;                /* the control thread's fold state (control/metrics.c) */
	int applied;              /* a generation that has it went live (control): only then
	                           * does it get series (a refused reload's never does) */
	struct shard_entity *next;       /* registry order */
	struct shard_entity *hnext;      /* registry hash chain */
	uint64_t hash;
};

/* Set the number of workers (blocks are that plus one) and make the load
 * balancer's entity. Call once, before any shard_get(). Returns 0 or -1
 * (out of memory). Thread: control. */
int shard_init(unsigned nworkers);
unsigned shard_nblocks(void);

/* The load balancer's entity (NULL before shard_init()). Thread: any. */
struct shard_entity *shard_lb(void);

/* The index of the control thread's block. */
static inline unsigned shard_control(void)
{
	return shard_nblocks() - 1;
}

/* Find the live entity with this key, or make one (zeroed), and return it
 * with one more reference; NULL when out of memory. TG and TARGET are
 * copied (NULL for levels that have none). Thread: any but the request
 * path (takes the registry lock). */
struct shard_entity *shard_get(enum shard_level level, const char *tg, const char *target);

/* Drop a reference; the entity stays for shard_reap(). Thread: any. */
void shard_unref(struct shard_entity *e);

/* Block I of E. Thread: any. */
static inline struct shard_block *shard_block(const struct shard_entity *e, unsigned i)
{
	return &e->b[i];
}

/* Add V to counter M / set level M of a block. Thread: the block's owner. */
static inline void shard_add(struct shard_block *b, unsigned m, uint64_t v)
{
	atomic_store_explicit(&b->c[m], atomic_load_explicit(&b->c[m], memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void shard_set(struct shard_block *b, unsigned m, uint64_t v)
{
	atomic_store_explicit(&b->c[m], v, memory_order_relaxed);
}

/* Move level M of a block by D, up or down: for a level that several
 * parts of the owner keep (ActiveConnectionCount: client connections in
 * proxy.c, target connections in upstream.c). The fold sums the blocks
 * modulo 2^64, so the total is exact; a block's own value stays the
 * owner's count as long as every decrease follows its increase. Thread:
 * the block's owner. */
static inline void shard_level_add(struct shard_block *b, unsigned m, int64_t d)
{
	shard_add(b, m, (uint64_t)d);
}

/* Record a latency of NS nanoseconds whose histogram index is IDX
 * (hist_dense_index_ns(NS): computed once for all the blocks a request
 * counts in). Its sum goes to counter M_TARGET_RESPONSE_TIME. Returns -1
 * when the histogram cannot be made (out of memory: the sample is not
 * recorded). Thread: the block's owner. */
int shard_record_ns(struct shard_block *b, uint64_t ns, unsigned idx);

/* Read counter M of a block (acquire: a latency's sum is released after
 * its bucket, see shard_record_ns()). Thread: any. */
static inline uint64_t shard_read(const struct shard_block *b, unsigned m)
{
	return atomic_load_explicit(&b->c[m], memory_order_acquire);
}

/* Call FN for every entity, live or retired, in a stable order (oldest
 * first). FN must not call shard_get(). Thread: control. */
void shard_foreach(void (*fn)(struct shard_entity *e, void *arg), void *arg);

/* Free the retired entities (no reference left). FN is called for each
 * right before it goes, to fold its last counts and free its ctl: what a
 * worker counted before dropping the last reference is visible then.
 * Thread: control. */
void shard_reap(void (*fn)(struct shard_entity *e, void *arg), void *arg);

/* Free every entity, calling FN for each first (at exit, after the
 * workers are gone). Thread: control. */
void shard_shutdown(void (*fn)(struct shard_entity *e, void *arg), void *arg);

#endif
