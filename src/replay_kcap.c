/*
 * Replay of the kernel caps (kcap.c): which of the capture's connections
 * the per-source rules would have refused, with each address's caps
 * raised to its account level as the replayed logins earn it and lowered
 * when the level lapses, as the daemon tells the kernel (pipeline_caps(),
 * fw_caps()).  Replay takes the caps as present, as it does for surge
 * mode: it tells what the daemon would do on a server that has them.
 *
 * The model follows the ruleset, not the tracker.  Each dynamic set is an
 * element table keyed as the kernel keys it: the source (masked to [track]
 * prefix4/prefix6 for the net_ limits), the service, the kind and the
 * limit, since a set's name carries its limit (two chains with one limit
 * share a set, as in the kernel).  A connection goes to one chain: none
 * for [allow] networks, proxies and loopback; an [override] network's
 * own; the chain of the highest account level the address holds (a level
 * element lives the accounts' window, at least a second, from the last
 * login that set it); else the service's.  There, in the rules' order,
 * the host's concurrency, its churn, the network's concurrency and its
 * churn: concurrency counts the live connections added to the set (the
 * new one too: `ct count over N` refuses the N+1th), churn is a token
 * bucket of count refilled count per window, created full and forgotten a
 * window after its last use (the set's timeout).  A level's chain also
 * adds the connection, without judging it, to the concurrency sets of the
 * base caps and of every other level (kcap_acct_count()), so moving up or
 * lapsing back finds it counted.  A refused connection is reset at once
 * and counts nowhere; the tracker still sees it (it completed its
 * handshake), so it goes on to the pipeline all the same.  A live
 * connection leaves its sets at its first FIN/RST or its end.
 *
 * What the kernel does and this does not: the exemption of addresses
 * whose SYN-ACKs go unanswered (a capture has no SYN-ACKs), and counting
 * half-open connections (only handshakes are replayed).  Connections
 * live when the capture began are not counted.
 *
 * Memory: the elements, the levels and the live flows are bounded tables
 * (htab.c, the oldest evicted and counted), sized from [track] capacity
 * and [conntrack] flows_max.
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "event.h"
#include "fw.h"
#include "htab.h"
#include "kcap.h"
#include "replay_int.h"
#include "rule.h"
#include "siphash.h"
#include "track.h"
#include "xmalloc.h"

/* The rules' kinds, in the order a chain judges them (kcap_rules()). */
enum replay_kcap_kind {
	REPLAY_KCAP_CONC,
	REPLAY_KCAP_NEW,
	REPLAY_KCAP_NET_CONC,
	REPLAY_KCAP_NET_NEW
};

/* Their letters in the refusing rules' nflog prefixes (kcap.c). */
static const char replay_kcap_letters[] = "cnCN";

/* One element of one dynamic set. */
struct replay_kelem {
	struct addr	 addr;		/* the source, masked for networks */
	uint8_t		 svc;		/* index in the configuration */
	uint8_t		 kind;
	uint8_t		 pad[2];
	uint32_t	 limit;		/* N, or the rate's count */
	int64_t		 window;	/* the rate's; 0 for concurrency */
	uint32_t	 live;		/* connections counted */
	double		 tokens;
	int64_t		 last;		/* us, the bucket's last use */
};
#define REPLAY_KELEM_KEY	offsetof(struct replay_kelem, live)

/* The level elements of one host in one service. */
struct replay_klevel {
	struct addr	 addr;
	uint8_t		 svc;
	uint8_t		 pad[7];
	int64_t		 until[FW_CAP_LEVELS + 1];	/* us, by level */
};
#define REPLAY_KLEVEL_KEY	offsetof(struct replay_klevel, until)

/* A connection counted, until it closes. */
struct replay_kflow {
	struct addr	 addr;
	uint16_t	 sport;
	uint8_t		 pad[6];
	uint64_t	 flow;
	uint8_t		 svc;		/* key ends here */
	uint8_t		 level;		/* its chain: 0 base or override */
};
#define REPLAY_KFLOW_KEY	offsetof(struct replay_kflow, svc)

/* The limits of one chain. */
struct replay_klimits {
	uint32_t	 conc, net_conc;
	struct conf_rate new, net_new;
};

/* A connection's concurrency sets, each at most once: 2 per level. */
#define REPLAY_KSETS_MAX	(2 * (FW_CAP_LEVELS + 1))

