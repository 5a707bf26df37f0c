/* state_lock.h - one albd per state_dir: an exclusive flock(2) on
 * STATE_DIR/albd.lock, taken at start and held for the process's life.
 * Two processes on one state_dir would write the same temporary files and
 * blocks and give one series id to different metrics; the second is
 * refused at start, naming the first (its pid is written in the file).
 *
 * A binary upgrade (SIGUSR2) hands the lock over: the new process inherits
 * the old one's descriptor ($ALBD_LOCK_FD), the same open file description,
 * so the lock is held without a gap while both run and stays with the new
 * one when the old one exits (or with the old one when the new one fails).
 * `albd -t` does not take it.
 *
 * Thread: control (main), before the other threads exist. */
#ifndef ALBD_STATE_LOCK_H
#define ALBD_STATE_LOCK_H

#include <stddef.h>

#define STATE_LOCK_FILE "albd.lock"
#define STATE_LOCK_ENV "ALBD_LOCK_FD"   /* the descriptor a new binary inherits */

/* Lock STATE_DIR (created, mode 0750, when missing). INHERITED: the
 * descriptor an old albd handed over (-1: none); it is used when it is the
 * lock file of STATE_DIR, else closed (when it is a regular file at all). Returns the descriptor, open
 * (O_CLOEXEC) and locked, for the caller to keep until it exits; -2 when
 * the lock file cannot be opened or locked for another reason than another
 * holder (ERR says why: albd may run on, unprotected); -1 when another
 * process holds it (ERR names it: albd must not start). */
int state_lock_take(const char *state_dir, int inherited, char *err, size_t errlen);

/* Keep *FDP (the descriptor state_lock_take returned, the caller's
 * variable) as STATE_DIR's lock for state_lock_recheck(). Thread: control. */
void state_lock_hold(int *fdp, const char *state_dir);

/* A writer made state_dir again (it was removed while albd ran, and the
 * lock file with it): if STATE_DIR/albd.lock is no longer the file held,
 * lock the new one (so a second albd is refused again) and close the old;
 * *FDP follows. Logged; nothing to do without state_lock_hold(). Cheap (a
 * stat and an fstat). Thread: control. */
void state_lock_recheck(void);

/* Write this process's pid into the lock file FD (after a failed upgrade
 * the file named the new process). Errors are ignored. */
void state_lock_mark(int fd);

#endif
