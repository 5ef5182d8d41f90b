/*
 * The live conntrack source: the kernel's NEW, UPDATE and DESTROY events on
 * a netlink socket in the event loop, and table dumps on a second socket,
 * both turned into struct ct_msg and handed to the flow table (ctflow.c),
 * which makes the connection events.
 *
 * Netlink is lossy: when the socket's receive buffer is full the kernel
 * drops events and the next read fails with ENOBUFS.  A stream with a gap
 * is never trusted: each overrun is counted, logged (rate-limited), the
 * buffer doubled up to its configured cap, and the table re-read by a dump
 * that closes what vanished and opens what appeared (ctflow_resync_*).
 * One ENOBUFS stands for every message dropped until the socket is read
 * empty, thousands under a flood: how many were lost is the kernel's own
 * count for the socket (nldrop.c), shown beside the overruns.
 *
 * Table dumps (ct_dump.c) repair what the stream lost and read the byte
 * counters of live flows.  Reads of the event socket are bounded per
 * wakeup (CT_READ_BUDGET datagrams or CT_READ_SLICE_US), as a dump's
 * slices are, so that a flood cannot starve the rest of the loop.
 *
 * The kernel filters the event socket to TCP (a BPF filter from
 * libnetfilter_conntrack, which cannot match ports); the flow table drops
 * the ports no service watches.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "ct.h"
#include "ct_int.h"
#include "log.h"
#include "loop.h"
#include "nldrop.h"
#include "ownaddr.h"
#include "status.h"
#include "xmalloc.h"

static int	ct_sysctl_read(const char *);
static int	ct_sysctl_write(const char *, int);
static void	ct_sysctls(struct ct *);
static int	ct_rcvbuf_set(struct ct *, uint64_t);
static int	ct_dgram(struct ct *, const uint8_t *, size_t, int64_t);
static void	ct_read_cb(struct loop *, int, int, void *);
static void	ct_overrun(struct ct *);

/* A sysctl under /proc/sys/net/netfilter as an integer, or -1. */
static int
ct_sysctl_read(const char *name)
{
	char	 path[128], buf[32], *end;
	long	 v;
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof path, CT_SYSCTL_DIR "%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || v < 0 || v > 1000)
		return -1;
	return (int)v;
}

