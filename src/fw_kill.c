/*
 * Ending a banned address's live sessions, for the kernel backends.
 *
 * A ban that only drops new packets leaves an XMPP session standing:
 * sessions last hours, and neither end hears of the ban until its own
 * timeouts (minutes of retransmission into the drop rule).  So a ban also
 * ends them, two ways.  The conntrack entries of the prefix's connections
 * to the watched ports are deleted, which the conntrack source sees as
 * their end.  And the local sockets of those connections are destroyed
 * (sock_diag SOCK_DESTROY, what `ss -K` does; Linux with
 * INET_DIAG_DESTROY): the server sees the connection fail at once and the
 * kernel sends the client a reset, which leaves through the output path
 * that the ban does not filter.  Servers in other network namespaces
 * (containers) keep their sockets: only the conntrack part reaches them.
 * "Nothing to delete" is success.
 *
 * Without scanning.  A storm is thousands of bans in seconds against
 * kernel tables of 100k entries: a dump of both tables per ban froze the
 * loop for seconds.  The daemon already knows every live flow to the
 * watched ports (the conntrack flow table, ctflow.c, indexed by source),
 * so a ban's connections are named by their tuples, and each is ended
 * alone: a conntrack DELETE with the tuple (and the conntrack id, so a
 * newer flow reusing the tuple is spared), a sock_diag lookup of the one
 * socket of that tuple, then its destruction by the socket's cookie (a
 * lookup that finds no connected socket falls back on the listener of the
 * port: the cookie and the state checks make sure a listener is never
 * destroyed).  Requests go in batches of FW_KILL_NLBATCH in one send, and
 * the kernel answers each before the send returns, so the replies are
 * read without waiting.
 *
 * The scan stays for what the flow table cannot name: conntrack off
 * ([conntrack] enabled = no), or a scope wider than the services' ports
 * (all_ports, proxy ports).  It is bounded: one conntrack dump and one
 * sock_diag dump per family for every prefix of a pass, the socket dump
 * filtered in the kernel by an inet_diag bytecode of one condition per
 * prefix on the peer address.
 *
 * Bounded per loop iteration: the queue (struct fw_killq) takes the bans
 * of an iteration after its firewall batch is in the kernel (a client
 * cut before cannot reconnect), and each pass ends at most FW_KILL_BUDGET
 * tuples and scans at most FW_KILL_SCAN_MAX prefixes; the rest waits for
 * the next iteration, so the loop keeps serving events and the control
 * socket while a storm's sessions are cut.
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

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/inet_diag.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "addr.h"
#include "clock.h"
#include "ctflow.h"
#include "fw.h"
#include "fw_int.h"
#include "log.h"
#include "xmalloc.h"

#define FW_KILL_NLBATCH		64	/* requests in one netlink send */
#define FW_KILL_RCVBUF		(1024 * 1024)
#define FW_KILL_DIAG_BUF	(64 * 1024)
#define FW_KILL_QUEUE_MAX	(1U << 20)	/* tuples waiting, at most */
#define FW_KILL_SCAN_TUPLES	65536	/* found by one conntrack dump */

/* A socket to destroy, as the kernel named it (its cookie included). */
struct fw_kill_sock {
	uint8_t			 family;
	struct inet_diag_sockid	 id;
};

/* The queue: tuples to end, prefixes to scan for. */
struct fw_killq {
	struct fw_kill_tuple	*t;	/* [head, n) wait */
	size_t			 head, n, cap;
	struct fw_op		*scan;	/* prefix and scope of each */
	size_t			 nscan, scancap;
	uint64_t		 done;	/* tuples handed to the kernel */
	uint64_t		 dropped;	/* the queue was full */
};

/* What a scan's conntrack dump collects. */
struct fw_kill_scan {
	const struct fw		*fw;
	const struct fw_op	*ops;
	size_t			 nops;
	struct fw_kill_tuple	*t;
	size_t			 n, cap;
};

/* 1 if a connection to port is one a kill of scope ends: the ports a
 * ban of that scope drops (fw_scope_ports(); none listed: every port). */
int
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

/*
 * 1 if the flow table knows every connection a kill of scope ends: the
 * scope names ports, and each is a service's (the table follows those).
 */
