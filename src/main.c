/*
 * xmppguard: the binary's subcommands, and the daemon's life in order.
 *
 * main() dispatches from one table of subcommands.  daemon_run() below is
 * the architecture as a sequence: the state and its lock, the store, the
 * loop, detection, the sources that feed it (conntrack, logs), enforcement
 * (bans and the firewall), the sinks and the control socket, the drop of
 * privileges, then the loop; shutdown releases them in reverse.  The steps
 * themselves live in their modules and in daemon.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "alert.h"
#include "checkconf.h"
#include "clock.h"
#include "conf.h"
#include "ct.h"
#include "ctl.h"
#include "cluster.h"
#include "daemon.h"
#include "dyn.h"
#include "enforce.h"
#include "kcap.h"
#include "json.h"
#include "log.h"
#include "logsrc.h"
#include "loop.h"
#include "losses.h"
#include "metrics.h"
#include "ownaddr.h"
#include "pipeline.h"
#include "priv.h"
#include "replay.h"
#include "report.h"
#include "status.h"
#include "store.h"
#include "testfilter.h"

struct main_cmd {
	const char	*name;
	int		(*main)(int argc, char **argv);
	int		 root;		/* needs root (or CAP_NET_ADMIN) */
	const char	*usage;		/* after "xmppguard NAME " */
};

static int	main_run(int, char **);
static int	main_check_config(int, char **);
static int	main_control(int, char **);
static int	main_info(int, char **);

static const struct main_cmd main_cmds[] = {
	{ .name = "run", .main = main_run, .root = 1,
	  .usage = "[-c FILE] [-f|--foreground] [-n|--dry-run] "
	  "[-S|--state-dir DIR] [-s|--socket PATH] [-d|--debug]" },
	{ .name = "status", .main = main_control,
	  .usage = "[-c FILE] [-s|--socket PATH] [--json]" },
	{ .name = "bans", .main = main_control,
	  .usage = "[-c FILE] [-s|--socket PATH] [--json]" },
	{ .name = "ban", .main = main_control,
	  .usage = "ADDR[/LEN] [--for DURATION] [--reason TEXT] "
	  "[--scope proxy] [-c FILE] [-s PATH] [--json]" },
	{ .name = "unban", .main = main_control,
	  .usage = "ADDR[/LEN] [-c FILE] [-s PATH] [--json]" },
	{ .name = "reload", .main = main_control,
	  .usage = "[-c FILE] [-s PATH]" },
	{ .name = "check-config", .main = main_check_config,
	  .usage = "[-c FILE] [--json] [--reference[=markdown|man]]" },
	{ .name = "replay", .main = replay_main,
	  .usage = "[-c FILE] [--db FILE] [--json] [--conntrack FILE] "
	  "[--log FILTER=FILE]..." },
	{ .name = "report", .main = report_main,
	  .usage = "[--db FILE] [-c FILE] [--since DUR] [--top N] "
	  "[--ip ADDR] [--service NAME] [--sort KEY] [--section NAME] "
	  "[--format table|json|csv|html] [--json] [-o FILE]" },
	{ .name = "test-filter", .main = testfilter_main,
	  .usage = "FILTER LOGFILE [--json] [--events] [--kind KIND] "
	  "[--jobs N] [--format plain|docker-json]" },
	{ .name = "version", .main = main_info, .usage = "[--json]" },
	{ .name = "help", .main = main_info, .usage = "" },
};
#define MAIN_NCMDS	(sizeof(main_cmds) / sizeof(main_cmds[0]))

static void __attribute__((noreturn))
main_usage(FILE *f, int status)
{
	size_t	i;

	for (i = 0; i < MAIN_NCMDS; i++)
		fprintf(f, "%s xmppguard %s%s%s%s\n", i == 0 ? "usage:" :
		    "      ", main_cmds[i].name, *main_cmds[i].usage != '\0' ?
		    " " : "", main_cmds[i].usage, main_cmds[i].root ?
		    " (as root)" : "");
	exit(status);
}

