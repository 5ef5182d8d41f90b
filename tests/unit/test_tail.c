/*
 * Unit tests for the tailer, on real files in a temporary directory and a
 * real event loop.  Waits poll the loop with short timeouts up to a bounded
 * deadline, and alarm() kills a test that hangs anyway.
 */
#include "unit.h"

#include "../../src/tail.c"
#include "unit_budget.h"

#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>

#define GUARD_SECONDS	20
#define WAIT_MS		3000	/* upper bound for anything to arrive */
#define QUIET_MS	150	/* how long "nothing happens" is watched */
#define GRACE_MS	200	/* a rotated file's quiet, shortened */

/* Lines seen by a callback, copied. */
struct seen {
	char	**line;
	size_t	 *len;
	size_t	  n;
	size_t	  cap;
};

struct fixture {
	char		 dir[64];
	struct loop	*loop;
};

/* The key of the head hashes; set in main(). */
static struct siphash_key	test_key;

static void
seen_cb(const char *line, size_t len, void *arg)
{
	struct seen	*s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 16 : s->cap * 2;
		s->line = xreallocarray(s->line, s->cap, sizeof *s->line);
		s->len = xreallocarray(s->len, s->cap, sizeof *s->len);
	}
	s->line[s->n] = xmalloc(len + 1);
	memcpy(s->line[s->n], line, len);
	s->line[s->n][len] = '\0';
	s->len[s->n] = len;
	s->n++;
}

static void
seen_clear(struct seen *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		free(s->line[i]);
	free(s->line);
	free(s->len);
	memset(s, 0, sizeof *s);
}

/* The lines seen, joined by '|', to compare in one assertion. */
static const char *
seen_str(const struct seen *s)
{
	static char	buf[8192];
	size_t		i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n && off < sizeof buf; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s",
		    i > 0 ? "|" : "", s->line[i]);
	return buf;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture	*f;
	char		*cause = NULL;

	alarm(GUARD_SECONDS);
	tail_safety_ms = 5000;
	tail_grace_ms = GRACE_MS;
	f = xcalloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_tail.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->loop = loop_new(&cause);
	assert_non_null(f->loop);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	loop_free(f->loop);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	alarm(0);
	return 0;
}

static char *
fpath(const struct fixture *f, const char *name)
{
	return xasprintf("%s/%s", f->dir, name);
}

static void
put(const char *path, const void *data, size_t len, int flags)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
append(const char *path, const char *s)
{
	put(path, s, strlen(s), O_APPEND);
}

/* Writes a whole new file under path (replacing any by rename). */
static void
create(const struct fixture *f, const char *path, const char *s)
{
	char	*tmp = fpath(f, ".tmp");

	put(tmp, s, strlen(s), O_TRUNC);
	assert_int_equal(rename(tmp, path), 0);
	free(tmp);
}

/* Runs the loop until s holds n lines or the deadline passes. */
static void
wait_lines(struct loop *loop, const struct seen *s, size_t n)
{
	int64_t	end = clock_monotonic() + WAIT_MS * CLOCK_US_PER_MS;

	while (s->n < n && clock_monotonic() < end)
		loop_run_once(loop, 10);
}

/* Runs the loop for ms, whatever happens. */
static void
run_for(struct loop *loop, int ms)
{
	int64_t	end = clock_monotonic() + ms * CLOCK_US_PER_MS;

	while (clock_monotonic() < end)
		loop_run_once(loop, 10);
}

static struct tail *
open_tail(const struct fixture *f, const char *path,
    const struct tail_pos *saved, size_t maxline, struct seen *s)
{
	struct tail	*t;
	char		*cause = NULL;

	t = tail_open(f->loop, path, saved, &test_key, maxline, seen_cb, s,
	    &cause);
	assert_null(cause);
	assert_non_null(t);
	return t;
}

