/* sdnotify.h - systemd's notify protocol (sd_notify(3)), spoken directly:
 * one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or
 * an abstract name after '@'). Nothing happens when the variable is unset
 * (albd not started by systemd with Type=notify), or when albd was
 * configured with --disable-sd-notify.
 * Thread: control (the functions keep no state but the environment's). */
#ifndef ALBD_SDNOTIFY_H
#define ALBD_SDNOTIFY_H

#include <stdint.h>

/* Send STATE ("READY=1\nSTATUS=...", newline-separated assignments).
 * Returns 1 when sent, 0 when there is nowhere to send it, -1 on error. */
int sdn_notify(const char *state);

/* printf-style sdn_notify(). */
int sdn_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval systemd asks for (WatchdogSec=: $WATCHDOG_USEC,
 * for this process when $WATCHDOG_PID names it), in microseconds; 0: none. */
uint64_t sdn_watchdog_usec(void);

#endif
