/*
 * Ending a ban's sessions (fw_kill.c) without the kernel: the queue's
 * batching and bounds (a run hands at most FW_KILL_BUDGET tuples to the
 * backend and says more is left; past FW_KILL_QUEUE_MAX tuples are
 * counted as dropped), which ban goes by its tuples and which by a scan,
 * each tuple keeping its scope's ports, refusals at run time; and the
 * sock_diag bytecode of a scan, checked against the rules the kernel's
 * audit applies before it accepts one and run as the kernel would.
 */
#include "unit.h"

#include "../../src/fw_kill.c"

#include "ctflow.h"

#define SEC		CLOCK_US_PER_SEC
#define T0		(1700000000LL * SEC)

/* What the fake backend was handed. */
static struct fw_kill_tuple	*got;
static size_t			 ngot, gotcap, nruns;
static struct fw_op		 scanned[FW_KILL_SCAN_MAX * 2];
static size_t			 nscanned, nscans;

static int
rec_kill(struct fw *fw, const struct prefix *p, enum fw_scope scope,
    char **cause)
{
	(void)fw;
	(void)p;
	(void)scope;
	(void)cause;
	fail_msg("the queue must not kill by prefix one at a time");
	return -1;
}

static int
rec_tuples(struct fw *fw, const struct fw_kill_tuple *t, size_t n,
    uint64_t *killed, char **cause)
{
	(void)fw;
	(void)cause;
	if (ngot + n > gotcap) {
		gotcap = ngot + n;
		got = xreallocarray(got, gotcap, sizeof(*got));
	}
	memcpy(got + ngot, t, n * sizeof(*t));
	ngot += n;
	nruns++;
	*killed = n;
	return 0;
}

static int
rec_scan(struct fw *fw, const struct fw_op *ops, size_t n, uint64_t *killed,
    char **cause)
{
	(void)fw;
	(void)cause;
	assert_true(nscanned + n <= sizeof(scanned) / sizeof(scanned[0]));
	memcpy(scanned + nscanned, ops, n * sizeof(*ops));
	nscanned += n;
	nscans++;
	*killed = 0;
	return 0;
}

static const struct fw_backend rec_backend = {
	.name = "rec",
	.kill = rec_kill,
	.kill_tuples = rec_tuples,
	.kill_scan = rec_scan
};

static void
rec_reset(void)
{
	free(got);
	got = NULL;
	ngot = gotcap = nruns = nscanned = nscans = 0;
}

/* The services' ports 5222, 5223, 5269; a proxy-scope ban drops 5222. */
static void
fw_init(struct fw *fw)
{
	memset(fw, 0, sizeof(*fw));
	fw->be = &rec_backend;
	fw->kill = 1;
	fw->ports[0] = 5222;
	fw->ports[1] = 5223;
	fw->ports[2] = 5269;
	fw->nports = 3;
	fw->pports[0] = 5222;
	fw->npports = 1;
}

static struct prefix
pfx(const char *s)
{
	struct prefix	p;

	assert_int_equal(addr_prefix_parse(s, &p, 0), 0);
	return p;
}

/* Flow number i of a client 198.51.100.(i % 200 + 1) to port. */
static struct ctflow_tuple
flow(size_t i, uint16_t port)
{
	struct ctflow_tuple	ft;
	char			a[32];

	memset(&ft, 0, sizeof(ft));
	snprintf(a, sizeof(a), "198.51.100.%zu", i % 200 + 1);
	assert_int_equal(addr_parse(a, &ft.src, NULL), 0);
	assert_int_equal(addr_parse("192.0.2.1", &ft.dst, NULL), 0);
	ft.sport = (uint16_t)(10000 + i % 50000);
	ft.dport = port;
	ft.id = (uint32_t)i + 1;
	ft.open = 1;
	return ft;
}

