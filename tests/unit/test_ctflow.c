/*
 * Unit tests for the conntrack flow table: synthetic message sequences in
 * simulated time, checked event by event (kind, time, flags, counters),
 * and the table's own invariants (lists, hash chains, free list) checked
 * after every sequence.
 */
#include "unit.h"

#include "../../src/ctflow.c"
#include "unit_htab.h"

#include <arpa/inet.h>

#include <stdio.h>

#define SEC		CLOCK_US_PER_SEC
#define T0		(1700000000LL * SEC)
#define MAXEV		64

#include "clock.h"

struct rec {
	struct event	 ev[MAXEV];
	char		 svc[MAXEV][CONF_NAME_MAX];
	int		 n;
};

static struct conf *conf;

static int
setup(void **state)
{
	char	*cause = NULL;

	(void)state;
	if (conf_load(NULL, &conf, &cause) == -1) {
		fprintf(stderr, "conf_load: %s\n", cause);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	conf_free(conf);
	return 0;
}

static void
rec_cb(const struct event *ev, void *arg)
{
	struct rec	*r = arg;

	assert_true(r->n < MAXEV);
	r->ev[r->n] = *ev;
	/* The service string lives for the call only: keep a copy. */
	if (ev->service != NULL) {
		snprintf(r->svc[r->n], CONF_NAME_MAX, "%s", ev->service);
		r->ev[r->n].service = r->svc[r->n];
	}
	r->n++;
}

static void
rec_reset(struct rec *r)
{
	r->n = 0;
}

/* A message of the given type for flow (src, sport -> 192.0.2.1:dport). */
static struct ct_msg
msg(enum ct_msg_type type, int64_t t, uint32_t id, const char *src,
    uint16_t sport, uint16_t dport, uint8_t state, uint32_t status)
{
	struct ct_msg	 m;

	memset(&m, 0, sizeof m);
	m.type = type;
	m.time = t;
	m.id = id;
	assert_int_equal(addr_parse(src, &m.src, NULL), 0);
	assert_int_equal(addr_parse(m.src.family == AF_INET ? "192.0.2.1" :
	    "2001:db8::1", &m.dst, NULL), 0);
	m.sport = sport;
	m.dport = dport;
	m.tcp_state = state;
	m.status = status;
	return m;
}

static struct ct_msg
with_counters(struct ct_msg m, uint64_t bi, uint64_t pi, uint64_t bo,
    uint64_t po)
{
	m.has_counters = 1;
	m.bytes_orig = bi;
	m.pkts_orig = pi;
	m.bytes_reply = bo;
	m.pkts_reply = po;
	return m;
}

#define ASSURED		(CT_STATUS_SEEN_REPLY | CT_STATUS_ASSURED)
#define REPLIED		CT_STATUS_SEEN_REPLY

static void
apply(struct ctflow *ctf, struct rec *r, struct ct_msg m)
{
	ctflow_apply(ctf, conf, &m, rec_cb, r);
}

/*
 * The source index holds exactly the flows in use, each once on each
 * chain, in the bucket its source names, linked both ways.
 */
static void
check_index(const struct ctflow *ctf)
{
	uint32_t	 b, i, prev, n;
	int		 c;

	for (c = 0; c < CTFLOW_NCHAINS; c++) {
		n = 0;
		for (b = 0; b <= ctf->bmask; b++) {
			prev = 0;
			for (i = ctf->head[c][b]; i != 0;
			    i = ctf->link[c][i - 1].next) {
				assert_true(i <= ctf->capacity);
				assert_int_not_equal(htab_list_of(&ctf->tab,
				    i - 1), -1);
				assert_int_equal(ctflow_bucket(ctf, c,
				    &ctf->ents[i - 1].key.src), b);
				assert_int_equal(ctf->link[c][i - 1].prev,
				    prev);
				prev = i;
				assert_true(++n <= htab_used(&ctf->tab));
			}
		}
		assert_int_equal(n, htab_used(&ctf->tab));
	}
}

/* The table's structure agrees with itself and with the flows' states. */
static void
check_invariants(const struct ctflow *ctf)
{
	static const struct ctflow_ent	 zero;
	const struct ctflow_ent		*e;
	uint32_t			 i;
	int				 c;

	unit_htab_check(&ctf->tab);
	check_index(ctf);
	for (i = 0; i < ctf->capacity; i++) {
		e = &ctf->ents[i];
		if ((c = htab_list_of(&ctf->tab, i)) == -1) {
			assert_memory_equal(e, &zero, sizeof(zero));
			continue;
		}
		assert_int_equal(ctflow_find(ctf, &e->key,
		    ctflow_hash(ctf, &e->key)), i);
		/* Every flow emitted SYN or OPEN, and a closed one is
		 * open. */
		assert_true(e->fl & (CTFLOW_F_SYN | CTFLOW_F_OPEN));
		assert_int_equal(c == CTFLOW_HALF, !(e->fl & CTFLOW_F_OPEN));
		assert_int_equal(c == CTFLOW_CLOSED,
		    !!(e->fl & CTFLOW_F_CLOSED));
	}
}

static void
assert_ev(const struct rec *r, int i, enum event_kind kind, int64_t t,
    uint32_t flags)
{
	assert_true(i < r->n);
	assert_string_equal(event_kind_name(r->ev[i].kind),
	    event_kind_name(kind));
	assert_int_equal(r->ev[i].time, t);
	assert_int_equal(r->ev[i].flags, flags);
	assert_int_equal(r->ev[i].source, EVENT_SRC_CONNTRACK);
	assert_string_equal(r->ev[i].origin, "conntrack");
}

static void
assert_counters(const struct event *ev, uint64_t bi, uint64_t pi,
    uint64_t bo, uint64_t po)
{
	assert_int_equal(ev->bytes_in, bi);
	assert_int_equal(ev->pkts_in, pi);
	assert_int_equal(ev->bytes_out, bo);
	assert_int_equal(ev->pkts_out, po);
}

#define HS	EVENT_F_HANDSHAKE
#define WS	EVENT_F_WAS_SYN
#define PRE	EVENT_F_PREEXISTING
#define RS	EVENT_F_RESYNC

/* SYN, handshake, FIN, TIME_WAIT, DESTROY two minutes later. */
static void
test_lifecycle(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 1);
	struct ctflow_stats	 st;
	struct rec		 r = { .n = 0 };
	char			 buf[ADDR_STRLEN];

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 7, "198.51.100.9", 40000, 5222,
	    CT_TCP_SYN_SENT, 0));
	assert_int_equal(r.n, 1);
	assert_ev(&r, 0, EVENT_CONN_SYN, T0, WS);
	assert_string_equal(addr_ntop(&r.ev[0].addr, buf, sizeof buf),
	    "198.51.100.9");
	assert_int_equal(r.ev[0].port, 5222);
	assert_int_equal(r.ev[0].sport, 40000);
	assert_string_equal(r.ev[0].service, "c2s");
	assert_int_equal(r.ev[0].flow, 7);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.halfopen, 1);

	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 100, 7, "198.51.100.9", 40000,
	    5222, CT_TCP_SYN_RECV, REPLIED));
	assert_int_equal(r.n, 1);
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 200, 7, "198.51.100.9", 40000,
	    5222, CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 2);
	assert_ev(&r, 1, EVENT_CONN_OPEN, T0 + 200, HS | WS);
	assert_int_equal(r.ev[1].start, T0 + 200);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.halfopen, 0);
	assert_int_equal(st.flows, 1);

	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 60 * SEC, 7, "198.51.100.9",
	    40000, 5222, CT_TCP_FIN_WAIT, ASSURED));
	assert_int_equal(r.n, 3);
	assert_ev(&r, 2, EVENT_CONN_CLOSE, T0 + 60 * SEC, HS | WS);
	assert_int_equal(r.ev[2].duration, 60 * SEC - 200);
	assert_int_equal(r.ev[2].start, T0 + 200);

	/* Later closing states and DESTROY do not close it again. */
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 60 * SEC + 5, 7,
	    "198.51.100.9", 40000, 5222, CT_TCP_LAST_ACK, ASSURED));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 60 * SEC + 9, 7,
	    "198.51.100.9", 40000, 5222, CT_TCP_TIME_WAIT, ASSURED));
	assert_int_equal(r.n, 3);
	apply(ctf, &r, with_counters(msg(CT_MSG_DESTROY, T0 + 185 * SEC, 7,
	    "198.51.100.9", 40000, 5222, CT_TCP_UNKNOWN, ASSURED),
	    1320, 6, 1216, 4));
	assert_int_equal(r.n, 5);
	assert_ev(&r, 3, EVENT_CONN_BYTES, T0 + 185 * SEC, HS | WS);
	assert_counters(&r.ev[3], 1320, 6, 1216, 4);
	assert_ev(&r, 4, EVENT_CONN_END, T0 + 185 * SEC, HS | WS);
	assert_counters(&r.ev[4], 1320, 6, 1216, 4);
	assert_int_equal(r.ev[4].duration, 60 * SEC - 200);
	assert_int_equal(r.ev[4].start, T0 + 200);
	assert_string_equal(r.ev[4].service, "c2s");

	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.flows, 0);
	assert_int_equal(st.msgs, 7);
	assert_int_equal(st.ignored, 0);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/* A SYN proves nothing: without ASSURED nothing is ever OPEN. */
