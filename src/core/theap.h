/* theap.h - a binary min-heap of deadlines, for the timers of many
 * connections behind one event.
 *
 * A libevent timer is a 128-byte struct event in each connection, most of
 * it the I/O event's fields a timer does not use. A node here is 16 bytes
 * in the owner's struct (its deadline and its place in the heap, padded)
 * and 8 in the heap's array; the owner drives one event at the heap's minimum
 * (proxy.c). Like libevent's, the heap keeps each node's index so that
 * removing or moving a node is O(log n).
 *
 * Thread: one heap, one thread (a worker's).
 */
#ifndef ALBD_THEAP_H
#define ALBD_THEAP_H

#include <stdint.h>

struct theap_node {
	uint64_t at;       /* the deadline (the owner's clock: ms) */
	uint32_t idx;      /* its place in the heap plus 1; 0: not in it */
};

struct theap {
	struct theap_node **v;
	uint32_t n, cap;
};

/* Room for N nodes, so that theap_add() of up to N distinct nodes cannot
 * fail. -1 when memory is short (the heap is unchanged). */
int theap_reserve(struct theap *h, uint32_t n);

/* Put X in the heap at AT, or move it there if it is in already. -1 when
 * memory is short (X not added): never after theap_reserve() made room. */
int theap_add(struct theap *h, struct theap_node *x, uint64_t at);

/* Take X out of the heap; nothing if it is not in it. */
void theap_del(struct theap *h, struct theap_node *x);

/* The node with the earliest deadline, NULL when the heap is empty. */
static inline struct theap_node *theap_min(const struct theap *h)
{
	return h->n ? h->v[0] : 0;
}

/* Whether X is in a heap. */
static inline int theap_in(const struct theap_node *x)
{
	return x->idx != 0;
}

/* Free the array (the nodes are the owners'). */
void theap_free(struct theap *h);

#endif
