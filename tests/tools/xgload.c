/*
 * xgload - the TCP load generator and sink of xmppguard's system tests and
 * benchmarks.  One file, libc only, so a test can build it with a bare
 * `cc -O2 -o xgload tests/tools/xgload.c`.
 *
 * One thread, one level-triggered epoll set (churn and syn can fork -j
 * workers that share the connection numbers).  `serve` accepts on every
 * address x port and reads (optionally writes) until the peer closes; the
 * client modes (`hold`, `churn`, `bandwidth`, `syn`) open
 * connection i from source i mod |sources| to port i mod |ports|, so a
 * test knows exactly which address made how many flows.  Source addresses
 * are a comma-separated list of addresses and FIRST-LAST ranges, kept as
 * ranges and indexed (never expanded), so a million spoofed sources cost
 * nothing.  Sources are bound with IP_BIND_ADDRESS_NO_PORT, which lets the
 * kernel choose the port per 4-tuple rather than per address: a source can
 * then make one flow per free port to each destination.
 *
 * Bounds: every run ends after --seconds (default 30, at most 3600) or on
 * SIGINT/SIGTERM, whichever is first, and client modes also stop after
 * --count connections; in-flight connections are never waited for past
 * that.  A connection that neither completes nor fails within --timeout
 * is counted as a timeout and closed.  The result is one line of key=value
 * pairs on stdout (values never contain spaces); progress lines that tests
 * wait for ("listening", "established=", "sent=") go to stderr.  The exit
 * status is 0 when every connection did what it was asked, 1 when some
 * failed or timed out, 2 on a usage or set-up error.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, strerrorname_np: a bare `cc` build */
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT		19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT	75
#endif

#define MAX_PORTS	64
#define MAX_LISTEN	256		/* addresses x ports in serve */
#define MAX_RANGES	4096
#define MAX_RANGE_LEN	(UINT64_C(1) << 32)
#define MAX_SECONDS	3600.0
#define MAX_COUNT	(UINT64_C(100000000))
#define MAX_ERRNOS	8
#define MAX_JOBS	64
#define MAX_ADDRS_PRINT	(UINT64_C(1) << 24)
#define IOBUF_SIZE	(64 * 1024)
#define NEVENTS		256
#define TICK_US		100000		/* housekeeping: timeouts, pauses */

#define TAG_SIGNAL	UINT64_MAX
#define TAG_LISTEN	(UINT64_C(1) << 62)

enum mode {
	MODE_NONE,
	MODE_SERVE,
	MODE_HOLD,
	MODE_CHURN,
	MODE_BANDWIDTH,
	MODE_SYN,
	MODE_ADDRS
};

static const char *const mode_names[] = {
	"", "serve", "hold", "churn", "bandwidth", "syn", "addrs"
};

/* A run of consecutive addresses; `base` is its first index in the spec. */
struct range {
	int		 af;
	uint8_t		 first[16];	/* network order; IPv4 in [0..3] */
	uint64_t	 count;
	uint64_t	 base;
};

struct spec {
	struct range	 r[MAX_RANGES];
	size_t		 nr;
	uint64_t	 total;
};

struct opts {
	enum mode	 mode;
	struct spec	 src;		/* -s; empty: the kernel chooses */
	struct spec	 listen;	/* -l */
	struct sockaddr_storage dst;	/* -d, port 0 */
	int		 dst_set;
	uint16_t	 ports[MAX_PORTS];
	size_t		 nports;
	uint64_t	 count;
	double		 rate;		/* per second; 0 is unlimited */
	double		 seconds;
	double		 timeout;
	uint64_t	 window;	/* connections in flight */
	uint64_t	 bytes;		/* bandwidth: bytes to push */
	uint64_t	 send;		/* bytes each connection sends */
	int		 send_set;
	int		 spoof;
	int		 fast_close;
	int		 backlog;
	uint64_t	 jobs;		/* worker processes */
};

/* A client connection slot. */
enum cstate {
	CS_FREE,
	CS_CONNECTING,
	CS_SENDING,
	CS_DRAINING,	/* our FIN is out, reading until the peer's */
	CS_OPEN		/* hold/bandwidth: established, kept open */
};

struct conn {
	int		 fd;
	enum cstate	 state;
	uint32_t	 events;	/* what epoll reports for it */
	uint64_t	 left;		/* bytes still to send */
	int64_t		 deadline;	/* µs; 0 for none */
};

struct stats {
	uint64_t	 started;
	uint64_t	 ok;
	uint64_t	 failed;
	uint64_t	 timeouts;
	uint64_t	 peer_closed;
	uint64_t	 bytes_out;
	uint64_t	 bytes_in;
	uint64_t	 unfinished;	/* in flight when the run ended */
	int64_t		 t_last;	/* µs from start to the last completion */
	int		 err[MAX_ERRNOS];
	uint64_t	 nerr[MAX_ERRNOS];
	uint64_t	 err_other;
};

static struct opts	 o;
static struct stats	 st;
static uint64_t		 worker;	/* this process's share: connections */
static uint64_t		 nworkers = 1;	/* i = k * nworkers + worker */
static int		 epfd = -1;
static int		 sigfd = -1;
static int64_t		 t_start;
static int64_t		 t_end;		/* the hard deadline */
static int		 stopping;	/* SIGINT or SIGTERM came */
static int		 want_report;
static char		 iobuf[IOBUF_SIZE];	/* what we send */
static char		 rxbuf[IOBUF_SIZE];	/* what we discard */