static void
test_syn_only(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 2);
	struct ctflow_stats	 st;
	struct rec		 r = { .n = 0 };

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 9, "203.0.113.5", 1234, 5269,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + SEC, 9, "203.0.113.5", 1234,
	    5269, CT_TCP_SYN_RECV, REPLIED));
	/* The reply seen (a SYN/ACK to whoever was spoofed) is not enough,
	 * nor ESTABLISHED without ASSURED (a loose mid-stream pickup). */
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 2 * SEC, 9, "203.0.113.5",
	    1234, 5269, CT_TCP_ESTABLISHED, REPLIED));
	/* Counters of a half-open flow are kept, never reported. */
	ctflow_resync_begin(ctf, 0);
	apply(ctf, &r, with_counters(msg(CT_MSG_DUMP, T0 + 3 * SEC, 9,
	    "203.0.113.5", 1234, 5269, CT_TCP_SYN_RECV, REPLIED), 60, 1, 120,
	    2));
	ctflow_resync_end(ctf, conf, T0 + 3 * SEC, rec_cb, &r);
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 4 * SEC, 9, "203.0.113.5",
	    1234, 5269, CT_TCP_CLOSE, REPLIED));
	assert_int_equal(r.n, 1);
	assert_ev(&r, 0, EVENT_CONN_SYN, T0, WS);
	assert_string_equal(r.ev[0].service, "s2s");
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.halfopen, 1);

	apply(ctf, &r, with_counters(msg(CT_MSG_DESTROY, T0 + 9 * SEC, 9,
	    "203.0.113.5", 1234, 5269, CT_TCP_UNKNOWN, REPLIED), 120, 2, 240,
	    4));
	assert_int_equal(r.n, 2);
	/* No HANDSHAKE: the tracker takes it off the half-open count. */
	assert_ev(&r, 1, EVENT_CONN_END, T0 + 9 * SEC, WS);
	assert_counters(&r.ev[1], 120, 2, 240, 4);
	assert_int_equal(r.ev[1].duration, 9 * SEC);
	assert_int_equal(r.ev[1].start, 0);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.halfopen, 0);
	assert_int_equal(st.flows, 0);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/* Connection refused: NEW, then DESTROY at once. */
