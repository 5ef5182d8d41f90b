/*
 * The daemon's life, step by step: what main.c's daemon_run() calls in
 * order.  The process (the state directory's lock, the fork that waits
 * for readiness, the drop to [global] user), the loop's signals, hook and
 * timers, the reload that swaps in a new configuration only if it loaded
 * cleanly, the registry of every module's counters for status and
 * metrics, and the alerts' start and drain.
 *
 * The modules do the work; this file only wires them: no decision about
 * an address is made here.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "ban.h"
#include "clock.h"
#include "cluster.h"
#include "conf.h"
#include "ct.h"
#include "ctl.h"
#include "daemon.h"
#include "enforce.h"
#include "kcap.h"
#include "surge.h"
#include "fw.h"
#include "log.h"
#include "logsrc.h"
#include "loop.h"
#include "losses.h"
#include "metrics.h"
#include "notify.h"
#include "outage.h"
#include "pipeline.h"
#include "priv.h"
#include "rollup.h"
#include "status.h"
#include "store.h"
#include "track.h"
#include "xmalloc.h"

#define RETENTION_INTERVAL_MS	(60 * 60 * 1000)	/* purge hourly */
#define ROLLUP_INTERVAL_MS	(60 * 1000)		/* rollups: a minute */
#define DAEMON_ROLLUP_EVERY	16	/* pairs between looks at the clock */
#define RATE_INTERVAL_MS	(10 * 1000)		/* events/s measured */
#define ALERT_DRAIN_MS		5000			/* at stop, at most */

static int	daemon_metrics_listen(struct daemon *, const struct conf *,
		    char **);
static void	daemon_metrics_cb(struct metrics *, void *);
static void	daemon_metrics_file_arm(struct daemon *);
static void	daemon_alert_poll(struct daemon *);
static int64_t	daemon_rate_cb(struct loop *, struct loop_timer *, void *);
static int64_t	daemon_rollup_cb(struct loop *, struct loop_timer *, void *);
static void	daemon_rollup_arm(struct daemon *);

/* A key for the hash tables that an attacker cannot guess. */
uint32_t
daemon_seed(void)
{
	uint32_t	seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		fatal("getrandom");
	return seed;
}

/*
 * `xmppguard run`'s options and configuration: -1 for a usage error, 1
 * if the configuration did not load or check-config would refuse it (the
 * errors are printed), else 0 with *foreground set and d ready for
 * daemon_run().
 */
