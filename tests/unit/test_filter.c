/*
 * The filter engine: the file format and its errors, prefilters, named
 * groups, address spellings, joins with expiry and eviction, fd reuse,
 * auth attempts folded by mechanism (and a guesser on one stream banned
 * like one that reconnects), forged lines refused, once_per, and hostile
 * input (catastrophic backtracking,
 * binary garbage, a 1 MB line).  tests/unit/data/example.conf uses every
 * feature; smaller filters are inline.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/filter.c"
#include "unit_filter.h"
#include <sys/socket.h>
#include "clock.h"
#include "conf.h"
#include "pipeline.h"
#include "verdict.h"

#define EXAMPLE	"tests/unit/data/example.conf"
#define S	INT64_C(1000000)

/* 2026-11-29 04:00:00 UTC, the examples' hour. */
static int64_t
t0(void)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 10;
	tm.tm_mday = 29;
	tm.tm_hour = 4;
	return (int64_t)timegm(&tm) * S;
}

static struct filter *
load_example(void)
{
	struct filter	*f;
	char		*cause = NULL;

	f = filter_load(EXAMPLE, &cause);
	if (f == NULL)
		fail_msg("%s", cause);
	return f;
}

static int
match(struct filter *f, const char *line, int64_t now,
    struct filter_result *r)
{
	return filter_match(f, line, strlen(line), now, r);
}

static const char *
ip(const struct filter_result *r, char *buf)
{
	if (r->addr.family == 0)
		return "none";
	return addr_ntop(&r->addr, buf, ADDR_STRLEN);
}

static const struct filter_pattern_stats *
pstats(struct filter *f, const char *name)
{
	size_t	i;

	for (i = 0; i < filter_npatterns(f); i++)
		if (strcmp(filter_pattern_stats(f, i)->name, name) == 0)
			return filter_pattern_stats(f, i);
	fail_msg("no pattern %s", name);
	return NULL;
}

static void
test_example_loads(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	const char		*line;
	size_t			 i;
	int			 pat;

	(void)state;
	f = load_example();
	assert_string_equal(filter_name(f), "example");
	assert_int_equal(filter_npatterns(f), 6);
	assert_int_equal(filter_nsamples(f), 7);
	assert_null(filter_sample(f, 7, NULL));
	/* Every sample in a pattern is matched by that pattern. */
	for (i = 0; i < filter_nsamples(f); i++) {
		line = filter_sample(f, i, &pat);
		assert_int_not_equal(match(f, line, t0() + 10 * S, &r), -1);
		assert_true(r.pattern >= 0);
		if (i == 0)
			assert_int_equal(pat, -1);
		else
			assert_int_equal(r.pattern, pat);
	}
	for (i = 0; i < filter_npatterns(f); i++)
		assert_true(filter_pattern_stats(f, i)->matched >= 1);
	assert_null(filter_pattern_stats(f, 6));
	filter_free(f);
	filter_free(NULL);
}

static void
test_parse_errors(void **state)
{
	static const char text[] =
	    "[filter]\n"				/* 1 */
	    "name = bad\n"				/* 2 */
	    "time = none\n"				/* 3 */
	    "colour = blue\n"				/* 4 */
	    "[pattern one]\n"				/* 5 */
	    "kind = auth_fial\n"			/* 6 */
	    "regex = ^x(?<ip>\\S+\n"			/* 7 */
	    "[pattern two]\n"				/* 8 */
	    "kind = auth_fail\n"			/* 9 */
	    "[pattern three]\n"				/* 10 */
	    "kind = register\n"				/* 11 */
	    "regex = (?<ip>\\S+) (?<usr>\\S+)\n"	/* 12 */
	    "join = get\n"				/* 13 */
	    "just words\n"				/* 14 */
	    "[pattern one]\n"				/* 15 */
	    "[weird]\n";				/* 16 */
	static const char nul[] = "[filter]\nname=n\ntime=none\n[pattern p]\n"
	    "regex=(?<time>\\d+) (?<ip>\\S+)\nx\0y\n";
	struct filter	*f;
	char		*cause = NULL;

	(void)state;
	f = filter_load_buf("t.conf", text, sizeof(text) - 1, &cause);
	assert_null(f);
	assert_non_null(cause);
	/* Every error at once, each with its line. */
	assert_non_null(strstr(cause, "t.conf:4: [filter]: unknown key "
	    "colour"));
	assert_non_null(strstr(cause, "t.conf:6: pattern one: unknown kind "
	    "auth_fial"));
	assert_non_null(strstr(cause, "t.conf:7: pattern one: bad regex at "
	    "offset 11: missing closing parenthesis"));
	assert_non_null(strstr(cause, "t.conf:8: pattern two: missing regex"));
	assert_non_null(strstr(cause, "t.conf:12: pattern three: unknown "
	    "group (?<usr>)"));
	assert_non_null(strstr(cause, "t.conf:12: pattern three: join needs "
	    "a (?<key>) group"));
	assert_non_null(strstr(cause, "t.conf:14: expected KEY = VALUE"));
	assert_non_null(strstr(cause, "t.conf:15: duplicate pattern one "
	    "(first at line 5)"));
	assert_non_null(strstr(cause, "t.conf:16: unknown section [weird]"));
	/* In line order, though the regexes compile after the last line. */
	assert_true(strstr(cause, "t.conf:7:") < strstr(cause, "t.conf:14:"));
	free(cause);

	/* A file with no sections at all. */
	cause = NULL;
	assert_null(filter_load_buf("e.conf", "", 0, &cause));
	assert_non_null(strstr(cause, "e.conf: missing [filter] section"));
	assert_non_null(strstr(cause, "e.conf: no [pattern] section"));
	free(cause);

	/* Missing kind, time group with time = none, NUL in the file. */
	cause = NULL;
	assert_null(filter_load_buf("n.conf", nul, sizeof(nul) - 1, &cause));
	assert_non_null(strstr(cause, "n.conf:4: pattern p: missing kind"));
	assert_non_null(strstr(cause, "n.conf:5: pattern p: (?<time>) group "
	    "but time = none"));
	assert_non_null(strstr(cause, "n.conf:6: NUL byte"));
	free(cause);

	cause = NULL;
	assert_null(filter_load("/nonexistent/x.conf", &cause));
	assert_non_null(strstr(cause, "/nonexistent/x.conf: No such file"));
	free(cause);
}

static void
test_prefilter_and_literal(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	const struct filter_pattern_stats *ps;

	(void)state;
	f = load_example();
	ps = pstats(f, "auth-fail");
	/* No "xmpp": the filter-wide prefilter rejects it outright. */
	assert_int_equal(match(f, "2026-11-29 04:00:00 jabber <0.1.0> Failed "
	    "c2s PLAIN authentication for a@b from 192.0.2.1: x", t0(), &r), 0);
	assert_int_equal(filter_stats(f)->prefiltered, 1);
	assert_int_equal(ps->tried, 0);
	/* "xmpp" but not the literal: the regex never runs. */
	assert_int_equal(match(f, "2026-11-29 04:00:00 xmpp <0.1.0> Failed "
	    "c2s PLAIN authn for a@b from 192.0.2.1: x", t0(), &r), 0);
	assert_int_equal(ps->tried, 0);
	/* The literal, but no match: tried, not matched. */
	assert_int_equal(match(f, "2026-11-29 04:00:00 xmpp <0.1.0> Failed "
	    "c2s PLAIN authentication for nobody", t0(), &r), 0);
	assert_int_equal(ps->tried, 1);
	assert_int_equal(ps->matched, 0);
	assert_int_equal(r.pattern, -1);
	assert_int_equal(filter_stats(f)->lines, 3);
	filter_free(f);
}

