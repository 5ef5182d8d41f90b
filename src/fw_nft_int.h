/*
 * The nftables backend's insides, shared by fw_nft.c (open, the table
 * check, the netlink and text paths) and fw_nft_plan.c (what a batch does
 * to each set, and its text).  Nothing else includes this.
 */
#ifndef XG_FW_NFT_INT_H
#define XG_FW_NFT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fw.h"

#define FW_NFT_CHUNK		4096		/* elements per statement */

struct fw_nftnl;

/* The sets, in the order of their names (fw_nft_set_name()). */
enum fw_nft_set {
	FW_NFT_BAN4,
	FW_NFT_BAN6,
	FW_NFT_NET4,
	FW_NFT_NET6,
	FW_NFT_THR4,
	FW_NFT_THR6,
	FW_NFT_PRX4,		/* the proxy scope: hosts */
	FW_NFT_PRX6,
	FW_NFT_PNET4,		/* and networks */
	FW_NFT_PNET6,
	FW_NFT_NSETS
};

/* The backend's state (fw->priv): its settings and what open probed. */
struct fw_nft {
	char		 table[33];	/* [ban] nft_table: inet <table> */
	uint64_t	 throttle;	/* [ban] throttle, bytes/s; 0: none */
	int		 destroy;	/* nft and kernel: destroy element */
	int		 update;	/* a re-add sets the new timeout */
	char		*caps;		/* kcap_text() for the configuration,
					 * stale caps removed first; NULL:
					 * none */
	struct fw_nftnl	*nl;		/* NULL: nft -f - for everything */
	char		 comment[64];	/* the first rule's, with the
					 * digest of the open text */
	size_t		 rules;		/* in the chain */
};

/* What a batch does to one set: prefixes to remove, prefixes to add. */
struct fw_nft_plan {
	const struct fw_op	**del[FW_NFT_NSETS];
	size_t			 ndel[FW_NFT_NSETS];
	const struct fw_op	**add[FW_NFT_NSETS];
	size_t			 nadd[FW_NFT_NSETS];
};

int	 fw_nft_set_of(const struct prefix *, int, enum fw_scope);
void	 fw_nft_plan(const struct fw_nft *, int, int, const struct fw_op *,
	    size_t, struct fw_nft_plan *);
void	 fw_nft_plan_free(struct fw_nft_plan *);
char	*fw_nft_apply_text(const struct fw_nft *, int, int,
	    const struct fw_op *, size_t, size_t *);

#endif