static int
ct_sysctl_write(const char *name, int value)
{
	char	 path[128], buf[16];
	int	 fd, len, ok;

	snprintf(path, sizeof path, CT_SYSCTL_DIR "%s", name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	len = snprintf(buf, sizeof buf, "%d\n", value);
	ok = write(fd, buf, (size_t)len) == len;
	if (close(fd) == -1)
		ok = 0;
	return ok ? 0 : -1;
}

/*
 * Turns on what the source needs, if the configuration allows, and reads
 * back what is in force.  These sysctls belong to the network namespace.
 * Accounting and timestamps only reach flows created after they are on.
 */
static void
ct_sysctls(struct ct *ct)
{
	static const struct {
		const char	*name;
		const char	*why;
	} want[] = {
		{ "nf_conntrack_acct", "byte counters" },
		{ "nf_conntrack_timestamp", "flow start times" },
		{ "nf_conntrack_events", "events for every flow" },
	};
	size_t	 i;
	int	 v;

	for (i = 0; ct->conf->ct_sysctl && i < nitems(want); i++) {
		/* events: 0 none, 1 always, 2 (the default) only for flows
		 * born while someone listens: 1 covers our restarts. */
		if ((v = ct_sysctl_read(want[i].name)) == 1)
			continue;
		if (ct_sysctl_write(want[i].name, 1) == -1) {
			log_warn("ct: cannot set %s to 1 (%s)", want[i].name,
			    want[i].why);
			continue;
		}
		log_info("ct: %s %d -> 1 (%s)", want[i].name, v,
		    want[i].why);
	}

	ct->stats.acct = ct_sysctl_read("nf_conntrack_acct");
	ct->stats.events_sysctl = ct_sysctl_read("nf_conntrack_events");
	if (ct->stats.acct == 0)
		log_warnx("ct: nf_conntrack_acct is off: conntrack reports no "
		    "byte counters and karma cannot work (set ct_sysctl, or "
		    "sysctl net.netfilter.nf_conntrack_acct=1)");
	if (ct->stats.events_sysctl == 0)
		log_warnx("ct: nf_conntrack_events is 0: the kernel sends no "
		    "events, connections are seen only by the table dumps");
}

/*
 * Sets the event socket's receive buffer.  SO_RCVBUFFORCE (CAP_NET_ADMIN)
 * passes net.core.rmem_max; without it, SO_RCVBUF is silently capped.
 * The kernel reports twice what it accepted (its bookkeeping overhead).
 */
static int
ct_rcvbuf_set(struct ct *ct, uint64_t bytes)
{
	int		 v, got;
	socklen_t	 len = sizeof got;

	v = bytes > INT32_MAX / 2 ? INT32_MAX / 2 : (int)bytes;
	if (ct->priv != NULL) {
		/* Unprivileged: the helper forces it on the same socket. */
		if (ct->priv(ct->priv_arg, CT_PRIV_RCVBUF, (uint64_t)v) == -1)
			return -1;
	} else if (setsockopt(ct->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v,
	    sizeof v) == -1 && setsockopt(ct->fd, SOL_SOCKET, SO_RCVBUF, &v,
	    sizeof v) == -1)
		return -1;
	if (getsockopt(ct->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0)
		ct->stats.rcvbuf = (uint64_t)got / 2;
	return 0;
}

/*
 * The parts of a conntrack object the flow table uses.  0, or 1 for
 * anything that is not a TCP flow with addresses and ports.
 */
int
ct_msg_from_nfct(const struct nf_conntrack *obj, enum ct_msg_type type,
    int64_t now, struct ct_msg *msg)
{
	memset(msg, 0, sizeof *msg);
	if (!nfct_attr_is_set(obj, ATTR_L4PROTO) ||
	    nfct_get_attr_u8(obj, ATTR_L4PROTO) != IPPROTO_TCP ||
	    !nfct_attr_is_set(obj, ATTR_ORIG_PORT_SRC) ||
	    !nfct_attr_is_set(obj, ATTR_ORIG_PORT_DST))
		return 1;
	switch (nfct_attr_is_set(obj, ATTR_L3PROTO) ?
	    nfct_get_attr_u8(obj, ATTR_L3PROTO) : 0) {
	case AF_INET:
		if (!nfct_attr_is_set(obj, ATTR_ORIG_IPV4_SRC) ||
		    !nfct_attr_is_set(obj, ATTR_ORIG_IPV4_DST))
			return 1;
		addr_from_v4(&msg->src, nfct_get_attr(obj,
		    ATTR_ORIG_IPV4_SRC));
		addr_from_v4(&msg->dst, nfct_get_attr(obj,
		    ATTR_ORIG_IPV4_DST));
		break;
	case AF_INET6:
		if (!nfct_attr_is_set(obj, ATTR_ORIG_IPV6_SRC) ||
		    !nfct_attr_is_set(obj, ATTR_ORIG_IPV6_DST))
			return 1;
		addr_from_v6(&msg->src, nfct_get_attr(obj,
		    ATTR_ORIG_IPV6_SRC));
		addr_from_v6(&msg->dst, nfct_get_attr(obj,
		    ATTR_ORIG_IPV6_DST));
		break;
	default:
		return 1;
	}

	msg->type = type;
	/* Receipt time: kernel timestamps would reorder the stream. */
	msg->time = now;
	msg->sport = ntohs(nfct_get_attr_u16(obj, ATTR_ORIG_PORT_SRC));
	msg->dport = ntohs(nfct_get_attr_u16(obj, ATTR_ORIG_PORT_DST));
	if (nfct_attr_is_set(obj, ATTR_ID))
		msg->id = nfct_get_attr_u32(obj, ATTR_ID);
	msg->tcp_state = nfct_attr_is_set(obj, ATTR_TCP_STATE) ?
	    nfct_get_attr_u8(obj, ATTR_TCP_STATE) : CT_TCP_UNKNOWN;
	if (nfct_attr_is_set(obj, ATTR_STATUS)) {
		uint32_t	 st = nfct_get_attr_u32(obj, ATTR_STATUS);

		if (st & IPS_SEEN_REPLY)
			msg->status |= CT_STATUS_SEEN_REPLY;
		/* An offloaded flow is an assured one. */
		if (st & (IPS_ASSURED | IPS_OFFLOAD | IPS_HW_OFFLOAD))
			msg->status |= CT_STATUS_ASSURED;
	}
	if (nfct_attr_is_set(obj, ATTR_ORIG_COUNTER_BYTES) &&
	    nfct_attr_is_set(obj, ATTR_ORIG_COUNTER_PACKETS) &&
	    nfct_attr_is_set(obj, ATTR_REPL_COUNTER_BYTES) &&
	    nfct_attr_is_set(obj, ATTR_REPL_COUNTER_PACKETS)) {
		msg->has_counters = 1;
		msg->bytes_orig = nfct_get_attr_u64(obj,
		    ATTR_ORIG_COUNTER_BYTES);
		msg->pkts_orig = nfct_get_attr_u64(obj,
		    ATTR_ORIG_COUNTER_PACKETS);
		msg->bytes_reply = nfct_get_attr_u64(obj,
		    ATTR_REPL_COUNTER_BYTES);
		msg->pkts_reply = nfct_get_attr_u64(obj,
		    ATTR_REPL_COUNTER_PACKETS);
	}
	if (nfct_attr_is_set(obj, ATTR_TIMESTAMP_START))
		msg->start = (int64_t)(nfct_get_attr_u64(obj,
		    ATTR_TIMESTAMP_START) / 1000);
	if (nfct_attr_is_set(obj, ATTR_TIMESTAMP_STOP))
		msg->stop = (int64_t)(nfct_get_attr_u64(obj,
		    ATTR_TIMESTAMP_STOP) / 1000);
	return 0;
}

static void
ct_overrun(struct ct *ct)
{
	uint64_t	 want;

	ct->stats.overruns++;
	(void)nldrop_update(&ct->drops);
	want = ct->stats.rcvbuf * 2;
	if (want > ct->conf->ct_rcvbuf_max)
		want = ct->conf->ct_rcvbuf_max;
	if (want > ct->stats.rcvbuf)
		(void)ct_rcvbuf_set(ct, want);
	if (log_ratelimit_ok(&ct->rl_overrun, clock_monotonic()))
		log_warnx("ct: netlink overrun, events lost (%" PRIu64 " so "
		    "far, %lu warnings held back; %" PRIu64 " messages "
		    "dropped by the kernel); buffer %" PRIu64 " bytes, "
		    "resync in %d ms", ct->stats.overruns,
		    ct->rl_overrun.suppressed, ct->drops.total,
		    ct->stats.rcvbuf, CT_RESYNC_DELAY_MS);
	if (ct->resync == NULL && (ct->resync = loop_timer_add(ct->loop,
	    CT_RESYNC_DELAY_MS, ct_resync_cb, ct)) == NULL)
		log_warn("ct: resync timer");
}

/*
 * The netlink messages of one datagram from the kernel; returns how many
 * were conntrack events.
 */
static int
ct_dgram(struct ct *ct, const uint8_t *buf, size_t len, int64_t now)
{
	const struct nlmsghdr	*nlh;
	struct nf_conntrack	*obj;
	struct ct_msg		 msg;
	enum ct_msg_type	 type;
	size_t			 off;
	int			 n = 0;

	for (off = 0; off <= len && len - off >= sizeof *nlh;
	    off += NLMSG_ALIGN(nlh->nlmsg_len)) {
		nlh = (const struct nlmsghdr *)(const void *)(buf + off);
		if (nlh->nlmsg_len < sizeof *nlh || nlh->nlmsg_len > len - off)
			break;
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
			continue;
		switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
		case IPCTNL_MSG_CT_NEW:
			type = nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL) ?
			    CT_MSG_NEW : CT_MSG_UPDATE;
			break;
		case IPCTNL_MSG_CT_DELETE:
			type = CT_MSG_DESTROY;
			break;
		default:
			continue;
		}
		n++;
		if ((obj = nfct_new()) == NULL)
			fatal("nfct_new");
		if (nfct_nlmsg_parse(nlh, obj) == 0 &&
		    ct_msg_from_nfct(obj, type, now, &msg) == 0)
			ctflow_apply(ct->flows, ct->conf, &msg, ct->cb,
			    ct->arg);
		nfct_destroy(obj);
	}
	return n;
}

