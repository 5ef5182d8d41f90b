/*
 * Enforcement: the path from a verdict to an element in the kernel.
 *
 * ban.c decides (widening, never a weapon, escalation, the store's rows)
 * and queues firewall operations; this module sends them.  enforce_flush()
 * hands the queue to the backend as one batch once per loop iteration,
 * before the store commits (daemon.c says why), and as soon as a verdict
 * has been through ban.c (loop_soon): the events read with it, or the
 * rest of a backlog, do not hold the ban back.  A kill -9 before the
 * commit loses little: the restart adopts the kernel's elements the store
 * lacks (ban_keep.c).
 *
 * A refused batch is halved, recursively, until the operation the
 * firewall refuses on its own (an interval overlapping another in an
 * nftables set, say) is found: it is dropped and said, and the rest goes
 * through, so one bad operation cannot block every ban after it.  A batch
 * of which nothing goes through is the firewall failing, not an
 * operation: the whole batch is kept and tried again after a pause that
 * doubles up to ENFORCE_RETRY_MAX_US, while new operations queue behind
 * it (no fork of nft per loop iteration while the firewall is down).
 *
 * At start the store's bans go back in force before any event can cause
 * a new one: where the backend can, by replacing its sets with exactly
 * those bans in one transaction (nothing to list, no gap); else by
 * comparing with its list and queueing what differs.
 *
 * The table, the store and the kernel never disagree: the bans the
 * never-a-weapon rules forbid are lifted when the rules change (at start
 * and reload for the configuration, at once when an address becomes one
 * of the host's own: ownaddr.c's callback), and an operation the firewall
 * layer refuses (fw_set_refused_cb) ends its ban, which the operator who
 * asked for it hears as an error.
 *
 * Expiry is a timer set for the soonest expiry (ban.c keeps bans in a heap
 * by expiry), re-armed whenever that changes; nothing scans the table on
 * a clock tick.  The delay is capped at ENFORCE_EXPIRE_MAX_MS because bans
 * expire in wall-clock time and the timer runs on the monotonic clock: a
 * step of the system clock is caught within that long.  With no ban in
 * force there is nothing to catch, and the timer sleeps for an hour (the
 * next ban re-arms it).
 */
#include <stdint.h>
#include <stdlib.h>

#include "ban.h"
#include "clock.h"
#include "conf.h"
#include "enforce.h"
#include "event.h"
#include "fw.h"
#include "fw_watch.h"
#include "log.h"
#include "loop.h"
#include "ownaddr.h"
#include "priv.h"
#include "store.h"
#include "verdict.h"
#include "xmalloc.h"

#define ENFORCE_EXPIRE_MAX_MS	(60 * 1000)
#define ENFORCE_IDLE_MS		(3600 * 1000)	/* no ban in force */
#define ENFORCE_RETRY_MIN_US	(100 * CLOCK_US_PER_MS)
#define ENFORCE_RETRY_MAX_US	(5 * CLOCK_US_PER_SEC)
#define ENFORCE_WHY_MAX		80
#define ENFORCE_RESTORE_WHY	192
/* A bisect in which nothing has gone through gives up after this many
 * single operations refused: the firewall is failing, not an operation. */
#define ENFORCE_BISECT_LEAVES	2
/* Account levels (fw_caps()) queued in one loop iteration at most. */
#define ENFORCE_CAPS_MAX	1024

struct enforce {
	const struct conf *conf;
	struct loop	*loop;
	struct store	*store;
	struct priv	*priv;		/* the helper; NULL: none */
	struct ownaddr	*own;		/* the host's addresses; NULL: none */
	struct fw	*fw;
	struct bans	*bans;
	struct loop_timer *expiry;	/* fires at the soonest expiry */
	int64_t		 armed;		/* the expiry it is set for */
	struct loop_timer *retry;	/* wakes the loop for a retry */
	int64_t		 retry_at;	/* monotonic; 0: no failure */
	int64_t		 backoff;	/* us, the next pause */
	struct log_ratelimit rl;	/* firewall failure warnings */
	struct fw_watch	*watch;		/* the nftables table; NULL: none */
	char		 restore[ENFORCE_RESTORE_WHY]; /* why the table must
					 * be restored; "": it need not */
	int		 verify;	/* it may have changed: list first */
	int		 no_replace;	/* the backend cannot restore */
	int64_t		 restored_at;	/* monotonic, the last restore */
	struct loop_timer *save;	/* wakes the loop to save bans */
	int64_t		 save_at;	/* wall; INT64_MAX: none waits */
	struct {
		const struct fw_op *op;
		char		*cause;
	}		*refused;	/* by the bisect of this flush */
	size_t		 nrefused, refusedcap;
	struct {
		struct prefix	 prefix;
		char		 why[ENFORCE_WHY_MAX];
	}		*fwref;		/* bans the firewall layer refused in
					 * the last flush (never a weapon) */
	size_t		 nfwref, fwrefcap;
	struct fw_killq	*killq;		/* live sessions still to end */
	const struct ctflow *flows;	/* conntrack's; NULL: none */
	struct loop_timer *killt;	/* wakes the loop for the rest */
	struct fw_cap	*caps;		/* account levels queued; a login
					 * past ENFORCE_CAPS_MAX in one
					 * iteration waits for its next */
	size_t		 ncaps;
	struct log_ratelimit rl_caps;	/* their failures */
};

