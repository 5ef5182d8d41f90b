/*
 * Docker's json-file logs: each line of the file is one JSON object, the
 * container's line in "log" (with its newline), "stream" (stdout or
 * stderr) and "time" (RFC 3339, nanoseconds, UTC).  The file itself is
 * followed by the tailer like any log (rotation: docker renames it to
 * NAME.1 and starts a new one); this decodes the records it reads.
 *
 * Decoding is jansson's, with \u0000 allowed: "log" is a length and bytes
 * that may hold NUL, never read as a C string.  The driver writes a line
 * longer than 16 kB as several records, only the last ending in a
 * newline; the pieces are joined in buf, at most maxline bytes, and a
 * longer line is counted once and its remaining pieces skipped, as the
 * tailer skips a long line.  A record that is not an object with a "log"
 * string is malformed: the caller counts and skips it, nothing is fatal.
 *
 * Invariants: len <= maxline; skipping implies len == 0.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "logsrc_docker.h"
#include "xmalloc.h"

struct logsrc_docker {
	size_t		 maxline;
	char		*buf;		/* the line being joined */
	size_t		 len;
	int64_t		 time;		/* of its first piece */
	int		 skipping;	/* inside an over-long line */
};

struct logsrc_docker *
logsrc_docker_new(size_t maxline)
{
	struct logsrc_docker	*d;

	d = xcalloc(1, sizeof(*d));
	d->maxline = maxline;
	d->buf = xmalloc(maxline > 0 ? maxline : 1);
	return d;
}

void
logsrc_docker_free(struct logsrc_docker *d)
{
	if (d == NULL)
		return;
	free(d->buf);
	free(d);
}

size_t
logsrc_docker_record_max(size_t maxline)
{
	return maxline * 6 + 256;
}

/* n decimal digits at s into *v; 0, or -1 if one is not a digit. */
static int
logsrc_docker_digits(const char *s, size_t n, int *v)
{
	size_t	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int64_t
logsrc_docker_time(const char *s, size_t n)
{
	struct tm	tm;
	time_t		t;
	int		v[6], usec = 0, scale = 100000, oh, om, sign;
	size_t		i;

	/* YYYY-MM-DDTHH:MM:SS */
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' &&
	    s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
	    logsrc_docker_digits(s, 4, &v[0]) == -1 ||
	    logsrc_docker_digits(s + 5, 2, &v[1]) == -1 ||
	    logsrc_docker_digits(s + 8, 2, &v[2]) == -1 ||
	    logsrc_docker_digits(s + 11, 2, &v[3]) == -1 ||
	    logsrc_docker_digits(s + 14, 2, &v[4]) == -1 ||
	    logsrc_docker_digits(s + 17, 2, &v[5]) == -1)
		return -1;
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	i = 19;
	if (s[i] == '.') {
		/* Nanoseconds, of which us are kept. */
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			usec += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (s[i - 1] == '.')
			return -1;
	}
	sign = 0;
	oh = om = 0;
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
		;
	else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
	    s[i + 3] == ':' && logsrc_docker_digits(s + i + 1, 2, &oh) == 0 &&
	    logsrc_docker_digits(s + i + 4, 2, &om) == 0 && oh < 24 &&
	    om < 60)
		sign = s[i] == '+' ? 1 : -1;
	else
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	t -= sign * (oh * 3600 + om * 60);
	return (int64_t)t * CLOCK_US_PER_SEC + usec;
}

enum logsrc_docker_rc
logsrc_docker_decode(struct logsrc_docker *d, const char *rec, size_t reclen,
    const char **line, size_t *len, int64_t *time)
{
	json_t			*root, *log, *tv;
	json_error_t		 err;
	enum logsrc_docker_rc	 rc;
	const char		*s;
	size_t			 n;
	int64_t			 t = -1;
	int			 whole;

	root = json_loadb(rec, reclen, JSON_ALLOW_NUL, &err);
	if (root == NULL || !json_is_object(root) ||
	    (log = json_object_get(root, "log")) == NULL ||
	    !json_is_string(log)) {
		json_decref(root);
		return LOGSRC_DOCKER_BAD;
	}
	s = json_string_value(log);
	n = json_string_length(log);
	if ((tv = json_object_get(root, "time")) != NULL && json_is_string(tv))
		t = logsrc_docker_time(json_string_value(tv),
		    json_string_length(tv));
	whole = n > 0 && s[n - 1] == '\n';
	if (whole)
		n--;
	if (d->skipping) {
		d->skipping = !whole;
		rc = LOGSRC_DOCKER_PARTIAL;
	} else if (n > d->maxline - d->len) {
		d->len = 0;
		d->skipping = !whole;
		rc = LOGSRC_DOCKER_TOOLONG;
	} else {
		if (d->len == 0)
			d->time = t;
		memcpy(d->buf + d->len, s, n);
		d->len += n;
		rc = LOGSRC_DOCKER_PARTIAL;
		if (whole) {
			*line = d->buf;
			*len = d->len;
			*time = d->time;
			d->len = 0;
			rc = LOGSRC_DOCKER_LINE;
		}
	}
	json_decref(root);
	return rc;
}
