/*
 * Ending a banned address's live sessions, for the kernel backends.
 *
 * A ban that only drops new packets leaves an XMPP session standing:
 * sessions last hours, and neither end hears of the ban until its own
 * timeouts (minutes of retransmission into the drop rule).  So a ban also
 * ends them, two ways.  The conntrack entries of the prefix's connections
 * to the watched ports are deleted (libnetfilter_conntrack), which the
 * conntrack source sees as their end.  And the local sockets of those
 * connections are destroyed (sock_diag SOCK_DESTROY, what `ss -K` does;
 * Linux with INET_DIAG_DESTROY): the server sees the connection fail at
 * once and the kernel sends the client a reset, which leaves through the
 * output path that the ban does not filter.  Servers in other network
 * namespaces (containers) keep their sockets: only the conntrack part
 * reaches them.  "Nothing to delete" is success.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "addr.h"
#include "clock.h"
#include "fw.h"
#include "fw_int.h"
#include "log.h"
#include "xmalloc.h"

#define FW_KILL_DIAG_BUF	(64 * 1024)

/* State of one kill. */
struct fw_kill_state {
	const struct fw		*fw;
	const struct prefix	*prefix;
	enum fw_scope		 scope;
	struct nfct_handle	*del;
	uint64_t		 deleted;
	int			 error;		/* errno of a failed delete */
};

/* 1 if a connection to port is one a kill of scope ends: the ports a
 * ban of that scope drops (fw_scope_ports(); none listed: every port). */
static int
fw_kill_port_ok(const struct fw *fw, enum fw_scope scope, uint16_t port)
{
	const uint16_t	*ports;
	int		 i, n;

	if ((n = fw_scope_ports(fw, scope, &ports)) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

/* A dumped conntrack entry: deleted if its source is in the prefix. */
static int
fw_kill_ct_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *obj,
    void *arg)
{
	struct fw_kill_state	*k = arg;
	struct addr		 src;
	const uint16_t		*ports;
	uint8_t			 proto;

	(void)type;
	if (!nfct_attr_is_set(obj, ATTR_L3PROTO) ||
	    !nfct_attr_is_set(obj, ATTR_L4PROTO))
		return NFCT_CB_CONTINUE;
	if (nfct_get_attr_u8(obj, ATTR_L3PROTO) == AF_INET &&
	    nfct_attr_is_set(obj, ATTR_ORIG_IPV4_SRC))
		addr_from_v4(&src, nfct_get_attr(obj, ATTR_ORIG_IPV4_SRC));
	else if (nfct_get_attr_u8(obj, ATTR_L3PROTO) == AF_INET6 &&
	    nfct_attr_is_set(obj, ATTR_ORIG_IPV6_SRC))
		addr_from_v6(&src, nfct_get_attr(obj, ATTR_ORIG_IPV6_SRC));
	else
		return NFCT_CB_CONTINUE;
	if (src.family != k->prefix->addr.family ||
	    !addr_prefix_contains(k->prefix, &src))
		return NFCT_CB_CONTINUE;
	/* The watched ports are TCP; with every port banned, everything. */
	proto = nfct_get_attr_u8(obj, ATTR_L4PROTO);
	if (fw_scope_ports(k->fw, k->scope, &ports) != 0) {
		if (proto != IPPROTO_TCP ||
		    !nfct_attr_is_set(obj, ATTR_ORIG_PORT_DST) ||
		    !fw_kill_port_ok(k->fw, k->scope, ntohs(nfct_get_attr_u16(
		    obj, ATTR_ORIG_PORT_DST))))
			return NFCT_CB_CONTINUE;
	}
	if (nfct_query(k->del, NFCT_Q_DESTROY, obj) == 0)
		k->deleted++;
	else if (errno != ENOENT)	/* gone meanwhile: fine */
		k->error = errno;
	return NFCT_CB_CONTINUE;
}

/* Deletes the prefix's conntrack entries to the watched ports. */
static int
fw_kill_ct(struct fw *fw, const struct prefix *p, enum fw_scope scope,
    uint64_t *deleted, char **cause)
{
	struct fw_kill_state	 k;
	struct nfct_handle	*dump;
	struct nfct_filter_dump	*fd;
	int			 r;

	memset(&k, 0, sizeof k);
	k.fw = fw;
	k.prefix = p;
	k.scope = scope;
	if ((dump = nfct_open(CONNTRACK, 0)) == NULL ||
	    (k.del = nfct_open(CONNTRACK, 0)) == NULL) {
		*cause = xasprintf("conntrack: %s", strerror(errno));
		if (dump != NULL)
			nfct_close(dump);
		return -1;
	}
	(void)fcntl(nfct_fd(dump), F_SETFD, FD_CLOEXEC);
	(void)fcntl(nfct_fd(k.del), F_SETFD, FD_CLOEXEC);
	nfct_callback_register(dump, NFCT_T_ALL, fw_kill_ct_cb, &k);
	/* The kernel skips the other family for us. */
	if ((fd = nfct_filter_dump_create()) == NULL)
		fatal("nfct_filter_dump_create");
	nfct_filter_dump_set_attr_u8(fd, NFCT_FILTER_DUMP_L3NUM,
	    p->addr.family);
	r = nfct_query(dump, NFCT_Q_DUMP_FILTER, fd);
	nfct_filter_dump_destroy(fd);
	if (r == -1)
		*cause = xasprintf("conntrack dump: %s", strerror(errno));
	else if (k.error != 0) {
		*cause = xasprintf("conntrack delete: %s", strerror(k.error));
		r = -1;
	}
	nfct_close(k.del);
	nfct_close(dump);
	*deleted = k.deleted;
	return r == -1 ? -1 : 0;
}

/* Destroys one socket, named by its full id and cookie; 0 or -1. */
static int
fw_kill_sock_destroy(int fd, const struct inet_diag_msg *d)
{
	struct {
		struct nlmsghdr		 nlh;
		struct inet_diag_req_v2	 req;
	} msg;
	struct {
		struct nlmsghdr		 nlh;
		struct nlmsgerr		 err;
	} ack;
	struct sockaddr_nl	 nladdr = { .nl_family = AF_NETLINK };
	ssize_t			 n;

	memset(&msg, 0, sizeof msg);
	msg.nlh.nlmsg_len = sizeof msg;
	msg.nlh.nlmsg_type = SOCK_DESTROY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	msg.req.sdiag_family = d->idiag_family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = 1U << d->idiag_state;
	msg.req.id = d->id;
	if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&nladdr,
	    sizeof nladdr) == -1)
		return -1;
	/* The ack echoes the request's header only (not capped: small). */
	do
		n = recv(fd, &ack, sizeof ack, 0);
	while (n == -1 && errno == EINTR);
	if (n < (ssize_t)sizeof ack || ack.nlh.nlmsg_type != NLMSG_ERROR)
		return -1;
	return ack.err.error == 0 ? 0 : -1;
}