/* The firewall layer refused a ban: noted, ended once the batch is
 * through (enforce_fw_refusals). */
static void
enforce_fw_refused_cb(const struct fw_op *op, const char *why, void *arg)
{
	struct enforce	*e = arg;
	size_t		 i;

	if (op->kind == FW_UNBAN)
		return;
	/* The bisect may offer the same operation more than once. */
	for (i = 0; i < e->nfwref; i++)
		if (e->fwref[i].prefix.len == op->prefix.len &&
		    addr_eq(&e->fwref[i].prefix.addr, &op->prefix.addr))
			return;
	if (e->nfwref == e->fwrefcap) {
		e->fwrefcap = e->fwrefcap == 0 ? 8 : e->fwrefcap * 2;
		e->fwref = xreallocarray(e->fwref, e->fwrefcap,
		    sizeof(*e->fwref));
	}
	e->fwref[e->nfwref].prefix = op->prefix;
	snprintf(e->fwref[e->nfwref++].why, ENFORCE_WHY_MAX, "%s", why);
}

/* The bans the firewall layer refused leave the table and the store. */
static void
enforce_fw_refusals(struct enforce *e)
{
	int64_t	now = clock_realtime();
	size_t	i;

	for (i = 0; i < e->nfwref; i++)
		(void)bans_drop(e->bans, &e->fwref[i].prefix, e->fwref[i].why,
		    now);
}

/* 1 if p's ban was refused in the last flush, why into *why. */
static int
enforce_fw_was_refused(const struct enforce *e, const struct prefix *p,
    const char **why)
{
	size_t	i;

	for (i = 0; i < e->nfwref; i++)
		if (e->fwref[i].prefix.len == p->len &&
		    addr_eq(&e->fwref[i].prefix.addr, &p->addr)) {
			*why = e->fwref[i].why;
			return 1;
		}
	return 0;
}

/* A firewall of ours: the live own addresses, refusals heard. */
static void
enforce_fw_own(struct enforce *e, struct fw *fw)
{
	fw_set_own(fw, e->own);
	fw_set_refused_cb(fw, enforce_fw_refused_cb, e);
}

/* An address became one of the host's: any ban holding it ends now (the
 * flush hook sends the unbans before the loop sleeps). */
static void
enforce_own_cb(const struct addr *a, enum ownaddr_change what, void *arg)
{
	struct enforce	*e = arg;

	if (what == OWNADDR_ADDED)
		(void)bans_recheck(e->bans, a, clock_realtime());
}

static struct fw *
enforce_fw_open(const struct conf *conf, struct loop *loop,
    struct priv *priv, char **cause)
{
	if (priv != NULL && fw_in_kernel(conf))
		return fw_open_backend(conf, loop, &priv_fw_backend, priv,
		    cause);
	return fw_open(conf, loop, cause);
}

/*
 * The batch failed as a whole: halves, recursively, so one operation the
 * firewall refuses cannot block the others.  *applied counts what went
 * through; the operations refused on their own are noted in e->refused,
 * to be dropped if anything went through at all (else the firewall
 * itself is failing, and nothing is dropped).
 */
