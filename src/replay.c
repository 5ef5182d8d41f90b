/*
 * Replay.  A saved `conntrack -E -o timestamp,extended,id` log and any
 * number of XMPP server logs go through the same parsers, flow machine
 * (ctflow), filters, tracker and rules as the daemon's live input, so what
 * replay prints is what the daemon would have decided.  Time is the
 * files': the events carry their own timestamps, and nothing downstream
 * reads the clock.
 *
 * Merge.  The daemon sees conntrack and its logs interleaved as things
 * happen, and corroboration depends on it: a log line is judged only if
 * its address was seen completing a handshake shortly before.  So each
 * source is read one event ahead and the earliest head goes next; on equal
 * times conntrack goes first (a handshake and the line it corroborates may
 * share a microsecond), then the logs in the order given.  Within a source
 * nothing is reordered: a line older than the one before it is passed as
 * it comes, as the daemon would take it.  Memory is one line and one event
 * per source, whatever the files' sizes.
 *
 * Logs.  Each --log has its own filter, with its own join and dedup tables
 * and its time zone, as a [log] section has in the daemon.  An event takes
 * the time its line gives; a line whose time does not parse takes the
 * time of the event before it in the same log (the daemon would give it
 * the arrival time, which a file does not record).  Time stamps without a
 * year are placed relative to the file's modification time, as
 * test-filter does.  Without --conntrack nothing corroborates a line and
 * every address a line names is judged, as by the daemon with conntrack
 * off; replay warns about it.
 *
 * Hostile input is expected (files from a server under attack): lines are
 * read with a length cap, and malformed, binary and over-long ones are
 * counted, never fatal.  With --db the store is written as by the daemon;
 * without it, nothing is written at all.
 */
#include <sys/stat.h>

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
#include "ctflow.h"
#include "filter.h"
#include "json.h"
#include "kcap.h"
#include "log.h"
#include "pipeline.h"
#include "replay.h"
#include "replay_int.h"
#include "store.h"
#include "verdict.h"
#include "xmalloc.h"

/* Conntrack lines: longer ones are skipped. */
#define REPLAY_LINE_MAX		8192
/* Log lines: [log] max_line's default, as the daemon reads them. */
#define REPLAY_LOG_LINE_MAX	(16 * 1024)
/* Fixed, so two replays of one file print the same thing. */
#define REPLAY_SEED		0x5eed5eedU

/* The conntrack capture, one message read ahead. */
struct replay_ct {
	const char	*path;
	FILE		*fp;
	struct ctflow	*flow;
	char		 buf[REPLAY_LINE_MAX + 1];
	struct ct_msg	 msg;		/* the next one, if have */
	int		 have;
	uint64_t	 lines;
	uint64_t	 parsed;
	uint64_t	 other;		/* valid, not a TCP event */
	uint64_t	 malformed;
	uint64_t	 toolong;
};

/* One --log FILTER=FILE, one event read ahead. */
struct replay_log {
	const char	*filter_arg;	/* FILTER as given */
	const char	*path;		/* FILE */
	char		*filter_path;
	struct filter	*filter;
	FILE		*fp;
	char		*buf;		/* REPLAY_LOG_LINE_MAX + 1 */
	int64_t		 now;		/* places year-less stamps */
	int64_t		 last;		/* last event's time, or -1 */
	struct filter_result r;		/* the next event, if have */
	int		 have;
	uint64_t	 lines;
	uint64_t	 events;
	uint64_t	 untimed;	/* events whose line gave no time */
	uint64_t	 toolong;
	uint64_t	 binary;	/* lines holding a NUL byte */
	uint64_t	 errors;	/* lines that hit the match limits */
};

