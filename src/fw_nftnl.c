/*
 * The nftables backend's ban path over netlink: set elements added,
 * removed, flushed and listed by libnftnl messages on one netfilter
 * socket, opened with the backend and kept (in the privileged helper when
 * privilege separation is on), instead of one `nft` process a batch.
 *
 * A batch is built in one growing buffer: the batch-begin message, the
 * element messages in the caller's order, the batch-end; it goes to the
 * kernel in one sendmsg(2), which nfnetlink handles as one transaction
 * (all or nothing) before the call returns.  Each message has its own
 * sequence number, and a refused one comes back as an error carrying it:
 * msgs[] maps it to the set, the verb and the operations the message held,
 * so the cause names them (a message holds one element on the ban path,
 * so that is the operation refused).  Only the last message asks for an
 * acknowledgement: errors come whatever the flags, and its ack says the
 * kernel has read the whole batch.
 *
 * An interval set holds a prefix as two elements: its first address, and
 * the first address after it flagged as an interval end, none when the
 * prefix reaches the top of the address space (nft flags that start as
 * open in the element's user data, so `nft list` still prints a prefix:
 * so do we).  The end carries no timeout: the kernel removes it with its
 * start.  Listing does the reverse, pairing each start with the next end
 * in key order; what is not a whole prefix is someone else's and skipped.
 *
 * Whether the table is already as the configuration wants (so that a
 * start or a reload need not run nft, which reads every element of the
 * table first: 65 ms for 100,000) is told from dumps of its declarations:
 * the table, each set's flags, key, timeout and size, the base chain's
 * hook, priority and policy, the number of rules, and the first rule's
 * comment, which carries a digest of the whole text that made them
 * (fw_nft.c).  A rule edited in place by hand, with the digest's rule
 * left alone, is not seen; anything added, removed or declared otherwise
 * is, and the text runs again.
 *
 * Nothing here validates: the caller hands it validated struct fw_op and
 * the set names of fw_nft.c; the table name was checked by fw_nft_check().
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "addr.h"
#include "clock.h"
#include "fw_int.h"
#include "fw_nftnl.h"
#include "log.h"
#include "xmalloc.h"

/* Linux 6.3; older headers lack it (DESTROYTABLE is 26). */
#ifndef NFT_MSG_DESTROYSETELEM
#define NFT_MSG_DESTROYSETELEM	30
#endif

#define FW_NFTNL_ELEM_MAX	96	/* bytes of one element, at most */
#define FW_NFTNL_RCVBUF		(1024 * 1024)
#define FW_NFTNL_SNDBUF		(200 * 1024)	/* below the default's */
#define FW_NFTNL_TIMEOUT_MS	5000	/* for the kernel's answer */
#define FW_NFTNL_KEEP		(256 * 1024)	/* batch buffer kept */
/*
 * A dump's reads.  The kernel fills each answer up to about the largest
 * read it has seen, and walks a hash set from its start for each (the
 * elements already sent skipped), so listing 100,000 elements costs the
 * square of their number over a read's: 300 reads of 32 kB took 0.7 s
 * of kernel time, 180 of this 0.47 s.
 */
#define FW_NFTNL_DUMPBUF	(256 * 1024)
#define FW_NFTNL_LIST_TRIES	4	/* dumps of a hash set, at most */

/* One message of the batch being built, for the answers. */
struct fw_nftnl_msg {
	uint32_t		 seq;
	enum fw_nftnl_verb	 verb;
	const char		*set;		/* static: fw_nft.c's names */
	struct prefix		 first;		/* its first element */
	size_t			 n;		/* elements */
};

struct fw_nftnl {
	struct mnl_socket	*nl;
	uint32_t		 portid;
	uint32_t		 seq;		/* the next message's */
	uint32_t		 first;		/* the batch begin's */
	char			 table[64];
	char			*buf;		/* the batch */
	size_t			 len, cap;
	struct fw_nftnl_msg	*msgs;
	size_t			 nmsgs, msgcap;
	int			 sndbuf;	/* bytes asked for so far */
};

/* An element as listed, before starts and ends are paired. */
struct fw_nftnl_item {
	uint8_t		 key[16];
	int		 end;		/* an interval end */
	int64_t		 remaining;	/* us; 0: no timeout */
};

/* What fw_nftnl_list() collects. */
struct fw_nftnl_dump {
	struct fw_nftnl_item *v;
	size_t		 n, cap;
	size_t		 klen;		/* 4 or 16 */
	size_t		 msgs;		/* answers of the last dump */
};

