/*
 * Unit tests for the conntrack text parser: exact fields of lines in every
 * output format conntrack(8) has, the real captures under
 * tests/fixtures/conntrack/ (see capture.sh there) run through the flow
 * table, malformed lines, and a mutation soak for hostile input.
 */
#include "unit.h"

#include "../../src/ct_text.c"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "event.h"

#define SEC	CLOCK_US_PER_SEC

static int
parse(const char *line, struct ct_msg *m)
{
	return ct_text_parse(line, m);
}

static void
assert_addr(const struct addr *a, const char *want)
{
	char	 buf[ADDR_STRLEN];

	assert_string_equal(addr_ntop(a, buf, sizeof buf), want);
}

static void
test_event_full(void **state)
{
	struct ct_msg	 m;

	(void)state;
	assert_int_equal(parse("[1795920943.647890]\t    [NEW] ipv4     2 "
	    "tcp      6 3 SYN_SENT src=127.0.0.1 dst=127.0.0.2 sport=41236 "
	    "dport=5222 [UNREPLIED] src=127.0.0.2 dst=127.0.0.1 sport=5222 "
	    "dport=41236 id=495432191\n", &m), 0);
	assert_int_equal(m.type, CT_MSG_NEW);
	assert_int_equal(m.time, 1795920943647890LL);
	assert_int_equal(m.id, 495432191U);
	assert_addr(&m.src, "127.0.0.1");
	assert_addr(&m.dst, "127.0.0.2");
	assert_int_equal(m.sport, 41236);
	assert_int_equal(m.dport, 5222);
	assert_int_equal(m.tcp_state, CT_TCP_SYN_SENT);
	assert_int_equal(m.status, 0);
	assert_int_equal(m.has_counters, 0);
	assert_int_equal(m.start, 0);

	assert_int_equal(parse("[1795920943.647930]\t [UPDATE] ipv4     2 "
	    "tcp      6 432000 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 "
	    "sport=41236 dport=5222 src=127.0.0.1 dst=127.0.0.1 sport=5222 "
	    "dport=41236 [ASSURED] id=495432191", &m), 0);
	assert_int_equal(m.type, CT_MSG_UPDATE);
	assert_int_equal(m.tcp_state, CT_TCP_ESTABLISHED);
	assert_int_equal(m.status, CT_STATUS_SEEN_REPLY | CT_STATUS_ASSURED);
}

static void
test_destroy(void **state)
{
	struct ct_msg	 m;

	(void)state;
	/* No timeout; counters per direction; delta-time gives start. */
	assert_int_equal(parse("[1795920955.676920]\t[DESTROY] ipv4     2 tcp "
	    "     6 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=45564 "
	    "dport=5222 packets=12 bytes=16632 src=127.0.0.1 dst=127.0.0.1 "
	    "sport=5222 dport=45564 packets=7 bytes=16372 [ASSURED] "
	    "delta-time=4 id=2004994503\r\n", &m), 0);
	assert_int_equal(m.type, CT_MSG_DESTROY);
	assert_int_equal(m.tcp_state, CT_TCP_TIME_WAIT);
	assert_int_equal(m.has_counters, 1);
	assert_int_equal(m.pkts_orig, 12);
	assert_int_equal(m.bytes_orig, 16632);
	assert_int_equal(m.pkts_reply, 7);
	assert_int_equal(m.bytes_reply, 16372);
	assert_int_equal(m.start, 1795920951676920LL);
	assert_int_equal(m.id, 2004994503U);

	/* Neither timeout nor state (older conntrack). */
	assert_int_equal(parse("[DESTROY] tcp      6 src=10.0.0.1 dst=10.0.0.2 "
	    "sport=1 dport=5269 packets=1 bytes=60 [UNREPLIED] src=10.0.0.2 "
	    "dst=10.0.0.1 sport=5269 dport=1 packets=0 bytes=0", &m), 0);
	assert_int_equal(m.tcp_state, CT_TCP_UNKNOWN);
	assert_int_equal(m.status, 0);
	assert_int_equal(m.time, 0);
	assert_int_equal(m.bytes_orig, 60);
}

