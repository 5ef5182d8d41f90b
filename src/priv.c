/*
 * Privilege separation.
 *
 * With [global] user set, the daemon opens everything that needs root
 * (conntrack sockets, sysctls, the store, the control socket, the logs),
 * forks this helper, and drops to that user with no capability at all.
 * The helper stays root but keeps only CAP_NET_ADMIN (the bounding set
 * too, so the nft or ipset it runs gets nothing more), and serves a closed
 * set of requests over a socketpair:
 *
 *	PRIV_APPLY, PRIV_REPLACE	a batch of firewall operations (in
 *					chunks), checked again by fw_apply()'s
 *					never-a-weapon rules against the
 *					helper's own copy of the configuration
 *					and its own live list of the host's
 *					addresses; the answer names what they
 *					refused, so the daemon ends those bans
 *	PRIV_LIST, PRIV_KILL		what is in force; end a prefix's sessions
 *	PRIV_KILL_CONNS			end connections by their tuples (one
 *					message of at most FW_KILL_BUDGET),
 *					each tuple's client checked by the
 *					never-a-weapon rules as a ban of it
 *					would be, and its port by its scope
 *	PRIV_KILL_SCAN			end the connections of prefixes (at
 *					most FW_KILL_SCAN_MAX) by one scan,
 *					each prefix checked as a ban
 *	PRIV_DUMP, PRIV_RCVBUF		conntrack: send a dump request on the
 *					dump socket it shares with the daemon
 *					(the daemon reads the answer: the
 *					capability is checked on the request
 *					only), force the event socket's buffer
 *	PRIV_RELOAD			read the configuration file again and
 *					open the firewall it names
 *	PRIV_CAPS			move hosts to the kernel caps' account
 *					levels (at most PRIV_CHUNK), each
 *					checked again by fw_caps(): a host's
 *					address, a level that exists, a
 *					service the caps in force declare
 *
 * Nothing else: no path, no command, no argument reaches it but the
 * operations' fixed fields.  The daemon talks to it synchronously (a
 * request, an answer); the helper exits when the socket closes.  The
 * webhook backend needs the event loop and no privilege, so it stays in
 * the daemon; so does "none".
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "conf.h"
#include "ct.h"
#include "fw.h"
#include "fw_int.h"
#include "log.h"
#include "ownaddr.h"
#include "priv.h"
#include "xmalloc.h"

#define PRIV_CHUNK	512		/* operations or entries a message */
#define PRIV_SOCKBUF	(4 * 1024 * 1024)
#define PRIV_CAUSE_MAX	1024
#define PRIV_WHY_MAX	64

enum priv_type {
	PRIV_APPLY = 1,
	PRIV_REPLACE,
	PRIV_LIST,
	PRIV_KILL,
	PRIV_DUMP,
	PRIV_RCVBUF,
	PRIV_RELOAD,
	PRIV_KILL_CONNS,
	PRIV_KILL_SCAN,
	PRIV_CAPS
};

struct priv_hdr {
	uint32_t	type;
	uint32_t	n;		/* items in this message */
	uint32_t	last;		/* the last message of a request */
	int32_t		rc;		/* answers */
	uint64_t	val;
};

struct priv {
	int		 fd;
	pid_t		 pid;
};

/* An operation of a batch the helper's checks refused: the answer to
 * PRIV_APPLY and PRIV_REPLACE, in chunks. */
struct priv_refusal {
	uint32_t	 index;			/* in the batch */
	char		 why[PRIV_WHY_MAX];	/* NUL-terminated */
};

/* What the helper collects while a batch is applied. */
struct priv_refusals {
	const struct fw_op *ops;		/* the batch */
	struct priv_refusal *v;
	size_t		 n, cap;
};

/* Answers go in chunks of PRIV_CHUNK items, each no larger than an
 * operation, so every chunk fits a message. */
_Static_assert(sizeof(struct priv_refusal) <= sizeof(struct fw_op),
    "a refusal is larger than an operation");
_Static_assert(sizeof(struct fw_entry) <= sizeof(struct fw_op),
    "an entry is larger than an operation");
_Static_assert(sizeof(struct fw_cap) <= sizeof(struct fw_op),
    "an account level is larger than an operation");
