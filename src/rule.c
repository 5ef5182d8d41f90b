/*
 * Rules: which limits apply to an address or a network, whether a state
 * breaks them, and the verdict a person reads when it does.
 *
 * Everything here is a pure function of the configuration and of numbers
 * the tracker passes in; the tracker keeps the counts and the offence
 * history, and calls a check only after the event that may have changed
 * its answer.  That split keeps the wording and the limit arithmetic
 * testable without a table, and keeps the table free of policy.
 *
 * Limits.  A host is judged by its service's max_concurrent, max_new and
 * karma; a network (the tracker's aggregation to track prefix4/prefix6) by
 * net_max_concurrent and net_max_new, and never by karma, which jabberd
 * defined per connection and we keep per address.  An [override] replaces
 * the values it sets (0 or "none" keeps the service's) for every host and
 * network inside one of its networks; when several overrides match, the
 * most specific network wins (a company NAT /32 inside a university /16
 * gets the NAT's limits), and between equally specific ones the first in
 * the file.  The overrides are scanned in full at each call: they are
 * meant for tens of networks, and a configuration with none costs one
 * test.
 *
 * Accounts.  A NAT carries many people; the server's log tells them from
 * a bot, because their connections log in, as many different accounts.
 * Each distinct account the tracker saw log in from a host (or its
 * network) within the max_new window adds the service's allowances to
 * max_concurrent and max_new, up to account_max accounts (net_account_max
 * for a network), so throwaway accounts buy a bounded room.  The tracker
 * counts the accounts; this module only adds, and a reason says which
 * budget applied: "(limit 120 + 150 accounts x 4)".  A limit that is off
 * stays off: accounts never turn a limit on.
 *
 * Allowlisting.  A verdict about a prefix that overlaps an [allow] network
 * or loopback is still produced and recorded, but marked never to be
 * enforced: banning a network would ban the allowed address inside it,
 * and a loopback client is the machine itself.
 *
 * Reasons.  Counts are printed exactly; byte amounts are rounded to the
 * largest binary unit of which they are at least ten (less than 5% off)
 * and karma spans to whole seconds, minutes or hours, so that a reason
 * reads like "karma: c2s budget exhausted: 300k in 10s (10k/s burst
 * 256k)".  The exact numbers are in the verdict's fields.
 */
#include <sys/socket.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "rule.h"
#include "verdict.h"


static int	rule_inside(const struct prefix *, const struct prefix *);
static int	rule_overlap(const struct prefix *, const struct prefix *);
static int	rule_is_net(const struct prefix *);
static void	rule_verdict(const struct rule_subject *, enum verdict_rule,
		    uint64_t, uint64_t, int64_t, struct verdict *);