int
daemon_init(struct daemon *d, int argc, char **argv, int *foreground)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "foreground",	no_argument,		NULL, 'f' },
		{ "dry-run",	no_argument,		NULL, 'n' },
		{ "state-dir",	required_argument,	NULL, 'S' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "debug",	no_argument,		NULL, 'd' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*conf_path = NULL;
	char		*cause;
	int		 ch, debug = 0;

	memset(d, 0, sizeof(*d));
	d->lock_fd = d->ready_fd = -1;
	*foreground = 0;
	while ((ch = getopt_long(argc, argv, "c:fnS:s:d", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			*foreground = 1;
			break;
		case 'n':
			d->dry_run = 1;
			break;
		case 'S':
			if (optarg[0] != '/')
				fatalx("--state-dir: %s: not an absolute "
				    "path", optarg);
			d->state_dir = optarg;
			break;
		case 's':
			d->socket = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	if ((d->conf = conf_load_command(conf_path)) == NULL)
		return 1;
	/* The filters too, as check-config does: a configuration error is
	 * told apart from the failures of start-up proper (exit 78, which
	 * the unit does not restart on). */
	if (logsrc_check(d->conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		conf_free(d->conf);
		d->conf = NULL;
		return 1;
	}
	daemon_apply_overrides(d, d->conf);
	if (debug)
		d->conf->log_level = LOG_LEVEL_DEBUG;
	return 0;
}

/* Applies command-line overrides, which win over the file. */
void
daemon_apply_overrides(struct daemon *d, struct conf *conf)
{
	if (d->dry_run)
		conf->dry_run = 1;
	if (d->socket != NULL) {
		free(conf->control_socket);
		conf->control_socket = xstrdup(d->socket);
	}
	if (d->state_dir != NULL) {
		char	*dflt;

		/* The store follows the state directory unless the file
		 * put it elsewhere. */
		dflt = xasprintf("%s/xmppguard.db", conf->state_dir);
		if (strcmp(conf->db_path, dflt) == 0) {
			free(conf->db_path);
			conf->db_path = xasprintf("%s/xmppguard.db",
			    d->state_dir);
		}
		free(dflt);
		free(conf->state_dir);
		conf->state_dir = xstrdup(d->state_dir);
	}
}

/*
 * Creates the state directory if needed and takes its lock, so a second
 * instance on the same state cannot interleave writes or bans.  The lock is
 * an flock(2) on a file holding our pid: the kernel drops it when we die,
 * so a stale file never blocks a restart.
 */
int
daemon_lock(struct daemon *d, char **cause)
{
	char	*path, buf[32];
	int	 fd, n;
	ssize_t	 got;

	if (mkdir(d->conf->state_dir, 0750) == -1 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", d->conf->state_dir,
		    strerror(errno));
		return -1;
	}
	path = xasprintf("%s/xmppguard.pid", d->conf->state_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			got = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[got > 0 ? got : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			*cause = xasprintf("another xmppguard (pid %s) is "
			    "running on %s", buf[0] != '\0' ? buf : "?",
			    d->conf->state_dir);
		} else
			*cause = xasprintf("%s: flock: %s", path,
			    strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, n, 0) != n) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	d->lock_fd = fd;
	return 0;
}

/*
 * Without --foreground: fork, and let the parent wait until the child says
 * it is ready (or dies, having printed why to the shared stderr), so that
 * "xmppguard run" exits non-zero when start-up fails, as an init system
 * expects.
 */
void
daemon_detach(struct daemon *d)
{
	int	 fds[2];
	pid_t	 pid;
	char	 c;

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) == 1)
			_exit(0);
		_exit(1);
	}
	close(fds[0]);
	d->ready_fd = fds[1];
	if (setsid() == -1)
		fatal("setsid");
}

/* The service manager's status line (notify.c), from the counters. */
static void
daemon_notify_cb(struct notify_summary *s, void *arg)
{
	struct daemon		*d = arg;
	struct ban_stats	 bst;
	struct track_stats	 tst;

	bans_get_stats(enforce_bans(d->enforce), &bst);
	track_get_stats(pipeline_track(d->pipeline), &tst);
	s->dry_run = d->conf->dry_run != 0;
	s->services = d->conf->nservices;
	s->logs = d->conf->nlogs;
	s->bans = bst.active;
	s->tracked = tst.entries;
}

void
daemon_ready(struct daemon *d)
{
	int	fd;

	/* Under systemd (Type=notify) the start is done now; from here the
	 * loop sends the status line and the watchdog's keep-alives. */
	if (notify_start(d->loop, daemon_notify_cb, d) == -1)
		fatal("loop: timers");
	notify_ready();
	if (d->ready_fd == -1)
		return;
	/* From here on the terminal is gone: log to syslog only. */
	log_init(0, (enum log_level)d->conf->log_level);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (write(d->ready_fd, "", 1) != 1)
		log_warn("telling the parent we are ready");
	close(d->ready_fd);
	d->ready_fd = -1;
}

/*
 * Becomes [global] user for good: the files the daemon goes on writing
 * become its own first (the state directory, the store and its WAL, the
 * control socket), then groups, gid and uid are set, and getting root
 * back must fail.  Any failure is fatal: a daemon that meant to drop and
 * could not must not run as root.
 */
void
daemon_drop(struct daemon *d)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct passwd	*pw;
	char		 path[PATH_MAX];
	size_t		 i;

	if ((pw = getpwnam(d->conf->user)) == NULL)
		fatalx("user %s: no such user", d->conf->user);
	if (pw->pw_uid == 0)
		fatalx("user %s: is root", d->conf->user);
	if (chown(d->conf->state_dir, pw->pw_uid, pw->pw_gid) == -1)
		fatal("chown %s", d->conf->state_dir);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", d->conf->db_path,
		    suffix[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) == -1 &&
		    errno != ENOENT)
			fatal("chown %s", path);
	}
	if (chown(d->conf->control_socket, pw->pw_uid, (gid_t)-1) == -1)
		fatal("chown %s", d->conf->control_socket);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("dropping to user %s", d->conf->user);
	if (setuid(0) != -1 || geteuid() == 0)
		fatalx("dropping to user %s: root came back", d->conf->user);
	ctl_set_owner(d->ctl, pw->pw_uid);
	log_info("privileges: running as %s; the firewall and conntrack "
	    "requests go through helper %ld (CAP_NET_ADMIN only)",
	    d->conf->user, (long)priv_pid(d->priv));
}