/* Lines arrive only when complete, however the writes cut them. */
static void
test_partial_lines(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_pos	 pos;
	char		*p = fpath(f, "log");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "hel");
	run_for(f->loop, QUIET_MS);
	assert_int_equal(s.n, 0);
	tail_get_pos(t, &pos);
	assert_int_equal(pos.offset, 0);

	append(p, "lo\nwor");
	wait_lines(f->loop, &s, 1);
	append(p, "ld\n\nlast\n");
	wait_lines(f->loop, &s, 4);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "hello|world||last");
	assert_int_equal(s.n, 4);
	tail_get_pos(t, &pos);
	assert_int_equal(pos.offset, 18);
	assert_int_equal(pos.headlen, 18);
	assert_true(pos.hash == siphash24(&test_key, "hello\nworld\n\nlast\n",
	    18));
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/* A file we know nothing about is read from its end. */
static void
test_new_file_from_end(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	char		*p = fpath(f, "log");

	/* The last line is still being written: it is new, and whole. */
	append(p, "old1\nold2\nhalf");
	t = open_tail(f, p, NULL, 8192, &s);
	run_for(f->loop, QUIET_MS);
	assert_int_equal(s.n, 0);
	append(p, "-done\nnew\n");
	wait_lines(f->loop, &s, 2);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "half-done|new");
	tail_close(t);
	seen_clear(&s);

	/* No newline at all yet: the whole file is that line. */
	put(p, "start", 5, O_TRUNC);
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "ed\n");
	wait_lines(f->loop, &s, 1);
	assert_string_equal(seen_str(&s), "started");
	tail_close(t);
	seen_clear(&s);

	/* A line in progress longer than the limit is skipped. */
	put(p, "0123456789abcdefXYZ", 19, O_TRUNC);
	t = open_tail(f, p, NULL, 16, &s);
	append(p, "\nok\n");
	wait_lines(f->loop, &s, 1);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "ok");
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/* logrotate's default: rename, the writer carries on in the old file for
 * a while, then the new file appears. */
static void
test_rename_rotation(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "a\n");
	wait_lines(f->loop, &s, 1);

	assert_int_equal(rename(p, p1), 0);
	append(p1, "b\n");
	wait_lines(f->loop, &s, 2);
	assert_string_equal(seen_str(&s), "a|b");

	/* Written before and after the new file appears, none read yet. */
	append(p1, "c\nd");
	append(p, "e\n");
	append(p, "f\n");
	wait_lines(f->loop, &s, 6);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a|b|c|d|e|f");

	/* Another round without the loop running in between. */
	assert_int_equal(rename(p, p1), 0);
	append(p1, "g\n");
	append(p, "h\n");
	wait_lines(f->loop, &s, 8);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a|b|c|d|e|f|g|h");

	tail_get_stats(t, &st);
	assert_int_equal(st.rotations, 2);
	assert_int_equal(st.lines, 8);
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
}

/* copytruncate: the same inode shrinks and starts over. */
static void
test_copytruncate(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		*p = fpath(f, "log");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "first line\nsecond line\n");
	wait_lines(f->loop, &s, 2);

	assert_int_equal(truncate(p, 0), 0);
	append(p, "third\n");
	wait_lines(f->loop, &s, 3);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "first line|second line|third");
	tail_get_stats(t, &st);
	assert_int_equal(st.truncations, 1);
	assert_int_equal(st.rotations, 0);

	/* Truncated and refilled before we look: still a fresh start. */
	assert_int_equal(truncate(p, 0), 0);
	append(p, "4\n");
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s),
	    "first line|second line|third|4");

	/* Truncated and written past our offset before we look. */
	assert_int_equal(truncate(p, 0), 0);
	append(p, "fifth and longer\n");
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s),
	    "first line|second line|third|4|fifth and longer");
	tail_get_stats(t, &st);
	assert_int_equal(st.truncations, 3);
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/* A restart from a saved position loses no line and repeats none, even
 * with a line half written when the position was saved. */
static void
test_restart(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_pos	 pos, back;
	char		 buf[TAIL_POS_STRLEN];
	char		*p = fpath(f, "log");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "l1\nl2\npar");
	wait_lines(f->loop, &s, 2);
	run_for(f->loop, QUIET_MS);
	tail_get_pos(t, &pos);
	tail_close(t);
	assert_int_equal(pos.offset, 6);
	tail_pos_format(&pos, buf, sizeof buf);
	assert_int_equal(tail_pos_parse(buf, &back), 0);
	assert_memory_equal(&pos, &back, sizeof pos);

	/* While we are down. */
	append(p, "tial\nl3\n");
	seen_clear(&s);
	t = open_tail(f, p, &back, 8192, &s);
	wait_lines(f->loop, &s, 2);
	append(p, "l4\n");
	wait_lines(f->loop, &s, 3);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "partial|l3|l4");
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/*
 * The server writes on to the renamed file after logrotate made the new
 * one: those lines come before the new file's, whether the writer closes
 * the old file (done at once) or keeps it (done after the grace).
 */