static void
test_destroy_syn(void **state)
{
	struct ctflow	*ctf = ctflow_new(16, 3);
	struct rec	 r = { .n = 0 };

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 11, "198.51.100.1", 33574, 5223,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, with_counters(msg(CT_MSG_DESTROY, T0 + 18, 11,
	    "198.51.100.1", 33574, 5223, CT_TCP_CLOSE, 0), 60, 1, 40, 1));
	assert_int_equal(r.n, 2);
	assert_ev(&r, 0, EVENT_CONN_SYN, T0, WS);
	assert_ev(&r, 1, EVENT_CONN_END, T0 + 18, WS);
	assert_counters(&r.ev[1], 60, 1, 40, 1);
	assert_int_equal(r.ev[1].duration, 18);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/* A DESTROY may be the first to show a handshake whose UPDATE was lost. */
static void
test_destroy_reveals_open(void **state)
{
	struct ctflow	*ctf = ctflow_new(16, 3);
	struct rec	 r = { .n = 0 };

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 12, "198.51.100.1", 1000, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 5 * SEC, 12, "198.51.100.1",
	    1000, 5222, CT_TCP_UNKNOWN, ASSURED));
	assert_int_equal(r.n, 4);
	assert_ev(&r, 0, EVENT_CONN_SYN, T0, WS);
	assert_ev(&r, 1, EVENT_CONN_OPEN, T0 + 5 * SEC, HS | WS | RS);
	assert_ev(&r, 2, EVENT_CONN_CLOSE, T0 + 5 * SEC, HS | WS);
	assert_ev(&r, 3, EVENT_CONN_END, T0 + 5 * SEC, HS | WS);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/* Counter deltas: growth, no change, a reset, the final one at DESTROY. */
static void
test_counters(void **state)
{
	struct ctflow	*ctf = ctflow_new(16, 4);
	struct rec	 r = { .n = 0 };
	struct ct_msg	 d;

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 5, "198.51.100.2", 5000, 5280,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 1, 5, "198.51.100.2", 5000,
	    5280, CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 2);
	rec_reset(&r);

	d = msg(CT_MSG_DUMP, T0 + 10 * SEC, 5, "198.51.100.2", 5000, 5280,
	    CT_TCP_ESTABLISHED, ASSURED);
	/* Seen from its NEW, the flow started at zero. */
	apply(ctf, &r, with_counters(d, 1000, 10, 5000, 8));
	assert_int_equal(r.n, 1);
	assert_ev(&r, 0, EVENT_CONN_BYTES, T0 + 10 * SEC, HS | WS);
	assert_counters(&r.ev[0], 1000, 10, 5000, 8);
	assert_string_equal(r.ev[0].service, "http");

	d.time += 10 * SEC;
	apply(ctf, &r, with_counters(d, 1500, 12, 5000, 9));
	assert_int_equal(r.n, 2);
	assert_counters(&r.ev[1], 500, 2, 0, 1);

	/* No growth, no event. */
	d.time += 10 * SEC;
	apply(ctf, &r, with_counters(d, 1500, 12, 5000, 9));
	assert_int_equal(r.n, 2);

	/* Zeroed behind our back: what it holds now is new, never a
	 * negative delta. */
	d.time += 10 * SEC;
	apply(ctf, &r, with_counters(d, 30, 1, 40, 1));
	assert_int_equal(r.n, 3);
	assert_counters(&r.ev[2], 30, 1, 40, 1);

	apply(ctf, &r, with_counters(msg(CT_MSG_DESTROY, T0 + 60 * SEC, 5,
	    "198.51.100.2", 5000, 5280, CT_TCP_UNKNOWN, ASSURED), 70, 2, 40,
	    1));
	assert_int_equal(r.n, 6);
	assert_ev(&r, 3, EVENT_CONN_CLOSE, T0 + 60 * SEC, HS | WS);
	assert_ev(&r, 4, EVENT_CONN_BYTES, T0 + 60 * SEC, HS | WS);
	assert_counters(&r.ev[4], 40, 1, 0, 0);
	assert_ev(&r, 5, EVENT_CONN_END, T0 + 60 * SEC, HS | WS);
	/* The totals are what was counted, resets included. */
	assert_counters(&r.ev[5], 1000 + 500 + 30 + 40, 10 + 2 + 1 + 1,
	    5000 + 40, 8 + 1 + 1);
	assert_int_equal(r.ev[5].duration, 60 * SEC - 1);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/*
 * A session found by the start-up dump: its hours of traffic are its
 * baseline, not a burst to charge now.
 */
