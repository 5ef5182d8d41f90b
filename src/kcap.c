/*
 * Kernel caps (XEP-0205's "limit at the TCP layer"): each service's
 * max_concurrent and max_new, and their net_ forms per network (track
 * prefix4/prefix6), refused by the kernel itself, per source, with a TCP
 * reset for the one connection over the limit; the connections already
 * established are never touched.  The daemon no longer bans at those
 * limits (the cap refuses, kcap_covers()): an address is banned only when
 * it keeps hammering a cap, refused more than [ban] cap_persist times by
 * one cap in its window; a company NAT one connection over its limit
 * loses that connection, not its 150 users' sessions.
 *
 * The ruleset (kcap_text(), pure, so unit-tested as text).  The nftables
 * backend's base chain jumps, for a new connection (ct state new: only
 * the first packet of a flow, so a limit lowered by a reload never resets
 * an established connection), to the chain "caps": [allow] networks,
 * proxies and loopback return (the interval sets cap_allow4/cap_allow6),
 * then each capped service's ports jump to cap_SERVICE.  There each
 * [override] network goes to a chain of its own with the override's
 * limits, most specific network first and equals in file order, as
 * rule_limits() chooses; the rest meet the service's.  A limit is a rule
 * on a dynamic set keyed by the source address, masked to the network for
 * the net_ limits: `ct count over N` for concurrency, `limit rate over`
 * for churn.  A set element keeps the limit of the rule that created it,
 * so a set's name carries its limit (cap_c2s_c4_10): a reload that keeps
 * a limit keeps its set and counts, one that changes it starts a new set
 * (which counts the connections opened from then on), and the sets and
 * chains no longer named are deleted (kcap_stale_text()), all in the
 * backend's one open transaction.  The sets are bounded ([track]
 * capacity); when one is full a new source is not capped (the kernel
 * cannot add it), which the tracker still sees.
 *
 * Spoofing.  A connection is born under the caps at its SYN (label
 * BORN) and judged once, at the ACK that ends its handshake: conntrack
 * (priority -200) has marked it ASSURED by the time the base chain sees
 * that packet, and nothing a spoofer sends (nor the victim's reset to a
 * stray SYN-ACK, which is `ct state established` too) is.  The churn
 * bucket is updated there, so spoofed SYNs never drain it.  The
 * concurrency count cannot wait so long: nf_conncount adds a connection
 * only at the packet that creates its conntrack entry (asked at a later
 * one it adds nothing: tried on Linux 6.18), so `ct count` runs at the SYN
 * and counts half-open entries until they close.  A victim that resets
 * the SYN-ACKs closes them at once; one whose firewall drops them does
 * not, and spoofed SYNs would fill its count.  So the chain cap_out marks
 * each born connection's first SYN-ACK (SYNACK) and puts the destination
 * of a second one (the server sent it again: unanswered) in cap_half4/6
 * and its network in cap_halfnet, for KCAP_HALF_S; a connection over a
 * concurrency cap from there passes, logged with the letter x (X for a
 * network), and the daemon enforces that address's concurrency itself
 * (kcap_exempt(): the tracker counts only completed handshakes).  The
 * tracker may judge the connection before the nflog message is read, so
 * a covered concurrency verdict is held a few seconds in a ring and
 * released by the exemption.  SYN cookies (never sent again) and the
 * first second of a flood escape this: xmppguard(8) says so.
 *
 * Churn.  The kernel's limit is a token bucket of `burst` packets that
 * refills at r per unit.  The tracker's max_new is "count in a window",
 * so the bucket holds count (a fresh source gets count connections at
 * once, as with the tracker: 30 tries against 20/1h give 20) and refills
 * count per window (300/10m: 30/minute burst 300).  A bucket lets a
 * source that waits for it refill go past count in a window, by at most
 * count more; the tracker still sees such a source.
 *
 * Refusals reach the daemon by nflog (`log group G` on each refusing
 * rule, the packet's first 40 bytes: its source address).  The
 * alternatives: the rules' counters are per rule, not per address, and
 * per-element counters in the dynamic sets would need the sets listed
 * every few seconds to learn who was refused: `nft -j list set` of a
 * dynamic set of 64k addresses takes 0.65 s and 80 MB of nft's memory
 * here (nft 1.0.6, Linux 6.18, 2 CPUs), per set, per poll, growing with
 * the clients, and the answer comes late.  nflog is one message of about
 * 200 bytes per refused SYN, read with libmnl on the loop as conntrack's
 * events are, and costs nothing while nobody is refused; under a flood of
 * refusals the socket's buffer overflows (ENOBUFS, counted as lost) and
 * the refusals themselves go on in the kernel regardless.  In
 * tests/system/41-kernel-caps.sh the daemon has counted the 5 refusals
 * of the held connections by the time xgload reports them.
 *
 * Per-address refusal counts live in a fixed table (htab.c, oldest
 * evicted and counted), keyed by address, service and cap, each a fixed
 * window of cap_persist's length started by its first refusal.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include <libmnl/libmnl.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "fw_int.h"
#include "htab.h"
#include "kcap.h"
#include "log.h"
#include "loop.h"
#include "rule.h"
#include "siphash.h"
#include "status.h"
#include "verdict.h"
#include "xmalloc.h"

#define KCAP_SET_MIN		1024
#define KCAP_SET_MAX		(1U << 20)
#define KCAP_SNAPLEN		40	/* an IPv6 header: the source */
#define KCAP_TABLE_SIZE		16384	/* addresses counted at once */
#define KCAP_BUF		(64 * 1024)
#define KCAP_HALF_S		120	/* an address's unanswered SYN-ACK
					 * exempts it from the concurrency
					 * caps this long (seconds) */
#define KCAP_EXEMPT		KCAP_KINDS	/* kind of an exemption entry */
#define KCAP_HELD_MAX		64	/* concurrency verdicts held */
#define KCAP_HELD_US		(5 * CLOCK_US_PER_SEC)	/* that long */
#define KCAP_EXEMPT_LETTER	'x'	/* an address's */
#define KCAP_EXEMPT_NET_LETTER	'X'	/* its network's */
#define KCAP_SURGE_LETTER	's'	/* the surge cap's refusal */

/*
 * Conntrack label bits (the opening comment says how they are used).  A
 * label, not a ct mark: operators use marks for their own routing and
 * shaping, and nothing else in xmppguard sets or reads labels.  Numeric,
 * so no /etc/connlabel.conf is needed; the high bits, away from the low
 * ones a connlabel.conf names first.
 */
#define KCAP_LABEL_SYNACK	122	/* the server's SYN-ACK went out */
#define KCAP_LABEL_OVER		123	/* over max_concurrent at its SYN */
#define KCAP_LABEL_OVER_NET	124	/* over net_max_concurrent */
#define KCAP_LABEL_REFUSED	125	/* refused: its packets are reset */
#define KCAP_LABEL_BORN		126	/* its SYN met the caps' rules */
#define KCAP_LABEL_JUDGED	127	/* judged, never again */

/* The caps, as letters in set names and nflog prefixes. */
enum kcap_kind {
	KCAP_CONC,		/* c: max_concurrent */
	KCAP_NEW,		/* n: max_new */
	KCAP_NET_CONC,		/* C: net_max_concurrent */
	KCAP_NET_NEW,		/* N: net_max_new */
	KCAP_KINDS
};

static const char kcap_letters[KCAP_KINDS] = { 'c', 'n', 'C', 'N' };
static const char *const kcap_kind_names[KCAP_KINDS] = {
	"concurrency", "churn", "network concurrency", "network churn"
};

/* -1: not probed (caps off), 0: the kernel lacks something, 1: ok. */
static int	kcap_kernel = -1;

struct kcap_entry {
	struct addr	 addr;
	uint8_t		 svc;		/* index in the configuration */
	uint8_t		 kind;
	uint32_t	 count;		/* refusals in the window */
	int64_t		 start;		/* us, the window's first refusal */
};

