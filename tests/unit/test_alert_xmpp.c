/*
 * Unit tests for the XMPP alert sink (alert_xmpp.c) without a network: the
 * text made safe for XML (control characters, invalid UTF-8, a cut on a
 * character), the message stanzas as libstrophe writes them, the JIDs
 * and server addresses accepted, the bounded queue (oldest dropped and
 * counted), a sink built from a configuration read by the real parser
 * and queueing while it has no session, and the configuration checks of
 * type xmpp.  No thread is started: that takes the loop's first turn.
 */
#include "unit.h"

#include "../../src/alert_xmpp.c"

#include <unistd.h>

static void
test_clean(void **state)
{
	char	buf[64];

	(void)state;
	alert_xmpp_clean(buf, sizeof(buf), "a\tb\nc\rd\x01" "e\x7f");
	assert_string_equal(buf, "a\tb\nc?d?e?");
	/* Valid UTF-8 kept; a lone continuation byte, an overlong form, a
	 * surrogate and a cut sequence are not. */
	alert_xmpp_clean(buf, sizeof(buf), "caf\xc3\xa9 \x80 \xc0\xaf "
	    "\xed\xa0\x80 \xe2\x82");
	assert_string_equal(buf, "caf\xc3\xa9 ? ?? ??? ??");
	/* Not characters XML takes: U+FFFE, U+FFFF; U+FFFD is fine. */
	alert_xmpp_clean(buf, sizeof(buf), "\xef\xbf\xbf.\xef\xbf\xbd");
	assert_string_equal(buf, "???.\xef\xbf\xbd");
	/* Cut to fit, never inside a character. */
	alert_xmpp_clean(buf, 5, "ab\xc3\xa9\xc3\xa9");
	assert_string_equal(buf, "ab\xc3\xa9");
	alert_xmpp_clean(buf, 4, "ab\xe2\x82\xac");
	assert_string_equal(buf, "ab");
	alert_xmpp_word(buf, sizeof(buf), "not-authorized<x>");
	assert_string_equal(buf, "not-authorized?x?");
}

static void
test_stanza(void **state)
{
	xmpp_ctx_t	*ctx;
	xmpp_stanza_t	*m;
	char		*text;
	size_t		 len;

	(void)state;
	ctx = xmpp_ctx_new(NULL, NULL);
	assert_non_null(ctx);
	m = alert_xmpp_stanza(ctx, "groupchat", "ops@conference.example.org",
	    "xmppguard@h: banned 192.0.2.7/32 <x> & \"y\"");
	assert_non_null(m);
	assert_int_equal(xmpp_stanza_to_text(m, &text, &len), XMPP_EOK);
	assert_non_null(strstr(text, "type=\"groupchat\""));
	assert_non_null(strstr(text, "to=\"ops@conference.example.org\""));
	assert_non_null(strstr(text, "<body>xmppguard@h: banned "
	    "192.0.2.7/32 &lt;x&gt; &amp; &quot;y&quot;</body>"));
	assert_non_null(strstr(text, "id=\""));
	xmpp_free(ctx, text);
	xmpp_stanza_release(m);
	m = alert_xmpp_stanza(ctx, "chat", "admin@example.org", "hi");
	assert_int_equal(xmpp_stanza_to_text(m, &text, &len), XMPP_EOK);
	assert_non_null(strstr(text, "type=\"chat\""));
	xmpp_free(ctx, text);
	xmpp_stanza_release(m);
	xmpp_ctx_free(ctx);
}

static void
test_jid(void **state)
{
	(void)state;
	assert_true(alert_xmpp_jid_ok("bot@example.org", 0));
	assert_true(alert_xmpp_jid_ok("bot@example.org/guard", 0));
	assert_true(alert_xmpp_jid_ok("ops@conference.example.org", 1));
	assert_false(alert_xmpp_jid_ok("ops@conference.example.org/x", 1));
	assert_false(alert_xmpp_jid_ok("bot@example.org/", 0));
	assert_false(alert_xmpp_jid_ok("example.org", 0));
	assert_false(alert_xmpp_jid_ok("@example.org", 0));
	assert_false(alert_xmpp_jid_ok("bot@", 0));
	assert_false(alert_xmpp_jid_ok("bot@/r", 0));
	assert_false(alert_xmpp_jid_ok("b ot@example.org", 0));
	assert_false(alert_xmpp_jid_ok("bot@exa@mple.org", 0));
	assert_false(alert_xmpp_jid_ok("bot@example..org", 0));
	assert_false(alert_xmpp_jid_ok("bot@.example.org", 0));
	assert_false(alert_xmpp_jid_ok("b<t@example.org", 0));
	assert_false(alert_xmpp_jid_ok("", 0));
}

