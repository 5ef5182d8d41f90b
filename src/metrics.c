/*
 * Metrics: the Prometheus text format, written to a file or served over
 * HTTP.
 *
 * The writer only formats: HELP and TYPE once per family, label values
 * and help text escaped as the format says (backslash, double quote,
 * newline), numbers as integers when they are whole.  The file is written
 * beside its final name and renamed over it.  The HTTP endpoint is the
 * control socket's state machine on TCP: each client gets a slot, reads
 * one request head (at most METRICS_REQUEST_MAX bytes, within
 * METRICS_REQUEST_MS), gets the whole answer built in memory, written out
 * as the socket accepts it (all within METRICS_TIMEOUT_MS), and is
 * closed; HTTP/1.0 semantics, no keep-alive.  The slots are bounded, so a
 * flood of scrapers costs a bounded amount of memory and never blocks the
 * loop; when they are all taken, a new client takes the slot of the one
 * that has waited longest without sending its request, so that a few
 * idle connections cannot starve a real scrape (a full table of clients
 * being answered closes the new one instead).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "xmalloc.h"

struct metrics_client {
	struct metrics_server *srv;
	int		 fd;		/* -1: slot free */
	struct loop_timer *timer;
	int64_t		 since;		/* accepted, monotonic us */
	char		 req[METRICS_REQUEST_MAX + 1];
	size_t		 reqlen;
	char		*out;		/* the answer, once built */
	size_t		 outlen;
	size_t		 outoff;
};

struct metrics_server {
	struct loop	*loop;
	int		 fd;
	metrics_collect_cb cb;
	void		*arg;
	struct metrics_server_stats stats;
	struct metrics_client clients[METRICS_CLIENTS_MAX];
};

/*
 * Writing.
 */

/* Text with backslash and newline escaped, and the double quote too in
 * a label value (quote = 1). */
static void
metrics_escape(FILE *fp, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", fp);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '"' && quote)
			fputs("\\\"", fp);
		else
			fputc(*s, fp);
	}
}

static void
metrics_number(FILE *fp, double v)
{
	if (isnan(v))
		fputs("NaN", fp);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", fp);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(fp, "%.0f", v);
	else {
		/* The shortest of 15 and 17 digits that reads back as v:
		 * 6.2e-05, not 6.2000000000000003e-05. */
		char	buf[32];

		(void)snprintf(buf, sizeof buf, "%.15g", v);
		if (strtod(buf, NULL) != v)
			(void)snprintf(buf, sizeof buf, "%.17g", v);
		fputs(buf, fp);
	}
}

void
metrics_sample(struct metrics *m, enum metrics_type type, const char *name,
    const char *help, const char *label, const char *value,
    const char *label2, const char *value2, double v)
{
	if (m->sink != NULL) {
		m->sink(m->sink_arg, type, name, label, value,
		    label != NULL ? label2 : NULL,
		    label != NULL ? value2 : NULL, v);
		return;
	}
	if (strcmp(m->family, name) != 0) {
		fprintf(m->fp, "# HELP %s ", name);
		metrics_escape(m->fp, help, 0);
		fprintf(m->fp, "\n# TYPE %s %s\n", name,
		    type == METRICS_COUNTER ? "counter" : "gauge");
		snprintf(m->family, sizeof(m->family), "%s", name);
	}
	fputs(name, m->fp);
	if (label != NULL) {
		fprintf(m->fp, "{%s=\"", label);
		metrics_escape(m->fp, value, 1);
		if (label2 != NULL) {
			fprintf(m->fp, "\",%s=\"", label2);
			metrics_escape(m->fp, value2, 1);
		}
		fputs("\"}", m->fp);
	}
	fputc(' ', m->fp);
	metrics_number(m->fp, v);
	fputc('\n', m->fp);
}

void
metrics_counter(struct metrics *m, const char *name, const char *help,
    uint64_t v)
{
	metrics_sample(m, METRICS_COUNTER, name, help, NULL, NULL, NULL, NULL,
	    (double)v);
}

void
metrics_gauge(struct metrics *m, const char *name, const char *help,
    double v)
{
	metrics_sample(m, METRICS_GAUGE, name, help, NULL, NULL, NULL, NULL,
	    v);
}

