/*
 * The journal source: one [log NAME] section with journal = UNIT, read
 * through libsystemd's sd_journal on the event loop.
 *
 * An sd_journal handle, opened on the system journal or on a directory
 * of journal files, matches _SYSTEMD_UNIT=UNIT and the extra matches (the
 * journal ANDs matches of different fields and ORs those of one field).
 * sd_journal_get_fd() gives an inotify descriptor on the journal files
 * and their directories: when it is readable, sd_journal_process() takes
 * the news in and sd_journal_next() walks the entries that arrived.  A
 * timer does the same at the delay sd_journal_get_timeout() asks for (a
 * journal on a filesystem without inotify is polled) and at most every
 * LOGSRC_JOURNAL_SAFETY_MS anyway, as the tailer's safety timer.
 *
 * Each entry's MESSAGE field goes to the callback with the entry's
 * __REALTIME_TIMESTAMP, which becomes the line's time where the filter
 * finds none in the text: Prosody or a container writing to the journal
 * leaves the date to it.  A field is a length and bytes, no terminating
 * NUL, possibly binary: it is passed on with its length, and one longer
 * than maxline is counted and skipped (the data threshold keeps libsystemd
 * from decompressing more of it than that).  A wake-up reads at most
 * LOGSRC_JOURNAL_SLICE entries or bytes, and stops after an entry once it
 * has taken LOOP_BUDGET_US; a 0 ms timer continues, so a backlog shares
 * the loop with everything else.
 *
 * Position.  After each read the cursor of the last entry read is kept
 * (sd_journal_get_cursor(); while nothing has been read, none); logsrc.c
 * saves it in the store with the events.  At start a cursor is sought, the
 * entry after it is the next to read: if the entry under the cursor is
 * still there (sd_journal_test_cursor()) it was read before the restart
 * and is skipped, if it has been vacuumed away the seek lands on the
 * oldest entry after it, which is read (and said in the log).  Without a
 * cursor, reading starts at the end: a first start does not judge the
 * journal's history.
 *
 * Invariants: pending implies the handle sits on an unread entry; more is
 * non-NULL iff a continuation is scheduled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "clock.h"
#include "log.h"
#include "logsrc_journal.h"
#include "loop.h"
#include "xmalloc.h"

#define LOGSRC_JOURNAL_SAFETY_MS	5000
#define LOGSRC_JOURNAL_POLL_MIN_MS	50	/* however soon asked */
#define LOGSRC_JOURNAL_SLICE		(1024 * 1024)	/* entries, bytes */
#define LOGSRC_JOURNAL_FIELD_MAX	64	/* a field name, as journald */
#define LOGSRC_JOURNAL_BUDGET_EVERY	64	/* entries between looks at
						 * the clock */

struct logsrc_journal {
	struct loop		*loop;
	char			*name;		/* [log NAME] */
	sd_journal		*j;
	int			 fd;		/* sd_journal_get_fd(), or -1 */
	struct loop_timer	*timer;		/* timeout and safety */
	struct loop_timer	*more;		/* continuation, or NULL */
	int			 pending;	/* sitting on an unread entry */
	size_t			 maxline;
	char			*cursor;	/* of the last entry read */
	logsrc_journal_cb	 cb;
	void			*arg;
	struct log_ratelimit	 errlimit;
	struct logsrc_journal_stats stats;
};

char *
logsrc_journal_unit(const char *name)
{
	if (strchr(name, '.') != NULL)
		return xstrdup(name);
	return xasprintf("%s.service", name);
}

/*
 * The next item of a journal_match list (blanks around it cut): its
 * length + 1 (1: an empty item), or 0 past the last, when *sp is NULL.
 */
static size_t
logsrc_journal_match_next(const char **sp, const char **item)
{
	const char	*s = *sp, *e;
	size_t		 n;

	if (s == NULL)
		return 0;
	n = strcspn(s, ",");
	*sp = s[n] == ',' ? s + n + 1 : NULL;
	e = s + n;
	s += strspn(s, " \t");
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*item = s;
	return (size_t)(e - s) + 1;
}

