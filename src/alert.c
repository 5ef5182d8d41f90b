/*
 * Alerts to ops chats.
 *
 * Each [alert NAME] section is one sink: its configuration, its own HTTP
 * client (http.c: libcurl multi on the daemon's loop, one message in
 * flight so a chat reads them in order, at most `queue` more waiting,
 * retries with a doubling backoff, TLS verified), its digest window and
 * its counters.  An event (a ban, an unban, an escalation, an expiry, an
 * overrun, an auth outage, start, stop) becomes a struct alert_msg: the
 * text for people, built once, and the structured fields; each sink whose
 * events and min_severity let it through formats it in its own dialect
 * (alert_fmt.c: Slack-compatible {"text"}, Discord {"content"}, Matrix
 * m.room.message with an HTML body, generic JSON or an operator's
 * template) and queues it.
 * Nothing here waits: queueing copies the body, and what http.c cannot hold
 * is dropped and counted.
 *
 * Digests.  Ban-like events (bans, escalations, extensions, unbans,
 * expiries) open a window of `digest`; the first digest_after of them go
 * out one by one, the rest are only counted: totals by kind and by rule,
 * and the most frequent prefixes (a space-saving top list of ALERT_TOP
 * slots: when full, the least counted slot is taken over by the newcomer,
 * its count kept as the newcomer's possible error, so a heavy hitter is
 * never missed, memory stays fixed, and the count shown, count - error,
 * is one the prefix surely reached).  When the
 * window ends (alerts_tick) and something was held, one digest message
 * says it all; if the storm went on beyond digest_after, the next window
 * opens at once and holds everything from its first ban, so a long storm
 * is one message per interval.
 *
 * Secrets.  A webhook URL is a credential (its path holds the token), as are
 * a Matrix access token and the value of an Authorization header
 * ([alert] authorization, sent by every type but matrix): none is ever
 * logged nor shown; status shows the scheme and host only, libcurl's
 * error texts are scrubbed of them, and a header built with one is
 * wiped once http.c has its copy.
 *
 * Invariants: every message accepted by http.c has exactly one completion
 * (http.c's guarantee), which only counts, so a sink outlives its requests
 * (http_free() runs their callbacks before the sink is freed); memory is
 * bounded by CONF_ALERTS_MAX sinks x (queue + 1) messages of at most
 * ALERT_BODY_MAX bytes.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "addr.h"
#include "alert.h"
#include "alert_int.h"
#include "alert_xmpp.h"
#include "ban.h"
#include "clock.h"
#include "conf.h"
#include "dyn.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "status.h"
#include "loop.h"
#include "metrics.h"
#include "outage.h"
#include "surge.h"
#include "verdict.h"
#include "xmalloc.h"

#ifndef XG_VERSION
#define XG_VERSION	"0"
#endif

#define ALERT_TICK_MS		1000
#define ALERT_IDLE_MS		(24 * 3600 * 1000)	/* no sinks */
#define ALERT_OVERRUN_GAP	(60 * CLOCK_US_PER_SEC)
#define ALERT_STORE_GAP		(600 * CLOCK_US_PER_SEC)
#define ALERT_LOG_GAP		(60 * CLOCK_US_PER_SEC)

/*
 * Sending.
 */

static void
alert_done_cb(const struct http_result *r, void *arg)
{
	struct alert_sink	*sk = arg;
	char			 err[sizeof(sk->last_error)];

	switch (r->outcome) {
	case HTTP_OK:
		sk->sent++;
		return;
	case HTTP_CANCELLED:
		sk->cancelled++;
		return;
	case HTTP_FAILED:
		break;
	}
	sk->failed++;
	snprintf(err, sizeof(err), "%s", r->error);
	alert_scrub(err, sk->ca->url);
	alert_scrub(err, sk->ca->token);
	alert_scrub(err, sk->ca->authorization);
	snprintf(sk->last_error, sizeof(sk->last_error), "%s", err);
	if (log_ratelimit_ok(&sk->rl_fail, clock_monotonic()))
		log_warnx("alert %s: a message to %s was not delivered after "
		    "%d tries: %s (%" PRIu64 " failed so far)", sk->ca->name,
		    sk->shown, r->tries, err, sk->failed);
}

