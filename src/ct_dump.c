/*
 * Conntrack table dumps, for the live source (ct.c).
 *
 * Dumps do more than repair overruns.  Conntrack reports byte counters only
 * at DESTROY, so every ct_poll a dump reads the counters of live flows for
 * karma; and with the kernel's default nf_conntrack_events=2 a flow created
 * while nobody listened (before a restart, say) never sends an event, not
 * even DESTROY.  So every dump is a full resync: a flow missing from it is
 * gone, whatever the event stream said.  That is what keeps the tracker's
 * live counts honest over weeks.
 *
 * A dump races the event stream: a flow born while the kernel walks its
 * table may show up in the dump before its NEW event is read, and would
 * then count as "found in a gap" instead of new.  So a dump starts a resync
 * generation, notes the time, drains the events already queued (which
 * mark their flows as seen), and skips the entries whose conntrack start
 * timestamp is later than that time: their NEW event is still in the
 * socket, and will be read next.  Without nf_conntrack_timestamp the race
 * stays, and costs only a flag on a few events.
 *
 * The dump never interleaves with events: while its answer is read, the
 * event socket is not, so every event of the dump's time is applied after
 * the whole dump.  At start the dump is read at once (nfct_query), before
 * the loop runs; later ones, which under load take seconds (see
 * ct_dump()), a slice of CT_DUMP_SLICE_US per wakeup, so the rest of the
 * loop (the control socket, the logs, the store) goes on meanwhile.
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

#include <endian.h>
#include <libmnl/libmnl.h>
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
#include "xmalloc.h"

static int	ct_dump_nfct_cb(enum nf_conntrack_msg_type,
		    struct nf_conntrack *, void *);
static int	ct_dump_begin(struct ct *, int, int, int64_t, char **);
static void	ct_dump_fail(struct ct *);
static void	ct_dump_end(struct ct *);
static int	ct_dump_start(struct ct *, int, char **);
static void	ct_dump_stop(struct ct *);
static void	ct_dump_abort(struct ct *, const char *, int);
static int	ct_dump_dgram(struct ct *, const uint8_t *, size_t);
static void	ct_dump_read_cb(struct loop *, int, int, void *);

static int
ct_dump_nfct_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *obj,
    void *arg)
{
	struct ct	*ct = arg;
	struct ct_msg	 msg;

	(void)type;
	ct->dump_seen++;
	if (ct_msg_from_nfct(obj, CT_MSG_DUMP, clock_realtime(), &msg) != 0)
		return NFCT_CB_CONTINUE;
	ct->dump_tcp++;
	/* Born after the mark: its NEW is queued on the event socket. */
	if (msg.start != 0 && msg.start >= ct->dump_mark)
		return NFCT_CB_CONTINUE;
	ctflow_apply(ct->flows, ct->conf, &msg, ct->cb, ct->arg);
	return NFCT_CB_CONTINUE;
}

/* The socket for dumps, its replies going to ct_dump_nfct_cb(); NULL and
 * errno on failure. */
struct nfct_handle *
ct_dump_open(struct ct *ct)
{
	struct nfct_handle	*h;
	int			 saved;

	if ((h = nfct_open(CONNTRACK, 0)) == NULL)
		return NULL;
	if (fcntl(nfct_fd(h), F_SETFD, FD_CLOEXEC) == -1 ||
	    nfct_callback_register(h, NFCT_T_ALL, ct_dump_nfct_cb, ct) == -1) {
		saved = errno;
		nfct_close(h);
		errno = saved;
		return NULL;
	}
	return h;
}

/*
 * Starts a dump: a resync generation, the mark, and the events already
 * queued taken first (they predate the mark; bounded: under a flood the
 * rest only costs the race described at the top).  0, or -1 with *cause.
 */
