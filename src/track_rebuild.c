/*
 * Rebuilding the tracker's rings.  At start (and at a reload that
 * changes a window's length) the rings are refilled from the store's
 * events (pipeline_rebuild()): a ring marked TRACK_S_REBUILD takes
 * them, nothing is judged, and the offence bits come from the verdicts
 * the store recorded, not from the events again, so a limit broken before
 * the restart is not reported twice and one a new configuration breaks is
 * reported at the next event.  The ring needs no order: an event lands in
 * its own bucket, or nowhere if it is older than the newest by a window.
 *
 * Nothing here reads the clock or issues a verdict: the rows carry their
 * own times, and the offence bits set here only keep old verdicts from
 * being issued again.  Invariant: TRACK_S_REBUILD is set on a slot only
 * between track_rebuild_begin() (or its first row) and track_rebuild_end(),
 * which clears every one.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "event.h"
#include "htab.h"
#include "rule.h"
#include "track.h"
#include "track_int.h"
#include "verdict.h"

/* The ring width of slot s of entry i under conf; 0 if conf no longer has
 * the slot's service (its state is left as it is). */
static uint32_t
track_slot_width(const struct track *t, const struct conf *conf, int s,
    uint32_t i)
{
	const struct conf_service	*svc;
	struct rule_limits		 lim;
	int				 net;

	net = t->e[i].key.len < addr_maxlen(&t->e[i].key.addr);
	if (strcmp(t->name[s], TRACK_SLOT_AUTH) == 0)
		track_log_limits(conf, EVENT_AUTH_FAIL, net, &lim);
	else if (strcmp(t->name[s], TRACK_SLOT_REGISTER) == 0)
		track_log_limits(conf, EVENT_REGISTER, net, &lim);
	else if ((svc = track_service_named(conf, t->name[s])) != NULL)
		rule_limits(conf, svc, &t->e[i].key, &lim);
	else
		return 0;
	return track_ring_width(&lim);
}

static unsigned int
track_rebuild_kind(const char *name)
{
	if (strcmp(name, TRACK_SLOT_AUTH) == 0)
		return TRACK_REBUILD_AUTH;
	if (strcmp(name, TRACK_SLOT_REGISTER) == 0)
		return TRACK_REBUILD_REGISTER;
	return TRACK_REBUILD_CONNS;
}

/*
 * A walk of the table, once per reload (a fresh tracker has nothing to
 * walk).  Only a window whose length changed starts again: the others
 * keep their counts, which the store's rows would only repeat.
 */
unsigned int
track_rebuild_begin(struct track *t, const struct conf *conf, int64_t now)
{
	struct track_slot	*sl;
	unsigned int		 kinds = 0;
	uint32_t		 i, w;
	int			 s;

	for (s = 0; s < TRACK_SLOTS; s++) {
		if (t->slot[s] == NULL || t->name[s][0] == '\0')
			continue;
		for (i = 0; i < t->capacity; i++) {
			sl = &t->slot[s][i];
			if (sl->ring_width == 0 ||
			    htab_list_of(&t->tab, i) == -1 ||
			    (w = track_slot_width(t, conf, s, i)) == 0 ||
			    w == sl->ring_width)
				continue;
			memset(sl->ring, 0, sizeof(sl->ring));
			sl->ring_width = w;
			sl->ring_head = track_ring_number(now, w);
			sl->flags |= TRACK_S_REBUILD;
			kinds |= track_rebuild_kind(t->name[s]);
		}
	}
	return kinds;
}

/* Counts ev in slot s of entry i if that ring is being refilled. */
static void
track_rebuild_add(struct track *t, const struct conf *conf,
    const struct conf_service *svc, int s, uint32_t i,
    const struct event *ev)
{
	struct track_slot	*sl = &t->slot[s][i];
	struct rule_limits	 lim;

	if (sl->ring_width != 0 && !(sl->flags & TRACK_S_REBUILD))
		return;
	sl->flags |= TRACK_S_REBUILD;
	/* Both kinds of rows prove a completed handshake. */
	track_protect(t, i);
	if (svc != NULL) {
		rule_limits(conf, svc, &t->e[i].key, &lim);
		if (track_sec(ev->time) > t->e[i].handshake)
			t->e[i].handshake = track_sec(ev->time);
	} else
		track_log_limits(conf, ev->kind, t->e[i].key.len <
		    addr_maxlen(&t->e[i].key.addr), &lim);
	track_ring_add(sl, track_ring_width(&lim), ev->time);
}

