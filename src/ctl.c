/*
 * The control socket.
 *
 * Each client is a small state machine driven by the loop: read a request
 * line (at most CTL_REQUEST_MAX bytes, within CTL_TIMEOUT_MS), build the
 * whole answer in memory with the request callback, write it out as the
 * socket accepts it, close.  Nothing blocks: a client that connects and
 * says nothing, or stops reading, costs one slot until its timer ends it,
 * and at most CTL_CLIENTS_MAX slots exist; beyond that new connections are
 * closed at once.
 *
 * Wire format: the request is words separated by blanks, ending in a
 * newline; the answer's first line is "OK" or "ERR", the rest is the body.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define CTL_TIMEOUT_MS		5000
#define CTL_ARGS_MAX		32

struct ctl_client {
	struct ctl	*ctl;
	int		 fd;		/* -1: slot free */
	int		 level;		/* CTL_ADMIN, CTL_READER */
	struct loop_timer *timer;
	char		 req[CTL_REQUEST_MAX + 1];
	size_t		 reqlen;
	char		*out;		/* the answer, once built */
	size_t		 outlen;
	size_t		 outoff;
};

struct ctl {
	struct loop	*loop;
	int		 fd;
	char		*path;
	ctl_request_cb	 cb;
	void		*arg;
	uid_t		 uid;		/* ours: may talk to us, as root */
	gid_t		 gid;		/* control group: may ask */
	int		 has_group;
	struct ctl_client clients[CTL_CLIENTS_MAX];
	struct log_ratelimit warn_rl;
};

static void
ctl_client_close(struct ctl_client *c)
{
	if (c->fd == -1)
		return;
	loop_fd_del(c->ctl->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->timer != NULL)
		loop_timer_del(c->ctl->loop, c->timer);
	c->timer = NULL;
	free(c->out);
	c->out = NULL;
}

static int64_t
ctl_client_timeout_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct ctl_client	*c = arg;

	(void)loop;
	(void)t;
	c->timer = NULL;	/* freed by the loop as we return DONE */
	ctl_client_close(c);
	return LOOP_TIMER_DONE;
}

/* Splits the request into printable words; -1 if it holds anything else. */
static int
ctl_split(char *line, char **argv, int *argc)
{
	char	*p, *save;

	for (p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return -1;
	*argc = 0;
	for (p = strtok_r(line, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		if (*argc == CTL_ARGS_MAX)
			return -1;
		argv[(*argc)++] = p;
	}
	return *argc > 0 ? 0 : -1;
}

static void
ctl_client_answer(struct ctl_client *c)
{
	char	*argv[CTL_ARGS_MAX], *body = NULL;
	size_t	 bodylen = 0;
	FILE	*fp;
	int	 argc, rc;

	if ((fp = open_memstream(&body, &bodylen)) == NULL)
		fatal("open_memstream");
	if (ctl_split(c->req, argv, &argc) == -1) {
		fprintf(fp, "malformed request\n");
		rc = -1;
	} else
		rc = c->ctl->cb(argc, argv, c->level, fp, c->ctl->arg);
	if (fclose(fp) != 0)
		fatal("open_memstream");
	c->out = xasprintf("%s\n%s", rc == 0 ? "OK" : "ERR", body);
	c->outlen = strlen(c->out);
	c->outoff = 0;
	free(body);
}

static void
ctl_client_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct ctl_client	*c = arg;
	ssize_t			 n;
	char			*nl;

	(void)events;
	if (c->out == NULL) {
		n = read(fd, c->req + c->reqlen, CTL_REQUEST_MAX - c->reqlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			ctl_client_close(c);
			return;
		}
		c->reqlen += (size_t)n;
		c->req[c->reqlen] = '\0';
		if ((nl = memchr(c->req, '\n', c->reqlen)) == NULL) {
			if (c->reqlen == CTL_REQUEST_MAX ||
			    memchr(c->req, '\0', c->reqlen) != NULL)
				ctl_client_close(c);
			return;
		}
		*nl = '\0';
		ctl_client_answer(c);
		if (loop_fd_mod(loop, fd, LOOP_WRITE) == -1) {
			ctl_client_close(c);
			return;
		}
	}
	n = write(fd, c->out + c->outoff, c->outlen - c->outoff);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctl_client_close(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff == c->outlen)
		ctl_client_close(c);
}

/*
 * Root and the daemon's own user may do anything; members of the
 * configured control group may ask (CTL_READER).  The check is on the
 * connecting process's credentials as the kernel saw them (SO_PEERCRED,
 * and SO_PEERGROUPS for its supplementary groups), not on anything it
 * says.  0: refused.
 */
static int
ctl_peer_level(struct ctl *ctl, int fd)
{
	struct ucred	cred;
	gid_t		groups[256];
	socklen_t	len = sizeof(cred);
	size_t		i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	if (cred.uid == 0 || cred.uid == ctl->uid)
		return CTL_ADMIN;
	if (!ctl->has_group)
		return 0;
	if (cred.gid == ctl->gid)
		return CTL_READER;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return 0;
	for (i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == ctl->gid)
			return CTL_READER;
	return 0;
}

static void
ctl_accept_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct ctl		*ctl = arg;
	struct ctl_client	*c = NULL;
	int			 cfd, i, level;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < CTL_CLIENTS_MAX; i++)
			if (ctl->clients[i].fd == -1) {
				c = &ctl->clients[i];
				break;
			}
		if (c == NULL || (level = ctl_peer_level(ctl, cfd)) == 0) {
			close(cfd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->ctl = ctl;
		c->fd = cfd;
		c->level = level;
		if (loop_fd_add(loop, cfd, LOOP_READ, ctl_client_cb, c) == -1 ||
		    (c->timer = loop_timer_add(loop, CTL_TIMEOUT_MS,
		    ctl_client_timeout_cb, c)) == NULL) {
			log_warn("ctl: client");
			ctl_client_close(c);
		}
		c = NULL;
	}
	if (errno != EAGAIN && errno != EINTR &&
	    log_ratelimit_ok(&ctl->warn_rl, 0))
		log_warn("ctl: accept");
}