static void	fw_nftnl_reserve(struct fw_nftnl *, size_t);
static struct nlmsghdr *fw_nftnl_msg(struct fw_nftnl *, uint16_t,
		    size_t, enum fw_nftnl_verb, const char *,
		    const struct fw_op *const *, size_t);
static int	fw_nftnl_end(const struct prefix *, uint8_t *);
static void	fw_nftnl_elem(struct nlmsghdr *, const struct prefix *,
		    int, int64_t, uint16_t *);
static void	fw_nftnl_cause(const struct fw_nftnl *, uint32_t, int,
		    char **);
static int	fw_nftnl_dump_cb(const struct nlmsghdr *, void *);
static int	fw_nftnl_item_cmp(const void *, const void *);
static void	fw_nftnl_uniq(struct fw_nftnl_dump *);
static int	fw_nftnl_prefix(const uint8_t *, const uint8_t *, size_t,
		    struct prefix *);
static void	fw_nftnl_entries(struct fw_nftnl_dump *, int,
		    struct fw_entry **, size_t *, size_t *);
static int	fw_nftnl_dump(struct fw_nftnl *, struct nlmsghdr *, char *,
		    mnl_cb_t, void *);
static int	fw_nftnl_table_cb(const struct nlmsghdr *, void *);
static int	fw_nftnl_set_cb(const struct nlmsghdr *, void *);
static int	fw_nftnl_chain_cb(const struct nlmsghdr *, void *);
static int	fw_nftnl_rule_cb(const struct nlmsghdr *, void *);

