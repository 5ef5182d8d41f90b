/*
 * The common firewall layer: fw_open() takes every service's port or
 * fails, fw_apply() checks every operation again (never a weapon)
 * whatever the caller decided, and fw_exec() runs a program without a
 * shell, feeding and reading it, with a deadline.
 */
#include "../../src/fw.c"

#include "unit.h"

static struct fw_op	 seen[16];
static size_t		 nseen;

static int
rec_apply(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	(void)fw;
	(void)cause;
	memcpy(seen + nseen, ops, n * sizeof(*ops));
	nseen += n;
	return 0;
}

static size_t		 nkilled;

static int
rec_kill(struct fw *fw, const struct prefix *p, enum fw_scope scope,
    char **cause)
{
	(void)fw;
	(void)p;
	(void)scope;
	(void)cause;
	nkilled++;
	return 0;
}

static struct fw_cap	 caps_seen[8];
static size_t		 ncaps_seen;

static int
rec_caps(struct fw *fw, const struct fw_cap *c, size_t n, char **cause)
{
	(void)fw;
	(void)cause;
	memcpy(caps_seen + ncaps_seen, c, n * sizeof(*c));
	ncaps_seen += n;
	return 0;
}

static const struct fw_backend rec_backend = {
	.name = "rec",
	.apply = rec_apply,
	.kill = rec_kill,
	.caps = rec_caps
};

static struct fw_op
op(enum fw_op_kind kind, const char *pfx, const char *reason)
{
	struct fw_op	o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	/* Host bits allowed here: the check must catch them. */
	assert_int_equal(addr_prefix_parse(pfx, &o.prefix, 1), 0);
	if (strchr(pfx, '/') != NULL && strcmp(pfx, "192.0.2.7/24") == 0)
		assert_int_equal(addr_parse("192.0.2.7", &o.prefix.addr,
		    NULL), 0);
	o.duration = 60 * INT64_C(1000000);
	snprintf(o.reason, sizeof(o.reason), "%s", reason);
	return o;
}

static struct fw_cap
cap(const char *ip, const char *svc, int level)
{
	struct fw_cap	c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(addr_parse(ip, &c.addr, NULL), 0);
	snprintf(c.service, sizeof(c.service), "%s", svc);
	c.level = (uint8_t)level;
	c.duration = 20 * INT64_C(1000000);
	return c;
}

/* An account level is checked too: an address, a level, a name. */
static void
test_caps(void **state)
{
	struct fw	 fw;
	struct fw_cap	 c[8];
	char		*cause = NULL;
	size_t		 n = 0;

	(void)state;
	memset(&fw, 0, sizeof(fw));
	fw.be = &rec_backend;
	c[n++] = cap("198.51.100.10", "c2s", 2);
	c[n++] = cap("2001:db8::1", "c2s", FW_CAP_LEVELS);
	c[n++] = cap("127.0.0.1", "c2s", 1);
	c[n++] = cap("198.51.100.11", "c2s", 0);
	c[n++] = cap("198.51.100.12", "c2s", FW_CAP_LEVELS + 1);
	c[n++] = cap("198.51.100.13", "c2s x", 1);
	c[n] = cap("198.51.100.14", "c2s", 1);
	c[n++].duration = 0;
	c[n] = cap("198.51.100.15", "c2s", 1);
	memset(c[n].service, 'a', sizeof(c[n].service));	/* no NUL */
	n++;
	ncaps_seen = 0;
	assert_int_equal(fw_caps(&fw, c, n, &cause), 0);
	assert_int_equal(ncaps_seen, 2);
	assert_int_equal(caps_seen[0].level, 2);
	assert_int_equal(caps_seen[1].addr.family, AF_INET6);
	assert_int_equal(fw.stats.rejected, 6);
	/* A backend without caps: nothing, no failure. */
	fw.be = &(const struct fw_backend){ .name = "none" };
	assert_int_equal(fw_caps(&fw, c, 1, &cause), 0);
}