struct kcap_stats {
	uint64_t	 refusals[KCAP_KINDS];
	uint64_t	 bans;
	uint64_t	 exempt;	/* passed over a concurrency cap */
	uint64_t	 lost;		/* nflog overruns */
	uint64_t	 unknown;	/* messages that were not ours */
	uint64_t	 evicted;
	uint32_t	 tracked;
};

/* A concurrency verdict the caps covered, until an exemption comes. */
struct kcap_held {
	struct verdict		 v;
	int			 svc;	/* -1: free */
};

struct kcap {
	struct loop		*loop;
	const struct conf *const *confp;
	struct mnl_socket	*nl;
	int			 fd;
	struct htab		 h;
	struct kcap_entry	*e;
	verdict_cb		 cb;
	void			*cb_arg;
	kcap_refusal_cb		 rcb;
	void			*rcb_arg;
	struct kcap_stats	 stats;
	struct kcap_held	 held[KCAP_HELD_MAX];	/* a ring */
	size_t			 held_next;
};

static int	kcap_limits_any(const struct conf_service *);
static void	kcap_rules(FILE *, const struct conf *,
		    const struct conf_service *, const char *, const char *,
		    int, const struct conf_override *, int);
static void	kcap_rate(const struct conf_rate *, uint32_t *, const char **,
		    uint32_t *);
static int	kcap_ov_cmp(const void *, const void *);
static int	kcap_named(const char *, const char *, const char *,
		    const char *);
static void	kcap_read_cb(struct loop *, int, int, void *);
static const char *kcap_kind_label(int);
static void	kcap_exempt_net(const struct conf *, struct addr *);
static void	kcap_release(struct kcap *, int, const struct addr *, int,
		    int64_t);
static void	kcap_surge_rules(FILE *, const struct conf *,
		    const struct conf_service *, const char *, const char *);

void
kcap_set_available(int ok)
{
	kcap_kernel = ok;
}

int
kcap_available(void)
{
	return kcap_kernel == 1;
}

static int
kcap_limits_any(const struct conf_service *svc)
{
	return svc->max_concurrent != 0 || svc->max_new.count != 0 ||
	    svc->net_max_concurrent != 0 || svc->net_max_new.count != 0;
}

static int
kcap_wanted(const struct conf *conf)
{
	int	 i;

	if (conf->firewall != CONF_FW_NFTABLES || conf->dry_run)
		return 0;
	for (i = 0; i < conf->nservices; i++)
		if (conf->services[i].kernel_caps &&
		    conf->services[i].nports > 0 &&
		    kcap_limits_any(&conf->services[i]))
			return 1;
	return 0;
}

int
kcap_service_on(const struct conf *conf, const struct conf_service *svc)
{
	return kcap_available() && conf->firewall == CONF_FW_NFTABLES &&
	    !conf->dry_run && svc->kernel_caps && svc->nports > 0 &&
	    kcap_limits_any(svc);
}

int
kcap_covers(const struct conf *conf, const struct verdict *v)
{
	int	 i;

	if ((v->rule != VERDICT_CONCURRENCY && v->rule != VERDICT_CHURN) ||
	    v->service == NULL)
		return 0;
	for (i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, v->service) == 0)
			return kcap_service_on(conf, &conf->services[i]);
	return 0;
}

/*
 * The probe: a throwaway table with one rule of each kind the caps use,
 * checked by the kernel (`nft -c`: validated, never committed).
 */
void
kcap_probe(const struct conf *conf)
{
	static const char *const argv[] = { "nft", "-c", "-f", "-", NULL };
	static const char text[] =
	    "add table inet xmppguard_probe\n"
	    "add set inet xmppguard_probe c { type ipv6_addr; size 16; "
	    "flags dynamic; }\n"
	    "add set inet xmppguard_probe n { type ipv4_addr; size 16; "
	    "flags dynamic, timeout; timeout 1h; }\n"
	    "add set inet xmppguard_probe h { type ipv4_addr; size 16; "
	    "flags dynamic, timeout; timeout 2m; }\n"
	    "add chain inet xmppguard_probe f { type filter hook prerouting "
	    "priority -150; policy accept; }\n"
	    "add rule inet xmppguard_probe f ct state new meta l4proto tcp "
	    "ct label set 126\n"
	    "add rule inet xmppguard_probe f ct direction original "
	    "ct label 125 tcp flags & rst == 0 reject with tcp reset\n"
	    "add rule inet xmppguard_probe f ct status assured "
	    "meta l4proto tcp ct label & (126|127) == 126 ct label set 127 "
	    "add @c { ip6 saddr & ffff:ffff:ffff:ffff:: ct count over 1 } "
	    "ct label set 125 log prefix \"xgcap probe c\" group 1 "
	    "snaplen 40 reject with tcp reset\n"
	    "add rule inet xmppguard_probe f ct status assured "
	    "ct label 123 ip saddr & 255.255.255.0 @h log prefix "
	    "\"xgcap probe x\" group 1 snaplen 40\n"
	    "add chain inet xmppguard_probe o { type filter hook postrouting "
	    "priority -150; policy accept; }\n"
	    "add rule inet xmppguard_probe o ct direction reply ct status ! "
	    "assured ct label & (122|126) == 122|126 tcp flags & (syn|ack) == "
	    "syn|ack update @h { ip daddr & 255.255.255.0 }\n"
	    "add rule inet xmppguard_probe f ct status assured "
	    "meta l4proto tcp "
	    "update @n { ip saddr limit rate over 1/hour burst 1 packets } "
	    "reject with tcp reset\n";
	char	*out = NULL, *cause = NULL;
	int	 r, i, asked = 0;

	for (i = 0; i < conf->nservices; i++)
		asked |= conf->services[i].kernel_caps &&
		    conf->services[i].nports > 0 &&
		    kcap_limits_any(&conf->services[i]);
	if (!kcap_wanted(conf)) {
		kcap_kernel = -1;
		if (asked && !conf->dry_run)
			log_info("kernel caps: off (only the nftables backend "
			    "has them): concurrency and churn are banned at "
			    "the limit");
		return;
	}
	r = fw_exec(argv, text, sizeof text - 1, &out, 4096, 30000, &cause);
	if (r == 0)
		kcap_kernel = 1;
	else {
		kcap_kernel = 0;
		if (out != NULL) {
			out[strcspn(out, "\n")] = '\0';
			out[strnlen(out, 200)] = '\0';
		}
		log_warnx("kernel caps: unavailable (%s): concurrency and "
		    "churn are banned at the limit, as without kernel_caps",
		    cause != NULL ? cause : out != NULL && *out != '\0' ? out :
		    "nft refused the probe");
	}
	free(out);
	free(cause);
}

/*
 * A rate as the kernel's token bucket (see the opening comment): *r per
 * *unit, room for *burst.  The smallest unit in which count per window is
 * a whole number, else a week's, rounded down (never faster).
 */
static void
kcap_rate(const struct conf_rate *rt, uint32_t *r, const char **unit,
    uint32_t *burst)
{
	static const struct {
		const char	*name;
		int64_t		 s;
	} units[] = {
		{ "second", 1 }, { "minute", 60 }, { "hour", 3600 },
		{ "day", 86400 }, { "week", 604800 }
	};
	int64_t		 w = rt->window / CLOCK_US_PER_SEC, x = 0;
	size_t		 i;

	if (w < 1)
		w = 1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		x = (int64_t)rt->count * units[i].s / w;
		if (x >= 1 && (int64_t)rt->count * units[i].s % w == 0)
			break;
	}
	if (i == sizeof units / sizeof units[0])
		i--;
	if (x < 1)
		x = 1;
	if (x > UINT32_MAX)
		x = UINT32_MAX;
	*unit = units[i].name;
	*r = (uint32_t)x;
	*burst = rt->count;
}

/* The sets' size: [track] capacity, within bounds. */
static uint32_t
kcap_set_size(const struct conf *conf)
{
	uint32_t	 size = conf->track_capacity;

	if (size < KCAP_SET_MIN)
		size = KCAP_SET_MIN;
	if (size > KCAP_SET_MAX)
		size = KCAP_SET_MAX;
	return size;
}

