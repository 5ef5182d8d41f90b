/*
 * Unit tests for the journal source against real journal files, written
 * by systemd-journal-remote from the journal export format into a
 * temporary directory, read on a real event loop: the end at a first
 * start, new entries as they come with their own time, other units and
 * extra matches left out, binary and over-long MESSAGEs, the cursor
 * across a restart and a cursor whose entry is gone; the journal_match
 * syntax; the cursor's row in the store.  Skipped where
 * systemd-journal-remote is not installed.
 */
#include "unit.h"

#include "../../src/logsrc_journal.c"

#include <sys/stat.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "unit_budget.h"
#include "unit_db.h"

#define JREMOTE		"/lib/systemd/systemd-journal-remote"
#define GUARD_SECONDS	30
#define WAIT_MS		5000
#define QUIET_MS	300
#define T0		INT64_C(1700000000000000)

struct seen {
	char	 msg[32][128];
	size_t	 len[32];
	int64_t	 time[32];
	size_t	 n;
};

struct fixture {
	char		 dir[64];
	struct loop	*loop;
	struct seen	 seen;
	uint64_t	 seq;
};

static void
seen_cb(const char *msg, size_t len, int64_t t, void *arg)
{
	struct seen	*s = arg;

	assert_true(s->n < 32);
	assert_true(len < sizeof(s->msg[0]));
	memcpy(s->msg[s->n], msg, len);
	s->msg[s->n][len] = '\0';
	s->len[s->n] = len;
	s->time[s->n] = t;
	s->n++;
}

/*
 * Appends one entry to DIR/NAME in the export format: unit, MESSAGE (of
 * len bytes, written as a binary field), time T0 + the entry's number
 * seconds, and extra "FIELD=VALUE\n" text if not NULL.
 */
static void
jwrite(struct fixture *f, const char *name, const char *unit,
    const char *msg, size_t len, const char *extra)
{
	char		 cmd[256];
	FILE		*p;
	uint64_t	 le;
	int		 i;

	snprintf(cmd, sizeof(cmd), "%s --output=%s/%s --split-mode=none "
	    "- 2>/dev/null", JREMOTE, f->dir, name);
	assert_non_null(p = popen(cmd, "w"));
	f->seq++;
	fprintf(p, "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%llu\n"
	    "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=h\n"
	    "_SYSTEMD_UNIT=%s\n%s", (long long)(T0 + (int64_t)f->seq *
	    CLOCK_US_PER_SEC), (unsigned long long)f->seq, unit,
	    extra != NULL ? extra : "");
	fputs("MESSAGE\n", p);
	for (i = 0, le = len; i < 8; i++, le >>= 8)
		fputc((int)(le & 0xff), p);
	fwrite(msg, 1, len, p);
	fputs("\n\n", p);
	assert_int_equal(pclose(p), 0);
}

static void
jwrites(struct fixture *f, const char *msg)
{
	jwrite(f, "x.journal", "prosody.service", msg, strlen(msg), NULL);
}

/* Runs the loop until the callback has seen n messages (or a while). */
static void
wait_seen(struct fixture *f, size_t n)
{
	int64_t	end = clock_monotonic() + WAIT_MS * 1000;

	while (f->seen.n < n && clock_monotonic() < end)
		loop_run_once(f->loop, 50);
	assert_int_equal(f->seen.n, n);
}

/* Runs the loop a while: nothing more may arrive. */
static void
quiet(struct fixture *f)
{
	size_t	n = f->seen.n;
	int64_t	end = clock_monotonic() + QUIET_MS * 1000;

	while (clock_monotonic() < end)
		loop_run_once(f->loop, 20);
	assert_int_equal(f->seen.n, n);
}