static int
daemon_run(struct daemon *d, int foreground)
{
	char	*cause;
	int	 privsep;

	log_init(1, (enum log_level)d->conf->log_level);
	/* A server's log left unread, no log at all: said, not refused. */
	conf_log_warnings(d->conf, 0);
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
	daemon_loop_init(d);
	daemon_alerts_open(d);
	/* The host's own addresses, kept current from rtnetlink: never
	 * banned, and how conntrack tells the host's own flows. */
	if ((d->own = ownaddr_open(d->loop, &cause)) == NULL)
		fatalx("own addresses: %s", cause);

	/* Detection, its windows refilled from the store's recent rows
	 * (nothing judged twice), then conntrack's sockets (root), read
	 * from later. */
	d->pipeline = pipeline_new(d->conf, d->store, daemon_seed());
	daemon_rebuild(d, 1);
	if (d->conf->ct_enabled &&
	    (d->ct = ct_open(d->loop, d->conf, pipeline_event, d->pipeline,
	    &cause)) == NULL)
		fatalx("conntrack: %s (set [conntrack] enabled = no to run "
		    "without it)", cause);
	if (d->ct != NULL)
		ct_set_own(d->ct, d->own);
	/* A log line is judged only for an address conntrack saw connect. */
	pipeline_set_corroborate(d->pipeline, d->ct != NULL);
	if (d->ct == NULL && d->conf->auth_corroborate > 0)
		log_warnx("conntrack is off: log lines are judged without "
		    "corroboration, so a forged line (a user name with a "
		    "newline in it, say) can ban an address that never "
		    "connected");

	/* The kernel caps: probed once (the helper inherits the answer),
	 * their refusals read from nflog (root to bind it). */
	kcap_probe(d->conf);
	d->kcap = kcap_open(d->loop, (const struct conf *const *)&d->conf);

	/*
	 * Under privilege separation the helper forks now, with the
	 * conntrack sockets, and keeps CAP_NET_ADMIN alone; the firewall
	 * goes through it.
	 */
	privsep = d->conf->user[0] != '\0' && geteuid() == 0;
	if (d->conf->user[0] != '\0' && !privsep)
		log_warnx("user %s: not started as root, running as we are",
		    d->conf->user);
	if (privsep) {
		if ((d->priv = priv_start(d->conf->path, d->ct != NULL ?
		    ct_dump_handle(d->ct) : NULL, d->ct != NULL ?
		    ct_event_fd(d->ct) : -1, &cause)) == NULL)
			fatalx("%s", cause);
		if (d->ct != NULL)
			ct_set_priv(d->ct, priv_ct, d->priv);
	}

	/*
	 * Enforcement before the first event is read: the firewall's state
	 * exists and the store's bans are back in force (not announced
	 * again) before anything can cause a new one.
	 */
	d->enforce = enforce_start(d->loop, d->conf, d->store, d->priv,
	    d->own);
	pipeline_set_verdict_cb(d->pipeline, enforce_verdict_cb, d->enforce);
	kcap_set_verdict_cb(d->kcap, pipeline_verdict_add, d->pipeline);
	kcap_set_refusal_cb(d->kcap, daemon_refusal_cb, d);
	pipeline_set_kcap(d->pipeline, d->kcap);
	pipeline_set_caps_cb(d->pipeline, enforce_caps_cb, d->enforce);
	pipeline_set_peer_cb(d->pipeline, alerts_peer, d->alerts);
	pipeline_set_open_cb(d->pipeline, enforce_flow_open_cb, d->enforce);
	enforce_set_flows(d->enforce, d->ct != NULL ? ct_flows(d->ct) : NULL);
	daemon_cluster_start(d);
	/* Surge mode: the known clients in the kernel before any event. */
	daemon_surge_start(d);

	/* The sources: the live flows first, then the logs. */
	if (d->ct != NULL && ct_start(d->ct, &cause) == -1)
		fatalx("conntrack: %s", cause);
	if ((d->logs = logsrc_start(d->loop, d->conf, d->store,
	    pipeline_event, d->pipeline, &cause)) == NULL)
		fatalx("%s", cause);

	/* What answers: the control socket, status, metrics. */
	if ((d->ctl = ctl_open(d->loop, d->conf->control_socket,
	    d->conf->control_group, d->conf->control_mode,
	    control_request_cb, d, &cause)) == NULL)
		fatalx("control socket: %s", cause);
	daemon_status_init(d);
	daemon_metrics_start(d);

	/* Everything that needs root is open: become [global] user. */
	if (privsep)
		daemon_drop(d);

	d->started = clock_monotonic();
	d->started_wall = clock_realtime();
	daemon_alerts_start(d);
	log_info("ready: configuration %s, state %s, store %s (schema %d)%s",
	    d->conf->path != NULL ? d->conf->path : "(built-in defaults)",
	    d->conf->state_dir, d->conf->db_path, store_version(d->store),
	    d->conf->dry_run ? ", dry run" : "");
	daemon_ready(d);

	if (loop_run(d->loop) == -1)
		log_warnx("loop: stopped on error");
	/* Before the alerts go: status reads every module's counters. */
	daemon_losses_flush(d);
	daemon_alerts_stop(d);
	cluster_stop(d->cluster);

	/* Shutdown in reverse: sources stop, what is summed in memory is
	 * written, the store is left consistent (committed, WAL checkpointed
	 * by sqlite3_close), then the lock goes.  The bans stay in the
	 * kernel, with their timeouts. */
	ctl_close(d->ctl);
	metrics_server_close(d->metrics);
	ct_close(d->ct);
	kcap_close(d->kcap);
	daemon_surge_stop(d);
	logsrc_flush(d->logs, clock_realtime());
	logsrc_stop(d->logs);
	pipeline_flush(d->pipeline);
	store_flush(d->store);
	enforce_stop(d->enforce);
	priv_stop(d->priv);
	ownaddr_free(d->own);
	losses_free(d->losses);
	status_free(d->status);
	pipeline_free(d->pipeline);
	loop_free(d->loop);
	store_close(d->store);
	close(d->lock_fd);
	log_info("stopped after %llds",
	    (long long)((clock_monotonic() - d->started) / CLOCK_US_PER_SEC));
	conf_free(d->conf);
	return 0;
}