struct fw_nftnl *
fw_nftnl_open(const char *table, char **cause)
{
	struct fw_nftnl	*fn;
	struct timeval	 tv;
	int		 one = 1, rcv = FW_NFTNL_RCVBUF;

	fn = xcalloc(1, sizeof *fn);
	snprintf(fn->table, sizeof fn->table, "%s", table);
	if ((fn->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(fn->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		*cause = xasprintf("netfilter socket: %s", strerror(errno));
		fw_nftnl_close(fn);
		return NULL;
	}
	fn->portid = mnl_socket_get_portid(fn->nl);
	fn->seq = (uint32_t)clock_monotonic();
	fn->sndbuf = FW_NFTNL_SNDBUF;
	/* Errors without a copy of the refused message; room for many. */
	(void)mnl_socket_setsockopt(fn->nl, NETLINK_CAP_ACK, &one,
	    sizeof one);
	if (setsockopt(mnl_socket_get_fd(fn->nl), SOL_SOCKET,
	    SO_RCVBUFFORCE, &rcv, sizeof rcv) == -1)
		(void)setsockopt(mnl_socket_get_fd(fn->nl), SOL_SOCKET,
		    SO_RCVBUF, &rcv, sizeof rcv);
	tv.tv_sec = FW_NFTNL_TIMEOUT_MS / 1000;
	tv.tv_usec = 0;
	(void)setsockopt(mnl_socket_get_fd(fn->nl), SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof tv);
	return fn;
}

void
fw_nftnl_close(struct fw_nftnl *fn)
{
	if (fn == NULL)
		return;
	if (fn->nl != NULL)
		mnl_socket_close(fn->nl);
	free(fn->buf);
	free(fn->msgs);
	free(fn);
}

/* Room for more bytes at the end of the batch. */
static void
fw_nftnl_reserve(struct fw_nftnl *fn, size_t more)
{
	size_t	 need = fn->len + more;

	if (need <= fn->cap)
		return;
	if (need < 2 * fn->cap)
		need = 2 * fn->cap;
	/* Not cleared: libmnl writes every byte it sends, padding too. */
	fn->buf = xreallocarray(fn->buf, need, 1);
	fn->cap = need;
}

/* A new message at the end of the batch, noted in msgs; room for size. */
static struct nlmsghdr *
fw_nftnl_msg(struct fw_nftnl *fn, uint16_t type, size_t size,
    enum fw_nftnl_verb verb, const char *set, const struct fw_op *const *v,
    size_t n)
{
	struct fw_nftnl_msg	*m;

	if (fn->len == 0) {
		fw_nftnl_reserve(fn, MNL_NLMSG_HDRLEN * 2);
		fn->first = fn->seq;
		fn->len = nftnl_batch_begin(fn->buf, fn->seq++)->nlmsg_len;
	}
	/* The batch end needs room too. */
	fw_nftnl_reserve(fn, size + 256 + MNL_NLMSG_HDRLEN * 2);
	if (fn->nmsgs == fn->msgcap) {
		fn->msgcap = fn->msgcap ? fn->msgcap * 2 : 16;
		fn->msgs = xreallocarray(fn->msgs, fn->msgcap,
		    sizeof *fn->msgs);
	}
	m = &fn->msgs[fn->nmsgs++];
	m->seq = fn->seq++;
	m->verb = verb;
	m->set = set;
	if (n > 0)
		m->first = v[0]->prefix;
	m->n = n;
	return nftnl_nlmsg_build_hdr(fn->buf + fn->len, type, NFPROTO_INET,
	    type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, m->seq);
}

/*
 * The first address after p into end (its key): 0, or 1 if p reaches the
 * top of the address space (there is none).
 */
static int
fw_nftnl_end(const struct prefix *p, uint8_t *end)
{
	int	 w = addr_maxlen(&p->addr), i, carry;

	memcpy(end, p->addr.bytes, (size_t)w / 8);
	if (p->len == 0)
		return 1;
	/* Add 1 at bit len - 1 (from the top), carrying upward. */
	i = (p->len - 1) / 8;
	carry = (end[i] + (0x80 >> ((p->len - 1) % 8))) > 0xff;
	end[i] = (uint8_t)(end[i] + (0x80 >> ((p->len - 1) % 8)));
	while (carry && i-- > 0) {
		carry = end[i] == 0xff;
		end[i]++;
	}
	return carry;
}

/*
 * p's element (two for an interval set) at the end of nlh, inside its
 * element list; timeout in seconds, 0: none; *i the last element's index
 * in the list.  Written with libmnl directly, as libnftnl would write it
 * (an allocation an element there: a third of a restore's time).
 */
static void
fw_nftnl_elem(struct nlmsghdr *nlh, const struct prefix *p, int interval,
    int64_t timeout, uint16_t *i)
{
	/* NFTNL_UDATA_SET_ELEM_FLAGS, 4 bytes, NFTNL_SET_ELEM_F_INTERVAL_OPEN:
	 * what nft writes on a start with no end. */
	static const uint8_t	 open[] = { NFTNL_UDATA_SET_ELEM_FLAGS, 4,
				    NFTNL_SET_ELEM_F_INTERVAL_OPEN, 0, 0, 0 };
	struct nlattr		*el, *key;
	uint8_t			 end[16];
	uint32_t		 klen = (uint32_t)addr_maxlen(&p->addr) / 8;
	int			 top = 0;

	if (interval)
		top = fw_nftnl_end(p, end);
	el = mnl_attr_nest_start(nlh, ++*i);
	if (timeout > 0)
		mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT,
		    htobe64((uint64_t)timeout * 1000));
	key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, p->addr.bytes);
	mnl_attr_nest_end(nlh, key);
	if (interval && top)
		mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, sizeof open, open);
	mnl_attr_nest_end(nlh, el);
	if (!interval || top)
		return;
	el = mnl_attr_nest_start(nlh, ++*i);
	mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS,
	    htonl(NFT_SET_ELEM_INTERVAL_END));
	key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, end);
	mnl_attr_nest_end(nlh, key);
	mnl_attr_nest_end(nlh, el);
}

/* The message of each verb. */
static const uint16_t fw_nftnl_types[] = {
	[FW_NFTNL_ADD] = NFT_MSG_NEWSETELEM,
	[FW_NFTNL_DELETE] = NFT_MSG_DELSETELEM,
	[FW_NFTNL_DESTROY] = NFT_MSG_DESTROYSETELEM,
	[FW_NFTNL_FLUSH] = NFT_MSG_DELSETELEM
};

void
fw_nftnl_elems(struct fw_nftnl *fn, enum fw_nftnl_verb verb,
    const char *set, int interval, const struct fw_op *const *v, size_t n,
    size_t per, int64_t timeout)
{
	const uint16_t		*types = fw_nftnl_types;
	struct nlmsghdr		*nlh;
	struct nlattr		*list;
	size_t			 i, j, k;
	int64_t			 t;
	uint16_t		 idx;

	if (verb == FW_NFTNL_FLUSH) {
		nlh = fw_nftnl_msg(fn, types[verb], 256, verb, set, NULL, 0);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, fn->table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
		fn->len += nlh->nlmsg_len;
		return;
	}
	if (per == 0)
		per = 1;
	if (per > FW_NFTNL_PER_MAX)
		per = FW_NFTNL_PER_MAX;
	for (i = 0; i < n; i += k) {
		k = n - i < per ? n - i : per;
		nlh = fw_nftnl_msg(fn, types[verb], k * FW_NFTNL_ELEM_MAX +
		    256, verb, set, v + i, k);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, fn->table);
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		idx = 0;
		for (j = i; j < i + k; j++) {
			if (timeout == -1)
				t = fw_nft_seconds(v[j]->duration);
			else
				t = timeout;
			fw_nftnl_elem(nlh, &v[j]->prefix, interval,
			    verb == FW_NFTNL_ADD ? t : 0, &idx);
		}
		mnl_attr_nest_end(nlh, list);
		fn->len += nlh->nlmsg_len;
	}
}

