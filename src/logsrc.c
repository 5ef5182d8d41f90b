/*
 * The log source.
 *
 * One logsrc_file per [log NAME] section: a filter (filter.c) and a
 * tailer (tail.c) on the loop.  Each whole line the tailer hands over goes
 * through the filter; a line that gives an event becomes a struct event
 * (source log, origin the section's name) and goes to the callback, the
 * pipeline, at once.  Nothing is queued here, so memory does not depend
 * on how fast a log grows.
 *
 * Time.  An event takes the time written in its line, so a backlog read
 * after a restart lands in the right windows; a time in the future (a
 * clock or time zone mismatch between the server and us) is clamped to
 * the present, since nothing may count ahead of now.  A line whose time
 * does not parse takes the arrival time.
 *
 * Positions.  The tailer knows how far it has consumed each file (device,
 * inode, offset, a hash of its first bytes under the store's secret key:
 * never the bytes, which need not be the server's to write about).  logsrc_flush() writes the positions that
 * moved into the store's open transaction just before it commits, so the
 * events and the position that follows them are saved together: after a
 * crash a restart neither loses a line nor reads one twice.  At start a
 * saved position resumes its file; a file without one is read from its
 * end, so the first start does not judge months of old log.
 *
 * Journal and containers.  A section with journal = UNIT reads the
 * systemd journal instead (logsrc_journal.c): each entry's MESSAGE is a
 * line, the entry's own time the line's time when the text has none, and
 * the journal's cursor is saved as a file's position is, at the same
 * moments (table journal_cursors).  A file with format = docker-json is
 * tailed as any other, each line a JSON record of docker's json-file
 * driver (logsrc_docker.c) whose "log" goes to the filter with its
 * "time"; a record that does not decode is counted (malformed) and
 * skipped.
 *
 * A filter's join and dedup tables live as long as its logsrc_file; a
 * reload that changes the [log] sections starts them afresh (the caller
 * stops and starts the source), one that does not keeps them.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "event.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "logsrc.h"
#include "logsrc_docker.h"
#include "logsrc_journal.h"
#include "loop.h"
#include "siphash.h"
#include "status.h"
#include "store.h"
#include "tail.h"
#include "xmalloc.h"

struct logsrc_file {
	struct logsrc	*ls;
	char		*name;		/* [log NAME] */
	char		*path;		/* NULL: a journal */
	int		 found;		/* logs = auto found it */
	char		*filter_path;
	struct filter	*filter;
	struct tail	*tail;		/* a file's, else NULL */
	struct tail_pos	 saved;		/* as last written to the store */
	int		 have_saved;
	struct logsrc_docker *docker;	/* format = docker-json, else NULL */
	struct logsrc_journal *journal;	/* a journal's, else NULL */
	char		*unit;		/* the journal's unit */
	char		*source;	/* unit, matches, dir: the store's key */
	char		*cursor;	/* as last written to the store */
	uint64_t	 events;
	uint64_t	 kinds[EVENT_KIND_MAX];
	uint64_t	 future;	/* times clamped to now */
	uint64_t	 malformed;	/* docker records that did not decode */
	uint64_t	 toolong;	/* docker lines over max_line */
	struct log_ratelimit errs_rl;
	struct log_ratelimit bad_rl;
};

struct logsrc {
	struct store		*store;
	event_cb		 cb;
	void			*arg;
	struct logsrc_file	*files;
	size_t			 nfiles;
};

/*
 * One line of a log: its time (us) where the line gives none is t, or the
 * present if t < 0.
 */