static int
fw_kill_flows_cover(const struct fw *fw, enum fw_scope scope)
{
	const uint16_t	*ports;
	int		 i, j, n;

	if ((n = fw_scope_ports(fw, scope, &ports)) == 0)
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < fw->nports; j++)
			if (fw->ports[j] == ports[i])
				break;
		if (j == fw->nports)
			return 0;
	}
	return 1;
}

/*
 * Conntrack: DELETE by tuple.
 */

/* One DELETE request for tuple t into the batch; -1 if it is full. */
static int
fw_kill_ct_put(struct mnl_nlmsg_batch *b, const struct fw_kill_tuple *t,
    uint32_t seq)
{
	struct nf_conntrack	*ct;
	struct nlmsghdr		*nlh;
	struct nfgenmsg		*nfg;
	int			 family = t->src.family;

	if ((ct = nfct_new()) == NULL)
		fatal("nfct_new");
	nfct_set_attr_u8(ct, ATTR_L3PROTO, (uint8_t)family);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
	if (family == AF_INET) {
		nfct_set_attr(ct, ATTR_ORIG_IPV4_SRC, t->src.bytes);
		nfct_set_attr(ct, ATTR_ORIG_IPV4_DST, t->dst.bytes);
	} else {
		nfct_set_attr(ct, ATTR_ORIG_IPV6_SRC, t->src.bytes);
		nfct_set_attr(ct, ATTR_ORIG_IPV6_DST, t->dst.bytes);
	}
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(t->sport));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(t->dport));
	/* The kernel compares it: a newer flow on the same tuple stays. */
	if (t->id != 0)
		nfct_set_attr_u32(ct, ATTR_ID, t->id);

	nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (nfct_nlmsg_build(nlh, ct) == -1) {
		nfct_destroy(ct);
		return 0;		/* skipped: nothing sent for it */
	}
	nfct_destroy(ct);
	return mnl_nlmsg_batch_next(b) ? 0 : -1;
}

/*
 * Reads, without waiting, the answers the kernel queued to the nreq
 * requests just sent (it answers each before the send returns): calls
 * fn(arg, nlh) for each.  0, or -1 if some are missing (the receive
 * buffer overflowed).
 */
