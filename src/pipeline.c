/*
 * The pipeline.  It owns the tracker and the rollups, borrows the store
 * and the configuration, and holds no other state: an event goes through
 * in one call, and so does each verdict it causes.
 *
 * Order matters in one place: the connection row and rollup are recorded
 * before the tracker runs, so the verdict an event causes is stored after
 * the facts that caused it.
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
#include "log.h"
#include "outage.h"
#include "pipeline.h"
#include "rollup.h"
#include "store.h"
#include "track.h"
#include "status.h"
#include "kcap.h"
#include "verdict.h"
#include "xmalloc.h"

/* A configured proxy's connections, as conntrack saw them. */
struct pipeline_proxy {
	uint32_t	 live;
	int64_t		 last;		/* us, last handshake-proven event */
};

struct pipeline {
	const struct conf	*conf;
	struct store		*store;
	struct track		*track;
	struct rollup		*rollup;
	struct outage		*outage;
	verdict_cb		 verdict_cb;
	void			*verdict_arg;
	verdict_cb		 peer_cb;
	void			*peer_arg;
	event_cb		 open_cb;
	void			*open_arg;
	event_cb		 tap_cb;
	void			*tap_arg;
	int			 corroborate;
	struct kcap		*kcap;		/* NULL: no refusals read */
	pipeline_caps_cb	 caps_cb;	/* account levels; NULL: none */
	void			*caps_arg;
	struct pipeline_proxy	*proxy;		/* conf->nproxies */
	int			 nproxy;
	struct log_ratelimit	 rl_uncorroborated;
	struct pipeline_stats	 stats;
};

static void	pipeline_proxy_reset(struct pipeline *);
static void	pipeline_caps(struct pipeline *, const struct event *);

struct pipeline *
pipeline_new(const struct conf *conf, struct store *store, uint32_t seed)
{
	struct pipeline	*p;

	p = xcalloc(1, sizeof(*p));
	p->conf = conf;
	p->store = store;
	p->track = track_new(conf->track_capacity, seed);
	p->rollup = rollup_new(conf->track_capacity, seed ^ 0x9e3779b9U);
	p->outage = outage_new(seed ^ 0x85ebca6bU);
	p->rl_uncorroborated.interval_us = 60 * CLOCK_US_PER_SEC;
	pipeline_proxy_reset(p);
	return p;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	track_free(p->track);
	rollup_free(p->rollup);
	outage_free(p->outage);
	free(p->proxy);
	free(p);
}

/*
 * The proxies' state follows the configuration's list; a reload starts it
 * afresh (the connections of a proxy added by it were not watched), so a
 * proxy corroborates again from its next connection on.
 */
static void
pipeline_proxy_reset(struct pipeline *p)
{
	free(p->proxy);
	p->nproxy = p->conf->nproxies;
	p->proxy = p->nproxy > 0 ? xcalloc((size_t)p->nproxy,
	    sizeof(*p->proxy)) : NULL;
}

void
pipeline_set_conf(struct pipeline *p, const struct conf *conf)
{
	int	same = conf->nproxies == p->conf->nproxies &&
		    (conf->nproxies == 0 || memcmp(conf->proxies,
		    p->conf->proxies, (size_t)conf->nproxies *
		    sizeof(*conf->proxies)) == 0);

	p->conf = conf;
	if (!same)
		pipeline_proxy_reset(p);
}

void
pipeline_set_verdict_cb(struct pipeline *p, verdict_cb cb,
    void *arg)
{
	p->verdict_cb = cb;
	p->verdict_arg = arg;
}

void
pipeline_set_peer_cb(struct pipeline *p, verdict_cb cb, void *arg)
{
	p->peer_cb = cb;
	p->peer_arg = arg;
}

void
pipeline_set_open_cb(struct pipeline *p, event_cb cb, void *arg)
{
	p->open_cb = cb;
	p->open_arg = arg;
}

