/*
 * Unit tests for the webhook backend (fw_webhook.c): the JSON of each kind
 * of operation, byte for byte; what open() refuses; and apply() through
 * fw_apply() against a real server on 127.0.0.1 on the same loop
 * (unit_httpd.h): bodies delivered, failures after retries counted in the
 * fw counters, a full queue refused and counted, close with POSTs pending.
 */
#include "unit.h"

#include "../../src/fw_webhook.c"

#include <arpa/inet.h>

#include "loop.h"
#include "unit_httpd.h"

#define GUARD_SECONDS	20
/* 2026-11-29T05:00:00Z */
#define T0		(1795928400LL * CLOCK_US_PER_SEC)

static int
guard_setup(void **state)
{
	(void)state;
	alarm(GUARD_SECONDS);
	return 0;
}

static int
guard_teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

static void
make_op(struct fw_op *op, enum fw_op_kind kind, const char *prefix,
    int64_t duration, const char *rule, const char *reason)
{
	memset(op, 0, sizeof *op);
	op->kind = kind;
	assert_int_equal(addr_prefix_parse(prefix, &op->prefix, 0), 0);
	op->duration = duration;
	snprintf(op->rule, sizeof op->rule, "%s", rule);
	snprintf(op->reason, sizeof op->reason, "%s", reason);
}

/* The services' ports of the JSON tests: 5222 and 5269. */
static struct fw	json_fw = {
	.ports = { 5222, 5269 },
	.nports = 2
};