static void
test_groups(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	char			 b[ADDR_STRLEN];

	(void)state;
	f = load_example();
	assert_int_equal(match(f, filter_sample(f, 0, NULL), 0, &r),
	    EVENT_AUTH_FAIL);
	assert_int_equal(r.kind, EVENT_AUTH_FAIL);
	assert_int_equal(r.pattern, 0);
	assert_string_equal(ip(&r, b), "192.0.2.1");	/* unmapped */
	assert_string_equal(r.user, "alice");
	assert_string_equal(r.host, "example.org");
	assert_string_equal(r.key, "0.100.0");
	assert_true(r.flags & FILTER_R_TIME);
	assert_false(r.flags & (FILTER_R_JOINED | FILTER_R_DUP));
	assert_int_equal(r.time, t0() + 250000);

	/* Six digits of fraction, comma-separated; more are ignored. */
	assert_int_equal(match(f, "2026-11-29 04:00:09,1234567 xmpp <0.7.0> "
	    "Failed c2s PLAIN authentication for a@b from 192.0.2.2: x",
	    0, &r), EVENT_AUTH_FAIL);
	assert_int_equal(r.time, t0() + 9 * S + 123456);

	/* An unparsable time falls back to now. */
	assert_int_equal(match(f, "2026-13-99 04:00:09 xmpp <0.8.0> Failed "
	    "c2s PLAIN authentication for a@b from 192.0.2.2: x", 42, &r),
	    EVENT_AUTH_FAIL);
	assert_false(r.flags & FILTER_R_TIME);
	assert_int_equal(r.time, 42);

	/* port group, and an empty user. */
	assert_int_equal(match(f, filter_sample(f, 6, NULL), 0, &r),
	    EVENT_REGISTER);
	assert_int_equal(r.sport, 5222);
	assert_string_equal(r.user, "carol");
	assert_int_equal(match(f, "2026-11-29 04:00:09 xmpp <0.9.0> Failed "
	    "c2s PLAIN authentication for @b from 192.0.2.2: x", 0, &r),
	    EVENT_AUTH_FAIL);
	assert_string_equal(r.user, "");
	filter_free(f);
}

/* 2026-MM-DD hh:mm:ss UTC in us. */
static int64_t
utc(int year, int mon, int day, int h, int m, int sec)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) * S;
}

static void
test_time_formats(void **state)
{
	struct filter		*f;
	struct filter_result	 r;

	(void)state;
	/* ISO 8601 with a fraction before the offset (MongooseIM-like). */
	f = load_str("[filter]\nname = iso\ntime = %Y-%m-%dT%H:%M:%S%f%z\n"
	    "[pattern p]\nkind = auth_fail\n"
	    "regex = ^(?<time>\\S+) fail (?<ip>\\S+)$\n");
	assert_int_equal(match(f, "2026-11-29T05:00:00.5+01:00 fail 192.0.2.1",
	    0, &r), EVENT_AUTH_FAIL);
	assert_true(r.flags & FILTER_R_TIME);
	assert_int_equal(r.time, t0() + 500000);
	assert_int_equal(match(f, "2026-11-29T04:00:01-0030 fail 192.0.2.1",
	    0, &r), EVENT_AUTH_FAIL);
	assert_int_equal(r.time, t0() + 1801 * S);
	filter_free(f);

	/* Syslog: no year, so the current one, or last year's if future. */
	f = load_str("[filter]\nname = syslog\ntime = %b %d %H:%M:%S\n"
	    "timezone = utc\n[pattern p]\nkind = auth_fail\n"
	    "regex = ^(?<time>\\w+ +\\d+ \\S+) fail (?<ip>\\S+)$\n");
	assert_int_equal(match(f, "Nov 29 04:00:00 fail 192.0.2.1", t0(), &r),
	    EVENT_AUTH_FAIL);
	assert_int_equal(r.time, t0());
	assert_int_equal(match(f, "Jan  1 00:00:07 fail 192.0.2.1", t0(), &r),
	    EVENT_AUTH_FAIL);
	assert_int_equal(r.time, utc(2026, 1, 1, 0, 0, 7));
	assert_int_equal(match(f, "Dec 31 23:59:59 fail 192.0.2.1", t0(), &r),
	    EVENT_AUTH_FAIL);
	assert_int_equal(r.time, utc(2025, 12, 31, 23, 59, 59));
	filter_free(f);
}

static void
test_addresses(void **state)
{
	static const struct {
		const char	*ip;
		const char	*want;
		uint16_t	 port;
	} t[] = {
		{ "::ffff:192.0.2.1", "192.0.2.1", 0 },
		{ "192.0.2.1:5222", "192.0.2.1", 5222 },
		{ "[2001:db8::1]:5222", "2001:db8::1", 5222 },
		{ "[2001:db8::2]", "2001:db8::2", 0 },
		{ "2001:DB8::3", "2001:db8::3", 0 },
		{ "hidden_by_ejabberd", "none", 0 },
		{ "?", "none", 0 },
		{ "999.1.1.1", "none", 0 },
	};
	struct filter		*f;
	struct filter_result	 r;
	char			 line[256], b[ADDR_STRLEN];
	size_t			 i;

	(void)state;
	f = load_example();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), "2026-11-29 04:00:00 xmpp "
		    "<0.%zu.0> Failed c2s PLAIN authentication for u@h from "
		    "%s: x", i, t[i].ip);
		assert_int_equal(match(f, line, 0, &r), EVENT_AUTH_FAIL);
		assert_string_equal(ip(&r, b), t[i].want);
		assert_int_equal(r.sport, t[i].port);
	}
	filter_free(f);
}

