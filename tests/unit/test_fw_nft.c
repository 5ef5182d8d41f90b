/*
 * The nftables backend without nft: the text of the open and apply
 * transactions (ports or every port, IPv4 and IPv6, addresses into the
 * hash sets and prefixes into the interval sets, throttles, durations
 * rounded up, unbans that cannot fail, the last operation on a prefix
 * winning, long batches cut into statements), and the parsing of real
 * `nft -j list set` output captured from nft 1.0.6.
 */
#include "../../src/fw_nft.c"

#include "unit.h"

/* The backend's own settings, as fw_nft_open() reads them. */
static struct fw_nft	 nft;

static void
fw_init(struct fw *fw)
{
	memset(fw, 0, sizeof *fw);
	fw->ports[0] = 5222;
	fw->ports[1] = 5269;
	fw->nports = 2;
	memset(&nft, 0, sizeof nft);
	snprintf(nft.table, sizeof nft.table, "xg");
	nft.throttle = 8192;
}

static struct fw_op
op(enum fw_op_kind kind, const char *prefix, int64_t us)
{
	struct fw_op	 o;

	memset(&o, 0, sizeof o);
	o.kind = kind;
	assert_int_equal(addr_prefix_parse(prefix, &o.prefix, 0), 0);
	o.duration = us;
	return o;
}

static int	update;	/* the kernel sets a new timeout on a re-add */

static char *
apply_text(int destroy, const struct fw_op *ops, size_t n)
{
	size_t	 len = 0;
	char	*s;

	s = fw_nft_apply_text(&nft, destroy, update, ops, n, &len);
	if (s != NULL)
		assert_int_equal(strlen(s), len);
	return s;
}

static void
test_open_ports(void **state)
{
	struct fw	 fw;
	size_t		 len;
	char		*s;

	(void)state;
	fw_init(&fw);
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_int_equal(strlen(s), len);
	assert_string_equal(s,
	    "add table inet xg\n"
	    "add set inet xg ban4 { type ipv4_addr; flags timeout; }\n"
	    "add set inet xg ban6 { type ipv6_addr; flags timeout; }\n"
	    "add set inet xg net4 { type ipv4_addr; flags interval, "
	    "timeout; }\n"
	    "add set inet xg net6 { type ipv6_addr; flags interval, "
	    "timeout; }\n"
	    "add set inet xg thr4 { type ipv4_addr; flags interval, "
	    "timeout; }\n"
	    "add set inet xg thr6 { type ipv6_addr; flags interval, "
	    "timeout; }\n"
	    "add set inet xg proxy4 { type ipv4_addr; flags timeout; }\n"
	    "add set inet xg proxy6 { type ipv6_addr; flags timeout; }\n"
	    "add set inet xg proxynet4 { type ipv4_addr; flags interval, "
	    "timeout; }\n"
	    "add set inet xg proxynet6 { type ipv6_addr; flags interval, "
	    "timeout; }\n"
	    "add set inet xg probe { type ipv4_addr; flags timeout; }\n"
	    "add set inet xg rate4 { type ipv4_addr; flags dynamic, timeout; "
	    "timeout 1m; size 65536; }\n"
	    "add set inet xg rate6 { type ipv6_addr; flags dynamic, timeout; "
	    "timeout 1m; size 65536; }\n"
	    "add chain inet xg filter { type filter hook prerouting priority "
	    "-150; policy accept; }\n"
	    "flush chain inet xg filter\n"
	    "add rule inet xg filter ct state new counter comment "
	    "\"conntrack on\"\n"
	    "add rule inet xg filter ip saddr @ban4 tcp dport { 5222, 5269 } "
	    "drop\n"
	    "add rule inet xg filter ip saddr @net4 tcp dport { 5222, 5269 } "
	    "drop\n"
	    "add rule inet xg filter ip6 saddr @ban6 tcp dport { 5222, 5269 } "
	    "drop\n"
	    "add rule inet xg filter ip6 saddr @net6 tcp dport { 5222, 5269 } "
	    "drop\n"
	    "add rule inet xg filter ip saddr @proxy4 drop\n"
	    "add rule inet xg filter ip saddr @proxynet4 drop\n"
	    "add rule inet xg filter ip6 saddr @proxy6 drop\n"
	    "add rule inet xg filter ip6 saddr @proxynet6 drop\n"
	    "add rule inet xg filter ip saddr @thr4 tcp dport { 5222, 5269 } "
	    "update @rate4 { ip saddr limit rate over 8192 bytes/second } "
	    "drop\n"
	    "add rule inet xg filter ip6 saddr @thr6 tcp dport { 5222, 5269 } "
	    "update @rate6 { ip6 saddr limit rate over 8192 bytes/second } "
	    "drop\n");
	/* Nothing that would remove elements: a restart keeps the bans. */
	assert_null(strstr(s, "flush set"));
	assert_null(strstr(s, "delete"));
	assert_null(strstr(s, "flush table"));
	free(s);

	/* proxy_ports named: those and the services'. */
	fw.pports[0] = 443;
	fw.pports[1] = 5222;
	fw.pports[2] = 5269;
	fw.npports = 3;
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_non_null(strstr(s, "add rule inet xg filter ip saddr @proxy4 "
	    "tcp dport { 443, 5222, 5269 } drop\n"));
	assert_non_null(strstr(s, "add rule inet xg filter ip6 saddr "
	    "@proxynet6 tcp dport { 443, 5222, 5269 } drop\n"));
	free(s);
	/* all_ports: every port for both. */
	fw.all_ports = 1;
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_null(strstr(s, "dport {"));
	assert_non_null(strstr(s, "ip saddr @proxy4 drop\n"));
	free(s);
}

