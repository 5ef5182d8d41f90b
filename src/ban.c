/*
 * Bans.
 *
 * The table holds every ban in force: the project's bounded hash table
 * (htab.c, keyed SipHash, so chosen addresses cannot aim at one chain)
 * indexes them by prefix, the bans themselves sit in an array by table
 * index, and a binary min-heap of those indices by expiry says which ban
 * runs out next (enforce.c's timer is set for it).  The heap is dense, so
 * walking it is walking every ban.  Invariants: every ban is in the table
 * once and in the heap once, hpos[] saying where; no two bans have the
 * same prefix; n <= BAN_MAX (the room doubles up to it).
 *
 * A verdict becomes a ban unless it is allowlisted (recorded, never
 * enforced), held (an auth outage) or refused: never a weapon against the
 * owner, so loopback, link-local, multicast and unspecified addresses, the
 * host's own addresses, allowlisted networks and proxies, and any prefix
 * holding one of them, are never banned, whoever asks.  The same holds for
 * the bans in force: when the rules change (a reload, an address added to
 * an interface: ownaddr.c's live list) the bans they now forbid are lifted
 * (bans_recheck), and a ban the firewall layer refuses is ended, not kept
 * (bans_drop), so the table, the store and the kernel never disagree.  A
 * host verdict is widened to [ban] prefix4/prefix6 (IPv6 hosts usually own
 * a /64).
 *
 * Scope: a ban drops the services' ports, or, for a verdict from lines
 * that came through a configured proxy (verdict.proxied, or an operator's
 * --scope proxy), the proxy's ports too ([allow] proxy_ports; every port
 * by default), since the client came in through the proxy's door.  A ban
 * only ever widens: a later proxied verdict for a banned prefix, or for
 * one inside a banned network, widens that ban (and sends it again), a
 * services verdict never narrows it, and a network that takes the place
 * of narrower bans takes the widest of their scopes.  The scope is stored
 * with the ban and restored at start.  What the ports are is the
 * configuration's, so each ban points at the table's text for its scope
 * (fw_ports.c), kept up to date on reload.
 *
 * Escalation: the nth ban of a prefix within [ban] memory lasts duration x
 * escalate^(n-1), at most max_duration.  The earlier bans are counted in
 * the store, so a restart does not forgive (replay, which has no store,
 * counts its own: bans_set_history).  A verdict for a prefix that is
 * already banned only ever makes its ban longer.
 *
 * Every change becomes a firewall operation queued here and sent as one
 * batch per loop iteration (bans_pending); a batch that failed is sent
 * again (bans_retry).  An extension is sent as an unban and a ban in the
 * same batch, since a set element's timeout is fixed when it is added.
 * Expiry needs no operation where the kernel drops the element by itself
 * (nftables, ipset timeouts): the table just forgets it.
 *
 * Each ban issued, extended, lifted or expired is told to the notify
 * callback (alerts) once made; bans restored from the store at start are
 * not, so a restart announces nothing again.
 *
 * Saving a ban again when the store failed, the restart and the agreement
 * with the firewall are ban_keep.c's; ban_int.h holds what the two share.
 */
#include <sys/socket.h>


#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "ban_int.h"
#include "clock.h"
#include "conf.h"
#include "htab.h"
#include "json.h"
#include "log.h"
#include "ownaddr.h"
#include "rule.h"
#include "status.h"
#include "store.h"
#include "xmalloc.h"

/* The words for the ports of each scope under bs->conf. */
static void
ban_ports_init(struct bans *bs)
{
	uint16_t	 ports[FW_PORTS_MAX];
	int		 s, n;

	for (s = FW_SCOPE_SERVICES; s <= FW_SCOPE_PROXY; s++) {
		n = fw_ports_conf(bs->conf, (enum fw_scope)s, ports);
		fw_ports_fmt(ports, n, bs->ports[s], sizeof(bs->ports[s]));
	}
}

struct bans *
bans_new(const struct conf *conf, struct store *store)
{
	struct store_stats sst;
	struct bans	*bs;

	bs = xcalloc(1, sizeof(*bs));
	bs->conf = conf;
	bs->store = store;
	ban_ports_init(bs);
	htab_init(&bs->t, BAN_START, 1, NULL);
	bs->b = xcalloc(BAN_START, sizeof(*bs->b));
	bs->hpos = xcalloc(BAN_START, sizeof(*bs->hpos));
	bs->heap = xcalloc(BAN_START, sizeof(*bs->heap));
	bs->save_backoff = BAN_SAVE_MIN_US;
	bs->save_rl.interval_us = BAN_SAVE_WARN_US;
	if (store != NULL) {
		store_get_stats(store, &sst);
		bs->lost_seen = sst.lost;
	}
	return bs;
}