/* Formats m in sk's dialect and queues it; never waits. */
static void
alert_send(struct alert_sink *sk, const struct alert_msg *m)
{
	const struct conf_alert	*ca = sk->ca;
	const char		*hdrs[2] = { NULL, NULL };
	char			*body = NULL, *url = NULL, *auth = NULL;
	char			*room;
	size_t			 len = 0;
	FILE			*fp;
	int			 bad, rc;

	/* xmpp: the chat sinks' text, as a client of its own. */
	if (sk->xmpp != NULL) {
		alert_xmpp_send(sk->xmpp, m->text);
		return;
	}
	if ((fp = open_memstream(&body, &len)) == NULL)
		goto fail;
	alert_body(fp, sk, m);
	bad = ferror(fp);
	if (fclose(fp) != 0 || bad || len > ALERT_BODY_MAX)
		goto fail;

	if (ca->type == CONF_ALERT_MATRIX) {
		/* PUT with a transaction id: a retry cannot post twice. */
		if ((room = curl_easy_escape(NULL, ca->room, 0)) == NULL)
			goto fail;
		url = xasprintf("%s/_matrix/client/v3/rooms/%s/send/"
		    "m.room.message/xg%" PRId64 ".%" PRIu64, sk->matrix_base,
		    room, sk->alerts->started, ++sk->txn);
		curl_free(room);
		auth = xasprintf("Authorization: Bearer %s", ca->token);
		hdrs[0] = auth;
		rc = http_request(sk->http, "PUT", url, hdrs, body, len,
		    (int)(ca->timeout / 1000), alert_done_cb, sk);
	} else {
		/* An API that wants credentials: [alert] authorization. */
		if (ca->authorization[0] != '\0') {
			auth = xasprintf("Authorization: %s",
			    ca->authorization);
			hdrs[0] = auth;
		}
		rc = http_request(sk->http, "POST", ca->url, hdrs, body, len,
		    (int)(ca->timeout / 1000), alert_done_cb, sk);
	}
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(url);
	free(body);
	if (rc == 0)
		return;
	sk->dropped++;
	if (log_ratelimit_ok(&sk->rl_drop, clock_monotonic()))
		log_warnx("alert %s: message dropped (%s), %" PRIu64 " so far",
		    ca->name, errno == ENOBUFS ? "queue full" :
		    strerror(errno), sk->dropped);
	return;
fail:
	free(body);
	sk->dropped++;
	if (log_ratelimit_ok(&sk->rl_drop, clock_monotonic()))
		log_warnx("alert %s: cannot format a message", ca->name);
}

/*
 * Digests.
 */

static int
alert_banlike(enum conf_alert_event ev)
{
	return ev == CONF_AEV_BAN || ev == CONF_AEV_UNBAN ||
	    ev == CONF_AEV_ESCALATION || ev == CONF_AEV_EXPIRE;
}

/* Space-saving count of prefix: the least counted slot makes way. */
static void
alert_top_add(struct alert_sink *sk, const struct alert_msg *m,
    enum verdict_rule rule)
{
	struct alert_top	*t = NULL;
	int			 i, min = 0;

	for (i = 0; i < sk->ntop; i++) {
		if (sk->top[i].prefix.len == m->prefix.len &&
		    addr_eq(&sk->top[i].prefix.addr, &m->prefix.addr)) {
			t = &sk->top[i];
			break;
		}
		if (sk->top[i].count < sk->top[min].count)
			min = i;
	}
	if (t == NULL && sk->ntop < ALERT_TOP) {
		t = &sk->top[sk->ntop++];
		memset(t, 0, sizeof(*t));
	} else if (t == NULL) {
		t = &sk->top[min];	/* inherits the count as its error */
		t->err = t->count;
	}
	t->prefix = m->prefix;
	t->count++;
	t->rule = rule;
	snprintf(t->reason, sizeof(t->reason), "%s", m->reason);
}

