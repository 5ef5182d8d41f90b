/*
 * The nftables backend without nft: the text of the open and apply
 * transactions (ports or every port, IPv4 and IPv6, addresses into the
 * hash sets and prefixes into the interval sets, throttles, durations
 * rounded up, unbans that cannot fail, the last operation on a prefix
 * winning, long batches cut into statements), and the same batches built
 * as netlink messages (fw_nftnl.c), read back with libnftnl.
 */
#include "../../src/fw_nft.c"

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>

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
	char		*s, *want, digest[64];

	(void)state;
	fw_init(&fw);
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_int_equal(strlen(s), len);
	/* The first rule's comment: a digest of the text, 16 hex digits. */
	assert_int_equal(strncmp(nft.comment, "conntrack on, ruleset ", 22),
	    0);
	assert_int_equal(strspn(nft.comment + 22, "0123456789abcdef"), 16);
	assert_int_equal(strlen(nft.comment), 22 + 16);
	assert_int_equal(nft.rules, 11);
	snprintf(digest, sizeof digest, "%s", nft.comment);
	want = xasprintf(
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
	    "\"%s\"\n"
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
	    "drop\n", digest);
	assert_string_equal(s, want);
	free(want);
	/* Nothing that would remove elements: a restart keeps the bans. */
	assert_null(strstr(s, "flush set"));
	assert_null(strstr(s, "delete"));
	assert_null(strstr(s, "flush table"));
	free(s);

	/* The same configuration, the same digest. */
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_string_equal(nft.comment, digest);
	free(s);

	/* proxy_ports named: those and the services'. */
	fw.pports[0] = 443;
	fw.pports[1] = 5222;
	fw.pports[2] = 5269;
	fw.npports = 3;
	s = fw_nft_open_text(&fw, &nft, &len);
	/* Another configuration, another digest: the text runs again. */
	assert_string_not_equal(nft.comment, digest);
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
 * The kernel caps in the open text: the digest covers them, the base
 * chain's rules counted include theirs, and the sets the table check
 * compares are read from the text as the kernel keeps them.
 */
