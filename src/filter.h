/*
 * Filters: turn one XMPP server log line into at most one event.
 *
 * A filter is loaded from a filter file (format at the top of
 * filter_load.c) and owns its compiled regexes, its join table (address by
 * correlation key) and its dedup table (the lines of one auth attempt,
 * folded into one event).
 * Both tables are bounded and expire by the 'now' passed in, so a filter is
 * pure apart from that state: no clock read, no I/O after filter_load.
 */
#ifndef FILTER_H
#define FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "event.h"

#define FILTER_USER_MAX		256	/* user and host, NUL included */
#define FILTER_KEY_MAX		64	/* correlation key, NUL included */

/* filter_result.flags */
#define FILTER_R_TIME		0x01	/* time parsed from the line */
#define FILTER_R_JOINED		0x02	/* addr came from the join table */
#define FILTER_R_DUP		0x04	/* matched, but another line of an
					 * attempt already reported (fold), or
					 * a repeat (once_per): not an event */
#define FILTER_R_TRUNC		0x08	/* user, host or key was cut */
#define FILTER_R_FORGED		0x10	/* matched, but refused as forged
					 * (refuse, join = check): no event */

struct filter_result {
	enum event_kind	 kind;		/* the matched pattern's kind */
	int		 pattern;	/* index of the matching pattern */
	struct addr	 addr;		/* family 0: no address */
	uint16_t	 sport;		/* remote port from the line; 0 */
	int64_t		 time;		/* us since epoch; 'now' unless
					 * FILTER_R_TIME */
	char		 user[FILTER_USER_MAX];	/* "" if none */
	char		 host[FILTER_USER_MAX];	/* "" if none */
	char		 key[FILTER_KEY_MAX];	/* "" if none */
	uint32_t	 flags;		/* FILTER_R_* */
};

/* Counters of one pattern, for test-filter and status. */
struct filter_pattern_stats {
	const char	*name;		/* owned by the filter */
	enum event_kind	 kind;		/* EVENT_NONE: join bookkeeping only */
	uint64_t	 tried;		/* lines the regex ran on */
	uint64_t	 matched;
	uint64_t	 errors;	/* match limit, depth limit, ... */
	uint64_t	 dups;		/* matches folded (fold, once_per) */
	uint64_t	 forged;	/* matches refused as forged */
};

/* Counters of the whole filter. */
struct filter_stats {
	uint64_t	 lines;
	uint64_t	 prefiltered;	/* rejected by every prefilter */
	uint64_t	 matched;
	uint64_t	 errors;
	uint64_t	 join_hits;
	uint64_t	 join_misses;	/* join = get found no address */
	uint64_t	 join_evictions; /* live entries pushed out when full */
	uint64_t	 dedup_evictions;
	uint64_t	 forged;	/* lines refused as forged: refuse,
					 * join = check */
	uint64_t	 lookback_bytes; /* read again by join look-backs
					 * (test-filter) */
};

struct filter;

/*
 * Loads and compiles the filter file at path.  On error returns NULL and
 * sets *cause to every problem found, one "FILE:LINE: message" per line
 * (caller frees).
 */
struct filter	*filter_load(const char *path, char **cause);
/* As filter_load, from text in memory; name is used in messages. */
struct filter	*filter_load_buf(const char *name, const char *buf, size_t len,
		    char **cause);
void		 filter_free(struct filter *);

/*
 * The file of a filter named in the configuration or on the command line:
 * a path as given, or NAME.conf from the filter directories.  NULL with
 * *cause set if none exists.  The caller frees the result.
 */
char		*filter_path(const char *name, char **cause);

/* The name from the [filter] section. */
const char	*filter_name(const struct filter *);
/* The event a result reports, from a log named origin (the daemon's and
 * replay's one way; ev points into r, which must outlive it). */
void		 filter_event(const struct filter_result *r,
		    const char *origin, struct event *ev);

