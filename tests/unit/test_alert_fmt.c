/*
 * The alerts' words and dialects (alert_fmt.c) without a network: ordinals
 * and spans at their edges, clock times on and off today, appending that
 * cuts at the buffer's end, secrets scrubbed, URLs shown by host, and each
 * body byte for byte: Slack's escapes (a hostile reason cannot mention
 * @channel), Discord's cut at 2000 bytes on a UTF-8 boundary, Matrix's
 * HTML, the generic object and a template.  The payloads as a chat parses
 * them, over HTTP, are test_alert.c's.
 */
#include "unit.h"

#include "../../src/alert_fmt.c"

#include <stdlib.h>
#include <string.h>

#define T0	(1795917600LL * CLOCK_US_PER_SEC)	/* 2026-11-29 02:00 */

struct fmt {
	struct alerts		as;
	struct alert_sink	sk;
	struct conf_alert	ca;
	struct alert_msg	m;
};

static void
fmt_init(struct fmt *f, int type, const char *text)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->as.host, sizeof(f->as.host), "xmpp1");
	snprintf(f->ca.name, sizeof(f->ca.name), "ops");
	f->ca.type = type;
	f->ca.url = (char *)(uintptr_t)"https://hooks.example/T0/SECRET";
	f->ca.room = f->ca.token = f->ca.username = f->ca.icon =
	    f->ca.tmpl = (char *)(uintptr_t)"";
	f->sk.alerts = &f->as;
	f->sk.ca = &f->ca;
	f->m.name = "ban";
	f->m.sev = CONF_SEV_INFO;
	f->m.time = T0;
	snprintf(f->m.text, sizeof(f->m.text), "%s", text);
}

/* The body as a string (caller frees).  Not inlined: gcc then takes
 * open_memstream's buffer for a dangling local. */
static char * __attribute__((noinline))
fmt_body(const struct fmt *f)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&buf, &len));
	alert_body(fp, &f->sk, &f->m);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void
test_words(void **state)
{
	char	b[64];

	(void)state;
	assert_string_equal(alert_ordinal(1, b, sizeof(b)), "1st");
	assert_string_equal(alert_ordinal(2, b, sizeof(b)), "2nd");
	assert_string_equal(alert_ordinal(3, b, sizeof(b)), "3rd");
	assert_string_equal(alert_ordinal(4, b, sizeof(b)), "4th");
	assert_string_equal(alert_ordinal(11, b, sizeof(b)), "11th");
	assert_string_equal(alert_ordinal(12, b, sizeof(b)), "12th");
	assert_string_equal(alert_ordinal(13, b, sizeof(b)), "13th");
	assert_string_equal(alert_ordinal(21, b, sizeof(b)), "21st");
	assert_string_equal(alert_ordinal(112, b, sizeof(b)), "112th");
	assert_string_equal(alert_ordinal(1002, b, sizeof(b)), "1002nd");
	/* Rounded to the second, two units at most, none skipped. */
	assert_string_equal(alert_span(499999, b, sizeof(b)), "1s");
	assert_string_equal(alert_span(59500000, b, sizeof(b)), "1m");
	assert_string_equal(alert_span(3660 * CLOCK_US_PER_SEC, b,
	    sizeof(b)), "1h1m");
	assert_string_equal(alert_span(86400 * CLOCK_US_PER_SEC + 59, b,
	    sizeof(b)), "1d");
	assert_string_equal(alert_span(8 * 86400 * CLOCK_US_PER_SEC, b,
	    sizeof(b)), "1w1d");
	assert_string_equal(alert_clock(T0 + 90 * 60 * CLOCK_US_PER_SEC, T0,
	    b, sizeof(b)), "03:30 UTC");
	assert_string_equal(alert_clock(T0 + 24 * 3600 * CLOCK_US_PER_SEC,
	    T0, b, sizeof(b)), "2026-11-30 02:00 UTC");
}

static void
test_cat_scrub_url(void **state)
{
	char	b[8] = "", s[64];

	(void)state;
	alert_cat(b, sizeof(b), "%s", "abc");
	alert_cat(b, sizeof(b), "%d", 12345);
	assert_string_equal(b, "abc1234");
	alert_cat(b, sizeof(b), "more");
	assert_string_equal(b, "abc1234");

	snprintf(s, sizeof(s), "GET https://h/T0/SECRET failed: SECRET");
	alert_scrub(s, "SECRET");
	assert_string_equal(s, "GET https://h/T0/*** failed: ***");
	alert_scrub(s, "ab");		/* too short to be one: left */
	alert_scrub(s, NULL);
	assert_string_equal(s, "GET https://h/T0/*** failed: ***");

	alert_url_shown("https://hooks.slack.com/services/T0/B0/SECRET", s,
	    sizeof(s));
	assert_string_equal(s, "https://hooks.slack.com/...");
	alert_url_shown("http://127.0.0.1:8080/hook?token=SECRET", s,
	    sizeof(s));
	assert_string_equal(s, "http://127.0.0.1:8080/...");
	alert_url_shown("not a url", s, sizeof(s));
	assert_string_equal(s, "(url)");
}

