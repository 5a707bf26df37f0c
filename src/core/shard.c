/* shard.c - the registry of shard entities (see shard.h). The lock guards
 * the list only: counting never takes it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "shard.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shard_entity *reg_head, *reg_tail;
/* a hash of the keys, so that a reload with 100,000 targets stays linear */
static struct shard_entity **buckets;
static size_t nbuckets, count;
static unsigned nblocks = 2;
static struct shard_entity *lb;

int shard_init(unsigned nworkers)
{
	nblocks = nworkers + 1;
	lb = shard_get(SHARD_LB, NULL, NULL);
	return lb ? 0 : -1;
}

struct shard_entity *shard_lb(void)
{
	return lb;
}

unsigned shard_nblocks(void)
{
	return nblocks;
}

static int streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

static uint64_t key_hash(enum shard_level level, const char *tg, const char *target)
{
	return fnv(fnv(0xcbf29ce484222325ULL ^ (uint64_t)level, tg), target);
}

/* Grow the table to twice the entities (best effort: a failed allocation
 * keeps the chains longer). */
static void grow(void)
{
	if (count < nbuckets)
		return;
	size_t n = nbuckets ? nbuckets * 2 : 256;
	struct shard_entity **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (struct shard_entity *e = reg_head; e; e = e->next) {
		e->hnext = b[e->hash & (n - 1)];
		b[e->hash & (n - 1)] = e;
	}
	free(buckets);
	buckets = b;
	nbuckets = n;
}

static void unhash(struct shard_entity *e)
{
	if (!nbuckets)
		return;
	for (struct shard_entity **pp = &buckets[e->hash & (nbuckets - 1)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			return;
		}
	}
}

int shard_record_ns(struct shard_block *b, uint64_t ns, unsigned idx)
{
	struct hist_dense *h = atomic_load_explicit(&b->lat, memory_order_relaxed);

	if (!h) {
		if (!(h = aligned_alloc(64, (sizeof(*h) + 63) / 64 * 64)))
			return -1;
		memset(h, 0, sizeof(*h));
		/* release: the reader sees it zeroed */
		atomic_store_explicit(&b->lat, h, memory_order_release);
	}
	hist_dense_add(h, idx);
	/* the sum last, released: a fold that sees it sees the bucket too
	 * (a fold that sees no new sum skips the histogram) */
	_Atomic uint64_t *s = &b->c[M_TARGET_RESPONSE_TIME];
	atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + ns, memory_order_release);
	return 0;
}

static void entity_free(struct shard_entity *e)
{
	for (unsigned i = 0; e->b && i < nblocks; i++)
		free(atomic_load(&e->b[i].lat));
	free(e->tg);
	free(e->target);
	free(e->b);
	free(e);
}

struct shard_entity *shard_get(enum shard_level level, const char *tg, const char *target)
{
	struct shard_entity *e;

	uint64_t h = key_hash(level, tg, target);

	pthread_mutex_lock(&reg_lock);
	for (e = nbuckets ? buckets[h & (nbuckets - 1)] : NULL; e; e = e->hnext) {
		/* a retired entity is not revived: shard_reap() may be about
		 * to free it; its last counts are folded all the same */
		if (e->level == level && streq(e->tg, tg) && streq(e->target, target) &&
		    atomic_load(&e->refs) > 0) {
			atomic_fetch_add(&e->refs, 1);
			pthread_mutex_unlock(&reg_lock);
			return e;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto fail;
	e->level = level;
	e->b = aligned_alloc(64, sizeof(struct shard_block) * nblocks);
	if (e->b)
		memset(e->b, 0, sizeof(struct shard_block) * nblocks);   /* entity_free() reads lat */
	if (!e->b || (tg && !(e->tg = strdup(tg))) || (target && !(e->target = strdup(target)))) {
		entity_free(e);
		e = NULL;
		goto fail;
	}
	atomic_init(&e->refs, 1);
	e->hash = h;
	grow();   /* before E is listed: it rehashes what is listed */
	count++;
	if (reg_tail)
		reg_tail->next = e;
	else
		reg_head = e;
	reg_tail = e;
	if (nbuckets) {
		e->hnext = buckets[h & (nbuckets - 1)];
		buckets[h & (nbuckets - 1)] = e;
	}
fail:
	pthread_mutex_unlock(&reg_lock);
	return e;
}

void shard_unref(struct shard_entity *e)
{
	if (e)
		atomic_fetch_sub(&e->refs, 1);
}

void shard_foreach(void (*fn)(struct shard_entity *e, void *arg), void *arg)
{
	pthread_mutex_lock(&reg_lock);
	for (struct shard_entity *e = reg_head; e; e = e->next)
		fn(e, arg);
	pthread_mutex_unlock(&reg_lock);
}

static void reap(void (*fn)(struct shard_entity *e, void *arg), void *arg, int all)
{
	struct shard_entity *e, *prev = NULL, *next;

	pthread_mutex_lock(&reg_lock);
	for (e = reg_head; e; e = next) {
		next = e->next;
		if (!all && atomic_load(&e->refs) > 0) {
			prev = e;
			continue;
		}
		if (prev)
			prev->next = next;
		else
			reg_head = next;
		if (reg_tail == e)
			reg_tail = prev;
		unhash(e);
		count--;
		if (fn)
			fn(e, arg);
		entity_free(e);
	}
	pthread_mutex_unlock(&reg_lock);
}

void shard_reap(void (*fn)(struct shard_entity *e, void *arg), void *arg)
{
	reap(fn, arg, 0);
}

void shard_shutdown(void (*fn)(struct shard_entity *e, void *arg), void *arg)
{
	reap(fn, arg, 1);
	lb = NULL;
	free(buckets);
	buckets = NULL;
	nbuckets = 0;
}
