/*
 * The report's pictures (report_span.c, report_chart.c), on a real SQLite
 * file filled through store.c: the bin width for spans from minutes to
 * years, the charts spanning the hours that hold data inside a 30-day
 * period, counted per minute from the conns rows (and per hour when there
 * are none), verdicts and bans marked, and the --ip timeline with one bar
 * per connection between its open and close, bounded and saying so; and
 * the same from two nodes' stores.
 */
#include "unit.h"

#include "../../src/report_chart.c"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "event.h"
#include "store.h"
#include "verdict.h"

#define MIN	REPORT_MIN_US
#define HOUR	REPORT_HOUR_US
#define DAY	(24 * HOUR)
#define T0	(1795917600LL * 1000000LL)	/* on the hour */
#define NOW	(T0 + 20 * DAY)
#define IP	"203.0.113.9"

struct fixture {
	char		 dir[64];
	char		 db[96];
	char		 conf_path[96];
	struct conf	*conf;
	struct store	*ro;
	struct report	 r;
};

static void
conn(struct store *s, const char *ip, int64_t opened, int64_t closed,
    uint64_t bytes)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(addr_parse(ip, &ev.addr, NULL), 0);
	ev.kind = EVENT_CONN_END;
	ev.flags = EVENT_F_HANDSHAKE;
	ev.time = closed + 1000;
	ev.port = 5222;
	ev.service = "c2s";
	ev.start = opened;
	ev.duration = closed - opened;
	ev.bytes_in = bytes;
	assert_int_equal(store_conn_add(s, &ev), 0);
}

static void
hour_row(struct store *s, int64_t hour, const char *ip, uint64_t conns)
{
	struct store_rollup	r;

	memset(&r, 0, sizeof(r));
	r.hour = hour;
	assert_int_equal(addr_parse(ip, &r.addr, NULL), 0);
	r.service = "c2s";
	r.conns = conns;
	assert_int_equal(store_rollup_add(s, &r), 0);
}

/* An hour-long attack by IP (40 connections in the hour after T0 + 2h, one
 * every 90 s) in a 30-day period, its verdict and its ban. */
static void
fill(struct store *s, int nconns)
{
	struct store_ban	b;
	struct verdict		v;
	int			i;

	hour_row(s, T0 + 2 * HOUR, IP, (uint64_t)nconns);
	for (i = 0; i < nconns; i++)
		conn(s, IP, T0 + 2 * HOUR + i * 90 * 1000000LL, T0 + 2 * HOUR +
		    i * 90 * 1000000LL + 30 * 1000000LL, (uint64_t)1 << (i % 20));
	memset(&v, 0, sizeof(v));
	assert_int_equal(addr_prefix_parse(IP "/32", &v.prefix, 0), 0);
	v.rule = VERDICT_CHURN;
	v.time = T0 + 2 * HOUR + 40 * MIN;
	v.service = "c2s";
	snprintf(v.reason, sizeof(v.reason), "churn <b>");
	assert_int_equal(store_verdict_add(s, &v), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(addr_prefix_parse("203.0.113.0/24", &b.prefix, 0), 0);
	b.rule = "churn";
	b.reason = "churn";
	b.source = "rule";
	b.since = T0 + 2 * HOUR + 40 * MIN;
	b.expires = b.since + HOUR;
	b.count = 1;
	assert_true(store_ban_add(s, &b) > 0);
}

static struct fixture *
open_fixture(int nconns, int rows)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	struct store	*s;
	char		*cause;
	FILE		*fp;

	strcpy(f->dir, "/tmp/xg-chart.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/r.db", f->dir);
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/xg.conf", f->dir);
	assert_non_null(fp = fopen(f->conf_path, "w"));
	fclose(fp);
	assert_int_equal(conf_load(f->conf_path, &f->conf, &cause), 0);
	assert_non_null(s = store_open(f->db, 0, 1000, &cause));
	if (rows)
		fill(s, nconns);
	else
		hour_row(s, T0 + 2 * HOUR, IP, (uint64_t)nconns);
	store_close(s);
	assert_non_null(f->ro = store_open(f->db, STORE_RDONLY, 1, &cause));
	f->r.db = f->db;
	f->r.now = NOW;
	f->r.since = 30 * DAY;
	f->r.top = 20;
	f->r.conf = f->conf;
	f->r.charts = 1;
	return f;
}

