/*
 * Unit tests for addr.c: the spellings the parsers accept and refuse,
 * prefixes and containment at the edge lengths, ordering, the keyed hash
 * (checked against the published SipHash vectors), and property loops over
 * pseudo-random addresses and garbage strings.
 */
#include "unit.h"

#include "../../src/addr.c"

#include <stdlib.h>

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t
test_rand(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return (*state * 0x2545f4914f6cdd1dULL);
}

/* The invariant every constructor keeps: bytes past the family's are 0. */
static int
test_unused_zero(const struct addr *a)
{
	size_t	i, used;

	if (a->family == AF_INET)
		used = 4;
	else if (a->family == AF_INET6)
		used = 16;
	else
		return (0);
	for (i = used; i < sizeof(a->bytes); i++)
		if (a->bytes[i] != 0)
			return (0);
	return (1);
}

static void
test_parse_table(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		const char	*out;	/* printed, when ok */
		int		 family;
		uint16_t	 port;
	} t[] = {
		/* The forms logs and configuration use. */
		{ "192.0.2.1", 0, "192.0.2.1", AF_INET, 0 },
		{ "2001:db8::1", 0, "2001:db8::1", AF_INET6, 0 },
		{ "::ffff:192.0.2.1", 0, "192.0.2.1", AF_INET, 0 },
		{ "::FFFF:192.0.2.1", 0, "192.0.2.1", AF_INET, 0 },
		{ "::ffff:c000:201", 0, "192.0.2.1", AF_INET, 0 },
		{ "0:0:0:0:0:ffff:192.0.2.1", 0, "192.0.2.1", AF_INET, 0 },
		{ "[2001:db8::1]", 0, "2001:db8::1", AF_INET6, 0 },
		{ "[2001:db8::1]:5222", 0, "2001:db8::1", AF_INET6, 5222 },
		{ "192.0.2.1:5222", 0, "192.0.2.1", AF_INET, 5222 },
		{ "fe80::1%eth0", 0, "fe80::1", AF_INET6, 0 },
		{ "fe80::1%2", 0, "fe80::1", AF_INET6, 0 },
		{ "fe80::1%br-lan.10_x", 0, "fe80::1", AF_INET6, 0 },
		{ "[fe80::1%eth0]:5269", 0, "fe80::1", AF_INET6, 5269 },
		{ "[::ffff:1.2.3.4]:80", 0, "1.2.3.4", AF_INET, 80 },
		{ "[1.2.3.4]:5222", 0, "1.2.3.4", AF_INET, 5222 },
		{ "[1.2.3.4]", 0, "1.2.3.4", AF_INET, 0 },
		/* Unbracketed IPv6 never has a port. */
		{ "2001:db8::1:5222", 0, "2001:db8::1:5222", AF_INET6, 0 },
		/* Printing is canonical (RFC 5952 via inet_ntop). */
		{ "2001:DB8:0:0:0:0:0:1", 0, "2001:db8::1", AF_INET6, 0 },
		{ "2001:0db8:0000:0000:0001:0000:0000:0001", 0,
		    "2001:db8::1:0:0:1", AF_INET6, 0 },
		{ "::", 0, "::", AF_INET6, 0 },
		{ "::1", 0, "::1", AF_INET6, 0 },
		{ "0.0.0.0", 0, "0.0.0.0", AF_INET, 0 },
		{ "::ffff:0.0.0.0", 0, "0.0.0.0", AF_INET, 0 },
		{ "255.255.255.255:65535", 0, "255.255.255.255", AF_INET,
		    65535 },
		{ "1.2.3.4:1", 0, "1.2.3.4", AF_INET, 1 },
		/* Not mapped: these stay IPv6. */
		{ "::1.2.3.4", 0, "::1.2.3.4", AF_INET6, 0 },
		{ "64:ff9b::192.0.2.1", 0, "64:ff9b::c000:201", AF_INET6, 0 },
		{ "::fffe:1.2.3.4", 0, "::fffe:102:304", AF_INET6, 0 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 0,
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6, 0 },

		/* Refused. */
		{ "", -1, NULL, 0, 0 },
		{ " ", -1, NULL, 0, 0 },
		{ " 1.2.3.4", -1, NULL, 0, 0 },
		{ "1.2.3.4 ", -1, NULL, 0, 0 },
		{ "1.2.3.4\n", -1, NULL, 0, 0 },
		{ "1.2.3.4\t", -1, NULL, 0, 0 },
		{ "::1 ", -1, NULL, 0, 0 },
		{ "1.2.3", -1, NULL, 0, 0 },
		{ "1.2.3.4.5", -1, NULL, 0, 0 },
		{ "256.1.1.1", -1, NULL, 0, 0 },
		{ "1.2.3.256", -1, NULL, 0, 0 },
		{ "01.2.3.4", -1, NULL, 0, 0 },
		{ "1.2.3.04", -1, NULL, 0, 0 },
		{ "0x1.2.3.4", -1, NULL, 0, 0 },
		{ "-1.2.3.4", -1, NULL, 0, 0 },
		{ "1.2.3.4:", -1, NULL, 0, 0 },
		{ ":5222", -1, NULL, 0, 0 },
		{ ":", -1, NULL, 0, 0 },
		{ "1.2.3.4:0", -1, NULL, 0, 0 },
		{ "1.2.3.4:65536", -1, NULL, 0, 0 },
		{ "1.2.3.4:99999", -1, NULL, 0, 0 },
		{ "1.2.3.4:123456", -1, NULL, 0, 0 },
		{ "1.2.3.4:05222", -1, NULL, 0, 0 },
		{ "1.2.3.4:00", -1, NULL, 0, 0 },
		{ "1.2.3.4:+80", -1, NULL, 0, 0 },
		{ "1.2.3.4:-1", -1, NULL, 0, 0 },
		{ "1.2.3.4:52 22", -1, NULL, 0, 0 },
		{ "1.2.3.4:0x50", -1, NULL, 0, 0 },
		{ "1.2.3.4:80/", -1, NULL, 0, 0 },
		{ "1.2.3.4/24", -1, NULL, 0, 0 },
		{ "1.2.3.4%eth0", -1, NULL, 0, 0 },
		{ "1.2.3.4%eth0:80", -1, NULL, 0, 0 },
		{ "[1.2.3.4%eth0]", -1, NULL, 0, 0 },
		{ "[2001:db8::1]:", -1, NULL, 0, 0 },
		{ "[2001:db8::1]:0", -1, NULL, 0, 0 },
		{ "[2001:db8::1]:65536", -1, NULL, 0, 0 },
		{ "[2001:db8::1]x", -1, NULL, 0, 0 },
		{ "[2001:db8::1] :80", -1, NULL, 0, 0 },
		{ "[2001:db8::1]:80:80", -1, NULL, 0, 0 },
		{ "[2001:db8::1", -1, NULL, 0, 0 },
		{ "2001:db8::1]", -1, NULL, 0, 0 },
		{ "[]", -1, NULL, 0, 0 },
		{ "[]:80", -1, NULL, 0, 0 },
		{ "[", -1, NULL, 0, 0 },
		{ "]", -1, NULL, 0, 0 },
		{ "[[::1]]", -1, NULL, 0, 0 },
		{ "[::1]]", -1, NULL, 0, 0 },
		{ "[ ::1]", -1, NULL, 0, 0 },
		{ "::ffff:1.2.3.4:80", -1, NULL, 0, 0 },
		{ "::ffff:256.1.1.1", -1, NULL, 0, 0 },
		{ "::ffff:01.2.3.4", -1, NULL, 0, 0 },
		{ "fe80::1%", -1, NULL, 0, 0 },
		{ "fe80::1%eth0%eth1", -1, NULL, 0, 0 },
		{ "fe80::1%et h0", -1, NULL, 0, 0 },
		{ "fe80::1%eth0:80", -1, NULL, 0, 0 },
		{ "fe80::1%eth/0", -1, NULL, 0, 0 },
		{ "%eth0", -1, NULL, 0, 0 },
		{ "2001:db8::1::2", -1, NULL, 0, 0 },
		{ "2001:db8:::1", -1, NULL, 0, 0 },
		{ "12345::1", -1, NULL, 0, 0 },
		{ "1:2:3:4:5:6:7:8:9", -1, NULL, 0, 0 },
		{ "1:2:3:4:5:6:7", -1, NULL, 0, 0 },
		{ "::g", -1, NULL, 0, 0 },
		{ "localhost", -1, NULL, 0, 0 },
		{ "hidden_by_ejabberd", -1, NULL, 0, 0 },
		{ "?", -1, NULL, 0, 0 },
		{ "0000:0000:0000:0000:0000:0000:0000:0000:0000", -1, NULL,
		    0, 0 },
	};
	struct addr	a;
	uint16_t	port;
	char		buf[ADDR_STRLEN];
	size_t		i;
	int		r;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&a, 0xa5, sizeof(a));
		port = 4321;
		r = addr_parse(t[i].in, &a, &port);
		if (r != t[i].ok)
			fail_msg("\"%s\": got %d, want %d", t[i].in, r,
			    t[i].ok);
		if (r == -1) {
			/* Nothing written on failure. */
			assert_int_equal(port, 4321);
			assert_int_equal(a.family, 0xa5);
			continue;
		}
		addr_ntop(&a, buf, sizeof(buf));
		if (strcmp(buf, t[i].out) != 0)
			fail_msg("\"%s\": printed \"%s\", want \"%s\"",
			    t[i].in, buf, t[i].out);
		assert_int_equal(a.family, t[i].family);
		assert_int_equal(port, t[i].port);
		assert_true(test_unused_zero(&a));

		/* The counted form agrees on every entry. */
		memset(&a, 0, sizeof(a));
		assert_int_equal(addr_parse_n(t[i].in, strlen(t[i].in), &a,
		    &port), 0);
		assert_string_equal(addr_ntop(&a, buf, sizeof(buf)),
		    t[i].out);
	}
}

