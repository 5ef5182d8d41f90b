/*
 * The netlink side of the nftables backend without a kernel: the end of
 * a prefix in an interval set (carries, the top of the space), the
 * prefix of a listed range and its refusals, the pairing of listed starts
 * and ends into entries, the batch's framing (begin, one sequence number
 * a message, the ack asked on the last), a refusal mapped back to the
 * operation by its sequence number, and an element whose key is no
 * address.
 */
#include "../../src/fw_nftnl.c"

#include "unit.h"

static struct prefix
pfx(const char *s)
{
	struct prefix	 p;

	assert_int_equal(addr_prefix_parse(s, &p, 0), 0);
	return p;
}

static void
test_end(void **state)
{
	static const struct {
		const char	*prefix, *end;	/* NULL: the top */
	} t[] = {
		{ "10.1.0.0/16", "10.2.0.0" },
		{ "10.255.255.0/24", "11.0.0.0" },
		{ "192.0.2.7", "192.0.2.8" },
		{ "192.0.2.255", "192.0.3.0" },
		{ "255.255.255.0/24", NULL },
		{ "255.255.255.255", NULL },
		{ "0.0.0.0/0", NULL },
		{ "2001:db8::/64", "2001:db8:0:1::" },
		{ "2001:db8:ffff:ffff::/64", "2001:db9::" },
		{ "ffff:ffff::/32", NULL },
	};
	struct prefix	 p, q;
	struct addr	 a;
	uint8_t		 end[16];
	char		 s[ADDR_STRLEN];
	size_t		 i;
	int		 top;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		p = pfx(t[i].prefix);
		top = fw_nftnl_end(&p, end);
		assert_int_equal(top, t[i].end == NULL);
		if (!top) {
			if (p.addr.family == AF_INET)
				addr_from_v4(&a, end);
			else
				addr_from_v6(&a, end);
			assert_string_equal(addr_ntop(&a, s, sizeof s),
			    t[i].end);
		}
		/* And back: the listed range is the prefix. */
		assert_int_equal(fw_nftnl_prefix(p.addr.bytes, top ? NULL :
		    end, (size_t)addr_maxlen(&p.addr) / 8, &q), 0);
		assert_int_equal(q.len, p.len);
		assert_true(addr_eq(&q.addr, &p.addr));
	}
}

/* Ranges someone else added are no prefixes. */
static void
test_prefix_other(void **state)
{
	static const uint8_t	 a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 6 };
	static const uint8_t	 c[4] = { 10, 0, 0, 2 }, d[4] = { 10, 0, 0, 4 };
	static const uint8_t	 e[4] = { 10, 0, 0, 0 }, f[4] = { 10, 0, 0, 8 };
	static const uint8_t	 m[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff, 192, 0, 2, 1 };
	struct prefix		 p;

	(void)state;
	assert_int_equal(fw_nftnl_prefix(a, b, 4, &p), -1);	/* 5 wide */
	assert_int_equal(fw_nftnl_prefix(c, f, 4, &p), -1);	/* 6 wide */
	assert_int_equal(fw_nftnl_prefix(d, f, 4, &p), 0);	/* .4/30 */
	assert_int_equal(p.len, 30);
	assert_int_equal(fw_nftnl_prefix(c, d, 4, &p), 0);	/* .2/31 */
	assert_int_equal(fw_nftnl_prefix(a, e, 4, &p), -1);	/* backward */
	assert_int_equal(fw_nftnl_prefix(d, NULL, 4, &p), -1);	/* to top */
	/* An IPv4-mapped address in an IPv6 set: not of ours. */
	assert_int_equal(fw_nftnl_prefix(m, NULL, 16, &p), -1);
}

static void
item(struct fw_nftnl_dump *d, const char *addr, int end, int64_t left)
{
	struct addr	 a;

	assert_int_equal(addr_parse(addr, &a, NULL), 0);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	memset(&d->v[d->n], 0, sizeof d->v[d->n]);
	memcpy(d->v[d->n].key, a.bytes, d->klen);
	d->v[d->n].end = end;
	d->v[d->n].remaining = left;
	d->n++;
}

