/*
 * Addresses and prefixes, IPv4 and IPv6.
 *
 * One representation for both families so that every table keyed by address
 * is family-blind.  IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are always
 * stored as IPv4: the same client must never count as two addresses because
 * one source printed it mapped and another did not.
 */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_STRLEN	46	/* INET6_ADDRSTRLEN: fits any address */
#define ADDR_PREFIX_STRLEN (ADDR_STRLEN + 4)	/* ... plus "/128" */

struct addr {
	uint8_t		family;		/* AF_INET or AF_INET6; 0: none */
	uint8_t		bytes[16];	/* network order; IPv4 uses 4 */
};

struct prefix {
	struct addr	addr;		/* host bits are always zero */
	uint8_t		len;		/* 0..32 for IPv4, 0..128 for IPv6 */
};

/*
 * Parses an address as it appears in logs and configuration:
 * "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" (stored as IPv4),
 * "[2001:db8::1]", "[2001:db8::1]:5222", "192.0.2.1:5222" and
 * "fe80::1%eth0" (zone dropped).  If port is not NULL it receives the port,
 * or 0 when none was given; a port where port is NULL is an error.
 * Returns 0, or -1 if s is not exactly one of these forms.
 */
int	addr_parse(const char *s, struct addr *a, uint16_t *port);

/* As addr_parse, for a string that is not NUL-terminated. */
int	addr_parse_n(const char *s, size_t len, struct addr *a, uint16_t *port);

/*
 * Parses "ADDR" or "ADDR/LEN" into a prefix (host bits must be zero
 * unless allow_host_bits, in which case they are cleared).  A plain
 * address gives a full-length prefix.  Returns 0 or -1.
 */
int	addr_prefix_parse(const char *s, struct prefix *p, int allow_host_bits);

/* Builds from raw bytes (4 or 16 of them). */
void	addr_from_v4(struct addr *, const void *bytes4);
void	addr_from_v6(struct addr *, const void *bytes16); /* unmaps ::ffff: */

/* Prints into buf (ADDR_STRLEN bytes) and returns buf. */
char	*addr_ntop(const struct addr *, char *buf, size_t size);
/* Prints "ADDR/LEN" (ADDR_PREFIX_STRLEN bytes) and returns buf. */
char	*addr_prefix_ntop(const struct prefix *, char *buf, size_t size);

/* Orders IPv4 before IPv6, then bytes; 0 when equal. */
int	addr_cmp(const struct addr *, const struct addr *);
int	addr_eq(const struct addr *, const struct addr *);
/* Maximum prefix length for the address's family (32 or 128). */
int	addr_maxlen(const struct addr *);
/* The prefix of length len containing a (len clamped to the family). */
void	addr_mask(const struct addr *a, int len, struct prefix *out);
/* 1 if a lies inside p (families must agree), else 0. */
int	addr_prefix_contains(const struct prefix *p, const struct addr *a);
/* A hash for tables, seeded so an attacker cannot predict collisions. */
uint32_t addr_hash(const struct addr *, uint32_t seed);

/* Loopback (127/8, ::1), link-local (169.254/16, fe80::/10), unspecified. */
int	addr_is_loopback(const struct addr *);
int	addr_is_linklocal(const struct addr *);
int	addr_is_unspecified(const struct addr *);

#endif /* ADDR_H */
