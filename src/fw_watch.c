/*
 * The nftables table watched.
 *
 * Someone may take xmppguard's bans out of the kernel behind its back: `nft
 * flush ruleset` (a firewall script reloading its own rules), `nft delete
 * table inet xmppguard`, a set flushed.  The daemon would go on believing
 * its bans in force while the kernel held none.  So it listens to the
 * kernel's own account of every ruleset change: a netlink socket in the
 * NFNLGRP_NFTABLES group, read in the loop.  The kernel checks
 * CAP_NET_ADMIN when the socket joins the group only, so the daemon opens
 * it before it drops privileges, as it opens the conntrack sockets; under
 * privilege separation the daemon watches and decides, and the helper does
 * the restore (priv.c's PRIV_REPLACE).  Nothing is polled: an idle
 * firewall costs nothing, a change is seen the moment it is committed.
 *
 * The kernel tells each change of a transaction, then a NEWGEN message
 * that ends it; the changes to our table are gathered until that end and
 * judged per transaction, because ours change the table too: a ban is an
 * element added, an unban one deleted, an extension on an older kernel
 * one deleted and added again, and a reload flushes the chain's rules and
 * adds them again in one transaction.  Judged so:
 *
 *	the table, one of its sets, its chain deleted	never ours: changed
 *	more of the chain's rules deleted than added	changed
 *	elements deleted and not added again in the	changed if a ban in
 *	same transaction				force (with time left)
 *							has that address
 *
 * The last asks the ban table (the caller's held callback), so an unban
 * of ours, an expiry, or a ban widened from one set to another is no
 * change.  An element's key is its address; an interval set's elements
 * are the start of each range (its end elements, flagged, are skipped)
 * and a network banned there begins at that address.  At most
 * FW_WATCH_KEYS_MAX keys are kept per transaction: more (a transaction of
 * a million elements) are not followed, rather than judged on half.
 *
 * Notifications lost (ENOBUFS: the socket's buffer overran) cannot be
 * judged: the caller is told to check (certain 0), and lists the sets
 * rather than restoring blindly, since a restore of a large table is
 * itself a flood of notifications.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "addr.h"
#include "fw_int.h"
#include "fw_watch.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define FW_WATCH_BUF		(64 * 1024)	/* one datagram */
#define FW_WATCH_RCVBUF		(8 * 1024 * 1024)
#define FW_WATCH_BUDGET		256		/* datagrams a callback */
#define FW_WATCH_KEYS_MAX	(1U << 20)	/* a transaction's keys */
#define FW_WATCH_WHAT_MAX	160
#define FW_WATCH_ATTR_MAX	32		/* attribute types read */

_Static_assert(NFTA_TABLE_MAX <= FW_WATCH_ATTR_MAX &&
    NFTA_SET_MAX <= FW_WATCH_ATTR_MAX && NFTA_CHAIN_MAX <= FW_WATCH_ATTR_MAX &&
    NFTA_RULE_MAX <= FW_WATCH_ATTR_MAX &&
    NFTA_SET_ELEM_LIST_MAX <= FW_WATCH_ATTR_MAX,
    "room for every attribute read");

/* An element's address, as a set holds it. */
struct fw_watch_key {
	uint8_t		 len;		/* 4 or 16 */
	uint8_t		 interval;	/* of an interval set */
	uint8_t		 bytes[16];
	uint8_t		 set;		/* fw_nft_set_kind()'s index */
};

/* What one transaction did to the table, until its NEWGEN. */
struct fw_watch_txn {
	int		 table_gone;
	int		 others_gone;	/* other tables deleted with it */
	int		 chain_gone;
	char		 set_gone[32];
	uint32_t	 rules_del, rules_new;
	struct fw_watch_key *del, *add;
	size_t		 ndel, nadd, delcap, addcap;
	int		 too_many;
};

struct fw_watch {
	struct loop	*loop;
	struct mnl_socket *nl;
	char		 table[33];
	fw_watch_held_cb held;
	fw_watch_changed_cb changed;
	void		*arg;
	struct fw_watch_txn txn;
	uint8_t		*buf;
	struct fw_watch_stats st;
};

