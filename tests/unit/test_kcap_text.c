/*
 * Unit tests for kcap_text.c: the kernel caps' ruleset as text (per
 * address and per network, IPv4 and IPv6, overrides most specific first,
 * the allowlist, churn as a token bucket, account levels) and the removal
 * of stale caps.
 */
#include "unit.h"

#include "../../src/kcap_text.c"

#include <stdlib.h>

#include "unit_kcap.h"

static char *
text_of(const struct conf *conf)
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

static void
has(const char *text, const char *line)
{
	if (strstr(text, line) == NULL)
		fail_msg("missing: %s\nin:\n%s", line, text);
}

/* Index of line in text (fails if absent). */
static size_t
at(const char *text, const char *line)
{
	const char	*p = strstr(text, line);

	if (p == NULL)
		fail_msg("missing: %s\nin:\n%s", line, text);
	return (size_t)(p - text);
}

/* Levels: powers of two of accounts, capped at account_max. */
static void
test_acct_level(void **state)
{
	struct conf		*conf = load();
	struct conf_service	*svc = &conf->services[0];

	(void)state;
	svc->account_max = 150;
	assert_int_equal(kcap_acct_level(svc, 0), 0);
	assert_int_equal(kcap_acct_level(svc, 1), 1);
	assert_int_equal(kcap_acct_level(svc, 2), 2);
	assert_int_equal(kcap_acct_level(svc, 3), 3);	/* 4 accounts */
	assert_int_equal(kcap_acct_level(svc, 5), 4);	/* 8 */
	assert_int_equal(kcap_acct_level(svc, 128), 8);
	assert_int_equal(kcap_acct_level(svc, 129), 9);	/* 150 */
	assert_int_equal(kcap_acct_level(svc, 1000), 9);
	svc->account_max = 4;
	assert_int_equal(kcap_acct_level(svc, 3), 3);
	assert_int_equal(kcap_acct_level(svc, 9), 3);
	svc->account_max = 0;
	assert_int_equal(kcap_acct_level(svc, 9), 0);
	conf_free(conf);
}

static struct conf *
load_acct(void)
{
	struct conf	*conf = load();
	int		 i;

	for (i = 0; i < conf->nservices; i++) {
		conf->services[i].account_allowance_concurrent = 2;
		conf->services[i].account_allowance_new = 0;
		conf->services[i].account_max = 4;
		conf->services[i].net_account_max = 4;
	}
	return conf;
}