struct replay {
	int		 json;
	uint64_t	 verdicts;	/* printed */
	uint64_t	 conns;		/* handshakes in the input */
	const struct conf *conf;
	struct pipeline	*p;
	struct replay_bans *rb;		/* NULL: verdicts only (tests) */
	struct replay_surge *rs;	/* surge mode */
	struct replay_kcap *kc;		/* kernel caps (with a capture) */
	struct kcap	*kcnt;		/* their refusals counted (kcap.c),
					 * NULL: no cap_persist */
	uint64_t	 hammered;	/* bans of kcnt's */
	int		 refused;	/* the pipeline's event was refused
					 * by a cap: refusal, its prefix */
	char		 refusal[64];
	int		 login;		/* the pipeline took a login now */
	struct replay_ct *ct;		/* NULL: no --conntrack */
	struct replay_log *logs;
	size_t		 nlogs;
};

static void
replay_usage(void)
{
	fprintf(stderr, "usage: xmppguard replay [-c FILE] [--db FILE] "
	    "[--json] [--conntrack FILE] [--log FILTER=FILE]...\n");
	exit(2);
}

/* The ban a verdict made, as JSON: its prefix, ports, length, step. */
static void
replay_ban_json(const struct ban *b, enum replay_outcome o)
{
	char	pfx[ADDR_PREFIX_STRLEN];

	printf("{\"address\":");
	json_string(stdout, addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx)));
	printf(",\"scope\":");
	json_string(stdout, fw_scope_name(b->scope));
	printf(",\"duration\":%lld,\"step\":%u,\"extended\":%s,"
	    "\"throttled\":%s,\"until\":",
	    (long long)((b->expires - b->since) / CLOCK_US_PER_SEC),
	    (unsigned)b->count, o == REPLAY_EXTENDED ? "true" : "false",
	    b->throttled ? "true" : "false");
	json_time(stdout, b->expires);
	printf("}");
}

/* Why a verdict is not enforced, in words. */
static const char *
replay_unbanned_why(const struct verdict *v)
{
	if (v->allowlisted)
		return "allowlisted";
	if (v->held)
		return "held: auth outage";
	if (v->capped)
		return "refused in the kernel: not banned";
	return "never banned";
}

/*
 * A verdict: the ban it makes, as the daemon would.  Printed once per ban
 * (or extension), and when it is never enforced; a verdict inside a ban
 * in force for as long already changes nothing and is only counted.
 */
static void
replay_verdict_cb(const struct verdict *v, void *arg)
{
	struct replay		*r = arg;
	struct ban		 b;
	enum replay_outcome	 o = REPLAY_UNBANNED;
	char			 pfx[ADDR_PREFIX_STRLEN], t[40], d[32];
	char			 bpfx[ADDR_PREFIX_STRLEN];

	if (r->rb != NULL && (o = replay_bans_verdict(r->rb, v, &b)) ==
	    REPLAY_REPEAT)
		return;
	if (r->rb == NULL && !v->allowlisted && !v->held)
		o = REPLAY_REPEAT;	/* verdicts only: no ban shown */
	r->verdicts++;
	addr_prefix_ntop(&v->prefix, pfx, sizeof(pfx));
	if (!r->json) {
		printf("%s %s %s", json_fmt_time(v->time, t, sizeof(t)), pfx,
		    v->reason);
		if (o == REPLAY_UNBANNED)
			printf(" (%s)", replay_unbanned_why(v));
		else if (o != REPLAY_REPEAT)
			printf("; %s %s %s %s (ban %u) until %s",
			    b.throttled ? "throttle" : "ban",
			    addr_prefix_ntop(&b.prefix, bpfx, sizeof(bpfx)),
			    o == REPLAY_EXTENDED ? "extended to" : "for",
			    conf_fmt_duration(b.expires - b.since, d,
			    sizeof(d)), (unsigned)b.count,
			    json_fmt_time(b.expires, t, sizeof(t)));
		printf("\n");
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
	    (unsigned long long)v->limit,
	    (long long)(v->window / CLOCK_US_PER_SEC),
	    v->allowlisted ? "true" : "false");
	json_string(stdout, v->reason);
	printf(",\"ban\":");
	if (o == REPLAY_BANNED || o == REPLAY_EXTENDED)
		replay_ban_json(&b, o);
	else
		printf("null");
	if (o == REPLAY_UNBANNED) {
		printf(",\"not_banned\":");
		json_string(stdout, replay_unbanned_why(v));
	}
	printf("}\n");
}

