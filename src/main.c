/* main.c - command line, start, reload (SIGHUP) and graceful stop
 * (SIGTERM/SIGINT). The main thread is the control thread: it owns the
 * current generation and talks to the workers only through worker.h.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/config.h"
#include "net/http1.h"
#include "core/inherit.h"
#include "core/log.h"
#include "core/mempool.h"
#include "core/privdrop.h"
#include "core/sdnotify.h"
#include "core/shard.h"
#include "core/state_lock.h"
#include "control/admin.h"
#include "control/alarm.h"
#include "control/api_elb.h"
#include "control/aws.h"
#include "control/ui.h"
#include "control/api_metrics.h"
#include "control/metrics.h"
#include "control/prom_rules.h"
#include "control/notify.h"
#include "control/health.h"
#include "control/target_reg.h"
#include "proxy/gen.h"
#include "net/conn.h"
#include "proxy/tls.h"
#include "proxy/access_log.h"
#include "proxy/proxy.h"
#include "proxy/sticky.h"
#include "proxy/worker.h"

#define TICKET_ROTATE_S (12 * 3600)   /* a new session ticket key twice a day */
#define EXPIRY_CHECK_S (24 * 3600)

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

struct control {
	const char *path;
	struct event_base *base;
	struct albd_gen *gen;         /* current; one reference */
	struct worker *workers;
	unsigned nworkers;
	int reload_failed;            /* the last reload was refused (systemd's STATUS says so) */
	char **argv;                  /* as started: the new binary gets the same arguments */
	char exe[4096];               /* the binary's path at start (a package upgrade puts the new
	                               * one there): what SIGUSR2 runs */
	int state_up;                 /* store, topics and alarms are running (state_start) */
	/* binary upgrade (SIGUSR2): the old process's side */
	pid_t up_child;               /* the new process, 0: none under way */
	int up_sock;                  /* socketpair to it: "READY\n" comes, "STATE\n" goes */
	struct event *up_ev, *up_timer;
	int handed_over;              /* the new process serves: drain and exit */
	/* the new process's side: the old one writes "STATE\n" (its state is
	 * on disk) or goes away; then the store, topics and alarms start */
	int parent_sock;
	struct event *parent_ev;
	int lock_fd;                  /* state_dir's lock (state_lock.h), held for life; -1: none */
	uint64_t watchdog_ms;         /* WatchdogSec=, 0: none */
	int watchdog_late;            /* a worker missed the last check (logged once) */
};

/* systemd: READY=1 (with RELOADING=1 before a reload) and a one-line STATUS. */
static void notify_ready(struct control *c)
{
	const struct albd_config *cfg = c->gen->cfg;

	sdn_notifyf("READY=1\nSTATUS=generation %lu live: %zu listeners, %zu target groups, %u workers%s",
		    c->gen->id, cfg->nlisteners, cfg->ntarget_groups, c->nworkers,
		    c->reload_failed ? "; the last reload failed (see the log)" : "");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: albd [-t | --export-prometheus-rules] -c FILE | -V | -h\n"
		   "  -c FILE  configuration file (default /etc/albd/albd.conf)\n"
		   "  -t       check the configuration file and exit (0: valid, 1: not)\n"
		   "  --export-prometheus-rules\n"
		   "           print the file's alarms as Prometheus alerting rules and exit\n"
		   "  -d       log debug messages\n"
		   "  -V       print the version and exit\n"
		   "  -h       this help\n");
}

static void reload_config(struct control *c);

/* SIGHUP: systemd hears RELOADING=1 first and READY=1 after, whatever the
 * outcome (a refused reload leaves the running generation serving). */
static void reload(struct control *c)
{
	unsigned long id = c->gen->id;

	sdn_notify("RELOADING=1\nSTATUS=reloading");
	reload_config(c);
	c->reload_failed = c->gen->id == id;
	notify_ready(c);
}