void
bans_free(struct bans *bs)
{
	if (bs == NULL)
		return;
	htab_clear(&bs->t);
	free(bs->b);
	free(bs->hpos);
	free(bs->heap);
	free(bs->ops);
	free(bs->kills);
	free(bs->all);
	free(bs->written);
	free(bs->lifts);
	free(bs);
}

void
bans_set_conf(struct bans *bs, const struct conf *conf)
{
	bs->conf = conf;
	ban_ports_init(bs);
}

void
bans_set_notify(struct bans *bs, ban_notify_cb cb, void *arg)
{
	bs->notify = cb;
	bs->notify_arg = arg;
}

static void
ban_notify(struct bans *bs, enum ban_change what, const struct ban *b,
    int64_t now)
{
	if (bs->notify != NULL)
		bs->notify(what, b, now, bs->notify_arg);
}

void
bans_set_history(struct bans *bs, ban_history_cb cb, void *arg)
{
	bs->history = cb;
	bs->history_arg = arg;
}

void
bans_set_own(struct bans *bs, struct ownaddr *own)
{
	bs->own = own;
}

/*
 * The table.
 */
/* The table's key for a prefix: family, length, the address's bytes. */
static uint64_t
ban_hash(const struct bans *bs, const struct prefix *p)
{
	uint8_t	key[2 + sizeof(p->addr.bytes)];
	size_t	len = p->addr.family == AF_INET ? 4 : sizeof(p->addr.bytes);

	key[0] = p->addr.family == AF_INET ? 4 : 6;
	key[1] = p->len;
	memcpy(key + 2, p->addr.bytes, len);
	return htab_hash(&bs->t, key, 2 + len);
}

uint32_t
ban_lookup(const struct bans *bs, const struct prefix *p)
{
	uint64_t	h = ban_hash(bs, p);
	uint32_t	i;

	for (i = htab_find(&bs->t, h); i != BAN_NIL;
	    i = htab_find_next(&bs->t, i, h))
		if (bs->b[i].prefix.len == p->len &&
		    addr_eq(&bs->b[i].prefix.addr, &p->addr))
			return i;
	return BAN_NIL;
}

/*
 * The expiry heap: a binary min-heap of indices into b by expiry, so the
 * next ban to run out is found in O(1) and each expiry, extension or lift
 * costs O(log n); nothing scans the table on a clock tick.  hpos[i] is the
 * place of b[i] in the heap.
 */
static int
ban_heap_less(const struct bans *bs, uint32_t x, uint32_t y)
{
	return bs->b[bs->heap[x]].expires < bs->b[bs->heap[y]].expires;
}

static void
ban_heap_swap(struct bans *bs, uint32_t x, uint32_t y)
{
	uint32_t	t = bs->heap[x];

	bs->heap[x] = bs->heap[y];
	bs->heap[y] = t;
	bs->hpos[bs->heap[x]] = x;
	bs->hpos[bs->heap[y]] = y;
}

/* Restores the heap order around place k, up or down. */
static void
ban_heap_fix(struct bans *bs, uint32_t k)
{
	uint32_t	c;

	while (k > 0 && ban_heap_less(bs, k, (k - 1) / 2)) {
		ban_heap_swap(bs, k, (k - 1) / 2);
		k = (k - 1) / 2;
	}
	for (;;) {
		c = 2 * k + 1;
		if (c >= bs->n)
			break;
		if (c + 1 < bs->n && ban_heap_less(bs, c + 1, c))
			c++;
		if (!ban_heap_less(bs, c, k))
			break;
		ban_heap_swap(bs, k, c);
		k = c;
	}
}

/* A new ban, in the table and the heap; the room doubles as needed (the
 * caller keeps n below BAN_MAX). */
struct ban *
ban_insert(struct bans *bs, const struct ban *b)
{
	uint32_t	i, cap;

	if (htab_used(&bs->t) == htab_capacity(&bs->t)) {
		cap = htab_capacity(&bs->t) * 2;
		htab_grow(&bs->t, cap < BAN_MAX ? cap : BAN_MAX);
		cap = htab_capacity(&bs->t);
		bs->b = xreallocarray(bs->b, cap, sizeof(*bs->b));
		bs->hpos = xreallocarray(bs->hpos, cap, sizeof(*bs->hpos));
		bs->heap = xreallocarray(bs->heap, cap, sizeof(*bs->heap));
	}
	i = htab_insert(&bs->t, ban_hash(bs, &b->prefix), 0);
	bs->b[i] = *b;
	bs->heap[bs->n] = i;
	bs->hpos[i] = bs->n;
	bs->n++;
	bs->nlen[b->prefix.addr.family == AF_INET6][b->prefix.len]++;
	ban_heap_fix(bs, bs->n - 1);
	bs->st.active = bs->n;
	return &bs->b[i];
}

