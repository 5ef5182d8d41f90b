/*
 * Losses into the store: the loss counters of registered status groups
 * (and only those: a counter of another family, or a skipped-lines reason
 * that is a refusal, is not a loss) written per hour as gains, a flush
 * with nothing new writes nothing, a flush that cannot write keeps its
 * gains for the next one, a counter that went down counts from zero, and
 * the report's read sums the hours of its period.  A real SQLite file.
 */
#include "../../src/losses.c"

#include "unit.h"

#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "../../src/store.h"

struct src {
	uint64_t	 dropped;	/* a loss */
	uint64_t	 overruns;	/* a loss */
	uint64_t	 too_long;	/* a loss (reason too_long) */
	uint64_t	 forged;	/* skipped on purpose: not a loss */
	uint64_t	 hits;		/* no loss family */
	const char	*name;
};

static void
src_get(const void *obj, size_t i, void *snap)
{
	memcpy(snap, (const struct src *)obj + i, sizeof(struct src));
}

static size_t
src_count(const void *obj)
{
	(void)obj;
	return 2;
}

#define SF(f)	offsetof(struct src, f)
static const struct status_field src_fields[] = {
	{ .name = "name", .type = STATUS_STR, .off = SF(name) },
	{ .name = "dropped", .type = STATUS_U64, .off = SF(dropped),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_dropped_total", .help = "",
	  .label = "source", .value = "events" },
	{ .name = "overruns", .type = STATUS_U64, .off = SF(overruns),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_conntrack_overruns_total", .help = "" },
	{ .name = "too_long", .type = STATUS_U64, .off = SF(too_long),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_log_skipped_lines_total", .help = "",
	  .label = "reason", .value = "too_long" },
	{ .name = "forged", .type = STATUS_U64, .off = SF(forged),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_log_skipped_lines_total", .help = "",
	  .label = "reason", .value = "forged" },
	{ .name = "hits", .type = STATUS_U64, .off = SF(hits),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_hits_total",
	  .help = "" },
	{ .name = NULL }
};

static const struct status_group one_group = {
	.name = "one", .fields = src_fields, .size = sizeof(struct src),
	.get = src_get,
};
static const struct status_group list_group = {
	.name = "list", .fields = src_fields, .size = sizeof(struct src),
	.get = src_get, .count = src_count, .item = "log",
};

struct fixture {
	char		 dir[64];
	char		 path[96];
	struct store	*store;
	struct status	*st;
	struct losses	*l;
	struct src	 one;
	struct src	 list[2];
};

#define HOUR	(3600 * CLOCK_US_PER_SEC)
#define T0	(1800000000LL * CLOCK_US_PER_SEC)	/* on the hour */

static int
fixture_rm(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));
	char		*cause = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_losses.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/xmppguard.db", f->dir);
	if ((f->store = store_open(f->path, 0, 100, &cause)) == NULL)
		return -1;
	f->list[0].name = "prosody";
	f->list[1].name = "ejabberd";
	f->st = status_new();
	status_add(f->st, &one_group, &f->one);
	status_add(f->st, &list_group, f->list);
	f->l = losses_new(f->st, f->store);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 rc;

	losses_free(f->l);
	status_free(f->st);
	store_close(f->store);
	rc = nftw(f->dir, fixture_rm, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

static void
flush_ok(struct fixture *f, int64_t now)
{
	char	*cause = NULL;

	if (losses_flush(f->l, now, &cause) == -1)
		fail_msg("losses_flush: %s", cause);
}

/* The count of (hour, what, labels), -1 when there is no such row. */
static int64_t
row(struct fixture *f, int64_t hour, const char *what, const char *labels)
{
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	assert_int_equal(sqlite3_prepare_v2(store_db(f->store), "SELECT count "
	    "FROM losses WHERE hour = ? AND what = ? AND labels = ?", -1, &st,
	    NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, hour);
	sqlite3_bind_text(st, 2, what, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, labels, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int64_t
nrows(struct fixture *f)
{
	sqlite3_stmt	*st;
	int64_t		 n;

	assert_int_equal(sqlite3_prepare_v2(store_db(f->store),
	    "SELECT count(*) FROM losses", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_gains_per_hour(void **state)
{
	struct fixture	*f = *state;

	/* Nothing lost: nothing written. */
	f->one.hits = 5;
	flush_ok(f, T0 + 10);
	assert_int_equal(nrows(f), 0);

	f->one.dropped = 100;
	f->one.overruns = 2;
	f->one.forged = 7;		/* refused, not lost */
	f->one.hits = 9;
	f->list[1].too_long = 3;
	f->list[1].forged = 4;
	flush_ok(f, T0 + 60 * CLOCK_US_PER_SEC);
	assert_int_equal(row(f, T0, "conntrack_dropped", "source=events"),
	    100);
	assert_int_equal(row(f, T0, "conntrack_overruns", ""), 2);
	assert_int_equal(row(f, T0, "log_skipped_lines",
	    "log=ejabberd,reason=too_long"), 3);
	assert_int_equal(nrows(f), 3);

	/* The same values again: nothing new. */
	flush_ok(f, T0 + 120 * CLOCK_US_PER_SEC);
	assert_int_equal(row(f, T0, "conntrack_dropped", "source=events"),
	    100);
	assert_int_equal(nrows(f), 3);

	/* Gains within the hour add up; the next hour has its own row. */
	f->one.dropped = 130;
	flush_ok(f, T0 + 30 * 60 * CLOCK_US_PER_SEC);
	assert_int_equal(row(f, T0, "conntrack_dropped", "source=events"),
	    130);
	f->one.dropped = 131;
	flush_ok(f, T0 + HOUR + 5);
	assert_int_equal(row(f, T0 + HOUR, "conntrack_dropped",
	    "source=events"), 1);
	assert_int_equal(row(f, T0, "conntrack_dropped", "source=events"),
	    130);
}

static void
test_failed_write_kept(void **state)
{
	struct fixture	*f = *state;
	char		*cause = NULL;

	f->one.dropped = 10;
	flush_ok(f, T0);
	/* Another writer holds the write lock: the flush fails ... */
	{
		sqlite3	*other;

		assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
		assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL,
		    NULL, NULL), SQLITE_OK);
		sqlite3_busy_timeout(store_db(f->store), 0);	/* no wait */
		f->one.dropped = 25;
		assert_int_equal(losses_flush(f->l, T0 + 1, &cause), -1);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "losses:"));
		free(cause);
		sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(other);
	}
	assert_int_equal(row(f, T0, "conntrack_dropped", "source=events"),
	    10);
	/* ... and the next one writes the gain, once. */
	flush_ok(f, T0 + 2);
	assert_int_equal(row(f, T0, "conntrack_dropped", "source=events"),
	    25);
	flush_ok(f, T0 + 3);
	assert_int_equal(row(f, T0, "conntrack_dropped", "source=events"),
	    25);
}

static void
test_counter_reset(void **state)
{
	struct fixture	*f = *state;

	f->list[0].too_long = 50;
	flush_ok(f, T0);
	/* The log was removed and added again by a reload: from zero. */
	f->list[0].too_long = 4;
	flush_ok(f, T0 + 1);
	assert_int_equal(row(f, T0, "log_skipped_lines",
	    "log=prosody,reason=too_long"), 54);
}

static void
test_load_and_purge(void **state)
{
	struct fixture		*f = *state;
	struct losses_row	 rows[4];
	char			*cause = NULL;

	f->one.dropped = 7;
	flush_ok(f, T0);
	f->one.dropped = 10;
	f->one.overruns = 1;
	flush_ok(f, T0 + HOUR);
	f->one.dropped = 12;
	flush_ok(f, T0 + 2 * HOUR);

	/* From the second hour on: 3 + 2 dropped, 1 overrun. */
	assert_int_equal(losses_load(store_db(f->store), T0 + HOUR, rows, 4,
	    &cause), 2);
	assert_string_equal(rows[0].what, "conntrack_dropped");
	assert_string_equal(rows[0].labels, "source=events");
	assert_int_equal(rows[0].count, 5);
	assert_string_equal(rows[1].what, "conntrack_overruns");
	assert_int_equal(rows[1].count, 1);
	/* At most max rows. */
	assert_int_equal(losses_load(store_db(f->store), T0, rows, 1,
	    &cause), 1);
	assert_int_equal(rows[0].count, 12);
	assert_non_null(losses_text("conntrack_dropped"));
	assert_null(losses_text("nonsense"));

	/* Purge before T0 + HOUR + 1: only the first hour is wholly before. */
	assert_int_equal(losses_purge(f->store, T0 + HOUR + 1, &cause), 1);
	assert_int_equal(losses_load(store_db(f->store), 0, rows, 4, &cause),
	    2);
	assert_int_equal(rows[0].count, 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gains_per_hour, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counter_reset, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load_and_purge, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
