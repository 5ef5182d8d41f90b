/*
 * Enforcement in simulated time, against a firewall backend of the test's
 * own that records every batch and refuses what it is told to: the bisect
 * of a refused batch, the retry with its growing pause while the firewall
 * is down, the restore at start (replace, or list and compare) from a real
 * SQLite store, and expiry by the soonest deadline.
 */
#include "../../src/enforce.c"

#include "fw_int.h"		/* the fake backend */
#include "ownaddr.h"
#include "unit.h"
#include "unit_db.h"

#include <string.h>
#include <unistd.h>

#define S	CLOCK_US_PER_SEC
#define T0	(INT64_C(1795924800) * S)

static int
same(const struct prefix *a, const struct prefix *b)
{
	return a->len == b->len && addr_eq(&a->addr, &b->addr);
}

/* The fake firewall: what it holds, what it was asked. */
#define FAKE_MAX	4096
static struct {
	int		 down;		/* refuses every batch */
	struct prefix	 bad;		/* refuses any batch holding it */
	int		 has_bad;
	size_t		 calls;		/* apply() calls */
	size_t		 replaces;
	struct prefix	 held[FAKE_MAX];	/* banned now */
	size_t		 nheld;
	size_t		 unbans;	/* FW_UNBAN applied */
	struct fw_entry	 listed[8];	/* what list() says */
	size_t		 nlisted;
} fake;

static void
fake_hold(const struct fw_op *op)
{
	size_t	i;

	for (i = 0; i < fake.nheld; i++)
		if (same(&fake.held[i], &op->prefix))
			break;
	if (op->kind == FW_UNBAN) {
		fake.unbans++;
		if (i < fake.nheld)
			fake.held[i] = fake.held[--fake.nheld];
	} else if (i == fake.nheld && fake.nheld < FAKE_MAX)
		fake.held[fake.nheld++] = op->prefix;
}

static int
fake_apply(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	size_t	i;

	(void)fw;
	fake.calls++;
	if (fake.down) {
		*cause = xstrdup("firewall down");
		return -1;
	}
	for (i = 0; fake.has_bad && i < n; i++)
		if (same(&ops[i].prefix, &fake.bad)) {
			*cause = xstrdup("overlapping interval");
			return -1;
		}
	for (i = 0; i < n; i++)
		fake_hold(&ops[i]);
	return 0;
}

static int
fake_replace(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	size_t	i;

	(void)fw;
	fake.replaces++;
	if (fake.down) {
		*cause = xstrdup("firewall down");
		return -1;
	}
	for (i = 0; fake.has_bad && i < n; i++)
		if (same(&ops[i].prefix, &fake.bad)) {
			*cause = xstrdup("overlapping interval");
			return -1;
		}
	fake.nheld = 0;
	while (n-- > 0)
		fake_hold(ops++);
	return 0;
}

static int
fake_list(struct fw *fw, struct fw_entry **entries, size_t *n, char **cause)
{
	(void)fw;
	(void)cause;
	*entries = xcalloc(fake.nlisted + 1, sizeof(**entries));
	memcpy(*entries, fake.listed, fake.nlisted * sizeof(**entries));
	*n = fake.nlisted;
	return 0;
}

static const struct fw_backend fake_replacing = {
	.name = "fake", .apply = fake_apply, .replace = fake_replace,
};
static const struct fw_backend fake_listing = {
	.name = "fake", .apply = fake_apply, .list = fake_list,
};

struct fx {
	char		 path[64];
	struct conf	*conf;
	struct store	*store;
	struct enforce	*e;
	struct ownaddr	*own;		/* NULL, or a fixed list */
};

static struct ban_stats
bstat(const struct fx *f)
{
	struct ban_stats	st;

	bans_get_stats(f->e->bans, &st);
	return st;
}

static struct prefix
pfx(const char *s)
{
	struct prefix	p;

	assert_int_equal(addr_prefix_parse(s, &p, 0), 0);
	return p;
}

static int
setup(void **state)
{
	struct fx	*f = xcalloc(1, sizeof(*f));
	char		*cause = NULL;

	memset(&fake, 0, sizeof(fake));
	assert_int_equal(conf_load(NULL, &f->conf, &cause), 0);
	/* A backend whose bans do not end by themselves: expiry must send
	 * the unbans. */
	f->conf->firewall = CONF_FW_COMMAND;
	f->conf->ban_kill = 0;
	f->store = unit_db_open(f->path, sizeof(f->path), "enforce");
	clock_fake_start(T0);
	log_set_level(LOG_LEVEL_ERR);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	enforce_stop(f->e);
	ownaddr_free(f->own);
	unit_db_close(f->store, f->path);
	conf_free(f->conf);
	clock_set_source(NULL, NULL);
	free(f);
	return 0;
}