/* Make CFG (fresh, owned) the live configuration: the control plane's
 * checks, the registered targets, a generation built beside the running
 * one and published. Returns 0, or -1 with a message in ERR (CFG is freed,
 * the running generation stays). Thread: control. */
static int apply_config(struct control *c, struct albd_config *cfg, char *err, size_t errlen)
{
	struct albd_gen *g;

	/* a binary upgrade is under way (the state moves between processes) */
	if (!c->state_up || c->up_child) {
		snprintf(err, errlen, "a binary upgrade is under way; try again when it is over");
		goto fail;
	}
	/* what the control plane knows (SNS's and CloudWatch's languages) */
	if (notify_check(cfg, err, errlen) < 0 || alarm_check(cfg, err, errlen) < 0)
		goto fail;
	/* albd is who it became at start */
	if (strcmp(cfg->user ? cfg->user : "", c->gen->cfg->user ? c->gen->cfg->user : "") != 0 ||
	    (cfg->user && cfg->gid != c->gen->cfg->gid)) {
		snprintf(err, errlen, "%s: user or group changed; restart albd to change them", cfg->path);
		goto fail;
	}
	/* the store, the alarms' state and the spool stay where they are open */
	if (strcmp(cfg->state_dir, c->gen->cfg->state_dir) != 0) {
		snprintf(err, errlen, "%s: state_dir changed from \"%s\" to \"%s\"; restart albd to move it",
			 cfg->path, c->gen->cfg->state_dir, cfg->state_dir);
		goto fail;
	}
	if (cfg->workers != c->nworkers)
		log_warn("reload: workers = %u takes effect only after a restart (running %u)", cfg->workers,
			 c->nworkers);
	/* the targets the admin API registered join their groups */
	if (treg_merge(cfg, err, errlen) < 0)
		goto fail;
	/* stickiness cookies' key (state_dir), before the groups get their ids */
	if (sticky_configured(cfg) && sticky_key_init(cfg->state_dir, err, errlen) < 0)
		goto fail;
	g = gen_build(cfg, c->gen, c->nworkers, err, errlen);
	if (!g)
		goto fail;
	/* the access log file before the workers write lines for it */
	if (alog_apply(g->cfg, err, errlen) < 0) {
		gen_unref(g);
		return -1;
	}
	health_apply(g);
	metrics_apply(g);
	worker_publish(c->workers, c->nworkers, g);
	gen_unref(c->gen);
	c->gen = g;
	log_info("configuration generation %lu is live (%zu listeners, %zu target groups)", g->id,
		 g->cfg->nlisteners, g->cfg->ntarget_groups);
	if (admin_apply(g, err, errlen) < 0)
		log_err("%s; the admin listener stays as it was", err);
	/* after the admin listener: the notification URLs name the address it
	 * really listens on; topics before the alarms that publish to them */
	notify_apply(g);
	alarm_apply(g);
	/* registrations of groups this configuration dropped go now */
	treg_forget_unknown(g->cfg);
	return 0;
fail:
	config_free(cfg);
	return -1;
}

static void reload_config(struct control *c)
{
	char err[CONFIG_ERR_MAX];
	struct albd_config *cfg;

	log_info("reloading %s", c->path);
	/* A pipe or FIFO was read to its end at start: opening it again would
	 * wait for a writer, and the control thread with it. */
	struct stat st;
	if (stat(c->path, &st) == 0 && S_ISFIFO(st.st_mode)) {
		log_err("reload failed, the running configuration stays: %s is a pipe or FIFO, read once at "
			"start; restart albd to change the configuration",
			c->path);
		return;
	}
	cfg = config_load(c->path, err, sizeof(err));
	if (!cfg || apply_config(c, cfg, err, sizeof(err)) < 0)
		log_err("reload failed, the running configuration stays: %s", err);
}

/* The admin API registered or deregistered targets: the running
 * configuration's text again, with the registrations as they are now.
 * Thread: control. */