static void
close_fixture(struct fixture *f)
{
	char	cmd[128];

	report_clear(&f->r);
	store_close(f->ro);
	conf_free(f->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static void
load(struct fixture *f)
{
	char	*cause = NULL;

	if (report_load(&f->r, store_db(f->ro), &cause) != 0)
		fail_msg("report_load: %s", cause);
}

static char * __attribute__((noinline))
render(struct fixture *f)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&buf, &len));
	report_html(fp, &f->r);
	fclose(fp);
	return buf;
}

static int
count(const char *s, const char *what)
{
	int	n = 0;

	for (; (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

static void
test_bin_step(void **state)
{
	int64_t	step;

	(void)state;
	assert_int_equal(report_bin_step(T0, T0 + 30 * MIN), MIN);
	assert_int_equal(report_bin_step(T0, T0 + 200 * MIN), MIN);
	/* Not aligned: 201 minutes touched, so bins of 5. */
	assert_int_equal(report_bin_step(T0 - 1, T0 + 200 * MIN), 5 * MIN);
	assert_int_equal(report_bin_step(T0, T0 + 12 * HOUR), 5 * MIN);
	assert_int_equal(report_bin_step(T0, T0 + DAY), 15 * MIN);
	assert_int_equal(report_bin_step(T0, T0 + 50 * HOUR), 15 * MIN);
	assert_int_equal(report_bin_step(T0, T0 + 3 * DAY), HOUR);
	assert_int_equal(report_bin_step(T0, T0 + 30 * DAY), 6 * HOUR);
	assert_int_equal(report_bin_step(T0, T0 + 100 * DAY), DAY);
	/* Past the ladder: whole days, at most REPORT_BINS_MAX of them. */
	assert_int_equal(report_bin_step(T0, T0 + 400 * DAY), 3 * DAY);
	step = report_bin_step(T0, T0 + 3650 * DAY);
	assert_true((T0 + 3650 * DAY + step - 1) / step - T0 / step <=
	    REPORT_BINS_MAX);
}

static void
test_span_marks(void **state)
{
	struct fixture	*f = open_fixture(40, 1);
	uint64_t	 sum = 0;
	char		*out;
	int		 i;

	(void)state;
	load(f);
	/* The hour that holds data, per minute, not 30 days per 6 hours. */
	assert_int_equal(f->r.bins.step, MIN);
	assert_int_equal(f->r.bins.t0, T0 + 2 * HOUR);
	assert_int_equal(f->r.bins.n, 60);
	assert_true(f->r.bins.fine);
	for (i = 0; i < f->r.bins.n; i++)
		sum += f->r.bins.conns[i];
	assert_int_equal(sum, 40);
	assert_int_equal(f->r.bins.conns[0], 1);	/* 0 s */
	assert_int_equal(f->r.bins.conns[1], 1);	/* 90 s */
	assert_int_equal(f->r.bins.conns[2], 0);
	assert_int_equal(f->r.bins.conns[3], 1);	/* 180 s */
	assert_int_equal(f->r.bins.bans[40], 1);
	assert_int_equal(f->r.nmarks, 2);
	assert_int_equal(f->r.marks[0].ban + f->r.marks[1].ban, 1);

	out = render(f);
	assert_non_null(strstr(out, "<h2>New connections per minute</h2>"));
	assert_non_null(strstr(out, "<svg id=\"chart-conns\" class=\"time\" "
	    "data-bins=\"60\""));
	assert_int_equal(count(out, "<circle class=\"verdict\""), 1);
	assert_int_equal(count(out, "<line class=\"ban\""), 1);
	assert_non_null(strstr(out, "churn ban 203.0.113.0/24 at "
	    "2026-11-29 04:40"));
	assert_int_equal(count(out, "<svg"), count(out, "</svg>"));
	assert_null(strstr(out, "<b>"));
	assert_null(strstr(out, "<script"));
	free(out);
	close_fixture(f);
}

/* Rollups without conns rows: hours, not an empty picture. */
static void
test_span_hours(void **state)
{
	struct fixture	*f = open_fixture(40, 0);

	(void)state;
	load(f);
	assert_int_equal(f->r.bins.step, HOUR);
	assert_int_equal(f->r.bins.n, 1);
	assert_int_equal(f->r.bins.conns[0], 40);
	assert_int_equal(f->r.nmarks, 0);
	close_fixture(f);
}

static void
test_ip_bars(void **state)
{
	struct fixture	*f = open_fixture(40, 1);
	char		*out, want[128];
	int		 x, x1;

	(void)state;
	f->r.ip = IP;
	load(f);
	assert_int_equal(f->r.nconns, 40);
	assert_int_equal(f->r.nconns_total, 40);
	/* Newest first, each from open to close. */
	assert_int_equal(f->r.conns[0].opened, T0 + 2 * HOUR + 39 * 90 *
	    1000000LL);
	assert_int_equal(f->r.conns[0].closed, f->r.conns[0].opened + 30 *
	    1000000LL);
	assert_int_equal(f->r.conns[39].opened, T0 + 2 * HOUR);
	assert_int_equal(f->r.nmarks, 2);	/* the /24 ban covers it */

	out = render(f);
	assert_non_null(strstr(out, "<svg id=\"chart-ip\" class=\"time\" "
	    "data-conns=\"40\""));
	assert_int_equal(count(out, "<rect class=\"conn\""), 40);
	/* The oldest at the top, from the axis's start; the newest ends at
	 * its end (nothing later in the picture than its close). */
	x = report_chart_x(T0 + 2 * HOUR, T0 + 2 * HOUR,
	    f->r.conns[0].closed);
	x1 = report_chart_x(T0 + 2 * HOUR + 30 * 1000000LL, T0 + 2 * HOUR,
	    f->r.conns[0].closed);
	snprintf(want, sizeof(want), "<rect class=\"conn\" x=\"%d\" y=\"28\" "
	    "width=\"%d\"", x, x1 - x);
	assert_non_null(strstr(out, want));
	assert_int_equal(x, REPORT_CHART_LEFT);
	x = report_chart_x(f->r.conns[0].opened, T0 + 2 * HOUR,
	    f->r.conns[0].closed);
	snprintf(want, sizeof(want), "<rect class=\"conn\" x=\"%d\" y=\"%d\" "
	    "width=\"%d\"", x, 28 + 39 * REPORT_CHART_ROW, REPORT_CHART_W - x);
	assert_non_null(strstr(out, want));
	/* On the connections chart and on the timeline. */
	assert_int_equal(count(out, "<circle class=\"verdict\""), 2);
	assert_int_equal(count(out, "<rect class=\"ban-span\""), 1);
	assert_null(strstr(out, "connections are drawn"));
	free(out);
	close_fixture(f);
}

/* More connections than drawn: the newest, and the rest said. */
static void
test_ip_bound(void **state)
{
	struct fixture	*f = open_fixture(REPORT_CONNS_MAX + 10, 1);
	char		*out, want[96];

	(void)state;
	f->r.ip = IP;
	load(f);
	assert_int_equal(f->r.nconns, REPORT_CONNS_MAX);
	assert_int_equal(f->r.nconns_total, REPORT_CONNS_MAX + 10);
	out = render(f);
	assert_int_equal(count(out, "<rect class=\"conn\""),
	    REPORT_CONNS_MAX);
	snprintf(want, sizeof(want), "The newest %d of its %d connections "
	    "are drawn.", REPORT_CONNS_MAX, REPORT_CONNS_MAX + 10);
	assert_non_null(strstr(out, want));
	free(out);
	close_fixture(f);
}

/* Two nodes' stores (--db twice): both nodes' connections, each named. */
static void
test_nodes(void **state)
{
	struct fixture	*f = open_fixture(40, 1), *g = open_fixture(3, 1);
	const char	*dbs[2];
	sqlite3		*db;
	char		*cause = NULL, *out;

	(void)state;
	dbs[0] = f->db;
	dbs[1] = g->db;
	f->r.ip = IP;
	assert_non_null(db = report_nodes_open(&f->r, dbs, 2, &cause));
	if (report_load(&f->r, db, &cause) != 0)
		fail_msg("report_load: %s", cause);
	assert_int_equal(f->r.nconns, 43);
	assert_int_equal(f->r.bins.step, MIN);
	assert_int_equal(f->r.bins.conns[0], 2);	/* one each */
	assert_int_equal(f->r.nmarks, 4);
	out = render(f);
	assert_int_equal(count(out, "<rect class=\"conn\""), 43);
	assert_int_equal(count(out, "/r.db</title></rect>"), 43);
	free(out);
	sqlite3_close(db);
	f->r.nnodes = 0;
	close_fixture(g);
	close_fixture(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bin_step),
		cmocka_unit_test(test_span_marks),
		cmocka_unit_test(test_span_hours),
		cmocka_unit_test(test_ip_bars),
		cmocka_unit_test(test_ip_bound),
		cmocka_unit_test(test_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