static void
test_formats(void **state)
{
	struct ct_msg	 m;

	(void)state;
	/* Plain `conntrack -E`: no family, no time, no id. */
	assert_int_equal(parse("    [NEW] tcp      6 120 SYN_SENT src=::1 "
	    "dst=::1 sport=53278 dport=5222 [UNREPLIED] src=::1 dst=::1 "
	    "sport=5222 dport=53278", &m), 0);
	assert_int_equal(m.src.family, AF_INET6);
	assert_addr(&m.src, "::1");
	assert_int_equal(m.id, 0);
	assert_int_equal(m.time, 0);

	/* IPv6 with -o extended. */
	assert_int_equal(parse("[1795920943.745127]\t [UPDATE] ipv6     10 tcp "
	    "     6 432000 ESTABLISHED src=2001:db8::7 dst=2001:db8::1 "
	    "sport=53278 dport=5281 src=2001:db8::1 dst=2001:db8::7 "
	    "sport=5281 dport=53278 [ASSURED] id=3905504215", &m), 0);
	assert_addr(&m.src, "2001:db8::7");
	assert_addr(&m.dst, "2001:db8::1");
	assert_int_equal(m.dport, 5281);

	/* A `conntrack -L -o extended,id` line: a dump entry. */
	assert_int_equal(parse("ipv4     2 tcp      6 431999 ESTABLISHED "
	    "src=127.0.0.1 dst=127.0.0.1 sport=45564 dport=5222 packets=6 "
	    "bytes=8320 src=127.0.0.1 dst=127.0.0.1 sport=5222 dport=45564 "
	    "packets=4 bytes=8216 [ASSURED] mark=0 delta-time=2 use=1 "
	    "id=2004994503", &m), 0);
	assert_int_equal(m.type, CT_MSG_DUMP);
	assert_int_equal(m.bytes_reply, 8216);
	assert_int_equal(m.start, 0);		/* no time to count back from */

	/* -o ktimestamp brackets hold blanks; offloaded means assured;
	 * zones, labels, a key from the future are skipped. */
	assert_int_equal(parse("[DESTROY] ipv4 2 tcp 6 CLOSE src=10.0.0.1 "
	    "dst=10.0.0.2 sport=1 dport=5222 zone-orig=1 src=10.0.0.2 "
	    "dst=10.0.0.1 sport=5222 dport=1 [OFFLOAD] mark=7 zone=1 "
	    "[start=Thu Nov 28 10:00:00 2024] [stop=Thu Nov 28 10:02:00 2024] "
	    "helper=ftp use=1 id=9 labels=a,b new-thing=x", &m), 0);
	assert_int_equal(m.status & CT_STATUS_ASSURED, CT_STATUS_ASSURED);
	assert_int_equal(m.id, 9);

	/* Old conntrack padded microseconds with blanks on the right: the
	 * digits are an integer count, not a fraction. */
	assert_int_equal(parse("[1732848000.1234  ]\t[NEW] tcp 6 120 SYN_SENT "
	    "src=10.0.0.1 dst=10.0.0.2 sport=1 dport=5222 [UNREPLIED] "
	    "src=10.0.0.2 dst=10.0.0.1 sport=5222 dport=1", &m), 0);
	assert_int_equal(m.time, 1732848000LL * SEC + 1234);

	/* The historical name of SYN_SENT2. */
	assert_int_equal(parse("[UPDATE] tcp 6 120 LISTEN src=10.0.0.1 "
	    "dst=10.0.0.2 sport=1 dport=5222 src=10.0.0.2 dst=10.0.0.1 "
	    "sport=5222 dport=1", &m), 0);
	assert_int_equal(m.tcp_state, CT_TCP_SYN_SENT2);
}