/*
 * Reads event datagrams until the socket is empty or budget is spent, or,
 * from the loop (slice_us not 0), that much time.  They come CT_BATCH per
 * system call, one event in each.  1 if the socket was read empty (or
 * failed), 0 if the budget ran out first.
 */
int
ct_read(struct ct *ct, int budget, int64_t slice_us)
{
	struct loop_budget	 b;
	int64_t			 now;
	int			 n, i, done = 0;

	/* One look at the clock per batch of CT_BATCH datagrams. */
	loop_budget_start(&b, slice_us, 1);
	while (done < budget) {
		/* Each message costs 10-30 us downstream (the flow table,
		 * the tracker, the store): 4096 of them, 40-120 ms. */
		if (slice_us != 0 && done > 0 && loop_budget_spent(&b))
			return 0;
		for (i = 0; i < CT_BATCH; i++) {
			ct->iovs[i].iov_base = ct->bufs[i];
			ct->iovs[i].iov_len = CT_DGRAM_MAX;
			memset(&ct->hdrs[i], 0, sizeof ct->hdrs[i]);
			ct->hdrs[i].msg_hdr.msg_iov = &ct->iovs[i];
			ct->hdrs[i].msg_hdr.msg_iovlen = 1;
			ct->hdrs[i].msg_hdr.msg_name = &ct->addrs[i];
			ct->hdrs[i].msg_hdr.msg_namelen = sizeof ct->addrs[i];
		}
		n = recvmmsg(ct->fd, ct->hdrs, CT_BATCH, MSG_DONTWAIT, NULL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				ct_overrun(ct);
				done++;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    log_ratelimit_ok(&ct->rl_error, clock_monotonic()))
				log_warn("ct: netlink read");
			return 1;
		}
		now = clock_realtime();
		for (i = 0; i < n; i++) {
			/*
			 * Only the kernel: a process with CAP_NET_ADMIN
			 * could write to this socket, and
			 * libnetfilter_conntrack exit()s ("kernel ABI is
			 * broken") on a malformed attribute.
			 */
			if (ct->addrs[i].nl_pid != 0 ||
			    (ct->hdrs[i].msg_hdr.msg_flags & MSG_TRUNC))
				continue;
			(void)ct_dgram(ct, ct->bufs[i], ct->hdrs[i].msg_len,
			    now);
		}
		done += n;
		ct->stats.msgs += (uint64_t)n;
		/* A ban these events caused goes out now, not after the
		 * backlog (enforce.c asked the loop). */
		if (slice_us != 0)
			loop_soon_run(ct->loop);
		if (n < CT_BATCH)
			return 1;	/* drained */
	}
	return 0;
}