static void usage(void) __attribute__((noreturn));
static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
usage(void)
{
	fprintf(stderr,
"usage: xgload serve -l ADDR[,ADDR...] -p PORT[,PORT...] [--send BYTES]\n"
"              [--backlog N] [--seconds S]\n"
"       xgload hold -d DST -p PORT[,...] -n N [-s SOURCES] [--send BYTES]\n"
"              [--rate R] [--seconds S]\n"
"       xgload churn -d DST -p PORT[,...] -n N [-s SOURCES] [--rate R]\n"
"              [--send BYTES] [--fast-close] [-j JOBS] [--seconds S]\n"
"       xgload bandwidth -d DST -p PORT --bytes B [--rate BYTES/s]\n"
"              [-s SOURCE] --seconds S\n"
"       xgload syn -d DST -p PORT[,...] -n N -s SOURCES [--spoof] [--rate R]\n"
"              [-j JOBS]\n"
"       xgload addrs -s SOURCES\n"
"\n"
"SOURCES: comma-separated addresses and FIRST-LAST ranges, IPv4 or IPv6,\n"
"  e.g. 198.51.100.1-198.51.100.200 or 2001:db8:1::1-2001:db8:1::ff;\n"
"  connection i uses source i mod |SOURCES| and port i mod |PORTS|.\n"
"Common: -c/--concurrency N connections in flight (default 256),\n"
"  -t/--seconds S hard limit on the run (default 30, at most 3600),\n"
"  --timeout S per connection (default 5), -j/--jobs N worker processes\n"
"  sharing the work (churn, syn).  Sizes take k, m, g (1024); rates may\n"
"  end in /s.\n"
"serve: reads and discards; --send sends BYTES on each connection; closes\n"
"  when the client does.  SIGUSR1 prints the summary and goes on.\n"
"hold: opens N connections and keeps them open until S seconds after start.\n"
"churn: each connection completes its handshake, sends --send bytes\n"
"  (default 16), shuts down its side and waits for the server's close\n"
"  (--fast-close: closes at once).\n"
"bandwidth: one connection pushes B bytes at --rate, then stays open\n"
"  until S seconds after start.\n"
"syn: one SYN per connection, never completed: the socket is closed right\n"
"  after connect(2), so the test must keep the server's SYN-ACK from\n"
"  reaching a live socket (drop it, or use --spoof: IP_TRANSPARENT sends\n"
"  from addresses that exist nowhere, so the SYN-ACK goes nowhere).\n"
"addrs: prints every address of SOURCES, one a line.\n"
"Output: one line of key=value pairs on stdout.\n");
	exit(2);
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("xgload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double
elapsed_s(int64_t t)
{
	return (double)(t - t_start) / 1e6;
}

/* Address specs. */

static int
addr_parse(const char *s, int *af, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*af = AF_INET6;
		return 0;
	}
	return -1;
}

/* b - a over the address's bytes, or UINT64_MAX if negative or too big. */
static uint64_t
addr_diff(int af, const uint8_t a[16], const uint8_t b[16])
{
	size_t		len = af == AF_INET ? 4 : 16, i;
	uint8_t		d[16];
	int		borrow = 0, v;
	uint64_t	r = 0;

	for (i = len; i-- > 0;) {
		v = b[i] - a[i] - borrow;
		borrow = v < 0;
		d[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
	if (borrow)
		return UINT64_MAX;
	for (i = 0; i < len; i++) {
		if (i + 8 < len && d[i] != 0)
			return UINT64_MAX;
		r = r << 8 | d[i];
	}
	return r;
}

static void
addr_add(int af, uint8_t a[16], uint64_t off)
{
	size_t		i = af == AF_INET ? 4 : 16;
	unsigned int	carry = 0, v;

	while (i-- > 0 && (off != 0 || carry != 0)) {
		v = a[i] + (unsigned int)(off & 0xff) + carry;
		a[i] = (uint8_t)v;
		carry = v >> 8;
		off >>= 8;
	}
}

/* Parses a spec; `mixed` allows IPv4 and IPv6 in the same one. */
static void
spec_parse(struct spec *sp, const char *arg, const char *what, int mixed)
{
	char		*copy, *item, *save, *dash;
	struct range	*r;
	uint8_t		 last[16];
	uint64_t	 n;
	int		 af2;

	if ((copy = strdup(arg)) == NULL)
		die("out of memory");
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (sp->nr == MAX_RANGES)
			die("%s: more than %d items", what, MAX_RANGES);
		r = &sp->r[sp->nr];
		if ((dash = strchr(item, '-')) != NULL)
			*dash++ = '\0';
		if (addr_parse(item, &r->af, r->first) == -1)
			die("%s: not an IPv4 or IPv6 address: %s", what, item);
		n = 1;
		if (dash != NULL) {
			if (addr_parse(dash, &af2, last) == -1)
				die("%s: not an IPv4 or IPv6 address: %s",
				    what, dash);
			if (af2 != r->af)
				die("%s: %s-%s mixes IPv4 and IPv6", what,
				    item, dash);
			n = addr_diff(r->af, r->first, last);
			if (n == UINT64_MAX || n >= MAX_RANGE_LEN)
				die("%s: %s-%s is reversed or longer than "
				    "2^32", what, item, dash);
			n++;
		}
		if (!mixed && sp->nr > 0 && sp->r[0].af != r->af)
			die("%s: mixes IPv4 and IPv6", what);
		r->count = n;
		r->base = sp->total;
		sp->total += n;
		sp->nr++;
	}
	free(copy);
	if (sp->nr == 0)
		die("%s: no address", what);
}

/* The address with index i (mod the spec's size), as a sockaddr. */
static socklen_t
spec_sockaddr(const struct spec *sp, uint64_t i, uint16_t port,
    struct sockaddr_storage *ss)
{
	const struct range	*r;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	size_t			 lo = 0, hi = sp->nr, mid;
	uint8_t			 a[16];

	i %= sp->total;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (sp->r[mid].base <= i)
			lo = mid;
		else
			hi = mid;
	}
	r = &sp->r[lo];
	memcpy(a, r->first, sizeof(a));
	addr_add(r->af, a, i - r->base);
	memset(ss, 0, sizeof(*ss));
	if (r->af == AF_INET) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a, 4);
		return sizeof(*sin);
	}
	sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a, 16);
	return sizeof(*sin6);
}

static const char *
sockaddr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	char				 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	}
	return buf;
}

/* Numbers. */

static uint64_t
parse_size(const char *s, const char *what, uint64_t max)
{
	char			*end;
	unsigned long long	 v;
	uint64_t		 mul = 1;

	errno = 0;
	if (*s == '-' || (v = strtoull(s, &end, 10), errno != 0) || end == s)
		die("%s: not a number: %s", what, s);
	switch (*end) {
	case 'k': case 'K': mul = UINT64_C(1) << 10; end++; break;
	case 'm': case 'M': mul = UINT64_C(1) << 20; end++; break;
	case 'g': case 'G': mul = UINT64_C(1) << 30; end++; break;
	}
	if (strcmp(end, "/s") == 0)
		end += 2;
	if (*end != '\0')
		die("%s: trailing garbage: %s", what, s);
	if (v > max / mul)
		die("%s: %s is more than %" PRIu64, what, s, max);
	return v * mul;
}