static void
ban_remove(struct bans *bs, uint32_t i)
{
	uint32_t	k = bs->hpos[i];

	/* The heap's last takes its place, then finds its own. */
	ban_heap_swap(bs, k, bs->n - 1);
	bs->n--;
	if (k < bs->n)
		ban_heap_fix(bs, k);
	htab_remove(&bs->t, i);
	bs->nlen[bs->b[i].prefix.addr.family == AF_INET6]
	    [bs->b[i].prefix.len]--;
	bs->st.active = bs->n;
	if (bs->b[i].unsaved)
		bs->st.unsaved--;
}

/*
 * Never a weapon.
 */

/* 1 and *why if p must never be banned. */
int
ban_refused(const struct bans *bs, const struct prefix *p, const char **why)
{
	const uint8_t	*a = p->addr.bytes;

	if (addr_is_unspecified(&p->addr) || p->len == 0) {
		*why = "unspecified";
		return 1;
	}
	if (addr_is_loopback(&p->addr)) {
		*why = "loopback";
		return 1;
	}
	if (addr_is_linklocal(&p->addr)) {
		*why = "link-local";
		return 1;
	}
	if ((p->addr.family == AF_INET && (a[0] & 0xf0) == 0xe0) ||
	    (p->addr.family == AF_INET6 && a[0] == 0xff)) {
		*why = "multicast";
		return 1;
	}
	if (bs->own != NULL && ownaddr_within(bs->own, p, NULL)) {
		*why = "one of this host's own addresses";
		return 1;
	}
	if (rule_allowlisted(bs->conf, p)) {
		*why = "allowlisted, a proxy, or loopback";
		return 1;
	}
	return 0;
}

/*
 * Operations.
 */

/* Drops what the last bans_pending() handed out (it was applied). */
static void
ban_ops_settle(struct bans *bs)
{
	if (bs->flushed > 0) {
		memmove(bs->ops, bs->ops + bs->flushed,
		    (bs->nops - bs->flushed) * sizeof(*bs->ops));
		bs->nops -= bs->flushed;
		bs->flushed = 0;
	}
	if (bs->kflushed > 0) {
		memmove(bs->kills, bs->kills + bs->kflushed,
		    (bs->nkills - bs->kflushed) * sizeof(*bs->kills));
		bs->nkills -= bs->kflushed;
		bs->kflushed = 0;
	}
}

/* Printable ASCII, no quotes nor backslashes, and no '-' first (a
 * command backend passes it as a word, which must not read as an
 * option): safe in any backend. */
static void
ban_clean(char *dst, size_t size, const char *src)
{
	size_t	i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = (src[i] < 0x20 || src[i] > 0x7e || src[i] == '"' ||
		    src[i] == '\'' || src[i] == '\\' ||
		    (i == 0 && src[i] == '-')) ? '_' : src[i];
	dst[i] = '\0';
}

/* The operation of kind for b at now. */
void
ban_op(struct fw_op *op, enum fw_op_kind kind, const struct ban *b,
    int64_t now)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->prefix = b->prefix;
	op->scope = b->scope;
	if (kind != FW_UNBAN)
		op->duration = b->expires - now > CLOCK_US_PER_SEC ?
		    b->expires - now : CLOCK_US_PER_SEC;
	snprintf(op->rule, sizeof(op->rule), "%s",
	    verdict_rule_name(b->rule));
	ban_clean(op->reason, sizeof(op->reason), b->reason);
}

void
ban_queue(struct bans *bs, enum fw_op_kind kind, const struct ban *b,
    int64_t now)
{
	ban_ops_settle(bs);
	if (bs->nops == bs->opscap) {
		bs->opscap = bs->opscap == 0 ? 64 : bs->opscap * 2;
		bs->ops = xreallocarray(bs->ops, bs->opscap,
		    sizeof(*bs->ops));
	}
	ban_op(&bs->ops[bs->nops++], kind, b, now);
}

static void
ban_queue_kill(struct bans *bs, const struct ban *b)
{
	struct fw_op	*k;

	ban_ops_settle(bs);
	if (bs->nkills == bs->killscap) {
		bs->killscap = bs->killscap == 0 ? 64 : bs->killscap * 2;
		bs->kills = xreallocarray(bs->kills, bs->killscap,
		    sizeof(*bs->kills));
	}
	k = &bs->kills[bs->nkills++];
	memset(k, 0, sizeof(*k));
	k->kind = FW_BAN;
	k->prefix = b->prefix;
	k->scope = b->scope;
}

size_t
bans_pending(struct bans *bs, const struct fw_op **ops,
    const struct fw_op **kills, size_t *nkills)
{
	ban_ops_settle(bs);
	*ops = bs->ops;
	bs->flushed = bs->nops;
	if (kills != NULL) {
		*kills = bs->kills;
		*nkills = bs->nkills;
		bs->kflushed = bs->nkills;
	}
	return bs->nops;
}

void
bans_unqueue(struct bans *bs)
{
	bs->nops = bs->flushed = 0;
	bs->nkills = bs->kflushed = 0;
}