/*
 * A ban of the proxy scope goes into the proxy sets and out of the
 * services' (it may be one widened), in one transaction; its unban
 * clears both; the others are as before.
 */
static void
test_apply_scope(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[3];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "192.0.2.7", 600 * CLOCK_US_PER_SEC);
	o[0].scope = FW_SCOPE_PROXY;
	o[1] = op(FW_BAN, "2001:db8::/64", 60 * CLOCK_US_PER_SEC);
	o[1].scope = FW_SCOPE_PROXY;
	o[2] = op(FW_UNBAN, "198.51.100.0/24", 0);
	o[2].scope = FW_SCOPE_PROXY;
	s = apply_text(1, o, 3);
	assert_string_equal(s,
	    "destroy element inet xg ban4 { 192.0.2.7 }\n"
	    "destroy element inet xg net4 { 198.51.100.0/24 }\n"
	    "destroy element inet xg net6 { 2001:db8::/64 }\n"
	    "destroy element inet xg proxy4 { 192.0.2.7 }\n"
	    "add element inet xg proxy4 { 192.0.2.7 timeout 600s }\n"
	    "destroy element inet xg proxynet4 { 198.51.100.0/24 }\n"
	    "destroy element inet xg proxynet6 { 2001:db8::/64 }\n"
	    "add element inet xg proxynet6 { 2001:db8::/64 timeout 60s }\n");
	free(s);
	/* A kernel that updates timeouts: no replacement in its own set. */
	update = 1;
	s = apply_text(1, o, 1);
	assert_string_equal(s,
	    "destroy element inet xg ban4 { 192.0.2.7 }\n"
	    "add element inet xg proxy4 { 192.0.2.7 timeout 600s }\n");
	free(s);
	update = 0;
	/* A throttle keeps to the services' ports. */
	o[0].kind = FW_THROTTLE;
	s = apply_text(1, o, 1);
	assert_string_equal(s,
	    "destroy element inet xg thr4 { 192.0.2.7 }\n"
	    "add element inet xg thr4 { 192.0.2.7 timeout 600s }\n");
	free(s);
}

static void
test_open_all_ports(void **state)
{
	struct fw	 fw;
	size_t		 len;
	char		*s;

	(void)state;
	fw_init(&fw);
	fw.all_ports = 1;
	nft.throttle = 0;
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_null(strstr(s, "dport"));
	assert_non_null(strstr(s,
	    "add rule inet xg filter ip saddr @ban4 drop\n"));
	assert_non_null(strstr(s,
	    "add rule inet xg filter ip6 saddr @net6 drop\n"));
	/* No rate: no throttle rules. */
	assert_null(strstr(s, "limit rate"));
	free(s);

	/* No ports at all: every port rather than nothing. */
	fw.all_ports = 0;
	fw.nports = 0;
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_null(strstr(s, "dport"));
	free(s);
}

