/*
 * The control socket: a unix stream socket on which the daemon answers
 * requests from `xmppguard status` (and, with enforcement, ban, unban,
 * reload).  One request line per connection, one answer, then close.
 *
 * Only root and the daemon's own user may talk to it (SO_PEERCRED); the
 * socket file is created mode 0660 in a directory the daemon creates.
 */
#ifndef CTL_H
#define CTL_H

#include <sys/types.h>

#include <stdio.h>

struct loop;
struct ctl;

#define CTL_REQUEST_MAX		1024	/* bytes in a request line */
#define CTL_CLIENTS_MAX		16	/* connections served at once */

/*
 * Answers one request: argv are the request's words (at most 8, each
 * escaped of nothing: only printable words are accepted), the answer is
 * written to out.  Returns 0, or -1 if the request was refused (the answer
 * then says why).
 */
/* Who is asking: root or the daemon's user, or a control group member. */
#define CTL_ADMIN	2
#define CTL_READER	1

typedef int	(*ctl_request_cb)(int argc, char **argv, int level, FILE *out,
		    void *arg);

/* Binds path (refusing if another daemon answers on it, replacing a
 * stale socket), with mode (octal text, NULL: 0660) and group (NULL or
 * "": the daemon's own),
 * and serves it on the loop.  NULL and *cause on failure. */
struct ctl	*ctl_open(struct loop *, const char *path, const char *group,
		    const char *mode, ctl_request_cb, void *arg, char **cause);
/*
 * What ctl_open() would refuse in its settings alone, touching nothing
 * (check-config calls it too): mode not octal within 0666, group (NULL or
 * "": none) not a group here.  0 with *m and *gid, or -1 and *cause.
 */
int		 ctl_check(const char *group, const char *mode, mode_t *m,
		    gid_t *gid, char **cause);
/* The daemon's own user, who may do anything (after a privilege drop). */
void		 ctl_set_owner(struct ctl *, uid_t);
/* Stops serving, closes the clients and removes the socket file. */
void		 ctl_close(struct ctl *);

/*
 * The client side: sends one request and copies the answer to out.
 * Returns 0 if the daemon accepted the request, 1 if it refused it, -2
 * with *cause if no daemon listens there (no socket, or nobody behind it),
 * -1 with *cause if it could not be asked otherwise.
 */
int		 ctl_request(const char *path, int argc,
		    const char *const *argv, FILE *out, char **cause);

#endif /* CTL_H */