static int
fw_kill_replies(int fd, size_t nreq, void (*fn)(void *, struct
    nlmsghdr *), void *arg, uint8_t *buf, size_t size)
{
	struct nlmsghdr		*h;
	ssize_t			 len;
	size_t			 got = 0;

	while (got < nreq) {
		if ((len = recv(fd, buf, size, MSG_DONTWAIT)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (h = (struct nlmsghdr *)(void *)buf;
		    NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			fn(arg, h);
			got++;
		}
	}
	return 0;
}

/* An ack counted: deleted, gone already (fine), or failed. */
struct fw_kill_acks {
	uint64_t	 ok;
	int		 error;		/* the last errno other than ENOENT */
};

static void
fw_kill_ack_cb(void *arg, struct nlmsghdr *h)
{
	struct fw_kill_acks	*a = arg;
	const struct nlmsgerr	*e;

	if (h->nlmsg_type != NLMSG_ERROR ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return;
	e = NLMSG_DATA(h);
	if (e->error == 0)
		a->ok++;
	else if (-e->error != ENOENT)
		a->error = -e->error;
}

/* Sets a netlink socket's receive buffer for a batch's answers. */
static void
fw_kill_rcvbuf(int fd)
{
	int	size = FW_KILL_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof(size));
}

/* Deletes the conntrack entries of t[0..n) that have FW_KILL_CT. */
static int
fw_kill_ct_tuples(const struct fw_kill_tuple *t, size_t n,
    uint64_t *deleted, char **cause)
{
	struct mnl_socket	*nl;
	struct mnl_nlmsg_batch	*b;
	struct fw_kill_acks	 acks;
	uint8_t			*buf, *rbuf;
	size_t			 i = 0, k;
	uint32_t		 seq = (uint32_t)clock_monotonic();
	int			 one = 1, r = 0;

	if ((nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) ==
	    NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		*cause = xasprintf("conntrack: %s", strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return -1;
	}
	/* Errors echo the header only: the answers stay small. */
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	fw_kill_rcvbuf(mnl_socket_get_fd(nl));
	buf = xmalloc(MNL_SOCKET_BUFFER_SIZE * 4);
	rbuf = xmalloc(MNL_SOCKET_BUFFER_SIZE);
	memset(&acks, 0, sizeof(acks));
	while (i < n && r == 0) {
		b = mnl_nlmsg_batch_start(buf, MNL_SOCKET_BUFFER_SIZE * 4);
		for (k = 0; i < n && k < FW_KILL_NLBATCH; i++) {
			if (!(t[i].what & FW_KILL_CT))
				continue;
			if (fw_kill_ct_put(b, &t[i], seq + (uint32_t)k) == -1)
				break;
			k++;
		}
		if (k > 0 && (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b),
		    mnl_nlmsg_batch_size(b)) == -1 ||
		    fw_kill_replies(mnl_socket_get_fd(nl), k, fw_kill_ack_cb,
		    &acks, rbuf, MNL_SOCKET_BUFFER_SIZE) == -1)) {
			*cause = xasprintf("conntrack delete: %s",
			    strerror(errno));
			r = -1;
		}
		seq += (uint32_t)k;
		mnl_nlmsg_batch_stop(b);
	}
	if (r == 0 && acks.error != 0) {
		*cause = xasprintf("conntrack delete: %s",
		    strerror(acks.error));
		r = -1;
	}
	*deleted += acks.ok;
	free(rbuf);
	free(buf);
	mnl_socket_close(nl);
	return r;
}

/*
 * Sockets: a lookup by tuple, then SOCK_DESTROY by cookie.
 */

/* A request on the sock_diag socket: header and inet_diag_req_v2. */
struct fw_kill_diag_req {
	struct nlmsghdr		 nlh;
	struct inet_diag_req_v2	 req;
};

/* What the lookups of one batch found: the sockets to destroy. */
struct fw_kill_found {
	const struct fw_kill_tuple *t;	/* the batch, by seq - base */
	size_t			 n;
	uint32_t		 base;
	struct fw_kill_sock	*s;
	size_t			 ns;
};

/* 1 if the socket d is the one of tuple t: connected, to t's client. */
static int
fw_kill_sock_is(const struct inet_diag_msg *d, const struct fw_kill_tuple *t)
{
	struct addr	 peer, local;

	if (d->idiag_state == TCP_LISTEN || d->idiag_state == TCP_TIME_WAIT ||
	    d->idiag_state == TCP_CLOSE)
		return 0;
	if (d->idiag_family == AF_INET) {
		addr_from_v4(&peer, d->id.idiag_dst);
		addr_from_v4(&local, d->id.idiag_src);
	} else {
		addr_from_v6(&peer, d->id.idiag_dst);	/* unmaps */
		addr_from_v6(&local, d->id.idiag_src);
	}
	return addr_eq(&peer, &t->src) && addr_eq(&local, &t->dst) &&
	    ntohs(d->id.idiag_dport) == t->sport &&
	    ntohs(d->id.idiag_sport) == t->dport;
}

static void
fw_kill_found_cb(void *arg, struct nlmsghdr *h)
{
	struct fw_kill_found		*f = arg;
	const struct inet_diag_msg	*d;
	uint32_t			 k = h->nlmsg_seq - f->base;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)) || k >= f->n)
		return;		/* not found (an error), or not ours */
	d = NLMSG_DATA(h);
	if (!fw_kill_sock_is(d, &f->t[k]))
		return;
	f->s[f->ns].family = d->idiag_family;
	f->s[f->ns++].id = d->id;
}

/*
 * Destroys the sockets s[0..n), each named by its full id and cookie, in
 * batches on fd; counts what went into *killed.  0 or -1.
 */