static void
test_late_writer(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");
	int		 fd;
	int64_t		 t0;

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "a\n", 2), 2);
	wait_lines(f->loop, &s, 1);

	/* Closed: done at the close, long before a 5 s grace. */
	tail_grace_ms = 5000;
	assert_int_equal(rename(p, p1), 0);
	append(p, "");			/* logrotate's create */
	run_for(f->loop, 50);
	append(p, "n1\n");		/* another writer, already there */
	run_for(f->loop, 50);
	assert_int_equal(write(fd, "late1\nlate2\n", 12), 12);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a|late1|late2");
	t0 = clock_monotonic();
	close(fd);
	wait_lines(f->loop, &s, 4);
	assert_true(clock_monotonic() - t0 < 2000 * CLOCK_US_PER_MS);
	assert_string_equal(seen_str(&s), "a|late1|late2|n1");

	/* Kept open: done when quiet for the grace. */
	tail_grace_ms = 400;
	fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd != -1);
	assert_int_equal(rename(p, p1), 0);
	append(p, "n2\n");
	run_for(f->loop, 100);
	assert_int_equal(write(fd, "late3\n", 6), 6);
	run_for(f->loop, 200);
	assert_int_equal(write(fd, "late4\n", 6), 6);	/* grace again */
	run_for(f->loop, 200);
	assert_string_equal(seen_str(&s), "a|late1|late2|n1|late3|late4");
	wait_lines(f->loop, &s, 7);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a|late1|late2|n1|late3|late4|n2");
	close(fd);
	tail_get_stats(t, &st);
	assert_int_equal(st.rotations, 2);
	assert_int_equal(st.lost_truncated + st.lost_compressed, 0);
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
}

/* Two rename rotations while the loop is away (numbers shifted as
 * logrotate does): the generation in between is read, in order. */
static void
test_two_rotations_away(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");
	char		*p2 = fpath(f, "log.2"), *p3 = fpath(f, "log.3");

	append(p3, "stale\n");		/* long read, before we started */
	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "a1\n");
	wait_lines(f->loop, &s, 1);

	append(p, "a2\n");
	assert_int_equal(rename(p, p1), 0);
	append(p, "b1\nb2\n");
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(rename(p, p1), 0);
	append(p, "c1\n");
	wait_lines(f->loop, &s, 5);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a1|a2|b1|b2|c1");
	append(p, "c2\n");
	wait_lines(f->loop, &s, 6);
	assert_string_equal(seen_str(&s), "a1|a2|b1|b2|c1|c2");
	tail_get_stats(t, &st);
	assert_int_equal(st.rotations, 2);

	/* Three more, with only the oldest shifted off (rotate 1: the
	 * older names are overwritten); the file we left is found by its
	 * time. */
	append(p, "c3\n");
	assert_int_equal(rename(p, p1), 0);
	append(p, "d1\n");
	assert_int_equal(rename(p, p1), 0);
	append(p, "e1\n");
	wait_lines(f->loop, &s, 9);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a1|a2|b1|b2|c1|c2|c3|d1|e1");
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
	free(p2);
	free(p3);
}

/* logrotate's dateext: the dates order the generations. */
static void
test_dateext(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	char		*p = fpath(f, "log");
	char		*d5 = fpath(f, "log-20261205");
	char		*d6 = fpath(f, "log-20261206");
	char		*d7 = fpath(f, "log-20261207");

	append(d5, "old\n");
	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "a1\n");
	wait_lines(f->loop, &s, 1);

	append(p, "a2\n");
	assert_int_equal(rename(p, d6), 0);
	append(p, "b1\n");
	assert_int_equal(rename(p, d7), 0);
	append(p, "c1\n");
	/* The older date written to last: names, not times, decide. */
	append(d5, "older\n");
	wait_lines(f->loop, &s, 4);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a1|a2|b1|c1");
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(d5);
	free(d6);
	free(d7);
}

/* A gzip file as gzip ends one: only the trailer is looked at. */
static void
put_gz(const char *path, uint32_t isize)
{
	uint8_t	b[24] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

	b[20] = (uint8_t)isize;
	b[21] = (uint8_t)(isize >> 8);
	b[22] = (uint8_t)(isize >> 16);
	b[23] = (uint8_t)(isize >> 24);
	put(path, b, sizeof b, O_TRUNC);
}

/* A generation compressed before it was read: counted as lost. */
static void
test_compressed_lost(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");
	char		*p2 = fpath(f, "log.2"), *gz = fpath(f, "log.1.gz");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "a1\n");
	wait_lines(f->loop, &s, 1);

	/* delaycompress's layout: x.log.1, then x.log.2.gz: ours stays
	 * readable, the one after it is compressed away. */
	assert_int_equal(rename(p, p1), 0);
	append(p, "b1 of 12345\n");
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(rename(p, p1), 0);
	put_gz(gz, 12);
	assert_int_equal(unlink(p1), 0);
	append(p, "c1\n");
	wait_lines(f->loop, &s, 2);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a1|c1");
	tail_get_stats(t, &st);
	assert_int_equal(st.lost_compressed, 12);
	assert_int_equal(st.lost_truncated, 0);
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
	free(p2);
	free(gz);
}

