/*
 * The report, on a real SQLite file filled through store.c and read back
 * read-only: attackers ranked first by score (and by each --sort key),
 * near a limit with [override] limits and network bans taken into account,
 * per-service totals, hours, the --ip timeline, and every output format:
 * the table aligned and free of control bytes, JSON, CSV quoting (RFC
 * 4180), HTML escaping of hostile reasons and users, an empty store, and
 * the errors for a missing file, a foreign file and a newer schema; the
 * kernel caps' refusals beside the bans in every format and over two
 * stores.
 */
#include "unit.h"

#include "../../src/report.c"

#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "report.h"
#include "verdict.h"

#define HOUR	REPORT_HOUR_US
#define T0	(1795917600LL * 1000000LL)	/* on the hour */
#define NOW	(T0 + 5 * HOUR + 30 * 60 * 1000000LL)
#define HOSTILE	"<script>alert(1)</script>, \"quoted\"\nnext & 'x'"

struct fixture {
	char		 dir[64];
	char		 db[96];
	char		 conf_path[96];
	struct conf	*conf;
	struct store	*ro;
	struct report	 r;
};

static void
rollup(struct store *s, int64_t hour, const char *ip, const char *service,
    uint64_t conns, uint64_t short_lived, uint64_t peak, uint64_t auth,
    uint64_t verdicts)
{
	struct store_rollup	r;

	memset(&r, 0, sizeof(r));
	r.hour = hour;
	if (strcmp(ip, "?") != 0)
		assert_int_equal(addr_parse(ip, &r.addr, NULL), 0);
	r.service = service;
	r.conns = conns;
	r.short_lived = short_lived;
	r.peak_live = peak;
	r.auth_fail = auth;
	r.verdicts = verdicts;
	r.bytes_in = conns * 1000;
	r.bytes_out = conns * 3000;
	if (strcmp(ip, "?") == 0)
		r.halfopen = 1000;
	assert_int_equal(store_rollup_add(s, &r), 0);
}

static void
ban(struct store *s, const char *pfx, const char *rule, const char *reason,
    int64_t since)
{
	struct store_ban	b;

	memset(&b, 0, sizeof(b));
	assert_int_equal(addr_prefix_parse(pfx, &b.prefix, 0), 0);
	b.rule = rule;
	b.reason = reason;
	b.source = "rule";
	b.since = since;
	b.expires = since + HOUR;
	b.count = 1;
	assert_true(store_ban_add(s, &b) > 0);
}

static void
verdict(struct store *s, const char *ip, enum verdict_rule rule,
    const char *reason, int64_t t)
{
	struct verdict	v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(addr_prefix_parse(ip, &v.prefix, 0), 0);
	v.rule = rule;
	v.time = t;
	v.service = "c2s";
	v.observed = 40;
	v.limit = 5;
	snprintf(v.reason, sizeof(v.reason), "%s", reason);
	assert_int_equal(store_verdict_add(s, &v), 0);
}

static void
auth_event(struct store *s, const char *ip, const char *user, int64_t t)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(addr_parse(ip, &ev.addr, NULL), 0);
	ev.time = t;
	ev.kind = EVENT_AUTH_FAIL;
	ev.source = EVENT_SRC_LOG;
	ev.origin = "prosody";
	ev.user = user;
	assert_int_equal(store_event_add(s, &ev), 0);
}

/*
 * The scenario.  B guesses passwords (40 failures in an hour, limit 5) and
 * is banned; A churns (500 new in an hour, limit 120) and is banned; G is
 * at 90% of max_concurrent but inside a banned /28; C at 80%: near; D is a
 * NAT at 100 live under an override of 150 (67%): not near; E is benign;
 * F was busy before the period.
 */
