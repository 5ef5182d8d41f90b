/*
 * test-filter: runs one filter over one log file, offline, the way the
 * daemon would, and says what it found (fail2ban-regex's job).
 *
 * A regular file is mapped, for the joins' look-backs, and read through a
 * buffer a megabyte at a time (a pipe in larger blocks); each block of
 * whole lines goes through filter_scan(), which looks for the filter's
 * literals across the block as grep does; only lines holding one run a
 * regex.  A line longer than TESTFILTER_LINE_MAX is counted and skipped,
 * as the daemon's tailer does, so a hostile file cannot make it grow
 * without bound.  Time stamps without a year are placed relative to the
 * file's modification time, so a log read later lands in the right year.
 *
 * With --format docker-json each line is a record of docker's json-file
 * driver (logsrc_docker.c): its "log" goes to the filter, one line at a
 * time, with its "time" where the line has none, as the daemon reads it;
 * a record that does not decode is counted as malformed.
 *
 * Output: a summary (text, or one JSON object with --json); with --events
 * one JSON object per event on stdout and the summary on stderr, so the
 * events can be piped on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "event.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "logsrc_docker.h"
#include "testfilter.h"
#include "xmalloc.h"

#define TESTFILTER_BLOCK	(4 * 1024 * 1024)
#define TESTFILTER_LINE_MAX	(1024 * 1024)
#define TESTFILTER_JOBS_MIN	(32 * 1024 * 1024)	/* file size */
#define TESTFILTER_JOBS_MAX	16
/* What a job's join look-backs may read: an eighth of its chunk. */
#define TESTFILTER_LB_BUDGET(j)	((size_t)((j)->end - (j)->start) / 8 + 4096)

struct testfilter {
	struct filter	*f;
	FILE		*events;	/* NULL: no --events */
	uint64_t	 base;		/* line number of the block's first */
	uint64_t	 kinds[EVENT_KIND_MAX];
	uint64_t	 nevents;
	uint64_t	 toolong;
	uint64_t	 read_bytes;
	uint64_t	 warm_bytes;	/* read twice: jobs' warm-ups */
	uint64_t	 work_max;	/* bytes of the job that read most */
	int		 jobs;		/* threads that read the file */
	struct logsrc_docker *docker;	/* --format docker-json */
	uint64_t	 malformed;	/* records that did not decode */
	int		 fd;		/* the mapped file's */
	const char	*map;		/* the mapped file */
	char		*win;		/* TESTFILTER_LINE_MAX bytes, or NULL */
};

static void
testfilter_usage(void)
{
	fprintf(stderr, "usage: xmppguard test-filter FILTER LOGFILE "
	    "[--json] [--events] [--kind KIND] [--jobs N]\n"
	    "       [--format plain|docker-json]\n");
	exit(2);
}

/* One job per online CPU, within bounds. */
static int
testfilter_ncpu(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > TESTFILTER_JOBS_MAX ? TESTFILTER_JOBS_MAX : (int)n;
}

static void
testfilter_event_cb(uint64_t line, const char *text, size_t len,
    const struct filter_result *r, void *arg)
{
	struct testfilter	*tf = arg;
	char			 ip[ADDR_STRLEN];
	FILE			*out = tf->events;

	(void)text;
	(void)len;
	tf->nevents++;
	tf->kinds[r->kind]++;
	if (out == NULL)
		return;
	fprintf(out, "{\"line\":%llu,\"time\":", (unsigned long long)
	    (tf->base + line + 1));
	json_time(out, r->time);
	fprintf(out, ",\"kind\":\"%s\",\"ip\":", event_kind_name(r->kind));
	if (r->addr.family != 0) {
		addr_ntop(&r->addr, ip, sizeof(ip));
		json_string(out, ip);
	} else
		fputs("null", out);
	if (r->sport != 0)
		fprintf(out, ",\"port\":%u", r->sport);
	fputs(",\"user\":", out);
	if (r->user[0] != '\0')
		json_string(out, r->user);
	else
		fputs("null", out);
	if (r->host[0] != '\0') {
		fputs(",\"host\":", out);
		json_string(out, r->host);
	}
	if (r->key[0] != '\0') {
		fputs(",\"key\":", out);
		json_string(out, r->key);
	}
	fputs(",\"pattern\":", out);
	json_string(out, filter_pattern_stats(tf->f,
	    (size_t)r->pattern)->name);
	if (r->flags & FILTER_R_JOINED)
		fputs(",\"joined\":true", out);
	if (!(r->flags & FILTER_R_TIME))
		fputs(",\"time_parsed\":false", out);
	fputs("}\n", out);
}