/* copytruncate's race: what the copy holds beyond our offset is counted;
 * what was written between the copy and the truncation cannot be. */
static void
test_copytruncate_lost(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "first\n");
	wait_lines(f->loop, &s, 1);

	/* Kept up with: nothing lost. */
	put(p1, "first\n", 6, O_TRUNC);
	assert_int_equal(truncate(p, 0), 0);
	append(p, "second\n");
	wait_lines(f->loop, &s, 2);
	tail_get_stats(t, &st);
	assert_int_equal(st.truncations, 1);
	assert_int_equal(st.lost_truncated, 0);

	/* Behind: 6 unread bytes copied, 3 more written, then truncated. */
	append(p, "x1\nx2\n");
	put(p1, "second\nx1\nx2\n", 13, O_TRUNC);
	append(p, "y\n");
	assert_int_equal(truncate(p, 0), 0);
	append(p, "z\n");
	wait_lines(f->loop, &s, 3);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "first|second|z");
	tail_get_stats(t, &st);
	assert_int_equal(st.truncations, 2);
	assert_int_equal(st.lost_truncated, 6);
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
}

/* Down across two rotations: the saved file is found by its inode under
 * its new name, read on from the saved offset, and the newer ones after. */
static void
test_restart_rotated(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_pos	 pos;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");
	char		*p2 = fpath(f, "log.2");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "a1\n");
	wait_lines(f->loop, &s, 1);
	tail_get_pos(t, &pos);
	tail_close(t);
	seen_clear(&s);

	append(p, "a2\n");
	assert_int_equal(rename(p, p1), 0);
	append(p, "b1\n");
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(rename(p, p1), 0);
	append(p, "c1\n");
	t = open_tail(f, p, &pos, 8192, &s);
	wait_lines(f->loop, &s, 3);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a2|b1|c1");

	/* Saved in the middle generation, restarted after one more. */
	tail_close(t);
	seen_clear(&s);
	t = open_tail(f, p, &pos, 8192, &s);	/* a1's position again */
	wait_lines(f->loop, &s, 3);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a2|b1|c1");
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
	free(p2);
}

/* Same name, same size, another file: read it all, whether or not the
 * filesystem handed it the old inode. */
