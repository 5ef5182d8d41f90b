/*
 * libFuzzer target: conntrack message handling, from the netlink datagram
 * to the verdict.  The input is a script of FUZZ_CT_REC-byte records; each
 * becomes a real ctnetlink event message (built by libnetfilter_conntrack
 * itself, so only the kernel's own message shapes occur: the library
 * exit()s on malformed attributes, which is why ct.c accepts datagrams
 * from the kernel alone), several records may share one datagram, a
 * record may instead be a table dump (resync begin, dumped flows read by
 * ct_dump_dgram(), whose quick look must agree with the whole parse, end),
 * and every datagram goes through ct_dgram(): nfct parsing, ct_msg, the
 * flow table's state machine, then the whole detection pipeline (tracker,
 * rules, verdicts) under a configuration with low limits and small
 * tables, so that verdicts and evictions are within reach of one input.
 *
 * Addresses, ports and conntrack ids come from small pools, so that
 * records collide on the same flows and addresses as real traffic does;
 * time moves forward by an amount each record chooses, or backwards a
 * little (clocks do).  Each input starts from empty tables at the same
 * time, so that a crashing input reproduces by itself.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/ct.c"
#include "../../src/ct_dump.c"

#include "conf.h"
#include "ownaddr.h"
#include "pipeline.h"

#define FUZZ_CT_REC		16	/* bytes per record */
#define FUZZ_CT_DGRAM		8192	/* a datagram's buffer */
#define FUZZ_CT_NOW		1795920943000000LL
#define FUZZ_CT_RECS_MAX	256	/* records per input */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct conf	*fuzz_ct_conf;
static struct ct	 fuzz_ct;
static struct pipeline	*fuzz_ct_pipeline;
static int64_t		 fuzz_ct_now = FUZZ_CT_NOW;
static uint64_t		 fuzz_ct_events;

/* Two IPv4 and two IPv6 clients, one of them inside another's /64, plus
 * the server's own address on each side. */