void
track_rebuild_event(struct track *t, const struct conf *conf,
    const struct event *ev)
{
	const struct conf_service	*svc = NULL;
	struct prefix			 host, net;
	uint32_t			 hi;
	int				 s, netlen;

	if ((ev->addr.family != AF_INET && ev->addr.family != AF_INET6) ||
	    addr_is_unspecified(&ev->addr))
		return;
	switch (ev->kind) {
	case EVENT_AUTH_OK:
		/* The accounts of a login: adding one twice is adding it
		 * once (a set holds distinct accounts, each with its latest
		 * login), so no ring-like bookkeeping is needed. */
		if (ev->user != NULL && ev->user[0] != '\0')
			track_account_login(t, conf, ev);
		return;
	case EVENT_CONN_OPEN:
		/* A flow found live at start was not new then. */
		if ((ev->flags & EVENT_F_PREEXISTING) ||
		    (svc = track_service(conf, ev)) == NULL)
			return;
		s = track_slot_bind(t, conf, svc->name);
		break;
	case EVENT_AUTH_FAIL:
		s = track_slot_bind(t, conf, TRACK_SLOT_AUTH);
		break;
	case EVENT_REGISTER:
		if (ev->user != NULL)
			track_account_register(t, track_account_hash(t,
			    ev->user), ev->time);
		s = track_slot_bind(t, conf, TRACK_SLOT_REGISTER);
		break;
	default:
		return;
	}
	if (s == -1)
		return;
	addr_mask(&ev->addr, addr_maxlen(&ev->addr), &host);
	hi = track_get(t, &host, ev->time, TRACK_NIL);
	track_rebuild_add(t, conf, svc, s, hi, ev);
	netlen = ev->addr.family == AF_INET ? conf->track_prefix4 :
	    conf->track_prefix6;
	if (netlen > 0 && netlen < addr_maxlen(&ev->addr)) {
		addr_mask(&ev->addr, netlen, &net);
		track_rebuild_add(t, conf, svc, s, track_get(t, &net,
		    ev->time, hi), ev);
	}
}

/*
 * The verdict's bit, and its time as the slot's last report, which starts
 * the cool-down.  A network of a length no longer aggregated, a service
 * gone from the configuration: nothing to mark.
 */
void
track_rebuild_verdict(struct track *t, const struct conf *conf,
    const struct verdict *v)
{
	const struct conf_service	*svc;
	const struct addr		*a = &v->prefix.addr;
	const char			*name;
	struct track_slot		*sl;
	uint32_t			 i;
	uint8_t				 bit = TRACK_S_CHURN;
	int				 s, netlen;

	switch (v->rule) {
	case VERDICT_AUTH:
		name = TRACK_SLOT_AUTH;
		break;
	case VERDICT_REGISTER:
		name = TRACK_SLOT_REGISTER;
		break;
	case VERDICT_CONCURRENCY:
	case VERDICT_CHURN:
	case VERDICT_KARMA:
		if (v->service == NULL ||
		    (svc = track_service_named(conf, v->service)) == NULL)
			return;
		name = svc->name;
		bit = v->rule == VERDICT_CONCURRENCY ? TRACK_S_CONCURRENCY :
		    v->rule == VERDICT_KARMA ? TRACK_S_KARMA : TRACK_S_CHURN;
		break;
	default:
		return;
	}
	if (a->family != AF_INET && a->family != AF_INET6)
		return;
	netlen = a->family == AF_INET ? conf->track_prefix4 :
	    conf->track_prefix6;
	if ((v->prefix.len != addr_maxlen(a) && v->prefix.len != netlen) ||
	    (s = track_slot_bind(t, conf, name)) == -1)
		return;
	i = track_get(t, &v->prefix, v->time, TRACK_NIL);
	sl = &t->slot[s][i];
	sl->flags |= bit;
	if (track_sec(v->time) > sl->reported)
		sl->reported = track_sec(v->time);
}

uint64_t
track_rebuild_end(struct track *t)
{
	uint64_t	hosts = 0;
	uint32_t	i;
	int		s, marked;

	for (i = 0; i < t->capacity; i++) {
		if (htab_list_of(&t->tab, i) == -1)
			continue;
		for (s = 0, marked = 0; s < TRACK_SLOTS; s++) {
			if (t->slot[s] != NULL &&
			    (t->slot[s][i].flags & TRACK_S_REBUILD)) {
				t->slot[s][i].flags &= ~TRACK_S_REBUILD;
				marked = 1;
			}
		}
		if (marked && t->e[i].key.len == addr_maxlen(&t->e[i].key.addr))
			hosts++;
	}
	return hosts;
}