static void
enforce_bisect(struct enforce *e, const struct fw_op *ops, size_t n,
    size_t *applied, size_t *leaves)
{
	const struct fw_op	*p = ops;
	size_t			 half[2] = { n / 2, n - n / 2 }, k;
	char			*cause;

	for (k = 0; k < 2; p += half[k], k++) {
		if (half[k] == 0)
			continue;
		/* Two operations refused on their own and nothing through:
		 * the firewall is failing, and halving further would only
		 * run it 2n times for nothing. */
		if (*applied == 0 && *leaves >= ENFORCE_BISECT_LEAVES)
			return;
		if (fw_apply(e->fw, p, half[k], &cause) == 0) {
			*applied += half[k];
			continue;
		}
		if (half[k] > 1) {
			free(cause);
			enforce_bisect(e, p, half[k], applied, leaves);
			continue;
		}
		(*leaves)++;
		if (e->nrefused == e->refusedcap) {
			e->refusedcap = e->refusedcap == 0 ? 8 :
			    e->refusedcap * 2;
			e->refused = xreallocarray(e->refused, e->refusedcap,
			    sizeof(*e->refused));
		}
		e->refused[e->nrefused].op = p;
		e->refused[e->nrefused++].cause = cause;
	}
}

/*
 * The operations the bisect found refused on their own (dropped: others
 * went through, so it is these, not the firewall): a ban refused is ended,
 * in the table and the store, so that none of them says it is in force
 * when the kernel does not hold it; an unban refused leaves the element
 * to its timeout.  Each said as it is.  Not dropped: kept, nothing said
 * here (enforce_failed() says it for the batch).
 */
static void
enforce_refused(struct enforce *e, int dropped)
{
	const struct fw_op	*op;
	char			 pfx[ADDR_PREFIX_STRLEN];
	size_t			 i;

	for (i = 0; i < e->nrefused; i++) {
		op = e->refused[i].op;
		addr_prefix_ntop(&op->prefix, pfx, sizeof(pfx));
		if (dropped && op->kind == FW_UNBAN)
			log_warnx("fw: unban of %s refused by the firewall: "
			    "%s; it stays there until its timeout", pfx,
			    e->refused[i].cause);
		else if (dropped) {
			log_warnx("fw: ban of %s refused by the firewall: %s; "
			    "the ban is ended", pfx, e->refused[i].cause);
			(void)bans_drop(e->bans, &op->prefix,
			    e->refused[i].cause, clock_realtime());
		}
		free(e->refused[i].cause);
	}
	e->nrefused = 0;
}

/* How many bans are in force. */
static size_t
enforce_nbans(const struct enforce *e)
{
	struct ban_stats	st;

	bans_get_stats(e->bans, &st);
	return (size_t)st.active;
}

/* The retry timer only wakes the loop: the flush hook does the work. */
static int64_t
enforce_retry_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct enforce	*e = arg;

	(void)loop;
	(void)t;
	e->retry = NULL;
	return LOOP_TIMER_DONE;
}

/*
 * Nothing went through: the firewall is failing.  The batch is kept, and
 * every ban stays in force in the table and the store; the next attempt
 * (a restore of the whole table where the backend can, else the batch
 * again) comes after a pause doubling from ENFORCE_RETRY_MIN_US to
 * ENFORCE_RETRY_MAX_US, never at the next loop iteration.
 */
static void
enforce_failed(struct enforce *e, char *cause, size_t n)
{
	int64_t	now = clock_monotonic(), ms = e->backoff / CLOCK_US_PER_MS;

	if (log_ratelimit_ok(&e->rl, now))
		log_warnx("fw: %s; %zu %s kept and tried again in %.1fs, "
		    "backing off up to %llds (%zu %s in force here and in the "
		    "store)", cause, n, n == 1 ? "operation" : "operations",
		    e->backoff / 1e6, (long long)(ENFORCE_RETRY_MAX_US /
		    CLOCK_US_PER_SEC), enforce_nbans(e),
		    enforce_nbans(e) == 1 ? "ban" : "bans");
	free(cause);
	bans_retry(e->bans);
	e->retry_at = now + e->backoff;
	if (e->retry != NULL)
		loop_timer_set(e->loop, e->retry, ms);
	else if (e->loop != NULL)
		e->retry = loop_timer_add(e->loop, ms, enforce_retry_cb, e);
	e->backoff = e->backoff * 2 < ENFORCE_RETRY_MAX_US ?
	    e->backoff * 2 : ENFORCE_RETRY_MAX_US;
}

/* The delay until the soonest expiry, capped; notes what it is for. */
static int64_t
enforce_expiry_ms(struct enforce *e)
{
	int64_t	ms;

	e->armed = bans_next_expiry(e->bans);
	if (e->armed == INT64_MAX)	/* a new ban re-arms it */
		return ENFORCE_IDLE_MS;
	ms = (e->armed - clock_realtime() + CLOCK_US_PER_MS - 1) /
	    CLOCK_US_PER_MS;
	return ms < 0 ? 0 : ms < ENFORCE_EXPIRE_MAX_MS ? ms :
	    ENFORCE_EXPIRE_MAX_MS;
}