static void
test_open_caps(void **state)
{
	struct fw_nftnl_decl	 d[FW_NFT_DECL_MAX];
	char			*names[FW_NFT_DECL_MAX];
	struct conf		*conf = NULL;
	struct fw		 fw;
	size_t			 len, i, k;
	char			*s, *cause = NULL, digest[64];
	int			 n, seen = 0;

	(void)state;
	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	conf->firewall = CONF_FW_NFTABLES;
	conf->dry_run = 0;
	for (i = 0; i < (size_t)conf->nservices; i++)
		conf->services[i].kernel_caps =
		    strcmp(conf->services[i].name, "c2s") == 0;
	kcap_set_available(1);
	fw_init(&fw);
	s = fw_nft_open_text(&fw, &nft, &len);
	snprintf(digest, sizeof digest, "%s", nft.comment);
	assert_int_equal(fw_nft_text_sets(s, "xg", d, names, 8), 0);
	free(s);

	nft.caps = fw_nft_caps(&nft, conf);
	assert_non_null(nft.caps);
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_string_not_equal(nft.comment, digest);
	/* The bans' 11, then the caps' jump, reset and judgement. */
	assert_int_equal(nft.rules, 14);
	n = fw_nft_text_sets(s, "xg", d, names, FW_NFT_DECL_MAX);
	assert_true(n > 2);
	for (i = 0; i < (size_t)n; i++) {
		if (strcmp(d[i].name, "cap_allow4") == 0) {
			assert_int_equal(d[i].flags, NFT_SET_INTERVAL);
			assert_int_equal(d[i].klen, 4);
			assert_int_equal(d[i].size, 0);
			seen |= 1;
		} else if (strcmp(d[i].name, "cap_allow6") == 0) {
			assert_int_equal(d[i].klen, 16);
			seen |= 2;
		} else if (strncmp(d[i].name, "cap_c2s_n6_", 11) == 0) {
			/* Churn: a timeout of its window. */
			assert_int_equal(d[i].flags,
			    NFT_SET_EVAL | NFT_SET_TIMEOUT);
			assert_int_equal(d[i].klen, 16);
			assert_true(d[i].timeout > 0 &&
			    d[i].timeout % 1000 == 0);
			assert_true(d[i].size >= 1024);
			seen |= 4;
		} else if (strncmp(d[i].name, "cap_c2s_c4_", 11) == 0) {
			assert_int_equal(d[i].flags, NFT_SET_EVAL);
			assert_int_equal(d[i].timeout, 0);
			assert_true(d[i].size >= 1024);
			seen |= 8;
		} else if (strcmp(d[i].name, "cap_c2s_l4_1") == 0) {
			/* An account level: filled by the daemon. */
			assert_int_equal(d[i].flags, NFT_SET_TIMEOUT);
			assert_int_equal(d[i].timeout, 0);
			seen |= 16;
		}
		assert_null(strchr(d[i].name, ' '));
		/* Each set once, though the levels declare some again. */
		for (k = 0; k < i; k++)
			assert_string_not_equal(d[k].name, d[i].name);
	}
	assert_int_equal(seen, 31);
	/* Fewer than the caps' sets: the check gives up (nft runs). */
	while (n > 0)
		free(names[--n]);
	assert_int_equal(fw_nft_text_sets(s, "xg", d, names, 2), -1);
	free(s);

	/* Another limit, another digest: the caps are rewritten. */
	snprintf(digest, sizeof digest, "%s", nft.comment);
	free(nft.caps);
	for (i = 0; i < (size_t)conf->nservices; i++)
		conf->services[i].max_concurrent++;
	nft.caps = fw_nft_caps(&nft, conf);
	s = fw_nft_open_text(&fw, &nft, &len);
	assert_string_not_equal(nft.comment, digest);
	free(s);
	free(nft.caps);
	nft.caps = NULL;
	kcap_set_available(-1);
	conf_free(conf);
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

/*
 * A long batch (a restore) is planned without a sort: the same last op
 * of each prefix wins, hash sets keep the batch's order, interval sets
 * are sorted still.
 */
static void
test_plan_unsorted(void **state)
{
	struct fw_nft_plan	 pl;
	struct fw_op		*o;
	char			 a[64];
	size_t			 n = 2000, i;

	(void)state;
	memset(&nft, 0, sizeof nft);
	o = xcalloc(n, sizeof *o);
	/* Descending addresses, each twice; the second of .1 an unban. */
	for (i = 0; i < n / 2; i++) {
		snprintf(a, sizeof a, "10.0.%zu.%zu", (n / 2 - i) / 256,
		    (n / 2 - i) % 256);
		o[i] = op(FW_BAN, a, 10 * CLOCK_US_PER_SEC);
		o[n / 2 + i] = op(FW_BAN, a, 20 * CLOCK_US_PER_SEC);
	}
	o[n - 1] = op(FW_UNBAN, "10.0.0.1", 0);
	o[0] = op(FW_BAN, "10.9.0.0/16", 10 * CLOCK_US_PER_SEC);
	o[1] = op(FW_BAN, "10.8.0.0/16", 10 * CLOCK_US_PER_SEC);
	fw_nft_plan(&nft, 1, 0, o, n, &pl);
	assert_int_equal(pl.nadd[FW_NFT_BAN4], n / 2 - 1);
	for (i = 0; i < pl.nadd[FW_NFT_BAN4]; i++) {
		assert_ptr_equal(pl.add[FW_NFT_BAN4][i], &o[n / 2 + i]);
		assert_int_equal(pl.add[FW_NFT_BAN4][i]->duration,
		    20 * CLOCK_US_PER_SEC);
	}
	assert_int_equal(pl.ndel[FW_NFT_BAN4], 1);
	assert_ptr_equal(pl.del[FW_NFT_BAN4][0], &o[n - 1]);
	assert_int_equal(pl.nadd[FW_NFT_NET4], 2);
	assert_ptr_equal(pl.add[FW_NFT_NET4][0], &o[1]);
	assert_ptr_equal(pl.add[FW_NFT_NET4][1], &o[0]);
	fw_nft_plan_free(&pl);
	free(o);
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

/*
 * libnftnl numbers an element list's nests 1, 2, ... (the kernel reads
 * any), and its own parser takes NFTA_LIST_ELEM (1) only: renumber.
 */
static void
nl_renumber(struct nlmsghdr *nlh)
{
	struct nlattr	*a, *l;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(l, a)
			l->nla_type = (l->nla_type & ~NLA_TYPE_MASK) |
			    NFTA_LIST_ELEM;
	}
}

/*
 * The netlink batch of ops, read back as one line a message: "VERB SET
 * ELEM, ELEM" with each element "ADDR[ tN][ end][ open]" (tN: a timeout
 * of N s; end: an interval end; open: nft's flag for a start with no
 * end).  The caller frees.
 */
static char *
nl_text(int destroy, const struct fw_op *ops, size_t n, int replace)
{
	struct nlmsghdr	*nlh;
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	struct addr	 a;
	const void	*buf, *key;
	char		*out = NULL, str[ADDR_STRLEN];
	size_t		 len = 0, blen;
	uint32_t	 klen, ulen;
	uint16_t	 type;
	int		 left, first, k;
	FILE		*f;
	char		*why = NULL;

	if ((nft.nl = fw_nftnl_open(nft.table, &why)) == NULL) {
		free(why);
		skip();
	}
	if (replace) {
		for (k = 0; k < 2; k++)
			fw_nftnl_elems(nft.nl, FW_NFTNL_FLUSH,
			    fw_nft_set_names[k], 0, NULL, 0, 1, 0);
		(void)fw_nft_apply_nl(&nft, 0, 1, ops, n);
	} else
		(void)fw_nft_apply_nl(&nft, destroy, update, ops, n);
	buf = fw_nftnl_batch(nft.nl, &blen);
	assert_non_null(f = open_memstream(&out, &len));
	left = (int)blen;
	/* A batch, for tests only: read and renumbered in place. */
	for (nlh = (struct nlmsghdr *)(uintptr_t)buf; blen > 0 &&
	    mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		type = nlh->nlmsg_type & 0xff;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN)
			continue;
		assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
		assert_non_null(s = nftnl_set_alloc());
		nl_renumber(nlh);
		assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
		fprintf(f, "%s %s", type == NFT_MSG_NEWSETELEM ? "add" :
		    type == NFT_MSG_DELSETELEM ? "delete" : "destroy",
		    nftnl_set_get_str(s, NFTNL_SET_NAME));
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE),
		    "xg");
		assert_non_null(it = nftnl_set_elems_iter_create(s));
		first = 1;
		while ((e = nftnl_set_elems_iter_next(it)) != NULL) {
			key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
			if (klen == 4)
				addr_from_v4(&a, key);
			else
				addr_from_v6(&a, key);
			fprintf(f, "%s%s", first ? " " : ", ",
			    addr_ntop(&a, str, sizeof str));
			first = 0;
			if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
				fprintf(f, " t%" PRIu64, nftnl_set_elem_get_u64(
				    e, NFTNL_SET_ELEM_TIMEOUT) / 1000);
			if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
			    nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
			    NFT_SET_ELEM_INTERVAL_END)
				fputs(" end", f);
			if (nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA,
			    &ulen) != NULL)
				fputs(" open", f);
		}
		if (first)
			fputs(" (all)", f);
		fputc('\n', f);
		nftnl_set_elems_iter_destroy(it);
		nftnl_set_free(s);
	}
	assert_int_equal(fclose(f), 0);
	fw_nftnl_close(nft.nl);
	nft.nl = NULL;
	return out;
}