void
fw_nftnl_key(struct fw_nftnl *fn, enum fw_nftnl_verb verb, const char *set,
    const void *key, size_t klen, int64_t timeout)
{
	struct nlmsghdr		*nlh;
	struct nlattr		*list, *el, *k;

	if (verb == FW_NFTNL_FLUSH || klen == 0 || klen > 16)
		return;
	nlh = fw_nftnl_msg(fn, fw_nftnl_types[verb], 256, verb, set, NULL, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, fn->table);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	el = mnl_attr_nest_start(nlh, 1);
	if (verb == FW_NFTNL_ADD && timeout > 0)
		mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT,
		    htobe64((uint64_t)timeout * 1000));
	k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, key);
	mnl_attr_nest_end(nlh, k);
	mnl_attr_nest_end(nlh, el);
	mnl_attr_nest_end(nlh, list);
	fn->len += nlh->nlmsg_len;
}

const void *
fw_nftnl_batch(const struct fw_nftnl *fn, size_t *len)
{
	*len = fn->len;
	return fn->buf;
}

int
fw_nftnl_empty(const struct fw_nftnl *fn)
{
	return fn->nmsgs == 0;
}

/* The cause of a refusal: the message's verb, set and elements. */
static void
fw_nftnl_cause(const struct fw_nftnl *fn, uint32_t seq, int err,
    char **cause)
{
	static const char *const verbs[] = {
		[FW_NFTNL_ADD] = "add",
		[FW_NFTNL_DELETE] = "delete",
		[FW_NFTNL_DESTROY] = "destroy",
		[FW_NFTNL_FLUSH] = "flush"
	};
	const struct fw_nftnl_msg *m = NULL;
	char		 a[ADDR_PREFIX_STRLEN];
	size_t		 i;

	for (i = 0; i < fn->nmsgs; i++)
		if (fn->msgs[i].seq == seq)
			m = &fn->msgs[i];
	if (m == NULL) {
		*cause = xasprintf("nftables: batch refused: %s",
		    strerror(err));
		return;
	}
	if (m->n == 0) {
		/* A flush, or an element that is no address. */
		*cause = xasprintf("nftables: %s %s inet %s %s: %s",
		    verbs[m->verb], m->verb == FW_NFTNL_FLUSH ? "set" :
		    "element", fn->table, m->set, strerror(err));
		return;
	}
	addr_prefix_ntop(&m->first, a, sizeof a);
	*cause = xasprintf("nftables: %s element inet %s %s { %s%s }: %s",
	    verbs[m->verb], fn->table, m->set, a, m->n > 1 ? ", ..." : "",
	    strerror(err));
}

