/*
 * Unit tests for rule.c: which limits apply (service, network, override),
 * allowlisting, and the verdicts with the reasons people read.
 */
#include "unit.h"

#include "../../src/rule.c"

#include <stdlib.h>

#include "xmalloc.h"

#define S	1000000LL
#define T0	(1699999200LL * S)

static struct conf *
load(void)
{
	struct conf	*conf = NULL;
	char		*cause = NULL;

	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	assert_null(cause);
	return conf;
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

/* Sets c2s to the figures of the XEP-0205 discussion. */
static struct conf_service *
c2s(struct conf *conf)
{
	struct conf_service	*svc = service(conf, "c2s");

	svc->max_concurrent = 50;
	svc->max_new.count = 120;
	svc->max_new.window = 3600 * S;
	svc->karma.rate = 10 * 1024;
	svc->karma.burst = 256 * 1024;
	svc->net_max_concurrent = 200;
	svc->net_max_new.count = 600;
	svc->net_max_new.window = 3600 * S;
	return svc;
}

static struct prefix
pfx(const char *s)
{
	struct prefix	p;

	assert_int_equal(addr_prefix_parse(s, &p, 0), 0);
	return p;
}

static void
add_override(struct conf *conf, const char *name, const char *net1,
    const char *net2, uint32_t maxc, uint32_t maxnew, int64_t window)
{
	struct conf_override	*o;

	conf->overrides = xreallocarray(conf->overrides,
	    (size_t)conf->noverrides + 1, sizeof(*conf->overrides));
	o = &conf->overrides[conf->noverrides++];
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->networks = xcalloc(2, sizeof(*o->networks));
	o->networks[o->nnetworks++] = pfx(net1);
	if (net2 != NULL)
		o->networks[o->nnetworks++] = pfx(net2);
	o->max_concurrent = maxc;
	o->max_new.count = maxnew;
	o->max_new.window = window;
}

static void
add_allow(struct conf *conf, const char *net)
{
	conf->allow = xreallocarray(conf->allow, (size_t)conf->nallow + 1,
	    sizeof(*conf->allow));
	conf->allow[conf->nallow++] = pfx(net);
}

static void
test_rule_names(void **state)
{
	(void)state;
	assert_string_equal(verdict_rule_name(VERDICT_CONCURRENCY),
	    "concurrency");
	assert_string_equal(verdict_rule_name(VERDICT_CHURN), "churn");
	assert_string_equal(verdict_rule_name(VERDICT_KARMA), "karma");
	assert_string_equal(verdict_rule_name(VERDICT_AUTH), "auth");
	assert_string_equal(verdict_rule_name(VERDICT_REGISTER), "register");
	assert_string_equal(verdict_rule_name(VERDICT_MANUAL), "manual");
	assert_null(verdict_rule_name(VERDICT_RULE_MAX));
	assert_null(verdict_rule_name((enum verdict_rule)-1));
}

static void
test_rule_limits_service(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct prefix		 p;

	(void)state;
	p = pfx("198.51.100.7");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 50);
	assert_int_equal(lim.max_new.count, 120);
	assert_true(lim.max_new.window == 3600 * S);
	assert_int_equal(lim.karma.rate, 10 * 1024);
	assert_int_equal(lim.karma.burst, 256 * 1024);

	/* A network: the net_ limits, and no karma. */
	p = pfx("198.51.100.0/24");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 200);
	assert_int_equal(lim.max_new.count, 600);
	assert_int_equal(lim.karma.rate, 0);

	p = pfx("2001:db8::/64");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 200);
	p = pfx("2001:db8::1");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 50);
	conf_free(conf);
}

