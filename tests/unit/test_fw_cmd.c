/*
 * Unit tests for the command backend: templates are parsed and checked at
 * open, placeholders become whole arguments, and real runs of a recording
 * script (written into a temporary directory) show that hostile values
 * stay one argument each, that a failure names itself without stopping
 * the batch, and that a hung program is killed.
 */
#include "unit.h"

#include "../../src/fw_cmd.c"

#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>

struct fixture {
	char	 dir[64];
	char	 script[96];
	char	 record[96];
};

/*
 * rec.sh RECORD ARGS...: appends each argument and a NUL to RECORD, then
 * "\1" and a NUL; fails (status 3, with a message) for 192.0.2.66 and
 * hangs for 192.0.2.99.
 */
static const char fw_cmd_test_script[] =
    "#!/bin/sh\n"
    "out=$1\n"
    "shift\n"
    "for a in \"$@\"; do printf '%s\\0' \"$a\"; done >>\"$out\"\n"
    "printf '\\001\\0' >>\"$out\"\n"
    "case $1 in\n"
    "192.0.2.66) echo 'boom: no route'; exit 3 ;;\n"
    "192.0.2.99) exec sleep 5 ;;\n"
    "esac\n"
    "exit 0\n";

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof *f);
	FILE		*fp;

	snprintf(f->dir, sizeof f->dir, "/tmp/xg-fwcmd.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->script, sizeof f->script, "%s/rec.sh", f->dir);
	snprintf(f->record, sizeof f->record, "%s/record", f->dir);
	assert_non_null(fp = fopen(f->script, "w"));
	fputs(fw_cmd_test_script, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(f->script, 0700), 0);
	fw_cmd_timeout_ms = 10000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 path[128];

	unlink(f->script);
	unlink(f->record);
	snprintf(path, sizeof path, "%s/pwned", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The recorded runs: records[i] is a NULL-ended argv (after RECORD). */
struct runs {
	char	 *data;
	char	**arg[16];
	int	  nargs[16];
	int	  n;
};

static void
runs_read(const char *path, struct runs *r)
{
	struct stat	 st;
	size_t		 off = 0, len;
	int		 fd, k = 0;
	char		*s;

	memset(r, 0, sizeof *r);
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	assert_int_equal(fstat(fd, &st), 0);
	r->data = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, r->data, (size_t)st.st_size), st.st_size);
	close(fd);
	r->arg[0] = xcalloc(40, sizeof(char *));
	while (off < (size_t)st.st_size) {
		s = r->data + off;
		len = strlen(s);
		off += len + 1;
		if (strcmp(s, "\001") == 0) {
			r->nargs[r->n] = k;
			r->n++;
			assert_true(r->n < 16);
			r->arg[r->n] = xcalloc(40, sizeof(char *));
			k = 0;
			continue;
		}
		assert_true(k < 39);
		r->arg[r->n][k++] = s;
	}
}

static void
runs_free(struct runs *r)
{
	int	i;

	for (i = 0; i <= r->n && i < 16; i++)
		free(r->arg[i]);
	free(r->data);
}

static void
make_op(struct fw_op *op, enum fw_op_kind kind, const char *pfx,
    int64_t duration, const char *rule, const char *reason)
{
	memset(op, 0, sizeof *op);
	op->kind = kind;
	assert_int_equal(addr_prefix_parse(pfx, &op->prefix, 0), 0);
	op->duration = duration;
	snprintf(op->rule, sizeof op->rule, "%s", rule);
	snprintf(op->reason, sizeof op->reason, "%s", reason);
}

