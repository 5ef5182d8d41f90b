/*
 * Unit tests for conf_layers.c and what layering changes in conf.c,
 * conf_load.c and conf_print.c: conf.d read in byte order after the main
 * file, a later file winning, sections going on across files, names that
 * are not *.conf ignored, a missing conf.d, every error naming its own
 * file and line (derived checks too), the secrets file's modes and owner,
 * secrets never printed, warnings for secrets others may read, and the
 * Authorization header's value checked.  Each test builds its files in a
 * directory of its own.
 */
#include "unit.h"

#include "../../src/conf_layers.c"
#include "../../src/log.h"

#include <pwd.h>

/* A directory with a main file, conf.d and secrets. */
struct tree {
	char	 dir[64];
	char	 main[96];
	char	 dropins[96];
	char	 secrets[96];
};

static void
tree_init(struct tree *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_conf_layers.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->main, sizeof(t->main), "%s/xmppguard.conf", t->dir);
	snprintf(t->dropins, sizeof(t->dropins), "%s/conf.d", t->dir);
	snprintf(t->secrets, sizeof(t->secrets), "%s/secrets", t->dir);
}

/* Writes text to dir/name (name relative to the tree) with a mode. */
static void
tree_put(struct tree *t, const char *name, mode_t mode, const char *text)
{
	char	path[192];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	if (strncmp(name, "conf.d/", 7) == 0)
		(void)mkdir(t->dropins, 0755);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
tree_clear(struct tree *t)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
}

/* Loads the tree's main file; 0 or -1, *cause set on -1. */
static int
tree_load(struct tree *t, struct conf **conf, char **cause)
{
	*cause = NULL;
	return conf_load(t->main, conf, cause);
}

/* Loads expecting success. */
static struct conf *
tree_ok(struct tree *t)
{
	struct conf	*conf;
	char		*cause;

	if (tree_load(t, &conf, &cause) == -1)
		fail_msg("unexpected errors:\n%s", cause);
	return conf;
}

/* Loads expecting errors; returns them (caller frees). */
static char *
tree_fails(struct tree *t)
{
	struct conf	*conf;
	char		*cause;

	if (tree_load(t, &conf, &cause) == 0)
		fail_msg("loaded, expected an error");
	return cause;
}

/* Asserts a line of text starts with "DIR/name:line: " and holds needle. */
static void
assert_at(const char *text, const struct tree *t, const char *name,
    int line, const char *needle)
{
	char		 prefix[256];
	const char	*s, *nl;

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s/%s:%d: ", t->dir, name,
		    line);
	else
		snprintf(prefix, sizeof(prefix), "%s/%s: ", t->dir, name);
	for (s = text; s != NULL && *s != '\0'; s = *nl != '\0' ? nl + 1 :
	    nl) {
		nl = s + strcspn(s, "\n");
		if (strncmp(s, prefix, strlen(prefix)) == 0 &&
		    memmem(s, (size_t)(nl - s), needle, strlen(needle)) != NULL)
			return;
	}
	fail_msg("no '%s...%s' in:\n%s", prefix, needle,
	    text != NULL ? text : "(nothing)");
}

static char *
print_conf(const struct conf *conf)
{
	char	*text;
	size_t	 len;
	FILE	*fp;

	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	conf_print(fp, conf);
	assert_int_equal(fclose(fp), 0);
	return text;
}

static void
test_single_file(void **state)
{
	struct tree	 t;
	struct conf	*conf;
	char		*text;

	(void)state;
	/* No conf.d, no secrets: one file, printed as it always was. */
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "[global]\ndry_run = yes\n");
	conf = tree_ok(&t);
	assert_int_equal(conf->dry_run, 1);
	assert_int_equal(conf->layers->nfiles, 1);
	assert_null(conf_warnings(conf));
	text = print_conf(conf);
	assert_null(strstr(text, "# then "));
	assert_null(strstr(text, "\n# /"));
	free(text);
	conf_free(conf);
	tree_clear(&t);
}