/* Queues flow() tuples 0..n) as a ban of scope would. */
static void
queue_flows(struct fw_killq *q, const struct fw *fw, size_t n,
    enum fw_scope scope, uint16_t port)
{
	struct fw_killq_add	 a;
	struct ctflow_tuple	 ft;
	size_t			 i;

	memset(&a, 0, sizeof(a));
	a.q = q;
	a.fw = fw;
	a.scope = scope;
	for (i = 0; i < n; i++) {
		ft = flow(i, port);
		fw_killq_flow_cb(&ft, &a);
	}
}

/*
 * A run hands at most FW_KILL_BUDGET tuples to the backend, in the order
 * queued; the rest waits and the run says so; the counters follow.
 */
static void
test_budget(void **state)
{
	struct fw		 fw;
	struct fw_killq		*q = fw_killq_new();
	size_t			 i, total = FW_KILL_BUDGET * 2 + 88;

	(void)state;
	fw_init(&fw);
	rec_reset();
	queue_flows(q, &fw, total, FW_SCOPE_SERVICES, 5222);
	assert_int_equal(fw_killq_pending(q), total);

	assert_int_equal(fw_killq_run(q, &fw), 1);
	assert_int_equal(nruns, 1);
	assert_int_equal(ngot, FW_KILL_BUDGET);
	assert_int_equal(fw_killq_pending(q), total - FW_KILL_BUDGET);
	assert_int_equal(fw.stats.kill_tuples, FW_KILL_BUDGET);
	assert_int_equal(fw.stats.kill_queued, total - FW_KILL_BUDGET);
	assert_int_equal(fw.stats.killed, FW_KILL_BUDGET);

	/* More queued between runs goes behind what waits. */
	queue_flows(q, &fw, 10, FW_SCOPE_SERVICES, 5269);
	total += 10;
	assert_int_equal(fw_killq_run(q, &fw), 1);
	assert_int_equal(ngot, FW_KILL_BUDGET * 2);
	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(nruns, 3);
	assert_int_equal(ngot, total);
	assert_int_equal(fw_killq_pending(q), 0);
	assert_int_equal(fw.stats.kill_tuples, total);
	assert_int_equal(fw.stats.kill_queued, 0);
	assert_int_equal(fw.stats.kill_dropped, 0);
	for (i = 0; i < total - 10; i++) {
		assert_int_equal(got[i].id, i + 1);
		assert_int_equal(got[i].dport, 5222);
		assert_int_equal(got[i].what, FW_KILL_CT | FW_KILL_SOCK);
		assert_int_equal(got[i].scope, FW_SCOPE_SERVICES);
	}
	for (; i < total; i++)
		assert_int_equal(got[i].dport, 5269);

	/* Nothing queued: nothing called. */
	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(nruns, 3);
	fw_killq_free(q);
	rec_reset();
}

/*
 * At most FW_KILL_QUEUE_MAX tuples wait: the rest are counted as dropped,
 * and room made by a run takes new ones again (the queue compacts).
 */
static void
test_cap(void **state)
{
	struct fw		 fw;
	struct fw_killq		*q = fw_killq_new();

	(void)state;
	fw_init(&fw);
	rec_reset();
	queue_flows(q, &fw, FW_KILL_QUEUE_MAX + 100, FW_SCOPE_SERVICES,
	    5222);
	assert_int_equal(fw_killq_pending(q), FW_KILL_QUEUE_MAX);
	assert_int_equal(q->dropped, 100);
	assert_int_equal(fw_killq_run(q, &fw), 1);
	assert_int_equal(fw.stats.kill_dropped, 100);
	assert_int_equal(fw.stats.kill_queued,
	    FW_KILL_QUEUE_MAX - FW_KILL_BUDGET);
	/* Room for one budget's worth again, not more. */
	queue_flows(q, &fw, FW_KILL_BUDGET + 1, FW_SCOPE_SERVICES, 5223);
	assert_int_equal(fw_killq_pending(q), FW_KILL_QUEUE_MAX);
	assert_int_equal(q->dropped, 101);
	assert_true(q->n <= q->cap);
	assert_int_equal(q->t[q->n - 1].dport, 5223);
	assert_int_equal(q->t[q->head].id, FW_KILL_BUDGET + 1);
	fw_killq_free(q);
	rec_reset();
}