void
pipeline_set_tap_cb(struct pipeline *p, event_cb cb, void *arg)
{
	p->tap_cb = cb;
	p->tap_arg = arg;
}

void
pipeline_set_corroborate(struct pipeline *p, int on)
{
	p->corroborate = on;
}

void
pipeline_set_caps_cb(struct pipeline *p, pipeline_caps_cb cb, void *arg)
{
	p->caps_cb = cb;
	p->caps_arg = arg;
}

void
pipeline_set_kcap(struct pipeline *p, struct kcap *k)
{
	p->kcap = k;
}

static void
pipeline_verdict(const struct verdict *tv, void *arg)
{
	struct pipeline	*p = arg;
	struct verdict	 held;
	const struct verdict *v = tv;

	if (v->rule == VERDICT_AUTH && outage_holding(p->outage, v->time)) {
		held = *v;
		held.held = 1;
		v = &held;
		p->stats.held++;
	} else if (kcap_covers(p->conf, v) && !kcap_exempt(p->kcap, v)) {
		/* The kernel refuses beyond the limit; hammering bans.
		 * Not where it let the address past (its SYN-ACKs went
		 * unanswered: spoofed SYNs filled its count). */
		held = *v;
		held.capped = 1;
		v = &held;
	}
	pipeline_verdict_add(v, p);
}

void
pipeline_verdict_add(const struct verdict *v, void *arg)
{
	struct pipeline	*p = arg;
	char		 pfx[ADDR_PREFIX_STRLEN];

	p->stats.verdicts++;
	if (v->rule < VERDICT_RULE_MAX)
		p->stats.rules[v->rule]++;
	if (v->allowlisted)
		p->stats.allowlisted++;
	/* One line per verdict, address first so it greps well; the reason
	 * is ours (numbers and configured names), not attacker text. */
	log_info("verdict: %s %s%s", addr_prefix_ntop(&v->prefix, pfx,
	    sizeof(pfx)), v->reason, v->peer ? "" : v->allowlisted ?
	    " (allowlisted: not enforced)" : v->held ?
	    " (held: auth backend outage)" : v->capped ?
	    " (refused in the kernel: not banned)" : "");
	if (p->store != NULL)
		store_verdict_add(p->store, v);
	rollup_verdict(p->rollup, v, p->store);
	if (p->verdict_cb != NULL)
		p->verdict_cb(v, p->verdict_arg);
	/* Not banned (allowlisted): told instead. */
	if (v->peer && p->peer_cb != NULL)
		p->peer_cb(v, p->peer_arg);
}

/* Warns once, loudly, when the outage shape appears, and when it ends. */
static void
pipeline_outage(struct pipeline *p, const struct event *ev)
{
	struct outage_stats	st;
	char			win[32], hold[32];

	switch (outage_event(p->outage, p->conf, ev)) {
	case OUTAGE_BEGAN:
		outage_get_stats(p->outage, &st);
		log_warnx("auth: %llu failed logins from about %llu addresses "
		    "in %s with %llu successful (usually %.1f failures): this "
		    "looks like an authentication backend outage, not an "
		    "attack; auth bans are held until it has been gone for "
		    "%s", (unsigned long long)st.fails,
		    (unsigned long long)st.addresses, conf_fmt_duration(
		    p->conf->auth_outage_window, win, sizeof(win)),
		    (unsigned long long)st.oks, st.baseline,
		    conf_fmt_duration(p->conf->auth_outage_hold, hold,
		    sizeof(hold)));
		break;
	case OUTAGE_ENDED:
		log_warnx("auth: the outage shape is gone; auth bans are "
		    "enforced again");
		break;
	case OUTAGE_SAME:
		break;
	}
}