static void
start(struct fx *f, const struct fw_backend *be)
{
	struct fw	*fw;
	char		*cause = NULL;

	fw = fw_open_backend(f->conf, NULL, be, NULL, &cause);
	assert_non_null(fw);
	f->e = enforce_new(f->conf, f->store, fw, f->own);
}

/* The nth address of 100.64.0.0/10 as a /32. */
static struct prefix
nth(unsigned n)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "100.64.%u.%u", n / 256, n % 256);
	return pfx(buf);
}

static int
held(const struct prefix *p)
{
	size_t	i;

	for (i = 0; i < fake.nheld; i++)
		if (same(&fake.held[i], p))
			return 1;
	return 0;
}

/* One refused operation among 1,000: a restore tried once, then found by
 * halving, its ban ended, the 999 others applied, in O(log n) batches
 * rather than one each. */
static void
test_bisect(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p;
	char		*cause = NULL;
	unsigned	 i;

	start(f, &fake_replacing);
	fake.bad = nth(617);
	fake.has_bad = 1;
	for (i = 0; i < 1000; i++) {
		p = nth(i);
		assert_int_equal(bans_manual(f->e->bans, &p, 600 * S,
		    FW_SCOPE_SERVICES, "t", T0, &cause), 0);
	}
	fake.calls = 0;
	enforce_flush(f->e);
	assert_int_equal(fake.nheld, 999);
	for (i = 0; i < 1000; i++) {
		p = nth(i);
		assert_int_equal(held(&p), i != 617);
	}
	/* 1 whole batch, then two halves per level down to the one. */
	assert_true(fake.calls <= 1 + 2 * 10);
	assert_int_equal(fake.replaces, 2);	/* at start, then once */
	assert_int_equal(f->e->retry_at, 0);
	/* What the firewall refused is not said to be in force. */
	p = nth(617);
	assert_null(bans_find(f->e->bans, &p));
	assert_int_equal(bstat(f).active, 999);
	/* Nothing is left queued: the bad one is not sent again. */
	fake.calls = 0;
	enforce_flush(f->e);
	assert_int_equal(fake.calls, 0);
}

/* The firewall layer refuses what ban.c let through (its own address
 * list knows one more): an error to the operator, the ban not in force,
 * not listed, its row ended; the others go through. */
static void
test_fw_refuses(void **state)
{
	struct fx		*f = *state;
	struct prefix		 p = pfx("192.0.2.7/32"), q = pfx("192.0.2.8/32");
	struct ownaddr		*fwown;
	char			*cause = NULL;

	start(f, &fake_replacing);
	fwown = ownaddr_fixed(&p.addr, 1);
	fw_set_own(f->e->fw, fwown);
	assert_int_equal(enforce_ban(f->e, &p, 0, FW_SCOPE_SERVICES, "t", &cause), -1);
	assert_string_equal(cause, "192.0.2.7/32 is never banned: refused by "
	    "the firewall: one of this host's own addresses");
	free(cause);
	assert_null(bans_find(f->e->bans, &p));
	assert_false(held(&p));
	assert_int_equal(unit_db_int(f->store, f->path, "SELECT count(*) "
	    "FROM bans WHERE lifted IS NULL"), 0);
	assert_int_equal(unit_db_int(f->store, f->path, "SELECT count(*) "
	    "FROM bans WHERE reason LIKE '%refused by the firewall%'"), 1);
	assert_int_equal(enforce_ban(f->e, &q, 0, FW_SCOPE_SERVICES, "t", &cause), 0);
	assert_true(held(&q));
	assert_int_equal(fw_stats(f->e->fw)->rejected, 1);
	fw_set_own(f->e->fw, NULL);
	ownaddr_free(fwown);
}

/* An address becomes one of the host's: its ban leaves the kernel at the
 * next flush; a reload's new [allow] does the same for its networks. */