static void
fill(const char *db)
{
	struct store	*s;
	char		*cause;

	s = store_open(db, 0, 1000, &cause);
	assert_non_null(s);
	rollup(s, T0 + HOUR, "203.0.113.66", "c2s", 500, 490, 3, 0, 1);
	rollup(s, T0 + 2 * HOUR, "203.0.113.66", "c2s", 100, 90, 2, 0, 0);
	rollup(s, T0 + 2 * HOUR, "203.0.113.77", "c2s", 2, 0, 1, 40, 1);
	rollup(s, T0 + 3 * HOUR, "198.51.100.40", "c2s", 5, 0, 45, 0, 0);
	rollup(s, T0 + 3 * HOUR, "198.51.100.20", "c2s", 50, 1, 40, 0, 0);
	rollup(s, T0 + 4 * HOUR, "198.51.100.20", "s2s", 3, 0, 2, 0, 0);
	rollup(s, T0 + 4 * HOUR, "192.0.2.50", "c2s", 30, 2, 100, 0, 0);
	rollup(s, T0 + 5 * HOUR, "2001:db8::30", "c2s", 10, 0, 2, 0, 0);
	rollup(s, T0 + 5 * HOUR, "?", "s2s", 0, 0, 0, 0, 0);
	rollup(s, T0 - 10 * HOUR, "198.51.100.99", "c2s", 9000, 9000, 900, 0,
	    0);
	rollup(s, T0 - 9 * HOUR, "198.51.100.99", "c2s", 100, 0, 3, 0, 0);
	/* Three days earlier (an edge hour of a 4-day period), in the first
	 * day of a 3-day period (an edge hour), on a whole day. */
	rollup(s, T0 - 75 * HOUR, "192.0.2.77", "s2s", 7, 0, 1, 0, 0);
	rollup(s, T0 - 62 * HOUR, "192.0.2.77", "s2s", 11, 0, 1, 0, 0);
	rollup(s, T0 - 27 * HOUR, "192.0.2.77", "s2s", 5, 0, 1, 0, 0);
	ban(s, "203.0.113.66/32", "churn", "churn: 500 new c2s connections "
	    "in 1h (limit 120)", T0 + HOUR + 60000000);
	ban(s, "203.0.113.77/32", "auth", HOSTILE, T0 + 2 * HOUR + 1);
	ban(s, "198.51.100.32/28", "manual", "a network", T0 + 3 * HOUR);
	ban(s, "198.51.100.99/32", "churn", "before the period",
	    T0 - 10 * HOUR);
	verdict(s, "203.0.113.77/32", VERDICT_AUTH, HOSTILE, T0 + 2 * HOUR);
	verdict(s, "203.0.113.66/32", VERDICT_CHURN, "churn", T0 + HOUR);
	auth_event(s, "203.0.113.77", "<b>evil</b>\x1b[31m", T0 + 2 * HOUR);
	auth_event(s, "203.0.113.77", "bob", T0 + 2 * HOUR + 5);
	auth_event(s, "192.0.2.50", "carol", T0 + 2 * HOUR + 6);
	store_close(s);
}

static int
setup_common(void **state, int filled)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		*cause;
	FILE		*fp;

	strcpy(f->dir, "/tmp/xg-report.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/r.db", f->dir);
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/xg.conf", f->dir);
	assert_non_null(fp = fopen(f->conf_path, "w"));
	fprintf(fp, "[override nat]\nnetworks = 192.0.2.50\n"
	    "max_concurrent = 150\n");
	fclose(fp);
	assert_int_equal(conf_load(f->conf_path, &f->conf, &cause), 0);
	if (filled)
		fill(f->db);
	else
		store_close(store_open(f->db, 0, 1000, &cause));
	f->ro = store_open(f->db, STORE_RDONLY, 1, &cause);
	assert_non_null(f->ro);
	f->r.db = f->db;
	f->r.now = NOW;
	f->r.since = 6 * HOUR;
	f->r.top = 20;
	f->r.conf = f->conf;
	f->r.charts = 1;
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_common(state, 1);
}

static int
setup_empty(void **state)
{
	return setup_common(state, 0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128];

	report_clear(&f->r);
	store_close(f->ro);
	conf_free(f->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
load(struct fixture *f)
{
	char	*cause = NULL;

	report_clear(&f->r);
	memset(&f->r.total, 0, sizeof(f->r.total));
	f->r.addresses = f->r.nbans_total = f->r.nverdicts_total = 0;
	f->r.nservices = f->r.ntops = f->r.nnear = f->r.nbans = 0;
	f->r.ntl = f->r.nverdicts = f->r.nevents = 0;
	if (report_load(&f->r, store_db(f->ro), &cause) != 0)
		fail_msg("report_load: %s", cause);
}

/* What a writer printed, as a string (caller frees).  Not inlined: gcc
 * then takes open_memstream's buffer for a dangling local. */
static char * __attribute__((noinline))
render(struct fixture *f, enum report_format fmt, const char *section)
{
	char	*buf = NULL, *cause = NULL;
	size_t	 len = 0;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&buf, &len));
	f->r.section = section;
	switch (fmt) {
	case REPORT_FMT_TABLE:
		report_table(fp, &f->r);
		break;
	case REPORT_FMT_JSON:
		report_json(fp, &f->r);
		break;
	case REPORT_FMT_CSV:
		if (report_csv(fp, &f->r, &cause) != 0)
			fail_msg("report_csv: %s", cause);
		break;
	case REPORT_FMT_HTML:
		report_html(fp, &f->r);
		break;
	}
	fclose(fp);
	return buf;
}