static void
ct_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct ct	*ct = arg;
	int		 drained;

	(void)loop;
	(void)fd;
	(void)events;
	drained = ct_read(ct, CT_READ_BUDGET, CT_READ_SLICE_US);
	/* After a dump: its events read, the resync ends. */
	if (ct->dumping == CT_DUMP_DRAINING && (drained ||
	    clock_monotonic() >= ct->drain_until))
		ct_dump_done(ct);
	ct_poll_arm(ct);
}

struct ct *
ct_open(struct loop *loop, const struct conf *conf, event_cb cb,
    void *arg, char **cause)
{
	static const uint16_t	 ct_states[] = { CT_TCP_SYN_SENT,
				    CT_TCP_ESTABLISHED, CT_TCP_FIN_WAIT,
				    CT_TCP_TIME_WAIT, CT_TCP_CLOSE };
	struct nfct_filter	*filter;
	struct ct		*ct;
	size_t			 i;
	int			 fl;

	ct = xcalloc(1, sizeof *ct);
	ct->loop = loop;
	ct->conf = conf;
	ct->cb = cb;
	ct->arg = arg;
	ct->fd = -1;
	nldrop_init(&ct->drops, -1);
	ct->rl_overrun.interval_us = CT_WARN_INTERVAL_US;
	ct->rl_error.interval_us = CT_WARN_INTERVAL_US;
	ct->stats.acct = ct->stats.events_sysctl = -1;
	ct->flows = ctflow_new(conf->ct_flows_max, arc4random());
	ct->bufs = xreallocarray(NULL, CT_BATCH, sizeof *ct->bufs);
	ct->hdrs = xcalloc(CT_BATCH, sizeof *ct->hdrs);
	ct->iovs = xcalloc(CT_BATCH, sizeof *ct->iovs);
	ct->addrs = xcalloc(CT_BATCH, sizeof *ct->addrs);
	ct->dump_buf = xmalloc(CT_DUMP_BUF);

	/* Counters and timestamps first: they reach only newer flows. */
	ct_sysctls(ct);

	/* Subscribe before the first dump, so nothing falls between. */
	ct->ev = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW |
	    NF_NETLINK_CONNTRACK_UPDATE | NF_NETLINK_CONNTRACK_DESTROY);
	if (ct->ev == NULL) {
		*cause = xasprintf("conntrack events: %s (needs "
		    "CAP_NET_ADMIN and nf_conntrack_netlink)",
		    strerror(errno));
		goto fail;
	}
	ct->fd = nfct_fd(ct->ev);
	nldrop_init(&ct->drops, ct->fd);
	if ((fl = fcntl(ct->fd, F_GETFL)) == -1 ||
	    fcntl(ct->fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(ct->fd, F_SETFD, FD_CLOEXEC) == -1) {
		*cause = xasprintf("conntrack events: fcntl: %s",
		    strerror(errno));
		goto fail;
	}
	if (ct_rcvbuf_set(ct, conf->ct_rcvbuf) == -1)
		log_warn("ct: receive buffer of %" PRIu64 " bytes",
		    conf->ct_rcvbuf);
	if (ct->stats.rcvbuf < conf->ct_rcvbuf)
		log_warnx("ct: receive buffer %" PRIu64 " bytes, not %" PRIu64
		    " (no CAP_NET_ADMIN? net.core.rmem_max?): expect overruns",
		    ct->stats.rcvbuf, conf->ct_rcvbuf);

	/*
	 * Only TCP wakes us, and only in the states the flow machine acts
	 * on: the SYN (SYN_SENT), the completed handshake (ESTABLISHED), the
	 * first FIN or RST (FIN_WAIT, CLOSE) and the end (TIME_WAIT, the
	 * state of nearly every DESTROY).  The kernel then drops SYN_RECV,
	 * CLOSE_WAIT and LAST_ACK messages before they cost a socket buffer
	 * slot or a wakeup: about 5 messages a connection instead of 7.  A
	 * flow that times out in a dropped state ends at the next dump.
	 * Ports are the flow table's business.
	 */
	if ((filter = nfct_filter_create()) == NULL)
		fatal("nfct_filter_create");
	nfct_filter_add_attr_u32(filter, NFCT_FILTER_L4PROTO, IPPROTO_TCP);
	for (i = 0; i < nitems(ct_states); i++) {
		struct nfct_filter_proto fp = { IPPROTO_TCP, ct_states[i] };

		nfct_filter_add_attr(filter, NFCT_FILTER_L4PROTO_STATE, &fp);
	}
	if (nfct_filter_attach(ct->fd, filter) == -1)
		log_warn("ct: kernel filter not attached, filtering in "
		    "user space");
	nfct_filter_destroy(filter);

	return ct;

fail:
	if (ct->resync != NULL)
		loop_timer_del(loop, ct->resync);
	if (ct->dump != NULL)
		nfct_close(ct->dump);
	if (ct->ev != NULL)
		nfct_close(ct->ev);
	ctflow_free(ct->flows);
	free(ct->dump_buf);
	free(ct->addrs);
	free(ct->iovs);
	free(ct->hdrs);
	free(ct->bufs);
	free(ct);
	return NULL;
}