/*
 * Destroys this namespace's TCP sockets of family whose peer is in the
 * prefix and whose local port is watched (an IPv4 prefix also matches
 * IPv4-mapped peers of IPv6 sockets).  0, or -1 if the kernel cannot (no
 * INET_DIAG_DESTROY) or netlink failed: best effort, the caller only
 * counts.
 */
static int
fw_kill_sockets_of(struct fw *fw, const struct prefix *p,
    enum fw_scope scope, int family, uint64_t *killed)
{
	struct {
		struct nlmsghdr		 nlh;
		struct inet_diag_req_v2	 req;
	} msg;
	struct sockaddr_nl	 nladdr = { .nl_family = AF_NETLINK };
	struct nlmsghdr		*h;
	struct inet_diag_msg	*d;
	struct addr		 peer;
	char			*buf;
	ssize_t			 len;
	int			 dfd, kfd, done = 0, r = 0;

	if ((dfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	if ((kfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1) {
		close(dfd);
		return -1;
	}
	memset(&msg, 0, sizeof msg);
	msg.nlh.nlmsg_len = sizeof msg;
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	/* Every state with a peer: not LISTEN, not TIME_WAIT (no socket). */
	msg.req.idiag_states = ~((1U << TCP_LISTEN) | (1U << TCP_TIME_WAIT) |
	    (1U << TCP_CLOSE));
	if (sendto(dfd, &msg, sizeof msg, 0, (struct sockaddr *)&nladdr,
	    sizeof nladdr) == -1) {
		close(dfd);
		close(kfd);
		return -1;
	}
	buf = xmalloc(FW_KILL_DIAG_BUF);
	while (!done) {
		if ((len = recv(dfd, buf, FW_KILL_DIAG_BUF, 0)) <= 0) {
			if (len == -1 && errno == EINTR)
				continue;
			r = -1;
			break;
		}
		for (h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h,
		    (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				r = -1;
				done = 1;
				break;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof *d))
				continue;
			d = NLMSG_DATA(h);
			if (family == AF_INET)
				addr_from_v4(&peer, d->id.idiag_dst);
			else
				addr_from_v6(&peer, d->id.idiag_dst);
			if (peer.family != p->addr.family ||
			    !addr_prefix_contains(p, &peer) ||
			    !fw_kill_port_ok(fw, scope,
			    ntohs(d->id.idiag_sport)))
				continue;
			if (fw_kill_sock_destroy(kfd, d) == 0)
				(*killed)++;
		}
	}
	free(buf);
	close(dfd);
	close(kfd);
	return r;
}

int
fw_kill_live(struct fw *fw, const struct prefix *p, enum fw_scope scope,
    char **cause)
{
	uint64_t	 ct = 0, socks = 0;
	int64_t		 t0 = clock_monotonic();

	if (fw_kill_ct(fw, p, scope, &ct, cause) == -1)
		return -1;
	/* Best effort: without INET_DIAG_DESTROY the ban and the conntrack
	 * deletion still stand. */
	(void)fw_kill_sockets_of(fw, p, scope, AF_INET6, &socks);
	if (p->addr.family == AF_INET)
		(void)fw_kill_sockets_of(fw, p, scope, AF_INET, &socks);
	fw->stats.killed += ct > socks ? ct : socks;
	log_debug("fw: kill: %" PRIu64 " conntrack entries, %" PRIu64
	    " sockets in %" PRId64 " us", ct, socks,
	    clock_monotonic() - t0);
	return 0;
}

