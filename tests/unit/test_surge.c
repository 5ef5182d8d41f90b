/*
 * Unit tests for surge.c in simulated time: strangers under surge_min_rate
 * make no surge, over it one starts at once with its size; known
 * addresses and connections followed by a login within 30 s do not
 * count; a surge ends after surge_end below; the hourly baseline learns
 * a usual rate and raises the threshold at that hour only; an hour with
 * a surge is not learnt; the known addresses reach the kernel once and
 * are renewed rarely; the surge cap's refusals are counted in its end;
 * the baseline learnt goes through a real store file and seeds a new
 * detector as it was (a restart); the tick wakes hourly unless a surge
 * is on.
 */
#include "unit.h"

#include "../../src/surge.c"

#include "fw.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define S	1000000LL
#define T0	(1700000000LL / 86400 * 86400 * S)	/* a midnight UTC */

static struct surge_change	 last;
static int			 changes;

static void
change_cb(const struct surge_change *c, void *arg)
{
	(void)arg;
	last = *c;
	changes++;
}

static struct conf *
load(void)
{
	struct conf	*conf = NULL;
	char		*cause = NULL;
	int		 i;

	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	assert_null(cause);
	kcap_set_available(1);
	for (i = 0; i < conf->nservices; i++) {
		struct conf_service *svc = &conf->services[i];

		svc->surge = strcmp(svc->name, "c2s") == 0;
		svc->surge_factor = 10;
		svc->surge_min_rate.count = 100;
		svc->surge_min_rate.window = 60 * S;
		svc->surge_end = 300 * S;
	}
	/* A log is configured (surge mode needs the logins). */
	conf->nlogs = 1;
	changes = 0;
	memset(&last, 0, sizeof last);
	return conf;
}

static void
unload(struct conf *conf)
{
	conf->nlogs = 0;
	conf_free(conf);
}

static void
ev_at(struct surge *sg, enum event_kind kind, uint32_t host, int64_t t)
{
	struct event	 ev;
	uint8_t		 b[4];

	memset(&ev, 0, sizeof ev);
	b[0] = 198;
	b[1] = 18;
	b[2] = (uint8_t)(host >> 8);
	b[3] = (uint8_t)host;
	addr_from_v4(&ev.addr, b);
	ev.kind = kind;
	ev.time = t;
	ev.service = "c2s";
	ev.source = kind == EVENT_CONN_OPEN ? EVENT_SRC_CONNTRACK :
	    EVENT_SRC_LOG;
	surge_event(sg, &ev);
}

/* n strangers' connections, one an address, spread over span. */
static void
spread(struct surge *sg, uint32_t first, int n, int64_t t, int64_t span)
{
	int	 i;

	for (i = 0; i < n; i++)
		ev_at(sg, EVENT_CONN_OPEN, first + (uint32_t)i,
		    t + span * i / n);
}

static void
test_on_only_where_asked(void **state)
{
	struct conf	*conf = load();

	(void)state;
	assert_true(surge_service_on(conf, "c2s"));
	assert_false(surge_service_on(conf, "s2s"));
	conf->nlogs = 0;
	assert_false(surge_service_on(conf, "c2s"));
	conf->nlogs = 1;
	kcap_set_available(0);
	assert_false(surge_service_on(conf, "c2s"));
	unload(conf);
}