static void
test_not_tcp(void **state)
{
	struct ct_msg	 m;

	(void)state;
	assert_int_equal(parse("[1795920948.527644]\t    [NEW] ipv4     2 udp "
	    "     17 30 src=127.0.0.1 dst=127.0.0.1 sport=54023 dport=5353 "
	    "[UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=54023 "
	    "id=2031397586", &m), 1);
	assert_int_equal(parse("    [NEW] icmp     1 30 src=10.0.0.1 "
	    "dst=10.0.0.2 type=8 code=0 id=1 [UNREPLIED] src=10.0.0.2 "
	    "dst=10.0.0.1 type=0 code=0 id=1", &m), 1);
	assert_int_equal(parse("[DESTROY] unknown  132 src=10.0.0.1", &m), 1);
	assert_int_equal(parse("", &m), 1);
	assert_int_equal(parse(" \t\n", &m), 1);
	assert_int_equal(parse("conntrack v1.4.7 (conntrack-tools): 44 flow "
	    "events have been shown.\n", &m), 1);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"garbage",
		"[NEW]",
		"[NEW] tcp",
		"[NEW] tcp 6",
		"[NEW] tcp 6 120 SYN_SENT",
		"[FOO] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] udp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 256 120 src=1.2.3.4",
		"[NEW] ipv5 2 tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 "
		    "sport=1 dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 BOGUS src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		/* no reply tuple */
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2",
		/* reply tuple before the original is complete */
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		/* a third tuple */
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1 "
		    "src=1.1.1.1",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "sport=3 dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.999 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4:80 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 SYN_SENT src= dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=65536 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=-1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1 "
		    "id=4294967296",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1 stray",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1 [open",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1 Mark=1",
		/* half a set of counters */
		"[DESTROY] tcp 6 src=1.2.3.4 dst=1.2.3.5 sport=1 dport=2 "
		    "packets=1 bytes=60 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[DESTROY] tcp 6 src=1.2.3.4 dst=1.2.3.5 sport=1 dport=2 "
		    "packets=1 bytes=99999999999999999999999 src=1.2.3.5 "
		    "dst=1.2.3.4 sport=2 dport=1 packets=1 bytes=1",
		/* timestamps: seven digits of microseconds, a sign, junk */
		"[1732848000.1234567] [NEW] tcp 6 120 SYN_SENT src=1.2.3.4 "
		    "dst=1.2.3.5 sport=1 dport=2 src=1.2.3.5 dst=1.2.3.4 "
		    "sport=2 dport=1",
		"[-1732848000.123456] [NEW] tcp 6 120 SYN_SENT src=1.2.3.4 "
		    "dst=1.2.3.5 sport=1 dport=2 src=1.2.3.5 dst=1.2.3.4 "
		    "sport=2 dport=1",
		"[1732848000] [NEW] tcp 6 120 SYN_SENT src=1.2.3.4 "
		    "dst=1.2.3.5 sport=1 dport=2 src=1.2.3.5 dst=1.2.3.4 "
		    "sport=2 dport=1",
		"[17328480001234567.0] [NEW] tcp 6 120 SYN_SENT src=1.2.3.4 "
		    "dst=1.2.3.5 sport=1 dport=2 src=1.2.3.5 dst=1.2.3.4 "
		    "sport=2 dport=1",
		"[1.2]x [NEW] tcp 6",
		"[1.2]",
		/* control characters, bytes beyond ASCII */
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4\x01 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1",
		"[NEW] tcp 6 120 SYN_SENT src=1.2.3.4 dst=1.2.3.5 sport=1 "
		    "dport=2 src=1.2.3.5 dst=1.2.3.4 sport=2 dport=1 \xc3\xa9",
		"\x7f",
	};
	struct ct_msg	 m;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse(bad[i], &m) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void
test_long_lines(void **state)
{
	static const char	 head[] = "[NEW] tcp 6 120 SYN_SENT "
	    "src=1.2.3.4 dst=1.2.3.5 sport=1 dport=2 src=1.2.3.5 "
	    "dst=1.2.3.4 sport=2 dport=1";
	struct ct_msg		 m;
	char			*line;
	size_t			 n = 1 << 20, len;

	(void)state;
	line = malloc(n + 1);
	assert_non_null(line);

	/* A valid line padded with skippable keys up to the limit parses;
	 * one byte more does not, however it ends. */
	memcpy(line, head, sizeof head - 1);
	len = sizeof head - 1;
	while (len + 4 <= CT_TEXT_LINE_MAX) {
		memcpy(line + len, " m=1", 4);
		len += 4;
	}
	while (len < CT_TEXT_LINE_MAX)
		line[len++] = '1';
	line[len] = '\0';
	assert_int_equal(parse(line, &m), 0);
	line[len++] = '1';
	line[len] = '\0';
	assert_int_equal(parse(line, &m), -1);

	/* A megabyte of one token, of blanks, of brackets. */
	memset(line, 'a', n);
	line[n] = '\0';
	assert_int_equal(parse(line, &m), -1);
	memset(line, ' ', n);
	assert_int_equal(parse(line, &m), -1);
	memset(line, '[', n);
	assert_int_equal(parse(line, &m), -1);
	free(line);
}

/*
 * Random lines, and real lines with random bytes changed, cut and
 * duplicated: the parser says 0, 1 or -1 and nothing else happens (the
 * sanitized build checks every access).
 */