static void
test_ranking(void **state)
{
	struct fixture	*f = *state;

	load(f);
	assert_int_equal(f->r.addresses, 6);
	assert_int_equal(f->r.ntops, 6);
	assert_string_equal(f->r.tops[0].addr, "203.0.113.77");
	assert_string_equal(f->r.tops[1].addr, "203.0.113.66");
	assert_string_equal(f->r.tops[2].addr, "198.51.100.40");
	assert_string_equal(f->r.tops[3].addr, "198.51.100.20");
	assert_string_equal(f->r.tops[4].addr, "192.0.2.50");
	assert_string_equal(f->r.tops[5].addr, "2001:db8::30");
	/* B: 40 failures of 5 (800) + a verdict + a ban. */
	assert_float_equal(f->r.tops[0].score, 1000.0, 0.01);
	assert_string_equal(f->r.tops[0].lim.name, "max_fail");
	assert_int_equal(f->r.tops[0].bans, 1);
	/* A: its busiest hour (500 of 120), summed over hours. */
	assert_string_equal(f->r.tops[1].lim.name, "max_new");
	assert_int_equal(f->r.tops[1].lim.observed, 500);
	assert_int_equal(f->r.tops[1].c.conns, 600);
	assert_int_equal(f->r.tops[1].c.short_lived, 580);
	/* G is covered by the /28 ban. */
	assert_int_equal(f->r.tops[2].bans, 1);
	/* D under its override: 100 of 150. */
	assert_int_equal(f->r.tops[4].lim.limit, 150);
	/* F was before the period; its ban too. */
	assert_int_equal(f->r.nbans_total, 3);
	assert_int_equal(f->r.nverdicts_total, 2);

	/* Bounded by --top; other keys. */
	f->r.top = 2;
	load(f);
	assert_int_equal(f->r.ntops, 2);
	assert_string_equal(f->r.tops[0].addr, "203.0.113.77");
	assert_int_equal(f->r.nbans, 2);
	f->r.top = 20;
	f->r.sort = REPORT_SORT_CONNS;
	load(f);
	assert_string_equal(f->r.tops[0].addr, "203.0.113.66");
	assert_string_equal(f->r.tops[1].addr, "198.51.100.20");
	f->r.sort = REPORT_SORT_PEAK;
	load(f);
	assert_string_equal(f->r.tops[0].addr, "192.0.2.50");
	f->r.sort = REPORT_SORT_AUTH;
	load(f);
	assert_string_equal(f->r.tops[0].addr, "203.0.113.77");
	f->r.sort = REPORT_SORT_SHORT;
	load(f);
	assert_string_equal(f->r.tops[0].addr, "203.0.113.66");
}

/* More (address, service) pairs than the in-memory table holds: SQLite
 * groups them instead, with the same result. */
static void
test_grouped_fallback(void **state)
{
	struct fixture	*f = *state;
	struct report_addr tops[8], near[8];
	struct report_hour hours[8];
	int		 ntops, nnear, i;

	load(f);
	ntops = f->r.ntops;
	nnear = f->r.nnear;
	assert_true(ntops <= 8 && nnear <= 8 && f->r.nhours == 7);
	memcpy(tops, f->r.tops, ntops * sizeof(*tops));
	memcpy(near, f->r.near, nnear * sizeof(*near));
	memcpy(hours, f->r.hours, 7 * sizeof(*hours));
	f->r.groups_max = 2;
	load(f);
	assert_int_equal(f->r.ntops, ntops);
	assert_int_equal(f->r.nnear, nnear);
	for (i = 0; i < ntops; i++) {
		assert_string_equal(f->r.tops[i].addr, tops[i].addr);
		assert_float_equal(f->r.tops[i].score, tops[i].score, 1e-9);
		assert_memory_equal(&f->r.tops[i].c, &tops[i].c,
		    sizeof(tops[i].c));
	}
	for (i = 0; i < nnear; i++)
		assert_string_equal(f->r.near[i].addr, near[i].addr);
	assert_memory_equal(f->r.hours, hours, 7 * sizeof(*hours));
	assert_int_equal(f->r.addresses, 6);
	assert_int_equal(f->r.services[0].addresses +
	    f->r.services[1].addresses, 7);
}

/*
 * A period of days: whole days come from rollups_day, the hours before and
 * after from rollups; every row counts once, and the busiest hour (not the
 * day's sum) is compared with the limit.
 */