/* Counts a proxy's connections from conntrack's events. */
static void
pipeline_proxy_event(struct pipeline *p, const struct event *ev)
{
	struct pipeline_proxy	*px;
	int			 i;

	if (ev->kind != EVENT_CONN_OPEN && ev->kind != EVENT_CONN_CLOSE &&
	    ev->kind != EVENT_CONN_BYTES && !(ev->kind == EVENT_CONN_END &&
	    (ev->flags & EVENT_F_HANDSHAKE)))
		return;
	for (i = 0; i < p->nproxy; i++) {
		if (addr_prefix_contains(&p->conf->proxies[i], &ev->addr))
			break;
	}
	if (i == p->nproxy)
		return;
	px = &p->proxy[i];
	if (ev->time > px->last)
		px->last = ev->time;
	if (ev->kind == EVENT_CONN_OPEN && px->live < UINT32_MAX)
		px->live++;
	else if (ev->kind == EVENT_CONN_CLOSE && px->live > 0)
		px->live--;
}

static int
pipeline_proxy_active(const struct pipeline *p, int64_t time)
{
	int	i;

	for (i = 0; i < p->nproxy; i++) {
		if (p->proxy[i].live > 0 || (p->proxy[i].last != 0 &&
		    time - p->proxy[i].last <= p->conf->auth_corroborate))
			return 1;
	}
	return 0;
}

/* "; N more since the last warning", or "" for none. */
static const char *
pipeline_more(unsigned long n, char *buf, size_t size)
{
	if (n == 0)
		return "";
	snprintf(buf, size, "; %lu more since the last warning", n);
	return buf;
}

/*
 * Corroboration of a log event: 1 if its address connected itself, 2 if
 * only a proxy did (the line may name a client behind it), 0 if nothing
 * did: a line naming an address that never connected, which no rule may
 * judge (a user name with newlines in it can write whole log lines).
 */
static int
pipeline_corroborated(const struct pipeline *p, const struct event *ev)
{
	if (track_connected(p->track, &ev->addr, ev->time,
	    p->conf->auth_corroborate))
		return 1;
	if (pipeline_proxy_active(p, ev->time))
		return 2;
	return 0;
}

void
pipeline_event(const struct event *ev, void *arg)
{
	struct pipeline	*p = arg;
	struct event	 proxied;
	char		 a[ADDR_STRLEN], more[64];

	if (ev->source == EVENT_SRC_CONNTRACK && p->nproxy > 0)
		pipeline_proxy_event(p, ev);
	if (ev->source == EVENT_SRC_CONNTRACK && ev->kind == EVENT_CONN_OPEN &&
	    p->open_cb != NULL)
		p->open_cb(ev, p->open_arg);
	/* Log events only: conntrack's own are the corroboration, and an
	 * operator's are not judged from a line. */
	if (p->corroborate && p->conf->auth_corroborate > 0 &&
	    (ev->source == EVENT_SRC_LOG || ev->source == EVENT_SRC_REPLAY) &&
	    ev->kind >= EVENT_AUTH_FAIL && ev->kind < EVENT_KIND_MAX &&
	    (ev->addr.family == AF_INET || ev->addr.family == AF_INET6)) {
		switch (pipeline_corroborated(p, ev)) {
		case 0:
			p->stats.uncorroborated++;
			if (log_ratelimit_ok(&p->rl_uncorroborated,
			    ev->time)) {
				log_warnx("%s: %s from %s, which has not "
				    "connected to a service in the last %llds: "
				    "not judged (forged, or conntrack missed "
				    "its connection)%s", ev->origin != NULL ?
				    ev->origin : "log", event_kind_name(
				    ev->kind), addr_ntop(&ev->addr, a,
				    sizeof(a)), (long long)(
				    p->conf->auth_corroborate /
				    CLOCK_US_PER_SEC), pipeline_more(
				    p->rl_uncorroborated.suppressed, more,
				    sizeof(more)));
				p->rl_uncorroborated.suppressed = 0;
			}
			return;
		case 2:
			proxied = *ev;
			proxied.flags |= EVENT_F_PROXIED;
			ev = &proxied;
			p->stats.proxied++;
			break;
		default:
			break;
		}
	}

	if (p->tap_cb != NULL)
		p->tap_cb(ev, p->tap_arg);
	p->stats.events++;
	if (ev->kind < EVENT_KIND_MAX)
		p->stats.kinds[ev->kind]++;
	if (ev->kind == EVENT_CONN_END && (ev->flags & EVENT_F_HANDSHAKE))
		p->stats.conns++;
	if (p->store != NULL) {
		switch (ev->kind) {
		case EVENT_CONN_END:
			/* Only flows that completed a handshake get a row;
			 * see sql/002_conntrack.sql. */
			if (ev->flags & EVENT_F_HANDSHAKE)
				store_conn_add(p->store, ev);
			break;
		case EVENT_CONN_SYN:
		case EVENT_CONN_OPEN:
		case EVENT_CONN_CLOSE:
		case EVENT_CONN_BYTES:
			break;
		default:
			store_event_add(p->store, ev);
			break;
		}
	}
	rollup_event(p->rollup, p->conf, ev, p->store);
	if (ev->kind == EVENT_AUTH_FAIL || ev->kind == EVENT_AUTH_OK)
		pipeline_outage(p, ev);
	track_event(p->track, p->conf, ev, pipeline_verdict, p);
	if (ev->kind == EVENT_AUTH_OK && p->caps_cb != NULL)
		pipeline_caps(p, ev);
}

