/*
 * Replay's kernel caps: a small log of handshakes, closes and logins
 * through the pipeline (whose tracker counts the accounts) and the caps'
 * model, as replay.c wires them.  A third held connection against
 * max_concurrent 2 is refused without logins and let in once two
 * accounts have logged in from the address (level 2: 2 accounts x 2 more
 * each); the level lapses with the accounts' window; closes free a slot;
 * churn's bucket refills; [allow] is never capped; a network's cap counts
 * its hosts together.  And the fixture log of tests/fixtures/replay-caps
 * through the replay command: as in the daemon, an address over its limit
 * is refused in the kernel, not banned, and one refused more than [ban]
 * cap_persist times is banned (kcap_refusal()).
 */
#include "unit.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/replay_kcap.c"
#include "pipeline.h"
#include "replay.h"

/* From the top of the tree, where the tests run. */
#define FIXTURE	"tests/fixtures/replay-caps"

#define S	CLOCK_US_PER_SEC
#define T0	(INT64_C(1795924800) * S)

struct fx {
	struct conf		*conf;
	struct conf_service	*c2s;
	struct pipeline		*p;
	struct replay_kcap	*rk;
	struct replay_kcap_stats st;
};

static int
setup(void **state)
{
	struct fx	*f = xcalloc(1, sizeof(*f));
	char		*cause = NULL;
	int		 i;

	assert_int_equal(conf_load(NULL, &f->conf, &cause), 0);
	f->conf->firewall = CONF_FW_NFTABLES;
	f->conf->dry_run = 0;
	/* c2s alone capped (logins raise every capped service's). */
	for (i = 0; i < f->conf->nservices; i++) {
		f->conf->services[i].kernel_caps = 0;
		if (strcmp(f->conf->services[i].name, "c2s") == 0)
			f->c2s = &f->conf->services[i];
	}
	assert_non_null(f->c2s);
	f->c2s->kernel_caps = 1;
	f->c2s->max_concurrent = 2;
	f->c2s->net_max_concurrent = 0;
	f->c2s->max_new.count = 0;
	f->c2s->net_max_new.count = 0;
	f->c2s->account_allowance_concurrent = 2;
	f->c2s->account_allowance_new = 0;
	f->c2s->account_max = 4;
	f->c2s->net_account_max = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	replay_kcap_free(f->rk);
	pipeline_free(f->p);
	conf_free(f->conf);
	free(f);
	return 0;
}

/* After the configuration is set: the pipeline and the model. */
static void
start(struct fx *f)
{
	f->p = pipeline_new(f->conf, NULL, 1);
	f->rk = replay_kcap_new(f->conf, 1);
}

/*
 * The fixture log, one line an event: "SECONDS open ADDR SPORT",
 * "SECONDS close ADDR SPORT", "SECONDS login ADDR USER".  Each goes
 * through the model and the pipeline in replay.c's order; the result of
 * the last open is returned, and each open's result written to out (one
 * letter: p passed, l on a level, r refused, o outside).
 */
static enum replay_kcap_result
feed(struct fx *f, const char *const *log, size_t n, char *out)
{
	enum replay_kcap_result	 res = REPLAY_KCAP_OUTSIDE;
	struct event		 ev;
	char			 what[16], a[64], arg[64];
	long			 sec;
	size_t			 i, k = 0;

	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(log[i], "%ld %15s %63s %63s", &sec,
		    what, a, arg), 4);
		memset(&ev, 0, sizeof(ev));
		assert_int_equal(addr_parse(a, &ev.addr, NULL), 0);
		ev.time = T0 + sec * S;
		ev.service = "c2s";
		ev.port = 5222;
		if (strcmp(what, "login") == 0) {
			ev.kind = EVENT_AUTH_OK;
			ev.source = EVENT_SRC_REPLAY;
			ev.user = arg;
			pipeline_event(&ev, f->p);
			replay_kcap_login(f->rk, pipeline_track(f->p), &ev);
			continue;
		}
		ev.source = EVENT_SRC_CONNTRACK;
		ev.sport = (uint16_t)atoi(arg);
		ev.flow = ev.sport;
		ev.flags = EVENT_F_WAS_SYN | EVENT_F_HANDSHAKE;
		ev.kind = strcmp(what, "open") == 0 ? EVENT_CONN_OPEN :
		    EVENT_CONN_CLOSE;
		if (ev.kind == EVENT_CONN_CLOSE)
			ev.start = ev.time - S;
		res = replay_kcap_event(f->rk, &ev);
		if (ev.kind == EVENT_CONN_OPEN && out != NULL)
			out[k++] = "plro"[res == REPLAY_KCAP_PASSED ? 0 :
			    res == REPLAY_KCAP_LEVEL ? 1 :
			    res == REPLAY_KCAP_REFUSED ? 2 : 3];
		pipeline_event(&ev, f->p);
	}
	if (out != NULL)
		out[k] = '\0';
	replay_kcap_get_stats(f->rk, &f->st);
	return res;
}

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Three held connections against 2, no login: the third refused. */
static void
test_refused_without_logins(void **state)
{
	static const char *const log[] = {
		"1 open 198.51.100.7 40001",
		"2 open 198.51.100.7 40002",
		"3 open 198.51.100.7 40003",
	};
	struct fx	*f = *state;
	char		 out[8];

	start(f);
	feed(f, log, nitems(log), out);
	assert_string_equal(out, "ppr");
	assert_int_equal(f->st.refused[REPLAY_KCAP_CONC], 1);
	assert_int_equal(f->st.raised, 0);
	assert_int_equal(f->st.addresses, 0);
}

