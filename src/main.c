/*
 * xmppguard: the binary and its subcommands.
 *
 * daemon_run() below is the architecture in order: configuration, logging,
 * the state directory and its lock, the store, the event loop with its
 * signals, hooks and timers, then the loop itself; shutdown releases them
 * in reverse.  Each later source (conntrack, log files) and sink (firewall,
 * alerts) registers itself here between the store and the loop, so the
 * data flow of DESIGN.md stays visible in one screen.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "clock.h"
#include "conf.h"
#include "ct.h"
#include "ban.h"
#include "ctl.h"
#include "fw.h"
#include "json.h"
#include "log.h"
#include "logsrc.h"
#include "loop.h"
#include "metrics.h"
#include "outage.h"
#include "pipeline.h"
#include "priv.h"
#include "replay.h"
#include "report.h"
#include "testfilter.h"
#include "store.h"
#include "track.h"
#include "xmalloc.h"

#define RETENTION_INTERVAL_MS	(60 * 60 * 1000)	/* purge hourly */
#define ROLLUP_INTERVAL_MS	(60 * 1000)		/* rollups each minute */
#define RATE_INTERVAL_MS	(10 * 1000)		/* events/s measured */
#define EXPIRE_INTERVAL_MS	1000			/* bans expired */
#define CTL_ARGS_CLIENT		30			/* words of a request */
#define ALERT_POLL_MS		1000			/* overruns polled */
#define ALERT_DRAIN_MS		5000			/* at stop, at most */

struct daemon {
	struct conf	*conf;
	struct loop	*loop;
	struct store	*store;
	struct pipeline	*pipeline;
	struct ct	*ct;		/* NULL: [conntrack] enabled = no */
	struct logsrc	*logs;		/* the [log] sections */
	struct fw	*fw;		/* the firewall backend */
	struct bans	*bans;		/* bans in force */
	struct priv	*priv;		/* the helper; NULL: running as root */
	struct log_ratelimit fw_rl;	/* firewall failure warnings */
	struct ctl	*ctl;
	struct alerts	*alerts;	/* the [alert] sinks */
	uint64_t	 outages;	/* auth outages announced */
	struct metrics_server *metrics;	/* [metrics] listen; NULL: none */
	char		 metrics_listen[72];	/* what it listens on */
	struct log_ratelimit metrics_rl;	/* file write warnings */
	int		 lock_fd;
	int		 ready_fd;	/* pipe to the waiting parent; -1 */
	int		 dry_run;	/* from the command line */
	char		*state_dir;	/* from the command line; NULL */
	char		*socket;	/* from the command line; NULL */
	int64_t		 started;	/* monotonic us */
	int64_t		 started_wall;	/* us since epoch */
	uint64_t	 rate_events;	/* events at the last rate sample */
	double		 rate;		/* events per second, last interval */
};

static int	daemon_metrics_listen(struct daemon *, const struct conf *,
		    char **);

static void __attribute__((noreturn))
main_usage(FILE *f, int status)
{
	fprintf(f,
	    "usage: xmppguard run [-c FILE] [-f|--foreground] [-n|--dry-run]\n"
	    "                     [-S|--state-dir DIR] [-s|--socket PATH] "
	    "[-d|--debug]\n"
	    "       xmppguard status [-c FILE] [-s|--socket PATH] [--json]\n"
	    "       xmppguard bans [-c FILE] [-s|--socket PATH] [--json]\n"
	    "       xmppguard ban ADDR[/LEN] [--for DURATION] "
	    "[--reason TEXT] [-c FILE] [-s PATH]\n"
	    "       xmppguard unban ADDR[/LEN] [-c FILE] [-s PATH]\n"
	    "       xmppguard reload [-c FILE] [-s PATH]\n"
	    "       xmppguard check-config [-c FILE] "
	    "[--reference[=markdown|man]]\n"
	    "       xmppguard replay [-c FILE] [--db FILE] [--json] "
	    "--conntrack FILE\n"
	    "       xmppguard report [--db FILE] [-c FILE] [--since DUR] "
	    "[--top N] [--ip ADDR]\n"
	    "                        [--service NAME] [--sort KEY] "
	    "[--section NAME]\n"
	    "                        [--format table|json|csv|html] "
	    "[-o FILE]\n"
	    "       xmppguard test-filter FILTER LOGFILE [--json] [--events] "
	    "[--kind KIND] [--jobs N]\n"
	    "       xmppguard version\n");
	exit(status);
}

/* Applies command-line overrides, which win over the file. */
static void
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
static int
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
static void
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