/* Bans whose time is up; the kernel drops them by itself where it can,
 * else an unban is queued for this iteration's flush. */
static int64_t
enforce_expire_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct enforce	*e = arg;

	(void)loop;
	(void)t;
	bans_expire(e->bans, clock_realtime(), !fw_expires_itself(e->fw));
	return enforce_expiry_ms(e);
}

/* The expiry timer follows the soonest expiry when it changes. */
static void
enforce_arm(struct enforce *e)
{
	if (e->expiry != NULL && bans_next_expiry(e->bans) != e->armed)
		loop_timer_set(e->loop, e->expiry, enforce_expiry_ms(e));
}

/* The kill timer only wakes the loop: the flush hook does the work. */
static int64_t
enforce_kill_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct enforce	*e = arg;

	(void)loop;
	(void)t;
	e->killt = NULL;
	return LOOP_TIMER_DONE;
}

/* A bounded part of the sessions still to end; the loop comes back at
 * once for the rest, after what else is ready. */
static void
enforce_kill(struct enforce *e)
{
	if (fw_killq_run(e->killq, e->fw) && e->loop != NULL &&
	    e->killt == NULL)
		e->killt = loop_timer_add(e->loop, 0, enforce_kill_cb, e);
}

/* The save timer only wakes the loop: the flush hook saves. */
static int64_t
enforce_save_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct enforce	*e = arg;

	(void)loop;
	(void)t;
	e->save = NULL;
	return LOOP_TIMER_DONE;
}

/* Bans the store lost are written again when their time comes (ban.c);
 * the loop wakes for it. */
static void
enforce_save(struct enforce *e)
{
	int64_t	now = clock_realtime(), ms;

	e->save_at = bans_persist(e->bans, now);
	if (e->save_at == INT64_MAX || e->loop == NULL)
		return;
	ms = (e->save_at - now + CLOCK_US_PER_MS - 1) / CLOCK_US_PER_MS;
	if (ms < 1)
		ms = 1;
	if (e->save != NULL)
		loop_timer_set(e->loop, e->save, ms);
	else
		e->save = loop_timer_add(e->loop, ms, enforce_save_cb, e);
}

/*
 * Every ban in force into the firewall in one transaction, its table made
 * again if it is gone (fw_replace): what was queued goes with it (an unban
 * is the sets' flush).  0 with *n the bans; -1 and *cause; -1 with *cause
 * NULL if the backend cannot replace (noted: not tried again).
 */
static int
enforce_fw_replace(struct enforce *e, size_t *n, char **cause)
{
	struct fw_op	*ops;

	*cause = NULL;
	if (e->no_replace)
		return -1;
	*n = bans_all(e->bans, clock_realtime(), &ops);
	e->nfwref = 0;
	if (fw_replace(e->fw, ops, *n, cause) == -1) {
		if (*cause == NULL)
			e->no_replace = 1;
		return -1;
	}
	bans_unqueue_ops(e->bans);
	enforce_fw_refusals(e);
	return 0;
}

/* The table is whole again: said with why, counted, failures forgotten. */
static void
enforce_restored(struct enforce *e, const char *why, size_t n)
{
	log_warnx("fw: %s: restored with %zu %s in force", why, n,
	    n == 1 ? "ban" : "bans");
	fw_count_restore(e->fw);
	e->restore[0] = '\0';
	e->verify = 0;
	e->retry_at = 0;
	e->backoff = ENFORCE_RETRY_MIN_US;
	e->restored_at = clock_monotonic();
}

/*
 * Notifications were lost (fw_watch.c): whether the table lost bans is
 * not known, so its sets are listed and compared, and a restore asked
 * for only if a ban in force is missing (a blind restore of a large table
 * would be a flood of notifications in its turn).
 */
static void
enforce_verify(struct enforce *e)
{
	struct fw_entry	*entries = NULL;
	size_t		 n = 0, missing;
	char		*cause = NULL;

	e->verify = 0;
	if (fw_list(e->fw, &entries, &n, &cause) == -1) {
		snprintf(e->restore, sizeof(e->restore), "notifications lost "
		    "and the firewall cannot be listed (%s)", cause != NULL ?
		    cause : "no list");
		free(cause);
		return;
	}
	missing = bans_missing(e->bans, entries, n);
	free(entries);
	if (missing > 0 && e->restore[0] == '\0')
		snprintf(e->restore, sizeof(e->restore), "%zu %s in force "
		    "missing from the firewall (found after notifications "
		    "were lost)", missing, missing == 1 ? "ban" : "bans");
}

