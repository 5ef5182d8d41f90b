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
 * inode, offset, first bytes).  logsrc_flush() writes the positions that
 * moved into the store's open transaction just before it commits, so the
 * events and the position that follows them are saved together: after a
 * crash a restart neither loses a line nor reads one twice.  At start a
 * saved position resumes its file; a file without one is read from its
 * end, so the first start does not judge months of old log.
 *
 * A filter's join and dedup tables live as long as its logsrc_file; a
 * reload that changes the [log] sections starts them afresh (the caller
 * stops and starts the source), one that does not keeps them.
 */
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
#include "loop.h"
#include "metrics.h"
#include "store.h"
#include "tail.h"
#include "xmalloc.h"

struct logsrc_file {
	struct logsrc	*ls;
	char		*name;		/* [log NAME] */
	char		*path;
	char		*filter_path;
	struct filter	*filter;
	struct tail	*tail;
	struct tail_pos	 saved;		/* as last written to the store */
	int		 have_saved;
	uint64_t	 events;
	uint64_t	 kinds[EVENT_KIND_MAX];
	uint64_t	 future;	/* times clamped to now */
	struct log_ratelimit errs_rl;
};

struct logsrc {
	struct store		*store;
	logsrc_event_cb		 cb;
	void			*arg;
	struct logsrc_file	*files;
	size_t			 nfiles;
};