static void
fw_watch_txn_reset(struct fw_watch_txn *t)
{
	t->table_gone = t->others_gone = t->chain_gone = 0;
	t->set_gone[0] = '\0';
	t->rules_del = t->rules_new = 0;
	t->ndel = t->nadd = 0;
	t->too_many = 0;
}

static void
fw_watch_key_add(struct fw_watch_txn *t, int deleted,
    const struct fw_watch_key *k)
{
	struct fw_watch_key	**v = deleted ? &t->del : &t->add;
	size_t			 *n = deleted ? &t->ndel : &t->nadd;
	size_t			 *cap = deleted ? &t->delcap : &t->addcap;

	if (*n >= FW_WATCH_KEYS_MAX) {
		t->too_many = 1;
		return;
	}
	if (*n == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = *k;
}

static int
fw_watch_key_cmp(const void *a, const void *b)
{
	const struct fw_watch_key	*x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->bytes, y->bytes, x->len);
}

/* A string attribute as a C string, or NULL. */
static const char *
fw_watch_str(const struct nlattr *a)
{
	if (a == NULL || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return NULL;
	return mnl_attr_get_str(a);
}

/* The attributes of a message after its nfgenmsg, by type, up to max. */
static void
fw_watch_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb,
    int max)
{
	struct nlattr	*a;	/* not const: mnl_attr_for_each casts */

	memset(tb, 0, (size_t)(max + 1) * sizeof(*tb));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) <= max)
			tb[mnl_attr_get_type(a)] = a;
	}
}

/* One element of a NEWSETELEM or DELSETELEM: its key, unless an end. */
static void
fw_watch_elem(struct fw_watch *w, const struct nlattr *elem, int set,
    int interval, int deleted)
{
	struct nlattr		*a, *b, *key = NULL; /* mnl casts */
	struct fw_watch_key	 k;
	uint32_t		 flags = 0;

	mnl_attr_for_each_nested(a, elem) {
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_KEY)
			key = a;
		else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_FLAGS &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			flags = ntohl(mnl_attr_get_u32(a));
	}
	if (key == NULL || (flags & NFT_SET_ELEM_INTERVAL_END))
		return;
	mnl_attr_for_each_nested(b, key) {
		if (mnl_attr_get_type(b) != NFTA_DATA_VALUE ||
		    (mnl_attr_get_payload_len(b) != 4 &&
		    mnl_attr_get_payload_len(b) != 16))
			continue;
		memset(&k, 0, sizeof(k));
		k.len = (uint8_t)mnl_attr_get_payload_len(b);
		k.interval = (uint8_t)interval;
		k.set = (uint8_t)set;
		memcpy(k.bytes, mnl_attr_get_payload(b), k.len);
		fw_watch_key_add(&w->txn, deleted, &k);
	}
}