/* A kill request is one message. */
_Static_assert(sizeof(struct fw_kill_tuple) <= sizeof(struct fw_op) &&
    FW_KILL_BUDGET <= PRIV_CHUNK && FW_KILL_SCAN_MAX <= PRIV_CHUNK,
    "a kill request does not fit a message");

/* The largest message: a header and a chunk of operations. */
#define PRIV_MSG_MAX	(sizeof(struct priv_hdr) + PRIV_CHUNK * \
			    sizeof(struct fw_op))

static int
priv_send(int fd, const struct priv_hdr *h, const void *body, size_t len)
{
	struct iovec	iov[2];
	struct msghdr	msg;
	ssize_t		n;

	memset(&msg, 0, sizeof(msg));
	iov[0].iov_base = (void *)(uintptr_t)h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	msg.msg_iov = iov;
	msg.msg_iovlen = len > 0 ? 2 : 1;
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)(sizeof(*h) + len) ? 0 : -1;
}

/* One message into buf (PRIV_MSG_MAX); its body length, or -1. */
static ssize_t
priv_recv(int fd, struct priv_hdr *h, void *buf)
{
	uint8_t	*raw = buf;
	ssize_t	 n;

	do
		n = recv(fd, raw, PRIV_MSG_MAX, 0);
	while (n == -1 && errno == EINTR);
	if (n < (ssize_t)sizeof(*h))
		return -1;
	memcpy(h, raw, sizeof(*h));
	memmove(raw, raw + sizeof(*h), (size_t)n - sizeof(*h));
	return n - (ssize_t)sizeof(*h);
}

/*
 * The helper.
 */

/* CAP_NET_ADMIN alone, bounding set included, for good. */
static void
priv_caps(void)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[2];
	int				 c;

	for (c = 0; c <= 63; c++)
		if (c != CAP_NET_ADMIN && prctl(PR_CAPBSET_DROP, c, 0, 0,
		    0) == -1 && errno != EINVAL)
			fatal("priv: PR_CAPBSET_DROP");
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	data[0].effective = data[0].permitted = 1U << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("priv: capset");
}

static void
priv_answer(int fd, int rc, const char *cause)
{
	struct priv_hdr	h;
	size_t		len = cause != NULL ? strlen(cause) : 0;

	memset(&h, 0, sizeof(h));
	h.rc = rc;
	h.last = 1;
	if (len > PRIV_CAUSE_MAX)
		len = PRIV_CAUSE_MAX;
	(void)priv_send(fd, &h, cause, len);
}

/* A successful answer of n items of size bytes each, in chunks (n 0: one
 * empty message, as priv_answer(fd, 0, NULL) sends). */
static void
priv_answer_items(int fd, const void *items, size_t n, size_t size)
{
	const uint8_t	*p = items;
	struct priv_hdr	 h;
	size_t		 i = 0, k;

	do {
		k = n - i > PRIV_CHUNK ? PRIV_CHUNK : n - i;
		memset(&h, 0, sizeof(h));
		h.n = (uint32_t)k;
		h.last = i + k == n;
		if (priv_send(fd, &h, k > 0 ? p + i * size : NULL,
		    k * size) == -1)
			break;
		i += k;
	} while (i < n);
}

static void
priv_list(int fd, struct fw *fw)
{
	struct fw_entry	*e = NULL;
	char		*cause = NULL;
	size_t		 n = 0;

	if (fw == NULL || fw_list(fw, &e, &n, &cause) == -1) {
		priv_answer(fd, -1, cause != NULL ? cause : "cannot list");
		free(cause);
		return;
	}
	priv_answer_items(fd, e, n, sizeof(*e));
	free(e);
}

/* The helper's fw refused an operation of the batch being applied. */
static void
priv_refused_cb(const struct fw_op *op, const char *why, void *arg)
{
	struct priv_refusals	*r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap == 0 ? 8 : r->cap * 2;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
	r->v[r->n].index = (uint32_t)(op - r->ops);
	snprintf(r->v[r->n++].why, PRIV_WHY_MAX, "%s", why);
}

/* A firewall of the helper's: its live own addresses, refusals heard. */
static struct fw *
priv_fw_open(const struct conf *conf, const struct ownaddr *own,
    struct priv_refusals *r, char **cause)
{
	struct fw	*fw;

