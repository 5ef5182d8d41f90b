/*
 * Unit tests for kcap.c: which verdicts the caps cover, and the count of
 * refusals that bans an address hammering a cap, with the exemptions of
 * addresses whose handshakes go unanswered.
 */
#include "unit.h"

#include "../../src/kcap.c"

#include <stdlib.h>

#include "unit_kcap.h"

static void
test_covers(void **state)
{
	struct conf	*conf = load();
	struct verdict	 v;

	(void)state;
	memset(&v, 0, sizeof v);
	v.rule = VERDICT_CONCURRENCY;
	v.service = "c2s";
	assert_true(kcap_covers(conf, &v));
	v.rule = VERDICT_CHURN;
	assert_true(kcap_covers(conf, &v));
	v.rule = VERDICT_KARMA;
	assert_false(kcap_covers(conf, &v));
	v.rule = VERDICT_CHURN;
	v.service = "s2s";
	assert_false(kcap_covers(conf, &v));
	v.service = "c2s";
	kcap_set_available(0);
	assert_false(kcap_covers(conf, &v));
	conf_free(conf);
}

static struct verdict	 got;
static int		 ngot;

static void
verdict_cb_test(const struct verdict *v, void *arg)
{
	(void)arg;
	got = *v;
	ngot++;
}

/* A reader with no socket over *confp, for kcap_refusal(): a table of
 * four addresses, verdicts to verdict_cb_test. */
static void
reader_init(struct kcap *k, const struct conf **confp)
{
	struct siphash_key	 key;
	int			 i;

	memset(k, 0, sizeof *k);
	for (i = 0; i < KCAP_HELD_MAX; i++)
		k->held[i].svc = -1;
	k->confp = confp;
	siphash_key_seed(&key, 1);
	htab_init(&k->h, 4, 1, &key);
	k->e = xcalloc(4, sizeof *k->e);
	kcap_set_verdict_cb(k, verdict_cb_test, NULL);
}

static void
test_refusal(void **state)
{
	struct conf	*c = load();
	const struct conf *conf = c;
	struct kcap	 k;
	struct addr	 a, b;
	struct verdict	 v;
	int		 i;

	(void)state;
	reader_init(&k, &conf);
	assert_int_equal(addr_parse("192.0.2.9", &a, NULL), 0);
	assert_int_equal(addr_parse("192.0.2.10", &b, NULL), 0);
	ngot = 0;
	assert_int_equal(kcap_refusal(&k, "other thing", &a, T0), -1);
	assert_int_equal(kcap_refusal(&k, "xgcap nosuch c", &a, T0), -1);
	for (i = 0; i < 3; i++)
		assert_int_equal(kcap_refusal(&k, "xgcap c2s c", &a, T0 + i * S),
		    0);
	/* Another cap, another address: counted apart. */
	assert_int_equal(kcap_refusal(&k, "xgcap c2s n", &a, T0), 0);
	assert_int_equal(kcap_refusal(&k, "xgcap c2s c", &b, T0), 0);
	assert_int_equal(ngot, 0);
	assert_int_equal(kcap_refusal(&k, "xgcap c2s c", &a, T0 + 10 * S), 0);
	assert_int_equal(ngot, 1);
	assert_int_equal(got.rule, VERDICT_CONCURRENCY);
	assert_int_equal(got.prefix.len, 32);
	assert_string_equal(got.service, "c2s");
	assert_int_equal(got.observed, 4);
	assert_string_equal(got.reason,
	    "refused 4 times by the c2s concurrency cap in 10m");
	assert_int_equal(k.stats.refusals[KCAP_CONC], 5);
	assert_int_equal(k.stats.bans, 1);
	/* A window past: the count starts again. */
	for (i = 0; i < 3; i++)
		(void)kcap_refusal(&k, "xgcap c2s n", &a, T0 + 700 * S + i);
	assert_int_equal(ngot, 1);
	(void)kcap_refusal(&k, "xgcap c2s n", &a, T0 + 701 * S);
	assert_int_equal(ngot, 2);
	assert_string_equal(got.reason,
	    "refused 4 times by the c2s churn cap in 10m");
	/* Let past a concurrency cap (its SYN-ACKs unanswered): the
	 * daemon enforces that address's concurrency for two minutes, not
	 * its churn, not another address's; a network's by its network. */
	memset(&got, 0, sizeof got);
	got.rule = VERDICT_CONCURRENCY;
	got.service = "c2s";
	got.prefix.addr = b;
	got.prefix.len = 32;
	got.time = T0 + 900 * S;
	assert_int_equal(kcap_exempt(&k, &got), 0);
	assert_int_equal(kcap_refusal(&k, "xgcap c2s x", &b, T0 + 900 * S),
	    0);
	assert_int_equal(k.stats.exempt, 1);
	/* The verdict held by the first call, released. */
	assert_int_equal(ngot, 3);
	assert_int_equal(got.capped, 0);
	assert_int_equal(kcap_exempt(&k, &got), 1);
	assert_int_equal(kcap_exempt(NULL, &got), 0);
	got.prefix.addr = a;
	assert_int_equal(kcap_exempt(&k, &got), 0);
	got.prefix.addr = b;
	got.rule = VERDICT_CHURN;
	assert_int_equal(kcap_exempt(&k, &got), 0);
	got.rule = VERDICT_CONCURRENCY;
	got.time = T0 + 1021 * S;
	assert_int_equal(kcap_exempt(&k, &got), 0);
	got.time = T0 + 900 * S;
	assert_int_equal(kcap_refusal(&k, "xgcap c2s X", &b, T0 + 900 * S),
	    0);
	addr_mask(&b, 24, &got.prefix);
	assert_int_equal(kcap_exempt(&k, &got), 1);
	/* The tracker judged first: its verdict, covered, is held, and
	 * goes out uncovered when the exemption is read. */
	memset(&v, 0, sizeof v);
	v.rule = VERDICT_CONCURRENCY;
	v.service = "c2s";
	assert_int_equal(addr_parse("192.0.2.77", &v.prefix.addr, NULL), 0);
	v.prefix.len = 32;
	v.time = T0 + 950 * S;
	v.capped = 1;
	assert_int_equal(kcap_exempt(&k, &v), 0);
	assert_int_equal(ngot, 3);
	b.bytes[3] = 78;
	assert_int_equal(kcap_refusal(&k, "xgcap c2s x", &b, T0 + 951 * S),
	    0);
	assert_int_equal(ngot, 3);
	assert_int_equal(kcap_refusal(&k, "xgcap c2s x", &v.prefix.addr,
	    T0 + 951 * S), 0);
	assert_int_equal(ngot, 4);
	assert_int_equal(got.capped, 0);
	assert_true(addr_eq(&got.prefix.addr, &v.prefix.addr));
	/* Released once. */
	assert_int_equal(kcap_refusal(&k, "xgcap c2s x", &v.prefix.addr,
	    T0 + 952 * S), 0);
	assert_int_equal(ngot, 4);
	/* Full: the oldest goes, counted. */
	for (i = 0; i < 6; i++) {
		b.bytes[3] = (uint8_t)(20 + i);
		(void)kcap_refusal(&k, "xgcap c2s c", &b, T0 + 800 * S);
	}
	assert_true(k.stats.evicted > 0);
	htab_clear(&k.h);
	free(k.e);
	conf_free(c);
}