/* Bans, one element a message, into the hash and interval sets. */
static void
test_nl_ban(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[5];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "192.0.2.7", 600 * CLOCK_US_PER_SEC);
	o[1] = op(FW_BAN, "2001:db8::/64", 90 * CLOCK_US_PER_SEC + 1);
	o[2] = op(FW_BAN, "255.255.255.0/24", 60 * CLOCK_US_PER_SEC);
	o[3] = op(FW_THROTTLE, "198.51.100.9", 30 * CLOCK_US_PER_SEC);
	o[4] = op(FW_BAN, "10.255.255.0/24", 60 * CLOCK_US_PER_SEC);
	update = 1;
	s = nl_text(1, o, 5, 0);
	assert_string_equal(s,
	    "add ban4 192.0.2.7 t600\n"
	    "add net4 10.255.255.0 t60, 11.0.0.0 end\n"
	    "add net4 255.255.255.0 t60 open\n"
	    "add net6 2001:db8:: t91, 2001:db8:0:1:: end\n"
	    "add thr4 198.51.100.9 t30, 198.51.100.10 end\n");
	free(s);
	/* Linux 6.1: a ban replaces (destroy, then add). */
	update = 0;
	s = nl_text(1, o, 1, 0);
	assert_string_equal(s,
	    "destroy ban4 192.0.2.7\n"
	    "add ban4 192.0.2.7 t600\n");
	free(s);
	/* Without destroy: add for 1 s, delete, add. */
	s = nl_text(0, o, 1, 0);
	assert_string_equal(s,
	    "add ban4 192.0.2.7 t1\n"
	    "delete ban4 192.0.2.7\n"
	    "add ban4 192.0.2.7 t600\n");
	free(s);
}