/* The set of addresses (plen -1) or networks whose SYN-ACKs went
 * unanswered: cap_half4, cap_halfnet4_24. */
static void
kcap_half_name(char *buf, size_t size, int v6, int plen)
{
	if (plen < 0)
		snprintf(buf, size, "cap_half%d", v6 ? 6 : 4);
	else
		snprintf(buf, size, "cap_halfnet%d_%d", v6 ? 6 : 4, plen);
}

/* "255.255.255.0" or "ffff:ffff:ffff:ffff::" for a prefix length. */
static void
kcap_mask(int v6, int len, char *buf, size_t size)
{
	struct addr	 a;
	int		 i;

	memset(&a, 0, sizeof a);
	a.family = v6 ? AF_INET6 : AF_INET;
	for (i = 0; i < len && i < (v6 ? 128 : 32); i++)
		a.bytes[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	addr_ntop(&a, buf, size);
}

/*
 * The limit rules of one service for one family into chain: the host's
 * limits (those of the override ov, where it sets them), then the
 * network's (the override's too when its network holds the tracker's
 * whole network, as rule_limits() says).
 */
static void
kcap_rules(FILE *f, const struct conf *conf, const struct conf_service *svc,
    const char *t, const char *chain, int v6,
    const struct conf_override *ov, int ovlen)
{
	const char	*ip = v6 ? "ip6" : "ip", *unit;
	char		 mask[ADDR_STRLEN], key[ADDR_STRLEN + 32], name[96];
	char		 half[32];
	struct conf_rate rt;
	uint32_t	 n, r, burst, size;
	int		 k, plen, fam = v6 ? 6 : 4;

	size = kcap_set_size(conf);
	plen = v6 ? conf->track_prefix6 : conf->track_prefix4;
	kcap_mask(v6, plen, mask, sizeof mask);
	for (k = 0; k < KCAP_KINDS; k++) {
		int	 net = k == KCAP_NET_CONC || k == KCAP_NET_NEW;
		int	 use_ov = ov != NULL && (!net || ovlen <= plen);

		n = 0;
		memset(&rt, 0, sizeof rt);
		switch (k) {
		case KCAP_CONC:
			n = svc->max_concurrent;
			break;
		case KCAP_NET_CONC:
			n = svc->net_max_concurrent;
			break;
		case KCAP_NEW:
			rt = svc->max_new;
			break;
		case KCAP_NET_NEW:
			rt = svc->net_max_new;
			break;
		}
		if (use_ov && (k == KCAP_CONC || k == KCAP_NET_CONC) &&
		    ov->max_concurrent != 0)
			n = ov->max_concurrent;
		if (use_ov && (k == KCAP_NEW || k == KCAP_NET_NEW) &&
		    ov->max_new.count != 0)
			rt = ov->max_new;
		if (net)
			snprintf(key, sizeof key, "%s saddr & %s", ip, mask);
		else
			snprintf(key, sizeof key, "%s saddr", ip);
		if (k == KCAP_CONC || k == KCAP_NET_CONC) {
			if (n == 0)
				continue;
			if (net)
				snprintf(name, sizeof name, "cap_%s_%c%d_%d_%"
				    PRIu32, svc->name, kcap_letters[k], fam,
				    plen, n);
			else
				snprintf(name, sizeof name, "cap_%s_%c%d_%"
				    PRIu32, svc->name, kcap_letters[k], fam, n);
			fprintf(f, "add set inet %s %s { type ipv%d_addr; "
			    "size %" PRIu32 "; flags dynamic; }\n", t, name,
			    fam, size);
			/* Counted at the SYN (the kernel counts a connection
			 * when its first packet meets the rule), refused at
			 * the handshake's end. */
			fprintf(f, "add rule inet %s %s ct state new meta "
			    "l4proto tcp add @%s { %s ct count over %" PRIu32
			    " } ct label set %d\n", t, chain, name, key, n,
			    net ? KCAP_LABEL_OVER_NET : KCAP_LABEL_OVER);
			/* An address (network) whose SYN-ACKs go unanswered
			 * is exempt: spoofed SYNs fill its count.  Said to
			 * the daemon, which then bans at the limit. */
			kcap_half_name(half, sizeof half, v6, net ? plen : -1);
			if (conf->ban_cap_persist.count != 0)
				fprintf(f, "add rule inet %s %s ct status "
				    "assured ct label %d %s @%s log prefix \""
				    KCAP_LOG_PREFIX "%s %c\" group %" PRIu32
				    " snaplen %d\n", t, chain,
				    net ? KCAP_LABEL_OVER_NET : KCAP_LABEL_OVER,
				    key, half, svc->name, net ?
				    KCAP_EXEMPT_NET_LETTER : KCAP_EXEMPT_LETTER,
				    conf->ban_cap_group, KCAP_SNAPLEN);
			fprintf(f, "add rule inet %s %s ct status assured "
			    "ct label %d %s != @%s ", t, chain,
			    net ? KCAP_LABEL_OVER_NET : KCAP_LABEL_OVER, key,
			    half);
		} else {
			if (rt.count == 0)
				continue;
			kcap_rate(&rt, &r, &unit, &burst);
			if (net)
				snprintf(name, sizeof name, "cap_%s_%c%d_%d_%"
				    PRIu32 "_%" PRId64, svc->name,
				    kcap_letters[k], fam, plen, rt.count,
				    (int64_t)(rt.window / CLOCK_US_PER_SEC));
			else
				snprintf(name, sizeof name, "cap_%s_%c%d_%"
				    PRIu32 "_%" PRId64, svc->name,
				    kcap_letters[k], fam, rt.count,
				    (int64_t)(rt.window / CLOCK_US_PER_SEC));
			fprintf(f, "add set inet %s %s { type ipv%d_addr; "
			    "size %" PRIu32 "; flags dynamic, timeout; "
			    "timeout %" PRId64 "s; }\n", t, name, fam, size,
			    (int64_t)(rt.window / CLOCK_US_PER_SEC) > 0 ?
			    (int64_t)(rt.window / CLOCK_US_PER_SEC) : 1);
			fprintf(f, "add rule inet %s %s ct status assured "
			    "meta l4proto tcp update @%s { %s limit rate over %" PRIu32 "/%s "
			    "burst %" PRIu32 " packets } ", t, chain, name,
			    key, r, unit, burst);
		}
		if (conf->ban_cap_persist.count != 0)
			fprintf(f, "log prefix \"" KCAP_LOG_PREFIX "%s %c\" "
			    "group %" PRIu32 " snaplen %d ", svc->name,
			    kcap_letters[k], conf->ban_cap_group,
			    KCAP_SNAPLEN);
		fprintf(f, "ct label set %d reject with tcp reset\n",
		    KCAP_LABEL_REFUSED);
	}
}

/* An override's network, for ordering: most specific first, then in the
 * file's order. */
struct kcap_ov {
	const struct conf_override	*ov;
	const struct prefix		*net;
	int				 order;
};

static int
kcap_ov_cmp(const void *a, const void *b)
{
	const struct kcap_ov	*x = a, *y = b;

	if (x->net->len != y->net->len)
		return x->net->len > y->net->len ? -1 : 1;
	return x->order - y->order;
}

/* The allowlist: [allow] networks, proxies, loopback. */
static void
kcap_allow(FILE *f, const struct conf *conf, const char *t)
{
	char	 buf[ADDR_PREFIX_STRLEN];
	int	 v6, i;

	for (v6 = 0; v6 < 2; v6++) {
		fprintf(f, "add set inet %s cap_allow%d { type ipv%d_addr; "
		    "flags interval; auto-merge; }\n", t, v6 ? 6 : 4,
		    v6 ? 6 : 4);
		fprintf(f, "flush set inet %s cap_allow%d\n", t, v6 ? 6 : 4);
		fprintf(f, "add element inet %s cap_allow%d { %s", t,
		    v6 ? 6 : 4, v6 ? "::1/128" : "127.0.0.0/8");
		for (i = 0; i < conf->nallow + conf->nproxies; i++) {
			const struct prefix *p = i < conf->nallow ?
			    &conf->allow[i] : &conf->proxies[i - conf->nallow];

			if ((p->addr.family == AF_INET6) != v6)
				continue;
			fprintf(f, ", %s", addr_prefix_ntop(p, buf,
			    sizeof buf));
		}
		fprintf(f, " }\n");
	}
}

/*
 * The unanswered handshakes (see the opening comment): the sets of
 * addresses and networks whose SYN-ACK the server had to send again, and
 * the chain that fills them, on postrouting so that it sees the SYN-ACKs
 * of local servers and of forwarded ones alike.
 */
static void
kcap_half(FILE *f, const struct conf *conf, const char *t)
{
	char	 name[2][32], mask[ADDR_STRLEN];
	int	 v6, net, plen;

	for (v6 = 0; v6 < 2; v6++) {
		plen = v6 ? conf->track_prefix6 : conf->track_prefix4;
		for (net = 0; net < 2; net++) {
			kcap_half_name(name[net], sizeof name[net], v6,
			    net ? plen : -1);
			fprintf(f, "add set inet %s %s { type ipv%d_addr; "
			    "size %" PRIu32 "; flags dynamic, timeout; "
			    "timeout %ds; }\n", t, name[net], v6 ? 6 : 4,
			    kcap_set_size(conf), KCAP_HALF_S);
		}
	}
	fprintf(f, "add chain inet %s cap_out { type filter hook postrouting "
	    "priority -150; policy accept; }\n", t);
	fprintf(f, "flush chain inet %s cap_out\n", t);
	for (v6 = 0; v6 < 2; v6++) {
		plen = v6 ? conf->track_prefix6 : conf->track_prefix4;
		kcap_half_name(name[0], sizeof name[0], v6, -1);
		kcap_half_name(name[1], sizeof name[1], v6, plen);
		kcap_mask(v6, plen, mask, sizeof mask);
		fprintf(f, "add rule inet %s cap_out ct direction reply ct "
		    "status ! assured ct label & (%d|%d) == %d|%d tcp flags & "
		    "(syn|ack) == syn|ack update @%s { %s daddr } update @%s "
		    "{ %s daddr & %s }\n", t, KCAP_LABEL_SYNACK,
		    KCAP_LABEL_BORN, KCAP_LABEL_SYNACK, KCAP_LABEL_BORN,
		    name[0], v6 ? "ip6" : "ip", name[1], v6 ? "ip6" : "ip",
		    mask);
	}
	fprintf(f, "add rule inet %s cap_out ct direction reply ct status ! "
	    "assured ct label %d tcp flags & (syn|ack) == syn|ack ct label "
	    "set %d\n", t, KCAP_LABEL_BORN, KCAP_LABEL_SYNACK);
}

/*
 * Account levels (the detection's account-aware limits, in the kernel).
 * rule_limits_accounts() raises an address's limits by an allowance for
 * every distinct account that logged in from it in the window, up to
 * account_max (net_account_max for its network).  The kernel cannot
 * count accounts, so the daemon tells it: an address with accounts is
 * put in one of FW_CAP_LEVELS sets per service and family, cap_SVC_l4_K,
 * whose rule (before the service's own, after the overrides') goes to the
 * chain cap_SVC_a4_K, where the limits are raised by the allowances for
 * 2^(K-1) accounts, capped at account_max: 1, 2, 4, ... 256 accounts
 * (account_max's bound), the address's count rounded up to the next
 * level.  Rounded up, so that the kernel never refuses what the detection
 * allows (the detection stays as exact as it was, and judges the rest);
 * by at most a factor of two of the raise, and only while accounts keep
 * logging in.  A handful of levels keeps the chains and sets few (nine
 * per service and family, of which only those up to account_max are
 * written) and the elements change only when the count crosses a power of
 * two.  The network's limits in a level's chain are raised by the same
 * number of accounts, capped at net_account_max: the host's accounts are
 * its network's too.
 *
 * The level sets are plain timeout sets the daemon fills (fw_caps()),
 * each element with a timeout of the window the accounts are counted in,
 * so an address goes back to its base caps by itself when its accounts
 * lapse, daemon or no daemon; a login refreshes it.  An address in two
 * level sets (it moved up) meets the higher one's rule first.  Sets, not
 * a verdict map: an element of a map cannot be moved to another chain by
 * an add (the kernel refuses a key with other data), and a removal of an
 * element that may be missing aborts the transaction on kernels before
 * 6.3; adds to plain sets always pass.  A level's limits are sets of their
 * own (their names carry the limits: an element keeps its rule's limit),
 * so a level's chain also counts each connection, without refusing it,
 * in the concurrency sets of the base caps and of the other levels
 * (kcap_acct_count()): moving up, or lapsing back, finds every connection
 * opened since the address first held a level counted.  The connections
 * it held before that are in the base sets only: its first level lets it
 * hold at most its base limit more, for as long as those stay open.
 * Churn has no such sharing (a level's bucket starts full).
 */
static uint32_t
kcap_acct_value(uint32_t max, int level)
{
	uint32_t	 v = (uint32_t)1 << (level - 1);

	return v < max ? v : max;
}

int
kcap_acct_on(const struct conf *conf, const struct conf_service *svc)
{
	return kcap_service_on(conf, svc) && svc->account_max > 0 &&
	    ((svc->account_allowance_concurrent != 0 &&
	    (svc->max_concurrent != 0 || svc->net_max_concurrent != 0)) ||
	    (svc->account_allowance_new != 0 &&
	    (svc->max_new.count != 0 || svc->net_max_new.count != 0)));
}

int
kcap_acct_level(const struct conf_service *svc, uint32_t accounts)
{
	int	 k;

	if (accounts == 0 || svc->account_max == 0)
		return 0;
	if (accounts > svc->account_max)
		accounts = svc->account_max;
	for (k = 1; k < FW_CAP_LEVELS; k++)
		if (kcap_acct_value(svc->account_max, k) >= accounts)
			break;
	return k;
}

/* base raised by accounts x allowance; 0 (off) stays 0. */
static uint32_t
kcap_acct_raise(uint32_t base, uint32_t accounts, uint32_t allowance)
{
	uint64_t	 v = base + (uint64_t)accounts * allowance;

	if (base == 0)
		return 0;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* The service's limits at level k (host and network raised apart). */
static void
kcap_acct_limits(const struct conf_service *svc, int k,
    struct conf_service *out)
{
	uint32_t	 h = kcap_acct_value(svc->account_max, k);
	uint32_t	 n = kcap_acct_value(svc->net_account_max, k);

	*out = *svc;
	out->max_concurrent = kcap_acct_raise(svc->max_concurrent, h,
	    svc->account_allowance_concurrent);
	out->net_max_concurrent = kcap_acct_raise(svc->net_max_concurrent, n,
	    svc->account_allowance_concurrent);
	out->max_new.count = kcap_acct_raise(svc->max_new.count, h,
	    svc->account_allowance_new);
	out->net_max_new.count = kcap_acct_raise(svc->net_max_new.count, n,
	    svc->account_allowance_new);
}

/*
 * The concurrency set of svc (limit n) for a family, host or network, as
 * kcap_rules() names and declares it, declared into f and named in name.
 */
static void
kcap_acct_conc_set(FILE *f, const struct conf *conf,
    const struct conf_service *svc, const char *t, int v6, int net,
    uint32_t n, char *name, size_t size)
{
	int	 plen = v6 ? conf->track_prefix6 : conf->track_prefix4;

	if (net)
		snprintf(name, size, "cap_%s_C%d_%d_%" PRIu32, svc->name,
		    v6 ? 6 : 4, plen, n);
	else
		snprintf(name, size, "cap_%s_c%d_%" PRIu32, svc->name,
		    v6 ? 6 : 4, n);
	fprintf(f, "add set inet %s %s { type ipv%d_addr; size %" PRIu32
	    "; flags dynamic; }\n", t, name, v6 ? 6 : 4,
	    kcap_set_size(conf));
}

/*
 * In a level's chain, before its limits: the connection counted (never
 * refused) in the concurrency sets of the base caps and of every other
 * level, so that each holds all the connections the address opened since
 * it first held a level: moving up or lapsing back finds them counted.
 * Those it held before its first level are in the base sets only.
 */
static void
kcap_acct_count(FILE *f, const struct conf *conf,
    const struct conf_service *svc, const char *t, const char *chain,
    int v6, int k, int top)
{
	struct conf_service	 lv;
	char			 name[96], mask[ADDR_STRLEN];
	uint32_t		 n;
	int			 j, net, plen;

	plen = v6 ? conf->track_prefix6 : conf->track_prefix4;
	kcap_mask(v6, plen, mask, sizeof mask);
	for (j = 0; j <= top; j++) {
		if (j == k)
			continue;
		if (j == 0)
			lv = *svc;
		else
			kcap_acct_limits(svc, j, &lv);
		for (net = 0; net < 2; net++) {
			n = net ? lv.net_max_concurrent : lv.max_concurrent;
			if (n == 0)
				continue;
			kcap_acct_conc_set(f, conf, svc, t, v6, net, n, name,
			    sizeof name);
			fprintf(f, "add rule inet %s %s ct state new meta "
			    "l4proto tcp add @%s { %s saddr%s%s ct count over "
			    "%" PRIu32 " }\n", t, chain, name,
			    v6 ? "ip6" : "ip", net ? " & " : "",
			    net ? mask : "", n);
		}
	}
}

/*
 * The levels of svc into its chain cap_SVC: their sets, the rules that go
 * to their chains (highest first), and the chains.
 */
static void
kcap_acct_text(FILE *f, const struct conf *conf,
    const struct conf_service *svc, const char *t)
{
	struct conf_service	 raised;
	char			 chain[96];
	int			 v6, k, top;

	if (!kcap_acct_on(conf, svc))
		return;
	top = kcap_acct_level(svc, svc->account_max);
	for (v6 = 0; v6 < 2; v6++) {
		for (k = top; k >= 1; k--) {
			snprintf(chain, sizeof chain, "cap_%s_a%d_%d",
			    svc->name, v6 ? 6 : 4, k);
			fprintf(f, "add set inet %s cap_%s_l%d_%d { type "
			    "ipv%d_addr; size %" PRIu32 "; flags timeout; }\n",
			    t, svc->name, v6 ? 6 : 4, k, v6 ? 6 : 4,
			    kcap_set_size(conf));
			fprintf(f, "add chain inet %s %s\n", t, chain);
			fprintf(f, "flush chain inet %s %s\n", t, chain);
			fprintf(f, "add rule inet %s cap_%s %s saddr "
			    "@cap_%s_l%d_%d goto %s\n", t, svc->name,
			    v6 ? "ip6" : "ip", svc->name, v6 ? 6 : 4, k,
			    chain);
			kcap_acct_count(f, conf, svc, t, chain, v6, k, top);
			kcap_acct_limits(svc, k, &raised);
			kcap_rules(f, conf, &raised, t, chain, v6, NULL, 0);
		}
	}
}

int
kcap_declares(const char *caps, const char *t, const char *set)
{
	return kcap_named(caps, "set", t, set);
}

void
kcap_acct_elements(FILE *f, const char *t, const char *caps,
    const struct fw_cap *c, size_t n, int update)
{
	char	 set[96], a[ADDR_STRLEN];
	size_t	 i;
	int64_t	 s;

	for (i = 0; i < n; i++) {
		snprintf(set, sizeof set, "cap_%s_l%d_%d", c[i].service,
		    c[i].addr.family == AF_INET6 ? 6 : 4, c[i].level);
		/* Only a level the caps in force declare. */
		if (caps == NULL || !kcap_declares(caps, t, set))
			continue;
		addr_ntop(&c[i].addr, a, sizeof a);
		s = c[i].duration / CLOCK_US_PER_SEC;
		if (s < 1)
			s = 1;
		/* A re-add that keeps the old timeout: replaced (add first,
		 * so that the delete cannot fail on a missing element). */
		if (!update)
			fprintf(f, "add element inet %s %s { %s timeout 1s }\n"
			    "delete element inet %s %s { %s }\n", t, set, a,
			    t, set, a);
		fprintf(f, "add element inet %s %s { %s timeout %" PRId64
		    "s }\n", t, set, a, s);
	}
}

void
kcap_text(FILE *f, const struct conf *conf, const char *t)
{
	const struct conf_service *svc;
	struct kcap_ov	*ovs = NULL;
	char		 chain[96], net[ADDR_PREFIX_STRLEN];
	int		 i, j, n = 0, s, v6, any = 0;

	for (s = 0; s < conf->nservices; s++)
		any |= kcap_service_on(conf, &conf->services[s]);
	if (!any)
		return;
	for (i = 0; i < conf->noverrides; i++)
		n += conf->overrides[i].nnetworks;
	if (n > 0)
		ovs = xcalloc((size_t)n, sizeof *ovs);
	n = 0;
	for (i = 0; i < conf->noverrides; i++)
		for (j = 0; j < conf->overrides[i].nnetworks; j++) {
			ovs[n].ov = &conf->overrides[i];
			ovs[n].net = &conf->overrides[i].networks[j];
			ovs[n].order = n;
			n++;
		}
	if (n > 1)
		qsort(ovs, (size_t)n, sizeof *ovs, kcap_ov_cmp);

	kcap_allow(f, conf, t);
	kcap_half(f, conf, t);
	fprintf(f, "add chain inet %s caps\n", t);
	fprintf(f, "flush chain inet %s caps\n", t);
	fprintf(f, "add rule inet %s caps ip saddr @cap_allow4 return\n", t);
	fprintf(f, "add rule inet %s caps ip6 saddr @cap_allow6 return\n",
	    t);
	for (s = 0; s < conf->nservices; s++) {
		svc = &conf->services[s];
		if (!kcap_service_on(conf, svc))
			continue;
		fprintf(f, "add chain inet %s cap_%s\n", t, svc->name);
		fprintf(f, "flush chain inet %s cap_%s\n", t, svc->name);
		fprintf(f, "add rule inet %s caps tcp dport { ", t);
		for (i = 0; i < svc->nports; i++)
			fprintf(f, "%s%u", i ? ", " : "", svc->ports[i]);
		fprintf(f, " } jump cap_%s\n", svc->name);
		for (i = 0; i < n; i++) {
			v6 = ovs[i].net->addr.family == AF_INET6;
			snprintf(chain, sizeof chain, "cap_%s_o%d", svc->name,
			    i);
			fprintf(f, "add chain inet %s %s\n", t, chain);
			fprintf(f, "flush chain inet %s %s\n", t, chain);
			fprintf(f, "add rule inet %s cap_%s %s saddr %s goto "
			    "%s\n", t, svc->name, v6 ? "ip6" : "ip",
			    addr_prefix_ntop(ovs[i].net, net, sizeof net),
			    chain);
			kcap_rules(f, conf, svc, t, chain, v6, ovs[i].ov,
			    ovs[i].net->len);
		}
		kcap_acct_text(f, conf, svc, t);
		snprintf(chain, sizeof chain, "cap_%s", svc->name);
		kcap_rules(f, conf, svc, t, chain, 0, NULL, 0);
		kcap_rules(f, conf, svc, t, chain, 1, NULL, 0);
		kcap_surge_rules(f, conf, svc, t, chain);
	}
	/* Last in the base chain: a banned source is dropped before.  A
	 * connection is born under the caps at its SYN, judged once at its
	 * first packet past the handshake, and a refused one stays refused
	 * (its next packets would complete the server's half-open request). */
	fprintf(f, "add rule inet %s filter ct state new meta l4proto tcp "
	    "ct label set %d jump caps\n", t, KCAP_LABEL_BORN);
	fprintf(f, "add rule inet %s filter ct direction original ct label "
	    "%d tcp flags & rst == 0 reject with tcp reset\n", t,
	    KCAP_LABEL_REFUSED);
	fprintf(f, "add rule inet %s filter ct status assured ct "
	    "direction original meta l4proto tcp ct label & (%d|%d) == %d "
	    "ct label set %d jump caps\n", t, KCAP_LABEL_BORN,
	    KCAP_LABEL_JUDGED, KCAP_LABEL_BORN, KCAP_LABEL_JUDGED);
	free(ovs);
}

/*
 * Surge mode (surge.c), apart from the caps above.  Each service in surge
 * mode has a flag set, surge_SERVICE, of type inet_proto: it holds tcp
 * while a surge is on.  Its chain ends with a churn rule like the caps',
 * keyed by the source, at surge_max_new, for the sources that are not in
 * the known sets (known4, known6: a login within known_days, fed by the
 * daemon, each element with its own timeout) and only while the flag
 * holds tcp.  The switch is the flag's one element, added or removed in
 * one small transaction: no rule is written, flushed or looked up by its
 * handle, a reload's text (which adds the set, never touching elements)
 * keeps a surge on, and the kernel pays one lookup in a one-element set
 * per new connection.  The element has a timeout the daemon renews while
 * the surge lasts, so a daemon gone mid-surge leaves no tight cap behind.
 * [override] networks goto their own chains first: not surge-capped.
 * These sets are not named cap_*, so kcap_stale_text() leaves them (and
 * the known clients) in place when a service stops being capped.
 */
int
kcap_surge_on(const struct conf *conf, const struct conf_service *svc)
{
	return svc->surge && conf->nlogs > 0 && kcap_service_on(conf, svc);
}

static void
kcap_surge_rules(FILE *f, const struct conf *conf,
    const struct conf_service *svc, const char *t, const char *chain)
{
	const char	*ip, *unit;
	char		 name[96];
	uint32_t	 r, burst, size;
	int64_t		 w;
	int		 v6, i, first = 1;

	if (!kcap_surge_on(conf, svc))
		return;
	for (i = 0; i < conf->nservices; i++)
		if (kcap_surge_on(conf, &conf->services[i])) {
			first = &conf->services[i] == svc;
			break;
		}
	size = conf->track_capacity;
	if (size < KCAP_SET_MIN)
		size = KCAP_SET_MIN;
	if (size > KCAP_SET_MAX)
		size = KCAP_SET_MAX;
	if (first)
		for (v6 = 0; v6 < 2; v6++)
			fprintf(f, "add set inet %s known%d { type ipv%d_addr; "
			    "flags timeout; size %" PRIu32 "; }\n", t,
			    v6 ? 6 : 4, v6 ? 6 : 4, size);
	fprintf(f, "add set inet %s surge_%s { type inet_proto; flags "
	    "timeout; }\n", t, svc->name);
	kcap_rate(&svc->surge_max_new, &r, &unit, &burst);
	w = svc->surge_max_new.window / CLOCK_US_PER_SEC;
	if (w < 1)
		w = 1;
	for (v6 = 0; v6 < 2; v6++) {
		ip = v6 ? "ip6" : "ip";
		snprintf(name, sizeof name, "cap_%s_s%d_%" PRIu32 "_%" PRId64,
		    svc->name, v6 ? 6 : 4, svc->surge_max_new.count, w);
		fprintf(f, "add set inet %s %s { type ipv%d_addr; size %"
		    PRIu32 "; flags dynamic, timeout; timeout %" PRId64
		    "s; }\n", t, name, v6 ? 6 : 4, size, w);
		fprintf(f, "add rule inet %s %s ct status assured meta "
		    "l4proto @surge_%s %s saddr != @known%d update @%s { %s "
		    "saddr limit rate over %" PRIu32 "/%s burst %" PRIu32
		    " packets } ct label set %d reject with tcp reset\n", t,
		    chain, svc->name, ip, v6 ? 6 : 4, name, ip, r, unit,
		    burst, KCAP_LABEL_REFUSED);
	}
}

/*
 * An element's timeout set whatever the kernel does with a re-add (some
 * keep the old one): added (nothing if there), deleted, added with it.
 */
static void
kcap_surge_elem(FILE *f, const char *t, const char *set, const char *key,
    int64_t us)
{
	fprintf(f, "add element inet %s %s { %s timeout 1s }\n", t, set, key);
	fprintf(f, "delete element inet %s %s { %s }\n", t, set, key);
	if (us > 0)
		fprintf(f, "add element inet %s %s { %s timeout %" PRId64
		    "s }\n", t, set, key, (int64_t)((us + CLOCK_US_PER_SEC -
		    1) / CLOCK_US_PER_SEC));
}

void
kcap_surge_text(FILE *f, const char *t, const struct fw_op *ops, size_t n,
    int skip_known)
{
	char	 set[CONF_NAME_MAX + 16], a[ADDR_STRLEN];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (ops[i].kind == FW_SURGE) {
			snprintf(set, sizeof set, "surge_%s", ops[i].reason);
			kcap_surge_elem(f, t, set, "tcp", ops[i].duration);
		} else if (ops[i].kind == FW_KNOWN && !skip_known)
			kcap_surge_elem(f, t, ops[i].prefix.addr.family ==
			    AF_INET6 ? "known6" : "known4",
			    addr_ntop(&ops[i].prefix.addr, a, sizeof a),
			    ops[i].duration);
	}
}

/* 1 if text declares "add KIND inet TABLE NAME" (a set or chain). */
static int
kcap_named(const char *text, const char *kind, const char *t,
    const char *name)
{
	char		 pat[256];
	const char	*p;
	size_t		 len;

	len = (size_t)snprintf(pat, sizeof pat, "add %s inet %s %s", kind, t,
	    name);
	if (len >= sizeof pat)
		return 0;
	for (p = text; p != NULL && (p = strstr(p, pat)) != NULL; p += len)
		if (p[len] == ' ' || p[len] == '\n')
			return 1;
	return 0;
}

void
kcap_stale_text(FILE *f, const char *t, const char *listing,
    const char *text)
{
	const char	*p, *nl;
	char		 line[300], kind[16], name[256];
	int		 pass;
	size_t		 len;

	if (listing == NULL)
		return;
	if (text == NULL)
		text = "";
	/* Chains flushed (their rules hold the sets), deleted, then the
	 * sets. */
	for (pass = 0; pass < 3; pass++) {
		for (p = listing; *p != '\0'; p = *nl ? nl + 1 : nl) {
			nl = p + strcspn(p, "\n");
			len = (size_t)(nl - p);
			if (len >= sizeof line)
				continue;
			memcpy(line, p, len);
			line[len] = '\0';
			if (sscanf(line, " %15s %255s {", kind, name) != 2 ||
			    strncmp(name, "cap", 3) != 0 ||
			    strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
			    strlen(name))
				continue;
			if (strcmp(kind, pass == 2 ? "set" : "chain") != 0 ||
			    kcap_named(text, kind, t, name))
				continue;
			if (pass == 0)
				fprintf(f, "flush chain inet %s %s\n", t, name);
			else
				fprintf(f, "delete %s inet %s %s\n", kind, t,
				    name);
		}
	}
}

/*
 * The reader.
 */

struct kcap *
kcap_open(struct loop *loop, const struct conf *const *confp)
{
	const struct conf	*conf = *confp;
	struct kcap		*k;
	struct siphash_key	 key;
	char			 buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr		*nlh;
	struct nfgenmsg		*nfg;
	struct nfulnl_msg_config_mode mode;
	ssize_t			 n;
	int			 s, any = 0;

	for (s = 0; s < conf->nservices; s++)
		any |= kcap_service_on(conf, &conf->services[s]);
	if (!any || conf->ban_cap_persist.count == 0)
		return NULL;
	k = xcalloc(1, sizeof *k);
	k->loop = loop;
	k->confp = confp;
	k->fd = -1;
	if ((k->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(k->nl, 0, MNL_SOCKET_AUTOPID) == -1)
		goto fail;
	/* Bind the group, copy 40 bytes of each packet. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons((uint16_t)conf->ban_cap_group);
	{
		struct nfulnl_msg_config_cmd cmd = { NFULNL_CFG_CMD_BIND };

		mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof cmd, &cmd);
	}
	memset(&mode, 0, sizeof mode);
	mode.copy_mode = NFULNL_COPY_PACKET;
	mode.copy_range = htonl(KCAP_SNAPLEN);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof mode, &mode);
	/* The answer: an ack, or the error (EBUSY: another reader has
	 * the group). */
	if (mnl_socket_sendto(k->nl, nlh, nlh->nlmsg_len) == -1 ||
	    (n = mnl_socket_recvfrom(k->nl, buf, sizeof buf)) == -1 ||
	    mnl_cb_run(buf, (size_t)n, 0, 0, NULL, NULL) == -1)
		goto fail;
	k->fd = mnl_socket_get_fd(k->nl);
	if (loop_fd_add(loop, k->fd, LOOP_READ, kcap_read_cb, k) == -1)
		goto fail;
	siphash_key_random(&key);
	htab_init(&k->h, KCAP_TABLE_SIZE, 1, &key);
	k->e = xcalloc(KCAP_TABLE_SIZE, sizeof *k->e);
	for (s = 0; s < KCAP_HELD_MAX; s++)
		k->held[s].svc = -1;
	log_info("kernel caps: refusals read from nflog group %" PRIu32,
	    conf->ban_cap_group);
	return k;
fail:
	log_warn("kernel caps: nflog group %" PRIu32 ": the caps refuse, "
	    "but no address is banned for hammering them",
	    conf->ban_cap_group);
	if (k->nl != NULL)
		mnl_socket_close(k->nl);
	free(k);
	return NULL;
}

void
kcap_set_verdict_cb(struct kcap *k, verdict_cb cb, void *arg)
{
	if (k == NULL)
		return;
	k->cb = cb;
	k->cb_arg = arg;
}

void
kcap_set_refusal_cb(struct kcap *k, kcap_refusal_cb cb, void *arg)
{
	if (k == NULL)
		return;
	k->rcb = cb;
	k->rcb_arg = arg;
}

/* The entry of want's address, service and kind, or HTAB_NIL; *hp gets
 * the key's hash. */
static uint32_t
kcap_find(struct kcap *k, const struct kcap_entry *want, uint64_t *hp)
{
	uint32_t	 i;

	*hp = htab_hash(&k->h, want, offsetof(struct kcap_entry, count));
	for (i = htab_find(&k->h, *hp); i != HTAB_NIL;
	    i = htab_find_next(&k->h, i, *hp))
		if (memcmp(&k->e[i], want, offsetof(struct kcap_entry,
		    count)) == 0)
			return i;
	return HTAB_NIL;
}

int
kcap_refusal(struct kcap *k, const char *prefix, const struct addr *a,
    int64_t now)
{
	const struct conf	*conf = *k->confp;
	const struct conf_service *svc = NULL;
	struct kcap_entry	 want, *e;
	struct verdict		 v;
	char			 name[CONF_NAME_MAX + 1], letter, win[32];
	uint64_t		 h;
	uint32_t		 i;
	int			 s, kind;

	if (strncmp(prefix, KCAP_LOG_PREFIX, strlen(KCAP_LOG_PREFIX)) != 0 ||
	    sscanf(prefix + strlen(KCAP_LOG_PREFIX), "%32s %c", name,
	    &letter) != 2 || (a->family != AF_INET && a->family != AF_INET6))
		return -1;
	for (kind = 0; kind < KCAP_KINDS; kind++)
		if (kcap_letters[kind] == letter)
			break;
	for (s = 0; s < conf->nservices; s++)
		if (strcmp(conf->services[s].name, name) == 0)
			svc = &conf->services[s];
	if ((kind == KCAP_KINDS && letter != KCAP_EXEMPT_LETTER &&
	    letter != KCAP_EXEMPT_NET_LETTER && letter != KCAP_SURGE_LETTER) ||
	    svc == NULL)
		return -1;
	/* Recorded per address (rollups, status, report); the surge cap's
	 * refusals are not the address's doing and ban nobody. */
	if (k->rcb != NULL && (kind < KCAP_KINDS ||
	    letter == KCAP_SURGE_LETTER))
		k->rcb(a, svc->name, letter == KCAP_SURGE_LETTER ? "surge" :
		    kcap_kind_label(kind), now, k->rcb_arg);
	if (letter == KCAP_SURGE_LETTER)
		return 0;
	if (kind == KCAP_EXEMPT)
		k->stats.exempt++;
	else
		k->stats.refusals[kind]++;
	if (conf->ban_cap_persist.count == 0)
		return 0;
	memset(&want, 0, sizeof want);
	want.addr = *a;
	want.svc = (uint8_t)(svc - conf->services);
	want.kind = (uint8_t)kind;
	if (letter == KCAP_EXEMPT_NET_LETTER)
		kcap_exempt_net(conf, &want.addr);
	i = kcap_find(k, &want, &h);
	if (i == HTAB_NIL) {
		if (htab_used(&k->h) == htab_capacity(&k->h)) {
			htab_remove(&k->h, htab_oldest(&k->h, 0));
			k->stats.evicted++;
		}
		i = htab_insert(&k->h, h, 0);
		k->e[i] = want;
		k->e[i].start = now;
	} else
		htab_touch(&k->h, i, 0);
	e = &k->e[i];
	if (kind == KCAP_EXEMPT) {
		e->start = now;		/* the latest exemption */
		kcap_release(k, want.svc, &want.addr,
		    letter == KCAP_EXEMPT_NET_LETTER, now);
		return 0;
	}
	if (now - e->start > conf->ban_cap_persist.window) {
		e->start = now;
		e->count = 0;
	}
	if (++e->count <= conf->ban_cap_persist.count)
		return 0;
	/* Hammering: a ban as today's, escalation and all. */
	memset(&v, 0, sizeof v);
	v.time = now;
	v.prefix.addr = *a;
	v.prefix.len = (uint8_t)addr_maxlen(a);
	v.rule = kind == KCAP_CONC || kind == KCAP_NET_CONC ?
	    VERDICT_CONCURRENCY : VERDICT_CHURN;
	v.service = svc->name;
	v.observed = e->count;
	v.limit = conf->ban_cap_persist.count;
	v.window = conf->ban_cap_persist.window;
	v.allowlisted = rule_allowlisted(conf, &v.prefix);
	snprintf(v.reason, sizeof v.reason, "refused %" PRIu32 " times by "
	    "the %s %s cap in %s", e->count, svc->name, kcap_kind_names[kind],
	    conf_fmt_duration(conf->ban_cap_persist.window, win, sizeof win));
	htab_remove(&k->h, i);
	k->stats.bans++;
	if (k->cb != NULL)
		k->cb(&v, k->cb_arg);
	return 0;
}

/* An address as its network, the key of a network exemption. */
static void
kcap_exempt_net(const struct conf *conf, struct addr *a)
{
	struct prefix	 p;

	addr_mask(a, a->family == AF_INET6 ? conf->track_prefix6 :
	    conf->track_prefix4, &p);
	*a = p.addr;
}

/*
 * An exemption read: the concurrency verdicts of that address (network)
 * the caps covered in the last seconds, because the tracker judged its
 * connection before the exemption came, are enforced now.
 */
static void
kcap_release(struct kcap *k, int svc, const struct addr *a, int net,
    int64_t now)
{
	const struct conf	*conf = *k->confp;
	struct kcap_held	*hd;
	struct verdict		 v;
	struct addr		 key;
	size_t			 i;

	for (i = 0; i < KCAP_HELD_MAX; i++) {
		hd = &k->held[i];
		if (hd->svc != svc || now - hd->v.time > KCAP_HELD_US ||
		    (hd->v.prefix.len < addr_maxlen(&hd->v.prefix.addr)) !=
		    net)
			continue;
		key = hd->v.prefix.addr;
		if (net)
			kcap_exempt_net(conf, &key);
		if (!addr_eq(&key, a) || svc >= conf->nservices)
			continue;
		v = hd->v;
		v.service = conf->services[svc].name;
		v.capped = 0;
		hd->svc = -1;
		if (k->cb != NULL)
			k->cb(&v, k->cb_arg);
	}
}

int
kcap_exempt(struct kcap *k, const struct verdict *v)
{
	struct kcap_held	*hd;

	const struct conf	*conf;
	struct kcap_entry	 want;
	uint64_t		 h;
	uint32_t		 i;
	int			 s;

	if (k == NULL || v->service == NULL ||
	    (v->rule != VERDICT_CONCURRENCY))
		return 0;
	conf = *k->confp;
	memset(&want, 0, sizeof want);
	for (s = 0; s < conf->nservices; s++)
		if (strcmp(conf->services[s].name, v->service) == 0)
			break;
	if (s == conf->nservices)
		return 0;
	want.addr = v->prefix.addr;
	if (v->prefix.len < addr_maxlen(&v->prefix.addr))
		kcap_exempt_net(conf, &want.addr);
	want.svc = (uint8_t)s;
	want.kind = KCAP_EXEMPT;
	if ((i = kcap_find(k, &want, &h)) != HTAB_NIL && v->time -
	    k->e[i].start <= (int64_t)KCAP_HALF_S * CLOCK_US_PER_SEC)
		return 1;
	/* Held a few seconds: its connection's exemption may be on its
	 * way (nflog and conntrack are read apart). */
	hd = &k->held[k->held_next++ % KCAP_HELD_MAX];
	hd->v = *v;
	hd->svc = s;
	return 0;
}

/* One nflog packet: its prefix and its IP header's source. */
static int
kcap_msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct kcap		*k = arg;
	struct nlattr		*at;	/* mnl casts */
	const char		*prefix = NULL;
	const uint8_t		*pl = NULL;
	uint16_t		 plen = 0;
	struct addr		 a;

	if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
		return MNL_CB_OK;
	mnl_attr_for_each(at, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(at)) {
		case NFULA_PREFIX:
			if (mnl_attr_validate(at, MNL_TYPE_NUL_STRING) == 0)
				prefix = mnl_attr_get_str(at);
			break;
		case NFULA_PAYLOAD:
			pl = mnl_attr_get_payload(at);
			plen = mnl_attr_get_payload_len(at);
			break;
		}
	}
	memset(&a, 0, sizeof a);
	if (pl != NULL && plen >= 20 && (pl[0] >> 4) == 4)
		addr_from_v4(&a, pl + 12);
	else if (pl != NULL && plen >= 40 && (pl[0] >> 4) == 6)
		addr_from_v6(&a, pl + 8);
	if (prefix == NULL || kcap_refusal(k, prefix, &a,
	    clock_realtime()) == -1)
		k->stats.unknown++;
	return MNL_CB_OK;
}

