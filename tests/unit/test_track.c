/*
 * Unit tests for track.c, in simulated time: every event carries its own
 * time and nothing reads the clock.  Scenarios (a churn bot, a concurrency
 * hog, a bandwidth hog, a forged SYN flood, a NAT, a network of many
 * small offenders, reloads) run against the real rules, and a checker
 * verifies the table's invariants after the rough ones.
 */
#include "unit.h"

#include "../../src/track.c"
#include "unit_htab.h"

#include <stdio.h>
#include <stdlib.h>

#include "xmalloc.h"

#define S	1000000LL
#define MIN	(60 * S)
#define HOUR	(3600 * S)
#define T0	(1699999200LL * S)	/* on an hour: buckets start here */
#define K	1024

#define SINK_MAX	64

struct sink {
	int		 n;
	struct verdict	 v[SINK_MAX];
};

struct fx {
	struct conf	*conf;
	struct track	*t;
	struct sink	 sink;
};

static void
sink_cb(const struct verdict *v, void *arg)
{
	struct sink	*k = arg;

	if (k->n < SINK_MAX)
		k->v[k->n] = *v;
	k->n++;
}

static struct conf_service *
service(struct conf *conf, const char *name)
{
	int	i;

	for (i = 0; i < conf->nservices; i++) {
		if (strcmp(conf->services[i].name, name) == 0)
			return &conf->services[i];
	}
	fail_msg("no service %s", name);
	return NULL;
}

/* The built-in configuration, with every figure a test relies on set
 * here rather than taken from defaults that may move. */
static struct conf *
load(void)
{
	struct conf		*conf = NULL;
	struct conf_service	*svc;
	char			*cause = NULL;

	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	conf->track_prefix4 = 24;
	conf->track_prefix6 = 64;
	conf->short_lived = 10 * S;
	svc = service(conf, "c2s");
	svc->max_concurrent = 50;
	svc->max_new.count = 120;
	svc->max_new.window = HOUR;
	svc->karma.rate = 10 * K;
	svc->karma.burst = 256 * K;
	svc->net_max_concurrent = 200;
	svc->net_max_new.count = 600;
	svc->net_max_new.window = HOUR;
	svc = service(conf, "s2s");
	svc->max_concurrent = 20;
	svc->max_new.count = 60;
	svc->max_new.window = HOUR;
	svc = service(conf, "http");
	svc->max_concurrent = 100;
	svc->max_new.count = 3000;
	svc->max_new.window = HOUR;
	return conf;
}

static int
setup(void **state)
{
	struct fx	*f = xcalloc(1, sizeof(*f));

	f->conf = load();
	f->t = track_new(4096, 0x5eed);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	track_free(f->t);
	conf_free(f->conf);
	free(f);
	return 0;
}

static struct addr
ad(const char *s)
{
	struct addr	a;

	assert_int_equal(addr_parse(s, &a, NULL), 0);
	return a;
}

static struct addr
ad4(uint32_t v)
{
	uint8_t		b[4] = { v >> 24, v >> 16, v >> 8, v };
	struct addr	a;

	addr_from_v4(&a, b);
	return a;
}

static void
feed_full(struct fx *f, enum event_kind kind, struct addr a,
    const char *svc, int64_t time, uint32_t flags, uint64_t in,
    uint64_t out, int64_t duration)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.addr = a;
	ev.service = svc;
	ev.port = 0;
	ev.time = time;
	ev.flags = flags;
	ev.bytes_in = in;
	ev.bytes_out = out;
	ev.duration = duration;
	ev.source = EVENT_SRC_CONNTRACK;
	track_event(f->t, f->conf, &ev, sink_cb, &f->sink);
}

static void
syn(struct fx *f, struct addr a, int64_t time)
{
	feed_full(f, EVENT_CONN_SYN, a, "c2s", time, 0, 0, 0, 0);
}

static void
opn(struct fx *f, struct addr a, int64_t time)
{
	feed_full(f, EVENT_CONN_OPEN, a, "c2s", time, EVENT_F_HANDSHAKE, 0,
	    0, 0);
}

static void
cls(struct fx *f, struct addr a, int64_t time, int64_t duration)
{
	feed_full(f, EVENT_CONN_CLOSE, a, "c2s", time, EVENT_F_HANDSHAKE, 0,
	    0, duration);
}

static void
bytes(struct fx *f, struct addr a, int64_t time, uint64_t in, uint64_t out)
{
	feed_full(f, EVENT_CONN_BYTES, a, "c2s", time, EVENT_F_HANDSHAKE, in,
	    out, 0);
}

static const char *
pstr(const struct prefix *p)
{
	static char	buf[ADDR_PREFIX_STRLEN];

	return addr_prefix_ntop(p, buf, sizeof(buf));
}

/* The slot of (prefix, service), or NULL if there is no entry. */
static struct track_slot *
slot_of(struct track *t, const char *prefix, const char *svc)
{
	struct prefix	p;
	uint32_t	i;
	int		s;

	assert_int_equal(addr_prefix_parse(prefix, &p, 0), 0);
	if ((i = track_find(t, &p)) == TRACK_NIL)
		return NULL;
	s = track_slot_lookup(t, svc);
	assert_int_not_equal(s, -1);
	return &t->slot[s][i];
}

/*
 * The table's invariants: the hash table's own (unit_htab.h), every used
 * entry is found where it is, free entries and their slots are zero, and
 * the count is right.
 */
static void
check_table(const struct track *t)
{
	static const struct track_entry	zero;
	uint32_t			i, n = 0;
	int				s;

	unit_htab_check(&t->tab);
	for (i = 0; i < t->capacity; i++) {
		if (htab_list_of(&t->tab, i) >= 0) {
			assert_int_equal(track_find(t, &t->e[i].key), i);
			n++;
			continue;
		}
		assert_memory_equal(&t->e[i], &zero, sizeof(zero));
		for (s = 0; s < TRACK_SLOTS; s++) {
			if (t->slot[s] != NULL)
				assert_int_equal(t->slot[s][i].live, 0);
		}
	}
	assert_int_equal(t->stats.entries, n);
}

/* A churn bot: 130 connections, 10 s apart, each closed at once. */
static void
test_track_churn_bot(void **state)
{
	struct fx	*f = *state;
	struct addr	 bot = ad("198.51.100.7");
	int64_t		 t;
	int		 i;

	for (i = 1; i <= 130; i++) {
		t = T0 + i * 10 * S;
		opn(f, bot, t);
		cls(f, bot, t + S, S);
		/* None before the 121st, exactly one from it on. */
		assert_int_equal(f->sink.n, i > 120);
		if (i == 121) {
			assert_int_equal(f->sink.v[0].rule, VERDICT_CHURN);
			assert_true(f->sink.v[0].time == t);
			assert_int_equal(f->sink.v[0].observed, 121);
			assert_int_equal(f->sink.v[0].limit, 120);
			assert_true(f->sink.v[0].window == HOUR);
			assert_string_equal(pstr(&f->sink.v[0].prefix),
			    "198.51.100.7/32");
			assert_string_equal(f->sink.v[0].reason, "churn: 121 "
			    "new c2s connections in 1h (limit 120)");
			assert_int_equal(f->sink.v[0].allowlisted, 0);
		}
	}
	assert_int_equal(slot_of(f->t, "198.51.100.7", "c2s")->short_lived,
	    130);
	assert_int_equal(slot_of(f->t, "198.51.100.7", "c2s")->live, 0);
}

/* 100 an hour for two hours, and 119 an hour for five: never. */
static void
test_track_churn_slow(void **state)
{
	struct fx	*f = *state;
	struct addr	 a = ad("198.51.100.8"), b = ad("198.51.100.9");
	int64_t		 t;
	int		 i;

	for (i = 0; i < 200; i++) {
		t = T0 + i * 36 * S;
		opn(f, a, t);
		cls(f, a, t + 20 * S, 20 * S);
	}
	for (i = 0; i < 5 * 119; i++) {
		t = T0 + i * HOUR / 119;
		opn(f, b, t);
		cls(f, b, t + S, S);
	}
	assert_int_equal(f->sink.n, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.8", "c2s")->short_lived, 0);
}

/*
 * The window's edges: connections more than an hour old never count;
 * those within the last five sixths always do.  After the count falls
 * back under the limit, a new burst is a new offence.
 */
static void
test_track_churn_window(void **state)
{
	struct fx	*f = *state;
	struct addr	 a = ad("198.51.100.10"), b = ad("198.51.100.11");
	int		 i;

	for (i = 0; i < 120; i++) {
		opn(f, a, T0 + i * S / 2);
		cls(f, a, T0 + i * S / 2 + 1, 1);
		opn(f, b, T0 + i * S / 2);
		cls(f, b, T0 + i * S / 2 + 1, 1);
	}
	assert_int_equal(f->sink.n, 0);
	opn(f, a, T0 + 55 * MIN);	/* 121 within the hour */
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].observed, 121);
	opn(f, b, T0 + 61 * MIN);	/* the first 120 are over an hour old */
	assert_int_equal(f->sink.n, 1);

	/* Standing: more connections within the hour say nothing new. */
	for (i = 0; i < 20; i++) {
		opn(f, a, T0 + 56 * MIN + i * S);
		cls(f, a, T0 + 56 * MIN + i * S + 1, 1);
	}
	assert_int_equal(f->sink.n, 1);
	/* Two hours later the count is back under: the flag clears, and a
	 * new burst is reported again. */
	for (i = 0; i < 121; i++) {
		opn(f, a, T0 + 3 * HOUR + i * S);
		cls(f, a, T0 + 3 * HOUR + i * S + 1, 1);
	}
	assert_int_equal(f->sink.n, 2);
	assert_int_equal(f->sink.v[1].rule, VERDICT_CHURN);
	assert_int_equal(f->sink.v[1].observed, 121);
	assert_true(f->sink.v[1].time == T0 + 3 * HOUR + 120 * S);
}

