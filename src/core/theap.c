/* theap.c - see theap.h */
#include "theap.h"

#include <stdlib.h>

static void place(struct theap *h, uint32_t i, struct theap_node *x)
{
	h->v[i] = x;
	x->idx = i + 1;
}

static void sift_up(struct theap *h, uint32_t i, struct theap_node *x)
{
	while (i) {
		uint32_t p = (i - 1) / 2;
		if (h->v[p]->at <= x->at)
			break;
		place(h, i, h->v[p]);
		i = p;
	}
	place(h, i, x);
}

static void sift_down(struct theap *h, uint32_t i, struct theap_node *x)
{
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->at < h->v[c]->at)
			c++;
		if (x->at <= h->v[c]->at)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, x);
}

int theap_reserve(struct theap *h, uint32_t n)
{
	if (n <= h->cap)
		return 0;
	uint32_t cap = h->cap ? h->cap : 64;
	while (cap < n) {
		if (cap > UINT32_MAX / 2)
			return -1;
		cap *= 2;
	}
	struct theap_node **v = realloc(h->v, (size_t)cap * sizeof(*v));
	if (!v)
		return -1;
	h->v = v;
	h->cap = cap;
	return 0;
}

int theap_add(struct theap *h, struct theap_node *x, uint64_t at)
{
	if (x->idx) {
		uint64_t was = x->at;
		x->at = at;
		if (at < was)
			sift_up(h, x->idx - 1, x);
		else
			sift_down(h, x->idx - 1, x);
		return 0;
	}
	if (h->n == h->cap && theap_reserve(h, h->n + 1) < 0)
		return -1;
	x->at = at;
	sift_up(h, h->n++, x);
	return 0;
}

void theap_del(struct theap *h, struct theap_node *x)
{
	if (!x->idx)
		return;
	uint32_t i = x->idx - 1;
	x->idx = 0;
	struct theap_node *last = h->v[--h->n];
	if (last == x)
		return;
	/* the last node fills the hole: up or down from there */
	if (i && h->v[(i - 1) / 2]->at > last->at)
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

void theap_free(struct theap *h)
{
	free(h->v);
	h->v = 0;
	h->n = h->cap = 0;
}