static void
expect_json(const struct fw_op *op, int64_t now, const char *want)
{
	char	*got;
	size_t	 len;

	got = fw_webhook_json(&json_fw, op, now, &len);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

static void
test_json(void **state)
{
	struct fw_op	op;

	(void)state;
	make_op(&op, FW_BAN, "192.0.2.7", 600 * CLOCK_US_PER_SEC, "churn",
	    "120 connections in 1h");
	expect_json(&op, T0, "{\"action\":\"ban\",\"address\":"
	    "\"192.0.2.7/32\",\"rule\":\"churn\",\"reason\":\"120 "
	    "connections in 1h\",\"duration\":600,\"scope\":\"services\","
	    "\"ports\":\"5222,5269\",\"time\":"
	    "\"2026-11-29T05:00:00.000000Z\"}");

	/* Through a proxy: its ports, every one by default. */
	op.scope = FW_SCOPE_PROXY;
	expect_json(&op, T0, "{\"action\":\"ban\",\"address\":"
	    "\"192.0.2.7/32\",\"rule\":\"churn\",\"reason\":\"120 "
	    "connections in 1h\",\"duration\":600,\"scope\":\"proxy\","
	    "\"ports\":\"all\",\"time\":\"2026-11-29T05:00:00.000000Z\"}");
	json_fw.pports[0] = 443;
	json_fw.pports[1] = 5222;
	json_fw.pports[2] = 5269;
	json_fw.npports = 3;
	op.kind = FW_UNBAN;
	expect_json(&op, T0, "{\"action\":\"unban\",\"address\":"
	    "\"192.0.2.7/32\",\"rule\":\"churn\",\"reason\":\"120 "
	    "connections in 1h\",\"scope\":\"proxy\",\"ports\":"
	    "\"443,5222,5269\",\"time\":\"2026-11-29T05:00:00.000000Z\"}");
	json_fw.npports = 0;

	/* An unban has no duration. */
	make_op(&op, FW_UNBAN, "2001:db8:1::/48", 0, "manual", "");
	expect_json(&op, T0 + 1500, "{\"action\":\"unban\",\"address\":"
	    "\"2001:db8:1::/48\",\"rule\":\"manual\",\"reason\":\"\","
	    "\"scope\":\"services\",\"ports\":\"5222,5269\","
	    "\"time\":\"2026-11-29T05:00:00.001500Z\"}");

	/* Part of a second counts as a second. */
	make_op(&op, FW_THROTTLE, "198.51.100.0/24", 1500 * CLOCK_US_PER_MS,
	    "karma", "karma");
	expect_json(&op, T0, "{\"action\":\"throttle\",\"address\":"
	    "\"198.51.100.0/24\",\"rule\":\"karma\",\"reason\":\"karma\","
	    "\"duration\":2,\"scope\":\"services\",\"ports\":"
	    "\"5222,5269\",\"time\":\"2026-11-29T05:00:00.000000Z\"}");
}

/* The caller validates reasons, but the JSON stays valid regardless. */
static void
test_json_escapes(void **state)
{
	struct fw_op	op;

	(void)state;
	make_op(&op, FW_BAN, "203.0.113.9", CLOCK_US_PER_SEC, "auth",
	    "user \"a\\b\"\n\x01\xff");
	expect_json(&op, T0, "{\"action\":\"ban\",\"address\":"
	    "\"203.0.113.9/32\",\"rule\":\"auth\",\"reason\":\"user "
	    "\\\"a\\\\b\\\"\\n\\u0001\\ufffd\",\"duration\":1,\"scope\":"
	    "\"services\",\"ports\":\"5222,5269\",\"time\":"
	    "\"2026-11-29T05:00:00.000000Z\"}");
}

/*
 * Opens fw on loop with url as [ban] webhook, which is freed again before
 * this returns (the backend keeps its own copy).  0 or -1 and *cause.
 */
static int
open_hook(struct fw *fw, struct loop *loop, const char *url, char **cause)
{
	struct conf	 conf;
	int		 rc;

	memset(fw, 0, sizeof *fw);
	fw->be = &fw_webhook_backend;
	fw->loop = loop;
	memset(&conf, 0, sizeof conf);
	conf.ban_webhook = url != NULL ? xstrdup(url) : NULL;
	rc = fw->be->open(fw, &conf, cause);
	free(conf.ban_webhook);
	return rc;
}

static void
expect_open_fails(struct loop *loop, const char *url, const char *want)
{
	struct fw	 fw;
	char		*cause = NULL;

	assert_int_equal(open_hook(&fw, loop, url, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, want));
	assert_null(fw.priv);
	free(cause);
}

static void
test_open_refuses(void **state)
{
	struct loop	*loop = loop_new(NULL);

	(void)state;
	expect_open_fails(loop, NULL, "no URL");
	expect_open_fails(loop, "", "no URL");
	expect_open_fails(loop, "ftp://192.0.2.1/x", "not an http");
	expect_open_fails(loop, "hooks.example.org/x", "not an http");
	/* The URL is a secret: refused without being quoted. */
	expect_open_fails(loop, "http://a b/\x1b[31m", "webhook: not an http");
	expect_open_fails(NULL, "https://hooks.example.org/x", "event loop");
	assert_null(fw_webhook_backend.list);
	assert_null(fw_webhook_backend.kill);
	loop_free(loop);
}

static struct fw *
open_fw(struct loop *loop, const char *url)
{
	struct fw	*fw;
	char		*cause = NULL;

	fw = xcalloc(1, sizeof *fw);
	assert_int_equal(open_hook(fw, loop, url, &cause), 0);
	assert_null(cause);
	return fw;
}

static void
close_fw(struct fw *fw)
{
	fw->be->close(fw);
	assert_null(fw->priv);
	free(fw);
}

static void
run_until_idle(struct loop *loop, struct fw *fw)
{
	int64_t	end = clock_monotonic() + 5 * CLOCK_US_PER_SEC;

	while (fw_webhook_busy(fw) > 0) {
		assert_true(clock_monotonic() < end);
		assert_true(loop_run_once(loop, 50) >= 0);
	}
}

/* A ban and its unban reach the server as two JSON bodies. */
static void
test_apply_delivers(void **state)
{
	struct loop		*loop = loop_new(NULL);
	struct httpd		 srv;
	struct fw		*fw;
	struct fw_op		 ops[2];
	struct http_stats	 st;
	char			*cause = NULL;

	(void)state;
	httpd_start(&srv, loop);
	fw = open_fw(loop, srv.url);
	make_op(&ops[0], FW_BAN, "192.0.2.7", 600 * CLOCK_US_PER_SEC,
	    "churn", "churn");
	make_op(&ops[1], FW_UNBAN, "192.0.2.7", 0, "manual", "");
	assert_int_equal(fw_apply(fw, ops, 2, &cause), 0);
	assert_int_equal(fw_webhook_busy(fw), 2);
	assert_int_equal(srv.requests, 0);	/* none inside apply */
	run_until_idle(loop, fw);
	assert_int_equal(srv.requests, 2);
	assert_non_null(strstr(srv.last, "Content-Type: application/json"));
	/* One connection at a time is not guaranteed: either came last. */
	assert_non_null(strstr(srv.body, "\"address\":\"192.0.2.7/32\""));
	fw_webhook_stats(fw, &st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(fw->stats.batches, 1);
	assert_int_equal(fw->stats.ops, 2);
	assert_int_equal(fw->stats.failures, 0);
	close_fw(fw);
	httpd_stop(&srv);
	loop_free(loop);
}

/* A 500 is retried, then counted as a failure of the backend. */
static void
test_apply_fails_counted(void **state)
{
	struct loop		*loop = loop_new(NULL);
	struct httpd		 srv;
	struct fw		*fw;
	struct fw_op		 ops[3];
	struct fw_webhook_tune	 tune = { 1000, 2, 10, 0, 0 };
	struct http_stats	 st;
	char			*cause = NULL;
	int			 i;

	(void)state;
	httpd_start(&srv, loop);
	srv.status = 500;
	fw = open_fw(loop, srv.url);
	fw_webhook_tune(fw, &tune);
	for (i = 0; i < 3; i++)
		make_op(&ops[i], FW_BAN, "198.51.100.1", CLOCK_US_PER_SEC,
		    "churn", "churn");
	assert_int_equal(fw_apply(fw, ops, 3, &cause), 0);
	run_until_idle(loop, fw);
	assert_int_equal(srv.requests, 9);
	fw_webhook_stats(fw, &st);
	assert_int_equal(st.failed, 3);
	assert_int_equal(st.retries, 6);
	assert_int_equal(fw->stats.failures, 3);
	close_fw(fw);
	httpd_stop(&srv);
	loop_free(loop);
}

/* Beyond the limits operations are refused and counted, never queued. */
static void
test_apply_full(void **state)
{
	struct loop		*loop = loop_new(NULL);
	struct httpd		 srv;
	struct fw		*fw;
	struct fw_op		 ops[5];
	struct fw_webhook_tune	 tune = { 1000, 0, 0, 1, 2 };
	struct http_stats	 st;
	char			*cause = NULL;
	int			 i;

	(void)state;
	httpd_start(&srv, loop);
	srv.hang = 1;
	fw = open_fw(loop, srv.url);
	fw_webhook_tune(fw, &tune);
	for (i = 0; i < 5; i++)
		make_op(&ops[i], FW_BAN, "203.0.113.0/24", CLOCK_US_PER_SEC,
		    "churn", "churn");
	assert_int_equal(fw_apply(fw, ops, 5, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "2 of 5 operations dropped"));
	free(cause);
	fw_webhook_stats(fw, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.requests, 3);
	assert_int_equal(fw_webhook_busy(fw), 3);
	assert_int_equal(fw->stats.failures, 1);	/* the apply */

	/* Closing with three pending cancels them: each counted, no leak. */
	while (srv.requests < 1)
		assert_true(loop_run_once(loop, 50) >= 0);
	fw->be->close(fw);
	assert_int_equal(fw->stats.failures, 4);
	free(fw);
	httpd_stop(&srv);
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test_setup_teardown(test_apply_delivers,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_apply_fails_counted,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_apply_full, guard_setup,
		    guard_teardown),
	};

	log_init(1, LOG_LEVEL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
