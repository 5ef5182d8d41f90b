/*
 * Addresses and prefixes.
 *
 * A struct addr holds either family in one 17-byte value: the family and 16
 * bytes in network order, of which IPv4 uses the first 4.  Two invariants
 * let every other module treat an address as plain bytes (memcmp, hash,
 * use as a table key):
 *
 *  - bytes a family does not use are zero: every constructor clears the
 *    whole struct before filling it, and nothing else writes one;
 *  - an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is stored as IPv4, so a
 *    client that one log prints mapped and conntrack reports plain is one
 *    address, not two.
 *
 * A struct prefix adds a length and keeps its host bits zero, so two equal
 * networks are equal bytes too.
 *
 * The parsers read text that came from logs and the network.  They accept
 * a small closed set of spellings (see addr_parse_n) and reject the rest
 * rather than guess: a wrong guess would count one client's failures
 * against another.  Numbers are read by hand exactly as inet_pton(3)
 * reads them (the unit tests compare the two on random text), which
 * refuses the ambiguous historical forms ("1.2.3", "01.2.3.4" read as
 * octal by inet_aton), and nothing is copied.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "siphash.h"

/*
 * The longest spelling accepted: "[" + the longest IPv6 text (45) + "%" +
 * zone + "]" + ":65535".  Anything longer is rejected before it is read.
 */
#define ADDR_ZONE_MAX	31
#define ADDR_INPUT_MAX	\
	(1 + (ADDR_STRLEN - 1) + 1 + ADDR_ZONE_MAX + 1 + 6)

/* ::ffff:0:0/96, the IPv4-mapped block. */
static const uint8_t addr_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int	addr_parse_dec(const char *, size_t, unsigned int,
		    unsigned int *);
static int	addr_parse_host(const char *, size_t, int, struct addr *);
static int	addr_zone_ok(const char *, size_t);
static int	addr_v6_text(const char *, size_t, uint8_t[16]);
static void	addr_clear_host_bits(uint8_t *, int, int);
static int	addr_family_rank(uint8_t);
static char	*addr_copy_out(char *, size_t, const char *);

void
addr_from_v4(struct addr *a, const void *bytes4)
{
	uint8_t	tmp[4];

	/* Copy first: bytes4 may point into *a. */
	memcpy(tmp, bytes4, sizeof(tmp));
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(a->bytes, tmp, sizeof(tmp));
}

void
addr_from_v6(struct addr *a, const void *bytes16)
{
	uint8_t	tmp[16];

	memcpy(tmp, bytes16, sizeof(tmp));
	if (memcmp(tmp, addr_mapped_prefix, sizeof(addr_mapped_prefix)) == 0) {
		addr_from_v4(a, tmp + 12);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	memcpy(a->bytes, tmp, sizeof(tmp));
}

/*
 * Reads a decimal number of 1 to 5 digits, without sign, spaces or a
 * leading zero (one spelling per value, as for addresses), not above max.
 */
static int
addr_parse_dec(const char *s, size_t len, unsigned int max, unsigned int *out)
{
	unsigned int	v = 0;
	size_t		i;

	if (len == 0 || len > 5 || (s[0] == '0' && len > 1))
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > max)
		return (-1);
	*out = v;
	return (0);
}

/*
 * A zone names an interface ("eth0") or its index ("2"); it selects a link,
 * not a host, so it is checked for sanity and then dropped.
 */
static int
addr_zone_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > ADDR_ZONE_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '-' || s[i] == '_')
			continue;
		return (0);
	}
	return (1);
}

/*
 * Parses a bare address: dotted IPv4, or IPv6 text with an optional zone
 * when allow_zone.  The family is told by the text: IPv6 has a colon.
 */
/*
 * A dotted quad, as strictly as inet_pton(3): four decimal parts of 0 to
 * 255, no leading zeros, nothing else.  By hand, because logs are full of
 * addresses and this is several times faster than copying the text out
 * for inet_pton.
 */
static int
addr_v4_quad(const char *s, size_t len, uint8_t raw[4])
{
	const char	*end = s + len;
	unsigned int	 v;
	int		 part, digits;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (s == end || *s != '.')
				return (-1);
			s++;
		}
		for (v = 0, digits = 0; s < end && *s >= '0' && *s <= '9';
		    s++, digits++) {
			if (digits > 0 && v == 0)	/* leading zero */
				return (-1);
			v = v * 10 + (unsigned int)(*s - '0');
			if (v > 255)
				return (-1);
		}
		if (digits == 0)
			return (-1);
		raw[part] = (uint8_t)v;
	}
	return (s == end ? 0 : -1);
}