static void
daemon_stop_cb(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info("%s received, stopping", strsignal(signo));
	notify_stopping();
	loop_stop(loop);
}

/*
 * The tracker's windows from the store's recent rows (pipeline_rebuild()):
 * at start before any source feeds it, at a reload for the windows whose
 * length changed.  A failed read is not fatal: the windows keep what was
 * read, and the daemon defends from there.
 */
void
daemon_rebuild(struct daemon *d, int start)
{
	struct pipeline_rebuild	 r;
	int64_t			 t0 = clock_monotonic();
	char			*cause;

	if (pipeline_rebuild(d->pipeline, clock_realtime(), start, &r,
	    &cause) == -1) {
		log_warnx("store: rebuilding windows: %s", cause);
		free(cause);
	}
	if (!start && r.events == 0)
		return;
	log_info("%srebuilt windows of %llu addresses from %llu events in "
	    "%lld ms%s", start ? "" : "reload: ",
	    (unsigned long long)r.addresses, (unsigned long long)r.events,
	    (long long)((clock_monotonic() - t0) / CLOCK_US_PER_MS),
	    r.capped ? " (capped: only the newest rows of a full window)" :
	    "");
}

/* A reload that cannot go on: why, to the log and to the asker (out may
 * be NULL: SIGHUP); frees cause. */
static void
daemon_reload_refused(FILE *out, char *cause)
{
	log_warnx("reload: %s; keeping the running configuration", cause);
	if (out != NULL)
		fprintf(out, "%s; keeping the running configuration\n",
		    cause);
	free(cause);
}

/*
 * SIGHUP: build a new configuration beside the running one and swap it in
 * only if it loaded cleanly; a broken file leaves the daemon as it was.
 */