static int
ct_dump_begin(struct ct *ct, int first, int budget, int64_t slice_us,
    char **cause)
{
	if (ct->dump == NULL && (ct->dump = ct_dump_open(ct)) == NULL) {
		if (cause != NULL)
			*cause = xasprintf("conntrack dump: %s",
			    strerror(errno));
		return -1;
	}
	ct->dump_t0 = clock_monotonic();
	ct->dump_overruns = ct->stats.overruns;
	ctflow_resync_begin(ct->flows, first);
	ct->dump_mark = clock_realtime();
	ct->dump_seen = ct->dump_tcp = 0;
	(void)ct_read(ct, budget, slice_us);
	return 0;
}

/* Whatever is left of a failed dump must not meet the next one: a fresh
 * socket.  The half-applied resync just lapses. */
static void
ct_dump_fail(struct ct *ct)
{
	nfct_close(ct->dump);
	ct->dump = ct_dump_open(ct);
}

/*
 * The dump has been read and the events of its time taken: closes what it
 * did not contain.
 */
static void
ct_dump_end(struct ct *ct)
{
	ctflow_resync_end(ct->flows, ct->conf, clock_realtime(), ct->cb,
	    ct->arg);
	/* A resync still pending for an overrun seen before this dump
	 * began has nothing left to repair. */
	if (ct->resync != NULL && ct->stats.overruns == ct->dump_overruns) {
		loop_timer_del(ct->loop, ct->resync);
		ct->resync = NULL;
	}
	ct->stats.last_dump_us = (uint64_t)(clock_monotonic() - ct->dump_t0);
	ct->stats.last_dump_flows = ct->dump_seen;
	log_debug("ct: dump of %" PRIu64 " flows (%" PRIu64 " TCP) in %"
	    PRIu64 " us", ct->dump_seen, ct->dump_tcp,
	    ct->stats.last_dump_us);
}

/*
 * Reads the whole table at once and applies it as a resync; 0, or -1 with
 * *cause.  Only at start, before the loop runs; later dumps are read a
 * slice per wakeup (ct_dump_start()).
 *
 * Measured on a 2-vCPU VM (Linux 6.18, a 262144-bucket hash): 10-12 ms for
 * an empty table, because the kernel walks every bucket of the hash all
 * namespaces share, plus about 3.5 us per entry of any protocol: 2.3 in
 * the kernel, most of the rest in libnetfilter_conntrack's parser, 0.3 in
 * ours.  That is 40 ms for 10k entries and 0.35-0.4 s for 100k idle; under
 * a churn of 4,000 conn/s, 7-9.5 s for 170-210k entries (TIME_WAIT fills
 * the table).  The kernel can filter a dump (CTA_FILTER, Linux 5.8) at
 * about 0.25 us per entry it skips, but for one family and one port per
 * request, which costs as much as this once a few ports are watched;
 * libnetfilter_conntrack 1.0.9 cannot ask for it anyway.
 */
int
ct_dump(struct ct *ct, int first, char **cause)
{
	uint32_t	 family = AF_UNSPEC;
	int		 r;

	if (ct_dump_begin(ct, first, CT_DRAIN_BUDGET, 0, cause) == -1)
		return -1;
	/*
	 * Unprivileged, the request goes out from the helper, on this very
	 * socket (it holds the same descriptor): nfnetlink checks
	 * CAP_NET_ADMIN when a request arrives, not while its answer is
	 * read, so the dump is read here as ever.
	 */
	if (ct->priv != NULL)
		r = ct->priv(ct->priv_arg, CT_PRIV_DUMP, family) == -1 ? -1 :
		    nfct_catch(ct->dump);
	else
		r = nfct_query(ct->dump, NFCT_Q_DUMP, &family);
	if (r == -1) {
		if (cause != NULL)
			*cause = xasprintf("conntrack table dump: %s",
			    strerror(errno));
		ct_dump_fail(ct);
		return -1;
	}
	/*
	 * A dump reaps the expired entries it meets (TIME_WAIT past its
	 * timeout, not yet collected): they are not in it, and their
	 * DESTROY, with the final counters, is queued now.  Take the events
	 * of the dump's time before deciding what vanished.
	 */
	(void)ct_read(ct, CT_DRAIN_BUDGET, 0);
	ct_dump_end(ct);
	return 0;
}