/* The most ports a struct fw holds, each of five digits: all in the rule. */
static void
test_open_most_ports(void **state)
{
	struct fw	 fw;
	size_t		 len;
	char		*s, *p, want[32];
	int		 i;

	(void)state;
	fw_init(&fw);
	for (i = 0; i < CONF_PORTS_TOTAL_MAX; i++)
		fw.ports[i] = (uint16_t)(60000 + 3 * i);
	fw.nports = CONF_PORTS_TOTAL_MAX;
	s = fw_nft_open_text(&fw, &nft, &len);
	p = strstr(s, "add rule inet xg filter ip saddr @ban4 tcp dport { "
	    "60000, 60003, ");
	assert_non_null(p);
	snprintf(want, sizeof want, ", %d } drop\n",
	    60000 + 3 * (CONF_PORTS_TOTAL_MAX - 1));
	assert_non_null(strstr(p, want));
	assert_true(strstr(p, want) < strchr(p, '\n'));
	free(s);
}

/* open reads its settings from the configuration; a bad table name is
 * refused before nft runs. */
static void
test_open_conf(void **state)
{
	struct fw	 fw;
	struct conf	 conf;
	char		 table[] = "xg; flush ruleset", *cause = NULL;

	(void)state;
	memset(&fw, 0, sizeof fw);
	memset(&conf, 0, sizeof conf);
	conf.ban_table = table;
	assert_int_equal(fw_nft_open(&fw, &conf, &cause), -1);
	assert_string_equal(cause, "nft_table \"xg; flush ruleset\": "
	    "letters, digits, _ and - only, a letter first");
	assert_null(fw.priv);
	free(cause);
}

static void
test_table_name(void **state)
{
	(void)state;
	assert_true(fw_nft_table_ok("xmppguard"));
	assert_true(fw_nft_table_ok("xg_test-2"));
	assert_false(fw_nft_table_ok(""));
	assert_false(fw_nft_table_ok("2xg"));
	assert_false(fw_nft_table_ok("xg; flush ruleset"));
	assert_false(fw_nft_table_ok("xg\nflush"));
	assert_false(fw_nft_table_ok("x{"));
}

static void
test_apply_ban(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[1];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "192.0.2.7", 600 * CLOCK_US_PER_SEC);
	/* Without destroy: ensure, delete, add (a replacement). */
	s = apply_text(0, o, 1);
	assert_string_equal(s,
	    "add element inet xg ban4 { 192.0.2.7 timeout 1s }\n"
	    "delete element inet xg ban4 { 192.0.2.7 }\n"
	    "add element inet xg ban4 { 192.0.2.7 timeout 600s }\n");
	free(s);
	s = apply_text(1, o, 1);
	assert_string_equal(s,
	    "destroy element inet xg ban4 { 192.0.2.7 }\n"
	    "add element inet xg ban4 { 192.0.2.7 timeout 600s }\n");
	free(s);
	/* A kernel that updates timeouts: a plain add. */
	update = 1;
	s = apply_text(0, o, 1);
	assert_string_equal(s,
	    "add element inet xg ban4 { 192.0.2.7 timeout 600s }\n");
	free(s);
	/* An unban still removes, without failing. */
	o[0] = op(FW_UNBAN, "192.0.2.7", 0);
	s = apply_text(0, o, 1);
	assert_string_equal(s,
	    "add element inet xg ban4 { 192.0.2.7 timeout 1s }\n"
	    "delete element inet xg ban4 { 192.0.2.7 }\n"
	    "add element inet xg thr4 { 192.0.2.7 timeout 1s }\n"
	    "delete element inet xg thr4 { 192.0.2.7 }\n");
	free(s);
	update = 0;
}