/* Each hex digit's value plus one, 0 for other bytes: a lookup, not
 * branches that mispredict on every mix of digits and letters. */
static const uint8_t addr_xdigit1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
	['E'] = 15, ['F'] = 16,
};

/*
 * IPv6 text, as strictly as inet_pton(3) reads it: up to eight groups of
 * one to four hex digits separated by colons, one "::" standing for one
 * or more groups of zeros, a dotted quad in place of the last two groups,
 * nothing else.  By hand for the reason of addr_v4_quad(): inet_pton
 * wants a copy with a NUL, 37 ns with it for "2001:db8:x:y::z" against
 * 25 ns here, and a third of an ejabberd log's addresses may be IPv6.
 */
static int
addr_v6_text(const char *s, size_t len, uint8_t out[16])
{
	const char	*p = s, *end = s + len, *grp;
	uint8_t		 tmp[16];
	unsigned int	 v;
	int		 n = 0, gap = -1, digits, d;

	if (len >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 0;
		p += 2;
	}
	while (p < end) {
		grp = p;
		for (v = 0, digits = 0; p < end &&
		    (d = addr_xdigit1[(unsigned char)*p] - 1) >= 0; p++) {
			if (++digits > 4)
				return (-1);
			v = v << 4 | (unsigned int)d;
		}
		if (p < end && *p == '.') {
			/* The last 32 bits, to the end of the text. */
			if (n > 6 || addr_v4_quad(grp, (size_t)(end - grp),
			    tmp + 2 * n) == -1)
				return (-1);
			n += 2;
			break;
		}
		if (digits == 0 || n == 8)
			return (-1);
		tmp[2 * n] = (uint8_t)(v >> 8);
		tmp[2 * n + 1] = (uint8_t)v;
		n++;
		if (p == end)
			break;
		if (*p++ != ':' || p == end)	/* no text may end in ':' */
			return (-1);
		if (*p == ':') {
			if (gap >= 0)
				return (-1);
			gap = n;
			p++;
		}
	}
	if (gap < 0) {
		if (n != 8)
			return (-1);
		memcpy(out, tmp, 16);
		return (0);
	}
	if (n == 8)		/* "::" stands for at least one group */
		return (-1);
	memset(out, 0, 16);
	memcpy(out, tmp, (size_t)(2 * gap));
	memcpy(out + 16 - 2 * (n - gap), tmp + 2 * gap,
	    (size_t)(2 * (n - gap)));
	return (0);
}

static int
addr_parse_host(const char *s, size_t len, int allow_zone, struct addr *a)
{
	uint8_t		 raw[16];
	const char	*pct;

	if (memchr(s, ':', len) == NULL) {
		if (addr_v4_quad(s, len, raw) == -1)
			return (-1);
		addr_from_v4(a, raw);
		return (0);
	}
	/* The common IPv4-mapped spelling, "::ffff:192.0.2.1". */
	if (len > 7 && strncasecmp(s, "::ffff:", 7) == 0 &&
	    memchr(s + 7, ':', len - 7) == NULL) {
		if (addr_v4_quad(s + 7, len - 7, raw) == -1)
			return (-1);
		addr_from_v4(a, raw);
		return (0);
	}
	if ((pct = memchr(s, '%', len)) != NULL) {
		if (!allow_zone ||
		    !addr_zone_ok(pct + 1, len - (size_t)(pct - s) - 1))
			return (-1);
		len = (size_t)(pct - s);
	}
	if (addr_v6_text(s, len, raw) == -1)
		return (-1);
	addr_from_v6(a, raw);
	return (0);
}

/*
 * The spellings accepted, and why each is read the way it is:
 *
 *	ADDR		IPv4 dotted quad, or IPv6 (mapped: stored as IPv4)
 *	ADDR%ZONE	IPv6 with a zone, which is dropped
 *	IPV4:PORT	one colon can only be a port
 *	[ADDR]		brackets around either family (a zone inside
 *	[ADDR]:PORT	for IPv6)
 *
 * Unbracketed IPv6 never carries a port: "2001:db8::1:5222" is a valid
 * address, so reading a port off its end would be a guess.  Brackets are
 * accepted around IPv4 as well, with or without a port, because some
 * servers print "[192.0.2.1]:5222" and a bracketed string has only one
 * reading.  A port is 1..65535 in decimal; 0 is no port at all.
 * "hidden_by_ejabberd" and "?" (ejabberd's "no address") fail like any
 * other text that is not an address.
 *
 * *a and *port are written only on success.
 */
