/*
 * Rollups: counters per address, service and hour reach the store as
 * increments that add up; peak_live follows the connections open at once;
 * half-open SYNs are counted per service, not per (forged) address; a full
 * table writes its victim before reusing the slot; failed logins and
 * registrations from the log count under c2s against the address the log
 * named; the kernel caps' refusals count per address, service and cap,
 * reach the three tables, and status names the addresses of the hour.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/rollup.c"
#include "unit_htab.h"
#include "clock.h"
#include "unit_db.h"
#include "log.h"

#define HOUR	(3600 * CLOCK_US_PER_SEC)
#define T0	(1795917600LL * CLOCK_US_PER_SEC)	/* on the hour */

struct fixture {
	char		 dir[64];
	char		 path[96];
	struct conf	*conf;
	struct store	*store;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		*cause;

	strcpy(f->dir, "/tmp/xg-rollup.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/r.db", f->dir);
	assert_int_equal(conf_load(NULL, &f->conf, &cause), 0);
	f->store = store_open(f->path, 0, 1000, &cause);
	assert_non_null(f->store);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128];

	store_close(f->store);
	conf_free(f->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct event
ev_make(enum event_kind kind, const char *ip, int64_t t)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(addr_parse(ip, &ev.addr, NULL), 0);
	ev.kind = kind;
	ev.time = t;
	ev.service = "c2s";
	ev.port = 5222;
	ev.source = EVENT_SRC_CONNTRACK;
	return ev;
}

static int64_t
query(struct fixture *f, const char *sql)
{
	return unit_db_int(f->store, f->path, sql);
}

static void
test_counts_add_up(void **state)
{
	struct fixture	*f = *state;
	struct rollup	*r = rollup_new(64, 1);
	struct event	 ev;
	int		 i;

	for (i = 0; i < 5; i++) {
		ev = ev_make(EVENT_CONN_OPEN, "192.0.2.7", T0 + i);
		rollup_event(r, f->conf, &ev, f->store);
	}
	for (i = 0; i < 3; i++) {
		ev = ev_make(EVENT_CONN_CLOSE, "192.0.2.7", T0 + 10 + i);
		ev.duration = 2 * CLOCK_US_PER_SEC;	/* short-lived */
		rollup_event(r, f->conf, &ev, f->store);
	}
	ev = ev_make(EVENT_CONN_BYTES, "192.0.2.7", T0 + 20);
	ev.bytes_in = 1000;
	ev.bytes_out = 50;
	rollup_event(r, f->conf, &ev, f->store);
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT conns FROM rollups WHERE "
	    "addr = '192.0.2.7'"), 5);
	assert_int_equal(query(f, "SELECT peak_live FROM rollups"), 5);
	assert_int_equal(query(f, "SELECT short_lived FROM rollups"), 3);
	assert_int_equal(query(f, "SELECT bytes_in FROM rollups"), 1000);

	/* A second flush in the same hour adds to the row; peak_live keeps
	 * the highest (2 live now, 5 before). */
	ev = ev_make(EVENT_CONN_OPEN, "192.0.2.7", T0 + 30);
	rollup_event(r, f->conf, &ev, f->store);
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT count(*) FROM rollups"), 1);
	assert_int_equal(query(f, "SELECT conns FROM rollups"), 6);
	assert_int_equal(query(f, "SELECT peak_live FROM rollups"), 5);

	/* Nothing changed: a flush writes nothing. */
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT conns FROM rollups"), 6);

	/* The next hour starts its own row; live connections carry over
	 * into its peak. */
	ev = ev_make(EVENT_CONN_OPEN, "192.0.2.7", T0 + HOUR + 5);
	rollup_event(r, f->conf, &ev, f->store);
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT count(*) FROM rollups"), 2);
	assert_int_equal(query(f, "SELECT peak_live FROM rollups WHERE "
	    "hour = (SELECT max(hour) FROM rollups)"), 4);
	assert_int_equal(query(f, "SELECT hour FROM rollups ORDER BY hour "
	    "LIMIT 1"), T0);
	rollup_free(r);
}