static void
daemon_ready(struct daemon *d)
{
	int	fd;

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
 * A batch failed: halves, recursively, so one operation the firewall
 * refuses (an interval overlapping another in nftables, say) cannot block
 * every ban after it forever.  An operation refused on its own is dropped
 * and said; *applied counts what went through.
 */
static void
daemon_fw_bisect(struct daemon *d, const struct fw_op *ops, size_t n,
    size_t *applied)
{
	const struct fw_op	*p = ops;
	size_t			 half[2] = { n / 2, n - n / 2 }, k;
	char			*cause, pfx[ADDR_PREFIX_STRLEN];

	for (k = 0; k < 2; p += half[k], k++) {
		if (half[k] == 0)
			continue;
		if (fw_apply(d->fw, p, half[k], &cause) == 0) {
			*applied += half[k];
			continue;
		}
		if (half[k] > 1) {
			free(cause);
			daemon_fw_bisect(d, p, half[k], applied);
			continue;
		}
		log_warnx("fw: %s %s refused by the firewall, dropped: %s",
		    p->kind == FW_UNBAN ? "unban of" : "ban of",
		    addr_prefix_ntop(&p->prefix, pfx, sizeof(pfx)), cause);
		free(cause);
	}
}

/*
 * The firewall operations of this iteration, in one batch, then the live
 * sessions of the newly banned ended.  A failed batch is sent again next
 * time (and warned about at most once a minute).
 */
static void
daemon_fw_flush(struct daemon *d)
{
	const struct fw_op	*ops;
	const struct prefix	*kills;
	size_t			 n, nkills, i, applied;
	char			*cause;

	n = bans_pending(d->bans, &ops, &kills, &nkills);
	if (n == 0 && nkills == 0)
		return;
	if (n > 0 && fw_apply(d->fw, ops, n, &cause) == -1) {
		applied = 0;
		if (n > 1)
			daemon_fw_bisect(d, ops, n, &applied);
		if (applied == 0) {
			/* Nothing goes: the firewall, not an operation. */
			if (log_ratelimit_ok(&d->fw_rl, clock_monotonic()))
				log_warnx("fw: %s; %zu operations will be "
				    "tried again", cause, n);
			free(cause);
			bans_retry(d->bans);
			return;
		}
		free(cause);
	}
	log_debug("fw: %zu operations in %.1f ms", n,
	    fw_stats(d->fw)->last_us / 1000.0);
	/* Live sessions: their conntrack entries and sockets. */
	for (i = 0; i < nkills; i++)
		if (fw_kill(d->fw, &kills[i], &cause) == -1) {
			log_warnx("fw: %s", cause);
			free(cause);
		}

}

/* A verdict from the pipeline: a ban, if it deserves one. */
static void
daemon_verdict_cb(const struct verdict *v, void *arg)
{
	struct daemon	*d = arg;

	if (d->bans != NULL)	/* not before enforcement is up */
		bans_verdict(d->bans, v, clock_realtime());
}

static void
daemon_stop_cb(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info("%s received, stopping", strsignal(signo));
	loop_stop(loop);
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
daemon_reload(struct daemon *d, FILE *out)
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
	if (d->priv != NULL && fw_in_kernel(conf) &&
	    priv_reload(d->priv, &cause) == -1) {
		daemon_reload_refused(out, cause);
		logsrc_stop(logs);
		conf_free(conf);
		return -1;
	}
	if ((fw = d->priv != NULL && fw_in_kernel(conf) ?
	    fw_open_backend(conf, d->loop, &priv_fw_backend, d->priv, &cause) :
	    fw_open(conf, d->loop, &cause)) == NULL) {
		daemon_reload_refused(out, cause);
		logsrc_stop(logs);
		conf_free(conf);
		return -1;
	}
	logsrc_stop(d->logs);
	d->logs = logs;
	fw_close(d->fw);
	d->fw = fw;
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
	bans_set_conf(d->bans, conf);
	if (d->ct != NULL)
		ct_set_conf(d->ct, conf);
	alerts_reload(d->alerts, conf);
	if (daemon_metrics_listen(d, conf, &cause) == -1) {
		log_warnx("reload: %s; no metrics endpoint", cause);
		if (out != NULL)
			fprintf(out, "%s; no metrics endpoint\n", cause);
		free(cause);
	}
	conf_free(d->conf);
	d->conf = conf;
	log_set_level((enum log_level)conf->log_level);
	log_info("reload: configuration %s loaded", conf->path != NULL ?
	    conf->path : "(built-in)");
	if (out != NULL)
		fprintf(out, "configuration %s loaded\n", conf->path != NULL ?
		    conf->path : "(built-in)");
	return 0;
}

static void
daemon_reload_cb(struct loop *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	(void)daemon_reload(arg, NULL);
}

static void
daemon_status_json(struct daemon *d, FILE *out)
{
	struct ban_stats	bst;
	struct pipeline_stats	ps;
	struct track_stats	ts;
	struct store_stats	ss;
	struct ct_stats		cs;

	pipeline_get_stats(d->pipeline, &ps);
	track_get_stats(pipeline_track(d->pipeline), &ts);
	store_get_stats(d->store, &ss);
	fprintf(out, "{\"version\":\"%s\",\"pid\":%ld,\"started\":",
	    XG_VERSION, (long)getpid());
	json_time(out, d->started_wall);
	fprintf(out, ",\"uptime\":%lld,\"config\":",
	    (long long)((clock_monotonic() - d->started) / CLOCK_US_PER_SEC));
	if (d->conf->path != NULL)
		json_string(out, d->conf->path);
	else
		fprintf(out, "null");
	fprintf(out, ",\"dry_run\":%s,\"events\":%llu,"
	    "\"events_per_second\":%.1f,\"connections\":%llu,"
	    "\"verdicts\":%llu,\"allowlisted\":%llu",
	    d->conf->dry_run ? "true" : "false",
	    (unsigned long long)ps.events, d->rate,
	    (unsigned long long)ps.conns, (unsigned long long)ps.verdicts,
	    (unsigned long long)ps.allowlisted);
	fprintf(out, ",\"track\":{\"entries\":%llu,\"capacity\":%llu,"
	    "\"evictions\":%llu,\"ignored\":%llu,\"entry_bytes\":%llu}",
	    (unsigned long long)ts.entries, (unsigned long long)ts.capacity,
	    (unsigned long long)ts.evictions, (unsigned long long)ts.ignored,
	    (unsigned long long)ts.entry_bytes);
	if (d->ct != NULL) {
		ct_get_stats(d->ct, &cs);
		fprintf(out, ",\"conntrack\":{\"enabled\":true,"
		    "\"messages\":%llu,\"overruns\":%llu,\"resyncs\":%llu,"
		    "\"dumps\":%llu,\"last_dump_ms\":%.1f,\"rcvbuf\":%llu,"
		    "\"accounting\":%s,\"events_sysctl\":%d,\"flows\":%llu,"
		    "\"flows_evicted\":%llu,\"ignored\":%llu,"
		    "\"halfopen\":%llu,\"resync_closed\":%llu,"
		    "\"resync_opened\":%llu,\"local\":%llu}",
		    (unsigned long long)cs.msgs,
		    (unsigned long long)cs.overruns,
		    (unsigned long long)cs.resyncs,
		    (unsigned long long)cs.dumps, cs.last_dump_us / 1000.0,
		    (unsigned long long)cs.rcvbuf,
		    cs.acct == 1 ? "true" : cs.acct == 0 ? "false" : "null",
		    cs.events_sysctl, (unsigned long long)cs.flow.flows,
		    (unsigned long long)cs.flow.evicted,
		    (unsigned long long)cs.flow.ignored,
		    (unsigned long long)cs.flow.halfopen,
		    (unsigned long long)cs.flow.resync_closed,
		    (unsigned long long)cs.flow.resync_opened,
		    (unsigned long long)cs.flow.local);
	} else
		fprintf(out, ",\"conntrack\":{\"enabled\":false}");
	bans_get_stats(d->bans, &bst);
	fprintf(out, ",\"bans\":{\"active\":%llu,\"issued\":%llu,"
	    "\"lifted\":%llu,\"expired\":%llu,\"extended\":%llu,"
	    "\"refused\":%llu,\"restored\":%llu,\"readded\":%llu,"
	    "\"full\":%llu},\"firewall\":{\"backend\":\"%s\","
	    "\"batches\":%llu,\"operations\":%llu,\"failures\":%llu,"
	    "\"last_batch_ms\":%.3f}",
	    (unsigned long long)bst.active, (unsigned long long)bst.bans,
	    (unsigned long long)bst.unbans, (unsigned long long)bst.expired,
	    (unsigned long long)bst.extended, (unsigned long long)bst.refused,
	    (unsigned long long)bst.restored, (unsigned long long)bst.readded,
	    (unsigned long long)bst.full, fw_name(d->fw),
	    (unsigned long long)fw_stats(d->fw)->batches,
	    (unsigned long long)fw_stats(d->fw)->ops,
	    (unsigned long long)fw_stats(d->fw)->failures,
	    fw_stats(d->fw)->last_us / 1000.0);
	fprintf(out, ",\"logs\":");
	logsrc_status_json(d->logs, out);
	fprintf(out, ",\"auth_held\":%llu", (unsigned long long)ps.held);
	fprintf(out, ",\"alerts\":");
	alerts_status_json(d->alerts, out);
	fprintf(out, ",\"store\":{\"path\":");
	json_string(out, d->conf->db_path);
	fprintf(out, ",\"rows\":%llu,\"commits\":%llu,\"errors\":%llu,"
	    "\"lost\":%llu,\"pending\":%u}}\n",
	    (unsigned long long)ss.rows, (unsigned long long)ss.commits,
	    (unsigned long long)ss.errors, (unsigned long long)ss.lost,
	    ss.pending);
}

static void
daemon_status_text(struct daemon *d, FILE *out)
{
	struct ban_stats	bst;
	struct pipeline_stats	ps;
	struct track_stats	ts;
	struct store_stats	ss;
	struct ct_stats		cs;
	char			t[40];

	pipeline_get_stats(d->pipeline, &ps);
	track_get_stats(pipeline_track(d->pipeline), &ts);
	store_get_stats(d->store, &ss);
	fprintf(out, "xmppguard %s, pid %ld, up %llds since %s%s\n",
	    XG_VERSION, (long)getpid(),
	    (long long)((clock_monotonic() - d->started) / CLOCK_US_PER_SEC),
	    json_fmt_time(d->started_wall, t, sizeof(t)),
	    d->conf->dry_run ? " (dry run)" : "");
	fprintf(out, "events      %llu (%.1f/s), connections %llu, "
	    "verdicts %llu (%llu allowlisted)\n",
	    (unsigned long long)ps.events, d->rate,
	    (unsigned long long)ps.conns, (unsigned long long)ps.verdicts,
	    (unsigned long long)ps.allowlisted);
	fprintf(out, "tracked     %llu of %llu, %llu evicted\n",
	    (unsigned long long)ts.entries, (unsigned long long)ts.capacity,
	    (unsigned long long)ts.evictions);
	if (d->ct != NULL) {
		ct_get_stats(d->ct, &cs);
		fprintf(out, "conntrack   %llu messages, %llu flows, %llu "
		    "half-open, %llu overruns, %llu resyncs, buffer %lluk, "
		    "byte counters %s\n", (unsigned long long)cs.msgs,
		    (unsigned long long)cs.flow.flows,
		    (unsigned long long)cs.flow.halfopen,
		    (unsigned long long)cs.overruns,
		    (unsigned long long)cs.resyncs,
		    (unsigned long long)cs.rcvbuf / 1024,
		    cs.acct == 1 ? "on" : cs.acct == 0 ?
		    "OFF (karma blind)" : "unknown");
	} else
		fprintf(out, "conntrack   off\n");
	bans_get_stats(d->bans, &bst);
	fprintf(out, "bans        %llu in force, %llu issued, %llu lifted, "
	    "%llu expired, %llu refused (never a weapon); firewall %s: %llu "
	    "batches, %llu failed\n", (unsigned long long)bst.active,
	    (unsigned long long)bst.bans, (unsigned long long)bst.unbans,
	    (unsigned long long)bst.expired, (unsigned long long)bst.refused,
	    fw_name(d->fw), (unsigned long long)fw_stats(d->fw)->batches,
	    (unsigned long long)fw_stats(d->fw)->failures);
	logsrc_status_text(d->logs, out);
	if (ps.held > 0)
		fprintf(out, "auth        %llu verdicts held during "
		    "authentication backend outages\n",
		    (unsigned long long)ps.held);
	alerts_status_text(d->alerts, out);
	fprintf(out, "store       %s: %llu rows, %llu errors, %llu lost\n",
	    d->conf->db_path, (unsigned long long)ss.rows,
	    (unsigned long long)ss.errors, (unsigned long long)ss.lost);
}

/* Requests on the control socket. */
static void
daemon_bans_json_cb(const struct ban *b, void *arg)
{
	ban_json(arg, b);
	fputc('\n', arg);
}

static void
daemon_bans_text_cb(const struct ban *b, void *arg)
{
	FILE	*out = arg;
	char	 pfx[ADDR_PREFIX_STRLEN], t[40], left[32];

	fprintf(out, "%-20s %-11s until %s (%s left), ban %u%s: %s\n",
	    addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx)),
	    verdict_rule_name(b->rule), json_fmt_time(b->expires, t,
	    sizeof(t)), conf_fmt_duration((b->expires - clock_realtime() +
	    500000) / 1000000 * 1000000, left, sizeof(left)), b->count, b->throttled ? " (throttle)" : "",
	    b->reason);
}