static void
test_parse_ok(void **state)
{
	struct fw_cmd_tmpl	 t;
	char			*cause = NULL;

	(void)state;
	assert_int_equal(fw_cmd_parse("ban_command",
	    "  /usr/sbin/fw  -A\t{ip} {prefix} {duration} {reason} {rule} x ",
	    &t, &cause), 0);
	assert_null(cause);
	assert_int_equal(t.argc, 8);
	assert_string_equal(t.word[0], "/usr/sbin/fw");
	assert_int_equal(t.kind[0], FW_CMD_LITERAL);
	assert_string_equal(t.word[1], "-A");
	assert_int_equal(t.kind[2], FW_CMD_IP);
	assert_int_equal(t.kind[3], FW_CMD_PREFIX);
	assert_int_equal(t.kind[4], FW_CMD_DURATION);
	assert_int_equal(t.kind[5], FW_CMD_REASON);
	assert_int_equal(t.kind[6], FW_CMD_RULE);
	assert_int_equal(t.kind[7], FW_CMD_LITERAL);
	fw_cmd_tmpl_clear(&t);

	/* Empty: no command (allowed for unban_command). */
	assert_int_equal(fw_cmd_parse("unban_command", " \t ", &t, &cause), 0);
	assert_int_equal(t.argc, 0);
	fw_cmd_tmpl_clear(&t);
}

static void
test_parse_limits(void **state)
{
	struct fw_cmd_tmpl	 t;
	char			 s[512], *cause = NULL;
	int			 i;

	(void)state;
	/* The program and 32 arguments are fine, a 33rd is not. */
	snprintf(s, sizeof s, "/bin/true");
	for (i = 0; i < 32; i++)
		strcat(s, i % 2 ? " {ip}" : " a");
	assert_int_equal(fw_cmd_parse("ban_command", s, &t, &cause), 0);
	assert_int_equal(t.argc, 33);
	fw_cmd_tmpl_clear(&t);
	strcat(s, " b");
	assert_int_equal(fw_cmd_parse("ban_command", s, &t, &cause), -1);
	assert_non_null(strstr(cause, "ban_command: more than 32 arguments"));
	assert_int_equal(t.argc, 0);
	assert_null(t.buf);
	free(cause);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*tmpl;
		const char	*cause;
	} bad[] = {
		{ "fw {ip}", "absolute path, not \"fw\"" },
		{ "./fw {ip}", "absolute path, not \"./fw\"" },
		{ "{ip} /bin/x", "absolute path, not \"{ip}\"" },
		{ "/bin/x {ipaddr}", "bad placeholder \"{ipaddr}\"" },
		{ "/bin/x {ip}:22", "bad placeholder \"{ip}:22\"" },
		{ "/bin/x --from={ip}", "bad placeholder \"--from={ip}\"" },
		{ "/bin/x {IP}", "bad placeholder \"{IP}\"" },
		{ "/bin/x {{ip}}", "bad placeholder \"{{ip}}\"" },
		{ "/bin/x {ip", "bad placeholder \"{ip\"" },
		{ "/bin/x }", "bad placeholder \"}\"" },
		{ "/bin/x {}", "bad placeholder \"{}\"" },
		{ "/bin/x {prefix}{ip}", "bad placeholder \"{prefix}{ip}\"" },
	};
	struct fw_cmd_tmpl	 t;
	char			*cause;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		if (fw_cmd_parse("ban_command", bad[i].tmpl, &t, &cause) != -1)
			fail_msg("accepted: %s", bad[i].tmpl);
		assert_non_null(cause);
		if (strstr(cause, bad[i].cause) == NULL ||
		    strncmp(cause, "ban_command: ", 13) != 0)
			fail_msg("%s: cause \"%s\"", bad[i].tmpl, cause);
		free(cause);
	}
}

/*
 * Opens fw with the templates ban and unban as the configuration gives
 * them, freed again before it returns: the backend keeps its own copy.
 */
static int
open_cmd(struct fw *fw, const char *ban, const char *unban, char **cause)
{
	struct conf	 conf;
	int		 rc;

	memset(fw, 0, sizeof *fw);
	memset(&conf, 0, sizeof conf);
	conf.ban_command = xstrdup(ban);
	conf.unban_command = xstrdup(unban);
	rc = fw_cmd_open(fw, &conf, cause);
	free(conf.ban_command);
	free(conf.unban_command);
	return rc;
}