static struct logsrc_journal *
jopen(struct fixture *f, const char *matches, const char *cursor,
    size_t maxline)
{
	struct logsrc_journal	*lj;
	char			*cause = NULL;

	lj = logsrc_journal_open(f->loop, "test", "prosody", matches, f->dir,
	    cursor, maxline, seen_cb, &f->seen, &cause);
	if (lj == NULL)
		fail_msg("%s", cause);
	return lj;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture	*f;
	char		*cause = NULL;

	if (access(JREMOTE, X_OK) == -1)
		skip();
	f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/xg-test-journal.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(f->loop = loop_new(&cause));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	if (f == NULL)
		return 0;
	loop_free(f->loop);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
test_follow(void **state)
{
	struct fixture		*f = *state;
	struct logsrc_journal	*lj;
	struct logsrc_journal_stats st;
	static const char	 bin[] = "a\0b\nc\xff";
	char			 big[200];

	/* History: not read at a first start. */
	jwrites(f, "old 1");
	jwrites(f, "old 2");
	lj = jopen(f, NULL, NULL, 100);
	assert_non_null(logsrc_journal_cursor(lj));
	quiet(f);

	/* New entries: in order, each with its own time. */
	jwrites(f, "new 1");
	wait_seen(f, 1);
	assert_string_equal(f->seen.msg[0], "new 1");
	assert_int_equal(f->seen.time[0], T0 + 3 * CLOCK_US_PER_SEC);
	/* Another unit, then a binary MESSAGE (NUL, newline, not UTF-8). */
	jwrite(f, "x.journal", "ejabberd.service", "other", 5, NULL);
	jwrite(f, "x.journal", "prosody.service", bin, sizeof(bin) - 1, NULL);
	wait_seen(f, 2);
	assert_int_equal(f->seen.len[1], sizeof(bin) - 1);
	assert_memory_equal(f->seen.msg[1], bin, sizeof(bin) - 1);
	/* Over max_line: counted and skipped; exactly max_line passes. */
	memset(big, 'x', sizeof(big));
	jwrite(f, "x.journal", "prosody.service", big, 101, NULL);
	jwrite(f, "x.journal", "prosody.service", big, 100, NULL);
	wait_seen(f, 3);
	assert_int_equal(f->seen.len[2], 100);
	/* A second file in the directory is found too. */
	jwrite(f, "y.journal", "prosody.service", "in y", 4, NULL);
	wait_seen(f, 4);
	assert_string_equal(f->seen.msg[3], "in y");
	quiet(f);
	logsrc_journal_get_stats(lj, &st);
	assert_int_equal(st.lines, 4);
	assert_int_equal(st.toolong, 1);
	assert_int_equal(st.errors, 0);
	logsrc_journal_close(lj);
}

/*
 * The time budget: each entry is made to cost COST_US (unit_budget.h's
 * clock runs ahead by that much per entry).
 */
#define COST_US		10
#define NBULK		3000

struct costly {
	uint64_t	 n;		/* entries seen */
	int		 order;		/* all in order so far */
};

static void
costly_cb(const char *msg, size_t len, int64_t t, void *arg)
{
	struct costly	*c = arg;
	char		 want[32];

	(void)t;
	snprintf(want, sizeof(want), "bulk %08" PRIu64, c->n);
	if (len != strlen(want) || memcmp(msg, want, len) != 0)
		c->order = 0;
	c->n++;
	unit_budget_ahead_us += COST_US;
}

/* NBULK entries at once, "bulk 00000000" on. */
static void
jwrite_bulk(struct fixture *f)
{
	char	 cmd[256];
	FILE	*p;
	int	 i;

	snprintf(cmd, sizeof(cmd), "%s --output=%s/x.journal "
	    "--split-mode=none - 2>/dev/null", JREMOTE, f->dir);
	assert_non_null(p = popen(cmd, "w"));
	for (i = 0; i < NBULK; i++) {
		f->seq++;
		fprintf(p, "__REALTIME_TIMESTAMP=%lld\n"
		    "__MONOTONIC_TIMESTAMP=%llu\n"
		    "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=h\n"
		    "_SYSTEMD_UNIT=prosody.service\nMESSAGE=bulk %08d\n\n",
		    (long long)(T0 + (int64_t)f->seq * CLOCK_US_PER_SEC),
		    (unsigned long long)f->seq, i);
	}
	assert_int_equal(pclose(p), 0);
}

/* A backlog read within the time budget: no wake-up passes more entries
 * than it allows, the rest follows without another write, every entry
 * once, in order. */
static void
test_budget(void **state)
{
	struct fixture		*f = *state;
	struct logsrc_journal	*lj;
	struct costly		 c = { .order = 1 };
	char			*cause = NULL;
	uint64_t		 most, allowed;
	int			 iters;

	allowed = unit_budget_allowed(COST_US, LOGSRC_JOURNAL_BUDGET_EVERY);
	jwrites(f, "old");
	lj = logsrc_journal_open(f->loop, "test", "prosody", NULL, f->dir,
	    NULL, 100, costly_cb, &c, &cause);
	if (lj == NULL)
		fail_msg("%s", cause);
	quiet(f);
	assert_int_equal(c.n, 0);

	jwrite_bulk(f);
	iters = unit_budget_run(f->loop, &c.n, NBULK, 5000, &most);
	assert_int_equal(c.n, NBULK);
	assert_true(c.order);
	assert_true(most > 0);
	assert_true(most <= allowed);
	assert_true(iters >= (int)(NBULK / allowed));
	quiet(f);
	assert_int_equal(c.n, NBULK);
	assert_null(lj->more);
	logsrc_journal_close(lj);
}

static void
test_matches(void **state)
{
	struct fixture		*f = *state;
	struct logsrc_journal	*lj;

	lj = jopen(f, "CONTAINER_NAME=prosody, SYSLOG_IDENTIFIER=prosody",
	    NULL, 100);
	jwrite(f, "x.journal", "prosody.service", "no fields", 9, NULL);
	jwrite(f, "x.journal", "prosody.service", "one field", 9,
	    "CONTAINER_NAME=prosody\n");
	jwrite(f, "x.journal", "prosody.service", "both", 4,
	    "CONTAINER_NAME=prosody\nSYSLOG_IDENTIFIER=prosody\n");
	jwrite(f, "x.journal", "prosody.service", "other", 5,
	    "CONTAINER_NAME=other\nSYSLOG_IDENTIFIER=prosody\n");
	wait_seen(f, 1);
	assert_string_equal(f->seen.msg[0], "both");
	quiet(f);
	logsrc_journal_close(lj);
}

static void
test_cursor(void **state)
{
	struct fixture		*f = *state;
	struct logsrc_journal	*lj;
	char			 cursor[LOGSRC_JOURNAL_CURSOR_MAX];

	lj = jopen(f, NULL, NULL, 100);
	/* An empty journal: whatever comes is new. */
	assert_null(logsrc_journal_cursor(lj));
	jwrites(f, "1");
	jwrites(f, "2");
	wait_seen(f, 2);
	snprintf(cursor, sizeof(cursor), "%s", logsrc_journal_cursor(lj));
	logsrc_journal_close(lj);

	/* Written while stopped: read after the restart, once. */
	jwrites(f, "3");
	jwrites(f, "4");
	lj = jopen(f, NULL, cursor, 100);
	wait_seen(f, 4);
	assert_string_equal(f->seen.msg[2], "3");
	assert_string_equal(f->seen.msg[3], "4");
	quiet(f);
	snprintf(cursor, sizeof(cursor), "%s", logsrc_journal_cursor(lj));
	logsrc_journal_close(lj);

	/* A cursor on the last entry, nothing since: nothing read. */
	lj = jopen(f, NULL, cursor, 100);
	quiet(f);
	jwrites(f, "5");
	wait_seen(f, 5);
	assert_string_equal(f->seen.msg[4], "5");
	logsrc_journal_close(lj);

	/* A cursor that is not one: from the end. */
	lj = jopen(f, NULL, "garbage", 100);
	quiet(f);
	logsrc_journal_close(lj);
}

static void
test_vacuumed(void **state)
{
	struct fixture		*f = *state;
	struct logsrc_journal	*lj;
	char			 cursor[LOGSRC_JOURNAL_CURSOR_MAX], path[128];

	lj = jopen(f, NULL, NULL, 100);
	jwrite(f, "a.journal", "prosody.service", "a1", 2, NULL);
	jwrite(f, "a.journal", "prosody.service", "a2", 2, NULL);
	wait_seen(f, 2);
	snprintf(cursor, sizeof(cursor), "%s", logsrc_journal_cursor(lj));
	logsrc_journal_close(lj);

	/* The file holding the cursor's entry goes; a newer one holds the
	 * entries after it. */
	jwrite(f, "b.journal", "prosody.service", "b3", 2, NULL);
	jwrite(f, "b.journal", "prosody.service", "b4", 2, NULL);
	snprintf(path, sizeof(path), "%s/a.journal", f->dir);
	assert_int_equal(unlink(path), 0);
	lj = jopen(f, NULL, cursor, 100);
	wait_seen(f, 4);
	assert_string_equal(f->seen.msg[2], "b3");
	assert_string_equal(f->seen.msg[3], "b4");
	quiet(f);
	logsrc_journal_close(lj);
}

static void
test_match_check(void **state)
{
	static const char *const good[] = {
		"A=b", "_SYSTEMD_UNIT=x.service", "A1=", " A=1 , B_2=x y ",
		"CONTAINER_NAME=prosody,SYSLOG_IDENTIFIER=prosody",
	};
	static const char *const bad[] = {
		"", " ", "a=b", "A", "=b", "1A=b", "A-B=c", "A=b,", ",A=b",
		"A=b,,B=c", "A B=c",
		("A234567890123456789012345678901234567890123456789012345678901234"
		"5=x"),
	};
	const char	*why;
	size_t		 i;
	char		*u;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (logsrc_journal_match_check(good[i], &why) != 0)
			fail_msg("%s: %s", good[i], why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (logsrc_journal_match_check(bad[i], &why) != -1)
			fail_msg("accepted: '%s'", bad[i]);
		assert_non_null(why);
	}
	assert_string_equal(u = logsrc_journal_unit("prosody"),
	    "prosody.service");
	free(u);
	assert_string_equal(u = logsrc_journal_unit("docker.socket"),
	    "docker.socket");
	free(u);
}

static void
test_store(void **state)
{
	struct store	*s;
	char		 path[64], buf[LOGSRC_JOURNAL_CURSOR_MAX];

	(void)state;
	s = unit_db_open(path, sizeof(path), "jcursor");
	assert_int_equal(store_journal_get(s, "p", "src", buf, sizeof(buf)),
	    -1);
	assert_int_equal(store_journal_set(s, "p", "src", "s=1;i=2", 1), 0);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_journal_get(s, "p", "src", buf, sizeof(buf)),
	    0);
	assert_string_equal(buf, "s=1;i=2");
	/* Another source (unit, matches, directory): not this cursor. */
	assert_int_equal(store_journal_get(s, "p", "other", buf,
	    sizeof(buf)), -1);
	assert_int_equal(store_journal_set(s, "p", "other", "s=3", 2), 0);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_journal_get(s, "p", "src", buf, sizeof(buf)),
	    -1);
	assert_int_equal(store_journal_get(s, "p", "other", buf, 4), 0);
	assert_int_equal(store_journal_get(s, "p", "other", buf, 3), -1);
	unit_db_close(s, path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_matches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vacuumed, setup,
		    teardown),
		cmocka_unit_test(test_match_check),
		cmocka_unit_test(test_store),
	};

	alarm(GUARD_SECONDS);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