/* "ban PREFIX [SECONDS [REASON...]]" and "unban PREFIX". */
static int
daemon_ctl_ban(struct daemon *d, int argc, char **argv, FILE *out)
{
	struct prefix	 p;
	char		 reason[VERDICT_REASON_MAX], *cause, *end;
	long long	 secs = 0;
	size_t		 len = 0;
	int		 i, rc;

	if (argc < 2 || addr_prefix_parse(argv[1], &p, 0) == -1) {
		fprintf(out, "not an address or prefix (host bits must be "
		    "zero): %s\n", argc < 2 ? "" : argv[1]);
		return -1;
	}
	if (strcmp(argv[0], "unban") == 0) {
		if (argc != 2) {
			fprintf(out, "usage: unban PREFIX\n");
			return -1;
		}
		rc = bans_lift(d->bans, &p, clock_realtime(), &cause);
	} else {
		/* Seconds; 0: [ban] duration, escalated (the client sends
		 * 0 when only a reason was given). */
		if (argc >= 3) {
			secs = strtoll(argv[2], &end, 10);
			if (*argv[2] < '0' || *argv[2] > '9' || *end != '\0' ||
			    secs > 366LL * 86400) {
				fprintf(out, "bad duration: %s\n", argv[2]);
				return -1;
			}
		}
		reason[0] = '\0';
		for (i = 3; i < argc && len + 2 < sizeof(reason); i++)
			len += (size_t)snprintf(reason + len,
			    sizeof(reason) - len, "%s%s", i > 3 ? " " : "",
			    argv[i]);
		rc = bans_manual(d->bans, &p, secs * 1000000, reason,
		    clock_realtime(), &cause);
	}
	if (rc == -1) {
		fprintf(out, "%s\n", cause);
		free(cause);
		return -1;
	}
	/* Stored, then applied, before the answer: the caller can rely on
	 * it, and so can a restart. */
	store_flush(d->store);
	daemon_fw_flush(d);
	fprintf(out, "%s %s\n", argv[0], argv[1]);
	return 0;
}