static void
test_order(void **state)
{
	struct tree	 t;
	struct conf	*conf;
	char		*text, want[512];

	(void)state;
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644,
	    "[global]\nlog_level = error\ndry_run = no\n"
	    "[service c2s]\nmax_concurrent = 7\n");
	/* Byte order: "B" before "a", "10" before "9". */
	tree_put(&t, "conf.d/a.conf", 0644, "[global]\nlog_level = debug\n");
	tree_put(&t, "conf.d/B.conf", 0644, "[global]\nlog_level = warning\n"
	    "dry_run = yes\n");
	tree_put(&t, "conf.d/9-x.conf", 0644, "[store]\nbatch_max = 9\n");
	tree_put(&t, "conf.d/10-x.conf", 0644, "[store]\nbatch_max = 10\n");
	/* A section goes on: max_new added, max_concurrent kept. */
	tree_put(&t, "conf.d/c2s.conf", 0644,
	    "[service c2s]\nmax_new = 5/1m\n");
	conf = tree_ok(&t);
	assert_int_equal(conf->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(conf->dry_run, 1);
	assert_int_equal(conf->batch_max, 9);
	assert_int_equal(conf->services[0].max_concurrent, 7);
	assert_int_equal(conf->services[0].max_new.count, 5);
	assert_int_equal(conf->layers->nfiles, 6);

	/* check-config says where each value came from, and what it
	 * replaced. */
	text = print_conf(conf);
	snprintf(want, sizeof(want), "# then %s/conf.d/10-x.conf\n"
	    "# then %s/conf.d/9-x.conf\n# then %s/conf.d/B.conf\n", t.dir,
	    t.dir, t.dir);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "# %s/conf.d/a.conf:2, replacing "
	    "%s/conf.d/B.conf:2\nlog_level      = debug\n", t.dir, t.dir);
	if (strstr(text, want) == NULL)
		fail_msg("no\n%s\nin\n%s", want, text);
	snprintf(want, sizeof(want), "# %s/xmppguard.conf:5\n"
	    "max_concurrent = 7\n", t.dir);
	assert_non_null(strstr(text, want));
	free(text);
	conf_free(conf);
	tree_clear(&t);
}

static void
test_lists_replaced(void **state)
{
	struct tree	 t;
	struct conf	*conf;

	(void)state;
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644,
	    "[allow]\nnetworks = 192.0.2.0/24,\n  198.51.100.0/24\n"
	    "[override nat]\nnetworks = 203.0.113.7\nmax_concurrent = 100\n");
	tree_put(&t, "conf.d/allow.conf", 0644,
	    "[allow]\nnetworks = 2001:db8::/32\n"
	    "[override nat]\nmax_concurrent = 150\n");
	conf = tree_ok(&t);
	assert_int_equal(conf->nallow, 1);
	assert_int_equal(conf->allow[0].len, 32);
	assert_int_equal(conf->noverrides, 1);
	assert_int_equal(conf->overrides[0].max_concurrent, 150);
	assert_int_equal(conf->overrides[0].nnetworks, 1);
	conf_free(conf);
	tree_clear(&t);
}

static void
test_ignored(void **state)
{
	struct tree	 t;
	struct conf	*conf;

	(void)state;
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "");
	/* None of these is read: garbage in each would be an error. */
	tree_put(&t, "conf.d/README", 0644, "garbage\n");
	tree_put(&t, "conf.d/x.conf.dpkg-old", 0644, "garbage\n");
	tree_put(&t, "conf.d/x.conf.dpkg-dist", 0644, "garbage\n");
	tree_put(&t, "conf.d/.x.conf.swp", 0644, "garbage\n");
	tree_put(&t, "conf.d/.hidden.conf", 0644, "garbage\n");
	tree_put(&t, "conf.d/x.conf~", 0644, "garbage\n");
	tree_put(&t, "conf.d/.conf", 0644, "garbage\n");
	tree_put(&t, "conf.d/x.CONF", 0644, "garbage\n");
	conf = tree_ok(&t);
	assert_int_equal(conf->layers->nfiles, 1);
	conf_free(conf);
	tree_clear(&t);

	/* A missing conf.d is fine, an empty one too. */
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "");
	conf_free(tree_ok(&t));
	assert_int_equal(mkdir(t.dropins, 0755), 0);
	conf_free(tree_ok(&t));
	tree_clear(&t);
}