static const uint8_t fuzz_ct_v4[][4] = {
	{ 192, 0, 2, 7 }, { 198, 51, 100, 9 }, { 203, 0, 113, 1 },
	{ 127, 0, 0, 1 },
};
static const uint8_t fuzz_ct_v6[][16] = {
	{ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	{ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
	{ 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
};
/* c2s, c2s TLS, s2s, http, and one nobody watches. */
static const uint16_t fuzz_ct_ports[] = { 5222, 5223, 5269, 5280, 22 };

static void
fuzz_ct_event(const struct event *ev, void *arg)
{
	fuzz_ct_events++;
	pipeline_event(ev, arg);
}

/* Low limits, small tables: verdicts and evictions within 256 records. */
static const char fuzz_ct_conf_text[] =
    "[track]\n"
    "capacity = 16\n"
    "[service c2s]\n"
    "max_concurrent = 3\n"
    "max_new = 5/1m\n"
    "karma = 1k/s burst 4k\n"
    "[service s2s]\n"
    "max_concurrent = 2\n"
    "max_new = 4/1m\n";

static void
fuzz_ct_init(void)
{
	char	 path[64], *cause = NULL;
	int	 fd;

	log_init(1, LOG_LEVEL_ERR);
	/* 0600: a memfd starts at 0777, which conf_load() refuses when
	 * running as root. */
	if ((fd = memfd_create("fuzz_ct_msg", MFD_CLOEXEC)) == -1 ||
	    fchmod(fd, 0600) == -1 ||
	    write(fd, fuzz_ct_conf_text, sizeof(fuzz_ct_conf_text) - 1) !=
	    (ssize_t)sizeof(fuzz_ct_conf_text) - 1)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (conf_load(path, &fuzz_ct_conf, &cause) == -1) {
		fprintf(stderr, "fuzz_ct_msg: configuration: %s\n", cause);
		abort();
	}
	close(fd);
}

/* Empty tables and the same clock for each input. */
static void
fuzz_ct_reset(void)
{
	static struct ownaddr *own;	/* one for every input */
	struct addr	 local[2];

	ctflow_free(fuzz_ct.flows);
	pipeline_free(fuzz_ct_pipeline);
	fuzz_ct_pipeline = pipeline_new(fuzz_ct_conf, NULL, 0x5eed);
	memset(&fuzz_ct, 0, sizeof(fuzz_ct));
	fuzz_ct.conf = fuzz_ct_conf;
	fuzz_ct.cb = fuzz_ct_event;
	fuzz_ct.arg = fuzz_ct_pipeline;
	fuzz_ct.fd = -1;
	if ((fuzz_ct.flows = ctflow_new(64, 0x5eed)) == NULL)
		abort();
	addr_from_v4(&local[0], fuzz_ct_v4[3]);
	addr_from_v6(&local[1], fuzz_ct_v6[3]);
	if (own == NULL)
		own = ownaddr_fixed(local, 2);
	ctflow_set_own(fuzz_ct.flows, own);
	fuzz_ct_now = FUZZ_CT_NOW;
	fuzz_ct_events = 0;
}

/* Appends an attribute to nlh, as the kernel lays it out. */
static struct nlattr *
fuzz_ct_attr(struct nlmsghdr *nlh, uint16_t type, const void *data,
    size_t len)
{
	struct nlattr	*nla;

	nla = (struct nlattr *)(void *)((char *)nlh +
	    NLMSG_ALIGN(nlh->nlmsg_len));
	nla->nla_type = type;
	nla->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len > 0)
		memcpy((char *)nla + NLA_HDRLEN, data, len);
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(nla->nla_len);
	return nla;
}

/* CTA_COUNTERS_ORIG or _REPLY: packets and bytes, big-endian. */
static void
fuzz_ct_counters(struct nlmsghdr *nlh, uint16_t type, uint64_t bytes)
{
	struct nlattr	*nest;
	uint64_t	 v;

	nest = fuzz_ct_attr(nlh, type | NLA_F_NESTED, NULL, 0);
	v = htobe64(bytes / 100);
	(void)fuzz_ct_attr(nlh, CTA_COUNTERS_PACKETS, &v, sizeof(v));
	v = htobe64(bytes);
	(void)fuzz_ct_attr(nlh, CTA_COUNTERS_BYTES, &v, sizeof(v));
	nest->nla_len = (uint16_t)((char *)nlh + nlh->nlmsg_len -
	    (char *)nest);
}

/*
 * One record as a ctnetlink message appended at buf + off: 0 and its
 * aligned length in *len, or -1 if it would not fit.
 *
 *	r[0]	 message type and flags: 0-2 NEW (create), 3-5 UPDATE,
 *		 6-7 DELETE (destroy)
 *	r[1]	 bits 0-1 client, 2 IPv6, 3 client is the server's side
 *		 (the host's own outgoing flow), 4-6 port
 *	r[2]	 TCP state (0-11 covers every state and a few unknown);
 *		 bit 7: no state attribute
 *	r[3]	 status bits: 0 seen reply, 1 assured, 2 offload; bit 7:
 *		 no counters
 *	r[4..5]	 client port
 *	r[6]	 conntrack id (0: no id attribute)
 *	r[7..10] orig bytes (scaled), r[11] reply bytes (scaled)
 */
static int
fuzz_ct_build(const uint8_t *r, uint8_t *buf, size_t off, size_t size,
    size_t *len)
{
	struct nf_conntrack	*obj;
	struct nlmsghdr		*nlh;
	struct nfgenmsg		*nfg;
	int			 v6 = (r[1] >> 2) & 1, ci = r[1] & 3;
	int			 own = (r[1] >> 3) & 1, pi;
	uint8_t			 msgtype;
	uint16_t		 flags = 0;
	uint64_t		 ob, rb;
	uint32_t		 id;

	if (size - off < 2048)
		return -1;
	if ((r[0] & 7) <= 2) {
		msgtype = IPCTNL_MSG_CT_NEW;
		flags = NLM_F_CREATE | NLM_F_EXCL;
	} else if ((r[0] & 7) <= 5)
		msgtype = IPCTNL_MSG_CT_NEW;
	else
		msgtype = IPCTNL_MSG_CT_DELETE;
	pi = ((r[1] >> 4) & 7) % (int)(sizeof(fuzz_ct_ports) /
	    sizeof(fuzz_ct_ports[0]));

	nlh = (struct nlmsghdr *)(void *)(buf + off);
	memset(nlh, 0, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*nfg)));
	nlh->nlmsg_len = NLMSG_HDRLEN;
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msgtype;
	nlh->nlmsg_flags = flags;
	nfg = (struct nfgenmsg *)(void *)((char *)nlh + NLMSG_HDRLEN);
	nfg->nfgen_family = v6 ? AF_INET6 : AF_INET;
	nfg->version = NFNETLINK_V0;
	nlh->nlmsg_len += NLMSG_ALIGN(sizeof(*nfg));

	if ((obj = nfct_new()) == NULL)
		abort();
	nfct_set_attr_u8(obj, ATTR_L3PROTO, v6 ? AF_INET6 : AF_INET);
	nfct_set_attr_u8(obj, ATTR_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u8(obj, ATTR_REPL_L3PROTO, v6 ? AF_INET6 : AF_INET);
	nfct_set_attr_u8(obj, ATTR_REPL_L4PROTO, IPPROTO_TCP);
	if (v6) {
		nfct_set_attr(obj, own ? ATTR_ORIG_IPV6_DST :
		    ATTR_ORIG_IPV6_SRC, fuzz_ct_v6[ci]);
		nfct_set_attr(obj, own ? ATTR_ORIG_IPV6_SRC :
		    ATTR_ORIG_IPV6_DST, fuzz_ct_v6[3]);
		nfct_set_attr(obj, ATTR_REPL_IPV6_SRC, fuzz_ct_v6[3]);
		nfct_set_attr(obj, ATTR_REPL_IPV6_DST, fuzz_ct_v6[ci]);
	} else {
		nfct_set_attr(obj, own ? ATTR_ORIG_IPV4_DST :
		    ATTR_ORIG_IPV4_SRC, fuzz_ct_v4[ci]);
		nfct_set_attr(obj, own ? ATTR_ORIG_IPV4_SRC :
		    ATTR_ORIG_IPV4_DST, fuzz_ct_v4[3]);
		nfct_set_attr(obj, ATTR_REPL_IPV4_SRC, fuzz_ct_v4[3]);
		nfct_set_attr(obj, ATTR_REPL_IPV4_DST, fuzz_ct_v4[ci]);
	}
	nfct_set_attr_u16(obj, ATTR_ORIG_PORT_SRC,
	    htons((uint16_t)(r[4] << 8 | r[5])));
	nfct_set_attr_u16(obj, ATTR_ORIG_PORT_DST, htons(fuzz_ct_ports[pi]));
	nfct_set_attr_u16(obj, ATTR_REPL_PORT_SRC, htons(fuzz_ct_ports[pi]));
	nfct_set_attr_u16(obj, ATTR_REPL_PORT_DST,
	    htons((uint16_t)(r[4] << 8 | r[5])));
	if (!(r[2] & 0x80))
		nfct_set_attr_u8(obj, ATTR_TCP_STATE, r[2] % 12);
	nfct_set_attr_u32(obj, ATTR_STATUS, ((r[3] & 1) ? IPS_SEEN_REPLY : 0) |
	    ((r[3] & 2) ? IPS_ASSURED : 0) | ((r[3] & 4) ? IPS_OFFLOAD : 0));
	if (nfct_nlmsg_build(nlh, obj) == -1) {
		nfct_destroy(obj);
		return -1;
	}
	nfct_destroy(obj);
	/* The library builds what userspace sends; the kernel's events
	 * also carry the id and the counters. */
	if (r[6] != 0) {
		id = htonl(r[6]);
		(void)fuzz_ct_attr(nlh, CTA_ID, &id, sizeof(id));
	}
	if (!(r[3] & 0x80)) {
		ob = ((uint64_t)r[7] << 24 | (uint64_t)r[8] << 16 |
		    (uint64_t)r[9] << 8 | r[10]) << ((r[3] >> 4) & 7);
		rb = (uint64_t)r[11] << (r[11] & 31);
		fuzz_ct_counters(nlh, CTA_COUNTERS_ORIG, ob);
		fuzz_ct_counters(nlh, CTA_COUNTERS_REPLY, rb);
	}
	*len = NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

/*
 * ct_dump_peek() reads a dumped entry without parsing it whole: a TCP flow
 * the whole parse reads, it must read too, and find the same.
 */
static void
fuzz_ct_peek_check(const struct nlmsghdr *nlh)
{
	struct nf_conntrack	*obj;
	struct ct_msg		 whole, peek;
	int			 r;

	if ((obj = nfct_new()) == NULL)
		abort();
	r = nfct_nlmsg_parse(nlh, obj) == 0 ? ct_msg_from_nfct(obj,
	    CT_MSG_DUMP, fuzz_ct_now, &whole) : -1;
	nfct_destroy(obj);
	if (r != 0)
		return;
	if (ct_dump_peek(nlh, &peek) != 0 || !addr_eq(&peek.src, &whole.src) ||
	    !addr_eq(&peek.dst, &whole.dst) || peek.sport != whole.sport ||
	    peek.dport != whole.dport || peek.id != whole.id ||
	    peek.start != whole.start)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 buf[FUZZ_CT_DGRAM], dump[FUZZ_CT_DGRAM];
	const uint8_t		*r;
	size_t			 i, off = 0, len;
	int			 in_dump = 0;

	if (size > FUZZ_CT_RECS_MAX * FUZZ_CT_REC)
		return -1;
	if (fuzz_ct_conf == NULL)
		fuzz_ct_init();
	fuzz_ct_reset();
	for (i = 0; i + FUZZ_CT_REC <= size; i += FUZZ_CT_REC) {
		r = data + i;
		/* Time: forward by up to 2.3 h, or back by up to 63 ms. */
		if (r[13] & 0x80)
			fuzz_ct_now -= (int64_t)(r[13] & 0x3f) * 1000;
		else
			fuzz_ct_now += ((int64_t)r[12] << (r[13] & 15)) * 1000;
		if ((r[0] & 0xf8) == 0xf8) {
			/* A dump: begin, or end (which closes every flow
			 * the dump did not list). */
			if (!in_dump)
				ctflow_resync_begin(fuzz_ct.flows, r[0] & 1);
			else
				ctflow_resync_end(fuzz_ct.flows,
				    fuzz_ct_conf, fuzz_ct_now, fuzz_ct_event,
				    fuzz_ct_pipeline);
			in_dump = !in_dump;
			continue;
		}
		if (in_dump) {
			/* A dumped flow, read as a dump's datagram is. */
			if (fuzz_ct_build(r, dump, 0, sizeof(dump),
			    &len) == -1)
				abort();
			fuzz_ct_peek_check((const struct nlmsghdr *)
			    (const void *)dump);
			clock_fake_start(fuzz_ct_now);
			(void)ct_dump_dgram(&fuzz_ct, dump, len);
			continue;
		}
		if (fuzz_ct_build(r, buf, off, sizeof(buf), &len) == -1) {
			/* The datagram is full: send it, start another. */
			(void)ct_dgram(&fuzz_ct, buf, off, fuzz_ct_now);
			off = 0;
			if (fuzz_ct_build(r, buf, 0, sizeof(buf), &len) == -1)
				abort();
		}
		off += len;
		/* r[14] bit 0: the datagram ends here (else the next
		 * record joins it); r[15] bit 0: cut it short by some
		 * bytes, as a truncated read would be. */
		if ((r[14] & 1) || i + 2 * FUZZ_CT_REC > size) {
			if ((r[15] & 1) && off > (size_t)(r[15] >> 1))
				off -= r[15] >> 1;
			(void)ct_dgram(&fuzz_ct, buf, off, fuzz_ct_now);
			off = 0;
		}
	}
	if (in_dump)
		ctflow_resync_end(fuzz_ct.flows, fuzz_ct_conf, fuzz_ct_now,
		    fuzz_ct_event, fuzz_ct_pipeline);
	/* To see that a seed goes where it should: FUZZ_CT_MSG_DEBUG=1
	 * fuzz_ct_msg SEED prints what it led to. */
	if (getenv("FUZZ_CT_MSG_DEBUG") != NULL) {
		struct pipeline_stats	ps;
		struct ctflow_stats	fs;

		pipeline_get_stats(fuzz_ct_pipeline, &ps);
		ctflow_get_stats(fuzz_ct.flows, &fs);
		fprintf(stderr, "fuzz_ct_msg: %llu events, %llu conns, %llu "
		    "verdicts; flows: %llu msgs, %llu ignored, %llu now, "
		    "%llu half-open, %llu local\n",
		    (unsigned long long)fuzz_ct_events,
		    (unsigned long long)ps.conns,
		    (unsigned long long)ps.verdicts,
		    (unsigned long long)fs.msgs, (unsigned long long)fs.ignored,
		    (unsigned long long)fs.flows,
		    (unsigned long long)fs.halfopen,
		    (unsigned long long)fs.local);
	}
	return 0;
}