static int
fw_kill_sock_destroy(int fd, const struct fw_kill_sock *s, size_t n,
    uint64_t *killed)
{
	struct fw_kill_diag_req	 req[FW_KILL_NLBATCH];
	struct fw_kill_acks	 acks;
	uint8_t			 buf[8192];
	size_t			 i, j, k;

	memset(&acks, 0, sizeof(acks));
	for (i = 0; i < n; i += k) {
		k = n - i < FW_KILL_NLBATCH ? n - i : FW_KILL_NLBATCH;
		memset(req, 0, sizeof(req[0]) * k);
		for (j = 0; j < k; j++) {
			req[j].nlh.nlmsg_len = sizeof(req[j]);
			req[j].nlh.nlmsg_type = SOCK_DESTROY;
			req[j].nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
			req[j].nlh.nlmsg_seq = (uint32_t)j;
			req[j].req.sdiag_family = s[i + j].family;
			req[j].req.sdiag_protocol = IPPROTO_TCP;
			req[j].req.idiag_states = ~0U;
			req[j].req.id = s[i + j].id;
		}
		if (send(fd, req, sizeof(req[0]) * k, 0) == -1 ||
		    fw_kill_replies(fd, k, fw_kill_ack_cb, &acks, buf,
		    sizeof(buf)) == -1)
			return -1;
	}
	*killed += acks.ok;
	return 0;
}

/* Opens a sock_diag socket for a batch's answers; -1 if it cannot. */
static int
fw_kill_diag_open(void)
{
	int	fd;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	fw_kill_rcvbuf(fd);
	return fd;
}

/*
 * Destroys this namespace's sockets of the tuples of t[0..n) that have
 * FW_KILL_SOCK: each looked up alone (no dump), then destroyed by its
 * cookie.  0, or -1 if the kernel cannot (no INET_DIAG_DESTROY) or
 * netlink failed: best effort, the caller only counts.
 */
static int
fw_kill_sock_tuples(const struct fw_kill_tuple *t, size_t n,
    uint64_t *killed)
{
	struct fw_kill_diag_req	 req[FW_KILL_NLBATCH];
	struct fw_kill_sock	 found[FW_KILL_NLBATCH];
	struct fw_kill_found	 f;
	struct fw_kill_tuple	 bt[FW_KILL_NLBATCH];
	uint8_t			*buf;
	size_t			 i = 0, k;
	int			 fd, r = 0;

	if ((fd = fw_kill_diag_open()) == -1)
		return -1;
	buf = xmalloc(FW_KILL_DIAG_BUF);
	while (i < n && r == 0) {
		memset(req, 0, sizeof(req));
		for (k = 0; i < n && k < FW_KILL_NLBATCH; i++) {
			if (!(t[i].what & FW_KILL_SOCK))
				continue;
			bt[k] = t[i];
			/* The server's socket: local is the flow's
			 * destination, the peer its source. */
			req[k].nlh.nlmsg_len = sizeof(req[k]);
			req[k].nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
			req[k].nlh.nlmsg_flags = NLM_F_REQUEST;
			req[k].nlh.nlmsg_seq = (uint32_t)k;
			req[k].req.sdiag_family = t[i].src.family;
			req[k].req.sdiag_protocol = IPPROTO_TCP;
			req[k].req.idiag_states = ~0U;
			req[k].req.id.idiag_sport = htons(t[i].dport);
			req[k].req.id.idiag_dport = htons(t[i].sport);
			memcpy(req[k].req.id.idiag_src, t[i].dst.bytes,
			    t[i].src.family == AF_INET ? 4 : 16);
			memcpy(req[k].req.id.idiag_dst, t[i].src.bytes,
			    t[i].src.family == AF_INET ? 4 : 16);
			req[k].req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
			req[k].req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
			k++;
		}
		if (k == 0)
			break;
		memset(&f, 0, sizeof(f));
		f.t = bt;
		f.n = k;
		f.s = found;
		if (send(fd, req, sizeof(req[0]) * k, 0) == -1 ||
		    fw_kill_replies(fd, k, fw_kill_found_cb, &f, buf,
		    FW_KILL_DIAG_BUF) == -1 ||
		    fw_kill_sock_destroy(fd, found, f.ns, killed) == -1)
			r = -1;
	}
	free(buf);
	close(fd);
	return r;
}

/*
 * The scan, for what the flow table cannot name.
 */

/* The op of s whose prefix holds a and whose scope takes port, or NULL. */
static const struct fw_op *
fw_kill_scan_match(const struct fw *fw, const struct fw_op *ops, size_t n,
    const struct addr *a, uint16_t port)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ops[i].prefix.addr.family == a->family &&
		    addr_prefix_contains(&ops[i].prefix, a) &&
		    fw_kill_port_ok(fw, ops[i].scope, port))
			return &ops[i];
	return NULL;
}

