/*
 * Container logs written by docker's json-file driver: one JSON object
 * per line, {"log":"the line\n","stream":"stdout","time":"RFC 3339"}.
 */
#ifndef LOGSRC_DOCKER_H
#define LOGSRC_DOCKER_H

#include <stddef.h>
#include <stdint.h>

struct logsrc_docker;

/* What logsrc_docker_decode() made of a record. */
enum logsrc_docker_rc {
	LOGSRC_DOCKER_LINE,	/* a whole line: *line, *len, *time */
	LOGSRC_DOCKER_PARTIAL,	/* nothing yet: a piece of a long line held,
				 * or one of a line being skipped */
	LOGSRC_DOCKER_BAD,	/* not a record: no JSON, no "log" string */
	LOGSRC_DOCKER_TOOLONG	/* a line over maxline, skipped */
};

/* A decoder for lines of at most maxline bytes.  Free with _free. */
struct logsrc_docker *logsrc_docker_new(size_t maxline);
/* NULL is a no-op. */
void		 logsrc_docker_free(struct logsrc_docker *);

/*
 * Decodes one record (a line of the file, without its newline; any bytes).
 * For LOGSRC_DOCKER_LINE, *line and *len are the container's line without
 * its newline (it may hold NUL bytes: use len), valid until the next call,
 * and *time its "time" in us since the epoch, or -1 if it has none that
 * parses.  The driver cuts lines over 16 kB into records without a
 * newline: they are joined here, up to maxline.
 */
enum logsrc_docker_rc logsrc_docker_decode(struct logsrc_docker *,
		    const char *rec, size_t reclen, const char **line,
		    size_t *len, int64_t *time);

/* The longest record worth reading for lines of maxline bytes (JSON may
 * escape a byte into six). */
size_t		 logsrc_docker_record_max(size_t maxline);

/* An RFC 3339 time ("2024-03-05T12:34:56.123456789Z", or an offset such
 * as +01:00) in us since the epoch; -1 if s[0..n) is not one. */
int64_t		 logsrc_docker_time(const char *s, size_t n);

#endif /* LOGSRC_DOCKER_H */