int
addr_parse_n(const char *s, size_t len, struct addr *a, uint16_t *port)
{
	struct addr	 tmp;
	const char	*host, *colon, *rb, *end;
	size_t		 hostlen;
	unsigned int	 pnum = 0;
	int		 has_port = 0;

	if (len == 0 || len > ADDR_INPUT_MAX || memchr(s, '\0', len) != NULL)
		return (-1);
	end = s + len;

	if (s[0] == '[') {
		if ((rb = memchr(s, ']', len)) == NULL)
			return (-1);
		host = s + 1;
		hostlen = (size_t)(rb - host);
		if (rb + 1 != end) {
			if (rb[1] != ':')
				return (-1);
			if (addr_parse_dec(rb + 2, (size_t)(end - rb - 2),
			    65535, &pnum) == -1)
				return (-1);
			has_port = 1;
		}
	} else {
		host = s;
		hostlen = len;
		/* Exactly one colon: IPv4 and a port.  More: IPv6. */
		if ((colon = memchr(s, ':', len)) != NULL &&
		    memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
			hostlen = (size_t)(colon - s);
			if (addr_parse_dec(colon + 1,
			    (size_t)(end - colon - 1), 65535, &pnum) == -1)
				return (-1);
			has_port = 1;
		}
	}

	if (has_port && (pnum == 0 || port == NULL))
		return (-1);
	/* Unbracketed with a port, host has no colon, so it must be IPv4. */
	if (addr_parse_host(host, hostlen, 1, &tmp) == -1)
		return (-1);

	*a = tmp;
	if (port != NULL)
		*port = (uint16_t)pnum;
	return (0);
}

int
addr_parse(const char *s, struct addr *a, uint16_t *port)
{
	/* strnlen: a hostile string is not scanned past what could fit. */
	return (addr_parse_n(s, strnlen(s, ADDR_INPUT_MAX + 1), a, port));
}

/* Zeroes every bit of bytes past the first len. */
static void
addr_clear_host_bits(uint8_t *bytes, int nbytes, int len)
{
	int	i;

	for (i = len / 8; i < nbytes; i++) {
		if (i == len / 8 && len % 8 != 0)
			bytes[i] &= (uint8_t)(0xff << (8 - len % 8));
		else
			bytes[i] = 0;
	}
}

/*
 * Configuration spells prefixes plainly: an address without brackets,
 * port or zone, and a decimal length.  A mapped IPv6 prefix becomes the
 * IPv4 prefix it covers ("::ffff:10.0.0.0/104" is 10.0.0.0/8), following
 * the rule that mapped addresses are IPv4; one shorter than /96 would also
 * cover real IPv6 space and is refused as meaningless.
 */
int
addr_prefix_parse(const char *s, struct prefix *p, int allow_host_bits)
{
	struct prefix	 tmp;
	struct addr	 full;
	const char	*slash;
	size_t		 len, alen;
	unsigned int	 plen;
	int		 textmax, max;

	len = strnlen(s, ADDR_INPUT_MAX + 1);
	if (len > ADDR_INPUT_MAX)
		return (-1);
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;

	memset(&tmp, 0, sizeof(tmp));
	if (addr_parse_host(s, alen, 0, &tmp.addr) == -1)
		return (-1);
	textmax = memchr(s, ':', alen) != NULL ? 128 : 32;
	max = addr_maxlen(&tmp.addr);

	if (slash == NULL)
		plen = (unsigned int)textmax;
	else if (addr_parse_dec(slash + 1, len - alen - 1,
	    (unsigned int)textmax, &plen) == -1)
		return (-1);
	if (textmax != max) {
		/* Written mapped, stored as IPv4. */
		if (plen < 96)
			return (-1);
		plen -= 96;
	}

	full = tmp.addr;
	addr_clear_host_bits(tmp.addr.bytes, max / 8, (int)plen);
	if (!allow_host_bits && !addr_eq(&full, &tmp.addr))
		return (-1);
	tmp.len = (uint8_t)plen;
	*p = tmp;
	return (0);
}

/*
 * Copies text into buf, cut to fit and always terminated.  The printers
 * format into a local buffer of full size and copy from it, so that a
 * short buf is cut cleanly whatever inet_ntop leaves behind on failure.
 */
static char *
addr_copy_out(char *buf, size_t size, const char *text)
{
	size_t	n;

	if (size == 0)
		return (buf);
	n = strlen(text);
	if (n >= size)
		n = size - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return (buf);
}

