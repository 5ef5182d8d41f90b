/*
 * The control commands: status, bans, ban, unban and reload, both ends.
 *
 * One table says, for each command, who may run it, how many words its
 * request holds, the daemon's handler and the client's options.  The
 * daemon's side (control_request_cb) answers a request read by ctl.c from
 * the control socket; the client's side (control_main) turns a command
 * line into one request and prints the answer.  A new command is one
 * entry and one handler.
 *
 * Wire words: "status [json]", "bans [json]", "ban [json] [proxy] PREFIX
 * [SECONDS [REASON...]]" (0 seconds: [ban] duration, escalated; proxy: the
 * proxy scope, as for a client judged through a proxy; json: the ban as
 * it stands, as "bans json" shows it), "unban [json] PREFIX", "reload".
 * The reason travels word by word and the daemon joins it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "clock.h"
#include "conf.h"
#include "ctl.h"
#include "daemon.h"
#include "enforce.h"
#include "json.h"
#include "status.h"
#include "verdict.h"
#include "xmalloc.h"

#define CONTROL_WORDS_MAX	30	/* words a client's request holds */
#define CONTROL_BAN_MAX_S	(366LL * 86400)

struct control_cmd {
	const char	*name;
	int		 admin;		/* changes something: only root and
					 * the daemon's own user */
	int		 minargs;	/* words after the name */
	int		 maxargs;
	int		(*run)(struct daemon *, int argc, char **argv,
			    FILE *out);
	/* The client's side: --json, an ADDR[/LEN] operand, --for and
	 * --reason. */
	int		 json;
	int		 target;
	int		 ban;
};

static int	control_status(struct daemon *, int, char **, FILE *);
static int	control_bans(struct daemon *, int, char **, FILE *);
static int	control_ban(struct daemon *, int, char **, FILE *);
static int	control_unban(struct daemon *, int, char **, FILE *);
static int	control_reload(struct daemon *, int, char **, FILE *);

static const struct control_cmd control_cmds[] = {
	{ .name = "status", .maxargs = 1, .run = control_status, .json = 1 },
	{ .name = "bans", .maxargs = 1, .run = control_bans, .json = 1 },
	{ .name = "ban", .admin = 1, .minargs = 1,
	  .maxargs = CONTROL_WORDS_MAX, .run = control_ban, .json = 1,
	  .target = 1, .ban = 1 },
	{ .name = "unban", .admin = 1, .minargs = 1, .maxargs = 2,
	  .run = control_unban, .json = 1, .target = 1 },
	{ .name = "reload", .admin = 1, .run = control_reload },
};

static const struct control_cmd *
control_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (strcmp(control_cmds[i].name, name) == 0)
			return &control_cmds[i];
	return NULL;
}

/* "json" or nothing: 1, 0; -1 for anything else. */
static int
control_json_arg(int argc, char **argv)
{
	if (argc == 1)
		return 0;
	return strcmp(argv[1], "json") == 0 ? 1 : -1;
}

static int
control_status(struct daemon *d, int argc, char **argv, FILE *out)
{
	int	json;

	if ((json = control_json_arg(argc, argv)) == -1)
		return -2;
	if (json)
		status_json(d->status, out);
	else
		status_text(d->status, out);
	return 0;
}

static void
control_ban_json_cb(const struct ban *b, void *arg)
{
	ban_json(arg, b);
	fputc('\n', arg);
}

static void
control_ban_text_cb(const struct ban *b, void *arg)
{
	FILE	*out = arg;
	char	 pfx[ADDR_PREFIX_STRLEN], t[40], left[32];

	fprintf(out, "%-20s %-11s until %s (%s left), ban %u%s, ports %s: "
	    "%s\n", addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx)),
	    verdict_rule_name(b->rule), json_fmt_time(b->expires, t,
	    sizeof(t)), ban_fmt_left(b, clock_realtime(), left, sizeof(left)),
	    b->count, b->throttled ? " (throttle)" : "", b->ports, b->reason);
}

