/*
 * Replay's merge: the earliest head goes next, conntrack first on equal
 * times, then the logs in the order given; nothing is reordered within a
 * source; a log line without a time takes the one before it; over-long
 * and binary lines are counted.  The sources are files in memory, read
 * by the same code as real ones, and the events are recorded instead of
 * judged.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/replay.c"

#define S	CLOCK_US_PER_SEC
#define T0	(1795922559LL * S)	/* 2026-11-29 03:22:39 UTC */
#define NREC	64

/* A filter over lines "DATE TIME FAIL ADDR" and "FAIL ADDR" (untimed). */
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
static const char filter_text[] =
    "[filter]\n"
    "name = t\n"
    "time = %Y-%m-%d %H:%M:%S%f\n"
    "timezone = utc\n"
    "[pattern fail]\n"
    "kind = auth_fail\n"
    "literal = FAIL\n"
    "regex = ^(?:(?<time>\\S+ \\S+) )?FAIL (?<ip>\\S+)$\n";

/* One handshake, from ASSURED to DESTROY, of 198.51.100.1 at T0 + 1 s. */
static const char ct_text[] =
    "[1795922560.000000]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT "
    "src=198.51.100.1 dst=192.0.2.1 sport=40000 dport=5222 [UNREPLIED] "
    "src=192.0.2.1 dst=198.51.100.1 sport=5222 dport=40000 id=1\n"
    "[1795922560.000100]\t [UPDATE] ipv4     2 tcp      6 60 SYN_RECV "
    "src=198.51.100.1 dst=192.0.2.1 sport=40000 dport=5222 "
    "src=192.0.2.1 dst=198.51.100.1 sport=5222 dport=40000 id=1\n"
    "[1795922560.000200]\t [UPDATE] ipv4     2 tcp      6 432000 "
    "ESTABLISHED src=198.51.100.1 dst=192.0.2.1 sport=40000 dport=5222 "
    "src=192.0.2.1 dst=198.51.100.1 sport=5222 dport=40000 [ASSURED] "
    "id=1\n"
    "[1795922563.000000]\t[DESTROY] ipv4     2 tcp      6 CLOSE "
    "src=198.51.100.1 dst=192.0.2.1 sport=40000 dport=5222 packets=6 "
    "bytes=600 src=192.0.2.1 dst=198.51.100.1 sport=5222 dport=40000 "
    "packets=4 bytes=400 [ASSURED] delta-time=3 id=1\n";

struct rec {
	enum event_kind	 kind;
	enum event_source source;
	int64_t		 time;
	char		 addr[ADDR_STRLEN];
};

struct recorder {
	struct rec	 r[NREC];
	size_t		 n;
};

static void
record(const struct event *ev, void *arg)
{
	struct recorder	*rec = arg;
	struct rec	*r;

	assert_true(rec->n < NREC);
	r = &rec->r[rec->n++];
	r->kind = ev->kind;
	r->source = ev->source;
	r->time = ev->time;
	addr_ntop(&ev->addr, r->addr, sizeof(r->addr));
}

/* A log over text (len bytes: it may hold NUL bytes). */
static void
log_mem(struct replay_log *l, const char *text, size_t len)
{
	char	*cause = NULL;

	memset(l, 0, sizeof(*l));
	l->last = -1;
	l->filter_arg = "t";
	l->path = "mem";
	l->filter = filter_load_buf("t.conf", filter_text,
	    sizeof(filter_text) - 1, &cause);
	if (l->filter == NULL)
		fail_msg("%s", cause);
	assert_non_null(l->fp = fmemopen((void *)(uintptr_t)text, len, "r"));
	l->now = T0 + 3600 * S;
	l->buf = xmalloc(REPLAY_LOG_LINE_MAX + 1);
}

