/*
 * Enforcement: verdicts become bans, bans become firewall batches.
 *
 * One object owns the firewall backend (direct, or through the privileged
 * helper) and the ban table, and runs the whole path: verdict -> ban
 * decision (ban.c) -> one batch per loop iteration -> a refused batch
 * halved until the one bad operation is found and dropped -> retried when
 * the firewall itself fails -> live sessions ended.  At start it puts the
 * store's bans back in force; its timer lifts each ban when it runs out.
 */
#ifndef ENFORCE_H
#define ENFORCE_H

#include <stdint.h>

#include "ban.h"

struct conf;
struct fw;
struct loop;
struct ownaddr;
struct priv;
struct prefix;
struct store;
struct verdict;

struct enforce;

/*
 * Opens the configured firewall (through the helper priv when it is not
 * NULL and the backend needs privileges), loads the store's bans and puts
 * them in force before it returns (but those the never-a-weapon rules
 * forbid now), and starts the expiry timer.  own (NULL: none; not owned)
 * is the host's live address list: never banned, and a ban holding an
 * address that becomes one of them is lifted at once.  Fatal if the
 * backend cannot be opened: a daemon that cannot ban must not run.
 */
struct enforce	*enforce_start(struct loop *, const struct conf *,
		    struct store *, struct priv *, struct ownaddr *own);
/* Sends what is still queued and frees; the bans stay in the kernel with
 * their timeouts.  NULL is a no-op. */
void		 enforce_stop(struct enforce *);

/* The pipeline's verdict callback (arg: the struct enforce). */
void		 enforce_verdict_cb(const struct verdict *, void *arg);

/*
 * Once per loop iteration, after the store has committed (a ban in the
 * kernel is always one in the store): the batch of this iteration, then
 * the live sessions of the newly banned ended; the expiry timer follows
 * the soonest expiry.
 */
void		 enforce_flush(struct enforce *);

/*
 * An operator's ban (duration 0: [ban] duration, escalated; scope: the
 * ports it drops) or lift, stored and applied before it returns.  0, or
 * -1 and *cause: a ban the rules or the firewall layer refuse is not in
 * force, nor listed.
 */
int		 enforce_ban(struct enforce *, const struct prefix *,
		    int64_t duration, enum fw_scope, const char *reason,
		    char **cause);
int		 enforce_unban(struct enforce *, const struct prefix *,
		    char **cause);
/*
 * The same for many at once (the cluster's pulled decisions): checked and
 * listed at once, -1 and *cause when the rules refuse; stored and applied
 * together by enforce_commit() (else by the loop's next flush), after
 * which a ban the firewall refused is no longer listed.
 */
int		 enforce_ban_queue(struct enforce *, const struct prefix *,
		    int64_t duration, enum fw_scope, const char *reason,
		    char **cause);
int		 enforce_unban_queue(struct enforce *, const struct prefix *,
		    char **cause);
void		 enforce_commit(struct enforce *);

/*
 * Reload in two steps: a firewall for the new configuration opened beside
 * the running one (NULL and *cause: keep the old), then the swap, which
 * lifts the bans the new configuration forbids (kernel and store, logged).
 */
struct fw	*enforce_reload_open(struct enforce *, const struct conf *,
		    char **cause);
void		 enforce_reload(struct enforce *, const struct conf *,
		    struct fw *);

/* Alerts: told of each ban change from now on (see bans_set_notify). */
void		 enforce_set_notify(struct enforce *, ban_notify_cb,
		    void *arg);

/*
 * The conntrack flow table (ct_flows(); not owned; NULL: conntrack off),
 * by which a ban's live sessions are found without a scan.  It must
 * outlive enforcement or be set to NULL first (enforce_stop() does).
 */
struct ctflow;
void		 enforce_set_flows(struct enforce *, const struct ctflow *);
/* Conntrack's CONN_OPEN: a session of a banned source is ended. */
struct event;
void		 enforce_flow_open_cb(const struct event *, void *arg);

/* Read-only views for status and the control commands. */
const struct bans *enforce_bans(const struct enforce *);
const struct fw	*enforce_fw(const struct enforce *);

#endif /* ENFORCE_H */