/* A dumped conntrack entry: collected if a prefix of the scan holds it. */
static int
fw_kill_scan_ct_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *obj,
    void *arg)
{
	struct fw_kill_scan	*s = arg;
	struct fw_kill_tuple	*t;
	const struct fw_op	*op;
	struct addr		 src, dst;
	uint16_t		 dport;

	(void)type;
	if (!nfct_attr_is_set(obj, ATTR_L3PROTO) ||
	    !nfct_attr_is_set(obj, ATTR_L4PROTO) ||
	    nfct_get_attr_u8(obj, ATTR_L4PROTO) != IPPROTO_TCP ||
	    !nfct_attr_is_set(obj, ATTR_ORIG_PORT_SRC) ||
	    !nfct_attr_is_set(obj, ATTR_ORIG_PORT_DST))
		return NFCT_CB_CONTINUE;
	if (nfct_get_attr_u8(obj, ATTR_L3PROTO) == AF_INET &&
	    nfct_attr_is_set(obj, ATTR_ORIG_IPV4_SRC) &&
	    nfct_attr_is_set(obj, ATTR_ORIG_IPV4_DST)) {
		addr_from_v4(&src, nfct_get_attr(obj, ATTR_ORIG_IPV4_SRC));
		addr_from_v4(&dst, nfct_get_attr(obj, ATTR_ORIG_IPV4_DST));
	} else if (nfct_get_attr_u8(obj, ATTR_L3PROTO) == AF_INET6 &&
	    nfct_attr_is_set(obj, ATTR_ORIG_IPV6_SRC) &&
	    nfct_attr_is_set(obj, ATTR_ORIG_IPV6_DST)) {
		addr_from_v6(&src, nfct_get_attr(obj, ATTR_ORIG_IPV6_SRC));
		addr_from_v6(&dst, nfct_get_attr(obj, ATTR_ORIG_IPV6_DST));
	} else
		return NFCT_CB_CONTINUE;
	dport = ntohs(nfct_get_attr_u16(obj, ATTR_ORIG_PORT_DST));
	if (src.family != dst.family || (op = fw_kill_scan_match(s->fw,
	    s->ops, s->nops, &src, dport)) == NULL ||
	    s->n == FW_KILL_SCAN_TUPLES)
		return NFCT_CB_CONTINUE;
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 64 : s->cap * 2;
		s->t = xreallocarray(s->t, s->cap, sizeof(*s->t));
	}
	t = &s->t[s->n++];
	memset(t, 0, sizeof(*t));
	t->src = src;
	t->dst = dst;
	t->sport = ntohs(nfct_get_attr_u16(obj, ATTR_ORIG_PORT_SRC));
	t->dport = dport;
	if (nfct_attr_is_set(obj, ATTR_ID))
		t->id = nfct_get_attr_u32(obj, ATTR_ID);
	t->scope = (uint8_t)op->scope;
	t->what = FW_KILL_CT;
	return NFCT_CB_CONTINUE;
}

/* One conntrack dump for every prefix of ops; deletes what it finds. */
static int
fw_kill_scan_ct(const struct fw *fw, const struct fw_op *ops, size_t n,
    uint64_t *deleted, char **cause)
{
	struct fw_kill_scan	 s;
	struct nfct_handle	*dump;
	uint32_t		 family = ops[0].prefix.addr.family;
	size_t			 i;
	int			 r;

	memset(&s, 0, sizeof(s));
	s.fw = fw;
	s.ops = ops;
	s.nops = n;
	if ((dump = nfct_open(CONNTRACK, 0)) == NULL) {
		*cause = xasprintf("conntrack: %s", strerror(errno));
		return -1;
	}
	(void)fcntl(nfct_fd(dump), F_SETFD, FD_CLOEXEC);
	nfct_callback_register(dump, NFCT_T_ALL, fw_kill_scan_ct_cb, &s);
	/* One family: the kernel skips the other for us. */
	for (i = 1; i < n; i++)
		if (ops[i].prefix.addr.family != family)
			family = AF_UNSPEC;
	r = nfct_query(dump, NFCT_Q_DUMP, &family);
	nfct_close(dump);
	if (r == -1)
		*cause = xasprintf("conntrack dump: %s", strerror(errno));
	else if (s.n > 0)
		r = fw_kill_ct_tuples(s.t, s.n, deleted, cause);
	free(s.t);
	return r == -1 ? -1 : 0;
}