	if ((fw = fw_open(conf, NULL, cause)) == NULL)
		return NULL;
	fw_set_own(fw, own);
	fw_set_refused_cb(fw, priv_refused_cb, r);
	return fw;
}

/*
 * A kill request: tuples (PRIV_KILL_CONNS) or prefixes (PRIV_KILL_SCAN)
 * in one message, checked again by fw.c; the answer's val is how many
 * connections ended.
 */
static void
priv_kill(int fd, struct fw *fw, const struct priv_hdr *req,
    const uint8_t *buf, size_t len)
{
	struct priv_hdr	 h;
	uint64_t	 before;
	size_t		 size, max;
	char		*cause = NULL;
	int		 rc;

	size = req->type == PRIV_KILL_CONNS ? sizeof(struct fw_kill_tuple) :
	    sizeof(struct fw_op);
	max = req->type == PRIV_KILL_CONNS ? FW_KILL_BUDGET : FW_KILL_SCAN_MAX;
	if (req->n > max || len != req->n * size || !req->last) {
		priv_answer(fd, -1, "bad request");
		return;
	}
	if (fw == NULL) {
		priv_answer(fd, 0, NULL);
		return;
	}
	before = fw_stats(fw)->killed;
	if (req->type == PRIV_KILL_CONNS)
		rc = fw_kill_conns(fw, (const void *)buf, req->n, &cause);
	else
		rc = fw_kill_prefixes(fw, (const void *)buf, req->n, &cause);
	if (rc == -1) {
		priv_answer(fd, -1, cause);
		free(cause);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.last = 1;
	h.val = fw_stats(fw)->killed - before;
	(void)priv_send(fd, &h, NULL, 0);
}

static void
priv_child(int fd, const char *path, struct nfct_handle *dump, int evfd)
{
	struct priv_hdr	 h;
	struct conf	*conf = NULL, *nconf;
	struct fw	*fw = NULL, *nfw;
	struct fw_op	*ops = NULL;
	struct ownaddr	*own;
	struct priv_refusals refusals;
	struct prefix	 p;
	uint8_t		*buf;
	size_t		 nops = 0;
	ssize_t		 len;
	sigset_t	 none;
	char		*cause;
	int		 rc, v, family;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);	/* the daemon stops us: EOF */
	signal(SIGHUP, SIG_IGN);
	priv_caps();
	/* The never-a-weapon checks need the host's addresses as they are
	 * now: without them, no firewall request may be served (the daemon
	 * stops at its first, with everything in place). */
	if ((own = ownaddr_open(NULL, &cause)) == NULL) {
		log_warnx("priv: own addresses: %s", cause);
		_exit(1);
	}
	memset(&refusals, 0, sizeof(refusals));
	if (conf_load(path, &conf, &cause) == -1 ||
	    (fw_in_kernel(conf) && (fw = priv_fw_open(conf, own, &refusals,
	    &cause)) == NULL)) {
		log_warnx("priv: %s", cause);
		free(cause);
	}
	buf = xmalloc(PRIV_MSG_MAX);
	while ((len = priv_recv(fd, &h, buf)) >= 0) {
		/* An address added before the request is known to the
		 * checks: the notifications the kernel queued, read now. */
		(void)ownaddr_sync(own);
		switch (h.type) {
		case PRIV_APPLY:
		case PRIV_REPLACE:
			if ((size_t)len != h.n * sizeof(*ops) ||
			    h.n > PRIV_CHUNK) {
				priv_answer(fd, -1, "bad request");
				nops = 0;
				break;
			}
			ops = xreallocarray(ops, nops + h.n + 1, sizeof(*ops));
			memcpy(ops + nops, buf, (size_t)len);
			nops += h.n;
			if (!h.last)
				break;	/* more to come; no answer yet */
			cause = NULL;
			refusals.ops = ops;
			refusals.n = 0;
			if (fw == NULL)
				rc = -1;
			else if (h.type == PRIV_APPLY)
				rc = fw_apply(fw, ops, nops, &cause);
			else
				rc = fw_replace(fw, ops, nops, &cause);
			if (rc == -1)
				priv_answer(fd, rc, cause != NULL ? cause :
				    "no firewall");
			else
				priv_answer_items(fd, refusals.v, refusals.n,
				    sizeof(*refusals.v));
			free(cause);
			nops = 0;
			break;
		case PRIV_CAPS:
			if ((size_t)len != h.n * sizeof(struct fw_cap) ||
			    h.n > PRIV_CHUNK) {
				priv_answer(fd, -1, "bad request");
				break;
			}
			cause = NULL;
			rc = fw == NULL ? -1 : fw_caps(fw,
			    (const struct fw_cap *)buf, h.n, &cause);
			priv_answer(fd, rc, rc == -1 && cause == NULL ?
			    "no firewall" : cause);
			free(cause);
			break;
		case PRIV_LIST:
			priv_list(fd, fw);
			break;
		case PRIV_KILL:
			if ((size_t)len != sizeof(p)) {
				priv_answer(fd, -1, "bad request");
				break;
			}
			if (h.val != FW_SCOPE_SERVICES &&
			    h.val != FW_SCOPE_PROXY) {
				priv_answer(fd, -1, "bad scope");
				break;
			}
			memcpy(&p, buf, sizeof(p));
			cause = NULL;
			rc = fw == NULL ? 0 : fw_kill(fw, &p,
			    (enum fw_scope)h.val, &cause);
			priv_answer(fd, rc, cause);
			free(cause);
			break;
		case PRIV_KILL_CONNS:
		case PRIV_KILL_SCAN:
			priv_kill(fd, fw, &h, buf, (size_t)len);
			break;
		case PRIV_DUMP:
			family = (int)h.val;
			if (family != AF_UNSPEC && family != AF_INET &&
			    family != AF_INET6) {
				priv_answer(fd, -1, "bad family");
				break;
			}
			rc = dump == NULL ? -1 : nfct_send(dump, NFCT_Q_DUMP,
			    &family);
			priv_answer(fd, rc == -1 ? -1 : 0, rc == -1 ?
			    strerror(errno) : NULL);
			break;
		case PRIV_RCVBUF:
			v = h.val > INT32_MAX / 2 ? INT32_MAX / 2 : (int)h.val;
			rc = setsockopt(evfd, SOL_SOCKET, SO_RCVBUFFORCE, &v,
			    sizeof(v));
			priv_answer(fd, rc, rc == -1 ? strerror(errno) : NULL);
			break;
		case PRIV_RELOAD:
			cause = NULL;
			nfw = NULL;
			if (conf_load(path, &nconf, &cause) == -1 ||
			    (fw_in_kernel(nconf) && (nfw = priv_fw_open(nconf,
			    own, &refusals, &cause)) == NULL)) {
				priv_answer(fd, -1, cause);
				free(cause);
				break;
			}
			fw_close(fw);
			conf_free(conf);
			fw = nfw;
			conf = nconf;
			priv_answer(fd, 0, NULL);
			break;
		default:
			priv_answer(fd, -1, "unknown request");
			break;
		}
	}
	fw_close(fw);
	conf_free(conf);
	ownaddr_free(own);
	free(refusals.v);
	_exit(0);
}

