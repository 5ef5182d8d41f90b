/*
 * Replay's enforcement (replay_ban.c): a verdict becomes the daemon's ban,
 * escalated by the bans replay itself made; a flow that begins inside a
 * ban in force is kept out whole, one that was live goes on; a log line
 * of a banned address is kept out; bans run out in the input's time;
 * this host's addresses and loopback are never banned; a verdict inside a
 * ban in force changes nothing.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/replay_ban.c"

#include "conf.h"
#include "log.h"

#define S	INT64_C(1000000)
#define T0	(INT64_C(1795924800) * S)
#define MIN	(60 * S)

struct fx {
	struct conf		*conf;
	struct replay_bans	*rb;
};

static struct verdict
verdict(const char *prefix, enum verdict_rule rule, int64_t t)
{
	struct verdict	v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(addr_prefix_parse(prefix, &v.prefix, 0), 0);
	v.rule = rule;
	v.time = t;
	snprintf(v.reason, sizeof(v.reason), "%s: test",
	    verdict_rule_name(rule));
	return v;
}

static struct event
conn(const char *addr, enum event_kind kind, uint16_t sport, uint64_t id,
    int64_t t)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(addr_parse(addr, &ev.addr, NULL), 0);
	ev.kind = kind;
	ev.source = EVENT_SRC_CONNTRACK;
	ev.sport = sport;
	ev.port = 5222;
	ev.flow = id;
	ev.time = t;
	if (kind != EVENT_CONN_SYN)
		ev.flags = EVENT_F_WAS_SYN;
	return ev;
}

static int
setup(void **state)
{
	struct fx	*f = xcalloc(1, sizeof(*f));
	char		*cause = NULL;

	assert_int_equal(conf_load(NULL, &f->conf, &cause), 0);
	f->rb = replay_bans_new(f->conf, 1);
	log_set_level(LOG_LEVEL_ERR);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	replay_bans_free(f->rb);
	conf_free(f->conf);
	free(f);
	return 0;
}

/* [ban] duration (10m), then x4 for the second within memory. */
static void
test_escalate(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	struct ban		 b;
	struct replay_ban_stats	 st;
	struct event		 ev;

	v = verdict("198.51.100.7/32", VERDICT_CHURN, T0);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b), REPLAY_BANNED);
	assert_int_equal(b.count, 1);
	assert_true(b.expires == T0 + 10 * MIN);
	/* Run out at its expiry, in replay time. */
	ev = conn("198.51.100.7", EVENT_CONN_SYN, 40000, 1, T0 + 10 * MIN);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 0);
	v = verdict("198.51.100.7/32", VERDICT_CHURN, T0 + 11 * MIN);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b), REPLAY_BANNED);
	assert_int_equal(b.count, 2);
	assert_true(b.expires == T0 + 11 * MIN + 40 * MIN);
	replay_bans_get_stats(f->rb, &st);
	assert_int_equal(st.bans, 2);
	assert_int_equal(st.escalated, 1);
}

/* A flow begun inside the ban is kept out whole and counted once; one
 * live before goes on; its end frees the slot. */
static void
test_flows(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	struct ban		 b;
	struct replay_ban_stats	 st;
	struct event		 ev;

	ev = conn("198.51.100.7", EVENT_CONN_SYN, 40000, 1, T0 - S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 0);
	v = verdict("198.51.100.7/32", VERDICT_CONCURRENCY, T0);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b), REPLAY_BANNED);
	/* The live one. */
	ev = conn("198.51.100.7", EVENT_CONN_OPEN, 40000, 1, T0 + S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 0);
	ev = conn("198.51.100.7", EVENT_CONN_END, 40000, 1, T0 + 2 * S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 0);
	/* A new one, then its later events. */
	ev = conn("198.51.100.7", EVENT_CONN_SYN, 40001, 2, T0 + 3 * S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 1);
	ev = conn("198.51.100.7", EVENT_CONN_OPEN, 40001, 2, T0 + 4 * S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 1);
	assert_int_equal(htab_used(&f->rb->t), 1);
	ev = conn("198.51.100.7", EVENT_CONN_END, 40001, 2, T0 + 5 * S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 1);
	assert_int_equal(htab_used(&f->rb->t), 0);
	/* Its neighbour is not banned; a log line of the banned one is
	 * kept out. */
	ev = conn("198.51.100.8", EVENT_CONN_SYN, 40002, 3, T0 + 6 * S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 0);
	ev = conn("198.51.100.7", EVENT_AUTH_FAIL, 0, 0, T0 + 7 * S);
	ev.source = EVENT_SRC_LOG;
	assert_int_equal(replay_bans_drop(f->rb, &ev), 1);
	replay_bans_get_stats(f->rb, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.lines, 1);
}