/*
 * The kernel caps' account levels after a login (kcap.c): the host's
 * level in each service whose caps rise with accounts, refreshed at every
 * login so that it lapses a window after the last one.  Not a login
 * through a proxy: the kernel sees the proxy's address.  Logins are a
 * small part of the events, and the caller batches what one loop
 * iteration asks into one transaction.
 */
static void
pipeline_caps(struct pipeline *p, const struct event *ev)
{
	const struct conf_service	*svc;
	struct fw_cap			 c;
	int64_t				 window;
	uint32_t			 n;
	int				 i, level;

	if ((ev->flags & EVENT_F_PROXIED) || (ev->addr.family != AF_INET &&
	    ev->addr.family != AF_INET6))
		return;
	for (i = 0; i < p->conf->nservices; i++) {
		svc = &p->conf->services[i];
		if (!kcap_acct_on(p->conf, svc))
			continue;
		n = track_accounts(p->track, p->conf, svc, &ev->addr,
		    ev->time, &window);
		if ((level = kcap_acct_level(svc, n)) == 0)
			continue;
		memset(&c, 0, sizeof c);
		c.addr = ev->addr;
		snprintf(c.service, sizeof c.service, "%s", svc->name);
		c.level = (uint8_t)level;
		c.duration = window;
		p->caps_cb(&c, p->caps_arg);
	}
}

/*
 * Rebuilding windows.  Each kind is one indexed read bounded by the
 * longest window of its rules in force (an [override] may lengthen
 * max_new's) and by PIPELINE_REBUILD_MAX rows; a kind whose rules are all
 * off is not read at all.
 */
static int64_t
pipeline_window_max(int64_t w, const struct conf_rate *r)
{
	return r->count != 0 && r->window > w ? r->window : w;
}

/* The longest max_new window of a service whose logins raise a limit:
 * how far back the accounts count (0: none do). */
static int64_t
pipeline_window_accounts(const struct conf *conf)
{
	const struct conf_service	*svc;
	int64_t				 w = 0;
	int				 i;

	for (i = 0; i < conf->nservices; i++) {
		svc = &conf->services[i];
		if ((svc->account_allowance_new == 0 &&
		    svc->account_allowance_concurrent == 0) ||
		    (svc->account_max == 0 && svc->net_account_max == 0))
			continue;
		w = pipeline_window_max(w, &svc->max_new);
		w = pipeline_window_max(w, &svc->net_max_new);
		if (w == 0)	/* max_new off: the tracker's hour */
			w = 3600 * CLOCK_US_PER_SEC;
	}
	return w;
}

