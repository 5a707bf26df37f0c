/* privdrop.h - `user` and `group`: albd started as root binds its ports,
 * then runs as an unprivileged user (for those without systemd's
 * DynamicUser=). Thread: control, before any other thread exists. */
#ifndef ALBD_PRIVDROP_H
#define ALBD_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/* Become USER (UID) and GID, with USER's supplementary groups, keeping
 * only CAP_NET_BIND_SERVICE (so that a reload can still open a listener on
 * a port below 1024). STATE_DIR (created if missing) and what it holds are
 * given to UID:GID first, so the store, the alarms' state and the spool
 * stay writable. Returns 1 when done, 0 when albd is not root (nothing to
 * drop: the caller says so), -1 with a message in ERR (albd stops: it
 * never runs as root by mistake). */
int privdrop(const char *user, uid_t uid, gid_t gid, const char *state_dir, char *err, size_t errlen);

#endif
