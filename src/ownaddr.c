/*
 * The host's own addresses.
 *
 * The ban table, the firewall layer's never-a-weapon check, the conntrack
 * flow table and the privileged helper all ask "is this one of ours?",
 * and an address can appear at any time (SLAAC, a DHCP lease, a new
 * virtual IP), so the answer comes from one live list rather than from a
 * snapshot each module takes when it starts.
 *
 * The list is an array of (address, interface index) pairs, sorted by
 * address (addr_cmp: IPv4 before IPv6, then bytes) and then by index, so
 * one address held by two interfaces is two entries and stays one of ours
 * until both let go.  Lookups are binary searches: an address is ours if
 * its lower bound is equal to it; a prefix holds one of ours if the lower
 * bound of its network address lies inside it, since the addresses of a
 * prefix are contiguous in that order.  No fixed cap: the array doubles.
 * Changes are rare, so an insertion or removal moving the tail is fine.
 *
 * Netlink (libmnl): one socket subscribed to RTNLGRP_IPV4_IFADDR and
 * RTNLGRP_IPV6_IFADDR, read from the event loop (or drained on demand by
 * ownaddr_sync() in the helper, which has no loop).  The socket subscribes
 * before the first dump, which goes out on a second, short-lived socket:
 * a change that races the dump is then also queued as a notification and
 * applied after it, and since every notification is idempotent (a NEWADDR
 * for a pair already there, a DELADDR for one gone: nothing), the list
 * ends as the kernel's, whatever the interleaving (even a dump the kernel
 * flags as interrupted).  That holds only if no notification is lost: on
 * ENOBUFS (the socket overflowed) everything queued is thrown away first,
 * then the list is dumped again and the difference told to the callback.
 * A NEWADDR also arrives for changes of flags or lifetimes of an address
 * already known: the pair is there, nothing happens.
 *
 * IFA_LOCAL is the address of the interface where it is present (IPv4; a
 * point-to-point link's IFA_ADDRESS is the peer's), else IFA_ADDRESS.
 * Tentative IPv6 addresses count: not banning a moment too early is the
 * safe side.
 */
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "addr.h"
#include "clock.h"
#include "log.h"
#include "loop.h"
#include "nldrop.h"
#include "ownaddr.h"
#include "xmalloc.h"

#define OWNADDR_BUF	32768		/* a dump's message batches fit */
#define OWNADDR_BUDGET	4096		/* reads per callback or sync */
#define OWNADDR_RCVBUF	(1024 * 1024)

struct ownaddr_ent {
	struct addr	 a;
	uint32_t	 ifindex;
};

/* A sorted array of pairs. */
struct ownaddr_vec {
	struct ownaddr_ent *v;
	size_t		 n, cap;
};

struct ownaddr {
	struct ownaddr_vec list;
	struct mnl_socket *nl;		/* notifications; NULL: fixed */
	struct loop	*loop;		/* NULL: read by ownaddr_sync() */
	ownaddr_cb	 cb;
	void		*arg;
	int		 reading;	/* inside a read: no re-entry */
	uint64_t	 resyncs;	/* dumps again after an overflow */
	struct nldrop	 drops;		/* the kernel's count for nl */
	struct log_ratelimit rl;
};

/*
 * The sorted array.
 */
static int
ownaddr_ent_cmp(const struct ownaddr_ent *x, const struct addr *a,
    uint32_t ifindex)
{
	int	c;

	if ((c = addr_cmp(&x->a, a)) != 0)
		return c;
	return x->ifindex < ifindex ? -1 : x->ifindex > ifindex;
}