/*
 * The records of buf (whole lines) of a docker json-file log, each
 * decoded and its line matched.  Returns the number of records.
 */
static uint64_t
testfilter_docker(struct testfilter *tf, const char *buf, size_t len,
    int64_t now)
{
	struct filter_result	 r;
	const char		*p, *nl, *end = buf + len, *line;
	size_t			 n;
	uint64_t		 recs = 0;
	int64_t			 t;

	for (p = buf; p < end; p = nl + 1, recs++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		switch (logsrc_docker_decode(tf->docker, p, (size_t)(nl - p),
		    &line, &n, &t)) {
		case LOGSRC_DOCKER_LINE:
			if (filter_match(tf->f, line, n, t >= 0 ? t : now,
			    &r) > 0)
				testfilter_event_cb(recs, line, n, &r, tf);
			break;
		case LOGSRC_DOCKER_BAD:
			tf->malformed++;
			break;
		case LOGSRC_DOCKER_TOOLONG:
			tf->toolong++;
			break;
		case LOGSRC_DOCKER_PARTIAL:
			break;
		}
	}
	return recs;
}

/*
 * Reads fd to the end, handing whole lines to filter_scan() a block at a
 * time.  Returns -1 with errno on a read error.
 */
static int
testfilter_read(struct testfilter *tf, int fd, int64_t now)
{
	char		*buf, *nl;
	size_t		 size = TESTFILTER_BLOCK, have = 0, used;
	ssize_t		 n;
	int		 eof = 0, skipping = 0;

	buf = xmalloc(size);
	while (!eof) {
		n = read(fd, buf + have, size - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return -1;
		}
		tf->read_bytes += (uint64_t)n;
		if (n == 0)
			eof = 1;
		have += (size_t)n;
		if (skipping) {
			/* The rest of an over-long line. */
			if ((nl = memchr(buf, '\n', have)) == NULL) {
				have = 0;
				continue;
			}
			skipping = 0;
			used = (size_t)(nl - buf) + 1;
			memmove(buf, buf + used, have - used);
			have -= used;
		}
		/* Whole lines only, unless the file ends without one. */
		if (eof)
			used = have;
		else if ((nl = memrchr(buf, '\n', have)) != NULL)
			used = (size_t)(nl - buf) + 1;
		else
			used = 0;
		if (used > 0) {
			tf->base += tf->docker != NULL ? testfilter_docker(tf,
			    buf, used, now) : filter_scan(tf->f, buf, used, now,
			    testfilter_event_cb, tf);
			memmove(buf, buf + used, have - used);
			have -= used;
			continue;
		}
		if (have < size)
			continue;
		if (size < TESTFILTER_LINE_MAX) {
			size *= 2;
			buf = xreallocarray(buf, size, 1);
			continue;
		}
		/* A line longer than the cap: count it, skip to its end. */
		tf->toolong++;
		tf->base++;
		have = 0;
		skipping = 1;
	}
	free(buf);
	return 0;
}

/*
 * [pos, pos + len) of the mapped file into tf->win from its byte have on
 * (the bytes before are there already): pread(2), not the mapping, see
 * testfilter_region().  The window, or NULL if the file would not read
 * (the mapping then serves, as it would have).
 */
