/* atomic_file.h - write a whole small file so that a crash leaves either
 * the old content or the new, never a mix: a temporary file beside it
 * (NAME.tmp), write, fchmod, fsync, rename over, fsync of the directory.
 * One writer per file (the control thread): the temporary name is fixed,
 * and a NAME.tmp that a crash left is overwritten by the next write.
 * Used for the alarms' state, the notification spool and subscription
 * files, and the SNS signing key (the metric store streams its blocks
 * through its own afile, which can skip the fsyncs in tests).
 * Thread: any; blocking (file I/O and fsync). */
#ifndef ALBD_ATOMIC_FILE_H
#define ALBD_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write LEN bytes of DATA to DIR/NAME with MODE. Returns 0, or -1 with
 * "cannot write DIR/NAME: STEP: reason" in ERR (ERR may be NULL) and errno
 * set; the temporary file is removed. */
/* fsync directory DIR, so that a rename or a new file in it survives a
 * crash (errors ignored: not every file system can). */
void atomic_fsync_dir(const char *dir);

int atomic_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
		 size_t errlen);

#endif