static int
alert_top_cmp(const void *a, const void *b)
{
	const struct alert_top	*x = a, *y = b;
	uint32_t		 sx = x->count - x->err, sy = y->count - y->err;

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

static void
alert_window_reset(struct alert_sink *sk)
{
	sk->win_events = sk->win_held = 0;
	memset(sk->kinds, 0, sizeof(sk->kinds));
	memset(sk->rules, 0, sizeof(sk->rules));
	sk->ntop = 0;
}

/* The window is over at now: its digest if anything was held. */
static void
alert_window_close(struct alert_sink *sk, int64_t now)
{
	static const char *const kname[ALERT_K_MAX] = {
		"new", "escalated", "extended", "lifted", "expired"
	};
	struct alert_msg	*m;
	char			 span[32], pfx[ADDR_PREFIX_STRLEN];
	uint32_t		 bans;
	int			 i, k, n;
	int			 storm;

	if (sk->win_start == 0)
		return;
	if (sk->win_held == 0) {
		sk->win_start = 0;
		sk->storm = 0;
		alert_window_reset(sk);
		return;
	}
	storm = sk->win_events > sk->ca->digest_after;
	m = xcalloc(1, sizeof(*m));
	m->ev = CONF_AEV_BAN;
	m->name = "digest";
	m->time = now;
	m->digest = sk;
	bans = sk->kinds[ALERT_K_BAN] + sk->kinds[ALERT_K_ESCALATION] +
	    sk->kinds[ALERT_K_EXTENDED];
	m->count = bans;
	m->sev = sk->kinds[ALERT_K_ESCALATION] > 0 || storm ?
	    CONF_SEV_WARNING : CONF_SEV_INFO;
	qsort(sk->top, (size_t)sk->ntop, sizeof(sk->top[0]), alert_top_cmp);

	/* "1000 bans (50 escalated), 20 expired in 1m": the interval, or
	 * less if the stop closes it early. */
	snprintf(m->text, sizeof(m->text), "xmppguard@%s:", sk->alerts->host);
	n = 0;
	if (bans > 0) {
		alert_cat(m->text, sizeof(m->text), " %" PRIu32 " %s", bans,
		    bans == 1 ? "ban" : "bans");
		for (k = ALERT_K_ESCALATION, i = 0; k <= ALERT_K_EXTENDED; k++)
			if (sk->kinds[k] > 0)
				alert_cat(m->text, sizeof(m->text), "%s%"
				    PRIu32 " %s", i++ == 0 ? " (" : ", ",
				    sk->kinds[k], kname[k]);
		alert_cat(m->text, sizeof(m->text), "%s", i > 0 ? ")" : "");
		n++;
	}
	for (k = ALERT_K_UNBAN; k <= ALERT_K_EXPIRED; k++)
		if (sk->kinds[k] > 0)
			alert_cat(m->text, sizeof(m->text), "%s %" PRIu32
			    " %s", n++ > 0 ? "," : "", sk->kinds[k],
			    kname[k]);
	alert_cat(m->text, sizeof(m->text), " in %s; %" PRIu32 " not "
	    "announced one by one", alert_span(now - sk->win_start <
	    sk->ca->digest ? now - sk->win_start : sk->ca->digest, span,
	    sizeof(span)), sk->win_held);
	if (bans > 0) {
		alert_cat(m->text, sizeof(m->text), "\nby rule:");
		for (k = 0, n = 0; k < VERDICT_RULE_MAX; k++)
			if (sk->rules[k] > 0)
				alert_cat(m->text, sizeof(m->text), "%s %s %"
				    PRIu32, n++ == 0 ? "" : ",",
				    verdict_rule_name((enum verdict_rule)k),
				    sk->rules[k]);
		alert_cat(m->text, sizeof(m->text), "\ntop addresses:");
	}
	for (i = 0; i < sk->ntop && i < ALERT_TOP_SHOWN; i++)
		alert_cat(m->text, sizeof(m->text), "\n  %s x%" PRIu32 " (%s)",
		    addr_prefix_ntop(&sk->top[i].prefix, pfx, sizeof(pfx)),
		    sk->top[i].count - sk->top[i].err, sk->top[i].reason);
	sk->digests++;
	sk->digested += sk->win_held;
	alert_send(sk, m);
	free(m);
	alert_window_reset(sk);
	/* Still storming: the next window holds everything from its start. */
	sk->storm = storm;
	sk->win_start = storm ? now : 0;
}

/* 1 if the sink wants m at all. */
static int
alert_wanted(const struct alert_sink *sk, const struct alert_msg *m)
{
	return (sk->ca->event_mask & (1U << m->ev)) != 0 &&
	    m->sev >= sk->ca->min_severity;
}

/* m to every sink that wants it, through its digest if ban-like. */
static void
alert_dispatch(struct alerts *as, const struct alert_msg *m,
    enum alert_kind kind, enum verdict_rule rule)
{
	struct alert_sink	*sk;
	int			 i;

	for (i = 0; i < as->nsinks; i++) {
		sk = as->sinks[i];
		if (!alert_wanted(sk, m))
			continue;
		sk->events++;
		if (!alert_banlike(m->ev) || sk->ca->digest == 0) {
			alert_send(sk, m);
			continue;
		}
		if (sk->win_start != 0 &&
		    m->time >= sk->win_start + sk->ca->digest)
			alert_window_close(sk, m->time);
		if (sk->win_start == 0)
			sk->win_start = m->time;
		sk->win_events++;
		sk->kinds[kind]++;
		if (kind == ALERT_K_BAN || kind == ALERT_K_ESCALATION ||
		    kind == ALERT_K_EXTENDED) {
			sk->rules[rule]++;
			alert_top_add(sk, m, rule);
		}
		if (!sk->storm && sk->win_events <= sk->ca->digest_after)
			alert_send(sk, m);
		else
			sk->win_held++;
	}
}

/*
 * Events.
 */

void
alerts_ban(enum ban_change what, const struct ban *b, int64_t now,
    void *arg)
{
	struct alerts		*as = arg;
	struct alert_msg	*m;
	enum alert_kind		 kind = ALERT_K_BAN;
	char			 pfx[ADDR_PREFIX_STRLEN], d[32], t[40], n[16];
	const char		*verb;

	if (as == NULL || as->nsinks == 0)
		return;
	m = xcalloc(1, sizeof(*m));
	m->time = now;
	m->has_ban = 1;
	m->prefix = b->prefix;
	m->rule = verdict_rule_name(b->rule);
	snprintf(m->reason, sizeof(m->reason), "%s", b->reason);
	m->scope = fw_scope_name(b->scope);
	snprintf(m->ports, sizeof(m->ports), "%s", b->ports != NULL ?
	    b->ports : "");
	m->count = b->count;
	m->expires = b->expires;
	addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx));
	alert_ordinal(b->count, n, sizeof(n));
	verb = b->throttled ? "throttled" : "banned";
	switch (what) {
	case BAN_ISSUED:
	case BAN_EXTENDED:
		m->duration = what == BAN_ISSUED ? b->expires - b->since :
		    b->expires - now;
		if (what == BAN_ISSUED && b->count > 1) {
			m->ev = CONF_AEV_ESCALATION;
			m->name = "escalation";
			m->sev = CONF_SEV_WARNING;
			kind = ALERT_K_ESCALATION;
		} else {
			m->ev = CONF_AEV_BAN;
			m->name = "ban";
			m->sev = CONF_SEV_INFO;
			kind = what == BAN_ISSUED ? ALERT_K_BAN :
			    ALERT_K_EXTENDED;
		}
		alert_span(m->duration, d, sizeof(d));
		if (what == BAN_ISSUED)
			snprintf(m->text, sizeof(m->text), "xmppguard@%s: %s "
			    "%s for %s (%s)", as->host, verb, pfx, d,
			    b->reason);
		else
			snprintf(m->text, sizeof(m->text), "xmppguard@%s: "
			    "ban of %s extended to %s (%s)", as->host, pfx, d,
			    b->reason);
		if (b->count > 1)
			alert_cat(m->text, sizeof(m->text), ", %s ban", n);
		/* Through a proxy: the ports it closes, the proxy's too. */
		if (b->scope == FW_SCOPE_PROXY)
			alert_cat(m->text, sizeof(m->text), ", through a "
			    "proxy: ports %s", m->ports);
		alert_cat(m->text, sizeof(m->text), ", expires %s",
		    alert_clock(b->expires, now, t, sizeof(t)));
		break;
	case BAN_LIFTED:
		m->ev = CONF_AEV_UNBAN;
		m->name = "unban";
		m->sev = CONF_SEV_INFO;
		kind = ALERT_K_UNBAN;
		snprintf(m->text, sizeof(m->text), "xmppguard@%s: %s unbanned "
		    "by an operator (%s, %s ban)", as->host, pfx, m->rule, n);
		break;
	case BAN_REVOKED:
		/* Worth a look: an address became ours, or the firewall
		 * disagrees with the rules. */
		m->ev = CONF_AEV_UNBAN;
		m->name = "unban";
		m->sev = CONF_SEV_WARNING;
		kind = ALERT_K_UNBAN;
		snprintf(m->text, sizeof(m->text), "xmppguard@%s: ban of %s "
		    "ended (%s, %s ban): %s", as->host, pfx, m->rule, n,
		    b->reason);
		break;
	case BAN_EXPIRED:
		m->ev = CONF_AEV_EXPIRE;
		m->name = "expire";
		m->sev = CONF_SEV_INFO;
		kind = ALERT_K_EXPIRED;
		snprintf(m->text, sizeof(m->text), "xmppguard@%s: ban of %s "
		    "expired (%s, %s ban)", as->host, pfx, m->rule, n);
		break;
	}
	alert_dispatch(as, m, kind, b->rule);
	free(m);
}