static int
daemon_ctl_cb(int argc, char **argv, int level, FILE *out, void *arg)
{
	struct daemon	*d = arg;

	/* A control group member may look, not change. */
	if (level < CTL_ADMIN && (strcmp(argv[0], "ban") == 0 ||
	    strcmp(argv[0], "unban") == 0 || strcmp(argv[0], "reload") == 0)) {
		fprintf(out, "%s: only root and the daemon's own user may\n",
		    argv[0]);
		return -1;
	}

	if (strcmp(argv[0], "bans") == 0 && argc <= 2) {
		if (argc == 2 && strcmp(argv[1], "json") == 0)
			bans_walk(d->bans, daemon_bans_json_cb, out);
		else if (argc == 1)
			bans_walk(d->bans, daemon_bans_text_cb, out);
		else
			goto bad;
		return 0;
	}
	if (strcmp(argv[0], "ban") == 0 || strcmp(argv[0], "unban") == 0)
		return daemon_ctl_ban(d, argc, argv, out);
	if (strcmp(argv[0], "reload") == 0 && argc == 1)
		return daemon_reload(d, out);
	if (strcmp(argv[0], "status") == 0 && argc <= 2) {
		if (argc == 2 && strcmp(argv[1], "json") == 0)
			daemon_status_json(d, out);
		else if (argc == 1)
			daemon_status_text(d, out);
		else
			goto bad;
		return 0;
	}
bad:
	fprintf(out, "unknown request\n");
	return -1;
}

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
	d->rate_events = ps.events;
	return RATE_INTERVAL_MS;
}

/* Once per loop iteration: commit what this iteration appended. */
static void
daemon_flush_hook(struct loop *loop, void *arg)
{
	struct daemon	*d = arg;

	(void)loop;
	/* The store first: a ban the kernel has must be one the store has
	 * (a kill -9 between the two then loses nothing: the restart puts
	 * the store's bans back). */
	logsrc_flush(d->logs, clock_realtime());
	store_flush(d->store);
	daemon_fw_flush(d);
}

/* Bans whose time is up; the kernel drops them by itself where it can. */
static int64_t
daemon_expire_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon	*d = arg;

	(void)loop;
	(void)t;
	bans_expire(d->bans, clock_realtime(), !fw_expires_itself(d->fw));
	return EXPIRE_INTERVAL_MS;
}

static int64_t
daemon_rollup_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon	*d = arg;

	(void)loop;
	(void)t;
	pipeline_flush(d->pipeline);
	return ROLLUP_INTERVAL_MS;
}

static int64_t
daemon_retention_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon	*d = arg;
	char		*cause;
	int64_t		 n;

	(void)loop;
	(void)t;
	if (d->conf->retention == 0)
		return RETENTION_INTERVAL_MS;
	n = store_purge(d->store, clock_realtime() - d->conf->retention,
	    &cause);
	if (n == -1) {
		log_warnx("store: retention purge: %s", cause);
		free(cause);
	} else if (n > 0)
		log_info("store: retention purge removed %lld rows",
		    (long long)n);
	return RETENTION_INTERVAL_MS;
}

/* A key for the hash tables that an attacker cannot guess. */
static uint32_t
daemon_seed(void)
{
	uint32_t	seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		fatal("getrandom");
	return seed;
}

/*
 * The store's bans back in the kernel, before anything else happens: where
 * the backend can, by replacing its sets with exactly those bans in one
 * transaction (nothing to list, no gap); else by comparing with its list.
 */