static void
test_start_and_end(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);

	(void)state;
	surge_set_change_cb(sg, change_cb, NULL);
	/* 100 in a minute: at the minimum, not over it. */
	spread(sg, 1, 100, T0, 59 * S);
	surge_tick(sg, T0 + 59 * S);
	assert_int_equal(changes, 0);
	assert_false(surge_active(sg, "c2s"));
	/* Then a flood: the 101st in the window starts it, at once. */
	spread(sg, 1000, 400, T0 + 60 * S, 40 * S);
	assert_int_equal(changes, 1);
	assert_true(last.on);
	assert_true(surge_active(sg, "c2s"));
	assert_int_equal(last.threshold, 100);
	assert_int_equal(last.rate, 101);
	assert_true(last.addresses >= 100);
	assert_int_equal(last.factor, 10);
	/* It goes on while the flood does, ends surge_end after. */
	surge_tick(sg, T0 + 200 * S);
	assert_int_equal(changes, 1);
	surge_tick(sg, T0 + 400 * S);
	assert_int_equal(changes, 1);
	surge_tick(sg, T0 + 501 * S);
	assert_int_equal(changes, 2);
	assert_false(last.on);
	/* The window's 101 that started it, then the flood's rest. */
	assert_true(last.conns >= 400 && last.conns <= 500);
	assert_true(last.duration > 400 * S);
	assert_true(last.rate >= 400);
	assert_false(surge_active(sg, "c2s"));
	surge_free(sg);
	unload(conf);
}

static void
test_known_and_credited(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);
	struct addr	 a;
	uint8_t		 b[4] = { 198, 18, 0, 0 };
	int		 i;

	(void)state;
	surge_set_change_cb(sg, change_cb, NULL);
	/* 200 known addresses (logins 10 days ago): never strangers. */
	for (i = 0; i < 200; i++) {
		b[2] = (uint8_t)((i + 1) >> 8);
		b[3] = (uint8_t)(i + 1);
		addr_from_v4(&a, b);
		surge_known_add(sg, &a, T0 - 10 * 86400 * S);
	}
	spread(sg, 1, 200, T0, 30 * S);
	assert_int_equal(changes, 0);
	assert_int_equal(sg->svc[0].sum, 0);
	/* A login 40 days ago is too old: known_days is 30. */
	b[2] = 0x10;
	b[3] = 1;
	addr_from_v4(&a, b);
	surge_known_add(sg, &a, T0 - 40 * 86400 * S);
	ev_at(sg, EVENT_CONN_OPEN, 0x1001, T0 + 31 * S);
	assert_int_equal(sg->svc[0].sum, 1);
	/* New users: 150 connect, each logs in 5 s later; the count
	 * never passes 100. */
	for (i = 0; i < 150; i++) {
		ev_at(sg, EVENT_CONN_OPEN, 0x2000 + (uint32_t)i,
		    T0 + 32 * S + i * 100000LL);
		ev_at(sg, EVENT_AUTH_OK, 0x2000 + (uint32_t)i,
		    T0 + 37 * S + i * 100000LL);
	}
	assert_int_equal(changes, 0);
	assert_true(sg->svc[0].sum <= 60);
	assert_int_equal(sg->svc[0].credited, 150);
	/* A login 31 s late takes nothing back, but makes it known. */
	ev_at(sg, EVENT_CONN_OPEN, 0x3000, T0 + 60 * S);
	ev_at(sg, EVENT_AUTH_OK, 0x3000, T0 + 91 * S);
	assert_int_equal(sg->svc[0].credited, 150);
	assert_true(surge_is_known(sg, &sg->k[htab_oldest(&sg->kh,
	    SURGE_KNOWN_NEW)].addr, T0 + 91 * S));
	surge_free(sg);
	unload(conf);
}

/* A login in a later slot than its connection: taken back from the slot
 * that counted it, so nothing is left over when the window moves on. */
static void
test_credit_across_slots(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);
	int		 i;

	(void)state;
	/* Slots of 1 s (a 60 s window): 20 connections at 0.9 s, their
	 * logins at 1.5 s, in the next slot. */
	for (i = 0; i < 20; i++)
		ev_at(sg, EVENT_CONN_OPEN, 0x100 + (uint32_t)i, T0 + 900000);
	assert_int_equal(sg->svc[0].sum, 20);
	for (i = 0; i < 20; i++)
		ev_at(sg, EVENT_AUTH_OK, 0x100 + (uint32_t)i, T0 + 1500000);
	assert_int_equal(sg->svc[0].sum, 0);
	for (i = 0; i < SURGE_SLOTS; i++)
		assert_true(sg->svc[0].ring[i] >= 0);
	surge_tick(sg, T0 + 61 * S);
	assert_int_equal(sg->svc[0].sum, 0);
	surge_free(sg);
	unload(conf);
}