int
fw_nftnl_commit(struct fw_nftnl *fn, char **cause)
{
	char			 rbuf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr		*nlh;
	const struct nlmsgerr	*e;
	uint32_t		 last, bad = 0;
	ssize_t			 r;
	int			 sz, err = 0, done = 0, rc = 0, flags = 0;

	if (fn->nmsgs == 0)
		return 0;
	/* The last message asks for the ack that ends the answers. */
	last = fn->msgs[fn->nmsgs - 1].seq;
	for (nlh = (struct nlmsghdr *)(void *)fn->buf;
	    mnl_nlmsg_ok(nlh, (int)((char *)fn->buf + fn->len - (char *)nlh));
	    nlh = mnl_nlmsg_next(nlh, &sz))
		if (nlh->nlmsg_seq == last)
			nlh->nlmsg_flags |= NLM_F_ACK;
	nftnl_batch_end(fn->buf + fn->len, fn->seq++);
	fn->len += ((struct nlmsghdr *)(void *)(fn->buf + fn->len))->nlmsg_len;
	/* The whole batch is one datagram: the send buffer must hold it. */
	if ((size_t)fn->sndbuf < fn->len) {
		sz = (int)fn->len;
		if (setsockopt(mnl_socket_get_fd(fn->nl), SOL_SOCKET,
		    SO_SNDBUFFORCE, &sz, sizeof sz) == -1)
			(void)setsockopt(mnl_socket_get_fd(fn->nl), SOL_SOCKET,
			    SO_SNDBUF, &sz, sizeof sz);
		fn->sndbuf = sz;
	}
	if (mnl_socket_sendto(fn->nl, fn->buf, fn->len) != (ssize_t)fn->len) {
		*cause = xasprintf("nftables: netlink send: %s",
		    strerror(errno));
		rc = -2;
		goto out;
	}
	/* nfnetlink handled the batch within sendmsg: every answer is
	 * queued; after a refusal, take what is left without waiting. */
	while (!done) {
		r = recv(mnl_socket_get_fd(fn->nl), rbuf, sizeof rbuf, flags);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && err != 0)
			break;
		if (r <= 0) {
			*cause = xasprintf("nftables: netlink answer: %s",
			    r == 0 ? "none" : strerror(errno));
			rc = -2;
			goto out;
		}
		sz = (int)r;
		for (nlh = (struct nlmsghdr *)(void *)rbuf;
		    mnl_nlmsg_ok(nlh, sz); nlh = mnl_nlmsg_next(nlh, &sz)) {
			/* Not of this batch: left by one that timed out. */
			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_seq - fn->first > last - fn->first)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error != 0 && err == 0) {
				err = -e->error;
				bad = nlh->nlmsg_seq;
				flags = MSG_DONTWAIT;
			}
			if (nlh->nlmsg_seq == last && err == 0)
				done = 1;
		}
	}
	if (err != 0) {
		fw_nftnl_cause(fn, bad, err, cause);
		rc = -1;
	}
out:
	fn->len = 0;
	fn->nmsgs = 0;
	/* A restore's buffer (100,000 bans: 10 MB) is not kept for the
	 * ban path's few hundred bytes. */
	if (fn->cap > FW_NFTNL_KEEP) {
		free(fn->buf);
		free(fn->msgs);
		fn->buf = NULL;
		fn->msgs = NULL;
		fn->cap = fn->msgcap = 0;
	}
	return rc;
}

/* Collects a dump message's elements. */
static int
fw_nftnl_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fw_nftnl_dump	*d = arg;
	struct nftnl_set	*s;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem	*e;
	struct fw_nftnl_item	*x;
	const void		*key;
	uint32_t		 klen;

	d->msgs++;
	if ((s = nftnl_set_alloc()) == NULL)
		fatal("nftnl_set_alloc");
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == -1) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	if ((it = nftnl_set_elems_iter_create(s)) == NULL)
		fatal("nftnl_set_elems_iter_create");
	while ((e = nftnl_set_elems_iter_next(it)) != NULL) {
		key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
		if (key == NULL || klen != d->klen)
			continue;
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 256;
			d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
		}
		x = &d->v[d->n++];
		memset(x, 0, sizeof *x);
		memcpy(x->key, key, klen);
		x->end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
		    (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
		    NFT_SET_ELEM_INTERVAL_END);
		/* ms left; an element in its last ms is still there: 1 us,
		 * rather than "no timeout". */
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
			x->remaining = (int64_t)nftnl_set_elem_get_u64(e,
			    NFTNL_SET_ELEM_EXPIRATION) * 1000;
		if (x->remaining == 0 && (nftnl_set_elem_is_set(e,
		    NFTNL_SET_ELEM_TIMEOUT) || nftnl_set_elem_is_set(e,
		    NFTNL_SET_ELEM_EXPIRATION)))
			x->remaining = 1;
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* Key order; an end before a start of the same key (a range ends where
 * the next begins). */
static int
fw_nftnl_item_cmp(const void *a, const void *b)
{
	const struct fw_nftnl_item *x = a, *y = b;
	int			 r;

	if ((r = memcmp(x->key, y->key, sizeof x->key)) != 0)
		return r;
	return y->end - x->end;
}

/*
 * The prefix of the range [start, end) of klen-byte keys (end NULL: to
 * the top) into p: 0, or -1 if it is no prefix.
 */
static int
fw_nftnl_prefix(const uint8_t *start, const uint8_t *end, size_t klen,
    struct prefix *p)
{
	uint8_t		 d[16];
	struct prefix	 m;
	int		 i, borrow = 0, bit = -1, len;