static void
test_refuse(void **state)
{
	struct fw	 fw;
	struct fw_op	 ops[12];
	struct prefix	 never;
	char		*cause = NULL;
	size_t		 n = 0;

	(void)state;
	memset(&fw, 0, sizeof(fw));
	fw.be = &rec_backend;
	assert_int_equal(addr_prefix_parse("203.0.113.0/24", &never, 0), 0);
	fw.never = &never;
	fw.nnever = 1;
	ops[n++] = op(FW_BAN, "198.51.100.1", "churn: fine");
	ops[n++] = op(FW_BAN, "203.0.113.5", "allowlisted");
	ops[n++] = op(FW_BAN, "203.0.0.0/16", "holds the allowlist");
	ops[n++] = op(FW_BAN, "127.0.0.1", "loopback");
	ops[n++] = op(FW_BAN, "fe80::/64", "link-local");
	ops[n++] = op(FW_BAN, "224.0.0.1", "multicast");
	ops[n++] = op(FW_BAN, "192.0.2.7/24", "host bits");
	ops[n++] = op(FW_BAN, "198.51.100.2", "two\nlines");
	ops[n++] = op(FW_BAN, "198.51.100.4", "--an-option");
	ops[n++] = op(FW_UNBAN, "203.0.113.5", "lifting is fine");
	ops[n] = op(FW_BAN, "198.51.100.3", "none");
	ops[n++].duration = 0;
	nseen = 0;
	assert_int_equal(fw_apply(&fw, ops, n, &cause), 0);
	assert_int_equal(nseen, 2);
	assert_string_equal(seen[0].reason, "churn: fine");
	assert_int_equal(seen[1].kind, FW_UNBAN);
	assert_int_equal(fw.stats.rejected, 9);
	assert_int_equal(fw.stats.batches, 1);
	/* Nothing left: the backend is not called at all. */
	nseen = 0;
	assert_int_equal(fw_apply(&fw, &ops[1], 1, &cause), 0);
	assert_int_equal(nseen, 0);

	/* The kill is checked the same way. */
	fw.kill = 1;
	nkilled = 0;
	assert_int_equal(fw_kill(&fw, &ops[0].prefix, FW_SCOPE_SERVICES,
	    &cause), 0);
	assert_int_equal(nkilled, 1);
	assert_int_equal(fw_kill(&fw, &ops[1].prefix, FW_SCOPE_SERVICES,
	    &cause), -1);
	assert_string_equal(cause, "kill of 203.0.113.5/32 refused: "
	    "allowlisted, a proxy or this host's");
	free(cause);
	assert_int_equal(fw_kill(&fw, &ops[3].prefix, FW_SCOPE_SERVICES,
	    &cause), -1);
	free(cause);
	assert_int_equal(nkilled, 1);
	assert_int_equal(fw.stats.rejected, 12);
}

/* Surge mode's operations: nftables (or the helper) only, a service's
 * name fit for nft's text, a host address (an allowlisted one too: it is
 * exempted, never banned); none told to the caller as a refused ban. */
static int	 nrefused;

static void
refused_cb(const struct fw_op *o, const char *why, void *arg)
{
	(void)o;
	(void)why;
	(void)arg;
	nrefused++;
}

static void
test_refuse_surge(void **state)
{
	static const struct fw_backend nft_like = {
		.name = "nftables",
		.apply = rec_apply
	};
	struct fw	 fw;
	struct fw_op	 ops[6];
	struct prefix	 never;
	char		*cause = NULL;
	size_t		 n = 0;

	(void)state;
	memset(&fw, 0, sizeof(fw));
	fw.be = &nft_like;
	assert_int_equal(addr_prefix_parse("203.0.113.0/24", &never, 0), 0);
	fw.never = &never;
	fw.nnever = 1;
	fw_set_refused_cb(&fw, refused_cb, NULL);
	ops[n++] = op(FW_KNOWN, "203.0.113.5", "");
	ops[n++] = op(FW_KNOWN, "198.51.100.0/24", "");
	ops[n] = op(FW_SURGE, "0.0.0.0/0", "c2s");
	ops[n++].duration = 0;
	ops[n] = op(FW_SURGE, "0.0.0.0/0", "c2s; flush ruleset");
	ops[n++].duration = 0;
	ops[n++] = op(FW_SURGE, "0.0.0.0/0", "");
	ops[n++] = op(FW_SURGE, "0.0.0.0/0", "-x");
	nseen = 0;
	nrefused = 0;
	assert_int_equal(fw_apply(&fw, ops, n, &cause), 0);
	assert_int_equal(nseen, 2);
	assert_int_equal(seen[0].kind, FW_KNOWN);
	assert_int_equal(seen[1].kind, FW_SURGE);
	assert_int_equal(fw.stats.rejected, 4);
	assert_int_equal(nrefused, 0);
	/* Another backend: none of them. */
	fw.be = &rec_backend;
	nseen = 0;
	assert_int_equal(fw_apply(&fw, ops, 1, &cause), 0);
	assert_int_equal(nseen, 0);
}