static void
test_own_and_reload(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p = pfx("192.0.2.7/32"), q = pfx("203.0.113.0/24");
	struct prefix	 r = pfx("198.51.100.1/32");
	struct conf	*nconf;
	struct fw	*fw;
	char		*cause = NULL;

	f->own = ownaddr_fixed(NULL, 0);
	start(f, &fake_replacing);
	assert_int_equal(enforce_ban(f->e, &p, 0, FW_SCOPE_SERVICES, "t", &cause), 0);
	assert_int_equal(enforce_ban(f->e, &q, 0, FW_SCOPE_SERVICES, "t", &cause), 0);
	assert_int_equal(enforce_ban(f->e, &r, 0, FW_SCOPE_SERVICES, "t", &cause), 0);
	assert_true(held(&p) && held(&q) && held(&r));
	ownaddr_set(f->own, &p.addr, 1);
	assert_null(bans_find(f->e->bans, &p));
	enforce_flush(f->e);
	assert_false(held(&p));
	assert_true(held(&q));

	assert_int_equal(conf_load(NULL, &nconf, &cause), 0);
	nconf->firewall = CONF_FW_COMMAND;
	nconf->allow = xcalloc(1, sizeof(*nconf->allow));
	nconf->allow[0] = pfx("203.0.113.64/26");
	nconf->nallow = 1;
	assert_non_null(fw = fw_open_backend(nconf, NULL, &fake_replacing,
	    NULL, &cause));
	enforce_reload(f->e, nconf, fw);
	conf_free(f->conf);
	f->conf = nconf;
	assert_false(held(&q));
	assert_null(bans_find(f->e->bans, &q));
	assert_true(held(&r));
	assert_int_equal(unit_db_int(f->store, f->path, "SELECT count(*) "
	    "FROM bans WHERE lifted IS NULL"), 1);
}

/* The firewall down: nothing is lost, every ban stays in force; the next
 * attempt, one restore of the whole table, comes after a pause that
 * doubles from 100 ms up to 5 s, never at the next loop iteration; new
 * bans queue behind it; all are in once it is back. */
static void
test_retry(void **state)
{
	struct fx	*f = *state;
	struct prefix	 a = pfx("198.51.100.7/32"), b = pfx("198.51.100.8/32");
	char		*cause = NULL;
	size_t		 runs;
	int		 k;

	start(f, &fake_replacing);
	fake.down = 1;
	fake.replaces = 0;
	assert_int_equal(enforce_ban(f->e, &a, 600 * S, FW_SCOPE_SERVICES, "t",
	    &cause), 0);
	/* The batch, then a restore in case the table was gone. */
	assert_int_equal(fake.calls, 1);
	assert_int_equal(fake.replaces, 1);
	assert_int_equal(fake.nheld, 0);
	assert_int_equal(f->e->retry_at, T0 + 100 * CLOCK_US_PER_MS);
	assert_non_null(bans_find(f->e->bans, &a));

	/* Within the pause nothing is tried, whatever queues. */
	clock_fake_advance(50 * CLOCK_US_PER_MS);
	assert_int_equal(bans_manual(f->e->bans, &b, 600 * S, FW_SCOPE_SERVICES,
	    "t", clock_realtime(), &cause), 0);
	enforce_flush(f->e);
	assert_int_equal(fake.calls + fake.replaces, 2);

	/* After it, one run (a restore), and a pause twice as long. */
	clock_fake_advance(50 * CLOCK_US_PER_MS);
	enforce_flush(f->e);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(fake.replaces, 2);
	assert_int_equal(f->e->retry_at, clock_monotonic() +
	    200 * CLOCK_US_PER_MS);

	/* Down for a minute, the loop spinning every 10 ms: one run per
	 * pause, the pause capped at 5 s. */
	runs = fake.calls + fake.replaces;
	for (k = 0; k < 6000; k++) {
		clock_fake_advance(10 * CLOCK_US_PER_MS);
		enforce_flush(f->e);
		assert_true(f->e->backoff <= ENFORCE_RETRY_MAX_US);
	}
	runs = fake.calls + fake.replaces - runs;
	assert_true(runs >= 12 && runs <= 20);
	assert_int_equal(bstat(f).active, 2);

	/* Back up: everything in force goes in at the next attempt. */
	fake.down = 0;
	clock_fake_advance(5 * S);
	enforce_flush(f->e);
	assert_int_equal(fake.nheld, 2);
	assert_true(held(&a) && held(&b));
	assert_int_equal(f->e->retry_at, 0);
	assert_int_equal(f->e->backoff, ENFORCE_RETRY_MIN_US);
	assert_int_equal(fw_stats(f->e->fw)->restores, 1);
	/* Nothing left queued. */
	runs = fake.calls + fake.replaces;
	enforce_flush(f->e);
	assert_int_equal(fake.calls + fake.replaces, runs);
}