static int
daemon_reload_swap(struct daemon *d, FILE *out)
{
	struct conf	*conf;
	struct logsrc	*logs;
	struct fw	*fw;
	char		*cause, *line, *save;

	if (conf_load(d->conf->path, &conf, &cause) == -1) {
		log_warnx("reload: %s has errors, keeping the running "
		    "configuration", d->conf->path != NULL ? d->conf->path :
		    "built-in configuration");
		if (out != NULL)
			fprintf(out, "%s has errors, keeping the running "
			    "configuration:\n%s\n", d->conf->path != NULL ?
			    d->conf->path : "built-in configuration", cause);
		for (line = strtok_r(cause, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_warnx("reload: %s", line);
		free(cause);
		return -1;
	}
	conf_log_warnings(conf, 1);
	daemon_apply_overrides(d, conf);
	/*
	 * Logs and filters (an operator may have edited a filter file) start
	 * afresh from the positions saved just now; if one fails, the
	 * running configuration and its logs stay as they were.
	 */
	logsrc_flush(d->logs, clock_realtime());
	store_flush(d->store);
	if ((logs = logsrc_start(d->loop, conf, d->store, pipeline_event,
	    d->pipeline, &cause)) == NULL) {
		daemon_reload_refused(out, cause);
		conf_free(conf);
		return -1;
	}
	/* The firewall too (ports, table, backend): the new one opens
	 * beside the old, which stays if it cannot. */
	if ((fw = enforce_reload_open(d->enforce, conf, &cause)) == NULL) {
		daemon_reload_refused(out, cause);
		logsrc_stop(logs);
		conf_free(conf);
		return -1;
	}
	logsrc_stop(d->logs);
	d->logs = logs;
	status_set(d->status, &logsrc_status_group, logs);
	if (strcmp(conf->state_dir, d->conf->state_dir) != 0 ||
	    strcmp(conf->db_path, d->conf->db_path) != 0)
		log_warnx("reload: state_dir and store path changes take "
		    "effect at the next restart");
	free(conf->state_dir);
	conf->state_dir = xstrdup(d->conf->state_dir);
	free(conf->db_path);
	conf->db_path = xstrdup(d->conf->db_path);
	if (strcmp(conf->control_socket, d->conf->control_socket) != 0)
		log_warnx("reload: control_socket changes take effect at "
		    "the next restart");
	if ((conf->ct_enabled != 0) != (d->ct != NULL))
		log_warnx("reload: [conntrack] enabled changes take effect at "
		    "the next restart");
	/* Everything that points into the old configuration moves to the
	 * new one before the old one is freed. */
	pipeline_set_conf(d->pipeline, conf);
	daemon_rebuild(d, 0);
	enforce_reload(d->enforce, conf, fw);
	status_set(d->status, &fw_status_group, enforce_fw(d->enforce));
	if (d->ct != NULL)
		ct_set_conf(d->ct, conf);
	alerts_reload(d->alerts, conf);
	daemon_surge_reload(d, conf);
	if ((*conf->cluster_lapi_url != '\0') != (d->cluster != NULL))
		log_warnx("reload: adding or removing [cluster] takes effect "
		    "at the next restart");
	else
		cluster_reload(d->cluster, conf);
	if (daemon_metrics_listen(d, conf, &cause) == -1) {
		log_warnx("reload: %s; no metrics endpoint", cause);
		if (out != NULL)
			fprintf(out, "%s; no metrics endpoint\n", cause);
		free(cause);
	}
	conf_free(d->conf);
	d->conf = conf;
	/* The kernel caps' refusals are read while the caps have some. */
	kcap_reload(&d->kcap, d->loop, (const struct conf *const *)&d->conf);
	kcap_set_verdict_cb(d->kcap, pipeline_verdict_add, d->pipeline);
	pipeline_set_kcap(d->pipeline, d->kcap);
	status_set(d->status, &kcap_status_group, d->kcap);
	daemon_metrics_file_arm(d);
	log_set_level((enum log_level)conf->log_level);
	log_info("reload: configuration %s loaded", conf->path != NULL ?
	    conf->path : "(built-in)");
	if (out != NULL)
		fprintf(out, "configuration %s loaded\n", conf->path != NULL ?
		    conf->path : "(built-in)");
	return 0;
}

/* The service manager sees the reload begin and end, failed or not (it
 * waits for READY=1 either way). */
int
daemon_reload(struct daemon *d, FILE *out)
{
	int	rc;

	notify_reloading();
	rc = daemon_reload_swap(d, out);
	notify_ready();
	return rc;
}

static void
daemon_reload_cb(struct loop *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	(void)daemon_reload(arg, NULL);
}

/*
 * The event rate, sampled every RATE_INTERVAL_MS while events come.  An
 * interval without any (the rate is then 0) stops the timer; the flush
 * hook starts it again with the next event, so an idle daemon does not
 * wake to measure nothing.
 */
static int64_t
daemon_rate_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon		*d = arg;
	struct pipeline_stats	 ps;

	(void)loop;
	(void)t;
	pipeline_get_stats(d->pipeline, &ps);
	d->rate = (double)(ps.events - d->rate_events) /
	    (RATE_INTERVAL_MS / 1000.0);
	if (ps.events == d->rate_events) {
		d->rate_timer = NULL;
		return LOOP_TIMER_DONE;
	}
	d->rate_events = ps.events;
	return RATE_INTERVAL_MS;
}

/* Once per loop iteration: commit what this iteration appended. */
void
daemon_flush(struct daemon *d)
{
	/*
	 * The kernel first, then the store: the commit (and the WAL's
	 * checkpoints) cost 0.3 ms at the median and milliseconds at the
	 * tail, which a ban should not wait for (contrib/bench/ban-latency.sh:
	 * p99 1.3-1.5 ms store first, 0.9-1.3 ms kernel first).  A kill -9
	 * between the two loses little: the restart adopts the kernel's
	 * elements the store lacks as bans with their remaining timeouts
	 * (only that ban's reason and step are gone), and an unban the store
	 * missed is put back only until its recorded end.
	 */
	logsrc_flush(d->logs, clock_realtime());
	enforce_flush(d->enforce);
	daemon_surge_flush(d);
	store_flush(d->store);
}

/*
 * The before-sleep hook: the iteration's batch is committed, then the
 * counters the alerts follow are looked at (they change only when
 * something ran, and something ran whenever this hook does), and the
 * timers that stop when idle start again once there was work.
 */
static void
daemon_flush_hook(struct loop *loop, void *arg)
{
	struct daemon		*d = arg;
	struct pipeline_stats	 ps;

	daemon_flush(d);
	if (d->pipeline == NULL)
		return;
	daemon_alert_poll(d);
	notify_poke();
	if (d->rollup_timer == NULL && loop_work(loop) != d->rollup_work)
		daemon_rollup_arm(d);
	if (d->rate_timer == NULL) {
		pipeline_get_stats(d->pipeline, &ps);
		if (ps.events != d->rate_events &&
		    (d->rate_timer = loop_timer_add(loop, RATE_INTERVAL_MS,
		    daemon_rate_cb, d)) != NULL)
			loop_timer_chore(d->rate_timer);
	}
}

/* The minute's rollups, on the wall clock's next minute. */
static void
daemon_rollup_arm(struct daemon *d)
{
	if ((d->rollup_timer = loop_timer_add(d->loop, loop_align_ms(
	    clock_realtime(), ROLLUP_INTERVAL_MS * CLOCK_US_PER_MS),
	    daemon_rollup_cb, d)) == NULL) {
		log_warn("loop: rollup timer");
		return;
	}
	loop_timer_chore(d->rollup_timer);
}

/*
 * The minute's rollups: thousands of pairs under load, each three upserts,
 * a quarter of a second in one go.  So they are written a time budget per
 * iteration, the timer coming back on the next one until the round is done
 * (each iteration's rows are committed by the flush hook as usual).
 *
 * Rounds fall on the wall clock's minutes.  Nothing is counted, and no
 * loss can grow, unless the loop works: a round that finds no work since
 * the last one began (only chores: rounds, status lines) had nothing to
 * write, the last one having written all there was, and stops the timer;
 * the flush hook starts it again after the next iteration that did
 * anything.  (Since the last one began, not ended: events read between
 * its steps may have left pairs behind its cursor.)
 */
static int64_t
daemon_rollup_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon		*d = arg;
	struct loop_budget	 b;
	int			 begin = !d->rollup_step;
	uint64_t		 work;

	(void)t;
	if (begin)
		d->rollup_begin = loop_work(loop);
	loop_budget_start(&b, LOOP_BUDGET_US, DAEMON_ROLLUP_EVERY);
	d->rollup_step = !pipeline_flush_step(d->pipeline, begin, &b);
	if (d->rollup_step)
		return 0;
	daemon_losses_flush(d);
	work = d->rollup_work;
	d->rollup_work = d->rollup_begin;
	if (loop_work(loop) == work) {
		d->rollup_timer = NULL;
		return LOOP_TIMER_DONE;
	}
	return loop_align_ms(clock_realtime(),
	    ROLLUP_INTERVAL_MS * CLOCK_US_PER_MS);
}