static void
ct_mem(struct replay_ct *c, const struct conf *conf)
{
	memset(c, 0, sizeof(*c));
	c->path = "mem";
	assert_non_null(c->fp = fmemopen((void *)(uintptr_t)ct_text,
	    sizeof(ct_text) - 1, "r"));
	c->flow = ctflow_new(conf->ct_flows_max, 1);
}

static void
test_next(void **state)
{
	int64_t	t[4] = { 5, 3, 3, 1 };
	int	have[4] = { 0, 0, 0, 0 };

	(void)state;
	assert_int_equal(replay_next(t, have, 0), -1);
	assert_int_equal(replay_next(t, have, 4), -1);
	have[0] = 1;
	assert_int_equal(replay_next(t, have, 4), 0);
	have[2] = 1;
	assert_int_equal(replay_next(t, have, 4), 2);
	have[1] = 1;		/* as early as 2: the first wins */
	assert_int_equal(replay_next(t, have, 4), 1);
	have[3] = 1;
	assert_int_equal(replay_next(t, have, 4), 3);
	t[0] = 1;		/* equal times: the lowest index */
	assert_int_equal(replay_next(t, have, 4), 0);
	t[3] = -5;		/* negative times sort too */
	assert_int_equal(replay_next(t, have, 4), 3);
}

/*
 * Conntrack and two logs: the events come out in time order across the
 * sources, the capture first when a line shares its microsecond, the
 * first log before the second on a tie; a line older than the one before
 * it in its log is passed where it stands.
 */
static void
test_merge(void **state)
{
	static const char log1[] =
	    "2026-11-29 03:22:39.500000 FAIL 203.0.113.1\n"
	    "2026-11-29 03:22:40.000000 FAIL 198.51.100.1\n"	/* = NEW */
	    "2026-11-29 03:22:42.000000 FAIL 203.0.113.3\n"
	    "2026-11-29 03:22:41.000000 FAIL 203.0.113.4\n";	/* older */
	static const char log2[] =
	    "2026-11-29 03:22:42.000000 FAIL 203.0.113.5\n"	/* = log1 */
	    "2026-11-29 03:22:44.000000 FAIL 203.0.113.6\n";
	struct conf		*conf;
	struct replay		 r;
	struct replay_ct	 ct;
	struct replay_log	 logs[2];
	struct recorder		 rec;
	char			*cause;
	size_t			 i;
	static const struct {
		enum event_kind	 kind;
		int64_t		 time;
		const char	*addr;
	} want[] = {
		{ EVENT_AUTH_FAIL, T0 + S / 2, "203.0.113.1" },
		{ EVENT_CONN_SYN, T0 + S, "198.51.100.1" },
		{ EVENT_AUTH_FAIL, T0 + S, "198.51.100.1" },
		{ EVENT_CONN_OPEN, T0 + S + 200, "198.51.100.1" },
		{ EVENT_AUTH_FAIL, T0 + 3 * S, "203.0.113.3" },
		{ EVENT_AUTH_FAIL, T0 + 2 * S, "203.0.113.4" },
		{ EVENT_AUTH_FAIL, T0 + 3 * S, "203.0.113.5" },
		{ EVENT_CONN_CLOSE, T0 + 4 * S, "198.51.100.1" },
		{ EVENT_CONN_BYTES, T0 + 4 * S, "198.51.100.1" },
		{ EVENT_CONN_END, T0 + 4 * S, "198.51.100.1" },
		{ EVENT_AUTH_FAIL, T0 + 5 * S, "203.0.113.6" },
	};

	(void)state;
	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	memset(&r, 0, sizeof(r));
	memset(&rec, 0, sizeof(rec));
	r.conf = conf;
	ct_mem(&ct, conf);
	r.ct = &ct;
	log_mem(&logs[0], log1, sizeof(log1) - 1);
	log_mem(&logs[1], log2, sizeof(log2) - 1);
	r.logs = logs;
	r.nlogs = 2;
	replay_run(&r, record, &rec);

	assert_int_equal(rec.n, nitems(want));
	for (i = 0; i < nitems(want); i++) {
		assert_int_equal(rec.r[i].kind, want[i].kind);
		assert_int_equal(rec.r[i].time, want[i].time);
		assert_string_equal(rec.r[i].addr, want[i].addr);
		assert_int_equal(rec.r[i].source, want[i].kind ==
		    EVENT_AUTH_FAIL ? EVENT_SRC_LOG : EVENT_SRC_CONNTRACK);
	}
	assert_int_equal(ct.parsed, 4);
	assert_int_equal(logs[0].events, 4);
	assert_int_equal(logs[1].events, 2);

	ctflow_free(ct.flow);
	fclose(ct.fp);
	for (i = 0; i < 2; i++) {
		fclose(logs[i].fp);
		logs[i].fp = NULL;
		replay_log_close(&logs[i]);
	}
	conf_free(conf);
}

