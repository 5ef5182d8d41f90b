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

static void
peer_hook(const struct verdict *v, void *arg)
{
	int	*n = arg;

	assert_true(v->peer && v->allowlisted);
	(*n)++;
}

/*
 * Federation peers: an s2s_ok line naming an address that never connected
 * is not believed; one from a connected server makes its s2s verdicts go
 * to the peer callback too, recorded, never to be enforced.
 */
static void
test_peer(void **state)
{
	struct fixture	*f = *state;
	struct event	 ev;
	int		 i, peers = 0;

	pipeline_set_corroborate(f->p, 1);
	pipeline_set_peer_cb(f->p, peer_hook, &peers);
	ev = ev_make(EVENT_S2S_OK, "198.51.100.30", T0, 0);
	ev.source = EVENT_SRC_LOG;
	ev.user = "peer.example";
	ev.service = NULL;
	pipeline_event(&ev, f->p);	/* forged: never connected */
	ev = ev_make(EVENT_CONN_OPEN, "198.51.100.31", T0, EVENT_F_HANDSHAKE);
	ev.port = 5269;
	ev.service = "s2s";
	pipeline_event(&ev, f->p);
	ev = ev_make(EVENT_S2S_OK, "198.51.100.31", T0 + 1000, 0);
	ev.source = EVENT_SRC_LOG;
	ev.user = "other.example";
	ev.service = NULL;
	pipeline_event(&ev, f->p);
	for (i = 0; i < 122; i++) {
		ev = ev_make(EVENT_CONN_OPEN, i < 61 ? "198.51.100.31" :
		    "198.51.100.30", T0 + 2000 + i, EVENT_F_HANDSHAKE);
		ev.port = 5269;
		ev.service = "s2s";
		pipeline_event(&ev, f->p);
		ev.kind = EVENT_CONN_CLOSE;
		pipeline_event(&ev, f->p);
	}
	/* .31's 62nd s2s connection is a peer's; .30 is not, and is
	 * judged. */
	assert_int_equal(peers, 1);
	assert_int_equal(f->verdicts, 2);
	assert_int_equal(f->last.peer, 0);
	assert_int_equal(f->last.allowlisted, 0);
	assert_int_equal(query(f, "SELECT count(*) FROM verdicts WHERE "
	    "addr = '198.51.100.30'"), 1);
	assert_int_equal(query(f, "SELECT count(*) FROM events WHERE "
	    "kind = 's2s_ok'"), 1);
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

/*
 * Restarts.  The daemon dies (kill -9: what is committed stays) and a new
 * pipeline on the same store rebuilds its windows before anything else.
 */
static void
restart(struct fixture *f, int64_t now, uint64_t events, uint64_t addresses)
{
	struct pipeline_rebuild	 r;
	char			*cause = NULL;

	store_flush(f->store);
	pipeline_free(f->p);
	f->p = pipeline_new(f->conf, f->store, 43);
	pipeline_set_verdict_cb(f->p, hook, f);
	assert_int_equal(pipeline_rebuild(f->p, now, 1, &r, &cause), 0);
	assert_int_equal(r.events, events);
	assert_int_equal(r.addresses, addresses);
	assert_int_equal(r.capped, 0);
}

/* 4 failed logins, a restart, 2 more: max_fail 5/10m broken at the 6th. */
static void
test_rebuild_auth(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	for (i = 0; i < 4; i++)
		auth_fail(f, "198.51.100.7", T0 + i * CLOCK_US_PER_SEC);
	/* Another address's one failure, for the count of addresses. */
	auth_fail(f, "203.0.113.1", T0);
	assert_int_equal(f->verdicts, 0);
	restart(f, T0 + 60 * CLOCK_US_PER_SEC, 5, 2);
	auth_fail(f, "198.51.100.7", T0 + 61 * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 0);
	auth_fail(f, "198.51.100.7", T0 + 62 * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.rule, VERDICT_AUTH);
	assert_int_equal(f->last.observed, 6);
	assert_int_equal(f->last.prefix.len, 32);
	/* The rows read back are not written again. */
	assert_int_equal(query(f, "SELECT count(*) FROM events"), 7);
}

/* 119 connections, a restart, 2 more: max_new 120/1h broken at the 121st. */
static void
test_rebuild_churn(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	for (i = 0; i < 119; i++)
		connection(f, "198.51.100.9", T0 + i * 10 * CLOCK_US_PER_SEC,
		    (uint64_t)i + 1);
	restart(f, T0 + 1200 * CLOCK_US_PER_SEC, 119, 1);
	connection(f, "198.51.100.9", T0 + 1201 * CLOCK_US_PER_SEC, 200);
	assert_int_equal(f->verdicts, 0);
	connection(f, "198.51.100.9", T0 + 1202 * CLOCK_US_PER_SEC, 201);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.rule, VERDICT_CHURN);
	assert_string_equal(f->last.reason,
	    "churn: 121 new c2s connections in 1h (limit 120)");
}