	/* d = end - start, modulo 2^(8 klen): a power of two for a prefix. */
	for (i = (int)klen - 1; i >= 0; i--) {
		int	 x = (end != NULL ? end[i] : 0) - start[i] - borrow;

		borrow = x < 0;
		d[i] = (uint8_t)(x + (borrow ? 256 : 0));
	}
	for (i = 0; i < (int)klen; i++) {
		if (d[i] == 0)
			continue;
		if ((d[i] & (d[i] - 1)) != 0 || bit != -1)
			return -1;
		bit = i * 8 + (7 - __builtin_ctz(d[i]));
	}
	/* d is 2^(8 klen - 1 - bit): the prefix is bit + 1 long; all zero
	 * (a wrap) is the whole space. */
	len = bit == -1 ? 0 : bit + 1;
	memset(&p->addr, 0, sizeof p->addr);
	if (klen == 4)
		addr_from_v4(&p->addr, start);
	else
		addr_from_v6(&p->addr, start);
	if (addr_maxlen(&p->addr) != (int)klen * 8)
		return -1;	/* ::ffff:a.b.c.d in an IPv6 set: not ours */
	addr_mask(&p->addr, len, &m);
	if (!addr_eq(&m.addr, &p->addr))
		return -1;
	p->len = (uint8_t)len;
	return 0;
}

/*
 * The listed elements as entries appended to *v: in a hash set each is a
 * host; in an interval set each start is paired with the next end in key
 * order (none: to the top), what makes no prefix skipped.
 */
static void
fw_nftnl_entries(struct fw_nftnl_dump *d, int interval, struct fw_entry **v,
    size_t *n, size_t *cap)
{
	const struct fw_nftnl_item *start = NULL;
	struct fw_entry	 e;
	size_t		 i;

	if (interval)
		qsort(d->v, d->n, sizeof *d->v, fw_nftnl_item_cmp);
	for (i = 0; i <= d->n; i++) {
		memset(&e, 0, sizeof e);
		if (!interval && i < d->n) {
			if (d->klen == 4)
				addr_from_v4(&e.prefix.addr, d->v[i].key);
			else
				addr_from_v6(&e.prefix.addr, d->v[i].key);
			if (addr_maxlen(&e.prefix.addr) != (int)d->klen * 8)
				continue;
			e.prefix.len = (uint8_t)(d->klen * 8);
			e.remaining = d->v[i].remaining;
		} else if (interval && i < d->n && !d->v[i].end) {
			/* Kept for its end; a start before it that had
			 * none was not the last, so no prefix of ours. */
			start = &d->v[i];
			continue;
		} else if (interval && start != NULL) {
			if (fw_nftnl_prefix(start->key, i < d->n ?
			    d->v[i].key : NULL, d->klen, &e.prefix) == -1) {
				start = NULL;
				continue;
			}
			e.remaining = start->remaining;
			start = NULL;
		} else
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*v = xreallocarray(*v, *cap, sizeof **v);
		}
		(*v)[(*n)++] = e;
	}
}

/*
 * Sends the dump request nlh (built in buf, FW_NFTNL_DUMPBUF bytes) and
 * hands each answer to cb; 0, or an errno.
 */
static int
fw_nftnl_dump(struct fw_nftnl *fn, struct nlmsghdr *nlh, char *buf,
    mnl_cb_t cb, void *arg)
{
	uint32_t	 seq = nlh->nlmsg_seq;
	ssize_t		 r;
	int		 rc = MNL_CB_OK;

	if (mnl_socket_sendto(fn->nl, nlh, nlh->nlmsg_len) == -1)
		return errno;
	while (rc > MNL_CB_STOP) {
		r = mnl_socket_recvfrom(fn->nl, buf, FW_NFTNL_DUMPBUF);
		if (r <= 0)
			return r == 0 ? EPIPE : errno;
		if ((rc = mnl_cb_run(buf, (size_t)r, seq, fn->portid, cb,
		    arg)) == MNL_CB_ERROR)
			return errno != 0 ? errno : EPROTO;
	}
	return 0;
}

/* The items sorted, each key once (a later dump's copy dropped). */
static void
fw_nftnl_uniq(struct fw_nftnl_dump *d)
{
	size_t	i, n = 0;

	qsort(d->v, d->n, sizeof *d->v, fw_nftnl_item_cmp);
	for (i = 0; i < d->n; i++)
		if (n == 0 || fw_nftnl_item_cmp(&d->v[n - 1], &d->v[i]) != 0)
			d->v[n++] = d->v[i];
	d->n = n;
}

