/*
 * A bounded hash table that hands out entry indices, with keyed hashing
 * and intrusive age lists: the one table under the tracker, the flow
 * table, the rollups, the filters' join and dedup tables and the bans.
 *
 * The table stores no keys and no values.  It gives each entry an index
 * below its capacity; the user keeps its entries in an array of its own,
 * indexed the same way, so they stay compact and it compares its own keys.
 * The table keeps, per index, a node: the hash chain, 30 bits of the hash
 * (a chain is walked without touching the user's array), the links of one
 * of up to HTAB_LISTS age lists, and which list.  Every entry in use is on
 * exactly one list, oldest to newest: LRU order if the user touches on
 * use, write order for TTL expiry, or classes of entries (probation and
 * protected, half-open and live).  The table never evicts by itself:
 * full, htab_insert() fails and the user picks a victim (htab_oldest())
 * and removes it, so eviction policy and counters stay with the user.
 *
 * Indices are stable until removal; a removed index is the next one
 * handed out (last in, first out).  Fresh indices (a new table, or the
 * room htab_grow() adds) are handed out lowest first, so a table nothing
 * was removed from holds exactly the indices 0 to htab_used() - 1 (the
 * report relies on it).
 */
#ifndef HTAB_H
#define HTAB_H

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

#define HTAB_NIL	 UINT32_MAX	/* no entry */
#define HTAB_LISTS	 3		/* age lists per table, at most */
#define HTAB_CAPACITY_MAX (1U << 30)

/* Per index; the user reads nothing here but through the functions. */
struct htab_node {
	uint32_t	 chain;		/* next in bucket, or in the free list */
	uint32_t	 hash;		/* hash bits 63..34, list in bits 1..0 */
	uint32_t	 older, newer;	/* age list links */
};

struct htab_list {
	uint32_t	 oldest, newest;
	uint32_t	 n;
};

/* Embedded in its user; the fields are private to htab.c (and tests). */
struct htab {
	struct htab_node *node;		/* cap of them */
	uint32_t	*bucket;	/* chain heads, 2^(32 - shift) */
	uint32_t	 cap;		/* allocated so far */
	uint32_t	 max;		/* the bound: cap grows up to it */
	uint32_t	 used;
	uint32_t	 free;		/* free list through chain */
	unsigned int	 shift;		/* bucket = top bits of the hash */
	unsigned int	 nlists;
	struct htab_list list[HTAB_LISTS];
	struct siphash_key key;
};

/*
 * Sets up an empty table of at most capacity entries (1 to
 * HTAB_CAPACITY_MAX), with nlists age lists (1 to HTAB_LISTS), at least as
 * many buckets as entries, and the hash key key (NULL: a random one).
 * Nodes and buckets are allocated for a few entries and grown by inserts,
 * up to capacity.  Fatal if out of memory.
 */
void		 htab_init(struct htab *, uint32_t capacity, unsigned int nlists,
		    const struct siphash_key *key);
/* Frees the table's memory; the struct may be initialised again. */
void		 htab_clear(struct htab *);
/*
 * Raises the capacity (up to HTAB_CAPACITY_MAX) and allocates it now,
 * keeping every index and list order; the new indices are handed out
 * lowest first.  The user then grows its own array to htab_capacity().
 * Fatal if out of memory.
 */
void		 htab_grow(struct htab *, uint32_t capacity);
/* What an insert into a full table of cap allocated entries, bounded by
 * max, allocates: HTAB_START at first, then twice as many, up to max. */
uint32_t	 htab_next_cap(uint32_t cap, uint32_t max);

/* The keyed hash of data[0..len) for this table (SipHash-2-4). */
uint64_t	 htab_hash(const struct htab *, const void *data, size_t len);

/*
 * The first entry whose hash may be h, or HTAB_NIL; then the next one
 * after i.  The user compares its key: distinct hashes can share the
 * stored bits.
 *	for (i = htab_find(t, h); i != HTAB_NIL; i = htab_find_next(t, i, h))
 */
uint32_t	 htab_find(const struct htab *, uint64_t h);
uint32_t	 htab_find_next(const struct htab *, uint32_t i, uint64_t h);

/*
 * A new entry for hash h, at the newest end of list; HTAB_NIL if the
 * table is full at its capacity (remove a victim first).  Below it, a
 * table without a free node allocates more first (fatal if out of
 * memory).  The user's entry at the index holds whatever it held: the
 * user initialises it.
 */
uint32_t	 htab_insert(struct htab *, uint64_t h, unsigned int list);
/* Takes entry i out of the table; its index is free again. */
void		 htab_remove(struct htab *, uint32_t i);
/* Moves entry i to the newest end of list, its own or another. */
void		 htab_touch(struct htab *, uint32_t i, unsigned int list);

/* The list entry i is on, or -1 if i is free.  A walk of every entry in
 * use: the indices below htab_capacity() whose list is not -1. */
int		 htab_list_of(const struct htab *, uint32_t i);
/*
 * The oldest entry of list, and the one after i towards the newest end;
 * HTAB_NIL past the end.  Removing i while walking is safe if the walk
 * took htab_newer() of i first.
 */
uint32_t	 htab_oldest(const struct htab *, unsigned int list);
uint32_t	 htab_newer(const struct htab *, uint32_t i);
/* Entries on list; entries in use; entries at most; entries allocated
 * (nodes: at most htab_capacity(), grown on demand). */
uint32_t	 htab_count(const struct htab *, unsigned int list);
uint32_t	 htab_used(const struct htab *);
uint32_t	 htab_capacity(const struct htab *);
uint32_t	 htab_allocated(const struct htab *);
/* Bytes the table holds once full (nodes and buckets at its capacity, not
 * the user's entries): what its bound costs at most. */
uint64_t	 htab_bytes(const struct htab *);

#endif /* HTAB_H */