static double
parse_seconds(const char *s, const char *what, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	/* Written so that NaN fails too. */
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		die("%s: want seconds in [%g, %g]: %s", what, min, max, s);
	return v;
}

static void
parse_ports(const char *arg)
{
	char		*copy, *item, *save;
	uint64_t	 p;

	if ((copy = strdup(arg)) == NULL)
		die("out of memory");
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (o.nports == MAX_PORTS)
			die("-p: more than %d ports", MAX_PORTS);
		p = parse_size(item, "-p", 65535);
		if (p == 0)
			die("-p: port 0");
		o.ports[o.nports++] = (uint16_t)p;
	}
	free(copy);
	if (o.nports == 0)
		die("-p: no port");
}

/* Statistics and the summary line. */

static void
stats_errors(int err, uint64_t n)
{
	int	i;

	for (i = 0; i < MAX_ERRNOS; i++) {
		if (st.err[i] == err || st.err[i] == 0) {
			st.err[i] = err;
			st.nerr[i] += n;
			return;
		}
	}
	st.err_other += n;
}

static void
stats_error(int err)
{
	stats_errors(err, 1);
}

/* Adds a worker's counts to ours. */
static void
stats_merge(const struct stats *w)
{
	int	i;

	st.started += w->started;
	st.ok += w->ok;
	st.failed += w->failed;
	st.timeouts += w->timeouts;
	st.peer_closed += w->peer_closed;
	st.bytes_out += w->bytes_out;
	st.bytes_in += w->bytes_in;
	st.unfinished += w->unfinished;
	if (w->t_last > st.t_last)
		st.t_last = w->t_last;
	for (i = 0; i < MAX_ERRNOS && w->err[i] != 0; i++)
		stats_errors(w->err[i], w->nerr[i]);
	st.err_other += w->err_other;
}

static void
print_errors(void)
{
	const char	*name;
	int		 i;

	if (st.err[0] == 0) {
		printf(" errors=none");
		return;
	}
	printf(" errors=");
	for (i = 0; i < MAX_ERRNOS && st.err[i] != 0; i++) {
		name = strerrorname_np(st.err[i]);
		if (name != NULL)
			printf("%s%s:%" PRIu64, i ? "," : "", name, st.nerr[i]);
		else
			printf("%s%d:%" PRIu64, i ? "," : "", st.err[i],
			    st.nerr[i]);
	}
	if (st.err_other != 0)
		printf(",other:%" PRIu64, st.err_other);
}

/* The event loop's plumbing. */

static void
setup_common(void)
{
	struct rlimit		rl;
	sigset_t		mask;
	struct epoll_event	ev;

	/* Each held or in-flight connection is a descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		die("sigprocmask: %s", strerror(errno));
	if ((sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		die("signalfd: %s", strerror(errno));
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_SIGNAL;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	t_start = now_us();
	t_end = t_start + (int64_t)(o.seconds * 1e6);
}

static void
signal_cb(void)
{
	struct signalfd_siginfo	si;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			want_report = 1;
		else
			stopping = 1;
	}
}

/*
 * Waits at most `until` (absolute µs; the hard deadline caps it) and
 * returns the events that are not the signalfd's, which it handles.
 */
static int
loop_wait(struct epoll_event *evs, int64_t until)
{
	int64_t	now = now_us(), wait;
	int	n, i, j;

	if (until > t_end)
		until = t_end;
	wait = until > now ? (until - now + 999) / 1000 : 0;
	if (wait > INT_MAX)
		wait = INT_MAX;
	n = epoll_wait(epfd, evs, NEVENTS, (int)wait);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		die("epoll_wait: %s", strerror(errno));
	}
	for (i = j = 0; i < n; i++) {
		if (evs[i].data.u64 == TAG_SIGNAL)
			signal_cb();
		else
			evs[j++] = evs[i];
	}
	return j;
}

static void
ep_set(int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event	ev;

	ev.events = events;
	ev.data.u64 = data;
	if (epoll_ctl(epfd, op, fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/* Bytes the data path sends: a recognisable pattern, never a secret. */
static void
iobuf_fill(void)
{
	size_t	i;

	for (i = 0; i < sizeof(iobuf); i++)
		iobuf[i] = (char)('a' + i % 26);
}

/* Sends up to `*left` bytes; 0 when all or EAGAIN, -1 (errno) on error. */
static int
send_some(int fd, uint64_t *left, uint64_t budget)
{
	ssize_t	n;
	size_t	len;

	while (*left > 0 && budget > 0) {
		len = sizeof(iobuf);
		if (len > *left)
			len = (size_t)*left;
		if (len > budget)
			len = (size_t)budget;
		n = send(fd, iobuf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		*left -= (uint64_t)n;
		budget -= (uint64_t)n;
		st.bytes_out += (uint64_t)n;
	}
	return 0;
}

/*
 * Reads what is there: 1 on end of stream, 0 on EAGAIN, -1 (errno) on
 * error.  A bounded number of reads per call keeps one fast peer from
 * starving the rest; level-triggered epoll calls back for the remainder.
 */
static int
recv_some(int fd, uint64_t *count)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < 16; i++) {
		n = recv(fd, rxbuf, sizeof(rxbuf), MSG_DONTWAIT);
		if (n == 0)
			return 1;
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		*count += (uint64_t)n;
	}
	return 0;
}

/* Clients. */

static void
client_check(void)
{
	if (!o.dst_set)
		die("%s: -d DST is required", mode_names[o.mode]);
	if (o.nports == 0)
		die("%s: -p PORT is required", mode_names[o.mode]);
	if (o.src.nr > 0 && o.src.r[0].af != o.dst.ss_family)
		die("%s: sources and destination are of different families",
		    mode_names[o.mode]);
	if (o.spoof && o.src.nr == 0)
		die("%s: --spoof needs -s SOURCES", mode_names[o.mode]);
}

/*
 * Starts connection i: a non-blocking socket from source i to port i.
 * Returns the descriptor, or -1 with errno set.  When a non-blocking TCP
 * connect returns EINPROGRESS its SYN has been handed to the device.
 */
static int
client_open(uint64_t i)
{
	struct sockaddr_storage	 src, dst;
	socklen_t		 slen, dlen;
	int			 fd, on = 1, af = o.dst.ss_family, save, r;
	uint16_t		 port = o.ports[i % o.nports];

	memcpy(&dst, &o.dst, sizeof(dst));
	if (af == AF_INET) {
		((struct sockaddr_in *)&dst)->sin_port = htons(port);
		dlen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&dst)->sin6_port = htons(port);
		dlen = sizeof(struct sockaddr_in6);
	}
	fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (o.src.nr > 0) {
		slen = spec_sockaddr(&o.src, i, 0, &src);
		/* Choose the port at connect(2), per 4-tuple. */
		if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
		    sizeof(on)) == -1)
			goto fail;
		if (o.spoof) {
			/* Lets bind(2) and the route take a foreign source. */
			if (af == AF_INET)
				r = setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT,
				    &on, sizeof(on));
			else
				r = setsockopt(fd, IPPROTO_IPV6,
				    IPV6_TRANSPARENT, &on, sizeof(on));
			if (r == -1)
				goto fail;
		}
		if (bind(fd, (struct sockaddr *)&src, slen) == -1)
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&dst, dlen) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	save = errno;
	close(fd);
	errno = save;
	return -1;
}