static int
control_bans(struct daemon *d, int argc, char **argv, FILE *out)
{
	int	json;

	if ((json = control_json_arg(argc, argv)) == -1)
		return -2;
	bans_walk(enforce_bans(d->enforce), json ? control_ban_json_cb :
	    control_ban_text_cb, out);
	return 0;
}

/* One ban, by its prefix written out: what ban --json answers. */
struct control_one {
	char	 prefix[ADDR_PREFIX_STRLEN];
	FILE	*out;
};

static void
control_ban_one_cb(const struct ban *b, void *arg)
{
	struct control_one	*want = arg;
	char			 pfx[ADDR_PREFIX_STRLEN];

	if (strcmp(addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx)),
	    want->prefix) == 0)
		control_ban_json_cb(b, want->out);
}

static int
control_prefix(const char *s, struct prefix *p, FILE *out)
{
	if (addr_prefix_parse(s, p, 0) == -1) {
		fprintf(out, "not an address or prefix (host bits must be "
		    "zero): %s\n", s);
		return -1;
	}
	return 0;
}

static int
control_ban(struct daemon *d, int argc, char **argv, FILE *out)
{
	struct prefix	 p;
	char		 reason[VERDICT_REASON_MAX], *cause, *end;
	struct control_one want;
	long long	 secs = 0;
	size_t		 len = 0;
	int		 i, proxy, json;

	/* "json", then "proxy" (the proxy scope): no prefix reads so. */
	if ((json = argc > 2 && strcmp(argv[1], "json") == 0)) {
		argc--;
		argv++;
	}
	if ((proxy = argc > 2 && strcmp(argv[1], "proxy") == 0)) {
		argc--;
		argv++;
	}
	if (control_prefix(argv[1], &p, out) == -1)
		return -1;
	if (argc >= 3) {
		secs = strtoll(argv[2], &end, 10);
		if (*argv[2] < '0' || *argv[2] > '9' || *end != '\0' ||
		    secs > CONTROL_BAN_MAX_S) {
			fprintf(out, "bad duration: %s\n", argv[2]);
			return -1;
		}
	}
	reason[0] = '\0';
	for (i = 3; i < argc && len + 2 < sizeof(reason); i++)
		len += (size_t)snprintf(reason + len, sizeof(reason) - len,
		    "%s%s", i > 3 ? " " : "", argv[i]);
	if (enforce_ban(d->enforce, &p, secs * CLOCK_US_PER_SEC, proxy ?
	    FW_SCOPE_PROXY : FW_SCOPE_SERVICES, reason, &cause) == -1) {
		fprintf(out, "%s\n", cause);
		free(cause);
		return -1;
	}
	if (json) {
		/* The ban as it now stands, as `bans --json` shows it. */
		addr_prefix_ntop(&p, want.prefix, sizeof(want.prefix));
		want.out = out;
		bans_walk(enforce_bans(d->enforce), control_ban_one_cb, &want);
	} else
		fprintf(out, "ban %s\n", argv[1]);
	return 0;
}

static int
control_unban(struct daemon *d, int argc, char **argv, FILE *out)
{
	struct prefix	 p;
	char		*cause, pfx[ADDR_PREFIX_STRLEN];
	int		 json;

	if ((json = argc > 2 && strcmp(argv[1], "json") == 0))
		argv++;
	else if (argc > 2)
		return -2;
	if (control_prefix(argv[1], &p, out) == -1)
		return -1;
	if (enforce_unban(d->enforce, &p, &cause) == -1) {
		fprintf(out, "%s\n", cause);
		free(cause);
		return -1;
	}
	if (json) {
		/* Named as in a ban's object (ban_json()). */
		fputs("{\"address\":", out);
		json_string(out, addr_prefix_ntop(&p, pfx, sizeof(pfx)));
		fputs(",\"unbanned\":true}\n", out);
	} else
		fprintf(out, "unban %s\n", argv[1]);
	return 0;
}