char *
metrics_render(metrics_collect_cb cb, void *arg, size_t *lenp)
{
	struct metrics	 m;
	char		*buf = NULL;
	size_t		 len = 0;

	memset(&m, 0, sizeof(m));
	if ((m.fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	cb(&m, arg);
	if (ferror(m.fp)) {
		fclose(m.fp);
		free(buf);
		return NULL;
	}
	if (fclose(m.fp) == EOF) {
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

int
metrics_write_file(const char *path, metrics_collect_cb cb, void *arg,
    char **cause)
{
	char		 tmp[PATH_MAX], *body;
	const char	*slash;
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 fd, dirlen;

	/* ".NAME.tmp" in the same directory: the textfile collector reads
	 * *.prom only, and rename() is atomic within a file system. */
	slash = strrchr(path, '/');
	dirlen = slash != NULL ? (int)(slash - path + 1) : 0;
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp", dirlen, path,
	    path + dirlen) >= (int)sizeof(tmp)) {
		*cause = xasprintf("%s: path too long", path);
		return -1;
	}
	if ((body = metrics_render(cb, arg, &len)) == NULL) {
		*cause = xasprintf("%s: out of memory", path);
		return -1;
	}
	(void)unlink(tmp);	/* left by a crash */
	/* 0644 whatever the umask (the unit's is 0027): the collector runs
	 * as another user, and the counters hold no addresses. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1 || fchmod(fd, 0644) == -1) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		if (fd != -1) {
			close(fd);
			(void)unlink(tmp);
		}
		free(body);
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, body + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	free(body);
	if (off < len || close(fd) == -1) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		if (off < len)
			close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		*cause = xasprintf("rename %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
metrics_parse_listen(const char *s, char *addr, size_t size, uint16_t *port)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*colon, *p;
	size_t		 alen;
	char		*end;
	unsigned long	 n;

	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return -1;
		s++;
		alen = (size_t)(p - s);
		colon = p + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		alen = (size_t)(colon - s);
	}
	if (alen == 0 || alen >= size)
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &a4) != 1 &&
	    inet_pton(AF_INET6, addr, &a6) != 1)
		return -1;
	errno = 0;
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	n = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0 || n > 65535)
		return -1;
	*port = (uint16_t)n;
	return 0;
}

/*
 * The HTTP endpoint.
 */

static void
metrics_client_close(struct metrics_client *c)
{
	struct loop	*loop = c->srv->loop;

	loop_fd_del(loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->timer != NULL)
		loop_timer_del(loop, c->timer);
	c->timer = NULL;
	free(c->out);
	c->out = NULL;
	c->reqlen = c->outlen = c->outoff = 0;
}

static int64_t
metrics_client_timeout_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct metrics_client	*c = arg;

	(void)loop;
	(void)t;
	c->timer = NULL;	/* LOOP_TIMER_DONE frees it */
	c->srv->stats.bad++;
	metrics_client_close(c);
	return LOOP_TIMER_DONE;
}

/*
 * "GET /metrics HTTP/1.1": the method, the path, no query.  The head is
 * read as a C string, up to its first NUL if it holds one.
 */
enum metrics_req
metrics_request_parse(const char *buf, size_t len, int *head)
{
	const char	*end, *t;
	size_t		 n = strnlen(buf, len), tlen;

	*head = 0;
	if (memmem(buf, n, "\r\n\r\n", 4) == NULL &&
	    memmem(buf, n, "\n\n", 2) == NULL)
		return METRICS_REQ_MORE;
	if (n >= 5 && memcmp(buf, "HEAD ", 5) == 0)
		*head = 1;
	else if (n < 4 || memcmp(buf, "GET ", 4) != 0)
		return METRICS_REQ_BAD_METHOD;
	t = buf + (*head ? 5 : 4);
	end = buf + n;
	for (tlen = 0; t + tlen < end && t[tlen] != ' ' && t[tlen] != '\r' &&
	    t[tlen] != '\n' && t[tlen] != '?'; tlen++)
		;
	if ((tlen == 8 && memcmp(t, "/metrics", 8) == 0) ||
	    (tlen == 1 && t[0] == '/'))
		return METRICS_REQ_OK;
	return METRICS_REQ_NOT_FOUND;
}

/* The answer to what the request head asked, built whole. */
static void
metrics_client_answer(struct metrics_client *c, enum metrics_req req,
    int head)
{
	const char	*status = "200 OK", *ctype;
	char		*body = NULL;
	size_t		 blen = 0;

	ctype = "text/plain; version=0.0.4; charset=utf-8";
	if (req == METRICS_REQ_BAD_METHOD)
		status = "405 Method Not Allowed";
	else if (req == METRICS_REQ_NOT_FOUND)
		status = "404 Not Found";
	if (strcmp(status, "200 OK") == 0 &&
	    (body = metrics_render(c->srv->cb, c->srv->arg, &blen)) == NULL)
		status = "500 Internal Server Error";
	if (body == NULL) {
		body = xstrdup("");
		ctype = "text/plain; charset=utf-8";
		c->srv->stats.bad++;
	} else
		c->srv->stats.scrapes++;
	c->out = xasprintf("HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    ctype, blen, head ? "" : body);
	c->outlen = strlen(c->out);
	c->outoff = 0;
	free(body);
}

static void
metrics_client_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct metrics_client	*c = arg;
	enum metrics_req	 req;
	ssize_t			 n;
	int			 head;

	if (c->out == NULL && (events & LOOP_READ)) {
		n = read(fd, c->req + c->reqlen,
		    METRICS_REQUEST_MAX - c->reqlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			c->srv->stats.bad++;
			metrics_client_close(c);
			return;
		}
		c->reqlen += (size_t)n;
		req = metrics_request_parse(c->req, c->reqlen, &head);
		if (req == METRICS_REQ_MORE) {
			if (c->reqlen == METRICS_REQUEST_MAX) {
				c->srv->stats.bad++;
				metrics_client_close(c);
			}
			return;
		}
		metrics_client_answer(c, req, head);
		/* The rest of the time to read the answer. */
		if (c->timer != NULL)
			loop_timer_set(loop, c->timer, METRICS_TIMEOUT_MS -
			    (clock_monotonic() - c->since) / CLOCK_US_PER_MS);
		if (loop_fd_mod(loop, fd, LOOP_WRITE) == -1) {
			metrics_client_close(c);
			return;
		}
	}
	if (c->out != NULL) {
		n = write(fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			metrics_client_close(c);
			return;
		}
		c->outoff += (size_t)n;
		if (c->outoff == c->outlen)
			metrics_client_close(c);
	}
}

static void
metrics_accept_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct metrics_server	*srv = arg;
	struct metrics_client	*c = NULL, *victim = NULL;
	size_t			 i;
	int			 cfd;

	(void)events;
	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		return;
	for (i = 0; i < METRICS_CLIENTS_MAX; i++)
		if (srv->clients[i].fd == -1) {
			c = &srv->clients[i];
			break;
		}
	/* Full: the longest silent client makes way, if there is one. */
	for (i = 0; c == NULL && i < METRICS_CLIENTS_MAX; i++)
		if (srv->clients[i].out == NULL && (victim == NULL ||
		    srv->clients[i].since < victim->since))
			victim = &srv->clients[i];
	if (c == NULL && victim == NULL) {
		srv->stats.refused++;
		close(cfd);
		return;
	}
	if (c == NULL) {
		srv->stats.refused++;
		metrics_client_close(victim);
		c = victim;
	}
	c->fd = cfd;
	c->since = clock_monotonic();
	if (loop_fd_add(loop, cfd, LOOP_READ, metrics_client_cb, c) == -1) {
		close(cfd);
		c->fd = -1;
		return;
	}
	if ((c->timer = loop_timer_add(loop, METRICS_REQUEST_MS,
	    metrics_client_timeout_cb, c)) == NULL)
		metrics_client_close(c);
}

struct metrics_server *
metrics_server_open(struct loop *loop, const char *addr, uint16_t port,
    metrics_collect_cb cb, void *arg, char **cause)
{
	struct metrics_server	*srv;
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	 sin;
	struct sockaddr		*sa;
	socklen_t		 salen;
	size_t			 i;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		sa = (struct sockaddr *)&sin;
		salen = sizeof(sin);
	} else if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		sa = (struct sockaddr *)&sin6;
		salen = sizeof(sin6);
	} else {
		*cause = xasprintf("metrics: %s: not an IP address", addr);
		return NULL;
	}
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("metrics: socket: %s", strerror(errno));
		return NULL;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, sa, salen) == -1 || listen(fd, 16) == -1) {
		*cause = xasprintf("metrics: %s%s%s:%u: %s",
		    sa->sa_family == AF_INET6 ? "[" : "", addr,
		    sa->sa_family == AF_INET6 ? "]" : "", port,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->loop = loop;
	srv->fd = fd;
	srv->cb = cb;
	srv->arg = arg;
	for (i = 0; i < METRICS_CLIENTS_MAX; i++) {
		srv->clients[i].srv = srv;
		srv->clients[i].fd = -1;
	}
	if (loop_fd_add(loop, fd, LOOP_READ, metrics_accept_cb, srv) == -1) {
		*cause = xasprintf("metrics: loop: %s", strerror(errno));
		close(fd);
		free(srv);
		return NULL;
	}
	return srv;
}

void
metrics_server_close(struct metrics_server *srv)
{
	size_t	i;

	if (srv == NULL)
		return;
	for (i = 0; i < METRICS_CLIENTS_MAX; i++)
		if (srv->clients[i].fd != -1)
			metrics_client_close(&srv->clients[i]);
	loop_fd_del(srv->loop, srv->fd);
	close(srv->fd);
	free(srv);
}

uint16_t
metrics_server_port(const struct metrics_server *srv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getsockname(srv->fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

void
metrics_server_get_stats(const struct metrics_server *srv,
    struct metrics_server_stats *st)
{
	*st = srv->stats;
}
