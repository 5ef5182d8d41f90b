/*
 * A batch for the nftables backend (fw_nft.c): which prefixes leave and
 * enter which set, one operation per prefix (the last wins), in the order
 * the kernel and nft want them; and the batch as nft text, for the
 * fallback and for the tests.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fw.h"
#include "fw_int.h"
#include "fw_nft_int.h"
#include "log.h"
#include "siphash.h"
#include "xmalloc.h"

static int	fw_nft_op_cmp(const void *, const void *);
static int	fw_nft_key_cmp(const void *, const void *);
static void	fw_nft_elements(FILE *, const char *, const char *,
		    const struct fw_op *const *, size_t, int64_t);

/* The set for a prefix: its family and length, ban or throttle, and the
 * ban's scope (a throttle keeps to the services'); -1 if none. */
int
fw_nft_set_of(const struct prefix *p, int throttle, enum fw_scope scope)
{
	int	 v6;

	if (p->addr.family == AF_INET)
		v6 = 0;
	else if (p->addr.family == AF_INET6)
		v6 = 1;
	else
		return -1;
	if (p->len > addr_maxlen(&p->addr))
		return -1;
	if (throttle)
		return v6 ? FW_NFT_THR6 : FW_NFT_THR4;
	if (scope == FW_SCOPE_PROXY) {
		if (p->len == addr_maxlen(&p->addr))
			return v6 ? FW_NFT_PRX6 : FW_NFT_PRX4;
		return v6 ? FW_NFT_PNET6 : FW_NFT_PNET4;
	}
	if (p->len == addr_maxlen(&p->addr))
		return v6 ? FW_NFT_BAN6 : FW_NFT_BAN4;
	return v6 ? FW_NFT_NET6 : FW_NFT_NET4;
}

/*
 * An op's place in a batch's order, by prefix, then by position, so the
 * last of a prefix is the last of its run: compared as bytes, apart from
 * the ops (a restore sorts 100,000 of them; 24 bytes each stay in cache,
 * the ops do not).
 */
struct fw_nft_key {
	uint8_t		 k[19];		/* family's rank, family, address,
					 * length */
	uint32_t	 i;		/* the op's position */
};

/* Orders pointers to ops of distinct prefixes by prefix. */
static int
fw_nft_op_cmp(const void *a, const void *b)
{
	const struct fw_op *const	*x = a, *const *y = b;
	int				 r;

	if ((r = addr_cmp(&(*x)->prefix.addr, &(*y)->prefix.addr)) != 0)
		return r;
	return (*x)->prefix.len < (*y)->prefix.len ? -1 :
	    (*x)->prefix.len > (*y)->prefix.len;
}