static void
test_parse_port_null(void **state)
{
	struct addr	a;
	uint16_t	port;

	(void)state;
	/* A port nobody asked for is an error, not silently dropped. */
	assert_int_equal(addr_parse("192.0.2.1:5222", &a, NULL), -1);
	assert_int_equal(addr_parse("[2001:db8::1]:5222", &a, NULL), -1);
	assert_int_equal(addr_parse("[1.2.3.4]:1", &a, NULL), -1);
	assert_int_equal(addr_parse("192.0.2.1", &a, NULL), 0);
	assert_int_equal(addr_parse("[2001:db8::1]", &a, NULL), 0);
	assert_int_equal(addr_parse("2001:db8::1:5222", &a, NULL), 0);

	/* No port given: 0 is written. */
	port = 99;
	assert_int_equal(addr_parse("::1", &a, &port), 0);
	assert_int_equal(port, 0);
}

static void
test_parse_n(void **state)
{
	const char	*line = "192.0.2.1:5222 rest of line";
	struct addr	 a, b;
	uint16_t	 port;
	char		*heap, *big, buf[ADDR_STRLEN];
	char		 zone[ADDR_STRLEN + ADDR_ZONE_MAX + 16];
	size_t		 n;

	(void)state;
	/* A slice of a longer line. */
	assert_int_equal(addr_parse_n(line, 9, &a, &port), 0);
	assert_string_equal(addr_ntop(&a, buf, sizeof(buf)), "192.0.2.1");
	assert_int_equal(port, 0);
	assert_int_equal(addr_parse_n(line, 14, &a, &port), 0);
	assert_int_equal(port, 5222);
	assert_int_equal(addr_parse_n(line, 15, &a, &port), -1);
	assert_int_equal(addr_parse_n(line, 0, &a, &port), -1);

	/* Exactly sized, unterminated heap copy: ASan sees any overread. */
	n = strlen("[2001:db8::1%eth0]:5222");
	heap = malloc(n);
	assert_non_null(heap);
	memcpy(heap, "[2001:db8::1%eth0]:5222", n);
	assert_int_equal(addr_parse_n(heap, n, &a, &port), 0);
	assert_int_equal(port, 5222);
	for (; n > 0; n--)	/* every prefix either parses or fails */
		(void)addr_parse_n(heap, n - 1, &b, &port);
	free(heap);

	/* Embedded NUL: rejected, although the text before it is valid. */
	assert_int_equal(addr_parse_n("1.2.3.4\0:80", 11, &a, &port), -1);
	assert_int_equal(addr_parse_n("::1\0", 4, &a, &port), -1);
	assert_int_equal(addr_parse_n("\0", 1, &a, &port), -1);

	/* Over-long input, terminated or not. */
	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, '1', 1 << 20);
	assert_int_equal(addr_parse_n(big, 1 << 20, &a, &port), -1);
	big[(1 << 20) - 1] = '\0';
	assert_int_equal(addr_parse(big, &a, &port), -1);
	/* A valid address followed by padding is still too long. */
	memcpy(big, "1.2.3.4", 7);
	assert_int_equal(addr_parse(big, &a, &port), -1);
	free(big);

	/* The longest accepted spelling, and one byte more. */
	snprintf(zone, sizeof(zone), "[%s%%%.*s]:65535",
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", ADDR_ZONE_MAX,
	    "abcdefghijklmnopqrstuvwxyz0123456789");
	assert_int_equal(strlen(zone), ADDR_INPUT_MAX);
	assert_int_equal(addr_parse(zone, &a, &port), 0);
	assert_int_equal(port, 65535);
	snprintf(zone, sizeof(zone), "[%s%%%.*s]:65535",
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	    ADDR_ZONE_MAX + 1, "abcdefghijklmnopqrstuvwxyz0123456789");
	assert_int_equal(addr_parse(zone, &a, &port), -1);
	/* A zone too long even where the whole would fit. */
	snprintf(zone, sizeof(zone), "::1%%%.*s", ADDR_ZONE_MAX + 1,
	    "abcdefghijklmnopqrstuvwxyz0123456789");
	assert_int_equal(addr_parse(zone, &a, &port), -1);
}

