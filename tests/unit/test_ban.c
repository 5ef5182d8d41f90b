/*
 * Bans: widening to [ban] prefix4/prefix6, never a weapon, escalation
 * remembered in a real SQLite store, extension, expiry, manual bans and
 * lifts, the firewall batch with retry, and the restart reconcile.
 */
#include "../../src/ban.c"

#include "ownaddr.h"
#include "unit.h"
#include "unit_db.h"

#include <sqlite3.h>

#include <unistd.h>

#define S	INT64_C(1000000)
#define T0	(INT64_C(1795924800) * S)

struct fx {
	char		 path[64];
	struct conf	*conf;
	struct store	*store;
	struct bans	*bs;
	struct ownaddr	*own;		/* a fixed list, no netlink */
};

static struct prefix
pfx(const char *s)
{
	struct prefix	p;

	assert_int_equal(addr_prefix_parse(s, &p, 0), 0);
	return p;
}

static struct verdict
verdict(const char *prefix, enum verdict_rule rule)
{
	struct verdict	v;

	memset(&v, 0, sizeof(v));
	v.prefix = pfx(prefix);
	v.rule = rule;
	v.time = T0;
	snprintf(v.reason, sizeof(v.reason), "%s: test", verdict_rule_name(
	    rule));
	return v;
}

static int
setup(void **state)
{
	struct fx	*f = xcalloc(1, sizeof(*f));
	char		*cause = NULL;

	assert_int_equal(conf_load(NULL, &f->conf, &cause), 0);
	f->store = unit_db_open(f->path, sizeof(f->path), "ban");
	f->bs = bans_new(f->conf, f->store);
	f->own = ownaddr_fixed(NULL, 0);
	bans_set_own(f->bs, f->own);
	log_set_level(LOG_LEVEL_ERR);		/* one line per ban */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	bans_free(f->bs);
	ownaddr_free(f->own);
	unit_db_close(f->store, f->path);
	conf_free(f->conf);
	free(f);
	return 0;
}

static char	kill_scopes[64];	/* of batch()'s kills */

/* The pending batch as text: "+198.51.100.7/32 600 -192.0.2.9/32 ..."
 * (+ ban, ~ throttle, with seconds; - unban). */
static const char *
batch(struct bans *bs, size_t *nkills)
{
	static char		 buf[4096];
	const struct fw_op	*ops, *kills;
	char			 p[ADDR_PREFIX_STRLEN];
	size_t			 n, i, len = 0;

	n = bans_pending(bs, &ops, &kills, nkills);
	/* The kills' scopes, one letter each, for the tests to look at. */
	for (i = 0; i < *nkills && i < sizeof(kill_scopes) - 1; i++)
		kill_scopes[i] = kills[i].scope == FW_SCOPE_PROXY ? 'p' : 's';
	kill_scopes[i] = '\0';
	buf[0] = '\0';
	for (i = 0; i < n && len < sizeof(buf) - 64; i++) {
		addr_prefix_ntop(&ops[i].prefix, p, sizeof(p));
		if (ops[i].kind == FW_UNBAN)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%s-%s", i > 0 ? " " : "", p);
		else
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%s%c%s %lld", i > 0 ? " " : "",
			    ops[i].kind == FW_THROTTLE ? '~' : '+', p,
			    (long long)(ops[i].duration / S));
	}
	return buf;
}