static void
test_preexisting_and_resync(void **state)
{
	struct fixture	*f = *state;
	struct rollup	*r = rollup_new(64, 1);
	struct event	 ev;

	/* Found live at start: open, but not a new connection. */
	ev = ev_make(EVENT_CONN_OPEN, "2001:db8::5", T0);
	ev.flags = EVENT_F_PREEXISTING;
	rollup_event(r, f->conf, &ev, f->store);
	/* Closed by a resync: not counted as short-lived. */
	ev = ev_make(EVENT_CONN_CLOSE, "2001:db8::5", T0 + 1);
	ev.flags = EVENT_F_RESYNC;
	rollup_event(r, f->conf, &ev, f->store);
	/* A close of a connection the table never saw open: live stays 0. */
	ev = ev_make(EVENT_CONN_CLOSE, "2001:db8::5", T0 + 2);
	ev.duration = 60 * CLOCK_US_PER_SEC;
	rollup_event(r, f->conf, &ev, f->store);
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT conns FROM rollups"), 0);
	assert_int_equal(query(f, "SELECT short_lived FROM rollups"), 0);
	assert_int_equal(query(f, "SELECT peak_live FROM rollups"), 1);
	assert_int_equal(r->e[r->tab.list[0].newest].live, 0);
	rollup_free(r);
}

static void
test_halfopen_per_service(void **state)
{
	struct fixture	*f = *state;
	struct rollup	*r = rollup_new(16, 1);
	struct event	 ev;
	char		 ip[32];
	int		 i;

	/* 10,000 SYNs from 10,000 addresses, never answered: one entry,
	 * one row, counted as each flow ends. */
	for (i = 0; i < 10000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		ev = ev_make(EVENT_CONN_SYN, ip, T0 + i);
		rollup_event(r, f->conf, &ev, f->store);
		ev = ev_make(EVENT_CONN_END, ip, T0 + i + 1);
		ev.flags = EVENT_F_WAS_SYN;
		rollup_event(r, f->conf, &ev, f->store);
	}
	/* One that completed its handshake is no half-open flow. */
	ev = ev_make(EVENT_CONN_SYN, "192.0.2.9", T0 + 20000);
	rollup_event(r, f->conf, &ev, f->store);
	ev = ev_make(EVENT_CONN_END, "192.0.2.9", T0 + 20001);
	ev.flags = EVENT_F_WAS_SYN | EVENT_F_HANDSHAKE;
	rollup_event(r, f->conf, &ev, f->store);
	rollup_flush(r, f->store);
	assert_int_equal(r->stats.entries, 1);
	assert_int_equal(r->stats.evictions, 0);
	assert_int_equal(query(f, "SELECT count(*) FROM rollups"), 1);
	assert_int_equal(query(f, "SELECT halfopen FROM rollups WHERE "
	    "addr = '?' AND service = 'c2s'"), 10000);
	rollup_free(r);
}

static void
test_eviction_writes_first(void **state)
{
	struct fixture	*f = *state;
	struct rollup	*r = rollup_new(4, 1);
	struct event	 ev;
	char		 ip[32];
	int		 i;

	for (i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		ev = ev_make(EVENT_CONN_OPEN, ip, T0 + i);
		rollup_event(r, f->conf, &ev, f->store);
	}
	assert_int_equal(r->stats.entries, 4);
	assert_int_equal(r->stats.evictions, 96);
	rollup_flush(r, f->store);
	/* Nothing was lost: every address has its row. */
	assert_int_equal(query(f, "SELECT count(*) FROM rollups"), 100);
	assert_int_equal(query(f, "SELECT sum(conns) FROM rollups"), 100);
	rollup_free(r);
}