static int rebuild(void *arg, char *err, size_t errlen)
{
	struct control *c = arg;
	struct albd_config *cfg;

	sdn_notify("RELOADING=1\nSTATUS=applying registered targets");
	cfg = config_reparse(c->gen->cfg, err, errlen);
	int rc = !cfg || apply_config(c, cfg, err, errlen) < 0 ? -1 : 0;
	notify_ready(c);
	return rc;
}

static void ticket_cb(evutil_socket_t fd, short what, void *arg)
{
	tls_rotate_ticket_keys();
}

static void expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	gen_check_expiry(c->gen);
}

/* Once a second: the log's held-back counts of the control thread. */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	log_flush(0);
}

/* systemd's watchdog: WATCHDOG=1 only while every worker's loop turns
 * (each ticks once a second), so a stuck worker gets albd restarted. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	uint64_t limit = c->watchdog_ms / 2 > 2000 ? c->watchdog_ms / 2 : 2000;

	if (worker_all_alive(c->workers, c->nworkers, limit)) {
		sdn_notify("WATCHDOG=1");
		if (c->watchdog_late)
			log_info("watchdog: every worker answers again");
		c->watchdog_late = 0;
	} else if (!c->watchdog_late) {
		c->watchdog_late = 1;
		log_err("watchdog: a worker has not ticked for %llu ms: not telling systemd all is well",
			(unsigned long long)limit);
	}
}

/* the state: the store, topics and alarms ------------------------------- */

/* Start what lives in state_dir. At start, or in a new binary once the old
 * one has written it out. Returns 0, or -1 with a message. */
static int state_start(struct control *c, char *err, size_t errlen)
{
	/* the metric store (state_dir): one albd can not use it, albd stops */
	if (metrics_init(c->base, c->gen, err, errlen) < 0)
		return -1;
	api_metrics_init();
	/* topics: the signing key and the spool (state_dir); deliveries resume */
	if (notify_init(c->base, c->gen, err, errlen) < 0)
		return -1;
	/* alarms read the store and publish to the topics: after both */
	if (alarm_init(c->base, c->gen, notify_publish, err, errlen) < 0)
		return -1;
	c->state_up = 1;
	return 0;
}

/* Write the state out and stop using it (stop, or the upgrade's handover). */
static void state_stop(struct control *c)
{
	if (!c->state_up)
		return;
	alarm_shutdown();     /* no more evaluations; alarms.json written */
	notify_shutdown();    /* attempts in flight are abandoned; the spool keeps them */
	metrics_shutdown();   /* the last counts, and the store written out */
	c->state_up = 0;
}

/* binary upgrade (SIGUSR2) ------------------------------------------------ */

#define UPGRADE_TIMEOUT_S 60   /* the new binary must be ready within this */

static void upgrade_end(struct control *c)
{
	if (c->up_ev)
		event_free(c->up_ev);
	if (c->up_timer)
		event_free(c->up_timer);
	c->up_ev = c->up_timer = NULL;
	if (c->up_sock >= 0)
		close(c->up_sock);
	c->up_sock = -1;
	c->up_child = 0;
}

/* The new process failed: the old one serves on, as it never stopped. It
 * is killed (and reaped) if it still runs. */
static void upgrade_failed(struct control *c, const char *why)
{
	int status = 0;

	if (c->up_child) {
		kill(c->up_child, SIGKILL);
		waitpid(c->up_child, &status, 0);
	}
	log_err("binary upgrade failed: %s; this process (pid %ld) serves on", why, (long)getpid());
	state_lock_mark(c->lock_fd);   /* the file named the new process */
	upgrade_end(c);
}

/* albd stops while a new process starts: that one may accept already, so
 * it drains (SIGTERM) rather than dies; nobody takes the state over. */
static void upgrade_abandon(struct control *c)
{
	log_warn("stopping during a binary upgrade: the new process (pid %ld) is told to stop too",
		 (long)c->up_child);
	kill(c->up_child, SIGTERM);
	upgrade_end(c);
}

/* The new process is ready: it accepts on the same sockets. Stop
 * accepting, write the state out and hand it over, tell systemd who the
 * main process is now, then drain and exit. */