static void
test_verdict_to_ban(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	size_t			 nk;
	const struct ban	*b;

	/* An IPv4 host stays a /32, an IPv6 host becomes its /64. */
	v = verdict("198.51.100.7", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	v = verdict("2001:db8:1:2::99", VERDICT_CONCURRENCY);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	assert_string_equal(batch(f->bs, &nk),
	    "+198.51.100.7/32 600 +2001:db8:1:2::/64 600");
	assert_int_equal(nk, 2);		/* kill_established */
	assert_non_null(b = bans_find(f->bs, &(struct prefix){
	    pfx("2001:db8:1:2::/64").addr, 64 }));
	assert_int_equal(b->count, 1);
	assert_int_equal(b->expires, T0 + 600 * S);
	/* The store has both. */
	assert_int_equal(unit_db_int(f->store, f->path,
	    "SELECT count(*) FROM bans WHERE lifted IS NULL"), 2);

	/* Allowlisted and held verdicts are not bans. */
	v = verdict("198.51.100.8", VERDICT_CHURN);
	v.allowlisted = 1;
	assert_int_equal(bans_verdict(f->bs, &v, T0), 0);
	v.allowlisted = 0;
	v.held = 1;
	assert_int_equal(bans_verdict(f->bs, &v, T0), 0);
	assert_string_equal(batch(f->bs, &nk), "");
}

static void
test_never_a_weapon(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	struct addr	 own;
	struct prefix	 p;
	char		*cause = NULL;
	size_t		 nk;
	static const char *const never[] = {
		"127.0.0.1", "::1", "169.254.3.4", "fe80::1", "224.0.0.5",
		"ff02::1", "0.0.0.0", "::",
	};
	size_t		 i;

	assert_int_equal(addr_parse("192.0.2.1", &own, NULL), 0);
	ownaddr_set(f->own, &own, 1);
	f->conf->allow = xcalloc(1, sizeof(*f->conf->allow));
	f->conf->allow[0] = pfx("203.0.113.0/24");
	f->conf->nallow = 1;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		v = verdict(never[i], VERDICT_CHURN);
		assert_int_equal(bans_verdict(f->bs, &v, T0), 0);
	}
	/* The host's own address, alone or inside a network. */
	v = verdict("192.0.2.1", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 0);
	p = pfx("192.0.2.0/24");
	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "x", T0, &cause), -1);
	assert_non_null(strstr(cause, "own addresses"));
	free(cause);
	/* Allowlisted, and a network holding allowlisted addresses. */
	p = pfx("203.0.113.9");
	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "x", T0, &cause), -1);
	free(cause);
	p = pfx("203.0.0.0/16");
	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "x", T0, &cause), -1);
	free(cause);
	assert_string_equal(batch(f->bs, &nk), "");
	assert_int_equal(f->bs->st.refused, 12);
}

/* 10m, x4 each time within memory, capped at max_duration. */
/* A widened prefix that holds an address never banned: the offender is
 * banned alone, and the reason says why no wider; the address never
 * banned stays refused. */
static void
test_narrowed(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	struct addr		 own;
	const struct ban	*b;
	size_t			 nk;

	assert_int_equal(addr_parse("2001:db8:1:2::1", &own, NULL), 0);
	ownaddr_set(f->own, &own, 1);
	f->conf->allow = xcalloc(1, sizeof(*f->conf->allow));
	f->conf->allow[0] = pfx("2001:db8:7:7::10/128");
	f->conf->nallow = 1;
	v = verdict("2001:db8:1:2::99", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	v = verdict("2001:db8:7:7::11", VERDICT_AUTH);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	assert_string_equal(batch(f->bs, &nk),
	    "+2001:db8:1:2::99/128 600 +2001:db8:7:7::11/128 600");
	assert_non_null(b = bans_find(f->bs, &(struct prefix){
	    pfx("2001:db8:1:2::99").addr, 128 }));
	assert_non_null(strstr(b->reason, "churn: test; this address only, "
	    "its /64 is never banned: one of this host's own addresses"));
	assert_null(bans_find(f->bs, &(struct prefix){
	    pfx("2001:db8:1:2::").addr, 64 }));
	assert_int_equal(f->bs->st.narrowed, 2);
	/* The addresses themselves: refused, nothing narrower exists. */
	v = verdict("2001:db8:1:2::1", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 0);
	v = verdict("2001:db8:7:7::10", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 0);
	assert_int_equal(f->bs->st.refused, 2);
	assert_int_equal(f->bs->st.narrowed, 2);
}

/* The store's row of a prefix's latest ban: its reason (caller frees),
 * and whether it ended (lifted set). */
static char *
row_reason(struct fx *f, const char *addr, int *lifted)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		*r = NULL;

	store_flush(f->store);
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT reason, lifted IS "
	    "NOT NULL FROM bans WHERE addr = ?1 ORDER BY id DESC LIMIT 1",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	r = xstrdup((const char *)sqlite3_column_text(st, 0));
	*lifted = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* An address becomes one of the host's: every ban holding it ends at
 * once, unbanned, its row ended with the reason; the others stay. */
static void
test_own_added(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p;
	struct addr	 a;
	struct ban_stats st;
	char		*cause = NULL, *r;
	size_t		 nk;
	int		 lifted;

	p = pfx("192.0.2.7");
	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "x", T0, &cause), 0);
	p = pfx("198.51.100.0/24");
	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "y", T0, &cause), 0);
	p = pfx("2001:db8:5::/48");
	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "z", T0, &cause), 0);
	(void)batch(f->bs, &nk);
	store_flush(f->store);

	assert_int_equal(addr_parse("192.0.2.7", &a, NULL), 0);
	ownaddr_set(f->own, &a, 1);
	assert_int_equal(bans_recheck(f->bs, &a, T0 + S), 1);
	assert_int_equal(addr_parse("198.51.100.77", &a, NULL), 0);
	ownaddr_set(f->own, &a, 1);
	assert_int_equal(bans_recheck(f->bs, &a, T0 + S), 1);
	/* Not in any ban: nothing. */
	assert_int_equal(addr_parse("2001:db8:6::1", &a, NULL), 0);
	assert_int_equal(bans_recheck(f->bs, &a, T0 + S), 0);
	assert_string_equal(batch(f->bs, &nk),
	    "-192.0.2.7/32 -198.51.100.0/24");
	bans_get_stats(f->bs, &st);
	assert_int_equal(st.revoked, 2);
	assert_int_equal(st.unbans, 0);
	assert_null(bans_find(f->bs, &(struct prefix){
	    pfx("192.0.2.7").addr, 32 }));
	assert_non_null(bans_find(f->bs, &(struct prefix){
	    pfx("2001:db8:5::").addr, 48 }));
	store_flush(f->store);
	r = row_reason(f, "192.0.2.7", &lifted);
	assert_int_equal(lifted, 1);
	assert_string_equal(r, "x; lifted: 192.0.2.7 is now one of this "
	    "host's addresses");
	free(r);
	r = row_reason(f, "198.51.100.0", &lifted);
	assert_int_equal(lifted, 1);
	assert_non_null(strstr(r, "198.51.100.77 is now one of this host's"));
	free(r);
	/* And from now on refused. */
	p = pfx("192.0.2.7");
	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "x", T0, &cause), -1);
	assert_non_null(strstr(cause, "own addresses"));
	free(cause);
	/* A restart does not bring them back. */
	assert_int_equal(unit_db_int(f->store, f->path,
	    "SELECT count(*) FROM bans WHERE lifted IS NULL"), 1);
}