/* A concurrency hog, its return under the limit and its re-offence. */
static void
test_track_concurrency_hog(void **state)
{
	struct fx	*f = *state;
	struct addr	 hog = ad("198.51.100.20");
	int64_t		 t = T0;
	int		 i;

	for (i = 1; i <= 60; i++) {
		opn(f, hog, t += S);
		assert_int_equal(f->sink.n, i > 50);
	}
	assert_int_equal(f->sink.v[0].rule, VERDICT_CONCURRENCY);
	assert_int_equal(f->sink.v[0].observed, 51);
	assert_int_equal(f->sink.v[0].limit, 50);
	assert_string_equal(f->sink.v[0].reason,
	    "concurrency: 51 live c2s connections (limit 50)");
	for (i = 0; i < 14; i++)
		cls(f, hog, t += S, 30 * S);
	assert_int_equal(slot_of(f->t, "198.51.100.20", "c2s")->live, 46);
	for (i = 0; i < 4; i++)
		opn(f, hog, t += S);
	assert_int_equal(f->sink.n, 1);	/* 50: at the limit, not over */
	opn(f, hog, t += S);
	assert_int_equal(f->sink.n, 2);	/* back over: a new offence */
	assert_int_equal(f->sink.v[1].observed, 51);

	/* Held over the limit: silence for a window, then a reminder. */
	bytes(f, hog, t + 30 * MIN, 100, 100);
	opn(f, hog, t + 59 * MIN);
	assert_int_equal(f->sink.n, 2);
	bytes(f, hog, t + 60 * MIN, 100, 100);
	assert_int_equal(f->sink.n, 3);
	assert_int_equal(f->sink.v[2].rule, VERDICT_CONCURRENCY);
	assert_int_equal(f->sink.v[2].observed, 52);
	assert_int_equal(f->sink.v[2].allowlisted, 0);
}

/* Live connections found at start count for concurrency, not churn. */
static void
test_track_preexisting(void **state)
{
	struct fx	*f = *state;
	struct addr	 a = ad("198.51.100.21");
	int		 i;

	for (i = 0; i < 130; i++)
		feed_full(f, EVENT_CONN_OPEN, a, "c2s", T0,
		    EVENT_F_HANDSHAKE | EVENT_F_PREEXISTING, 0, 0, 0);
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].rule, VERDICT_CONCURRENCY);
	assert_int_equal(track_ring_count(slot_of(f->t, "198.51.100.21",
	    "c2s"), track_ring_width(&(struct rule_limits){ .max_new = {
	    120, HOUR } }), T0), 0);
}

/* A bandwidth hog is caught while its connection is open. */
static void
test_track_karma_hog(void **state)
{
	struct fx	*f = *state;
	struct addr	 hog = ad("198.51.100.30");
	int		 k;

	opn(f, hog, T0);
	/* 100k every 5 s against 10k/s: 50k a step over the refill, from a
	 * 256k burst: broken at the fifth step, 20 s after the first. */
	for (k = 0; k < 15; k++) {
		bytes(f, hog, T0 + (k + 1) * 5 * S, 100 * K, 1000);
		assert_int_equal(f->sink.n, k >= 4);
	}
	assert_int_equal(f->sink.v[0].rule, VERDICT_KARMA);
	assert_true(f->sink.v[0].time == T0 + 25 * S);
	assert_int_equal(f->sink.v[0].observed, 500 * K);
	assert_int_equal(f->sink.v[0].limit, 256 * K + 200 * K);
	assert_true(f->sink.v[0].window == 20 * S);
	assert_string_equal(f->sink.v[0].reason, "karma: c2s budget exhausted: "
	    "500k in 20s (10k/s burst 256k)");
	assert_int_equal(slot_of(f->t, "198.51.100.30", "c2s")->live, 1);
	assert_int_equal(slot_of(f->t, "198.51.100.30", "c2s")->karma,
	    (156 - 50 * 14) * K);

	/* It stops; the credit refills; a new spree is a new offence. */
	bytes(f, hog, T0 + 200 * S, K, 0);
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(slot_of(f->t, "198.51.100.30", "c2s")->flags &
	    TRACK_S_KARMA, 0);
	bytes(f, hog, T0 + 201 * S, 400 * K, 0);
	assert_int_equal(f->sink.n, 2);
	assert_string_equal(f->sink.v[1].reason, "karma: c2s budget exhausted: "
	    "400k in <1s (10k/s burst 256k)");
	assert_int_equal(f->sink.v[1].observed, 400 * K);
}

/* Within the rate, or receiving rather than sending: never. */
static void
test_track_karma_fair(void **state)
{
	struct fx	*f = *state;
	struct addr	 slow = ad("198.51.100.31"), reader = ad("198.51.100.32");
	struct addr	 upload = ad("198.51.100.33");
	int		 k;

	opn(f, slow, T0);
	opn(f, reader, T0);
	opn(f, upload, T0);
	for (k = 1; k <= 2 * 720; k++) {
		bytes(f, slow, T0 + k * 5 * S, 50 * K, 50 * K);
		bytes(f, reader, T0 + k * 5 * S, 100, 10 * 1024 * K);
	}
	/* One upload within the burst. */
	bytes(f, upload, T0 + S, 250 * K, 0);
	assert_int_equal(f->sink.n, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.31", "c2s")->karma,
	    206 * K);
	assert_int_equal(slot_of(f->t, "198.51.100.33", "c2s")->karma, 6 * K);
}

/* The arithmetic at the edges: exact refill, caps, clamps, time. */
static void
test_track_karma_edges(void **state)
{
	struct track_slot	 sl;
	struct conf_karma	 k = { 10 * K, 256 * K };
	int64_t			 c;
	uint32_t		 full, now = 1700000000;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	track_karma_spend(&sl, &k, now, 356 * K);
	assert_int_equal(sl.karma, -100 * K);
	assert_int_equal(sl.karma_full, now);
	track_karma_at(&sl, &k, now + 5, &c, &full);
	assert_true(c == -50 * K);
	assert_int_equal(full, now);
	assert_true(track_karma_spent(&k, now + 5, c, full) == 356 * K);
	track_karma_at(&sl, &k, now + 36, &c, &full);
	assert_true(c == 256 * K);		/* capped */
	assert_int_equal(full, now + 36);
	/* Time going backwards refills nothing. */
	track_karma_spend(&sl, &k, now - 100, 0);
	assert_int_equal(sl.karma, -100 * K);
	assert_int_equal(sl.karma_sec, now);

	/* No wrap however much is spent; the debt is clamped, so what is
	 * reported is never more than was spent. */
	track_karma_spend(&sl, &k, now, UINT64_MAX);
	assert_int_equal(sl.karma, -INT32_MAX);
	track_karma_spend(&sl, &k, now, UINT64_MAX);
	assert_int_equal(sl.karma, -INT32_MAX);
	track_karma_at(&sl, &k, UINT32_MAX, &c, &full);
	assert_true(c == 256 * K);

	/* A burst beyond 2 GiB acts as 2 GiB; a huge rate refills at once. */
	memset(&sl, 0, sizeof(sl));
	k.rate = UINT64_MAX;
	k.burst = UINT64_MAX;
	track_karma_spend(&sl, &k, now, 100);
	assert_int_equal(sl.karma, INT32_MAX - 100);
	track_karma_at(&sl, &k, now + 1, &c, &full);
	assert_true(c == INT32_MAX);
	assert_true(track_karma_spent(&k, UINT32_MAX, -INT32_MAX, 0) ==
	    UINT64_MAX);
}

/*
 * A SYN-only flood from 100k forged addresses into a table of 1000: no
 * verdict, memory bounded, evictions counted, and the client that really
 * connected before it keeps its state.
 */
