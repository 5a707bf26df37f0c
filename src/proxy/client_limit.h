/* client_limit.h - per-client limits (limits.per_client): connections at
 * once and requests a second (with a burst) per client address, IPv4 by
 * address, IPv6 by /64 (one host's addresses), as nginx's limit_conn and
 * limit_req would, without a WAF.
 *
 * One table for the whole process (a client's connections land on any
 * worker), CLIENT_LIMIT_SLOTS slots of a key and two atomics, no lock:
 * connections are a counter, requests a GCRA (the virtual scheduling form
 * of a token bucket: one "theoretical arrival time" advanced by a CAS). A
 * slot whose client has no connection and no debt is taken by another; a
 * client that finds no slot within CLIENT_LIMIT_PROBE is not limited (the
 * table is bounded; a flood of addresses cannot make it refuse others).
 *
 * Thread: any (workers); pure but for the table.
 */
#ifndef ALBD_CLIENT_LIMIT_H
#define ALBD_CLIENT_LIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#define CLIENT_LIMIT_SLOTS 65536
#define CLIENT_LIMIT_PROBE 8

/* A client's slot, or -1 (not limited: no room, or an address family
 * other than IPv4/IPv6). */
int climit_slot(const struct sockaddr *sa, uint64_t now_ms);

/* One more connection of SLOT's client: 1 when it stays within MAX (0 =
 * no limit), else 0 (not counted). */
int climit_conn_open(int slot, unsigned max);

/* A connection counted by climit_conn_open() closed. */
void climit_conn_close(int slot);

/* A request of SLOT's client at NOW_MS, RATE a second with BURST more at
 * once: 0 when allowed, else the milliseconds until one would be (the
 * request is not counted). */
uint64_t climit_request(int slot, uint64_t now_ms, unsigned rate, unsigned burst);

/* Forget every client (tests). */
void climit_reset(void);

#endif