static void
test_apply_sets(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[4];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "2001:db8::/64", 60 * CLOCK_US_PER_SEC);
	o[1] = op(FW_BAN, "198.51.100.0/24", 60 * CLOCK_US_PER_SEC);
	o[2] = op(FW_BAN, "2001:db8::9", 60 * CLOCK_US_PER_SEC);
	o[3] = op(FW_THROTTLE, "203.0.113.4", 30 * CLOCK_US_PER_SEC);
	s = apply_text(1, o, 4);
	assert_string_equal(s,
	    "destroy element inet xg ban6 { 2001:db8::9 }\n"
	    "add element inet xg ban6 { 2001:db8::9 timeout 60s }\n"
	    "destroy element inet xg net4 { 198.51.100.0/24 }\n"
	    "add element inet xg net4 { 198.51.100.0/24 timeout 60s }\n"
	    "destroy element inet xg net6 { 2001:db8::/64 }\n"
	    "add element inet xg net6 { 2001:db8::/64 timeout 60s }\n"
	    "destroy element inet xg thr4 { 203.0.113.4 }\n"
	    "add element inet xg thr4 { 203.0.113.4 timeout 30s }\n");
	free(s);

	/* No throttle rate configured: a throttle is a ban. */
	nft.throttle = 0;
	s = apply_text(1, &o[3], 1);
	assert_string_equal(s,
	    "destroy element inet xg ban4 { 203.0.113.4 }\n"
	    "add element inet xg ban4 { 203.0.113.4 timeout 30s }\n");
	free(s);
}

static void
test_apply_durations(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[4];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "192.0.2.1", 1);		/* 1 us */
	o[1] = op(FW_BAN, "192.0.2.2", 1500000);	/* 1.5 s */
	o[2] = op(FW_BAN, "192.0.2.3", 2000000);	/* 2 s */
	o[3] = op(FW_BAN, "192.0.2.4", INT64_C(604800000001));	/* 1w + 1us */
	s = apply_text(1, o, 4);
	assert_non_null(strstr(s, "add element inet xg ban4 { "
	    "192.0.2.1 timeout 1s, 192.0.2.2 timeout 2s, "
	    "192.0.2.3 timeout 2s, 192.0.2.4 timeout 604801s }\n"));
	free(s);
	assert_int_equal(fw_nft_seconds(0), 1);
	assert_int_equal(fw_nft_seconds(-5), 1);
	assert_int_equal(fw_nft_seconds(999999), 1);
	assert_int_equal(fw_nft_seconds(1000000), 1);
	assert_int_equal(fw_nft_seconds(1000001), 2);
}

static void
test_apply_unban(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[2];
	char		*s;

	(void)state;
	fw_init(&fw);
	/* Lifts a ban or a throttle; cannot fail on a missing element. */
	o[0] = op(FW_UNBAN, "192.0.2.7", 0);
	o[1] = op(FW_UNBAN, "2001:db8:1::/48", 0);
	s = apply_text(0, o, 2);
	assert_string_equal(s,
	    "add element inet xg ban4 { 192.0.2.7 timeout 1s }\n"
	    "delete element inet xg ban4 { 192.0.2.7 }\n"
	    "add element inet xg net6 { 2001:db8:1::/48 timeout 1s }\n"
	    "delete element inet xg net6 { 2001:db8:1::/48 }\n"
	    "add element inet xg thr4 { 192.0.2.7 timeout 1s }\n"
	    "delete element inet xg thr4 { 192.0.2.7 }\n"
	    "add element inet xg thr6 { 2001:db8:1::/48 timeout 1s }\n"
	    "delete element inet xg thr6 { 2001:db8:1::/48 }\n");
	free(s);
}