void
daemon_losses_flush(struct daemon *d)
{
	char	*cause;

	if (losses_flush(d->losses, clock_realtime(), &cause) == -1) {
		if (log_ratelimit_ok(&d->losses_rl, clock_monotonic()))
			log_warnx("store: %s (kept for the next minute)",
			    cause);
		free(cause);
	}
}

/*
 * Retention: hourly, a chunk of old rows at a time under the loop's time
 * budget (a purge after a long outage or a shorter retention is millions
 * of rows), the timer coming back on the next iteration until done.
 */
static int64_t
daemon_retention_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon		*d = arg;
	struct loop_budget	 b;
	char			*cause;
	int64_t			 n;
	int			 r;

	(void)loop;
	(void)t;
	if (d->conf->retention == 0)
		return loop_align_ms(clock_realtime(),
		    RETENTION_INTERVAL_MS * CLOCK_US_PER_MS);
	if (d->purge_step == 0) {
		d->purge_before = clock_realtime() - d->conf->retention;
		d->purged = 0;
	}
	loop_budget_start(&b, LOOP_BUDGET_US, 1);
	r = store_purge_some(d->store, d->purge_before, &b, &n, &cause);
	d->purged += n;
	d->purge_step = r == 0;
	if (r == 0)
		return 0;
	if (r == -1) {
		log_warnx("store: retention purge: %s", cause);
		free(cause);
	} else if (d->purged > 0)
		log_info("store: retention purge removed %lld rows",
		    (long long)d->purged);
	if (losses_purge(d->store, d->purge_before, &cause) == -1) {
		log_warnx("store: retention purge: %s", cause);
		free(cause);
	}
	/* On the hour, with the minute's rollups. */
	return loop_align_ms(clock_realtime(),
	    RETENTION_INTERVAL_MS * CLOCK_US_PER_MS);
}