/* Events older than their window are not read back, nor counted. */
static void
test_rebuild_old(void **state)
{
	struct fixture	*f = *state;
	struct event	 ev;
	int		 i;

	for (i = 0; i < 4; i++)
		auth_fail(f, "198.51.100.7", T0 + i * CLOCK_US_PER_SEC);
	/* A connection found live at the previous start was not new. */
	ev = ev_make(EVENT_CONN_OPEN, "198.51.100.8", T0,
	    EVENT_F_HANDSHAKE | EVENT_F_PREEXISTING);
	pipeline_event(&ev, f->p);
	ev.kind = EVENT_CONN_END;
	ev.start = T0;
	pipeline_event(&ev, f->p);
	restart(f, T0 + 11 * 60 * CLOCK_US_PER_SEC, 0, 0);
	for (i = 0; i < 5; i++)
		auth_fail(f, "198.51.100.7", T0 + (11 * 60 + i) *
		    CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 0);
	auth_fail(f, "198.51.100.7", T0 + (11 * 60 + 5) * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.observed, 6);
}

/* The network's window too: 28 failures from 7 addresses of a /24, a
 * restart, 3 from an 8th break net_max_fail 30/10m, no host's. */
static void
test_rebuild_network(void **state)
{
	struct fixture	*f = *state;
	char		 ip[32];
	int		 i, j;

	for (i = 1; i <= 7; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		for (j = 0; j < 4; j++)
			auth_fail(f, ip, T0 + (i * 4 + j) * CLOCK_US_PER_SEC);
	}
	restart(f, T0 + 60 * CLOCK_US_PER_SEC, 28, 7);
	for (j = 0; j < 2; j++)
		auth_fail(f, "198.51.100.8", T0 + (61 + j) * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 0);
	auth_fail(f, "198.51.100.8", T0 + 63 * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.rule, VERDICT_AUTH);
	assert_int_equal(f->last.prefix.len, 24);
	assert_int_equal(f->last.observed, 31);
}

/*
 * A limit broken before the restart was acted on then: the verdict is a
 * standing offence again, so the next failure repeats nothing; an
 * [override] or [allow] of the new configuration applies to what is
 * rebuilt.
 */