static void
test_track_syn_flood(void **state)
{
	struct fx		*f = *state;
	struct track_stats	 st;
	struct track_slot	*sl;
	struct addr		 client = ad("192.0.2.10"), one;
	uint32_t		 i;

	track_free(f->t);
	f->t = track_new(1000, 42);
	syn(f, client, T0);
	feed_full(f, EVENT_CONN_OPEN, client, "c2s", T0 + 1,
	    EVENT_F_HANDSHAKE | EVENT_F_WAS_SYN, 0, 0, 0);
	for (i = 0; i < 100000; i++) {
		syn(f, ad4(0x0a000000U + i * 97), T0 + S + i);
		/* Some time out: no handshake, no entry brought back. */
		if (i % 3 == 0)
			feed_full(f, EVENT_CONN_END, ad4(0x0a000000U +
			    (i / 2) * 97), "c2s", T0 + S + i,
			    EVENT_F_WAS_SYN, 0, 0, 0);
	}
	/* And 20000 from one address: half-open is counted, not judged. */
	one = ad("203.0.113.5");
	for (i = 0; i < 20000; i++)
		syn(f, one, T0 + 2 * S + i);
	assert_int_equal(f->sink.n, 0);

	track_get_stats(f->t, &st);
	assert_true(st.entries <= 1000);
	assert_int_equal(st.capacity, 1000);
	assert_true(st.evictions >= 100000);
	assert_true(st.entry_bytes < 256);
	assert_int_equal(st.verdicts, 0);
	check_table(f->t);

	sl = slot_of(f->t, "192.0.2.10", "c2s");
	assert_non_null(sl);
	assert_int_equal(sl->live, 1);
	assert_int_equal(sl->halfopen, 0);
	assert_non_null(slot_of(f->t, "192.0.2.0/24", "c2s"));
	sl = slot_of(f->t, "203.0.113.5", "c2s");
	assert_non_null(sl);
	assert_int_equal(sl->halfopen, 20000);
	assert_int_equal(sl->live, 0);
}

static void
nat_users(struct fx *f, struct addr nat)
{
	int64_t	t;
	int	i;

	/* 150 people arrive over ten minutes and stay; over the next 40
	 * minutes each reconnects once (a phone changing networks). */
	for (i = 0; i < 150; i++)
		opn(f, nat, T0 + i * 4 * S);
	for (i = 0; i < 150; i++) {
		t = T0 + 10 * MIN + i * 16 * S;
		cls(f, nat, t, 10 * MIN);
		opn(f, nat, t + S);
	}
}

static void
test_track_nat(void **state)
{
	struct fx		*f = *state;
	struct conf_override	*o;

	f->conf->overrides = xcalloc(1, sizeof(*f->conf->overrides));
	f->conf->noverrides = 1;
	o = &f->conf->overrides[0];
	snprintf(o->name, sizeof(o->name), "company");
	o->networks = xcalloc(1, sizeof(*o->networks));
	o->nnetworks = 1;
	assert_int_equal(addr_prefix_parse("198.51.100.7", &o->networks[0], 0),
	    0);
	o->max_concurrent = 150;
	o->max_new.count = 600;
	o->max_new.window = HOUR;

	nat_users(f, ad("198.51.100.7"));
	assert_int_equal(f->sink.n, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.7", "c2s")->live, 150);

	/* The same crowd behind an address without the override. */
	nat_users(f, ad("198.51.101.7"));
	assert_int_equal(f->sink.n, 2);
	assert_int_equal(f->sink.v[0].rule, VERDICT_CONCURRENCY);
	assert_int_equal(f->sink.v[0].observed, 51);
	assert_true(f->sink.v[0].time == T0 + 50 * 4 * S);
	assert_int_equal(f->sink.v[1].rule, VERDICT_CHURN);
	assert_int_equal(f->sink.v[1].observed, 121);
	assert_string_equal(pstr(&f->sink.v[1].prefix), "198.51.101.7/32");
}

static void
test_track_allowlisted(void **state)
{
	struct fx	*f = *state;
	const char	*who[] = { "192.0.2.9", "127.0.0.1", "::1" };
	size_t		 j;
	int		 i;

	f->conf->allow = xcalloc(1, sizeof(*f->conf->allow));
	f->conf->nallow = 1;
	assert_int_equal(addr_prefix_parse("192.0.2.0/24", &f->conf->allow[0],
	    0), 0);
	for (j = 0; j < 3; j++) {
		for (i = 0; i < 51; i++)
			opn(f, ad(who[j]), T0 + i * S);
		assert_int_equal(f->sink.n, (int)j + 1);
		assert_int_equal(f->sink.v[j].rule, VERDICT_CONCURRENCY);
		assert_int_equal(f->sink.v[j].allowlisted, 1);
	}
	opn(f, ad("192.0.3.9"), T0);
	for (i = 0; i < 50; i++)
		opn(f, ad("192.0.3.9"), T0 + i * S);
	assert_int_equal(f->sink.n, 4);
	assert_int_equal(f->sink.v[3].allowlisted, 0);
}

/* 30 addresses of one /24, each within its own limits, together over
 * the network's. */
static void
test_track_network_concurrency(void **state)
{
	struct fx		*f = *state;
	struct conf_service	*svc = service(f->conf, "c2s");
	char			 a[32];
	int			 r, h, n = 0;

	svc->net_max_concurrent = 100;
	for (r = 0; r < 4; r++) {
		for (h = 1; h <= 30; h++) {
			snprintf(a, sizeof(a), "203.0.113.%d", h);
			opn(f, ad(a), T0 + (++n) * S);
			assert_int_equal(f->sink.n, n > 100);
		}
	}
	assert_string_equal(pstr(&f->sink.v[0].prefix), "203.0.113.0/24");
	assert_int_equal(f->sink.v[0].observed, 101);
	assert_string_equal(f->sink.v[0].reason, "concurrency: 101 live c2s "
	    "connections from 203.0.113.0/24 (limit 100)");
	assert_int_equal(slot_of(f->t, "203.0.113.0/24", "c2s")->live, 120);
}

static void
test_track_network_churn(void **state)
{
	struct fx	*f = *state;
	char		 a[32];
	int64_t		 t;
	int		 r, h, n = 0;

	for (r = 0; r < 21; r++) {
		for (h = 1; h <= 30; h++) {
			snprintf(a, sizeof(a), "203.0.113.%d", h);
			t = T0 + (++n) * 2 * S;
			opn(f, ad(a), t);
			cls(f, ad(a), t + S, S);
			assert_int_equal(f->sink.n, n > 600);
		}
	}
	assert_int_equal(f->sink.v[0].rule, VERDICT_CHURN);
	assert_string_equal(f->sink.v[0].reason, "churn: 601 new c2s "
	    "connections from 203.0.113.0/24 in 1h (limit 600)");
	assert_int_equal(slot_of(f->t, "203.0.113.0/24", "c2s")->short_lived,
	    630);
}

/* IPv6: a /64 is one network; its neighbour is another. */
static void
test_track_ipv6(void **state)
{
	struct fx		*f = *state;
	struct conf_service	*svc = service(f->conf, "c2s");
	char			 a[64];
	int			 r, h;

	svc->net_max_concurrent = 100;
	for (h = 1; h <= 50; h++)
		opn(f, ad("2001:db8:1:3::1"), T0 + h * S);	/* 50: no */
	for (r = 0; r < 4; r++) {
		for (h = 1; h <= 30; h++) {
			snprintf(a, sizeof(a), "2001:db8:1:2::%x", h);
			opn(f, ad(a), T0 + HOUR / 2 + r * 100 * S + h * S);
		}
	}
	assert_int_equal(f->sink.n, 1);
	assert_string_equal(pstr(&f->sink.v[0].prefix), "2001:db8:1:2::/64");
	assert_string_equal(f->sink.v[0].reason, "concurrency: 101 live c2s "
	    "connections from 2001:db8:1:2::/64 (limit 100)");
	assert_int_equal(slot_of(f->t, "2001:db8:1:3::/64", "c2s")->live, 50);
	assert_int_equal(slot_of(f->t, "2001:db8:1:2::1e", "c2s")->live, 4);
	assert_int_equal(slot_of(f->t, "2001:db8:1:2::/64", "c2s")->live, 120);
	/* Mapped IPv4 is IPv4. */
	opn(f, ad("::ffff:198.51.100.99"), T0);
	assert_non_null(slot_of(f->t, "198.51.100.99", "c2s"));
	assert_non_null(slot_of(f->t, "198.51.100.0/24", "c2s"));
}

/*
 * A reload that reorders the services keeps each one's state, by name;
 * a service new to the tracker starts empty.
 */
static void
test_track_reload(void **state)
{
	struct fx		*f = *state;
	struct conf		*b;
	struct conf_service	 tmp;
	struct addr		 x = ad("198.51.100.40");
	int			 i;

	for (i = 0; i < 40; i++)
		opn(f, x, T0 + i * S);
	for (i = 0; i < 10; i++)
		feed_full(f, EVENT_CONN_OPEN, x, "s2s", T0 + i * S,
		    EVENT_F_HANDSHAKE, 0, 0, 0);
	feed_full(f, EVENT_CONN_OPEN, x, "http", T0, EVENT_F_HANDSHAKE, 0, 0,
	    0);

	b = load();
	assert_int_equal(b->nservices, 3);
	tmp = b->services[0];
	b->services[0] = b->services[2];
	b->services[2] = tmp;
	assert_string_equal(b->services[0].name, "http");
	snprintf(b->services[1].name, sizeof(b->services[1].name), "bosh");
	conf_free(f->conf);
	f->conf = b;

	for (i = 0; i < 10; i++)
		opn(f, x, T0 + HOUR / 2 + i * S);
	assert_int_equal(f->sink.n, 0);
	/* By port, as ct reports it: 5222 is c2s in the new order too. */
	{
		struct event	ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = EVENT_CONN_OPEN;
		ev.addr = x;
		ev.port = 5222;
		ev.time = T0 + HOUR / 2 + 30 * S;
		ev.flags = EVENT_F_HANDSHAKE;
		track_event(f->t, f->conf, &ev, sink_cb, &f->sink);
	}
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].observed, 51);
	assert_string_equal(f->sink.v[0].service, "c2s");
	/* http kept its connection through the move. */
	assert_int_equal(slot_of(f->t, "198.51.100.40", "http")->live, 1);
	/* "bosh" is new (s2s renamed): it starts at zero. */
	feed_full(f, EVENT_CONN_OPEN, x, "bosh", T0 + HOUR, EVENT_F_HANDSHAKE,
	    0, 0, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.40", "bosh")->live, 1);
	/* The old name is no longer an event's service. */
	feed_full(f, EVENT_CONN_OPEN, x, "s2s", T0 + HOUR, EVENT_F_HANDSHAKE,
	    0, 0, 0);
	assert_int_equal(f->t->stats.ignored, 1);
}