/*
 * The live flows, so that concurrency counts from the start, then the
 * events: after enforcement is up (a verdict from the first dump must be
 * enforced) and, under privilege separation, through the helper.
 */
int
ct_start(struct ct *ct, char **cause)
{
	if (ct_dump(ct, 1, cause) == -1)
		return -1;
	if (ct->dump_seen == 0)
		log_info("ct: the conntrack table is empty: if no netfilter "
		    "rule uses conntrack in this network namespace, the "
		    "kernel tracks nothing and no events will come");
	if (loop_fd_add(ct->loop, ct->fd, LOOP_READ, ct_read_cb, ct) == -1) {
		*cause = xasprintf("conntrack events: %s", strerror(errno));
		return -1;
	}
	ct->poll_ms = ct_poll_ms(ct->conf);
	ct->started = 1;
	/* An empty table: the first flow's event starts the poll. */
	if (!ct_poll_wanted(ct))
		return 0;
	if ((ct->poll = loop_timer_add(ct->loop, ct->poll_ms, ct_poll_cb,
	    ct)) == NULL) {
		*cause = xasprintf("conntrack poll timer: %s",
		    strerror(errno));
		(void)loop_fd_del(ct->loop, ct->fd);
		return -1;
	}
	return 0;
}

/*
 * The watched ports take effect with the next message (flows already
 * open keep their service until they end); the buffer only grows; the
 * flow table's capacity needs a restart.
 */