static void
test_acct_text(void **state)
{
	struct conf		*conf = load_acct();
	struct conf_service	*svc;
	char			*t;
	int			 i;

	(void)state;
	t = text_of(conf);
	/* One lookup in the set of every level's, after nothing but the
	 * overrides and before the service's own limits; then levels of 1,
	 * 2 and 4 accounts, highest first, and the service's own limits for
	 * an address in no level after all. */
	has(t, "add set inet xg cap_c2s_l4 { type ipv4_addr; size ");
	has(t, "add set inet xg cap_c2s_l4_3 { type ipv4_addr; size ");
	has(t, "; flags timeout; }\n");
	assert_true(at(t, "add rule inet xg cap_c2s ip saddr @cap_c2s_l4 "
	    "goto cap_c2s_a4\n") < at(t, "add rule inet xg cap_c2s ct state "
	    "new meta l4proto tcp ip saddr != @cap_half4 add @cap_c2s_c4_10 "));
	has(t, "add rule inet xg cap_c2s ip6 saddr @cap_c2s_l6 goto "
	    "cap_c2s_a6\n");
	assert_null(strstr(t, "add rule inet xg cap_c2s ip saddr "
	    "@cap_c2s_l4_"));
	assert_true(at(t, "add rule inet xg cap_c2s_a4 ip saddr @cap_c2s_l4_3 "
	    "goto cap_c2s_a4_3\n") < at(t, "add rule inet xg cap_c2s_a4 ip "
	    "saddr @cap_c2s_l4_1 goto cap_c2s_a4_1\n"));
	assert_true(at(t, "add rule inet xg cap_c2s_a4 ip saddr @cap_c2s_l4_1 "
	    "goto cap_c2s_a4_1\n") < at(t, "add rule inet xg cap_c2s_a4 ct "
	    "state new meta l4proto tcp ip saddr != @cap_half4 add "
	    "@cap_c2s_c4_10 "));
	has(t, "add rule inet xg cap_c2s_a6 ip6 saddr @cap_c2s_l6_2 goto "
	    "cap_c2s_a6_2\n");
	has(t, "add rule inet xg cap_c2s_a6 ct state new meta l4proto tcp "
	    "ip6 saddr != @cap_half6 add @cap_c2s_c6_10 { ip6 saddr ct count "
	    "over 10 } ct label set 123\n");
	assert_null(strstr(t, "add rule inet xg cap_c2s_a4 ct state new meta "
	    "l4proto tcp ip6 saddr != @cap_half6 add @cap_c2s_c6_"));
	assert_null(strstr(t, "cap_c2s_l4_4"));
	/* Level 2: 10 + 2 x 2 per address, 200 + 2 x 2 per network; churn
	 * has no allowance and keeps its set. */
	has(t, "add rule inet xg cap_c2s_a4_2 ct state new meta l4proto tcp "
	    "ip saddr != @cap_half4 add @cap_c2s_c4_14 { ip saddr ct count "
	    "over 14 } ct label set 123\n");
	has(t, "add @cap_c2s_C4_24_204 { ip saddr & 255.255.255.0 ct count "
	    "over 204 } ct label set 124\n");
	has(t, "add rule inet xg cap_c2s_a4_2 ct status assured meta l4proto "
	    "tcp update @cap_c2s_n4_20_3600 ");
	/* Counted, not refused, in the base's and the other levels' sets,
	 * before its own. */
	assert_true(at(t, "add rule inet xg cap_c2s_a4_2 ct state new meta "
	    "l4proto tcp ip saddr != @cap_half4 add @cap_c2s_c4_10 { ip saddr "
	    "ct count over 10 }\n")
	    < at(t, "add rule inet xg cap_c2s_a4_2 ct state new meta l4proto "
	    "tcp ip saddr != @cap_half4 add @cap_c2s_c4_14 "));
	has(t, "add rule inet xg cap_c2s_a4_2 ct state new meta l4proto tcp "
	    "ip saddr != @cap_half4 add @cap_c2s_c4_18 { ip saddr ct count "
	    "over 18 }\n");
	has(t, "add rule inet xg cap_c2s_a4_2 ct state new meta l4proto tcp "
	    "ip saddr & 255.255.255.0 != @cap_halfnet4_24 add "
	    "@cap_c2s_C4_24_200 { ip saddr & 255.255.255.0 ct count over "
	    "200 }\n");
	assert_null(strstr(t, "add rule inet xg cap_c2s_a4_2 ct state new "
	    "meta l4proto tcp ip saddr != @cap_half4 add @cap_c2s_c4_14 { ip "
	    "saddr ct count over 14 }\n"));
	free(t);

	/* No allowance that raises a limit set: no levels. */
	for (i = 0; i < conf->nservices; i++) {
		svc = &conf->services[i];
		svc->account_allowance_concurrent = 0;
		svc->account_allowance_new = 5;
		svc->max_new.count = 0;
		svc->net_max_new.count = 0;
		assert_int_equal(kcap_acct_on(conf, svc), 0);
	}
	t = text_of(conf);
	assert_null(strstr(t, "_l4_"));
	free(t);
	conf_free(conf);
}

static void
test_acct_elements(void **state)
{
	struct conf	*conf = load_acct();
	struct fw_cap	 c[2];
	char		*t, *buf = NULL;
	size_t		 len = 0;
	FILE		*f;

	(void)state;
	t = text_of(conf);
	memset(c, 0, sizeof c);
	assert_int_equal(addr_parse("198.51.100.10", &c[0].addr, NULL), 0);
	snprintf(c[0].service, sizeof c[0].service, "c2s");
	c[0].level = 2;
	c[0].duration = 20 * S;
	c[1] = c[0];
	c[1].level = 4;		/* beyond account_max: not declared */
	f = open_memstream(&buf, &len);
	kcap_acct_elements(f, "xg", t, c, 2, 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf,
	    "add element inet xg cap_c2s_l4_2 { 198.51.100.10 timeout 1s }\n"
	    "delete element inet xg cap_c2s_l4_2 { 198.51.100.10 }\n"
	    "add element inet xg cap_c2s_l4_2 { 198.51.100.10 timeout 20s }\n"
	    "add element inet xg cap_c2s_l4 { 198.51.100.10 timeout 1s }\n"
	    "delete element inet xg cap_c2s_l4 { 198.51.100.10 }\n"
	    "add element inet xg cap_c2s_l4 { 198.51.100.10 timeout 20s }\n");
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	kcap_acct_elements(f, "xg", t, c, 1, 1);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf,
	    "add element inet xg cap_c2s_l4_2 { 198.51.100.10 timeout 20s }\n"
	    "add element inet xg cap_c2s_l4 { 198.51.100.10 timeout 20s }\n");
	free(buf);
	free(t);
	conf_free(conf);
}