/* 0 if item (n bytes) is FIELD=VALUE, else -1 and *why. */
static int
logsrc_journal_match_one(const char *item, size_t n, const char **why)
{
	size_t	i;

	for (i = 0; i < n && item[i] != '='; i++) {
		if (!((item[i] >= 'A' && item[i] <= 'Z') || item[i] == '_' ||
		    (i > 0 && item[i] >= '0' && item[i] <= '9'))) {
			*why = "a field name is upper case letters, digits "
			    "and underscores, not starting with a digit";
			return -1;
		}
	}
	if (i == n || i == 0) {
		*why = "each match is FIELD=VALUE";
		return -1;
	}
	if (i > LOGSRC_JOURNAL_FIELD_MAX) {
		*why = "a field name is at most 64 characters";
		return -1;
	}
	return 0;
}

int
logsrc_journal_match_check(const char *list, const char **why)
{
	const char	*item;
	size_t		 n;

	while ((n = logsrc_journal_match_next(&list, &item)) != 0)
		if (logsrc_journal_match_one(item, n - 1, why) == -1)
			return -1;
	return 0;
}

static void
logsrc_journal_warn(struct logsrc_journal *lj, const char *what, int r)
{
	lj->stats.errors++;
	if (log_ratelimit_ok(&lj->errlimit, clock_monotonic()))
		log_warnx("log %s: journal: %s: %s", lj->name, what,
		    strerror(-r));
}

/* Hands the current entry's MESSAGE on; returns its length. */
static size_t
logsrc_journal_entry(struct logsrc_journal *lj)
{
	const void	*data;
	const char	*msg;
	size_t		 len;
	uint64_t	 usec;
	int64_t		 t = -1;
	int		 r;

	r = sd_journal_get_data(lj->j, "MESSAGE", &data, &len);
	if (r == -ENOENT)
		return 0;	/* an entry without text: nothing to read */
	if (r < 0) {
		logsrc_journal_warn(lj, "reading an entry", r);
		return 0;
	}
	/* The field comes as "MESSAGE=...", len bytes, no NUL after. */
	if (len < sizeof("MESSAGE=") - 1 ||
	    memcmp(data, "MESSAGE=", sizeof("MESSAGE=") - 1) != 0)
		return 0;
	msg = (const char *)data + sizeof("MESSAGE=") - 1;
	len -= sizeof("MESSAGE=") - 1;
	if (len > lj->maxline) {
		lj->stats.toolong++;
		return len;
	}
	if (sd_journal_get_realtime_usec(lj->j, &usec) >= 0 &&
	    usec <= INT64_MAX)
		t = (int64_t)usec;
	lj->stats.lines++;
	lj->stats.bytes += len;
	lj->cb(msg, len, t, lj->arg);
	return len;
}

/* Keeps the cursor of the entry the handle sits on. */
static void
logsrc_journal_keep_cursor(struct logsrc_journal *lj)
{
	char	*c;
	int	 r;

	if ((r = sd_journal_get_cursor(lj->j, &c)) < 0) {
		logsrc_journal_warn(lj, "cursor", r);
		return;
	}
	if (strlen(c) >= LOGSRC_JOURNAL_CURSOR_MAX) {
		free(c);
		return;
	}
	free(lj->cursor);
	lj->cursor = c;
}

/*
 * Reads what has arrived, up to a slice or the wake-up's time budget.
 * Returns 1 if it stopped at either bound (more may wait), else 0.
 */
