/* client_limit.c - per-client limits. See client_limit.h. */
#include "client_limit.h"

#include <stdatomic.h>
#include <string.h>

#include <netinet/in.h>

struct slot {
	_Atomic uint64_t key;       /* 0: free */
	atomic_uint conns;
	_Atomic uint64_t tat;       /* GCRA: theoretical arrival time, ms */
};

static struct slot table[CLIENT_LIMIT_SLOTS];

/* The client's key: IPv4 address, or an IPv6 /64 (never 0). */
static uint64_t key_of(const struct sockaddr *sa)
{
	uint64_t k;

	if (sa->sa_family == AF_INET) {
		k = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return (k << 1) | 1;            /* odd: IPv4 */
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		/* an IPv4-mapped address is its IPv4 client */
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a, mapped, 12) == 0)
			return ((uint64_t)a[12] << 25 | (uint64_t)a[13] << 17 | (uint64_t)a[14] << 9 | (uint64_t)a[15] << 1) | 1;
		k = 0;
		for (int i = 0; i < 8; i++)
			k = k << 8 | a[i];
		return (k << 1) ? k << 1 : 2;   /* even: IPv6 /64 (top bit dropped) */
	}
	return 0;
}

static uint32_t hash_of(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

int climit_slot(const struct sockaddr *sa, uint64_t now_ms)
{
	uint64_t k = key_of(sa);

	if (!k)
		return -1;
	uint32_t h = hash_of(k);
	for (unsigned i = 0; i < CLIENT_LIMIT_PROBE; i++) {
		struct slot *s = &table[(h + i) % CLIENT_LIMIT_SLOTS];
		uint64_t cur = atomic_load_explicit(&s->key, memory_order_acquire);

		if (cur == k)
			return (int)((h + i) % CLIENT_LIMIT_SLOTS);
		/* free, or idle (no connection, no debt): take it */
		if (cur == 0 || (atomic_load_explicit(&s->conns, memory_order_relaxed) == 0 &&
				 atomic_load_explicit(&s->tat, memory_order_relaxed) <= now_ms)) {
			if (atomic_compare_exchange_strong(&s->key, &cur, k)) {
				atomic_store_explicit(&s->tat, 0, memory_order_relaxed);
				return (int)((h + i) % CLIENT_LIMIT_SLOTS);
			}
			if (cur == k)
				return (int)((h + i) % CLIENT_LIMIT_SLOTS);
		}
	}
	return -1;
}

int climit_conn_open(int slot, unsigned max)
{
	if (slot < 0)
		return 1;
	unsigned n = atomic_fetch_add_explicit(&table[slot].conns, 1, memory_order_relaxed) + 1;
	if (max && n > max) {
		atomic_fetch_sub_explicit(&table[slot].conns, 1, memory_order_relaxed);
		return 0;
	}
	return 1;
}

void climit_conn_close(int slot)
{
	if (slot >= 0)
		atomic_fetch_sub_explicit(&table[slot].conns, 1, memory_order_relaxed);
}

uint64_t climit_request(int slot, uint64_t now_ms, unsigned rate, unsigned burst)
{
	if (slot < 0 || !rate)
		return 0;
	/* GCRA: each request costs T = 1000/rate ms; allowed while the
	 * theoretical arrival time stays within burst * T of now */
	uint64_t t = 1000 / rate ? 1000 / rate : 1, tol = (uint64_t)burst * t;
	_Atomic uint64_t *tat = &table[slot].tat;
	uint64_t cur = atomic_load_explicit(tat, memory_order_relaxed);

	for (;;) {
		uint64_t base = cur > now_ms ? cur : now_ms;
		if (base - now_ms > tol)
			return base - now_ms - tol;
		if (atomic_compare_exchange_weak_explicit(tat, &cur, base + t, memory_order_relaxed,
							  memory_order_relaxed))
			return 0;
	}
}

void climit_reset(void)
{
	memset(table, 0, sizeof table);
}
