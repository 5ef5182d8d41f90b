/*
 * The host's own addresses, IPv4 and IPv6: one list for the whole daemon,
 * loaded by an rtnetlink dump and kept current from the kernel's address
 * notifications (see ownaddr.c).  Never banned; how conntrack tells the
 * host's own outgoing flows.
 */
#ifndef OWNADDR_H
#define OWNADDR_H

#include <stddef.h>

#include "addr.h"

struct loop;
struct nlmsghdr;
struct ownaddr;

enum ownaddr_change {
	OWNADDR_ADDED,		/* the address became one of the host's */
	OWNADDR_REMOVED		/* the last interface holding it let go */
};

/* Told of each change once it is in the list.  It may read the list; it
 * must not free it. */
typedef void	(*ownaddr_cb)(const struct addr *, enum ownaddr_change,
		    void *arg);

/*
 * The live list: subscribes to the kernel's address notifications, then
 * dumps every address.  With a loop the socket is read as notifications
 * arrive; without one (the privileged helper) ownaddr_sync() reads them.
 * NULL and *cause if netlink cannot be had.
 */
struct ownaddr	*ownaddr_open(struct loop *, char **cause);
/* A fixed list of n addresses, no netlink (replay, tests); it changes
 * only through ownaddr_set(). */
struct ownaddr	*ownaddr_fixed(const struct addr *, size_t n);
/* Closes the socket and frees; NULL is a no-op. */
void		 ownaddr_free(struct ownaddr *);
/* The change callback (NULL: none); one per list. */
void		 ownaddr_set_cb(struct ownaddr *, ownaddr_cb, void *arg);

/*
 * Applies the notifications the kernel has queued, without waiting: an
 * address added before this call is known after it.  0, or -1 (the list
 * is kept as it was, and a warning logged).  A fixed list: 0.
 */
int		 ownaddr_sync(struct ownaddr *);
/* Adds (on) or removes one address of a fixed list, as a notification
 * would, the callback told. */
void		 ownaddr_set(struct ownaddr *, const struct addr *, int on);

/* 1 if a is one of the host's addresses.  O(log n), no system call. */
int		 ownaddr_is(const struct ownaddr *, const struct addr *);
/* 1 if p holds one of them (the first into *found, which may be NULL).
 * O(log n). */
int		 ownaddr_within(const struct ownaddr *, const struct prefix *,
		    struct addr *found);
/* How many distinct addresses. */
size_t		 ownaddr_count(const struct ownaddr *);
/* Notifications the kernel dropped on the socket (socket full): its own
 * count, since ownaddr_open(); 0 for a fixed list. */
uint64_t	 ownaddr_dropped(const struct ownaddr *);

#endif /* OWNADDR_H */