static const char *
testfilter_fill(struct testfilter *tf, const char *pos, size_t len,
    size_t have)
{
	ssize_t	n;

	while (have < len) {
		n = pread(tf->fd, tf->win + have, len - have,
		    (off_t)(pos - tf->map) + (off_t)have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		have += (size_t)n;
	}
	return tf->win;
}

/*
 * Whole lines of [pos, end) of the mapped file through filter_scan(), a
 * megabyte at a time; a warm-up (warm) reports nothing and counts no
 * line.  A line with no newline within TESTFILTER_LINE_MAX is counted and
 * skipped, or in a warm-up run from the mapping, as one filter_scan() of
 * the whole warm-up would.
 *
 * The pieces are read (pread(2)) into one buffer rather than from the
 * mapping, which the look-backs of joins read (filter_scan_at()): the
 * first touch of each page of a mapping costs a fault or a TLB fill, and
 * on a virtual machine that shadows page tables several microseconds, as
 * much as the matching of 1M lines of a log with one thread; a copy into
 * a buffer that stays in the cache costs a tenth of that.
 */
static void
testfilter_region(struct testfilter *tf, const char *pos, const char *end,
    int64_t now, int warm)
{
	const char	*nl, *w;
	size_t		 span, want, have = 0;
	uint64_t	 n;

	while (pos < end) {
		want = (size_t)(end - pos);
		if (want > TESTFILTER_LINE_MAX)
			want = TESTFILTER_LINE_MAX;
		if (tf->win == NULL ||
		    (w = testfilter_fill(tf, pos, want, have)) == NULL)
			w = pos;
		span = want;
		if ((nl = memrchr(w, '\n', span)) != NULL)
			span = (size_t)(nl + 1 - w);
		else if ((size_t)(end - pos) > TESTFILTER_LINE_MAX) {
			nl = memchr(pos, '\n', (size_t)(end - pos));
			span = nl == NULL ? (size_t)(end - pos) :
			    (size_t)(nl + 1 - pos);
			if (warm)
				(void)filter_scan(tf->f, pos, span, now, NULL,
				    NULL);
			else {
				tf->toolong++;
				tf->base++;
			}
			pos += span;
			have = 0;
			continue;
		}
		n = filter_scan_at(tf->f, w, span, pos, now,
		    warm ? NULL : testfilter_event_cb, tf);
		if (!warm)
			tf->base += n;
		/* What follows the last newline begins the next piece. */
		have = w == tf->win ? want - span : 0;
		if (have > 0)
			memmove(tf->win, tf->win + span, have);
		pos += span;
	}
}

/* The newlines of [pos, end) of the mapped file, read as above. */
static uint64_t
testfilter_newlines(struct testfilter *tf, const char *pos, const char *end)
{
	const char	*p, *w, *nl;
	size_t		 n;
	uint64_t	 count = 0;

	for (; pos < end; pos += n) {
		n = (size_t)(end - pos);
		if (n > TESTFILTER_LINE_MAX)
			n = TESTFILTER_LINE_MAX;
		if (tf->win == NULL ||
		    (w = testfilter_fill(tf, pos, n, 0)) == NULL)
			w = pos;
		for (p = w; (nl = memchr(p, '\n', (size_t)(w + n - p))) !=
		    NULL; p = nl + 1)
			count++;
	}
	return count;
}

/*
 * Parallel runs.  A big mapped file is cut into one chunk per job at line
 * boundaries, and every job but the first must start its chunk with the
 * state a single run would have there.  Once-per-connection counting
 * reaches back dedup_window in log time (seconds): the job reads that
 * much (and a minute) before its chunk without reporting anything, then
 * clears its counters.  Joins reach back join_ttl (minutes, too much to
 * re-read when most connection lines sit just before their use): from
 * the warm-up on, a line within join_ttl of the chunk's start whose join
 * finds nothing looks back from itself, no further than join_ttl and a
 * minute of log time before the chunk, for its connection line
 * (filter_set_lookback()).  Those walks read 64 KiB each at most and
 * share a budget of an eighth of the chunk's bytes; a log where joins
 * mostly miss spends it at its first miss, early in the warm-up, and the
 * job then reads the join lines up to there once into its table instead,
 * as a single run would have them, and stops looking back.  So a job
 * reads what a single run would over the same lines, plus an eighth of
 * its chunk and the lines between its warm-up's start and that miss,
 * whatever the log; its events are the same as a single run's (not quite
 * only if a table overflowed, which the counters would
 * show as evictions).  Line numbers come from a first pass in which every
 * job counts the newlines of its chunk.  Events of later chunks wait in
 * temporary files and are copied out in order.
 */
struct testfilter_job {
	pthread_t	 thread;
	struct testfilter tf;
	const char	*joins, *warm, *start, *end;
	int64_t		 now;
	int64_t		 chunk_time;	/* of the chunk's first line */
	uint64_t	 warm_lookback;	/* look-back bytes of the warm-up */
	uint64_t	 newlines;
	uint64_t	 first;		/* line number of the chunk's first */
	int		 count_only;
	const char	*path;		/* of the filter: loaded by the job */
};

static void *
testfilter_job_run(void *arg)
{
	struct testfilter_job	*j = arg;
	char			*cause;

	if (j->count_only) {
		j->newlines = testfilter_newlines(&j->tf, j->start, j->end);
		return NULL;
	}
	/* Each job compiles its own copy (its JIT code too) in its own
	 * thread: while the first job reads already. */
	if (j->tf.f == NULL && (j->tf.f = filter_load(j->path, &cause)) ==
	    NULL)
		fatalx("test-filter: %s", cause);
	/* Before the warm-up: in a log where joins mostly miss, its first
	 * lines spend the budget, and the join lines are read only once. */
	if (j->joins != NULL)
		filter_set_lookback(j->tf.f, j->joins, j->chunk_time +
		    filter_join_ttl(j->tf.f), TESTFILTER_LB_BUDGET(j));
	if (j->warm < j->start) {
		testfilter_region(&j->tf, j->warm, j->start, j->now, 1);
		j->warm_lookback = filter_stats(j->tf.f)->lookback_bytes;
		filter_stats_reset(j->tf.f);
	}
	testfilter_region(&j->tf, j->start, j->end, j->now, 0);
	return NULL;
}

/* The time of the first line at or after off that has one, or -1. */
static int64_t
testfilter_time_at(struct filter *probe, const char *map, size_t size,
    size_t off, int64_t now)
{
	struct filter_result	 r;
	const char		*p, *nl, *end = map + size;
	int			 n;

	p = map + off;
	if (off > 0 && p[-1] != '\n') {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		p = nl + 1;
	}
	for (n = 0; n < 256 && p < end; n++, p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) <= TESTFILTER_LINE_MAX &&
		    filter_match(probe, p, (size_t)(nl - p), now, &r) >= 0 &&
		    (r.flags & FILTER_R_TIME))
			return r.time;
	}
	return -1;
}