static void
test_rule_limits_override(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct prefix		 p;

	(void)state;
	add_override(conf, "campus", "10.0.0.0/8", NULL, 500, 0, 0);
	add_override(conf, "nat", "10.1.2.3", "2001:db8:5::/48", 150, 600,
	    3600 * S);
	add_override(conf, "lab", "10.9.0.0/16", NULL, 0, 1000, 7200 * S);

	/* The most specific network wins. */
	p = pfx("10.1.2.3");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 150);
	assert_int_equal(lim.max_new.count, 600);
	assert_int_equal(lim.karma.rate, 10 * 1024);	/* overrides keep it */

	/* Only max_concurrent set: max_new stays the service's. */
	p = pfx("10.1.2.4");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 500);
	assert_int_equal(lim.max_new.count, 120);

	/* Only max_new set (with its own window) over a wider override:
	 * the most specific decides alone, 0 keeps the service's. */
	p = pfx("10.9.8.7");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 50);
	assert_int_equal(lim.max_new.count, 1000);
	assert_true(lim.max_new.window == 7200 * S);

	/* Networks inside an override network take its values too... */
	p = pfx("10.1.2.0/24");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 500);
	assert_int_equal(lim.max_new.count, 600);	/* net_max_new kept */
	assert_int_equal(lim.karma.rate, 0);
	/* ... but a network is not inside a host override. */
	p = pfx("2001:db8:5:1::/64");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 150);
	assert_int_equal(lim.max_new.count, 600);
	p = pfx("2001:db8:6::/64");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 200);

	/* Outside every override; and the families never mix. */
	p = pfx("192.0.2.1");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 50);
	p = pfx("::ffff:10.1.2.3");	/* stored as IPv4 */
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(lim.max_concurrent, 150);
	conf_free(conf);
}

static void
test_rule_allowlisted(void **state)
{
	struct conf	*conf = load();
	struct prefix	 p;

	(void)state;
	add_allow(conf, "192.0.2.0/24");
	add_allow(conf, "203.0.113.77");
	add_allow(conf, "2001:db8:aa::/48");

	p = pfx("192.0.2.9");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("192.0.2.0/24");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("192.0.2.128/25");
	assert_true(rule_allowlisted(conf, &p));
	/* A network holding an allowed address: banning it would ban that
	 * address too. */
	p = pfx("203.0.113.0/24");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("203.0.113.78");
	assert_false(rule_allowlisted(conf, &p));
	p = pfx("2001:db8:aa:1::/64");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("2001:db8:ab:1::/64");
	assert_false(rule_allowlisted(conf, &p));
	p = pfx("198.51.100.1");
	assert_false(rule_allowlisted(conf, &p));

	/* Loopback, host and network, both families. */
	p = pfx("127.0.0.1");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("127.3.0.0/24");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("::1");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("::/64");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("::2");
	assert_false(rule_allowlisted(conf, &p));

	/* [allow] proxies: the proxy and any network holding it. */
	conf->proxies = xreallocarray(conf->proxies, 1,
	    sizeof(*conf->proxies));
	conf->proxies[conf->nproxies++] = pfx("198.51.100.80");
	p = pfx("198.51.100.80");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("198.51.100.0/24");
	assert_true(rule_allowlisted(conf, &p));
	p = pfx("198.51.100.81");
	assert_false(rule_allowlisted(conf, &p));
	conf_free(conf);
}