/* The restore: the sets flushed, then filled. */
static void
test_nl_replace(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[2];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "192.0.2.7", 600 * CLOCK_US_PER_SEC);
	o[1] = op(FW_BAN, "2001:db8::1", 6 * CLOCK_US_PER_SEC);
	update = 0;
	s = nl_text(0, o, 2, 1);
	assert_string_equal(s,
	    "delete ban4 (all)\n"
	    "delete ban6 (all)\n"
	    "add ban4 192.0.2.7 t600\n"
	    "add ban6 2001:db8::1 t6\n");
	free(s);
}

/* An unban leaves the ban and the throttle set, whatever the scope; a
 * proxy-scope ban leaves the services' set; the last op wins. */
static void
test_nl_unban(void **state)
{
	struct fw	 fw;
	struct fw_op	 o[4];
	char		*s;

	(void)state;
	fw_init(&fw);
	o[0] = op(FW_BAN, "192.0.2.7", 600 * CLOCK_US_PER_SEC);
	o[1] = op(FW_UNBAN, "192.0.2.7", 0);
	o[2] = op(FW_BAN, "198.51.100.0/24", 60 * CLOCK_US_PER_SEC);
	o[2].scope = FW_SCOPE_PROXY;
	o[3] = op(FW_UNBAN, "2001:db8::/48", 0);
	update = 1;
	s = nl_text(1, o, 4, 0);
	assert_string_equal(s,
	    "destroy ban4 192.0.2.7\n"
	    "destroy net4 198.51.100.0, 198.51.101.0 end\n"
	    "destroy net6 2001:db8::, 2001:db8:1:: end\n"
	    "destroy thr4 192.0.2.7, 192.0.2.8 end\n"
	    "destroy thr6 2001:db8::, 2001:db8:1:: end\n"
	    "add proxynet4 198.51.100.0 t60, 198.51.101.0 end\n");
	free(s);
}

/* Up to FW_NFT_EXACT ops, a message each (a refusal names its op);
 * beyond, FW_NFTNL_PER_MAX elements a message. */
static void
test_nl_exact(void **state)
{
	struct fw	 fw;
	struct fw_op	*o;
	char		*s, *p, buf[32];
	size_t		 i, n = FW_NFT_EXACT + 1, lines = 0;

	(void)state;
	fw_init(&fw);
	o = xcalloc(n, sizeof *o);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof buf, "2001:db8::%zx", i + 1);
		o[i] = op(FW_BAN, buf, CLOCK_US_PER_SEC);
	}
	update = 1;
	s = nl_text(1, o, n - 1, 0);
	for (p = s; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, n - 1);
	free(s);
	s = nl_text(1, o, n, 0);
	for (lines = 0, p = s; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, (n + FW_NFTNL_PER_MAX - 1) /
	    FW_NFTNL_PER_MAX);
	free(s);
	free(o);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_ports),
		cmocka_unit_test(test_open_all_ports),
		cmocka_unit_test(test_open_most_ports),
		cmocka_unit_test(test_open_conf),
		cmocka_unit_test(test_open_caps),
		cmocka_unit_test(test_table_name),
		cmocka_unit_test(test_apply_ban),
		cmocka_unit_test(test_apply_scope),
		cmocka_unit_test(test_apply_sets),
		cmocka_unit_test(test_apply_durations),
		cmocka_unit_test(test_apply_unban),
		cmocka_unit_test(test_apply_last_wins),
		cmocka_unit_test(test_plan_unsorted),
		cmocka_unit_test(test_apply_chunks),
		cmocka_unit_test(test_nl_ban),
		cmocka_unit_test(test_nl_replace),
		cmocka_unit_test(test_nl_unban),
		cmocka_unit_test(test_nl_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
