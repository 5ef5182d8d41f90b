/*
 * Log time stamps: a strptime(3) format, compiled once, turned into
 * microseconds since the epoch for every matched line.
 */
#ifndef LOGTIME_H
#define LOGTIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define LOGTIME_OPS_MAX		32

struct logtime {
	char		*fmt;		/* strptime format up to %f */
	char		*fmt2;		/* after %f; NULL if none */
	int		 tz;		/* has %z: the line's offset wins */
	int		 tz_opt;	/* ends in %z: an offset the line may
					 * lack (then utc or local time) */
	int		 utc;		/* else local time */
	int		 has_year;	/* else the year comes from 'now' */
	char		 ops[LOGTIME_OPS_MAX];	/* fast path, see logtime.c */
	size_t		 nops;		/* 0: strptime only */
	int64_t		 hour_key;	/* cache: local hour -> epoch */
	time_t		 hour_base;
	int64_t		 today_key;	/* cache: hour of 'now' -> its date */
	struct tm	 today;
	char		 last[48];	/* cache: the last text parsed, up to
					 * its fraction, and its seconds */
	size_t		 lastlen;	/* 0: none */
	int64_t		 last_key;	/* the hour of 'now' it was read at */
	time_t		 last_t;
	long		 last_off;	/* its offset (tz_opt), in seconds */
	int		 last_has_off;
};

/*
 * Compiles fmt (strptime(3), plus %f for optional fractional seconds, and
 * a closing %z for an optional offset) in UTC or local time.  Returns -1 and sets *cause (caller frees) if the
 * format cannot work.
 */
int		 logtime_init(struct logtime *, const char *fmt, int utc,
		     char **cause);
void		 logtime_clear(struct logtime *);

/*
 * The time in s[0..n) in us since the epoch, or -1 if it does not parse.
 * Fields the format lacks come from now (us), see logtime.c.
 */
int64_t		 logtime_parse(struct logtime *, const char *s, size_t n,
		     int64_t now);

#endif /* LOGTIME_H */