/*
 * The outcome of a connect: 0 once the handshake completed, else the
 * error.  Call only when epoll reported the socket writable or in error.
 */
static int
client_connected(int fd)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/* How many connections may have started by now at --rate. */
static uint64_t
rate_due(int64_t now)
{
	double	due;

	if (o.rate <= 0)
		return UINT64_MAX;
	due = o.rate * elapsed_s(now) + 1;	/* truncated: floor */
	return due >= 1.8e19 ? UINT64_MAX : (uint64_t)due;
}

/* When connection number `started` is due at --rate (absolute µs). */
static int64_t
rate_next(uint64_t started)
{
	return t_start + (int64_t)((double)started / o.rate * 1e6) + 1;
}

/*
 * A fixed set of connection slots and a stack of the free ones, so
 * starting and finishing a connection are O(1); the slot's index is its
 * epoll data.
 */
struct pool {
	struct conn	*cs;
	uint64_t	 n;
	uint64_t	*freel;
	uint64_t	 nfree;
	uint64_t	 active;
	uint64_t	 connecting;
};

static void
pool_init(struct pool *p, uint64_t n)
{
	uint64_t	i;

	p->n = n;
	p->cs = calloc(n, sizeof(*p->cs));
	p->freel = calloc(n, sizeof(*p->freel));
	if (p->cs == NULL || p->freel == NULL)
		die("out of memory for %" PRIu64 " connections", n);
	for (i = 0; i < n; i++) {
		p->cs[i].fd = -1;
		p->freel[i] = n - 1 - i;
	}
	p->nfree = n;
	p->active = p->connecting = 0;
}

/* Starts connection number st.started in a free slot; counts failures. */
static void
pool_start(struct pool *p, int64_t now)
{
	struct conn	*c;
	uint64_t	 idx;
	int		 fd;

	st.started++;
	if ((fd = client_open((st.started - 1) * nworkers + worker)) == -1) {
		st.failed++;
		stats_error(errno);
		return;
	}
	idx = p->freel[--p->nfree];
	c = &p->cs[idx];
	c->fd = fd;
	c->state = CS_CONNECTING;
	c->events = EPOLLOUT;
	c->left = 0;
	c->deadline = now + (int64_t)(o.timeout * 1e6);
	ep_set(EPOLL_CTL_ADD, fd, c->events, idx);
	p->active++;
	p->connecting++;
}

static void
pool_put(struct pool *p, struct conn *c)
{
	if (c->state == CS_CONNECTING)
		p->connecting--;
	close(c->fd);
	c->fd = -1;
	c->state = CS_FREE;
	p->freel[p->nfree++] = (uint64_t)(c - p->cs);
	p->active--;
}

static void
pool_fail(struct pool *p, struct conn *c, int err)
{
	st.failed++;
	stats_error(err);
	pool_put(p, c);
}

/* Closes the connections whose --timeout passed, and counts them. */
static void
pool_expire(struct pool *p, int64_t now)
{
	struct conn	*c;
	uint64_t	 i;

	for (i = 0; i < p->n; i++) {
		c = &p->cs[i];
		if (c->state == CS_FREE || c->deadline == 0 ||
		    c->deadline > now)
			continue;
		st.timeouts++;
		pool_put(p, c);
	}
}

static void
pool_free(struct pool *p)
{
	uint64_t	i;

	for (i = 0; i < p->n; i++)
		if (p->cs[i].fd != -1)
			close(p->cs[i].fd);
	free(p->cs);
	free(p->freel);
}

/* Sets what epoll reports for a live connection, if that changed. */
static void
conn_want(struct pool *p, struct conn *c, uint32_t events)
{
	if (c->state == CS_FREE || c->events == events)
		return;
	c->events = events;
	ep_set(EPOLL_CTL_MOD, c->fd, events, (uint64_t)(c - p->cs));
}

/*
 * Starts connections while --count, --rate and --concurrency allow and
 * returns when the next one is due (absolute µs), or `tick` if sooner.
 * `inflight` is what --concurrency limits: every live connection for
 * churn, only those still in their handshake for hold.
 */
static int64_t
pool_fill(struct pool *p, int64_t now, const uint64_t *inflight,
    int64_t tick)
{
	uint64_t	due = rate_due(now);
	int64_t		next;

	if (due > o.count)
		due = o.count;
	while (st.started < due && p->nfree > 0 && *inflight < o.window)
		pool_start(p, now);
	if (st.started < o.count && *inflight < o.window && o.rate > 0 &&
	    (next = rate_next(st.started)) < tick)
		return next;
	return tick;
}

/*
 * churn: each connection completes its handshake, sends its payload,
 * shuts down its side and reads until the server's FIN, so both
 * directions close cleanly and the flow ends in TIME_WAIT on the client as
 * a real client's does.  --fast-close leaves the FIN exchange to the
 * kernel after close(2), which frees the slot one round trip sooner.
 */