static void
test_rate(void **state)
{
	struct conf_rate rt;
	const char	*unit;
	uint32_t	 r, burst;

	(void)state;
	rt.count = 20;
	rt.window = 3600 * S;
	kcap_rate(&rt, &r, &unit, &burst);
	assert_string_equal(unit, "hour");
	assert_int_equal(r, 20);
	assert_int_equal(burst, 20);
	rt.count = 300;
	rt.window = 600 * S;
	kcap_rate(&rt, &r, &unit, &burst);
	assert_string_equal(unit, "minute");
	assert_int_equal(r, 30);
	assert_int_equal(burst, 300);
	rt.count = 7;
	rt.window = 600 * S;
	kcap_rate(&rt, &r, &unit, &burst);
	assert_string_equal(unit, "hour");
	assert_int_equal(r, 42);
	rt.count = 120;
	rt.window = 3600 * S;
	kcap_rate(&rt, &r, &unit, &burst);
	assert_string_equal(unit, "minute");
	assert_int_equal(r, 2);
	assert_int_equal(burst, 120);
	rt.count = 10;
	rt.window = 1 * S;
	kcap_rate(&rt, &r, &unit, &burst);
	assert_string_equal(unit, "second");
	assert_int_equal(r, 10);
	/* 7 in 7 days + 1 s: a week's, rounded down, never faster. */
	rt.count = 7;
	rt.window = (604800 + 1) * S;
	kcap_rate(&rt, &r, &unit, &burst);
	assert_string_equal(unit, "week");
	assert_int_equal(r, 6);
}