/*
 * An event of the input, on its way to the pipeline: counted, and dropped
 * if a ban in force would have kept it out.
 */
static void
replay_event(const struct event *ev, void *arg)
{
	struct replay	*r = arg;

	/* Handshakes: the capture's if there is one, else the logs'. */
	if (ev->kind == EVENT_CONN_OPEN && (r->ct == NULL ||
	    ev->source == EVENT_SRC_CONNTRACK))
		r->conns++;
	if (r->rb != NULL && replay_bans_drop(r->rb, ev))
		return;
	r->login = 0;
	r->refused = 0;
	pipeline_event(ev, r->p);
	/* The tracker has counted it: the level its accounts earn. */
	if (r->login && r->kc != NULL)
		replay_kcap_login(r->kc, pipeline_track(r->p), ev);
	/* The refusal as the daemon reads it from nflog, after the
	 * handshake's event: counted, and banned past cap_persist. */
	if (r->refused && r->kcnt != NULL)
		(void)kcap_refusal(r->kcnt, r->refusal, &ev->addr, ev->time);
}

/* A ban for hammering a cap (kcap_refusal()), to the pipeline as the
 * daemon's (main.c), counted for the summary. */
static void
replay_hammered(const struct verdict *v, void *arg)
{
	struct replay	*r = arg;

	r->hammered++;
	pipeline_verdict_add(v, r->p);
}

/*
 * An event judged: the kernel caps' sets, then surge mode's count and
 * cap (the surge's rule comes after the caps', in the service's chain).
 */