static void
churn_event(struct pool *p, struct conn *c)
{
	int	err, r;

	switch (c->state) {
	case CS_CONNECTING:
		if ((err = client_connected(c->fd)) != 0) {
			pool_fail(p, c, err);
			return;
		}
		p->connecting--;
		c->state = CS_SENDING;
		c->left = o.send;
		/* FALLTHROUGH */
	case CS_SENDING:
		if (send_some(c->fd, &c->left, UINT64_MAX) == -1) {
			pool_fail(p, c, errno);
			return;
		}
		if (c->left > 0) {
			conn_want(p, c, EPOLLOUT);
			return;
		}
		if (o.fast_close) {
			st.ok++;
			pool_put(p, c);
			return;
		}
		if (shutdown(c->fd, SHUT_WR) == -1) {
			pool_fail(p, c, errno);
			return;
		}
		c->state = CS_DRAINING;
		conn_want(p, c, EPOLLIN);
		return;
	case CS_DRAINING:
		if ((r = recv_some(c->fd, &st.bytes_in)) == 0)
			return;
		if (r == -1) {
			pool_fail(p, c, errno);
			return;
		}
		st.ok++;
		pool_put(p, c);
		return;
	default:
		return;
	}
}

static void
churn_loop(void)
{
	struct epoll_event	 evs[NEVENTS];
	struct pool		 p;
	struct conn		*c;
	int64_t			 now, until, tick;
	int			 n, i;

	pool_init(&p, o.window);
	tick = t_start + TICK_US;
	for (;;) {
		now = now_us();
		if (stopping || now >= t_end)
			break;
		if (st.started == o.count && p.active == 0)
			break;
		if (now >= tick) {
			pool_expire(&p, now);
			tick = now + TICK_US;
		}
		until = pool_fill(&p, now, &p.active, tick);
		n = loop_wait(evs, until);
		for (i = 0; i < n; i++) {
			c = &p.cs[evs[i].data.u64];
			if (c->state == CS_FREE)
				continue;
			churn_event(&p, c);
			if (c->state == CS_FREE)
				st.t_last = now_us() - t_start;
		}
	}
	st.unfinished = p.active;
	pool_free(&p);
}

static int
churn_report(void)
{
	printf("mode=churn started=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64
	    " timeouts=%" PRIu64 " unfinished=%" PRIu64 " seconds=%.3f"
	    " rate=%.1f bytes_out=%" PRIu64 " bytes_in=%" PRIu64 " jobs=%"
	    PRIu64, st.started, st.ok, st.failed, st.timeouts, st.unfinished,
	    elapsed_s(now_us()), st.t_last > 0 ?
	    (double)st.ok * 1e6 / (double)st.t_last : 0.0, st.bytes_out,
	    st.bytes_in, o.jobs);
	print_errors();
	printf("\n");
	return st.ok == o.count ? 0 : 1;
}

/*
 * hold: all N connections stay open, each in its own slot; --concurrency
 * limits only the handshakes in flight, so a burst does not overflow the
 * server's accept queue.  Whatever the server sends is read and counted;
 * a connection the server closes is counted as peer_closed.
 */
static void
hold_event(struct pool *p, struct conn *c, uint32_t events)
{
	int	err, r;

	if (c->state == CS_CONNECTING) {
		if ((err = client_connected(c->fd)) != 0) {
			pool_fail(p, c, err);
			return;
		}
		p->connecting--;
		st.ok++;
		c->deadline = 0;
		c->state = CS_SENDING;
		c->left = o.send;
		events = EPOLLOUT;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		r = recv_some(c->fd, &st.bytes_in);
		if (r != 0) {
			st.peer_closed++;
			if (r == -1)
				stats_error(errno);
			pool_put(p, c);
			return;
		}
	}
	if (c->state == CS_SENDING && (events & EPOLLOUT)) {
		if (send_some(c->fd, &c->left, UINT64_MAX) == -1) {
			st.peer_closed++;
			stats_error(errno);
			pool_put(p, c);
			return;
		}
		if (c->left == 0)
			c->state = CS_OPEN;
	}
	conn_want(p, c, c->state == CS_SENDING ? EPOLLIN | EPOLLOUT :
	    EPOLLIN);
}

static int
run_hold(void)
{
	struct epoll_event	 evs[NEVENTS];
	struct pool		 p;
	struct conn		*c;
	struct rlimit		 rl;
	int64_t			 now, until, tick, t_up = 0;
	int			 n, i, announced = 0;

	client_check();
	if (o.count == 0)
		die("hold: -n N is required");
	setup_common();
	/* Every held connection is a descriptor: fail now, not halfway. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    o.count + 16 > (uint64_t)rl.rlim_cur)
		die("hold: %" PRIu64 " connections, but only %llu descriptors",
		    o.count, (unsigned long long)rl.rlim_cur);
	pool_init(&p, o.count);
	tick = t_start + TICK_US;
	for (;;) {
		now = now_us();
		if (stopping || now >= t_end)
			break;
		if (now >= tick) {
			pool_expire(&p, now);
			tick = now + TICK_US;
		}
		until = pool_fill(&p, now, &p.connecting, tick);
		if (!announced && st.started == o.count && p.connecting == 0) {
			/* Tests wait for this line before they look. */
			t_up = now;
			fprintf(stderr, "xgload: hold: established=%" PRIu64
			    " failed=%" PRIu64 " timeouts=%" PRIu64
			    " seconds=%.3f\n", st.ok, st.failed, st.timeouts,
			    elapsed_s(now));
			announced = 1;
		}
		n = loop_wait(evs, until);
		for (i = 0; i < n; i++) {
			c = &p.cs[evs[i].data.u64];
			if (c->state != CS_FREE)
				hold_event(&p, c, evs[i].events);
		}
	}
	now = now_us();
	printf("mode=hold started=%" PRIu64 " established=%" PRIu64
	    " failed=%" PRIu64 " timeouts=%" PRIu64 " peer_closed=%" PRIu64
	    " open_at_end=%" PRIu64 " up_seconds=%.3f seconds=%.3f"
	    " bytes_out=%" PRIu64 " bytes_in=%" PRIu64,
	    st.started, st.ok, st.failed, st.timeouts, st.peer_closed,
	    p.active - p.connecting, t_up ? elapsed_s(t_up) : -1.0,
	    elapsed_s(now), st.bytes_out, st.bytes_in);
	print_errors();
	printf("\n");
	pool_free(&p);
	return st.ok == o.count && st.peer_closed == 0 ? 0 : 1;
}

/*
 * bandwidth: one connection pushes --bytes at --rate (a byte schedule:
 * by time t it may have sent rate * t bytes), then stays open until the
 * deadline, so a test sees the hog while its flow is still live.
 */