static void
test_apply_last_wins(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[4];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "192.0.2.7", 10 * CLOCK_US_PER_SEC);
	o[1] = op(FW_BAN, "192.0.2.8", 10 * CLOCK_US_PER_SEC);
	o[2] = op(FW_UNBAN, "192.0.2.7", 0);
	o[3] = op(FW_BAN, "192.0.2.8", 20 * CLOCK_US_PER_SEC);
	s = apply_text(1, o, 4);
	assert_string_equal(s,
	    "destroy element inet xg ban4 { 192.0.2.7, 192.0.2.8 }\n"
	    "add element inet xg ban4 { 192.0.2.8 timeout 20s }\n"
	    "destroy element inet xg thr4 { 192.0.2.7 }\n");
	free(s);
	/* Same address, other length: two prefixes. */
	o[0] = op(FW_BAN, "192.0.2.0/24", 10 * CLOCK_US_PER_SEC);
	o[1] = op(FW_BAN, "192.0.2.0", 10 * CLOCK_US_PER_SEC);
	s = apply_text(1, o, 2);
	assert_non_null(strstr(s, "add element inet xg ban4 { 192.0.2.0 "));
	assert_non_null(strstr(s, "add element inet xg net4 { 192.0.2.0/24 "));
	free(s);
	/* An empty batch says nothing. */
	assert_null(apply_text(1, o, 0));
}

static void
test_apply_chunks(void **state)
{
	struct fw	 fw;
	struct fw_op	*o;
	char		*s, *p, a[64];
	size_t		 i, n = FW_NFT_CHUNK + 10, stmts = 0, commas = 0;

	(void)state;
	fw_init(&fw);
	o = xcalloc(n, sizeof *o);
	for (i = 0; i < n; i++) {
		snprintf(a, sizeof a, "2001:db8::%zx", i + 1);
		o[i] = op(FW_BAN, a, CLOCK_US_PER_SEC);
	}
	s = apply_text(1, o, n);
	for (p = s; (p = strstr(p, "add element inet xg ban6 {")) != NULL;
	    p++)
		stmts++;
	assert_int_equal(stmts, 2);
	for (p = s; (p = strstr(p, "timeout 1s,")) != NULL; p++)
		commas++;
	assert_int_equal(commas, n - 2);	/* the last of each: "}" */
	free(s);
	free(o);
}

/* Captured from nft 1.0.6 (Debian 12) on Linux 6.18. */
static const char sample_ban4[] =
    "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", "
    "\"release_name\": \"Lester Gooch #5\", \"json_schema_version\": 1}}, "
    "{\"set\": {\"family\": \"inet\", \"name\": \"ban4\", \"table\": "
    "\"xgt\", \"type\": \"ipv4_addr\", \"handle\": 1, \"flags\": "
    "[\"timeout\"], \"elem\": [{\"elem\": {\"val\": \"192.0.2.7\", "
    "\"timeout\": 600, \"expires\": 599}}, {\"elem\": {\"val\": "
    "\"192.0.2.9\", \"timeout\": 1, \"expires\": 0}}]}}]}\n";
static const char sample_net6[] =
    "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", "
    "\"release_name\": \"Lester Gooch #5\", \"json_schema_version\": 1}}, "
    "{\"set\": {\"family\": \"inet\", \"name\": \"net6\", \"table\": "
    "\"xgt\", \"type\": \"ipv6_addr\", \"handle\": 4, \"flags\": "
    "[\"interval\", \"timeout\"], \"elem\": [{\"elem\": {\"val\": "
    "{\"prefix\": {\"addr\": \"2001:db8::\", \"len\": 64}}, \"timeout\": "
    "60, \"expires\": 55}}, {\"elem\": {\"val\": {\"prefix\": {\"addr\": "
    "\"2001:db8:1::\", \"len\": 48}}, \"timeout\": 3600, \"expires\": "
    "3599}}]}}]}\n";
static const char sample_empty[] =
    "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", "
    "\"release_name\": \"Lester Gooch #5\", \"json_schema_version\": 1}}, "
    "{\"set\": {\"family\": \"inet\", \"name\": \"net4\", \"table\": "
    "\"xgt\", \"type\": \"ipv4_addr\", \"handle\": 3, \"flags\": "
    "[\"interval\", \"timeout\"]}}]}\n";
/* Someone else's range, and an element without a timeout. */
static const char sample_other[] =
    "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", "
    "\"release_name\": \"Lester Gooch #5\", \"json_schema_version\": 1}}, "
    "{\"set\": {\"family\": \"inet\", \"name\": \"thr4\", \"table\": "
    "\"xgt\", \"type\": \"ipv4_addr\", \"handle\": 5, \"flags\": "
    "[\"interval\", \"timeout\"], \"elem\": [{\"range\": [\"203.0.113.1\", "
    "\"203.0.113.5\"]}, \"198.51.100.1\", {\"elem\": {\"val\": "
    "\"198.51.100.9\", \"timeout\": 60, \"expires\": 56}}]}}]}\n";