static void
test_lists_stay_consistent(void **state)
{
	struct fixture	*f = *state;
	struct rollup	*r = rollup_new(8, 7);
	struct event	 ev;
	char		 ip[32];
	uint32_t	 i, k;
	unsigned int	 x = 12345;

	/* Random opens over 20 addresses in a table of 8, flushing now and
	 * then: the LRU and dirty lists must stay exact. */
	for (k = 0; k < 5000; k++) {
		x = x * 1103515245 + 12345;
		snprintf(ip, sizeof(ip), "203.0.113.%u", (x >> 16) % 20 + 1);
		ev = ev_make(EVENT_CONN_OPEN, ip, T0 + k);
		rollup_event(r, f->conf, &ev, f->store);
		if ((x >> 8) % 97 == 0)
			rollup_flush(r, f->store);
		unit_htab_check(&r->tab);
		assert_int_equal(htab_used(&r->tab), r->stats.entries);
		for (i = r->dirty; i != ROLLUP_NIL; i = r->e[i].dnext)
			assert_true(r->e[i].dirty);
	}
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT sum(conns) FROM rollups"), 5000);
	rollup_free(r);
}

/* Log events name no service: logins and registrations count under c2s,
 * for the address the log named; one without an address is not counted. */
static void
test_log_events(void **state)
{
	struct fixture	*f = *state;
	struct rollup	*r = rollup_new(64, 1);
	struct verdict	 v;
	struct event	 ev;
	int		 i;

	for (i = 0; i < 4; i++) {
		ev = ev_make(EVENT_AUTH_FAIL, "198.51.100.9", T0 + i);
		ev.service = NULL;
		ev.source = EVENT_SRC_LOG;
		rollup_event(r, f->conf, &ev, f->store);
	}
	ev = ev_make(EVENT_REGISTER, "198.51.100.9", T0 + 9);
	ev.service = NULL;
	rollup_event(r, f->conf, &ev, f->store);
	ev = ev_make(EVENT_REGISTER, "2001:db8::5", T0 + HOUR + 9);
	ev.service = NULL;
	rollup_event(r, f->conf, &ev, f->store);
	/* A log line with no usable address, and a kind not counted. */
	ev = ev_make(EVENT_AUTH_FAIL, "0.0.0.0", T0 + 10);
	ev.service = NULL;
	rollup_event(r, f->conf, &ev, f->store);
	ev = ev_make(EVENT_AUTH_OK, "198.51.100.9", T0 + 11);
	ev.service = NULL;
	rollup_event(r, f->conf, &ev, f->store);
	/* The auth verdict they caused names no service either. */
	memset(&v, 0, sizeof(v));
	assert_int_equal(addr_prefix_parse("198.51.100.9/32", &v.prefix, 0),
	    0);
	v.rule = VERDICT_AUTH;
	v.time = T0 + 3;
	rollup_verdict(r, &v, f->store);
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT count(*) FROM rollups"), 2);
	assert_int_equal(query(f, "SELECT verdicts FROM rollups WHERE "
	    "addr = '198.51.100.9' AND service = 'c2s'"), 1);
	assert_int_equal(query(f, "SELECT auth_fail FROM rollups WHERE "
	    "addr = '198.51.100.9' AND service = 'c2s'"), 4);
	assert_int_equal(query(f, "SELECT register FROM rollups WHERE "
	    "addr = '198.51.100.9'"), 1);
	assert_int_equal(query(f, "SELECT conns FROM rollups WHERE "
	    "addr = '198.51.100.9'"), 0);
	assert_int_equal(query(f, "SELECT hour - (SELECT min(hour) FROM "
	    "rollups) FROM rollups WHERE addr = '2001:db8::5' AND "
	    "register = 1"), HOUR);
	rollup_free(r);
}

/* The rows of path and of other differ in this many ways (0: the same
 * tables, row for row). */