static void
test_days(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*db = store_db(f->ro);
	sqlite3_stmt	*st;
	int64_t		 d0, d1;
	uint64_t	 conns;
	int		 i;

	f->r.since = 3 * 24 * HOUR;
	load(f);
	report_split(&f->r, &d0, &d1);
	assert_int_equal(d0, store_day(T0) - 2 * 24 * HOUR);
	assert_int_equal(d1, store_day(T0));
	assert_string_equal(f->r.tops[0].addr, "198.51.100.99");
	assert_int_equal(f->r.tops[0].c.conns, 9100);
	assert_int_equal(f->r.tops[0].lim.observed, 9000);
	assert_float_equal(f->r.tops[0].score, 7600.0, 0.01);
	assert_int_equal(f->r.addresses, 8);
	/* Every row of the period once: the sum of rollups itself. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sum(conns) FROM "
	    "rollups WHERE hour >= ?1 AND hour <= ?2", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, f->r.from);
	sqlite3_bind_int64(st, 2, NOW);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	conns = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(f->r.total.conns, conns);
	assert_int_equal(f->r.nhours, 72 + 1);
	for (conns = 0, i = 0; i < f->r.nhours; i++)
		conns += f->r.hours[i].conns;
	assert_int_equal(f->r.total.conns, conns);
	/* The edge hour before the first whole day is in, the whole day
	 * too; the hour before the period is not. */
	for (i = 0; i < f->r.ntops; i++)
		if (strcmp(f->r.tops[i].addr, "192.0.2.77") == 0)
			assert_int_equal(f->r.tops[i].c.conns, 16);

	/* The same through SQLite's grouping. */
	f->r.groups_max = 2;
	load(f);
	assert_string_equal(f->r.tops[0].addr, "198.51.100.99");
	assert_int_equal(f->r.tops[0].c.conns, 9100);
	assert_int_equal(f->r.tops[0].lim.observed, 9000);
	assert_int_equal(f->r.total.conns, conns);
	assert_int_equal(f->r.addresses, 8);
	f->r.since = 4 * 24 * HOUR;
	load(f);
	assert_int_equal(f->r.addresses, 8);
	for (i = 0; i < f->r.ntops; i++)
		if (strcmp(f->r.tops[i].addr, "192.0.2.77") == 0)
			assert_int_equal(f->r.tops[i].c.conns, 23);
}

static void
test_near_services_hours(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	load(f);
	/* Only C: G is banned, D is under its override, E is far. */
	assert_int_equal(f->r.nnear, 1);
	assert_string_equal(f->r.near[0].addr, "198.51.100.20");
	assert_string_equal(f->r.near[0].lim.name, "max_concurrent");
	assert_int_equal(f->r.near[0].lim.observed, 40);
	assert_int_equal(f->r.near[0].lim.limit, 50);

	assert_int_equal(f->r.nservices, 2);
	for (i = 0; i < f->r.nservices; i++) {
		if (strcmp(f->r.services[i].name, "s2s") == 0) {
			assert_int_equal(f->r.services[i].addresses, 1);
			assert_int_equal(f->r.services[i].c.halfopen, 1000);
		} else {
			assert_string_equal(f->r.services[i].name, "c2s");
			assert_int_equal(f->r.services[i].addresses, 6);
			assert_int_equal(f->r.services[i].c.conns,
			    500 + 100 + 2 + 5 + 50 + 30 + 10);
		}
	}
	assert_int_equal(f->r.nhours, 7);
	/* The period starts at the hour before T0. */
	assert_int_equal(f->r.hours[2].conns, 500);
	assert_int_equal(f->r.hours[3].auth_fail, 40);
	assert_int_equal(f->r.hours[2].bans, 1);
	assert_int_equal(f->r.hours[3].bans, 1);
	assert_int_equal(f->r.hours[4].bans, 1);
	assert_int_equal(f->r.hours[0].conns + f->r.hours[1].conns, 0);

	/* --service s2s: only its rows. */
	f->r.service = "s2s";
	load(f);
	assert_int_equal(f->r.addresses, 1);
	assert_string_equal(f->r.tops[0].addr, "198.51.100.20");
	assert_int_equal(f->r.total.halfopen, 1000);
	f->r.service = NULL;
}

static void
test_ip_timeline(void **state)
{
	struct fixture	*f = *state;
	char		*out;

	f->r.ip = "203.0.113.77";
	load(f);
	assert_int_equal(f->r.ntl, 1);
	assert_int_equal(f->r.tl[0].hour, T0 + 2 * HOUR);
	assert_int_equal(f->r.tl[0].c.auth_fail, 40);
	assert_int_equal(f->r.nverdicts, 1);
	assert_string_equal(f->r.verdicts[0].reason, HOSTILE);
	assert_int_equal(f->r.nbans, 1);
	assert_int_equal(f->r.nevents, 2);
	assert_string_equal(f->r.events[0].user, "bob");
	assert_int_equal(f->r.hours[3].auth_fail, 40);

	out = render(f, REPORT_FMT_JSON, NULL);
	assert_non_null(strstr(out, "\"address\":\"203.0.113.77\""));
	assert_non_null(strstr(out, "\"timeline\":[{\"hour\":"));
	assert_non_null(strstr(out, "\"user\":\"<b>evil</b>\\u001b[31m\""));
	free(out);
	out = render(f, REPORT_FMT_CSV, "events");
#define EV_CSV	"time,kind,service,source,origin,user\r\n" \
	"2026-11-29T04:00:00.000005Z,auth_fail,,log,prosody,bob\r\n"
	assert_true(strncmp(out, EV_CSV, sizeof(EV_CSV) - 1) == 0);
	free(out);

	/* A network ban and verdicts about a /28 holding the address. */
	f->r.ip = "198.51.100.40";
	load(f);
	assert_int_equal(f->r.nbans, 1);
	assert_int_equal(f->r.bans[0].prefixlen, 28);

	f->r.ip = "not-an-address";
	report_clear(&f->r);
	{
		char	*cause = NULL;

		assert_int_equal(report_load(&f->r, store_db(f->ro), &cause),
		    -1);
		assert_non_null(strstr(cause, "not an address"));
		free(cause);
	}
	f->r.ip = NULL;
}

