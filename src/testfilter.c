/*
 * test-filter: runs one filter over one log file, offline, the way the
 * daemon would, and says what it found (fail2ban-regex's job).
 *
 * The file is mapped (or, for a pipe, read in large blocks) and each block
 * of whole lines goes through filter_scan(), which looks for the filter's literals across the
 * block as grep does; only lines holding one run a regex.  A line longer
 * than TESTFILTER_LINE_MAX is counted and skipped, as the daemon's tailer
 * does, so a hostile file cannot make it grow without bound.  Time stamps
 * without a year are placed relative to the file's modification time, so
 * a log read later lands in the right year.
 *
 * Output: a summary (text, or one JSON object with --json); with --events
 * one JSON object per event on stdout and the summary on stderr, so the
 * events can be piped on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "event.h"
#include "filter.h"
#include "json.h"
#include "testfilter.h"
#include "xmalloc.h"

#define TESTFILTER_BLOCK	(4 * 1024 * 1024)
#define TESTFILTER_LINE_MAX	(1024 * 1024)

struct testfilter {
	struct filter	*f;
	FILE		*events;	/* NULL: no --events */
	uint64_t	 base;		/* line number of the block's first */
	uint64_t	 kinds[EVENT_KIND_MAX];
	uint64_t	 nevents;
	uint64_t	 toolong;
	uint64_t	 read_bytes;
};

static void
testfilter_usage(void)
{
	fprintf(stderr, "usage: xmppguard test-filter FILTER LOGFILE "
	    "[--json] [--events] [--kind KIND]\n");
	exit(2);
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
			tf->base += filter_scan(tf->f, buf, used, now,
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
 * A regular file is mapped instead of read: no copy, and whole lines of
 * up to TESTFILTER_LINE_MAX go to filter_scan() a megabyte at a time.  A
 * line with no newline within the cap is counted and skipped.
 */
static int
testfilter_map(struct testfilter *tf, int fd, size_t size, int64_t now)
{
	const char	*map, *pos, *end, *nl;
	size_t		 span;

	if ((map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED)
		return -1;
	(void)madvise((void *)(uintptr_t)map, size, MADV_SEQUENTIAL);
	tf->read_bytes = size;
	for (pos = map, end = map + size; pos < end; ) {
		span = (size_t)(end - pos);
		if (span > TESTFILTER_LINE_MAX)
			span = TESTFILTER_LINE_MAX;
		if ((nl = memrchr(pos, '\n', span)) != NULL)
			span = (size_t)(nl + 1 - pos);
		else if ((size_t)(end - pos) > TESTFILTER_LINE_MAX) {
			/* A line over the cap: count it, skip to its end. */
			tf->toolong++;
			tf->base++;
			nl = memchr(pos, '\n', (size_t)(end - pos));
			pos = nl == NULL ? end : nl + 1;
			continue;
		}
		tf->base += filter_scan(tf->f, pos, span, now,
		    testfilter_event_cb, tf);
		pos += span;
	}
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
	int					 k, first = 1;

	fputs("{\"filter\":", out);
	json_string(out, filter_name(tf->f));
	fputs(",\"path\":", out);
	json_string(out, path);
	fputs(",\"file\":", out);
	json_string(out, log);
	fprintf(out, ",\"lines\":%llu,\"bytes\":%llu,\"matched\":%llu,"
	    "\"unmatched\":%llu,\"events\":%llu,\"errors\":%llu,"
	    "\"toolong\":%llu,\"prefiltered\":%llu,\"join_hits\":%llu,"
	    "\"join_misses\":%llu,\"seconds\":%.6f,\"lines_per_second\":%.0f,"
	    "\"kinds\":{",
	    (unsigned long long)tf->base, (unsigned long long)tf->read_bytes,
	    (unsigned long long)st->matched,
	    (unsigned long long)(tf->base - st->matched),
	    (unsigned long long)tf->nevents, (unsigned long long)st->errors,
	    (unsigned long long)tf->toolong,
	    (unsigned long long)st->prefiltered,
	    (unsigned long long)st->join_hits,
	    (unsigned long long)st->join_misses, secs,
	    secs > 0 ? (double)tf->base / secs : 0.0);
	for (k = 1; k < EVENT_KIND_MAX; k++) {
		if (tf->kinds[k] == 0)
			continue;
		fprintf(out, "%s\"%s\":%llu", first ? "" : ",",
		    event_kind_name((enum event_kind)k),
		    (unsigned long long)tf->kinds[k]);
		first = 0;
	}
	fputs("},\"patterns\":[", out);
	for (i = 0; i < filter_npatterns(tf->f); i++) {
		ps = filter_pattern_stats(tf->f, i);
		fprintf(out, "%s{\"name\":", i == 0 ? "" : ",");
		json_string(out, ps->name);
		fprintf(out, ",\"kind\":\"%s\",\"tried\":%llu,\"matched\":%llu,"
		    "\"duplicates\":%llu,\"errors\":%llu}",
		    ps->kind == EVENT_NONE ? "none" : event_kind_name(ps->kind),
		    (unsigned long long)ps->tried,
		    (unsigned long long)ps->matched,
		    (unsigned long long)ps->dups,
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
	int					 k, first = 1;

	fprintf(out, "filter   %s (%s)\n", filter_name(tf->f), path);
	fprintf(out, "file     %s\n", log);
	fprintf(out, "lines    %llu read, %llu matched, %llu unmatched, "
	    "%llu too long, %llu match errors\n",
	    (unsigned long long)tf->base, (unsigned long long)st->matched,
	    (unsigned long long)(tf->base - st->matched),
	    (unsigned long long)tf->toolong, (unsigned long long)st->errors);
	fprintf(out, "events   %llu", (unsigned long long)tf->nevents);
	for (k = 1; k < EVENT_KIND_MAX; k++)
		if (tf->kinds[k] > 0) {
			fprintf(out, "%s %s %llu", first ? ":" : ",",
			    event_kind_name((enum event_kind)k),
			    (unsigned long long)tf->kinds[k]);
			first = 0;
		}
	fputc('\n', out);
	if (st->join_hits + st->join_misses > 0)
		fprintf(out, "joins    %llu found, %llu not found\n",
		    (unsigned long long)st->join_hits,
		    (unsigned long long)st->join_misses);
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
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct testfilter	 tf;
	struct timespec		 a, b;
	struct stat		 sb;
	enum event_kind		 kind = EVENT_NONE;
	const char		*log;
	char			*path, *cause;
	int			 ch, json = 0, events = 0, fd, rc = 0;
	int64_t			 now;
	double			 secs;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jek:h", longopts, NULL)) != -1) {
		switch (ch) {
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
		now = (int64_t)sb.st_mtim.tv_sec * 1000000 +
		    sb.st_mtim.tv_nsec / 1000;
	else {
		clock_gettime(CLOCK_REALTIME, &a);
		now = (int64_t)a.tv_sec * 1000000 + a.tv_nsec / 1000;
	}
	tf.events = events ? stdout : NULL;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	    (uint64_t)sb.st_size <= SIZE_MAX && fd != STDIN_FILENO) {
		if (testfilter_map(&tf, fd, (size_t)sb.st_size, now) == -1) {
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
	filter_free(tf.f);
	free(path);
	return rc;
}