void
ct_set_conf(struct ct *ct, const struct conf *conf)
{
	ct->conf = conf;
	if (conf->ct_rcvbuf > ct->stats.rcvbuf)
		(void)ct_rcvbuf_set(ct, conf->ct_rcvbuf);
	if (ct_poll_ms(conf) != ct->poll_ms && ct->poll != NULL) {
		ct->poll_ms = ct_poll_ms(conf);
		(void)loop_timer_set(ct->loop, ct->poll, ct->poll_ms);
	}
}

/* The live list (ownaddr.c): an address added since start is known as
 * soon as the kernel says so, not at the next dump. */
void
ct_set_own(struct ct *ct, const struct ownaddr *own)
{
	ct->own = own;
	ctflow_set_own(ct->flows, own);
}

void
ct_close(struct ct *ct)
{
	if (ct == NULL)
		return;
	if (ct->poll != NULL)
		loop_timer_del(ct->loop, ct->poll);
	if (ct->resync != NULL)
		loop_timer_del(ct->loop, ct->resync);
	(void)loop_fd_del(ct->loop, ct->fd);
	if (ct->dump != NULL) {
		if (ct->dumping == CT_DUMP_READING)
			(void)loop_fd_del(ct->loop, nfct_fd(ct->dump));
		nfct_close(ct->dump);
	}
	nfct_close(ct->ev);
	ctflow_free(ct->flows);
	free(ct->dump_buf);
	free(ct->addrs);
	free(ct->iovs);
	free(ct->hdrs);
	free(ct->bufs);
	free(ct);
}

void
ct_set_priv(struct ct *ct, ct_priv_fn fn, void *arg)
{
	ct->priv = fn;
	ct->priv_arg = arg;
}

struct nfct_handle *
ct_dump_handle(struct ct *ct)
{
	if (ct->dump == NULL)
		ct->dump = ct_dump_open(ct);
	return ct->dump;
}

const struct ctflow *
ct_flows(const struct ct *ct)
{
	return ct->flows;
}

int
ct_event_fd(const struct ct *ct)
{
	return ct->fd;
}

void
ct_get_stats(const struct ct *ct, struct ct_stats *st)
{
	*st = ct->stats;
	st->dropped = nldrop_total(&ct->drops);
	st->dropped_ownaddr = ct->own != NULL ? ownaddr_dropped(ct->own) : 0;
	ctflow_get_stats(ct->flows, &st->flow);
}