/* A backend that cannot restore: the batch again after each pause, the
 * bisect of a failing batch bounded (not 2n runs for nothing). */
static void
test_retry_bounded(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p;
	char		*cause = NULL;
	unsigned	 i;

	start(f, &fake_listing);
	fake.down = 1;
	for (i = 0; i < 1000; i++) {
		p = nth(i);
		assert_int_equal(bans_manual(f->e->bans, &p, 600 * S,
		    FW_SCOPE_SERVICES, "t", T0, &cause), 0);
	}
	fake.calls = 0;
	enforce_flush(f->e);
	/* The batch, down one side to a single operation (10 levels), its
	 * sibling: then it gives up. */
	assert_true(fake.calls <= 1 + 10 + 2);
	assert_int_equal(bstat(f).active, 1000);
	assert_int_equal(f->e->retry_at, clock_monotonic() +
	    100 * CLOCK_US_PER_MS);
	fake.down = 0;
	clock_fake_advance(S);
	enforce_flush(f->e);
	assert_int_equal(fake.nheld, 1000);
	assert_int_equal(f->e->retry_at, 0);
}

/* Bans in the store from an earlier run. */
static void
stored(struct fx *f, const char *prefix, int64_t since, int64_t expires)
{
	struct store_ban	row;

	memset(&row, 0, sizeof(row));
	row.prefix = pfx(prefix);
	row.rule = "churn";
	row.reason = "churn: earlier";
	row.source = "rule";
	row.since = since;
	row.expires = expires;
	row.count = 1;
	assert_true(store_ban_add(f->store, &row) > 0);
	store_flush(f->store);
}

/* Restart with a backend that replaces its sets: the store's live bans
 * become exactly what is in force, in one transaction, before anything
 * else; an expired one does not come back. */
static void
test_restore_replace(void **state)
{
	struct fx	*f = *state;
	struct prefix	 a = pfx("198.51.100.1/32"), b = pfx("198.51.100.2/32");
	struct prefix	 old = pfx("198.51.100.3/32"), stray;

	stored(f, "198.51.100.1/32", T0 - 60 * S, T0 + 60 * S);
	stored(f, "198.51.100.2/32", T0 - 60 * S, T0 + 600 * S);
	stored(f, "198.51.100.3/32", T0 - 600 * S, T0 - S);
	/* Whatever the kernel held before is replaced. */
	stray = pfx("203.0.113.9/32");
	fake.held[fake.nheld++] = stray;
	start(f, &fake_replacing);
	assert_int_equal(fake.replaces, 1);
	assert_int_equal(fake.calls, 0);
	assert_int_equal(fake.nheld, 2);
	assert_true(held(&a) && held(&b));
	assert_false(held(&old) || held(&stray));
	assert_int_equal(bans_next_expiry(f->e->bans), T0 + 60 * S);
}

/* Restart with a backend that can only list: what the store has and the
 * firewall lacks is added again (with its remaining time), what the
 * firewall has and the store does not know is taken out. */
static void
test_restore_reconcile(void **state)
{
	struct fx	*f = *state;
	struct prefix	 a = pfx("198.51.100.1/32"), b = pfx("198.51.100.2/32");
	struct prefix	 stray = pfx("203.0.113.9/32");

	stored(f, "198.51.100.1/32", T0 - 60 * S, T0 + 60 * S);
	stored(f, "198.51.100.2/32", T0 - 60 * S, T0 + 600 * S);
	fake.listed[0].prefix = a;
	fake.listed[1].prefix = stray;
	fake.nlisted = 2;
	fake.held[fake.nheld++] = a;
	fake.held[fake.nheld++] = stray;
	start(f, &fake_listing);
	assert_int_equal(fake.calls, 1);
	assert_true(held(&a) && held(&b));
	assert_false(held(&stray));
	assert_int_equal(fake.unbans, 1);
	assert_int_equal(bstat(f).readded, 1);
}

/* Expiry follows the soonest deadline: each timer run lifts what is due
 * and asks to be called at the next one (at most a minute ahead). */