/* The first place whose pair is not below (a, ifindex). */
static size_t
ownaddr_lower(const struct ownaddr_vec *vec, const struct addr *a,
    uint32_t ifindex)
{
	size_t	lo = 0, hi = vec->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ownaddr_ent_cmp(&vec->v[mid], a, ifindex) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* 1 if the address at place k is held by no other pair. */
static int
ownaddr_alone(const struct ownaddr_vec *vec, size_t k)
{
	return (k == 0 || !addr_eq(&vec->v[k - 1].a, &vec->v[k].a)) &&
	    (k + 1 >= vec->n || !addr_eq(&vec->v[k + 1].a, &vec->v[k].a));
}

/* Adds a pair: 1 if the address is new to the list, else 0. */
static int
ownaddr_vec_add(struct ownaddr_vec *vec, const struct addr *a,
    uint32_t ifindex)
{
	size_t	k = ownaddr_lower(vec, a, ifindex);

	if (k < vec->n && ownaddr_ent_cmp(&vec->v[k], a, ifindex) == 0)
		return 0;
	if (vec->n == vec->cap) {
		vec->cap = vec->cap == 0 ? 16 : vec->cap * 2;
		vec->v = xreallocarray(vec->v, vec->cap, sizeof(*vec->v));
	}
	memmove(vec->v + k + 1, vec->v + k, (vec->n - k) * sizeof(*vec->v));
	vec->v[k].a = *a;
	vec->v[k].ifindex = ifindex;
	vec->n++;
	return ownaddr_alone(vec, k);
}

/* Removes a pair: 1 if the address left the list with it, else 0. */
static int
ownaddr_vec_del(struct ownaddr_vec *vec, const struct addr *a,
    uint32_t ifindex)
{
	size_t	k = ownaddr_lower(vec, a, ifindex);
	int	last;

	if (k == vec->n || ownaddr_ent_cmp(&vec->v[k], a, ifindex) != 0)
		return 0;
	last = ownaddr_alone(vec, k);
	memmove(vec->v + k, vec->v + k + 1, (vec->n - k - 1) *
	    sizeof(*vec->v));
	vec->n--;
	return last;
}

static void
ownaddr_tell(struct ownaddr *o, const struct addr *a,
    enum ownaddr_change what)
{
	char	buf[ADDR_STRLEN];

	log_debug("ownaddr: %s %s", addr_ntop(a, buf, sizeof(buf)),
	    what == OWNADDR_ADDED ? "is one of this host's addresses now" :
	    "is no longer one of this host's addresses");
	if (o->cb != NULL)
		o->cb(a, what, o->arg);
}

/*
 * The list becomes next (taken over); the callback hears of every address
 * that came or went, walking both sorted arrays once.
 */
static void
ownaddr_replace(struct ownaddr *o, struct ownaddr_vec *next)
{
	struct ownaddr_vec	 old = o->list;
	size_t			 i = 0, j = 0;
	int			 c;

	o->list = *next;
	memset(next, 0, sizeof(*next));
	while (i < old.n || j < o->list.n) {
		if (i == old.n)
			c = 1;
		else if (j == o->list.n)
			c = -1;
		else
			c = addr_cmp(&old.v[i].a, &o->list.v[j].a);
		if (c < 0)
			ownaddr_tell(o, &old.v[i].a, OWNADDR_REMOVED);
		else if (c > 0)
			ownaddr_tell(o, &o->list.v[j].a, OWNADDR_ADDED);
		/* Past every pair of the address just compared. */
		if (c <= 0) {
			while (i + 1 < old.n && addr_eq(&old.v[i + 1].a,
			    &old.v[i].a))
				i++;
			i++;
		}
		if (c >= 0) {
			while (j + 1 < o->list.n && addr_eq(
			    &o->list.v[j + 1].a, &o->list.v[j].a))
				j++;
			j++;
		}
	}
	free(old.v);
}

/*
 * Netlink messages.
 */

/*
 * One RTM_NEWADDR or RTM_DELADDR: 1 (new) or 0 (gone), with the address
 * and its interface; -1 for any other message, another family, or one
 * without an address of the family's length.
 */
static int
ownaddr_parse(const struct nlmsghdr *nlh, struct addr *a, uint32_t *ifindex)
{
	const struct ifaddrmsg	*ifa;
	struct nlattr		*attr;		/* not const: mnl_attr_for_each casts */
	const void		*local = NULL, *address = NULL, *p;
	uint16_t		 len;

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return -1;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -1;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family == AF_INET)
		len = 4;
	else if (ifa->ifa_family == AF_INET6)
		len = 16;
	else
		return -1;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_payload_len(attr) != len)
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = mnl_attr_get_payload(attr);
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = mnl_attr_get_payload(attr);
	}
	if ((p = local != NULL ? local : address) == NULL)
		return -1;
	if (len == 4)
		addr_from_v4(a, p);
	else
		addr_from_v6(a, p);
	*ifindex = ifa->ifa_index;
	return nlh->nlmsg_type == RTM_NEWADDR;
}