/*
 * The same with two accounts logged in before the third: level 2 (two
 * accounts, a power of two), 2 + 2 x 2 = 6 in the level's own set, so
 * the third is let in; more up to the level's limit (the level's set
 * counts only the connections opened on a level: 6 there, 8 in all).
 */
static void
test_accepted_with_logins(void **state)
{
	static const char *const log[] = {
		"1 open 198.51.100.7 40001",
		"2 open 198.51.100.7 40002",
		"3 login 198.51.100.7 alice@example.org",
		"4 login 198.51.100.7 bob@example.org",
		"5 open 198.51.100.7 40003",
		"6 open 198.51.100.7 40004",
		"6 open 198.51.100.7 40005",
		"6 open 198.51.100.7 40006",
		"6 open 198.51.100.7 40007",
		"6 open 198.51.100.7 40008",
		"7 open 198.51.100.7 40009",
		"8 open 198.51.100.9 40001",
		"8 open 198.51.100.9 40002",
		"8 open 198.51.100.9 40003",
	};
	struct fx	*f = *state;
	char		 out[16];

	start(f);
	assert_int_equal(kcap_acct_level(f->c2s, 2), 2);
	feed(f, log, nitems(log), out);
	/* 198.51.100.9, without logins, stays at 2. */
	assert_string_equal(out, "ppllllllrppr");
	assert_int_equal(f->st.raised, 6);
	assert_int_equal(f->st.addresses, 1);
	assert_int_equal(f->st.refused[REPLAY_KCAP_CONC], 2);
}

/*
 * One account: level 1 (2 + 2 = 4).  Rounded up: three accounts are
 * level 3 (four accounts' worth, 2 + 4 x 2 = 10), as the kernel has it.
 */
static void
test_rounded_up(void **state)
{
	static const char *const log[] = {
		"1 login 198.51.100.7 a@example.org",
		"2 login 198.51.100.7 b@example.org",
		"3 login 198.51.100.7 c@example.org",
		"4 open 198.51.100.7 40001",
		"4 open 198.51.100.7 40002",
		"4 open 198.51.100.7 40003",
		"4 open 198.51.100.7 40004",
		"4 open 198.51.100.7 40005",
		"4 open 198.51.100.7 40006",
		"4 open 198.51.100.7 40007",
		"4 open 198.51.100.7 40008",
		"4 open 198.51.100.7 40009",
		"4 open 198.51.100.7 40010",
		"4 open 198.51.100.7 40011",
	};
	struct fx	*f = *state;
	char		 out[16];

	start(f);
	assert_int_equal(kcap_acct_level(f->c2s, 1), 1);
	assert_int_equal(kcap_acct_level(f->c2s, 3), 3);
	feed(f, log, nitems(log), out);
	assert_string_equal(out, "llllllllllr");
}

/*
 * The level lapses a window after the last login that set it: then the
 * base cap again, which counted every connection (the level's too), and
 * a close frees a slot in every set the connection was counted in.
 */
