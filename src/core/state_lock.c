/* state_lock.c - see state_lock.h. */
#include "state_lock.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void state_lock_mark(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	if (fd < 0)
		return;
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) == n)
		(void)fsync(fd);
}

/* The pid the holder wrote into FD, 0 when unreadable. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *end;
	long pid = strtol(buf, &end, 10);
	return pid > 0 && (*end == '\n' || *end == 0) ? pid : 0;
}

/* Is FD the file at PATH (the same inode)? */
static int same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int *held_fdp;
static char held_dir[PATH_MAX];

void state_lock_hold(int *fdp, const char *state_dir)
{
	held_fdp = fdp;
	snprintf(held_dir, sizeof held_dir, "%s", state_dir);
}

void state_lock_recheck(void)
{
	char path[PATH_MAX], err[PATH_MAX + 256];

	if (!held_fdp || *held_fdp < 0 ||
	    (size_t)snprintf(path, sizeof path, "%s/%s", held_dir, STATE_LOCK_FILE) >= sizeof path ||
	    same_file(*held_fdp, path))
		return;
	int fd = state_lock_take(held_dir, -1, err, sizeof err);
	if (fd >= 0) {
		close(*held_fdp);
		*held_fdp = fd;
		log_warn("state_dir %s was made again: its lock %s taken again", held_dir, path);
	} else {
		log_err("state_dir %s was made again, but its lock could not be taken again: %s", held_dir, err);
	}
}

int state_lock_take(const char *state_dir, int inherited, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, ro = 0;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", state_dir, STATE_LOCK_FILE) >= sizeof path) {
		snprintf(err, errlen, "state_dir \"%s\": path too long", state_dir);
		return -2;
	}
	if (inherited >= 0) {
		/* the old albd's: the same open file description, already
		 * locked (flock on it again succeeds); unless the new
		 * configuration names another state_dir */
		struct stat st;
		if (same_file(inherited, path) && flock(inherited, LOCK_EX | LOCK_NB) == 0) {
			(void)fcntl(inherited, F_SETFD, FD_CLOEXEC);
			state_lock_mark(inherited);
			return inherited;
		}
		/* another state_dir's lock (the old process keeps it until it
		 * exits); what is not a file is not ours to close */
		if (fstat(inherited, &st) == 0 && S_ISREG(st.st_mode))
			close(inherited);
	}
	if (mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "state_dir %s: cannot create it: %s", state_dir, strerror(errno));
		return -2;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		/* a read-only state_dir with the file already there: flock
		 * needs no write access */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		ro = 1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "state_dir %s: cannot open the lock file %s: %s", state_dir, path,
			 strerror(errno));
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			long pid = holder_pid(fd);
			if (pid)
				snprintf(err, errlen,
					 "state_dir %s is in use by another albd (pid %ld holds %s): one state_dir "
					 "serves one albd; stop that one or give this one its own state_dir",
					 state_dir, pid, path);
			else
				snprintf(err, errlen,
					 "state_dir %s is in use by another process (it holds %s): one state_dir "
					 "serves one albd; stop that one or give this one its own state_dir",
					 state_dir, path);
			close(fd);
			return -1;
		}
		snprintf(err, errlen, "state_dir %s: cannot lock %s: %s", state_dir, path, strerror(e));
		close(fd);
		return -2;
	}
	if (!ro)
		state_lock_mark(fd);
	return fd;
}