/* A message of its own (no ban, no digest); the caller writes its text. */
static struct alert_msg *
alert_msg_new(enum conf_alert_event ev, const char *name, int sev,
    int64_t now, uint64_t count)
{
	struct alert_msg	*m;

	m = xcalloc(1, sizeof(*m));
	m->ev = ev;
	m->name = name;
	m->sev = sev;
	m->time = now;
	m->count = count;
	return m;
}

/* Tells the overruns noted since the last message, if any. */
static void
alert_overrun_flush(struct alerts *as, int64_t now)
{
	struct alert_msg	*m;

	if (as->overruns_new == 0 ||
	    (as->overrun_sent != 0 && now - as->overrun_sent <
	    ALERT_OVERRUN_GAP))
		return;
	m = alert_msg_new(CONF_AEV_OVERRUN, "overrun", CONF_SEV_WARNING,
	    now, as->overruns_new);
	snprintf(m->text, sizeof(m->text), "xmppguard@%s: conntrack netlink "
	    "overrun: events were lost (%" PRIu64 " %s, %" PRIu64 " since "
	    "start); the table is read again, so no connection stays counted "
	    "wrongly, but the buffer may be too small", as->host,
	    as->overruns_new, as->overruns_new == 1 ? "overrun" : "overruns",
	    as->overruns_seen);
	as->overruns_new = 0;
	as->overrun_sent = now;
	alert_dispatch(as, m, ALERT_K_MAX, VERDICT_MANUAL);
	free(m);
}

void
alerts_overrun(struct alerts *as, uint64_t overruns, int64_t now)
{
	if (as == NULL)
		return;
	if (!as->overrun_primed || overruns < as->overruns_seen) {
		as->overrun_primed = 1;
		as->overruns_seen = overruns;
		return;
	}
	as->overruns_new += overruns - as->overruns_seen;
	as->overruns_seen = overruns;
	alert_overrun_flush(as, now);
}

void
alerts_outage(struct alerts *as, const struct outage_stats *st,
    int64_t window, int64_t hold, int64_t now)
{
	struct alert_msg	*m;
	char			 w[32], h[32];

	if (as == NULL || as->nsinks == 0)
		return;
	m = alert_msg_new(CONF_AEV_OUTAGE, "auth-outage", CONF_SEV_CRITICAL,
	    now, st->fails);
	snprintf(m->text, sizeof(m->text), "xmppguard@%s: authentication "
	    "backend outage? %" PRIu64 " failed logins from about %" PRIu64
	    " addresses in %s with %" PRIu64 " successful (usually %.1f "
	    "failures); auth bans are held until it has been gone for %s",
	    as->host, st->fails, st->addresses, conf_fmt_duration(window, w,
	    sizeof(w)), st->oks, st->baseline, conf_fmt_duration(hold, h,
	    sizeof(h)));
	alert_dispatch(as, m, ALERT_K_MAX, VERDICT_MANUAL);
	free(m);
}

