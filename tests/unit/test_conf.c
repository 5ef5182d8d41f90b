/*
 * Unit tests for conf.c, conf_load.c, conf_table.c and conf_print.c:
 * every error path of the file (each must name its line, and all errors
 * of a file must show at once), the built-in services and how sections
 * change them, the ports of all services together, print -> load round
 * trips, hostile input (long lines, binary garbage), the sample
 * configuration in contrib/ and the reference.  The value syntaxes are
 * tested in test_conf_value.c, the INI reader in test_inifile.c.
 */
#include "unit.h"

#include "../../src/conf.c"

#include <unistd.h>

#define US_S	1000000LL
#define US_M	(60 * US_S)
#define US_H	(3600 * US_S)
#define US_D	(86400 * US_S)
#define US_W	(7 * US_D)

/* A configuration loaded from text written to a temporary file. */
struct loaded {
	char		 path[64];
	int		 rc;
	struct conf	*conf;
	char		*cause;
};

static void
load_n(struct loaded *l, const char *text, size_t len)
{
	int	fd;

	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "/tmp/test_conf.XXXXXX");
	fd = mkstemp(l->path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	l->rc = conf_load(l->path, &l->conf, &l->cause);
	if (l->rc == 0)
		assert_null(l->cause);
	else
		assert_non_null(l->cause);
}

static void
load(struct loaded *l, const char *text)
{
	load_n(l, text, strlen(text));
}

static void
loaded_clear(struct loaded *l)
{
	conf_free(l->conf);
	free(l->cause);
	unlink(l->path);
	memset(l, 0, sizeof(*l));
}

static int
count_lines(const char *s)
{
	int	n = 1;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* 1 if some error line is "PATH:LINE: ...needle..." (LINE 0: "PATH: "). */
static int
has_error(const struct loaded *l, int line, const char *needle)
{
	char		 prefix[128];
	const char	*s, *nl;
	size_t		 plen;

	if (l->cause == NULL)
		return 0;
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", l->path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", l->path);
	plen = strlen(prefix);
	for (s = l->cause; *s != '\0'; s = *nl != '\0' ? nl + 1 : nl) {
		nl = s + strcspn(s, "\n");
		if (strncmp(s, prefix, plen) == 0 &&
		    memmem(s, (size_t)(nl - s), needle, strlen(needle)) != NULL)
			return 1;
	}
	return 0;
}

/* Loads text expecting exactly one error, on line, containing needle. */
static void
expect_one_error(const char *text, int line, const char *needle)
{
	struct loaded	l;

	load(&l, text);
	if (l.rc != -1 || count_lines(l.cause) != 1 ||
	    !has_error(&l, line, needle))
		fail_msg("for:\n%s\nexpected line %d '%s', got:\n%s", text,
		    line, needle, l.cause != NULL ? l.cause : "(no error)");
	loaded_clear(&l);
}

static void
expect_ok(const char *text)
{
	struct loaded	l;

	load(&l, text);
	if (l.rc != 0)
		fail_msg("for:\n%s\nunexpected errors:\n%s", text, l.cause);
	loaded_clear(&l);
}

static int
conf_rate_eq(const struct conf_rate *a, const struct conf_rate *b)
{
	return a->count == b->count && a->window == b->window;
}

static void
assert_conf_equal(const struct conf *a, const struct conf *b)
{
	int	i;

	assert_string_equal(a->state_dir, b->state_dir);
	assert_string_equal(a->control_socket, b->control_socket);
	assert_int_equal(a->firewall, b->firewall);
	assert_int_equal(a->dry_run, b->dry_run);
	assert_int_equal(a->log_level, b->log_level);
	assert_string_equal(a->db_path, b->db_path);
	assert_int_equal(a->retention, b->retention);
	assert_int_equal(a->batch_max, b->batch_max);
	assert_int_equal(a->nservices, b->nservices);
	for (i = 0; i < a->nservices; i++) {
		assert_string_equal(a->services[i].name, b->services[i].name);
		assert_int_equal(a->services[i].nports, b->services[i].nports);
		assert_memory_equal(a->services[i].ports, b->services[i].ports,
		    sizeof(uint16_t) * (size_t)a->services[i].nports);
		assert_int_equal(a->services[i].max_concurrent,
		    b->services[i].max_concurrent);
		assert_true(conf_rate_eq(&a->services[i].max_new,
		    &b->services[i].max_new));
		assert_int_equal(a->services[i].karma.rate,
		    b->services[i].karma.rate);
		assert_int_equal(a->services[i].karma.burst,
		    b->services[i].karma.burst);
	}
	assert_int_equal(a->nlogs, b->nlogs);
	for (i = 0; i < a->nlogs; i++) {
		assert_string_equal(a->logs[i].name, b->logs[i].name);
		assert_string_equal(a->logs[i].filter, b->logs[i].filter);
		assert_int_equal(a->logs[i].format, b->logs[i].format);
		/* Unset (NULL) in a journal's section or a file's. */
#define OPT_EQUAL(f) do {						\
	assert_int_equal(a->logs[i].f == NULL, b->logs[i].f == NULL);	\
	if (a->logs[i].f != NULL)					\
		assert_string_equal(a->logs[i].f, b->logs[i].f);	\
} while (0)
		OPT_EQUAL(path);
		OPT_EQUAL(journal);
		OPT_EQUAL(journal_match);
		OPT_EQUAL(journal_dir);
#undef OPT_EQUAL
	}
	assert_int_equal(a->noverrides, b->noverrides);
	for (i = 0; i < a->noverrides; i++) {
		assert_string_equal(a->overrides[i].name,
		    b->overrides[i].name);
		assert_int_equal(a->overrides[i].nnetworks,
		    b->overrides[i].nnetworks);
		assert_memory_equal(a->overrides[i].networks,
		    b->overrides[i].networks, sizeof(struct prefix) *
		    (size_t)a->overrides[i].nnetworks);
		assert_int_equal(a->overrides[i].max_concurrent,
		    b->overrides[i].max_concurrent);
		assert_true(conf_rate_eq(&a->overrides[i].max_new,
		    &b->overrides[i].max_new));
	}
	assert_int_equal(a->nallow, b->nallow);
	if (a->nallow > 0)
		assert_memory_equal(a->allow, b->allow,
		    sizeof(struct prefix) * (size_t)a->nallow);
}