static void
test_replaced_same_size(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_pos	 pos;
	struct tail_stats st;
	char		*p = fpath(f, "log");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "aaaa\n");
	wait_lines(f->loop, &s, 1);
	tail_get_pos(t, &pos);
	tail_close(t);

	/* Down: replaced by a file of the same size. */
	assert_int_equal(unlink(p), 0);
	append(p, "bbbb\n");
	t = open_tail(f, p, &pos, 8192, &s);
	wait_lines(f->loop, &s, 2);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "aaaa|bbbb");

	/* Up: replaced again, by rename over it. */
	create(f, p, "cccc\n");
	wait_lines(f->loop, &s, 3);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "aaaa|bbbb|cccc");
	tail_get_stats(t, &st);
	assert_int_equal(st.rotations, 1);

	/* And the inode kept but the content changed in place. */
	tail_get_pos(t, &pos);
	tail_close(t);
	put(p, "dddd\n", 5, O_TRUNC);
	t = open_tail(f, p, &pos, 8192, &s);
	wait_lines(f->loop, &s, 4);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "aaaa|bbbb|cccc|dddd");
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/* Deleted and recreated: the new file is read from its start. */
static void
test_delete_recreate(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_pos	 pos;
	char		*p = fpath(f, "log");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "one\n");
	wait_lines(f->loop, &s, 1);
	assert_int_equal(unlink(p), 0);
	run_for(f->loop, QUIET_MS);
	tail_get_pos(t, &pos);
	assert_int_equal(pos.ino, 0);		/* nothing open */
	append(p, "two\n");
	wait_lines(f->loop, &s, 2);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "one|two");
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/* A file that does not exist yet, in a directory that does. */
static void
test_missing_file(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	char		*p = fpath(f, "later");

	t = open_tail(f, p, NULL, 8192, &s);
	run_for(f->loop, QUIET_MS);
	assert_int_equal(s.n, 0);
	append(p, "x\ny\n");
	wait_lines(f->loop, &s, 2);
	append(p, "z\n");
	wait_lines(f->loop, &s, 3);
	assert_string_equal(seen_str(&s), "x|y|z");
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/*
 * The safety timer: slow once the file is open and both watches are in
 * place on a local filesystem (inotify sees it all), quick again as soon
 * as the file is moved away (a watch is no longer enough), and lines still
 * come at once either way.
 */
static void
test_safety_slow(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");

	tail_safety_ms = 50;
	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	run_for(f->loop, QUIET_MS);
	assert_int_equal(t->safety_slow, 1);
	assert_int_equal(tail_safety_delay(t), TAIL_SAFETY_SLOW_MS);
	append(p, "a\n");
	wait_lines(f->loop, &s, 1);
	assert_int_equal(rename(p, p1), 0);
	run_for(f->loop, 20);
	assert_int_equal(t->safety_slow, 0);
	assert_int_equal(tail_safety_delay(t), tail_safety_ms);
	append(p, "b\n");
	wait_lines(f->loop, &s, 2);
	assert_string_equal(seen_str(&s), "a|b");
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
}

/* A missing directory is retried on the safety timer. */
static void
test_missing_dir(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	char		*d = fpath(f, "sub"), *p = fpath(f, "sub/log");

	tail_safety_ms = 50;
	t = open_tail(f, p, NULL, 8192, &s);
	run_for(f->loop, QUIET_MS);
	assert_int_equal(mkdir(d, 0755), 0);
	append(p, "x\n");
	wait_lines(f->loop, &s, 1);
	append(p, "y\n");
	wait_lines(f->loop, &s, 2);
	assert_string_equal(seen_str(&s), "x|y");
	tail_close(t);
	seen_clear(&s);
	free(d);
	free(p);
}

/* Over-long lines are skipped whole, however they arrive. */
static void
test_toolong(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		 big[200];
	char		*p = fpath(f, "log");

	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	append(p, "");
	t = open_tail(f, p, NULL, 16, &s);

	append(p, "short\n");
	append(p, big);
	append(p, "\nnext\n");
	wait_lines(f->loop, &s, 2);

	/* In pieces across wake-ups, each under the limit. */
	append(p, "0123456789");
	run_for(f->loop, 50);
	append(p, "0123456789");
	run_for(f->loop, 50);
	append(p, big);
	run_for(f->loop, 50);
	append(p, "tail of it\nafter\n");
	wait_lines(f->loop, &s, 3);

	/* Exactly the limit is not too long. */
	append(p, "0123456789abcdef\n0123456789abcdefg\nend\n");
	wait_lines(f->loop, &s, 5);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s),
	    "short|next|after|0123456789abcdef|end");
	tail_get_stats(t, &st);
	assert_int_equal(st.toolong, 3);
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/* Bytes are bytes: NUL, invalid UTF-8 and control characters pass whole. */
static void
test_binary(void **state)
{
	struct fixture		*f = *state;
	struct seen		 s = { 0 };
	struct tail		*t;
	static const char	 l1[] = "a\0b\xff\xfe\xc3\x28\r\t\x1b[0m";
	static const char	 l2[] = "\0\0\0";
	char			 data[64];
	size_t			 n;
	char			*p = fpath(f, "log");

	n = 0;
	memcpy(data + n, l1, sizeof l1 - 1);
	n += sizeof l1 - 1;
	data[n++] = '\n';
	memcpy(data + n, l2, sizeof l2 - 1);
	n += sizeof l2 - 1;
	data[n++] = '\n';

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	put(p, data, n, O_APPEND);
	wait_lines(f->loop, &s, 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.len[0], sizeof l1 - 1);
	assert_memory_equal(s.line[0], l1, sizeof l1 - 1);
	assert_int_equal(s.len[1], 3);
	assert_memory_equal(s.line[1], l2, 3);
	tail_close(t);
	seen_clear(&s);
	free(p);
}

/* Five files on one loop, each with its own lines in its own order. */
static void
test_many_files(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s[5];
	struct tail	*t[5];
	char		*p[5], want[64], line[32];
	int		 i, round;

	memset(s, 0, sizeof s);
	for (i = 0; i < 5; i++) {
		p[i] = xasprintf("%s/log%d", f->dir, i);
		append(p[i], "");
		t[i] = open_tail(f, p[i], NULL, 8192, &s[i]);
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 5; i++) {
			snprintf(line, sizeof line, "f%dr%d\n", i, round);
			append(p[i], line);
		}
	}
	for (i = 0; i < 5; i++)
		wait_lines(f->loop, &s[i], 3);
	run_for(f->loop, QUIET_MS);
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof want, "f%dr0|f%dr1|f%dr2", i, i, i);
		assert_string_equal(seen_str(&s[i]), want);
		tail_close(t[i]);
		seen_clear(&s[i]);
		free(p[i]);
	}
}