static void upgrade_handover(struct control *c)
{
	pid_t child = c->up_child;

	log_info("binary upgrade: the new process (pid %ld) is ready; this one hands over and drains",
		 (long)child);
	admin_shutdown();     /* the new process has the admin socket too */
	state_stop(c);
	/* systemd first: the new process's READY=1 must come from its main */
	sdn_notifyf("MAINPID=%ld\nSTATUS=handed over to pid %ld, draining", (long)child, (long)child);
	if (write(c->up_sock, "STATE\n", 6) != 6)
		log_warn("binary upgrade: cannot tell the new process that the state is written: %s",
			 strerror(errno));
	c->handed_over = 1;
	upgrade_end(c);
	event_base_loopbreak(c->base);
}

static void upgrade_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	char buf[64];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		upgrade_failed(c, "the new process was not ready in time");
		return;
	}
	n = read(fd, buf, sizeof buf - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		int status = 0;
		char why[128];

		/* it went away before it was ready (or closed the socket and
		 * lives on: upgrade_failed() kills it). Its exit follows the
		 * socket's EOF closely: a second at most for its status. */
		pid_t r = 0;
		for (int i = 0; i < 100 && (r = waitpid(c->up_child, &status, WNOHANG)) == 0; i++)
			usleep(10000);
		if (r == c->up_child) {
			c->up_child = 0;
			snprintf(why, sizeof why, "the new process exited (%s %d) before it was ready",
				 WIFEXITED(status) ? "status" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		} else {
			snprintf(why, sizeof why, "the new process closed its socket before it was ready");
		}
		upgrade_failed(c, why);
		return;
	}
	buf[n] = 0;
	if (strstr(buf, "READY"))
		upgrade_handover(c);
}

static void upgrade_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	upgrade_sock_cb(-1, EV_TIMEOUT, arg);
}

/* Write V in decimal into P (at least 21 bytes), NUL-terminated:
 * async-signal-safe, for the forked child. */
static void put_decimal(char *p, long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < 22);
	while (n)
		*p++ = tmp[--n];
	*p = 0;
}

extern char **environ;

/* SIGUSR2: run the binary at c->exe with the same arguments, the listening
 * sockets (workers' and admin's) open and named in $ALBD_LISTEN_FDS, one
 * end of a socketpair in $ALBD_UPGRADE_FD and state_dir's lock in
 * $ALBD_LOCK_FD (the same lock: it is never released in between). This
 * process serves on until the new one says READY. */
