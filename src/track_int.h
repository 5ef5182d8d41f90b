/*
 * Internals of the tracker, shared by its files and by nothing else:
 * track.c (the table, the rules' state, judging events) and
 * track_rebuild.c (refilling the rings from the store at start and at a
 * reload).  Other modules include track.h only.
 */
#ifndef TRACK_INT_H
#define TRACK_INT_H

#include <stdint.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "event.h"
#include "htab.h"
#include "rule.h"
#include "track.h"

#define TRACK_NIL		HTAB_NIL
#define TRACK_CAPACITY_MIN	2	/* a host and its network */
#define TRACK_CAPACITY_MAX	(1U << 28)
#define TRACK_SLOTS		8	/* services tracked at once */
#define TRACK_RING		6	/* buckets per max_new window */
/* Bucket numbers are kept modulo a multiple of TRACK_RING, so that a
 * bucket's place in the ring stays right when the number wraps. */
#define TRACK_RING_MOD		\
	((uint32_t)TRACK_RING * (UINT32_MAX / TRACK_RING))
#define TRACK_WINDOW_DEFAULT	(3600 * CLOCK_US_PER_SEC)
#define TRACK_KARMA_MAX		INT32_MAX

/* The log rules' slots (no service name starts with '@'). */
#define TRACK_SLOT_AUTH		"@auth"
#define TRACK_SLOT_REGISTER	"@register"

/* Accounts (track_account.c). */
#define TRACK_ACCOUNTS		256	/* accounts per set: >= account_max */
#define TRACK_ACCOUNT_SETS_MIN	16
#define TRACK_ACCOUNT_SETS_MAX	4096
#define TRACK_REGISTERED	4096	/* registrations remembered */
#define TRACK_REGISTERED_WAYS	8	/* slots per bucket */

/* The two eviction lists. */
#define TRACK_PROBATION		0
#define TRACK_PROTECTED		1

/* track_slot.flags: a rule's verdict issued and standing. */
#define TRACK_S_CONCURRENCY	0x01
#define TRACK_S_CHURN		0x02
#define TRACK_S_KARMA		0x04
#define TRACK_S_KARMA_ON	0x08	/* credit initialised */
#define TRACK_S_REBUILD		0x10	/* ring being refilled (rebuild) */

/* In use iff the table's index is; links and list are the table's. */
struct track_entry {
	struct prefix	 key;
	uint32_t	 last_seen;	/* s */
	uint32_t	 handshake;	/* s, last event proving a completed
					 * handshake (conntrack); 0: none */
};

/* One account seen logging in. */
struct track_account {
	uint32_t	 hash;		/* of its name; 0: a free slot */
	uint32_t	 seen;		/* last login, s */
};

/* The distinct accounts of one entry, and its s2s authentication. */
struct track_accounts {
	struct track_account a[TRACK_ACCOUNTS];	/* open addressing */
	struct prefix	 key;		/* the owner's, while it owns it */
	uint32_t	 owner;		/* entry index; TRACK_NIL: none */
	uint32_t	 peer;		/* s, last s2s stream the owner
					 * authenticated; 0: none */
	uint8_t		 used;		/* since the clock's hand passed */
};

/* A registration. */
struct track_registered {
	uint32_t	 hash;
	uint32_t	 sec;
};

struct track_slot {
	uint32_t	 live;
	uint32_t	 halfopen;
	uint32_t	 ring_head;	/* bucket number of the newest bucket,
					 * modulo TRACK_RING_MOD */
	uint32_t	 ring_width;	/* ms per bucket; 0: ring unused */
	uint32_t	 ring[TRACK_RING];	/* new connections */
	int32_t		 karma;		/* credit, bytes */
	uint32_t	 karma_sec;	/* last refill, s */
	uint32_t	 karma_full;	/* last time the credit was full, s */
	uint32_t	 reported;	/* last verdict, s */
	uint16_t	 short_lived;	/* saturates */
	uint8_t		 flags;		/* TRACK_S_* */
};

struct track {
	struct htab	 tab;		/* lists TRACK_PROBATION, _PROTECTED */
	struct track_entry *e;		/* capacity, indexed as tab */
	uint32_t	 capacity;
	char		 name[TRACK_SLOTS][CONF_NAME_MAX];	/* "": free */
	struct track_slot *slot[TRACK_SLOTS];	/* capacity each, or NULL */
	struct track_accounts *acct;	/* nacct sets; NULL until a login */
	uint32_t	*acct_of;	/* capacity, with acct: each entry's
					 * set, index + 1; 0: none */
	uint32_t	 nacct;
	uint32_t	 hand;		/* the pool's clock */
	struct track_registered *reg;	/* TRACK_REGISTERED, with acct */
	struct track_stats stats;
};

/* track.c: see there. */
uint32_t	track_sec(int64_t);
uint32_t	track_get(struct track *, const struct prefix *, int64_t,
		    uint32_t);
void	track_protect(struct track *, uint32_t);
const struct conf_service *track_service(const struct conf *,
		    const struct event *);
const struct conf_service *track_service_named(const struct conf *,
		    const char *);
void	track_log_limits(const struct conf *, enum event_kind, int,
		    struct rule_limits *);
int	track_slot_bind(struct track *, const struct conf *,
		    const char *);
uint32_t	track_ring_width(const struct rule_limits *);
uint32_t	track_ring_number(int64_t, uint32_t);
void	track_ring_add(struct track_slot *, uint32_t, int64_t);

/* track_account.c: see there. */
uint32_t	track_account_hash(const struct track *, const char *);
/* Entry i saw account hash log in at now (us). */
void	track_account_add(struct track *, uint32_t i, uint32_t hash,
	    int64_t now);
/* A login (ev: AUTH_OK with an address and a user) in the sets of its
 * host and network; both entries are protected. */
void	track_account_login(struct track *, const struct conf *,
	    const struct event *);
/* Entry i (a host) authenticated an s2s stream at now (us). */
void	track_account_peer(struct track *, uint32_t i, int64_t now);
/* When entry i last authenticated an s2s stream, s; 0: never (or its set
 * was taken back). */
uint32_t	track_account_peer_sec(const struct track *, uint32_t i);
/* 1 if entry i has an account set. */
int	track_account_has(const struct track *, uint32_t i);
/* The account hash was registered at now (us). */
void	track_account_register(struct track *, uint32_t hash, int64_t now);
/* Distinct accounts that logged in from entry i within window (us) before
 * now, less those registered within it. */
uint32_t	track_account_count(const struct track *, uint32_t i,
		    int64_t now, int64_t window);
void	track_account_free(struct track *);

#endif /* TRACK_INT_H */
