/*
 * Replay of surge mode: the same detection as the daemon's (surge.c, fed
 * every event the pipeline judges), and the kernel's tight cap modelled,
 * so replay says when a surge would have started and ended and which
 * strangers' connections the cap would have refused.
 *
 * The cap as the kernel has it (kcap.c): while a surge is on in a
 * service, each connection from an address not known meets a token bucket
 * of surge_max_new's count, refilled at count per window, created full at
 * the address's first connection under the surge and forgotten a window
 * after its last (the dynamic set's timeout).  A refused connection still
 * completed its handshake (the caps judge at its end), so it still counts
 * in the surge's rate and goes on to the pipeline, as conntrack would
 * report it.  Buckets live in a bounded table ([track] capacity), the
 * oldest evicted.
 *
 * Surge mode needs the kernel caps, which the daemon probes for; replay
 * takes them as present (with the nftables backend), since it tells what
 * the daemon would do on a server that has them.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "event.h"
#include "htab.h"
#include "json.h"
#include "kcap.h"
#include "replay_int.h"
#include "surge.h"
#include "xmalloc.h"

struct replay_bucket {
	struct addr	 addr;
	uint8_t		 svc;		/* index in the configuration */
	double		 tokens;
	int64_t		 last;		/* us: the last connection */
};
#define REPLAY_BUCKET_KEY	offsetof(struct replay_bucket, tokens)

struct replay_surge {
	const struct conf	*conf;
	struct surge		*sg;
	int			 json;
	struct htab		 h;
	struct replay_bucket	*b;
	uint64_t		 surges, refused, addresses;
	int64_t			 ticked;	/* input time, last tick */
};

/* A surge begins or ends: a line, as the daemon's alert says it. */
static void
replay_surge_change_cb(const struct surge_change *c, void *arg)
{
	struct replay_surge	*rs = arg;
	char			 t[40], w[32], d[32];

	rs->surges += c->on;
	conf_fmt_duration(c->window, w, sizeof w);
	if (!rs->json) {
		if (c->on)
			printf("%s surge on %s: %llu connections that did "
			    "not log in in %s from %llu addresses, usually "
			    "%.1f (threshold %llu)\n",
			    json_fmt_time(c->time, t, sizeof t), c->service,
			    (unsigned long long)c->rate, w,
			    (unsigned long long)c->addresses, c->baseline,
			    (unsigned long long)c->threshold);
		else
			printf("%s surge on %s over after %s: peak %llu in "
			    "%s, %llu connections that did not log in\n",
			    json_fmt_time(c->time, t, sizeof t), c->service,
			    conf_fmt_duration(c->duration / CLOCK_US_PER_SEC *
			    CLOCK_US_PER_SEC, d, sizeof d),
			    (unsigned long long)c->rate, w,
			    (unsigned long long)c->conns);
		return;
	}
	printf("{\"time\":");
	json_time(stdout, c->time);
	printf(",\"surge\":%s,\"service\":", c->on ? "true" : "false");
	json_string(stdout, c->service);
	printf(",\"rate\":%llu,\"baseline\":%.1f,\"threshold\":%llu,"
	    "\"window\":%lld,\"addresses\":%llu,\"duration\":%lld,"
	    "\"connections\":%llu}\n", (unsigned long long)c->rate,
	    c->baseline, (unsigned long long)c->threshold,
	    (long long)(c->window / CLOCK_US_PER_SEC),
	    (unsigned long long)c->addresses,
	    (long long)(c->duration / CLOCK_US_PER_SEC),
	    (unsigned long long)c->conns);
}

struct replay_surge *
replay_surge_new(const struct conf *conf, int json)
{
	struct replay_surge	*rs;
	int			 was = kcap_available();

	rs = xcalloc(1, sizeof *rs);
	rs->conf = conf;
	rs->json = json;
	/* The caps as present while the services are chosen. */
	kcap_set_available(1);
	rs->sg = surge_new(conf);
	kcap_set_available(was ? 1 : -1);
	surge_set_change_cb(rs->sg, replay_surge_change_cb, rs);
	htab_init(&rs->h, conf->track_capacity > 1024 ?
	    conf->track_capacity : 1024, 1, NULL);
	rs->b = xcalloc(htab_capacity(&rs->h), sizeof *rs->b);
	return rs;
}

