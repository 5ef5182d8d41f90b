/*
 * The pipeline: one event in, the facts recorded (connection rows only for
 * completed handshakes, log events in events), the tracker consulted, each
 * verdict logged, stored and handed to the hook once.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/pipeline.c"
#include "clock.h"
#include "unit_db.h"

#define T0	(1795917600LL * CLOCK_US_PER_SEC)

struct fixture {
	char		 dir[64];
	char		 path[96];
	struct conf	*conf;
	struct store	*store;
	struct pipeline	*p;
	int		 verdicts;
	struct verdict	 last;
};

static void
hook(const struct verdict *v, void *arg)
{
	struct fixture	*f = arg;

	f->verdicts++;
	f->last = *v;
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		*cause;

	strcpy(f->dir, "/tmp/xg-pipeline.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/p.db", f->dir);
	assert_int_equal(conf_load(NULL, &f->conf, &cause), 0);
	f->store = store_open(f->path, 0, 1000, &cause);
	assert_non_null(f->store);
	f->p = pipeline_new(f->conf, f->store, 42);
	pipeline_set_verdict_cb(f->p, hook, f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128];

	pipeline_free(f->p);
	store_close(f->store);
	conf_free(f->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int64_t
query(struct fixture *f, const char *sql)
{
	return unit_db_int(f->store, f->path, sql);
}

static struct event
ev_make(enum event_kind kind, const char *ip, int64_t t, uint32_t flags)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(addr_parse(ip, &ev.addr, NULL), 0);
	ev.kind = kind;
	ev.time = t;
	ev.port = 5222;
	ev.service = "c2s";
	ev.source = EVENT_SRC_CONNTRACK;
	ev.origin = "conntrack";
	ev.flags = flags;
	return ev;
}

/* One whole connection: open, close, end with its counters. */
static void
connection(struct fixture *f, const char *ip, int64_t t, uint64_t flow)
{
	struct event	ev;

	ev = ev_make(EVENT_CONN_OPEN, ip, t, EVENT_F_HANDSHAKE);
	ev.flow = flow;
	pipeline_event(&ev, f->p);
	ev = ev_make(EVENT_CONN_CLOSE, ip, t + 1000, EVENT_F_HANDSHAKE);
	ev.flow = flow;
	ev.start = t;
	ev.duration = 1000;
	pipeline_event(&ev, f->p);
	ev = ev_make(EVENT_CONN_END, ip, t + 2000, EVENT_F_HANDSHAKE);
	ev.flow = flow;
	ev.start = t;
	ev.duration = 1000;
	ev.bytes_in = 300 + flow;
	ev.bytes_out = 900;
	ev.pkts_in = 5;
	ev.pkts_out = 6;
	pipeline_event(&ev, f->p);
}

static void
test_rows_and_verdict(void **state)
{
	struct fixture		*f = *state;
	struct pipeline_stats	 ps;
	struct event		 ev;
	int			 i;

	/* 121 connections in an hour from one address: the 121st breaks
	 * c2s's max_new of 120/1h, once. */
	for (i = 0; i < 121; i++)
		connection(f, "198.51.100.9", T0 + i * 10 * CLOCK_US_PER_SEC,
		    (uint64_t)i + 1);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.rule, VERDICT_CHURN);
	assert_string_equal(f->last.reason,
	    "churn: 121 new c2s connections in 1h (limit 120)");
	assert_int_equal(f->last.prefix.len, 32);

	/* A half-open flow ends without a row. */
	ev = ev_make(EVENT_CONN_SYN, "203.0.113.5", T0, EVENT_F_WAS_SYN);
	pipeline_event(&ev, f->p);
	ev = ev_make(EVENT_CONN_END, "203.0.113.5", T0 + 1, EVENT_F_WAS_SYN);
	pipeline_event(&ev, f->p);

	pipeline_flush(f->p);
	pipeline_get_stats(f->p, &ps);
	assert_int_equal(ps.conns, 121);
	assert_int_equal(ps.verdicts, 1);
	assert_int_equal(query(f, "SELECT count(*) FROM conns"), 121);
	assert_int_equal(query(f, "SELECT count(*) FROM conns WHERE "
	    "addr = '203.0.113.5'"), 0);
	assert_int_equal(query(f, "SELECT bytes_in FROM conns WHERE "
	    "flow = 7"), 307);
	assert_int_equal(query(f, "SELECT closed - opened FROM conns WHERE "
	    "flow = 7"), 1000);
	assert_int_equal(query(f, "SELECT count(*) FROM verdicts WHERE "
	    "rule = 'churn' AND observed = 121 AND lim = 120 AND "
	    "window = 3600000000"), 1);
	assert_int_equal(query(f, "SELECT conns FROM rollups WHERE "
	    "addr = '198.51.100.9'"), 121);
	assert_int_equal(query(f, "SELECT verdicts FROM rollups WHERE "
	    "addr = '198.51.100.9'"), 1);
	assert_int_equal(query(f, "SELECT halfopen FROM rollups WHERE "
	    "addr = '?'"), 1);
}