/*
 * A dump in the loop: the same steps as ct_dump(), its answer read a slice
 * per wakeup (ct_dump_read_cb()) so that the control socket, the logs and
 * the timers are served between slices; a dump of a large table under
 * load takes seconds, and read at once it stalled the whole daemon that
 * long.  Event reads pause meanwhile: the events of the dump's time wait
 * in the socket, as they did, and are read when it ends, so no entry of
 * the dump is ever applied after an event that followed it (a DESTROY
 * read before the stale entry of its flow would bring the flow back).
 * Then, once the queued events are read (the socket empty, or after
 * CT_DRAIN_MS), the resync ends.  resync: after an overrun (counted
 * apart).  0, or -1 with *cause.
 */
static int
ct_dump_start(struct ct *ct, int resync, char **cause)
{
	uint32_t	 family = AF_UNSPEC;
	int		 r;

	if (ct_dump_begin(ct, 0, CT_READ_BUDGET, CT_READ_SLICE_US,
	    cause) == -1)
		return -1;
	if (ct->priv != NULL)
		r = ct->priv(ct->priv_arg, CT_PRIV_DUMP, family);
	else
		r = nfct_send(ct->dump, NFCT_Q_DUMP, &family);
	if (r == -1 || loop_fd_add(ct->loop, nfct_fd(ct->dump), LOOP_READ,
	    ct_dump_read_cb, ct) == -1) {
		if (cause != NULL)
			*cause = xasprintf("conntrack table dump: %s",
			    strerror(errno));
		ct_dump_fail(ct);
		return -1;
	}
	(void)loop_fd_mod(ct->loop, ct->fd, 0);
	ct->dumping = CT_DUMP_READING;
	ct->dump_resync = resync;
	return 0;
}

/* The dump is over, read or failed: events are read again. */
static void
ct_dump_stop(struct ct *ct)
{
	(void)loop_fd_del(ct->loop, nfct_fd(ct->dump));
	if (loop_fd_mod(ct->loop, ct->fd, LOOP_READ) == -1)
		log_warn("ct: conntrack events");
}

/*
 * The events of the dump's time are read (or as many as CT_DRAIN_MS
 * allowed): the resync ends, and is counted.
 */
void
ct_dump_done(struct ct *ct)
{
	ct->dumping = CT_DUMP_IDLE;
	ct_dump_end(ct);
	if (!ct->dump_resync) {
		ct->stats.dumps++;
		return;
	}
	ct->stats.resyncs++;
	/* The next periodic dump is a whole interval away again.  (An
	 * overrun during this one has scheduled its own resync.) */
	if (ct->poll != NULL)
		(void)loop_timer_set(ct->loop, ct->poll, ct->poll_ms);
}

/* A dump failed half way; a resync is tried again in a second. */
static void
ct_dump_abort(struct ct *ct, const char *what, int error)
{
	ct_dump_stop(ct);
	ct_dump_fail(ct);
	ct->dumping = CT_DUMP_IDLE;
	if (log_ratelimit_ok(&ct->rl_error, clock_monotonic()))
		log_warnx("ct: %sconntrack table dump: %s",
		    ct->dump_resync ? "resync: " : "", what != NULL ? what :
		    strerror(error));
	if (ct->dump_resync && ct->resync == NULL &&
	    (ct->resync = loop_timer_add(ct->loop, 1000, ct_resync_cb,
	    ct)) == NULL)
		log_warn("ct: resync timer");
}

/*
 * The attribute of type `type` among those from `start`, len bytes (the
 * message's after its nfgenmsg, or a nest's payload), or NULL.  By hand:
 * libmnl's iteration macros cast const away.
 */
