/*
 * The tracker's accounts: which distinct accounts logged in lately from a
 * host or a network, and which were registered lately, so that its limits
 * grow with the people behind an address (rule.c's account-aware limits)
 * while a bot that does not log in, or logs in as one account, keeps the
 * base limits.
 *
 * Sets.  An entry that sees a login gets an account set from a pool
 * allocated at the first login, so a tracker that never sees one (no log,
 * or a server that does not log logins) costs no memory and behaves as
 * before.  A set holds up to TRACK_ACCOUNTS 32-bit hashes of account
 * names, each with the time it last logged in, in open addressing with
 * linear probing.  The hash is SipHash with the tracker's key (the
 * daemon's, random at each start), so names cannot be chosen to collide.
 * A slot is never emptied, only reused, so a probe stops at the first
 * empty slot.  At the bound, a set that is full takes a new account in
 * the place of the one that logged in least recently: the count stays at
 * TRACK_ACCOUNTS, above any account_max, so a full set still raises the
 * limits by their cap.  Two names with one 32-bit hash count as one
 * account: the room they buy is a little less, never more.
 *
 * A set also holds the time its entry (a host) last authenticated an s2s
 * stream, for the federation peers: a peer is a host with a set, so the
 * entries themselves grow by nothing.  A set belongs to an entry while the
 * entry's index points at it and the set holds the entry's key: an entry
 * evicted and reused for another address finds no set; reused for the
 * same address, it finds its own again, which is still right.
 *
 * The pool holds a set for at most capacity / 64 entries (16 to 4096), a
 * bound set at the first login.  When it is full, a set is taken back by
 * a clock (second chance): a set used since the hand last passed is
 * skipped once.  A set whose entry was evicted from the table, or whose
 * entry has gone to a new address, is free at once.  An entry whose set is taken falls back to its base
 * limits until its accounts log in again.
 *
 * Registrations.  An account registered within the window is not an
 * established one: a throwaway account registered and then logged in
 * raises nothing.  The registrations of every address are remembered in
 * one table of TRACK_REGISTERED hashes with their time, so
 * an account registered from one address and used from another is known
 * too.  The table is set-associative, TRACK_REGISTERED_WAYS slots per
 * bucket chosen by the hash.  At the bound, a registration overwrites the
 * oldest of its bucket, and the account overwritten may then count as
 * established: account_max still bounds what that buys.
 *
 * Pure, as the rest of the tracker: the present is the time of the event.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "event.h"
#include "siphash.h"
#include "track.h"
#include "track_int.h"
#include "xmalloc.h"

static uint32_t	track_account_pool(uint32_t);
static int	track_account_alloc(struct track *);
static uint32_t	track_account_take(struct track *, uint32_t);
static struct track_accounts *track_account_set(const struct track *,
		    uint32_t);

uint32_t
track_account_hash(const struct track *t, const char *user)
{
	uint64_t	h = siphash24(&t->tab.key, user, strlen(user));

	/* 0 marks a free slot. */
	return (uint32_t)h != 0 ? (uint32_t)h : 1;
}

/* Sets for capacity entries: a sixty-fourth, 16 to 4096, no more than
 * there are entries. */
static uint32_t
track_account_pool(uint32_t capacity)
{
	uint32_t	n = capacity / 64;

	if (n < TRACK_ACCOUNT_SETS_MIN)
		n = TRACK_ACCOUNT_SETS_MIN;
	if (n > TRACK_ACCOUNT_SETS_MAX)
		n = TRACK_ACCOUNT_SETS_MAX;
	return n < capacity ? n : capacity;
}

/* The pool and the registrations, at the first use.  Allocation failure
 * is not fatal on the event path: the login is not counted. */
static int
track_account_alloc(struct track *t)
{
	uint32_t	k;

	if (t->acct != NULL)
		return 0;
	t->nacct = track_account_pool(t->capacity);
	if ((t->acct = calloc(t->nacct, sizeof(*t->acct))) == NULL)
		goto fail;
	if ((t->acct_of = calloc(t->capacity, sizeof(*t->acct_of))) == NULL)
		goto fail;
	if ((t->reg = calloc(TRACK_REGISTERED, sizeof(*t->reg))) == NULL)
		goto fail;
	for (k = 0; k < t->nacct; k++)
		t->acct[k].owner = TRACK_NIL;
	t->hand = 0;
	return 0;

fail:
	track_account_free(t);
	return -1;
}

void
track_account_free(struct track *t)
{
	free(t->acct);
	free(t->acct_of);
	free(t->reg);
	t->acct = NULL;
	t->acct_of = NULL;
	t->reg = NULL;
	t->nacct = 0;
}

/* The set of entry i, or NULL: the entry must point at it, and it hold
 * the entry and its key (see above). */
static struct track_accounts *
track_account_set(const struct track *t, uint32_t i)
{
	uint32_t	k;

	if (t->acct == NULL || (k = t->acct_of[i]) == 0 || k > t->nacct ||
	    t->acct[k - 1].owner != i || memcmp(&t->acct[k - 1].key,
	    &t->e[i].key, sizeof(t->e[i].key)) != 0)
		return NULL;
	return &t->acct[k - 1];
}

int
track_account_has(const struct track *t, uint32_t i)
{
	return track_account_set(t, i) != NULL;
}

