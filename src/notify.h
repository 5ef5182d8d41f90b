/*
 * The service manager (systemd, Type=notify) told how the daemon is doing:
 * ready, reloading, stopping, a one-line status, and the watchdog's
 * keep-alives from the loop (see notify.c).  Every function is a no-op
 * when NOTIFY_SOCKET is not set, as it is not outside systemd.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct loop;

/* What the status line says: the daemon fills it in on request. */
struct notify_summary {
	int		 dry_run;	/* bans decided, never enforced */
	int		 services;	/* [service] sections */
	int		 logs;		/* logs followed */
	uint64_t	 bans;		/* in force (or would be) now */
	uint64_t	 tracked;	/* addresses in the detection table */
};

/* Fills in the summary; called from the loop, it must not block. */
typedef void	(*notify_summary_cb)(struct notify_summary *, void *arg);

/* 1 if a service manager listens (NOTIFY_SOCKET is set), else 0. */
int	notify_enabled(void);

/*
 * From now on, on loop: the status line (from cb) refreshed every few
 * seconds when it changed, and WATCHDOG=1 every half of the interval the
 * manager asked for (WatchdogSec=), so that a loop that stalls stops
 * them and gets the daemon restarted.  Nothing without NOTIFY_SOCKET.
 * 0, or -1 with errno if a timer cannot be had.
 */
int	notify_start(struct loop *, notify_summary_cb, void *arg);

/* The loop did work: the status line is looked at within a few seconds
 * (it sleeps otherwise).  From the before-sleep hook; a no-op without a
 * manager. */
void	notify_poke(void);
/* Start-up done, or a reload over (whether it worked or not): READY=1
 * with the status line. */
void	notify_ready(void);
/* A reload begins (RELOADING=1); notify_ready() must follow. */
void	notify_reloading(void);
/* Shutdown begins (STOPPING=1): the timers end, nothing more is sent. */
void	notify_stopping(void);

/* The status line for s into buf ("defending: 3 services, 2 logs, ..."). */
void	notify_status_text(char *buf, size_t size,
	    const struct notify_summary *s);

#endif /* NOTIFY_H */