void
bans_unqueue_ops(struct bans *bs)
{
	bs->nops = bs->flushed = 0;
}

void
bans_retry(struct bans *bs)
{
	bs->flushed = 0;	/* the same operations go out again */
	bs->kflushed = 0;
	bs->st.fw_failures++;
}

/*
 * Decisions.
 */

_Static_assert(VERDICT_CONCURRENCY == 0 && VERDICT_CHURN == 1 &&
    VERDICT_KARMA == 2 && VERDICT_AUTH == 3 && VERDICT_REGISTER == 4,
    "[ban] *_duration keys follow enum verdict_rule");

/* How long the nth ban for rule lasts. */
static int64_t
ban_duration(const struct conf *conf, enum verdict_rule rule,
    uint32_t count)
{
	int64_t		d = conf->ban_duration;

	if ((size_t)rule < sizeof(conf->ban_rule_duration) /
	    sizeof(conf->ban_rule_duration[0]) &&
	    conf->ban_rule_duration[rule] > 0)
		d = conf->ban_rule_duration[rule];
	uint32_t	i;

	for (i = 1; i < count && d < conf->ban_max_duration; i++) {
		if (d > conf->ban_max_duration / (int64_t)conf->ban_escalate) {
			d = conf->ban_max_duration;
			break;
		}
		d *= conf->ban_escalate;
	}
	return d < conf->ban_max_duration ? d : conf->ban_max_duration;
}

/* Which ban this is for p: 1 + the bans of p within [ban] memory. */
static uint32_t
ban_count(struct bans *bs, const struct prefix *p, int64_t now)
{
	int64_t	n;

	if (bs->conf->ban_memory == 0)
		return 1;
	if (bs->store == NULL) {
		if (bs->history == NULL)
			return 1;
		n = bs->history(p, now - bs->conf->ban_memory,
		    bs->history_arg);
	} else
		n = store_ban_count(bs->store, p, now - bs->conf->ban_memory);
	if (n < 0)
		return 1;
	return n >= UINT32_MAX - 1 ? UINT32_MAX : (uint32_t)n + 1;
}

char *
ban_fmt_left(const struct ban *b, int64_t now, char *buf, size_t size)
{
	return conf_fmt_duration((b->expires - now + CLOCK_US_PER_SEC / 2) /
	    CLOCK_US_PER_SEC * CLOCK_US_PER_SEC, buf, size);
}

/* The ban's one line; a proxied ban's says the ports it drops. */
static void
ban_log(const char *what, const struct ban *b, int64_t now)
{
	char	pfx[ADDR_PREFIX_STRLEN], d[32];

	log_info("%s: %s for %s (%s %" PRIu32 ", %s%s%s): %s", what,
	    addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx)),
	    ban_fmt_left(b, now, d, sizeof(d)), b->throttled ? "throttle" :
	    "ban", b->count, verdict_rule_name(b->rule),
	    b->scope == FW_SCOPE_PROXY ? ", through a proxy: ports " : "",
	    b->scope == FW_SCOPE_PROXY ? b->ports : "", b->reason);
}

/*
 * b (table index i) drops the ports of scope from now on, unless it does
 * already: stored, sent again (leaving the narrower set where the backend
 * has one per scope), logged.  1 if it widened.
 */
static int
ban_widen(struct bans *bs, uint32_t i, enum fw_scope scope, int64_t now)
{
	struct ban	*b = &bs->b[i];

	if (scope <= b->scope)
		return 0;
	ban_queue(bs, FW_UNBAN, b, now);
	b->scope = scope;
	b->ports = bs->ports[scope];
	if (bs->store != NULL) {
		if (b->id != 0)
			store_ban_scope(bs->store, b->id,
			    fw_scope_name(scope));
		ban_written(bs, b);
	}
	ban_queue(bs, b->throttled ? FW_THROTTLE : FW_BAN, b, now);
	/* The sessions through the proxy's door end too. */
	if (!b->throttled && bs->conf->ban_kill)
		ban_queue_kill(bs, b);
	bs->st.widened++;
	ban_log("ban widened", b, now);
	return 1;
}