static void
test_baseline(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);
	int		 d, m;
	int64_t		 t;

	(void)state;
	surge_set_change_cb(sg, change_cb, NULL);
	/* Three days: at 10:00-11:00 UTC, 60 strangers a minute (a busy
	 * hour of new users who never log in); quiet elsewhere. */
	for (d = 0; d < 3; d++) {
		for (m = 0; m < 60; m++) {
			t = T0 + d * SURGE_DAY + 10 * SURGE_HOUR + m * 60 * S;
			spread(sg, (uint32_t)(d * 4000 + m * 60), 60, t,
			    59 * S);
		}
		surge_tick(sg, T0 + d * SURGE_DAY + 12 * SURGE_HOUR);
	}
	assert_int_equal(changes, 0);
	/* The first hour after the start was partial: not learnt.  Hour
	 * 10 learnt twice (days 1 and 2 after day 0's partial one). */
	assert_true(sg->svc[0].learnt[10]);
	assert_true(sg->svc[0].base[10] > 59 && sg->svc[0].base[10] < 61);
	assert_true(sg->svc[0].learnt[11]);
	assert_true(sg->svc[0].base[11] < 1);
	/* Day 4, 10:00: 300 a minute is 5 times usual, no surge; at 11:00
	 * the same is a surge (usual is the floor, 1: threshold 100). */
	t = T0 + 3 * SURGE_DAY + 10 * SURGE_HOUR;
	spread(sg, 20000, 300, t, 59 * S);
	assert_int_equal(changes, 0);
	t = T0 + 3 * SURGE_DAY + 11 * SURGE_HOUR;
	spread(sg, 30000, 300, t, 59 * S);
	assert_int_equal(changes, 1);
	assert_true(last.on);
	assert_int_equal(last.threshold, 100);
	/* At 10:00 the threshold was 10 x 60; day 3's hour 10 (300 in a
	 * minute, 5 a minute over the hour) weighs 0.3: 10 x 43.5. */
	assert_int_equal(surge_threshold(&sg->svc[0],
	    surge_baseline(&sg->svc[0], T0 + 4 * SURGE_DAY +
	    10 * SURGE_HOUR)), 435);
	/* The surge's hour is not learnt. */
	surge_tick(sg, T0 + 3 * SURGE_DAY + 13 * SURGE_HOUR);
	assert_true(sg->svc[0].base[11] < 1);
	surge_free(sg);
	unload(conf);
}

static void
test_known_take(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);
	struct addr	 a, out[8];
	int64_t		 until[8];
	uint8_t		 b[4] = { 192, 0, 2, 1 };

	(void)state;
	addr_from_v4(&a, b);
	surge_known_add(sg, &a, T0);
	assert_int_equal(surge_known_take(sg, out, until, 8, T0), 1);
	assert_true(addr_eq(&out[0], &a));
	assert_int_equal(until[0], T0 + 30 * SURGE_DAY);
	/* A login the next day renews nothing; one 8 days on does. */
	surge_known_add(sg, &a, T0 + SURGE_DAY);
	assert_int_equal(surge_known_take(sg, out, until, 8, T0), 0);
	surge_known_add(sg, &a, T0 + 8 * SURGE_DAY);
	assert_int_equal(surge_known_take(sg, out, until, 8, T0), 1);
	assert_int_equal(until[0], T0 + 38 * SURGE_DAY);
	/* A login older than known_days from the store: not handed out. */
	b[3] = 2;
	addr_from_v4(&a, b);
	surge_known_add(sg, &a, T0 - 31 * SURGE_DAY);
	assert_int_equal(surge_known_take(sg, out, until, 8, T0), 0);
	surge_free(sg);
	unload(conf);
}