static void
test_join(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	char			 b[ADDR_STRLEN], line[128];
	int			 i;

	(void)state;
	f = load_example();
	assert_int_equal(match(f, "2026-11-29 04:00:00 xmpp [7] connect from "
	    "[2001:db8::1]:40000", 0, &r), EVENT_CONN_OPEN);
	assert_string_equal(ip(&r, b), "2001:db8::1");
	assert_int_equal(r.sport, 40000);

	/* get: the later line has only the fd. */
	assert_int_equal(match(f, "2026-11-29 04:00:30 xmpp [7] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "2001:db8::1");
	assert_true(r.flags & FILTER_R_JOINED);
	assert_int_equal(filter_stats(f)->join_hits, 1);

	/* An unknown fd: the event, without an address. */
	assert_int_equal(match(f, "2026-11-29 04:00:30 xmpp [8] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "none");
	assert_int_equal(filter_stats(f)->join_misses, 1);

	/* Expiry: join_ttl is 60s from the connect line's own time. */
	assert_int_equal(match(f, "2026-11-29 04:00:59 xmpp [7] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "2001:db8::1");
	assert_int_equal(match(f, "2026-11-29 04:01:00 xmpp [7] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "none");

	/* kind = none: recorded, nothing reported. */
	assert_int_equal(match(f, "2026-11-29 04:02:00 xmpp session s1 from "
	    "198.51.100.7", t0() + 120 * S, &r), 0);
	assert_int_equal(r.kind, EVENT_NONE);
	assert_int_equal(r.pattern, 4);
	assert_int_equal(pstats(f, "session")->matched, 1);

	/* Capacity 4: a fifth key evicts the oldest, s1. */
	for (i = 1; i <= 4; i++) {
		snprintf(line, sizeof(line), "2026-11-29 04:02:0%d xmpp [%d] "
		    "connect from 192.0.2.%d", i, 10 + i, i);
		assert_int_equal(match(f, line, 0, &r), EVENT_CONN_OPEN);
	}
	assert_int_equal(filter_stats(f)->join_evictions, 1);
	assert_int_equal(match(f, "2026-11-29 04:02:10 xmpp [11] disconnect",
	    0, &r), EVENT_CONN_CLOSE);
	assert_string_equal(ip(&r, b), "192.0.2.1");
	assert_int_equal(match(f, "2026-11-29 04:02:10 xmpp [14] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "192.0.2.4");
	/* The disconnect freed a slot: no eviction now. */
	assert_int_equal(match(f, "2026-11-29 04:02:11 xmpp [15] connect from "
	    "192.0.2.5", 0, &r), EVENT_CONN_OPEN);
	assert_int_equal(filter_stats(f)->join_evictions, 1);
	filter_free(f);
}

static void
test_fd_reuse(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	char			 b[ADDR_STRLEN];

	(void)state;
	f = load_example();
	assert_int_equal(match(f, "2026-11-29 04:00:00 xmpp [7] connect from "
	    "192.0.2.1", 0, &r), EVENT_CONN_OPEN);
	assert_int_equal(match(f, "2026-11-29 04:00:01 xmpp [7] disconnect",
	    0, &r), EVENT_CONN_CLOSE);
	assert_string_equal(ip(&r, b), "192.0.2.1");
	/* Cleared: the fd alone no longer names the old client. */
	assert_int_equal(match(f, "2026-11-29 04:00:01 xmpp [7] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "none");
	/* Reused at once by another client. */
	assert_int_equal(match(f, "2026-11-29 04:00:01 xmpp [7] connect from "
	    "192.0.2.2", 0, &r), EVENT_CONN_OPEN);
	assert_int_equal(match(f, "2026-11-29 04:00:02 xmpp [7] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "192.0.2.2");
	/* A set without a usable address forgets the key too. */
	assert_int_equal(match(f, "2026-11-29 04:00:03 xmpp [7] connect from "
	    "?", 0, &r), EVENT_CONN_OPEN);
	assert_int_equal(match(f, "2026-11-29 04:00:04 xmpp [7] rate limit "
	    "exceeded", 0, &r), EVENT_LIMIT_HIT);
	assert_string_equal(ip(&r, b), "none");
	filter_free(f);
}

/* A failure line of the example filter: pid <0.N.0>, time 04:00:00 + us. */
static int
fail_line(struct filter *f, int pid, const char *mech, int64_t us,
    struct filter_result *r)
{
	char	line[256];

	snprintf(line, sizeof(line), "2026-11-29 04:%02d:%02d.%06d xmpp "
	    "<0.%d.0> Failed c2s %s authentication for eve@example.org from "
	    "192.0.2.66: Invalid password", (int)(us / (60 * S)),
	    (int)(us / S % 60), (int)(us % S), pid, mech);
	return match(f, line, 0, r);
}

/*
 * Every attempt counts, also on one stream; only the lines of one attempt
 * (one per mechanism a client falls back through) fold into one event.
 */
static void
test_fold_attempts(void **state)
{
	static const char *mech[] = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
	    "PLAIN" };
	struct filter		*f;
	struct filter_result	 r;
	char			 line[256], m[16];
	int			 i, events = 0;

	(void)state;
	f = load_example();
	/* One wrong password, three mechanisms, one connection (slixmpp). */
	for (i = 0; i < 3; i++) {
		if (fail_line(f, 555, mech[i], i * 20000, &r) ==
		    EVENT_AUTH_FAIL)
			events++;
		else {
			assert_true(r.flags & FILTER_R_DUP);
			assert_int_equal(r.kind, EVENT_AUTH_FAIL);
		}
	}
	assert_int_equal(events, 1);
	assert_int_equal(pstats(f, "auth-fail")->matched, 3);
	assert_int_equal(pstats(f, "auth-fail")->dups, 2);

	/* 1,000 PLAIN failures on one connection in 9 s: 1,000 attempts. */
	events = 0;
	for (i = 0; i < 1000; i++)
		if (fail_line(f, 556, "PLAIN", 60 * S + i * 9000, &r) ==
		    EVENT_AUTH_FAIL)
			events++;
	assert_int_equal(events, 1000);

	/* 999 lines cycling through the three mechanisms: 333 attempts,
	 * as many as a client that reconnects for each. */
	events = 0;
	for (i = 0; i < 999; i++)
		if (fail_line(f, 557, mech[i % 3], 120 * S + i * 9000, &r) ==
		    EVENT_AUTH_FAIL)
			events++;
	assert_int_equal(events, 333);

	/* An attempt ends with dedup_window: a new mechanism after it
	 * begins the next attempt. */
	assert_int_equal(fail_line(f, 558, "PLAIN", 180 * S, &r),
	    EVENT_AUTH_FAIL);
	assert_int_equal(fail_line(f, 558, "SCRAM-SHA-1", 189 * S, &r), 0);
	assert_int_equal(fail_line(f, 558, "SCRAM-SHA-256", 190 * S, &r),
	    EVENT_AUTH_FAIL);

	/* At most FILTER_FOLD_MAX lines per attempt, however many
	 * mechanisms a client makes up. */
	events = 0;
	for (i = 0; i < 3 * FILTER_FOLD_MAX; i++) {
		snprintf(m, sizeof(m), "M%d", i);
		if (fail_line(f, 559, m, 240 * S + i, &r) ==
		    EVENT_AUTH_FAIL)
			events++;
	}
	assert_int_equal(events, 3);

	/* The table is bounded (8): many connections evict, never grow. */
	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "2026-11-29 04:06:00 xmpp "
		    "<0.%d.1> Failed c2s PLAIN authentication for x@y from "
		    "192.0.2.9: x", i);
		assert_int_equal(match(f, line, 0, &r), EVENT_AUTH_FAIL);
	}
	assert_true(filter_stats(f)->dedup_evictions >= 92);
	filter_free(f);
}

/* A server that does not name the mechanism: fold_max lines per attempt. */
static void
test_fold_without_mech(void **state)
{
	static const char text[] =
	    "[filter]\nname = p\ntime = none\n"
	    "[pattern fail]\nkind = auth_fail\n"
	    "regex = ^(?<key>\\S+) fail (?<ip>\\S+)$\n"
	    "fold = key\nfold_max = 2\n";
	struct filter		*f;
	struct filter_result	 r;
	int			 i, events = 0;

	(void)state;
	f = load_str(text);
	for (i = 0; i < 1000; i++)
		if (match(f, "s1 fail 192.0.2.1", i * 9000, &r) ==
		    EVENT_AUTH_FAIL)
			events++;
	assert_int_equal(events, 500);
	/* Another session folds apart. */
	assert_int_equal(match(f, "s2 fail 192.0.2.1", 9 * S, &r),
	    EVENT_AUTH_FAIL);
	filter_free(f);
}

/* once_per: repeats of one event within the window are one event. */
static void
test_once_per(void **state)
{
	static const char text[] =
	    "[filter]\nname = p\ntime = none\n"
	    "[pattern limit]\nkind = limit_hit\n"
	    "regex = ^(?<key>\\S+) over limit (?<ip>\\S+)$\n"
	    "once_per = key\n";
	struct filter		*f;
	struct filter_result	 r;

	(void)state;
	f = load_str(text);
	assert_int_equal(match(f, "c1 over limit 192.0.2.1", 0, &r),
	    EVENT_LIMIT_HIT);
	assert_int_equal(match(f, "c1 over limit 192.0.2.1", 9 * S, &r), 0);
	assert_true(r.flags & FILTER_R_DUP);
	assert_int_equal(match(f, "c2 over limit 192.0.2.1", 9 * S, &r),
	    EVENT_LIMIT_HIT);
	/* The window runs from the first report, not the last repeat. */
	assert_int_equal(match(f, "c1 over limit 192.0.2.1", 10 * S, &r),
	    EVENT_LIMIT_HIT);
	assert_int_equal(pstats(f, "limit")->dups, 1);
	filter_free(f);
}

/* The filter keys fold, fold_max and refuse, and their errors. */
static void
test_fold_errors(void **state)
{
	static const char text[] =
	    "[filter]\nname = e\ntime = none\n"			/* 1-3 */
	    "[pattern a]\nkind = auth_fail\n"			/* 4-5 */
	    "regex = ^(?<key>\\S+) (?<ip>\\S+)$\n"		/* 6 */
	    "fold = key\n"					/* 7 */
	    "[pattern b]\nkind = auth_fail\n"			/* 8-9 */
	    "regex = ^(?<ip>\\S+)$\n"				/* 10 */
	    "fold = key+mech\n"					/* 11 */
	    "fold_max = 9\n"					/* 12 */
	    "once_per = mech\n"					/* 13 */
	    "refuse = (\n"					/* 14 */
	    "[pattern c]\nkind = auth_fail\n"			/* 15-16 */
	    "regex = ^(?<key>\\S+) (?<ip>\\S+)$\n"		/* 17 */
	    "fold_max = 2\n"					/* 18 */
	    "once_per = key\n"					/* 19 */
	    "fold = mech\n"					/* 20 */
	    "join = check\n";					/* 21 */
	struct filter	*f;
	char		*cause = NULL;

	(void)state;
	f = filter_load_buf("t.conf", text, sizeof(text) - 1, &cause);
	assert_null(f);
	assert_non_null(strstr(cause, "t.conf:4: pattern a: fold without "
	    "mech needs fold_max"));
	assert_non_null(strstr(cause, "t.conf:12: pattern b: fold_max: a "
	    "number from 1 to 8"));
	assert_non_null(strstr(cause, "t.conf:13: pattern b: once_per: "
	    "unknown field mech (use ip, user, host or key)"));
	assert_non_null(strstr(cause, "t.conf:14: pattern b: bad refuse "
	    "regex at offset 1"));
	assert_non_null(strstr(cause, "t.conf:10: pattern b: fold key "
	    "needs a (?<key>) group"));
	assert_non_null(strstr(cause, "t.conf:10: pattern b: fold mech "
	    "needs a (?<mech>) group"));
	assert_non_null(strstr(cause, "t.conf:15: pattern c: fold and "
	    "once_per together"));
	assert_non_null(strstr(cause, "t.conf:20: pattern c: fold: mech "
	    "needs the fields of an attempt too"));
	free(cause);
}

/*
 * Forged lines, through the shipped ejabberd filter: a user name with
 * newlines writes lines of its own (tests/filters/ejabberd has them as
 * written by ejabberd).
 */
static void
test_forged(void **state)
{
	static const char *const pre = "2026-11-29 04:58:00.100000+00:00 "
	    "[warning] <0.600.0>@ejabberd_c2s:process_auth_result/3:280 "
	    "(tcp|<0.600.0>) Failed c2s PLAIN authentication ";
	struct filter		*f;
	struct filter_result	 r;
	char			*cause = NULL, line[512], b[ADDR_STRLEN];

	(void)state;
	if ((f = filter_load("filters/ejabberd.conf", &cause)) == NULL)
		fail_msg("%s", cause);
	assert_int_equal(match(f, "2026-11-29 04:58:00.000000+00:00 [info] "
	    "<0.335.0>@ejabberd_listener:accept/7:273 (<0.600.0>) Accepted "
	    "connection 203.0.113.60:40000 -> 192.0.2.1:5322", 0, &r),
	    EVENT_CONN_OPEN);

	/* No "for USER", a second address after the first. */
	snprintf(line, sizeof(line), "%sfrom 198.51.100.99: x@example.org "
	    "from 203.0.113.60: Invalid username or password", pre);
	assert_int_equal(match(f, line, 0, &r), 0);
	assert_true(r.flags & FILTER_R_FORGED);
	/* The pid of a connection from another address. */
	snprintf(line, sizeof(line), "%sfor admin@example.org from "
	    "198.51.100.98: Invalid username or password", pre);
	assert_int_equal(match(f, line, 0, &r), 0);
	assert_true(r.flags & FILTER_R_FORGED);
	assert_int_equal(filter_stats(f)->forged, 2);
	assert_int_equal(pstats(f, "auth-fail")->forged, 2);
	/* Neither was an attempt: the real one after them counts. */
	snprintf(line, sizeof(line), "%sfor admin@example.org from "
	    "::ffff:203.0.113.60: Invalid username or password", pre);
	assert_int_equal(match(f, line, 0, &r), EVENT_AUTH_FAIL);
	assert_string_equal(ip(&r, b), "203.0.113.60");
	/* Its time: the line's own offset. */
	assert_int_equal(r.time, t0() + 58 * 60 * S + 100000);
	/* Real lines without "for USER" keep counting. */
	snprintf(line, sizeof(line), "%sfrom 203.0.113.60: Response "
	    "decoding failed", pre);
	assert_int_equal(match(f, line, 0, &r), EVENT_AUTH_FAIL);
	/* A pid the filter never saw open: not refused (the connection
	 * may predate the daemon); corroboration is the pipeline's. */
	assert_int_equal(match(f, "2026-11-29 04:58:01.000000+00:00 "
	    "[warning] <0.999.0>@ejabberd_c2s:process_auth_result/3:280 "
	    "(tcp|<0.999.0>) Failed c2s PLAIN authentication for a@b from "
	    "198.51.100.97: Invalid username or password", 0, &r),
	    EVENT_AUTH_FAIL);
	assert_int_equal(filter_stats(f)->forged, 2);
	filter_stats_reset(f);
	assert_int_equal(pstats(f, "auth-fail")->forged, 0);
	filter_free(f);
}

struct guess_run {
	struct pipeline	*p;
	int		 verdicts;
	struct addr	 banned;
};

static void
guess_verdict(const struct verdict *v, void *arg)
{
	struct guess_run	*g = arg;

	if (g->verdicts++ == 0)
		g->banned = v->prefix.addr;
}

/* Runs one line of the shipped ejabberd filter into the pipeline. */
static void
guess_line(struct filter *f, struct guess_run *g, const char *line)
{
	struct filter_result	 r;
	struct event		 ev;

	if (match(f, line, 0, &r) <= 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.time = r.time;
	ev.addr = r.addr;
	ev.kind = r.kind;
	ev.source = EVENT_SRC_LOG;
	ev.origin = "ejabberd";
	ev.user = r.user[0] != '\0' ? r.user : NULL;
	pipeline_event(&ev, g->p);
}

/*
 * Filter to verdict: a guesser on one long-lived stream is banned after
 * max_fail attempts (5/10m by default), as is one that reconnects and
 * falls back through three mechanisms for each guess.
 */
static void
test_guesser_banned(void **state)
{
	static const char *mech[] = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
	    "PLAIN" };
	struct conf		*conf;
	struct filter		*f;
	struct guess_run	 g;
	char			*cause = NULL, line[512], b[ADDR_STRLEN];
	int			 i, m, pid, stream = -1, reconn = -1;

	(void)state;
	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	for (pid = 0; pid < 2; pid++) {
		if ((f = filter_load("filters/ejabberd.conf", &cause)) == NULL)
			fail_msg("%s", cause);
		memset(&g, 0, sizeof(g));
		g.p = pipeline_new(conf, NULL, 42);
		pipeline_set_verdict_cb(g.p, guess_verdict, &g);
		for (i = 0; i < 50 && g.verdicts == 0; i++) {
			/* One accept for the stream, one per guess for the
			 * reconnecting guesser. */
			if (pid == 1 || i == 0) {
				snprintf(line, sizeof(line), "2026-11-29 "
				    "04:10:%02d.%06d+00:00 [info] <0.335.0>@"
				    "ejabberd_listener:accept/7:273 "
				    "(<0.%d.0>) Accepted connection "
				    "203.0.113.%d:40000 -> 192.0.2.1:5322",
				    i / 10, i % 10 * 1000, 700 + (pid ? i : 0),
				    70 + pid);
				guess_line(f, &g, line);
			}
			for (m = pid == 0 ? 2 : 0; m < 3; m++) {
				snprintf(line, sizeof(line), "2026-11-29 "
				    "04:10:%02d.%06d+00:00 [warning] <0.%d.0>"
				    "@ejabberd_c2s:process_auth_result/3:280 "
				    "(tcp|<0.%d.0>) Failed c2s %s "
				    "authentication for admin@example.org "
				    "from 203.0.113.%d: Invalid username or "
				    "password", i / 10, i % 10 * 1000 + 100 +
				    m, 700 + (pid ? i : 0), 700 + (pid ? i : 0),
				    mech[m], 70 + pid);
				guess_line(f, &g, line);
			}
		}
		assert_int_equal(g.verdicts, 1);
		snprintf(line, sizeof(line), "203.0.113.%d", 70 + pid);
		assert_string_equal(addr_ntop(&g.banned, b, sizeof(b)), line);
		if (pid == 0)
			stream = i;
		else
			reconn = i;
		pipeline_free(g.p);
		filter_free(f);
	}
	/* The same number of attempts, and no more than max_fail + 1. */
	assert_int_equal(stream, reconn);
	assert_true(stream <= (int)conf->auth_max_fail.count + 1);
	conf_free(conf);
}

static void
test_catastrophic_regex(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	struct timespec		 a, b;
	char			*line;
	size_t			 n = 30000;
	double			 secs;

	(void)state;
	f = load_str("[filter]\nname = slow\ntime = none\n"
	    "[pattern bad]\nkind = auth_fail\nregex = (a+)+$\n"
	    "[pattern good]\nkind = auth_ok\nregex = b$\n");
	line = xmalloc(n + 1);
	memset(line, 'a', n - 1);
	line[n - 1] = 'b';
	line[n] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &a);
	/* The bad pattern gives up; the next one still gets the line. */
	assert_int_equal(filter_match(f, line, n, 0, &r), EVENT_AUTH_OK);
	line[n - 1] = 'a';
	line[n - 2] = 'b';
	assert_int_equal(filter_match(f, line, n, 0, &r), -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(secs < 2.0);
	assert_int_equal(pstats(f, "bad")->errors, 2);
	assert_int_equal(filter_stats(f)->errors, 2);
	assert_int_equal(filter_stats(f)->matched, 1);
	free(line);
	filter_free(f);
}

static void
test_garbage(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	char			 line[512];
	uint32_t		 x = 12345;
	size_t			 i, j, len;
	char			 b[ADDR_STRLEN];
	static const char	 bin[] = "2026-11-29 04:00:00 xmpp <0.1.0> "
	    "Failed c2s PLAIN authentication for \xff\xfe\0\xc3@h from "
	    "192.0.2.3: x";

	(void)state;
	f = load_example();
	for (i = 0; i < 20000; i++) {
		len = i % sizeof(line);
		for (j = 0; j < len; j++) {
			x = x * 1103515245 + 12345;
			line[j] = (char)(x >> 16);
		}
		/* Half of them pass the prefilter and the literals. */
		if (i % 2 && len > 40)
			memcpy(line + 8, "xmpp authentication for disconnect",
			    34);
		assert_true(filter_match(f, line, len, 0, &r) >= 0);
	}
	/* Invalid UTF-8 and a NUL inside a match: bytes, not text. */
	assert_int_equal(filter_match(f, bin, sizeof(bin) - 1, 0, &r),
	    EVENT_AUTH_FAIL);
	assert_string_equal(ip(&r, b), "192.0.2.3");
	assert_memory_equal(r.user, "\xff\xfe", 3);
	assert_int_equal(filter_match(f, NULL, 0, 0, &r), 0);
	filter_free(f);
}

static void
test_huge_line(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	static const char	 head[] =
	    "2026-11-29 04:00:00 xmpp registered ";
	static const char	 tail[] = " from 192.0.2.4 port 1";
	size_t			 n = 1024 * 1024;
	size_t			 hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
	char			*line, b[ADDR_STRLEN];

	(void)state;
	f = load_example();
	line = xmalloc(n);
	memset(line, 'x', n);
	memcpy(line, head, hl);
	assert_int_equal(filter_match(f, line, n, 0, &r), 0);

	/* A 1 MB user name is cut to the buffer, not overflowed. */
	memcpy(line + n - tl, tail, tl);
	assert_int_equal(filter_match(f, line, n, 0, &r), EVENT_REGISTER);
	assert_string_equal(ip(&r, b), "192.0.2.4");
	assert_true(r.flags & FILTER_R_TRUNC);
	assert_int_equal(strlen(r.user), FILTER_USER_MAX - 1);
	assert_int_equal(r.sport, 1);
	free(line);
	filter_free(f);
}

static void
test_error_cap(void **state)
{
	struct filter	*f;
	char		*buf, *cause = NULL, *p;
	size_t		 i, len, lines = 0;

	(void)state;
	/* A hostile or mistaken file (a log given as a filter) yields a
	 * bounded message, not one line per line of input. */
	len = 10000 * 6;
	buf = xmalloc(len);
	for (i = 0; i < len; i += 6)
		memcpy(buf + i, "junk\n\n", 6);
	f = filter_load_buf("j.conf", buf, len, &cause);
	assert_null(f);
	for (p = cause; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, FILTER_ERRORS_MAX);
	assert_non_null(strstr(cause, "j.conf:1: expected KEY = VALUE"));
	p = strrchr(cause, '\n') + 1;
	assert_string_equal(p, "j.conf: too many errors, giving up");
	free(cause);
	free(buf);
}

static void
test_result_reset(void **state)
{
	struct filter		*f;
	struct filter_result	 r;

	(void)state;
	f = load_example();
	assert_int_equal(match(f, filter_sample(f, 0, NULL), 0, &r),
	    EVENT_AUTH_FAIL);
	assert_int_equal(match(f, "xmpp nothing", 5, &r), 0);
	/* Nothing of the previous match leaks into the next result. */
	assert_int_equal(r.kind, EVENT_NONE);
	assert_int_equal(r.pattern, -1);
	assert_int_equal(r.addr.family, 0);
	assert_int_equal(r.time, 5);
	assert_int_equal(r.flags, 0);
	assert_string_equal(r.user, "");
	assert_string_equal(r.host, "");
	assert_string_equal(r.key, "");
	filter_free(f);
}

struct scan_ev {
	uint64_t	line;
	int		kind;
	struct addr	addr;
	int64_t		time;
	char		user[FILTER_USER_MAX];
};

struct scan_log {
	struct scan_ev	ev[2048];
	size_t		n;
};

static void
scan_cb(uint64_t line, const char *text, size_t len,
    const struct filter_result *r, void *arg)
{
	struct scan_log	*l = arg;

	(void)text;
	(void)len;
	assert_true(l->n < 2048);
	l->ev[l->n].line = line;
	l->ev[l->n].kind = r->kind;
	l->ev[l->n].addr = r->addr;
	l->ev[l->n].time = r->time;
	snprintf(l->ev[l->n].user, sizeof(l->ev[l->n].user), "%s", r->user);
	l->n++;
}

/* filter_scan() over a buffer gives what filter_match() gives per line. */
static void
test_scan_equals_match(void **state)
{
	static struct scan_log	 a, b;
	static const char *const noise[] = {
		"", "xmpp", "nothing here", "2026-11-29 04:00:09 xmpp hello",
		"\x01\xff\xfe binary xmpp"
	};
	struct filter		*f1, *f2;
	struct filter_result	 r;
	char			*buf, *p, *nl;
	size_t			 len = 0, cap = 1 << 20, ns, i;
	uint64_t		 lines, line = 0;
	unsigned int		 seed = 7;

	(void)state;
	f1 = load_example();
	f2 = load_example();
	ns = filter_nsamples(f1);
	buf = xmalloc(cap);
	for (i = 0; i < 3000; i++) {
		const char *l = rand_r(&seed) % 3 == 0 ?
		    filter_sample(f1, (size_t)rand_r(&seed) % ns, NULL) :
		    noise[rand_r(&seed) % 5];
		len += (size_t)snprintf(buf + len, cap - len, "%s\n", l);
	}
	len--;		/* the last line has no newline */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	lines = filter_scan(f1, buf, len, t0(), scan_cb, &a);
	assert_int_equal(lines, 3000);
	for (p = buf; p < buf + len; p = nl + 1, line++) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		if (filter_match(f2, p, (size_t)(nl - p), t0(), &r) > 0)
			scan_cb(line, p, (size_t)(nl - p), &r, &b);
	}
	assert_true(a.n > 100);
	assert_int_equal(a.n, b.n);
	for (i = 0; i < a.n; i++) {
		assert_int_equal(a.ev[i].line, b.ev[i].line);
		assert_int_equal(a.ev[i].kind, b.ev[i].kind);
		assert_memory_equal(&a.ev[i].addr, &b.ev[i].addr,
		    sizeof(a.ev[i].addr));
		assert_string_equal(a.ev[i].user, b.ev[i].user);
	}
	assert_int_equal(filter_stats(f1)->lines, filter_stats(f2)->lines);
	assert_int_equal(filter_stats(f1)->prefiltered,
	    filter_stats(f2)->prefiltered);
	assert_int_equal(filter_stats(f1)->matched, filter_stats(f2)->matched);
	free(buf);
	filter_free(f1);
	filter_free(f2);
}

/* --kind: other kinds fall silent, joins keep feeding the kind's events. */
static void
test_restrict(void **state)
{
	struct filter		*f;
	struct filter_result	 r;
	char			 ip[ADDR_STRLEN];

	(void)state;
	f = load_example();
	assert_int_equal(filter_restrict(f, EVENT_S2S_FAIL), -1);
	assert_int_equal(filter_restrict(f, EVENT_LIMIT_HIT), 0);
	assert_int_equal(match(f, "2026-11-29 04:00:02 xmpp [7] connect from "
	    "[2001:db8::1]:40000", t0(), &r), 0);
	assert_int_equal(r.pattern, 1);		/* ran, quietly */
	assert_int_equal(match(f, "2026-11-29 04:00:04 xmpp [7] rate limit "
	    "exceeded", t0(), &r), EVENT_LIMIT_HIT);
	assert_string_equal(addr_ntop(&r.addr, ip, sizeof(ip)), "2001:db8::1");
	/* Another kind's line: its own pattern takes it, silently. */
	assert_int_equal(match(f, filter_sample(f, 0, NULL), t0(), &r), 0);
	assert_int_equal(r.pattern, 0);
	assert_int_equal(r.kind, EVENT_NONE);
	filter_free(f);
}

/*
 * A restricted scan runs the join feeders only when a line needs them,
 * looking back: the address of the nearest connect line of the same fd,
 * none if a disconnect came between (fd reuse) or it is past join_ttl.
 */
static void
test_restrict_lookback(void **state)
{
	static const char buf[] =
	    "2026-11-29 04:00:00 xmpp [7] connect from [2001:db8::1]:40000\n"
	    "2026-11-29 04:00:01 xmpp nothing\n"
	    "2026-11-29 04:00:02 xmpp [7] rate limit exceeded\n"
	    "2026-11-29 04:00:03 xmpp [8] connect from 192.0.2.8\n"
	    "2026-11-29 04:00:04 xmpp [8] disconnect\n"
	    "2026-11-29 04:00:05 xmpp [8] rate limit exceeded\n"
	    "2026-11-29 04:00:06 xmpp [9] connect from 192.0.2.9\n"
	    "2026-11-29 04:02:00 xmpp [9] rate limit exceeded\n";
	struct scan_log	*l;
	struct filter	*f;
	char		 ip[ADDR_STRLEN], *copy;
	size_t		 i;

	(void)state;
	l = xcalloc(1, sizeof(*l));
	f = load_example();		/* join_ttl 60s */
	assert_int_equal(filter_restrict(f, EVENT_LIMIT_HIT), 0);
	assert_int_equal(filter_scan(f, buf, sizeof(buf) - 1, t0(), scan_cb,
	    l), 8);
	/* The same from a copy (filter_scan_at()). */
	filter_free(f);
	f = load_example();
	assert_int_equal(filter_restrict(f, EVENT_LIMIT_HIT), 0);
	copy = xstrdup(buf);
	assert_int_equal(filter_scan_at(f, copy, sizeof(buf) - 1, buf, t0(),
	    scan_cb, l), 8);
	free(copy);
	assert_int_equal(l->n, 6);
	for (i = 0; i < 3; i++)
		assert_memory_equal(&l->ev[i], &l->ev[3 + i],
		    sizeof(l->ev[0]));
	assert_int_equal(l->ev[0].line, 2);
	assert_string_equal(addr_ntop(&l->ev[0].addr, ip, sizeof(ip)),
	    "2001:db8::1");
	assert_int_equal(l->ev[1].line, 5);
	assert_int_equal(l->ev[1].addr.family, 0);	/* fd 8 was closed */
	assert_int_equal(l->ev[2].line, 7);
	assert_int_equal(l->ev[2].addr.family, 0);	/* past join_ttl */
	/* The feeders never ran line by line. */
	assert_int_equal(filter_pattern_stats(f, 1)->tried, 0);
	filter_free(f);
	free(l);
}

/*
 * A reader that starts mid-file (test-filter's threads) answers its
 * joins as a reader from the start would, whether its look-backs walk
 * (a big budget) or, past the budget, read the join lines into a new
 * table (budget 0), and whether it reads the chunk in place or a copy of
 * it (filter_scan_at(): the look-backs still read the file).
 */
static void
test_chunk_lookback(void **state)
{
	static const char buf[] =
	    "2026-11-29 04:00:00 xmpp [7] connect from [2001:db8::1]:40000\n"
	    "2026-11-29 04:00:01 xmpp [8] connect from 192.0.2.8\n"
	    "2026-11-29 04:00:02 xmpp [8] disconnect\n"
	    "2026-11-29 04:00:03 xmpp [9] connect from 192.0.2.9\n"
	    /* the chunk */
	    "2026-11-29 04:00:04 xmpp [7] rate limit exceeded\n"
	    "2026-11-29 04:00:05 xmpp [8] rate limit exceeded\n"
	    "2026-11-29 04:00:06 xmpp [9] disconnect\n"
	    "2026-11-29 04:00:07 xmpp [9] rate limit exceeded\n"
	    "2026-11-29 04:00:08 xmpp [6] rate limit exceeded\n"
	    "2026-11-29 04:01:30 xmpp [7] rate limit exceeded\n";
	static const size_t budgets[] = { 1 << 20, 0 };
	const char	*chunk = strstr(buf, "2026-11-29 04:00:04");
	struct scan_log	*whole, *part;
	struct filter	*f;
	char		*copy;
	size_t		 i, k;

	(void)state;
	whole = xcalloc(1, sizeof(*whole));
	f = load_example();		/* join_ttl 60s */
	(void)filter_scan(f, buf, sizeof(buf) - 1, t0(), scan_cb, whole);
	filter_free(f);
	assert_int_equal(whole->n, 10);
	for (k = 0; k < 4; k++) {
		part = xcalloc(1, sizeof(*part));
		f = load_example();
		filter_set_lookback(f, buf, t0() + 60 * CLOCK_US_PER_SEC,
		    budgets[k % 2]);
		copy = xstrdup(chunk);
		(void)filter_scan_at(f, k < 2 ? chunk : copy, strlen(chunk),
		    chunk, t0(), scan_cb, part);
		free(copy);
		assert_int_equal(part->n, 6);
		for (i = 0; i < part->n; i++)
			assert_true(addr_eq(&part->ev[i].addr,
			    &whole->ev[4 + i].addr));
		/* fd 7 within join_ttl, fd 9 on its close; not fd 8, closed
		 * before the chunk, nor fd 6, never seen. */
		assert_int_equal(part->ev[0].addr.family, AF_INET6);
		assert_int_equal(part->ev[2].addr.family, AF_INET);
		for (i = 1; i < part->n; i++)
			if (i != 2)
				assert_int_equal(part->ev[i].addr.family, 0);
		assert_true(filter_stats(f)->lookback_bytes > 0);
		filter_free(f);
		free(part);
	}
	free(whole);
}

/*
 * test-filter --kind reads a file in pieces (filter_set_file()): a join
 * whose connection line lies in an earlier piece finds it, as the whole
 * filter does, whether the walk reaches it or runs out of budget and the
 * join lines are read into the table, and whether it reads the memory or
 * the file.  Cut at every line, and in pieces of one line each, the
 * kind's events are the whole filter's.
 */
static void
test_restrict_pieces(void **state)
{
	static const char buf[] =
	    "2026-11-29 04:00:00 xmpp [7] connect from [2001:db8::1]:40000\n"
	    "2026-11-29 04:00:01 xmpp [8] connect from 192.0.2.8\n"
	    "2026-11-29 04:00:02 xmpp [8] disconnect\n"
	    "2026-11-29 04:00:03 xmpp [9] connect from 192.0.2.9\n"
	    "2026-11-29 04:00:04 xmpp [7] rate limit exceeded\n"
	    "2026-11-29 04:00:05 xmpp [8] rate limit exceeded\n"
	    "2026-11-29 04:00:06 xmpp [9] disconnect\n"
	    "2026-11-29 04:00:07 xmpp [9] rate limit exceeded\n"
	    "2026-11-29 04:00:08 xmpp [8] connect from 192.0.2.88\n"
	    "2026-11-29 04:00:09 xmpp [8] rate limit exceeded\n"
	    "2026-11-29 04:01:30 xmpp [7] rate limit exceeded\n"
	    "2026-11-29 04:01:31 xmpp [8] disconnect\n";
	static const enum event_kind kinds[] = {
		EVENT_LIMIT_HIT, EVENT_CONN_CLOSE
	};
	const char	*end = buf + sizeof(buf) - 1, *cut, *p, *q;
	struct scan_log	*whole, *part;
	struct filter	*f;
	FILE		*fp;
	char		*copy;
	size_t		 i, k, n;
	int		 fd;

	(void)state;
	whole = xcalloc(1, sizeof(*whole));
	part = xcalloc(1, sizeof(*part));
	f = load_example();		/* join_ttl 60s */
	(void)filter_scan(f, buf, sizeof(buf) - 1, t0(), scan_cb, whole);
	filter_free(f);
	assert_non_null(fp = tmpfile());
	assert_int_equal(fwrite(buf, 1, sizeof(buf) - 1, fp), sizeof(buf) - 1);
	assert_int_equal(fflush(fp), 0);
	for (k = 0; k < 2 * sizeof(kinds) / sizeof(kinds[0]); k++) {
		fd = k % 2 ? fileno(fp) : -1;
		/* cut == end: every line a piece of its own. */
		for (cut = buf; cut <= end; cut = q + 1) {
			part->n = 0;
			f = load_example();
			assert_int_equal(filter_restrict(f, kinds[k / 2]), 0);
			filter_set_file(f, buf, fd);
			for (p = buf; p < end; p = q + 1) {
				q = cut == end ? memchr(p, '\n',
				    (size_t)(end - p)) : p < cut ? cut - 1 :
				    end - 1;
				copy = xstrndup(p, (size_t)(q + 1 - p));
				(void)filter_scan_at(f, copy,
				    (size_t)(q + 1 - p), p, t0(), scan_cb,
				    part);
				free(copy);
			}
			for (i = n = 0; i < whole->n; i++) {
				if (whole->ev[i].kind != (int)kinds[k / 2])
					continue;
				assert_true(n < part->n);
				assert_int_equal(part->ev[n].time,
				    whole->ev[i].time);
				assert_true(addr_eq(&part->ev[n].addr,
				    &whole->ev[i].addr));
				n++;
			}
			assert_int_equal(n, part->n);
			assert_true(n >= 3);
			filter_free(f);
			if (cut == end)
				break;
			q = memchr(cut, '\n', (size_t)(end - cut));
		}
	}
	fclose(fp);
	free(part);
	free(whole);
}

/*
 * Two-line records: a carry = time line gives its time to the line right
 * after it, and to no other, in filter_match() and filter_scan() alike.
 */
static void
test_carry(void **state)
{
	static const char conf[] =
	    "[filter]\nname = two\ntime = %Y-%m-%d %H:%M:%S\n"
	    "timezone = utc\n"
	    "[pattern head]\nkind = none\nliteral = REPORT\n"
	    "regex = ^=REPORT (?<time>\\S+ \\S+) =$\ncarry = time\n"
	    "[pattern fail]\nkind = auth_fail\nliteral = Failed\n"
	    "regex = ^I: Failed for (?<user>\\S+) from (?<ip>\\S+)$\n";
	static const char buf[] =
	    "=REPORT 2013-07-14 17:53:40 =\n"
	    "I: Failed for alice from 192.0.2.1\n"
	    "=REPORT 2013-07-14 17:53:41 =\n"
	    "D: something else\n"
	    "I: Failed for bob from 192.0.2.2\n";
	static const char *const bad[] = {
		"[pattern h]\nkind = auth_fail\nregex = ^(?<time>\\S+)$\n"
		    "carry = time\n",
		"[pattern h]\nkind = none\nregex = ^x$\ncarry = time\n",
		"[pattern h]\nkind = none\nregex = ^(?<time>\\S+)$\n"
		    "carry = user\n",
	};
	struct filter_result	 r;
	struct scan_log		*l;
	struct filter		*f;
	char			 text[512], *cause = NULL;
	int64_t			 head;
	size_t			 i;

	(void)state;
	f = load_str(conf);
	assert_int_equal(match(f, "=REPORT 2013-07-14 17:53:40 =", t0(), &r),
	    0);
	assert_int_equal(match(f, "I: Failed for alice from 192.0.2.1", t0(),
	    &r), EVENT_AUTH_FAIL);
	assert_true(r.flags & FILTER_R_TIME);
	assert_true(r.time != t0());
	head = r.time;
	assert_int_equal(match(f, "=REPORT 2013-07-14 17:53:41 =", t0(), &r),
	    0);
	(void)match(f, "D: something else", t0(), &r);
	assert_int_equal(match(f, "I: Failed for bob from 192.0.2.2", t0(),
	    &r), EVENT_AUTH_FAIL);
	assert_false(r.flags & FILTER_R_TIME);
	assert_int_equal(r.time, t0());
	filter_free(f);

	l = xcalloc(1, sizeof(*l));
	f = load_str(conf);
	assert_int_equal(filter_scan(f, buf, sizeof(buf) - 1, t0(), scan_cb,
	    l), 5);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->ev[0].time, head);
	assert_int_equal(l->ev[1].time, t0());
	filter_free(f);
	free(l);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[filter]\nname = b\n"
		    "time = %%Y-%%m-%%d\n%s", bad[i]);
		assert_null(filter_load_buf("b.conf", text, strlen(text),
		    &cause));
		assert_non_null(strstr(cause, "carry"));
		free(cause);
		cause = NULL;
	}
}

/* Without a prefilter the scan uses the patterns' literals (a fuzzer
 * found the old code taking the address of a NULL array's element). */
static void
test_scan_no_prefilter(void **state)
{
	static const char buf[] = "a x\nfail 192.0.2.1\nb\nfail 2001:db8::1";
	struct scan_log	*l = xcalloc(1, sizeof(*l));
	struct filter	*f;

	(void)state;
	f = load_str("[filter]\nname = n\ntime = none\n[pattern p]\n"
	    "kind = auth_fail\nliteral = fail\nregex = ^fail (?<ip>\\S+)$\n");
	assert_int_equal(filter_scan(f, buf, sizeof(buf) - 1, 0, scan_cb, l),
	    4);
	assert_int_equal(l->n, 2);
	assert_int_equal(filter_stats(f)->prefiltered, 2);
	filter_free(f);
	free(l);
}

static void
test_filter_path(void **state)
{
	char	*p, *cause = NULL;

	(void)state;
	p = filter_path("tests/unit/data/example.conf", &cause);
	assert_string_equal(p, "tests/unit/data/example.conf");
	free(p);
	assert_null(filter_path("no such filter", &cause));
	assert_non_null(strstr(cause, "not a filter name"));
	free(cause);
	assert_null(filter_path(".hidden", &cause));
	free(cause);
	assert_null(filter_path("nosuchserver", &cause));
	assert_non_null(strstr(cause, "no nosuchserver.conf in"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_result_reset),
		cmocka_unit_test(test_prefilter_and_literal),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_time_formats),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_fd_reuse),
		cmocka_unit_test(test_fold_attempts),
		cmocka_unit_test(test_fold_without_mech),
		cmocka_unit_test(test_once_per),
		cmocka_unit_test(test_fold_errors),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_guesser_banned),
		cmocka_unit_test(test_catastrophic_regex),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_huge_line),
		cmocka_unit_test(test_scan_equals_match),
		cmocka_unit_test(test_restrict),
		cmocka_unit_test(test_restrict_lookback),
		cmocka_unit_test(test_restrict_pieces),
		cmocka_unit_test(test_chunk_lookback),
		cmocka_unit_test(test_carry),
		cmocka_unit_test(test_scan_no_prefilter),
		cmocka_unit_test(test_filter_path),
	};

	return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
