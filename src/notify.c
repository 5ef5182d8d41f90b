/*
 * The service manager's protocol (sd_notify(3)): systemd starts the daemon
 * with Type=notify and NOTIFY_SOCKET set, and waits for READY=1 before it
 * calls the start done (and starts what is ordered after it).  RELOADING=1
 * and READY=1 frame each reload, STOPPING=1 opens the shutdown, STATUS=
 * is the line `systemctl status` shows, and with WatchdogSec= the manager
 * expects WATCHDOG=1 at least that often, or kills and restarts us.
 *
 * The keep-alive is a timer of the event loop, at half the interval: it
 * fires only if the loop turns, so a loop stuck in a callback (a hung
 * write, a runaway scan) misses the deadline and is restarted, while a
 * loop that merely waits for events keeps sending.  The status line is
 * rebuilt from the daemon's counters every NOTIFY_STATUS_MS and sent only
 * when it changed.
 *
 * libsystemd does the sending (the socket, abstract names, credentials);
 * sd_notify() returns 0 without NOTIFY_SOCKET, so outside systemd every
 * call here costs a getenv().  The state is the process's (one manager
 * per process, like log.c's destination): it exists from notify_start()
 * to notify_stopping(), which deletes the timers before the loop is
 * freed.  A failed send is a rate-limited warning, never an error: the
 * daemon defends the host whether or not its manager hears of it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "notify.h"

#define NOTIFY_STATUS_MS	5000	/* the status line, at most this often */
#define NOTIFY_STATUS_MAX	160	/* its length, "STATUS=" excluded */
#define NOTIFY_MSG_MAX		256	/* one datagram */

enum notify_state {
	NOTIFY_STARTING,		/* READY=1 not sent yet */
	NOTIFY_RUNNING,
	NOTIFY_STOPPED			/* STOPPING=1 sent: silence */
};

static struct {
	enum notify_state	 state;
	struct loop		*loop;
	struct loop_timer	*watchdog;	/* NULL: not asked for */
	struct loop_timer	*status;	/* NULL: no work since the last */
	uint64_t		 work;		/* loop_work() at the last look */
	int64_t			 watchdog_ms;	/* keep-alive period */
	notify_summary_cb	 cb;		/* NULL: no status line */
	void			*arg;
	char			 last[NOTIFY_STATUS_MAX];  /* as last sent */
	struct log_ratelimit	 rl;		/* failed sends */
} notify = {
	.rl = { .interval_us = 60 * CLOCK_US_PER_SEC },
};

static int	notify_send(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

int
notify_enabled(void)
{
	const char	*env = getenv("NOTIFY_SOCKET");

	return env != NULL && *env != '\0';
}

/* One datagram; 1 sent, 0 nobody listens, -1 failed (warned about). */
static int
notify_send(const char *fmt, ...)
{
	char	msg[NOTIFY_MSG_MAX];
	va_list	ap;
	int	r;

	if (!notify_enabled())
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((r = sd_notify(0, msg)) >= 0)
		return r > 0;
	if (log_ratelimit_ok(&notify.rl, clock_monotonic())) {
		errno = -r;
		log_warn("notify: telling the service manager %.*s",
		    (int)strcspn(msg, "\n"), msg);
	}
	return -1;
}

void
notify_status_text(char *buf, size_t size, const struct notify_summary *s)
{
	snprintf(buf, size, "%s: %d service%s, %d log%s, %llu %sban%s, "
	    "%llu tracked", s->dry_run ? "dry run" : "defending",
	    s->services, s->services == 1 ? "" : "s",
	    s->logs, s->logs == 1 ? "" : "s",
	    (unsigned long long)s->bans, s->dry_run ? "would-be " : "",
	    s->bans == 1 ? "" : "s", (unsigned long long)s->tracked);
}

/* The status line now, into notify.last; 0 if it did not change. */
static int
notify_status_update(void)
{
	struct notify_summary	s;
	char			text[NOTIFY_STATUS_MAX];

	if (notify.cb == NULL)
		return 0;
	memset(&s, 0, sizeof(s));
	notify.cb(&s, notify.arg);
	notify_status_text(text, sizeof(text), &s);
	if (strcmp(text, notify.last) == 0)
		return 0;
	memcpy(notify.last, text, sizeof(notify.last));
	return 1;
}

static int64_t
notify_status_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	if (notify.state == NOTIFY_RUNNING && notify_status_update() &&
	    notify_send("STATUS=%s", notify.last) == -1)
		notify.last[0] = '\0';	/* tried again next time */
	/* The line changes only with work: asleep until notify_poke(). */
	notify.work = loop_work(loop);
	notify.status = NULL;
	return LOOP_TIMER_DONE;
}