/* Reads what is there, a bounded number of messages an iteration. */
static void
kcap_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct kcap	*k = arg;
	char		*buf;
	ssize_t		 n;
	int		 i;

	(void)loop;
	(void)fd;
	(void)events;
	buf = xmalloc(KCAP_BUF);
	for (i = 0; i < 64; i++) {
		n = recv(k->fd, buf, KCAP_BUF, MSG_DONTWAIT);
		if (n == -1) {
			if (errno == ENOBUFS) {
				k->stats.lost++;
				continue;
			}
			break;
		}
		if (n == 0)
			break;
		(void)mnl_cb_run(buf, (size_t)n, 0, 0, kcap_msg_cb, k);
	}
	free(buf);
}

void
kcap_close(struct kcap *k)
{
	if (k == NULL)
		return;
	if (k->fd != -1)
		loop_fd_del(k->loop, k->fd);
	mnl_socket_close(k->nl);
	htab_clear(&k->h);
	free(k->e);
	free(k);
}

struct kcap_status {
	int		 on;
	struct kcap_stats st;
};

static void
kcap_status_get(const void *obj, size_t i, void *snap)
{
	const struct kcap	*k = obj;
	struct kcap_status	*s = snap;

	(void)i;
	memset(s, 0, sizeof *s);
	s->on = kcap_available();
	if (k == NULL)
		return;
	s->st = k->stats;
	s->st.tracked = htab_used(&k->h);
}