static void
test_mutations(void **state)
{
	static const char	*seeds[] = {
		"[1795920955.676920]\t[DESTROY] ipv4     2 tcp      6 "
		    "TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=45564 "
		    "dport=5222 packets=12 bytes=16632 src=127.0.0.1 "
		    "dst=127.0.0.1 sport=5222 dport=45564 packets=7 "
		    "bytes=16372 [ASSURED] delta-time=4 id=2004994503",
		"[1795920943.745127]\t [UPDATE] ipv6     10 tcp      6 432000 "
		    "ESTABLISHED src=::1 dst=::1 sport=53278 dport=5222 "
		    "src=::1 dst=::1 sport=5222 dport=53278 [ASSURED] "
		    "id=3905504215",
	};
	static const char	 alphabet[] = " \t[]=.:0123456789abcdefx"
	    "ABCDEFNSTUPDRsrcdstpoackety-_\x01\xff\n";
	char			 line[512];
	struct ct_msg		 m;
	uint32_t		 x = 1;
	size_t			 len, j;
	int			 i, r, k;

	(void)state;
	for (i = 0; i < 200000; i++) {
		x = x * 1103515245 + 12345;
		if (i % 4 == 0) {
			len = (x >> 8) % (sizeof line - 1);
			for (j = 0; j < len; j++) {
				x = x * 1103515245 + 12345;
				line[j] = alphabet[(x >> 16) %
				    (sizeof alphabet - 1)];
			}
			line[len] = '\0';
		} else {
			snprintf(line, sizeof line, "%s", seeds[i & 1]);
			len = strlen(line);
			for (k = 0; k < 1 + (int)((x >> 4) % 4); k++) {
				x = x * 1103515245 + 12345;
				j = (x >> 8) % len;
				switch ((x >> 20) % 3) {
				case 0:
					line[j] = alphabet[(x >> 24) %
					    (sizeof alphabet - 1)];
					break;
				case 1:
					line[j] = '\0';
					len = j > 0 ? j : 1;
					break;
				default:
					memmove(line + j, line + j + 1,
					    len - j);
					if (len > 1)
						len--;
				}
				if (line[0] == '\0')
					break;
				len = strlen(line);
				if (len == 0)
					break;
			}
		}
		r = parse(line, &m);
		assert_true(r == 0 || r == 1 || r == -1);
		if (r == 0) {
			assert_true(m.src.family == AF_INET ||
			    m.src.family == AF_INET6);
			assert_true(m.tcp_state <= CT_TCP_SYN_SENT2 ||
			    m.tcp_state == CT_TCP_UNKNOWN);
			assert_true(m.type <= CT_MSG_DUMP);
		}
	}
}

/* The captures: where they are, whatever the working directory. */
static FILE *
fixture_open(const char *name)
{
	char	 path[1024];
	FILE	*fp;
	size_t	 n;
	const char *slash;

	snprintf(path, sizeof path, "tests/fixtures/conntrack/%s", name);
	if ((fp = fopen(path, "r")) != NULL)
		return fp;
	/* __FILE__ is .../tests/unit/test_ct_text.c */
	slash = strrchr(__FILE__, '/');
	n = slash != NULL ? (size_t)(slash - __FILE__) : 0;
	snprintf(path, sizeof path, "%.*s/../fixtures/conntrack/%s", (int)n,
	    __FILE__, name);
	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open fixture %s", name);
	return fp;
}

struct tally {
	int	 kinds[EVENT_KIND_MAX];
	int	 handshake_end;
	uint64_t bytes_in;		/* of BYTES events */
	uint64_t end_bytes_in;		/* of END events with HANDSHAKE */
	int	 bad_time;
	int64_t	 last_time;
};

static void
tally_cb(const struct event *ev, void *arg)
{
	struct tally	*t = arg;

	t->kinds[ev->kind]++;
	if (ev->kind == EVENT_CONN_BYTES)
		t->bytes_in += ev->bytes_in;
	if (ev->kind == EVENT_CONN_END && (ev->flags & EVENT_F_HANDSHAKE)) {
		t->handshake_end++;
		t->end_bytes_in += ev->bytes_in;
	}
	if (ev->time < t->last_time)
		t->bad_time++;
	t->last_time = ev->time;
}

