/*
 * Netlink drops, counted exactly.  When a netlink socket's receive buffer
 * is full the kernel throws the message away and adds one to the socket's
 * drop counter (sk_drops); only the first drop of a congestion is reported
 * to the reader, as one ENOBUFS, so counting ENOBUFS says that messages
 * were lost, never how many.  The counter itself is what /proc/net/netlink
 * shows as Drops, and getsockopt(SO_MEMINFO) (Linux 4.12) reads it for one
 * socket, cheaply and without privilege.
 *
 * Not SO_RXQ_OVFL: netlink queues its messages without stamping the drop
 * count on them and its recvmsg() passes no such control message (checked
 * on Linux 6.18: the option is accepted, the ancillary data never comes).
 *
 * The kernel's counter is 32 bits and wraps; each update adds the
 * difference since the last one, modulo 2^32, to a 64-bit total.
 * Invariant: total + delta(last, kernel's count now) is every drop since
 * the socket was opened.
 */
#include <sys/socket.h>

#include <linux/sock_diag.h>

#include <stdint.h>
#include <string.h>

#include "nldrop.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO	55
#endif

static int	nldrop_read(int, uint32_t *);

/* The kernel's count for fd; -1 if it cannot be read (an old kernel). */
static int
nldrop_read(int fd, uint32_t *drops)
{
	uint32_t	 mi[SK_MEMINFO_VARS];
	socklen_t	 len = sizeof(mi);

	if (fd == -1)
		return -1;
	memset(mi, 0, sizeof(mi));
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == -1 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mi[0]))
		return -1;
	*drops = mi[SK_MEMINFO_DROPS];
	return 0;
}

uint32_t
nldrop_delta(uint32_t last, uint32_t now)
{
	/* Unsigned arithmetic is modulo 2^32: right across a wrap too. */
	return now - last;
}

void
nldrop_init(struct nldrop *d, int fd)
{
	memset(d, 0, sizeof(*d));
	d->fd = fd;
}

uint64_t
nldrop_update(struct nldrop *d)
{
	uint32_t	 now, delta;

	if (nldrop_read(d->fd, &now) == -1)
		return 0;
	delta = nldrop_delta(d->last, now);
	d->last = now;
	d->total += delta;
	return delta;
}

uint64_t
nldrop_total(const struct nldrop *d)
{
	uint32_t	 now;

	if (nldrop_read(d->fd, &now) == -1)
		return d->total;
	return d->total + nldrop_delta(d->last, now);
}