static int64_t
pipeline_window(const struct conf *conf, enum store_recent what)
{
	int64_t	w = 0, a;
	int	i;

	switch (what) {
	case STORE_RECENT_CONNS:
		for (i = 0; i < conf->nservices; i++) {
			w = pipeline_window_max(w, &conf->services[i].max_new);
			w = pipeline_window_max(w,
			    &conf->services[i].net_max_new);
		}
		for (i = 0; i < conf->noverrides; i++)
			w = pipeline_window_max(w, &conf->overrides[i].max_new);
		break;
	case STORE_RECENT_AUTH_FAIL:
		w = pipeline_window_max(w, &conf->auth_max_fail);
		w = pipeline_window_max(w, &conf->auth_net_max_fail);
		break;
	case STORE_RECENT_REGISTER:
		w = pipeline_window_max(w, &conf->auth_max_register);
		w = pipeline_window_max(w, &conf->auth_net_max_register);
		/* A registration keeps its account from counting as an
		 * established one for the accounts' window. */
		if ((a = pipeline_window_accounts(conf)) > w)
			w = a;
		break;
	case STORE_RECENT_AUTH_OK:
		w = pipeline_window_accounts(conf);
		break;
	default:
		break;
	}
	return w;
}

struct pipeline_feed {
	struct pipeline		*p;
	struct pipeline_rebuild	*r;
};

static void
pipeline_rebuild_event(const struct event *ev, void *arg)
{
	struct pipeline_feed	*f = arg;

	track_rebuild_event(f->p->track, f->p->conf, ev);
	f->r->events++;
}

static void
pipeline_rebuild_verdict(const struct verdict *v, void *arg)
{
	struct pipeline_feed	*f = arg;

	track_rebuild_verdict(f->p->track, f->p->conf, v);
	f->r->verdicts++;
}

int
pipeline_rebuild(struct pipeline *p, int64_t now, int start,
    struct pipeline_rebuild *r, char **cause)
{
	static const unsigned int	 need[STORE_RECENT_MAX] = {
		[STORE_RECENT_CONNS] = TRACK_REBUILD_CONNS,
		[STORE_RECENT_AUTH_FAIL] = TRACK_REBUILD_AUTH,
		[STORE_RECENT_REGISTER] = TRACK_REBUILD_REGISTER,
		[STORE_RECENT_AUTH_OK] = TRACK_REBUILD_ACCOUNTS,
	};
	struct pipeline_feed	 f = { p, r };
	unsigned int		 kinds;
	int64_t			 w, n, cool = 0;
	int			 i, rc = 0;

	memset(r, 0, sizeof(*r));
	kinds = track_rebuild_begin(p->track, p->conf, now);
	if (start)
		kinds = TRACK_REBUILD_CONNS | TRACK_REBUILD_AUTH |
		    TRACK_REBUILD_REGISTER | TRACK_REBUILD_ACCOUNTS;
	for (i = 0; i < STORE_RECENT_MAX && p->store != NULL; i++) {
		if (!(kinds & need[i]) ||
		    (w = pipeline_window(p->conf, (enum store_recent)i)) == 0)
			continue;
		if (w > cool)
			cool = w;
		n = store_recent_events(p->store, (enum store_recent)i,
		    now - w, PIPELINE_REBUILD_MAX, pipeline_rebuild_event, &f,
		    cause);
		if (n == -1) {
			rc = -1;
			break;
		}
		if (n == PIPELINE_REBUILD_MAX)
			r->capped = 1;
	}
	/* A rule's cool-down is its window, an hour where max_new is off
	 * (track.c). */
	if (start && rc == 0 && p->store != NULL) {
		if (cool < 3600 * CLOCK_US_PER_SEC)
			cool = 3600 * CLOCK_US_PER_SEC;
		if (store_recent_verdicts(p->store, now - cool,
		    PIPELINE_REBUILD_MAX, pipeline_rebuild_verdict, &f,
		    cause) == -1)
			rc = -1;
	}
	r->addresses = track_rebuild_end(p->track);
	return rc;
}