static void
set_services(struct conf *conf, int first, int n)
{
	int	i;

	free(conf->services);
	conf->services = xcalloc((size_t)n, sizeof(*conf->services));
	conf->nservices = n;
	for (i = 0; i < n; i++) {
		snprintf(conf->services[i].name, sizeof(conf->services[i].name),
		    "s%d", first + i);
		conf->services[i].ports[0] = (uint16_t)(6000 + first + i);
		conf->services[i].nports = 1;
		conf->services[i].max_concurrent = 5;
	}
}

/* More services than slots: the extra are ignored and counted; a slot
 * whose service left the configuration is taken over, zeroed. */
static void
test_track_slots(void **state)
{
	struct fx	*f = *state;
	struct addr	 x = ad("198.51.100.41");
	char		 name[16];
	int		 i, j;

	set_services(f->conf, 0, 10);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		for (j = 0; j < 3; j++)
			feed_full(f, EVENT_CONN_OPEN, x, name, T0,
			    EVENT_F_HANDSHAKE, 0, 0, 0);
	}
	assert_int_equal(f->t->stats.ignored, 6);
	assert_int_equal(track_slot_lookup(f->t, "s8"), -1);
	assert_int_equal(slot_of(f->t, "198.51.100.41", "s7")->live, 3);

	set_services(f->conf, 1, 9);		/* s0 gone: s1..s9 */
	feed_full(f, EVENT_CONN_OPEN, x, "s9", T0, EVENT_F_HANDSHAKE, 0, 0,
	    0);
	assert_int_equal(slot_of(f->t, "198.51.100.41", "s9")->live, 1);
	assert_int_equal(slot_of(f->t, "198.51.100.0/24", "s9")->live, 1);
	assert_int_equal(track_slot_lookup(f->t, "s0"), -1);
	assert_int_equal(slot_of(f->t, "198.51.100.41", "s1")->live, 3);
	check_table(f->t);
}

/* Half-open and live counts follow the flags and never go negative. */
static void
test_track_halfopen(void **state)
{
	struct fx	*f = *state;
	struct addr	 a = ad("198.51.100.50");
	uint64_t	 entries;

	syn(f, a, T0);
	syn(f, a, T0);
	syn(f, a, T0);
	feed_full(f, EVENT_CONN_OPEN, a, "c2s", T0,
	    EVENT_F_HANDSHAKE | EVENT_F_WAS_SYN, 0, 0, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->halfopen, 2);
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->live, 1);
	assert_int_equal(slot_of(f->t, "198.51.100.0/24", "c2s")->halfopen, 2);
	feed_full(f, EVENT_CONN_END, a, "c2s", T0, EVENT_F_WAS_SYN, 0, 0, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->halfopen, 1);
	/* A flow that completed ends: half-open is not touched. */
	feed_full(f, EVENT_CONN_END, a, "c2s", T0,
	    EVENT_F_HANDSHAKE | EVENT_F_WAS_SYN, 0, 0, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->halfopen, 1);
	opn(f, a, T0);		/* no SYN seen for it */
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->halfopen, 1);
	cls(f, a, T0, 0);
	cls(f, a, T0, 0);
	cls(f, a, T0, 0);	/* one more than opened (an evicted entry) */
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->live, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->short_lived,
	    0);			/* duration unknown */
	feed_full(f, EVENT_CONN_END, a, "c2s", T0, EVENT_F_WAS_SYN, 0, 0, 0);
	feed_full(f, EVENT_CONN_END, a, "c2s", T0, EVENT_F_WAS_SYN, 0, 0, 0);
	assert_int_equal(slot_of(f->t, "198.51.100.50", "c2s")->halfopen, 0);
	/* An end for an address not in the table makes no entry. */
	entries = f->t->stats.entries;
	feed_full(f, EVENT_CONN_END, ad("198.51.99.1"), "c2s", T0,
	    EVENT_F_WAS_SYN, 0, 0, 0);
	assert_int_equal(f->t->stats.entries, entries);
	assert_int_equal(f->sink.n, 0);
}

static void
test_track_ignored(void **state)
{
	struct fx	*f = *state;
	struct addr	 none;

	memset(&none, 0, sizeof(none));
	/* Log kinds other than auth_fail and register are not judged. */
	feed_full(f, EVENT_AUTH_OK, ad("198.51.100.60"), "c2s", T0, 0, 0, 0,
	    0);
	feed_full(f, EVENT_LIMIT_HIT, ad("198.51.100.60"), "c2s", T0, 0, 0, 0,
	    0);
	feed_full(f, EVENT_NONE, ad("198.51.100.60"), "c2s", T0, 0, 0, 0, 0);
	feed_full(f, (enum event_kind)999, ad("198.51.100.60"), "c2s", T0, 0,
	    0, 0, 0);
	opn(f, none, T0);
	opn(f, ad("0.0.0.0"), T0);
	opn(f, ad("::"), T0);
	feed_full(f, EVENT_CONN_OPEN, ad("198.51.100.60"), "xmpp", T0,
	    EVENT_F_HANDSHAKE, 0, 0, 0);
	feed_full(f, EVENT_CONN_OPEN, ad("198.51.100.60"), NULL, T0,
	    EVENT_F_HANDSHAKE, 0, 0, 0);	/* no service, port 0 */
	assert_int_equal(f->t->stats.ignored, 9);
	assert_int_equal(f->t->stats.events, 0);
	assert_int_equal(f->t->stats.entries, 0);
}

/*
 * Failed logins and registrations from the log: per host and per network
 * against [auth]'s limits, the rule named in the verdict; no address
 * means nothing to judge.
 */