static void
test_preexisting(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 5);
	struct ctflow_stats	 st;
	struct rec		 r = { .n = 0 };
	struct ct_msg		 d;

	(void)state;
	ctflow_resync_begin(ctf, 1);
	d = with_counters(msg(CT_MSG_DUMP, T0, 21, "198.51.100.3", 6000, 5222,
	    CT_TCP_ESTABLISHED, ASSURED), 900000, 900, 800000, 800);
	d.start = T0 - 3600 * SEC;
	apply(ctf, &r, d);
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + 1, 22, "198.51.100.4", 6001, 5222,
	    CT_TCP_SYN_RECV, REPLIED));
	ctflow_resync_end(ctf, conf, T0 + 2, rec_cb, &r);
	assert_int_equal(r.n, 2);
	assert_ev(&r, 0, EVENT_CONN_OPEN, T0, HS | PRE);
	assert_int_equal(r.ev[0].start, T0 - 3600 * SEC);
	assert_ev(&r, 1, EVENT_CONN_SYN, T0 + 1, WS | PRE);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.resync_opened, 0);
	assert_int_equal(st.resync_closed, 0);

	d.time = T0 + 10 * SEC;
	d.bytes_orig += 100;
	apply(ctf, &r, d);
	assert_int_equal(r.n, 3);
	assert_ev(&r, 2, EVENT_CONN_BYTES, T0 + 10 * SEC, HS | PRE);
	assert_counters(&r.ev[2], 100, 0, 0, 0);

	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 20 * SEC, 21, "198.51.100.3",
	    6000, 5222, CT_TCP_CLOSE, ASSURED));
	assert_int_equal(r.n, 4);
	assert_ev(&r, 3, EVENT_CONN_CLOSE, T0 + 20 * SEC, HS | PRE);
	assert_int_equal(r.ev[3].duration, 3620 * SEC);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/* Full table: half-open first, then closed, then live; a SYN never
 * pushes out a session. */