struct replay_kcap {
	const struct conf	*conf;
	uint8_t			*on;		/* by service: capped */
	uint8_t			*acct;		/* by service: levels */
	struct htab		 he;
	struct replay_kelem	*e;
	struct htab		 hl;
	struct replay_klevel	*l;
	struct htab		 hf;
	struct replay_kflow	*f;
	struct replay_kcap_stats st;
	int			 last_svc;	/* the last refusal's */
	int			 last_kind;
};

struct replay_kcap *
replay_kcap_new(const struct conf *conf, uint32_t seed)
{
	struct replay_kcap	*rk;
	struct siphash_key	 key;
	uint32_t		 cap;
	int			 was = kcap_available(), i;

	rk = xcalloc(1, sizeof *rk);
	rk->conf = conf;
	rk->on = xcalloc((size_t)conf->nservices + 1, 1);
	rk->acct = xcalloc((size_t)conf->nservices + 1, 1);
	/* The caps as present while the services are chosen. */
	kcap_set_available(1);
	for (i = 0; i < conf->nservices; i++) {
		rk->on[i] = (uint8_t)kcap_service_on(conf,
		    &conf->services[i]);
		rk->acct[i] = (uint8_t)kcap_acct_on(conf, &conf->services[i]);
	}
	kcap_set_available(was ? 1 : -1);
	/* Elements: a host's and its network's, of a few limits each. */
	cap = conf->track_capacity > 1024 ? conf->track_capacity : 1024;
	siphash_key_seed(&key, seed);
	htab_init(&rk->he, 4 * cap, 1, &key);
	rk->e = xcalloc(htab_capacity(&rk->he), sizeof *rk->e);
	htab_init(&rk->hl, cap, 1, &key);
	rk->l = xcalloc(htab_capacity(&rk->hl), sizeof *rk->l);
	htab_init(&rk->hf, conf->ct_flows_max > 1024 ? conf->ct_flows_max :
	    1024, 1, &key);
	rk->f = xcalloc(htab_capacity(&rk->hf), sizeof *rk->f);
	return rk;
}

void
replay_kcap_free(struct replay_kcap *rk)
{
	if (rk == NULL)
		return;
	htab_clear(&rk->he);
	htab_clear(&rk->hl);
	htab_clear(&rk->hf);
	free(rk->e);
	free(rk->l);
	free(rk->f);
	free(rk->on);
	free(rk->acct);
	free(rk);
}

void
replay_kcap_get_stats(const struct replay_kcap *rk,
    struct replay_kcap_stats *st)
{
	*st = rk->st;
}

/*
 * Finds the entry of table h (entries of size sz in v) whose first klen
 * bytes are those of w, or inserts a copy of w (the oldest evicted when
 * full, counted).  *fresh says which.
 */
static void *
replay_kcap_get(struct replay_kcap *rk, struct htab *h, void *v, size_t sz,
    const void *w, size_t klen, int create, int *fresh)
{
	uint64_t	 hv = htab_hash(h, w, klen);
	uint32_t	 i;
	char		*base = v;

	*fresh = 0;
	for (i = htab_find(h, hv); i != HTAB_NIL; i = htab_find_next(h, i, hv))
		if (memcmp(base + (size_t)i * sz, w, klen) == 0) {
			htab_touch(h, i, 0);
			return base + (size_t)i * sz;
		}
	if (!create)
		return NULL;
	if (htab_used(h) == htab_capacity(h)) {
		htab_remove(h, htab_oldest(h, 0));
		rk->st.evicted++;
	}
	i = htab_insert(h, hv, 0);
	memcpy(base + (size_t)i * sz, w, sz);
	*fresh = 1;
	return base + (size_t)i * sz;
}

/* The [override] network holding a (most specific, first among equals,
 * as the kernel's chains are ordered), its length into *len; or NULL. */
static const struct conf_override *
replay_kcap_override(const struct conf *conf, const struct addr *a, int *len)
{
	const struct conf_override	*best = NULL;
	const struct prefix		*net;
	int				 i, j;

	*len = -1;
	for (i = 0; i < conf->noverrides; i++)
		for (j = 0; j < conf->overrides[i].nnetworks; j++) {
			net = &conf->overrides[i].networks[j];
			if (net->len > *len && addr_prefix_contains(net, a)) {
				best = &conf->overrides[i];
				*len = net->len;
			}
		}
	return best;
}

static uint32_t
replay_kcap_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/*
 * A level's limits for p (a host, or its network): conc and rate's count
 * raised by the allowances of 2^(k-1) accounts, capped at account_max
 * (net_account_max), as the detection would raise them.
 */