static void
test_track_auth(void **state)
{
	struct fx	*f = *state;
	struct addr	 none;
	char		 a[32];
	int		 i;

	memset(&none, 0, sizeof(none));
	f->conf->auth_max_fail.count = 3;
	f->conf->auth_max_fail.window = 600 * S;
	f->conf->auth_net_max_fail.count = 10;
	f->conf->auth_net_max_fail.window = 600 * S;
	for (i = 0; i < 3; i++)
		feed_full(f, EVENT_AUTH_FAIL, ad("198.51.100.70"), NULL,
		    T0 + i * S, 0, 0, 0, 0);
	assert_int_equal(f->sink.n, 0);
	feed_full(f, EVENT_AUTH_FAIL, ad("198.51.100.70"), NULL, T0 + 3 * S,
	    0, 0, 0, 0);
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].rule, VERDICT_AUTH);
	assert_int_equal(f->sink.v[0].prefix.len, 32);
	assert_null(f->sink.v[0].service);
	assert_string_equal(f->sink.v[0].reason,
	    "auth: 4 failed logins in 10m (limit 3)");
	/* Outside the window it starts again. */
	f->sink.n = 0;
	feed_full(f, EVENT_AUTH_FAIL, ad("198.51.100.70"), NULL, T0 + 3600 * S,
	    0, 0, 0, 0);
	assert_int_equal(f->sink.n, 0);

	/* Three each from four neighbours: no host over, the /24 is. */
	for (i = 0; i < 12; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", 10 + i % 4);
		feed_full(f, EVENT_AUTH_FAIL, ad(a), NULL, T0 + i * S, 0, 0, 0,
		    0);
	}
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].prefix.len, 24);
	assert_string_equal(f->sink.v[0].reason,
	    "auth: 11 failed logins from 203.0.113.0/24 in 10m (limit 10)");

	/* Registrations have limits of their own. */
	f->sink.n = 0;
	f->conf->auth_max_register.count = 1;
	f->conf->auth_max_register.window = 3600 * S;
	feed_full(f, EVENT_REGISTER, ad("2001:db8::7"), NULL, T0, 0, 0, 0, 0);
	feed_full(f, EVENT_REGISTER, ad("2001:db8::7"), NULL, T0 + S, 0, 0, 0,
	    0);
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].rule, VERDICT_REGISTER);
	assert_string_equal(f->sink.v[0].reason,
	    "register: 2 accounts registered in 1h (limit 1)");

	/* hidden_by_ejabberd and friends: no address, nothing judged. */
	f->sink.n = 0;
	for (i = 0; i < 20; i++)
		feed_full(f, EVENT_AUTH_FAIL, none, NULL, T0, 0, 0, 0, 0);
	assert_int_equal(f->sink.n, 0);
}

/* Least recently seen goes first, probation before protected, and an
 * event's host entry is never evicted for its own network entry. */
static void
test_track_lru(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p;

	track_free(f->t);
	f->t = track_new(4, 1);
	f->conf->track_prefix4 = 32;	/* hosts only */
	opn(f, ad("192.0.2.1"), T0);
	opn(f, ad("192.0.2.2"), T0 + 1);
	opn(f, ad("192.0.2.3"), T0 + 2);
	opn(f, ad("192.0.2.4"), T0 + 3);
	opn(f, ad("192.0.2.1"), T0 + 4);	/* 2 is now the oldest */
	syn(f, ad("192.0.2.5"), T0 + 5);
	assert_null(slot_of(f->t, "192.0.2.2", "c2s"));
	/* 5 is on probation: it goes before the older protected ones. */
	syn(f, ad("192.0.2.6"), T0 + 6);
	assert_null(slot_of(f->t, "192.0.2.5", "c2s"));
	assert_non_null(slot_of(f->t, "192.0.2.3", "c2s"));
	assert_int_equal(f->t->stats.evictions, 2);
	/* A handshake promotes. */
	opn(f, ad("192.0.2.6"), T0 + 7);
	assert_int_equal(htab_list_of(&f->t->tab, track_find(f->t,
	    &(struct prefix){ ad("192.0.2.6"), 32 })), TRACK_PROTECTED);
	check_table(f->t);

	/* Capacity 2: the host entry is pinned while its network's is made. */
	track_free(f->t);
	f->t = track_new(1, 1);
	assert_int_equal(f->t->capacity, 2);
	f->conf->track_prefix4 = 24;
	opn(f, ad("192.0.2.1"), T0);		/* both protected */
	syn(f, ad("198.51.100.1"), T0 + 1);	/* evicts both */
	assert_non_null(slot_of(f->t, "198.51.100.1", "c2s"));
	assert_non_null(slot_of(f->t, "198.51.100.0/24", "c2s"));
	assert_null(slot_of(f->t, "192.0.2.1", "c2s"));
	syn(f, ad("198.51.101.1"), T0 + 2);
	assert_non_null(slot_of(f->t, "198.51.101.1", "c2s"));
	assert_non_null(slot_of(f->t, "198.51.101.0/24", "c2s"));
	check_table(f->t);
	assert_int_equal(addr_prefix_parse("198.51.100.1", &p, 0), 0);
	assert_int_equal(track_find(f->t, &p), TRACK_NIL);
}

/* The ring at the wrap of its bucket numbers, out of order and old. */
static void
test_track_ring(void **state)
{
	struct track_slot	 sl;
	struct rule_limits	 lim;
	int64_t			 t;
	uint32_t		 w;

	(void)state;
	memset(&lim, 0, sizeof(lim));
	lim.max_new.count = 120;
	lim.max_new.window = HOUR;
	assert_int_equal(track_ring_width(&lim), 600000);
	lim.max_new.window = S;			/* the shortest window */
	assert_int_equal(track_ring_width(&lim), 166);
	lim.max_new.count = 0;			/* off: counted per hour */
	assert_int_equal(track_ring_width(&lim), 600000);

	/* 1 ms buckets, just before the numbers wrap. */
	memset(&sl, 0, sizeof(sl));
	w = 1;
	t = ((int64_t)TRACK_RING_MOD - 2) * 1000;
	track_ring_add(&sl, w, t);
	track_ring_add(&sl, w, t + 1000);
	track_ring_add(&sl, w, t + 2000);	/* number 0 */
	assert_int_equal(sl.ring_head, 0);
	assert_int_equal(track_ring_count(&sl, w, t + 2000), 3);
	track_ring_add(&sl, w, t + 3000);
	assert_int_equal(track_ring_count(&sl, w, t + 3000), 4);
	assert_int_equal(track_ring_count(&sl, w, t + 5000), 4);
	assert_int_equal(track_ring_count(&sl, w, t + 7000), 2);
	assert_int_equal(track_ring_count(&sl, w, t + 8000), 1);
	assert_int_equal(track_ring_count(&sl, w, t + 9000), 0);
	/* Late but within the ring: counted in its own bucket. */
	track_ring_add(&sl, w, t + 1500);
	assert_int_equal(track_ring_count(&sl, w, t + 3000), 5);
	assert_int_equal(track_ring_count(&sl, w, t + 6000), 4);
	/* Older than the ring: dropped. */
	track_ring_add(&sl, w, t - 10000);
	assert_int_equal(track_ring_count(&sl, w, t + 3000), 5);
	/* Another width (reload, override): the count starts again. */
	assert_int_equal(track_ring_count(&sl, 2, t + 3000), 0);
	track_ring_add(&sl, 2, t + 3000);
	assert_int_equal(track_ring_count(&sl, 2, t + 3000), 1);
	/* Times at and before the epoch are bucket 0. */
	track_ring_add(&sl, 2, 0);
	track_ring_add(&sl, 2, -5);
	assert_int_equal(track_ring_number(-5, 2), 0);
}

static void
walk_cb(const struct track_view *v, void *arg)
{
	struct track_view	*out = arg;
	int			 i;

	for (i = 0; i < 8; i++) {
		if (out[i].service == NULL) {
			out[i] = *v;
			return;
		}
	}
	fail_msg("too many views");
}

static const struct track_view *
view_of(const struct track_view *vs, const char *prefix)
{
	int	i;

	for (i = 0; i < 8 && vs[i].service != NULL; i++) {
		if (strcmp(pstr(&vs[i].prefix), prefix) == 0)
			return &vs[i];
	}
	return NULL;
}