void
enforce_caps_cb(const struct fw_cap *c, void *arg)
{
	struct enforce	*e = arg;

	if (e->caps == NULL)
		e->caps = xcalloc(ENFORCE_CAPS_MAX, sizeof *e->caps);
	if (e->ncaps < ENFORCE_CAPS_MAX)
		e->caps[e->ncaps++] = *c;
}

/*
 * The iteration's account levels, one transaction, apart from the bans
 * (a failure is said and forgotten: the next login asks again, and the
 * caps in force stay at the level they hold).
 */
static void
enforce_caps_flush(struct enforce *e)
{
	char	*cause = NULL;

	if (e->ncaps == 0)
		return;
	if (fw_caps(e->fw, e->caps, e->ncaps, &cause) == -1 &&
	    log_ratelimit_ok(&e->rl_caps, clock_monotonic()))
		log_warnx("fw: %zu account level%s of the kernel caps: %s",
		    e->ncaps, e->ncaps == 1 ? "" : "s", cause != NULL ? cause :
		    "failed");
	free(cause);
	e->ncaps = 0;
}

void
enforce_flush(struct enforce *e)
{
	const struct fw_op	*ops;
	const struct fw_op	*kills;
	size_t			 n, nkills, i, applied, leaves;
	char			*cause, *rcause;
	const char		*why;
	int64_t			 since;

	enforce_save(e);
	enforce_caps_flush(e);
	if (e->retry_at != 0 && clock_monotonic() < e->retry_at)
		goto done;
	if (e->verify)
		enforce_verify(e);
	/*
	 * The table changed behind our back (the watcher), or the firewall
	 * failed last time: every ban in force back at once, the queue with
	 * them.  A change seen within a second of the last restore waits for
	 * that second (something rewriting the ruleset in a loop gets one
	 * restore a second, not one per notification).
	 */
	since = clock_monotonic() - e->restored_at;
	if (!e->no_replace && (e->retry_at != 0 || (e->restore[0] != '\0' &&
	    (e->restored_at == 0 || since >= CLOCK_US_PER_SEC)))) {
		if (enforce_fw_replace(e, &n, &cause) == 0)
			enforce_restored(e, e->restore[0] != '\0' ? e->restore :
			    "the firewall works again", n);
		else if (cause != NULL) {
			rcause = xasprintf("restoring the table: %s", cause);
			free(cause);
			enforce_failed(e, rcause, n);
			goto done;
		}
	} else if (e->restore[0] != '\0' && e->loop != NULL) {
		/* The second is not over: woken when it is. */
		if (e->retry != NULL)
			loop_timer_set(e->loop, e->retry, (CLOCK_US_PER_SEC -
			    since) / CLOCK_US_PER_MS + 1);
		else
			e->retry = loop_timer_add(e->loop, (CLOCK_US_PER_SEC -
			    since) / CLOCK_US_PER_MS + 1, enforce_retry_cb, e);
	}
	n = bans_pending(e->bans, &ops, &kills, &nkills);
	if (n == 0 && nkills == 0)
		goto done;
	e->nfwref = 0;
	if (n > 0 && fw_apply(e->fw, ops, n, &cause) == -1) {
		/* The table or a set may be gone (flush ruleset): one
		 * restore puts back every ban in force, this batch's too. */
		if (enforce_fw_replace(e, &i, &rcause) == 0) {
			if (e->restore[0] == '\0')
				snprintf(e->restore, sizeof(e->restore),
				    "a batch failed (%s)", cause);
			enforce_restored(e, e->restore, i);
			free(cause);
			goto kills;	/* the kills are still to do */
		}
		free(rcause);
		applied = leaves = 0;
		if (n > 1)
			enforce_bisect(e, ops, n, &applied, &leaves);
		enforce_refused(e, applied > 0);
		if (applied == 0) {
			enforce_fw_refusals(e);
			enforce_failed(e, cause, n);
			goto done;
		}
		free(cause);
	}
	enforce_fw_refusals(e);
	e->retry_at = 0;
	e->backoff = ENFORCE_RETRY_MIN_US;
kills:
	log_debug("fw: %zu operations in %.1f ms", n,
	    fw_stats(e->fw)->last_us / 1000.0);
	/* Live sessions: their conntrack entries and sockets, once the
	 * bans are in the kernel (a client cut before could reconnect),
	 * ended by the queue a bounded part at a time. */
	for (i = 0; i < nkills; i++)
		if (!enforce_fw_was_refused(e, &kills[i].prefix, &why))
			fw_killq_add(e->killq, e->fw, e->flows,
			    &kills[i].prefix, kills[i].scope);
done:
	enforce_kill(e);
	enforce_arm(e);
}

