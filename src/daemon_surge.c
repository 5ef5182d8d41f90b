/*
 * Surge mode in the running daemon: surge.c detects, this carries its
 * changes out.  The pipeline's tap hands it every judged event; a second
 * timer ticks it (a surge's end, the hourly baseline).  A surge that
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
#include "store.h"
#include "surge.h"
#include "xmalloc.h"

#define DAEMON_SURGE_LEASE	(600 * CLOCK_US_PER_SEC)
#define DAEMON_SURGE_RENEW	(60 * CLOCK_US_PER_SEC)
#define DAEMON_SURGE_TICK_MS	1000
#define DAEMON_SURGE_BATCH	4096
#define DAEMON_SURGE_SEED	4	/* login rows read at start, per
					 * address the table holds */

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
		    "%" PRIu64 " connections that did not log in): the surge "
		    "cap is lifted", c->service,
		    (long long)(c->duration / CLOCK_US_PER_SEC), c->rate, w,
		    c->conns);
	daemon_surge_queue(d, c->service, c->on ? DAEMON_SURGE_LEASE : 0);
	d->surge_renewed = c->time;
	if (c->on)
		d->surge_began = c->time;
	alerts_surge(c, d->alerts);
}

static void
daemon_surge_event_cb(const struct event *ev, void *arg)
{
	struct daemon	*d = arg;

	surge_event(d->surge, ev);
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
	if (now - d->surge_renewed >= DAEMON_SURGE_RENEW) {
		d->surge_renewed = now;
		for (i = 0; i < d->conf->nservices; i++)
			if (surge_active(d->surge, d->conf->services[i].name))
				daemon_surge_queue(d,
				    d->conf->services[i].name,
				    DAEMON_SURGE_LEASE);
	}
	return DAEMON_SURGE_TICK_MS;
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
	int64_t		 now = clock_realtime(), n = 0, m;
	int		 i;

	d->surge = surge_new(d->conf);
	surge_set_change_cb(d->surge, daemon_surge_cb, d);
	if (!daemon_surge_any(d->conf))
		return;
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