static void
test_parse(void **state)
{
	struct fw_entry	*v = NULL;
	size_t		 n = 0, cap = 0;
	char		 a[ADDR_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(fw_nft_parse_set(sample_ban4, strlen(sample_ban4), 0,
	    &v, &n, &cap), 0);
	assert_int_equal(n, 2);
	assert_string_equal(addr_prefix_ntop(&v[0].prefix, a, sizeof a),
	    "192.0.2.7/32");
	assert_int_equal(v[0].remaining, 599 * CLOCK_US_PER_SEC);
	assert_int_equal(v[0].throttled, 0);
	/* In its last second: still there, about to go. */
	assert_int_equal(v[1].remaining, 1);

	assert_int_equal(fw_nft_parse_set(sample_net6, strlen(sample_net6), 0,
	    &v, &n, &cap), 0);
	assert_int_equal(n, 4);
	assert_string_equal(addr_prefix_ntop(&v[2].prefix, a, sizeof a),
	    "2001:db8::/64");
	assert_int_equal(v[2].remaining, 55 * CLOCK_US_PER_SEC);
	assert_string_equal(addr_prefix_ntop(&v[3].prefix, a, sizeof a),
	    "2001:db8:1::/48");

	assert_int_equal(fw_nft_parse_set(sample_empty, strlen(sample_empty),
	    0, &v, &n, &cap), 0);
	assert_int_equal(n, 4);

	assert_int_equal(fw_nft_parse_set(sample_other, strlen(sample_other),
	    1, &v, &n, &cap), 0);
	assert_int_equal(n, 6);
	assert_string_equal(addr_prefix_ntop(&v[4].prefix, a, sizeof a),
	    "198.51.100.1/32");
	assert_int_equal(v[4].remaining, 0);		/* no timeout */
	assert_int_equal(v[4].throttled, 1);
	assert_string_equal(addr_prefix_ntop(&v[5].prefix, a, sizeof a),
	    "198.51.100.9/32");
	assert_int_equal(v[5].remaining, 56 * CLOCK_US_PER_SEC);
	free(v);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"Error: No such file or directory\n",
		"{\"nftables\": []}",		/* no set */
		"{\"nftables\": [{\"set\": {\"elem\": [\"192.0.2.1\"",
		"{\"nftables\": [{\"set\": {\"elem\": [{\"elem\": {\"val\": "
		    "\"192.0.2.1\", \"timeout\": -1}}]}}]}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		"{\"nftables\": [{\"x\": [[[[[[[[[[[[[[[[[[[[[[[[[[["
		    "]]]]]]]]]]]]]]]]]]]]]]]]]]]}, "
		    "{\"set\": {}}]}",
	};
	struct fw_entry	*v = NULL;
	size_t		 i, n = 0, cap = 0, len;
	char		*cut;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(fw_nft_parse_set(bad[i], strlen(bad[i]), 0,
		    &v, &n, &cap), -1);
	/* Every cut of a good sample fails cleanly, never reads past it. */
	len = strlen(sample_net6);
	for (i = 0; i + 2 < len; i++) {
		cut = xmalloc(i + 1);
		memcpy(cut, sample_net6, i);
		n = 0;
		assert_int_equal(fw_nft_parse_set(cut, i, 0, &v, &n, &cap), -1);
		free(cut);
	}
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_ports),
		cmocka_unit_test(test_open_all_ports),
		cmocka_unit_test(test_open_most_ports),
		cmocka_unit_test(test_open_conf),
		cmocka_unit_test(test_table_name),
		cmocka_unit_test(test_apply_ban),
		cmocka_unit_test(test_apply_scope),
		cmocka_unit_test(test_apply_sets),
		cmocka_unit_test(test_apply_durations),
		cmocka_unit_test(test_apply_unban),
		cmocka_unit_test(test_apply_last_wins),
		cmocka_unit_test(test_apply_chunks),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
