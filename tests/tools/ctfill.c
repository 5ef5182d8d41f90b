/*
 * ctfill - puts synthetic TCP entries in the conntrack table of the current
 * network namespace, through ctnetlink, for measurements and system tests:
 * a table of a given size without the traffic to build it, or a "spoofed
 * SYN flood" of half-open entries from many sources.
 *
 *   ctfill [-a] [-d DPORT] [-n COUNT] [-s FIRST_SOURCE] [-t TIMEOUT]
 *
 *   -a  entries are ESTABLISHED and ASSURED (default: SYN_SENT, no reply)
 *   -d  destination port (default 5222); the server is 192.0.2.1
 *   -n  how many (default 1000); source i is FIRST_SOURCE + i, port 40000
 *   -s  first source address, IPv4 (default 10.0.0.1)
 *   -t  timeout of each entry, seconds (default 600)
 *
 * Prints "created=N failed=N us=N" and exits 0 if all were created.  Run
 * it only inside a namespace of your own (ip netns exec).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

static unsigned long
number(const char *s, unsigned long max)
{
	char		*end;
	unsigned long	 v;

	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "ctfill: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct nfct_handle	*h;
	struct nf_conntrack	*ct;
	struct in_addr		 first, server;
	struct timespec		 t0, t1;
	unsigned long		 n = 1000, i, ok = 0, bad = 0, timeout = 600;
	unsigned int		 dport = 5222;
	int			 c, assured = 0;

	inet_pton(AF_INET, "10.0.0.1", &first);
	inet_pton(AF_INET, "192.0.2.1", &server);
	while ((c = getopt(argc, argv, "ad:n:s:t:")) != -1) {
		switch (c) {
		case 'a':
			assured = 1;
			break;
		case 'd':
			dport = (unsigned int)number(optarg, 65535);
			break;
		case 'n':
			n = number(optarg, 1UL << 24);
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &first) != 1) {
				fprintf(stderr, "ctfill: bad address\n");
				return 2;
			}
			break;
		case 't':
			timeout = number(optarg, 86400);
			break;
		default:
			fprintf(stderr, "usage: ctfill [-a] [-d dport] "
			    "[-n count] [-s first] [-t timeout]\n");
			return 2;
		}
	}
	if ((h = nfct_open(CONNTRACK, 0)) == NULL) {
		perror("ctfill: nfct_open");
		return 1;
	}
	if ((ct = nfct_new()) == NULL) {
		perror("ctfill: nfct_new");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		uint32_t	 src = htonl(ntohl(first.s_addr) + (uint32_t)i);

		nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
		nfct_set_attr_u32(ct, ATTR_IPV4_SRC, src);
		nfct_set_attr_u32(ct, ATTR_IPV4_DST, server.s_addr);
		nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
		nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(40000));
		nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(dport));
		nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
		nfct_set_attr_u8(ct, ATTR_TCP_STATE, assured ?
		    TCP_CONNTRACK_ESTABLISHED : TCP_CONNTRACK_SYN_SENT);
		nfct_set_attr_u32(ct, ATTR_TIMEOUT, (uint32_t)timeout);
		nfct_set_attr_u32(ct, ATTR_STATUS, assured ?
		    IPS_SEEN_REPLY | IPS_ASSURED : 0);
		if (nfct_query(h, NFCT_Q_CREATE, ct) == 0)
			ok++;
		else
			bad++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("created=%lu failed=%lu us=%lld\n", ok, bad,
	    (long long)(t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000);
	nfct_destroy(ct);
	nfct_close(h);
	return bad == 0 ? 0 : 1;
}