static void
test_eviction(void **state)
{
	struct ctflow		*ctf = ctflow_new(2, 6);
	struct ctflow_stats	 st;
	struct rec		 r = { .n = 0 };

	(void)state;
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0, 1, "198.51.100.10", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 1, 2, "198.51.100.11", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 2);
	assert_ev(&r, 0, EVENT_CONN_OPEN, T0, HS | RS);
	rec_reset(&r);

	/* A flood SYN finds only sessions: it is the one dropped. */
	apply(ctf, &r, msg(CT_MSG_NEW, T0 + 2, 3, "203.0.113.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	assert_int_equal(r.n, 0);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.flows, 2);
	/* ... and its DESTROY is a stranger. */
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 3, 3, "203.0.113.1", 1, 5222,
	    CT_TCP_UNKNOWN, 0));
	assert_int_equal(r.n, 0);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.unknown, 1);

	/* Flow 1 is touched, so flow 2 is the idlest; flow 2 closes. */
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 4, 1, "198.51.100.10", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 5, 2, "198.51.100.11", 1, 5222,
	    CT_TCP_TIME_WAIT, ASSURED));
	assert_int_equal(r.n, 1);
	rec_reset(&r);

	/* A new session evicts the closed flow before the live one. */
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 6, 4, "198.51.100.12", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 2);
	assert_ev(&r, 0, EVENT_CONN_END, T0 + 6, HS | RS);
	assert_int_equal(r.ev[0].flow, 2);
	assert_ev(&r, 1, EVENT_CONN_OPEN, T0 + 6, HS | RS);
	assert_int_equal(r.ev[1].flow, 4);
	rec_reset(&r);

	/* Then the idlest live one: it gets its CLOSE and END. */
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 7, 5, "198.51.100.13", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 3);
	assert_ev(&r, 0, EVENT_CONN_CLOSE, T0 + 7, HS | RS);
	assert_int_equal(r.ev[0].flow, 1);
	assert_ev(&r, 1, EVENT_CONN_END, T0 + 7, HS | RS);
	assert_int_equal(r.ev[1].flow, 1);
	assert_ev(&r, 2, EVENT_CONN_OPEN, T0 + 7, HS | RS);
	rec_reset(&r);

	/* A half-open flow goes first of all. */
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 8, 4, "198.51.100.12", 1,
	    5222, CT_TCP_UNKNOWN, ASSURED));
	apply(ctf, &r, msg(CT_MSG_NEW, T0 + 9, 6, "203.0.113.2", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	rec_reset(&r);
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 10, 7, "198.51.100.14", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 2);
	assert_ev(&r, 0, EVENT_CONN_END, T0 + 10, WS | RS);
	assert_int_equal(r.ev[0].flow, 6);
	assert_ev(&r, 1, EVENT_CONN_OPEN, T0 + 10, HS | RS);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.evicted, 4);
	assert_int_equal(st.flows, 2);
	check_invariants(ctf);
	ctflow_free(ctf);

	/* A table full of a flood: a half-open flow from a dump is dropped
	 * (no SYN, no END: nothing to cycle), one from a live NEW evicts
	 * the oldest, a session evicts one too. */
	ctf = ctflow_new(2, 7);
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 1, "203.0.113.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_NEW, T0 + 1, 2, "203.0.113.2", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	rec_reset(&r);
	ctflow_resync_begin(ctf, 0);
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + 2, 1, "203.0.113.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + 2, 2, "203.0.113.2", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + 2, 3, "203.0.113.3", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	ctflow_resync_end(ctf, conf, T0 + 3, rec_cb, &r);
	assert_int_equal(r.n, 0);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.halfopen, 2);
	apply(ctf, &r, msg(CT_MSG_NEW, T0 + 4, 4, "203.0.113.4", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	assert_int_equal(r.n, 2);
	assert_ev(&r, 0, EVENT_CONN_END, T0 + 4, WS | RS);
	assert_int_equal(r.ev[0].flow, 1);
	assert_ev(&r, 1, EVENT_CONN_SYN, T0 + 4, WS);
	rec_reset(&r);
	ctflow_resync_begin(ctf, 0);
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + 5, 5, "198.51.100.5", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 2);
	assert_ev(&r, 0, EVENT_CONN_END, T0 + 5, WS | RS);
	assert_int_equal(r.ev[0].flow, 2);
	assert_ev(&r, 1, EVENT_CONN_OPEN, T0 + 5, HS | RS);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/* A later dump: flows gone are ended, unknown ones made up, all flagged. */
static void
test_resync(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 7);
	struct ctflow_stats	 st;
	struct rec		 r = { .n = 0 };
	int			 i, seen_d = 0, seen_e = 0;

	(void)state;
	/* A open, B half-open, C open. */
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 2, "198.51.100.2", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 3, "198.51.100.3", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 1, 3, "198.51.100.3", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	rec_reset(&r);

	ctflow_resync_begin(ctf, 0);
	/* A is still there, unchanged: nothing to say. */
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + SEC, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	assert_int_equal(r.n, 0);
	/* D opened in the gap; E opened and closed in it. */
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + SEC, 4, "198.51.100.4", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + SEC, 5, "198.51.100.5", 1, 5222,
	    CT_TCP_TIME_WAIT, ASSURED));
	assert_int_equal(r.n, 3);
	assert_ev(&r, 0, EVENT_CONN_OPEN, T0 + SEC, HS | RS);
	assert_int_equal(r.ev[0].flow, 4);
	assert_ev(&r, 1, EVENT_CONN_OPEN, T0 + SEC, HS | RS);
	assert_ev(&r, 2, EVENT_CONN_CLOSE, T0 + SEC, HS | RS);
	assert_int_equal(r.ev[2].flow, 5);
	rec_reset(&r);

	/* B and C are gone. */
	ctflow_resync_end(ctf, conf, T0 + 2 * SEC, rec_cb, &r);
	assert_int_equal(r.n, 3);
	for (i = 0; i < r.n; i++) {
		assert_int_equal(r.ev[i].time, T0 + 2 * SEC);
		assert_true(r.ev[i].flags & RS);
	}
	/* Half-open first (class order), then live. */
	assert_ev(&r, 0, EVENT_CONN_END, T0 + 2 * SEC, WS | RS);
	assert_int_equal(r.ev[0].flow, 2);
	assert_ev(&r, 1, EVENT_CONN_CLOSE, T0 + 2 * SEC, HS | WS | RS);
	assert_int_equal(r.ev[1].flow, 3);
	assert_ev(&r, 2, EVENT_CONN_END, T0 + 2 * SEC, HS | WS | RS);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.resync_closed, 2);
	assert_int_equal(st.resync_opened, 2);
	assert_int_equal(st.flows, 3);
	rec_reset(&r);

	/* A live message during a dump also proves its flow exists. */
	ctflow_resync_begin(ctf, 0);
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 3 * SEC, 1, "198.51.100.1", 1,
	    5222, CT_TCP_ESTABLISHED, ASSURED));
	apply(ctf, &r, msg(CT_MSG_DUMP, T0 + 3 * SEC, 4, "198.51.100.4", 1,
	    5222, CT_TCP_ESTABLISHED, ASSURED));
	ctflow_resync_end(ctf, conf, T0 + 4 * SEC, rec_cb, &r);
	for (i = 0; i < r.n; i++) {
		seen_d |= r.ev[i].flow == 1 || r.ev[i].flow == 4;
		seen_e |= r.ev[i].flow == 5;
	}
	assert_false(seen_d);
	assert_true(seen_e);
	assert_int_equal(r.n, 1);	/* E was closed already: END only */
	assert_ev(&r, 0, EVENT_CONN_END, T0 + 4 * SEC, HS | RS);
	check_invariants(ctf);
	ctflow_free(ctf);
}

static void
test_ignored(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 8);
	struct ctflow_stats	 st;
	struct rec		 r = { .n = 0 };
	struct ct_msg		 m;

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 1, "198.51.100.1", 1, 443,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0, 1, "198.51.100.1", 1, 443,
	    CT_TCP_ESTABLISHED, ASSURED));
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0, 1, "198.51.100.1", 1, 443,
	    CT_TCP_UNKNOWN, ASSURED));
	/* No address at all. */
	m = msg(CT_MSG_NEW, T0, 2, "198.51.100.1", 1, 5222, CT_TCP_SYN_SENT,
	    0);
	memset(&m.src, 0, sizeof m.src);
	apply(ctf, &r, m);
	assert_int_equal(r.n, 0);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.ignored, 4);
	assert_int_equal(st.msgs, 4);
	assert_int_equal(st.flows, 0);
	assert_int_equal(st.unknown, 0);
	check_invariants(ctf);
	ctflow_free(ctf);
}