static void
test_open_errors(void **state)
{
	struct fw	 fw;
	char		*cause = NULL;

	(void)state;
	assert_int_equal(open_cmd(&fw, "", "", &cause), -1);
	assert_string_equal(cause, "firewall = command needs a ban_command");
	free(cause);
	assert_null(fw.priv);

	assert_int_equal(open_cmd(&fw, "/nonexistent/xg-ban {ip}", "",
	    &cause), -1);
	assert_string_equal(cause,
	    "ban_command: /nonexistent/xg-ban: No such file or directory");
	free(cause);

	assert_int_equal(open_cmd(&fw, "/bin/true {ip}",
	    "/bin/true {address}", &cause), -1);
	assert_non_null(strstr(cause,
	    "unban_command: bad placeholder \"{address}\""));
	free(cause);

	assert_int_equal(open_cmd(&fw, "/bin/true {ip}", "/bin/true {ip}",
	    &cause), 0);
	assert_non_null(fw.priv);
	fw_cmd_close(&fw);
	assert_null(fw.priv);
}

static void
test_expand(void **state)
{
	struct fw_cmd_tmpl	 t;
	struct fw_cmd_values	 v;
	struct fw_op		 op;
	struct fw		 fw;
	const char		*argv[FW_CMD_ARGMAX + 2];
	char			*cause = NULL;

	(void)state;
	memset(&fw, 0, sizeof fw);
	fw.ports[0] = 5222;
	fw.nports = 1;
	assert_int_equal(fw_cmd_parse("ban_command",
	    "/sbin/x {ip} {prefix} {duration} {reason} {rule} {ip}", &t,
	    &cause), 0);
	make_op(&op, FW_BAN, "198.51.100.0/24", 1500000, "churn",
	    "too many connections");
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[0], "/sbin/x");
	assert_string_equal(argv[1], "198.51.100.0");
	assert_string_equal(argv[2], "198.51.100.0/24");
	assert_string_equal(argv[3], "2");		/* rounded up */
	assert_string_equal(argv[4], "too many connections");
	assert_string_equal(argv[5], "churn");
	assert_string_equal(argv[6], "198.51.100.0");
	assert_null(argv[7]);

	make_op(&op, FW_THROTTLE, "2001:db8::7", 600000000, "karma", "");
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[1], "2001:db8::7");
	assert_string_equal(argv[2], "2001:db8::7/128");
	assert_string_equal(argv[3], "600");
	assert_string_equal(argv[4], "");	/* still one argument */

	make_op(&op, FW_UNBAN, "2001:db8:1::/48", 0, "manual", "lifted");
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[2], "2001:db8:1::/48");
	assert_string_equal(argv[3], "0");

	/* Fields that fill their arrays with no NUL are cut, not overrun. */
	memset(op.reason, 'r', sizeof op.reason);
	memset(op.rule, 'u', sizeof op.rule);
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_int_equal(strlen(argv[4]), FW_REASON_MAX - 1);
	assert_int_equal(strlen(argv[5]), FW_RULE_MAX - 1);
	fw_cmd_tmpl_clear(&t);
}