static void
test_rule_concurrency(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct rule_subject	 s;
	struct verdict		 v;
	struct prefix		 p = pfx("198.51.100.7");
	char			 buf[ADDR_PREFIX_STRLEN];

	(void)state;
	s.conf = conf;
	s.svc = svc;
	s.prefix = &p;
	s.time = T0 + 5 * S;
	rule_limits(conf, svc, &p, &lim);
	memset(&v, 0xa5, sizeof(v));
	assert_int_equal(rule_concurrency(&s, &lim, 50, &v), 0);
	assert_true(v.observed == 0xa5a5a5a5a5a5a5a5ULL);	/* untouched */
	assert_int_equal(rule_concurrency(&s, &lim, 51, &v), 1);
	assert_string_equal(v.reason,
	    "concurrency: 51 live c2s connections (limit 50)");
	assert_int_equal(v.rule, VERDICT_CONCURRENCY);
	assert_true(v.time == T0 + 5 * S);
	assert_string_equal(addr_prefix_ntop(&v.prefix, buf, sizeof(buf)),
	    "198.51.100.7/32");
	assert_ptr_equal(v.service, svc->name);
	assert_int_equal(v.observed, 51);
	assert_int_equal(v.limit, 50);
	assert_true(v.window == 0);
	assert_int_equal(v.allowlisted, 0);

	/* A network names itself. */
	p = pfx("198.51.100.0/24");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(rule_concurrency(&s, &lim, 200, &v), 0);
	assert_int_equal(rule_concurrency(&s, &lim, 201, &v), 1);
	assert_string_equal(v.reason, "concurrency: 201 live c2s connections "
	    "from 198.51.100.0/24 (limit 200)");

	/* 0: no limit. */
	lim.max_concurrent = 0;
	assert_int_equal(rule_concurrency(&s, &lim, UINT32_MAX, &v), 0);
	conf_free(conf);
}

static void
test_rule_churn(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct rule_subject	 s;
	struct verdict		 v;
	struct prefix		 p = pfx("198.51.100.7");

	(void)state;
	s.conf = conf;
	s.svc = svc;
	s.prefix = &p;
	s.time = T0;
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(rule_churn(&s, &lim, 120, &v), 0);
	assert_int_equal(rule_churn(&s, &lim, 131, &v), 1);
	assert_string_equal(v.reason,
	    "churn: 131 new c2s connections in 1h (limit 120)");
	assert_int_equal(v.rule, VERDICT_CHURN);
	assert_int_equal(v.observed, 131);
	assert_int_equal(v.limit, 120);
	assert_true(v.window == 3600 * S);

	p = pfx("198.51.100.0/24");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(rule_churn(&s, &lim, 600, &v), 0);
	assert_int_equal(rule_churn(&s, &lim, 610, &v), 1);
	assert_string_equal(v.reason, "churn: 610 new c2s connections from "
	    "198.51.100.0/24 in 1h (limit 600)");

	/* Other windows print in their own unit. */
	lim.max_new.window = 90 * S;
	assert_int_equal(rule_churn(&s, &lim, 611, &v), 1);
	assert_string_equal(v.reason, "churn: 611 new c2s connections from "
	    "198.51.100.0/24 in 90s (limit 600)");
	lim.max_new.count = 0;
	assert_int_equal(rule_churn(&s, &lim, UINT64_MAX, &v), 0);
	conf_free(conf);
}

/*
 * Account-aware limits: the allowances per account on top of the base,
 * the caps (host and network), a limit that is off staying off, and the
 * reason naming the budget.
 */