/* A reload: the bans the new [allow] forbids end, kernel and store. */
static void
test_recheck_reload(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	char		*r;
	size_t		 nk;
	int		 lifted;

	v = verdict("203.0.113.5", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	v = verdict("198.51.100.7", VERDICT_AUTH);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	(void)batch(f->bs, &nk);
	assert_int_equal(bans_recheck(f->bs, NULL, T0), 0);

	f->conf->allow = xcalloc(1, sizeof(*f->conf->allow));
	f->conf->allow[0] = pfx("203.0.113.0/24");
	f->conf->nallow = 1;
	assert_int_equal(bans_recheck(f->bs, NULL, T0 + S), 1);
	assert_string_equal(batch(f->bs, &nk), "-203.0.113.5/32");
	assert_null(bans_find(f->bs, &(struct prefix){
	    pfx("203.0.113.5").addr, 32 }));
	assert_non_null(bans_find(f->bs, &(struct prefix){
	    pfx("198.51.100.7").addr, 32 }));
	store_flush(f->store);
	r = row_reason(f, "203.0.113.5", &lifted);
	assert_int_equal(lifted, 1);
	assert_string_equal(r, "churn: test; lifted: never banned now: "
	    "allowlisted, a proxy, or loopback");
	free(r);
	r = row_reason(f, "198.51.100.7", &lifted);
	assert_int_equal(lifted, 0);
	free(r);
}

/* The firewall layer refused a ban: it leaves the table and the store,
 * with no unban (the kernel never had it). */
static void
test_drop(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p = pfx("192.0.2.55");
	char		*cause = NULL, *r;
	size_t		 nk;
	int		 lifted;

	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    NULL, T0, &cause), 0);
	(void)batch(f->bs, &nk);
	assert_int_equal(bans_drop(f->bs, &p, "one of this host's own "
	    "addresses", T0), 0);
	assert_null(bans_find(f->bs, &p));
	assert_string_equal(batch(f->bs, &nk), "");
	assert_int_equal(bans_drop(f->bs, &p, "again", T0), -1);
	store_flush(f->store);
	r = row_reason(f, "192.0.2.55", &lifted);
	assert_int_equal(lifted, 1);
	assert_string_equal(r, "manual: banned by an operator; refused by "
	    "the firewall: one of this host's own addresses");
	free(r);
	assert_int_equal(f->bs->st.refused, 1);
}

/* A reason goes to backends as one word: never read as an option. */
static void
test_reason_option(void **state)
{
	struct fx		*f = *state;
	struct prefix		 p = pfx("198.51.100.44");
	const struct fw_op	*ops;
	char			*cause = NULL;
	size_t			 n;

	assert_int_equal(bans_manual(f->bs, &p, 0, FW_SCOPE_SERVICES,
	    "--delete-all \"x\"", T0,
	    &cause), 0);
	assert_string_equal(bans_find(f->bs, &p)->reason,
	    "_-delete-all _x_");
	n = bans_pending(f->bs, &ops, NULL, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].reason[0], '_');
}