/*
 * The daemon's side.
 */
struct priv *
priv_start(const char *path, struct nfct_handle *dump, int evfd,
    char **cause)
{
	struct priv	*pv;
	int		 sp[2], size = PRIV_SOCKBUF, fd;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		*cause = xasprintf("priv: socketpair: %s", strerror(errno));
		return NULL;
	}
	(void)setsockopt(sp[0], SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size));
	(void)setsockopt(sp[1], SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size));
	pv = xcalloc(1, sizeof(*pv));
	switch ((pv->pid = fork())) {
	case -1:
		*cause = xasprintf("priv: fork: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		free(pv);
		return NULL;
	case 0:
		close(sp[0]);
		/* Only what it serves stays open. */
		for (fd = 3; fd < 1024; fd++)
			if (fd != sp[1] && fd != evfd && (dump == NULL ||
			    fd != nfct_fd(dump)))
				(void)close(fd);
		priv_child(sp[1], path, dump, evfd);
		_exit(1);
	default:
		break;
	}
	close(sp[1]);
	pv->fd = sp[0];
	return pv;
}

void
priv_stop(struct priv *pv)
{
	if (pv == NULL)
		return;
	close(pv->fd);		/* the helper sees EOF and exits */
	(void)waitpid(pv->pid, NULL, 0);
	free(pv);
}

