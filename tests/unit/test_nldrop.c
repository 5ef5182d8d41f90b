/*
 * Unit tests for the netlink drop counter: the arithmetic on the kernel's
 * wrapping 32-bit count, and the count itself on a real socket that the
 * kernel overflows, checked against /proc/net/netlink.
 *
 * The overflow: NETLINK_USERSOCK lets any process send to a multicast
 * group, and a multicast message to a full socket is dropped and counted
 * exactly as conntrack's events are (a unicast one would block instead).
 */
#include "unit.h"

#include "../../src/nldrop.c"

#include <sys/stat.h>

#include <linux/netlink.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#define GROUP	1
#define SENT	200

static void
test_nldrop_delta(void **state)
{
	(void)state;
	assert_int_equal(nldrop_delta(0, 0), 0);
	assert_int_equal(nldrop_delta(10, 25), 15);
	/* Across the wrap. */
	assert_int_equal(nldrop_delta(0xfffffff0U, 0x10), 0x20);
	assert_int_equal(nldrop_delta(0xffffffffU, 0), 1);
	/* A whole turn less one. */
	assert_int_equal(nldrop_delta(1, 0), 0xffffffffU);
}

static void
test_nldrop_none(void **state)
{
	struct nldrop	 d;

	(void)state;
	nldrop_init(&d, -1);
	assert_int_equal(nldrop_update(&d), 0);
	assert_int_equal(nldrop_total(&d), 0);
	/* Not a socket: nothing read, nothing counted. */
	nldrop_init(&d, STDIN_FILENO);
	assert_int_equal(nldrop_total(&d), 0);
}

/* The Drops column of /proc/net/netlink for the socket fd; -1: absent. */
static long
proc_drops(int fd)
{
	struct stat	 sb;
	char		 line[512];
	unsigned long	 inode;
	long		 drops, found = -1;
	FILE		*f;

	assert_int_equal(fstat(fd, &sb), 0);
	assert_non_null(f = fopen("/proc/net/netlink", "r"));
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "%*s %*d %*u %*x %*d %*d %*d %*d %ld %lu",
		    &drops, &inode) == 2 && inode == (unsigned long)sb.st_ino)
			found = drops;
	fclose(f);
	return found;
}

/* A socket in GROUP with the smallest buffer, and a sender. */
static void
open_pair(int *rx, int *tx)
{
	struct sockaddr_nl	 sa;
	int			 size = 1;

	*rx = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_USERSOCK);
	*tx = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_USERSOCK);
	assert_true(*rx != -1 && *tx != -1);
	memset(&sa, 0, sizeof sa);
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = 1U << (GROUP - 1);
	/* Joining a group of NETLINK_USERSOCK takes CAP_NET_ADMIN. */
	if (bind(*rx, (struct sockaddr *)&sa, sizeof sa) == -1) {
		assert_int_equal(errno, EPERM);
		close(*rx);
		close(*tx);
		skip();
	}
	assert_int_equal(setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &size,
	    sizeof size), 0);
}

/* n messages to GROUP: each one past the receiver's buffer is dropped. */
static void
send_n(int tx, int n)
{
	struct sockaddr_nl	 to;
	struct nlmsghdr		 nlh[64];
	int			 i;

	memset(&to, 0, sizeof to);
	to.nl_family = AF_NETLINK;
	to.nl_groups = 1U << (GROUP - 1);
	memset(nlh, 0, sizeof nlh);
	nlh[0].nlmsg_len = sizeof nlh;
	/* After the multicast, the message also goes to port 0, the
	 * kernel's, which NETLINK_USERSOCK does not have: ECONNREFUSED. */
	for (i = 0; i < n; i++)
		if (sendto(tx, nlh, sizeof nlh, 0, (struct sockaddr *)&to,
		    sizeof to) == -1)
			assert_int_equal(errno, ECONNREFUSED);
}

static void
test_nldrop_socket(void **state)
{
	struct nldrop	 d;
	char		 buf[8192];
	long		 kernel;
	uint64_t	 first;
	int		 rx, tx;

	(void)state;
	open_pair(&rx, &tx);
	nldrop_init(&d, rx);
	assert_int_equal(nldrop_total(&d), 0);
	assert_int_equal(proc_drops(rx), 0);

	send_n(tx, SENT);
	kernel = proc_drops(rx);
	/* The smallest buffer holds a message or two: the rest dropped. */
	assert_true(kernel > SENT / 2 && kernel < SENT);
	assert_int_equal(nldrop_total(&d), kernel);
	first = nldrop_update(&d);
	assert_int_equal(first, kernel);
	assert_int_equal(nldrop_update(&d), 0);
	assert_int_equal(nldrop_total(&d), kernel);

	/* Read empty, flooded again: the counts add up. */
	while (recv(rx, buf, sizeof buf, 0) > 0 || errno == ENOBUFS)
		continue;
	send_n(tx, SENT);
	kernel = proc_drops(rx);
	assert_true((uint64_t)kernel > first);
	assert_int_equal(nldrop_total(&d), kernel);
	assert_int_equal(nldrop_update(&d), (uint64_t)kernel - first);

	/* As if the kernel's count had wrapped since the last update: it
	 * was 16 short of 2^32 then, it is `kernel` now. */
	d.last = 0xfffffff0U;
	d.total = 1000;
	assert_int_equal(nldrop_total(&d), 1000 + 16 + kernel);
	assert_int_equal(nldrop_update(&d), 16 + kernel);
	assert_int_equal(d.total, 1000 + 16 + kernel);
	assert_int_equal(nldrop_update(&d), 0);

	close(rx);
	close(tx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nldrop_delta),
		cmocka_unit_test(test_nldrop_none),
		cmocka_unit_test(test_nldrop_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