static int
logsrc_journal_read(struct logsrc_journal *lj)
{
	struct loop_budget	budget;
	size_t			n = 0, bytes = 0;
	int			r, moved = 0, spent = 0;

	loop_budget_start(&budget, LOOP_BUDGET_US,
	    LOGSRC_JOURNAL_BUDGET_EVERY);
	while (n < LOGSRC_JOURNAL_SLICE && bytes < LOGSRC_JOURNAL_SLICE &&
	    !spent) {
		if (lj->pending) {
			lj->pending = 0;
			r = 1;
		} else
			r = sd_journal_next(lj->j);
		if (r < 0) {
			logsrc_journal_warn(lj, "next entry", r);
			break;
		}
		if (r == 0)
			break;
		moved = 1;
		n++;
		bytes += logsrc_journal_entry(lj) + 1;
		spent = loop_budget_spent(&budget);
	}
	/* sd_journal_next() returning 0 leaves the handle on the last entry
	 * read, so this is its cursor. */
	if (moved)
		logsrc_journal_keep_cursor(lj);
	return spent || n >= LOGSRC_JOURNAL_SLICE ||
	    bytes >= LOGSRC_JOURNAL_SLICE;
}

static int64_t
logsrc_journal_more_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct logsrc_journal	*lj = arg;

	(void)loop;
	(void)t;
	if (logsrc_journal_read(lj))
		return 0;
	lj->more = NULL;
	return LOOP_TIMER_DONE;
}

/* Takes the journal's news in and reads. */
static void
logsrc_journal_run(struct logsrc_journal *lj)
{
	int	r;

	if ((r = sd_journal_process(lj->j)) < 0)
		logsrc_journal_warn(lj, "process", r);
	if (lj->more != NULL || !logsrc_journal_read(lj))
		return;
	if ((lj->more = loop_timer_add(lj->loop, 0, logsrc_journal_more_cb,
	    lj)) == NULL)
		log_warn("log %s: journal: continuation timer", lj->name);
}

/* When the journal wants to be looked at again, in ms. */
static int64_t
logsrc_journal_delay(struct logsrc_journal *lj)
{
	struct timespec	ts;
	uint64_t	when, now;
	int64_t		ms;

	if (sd_journal_get_timeout(lj->j, &when) < 0 || when == UINT64_MAX)
		return LOGSRC_JOURNAL_SAFETY_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	ms = when > now ? (int64_t)((when - now) / 1000) : 0;
	if (ms < LOGSRC_JOURNAL_POLL_MIN_MS)
		return LOGSRC_JOURNAL_POLL_MIN_MS;
	return ms < LOGSRC_JOURNAL_SAFETY_MS ? ms : LOGSRC_JOURNAL_SAFETY_MS;
}

static int64_t
logsrc_journal_timer_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct logsrc_journal	*lj = arg;

	(void)loop;
	(void)t;
	logsrc_journal_run(lj);
	return logsrc_journal_delay(lj);
}

static void
logsrc_journal_fd_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct logsrc_journal	*lj = arg;

	(void)fd;
	(void)events;
	logsrc_journal_run(lj);
	loop_timer_set(loop, lj->timer, logsrc_journal_delay(lj));
}