static void
daemon_restore(struct daemon *d)
{
	struct fw_entry	*entries = NULL;
	struct fw_op	*ops;
	size_t		 n = 0;
	char		*cause = NULL;
	int		 listed;
	int64_t		 now = clock_realtime(), t0, t1;

	t0 = clock_monotonic();
	bans_load(d->bans, now);
	t1 = clock_monotonic();
	n = bans_all(d->bans, now, &ops);
	if (fw_replace(d->fw, ops, n, &cause) == 0) {
		if (n > 0)
			log_info("ban: %zu %s in force in the firewall, "
			    "restored in %.1f ms (store %.1f ms, firewall "
			    "%.1f ms)", n, n == 1 ? "ban" : "bans",
			    (clock_monotonic() - t0) / 1000.0,
			    (t1 - t0) / 1000.0,
			    fw_stats(d->fw)->last_us / 1000.0);
		return;
	}
	if (cause != NULL) {
		log_warnx("fw: %s; comparing with the firewall's list "
		    "instead", cause);
		free(cause);
		cause = NULL;
	}
	bans_unqueue(d->bans);
	n = 0;
	listed = fw_list(d->fw, &entries, &n, &cause) == 0;
	if (!listed && cause != NULL) {
		log_warnx("fw: %s: cannot list what is in force, adding "
		    "every ban again", cause);
		free(cause);
	}
	bans_reconcile(d->bans, now, listed ? entries : NULL, listed ? n : 0);
	free(entries);
	daemon_fw_flush(d);
}

/* The firewall (through the helper if there is one) and the bans. */
static void
daemon_enforce(struct daemon *d)
{
	char	*cause;

	if (d->priv != NULL && fw_in_kernel(d->conf))
		d->fw = fw_open_backend(d->conf, d->loop, &priv_fw_backend,
		    d->priv, &cause);
	else
		d->fw = fw_open(d->conf, d->loop, &cause);
	if (d->fw == NULL)
		fatalx("%s", cause);
	d->fw_rl.interval_us = 60 * CLOCK_US_PER_SEC;
	d->bans = bans_new(d->conf, d->store);
	if (bans_refresh_local(d->bans) == -1)
		log_warn("ban: getifaddrs (own addresses)");
	daemon_restore(d);
}

/*
 * Becomes [global] user for good: the files the daemon goes on writing
 * become its own first (the state directory, the store and its WAL, the
 * control socket), then groups, gid and uid are set, and getting root
 * back must fail.  Any failure is fatal: a daemon that meant to drop and
 * could not must not run as root.
 */
static void
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

/*
 * Alerts.  The sinks exist before enforcement so that no ban goes
 * unannounced, but hear of bans only once the store's bans are back in
 * force (those are not announced again); conntrack overruns and auth
 * outages are polled from their counters every ALERT_POLL_MS.
 */
static int64_t
daemon_alert_poll_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon		*d = arg;
	struct outage_stats	 os;
	struct ct_stats		 cs;

	(void)loop;
	(void)t;
	if (d->ct != NULL) {
		ct_get_stats(d->ct, &cs);
		alerts_overrun(d->alerts, cs.overruns, clock_realtime());
	}
	pipeline_outage_stats(d->pipeline, &os);
	if (os.episodes > d->outages) {
		d->outages = os.episodes;
		alerts_outage(d->alerts, &os, d->conf->auth_outage_window,
		    d->conf->auth_outage_hold, clock_realtime());
	}
	return ALERT_POLL_MS;
}

static void
daemon_alerts_open(struct daemon *d)
{
	char	*cause;

	if ((d->alerts = alerts_new(d->loop, d->conf, &cause)) == NULL)
		fatalx("%s", cause);
	if (loop_timer_add(d->loop, ALERT_POLL_MS, daemon_alert_poll_cb,
	    d) == NULL)
		fatal("loop: timers");
}

static void
daemon_alerts_start(struct daemon *d)
{
	struct ban_stats	bst;

	bans_get_stats(d->bans, &bst);
	bans_set_notify(d->bans, alerts_ban, d->alerts);
	alerts_start(d->alerts, bst.restored, fw_name(d->fw),
	    clock_realtime());
}

/*
 * The stop message and what is still queued go out, the loop running a
 * little longer (ALERT_DRAIN_MS at most: a dead chat cannot hold the stop
 * up) with everything still open, so its hooks and timers stay valid; bans
 * made meanwhile are no longer announced.
 */
static void
daemon_alerts_stop(struct daemon *d)
{
	struct ban_stats	bst;
	struct timespec		ts = { 0, 10 * 1000 * 1000 };
	int64_t			end;

	bans_set_notify(d->bans, NULL, NULL);
	bans_get_stats(d->bans, &bst);
	alerts_stop(d->alerts, clock_monotonic() - d->started, bst.active,
	    clock_realtime());
	end = clock_monotonic() + ALERT_DRAIN_MS * CLOCK_US_PER_MS;
	while (alerts_busy(d->alerts) > 0 && clock_monotonic() < end)
		if (loop_run_once(d->loop, 0) <= 0)
			nanosleep(&ts, NULL);
	alerts_free(d->alerts);
	d->alerts = NULL;
}

/*
 * Metrics: every counter the daemon keeps, read fresh for each scrape or
 * file write; the names are listed in the README (Metrics).  Families
 * are written whole, one after the other, as the format wants.
 */