/* A dump's message: into the vector being built. */
static int
ownaddr_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct addr	a;
	uint32_t	ifindex;

	if (ownaddr_parse(nlh, &a, &ifindex) == 1)
		(void)ownaddr_vec_add(arg, &a, ifindex);
	return MNL_CB_OK;
}

/* A notification: into the list, the callback told. */
static int
ownaddr_note_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ownaddr	*o = arg;
	struct addr	 a;
	uint32_t	 ifindex;

	switch (ownaddr_parse(nlh, &a, &ifindex)) {
	case 1:
		if (ownaddr_vec_add(&o->list, &a, ifindex))
			ownaddr_tell(o, &a, OWNADDR_ADDED);
		break;
	case 0:
		if (ownaddr_vec_del(&o->list, &a, ifindex))
			ownaddr_tell(o, &a, OWNADDR_REMOVED);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* Every address of the host into vec (empty on entry): 0, or -1 and
 * *cause. */
static int
ownaddr_dump(struct ownaddr_vec *vec, char **cause)
{
	struct mnl_socket	*nl;
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;
	uint8_t			*buf;
	uint32_t		 seq, portid;
	ssize_t			 n;
	int			 rc = MNL_CB_OK;

	if ((nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		*cause = xasprintf("rtnetlink: %s", strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return -1;
	}
	buf = xmalloc(OWNADDR_BUF);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq = (uint32_t)time(NULL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) == -1)
		n = -1;
	else
		while ((n = mnl_socket_recvfrom(nl, buf, OWNADDR_BUF)) > 0 &&
		    (rc = mnl_cb_run(buf, (size_t)n, seq, portid,
		    ownaddr_dump_cb, vec)) > MNL_CB_STOP)
			continue;
	free(buf);
	mnl_socket_close(nl);
	if (n == -1 || rc == MNL_CB_ERROR) {
		*cause = xasprintf("rtnetlink: address dump: %s",
		    strerror(errno));
		free(vec->v);
		memset(vec, 0, sizeof(*vec));
		return -1;
	}
	return 0;
}

/*
 * Reads what is queued on the notification socket, at most OWNADDR_BUDGET
 * datagrams; apply 0 throws it away (before a dump again).  0 once the
 * socket is empty or the budget spent, -1 on ENOBUFS (something was
 * lost), -2 on any other error.
 */
static int
ownaddr_read(struct ownaddr *o, uint8_t *buf, int apply)
{
	ssize_t	n;
	int	k;

	for (k = 0; k < OWNADDR_BUDGET; k++) {
		n = recv(mnl_socket_get_fd(o->nl), buf, OWNADDR_BUF,
		    MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return errno == ENOBUFS ? -1 : -2;
		}
		if (apply)
			(void)mnl_cb_run(buf, (size_t)n, 0, 0,
			    ownaddr_note_cb, o);
	}
	return 0;
}

/* Notifications were lost: drop what is queued, dump again. */
static int
ownaddr_resync(struct ownaddr *o, uint8_t *buf)
{
	struct ownaddr_vec	 next;
	char			*cause;

	(void)ownaddr_read(o, buf, 0);
	(void)nldrop_update(&o->drops);
	memset(&next, 0, sizeof(next));
	if (ownaddr_dump(&next, &cause) == -1) {
		if (log_ratelimit_ok(&o->rl, clock_monotonic()))
			log_warnx("ownaddr: %s; the list stays as it was",
			    cause);
		free(cause);
		return -1;
	}
	o->resyncs++;
	if (log_ratelimit_ok(&o->rl, clock_monotonic()))
		log_warnx("ownaddr: address notifications lost (socket "
		    "overflow); read the %zu addresses again", next.n);
	ownaddr_replace(o, &next);
	return 0;
}

int
ownaddr_sync(struct ownaddr *o)
{
	uint8_t	*buf;
	int	 rc, tries;

	if (o->nl == NULL || o->reading)
		return 0;
	o->reading = 1;
	buf = xmalloc(OWNADDR_BUF);
	/* An overflow while dumping again is dealt with the same way, a
	 * bounded number of times. */
	for (tries = 0; (rc = ownaddr_read(o, buf, 1)) == -1 && tries < 3;
	    tries++)
		if (ownaddr_resync(o, buf) == -1)
			break;
	if (rc == -2 && log_ratelimit_ok(&o->rl, clock_monotonic()))
		log_warn("ownaddr: rtnetlink");
	free(buf);
	o->reading = 0;
	return rc == 0 ? 0 : -1;
}

static void
ownaddr_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)ownaddr_sync(arg);
}

