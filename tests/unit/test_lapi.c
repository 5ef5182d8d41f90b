/*
 * CrowdSec Local API messages (lapi.c): the alerts pushed carry every
 * field 1.4.6 requires, scopes spelt Ip and Range, the remaining
 * duration; login answers and stream answers are read, null arrays
 * included, and hostile answers (wrong types, huge or deep, not JSON) are
 * refused with a reason; Go durations.
 */
#include "unit.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../src/lapi.c"

#define NOW	((int64_t)1795919301 * CLOCK_US_PER_SEC)

static void
test_duration(void **state)
{
	(void)state;
	assert_int_equal(lapi_duration_parse("15m"), 900 * CLOCK_US_PER_SEC);
	assert_int_equal(lapi_duration_parse("3h59m58.5s"),
	    (3 * 3600 + 59 * 60 + 58) * CLOCK_US_PER_SEC + 500000);
	assert_int_equal(lapi_duration_parse("1.5ms"), 1500);
	assert_int_equal(lapi_duration_parse("250us"), 250);
	assert_int_equal(lapi_duration_parse("0"), 0);
	assert_int_equal(lapi_duration_parse("-1.2s"), 0);
	assert_int_equal(lapi_duration_parse(""), -1);
	assert_int_equal(lapi_duration_parse("5"), -1);
	assert_int_equal(lapi_duration_parse("h"), -1);
	assert_int_equal(lapi_duration_parse("5x"), -1);
	assert_int_equal(lapi_duration_parse("99999999999h"), -1);
	assert_int_equal(lapi_duration_parse(NULL), -1);
}

static void
test_scope(void **state)
{
	struct prefix	p;

	(void)state;
	assert_int_equal(lapi_scope_parse("Ip", "192.0.2.7", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(lapi_scope_parse("ip", "2001:db8::1", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(lapi_scope_parse("Range", "192.0.2.9/24", &p), 0);
	assert_int_equal(p.len, 24);
	assert_int_equal(p.addr.bytes[3], 0);
	assert_int_equal(lapi_scope_parse("Country", "FR", &p), -1);
	assert_int_equal(lapi_scope_parse("Ip", "not an address", &p), -1);
	assert_int_equal(lapi_scope_parse("Ip", "192.0.2.0/24", &p), -1);
}

static void
test_alerts(void **state)
{
	struct lapi_ban	 b[3];
	json_t		*root, *a, *d;
	json_error_t	 err;
	char		*body;
	size_t		 len, nlive;
	static const char *const fields[] = { "scenario", "scenario_hash",
	    "scenario_version", "message", "events_count", "start_at",
	    "stop_at", "capacity", "leakspeed", "simulated", "events",
	    "source", "decisions" };
	size_t		 i;

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(lapi_scope_parse("Ip", "198.51.100.7", &b[0].prefix),
	    0);
	b[0].rule = "churn";
	b[0].reason = "churn: 40 \"connections\" in 1m";
	b[0].count = 40;
	b[0].since = NOW;
	b[0].expires = NOW + 600 * CLOCK_US_PER_SEC;
	assert_int_equal(lapi_scope_parse("Range", "2001:db8::/64",
	    &b[1].prefix), 0);
	b[1].rule = "manual";
	b[1].since = NOW;
	b[1].expires = NOW + 90 * CLOCK_US_PER_SEC - 1;
	b[2] = b[0];
	b[2].expires = NOW;		/* over: left out */
	body = lapi_alerts_body(b, 3, "xmppguard/", "xmppguard", NOW, &len,
	    &nlive);
	assert_non_null(body);
	assert_int_equal(nlive, 2);
	root = json_loadb(body, len, 0, &err);
	assert_non_null(root);
	assert_true(json_is_array(root));
	assert_int_equal(json_array_size(root), 2);
	a = json_array_get(root, 0);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		assert_non_null(json_object_get(a, fields[i]));
	assert_string_equal(json_string_value(json_object_get(a,
	    "scenario")), "xmppguard/churn");
	assert_string_equal(json_string_value(json_object_get(a,
	    "message")), "churn: 40 \"connections\" in 1m");
	assert_int_equal(json_integer_value(json_object_get(a,
	    "events_count")), 40);
	assert_string_equal(json_string_value(json_object_get(a,
	    "start_at")), "2026-11-29T02:28:21Z");
	d = json_array_get(json_object_get(a, "decisions"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "scope")),
	    "Ip");
	assert_string_equal(json_string_value(json_object_get(d, "value")),
	    "198.51.100.7");
	assert_string_equal(json_string_value(json_object_get(d,
	    "duration")), "600s");
	assert_string_equal(json_string_value(json_object_get(d, "type")),
	    "ban");
	a = json_array_get(root, 1);
	d = json_array_get(json_object_get(a, "decisions"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "scope")),
	    "Range");
	assert_string_equal(json_string_value(json_object_get(d, "value")),
	    "2001:db8::/64");
	/* Rounded up: a ban is never pushed shorter than it is. */
	assert_string_equal(json_string_value(json_object_get(d,
	    "duration")), "90s");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    a, "source"), "scope")), "Range");
	json_decref(root);
	free(body);
}

