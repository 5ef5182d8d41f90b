/*
 * Unit tests for the libraries loaded at first use (dyn.c): both load,
 * every function named is found, a second load is the same table, the
 * callers' names reach the loaded functions (dyn.h's macros), and the
 * binary itself does not link them (nothing loaded before the first use).
 */
#include "unit.h"

#include "../../src/dyn.c"

#include <link.h>
#include <string.h>

/* dl_iterate_phdr(3) callback: finds a loaded object by name. */
static int
test_dyn_find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char	*want = arg;

	(void)size;
	return info->dlpi_name != NULL && strstr(info->dlpi_name, want) !=
	    NULL;
}

static void
test_not_linked(void **state)
{
	(void)state;
	/* Before any test below has loaded them. */
	assert_int_equal(dl_iterate_phdr(test_dyn_find_cb,
	    (void *)(uintptr_t)"libcurl.so"), 0);
	assert_int_equal(dl_iterate_phdr(test_dyn_find_cb,
	    (void *)(uintptr_t)"libstrophe.so"), 0);
}

static void
test_curl(void **state)
{
	const struct dyn_curl	*c;
	char			*cause = NULL, *s;
	size_t			 i;

	(void)state;
	assert_int_equal(dyn_curl_load(&cause), 0);
	assert_null(cause);
	c = dyn_curl();
	for (i = 0; i < dyn_curl_lib.n; i++)
		assert_non_null(((void *const *)(const void *)c)[i]);
	assert_ptr_equal(dyn_curl(), c);
	assert_int_equal(dyn_curl_load(NULL), 0);
	/* Through the callers' names. */
	assert_non_null(curl_version_info(CURLVERSION_NOW)->version);
	assert_non_null(s = curl_easy_escape(NULL, "a b", 0));
	assert_string_equal(s, "a%20b");
	curl_free(s);
	assert_int_not_equal(dl_iterate_phdr(test_dyn_find_cb,
	    (void *)(uintptr_t)"libcurl.so"), 0);
}

static void
test_strophe(void **state)
{
	xmpp_ctx_t	*ctx;
	xmpp_stanza_t	*m;
	char		*cause = NULL, *text;
	size_t		 len;

	(void)state;
	assert_int_equal(dyn_strophe_load(&cause), 0);
	assert_null(cause);
	xmpp_initialize();
	assert_non_null(ctx = xmpp_ctx_new(NULL, NULL));
	assert_non_null(m = xmpp_message_new(ctx, "chat", "a@example.org",
	    NULL));
	assert_int_equal(xmpp_stanza_to_text(m, &text, &len), XMPP_EOK);
	assert_non_null(strstr(text, "to=\"a@example.org\""));
	xmpp_free(ctx, text);
	xmpp_stanza_release(m);
	xmpp_ctx_free(ctx);
}

/* A library that is not there, a function the library lacks: a cause,
 * and the table untouched. */
static void
test_missing(void **state)
{
	static const char *const none[] = { "curl_free" };
	static const char *const lacks[] = { "curl_free", "xg_no_such" };
	void		*table[2] = { NULL, NULL };
	struct dyn_lib	 l = {
		.soname = "libxmppguard-none.so.0",
		.names = none,
		.n = 1,
		.table = table,
	};

	(void)state;
	dyn_open(&l);
	assert_false(l.ok);
	assert_non_null(strstr(l.cause, "cannot load libxmppguard-none"));
	assert_null(table[0]);
	free(l.cause);

	l.soname = DYN_CURL_SONAME;
	l.names = lacks;
	l.n = 2;
	l.cause = NULL;
	dyn_open(&l);
	assert_false(l.ok);
	assert_string_equal(l.cause, "libcurl.so.4: no xg_no_such");
	assert_null(table[0]);
	free(l.cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_linked),
		cmocka_unit_test(test_curl),
		cmocka_unit_test(test_strophe),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests_name("dyn", tests, NULL, NULL);
}