void
notify_poke(void)
{
	if (notify.loop == NULL || notify.status != NULL ||
	    notify.state != NOTIFY_RUNNING ||
	    loop_work(notify.loop) == notify.work)
		return;
	if ((notify.status = loop_timer_add(notify.loop, NOTIFY_STATUS_MS,
	    notify_status_cb, NULL)) != NULL)
		loop_timer_chore(notify.status);
}

static int64_t
notify_watchdog_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(void)arg;
	(void)notify_send("WATCHDOG=1");
	return notify.watchdog_ms;
}

int
notify_start(struct loop *loop, notify_summary_cb cb, void *arg)
{
	uint64_t	usec;
	int		r;

	if (!notify_enabled() || notify.loop != NULL)
		return 0;
	notify.loop = loop;
	notify.cb = cb;
	notify.arg = arg;
	if ((notify.status = loop_timer_add(loop, NOTIFY_STATUS_MS,
	    notify_status_cb, NULL)) == NULL)
		return -1;
	loop_timer_chore(notify.status);
	/*
	 * WATCHDOG_USEC, if WATCHDOG_PID is ours (a child of ours that
	 * inherited it must not answer for us).  Half the interval leaves a
	 * whole half for one slow iteration or a late wakeup.
	 */
	if ((r = sd_watchdog_enabled(0, &usec)) < 0) {
		errno = -r;
		log_warn("notify: WATCHDOG_USEC, WATCHDOG_PID: no watchdog");
	}
	if (r <= 0)
		return 0;
	notify.watchdog_ms = (int64_t)(usec / 2 / 1000);
	if (notify.watchdog_ms < 1)
		notify.watchdog_ms = 1;
	if ((notify.watchdog = loop_timer_add(loop, notify.watchdog_ms,
	    notify_watchdog_cb, NULL)) == NULL)
		return -1;
	loop_timer_chore(notify.watchdog);
	log_info("watchdog: a keep-alive every %lld ms (WatchdogSec %llu ms)",
	    (long long)notify.watchdog_ms, (unsigned long long)usec / 1000);
	return 0;
}

void
notify_ready(void)
{
	if (notify.state == NOTIFY_STOPPED)
		return;
	notify.state = NOTIFY_RUNNING;
	notify.last[0] = '\0';
	if (notify_status_update()) {
		if (notify_send("READY=1\nSTATUS=%s", notify.last) != 1)
			notify.last[0] = '\0';
	} else
		(void)notify_send("READY=1");
}

void
notify_reloading(void)
{
	if (notify.state != NOTIFY_RUNNING)
		return;
	/* systemd 253 (Type=notify-reload) wants to know when the reload
	 * began, on CLOCK_MONOTONIC; older ones ignore the field. */
	(void)notify_send("RELOADING=1\nMONOTONIC_USEC=%lld\n"
	    "STATUS=reloading the configuration",
	    (long long)clock_monotonic());
}

void
notify_stopping(void)
{
	if (notify.state == NOTIFY_STOPPED)
		return;
	notify.state = NOTIFY_STOPPED;
	(void)notify_send("STOPPING=1\nSTATUS=stopping");
	/* The manager stopped watching at STOPPING=1: the keep-alives end
	 * here, while the loop that holds the timers still exists. */
	if (notify.watchdog != NULL)
		loop_timer_del(notify.loop, notify.watchdog);
	if (notify.status != NULL)
		loop_timer_del(notify.loop, notify.status);
	notify.watchdog = notify.status = NULL;
	notify.loop = NULL;
	notify.cb = NULL;
}