/*
 * Each tuple keeps its ban's scope, and only the ports that scope drops
 * are queued: a proxy-scope ban here drops 5222 only.
 */
static void
test_scopes(void **state)
{
	struct fw		 fw;
	struct fw_killq		*q = fw_killq_new();
	size_t			 i;

	(void)state;
	fw_init(&fw);
	rec_reset();
	queue_flows(q, &fw, 3, FW_SCOPE_PROXY, 5222);
	queue_flows(q, &fw, 3, FW_SCOPE_PROXY, 5269);	/* not dropped */
	queue_flows(q, &fw, 3, FW_SCOPE_SERVICES, 5269);
	queue_flows(q, &fw, 3, FW_SCOPE_SERVICES, 80);	/* no service */
	assert_int_equal(fw_killq_pending(q), 6);
	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(ngot, 6);
	for (i = 0; i < 3; i++) {
		assert_int_equal(got[i].scope, FW_SCOPE_PROXY);
		assert_int_equal(got[i].dport, 5222);
		assert_int_equal(got[i + 3].scope, FW_SCOPE_SERVICES);
		assert_int_equal(got[i + 3].dport, 5269);
	}
	assert_int_equal(fw.stats.rejected, 0);
	fw_killq_free(q);
	rec_reset();
}

/*
 * fw_killq_add() with a real flow table: a ban whose scope the table
 * covers goes by the tuples of its prefix's flows; one wider than the
 * services' ports (all_ports, a proxy port no service has) or without a
 * table goes to the scan, at most FW_KILL_SCAN_MAX prefixes a run.
 */