/* Issues or extends the ban of b->prefix; 1 if anything changed. */
static int
ban_issue(struct bans *bs, struct ban *nb, int64_t now)
{
	struct store_ban	 row;
	struct ban		*b;
	uint32_t		 i;
	uint32_t		*inner, k, nin;
	int			 widened;

	if ((i = ban_lookup(bs, &nb->prefix)) != BAN_NIL) {
		b = &bs->b[i];
		if (nb->expires <= b->expires)
			return ban_widen(bs, i, nb->scope, now);
		/* Out of the kernel under its old scope, back under the
		 * new one. */
		ban_queue(bs, FW_UNBAN, b, now);
		widened = nb->scope > b->scope;
		if (widened) {
			b->scope = nb->scope;
			b->ports = bs->ports[b->scope];
			bs->st.widened++;
			if (bs->store != NULL && b->id != 0)
				store_ban_scope(bs->store, b->id,
				    fw_scope_name(b->scope));
		}
		b->expires = nb->expires;
		ban_heap_fix(bs, bs->hpos[i]);
		memcpy(b->reason, nb->reason, sizeof(b->reason));
		if (bs->store != NULL) {
			if (b->id != 0)
				store_ban_update(bs->store, b->id, b->expires,
				    b->reason);
			ban_written(bs, b);
		}
		ban_queue(bs, b->throttled ? FW_THROTTLE : FW_BAN, b, now);
		if (widened && !b->throttled && bs->conf->ban_kill)
			ban_queue_kill(bs, b);
		bs->st.extended++;
		ban_log("ban extended", b, now);
		ban_notify(bs, BAN_EXTENDED, b, now);
		return 1;
	}
	if (bs->n >= BAN_MAX) {
		bs->st.full++;
		return 0;
	}
	/*
	 * Networks go into interval sets, which refuse overlaps: a network
	 * inside a banned one is covered already; banned networks inside a
	 * new, wider one make way for it (their remaining time is its).
	 */
	if (nb->prefix.len < addr_maxlen(&nb->prefix.addr)) {
		for (k = 0; k < bs->n; k++) {
			b = &bs->b[bs->heap[k]];
			if (b->prefix.len == addr_maxlen(&b->prefix.addr) ||
			    b->prefix.addr.family != nb->prefix.addr.family)
				continue;
			if (b->prefix.len <= nb->prefix.len &&
			    addr_prefix_contains(&b->prefix,
			    &nb->prefix.addr)) {
				bs->st.covered++;
				return ban_widen(bs, bs->heap[k], nb->scope,
				    now);
			}
		}
		/* Removing reorders the heap: find them all first. */
		inner = xcalloc(bs->n + 1, sizeof(*inner));
		for (k = 0, nin = 0; k < bs->n; k++) {
			b = &bs->b[bs->heap[k]];
			if (b->prefix.len < addr_maxlen(&b->prefix.addr) &&
			    b->prefix.len > nb->prefix.len &&
			    addr_prefix_contains(&nb->prefix,
			    &b->prefix.addr))
				inner[nin++] = bs->heap[k];
		}
		for (k = 0; k < nin; k++) {
			b = &bs->b[inner[k]];
			if (b->expires > nb->expires)
				nb->expires = b->expires;
			if (b->scope > nb->scope)
				nb->scope = b->scope;
			ban_store_lift(bs, b->id, now);
			ban_queue(bs, FW_UNBAN, b, now);
			ban_remove(bs, inner[k]);
		}
		free(inner);
	}
	if (bs->store != NULL) {
		ban_row(nb, &row);
		nb->id = store_ban_add(bs->store, &row);
	}
	nb->ports = bs->ports[nb->scope];
	b = ban_insert(bs, nb);
	if (bs->store != NULL)
		ban_written(bs, b);
	ban_queue(bs, b->throttled ? FW_THROTTLE : FW_BAN, b, now);
	if (!b->throttled && bs->conf->ban_kill)
		ban_queue_kill(bs, b);
	bs->st.bans++;
	if (b->rule < VERDICT_RULE_MAX)
		bs->st.by_rule[b->rule]++;
	if (b->count > 1)
		bs->st.escalated++;
	ban_log("ban", b, now);
	ban_notify(bs, BAN_ISSUED, b, now);
	return 1;
}

int
bans_verdict(struct bans *bs, const struct verdict *v, int64_t now)
{
	struct ban	 nb;
	const char	*why, *hwhy;
	char		 pfx[ADDR_PREFIX_STRLEN], *wide;
	int		 len;

	if (v->allowlisted || v->held)
		return 0;
	memset(&nb, 0, sizeof(nb));
	nb.prefix = v->prefix;
	if (v->prefix.len == addr_maxlen(&v->prefix.addr)) {
		len = v->prefix.addr.family == AF_INET ?
		    bs->conf->ban_prefix4 : bs->conf->ban_prefix6;
		addr_mask(&v->prefix.addr, len, &nb.prefix);
	}
	memcpy(nb.reason, v->reason, sizeof(nb.reason));
	if (ban_refused(bs, &nb.prefix, &why)) {
		/*
		 * A widened prefix holding an address never to be banned
		 * (this host's, an allowlisted one): the offender alone
		 * still is, and the reason says why no wider.
		 */
		if (nb.prefix.len == v->prefix.len ||
		    ban_refused(bs, &v->prefix, &hwhy)) {
			bs->st.refused++;
			log_warnx("ban: %s refused: %s (%s)",
			    addr_prefix_ntop(&nb.prefix, pfx, sizeof(pfx)),
			    why, v->reason);
			return 0;
		}
		bs->st.narrowed++;
		wide = xasprintf("%s; this address only, its /%d is never "
		    "banned: %s", v->reason, nb.prefix.len, why);
		snprintf(nb.reason, sizeof(nb.reason), "%s", wide);
		free(wide);
		nb.prefix = v->prefix;
	}
	nb.rule = v->rule;
	nb.source = BAN_SRC_RULE;
	nb.scope = v->proxied ? FW_SCOPE_PROXY : FW_SCOPE_SERVICES;
	nb.throttled = v->rule == VERDICT_KARMA &&
	    bs->conf->ban_karma == CONF_KARMA_THROTTLE;
	nb.since = now;
	/* An extension keeps its count; a new ban counts the earlier. */
	nb.count = ban_lookup(bs, &nb.prefix) != BAN_NIL ?
	    bs->b[ban_lookup(bs, &nb.prefix)].count :
	    ban_count(bs, &nb.prefix, now);
	nb.expires = now + ban_duration(bs->conf, nb.rule, nb.count);
	return ban_issue(bs, &nb, now);
}