char *
addr_ntop(const struct addr *a, char *buf, size_t size)
{
	char	tmp[ADDR_STRLEN];

	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    inet_ntop(a->family, a->bytes, tmp, sizeof(tmp)) == NULL)
		strcpy(tmp, "?");
	return (addr_copy_out(buf, size, tmp));
}

char *
addr_prefix_ntop(const struct prefix *p, char *buf, size_t size)
{
	char	host[ADDR_STRLEN], tmp[ADDR_PREFIX_STRLEN];

	addr_ntop(&p->addr, host, sizeof(host));
	snprintf(tmp, sizeof(tmp), "%s/%u", host, (unsigned int)p->len);
	return (addr_copy_out(buf, size, tmp));
}

/* Orders no address, then IPv4, then IPv6, whatever the AF_ values are. */
static int
addr_family_rank(uint8_t family)
{
	switch (family) {
	case AF_INET:
		return (1);
	case AF_INET6:
		return (2);
	}
	return (0);
}

int
addr_cmp(const struct addr *a, const struct addr *b)
{
	int	r, ra, rb;

	ra = addr_family_rank(a->family);
	rb = addr_family_rank(b->family);
	if (ra != rb)
		return (ra < rb ? -1 : 1);
	if (a->family != b->family)
		return (a->family < b->family ? -1 : 1);
	r = memcmp(a->bytes, b->bytes, sizeof(a->bytes));
	return ((r > 0) - (r < 0));
}

int
addr_eq(const struct addr *a, const struct addr *b)
{
	return (a->family == b->family &&
	    memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0);
}

int
addr_maxlen(const struct addr *a)
{
	switch (a->family) {
	case AF_INET:
		return (32);
	case AF_INET6:
		return (128);
	}
	return (0);
}

void
addr_mask(const struct addr *a, int len, struct prefix *out)
{
	struct addr	tmp = *a;	/* out may contain a */
	int		max = addr_maxlen(a);

	if (len < 0)
		len = 0;
	if (len > max)
		len = max;
	memset(out, 0, sizeof(*out));
	out->addr = tmp;
	addr_clear_host_bits(out->addr.bytes, sizeof(out->addr.bytes), len);
	out->len = (uint8_t)len;
}

int
addr_prefix_contains(const struct prefix *p, const struct addr *a)
{
	int	nbytes, rem;

	if (a->family != p->addr.family || a->family == 0 ||
	    p->len > addr_maxlen(a))
		return (0);
	nbytes = p->len / 8;
	rem = p->len % 8;
	if (memcmp(a->bytes, p->addr.bytes, (size_t)nbytes) != 0)
		return (0);
	if (rem != 0 && ((a->bytes[nbytes] ^ p->addr.bytes[nbytes]) &
	    (uint8_t)(0xff << (8 - rem))) != 0)
		return (0);
	return (1);
}

/*
 * Tables keyed by address are filled by whoever connects: with an unkeyed
 * hash an attacker could pick addresses (a /64 alone offers 2^64) that all
 * land in one bucket and turn every lookup into a long walk.  SipHash
 * (siphash.c) under a key spread from the seed makes the buckets
 * unpredictable.  The key is only as strong as the 32-bit seed the
 * interface passes; that is enough here because the hash values never
 * leave the process, so an attacker has no output to search the seed
 * space against.
 */
uint32_t
addr_hash(const struct addr *a, uint32_t seed)
{
	struct siphash_key	k;
	uint8_t			m[1 + sizeof(a->bytes)];
	uint64_t		h;

	m[0] = a->family;
	memcpy(m + 1, a->bytes, sizeof(a->bytes));
	siphash_key_seed(&k, seed);
	h = siphash24(&k, m, sizeof(m));
	return ((uint32_t)(h ^ (h >> 32)));
}

int
addr_is_loopback(const struct addr *a)
{
	static const uint8_t	v6[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	};

	switch (a->family) {
	case AF_INET:
		return (a->bytes[0] == 127);
	case AF_INET6:
		return (memcmp(a->bytes, v6, sizeof(v6)) == 0);
	}
	return (0);
}

int
addr_is_linklocal(const struct addr *a)
{
	switch (a->family) {
	case AF_INET:
		return (a->bytes[0] == 169 && a->bytes[1] == 254);
	case AF_INET6:
		return (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80);
	}
	return (0);
}

int
addr_is_unspecified(const struct addr *a)
{
	static const uint8_t	zero[16];

	if (a->family != AF_INET && a->family != AF_INET6)
		return (0);
	/* The unused bytes of IPv4 are zero, so one test serves both. */
	return (memcmp(a->bytes, zero, sizeof(zero)) == 0);
}
