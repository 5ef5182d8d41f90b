/*
 * The nftables backend's netlink side (fw_nftnl.c): set elements added,
 * removed and listed by libnftnl on a netfilter socket kept open.
 */
#ifndef FW_NFTNL_H
#define FW_NFTNL_H

#include <stddef.h>
#include <stdint.h>

#include "fw.h"

/* What a message of a batch does to its set's elements. */
enum fw_nftnl_verb {
	FW_NFTNL_ADD,		/* NEWSETELEM; no EXCL: a re-add is no error */
	FW_NFTNL_DELETE,	/* DELSETELEM: fails on a missing element */
	FW_NFTNL_DESTROY,	/* DESTROYSETELEM (Linux 6.3): never fails */
	FW_NFTNL_FLUSH		/* DELSETELEM with no element: all of them */
};

struct fw_nftnl;

/* Elements a message at most: their list is an attribute, whose length
 * is 16 bits (an IPv6 prefix, start and end, takes under 100 bytes). */
#define FW_NFTNL_PER_MAX	512

/* A socket for table (kept: the caller's configuration may go); NULL and
 * *cause if netlink cannot be had. */
struct fw_nftnl	*fw_nftnl_open(const char *table, char **cause);
void		 fw_nftnl_close(struct fw_nftnl *);

/*
 * Appends to the batch being built messages doing verb to the n prefixes
 * of v in set, at most per
 * of them a message: an error names the message, so per 1 maps it to one
 * operation.  interval: the set holds ranges (a prefix is a start and an
 * end element).  timeout: -1 each op's duration, > 0 that many seconds,
 * 0 none.  For FW_NFTNL_FLUSH, v and n are unused.
 */
void		 fw_nftnl_elems(struct fw_nftnl *, enum fw_nftnl_verb,
		    const char *set, int interval,
		    const struct fw_op *const *v, size_t n, size_t per,
		    int64_t timeout);
/*
 * Appends a message doing verb (not FW_NFTNL_FLUSH) to the one element
 * whose key is the klen bytes (1 to 16) at key, in set: for keys that are
 * no address, as surge mode's switch (an inet_proto).  timeout: seconds
 * (ADD only), 0 none.  A refusal names the set.
 */
void		 fw_nftnl_key(struct fw_nftnl *, enum fw_nftnl_verb,
		    const char *set, const void *key, size_t klen,
		    int64_t timeout);
/* The batch being built, without its end, for the tests; *len bytes. */
const void	*fw_nftnl_batch(const struct fw_nftnl *, size_t *len);
/* 1 if the batch being built does nothing. */
int		 fw_nftnl_empty(const struct fw_nftnl *);
/*
 * Sends the batch as one transaction and reads the kernel's answers; the
 * batch is emptied either way.  0 if committed; -1 and *cause naming the
 * operation the kernel refused and its reason (nothing changed); -2 and
 * *cause if the socket itself failed (nothing known: the caller falls
 * back to nft).
 */
int		 fw_nftnl_commit(struct fw_nftnl *, char **cause);
/*
 * Appends the elements of set (an interval set if interval) to *v (*n of
 * them, room for *cap; caller frees): addresses and prefixes, with their
 * time left; ranges that are no prefix are skipped.  0, or -1 and *cause.
 */
int		 fw_nftnl_list(struct fw_nftnl *, const char *set,
		    int interval, struct fw_entry **v, size_t *n,
		    size_t *cap, char **cause);

/* A set as the table's declaration makes it. */
struct fw_nftnl_decl {
	const char	*name;
	uint32_t	 flags;		/* NFT_SET_INTERVAL, _TIMEOUT, _EVAL */
	uint32_t	 klen;		/* key bytes */
	uint64_t	 timeout;	/* ms, the set's own; 0: none */
	uint32_t	 size;		/* 0: none */
};

/* The base chain as the declaration makes it, and its rules. */
struct fw_nftnl_chain {
	const char	*name;
	const char	*type;		/* "filter" */
	uint32_t	 hook;		/* NF_INET_* */
	int32_t		 prio;
	size_t		 rules;		/* how many */
	const char	*comment;	/* the first rule's */
};

/*
 * 1 if the table exists with the n sets as declared (at most 64), and
 * chain as declared (policy accept) holding its number of rules, the
 * first with its comment; 0 if anything differs or is missing; -1 and
 * *cause if the kernel cannot be asked.
 */
int		 fw_nftnl_current(struct fw_nftnl *,
		    const struct fw_nftnl_decl *, size_t n,
		    const struct fw_nftnl_chain *chain, char **cause);

#endif /* FW_NFTNL_H */
