/*
 * The kernel caps' ruleset, as text for `nft -f` (pure: unit-tested as
 * text, tests/unit/test_kcap_text.c): the caps of each service, the
 * allowlist, the unanswered handshakes, the account levels, surge mode's
 * rules and switch, and the deletion of the caps a reload no longer
 * names.  kcap.c probes the kernel and reads the refusals back.
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
 * (kcap_exempt(): the tracker counts only completed handshakes).  While
 * it is there, its new connections are not counted at all: nf_conncount
 * keeps a list per key of the connections it counts and walks it at an
 * add (once a jiffy), so a flood of spoofed SYNs from one network made the
 * kernel many times slower (100,000 from one /64: 92 s against 5.6 s
 * without the caps); now the list stops growing a second into the flood.
 * A connection opened meanwhile is missing from the count once the
 * exemption lapses, which lets the address that many more for as long as
 * it stays open; the daemon banned it at the limit meanwhile if it was
 * over.  SYN cookies (never sent again) and the first second of a flood
 * escape this: xmppguard(8) says so.
 *
 * Churn.  The kernel's limit is a token bucket of `burst` packets that
 * refills at r per unit.  The tracker's max_new is "count in a window",
 * so the bucket holds count (a fresh source gets count connections at
 * once, as with the tracker: 30 tries against 20/1h give 20) and refills
 * count per window (300/10m: 30/minute burst 300).  A bucket lets a
 * source that waits for it refill go past count in a window, by at most
 * count more; the tracker still sees such a source.
 */
#include <sys/socket.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "fw_int.h"
#include "kcap.h"
#include "kcap_int.h"
#include "xmalloc.h"

static void	kcap_rules(FILE *, const struct conf *,
		    const struct conf_service *, const char *, const char *,
		    int, const struct conf_override *, int);
static void	kcap_rate(const struct conf_rate *, uint32_t *, const char **,
		    uint32_t *);
static int	kcap_ov_cmp(const void *, const void *);
static int	kcap_named(const char *, const char *, const char *,
		    const char *);
static void	kcap_surge_rules(FILE *, const struct conf *,
		    const struct conf_service *, const char *, const char *,
		    int);

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
			 * the handshake's end.  Not while the source's SYN-ACKs
			 * go unanswered (see the opening comment). */
			kcap_half_name(half, sizeof half, v6, net ? plen : -1);
			fprintf(f, "add rule inet %s %s ct state new meta "
			    "l4proto tcp %s != @%s add @%s { %s ct count over %"
			    PRIu32 " } ct label set %d\n", t, chain, key, half,
			    name, key, n, net ? KCAP_LABEL_OVER_NET :
			    KCAP_LABEL_OVER);
			/* An address (network) whose SYN-ACKs go unanswered
			 * is exempt: spoofed SYNs would fill its count.  Each
			 * handshake it completes meanwhile is said to the
			 * daemon, which then bans at the limit. */
			fprintf(f, "add rule inet %s %s ct status assured %s "
			    "@%s log prefix \"" KCAP_LOG_PREFIX "%s %c\" group "
			    "%" PRIu32 " snaplen %d\n", t, chain, key, half,
			    svc->name, net ? KCAP_EXEMPT_NET_LETTER :
			    KCAP_EXEMPT_LETTER, conf->ban_cap_group,
			    KCAP_SNAPLEN);
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
			    "meta l4proto tcp update @%s { %s limit rate over "
			    "%" PRIu32 "/%s burst %" PRIu32 " packets } ", t,
			    chain, name, key, r, unit, burst);
		}
		fprintf(f, "log prefix \"" KCAP_LOG_PREFIX "%s %c\" group %"
		    PRIu32 " snaplen %d ", svc->name, kcap_letters[k],
		    conf->ban_cap_group, KCAP_SNAPLEN);
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
 *
 * One lookup for an address with no level.  Every connection to a
 * service met the level rules, one set lookup each, at its SYN and again
 * at its handshake's end: 2 x 9 lookups with account_max 256, most of
 * the caps' cost to the connection rate for the many addresses that hold
 * no level.  So the addresses that hold any level are also in one set per
 * family, cap_SVC_l4 (filled beside the level sets, same timeout), and
 * the service's chain looks there first: only an address found goes to
 * the chain cap_SVC_a4, where the level rules are.  That chain ends with
 * the service's own caps, for an address in cap_SVC_l4 and in no level
 * set: its level set was deleted by a reload (account_max lowered), or
 * its level lapsed a jiffy before.  The set's element is refreshed with
 * each level's, so it outlives them; only a reload that shortens the
 * window can leave an address in a level (its old timeout) and out of
 * cap_SVC_l4 (the new), at its base caps until the level lapses.
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
	char			 name[96], mask[ADDR_STRLEN], half[32];
	char			 key[ADDR_STRLEN + 32];
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
			snprintf(key, sizeof key, "%s saddr%s%s",
			    v6 ? "ip6" : "ip", net ? " & " : "",
			    net ? mask : "");
			kcap_half_name(half, sizeof half, v6, net ? plen : -1);
			fprintf(f, "add rule inet %s %s ct state new meta "
			    "l4proto tcp %s != @%s add @%s { %s ct count over "
			    "%" PRIu32 " }\n", t, chain, key, half, name, key,
			    n);
		}
	}
}

/*
 * The levels of svc into its chain cap_SVC: per family, the set of the
 * addresses at any level and the rule that sends them to the levels'
 * chain; there, the levels' sets, the rules that go to their chains
 * (highest first), and the service's own caps last; the levels' chains.
 */