/* {ports} and {scope}: what the ban drops, by its scope. */
static void
test_expand_scope(void **state)
{
	struct fw_cmd_tmpl	 t;
	struct fw_cmd_values	 v;
	struct fw_op		 op;
	struct fw		 fw;
	const char		*argv[FW_CMD_ARGMAX + 2];
	char			*cause = NULL;

	(void)state;
	memset(&fw, 0, sizeof fw);
	fw.ports[0] = 5222;
	fw.ports[1] = 5269;
	fw.nports = 2;
	assert_int_equal(fw_cmd_parse("ban_command",
	    "/sbin/x {prefix} {scope} {ports}", &t, &cause), 0);
	make_op(&op, FW_BAN, "192.0.2.7", 1000000, "auth", "r");
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[2], "services");
	assert_string_equal(argv[3], "5222,5269");
	/* proxy_ports all (npports 0): every port. */
	op.scope = FW_SCOPE_PROXY;
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[2], "proxy");
	assert_string_equal(argv[3], "all");
	fw.pports[0] = 443;
	fw.pports[1] = 5222;
	fw.pports[2] = 5269;
	fw.npports = 3;
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[3], "443,5222,5269");
	/* An unban names the ports the ban dropped. */
	op.kind = FW_UNBAN;
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[3], "443,5222,5269");
	/* all_ports: one behaviour, every port in both scopes. */
	fw.all_ports = 1;
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[3], "all");
	op.scope = FW_SCOPE_SERVICES;
	fw_cmd_expand(&fw, &t, &op, &v, argv);
	assert_string_equal(argv[3], "all");
	fw_cmd_tmpl_clear(&t);
	/* Still a whole argument each. */
	assert_int_equal(fw_cmd_parse("ban_command", "/sbin/x {ports}:1", &t,
	    &cause), -1);
	assert_non_null(strstr(cause, "{ports}, {scope})"));
	free(cause);
}

/* Opens a backend on the recording script. */
static void
open_rec(struct fixture *f, struct fw *fw, const char *ban,
    const char *unban)
{
	char	*cause = NULL, *b, *u;

	b = xasprintf("%s %s %s", f->script, f->record, ban);
	u = unban != NULL ? xasprintf("%s %s %s", f->script, f->record,
	    unban) : xstrdup("");
	if (open_cmd(fw, b, u, &cause) == -1)
		fail_msg("open: %s", cause);
	free(b);
	free(u);
}

static void
test_run_hostile(void **state)
{
	struct fixture	*f = *state;
	struct fw	 fw;
	struct fw_op	 ops[8];
	struct runs	 r;
	char		 pwned[160], path[128], *cause = NULL;
	const char	*reasons[8];
	int		 i;

	snprintf(path, sizeof path, "%s/pwned", f->dir);
	snprintf(pwned, sizeof pwned, "$(touch %s/pwned) `touch %s/pwned`",
	    f->dir, f->dir);
	reasons[0] = "x; rm -rf / ; echo";
	reasons[1] = pwned;
	reasons[2] = "a b  c\tdone";
	reasons[3] = "'\"quotes\" 'and' \\ backslash";
	reasons[4] = "line1\nline2\n";
	reasons[5] = "*";
	reasons[6] = "";
	reasons[7] = "--help";
	for (i = 0; i < 8; i++)
		make_op(&ops[i], FW_BAN, "192.0.2.7", 60000000, "churn",
		    reasons[i]);
	open_rec(f, &fw, "-x {ip} {reason} {duration} {rule}", NULL);
	assert_int_equal(fw_cmd_apply(&fw, ops, 8, &cause), 0);
	assert_null(cause);
	fw_cmd_close(&fw);

	runs_read(f->record, &r);
	assert_int_equal(r.n, 8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(r.nargs[i], 5);
		assert_string_equal(r.arg[i][0], "-x");
		assert_string_equal(r.arg[i][1], "192.0.2.7");
		assert_string_equal(r.arg[i][2], reasons[i]);
		assert_string_equal(r.arg[i][3], "60");
		assert_string_equal(r.arg[i][4], "churn");
	}
	runs_free(&r);
	assert_int_equal(access(path, F_OK), -1);	/* nothing ran it */
}