/*
 * One log alone: an untimed line takes the time of the event before it
 * (and the file's time if none came before); an over-long line is counted
 * and skipped whole; a line holding NUL bytes is counted (and goes to the
 * filter, as the daemon's tailer passes it on, which finds nothing in it).
 */
static void
test_log_lines(void **state)
{
	char			 text[REPLAY_LOG_LINE_MAX + 512], *p;
	struct replay		 r;
	struct replay_log	 l;
	struct recorder		 rec;
	size_t			 len;
	static const char	 nul[] = "\x7f" "ELF\0\0\0 FAIL\n";

	(void)state;
	p = text;
	p += sprintf(p, "FAIL 203.0.113.7\n");
	p += sprintf(p, "2026-11-29 03:22:40.000000 FAIL 203.0.113.8\n");
	memset(p, 'x', REPLAY_LOG_LINE_MAX + 1);
	p += REPLAY_LOG_LINE_MAX + 1;
	*p++ = '\n';
	p += sprintf(p, "FAIL 203.0.113.10\n");
	memcpy(p, nul, sizeof(nul) - 1);
	p += sizeof(nul) - 1;
	len = (size_t)(p - text);

	memset(&r, 0, sizeof(r));
	memset(&rec, 0, sizeof(rec));
	log_mem(&l, text, len);
	r.logs = &l;
	r.nlogs = 1;
	replay_run(&r, record, &rec);

	assert_int_equal(l.lines, 5);
	assert_int_equal(l.toolong, 1);
	assert_int_equal(l.binary, 1);
	assert_int_equal(l.untimed, 2);
	assert_int_equal(rec.n, 3);
	assert_string_equal(rec.r[0].addr, "203.0.113.7");
	assert_int_equal(rec.r[0].time, T0 + 3600 * S);	/* the file's */
	assert_string_equal(rec.r[1].addr, "203.0.113.8");
	assert_int_equal(rec.r[1].time, T0 + S);
	assert_string_equal(rec.r[2].addr, "203.0.113.10");
	assert_int_equal(rec.r[2].time, T0 + S);	/* the line before */

	fclose(l.fp);
	l.fp = NULL;
	replay_log_close(&l);
}

/* "FILTER=FILE" must have both halves; a filter found by path. */
static void
test_log_open(void **state)
{
	struct replay_log	 l;
	char			 a1[] = "ejabberd", a2[] = "=x", a3[] = "y=";
	char			 a4[] = "/nonexistent/f.conf=/dev/null";

	(void)state;
	assert_int_equal(replay_log_open(&l, a1), -1);
	replay_log_close(&l);
	assert_int_equal(replay_log_open(&l, a2), -1);
	replay_log_close(&l);
	assert_int_equal(replay_log_open(&l, a3), -1);
	replay_log_close(&l);
	assert_int_equal(replay_log_open(&l, a4), -1);
	assert_string_equal(l.filter_arg, "/nonexistent/f.conf");
	assert_string_equal(l.path, "/dev/null");
	replay_log_close(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_log_lines),
		cmocka_unit_test(test_log_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