/* The kernel's order (descending), nft 1.0.6's end at 0, adjacent
 * prefixes, an open last, a range of someone else's between. */
static void
test_entries(void **state)
{
	struct fw_nftnl_dump	 d;
	struct fw_entry		*v = NULL;
	size_t			 n = 0, cap = 0;
	char			 s[ADDR_PREFIX_STRLEN];

	(void)state;
	memset(&d, 0, sizeof d);
	d.klen = 4;
	item(&d, "255.255.255.0", 0, 5);
	item(&d, "10.0.1.0", 1, 0);
	item(&d, "10.0.0.3", 0, 9);		/* 10.0.0.3-10.0.0.255 */
	item(&d, "10.0.0.0", 1, 0);
	item(&d, "9.0.0.0", 0, 7);
	item(&d, "0.0.0.0", 1, 0);
	item(&d, "9.0.0.0", 1, 0);		/* its start sorts after */
	item(&d, "8.0.0.0", 0, 3);
	fw_nftnl_entries(&d, 1, &v, &n, &cap);
	assert_int_equal(n, 3);
	assert_string_equal(addr_prefix_ntop(&v[0].prefix, s, sizeof s),
	    "8.0.0.0/8");
	assert_int_equal(v[0].remaining, 3);
	assert_string_equal(addr_prefix_ntop(&v[1].prefix, s, sizeof s),
	    "9.0.0.0/8");
	assert_string_equal(addr_prefix_ntop(&v[2].prefix, s, sizeof s),
	    "255.255.255.0/24");
	assert_int_equal(v[2].remaining, 5);
	free(d.v);

	/* A hash set: every key a host. */
	memset(&d, 0, sizeof d);
	d.klen = 16;
	item(&d, "2001:db8::1", 0, 1);
	item(&d, "2001:db8::2", 0, 1);
	/* Made ::ffff:192.0.2.1, which is no IPv6 host of ours. */
	memset(d.v[1].key, 0, 10);
	d.v[1].key[10] = d.v[1].key[11] = 0xff;
	memcpy(d.v[1].key + 12, "\xc0\x00\x02\x01", 4);
	fw_nftnl_entries(&d, 0, &v, &n, &cap);
	assert_int_equal(n, 4);
	assert_string_equal(addr_prefix_ntop(&v[3].prefix, s, sizeof s),
	    "2001:db8::1/128");
	free(d.v);
	free(v);
}

/* The batch's framing, and a refusal named by its sequence number. */
static void
test_batch(void **state)
{
	struct fw_op		 o[3];
	const struct fw_op	*v[3] = { &o[0], &o[1], &o[2] };
	struct fw_nftnl		*fn;
	const struct nlmsghdr	*nlh;
	const void		*buf;
	char			*cause = NULL;
	size_t			 len;
	uint32_t		 seq[5];
	int			 left, k = 0;

	(void)state;
	memset(o, 0, sizeof o);
	o[0].prefix = pfx("192.0.2.1");
	o[1].prefix = pfx("192.0.2.2");
	o[2].prefix = pfx("198.51.100.0/24");
	if ((fn = fw_nftnl_open("xg", &cause)) == NULL) {
		free(cause);
		skip();
	}
	assert_true(fw_nftnl_empty(fn));
	fw_nftnl_elems(fn, FW_NFTNL_DESTROY, "ban4", 0, v, 2, 1, 0);
	fw_nftnl_elems(fn, FW_NFTNL_ADD, "net4", 1, v + 2, 1, 1, 60);
	fw_nftnl_elems(fn, FW_NFTNL_FLUSH, "thr4", 0, NULL, 0, 1, 0);
	assert_false(fw_nftnl_empty(fn));
	buf = fw_nftnl_batch(fn, &len);
	left = (int)len;
	for (nlh = buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh,
	    &left)) {
		assert_true(k < 5);
		seq[k++] = nlh->nlmsg_seq;
	}
	assert_int_equal(k, 5);
	assert_int_equal(((const struct nlmsghdr *)buf)->nlmsg_type,
	    NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(seq[2], seq[1] + 1);

	fw_nftnl_cause(fn, seq[2], EEXIST, &cause);
	assert_string_equal(cause, "nftables: destroy element inet xg ban4 "
	    "{ 192.0.2.2/32 }: File exists");
	free(cause);
	fw_nftnl_cause(fn, seq[3], ENOTEMPTY, &cause);
	assert_string_equal(cause, "nftables: add element inet xg net4 "
	    "{ 198.51.100.0/24 }: Directory not empty");
	free(cause);
	fw_nftnl_cause(fn, seq[4], ENOENT, &cause);
	assert_string_equal(cause, "nftables: flush set inet xg thr4: "
	    "No such file or directory");
	free(cause);
	fw_nftnl_cause(fn, seq[4] + 100, EPERM, &cause);
	assert_string_equal(cause, "nftables: batch refused: Operation not "
	    "permitted");
	free(cause);
	fw_nftnl_close(fn);
}