static int64_t
rows_differ(struct store *a, const char *pa, struct store *b, const char *pb)
{
	static const char *const tables[] = {
		"rollups", "rollups_day", "rollups_all"
	};
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 sql[256];
	int64_t		 n = 0;
	size_t		 i;

	store_flush(a);
	store_flush(b);
	assert_int_equal(sqlite3_open_v2(pa, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS b", pb);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT (SELECT count(*) FROM "
		    "(SELECT * FROM main.%s EXCEPT SELECT * FROM b.%s)) + "
		    "(SELECT count(*) FROM (SELECT * FROM b.%s EXCEPT "
		    "SELECT * FROM main.%s))", tables[i], tables[i], tables[i],
		    tables[i]);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		n += sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/*
 * The minute's flush in steps, one pair per step with events (opens,
 * closes, bytes, logins, a new hour, evictions from a small table) in
 * between, leaves the store exactly as whole flushes at the rounds'
 * starts do.
 */
static void
test_flush_in_steps(void **state)
{
	struct fixture		*f = *state;
	struct rollup		*whole = rollup_new(16, 1);
	struct rollup		*steps = rollup_new(16, 1);
	struct store		*s2;
	struct loop_budget	 b;
	struct event		 ev;
	char			 path[96], ip[32], *cause;
	uint32_t		 x = 7;
	int			 k, stepping = 0, rounds = 0, done;
	static const enum event_kind kinds[] = {
		EVENT_CONN_OPEN, EVENT_CONN_OPEN, EVENT_CONN_CLOSE,
		EVENT_CONN_BYTES, EVENT_AUTH_FAIL
	};

	snprintf(path, sizeof(path), "%s/steps.db", f->dir);
	s2 = store_open(path, 0, 1000, &cause);
	assert_non_null(s2);
	for (k = 0; k < 6000; k++) {
		x = x * 1103515245 + 12345;
		snprintf(ip, sizeof(ip), "203.0.113.%u", (x >> 16) % 40 + 1);
		ev = ev_make(kinds[(x >> 8) % 5], ip, T0 + k * (HOUR / 2000));
		ev.bytes_in = x % 1000;
		ev.bytes_out = x % 77;
		ev.duration = (x % 10) * CLOCK_US_PER_SEC;
		if (ev.kind == EVENT_AUTH_FAIL)
			ev.service = NULL;
		rollup_event(whole, f->conf, &ev, f->store);
		rollup_event(steps, f->conf, &ev, s2);
		if (k % 500 == 499) {
			rollup_flush(whole, f->store);
			rollup_flush_begin(steps);
			stepping = 1;
			rounds++;
		}
		if (stepping) {
			loop_budget_start(&b, 0, 1);
			done = rollup_flush_step(steps, s2, &b);
			stepping = !done;
		}
		/* The round's next is always on the dirty list. */
		assert_true(steps->cursor == ROLLUP_NIL ||
		    steps->e[steps->cursor].dirty);
	}
	rollup_flush(whole, f->store);
	rollup_flush(steps, s2);
	assert_int_equal(rounds, 12);
	assert_true(query(f, "SELECT count(*) FROM rollups") > 40);
	assert_int_equal(rows_differ(f->store, f->path, s2, path), 0);
	store_close(s2);
	rollup_free(whole);
	rollup_free(steps);
}

/*
 * Refusals by the kernel caps: per cap in rollups, their total in the
 * three tables; status counts the addresses of the newest hour, the most
 * refused first, and the refusals per service and cap since start.
 */
static void
test_refusals(void **state)
{
	struct fixture		*f = *state;
	struct rollup		*r = rollup_new(64, 1);
	struct rollup_status	 st;
	struct rollup_svc_status ss;
	struct addr		 a, b, c;
	struct event		 ev;
	int			 i;

	assert_int_equal(addr_parse("192.0.2.7", &a, NULL), 0);
	assert_int_equal(addr_parse("2001:db8::9", &b, NULL), 0);
	memset(&c, 0, sizeof(c));	/* no address: not counted */
	ev = ev_make(EVENT_CONN_OPEN, "192.0.2.7", T0);
	rollup_event(r, f->conf, &ev, f->store);
	for (i = 0; i < 5; i++)
		rollup_refusal(r, &a, "c2s", STORE_CAP_CONCURRENCY, T0 + i,
		    f->store);
	rollup_refusal(r, &a, "c2s", STORE_CAP_CHURN, T0 + 9, f->store);
	rollup_refusal(r, &a, "c2s", STORE_CAP_SURGE, T0 + 9, f->store);
	rollup_refusal(r, &b, "s2s", STORE_CAP_NET_CHURN, T0 + 9, f->store);
	rollup_refusal(r, &c, "c2s", STORE_CAP_CHURN, T0 + 9, f->store);
	rollup_refusal(r, &a, "c2s", STORE_CAP_MAX, T0 + 9, f->store);
	rollup_refusal(r, &a, "c2s", -1, T0 + 9, f->store);

	rollup_status_get(r, 0, &st);
	assert_int_equal(st.addresses, 2);
	assert_string_equal(st.top, "192.0.2.7 c2s 7, 2001:db8::9 s2s 1");
	assert_int_equal(rollup_svc_count(r), 2);
	rollup_svc_get(r, 0, &ss);
	assert_string_equal(ss.name, "c2s");
	assert_int_equal(ss.refused[STORE_CAP_CONCURRENCY], 5);
	assert_int_equal(ss.refused[STORE_CAP_CHURN], 1);
	assert_int_equal(ss.refused[STORE_CAP_SURGE], 1);
	assert_int_equal(ss.refused[STORE_CAP_NET_CHURN], 0);

	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT refused FROM rollups WHERE "
	    "addr = '192.0.2.7'"), 7);
	assert_int_equal(query(f, "SELECT conns FROM rollups WHERE "
	    "addr = '192.0.2.7'"), 1);
	assert_int_equal(query(f, "SELECT refused_concurrency FROM rollups "
	    "WHERE addr = '192.0.2.7'"), 5);
	assert_int_equal(query(f, "SELECT refused_churn FROM rollups "
	    "WHERE addr = '192.0.2.7'"), 1);
	assert_int_equal(query(f, "SELECT refused_surge FROM rollups "
	    "WHERE addr = '192.0.2.7'"), 1);
	assert_int_equal(query(f, "SELECT refused_net_churn FROM rollups "
	    "WHERE addr = '2001:db8::9' AND service = 's2s'"), 1);
	assert_int_equal(query(f, "SELECT count(*) FROM rollups"), 2);
	assert_int_equal(query(f, "SELECT sum(refused) FROM rollups_day"), 8);
	assert_int_equal(query(f, "SELECT sum(refused) FROM rollups_all"), 8);
	/* Increments: a second flush adds. */
	rollup_refusal(r, &a, "c2s", STORE_CAP_CONCURRENCY, T0 + 20,
	    f->store);
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT refused FROM rollups WHERE "
	    "addr = '192.0.2.7'"), 8);
	assert_int_equal(query(f, "SELECT refused_concurrency FROM rollups "
	    "WHERE addr = '192.0.2.7'"), 6);
	assert_int_equal(query(f, "SELECT refused FROM rollups_day WHERE "
	    "addr = '192.0.2.7'"), 8);
	/* Status keeps the hour's across flushes ... */
	rollup_status_get(r, 0, &st);
	assert_string_equal(st.top, "192.0.2.7 c2s 8, 2001:db8::9 s2s 1");
	/* ... and forgets it in the next hour. */
	rollup_refusal(r, &b, "s2s", STORE_CAP_NET_CHURN, T0 + HOUR,
	    f->store);
	rollup_status_get(r, 0, &st);
	assert_int_equal(st.addresses, 1);
	assert_string_equal(st.top, "2001:db8::9 s2s 1");
	rollup_flush(r, f->store);
	assert_int_equal(query(f, "SELECT count(*) FROM rollups"), 3);
	assert_int_equal(query(f, "SELECT sum(refused) FROM rollups_all"),
	    10);
	/* No table: nothing. */
	rollup_status_get(NULL, 0, &st);
	assert_int_equal(st.addresses, 0);
	assert_string_equal(st.top, "");
	rollup_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_add_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_preexisting_and_resync,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_halfopen_per_service,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_writes_first,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_lists_stay_consistent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_events, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flush_in_steps, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup,
		    teardown),
	};

	log_init(1, LOG_LEVEL_ERR);
	return cmocka_run_group_tests_name("rollup", tests, NULL, NULL);
}