static void
test_ipv6(void **state)
{
	struct ctflow	*ctf = ctflow_new(16, 9);
	struct rec	 r = { .n = 0 };
	char		 buf[ADDR_STRLEN];

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 0, "2001:db8:1::7", 50000, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 5, 0, "2001:db8:1::7", 50000,
	    5222, CT_TCP_ESTABLISHED, ASSURED));
	/* Same address, another port: another flow. */
	apply(ctf, &r, msg(CT_MSG_NEW, T0 + 6, 0, "2001:db8:1::7", 50001, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 7, 0, "2001:db8:1::7", 50000,
	    5222, CT_TCP_CLOSE, ASSURED));
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 8, 0, "2001:db8:1::7", 50000,
	    5222, CT_TCP_UNKNOWN, ASSURED));
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 9, 0, "2001:db8:1::7", 50001,
	    5222, CT_TCP_UNKNOWN, 0));
	assert_int_equal(r.n, 6);
	assert_ev(&r, 0, EVENT_CONN_SYN, T0, WS);
	assert_string_equal(addr_ntop(&r.ev[0].addr, buf, sizeof buf),
	    "2001:db8:1::7");
	assert_int_equal(r.ev[0].flow, 0);
	assert_ev(&r, 1, EVENT_CONN_OPEN, T0 + 5, HS | WS);
	assert_ev(&r, 2, EVENT_CONN_SYN, T0 + 6, WS);
	assert_int_equal(r.ev[2].sport, 50001);
	assert_ev(&r, 3, EVENT_CONN_CLOSE, T0 + 7, HS | WS);
	assert_int_equal(r.ev[3].duration, 2);
	assert_ev(&r, 4, EVENT_CONN_END, T0 + 8, HS | WS);
	assert_int_equal(r.ev[4].sport, 50000);
	assert_ev(&r, 5, EVENT_CONN_END, T0 + 9, WS);
	assert_int_equal(r.ev[5].sport, 50001);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/*
 * Without ids the tuple is the key; with ids two flows may share a tuple
 * (one in TIME_WAIT, one new on the reused port) and stay apart.
 */
static void
test_keys(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 10);
	struct ctflow_stats	 st;
	struct rec		 r = { .n = 0 };

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 100, "198.51.100.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 101, "198.51.100.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 0, "198.51.100.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	/* Another server address: another flow. */
	{
		struct ct_msg	 m = msg(CT_MSG_NEW, T0, 0, "198.51.100.1", 1,
		    5222, CT_TCP_SYN_SENT, 0);

		assert_int_equal(addr_parse("192.0.2.2", &m.dst, NULL), 0);
		apply(ctf, &r, m);
	}
	assert_int_equal(r.n, 4);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.flows, 4);
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0, 101, "198.51.100.1", 1, 5222,
	    CT_TCP_UNKNOWN, 0));
	assert_int_equal(r.n, 5);
	assert_int_equal(r.ev[4].flow, 101);
	ctflow_get_stats(ctf, &st);
	assert_int_equal(st.flows, 3);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/* The default configuration's c2s service (tests change its ports). */
static struct conf_service *
service_c2s(void)
{
	int	i;

	for (i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, "c2s") == 0)
			return &conf->services[i];
	fail();
	return NULL;
}

/* A reload that unwatches a port does not orphan its open flows. */
static void
test_reload(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 11);
	struct rec		 r = { .n = 0 };
	struct conf_service	*c2s;
	int			 saved;

	(void)state;
	c2s = service_c2s();

	apply(ctf, &r, msg(CT_MSG_UPDATE, T0, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	saved = c2s->nports;
	c2s->nports = 0;
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 1, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_FIN_WAIT, ASSURED));
	/* ... but new flows to it are no longer watched. */
	apply(ctf, &r, msg(CT_MSG_NEW, T0 + 2, 2, "198.51.100.2", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 3, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_UNKNOWN, ASSURED));
	c2s->nports = saved;
	assert_int_equal(r.n, 3);
	assert_ev(&r, 1, EVENT_CONN_CLOSE, T0 + 1, HS);
	assert_string_equal(r.ev[1].service, "c2s");
	assert_ev(&r, 2, EVENT_CONN_END, T0 + 3, HS);
	assert_string_equal(r.ev[2].service, "c2s");
	check_invariants(ctf);
	ctflow_free(ctf);
}

/*
 * The dump's shortcut: a flow to a watched port, or one in the table on a
 * port a reload unwatched, is wanted; any other is counted as ignored, as
 * ctflow_apply() counts it.
 */
static void
test_wanted(void **state)
{
	struct ctflow		*ctf = ctflow_new(16, 13);
	struct rec		 r = { .n = 0 };
	struct conf_service	*c2s;
	struct ctflow_stats	 st, st2;
	struct ct_msg		 m;
	int			 saved;

	(void)state;
	c2s = service_c2s();
	m = msg(CT_MSG_DUMP, T0, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED);
	assert_true(ctflow_wanted(ctf, conf, &m));
	apply(ctf, &r, m);
	m = msg(CT_MSG_DUMP, T0, 2, "198.51.100.2", 1, 80,
	    CT_TCP_ESTABLISHED, ASSURED);
	ctflow_get_stats(ctf, &st);
	assert_false(ctflow_wanted(ctf, conf, &m));
	apply(ctf, &r, m);
	saved = c2s->nports;
	c2s->nports = 0;
	m = msg(CT_MSG_DUMP, T0, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED);
	assert_true(ctflow_wanted(ctf, conf, &m));
	m.id = 3;
	assert_false(ctflow_wanted(ctf, conf, &m));
	c2s->nports = saved;
	/* The port-80 flow by each path, and the one of no flow. */
	ctflow_get_stats(ctf, &st2);
	assert_int_equal(st2.ignored, st.ignored + 3);
	assert_int_equal(st2.msgs, st.msgs + 3);
	ctflow_free(ctf);
}

