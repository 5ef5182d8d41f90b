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
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "xmalloc.h"

#define RETENTION_INTERVAL_MS	(60 * 60 * 1000)	/* purge hourly */

struct daemon {
	struct conf	*conf;
	struct loop	*loop;
	struct store	*store;
	int		 lock_fd;
	int		 ready_fd;	/* pipe to the waiting parent; -1 */
	int		 dry_run;	/* from the command line */
	char		*state_dir;	/* from the command line; NULL */
	int64_t		 started;	/* monotonic us */
};

static void __attribute__((noreturn))
main_usage(FILE *f, int status)
{
	fprintf(f,
	    "usage: xmppguard run [-c FILE] [-f|--foreground] [-n|--dry-run]\n"
	    "                     [-S|--state-dir DIR] [-d|--debug]\n"
	    "       xmppguard check-config [-c FILE] [--reference]\n"
	    "       xmppguard version\n");
	exit(status);
}

/*
 * Picks the configuration file: -c if given, else the standard path if it
 * exists, else NULL for the built-in defaults.
 */
static const char *
main_conf_path(const char *given)
{
	if (given != NULL)
		return given;
	if (access(CONF_DEFAULT_PATH, F_OK) == 0)
		return CONF_DEFAULT_PATH;
	return NULL;
}

static struct conf *
main_conf_load(const char *given)
{
	struct conf	*conf;
	char		*cause;

	if (conf_load(main_conf_path(given), &conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return NULL;
	}
	return conf;
}

/* Applies command-line overrides, which win over the file. */
static void
daemon_apply_overrides(struct daemon *d, struct conf *conf)
{
	if (d->dry_run)
		conf->dry_run = 1;
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

static void
daemon_stop_cb(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info("%s received, stopping", strsignal(signo));
	loop_stop(loop);
}

/*
 * SIGHUP: build a new configuration beside the running one and swap it in
 * only if it loaded cleanly; a broken file leaves the daemon as it was.
 */
static void
daemon_reload_cb(struct loop *loop, int signo, void *arg)
{
	struct daemon	*d = arg;
	struct conf	*conf;
	char		*cause, *line, *save;

	(void)loop;
	(void)signo;
	if (conf_load(d->conf->path, &conf, &cause) == -1) {
		log_warnx("reload: %s has errors, keeping the running "
		    "configuration", d->conf->path != NULL ? d->conf->path :
		    "built-in configuration");
		for (line = strtok_r(cause, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_warnx("reload: %s", line);
		free(cause);
		return;
	}
	daemon_apply_overrides(d, conf);
	if (strcmp(conf->state_dir, d->conf->state_dir) != 0 ||
	    strcmp(conf->db_path, d->conf->db_path) != 0)
		log_warnx("reload: state_dir and store path changes take "
		    "effect at the next restart");
	free(conf->state_dir);
	conf->state_dir = xstrdup(d->conf->state_dir);
	free(conf->db_path);
	conf->db_path = xstrdup(d->conf->db_path);
	conf_free(d->conf);
	d->conf = conf;
	log_set_level((enum log_level)conf->log_level);
	log_info("reload: configuration %s loaded", conf->path != NULL ?
	    conf->path : "(built-in)");
}

/* Once per loop iteration: commit what this iteration appended. */
static void
daemon_flush_hook(struct loop *loop, void *arg)
{
	struct daemon	*d = arg;

	(void)loop;
	store_flush(d->store);
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

static int
daemon_run(struct daemon *d, int foreground)
{
	char	*cause;

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
	if (loop_timer_add(d->loop, 0, daemon_retention_cb, d) == NULL)
		fatal("loop: retention timer");

	d->started = clock_monotonic();
	log_info("ready: configuration %s, state %s, store %s (schema %d)%s",
	    d->conf->path != NULL ? d->conf->path : "(built-in defaults)",
	    d->conf->state_dir, d->conf->db_path, store_version(d->store),
	    d->conf->dry_run ? ", dry run" : "");
	daemon_ready(d);

	if (loop_run(d->loop) == -1)
		log_warnx("loop: stopped on error");

	/* Shutdown in reverse: the store is left consistent (committed,
	 * WAL checkpointed by sqlite3_close), then the lock goes. */
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
		{ "debug",	no_argument,		NULL, 'd' },
		{ NULL,		0,			NULL, 0 }
	};
	struct daemon	 d;
	const char	*conf_path = NULL;
	int		 ch, foreground = 0, debug = 0;

	memset(&d, 0, sizeof(d));
	d.lock_fd = d.ready_fd = -1;
	while ((ch = getopt_long(argc, argv, "c:fnS:d", longopts, NULL)) != -1) {
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
		case 'd':
			debug = 1;
			break;
		default:
			main_usage(stderr, 2);
		}
	}
	if (optind != argc)
		main_usage(stderr, 2);
	if ((d.conf = main_conf_load(conf_path)) == NULL)
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
		{ "reference",	no_argument,		NULL, 'r' },
		{ NULL,		0,			NULL, 0 }
	};
	struct conf	*conf;
	const char	*conf_path = NULL;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'r':
			conf_reference(stdout);
			return 0;
		default:
			main_usage(stderr, 2);
		}
	}
	if (optind != argc)
		main_usage(stderr, 2);
	if ((conf = main_conf_load(conf_path)) == NULL)
		return 1;
	conf_print(stdout, conf);
	fprintf(stderr, "%s: configuration OK\n",
	    conf->path != NULL ? conf->path : "built-in defaults");
	conf_free(conf);
	return 0;
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