/* Prints conf, loads the output and checks both are the same. */
static void
assert_round_trip(const struct conf *conf)
{
	struct loaded	 l;
	char		*text;
	size_t		 len;
	FILE		*fp;

	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	conf_print(fp, conf);
	assert_int_equal(fclose(fp), 0);
	load_n(&l, text, len);
	if (l.rc != 0)
		fail_msg("printed:\n%s\ndoes not load:\n%s", text, l.cause);
	assert_conf_equal(conf, l.conf);
	free(text);
	loaded_clear(&l);
}

static const struct conf_service *
service(const struct conf *conf, const char *name)
{
	int	i;

	for (i = 0; i < conf->nservices; i++) {
		if (strcmp(conf->services[i].name, name) == 0)
			return &conf->services[i];
	}
	return NULL;
}

static void
test_defaults(void **state)
{
	const struct conf_service	*s;
	struct conf			*conf;
	char				*cause = NULL;

	(void)state;
	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	assert_null(cause);
	assert_null(conf->path);
	assert_string_equal(conf->state_dir, "/var/lib/xmppguard");
	assert_string_equal(conf->control_socket,
	    "/run/xmppguard/xmppguard.sock");
	assert_int_equal(conf->firewall, CONF_FW_NFTABLES);
	assert_int_equal(conf->dry_run, 0);
	assert_int_equal(conf->log_level, LOG_LEVEL_INFO);
	assert_string_equal(conf->db_path, "/var/lib/xmppguard/xmppguard.db");
	assert_int_equal(conf->retention, 30 * US_D);
	assert_int_equal(conf->batch_max, 1000);
	assert_int_equal(conf->nlogs, 0);
	assert_int_equal(conf->noverrides, 0);
	assert_int_equal(conf->nallow, 0);
	assert_null(conf->allow);

	assert_int_equal(conf->nservices, 3);
	s = &conf->services[0];
	assert_string_equal(s->name, "c2s");
	assert_int_equal(s->nports, 2);
	assert_int_equal(s->ports[0], 5222);
	assert_int_equal(s->ports[1], 5223);
	assert_int_equal(s->max_concurrent, 50);
	assert_int_equal(s->max_new.count, 120);
	assert_int_equal(s->max_new.window, US_H);
	assert_int_equal(s->karma.rate, 10 * 1024);
	assert_int_equal(s->karma.burst, 256 * 1024);

	s = &conf->services[1];
	assert_string_equal(s->name, "s2s");
	assert_int_equal(s->nports, 1);
	assert_int_equal(s->ports[0], 5269);
	assert_int_equal(s->max_concurrent, 20);
	assert_int_equal(s->max_new.count, 60);
	assert_int_equal(s->max_new.window, US_H);
	assert_int_equal(s->karma.rate, 50 * 1024);
	assert_int_equal(s->karma.burst, 1024 * 1024);

	s = &conf->services[2];
	assert_string_equal(s->name, "http");
	assert_int_equal(s->nports, 3);
	assert_int_equal(s->ports[0], 5280);
	assert_int_equal(s->ports[1], 5281);
	assert_int_equal(s->ports[2], 5443);
	assert_int_equal(s->max_concurrent, 100);
	assert_int_equal(s->max_new.count, 3000);
	assert_int_equal(s->max_new.window, US_H);
	assert_int_equal(s->karma.rate, 20 * 1024);
	assert_int_equal(s->karma.burst, 512 * 1024);

	assert_ptr_equal(conf_service_by_port(conf, 5222), &conf->services[0]);
	assert_ptr_equal(conf_service_by_port(conf, 5269), &conf->services[1]);
	assert_ptr_equal(conf_service_by_port(conf, 5443), &conf->services[2]);
	assert_null(conf_service_by_port(conf, 22));
	assert_null(conf_service_by_port(conf, 0));

	assert_round_trip(conf);
	conf_free(conf);
	conf_free(NULL);
}

static void
test_suggest(void **state)
{
	static const char *const keys[] = {
		"ports", "max_concurrent", "max_new", "karma"
	};

	(void)state;
	assert_int_equal(conf_distance("abc", "abc"), 0);
	assert_int_equal(conf_distance("ab", "ba"), 1);
	assert_int_equal(conf_distance("kitten", "sitting"), 3);
	assert_string_equal(conf_suggest("max_conncurrent", keys, 4),
	    "max_concurrent");
	assert_string_equal(conf_suggest("prots", keys, 4), "ports");
	assert_string_equal(conf_suggest("max_concurrency", keys, 4),
	    "max_concurrent");
	assert_string_equal(conf_suggest("max_new_connections", keys, 4),
	    "max_new");
	assert_string_equal(conf_suggest("karm", keys, 4), "karma");
	assert_null(conf_suggest("x", keys, 4));
	assert_null(conf_suggest("firewall", keys, 4));
	assert_null(conf_suggest("", keys, 4));
}

static void
test_three_errors(void **state)
{
	struct loaded	l;

	(void)state;
	load(&l,
	    "[global]\n"				/* 1 */
	    "firewall = none\n"				/* 2 */
	    "dry_run = maybe\n"				/* 3 */
	    "\n"					/* 4 */
	    "log_level = loud\n"			/* 5 */
	    "[service c2s]\n"				/* 6 */
	    "max_concurrent = 10\n"			/* 7 */
	    "; a comment\n"				/* 8 */
	    "max_new = 10/1y\n"				/* 9 */
	    "karma = off\n");				/* 10 */
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), 3);
	assert_true(has_error(&l, 3, "dry_run: bad boolean 'maybe'"));
	assert_true(has_error(&l, 5, "log_level: unknown value 'loud'"));
	assert_true(has_error(&l, 9, "max_new: bad rate '10/1y'"));
	assert_null(l.conf);
	loaded_clear(&l);
}