static void
test_slack_matrix(void **state)
{
	struct fmt	f;
	char		*body;

	(void)state;
	fmt_init(&f, CONF_ALERT_SLACK, "banned <!channel> & \"x\"\nnext");
	f.ca.username = (char *)(uintptr_t)"guard";
	f.ca.icon = (char *)(uintptr_t)":shield:";
	body = fmt_body(&f);
	assert_string_equal(body, "{\"text\":\"banned &lt;!channel&gt; "
	    "&amp; \\\"x\\\"\\nnext\",\"username\":\"guard\","
	    "\"icon_emoji\":\":shield:\"}");
	free(body);

	/* Mattermost reads no such escapes; Rocket.Chat names its fields. */
	f.ca.type = CONF_ALERT_ROCKETCHAT;
	f.ca.icon = (char *)(uintptr_t)"https://img.example/g.png";
	body = fmt_body(&f);
	assert_string_equal(body, "{\"text\":\"banned <!channel> & "
	    "\\\"x\\\"\\nnext\",\"alias\":\"guard\","
	    "\"avatar\":\"https://img.example/g.png\"}");
	free(body);

	fmt_init(&f, CONF_ALERT_MATRIX, "a <b> & \"c\"\nd");
	body = fmt_body(&f);
	assert_string_equal(body, "{\"msgtype\":\"m.notice\",\"body\":"
	    "\"a <b> & \\\"c\\\"\\nd\",\"format\":\"org.matrix.custom.html\","
	    "\"formatted_body\":\"a &lt;b&gt; &amp; &quot;c&quot;<br>d\"}");
	free(body);
}

static void
test_discord_cut(void **state)
{
	struct fmt	 f;
	char		 text[ALERT_TEXT_MAX], *body, *content, *end;
	size_t		 i;

	(void)state;
	/* 2-byte characters: 2000 bytes cannot end inside one. */
	for (i = 0; i + 2 < sizeof(text) && i < 2999; i += 2)
		memcpy(text + i, "\xc3\xa9", 2);
	text[i] = '\0';
	fmt_init(&f, CONF_ALERT_DISCORD, text);
	body = fmt_body(&f);
	assert_int_equal(strncmp(body, "{\"content\":\"", 12), 0);
	content = body + 12;
	assert_non_null(end = strstr(content, "...\""));
	assert_true(end - content + 3 <= ALERT_DISCORD_MAX);
	assert_int_equal((end - content) % 2, 0);	/* whole characters */
	assert_non_null(strstr(end, "\"allowed_mentions\":{\"parse\":[]}}"));
	free(body);
}

static void
test_json_template(void **state)
{
	struct fmt	 f;
	char		*body;

	(void)state;
	fmt_init(&f, CONF_ALERT_JSON, "xmpp1: banned 192.0.2.7/32");
	f.m.has_ban = 1;
	assert_int_equal(addr_prefix_parse("192.0.2.7/32", &f.m.prefix, 0),
	    0);
	f.m.rule = "churn";
	snprintf(f.m.reason, sizeof(f.m.reason), "churn: \"40\" new");
	f.m.duration = 600 * CLOCK_US_PER_SEC;
	f.m.count = 2;
	body = fmt_body(&f);
	assert_string_equal(body, "{\"event\":\"ban\",\"severity\":\"info\","
	    "\"host\":\"xmpp1\",\"time\":\"2026-11-29T02:00:00.000000Z\","
	    "\"text\":\"xmpp1: banned 192.0.2.7/32\","
	    "\"address\":\"192.0.2.7/32\","
	    "\"rule\":\"churn\",\"reason\":\"churn: \\\"40\\\" new\","
	    "\"duration\":600,\"count\":2}");
	free(body);

	f.ca.tmpl = (char *)(uintptr_t)"{\"t\":\"$text\",\"r\":\"$reason\","
	    "\"d\":$duration,\"c\":$count,\"cost\":\"$$5\",\"a\":\"$address\"}";
	body = fmt_body(&f);
	assert_string_equal(body, "{\"t\":\"xmpp1: banned 192.0.2.7/32\","
	    "\"r\":\"churn: \\\"40\\\" new\",\"d\":600,\"c\":2,"
	    "\"cost\":\"$5\",\"a\":\"192.0.2.7/32\"}");
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_cat_scrub_url),
		cmocka_unit_test(test_slack_matrix),
		cmocka_unit_test(test_discord_cut),
		cmocka_unit_test(test_json_template),
	};

	return cmocka_run_group_tests_name("alert_fmt", tests, NULL, NULL);
}