/*
 * The bytecode for a socket dump: a socket passes if its peer is in any
 * prefix of ops of a family the dump can hold (an IPv4 one also matches
 * IPv4-mapped peers of IPv6 sockets).  An "or" of conditions, as ss(8)
 * builds one: each condition's "yes" lands on a jump to the end (which
 * accepts), its "no" skips that jump to the next condition; the last
 * one's "yes" is the end and its "no" past it (which rejects).  Returns
 * its length, 0 if no prefix fits the family.
 */
static size_t
fw_kill_bytecode(const struct fw_op *ops, size_t n, int family,
    uint8_t *bc, size_t size)
{
	struct inet_diag_bc_op		*op, *jmp[FW_KILL_SCAN_MAX];
	struct inet_diag_hostcond	*hc;
	size_t				 i, len = 0, alen, step, nj = 0;

	for (i = 0; i < n && nj < FW_KILL_SCAN_MAX; i++) {
		if (family == AF_INET && ops[i].prefix.addr.family != AF_INET)
			continue;
		alen = ops[i].prefix.addr.family == AF_INET ? 4 : 16;
		step = sizeof(*op) + sizeof(*hc) + alen;
		if (len + step + sizeof(*op) > size)
			break;
		op = (struct inet_diag_bc_op *)(void *)(bc + len);
		op->code = INET_DIAG_BC_D_COND;
		op->yes = (uint8_t)step;
		op->no = (uint16_t)(step + sizeof(*op));
		hc = (struct inet_diag_hostcond *)(void *)(op + 1);
		hc->family = ops[i].prefix.addr.family;
		hc->prefix_len = ops[i].prefix.len;
		hc->port = -1;
		memcpy(hc + 1, ops[i].prefix.addr.bytes, alen);
		len += step;
		jmp[nj] = (struct inet_diag_bc_op *)(void *)(bc + len);
		jmp[nj]->code = INET_DIAG_BC_JMP;
		jmp[nj]->yes = sizeof(*op);
		len += sizeof(*op);
		nj++;
	}
	if (nj == 0)
		return 0;
	/* The last jump goes: its condition's "yes" is the end itself. */
	len -= sizeof(*op);
	for (i = 0; i + 1 < nj; i++)
		jmp[i]->no = (uint16_t)(bc + len - (uint8_t *)jmp[i]);
	return len;
}

/*
 * Destroys this namespace's TCP sockets of family whose peer is in a
 * prefix of ops and whose local port its scope takes: one dump, filtered
 * in the kernel.  0 or -1 (best effort, as fw_kill_sock_tuples()).
 */
static int
fw_kill_scan_sockets(const struct fw *fw, const struct fw_op *ops, size_t n,
    int family, uint64_t *killed)
{
	struct {
		struct nlmsghdr		 nlh;
		struct inet_diag_req_v2	 req;
		struct nlattr		 nla;
		uint8_t			 bc[FW_KILL_SCAN_MAX * 32];
	} msg;
	struct sockaddr_nl	 nladdr = { .nl_family = AF_NETLINK };
	struct fw_kill_sock	*s = NULL;
	struct nlmsghdr		*h;
	struct inet_diag_msg	*d;
	struct addr		 peer;
	uint8_t			*buf;
	size_t			 ns = 0, cap = 0, bclen;
	ssize_t			 len;
	int			 dfd, done = 0, r = 0;

	memset(&msg, 0, sizeof(msg));
	if ((bclen = fw_kill_bytecode(ops, n, family, msg.bc,
	    sizeof(msg.bc))) == 0)
		return 0;
	if ((dfd = fw_kill_diag_open()) == -1)
		return -1;
	msg.nla.nla_type = INET_DIAG_REQ_BYTECODE;
	msg.nla.nla_len = (uint16_t)(NLA_HDRLEN + bclen);
	msg.nlh.nlmsg_len = (uint32_t)(offsetof(__typeof__(msg), bc) + bclen);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	/* Every state with a peer: not LISTEN, not TIME_WAIT (no socket). */
	msg.req.idiag_states = ~((1U << TCP_LISTEN) | (1U << TCP_TIME_WAIT) |
	    (1U << TCP_CLOSE));
	if (sendto(dfd, &msg, msg.nlh.nlmsg_len, 0,
	    (struct sockaddr *)&nladdr, sizeof nladdr) == -1) {
		close(dfd);
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
			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR) {
				r = h->nlmsg_type == NLMSG_ERROR ? -1 : 0;
				done = 1;
				break;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof *d))
				continue;
			d = NLMSG_DATA(h);
			if (d->idiag_family == AF_INET)
				addr_from_v4(&peer, d->id.idiag_dst);
			else
				addr_from_v6(&peer, d->id.idiag_dst);
			/* The kernel filtered by address; the ports here. */
			if (fw_kill_scan_match(fw, ops, n, &peer,
			    ntohs(d->id.idiag_sport)) == NULL)
				continue;
			if (ns == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				s = xreallocarray(s, cap, sizeof(*s));
			}
			s[ns].family = d->idiag_family;
			s[ns++].id = d->id;
		}
	}
	free(buf);
	if (ns > 0 && fw_kill_sock_destroy(dfd, s, ns, killed) == -1)
		r = -1;
	free(s);
	close(dfd);
	return r;
}