static void
test_expiry(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p[3] = { pfx("198.51.100.1/32"),
	    pfx("198.51.100.2/32"), pfx("198.51.100.3/32") };
	int64_t		 dur[3] = { 10 * S, 20 * S, 5 * S };
	char		*cause = NULL;
	int		 i;

	start(f, &fake_replacing);
	assert_int_equal(enforce_expiry_ms(f->e), ENFORCE_IDLE_MS);
	for (i = 0; i < 3; i++)
		assert_int_equal(enforce_ban(f->e, &p[i], dur[i],
		    FW_SCOPE_SERVICES, "t", &cause), 0);
	assert_int_equal(fake.nheld, 3);
	assert_int_equal(enforce_expiry_ms(f->e), 5000);

	/* Early: nothing goes. */
	clock_fake_advance(4 * S);
	assert_int_equal(enforce_expire_cb(NULL, NULL, f->e), 1000);
	enforce_flush(f->e);
	assert_int_equal(fake.nheld, 3);

	/* The 5 s ban goes, and only it; next at 10 s. */
	clock_fake_advance(S);
	assert_int_equal(enforce_expire_cb(NULL, NULL, f->e), 5000);
	enforce_flush(f->e);
	assert_int_equal(fake.nheld, 2);
	assert_false(held(&p[2]));

	/* An extension moves the deadline: the 10 s ban to 65 s. */
	assert_int_equal(enforce_ban(f->e, &p[0], 60 * S, FW_SCOPE_SERVICES,
	    "longer", &cause), 0);
	assert_int_equal(enforce_expiry_ms(f->e), 15000);

	/* Late by much more than a deadline: both due at once. */
	clock_fake_advance(600 * S);
	assert_int_equal(enforce_expire_cb(NULL, NULL, f->e),
	    ENFORCE_IDLE_MS);
	enforce_flush(f->e);
	assert_int_equal(fake.nheld, 0);
	assert_int_equal(bstat(f).expired, 3);

	/* A far deadline is looked at again within a minute (a step of the
	 * wall clock); with no ban at all, nothing is. */
	assert_int_equal(enforce_ban(f->e, &p[1], 7200 * S, FW_SCOPE_SERVICES,
	    "t", &cause), 0);
	assert_int_equal(enforce_expiry_ms(f->e), ENFORCE_EXPIRE_MAX_MS);
	assert_int_equal(enforce_unban(f->e, &p[1], &cause), 0);
	assert_int_equal(enforce_expiry_ms(f->e), ENFORCE_IDLE_MS);
}

/* The heap under churn: random bans, extensions and lifts; expiry lifts
 * them in deadline order and each timer delay is the true next one. */
static void
test_expiry_order(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p;
	int64_t		 due[400], last = 0, next;
	char		*cause = NULL;
	unsigned	 i, seed = 12345, left;

	start(f, &fake_replacing);
	for (i = 0; i < 400; i++) {
		seed = seed * 1103515245U + 12345U;
		due[i] = (int64_t)(1 + (seed >> 8) % 3000) * S;
		p = nth(i);
		assert_int_equal(bans_manual(f->e->bans, &p, due[i],
		    FW_SCOPE_SERVICES, "t", T0, &cause), 0);
	}
	for (i = 0; i < 400; i += 7) {		/* some lifted */
		p = nth(i);
		assert_int_equal(bans_lift(f->e->bans, &p, T0, &cause), 0);
		due[i] = 0;
	}
	for (i = 3; i < 400; i += 11) {		/* some made longer */
		if (due[i] == 0)
			continue;
		p = nth(i);
		due[i] += 100 * S;
		assert_int_equal(bans_manual(f->e->bans, &p, due[i],
		    FW_SCOPE_SERVICES, "t", T0, &cause), 0);
	}
	enforce_flush(f->e);
	for (left = bstat(f).active; left > 0; left = bstat(f).active) {
		next = bans_next_expiry(f->e->bans) - T0;
		assert_true(next >= last);
		for (i = 0; i < 400; i++)	/* it is the true minimum */
			assert_true(due[i] == 0 || due[i] >= next);
		clock_fake_start(T0 + next);
		enforce_expire_cb(NULL, NULL, f->e);
		assert_true(bstat(f).active < left);
		for (i = 0; i < 400; i++) {
			if (due[i] != 0 && due[i] <= next) {
				p = nth(i);
				assert_null(bans_find(f->e->bans, &p));
				due[i] = 0;
			}
		}
		last = next;
	}
	for (i = 0; i < 400; i++)
		assert_int_equal(due[i], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bisect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fw_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_own_and_reload, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restore_replace, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restore_reconcile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_order, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