static void
test_lapse_and_close(void **state)
{
	static const char *const log1[] = {
		"1 login 198.51.100.7 alice@example.org",
		"2 open 198.51.100.7 40001",
		"2 open 198.51.100.7 40002",
		"2 open 198.51.100.7 40003",
	};
	char		 open[64], close[64];
	const char	*log2[2] = { open, close };
	struct fx	*f = *state;
	struct addr	 a;
	int64_t		 window;
	long		 after;
	char		 out[8];

	start(f);
	feed(f, log1, nitems(log1), out);
	assert_string_equal(out, "lll");
	assert_int_equal(addr_parse("198.51.100.7", &a, NULL), 0);
	assert_int_equal(track_accounts(pipeline_track(f->p), f->conf,
	    f->c2s, &a, T0 + 2 * S, &window), 1);
	after = (long)(1 + window / S);
	/* At the window's end the level is gone: 3 live >= 2, refused. */
	snprintf(open, sizeof(open), "%ld open 198.51.100.7 40004", after);
	feed(f, log2, 1, out);
	assert_string_equal(out, "r");
	/* Two closes: 1 live, room for one more. */
	snprintf(open, sizeof(open), "%ld close 198.51.100.7 40001", after);
	snprintf(close, sizeof(close), "%ld close 198.51.100.7 40002", after);
	feed(f, log2, 2, NULL);
	snprintf(open, sizeof(open), "%ld open 198.51.100.7 40005", after);
	snprintf(close, sizeof(close), "%ld open 198.51.100.7 40006", after);
	feed(f, log2, 2, out);
	assert_string_equal(out, "pr");
}

/*
 * Churn (20 in 10 minutes) refills count per window; the network's
 * concurrency counts its hosts together; [allow] is outside the caps.
 */
static void
test_churn_net_allow(void **state)
{
	static const char *const net[] = {
		"1 open 203.0.113.1 1",
		"1 open 203.0.113.2 1",
		"1 open 203.0.113.3 1",
		"1 open 203.0.114.3 1",
		"1 open 192.0.2.10 1",
		"1 open 192.0.2.10 2",
		"1 open 192.0.2.10 3",
	};
	struct fx	*f = *state;
	char		 line[64], out[32], expect[32];
	const char	*log[1] = { line };
	int		 i;

	f->c2s->max_concurrent = 0;
	f->c2s->max_new.count = 20;
	f->c2s->max_new.window = 600 * S;
	free(f->conf->allow);
	f->conf->allow = xcalloc(1, sizeof(*f->conf->allow));
	assert_int_equal(addr_prefix_parse("192.0.2.0/24",
	    &f->conf->allow[0], 0), 0);
	f->conf->nallow = 1;
	start(f);
	for (i = 0; i < 21; i++) {
		snprintf(line, sizeof(line), "1 open 198.51.100.7 %d",
		    1000 + i);
		feed(f, log, 1, out + i);
	}
	memset(expect, 'p', 20);
	expect[20] = 'r';
	expect[21] = '\0';
	assert_string_equal(out, expect);
	/* 30 s: 20 x 30 / 600 = one token back. */
	snprintf(line, sizeof(line), "31 open 198.51.100.7 2000");
	feed(f, log, 1, out);
	assert_string_equal(out, "p");
	feed(f, log, 1, out);
	assert_string_equal(out, "r");
	assert_int_equal(f->st.refused[REPLAY_KCAP_NEW], 2);

	replay_kcap_free(f->rk);
	f->c2s->max_new.count = 0;
	f->c2s->net_max_concurrent = 2;
	f->rk = replay_kcap_new(f->conf, 1);
	feed(f, net, nitems(net), out);
	assert_string_equal(out, "pprpooo");
	assert_int_equal(f->st.refused[REPLAY_KCAP_NET_CONC], 1);
}

/*
 * The fixture in tests/fixtures/replay-caps (gen.py there), through
 * `xmppguard replay` itself: 198.51.100.7's third held connection is
 * refused without the log, let in with it (two accounts logged in over its
 * first); 198.51.100.9's third is refused either way; 198.51.100.11
 * hammers the cap.  Returns the output, verdicts and summary (static).
 */