static void
test_escalation(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	int64_t		 now = T0;

	f->conf->ban_memory = 30 * 86400 * S;
	static const int64_t want[] = { 600, 2400, 9600, 38400, 153600,
	    604800, 604800 };
	size_t		 i, nk;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		v = verdict("198.51.100.9", VERDICT_AUTH);
		assert_int_equal(bans_verdict(f->bs, &v, now), 1);
		assert_int_equal(bans_find(f->bs, &v.prefix)->expires - now,
		    want[i] * S);
		assert_int_equal(bans_find(f->bs, &v.prefix)->count, i + 1);
		(void)batch(f->bs, &nk);
		bans_expire(f->bs, now + want[i] * S, 0);
		assert_null(bans_find(f->bs, &v.prefix));
		now += want[i] * S + S;
	}
	/* Beyond memory, it starts again. */
	now += 31 * 86400 * S;
	v = verdict("198.51.100.9", VERDICT_AUTH);
	assert_int_equal(bans_verdict(f->bs, &v, now), 1);
	assert_int_equal(bans_find(f->bs, &v.prefix)->count, 1);

	/* A rule of its own: auth bans from 1h, churn ones as before. */
	f->conf->ban_rule_duration[VERDICT_AUTH] = 3600 * S;
	v = verdict("198.51.100.30", VERDICT_AUTH);
	assert_int_equal(bans_verdict(f->bs, &v, now), 1);
	assert_int_equal(bans_find(f->bs, &v.prefix)->expires - now,
	    3600 * S);
	v = verdict("198.51.100.31", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, now), 1);
	assert_int_equal(bans_find(f->bs, &v.prefix)->expires - now,
	    600 * S);
}