static void
kcap_acct_text(FILE *f, const struct conf *conf,
    const struct conf_service *svc, const char *t)
{
	struct conf_service	 raised;
	char			 chain[96], levels[96];
	const char		*ip;
	int			 v6, k, top, fam;

	if (!kcap_acct_on(conf, svc))
		return;
	top = kcap_acct_level(svc, svc->account_max);
	for (v6 = 0; v6 < 2; v6++) {
		ip = v6 ? "ip6" : "ip";
		fam = v6 ? 6 : 4;
		snprintf(levels, sizeof levels, "cap_%s_a%d", svc->name, fam);
		fprintf(f, "add set inet %s cap_%s_l%d { type ipv%d_addr; "
		    "size %" PRIu32 "; flags timeout; }\n", t, svc->name, fam,
		    fam, kcap_set_size(conf));
		fprintf(f, "add chain inet %s %s\n", t, levels);
		fprintf(f, "flush chain inet %s %s\n", t, levels);
		fprintf(f, "add rule inet %s cap_%s %s saddr @cap_%s_l%d goto "
		    "%s\n", t, svc->name, ip, svc->name, fam, levels);
		for (k = top; k >= 1; k--) {
			snprintf(chain, sizeof chain, "cap_%s_a%d_%d",
			    svc->name, fam, k);
			fprintf(f, "add set inet %s cap_%s_l%d_%d { type "
			    "ipv%d_addr; size %" PRIu32 "; flags timeout; }\n",
			    t, svc->name, fam, k, fam, kcap_set_size(conf));
			fprintf(f, "add chain inet %s %s\n", t, chain);
			fprintf(f, "flush chain inet %s %s\n", t, chain);
			fprintf(f, "add rule inet %s %s %s saddr "
			    "@cap_%s_l%d_%d goto %s\n", t, levels, ip,
			    svc->name, fam, k, chain);
			kcap_acct_count(f, conf, svc, t, chain, v6, k, top);
			kcap_acct_limits(svc, k, &raised);
			kcap_rules(f, conf, &raised, t, chain, v6, NULL, 0);
		}
		/* In no level after all: the service's own caps. */
		kcap_rules(f, conf, svc, t, levels, v6, NULL, 0);
		kcap_surge_rules(f, conf, svc, t, levels, v6);
	}
}

int
kcap_declares(const char *caps, const char *t, const char *set)
{
	return kcap_named(caps, "set", t, set);
}

void
kcap_acct_set(char *buf, size_t size, const struct fw_cap *c, int any)
{
	if (any)
		snprintf(buf, size, "cap_%s_l%d", c->service,
		    c->addr.family == AF_INET6 ? 6 : 4);
	else
		snprintf(buf, size, "cap_%s_l%d_%d", c->service,
		    c->addr.family == AF_INET6 ? 6 : 4, c->level);
}

void
kcap_acct_elements(FILE *f, const char *t, const char *caps,
    const struct fw_cap *c, size_t n, int update)
{
	char	 set[96], a[ADDR_STRLEN];
	size_t	 i;
	int64_t	 s;
	int	 any;

	for (i = 0; i < n; i++) {
		/* The level's set, then the set of every level's. */
		for (any = 0; any < 2; any++) {
			kcap_acct_set(set, sizeof set, &c[i], any);
			/* Only a level the caps in force declare. */
			if (caps == NULL || !kcap_declares(caps, t, set))
				break;
			addr_ntop(&c[i].addr, a, sizeof a);
			s = c[i].duration / CLOCK_US_PER_SEC;
			if (s < 1)
				s = 1;
			/* A re-add that keeps the old timeout: replaced (add
			 * first, so that the delete cannot fail on a missing
			 * element). */
			if (!update)
				fprintf(f, "add element inet %s %s { %s "
				    "timeout 1s }\ndelete element inet %s %s "
				    "{ %s }\n", t, set, a, t, set, a);
			fprintf(f, "add element inet %s %s { %s timeout %"
			    PRId64 "s }\n", t, set, a, s);
		}
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
		kcap_surge_rules(f, conf, svc, t, chain, -1);
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

/* The surge rules of svc into chain, for one family (only: 0 IPv4, 1
 * IPv6) or both (-1). */
static void
kcap_surge_rules(FILE *f, const struct conf *conf,
    const struct conf_service *svc, const char *t, const char *chain,
    int only)
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
	size = kcap_set_size(conf);
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
		if (only != -1 && v6 != only)
			continue;
		ip = v6 ? "ip6" : "ip";
		snprintf(name, sizeof name, "cap_%s_s%d_%" PRIu32 "_%" PRId64,
		    svc->name, v6 ? 6 : 4, svc->surge_max_new.count, w);
		fprintf(f, "add set inet %s %s { type ipv%d_addr; size %"
		    PRIu32 "; flags dynamic, timeout; timeout %" PRId64
		    "s; }\n", t, name, v6 ? 6 : 4, size, w);
		fprintf(f, "add rule inet %s %s ct status assured meta "
		    "l4proto @surge_%s %s saddr != @known%d update @%s { %s "
		    "saddr limit rate over %" PRIu32 "/%s burst %" PRIu32
		    " packets } log prefix \"" KCAP_LOG_PREFIX "%s %c\" group %"
		    PRIu32 " snaplen %d ct label set %d reject with tcp "
		    "reset\n", t, chain, svc->name, ip, v6 ? 6 : 4, name, ip,
		    r, unit, burst, svc->name, KCAP_SURGE_LETTER,
		    conf->ban_cap_group, KCAP_SNAPLEN, KCAP_LABEL_REFUSED);
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