static void
logsrc_line_cb(const char *line, size_t len, void *arg)
{
	struct logsrc_file	*lf = arg;
	struct filter_result	 r;
	struct event		 ev;
	int64_t			 now = clock_realtime();
	int			 rc;

	rc = filter_match(lf->filter, line, len, now, &r);
	if (rc == -1) {
		if (log_ratelimit_ok(&lf->errs_rl, now))
			log_warnx("log %s: a line hit the filter's match "
			    "limits (counted; see xmppguard status)",
			    lf->name);
		return;
	}
	if (rc <= 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.time = r.time;
	if (ev.time > now) {
		ev.time = now;
		lf->future++;
	}
	ev.addr = r.addr;
	ev.sport = r.sport;
	ev.kind = r.kind;
	ev.source = EVENT_SRC_LOG;
	ev.origin = lf->name;
	ev.user = r.user[0] != '\0' ? r.user : NULL;
	lf->events++;
	lf->kinds[r.kind]++;
	lf->ls->cb(&ev, lf->ls->arg);
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

struct logsrc *
logsrc_start(struct loop *loop, const struct conf *conf, struct store *store,
    logsrc_event_cb cb, void *arg, char **cause)
{
	struct logsrc		*ls;
	struct logsrc_file	*lf;
	char			 text[TAIL_POS_STRLEN], *why;
	int			 i;

	ls = xcalloc(1, sizeof(*ls));
	ls->store = store;
	ls->cb = cb;
	ls->arg = arg;
	ls->files = xcalloc((size_t)conf->nlogs + 1, sizeof(*ls->files));
	for (i = 0; i < conf->nlogs; i++) {
		lf = &ls->files[ls->nfiles];
		lf->ls = ls;
		lf->name = xstrdup(conf->logs[i].name);
		lf->path = xstrdup(conf->logs[i].path);
		lf->errs_rl.interval_us = 60 * CLOCK_US_PER_SEC;
		ls->nfiles++;
		if (logsrc_load(&conf->logs[i], &lf->filter_path, &lf->filter,
		    cause) == -1)
			goto fail;
		if (store != NULL && store_logpos_get(store, lf->name,
		    lf->path, text, sizeof(text)) == 0) {
			if (tail_pos_parse(text, &lf->saved) == 0)
				lf->have_saved = 1;
			else
				log_warnx("log %s: saved position unreadable, "
				    "reading from the end", lf->name);
		}
		lf->tail = tail_open(loop, lf->path, lf->have_saved ?
		    &lf->saved : NULL, (size_t)conf->logs[i].max_line,
		    logsrc_line_cb, lf, &why);
		if (lf->tail == NULL) {
			*cause = xasprintf("log %s: %s", lf->name, why);
			free(why);
			goto fail;
		}
		log_info("log %s: following %s with filter %s (%s)%s",
		    lf->name, lf->path, filter_name(lf->filter),
		    lf->filter_path, lf->have_saved ?
		    ", from the saved position" : "");
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
		filter_free(ls->files[i].filter);
		free(ls->files[i].name);
		free(ls->files[i].path);
		free(ls->files[i].filter_path);
	}
	free(ls->files);
	free(ls);
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

void
logsrc_status_json(const struct logsrc *ls, FILE *out)
{
	const struct logsrc_file	*lf;
	const struct filter_stats	*fs;
	struct tail_stats		 ts;
	size_t				 i;

	fputc('[', out);
	for (i = 0; ls != NULL && i < ls->nfiles; i++) {
		lf = &ls->files[i];
		fs = filter_stats(lf->filter);
		tail_get_stats(lf->tail, &ts);
		fprintf(out, "%s{\"name\":", i == 0 ? "" : ",");
		json_string(out, lf->name);
		fputs(",\"path\":", out);
		json_string(out, lf->path);
		fputs(",\"filter\":", out);
		json_string(out, filter_name(lf->filter));
		fprintf(out, ",\"lines\":%llu,\"bytes\":%llu,\"matched\":%llu,"
		    "\"events\":%llu,\"toolong\":%llu,\"match_errors\":%llu,"
		    "\"rotations\":%llu,\"truncations\":%llu,"
		    "\"reopen_errors\":%llu,\"join_misses\":%llu,"
		    "\"future_times\":%llu,\"kinds\":",
		    (unsigned long long)ts.lines, (unsigned long long)ts.bytes,
		    (unsigned long long)fs->matched,
		    (unsigned long long)lf->events,
		    (unsigned long long)ts.toolong,
		    (unsigned long long)fs->errors,
		    (unsigned long long)ts.rotations,
		    (unsigned long long)ts.truncations,
		    (unsigned long long)ts.reopen_errors,
		    (unsigned long long)fs->join_misses,
		    (unsigned long long)lf->future);
		event_counts_json(out, lf->kinds);
		fputc('}', out);
	}
	fputc(']', out);
}

/* The per-log counters the metrics export. */
enum logsrc_counter {
	LOGSRC_M_LINES,
	LOGSRC_M_BYTES,
	LOGSRC_M_EVENTS,
	LOGSRC_M_TOOLONG,
	LOGSRC_M_ERRORS,
	LOGSRC_M_ROTATIONS,
	LOGSRC_M_REOPEN
};

static uint64_t
logsrc_counter(const struct logsrc_file *lf, enum logsrc_counter c)
{
	struct tail_stats	ts;

	tail_get_stats(lf->tail, &ts);
	switch (c) {
	case LOGSRC_M_LINES:
		return ts.lines;
	case LOGSRC_M_BYTES:
		return ts.bytes;
	case LOGSRC_M_EVENTS:
		return lf->events;
	case LOGSRC_M_TOOLONG:
		return ts.toolong;
	case LOGSRC_M_ERRORS:
		return filter_stats(lf->filter)->errors;
	case LOGSRC_M_ROTATIONS:
		return ts.rotations + ts.truncations;
	case LOGSRC_M_REOPEN:
		return ts.reopen_errors;
	}
	return 0;
}

void
logsrc_metrics(const struct logsrc *ls, struct metrics *m)
{
	static const struct {
		const char		*name;
		const char		*help;
		const char		*reason;	/* NULL: no label */
		enum logsrc_counter	 c;
	} fam[] = {
		{ "xmppguard_log_lines_total", "Lines read from a followed "
		    "log.", NULL, LOGSRC_M_LINES },
		{ "xmppguard_log_bytes_total", "Bytes read from a followed "
		    "log.", NULL, LOGSRC_M_BYTES },
		{ "xmppguard_log_events_total", "Events a log's filter "
		    "found.", NULL, LOGSRC_M_EVENTS },
		{ "xmppguard_log_skipped_lines_total", "Lines skipped: "
		    "longer than max_line, or the filter's match limits were "
		    "hit.", "too_long", LOGSRC_M_TOOLONG },
		{ "xmppguard_log_skipped_lines_total", "", "match_error",
		    LOGSRC_M_ERRORS },
		{ "xmppguard_log_rotations_total", "Rotations and truncations "
		    "followed.", NULL, LOGSRC_M_ROTATIONS },
		{ "xmppguard_log_reopen_errors_total", "Times a log could not "
		    "be opened or read (retried).", NULL, LOGSRC_M_REOPEN },
	};
	size_t	 f, i;

	/* One family after the other, every log in each. */
	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++)
		for (i = 0; ls != NULL && i < ls->nfiles; i++)
			metrics_sample(m, METRICS_COUNTER, fam[f].name,
			    fam[f].help, "log", ls->files[i].name,
			    fam[f].reason != NULL ? "reason" : NULL,
			    fam[f].reason, (double)logsrc_counter(
			    &ls->files[i], fam[f].c));
}

void
logsrc_status_text(const struct logsrc *ls, FILE *out)
{
	const struct logsrc_file	*lf;
	const struct filter_stats	*fs;
	struct tail_stats		 ts;
	size_t				 i;

	for (i = 0; ls != NULL && i < ls->nfiles; i++) {
		lf = &ls->files[i];
		fs = filter_stats(lf->filter);
		tail_get_stats(lf->tail, &ts);
		fprintf(out, "log %-12s %llu lines, %llu events, %llu too "
		    "long, %llu match errors, %llu rotations (%s, filter %s)\n",
		    lf->name, (unsigned long long)ts.lines,
		    (unsigned long long)lf->events,
		    (unsigned long long)ts.toolong,
		    (unsigned long long)fs->errors,
		    (unsigned long long)ts.rotations, lf->path,
		    filter_name(lf->filter));
	}
}