static void
test_rebuild_standing(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	for (i = 0; i < 6; i++)
		auth_fail(f, "198.51.100.7", T0 + i * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	restart(f, T0 + 60 * CLOCK_US_PER_SEC, 6, 1);
	auth_fail(f, "198.51.100.7", T0 + 61 * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	/* After the cool-down (the window) it is said again. */
	for (i = 0; i < 6; i++)
		auth_fail(f, "198.51.100.7", T0 + (700 + i) *
		    CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 2);
}

static void
test_rebuild_override(void **state)
{
	struct fixture		*f = *state;
	struct conf_override	*o;
	int			 i;

	for (i = 0; i < 119; i++)
		connection(f, "198.51.100.9", T0 + i * 10 * CLOCK_US_PER_SEC,
		    (uint64_t)i + 1);
	/* The new start's configuration lets 198.51.100.0/24 have 200. */
	f->conf->overrides = xcalloc(1, sizeof(*f->conf->overrides));
	f->conf->noverrides = 1;
	o = &f->conf->overrides[0];
	snprintf(o->name, sizeof(o->name), "nat");
	o->networks = xcalloc(1, sizeof(*o->networks));
	o->nnetworks = 1;
	assert_int_equal(addr_parse("198.51.100.0", &o->networks[0].addr,
	    NULL), 0);
	addr_mask(&o->networks[0].addr, 24, &o->networks[0]);
	o->max_new.count = 200;
	o->max_new.window = 2 * 3600 * CLOCK_US_PER_SEC;
	restart(f, T0 + 1200 * CLOCK_US_PER_SEC, 119, 1);
	for (i = 0; i < 3; i++)
		connection(f, "198.51.100.9", T0 + (1201 + i) *
		    CLOCK_US_PER_SEC, 200 + (uint64_t)i);
	assert_int_equal(f->verdicts, 0);
}

/*
 * Reload.  The windows survive it as they are; one whose length changes
 * starts again from the store's rows, not from nothing.
 */
static void
test_rebuild_reload(void **state)
{
	struct fixture		*f = *state;
	struct pipeline_rebuild	 r;
	char			*cause = NULL;
	int			 i;

	for (i = 0; i < 4; i++)
		auth_fail(f, "198.51.100.7", T0 + i * CLOCK_US_PER_SEC);
	store_flush(f->store);
	/* Same windows: nothing to read. */
	pipeline_set_conf(f->p, f->conf);
	assert_int_equal(pipeline_rebuild(f->p, T0 + 10 * CLOCK_US_PER_SEC,
	    0, &r, &cause), 0);
	assert_int_equal(r.events, 0);
	/* max_fail 5/10m becomes 5/20m. */
	f->conf->auth_max_fail.window = 20 * 60 * CLOCK_US_PER_SEC;
	pipeline_set_conf(f->p, f->conf);
	assert_int_equal(pipeline_rebuild(f->p, T0 + 10 * CLOCK_US_PER_SEC,
	    0, &r, &cause), 0);
	assert_int_equal(r.events, 4);
	assert_int_equal(r.addresses, 1);
	auth_fail(f, "198.51.100.7", T0 + 11 * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 0);
	auth_fail(f, "198.51.100.7", T0 + 12 * CLOCK_US_PER_SEC);
	assert_int_equal(f->verdicts, 1);
	assert_int_equal(f->last.observed, 6);
}

static struct fw_cap	 caps_seen[8];
static int		 ncaps_seen;

static void
caps_hook(const struct fw_cap *c, void *arg)
{
	(void)arg;
	if (ncaps_seen < 8)
		caps_seen[ncaps_seen] = *c;
	ncaps_seen++;
}

/* Each login from a host tells its level in the capped services whose
 * caps rise with accounts: 1, 2, then 4 accounts' for the third; the
 * window as its duration; nothing through a proxy, nothing uncapped. */
static void
test_caps_levels(void **state)
{
	struct fixture		*f = *state;
	struct conf_service	*svc = NULL;
	static const char *const users[] = { "a@x", "b@x", "c@x" };
	struct event		 ev;
	int			 i;

	kcap_set_available(1);
	for (i = 0; i < f->conf->nservices; i++) {
		f->conf->services[i].kernel_caps =
		    strcmp(f->conf->services[i].name, "c2s") == 0;
		if (f->conf->services[i].kernel_caps)
			svc = &f->conf->services[i];
	}
	assert_non_null(svc);
	svc->max_concurrent = 10;
	svc->max_new.count = 100;
	svc->max_new.window = 20 * CLOCK_US_PER_SEC;
	svc->account_allowance_concurrent = 2;
	pipeline_set_caps_cb(f->p, caps_hook, NULL);
	ncaps_seen = 0;
	for (i = 0; i < 3; i++) {
		ev = ev_make(EVENT_AUTH_OK, "198.51.100.10", T0 + i *
		    CLOCK_US_PER_SEC, 0);
		ev.source = EVENT_SRC_LOG;
		ev.service = NULL;
		ev.user = users[i];
		pipeline_event(&ev, f->p);
	}
	assert_int_equal(ncaps_seen, 3);
	assert_int_equal(caps_seen[0].level, 1);
	assert_int_equal(caps_seen[1].level, 2);
	assert_int_equal(caps_seen[2].level, 3);
	assert_string_equal(caps_seen[2].service, "c2s");
	assert_int_equal(caps_seen[2].duration, 20 * CLOCK_US_PER_SEC);
	assert_int_equal(caps_seen[2].addr.family, AF_INET);
	/* Through a proxy: the kernel sees the proxy, nothing moves. */
	ev.flags |= EVENT_F_PROXIED;
	pipeline_event(&ev, f->p);
	assert_int_equal(ncaps_seen, 3);
	/* No caps, no levels. */
	svc->kernel_caps = 0;
	ev.flags = 0;
	pipeline_event(&ev, f->p);
	assert_int_equal(ncaps_seen, 3);
	kcap_set_available(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_caps_levels, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rows_and_verdict, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_events_stored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_store, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corroboration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corroboration_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forged_outage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corroboration_proxy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_auth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_churn, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_old, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_network, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_standing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_override, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_reload, setup,
		    teardown),
	};

	log_init(1, LOG_LEVEL_ERR);
	return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