static void
replay_kcap_raise(const struct conf_service *svc, const struct prefix *p,
    int k, uint32_t *conc, struct conf_rate *rate)
{
	struct rule_limits	 lim;

	memset(&lim, 0, sizeof lim);
	lim.max_concurrent = *conc;
	lim.max_new = *rate;
	rule_limits_accounts(svc, p, 1U << (k - 1), &lim);
	*conc = replay_kcap_u32(rule_max_concurrent(&lim));
	rate->count = replay_kcap_u32(rule_max_new(&lim));
}

/*
 * The limits of the chain a connection from host a meets in svc at level
 * k (0: the service's, or its override's), as kcap_rules() writes them.
 */
static void
replay_kcap_limits(const struct conf *conf, const struct conf_service *svc,
    const struct addr *a, int k, struct replay_klimits *out)
{
	const struct conf_override	*ov;
	struct prefix			 host, net;
	int				 ovlen, plen;

	out->conc = svc->max_concurrent;
	out->net_conc = svc->net_max_concurrent;
	out->new = svc->max_new;
	out->net_new = svc->net_max_new;
	plen = a->family == AF_INET6 ? conf->track_prefix6 :
	    conf->track_prefix4;
	if ((ov = replay_kcap_override(conf, a, &ovlen)) != NULL) {
		if (ov->max_concurrent != 0) {
			out->conc = ov->max_concurrent;
			if (ovlen <= plen)
				out->net_conc = ov->max_concurrent;
		}
		if (ov->max_new.count != 0) {
			out->new = ov->max_new;
			if (ovlen <= plen)
				out->net_new = ov->max_new;
		}
		return;
	}
	if (k == 0)
		return;
	addr_mask(a, addr_maxlen(a), &host);
	replay_kcap_raise(svc, &host, k, &out->conc, &out->new);
	addr_mask(a, plen, &net);
	replay_kcap_raise(svc, &net, k, &out->net_conc, &out->net_new);
}

/* The key of svc's set of kind and limit for host a. */
static void
replay_kcap_key(const struct conf *conf, int svc, const struct addr *a,
    int kind, uint32_t limit, int64_t window, struct replay_kelem *w)
{
	struct prefix	 p;
	int		 net = kind == REPLAY_KCAP_NET_CONC ||
			    kind == REPLAY_KCAP_NET_NEW;

	memset(w, 0, sizeof *w);
	addr_mask(a, !net ? addr_maxlen(a) : a->family == AF_INET6 ?
	    conf->track_prefix6 : conf->track_prefix4, &p);
	w->addr = p.addr;
	w->svc = (uint8_t)svc;
	w->kind = (uint8_t)kind;
	w->limit = limit;
	w->window = window;
}

/*
 * The concurrency sets a connection on level k's chain is added to (its
 * own two first, then the base's and the other levels'), each once.
 */
static size_t
replay_kcap_sets(struct replay_kcap *rk, int svc, const struct addr *a,
    int k, struct replay_kelem *w)
{
	const struct conf_service	*s = &rk->conf->services[svc];
	struct replay_klimits		 lim;
	size_t				 n = 0, i;
	int				 j, top, net, dup;
	uint32_t			 limit;

	top = k == 0 ? 0 : kcap_acct_level(s, s->account_max);
	for (j = -1; j <= top; j++) {
		if (j == k)
			continue;
		replay_kcap_limits(rk->conf, s, a, j == -1 ? k : j, &lim);
		for (net = 0; net < 2; net++) {
			limit = net ? lim.net_conc : lim.conc;
			if (limit == 0)
				continue;
			replay_kcap_key(rk->conf, svc, a, net ?
			    REPLAY_KCAP_NET_CONC : REPLAY_KCAP_CONC, limit, 0,
			    &w[n]);
			for (dup = 0, i = 0; i < n && !dup; i++)
				dup = memcmp(&w[i], &w[n],
				    REPLAY_KELEM_KEY) == 0;
			if (!dup)
				n++;
		}
	}
	return n;
}

/* 1 if the churn bucket of rt for a refuses now; else takes a token. */
static int
replay_kcap_churn(struct replay_kcap *rk, int svc, const struct addr *a,
    int kind, const struct conf_rate *rt, int64_t now)
{
	struct replay_kelem	 w, *e;
	int			 fresh;

	if (rt->count == 0)
		return 0;
	replay_kcap_key(rk->conf, svc, a, kind, rt->count, rt->window, &w);
	e = replay_kcap_get(rk, &rk->he, rk->e, sizeof *e, &w,
	    REPLAY_KELEM_KEY, 1, &fresh);
	/* The element's timeout: a window idle, and it is gone. */
	if (fresh || now - e->last > rt->window) {
		e->tokens = rt->count;
		e->last = now;
	}
	if (rt->window > 0 && now > e->last)
		e->tokens += (double)rt->count * (double)(now - e->last) /
		    (double)rt->window;
	if (e->tokens > rt->count)
		e->tokens = rt->count;
	e->last = now;
	if (e->tokens >= 1) {
		e->tokens -= 1;
		return 0;
	}
	return 1;
}