int
bans_manual(struct bans *bs, const struct prefix *p, int64_t duration,
    enum fw_scope scope, const char *reason, int64_t now, char **cause)
{
	struct ban	 nb;
	const char	*why;
	char		 pfx[ADDR_PREFIX_STRLEN];
	uint64_t	 covered;
	uint32_t	 i;

	/* An address added a moment ago (the operator's `ip addr add`
	 * just before) is known here before anything is decided. */
	if (bs->own != NULL)
		(void)ownaddr_sync(bs->own);
	if (ban_refused(bs, p, &why)) {
		bs->st.refused++;
		*cause = xasprintf("%s is never banned: %s",
		    addr_prefix_ntop(p, pfx, sizeof(pfx)), why);
		return -1;
	}
	memset(&nb, 0, sizeof(nb));
	nb.prefix = *p;
	nb.rule = VERDICT_MANUAL;
	nb.source = BAN_SRC_CONTROL;
	nb.scope = scope;
	nb.since = now;
	nb.count = (i = ban_lookup(bs, p)) != BAN_NIL ? bs->b[i].count :
	    ban_count(bs, p, now);
	nb.expires = now + (duration > 0 ? duration :
	    ban_duration(bs->conf, VERDICT_MANUAL, nb.count));
	ban_clean(nb.reason, sizeof(nb.reason), reason != NULL &&
	    *reason != '\0' ? reason : "manual: banned by an operator");
	covered = bs->st.covered;
	if (ban_issue(bs, &nb, now) == 0) {
		if (i != BAN_NIL)
			*cause = xasprintf("%s is already banned for longer",
			    addr_prefix_ntop(p, pfx, sizeof(pfx)));
		else if (bs->st.covered != covered)
			*cause = xasprintf("%s is inside a network banned "
			    "already", addr_prefix_ntop(p, pfx, sizeof(pfx)));
		else
			*cause = xasprintf("%s: no room for more bans",
			    addr_prefix_ntop(p, pfx, sizeof(pfx)));
		return -1;
	}
	return 0;
}

int
bans_lift(struct bans *bs, const struct prefix *p, int64_t now,
    char **cause)
{
	char		pfx[ADDR_PREFIX_STRLEN];
	uint32_t	i;

	if ((i = ban_lookup(bs, p)) == BAN_NIL) {
		*cause = xasprintf("%s is not banned",
		    addr_prefix_ntop(p, pfx, sizeof(pfx)));
		return -1;
	}
	ban_store_lift(bs, bs->b[i].id, now);
	ban_queue(bs, FW_UNBAN, &bs->b[i], now);
	log_info("unban: %s (%s ban %" PRIu32 ", lifted by an operator)",
	    addr_prefix_ntop(p, pfx, sizeof(pfx)),
	    verdict_rule_name(bs->b[i].rule), bs->b[i].count);
	ban_notify(bs, BAN_LIFTED, &bs->b[i], now);
	ban_remove(bs, i);
	bs->st.unbans++;
	return 0;
}

/*
 * Ends ban i for a reason of the daemon's own, neither an operator's nor
 * its time: the store's row is lifted now, why added to its reason, and
 * unban queues the removal from the firewall (not for a ban the firewall
 * never took).  One info line, as for every unban.
 */
static void
ban_end(struct bans *bs, uint32_t i, const char *why, int unban,
    int64_t now)
{
	struct ban	*b = &bs->b[i];
	char		 pfx[ADDR_PREFIX_STRLEN], *reason;

	if (bs->store != NULL && b->id != 0) {
		reason = xasprintf("%s; %s", b->reason, why);
		store_ban_update(bs->store, b->id, b->expires, reason);
		ban_store_lift(bs, b->id, now);
		free(reason);
	}
	if (unban)
		ban_queue(bs, FW_UNBAN, b, now);
	log_info("unban: %s (%s ban %" PRIu32 ", %s)",
	    addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx)),
	    verdict_rule_name(b->rule), b->count, why);
	/* Alerts say why: the reason is the ban's no longer. */
	snprintf(b->reason, sizeof(b->reason), "%s", why);
	ban_notify(bs, BAN_REVOKED, b, now);
	if (unban)	/* else the firewall never had it: refused */
		bs->st.revoked++;
	ban_remove(bs, i);
}

