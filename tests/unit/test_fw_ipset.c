/*
 * Unit tests for the ipset backend's text: the ipset restore batch, the
 * iptables rule specs and reading `ipset list -output save` back.  The
 * real ipset runs in tests/system/21-fw-backends.sh.
 */
#include "unit.h"

#include "../../src/fw_ipset.c"

static void
mkop(struct fw_op *op, enum fw_op_kind kind, const char *p, int64_t dur)
{
	memset(op, 0, sizeof *op);
	op->kind = kind;
	assert_int_equal(addr_prefix_parse(p, &op->prefix, 0), 0);
	op->duration = dur;
}

static void
test_batch(void **state)
{
	struct fw_op	 ops[6];
	char		*out = NULL;
	size_t		 len;
	FILE		*fp;

	(void)state;
	mkop(&ops[0], FW_BAN, "192.0.2.7", 60500000);
	mkop(&ops[1], FW_THROTTLE, "2001:db8::7", 1);
	mkop(&ops[2], FW_UNBAN, "2001:db8::/64", 0);
	mkop(&ops[3], FW_BAN, "198.51.100.0/24", 30LL * 86400 * 1000000);
	mkop(&ops[4], FW_UNBAN, "192.0.2.8", 0);
	mkop(&ops[5], FW_BAN, "203.0.113.0/24", 2147483LL * 1000000);
	assert_non_null(fp = open_memstream(&out, &len));
	fw_ipset_batch(ops, 6, fp);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(out,
	    "add xmppguard4 192.0.2.7/32 timeout 61\n"
	    "add xmppguard6 2001:db8::7/128 timeout 1\n"
	    "del xmppguard6 2001:db8::/64\n"
	    "add xmppguard4 198.51.100.0/24 timeout 2147483\n"
	    "del xmppguard4 192.0.2.8/32\n"
	    "add xmppguard4 203.0.113.0/24 timeout 2147483\n");
	free(out);
}

static void
test_specs(void **state)
{
	struct fw	 fw;
	char		*specs[FW_IPT_GROUPS];
	int		 i;

	(void)state;
	memset(&fw, 0, sizeof fw);
	fw.ports[0] = 5222;
	fw.ports[1] = 5223;
	fw.ports[2] = 5269;
	fw.nports = 3;
	assert_int_equal(fw_ipset_specs(&fw, 1, specs), 1);
	assert_string_equal(specs[0], "-m set --match-set xmppguard6 src "
	    "-p tcp -m multiport --dports 5222:5223,5269 -j DROP");
	free(specs[0]);
	fw.all_ports = 1;
	assert_int_equal(fw_ipset_specs(&fw, 0, specs), 1);
	assert_string_equal(specs[0],
	    "-m set --match-set xmppguard4 src -j DROP");
	free(specs[0]);

	fw.all_ports = 0;
	for (i = 0; i < 40; i++)
		fw.ports[i] = (uint16_t)(2000 + 2 * i);
	fw.nports = 40;
	assert_int_equal(fw_ipset_specs(&fw, 0, specs), 3);
	for (i = 0; i < 3; i++)
		free(specs[i]);
}