static void
test_log_events_stored(void **state)
{
	struct fixture	*f = *state;
	struct event	 ev;

	ev = ev_make(EVENT_AUTH_FAIL, "2001:db8::7", T0, 0);
	ev.source = EVENT_SRC_LOG;
	ev.origin = "ejabberd";
	ev.user = "alice@example.org";
	ev.service = NULL;
	pipeline_event(&ev, f->p);
	assert_int_equal(query(f, "SELECT count(*) FROM events WHERE "
	    "kind = 'auth_fail' AND user = 'alice@example.org' AND "
	    "addr = '2001:db8::7'"), 1);
	/* Connection events other than END are not rows of their own. */
	assert_int_equal(query(f, "SELECT count(*) FROM events"), 1);
}

static void
test_no_store(void **state)
{
	struct fixture	*f = *state;
	struct pipeline	*p = pipeline_new(f->conf, NULL, 1);
	int		 i;

	(void)state;
	pipeline_set_verdict_cb(p, hook, f);
	for (i = 0; i < 51; i++) {
		struct event ev = ev_make(EVENT_CONN_OPEN, "192.0.2.44",
		    T0 + i, EVENT_F_HANDSHAKE);

		pipeline_event(&ev, p);
	}
	pipeline_flush(p);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.rule, VERDICT_CONCURRENCY);
	pipeline_free(p);
	assert_int_equal(query(f, "SELECT count(*) FROM verdicts"), 0);
}

/* A failed login line from a log, naming ip. */
static void
auth_fail(struct fixture *f, const char *ip, int64_t t)
{
	struct event	ev;

	ev = ev_make(EVENT_AUTH_FAIL, ip, t, 0);
	ev.source = EVENT_SRC_LOG;
	ev.origin = "ejabberd";
	ev.service = NULL;
	ev.port = 0;
	pipeline_event(&ev, f->p);
}

/*
 * Corroboration: lines naming an address that never connected are counted
 * and dropped (not judged, not stored, no outage); a live connection or a
 * handshake within [auth] corroborate makes them count.
 */
static void
test_corroboration(void **state)
{
	struct fixture		*f = *state;
	struct pipeline_stats	 ps;
	struct event		 ev;
	int			 i;

	pipeline_set_corroborate(f->p, 1);
	for (i = 0; i < 20; i++)
		auth_fail(f, "198.51.100.99", T0 + i * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 0);
	pipeline_get_stats(f->p, &ps);
	assert_int_equal(ps.uncorroborated, 20);
	assert_int_equal(query(f, "SELECT count(*) FROM events"), 0);

	/* A guesser on one live stream: judged. */
	ev = ev_make(EVENT_CONN_OPEN, "203.0.113.60", T0, EVENT_F_HANDSHAKE);
	pipeline_event(&ev, f->p);
	for (i = 0; i < 6 && f->verdicts == 0; i++)
		auth_fail(f, "203.0.113.60", T0 + 3600 * CLOCK_US_PER_SEC +
		    i * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.rule, VERDICT_AUTH);
	assert_false(f->last.proxied);

	/* Closed two minutes before the line: still corroborated; closed
	 * ten minutes before (window 5m): not. */
	connection(f, "203.0.113.61", T0, 7);
	auth_fail(f, "203.0.113.61", T0 + 120 * CLOCK_US_PER_SEC);
	connection(f, "203.0.113.62", T0, 8);
	auth_fail(f, "203.0.113.62", T0 + 600 * CLOCK_US_PER_SEC);
	pipeline_get_stats(f->p, &ps);
	assert_int_equal(ps.uncorroborated, 21);
	assert_int_equal(query(f, "SELECT count(*) FROM events WHERE "
	    "addr = '203.0.113.61'"), 1);
	assert_int_equal(query(f, "SELECT count(*) FROM events WHERE "
	    "addr = '203.0.113.62'"), 0);
	/* A SYN proves nothing. */
	ev = ev_make(EVENT_CONN_SYN, "203.0.113.63", T0, 0);
	pipeline_event(&ev, f->p);
	auth_fail(f, "203.0.113.63", T0 + CLOCK_US_PER_SEC);
	pipeline_get_stats(f->p, &ps);
	assert_int_equal(ps.uncorroborated, 22);
}