static void
logsrc_feed(struct logsrc_file *lf, const char *line, size_t len, int64_t t)
{
	struct filter_result	 r;
	struct event		 ev;
	int64_t			 now = clock_realtime();
	int			 rc;

	rc = filter_match(lf->filter, line, len, t >= 0 ? t : now, &r);
	if (rc == -1) {
		if (log_ratelimit_ok(&lf->errs_rl, now))
			log_warnx("log %s: a line hit the filter's match "
			    "limits (counted; see xmppguard status)",
			    lf->name);
		return;
	}
	if (rc <= 0)
		return;
	filter_event(&r, lf->name, &ev);
	if (ev.time > now) {
		ev.time = now;
		lf->future++;
	}
	lf->events++;
	lf->kinds[r.kind]++;
	lf->ls->cb(&ev, lf->ls->arg);
}

static void
logsrc_line_cb(const char *line, size_t len, void *arg)
{
	logsrc_feed(arg, line, len, -1);
}

/* A line of a docker-json file: a record to decode first. */
static void
logsrc_docker_cb(const char *rec, size_t reclen, void *arg)
{
	struct logsrc_file	*lf = arg;
	const char		*line;
	size_t			 len;
	int64_t			 t;

	switch (logsrc_docker_decode(lf->docker, rec, reclen, &line, &len,
	    &t)) {
	case LOGSRC_DOCKER_LINE:
		logsrc_feed(lf, line, len, t);
		break;
	case LOGSRC_DOCKER_BAD:
		lf->malformed++;
		if (log_ratelimit_ok(&lf->bad_rl, clock_realtime()))
			log_warnx("log %s: a line is not a docker json-file "
			    "record (counted and skipped; see xmppguard "
			    "status)", lf->name);
		break;
	case LOGSRC_DOCKER_TOOLONG:
		lf->toolong++;
		break;
	case LOGSRC_DOCKER_PARTIAL:
		break;
	}
}

static void
logsrc_journal_line_cb(const char *msg, size_t len, int64_t t, void *arg)
{
	logsrc_feed(arg, msg, len, t);
}