/*
 * The first line of the file within reach (us of log time) before the
 * chunk at start, found by bisection on the lines' times; *chunk_time is
 * the chunk's.  NULL if the file has no time stamps there.
 */
static const char *
testfilter_reach(struct filter *probe, const char *map, size_t size,
    const char *start, int64_t now, int64_t reach, int64_t *chunk_time)
{
	int64_t	 t, want;
	size_t	 lo = 0, hi = (size_t)(start - map), mid;

	if ((t = testfilter_time_at(probe, map, size, hi, now)) < 0)
		return NULL;
	*chunk_time = t;
	want = t - reach;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		t = testfilter_time_at(probe, map, size, mid, now);
		if (t < 0 || t >= want)
			hi = mid;
		else
			lo = mid + 1;
	}
	while (lo > 0 && map[lo - 1] != '\n')	/* back to a line start */
		lo--;
	return map + lo;
}

/* Copies a job's events, held in a temporary file, to stdout. */
static void
testfilter_copy_events(FILE *from)
{
	char	buf[65536];
	size_t	n;

	rewind(from);
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		fwrite(buf, 1, n, stdout);
}

/*
 * A regular file is mapped instead of read: no copy.  With jobs > 1 it is
 * read by that many threads (see above); each loads its own copy of the
 * filter from path.  -1 and errno on failure.
 */
