/*
 * Surge mode in the running daemon: surge.c detects, this carries its
 * changes out.  The pipeline's tap hands it every judged event; a timer
 * ticks it, each second while a surge is on (its end, the flag's renewal)
 * and else at each hour's start (the baseline), so it keeps no quiet
 * daemon awake.  A surge that
 * starts or ends queues its switch (FW_SURGE: the service's flag element,
 * kcap.c), an alert and a log line; the switches go to the firewall in the
 * loop's before-sleep hook, with the known addresses the kernel's sets
 * have yet to learn (FW_KNOWN, at most DAEMON_SURGE_BATCH an iteration),
 * all through enforcement (the helper under privilege separation), as
 * batches of their own.  So the tight cap is in force at the end of the
 * loop iteration whose event started the surge.
 *
 * The kernel's flag has a DAEMON_SURGE_LEASE timeout, renewed each
 * DAEMON_SURGE_RENEW while the surge lasts, so a daemon that stops
 * mid-surge leaves strangers capped for ten minutes at most; at start
 * every flag is cleared (a surge, if any, is detected again) and the
 * known sets learn the store's logins of the last known_days.
 *
 * The baseline survives a restart: each hour of the day surge.c learns is
 * written to the store's surge_baseline table on the next tick, and at
 * start every service in surge mode is seeded from it (the hours learnt
 * with its current window), before the first event.
 *
 * The kernel caps' refusals (kcap.c's nflog reader) come here too
 * (daemon_refusal_cb): counted per address in the rollups, and the surge
 * cap's in the surge's end.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "enforce.h"
#include "event.h"
#include "fw.h"
#include "log.h"
#include "loop.h"
#include "pipeline.h"
#include "rollup.h"
#include "store.h"
#include "surge.h"
#include "xmalloc.h"

#define DAEMON_SURGE_LEASE	(600 * CLOCK_US_PER_SEC)
#define DAEMON_SURGE_RENEW	(60 * CLOCK_US_PER_SEC)
#define DAEMON_SURGE_TICK_MS	1000
#define DAEMON_SURGE_BATCH	4096
#define DAEMON_SURGE_SEED	4	/* login rows read at start, per
					 * address the table holds */
#define DAEMON_SURGE_LEARNT	32	/* baseline rows a tick writes */

static void	daemon_surge_known(struct daemon *, size_t);

/* A switch waiting for the hook (service, on or off). */
static void
daemon_surge_queue(struct daemon *d, const char *service, int64_t lease)
{
	struct fw_op	*op;

	if (d->surge_nops == DAEMON_SURGE_OPS)
		daemon_surge_flush(d);
	op = &d->surge_ops[d->surge_nops++];
	memset(op, 0, sizeof *op);
	op->kind = FW_SURGE;
	op->duration = lease;
	snprintf(op->reason, sizeof op->reason, "%s", service);
	snprintf(op->rule, sizeof op->rule, "surge");
}

static void
daemon_surge_cb(const struct surge_change *c, void *arg)
{
	struct daemon	*d = arg;
	char		 w[32];

	conf_fmt_duration(c->window, w, sizeof w);
	if (c->on)
		log_info("surge: %s: %" PRIu64 " connections that did not log "
		    "in in %s from %" PRIu64 " addresses, usually %.1f "
		    "(threshold %" PRIu64 "): strangers held to the surge cap",
		    c->service, c->rate, w, c->addresses, c->baseline,
		    c->threshold);
	else
		log_info("surge: %s: over after %llds (peak %" PRIu64 " in %s, "
		    "%" PRIu64 " connections that did not log in, %" PRIu64
		    " refused by the surge cap as nflog told): the surge cap "
		    "is lifted", c->service, (long long)(c->duration /
		    CLOCK_US_PER_SEC), c->rate, w, c->conns, c->refused);
	daemon_surge_queue(d, c->service, c->on ? DAEMON_SURGE_LEASE : 0);
	d->surge_renewed = c->time;
	if (c->on) {
		d->surge_began = c->time;
		/* Ticks while it lasts (surge_next_tick()). */
		if (d->surge_timer != NULL)
			(void)loop_timer_set(d->loop, d->surge_timer,
			    DAEMON_SURGE_TICK_MS);
	}
	alerts_surge(c, d->alerts);
}