static const char *
replay_fixture(int with_log)
{
	static char	 all[16384];
	char		 line[512];
	size_t		 len = 0;
	char		*argv[8], a[6][128];
	char		 path[] = "/tmp/test_replay_kcap.XXXXXX";
	FILE		*fp;
	int		 argc = 0, fd, out, err, i;

	snprintf(a[0], sizeof(a[0]), "replay");
	snprintf(a[1], sizeof(a[1]), "-c");
	snprintf(a[2], sizeof(a[2]), "%s/xg.conf", FIXTURE);
	snprintf(a[3], sizeof(a[3]), "--conntrack");
	snprintf(a[4], sizeof(a[4]), "%s/conntrack.txt", FIXTURE);
	snprintf(a[5], sizeof(a[5]), "--log=filters/ejabberd.conf=%s/"
	    "ejabberd.log", FIXTURE);
	for (i = 0; i < (with_log ? 6 : 5); i++)
		argv[argc++] = a[i];
	argv[argc] = NULL;
	assert_true((fd = mkstemp(path)) != -1);
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	err = dup(2);
	assert_true(out != -1 && err != -1);
	assert_true(dup2(fd, 1) != -1 && dup2(fd, 2) != -1);
	optind = 0;
	i = replay_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(out, 1) != -1 && dup2(err, 2) != -1);
	close(out);
	close(err);
	close(fd);
	assert_non_null(fp = fopen(path, "r"));
	if (i != 0) {
		while (fgets(line, sizeof(line), fp) != NULL)
			fputs(line, stderr);
		fail_msg("replay exited with %d", i);
	}
	all[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL &&
	    len + strlen(line) < sizeof(all)) {
		memcpy(all + len, line, strlen(line) + 1);
		len += strlen(line);
	}
	fclose(fp);
	unlink(path);
	return all;
}

/* The line of out holding needle, without its newline (static), or "". */
static const char *
fixture_line(const char *out, const char *needle)
{
	static char	 line[512];
	const char	*p, *b;
	size_t		 n;

	line[0] = '\0';
	if ((p = strstr(out, needle)) == NULL)
		return line;
	for (b = p; b > out && b[-1] != '\n'; b--)
		;
	n = strcspn(b, "\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, b, n);
	line[n] = '\0';
	return line;
}

static void
test_fixture(void **state)
{
	(void)state;
	assert_string_equal(fixture_line(replay_fixture(0),
	    "by the kernel caps"), "replay: 6 connections "
	    "refused by the kernel caps (6 concurrency, 0 churn, 0 network "
	    "concurrency, 0 network churn), 0 let in on an account level "
	    "(0 addresses held one); 6 verdicts at a cap not banned, "
	    "1 bans for hammering a cap");
	assert_string_equal(fixture_line(replay_fixture(1),
	    "by the kernel caps"), "replay: 5 connections "
	    "refused by the kernel caps (5 concurrency, 0 churn, 0 network "
	    "concurrency, 0 network churn), 2 let in on an account level "
	    "(1 addresses held one); 5 verdicts at a cap not banned, "
	    "1 bans for hammering a cap");
}

/*
 * With the caps on, as the daemon: 198.51.100.9, over its limit, is
 * refused in the kernel, not banned; 198.51.100.11, refused more than
 * cap_persist (3/10m) times, is banned with the cap's reason, and only
 * it.
 */
static void
test_fixture_hammer(void **state)
{
	const char	*out;

	(void)state;
	out = replay_fixture(1);
	assert_string_equal(fixture_line(out, " 198.51.100.9/32 "),
	    "2026-11-29T10:00:12.000085Z 198.51.100.9/32 concurrency: 3 live "
	    "c2s connections (limit 2) (refused in the kernel: not banned)");
	assert_string_equal(fixture_line(out, "; ban "),
	    "2026-11-29T10:00:25.000085Z 198.51.100.11/32 refused 4 times by "
	    "the c2s concurrency cap in 10m; ban 198.51.100.11/32 for 10m "
	    "(ban 1) until 2026-11-29T10:10:25.000085Z");
	assert_null(strstr(strstr(out, "; ban ") + 1, "; ban "));
	assert_string_equal(fixture_line(out, "replay: 1 bans"),
	    "replay: 1 bans (0 escalated, 0 extended), 1 connections "
	    "refused, 0 log events refused, 3 live connections ended, "
	    "0 verdicts inside a ban, 5 never banned");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_without_logins,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepted_with_logins,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rounded_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lapse_and_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_churn_net_allow, setup,
		    teardown),
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_fixture_hammer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