static void
test_text(void **state)
{
	struct conf	*conf = load();
	char		*t;

	(void)state;
	t = text_of(conf);
	has(t, "add set inet xg cap_allow4 { type ipv4_addr; flags "
	    "interval; auto-merge; }\n");
	has(t, "add element inet xg cap_allow4 { 127.0.0.0/8 }\n");
	has(t, "add element inet xg cap_allow6 { ::1/128 }\n");
	has(t, "add rule inet xg caps ip saddr @cap_allow4 return\n");
	has(t, "add rule inet xg caps tcp dport { 5222, 5223 } jump cap_c2s\n");
	has(t, "add set inet xg cap_c2s_c4_10 { type ipv4_addr; size ");
	/* Concurrency: counted and marked at the SYN, refused at the
	 * handshake's end; churn at the handshake's end. */
	has(t, "add rule inet xg cap_c2s ct state new meta l4proto tcp ip "
	    "saddr != @cap_half4 add @cap_c2s_c4_10 { ip saddr ct count over "
	    "10 } ct label set 123\n");
	has(t, "add rule inet xg cap_c2s ct status assured ct label 123 "
	    "ip saddr != @cap_half4 log prefix \"xgcap c2s c\" group 5222 "
	    "snaplen 40 ct label set 125 reject with tcp reset\n");
	/* An address whose SYN-ACKs go unanswered (spoofed SYNs fill its
	 * count) passes, said to the daemon; its network likewise. */
	has(t, "add rule inet xg cap_c2s ct status assured ip saddr "
	    "@cap_half4 log prefix \"xgcap c2s x\" group 5222 snaplen 40\n");
	has(t, "add rule inet xg cap_c2s ct status assured ip saddr & "
	    "255.255.255.0 @cap_halfnet4_24 log prefix \"xgcap c2s X\" group "
	    "5222 snaplen 40\n");
	has(t, "add rule inet xg cap_c2s ct status assured ct label 124 "
	    "ip6 saddr & ffff:ffff:ffff:ffff:: != @cap_halfnet6_64 log ");
	has(t, "add set inet xg cap_half6 { type ipv6_addr; size 65536; "
	    "flags dynamic, timeout; timeout 120s; }\n");
	/* Filled by a SYN-ACK sent again, before the handshake ends: the
	 * first one marks the connection. */
	has(t, "add chain inet xg cap_out { type filter hook postrouting "
	    "priority -150; policy accept; }\n");
	has(t, "add rule inet xg cap_out ct direction reply ct status ! "
	    "assured ct label & (122|126) == 122|126 tcp flags & (syn|ack) "
	    "== syn|ack update @cap_half4 { ip daddr } update "
	    "@cap_halfnet4_24 { ip daddr & 255.255.255.0 }\n");
	has(t, "add rule inet xg cap_out ct direction reply ct status ! "
	    "assured ct label 126 tcp flags & (syn|ack) == syn|ack ct label "
	    "set 122\n");
	assert_true(strstr(t, "update @cap_half6") < strstr(t,
	    "ct label set 122\n"));
	has(t, "add rule inet xg cap_c2s ct status assured meta l4proto "
	    "tcp update @cap_c2s_n6_20_3600 { ip6 saddr limit rate over "
	    "20/hour burst 20 packets } log prefix \"xgcap c2s n\" group 5222 "
	    "snaplen 40 ct label set 125 reject with tcp reset\n");
	has(t, "ct label set 124\n");
	has(t, "flags dynamic, timeout; timeout 3600s; }\n");
	has(t, "@cap_c2s_C4_24_200 { ip saddr & 255.255.255.0 ct count over "
	    "200 }");
	has(t, "@cap_c2s_C6_64_200 { ip6 saddr & ffff:ffff:ffff:ffff:: ct "
	    "count over 200 }");
	/* No net churn configured, no s2s. */
	assert_null(strstr(t, "_N4_"));
	assert_null(strstr(t, "cap_s2s"));
	/* The jumps come last: at the SYN (born), at the first packet
	 * past the handshake of a connection born under the caps (judged
	 * once); a refused connection's packets are reset. */
	has(t, "add rule inet xg filter ct state new meta l4proto tcp ct "
	    "label set 126 jump caps\n");
	has(t, "add rule inet xg filter ct direction original ct label 125 "
	    "tcp flags & rst == 0 reject with tcp reset\n");
	has(t, "add rule inet xg filter ct status assured ct direction "
	    "original meta l4proto tcp ct label & (126|127) == 126 ct label "
	    "set 127 jump caps\n");
	assert_null(strstr(strstr(t, "set 127 jump caps\n"),
	    "add rule inet xg cap"));
	free(t);

	/* Without persist, the refusals are still told (recorded, never
	 * banned). */
	conf->ban_cap_persist.count = 0;
	t = text_of(conf);
	has(t, "log prefix \"xgcap c2s c\" group 5222 snaplen 40 ct label "
	    "set 125 reject with tcp reset\n");
	free(t);

	/* Off: no probe, another backend, a dry run, kernel_caps no. */
	kcap_set_available(0);
	t = text_of(conf);
	assert_true(t == NULL || *t == '\0');
	free(t);
	kcap_set_available(1);
	conf->firewall = CONF_FW_IPSET;
	t = text_of(conf);
	assert_true(t == NULL || *t == '\0');
	free(t);
	conf->firewall = CONF_FW_NFTABLES;
	conf->services[0].kernel_caps = 0;
	conf->services[1].kernel_caps = 0;
	conf->services[2].kernel_caps = 0;
	t = text_of(conf);
	assert_true(t == NULL || *t == '\0');
	free(t);
	conf_free(conf);
}

static void
add_override(struct conf *conf, const char *net, uint32_t maxc)
{
	struct conf_override	*o;

	conf->overrides = xreallocarray(conf->overrides,
	    (size_t)conf->noverrides + 1, sizeof(*conf->overrides));
	o = &conf->overrides[conf->noverrides++];
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "o%d", conf->noverrides);
	o->networks = xcalloc(1, sizeof(*o->networks));
	assert_int_equal(addr_prefix_parse(net, &o->networks[0], 0), 0);
	o->nnetworks = 1;
	o->max_concurrent = maxc;
}