static void
test_unknown_key(void **state)
{
	struct loaded	l;
	char		want[256];

	(void)state;
	load(&l, "[service c2s]\nmax_conncurrent = 5\n");
	assert_int_equal(l.rc, -1);
	snprintf(want, sizeof(want), "%s:2: unknown key 'max_conncurrent' in "
	    "[service c2s]; did you mean 'max_concurrent'?", l.path);
	assert_string_equal(l.cause, want);
	loaded_clear(&l);

	expect_one_error("[global]\nstatedir = /x\n", 2,
	    "unknown key 'statedir' in [global]; did you mean 'state_dir'?");
	expect_one_error("[global]\nfoo = 1\n", 2, "unknown key 'foo' in "
	    "[global]");
	/* Valid keys of another section are unknown here. */
	expect_one_error("[store]\nports = 1\n", 2,
	    "unknown key 'ports' in [store]");
	expect_one_error("[global]\nfoo\\x01 = 1\n", 2, "unknown key");
	expect_one_error("firewall = none\n", 1,
	    "'firewall' before any section (it belongs in [global])");
	expect_one_error("ports = 1\n", 1, "(it belongs in [service NAME])");
	expect_one_error("zzz = 1\n", 1, "'zzz' before any section");
	expect_one_error("[global]\n= none\n", 2, "missing key before '='");
}

static void
test_bad_enum(void **state)
{
	(void)state;
	expect_one_error("[global]\nfirewall = nft\n", 2,
	    "firewall: unknown value 'nft'; expected nftables, ipset, "
	    "iptables, command, webhook or none; did you mean 'nftables'?");
	expect_one_error("[global]\nfirewall = pf\n", 2,
	    "firewall: unknown value 'pf'; expected nftables, ipset, "
	    "iptables, command, webhook or none");
	expect_one_error("[global]\nlog_level = warn\n", 2,
	    "did you mean 'warning'?");
	expect_one_error("[global]\nfirewall = NFTABLES\n", 2,
	    "unknown value 'NFTABLES'");
	expect_ok("[global]\nfirewall = ipset\nlog_level = debug\n");
}