static void
daemon_metrics_cb(struct metrics *m, void *arg)
{
	struct daemon		*d = arg;
	struct ban_stats	 bst;
	struct pipeline_stats	 ps;
	struct track_stats	 ts;
	struct store_stats	 ss;
	struct outage_stats	 os;
	struct ct_stats		 cs;
	struct metrics_server_stats ms;
	int			 i;

	pipeline_get_stats(d->pipeline, &ps);
	track_get_stats(pipeline_track(d->pipeline), &ts);
	pipeline_outage_stats(d->pipeline, &os);
	store_get_stats(d->store, &ss);
	bans_get_stats(d->bans, &bst);

	metrics_sample(m, METRICS_GAUGE, "xmppguard_build_info",
	    "The version running.", "version", XG_VERSION, NULL, NULL, 1);
	metrics_gauge(m, "xmppguard_start_time_seconds", "When the daemon "
	    "started, in seconds since the epoch.",
	    (double)(d->started_wall / CLOCK_US_PER_SEC));
	metrics_gauge(m, "xmppguard_dry_run", "1 if bans are decided but "
	    "not enforced.", d->conf->dry_run ? 1 : 0);

	for (i = EVENT_NONE + 1; i < EVENT_KIND_MAX; i++)
		metrics_sample(m, METRICS_COUNTER, "xmppguard_events_total",
		    "Events taken from conntrack and logs, by kind.", "kind",
		    event_kind_name((enum event_kind)i), NULL, NULL,
		    (double)ps.kinds[i]);
	metrics_counter(m, "xmppguard_connections_total", "Connections that "
	    "completed their handshake and ended.", ps.conns);
	for (i = 0; i < VERDICT_RULE_MAX; i++)
		metrics_sample(m, METRICS_COUNTER, "xmppguard_verdicts_total",
		    "Limits broken, by rule.", "rule",
		    verdict_rule_name((enum verdict_rule)i), NULL, NULL,
		    (double)ps.rules[i]);
	metrics_counter(m, "xmppguard_verdicts_allowlisted_total",
	    "Verdicts against allowlisted addresses (never enforced).",
	    ps.allowlisted);
	metrics_counter(m, "xmppguard_verdicts_held_total", "Auth verdicts "
	    "held during an authentication backend outage.", ps.held);
	metrics_gauge(m, "xmppguard_auth_outage", "1 while auth verdicts "
	    "are held (authentication backend outage).", os.active);
	metrics_counter(m, "xmppguard_auth_outages_total",
	    "Authentication backend outages seen.", os.episodes);

	for (i = 0; i < VERDICT_RULE_MAX; i++)
		metrics_sample(m, METRICS_COUNTER, "xmppguard_bans_total",
		    "Bans issued, by rule.", "rule",
		    verdict_rule_name((enum verdict_rule)i), NULL, NULL,
		    (double)bst.by_rule[i]);
	metrics_counter(m, "xmppguard_bans_escalated_total", "Bans of a "
	    "repeat offender (longer each time).", bst.escalated);
	metrics_counter(m, "xmppguard_bans_extended_total", "Bans made "
	    "longer by a new verdict.", bst.extended);
	metrics_counter(m, "xmppguard_bans_expired_total", "Bans that ran "
	    "out.", bst.expired);
	metrics_counter(m, "xmppguard_bans_lifted_total", "Bans an operator "
	    "lifted.", bst.unbans);
	metrics_counter(m, "xmppguard_bans_refused_total", "Bans refused: "
	    "loopback, the host's own, allowlisted, covered or table full.",
	    bst.refused + bst.covered + bst.full);
	metrics_counter(m, "xmppguard_bans_restored_total", "Bans found in "
	    "the store at start.", bst.restored);
	metrics_gauge(m, "xmppguard_bans_active", "Bans in force.",
	    (double)bst.active);
	metrics_counter(m, "xmppguard_firewall_batches_total", "Batches the "
	    "firewall backend applied.", fw_stats(d->fw)->batches);
	metrics_counter(m, "xmppguard_firewall_operations_total", "Ban and "
	    "unban operations in them.", fw_stats(d->fw)->ops);
	metrics_counter(m, "xmppguard_firewall_failures_total", "Batches "
	    "the firewall backend failed to apply.", fw_stats(d->fw)->failures);
	metrics_gauge(m, "xmppguard_firewall_last_batch_seconds", "How long "
	    "the last batch took.", (double)fw_stats(d->fw)->last_us / 1e6);

	metrics_gauge(m, "xmppguard_tracked_addresses", "Addresses and "
	    "networks with state in memory.", (double)ts.entries);
	metrics_gauge(m, "xmppguard_tracked_capacity", "Most that fit "
	    "([track] capacity).", (double)ts.capacity);
	metrics_counter(m, "xmppguard_track_evictions_total", "Entries "
	    "pushed out by newer ones when full.", ts.evictions);
	if (d->ct != NULL) {
		ct_get_stats(d->ct, &cs);
		metrics_counter(m, "xmppguard_conntrack_messages_total",
		    "Netlink messages received.", cs.msgs);
		metrics_counter(m, "xmppguard_conntrack_overruns_total",
		    "Netlink overruns: events lost, then a resync.",
		    cs.overruns);
		metrics_counter(m, "xmppguard_conntrack_resyncs_total",
		    "Table dumps after an overrun.", cs.resyncs);
		metrics_gauge(m, "xmppguard_conntrack_flows", "Flows to the "
		    "services followed now.", (double)cs.flow.flows);
		metrics_counter(m, "xmppguard_conntrack_flow_evictions_total",
		    "Flows dropped because the flow table was full.",
		    cs.flow.evicted);
		metrics_gauge(m, "xmppguard_conntrack_rcvbuf_bytes",
		    "The netlink socket's receive buffer.",
		    (double)cs.rcvbuf);
	}
	logsrc_metrics(d->logs, m);
	alerts_metrics(d->alerts, m);
	metrics_counter(m, "xmppguard_store_rows_total", "Rows written to "
	    "the store.", ss.rows);
	metrics_counter(m, "xmppguard_store_errors_total", "Failed "
	    "statements or commits.", ss.errors);
	metrics_counter(m, "xmppguard_store_lost_rows_total", "Rows lost to "
	    "failed commits.", ss.lost);
	if (d->metrics != NULL) {
		metrics_server_get_stats(d->metrics, &ms);
		metrics_counter(m, "xmppguard_metrics_scrapes_total",
		    "Scrapes answered by this endpoint.", ms.scrapes);
	}
}

/* The textfile collector's file, every [metrics] interval. */
static int64_t
daemon_metrics_file_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon	*d = arg;
	char		*cause;

	(void)loop;
	(void)t;
	if (*d->conf->metrics_file == '\0')
		return d->conf->metrics_interval / CLOCK_US_PER_MS;
	if (metrics_write_file(d->conf->metrics_file, daemon_metrics_cb, d,
	    &cause) == -1) {
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
		    daemon_metrics_cb, d, cause)) == NULL)
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

