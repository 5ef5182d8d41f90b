/*
 * The host's own addresses: the sorted list (an address held by two
 * interfaces, prefix lookups at the edges, no cap), the callback on each
 * change and on a dump's difference, and the parsing of real rtnetlink
 * messages built with libmnl (IFA_LOCAL before IFA_ADDRESS, families,
 * malformed attributes).  The live socket last, where netlink is there.
 */
#include "../../src/ownaddr.c"

#include "unit.h"

#include <stdio.h>

static struct addr
ad(const char *s)
{
	struct addr	a;

	assert_int_equal(addr_parse(s, &a, NULL), 0);
	return a;
}

static struct prefix
pf(const char *s)
{
	struct prefix	p;

	assert_int_equal(addr_prefix_parse(s, &p, 0), 0);
	return p;
}

/* What the callback heard: "+192.0.2.1 -2001:db8::1 ...". */
static char	heard[1024];

static void
hear_cb(const struct addr *a, enum ownaddr_change what, void *arg)
{
	char	buf[ADDR_STRLEN];
	size_t	len = strlen(heard);

	(void)arg;
	snprintf(heard + len, sizeof(heard) - len, "%s%c%s", len > 0 ? " " :
	    "", what == OWNADDR_ADDED ? '+' : '-', addr_ntop(a, buf,
	    sizeof(buf)));
}

static void
test_list(void **state)
{
	struct ownaddr	*o;
	struct addr	 a[3], found;
	struct prefix	 p;

	(void)state;
	a[0] = ad("192.0.2.1");
	a[1] = ad("2001:db8::1");
	a[2] = ad("192.0.2.1");		/* twice: once in the list */
	o = ownaddr_fixed(a, 3);
	assert_int_equal(ownaddr_count(o), 2);
	assert_true(ownaddr_is(o, &a[0]));
	assert_true(ownaddr_is(o, &a[1]));
	found = ad("10.0.0.1");
	assert_false(ownaddr_is(o, &found));
	/* Prefixes: holding one, at the edges, of the other family. */
	p = pf("192.0.2.0/24");
	assert_true(ownaddr_within(o, &p, &found));
	assert_true(addr_eq(&found, &a[0]));
	p = pf("192.0.2.1/32");
	assert_true(ownaddr_within(o, &p, NULL));
	p = pf("192.0.2.0/32");
	assert_false(ownaddr_within(o, &p, NULL));
	p = pf("192.0.2.2/31");
	assert_false(ownaddr_within(o, &p, NULL));
	p = pf("0.0.0.0/1");
	assert_false(ownaddr_within(o, &p, NULL));
	p = pf("128.0.0.0/1");
	assert_true(ownaddr_within(o, &p, NULL));
	p = pf("2001:db8::/32");
	assert_true(ownaddr_within(o, &p, NULL));
	p = pf("2001:db8::2/127");
	assert_false(ownaddr_within(o, &p, NULL));
	/* ::/0 is IPv6 alone: the IPv4 address is not in it, the IPv6 is. */
	p = pf("::/0");
	assert_true(ownaddr_within(o, &p, &found));
	assert_true(addr_eq(&found, &a[1]));
	ownaddr_free(o);

	/* Empty: nothing is ours. */
	o = ownaddr_fixed(NULL, 0);
	p = pf("0.0.0.0/0");
	assert_false(ownaddr_within(o, &p, NULL));
	assert_false(ownaddr_is(o, &a[0]));
	assert_int_equal(ownaddr_sync(o), 0);
	ownaddr_free(o);
	ownaddr_free(NULL);
}

/* No cap: 100,000 addresses, each found, none other. */
static void
test_many(void **state)
{
	struct ownaddr	*o;
	struct addr	 a;
	struct prefix	 p;
	uint32_t	 i;
	uint8_t		 b[4];

	(void)state;
	o = ownaddr_fixed(NULL, 0);
	for (i = 0; i < 100000; i++) {
		b[0] = 10;
		b[1] = (uint8_t)(i >> 15);
		b[2] = (uint8_t)(i >> 7);
		b[3] = (uint8_t)((i & 127) * 2);	/* even ones only */
		addr_from_v4(&a, b);
		ownaddr_set(o, &a, 1);
	}
	assert_int_equal(ownaddr_count(o), 100000);
	for (i = 0; i < 100000; i += 997) {
		b[1] = (uint8_t)(i >> 15);
		b[2] = (uint8_t)(i >> 7);
		b[3] = (uint8_t)((i & 127) * 2);
		addr_from_v4(&a, b);
		assert_true(ownaddr_is(o, &a));
		b[3] |= 1;
		addr_from_v4(&a, b);
		assert_false(ownaddr_is(o, &a));
		addr_mask(&a, 32, &p);
		assert_false(ownaddr_within(o, &p, NULL));
		addr_mask(&a, 31, &p);
		assert_true(ownaddr_within(o, &p, NULL));
	}
	ownaddr_free(o);
}