/*
 * The kernel walks a hash set afresh for each answer of a dump, skipping
 * as many elements as the answers before held.  While it resizes the
 * table (after a large fill, or as many elements expire at once) the
 * order changes between answers, and a listing can miss elements (seen:
 * 98,775 of 100,000 right after a restore).  So a hash set's dump that
 * took more than one answer is done again, the union kept, until a dump
 * adds nothing: at most FW_NFTNL_LIST_TRIES.  A set that fits one answer
 * (some thousands of elements) is read once.  Interval sets are trees,
 * never resized.
 */
int
fw_nftnl_list(struct fw_nftnl *fn, const char *set, int interval,
    struct fw_entry **v, size_t *n, size_t *cap, char **cause)
{
	char			*buf;
	struct fw_nftnl_dump	 d;
	struct nftnl_set	*s;
	struct nlmsghdr		*nlh;
	size_t			 before;
	int			 err, try;

	memset(&d, 0, sizeof d);
	d.klen = set[strlen(set) - 1] == '6' ? 16 : 4;
	buf = xmalloc(FW_NFTNL_DUMPBUF);
	for (try = 0; try < FW_NFTNL_LIST_TRIES; try++) {
		if ((s = nftnl_set_alloc()) == NULL)
			fatal("nftnl_set_alloc");
		nftnl_set_set_str(s, NFTNL_SET_TABLE, fn->table);
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM,
		    NFPROTO_INET, NLM_F_DUMP, fn->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		before = d.n;
		d.msgs = 0;
		if ((err = fw_nftnl_dump(fn, nlh, buf, fw_nftnl_dump_cb,
		    &d)) != 0 || interval)
			break;
		fw_nftnl_uniq(&d);
		if (d.msgs <= 1 || (try > 0 && d.n == before))
			break;
	}
	free(buf);
	if (err != 0) {
		*cause = xasprintf("nftables: list set inet %s %s: %s",
		    fn->table, set, strerror(err));
		free(d.v);
		return -1;
	}
	fw_nftnl_entries(&d, interval, v, n, cap);
	free(d.v);
	return 0;
}

/* What fw_nftnl_current() compares, and what the dumps found. */
struct fw_nftnl_want {
	const char		*table;
	const struct fw_nftnl_decl *sets;
	size_t			 nsets;
	const struct fw_nftnl_chain *chain;
	int			 table_seen;
	size_t			 sets_seen;	/* sets[] found as declared
					 * (names are unique) */
	int			 chain_ok;
	size_t			 rules;
	int			 comment_ok;	/* the first rule's */
};

static int
fw_nftnl_table_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fw_nftnl_want	*w = arg;
	struct nftnl_table	*t;
	const char		*name;

	if ((t = nftnl_table_alloc()) == NULL)
		fatal("nftnl_table_alloc");
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 &&
	    (name = nftnl_table_get_str(t, NFTNL_TABLE_NAME)) != NULL &&
	    strcmp(name, w->table) == 0)
		w->table_seen = 1;
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int
fw_nftnl_set_cb(const struct nlmsghdr *nlh, void *arg)
{
	/* The flags a declaration sets; the kernel may add its own. */
	const uint32_t		 mask = NFT_SET_INTERVAL | NFT_SET_MAP |
				    NFT_SET_TIMEOUT | NFT_SET_EVAL |
				    NFT_SET_OBJECT | NFT_SET_CONCAT;
	struct fw_nftnl_want	*w = arg;
	const struct fw_nftnl_decl *d;
	struct nftnl_set	*s;
	const char		*name, *table;
	size_t			 i;

	if ((s = nftnl_set_alloc()) == NULL)
		fatal("nftnl_set_alloc");
	if (nftnl_set_nlmsg_parse(nlh, s) == -1 ||
	    (name = nftnl_set_get_str(s, NFTNL_SET_NAME)) == NULL ||
	    (table = nftnl_set_get_str(s, NFTNL_SET_TABLE)) == NULL ||
	    strcmp(table, w->table) != 0)
		goto out;
	for (i = 0; i < w->nsets; i++) {
		d = &w->sets[i];
		if (strcmp(name, d->name) != 0)
			continue;
		if ((nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & mask) ==
		    d->flags &&
		    nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) == d->klen &&
		    (!nftnl_set_is_set(s, NFTNL_SET_TIMEOUT) ? 0 :
		    nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT)) == d->timeout &&
		    (!nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE) ? 0 :
		    nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE)) == d->size)
			w->sets_seen++;
	}