static void
test_prefix_parse(void **state)
{
	static const struct {
		const char	*in;
		int		 allow_host_bits;
		int		 ok;
		const char	*out;
	} t[] = {
		{ "10.0.0.0/8", 0, 0, "10.0.0.0/8" },
		{ "10.1.2.3/8", 0, -1, NULL },
		{ "10.1.2.3/8", 1, 0, "10.0.0.0/8" },
		{ "10.128.0.0/9", 0, 0, "10.128.0.0/9" },
		{ "10.128.0.0/8", 0, -1, NULL },
		{ "1.2.3.4/31", 0, 0, "1.2.3.4/31" },
		{ "1.2.3.5/31", 0, -1, NULL },
		{ "1.2.3.5/31", 1, 0, "1.2.3.4/31" },
		{ "192.0.2.1", 0, 0, "192.0.2.1/32" },
		{ "192.0.2.1/32", 0, 0, "192.0.2.1/32" },
		{ "0.0.0.0/0", 0, 0, "0.0.0.0/0" },
		{ "1.2.3.4/0", 0, -1, NULL },
		{ "1.2.3.4/0", 1, 0, "0.0.0.0/0" },
		{ "2001:db8::/32", 0, 0, "2001:db8::/32" },
		{ "2001:db8::/33", 0, 0, "2001:db8::/33" },
		{ "2001:db8::/31", 0, 0, "2001:db8::/31" },
		{ "2001:db8::/28", 0, -1, NULL },
		{ "2001:db8:1234:5678::/64", 0, 0, "2001:db8:1234:5678::/64" },
		{ "2001:db8:1234:5678::1/64", 0, -1, NULL },
		{ "2001:db8:1234:5678::1/64", 1, 0,
		    "2001:db8:1234:5678::/64" },
		{ "2001:db8::1", 0, 0, "2001:db8::1/128" },
		{ "2001:db8::1/128", 0, 0, "2001:db8::1/128" },
		{ "2001:db8::1/127", 0, -1, NULL },
		{ "2001:db8::1/127", 1, 0, "2001:db8::/127" },
		{ "fe80::/10", 0, 0, "fe80::/10" },
		{ "::/0", 0, 0, "::/0" },
		{ "::1/0", 1, 0, "::/0" },
		/* Mapped prefixes are IPv4 prefixes, len - 96. */
		{ "::ffff:10.0.0.0/104", 0, 0, "10.0.0.0/8" },
		{ "::ffff:10.0.0.0/104", 1, 0, "10.0.0.0/8" },
		{ "::ffff:10.1.0.0/104", 0, -1, NULL },
		{ "::ffff:0.0.0.0/96", 0, 0, "0.0.0.0/0" },
		{ "::ffff:10.0.0.0/96", 0, -1, NULL },
		{ "::ffff:1.2.3.4", 0, 0, "1.2.3.4/32" },
		{ "::ffff:1.2.3.4/128", 0, 0, "1.2.3.4/32" },
		{ "::ffff:0.0.0.0/95", 0, -1, NULL },
		{ "::ffff:0.0.0.0/95", 1, -1, NULL },
		{ "::ffff:0.0.0.0/0", 1, -1, NULL },
		{ "::ffff:10.0.0.0/129", 0, -1, NULL },
		/* Refused spellings. */
		{ "10.0.0.0/33", 0, -1, NULL },
		{ "10.0.0.0/33", 1, -1, NULL },
		{ "2001:db8::/129", 0, -1, NULL },
		{ "10.0.0.0/", 0, -1, NULL },
		{ "/8", 0, -1, NULL },
		{ "/", 0, -1, NULL },
		{ "", 0, -1, NULL },
		{ "10.0.0.0/08", 0, -1, NULL },
		{ "10.0.0.0/0x8", 0, -1, NULL },
		{ "10.0.0.0/-8", 0, -1, NULL },
		{ "10.0.0.0/+8", 0, -1, NULL },
		{ "10.0.0.0/ 8", 0, -1, NULL },
		{ "10.0.0.0 /8", 0, -1, NULL },
		{ "10.0.0.0/8 ", 0, -1, NULL },
		{ "10.0.0.0/8/8", 0, -1, NULL },
		{ "10.0.0.0/4294967304", 1, -1, NULL },
		{ "10.0.0/8", 0, -1, NULL },
		{ "10.0.0.0:80/8", 0, -1, NULL },
		{ "[2001:db8::]/32", 0, -1, NULL },
		{ "[2001:db8::]", 0, -1, NULL },
		{ "fe80::%eth0/64", 0, -1, NULL },
		{ "fe80::1%eth0", 0, -1, NULL },
		{ "hidden_by_ejabberd", 0, -1, NULL },
	};
	struct prefix	p;
	char		buf[ADDR_PREFIX_STRLEN];
	size_t		i;
	int		r;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&p, 0xa5, sizeof(p));
		r = addr_prefix_parse(t[i].in, &p, t[i].allow_host_bits);
		if (r != t[i].ok)
			fail_msg("\"%s\" (allow %d): got %d, want %d",
			    t[i].in, t[i].allow_host_bits, r, t[i].ok);
		if (r == -1) {
			assert_int_equal(p.len, 0xa5);
			continue;
		}
		addr_prefix_ntop(&p, buf, sizeof(buf));
		if (strcmp(buf, t[i].out) != 0)
			fail_msg("\"%s\": printed \"%s\", want \"%s\"",
			    t[i].in, buf, t[i].out);
		assert_true(test_unused_zero(&p.addr));
	}
}