/*
 * Each capture of the same traffic (see capture.sh), in each format:
 * every line parses, and the flow table finds the same story in it.  Of
 * the flows to watched ports, 4 completed a handshake (c2s over IPv4 and
 * IPv6, a long session, one aborted by RST), 2 were refused (5223, no
 * listener) and 2 stayed half-open (5269, SYN/ACK dropped): 8 SYN events,
 * 4 OPEN, 4 CLOSE, 8 END, of which 4 with a handshake.
 */
static void
test_fixtures(void **state)
{
	static const char *const files[] = {
		"events-ts-ext-id.txt", "events-ts-ext.txt",
		"events-plain-id.txt", "events-plain.txt",
	};
	struct ct_msg		 m;
	struct conf		*conf;
	struct ctflow		*ctf;
	struct ctflow_stats	 st;
	struct tally		 t;
	uint64_t		 kernel_in;
	char			 line[8192], *cause = NULL;
	FILE			*fp;
	size_t			 i;
	int			 r, tcp, other, lineno;

	(void)state;
	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		fp = fixture_open(files[i]);
		ctf = ctflow_new(64, 1);
		memset(&t, 0, sizeof t);
		tcp = other = lineno = 0;
		kernel_in = 0;
		while (fgets(line, sizeof line, fp) != NULL) {
			lineno++;
			r = parse(line, &m);
			if (r == -1)
				fail_msg("%s:%d: rejected", files[i], lineno);
			if (r == 1) {
				other++;
				continue;
			}
			tcp++;
			assert_int_equal(m.id != 0,
			    strstr(files[i], "-id") != NULL);
			assert_int_equal(m.time != 0,
			    strstr(files[i], "-ts-") != NULL);
			if (m.type == CT_MSG_DESTROY &&
			    (m.status & CT_STATUS_ASSURED) &&
			    conf_service_by_port(conf, m.dport) != NULL)
				kernel_in += m.bytes_orig;
			ctflow_apply(ctf, conf, &m, tally_cb, &t);
		}
		fclose(fp);
		assert_int_equal(tcp, 43);
		assert_int_equal(other, 2);	/* UDP NEW and DESTROY */
		assert_int_equal(t.kinds[EVENT_CONN_SYN], 8);
		assert_int_equal(t.kinds[EVENT_CONN_OPEN], 4);
		assert_int_equal(t.kinds[EVENT_CONN_CLOSE], 4);
		assert_int_equal(t.kinds[EVENT_CONN_BYTES], 4);
		assert_int_equal(t.kinds[EVENT_CONN_END], 8);
		assert_int_equal(t.handshake_end, 4);
		/* All of it came at DESTROY: the deltas are the totals,
		 * which are the kernel's counters (1320 + 20440 + 768 +
		 * 16632 bytes from the clients, in the capture here). */
		assert_int_equal(t.bytes_in, t.end_bytes_in);
		assert_int_equal(t.bytes_in, kernel_in);
		assert_true(kernel_in > 20000);
		assert_int_equal(t.bad_time, 0);
		ctflow_get_stats(ctf, &st);
		assert_int_equal(st.flows, 0);
		assert_int_equal(st.ignored, 7);	/* port 8080 */
		assert_int_equal(st.unknown, 0);
		ctflow_free(ctf);
	}

	/* The dump taken while the long session was live. */
	fp = fixture_open("dump-ext-id.txt");
	ctf = ctflow_new(64, 1);
	memset(&t, 0, sizeof t);
	ctflow_resync_begin(ctf, 1);
	while (fgets(line, sizeof line, fp) != NULL) {
		r = parse(line, &m);
		assert_int_not_equal(r, -1);
		if (r == 0) {
			assert_int_equal(m.type, CT_MSG_DUMP);
			assert_int_equal(m.has_counters, 1);
			ctflow_apply(ctf, conf, &m, tally_cb, &t);
		}
	}
	fclose(fp);
	ctflow_resync_end(ctf, conf, 0, tally_cb, &t);
	assert_int_equal(t.kinds[EVENT_CONN_OPEN], 1);	/* the session */
	assert_int_equal(t.kinds[EVENT_CONN_SYN], 1);	/* half-open 5269 */
	assert_int_equal(t.kinds[EVENT_CONN_BYTES], 0);	/* baseline only */
	ctflow_free(ctf);
	conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_full),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_fixtures),
	};

	return cmocka_run_group_tests_name("ct_text", tests, NULL, NULL);
}