static void
csv_bad_section(struct fixture *f)
{
	char	*cause = NULL, *mem = NULL;
	size_t	 len;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&mem, &len));
	f->r.section = "nosuch";
	assert_int_equal(report_csv(fp, &f->r, &cause), -1);
	assert_non_null(strstr(cause, "--section nosuch"));
	free(cause);
	fclose(fp);
	free(mem);
}

static void
test_formats(void **state)
{
	struct fixture	*f = *state;
	char		*out, *p, *line;
	int		 col = -1, n = 0;

	load(f);
	/* Table: humanised, aligned, no control byte from the reason. */
	out = render(f, REPORT_FMT_TABLE, NULL);
	assert_null(strchr(out, '\x1b'));
	assert_non_null(strstr(out, "Top 20 addresses by score"));
	assert_non_null(strstr(out, "<script>alert(1)</script>, \"quoted\"?"
	    "next"));
	assert_non_null(strstr(out, "1.8 MB"));		/* bytes out of A */
	assert_true(strstr(out, "203.0.113.77") < strstr(out, "203.0.113.66"));
	/* The score column ends at the same place on every row. */
	p = strstr(out, "Top 20");
	for (line = strchr(p, '\n') + 1; *line == ' '; line = strchr(line,
	    '\n') + 1) {
		char *e = strchr(line, '\n');
		char *sc = strstr(line, " score ");

		if (sc != NULL) {
			col = (int)(sc - line) + 5;
			continue;
		}
		assert_true(col > 0);
		assert_true(e - line > col);
		assert_true(line[col] != ' ' && line[col + 1] == ' ');
		n++;
	}
	assert_int_equal(n, 6);
	free(out);

	/* JSON: the attackers first, strings escaped. */
	out = render(f, REPORT_FMT_JSON, NULL);
	assert_true(strncmp(out, "{\"from\":\"", 9) == 0);
	p = strstr(out, "\"top\":[");
	assert_non_null(p);
#define TOP_JSON "\"top\":[{\"address\":\"203.0.113.77\","
	assert_true(strncmp(p, TOP_JSON, sizeof(TOP_JSON) - 1) == 0);
	assert_non_null(strstr(out, "\\\"quoted\\\"\\nnext & 'x'"));
	assert_non_null(strstr(out,
	    "\"near\":[{\"address\":\"198.51.100.20\""));
	assert_string_equal(out + strlen(out) - 2, "}\n");
	free(out);

	/* CSV: RFC 4180 quoting of the hostile reason. */
	out = render(f, REPORT_FMT_CSV, "bans");
	assert_true(strncmp(out, "since,address,prefixlen,rule,reason,"
	    "expires,lifted,count,throttled\r\n", 64) == 0);
	assert_non_null(strstr(out, ",auth,\"<script>alert(1)</script>, "
	    "\"\"quoted\"\"\nnext & 'x'\","));
	free(out);
	out = render(f, REPORT_FMT_CSV, NULL);
	assert_true(strncmp(out, "address,score,conns,", 20) == 0);
	assert_non_null(strstr(out, "\r\n203.0.113.77,1000.0,2,0,0,2000,"));
	free(out);
	out = render(f, REPORT_FMT_CSV, "hours");
	for (n = 0, p = out; (p = strstr(p, "\r\n")) != NULL; p += 2)
		n++;
	assert_int_equal(n, 1 + 7);
	free(out);
	csv_bad_section(f);

	/* HTML: self-contained, charts, everything escaped. */
	out = render(f, REPORT_FMT_HTML, NULL);
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "<b>"));
	assert_null(strstr(out, "src="));
	assert_null(strstr(out, "href="));
	assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;, "
	    "&quot;quoted&quot;?next &amp; &#39;x&#39;"));
	assert_non_null(strstr(out, "<svg id=\"chart-conns\""));
	assert_non_null(strstr(out, "<svg id=\"chart-bans\""));
	assert_non_null(strstr(out, "<svg id=\"chart-top\""));
	assert_non_null(strstr(out, "fill=\"#1f77b4\""));
	assert_non_null(strstr(out, "fill=\"#d62728\""));
	assert_non_null(strstr(out, "fill=\"#ff7f0e\""));
	free(out);
	f->r.ip = "203.0.113.77";
	load(f);
	out = render(f, REPORT_FMT_HTML, NULL);
	assert_null(strstr(out, "<b>"));
	assert_null(strchr(out, '\x1b'));
	assert_non_null(strstr(out, "&lt;b&gt;evil&lt;/b&gt;?[31m"));
	free(out);
	f->r.ip = NULL;
}