static void
test_bounded(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg;
	struct addr	 a;
	uint8_t		 b[4] = { 10, 0, 0, 0 };
	uint32_t	 i;

	(void)state;
	conf->track_capacity = 1024;
	sg = surge_new(conf);
	for (i = 0; i < 3000; i++) {
		b[2] = (uint8_t)(i >> 8);
		b[3] = (uint8_t)i;
		addr_from_v4(&a, b);
		surge_known_add(sg, &a, T0);
	}
	assert_int_equal(htab_used(&sg->kh), 1024);
	assert_int_equal(sg->known_evicted, 3000 - 1024);
	spread(sg, 0, 3000, T0, 30 * S);
	assert_int_equal(htab_used(&sg->sh), 1024);
	surge_free(sg);
	unload(conf);
}

static char *
caps_text(const struct conf *conf)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	kcap_text(f, conf, "xg");
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The kernel's side (kcap.c): the sets and the rule in the service's
 * caps chain, only where surge mode is on. */
static void
test_kernel_rules(void **state)
{
	struct conf	*conf = load();
	char		*t;

	(void)state;
	t = caps_text(conf);
	assert_non_null(strstr(t, "add set inet xg known4 { type ipv4_addr; "
	    "flags timeout; size 65536; }\n"));
	assert_non_null(strstr(t, "add set inet xg known6 { type ipv6_addr; "
	    "flags timeout; size 65536; }\n"));
	assert_non_null(strstr(t, "add set inet xg surge_c2s { type "
	    "inet_proto; flags timeout; }\n"));
	assert_non_null(strstr(t, "add set inet xg cap_c2s_s4_5_3600 { type "
	    "ipv4_addr; size 65536; flags dynamic, timeout; timeout 3600s; "
	    "}\n"));
	assert_non_null(strstr(t, "add rule inet xg cap_c2s ct status "
	    "assured meta l4proto @surge_c2s ip saddr != @known4 update "
	    "@cap_c2s_s4_5_3600 { ip saddr limit rate over 5/hour burst 5 "
	    "packets } log prefix \"xgcap c2s s\" group 5222 snaplen 40 ct "
	    "label set 125 reject with tcp reset\n"));
	assert_non_null(strstr(t, "meta l4proto @surge_c2s ip6 saddr != "
	    "@known6 update @cap_c2s_s6_5_3600 { ip6 saddr "));
	assert_null(strstr(t, "surge_s2s"));
	free(t);
	/* No log to tell the logins: no surge mode, no sets. */
	conf->nlogs = 0;
	t = caps_text(conf);
	assert_null(strstr(t, "known4"));
	assert_null(strstr(t, "surge_"));
	free(t);
	unload(conf);
}

/* A batch of switches and known addresses as nft text: each element's
 * timeout set whatever the kernel does with a re-add. */
static void
test_kernel_ops(void **state)
{
	struct fw_op	 ops[3];
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*f;

	(void)state;
	memset(ops, 0, sizeof ops);
	ops[0].kind = FW_SURGE;
	snprintf(ops[0].reason, sizeof ops[0].reason, "c2s");
	ops[0].duration = 600 * S;
	ops[1].kind = FW_SURGE;
	snprintf(ops[1].reason, sizeof ops[1].reason, "http");
	ops[2].kind = FW_KNOWN;
	assert_int_equal(addr_prefix_parse("2001:db8::7/128", &ops[2].prefix,
	    0), 0);
	ops[2].duration = 86400 * S - 1;
	f = open_memstream(&buf, &len);
	kcap_surge_text(f, "xg", ops, 3, 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf,
	    "add element inet xg surge_c2s { tcp timeout 1s }\n"
	    "delete element inet xg surge_c2s { tcp }\n"
	    "add element inet xg surge_c2s { tcp timeout 600s }\n"
	    "add element inet xg surge_http { tcp timeout 1s }\n"
	    "delete element inet xg surge_http { tcp }\n"
	    "add element inet xg known6 { 2001:db8::7 timeout 1s }\n"
	    "delete element inet xg known6 { 2001:db8::7 }\n"
	    "add element inet xg known6 { 2001:db8::7 timeout 86400s }\n");
	free(buf);
	/* Netlink took the known addresses. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	kcap_surge_text(f, "xg", ops + 2, 1, 1);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "");
	free(buf);
}

static void
test_refused(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);

	(void)state;
	surge_set_change_cb(sg, change_cb, NULL);
	/* Before a surge: not counted. */
	surge_refused(sg, "c2s");
	spread(sg, 1000, 200, T0, 40 * S);
	assert_int_equal(changes, 1);
	assert_true(last.on);
	assert_int_equal(last.refused, 0);
	surge_refused(sg, "c2s");
	surge_refused(sg, "c2s");
	surge_refused(sg, "s2s");	/* not in surge mode */
	surge_refused(sg, "nosuch");
	surge_refused(sg, "c2s");
	surge_tick(sg, T0 + 200 * S);
	surge_tick(sg, T0 + 501 * S);
	assert_int_equal(changes, 2);
	assert_false(last.on);
	assert_int_equal(last.refused, 3);
	/* The next surge counts from nothing. */
	spread(sg, 5000, 200, T0 + 600 * S, 40 * S);
	assert_int_equal(changes, 3);
	surge_refused(sg, "c2s");
	surge_tick(sg, T0 + 800 * S);
	surge_tick(sg, T0 + 1101 * S);
	assert_int_equal(changes, 4);
	assert_int_equal(last.refused, 1);
	surge_free(sg);
	unload(conf);
}

