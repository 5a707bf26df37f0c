/* inherit.h - listening sockets handed from one albd to the next (binary
 * upgrade, SIGUSR2): the old process execs the new binary with the
 * sockets open and their addresses in $ALBD_LISTEN_FDS ("FD=ADDR;..."),
 * and the new one takes them instead of binding (inherit_take()), so not
 * one connection is refused: the kernel's queue of each socket outlives
 * the old process.
 * Thread: control, at start (before any worker). */
#ifndef ALBD_INHERIT_H
#define ALBD_INHERIT_H

#include <stddef.h>

#include "config.h"

#define INHERIT_ENV "ALBD_LISTEN_FDS"

/* Read $ALBD_LISTEN_FDS (and unset it: it is for this process only).
 * Returns the number of sockets, or -1 with a message in ERR (a malformed
 * variable: albd stops rather than bind over its own sockets). Each must
 * be a listening TCP socket. */
int inherit_init(char *err, size_t errlen);

/* An inherited socket listening on ADDR, taken (each is given once), or -1. */
int inherit_take(const struct albd_addr *addr);

/* Close what no listener took (its address left the configuration). */
void inherit_close_rest(void);

/* Append "FD=ADDR;" to BUF (LEN bytes, NUL-terminated) for the old
 * process's environment of the new one. Returns 0, -1 when it does not fit. */
int inherit_add(char *buf, size_t len, int fd, const struct albd_addr *addr);

#endif
