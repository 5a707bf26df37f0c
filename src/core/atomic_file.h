/* atomic_file.h - write a whole small file so that a crash leaves either
 * the old content or the new, never a mix: a temporary file beside it
 * (NAME.tmp), write, fchmod, fsync, rename over, fsync of the directory.
 * One writer per file (the control thread): the temporary name is fixed,
 * and a NAME.tmp that a crash left is overwritten by the next write; a
 * NAME.tmp that is not a regular file (a directory...) is set aside as
 * NAME.tmp.corrupt (logged).
 * Used for the alarms' state, the notification spool and subscription
 * files, and the SNS signing key (the metric store streams its blocks
 * through its own afile, which can skip the fsyncs in tests).
 * Thread: any; blocking (file I/O and fsync). */
#ifndef ALBD_ATOMIC_FILE_H
#define ALBD_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* fsync directory DIR, so that a rename or a new file in it survives a
 * crash (errors ignored: not every file system can). */
void atomic_fsync_dir(const char *dir);

/* Write LEN bytes of DATA to DIR/NAME with MODE. Returns 0, or -1 with
 * "cannot write DIR/NAME: STEP: reason" in ERR (ERR may be NULL) and errno
 * set; the temporary file is removed. */
int atomic_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
		 size_t errlen);

/* mkdir -p DIR (0700 for what it makes). 0, or -1 and errno. Thread: any. */
int atomic_mkdirs(const char *dir);

/* atomic_write(), and when DIR is missing (state_dir deleted while albd
 * runs) it is made again (mkdir -p, 0700; logged once per process) and
 * the write tried once more, and state_dir's lock taken again if it went
 * with it (state_lock_recheck). For the writers of albd's own directories
 * (the alarms' state, the notifier's files). Thread: control. */
int atomic_write_mkdir(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
		       size_t errlen);

/* Set DIR/NAME.tmp aside (renamed NAME.tmp.corrupt, logged) when it is
 * not a regular file: it would stop every atomic_write() of DIR/NAME.
 * Returns 1 when set aside, 0 when there was nothing to do, -1 when it
 * could not be (logged). atomic_write() calls it; at start, callers call
 * it to report such a file before their first write. */
int atomic_clear_tmp(const char *dir, const char *name);

#endif
