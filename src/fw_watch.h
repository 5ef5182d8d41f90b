/*
 * The nftables table watched (fw_watch.c): the kernel's notifications of
 * every change to the ruleset, read in the loop, and a word to the caller
 * when xmppguard's table was changed by someone else.
 */
#ifndef FW_WATCH_H
#define FW_WATCH_H

#include <stdint.h>

#include "addr.h"

struct loop;
struct fw_watch;

/*
 * Is a ban in force at a (interval 0: exactly the address; 1: a network
 * or address beginning there, as an interval set holds it) with more than
 * a moment left?  1 or 0.
 */
typedef int	(*fw_watch_held_cb)(const struct addr *a, int interval,
		    void *arg);
/*
 * The table was changed from outside: what, for the log ("table inet
 * xmppguard vanished (flush ruleset?)"); certain 0: it may have been
 * (notifications were lost), to be checked.  Called from the loop.
 */
typedef void	(*fw_watch_changed_cb)(const char *what, int certain,
		    void *arg);

struct fw_watch_stats {
	uint64_t	 messages;	/* notifications read */
	uint64_t	 changes;	/* transactions that changed the table
					 * from outside */
	uint64_t	 overruns;	/* notifications lost (ENOBUFS) */
};

/*
 * Subscribes to the nftables notifications of this network namespace
 * (needs CAP_NET_ADMIN now; not later: open before dropping privileges)
 * and reads them in loop, watching inet table.  NULL and *cause on
 * failure.
 */
struct fw_watch	*fw_watch_open(struct loop *, const char *table,
		    fw_watch_held_cb, fw_watch_changed_cb, void *arg,
		    char **cause);
/* The table to watch from now on (a reload may rename it). */
void		 fw_watch_set_table(struct fw_watch *, const char *table);
/* Unsubscribes and frees; NULL is a no-op. */
void		 fw_watch_close(struct fw_watch *);
void		 fw_watch_get_stats(const struct fw_watch *,
		    struct fw_watch_stats *);

#endif /* FW_WATCH_H */
