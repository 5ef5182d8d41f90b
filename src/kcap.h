/*
 * Kernel caps: each service's concurrency and churn limits refused in the
 * kernel (nftables), per address and per network, and the refusals read
 * back so that an address that keeps hammering a cap is banned.
 */
#ifndef KCAP_H
#define KCAP_H

#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "verdict.h"

struct loop;
struct kcap;

/* The nflog prefix of a refusal: "xgcap SERVICE KIND" (kcap.c). */
#define KCAP_LOG_PREFIX		"xgcap "

/*
 * Tries once (as root, before privileges go) whether nft and the kernel
 * have what the caps need: dynamic sets with ct count and limit, reject
 * in prerouting, nflog; with the nftables backend, even if no service is
 * capped yet (a reload may cap one).  Says so if a capped service cannot
 * be (the caps then stay off, and the daemon bans at the limits as
 * before).  The answer is kept for the process and the helpers it forks.
 * Nothing is changed in the kernel.
 */
void		 kcap_probe(const struct conf *);
/* 1 if the probe found what the caps need. */
int		 kcap_available(void);
/* For tests and commands that never probe: sets the answer. */
void		 kcap_set_available(int);
/*
 * 1 if svc's limits are refused in the kernel under conf: kernel_caps on,
 * the nftables backend (not a dry run), the probe passed, and a limit set.
 */
int		 kcap_service_on(const struct conf *,
		    const struct conf_service *);
/*
 * 1 if the kernel refuses what v says was exceeded (a tracker's
 * concurrency or churn verdict of a capped service): recorded, not
 * enforced; hammering the cap bans instead (kcap_open()).
 */
int		 kcap_covers(const struct conf *, const struct verdict *);
/*
 * Writes the caps' sets, chains and rules for `nft -f` into f, for the
 * table (inet) whose chain "filter" exists: the rule that jumps to them
 * last.  Every chain is flushed first, so the text replaces the caps in
 * force.  Nothing if no service is capped.  log_group 0: no nflog.
 */
void		 kcap_text(FILE *, const struct conf *, const char *table);
/*
 * Account levels (kcap_text.c's comment): 1 if svc's caps are raised in the
 * kernel for the accounts that log in from an address.
 */
int		 kcap_acct_on(const struct conf *,
		    const struct conf_service *);
/* The level (1 .. FW_CAP_LEVELS) of an address with accounts distinct
 * accounts under svc: the next that holds them; 0 for none. */
int		 kcap_acct_level(const struct conf_service *,
		    uint32_t accounts);
/* 1 if the caps' text declares the set named set in table t. */
int		 kcap_declares(const char *caps, const char *t,
		    const char *set);
/*
 * The elements that put n hosts in their levels, for `nft -f` into f, in
 * table t; only the levels the caps' text in force (caps) declares.
 * update: a re-add of an element sets its new timeout (else replaced).
 */
struct fw_cap;
/* The name of c's level set, or (any) of the set of every level's, into
 * buf. */
void		 kcap_acct_set(char *buf, size_t size, const struct fw_cap *c,
		    int any);
void		 kcap_acct_elements(FILE *, const char *t, const char *caps,
		    const struct fw_cap *, size_t n, int update);
/*
 * From `nft -t list table inet T` output, the deletions of the caps' sets
 * and chains that text (kcap_text()'s output) no longer names, written
 * into f (chains flushed and deleted, then sets).
 */
void		 kcap_stale_text(FILE *, const char *table, const char *listing,
		    const char *text);

/*
 * Surge mode (surge.c) in the kernel.  kcap_surge_on(): 1 if svc's surge
 * mode is on under conf (surge, its caps on, a [log] section to tell the
 * logins).  kcap_surge_text(): the text for `nft -f` of a batch of
 * FW_KNOWN and FW_SURGE operations (fw.h) on table, the known addresses
 * left out if skip_known (netlink took them).
 */
struct fw_op;
int		 kcap_surge_on(const struct conf *,
		    const struct conf_service *);
void		 kcap_surge_text(FILE *, const char *table,
		    const struct fw_op *, size_t, int skip_known);

/*
 * The refusals' reader: an nflog socket on [ban] cap_log_group, opened
 * now (root), read from the loop.  *confp is followed (a reload swaps
 * it).  NULL if no service is capped or cap_persist is none (nothing to
 * read), or on failure, said in a warning: the caps still refuse.
 */
struct kcap	*kcap_open(struct loop *, const struct conf *const *confp);
/*
 * After a reload (*confp the new configuration): the reader *kp opened
 * if the caps now have refusals to read and it was not (root only: said
 * otherwise), closed (NULL) if they have none or its group changed.  The
 * caller sets the verdict callback and the status again.
 */
void		 kcap_reload(struct kcap **, struct loop *,
		    const struct conf *const *confp);
/* The verdict of an address that hammered a cap goes to cb. */
void		 kcap_set_verdict_cb(struct kcap *, verdict_cb cb, void *arg);
/* Every refusal read goes to cb too: the source address, the service,
 * the cap ("concurrency", "churn", "net_concurrency", "net_churn",
 * "surge") and the time (us); strings live for the call. */
typedef void	(*kcap_refusal_cb)(const struct addr *, const char *service,
		    const char *cap, int64_t now, void *arg);
void		 kcap_set_refusal_cb(struct kcap *, kcap_refusal_cb,
		    void *arg);
/*
 * One refusal, as read from the kernel (also for tests): prefix is the
 * nflog prefix, now in us.  0, or -1 if the prefix is not ours.
 */
int		 kcap_refusal(struct kcap *, const char *prefix,
		    const struct addr *, int64_t now);
/*
 * 1 if v (a tracker's concurrency verdict) is about an address (network)
 * the kernel let past its cap in the last two minutes because its
 * SYN-ACKs went unanswered: the daemon then enforces the limit itself.
 * Else 0, and v is held a few seconds: if that exemption is read in the
 * meantime, v goes to the verdict callback then, uncovered.
 */
int		 kcap_exempt(struct kcap *, const struct verdict *);
void		 kcap_close(struct kcap *);

struct status_group;
extern const struct status_group kcap_status_group;

/*
 * The refusals' counter without the nflog reader (replay): refusals go
 * in by kcap_refusal(), bans out by kcap_set_verdict_cb(), as in the
 * daemon; seed keys its table.  NULL where kcap_open() would be (no
 * service capped, cap_persist none).  Freed by kcap_counter_free().
 */
struct kcap	*kcap_counter_new(const struct conf *const *confp,
		    uint32_t seed);
void		 kcap_counter_free(struct kcap *);

#endif /* KCAP_H */