/*
 * A configuration that does not load exits EX_CONFIG (78), apart from
 * every other failure (1): the systemd unit does not restart on it
 * (RestartPreventExitStatus=78), since the same file fails the same way.
 */
static int
main_run(int argc, char **argv)
{
	struct daemon	d;
	int		foreground;

	switch (daemon_init(&d, argc, argv, &foreground)) {
	case -1:
		main_usage(stderr, 2);
	case 0:
		return daemon_run(&d, foreground);
	default:
		return EX_CONFIG;
	}
}

static int
main_check_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "reference",	optional_argument,	NULL, 'r' },
		{ "json",	no_argument,		NULL, 'j' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*conf_path = NULL;
	int		 ch, json = 0;

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'r':
			/* Markdown, or man (xmppguard.conf(5)). */
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
	return checkconf_run(conf_path, json);
}

static int
main_control(int argc, char **argv)
{
	int	rc;

	if ((rc = control_main(argc, argv)) == -1)
		main_usage(stderr, 2);
	return rc;
}

/*
 * version [--json]: the version, and with --json what the build holds:
 * the paths it was built for, the firewall backends and the libraries
 * it runs with (their versions as loaded, not as built).
 */
static void
main_version_json(void)
{
	static const char *const backends[] = {
		"nftables", "ipset", "iptables", "command", "webhook", "none"
	};
	size_t	i;

	fputs("{\"version\":", stdout);
	json_string(stdout, XG_VERSION);
	fputs(",\"sysconfdir\":", stdout);
	json_string(stdout, XG_SYSCONFDIR);
	fputs(",\"datadir\":", stdout);
	json_string(stdout, XG_DATADIR);
	fputs(",\"config\":", stdout);
	json_string(stdout, CONF_DEFAULT_PATH);
	fputs(",\"firewalls\":[", stdout);
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		fputs(i > 0 ? "," : "", stdout);
		json_string(stdout, backends[i]);
	}
	fputs("],\"libraries\":{\"sqlite\":", stdout);
	json_string(stdout, sqlite3_libversion());
	fputs(",\"curl\":", stdout);
	json_string(stdout, curl_version_info(CURLVERSION_NOW)->version);
	fputs("}}\n", stdout);
}

/* version, help. */
static int
main_info(int argc, char **argv)
{
	/* "--help" and "-h" come here as they were typed. */
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0) {
		if (argc != 1)
			main_usage(stderr, 2);
		main_usage(stdout, 0);
	}
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		main_version_json();
	else if (argc == 1)
		printf("xmppguard %s\n", XG_VERSION);
	else
		main_usage(stderr, 2);
	return 0;
}

int
main(int argc, char **argv)
{
	const char	*name;
	size_t		 i;

	if (argc < 2)
		main_usage(stderr, 2);
	name = argv[1];
	if (strcmp(name, "--version") == 0)
		name = "version";
	else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		name = "help";
	/* Subcommands parse their own options from their own argv[0]. */
	for (i = 0; i < MAIN_NCMDS; i++)
		if (strcmp(main_cmds[i].name, name) == 0)
			return main_cmds[i].main(argc - 1, argv + 1);
	fprintf(stderr, "xmppguard: unknown command '%s'\n", name);
	main_usage(stderr, 2);
}