static const struct nlattr *
ct_peek_attr(const void *start, size_t len, uint16_t type)
{
	const struct nlattr	*a = start;
	int			 left = (int)len;

	while (left > 0 && mnl_attr_ok(a, left)) {
		if (mnl_attr_get_type(a) == type)
			return a;
		left -= (int)MNL_ALIGN(a->nla_len);
		a = mnl_attr_next(a);
	}
	return NULL;
}

/* The attribute type inside nest, or NULL. */
static const struct nlattr *
ct_peek_nested(const struct nlattr *nest, uint16_t type)
{
	return ct_peek_attr(mnl_attr_get_payload(nest),
	    mnl_attr_get_payload_len(nest), type);
}

/*
 * A look at a dumped entry without parsing it whole: the original tuple,
 * the id and the start timestamp in msg, as ct_msg_from_nfct() would set
 * them.  Most of a big table is flows of no interest (other ports, other
 * protocols); nfct_nlmsg_parse() reads every attribute of each, at about
 * a microsecond an entry, a third of a dump's cost.  1 if the entry is not
 * TCP, 0 with msg set, -1 if anything looks odd (then the whole parse
 * decides, as it always did).
 */
static int
ct_dump_peek(const struct nlmsghdr *nlh, struct ct_msg *msg)
{
	const struct nfgenmsg	*nfg;
	const struct nlattr	*orig, *ip, *proto, *a, *b;
	const uint8_t		*top;
	size_t			 alen, toplen;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof *nfg))
		return -1;
	nfg = mnl_nlmsg_get_payload(nlh);
	top = (const uint8_t *)nfg + MNL_ALIGN(sizeof *nfg);
	toplen = nlh->nlmsg_len - (size_t)(top - (const uint8_t *)nlh);
	if ((orig = ct_peek_attr(top, toplen, CTA_TUPLE_ORIG)) == NULL ||
	    (proto = ct_peek_nested(orig, CTA_TUPLE_PROTO)) == NULL ||
	    (a = ct_peek_nested(proto, CTA_PROTO_NUM)) == NULL ||
	    mnl_attr_get_payload_len(a) < 1)
		return -1;
	if (mnl_attr_get_u8(a) != IPPROTO_TCP)
		return 1;
	memset(msg, 0, sizeof *msg);
	if ((a = ct_peek_nested(proto, CTA_PROTO_SRC_PORT)) == NULL ||
	    (b = ct_peek_nested(proto, CTA_PROTO_DST_PORT)) == NULL ||
	    mnl_attr_get_payload_len(a) < 2 ||
	    mnl_attr_get_payload_len(b) < 2)
		return -1;
	msg->sport = ntohs(mnl_attr_get_u16(a));
	msg->dport = ntohs(mnl_attr_get_u16(b));
	if ((ip = ct_peek_nested(orig, CTA_TUPLE_IP)) == NULL)
		return -1;
	switch (nfg->nfgen_family) {
	case AF_INET:
		a = ct_peek_nested(ip, CTA_IP_V4_SRC);
		b = ct_peek_nested(ip, CTA_IP_V4_DST);
		alen = 4;
		break;
	case AF_INET6:
		a = ct_peek_nested(ip, CTA_IP_V6_SRC);
		b = ct_peek_nested(ip, CTA_IP_V6_DST);
		alen = 16;
		break;
	default:
		return -1;
	}
	if (a == NULL || b == NULL || mnl_attr_get_payload_len(a) < alen ||
	    mnl_attr_get_payload_len(b) < alen)
		return -1;
	if (alen == 4) {
		addr_from_v4(&msg->src, mnl_attr_get_payload(a));
		addr_from_v4(&msg->dst, mnl_attr_get_payload(b));
	} else {
		addr_from_v6(&msg->src, mnl_attr_get_payload(a));
		addr_from_v6(&msg->dst, mnl_attr_get_payload(b));
	}
	if ((a = ct_peek_attr(top, toplen, CTA_ID)) != NULL) {
		if (mnl_attr_get_payload_len(a) < 4)
			return -1;
		msg->id = ntohl(mnl_attr_get_u32(a));
	}
	if ((a = ct_peek_attr(top, toplen, CTA_TIMESTAMP)) != NULL &&
	    (b = ct_peek_nested(a, CTA_TIMESTAMP_START)) != NULL) {
		if (mnl_attr_get_payload_len(b) < 8)
			return -1;
		msg->start = (int64_t)(be64toh(mnl_attr_get_u64(b)) / 1000);
	}
	msg->type = CT_MSG_DUMP;
	return 0;
}