static void
test_dropin_errors(void **state)
{
	struct tree	 t;
	char		*cause;

	(void)state;
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644,
	    "[global]\ndry_run = yes\n\n[service xmpps]\nports = 5223\n");
	tree_put(&t, "conf.d/10-a.conf", 0644,
	    "# office\n[global]\n\nlog_levl = debug\n");
	/* Twice in one drop-in is still a mistake; a header too. */
	tree_put(&t, "conf.d/20-b.conf", 0644,
	    "[store]\nbatch_max = 5\nbatch_max = 6\n[store]\n");
	/* A key before any section: each file starts outside one. */
	tree_put(&t, "conf.d/30-c.conf", 0644, "retention = 1d\n");
	/* A derived check: the port clash is blamed on this line. */
	tree_put(&t, "conf.d/40-d.conf", 0644,
	    "\n[service c2s]\nmax_new = 1/1m\nports = 5222, 5223\n");
	cause = tree_fails(&t);
	assert_at(cause, &t, "conf.d/10-a.conf", 4, "unknown key "
	    "'log_levl' in [global]; did you mean 'log_level'?");
	assert_at(cause, &t, "conf.d/20-b.conf", 3, "duplicate key "
	    "'batch_max', first set at line 2");
	assert_at(cause, &t, "conf.d/20-b.conf", 4, "[store] already "
	    "defined at line 1");
	assert_at(cause, &t, "conf.d/30-c.conf", 1, "'retention' before any "
	    "section");
	assert_at(cause, &t, "conf.d/40-d.conf", 4, "port 5223 is in both "
	    "[service c2s] and [service xmpps]");
	free(cause);
	tree_clear(&t);

	/* conf.d a file, not a directory. */
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "");
	tree_put(&t, "conf.d", 0644, "");
	cause = tree_fails(&t);
	assert_at(cause, &t, "conf.d", 0, "Not a directory");
	free(cause);
	tree_clear(&t);

	/* A *.conf that is a directory. */
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "");
	assert_int_equal(mkdir(t.dropins, 0755), 0);
	{
		char	sub[160];

		snprintf(sub, sizeof(sub), "%s/sub.conf", t.dropins);
		assert_int_equal(mkdir(sub, 0755), 0);
	}
	cause = tree_fails(&t);
	assert_at(cause, &t, "conf.d/sub.conf", 0, "not a regular file");
	free(cause);
	tree_clear(&t);
}

static void
test_dropin_strictmodes(void **state)
{
	struct tree	 t;
	char		*cause;

	(void)state;
	if (geteuid() != 0)
		skip();
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "");
	tree_put(&t, "conf.d/ok.conf", 0644, "");
	tree_put(&t, "conf.d/open.conf", 0666, "");
	cause = tree_fails(&t);
	assert_at(cause, &t, "conf.d/open.conf", 0, "writable by others "
	    "(mode 0666)");
	free(cause);
	tree_clear(&t);
}