/*
 * What fw.c dispatches to, in the process that holds CAP_NET_ADMIN (the
 * daemon, or the privileged helper); the checks are fw.c's.
 */
int
fw_kill_tuples(struct fw *fw, const struct fw_kill_tuple *t, size_t n,
    uint64_t *killed, char **cause)
{
	uint64_t	 ct = 0, socks = 0;
	int64_t		 t0 = clock_monotonic();
	int		 r;

	(void)fw;
	r = fw_kill_ct_tuples(t, n, &ct, cause);
	/* Best effort: without INET_DIAG_DESTROY the ban and the conntrack
	 * deletion still stand. */
	(void)fw_kill_sock_tuples(t, n, &socks);
	*killed = ct > socks ? ct : socks;
	log_debug("fw: kill: %zu tuples: %" PRIu64 " conntrack entries, %"
	    PRIu64 " sockets in %" PRId64 " us", n, ct, socks,
	    clock_monotonic() - t0);
	return r;
}

int
fw_kill_scan(struct fw *fw, const struct fw_op *ops, size_t n,
    uint64_t *killed, char **cause)
{
	uint64_t	 ct = 0, socks = 0;
	int64_t		 t0 = clock_monotonic();
	size_t		 i;
	int		 v4 = 0;

	if (n == 0)
		return 0;
	if (fw_kill_scan_ct(fw, ops, n, &ct, cause) == -1)
		return -1;
	for (i = 0; i < n; i++)
		v4 |= ops[i].prefix.addr.family == AF_INET;
	(void)fw_kill_scan_sockets(fw, ops, n, AF_INET6, &socks);
	if (v4)
		(void)fw_kill_scan_sockets(fw, ops, n, AF_INET, &socks);
	*killed = ct > socks ? ct : socks;
	log_debug("fw: kill: scan for %zu prefixes: %" PRIu64 " conntrack "
	    "entries, %" PRIu64 " sockets in %" PRId64 " us", n, ct, socks,
	    clock_monotonic() - t0);
	return 0;
}

/* The kernel backends' kill of one prefix: a scan (fw_kill()). */
int
fw_kill_live(struct fw *fw, const struct prefix *p, enum fw_scope scope,
    char **cause)
{
	struct fw_op	 op;
	uint64_t	 killed = 0;
	int		 r;

	memset(&op, 0, sizeof(op));
	op.kind = FW_BAN;
	op.prefix = *p;
	op.scope = scope;
	r = fw_kill_scan(fw, &op, 1, &killed, cause);
	fw->stats.killed += killed;
	return r;
}

/*
 * The queue.
 */
struct fw_killq *
fw_killq_new(void)
{
	return xcalloc(1, sizeof(struct fw_killq));
}

void
fw_killq_free(struct fw_killq *q)
{
	if (q == NULL)
		return;
	free(q->t);
	free(q->scan);
	free(q);
}

/* A flow of the banned prefix: its tuple joins the queue. */
struct fw_killq_add {
	struct fw_killq		*q;
	const struct fw		*fw;
	enum fw_scope		 scope;
	uint16_t		 sport;	/* only this flow's (0: all) */
	uint16_t		 dport;
};