static void
test_enum_values(void **state)
{
	struct loaded	l;

	(void)state;
	load(&l, "[global]\nfirewall = command\nlog_level = error\n"
	    "dry_run = ON\n[ban]\nban_command = /bin/true {ip}\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->firewall, CONF_FW_COMMAND);
	assert_int_equal(l.conf->log_level, LOG_LEVEL_ERR);
	assert_int_equal(l.conf->dry_run, 1);
	loaded_clear(&l);
}

static void
test_bad_units(void **state)
{
	struct loaded	l;

	(void)state;
	load(&l,
	    "[store]\n"
	    "retention = 30x\n"
	    "[service c2s]\n"
	    "max_new = 120/1x\n"
	    "karma = 10q/s burst 1k\n"
	    "[override o]\n"
	    "networks = 192.0.2.0/24\n"
	    "max_new = 120 per hour\n");
	assert_int_equal(l.rc, -1);
	assert_true(has_error(&l, 2,
	    "retention: bad duration '30x': unknown unit"));
	assert_true(has_error(&l, 4, "max_new: bad rate '120/1x': unknown "
	    "unit"));
	assert_true(has_error(&l, 5, "karma: bad karma '10q/s burst 1k'"));
	assert_true(has_error(&l, 8, "max_new: bad rate '120 per hour'"));
	loaded_clear(&l);
}

static void
test_bounds(void **state)
{
	struct loaded	l;

	(void)state;
	expect_one_error("[store]\nbatch_max = 0\n", 2,
	    "batch_max: '0' is out of range (1 to 100000)");
	expect_one_error("[store]\nbatch_max = 100001\n", 2,
	    "out of range (1 to 100000)");
	expect_one_error("[store]\nbatch_max = 99999999999999999999999\n", 2,
	    "batch_max: bad integer '99999999999999999999999': number too "
	    "large");
	expect_one_error("[store]\nbatch_max = 12k\n", 2,
	    "bad integer '12k': expected a number");
	expect_one_error("[store]\nbatch_max = -1\n", 2, "bad integer");
	expect_one_error("[store]\nretention = 521w\n", 2,
	    "retention: '521w' is out of range (0 to 520w)");
	expect_one_error("[service c2s]\nmax_concurrent = 1000001\n", 2,
	    "(0 to 1000000)");
	expect_one_error("[service c2s]\nmax_new = 1000001/1h\n", 2,
	    "max_new: count in '1000001/1h' is out of range");
	expect_one_error("[service c2s]\nmax_new = 5/2w\n", 2,
	    "window must be from 1s to 1w");

	load(&l, "[store]\nbatch_max = 1\nretention = 520w\n"
	    "[service c2s]\nmax_concurrent = 1000000\nmax_new = 1000000/1s\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->batch_max, 1);
	assert_int_equal(l.conf->retention, 520 * US_W);
	assert_int_equal(l.conf->services[0].max_concurrent, 1000000);
	assert_int_equal(l.conf->services[0].max_new.count, 1000000);
	loaded_clear(&l);

	load(&l, "[store]\nbatch_max = 100000\nretention = 0\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->batch_max, 100000);
	assert_int_equal(l.conf->retention, 0);
	loaded_clear(&l);
}

static void
test_paths(void **state)
{
	struct loaded	l;
	char		text[512];

	(void)state;
	expect_one_error("[global]\nstate_dir = var/lib/xg\n", 2,
	    "state_dir: bad path 'var/lib/xg': not an absolute path");
	expect_one_error("[global]\nstate_dir =\n", 2,
	    "state_dir: empty value");
	snprintf(text, sizeof(text), "[global]\ncontrol_socket = /%0108d\n",
	    0);
	expect_one_error(text, 2, "control_socket: too long (at most 107 "
	    "bytes)");
	snprintf(text, sizeof(text), "[global]\ncontrol_socket = /%0106d\n",
	    0);
	expect_ok(text);

	/* The store follows state_dir unless the file places it. */
	load(&l, "[global]\nstate_dir = /srv/xg\n");
	assert_int_equal(l.rc, 0);
	assert_string_equal(l.conf->db_path, "/srv/xg/xmppguard.db");
	loaded_clear(&l);
	load(&l, "[global]\nstate_dir = /srv/xg\n[store]\npath = /db/x.db\n");
	assert_int_equal(l.rc, 0);
	assert_string_equal(l.conf->db_path, "/db/x.db");
	loaded_clear(&l);
	expect_one_error("[store]\npath = x.db\n", 2, "not an absolute path");
}

static void
test_duplicates(void **state)
{
	(void)state;
	expect_one_error("[service c2s]\nports = 5222\nmax_new = 5/s\n"
	    "ports = 5223\n", 4,
	    "duplicate key 'ports', first set at line 2");
	/* ':' separates too: still the same key. */
	expect_one_error("[global]\ndry_run = yes\ndry_run: no\n", 3,
	    "duplicate key 'dry_run', first set at line 2");
	expect_one_error("[service c2s]\nmax_new = 5/s\n[service s2s]\n"
	    "[service c2s]\nmax_new = 6/s\n", 4,
	    "[service c2s] already defined at line 1");
	expect_one_error("[global]\n\n[global]\nfirewall = none\n", 3,
	    "[global] already defined at line 1");
	expect_one_error("[log a]\npath = /a\nfilter = prosody\n[log a]\n", 4,
	    "[log a] already defined at line 1");
	/* The same name in two kinds is two sections. */
	expect_ok("[log x]\npath = /a\nfilter = prosody\n[service x]\n"
	    "ports = 1\n");
}

static void
test_sections(void **state)
{
	(void)state;
	expect_one_error("[service]\nports = 1\n", 1,
	    "[service] needs a name: [service NAME]");
	expect_one_error("[global x]\nfirewall = none\n", 1,
	    "[global] takes no name");
	expect_one_error("[service C2S]\n", 1, "bad service name 'C2S'");
	expect_one_error("[service a b]\n", 1, "bad service name 'a b'");
	expect_one_error("[service abcdefghijklmnopqrstuvwxyz012345]\n", 1,
	    "bad service name");
	expect_ok("[service abcdefghijklmnopqrstuvwxyz_-012]\nports = 1\n");
	expect_one_error("[servce c2s]\nports = 1\n", 1,
	    "unknown section [servce]; did you mean [service]?");
	expect_one_error("[Global]\n", 1,
	    "unknown section [Global]; did you mean [global]?");
	expect_one_error("[rules]\nmax = 5\n", 1, "unknown section [rules]");
	expect_one_error("[]\n", 1, "empty section header");
	expect_one_error("[global\nfirewall = none\n", 1,
	    "section header without ']'");
	expect_one_error("[global ; x]\nfirewall = none\n", 1,
	    "section header without ']'");
	expect_one_error("[global] junk\nfirewall = none\n", 1,
	    "unexpected text after ']'");
	expect_ok("[global] ; a comment\nfirewall = none\n");
	expect_ok("  [ global ]  \nfirewall = none\n");
}

/* Keys under a bad header are not blamed on the section before it. */
static void
test_bad_section_keys(void **state)
{
	struct loaded	l;

	(void)state;
	load(&l, "[global]\nfirewall = none\n[servce c2s]\nmax_new = 1/s\n"
	    "firewall = ipset\n[service\nports = 1\n");
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), 2);
	assert_true(has_error(&l, 3, "unknown section"));
	assert_true(has_error(&l, 6, "without ']'"));
	loaded_clear(&l);
}

static void
test_long_line(void **state)
{
	struct loaded	 l;
	char		 text[1024], pad[400];

	(void)state;
	/* 198 characters is the most a line holds, 199 is too many. */
	memset(pad, 'x', sizeof(pad));
	snprintf(text, sizeof(text), "[log a]\nfilter = %.*s\npath = /a\n",
	    198 - 9, pad);
	expect_ok(text);
	snprintf(text, sizeof(text), "[log a]\nfilter = %.*s\nfilter = p\n"
	    "path = /a\n", 199 - 9, pad);
	expect_one_error(text, 2, "line too long (at most 198 characters)");
	/* A CR of a CRLF line does not count. */
	snprintf(text, sizeof(text), "[log a]\r\nfilter = %.*s\r\n"
	    "path = /a\r\n", 198 - 9, pad);
	expect_ok(text);

	/* The rest of the long line is swallowed, not read as a line, and
	 * the count goes on. */
	snprintf(text, sizeof(text), "[global]\n; %.*s firewall = x\n"
	    "bogus = 1\n", 350, pad);
	load(&l, text);
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), 2);
	assert_true(has_error(&l, 2, "line too long"));
	assert_true(has_error(&l, 3, "unknown key 'bogus'"));
	loaded_clear(&l);

	/* Over long at the end of a file without a newline. */
	snprintf(text, sizeof(text), "[global]\n;%.*s", 300, pad);
	expect_one_error(text, 2, "line too long");

	/* A long header leaves no section for its keys. */
	snprintf(text, sizeof(text), "[global]\n[service %.*s]\n"
	    "firewall = none\n", 300, pad);
	expect_one_error(text, 2, "line too long");
}

static void
test_binary(void **state)
{
	static const char nul[] = "[global]\nfirewall = none\0x\ndry_run = no\n";
	struct loaded	 l;
	char		*blob;
	uint64_t	 x = 0x9e3779b97f4a7c15ULL;
	size_t		 i, len = 256 * 1024;
	int		 round;

	(void)state;
	load_n(&l, nul, sizeof(nul) - 1);
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), 1);
	assert_true(has_error(&l, 2, "NUL byte"));
	loaded_clear(&l);

	expect_one_error("[global]\nfirewall = none\x1b[0m\n", 2,
	    "invalid byte 0x1b");
	expect_one_error("[global]\nfirewall = none\rdry_run = no\n", 2,
	    "invalid byte 0x0d");
	expect_one_error("[global]\nfirewall = n\x7f\n", 2,
	    "invalid byte 0x7f");
	expect_ok("\xef\xbb\xbf[global]\r\nfirewall = none\r\n");
	/* UTF-8 passes: paths may hold it. */
	expect_ok("[log a]\npath = /var/log/\xc3\xa9t\xc3\xa9.log\n"
	    "filter = prosody\n");

	/* Garbage of all kinds: errors, bounded, and no crash. */
	blob = malloc(len);
	assert_non_null(blob);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < len; i++) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			blob[i] = (char)((x * 0x2545f4914f6cdd1dULL) >> 56);
			/* Some rounds in mostly printable text, with
			 * brackets, separators and newlines. */
			if (round >= 2 && (blob[i] & 0x80))
				blob[i] = "[]=:; \t\n,/abcs0123"[(unsigned char)
				    blob[i] % 18];
		}
		load_n(&l, blob, len);
		assert_int_equal(l.rc, -1);
		assert_true(count_lines(l.cause) <= CONF_ERRORS_MAX + 1);
		loaded_clear(&l);
	}
	free(blob);
}