static char	refused_log[512];

static void
refusal_cb_test(const struct addr *a, const char *service, const char *cap,
    int64_t now, void *arg)
{
	char	b[ADDR_STRLEN];
	size_t	n = strlen(refused_log);

	(void)now;
	(void)arg;
	snprintf(refused_log + n, sizeof refused_log - n, "%s %s %s;",
	    addr_ntop(a, b, sizeof b), service, cap);
}

/* The hook into the store: every refusal read, with its service and cap;
 * the surge cap's too (which bans nobody); exemptions are not refusals;
 * with cap_persist none they are recorded and ban nobody. */
static void
test_refusal_hook(void **state)
{
	struct conf	*c = load();
	const struct conf *conf = c;
	struct kcap	 k;
	struct addr	 a;
	int		 i;

	(void)state;
	reader_init(&k, &conf);
	kcap_set_refusal_cb(&k, refusal_cb_test, NULL);
	kcap_set_refusal_cb(NULL, refusal_cb_test, NULL);
	refused_log[0] = '\0';
	ngot = 0;
	assert_int_equal(addr_parse("192.0.2.9", &a, NULL), 0);
	assert_int_equal(kcap_refusal(&k, "xgcap c2s c", &a, T0), 0);
	assert_int_equal(kcap_refusal(&k, "xgcap c2s N", &a, T0), 0);
	assert_int_equal(kcap_refusal(&k, "xgcap c2s x", &a, T0), 0);
	assert_int_equal(kcap_refusal(&k, "xgcap nosuch c", &a, T0), -1);
	for (i = 0; i < 10; i++)
		assert_int_equal(kcap_refusal(&k, "xgcap c2s s", &a, T0), 0);
	assert_string_equal(refused_log, "192.0.2.9 c2s concurrency;"
	    "192.0.2.9 c2s net_churn;192.0.2.9 c2s surge;192.0.2.9 c2s "
	    "surge;192.0.2.9 c2s surge;192.0.2.9 c2s surge;192.0.2.9 c2s "
	    "surge;192.0.2.9 c2s surge;192.0.2.9 c2s surge;192.0.2.9 c2s "
	    "surge;192.0.2.9 c2s surge;192.0.2.9 c2s surge;");
	/* The surge cap's ten refusals ban nobody. */
	assert_int_equal(ngot, 0);
	assert_int_equal(k.stats.refusals[KCAP_CONC], 1);
	assert_int_equal(k.stats.refusals[KCAP_NET_NEW], 1);
	/* cap_persist none: still recorded, never banned. */
	c->ban_cap_persist.count = 0;
	refused_log[0] = '\0';
	for (i = 0; i < 1000; i++)
		assert_int_equal(kcap_refusal(&k, "xgcap c2s c", &a, T0 + i),
		    0);
	assert_int_equal(strncmp(refused_log, "192.0.2.9 c2s concurrency;",
	    26), 0);
	assert_int_equal(k.stats.refusals[KCAP_CONC], 1001);
	assert_int_equal(ngot, 0);
	htab_clear(&k.h);
	free(k.e);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_refusal_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