out:
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int
fw_nftnl_chain_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fw_nftnl_want	*w = arg;
	const struct fw_nftnl_chain *c = w->chain;
	struct nftnl_chain	*ch;
	const char		*name, *table, *type;

	if ((ch = nftnl_chain_alloc()) == NULL)
		fatal("nftnl_chain_alloc");
	if (nftnl_chain_nlmsg_parse(nlh, ch) == 0 &&
	    (name = nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME)) != NULL &&
	    (table = nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE)) != NULL &&
	    (type = nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE)) != NULL &&
	    strcmp(table, w->table) == 0 && strcmp(name, c->name) == 0 &&
	    strcmp(type, c->type) == 0 &&
	    nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM) &&
	    nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM) == c->hook &&
	    nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO) == c->prio &&
	    nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) == NF_ACCEPT)
		w->chain_ok = 1;
	nftnl_chain_free(ch);
	return MNL_CB_OK;
}

static int
fw_nftnl_rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct fw_nftnl_want	*w = arg;
	struct nftnl_rule	*r;
	const char		*table, *chain;
	const uint8_t		*u, *end;
	uint32_t		 ulen;
	size_t			 clen = strlen(w->chain->comment) + 1;

	if ((r = nftnl_rule_alloc()) == NULL)
		fatal("nftnl_rule_alloc");
	if (nftnl_rule_nlmsg_parse(nlh, r) == -1 ||
	    (table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE)) == NULL ||
	    (chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)) == NULL ||
	    strcmp(table, w->table) != 0 || strcmp(chain, w->chain->name) != 0)
		goto out;
	/* User data: type, length, value; nft's comment is type 0 with its
	 * NUL. */
	if (w->rules++ == 0 && (u = nftnl_rule_get_data(r,
	    NFTNL_RULE_USERDATA, &ulen)) != NULL)
		for (end = u + ulen; end - u >= 2 && end - u - 2 >= u[1];
		    u += 2 + u[1])
			if (u[0] == NFTNL_UDATA_RULE_COMMENT && u[1] == clen &&
			    memcmp(u + 2, w->chain->comment, clen) == 0)
				w->comment_ok = 1;
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int
fw_nftnl_current(struct fw_nftnl *fn, const struct fw_nftnl_decl *sets,
    size_t nsets, const struct fw_nftnl_chain *chain, char **cause)
{
	struct fw_nftnl_want	 w;
	struct nftnl_set	*s;
	struct nftnl_chain	*c;
	struct nftnl_rule	*r;
	struct nlmsghdr		*nlh;
	char			*buf;
	int			 err;

	memset(&w, 0, sizeof w);
	w.table = fn->table;
	w.sets = sets;
	w.nsets = nsets;
	w.chain = chain;
	buf = xmalloc(FW_NFTNL_DUMPBUF);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET,
	    NLM_F_DUMP, fn->seq++);
	if ((err = fw_nftnl_dump(fn, nlh, buf, fw_nftnl_table_cb, &w)) != 0 ||
	    !w.table_seen)
		goto done;
	if ((s = nftnl_set_alloc()) == NULL)
		fatal("nftnl_set_alloc");
	nftnl_set_set_str(s, NFTNL_SET_TABLE, fn->table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET,
	    NLM_F_DUMP, fn->seq++);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if ((err = fw_nftnl_dump(fn, nlh, buf, fw_nftnl_set_cb, &w)) != 0 ||
	    w.sets_seen != w.nsets)
		goto done;
	if ((c = nftnl_chain_alloc()) == NULL)
		fatal("nftnl_chain_alloc");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, fn->table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET,
	    NLM_F_DUMP, fn->seq++);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	if ((err = fw_nftnl_dump(fn, nlh, buf, fw_nftnl_chain_cb, &w)) != 0 ||
	    !w.chain_ok)
		goto done;
	if ((r = nftnl_rule_alloc()) == NULL)
		fatal("nftnl_rule_alloc");
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, fn->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain->name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET,
	    NLM_F_DUMP, fn->seq++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	err = fw_nftnl_dump(fn, nlh, buf, fw_nftnl_rule_cb, &w);
done:
	free(buf);
	/* A missing table is an answer (ENOENT), not a failure. */
	if (err != 0 && err != ENOENT) {
		*cause = xasprintf("nftables: list table inet %s: %s",
		    fn->table, strerror(err));
		return -1;
	}
	return err == 0 && w.table_seen && w.chain_ok &&
	    w.rules == chain->rules && w.comment_ok;
}