void
pipeline_flush(struct pipeline *p)
{
	rollup_flush(p->rollup, p->store);
}

int
pipeline_flush_step(struct pipeline *p, int begin, struct loop_budget *b)
{
	if (begin)
		rollup_flush_begin(p->rollup);
	return rollup_flush_step(p->rollup, p->store, b);
}

struct track *
pipeline_track(struct pipeline *p)
{
	return p->track;
}

struct rollup *
pipeline_rollup(struct pipeline *p)
{
	return p->rollup;
}

void
pipeline_outage_stats(const struct pipeline *p, struct outage_stats *st)
{
	outage_get_stats(p->outage, st);
}

void
pipeline_get_stats(const struct pipeline *p, struct pipeline_stats *st)
{
	*st = p->stats;
}

/*
 * Status: the pipeline's counters and the auth outage detector's state,
 * at the top of `xmppguard status`.
 */
struct pipeline_status {
	struct pipeline_stats	ps;
	struct outage_stats	os;
};

static void
pipeline_status_get(const void *obj, size_t i, void *snap)
{
	struct pipeline_status	*s = snap;

	(void)i;
	pipeline_get_stats(obj, &s->ps);
	pipeline_outage_stats(obj, &s->os);
}

#define PS(f)	offsetof(struct pipeline_status, ps.f)
static const struct status_field pipeline_status_fields[] = {
	{ .name = "events", .type = STATUS_U64, .off = PS(events),
	  .text = "%" },
	{ .name = "kinds", .type = STATUS_U64, .off = PS(kinds),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_events_total",
	  .help = "Events taken from conntrack and logs, by kind.",
	  .n = EVENT_KIND_MAX, .by = "kind", .by_name = event_kind_label },
	{ .name = "connections", .type = STATUS_U64, .off = PS(conns),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_connections_total",
	  .help = "Connections that completed their handshake and ended.",
	  .text = "% connections" },
	{ .name = "verdicts", .type = STATUS_U64, .off = PS(verdicts),
	  .text = "% verdicts" },
	{ .name = "verdicts_by_rule", .type = STATUS_U64, .off = PS(rules),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_verdicts_total",
	  .help = "Limits broken, by rule.", .n = VERDICT_RULE_MAX,
	  .by = "rule", .by_name = verdict_rule_label },
	{ .name = "allowlisted", .type = STATUS_U64, .off = PS(allowlisted),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_verdicts_allowlisted_total",
	  .help = "Verdicts against allowlisted addresses (never enforced).",
	  .text = "% allowlisted" },
	{ .name = "auth_held", .type = STATUS_U64, .off = PS(held),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_verdicts_held_total",
	  .help = "Auth verdicts held during an authentication backend "
	  "outage.", .text = "% auth verdicts held" },
	{ .name = "uncorroborated", .type = STATUS_U64,
	  .off = PS(uncorroborated), .kind = STATUS_COUNTER,
	  .metric = "xmppguard_log_uncorroborated_total",
	  .help = "Log lines naming an address that conntrack never saw "
	  "connect (forged, or missed): not judged.",
	  .text = "% uncorroborated" },
	{ .name = "proxied", .type = STATUS_U64, .off = PS(proxied),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_proxied_total",
	  .help = "Log lines judged as from a client behind a configured "
	  "proxy." },
	{ .name = "auth_outage", .type = STATUS_BOOL,
	  .off = offsetof(struct pipeline_status, os.active),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_auth_outage",
	  .help = "1 while auth verdicts are held (authentication backend "
	  "outage).", .text = "auth outage %" },
	{ .name = "auth_outages", .type = STATUS_U64,
	  .off = offsetof(struct pipeline_status, os.episodes),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_auth_outages_total",
	  .help = "Authentication backend outages seen." },
	{ .name = NULL }
};
#undef PS

const struct status_group pipeline_status_group = {
	.text = "events",
	.fields = pipeline_status_fields,
	.size = sizeof(struct pipeline_status),
	.get = pipeline_status_get,
};