static int
control_reload(struct daemon *d, int argc, char **argv, FILE *out)
{
	(void)argc;
	(void)argv;
	return daemon_reload(d, out);
}

int
control_request_cb(int argc, char **argv, int level, FILE *out, void *arg)
{
	const struct control_cmd	*cmd;
	int				 rc;

	if ((cmd = control_find(argv[0])) == NULL ||
	    argc - 1 < cmd->minargs || argc - 1 > cmd->maxargs) {
		fprintf(out, "unknown request\n");
		return -1;
	}
	/* A control group member may look, not change. */
	if (cmd->admin && level < CTL_ADMIN) {
		fprintf(out, "%s: only root and the daemon's own user may\n",
		    argv[0]);
		return -1;
	}
	if ((rc = cmd->run(arg, argc, argv, out)) == -2) {
		fprintf(out, "unknown request\n");
		return -1;
	}
	return rc;
}

/*
 * The client: the command's options, one request on the control socket,
 * the answer to stdout, or to stderr with exit status 1 if the daemon
 * refused.  -1 for a usage error (the caller prints the usage).
 */
int
control_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "for",	required_argument,	NULL, 'f' },
		{ "reason",	required_argument,	NULL, 'r' },
		{ "scope",	required_argument,	NULL, 'p' },
		{ NULL,		0,			NULL, 0 }
	};
	const struct control_cmd *cmd = control_find(argv[0]);
	struct conf	*conf = NULL;
	const char	*conf_path = NULL, *sock = NULL, *why;
	const char	*req[CONTROL_WORDS_MAX];
	char		*cause, *body = NULL, secs[32], *reason = NULL;
	char		*word, *save = NULL;
	size_t		 bodylen = 0;
	FILE		*mem;
	int64_t		 dur = 0;
	int		 ch, json = 0, rc, n = 0, proxy = 0;

	while ((ch = getopt_long(argc, argv, "c:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'j':
			if (!cmd->json)
				return -1;
			json = 1;
			break;
		case 'f':
			if (!cmd->ban)
				return -1;
			if (conf_parse_duration(optarg, &dur, &why) == -1 ||
			    dur < CLOCK_US_PER_SEC) {
				fprintf(stderr, "xmppguard: --for %s: %s\n",
				    optarg, dur < CLOCK_US_PER_SEC &&
				    why == NULL ? "at least 1s" : why);
				return 2;
			}
			break;
		case 'r':
			if (!cmd->ban)
				return -1;
			reason = optarg;
			break;
		case 'p':
			if (!cmd->ban || (strcmp(optarg, "proxy") != 0 &&
			    strcmp(optarg, "services") != 0))
				return -1;
			proxy = strcmp(optarg, "proxy") == 0;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - (cmd->target ? 1 : 0))
		return -1;
	req[n++] = cmd->name;
	if (json)
		req[n++] = "json";
	if (proxy)
		req[n++] = "proxy";
	if (cmd->target)
		req[n++] = argv[optind];
	if (cmd->ban) {
		snprintf(secs, sizeof(secs), "%lld",
		    (long long)(dur / CLOCK_US_PER_SEC));
		if (dur > 0 || reason != NULL)
			req[n++] = dur > 0 ? secs : "0";
		for (word = reason != NULL ? strtok_r(reason, " \t", &save) :
		    NULL; word != NULL && n < CONTROL_WORDS_MAX;
		    word = strtok_r(NULL, " \t", &save))
			req[n++] = word;
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
	if (rc < 0) {
		fprintf(stderr, "xmppguard: %s\n", cause);
		free(cause);
	} else
		fputs(body, rc == 0 ? stdout : stderr);
	free(body);
	conf_free(conf);
	/* As an LSB init script's status: 3, not running. */
	return rc == 0 ? 0 : rc == -2 ? 3 : 1;
}