static void
test_empty(void **state)
{
	struct fixture	*f = *state;
	enum report_format fmt;
	char		*out;

	load(f);
	assert_int_equal(f->r.ntops, 0);
	assert_int_equal(f->r.nservices, 0);
	out = render(f, REPORT_FMT_TABLE, NULL);
	assert_non_null(strstr(out, "(none)"));
	free(out);
	for (fmt = REPORT_FMT_JSON; fmt <= REPORT_FMT_HTML; fmt++) {
		out = render(f, fmt, NULL);
		assert_true(strlen(out) > 0);
		free(out);
	}
	out = render(f, REPORT_FMT_JSON, NULL);
	assert_non_null(strstr(out,
	    "\"top\":[],\"near\":[],\"bans\":[],\"losses\":[]}"));
	free(out);
}

/* report_main's exit status and message, stderr captured. */
static int
run_main(const char *db, const char *extra, char *err, size_t size)
{
	char	*argv[10], path[] = "/tmp/xg-report-err.XXXXXX";
	int	 argc = 0, fd, saved, rc;
	ssize_t	 n;

	argv[argc++] = xstrdup("report");
	argv[argc++] = xstrdup("--db");
	argv[argc++] = xstrdup(db);
	argv[argc++] = xstrdup("--config");
	argv[argc++] = xstrdup("/dev/null");
	argv[argc++] = xstrdup("--output");
	argv[argc++] = xasprintf("%s.out", db);
	if (extra != NULL)
		argv[argc++] = xstrdup(extra);
	argv[argc] = NULL;
	assert_true((fd = mkstemp(path)) != -1);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	optind = 0;
	rc = report_main(argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	while (argc > 0)
		free(argv[--argc]);
	n = pread(fd, err, size - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

static void
test_errors(void **state)
{
	struct fixture	*f = *state;
	char		 err[512], path[128];
	FILE		*fp;

	assert_int_equal(run_main(f->db, "--format=json", err, sizeof(err)),
	    0);
	snprintf(path, sizeof(path), "%s.out", f->db);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fgetc(fp), '{');
	fclose(fp);
	snprintf(path, sizeof(path), "%s/nosuch.db", f->dir);
	assert_int_equal(run_main(path, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, path));
	assert_int_equal(access(path, F_OK), -1);	/* not created */

	snprintf(path, sizeof(path), "%s/text.db", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "this is not a database, but it is long enough to "
	    "have a header of a hundred bytes, which sqlite reads first.\n");
	fclose(fp);
	assert_int_equal(run_main(path, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "not an SQLite database"));

	store_close(f->ro);
	f->ro = NULL;
	{
		sqlite3	*db;

		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99",
		    NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(run_main(f->db, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "newer than this xmppguard"));
}

/*
 * Two nodes' stores in one report: B also saw A's churn bot, and one of
 * its own; every row says which node saw it, in every format, and
 * neither store is written.
 */
static void
test_nodes(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	struct stat	 st0[2], st1[2];
	sqlite3		*db;
	const char	*dbs[REPORT_NODES_MAX + 1];
	char		 b[128], *cause = NULL, *out, *p;
	int		 i, seen = 0;

	snprintf(b, sizeof(b), "%s/b.db", f->dir);
	assert_non_null(s = store_open(b, 0, 1000, &cause));
	rollup(s, T0 + HOUR, "203.0.113.66", "c2s", 300, 290, 2, 0, 1);
	rollup(s, T0 + 2 * HOUR, "192.0.2.99", "c2s", 400, 390, 2, 0, 1);
	ban(s, "192.0.2.99/32", "churn", "seen by b", T0 + 2 * HOUR + 5);
	auth_event(s, "203.0.113.66", "dave", T0 + 2 * HOUR + 7);
	store_close(s);
	dbs[0] = f->db;
	dbs[1] = b;
	assert_int_equal(stat(dbs[0], &st0[0]), 0);
	assert_int_equal(stat(dbs[1], &st0[1]), 0);

	assert_non_null(db = report_nodes_open(&f->r, dbs, 2, &cause));
	assert_int_equal(f->r.nnodes, 2);
	assert_string_equal(f->r.nodes[0], "r.db");
	assert_string_equal(f->r.nodes[1], "b.db");
	if (report_load(&f->r, db, &cause) != 0)
		fail_msg("report_load: %s", cause);
	for (i = 0; i < f->r.ntops; i++) {
		const struct report_addr *a = &f->r.tops[i];

		if (strcmp(a->addr, "203.0.113.66") == 0) {
			assert_int_equal(a->c.conns, 600 + 300);
			assert_int_equal(a->nodes, 3);
			seen++;
		} else if (strcmp(a->addr, "192.0.2.99") == 0) {
			assert_int_equal(a->nodes, 2);
			seen++;
		} else if (strcmp(a->addr, "203.0.113.77") == 0) {
			assert_int_equal(a->nodes, 1);
			seen++;
		}
	}
	assert_int_equal(seen, 3);
	assert_string_equal(f->r.bans[0].addr, "198.51.100.32");
	assert_string_equal(f->r.bans[0].node, "r.db");
	assert_string_equal(f->r.bans[1].addr, "192.0.2.99");
	assert_string_equal(f->r.bans[1].node, "b.db");

	out = render(f, REPORT_FMT_TABLE, NULL);
	assert_non_null(strstr(out, "  2 nodes: r.db,b.db\n"));
	assert_non_null(strstr(out, "closest-limit"));
	assert_non_null(strstr(out, "  r.db,b.db\n"));
	assert_non_null(p = strstr(out, "seen by b "));
	p += strspn(p + 9, " ") + 9;
	assert_true(strncmp(p, "b.db\n", 5) == 0);
	free(out);
	out = render(f, REPORT_FMT_JSON, NULL);
	assert_non_null(strstr(out, "\"service\":null,\"nodes\":[\"r.db\","
	    "\"b.db\"],"));
	assert_non_null(strstr(out, "\"nodes\":[\"b.db\"]}"));
	assert_non_null(strstr(out, "\"throttled\":false,\"node\":\"b.db\"}"));
	free(out);
	out = render(f, REPORT_FMT_CSV, "top");
	assert_non_null(strstr(out, ",limit_share,node\r\n"));
	assert_non_null(strstr(out, ",\"r.db,b.db\"\r\n"));
	free(out);
	out = render(f, REPORT_FMT_CSV, "bans");
	assert_non_null(strstr(out, ",throttled,node\r\n"));
	assert_non_null(strstr(out, ",seen by b,"));
	assert_non_null(strstr(out, ",0,b.db\r\n"));
	free(out);
	out = render(f, REPORT_FMT_HTML, NULL);
	assert_non_null(strstr(out, "<th>node</th>"));
	assert_non_null(strstr(out, "<td>b.db</td></tr>"));
	assert_non_null(strstr(out, "<td>r.db,b.db</td></tr>"));
	free(out);
	report_clear(&f->r);

	/* --ip: the timeline and the events, node by node. */
	memset(&f->r.total, 0, sizeof(f->r.total));
	f->r.nservices = 0;
	f->r.ip = "203.0.113.66";
	if (report_load(&f->r, db, &cause) != 0)
		fail_msg("report_load: %s", cause);
	assert_int_equal(f->r.ntl, 3);
	for (i = seen = 0; i < f->r.ntl; i++)
		seen += strcmp(f->r.tl[i].node, "b.db") == 0;
	assert_int_equal(seen, 1);
	assert_int_equal(f->r.nevents, 1);
	assert_string_equal(f->r.events[0].node, "b.db");
	assert_string_equal(f->r.events[0].user, "dave");
	out = render(f, REPORT_FMT_CSV, "timeline");
	assert_non_null(strstr(out, ",verdicts,refused,node\r\n"));
	free(out);
	f->r.ip = NULL;
	sqlite3_close(db);

	/* Read, never written. */
	assert_int_equal(stat(dbs[0], &st1[0]), 0);
	assert_int_equal(stat(dbs[1], &st1[1]), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(st0[i].st_size, st1[i].st_size);
		assert_int_equal(st0[i].st_mtim.tv_sec, st1[i].st_mtim.tv_sec);
		assert_int_equal(st0[i].st_mtim.tv_nsec,
		    st1[i].st_mtim.tv_nsec);
	}

	/* The same name twice: the paths name them. */
	dbs[1] = f->db;
	assert_non_null(db = report_nodes_open(&f->r, dbs, 2, &cause));
	assert_string_equal(f->r.nodes[0], f->db);
	sqlite3_close(db);
	/* Too many, or one missing: refused, saying which. */
	for (i = 0; i <= REPORT_NODES_MAX; i++)
		dbs[i] = f->db;
	assert_null(report_nodes_open(&f->r, dbs, REPORT_NODES_MAX + 1,
	    &cause));
	assert_string_equal(cause, "--db: at most 10 stores");
	free(cause);
	dbs[1] = "/nonexistent/x.db";
	assert_null(report_nodes_open(&f->r, dbs, 2, &cause));
	assert_non_null(strstr(cause, "/nonexistent/x.db"));
	free(cause);
}

/* Refusals of ip on c2s in hour: per cap, as rollup.c writes them. */
static void
refusals(struct store *s, int64_t hour, const char *ip, uint64_t conc,
    uint64_t surge)
{
	struct store_rollup	r;

	memset(&r, 0, sizeof(r));
	r.hour = hour;
	assert_int_equal(addr_parse(ip, &r.addr, NULL), 0);
	r.service = "c2s";
	r.refused[STORE_CAP_CONCURRENCY] = conc;
	r.refused[STORE_CAP_SURGE] = surge;
	assert_int_equal(store_rollup_add(s, &r), 0);
}

static void
test_refused(void **state)
{
	struct fixture	*f = *state;
	struct store	*s;
	sqlite3		*db;
	const char	*dbs[2];
	char		*cause = NULL, *out, old[128];
	int		 i, seen = 0;

	assert_non_null(s = store_open(f->db, 0, 1000, &cause));
	/* A refused address that never got through, one that did and was
	 * banned. */
	refusals(s, T0 + 2 * HOUR, "203.0.113.88", 280, 20);
	refusals(s, T0 + 3 * HOUR, "203.0.113.66", 5, 0);
	store_close(s);
	load(f);
	assert_int_equal(f->r.total.refused, 305);
	for (i = 0; i < f->r.nservices; i++)
		if (strcmp(f->r.services[i].name, "c2s") == 0)
			assert_int_equal(f->r.services[i].c.refused, 305);
	assert_int_equal(f->r.hours[3].refused, 300);
	assert_int_equal(f->r.hours[4].refused, 5);
	for (i = 0; i < f->r.ntops; i++) {
		if (strcmp(f->r.tops[i].addr, "203.0.113.88") == 0) {
			assert_int_equal(f->r.tops[i].c.refused, 300);
			assert_int_equal(f->r.tops[i].bans, 0);
			seen++;
		}
		if (strcmp(f->r.tops[i].addr, "203.0.113.66") == 0) {
			assert_int_equal(f->r.tops[i].c.refused, 5);
			assert_int_equal(f->r.tops[i].bans, 1);
			seen++;
		}
	}
	assert_int_equal(seen, 2);

	/* Every format: beside the bans. */
	out = render(f, REPORT_FMT_TABLE, NULL);
	assert_non_null(strstr(out, "3 bans, 305 refused by cap\n"));
	assert_non_null(strstr(out, " bans  refused  closest-limit"));
	free(out);
	out = render(f, REPORT_FMT_JSON, NULL);
	assert_non_null(strstr(out, "\"verdicts\":2,\"refused\":305,"
	    "\"addresses\":"));
	assert_non_null(strstr(out, "\"address\":\"203.0.113.88\",\"score\":"
	    "0.0,\"conns\":0,"));
	assert_non_null(strstr(out, "\"verdicts\":0,\"refused\":300,"
	    "\"short_share\":0.000,\"bans\":0,"));
	assert_non_null(strstr(out, "\"bans\":1,\"refused\":300}"));
	free(out);
	out = render(f, REPORT_FMT_CSV, NULL);
	assert_non_null(strstr(out, "register,verdicts,refused,short_share,"
	    "bans,"));
	assert_non_null(strstr(out, "\r\n203.0.113.88,"));
	assert_non_null(strstr(out, ",0,300,0.000,0,"));
	free(out);
	out = render(f, REPORT_FMT_CSV, "hours");
	assert_non_null(strstr(out, "verdicts,bans,refused\r\n"));
	assert_non_null(strstr(out, ",300\r\n"));
	free(out);
	out = render(f, REPORT_FMT_HTML, NULL);
	assert_non_null(strstr(out, "3 bans, 305 refused by cap"));
	assert_non_null(strstr(out, "<th>bans</th><th>refused</th>"));
	free(out);

	/* --sort refused: the refused first. */
	f->r.sort = REPORT_SORT_REFUSED;
	load(f);
	assert_true(f->r.ntops > 0);
	assert_string_equal(f->r.tops[0].addr, "203.0.113.88");
	f->r.sort = REPORT_SORT_SCORE;

	/* --ip: its hours. */
	f->r.ip = "203.0.113.88";
	load(f);
	assert_int_equal(f->r.ntl, 1);
	assert_int_equal(f->r.tl[0].c.refused, 300);
	out = render(f, REPORT_FMT_TABLE, NULL);
	assert_non_null(strstr(out, "verdicts  refused"));
	free(out);
	f->r.ip = NULL;

	/* Beside a store of another node. */
	snprintf(old, sizeof(old), "%s/b.db", f->dir);
	assert_non_null(s = store_open(old, 0, 1000, &cause));
	refusals(s, T0 + 2 * HOUR, "203.0.113.88", 10, 0);
	store_close(s);
	report_clear(&f->r);
	memset(&f->r.total, 0, sizeof(f->r.total));
	f->r.nservices = f->r.ntops = f->r.nnear = f->r.nbans = 0;
	f->r.addresses = f->r.nbans_total = f->r.nverdicts_total = 0;
	dbs[0] = f->db;
	dbs[1] = old;
	assert_non_null(db = report_nodes_open(&f->r, dbs, 2, &cause));
	if (report_load(&f->r, db, &cause) != 0)
		fail_msg("report_load: %s", cause);
	assert_int_equal(f->r.total.refused, 315);
	assert_int_equal(f->r.hours[3].refused, 310);
	sqlite3_close(db);
	f->r.nnodes = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ranking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grouped_fallback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_days, setup, teardown),
		cmocka_unit_test_setup_teardown(test_near_services_hours,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ip_timeline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_formats, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup_empty,
		    teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};

	log_init(1, LOG_LEVEL_ERR);
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