static void
nop_cb(const struct event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

static void
test_add(void **state)
{
	struct fw		 fw;
	struct fw_killq		*q = fw_killq_new();
	struct ctflow		*ctf = ctflow_new(64, 7);
	struct conf		*conf;
	struct ct_msg		 m;
	struct prefix		 p;
	char			*cause = NULL, a[32];
	size_t			 i;

	(void)state;
	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	fw_init(&fw);
	rec_reset();
	/* 198.51.100.1..4 -> 5222, and .1 -> 5269, .9 (outside) -> 5222. */
	for (i = 0; i < 6; i++) {
		memset(&m, 0, sizeof(m));
		m.type = CT_MSG_NEW;
		m.time = T0;
		m.id = (uint32_t)(100 + i);
		snprintf(a, sizeof(a), "198.51.100.%zu", i < 4 ? i + 1 :
		    i == 4 ? 1 : 9);
		assert_int_equal(addr_parse(a, &m.src, NULL), 0);
		assert_int_equal(addr_parse("192.0.2.1", &m.dst, NULL), 0);
		m.sport = (uint16_t)(40000 + i);
		m.dport = i == 4 ? 5269 : 5222;
		m.tcp_state = 3;	/* established */
		m.status = CT_STATUS_SEEN_REPLY | CT_STATUS_ASSURED;
		ctflow_apply(ctf, conf, &m, nop_cb, NULL);
	}

	p = pfx("198.51.100.0/30");		/* .1, .2, .3 */
	fw_killq_add(q, &fw, ctf, &p, FW_SCOPE_SERVICES);
	assert_int_equal(fw_killq_pending(q), 4);
	p = pfx("198.51.100.1/32");
	fw_killq_add(q, &fw, ctf, &p, FW_SCOPE_PROXY);	/* 5222 only */
	assert_int_equal(fw_killq_pending(q), 5);
	assert_int_equal(q->nscan, 0);

	/* The scan: no table; a proxy port no service has; all_ports. */
	p = pfx("203.0.113.0/24");
	fw_killq_add(q, &fw, NULL, &p, FW_SCOPE_SERVICES);
	fw.pports[1] = 8080;
	fw.npports = 2;
	p = pfx("2001:db8::/64");
	fw_killq_add(q, &fw, ctf, &p, FW_SCOPE_PROXY);
	fw.all_ports = 1;
	p = pfx("198.51.100.9/32");
	fw_killq_add(q, &fw, ctf, &p, FW_SCOPE_SERVICES);
	assert_int_equal(q->nscan, 3);
	assert_int_equal(fw_killq_pending(q), 8);
	fw.all_ports = 0;

	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(nscans, 1);
	assert_int_equal(nscanned, 3);
	assert_int_equal(scanned[0].prefix.len, 24);
	assert_int_equal(scanned[1].scope, FW_SCOPE_PROXY);
	assert_int_equal(scanned[1].prefix.addr.family, AF_INET6);
	assert_int_equal(scanned[2].prefix.len, 32);
	assert_int_equal(ngot, 5);
	for (i = 0; i < 5; i++) {
		assert_true(got[i].id >= 100 && got[i].id <= 104);
		assert_int_equal(got[i].what, FW_KILL_CT | FW_KILL_SOCK);
	}
	assert_int_equal(got[4].scope, FW_SCOPE_PROXY);
	assert_int_equal(got[4].id, 100);

	/* One late flow by its ports: .1's to 5269 only, not its 5222. */
	rec_reset();
	assert_int_equal(addr_parse("198.51.100.1", &p.addr, NULL), 0);
	fw_killq_add_flow(q, &fw, ctf, &p.addr, 40004, 5269,
	    FW_SCOPE_SERVICES);
	fw_killq_add_flow(q, &fw, ctf, &p.addr, 40004, 5222,
	    FW_SCOPE_SERVICES);		/* no such flow */
	fw_killq_add_flow(q, &fw, NULL, &p.addr, 40004, 5269,
	    FW_SCOPE_SERVICES);		/* no table: nothing */
	assert_int_equal(fw_killq_pending(q), 1);
	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].id, 104);
	assert_int_equal(got[0].sport, 40004);

	/* More prefixes than a pass takes: the rest wait. */
	rec_reset();
	for (i = 0; i < FW_KILL_SCAN_MAX + 5; i++) {
		snprintf(a, sizeof(a), "203.0.%zu.0/24", i);
		p = pfx(a);
		fw_killq_add(q, &fw, NULL, &p, FW_SCOPE_SERVICES);
	}
	assert_int_equal(fw_killq_run(q, &fw), 1);
	assert_int_equal(nscanned, FW_KILL_SCAN_MAX);
	assert_int_equal(fw_killq_pending(q), 5);
	assert_int_equal(fw.stats.kill_queued, 5);
	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(nscanned, FW_KILL_SCAN_MAX + 5);
	assert_int_equal(scanned[FW_KILL_SCAN_MAX].prefix.addr.bytes[2],
	    FW_KILL_SCAN_MAX);

	ctflow_free(ctf);
	conf_free(conf);
	fw_killq_free(q);
	rec_reset();
}

/*
 * Refusals: the queue takes a banned prefix's flows as they are; the
 * never-a-weapon rules (allowlist, proxies, this host's addresses) and
 * the ports are judged when they are handed over (fw_kill_conns(),
 * fw_kill_prefixes()), here or in the helper, and what they refuse never
 * reaches the backend.  Without kill_established nothing does.
 */