static int
run_bandwidth(void)
{
	struct epoll_event	 evs[NEVENTS];
	struct pool		 p;
	struct conn		*c;
	int64_t			 now, until, t_conn = 0, t_sent = 0, tick;
	uint64_t		 allowed, budget;
	double			 a;
	int			 n, i, err, r, done = 0;

	client_check();
	if (o.bytes == 0)
		die("bandwidth: --bytes B is required");
	o.count = 1;
	pool_init(&p, 1);
	setup_common();
	tick = t_start + TICK_US;
	pool_start(&p, t_start);
	c = &p.cs[0];
	while (!done) {
		now = now_us();
		if (stopping || now >= t_end || c->state == CS_FREE)
			break;
		if (now >= tick) {
			pool_expire(&p, now);
			tick = now + TICK_US;
			continue;
		}
		until = tick;
		if (c->state == CS_SENDING && o.rate > 0) {
			/* Bytes due by now, less what went out. */
			a = o.rate * (double)(now - t_conn) / 1e6;
			allowed = a >= (double)o.bytes ? o.bytes :
			    (uint64_t)a;
			budget = allowed > o.bytes - c->left ?
			    allowed - (o.bytes - c->left) : 0;
			if (budget == 0) {
				until = now + 1000;
				conn_want(&p, c, EPOLLIN);
			} else
				conn_want(&p, c, EPOLLIN | EPOLLOUT);
		}
		n = loop_wait(evs, until);
		for (i = 0; i < n; i++) {
			if (c->state == CS_CONNECTING) {
				if ((err = client_connected(c->fd)) != 0) {
					pool_fail(&p, c, err);
					break;
				}
				p.connecting--;
				st.ok++;
				t_conn = now_us();
				c->deadline = 0;
				c->state = CS_SENDING;
				c->left = o.bytes;
				conn_want(&p, c, EPOLLIN | EPOLLOUT);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				if ((r = recv_some(c->fd, &st.bytes_in)) != 0) {
					st.peer_closed++;
					if (r == -1)
						stats_error(errno);
					pool_put(&p, c);
					break;
				}
			}
			if (c->state != CS_SENDING ||
			    !(evs[i].events & EPOLLOUT))
				continue;
			budget = UINT64_MAX;
			if (o.rate > 0) {
				a = o.rate * (double)(now_us() - t_conn) / 1e6;
				allowed = a >= (double)o.bytes ? o.bytes :
				    (uint64_t)a;
				budget = allowed > o.bytes - c->left ?
				    allowed - (o.bytes - c->left) : 0;
			}
			if (send_some(c->fd, &c->left, budget) == -1) {
				st.peer_closed++;
				stats_error(errno);
				pool_put(&p, c);
				break;
			}
			if (c->left == 0) {
				t_sent = now_us();
				c->state = CS_OPEN;
				conn_want(&p, c, EPOLLIN);
				fprintf(stderr, "xgload: bandwidth: sent=%"
				    PRIu64 " seconds=%.3f\n", o.bytes,
				    (double)(t_sent - t_conn) / 1e6);
			}
		}
	}
	now = now_us();
	printf("mode=bandwidth established=%" PRIu64 " failed=%" PRIu64
	    " timeouts=%" PRIu64 " peer_closed=%" PRIu64 " bytes_out=%" PRIu64
	    " bytes_in=%" PRIu64 " send_seconds=%.3f rate=%.0f seconds=%.3f",
	    st.ok, st.failed, st.timeouts, st.peer_closed, st.bytes_out,
	    st.bytes_in, t_sent ? (double)(t_sent - t_conn) / 1e6 : -1.0,
	    t_sent > t_conn ? (double)st.bytes_out /
	    ((double)(t_sent - t_conn) / 1e6) : 0.0, elapsed_s(now));
	print_errors();
	printf("\n");
	pool_free(&p);
	return st.bytes_out == o.bytes && st.peer_closed == 0 ? 0 : 1;
}

/*
 * syn: connect(2) puts the SYN on the wire and close(2) drops the socket
 * in SYN_SENT without sending anything, so each connection is one SYN
 * that nothing ever completes, provided the SYN-ACK finds no live socket:
 * the test drops it, or --spoof makes the source an address that exists
 * nowhere (IP_TRANSPARENT; needs CAP_NET_ADMIN), so the SYN-ACK is routed
 * into a namespace that discards it, as it would be for a real spoofer.
 * Not waiting keeps the descriptor count at one whatever N is.
 */
static void
syn_loop(void)
{
	struct epoll_event	evs[NEVENTS];
	int64_t			now, until;
	uint64_t		due, burst;
	int			fd;

	while (st.started < o.count) {
		now = now_us();
		if (stopping || now >= t_end)
			break;
		due = rate_due(now);
		if (due > o.count)
			due = o.count;
		/* In bursts, so that signals and the deadline are seen. */
		for (burst = 0; st.started < due && burst < 4096; burst++) {
			st.started++;
			fd = client_open((st.started - 1) * nworkers + worker);
			if (fd == -1) {
				st.failed++;
				stats_error(errno);
			} else {
				st.ok++;
				close(fd);
			}
		}
		until = now_us();
		if (st.started == due && o.rate > 0)
			until = rate_next(st.started);
		(void)loop_wait(evs, until);
	}
	st.t_last = now_us() - t_start;
}

static int
syn_report(void)
{
	printf("mode=syn started=%" PRIu64 " sent=%" PRIu64 " failed=%" PRIu64
	    " seconds=%.3f rate=%.1f jobs=%" PRIu64, st.started, st.ok,
	    st.failed, elapsed_s(now_us()), st.t_last > 0 ?
	    (double)st.ok * 1e6 / (double)st.t_last : 0.0, o.jobs);
	print_errors();
	printf("\n");
	return st.ok == o.count ? 0 : 1;
}

/*
 * One core's worth of connect(2) is the limit of a single process (the
 * kernel does the server's side of a veth or loopback hop in the
 * sender's context), so -j splits the work: worker k makes connections
 * k, k + j, k + 2j, ... (the same sources and ports as one process would)
 * at rate R / j, and leaves its counts in a shared page; the parent
 * forwards SIGINT/SIGTERM, reaps, adds up and reports.
 */