void
alerts_peer(const struct verdict *v, void *arg)
{
	struct alerts		*as = arg;
	struct alert_msg	*m;
	char			 pfx[ADDR_PREFIX_STRLEN];

	if (as == NULL || as->nsinks == 0)
		return;
	m = alert_msg_new(CONF_AEV_PEER, "peer", CONF_SEV_WARNING, v->time,
	    v->observed);
	snprintf(m->text, sizeof(m->text), "xmppguard@%s: federation peer %s "
	    "not banned: %s", as->host, addr_prefix_ntop(&v->prefix, pfx,
	    sizeof(pfx)), v->reason);
	alert_dispatch(as, m, ALERT_K_MAX, v->rule);
	free(m);
}

/*
 * ", N refused by the surge cap" at a surge's end, or "" if none was
 * read: the kernel tells of them on nflog only where the surge cap's rule
 * logs them, and a count of 0 cannot tell "none" from "not told".
 */
static const char *
alert_surge_refused(const struct surge_change *c, char *buf, size_t size)
{
	if (c->refused == 0)
		return "";
	snprintf(buf, size, ", %" PRIu64 " refused by the surge cap",
	    c->refused);
	return buf;
}

void
alerts_surge(const struct surge_change *c, void *arg)
{
	struct alerts		*as = arg;
	struct alert_msg	*m;
	char			 w[32], d[32], r[48];

	if (as == NULL || as->nsinks == 0)
		return;
	m = alert_msg_new(CONF_AEV_SURGE, "surge", c->on ? CONF_SEV_WARNING :
	    CONF_SEV_INFO, c->time, c->on ? c->rate : c->conns);
	m->duration = c->duration;
	conf_fmt_duration(c->window, w, sizeof(w));
	if (c->on)
		snprintf(m->text, sizeof(m->text), "xmppguard@%s: surge on "
		    "%s: %" PRIu64 " connections that did not log in in %s "
		    "from %" PRIu64 " addresses, usually %.1f (threshold %"
		    PRIu64 ", %" PRIu32 " times usual); addresses with no "
		    "recent login are held to the surge cap", as->host,
		    c->service, c->rate, w, c->addresses, c->baseline,
		    c->threshold, c->factor);
	else
		snprintf(m->text, sizeof(m->text), "xmppguard@%s: surge on "
		    "%s over after %s: peak %" PRIu64 " in %s, %" PRIu64
		    " connections that did not log in from %" PRIu64
		    " addresses%s; the surge cap is lifted", as->host,
		    c->service, alert_span(c->duration, d, sizeof(d)),
		    c->rate, w, c->conns, c->addresses,
		    alert_surge_refused(c, r, sizeof(r)));
	alert_dispatch(as, m, ALERT_K_MAX, VERDICT_MANUAL);
	free(m);
}

void
alerts_store_error(struct alerts *as, uint64_t unsaved, const char *why,
    int64_t now)
{
	struct alert_msg	*m;

	if (as == NULL)
		return;
	if (unsaved == 0) {
		as->store_err_sent = 0;
		return;
	}
	if (as->nsinks == 0 || (as->store_err_sent != 0 &&
	    now - as->store_err_sent < ALERT_STORE_GAP))
		return;
	as->store_err_sent = now;
	m = alert_msg_new(CONF_AEV_STORE_ERROR, "store-error", CONF_SEV_CRITICAL,
	    now, unsaved);
	snprintf(m->text, sizeof(m->text), "xmppguard@%s: bans cannot be "
	    "saved: %s: %" PRIu64 " %s held in memory and in the kernel; "
	    "saved once the store can be written", as->host,
	    why != NULL && *why != '\0' ? why : "store error", unsaved,
	    unsaved == 1 ? "ban" : "bans");
	alert_dispatch(as, m, ALERT_K_MAX, VERDICT_MANUAL);
	free(m);
}

void
alerts_cluster(struct alerts *as, int down, const char *url, int64_t span,
    const char *why, int64_t now)
{
	struct alert_msg	*m;
	char			 s[32], shown[ALERT_SHOWN_MAX];

	if (as == NULL || as->nsinks == 0)
		return;
	alert_url_shown(url, shown, sizeof(shown));
	m = alert_msg_new(CONF_AEV_CLUSTER, down ? "cluster-down" :
	    "cluster-up", down ? CONF_SEV_CRITICAL : CONF_SEV_INFO, now, 0);
	m->duration = span;
	if (down)
		snprintf(m->text, sizeof(m->text), "xmppguard@%s: cluster "
		    "link to %s down for %s: %s; bans are still made and "
		    "queued here, but none comes from the other nodes",
		    as->host, shown, alert_span(span, s, sizeof(s)),
		    why != NULL && *why != '\0' ? why : "no answer");
	else
		snprintf(m->text, sizeof(m->text), "xmppguard@%s: cluster "
		    "link to %s back after %s down", as->host, shown,
		    alert_span(span, s, sizeof(s)));
	alert_dispatch(as, m, ALERT_K_MAX, VERDICT_MANUAL);
	free(m);
}

