/*
 * The cluster link to a CrowdSec Local API (LAPI), on the daemon's loop
 * through its own http client (http.c: libcurl multi, never blocking; no
 * retries of its own, the backoff is ours).  ../shared/CLUSTER.md has the
 * HTTP flow as verified against 1.4.6 and its quirks.
 *
 * Push.  Every ban change decided here (a verdict, an operator's ban or
 * unban) reaches cluster_ban_cb() after the ban is in force, and becomes
 * a row of the queue in the store (cqueue.c): a local ban is never
 * delayed by the LAPI.  One batch at a time is sent, the oldest rows: up
 * to CQUEUE_BATCH_MAX bans as one POST /v1/alerts (an alert with one
 * decision each, its remaining duration), or one unban as DELETE
 * /v1/decisions?ip= (or range=).  The watcher's JWT comes from a login
 * and is kept until a 401 or JWT_KEEP; a failure waits PUSH_BACKOFF_MIN,
 * doubling to PUSH_BACKOFF_MAX, and a pull that works ends the wait (the
 * LAPI is back).
 *
 * Pull.  Every pull_interval one GET /v1/decisions/stream with the node's
 * own bouncer key (the stream's cursor is per key), with startup=true at
 * start, every resync_interval and after any failure (deltas can miss
 * decisions).  A ban decision on an Ip or a Range, of an accepted origin,
 * becomes a local ban for its remaining duration through
 * enforce_ban_queue(), exactly as an operator's: the never-a-weapon rules
 * (loopback, own addresses, allowlist, proxies) refuse what they refuse,
 * counted and logged.  One answer's bans and lifts are one batch: queued
 * one by one, then one store commit and one firewall batch for all
 * (enforce_commit()), and only then checked against what the firewall
 * refused (10,000 decisions at start are one nft batch, not 10,000).  Its reason "cluster (ORIGIN): SCENARIO" says where it came
 * from (bans, bans --json, the store), and marks it as pulled across a
 * restart.  A decision for a prefix banned here by other means is this
 * node's own (pushed earlier, or decided here too): left alone.
 *
 * Invariants: `pulled` is the sorted set of prefixes whose ban in force
 * came from the LAPI, but for those of the answer being applied, listed
 * in `fresh` until the commit merges them in; while `applying` is set the ban changes are the
 * pull's own and are not pushed back; at most one push (or login) and one
 * pull are in flight.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ban.h"
#include "clock.h"
#include "cluster.h"
#include "conf.h"
#include "cqueue.h"
#include "enforce.h"
#include "http.h"
#include "lapi.h"
#include "log.h"
#include "loop.h"
#include "status.h"
#include "verdict.h"
#include "xmalloc.h"

#define PUSH_BACKOFF_MIN	1000		/* ms */
#define PUSH_BACKOFF_MAX	30000		/* ms */
#define JWT_KEEP		(50 * 60 * CLOCK_US_PER_SEC)
#define CLUSTER_PUSH_MAX	(4 * 1024 * 1024)	/* a batch's body */
#define CLUSTER_ERR_MAX		256
#define CLUSTER_MARK		"cluster ("	/* a pulled ban's reason */
#define CLUSTER_BODY_LOG	300		/* of an answer, in a log */

/* A pulled ban of the answer being applied, not committed yet. */
struct cluster_fresh {
	struct prefix		 prefix;
	long long		 id;		/* the decision's */
	int			 isnew;		/* not in force before */
};

struct cluster {
	struct loop		*loop;
	struct enforce		*enforce;
	struct http		*http;
	struct cqueue		*queue;
	struct http_opts	 opts;

	char			*base;		/* lapi_url, no final '/' */
	char			*machine_id;
	char			*password;
	char			*key_header;	/* "X-Api-Key: ..." */
	char			*origins;	/* "all" or a list */
	char			*scenario_prefix;
	int			 push;
	int			 pull;
	int64_t			 pull_interval;	/* us */
	int64_t			 resync_interval;
	int			 timeout_ms;
	int64_t			 down_alert;

	char			*token;		/* the JWT; NULL: log in */
	char			*auth_header;	/* "Authorization: Bearer" */
	int64_t			 token_until;	/* monotonic us */
	int			 fresh_token;	/* no request took it yet */

	int			 push_busy;
	struct cqueue_batch	 batch;		/* the one in flight */
	int64_t			 push_next;	/* monotonic us */
	int64_t			 push_backoff;	/* ms; 0: none */
	struct loop_timer	*push_timer;

	int			 pull_busy;
	int			 pull_resync;	/* the one in flight is */
	int			 need_resync;
	int64_t			 last_resync;	/* monotonic us */
	int64_t			 pull_sent;	/* monotonic us */
	struct loop_timer	*pull_timer;

	int			 applying;
	struct prefix		*pulled;	/* sorted */
	size_t			 npulled;
	size_t			 pulledcap;
	struct cluster_fresh	*fresh;		/* this answer's bans */
	size_t			 nfresh;
	size_t			 freshcap;