/*
 * Alerts.  The sinks exist before enforcement so that no ban goes
 * unannounced, but hear of bans only once the store's bans are back in
 * force (those are not announced again); conntrack overruns, bans the
 * store cannot save and auth outages are read from their counters by the
 * flush hook, once per iteration: they change only when the loop runs.
 */
/* The cluster link down for longer than its down_alert, then back. */
static void
daemon_alert_cluster(struct daemon *d)
{
	struct cluster_stats	cs;
	int64_t			now = clock_realtime();

	if (d->cluster == NULL)
		return;
	cluster_get_stats(d->cluster, &cs);
	if (cs.downs > d->cluster_downs) {
		d->cluster_downs = cs.downs;
		if (cs.down_since != 0 && !cs.up) {
			d->cluster_down = cs.down_since;
			alerts_cluster(d->alerts, 1, d->conf->cluster_lapi_url,
			    now - cs.down_since, cs.last_error, now);
		}
	} else if (d->cluster_down != 0 && cs.up) {
		alerts_cluster(d->alerts, 0, d->conf->cluster_lapi_url,
		    now - d->cluster_down, NULL, now);
		d->cluster_down = 0;
	}
}

static void
daemon_alert_poll(struct daemon *d)
{
	struct outage_stats	 os;
	struct ct_stats		 cs;
	struct ban_stats	 bst;

	if (d->alerts == NULL)
		return;
	if (d->ct != NULL) {
		ct_get_stats(d->ct, &cs);
		alerts_overrun(d->alerts, cs.overruns, clock_realtime());
	}
	/* Bans the store cannot record (a full disk): said loudly. */
	if (d->enforce != NULL) {
		bans_get_stats(enforce_bans(d->enforce), &bst);
		alerts_store_error(d->alerts, bst.unsaved,
		    bans_save_error(enforce_bans(d->enforce)),
		    clock_realtime());
	}
	daemon_alert_cluster(d);
	pipeline_outage_stats(d->pipeline, &os);
	if (os.episodes > d->outages) {
		d->outages = os.episodes;
		alerts_outage(d->alerts, &os, d->conf->auth_outage_window,
		    d->conf->auth_outage_hold, clock_realtime());
	}
}

void
daemon_alerts_open(struct daemon *d)
{
	char	*cause;

	if ((d->alerts = alerts_new(d->loop, d->conf, &cause)) == NULL)
		fatalx("%s", cause);
}

/* Each ban change goes to the alerts and to the cluster's push queue. */
static void
daemon_ban_notify(enum ban_change change, const struct ban *b,
    int64_t now, void *arg)
{
	struct daemon	*d = arg;

	alerts_ban(change, b, now, d->alerts);
	cluster_ban_cb(change, b, now, d->cluster);
}

/* The [cluster] link, before the first ban can be made. */
void
daemon_cluster_start(struct daemon *d)
{
	char	*cause;

	if (*d->conf->cluster_lapi_url == '\0')
		return;
	if ((d->cluster = cluster_start(d->loop, d->conf, d->store,
	    d->enforce, &cause)) == NULL)
		fatalx("cluster: %s", cause);
}

void
daemon_alerts_start(struct daemon *d)
{
	struct ban_stats	bst;

	bans_get_stats(enforce_bans(d->enforce), &bst);
	enforce_set_notify(d->enforce, daemon_ban_notify, d);
	alerts_start(d->alerts, bst.restored, fw_name(enforce_fw(d->enforce)),
	    clock_realtime());
}

/*
 * The stop message and what is still queued go out, the loop running a
 * little longer (ALERT_DRAIN_MS at most: a dead chat cannot hold the stop
 * up) with everything still open, so its hooks and timers stay valid; bans
 * made meanwhile are no longer announced.
 */