static void
fw_watch_setelem(struct fw_watch *w, const struct nlmsghdr *nlh,
    int deleted)
{
	const struct nlattr	*tb[FW_WATCH_ATTR_MAX + 1];
	struct nlattr		*a;	/* mnl_attr_for_each casts */
	const char		*table, *set;
	int			 kind;

	fw_watch_attrs(nlh, tb, NFTA_SET_ELEM_LIST_MAX);
	table = fw_watch_str(tb[NFTA_SET_ELEM_LIST_TABLE]);
	set = fw_watch_str(tb[NFTA_SET_ELEM_LIST_SET]);
	if (table == NULL || set == NULL || strcmp(table, w->table) != 0 ||
	    (kind = fw_nft_set_kind(set)) == -1 ||
	    tb[NFTA_SET_ELEM_LIST_ELEMENTS] == NULL)
		return;
	mnl_attr_for_each_nested(a, tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		if (mnl_attr_get_type(a) == NFTA_LIST_ELEM)
			fw_watch_elem(w, a, fw_nft_set_index(set), kind,
			    deleted);
}

/* One notification: noted if it touches the table. */
static void
fw_watch_msg(struct fw_watch *w, const struct nlmsghdr *nlh)
{
	const struct nlattr	*tb[FW_WATCH_ATTR_MAX + 1];
	const struct nfgenmsg	*g;
	const char		*table, *name;
	int			 type;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return;
	w->st.messages++;
	type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (type == NFT_MSG_NEWGEN)
		return;		/* the caller ends the transaction */
	g = mnl_nlmsg_get_payload(nlh);
	if (g->nfgen_family != NFPROTO_INET)
		return;
	switch (type) {
	case NFT_MSG_DELTABLE:
		fw_watch_attrs(nlh, tb, NFTA_TABLE_MAX);
		table = fw_watch_str(tb[NFTA_TABLE_NAME]);
		if (table != NULL && strcmp(table, w->table) == 0)
			w->txn.table_gone = 1;
		else if (table != NULL)
			w->txn.others_gone = 1;
		break;
	case NFT_MSG_DELSET:
		fw_watch_attrs(nlh, tb, NFTA_SET_MAX);
		table = fw_watch_str(tb[NFTA_SET_TABLE]);
		name = fw_watch_str(tb[NFTA_SET_NAME]);
		if (table != NULL && name != NULL &&
		    strcmp(table, w->table) == 0 &&
		    fw_nft_set_kind(name) != -1 && w->txn.set_gone[0] == '\0')
			snprintf(w->txn.set_gone, sizeof(w->txn.set_gone),
			    "%s", name);
		break;
	case NFT_MSG_DELCHAIN:
		fw_watch_attrs(nlh, tb, NFTA_CHAIN_MAX);
		table = fw_watch_str(tb[NFTA_CHAIN_TABLE]);
		if (table != NULL && strcmp(table, w->table) == 0)
			w->txn.chain_gone = 1;
		break;
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		fw_watch_attrs(nlh, tb, NFTA_RULE_MAX);
		table = fw_watch_str(tb[NFTA_RULE_TABLE]);
		if (table == NULL || strcmp(table, w->table) != 0)
			break;
		if (type == NFT_MSG_DELRULE)
			w->txn.rules_del++;
		else
			w->txn.rules_new++;
		break;
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		fw_watch_setelem(w, nlh, type == NFT_MSG_DELSETELEM);
		break;
	}
}

/*
 * The end of a transaction: what it did to the table, told once (the
 * first thing of the list at the top of the file that applies).
 */
static void
fw_watch_txn_end(struct fw_watch *w)
{
	struct fw_watch_txn	*t = &w->txn;
	struct fw_watch_key	*k;
	struct addr		 a;
	char			 what[FW_WATCH_WHAT_MAX];
	const char		*set = NULL;
	size_t			 i, lost = 0;

	what[0] = '\0';
	if (t->table_gone)
		snprintf(what, sizeof(what), "table inet %s vanished (%s?)",
		    w->table, t->others_gone ? "flush ruleset" :
		    "delete table");
	else if (t->set_gone[0] != '\0')
		snprintf(what, sizeof(what), "set inet %s %s deleted",
		    w->table, t->set_gone);
	else if (t->chain_gone)
		snprintf(what, sizeof(what), "chain inet %s filter deleted",
		    w->table);
	else if (t->rules_del > t->rules_new)
		snprintf(what, sizeof(what), "%u %s of chain inet %s filter "
		    "deleted", t->rules_del - t->rules_new,
		    t->rules_del - t->rules_new == 1 ? "rule" : "rules",
		    w->table);
	else if (t->ndel > 0 && !t->too_many) {
		if (t->nadd > 1)
			qsort(t->add, t->nadd, sizeof(*t->add),
			    fw_watch_key_cmp);
		for (i = 0; i < t->ndel; i++) {
			k = &t->del[i];
			if (t->nadd > 0 && bsearch(k, t->add, t->nadd,
			    sizeof(*t->add), fw_watch_key_cmp) != NULL)
				continue;
			memset(&a, 0, sizeof(a));
			a.family = k->len == 4 ? AF_INET : AF_INET6;
			memcpy(a.bytes, k->bytes, k->len);
			if (!w->held(&a, k->interval, w->arg))
				continue;
			if (lost++ == 0)
				set = fw_nft_set_name(k->set);
		}
		if (lost > 0)
			snprintf(what, sizeof(what), "%zu %s in force deleted "
			    "from set inet %s %s%s", lost, lost == 1 ? "ban" :
			    "bans", w->table, set != NULL ? set : "?",
			    lost > 1 ? " (flush set?)" : "");
	}
	fw_watch_txn_reset(t);
	if (what[0] == '\0')
		return;
	w->st.changes++;
	w->changed(what, 1, w->arg);
}

/* One datagram of notifications (a test feeds its own). */
static void
fw_watch_input(struct fw_watch *w, const void *buf, size_t len)
{
	const struct nlmsghdr	*nlh = buf;
	int			 left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		fw_watch_msg(w, nlh);
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES &&
		    NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN)
			fw_watch_txn_end(w);
	}
}