static int
fw_nft_key_cmp(const void *a, const void *b)
{
	const struct fw_nft_key	*x = a, *y = b;
	int			 r;

	if ((r = memcmp(x->k, y->k, sizeof x->k)) != 0)
		return r;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void
fw_nft_key(const struct fw_op *op, size_t i, struct fw_nft_key *key)
{
	const struct prefix	*p = &op->prefix;

	/* addr_cmp()'s order: IPv4, then IPv6, then the rest. */
	key->k[0] = p->addr.family == AF_INET ? 1 :
	    p->addr.family == AF_INET6 ? 2 : 0;
	key->k[1] = p->addr.family;
	memcpy(key->k + 2, p->addr.bytes, sizeof p->addr.bytes);
	key->k[18] = p->len;
	key->i = (uint32_t)i;
}

/*
 * Keeps of key[0..n) the last of each prefix, in their order, and says
 * how many: by a hash of the prefixes (keyed, since the addresses are
 * the attackers'), for batches too long to sort quickly (a restore:
 * 100,000 ops in the order of the ban table sort in 45 ms; this takes a
 * tenth of that).
 */
static size_t
fw_nft_last(struct fw_nft_key *key, size_t n)
{
	struct siphash_key	 sk;
	uint32_t		*slot, j;
	size_t			 cap = 16, mask, i, h, m = 0;

	while (cap < 2 * n)
		cap *= 2;
	mask = cap - 1;
	slot = xreallocarray(NULL, cap, sizeof *slot);
	memset(slot, 0xff, cap * sizeof *slot);
	siphash_key_random(&sk);
	for (i = 0; i < n; i++) {
		h = siphash24(&sk, key[i].k, sizeof key[i].k) & mask;
		while ((j = slot[h]) != UINT32_MAX &&
		    memcmp(key[j].k, key[i].k, sizeof key[i].k) != 0)
			h = (h + 1) & mask;
		if (j != UINT32_MAX)
			key[j].i = UINT32_MAX;	/* a later op wins */
		slot[h] = (uint32_t)i;
	}
	free(slot);
	for (i = 0; i < n; i++)
		if (key[i].i != UINT32_MAX)
			key[m++] = key[i];
	return m;
}

/*
 * Sorts a batch into removals and additions per set, one operation per
 * prefix (the last).  A ban or throttle first removes the prefix from its
 * own set (a replacement, so the new timeout holds); an unban removes it
 * from its ban and its throttle set.  A ban of the proxy scope also
 * leaves the services' set (it may be a ban widened), and its unban
 * clears both.  A throttle without a configured rate is a ban.  Prefixes
 * that fit no set are dropped (the caller validated them).  sorted: each
 * set's prefixes in address order (the text, and the ban path, whose
 * messages are named by their first); else a hash set's in the batch's
 * order (the kernel's hash takes any), an interval set's sorted still,
 * as nft sends them (its overlap checks have had bugs in other orders).
 */
void
fw_nft_plan(const struct fw_nft *nft, int update, int sorted,
    const struct fw_op *ops, size_t n, struct fw_nft_plan *pl)
{
	struct fw_nft_key	*key;
	const struct fw_op	*op;
	size_t			 i;
	int			 s, t, thr;

	memset(pl, 0, sizeof *pl);
	if (n == 0)
		return;
	/* Positions beyond 32 bits: no batch is that long. */
	key = xreallocarray(NULL, n, sizeof *key);
	for (i = 0; i < n; i++)
		fw_nft_key(&ops[i], i, &key[i]);
	if (sorted)
		qsort(key, n, sizeof *key, fw_nft_key_cmp);
	else
		n = fw_nft_last(key, n);
	for (s = 0; s < FW_NFT_NSETS; s++) {
		pl->del[s] = xreallocarray(NULL, n, sizeof *pl->del[s]);
		pl->add[s] = xreallocarray(NULL, n, sizeof *pl->add[s]);
	}
	for (i = 0; i < n; i++) {
		if (i + 1 < n && memcmp(key[i].k, key[i + 1].k,
		    sizeof key[i].k) == 0)
			continue;
		op = &ops[key[i].i];
		switch (op->kind) {
		case FW_BAN:
		case FW_THROTTLE:
			thr = op->kind == FW_THROTTLE && nft->throttle > 0;
			s = fw_nft_set_of(&op->prefix, thr, op->scope);
			if (s == -1)
				break;
			if (!update)
				pl->del[s][pl->ndel[s]++] = op;
			pl->add[s][pl->nadd[s]++] = op;
			if (!thr && op->scope == FW_SCOPE_PROXY) {
				t = fw_nft_set_of(&op->prefix, 0,
				    FW_SCOPE_SERVICES);
				pl->del[t][pl->ndel[t]++] = op;
			}
			break;
		case FW_KNOWN:
		case FW_SURGE:
			break;		/* fw_nft_surge() */
		case FW_UNBAN:
			s = fw_nft_set_of(&op->prefix, 0, op->scope);
			t = fw_nft_set_of(&op->prefix, op->scope !=
			    FW_SCOPE_PROXY, FW_SCOPE_SERVICES);
			if (s == -1)
				break;
			pl->del[s][pl->ndel[s]++] = op;
			pl->del[t][pl->ndel[t]++] = op;
			break;
		}
	}
	if (!sorted)
		for (s = 0; s < FW_NFT_NSETS; s++)
			if (fw_nft_set_kind(fw_nft_set_name(s)) == 1) {
				qsort(pl->del[s], pl->ndel[s],
				    sizeof *pl->del[s], fw_nft_op_cmp);
				qsort(pl->add[s], pl->nadd[s],
				    sizeof *pl->add[s], fw_nft_op_cmp);
			}
	free(key);
}

void
fw_nft_plan_free(struct fw_nft_plan *pl)
{
	int	 s;

	for (s = 0; s < FW_NFT_NSETS; s++) {
		free(pl->del[s]);
		free(pl->add[s]);
	}
}

/*
 * Writes `VERB element inet T SET { ... }` statements for n prefixes, at
 * most FW_NFT_CHUNK a statement; each with a timeout of its op's duration
 * if timeout is -1, of timeout seconds if > 0, none if 0.
 */
static void
fw_nft_elements(FILE *f, const char *verb, const char *head,
    const struct fw_op *const *v, size_t n, int64_t timeout)
{
	char	 a[ADDR_PREFIX_STRLEN];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (i % FW_NFT_CHUNK == 0)
			fprintf(f, "%s%s element %s { ", i ? " }\n" : "", verb,
			    head);
		else
			fputs(", ", f);
		if (v[i]->prefix.len == addr_maxlen(&v[i]->prefix.addr))
			addr_ntop(&v[i]->prefix.addr, a, sizeof a);
		else
			addr_prefix_ntop(&v[i]->prefix, a, sizeof a);
		fputs(a, f);
		if (timeout == -1)
			fprintf(f, " timeout %" PRId64 "s",
			    fw_nft_seconds(v[i]->duration));
		else if (timeout > 0)
			fprintf(f, " timeout %" PRId64 "s", timeout);
	}
	if (n > 0)
		fputs(" }\n", f);
}

/*
 * The transaction for a batch (see the top of the file); NULL if it does
 * nothing.  The caller frees.
 */
char *
fw_nft_apply_text(const struct fw_nft *nft, int destroy, int update,
    const struct fw_op *ops, size_t n, size_t *lenp)
{
	struct fw_nft_plan	 pl;
	FILE			*f;
	char			*buf = NULL, head[64];
	size_t			 len = 0;
	int			 s, any = 0;

	fw_nft_plan(nft, update, 1, ops, n, &pl);
	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	for (s = 0; s < FW_NFT_NSETS; s++) {
		snprintf(head, sizeof head, "inet %s %s", nft->table,
		    fw_nft_set_name(s));
		if (destroy)
			fw_nft_elements(f, "destroy", head, pl.del[s],
			    pl.ndel[s], 0);
		else {
			fw_nft_elements(f, "add", head, pl.del[s], pl.ndel[s],
			    1);
			fw_nft_elements(f, "delete", head, pl.del[s],
			    pl.ndel[s], 0);
		}
		fw_nft_elements(f, "add", head, pl.add[s], pl.nadd[s], -1);
		any |= pl.ndel[s] > 0 || pl.nadd[s] > 0;
	}
	fw_nft_plan_free(&pl);
	if (fclose(f) != 0)
		fatal("open_memstream");
	if (!any) {
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}