static void
test_too_many_errors(void **state)
{
	struct loaded	 l;
	char		*text, *p;
	int		 i;

	(void)state;
	text = malloc(500 * 16 + 16);
	assert_non_null(text);
	p = text + sprintf(text, "[global]\n");
	for (i = 0; i < 500; i++)
		p += sprintf(p, "junk line %d\n", i);
	load(&l, text);
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), CONF_ERRORS_MAX + 1);
	assert_true(has_error(&l, 2, "expected KEY = VALUE"));
	assert_true(has_error(&l, CONF_ERRORS_MAX + 1, "expected"));
	assert_true(has_error(&l, 0, "too many errors"));
	loaded_clear(&l);
	free(text);
}

static void
test_continuation(void **state)
{
	struct loaded	l;
	char		buf[ADDR_PREFIX_STRLEN];

	(void)state;
	load(&l,
	    "[service c2s]\n"
	    "ports = 5222,\n"
	    "    5223 ; the legacy TLS port\n"
	    "\t15222\n"
	    "max_new = 10/1m\n"
	    "[allow]\n"
	    "networks =\n"
	    "    192.0.2.0/24, 2001:db8::/32\n"
	    "    ::ffff:198.51.100.7\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->services[0].nports, 3);
	assert_int_equal(l.conf->services[0].ports[0], 5222);
	assert_int_equal(l.conf->services[0].ports[1], 5223);
	assert_int_equal(l.conf->services[0].ports[2], 15222);
	assert_int_equal(l.conf->services[0].max_new.count, 10);
	assert_int_equal(l.conf->nallow, 3);
	assert_string_equal(addr_prefix_ntop(&l.conf->allow[0], buf,
	    sizeof(buf)), "192.0.2.0/24");
	assert_string_equal(addr_prefix_ntop(&l.conf->allow[1], buf,
	    sizeof(buf)), "2001:db8::/32");
	/* Mapped is stored as IPv4. */
	assert_string_equal(addr_prefix_ntop(&l.conf->allow[2], buf,
	    sizeof(buf)), "198.51.100.7/32");
	assert_round_trip(l.conf);
	loaded_clear(&l);

	/* Indented first key of a section is a key, not a continuation. */
	load(&l, "[service c2s]\n    max_concurrent = 7\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->services[0].max_concurrent, 7);
	loaded_clear(&l);

	expect_one_error("[global]\nfirewall = none\n  ipset\n", 3,
	    "'firewall' takes one value, but an indented line continues");
	expect_one_error("[service c2s]\n  ports = 5222\n  max_new = 5/s\n", 3,
	    "indented line continues 'ports'; remove the indentation");
	expect_one_error("[service c2s]\nports = 5222\n  [service s2s]\n", 3,
	    "indented line continues 'ports'");
	expect_one_error("[service c2s]\nports = none\n  5222\n", 3,
	    "ports: set to none above");
	expect_one_error("[service c2s]\nports = 5222\n  none\n", 3,
	    "'none' cannot be one of several values");
	expect_one_error("[service c2s]\nports = 5222\n  5222\n", 3,
	    "port 5222 listed twice");
	/* A continuation of a refused line is not reported again. */
	expect_one_error("[service c2s]\nport = 5222\n  5223\n", 2,
	    "unknown key 'port'");
	/* Comments and blank lines do not end a list. */
	load(&l, "[service c2s]\nports = 5222\n; comment\n\n  5223\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->services[0].nports, 2);
	loaded_clear(&l);
}

static void
test_ports(void **state)
{
	struct loaded	l;

	(void)state;
	expect_one_error("[service c2s]\nports = 0\n", 2,
	    "ports: bad port '0' (use 1 to 65535)");
	expect_one_error("[service c2s]\nports = 65536\n", 2,
	    "bad port '65536'");
	expect_one_error("[service c2s]\nports = 5222, xmpp\n", 2,
	    "bad port 'xmpp'");
	expect_one_error("[service c2s]\nports = 5222;5223\n", 2,
	    "bad port '5222;5223'");
	expect_one_error("[service c2s]\nports = 1 2 3 4 5 6 7 8 9 10 11 12 "
	    "13 14 15 16 17\n", 2, "too many ports (at most 16)");

	load(&l, "[service c2s]\nports = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 "
	    "65535\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->services[0].nports, 16);
	assert_int_equal(l.conf->services[0].ports[15], 65535);
	loaded_clear(&l);

	/* none or nothing disables a service. */
	load(&l, "[service c2s]\nports = none\n[service http]\nports =\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->nservices, 3);
	assert_int_equal(l.conf->services[0].nports, 0);
	assert_int_equal(l.conf->services[2].nports, 0);
	assert_null(conf_service_by_port(l.conf, 5222));
	assert_null(conf_service_by_port(l.conf, 5280));
	assert_non_null(conf_service_by_port(l.conf, 5269));
	assert_round_trip(l.conf);
	loaded_clear(&l);
}

static void
test_networks(void **state)
{
	(void)state;
	expect_one_error("[allow]\nnetworks = 192.0.2.1/24\n", 2,
	    "networks: '192.0.2.1/24' has host bits set; did you mean "
	    "192.0.2.0/24?");
	expect_one_error("[allow]\nnetworks = 2001:db8::1/32\n", 2,
	    "did you mean 2001:db8::/32?");
	expect_one_error("[allow]\nnetworks = example.org\n", 2,
	    "networks: bad network 'example.org'");
	expect_one_error("[allow]\nnetworks = 192.0.2.0/33\n", 2,
	    "bad network '192.0.2.0/33'");
	expect_one_error("[allow]\nnetworks = 10.0.0.0/8 none\n", 2,
	    "'none' cannot be one of several values");
	expect_ok("[allow]\nnetworks = 0.0.0.0/0, ::/0, 127.0.0.1\n");
}

/* More networks than fit one printed line, and more than one block. */
static void
test_many_networks(void **state)
{
	struct loaded	 l;
	char		*text, *p;
	int		 i;

	(void)state;
	text = malloc(5000 * 40);
	assert_non_null(text);
	p = text + sprintf(text, "[allow]\nnetworks =\n");
	for (i = 0; i < 300; i++)
		p += sprintf(p, "  10.%d.%d.0/24, 2001:db8:%x::/48\n", i / 250,
		    i % 250, i);
	load(&l, text);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->nallow, 600);
	assert_round_trip(l.conf);
	loaded_clear(&l);

	p = text + sprintf(text, "[allow]\nnetworks =\n");
	for (i = 0; i < CONF_NETWORKS_MAX + 1; i++)
		p += sprintf(p, "  10.%d.%d.%d\n", i / 65536, (i / 256) % 256,
		    i % 256);
	load(&l, text);
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), 1);
	assert_true(has_error(&l, CONF_NETWORKS_MAX + 3,
	    "too many networks (at most 4096)"));
	loaded_clear(&l);
	free(text);
}

static void
test_service_override(void **state)
{
	const struct conf_service	*c2s, *s2s;
	struct loaded			 l;

	(void)state;
	load(&l, "[service c2s]\nmax_concurrent = 80\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->nservices, 3);
	c2s = service(l.conf, "c2s");
	assert_non_null(c2s);
	assert_int_equal(c2s->max_concurrent, 80);
	assert_int_equal(c2s->nports, 2);
	assert_int_equal(c2s->ports[0], 5222);
	assert_int_equal(c2s->max_new.count, 120);
	assert_int_equal(c2s->max_new.window, US_H);
	assert_int_equal(c2s->karma.rate, 10240);
	/* The others keep their own defaults, not c2s's. */
	s2s = service(l.conf, "s2s");
	assert_int_equal(s2s->max_concurrent, 20);
	assert_int_equal(s2s->karma.burst, 1 << 20);
	loaded_clear(&l);

	load(&l, "[service s2s]\nkarma = off\nmax_new = none\n");
	assert_int_equal(l.rc, 0);
	s2s = service(l.conf, "s2s");
	assert_int_equal(s2s->karma.rate, 0);
	assert_int_equal(s2s->max_new.count, 0);
	assert_int_equal(s2s->max_concurrent, 20);
	assert_int_equal(s2s->ports[0], 5269);
	assert_round_trip(l.conf);
	loaded_clear(&l);
}

static void
test_new_service(void **state)
{
	const struct conf_service	*turn;
	struct loaded			 l;

	(void)state;
	load(&l, "[service turn]\nports = 3478, 5349\nmax_new = 30/1m\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->nservices, 4);
	turn = &l.conf->services[3];
	assert_string_equal(turn->name, "turn");
	assert_int_equal(turn->nports, 2);
	assert_int_equal(turn->max_new.count, 30);
	assert_int_equal(turn->max_new.window, US_M);
	/* Generic defaults: c2s's. */
	assert_int_equal(turn->max_concurrent, 50);
	assert_int_equal(turn->karma.rate, 10240);
	assert_int_equal(turn->karma.burst, 262144);
	assert_ptr_equal(conf_service_by_port(l.conf, 5349), turn);
	assert_ptr_equal(conf_service_by_port(l.conf, 5222),
	    &l.conf->services[0]);
	assert_round_trip(l.conf);
	loaded_clear(&l);

	expect_one_error("[global]\n[service turn]\nmax_new = 30/1m\n", 2,
	    "[service turn] needs 'ports'");
	/* A built-in needs no ports line. */
	expect_ok("[service c2s]\nmax_new = 30/1m\n");
}

static void
test_port_conflict(void **state)
{
	struct loaded	l;

	(void)state;
	expect_one_error("[service web]\nports = 8080, 5280\n", 2,
	    "port 5280 is in both [service http] and [service web] (the "
	    "built-in http keeps its ports unless its section sets 'ports = "
	    "none')");
	expect_one_error("[service a]\nports = 1\n[service b]\n\nports = 2 1\n",
	    5, "port 1 is in both [service a] and [service b]");
	/* A built-in changed to take another's port: the line is the
	 * changed one. */
	expect_one_error("[global]\n[service c2s]\nports = 5222 5269\n", 3,
	    "port 5269 is in both [service c2s] and [service s2s]");

	load(&l, "[service http]\nports = 5281\n[service web]\n"
	    "ports = 5280, 5443\n");
	assert_int_equal(l.rc, 0);
	assert_string_equal(conf_service_by_port(l.conf, 5280)->name, "web");
	assert_string_equal(conf_service_by_port(l.conf, 5281)->name, "http");
	loaded_clear(&l);
}

/* The ports of all services: CONF_PORTS_TOTAL_MAX, blamed on the line
 * that lists the one too many. */
static void
test_ports_total(void **state)
{
	struct loaded	 l;
	char		 text[2048], *p;
	int		 s, i, port = 10000, total = 6;

	(void)state;
	/* The built-ins' 6, then services of 16 up to exactly 64. */
	p = text;
	for (s = 0; total < CONF_PORTS_TOTAL_MAX; s++) {
		p += sprintf(p, "[service s%d]\nports =", s);
		for (i = 0; i < CONF_PORTS_MAX &&
		    total < CONF_PORTS_TOTAL_MAX; i++, total++)
			p += sprintf(p, " %d", port++);
		p += sprintf(p, "\n");
	}
	load(&l, text);
	assert_int_equal(l.rc, 0);
	loaded_clear(&l);

	/* One more, on a continuation line (line 2 * s + 3): that line. */
	sprintf(p, "[service last]\nports =\n  1\n");
	load(&l, text);
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), 1);
	assert_true(has_error(&l, 2 * s + 3, "port 1 of [service last] is one "
	    "too many: all services together have at most 64 ports"));
	loaded_clear(&l);

	/* A built-in disabled leaves room for its ports. */
	sprintf(p, "[service last]\nports =\n  1\n[service s2s]\n"
	    "ports = none\n");
	expect_ok(text);

	/* A built-in that goes over is blamed on its own ports line. */
	sprintf(p, "[service c2s]\nports = 5222 5223 5224\n");
	expect_one_error(text, 2 * s + 2, "port 5224 of [service c2s] is "
	    "one too many");
}

static void
test_logs_overrides(void **state)
{
	struct loaded	l;
	char		buf[ADDR_PREFIX_STRLEN];

	(void)state;
	load(&l, "[log prosody]\npath = /var/log/prosody/prosody.log\n"
	    "filter = prosody\n"
	    "[override office]\nnetworks = 198.51.100.7, 2001:db8:1::/48\n"
	    "max_concurrent = 150\n"
	    "[override partner]\nnetworks = 203.0.113.0/24\n"
	    "max_new = 600/1h\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->nlogs, 1);
	assert_string_equal(l.conf->logs[0].name, "prosody");
	assert_string_equal(l.conf->logs[0].path,
	    "/var/log/prosody/prosody.log");
	assert_string_equal(l.conf->logs[0].filter, "prosody");
	assert_int_equal(l.conf->noverrides, 2);
	assert_string_equal(l.conf->overrides[0].name, "office");
	assert_int_equal(l.conf->overrides[0].nnetworks, 2);
	assert_string_equal(addr_prefix_ntop(&l.conf->overrides[0].networks[1],
	    buf, sizeof(buf)), "2001:db8:1::/48");
	assert_int_equal(l.conf->overrides[0].max_concurrent, 150);
	assert_int_equal(l.conf->overrides[0].max_new.count, 0);
	assert_int_equal(l.conf->overrides[1].max_concurrent, 0);
	assert_int_equal(l.conf->overrides[1].max_new.count, 600);
	assert_round_trip(l.conf);
	loaded_clear(&l);

	load(&l, "[log a]\n\n[override b]\nmax_concurrent = 5\n");
	assert_int_equal(l.rc, -1);
	assert_int_equal(count_lines(l.cause), 3);
	assert_true(has_error(&l, 1, "[log a] needs 'path'"));
	assert_true(has_error(&l, 1, "[log a] needs 'filter'"));
	assert_true(has_error(&l, 3, "[override b] needs 'networks'"));
	loaded_clear(&l);

	expect_one_error("[override b]\nmax_concurrent = 5\nnetworks = none\n",
	    3, "networks: at least one network is needed");
	expect_one_error("[override b]\nnetworks = 192.0.2.0/24\n", 1,
	    "[override b] sets neither max_concurrent nor max_new");
	expect_one_error("[log a]\npath = /a\nfilter =\n", 3,
	    "filter: empty value");
	expect_one_error("[log a]\npath = /a\nfilter = p\n[log b]\n"
	    "filter = q\npath = /a\n", 6,
	    "[log b] follows the same file as [log a]");
	/* A file or a journal. */
	expect_one_error("[log a]\npath = /a\njournal = p\nfilter = p\n", 3,
	    "[log a]: path and journal exclude each other");
	expect_one_error("[log a]\njournal = p\nformat = docker-json\n"
	    "filter = p\n", 3, "format: for path only");
	expect_one_error("[log a]\npath = /a\njournal_dir = /d\nfilter = p\n",
	    1, "[log a]: journal_match and journal_dir are for journal only");
	expect_one_error("[log a]\njournal = p\njournal_match = A=1, b=2\n"
	    "filter = p\n", 3, "journal_match: a field name is upper case");
	expect_one_error("[log a]\njournal = p\njournal_match = A=1,\n"
	    "filter = p\n", 3, "journal_match: each match is FIELD=VALUE");
	load(&l, "[log a]\njournal = prosody\njournal_match = A=1, B_2=x\n"
	    "journal_dir = /d\nfilter = p\n[log b]\npath = /b\n"
	    "format = docker-json\nfilter = p\n");
	assert_int_equal(l.rc, 0);
	assert_null(l.conf->logs[0].path);
	assert_string_equal(l.conf->logs[0].journal_match, "A=1, B_2=x");
	assert_int_equal(l.conf->logs[1].format, CONF_LOG_DOCKER_JSON);
	assert_round_trip(l.conf);
	loaded_clear(&l);
}

static void
test_inline_comments(void **state)
{
	struct loaded	l;

	(void)state;
	load(&l, "[global] ; main\n"
	    "firewall = none ; no firewall\n"
	    "state_dir = /srv/a;b\n"
	    "control_socket : /run/x.sock\n"
	    "# hash comment\n"
	    "  ; indented comment\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->firewall, CONF_FW_NONE);
	assert_string_equal(l.conf->state_dir, "/srv/a;b");
	assert_string_equal(l.conf->control_socket, "/run/x.sock");
	loaded_clear(&l);

	/* A comment where the name should be leaves no "name = value". */
	expect_one_error("[global]\nfire ;wall = none\n", 2,
	    "expected KEY = VALUE or [SECTION]");
	expect_one_error("[global]\njust words\n", 2,
	    "expected KEY = VALUE or [SECTION]");
}

static void
test_files(void **state)
{
	struct loaded	 l;
	struct conf	*conf, *dflt;
	char		*cause;

	(void)state;
	assert_int_equal(conf_load("/nonexistent/xg.conf", &conf, &cause), -1);
	assert_string_equal(cause,
	    "/nonexistent/xg.conf: No such file or directory");
	free(cause);
	assert_int_equal(conf_load("/", &conf, &cause), -1);
	assert_non_null(strstr(cause, "/: read error: "));
	free(cause);

	/* An empty file is the defaults. */
	assert_int_equal(conf_load(NULL, &dflt, &cause), 0);
	load(&l, "");
	assert_int_equal(l.rc, 0);
	assert_string_equal(l.conf->path, l.path);
	assert_conf_equal(l.conf, dflt);
	loaded_clear(&l);
	conf_free(dflt);
}

static void
test_round_trip(void **state)
{
	struct loaded	l;
	char		text[1024], pad[200];

	(void)state;
	load(&l,
	    "[global]\nstate_dir = /srv/xmppguard\nfirewall = iptables\n"
	    "dry_run = yes\nlog_level = debug\n"
	    "control_socket = /run/xg.sock\n"
	    "[store]\nretention = 36h\nbatch_max = 77\n"
	    "[service c2s]\nports = 5222\nmax_concurrent = 0\n"
	    "max_new = 7/90s\nkarma = 1536/s burst 3M\n"
	    "[service s2s]\nports = none\n"
	    "[service xmpps]\nports = 5223 443\nmax_new = 1/1w\n"
	    "[log ejabberd]\npath = /var/log/ejabberd/ejabberd.log\n"
	    "filter = /etc/xmppguard/filters/my ejabberd.conf\n"
	    "[override nat]\nnetworks = ::ffff:10.1.2.0/120\n"
	    "max_concurrent = 150\nmax_new = 600/1h\n"
	    "[allow]\nnetworks = 192.0.2.0/24 2001:db8::/64\n");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.conf->overrides[0].networks[0].len, 24);
	assert_int_equal(l.conf->services[0].karma.rate, 1536);
	assert_string_equal(l.conf->logs[0].filter,
	    "/etc/xmppguard/filters/my ejabberd.conf");
	assert_round_trip(l.conf);
	loaded_clear(&l);

	/* A path too long for the aligned form still prints loadably. */
	memset(pad, 'p', sizeof(pad));
	snprintf(text, sizeof(text), "[log a]\nfilter=/%.*s\npath = /a\n",
	    198 - 8, pad);
	load(&l, text);
	assert_int_equal(l.rc, 0);
	assert_round_trip(l.conf);
	loaded_clear(&l);

	/* The longest state_dir keeps the derived store path printable. */
	snprintf(text, sizeof(text), "[global]\nstate_dir = /%.*s\n", 159,
	    pad);
	load(&l, text);
	assert_int_equal(l.rc, 0);
	assert_round_trip(l.conf);
	loaded_clear(&l);
}

/* Reads a file into a new string. */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 len;

	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("%s: %s (run from the repository root)", path,
		    strerror(errno));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	assert_true(len > 0);
	rewind(fp);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

static void
test_sample(void **state)
{
	static const char	 sample[] = "contrib/xmppguard.conf";
	const struct conf_directive *d;
	struct conf		*conf, *dflt;
	struct loaded		 l;
	char			*text, *u, *line, *save, *key, want[64], *p;
	char			 seen[CONF_DIRECTIVES_MAX];
	enum conf_kind		 kind = CONF_K_GLOBAL;
	size_t			 i, k;
	char			*cause = NULL;

	(void)state;
	/* As shipped: loads cleanly, and is the built-in defaults but for
	 * the dry run the package starts in. */
	if (conf_load(sample, &conf, &cause) == -1)
		fail_msg("%s", cause);
	assert_int_equal(conf_load(NULL, &dflt, &cause), 0);
	assert_int_equal(conf->dry_run, 1);
	conf->dry_run = 0;
	assert_conf_equal(conf, dflt);
	conf_free(conf);

	/* Uncommented, the values it shows are the defaults too. */
	text = slurp(sample);
	u = malloc(strlen(text) + 1);
	assert_non_null(u);
	for (i = k = 0; text[i] != '\0'; i++) {
		if (text[i] == ';' && (i == 0 || text[i - 1] == '\n'))
			continue;
		u[k++] = text[i];
	}
	u[k] = '\0';
	/* The user the package makes need not exist here. */
	if ((p = strstr(u, "= xmppguard\n")) != NULL &&
	    strncmp(p - 15, "user ", 5) == 0)
		memcpy(p, "= nobody   ", 11);
	load(&l, u);
	if (l.rc != 0)
		fail_msg("uncommented sample: %s", l.cause);
	assert_int_equal(l.conf->dry_run, 1);
	l.conf->dry_run = 0;
	/* A file's [log] and a journal's. */
	assert_int_equal(l.conf->nlogs, 2);
	assert_int_equal(l.conf->noverrides, 1);
	l.conf->nlogs = 0;
	l.conf->noverrides = 0;
	assert_conf_equal(l.conf, dflt);
	l.conf->nlogs = 2;
	l.conf->noverrides = 1;
	loaded_clear(&l);
	conf_free(dflt);

	/* And it shows every directive of the table, in its section. */
	memset(seen, 0, sizeof(seen));
	for (line = strtok_r(u, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (*line == '[') {
			for (k = 0; k < conf_nkinds; k++) {
				snprintf(want, sizeof(want), "[%s",
				    conf_kinds[k].name);
				if (strncmp(line, want, strlen(want)) == 0 &&
				    (line[strlen(want)] == ']' ||
				    line[strlen(want)] == ' '))
					kind = (enum conf_kind)k;
			}
			continue;
		}
		key = line;
		line[strcspn(line, " =")] = '\0';
		if ((d = conf_directive_find(kind, key)) != NULL)
			seen[conf_directive_index(d)] = 1;
	}
	for (i = 0; i < conf_ndirectives; i++) {
		if (!seen[i])
			fail_msg("%s lacks [%s] %s", sample,
			    conf_kinds[conf_directives[i].kind].name,
			    conf_directives[i].name);
	}
	free(u);
	free(text);
}

static void
test_reference(void **state)
{
	char	*text, row[128];
	size_t	 len, i;
	FILE	*fp;

	(void)state;
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	conf_reference(fp);
	assert_int_equal(fclose(fp), 0);
	for (i = 0; i < conf_nkinds; i++) {
		snprintf(row, sizeof(row), "### [%s%s]\n", conf_kinds[i].name,
		    conf_kinds[i].named ? " NAME" : "");
		assert_non_null(strstr(text, row));
	}
	for (i = 0; i < conf_ndirectives; i++) {
		snprintf(row, sizeof(row), "| `%s` | %s | ",
		    conf_directives[i].name,
		    conf_type_names[conf_directives[i].type]);
		assert_non_null(strstr(text, row));
	}
	assert_non_null(strstr(text, "| `retention` | duration | `30d` | "
	    "0 to 520w | "));
	assert_non_null(strstr(text, "| `batch_max` | integer | `1000` | "
	    "1 to 100000 | "));
	assert_non_null(strstr(text, "| s2s | `5269` | `20` | `60/1h` | "
	    "`50k/s burst 1M` |"));
	assert_non_null(strstr(text, "| `filter` | string | required | "));
	assert_non_null(strstr(text, "| `journal` | string | unset | "));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_three_errors),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_bad_enum),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_bad_units),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_bad_section_keys),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_many_networks),
		cmocka_unit_test(test_service_override),
		cmocka_unit_test(test_new_service),
		cmocka_unit_test(test_port_conflict),
		cmocka_unit_test(test_ports_total),
		cmocka_unit_test(test_logs_overrides),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_reference),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