/* Off (conntrack off, or corroborate = 0): every line is judged. */
static void
test_corroboration_off(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	for (i = 0; i < 6 && f->verdicts == 0; i++)
		auth_fail(f, "198.51.100.99", T0 + i * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	pipeline_set_corroborate(f->p, 1);
	f->conf->auth_corroborate = 0;
	for (i = 0; i < 6 && f->verdicts == 1; i++)
		auth_fail(f, "198.51.100.98", T0 + i * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 2);
}

/* Forged failures from 200 addresses cannot declare an outage (and so
 * cannot hold the real guesser's ban); unchecked, they would. */
static void
test_forged_outage(void **state)
{
	struct fixture		*f = *state;
	struct outage_stats	 os;
	struct event		 ev;
	char			 a[32];
	int			 i, m, on;

	for (on = 1; on >= 0; on--) {
		pipeline_free(f->p);
		f->p = pipeline_new(f->conf, f->store, 42);
		pipeline_set_corroborate(f->p, on);
		/* An hour of ordinary traffic from connected clients: 3
		 * failures and 20 logins a minute. */
		for (i = 0; i < 23; i++) {
			snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
			ev = ev_make(EVENT_CONN_OPEN, a, T0, EVENT_F_HANDSHAKE);
			pipeline_event(&ev, f->p);
		}
		for (m = 0; m < 60; m++) {
			for (i = 0; i < 23; i++) {
				snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
				ev = ev_make(i < 20 ? EVENT_AUTH_OK :
				    EVENT_AUTH_FAIL, a, T0 + m * 60 *
				    CLOCK_US_PER_SEC + i * CLOCK_US_PER_SEC, 0);
				ev.source = EVENT_SRC_LOG;
				ev.service = NULL;
				ev.port = 0;
				pipeline_event(&ev, f->p);
			}
		}
		for (i = 0; i < 200; i++) {
			snprintf(a, sizeof(a), "198.51.%d.%d", i / 200,
			    i % 200 + 1);
			auth_fail(f, a, T0 + 3600 * CLOCK_US_PER_SEC +
			    i * 250000);
		}
		pipeline_outage_stats(f->p, &os);
		assert_int_equal(os.active, !on);
	}
}

/* A client behind a configured proxy: judged while the proxy is
 * connected, its verdict marked so the ban closes the proxy's door. */
static void
test_corroboration_proxy(void **state)
{
	struct fixture		*f = *state;
	struct pipeline_stats	 ps;
	struct conf		*conf;
	struct event		 ev;
	char			 path[128], *cause;
	FILE			*fp;
	int			 i;

	(void)state;
	snprintf(path, sizeof(path), "%s/proxy.conf", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("[allow]\nproxies = 127.0.0.1\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(conf_load(path, &conf, &cause), 0);
	pipeline_set_conf(f->p, conf);
	conf_free(f->conf);
	f->conf = conf;
	pipeline_set_corroborate(f->p, 1);
	ev = ev_make(EVENT_CONN_OPEN, "127.0.0.1", T0, EVENT_F_HANDSHAKE);
	ev.port = 5280;
	ev.service = "http";
	pipeline_event(&ev, f->p);
	for (i = 0; i < 6 && f->verdicts == 0; i++)
		auth_fail(f, "203.0.113.77", T0 + 3600 * CLOCK_US_PER_SEC +
		    i * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	assert_true(f->last.proxied);
	assert_non_null(strstr(f->last.reason, "through a proxy"));
	pipeline_get_stats(f->p, &ps);
	assert_int_equal(ps.proxied, (uint64_t)i);
	/* The proxy gone for longer than the window: no longer. */
	ev.kind = EVENT_CONN_CLOSE;
	ev.time = T0 + 3600 * CLOCK_US_PER_SEC;
	pipeline_event(&ev, f->p);
	auth_fail(f, "203.0.113.78", T0 + 4000 * CLOCK_US_PER_SEC);
	pipeline_get_stats(f->p, &ps);
	assert_int_equal(ps.uncorroborated, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows_and_verdict, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_events_stored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_store, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corroboration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corroboration_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forged_outage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corroboration_proxy,
		    setup, teardown),
	};

	log_init(1, LOG_LEVEL_ERR);
	return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
