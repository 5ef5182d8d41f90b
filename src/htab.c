/*
 * The bounded hash table (htab.h): nodes parallel to the user's entries,
 * chained buckets, age lists.
 *
 * Layout.  One array of 16-byte nodes, one per index, and a power of two
 * of bucket heads, at least one per entry so chains stay short.  All are
 * indices (32 bits, not pointers), which halves the memory of links and
 * lets the user's array be indexed by them.  The bucket of a hash is its
 * top bits; the node keeps hash bits 63..34 with the list number in the
 * two low bits, so a chain is compared without the user's array, and a
 * growing table rehashes from the nodes alone (buckets never use more
 * than 30 bits).  The bits below the bucket's tell chain neighbours
 * apart: 10 of them at a million buckets, a false match in a thousand
 * comparisons, which the user's key comparison catches.
 *
 * Growth.  A table is set up for its bound (max: what the configuration
 * allows) but allocates nodes and buckets for HTAB_START entries only, and
 * doubles them, up to the bound, when an insert finds no free node.  So a
 * daemon at rest holds kilobytes where its bounds allow megabytes, and a
 * flood costs what it fills, never more than the bound.  Doubling keeps
 * the rehash amortised: each entry is moved O(1) times on average.
 *
 * Invariants: an index below cap is either free (list bits HTAB_FREE, on
 * the free list through chain) or used (on the chain of its bucket and on
 * exactly one age list, whose count includes it); used + free = cap <=
 * max; the free list is empty before cap grows; lists run oldest to newest
 * through newer, back through older.
 */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "xmalloc.h"

#define HTAB_FREE	3U		/* list bits of a free node */
#define HTAB_LISTBITS	3U
#define HTAB_START	1024U		/* entries allocated at first */

static uint32_t	htab_bits(uint64_t);
static uint32_t	htab_bucket(const struct htab *, uint32_t);
static void	htab_link(struct htab *, uint32_t, unsigned int);
static void	htab_unlink(struct htab *, uint32_t);
static void	htab_buckets(struct htab *, uint32_t);
static void	htab_alloc(struct htab *, uint32_t);

void
htab_init(struct htab *t, uint32_t capacity, unsigned int nlists,
    const struct siphash_key *key)
{
	unsigned int	l;

	if (capacity < 1)
		capacity = 1;
	if (capacity > HTAB_CAPACITY_MAX)
		capacity = HTAB_CAPACITY_MAX;
	if (nlists < 1)
		nlists = 1;
	if (nlists > HTAB_LISTS)
		nlists = HTAB_LISTS;
	memset(t, 0, sizeof(*t));
	t->nlists = nlists;
	for (l = 0; l < HTAB_LISTS; l++)
		t->list[l].oldest = t->list[l].newest = HTAB_NIL;
	if (key != NULL)
		t->key = *key;
	else
		siphash_key_random(&t->key);
	t->free = HTAB_NIL;
	t->bucket = NULL;
	t->max = capacity;
	htab_alloc(t, capacity < HTAB_START ? capacity : HTAB_START);
}

void
htab_clear(struct htab *t)
{
	free(t->node);
	free(t->bucket);
	memset(t, 0, sizeof(*t));
}

/* Bucket heads for capacity entries: rebuilt from the nodes if more. */
static void
htab_buckets(struct htab *t, uint32_t capacity)
{
	uint32_t	i, b, nb = 2, shift = 31;

	while (nb < capacity) {
		nb <<= 1;
		shift--;
	}
	if (t->bucket != NULL && shift == t->shift)
		return;
	free(t->bucket);
	t->bucket = xreallocarray(NULL, nb, sizeof(*t->bucket));
	memset(t->bucket, 0xff, (size_t)nb * sizeof(*t->bucket));
	t->shift = shift;
	for (i = 0; i < t->cap; i++) {
		if ((t->node[i].hash & HTAB_LISTBITS) == HTAB_FREE)
			continue;
		b = htab_bucket(t, t->node[i].hash);
		t->node[i].chain = t->bucket[b];
		t->bucket[b] = i;
	}
}

void
htab_grow(struct htab *t, uint32_t capacity)
{
	if (capacity > HTAB_CAPACITY_MAX)
		capacity = HTAB_CAPACITY_MAX;
	if (capacity > t->max)
		t->max = capacity;
	htab_alloc(t, capacity);
}

/* The next allocation of a table that is full below its bound. */
uint32_t
htab_next_cap(uint32_t cap, uint32_t max)
{
	if (cap >= max)
		return max;
	if (cap < HTAB_START)
		return max < HTAB_START ? max : HTAB_START;
	return cap > max / 2 ? max : cap * 2;
}

/* Nodes and buckets for capacity entries (never fewer than now). */
static void
htab_alloc(struct htab *t, uint32_t capacity)
{
	uint32_t	i;

	if (capacity <= t->cap)
		return;
	t->node = xreallocarray(t->node, capacity, sizeof(*t->node));
	for (i = capacity; i > t->cap; i--) {
		t->node[i - 1].chain = t->free;
		t->node[i - 1].hash = HTAB_FREE;
		t->node[i - 1].older = t->node[i - 1].newer = HTAB_NIL;
		t->free = i - 1;
	}
	/* The old nodes first, so that htab_buckets() sees only them. */
	htab_buckets(t, capacity);
	t->cap = capacity;
}