static int
testfilter_map(struct testfilter *tf, const char *path, int fd, size_t size,
    int64_t now, int jobs)
{
	struct testfilter_job	*j = NULL;
	struct filter		*probe = NULL;
	const char		*map, *p, *q;
	char			*cause;
	uint64_t		 base;
	size_t			 w, per;
	int64_t			 t;
	int			 i, n = 0, k;

	if ((map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED)
		return -1;
	(void)madvise((void *)(uintptr_t)map, size, MADV_SEQUENTIAL);
	tf->read_bytes = size;
	tf->fd = fd;
	tf->map = map;
	tf->win = xmalloc(TESTFILTER_LINE_MAX);

	if (jobs > 1 && (probe = filter_load(path, &cause)) == NULL) {
		free(cause);
		jobs = 1;
	}
	if (jobs > 1) {
		j = xcalloc((size_t)jobs, sizeof(*j));
		/* Every chunk but the first reads its warm-up too: the first
		 * is as much longer, so that the jobs end together.  The
		 * warm-up of the middle of the file stands for all. */
		w = 0;
		if ((p = memchr(map + size / 2, '\n', size - size / 2)) !=
		    NULL && (q = testfilter_reach(probe, map, size, p + 1, now,
		    filter_dedup_window(probe) + 60 * CLOCK_US_PER_SEC,
		    &t)) != NULL)
			w = (size_t)(p + 1 - q);
		if (w > size / (size_t)jobs / 2)
			w = size / (size_t)jobs / 2;
		per = (size + (size_t)(jobs - 1) * w) / (size_t)jobs;
		/* Chunk i starts at the line after that. */
		for (i = 0, p = map; i < jobs && p < map + size; i++) {
			j[n].start = p;
			j[n].end = map + per + (size_t)i * (per - w);
			if (i == jobs - 1 || (j[n].end = memchr(j[n].end, '\n',
			    (size_t)(map + size - j[n].end))) == NULL)
				j[n].end = map + size;
			else
				j[n].end++;
			if (j[n].end <= j[n].start)
				continue;
			j[n].now = now;
			j[n].tf.fd = fd;
			j[n].tf.map = map;
			j[n].warm = j[n].start;
			if (n > 0 && ((j[n].warm = testfilter_reach(probe, map,
			    size, j[n].start, now, filter_dedup_window(probe) +
			    60 * CLOCK_US_PER_SEC, &j[n].chunk_time)) == NULL ||
			    (j[n].joins = testfilter_reach(probe, map, size,
			    j[n].start, now, filter_join_ttl(probe) + 60 *
			    CLOCK_US_PER_SEC, &j[n].chunk_time)) == NULL))
				break;	/* no time stamps: one job */
			p = j[n].end;
			n++;
		}
		if (i < jobs && p < map + size)
			n = 0;
	}
	filter_free(probe);
	if (n <= 1) {
		/* --kind: its joins look back across the pieces. */
		filter_set_file(tf->f, map, fd);
		testfilter_region(tf, map, map + size, now, 0);
		free(j);
		goto done;
	}

	for (i = 0; i < n; i++)
		j[i].tf.win = xmalloc(TESTFILTER_LINE_MAX);
	/* Pass 1, for the line numbers of events: newlines per chunk. */
	for (i = 0; tf->events != NULL && i < n; i++) {
		j[i].count_only = 1;
		if (pthread_create(&j[i].thread, NULL, testfilter_job_run,
		    &j[i]) != 0)
			fatalx("test-filter: cannot start a thread");
	}
	for (i = 0; tf->events != NULL && i < n; i++)
		pthread_join(j[i].thread, NULL);
	/* Pass 2: the chunks, the first by this thread's own filter. */
	for (i = 0, base = 0; i < n; i++) {
		j[i].count_only = 0;
		j[i].tf.base = j[i].first = base;
		base += j[i].newlines;
		if (i == 0) {
			j[i].tf.f = tf->f;
			j[i].tf.events = tf->events;
			continue;
		}
		j[i].path = path;
		if (tf->events != NULL && (j[i].tf.events = tmpfile()) == NULL)
			fatal("test-filter: tmpfile");
		if (pthread_create(&j[i].thread, NULL, testfilter_job_run,
		    &j[i]) != 0)
			fatalx("test-filter: cannot start a thread");
	}
	testfilter_job_run(&j[0]);
	for (i = 1; i < n; i++)
		pthread_join(j[i].thread, NULL);

	tf->base = 0;
	tf->jobs = n;
	tf->toolong = tf->nevents = 0;
	memset(tf->kinds, 0, sizeof(tf->kinds));
	for (i = 0; i < n; i++) {
		tf->base += j[i].tf.base - j[i].first;
		free(j[i].tf.win);
		/* Its chunk, its warm-up, its look-backs: what it read. */
		base = (uint64_t)(j[i].end - j[i].warm) + j[i].warm_lookback +
		    filter_stats(j[i].tf.f)->lookback_bytes;
		if (base > tf->work_max)
			tf->work_max = base;
		tf->toolong += j[i].tf.toolong;
		tf->nevents += j[i].tf.nevents;
		for (k = 0; k < EVENT_KIND_MAX; k++)
			tf->kinds[k] += j[i].tf.kinds[k];
		if (i == 0)
			continue;
		tf->warm_bytes += (uint64_t)(j[i].start - j[i].warm) +
		    j[i].warm_lookback;
		filter_stats_add(tf->f, j[i].tf.f);
		filter_free(j[i].tf.f);
		if (j[i].tf.events != NULL) {
			testfilter_copy_events(j[i].tf.events);
			fclose(j[i].tf.events);
		}
	}
	free(j);
done:
	free(tf->win);
	tf->win = NULL;
	munmap((void *)(uintptr_t)map, size);
	return 0;
}

static void
testfilter_summary_json(struct testfilter *tf, FILE *out, const char *path,
    const char *log, double secs)
{
	const struct filter_stats		*st = filter_stats(tf->f);
	const struct filter_pattern_stats	*ps;
	size_t					 i;

	fputs("{\"filter\":", out);
	json_string(out, filter_name(tf->f));
	fputs(",\"path\":", out);
	json_string(out, path);
	fputs(",\"file\":", out);
	json_string(out, log);
	fprintf(out, ",\"lines\":%llu,\"bytes\":%llu,\"matched\":%llu,"
	    "\"unmatched\":%llu,\"events\":%llu,\"errors\":%llu,"
	    "\"toolong\":%llu,\"prefiltered\":%llu,\"join_hits\":%llu,"
	    "\"join_misses\":%llu,\"forged\":%llu,\"seconds\":%.6f,"
	    "\"lines_per_second\":%.0f,\"jobs\":%d,\"work_bytes\":%llu,"
	    "\"work_bytes_max\":%llu,\"kinds\":",
	    (unsigned long long)tf->base, (unsigned long long)tf->read_bytes,
	    (unsigned long long)st->matched,
	    (unsigned long long)(tf->base - st->matched),
	    (unsigned long long)tf->nevents, (unsigned long long)st->errors,
	    (unsigned long long)tf->toolong,
	    (unsigned long long)st->prefiltered,
	    (unsigned long long)st->join_hits,
	    (unsigned long long)st->join_misses,
	    (unsigned long long)st->forged, secs,
	    secs > 0 ? (double)tf->base / secs : 0.0, tf->jobs,
	    (unsigned long long)(tf->read_bytes + tf->warm_bytes +
	    st->lookback_bytes), (unsigned long long)(tf->jobs > 1 ?
	    tf->work_max : tf->read_bytes + st->lookback_bytes));
	event_counts_json(out, tf->kinds);
	if (tf->docker != NULL)
		fprintf(out, ",\"format\":\"docker-json\",\"malformed\":%llu",
		    (unsigned long long)tf->malformed);
	fputs(",\"patterns\":[", out);
	for (i = 0; i < filter_npatterns(tf->f); i++) {
		ps = filter_pattern_stats(tf->f, i);
		fprintf(out, "%s{\"name\":", i == 0 ? "" : ",");
		json_string(out, ps->name);
		fprintf(out, ",\"kind\":\"%s\",\"tried\":%llu,\"matched\":%llu,"
		    "\"duplicates\":%llu,\"forged\":%llu,\"errors\":%llu}",
		    ps->kind == EVENT_NONE ? "none" : event_kind_name(ps->kind),
		    (unsigned long long)ps->tried,
		    (unsigned long long)ps->matched,
		    (unsigned long long)ps->dups,
		    (unsigned long long)ps->forged,
		    (unsigned long long)ps->errors);
	}
	fputs("]}\n", out);
}

static void
testfilter_summary_text(struct testfilter *tf, FILE *out, const char *path,
    const char *log, double secs)
{
	const struct filter_stats		*st = filter_stats(tf->f);
	const struct filter_pattern_stats	*ps;
	size_t					 i;

	fprintf(out, "filter   %s (%s)\n", filter_name(tf->f), path);
	fprintf(out, "file     %s\n", log);
	fprintf(out, "lines    %llu read, %llu matched, %llu unmatched, "
	    "%llu too long, %llu match errors\n",
	    (unsigned long long)tf->base, (unsigned long long)st->matched,
	    (unsigned long long)(tf->base - st->matched),
	    (unsigned long long)tf->toolong, (unsigned long long)st->errors);
	fprintf(out, "events   %llu%s", (unsigned long long)tf->nevents,
	    tf->nevents > 0 ? ": " : "");
	event_counts_text(out, tf->kinds);
	fputc('\n', out);
	if (tf->docker != NULL)
		fprintf(out, "records  docker-json, %llu malformed\n",
		    (unsigned long long)tf->malformed);
	if (st->join_hits + st->join_misses > 0)
		fprintf(out, "joins    %llu found, %llu not found\n",
		    (unsigned long long)st->join_hits,
		    (unsigned long long)st->join_misses);
	if (st->forged > 0)
		fprintf(out, "forged   %llu lines refused (refuse, join = "
		    "check)\n", (unsigned long long)st->forged);
	fprintf(out, "\n%10s %10s %10s %8s  %s\n", "tried", "matched",
	    "repeats", "errors", "pattern (kind)");
	for (i = 0; i < filter_npatterns(tf->f); i++) {
		ps = filter_pattern_stats(tf->f, i);
		fprintf(out, "%10llu %10llu %10llu %8llu  %s (%s)\n",
		    (unsigned long long)ps->tried,
		    (unsigned long long)ps->matched,
		    (unsigned long long)ps->dups,
		    (unsigned long long)ps->errors, ps->name,
		    ps->kind == EVENT_NONE ? "none" :
		    event_kind_name(ps->kind));
	}
	fprintf(out, "\n%.3f s, %.0f lines/s, %.1f MB/s\n", secs,
	    secs > 0 ? (double)tf->base / secs : 0.0,
	    secs > 0 ? (double)tf->read_bytes / secs / 1e6 : 0.0);
}

int
testfilter_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "events",	no_argument,		NULL, 'e' },
		{ "kind",	required_argument,	NULL, 'k' },
		{ "jobs",	required_argument,	NULL, 'J' },
		{ "format",	required_argument,	NULL, 'F' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct testfilter	 tf;
	struct timespec		 a, b;
	struct stat		 sb;
	enum event_kind		 kind = EVENT_NONE;
	const char		*log;
	char			*path, *cause;
	int			 ch, json = 0, events = 0, fd, rc = 0, jobs = 0;
	int			 docker = 0;
	char			*endp;
	long			 n;
	int64_t			 now;
	double			 secs;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jek:J:F:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'J':
			errno = 0;
			n = strtol(optarg, &endp, 10);
			if (errno != 0 || *endp != '\0' || n < 1 ||
			    n > TESTFILTER_JOBS_MAX) {
				fprintf(stderr, "test-filter: --jobs %s: not a "
				    "number from 1 to %d\n", optarg,
				    TESTFILTER_JOBS_MAX);
				return 2;
			}
			jobs = (int)n;
			break;
		case 'F':
			if (strcmp(optarg, "docker-json") == 0)
				docker = 1;
			else if (strcmp(optarg, "plain") != 0) {
				fprintf(stderr, "test-filter: --format %s: "
				    "plain or docker-json\n", optarg);
				return 2;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'e':
			events = 1;
			break;
		case 'k':
			kind = event_kind_parse(optarg);
			if (kind == EVENT_NONE) {
				fprintf(stderr, "test-filter: unknown kind "
				    "%s\n", optarg);
				return 2;
			}
			break;
		default:
			testfilter_usage();
		}
	}
	if (argc - optind != 2)
		testfilter_usage();
	log = argv[optind + 1];

	memset(&tf, 0, sizeof(tf));
	tf.jobs = 1;
	if ((path = filter_path(argv[optind], &cause)) == NULL ||
	    (tf.f = filter_load(path, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		free(path);
		return 1;
	}
	if (kind != EVENT_NONE && filter_restrict(tf.f, kind) == -1) {
		fprintf(stderr, "test-filter: %s has no pattern of kind %s\n",
		    path, event_kind_name(kind));
		rc = 1;
		goto out;
	}
	if (strcmp(log, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(log, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "test-filter: %s: %s\n", log, strerror(errno));
		rc = 1;
		goto out;
	}
	/* Year-less time stamps: relative to when the file was written. */
	if (fstat(fd, &sb) == -1)
		memset(&sb, 0, sizeof(sb));
	if (S_ISREG(sb.st_mode))
		now = (int64_t)sb.st_mtim.tv_sec * CLOCK_US_PER_SEC +
		    sb.st_mtim.tv_nsec / 1000;
	else {
		clock_gettime(CLOCK_REALTIME, &a);
		now = (int64_t)a.tv_sec * CLOCK_US_PER_SEC + a.tv_nsec / 1000;
	}
	tf.events = events ? stdout : NULL;
	if (docker)
		tf.docker = logsrc_docker_new(TESTFILTER_LINE_MAX);

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (S_ISREG(sb.st_mode) && sb.st_size > 0 && tf.docker == NULL &&
	    (uint64_t)sb.st_size <= SIZE_MAX && fd != STDIN_FILENO) {
		/* Threads pay off for big files; --kind scans too fast to
		 * need them, and its joins look back across the file. */
		if (jobs == 0)
			jobs = (uint64_t)sb.st_size < TESTFILTER_JOBS_MIN ||
			    kind != EVENT_NONE ? 1 : testfilter_ncpu();
		if (kind != EVENT_NONE)
			jobs = 1;
		if (testfilter_map(&tf, path, fd, (size_t)sb.st_size, now,
		    jobs) == -1) {
			fprintf(stderr, "test-filter: %s: %s\n", log,
			    strerror(errno));
			rc = 1;
		}
	} else if (testfilter_read(&tf, fd, now) == -1) {
		fprintf(stderr, "test-filter: %s: %s\n", log, strerror(errno));
		rc = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (fd != STDIN_FILENO)
		close(fd);
	secs = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	if (json)
		testfilter_summary_json(&tf, events ? stderr : stdout, path,
		    log, secs);
	else
		testfilter_summary_text(&tf, events ? stderr : stdout, path,
		    log, secs);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "test-filter: stdout: %s\n", strerror(errno));
		rc = 1;
	}
out:
	logsrc_docker_free(tf.docker);
	filter_free(tf.f);
	free(path);
	return rc;
}