int
bans_recheck(struct bans *bs, const struct addr *a, int64_t now)
{
	const struct ban	*b;
	const char		*why;
	char			 buf[ADDR_STRLEN], *reason;
	uint32_t		*end, k, n = 0;

	if (bs->n == 0)
		return 0;
	/* Removing reorders the heap: find them all first. */
	end = xcalloc(bs->n, sizeof(*end));
	for (k = 0; k < bs->n; k++) {
		b = &bs->b[bs->heap[k]];
		if (a != NULL ? addr_prefix_contains(&b->prefix, a) :
		    ban_refused(bs, &b->prefix, &why))
			end[n++] = bs->heap[k];
	}
	for (k = 0; k < n; k++) {
		b = &bs->b[end[k]];
		if (a != NULL)
			reason = xasprintf("lifted: %s is now one of this "
			    "host's addresses", addr_ntop(a, buf, sizeof(buf)));
		else {
			(void)ban_refused(bs, &b->prefix, &why);
			reason = xasprintf("lifted: never banned now: %s", why);
		}
		ban_end(bs, end[k], reason, 1, now);
		free(reason);
	}
	free(end);
	return (int)n;
}

int
bans_drop(struct bans *bs, const struct prefix *p, const char *why,
    int64_t now)
{
	char		*reason;
	uint32_t	 i;

	if ((i = ban_lookup(bs, p)) == BAN_NIL)
		return -1;
	reason = xasprintf("refused by the firewall: %s", why);
	ban_end(bs, i, reason, 0, now);
	free(reason);
	bs->st.refused++;
	return 0;
}

void
bans_expire(struct bans *bs, int64_t now, int send_unban)
{
	char		pfx[ADDR_PREFIX_STRLEN];
	uint32_t	i;

	while (bs->n > 0 && bs->b[i = bs->heap[0]].expires <= now) {
		if (send_unban)
			ban_queue(bs, FW_UNBAN, &bs->b[i], now);
		log_info("unban: %s (%s ban %" PRIu32 " expired)",
		    addr_prefix_ntop(&bs->b[i].prefix, pfx, sizeof(pfx)),
		    verdict_rule_name(bs->b[i].rule), bs->b[i].count);
		ban_notify(bs, BAN_EXPIRED, &bs->b[i], now);
		ban_remove(bs, i);
		bs->st.expired++;
	}
}

int64_t
bans_next_expiry(const struct bans *bs)
{
	return bs->n > 0 ? bs->b[bs->heap[0]].expires : INT64_MAX;
}

/*
 * Reading.
 */
static int
ban_expiry_cmp(const void *a, const void *b)
{
	const struct ban	*x = *(const struct ban *const *)a;
	const struct ban	*y = *(const struct ban *const *)b;

	return x->expires < y->expires ? -1 : x->expires > y->expires;
}

void
bans_walk(const struct bans *bs, void (*cb)(const struct ban *, void *),
    void *arg)
{
	const struct ban	**v;
	uint32_t		  i;

	if (bs->n == 0)
		return;
	v = xcalloc(bs->n, sizeof(*v));
	for (i = 0; i < bs->n; i++)
		v[i] = &bs->b[bs->heap[i]];
	qsort(v, bs->n, sizeof(*v), ban_expiry_cmp);
	for (i = 0; i < bs->n; i++)
		cb(v[i], arg);
	free(v);
}

const struct ban *
bans_find(struct bans *bs, const struct prefix *p)
{
	uint32_t	i = ban_lookup(bs, p);

	return i == BAN_NIL ? NULL : &bs->b[i];
}

int
bans_kill_queued(const struct bans *bs, const struct prefix *p)
{
	size_t	k;

	for (k = bs->kflushed; k < bs->nkills; k++)
		if (bs->kills[k].prefix.len == p->len &&
		    addr_eq(&bs->kills[k].prefix.addr, &p->addr))
			return 1;
	return 0;
}

const struct ban *
bans_covering(struct bans *bs, const struct addr *a, int64_t now)
{
	struct prefix	p;
	uint32_t	i;
	int		len, fam;

	if (bs->n == 0 || (a->family != AF_INET && a->family != AF_INET6))
		return NULL;
	fam = a->family == AF_INET6;
	/* Only the lengths some ban has: one or two, not 33 or 129. */
	for (len = addr_maxlen(a); len >= 0; len--) {
		if (bs->nlen[fam][len] == 0)
			continue;
		addr_mask(a, len, &p);
		if ((i = ban_lookup(bs, &p)) != BAN_NIL &&
		    bs->b[i].expires > now)
			return &bs->b[i];
	}
	return NULL;
}