	int64_t			 down_since;	/* monotonic us; 0: up */
	int64_t			 down_wall;	/* the same, wall clock */
	int			 down_said;
	struct log_ratelimit	 rl;
	char			 last_error[CLUSTER_ERR_MAX];
	struct cluster_stats	 st;
};

static void	cluster_push_kick(struct cluster *, int64_t delay_ms);

static int
cluster_prefix_cmp(const void *a, const void *b)
{
	const struct prefix	*p = a, *q = b;
	int			 c;

	if (p->addr.family != q->addr.family)
		return p->addr.family < q->addr.family ? -1 : 1;
	if ((c = memcmp(p->addr.bytes, q->addr.bytes,
	    sizeof(p->addr.bytes))) != 0)
		return c;
	return p->len < q->len ? -1 : p->len > q->len;
}

/* Where p is in pulled, or where it would go (*found 0). */
static size_t
cluster_pulled_find(const struct cluster *c, const struct prefix *p,
    int *found)
{
	size_t	lo = 0, hi = c->npulled, mid;
	int	r;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((r = cluster_prefix_cmp(&c->pulled[mid], p)) == 0) {
			*found = 1;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
cluster_is_pulled(const struct cluster *c, const struct prefix *p)
{
	int	found;

	(void)cluster_pulled_find(c, p, &found);
	return found;
}

/* The ban in force on p, if any (enforce_bans() is read-only; bans_find()
 * only reads). */
static const struct ban *
cluster_ban_of(struct cluster *c, const struct prefix *p)
{
	return bans_find((struct bans *)(uintptr_t)enforce_bans(c->enforce),
	    p);
}

/* A ban pulled now, in pulled from the next cluster_commit(). */
static void
cluster_fresh_add(struct cluster *c, const struct prefix *p, long long id,
    int isnew)
{
	if (c->nfresh == c->freshcap) {
		c->freshcap = c->freshcap == 0 ? 64 : c->freshcap * 2;
		c->fresh = xreallocarray(c->fresh, c->freshcap,
		    sizeof(*c->fresh));
	}
	c->fresh[c->nfresh].prefix = *p;
	c->fresh[c->nfresh].id = id;
	c->fresh[c->nfresh].isnew = isnew;
	c->nfresh++;
}

/*
 * The batch of an answer (or of the restore at start) stored and applied,
 * then its bans in force merged into pulled: appended, sorted once and
 * made unique, O(n log n) where inserting one by one would be O(n^2).
 */
static void
cluster_commit(struct cluster *c)
{
	char	pfx[ADDR_PREFIX_STRLEN];
	size_t	i, j, n;

	if (c->enforce != NULL) {
		c->applying = 1;
		enforce_commit(c->enforce);
		c->applying = 0;
	}
	if (c->nfresh == 0)
		return;
	if (c->npulled + c->nfresh > c->pulledcap) {
		c->pulledcap = c->npulled + c->nfresh;
		c->pulled = xreallocarray(c->pulled, c->pulledcap,
		    sizeof(*c->pulled));
	}
	for (i = 0; i < c->nfresh; i++) {
		if (c->enforce != NULL &&
		    cluster_ban_of(c, &c->fresh[i].prefix) == NULL) {
			/* Refused where the firewall is changed. */
			c->st.refused++;
			log_warnx("cluster: decision %lld for %s refused by "
			    "the firewall", c->fresh[i].id, addr_prefix_ntop(
			    &c->fresh[i].prefix, pfx, sizeof(pfx)));
			continue;
		}
		if (c->fresh[i].isnew)
			c->st.pulled++;
		c->pulled[c->npulled++] = c->fresh[i].prefix;
	}
	c->nfresh = 0;
	qsort(c->pulled, c->npulled, sizeof(*c->pulled), cluster_prefix_cmp);
	for (i = j = 0, n = c->npulled; i < n; i++)
		if (j == 0 || cluster_prefix_cmp(&c->pulled[j - 1],
		    &c->pulled[i]) != 0)
			c->pulled[j++] = c->pulled[i];
	c->npulled = j;
}

static void
cluster_pulled_del(struct cluster *c, const struct prefix *p)
{
	size_t	i;
	int	found;

	i = cluster_pulled_find(c, p, &found);
	if (!found)
		return;
	memmove(&c->pulled[i], &c->pulled[i + 1],
	    (c->npulled - i - 1) * sizeof(*c->pulled));
	c->npulled--;
}

/* A failure: counted, kept for status, logged at most once a minute. */
static void
cluster_fail(struct cluster *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
cluster_fail(struct cluster *c, const char *fmt, ...)
{
	va_list	ap;
	int64_t	now = clock_monotonic();
	char	left[32];

	va_start(ap, fmt);
	(void)vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	c->st.errors++;
	c->st.up = 0;
	if (c->down_since == 0) {
		c->down_since = now;
		c->down_wall = clock_realtime();
	}
	if (log_ratelimit_ok(&c->rl, now))
		log_warnx("cluster: %s", c->last_error);
	if (c->down_alert > 0 && !c->down_said &&
	    now - c->down_since >= c->down_alert) {
		c->down_said = 1;
		c->st.downs++;
		(void)snprintf(left, sizeof(left), "%llds",
		    (long long)((now - c->down_since) / CLOCK_US_PER_SEC));
		log_warnx("cluster: link to %s down for %s: %s", c->base,
		    left, c->last_error);
	}
}

static void
cluster_ok(struct cluster *c)
{
	if (c->down_said)
		log_info("cluster: link to %s back after %llds", c->base,
		    (long long)((clock_monotonic() - c->down_since) /
		    CLOCK_US_PER_SEC));
	c->down_since = c->down_wall = 0;
	c->down_said = 0;
	c->st.up = 1;
}

/* An answer's body cut and escaped for a log line. */
static const char *
cluster_body(const struct http_result *r, char *buf, size_t size)
{
	size_t	n = r->body_len < CLUSTER_BODY_LOG ? r->body_len :
		    CLUSTER_BODY_LOG;

	if (n == 0)
		return "no body";
	return log_escape(buf, size, r->body, n);
}

static void
cluster_backoff(struct cluster *c)
{
	c->push_backoff = c->push_backoff == 0 ? PUSH_BACKOFF_MIN :
	    c->push_backoff * 2;
	if (c->push_backoff > PUSH_BACKOFF_MAX)
		c->push_backoff = PUSH_BACKOFF_MAX;
	c->push_next = clock_monotonic() + c->push_backoff * CLOCK_US_PER_MS;
	cluster_push_kick(c, c->push_backoff);
}

static void
cluster_token_drop(struct cluster *c)
{
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	if (c->auth_header != NULL)
		explicit_bzero(c->auth_header, strlen(c->auth_header));
	free(c->auth_header);
	c->token = c->auth_header = NULL;
}

static void
cluster_login_done(const struct http_result *r, void *arg)
{
	struct cluster	*c = arg;
	char		*cause, esc[CLUSTER_BODY_LOG * 4 + 1];

	c->push_busy = 0;
	if (r->outcome == HTTP_CANCELLED)
		return;
	if (r->outcome != HTTP_OK) {
		cluster_fail(c, "login to %s as %s: %s (%s)", c->base,
		    c->machine_id, r->error, cluster_body(r, esc,
		    sizeof(esc)));
		cluster_backoff(c);
		return;
	}
	cluster_token_drop(c);
	if ((c->token = lapi_login_token(r->body, r->body_len,
	    &cause)) == NULL) {
		cluster_fail(c, "login to %s: %s", c->base, cause);
		free(cause);
		cluster_backoff(c);
		return;
	}
	c->auth_header = xasprintf("Authorization: Bearer %s", c->token);
	c->token_until = clock_monotonic() + JWT_KEEP;
	c->fresh_token = 1;
	c->st.logins++;
	log_info("cluster: logged in to %s as %s", c->base, c->machine_id);
	cluster_ok(c);
	cluster_push_kick(c, 0);
}

static void
cluster_login(struct cluster *c)
{
	char	*body, *url;
	size_t	 len;

	body = lapi_login_body(c->machine_id, c->password, &len);
	url = xasprintf("%s/v1/watchers/login", c->base);
	c->opts.answer_max = 64 * 1024;
	if (body == NULL || http_request_opts(c->http, "POST", url, NULL,
	    body, len, c->timeout_ms, &c->opts, cluster_login_done,
	    c) == -1) {
		cluster_fail(c, "login: request refused: %s",
		    body == NULL ? "no body" : strerror(errno));
		cluster_backoff(c);
	} else
		c->push_busy = 1;
	if (body != NULL)
		explicit_bzero(body, len);
	free(body);
	free(url);
}

static void
cluster_push_done(const struct http_result *r, void *arg)
{
	struct cluster	*c = arg;
	char		*cause, esc[CLUSTER_BODY_LOG * 4 + 1];

	c->push_busy = 0;
	if (r->outcome == HTTP_CANCELLED)
		return;
	if (r->outcome == HTTP_OK) {
		c->fresh_token = 0;
		if (cqueue_done(c->queue, &c->batch, &cause) == -1) {
			cluster_fail(c, "%s", cause);
			free(cause);
			cluster_backoff(c);
			return;
		}
		if (c->batch.op == CQUEUE_BAN)
			c->st.pushed += c->batch.n;
		else
			c->st.unbans += c->batch.n;
		c->st.last_push = clock_realtime();
		c->push_backoff = 0;
		c->push_next = 0;
		cluster_ok(c);
		cluster_push_kick(c, 0);
		return;
	}
	if (r->status == 401 && !c->fresh_token) {
		/* The JWT ran out, or the LAPI restarted: log in again. */
		cluster_token_drop(c);
		cluster_push_kick(c, 0);
		return;
	}
	if (r->status == 401)
		cluster_token_drop(c);
	/* An answer refusing the batch counts against it (1.4.6 answers
	 * a validation error with 500); no answer at all does not. */
	if (r->status != 0 && cqueue_refused(c->queue, &c->batch,
	    &cause) == -1) {
		log_warnx("cluster: %s", cause);
		free(cause);
	}
	cluster_fail(c, "push of %zu %s to %s: %s (%s)", c->batch.n,
	    c->batch.op == CQUEUE_BAN ? "bans" : "unban", c->base, r->error,
	    cluster_body(r, esc, sizeof(esc)));
	cluster_backoff(c);
}

/* The batch at the head of the queue, to the LAPI. */
static void
cluster_push_send(struct cluster *c)
{
	const char	*hdr[2] = { c->auth_header, NULL };
	char		*body = NULL, *url, pfx[ADDR_PREFIX_STRLEN];
	char		 a[ADDR_STRLEN], *cause;
	struct prefix	*p;
	size_t		 len = 0, nlive = 0;
	int		 rc;

	if ((rc = cqueue_peek(c->queue, &c->batch, &cause)) <= 0) {
		if (rc == -1) {
			cluster_fail(c, "%s", cause);
			free(cause);
			cluster_backoff(c);
		}
		return;
	}
	if (c->batch.tries >= CQUEUE_TRIES_MAX) {
		log_warnx("cluster: %zu queued %s refused %d times: dropped",
		    c->batch.rows, c->batch.op == CQUEUE_BAN ? "bans" :
		    "unban", c->batch.tries);
		c->st.dropped += c->batch.rows;
		goto skip;
	}
	if (c->batch.op == CQUEUE_BAN) {
		body = lapi_alerts_body(c->batch.bans, c->batch.n,
		    c->scenario_prefix, "xmppguard", clock_realtime(), &len,
		    &nlive);
		if (body == NULL || nlive == 0)
			goto skip;	/* every one is over already */
		url = xasprintf("%s/v1/alerts", c->base);
	} else {
		if (c->batch.n == 0)
			goto skip;
		p = &c->batch.bans[0].prefix;
		if (p->len == addr_maxlen(&p->addr))
			url = xasprintf("%s/v1/decisions?ip=%s", c->base,
			    addr_ntop(&p->addr, a, sizeof(a)));
		else
			url = xasprintf("%s/v1/decisions?range=%s", c->base,
			    addr_prefix_ntop(p, pfx, sizeof(pfx)));
	}
	c->opts.answer_max = 64 * 1024;
	if (http_request_opts(c->http, c->batch.op == CQUEUE_BAN ? "POST" :
	    "DELETE", url, hdr, body != NULL ? body : "", len, c->timeout_ms,
	    &c->opts, cluster_push_done, c) == -1) {
		cluster_fail(c, "push: request refused: %s", strerror(errno));
		cluster_backoff(c);
	} else
		c->push_busy = 1;
	free(url);
	free(body);
	return;

skip:
	free(body);
	if (cqueue_done(c->queue, &c->batch, &cause) == -1) {
		cluster_fail(c, "%s", cause);
		free(cause);
		cluster_backoff(c);
		return;
	}
	cluster_push_kick(c, 0);
}

static void
cluster_push_run(struct cluster *c)
{
	int64_t	now = clock_monotonic();

	if (!c->push || c->push_busy || cqueue_length(c->queue) == 0)
		return;
	if (now < c->push_next) {
		cluster_push_kick(c, (c->push_next - now) / CLOCK_US_PER_MS + 1);
		return;
	}
	if (c->token == NULL || now >= c->token_until) {
		cluster_token_drop(c);
		cluster_login(c);
		return;
	}
	cluster_push_send(c);
}

static int64_t
cluster_push_timer_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct cluster	*c = arg;

	(void)loop;
	(void)t;
	c->push_timer = NULL;	/* the loop frees it */
	cluster_push_run(c);
	return LOOP_TIMER_DONE;
}

/* Pushing is looked at in delay_ms (or sooner if asked before). */
static void
cluster_push_kick(struct cluster *c, int64_t delay_ms)
{
	if (!c->push)
		return;
	if (c->push_timer != NULL) {
		if (delay_ms == 0)
			(void)loop_timer_set(c->loop, c->push_timer, 0);
		return;
	}
	if ((c->push_timer = loop_timer_add(c->loop, delay_ms,
	    cluster_push_timer_cb, c)) == NULL)
		log_warn("cluster: timer");
}

/* Whether an origin is one [cluster] origins accepts. */
static int
cluster_origin_ok(const struct cluster *c, const char *origin)
{
	const char	*s = c->origins;
	size_t		 n, len = strlen(origin);

	if (strcasecmp(s, "all") == 0)
		return 1;
	while (*s != '\0') {
		s += strspn(s, ", \t");
		n = strcspn(s, ", \t");
		if (n > 0 && n == len && strncasecmp(s, origin, n) == 0)
			return 1;
		s += n;
	}
	return 0;
}

/* A pulled ban decision becomes a local ban. */
static void
cluster_apply(struct cluster *c, const struct lapi_decision *d)
{
	const struct ban	*b;
	struct ban_stats	 before, after;
	char			 reason[sizeof(CLUSTER_MARK) + LAPI_ORIGIN_MAX +
				    LAPI_SCENARIO_MAX + 4];
	char			 pfx[ADDR_PREFIX_STRLEN], *cause;
	int			 rc;

	if (d->duration <= 0 || !cluster_origin_ok(c, d->origin)) {
		c->st.skipped++;
		return;
	}
	if ((b = cluster_ban_of(c, &d->prefix)) != NULL) {
		if (strncmp(b->reason, CLUSTER_MARK,
		    strlen(CLUSTER_MARK)) != 0) {
			/* Banned here by this node's own means. */
			c->st.own++;
			return;
		}
		cluster_fresh_add(c, &d->prefix, (long long)d->id, 0);
		/* In force for as long already (a second's slack: the
		 * LAPI counts down while the answer travels). */
		if (b->expires >= clock_realtime() + d->duration -
		    CLOCK_US_PER_SEC)
			return;
	}
	(void)snprintf(reason, sizeof(reason), CLUSTER_MARK "%s): %s",
	    d->origin[0] != '\0' ? d->origin : "?", d->scenario);
	bans_get_stats(enforce_bans(c->enforce), &before);
	c->applying = 1;
	rc = enforce_ban_queue(c->enforce, &d->prefix, d->duration,
	    FW_SCOPE_SERVICES, reason, &cause);
	c->applying = 0;
	if (rc == 0) {
		/* Counted once the firewall has it (cluster_commit). */
		if (b == NULL)
			cluster_fresh_add(c, &d->prefix, (long long)d->id, 1);
		return;
	}
	bans_get_stats(enforce_bans(c->enforce), &after);
	if (after.refused != before.refused) {
		c->st.refused++;
		log_warnx("cluster: decision %lld for %s (%s, %s) refused: %s",
		    (long long)d->id, addr_prefix_ntop(&d->prefix, pfx,
		    sizeof(pfx)), d->origin, d->scenario, cause);
	} else
		log_debug("cluster: decision %lld: %s", (long long)d->id,
		    cause);
	free(cause);
}

/* A pulled ban lifted: the LAPI deleted it, or no longer has it. */
static void
cluster_lift(struct cluster *c, const struct prefix *p)
{
	char	*cause;
	int	 rc;

	if (!cluster_is_pulled(c, p))
		return;
	cluster_pulled_del(c, p);
	c->applying = 1;
	rc = enforce_unban_queue(c->enforce, p, &cause);
	c->applying = 0;
	if (rc == 0)
		c->st.lifted++;
	else
		free(cause);
}

/*
 * A full pull: what is in force there is applied, and the pulled bans it
 * no longer holds are lifted (a deletion a delta missed).
 */
static void
cluster_resync(struct cluster *c, const struct lapi_stream *s)
{
	struct prefix	*keep;
	size_t		 i, n = 0;

	keep = xreallocarray(NULL, s->nadded + 1, sizeof(*keep));
	for (i = 0; i < s->nadded; i++)
		if (s->added[i].duration > 0 &&
		    cluster_origin_ok(c, s->added[i].origin))
			keep[n++] = s->added[i].prefix;
	qsort(keep, n, sizeof(*keep), cluster_prefix_cmp);
	for (i = c->npulled; i > 0; i--)
		if (bsearch(&c->pulled[i - 1], keep, n, sizeof(*keep),
		    cluster_prefix_cmp) == NULL)
			cluster_lift(c, &c->pulled[i - 1]);
	free(keep);
	for (i = 0; i < s->nadded; i++)
		cluster_apply(c, &s->added[i]);
	c->st.resyncs++;
}

static void
cluster_pull_done(const struct http_result *r, void *arg)
{
	struct cluster		*c = arg;
	struct lapi_stream	 s;
	char			*cause, esc[CLUSTER_BODY_LOG * 4 + 1];
	size_t			 i;
	uint64_t		 pulled = c->st.pulled;
	int64_t			 t0 = clock_monotonic(), t1;

	c->pull_busy = 0;
	if (r->outcome == HTTP_CANCELLED)
		return;
	if (r->outcome != HTTP_OK) {
		c->need_resync = 1;
		cluster_fail(c, "pull from %s: %s (%s)", c->base, r->error,
		    cluster_body(r, esc, sizeof(esc)));
		return;
	}
	if (lapi_stream_parse(r->body, r->body_len, &s, &cause) == -1) {
		c->need_resync = 1;
		cluster_fail(c, "pull from %s: %s", c->base, cause);
		free(cause);
		return;
	}
	c->st.skipped += s.skipped;
	if (c->pull_resync) {
		cluster_resync(c, &s);
		c->need_resync = 0;
		c->last_resync = clock_monotonic();
	} else {
		for (i = 0; i < s.ndeleted; i++)
			cluster_lift(c, &s.deleted[i].prefix);
		for (i = 0; i < s.nadded; i++)
			cluster_apply(c, &s.added[i]);
	}
	cluster_commit(c);
	t1 = clock_monotonic();
	/* What a full pull costs, said each time (every resync_interval). */
	if (c->pull_resync)
		log_info("cluster: resync: %zu decisions, %llu new bans; "
		    "answer %lld ms (%zu bytes), applied in %lld ms", s.nadded,
		    (unsigned long long)(c->st.pulled - pulled),
		    (long long)((t0 - c->pull_sent) / CLOCK_US_PER_MS),
		    r->body_len, (long long)((t1 - t0) / CLOCK_US_PER_MS));
	lapi_stream_free(&s);
	c->st.last_pull = clock_realtime();
	cluster_ok(c);
	/* The LAPI answers: a push waiting out its backoff goes now. */
	if (c->push_backoff > 0 && !c->push_busy) {
		c->push_next = 0;
		cluster_push_kick(c, 0);
	}
}

static int64_t
cluster_pull_timer_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct cluster	*c = arg;
	const char	*hdr[2] = { c->key_header, NULL };
	char		*url;
	int64_t		 now = clock_monotonic();

	(void)loop;
	(void)t;
	if (c->pull_busy)
		return c->pull_interval / CLOCK_US_PER_MS;
	c->pull_resync = c->need_resync ||
	    now - c->last_resync >= c->resync_interval;
	url = xasprintf("%s/v1/decisions/stream%s", c->base,
	    c->pull_resync ? "?startup=true" : "");
	c->opts.answer_max = LAPI_ANSWER_MAX;
	if (http_request_opts(c->http, "GET", url, hdr, "", 0,
	    c->timeout_ms, &c->opts, cluster_pull_done, c) == -1) {
		c->need_resync = 1;
		cluster_fail(c, "pull: request refused: %s", strerror(errno));
	} else {
		c->pull_busy = 1;
		c->pull_sent = now;
	}
	free(url);
	return c->pull_interval / CLOCK_US_PER_MS;
}

void
cluster_ban_cb(enum ban_change change, const struct ban *b, int64_t now,
    void *arg)
{
	struct cluster	*c = arg;
	struct lapi_ban	 lb;
	char		*cause;
	int		 rc = 0;

	if (c == NULL || c->applying)
		return;
	switch (change) {
	case BAN_ISSUED:
	case BAN_EXTENDED:
		/* Decided here now, pulled or not before. */
		cluster_pulled_del(c, &b->prefix);
		if (!c->push)
			return;
		memset(&lb, 0, sizeof(lb));
		lb.prefix = b->prefix;
		lb.rule = verdict_rule_name(b->rule);
		lb.reason = b->reason;
		lb.count = b->count;
		lb.since = b->since;
		lb.expires = b->expires;
		rc = cqueue_ban(c->queue, &lb, now, &cause);
		break;
	case BAN_LIFTED:
		/* An operator's unban here is one for all, pulled or not. */
		cluster_pulled_del(c, &b->prefix);
		if (!c->push)
			return;
		rc = cqueue_unban(c->queue, &b->prefix, now, &cause);
		break;
	case BAN_EXPIRED:
	case BAN_REVOKED:
		cluster_pulled_del(c, &b->prefix);
		return;
	}
	if (rc == -1) {
		c->st.errors++;
		if (log_ratelimit_ok(&c->rl, clock_monotonic()))
			log_warnx("cluster: %s", cause);
		free(cause);
		return;
	}
	cluster_push_kick(c, 0);
}

/* The bans in force that came from the LAPI before a restart. */
static void
cluster_restore_cb(const struct ban *b, void *arg)
{
	if (strncmp(b->reason, CLUSTER_MARK, strlen(CLUSTER_MARK)) == 0)
		cluster_fresh_add(arg, &b->prefix, 0, 0);
}

/* The settings of [cluster], copied: the configuration may go (reload). */
static void
cluster_set_conf(struct cluster *c, const struct conf *conf)
{
	size_t	n;

	c->base = xstrdup(conf->cluster_lapi_url);
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->machine_id = xstrdup(conf->cluster_machine_id);
	c->password = xstrdup(conf->cluster_password);
	c->key_header = xasprintf("X-Api-Key: %s", conf->cluster_bouncer_key);
	c->origins = xstrdup(conf->cluster_origins);
	c->scenario_prefix = xstrdup(conf->cluster_scenario_prefix);
	c->opts.cafile = *conf->cluster_ca_file != '\0' ?
	    xstrdup(conf->cluster_ca_file) : NULL;
	c->opts.cert = *conf->cluster_cert_file != '\0' ?
	    xstrdup(conf->cluster_cert_file) : NULL;
	c->opts.key = *conf->cluster_key_file != '\0' ?
	    xstrdup(conf->cluster_key_file) : NULL;
	c->opts.body_max = CLUSTER_PUSH_MAX;
	c->push = conf->cluster_push;
	c->pull = conf->cluster_pull;
	c->pull_interval = conf->cluster_pull_interval;
	c->resync_interval = conf->cluster_resync_interval;
	c->timeout_ms = (int)(conf->cluster_timeout / CLOCK_US_PER_MS);
	c->down_alert = conf->cluster_down_alert;
}

static void
cluster_clear_conf(struct cluster *c)
{
	explicit_bzero(c->password, strlen(c->password));
	explicit_bzero(c->key_header, strlen(c->key_header));
	free(c->password);
	free(c->key_header);
	free(c->base);
	free(c->machine_id);
	free(c->origins);
	free(c->scenario_prefix);
	free((char *)(uintptr_t)c->opts.cafile);
	free((char *)(uintptr_t)c->opts.cert);
	free((char *)(uintptr_t)c->opts.key);
	memset(&c->opts, 0, sizeof(c->opts));
}

/* Whether two optional strings differ (NULL: none). */
static int
cluster_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

struct cluster *
cluster_start(struct loop *loop, const struct conf *conf,
    struct store *store, struct enforce *e, char **cause)
{
	struct cluster	*c;

	if (*conf->cluster_lapi_url == '\0')
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->enforce = e;
	if ((c->queue = cqueue_open(store, conf->cluster_queue_max,
	    cause)) == NULL) {
		free(c);
		return NULL;
	}
	if ((c->http = http_new(loop, cause)) == NULL) {
		cqueue_close(c->queue);
		free(c);
		return NULL;
	}
	http_set_retry(c->http, 0, PUSH_BACKOFF_MIN);
	http_set_limits(c->http, 4, 16);
	cluster_set_conf(c, conf);
	c->need_resync = 1;
	c->rl.interval_us = 60 * CLOCK_US_PER_SEC;
	bans_walk(enforce_bans(e), cluster_restore_cb, c);
	cluster_commit(c);

	if (c->pull && (c->pull_timer = loop_timer_add(loop, 0,
	    cluster_pull_timer_cb, c)) == NULL)
		fatal("loop: timers");
	/* Logged in before the first ban, so that it goes at once. */
	if (c->push) {
		cluster_login(c);
		cluster_push_kick(c, 0);
	}
	log_info("cluster: %s, push %s, pull %s every %lldms, %llu queued",
	    c->base, c->push ? "on" : "off", c->pull ? "on" : "off",
	    (long long)(c->pull_interval / CLOCK_US_PER_MS),
	    (unsigned long long)cqueue_length(c->queue));
	return c;
}

/*
 * A reload: the new settings in force at once, the queue (in the store)
 * and the pulled bans kept.  Another LAPI, identity or TLS setting ends
 * what is in flight (a batch being pushed stays queued, the LAPI
 * de-duplicates a repeat), forgets the token and pulls in full next;
 * push and pull switched on or off start or stop their timers; a new
 * pull_interval takes effect from the next pull.
 */
void
cluster_reload(struct cluster *c, const struct conf *conf)
{
	struct cluster	 old;
	char		*cause;
	int		 relink;

	if (c == NULL)
		return;
	old = *c;
	cluster_set_conf(c, conf);
	relink = strcmp(old.base, c->base) != 0 ||
	    strcmp(old.machine_id, c->machine_id) != 0 ||
	    strcmp(old.password, c->password) != 0 ||
	    strcmp(old.key_header, c->key_header) != 0 ||
	    cluster_differ(old.opts.cafile, c->opts.cafile) ||
	    cluster_differ(old.opts.cert, c->opts.cert) ||
	    cluster_differ(old.opts.key, c->opts.key);
	cluster_clear_conf(&old);
	if (relink) {
		http_free(c->http);
		if ((c->http = http_new(c->loop, &cause)) == NULL)
			fatalx("cluster: %s", cause);
		http_set_retry(c->http, 0, PUSH_BACKOFF_MIN);
		http_set_limits(c->http, 4, 16);
		c->push_busy = c->pull_busy = 0;
		cqueue_batch_free(&c->batch);
		cluster_token_drop(c);
		c->need_resync = 1;
		c->push_backoff = 0;
		c->push_next = 0;
		c->down_since = c->down_wall = 0;
		c->down_said = 0;
	}
	if (!c->pull && c->pull_timer != NULL) {
		loop_timer_del(c->loop, c->pull_timer);
		c->pull_timer = NULL;
	} else if (c->pull && (c->pull_timer == NULL || relink)) {
		loop_timer_del(c->loop, c->pull_timer);
		if ((c->pull_timer = loop_timer_add(c->loop, 0,
		    cluster_pull_timer_cb, c)) == NULL)
			fatal("loop: timers");
	}
	if (c->push)
		cluster_push_kick(c, 0);
	log_info("cluster: reloaded: %s%s, push %s, pull %s every %lldms, "
	    "%llu queued", c->base, relink ? " (link renewed)" : "",
	    c->push ? "on" : "off", c->pull ? "on" : "off",
	    (long long)(c->pull_interval / CLOCK_US_PER_MS),
	    (unsigned long long)cqueue_length(c->queue));
}

void
cluster_stop(struct cluster *c)
{
	if (c == NULL)
		return;
	http_free(c->http);
	loop_timer_del(c->loop, c->pull_timer);
	loop_timer_del(c->loop, c->push_timer);
	cqueue_batch_free(&c->batch);
	cqueue_close(c->queue);
	cluster_token_drop(c);
	cluster_clear_conf(c);
	free(c->pulled);
	free(c->fresh);
	free(c);
}

void
cluster_get_stats(const struct cluster *c, struct cluster_stats *st)
{
	*st = c->st;
	st->queue = cqueue_length(c->queue);
	st->dropped += cqueue_dropped(c->queue);
	st->last_error = c->last_error;
	st->down_since = c->down_wall;
}

static void
cluster_status_get(const void *obj, size_t i, void *snap)
{
	(void)i;
	cluster_get_stats(obj, snap);
}

#define CS(f)	offsetof(struct cluster_stats, f)
static const struct status_field cluster_fields[] = {
	{ .name = "up", .type = STATUS_BOOL, .off = CS(up),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_cluster_up",
	  .help = "1 if the last request to the Local API worked.",
	  .text = "link %" },
	{ .name = "last_push", .type = STATUS_TIME, .off = CS(last_push),
	  .kind = STATUS_GAUGE,
	  .metric = "xmppguard_cluster_last_push_seconds",
	  .help = "When the Local API last took a push.",
	  .text = "last push %" },
	{ .name = "last_pull", .type = STATUS_TIME, .off = CS(last_pull),
	  .kind = STATUS_GAUGE,
	  .metric = "xmppguard_cluster_last_pull_seconds",
	  .help = "When the decision stream was last read.",
	  .text = "last pull %" },
	{ .name = "queue", .type = STATUS_U64, .off = CS(queue),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_cluster_queue",
	  .help = "Bans and unbans waiting to be pushed.",
	  .text = "% queued" },
	{ .name = "pushed", .type = STATUS_U64, .off = CS(pushed),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cluster_pushed_total",
	  .help = "Bans the Local API took.", .text = "% pushed" },
	{ .name = "unbans", .type = STATUS_U64, .off = CS(unbans),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cluster_unbans_total",
	  .help = "Unbans the Local API took.", .text = "% unbans" },
	{ .name = "pulled", .type = STATUS_U64, .off = CS(pulled),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cluster_pulled_total",
	  .help = "Decisions pulled and applied as local bans.",
	  .text = "% pulled" },
	{ .name = "lifted", .type = STATUS_U64, .off = CS(lifted),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cluster_lifted_total",
	  .help = "Pulled bans lifted: the Local API deleted them.",
	  .text = "% lifted" },
	{ .name = "refused", .type = STATUS_U64, .off = CS(refused),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_cluster_refused_total",
	  .help = "Pulled decisions refused: never a weapon.",
	  .text = "% refused" },
	{ .name = "own", .type = STATUS_U64, .off = CS(own),
	  .text = "% own" },
	{ .name = "skipped", .type = STATUS_U64, .off = CS(skipped) },
	{ .name = "errors", .type = STATUS_U64, .off = CS(errors),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cluster_errors_total",
	  .help = "Failed requests to the Local API and bad answers.",
	  .text = "% errors" },
	{ .name = "dropped", .type = STATUS_U64, .off = CS(dropped),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_cluster_dropped_total",
	  .help = "Bans and unbans never pushed: the queue was full, or "
	  "the Local API kept refusing them.", .text = "% dropped" },
	{ .name = "logins", .type = STATUS_U64, .off = CS(logins),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cluster_logins_total",
	  .help = "Logins to the Local API.", .text = "% logins" },
	{ .name = "resyncs", .type = STATUS_U64, .off = CS(resyncs) },
	{ .name = "downs", .type = STATUS_U64, .off = CS(downs) },
	{ .name = "last_error", .type = STATUS_STR, .off = CS(last_error),
	  .text = "last error: %" },
	{ .name = NULL }
};
#undef CS

const struct status_group cluster_status_group = {
	.name = "cluster",
	.text = "cluster",
	.fields = cluster_fields,
	.size = sizeof(struct cluster_stats),
	.get = cluster_status_get,
};