static void
replay_tap(const struct event *ev, void *arg)
{
	struct replay		*r = arg;
	enum replay_kcap_result	 k = REPLAY_KCAP_PASSED;

	if (ev->kind == EVENT_AUTH_OK && !(ev->flags & EVENT_F_PROXIED))
		r->login = 1;
	if (r->kc != NULL)
		k = replay_kcap_event(r->kc, ev);
	if (k == REPLAY_KCAP_REFUSED) {
		r->refused = 1;
		replay_kcap_refusal(r->kc, r->refusal, sizeof r->refusal);
	}
	if (r->rs != NULL)
		(void)replay_surge_event(r->rs, ev, k == REPLAY_KCAP_PASSED);
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

/* Reads ahead to the next TCP message of the capture, if any. */
static void
replay_ct_next(struct replay_ct *c)
{
	ssize_t	len;
	int	nul, rc;

	c->have = 0;
	while ((len = replay_getline(c->fp, c->buf, sizeof(c->buf),
	    &nul)) != -1) {
		c->lines++;
		if (len == -2) {
			c->toolong++;
			continue;
		}
		if (nul) {
			c->malformed++;
			continue;
		}
		rc = ct_text_parse(c->buf, &c->msg);
		if (rc == -1) {
			c->malformed++;
			continue;
		}
		if (rc == 1) {
			c->other++;
			continue;
		}
		c->parsed++;
		c->have = 1;
		return;
	}
}

/*
 * Reads ahead to the next line of the log that gives an event, if any.
 * Lines holding NUL bytes are counted, and matched all the same: the
 * daemon's tailer hands them to the filter too.
 */
static void
replay_log_next(struct replay_log *l)
{
	ssize_t	len;
	int	nul, rc;

	l->have = 0;
	while ((len = replay_getline(l->fp, l->buf, REPLAY_LOG_LINE_MAX + 1,
	    &nul)) != -1) {
		l->lines++;
		if (len == -2) {
			l->toolong++;
			continue;
		}
		if (nul)
			l->binary++;
		rc = filter_match(l->filter, l->buf, (size_t)len, l->now,
		    &l->r);
		if (rc == -1)
			l->errors++;
		if (rc <= 0)
			continue;
		if (!(l->r.flags & FILTER_R_TIME)) {
			l->untimed++;
			if (l->last != -1)
				l->r.time = l->last;
		}
		l->last = l->r.time;
		l->events++;
		l->have = 1;
		return;
	}
}

/* The event the log's read-ahead line gives, as logsrc.c makes it. */
static void
replay_log_event(const struct replay_log *l, struct event *ev)
{
	filter_event(&l->r, filter_name(l->filter), ev);
}

/*
 * The source to take the next event from: the one whose head (t[i],
 * present if have[i]) is earliest, the first of them on equal times.
 * -1 once no source has anything left.  Pure, for the tests.
 */
static int
replay_next(const int64_t *t, const int *have, size_t n)
{
	size_t	i;
	int	best = -1;

	for (i = 0; i < n; i++)
		if (have[i] && (best == -1 || t[i] < t[best]))
			best = (int)i;
	return best;
}

/* The flows of a prefix, as ctflow_of_prefix() lists them. */
struct replay_tuples {
	struct ctflow_tuple *v;
	size_t		 n, cap;
};

static void
replay_tuple_cb(const struct ctflow_tuple *t, void *arg)
{
	struct replay_tuples	*ts = arg;

	if (ts->n == ts->cap) {
		ts->cap = ts->cap == 0 ? 16 : ts->cap * 2;
		ts->v = xreallocarray(ts->v, ts->cap, sizeof(*ts->v));
	}
	ts->v[ts->n++] = *t;
}

/*
 * The live sessions of the prefixes banned since the last call, ended as
 * the daemon ends them (conntrack entries deleted): the flow machine gets
 * the DESTROY the kernel would have sent, at the ban's time, and the
 * capture's later messages of those flows are dropped.  Called between
 * two events, never from inside the pipeline.
 */
static void
replay_kill(struct replay *r, event_cb cb, void *arg)
{
	struct replay_tuples	 ts;
	struct ct_msg		 m;
	struct prefix		 p;
	int64_t			 when;
	size_t			 i;

	if (r->rb == NULL)
		return;
	memset(&ts, 0, sizeof(ts));
	while (replay_bans_next_kill(r->rb, &p, &when)) {
		if (r->ct == NULL)
			continue;
		ts.n = 0;
		(void)ctflow_of_prefix(r->ct->flow, &p, replay_tuple_cb, &ts);
		for (i = 0; i < ts.n; i++) {
			memset(&m, 0, sizeof(m));
			m.type = CT_MSG_DESTROY;
			m.time = when;
			m.id = ts.v[i].id;
			m.src = ts.v[i].src;
			m.dst = ts.v[i].dst;
			m.sport = ts.v[i].sport;
			m.dport = ts.v[i].dport;
			m.tcp_state = ts.v[i].open ? CT_TCP_ESTABLISHED :
			    CT_TCP_SYN_SENT;
			ctflow_apply(r->ct->flow, r->conf, &m, cb, arg);
			replay_bans_killed(r->rb, &m.src, m.sport, m.id);
		}
	}
	free(ts.v);
}

/*
 * Runs every source to its end, merged by time, each event to cb (the
 * pipeline).  Source 0 is the capture if there is one, then the logs.
 */
static void
replay_run(struct replay *r, event_cb cb, void *arg)
{
	struct event	 ev;
	size_t		 n = r->nlogs + 1, i;
	int64_t		*t;
	int		*have, k;

	t = xcalloc(n, sizeof(*t));
	have = xcalloc(n, sizeof(*have));
	if (r->ct != NULL)
		replay_ct_next(r->ct);
	for (i = 0; i < r->nlogs; i++)
		replay_log_next(&r->logs[i]);
	for (;;) {
		if (r->ct != NULL && (have[0] = r->ct->have))
			t[0] = r->ct->msg.time;
		for (i = 0; i < r->nlogs; i++)
			if ((have[i + 1] = r->logs[i].have))
				t[i + 1] = r->logs[i].r.time;
		if ((k = replay_next(t, have, n)) == -1)
			break;
		if (k == 0) {
			/* Where the services are reached: this host. */
			if (r->rb != NULL && conf_service_by_port(r->conf,
			    r->ct->msg.dport) != NULL)
				replay_bans_own(r->rb, &r->ct->msg.dst);
			/* Not the kernel's any more: a ban ended it. */
			if (r->rb == NULL ||
			    !replay_bans_msg_drop(r->rb, &r->ct->msg))
				ctflow_apply(r->ct->flow, r->conf,
				    &r->ct->msg, cb, arg);
			replay_ct_next(r->ct);
			replay_kill(r, cb, arg);
			continue;
		}
		replay_log_event(&r->logs[k - 1], &ev);
		cb(&ev, arg);
		replay_log_next(&r->logs[k - 1]);
		replay_kill(r, cb, arg);
	}
	free(have);
	free(t);
}

/* Opens FILE, or standard input for "-". */
static FILE *
replay_open(const char *path)
{
	FILE	*fp;

	if (strcmp(path, "-") == 0)
		return stdin;
	if ((fp = fopen(path, "re")) == NULL)
		fprintf(stderr, "xmppguard: %s: %s\n", path, strerror(errno));
	return fp;
}

static void
replay_close(FILE *fp, const char *path)
{
	if (fp == NULL)
		return;
	if (ferror(fp))
		fprintf(stderr, "xmppguard: %s: read error\n", path);
	if (fp != stdin)
		fclose(fp);
}

/*
 * Sets up one --log from "FILTER=FILE" (split at the first '='): the
 * filter found by name or path as for a [log] section, the file opened.
 * -1 after saying why on stderr.
 */
static int
replay_log_open(struct replay_log *l, char *arg)
{
	struct stat	 sb;
	char		*eq, *cause;

	memset(l, 0, sizeof(*l));
	l->last = -1;
	if ((eq = strchr(arg, '=')) == NULL || eq == arg || eq[1] == '\0') {
		fprintf(stderr, "xmppguard: --log %s: expected FILTER=FILE\n",
		    arg);
		return -1;
	}
	*eq = '\0';
	l->filter_arg = arg;
	l->path = eq + 1;
	if ((l->filter_path = filter_path(l->filter_arg, &cause)) == NULL ||
	    (l->filter = filter_load(l->filter_path, &cause)) == NULL) {
		fprintf(stderr, "xmppguard: %s\n", cause);
		free(cause);
		return -1;
	}
	if ((l->fp = replay_open(l->path)) == NULL)
		return -1;
	/* Year-less time stamps: relative to when the file was written. */
	if (fstat(fileno(l->fp), &sb) == 0 && S_ISREG(sb.st_mode))
		l->now = (int64_t)sb.st_mtim.tv_sec * CLOCK_US_PER_SEC +
		    sb.st_mtim.tv_nsec / 1000;
	else
		l->now = clock_realtime();
	l->buf = xmalloc(REPLAY_LOG_LINE_MAX + 1);
	return 0;
}

static void
replay_log_close(struct replay_log *l)
{
	replay_close(l->fp, l->path);
	filter_free(l->filter);
	free(l->filter_path);
	free(l->buf);
}

/*
 * The summary on stderr: what was read from each source, then what came
 * of it.
 */
static void
replay_summary(const struct replay *r, const struct pipeline_stats *ps)
{
	const struct replay_log	*l;
	struct replay_ban_stats	 bst;
	struct replay_kcap_stats kst;
	uint64_t		 surges = 0, refused = 0, strangers = 0;
	size_t			 i;

	fprintf(stderr, "replay:");
	if (r->ct != NULL)
		fprintf(stderr, " %llu lines, %llu conntrack events, "
		    "%llu other, %llu malformed, %llu too long;",
		    (unsigned long long)r->ct->lines,
		    (unsigned long long)r->ct->parsed,
		    (unsigned long long)r->ct->other,
		    (unsigned long long)r->ct->malformed,
		    (unsigned long long)r->ct->toolong);
	for (i = 0; i < r->nlogs; i++) {
		l = &r->logs[i];
		fprintf(stderr, " log %s=%s: %llu lines, %llu events, "
		    "%llu untimed, %llu too long, %llu binary, "
		    "%llu match errors, %llu forged;", l->filter_arg,
		    l->path, (unsigned long long)l->lines,
		    (unsigned long long)l->events,
		    (unsigned long long)l->untimed,
		    (unsigned long long)l->toolong,
		    (unsigned long long)l->binary,
		    (unsigned long long)l->errors,
		    (unsigned long long)filter_stats(l->filter)->forged);
	}
	fprintf(stderr, " %llu connections, %llu verdicts",
	    (unsigned long long)r->conns, (unsigned long long)r->verdicts);
	if (r->nlogs > 0)
		fprintf(stderr, ", %llu uncorroborated",
		    (unsigned long long)ps->uncorroborated);
	fprintf(stderr, "\n");
	memset(&kst, 0, sizeof kst);
	if (r->kc != NULL)
		replay_kcap_get_stats(r->kc, &kst);
	refused = kst.refused[0] + kst.refused[1] + kst.refused[2] +
	    kst.refused[3];
	memset(&bst, 0, sizeof bst);
	if (r->rb != NULL)
		replay_bans_get_stats(r->rb, &bst);
	if (refused > 0 || kst.raised > 0 || bst.capped > 0)
		fprintf(stderr, "replay: %llu connections refused by the "
		    "kernel caps (%llu concurrency, %llu churn, %llu network "
		    "concurrency, %llu network churn), %llu let in on an "
		    "account level (%llu addresses held one); %llu verdicts "
		    "at a cap not banned, %llu bans for hammering a cap\n",
		    (unsigned long long)refused,
		    (unsigned long long)kst.refused[0],
		    (unsigned long long)kst.refused[1],
		    (unsigned long long)kst.refused[2],
		    (unsigned long long)kst.refused[3],
		    (unsigned long long)kst.raised,
		    (unsigned long long)kst.addresses,
		    (unsigned long long)bst.capped,
		    (unsigned long long)r->hammered);
	refused = 0;
	if (r->rs != NULL)
		replay_surge_get_stats(r->rs, &surges, &refused, &strangers);
	if (surges > 0)
		fprintf(stderr, "replay: %llu %s, %llu connections refused by "
		    "the surge cap (%llu addresses not known met it)\n",
		    (unsigned long long)surges, surges == 1 ? "surge" :
		    "surges", (unsigned long long)refused,
		    (unsigned long long)strangers);
	if (r->rb == NULL)
		return;
	/* What the bans did, the daemon's bans over the input's time. */
	fprintf(stderr, "replay: %llu bans (%llu escalated, %llu extended), "
	    "%llu connections refused, %llu log events refused, "
	    "%llu live connections ended, "
	    "%llu verdicts inside a ban, %llu never banned",
	    (unsigned long long)bst.bans, (unsigned long long)bst.escalated,
	    (unsigned long long)bst.extended,
	    (unsigned long long)bst.refused, (unsigned long long)bst.lines,
	    (unsigned long long)bst.killed,
	    (unsigned long long)bst.repeats,
	    (unsigned long long)bst.unbanned);
	if (bst.forgotten > 0)
		fprintf(stderr, ", %llu forgotten (a table was full)",
		    (unsigned long long)bst.forgotten);
	fprintf(stderr, "\n");
}

int
replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "db",		required_argument,	NULL, 'D' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "conntrack",	required_argument,	NULL, 'C' },
		{ "log",	required_argument,	NULL, 'L' },
		{ NULL,		0,			NULL, 0 }
	};
	struct replay		 r;
	struct replay_ct	 ct;
	struct conf		*conf = NULL;
	struct store		*store = NULL;
	struct pipeline		*p;
	struct pipeline_stats	 ps;
	const char		*conf_path = NULL, *db = NULL;
	char			*cause, **logargs;
	size_t			 i, nstdin = 0;
	int			 ch, rc = 1, kcap_was = 0;

	memset(&r, 0, sizeof(r));
	memset(&ct, 0, sizeof(ct));
	kcap_was = kcap_available();
	logargs = xcalloc((size_t)argc, sizeof(*logargs));
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
			ct.path = optarg;
			break;
		case 'L':
			logargs[r.nlogs++] = optarg;
			break;
		default:
			replay_usage();
		}
	}
	if (optind != argc || (ct.path == NULL && r.nlogs == 0))
		replay_usage();
	if ((conf = conf_load_command(conf_path)) == NULL)
		goto out;
	r.conf = conf;
	/* Verdicts go to stdout; the log (stderr) keeps to warnings. */
	log_init(1, LOG_LEVEL_WARN);

	if (ct.path != NULL) {
		nstdin += strcmp(ct.path, "-") == 0;
		if ((ct.fp = replay_open(ct.path)) == NULL)
			goto out;
		r.ct = &ct;
	}
	if (r.nlogs > 0)
		r.logs = xcalloc(r.nlogs, sizeof(*r.logs));
	for (i = 0; i < r.nlogs; i++) {
		if (replay_log_open(&r.logs[i], logargs[i]) == -1) {
			r.nlogs = i + 1;
			goto out;
		}
		nstdin += strcmp(r.logs[i].path, "-") == 0;
	}
	if (nstdin > 1) {
		fprintf(stderr, "xmppguard: replay: only one file can be "
		    "standard input\n");
		goto out;
	}
	if (db != NULL && (store = store_open(db, 0, conf->batch_max,
	    &cause)) == NULL) {
		fprintf(stderr, "xmppguard: store: %s\n", cause);
		free(cause);
		goto out;
	}
	/* As the daemon warns with conntrack off. */
	if (r.ct == NULL && conf->auth_corroborate > 0)
		log_warnx("replay: no --conntrack: log lines are judged "
		    "without corroboration, so a forged line (a user name "
		    "with a newline in it, say) can ban an address that never "
		    "connected");

	r.rb = replay_bans_new(conf, REPLAY_SEED);
	p = r.p = pipeline_new(conf, store, REPLAY_SEED);
	pipeline_set_verdict_cb(p, replay_verdict_cb, &r);
	/* The caps judge the capture's handshakes; surge mode needs the
	 * logins too. */
	if (r.ct != NULL) {
		/*
		 * As the daemon with the caps in force (the probe passed): a
		 * verdict at a limit they refuse is recorded, not banned
		 * (pipeline.c); an address refused more than cap_persist
		 * times is banned, counted by the daemon's own table, wired
		 * as main.c wires it.
		 */
		kcap_set_available(1);
		r.kcnt = kcap_counter_new(
		    (const struct conf *const *)&r.conf, REPLAY_SEED);
		kcap_set_verdict_cb(r.kcnt, replay_hammered, &r);
		pipeline_set_kcap(p, r.kcnt);
		r.kc = replay_kcap_new(conf, REPLAY_SEED);
		if (r.nlogs > 0)
			r.rs = replay_surge_new(conf, r.json);
		pipeline_set_tap_cb(p, replay_tap, &r);
	}
	/* As the daemon with conntrack on: a log line counts only if its
	 * address was seen connecting. */
	pipeline_set_corroborate(p, r.ct != NULL);
	if (r.ct != NULL)
		ct.flow = ctflow_new(conf->ct_flows_max, REPLAY_SEED);
	replay_run(&r, replay_event, &r);
	ctflow_free(ct.flow);
	pipeline_flush(p);
	pipeline_get_stats(p, &ps);
	pipeline_free(p);
	replay_summary(&r, &ps);
	rc = 0;
out:
	replay_bans_free(r.rb);
	replay_surge_free(r.rs);
	replay_kcap_free(r.kc);
	kcap_counter_free(r.kcnt);
	kcap_set_available(kcap_was ? 1 : -1);
	store_close(store);
	replay_close(ct.fp, ct.path);
	for (i = 0; i < r.nlogs; i++)
		replay_log_close(&r.logs[i]);
	free(r.logs);
	free(logargs);
	conf_free(conf);
	return rc;
}