static void
daemon_surge_event_cb(const struct event *ev, void *arg)
{
	struct daemon	*d = arg;

	surge_event(d->surge, ev);
}

void
daemon_refusal_cb(const struct addr *a, const char *service, const char *cap,
    int64_t now, void *arg)
{
	struct daemon	*d = arg;
	int		 i = store_cap_from_name(cap);

	rollup_refusal(pipeline_rollup(d->pipeline), a, service, i, now,
	    d->store);
	if (i == STORE_CAP_SURGE && d->surge != NULL)
		surge_refused(d->surge, service);
}

/* The hours of the baseline learnt since the last tick, into the store
 * (with the next batch). */
static void
daemon_surge_learnt(struct daemon *d, int64_t now)
{
	struct surge_learnt	 l[DAEMON_SURGE_LEARNT];
	size_t			 i, n;

	n = surge_learnt_take(d->surge, l, DAEMON_SURGE_LEARNT);
	for (i = 0; i < n; i++)
		store_surge_base_set(d->store, l[i].service, l[i].hour,
		    l[i].window, l[i].base, now);
}

/* A learnt hour from the store, at start. */
static void
daemon_surge_base_cb(const char *service, int hour, int64_t window,
    double base, void *arg)
{
	struct daemon	*d = arg;

	surge_baseline_seed(d->surge, service, hour, window, base);
}

static int64_t
daemon_surge_tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct daemon	*d = arg;
	int64_t		 now = clock_realtime();
	int		 i;

	(void)loop;
	(void)t;
	surge_tick(d->surge, now);
	daemon_surge_learnt(d, now);
	if (now - d->surge_renewed >= DAEMON_SURGE_RENEW) {
		d->surge_renewed = now;
		for (i = 0; i < d->conf->nservices; i++)
			if (surge_active(d->surge, d->conf->services[i].name))
				daemon_surge_queue(d,
				    d->conf->services[i].name,
				    DAEMON_SURGE_LEASE);
	}
	return surge_next_tick(d->surge, now) / CLOCK_US_PER_MS;
}

/* A login row from the store. */
static void
daemon_surge_seed_cb(const struct event *ev, void *arg)
{
	struct daemon	*d = arg;

	surge_known_add(d->surge, &ev->addr, ev->time);
}

/* Whether any service is in surge mode under conf. */
static int
daemon_surge_any(const struct conf *conf)
{
	int	 i;

	for (i = 0; i < conf->nservices; i++)
		if (surge_service_on(conf, conf->services[i].name))
			return 1;
	return 0;
}

void
daemon_surge_start(struct daemon *d)
{
	char		*cause = NULL;
	int64_t		 now = clock_realtime(), n = 0, m, nb;
	int		 i;

	d->surge = surge_new(d->conf);
	surge_set_change_cb(d->surge, daemon_surge_cb, d);
	if (!daemon_surge_any(d->conf))
		return;
	/* Retention removes rows not learnt again within it. */
	if ((nb = store_surge_base_load(d->store, 0, daemon_surge_base_cb, d,
	    &cause)) == -1) {
		log_warnx("surge: %s: the baseline is learnt again", cause);
		free(cause);
		cause = NULL;
	}
	/* Logins, and federated servers' authentications (surge.c). */
	for (i = 0; i < 2; i++) {
		m = store_recent_events(d->store, i == 0 ?
		    STORE_RECENT_AUTH_OK : STORE_RECENT_S2S_OK, now -
		    (int64_t)d->conf->track_known_days * 86400 *
		    CLOCK_US_PER_SEC, (int64_t)d->conf->track_capacity *
		    DAEMON_SURGE_SEED, daemon_surge_seed_cb, d, &cause);
		if (m == -1) {
			log_warnx("surge: %s: known clients learnt from "
			    "logins from now on", cause);
			free(cause);
			cause = NULL;
			break;
		}
		n += m;
	}
	for (i = 0; i < d->conf->nservices; i++)
		if (surge_service_on(d->conf, d->conf->services[i].name))
			daemon_surge_queue(d, d->conf->services[i].name, 0);
	daemon_surge_arm(d);
	/* Every known address in the kernel before the first event. */
	daemon_surge_flush(d);
	for (i = 0; i < 1024 && surge_known_pending(d->surge) > 0; i++)
		daemon_surge_known(d, DAEMON_SURGE_BATCH);
	log_info("surge: on (%" PRId64 " logins of the last %" PRIu32
	    " days read, %zu known addresses)", n > 0 ? n : 0,
	    d->conf->track_known_days, surge_known_count(d->surge));
	if (nb > 0)
		log_info("surge: the usual rates of %" PRId64 " hours of the "
		    "day read from the store", nb);
}