/* Adds _SYSTEMD_UNIT and the extra matches; 0, or -1 and *cause. */
static int
logsrc_journal_matches(struct logsrc_journal *lj, const char *unit,
    const char *list, char **cause)
{
	const char	*item, *why;
	char		*m, *u;
	size_t		 n;
	int		 r;

	u = logsrc_journal_unit(unit);
	m = xasprintf("_SYSTEMD_UNIT=%s", u);
	free(u);
	r = sd_journal_add_match(lj->j, m, 0);
	free(m);
	while (r >= 0 && (n = logsrc_journal_match_next(&list, &item)) != 0) {
		if (logsrc_journal_match_one(item, n - 1, &why) == -1) {
			*cause = xasprintf("journal_match: %s", why);
			return -1;
		}
		r = sd_journal_add_match(lj->j, item, n - 1);
	}
	if (r < 0) {
		*cause = xasprintf("journal match: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* Puts the handle where reading goes on: after cursor, or at the end. */
static void
logsrc_journal_seek(struct logsrc_journal *lj, const char *cursor)
{
	int	r;

	if (cursor != NULL) {
		if ((r = sd_journal_seek_cursor(lj->j, cursor)) < 0) {
			log_warnx("log %s: saved journal cursor refused (%s): "
			    "reading from the end", lj->name, strerror(-r));
		} else if ((r = sd_journal_next(lj->j)) <= 0) {
			/* Nothing after it yet: the next entry is new. */
			return;
		} else if (sd_journal_test_cursor(lj->j, cursor) > 0) {
			/* The entry last read: go on after it. */
			lj->cursor = xstrdup(cursor);
			return;
		} else {
			log_info("log %s: the journal entry read last is gone "
			    "(vacuumed): reading from the oldest entry after "
			    "it", lj->name);
			lj->pending = 1;
			return;
		}
	}
	/* The last matching entry is the position: only newer ones are
	 * read.  With none yet, everything that comes will be new, and the
	 * head is where the journal looks for it. */
	if ((r = sd_journal_seek_tail(lj->j)) >= 0 &&
	    (r = sd_journal_previous(lj->j)) > 0)
		logsrc_journal_keep_cursor(lj);
	else if (r == 0)
		r = sd_journal_seek_head(lj->j);
	if (r < 0)
		logsrc_journal_warn(lj, "seek", r);
}

struct logsrc_journal *
logsrc_journal_open(struct loop *loop, const char *name, const char *unit,
    const char *matches, const char *dir, const char *cursor, size_t maxline,
    logsrc_journal_cb cb, void *arg, char **cause)
{
	struct logsrc_journal	*lj;
	int			 r;

	lj = xcalloc(1, sizeof(*lj));
	lj->loop = loop;
	lj->name = xstrdup(name);
	lj->fd = -1;
	lj->maxline = maxline;
	lj->cb = cb;
	lj->arg = arg;
	lj->errlimit.interval_us = 60 * CLOCK_US_PER_SEC;
	if (dir != NULL)
		r = sd_journal_open_directory(&lj->j, dir, 0);
	else
		r = sd_journal_open(&lj->j, SD_JOURNAL_LOCAL_ONLY |
		    SD_JOURNAL_SYSTEM);
	if (r < 0) {
		*cause = xasprintf("journal %s: %s", dir != NULL ? dir :
		    "(system)", strerror(-r));
		goto fail;
	}
	/* One more byte than a line may have: a longer field is seen to be
	 * too long without being decompressed whole. */
	(void)sd_journal_set_data_threshold(lj->j, sizeof("MESSAGE=") +
	    maxline);
	if (logsrc_journal_matches(lj, unit, matches, cause) == -1)
		goto fail;
	/* Before anything moves: the inotify watches are set up here. */
	lj->fd = sd_journal_get_fd(lj->j);
	logsrc_journal_seek(lj, cursor);
	if (lj->fd >= 0 && loop_fd_add(loop, lj->fd, LOOP_READ,
	    logsrc_journal_fd_cb, lj) == -1) {
		*cause = xasprintf("journal: loop: %s", strerror(errno));
		lj->fd = -1;
		goto fail;
	}
	/* The first read is deferred to the loop, as a tailer's. */
	if ((lj->timer = loop_timer_add(loop, 0, logsrc_journal_timer_cb,
	    lj)) == NULL) {
		*cause = xasprintf("journal: timer: %s", strerror(errno));
		goto fail;
	}
	return lj;
fail:
	logsrc_journal_close(lj);
	return NULL;
}

void
logsrc_journal_close(struct logsrc_journal *lj)
{
	if (lj == NULL)
		return;
	if (lj->fd >= 0)
		loop_fd_del(lj->loop, lj->fd);
	if (lj->timer != NULL)
		loop_timer_del(lj->loop, lj->timer);
	if (lj->more != NULL)
		loop_timer_del(lj->loop, lj->more);
	sd_journal_close(lj->j);
	free(lj->cursor);
	free(lj->name);
	free(lj);
}

const char *
logsrc_journal_cursor(const struct logsrc_journal *lj)
{
	return lj->cursor;
}

void
logsrc_journal_get_stats(const struct logsrc_journal *lj,
    struct logsrc_journal_stats *st)
{
	*st = lj->stats;
}