/* The live count of the concurrency set w (0 if it holds nothing). */
static uint32_t
replay_kcap_live(struct replay_kcap *rk, const struct replay_kelem *w)
{
	struct replay_kelem	*e;
	int			 fresh;

	e = replay_kcap_get(rk, &rk->he, rk->e, sizeof *e, w,
	    REPLAY_KELEM_KEY, 0, &fresh);
	return e == NULL ? 0 : e->live;
}

/* The level a host holds in svc now (0: none). */
static int
replay_kcap_level(struct replay_kcap *rk, int svc, const struct addr *a,
    int64_t now)
{
	struct replay_klevel	 w, *l;
	int			 k, fresh;

	if (!rk->acct[svc])
		return 0;
	memset(&w, 0, sizeof w);
	w.addr = *a;
	w.svc = (uint8_t)svc;
	if ((l = replay_kcap_get(rk, &rk->hl, rk->l, sizeof *l, &w,
	    REPLAY_KLEVEL_KEY, 0, &fresh)) == NULL)
		return 0;
	for (k = FW_CAP_LEVELS; k >= 1; k--)
		if (l->until[k] > now)
			return k;
	return 0;
}

/* A connection counted ends: it leaves its sets. */
static void
replay_kcap_close(struct replay_kcap *rk, const struct event *ev)
{
	struct replay_kelem	 w[REPLAY_KSETS_MAX], *e;
	struct replay_kflow	 k, *f;
	size_t			 n, i;
	int			 fresh;

	memset(&k, 0, sizeof k);
	k.addr = ev->addr;
	k.sport = ev->sport;
	k.flow = ev->flow;
	if ((f = replay_kcap_get(rk, &rk->hf, rk->f, sizeof *f, &k,
	    REPLAY_KFLOW_KEY, 0, &fresh)) == NULL)
		return;
	n = replay_kcap_sets(rk, f->svc, &f->addr, f->level, w);
	for (i = 0; i < n; i++)
		if ((e = replay_kcap_get(rk, &rk->he, rk->e, sizeof *e, &w[i],
		    REPLAY_KELEM_KEY, 0, &fresh)) != NULL && e->live > 0)
			e->live--;
	htab_remove(&rk->hf, (uint32_t)(f - rk->f));
}

/* 1 if a is never capped: [allow], proxies, loopback (cap_allow4/6). */
static int
replay_kcap_allowed(const struct conf *conf, const struct addr *a)
{
	struct prefix	 host;
	int		 i;

	addr_mask(a, addr_maxlen(a), &host);
	if (rule_allowlisted(conf, &host))
		return 1;
	for (i = 0; i < conf->nproxies; i++)
		if (addr_prefix_contains(&conf->proxies[i], a))
			return 1;
	return 0;
}