void
daemon_alerts_stop(struct daemon *d)
{
	struct ban_stats	bst;
	struct timespec		ts = { 0, 10 * 1000 * 1000 };
	int64_t			end;

	enforce_set_notify(d->enforce, NULL, NULL);
	bans_get_stats(enforce_bans(d->enforce), &bst);
	alerts_stop(d->alerts, clock_monotonic() - d->started, bst.active,
	    clock_realtime());
	end = clock_monotonic() + ALERT_DRAIN_MS * CLOCK_US_PER_MS;
	while (alerts_busy(d->alerts) > 0 && clock_monotonic() < end)
		if (loop_run_once(d->loop, 0) <= 0)
			nanosleep(&ts, NULL);
	alerts_free(d->alerts);
	d->alerts = NULL;
}

/* The textfile collector's file, every [metrics] interval while one is
 * configured (a reload that sets one starts the timer again). */
static int64_t
daemon_metrics_file_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon	*d = arg;
	char		*cause;

	(void)loop;
	(void)t;
	if (*d->conf->metrics_file == '\0') {
		d->metrics_timer = NULL;
		return LOOP_TIMER_DONE;
	}
	if (metrics_write_file(d->conf->metrics_file, daemon_metrics_cb,
	    d->status, &cause) == -1) {
		if (log_ratelimit_ok(&d->metrics_rl, clock_monotonic()))
			log_warnx("metrics: %s", cause);
		free(cause);
	}
	return d->conf->metrics_interval / CLOCK_US_PER_MS;
}

/* The endpoint, (re)opened when [metrics] listen changes: 0, or -1 with
 * *cause and no endpoint (the old one is closed first, so that the new
 * one may take the same port). */
static int
daemon_metrics_listen(struct daemon *d, const struct conf *conf,
    char **cause)
{
	struct metrics_server	*srv = NULL;
	char			 addr[64];
	uint16_t		 port;

	if (strcmp(conf->metrics_listen, d->metrics_listen) == 0)
		return 0;
	if (*conf->metrics_listen != '\0') {
		if (metrics_parse_listen(conf->metrics_listen, addr,
		    sizeof(addr), &port) == -1) {
			*cause = xasprintf("metrics: %s: not ADDR:PORT",
			    conf->metrics_listen);
			return -1;
		}
		/* The old one first: the new may want the same port. */
		metrics_server_close(d->metrics);
		d->metrics = NULL;
		d->metrics_listen[0] = '\0';
		if ((srv = metrics_server_open(d->loop, addr, port,
		    daemon_metrics_cb, d->status, cause)) == NULL)
			return -1;
		log_info("metrics: serving http://%s/metrics",
		    conf->metrics_listen);
	}
	metrics_server_close(d->metrics);
	d->metrics = srv;
	snprintf(d->metrics_listen, sizeof(d->metrics_listen), "%s",
	    conf->metrics_listen);
	return 0;
}

/* Metrics: every registered group, read fresh for each scrape or file. */
static void
daemon_metrics_cb(struct metrics *m, void *arg)
{
	status_metrics(arg, m);
}

/* The [metrics] endpoint now, and its file every [metrics] interval. */
void
daemon_metrics_start(struct daemon *d)
{
	char	*cause;

	d->metrics_rl.interval_us = 60 * CLOCK_US_PER_SEC;
	if (daemon_metrics_listen(d, d->conf, &cause) == -1)
		fatalx("%s", cause);
	daemon_metrics_file_arm(d);
}

static void
daemon_metrics_file_arm(struct daemon *d)
{
	if (d->metrics_timer != NULL || *d->conf->metrics_file == '\0')
		return;
	if ((d->metrics_timer = loop_timer_add(d->loop, 0,
	    daemon_metrics_file_cb, d)) == NULL)
		fatal("loop: timers");
	loop_timer_chore(d->metrics_timer);
}