void
alerts_start(struct alerts *as, uint64_t restored, const char *firewall,
    int64_t now)
{
	struct alert_msg	*m;

	if (as == NULL || as->nsinks == 0)
		return;
	m = alert_msg_new(CONF_AEV_START, "start", CONF_SEV_INFO,
	    now, restored);
	snprintf(m->text, sizeof(m->text), "xmppguard@%s: started (version "
	    "%s, firewall %s, %" PRIu64 " %s in force restored)", as->host,
	    XG_VERSION, firewall, restored, restored == 1 ? "ban" : "bans");
	alert_dispatch(as, m, ALERT_K_MAX, VERDICT_MANUAL);
	free(m);
}

void
alerts_stop(struct alerts *as, int64_t uptime, uint64_t active, int64_t now)
{
	struct alert_msg	*m;
	char			 up[32];
	int			 i;

	if (as == NULL || as->nsinks == 0)
		return;
	for (i = 0; i < as->nsinks; i++)
		alert_window_close(as->sinks[i], now);
	as->overrun_sent = 0;
	alert_overrun_flush(as, now);
	m = alert_msg_new(CONF_AEV_STOP, "stop", CONF_SEV_WARNING,
	    now, active);
	snprintf(m->text, sizeof(m->text), "xmppguard@%s: stopping after %s; "
	    "%" PRIu64 " %s in force %s in the firewall with %s timeouts, "
	    "but no new ones until it runs again", as->host,
	    alert_span(uptime, up, sizeof(up)), active,
	    active == 1 ? "ban" : "bans", active == 1 ? "stays" : "stay",
	    active == 1 ? "its" : "their");
	alert_dispatch(as, m, ALERT_K_MAX, VERDICT_MANUAL);
	free(m);
}

void
alerts_tick(struct alerts *as, int64_t now)
{
	struct alert_sink	*sk;
	int			 i;

	for (i = 0; i < as->nsinks; i++) {
		sk = as->sinks[i];
		if (sk->win_start != 0 && now >= sk->win_start + sk->ca->digest)
			alert_window_close(sk, now);
	}
	alert_overrun_flush(as, now);
}

static int64_t
alert_tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	alerts_tick(arg, clock_realtime());
	/* No sink, nothing to close or send: asleep until a reload adds
	 * one (alerts_reload wakes it). */
	return ((struct alerts *)arg)->nsinks > 0 ? ALERT_TICK_MS :
	    ALERT_IDLE_MS;
}

/*
 * Sinks.
 */

static struct alert_sink *
alert_sink_new(struct alerts *as, const struct conf_alert *ca, char **cause)
{
	struct alert_sink	*sk;
	char			*c;
	size_t			 n;

	sk = xcalloc(1, sizeof(*sk));
	if (ca->type == CONF_ALERT_XMPP) {
		if ((sk->xmpp = alert_xmpp_new(as->loop, ca, cause)) == NULL) {
			free(sk);
			return NULL;
		}
		sk->alerts = as;
		sk->ca = ca;
		snprintf(sk->shown, sizeof(sk->shown), "xmpp:%s", ca->room[0] !=
		    '\0' ? ca->room : ca->to);
		return sk;
	}
	if ((sk->http = http_new(as->loop, &c)) == NULL) {
		*cause = xasprintf("alert %s: %s", ca->name, c);
		free(c);
		free(sk);
		return NULL;
	}
	sk->alerts = as;
	sk->ca = ca;
	/* One in flight: a chat reads the messages in the order sent. */
	http_set_limits(sk->http, 1, ca->queue);
	http_set_retry(sk->http, ca->retries, (unsigned int)(ca->backoff /
	    1000));
	alert_url_shown(ca->url, sk->shown, sizeof(sk->shown));
	sk->matrix_base = xstrdup(ca->url);
	n = strlen(sk->matrix_base);
	while (n > 0 && sk->matrix_base[n - 1] == '/')
		sk->matrix_base[--n] = '\0';
	sk->rl_fail.interval_us = sk->rl_drop.interval_us = ALERT_LOG_GAP;
	if (strncmp(ca->url, "http://", 7) == 0 &&
	    strncmp(sk->shown, "http://127.", 11) != 0 &&
	    strncmp(sk->shown, "http://localhost", 16) != 0 &&
	    strncmp(sk->shown, "http://[::1]", 12) != 0)
		log_warnx("alert %s: %s is plain http: its token and the "
		    "messages cross the network in clear", ca->name,
		    sk->shown);
	return sk;
}

static void
alert_sink_free(struct alert_sink *sk)
{
	if (sk == NULL)
		return;
	http_free(sk->http);	/* runs the pending callbacks */
	alert_xmpp_free(sk->xmpp);
	free(sk->matrix_base);
	free(sk);
}

/* Two sections that would send the same things the same way. */
static int
alert_same(const struct conf_alert *a, const struct conf_alert *b)
{
	return strcmp(a->name, b->name) == 0 && a->type == b->type &&
	    strcmp(a->url, b->url) == 0 && strcmp(a->room, b->room) == 0 &&
	    strcmp(a->token, b->token) == 0 &&
	    strcmp(a->username, b->username) == 0 &&
	    strcmp(a->icon, b->icon) == 0 && strcmp(a->tmpl, b->tmpl) == 0 &&
	    a->event_mask == b->event_mask &&
	    a->min_severity == b->min_severity && a->digest == b->digest &&
	    a->digest_after == b->digest_after && a->timeout == b->timeout &&
	    a->retries == b->retries && a->backoff == b->backoff &&
	    a->queue == b->queue && strcmp(a->jid, b->jid) == 0 &&
	    strcmp(a->password, b->password) == 0 &&
	    strcmp(a->nick, b->nick) == 0 && strcmp(a->to, b->to) == 0 &&
	    strcmp(a->server, b->server) == 0 &&
	    strcmp(a->ca_file, b->ca_file) == 0 && a->tls == b->tls &&
	    a->tls_verify == b->tls_verify;
}