enum replay_kcap_result
replay_kcap_event(struct replay_kcap *rk, const struct event *ev)
{
	struct replay_kelem	 w[REPLAY_KSETS_MAX], *e;
	struct replay_klimits	 lim;
	struct replay_kflow	 k;
	size_t			 n, i;
	int			 svc, level, kind = -1, fresh, ovlen;

	if (ev->source != EVENT_SRC_CONNTRACK)
		return REPLAY_KCAP_OUTSIDE;
	if (ev->kind == EVENT_CONN_CLOSE || ev->kind == EVENT_CONN_END) {
		replay_kcap_close(rk, ev);
		return REPLAY_KCAP_OUTSIDE;
	}
	if (ev->kind != EVENT_CONN_OPEN || ev->service == NULL ||
	    (ev->flags & (EVENT_F_PREEXISTING | EVENT_F_RESYNC)) ||
	    (ev->addr.family != AF_INET && ev->addr.family != AF_INET6))
		return REPLAY_KCAP_OUTSIDE;
	for (svc = 0; svc < rk->conf->nservices; svc++)
		if (strcmp(rk->conf->services[svc].name, ev->service) == 0)
			break;
	if (svc == rk->conf->nservices || !rk->on[svc] ||
	    replay_kcap_allowed(rk->conf, &ev->addr))
		return REPLAY_KCAP_OUTSIDE;
	level = replay_kcap_level(rk, svc, &ev->addr, ev->time);
	/* The override's chain comes first. */
	if (level > 0 &&
	    replay_kcap_override(rk->conf, &ev->addr, &ovlen) != NULL)
		level = 0;
	replay_kcap_limits(rk->conf, &rk->conf->services[svc], &ev->addr,
	    level, &lim);
	n = replay_kcap_sets(rk, svc, &ev->addr, level, w);
	/* In the rules' order; the first that refuses ends the chain. */
	if (lim.conc != 0 && replay_kcap_live(rk, &w[0]) >= lim.conc)
		kind = REPLAY_KCAP_CONC;
	else if (replay_kcap_churn(rk, svc, &ev->addr, REPLAY_KCAP_NEW,
	    &lim.new, ev->time))
		kind = REPLAY_KCAP_NEW;
	else if (lim.net_conc != 0 && replay_kcap_live(rk,
	    &w[lim.conc != 0]) >= lim.net_conc)
		kind = REPLAY_KCAP_NET_CONC;
	else if (replay_kcap_churn(rk, svc, &ev->addr, REPLAY_KCAP_NET_NEW,
	    &lim.net_new, ev->time))
		kind = REPLAY_KCAP_NET_NEW;
	if (kind != -1) {
		rk->st.refused[kind]++;
		rk->last_svc = svc;
		rk->last_kind = kind;
		return REPLAY_KCAP_REFUSED;
	}
	for (i = 0; i < n; i++) {
		e = replay_kcap_get(rk, &rk->he, rk->e, sizeof *e, &w[i],
		    REPLAY_KELEM_KEY, 1, &fresh);
		e->live++;
	}
	memset(&k, 0, sizeof k);
	k.addr = ev->addr;
	k.sport = ev->sport;
	k.flow = ev->flow;
	if (n > 0) {
		k.svc = (uint8_t)svc;
		k.level = (uint8_t)level;
		(void)replay_kcap_get(rk, &rk->hf, rk->f, sizeof k, &k,
		    REPLAY_KFLOW_KEY, 1, &fresh);
	}
	if (level > 0) {
		rk->st.raised++;
		return REPLAY_KCAP_LEVEL;
	}
	return replay_kcap_override(rk->conf, &ev->addr, &ovlen) != NULL ?
	    REPLAY_KCAP_LEVEL : REPLAY_KCAP_PASSED;
}

void
replay_kcap_refusal(const struct replay_kcap *rk, char *buf, size_t size)
{
	snprintf(buf, size, KCAP_LOG_PREFIX "%s %c",
	    rk->conf->services[rk->last_svc].name,
	    replay_kcap_letters[rk->last_kind]);
}

void
replay_kcap_login(struct replay_kcap *rk, const struct track *t,
    const struct event *ev)
{
	const struct conf_service	*svc;
	struct replay_klevel		 w, *l;
	int64_t				 window, s;
	uint32_t			 n;
	int				 i, level, fresh, had = 0, got = 0;

	/* Not through a proxy: the kernel sees the proxy's address. */
	if (ev->kind != EVENT_AUTH_OK || (ev->flags & EVENT_F_PROXIED) ||
	    (ev->addr.family != AF_INET && ev->addr.family != AF_INET6))
		return;
	memset(&w, 0, sizeof w);
	w.addr = ev->addr;
	for (i = 0; i < rk->conf->nservices; i++) {
		svc = &rk->conf->services[i];
		if (!rk->acct[i])
			continue;
		w.svc = (uint8_t)i;
		had |= replay_kcap_get(rk, &rk->hl, rk->l, sizeof *l, &w,
		    REPLAY_KLEVEL_KEY, 0, &fresh) != NULL;
		n = track_accounts(t, rk->conf, svc, &ev->addr, ev->time,
		    &window);
		if ((level = kcap_acct_level(svc, n)) == 0)
			continue;
		l = replay_kcap_get(rk, &rk->hl, rk->l, sizeof *l, &w,
		    REPLAY_KLEVEL_KEY, 1, &fresh);
		got = 1;
		/* The element's timeout, whole seconds, at least one. */
		if ((s = window / CLOCK_US_PER_SEC) < 1)
			s = 1;
		l->until[level] = ev->time + s * CLOCK_US_PER_SEC;
	}
	/* Counted once, whatever its services. */
	if (got && !had)
		rk->st.addresses++;
}