/* Three days of a busy hour 10 (as test_baseline). */
static void
learn_days(struct surge *sg)
{
	int64_t	 t;
	int	 d, m;

	for (d = 0; d < 3; d++) {
		for (m = 0; m < 60; m++) {
			t = T0 + d * SURGE_DAY + 10 * SURGE_HOUR + m * 60 * S;
			spread(sg, (uint32_t)(d * 4000 + m * 60), 60, t,
			    59 * S);
		}
		surge_tick(sg, T0 + d * SURGE_DAY + 12 * SURGE_HOUR);
	}
}

static void
seed_cb(const char *service, int hour, int64_t window, double base,
    void *arg)
{
	surge_baseline_seed(arg, service, hour, window, base);
}

static void
test_baseline_restart(void **state)
{
	struct conf		*conf = load();
	struct surge		*sg = surge_new(conf), *sg2;
	struct surge_learnt	 l[64];
	struct store		*st;
	char			 dir[] = "/tmp/xg-surge.XXXXXX", path[64];
	char			*cause = NULL, cmd[96];
	int64_t			 t;
	double			 b3;
	size_t			 n, i;
	int			 h;

	(void)state;
	t = T0 + 3 * SURGE_DAY + 10 * SURGE_HOUR;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/s.db", dir);
	learn_days(sg);
	/* Each hour learnt handed out once, whatever the days. */
	n = surge_learnt_take(sg, l, 64);
	assert_true(n >= 2 && n <= 24);
	assert_int_equal(surge_learnt_take(sg, l + n, 64 - n), 0);
	st = store_open(path, 0, 100, &cause);
	assert_non_null(st);
	for (i = 0; i < n; i++) {
		assert_string_equal(l[i].service, "c2s");
		assert_int_equal(l[i].window, 60 * S);
		assert_int_equal(store_surge_base_set(st, l[i].service,
		    l[i].hour, l[i].window, l[i].base, t), 0);
	}
	/* Learnt again later: the row is replaced, not added. */
	assert_int_equal(store_surge_base_set(st, l[0].service, l[0].hour,
	    l[0].window, l[0].base, t), 0);
	store_close(st);

	/* The restart: a new detector seeded from the file. */
	st = store_open(path, 0, 100, &cause);
	assert_non_null(st);
	sg2 = surge_new(conf);
	assert_int_equal(store_surge_base_load(st, 0, seed_cb, sg2, &cause),
	    (int64_t)n);
	for (h = 0; h < SURGE_HOURS; h++) {
		assert_int_equal(sg2->svc[0].learnt[h], sg->svc[0].learnt[h]);
		if (sg->svc[0].learnt[h])
			assert_true(sg2->svc[0].base[h] == sg->svc[0].base[h]);
	}
	/* So the threshold at 10:00 is the days' (10 x 60), not
	 * surge_min_rate's 100. */
	assert_int_equal(surge_threshold(&sg2->svc[0],
	    surge_baseline(&sg2->svc[0], t)), 600);
	/* Seeding hands nothing back to be written again. */
	assert_int_equal(surge_learnt_take(sg2, l, 64), 0);
	/* Rows learnt before since are not read (retention's job). */
	assert_int_equal(store_surge_base_load(st, t + 1, seed_cb, sg2,
	    &cause), 0);
	surge_free(sg2);

	/* Another window: another unit, nothing seeded. */
	conf->services[0].surge_min_rate.window = 120 * S;
	for (i = 0; i < (size_t)conf->nservices; i++)
		conf->services[i].surge_min_rate.window = 120 * S;
	sg2 = surge_new(conf);
	assert_int_equal(store_surge_base_load(st, 0, seed_cb, sg2, &cause),
	    (int64_t)n);
	for (h = 0; h < SURGE_HOURS; h++)
		assert_false(sg2->svc[0].learnt[h]);
	surge_free(sg2);
	/* A bad row is ignored. */
	b3 = sg->svc[0].base[3];
	surge_baseline_seed(sg, "c2s", 24, 60 * S, 1);
	surge_baseline_seed(sg, "c2s", 3, 60 * S, -1);
	assert_true(sg->svc[0].base[3] == b3);
	/* Retention removes a row not learnt again. */
	assert_int_equal(store_purge(st, t + 1, &cause), (int64_t)n);
	store_close(st);
	surge_free(sg);
	unload(conf);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The tick's next wake-up: the next hour's start while quiet, a second
 * while a surge is on, the next hour's again once it is over. */
static void
test_next_tick(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);

	(void)state;
	surge_set_change_cb(sg, change_cb, NULL);
	assert_int_equal(surge_next_tick(sg, T0), 3600 * S + 1000);
	assert_int_equal(surge_next_tick(sg, T0 + 3599 * S),
	    S + 1000);
	spread(sg, 1000, 400, T0 + 60 * S, 40 * S);
	assert_true(surge_active(sg, "c2s"));
	assert_int_equal(surge_next_tick(sg, T0 + 100 * S), S);
	surge_tick(sg, T0 + 200 * S);	/* low from here */
	assert_int_equal(surge_next_tick(sg, T0 + 200 * S), S);
	surge_tick(sg, T0 + 501 * S);
	assert_false(surge_active(sg, "c2s"));
	assert_int_equal(surge_next_tick(sg, T0 + 501 * S),
	    (3600 - 501) * S + 1000);
	surge_free(sg);
	unload(conf);
}

