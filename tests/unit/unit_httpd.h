/*
 * A tiny HTTP/1.1 server on the event loop, for the unit tests of http.c
 * and fw_webhook.c: it listens on 127.0.0.1 (a free port the kernel picks),
 * reads each request to the end of its Content-Length body, records it,
 * and answers with the status set in `status` (after `delay_ms`, if set),
 * or never (`hang`).  Every connection is closed after one answer.  It
 * counts requests and the most that waited for an answer at once.
 */
#ifndef UNIT_HTTPD_H
#define UNIT_HTTPD_H

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "loop.h"

#define HTTPD_CONNS	64
#define HTTPD_BUF	8192

struct httpd_conn {
	struct httpd		*srv;
	int			 fd;		/* -1: free slot */
	char			 buf[HTTPD_BUF];
	size_t			 len;
	int			 answered;
	struct loop_timer	*timer;
};

struct httpd {
	struct loop	*loop;
	int		 lfd;
	uint16_t	 port;
	char		 url[64];
	int		 status;	/* to answer with */
	int		 hang;		/* never answer */
	int		 delay_ms;	/* answer this much later */
	int		 requests;	/* complete requests seen */
	int		 waiting;	/* seen, not answered yet */
	int		 waiting_max;
	char		 last[HTTPD_BUF];	/* the last request */
	char		 body[HTTPD_BUF];	/* ... and its body */
	struct httpd_conn conns[HTTPD_CONNS];
};

static void
httpd_close(struct httpd_conn *c)
{
	if (c->fd == -1)
		return;
	if (c->timer != NULL)
		loop_timer_del(c->srv->loop, c->timer);
	c->timer = NULL;
	if (!c->answered && c->len == (size_t)-1)
		c->srv->waiting--;
	(void)loop_fd_del(c->srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void
httpd_answer(struct httpd_conn *c)
{
	char	resp[128];
	int	n;

	n = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: "
	    "2\r\nConnection: close\r\n\r\nok", c->srv->status);
	(void)!write(c->fd, resp, (size_t)n);
	c->answered = 1;
	c->srv->waiting--;
	c->len = 0;
	httpd_close(c);
}

static int64_t
httpd_delay_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct httpd_conn	*c = arg;

	(void)loop;
	(void)t;
	c->timer = NULL;	/* freed by the loop */
	httpd_answer(c);
	return LOOP_TIMER_DONE;
}

/* A whole request in buf: record it and answer (now, later or never). */
static void
httpd_request(struct httpd_conn *c, size_t hdrlen, size_t bodylen)
{
	struct httpd	*srv = c->srv;

	srv->requests++;
	memcpy(srv->last, c->buf, hdrlen + bodylen);
	srv->last[hdrlen + bodylen] = '\0';
	memcpy(srv->body, c->buf + hdrlen, bodylen);
	srv->body[bodylen] = '\0';
	c->len = (size_t)-1;	/* complete: ignore what follows */
	if (++srv->waiting > srv->waiting_max)
		srv->waiting_max = srv->waiting;
	if (srv->hang)
		return;
	if (srv->delay_ms > 0) {
		c->timer = loop_timer_add(srv->loop, srv->delay_ms,
		    httpd_delay_cb, c);
		return;
	}
	httpd_answer(c);
}

static void
httpd_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct httpd_conn	*c = arg;
	char			*end, *cl, tmp[512];
	ssize_t			 n;
	size_t			 hdrlen, bodylen = 0;

	(void)loop;
	(void)fd;
	(void)events;
	if (c->len == (size_t)-1) {
		/* Answered later or never: watch for the client leaving. */
		if ((n = read(c->fd, tmp, sizeof tmp)) == 0 ||
		    (n == -1 && errno != EAGAIN))
			httpd_close(c);
		return;
	}
	n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			httpd_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
		return;
	hdrlen = (size_t)(end - c->buf) + 4;
	if ((cl = strcasestr(c->buf, "\r\nContent-Length:")) != NULL &&
	    cl < end)
		bodylen = strtoul(cl + 17, NULL, 10);
	if (c->len >= hdrlen + bodylen)
		httpd_request(c, hdrlen, bodylen);
}

static void
httpd_accept_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct httpd	*srv = arg;
	int		 cfd, i;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < HTTPD_CONNS && srv->conns[i].fd != -1; i++)
			continue;
		if (i == HTTPD_CONNS) {
			close(cfd);
			continue;
		}
		memset(&srv->conns[i], 0, sizeof srv->conns[i]);
		srv->conns[i].srv = srv;
		srv->conns[i].fd = cfd;
		if (loop_fd_add(loop, cfd, LOOP_READ, httpd_read_cb,
		    &srv->conns[i]) == -1) {
			close(cfd);
			srv->conns[i].fd = -1;
		}
	}
}

static void
httpd_start(struct httpd *srv, struct loop *loop)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof sin;
	int			i;

	memset(srv, 0, sizeof *srv);
	srv->loop = loop;
	srv->status = 200;
	for (i = 0; i < HTTPD_CONNS; i++)
		srv->conns[i].fd = -1;
	srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	assert_true(srv->lfd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv->lfd, (struct sockaddr *)&sin, sizeof sin),
	    0);
	assert_int_equal(listen(srv->lfd, 128), 0);
	assert_int_equal(getsockname(srv->lfd, (struct sockaddr *)&sin,
	    &slen), 0);
	srv->port = ntohs(sin.sin_port);
	snprintf(srv->url, sizeof srv->url, "http://127.0.0.1:%u/hook",
	    srv->port);
	assert_int_equal(loop_fd_add(loop, srv->lfd, LOOP_READ,
	    httpd_accept_cb, srv), 0);
}

static void
httpd_stop(struct httpd *srv)
{
	int	i;

	for (i = 0; i < HTTPD_CONNS; i++)
		httpd_close(&srv->conns[i]);
	(void)loop_fd_del(srv->loop, srv->lfd);
	close(srv->lfd);
}

/* A URL on which nothing listens: a port bound, then closed. */
static void __attribute__((unused))
httpd_dead_url(char *url, size_t size)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof sin;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	snprintf(url, size, "http://127.0.0.1:%u/hook", ntohs(sin.sin_port));
}

#endif /* UNIT_HTTPD_H */