static int
run_jobs(void (*loop)(void), int (*report)(void))
{
	struct epoll_event	 evs[NEVENTS];
	struct stats		*shared;
	pid_t			 pids[MAX_JOBS], pid;
	uint64_t		 k, count = o.count, alive = 0;
	int64_t			 net;
	int			 status, killed = 0;

	if (o.jobs <= 1) {
		setup_common();
		loop();
		return report();
	}
	shared = mmap(NULL, sizeof(*shared) * o.jobs, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	setup_common();
	fflush(NULL);
	for (k = 0; k < o.jobs; k++) {
		if ((pid = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			close(epfd);
			close(sigfd);
			worker = k;
			nworkers = o.jobs;
			o.count = count / o.jobs + (k < count % o.jobs);
			o.rate /= (double)o.jobs;
			setup_common();
			loop();
			shared[k] = st;
			_exit(0);
		}
		pids[k] = pid;
		alive++;
	}
	/* Workers end by themselves at the deadline; this is a net. */
	net = t_end + 2000000;
	t_end = INT64_MAX;
	while (alive > 0) {
		(void)loop_wait(evs, now_us() + TICK_US / 10);
		if ((stopping && !killed) || (now_us() > net && killed < 2)) {
			for (k = 0; k < o.jobs; k++)
				if (pids[k] != 0)
					kill(pids[k], killed ? SIGKILL :
					    SIGTERM);
			killed++;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (k = 0; k < o.jobs; k++)
				if (pids[k] == pid)
					pids[k] = 0;
			alive--;
		}
	}
	for (k = 0; k < o.jobs; k++)
		stats_merge(&shared[k]);
	munmap(shared, sizeof(*shared) * o.jobs);
	return report();
}

/* Server. */

struct sconn {
	uint64_t	 left;		/* bytes still to send */
	uint32_t	 events;
	uint8_t		 used;
	uint8_t		 eof;		/* the client closed its side */
};

static struct sconn	*sc;		/* indexed by descriptor */
static size_t		 nsc;
static int		 lfds[MAX_LISTEN];
static size_t		 nlfds;
static struct {
	uint64_t	 accepted;
	uint64_t	 closed;
	uint64_t	 reset;
	uint64_t	 active;
	uint64_t	 max_active;
	uint64_t	 accept_errors;
} sv;

static void
serve_listen(const struct sockaddr_storage *ss, socklen_t len)
{
	char	buf[INET6_ADDRSTRLEN + 16];
	int	fd, on = 1;

	if (nlfds == MAX_LISTEN)
		die("serve: more than %d listeners", MAX_LISTEN);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		die("SO_REUSEADDR: %s", strerror(errno));
	if (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		die("IPV6_V6ONLY: %s", strerror(errno));
	if (bind(fd, (const struct sockaddr *)ss, len) == -1)
		die("bind %s: %s", sockaddr_str(ss, buf, sizeof(buf)),
		    strerror(errno));
	if (listen(fd, o.backlog) == -1)
		die("listen %s: %s", sockaddr_str(ss, buf, sizeof(buf)),
		    strerror(errno));
	ep_set(EPOLL_CTL_ADD, fd, EPOLLIN, TAG_LISTEN | nlfds);
	lfds[nlfds++] = fd;
}

/* Stops or resumes accepting, while descriptors are short. */
static void
serve_pause(int pause)
{
	size_t	i;

	for (i = 0; i < nlfds; i++)
		ep_set(EPOLL_CTL_MOD, lfds[i], pause ? 0 : EPOLLIN,
		    TAG_LISTEN | i);
}

static void
serve_close(int fd, int reset)
{
	close(fd);
	sc[fd].used = 0;
	sv.active--;
	if (reset)
		sv.reset++;
	else
		sv.closed++;
}

static void
serve_want(int fd, uint32_t events)
{
	if (sc[fd].events != events) {
		sc[fd].events = events;
		ep_set(EPOLL_CTL_MOD, fd, events, (uint64_t)fd);
	}
}

/* Accepts what is queued; returns -1 when out of descriptors. */
static int
serve_accept(int lfd)
{
	struct sconn	*n;
	size_t		 want;
	int		 fd, i;

	for (i = 0; i < 256; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return 0;
			sv.accept_errors++;
			stats_error(errno);
			return errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM ? -1 : 0;
		}
		if ((size_t)fd >= nsc) {
			want = nsc ? nsc : 1024;
			while (want <= (size_t)fd)
				want *= 2;
			if ((n = realloc(sc, want * sizeof(*sc))) == NULL)
				die("out of memory");
			memset(n + nsc, 0, (want - nsc) * sizeof(*sc));
			sc = n;
			nsc = want;
		}
		sv.accepted++;
		if (++sv.active > sv.max_active)
			sv.max_active = sv.active;
		sc[fd].used = 1;
		sc[fd].eof = 0;
		sc[fd].left = o.send;
		sc[fd].events = o.send ? EPOLLIN | EPOLLOUT : EPOLLIN;
		ep_set(EPOLL_CTL_ADD, fd, sc[fd].events, (uint64_t)fd);
	}
	return 0;
}

static void
serve_event(int fd, uint32_t events)
{
	struct sconn	*c = &sc[fd];
	int		 r;

	if (!c->eof && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
		r = recv_some(fd, &st.bytes_in);
		if (r == -1) {
			serve_close(fd, 1);
			return;
		}
		if (r == 1)
			c->eof = 1;
	}
	if (c->left > 0 && (events & EPOLLOUT)) {
		if (send_some(fd, &c->left, UINT64_MAX) == -1) {
			serve_close(fd, 1);
			return;
		}
	}
	/* Close when the client has, once what we owe it is out. */
	if (c->eof && c->left == 0) {
		serve_close(fd, 0);
		return;
	}
	serve_want(fd, (c->eof ? 0 : EPOLLIN) | (c->left ? EPOLLOUT : 0));
}

static void
serve_report(void)
{
	printf("mode=serve accepted=%" PRIu64 " closed=%" PRIu64 " reset=%"
	    PRIu64 " active=%" PRIu64 " max_active=%" PRIu64 " accept_errors=%"
	    PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " seconds=%.3f",
	    sv.accepted, sv.closed, sv.reset, sv.active, sv.max_active,
	    sv.accept_errors, st.bytes_in, st.bytes_out,
	    elapsed_s(now_us()));
	print_errors();
	printf("\n");
	fflush(stdout);
}

static int
run_serve(void)
{
	struct epoll_event	 evs[NEVENTS];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	uint64_t		 i, tag;
	size_t			 j;
	int64_t			 paused_until = 0;
	int			 n, k;

	if (o.listen.nr == 0)
		die("serve: -l ADDR is required");
	if (o.nports == 0)
		die("serve: -p PORT is required");
	if (o.listen.total * o.nports > MAX_LISTEN)
		die("serve: more than %d listeners", MAX_LISTEN);
	setup_common();
	for (i = 0; i < o.listen.total; i++) {
		for (j = 0; j < o.nports; j++) {
			len = spec_sockaddr(&o.listen, i, o.ports[j], &ss);
			serve_listen(&ss, len);
		}
	}
	fprintf(stderr, "xgload: serve: listening on %zu sockets\n", nlfds);
	while (!stopping && now_us() < t_end) {
		if (paused_until && now_us() >= paused_until) {
			serve_pause(0);
			paused_until = 0;
		}
		n = loop_wait(evs, paused_until ? paused_until : t_end);
		if (want_report) {
			serve_report();
			want_report = 0;
		}
		for (k = 0; k < n; k++) {
			tag = evs[k].data.u64;
			if (tag & TAG_LISTEN) {
				if (paused_until)
					continue;
				if (serve_accept(lfds[tag & ~TAG_LISTEN]) ==
				    -1) {
					/* Level-triggered: would spin. */
					serve_pause(1);
					paused_until = now_us() + TICK_US;
				}
			} else if ((size_t)tag < nsc && sc[tag].used)
				serve_event((int)tag, evs[k].events);
		}
	}
	serve_report();
	for (j = 0; j < nsc; j++)
		if (sc[j].used)
			close((int)j);
	for (j = 0; j < nlfds; j++)
		close(lfds[j]);
	free(sc);
	return 0;
}

static int
run_addrs(void)
{
	struct sockaddr_storage	ss;
	char			a[INET6_ADDRSTRLEN];
	uint64_t		i;
	const void		*p;

	if (o.src.nr == 0)
		die("addrs: -s SOURCES is required");
	if (o.src.total > MAX_ADDRS_PRINT)
		die("addrs: more than %" PRIu64 " addresses", MAX_ADDRS_PRINT);
	for (i = 0; i < o.src.total; i++) {
		spec_sockaddr(&o.src, i, 0, &ss);
		if (ss.ss_family == AF_INET)
			p = &((struct sockaddr_in *)&ss)->sin_addr;
		else
			p = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		inet_ntop(ss.ss_family, p, a, sizeof(a));
		if (puts(a) == EOF)
			return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "listen",	required_argument, NULL, 'l' },
		{ "port",	required_argument, NULL, 'p' },
		{ "source",	required_argument, NULL, 's' },
		{ "dest",	required_argument, NULL, 'd' },
		{ "count",	required_argument, NULL, 'n' },
		{ "rate",	required_argument, NULL, 'r' },
		{ "seconds",	required_argument, NULL, 't' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "bytes",	required_argument, NULL, 'b' },
		{ "send",	required_argument, NULL, 'S' },
		{ "timeout",	required_argument, NULL, 'T' },
		{ "backlog",	required_argument, NULL, 'B' },
		{ "spoof",	no_argument,	   NULL, 'P' },
		{ "fast-close",	no_argument,	   NULL, 'F' },
		{ "jobs",	required_argument, NULL, 'j' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct spec dst;		/* 160 KiB: not on the stack */
	size_t		i;
	int		ch;

	if (argc < 2)
		usage();
	for (i = 1; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(argv[1], mode_names[i]) == 0)
			o.mode = (enum mode)i;
	if (o.mode == MODE_NONE)
		usage();
	o.seconds = 30;
	o.timeout = 5;
	o.window = 256;
	o.backlog = 4096;
	o.jobs = 1;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "l:p:s:d:n:r:t:c:b:j:h", lopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			spec_parse(&o.listen, optarg, "-l", 1);
			break;
		case 'p':
			parse_ports(optarg);
			break;
		case 's':
			spec_parse(&o.src, optarg, "-s", 0);
			break;
		case 'd':
			memset(&dst, 0, sizeof(dst));
			spec_parse(&dst, optarg, "-d", 0);
			if (dst.total != 1)
				die("-d: one address, not %s", optarg);
			spec_sockaddr(&dst, 0, 0, &o.dst);
			o.dst_set = 1;
			break;
		case 'n':
			o.count = parse_size(optarg, "-n", MAX_COUNT);
			break;
		case 'r':
			o.rate = (double)parse_size(optarg, "--rate",
			    UINT64_C(1) << 40);
			break;
		case 't':
			o.seconds = parse_seconds(optarg, "--seconds", 0.001,
			    MAX_SECONDS);
			break;
		case 'c':
			o.window = parse_size(optarg, "-c", 1 << 20);
			if (o.window == 0)
				die("-c: at least 1");
			break;
		case 'b':
			o.bytes = parse_size(optarg, "--bytes", UINT64_MAX);
			break;
		case 'S':
			o.send = parse_size(optarg, "--send", UINT64_MAX);
			o.send_set = 1;
			break;
		case 'T':
			o.timeout = parse_seconds(optarg, "--timeout", 0.001,
			    MAX_SECONDS);
			break;
		case 'B':
			o.backlog = (int)parse_size(optarg, "--backlog",
			    INT_MAX);
			break;
		case 'P':
			o.spoof = 1;
			break;
		case 'F':
			o.fast_close = 1;
			break;
		case 'j':
			o.jobs = parse_size(optarg, "-j", MAX_JOBS);
			if (o.jobs == 0)
				die("-j: at least 1");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (o.jobs > 1 && o.mode != MODE_CHURN && o.mode != MODE_SYN)
		die("-j: for churn and syn only");
	iobuf_fill();
	switch (o.mode) {
	case MODE_SERVE:
		return run_serve();
	case MODE_HOLD:
		return run_hold();
	case MODE_CHURN:
		client_check();
		if (o.count == 0)
			die("churn: -n N is required");
		if (!o.send_set)
			o.send = 16;
		return run_jobs(churn_loop, churn_report);
	case MODE_BANDWIDTH:
		return run_bandwidth();
	case MODE_SYN:
		client_check();
		if (o.count == 0)
			die("syn: -n N is required");
		return run_jobs(syn_loop, syn_report);
	case MODE_ADDRS:
		return run_addrs();
	default:
		usage();
	}
}