static void
test_refused(void **state)
{
	struct fw		 fw;
	struct fw_killq		*q = fw_killq_new();
	struct prefix		 never, p;
	struct fw_killq_add	 a;
	struct ctflow_tuple	 ft;

	(void)state;
	fw_init(&fw);
	rec_reset();
	never = pfx("198.51.100.2/32");
	fw.never = &never;
	fw.nnever = 1;
	queue_flows(q, &fw, 4, FW_SCOPE_SERVICES, 5222);  /* .1 .. .4 */
	/* One to a port its scope does not drop, as the helper may get. */
	memset(&a, 0, sizeof(a));
	a.q = q;
	a.fw = &fw;
	a.scope = FW_SCOPE_SERVICES;
	ft = flow(0, 5269);
	fw_killq_flow_cb(&ft, &a);
	q->t[q->n - 1].scope = FW_SCOPE_PROXY;
	p = pfx("198.51.100.0/24");		/* holds the allowlist */
	fw_killq_add(q, &fw, NULL, &p, FW_SCOPE_SERVICES);
	p = pfx("127.0.0.0/8");
	fw_killq_add(q, &fw, NULL, &p, FW_SCOPE_SERVICES);
	p = pfx("203.0.113.0/24");
	fw_killq_add(q, &fw, NULL, &p, FW_SCOPE_SERVICES);
	assert_int_equal(fw_killq_pending(q), 8);
	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(ngot, 3);
	assert_int_equal(got[0].id, 1);
	assert_int_equal(got[1].id, 3);
	assert_int_equal(got[2].id, 4);
	assert_int_equal(nscanned, 1);
	assert_int_equal(scanned[0].prefix.addr.bytes[0], 203);
	assert_int_equal(fw.stats.rejected, 4);
	/* Handed over all the same: the queue is empty. */
	assert_int_equal(fw.stats.kill_tuples, 5);

	rec_reset();
	fw.kill = 0;
	queue_flows(q, &fw, 4, FW_SCOPE_SERVICES, 5222);
	assert_int_equal(fw_killq_run(q, &fw), 0);
	assert_int_equal(ngot, 0);
	fw_killq_free(q);
	rec_reset();
}

/*
 * The bytecode.  bc_audit() applies the rules the kernel checks before it
 * runs a filter (inet_diag_bc_audit()): every op known, a host condition
 * whole with a valid family and prefix length, each "yes" and "no" a
 * multiple of 4, at least the op's length and at most 4 past the end, a
 * "no" that lands inside on an op reachable by "yes" steps, the "yes"
 * steps ending exactly at the end.
 */
static int
bc_reachable(const uint8_t *bc, int len, int cc)
{
	const struct inet_diag_bc_op	*op;

	while (len >= 0) {
		op = (const struct inet_diag_bc_op *)(const void *)bc;
		if (cc > len)
			return 0;
		if (cc == len)
			return 1;
		if (op->yes < 4 || op->yes % 4 != 0)
			return 0;
		len -= op->yes;
		bc += op->yes;
	}
	return 0;
}

static int
bc_audit(const uint8_t *bc0, int len0)
{
	const struct inet_diag_bc_op	*op;
	const struct inet_diag_hostcond	*hc;
	const uint8_t			*bc = bc0;
	int				 len = len0, min, alen;

	if (len < (int)sizeof(*op))
		return -1;
	while (len > 0) {
		op = (const struct inet_diag_bc_op *)(const void *)bc;
		min = sizeof(*op);
		switch (op->code) {
		case INET_DIAG_BC_D_COND:
			min += sizeof(*hc);
			if (len < min)
				return -1;
			hc = (const struct inet_diag_hostcond *)(const void *)
			    (op + 1);
			if (hc->family == AF_INET)
				alen = 4;
			else if (hc->family == AF_INET6)
				alen = 16;
			else
				return -1;
			min += alen;
			if (len < min || hc->prefix_len > 8 * alen)
				return -1;
			break;
		case INET_DIAG_BC_JMP:
			break;
		default:
			return -1;
		}
		if (op->no < min || op->no > len + 4 || op->no % 4 != 0)
			return -1;
		if (op->no < len && !bc_reachable(bc0, len0, len - op->no))
			return -1;
		if (op->yes < min || op->yes > len + 4 || op->yes % 4 != 0)
			return -1;
		bc += op->yes;
		len -= op->yes;
	}
	return len == 0 ? 0 : -1;
}