/*
 * One datagram of the dump's answer: its entries applied.  1 at its end
 * (NLMSG_DONE), 0 to go on, -1 with errno for an error from the kernel.
 */
static int
ct_dump_dgram(struct ct *ct, const uint8_t *buf, size_t len)
{
	const struct nlmsghdr	*nlh;
	const struct nlmsgerr	*err;
	struct nf_conntrack	*obj;
	struct ct_msg		 msg;
	size_t			 off;
	int			 r;

	for (off = 0; off <= len && len - off >= sizeof *nlh;
	    off += NLMSG_ALIGN(nlh->nlmsg_len)) {
		nlh = (const struct nlmsghdr *)(const void *)(buf + off);
		if (nlh->nlmsg_len < sizeof *nlh || nlh->nlmsg_len > len - off)
			break;
		if (nlh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			/* NLMSG_DATA() casts const away. */
			err = (const struct nlmsgerr *)(const void *)(buf +
			    off + NLMSG_HDRLEN);
			if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof *err) ||
			    err->error == 0)
				continue;
			errno = -err->error;
			return -1;
		}
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
		    NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW)
			continue;
		/* Of no interest: counted as the whole parse would have
		 * counted it, and skipped. */
		if ((r = ct_dump_peek(nlh, &msg)) == 1) {
			ct->dump_seen++;
			continue;
		}
		if (r == 0 && ((msg.start != 0 && msg.start >= ct->dump_mark) ||
		    !ctflow_wanted(ct->flows, ct->conf, &msg))) {
			ct->dump_seen++;
			ct->dump_tcp++;
			continue;
		}
		if ((obj = nfct_new()) == NULL)
			fatal("nfct_new");
		if (nfct_nlmsg_parse(nlh, obj) == 0)
			(void)ct_dump_nfct_cb(NFCT_T_UPDATE, obj, ct);
		nfct_destroy(obj);
	}
	return 0;
}

/*
 * A slice of the dump: datagrams until CT_DUMP_SLICE_US have passed or
 * the socket is empty for now (the kernel fills the next datagram as the
 * last one is read).
 */
static void
ct_dump_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct ct		*ct = arg;
	struct sockaddr_nl	 from;
	socklen_t		 fromlen;
	struct loop_budget	 b;
	ssize_t			 n;
	int			 r;

	(void)loop;
	(void)events;
	loop_budget_start(&b, CT_DUMP_SLICE_US, 1);
	do {
		fromlen = sizeof from;
		n = recvfrom(fd, ct->dump_buf, CT_DUMP_BUF,
		    MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ct_dump_abort(ct, NULL, errno);
			return;
		}
		/* Only the kernel, and whole (see ct_read()). */
		if (from.nl_pid != 0)
			continue;
		if (n == 0 || (size_t)n > CT_DUMP_BUF) {
			ct_dump_abort(ct, "a truncated answer", 0);
			return;
		}
		if ((r = ct_dump_dgram(ct, ct->dump_buf, (size_t)n)) == -1) {
			ct_dump_abort(ct, NULL, errno);
			return;
		}
		if (r == 1) {
			ct_dump_stop(ct);
			ct->dumping = CT_DUMP_DRAINING;
			ct->drain_until = clock_monotonic() +
			    CT_DRAIN_MS * CLOCK_US_PER_MS;
			/* Most often they are few: done at once. */
			if (ct_read(ct, CT_READ_BUDGET, CT_READ_SLICE_US))
				ct_dump_done(ct);
			return;
		}
	} while (!loop_budget_spent(&b));
}