static void
test_secrets(void **state)
{
	struct tree	 t;
	struct conf	*conf;
	char		*cause, *text, want[512];

	(void)state;
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644,
	    "[global]\nfirewall = webhook\n[ban]\n"
	    "webhook = https://hooks.example.org/placeholder\n"
	    "[alert ops]\ntype = json\n"
	    "url = https://chat.example.org/hooks/placeholder\n");
	tree_put(&t, "secrets", 0600,
	    "# tokens\n[ban]\nwebhook = https://api.example.org/SECRETHOOK\n"
	    "webhook_authorization = Bearer SECRETWEBHOOKTOKEN\n"
	    "[alert ops]\nauthorization = Basic SECRETALERTTOKEN\n");
	conf = tree_ok(&t);
	assert_string_equal(conf->ban_webhook,
	    "https://api.example.org/SECRETHOOK");
	assert_string_equal(conf->ban_webhook_auth,
	    "Bearer SECRETWEBHOOKTOKEN");
	assert_string_equal(conf->alerts[0].authorization,
	    "Basic SECRETALERTTOKEN");

	/* Printed as where they are, never what they are. */
	text = print_conf(conf);
	assert_null(strstr(text, "SECRET"));
	assert_null(strstr(text, "placeholder"));
	snprintf(want, sizeof(want), "webhook_authorization = <secret from "
	    "%s/secrets:4>\n", t.dir);
	if (strstr(text, want) == NULL)
		fail_msg("no %s in:\n%s", want, text);
	snprintf(want, sizeof(want), "url            = <secret from "
	    "%s/xmppguard.conf:7>\n", t.dir);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "token          = \n"));
	free(text);

	/* The URL in the main file, readable by all: a warning, naming
	 * the file and the line, not the value. */
	assert_non_null(conf_warnings(conf));
	assert_at(conf_warnings(conf), &t, "xmppguard.conf", 7, "warning: "
	    "url is a secret, but this file is readable by others (mode "
	    "0644): move it to ");
	assert_null(strstr(conf_warnings(conf), "SECRET"));
	assert_null(strstr(conf_warnings(conf), "placeholder"));
	/* The webhook in the main file was replaced: no warning for it?
	 * It is still written there, so it is warned about too. */
	conf_free(conf);

	/* 0400 is fine too; group or others refused, naming the file. */
	assert_int_equal(chmod(t.secrets, 0400), 0);
	conf_free(tree_ok(&t));
	assert_int_equal(chmod(t.secrets, 0644), 0);
	cause = tree_fails(&t);
	assert_at(cause, &t, "secrets", 0, "open to others (mode 0644); a "
	    "secrets file must be mode 0600 or 0400");
	assert_null(strstr(cause, "SECRET"));
	free(cause);
	assert_int_equal(chmod(t.secrets, 0640), 0);
	cause = tree_fails(&t);
	assert_at(cause, &t, "secrets", 0, "(mode 0640)");
	free(cause);
	tree_clear(&t);
}

static void
test_secrets_named(void **state)
{
	struct tree	 t;
	struct conf	*conf;
	char		*cause, text[256];

	(void)state;
	tree_init(&t);
	/* Named: it must exist; the default beside is then not read. */
	snprintf(text, sizeof(text), "[global]\nsecrets = %s/tokens\n",
	    t.dir);
	tree_put(&t, "xmppguard.conf", 0644, text);
	tree_put(&t, "secrets", 0600, "garbage\n");
	cause = tree_fails(&t);
	assert_at(cause, &t, "tokens", 0, "No such file or directory");
	free(cause);
	tree_put(&t, "tokens", 0600, "[alert a]\ntoken = x\n");
	tree_put(&t, "conf.d/a.conf", 0644, "[alert a]\ntype = matrix\n"
	    "url = https://matrix.example.org\nroom = !r:example.org\n");
	conf = tree_ok(&t);
	assert_string_equal(conf->alerts[0].token, "x");
	conf_free(conf);

	/* Not in the secrets file itself. */
	snprintf(text, sizeof(text), "[global]\nsecrets = %s/tokens\n",
	    t.dir);
	tree_put(&t, "tokens", 0600, text);
	cause = tree_fails(&t);
	assert_at(cause, &t, "tokens", 2, "secrets: set in the secrets file "
	    "itself");
	free(cause);
	tree_clear(&t);
}

static void
test_secrets_owner(void **state)
{
	struct tree	 t;
	struct passwd	*pw;
	struct conf	*conf;
	char		*cause;

	(void)state;
	pw = geteuid() == 0 ? getpwnam("nobody") : NULL;
	if (pw == NULL) {
		skip();
		return;
	}
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "[alert a]\ntype = json\n"
	    "url = https://example.org/hook\n");
	tree_put(&t, "secrets", 0600, "[alert a]\nauthorization = Bearer x\n"
	    "[global]\ndry_run = yes\n");
	assert_int_equal(chown(t.secrets, pw->pw_uid, pw->pw_gid), 0);
	/* Someone else's: refused. */
	cause = tree_fails(&t);
	assert_at(cause, &t, "secrets", 0, "owned by user 'nobody'");
	assert_at(cause, &t, "secrets", 0, "not root nor the daemon's user");
	free(cause);
	/* The daemon's user's: read, but it may hold secrets only. */
	tree_put(&t, "conf.d/user.conf", 0644, "[global]\nuser = nobody\n");
	cause = tree_fails(&t);
	assert_at(cause, &t, "secrets", 4, "'dry_run' is not a secret");
	free(cause);
	tree_put(&t, "secrets", 0600, "[alert a]\nauthorization = Bearer x\n");
	assert_int_equal(chown(t.secrets, pw->pw_uid, pw->pw_gid), 0);
	conf = tree_ok(&t);
	assert_string_equal(conf->alerts[0].authorization, "Bearer x");
	conf_free(conf);
	tree_clear(&t);
}