/* Who is near a limit, with the limits in force. */
static void
test_track_walk(void **state)
{
	struct fx		*f = *state;
	struct conf_override	*o;
	struct track_view	 vs[8];
	const struct track_view	*v;
	struct addr		 a = ad("198.51.100.70"), b = ad("192.0.2.80");
	int			 i;

	f->conf->overrides = xcalloc(1, sizeof(*f->conf->overrides));
	f->conf->noverrides = 1;
	o = &f->conf->overrides[0];
	o->networks = xcalloc(1, sizeof(*o->networks));
	o->nnetworks = 1;
	assert_int_equal(addr_prefix_parse("192.0.2.80", &o->networks[0], 0),
	    0);
	o->max_concurrent = 150;

	for (i = 0; i < 45; i++)
		opn(f, a, T0 + i * S);
	bytes(f, a, T0 + 50 * S, 100 * K, 0);
	opn(f, b, T0 + 60 * S);
	cls(f, b, T0 + 62 * S, 2 * S);
	syn(f, ad("203.0.113.1"), T0);		/* then idle */
	feed_full(f, EVENT_CONN_END, ad("203.0.113.1"), "c2s", T0 + 70 * S,
	    EVENT_F_WAS_SYN, 0, 0, 0);

	memset(vs, 0, sizeof(vs));
	track_walk(f->t, f->conf, T0 + 60 * S, walk_cb, vs);
	v = view_of(vs, "198.51.100.70/32");
	assert_non_null(v);
	assert_string_equal(v->service, "c2s");
	assert_int_equal(v->live, 45);
	assert_int_equal(v->new_in_window, 45);
	assert_int_equal(v->max_concurrent, 50);
	assert_int_equal(v->max_new, 120);
	assert_true(v->karma_credit == 256 * K);	/* refilled in 10s */
	assert_true(v->last_seen == T0 + 50 * S);
	v = view_of(vs, "198.51.100.0/24");
	assert_non_null(v);
	assert_int_equal(v->live, 45);
	assert_int_equal(v->max_concurrent, 200);
	assert_int_equal(v->max_new, 600);
	v = view_of(vs, "192.0.2.80/32");
	assert_non_null(v);
	assert_int_equal(v->live, 0);
	assert_int_equal(v->short_lived, 1);
	assert_int_equal(v->max_concurrent, 150);
	assert_null(view_of(vs, "203.0.113.1/32"));	/* nothing left */

	/* Two hours on, only what is still live shows. */
	memset(vs, 0, sizeof(vs));
	cls(f, b, T0 + 2 * HOUR, 0);
	track_walk(f->t, f->conf, T0 + 3 * HOUR, walk_cb, vs);
	v = view_of(vs, "198.51.100.70/32");
	assert_non_null(v);
	assert_int_equal(v->new_in_window, 0);
	assert_true(v->karma_credit == 256 * K);
	assert_non_null(view_of(vs, "192.0.2.80/32"));	/* short_lived */
}

/* Memory per entry for the three usual services. */
static void
test_track_memory(void **state)
{
	struct fx		*f = *state;
	struct track_stats	 st;
	struct addr		 a = ad("198.51.100.90");

	track_get_stats(f->t, &st);
	assert_int_equal(st.entry_bytes, sizeof(struct track_entry) +
	    sizeof(struct htab_node) + 4);
	opn(f, a, T0);
	feed_full(f, EVENT_CONN_OPEN, a, "s2s", T0, EVENT_F_HANDSHAKE, 0, 0,
	    0);
	feed_full(f, EVENT_CONN_OPEN, a, "http", T0, EVENT_F_HANDSHAKE, 0, 0,
	    0);
	track_get_stats(f->t, &st);
	assert_int_equal(st.entry_bytes, sizeof(struct track_entry) +
	    sizeof(struct htab_node) + 3 * sizeof(struct track_slot) + 4);
	assert_true(st.entry_bytes < 256);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.events, 3);
}

/* Random events over a small table: the invariants hold throughout and
 * no count wraps. */
static void
test_track_random(void **state)
{
	struct fx		*f = *state;
	static const enum event_kind kinds[] = { EVENT_CONN_SYN,
		EVENT_CONN_OPEN, EVENT_CONN_CLOSE, EVENT_CONN_END,
		EVENT_CONN_BYTES, EVENT_AUTH_FAIL };
	static const char	*svcs[] = { "c2s", "s2s", "http", NULL };
	uint64_t		 x = 88172645463325252ULL;
	struct addr		 a;
	uint8_t			 b16[16];
	int64_t			 t = T0;
	int			 i, s;
	uint32_t		 j;

	track_free(f->t);
	f->t = track_new(64, 7);
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (x & 1) {
			a = ad4(0xc6336400U + (uint32_t)(x >> 8) % 300);
		} else {
			memset(b16, 0, sizeof(b16));
			b16[0] = 0x20;
			b16[1] = 0x01;
			b16[7] = (uint8_t)(x >> 20) % 3;
			b16[15] = (uint8_t)(x >> 24);
			addr_from_v6(&a, b16);
		}
		t += (int64_t)((x >> 32) % (20 * S)) - 2 * S;	/* jitter */
		feed_full(f, kinds[(x >> 40) % 6], a, svcs[(x >> 48) % 4], t,
		    (uint32_t)(x >> 56) & 0x0f, (x >> 12) % (64 * K), x % 999,
		    (int64_t)((x >> 16) % (30 * S)));
		if (i % 10000 == 0)
			check_table(f->t);
	}
	check_table(f->t);
	for (s = 0; s < TRACK_SLOTS; s++) {
		if (f->t->slot[s] == NULL)
			continue;
		for (j = 0; j < f->t->capacity; j++)
			assert_true(f->t->slot[s][j].live < 1000000);
	}
	assert_true(f->t->stats.evictions > 0);
	assert_int_equal(f->t->stats.verdicts, (uint64_t)f->sink.n);
}

/* One event as a rebuild reads it back from the store. */
static void
rebuild_ev(struct fx *f, enum event_kind kind, struct addr a, int64_t time,
    uint32_t flags)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.addr = a;
	ev.service = kind == EVENT_CONN_OPEN ? "c2s" : NULL;
	ev.time = time;
	ev.flags = flags;
	track_rebuild_event(f->t, f->conf, &ev);
}

/*
 * A rebuild counts rows in any order (the store hands them newest first)
 * in the host's and the network's windows, leaves live counts alone,
 * skips flows found live at start and rows older than the window, and
 * judges nothing; the next live event is judged on all of it.
 */
static void
test_track_rebuild(void **state)
{
	struct fx		*f = *state;
	struct addr		 a = ad("198.51.100.7");
	struct track_slot	*sl;
	int			 i;

	assert_int_equal(track_rebuild_begin(f->t, f->conf, T0 + 59 * MIN), 0);
	for (i = 118; i >= 0; i--)
		rebuild_ev(f, EVENT_CONN_OPEN, a, T0 + 30 * S * i,
		    EVENT_F_HANDSHAKE);
	rebuild_ev(f, EVENT_CONN_OPEN, a, T0 + 10 * S, EVENT_F_HANDSHAKE |
	    EVENT_F_PREEXISTING);
	/* An hour and more before the newest: out of the window. */
	rebuild_ev(f, EVENT_CONN_OPEN, a, T0 + 30 * S * 118 - HOUR - 10 * MIN,
	    EVENT_F_HANDSHAKE);
	rebuild_ev(f, EVENT_AUTH_OK, a, T0, 0);
	for (i = 0; i < 4; i++)
		rebuild_ev(f, EVENT_AUTH_FAIL, a, T0 + 59 * MIN - i * S, 0);
	assert_int_equal(track_rebuild_end(f->t), 1);
	assert_int_equal(f->sink.n, 0);
	sl = slot_of(f->t, "198.51.100.7", "c2s");
	assert_int_equal(sl->live, 0);
	assert_int_equal(sl->flags, 0);
	assert_int_equal(track_ring_count(sl, sl->ring_width, T0 + 59 * MIN), 119);
	assert_int_equal(track_ring_count(slot_of(f->t, "198.51.100.0/24",
	    "c2s"), sl->ring_width, T0 + 59 * MIN), 119);
	assert_int_equal(track_ring_count(slot_of(f->t, "198.51.100.7",
	    "@auth"), track_ring_width(&(struct rule_limits){ .max_new =
	    f->conf->auth_max_fail }), T0 + 59 * MIN), 4);
	/* Proven by a handshake: a log line now is corroborated. */
	assert_true(track_connected(f->t, &a, T0 + 59 * MIN, 2 * HOUR));

	opn(f, a, T0 + 59 * MIN + S);
	assert_int_equal(f->sink.n, 0);
	opn(f, a, T0 + 59 * MIN + 2 * S);
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].rule, VERDICT_CHURN);
	assert_int_equal(f->sink.v[0].observed, 121);
}

/*
 * A second rebuild (a reload) leaves a window in use alone, so nothing
 * counts twice, unless its length changed: then it starts again and
 * takes the rows.
 */
static void
test_track_rebuild_reload(void **state)
{
	struct fx	*f = *state;
	struct addr	 a = ad("198.51.100.7");
	struct track_slot *sl;
	int		 i;

	for (i = 0; i < 10; i++)
		opn(f, a, T0 + i * S);
	sl = slot_of(f->t, "198.51.100.7", "c2s");
	assert_int_equal(track_rebuild_begin(f->t, f->conf, T0 + MIN), 0);
	for (i = 0; i < 10; i++)
		rebuild_ev(f, EVENT_CONN_OPEN, a, T0 + i * S,
		    EVENT_F_HANDSHAKE);
	assert_int_equal(track_rebuild_end(f->t), 0);
	assert_int_equal(track_ring_count(sl, sl->ring_width, T0 + MIN), 10);

	service(f->conf, "c2s")->max_new.window = 2 * HOUR;
	service(f->conf, "c2s")->net_max_new.window = 2 * HOUR;
	assert_int_equal(track_rebuild_begin(f->t, f->conf, T0 + MIN),
	    TRACK_REBUILD_CONNS);
	assert_int_equal(track_ring_count(sl, sl->ring_width, T0 + MIN), 0);
	for (i = 0; i < 10; i++)
		rebuild_ev(f, EVENT_CONN_OPEN, a, T0 + i * S,
		    EVENT_F_HANDSHAKE);
	assert_int_equal(track_rebuild_end(f->t), 1);
	assert_int_equal(track_ring_count(sl, sl->ring_width, T0 + MIN), 10);
	assert_int_equal(sl->live, 10);
}