static void	rule_reason(struct verdict *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static const char *rule_from(const struct rule_subject *, char *, size_t);
static uint64_t	rule_raised(uint32_t, uint32_t, uint32_t);
static const char *rule_fmt_accounts(uint32_t, uint32_t, char *, size_t);
static char	*rule_fmt_bytes(uint64_t, char *, size_t);
static char	*rule_fmt_span(int64_t, char *, size_t);

/* 1 if p lies inside net (as long or longer, same family). */
static int
rule_inside(const struct prefix *p, const struct prefix *net)
{
	return net->len <= p->len && addr_prefix_contains(net, &p->addr);
}

static int
rule_overlap(const struct prefix *a, const struct prefix *b)
{
	return rule_inside(a, b) || rule_inside(b, a);
}

static int
rule_is_net(const struct prefix *p)
{
	return p->len < addr_maxlen(&p->addr);
}

const struct conf_override *
rule_override(const struct conf *conf, const struct prefix *p)
{
	const struct conf_override	*o, *best = NULL;
	int				 i, j, bestlen = -1;

	for (i = 0; i < conf->noverrides; i++) {
		o = &conf->overrides[i];
		for (j = 0; j < o->nnetworks; j++) {
			if (o->networks[j].len > bestlen &&
			    rule_inside(p, &o->networks[j])) {
				best = o;
				bestlen = o->networks[j].len;
			}
		}
	}
	return best;
}

void
rule_limits(const struct conf *conf, const struct conf_service *svc,
    const struct prefix *p, struct rule_limits *lim)
{
	const struct conf_override	*best;

	memset(lim, 0, sizeof(*lim));
	if (rule_is_net(p)) {
		lim->max_concurrent = svc->net_max_concurrent;
		lim->max_new = svc->net_max_new;
	} else {
		lim->max_concurrent = svc->max_concurrent;
		lim->max_new = svc->max_new;
		lim->karma = svc->karma;
	}
	if ((best = rule_override(conf, p)) == NULL)
		return;
	if (best->max_concurrent != 0)
		lim->max_concurrent = best->max_concurrent;
	if (best->max_new.count != 0)
		lim->max_new = best->max_new;
}

void
rule_limits_accounts(const struct conf_service *svc, const struct prefix *p,
    uint32_t accounts, struct rule_limits *lim)
{
	uint32_t	cap = rule_is_net(p) ? svc->net_account_max :
			    svc->account_max;

	lim->accounts = accounts < cap ? accounts : cap;
	lim->account_concurrent = svc->account_allowance_concurrent;
	lim->account_new = svc->account_allowance_new;
}

/* base + accounts x allowance; 0 (off) stays 0. */
static uint64_t
rule_raised(uint32_t base, uint32_t accounts, uint32_t allowance)
{
	if (base == 0)
		return 0;
	/* Both factors are 32 bits: the product fits, and so does the sum
	 * with another 32-bit value. */
	return base + (uint64_t)accounts * allowance;
}

uint64_t
rule_max_concurrent(const struct rule_limits *lim)
{
	return rule_raised(lim->max_concurrent, lim->accounts,
	    lim->account_concurrent);
}

uint64_t
rule_max_new(const struct rule_limits *lim)
{
	return rule_raised(lim->max_new.count, lim->accounts,
	    lim->account_new);
}

/*
 * "", or " + 150 accounts x 4" when accounts raised the limit.  (A rule
 * broken is checked, and its reason written, at every event until the
 * state is back within it: no formatting when there is nothing to add.)
 */
static const char *
rule_fmt_accounts(uint32_t accounts, uint32_t allowance, char *buf,
    size_t size)
{
	if (accounts == 0 || allowance == 0)
		return "";
	snprintf(buf, size, " + %" PRIu32 " account%s x %" PRIu32, accounts,
	    accounts == 1 ? "" : "s", allowance);
	return buf;
}

int
rule_allowlisted(const struct conf *conf, const struct prefix *p)
{
	struct prefix	lo;
	int		i;

	/* 127/8 keeps its first byte in any network of /8 or longer, so
	 * only IPv6 needs the containment test (::1 in ::/64). */
	if (addr_is_loopback(&p->addr))
		return 1;
	if (p->addr.family == AF_INET6 && rule_is_net(p)) {
		memset(&lo, 0, sizeof(lo));
		lo.addr.family = AF_INET6;
		lo.addr.bytes[15] = 1;
		lo.len = 128;
		if (rule_inside(&lo, p))
			return 1;
	}
	for (i = 0; i < conf->nallow; i++) {
		if (rule_overlap(p, &conf->allow[i]))
			return 1;
	}
	for (i = 0; i < conf->nproxies; i++) {
		if (rule_overlap(p, &conf->proxies[i]))
			return 1;
	}
	return 0;
}

static void
rule_verdict(const struct rule_subject *s, enum verdict_rule rule,
    uint64_t observed, uint64_t limit, int64_t window, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->time = s->time;
	v->prefix = *s->prefix;
	v->rule = rule;
	v->service = s->svc != NULL ? s->svc->name : NULL;
	v->observed = observed;
	v->limit = limit;
	v->window = window;
	v->allowlisted = rule_allowlisted(s->conf, s->prefix);
}

/* A reason too long for the verdict (long service names) is cut short;
 * the verdict's fields keep the numbers. */
static void
rule_reason(struct verdict *v, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

/* " from 198.51.100.0/24" for a network, "" for a host. */
static const char *
rule_from(const struct rule_subject *s, char *buf, size_t size)
{
	char	net[ADDR_PREFIX_STRLEN];

	if (!rule_is_net(s->prefix))
		return "";
	snprintf(buf, size, " from %s", addr_prefix_ntop(s->prefix, net,
	    sizeof(net)));
	return buf;
}

int
rule_concurrency(const struct rule_subject *s, const struct rule_limits *lim,
    uint32_t live, struct verdict *v)
{
	char		from[8 + ADDR_PREFIX_STRLEN], l[64];
	uint64_t	max = rule_max_concurrent(lim);

	if (max == 0 || live <= max)
		return 0;
	rule_verdict(s, VERDICT_CONCURRENCY, live, max, 0, v);
	rule_reason(v,
	    "concurrency: %" PRIu32 " live %s connections%s (limit %" PRIu32
	    "%s)", live, s->svc->name, rule_from(s, from, sizeof(from)),
	    lim->max_concurrent, rule_fmt_accounts(lim->accounts,
	    lim->account_concurrent, l, sizeof(l)));
	return 1;
}

int
rule_churn(const struct rule_subject *s, const struct rule_limits *lim,
    uint64_t count, struct verdict *v)
{
	char		from[8 + ADDR_PREFIX_STRLEN], win[32], l[64];
	uint64_t	max = rule_max_new(lim);

	if (max == 0 || count <= max)
		return 0;
	rule_verdict(s, VERDICT_CHURN, count, max, lim->max_new.window, v);
	rule_reason(v,
	    "churn: %" PRIu64 " new %s connections%s in %s (limit %" PRIu32
	    "%s)", count, s->svc->name, rule_from(s, from, sizeof(from)),
	    conf_fmt_duration(lim->max_new.window, win, sizeof(win)),
	    lim->max_new.count, rule_fmt_accounts(lim->accounts,
	    lim->account_new, l, sizeof(l)));
	return 1;
}

int
rule_log(const struct rule_subject *s, enum verdict_rule rule,
    const struct conf_rate *lim, uint64_t count, struct verdict *v)
{
	char	from[8 + ADDR_PREFIX_STRLEN], win[32];

	if (lim->count == 0 || count <= lim->count)
		return 0;
	rule_verdict(s, rule, count, lim->count, lim->window, v);
	rule_reason(v, "%s: %" PRIu64 " %s%s in %s (limit %" PRIu32 ")",
	    verdict_rule_name(rule), count, rule == VERDICT_AUTH ?
	    "failed logins" : "accounts registered", rule_from(s, from,
	    sizeof(from)), conf_fmt_duration(lim->window, win, sizeof(win)),
	    lim->count);
	return 1;
}

/*
 * The verdict's limit is what the budget allowed over the same span (the
 * burst plus the refill), so observed > limit reads as plainly as for the
 * other rules.
 */
int
rule_karma(const struct rule_subject *s, const struct rule_limits *lim,
    int64_t credit, uint64_t spent, int64_t span, struct verdict *v)
{
	char		 from[8 + ADDR_PREFIX_STRLEN], sp[32], sb[32];
	char		 rate[32], burst[32];
	uint64_t	 allowed, secs;

	if (lim->karma.rate == 0 || credit >= 0)
		return 0;
	if (span < 0)
		span = 0;
	secs = (uint64_t)(span / CLOCK_US_PER_SEC);
	if (secs != 0 && lim->karma.rate > (UINT64_MAX - lim->karma.burst) /
	    secs)
		allowed = UINT64_MAX;
	else
		allowed = lim->karma.burst + lim->karma.rate * secs;
	rule_verdict(s, VERDICT_KARMA, spent, allowed, span, v);
	rule_reason(v,
	    "karma: %s budget exhausted: %s%s in %s (%s/s burst %s)",
	    s->svc->name, rule_fmt_bytes(spent, sb, sizeof(sb)),
	    rule_from(s, from, sizeof(from)), rule_fmt_span(span, sp,
	    sizeof(sp)), conf_fmt_size(lim->karma.rate, rate, sizeof(rate)),
	    conf_fmt_size(lim->karma.burst, burst, sizeof(burst)));
	return 1;
}

/* Rounds to the largest binary unit of which n is at least ten. */
static char *
rule_fmt_bytes(uint64_t n, char *buf, size_t size)
{
	uint64_t	unit = 1, down;

	while (unit < ((uint64_t)1 << 40) && n / 10 >= (unit << 10))
		unit <<= 10;
	down = n / unit * unit;
	if (unit > 1 && n - down >= unit / 2 && down <= UINT64_MAX - unit)
		n = down + unit;
	else
		n = down;
	return conf_fmt_size(n, buf, size);
}

/* Whole seconds below ten minutes, minutes below ten hours, then hours. */
static char *
rule_fmt_span(int64_t us, char *buf, size_t size)
{
	int64_t	unit;

	if (us < CLOCK_US_PER_SEC) {
		snprintf(buf, size, "<1s");
		return buf;
	}
	if (us < 600 * CLOCK_US_PER_SEC)
		unit = CLOCK_US_PER_SEC;
	else if (us < 36000 * CLOCK_US_PER_SEC)
		unit = 60 * CLOCK_US_PER_SEC;
	else
		unit = 3600 * CLOCK_US_PER_SEC;
	us = us / unit * unit + (us % unit >= unit / 2 &&
	    us / unit < INT64_MAX / unit ? unit : 0);
	return conf_fmt_duration(us, buf, size);
}
