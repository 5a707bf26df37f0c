/* atomic_file.c - see atomic_file.h. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "state_lock.h"

void atomic_fsync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

int atomic_clear_tmp(const char *dir, const char *name)
{
	char tmp[PATH_MAX], aside[PATH_MAX + 32];
	struct stat st;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= sizeof tmp)
		return 0;
	if (lstat(tmp, &st) < 0 || S_ISREG(st.st_mode))
		return 0;   /* none, or a crash's: the next write overwrites it */
	/* a directory (or a link, a FIFO...) where albd writes its temporary
	 * file: no write would ever succeed */
	snprintf(aside, sizeof aside, "%s.corrupt", tmp);
	if (rename(tmp, aside) < 0) {
		snprintf(aside, sizeof aside, "%s.corrupt-%lld", tmp, (long long)time(NULL));
		if (rename(tmp, aside) < 0) {
			log_err("%s is not a file albd wrote (it is in the way of %s/%s) and cannot be set aside: %s",
				tmp, dir, name, strerror(errno));
			return -1;
		}
	}
	log_err("%s is not a file albd wrote (a %s in the way of %s/%s): set aside as %s", tmp,
		S_ISDIR(st.st_mode) ? "directory" : S_ISLNK(st.st_mode) ? "symbolic link" : "special file", dir, name,
		aside);
	return 1;
}

int atomic_mkdirs(const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] == '/' || p[i] == 0) {
			char c = p[i];
			p[i] = 0;
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				return -1;
			p[i] = c;
		}
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode, int make_dir,
		      char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *what = "create";
	const char *p = data;
	int fd, e;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= sizeof tmp) {
		if (err && errlen)
			snprintf(err, errlen, "cannot write %s/%s: path too long", dir, name);
		errno = ENAMETOOLONG;
		return -1;
	}
	/* what is in the way of the temporary file goes aside; for
	 * atomic_write_mkdir(), a DIR deleted while albd runs (state_dir,
	 * notify/...) is made again */
	atomic_clear_tmp(dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0 && make_dir && errno == ENOENT && access(dir, F_OK) < 0 && errno == ENOENT) {
		static _Atomic int said;
		if (atomic_mkdirs(dir) == 0 && (state_lock_recheck(), !said++))
			log_err("%s was missing (deleted while albd runs?): created again; what it held is gone", dir);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	}
	if (fd < 0)
		goto fail;
	what = "write";
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			goto fail_fd;
		}
		p += w;
		len -= (size_t)w;
	}
	what = "chmod";
	if (fchmod(fd, mode) < 0)
		goto fail_fd;
	what = "fsync";
	if (fsync(fd) < 0)
		goto fail_fd;
	what = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail_fd;
	}
	fd = -1;
	what = "rename";
	if (rename(tmp, path) < 0)
		goto fail_fd;
	atomic_fsync_dir(dir);
	return 0;
fail_fd:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
fail:
	e = errno;
	if (err && errlen)
		snprintf(err, errlen, "cannot write %s: %s: %s", path, what, strerror(e));
	errno = e;
	return -1;
}

int atomic_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
		 size_t errlen)
{
	return write_file(dir, name, data, len, mode, 0, err, errlen);
}

int atomic_write_mkdir(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
		       size_t errlen)
{
	return write_file(dir, name, data, len, mode, 1, err, errlen);
}
