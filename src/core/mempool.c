/* mempool.c - see mempool.h */
#include "mempool.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define MIN_SHIFT 10         /* 1 KiB: smaller blocks (an evbuffer, an event) live as
                              * long as their connection; rounding them up would only
                              * waste memory, so they go to malloc */
#define MAX_SHIFT 15         /* 32 KiB */
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define LIST_BYTES (64u * 1024)
#define LIST_BLOCKS 64u

struct block {
	struct block *next;
};

struct lists {
	struct block *head[NCLASS];
	unsigned n[NCLASS];
	int registered;          /* the exit destructor knows these lists */
};

static __thread struct lists tl;
static int installed;               /* mempool_install() gave libevent these lists */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void flush(void *arg)
{
	struct lists *l = arg;
	for (int k = 0; k < NCLASS; k++) {
		while (l->head[k]) {
			struct block *b = l->head[k];
			l->head[k] = b->next;
			free(b);
		}
		l->n[k] = 0;
	}
	l->registered = 0;
}

static void make_key(void)
{
	if (pthread_key_create(&exit_key, flush) != 0)
		exit_key = (pthread_key_t)-1;
}

/* N >= 2^MIN_SHIFT */
static unsigned ceil_shift(size_t n)
{
	return (unsigned)(sizeof(unsigned long) * 8 - (unsigned)__builtin_clzl((unsigned long)(n - 1)));
}

static unsigned floor_shift(size_t n)
{
	return (unsigned)(sizeof(unsigned long) * 8 - 1 - (unsigned)__builtin_clzl((unsigned long)n));
}

static unsigned limit(unsigned k)
{
	unsigned by_bytes = LIST_BYTES >> (k + MIN_SHIFT);
	return by_bytes < LIST_BLOCKS ? by_bytes : LIST_BLOCKS;
}

void *mempool_malloc(size_t n)
{
	if (n < ((size_t)1 << MIN_SHIFT))
		return malloc(n);
	unsigned s = ceil_shift(n);
	if (s > MAX_SHIFT)
		return malloc(n);
	unsigned k = s - MIN_SHIFT;
	struct block *b = tl.head[k];
	if (b) {
		tl.head[k] = b->next;
		tl.n[k]--;
		return b;
	}
	return malloc((size_t)1 << s);
}

void mempool_free(void *p)
{
	if (!p)
		return;
	size_t u = malloc_usable_size(p);
	/* a block of at least 2^s usable bytes serves class s, whoever asked
	 * for it first */
	unsigned s = u ? floor_shift(u) : 0;
	if (s < MIN_SHIFT || s > MAX_SHIFT) {
		free(p);
		return;
	}
	unsigned k = s - MIN_SHIFT;
	if (tl.n[k] >= limit(k)) {
		free(p);
		return;
	}
	if (!tl.registered) {
		pthread_once(&exit_once, make_key);
		if (exit_key == (pthread_key_t)-1 || pthread_setspecific(exit_key, &tl) != 0) {
			free(p);
			return;
		}
		tl.registered = 1;
	}
	struct block *b = p;
	b->next = tl.head[k];
	tl.head[k] = b;
	tl.n[k]++;
}

void *mempool_realloc(void *p, size_t n)
{
	if (!p)
		return mempool_malloc(n);
	if (n == 0) {
		mempool_free(p);
		return NULL;
	}
	size_t u = malloc_usable_size(p);
	if (n <= u)
		return p;
	void *q = mempool_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, u);
	mempool_free(p);
	return q;
}

size_t mempool_cached(void)
{
	size_t n = 0;
	for (int k = 0; k < NCLASS; k++)
		n += tl.n[k];
	return n;
}

int mempool_install(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return 0;
#else
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
	return 0;
#endif
#endif
	const char *e = getenv("ALBD_MEMPOOL");
	if (e && strcmp(e, "0") == 0)
		return 0;
	event_set_mem_functions(mempool_malloc, mempool_realloc, mempool_free);
	installed = 1;
	return 1;
#endif
}

int mempool_installed(void)
{
	return installed;
}