/*
 * Status: the netlink socket's health and the flow table.  Without
 * conntrack the daemon shows ct_status_off_group instead.
 */
struct ct_status {
	int		 enabled;
	struct ct_stats	 st;
};

static void
ct_status_get(const void *obj, size_t i, void *snap)
{
	struct ct_status	*s = snap;

	(void)i;
	s->enabled = obj != NULL;
	if (obj != NULL)
		ct_get_stats(obj, &s->st);
}

#define CS(f)	offsetof(struct ct_status, st.f)
static const struct status_field ct_status_fields[] = {
	{ .name = "enabled", .type = STATUS_BOOL,
	  .off = offsetof(struct ct_status, enabled), .text = "%" },
	{ .name = "messages", .type = STATUS_U64, .off = CS(msgs),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_messages_total",
	  .help = "Netlink messages received.", .text = "% messages" },
	{ .name = "dropped", .type = STATUS_U64, .off = CS(dropped),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_dropped_total",
	  .help = "Netlink messages the kernel dropped, socket full (its "
	  "own count).", .label = "source", .value = "events",
	  .text = "% dropped by the kernel" },
	{ .name = "dropped_ownaddr", .type = STATUS_U64,
	  .off = CS(dropped_ownaddr), .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_dropped_total",
	  .help = "Netlink messages the kernel dropped, socket full (its "
	  "own count).", .label = "source", .value = "ownaddr" },
	{ .name = "overruns", .type = STATUS_U64, .off = CS(overruns),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_overruns_total",
	  .help = "Netlink overruns: events lost, then a resync.",
	  .text = "(% overruns" },
	{ .name = "resyncs", .type = STATUS_U64, .off = CS(resyncs),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_resyncs_total",
	  .help = "Table dumps after an overrun.", .text = "% resyncs)" },
	{ .name = "dumps", .type = STATUS_U64, .off = CS(dumps) },
	{ .name = "last_dump_ms", .type = STATUS_US, .off = CS(last_dump_us) },
	{ .name = "rcvbuf", .type = STATUS_U64, .off = CS(rcvbuf),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_conntrack_rcvbuf_bytes",
	  .help = "The netlink socket's receive buffer.",
	  .text = "buffer % bytes" },
	{ .name = "accounting", .type = STATUS_TRI, .off = CS(acct),
	  .text = "byte counters %" },
	{ .name = "events_sysctl", .type = STATUS_INT,
	  .off = CS(events_sysctl) },
	{ .name = "flows", .type = STATUS_U64, .off = CS(flow.flows),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_conntrack_flows",
	  .help = "Flows to the services followed now.", .text = "% flows" },
	{ .name = "flows_evicted", .type = STATUS_U64, .off = CS(flow.evicted),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_flow_evictions_total",
	  .help = "Flows dropped because the flow table was full." },
	{ .name = "ignored", .type = STATUS_U64, .off = CS(flow.ignored) },
	{ .name = "halfopen", .type = STATUS_U64, .off = CS(flow.halfopen),
	  .text = "% half-open" },
	{ .name = "resync_closed", .type = STATUS_U64,
	  .off = CS(flow.resync_closed) },
	{ .name = "resync_opened", .type = STATUS_U64,
	  .off = CS(flow.resync_opened) },
	{ .name = "local", .type = STATUS_U64, .off = CS(flow.local) },
	{ .name = NULL }
};
#undef CS

const struct status_group ct_status_group = {
	.name = "conntrack",
	.text = "conntrack",
	.fields = ct_status_fields,
	.size = sizeof(struct ct_status),
	.get = ct_status_get,
};

/* [conntrack] enabled = no: says so, and nothing else (obj NULL). */
static const struct status_field ct_status_off_fields[] = {
	{ .name = "enabled", .type = STATUS_BOOL,
	  .off = offsetof(struct ct_status, enabled), .text = "%" },
	{ .name = NULL }
};

const struct status_group ct_status_off_group = {
	.name = "conntrack",
	.text = "conntrack",
	.fields = ct_status_off_fields,
	.size = sizeof(struct ct_status),
	.get = ct_status_get,
};