static void upgrade_start(struct control *c)
{
	static char fds_env[65536], sock_env[64], wd_env[64], lock_env[64];
	static int fds[4096];
	size_t nfds = 0, nenv = 0;
	int sp[2];
	const struct albd_addr *aaddr;
	int afd = admin_listen_fd(&aaddr);

	if (c->up_child) {
		log_warn("SIGUSR2: a binary upgrade is already under way (pid %ld)", (long)c->up_child);
		return;
	}
	if (!c->state_up) {
		log_warn("SIGUSR2: this process is still taking over from the previous one; try again");
		return;
	}
	if (!c->exe[0]) {
		log_err("SIGUSR2: the binary's path is unknown (/proc/self/exe was unreadable at start)");
		return;
	}
	snprintf(fds_env, sizeof fds_env, "%s=", INHERIT_ENV);
	for (size_t i = 0; i < c->gen->cfg->nlisteners; i++) {
		const struct lsock *ls = c->gen->lsocks[i];
		for (unsigned k = 0; k < ls->nfds; k++) {
			if (ls->fds[k] < 0)
				continue;
			if (nfds == sizeof fds / sizeof fds[0] ||
			    inherit_add(fds_env, sizeof fds_env, ls->fds[k], &ls->addr) < 0) {
				log_err("SIGUSR2: too many listening sockets to hand over");
				return;
			}
			fds[nfds++] = ls->fds[k];
		}
	}
	if (afd >= 0) {
		if (nfds == sizeof fds / sizeof fds[0] || inherit_add(fds_env, sizeof fds_env, afd, aaddr) < 0) {
			log_err("SIGUSR2: too many listening sockets to hand over");
			return;
		}
		fds[nfds++] = afd;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_err("SIGUSR2: socketpair: %s", strerror(errno));
		return;
	}
	snprintf(sock_env, sizeof sock_env, "ALBD_UPGRADE_FD=%d", sp[1]);
	/* the environment of the new process, made before fork(): ours with
	 * those three set (WATCHDOG_PID: systemd's watchdog follows the main
	 * process, which the child becomes; its pid is written after fork) */
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + 5, sizeof *envp);
	if (!envp) {
		close(sp[0]);
		close(sp[1]);
		log_err("SIGUSR2: out of memory");
		return;
	}
	int watchdog = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], INHERIT_ENV "=", sizeof INHERIT_ENV) == 0 ||
		    strncmp(environ[i], "ALBD_UPGRADE_FD=", 16) == 0 ||
		    strncmp(environ[i], STATE_LOCK_ENV "=", sizeof STATE_LOCK_ENV) == 0)
			continue;
		if (strncmp(environ[i], "WATCHDOG_PID=", 13) == 0) {
			watchdog = 1;
			continue;
		}
		envp[nenv++] = environ[i];
	}
	envp[nenv++] = fds_env;
	envp[nenv++] = sock_env;
	if (c->lock_fd >= 0) {
		snprintf(lock_env, sizeof lock_env, "%s=%d", STATE_LOCK_ENV, c->lock_fd);
		envp[nenv++] = lock_env;
	}
	if (watchdog)
		envp[nenv++] = wd_env;
	envp[nenv] = NULL;
	memcpy(wd_env, "WATCHDOG_PID=", 13);
	log_info("SIGUSR2: starting %s to take over", c->exe);
	pid_t pid = fork();
	if (pid < 0) {
		log_err("SIGUSR2: fork: %s", strerror(errno));
		free(envp);
		close(sp[0]);
		close(sp[1]);
		return;
	}
	if (pid == 0) {
		/* the child: async-signal-safe calls only. The sockets stay
		 * open across exec; the signals stay blocked (the new albd
		 * installs its handlers before it unblocks them). */
		for (size_t i = 0; i < nfds; i++)
			fcntl(fds[i], F_SETFD, 0);
		fcntl(sp[1], F_SETFD, 0);
		if (c->lock_fd >= 0)
			fcntl(c->lock_fd, F_SETFD, 0);
		put_decimal(wd_env + 13, (long)getpid());
		execve(c->exe, c->argv, envp);
		_exit(127);
	}
	free(envp);
	close(sp[1]);
	c->up_child = pid;
	c->up_sock = sp[0];
	fcntl(c->up_sock, F_SETFL, O_NONBLOCK);
	const struct timeval limit = { UPGRADE_TIMEOUT_S, 0 };
	c->up_ev = event_new(c->base, c->up_sock, EV_READ | EV_PERSIST, upgrade_sock_cb, c);
	c->up_timer = evtimer_new(c->base, upgrade_timeout_cb, c);
	if (!c->up_ev || !c->up_timer || event_add(c->up_ev, NULL) < 0 || event_add(c->up_timer, &limit) < 0)
		upgrade_failed(c, "cannot watch the new process");
}

/* The new process's side: the old one's state is written out (it said
 * STATE, or it is gone): start the store, topics and alarms here. */
static void parent_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	char buf[64], err[CONFIG_ERR_MAX];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(c->parent_ev);
	c->parent_ev = NULL;
	close(c->parent_sock);
	c->parent_sock = -1;
	if (state_start(c, err, sizeof err) < 0) {
		log_err("binary upgrade: %s; serving without the store, topics and alarms until a restart", err);
		return;
	}
	log_info("binary upgrade: the state is taken over; this process (pid %ld) is albd now", (long)getpid());
	notify_ready(c);
}