void
daemon_loop_init(struct daemon *d)
{
	struct loop_timer	*t;

	/* Signals arrive as loop events, never asynchronously. */
	if (loop_signal(d->loop, SIGTERM, daemon_stop_cb, d) == -1 ||
	    loop_signal(d->loop, SIGINT, daemon_stop_cb, d) == -1 ||
	    loop_signal(d->loop, SIGHUP, daemon_reload_cb, d) == -1)
		fatal("loop: signals");
	signal(SIGPIPE, SIG_IGN);
	loop_hook_add(d->loop, daemon_flush_hook, d);
	/* A purge now, then on the hour; rollups on the minute while the
	 * loop has work; the rate while events come (the hook starts
	 * them). */
	if ((t = loop_timer_add(d->loop, 0, daemon_retention_cb, d)) == NULL)
		fatal("loop: timers");
	loop_timer_chore(t);
	daemon_rollup_arm(d);
	if (d->rollup_timer == NULL)
		fatal("loop: timers");
}

/*
 * Status: the daemon's own line, then each module's group in the order of
 * the data flow (detection, sources, enforcement, sinks, store).
 */
struct daemon_status {
	const char	*version;
	int		 pid;
	int64_t		 started;
	uint64_t	 uptime;	/* s */
	const char	*config;
	int		 dry_run;
	double		 rate;
	uint64_t	 scrapes;
};

static void
daemon_status_get(const void *obj, size_t i, void *snap)
{
	const struct daemon		*d = obj;
	struct daemon_status		*s = snap;
	struct metrics_server_stats	 ms;

	(void)i;
	s->version = XG_VERSION;
	s->pid = (int)getpid();
	s->started = d->started_wall;
	s->uptime = (uint64_t)((clock_monotonic() - d->started) /
	    CLOCK_US_PER_SEC);
	s->config = d->conf->path;
	s->dry_run = d->conf->dry_run != 0;
	s->rate = d->rate;
	if (d->metrics != NULL) {
		metrics_server_get_stats(d->metrics, &ms);
		s->scrapes = ms.scrapes;
	}
}

#define DS(f)	offsetof(struct daemon_status, f)
static const struct status_field daemon_status_fields[] = {
	{ .name = "version", .type = STATUS_STR, .off = DS(version),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_build_info",
	  .help = "The version running.", .text = "%" },
	{ .name = "pid", .type = STATUS_INT, .off = DS(pid),
	  .text = "pid %" },
	{ .name = "started", .type = STATUS_TIME, .off = DS(started),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_start_time_seconds",
	  .help = "When the daemon started, in seconds since the epoch.",
	  .text = "since %" },
	{ .name = "uptime", .type = STATUS_U64, .off = DS(uptime),
	  .text = "up %s" },
	{ .name = "config", .type = STATUS_STR, .off = DS(config) },
	{ .name = "dry_run", .type = STATUS_BOOL, .off = DS(dry_run),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_dry_run",
	  .help = "1 if bans are decided but not enforced.",
	  .text = "dry run %" },
	{ .name = "events_per_second", .type = STATUS_DOUBLE, .off = DS(rate),
	  .text = "% events/s" },
	{ .name = "metrics_scrapes", .type = STATUS_U64, .off = DS(scrapes),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_metrics_scrapes_total",
	  .help = "Scrapes answered by the metrics endpoint." },
	{ .name = NULL }
};
#undef DS

static const struct status_group daemon_status_group = {
	.text = "xmppguard",
	.fields = daemon_status_fields,
	.size = sizeof(struct daemon_status),
	.get = daemon_status_get,
};

void
daemon_status_init(struct daemon *d)
{
	struct status	*st;

	d->status = st = status_new();
	status_add(st, &daemon_status_group, d);
	status_add(st, &loop_status_group, d->loop);
	status_add(st, &pipeline_status_group, d->pipeline);
	status_add(st, &track_status_group, pipeline_track(d->pipeline));
	if (d->ct != NULL)
		status_add(st, &ct_status_group, d->ct);
	else
		status_add(st, &ct_status_off_group, NULL);
	status_add(st, &logsrc_status_group, d->logs);
	status_add(st, &bans_status_group, enforce_bans(d->enforce));
	status_add(st, &fw_status_group, enforce_fw(d->enforce));
	status_add(st, &kcap_status_group, d->kcap);
	status_add(st, &rollup_refused_status_group,
	    pipeline_rollup(d->pipeline));
	status_add(st, &surge_status_group, d->surge);
	status_add(st, &alerts_status_group, d->alerts);
	if (d->cluster != NULL)
		status_add(st, &cluster_status_group, d->cluster);
	status_add(st, &store_status_group, d->store);
	d->losses = losses_new(st, d->store);
}