void
bans_get_stats(const struct bans *bs, struct ban_stats *st)
{
	*st = bs->st;
}

void
ban_json(FILE *out, const struct ban *b)
{
	char	pfx[ADDR_PREFIX_STRLEN];

	fputs("{\"address\":", out);
	json_string(out, addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx)));
	fprintf(out, ",\"rule\":\"%s\",\"reason\":",
	    verdict_rule_name(b->rule));
	json_string(out, b->reason);
	fputs(",\"since\":", out);
	json_time(out, b->since);
	fputs(",\"expires\":", out);
	json_time(out, b->expires);
	fprintf(out, ",\"count\":%" PRIu32 ",\"source\":\"%s\","
	    "\"throttled\":%s,\"scope\":\"%s\",\"ports\":", b->count,
	    b->source == BAN_SRC_CONTROL ? "control" : "rule",
	    b->throttled ? "true" : "false", fw_scope_name(b->scope));
	json_string(out, b->ports != NULL ? b->ports : "");
	fputc('}', out);
}

/*
 * Status.  "declined" sums what never became a ban for the metric:
 * refused (never a weapon), covered and full.
 */
struct ban_status {
	struct ban_stats st;
	uint64_t	 declined;
};

static void
ban_status_get(const void *obj, size_t i, void *snap)
{
	struct ban_status	*s = snap;

	(void)i;
	bans_get_stats(obj, &s->st);
	s->declined = s->st.refused + s->st.covered + s->st.full;
}

#define BS(f)	offsetof(struct ban_status, st.f)
static const struct status_field ban_status_fields[] = {
	{ .name = "active", .type = STATUS_U64, .off = BS(active),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_bans_active",
	  .help = "Bans in force.", .text = "% in force" },
	{ .name = "issued", .type = STATUS_U64, .off = BS(bans),
	  .text = "% issued" },
	{ .name = "by_rule", .type = STATUS_U64, .off = BS(by_rule),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_total",
	  .help = "Bans issued, by rule.", .n = VERDICT_RULE_MAX,
	  .by = "rule", .by_name = verdict_rule_label },
	{ .name = "escalated", .type = STATUS_U64, .off = BS(escalated),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_escalated_total",
	  .help = "Bans of a repeat offender (longer each time)." },
	{ .name = "extended", .type = STATUS_U64, .off = BS(extended),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_extended_total",
	  .help = "Bans made longer by a new verdict." },
	{ .name = "expired", .type = STATUS_U64, .off = BS(expired),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_expired_total",
	  .help = "Bans that ran out.", .text = "% expired" },
	{ .name = "lifted", .type = STATUS_U64, .off = BS(unbans),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_lifted_total",
	  .help = "Bans an operator lifted.", .text = "% lifted" },
	{ .name = "revoked", .type = STATUS_U64, .off = BS(revoked),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_revoked_total",
	  .help = "Bans ended because the rules now forbid them (an "
	  "address made local, a reload) or the firewall refused them.",
	  .text = "% revoked" },
	{ .name = "refused", .type = STATUS_U64, .off = BS(refused),
	  .text = "% refused (never a weapon)" },
	{ .name = "covered", .type = STATUS_U64, .off = BS(covered) },
	{ .name = "widened", .type = STATUS_U64, .off = BS(widened) },
	{ .name = "narrowed", .type = STATUS_U64, .off = BS(narrowed),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_narrowed_total",
	  .help = "Bans of the offending address alone: its wider prefix "
	  "holds an address never banned." },
	{ .name = "full", .type = STATUS_U64, .off = BS(full) },
	{ .name = "declined", .type = STATUS_U64,
	  .off = offsetof(struct ban_status, declined),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_refused_total",
	  .help = "Bans refused: loopback, the host's own, allowlisted, "
	  "covered or table full." },
	{ .name = "restored", .type = STATUS_U64, .off = BS(restored),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_restored_total",
	  .help = "Bans found in the store at start." },
	{ .name = "readded", .type = STATUS_U64, .off = BS(readded) },
	{ .name = "unsaved", .type = STATUS_U64, .off = BS(unsaved),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_bans_unsaved",
	  .help = "Bans in force the store could not record (disk full, "
	  "read-only): held in memory and in the kernel, saved again.",
	  .text = "% unsaved" },
	{ .name = "adopted", .type = STATUS_U64, .off = BS(adopted),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_bans_adopted_total",
	  .help = "Bans found in the firewall at start but not in the "
	  "store, kept in force." },
	{ .name = NULL }
};
#undef BS

const struct status_group bans_status_group = {
	.name = "bans",
	.text = "bans",
	.fields = ban_status_fields,
	.size = sizeof(struct ban_status),
	.get = ban_status_get,
};