static void
test_rule_accounts(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct rule_subject	 s;
	struct verdict		 v;
	struct prefix		 p = pfx("198.51.100.7");

	(void)state;
	svc->account_allowance_concurrent = 1;
	svc->account_allowance_new = 4;
	svc->account_max = 150;
	svc->net_account_max = 250;
	s.conf = conf;
	s.svc = svc;
	s.prefix = &p;
	s.time = T0;

	/* No account: the base limits, today's reasons. */
	rule_limits(conf, svc, &p, &lim);
	rule_limits_accounts(svc, &p, 0, &lim);
	assert_true(rule_max_new(&lim) == 120);
	assert_true(rule_max_concurrent(&lim) == 50);
	assert_int_equal(rule_churn(&s, &lim, 121, &v), 1);
	assert_string_equal(v.reason,
	    "churn: 121 new c2s connections in 1h (limit 120)");

	/* One account. */
	rule_limits_accounts(svc, &p, 1, &lim);
	assert_int_equal(rule_churn(&s, &lim, 124, &v), 0);
	assert_int_equal(rule_churn(&s, &lim, 125, &v), 1);
	assert_string_equal(v.reason, "churn: 125 new c2s connections in 1h "
	    "(limit 120 + 1 account x 4)");
	assert_int_equal(v.limit, 124);

	/* 300 accounts count as 150. */
	rule_limits_accounts(svc, &p, 300, &lim);
	assert_int_equal(lim.accounts, 150);
	assert_true(rule_max_new(&lim) == 720);
	assert_int_equal(rule_churn(&s, &lim, 720, &v), 0);
	assert_int_equal(rule_churn(&s, &lim, 721, &v), 1);
	assert_string_equal(v.reason, "churn: 721 new c2s connections in 1h "
	    "(limit 120 + 150 accounts x 4)");
	assert_int_equal(v.observed, 721);
	assert_int_equal(v.limit, 720);
	assert_int_equal(rule_concurrency(&s, &lim, 200, &v), 0);
	assert_int_equal(rule_concurrency(&s, &lim, 201, &v), 1);
	assert_string_equal(v.reason, "concurrency: 201 live c2s connections "
	    "(limit 50 + 150 accounts x 1)");
	assert_int_equal(v.limit, 200);

	/* A network has its own cap. */
	p = pfx("198.51.100.0/24");
	rule_limits(conf, svc, &p, &lim);
	rule_limits_accounts(svc, &p, 300, &lim);
	assert_int_equal(lim.accounts, 250);
	assert_true(rule_max_new(&lim) == 600 + 250 * 4);
	assert_int_equal(rule_churn(&s, &lim, 1601, &v), 1);
	assert_string_equal(v.reason, "churn: 1601 new c2s connections from "
	    "198.51.100.0/24 in 1h (limit 600 + 250 accounts x 4)");

	/* An allowance of 0 raises nothing and is not named. */
	svc->account_allowance_concurrent = 0;
	rule_limits_accounts(svc, &p, 300, &lim);
	assert_int_equal(rule_concurrency(&s, &lim, 201, &v), 1);
	assert_string_equal(v.reason, "concurrency: 201 live c2s connections "
	    "from 198.51.100.0/24 (limit 200)");

	/* A limit that is off stays off; the largest figures do not wrap. */
	lim.max_new.count = 0;
	assert_true(rule_max_new(&lim) == 0);
	assert_int_equal(rule_churn(&s, &lim, UINT64_MAX, &v), 0);
	lim.max_new.count = UINT32_MAX;
	lim.accounts = UINT32_MAX;
	lim.account_new = UINT32_MAX;
	assert_true(rule_max_new(&lim) == UINT32_MAX +
	    (uint64_t)UINT32_MAX * UINT32_MAX);

	/* account_max 0: logins raise nothing. */
	svc->account_max = 0;
	p = pfx("198.51.100.7");
	rule_limits(conf, svc, &p, &lim);
	rule_limits_accounts(svc, &p, 300, &lim);
	assert_true(rule_max_new(&lim) == 120);
	conf_free(conf);
}

static void
test_rule_karma(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct rule_subject	 s;
	struct verdict		 v;
	struct prefix		 p = pfx("198.51.100.7");

	(void)state;
	s.conf = conf;
	s.svc = svc;
	s.prefix = &p;
	s.time = T0;
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(rule_karma(&s, &lim, 0, 256 * 1024, 0, &v), 0);
	assert_int_equal(rule_karma(&s, &lim, -1, 300 * 1024, 10 * S, &v), 1);
	assert_string_equal(v.reason, "karma: c2s budget exhausted: 300k in "
	    "10s (10k/s burst 256k)");
	assert_int_equal(v.rule, VERDICT_KARMA);
	assert_int_equal(v.observed, 300 * 1024);
	/* The limit is what the budget allowed over the span. */
	assert_int_equal(v.limit, 256 * 1024 + 10 * 10 * 1024);
	assert_true(v.window == 10 * S);

	/* Amounts are rounded for people, exact in the fields. */
	assert_int_equal(rule_karma(&s, &lim, -5, 366800, 0, &v), 1);
	assert_string_equal(v.reason, "karma: c2s budget exhausted: 358k in "
	    "<1s (10k/s burst 256k)");
	assert_int_equal(v.observed, 366800);
	assert_int_equal(rule_karma(&s, &lim, -5, 15 * 1024 * 1024 + 1,
	    1800 * S + 20 * S, &v), 1);
	assert_string_equal(v.reason, "karma: c2s budget exhausted: 15M in "
	    "30m (10k/s burst 256k)");
	assert_int_equal(rule_karma(&s, &lim, -5, 9000, 40000 * S, &v), 1);
	assert_string_equal(v.reason, "karma: c2s budget exhausted: 9000 in "
	    "11h (10k/s burst 256k)");
	/* No overflow at the extremes. */
	assert_int_equal(rule_karma(&s, &lim, INT64_MIN, UINT64_MAX,
	    INT64_MAX, &v), 1);
	assert_true(v.limit == 256 * 1024 + (uint64_t)10240 * (INT64_MAX / S));
	assert_non_null(strstr(v.reason, "exhausted: 16777215T in "));
	assert_int_equal(rule_karma(&s, &lim, -1, 1, -5, &v), 1);
	assert_true(v.window == 0);

	lim.karma.rate = 0;
	assert_int_equal(rule_karma(&s, &lim, -1000, 1000000, 10 * S, &v), 0);
	conf_free(conf);
}