/* An element's timeout (ms) and one-byte key. */
static void
test_key_elem(const struct nlattr *el, uint64_t *timeout, int *key)
{
	struct nlattr		*in;	/* mnl's macros cast */
	const struct nlattr	*v;

	mnl_attr_for_each_nested(in, el) {
		if (mnl_attr_get_type(in) == NFTA_SET_ELEM_TIMEOUT)
			*timeout = be64toh(mnl_attr_get_u64(in));
		if (mnl_attr_get_type(in) != NFTA_SET_ELEM_KEY)
			continue;
		v = mnl_attr_get_payload(in);
		assert_int_equal(mnl_attr_get_payload_len(v), 1);
		*key = *(const uint8_t *)mnl_attr_get_payload(v);
	}
}

/* An element whose key is no address: surge mode's switch. */
static void
test_key(void **state)
{
	static const uint8_t	 tcp = IPPROTO_TCP;
	struct fw_nftnl		*fn;
	const struct nlmsghdr	*nlh;
	struct nlattr		*a, *el;	/* mnl's macros cast */
	const void		*buf;
	char			*cause = NULL;
	size_t			 len;
	uint64_t		 timeout = 0;
	uint32_t		 seq = 0;
	int			 left, k = 0, key = -1;

	(void)state;
	if ((fn = fw_nftnl_open("xg", &cause)) == NULL) {
		free(cause);
		skip();
	}
	fw_nftnl_key(fn, FW_NFTNL_FLUSH, "surge_c2s", &tcp, 1, 0);
	fw_nftnl_key(fn, FW_NFTNL_ADD, "surge_c2s", &tcp, 0, 0);
	assert_true(fw_nftnl_empty(fn));
	fw_nftnl_key(fn, FW_NFTNL_ADD, "surge_c2s", &tcp, sizeof tcp, 30);
	buf = fw_nftnl_batch(fn, &len);
	left = (int)len;
	for (nlh = buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh,
	    &left), k++) {
		if (k != 1)
			continue;
		seq = nlh->nlmsg_seq;
		assert_int_equal(nlh->nlmsg_type & 0xff, NFT_MSG_NEWSETELEM);
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(a) !=
			    NFTA_SET_ELEM_LIST_ELEMENTS)
				continue;
			mnl_attr_for_each_nested(el, a) {
				test_key_elem(el, &timeout, &key);
			}
		}
	}
	assert_int_equal(k, 2);
	assert_int_equal(timeout, 30000);
	assert_int_equal(key, IPPROTO_TCP);
	fw_nftnl_cause(fn, seq, ENOENT, &cause);
	assert_string_equal(cause, "nftables: add element inet xg surge_c2s: "
	    "No such file or directory");
	free(cause);
	fw_nftnl_close(fn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_prefix_other),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