static void
test_overrides_allow(void **state)
{
	struct conf	*conf = load();
	char		*t, *a, *b;

	(void)state;
	add_override(conf, "198.51.0.0/16", 100);
	add_override(conf, "198.51.100.7/32", 500);
	add_override(conf, "2001:db8::/48", 50);
	conf->allow = xcalloc(2, sizeof(*conf->allow));
	assert_int_equal(addr_prefix_parse("203.0.113.0/24", &conf->allow[0],
	    0), 0);
	assert_int_equal(addr_prefix_parse("2001:db8:1::/48",
	    &conf->allow[1], 0), 0);
	conf->nallow = 2;
	t = text_of(conf);
	has(t, "add element inet xg cap_allow4 { 127.0.0.0/8, "
	    "203.0.113.0/24 }\n");
	has(t, "add element inet xg cap_allow6 { ::1/128, 2001:db8:1::/48 "
	    "}\n");
	/* The /32 first, then the /16 (the /48 first by length: it
	 * matches IPv6 alone). */
	a = strstr(t, "cap_c2s ip saddr 198.51.100.7/32 goto cap_c2s_o1\n");
	b = strstr(t, "cap_c2s ip saddr 198.51.0.0/16 goto cap_c2s_o2\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	has(t, "cap_c2s ip6 saddr 2001:db8::/48 goto cap_c2s_o0\n");
	/* The NAT's host limit; its network keeps the service's (a /32
	 * does not hold the /24). */
	has(t, "add rule inet xg cap_c2s_o1 ct state new meta l4proto tcp ip "
	    "saddr != @cap_half4 add @cap_c2s_c4_500 { ip saddr ct count over "
	    "500 }");
	has(t, "add rule inet xg cap_c2s_o1 ct state new meta l4proto tcp ip "
	    "saddr & 255.255.255.0 != @cap_halfnet4_24 add "
	    "@cap_c2s_C4_24_200 ");
	/* The /16 holds whole /24s: its limit for them too. */
	has(t, "add rule inet xg cap_c2s_o2 ct state new meta l4proto tcp ip "
	    "saddr & 255.255.255.0 != @cap_halfnet4_24 add "
	    "@cap_c2s_C4_24_100 ");
	/* An IPv6 override has IPv6 rules only. */
	assert_null(strstr(t, "add rule inet xg cap_c2s_o0 meta l4proto tcp "
	    "add @cap_c2s_c4"));
	/* Churn keeps the service's where the override does not set it. */
	has(t, "add rule inet xg cap_c2s_o1 ct status assured meta "
	    "l4proto tcp update @cap_c2s_n4_20_3600 ");
	/* Every goto comes before the service's own rules. */
	assert_true(strstr(t, "goto cap_c2s_o2") < strstr(t,
	    "add rule inet xg cap_c2s ct state"));
	free(t);
	conf_free(conf);
}

static void
test_stale(void **state)
{
	static const char listing[] =
	    "table inet xg {\n"
	    "\tset ban4 {\n\t\ttype ipv4_addr\n\t}\n"
	    "\tset cap_c2s_c4_10 {\n\t}\n"
	    "\tset cap_c2s_c4_5 {\n\t}\n"
	    "\tset cap_allow4 {\n\t}\n"
	    "\tchain filter {\n\t}\n"
	    "\tchain caps {\n\t}\n"
	    "\tchain cap_c2s {\n\t}\n"
	    "\tchain cap_gone {\n\t}\n"
	    "}\n";
	static const char text[] =
	    "add set inet xg cap_allow4 { type ipv4_addr; }\n"
	    "add set inet xg cap_c2s_c4_10 { type ipv4_addr; }\n"
	    "add chain inet xg caps\n"
	    "add chain inet xg cap_c2s\n";
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	(void)state;
	f = open_memstream(&buf, &len);
	kcap_stale_text(f, "xg", listing, text);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf,
	    "flush chain inet xg cap_gone\n"
	    "delete chain inet xg cap_gone\n"
	    "delete set inet xg cap_c2s_c4_5\n");
	free(buf);
	/* Caps off: everything of theirs goes. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	kcap_stale_text(f, "xg", listing, NULL);
	assert_int_equal(fclose(f), 0);
	has(buf, "delete chain inet xg caps\n");
	has(buf, "delete set inet xg cap_allow4\n");
	assert_null(strstr(buf, "ban4"));
	assert_null(strstr(buf, "filter"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_acct_level),
		cmocka_unit_test(test_acct_text),
		cmocka_unit_test(test_acct_elements),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_overrides_allow),
		cmocka_unit_test(test_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