static void
test_run_unban(void **state)
{
	struct fixture	*f = *state;
	struct fw	 fw;
	struct fw_op	 ops[2];
	struct runs	 r;
	char		*cause = NULL;

	make_op(&ops[0], FW_BAN, "2001:db8::/64", 3600000000LL, "manual",
	    "by hand");
	make_op(&ops[1], FW_UNBAN, "2001:db8::/64", 0, "manual", "expired");

	/* Without unban_command, an unban runs nothing and succeeds. */
	open_rec(f, &fw, "ban {prefix} {duration}", NULL);
	assert_int_equal(fw_cmd_apply(&fw, ops, 2, &cause), 0);
	fw_cmd_close(&fw);
	runs_read(f->record, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.arg[0][0], "ban");
	assert_string_equal(r.arg[0][1], "2001:db8::/64");
	assert_string_equal(r.arg[0][2], "3600");
	runs_free(&r);
	unlink(f->record);

	open_rec(f, &fw, "ban {prefix} {duration}",
	    "unban {prefix} {ip} {duration} {reason}");
	assert_int_equal(fw_cmd_apply(&fw, ops, 2, &cause), 0);
	fw_cmd_close(&fw);
	runs_read(f->record, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.nargs[1], 5);
	assert_string_equal(r.arg[1][0], "unban");
	assert_string_equal(r.arg[1][1], "2001:db8::/64");
	assert_string_equal(r.arg[1][2], "2001:db8::");
	assert_string_equal(r.arg[1][3], "0");
	assert_string_equal(r.arg[1][4], "expired");
	runs_free(&r);
}

static void
test_run_failures(void **state)
{
	struct fixture	*f = *state;
	struct fw	 fw;
	struct fw_op	 ops[4];
	struct runs	 r;
	char		*cause = NULL;

	make_op(&ops[0], FW_BAN, "192.0.2.1", 1000000, "churn", "one");
	make_op(&ops[1], FW_BAN, "192.0.2.66", 1000000, "churn", "two");
	make_op(&ops[2], FW_BAN, "192.0.2.3", 1000000, "churn", "three");
	make_op(&ops[3], FW_BAN, "192.0.2.66", 1000000, "churn", "four");
	open_rec(f, &fw, "{ip} {reason}", NULL);
	assert_int_equal(fw_cmd_apply(&fw, ops, 4, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, "ban_command for 192.0.2.66/32: ") != cause ||
	    strstr(cause, "rec.sh exited with status 3: boom: no route") ==
	    NULL || strstr(cause, "(and 1 more of 4 failed)") == NULL)
		fail_msg("cause: %s", cause);
	free(cause);

	/* One failure: just its message. */
	cause = NULL;
	assert_int_equal(fw_cmd_apply(&fw, &ops[1], 1, &cause), -1);
	assert_null(strstr(cause, "more of"));
	free(cause);
	fw_cmd_close(&fw);

	/* The rest of the batch ran. */
	runs_read(f->record, &r);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.arg[2][1], "three");
	assert_string_equal(r.arg[3][1], "four");
	runs_free(&r);
}

static void
test_run_timeout(void **state)
{
	struct fixture	*f = *state;
	struct fw	 fw;
	struct fw_op	 ops[2];
	char		*cause = NULL;
	int64_t		 start;

	fw_cmd_timeout_ms = 300;
	make_op(&ops[0], FW_BAN, "192.0.2.99", 1000000, "churn", "hangs");
	make_op(&ops[1], FW_BAN, "192.0.2.5", 1000000, "churn", "fine");
	open_rec(f, &fw, "{ip}", NULL);
	start = clock_monotonic();
	assert_int_equal(fw_cmd_apply(&fw, ops, 2, &cause), -1);
	assert_true(clock_monotonic() - start < 3 * CLOCK_US_PER_SEC);
	if (strstr(cause, "ban_command for 192.0.2.99/32: ") != cause ||
	    strstr(cause, "timed out") == NULL)
		fail_msg("cause: %s", cause);
	free(cause);
	fw_cmd_close(&fw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_scope),
		cmocka_unit_test_setup_teardown(test_run_hostile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_run_unban, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_run_failures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_run_timeout, setup,
		    teardown),
	};

	return (cmocka_run_group_tests_name("fw_cmd", tests, NULL, NULL));
}