/* A backlog is read in slices, the loop getting control in between. */
static void
test_slices(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_pos	 pos;
	char		*buf, *p = fpath(f, "log");
	size_t		 i, nlines = 50000, len = 64, total;

	total = nlines * len;
	buf = xmalloc(total);
	for (i = 0; i < nlines; i++) {
		memset(buf + i * len, 'a' + (int)(i % 26), len - 1);
		buf[i * len + len - 1] = '\n';
	}
	put(p, buf, total, O_APPEND);

	/* A saved position at 0 of this very file: read it all. */
	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	tail_get_pos(t, &pos);
	tail_close(t);
	pos.offset = 0;
	pos.headlen = 0;
	t = open_tail(f, p, &pos, 8192, &s);
	assert_int_equal(s.n, 0);		/* never from inside tail_open */
	loop_run_once(f->loop, 1000);
	assert_true(s.n > 0);
	assert_true(s.n < nlines);		/* one slice only */
	assert_non_null(t->more);
	wait_lines(f->loop, &s, nlines);
	assert_int_equal(s.n, nlines);
	for (i = 0; i < nlines; i++) {
		assert_int_equal(s.len[i], len - 1);
		assert_int_equal(s.line[i][0], 'a' + (int)(i % 26));
	}
	tail_close(t);
	seen_clear(&s);
	free(buf);
	free(p);
}

/*
 * The time budget: the consumers of lines are made to cost COST_US each
 * (unit_budget.h's clock runs ahead by that much per line).
 */
#define COST_US		10

struct costly {
	uint64_t	 n;		/* lines seen */
	int		 order;		/* all in order so far */
};

static void
costly_cb(const char *line, size_t len, void *arg)
{
	struct costly	*c = arg;
	char		 want[32];

	snprintf(want, sizeof want, "%031" PRIu64, c->n);
	if (len != 31 || memcmp(line, want, len) != 0)
		c->order = 0;
	c->n++;
	unit_budget_ahead_us += COST_US;
}

static void
ready_cb(struct loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	(*(int *)arg)++;
}

/*
 * A backlog of 2 MB read within the time budget: no wake-up passes more
 * lines than the budget allows, the rest follows on the next iterations
 * without another write (no inotify event), another ready descriptor is
 * served in each of them, and every line comes exactly once, in order.
 */
static void
test_budget(void **state)
{
	struct fixture	*f = *state;
	struct costly	 c = { .order = 1 };
	struct tail	*t;
	struct tail_pos	 pos;
	struct tail_stats stats;
	char		*buf, *p = fpath(f, "log");
	uint64_t	 most, allowed, nlines = 65536, i;
	size_t		 len = 32;
	int		 fds[2], ready = 0, iters;

	buf = xmalloc(nlines * len + 1);	/* snprintf's last NUL */
	for (i = 0; i < nlines; i++)
		snprintf(buf + i * len, len + 1, "%031" PRIu64 "\n", i);
	put(p, buf, nlines * len, O_APPEND);
	allowed = unit_budget_allowed(COST_US, TAIL_BUDGET_LINES);

	/* From the start of this very file. */
	t = tail_open(f->loop, p, NULL, &test_key, 8192, costly_cb, &c,
	    &(char *){ NULL });
	assert_non_null(t);
	tail_get_pos(t, &pos);
	tail_close(t);
	pos.offset = 0;
	pos.headlen = 0;
	t = tail_open(f->loop, p, &pos, &test_key, 8192, costly_cb, &c,
	    &(char *){ NULL });
	assert_non_null(t);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);	/* ready for good */
	assert_int_equal(loop_fd_add(f->loop, fds[0], LOOP_READ, ready_cb,
	    &ready), 0);

	iters = unit_budget_run(f->loop, &c.n, nlines, 20000, &most);

	assert_int_equal(c.n, nlines);
	assert_true(c.order);
	assert_true(most > 0);
	assert_true(most <= allowed);
	assert_true(iters >= (int)(nlines / allowed));
	assert_true(ready >= iters - 1);
	tail_get_stats(t, &stats);
	assert_int_equal(stats.bytes, nlines * len);
	/* Nothing more, nothing again. */
	run_for(f->loop, QUIET_MS);
	assert_int_equal(c.n, nlines);
	assert_null(t->more);
	tail_get_pos(t, &pos);
	assert_int_equal(pos.offset, nlines * len);

	loop_fd_del(f->loop, fds[0]);
	close(fds[0]);
	close(fds[1]);
	tail_close(t);
	free(buf);
	free(p);
}