/*
 * Matches one line (no newline; may hold NUL bytes and invalid UTF-8) at
 * time now (us since epoch): the line's time when its text gives none,
 * and the reference for what its time stamp lacks (the year).  A reader
 * that knows when a line was written passes that (a journal entry's
 * __REALTIME_TIMESTAMP, a docker record's "time"), else the present.  Returns the event kind (> 0) and fills out;
 * 0 if nothing is to be reported (no match, a join-only line, or a repeat:
 * see out->flags); -1 if no pattern matched and at least one failed with a
 * match error (counted).  Never fatal.
 */
int		 filter_match(struct filter *, const char *line, size_t len,
		    int64_t now, struct filter_result *out);

/*
 * Tries only the patterns of one kind from now on, and those that keep
 * the join table (join = set or clear, run quietly), so the kind's events
 * come out as before while other lines cost nothing: test-filter --kind.
 * -1 (and no change) if no pattern has that kind.
 */
int		 filter_restrict(struct filter *, enum event_kind);

#define FILTER_SCAN_MAX		64	/* more literals: line by line */

/* An event found by filter_scan(): line is 0-based within the buffer. */
typedef void	(*filter_scan_cb)(uint64_t line, const char *text,
		    size_t len, const struct filter_result *, void *arg);

/*
 * Matches every line of buf (newline-separated; a last line without one
 * counts) as filter_match() would, but looks for the filter's literals in
 * the whole buffer at once, as grep does, so lines holding none are
 * counted without being visited one by one.  Calls cb for each event.
 * Returns the number of lines.
 */
uint64_t	 filter_scan(struct filter *, const char *buf, size_t len,
		    int64_t now, filter_scan_cb cb, void *arg);
/*
 * filter_scan() of a copy: buf holds the same bytes as at, which stays
 * mapped, and the look-backs of filter_set_lookback(), which reach before
 * buf, read there (test-filter reads a mapped file through a buffer).
 */
uint64_t	 filter_scan_at(struct filter *, const char *buf, size_t len,
		    const char *at, int64_t now, filter_scan_cb cb, void *arg);

/*
 * Sample lines from the file's "sample =" keys, in file order; *pattern
 * (if not NULL) gets the index of the [pattern] section the sample sits
 * in, which should match it, or -1 for one in [filter].  NULL past the end.
 */
size_t		 filter_nsamples(const struct filter *);
const char	*filter_sample(const struct filter *, size_t, int *pattern);

size_t		 filter_npatterns(const struct filter *);
const struct filter_pattern_stats *filter_pattern_stats(const struct filter *,
		    size_t);
const struct filter_stats *filter_stats(const struct filter *);
/* Zeroes every counter (test-filter: after a warm-up). */
void		 filter_stats_reset(struct filter *);
/* Adds src's counters to dst's; both loaded from the same file. */
void		 filter_stats_add(struct filter *dst, const struct filter *src);
/* dedup_window, in us: how long an attempt (fold) or a repeat (once_per)
 * lasts, so how far back one line's fate depends on earlier ones. */
int64_t		 filter_dedup_window(const struct filter *);
/* join_ttl, in us. */
int64_t		 filter_join_ttl(const struct filter *);
/*
 * For a reader that starts in the middle of a file held in memory
 * (test-filter's threads): a line before until (log time, us) whose join
 * finds nothing in the table looks back from itself towards from (a line
 * start join_ttl and a minute before the reader's start) for its join
 * line.  The walks read at most budget bytes in all and 64 KiB each;
 * past that, the join lines from from to the line are read once into a
 * new table, as a reader from there would have it, and the look-back
 * ends.  from NULL: off.
 */
void		 filter_set_lookback(struct filter *, const char *from,
		    int64_t until, size_t budget);
/*
 * For a reader that passes the pieces of one file held in memory from
 * start on to filter_scan_at() in order (test-filter): a restricted
 * filter's join look-backs then reach back past the piece into the file,
 * as the whole filter's table does, instead of stopping at its start.
 * They read it with pread(2) from fd if it is not -1 (the caller keeps
 * it open), else from the memory.
 */
void		 filter_set_file(struct filter *, const char *start, int fd);

#endif /* FILTER_H */