/* 1 if a daemon answers on path. */
static int
ctl_alive(const struct sockaddr_un *sun)
{
	int	fd, alive;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
}

int
ctl_check(const char *group, const char *mode, mode_t *m, gid_t *gid,
    char **cause)
{
	struct group	*gr;
	char		*end;
	long		 v;

	/* The mode: octal, read and write bits only (the daemon checks
	 * every caller's credentials anyway). */
	v = strtol(mode != NULL && *mode != '\0' ? mode : "0660", &end, 8);
	if (*end != '\0' || v < 0 || (v & ~0666) != 0) {
		*cause = xasprintf("control_mode %s: not an octal mode within "
		    "0666", mode);
		return -1;
	}
	*m = (mode_t)v;
	if (group != NULL && *group != '\0') {
		if ((gr = getgrnam(group)) == NULL) {
			*cause = xasprintf("control_group %s: no such group",
			    group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

struct ctl *
ctl_open(struct loop *loop, const char *path, const char *group,
    const char *mode, ctl_request_cb cb, void *arg, char **cause)
{
	struct sockaddr_un	 sun;
	struct ctl		*ctl;
	char			*dir, *slash;
	int			 i, fd = -1;
	mode_t			 old, m;
	gid_t			 gid = (gid_t)-1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*cause = xasprintf("%s: path too long", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if (ctl_check(group, mode, &m, &gid, cause) == -1)
		return NULL;

	/* The directory is ours (as /run/xmppguard under systemd). */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
			*cause = xasprintf("%s: %s", dir, strerror(errno));
			free(dir);
			return NULL;
		}
	}
	free(dir);

	if (ctl_alive(&sun)) {
		*cause = xasprintf("%s: another xmppguard answers on it",
		    path);
		return NULL;
	}
	/* Stale (a daemon killed with -9): nothing listens; replace it. */
	if (unlink(path) == -1 && errno != ENOENT) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	old = umask(0177);	/* srw------- from the start, no window */
	i = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (i == 0 && chmod(path, (mode_t)m) == -1)
		i = -1;
	if (i == -1 || listen(fd, CTL_CLIENTS_MAX) == -1)
		goto fail;

	ctl = xcalloc(1, sizeof(*ctl));
	ctl->loop = loop;
	ctl->fd = fd;
	if (group != NULL && *group != '\0') {
		ctl->gid = gid;
		ctl->has_group = 1;
		if (chown(path, (uid_t)-1, ctl->gid) == -1) {
			*cause = xasprintf("%s: chown: %s", path,
			    strerror(errno));
			unlink(path);
			free(ctl);
			close(fd);
			return NULL;
		}
	}
	ctl->path = xstrdup(path);
	ctl->cb = cb;
	ctl->arg = arg;
	ctl->uid = geteuid();
	ctl->warn_rl.interval_us = 10 * CLOCK_US_PER_SEC;
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		ctl->clients[i].fd = -1;
	if (loop_fd_add(loop, fd, LOOP_READ, ctl_accept_cb, ctl) == -1) {
		*cause = xasprintf("%s: loop: %s", path, strerror(errno));
		unlink(path);
		free(ctl->path);
		free(ctl);
		close(fd);
		return NULL;
	}
	return ctl;

fail:
	*cause = xasprintf("%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return NULL;
}

void
ctl_set_owner(struct ctl *ctl, uid_t uid)
{
	ctl->uid = uid;
}

void
ctl_close(struct ctl *ctl)
{
	int	i;

	if (ctl == NULL)
		return;
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		ctl_client_close(&ctl->clients[i]);
	loop_fd_del(ctl->loop, ctl->fd);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

int
ctl_request(const char *path, int argc, const char *const *argv, FILE *out,
    char **cause)
{
	struct sockaddr_un	 sun;
	char			 buf[4096], *line = NULL;
	size_t			 linecap = 0;
	FILE			*fp;
	int			 fd, i, rc;
	ssize_t			 n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*cause = xasprintf("%s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		rc = errno == ENOENT || errno == ECONNREFUSED ? -2 : -1;
		*cause = xasprintf("%s: %s (is xmppguard running?)", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return rc;
	}
	/* A daemon that refuses us closes at once: no SIGPIPE for that. */
	signal(SIGPIPE, SIG_IGN);
	if ((fp = fdopen(fd, "r+")) == NULL)
		fatal("fdopen");
	for (i = 0; i < argc; i++)
		fprintf(fp, "%s%s", i > 0 ? " " : "", argv[i]);
	fputc('\n', fp);
	fflush(fp);
	if ((n = getline(&line, &linecap, fp)) <= 0) {
		*cause = xasprintf("%s: no answer (only root and the "
		    "daemon's own user may ask)", path);
		free(line);
		fclose(fp);
		return -1;
	}
	rc = strcmp(line, "OK\n") == 0 ? 0 : 1;
	free(line);
	while ((n = (ssize_t)fread(buf, 1, sizeof(buf), fp)) > 0)
		fwrite(buf, 1, (size_t)n, out);
	fclose(fp);
	return rc;
}