/*
 * The server's user owns the log directory: at a rotation it plants a link
 * to a file it cannot read, then another user's file, then a hard link.
 * None is read, each is counted once, and the proper file that follows is.
 */
static void
test_refused(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	struct tail_pos	 pos;
	char		*p = fpath(f, "log"), *p1 = fpath(f, "log.1");
	char		*secret = fpath(f, "secret");

	tail_safety_ms = 50;
	put(secret, "root:hash:0:0\n", 14, O_TRUNC);
	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "a\n");
	wait_lines(f->loop, &s, 1);

	assert_int_equal(rename(p, p1), 0);
	assert_int_equal(symlink(secret, p), 0);
	append(secret, "more\n");
	run_for(f->loop, 4 * QUIET_MS);
	assert_string_equal(seen_str(&s), "a");
	tail_get_stats(t, &st);
	assert_int_equal(st.refused, 1);	/* once, however often seen */
	tail_get_pos(t, &pos);
	assert_int_equal(pos.ino, 0);

	/* Someone else's file (the directory is root's). */
	assert_int_equal(unlink(p), 0);
	put(p, "x\n", 2, O_TRUNC);
	assert_int_equal(chown(p, 65534, 65534), 0);
	run_for(f->loop, 4 * QUIET_MS);
	assert_string_equal(seen_str(&s), "a");
	tail_get_stats(t, &st);
	assert_int_equal(st.refused, 2);

	/* A second name for a file is refused, whoever owns it. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(link(secret, p), 0);
	run_for(f->loop, 4 * QUIET_MS);
	assert_string_equal(seen_str(&s), "a");
	tail_get_stats(t, &st);
	assert_int_equal(st.refused, 3);

	/* The proper file: followed from its start. */
	assert_int_equal(unlink(p), 0);
	append(p, "b\n");
	wait_lines(f->loop, &s, 2);
	append(p, "c\n");
	wait_lines(f->loop, &s, 3);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "a|b|c");
	tail_get_stats(t, &st);
	assert_int_equal(st.refused, 3);
	tail_close(t);
	seen_clear(&s);

	/* Owned by the directory's owner: the server's own file, read. */
	assert_int_equal(chown(f->dir, 65534, 65534), 0);
	assert_int_equal(unlink(p), 0);
	put(p, "d\n", 2, O_TRUNC);
	assert_int_equal(chown(p, 65534, 65534), 0);
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "e\n");
	wait_lines(f->loop, &s, 1);
	assert_string_equal(seen_str(&s), "e");
	tail_close(t);
	seen_clear(&s);
	free(p);
	free(p1);
	free(secret);
}

/*
 * A path that is a link when the tail opens is the operator's, followed
 * to its file; a link planted at that file's name later is not.
 */
static void
test_configured_link(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	struct tail	*t;
	struct tail_stats st;
	char		*d = fpath(f, "real"), *real = fpath(f, "real/log");
	char		*p = fpath(f, "link"), *p2 = fpath(f, "link2");
	char		*secret = fpath(f, "secret");

	tail_safety_ms = 50;
	assert_int_equal(mkdir(d, 0755), 0);
	put(secret, "nope\n", 5, O_TRUNC);
	append(real, "");
	assert_int_equal(symlink("link2", p), 0);	/* two, relative */
	assert_int_equal(symlink("real/log", p2), 0);
	t = open_tail(f, p, NULL, 8192, &s);
	assert_string_equal(t->file, real);
	append(real, "a\n");
	wait_lines(f->loop, &s, 1);

	/* Rotated by rename: the new file at the link's target name. */
	assert_int_equal(rename(real, secret), 0);
	append(real, "b\n");
	wait_lines(f->loop, &s, 2);
	assert_string_equal(seen_str(&s), "a|b");

	/* A link planted at the target's name is refused. */
	assert_int_equal(unlink(real), 0);
	assert_int_equal(symlink(secret, real), 0);
	run_for(f->loop, 4 * QUIET_MS);
	assert_string_equal(seen_str(&s), "a|b");
	tail_get_stats(t, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(unlink(real), 0);
	append(real, "c\n");
	wait_lines(f->loop, &s, 3);
	assert_string_equal(seen_str(&s), "a|b|c");
	tail_close(t);
	seen_clear(&s);
	free(d);
	free(real);
	free(p);
	free(p2);
	free(secret);
}

/* The hash is keyed: a position made under another key is another file's,
 * read from its start; under the same key, resumed. */
static void
test_keyed_head(void **state)
{
	struct fixture		*f = *state;
	struct seen		 s = { 0 };
	struct tail		*t;
	struct tail_pos		 pos;
	struct siphash_key	 other;
	char			*p = fpath(f, "log");

	append(p, "");
	t = open_tail(f, p, NULL, 8192, &s);
	append(p, "one\n");
	wait_lines(f->loop, &s, 1);
	tail_get_pos(t, &pos);
	tail_close(t);
	append(p, "two\n");
	seen_clear(&s);

	t = open_tail(f, p, &pos, 8192, &s);
	wait_lines(f->loop, &s, 1);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "two");
	tail_close(t);
	seen_clear(&s);

	siphash_key_seed(&other, 14);
	t = tail_open(f->loop, p, &pos, &other, 8192, seen_cb, &s, NULL);
	assert_non_null(t);
	wait_lines(f->loop, &s, 2);
	run_for(f->loop, QUIET_MS);
	assert_string_equal(seen_str(&s), "one|two");
	tail_close(t);
	seen_clear(&s);
	free(p);
}