/* A dry run's configuration with nsvc services of per ports each, the
 * ports counting up from first. */
static void
ports_conf(struct conf *conf, struct conf_service *svc, int nsvc, int per,
    int first)
{
	int	 i, j;

	memset(conf, 0, sizeof(*conf));
	memset(svc, 0, (size_t)nsvc * sizeof(*svc));
	conf->firewall = CONF_FW_NONE;
	conf->services = svc;
	conf->nservices = nsvc;
	/* Backwards, so fw_open() has to sort. */
	for (i = 0; i < nsvc; i++) {
		svc[i].nports = per;
		for (j = 0; j < per; j++)
			svc[i].ports[j] = (uint16_t)(first + nsvc * per - 1 -
			    (i * per + j));
	}
}

static void
test_ports(void **state)
{
	struct conf_service	 svc[CONF_PORTS_TOTAL_MAX + 1];
	struct conf		 conf;
	struct fw		*fw;
	char			*cause = NULL, want[64];
	int			 i;

	(void)state;
	/* The most there may be: every one kept, sorted. */
	ports_conf(&conf, svc, CONF_PORTS_TOTAL_MAX / 2, 2, 5000);
	assert_non_null(fw = fw_open(&conf, NULL, &cause));
	assert_int_equal(fw->nports, CONF_PORTS_TOTAL_MAX);
	for (i = 0; i < fw->nports; i++)
		assert_int_equal(fw->ports[i], 5000 + i);
	fw_close(fw);

	/* A port in two services (conf.c refuses it) counts once. */
	svc[1].ports[0] = svc[0].ports[0];
	assert_non_null(fw = fw_open(&conf, NULL, &cause));
	assert_int_equal(fw->nports, CONF_PORTS_TOTAL_MAX - 1);
	fw_close(fw);

	/* One more than fits: refused, not cut short. */
	ports_conf(&conf, svc, CONF_PORTS_TOTAL_MAX + 1, 1, 6000);
	assert_null(fw_open(&conf, NULL, &cause));
	snprintf(want, sizeof(want), "firewall none: more than %d ports in "
	    "the services", CONF_PORTS_TOTAL_MAX);
	assert_string_equal(cause, want);
	free(cause);
}

static void
test_exec(void **state)
{
	const char	*echo[] = { "echo", "a b", "$(touch /tmp/no)", NULL };
	const char	*cat[] = { "cat", NULL };
	const char	*sleep[] = { "sleep", "5", NULL };
	const char	*fail[] = { "sh", "-c", "exit 3", NULL };
	const char	*none[] = { "/nonexistent/prog", NULL };
	char		*out = NULL, *cause = NULL, big[200000];
	int64_t		 t0;

	(void)state;
	/* Arguments are arguments: no shell ever sees them. */
	assert_int_equal(fw_exec(echo, NULL, 0, &out, 4096, 5000, &cause), 0);
	assert_string_equal(out, "a b $(touch /tmp/no)\n");
	free(out);
	/* Input larger than a pipe, read back while it is written. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(fw_exec(cat, big, sizeof(big), &out, sizeof(big),
	    5000, &cause), 0);
	assert_int_equal(strlen(out), sizeof(big));
	free(out);
	/* Exit status, and a program that does not exist. */
	assert_int_equal(fw_exec(fail, NULL, 0, NULL, 0, 5000, &cause), 3);
	assert_int_equal(fw_exec(none, NULL, 0, NULL, 0, 5000, &cause), -1);
	assert_non_null(strstr(cause, "No such file"));
	free(cause);
	/* The deadline. */
	t0 = clock_monotonic();
	assert_int_equal(fw_exec(sleep, NULL, 0, NULL, 0, 200, &cause), -1);
	assert_true(clock_monotonic() - t0 < 2000000);
	assert_non_null(strstr(cause, "timed out"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_refuse_surge),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_exec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