static void
test_prefix_contains(void **state)
{
	static const struct {
		const char	*prefix;
		const char	*addr;
		int		 in;
	} t[] = {
		{ "0.0.0.0/0", "0.0.0.0", 1 },
		{ "0.0.0.0/0", "255.255.255.255", 1 },
		{ "0.0.0.0/0", "::ffff:1.2.3.4", 1 },
		{ "0.0.0.0/0", "::", 0 },		/* families differ */
		{ "0.0.0.0/0", "::1.2.3.4", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "::/0", "1.2.3.4", 0 },
		{ "::/0", "::ffff:1.2.3.4", 0 },	/* that is IPv4 */
		{ "192.0.2.1/32", "192.0.2.1", 1 },
		{ "192.0.2.1/32", "192.0.2.0", 0 },
		{ "192.0.2.1/32", "192.0.2.129", 0 },
		{ "192.0.2.1/32", "[::ffff:192.0.2.1]:5222", 1 },
		{ "2001:db8::1/128", "2001:db8::1", 1 },
		{ "2001:db8::1/128", "2001:db8::", 0 },
		{ "2001:db8::1/128", "2001:db8::1:0:0:1", 0 },
		{ "10.0.0.0/9", "10.127.255.255", 1 },
		{ "10.0.0.0/9", "10.128.0.0", 0 },
		{ "10.0.0.0/9", "9.255.255.255", 0 },
		{ "2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff", 1 },
		{ "2001:db8:1:2::/64", "2001:db8:1:2::", 1 },
		{ "2001:db8:1:2::/64", "2001:db8:1:3::", 0 },
		{ "2001:db8:1:2::/64", "2001:db8:1:1:ffff:ffff:ffff:ffff", 0 },
		{ "fe80::/10", "febf:ffff::1", 1 },
		{ "fe80::/10", "fec0::1", 0 },
		{ "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", 1 },
		{ "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
		{ "::ffff:10.0.0.0/104", "11.0.0.0", 0 },
		{ "2001:db8::ff00/121", "2001:db8::ff7f", 1 },
		{ "2001:db8::ff00/121", "2001:db8::ff80", 0 },
	};
	struct prefix	p;
	struct addr	a, none;
	uint16_t	port;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(addr_prefix_parse(t[i].prefix, &p, 0), 0);
		assert_int_equal(addr_parse(t[i].addr, &a, &port), 0);
		if (addr_prefix_contains(&p, &a) != t[i].in)
			fail_msg("%s in %s: want %d", t[i].addr, t[i].prefix,
			    t[i].in);
	}

	/* "No address" is in nothing, not even a /0 of its own family. */
	memset(&none, 0, sizeof(none));
	assert_int_equal(addr_prefix_parse("0.0.0.0/0", &p, 0), 0);
	assert_int_equal(addr_prefix_contains(&p, &none), 0);
	memset(&p, 0, sizeof(p));
	assert_int_equal(addr_prefix_contains(&p, &none), 0);
}