/* The callback hears an address come once and go once, however many
 * interfaces hold it; and a dump's difference. */
static void
test_changes(void **state)
{
	struct ownaddr		*o;
	struct ownaddr_vec	 next;
	struct addr		 a = ad("192.0.2.1"), b = ad("2001:db8::1");
	struct addr		 c = ad("198.51.100.1");

	(void)state;
	heard[0] = '\0';
	o = ownaddr_fixed(NULL, 0);
	ownaddr_set_cb(o, hear_cb, NULL);
	assert_int_equal(ownaddr_vec_add(&o->list, &a, 2), 1);
	assert_int_equal(ownaddr_vec_add(&o->list, &a, 3), 0);
	assert_int_equal(ownaddr_vec_add(&o->list, &a, 3), 0);
	assert_int_equal(ownaddr_vec_del(&o->list, &a, 2), 0);
	assert_true(ownaddr_is(o, &a));
	assert_int_equal(ownaddr_vec_del(&o->list, &a, 9), 0);
	assert_int_equal(ownaddr_vec_del(&o->list, &a, 3), 1);
	assert_false(ownaddr_is(o, &a));

	ownaddr_set(o, &a, 1);
	ownaddr_set(o, &a, 1);
	ownaddr_set(o, &b, 1);
	ownaddr_set(o, &b, 0);
	ownaddr_set(o, &b, 0);
	assert_string_equal(heard, "+192.0.2.1 +2001:db8::1 -2001:db8::1");

	/* A dump again: a stays (on two interfaces now), c comes, and b,
	 * back in the list, goes. */
	ownaddr_set(o, &b, 1);
	heard[0] = '\0';
	memset(&next, 0, sizeof(next));
	(void)ownaddr_vec_add(&next, &a, 1);
	(void)ownaddr_vec_add(&next, &a, 2);
	(void)ownaddr_vec_add(&next, &c, 1);
	ownaddr_replace(o, &next);
	assert_string_equal(heard, "+198.51.100.1 -2001:db8::1");
	assert_int_equal(ownaddr_count(o), 2);
	assert_null(next.v);
	ownaddr_free(o);
}

/*
 * Real rtnetlink messages, built as the kernel builds them.
 */