static void
test_parse(void **state)
{
	struct fw_entry	*e = NULL;
	size_t		 n = 0, cap = 0;
	char		*t4, *t6, buf[64];

	(void)state;
	t4 = xstrdup("create xmppguard4 hash:net family inet hashsize 1024 "
	    "maxelem 1048576 timeout 0 bucketsize 12 initval 0x1\n"
	    "add xmppguard4 192.0.2.7 timeout 599\n"
	    "add xmppguard4 198.51.100.0/24 timeout 0\n"
	    "add other 192.0.2.9 timeout 5\n"
	    "add xmppguard4 garbage timeout 5\n"
	    "add xmppguard4 2001:db8::1 timeout 5\n"
	    "add xmppguard4\n"
	    "add xmppguard4 203.0.113.1\n");
	t6 = xstrdup("add xmppguard6 2001:db8::/64 timeout 42 comment \"x\"\n");
	fw_ipset_parse(0, t4, &e, &n, &cap);
	fw_ipset_parse(1, t6, &e, &n, &cap);
	assert_int_equal(n, 4);
	assert_string_equal(addr_prefix_ntop(&e[0].prefix, buf, sizeof buf),
	    "192.0.2.7/32");
	assert_int_equal(e[0].remaining, 599 * CLOCK_US_PER_SEC);
	assert_string_equal(addr_prefix_ntop(&e[1].prefix, buf, sizeof buf),
	    "198.51.100.0/24");
	assert_int_equal(e[1].remaining, 0);
	assert_string_equal(addr_prefix_ntop(&e[2].prefix, buf, sizeof buf),
	    "203.0.113.1/32");
	assert_int_equal(e[2].remaining, 0);
	assert_string_equal(addr_prefix_ntop(&e[3].prefix, buf, sizeof buf),
	    "2001:db8::/64");
	assert_int_equal(e[3].remaining, 42 * CLOCK_US_PER_SEC);
	assert_int_equal(e[3].throttled, 0);
	free(e);
	free(t4);
	free(t6);
}

/* The proxy scope: sets of its own, its ports, widening and unbans. */
static void
test_scope(void **state)
{
	struct fw_op	 ops[3];
	struct fw	 fw;
	struct fw_entry	*e = NULL;
	size_t		 len, n = 0, cap = 0;
	char		*out = NULL, *specs[FW_IPT_GROUPS], *t;
	FILE		*fp;

	(void)state;
	mkop(&ops[0], FW_BAN, "192.0.2.7", 60000000);
	ops[0].scope = FW_SCOPE_PROXY;
	mkop(&ops[1], FW_UNBAN, "2001:db8::/64", 0);
	ops[1].scope = FW_SCOPE_PROXY;
	mkop(&ops[2], FW_BAN, "192.0.2.8", 1000000);
	assert_non_null(fp = open_memstream(&out, &len));
	fw_ipset_batch(ops, 3, fp);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(out,
	    "del xmppguard4 192.0.2.7/32\n"
	    "add xmppguard-proxy4 192.0.2.7/32 timeout 60\n"
	    "del xmppguard6 2001:db8::/64\n"
	    "del xmppguard-proxy6 2001:db8::/64\n"
	    "add xmppguard4 192.0.2.8/32 timeout 1\n");
	free(out);

	memset(&fw, 0, sizeof fw);
	fw.ports[0] = 5222;
	fw.nports = 1;
	assert_int_equal(fw_ipset_specs(&fw, 2, specs), 1);
	assert_string_equal(specs[0],
	    "-m set --match-set xmppguard-proxy4 src -j DROP");
	free(specs[0]);
	fw.pports[0] = 443;
	fw.pports[1] = 5222;
	fw.npports = 2;
	assert_int_equal(fw_ipset_specs(&fw, 3, specs), 1);
	assert_string_equal(specs[0], "-m set --match-set xmppguard-proxy6 "
	    "src -p tcp -m multiport --dports 443,5222 -j DROP");
	free(specs[0]);

	t = xstrdup("add xmppguard-proxy4 192.0.2.7 timeout 59\n"
	    "add xmppguard4 192.0.2.8 timeout 59\n");
	fw_ipset_parse(2, t, &e, &n, &cap);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].scope, FW_SCOPE_PROXY);
	free(t);
	t = xstrdup("add xmppguard4 192.0.2.8 timeout 59\n");
	fw_ipset_parse(0, t, &e, &n, &cap);
	assert_int_equal(n, 2);
	assert_int_equal(e[1].scope, FW_SCOPE_SERVICES);
	free(t);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_scope),
	};

	return (cmocka_run_group_tests_name("fw_ipset", tests, NULL, NULL));
}