/* 1 if the first bits of a and b (n bytes each) agree. */
static int
bits_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int	i;

	for (i = 0; i < bits / 8; i++)
		if (a[i] != b[i])
			return 0;
	if (bits % 8 == 0)
		return 1;
	return ((a[i] ^ b[i]) & (0xff00 >> (bits % 8))) == 0;
}

/*
 * Runs bc on a socket of family whose peer is peer (raw: 4 or 16 bytes)
 * as the kernel does: a condition of the other family never matches,
 * but an IPv4 one does match an IPv4-mapped peer of an IPv6 socket.
 * 1 if the socket passes.
 */
static int
bc_run(const uint8_t *bc, int len, int family, const uint8_t *peer)
{
	static const uint8_t		 mapped[12] = { 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0, 0xff, 0xff };
	const struct inet_diag_bc_op	*op;
	const struct inet_diag_hostcond	*hc;
	const uint8_t			*a;
	int				 yes;

	while (len > 0) {
		op = (const struct inet_diag_bc_op *)(const void *)bc;
		yes = 0;
		if (op->code == INET_DIAG_BC_D_COND) {
			hc = (const struct inet_diag_hostcond *)(const void *)
			    (op + 1);
			a = peer;
			if (hc->family == AF_INET && family == AF_INET6 &&
			    memcmp(peer, mapped, sizeof(mapped)) == 0)
				a = peer + 12;
			else if (hc->family != family)
				a = NULL;
			yes = a != NULL && (hc->port == -1) &&
			    bits_eq(a, (const uint8_t *)(hc + 1),
			    hc->prefix_len);
		}
		if (yes) {
			bc += op->yes;
			len -= op->yes;
		} else {
			bc += op->no;
			len -= op->no;
		}
	}
	return len == 0;
}

static int
bc_passes(const uint8_t *bc, size_t len, const char *s)
{
	struct addr	 a;
	uint8_t		 raw[16];

	assert_int_equal(addr_parse(s, &a, NULL), 0);
	if (a.family == AF_INET) {
		/* Both dumps: an IPv4 socket, and an IPv6 one mapped. */
		int	v4, v6;

		memcpy(raw, a.bytes, 4);
		v4 = bc_run(bc, (int)len, AF_INET, raw);
		memset(raw, 0, 10);
		raw[10] = raw[11] = 0xff;
		memcpy(raw + 12, a.bytes, 4);
		v6 = bc_run(bc, (int)len, AF_INET6, raw);
		assert_int_equal(v4, v6);
		return v4;
	}
	return bc_run(bc, (int)len, AF_INET6, a.bytes);
}