/* Stale messages (queued behind a dump) never move a flow backwards. */
static void
test_stale(void **state)
{
	struct ctflow	*ctf = ctflow_new(16, 12);
	struct rec	 r = { .n = 0 };

	(void)state;
	apply(ctf, &r, msg(CT_MSG_NEW, T0, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 1, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_TIME_WAIT, ASSURED));
	assert_int_equal(r.n, 3);
	apply(ctf, &r, msg(CT_MSG_NEW, T0 + 2, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 3, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 4, 1, "198.51.100.1", 1, 5222,
	    CT_TCP_FIN_WAIT, ASSURED));
	assert_int_equal(r.n, 3);
	check_invariants(ctf);
	ctflow_free(ctf);
}

/*
 * Many flows through a small table in a pseudo-random order: whatever
 * happens, every flow that emitted a SYN or an OPEN emits exactly one END,
 * CLOSE follows OPEN exactly once, and the structure stays consistent.
 */
static struct {
	int	 started;		/* SYN or OPEN-first */
	int	 opened;
	int	 closed;
	int	 ended;
} soak[512];

static void
soak_cb(const struct event *ev, void *arg)
{
	uint32_t	 id = (uint32_t)ev->flow;

	(void)arg;
	assert_true(id < 512);
	switch (ev->kind) {
	case EVENT_CONN_SYN:
		assert_int_equal(soak[id].started, 0);
		soak[id].started = 1;
		break;
	case EVENT_CONN_OPEN:
		assert_int_equal(soak[id].opened, 0);
		assert_int_equal(!!(ev->flags & EVENT_F_WAS_SYN),
		    soak[id].started);
		soak[id].started = soak[id].opened = 1;
		break;
	case EVENT_CONN_CLOSE:
		assert_int_equal(soak[id].opened, 1);
		assert_int_equal(soak[id].closed, 0);
		soak[id].closed = 1;
		break;
	case EVENT_CONN_END:
		assert_int_equal(soak[id].started, 1);
		assert_int_equal(soak[id].ended, 0);
		assert_int_equal(soak[id].closed, soak[id].opened);
		assert_int_equal(!!(ev->flags & EVENT_F_HANDSHAKE),
		    soak[id].opened);
		/* A flow may come back after an eviction. */
		memset(&soak[id], 0, sizeof soak[id]);
		break;
	case EVENT_CONN_BYTES:
		assert_int_equal(soak[id].opened, 1);
		break;
	default:
		fail();
	}
}

static void
test_soak(void **state)
{
	static const uint8_t	 states[] = {
		CT_TCP_SYN_SENT, CT_TCP_SYN_RECV, CT_TCP_ESTABLISHED,
		CT_TCP_FIN_WAIT, CT_TCP_TIME_WAIT, CT_TCP_CLOSE
	};
	struct ctflow		*ctf = ctflow_new(64, 13);
	struct ctflow_stats	 st;
	uint32_t		 x = 12345, id;
	struct ct_msg		 m;
	char			 src[32];
	int			 step, kind;

	(void)state;
	memset(soak, 0, sizeof soak);
	for (step = 0; step < 200000; step++) {
		x = x * 1103515245 + 12345;
		id = (x >> 8) % 512;
		kind = (int)((x >> 20) % 16);
		snprintf(src, sizeof src, "10.0.%u.%u", id / 256, id % 256);
		if (kind == 0)
			ctflow_resync_begin(ctf, 0);
		else if (kind == 1)
			ctflow_resync_end(ctf, conf, T0 + step, soak_cb, NULL);
		m = msg(kind < 4 ? CT_MSG_NEW : kind < 12 ? CT_MSG_UPDATE :
		    kind < 14 ? CT_MSG_DUMP : CT_MSG_DESTROY, T0 + step, id,
		    src, 1000, 5222, states[(x >> 12) % 6],
		    (x >> 16) & 1 ? ASSURED : REPLIED);
		if (kind >= 12)
			m = with_counters(m, x % 1000, x % 10, x % 2000, x % 7);
		ctflow_apply(ctf, conf, &m, soak_cb, NULL);
		if (step % 10000 == 0)
			check_invariants(ctf);
	}
	check_invariants(ctf);
	ctflow_get_stats(ctf, &st);
	assert_true(st.flows <= 64);
	assert_true(st.evicted > 0);
	ctflow_free(ctf);
}

/* Counts what ctflow_of_prefix() hands out, checking each is inside. */
struct of_rec {
	const struct prefix *p;
	size_t		 n;
	size_t		 open;
};

static void
of_cb(const struct ctflow_tuple *t, void *arg)
{
	struct of_rec	*r = arg;

	assert_true(addr_prefix_contains(r->p, &t->src));
	assert_int_equal(t->dport, 5222);
	r->n++;
	r->open += t->open != 0;
}

static size_t
of(const struct ctflow *ctf, const char *pfx, size_t *open)
{
	struct prefix	 p;
	struct of_rec	 r;
	size_t		 n;

	assert_int_equal(addr_prefix_parse(pfx, &p, 0), 0);
	memset(&r, 0, sizeof r);
	r.p = &p;
	n = ctflow_of_prefix(ctf, &p, of_cb, &r);
	assert_int_equal(n, r.n);
	if (open != NULL)
		*open = r.open;
	return n;
}