static int
daemon_run(struct daemon *d, int foreground)
{
	struct ct_stats	 cts;
	char		*cause;
	int		 privsep;

	log_init(1, (enum log_level)d->conf->log_level);
	if (!foreground)
		daemon_detach(d);

	/* The lock comes first: nothing may touch the state of another
	 * running instance, not even a migration. */
	if (daemon_lock(d, &cause) == -1)
		fatalx("%s", cause);
	if ((d->store = store_open(d->conf->db_path, 0, d->conf->batch_max,
	    &cause)) == NULL)
		fatalx("store: %s", cause);

	if ((d->loop = loop_new(&cause)) == NULL)
		fatalx("loop: %s", cause);
	/* Signals arrive as loop events, never asynchronously. */
	if (loop_signal(d->loop, SIGTERM, daemon_stop_cb, d) == -1 ||
	    loop_signal(d->loop, SIGINT, daemon_stop_cb, d) == -1 ||
	    loop_signal(d->loop, SIGHUP, daemon_reload_cb, d) == -1)
		fatal("loop: signals");
	signal(SIGPIPE, SIG_IGN);
	loop_hook_add(d->loop, daemon_flush_hook, d);
	if (loop_timer_add(d->loop, 0, daemon_retention_cb, d) == NULL ||
	    loop_timer_add(d->loop, ROLLUP_INTERVAL_MS, daemon_rollup_cb,
	    d) == NULL ||
	    loop_timer_add(d->loop, RATE_INTERVAL_MS, daemon_rate_cb,
	    d) == NULL ||
	    loop_timer_add(d->loop, EXPIRE_INTERVAL_MS, daemon_expire_cb,
	    d) == NULL)
		fatal("loop: timers");
	daemon_alerts_open(d);

	/*
	 * Enforcement before detection: the firewall's own state exists and
	 * the bans in force are back (without being announced again) before
	 * the first event can cause a new one.  Under privilege separation
	 * the helper needs the conntrack sockets first, so it comes later.
	 */
	privsep = d->conf->user[0] != '\0' && geteuid() == 0;
	if (d->conf->user[0] != '\0' && !privsep)
		log_warnx("user %s: not started as root, running as we are",
		    d->conf->user);
	if (!privsep)
		daemon_enforce(d);

	/* Detection, then the sources that feed it. */
	d->pipeline = pipeline_new(d->conf, d->store, daemon_seed());
	pipeline_set_verdict_cb(d->pipeline, daemon_verdict_cb, d);
	if (d->conf->ct_enabled) {
		if ((d->ct = ct_open(d->loop, d->conf, pipeline_event,
		    d->pipeline, &cause)) == NULL)
			fatalx("conntrack: %s (set [conntrack] enabled = no "
			    "to run without it)", cause);
		ct_get_stats(d->ct, &cts);
		if (cts.acct != 1)
			log_warnx("conntrack: byte counters are off "
			    "(net.netfilter.nf_conntrack_acct=0): karma "
			    "cannot see bandwidth");
	}
	if ((d->logs = logsrc_start(d->loop, d->conf, d->store,
	    pipeline_event, d->pipeline, &cause)) == NULL)
		fatalx("%s", cause);
	if ((d->ctl = ctl_open(d->loop, d->conf->control_socket,
	    d->conf->control_group, d->conf->control_mode,
	    daemon_ctl_cb, d, &cause)) == NULL)
		fatalx("control socket: %s", cause);
	d->metrics_rl.interval_us = 60 * CLOCK_US_PER_SEC;
	if (daemon_metrics_listen(d, d->conf, &cause) == -1)
		fatalx("%s", cause);

	/*
	 * Everything that needs root is open: the helper forks with the
	 * conntrack sockets and keeps CAP_NET_ADMIN alone, the firewall goes
	 * through it, and we become the configured user, with nothing.
	 */
	if (privsep) {
		if ((d->priv = priv_start(d->conf->path, d->ct != NULL ?
		    ct_dump_handle(d->ct) : NULL, d->ct != NULL ?
		    ct_event_fd(d->ct) : -1, &cause)) == NULL)
			fatalx("%s", cause);
		if (d->ct != NULL)
			ct_set_priv(d->ct, priv_ct, d->priv);
		daemon_enforce(d);
		daemon_drop(d);
	}

	d->started = clock_monotonic();
	d->started_wall = clock_realtime();
	daemon_alerts_start(d);
	log_info("ready: configuration %s, state %s, store %s (schema %d)%s",
	    d->conf->path != NULL ? d->conf->path : "(built-in defaults)",
	    d->conf->state_dir, d->conf->db_path, store_version(d->store),
	    d->conf->dry_run ? ", dry run" : "");
	if (loop_timer_add(d->loop, 0, daemon_metrics_file_cb, d) == NULL)
		fatal("loop: timers");
	daemon_ready(d);

	if (loop_run(d->loop) == -1)
		log_warnx("loop: stopped on error");
	daemon_alerts_stop(d);

	/* Shutdown in reverse: sources stop, what is summed in memory is
	 * written, the store is left consistent (committed, WAL checkpointed
	 * by sqlite3_close), then the lock goes. */
	ctl_close(d->ctl);
	metrics_server_close(d->metrics);
	if (d->ct != NULL)
		ct_close(d->ct);
	logsrc_flush(d->logs, clock_realtime());
	logsrc_stop(d->logs);
	daemon_fw_flush(d);
	pipeline_flush(d->pipeline);
	store_flush(d->store);
	/* The bans stay in the kernel, with their timeouts. */
	fw_close(d->fw);
	priv_stop(d->priv);
	bans_free(d->bans);
	pipeline_free(d->pipeline);
	loop_free(d->loop);
	store_close(d->store);
	close(d->lock_fd);
	log_info("stopped after %llds",
	    (long long)((clock_monotonic() - d->started) / CLOCK_US_PER_SEC));
	conf_free(d->conf);
	return 0;
}