static void
test_rule_allowlisted_verdicts(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct rule_subject	 s;
	struct verdict		 v;
	struct prefix		 p;

	(void)state;
	add_allow(conf, "192.0.2.0/24");
	s.conf = conf;
	s.svc = svc;
	s.prefix = &p;
	s.time = T0;

	p = pfx("192.0.2.9");
	rule_limits(conf, svc, &p, &lim);
	assert_int_equal(rule_concurrency(&s, &lim, 51, &v), 1);
	assert_int_equal(v.allowlisted, 1);
	p = pfx("127.0.0.1");
	assert_int_equal(rule_churn(&s, &lim, 121, &v), 1);
	assert_int_equal(v.allowlisted, 1);
	p = pfx("192.0.3.9");
	assert_int_equal(rule_karma(&s, &lim, -1, 1, 0, &v), 1);
	assert_int_equal(v.allowlisted, 0);
	conf_free(conf);
}

static void
test_rule_long_names(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = c2s(conf);
	struct rule_limits	 lim;
	struct rule_subject	 s;
	struct verdict		 v;
	struct prefix		 p = pfx("2001:db8:1234:5678:9abc:def0:1234:0/112");

	(void)state;
	/* The longest name and prefix still give a NUL-terminated reason. */
	memset(svc->name, 'x', sizeof(svc->name) - 1);
	svc->name[sizeof(svc->name) - 1] = '\0';
	s.conf = conf;
	s.svc = svc;
	s.prefix = &p;
	s.time = T0;
	rule_limits(conf, svc, &p, &lim);
	lim.karma.rate = lim.karma.burst = UINT64_MAX - 1;
	assert_int_equal(rule_karma(&s, &lim, -1, UINT64_MAX, INT64_MAX,
	    &v), 1);
	assert_true(strlen(v.reason) < sizeof(v.reason));
	assert_true(strncmp(v.reason, "karma: xxxxxxxx", 15) == 0);
	assert_int_equal(v.limit, UINT64_MAX);
	assert_int_equal(rule_churn(&s, &lim, UINT64_MAX, &v), 1);
	assert_non_null(strstr(v.reason, "18446744073709551615 new xxx"));
	conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_names),
		cmocka_unit_test(test_rule_limits_service),
		cmocka_unit_test(test_rule_limits_override),
		cmocka_unit_test(test_rule_allowlisted),
		cmocka_unit_test(test_rule_concurrency),
		cmocka_unit_test(test_rule_churn),
		cmocka_unit_test(test_rule_accounts),
		cmocka_unit_test(test_rule_karma),
		cmocka_unit_test(test_rule_allowlisted_verdicts),
		cmocka_unit_test(test_rule_long_names),
	};

	return cmocka_run_group_tests_name("rule", tests, NULL, NULL);
}