/* The ban's kill ([ban] kill_established): its prefix once, at its
 * time; a flow so ended has its later messages dropped until its
 * DESTROY. */
static void
test_kill(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	struct ban	 b;
	struct prefix	 p;
	struct ct_msg	 m;
	int64_t		 when;

	v = verdict("198.51.100.7/32", VERDICT_CONCURRENCY, T0);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b), REPLAY_BANNED);
	assert_int_equal(replay_bans_next_kill(f->rb, &p, &when), 1);
	assert_true(when == T0);
	assert_int_equal(p.len, 32);
	assert_int_equal(replay_bans_next_kill(f->rb, &p, &when), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(addr_parse("198.51.100.7", &m.src, NULL), 0);
	m.sport = 40000;
	m.id = 7;
	m.type = CT_MSG_UPDATE;
	assert_int_equal(replay_bans_msg_drop(f->rb, &m), 0);
	replay_bans_killed(f->rb, &m.src, m.sport, m.id);
	assert_int_equal(replay_bans_msg_drop(f->rb, &m), 1);
	m.type = CT_MSG_DESTROY;
	assert_int_equal(replay_bans_msg_drop(f->rb, &m), 1);
	assert_int_equal(replay_bans_msg_drop(f->rb, &m), 0);
	/* Throttled or kill_established = no: nothing to end. */
	f->conf->ban_kill = 0;
	v = verdict("198.51.100.8/32", VERDICT_CONCURRENCY, T0);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b), REPLAY_BANNED);
	assert_int_equal(replay_bans_next_kill(f->rb, &p, &when), 0);
}

/* A network ban holds its addresses; a network verdict inside it changes
 * nothing (ban.c: "covered"), one for itself makes it longer. */
static void
test_network(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	struct ban	 b;
	struct event	 ev;

	v = verdict("203.0.113.0/24", VERDICT_CHURN, T0);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b), REPLAY_BANNED);
	ev = conn("203.0.113.77", EVENT_CONN_SYN, 40000, 9, T0 + S);
	assert_int_equal(replay_bans_drop(f->rb, &ev), 1);
	v = verdict("203.0.113.0/25", VERDICT_AUTH, T0 + 2 * S);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b), REPLAY_REPEAT);
	v = verdict("203.0.113.0/24", VERDICT_CHURN, T0 + 3 * S);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b),
	    REPLAY_EXTENDED);
	assert_true(b.expires == T0 + 3 * S + 10 * MIN);
}

/* Never a weapon: loopback, this host's addresses (learnt from the
 * capture), allowlisted verdicts. */
static void
test_never(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	struct ban	 b;
	struct addr	 a;

	v = verdict("127.0.0.1/32", VERDICT_CHURN, T0);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b),
	    REPLAY_UNBANNED);
	assert_int_equal(addr_parse("192.0.2.1", &a, NULL), 0);
	replay_bans_own(f->rb, &a);
	replay_bans_own(f->rb, &a);
	v = verdict("192.0.2.1/32", VERDICT_CHURN, T0);
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b),
	    REPLAY_UNBANNED);
	v = verdict("198.51.100.9/32", VERDICT_CHURN, T0);
	v.allowlisted = 1;
	assert_int_equal(replay_bans_verdict(f->rb, &v, &b),
	    REPLAY_UNBANNED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escalate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_never, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