static void
fw_killq_flow_cb(const struct ctflow_tuple *ft, void *arg)
{
	struct fw_killq_add	*a = arg;
	struct fw_killq		*q = a->q;
	struct fw_kill_tuple	*t;

	if (!fw_kill_port_ok(a->fw, a->scope, ft->dport))
		return;
	if (a->sport != 0 && (ft->sport != a->sport || ft->dport != a->dport))
		return;
	if (q->n - q->head >= FW_KILL_QUEUE_MAX) {
		q->dropped++;
		return;
	}
	if (q->head > 0 && q->n == q->cap) {
		memmove(q->t, q->t + q->head, (q->n - q->head) * sizeof(*q->t));
		q->n -= q->head;
		q->head = 0;
	}
	if (q->n == q->cap) {
		q->cap = q->cap == 0 ? 256 : q->cap * 2;
		q->t = xreallocarray(q->t, q->cap, sizeof(*q->t));
	}
	t = &q->t[q->n++];
	memset(t, 0, sizeof(*t));
	t->src = ft->src;
	t->dst = ft->dst;
	t->sport = ft->sport;
	t->dport = ft->dport;
	t->id = ft->id;
	t->scope = (uint8_t)a->scope;
	t->what = FW_KILL_CT | FW_KILL_SOCK;
}

void
fw_killq_add(struct fw_killq *q, const struct fw *fw,
    const struct ctflow *flows, const struct prefix *p, enum fw_scope scope)
{
	struct fw_killq_add	 a;
	struct fw_op		*op;

	if (flows != NULL && fw_kill_flows_cover(fw, scope)) {
		memset(&a, 0, sizeof(a));
		a.q = q;
		a.fw = fw;
		a.scope = scope;
		(void)ctflow_of_prefix(flows, p, fw_killq_flow_cb, &a);
		return;
	}
	if (q->nscan == q->scancap) {
		q->scancap = q->scancap == 0 ? 64 : q->scancap * 2;
		q->scan = xreallocarray(q->scan, q->scancap,
		    sizeof(*q->scan));
	}
	op = &q->scan[q->nscan++];
	memset(op, 0, sizeof(*op));
	op->kind = FW_BAN;
	op->prefix = *p;
	op->scope = scope;
}

void
fw_killq_add_flow(struct fw_killq *q, const struct fw *fw,
    const struct ctflow *flows, const struct addr *src, uint16_t sport,
    uint16_t dport, enum fw_scope scope)
{
	struct fw_killq_add	 a;
	struct prefix		 p;

	if (flows == NULL || sport == 0)
		return;
	memset(&a, 0, sizeof(a));
	a.q = q;
	a.fw = fw;
	a.scope = scope;
	a.sport = sport;
	a.dport = dport;
	addr_mask(src, addr_maxlen(src), &p);
	(void)ctflow_of_prefix(flows, &p, fw_killq_flow_cb, &a);
}

size_t
fw_killq_pending(const struct fw_killq *q)
{
	return q->n - q->head + q->nscan;
}

int
fw_killq_run(struct fw_killq *q, struct fw *fw)
{
	char	*cause;
	size_t	 k;

	if (q->nscan > 0) {
		k = q->nscan < FW_KILL_SCAN_MAX ? q->nscan : FW_KILL_SCAN_MAX;
		if (fw_kill_prefixes(fw, q->scan, k, &cause) == -1) {
			log_warnx("fw: %s", cause);
			free(cause);
		}
		memmove(q->scan, q->scan + k, (q->nscan - k) *
		    sizeof(*q->scan));
		q->nscan -= k;
	}
	if (q->n > q->head) {
		k = q->n - q->head < FW_KILL_BUDGET ? q->n - q->head :
		    FW_KILL_BUDGET;
		if (fw_kill_conns(fw, q->t + q->head, k, &cause) == -1) {
			log_warnx("fw: %s", cause);
			free(cause);
		}
		q->head += k;
		q->done += k;
		if (q->head == q->n)
			q->head = q->n = 0;
	}
	fw_set_kill_stats(fw, q->done, fw_killq_pending(q), q->dropped);
	return fw_killq_pending(q) > 0;
}
