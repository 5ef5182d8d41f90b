/*
 * Replay.  A saved `conntrack -E -o timestamp,extended,id` log goes through
 * ct_text_parse() and the same flow machine (ctflow), tracker and rules as
 * the daemon's live events, so what replay prints is what the daemon would
 * have decided.  Time is the file's: the events carry their own
 * timestamps, and nothing downstream reads the clock.
 *
 * Hostile input is expected (a file from a server under attack): lines are
 * read with a length cap, and malformed ones are counted and skipped, never
 * fatal.  With --db the store is written as by the daemon; without it,
 * nothing is written at all.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "ct.h"
#include "json.h"
#include "log.h"
#include "pipeline.h"
#include "replay.h"
#include "store.h"
#include "verdict.h"
#include "xmalloc.h"

#define REPLAY_LINE_MAX		8192	/* longer lines are skipped */
/* Fixed, so two replays of one file print the same thing. */
#define REPLAY_SEED		0x5eed5eedU

struct replay {
	int		 json;
	uint64_t	 lines;
	uint64_t	 parsed;
	uint64_t	 other;		/* valid, not a TCP event */
	uint64_t	 malformed;
	uint64_t	 toolong;
	uint64_t	 verdicts;
};

static void
replay_usage(void)
{
	fprintf(stderr, "usage: xmppguard replay [-c FILE] [--db FILE] "
	    "[--json] --conntrack FILE\n");
	exit(2);
}

static void
replay_verdict_cb(const struct verdict *v, void *arg)
{
	struct replay	*r = arg;
	char		 pfx[ADDR_PREFIX_STRLEN], t[40];

	r->verdicts++;
	addr_prefix_ntop(&v->prefix, pfx, sizeof(pfx));
	if (!r->json) {
		printf("%s %s %s%s\n", json_fmt_time(v->time, t, sizeof(t)),
		    pfx, v->reason, v->allowlisted ? " (allowlisted)" : "");
		return;
	}
	printf("{\"time\":");
	json_time(stdout, v->time);
	printf(",\"address\":");
	json_string(stdout, pfx);
	printf(",\"rule\":");
	json_string(stdout, verdict_rule_name(v->rule));
	printf(",\"service\":");
	if (v->service != NULL)
		json_string(stdout, v->service);
	else
		printf("null");
	printf(",\"observed\":%llu,\"limit\":%llu,\"window\":%lld,"
	    "\"allowlisted\":%s,\"reason\":", (unsigned long long)v->observed,
	    (unsigned long long)v->limit, (long long)(v->window / CLOCK_US_PER_SEC),
	    v->allowlisted ? "true" : "false");
	json_string(stdout, v->reason);
	printf("}\n");
}

/*
 * Reads one line of fp into buf (at most size - 1 bytes, NUL-terminated,
 * without its newline).  Returns its length; -1 at the end of the file;
 * -2 for a line longer than that, which is skipped whole, however long,
 * without holding it in memory.  *nul is set if the line held a NUL byte
 * (so strlen() would see less than was read).
 */
static ssize_t
replay_getline(FILE *fp, char *buf, size_t size, int *nul)
{
	size_t	len = 0;
	int	c;

	*nul = 0;
	while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
		if (len == size - 1) {
			while ((c = getc_unlocked(fp)) != EOF && c != '\n')
				;
			return -2;
		}
		if (c == '\0')
			*nul = 1;
		buf[len++] = (char)c;
	}
	if (c == EOF && len == 0)
		return -1;
	buf[len] = '\0';
	return (ssize_t)len;
}

static void
replay_conntrack(struct replay *r, FILE *fp, const struct conf *conf,
    struct pipeline *p)
{
	struct ctflow	*flow;
	struct ct_msg	 msg;
	char		 buf[REPLAY_LINE_MAX + 1];
	ssize_t		 len;
	int		 nul, rc;

	flow = ctflow_new(conf->ct_flows_max, REPLAY_SEED);
	while ((len = replay_getline(fp, buf, sizeof(buf), &nul)) != -1) {
		r->lines++;
		if (len == -2) {
			r->toolong++;
			continue;
		}
		if (nul) {
			r->malformed++;
			continue;
		}
		rc = ct_text_parse(buf, &msg);
		if (rc == -1) {
			r->malformed++;
			continue;
		}
		if (rc == 1) {
			r->other++;
			continue;
		}
		r->parsed++;
		ctflow_apply(flow, conf, &msg, pipeline_event, p);
	}
	ctflow_free(flow);
}

int
replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "db",		required_argument,	NULL, 'D' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "conntrack",	required_argument,	NULL, 'C' },
		{ NULL,		0,			NULL, 0 }
	};
	struct replay		 r;
	struct conf		*conf;
	struct store		*store = NULL;
	struct pipeline		*p;
	struct pipeline_stats	 ps;
	const char		*conf_path = NULL, *db = NULL, *ctfile = NULL;
	char			*cause;
	FILE			*fp;
	int			 ch;

	memset(&r, 0, sizeof(r));
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'D':
			db = optarg;
			break;
		case 'j':
			r.json = 1;
			break;
		case 'C':
			ctfile = optarg;
			break;
		default:
			replay_usage();
		}
	}
	if (optind != argc || ctfile == NULL)
		replay_usage();
	if ((conf = conf_load_command(conf_path)) == NULL)
		return 1;
	/* Verdicts go to stdout; the log (stderr) keeps to warnings. */
	log_init(1, LOG_LEVEL_WARN);
	if (strcmp(ctfile, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(ctfile, "re")) == NULL) {
		fprintf(stderr, "xmppguard: %s: %s\n", ctfile,
		    strerror(errno));
		conf_free(conf);
		return 1;
	}
	if (db != NULL && (store = store_open(db, 0, conf->batch_max,
	    &cause)) == NULL) {
		fprintf(stderr, "xmppguard: store: %s\n", cause);
		free(cause);
		if (fp != stdin)
			fclose(fp);
		conf_free(conf);
		return 1;
	}

	p = pipeline_new(conf, store, REPLAY_SEED);
	pipeline_set_verdict_cb(p, replay_verdict_cb, &r);
	replay_conntrack(&r, fp, conf, p);
	pipeline_flush(p);
	pipeline_get_stats(p, &ps);
	if (ferror(fp))
		fprintf(stderr, "xmppguard: %s: read error\n", ctfile);
	if (fp != stdin)
		fclose(fp);
	pipeline_free(p);
	store_close(store);
	fprintf(stderr, "replay: %llu lines, %llu conntrack events, "
	    "%llu other, %llu malformed, %llu too long; %llu connections, "
	    "%llu verdicts\n", (unsigned long long)r.lines,
	    (unsigned long long)r.parsed, (unsigned long long)r.other,
	    (unsigned long long)r.malformed, (unsigned long long)r.toolong,
	    (unsigned long long)ps.conns, (unsigned long long)r.verdicts);
	conf_free(conf);
	return 0;
}