pid_t
priv_pid(const struct priv *pv)
{
	return pv->pid;
}

/*
 * Without the helper nothing can be enforced nor counted: stop, so the
 * service manager starts us again with everything in place (the bans in
 * the kernel and in the store are not lost).
 */
static void
priv_gone(struct priv *pv)
{
	fatalx("priv: the privileged helper (pid %ld) is gone", (long)pv->pid);
}

/* One request, one answer: its rc, the cause (caller frees) if -1, its
 * val into *val (may be NULL). */
static int
priv_call_val(struct priv *pv, const struct priv_hdr *req, const void *body,
    size_t len, uint64_t *val, char **cause)
{
	struct priv_hdr	 h;
	uint8_t		*buf;
	ssize_t		 n;

	if (priv_send(pv->fd, req, body, len) == -1)
		priv_gone(pv);
	buf = xmalloc(PRIV_MSG_MAX);
	if ((n = priv_recv(pv->fd, &h, buf)) < 0)
		priv_gone(pv);
	if (h.rc == -1)
		*cause = xstrndup((char *)buf, (size_t)n);
	else if (val != NULL)
		*val = h.val;
	free(buf);
	return h.rc == -1 ? -1 : 0;
}

static int
priv_call(struct priv *pv, const struct priv_hdr *req, const void *body,
    size_t len, char **cause)
{
	return priv_call_val(pv, req, body, len, NULL, cause);
}