struct alerts *
alerts_new(struct loop *loop, const struct conf *conf, char **cause)
{
	struct alerts	*as;
	int		 i;

	as = xcalloc(1, sizeof(*as));
	as->loop = loop;
	as->started = clock_realtime();
	if (gethostname(as->host, sizeof(as->host)) == -1)
		snprintf(as->host, sizeof(as->host), "localhost");
	as->host[sizeof(as->host) - 1] = '\0';
	if (conf->nalerts > 0)
		as->sinks = xcalloc((size_t)conf->nalerts,
		    sizeof(*as->sinks));
	for (i = 0; i < conf->nalerts; i++) {
		if ((as->sinks[i] = alert_sink_new(as, &conf->alerts[i],
		    cause)) == NULL) {
			alerts_free(as);
			return NULL;
		}
		as->nsinks++;
	}
	if ((as->timer = loop_timer_add(loop, ALERT_TICK_MS, alert_tick_cb,
	    as)) == NULL) {
		*cause = xasprintf("alert: timer: %s", strerror(errno));
		alerts_free(as);
		return NULL;
	}
	return as;
}

void
alerts_reload(struct alerts *as, const struct conf *conf)
{
	struct alert_sink	**sinks = NULL, *sk;
	char			 *cause;
	int			  i, j, n = 0;

	if (conf->nalerts > 0)
		sinks = xcalloc((size_t)conf->nalerts, sizeof(*sinks));
	for (i = 0; i < conf->nalerts; i++) {
		for (j = 0; j < as->nsinks; j++) {
			sk = as->sinks[j];
			if (sk != NULL && alert_same(sk->ca,
			    &conf->alerts[i]))
				break;
		}
		if (j < as->nsinks) {
			sk = as->sinks[j];
			as->sinks[j] = NULL;
			sk->ca = &conf->alerts[i];	/* the same values */
		} else if ((sk = alert_sink_new(as, &conf->alerts[i],
		    &cause)) == NULL) {
			log_warnx("reload: %s; left out", cause);
			free(cause);
			continue;
		}
		sinks[n++] = sk;
	}
	for (j = 0; j < as->nsinks; j++)
		alert_sink_free(as->sinks[j]);
	free(as->sinks);
	as->sinks = sinks;
	as->nsinks = n;
	if (n > 0)
		(void)loop_timer_set(as->loop, as->timer, ALERT_TICK_MS);
}

void
alerts_free(struct alerts *as)
{
	int	i;

	if (as == NULL)
		return;
	for (i = 0; i < as->nsinks; i++)
		alert_sink_free(as->sinks[i]);
	free(as->sinks);
	loop_timer_del(as->loop, as->timer);
	free(as);
}

/*
 * Reading.
 */

static unsigned int
alert_sink_busy(const struct alert_sink *sk)
{
	return sk->xmpp != NULL ? alert_xmpp_busy(sk->xmpp) :
	    http_busy(sk->http);
}

unsigned int
alerts_busy(const struct alerts *as)
{
	unsigned int	n = 0;
	int		i;

	if (as == NULL)
		return 0;
	for (i = 0; i < as->nsinks; i++)
		n += alert_sink_busy(as->sinks[i]);
	return n;
}

void
alerts_get_stats(const struct alerts *as, struct alert_stats *st)
{
	const struct alert_sink	*sk;
	int			 i;

	memset(st, 0, sizeof(*st));
	if (as == NULL)
		return;
	st->sinks = (unsigned int)as->nsinks;
	for (i = 0; i < as->nsinks; i++) {
		sk = as->sinks[i];
		st->events += sk->events;
		st->sent += sk->sent;
		st->failed += sk->failed;
		st->dropped += sk->dropped;
		st->cancelled += sk->cancelled;
		st->digests += sk->digests;
		st->digested += sk->digested;
		st->pending += alert_sink_busy(sk);
	}
}

static const char *
alert_type_name(int type)
{
	static const char *const names[] = {
		"slack", "mattermost", "rocketchat", "matrix", "discord",
		"json", "xmpp"
	};

	return type >= 0 && type < (int)(sizeof(names) / sizeof(names[0])) ?
	    names[type] : "?";
}

/*
 * Status: the totals over every sink, with each sink's own counters in a
 * list inside ("sinks").
 */
struct alert_sink_status {
	const char	*name;
	const char	*type;
	const char	*url;		/* scheme and host only */
	uint64_t	 events, sent, failed, dropped, cancelled;
	uint64_t	 digests, digested, attempts, retries;
	uint32_t	 pending;
	const char	*last_error;
	const char	*state;		/* xmpp: the session's; "": none */
	uint32_t	 connected;	/* xmpp: 1 while online */
	char		 xmpp_error[128];
};

static size_t
alert_sinks_count(const void *obj)
{
	const struct alerts	*as = obj;

	return as != NULL ? (size_t)as->nsinks : 0;
}

