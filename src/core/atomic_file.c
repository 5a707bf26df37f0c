/* atomic_file.c - see atomic_file.h. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void atomic_fsync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

int atomic_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
		 size_t errlen)
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
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
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