static void
test_mask(void **state)
{
	struct addr	a;
	struct prefix	p, q;
	char		buf[ADDR_PREFIX_STRLEN];

	(void)state;
	/* The aggregation levels the tracker uses. */
	assert_int_equal(addr_parse("192.0.2.77", &a, NULL), 0);
	addr_mask(&a, 24, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "192.0.2.0/24");
	assert_true(addr_prefix_contains(&p, &a));
	assert_int_equal(addr_parse("2001:db8:1:2:3:4:5:6", &a, NULL), 0);
	addr_mask(&a, 64, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "2001:db8:1:2::/64");
	addr_mask(&a, 48, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "2001:db8:1::/48");
	addr_mask(&a, 127, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "2001:db8:1:2:3:4:5:6/127");
	addr_mask(&a, 125, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "2001:db8:1:2:3:4:5:0/125");

	/* Two hosts of one /64 aggregate to the same prefix bytes. */
	assert_int_equal(addr_parse("2001:db8:1:2:aaaa::1", &a, NULL), 0);
	addr_mask(&a, 64, &p);
	assert_int_equal(addr_parse("2001:db8:1:2:ffff::9", &a, NULL), 0);
	addr_mask(&a, 64, &q);
	assert_memory_equal(&p, &q, sizeof(p));

	/* Lengths are clamped to the family. */
	assert_int_equal(addr_parse("192.0.2.77", &a, NULL), 0);
	addr_mask(&a, 200, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "192.0.2.77/32");
	addr_mask(&a, -5, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "0.0.0.0/0");
	assert_int_equal(addr_parse("::1", &a, NULL), 0);
	addr_mask(&a, 129, &p);
	assert_int_equal(p.len, 128);

	/* out may hold a. */
	assert_int_equal(addr_parse("10.20.30.40", &p.addr, NULL), 0);
	addr_mask(&p.addr, 12, &p);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "10.16.0.0/12");
}

