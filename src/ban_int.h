/*
 * Internals of the bans, shared by their files and by nothing else:
 * ban.c (the table, decisions, operations, reading) and ban_keep.c (the
 * store and the firewall kept in agreement with the table: saving again,
 * restart, adoption, reconciliation).  Other modules include ban.h only.
 */
#ifndef BAN_INT_H
#define BAN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ban.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "htab.h"
#include "log.h"
#include "ownaddr.h"
#include "store.h"

#define BAN_MAX		(1U << 22)	/* bans in force at once */
#define BAN_START	256		/* room at first; doubles */
#define BAN_NIL		HTAB_NIL
#define BAN_SAVE_MIN_US	CLOCK_US_PER_SEC	/* retry of unsaved bans */
#define BAN_SAVE_MAX_US	(8 * CLOCK_US_PER_SEC)
#define BAN_SAVE_WARN_US (60 * CLOCK_US_PER_SEC)
#define BAN_LIFTS_MAX	65536		/* unsaved lifts kept */
/* A ban this close to its end may be gone from the kernel by itself. */
#define BAN_HOLD_MARGIN_US (2 * CLOCK_US_PER_SEC)

struct bans {
	const struct conf *conf;
	struct store	*store;
	struct htab	 t;		/* index by prefix (keyed hash) */
	struct ban	*b;		/* by table index */
	uint32_t	*hpos;		/* by table index: place in heap */
	uint32_t	*heap;		/* table indices, soonest expiry
					 * first; dense: heap[0..n) */
	uint32_t	 n;		/* bans in force */
	uint32_t	 nlen[2][129];	/* of those, by family
					 * (0: IPv4) and prefix length:
					 * the lengths bans_covering() tries */
	struct fw_op	*ops;		/* queued for the firewall */
	size_t		 nops, opscap, flushed;
	struct fw_op	*kills;		/* prefix and scope of each */
	size_t		 nkills, killscap, kflushed;
	struct ownaddr	*own;		/* the host's addresses; NULL: none */
	char		 ports[2][FW_PORTS_STRLEN]; /* by scope: what a ban
					 * drops, for people (struct ban) */
	ban_notify_cb	 notify;	/* alerts; NULL: none */
	void		*notify_arg;
	ban_history_cb	 history;	/* earlier bans without a store */
	void		*history_arg;
	struct fw_op	*all;		/* bans_all()'s */
	size_t		 allcap;
	/* Persistence (ban_keep.c). */
	struct prefix	*written;	/* bans whose rows were written since
					 * the store was last checked */
	size_t		 nwritten, writtencap;
	struct store_lift *lifts;	/* lifts written since, then those
					 * waiting to be written again */
	size_t		 nlifts, liftscap, lwritten;
	uint64_t	 lost_seen;	/* the store's lost rows then */
	int64_t		 save_at;	/* next attempt (us, wall); 0: now */
	int64_t		 save_backoff;
	struct log_ratelimit save_rl;
	char		 save_err[128];	/* why the last attempt failed */
	struct ban_stats st;
};

/* ban.c */

/* The index of the ban of prefix p in the table, or BAN_NIL. */
uint32_t
ban_lookup(const struct bans *bs, const struct prefix *p);

/* A new ban, in the table and the heap; the room doubles as needed (the
 * caller keeps n below BAN_MAX). */
struct ban *
ban_insert(struct bans *bs, const struct ban *b);

/* 1 and *why if p must never be banned. */
int
ban_refused(const struct bans *bs, const struct prefix *p, const char **why);

/* The operation of kind for b at now. */
void
ban_op(struct fw_op *op, enum fw_op_kind kind, const struct ban *b,
    int64_t now);

/* Queues the operation of kind for b for the next batch. */
void
ban_queue(struct bans *bs, enum fw_op_kind kind, const struct ban *b,
    int64_t now);

/* ban_keep.c */

/* b's row as the store takes it. */
void
ban_row(const struct ban *b, struct store_ban *row);

/* b's row was just written: to be checked at the next commit. */
void
ban_written(struct bans *bs, const struct ban *b);

/* Row id lifted at when: written now, kept until known to be saved. */
void
ban_store_lift(struct bans *bs, int64_t id, int64_t when);

#endif /* BAN_INT_H */