static void
fw_watch_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct fw_watch	*w = arg;
	ssize_t		 n;
	int		 k;

	(void)loop;
	(void)events;
	for (k = 0; k < FW_WATCH_BUDGET; k++) {
		n = recv(fd, w->buf, FW_WATCH_BUF, MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* A transaction half seen is not judged. */
				w->st.overruns++;
				fw_watch_txn_reset(&w->txn);
				w->changed("firewall notifications lost (socket "
				    "overrun)", 0, w->arg);
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("fw: nftables notifications");
			return;
		}
		fw_watch_input(w, w->buf, (size_t)n);
	}
}

/* The watcher without a socket: what the tests drive. */
static struct fw_watch *
fw_watch_new(const char *table, fw_watch_held_cb held,
    fw_watch_changed_cb changed, void *arg)
{
	struct fw_watch	*w;

	w = xcalloc(1, sizeof(*w));
	snprintf(w->table, sizeof(w->table), "%s", table);
	w->held = held;
	w->changed = changed;
	w->arg = arg;
	return w;
}

struct fw_watch *
fw_watch_open(struct loop *loop, const char *table, fw_watch_held_cb held,
    fw_watch_changed_cb changed, void *arg, char **cause)
{
	struct fw_watch	*w;
	int		 size = FW_WATCH_RCVBUF, fd;

	w = fw_watch_new(table, held, changed, arg);
	if ((w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) == NULL ||
	    mnl_socket_bind(w->nl, 1U << (NFNLGRP_NFTABLES - 1),
	    MNL_SOCKET_AUTOPID) == -1) {
		*cause = xasprintf("nftables notifications: %s",
		    strerror(errno));
		fw_watch_close(w);
		return NULL;
	}
	fd = mnl_socket_get_fd(w->nl);
	/* A storm of bans is a storm of notifications: room for them
	 * (FORCE: as root, above rmem_max; else what the system allows). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof(size));
	w->buf = xmalloc(FW_WATCH_BUF);
	w->loop = loop;
	if (loop_fd_add(loop, fd, LOOP_READ, fw_watch_read_cb, w) == -1) {
		*cause = xasprintf("nftables notifications: loop: %s",
		    strerror(errno));
		w->loop = NULL;
		fw_watch_close(w);
		return NULL;
	}
	return w;
}

void
fw_watch_set_table(struct fw_watch *w, const char *table)
{
	snprintf(w->table, sizeof(w->table), "%s", table);
	fw_watch_txn_reset(&w->txn);
}

void
fw_watch_close(struct fw_watch *w)
{
	if (w == NULL)
		return;
	if (w->nl != NULL) {
		if (w->loop != NULL)
			(void)loop_fd_del(w->loop, mnl_socket_get_fd(w->nl));
		mnl_socket_close(w->nl);
	}
	free(w->txn.del);
	free(w->txn.add);
	free(w->buf);
	free(w);
}

void
fw_watch_get_stats(const struct fw_watch *w, struct fw_watch_stats *st)
{
	*st = w->st;
}