/*
 * A verdict from before the restart is a standing offence: no second
 * verdict for the same breach until the cool-down; a verdict about a
 * network of a length no longer aggregated, or a service gone, marks
 * nothing.
 */
static void
test_track_rebuild_verdict(void **state)
{
	struct fx	*f = *state;
	struct addr	 a = ad("198.51.100.7");
	struct verdict	 v;
	int		 i;

	assert_int_equal(track_rebuild_begin(f->t, f->conf, T0 + MIN), 0);
	for (i = 0; i < 6; i++)
		rebuild_ev(f, EVENT_AUTH_FAIL, a, T0 + i * S, 0);
	memset(&v, 0, sizeof(v));
	v.rule = VERDICT_AUTH;
	v.time = T0 + 5 * S;
	addr_mask(&a, 32, &v.prefix);
	track_rebuild_verdict(f->t, f->conf, &v);
	v.rule = VERDICT_CHURN;
	v.service = "gone";
	track_rebuild_verdict(f->t, f->conf, &v);
	v.rule = VERDICT_AUTH;
	v.service = NULL;
	addr_mask(&a, 16, &v.prefix);
	track_rebuild_verdict(f->t, f->conf, &v);
	assert_int_equal(track_rebuild_end(f->t), 1);
	assert_null(slot_of(f->t, "198.51.0.0/16", "@auth"));

	feed_full(f, EVENT_AUTH_FAIL, a, NULL, T0 + MIN, 0, 0, 0, 0);
	assert_int_equal(f->sink.n, 0);
	/* A verdict nobody issued before (a new, lower limit) is said. */
	f->conf->auth_max_register.count = 1;
	feed_full(f, EVENT_REGISTER, a, NULL, T0 + MIN, 0, 0, 0, 0);
	feed_full(f, EVENT_REGISTER, a, NULL, T0 + MIN, 0, 0, 0, 0);
	assert_int_equal(f->sink.n, 1);
	assert_int_equal(f->sink.v[0].rule, VERDICT_REGISTER);
}

/* A log event with a user: a login, a registration, an s2s stream. */
static void
logline(struct fx *f, enum event_kind kind, struct addr a, const char *user,
    int64_t time)
{
	struct event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.addr = a;
	ev.time = time;
	ev.user = user;
	ev.source = EVENT_SRC_LOG;
	track_event(f->t, f->conf, &ev, sink_cb, &f->sink);
}

static void
login(struct fx *f, struct addr a, int account, int64_t time)
{
	char	user[32];

	snprintf(user, sizeof(user), "user%d", account);
	logline(f, EVENT_AUTH_OK, a, user, time);
}

/* The reason of the one churn verdict in the sink (others ignored). */
static const char *
churn_only(struct fx *f)
{
	const char	*r = NULL;
	int		 k;

	for (k = 0; k < f->sink.n && k < SINK_MAX; k++) {
		if (f->sink.v[k].rule != VERDICT_CHURN)
			continue;
		assert_null(r);
		r = f->sink.v[k].reason;
	}
	assert_non_null(r);
	return r;
}

static uint32_t
entry_of(struct track *t, const char *prefix)
{
	struct prefix	p;

	assert_int_equal(addr_prefix_parse(prefix, &p, 0), 0);
	return track_find(t, &p);
}

/*
 * The NAT: 150 accounts logging in four times an hour each, 600
 * connections of ten minutes (100 at once), and a churn bot at the same
 * rate without logins on another network.  The NAT, host and /24, is
 * never judged; the bot is, by the base limit.
 */
static void
test_track_accounts_nat(void **state)
{
	struct fx	*f = *state;
	struct addr	 nat = ad("198.51.100.7"), bot = ad("203.0.113.9");
	int64_t		 t;
	int		 k, i;

	for (k = 0; k < 600; k++) {
		t = T0 + k * 6 * S;
		if (k >= 100) {
			cls(f, nat, t, 600 * S);
			cls(f, bot, t, 600 * S);
		}
		opn(f, nat, t);
		login(f, nat, k % 150, t + S);
		opn(f, bot, t);
	}
	for (i = 0; i < f->sink.n && i < SINK_MAX; i++)
		assert_string_equal(pstr(&f->sink.v[i].prefix),
		    "203.0.113.9/32");
	/* The bot: concurrency at its 51st, churn at its 121st. */
	assert_int_equal(f->sink.n, 2);
	assert_int_equal(f->sink.v[0].rule, VERDICT_CONCURRENCY);
	assert_string_equal(f->sink.v[0].reason,
	    "concurrency: 51 live c2s connections (limit 50)");
	assert_int_equal(f->sink.v[1].rule, VERDICT_CHURN);
	assert_string_equal(f->sink.v[1].reason,
	    "churn: 121 new c2s connections in 1h (limit 120)");
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "198.51.100.7"), T0 + HOUR, HOUR), 150);
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "198.51.100.0/24"), T0 + HOUR, HOUR), 150);
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "203.0.113.9"), T0 + HOUR, HOUR), 0);

	/* An hour later the accounts are out of the window. */
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "198.51.100.7"), T0 + 3 * HOUR, HOUR), 0);
}

/*
 * What accounts cannot buy: one account logging in on every connection
 * buys one allowance; 300 accounts buy 150; failed logins nothing; accounts
 * registered within the window nothing, from this address or another.
 */
static void
test_track_accounts_limits(void **state)
{
	struct fx	*f = *state;
	struct addr	 one = ad("198.51.100.20"), many = ad("192.0.2.30");
	struct addr	 fails = ad("203.0.113.40"), reg = ad("203.0.114.50");
	char		 user[32];
	int64_t		 t;
	int		 k;

	for (k = 0; k < 130; k++) {
		t = T0 + k * 10 * S;
		opn(f, one, t);
		logline(f, EVENT_AUTH_OK, one, "bot", t);
		cls(f, one, t + S, S);
	}
	assert_int_equal(f->sink.n, 1);
	assert_string_equal(f->sink.v[0].reason, "churn: 125 new c2s "
	    "connections in 1h (limit 120 + 1 account x 4)");

	f->sink.n = 0;
	for (k = 0; k < 800; k++) {
		t = T0 + k * 4 * S;
		opn(f, many, t);
		login(f, many, k % 300, t);
		cls(f, many, t + S, S);
	}
	assert_int_equal(f->sink.n, 1);
	assert_string_equal(f->sink.v[0].reason, "churn: 721 new c2s "
	    "connections in 1h (limit 120 + 150 accounts x 4)");

	f->sink.n = 0;
	for (k = 0; k < 130; k++) {
		t = T0 + k * 10 * S;
		opn(f, fails, t);
		snprintf(user, sizeof(user), "guess%d", k);
		logline(f, EVENT_AUTH_FAIL, fails, user, t);
		cls(f, fails, t + S, S);
	}
	/* Auth verdicts, and one churn verdict at the base limit. */
	assert_string_equal(churn_only(f),
	    "churn: 121 new c2s connections in 1h (limit 120)");

	/* Throwaway accounts: registered (some from elsewhere), then used. */
	f->sink.n = 0;
	for (k = 0; k < 130; k++) {
		t = T0 + k * 10 * S;
		snprintf(user, sizeof(user), "throwaway%d", k);
		logline(f, EVENT_REGISTER, k % 2 ? reg : ad("192.0.2.99"),
		    user, t);
		opn(f, reg, t);
		logline(f, EVENT_AUTH_OK, reg, user, t);
		cls(f, reg, t + S, S);
	}
	/* Register verdicts, and churn at the base limit. */
	assert_string_equal(churn_only(f),
	    "churn: 121 new c2s connections in 1h (limit 120)");
	/* A window later they are established accounts. */
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "203.0.114.50"), T0 + 130 * 10 * S, HOUR), 0);
	logline(f, EVENT_AUTH_OK, reg, "throwaway1", T0 + 3 * HOUR);
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "203.0.114.50"), T0 + 3 * HOUR, HOUR), 1);
}

/*
 * The bounds: a set counts at most TRACK_ACCOUNTS accounts, a newcomer
 * replacing the least recent; a full pool takes back a set, which the
 * next login of its address starts again.
 */