/*
 * The list.
 */
struct ownaddr *
ownaddr_open(struct loop *loop, char **cause)
{
	static const unsigned int groups[] = { RTNLGRP_IPV4_IFADDR,
	    RTNLGRP_IPV6_IFADDR };
	struct ownaddr	*o;
	size_t		 i;
	int		 size = OWNADDR_RCVBUF;

	o = xcalloc(1, sizeof(*o));
	o->rl.interval_us = 60 * CLOCK_US_PER_SEC;
	nldrop_init(&o->drops, -1);
	/* Subscribed first, dumped second: see the top of the file. */
	if ((o->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) == NULL ||
	    mnl_socket_bind(o->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		*cause = xasprintf("rtnetlink: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (mnl_socket_setsockopt(o->nl, NETLINK_ADD_MEMBERSHIP,
		    (void *)(uintptr_t)&groups[i], sizeof(groups[i])) == -1) {
			*cause = xasprintf("rtnetlink: address notifications: "
			    "%s", strerror(errno));
			goto fail;
		}
	(void)setsockopt(mnl_socket_get_fd(o->nl), SOL_SOCKET, SO_RCVBUF,
	    &size, sizeof(size));
	nldrop_init(&o->drops, mnl_socket_get_fd(o->nl));
	if (ownaddr_dump(&o->list, cause) == -1)
		goto fail;
	/* What changed meanwhile: the dump's races, see above. */
	(void)ownaddr_sync(o);
	if (loop != NULL && loop_fd_add(loop, mnl_socket_get_fd(o->nl),
	    LOOP_READ, ownaddr_read_cb, o) == -1) {
		*cause = xasprintf("loop: %s", strerror(errno));
		goto fail;
	}
	o->loop = loop;
	return o;
fail:
	ownaddr_free(o);
	return NULL;
}

struct ownaddr *
ownaddr_fixed(const struct addr *a, size_t n)
{
	struct ownaddr	*o;
	size_t		 i;

	o = xcalloc(1, sizeof(*o));
	nldrop_init(&o->drops, -1);
	for (i = 0; i < n; i++)
		(void)ownaddr_vec_add(&o->list, &a[i], 0);
	return o;
}

uint64_t
ownaddr_dropped(const struct ownaddr *o)
{
	return nldrop_total(&o->drops);
}

void
ownaddr_free(struct ownaddr *o)
{
	if (o == NULL)
		return;
	if (o->nl != NULL) {
		if (o->loop != NULL)
			(void)loop_fd_del(o->loop, mnl_socket_get_fd(o->nl));
		mnl_socket_close(o->nl);
	}
	free(o->list.v);
	free(o);
}

void
ownaddr_set_cb(struct ownaddr *o, ownaddr_cb cb, void *arg)
{
	o->cb = cb;
	o->arg = arg;
}

void
ownaddr_set(struct ownaddr *o, const struct addr *a, int on)
{
	if (on ? ownaddr_vec_add(&o->list, a, 0) :
	    ownaddr_vec_del(&o->list, a, 0))
		ownaddr_tell(o, a, on ? OWNADDR_ADDED : OWNADDR_REMOVED);
}

int
ownaddr_is(const struct ownaddr *o, const struct addr *a)
{
	size_t	k = ownaddr_lower(&o->list, a, 0);

	return k < o->list.n && addr_eq(&o->list.v[k].a, a);
}

int
ownaddr_within(const struct ownaddr *o, const struct prefix *p,
    struct addr *found)
{
	const struct addr	*a;
	size_t			 k = ownaddr_lower(&o->list, &p->addr, 0);

	if (k == o->list.n)
		return 0;
	a = &o->list.v[k].a;
	if (a->family != p->addr.family || !addr_prefix_contains(p, a))
		return 0;
	if (found != NULL)
		*found = *a;
	return 1;
}

size_t
ownaddr_count(const struct ownaddr *o)
{
	size_t	i, n = 0;

	for (i = 0; i < o->list.n; i++)
		n += i == 0 || !addr_eq(&o->list.v[i - 1].a, &o->list.v[i].a);
	return n;
}