/* A verdict's ban goes to the kernel before the loop reads on. */
static void
enforce_soon_cb(struct loop *loop, void *arg)
{
	(void)loop;
	enforce_flush(arg);
}

void
enforce_verdict_cb(const struct verdict *v, void *arg)
{
	struct enforce	*e = arg;

	bans_verdict(e->bans, v, clock_realtime());
	if (e->loop != NULL)
		loop_soon(e->loop, enforce_soon_cb, e);
}

/*
 * The store's bans back in the kernel: where the backend can, by replacing
 * its sets with exactly those bans in one transaction; else by comparing
 * with its list (or, if it cannot list, adding every ban again).
 */
static void
enforce_restore(struct enforce *e)
{
	struct fw_entry	*entries = NULL;
	struct fw_op	*ops;
	size_t		 n = 0;
	char		*cause = NULL;
	int		 listed;
	int64_t		 now = clock_realtime(), t0, t1;

	t0 = clock_monotonic();
	bans_load(e->bans, now);
	/*
	 * The kernel may hold bans the store lacks: made while the store
	 * could not be written (a full disk), then a restart.  They are
	 * adopted, not replaced away (and saved when the store can be).
	 */
	if (e->store != NULL && fw_list(e->fw, &entries, &n, &cause) == 0)
		(void)bans_adopt(e->bans, entries, n, now);
	else if (cause != NULL) {
		log_warnx("fw: %s: cannot tell whether the firewall holds "
		    "bans the store lacks", cause);
		free(cause);
		cause = NULL;
	}
	free(entries);
	entries = NULL;
	n = 0;
	/* What the rules forbid now (a new [allow], an address of ours)
	 * ends here; the replace or the comparison takes it out. */
	(void)bans_recheck(e->bans, NULL, now);
	t1 = clock_monotonic();
	n = bans_all(e->bans, now, &ops);
	e->nfwref = 0;
	if (fw_replace(e->fw, ops, n, &cause) == 0) {
		bans_unqueue_ops(e->bans);
		enforce_fw_refusals(e);
		if (n > 0)
			log_info("ban: %zu %s in force in the firewall, "
			    "restored in %.1f ms (store %.1f ms, firewall "
			    "%.1f ms)", n, n == 1 ? "ban" : "bans",
			    (clock_monotonic() - t0) / 1000.0,
			    (t1 - t0) / 1000.0,
			    fw_stats(e->fw)->last_us / 1000.0);
		return;
	}
	if (cause != NULL) {
		log_warnx("fw: %s; comparing with the firewall's list "
		    "instead", cause);
		free(cause);
		cause = NULL;
	} else
		e->no_replace = 1;
	bans_unqueue(e->bans);
	n = 0;
	listed = fw_list(e->fw, &entries, &n, &cause) == 0;
	if (!listed && cause != NULL) {
		log_warnx("fw: %s: cannot list what is in force, adding "
		    "every ban again", cause);
		free(cause);
	}
	bans_reconcile(e->bans, now, listed ? entries : NULL, listed ? n : 0);
	free(entries);
	enforce_flush(e);
}

/* Everything but the timers: what the unit tests drive in simulated
 * time, with a backend of their own. */
static struct enforce *
enforce_new(const struct conf *conf, struct store *store, struct fw *fw,
    struct ownaddr *own)
{
	struct enforce	*e;

	e = xcalloc(1, sizeof(*e));
	e->conf = conf;
	e->store = store;
	e->fw = fw;
	e->own = own;
	e->rl.interval_us = 60 * CLOCK_US_PER_SEC;
	e->rl_caps.interval_us = 60 * CLOCK_US_PER_SEC;
	e->backoff = ENFORCE_RETRY_MIN_US;
	e->bans = bans_new(conf, store);
	e->killq = fw_killq_new();
	bans_set_own(e->bans, own);
	enforce_fw_own(e, fw);
	if (own != NULL)
		ownaddr_set_cb(own, enforce_own_cb, e);
	enforce_restore(e);
	return e;
}

