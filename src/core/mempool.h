/* mempool.h - per-thread free lists for libevent's memory (buffer chains,
 * evbuffers, events), so that a worker's steady state makes no call into
 * the C allocator per request.
 *
 * Each proxied exchange takes and releases about five evbuffer chains
 * (the client's request read, the target's head, its answer, the client's
 * answer). With glibc's malloc each is a malloc and a free, about 250
 * instructions and a lock-free but shared arena walk. As HAProxy's pools
 * do, a thread keeps the blocks it frees on a free list by power-of-two
 * size class (1 KiB to 32 KiB) and hands them out again; a list holds
 * at most 64 KiB (and 64 blocks), the rest goes back to malloc, so what
 * a burst leaves behind is bounded per thread and malloc_trim() still
 * returns the remainder. Bigger blocks go straight to malloc, and so do
 * smaller ones (an evbuffer, an event): they live as long as their
 * connection, and rounding them up to a class would only waste memory.
 *
 * A block's class is read back from glibc's malloc_usable_size(), so there
 * is no header, alignment is malloc's and libevent's power-of-two chain
 * sizes stay exactly a class. A block freed on another thread than the one
 * that took it joins the freeing thread's lists. A thread's lists are given
 * back to malloc when it exits.
 *
 * Not installed in sanitizer builds (ASan must see every block to find a
 * use after free) or when ALBD_MEMPOOL=0 is in the environment.
 */
#ifndef ALBD_MEMPOOL_H
#define ALBD_MEMPOOL_H

#include <stddef.h>

/* Give libevent these functions (event_set_mem_functions()). Call once,
 * from main(), before anything else uses libevent. Returns 1 if installed,
 * 0 if not (sanitizers, ALBD_MEMPOOL=0). Thread: main, at start. */
int mempool_install(void);

/* Whether mempool_install() installed the lists. Other per-thread free
 * lists (proxy.c's exchanges) follow it, so that sanitizer builds and
 * ALBD_MEMPOOL=0 see every block. Thread: any, after mempool_install(). */
int mempool_installed(void);

/* The allocator itself, for the unit tests. Thread: any; each thread uses
 * its own lists. */
void *mempool_malloc(size_t n);
void *mempool_realloc(void *p, size_t n);
void mempool_free(void *p);

/* Blocks on the calling thread's lists (for the unit tests). */
size_t mempool_cached(void);

#endif