int
priv_ct(void *arg, int what, uint64_t val)
{
	struct priv	*pv = arg;
	struct priv_hdr	 h;
	char		*cause;

	memset(&h, 0, sizeof(h));
	h.type = what == CT_PRIV_DUMP ? PRIV_DUMP : PRIV_RCVBUF;
	h.last = 1;
	h.val = val;
	if (priv_call(pv, &h, NULL, 0, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

int
priv_reload(struct priv *pv, char **cause)
{
	struct priv_hdr	h;

	memset(&h, 0, sizeof(h));
	h.type = PRIV_RELOAD;
	h.last = 1;
	return priv_call(pv, &h, NULL, 0, cause);
}

/*
 * An answer of items of size bytes each, in chunks, into *items (caller
 * frees; NULL when there are none) and *n: 0, or -1 and *cause.
 */
static int
priv_recv_items(struct priv *pv, size_t size, void **items, size_t *n,
    char **cause)
{
	struct priv_hdr	 h;
	uint8_t		*buf, *v = NULL;
	ssize_t		 len;

	*n = 0;
	buf = xmalloc(PRIV_MSG_MAX);
	for (;;) {
		if ((len = priv_recv(pv->fd, &h, buf)) < 0)
			priv_gone(pv);
		if (h.rc == -1) {
			*cause = xstrndup((char *)buf, (size_t)len);
			break;
		}
		if ((size_t)len != h.n * size) {
			*cause = xstrdup("priv: bad answer");
			break;
		}
		v = xreallocarray(v, *n + h.n + 1, size);
		memcpy(v + *n * size, buf, (size_t)len);
		*n += h.n;
		if (h.last) {
			free(buf);
			*items = v;
			return 0;
		}
	}
	free(buf);
	free(v);
	*items = NULL;
	*n = 0;
	return -1;
}

/*
 * The helper's answer to a batch: 0, each operation its checks refused
 * told to the proxy's callback as fw_apply() would (counted; the helper
 * logged it); or -1 and *cause.
 */
static int
priv_fw_answer(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	struct priv_refusal	*r;
	void			*v;
	size_t			 nr, i;

	if (priv_recv_items(fw->priv, sizeof(*r), &v, &nr, cause) == -1)
		return -1;
	for (r = v, i = 0; i < nr; i++) {
		if (r[i].index >= n)
			continue;
		r[i].why[PRIV_WHY_MAX - 1] = '\0';
		fw->stats.rejected++;
		if (fw->refused != NULL)
			fw->refused(&ops[r[i].index], r[i].why,
			    fw->refused_arg);
	}
	free(v);
	return 0;
}

/* The proxy backend: the daemon's struct fw, the work in the helper. */
static int
priv_fw_ops(struct fw *fw, enum priv_type type, const struct fw_op *ops,
    size_t n, char **cause)
{
	struct priv		*pv = fw->priv;
	struct priv_hdr		 h;
	const struct fw_op	*chunk;
	size_t			 i = 0, k;

	do {
		k = n - i > PRIV_CHUNK ? PRIV_CHUNK : n - i;
		/* No arithmetic on NULL: an empty REPLACE has no ops. */
		chunk = k > 0 ? ops + i : NULL;
		memset(&h, 0, sizeof(h));
		h.type = type;
		h.n = (uint32_t)k;
		h.last = i + k == n;
		if (priv_send(pv->fd, &h, chunk, k * sizeof(*ops)) == -1)
			priv_gone(pv);
		i += k;
	} while (i < n);
	return priv_fw_answer(fw, ops, n, cause);
}

static int
priv_fw_apply(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	return priv_fw_ops(fw, PRIV_APPLY, ops, n, cause);
}

static int
priv_fw_replace(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	return priv_fw_ops(fw, PRIV_REPLACE, ops, n, cause);
}

static int
priv_fw_kill(struct fw *fw, const struct prefix *p, enum fw_scope scope,
    char **cause)
{
	struct priv_hdr	h;

	memset(&h, 0, sizeof(h));
	h.type = PRIV_KILL;
	h.val = scope;
	h.last = 1;
	return priv_call(fw->priv, &h, p, sizeof(*p), cause);
}

/* A kill (or account levels') request of n items of size bytes, in
 * messages of at most max (the helper's bound); *killed: the connections
 * ended (nothing for the levels). */
static int
priv_fw_kill_req(struct fw *fw, enum priv_type type, const void *items,
    size_t n, size_t size, size_t max, uint64_t *killed, char **cause)
{
	const uint8_t	*p = items;
	struct priv_hdr	 h;
	uint64_t	 k;
	size_t		 i, m;

	*killed = 0;
	for (i = 0; i < n; i += m) {
		m = n - i < max ? n - i : max;
		memset(&h, 0, sizeof(h));
		h.type = type;
		h.n = (uint32_t)m;
		h.last = 1;
		k = 0;
		if (priv_call_val(fw->priv, &h, p + i * size, m * size, &k,
		    cause) == -1)
			return -1;
		*killed += k;
	}
	return 0;
}

static int
priv_fw_kill_tuples(struct fw *fw, const struct fw_kill_tuple *t, size_t n,
    uint64_t *killed, char **cause)
{
	return priv_fw_kill_req(fw, PRIV_KILL_CONNS, t, n, sizeof(*t),
	    FW_KILL_BUDGET, killed, cause);
}

static int
priv_fw_kill_scan(struct fw *fw, const struct fw_op *ops, size_t n,
    uint64_t *killed, char **cause)
{
	return priv_fw_kill_req(fw, PRIV_KILL_SCAN, ops, n, sizeof(*ops),
	    FW_KILL_SCAN_MAX, killed, cause);
}

static int
priv_fw_list(struct fw *fw, struct fw_entry **entries, size_t *n,
    char **cause)
{
	struct priv	*pv = fw->priv;
	struct priv_hdr	 h;
	void		*v;

	memset(&h, 0, sizeof(h));
	h.type = PRIV_LIST;
	h.last = 1;
	if (priv_send(pv->fd, &h, NULL, 0) == -1)
		priv_gone(pv);
	if (priv_recv_items(pv, sizeof(**entries), &v, n, cause) == -1) {
		*entries = NULL;
		return -1;
	}
	*entries = v;
	return 0;
}

/* The account levels, in messages of at most PRIV_CHUNK. */
static int
priv_fw_caps(struct fw *fw, const struct fw_cap *c, size_t n, char **cause)
{
	uint64_t	 none;

	return priv_fw_kill_req(fw, PRIV_CAPS, c, n, sizeof(*c), PRIV_CHUNK,
	    &none, cause);
}

/* No open or close: fw_open_backend() hands it the struct priv as
 * fw->priv, which outlives it. */
const struct fw_backend priv_fw_backend = {
	.name = "helper",
	.apply = priv_fw_apply,
	.list = priv_fw_list,
	.kill = priv_fw_kill,
	.kill_tuples = priv_fw_kill_tuples,
	.kill_scan = priv_fw_kill_scan,
	.replace = priv_fw_replace,
	.caps = priv_fw_caps
};