static int
main_run(int argc, char **argv)
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
	struct daemon	 d;
	const char	*conf_path = NULL;
	int		 ch, foreground = 0, debug = 0;

	memset(&d, 0, sizeof(d));
	d.lock_fd = d.ready_fd = -1;
	while ((ch = getopt_long(argc, argv, "c:fnS:s:d", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			d.dry_run = 1;
			break;
		case 'S':
			if (optarg[0] != '/')
				fatalx("--state-dir: %s: not an absolute "
				    "path", optarg);
			d.state_dir = optarg;
			break;
		case 's':
			d.socket = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		default:
			main_usage(stderr, 2);
		}
	}
	if (optind != argc)
		main_usage(stderr, 2);
	if ((d.conf = conf_load_command(conf_path)) == NULL)
		return 1;
	daemon_apply_overrides(&d, d.conf);
	if (debug)
		d.conf->log_level = LOG_LEVEL_DEBUG;
	return daemon_run(&d, foreground);
}

static int
main_check_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "reference",	optional_argument,	NULL, 'r' },
		{ NULL,		0,			NULL, 0 }
	};
	struct conf	*conf;
	const char	*conf_path = NULL;
	char		*cause;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'r':
			/* Markdown for the README, or man for xmppguard.conf(5). */
			if (optarg == NULL || strcmp(optarg, "markdown") == 0)
				conf_reference(stdout);
			else if (strcmp(optarg, "man") == 0)
				conf_reference_man(stdout);
			else
				main_usage(stderr, 2);
			return 0;
		default:
			main_usage(stderr, 2);
		}
	}
	if (optind != argc)
		main_usage(stderr, 2);
	if ((conf = conf_load_command(conf_path)) == NULL)
		return 1;
	if (logsrc_check(conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		conf_free(conf);
		return 1;
	}
	conf_print(stdout, conf);
	fprintf(stderr, "%s: configuration OK\n",
	    conf->path != NULL ? conf->path : "built-in defaults");
	conf_free(conf);
	return 0;
}

/*
 * status, bans, ban, unban, reload: one request on the control socket.
 * The answer goes to stdout, or to stderr with exit status 1 if the daemon
 * refused.
 */
static int
main_ctl(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "for",	required_argument,	NULL, 'f' },
		{ "reason",	required_argument,	NULL, 'r' },
		{ NULL,		0,			NULL, 0 }
	};
	struct conf	*conf = NULL;
	const char	*conf_path = NULL, *sock = NULL, *why;
	const char	*req[CTL_ARGS_CLIENT];
	char		*cause, *body = NULL, secs[32], *reason = NULL;
	char		*word, *save = NULL;
	const char	*cmd = argv[0];
	size_t		 bodylen = 0;
	FILE		*mem;
	int64_t		 dur = 0;
	int		 ch, json = 0, rc, n = 0;

	while ((ch = getopt_long(argc, argv, "c:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'f':
			if (conf_parse_duration(optarg, &dur, &why) == -1 ||
			    dur < 1000000) {
				fprintf(stderr, "xmppguard: --for %s: %s\n",
				    optarg, dur < 1000000 && why == NULL ?
				    "at least 1s" : why);
				return 2;
			}
			break;
		case 'r':
			reason = optarg;
			break;
		default:
			main_usage(stderr, 2);
		}
	}
	req[n++] = cmd;
	if (strcmp(cmd, "bans") == 0 || strcmp(cmd, "status") == 0) {
		if (optind != argc)
			main_usage(stderr, 2);
		if (json)
			req[n++] = "json";
	} else if (strcmp(cmd, "reload") == 0) {
		if (optind != argc)
			main_usage(stderr, 2);
	} else {
		if (optind != argc - 1)
			main_usage(stderr, 2);
		req[n++] = argv[optind];
		if (strcmp(cmd, "ban") == 0) {
			snprintf(secs, sizeof(secs), "%lld",
			    (long long)(dur / 1000000));
			if (dur > 0 || reason != NULL)
				req[n++] = dur > 0 ? secs : "0";
			/* The reason goes word by word; the daemon joins. */
			for (word = reason != NULL ? strtok_r(reason, " \t",
			    &save) : NULL; word != NULL && n < CTL_ARGS_CLIENT;
			    word = strtok_r(NULL, " \t", &save))
				req[n++] = word;
		}
	}
	if (sock == NULL) {
		if ((conf = conf_load_command(conf_path)) == NULL)
			return 1;
		sock = conf->control_socket;
	}
	if ((mem = open_memstream(&body, &bodylen)) == NULL)
		fatal("open_memstream");
	rc = ctl_request(sock, n, req, mem, &cause);
	fclose(mem);
	if (rc == -1) {
		fprintf(stderr, "xmppguard: %s\n", cause);
		free(cause);
	} else
		fputs(body, rc == 0 ? stdout : stderr);
	free(body);
	conf_free(conf);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char	*cmd;

	if (argc < 2)
		main_usage(stderr, 2);
	cmd = argv[1];
	/* Subcommands parse their own options from their own argv[0]. */
	argc--;
	argv++;
	if (strcmp(cmd, "run") == 0)
		return main_run(argc, argv);
	if (strcmp(cmd, "check-config") == 0)
		return main_check_config(argc, argv);
	if (strcmp(cmd, "replay") == 0)
		return replay_main(argc, argv);
	if (strcmp(cmd, "report") == 0)
		return report_main(argc, argv);
	if (strcmp(cmd, "test-filter") == 0)
		return testfilter_main(argc, argv);
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "bans") == 0 ||
	    strcmp(cmd, "ban") == 0 || strcmp(cmd, "unban") == 0 ||
	    strcmp(cmd, "reload") == 0)
		return main_ctl(argc, argv);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("xmppguard %s\n", XG_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0)
		main_usage(stdout, 0);
	fprintf(stderr, "xmppguard: unknown command '%s'\n", cmd);
	main_usage(stderr, 2);
}