static void
test_pos_format(void **state)
{
	struct tail_pos	 pos, back;
	char		 buf[TAIL_POS_STRLEN];

	(void)state;
	memset(&pos, 0, sizeof pos);
	pos.dev = UINT64_MAX;
	pos.ino = 12345;
	pos.offset = 1000;
	pos.headlen = TAIL_HEAD_MAX;
	pos.hash = 0x0123456789abcdefULL;
	tail_pos_format(&pos, buf, sizeof buf);
	assert_string_equal(buf, "dev=18446744073709551615 ino=12345 "
	    "offset=1000 headlen=64 hash=0123456789abcdef");
	assert_true(strlen(buf) < TAIL_POS_STRLEN - 1);
	assert_int_equal(tail_pos_parse(buf, &back), 0);
	assert_memory_equal(&pos, &back, sizeof pos);

	memset(&pos, 0, sizeof pos);
	tail_pos_format(&pos, buf, sizeof buf);
	assert_string_equal(buf, "dev=0 ino=0 offset=0 headlen=0 hash=-");
	assert_int_equal(tail_pos_parse(buf, &back), 0);
	assert_memory_equal(&pos, &back, sizeof pos);

	/* What sql/006 leaves of an old position: taken, without a hash. */
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 headlen=0 "
	    "hash=-", &back), 0);
	assert_int_equal(back.offset, 3);
	assert_int_equal(back.headlen, 0);

	assert_int_equal(tail_pos_parse("", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3", &back), -1);
	/* The old form, bytes and all, is no longer read. */
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 head=aabbcc",
	    &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 headlen=3 "
	    "hash=", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 headlen=3 "
	    "hash=-", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 headlen=0 "
	    "hash=0123456789abcdef", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 headlen=3 "
	    "hash=0123456789abcde", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 headlen=3 "
	    "hash=0123456789abcdef0", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=3 headlen=3 "
	    "hash=0123456789ABCDEF", &back), -1);
	/* More head than offset, or than is hashed, was not written by us. */
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=1 headlen=2 "
	    "hash=0123456789abcdef", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1 ino=2 offset=100 headlen=65 "
	    "hash=0123456789abcdef", &back), -1);
	assert_int_equal(tail_pos_parse("dev=-1 ino=2 offset=3 headlen=0 "
	    "hash=-", &back), -1);
	assert_int_equal(tail_pos_parse("dev=99999999999999999999 ino=2 "
	    "offset=3 headlen=0 hash=-", &back), -1);
	assert_int_equal(tail_pos_parse("dev=1  ino=2 offset=3 headlen=0 "
	    "hash=-", &back), -1);
}

static void
test_open_errors(void **state)
{
	struct fixture	*f = *state;
	struct seen	 s = { 0 };
	char		*cause = NULL;

	assert_null(tail_open(f->loop, "", NULL, &test_key, 10, seen_cb, &s,
	    &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_null(tail_open(f->loop, "/tmp/", NULL, &test_key, 10, seen_cb,
	    &s, &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_null(tail_open(f->loop, "/tmp/x", NULL, &test_key, 0, seen_cb,
	    &s, &cause));
	assert_non_null(cause);
	free(cause);
	tail_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_safety_slow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_partial_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_new_file_from_end, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rename_rotation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copytruncate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_late_writer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_rotations_away,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dateext, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compressed_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copytruncate_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_rotated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replaced_same_size,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_recreate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_toolong, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_binary, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slices, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_configured_link, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keyed_head, setup,
		    teardown),
		cmocka_unit_test(test_pos_format),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
		    teardown),
	};

	siphash_key_seed(&test_key, 13);
	return cmocka_run_group_tests_name("tail", tests, NULL, NULL);
}