static void alog_cb(evutil_socket_t fd, short what, void *arg);

/* While the workers drain: their access log lines keep going out. */
static void drain_idle(void *arg)
{
	alog_cb(-1, 0, arg);
}

/* The access log: what the workers handed over goes to the file; lines
 * the file refused are counted. And memory the workers asked to be
 * returned is trimmed here, off their loops. */
static void alog_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t lost = alog_flush();

	worker_trim_memory();   /* on the same 100 ms timer: a worker may have asked */
	if (lost)
		shard_add(shard_block(shard_lb(), shard_control()), M_ACCESS_LOG_DROPPED_LINE_COUNT, lost);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct control *c = arg;

	if (sig == SIGHUP) {
		reload(c);
		return;
	}
	if (sig == SIGUSR1) {
		alog_reopen();   /* logrotate renamed it */
		return;
	}
	if (sig == SIGUSR2) {
		upgrade_start(c);   /* a new binary takes over */
		return;
	}
	log_info("%s received: draining (up to %u ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		 c->gen->cfg->timeouts.drain_ms);
	sdn_notifyf("STOPPING=1\nSTATUS=draining (up to %u ms)", c->gen->cfg->timeouts.drain_ms);
	event_base_loopbreak(c->base);
}

int main(int argc, char **argv)
{
	struct control c = {
		.path = "/etc/albd/albd.conf", .up_sock = -1, .parent_sock = -1, .lock_fd = -1, .argv = argv
	};
	char err[CONFIG_ERR_MAX];
	int check = 0, export_rules = 0, opt;
	struct albd_config *cfg;
	enum { OPT_EXPORT_RULES = 256 };
	static const struct option longopts[] = {
		{ "export-prometheus-rules", no_argument, NULL, OPT_EXPORT_RULES },
		{ NULL, 0, NULL, 0 },
	};

	/* libevent's memory from per-thread free lists (before libevent's
	 * first use): no call into malloc per request in a steady state */
	mempool_install();

	/* Before anything else: a signal that comes early (systemd, logrotate,
	 * an old albd handing over, whose mask a new binary inherits) must not
	 * kill albd. They stay blocked until the handlers exist; workers
	 * inherit the blocked mask: signals are the control thread's. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	while ((opt = getopt_long(argc, argv, "c:tdVh", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_EXPORT_RULES:
			export_rules = 1;
			break;
		case 'c':
			c.path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'd':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'V':
			printf("albd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || (check && export_rules)) {
		usage(stderr);
		return 1;
	}

	cfg = config_load(c.path, err, sizeof(err));
	if (!cfg || notify_check(cfg, err, sizeof(err)) < 0 || alarm_check(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return 1;
	}
	if (export_rules) {
		int rc = prom_rules_print(cfg, stdout, stderr);
		config_free(cfg);
		return rc;
	}
	if (check) {
		if (tls_global_init() < 0 || gen_check(cfg, err, sizeof(err)) < 0 ||
		    admin_check(cfg, err, sizeof(err)) < 0 ||
		    (sticky_configured(cfg) && sticky_key_check(cfg->state_dir, err, sizeof(err)) < 0)) {
			fprintf(stderr, "%s\n", err);
			config_free(cfg);
			return 1;
		}
		printf("%s: configuration is valid\n", c.path);
		config_free(cfg);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	http1_init();
	/* the binary's path, for SIGUSR2 (read now: a package upgrade replaces
	 * the file, and then /proc/self/exe names a deleted one) */
	ssize_t xl = readlink("/proc/self/exe", c.exe, sizeof c.exe - 1);
	c.exe[xl > 0 ? xl : 0] = 0;
	/* started by an old albd (SIGUSR2): its listening sockets, and the
	 * socket to tell it we are ready on */
	if (inherit_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	const char *ufd = getenv("ALBD_UPGRADE_FD");
	if (ufd && *ufd) {
		c.parent_sock = atoi(ufd);
		unsetenv("ALBD_UPGRADE_FD");
		fcntl(c.parent_sock, F_SETFD, FD_CLOEXEC);
	}
	/* one albd per state_dir, before anything reads it (an old albd of a
	 * binary upgrade hands its lock over: $ALBD_LOCK_FD) */
	const char *lfd = getenv(STATE_LOCK_ENV);
	int inherited_lock = lfd && *lfd ? atoi(lfd) : -1;
	unsetenv(STATE_LOCK_ENV);
	c.lock_fd = state_lock_take(cfg->state_dir, inherited_lock, err, sizeof(err));
	if (c.lock_fd == -1) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return 1;
	}
	if (c.lock_fd < 0) {
		log_err("%s; albd runs on without the lock: nothing stops a second albd from using state_dir",
			err);
		c.lock_fd = -1;
	}
	state_lock_hold(&c.lock_fd, cfg->state_dir);  /* made again with state_dir */
	if (tls_global_init() < 0) {
		fprintf(stderr, "cannot initialise TLS\n");
		return 1;
	}
	c.nworkers = cfg->workers;
	if (shard_init(c.nworkers) < 0) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	/* the targets the admin API registered (state_dir) join their groups */
	if (treg_init(cfg->state_dir, err, sizeof(err)) < 0 || treg_merge(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return 1;
	}
	/* stickiness cookies' key (state_dir), before the groups get their ids */
	if (sticky_configured(cfg) && sticky_key_init(cfg->state_dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return 1;
	}
	c.gen = gen_build(cfg, NULL, c.nworkers, err, sizeof(err));
	if (!c.gen) {
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return 1;
	}
	c.base = conn_base_new(0, err, sizeof(err));
	if (!c.base) {
		log_err("cannot create the control event loop: %s", err);
		return 1;
	}
	if (health_init(c.base) < 0) {
		log_err("cannot create the control event loop");
		return 1;
	}
	/* target states before the workers route anything */
	health_apply(c.gen);
	/* the admin listener: a port it cannot have stops albd, as a listener's would */
	if (admin_init(c.base) < 0) {
		log_err("cannot start the admin listener");
		return 1;
	}
	api_elb_init();
	aws_init();
	ui_init();
	treg_api_init(rebuild, &c);
	treg_forget_unknown(c.gen->cfg);
	if (admin_apply(c.gen, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* the access log file, opened while albd may still be root */
	if (alog_apply(c.gen->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* user: the ports are bound; what follows runs as that user */
	if (cfg->user) {
		/* the user reopens it (SIGUSR1) and a new binary opens it (SIGUSR2) */
		if (geteuid() == 0 && alog_chown(cfg->uid, cfg->gid) < 0)
			log_warn("access_log: cannot give the file to user %s: %s", cfg->user, strerror(errno));
		int rc = privdrop(cfg->user, cfg->uid, cfg->gid, cfg->state_dir, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (rc == 0)
			log_warn("user %s: albd is not running as root, so it stays who it is", cfg->user);
		else
			log_info("running as user %s (uid %ld, gid %ld)", cfg->user, (long)cfg->uid, (long)cfg->gid);
	}
	/* what the old albd handed over and nothing took is closed */
	inherit_close_rest();
	/* the state (state_dir), unless an old albd still has it: then once it
	 * wrote it out (parent_sock_cb) */
	if (c.parent_sock < 0 && state_start(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct event *ev_hup = evsignal_new(c.base, SIGHUP, signal_cb, &c);
	struct event *ev_term = evsignal_new(c.base, SIGTERM, signal_cb, &c);
	struct event *ev_int = evsignal_new(c.base, SIGINT, signal_cb, &c);
	struct event *ev_usr1 = evsignal_new(c.base, SIGUSR1, signal_cb, &c);
	struct event *ev_usr2 = evsignal_new(c.base, SIGUSR2, signal_cb, &c);
	if (!ev_usr2 || evsignal_add(ev_usr2, NULL)) {
		log_err("cannot install the SIGUSR2 handler");
		return 1;
	}
	struct event *ev_alog = event_new(c.base, -1, EV_PERSIST, alog_cb, NULL);
	const struct timeval alog_every = { 0, ALOG_FLUSH_MS * 1000 };
	if (!ev_usr1 || !ev_alog || evsignal_add(ev_usr1, NULL) || event_add(ev_alog, &alog_every)) {
		log_err("cannot create the access log's events");
		return 1;
	}
	struct event *ev_ticket = event_new(c.base, -1, EV_PERSIST, ticket_cb, &c);
	struct event *ev_expiry = event_new(c.base, -1, EV_PERSIST, expiry_cb, &c);
	struct event *ev_flush = event_new(c.base, -1, EV_PERSIST, flush_cb, NULL);
	const struct timeval rot = { TICKET_ROTATE_S, 0 }, day = { EXPIRY_CHECK_S, 0 }, sec = { 1, 0 };
	if (!ev_ticket || !ev_expiry || !ev_flush || event_add(ev_ticket, &rot) || event_add(ev_expiry, &day) ||
	    event_add(ev_flush, &sec)) {
		log_err("cannot create timers");
		return 1;
	}
	if (!ev_hup || !ev_term || !ev_int || evsignal_add(ev_hup, NULL) || evsignal_add(ev_term, NULL) ||
	    evsignal_add(ev_int, NULL)) {
		log_err("cannot install signal handlers");
		return 1;
	}
	c.workers = worker_start_all(c.nworkers, c.gen, &proxy_handler, err, sizeof(err));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);   /* a pending signal is handled now */
	if (!c.workers) {
		log_err("%s", err);
		return 1;
	}
	log_info("albd %s started: %u workers, configuration %s", PACKAGE_VERSION, c.nworkers, c.path);
	if (c.parent_sock >= 0) {
		/* a binary upgrade: tell the old albd, which then stops
		 * accepting, writes its state out and says STATE */
		if (write(c.parent_sock, "READY\n", 6) != 6) {
			log_err("binary upgrade: cannot reach the old process: %s", strerror(errno));
			return 1;
		}
		c.parent_ev = event_new(c.base, c.parent_sock, EV_READ | EV_PERSIST, parent_sock_cb, &c);
		if (!c.parent_ev || event_add(c.parent_ev, NULL) < 0) {
			log_err("binary upgrade: cannot wait for the old process");
			return 1;
		}
	} else {
		notify_ready(&c);
	}
	struct event *ev_watchdog = NULL;
	c.watchdog_ms = sdn_watchdog_usec() / 1000;
	if (c.watchdog_ms) {
		/* twice per interval, as sd_watchdog_enabled(3) advises */
		const struct timeval half = { (time_t)(c.watchdog_ms / 2000), (suseconds_t)(c.watchdog_ms / 2 % 1000 * 1000) };
		ev_watchdog = event_new(c.base, -1, EV_PERSIST, watchdog_cb, &c);
		if (!ev_watchdog || event_add(ev_watchdog, &half) < 0) {
			log_err("cannot create the watchdog timer");
			return 1;
		}
		sdn_notify("WATCHDOG=1");
	}

	event_base_dispatch(c.base);

	if (c.up_child)
		upgrade_abandon(&c);
	if (c.parent_ev) {
		/* stopped before the old process handed the state over */
		event_free(c.parent_ev);
		close(c.parent_sock);
	}
	worker_stop_all(c.workers, c.nworkers, drain_idle, NULL);
	alog_shutdown();      /* the workers' last lines are written */
	state_stop(&c);       /* alarms.json, the spool, the store (done already after a handover) */
	admin_shutdown();
	health_shutdown();
	gen_unref(c.gen);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_usr1);
	event_free(ev_usr2);
	if (ev_watchdog)
		event_free(ev_watchdog);
	event_free(ev_alog);
	event_free(ev_ticket);
	event_free(ev_expiry);
	event_free(ev_flush);
	event_base_free(c.base);
	metrics_free();
	log_flush(1);
	log_info("stopped");
	return 0;
}