static void
test_extend_and_lift(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	struct prefix	 p = pfx("198.51.100.10");
	char		*cause = NULL;
	size_t		 nk;

	v = verdict("198.51.100.10", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	(void)batch(f->bs, &nk);
	/* A later verdict while banned: longer, sent as unban + ban. */
	assert_int_equal(bans_verdict(f->bs, &v, T0 + 300 * S), 1);
	assert_string_equal(batch(f->bs, &nk),
	    "-198.51.100.10/32 +198.51.100.10/32 600");
	assert_int_equal(nk, 0);
	/* A shorter one changes nothing. */
	assert_int_equal(bans_manual(f->bs, &p, 10 * S, FW_SCOPE_SERVICES,
	    "short", T0 + 301 * S,
	    &cause), -1);
	free(cause);
	/* Lifted by an operator; a second lift says so. */
	assert_int_equal(bans_lift(f->bs, &p, T0 + 400 * S, &cause), 0);
	assert_string_equal(batch(f->bs, &nk), "-198.51.100.10/32");
	assert_int_equal(bans_lift(f->bs, &p, T0 + 400 * S, &cause), -1);
	free(cause);
	assert_int_equal(unit_db_int(f->store, f->path,
	    "SELECT count(*) FROM bans WHERE lifted IS NOT NULL"), 1);
	/* Expiry without kernel timeouts sends the unban. */
	assert_int_equal(bans_manual(f->bs, &p, 5 * S, FW_SCOPE_SERVICES,
	    "m", T0, &cause), 0);
	(void)batch(f->bs, &nk);
	bans_expire(f->bs, T0 + 6 * S, 1);
	assert_string_equal(batch(f->bs, &nk), "-198.51.100.10/32");
}

static void
test_retry(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	size_t		 nk;

	v = verdict("198.51.100.11", VERDICT_KARMA);
	f->conf->ban_karma = CONF_KARMA_THROTTLE;
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	assert_string_equal(batch(f->bs, &nk), "~198.51.100.11/32 600");
	assert_int_equal(nk, 0);		/* a throttle kills nothing */
	bans_retry(f->bs);
	v = verdict("198.51.100.12", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	assert_string_equal(batch(f->bs, &nk),
	    "~198.51.100.11/32 600 +198.51.100.12/32 600");
	assert_string_equal(batch(f->bs, &nk), "");
}

/*
 * A restart: the bans in force come back from the store; the firewall's
 * list says one is missing (added again with its time left) and one is
 * unknown (removed).
 */
static void
test_restore(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	struct bans		*again;
	struct fw_entry		 e[2];
	size_t			 nk;

	v = verdict("198.51.100.20", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	v = verdict("198.51.100.21", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	store_flush(f->store);

	again = bans_new(f->conf, f->store);
	memset(e, 0, sizeof(e));
	e[0].prefix = pfx("198.51.100.20");
	e[0].remaining = 500 * S;
	e[1].prefix = pfx("192.0.2.200");
	assert_int_equal(bans_load(again, T0 + 100 * S), 2);
	bans_reconcile(again, T0 + 100 * S, e, 2);
	assert_int_equal(again->st.restored, 2);
	assert_int_equal(again->st.readded, 1);
	assert_string_equal(batch(again, &nk),
	    "+198.51.100.21/32 500 -192.0.2.200/32");
	assert_int_equal(nk, 0);	/* no session to end: old news */
	assert_non_null(bans_find(again, &v.prefix));
	/* Expired ones stay out. */
	bans_free(again);
	again = bans_new(f->conf, f->store);
	assert_int_equal(bans_load(again, T0 + 700 * S), 0);
	assert_int_equal(again->st.restored, 0);
	bans_free(again);
}

/* The store refuses writes (here read-only; a full disk alike). */
static void
store_writable(struct fx *f, int yes)
{
	assert_int_equal(sqlite3_exec(store_db(f->store), yes ?
	    "PRAGMA query_only = 0" : "PRAGMA query_only = 1", NULL, NULL,
	    NULL), SQLITE_OK);
}

/*
 * Bans the store could not record: in force all the same, counted
 * unsaved, written again at once and then after a pause doubling from
 * 1 s to 8 s; saved once the store can be written, each once.
 */
static void
test_unsaved(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	struct prefix	 p;
	char		*cause = NULL;
	int64_t		 now = T0, next;
	int		 i, tries;

	store_writable(f, 0);
	for (i = 0; i < 3; i++) {
		v = verdict(i == 0 ? "198.51.100.30" : i == 1 ?
		    "198.51.100.31" : "198.51.100.32", VERDICT_CHURN);
		assert_int_equal(bans_verdict(f->bs, &v, now), 1);
	}
	store_flush(f->store);
	next = bans_persist(f->bs, now);
	assert_int_equal(f->bs->st.active, 3);
	assert_int_equal(f->bs->st.unsaved, 3);
	assert_string_equal(bans_save_error(f->bs),
	    "attempt to write a readonly database");
	assert_int_equal(next, now + S);
	/* Not before its time. */
	assert_int_equal(bans_persist(f->bs, now + S / 2), now + S);
	/* Tried again: 1 s, 2 s, 4 s, 8 s, 8 s... */
	now += S;
	for (tries = 0; tries < 6; tries++) {
		next = bans_persist(f->bs, now);
		assert_true(next - now <= 8 * S);
		assert_int_equal(next - now, tries < 3 ? (2 * S) << tries :
		    8 * S);
		now = next;
	}
	/* A lift of an unsaved ban: one fewer waits. */
	p = pfx("198.51.100.31/32");
	assert_int_equal(bans_lift(f->bs, &p, now, &cause), 0);
	assert_int_equal(f->bs->st.unsaved, 2);
	/* Writable again: saved at the next attempt, once. */
	store_writable(f, 1);
	assert_int_equal(bans_persist(f->bs, now), INT64_MAX);
	assert_int_equal(f->bs->st.unsaved, 0);
	assert_int_equal(f->bs->st.saved, 2);
	assert_string_equal(bans_save_error(f->bs), "");
	assert_int_equal(unit_db_int(f->store, f->path, "SELECT count(*) "
	    "FROM bans WHERE lifted IS NULL"), 2);
	/* A later loss of the same bans' rows: found, not written twice. */
	f->bs->b[ban_lookup(f->bs, &v.prefix)].unsaved = 1;
	f->bs->st.unsaved = 1;
	assert_int_equal(bans_persist(f->bs, now), INT64_MAX);
	assert_int_equal(unit_db_int(f->store, f->path, "SELECT count(*) "
	    "FROM bans"), 2);
}

/* At start, the kernel's elements the store lacks are adopted (their
 * time left), marked unsaved, and saved; those without a timeout are
 * not. */
static void
test_adopt(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	struct bans		*again;
	struct fw_entry		 e[3];
	struct prefix		 p = pfx("192.0.2.200/32");
	const struct ban	*b;

	v = verdict("198.51.100.20", VERDICT_CHURN);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	store_flush(f->store);
	assert_int_equal(bans_persist(f->bs, T0), INT64_MAX);

	again = bans_new(f->conf, f->store);
	memset(e, 0, sizeof(e));
	e[0].prefix = pfx("198.51.100.20");
	e[0].remaining = 500 * S;
	e[1].prefix = p;
	e[1].remaining = 300 * S;
	e[2].prefix = pfx("192.0.2.201");	/* no timeout */
	assert_int_equal(bans_load(again, T0 + 100 * S), 1);
	assert_int_equal(bans_adopt(again, e, 3, T0 + 100 * S), 1);
	assert_non_null(b = bans_find(again, &p));
	assert_int_equal(b->expires, T0 + 400 * S);
	assert_true(b->unsaved);
	assert_int_equal(again->st.adopted, 1);
	assert_int_equal(bans_persist(again, T0 + 100 * S), INT64_MAX);
	assert_int_equal(again->st.unsaved, 0);
	assert_int_equal(unit_db_int(f->store, f->path, "SELECT count(*) "
	    "FROM bans WHERE addr = '192.0.2.200' AND lifted IS NULL"), 1);
	/* The holder the watcher asks about. */
	assert_true(bans_holds(again, &p.addr, 0, T0 + 100 * S));
	assert_false(bans_holds(again, &p.addr, 0, T0 + 399 * S));
	bans_free(again);
}

/* Interval sets refuse overlaps: a wider ban absorbs the narrower. */
static void
test_overlap(void **state)
{
	struct fx	*f = *state;
	struct prefix	 p;
	char		*cause = NULL;
	size_t		 nk;

	p = pfx("203.0.113.0/25");
	assert_int_equal(bans_manual(f->bs, &p, 3600 * S, FW_SCOPE_SERVICES,
	    "a", T0, &cause),
	    0);
	(void)batch(f->bs, &nk);
	p = pfx("203.0.113.0/24");
	assert_int_equal(bans_manual(f->bs, &p, 600 * S, FW_SCOPE_SERVICES,
	    "b", T0, &cause), 0);
	/* The /25 makes way; the /24 keeps the longer time. */
	assert_string_equal(batch(f->bs, &nk),
	    "-203.0.113.0/25 +203.0.113.0/24 3600");
	assert_int_equal(f->bs->n, 1);
	p = pfx("203.0.113.64/26");
	assert_int_equal(bans_manual(f->bs, &p, 600 * S, FW_SCOPE_SERVICES,
	    "c", T0, &cause),
	    -1);
	assert_non_null(strstr(cause, "inside a network banned already"));
	free(cause);
	assert_string_equal(batch(f->bs, &nk), "");
	/* A host inside is another set: no overlap to refuse. */
	p = pfx("203.0.113.9");
	assert_int_equal(bans_manual(f->bs, &p, 600 * S, FW_SCOPE_SERVICES,
	    "d", T0, &cause), 0);
	assert_string_equal(batch(f->bs, &nk), "+203.0.113.9/32 600");
}

/*
 * Which ban holds an address (a late session's), by the prefix lengths in
 * force only, and whether its kill still waits for the flush.
 */
static void
test_covering(void **state)
{
	struct fx		*f = *state;
	struct prefix		 p;
	struct addr		 a;
	const struct ban	*b;
	char			*cause = NULL;
	char			 buf[ADDR_PREFIX_STRLEN];
	size_t			 nk;
	uint16_t		 port;

	f->conf->ban_kill = 1;
	assert_int_equal(addr_parse("203.0.113.77", &a, &port), 0);
	assert_null(bans_covering(f->bs, &a, T0));
	p = pfx("203.0.113.0/24");
	assert_int_equal(bans_manual(f->bs, &p, 600 * S, FW_SCOPE_SERVICES,
	    "net", T0, &cause), 0);
	assert_non_null(b = bans_covering(f->bs, &a, T0));
	assert_string_equal(addr_prefix_ntop(&b->prefix, buf, sizeof(buf)),
	    "203.0.113.0/24");
	/* Queued until the flush hands it out, then not. */
	assert_int_equal(bans_kill_queued(f->bs, &b->prefix), 1);
	(void)batch(f->bs, &nk);
	assert_int_equal(nk, 1);
	assert_int_equal(bans_kill_queued(f->bs, &p), 0);
	/* The narrowest wins; outside both, none; expired, none. */
	p = pfx("203.0.113.77");
	assert_int_equal(bans_manual(f->bs, &p, 60 * S, FW_SCOPE_SERVICES,
	    "host", T0, &cause), 0);
	assert_int_equal(bans_covering(f->bs, &a, T0)->prefix.len, 32);
	assert_int_equal(bans_covering(f->bs, &a, T0 + 61 * S)->prefix.len,
	    24);
	assert_int_equal(addr_parse("203.0.114.1", &a, &port), 0);
	assert_null(bans_covering(f->bs, &a, T0));
	assert_int_equal(addr_parse("2001:db8::1", &a, &port), 0);
	assert_null(bans_covering(f->bs, &a, T0));
	/* Lifted: the count of its length goes with it. */
	p = pfx("203.0.113.0/24");
	assert_int_equal(bans_lift(f->bs, &p, T0, &cause), 0);
	assert_int_equal(f->bs->nlen[0][24], 0);
	assert_int_equal(f->bs->nlen[0][32], 1);
	assert_int_equal(addr_parse("203.0.113.5", &a, &port), 0);
	assert_null(bans_covering(f->bs, &a, T0));
}

static void
test_json(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*mem;

	v = verdict("2001:db8::/48", VERDICT_REGISTER);
	snprintf(v.reason, sizeof(v.reason), "say \"hi\"");
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	mem = open_memstream(&buf, &len);
	ban_json(mem, bans_find(f->bs, &v.prefix));
	fclose(mem);
	assert_string_equal(buf, "{\"address\":\"2001:db8::/48\","
	    "\"rule\":\"register\",\"reason\":\"say \\\"hi\\\"\","
	    "\"since\":\"2026-11-29T04:00:00.000000Z\","
	    "\"expires\":\"2026-11-29T04:10:00.000000Z\",\"count\":1,"
	    "\"source\":\"rule\",\"throttled\":false,\"scope\":"
	    "\"services\",\"ports\":\"5222,5223,5269,5280,5281,"
	    "5443\"}");
	free(buf);
}

/* The pending batch's scopes, one letter an op: s services, p proxy. */
static const char *
scopes(struct bans *bs)
{
	static char		 buf[64];
	const struct fw_op	*ops;
	size_t			 n, i, nk;

	n = bans_pending(bs, &ops, NULL, &nk);
	for (i = 0; i < n && i + 1 < sizeof(buf); i++)
		buf[i] = ops[i].scope == FW_SCOPE_PROXY ? 'p' : 's';
	buf[i] = '\0';
	return buf;
}

/*
 * A verdict through a proxy bans on the proxy's ports too; a later one
 * for a banned prefix widens its ban, never the other way; the scope is
 * stored and comes back at start; the words say what is dropped.
 */
static void
test_scope(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	struct prefix		 p;
	struct bans		*again;
	struct fw_entry		 e[2];
	const struct ban	*b;
	char			*cause = NULL, *buf = NULL;
	size_t			 len = 0;
	FILE			*mem;

	/* Every port by default ([allow] proxy_ports = all). */
	v = verdict("198.51.100.30", VERDICT_AUTH);
	v.proxied = 1;
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	assert_string_equal(scopes(f->bs), "p");
	assert_non_null(b = bans_find(f->bs, &v.prefix));
	assert_int_equal(b->scope, FW_SCOPE_PROXY);
	assert_string_equal(b->ports, "all");
	assert_int_equal(unit_db_int(f->store, f->path,
	    "SELECT count(*) FROM bans WHERE scope = 'proxy'"), 1);
	mem = open_memstream(&buf, &len);
	ban_json(mem, b);
	fclose(mem);
	assert_non_null(strstr(buf, ",\"scope\":\"proxy\",\"ports\":"
	    "\"all\"}"));
	free(buf);

	/* A services verdict, same prefix, shorter: nothing narrows. */
	v.proxied = 0;
	assert_int_equal(bans_verdict(f->bs, &v, T0), 0);
	assert_string_equal(scopes(f->bs), "");
	assert_int_equal(b->scope, FW_SCOPE_PROXY);

	/* A services ban, then a proxied verdict: widened in place, the
	 * ban sent again in its new scope, the store told. */
	v = verdict("198.51.100.31", VERDICT_AUTH);
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	assert_string_equal(scopes(f->bs), "s");
	v.proxied = 1;
	assert_int_equal(bans_verdict(f->bs, &v, T0 + S), 1);
	assert_string_equal(batch(f->bs, &len),
	    "-198.51.100.31/32 +198.51.100.31/32 600");
	/* Its sessions end on the services' ports when banned, on the
	 * proxy's too when widened (the kills since the last look). */
	assert_true(f->conf->ban_kill);
	assert_true(strlen(kill_scopes) >= 2);
	assert_string_equal(kill_scopes + strlen(kill_scopes) - 2, "sp");
	assert_non_null(b = bans_find(f->bs, &v.prefix));
	assert_int_equal(b->scope, FW_SCOPE_PROXY);
	assert_int_equal(b->expires, T0 + 600 * S + S);
	assert_int_equal(f->bs->st.widened, 1);
	/* Not longer, only wider: widened all the same. */
	p = pfx("198.51.100.32");
	assert_int_equal(bans_manual(f->bs, &p, 3600 * S, FW_SCOPE_SERVICES,
	    "m", T0, &cause), 0);
	assert_string_equal(scopes(f->bs), "s");
	assert_int_equal(bans_manual(f->bs, &p, 60 * S, FW_SCOPE_PROXY, "m",
	    T0, &cause), 0);
	assert_string_equal(scopes(f->bs), "sp");	/* out, then in */
	assert_int_equal(bans_find(f->bs, &p)->expires, T0 + 3600 * S);
	assert_int_equal(f->bs->st.widened, 2);
	/* Already proxied and longer: nothing to do, as before. */
	assert_int_equal(bans_manual(f->bs, &p, 60 * S, FW_SCOPE_PROXY, "m",
	    T0, &cause), -1);
	assert_non_null(strstr(cause, "already banned for longer"));
	free(cause);

	/* A proxied network inside a banned one widens that one. */
	p = pfx("203.0.113.0/24");
	assert_int_equal(bans_manual(f->bs, &p, 600 * S, FW_SCOPE_SERVICES,
	    "n", T0, &cause), 0);
	(void)scopes(f->bs);
	p = pfx("203.0.113.128/25");
	assert_int_equal(bans_manual(f->bs, &p, 60 * S, FW_SCOPE_PROXY, "n",
	    T0, &cause), 0);
	assert_string_equal(batch(f->bs, &len),
	    "-203.0.113.0/24 +203.0.113.0/24 600");
	assert_int_equal(bans_find(f->bs, &(struct prefix){
	    pfx("203.0.113.0/24").addr, 24 })->scope, FW_SCOPE_PROXY);
	/* A wider network takes the widest scope of those it replaces. */
	p = pfx("203.0.112.0/23");
	assert_int_equal(bans_manual(f->bs, &p, 60 * S, FW_SCOPE_SERVICES,
	    "n", T0, &cause), 0);
	assert_string_equal(scopes(f->bs), "pp");
	assert_int_equal(bans_find(f->bs, &p)->scope, FW_SCOPE_PROXY);
	store_flush(f->store);

	/* Restored with its scope; a kernel holding it narrower gets it
	 * again, wider. */
	again = bans_new(f->conf, f->store);
	assert_int_equal(bans_load(again, T0 + 10 * S), 4);
	assert_non_null(b = bans_find(again, &v.prefix));
	assert_int_equal(b->scope, FW_SCOPE_PROXY);
	assert_string_equal(b->ports, "all");
	memset(e, 0, sizeof(e));
	e[0].prefix = pfx("198.51.100.30");
	e[0].scope = FW_SCOPE_PROXY;
	e[1].prefix = pfx("198.51.100.31");
	bans_reconcile(again, T0 + 10 * S, e, 2);
	assert_string_equal(batch(again, &len), "+203.0.112.0/23 590 "
	    "+198.51.100.32/32 3590 +198.51.100.31/32 591");
	bans_free(again);
}

/* The words follow the configuration: its ports, reloaded. */
static void
test_scope_ports(void **state)
{
	struct fx		*f = *state;
	struct verdict		 v;
	const struct ban	*b;

	v = verdict("198.51.100.40", VERDICT_AUTH);
	v.proxied = 1;
	assert_int_equal(bans_verdict(f->bs, &v, T0), 1);
	assert_non_null(b = bans_find(f->bs, &v.prefix));
	assert_string_equal(b->ports, "all");
	f->conf->proxy_ports[0] = 443;
	f->conf->proxy_ports[1] = 5222;
	f->conf->nproxy_ports = 2;
	bans_set_conf(f->bs, f->conf);
	assert_string_equal(b->ports,
	    "443,5222,5223,5269,5280,5281,5443");
	assert_string_equal(f->bs->ports[FW_SCOPE_SERVICES],
	    "5222,5223,5269,5280,5281,5443");
	/* all_ports: every port, whatever the scope. */
	f->conf->ban_all_ports = 1;
	bans_set_conf(f->bs, f->conf);
	assert_string_equal(b->ports, "all");
	assert_string_equal(f->bs->ports[FW_SCOPE_SERVICES], "all");
}

/* Many bans: the index keeps up (rehash) and removal keeps it right. */
static void
test_many(void **state)
{
	struct fx	*f = *state;
	struct verdict	 v;
	char		 a[64];
	int		 i;
	size_t		 nk;

	bans_free(f->bs);
	f->bs = bans_new(f->conf, NULL);
	for (i = 0; i < 20000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::", i / 256, i % 256);
		v = verdict(a, VERDICT_CHURN);
		v.prefix.len = 64;
		assert_int_equal(bans_verdict(f->bs, &v, T0 + i), 1);
	}
	(void)batch(f->bs, &nk);
	assert_int_equal(f->bs->n, 20000);
	bans_expire(f->bs, T0 + 600 * S + 9999, 0);
	assert_int_equal(f->bs->n, 10000);
	for (i = 10000; i < 20000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::/64", i / 256,
		    i % 256);
		v.prefix = pfx(a);
		assert_non_null(bans_find(f->bs, &v.prefix));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verdict_to_ban, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_never_a_weapon, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_narrowed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_own_added, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recheck_reload, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reason_option, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_escalation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_extend_and_lift, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsaved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_covering, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_ports, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
