/* inherit.c - listening sockets handed to the next albd. See inherit.h. */
#include "inherit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define INHERIT_MAX 4096

static struct {
	int fd;
	struct albd_addr addr;
} inh[INHERIT_MAX];
static size_t ninh;

int inherit_init(char *err, size_t errlen)
{
	const char *env = getenv(INHERIT_ENV);
	char *copy, *item, *save = NULL;

	ninh = 0;
	if (!env || !*env)
		return 0;
	if (!(copy = strdup(env))) {
		snprintf(err, errlen, "%s: out of memory", INHERIT_ENV);
		return -1;
	}
	unsetenv(INHERIT_ENV);
	for (item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '='), *end, why[256];
		int type = 0, listening = 0;
		socklen_t tl = sizeof type, ll = sizeof listening;

		if (!eq || ninh == INHERIT_MAX)
			goto bad;
		*eq = 0;
		long fd = strtol(item, &end, 10);
		if (*end || fd < 3 || fd > 1 << 20 ||
		    config_parse_addr(eq + 1, 0, &inh[ninh].addr, why, sizeof why) < 0)
			goto bad;
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM ||
		    getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0 || !listening) {
			snprintf(err, errlen, "%s: fd %ld (%s) is not a listening TCP socket", INHERIT_ENV, fd, eq + 1);
			free(copy);
			return -1;
		}
		/* ours now: not to be passed on by accident */
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		inh[ninh++].fd = (int)fd;
	}
	free(copy);
	return (int)ninh;
bad:
	snprintf(err, errlen, "%s: malformed (expected FD=ADDRESS;...)", INHERIT_ENV);
	free(copy);
	return -1;
}

int inherit_take(const struct albd_addr *addr)
{
	for (size_t i = 0; i < ninh; i++)
		if (inh[i].fd >= 0 && config_addr_equal(&inh[i].addr, addr)) {
			int fd = inh[i].fd;
			inh[i].fd = -1;
			return fd;
		}
	return -1;
}

void inherit_close_rest(void)
{
	for (size_t i = 0; i < ninh; i++)
		if (inh[i].fd >= 0) {
			log_info("inherited socket on %s is not used (the configuration or the worker count "
				 "changed): closed", inh[i].addr.text);
			close(inh[i].fd);
			inh[i].fd = -1;
		}
	ninh = 0;
}

int inherit_add(char *buf, size_t len, int fd, const struct albd_addr *addr)
{
	size_t used = strlen(buf);
	int n = snprintf(buf + used, len - used, "%d=%s;", fd, addr->text);

	return n > 0 && (size_t)n < len - used ? 0 : -1;
}