static const char *
kcap_kind_label(int i)
{
	static const char *const l[KCAP_KINDS] = {
		"concurrency", "churn", "net_concurrency", "net_churn"
	};

	return i >= 0 && i < KCAP_KINDS ? l[i] : NULL;
}

#define KS(f)	offsetof(struct kcap_status, st.f)
static const struct status_field kcap_status_fields[] = {
	{ .name = "on", .type = STATUS_BOOL,
	  .off = offsetof(struct kcap_status, on), .kind = STATUS_GAUGE,
	  .metric = "xmppguard_kernel_caps", .help = "1 if the kernel "
	  "refuses connections over the services' limits (kernel_caps).",
	  .text = "kernel caps %" },
	{ .name = "refused", .type = STATUS_U64, .off = KS(refusals),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_refused_total",
	  .help = "Connections refused by a kernel cap, by cap.",
	  .n = KCAP_KINDS, .by = "cap", .by_name = kcap_kind_label },
	{ .name = "bans", .type = STATUS_U64, .off = KS(bans),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_bans_total",
	  .help = "Addresses banned for hammering a kernel cap "
	  "(cap_persist).", .text = "% banned for hammering" },
	{ .name = "exempt", .type = STATUS_U64, .off = KS(exempt),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_exempt_total",
	  .help = "Connections over a concurrency cap let through: their "
	  "address's SYN-ACKs went unanswered (spoofed SYNs).",
	  .text = "% exempt" },
	{ .name = "lost", .type = STATUS_U64, .off = KS(lost),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_lost_total",
	  .help = "nflog overruns: refusals the daemon did not read.",
	  .text = "% overruns" },
	{ .name = "unknown", .type = STATUS_U64, .off = KS(unknown),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_unknown_total",
	  .help = "nflog messages that were not a kernel cap's refusal." },
	{ .name = "evicted", .type = STATUS_U64, .off = KS(evicted),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_evicted_total",
	  .help = "Refusal counts dropped, the table being full." },
	{ .name = "tracked", .type = STATUS_U32, .off = KS(tracked),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_cap_tracked",
	  .help = "Addresses whose refusals are being counted.",
	  .text = "% counted" },
	{ .name = NULL }
};
#undef KS