/* The watcher asks: is a ban in force there? */
static int
enforce_watch_held_cb(const struct addr *a, int interval, void *arg)
{
	struct enforce	*e = arg;

	return bans_holds(e->bans, a, interval, clock_realtime());
}

/* The watcher says the table changed (certain) or may have: restored, or
 * listed first, by the flush hook at the end of this loop iteration. */
static void
enforce_watch_cb(const char *what, int certain, void *arg)
{
	struct enforce	*e = arg;

	if (!certain) {
		log_warnx("fw: %s: checking the firewall's sets", what);
		e->verify = 1;
	} else if (e->restore[0] == '\0')
		snprintf(e->restore, sizeof(e->restore), "%s", what);
}

/* 1 if conf's bans go into an nftables table of ours, to be watched. */
static int
enforce_watched(const struct conf *conf)
{
	return !conf->dry_run && conf->firewall == CONF_FW_NFTABLES;
}

/*
 * The watcher of the nftables table, opened while the daemon still has
 * CAP_NET_ADMIN (see fw_watch.c).  Without it a flushed table is noticed
 * at the next batch only (which fails and restores): said, not fatal.
 */
static void
enforce_watch_open(struct enforce *e)
{
	char	*cause;

	if (!enforce_watched(e->conf) || e->loop == NULL)
		return;
	if ((e->watch = fw_watch_open(e->loop, e->conf->ban_table,
	    enforce_watch_held_cb, enforce_watch_cb, e, &cause)) == NULL) {
		log_warnx("fw: %s: a table flushed by someone else is noticed "
		    "at the next ban only", cause);
		free(cause);
	}
}

struct enforce *
enforce_start(struct loop *loop, const struct conf *conf,
    struct store *store, struct priv *priv, struct ownaddr *own)
{
	struct enforce	*e;
	struct fw	*fw;
	char		*cause;

	if ((fw = enforce_fw_open(conf, loop, priv, &cause)) == NULL)
		fatalx("%s", cause);
	e = enforce_new(conf, store, fw, own);
	e->loop = loop;
	e->priv = priv;
	if ((e->expiry = loop_timer_add(loop, 0, enforce_expire_cb,
	    e)) == NULL)
		fatal("loop: timers");
	enforce_watch_open(e);
	return e;
}

void
enforce_stop(struct enforce *e)
{
	if (e == NULL)
		return;
	/* Conntrack has stopped (its flow table is gone): what is left
	 * to end is scanned for. */
	e->flows = NULL;
	enforce_flush(e);
	if (e->own != NULL)
		ownaddr_set_cb(e->own, NULL, NULL);
	fw_watch_close(e->watch);
	if (e->loop != NULL) {
		if (e->expiry != NULL)
			loop_timer_del(e->loop, e->expiry);
		if (e->retry != NULL)
			loop_timer_del(e->loop, e->retry);
		if (e->killt != NULL)
			loop_timer_del(e->loop, e->killt);
		if (e->save != NULL)
			loop_timer_del(e->loop, e->save);
	}
	fw_killq_free(e->killq);
	fw_close(e->fw);
	bans_free(e->bans);
	free(e->refused);
	free(e->fwref);
	free(e->caps);
	free(e);
}

int
enforce_ban(struct enforce *e, const struct prefix *p, int64_t duration,
    enum fw_scope scope, const char *reason, char **cause)
{
	const char	*why;
	char		 pfx[ADDR_PREFIX_STRLEN];

	if (bans_manual(e->bans, p, duration, scope, reason,
	    clock_realtime(), cause) == -1)
		return -1;
	/* Stored, then applied, before the answer: the caller can rely on
	 * it, and so can a restart. */
	if (e->store != NULL)
		store_flush(e->store);
	enforce_flush(e);
	/* Refused where the firewall is changed: ended, and an error. */
	if (bans_find(e->bans, p) == NULL) {
		*cause = xasprintf("%s is never banned: refused by the "
		    "firewall: %s", addr_prefix_ntop(p, pfx, sizeof(pfx)),
		    enforce_fw_was_refused(e, p, &why) ? why : "unknown");
		if (e->store != NULL)
			store_flush(e->store);
		return -1;
	}
	return 0;
}

int
enforce_ban_queue(struct enforce *e, const struct prefix *p,
    int64_t duration, enum fw_scope scope, const char *reason, char **cause)
{
	return bans_manual(e->bans, p, duration, scope, reason,
	    clock_realtime(), cause);
}

