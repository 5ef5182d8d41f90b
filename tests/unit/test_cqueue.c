/*
 * The cluster's push queue (cqueue.c) on a real store: batches are the
 * run of bans at the head (at most CQUEUE_BATCH_MAX) or one unban, in the
 * order they were queued; done rows go, refused ones count their tries;
 * the queue is bounded and its length survives a reopen.
 */
#include "unit.h"
#include "unit_db.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cqueue.c"

static void
ban_of(struct lapi_ban *b, const char *ip)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(lapi_scope_parse("Ip", ip, &b->prefix), 0);
	b->rule = "churn";
	b->reason = "churn: 40 connections in 1m";
	b->count = 3;
	b->since = 1000;
	b->expires = 2000;
}

static void
test_order_and_batches(void **state)
{
	struct store		*store;
	struct cqueue		*q;
	struct cqueue_batch	 b;
	struct lapi_ban		 lb;
	struct prefix		 p;
	char			 path[64], ip[32], *cause = NULL;
	int			 i;

	(void)state;
	memset(&b, 0, sizeof(b));
	store = unit_db_open(path, sizeof(path), "cqueue");
	q = cqueue_open(store, 1000, &cause);
	assert_non_null(q);
	/* 150 bans, an unban, 2 bans. */
	for (i = 0; i < 150; i++) {
		snprintf(ip, sizeof(ip), "198.18.0.%d", i + 1);
		ban_of(&lb, ip);
		assert_int_equal(cqueue_ban(q, &lb, 1, &cause), 0);
	}
	assert_int_equal(lapi_scope_parse("Range", "198.51.100.0/24", &p), 0);
	assert_int_equal(cqueue_unban(q, &p, 1, &cause), 0);
	for (i = 0; i < 2; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		ban_of(&lb, ip);
		assert_int_equal(cqueue_ban(q, &lb, 1, &cause), 0);
	}
	assert_int_equal(cqueue_length(q), 153);

	assert_int_equal(cqueue_peek(q, &b, &cause), 1);
	assert_int_equal(b.op, CQUEUE_BAN);
	assert_int_equal(b.n, CQUEUE_BATCH_MAX);
	assert_string_equal(b.bans[0].rule, "churn");
	assert_string_equal(b.bans[99].reason, "churn: 40 connections in 1m");
	assert_int_equal(b.bans[0].count, 3);
	assert_int_equal(b.bans[0].expires, 2000);
	assert_int_equal(b.bans[99].prefix.addr.bytes[3], 100);
	/* Refused: it stays, tried once more. */
	assert_int_equal(cqueue_refused(q, &b, &cause), 0);
	assert_int_equal(cqueue_peek(q, &b, &cause), 1);
	assert_int_equal(b.tries, 1);
	assert_int_equal(cqueue_done(q, &b, &cause), 0);
	assert_int_equal(cqueue_length(q), 53);

	assert_int_equal(cqueue_peek(q, &b, &cause), 1);
	assert_int_equal(b.op, CQUEUE_BAN);
	assert_int_equal(b.n, 50);	/* up to the unban */
	assert_int_equal(b.tries, 0);
	assert_int_equal(cqueue_done(q, &b, &cause), 0);

	assert_int_equal(cqueue_peek(q, &b, &cause), 1);
	assert_int_equal(b.op, CQUEUE_UNBAN);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.bans[0].prefix.len, 24);
	assert_int_equal(cqueue_done(q, &b, &cause), 0);

	assert_int_equal(cqueue_peek(q, &b, &cause), 1);
	assert_int_equal(b.n, 2);
	cqueue_close(q);

	/* Reopened: the length is read back. */
	q = cqueue_open(store, 1000, &cause);
	assert_non_null(q);
	assert_int_equal(cqueue_length(q), 2);
	assert_int_equal(cqueue_peek(q, &b, &cause), 1);
	assert_int_equal(cqueue_done(q, &b, &cause), 0);
	assert_int_equal(cqueue_peek(q, &b, &cause), 0);
	assert_int_equal(cqueue_length(q), 0);
	cqueue_batch_free(&b);
	cqueue_close(q);
	unit_db_close(store, path);
}

static void
test_bounded(void **state)
{
	struct store	*store;
	struct cqueue	*q;
	struct lapi_ban	 lb;
	char		 path[64], *cause = NULL;
	int		 i;

	(void)state;
	store = unit_db_open(path, sizeof(path), "cqueue-full");
	q = cqueue_open(store, 100, &cause);
	assert_non_null(q);
	ban_of(&lb, "192.0.2.9");
	for (i = 0; i < 100; i++)
		assert_int_equal(cqueue_ban(q, &lb, 1, &cause), 0);
	assert_int_equal(cqueue_ban(q, &lb, 1, &cause), -1);
	assert_non_null(strstr(cause, "full"));
	free(cause);
	assert_int_equal(cqueue_unban(q, &lb.prefix, 1, &cause), -1);
	free(cause);
	assert_int_equal(cqueue_dropped(q), 2);
	assert_int_equal(cqueue_length(q), 100);
	assert_int_equal(unit_db_int(store, path,
	    "SELECT count(*) FROM cluster_queue"), 100);
	cqueue_close(q);
	unit_db_close(store, path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_batches),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests_name("cqueue", tests, NULL, NULL);
}