const struct status_group kcap_status_group = {
	.name = "caps",
	.text = "caps",
	.fields = kcap_status_fields,
	.size = sizeof(struct kcap_status),
	.get = kcap_status_get,
};

/*
 * The refusals' counter alone, for replay: the table kcap_refusal()
 * counts in, without the nflog socket or a loop, so a replayed refusal
 * is counted, and an address hammering a cap banned, by the daemon's
 * own code.  The key is seeded (a replay gives the same answer twice).
 */
struct kcap *
kcap_counter_new(const struct conf *const *confp, uint32_t seed)
{
	const struct conf	*conf = *confp;
	struct kcap		*k;
	struct siphash_key	 key;
	int			 s, any = 0;

	for (s = 0; s < conf->nservices; s++)
		any |= kcap_service_on(conf, &conf->services[s]);
	if (!any || conf->ban_cap_persist.count == 0)
		return NULL;
	k = xcalloc(1, sizeof *k);
	k->confp = confp;
	k->fd = -1;
	siphash_key_seed(&key, seed);
	htab_init(&k->h, KCAP_TABLE_SIZE, 1, &key);
	k->e = xcalloc(KCAP_TABLE_SIZE, sizeof *k->e);
	for (s = 0; s < KCAP_HELD_MAX; s++)
		k->held[s].svc = -1;
	return k;
}

void
kcap_counter_free(struct kcap *k)
{
	if (k == NULL)
		return;
	htab_clear(&k->h);
	free(k->e);
	free(k);
}