/* A set for entry i, emptied: a free one, or the clock's victim. */
static uint32_t
track_account_take(struct track *t, uint32_t i)
{
	struct track_accounts	*a;
	uint32_t		 k = t->hand, n;

	/* Two turns at most: the first clears every second chance. */
	for (n = 0; n < 2 * t->nacct; n++) {
		k = t->hand;
		t->hand = (t->hand + 1) % t->nacct;
		a = &t->acct[k];
		if (a->owner != TRACK_NIL && track_account_set(t,
		    a->owner) == a) {
			if (a->used) {
				a->used = 0;
				continue;
			}
			t->acct_of[a->owner] = 0;
			t->stats.account_sets_taken++;
		}
		break;
	}
	a = &t->acct[k];
	memset(a, 0, sizeof(*a));
	a->owner = i;
	a->key = t->e[i].key;
	t->acct_of[i] = k + 1;
	return k;
}

void
track_account_add(struct track *t, uint32_t i, uint32_t hash, int64_t now)
{
	struct track_accounts	*a;
	struct track_account	*s, *old = NULL;
	uint32_t		 k, n, sec = track_sec(now);

	if (track_account_alloc(t) == -1)
		return;
	if ((a = track_account_set(t, i)) == NULL)
		a = &t->acct[track_account_take(t, i)];
	a->used = 1;
	for (n = 0, k = hash % TRACK_ACCOUNTS; n < TRACK_ACCOUNTS;
	    n++, k = (k + 1) % TRACK_ACCOUNTS) {
		s = &a->a[k];
		if (s->hash == hash || s->hash == 0)
			break;
		if (old == NULL || s->seen < old->seen)
			old = s;
	}
	if (n == TRACK_ACCOUNTS)
		s = old;	/* full: the least recent makes room */
	if (s->hash != hash) {
		s->hash = hash;
		s->seen = sec;
	} else if (sec > s->seen)
		s->seen = sec;
}

void
track_account_peer(struct track *t, uint32_t i, int64_t now)
{
	struct track_accounts	*a;
	uint32_t		 sec = track_sec(now);

	if (track_account_alloc(t) == -1)
		return;
	if ((a = track_account_set(t, i)) == NULL)
		a = &t->acct[track_account_take(t, i)];
	a->used = 1;
	if (sec > a->peer)
		a->peer = sec;
}

uint32_t
track_account_peer_sec(const struct track *t, uint32_t i)
{
	const struct track_accounts	*a = track_account_set(t, i);

	return a != NULL ? a->peer : 0;
}

void
track_account_register(struct track *t, uint32_t hash, int64_t now)
{
	struct track_registered	*b, *r;
	uint32_t		 k;

	if (track_account_alloc(t) == -1)
		return;
	b = &t->reg[hash % (TRACK_REGISTERED / TRACK_REGISTERED_WAYS) *
	    TRACK_REGISTERED_WAYS];
	r = b;
	for (k = 0; k < TRACK_REGISTERED_WAYS; k++) {
		if (b[k].hash == hash) {
			r = &b[k];
			break;
		}
		if (b[k].sec < r->sec)
			r = &b[k];	/* the oldest, or a free one */
	}
	r->hash = hash;
	r->sec = track_sec(now);
}

/* 1 if the account was registered no earlier than since (s). */
static int
track_account_registered(const struct track *t, uint32_t hash,
    uint32_t since)
{
	const struct track_registered	*b;
	uint32_t			 k;

	b = &t->reg[hash % (TRACK_REGISTERED / TRACK_REGISTERED_WAYS) *
	    TRACK_REGISTERED_WAYS];
	for (k = 0; k < TRACK_REGISTERED_WAYS; k++) {
		if (b[k].hash == hash)
			return b[k].sec >= since;
	}
	return 0;
}

void
track_account_login(struct track *t, const struct conf *conf,
    const struct event *ev)
{
	struct prefix	host, net;
	uint32_t	hi, h = track_account_hash(t, ev->user);
	int		netlen;

	addr_mask(&ev->addr, addr_maxlen(&ev->addr), &host);
	hi = track_get(t, &host, ev->time, TRACK_NIL);
	track_protect(t, hi);
	track_account_add(t, hi, h, ev->time);
	netlen = ev->addr.family == AF_INET ? conf->track_prefix4 :
	    conf->track_prefix6;
	if (netlen > 0 && netlen < addr_maxlen(&ev->addr)) {
		addr_mask(&ev->addr, netlen, &net);
		hi = track_get(t, &net, ev->time, hi);
		track_protect(t, hi);
		track_account_add(t, hi, h, ev->time);
	}
}

uint32_t
track_account_count(const struct track *t, uint32_t i, int64_t now,
    int64_t window)
{
	const struct track_accounts	*a;
	uint32_t			 k, n = 0, since, sec = track_sec(now);
	int64_t				 w = window / CLOCK_US_PER_SEC;

	if ((a = track_account_set(t, i)) == NULL)
		return 0;
	since = w >= sec ? 0 : sec - (uint32_t)w;
	for (k = 0; k < TRACK_ACCOUNTS; k++) {
		if (a->a[k].hash != 0 && a->a[k].seen >= since &&
		    !track_account_registered(t, a->a[k].hash, since))
			n++;
	}
	return n;
}