static void
test_server(void **state)
{
	char		host[64];
	unsigned short	port;

	(void)state;
	assert_int_equal(alert_xmpp_server_parse("xmpp.example.org", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "xmpp.example.org");
	assert_int_equal(port, 0);
	assert_int_equal(alert_xmpp_server_parse("127.0.0.1:5223", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 5223);
	assert_int_equal(alert_xmpp_server_parse("[::1]:5222", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 5222);
	assert_int_equal(alert_xmpp_server_parse("[2001:db8::1]", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(alert_xmpp_server_parse("::1", host, sizeof(host),
	    &port), -1);
	assert_int_equal(alert_xmpp_server_parse("[::1", host, sizeof(host),
	    &port), -1);
	assert_int_equal(alert_xmpp_server_parse("h:0", host, sizeof(host),
	    &port), -1);
	assert_int_equal(alert_xmpp_server_parse("h:65536", host,
	    sizeof(host), &port), -1);
	assert_int_equal(alert_xmpp_server_parse("h:", host, sizeof(host),
	    &port), -1);
	assert_int_equal(alert_xmpp_server_parse(":5222", host, sizeof(host),
	    &port), -1);
	assert_int_equal(alert_xmpp_server_parse("a b", host, sizeof(host),
	    &port), -1);
}

static void
test_queue(void **state)
{
	struct alert_xmpp_queue	 q;
	char			*t;
	int			 i, dropped = 0;

	(void)state;
	alert_xmpp_queue_init(&q, 3);
	for (i = 0; i < 5; i++)
		dropped += alert_xmpp_queue_push(&q, xasprintf("m%d", i));
	assert_int_equal(dropped, 2);
	assert_int_equal(q.len, 3);
	/* The newest three, oldest first. */
	for (i = 2; i < 5; i++) {
		char	want[8];

		snprintf(want, sizeof(want), "m%d", i);
		t = alert_xmpp_queue_pop(&q);
		assert_string_equal(t, want);
		free(t);
	}
	assert_null(alert_xmpp_queue_pop(&q));
	/* Wrapping around and cleared with texts in it. */
	for (i = 0; i < 4; i++)
		alert_xmpp_queue_push(&q, xasprintf("n%d", i));
	t = alert_xmpp_queue_pop(&q);
	assert_string_equal(t, "n1");
	free(t);
	alert_xmpp_queue_push(&q, xstrdup("n4"));
	assert_int_equal(alert_xmpp_queue_clear(&q), 3);
}

/* conf_load() of text; NULL and *cause if refused. */
static struct conf *
load(const char *text, char **cause)
{
	char		 path[] = "/tmp/xg-unit-xmpp.XXXXXX";
	struct conf	*conf = NULL;
	int		 fd;

	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	*cause = NULL;
	if (conf_load(path, &conf, cause) == -1)
		conf = NULL;
	unlink(path);
	return conf;
}

static void
test_sink(void **state)
{
	struct conf		*conf;
	struct alert_xmpp	*ax;
	struct alert_xmpp_stats	 st;
	char			*cause;
	int			 i;

	(void)state;
	conf = load("[alert ops]\ntype = xmpp\njid = bot@example.org\n"
	    "password = pw\nroom = ops@conference.example.org\n"
	    "to = a@example.org, b@example.org\nserver = [::1]:5223\n"
	    "tls = direct\nqueue = 2\n", &cause);
	assert_non_null(conf);
	ax = alert_xmpp_new(NULL, &conf->alerts[0], &cause);
	assert_non_null(ax);
	assert_string_equal(ax->occupant,
	    "ops@conference.example.org/xmppguard");
	assert_int_equal(ax->nto, 2);
	assert_string_equal(ax->to[1], "b@example.org");
	assert_string_equal(ax->host, "::1");
	assert_int_equal(ax->port, 5223);
	assert_true(ax->flags & XMPP_CONN_FLAG_LEGACY_SSL);
	assert_false(ax->flags & XMPP_CONN_FLAG_TRUST_TLS);
	/* No session: queued, the oldest dropped, nothing "busy". */
	for (i = 0; i < 5; i++)
		alert_xmpp_send(ax, "banned 192.0.2.7/32");
	alert_xmpp_get_stats(ax, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.sent, 0);
	assert_string_equal(alert_xmpp_state_name(st.state), "idle");
	assert_int_equal(alert_xmpp_busy(ax), 0);
	alert_xmpp_free(ax);
	conf_free(conf);
}

static void
test_conf_errors(void **state)
{
	struct conf	*conf;
	char		*cause;

	(void)state;
	conf = load("[alert ops]\ntype = xmpp\njid = bot\nroom = ops@c/x\n"
	    "url = https://example.org/\nserver = h:0\n", &cause);
	assert_null(conf);
	assert_non_null(strstr(cause, "type xmpp needs 'jid'"));
	assert_non_null(strstr(cause, "needs 'password'"));
	assert_non_null(strstr(cause, "room: not a room's JID"));
	assert_non_null(strstr(cause, "server: not host or host:port"));
	assert_non_null(strstr(cause, "url: not for type xmpp"));
	free(cause);
	conf = load("[alert ops]\ntype = xmpp\njid = bot@example.org\n"
	    "password = pw\n", &cause);
	assert_null(conf);
	assert_non_null(strstr(cause, "needs 'room' or 'to'"));
	free(cause);
	/* The other types: a url, and no xmpp directive. */
	conf = load("[alert ops]\ntype = slack\njid = bot@example.org\n",
	    &cause);
	assert_null(conf);
	assert_non_null(strstr(cause, "[alert ops] needs 'url'"));
	assert_non_null(strstr(cause, "jid: for type xmpp only"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_stanza),
		cmocka_unit_test(test_jid),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_conf_errors),
	};

	return cmocka_run_group_tests_name("alert_xmpp", tests, NULL, NULL);
}