static struct nlmsghdr *
msg(void *buf, uint16_t type, uint8_t family, uint32_t ifindex)
{
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;

	memset(buf, 0, MNL_SOCKET_BUFFER_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = family == AF_INET ? 24 : 64;
	ifa->ifa_index = ifindex;
	return nlh;
}

static void
put_addr(struct nlmsghdr *nlh, uint16_t type, const char *s)
{
	struct addr	a = ad(s);

	mnl_attr_put(nlh, type, a.family == AF_INET ? 4 : 16, a.bytes);
}

static void
test_parse(void **state)
{
	uint8_t		 buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr	*nlh;
	struct addr	 a;
	uint32_t	 ifindex;
	char		 s[ADDR_STRLEN];
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 192, 0, 2, 44 };

	(void)state;
	/* IPv4 on a point-to-point link: IFA_LOCAL is ours, IFA_ADDRESS
	 * the peer's. */
	nlh = msg(buf, RTM_NEWADDR, AF_INET, 7);
	put_addr(nlh, IFA_ADDRESS, "192.0.2.99");
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	mnl_attr_put_strz(nlh, IFA_LABEL, "ppp0");
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), 1);
	assert_string_equal(addr_ntop(&a, s, sizeof(s)), "192.0.2.1");
	assert_int_equal(ifindex, 7);
	/* IPv6: IFA_ADDRESS alone. */
	nlh = msg(buf, RTM_DELADDR, AF_INET6, 3);
	put_addr(nlh, IFA_ADDRESS, "2001:db8::5");
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), 0);
	assert_string_equal(addr_ntop(&a, s, sizeof(s)), "2001:db8::5");
	assert_int_equal(ifindex, 3);
	/* A mapped IPv4 on an IPv6 interface is IPv4, as everywhere. */
	nlh = msg(buf, RTM_NEWADDR, AF_INET6, 3);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(mapped), mapped);
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), 1);
	assert_int_equal(a.family, AF_INET);

	/* Not for us: another message, another family, no address, an
	 * address of the wrong length, a truncated header. */
	nlh = msg(buf, RTM_NEWLINK, AF_INET, 1);
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), -1);
	nlh = msg(buf, RTM_NEWADDR, AF_PACKET, 1);
	put_addr(nlh, IFA_ADDRESS, "192.0.2.1");
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), -1);
	nlh = msg(buf, RTM_NEWADDR, AF_INET, 1);
	mnl_attr_put_strz(nlh, IFA_LABEL, "eth0");
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), -1);
	nlh = msg(buf, RTM_NEWADDR, AF_INET6, 1);
	put_addr(nlh, IFA_ADDRESS, "192.0.2.1");
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), -1);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), -1);
	/* An attribute whose length runs past the message: the walk stops
	 * there (mnl_attr_ok), nothing is read beyond. */
	nlh = msg(buf, RTM_NEWADDR, AF_INET, 1);
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	((struct nlattr *)((uint8_t *)nlh + NLMSG_HDRLEN +
	    NLMSG_ALIGN(sizeof(struct ifaddrmsg))))->nla_len = 200;
	assert_int_equal(ownaddr_parse(nlh, &a, &ifindex), -1);
}

/* Several notifications in one datagram, through mnl_cb_run as the
 * socket's reader runs them: the list and the callback follow. */
static void
test_notifications(void **state)
{
	uint8_t		 buf[MNL_SOCKET_BUFFER_SIZE], one[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr	*nlh;
	struct ownaddr	*o;
	size_t		 len = 0;
	struct addr	 a = ad("192.0.2.1");

	(void)state;
	heard[0] = '\0';
	o = ownaddr_fixed(NULL, 0);
	ownaddr_set_cb(o, hear_cb, NULL);
#define APPEND(n)	do {						\
		memcpy(buf + len, (n), (n)->nlmsg_len);			\
		len += NLMSG_ALIGN((n)->nlmsg_len);			\
	} while (0)
	nlh = msg(one, RTM_NEWADDR, AF_INET, 2);
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	APPEND(nlh);
	nlh = msg(one, RTM_NEWADDR, AF_INET6, 2);
	put_addr(nlh, IFA_ADDRESS, "2001:db8::1");
	APPEND(nlh);
	nlh = msg(one, RTM_NEWADDR, AF_INET, 2);	/* flags changed */
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	APPEND(nlh);
	nlh = msg(one, RTM_NEWLINK, AF_UNSPEC, 2);
	APPEND(nlh);
	nlh = msg(one, RTM_DELADDR, AF_INET6, 2);
	put_addr(nlh, IFA_ADDRESS, "2001:db8::1");
	APPEND(nlh);
#undef APPEND
	assert_int_equal(mnl_cb_run(buf, len, 0, 0, ownaddr_note_cb, o),
	    MNL_CB_OK);
	assert_string_equal(heard, "+192.0.2.1 +2001:db8::1 -2001:db8::1");
	assert_true(ownaddr_is(o, &a));
	assert_int_equal(ownaddr_count(o), 1);
	ownaddr_free(o);
}

/* The kernel's list, where this machine lets us have it: loopback's
 * address is one of ours. */
static void
test_live(void **state)
{
	struct ownaddr	*o;
	struct addr	 lo = ad("127.0.0.1");
	char		*cause = NULL;

	(void)state;
	if ((o = ownaddr_open(NULL, &cause)) == NULL) {
		fprintf(stderr, "no rtnetlink here: %s\n", cause);
		free(cause);
		skip();
	}
	assert_int_equal(ownaddr_sync(o), 0);
	if (ownaddr_count(o) > 0)
		assert_true(ownaddr_is(o, &lo));
	ownaddr_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_notifications),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