static void
test_track_accounts_bounds(void **state)
{
	struct fx	*f = *state;
	struct addr	 nat = ad("198.51.100.7");
	uint32_t	 hi;
	char		 a[32];
	int		 k;

	for (k = 0; k < 1000; k++)
		login(f, nat, k, T0 + k * S);
	hi = entry_of(f->t, "198.51.100.7");
	assert_int_equal(track_account_count(f->t, hi, T0 + 1000 * S, HOUR),
	    TRACK_ACCOUNTS);
	/* The newest are the ones kept. */
	assert_int_equal(track_account_count(f->t, hi, T0 + 999 * S,
	    (int64_t)TRACK_ACCOUNTS * S - S), TRACK_ACCOUNTS);
	/* The pool: 4096 entries, 64 sets; 200 addresses log in once. */
	assert_int_equal(f->t->nacct, 64);
	for (k = 0; k < 200; k++) {
		snprintf(a, sizeof(a), "192.0.%d.%d", 2 + k / 250, 1 + k % 250);
		login(f, ad(a), k, T0 + 2000 * S + k * S);
	}
	assert_true(f->t->stats.account_sets_taken > 0);
	/* No two entries hold one set: a set's owner is the entry. */
	for (hi = 0; hi < f->t->capacity; hi++) {
		k = (int)f->t->acct_of[hi];
		if (k != 0 && f->t->acct[k - 1].owner != hi)
			assert_int_equal(track_account_count(f->t, hi,
			    T0 + 2200 * S, HOUR), 0);
	}
	/* The latest address has its account. */
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "192.0.2.200"), T0 + 2200 * S, HOUR), 1);
	/* An evicted entry's set is free; a new entry does not inherit. */
	track_free(f->t);
	f->t = track_new(16, 1);
	for (k = 0; k < 40; k++) {
		snprintf(a, sizeof(a), "10.%d.0.1", k);
		login(f, ad(a), k, T0 + k * S);
		assert_int_equal(track_account_count(f->t, entry_of(f->t, a),
		    T0 + k * S, HOUR), 1);
	}
	assert_true(f->t->stats.evictions > 0);
}

/*
 * Federation peers: an s2s stream authenticated within the window makes
 * the address's s2s verdicts (and its network's) alerts, not bans; without
 * it, or with an [override] peer_ban, they are today's; c2s is untouched.
 */
static void
test_track_peer(void **state)
{
	struct fx		*f = *state;
	struct addr		 peer = ad("198.51.100.30");
	struct addr		 stranger = ad("203.0.113.30");
	struct conf_override	*o;
	int64_t			 t;
	int			 k;

	logline(f, EVENT_S2S_OK, peer, "peer.example", T0);
	for (k = 0; k < 61; k++) {
		t = T0 + k * 10 * S;
		feed_full(f, EVENT_CONN_OPEN, peer, "s2s", t,
		    EVENT_F_HANDSHAKE, 0, 0, 0);
		feed_full(f, EVENT_CONN_CLOSE, peer, "s2s", t + S,
		    EVENT_F_HANDSHAKE, 0, 0, S);
		feed_full(f, EVENT_CONN_OPEN, stranger, "s2s", t,
		    EVENT_F_HANDSHAKE, 0, 0, 0);
		feed_full(f, EVENT_CONN_CLOSE, stranger, "s2s", t + S,
		    EVENT_F_HANDSHAKE, 0, 0, S);
	}
	assert_int_equal(f->sink.n, 2);
	assert_string_equal(pstr(&f->sink.v[0].prefix), "198.51.100.30/32");
	assert_int_equal(f->sink.v[0].peer, 1);
	assert_int_equal(f->sink.v[0].allowlisted, 1);
	assert_string_equal(f->sink.v[0].reason, "churn: 61 new s2s "
	    "connections in 1h (limit 60) (authenticated federation peer: "
	    "alert only)");
	assert_string_equal(pstr(&f->sink.v[1].prefix), "203.0.113.30/32");
	assert_int_equal(f->sink.v[1].peer, 0);
	assert_int_equal(f->sink.v[1].allowlisted, 0);

	/* Its c2s connections are a client's. */
	f->sink.n = 0;
	for (k = 0; k < 121; k++)
		opn(f, peer, T0 + k * S);
	assert_int_equal(f->sink.n, 2);	/* concurrency, churn */
	assert_int_equal(f->sink.v[0].peer, 0);
	assert_int_equal(f->sink.v[1].peer, 0);

	/* Two hours on, the authentication is too old. */
	f->sink.n = 0;
	for (k = 0; k < 61; k++)
		feed_full(f, EVENT_CONN_OPEN, peer, "s2s", T0 + 3 * HOUR + k *
		    S, EVENT_F_HANDSHAKE, 0, 0, 0);
	assert_true(f->sink.n >= 1);
	assert_int_equal(f->sink.v[0].peer, 0);

	/* [override] peer_ban. */
	f->conf->overrides = xcalloc(1, sizeof(*f->conf->overrides));
	f->conf->noverrides = 1;
	o = &f->conf->overrides[0];
	snprintf(o->name, sizeof(o->name), "bad");
	o->networks = xcalloc(1, sizeof(*o->networks));
	o->nnetworks = 1;
	assert_int_equal(addr_prefix_parse("198.51.100.0/24", &o->networks[0],
	    0), 0);
	o->peer_ban = 1;
	logline(f, EVENT_S2S_OK, peer, "peer.example", T0 + 6 * HOUR);
	f->sink.n = 0;
	for (k = 0; k < 61; k++)
		feed_full(f, EVENT_CONN_OPEN, peer, "s2s", T0 + 6 * HOUR + k *
		    S, EVENT_F_HANDSHAKE, 0, 0, 0);
	assert_true(f->sink.n >= 1);
	assert_int_equal(f->sink.v[0].peer, 0);
	o->peer_ban = 0;
	logline(f, EVENT_S2S_OK, peer, "peer.example", T0 + 9 * HOUR);
	f->sink.n = 0;
	for (k = 0; k < 61; k++)
		feed_full(f, EVENT_CONN_OPEN, peer, "s2s", T0 + 9 * HOUR + k *
		    S, EVENT_F_HANDSHAKE, 0, 0, 0);
	assert_true(f->sink.n >= 1);
	assert_int_equal(f->sink.v[0].peer, 1);
}

/* A start reads logins and registrations back: the accounts count as
 * before, the registered ones still do not. */
static void
test_track_rebuild_accounts(void **state)
{
	struct fx	*f = *state;
	struct event	 ev;
	char		 user[32];
	int		 k;

	assert_int_equal(track_rebuild_begin(f->t, f->conf, T0 + HOUR), 0);
	memset(&ev, 0, sizeof(ev));
	ev.addr = ad("198.51.100.7");
	ev.source = EVENT_SRC_LOG;
	ev.user = user;
	for (k = 0; k < 40; k++) {
		snprintf(user, sizeof(user), "user%d", k % 30);
		ev.kind = EVENT_AUTH_OK;
		ev.time = T0 + k * MIN;
		track_rebuild_event(f->t, f->conf, &ev);
	}
	for (k = 0; k < 5; k++) {
		snprintf(user, sizeof(user), "user%d", k);
		ev.kind = EVENT_REGISTER;
		ev.time = T0 + k * S;
		ev.addr = ad("192.0.2.1");
		track_rebuild_event(f->t, f->conf, &ev);
	}
	ev.user = NULL;
	ev.kind = EVENT_AUTH_OK;
	track_rebuild_event(f->t, f->conf, &ev);	/* no user: nothing */
	track_rebuild_end(f->t);
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "198.51.100.7"), T0 + HOUR, HOUR), 25);
	assert_int_equal(track_account_count(f->t, entry_of(f->t,
	    "198.51.100.0/24"), T0 + HOUR, HOUR), 25);
	assert_int_equal(f->sink.n, 0);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_track_churn_bot),
		T(test_track_rebuild),
		T(test_track_rebuild_reload),
		T(test_track_rebuild_verdict),
		T(test_track_churn_slow),
		T(test_track_churn_window),
		T(test_track_concurrency_hog),
		T(test_track_preexisting),
		T(test_track_karma_hog),
		T(test_track_karma_fair),
		cmocka_unit_test(test_track_karma_edges),
		T(test_track_syn_flood),
		T(test_track_nat),
		T(test_track_allowlisted),
		T(test_track_network_concurrency),
		T(test_track_network_churn),
		T(test_track_ipv6),
		T(test_track_reload),
		T(test_track_slots),
		T(test_track_halfopen),
		T(test_track_auth),
		T(test_track_ignored),
		T(test_track_lru),
		cmocka_unit_test(test_track_ring),
		T(test_track_walk),
		T(test_track_memory),
		T(test_track_random),
		T(test_track_accounts_nat),
		T(test_track_accounts_limits),
		T(test_track_accounts_bounds),
		T(test_track_peer),
		T(test_track_rebuild_accounts),
	};
#undef T

	return cmocka_run_group_tests_name("track", tests, NULL, NULL);
}