static void
test_warnings(void **state)
{
	struct tree	 t;
	struct conf	*conf;

	(void)state;
	/* A secret in a file only root reads: no warning; an empty one
	 * never. */
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0600, "[alert a]\ntype = matrix\n"
	    "url = https://m.example.org\nroom = !r:example.org\n"
	    "token = tok\n");
	tree_put(&t, "conf.d/x.conf", 0644, "[alert b]\ntype = slack\n"
	    "url = https://h.example.org/x\nauthorization =\n");
	conf = tree_ok(&t);
	assert_non_null(conf_warnings(conf));
	assert_at(conf_warnings(conf), &t, "conf.d/x.conf", 3, "url is a "
	    "secret");
	assert_null(strstr(conf_warnings(conf), "xmppguard.conf"));
	assert_null(strstr(conf_warnings(conf), "authorization"));
	conf_free(conf);
	tree_clear(&t);
}

static void
test_header_values(void **state)
{
	struct tree	 t;
	const char	*why;
	char		*cause;

	(void)state;
	assert_int_equal(conf_header_ok("Bearer abc.DEF-123", &why), 0);
	assert_int_equal(conf_header_ok("Basic\tYWxhZGRpbjpvcGVuc2VzYW1l",
	    &why), 0);
	assert_int_equal(conf_header_ok("", &why), 0);
	assert_int_equal(conf_header_ok("Bearer x\r\nX-Evil: 1", &why), -1);
	assert_string_equal(why, "a line break in it");
	assert_int_equal(conf_header_ok("Bearer x\n", &why), -1);
	assert_int_equal(conf_header_ok("Bearer \x1bx", &why), -1);
	assert_string_equal(why, "a control character in it");

	/* From a file a CR or LF never reaches the value: the reader
	 * refuses the line, with its file and line. */
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "[alert a]\ntype = json\n"
	    "url = https://example.org/hook\n");
	tree_put(&t, "secrets", 0600,
	    "[alert a]\nauthorization = Bearer x\rX-Evil: 1\n"
	    "[ban]\nwebhook_authorization = Bearer \x01y\n");
	cause = tree_fails(&t);
	assert_at(cause, &t, "secrets", 2, "invalid byte 0x0d");
	assert_at(cause, &t, "secrets", 4, "invalid byte 0x01");
	assert_null(strstr(cause, "Evil"));
	free(cause);

	/* Not for matrix, whose token is the header. */
	tree_put(&t, "xmppguard.conf", 0644, "[alert a]\ntype = matrix\n"
	    "url = https://m.example.org\nroom = !r:example.org\n"
	    "token = tok\n");
	tree_put(&t, "secrets", 0600,
	    "\n[alert a]\nauthorization = Bearer x\n");
	cause = tree_fails(&t);
	assert_at(cause, &t, "secrets", 3, "authorization: not for type "
	    "matrix");
	free(cause);
	tree_clear(&t);
}

static void
test_webhook_url(void **state)
{
	struct tree	 t;
	char		*cause;

	(void)state;
	tree_init(&t);
	tree_put(&t, "xmppguard.conf", 0644, "[global]\nfirewall = webhook\n");
	tree_put(&t, "secrets", 0600, "[ban]\n\nwebhook = ftp://SECRET/x\n");
	cause = tree_fails(&t);
	assert_at(cause, &t, "secrets", 3, "webhook: not an http:// or "
	    "https:// URL");
	assert_null(strstr(cause, "SECRET"));
	free(cause);
	tree_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_file),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_lists_replaced),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_dropin_errors),
		cmocka_unit_test(test_dropin_strictmodes),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_secrets_named),
		cmocka_unit_test(test_secrets_owner),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_header_values),
		cmocka_unit_test(test_webhook_url),
	};

	return cmocka_run_group_tests_name("conf_layers", tests, NULL, NULL);
}