static void
test_login(void **state)
{
	const char	*ok = "{\"code\":200,\"expire\":\"2026-12-07T18:00:00Z\","
			    "\"token\":\"eyJhbGciOi.x.y\"}";
	char		*tok, *cause = NULL, *body;
	size_t		 len;

	(void)state;
	tok = lapi_login_token(ok, strlen(ok), &cause);
	assert_non_null(tok);
	assert_string_equal(tok, "eyJhbGciOi.x.y");
	free(tok);
	assert_null(lapi_login_token("{\"code\":401}", 12, &cause));
	assert_non_null(strstr(cause, "no token"));
	free(cause);
	assert_null(lapi_login_token("{\"token\":\"a\\nb\"}", 15, &cause));
	free(cause);
	assert_null(lapi_login_token("<html>", 6, &cause));
	assert_non_null(strstr(cause, "not JSON"));
	free(cause);
	body = lapi_login_body("node-a", "pa\"ss", &len);
	assert_string_equal(body, "{\"machine_id\":\"node-a\",\"password\":"
	    "\"pa\\\"ss\",\"scenarios\":[]}");
	free(body);
}

static int
parse(const char *s, struct lapi_stream *st, char **cause)
{
	return lapi_stream_parse(s, strlen(s), st, cause);
}

static void
test_stream(void **state)
{
	struct lapi_stream	 st;
	char			*cause = NULL;

	(void)state;
	assert_int_equal(parse("{\"new\":[{\"id\":7,\"origin\":\"cscli\","
	    "\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"203.0.113.9\","
	    "\"duration\":\"3h59m58.5s\",\"scenario\":\"manual 'ban'\"},"
	    "{\"id\":8,\"type\":\"captcha\",\"scope\":\"Ip\",\"value\":"
	    "\"203.0.113.10\",\"duration\":\"1h\"},"
	    "{\"id\":9,\"type\":\"ban\",\"scope\":\"Range\",\"value\":"
	    "\"198.51.100.0/24\",\"duration\":\"10m\",\"origin\":\"crowdsec\"},"
	    "{\"id\":10,\"type\":\"ban\",\"scope\":\"Country\",\"value\":\"FR\","
	    "\"duration\":\"10m\"}, 5, null],\"deleted\":null}", &st, &cause),
	    0);
	assert_int_equal(st.nadded, 2);
	assert_int_equal(st.ndeleted, 0);
	assert_int_equal(st.skipped, 4);
	assert_int_equal(st.added[0].id, 7);
	assert_string_equal(st.added[0].origin, "cscli");
	assert_string_equal(st.added[0].scenario, "manual 'ban'");
	assert_int_equal(st.added[0].duration,
	    (int64_t)14398 * CLOCK_US_PER_SEC + 500000);
	assert_int_equal(st.added[1].prefix.len, 24);
	lapi_stream_free(&st);

	/* Both null, both missing, an empty object: nothing. */
	assert_int_equal(parse("{\"new\":null,\"deleted\":null}", &st,
	    &cause), 0);
	assert_int_equal(st.nadded + st.ndeleted, 0);
	lapi_stream_free(&st);
	assert_int_equal(parse("{}", &st, &cause), 0);
	lapi_stream_free(&st);
	assert_int_equal(parse("{\"new\":[],\"deleted\":[{\"type\":\"ban\","
	    "\"scope\":\"Ip\",\"value\":\"192.0.2.5\",\"duration\":\"-2s\"}]}",
	    &st, &cause), 0);
	assert_int_equal(st.ndeleted, 1);
	assert_int_equal(st.deleted[0].duration, 0);
	lapi_stream_free(&st);
}

static void
refused(const char *s, const char *why)
{
	struct lapi_stream	 st;
	char			*cause = NULL;

	assert_int_equal(parse(s, &st, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, why) == NULL)
		fail_msg("'%s' does not say '%s'", cause, why);
	free(cause);
	assert_null(st.added);
	assert_null(st.deleted);
}

static void
test_stream_hostile(void **state)
{
	char	*deep, *huge;
	size_t	 i, n;

	(void)state;
	refused("", "not JSON");
	refused("[]", "not an object");
	refused("{\"new\":{}}", "\"new\" is not an array");
	refused("{\"new\":[],\"deleted\":\"x\"}", "\"deleted\" is not an array");
	refused("{\"new\":[{\"type\":\"ban\"}", "not JSON");
	/* Deep nesting: jansson's own bound. */
	n = 100000;
	deep = malloc(2 * n + 16);
	assert_non_null(deep);
	strcpy(deep, "{\"new\":");
	memset(deep + 7, '[', n);
	memset(deep + 7 + n, ']', n);
	strcpy(deep + 7 + 2 * n, "}");
	refused(deep, "not JSON");
	free(deep);
	/* More decisions than LAPI_DECISIONS_MAX. */
	n = LAPI_DECISIONS_MAX + 1;
	huge = malloc(3 * n + 32);
	assert_non_null(huge);
	strcpy(huge, "{\"new\":[");
	for (i = 0; i < n; i++)
		memcpy(huge + 8 + 2 * i, "0,", 2);
	strcpy(huge + 8 + 2 * n - 1, "]}");
	refused(huge, "at most");
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_hostile),
	};

	return cmocka_run_group_tests_name("lapi", tests, NULL, NULL);
}