static void
alert_sinks_get(const void *obj, size_t i, void *snap)
{
	const struct alerts		*as = obj;
	const struct alert_sink		*sk = as->sinks[i];
	struct alert_sink_status	*s = snap;
	struct http_stats		 hs;

	struct alert_xmpp_stats		 xs;

	memset(&hs, 0, sizeof(hs));
	s->state = "";
	if (sk->xmpp != NULL) {
		/* Its own counters: what it sent, what its queue dropped. */
		alert_xmpp_get_stats(sk->xmpp, &xs);
		s->state = alert_xmpp_state_name(xs.state);
		s->connected = xs.state == ALERT_XMPP_ONLINE;
		hs.pending = xs.queued;
		snprintf(s->xmpp_error, sizeof(s->xmpp_error), "%s",
		    xs.last_error);
	} else
		http_get_stats(sk->http, &hs);
	s->name = sk->ca->name;
	s->type = alert_type_name(sk->ca->type);
	s->url = sk->shown;
	s->events = sk->events;
	s->sent = sk->sent;
	s->failed = sk->failed;
	s->dropped = sk->dropped;
	s->cancelled = sk->cancelled;
	s->digests = sk->digests;
	s->digested = sk->digested;
	s->attempts = hs.attempts;
	s->retries = hs.retries;
	s->pending = (uint32_t)(hs.inflight + hs.pending);
	s->last_error = sk->xmpp != NULL ? s->xmpp_error : sk->last_error;
	if (sk->xmpp != NULL) {
		s->sent = xs.sent;
		s->dropped = sk->dropped + xs.dropped;
	}
}

#define AS(f)	offsetof(struct alert_sink_status, f)
static const struct status_field alert_sinks_fields[] = {
	{ .name = "name", .type = STATUS_STR, .off = AS(name) },
	{ .name = "type", .type = STATUS_STR, .off = AS(type), .text = "%" },
	{ .name = "url", .type = STATUS_STR, .off = AS(url), .text = "%" },
	{ .name = "state", .type = STATUS_STR, .off = AS(state),
	  .text = "xmpp %" },
	{ .name = "events", .type = STATUS_U64, .off = AS(events),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_alerts_events_total",
	  .help = "Events a sink's filter let through." },
	{ .name = "sent", .type = STATUS_U64, .off = AS(sent),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_alerts_sent_total",
	  .help = "Messages the chat took.", .text = "% sent" },
	{ .name = "failed", .type = STATUS_U64, .off = AS(failed),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_alerts_failed_total",
	  .help = "Messages given up on after retries.", .text = "% failed" },
	{ .name = "dropped", .type = STATUS_U64, .off = AS(dropped),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_alerts_dropped_total",
	  .help = "Messages dropped: the sink's queue was full.",
	  .text = "% dropped" },
	{ .name = "cancelled", .type = STATUS_U64, .off = AS(cancelled) },
	{ .name = "digests", .type = STATUS_U64, .off = AS(digests),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_alerts_digests_total",
	  .help = "Digest messages sent in place of single bans.",
	  .text = "% digests" },
	{ .name = "digested", .type = STATUS_U64, .off = AS(digested),
	  .text = "% events summed" },
	{ .name = "attempts", .type = STATUS_U64, .off = AS(attempts) },
	{ .name = "retries", .type = STATUS_U64, .off = AS(retries) },
	{ .name = "pending", .type = STATUS_U32, .off = AS(pending),
	  .text = "% pending" },
	{ .name = "last_error", .type = STATUS_STR, .off = AS(last_error),
	  .text = "last error: %" },
	{ .name = "connected", .type = STATUS_U32, .off = AS(connected),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_alerts_connected",
	  .help = "xmpp sinks: 1 while the session is up (and in the room), "
	  "else 0." },
	{ .name = NULL }
};
#undef AS

static const struct status_group alert_sinks_group = {
	.name = "sinks",
	.text = "alert",
	.fields = alert_sinks_fields,
	.size = sizeof(struct alert_sink_status),
	.get = alert_sinks_get,
	.count = alert_sinks_count,
	.item = "sink",
};

static void
alerts_status_get(const void *obj, size_t i, void *snap)
{
	(void)i;
	alerts_get_stats(obj, snap);
}

#define AT(f)	offsetof(struct alert_stats, f)
static const struct status_field alerts_fields[] = {
	{ .name = "events", .type = STATUS_U64, .off = AT(events) },
	{ .name = "sent", .type = STATUS_U64, .off = AT(sent) },
	{ .name = "failed", .type = STATUS_U64, .off = AT(failed) },
	{ .name = "dropped", .type = STATUS_U64, .off = AT(dropped) },
	{ .name = "cancelled", .type = STATUS_U64, .off = AT(cancelled) },
	{ .name = "digests", .type = STATUS_U64, .off = AT(digests) },
	{ .name = "digested", .type = STATUS_U64, .off = AT(digested) },
	{ .name = "pending", .type = STATUS_U32, .off = AT(pending) },
	{ .name = NULL }
};
#undef AT

const struct status_group alerts_status_group = {
	.name = "alerts",
	.fields = alerts_fields,
	.size = sizeof(struct alert_stats),
	.get = alerts_status_get,
	.sub = &alert_sinks_group,
};