static void
test_bytecode(void **state)
{
	static const char	*pfxs[] = { "198.51.100.7/32",
				    "203.0.113.0/24", "2001:db8:1::/64",
				    "2001:db8:2::9/128" };
	struct fw_op		 ops[FW_KILL_SCAN_MAX + 3];
	uint8_t			 bc[FW_KILL_SCAN_MAX * 32];
	const struct inet_diag_bc_op *op;
	const struct inet_diag_hostcond *hc;
	size_t			 i, len, off;
	char			 a[48];

	(void)state;
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 4; i++)
		ops[i].prefix = pfx(pfxs[i]);

	/* The IPv6 dump: every prefix, cond (+ jump), 4 + 8 + 4 or 16. */
	len = fw_kill_bytecode(ops, 4, AF_INET6, bc, sizeof(bc));
	assert_int_equal(len, (16 + 4) * 2 + (28 + 4) + 28);
	assert_int_equal(bc_audit(bc, (int)len), 0);
	off = 0;
	for (i = 0; i < 4; i++) {
		size_t	step = i < 2 ? 16 : 28;

		op = (const struct inet_diag_bc_op *)(void *)(bc + off);
		hc = (const struct inet_diag_hostcond *)(const void *)
		    (op + 1);
		assert_int_equal(op->code, INET_DIAG_BC_D_COND);
		assert_int_equal(op->yes, step);
		assert_int_equal(op->no, step + 4);
		assert_int_equal(hc->family, i < 2 ? AF_INET : AF_INET6);
		assert_int_equal(hc->prefix_len, ((int[]){ 32, 24, 64,
		    128 })[i]);
		assert_int_equal(hc->port, -1);
		assert_memory_equal(hc + 1, ops[i].prefix.addr.bytes,
		    i < 2 ? 4 : 16);
		off += step;
		if (i == 3)
			break;
		/* The jump: to the end (accept). */
		op = (const struct inet_diag_bc_op *)(void *)(bc + off);
		assert_int_equal(op->code, INET_DIAG_BC_JMP);
		assert_int_equal(op->yes, 4);
		assert_int_equal(op->no, len - off);
		off += 4;
	}
	assert_int_equal(off, len);
	assert_true(bc_passes(bc, len, "198.51.100.7"));
	assert_false(bc_passes(bc, len, "198.51.100.8"));
	assert_true(bc_passes(bc, len, "203.0.113.0"));
	assert_true(bc_passes(bc, len, "203.0.113.255"));
	assert_false(bc_passes(bc, len, "203.0.114.1"));
	assert_true(bc_passes(bc, len, "2001:db8:1::1"));
	assert_true(bc_passes(bc, len, "2001:db8:1:0:ffff::1"));
	assert_false(bc_passes(bc, len, "2001:db8:1:1::1"));
	assert_true(bc_passes(bc, len, "2001:db8:2::9"));
	assert_false(bc_passes(bc, len, "2001:db8:2::8"));

	/* The IPv4 dump: the IPv4 prefixes only. */
	len = fw_kill_bytecode(ops, 4, AF_INET, bc, sizeof(bc));
	assert_int_equal(len, 16 + 4 + 16);
	assert_int_equal(bc_audit(bc, (int)len), 0);
	assert_true(bc_passes(bc, len, "203.0.113.9"));
	assert_false(bc_passes(bc, len, "192.0.2.1"));
	/* None of the family: no dump at all. */
	assert_int_equal(fw_kill_bytecode(ops + 2, 2, AF_INET, bc,
	    sizeof(bc)), 0);

	/* One prefix: a lone condition, no jump. */
	for (i = 0; i < 4; i++) {
		len = fw_kill_bytecode(ops + i, 1, AF_INET6, bc, sizeof(bc));
		assert_int_equal(len, i < 2 ? 16 : 28);
		assert_int_equal(bc_audit(bc, (int)len), 0);
	}
	assert_true(bc_passes(bc, len, "2001:db8:2::9"));
	assert_false(bc_passes(bc, len, "2001:db8:1::1"));

	/* A full pass, IPv6 /128s (the longest): fits, accepted; more
	 * than FW_KILL_SCAN_MAX are not put in. */
	for (i = 0; i < FW_KILL_SCAN_MAX + 3; i++) {
		snprintf(a, sizeof(a), "2001:db8:3::%zx/128", i + 1);
		ops[i].prefix = pfx(a);
	}
	len = fw_kill_bytecode(ops, FW_KILL_SCAN_MAX + 3, AF_INET6, bc,
	    sizeof(bc));
	assert_int_equal(len, FW_KILL_SCAN_MAX * 32 - 4);
	assert_int_equal(bc_audit(bc, (int)len), 0);
	assert_true(bc_passes(bc, len, "2001:db8:3::1"));
	assert_true(bc_passes(bc, len, "2001:db8:3::40"));
	assert_false(bc_passes(bc, len, "2001:db8:3::41"));
	/* A buffer too small for all: as many as fit, still accepted. */
	len = fw_kill_bytecode(ops, 10, AF_INET6, bc, 100);
	assert_int_equal(len, 32 * 3 - 4);
	assert_int_equal(bc_audit(bc, (int)len), 0);
	assert_true(bc_passes(bc, len, "2001:db8:3::3"));
	assert_false(bc_passes(bc, len, "2001:db8:3::4"));
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bytecode)
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