/* The flows of a prefix, IPv4: by address, by /24, by a wider prefix. */
static void
test_index_v4(void **state)
{
	static const char *const srcs[] = {
		"198.51.100.9", "198.51.100.9", "198.51.100.10",
		"198.51.101.1", "203.0.113.5"
	};
	struct ctflow	*ctf = ctflow_new(16, 3);
	struct rec	 r = { .n = 0 };
	size_t		 i, open;

	(void)state;
	for (i = 0; i < 5; i++)
		apply(ctf, &r, msg(CT_MSG_NEW, T0, (uint32_t)i + 1, srcs[i],
		    (uint16_t)(40000 + i), 5222, CT_TCP_SYN_SENT, 0));
	apply(ctf, &r, msg(CT_MSG_UPDATE, T0 + 1, 1, srcs[0], 40000, 5222,
	    CT_TCP_ESTABLISHED, ASSURED));
	check_invariants(ctf);
	assert_int_equal(of(ctf, "198.51.100.9/32", &open), 2);
	assert_int_equal(open, 1);
	assert_int_equal(of(ctf, "198.51.100.10/32", NULL), 1);
	assert_int_equal(of(ctf, "198.51.100.11/32", NULL), 0);
	assert_int_equal(of(ctf, "198.51.100.8/30", NULL), 3);
	assert_int_equal(of(ctf, "198.51.100.8/31", NULL), 2);
	assert_int_equal(of(ctf, "198.51.100.0/24", NULL), 3);
	assert_int_equal(of(ctf, "198.51.101.0/24", NULL), 1);
	assert_int_equal(of(ctf, "198.51.100.0/23", NULL), 4);
	assert_int_equal(of(ctf, "198.51.0.0/16", NULL), 4);
	assert_int_equal(of(ctf, "198.0.0.0/8", NULL), 4);
	assert_int_equal(of(ctf, "203.0.113.0/24", NULL), 1);
	/* Of the other family: nothing. */
	assert_int_equal(of(ctf, "::/0", NULL), 0);

	/* Gone from the table, gone from the index. */
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 2, 1, srcs[0], 40000, 5222,
	    CT_TCP_CLOSE, ASSURED));
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 2, 3, srcs[2], 40002, 5222,
	    CT_TCP_CLOSE, 0));
	check_invariants(ctf);
	assert_int_equal(of(ctf, "198.51.100.9/32", NULL), 1);
	assert_int_equal(of(ctf, "198.51.100.10/32", NULL), 0);
	assert_int_equal(of(ctf, "198.51.100.0/24", NULL), 1);
	assert_int_equal(of(ctf, "198.51.0.0/16", NULL), 2);
	ctflow_free(ctf);
}

/* IPv6: by /128, by /64, by a prefix spanning groups, by a wide one. */
static void
test_index_v6(void **state)
{
	static const char *const srcs[] = {
		"2001:db8:1:2::5", "2001:db8:1:2::5", "2001:db8:1:2::6",
		"2001:db8:1:3::1", "2001:db8:2::1", "2001:db9::1"
	};
	struct ctflow	*ctf = ctflow_new(16, 5);
	struct rec	 r = { .n = 0 };
	size_t		 i;

	(void)state;
	for (i = 0; i < 6; i++)
		apply(ctf, &r, msg(CT_MSG_NEW, T0, (uint32_t)i + 1, srcs[i],
		    (uint16_t)(40000 + i), 5222, CT_TCP_SYN_SENT, 0));
	check_invariants(ctf);
	assert_int_equal(of(ctf, "2001:db8:1:2::5/128", NULL), 2);
	assert_int_equal(of(ctf, "2001:db8:1:2::/96", NULL), 3);
	assert_int_equal(of(ctf, "2001:db8:1:2::/64", NULL), 3);
	assert_int_equal(of(ctf, "2001:db8:1:2::/63", NULL), 4);
	assert_int_equal(of(ctf, "2001:db8:1::/48", NULL), 4);
	assert_int_equal(of(ctf, "2001:db8::/32", NULL), 5);
	assert_int_equal(of(ctf, "2001::/16", NULL), 6);
	assert_int_equal(of(ctf, "0.0.0.0/8", NULL), 0);
	apply(ctf, &r, msg(CT_MSG_DESTROY, T0 + 2, 4, srcs[3], 40003, 5222,
	    CT_TCP_CLOSE, 0));
	check_invariants(ctf);
	assert_int_equal(of(ctf, "2001:db8:1::/48", NULL), 3);
	ctflow_free(ctf);
}

/* A full table: evicted flows leave the index, newcomers join it. */
static void
test_index_evict(void **state)
{
	struct ctflow	*ctf = ctflow_new(8, 9);
	struct rec	 r = { .n = 0 };
	char		 src[32];
	int		 i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(src, sizeof src, "192.0.2.%d", i);
		rec_reset(&r);
		apply(ctf, &r, msg(CT_MSG_NEW, T0 + i, (uint32_t)i + 1, src,
		    1000, 5222, CT_TCP_SYN_SENT, 0));
		check_invariants(ctf);
	}
	assert_int_equal(of(ctf, "192.0.2.0/24", NULL), 8);
	assert_int_equal(of(ctf, "192.0.2.0/32", NULL), 0);
	assert_int_equal(of(ctf, "192.0.2.19/32", NULL), 1);
	ctflow_free(ctf);
}

static void
test_free_null(void **state)
{
	(void)state;
	ctflow_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_syn_only),
		cmocka_unit_test(test_destroy_syn),
		cmocka_unit_test(test_destroy_reveals_open),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_preexisting),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_soak),
		cmocka_unit_test(test_index_v4),
		cmocka_unit_test(test_index_v6),
		cmocka_unit_test(test_index_evict),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests_name("ctflow", tests, setup, teardown);
}