int64_t
ct_poll_ms(const struct conf *conf)
{
	int64_t	 ms = conf->ct_poll / CLOCK_US_PER_MS;

	return ms > 0 ? ms : 1000;
}

int64_t
ct_poll_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct ct	*ct = arg;
	char		*cause = NULL;

	(void)loop;
	(void)t;
	/* Often enough that the kernel's 32-bit count cannot wrap twice. */
	(void)nldrop_update(&ct->drops);
	/* A dump still running (a resync, or a slow one) will do; one whose
	 * events were read to the budget's last, the socket then empty and
	 * silent, ends now. */
	if (ct->dumping == CT_DUMP_DRAINING &&
	    clock_monotonic() >= ct->drain_until)
		ct_dump_done(ct);
	if (ct->dumping != CT_DUMP_IDLE)
		return ct->poll_ms;
	if (ct_poll_wanted(ct))
		ct->poll_idle = 0;
	else if (++ct->poll_idle > CT_POLL_GRACE) {
		ct->poll = NULL;
		return LOOP_TIMER_DONE;
	}
	if (ct_dump_start(ct, 0, &cause) == -1) {
		if (log_ratelimit_ok(&ct->rl_error, clock_monotonic()))
			log_warnx("ct: %s", cause);
		free(cause);
	}
	return ct->poll_ms;
}

/*
 * Dumps are for flows: the counters of live ones, and the ones whose end
 * an event did not tell.  With none in the table the next event brings
 * the first (the kernel sends one for every flow, nf_conntrack_events
 * being 1, or 2 while we listen), so the poll sleeps until then, once
 * CT_POLL_GRACE dumps have found the table still empty (the dumps that
 * watch a burst settle go on as before); with events off (0) the dumps
 * are all there is, and never stop.
 */
int
ct_poll_wanted(const struct ct *ct)
{
	struct ctflow_stats	fs;

	if (ct->stats.events_sysctl == 0 || ct->resync != NULL)
		return 1;
	ctflow_get_stats(ct->flows, &fs);
	return fs.flows > 0;
}

/* After events: the poll again if it slept and a flow came. */
void
ct_poll_arm(struct ct *ct)
{
	if (ct->poll != NULL || !ct->started || !ct_poll_wanted(ct))
		return;
	ct->poll_idle = 0;
	if ((ct->poll = loop_timer_add(ct->loop, ct->poll_ms, ct_poll_cb,
	    ct)) == NULL && log_ratelimit_ok(&ct->rl_error, clock_monotonic()))
		log_warn("ct: poll timer");
}

int64_t
ct_resync_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct ct	*ct = arg;
	char		*cause = NULL;

	(void)loop;
	/* A dump under way: its end cancels this resync if no overrun came
	 * since it began; else this runs after it. */
	if (ct->dumping != CT_DUMP_IDLE)
		return CT_RESYNC_DELAY_MS;
	/* Not pending while it runs: its dump must not cancel it. */
	ct->resync = NULL;
	if (ct_dump_start(ct, 1, &cause) == -1) {
		if (log_ratelimit_ok(&ct->rl_error, clock_monotonic()))
			log_warnx("ct: resync: %s", cause);
		free(cause);
		/* Try again, unless a new overrun scheduled a resync. */
		if (ct->resync != NULL)
			return LOOP_TIMER_DONE;
		ct->resync = t;
		return 1000;
	}
	return LOOP_TIMER_DONE;
}