int
enforce_unban_queue(struct enforce *e, const struct prefix *p, char **cause)
{
	return bans_lift(e->bans, p, clock_realtime(), cause);
}

/* One store commit and one firewall batch for all that was queued. */
void
enforce_commit(struct enforce *e)
{
	if (e->store != NULL)
		store_flush(e->store);
	enforce_flush(e);
}

int
enforce_unban(struct enforce *e, const struct prefix *p, char **cause)
{
	if (bans_lift(e->bans, p, clock_realtime(), cause) == -1)
		return -1;
	if (e->store != NULL)
		store_flush(e->store);
	enforce_flush(e);
	return 0;
}

struct fw *
enforce_reload_open(struct enforce *e, const struct conf *conf,
    char **cause)
{
	/* The helper reads the new file first: the backend it opens is
	 * the one the proxy then talks to. */
	if (e->priv != NULL && fw_in_kernel(conf) &&
	    priv_reload(e->priv, cause) == -1)
		return NULL;
	return enforce_fw_open(conf, e->loop, e->priv, cause);
}

void
enforce_reload(struct enforce *e, const struct conf *conf, struct fw *fw)
{
	size_t	 k;
	char	*cause;
	int	 n;

	/* What the old backend still had queued goes out through it. */
	enforce_flush(e);
	fw_close(e->fw);
	e->fw = fw;
	enforce_fw_own(e, fw);
	e->conf = conf;
	bans_set_conf(e->bans, conf);
	e->no_replace = 0;
	if (e->watch != NULL && !enforce_watched(conf)) {
		fw_watch_close(e->watch);
		e->watch = NULL;
	} else if (e->watch != NULL)
		fw_watch_set_table(e->watch, conf->ban_table);
	/* The bans the new [allow] networks and proxies forbid end now, in
	 * the store and in the kernel, before the reload is answered. */
	if ((n = bans_recheck(e->bans, NULL, clock_realtime())) > 0) {
		log_info("reload: %d %s lifted: never banned under the new "
		    "configuration", n, n == 1 ? "ban" : "bans");
		if (e->store != NULL)
			store_flush(e->store);
	}
	/*
	 * The whole table again, every ban in force (the lifts above with
	 * them): whatever happened to it meanwhile (a flush, a new table
	 * name, new ports), the kernel holds what status says is in force.
	 */
	if (enforce_fw_replace(e, &k, &cause) == 0)
		log_info("reload: the firewall holds the %zu %s in force", k,
		    k == 1 ? "ban" : "bans");
	else if (cause != NULL) {
		log_warnx("reload: restoring the table: %s; tried again",
		    cause);
		free(cause);
		snprintf(e->restore, sizeof(e->restore), "reload");
	}
	enforce_flush(e);
}

void
enforce_set_notify(struct enforce *e, ban_notify_cb cb, void *arg)
{
	bans_set_notify(e->bans, cb, arg);
}

/*
 * A session that completed its handshake before its source's ban was in
 * the kernel, reported after that ban's kill listed the flows (conntrack's
 * events lag under load): the ban drops its next packets, the client's FIN
 * too, so the server would keep it open until its own timeouts.  It is
 * ended like the others, by the next flush.  A session found at start
 * (a restart with bans in force) is ended the same way.
 */
void
enforce_flow_open_cb(const struct event *ev, void *arg)
{
	struct enforce		*e = arg;
	const struct ban	*b;
	char			 a[ADDR_STRLEN];

	if (!e->conf->ban_kill || e->flows == NULL)
		return;
	if ((b = bans_covering(e->bans, &ev->addr, clock_realtime())) ==
	    NULL || b->throttled || bans_kill_queued(e->bans, &b->prefix))
		return;
	log_debug("fw: a session of banned %s (port %u) opened before its "
	    "ban was in the kernel: ended", addr_ntop(&ev->addr, a,
	    sizeof(a)), ev->sport);
	fw_killq_add_flow(e->killq, e->fw, e->flows, &ev->addr, ev->sport,
	    ev->port, b->scope);
}

void
enforce_set_flows(struct enforce *e, const struct ctflow *flows)
{
	e->flows = flows;
}

const struct bans *
enforce_bans(const struct enforce *e)
{
	return e->bans;
}

int
enforce_surge(struct enforce *e, const struct fw_op *ops, size_t n,
    char **cause)
{
	return fw_apply(e->fw, ops, n, cause);
}

const struct fw *
enforce_fw(const struct enforce *e)
{
	return e->fw;
}