/* One address churning over the rate, or nine (it and eight more), is no
 * surge: their own caps are for that.  Ten are. */
static void
test_few_addresses(void **state)
{
	struct conf	*conf = load();
	struct surge	*sg = surge_new(conf);
	int		 i;

	(void)state;
	surge_set_change_cb(sg, change_cb, NULL);
	for (i = 0; i < 400; i++)
		ev_at(sg, EVENT_CONN_OPEN, 7, T0 + i * (S / 10));
	for (i = 0; i < 400; i++)
		ev_at(sg, EVENT_CONN_OPEN, 100 + (uint32_t)(i % 8),
		    T0 + 40 * S + i * (S / 100));
	surge_tick(sg, T0 + 45 * S);
	assert_int_equal(changes, 0);
	assert_false(surge_active(sg, "c2s"));
	ev_at(sg, EVENT_CONN_OPEN, 200, T0 + 46 * S);
	assert_int_equal(changes, 1);
	assert_true(surge_active(sg, "c2s"));
	assert_true(last.addresses >= 10);
	surge_free(sg);
	unload(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_on_only_where_asked),
		cmocka_unit_test(test_start_and_end),
		cmocka_unit_test(test_next_tick),
		cmocka_unit_test(test_few_addresses),
		cmocka_unit_test(test_known_and_credited),
		cmocka_unit_test(test_credit_across_slots),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_known_take),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_kernel_rules),
		cmocka_unit_test(test_kernel_ops),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_baseline_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