uint64_t
htab_hash(const struct htab *t, const void *data, size_t len)
{
	return siphash24(&t->key, data, len);
}

/* What a node keeps of a hash: bits 63..34, the list bits clear. */
static uint32_t
htab_bits(uint64_t h)
{
	return (uint32_t)(h >> 32) & ~HTAB_LISTBITS;
}

static uint32_t
htab_bucket(const struct htab *t, uint32_t bits)
{
	return bits >> t->shift;
}

uint32_t
htab_find(const struct htab *t, uint64_t h)
{
	uint32_t	bits = htab_bits(h), i;

	for (i = t->bucket[htab_bucket(t, bits)]; i != HTAB_NIL;
	    i = t->node[i].chain)
		if ((t->node[i].hash & ~HTAB_LISTBITS) == bits)
			return i;
	return HTAB_NIL;
}

uint32_t
htab_find_next(const struct htab *t, uint32_t i, uint64_t h)
{
	uint32_t	bits = htab_bits(h);

	for (i = t->node[i].chain; i != HTAB_NIL; i = t->node[i].chain)
		if ((t->node[i].hash & ~HTAB_LISTBITS) == bits)
			return i;
	return HTAB_NIL;
}

/* Puts i at the newest end of list l. */
static void
htab_link(struct htab *t, uint32_t i, unsigned int l)
{
	struct htab_node	*n = &t->node[i];
	struct htab_list	*lp = &t->list[l];

	n->hash = (n->hash & ~HTAB_LISTBITS) | l;
	n->newer = HTAB_NIL;
	n->older = lp->newest;
	if (lp->newest != HTAB_NIL)
		t->node[lp->newest].newer = i;
	else
		lp->oldest = i;
	lp->newest = i;
	lp->n++;
}

static void
htab_unlink(struct htab *t, uint32_t i)
{
	struct htab_node	*n = &t->node[i];
	struct htab_list	*lp = &t->list[n->hash & HTAB_LISTBITS];

	if (n->older != HTAB_NIL)
		t->node[n->older].newer = n->newer;
	else
		lp->oldest = n->newer;
	if (n->newer != HTAB_NIL)
		t->node[n->newer].older = n->older;
	else
		lp->newest = n->older;
	lp->n--;
}

uint32_t
htab_insert(struct htab *t, uint64_t h, unsigned int list)
{
	struct htab_node	*n;
	uint32_t		 i, b;

	if (list >= t->nlists)
		return HTAB_NIL;
	if (t->free == HTAB_NIL && t->cap < t->max)
		htab_alloc(t, htab_next_cap(t->cap, t->max));
	if ((i = t->free) == HTAB_NIL)
		return HTAB_NIL;
	n = &t->node[i];
	t->free = n->chain;
	n->hash = htab_bits(h);
	b = htab_bucket(t, n->hash);
	n->chain = t->bucket[b];
	t->bucket[b] = i;
	htab_link(t, i, list);
	t->used++;
	return i;
}

void
htab_remove(struct htab *t, uint32_t i)
{
	struct htab_node	*n = &t->node[i];
	uint32_t		*pp;

	if ((n->hash & HTAB_LISTBITS) == HTAB_FREE)
		return;
	for (pp = &t->bucket[htab_bucket(t, n->hash)]; *pp != i;
	    pp = &t->node[*pp].chain)
		;
	*pp = n->chain;
	htab_unlink(t, i);
	n->hash = HTAB_FREE;
	n->older = n->newer = HTAB_NIL;
	n->chain = t->free;
	t->free = i;
	t->used--;
}

void
htab_touch(struct htab *t, uint32_t i, unsigned int list)
{
	unsigned int	l = t->node[i].hash & HTAB_LISTBITS;

	if (l == HTAB_FREE || list >= t->nlists)
		return;
	/* Already there: a touch right after the insert, or a burst of
	 * events from one source. */
	if (l == list && t->list[l].newest == i)
		return;
	htab_unlink(t, i);
	htab_link(t, i, list);
}

int
htab_list_of(const struct htab *t, uint32_t i)
{
	unsigned int	l;

	/* Not allocated yet: free. */
	if (i >= t->cap)
		return -1;
	l = t->node[i].hash & HTAB_LISTBITS;
	return l == HTAB_FREE ? -1 : (int)l;
}

uint32_t
htab_oldest(const struct htab *t, unsigned int list)
{
	return list < t->nlists ? t->list[list].oldest : HTAB_NIL;
}

uint32_t
htab_newer(const struct htab *t, uint32_t i)
{
	return t->node[i].newer;
}

uint32_t
htab_count(const struct htab *t, unsigned int list)
{
	return list < t->nlists ? t->list[list].n : 0;
}

uint32_t
htab_used(const struct htab *t)
{
	return t->used;
}

uint32_t
htab_capacity(const struct htab *t)
{
	return t->max;
}

uint32_t
htab_allocated(const struct htab *t)
{
	return t->cap;
}

uint64_t
htab_bytes(const struct htab *t)
{
	uint64_t	nb = 2;

	/* At the bound, as htab_buckets() would size it. */
	while (nb < t->max)
		nb <<= 1;
	return (uint64_t)t->max * sizeof(*t->node) + nb * sizeof(*t->bucket);
}