static void
test_from(void **state)
{
	static const uint8_t	v4[4] = { 192, 0, 2, 1 };
	static const uint8_t	mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1
	};
	static const uint8_t	v6[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	};
	struct addr		a, b;
	char			buf[ADDR_STRLEN];

	(void)state;
	/* Garbage beforehand must not survive into unused bytes. */
	memset(&a, 0xff, sizeof(a));
	addr_from_v4(&a, v4);
	assert_int_equal(a.family, AF_INET);
	assert_true(test_unused_zero(&a));
	assert_string_equal(addr_ntop(&a, buf, sizeof(buf)), "192.0.2.1");

	memset(&b, 0xff, sizeof(b));
	addr_from_v6(&b, mapped);
	assert_memory_equal(&a, &b, sizeof(a));

	memset(&b, 0xff, sizeof(b));
	addr_from_v6(&b, v6);
	assert_int_equal(b.family, AF_INET6);
	assert_string_equal(addr_ntop(&b, buf, sizeof(buf)), "2001:db8::1");

	/* The source may be the destination's own bytes. */
	memset(&b, 0, sizeof(b));
	memcpy(b.bytes, mapped, sizeof(mapped));
	addr_from_v6(&b, b.bytes);
	assert_memory_equal(&a, &b, sizeof(a));
	addr_from_v4(&b, b.bytes);
	assert_memory_equal(&a, &b, sizeof(a));

	/* Mapped from the kernel and dotted from a log: one address. */
	assert_int_equal(addr_parse("192.0.2.1", &b, NULL), 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void
test_ntop(void **state)
{
	struct addr	a;
	struct prefix	p;
	char		buf[ADDR_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1", &a, NULL), 0);
	/* A short buffer is cut and terminated. */
	assert_string_equal(addr_ntop(&a, buf, 4), "192");
	assert_string_equal(addr_ntop(&a, buf, 1), "");
	buf[0] = 'x';
	addr_ntop(&a, buf, 0);
	assert_int_equal(buf[0], 'x');

	memset(&a, 0, sizeof(a));
	assert_string_equal(addr_ntop(&a, buf, sizeof(buf)), "?");
	a.family = 99;
	assert_string_equal(addr_ntop(&a, buf, sizeof(buf)), "?");

	/* The longest prefix text fits ADDR_PREFIX_STRLEN. */
	assert_int_equal(addr_prefix_parse(
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", &p, 0), 0);
	assert_string_equal(addr_prefix_ntop(&p, buf, sizeof(buf)),
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_string_equal(addr_prefix_ntop(&p, buf, 6), "ffff:");
}

static int
test_cmp_sign(int v)
{
	return ((v > 0) - (v < 0));
}

static void
test_cmp(void **state)
{
	/* Ascending. */
	static const char *const order[] = {
		"0.0.0.0", "0.0.0.1", "1.2.3.4", "10.0.0.0", "127.0.0.1",
		"255.255.255.254", "255.255.255.255",
		"::", "::1", "::1.2.3.4", "2001:db8::", "2001:db8::1",
		"fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	struct addr	a[sizeof(order) / sizeof(order[0])], none, m;
	size_t		i, j, n = sizeof(order) / sizeof(order[0]);

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(addr_parse(order[i], &a[i], NULL), 0);
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			if (addr_cmp(&a[i], &a[j]) != test_cmp_sign(
			    (int)i - (int)j))
				fail_msg("cmp(%s, %s)", order[i], order[j]);
			assert_int_equal(addr_eq(&a[i], &a[j]), i == j);
		}
	}
	/* Mapped and plain compare equal. */
	assert_int_equal(addr_parse("::ffff:1.2.3.4", &m, NULL), 0);
	assert_int_equal(addr_cmp(&m, &a[2]), 0);
	assert_true(addr_eq(&m, &a[2]));
	/* "No address" sorts first. */
	memset(&none, 0, sizeof(none));
	assert_int_equal(addr_cmp(&none, &a[0]), -1);
	assert_int_equal(addr_cmp(&a[n - 1], &none), 1);
	assert_int_equal(addr_cmp(&none, &none), 0);

	assert_int_equal(addr_maxlen(&a[0]), 32);
	assert_int_equal(addr_maxlen(&a[n - 1]), 128);
	assert_int_equal(addr_maxlen(&none), 0);
}

static void
test_hash(void **state)
{
	struct addr	a, b;
	uint32_t	h[64], first;
	uint16_t	port;
	unsigned int	bucket[64];
	uint8_t		raw[16];
	size_t		i, j, distinct;

	(void)state;
	/* Equal addresses hash equal, however they were spelled. */
	assert_int_equal(addr_parse("1.2.3.4", &a, NULL), 0);
	assert_int_equal(addr_parse("[::ffff:1.2.3.4]:80", &b, &port), 0);
	assert_int_equal(addr_hash(&a, 7), addr_hash(&b, 7));
	assert_int_equal(addr_hash(&a, 7), addr_hash(&a, 7));

	/* The family is part of the key: 1.2.3.4 is not 102:304::. */
	assert_int_equal(addr_parse("102:304::", &b, NULL), 0);
	assert_int_not_equal(addr_hash(&a, 7), addr_hash(&b, 7));

	/* Different seeds give different hashes of one address. */
	for (i = 0; i < 64; i++)
		h[i] = addr_hash(&a, (uint32_t)i);
	distinct = 0;
	for (i = 0; i < 64; i++) {
		for (j = 0; j < i; j++)
			if (h[j] == h[i])
				break;
		distinct += j == i;
	}
	assert_true(distinct >= 63);
	first = addr_hash(&a, 0);
	assert_int_not_equal(first, addr_hash(&a, 1));
	assert_int_not_equal(first, addr_hash(&a, 0x80000000U));

	/*
	 * Addresses an attacker would pick (consecutive hosts of one /64)
	 * spread evenly: 8192 into 64 buckets is 128 each, sd about 11.
	 */
	memset(bucket, 0, sizeof(bucket));
	assert_int_equal(addr_parse("2001:db8::", &a, NULL), 0);
	memcpy(raw, a.bytes, sizeof(raw));
	for (i = 0; i < 8192; i++) {
		raw[14] = (uint8_t)(i >> 8);
		raw[15] = (uint8_t)i;
		addr_from_v6(&b, raw);
		bucket[addr_hash(&b, 12345) >> 26]++;
	}
	for (i = 0; i < 64; i++)
		if (bucket[i] < 70 || bucket[i] > 190)
			fail_msg("bucket %zu holds %u of 8192", i, bucket[i]);
}

static void
test_classify(void **state)
{
	static const struct {
		const char	*in;
		int		 loopback, linklocal, unspecified;
	} t[] = {
		{ "127.0.0.1", 1, 0, 0 },
		{ "127.255.255.254", 1, 0, 0 },
		{ "::ffff:127.0.0.1", 1, 0, 0 },
		{ "126.255.255.255", 0, 0, 0 },
		{ "128.0.0.0", 0, 0, 0 },
		{ "::1", 1, 0, 0 },
		{ "::2", 0, 0, 0 },
		{ "::127.0.0.1", 0, 0, 0 },
		{ "169.254.0.1", 0, 1, 0 },
		{ "169.254.255.255", 0, 1, 0 },
		{ "169.253.255.255", 0, 0, 0 },
		{ "169.255.0.0", 0, 0, 0 },
		{ "fe80::1", 0, 1, 0 },
		{ "fe80::1%eth0", 0, 1, 0 },
		{ "febf:ffff::1", 0, 1, 0 },
		{ "fec0::1", 0, 0, 0 },
		{ "fe7f::1", 0, 0, 0 },
		{ "0.0.0.0", 0, 0, 1 },
		{ "::", 0, 0, 1 },
		{ "::ffff:0.0.0.0", 0, 0, 1 },
		{ "0.0.0.1", 0, 0, 0 },
		{ "::1:0", 0, 0, 0 },
		{ "192.0.2.1", 0, 0, 0 },
		{ "2001:db8::1", 0, 0, 0 },
	};
	struct addr	a;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(addr_parse(t[i].in, &a, NULL), 0);
		if (addr_is_loopback(&a) != t[i].loopback ||
		    addr_is_linklocal(&a) != t[i].linklocal ||
		    addr_is_unspecified(&a) != t[i].unspecified)
			fail_msg("%s: loopback %d linklocal %d unspec %d",
			    t[i].in, addr_is_loopback(&a),
			    addr_is_linklocal(&a), addr_is_unspecified(&a));
	}
	memset(&a, 0, sizeof(a));
	assert_false(addr_is_loopback(&a));
	assert_false(addr_is_linklocal(&a));
	assert_false(addr_is_unspecified(&a));
}

/* A random address; IPv6 gets zero runs and mapped forms often enough. */
static void
test_random_addr(uint64_t *rs, struct addr *a)
{
	uint8_t		raw[16];
	uint64_t	r, v;
	size_t		i;

	r = test_rand(rs);
	for (i = 0; i < 16; i += 8) {
		v = test_rand(rs);
		memcpy(raw + i, &v, 8);
	}
	switch (r % 4) {
	case 0:
		addr_from_v4(a, raw);
		break;
	case 1:
		memcpy(raw, addr_mapped_prefix, sizeof(addr_mapped_prefix));
		addr_from_v6(a, raw);
		assert_int_equal(a->family, AF_INET);
		break;
	default:
		/* Zero each 16-bit group with probability one half. */
		for (i = 0; i < 8; i++)
			if ((r >> (8 + i)) & 1)
				raw[2 * i] = raw[2 * i + 1] = 0;
		addr_from_v6(a, raw);
		break;
	}
}

static void
test_roundtrip(void **state)
{
	uint64_t	rs = 0x9e3779b97f4a7c15ULL;
	struct addr	a, b;
	struct prefix	p, q;
	uint16_t	port;
	char		buf[ADDR_STRLEN], text[ADDR_STRLEN + 16];
	char		pbuf[ADDR_PREFIX_STRLEN];
	int		i, len, bit, nv4 = 0, nv6 = 0;

	(void)state;
	for (i = 0; i < 5000; i++) {
		test_random_addr(&rs, &a);
		if (a.family == AF_INET)
			nv4++;
		else
			nv6++;
		assert_true(test_unused_zero(&a));

		/* parse(ntop(x)) == x, bare and with a port. */
		addr_ntop(&a, buf, sizeof(buf));
		memset(&b, 0xee, sizeof(b));
		if (addr_parse(buf, &b, NULL) != 0 || !addr_eq(&a, &b))
			fail_msg("round trip of %s", buf);
		assert_memory_equal(&a, &b, sizeof(a));
		assert_int_equal(addr_cmp(&a, &b), 0);
		assert_int_equal(addr_hash(&a, 1), addr_hash(&b, 1));
		snprintf(text, sizeof(text),
		    a.family == AF_INET6 ? "[%s]:%d" : "%s:%d", buf,
		    i % 65535 + 1);
		assert_int_equal(addr_parse(text, &b, &port), 0);
		assert_true(addr_eq(&a, &b));
		assert_int_equal(port, i % 65535 + 1);

		/* mask/contains/prefix text agree at a random length. */
		len = (int)(test_rand(&rs) % (uint64_t)(addr_maxlen(&a) + 1));
		addr_mask(&a, len, &p);
		assert_int_equal(p.len, len);
		assert_true(addr_prefix_contains(&p, &a));
		addr_prefix_ntop(&p, pbuf, sizeof(pbuf));
		if (addr_prefix_parse(pbuf, &q, 0) != 0)
			fail_msg("prefix round trip of %s", pbuf);
		assert_memory_equal(&p, &q, sizeof(p));
		assert_true(test_unused_zero(&p.addr));
		if (len > 0) {
			/* The last prefix bit flipped: outside. */
			bit = len - 1;
			b = a;
			b.bytes[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			assert_false(addr_prefix_contains(&p, &b));
		}
		if (len < addr_maxlen(&a)) {
			/* Any host bit flipped: inside, and the parse of
			 * the host-bit spelling needs allow_host_bits. */
			bit = len + (int)(test_rand(&rs) %
			    (uint64_t)(addr_maxlen(&a) - len));
			b = p.addr;
			b.bytes[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			assert_true(addr_prefix_contains(&p, &b));
			addr_ntop(&b, buf, sizeof(buf));
			snprintf(text, sizeof(text), "%s/%d", buf, len);
			assert_int_equal(addr_prefix_parse(text, &q, 0), -1);
			assert_int_equal(addr_prefix_parse(text, &q, 1), 0);
			assert_memory_equal(&p, &q, sizeof(p));
		}
	}
	/* Both families were exercised in earnest. */
	assert_true(nv4 > 2000 && nv6 > 2000);
}

/*
 * Garbage in: no crash (ASan watches), and whatever is accepted obeys the
 * invariants and prints back to itself.
 */
static void
test_garbage(void **state)
{
	static const char	alphabet[] = "0123456789abcdefABCDEF:.[]%/ "
	    "\t\n\0-+xg_";
	static const char *const seeds[] = {
		"192.0.2.1:5222", "[2001:db8::1]:5222", "fe80::1%eth0",
		"::ffff:1.2.3.4", "[::ffff:1.2.3.4]:80", "10.0.0.0/8",
		"2001:db8::/32",
	};
	uint64_t	rs = 42;
	struct addr	a, b;
	struct prefix	p;
	uint16_t	port;
	char		s[64], buf[ADDR_STRLEN];
	size_t		len, i, k, nmut;
	int		n, accepted = 0;

	(void)state;
	for (n = 0; n < 50000; n++) {
		if (n % 2) {
			len = test_rand(&rs) % sizeof(s);
			for (i = 0; i < len; i++)
				s[i] = alphabet[test_rand(&rs) %
				    (sizeof(alphabet) - 1)];
		} else {
			/* Mutate a valid spelling by one or two bytes. */
			k = test_rand(&rs) % (sizeof(seeds) /
			    sizeof(seeds[0]));
			len = strlen(seeds[k]);
			memcpy(s, seeds[k], len);
			nmut = 1 + test_rand(&rs) % 2;
			for (i = 0; i < nmut; i++)
				s[test_rand(&rs) % len] = alphabet[
				    test_rand(&rs) % (sizeof(alphabet) - 1)];
		}
		if (addr_parse_n(s, len, &a, &port) == 0) {
			accepted++;
			assert_true(test_unused_zero(&a));
			assert_null(memchr(s, '\0', len));
			addr_ntop(&a, buf, sizeof(buf));
			assert_int_equal(addr_parse(buf, &b, NULL), 0);
			assert_memory_equal(&a, &b, sizeof(a));
		}
		if (len < sizeof(s)) {
			s[len] = '\0';
			if (addr_prefix_parse(s, &p, n % 3 == 0) == 0) {
				assert_true(test_unused_zero(&p.addr));
				assert_true(p.len <= addr_maxlen(&p.addr));
			}
		}
	}
	/* The mutations leave some valid: the accept path ran too. */
	assert_true(accepted > 100);
}

/* Up to max random bytes of alphabet into buf, terminated. */
static void
test_random_text(char *buf, size_t max, unsigned int *seed,
    const char *alphabet)
{
	size_t	j, len = 1 + (size_t)rand_r(seed) % max;

	for (j = 0; j < len; j++)
		buf[j] = alphabet[(size_t)rand_r(seed) % strlen(alphabet)];
	buf[len] = '\0';
}

/* The hand-written dotted quad agrees with inet_pton(3) on everything. */
static void
test_v4_quad_like_inet_pton(void **state)
{
	static const char alphabet[] = "0123456789..:x";
	static const char *const edge[] = {
		"0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.",
		".1.2.3.4", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.4 ",
		"1.2.3.-4", "192.0.2.1", "9999.1.1.1", "0.00.0.0", "",
	};
	char		 buf[20];
	uint8_t		 a[4], b[4];
	unsigned int	 seed = 1;
	size_t		 i;
	int		 ra, rb;

	(void)state;
	for (i = 0; i < sizeof(edge) / sizeof(edge[0]) + 200000; i++) {
		if (i < sizeof(edge) / sizeof(edge[0]))
			snprintf(buf, sizeof(buf), "%s", edge[i]);
		else
			test_random_text(buf, 16, &seed, alphabet);
		ra = addr_v4_quad(buf, strlen(buf), a);
		rb = inet_pton(AF_INET, buf, b) == 1 ? 0 : -1;
		assert_int_equal(ra, rb);
		if (ra == 0)
			assert_memory_equal(a, b, 4);
	}
}

/* A valid IPv6 text with a dotted quad, one byte replaced. */
static void
test_v6_mutant(char *buf, size_t size, unsigned int *seed,
    const char *alphabet)
{
	unsigned int	g[3], q[4], i;
	size_t		len;

	for (i = 0; i < 3; i++)
		g[i] = (unsigned int)rand_r(seed) % 0x10000;
	for (i = 0; i < 4; i++)
		q[i] = (unsigned int)rand_r(seed) % 300;
	snprintf(buf, size, "%x:%x::%x:%u.%u.%u.%u", g[0], g[1], g[2], q[0],
	    q[1], q[2], q[3]);
	len = strlen(buf);
	buf[(size_t)rand_r(seed) % len] = alphabet[(size_t)rand_r(seed) %
	    strlen(alphabet)];
}

/* The hand-written IPv6 text agrees with inet_pton(3) on everything. */
static void
test_v6_text_like_inet_pton(void **state)
{
	static const char alphabet[] = "0123456789abcdefABCDEF:::::..x%g";
	static const char *const edge[] = {
		"::", ":::", "::1", "1::", "1:", ":1", ":1::", "1:::2", "::1:",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::",
		"1:2:3:4:5:6:7::8", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::",
		"::ffff:192.0.2.1", "::192.0.2.1", "1:2:3:4:5:6:1.2.3.4",
		"1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5::1.2.3.4", "::1.2.3",
		"::01.2.3.4", "::1.2.3.4.", "::.1.2.3", "::12345",
		"::1234.1.1.1",
		"2001:db8:f508:8576::9bc3", "2001:DB8::A", "0000:0:0:0:0:0:0:0",
		"00000::", "::ffff:1.2.3.4:5", "1.2.3.4", "1.2.3.4::", "",
		"fe80::1%eth0", "g::", "::g",
	};
	char		 buf[48];
	uint8_t		 a[16], b[16];
	unsigned int	 seed = 1;
	size_t		 i, ok = 0;
	int		 ra, rb;

	(void)state;
	for (i = 0; i < sizeof(edge) / sizeof(edge[0]) + 400000; i++) {
		if (i < sizeof(edge) / sizeof(edge[0]))
			snprintf(buf, sizeof(buf), "%s", edge[i]);
		else if (i % 4 == 0)	/* valid, mutated in one place */
			test_v6_mutant(buf, sizeof(buf), &seed, alphabet);
		else
			test_random_text(buf, 40, &seed, alphabet);
		ra = addr_v6_text(buf, strlen(buf), a);
		rb = inet_pton(AF_INET6, buf, b) == 1 ? 0 : -1;
		if (ra != rb)
			fail_msg("\"%s\": %d, inet_pton %d", buf, ra, rb);
		if (ra == 0) {
			assert_memory_equal(a, b, 16);
			ok++;
		}
	}
	/* The accept path ran too. */
	assert_true(ok > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_port_null),
		cmocka_unit_test(test_parse_n),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_ntop),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_v4_quad_like_inet_pton),
		cmocka_unit_test(test_v6_text_like_inet_pton),
	};

	return (cmocka_run_group_tests_name("addr", tests, NULL, NULL));
}