static int
logsrc_load(const struct conf_log *cl, char **path, struct filter **f,
    char **cause)
{
	char	*why;

	if ((*path = filter_path(cl->filter, &why)) == NULL ||
	    (*f = filter_load(*path, &why)) == NULL) {
		*cause = xasprintf("log %s: %s", cl->name, why);
		free(why);
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

int
logsrc_check(const struct conf *conf, char **cause)
{
	struct filter	*f;
	char		*path;
	int		 i;

	for (i = 0; i < conf->nlogs; i++) {
		if (logsrc_load(&conf->logs[i], &path, &f, cause) == -1)
			return -1;
		filter_free(f);
		free(path);
	}
	return 0;
}

/* Follows the file of cl from its saved position; 0, or -1 and *cause. */
static int
logsrc_start_file(struct logsrc_file *lf, struct loop *loop,
    const struct conf_log *cl, const struct siphash_key *key, char **cause)
{
	char	text[TAIL_POS_STRLEN], *why;
	size_t	maxline = (size_t)cl->max_line;

	lf->path = xstrdup(cl->path);
	lf->found = cl->found;
	if (lf->ls->store != NULL && store_logpos_get(lf->ls->store, lf->name,
	    lf->path, text, sizeof(text)) == 0) {
		if (tail_pos_parse(text, &lf->saved) == 0)
			lf->have_saved = 1;
		else
			log_warnx("log %s: saved position unreadable, "
			    "reading from the end", lf->name);
		if (lf->have_saved && lf->saved.headlen == 0 &&
		    lf->saved.offset > 0)
			log_info("log %s: the saved position has no "
			    "hash of the file's start (its bytes were "
			    "dropped when the store was upgraded): "
			    "resuming by inode alone", lf->name);
	}
	if (cl->format == CONF_LOG_DOCKER_JSON) {
		lf->docker = logsrc_docker_new(maxline);
		maxline = logsrc_docker_record_max(maxline);
	}
	lf->tail = tail_open(loop, lf->path, lf->have_saved ? &lf->saved :
	    NULL, key, maxline, lf->docker != NULL ? logsrc_docker_cb :
	    logsrc_line_cb, lf, &why);
	if (lf->tail == NULL) {
		*cause = xasprintf("log %s: %s", lf->name, why);
		free(why);
		return -1;
	}
	log_info("log %s: following %s%s with filter %s (%s)%s", lf->name,
	    lf->path, lf->docker != NULL ? " (docker-json)" : "",
	    filter_name(lf->filter), lf->filter_path, lf->have_saved ?
	    ", from the saved position" : "");
	return 0;
}

/* Reads the journal as cl says, after its saved cursor; 0, or -1. */
static int
logsrc_start_journal(struct logsrc_file *lf, struct loop *loop,
    const struct conf_log *cl, char **cause)
{
	char	cursor[LOGSRC_JOURNAL_CURSOR_MAX], *why;
	int	have = 0;

	lf->unit = logsrc_journal_unit(cl->journal);
	lf->source = xasprintf("unit=%s match=%s dir=%s", lf->unit,
	    cl->journal_match != NULL ? cl->journal_match : "",
	    cl->journal_dir != NULL ? cl->journal_dir : "");
	if (lf->ls->store != NULL && store_journal_get(lf->ls->store,
	    lf->name, lf->source, cursor, sizeof(cursor)) == 0) {
		have = 1;
		lf->cursor = xstrdup(cursor);
	}
	lf->journal = logsrc_journal_open(loop, lf->name, cl->journal,
	    cl->journal_match, cl->journal_dir, have ? cursor : NULL,
	    (size_t)cl->max_line, logsrc_journal_line_cb, lf, &why);
	if (lf->journal == NULL) {
		*cause = xasprintf("log %s: %s", lf->name, why);
		free(why);
		return -1;
	}
	log_info("log %s: following the journal of %s%s%s%s with filter %s "
	    "(%s)%s", lf->name, lf->unit, cl->journal_match != NULL ? ", " :
	    "", cl->journal_match != NULL ? cl->journal_match : "",
	    cl->journal_dir != NULL ? " in the files of the directory" : "",
	    filter_name(lf->filter), lf->filter_path, have ?
	    ", from the saved cursor" : "");
	return 0;
}

struct logsrc *
logsrc_start(struct loop *loop, const struct conf *conf, struct store *store,
    event_cb cb, void *arg, char **cause)
{
	struct logsrc		*ls;
	struct logsrc_file	*lf;
	struct siphash_key	 key;
	int			 i;

	/* Without the store's key no saved hash can match: each file would
	 * be read again from its start. */
	if (store == NULL || store_logpos_key(store, &key) == -1)
		siphash_key_random(&key);
	ls = xcalloc(1, sizeof(*ls));
	ls->store = store;
	ls->cb = cb;
	ls->arg = arg;
	ls->files = xcalloc((size_t)conf->nlogs + 1, sizeof(*ls->files));
	for (i = 0; i < conf->nlogs; i++) {
		lf = &ls->files[ls->nfiles];
		lf->ls = ls;
		lf->name = xstrdup(conf->logs[i].name);
		lf->errs_rl.interval_us = 60 * CLOCK_US_PER_SEC;
		lf->bad_rl.interval_us = 60 * CLOCK_US_PER_SEC;
		ls->nfiles++;
		if (logsrc_load(&conf->logs[i], &lf->filter_path, &lf->filter,
		    cause) == -1)
			goto fail;
		if (conf->logs[i].journal != NULL ?
		    logsrc_start_journal(lf, loop, &conf->logs[i], cause) :
		    logsrc_start_file(lf, loop, &conf->logs[i], &key, cause))
			goto fail;
	}
	return ls;
fail:
	logsrc_stop(ls);
	return NULL;
}

void
logsrc_stop(struct logsrc *ls)
{
	size_t	i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->nfiles; i++) {
		tail_close(ls->files[i].tail);
		logsrc_journal_close(ls->files[i].journal);
		logsrc_docker_free(ls->files[i].docker);
		filter_free(ls->files[i].filter);
		free(ls->files[i].name);
		free(ls->files[i].path);
		free(ls->files[i].filter_path);
		free(ls->files[i].unit);
		free(ls->files[i].source);
		free(ls->files[i].cursor);
	}
	free(ls->files);
	free(ls);
}

/* A journal's cursor, if it moved. */
static void
logsrc_flush_journal(struct logsrc_file *lf, int64_t now)
{
	const char	*c = logsrc_journal_cursor(lf->journal);

	if (c == NULL || (lf->cursor != NULL && strcmp(c, lf->cursor) == 0))
		return;
	if (store_journal_set(lf->ls->store, lf->name, lf->source, c,
	    now) == 0) {
		free(lf->cursor);
		lf->cursor = xstrdup(c);
	}
}

void
logsrc_flush(struct logsrc *ls, int64_t now)
{
	struct logsrc_file	*lf;
	struct tail_pos		 pos;
	char			 text[TAIL_POS_STRLEN];
	size_t			 i;

	if (ls == NULL || ls->store == NULL)
		return;
	for (i = 0; i < ls->nfiles; i++) {
		lf = &ls->files[i];
		if (lf->journal != NULL)
			logsrc_flush_journal(lf, now);
		if (lf->tail == NULL)
			continue;
		tail_get_pos(lf->tail, &pos);
		if (lf->have_saved && pos.dev == lf->saved.dev &&
		    pos.ino == lf->saved.ino &&
		    pos.offset == lf->saved.offset)
			continue;
		if (pos.ino == 0)	/* no file open yet */
			continue;
		tail_pos_format(&pos, text, sizeof(text));
		if (store_logpos_set(ls->store, lf->name, lf->path, text,
		    now) == 0) {
			lf->saved = pos;
			lf->have_saved = 1;
		}
	}
}

/*
 * Status: one item per followed log, its reader's and its filter's
 * counters together.
 */
struct logsrc_status {
	const char	*name;
	const char	*path;
	const char	*journal;
	int		 found;
	const char	*filter;
	struct tail_stats t;
	struct filter_stats f;
	uint64_t	 events;
	uint64_t	 future;
	uint64_t	 malformed;
	uint64_t	 kinds[EVENT_KIND_MAX];
};

static size_t
logsrc_status_count(const void *obj)
{
	const struct logsrc	*ls = obj;

	return ls != NULL ? ls->nfiles : 0;
}

static void
logsrc_status_get(const void *obj, size_t i, void *snap)
{
	const struct logsrc		*ls = obj;
	const struct logsrc_file	*lf = &ls->files[i];
	struct logsrc_status		*s = snap;
	struct logsrc_journal_stats	 js;

	memset(s, 0, sizeof(*s));
	s->name = lf->name;
	s->path = lf->path;
	s->journal = lf->unit;
	s->found = lf->found;
	s->filter = filter_name(lf->filter);
	if (lf->tail != NULL)
		tail_get_stats(lf->tail, &s->t);
	if (lf->journal != NULL) {
		logsrc_journal_get_stats(lf->journal, &js);
		s->t.lines = js.lines;
		s->t.bytes = js.bytes;
		s->t.toolong = js.toolong;
		s->t.reopen_errors = js.errors;
	}
	s->t.toolong += lf->toolong;
	s->malformed = lf->malformed;
	s->f = *filter_stats(lf->filter);
	s->events = lf->events;
	s->future = lf->future;
	memcpy(s->kinds, lf->kinds, sizeof(s->kinds));
}

#define LS(f)	offsetof(struct logsrc_status, f)
static const struct status_field logsrc_status_fields[] = {
	{ .name = "name", .type = STATUS_STR, .off = LS(name) },
	{ .name = "path", .type = STATUS_STR, .off = LS(path),
	  .text = "%" },
	{ .name = "journal", .type = STATUS_STR, .off = LS(journal),
	  .text = "journal %" },
	{ .name = "auto", .type = STATUS_BOOL, .off = LS(found) },
	{ .name = "filter", .type = STATUS_STR, .off = LS(filter),
	  .text = "filter %" },
	{ .name = "lines", .type = STATUS_U64, .off = LS(t.lines),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_lines_total",
	  .help = "Lines read from a followed log.", .text = "% lines" },
	{ .name = "bytes", .type = STATUS_U64, .off = LS(t.bytes),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_bytes_total",
	  .help = "Bytes read from a followed log." },
	{ .name = "matched", .type = STATUS_U64, .off = LS(f.matched) },
	{ .name = "events", .type = STATUS_U64, .off = LS(events),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_events_total",
	  .help = "Events a log's filter found.", .text = "% events" },
	{ .name = "toolong", .type = STATUS_U64, .off = LS(t.toolong),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_skipped_lines_total",
	  .help = "Lines skipped: longer than max_line, or the filter's "
	  "match limits were hit.", .label = "reason", .value = "too_long",
	  .text = "% too long" },
	{ .name = "match_errors", .type = STATUS_U64, .off = LS(f.errors),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_skipped_lines_total",
	  .help = "", .label = "reason", .value = "match_error",
	  .text = "% match errors" },
	{ .name = "forged", .type = STATUS_U64, .off = LS(f.forged),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_skipped_lines_total",
	  .help = "", .label = "reason", .value = "forged" },
	{ .name = "malformed", .type = STATUS_U64, .off = LS(malformed),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_skipped_lines_total",
	  .help = "", .label = "reason", .value = "malformed" },

	{ .name = "rotations", .type = STATUS_U64, .off = LS(t.rotations),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_rotations_total",
	  .help = "Rotations and truncations followed.", .label = "how",
	  .value = "rotation", .text = "% rotations" },
	{ .name = "truncations", .type = STATUS_U64, .off = LS(t.truncations),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_rotations_total",
	  .help = "", .label = "how", .value = "truncation" },
	{ .name = "lost_truncated", .type = STATUS_U64,
	  .off = LS(t.lost_truncated), .kind = STATUS_COUNTER,
	  .metric = "xmppguard_log_lost_bytes_total",
	  .help = "Bytes of a log that could not be read: truncated in place "
	  "before they were read (copytruncate), or in a rotated file "
	  "compressed before it was read.", .label = "how",
	  .value = "copytruncate" },
	{ .name = "lost_compressed", .type = STATUS_U64,
	  .off = LS(t.lost_compressed), .kind = STATUS_COUNTER,
	  .metric = "xmppguard_log_lost_bytes_total", .help = "",
	  .label = "how", .value = "compressed" },
	{ .name = "reopen_errors", .type = STATUS_U64,
	  .off = LS(t.reopen_errors), .kind = STATUS_COUNTER,
	  .metric = "xmppguard_log_reopen_errors_total",
	  .help = "Times a log could not be opened or read (retried)." },
	{ .name = "refused", .type = STATUS_U64, .off = LS(t.refused),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_log_refused_total",
	  .help = "Files at a log's name refused unread: a symbolic link, "
	  "a file with other hard links, or one owned by neither root nor "
	  "the directory's owner." },
	{ .name = "join_misses", .type = STATUS_U64, .off = LS(f.join_misses) },
	{ .name = "future_times", .type = STATUS_U64, .off = LS(future) },
	{ .name = "kinds", .type = STATUS_U64, .off = LS(kinds),
	  .n = EVENT_KIND_MAX, .by = "kind", .by_name = event_kind_label },
	{ .name = NULL }
};
#undef LS

const struct status_group logsrc_status_group = {
	.name = "logs",
	.text = "log",
	.fields = logsrc_status_fields,
	.size = sizeof(struct logsrc_status),
	.get = logsrc_status_get,
	.count = logsrc_status_count,
	.item = "log",
};
