/* privdrop.c - run as an unprivileged user after binding. See privdrop.h. */
#include "privdrop.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static uid_t chown_uid;
static gid_t chown_gid;
static int chown_errno;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	/* a hard link planted there must not hand over a file outside */
	if (flag == FTW_F && st->st_nlink > 1)
		return 0;
	if ((st->st_uid != chown_uid || st->st_gid != chown_gid) && lchown(path, chown_uid, chown_gid) < 0) {
		chown_errno = errno;
		return 1;
	}
	return 0;
}

int privdrop(const char *user, uid_t uid, gid_t gid, const char *state_dir, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return 0;
	/* a system directory is never given away */
	static const char *const sys[] = { "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt",
					   "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
					   "/var/lib", "/var/log", "/var/tmp" };
	char real[PATH_MAX];
	if (realpath(state_dir, real))
		for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
			if (strcmp(real, sys[i]) == 0) {
				snprintf(err, errlen, "user %s: state_dir %s is a system directory: give albd one of "
					 "its own (/var/lib/albd)", user, real);
				return -1;
			}
	if (mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "user %s: cannot create state_dir %s: %s", user, state_dir, strerror(errno));
		return -1;
	}
	chown_uid = uid;
	chown_gid = gid;
	chown_errno = 0;
	/* FTW_PHYS: a symbolic link is changed itself, never followed */
	if (nftw(state_dir, chown_one, 16, FTW_PHYS | FTW_MOUNT) != 0) {
		snprintf(err, errlen, "user %s: cannot give state_dir %s to it: %s", user, state_dir,
			 strerror(chown_errno ? chown_errno : errno));
		return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || initgroups(user, gid) < 0 || setgid(gid) < 0 ||
	    setuid(uid) < 0) {
		snprintf(err, errlen, "cannot become user %s (uid %ld, gid %ld): %s", user, (long)uid, (long)gid,
			 strerror(errno));
		return -1;
	}
	/* setuid() cleared the effective set and kept the permitted one
	 * (KEEPCAPS): keep CAP_NET_BIND_SERVICE alone, effective */
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	d[0].effective = d[0].permitted = d[0].inheritable = 1u << CAP_NET_BIND_SERVICE;
	if (syscall(SYS_capset, &h, d) < 0) {
		snprintf(err, errlen, "user %s: cannot keep CAP_NET_BIND_SERVICE: %s", user, strerror(errno));
		return -1;
	}
	/* and across the exec of a binary upgrade (SIGUSR2): ambient */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* no way back */
	if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		snprintf(err, errlen, "user %s: root could be regained", user);
		return -1;
	}
	return 1;
}