/* The tap and the timer, once a service is in surge mode. */
void
daemon_surge_arm(struct daemon *d)
{
	if (d->surge_timer != NULL)
		return;
	pipeline_set_tap_cb(d->pipeline, daemon_surge_event_cb, d);
	if ((d->surge_timer = loop_timer_add(d->loop, DAEMON_SURGE_TICK_MS,
	    daemon_surge_tick_cb, d)) == NULL)
		fatal("loop: timers");
}

void
daemon_surge_reload(struct daemon *d, const struct conf *conf)
{
	int	 i;

	/* A service leaving surge mode mid-surge: its flag cleared. */
	for (i = 0; i < d->conf->nservices; i++)
		if (surge_active(d->surge, d->conf->services[i].name) &&
		    !surge_service_on(conf, d->conf->services[i].name))
			daemon_surge_queue(d, d->conf->services[i].name, 0);
	surge_reload(d->surge, conf);
	if (daemon_surge_any(conf))
		daemon_surge_arm(d);
}

/* At most max known addresses to the kernel's sets, one batch. */
static void
daemon_surge_known(struct daemon *d, size_t max)
{
	struct fw_op	*ops;
	struct addr	*a;
	int64_t		*until, now = clock_realtime();
	char		*cause = NULL;
	size_t		 n, i;

	if ((n = surge_known_pending(d->surge)) == 0)
		return;
	if (n > max)
		n = max;
	a = xcalloc(n, sizeof *a);
	until = xcalloc(n, sizeof *until);
	ops = xcalloc(n, sizeof *ops);
	n = surge_known_take(d->surge, a, until, n, now);
	for (i = 0; i < n; i++) {
		ops[i].kind = FW_KNOWN;
		ops[i].prefix.addr = a[i];
		ops[i].prefix.len = (uint8_t)addr_maxlen(&a[i]);
		ops[i].duration = until[i] - now;
		snprintf(ops[i].rule, sizeof ops[i].rule, "known");
	}
	if (n > 0 && enforce_surge(d->enforce, ops, n, &cause) == -1) {
		if (log_ratelimit_ok(&d->surge_rl, now))
			log_warnx("surge: %zu known addresses not in the "
			    "kernel: %s", n, cause != NULL ? cause : "?");
		free(cause);
	}
	free(ops);
	free(a);
	free(until);
}

void
daemon_surge_flush(struct daemon *d)
{
	char	*cause = NULL;

	if (d->surge_nops > 0) {
		if (enforce_surge(d->enforce, d->surge_ops, d->surge_nops,
		    &cause) == -1) {
			log_warnx("surge: the kernel's switch failed: %s",
			    cause != NULL ? cause : "?");
			free(cause);
		} else if (d->surge_began != 0)
			/* From the connection that made it a surge (its
			 * conntrack event's time) to the cap in the
			 * kernel. */
			log_info("surge: the surge cap in force %.1f ms "
			    "after the surge began", (double)(clock_realtime() -
			    d->surge_began) / CLOCK_US_PER_MS);
		d->surge_began = 0;
		d->surge_nops = 0;
	}
	if (d->surge != NULL && d->surge_timer != NULL)
		daemon_surge_known(d, DAEMON_SURGE_BATCH);
}

void
daemon_surge_stop(struct daemon *d)
{
	if (d->surge_timer != NULL)
		loop_timer_del(d->loop, d->surge_timer);
	d->surge_timer = NULL;
	pipeline_set_tap_cb(d->pipeline, NULL, NULL);
	surge_free(d->surge);
	d->surge = NULL;
}