void
replay_surge_free(struct replay_surge *rs)
{
	if (rs == NULL)
		return;
	surge_free(rs->sg);
	htab_clear(&rs->h);
	free(rs->b);
	free(rs);
}

/* 1 if the tight cap refuses ev, a stranger's connection to svc. */
static int
replay_surge_cap(struct replay_surge *rs, int svc, const struct event *ev)
{
	const struct conf_rate	*cap = &rs->conf->services[svc].surge_max_new;
	struct replay_bucket	 w, *e;
	uint64_t		 h;
	uint32_t		 i;

	memset(&w, 0, sizeof w);
	w.addr.family = ev->addr.family;
	memcpy(w.addr.bytes, ev->addr.bytes, sizeof w.addr.bytes);
	w.svc = (uint8_t)svc;
	h = htab_hash(&rs->h, &w, REPLAY_BUCKET_KEY);
	for (i = htab_find(&rs->h, h); i != HTAB_NIL;
	    i = htab_find_next(&rs->h, i, h))
		if (memcmp(&rs->b[i], &w, REPLAY_BUCKET_KEY) == 0)
			break;
	if (i != HTAB_NIL && ev->time - rs->b[i].last > cap->window) {
		htab_remove(&rs->h, i);
		i = HTAB_NIL;
	}
	if (i == HTAB_NIL) {
		if (htab_used(&rs->h) == htab_capacity(&rs->h))
			htab_remove(&rs->h, htab_oldest(&rs->h, 0));
		i = htab_insert(&rs->h, h, 0);
		rs->b[i] = w;
		rs->b[i].tokens = cap->count;
		rs->b[i].last = ev->time;
		rs->addresses++;
	} else
		htab_touch(&rs->h, i, 0);
	e = &rs->b[i];
	if (cap->window > 0 && ev->time > e->last)
		e->tokens += (double)cap->count * (double)(ev->time -
		    e->last) / (double)cap->window;
	if (e->tokens > cap->count)
		e->tokens = cap->count;
	e->last = ev->time;
	if (e->tokens >= 1) {
		e->tokens -= 1;
		return 0;
	}
	return 1;
}

int
replay_surge_event(struct replay_surge *rs, const struct event *ev,
    int capped)
{
	int	 i, refused = 0;

	if (capped && ev->kind == EVENT_CONN_OPEN && ev->service != NULL &&
	    !(ev->flags & (EVENT_F_PREEXISTING | EVENT_F_RESYNC)) &&
	    surge_active(rs->sg, ev->service) &&
	    !surge_known(rs->sg, &ev->addr, ev->time) &&
	    (ev->addr.family == AF_INET || ev->addr.family == AF_INET6))
		for (i = 0; i < rs->conf->nservices; i++)
			if (strcmp(rs->conf->services[i].name,
			    ev->service) == 0) {
				refused = replay_surge_cap(rs, i, ev);
				break;
			}
	rs->refused += refused;
	/* The daemon ticks each second: the input's time, in its gaps too
	 * (at most an hour of ticks a gap), so a surge ends when it would
	 * have. */
	if (rs->ticked != 0 && ev->time - rs->ticked > 3600 * CLOCK_US_PER_SEC)
		rs->ticked = ev->time - 3600 * CLOCK_US_PER_SEC;
	while (rs->ticked != 0 && rs->ticked + CLOCK_US_PER_SEC <= ev->time) {
		rs->ticked += CLOCK_US_PER_SEC;
		surge_tick(rs->sg, rs->ticked);
	}
	if (ev->time > rs->ticked)
		rs->ticked = ev->time;
	surge_event(rs->sg, ev);
	return refused;
}

void
replay_surge_get_stats(const struct replay_surge *rs, uint64_t *surges,
    uint64_t *refused, uint64_t *addresses)
{
	*surges = rs->surges;
	*refused = rs->refused;
	*addresses = rs->addresses;
}
