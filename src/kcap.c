/*
 * Kernel caps (XEP-0205's "limit at the TCP layer"): each service's
 * max_concurrent and max_new, and their net_ forms per network (track
 * prefix4/prefix6), refused by the kernel itself, per source, with a TCP
 * reset for the one connection over the limit; the connections already
 * established are never touched.  The daemon no longer bans at those
 * limits (the cap refuses, kcap_covers()): an address is banned only when
 * it keeps hammering a cap, refused more than [ban] cap_persist times by
 * one cap in its window; a company NAT one connection over its limit
 * loses that connection, not its 150 users' sessions.
 *
 * This file: the probe of the kernel, the reader of the refusals and the
 * exemptions, and the status.  The ruleset, and how a connection meets
 * it (spoofing, churn as a token bucket), is kcap_text.c's.
 *
 * Refusals reach the daemon by nflog (`log group G` on each refusing
 * rule, the packet's first 40 bytes: its source address).  The
 * alternatives: the rules' counters are per rule, not per address, and
 * per-element counters in the dynamic sets would need the sets listed
 * every few seconds to learn who was refused: `nft -j list set` of a
 * dynamic set of 64k addresses takes 0.65 s and 80 MB of nft's memory
 * here (nft 1.0.6, Linux 6.18, 2 CPUs), per set, per poll, growing with
 * the clients, and the answer comes late.  nflog is one message of about
 * 200 bytes per refused SYN, read with libmnl on the loop as conntrack's
 * events are, and costs nothing while nobody is refused; under a flood of
 * refusals the socket's buffer overflows (ENOBUFS, counted as lost) and
 * the refusals themselves go on in the kernel regardless.  In
 * tests/system/41-kernel-caps.sh the daemon has counted the 5 refusals
 * of the held connections by the time xgload reports them.
 *
 * Exemptions.  A connection let past a concurrency cap because its
 * address's SYN-ACKs went unanswered (kcap_text.c) is logged with the
 * letter x (X for a network), and the daemon enforces that address's
 * concurrency itself (kcap_exempt()).  The tracker may judge the
 * connection before the nflog message is read, so a covered concurrency
 * verdict is held a few seconds in a ring and released by the exemption.
 *
 * Per-address refusal counts live in a fixed table (htab.c, oldest
 * evicted and counted), keyed by address, service and cap, each a fixed
 * window of cap_persist's length started by its first refusal.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include <libmnl/libmnl.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "fw_int.h"
#include "htab.h"
#include "kcap.h"
#include "kcap_int.h"
#include "log.h"
#include "loop.h"
#include "rule.h"
#include "siphash.h"
#include "status.h"
#include "verdict.h"
#include "xmalloc.h"

#define KCAP_TABLE_SIZE		16384	/* addresses counted at once */
#define KCAP_BUF		(64 * 1024)
#define KCAP_EXEMPT		KCAP_KINDS	/* kind of an exemption entry */
#define KCAP_HELD_MAX		64	/* concurrency verdicts held */
#define KCAP_HELD_US		(5 * CLOCK_US_PER_SEC)	/* that long */

static const char *const kcap_kind_names[KCAP_KINDS] = {
	"concurrency", "churn", "network concurrency", "network churn"
};

/* -1: not probed (another backend, a dry run), 0: the kernel lacks
 * something, 1: ok. */
static int	kcap_kernel = -1;
static char	kcap_why[256];	/* what the probe said, when 0 */

struct kcap_entry {
	struct addr	 addr;
	uint8_t		 svc;		/* index in the configuration */
	uint8_t		 kind;
	uint32_t	 count;		/* refusals in the window */
	int64_t		 start;		/* us, the window's first refusal */
};

struct kcap_stats {
	uint64_t	 refusals[KCAP_KINDS];
	uint64_t	 bans;
	uint64_t	 exempt;	/* passed over a concurrency cap */
	uint64_t	 lost;		/* nflog overruns */
	uint64_t	 unknown;	/* messages that were not ours */
	uint64_t	 evicted;
	uint32_t	 tracked;
};

/* A concurrency verdict the caps covered, until an exemption comes. */
struct kcap_held {
	struct verdict		 v;
	int			 svc;	/* -1: free */
};

struct kcap {
	struct loop		*loop;
	const struct conf *const *confp;
	struct mnl_socket	*nl;
	int			 fd;
	uint32_t		 group;		/* nflog's, bound */
	struct htab		 h;
	struct kcap_entry	*e;
	verdict_cb		 cb;
	void			*cb_arg;
	kcap_refusal_cb		 rcb;
	void			*rcb_arg;
	struct kcap_stats	 stats;
	struct kcap_held	 held[KCAP_HELD_MAX];	/* a ring */
	size_t			 held_next;
};

static int	kcap_limits_any(const struct conf_service *);
static void	kcap_say(const struct conf *);
static int	kcap_reader_wanted(const struct conf *);
static void	kcap_read_cb(struct loop *, int, int, void *);
static const char *kcap_kind_label(int);
static void	kcap_exempt_net(const struct conf *, struct addr *);
static void	kcap_release(struct kcap *, int, const struct addr *, int,
		    int64_t);

void
kcap_set_available(int ok)
{
	kcap_kernel = ok;
}

int
kcap_available(void)
{
	return kcap_kernel == 1;
}

static int
kcap_limits_any(const struct conf_service *svc)
{
	return svc->max_concurrent != 0 || svc->max_new.count != 0 ||
	    svc->net_max_concurrent != 0 || svc->net_max_new.count != 0;
}

int
kcap_service_on(const struct conf *conf, const struct conf_service *svc)
{
	return kcap_available() && conf->firewall == CONF_FW_NFTABLES &&
	    !conf->dry_run && svc->kernel_caps && svc->nports > 0 &&
	    kcap_limits_any(svc);
}

int
kcap_covers(const struct conf *conf, const struct verdict *v)
{
	int	 i;

	if ((v->rule != VERDICT_CONCURRENCY && v->rule != VERDICT_CHURN) ||
	    v->service == NULL)
		return 0;
	for (i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, v->service) == 0)
			return kcap_service_on(conf, &conf->services[i]);
	return 0;
}

/*
 * The probe: a throwaway table with one rule of each kind the caps use,
 * checked by the kernel (`nft -c`: validated, never committed).
 */
void
kcap_probe(const struct conf *conf)
{
	static const char *const argv[] = { "nft", "-c", "-f", "-", NULL };
	static const char text[] =
	    "add table inet xmppguard_probe\n"
	    "add set inet xmppguard_probe c { type ipv6_addr; size 16; "
	    "flags dynamic; }\n"
	    "add set inet xmppguard_probe n { type ipv4_addr; size 16; "
	    "flags dynamic, timeout; timeout 1h; }\n"
	    "add set inet xmppguard_probe h { type ipv4_addr; size 16; "
	    "flags dynamic, timeout; timeout 2m; }\n"
	    "add chain inet xmppguard_probe f { type filter hook prerouting "
	    "priority -150; policy accept; }\n"
	    "add rule inet xmppguard_probe f ct state new meta l4proto tcp "
	    "ct label set 126\n"
	    "add rule inet xmppguard_probe f ct direction original "
	    "ct label 125 tcp flags & rst == 0 reject with tcp reset\n"
	    "add rule inet xmppguard_probe f ct status assured "
	    "meta l4proto tcp ct label & (126|127) == 126 ct label set 127 "
	    "add @c { ip6 saddr & ffff:ffff:ffff:ffff:: ct count over 1 } "
	    "ct label set 125 log prefix \"xgcap probe c\" group 1 "
	    "snaplen 40 reject with tcp reset\n"
	    "add rule inet xmppguard_probe f ct status assured "
	    "ct label 123 ip saddr & 255.255.255.0 @h log prefix "
	    "\"xgcap probe x\" group 1 snaplen 40\n"
	    "add chain inet xmppguard_probe o { type filter hook postrouting "
	    "priority -150; policy accept; }\n"
	    "add rule inet xmppguard_probe o ct direction reply ct status ! "
	    "assured ct label & (122|126) == 122|126 tcp flags & (syn|ack) == "
	    "syn|ack update @h { ip daddr & 255.255.255.0 }\n"
	    "add rule inet xmppguard_probe f ct status assured "
	    "meta l4proto tcp "
	    "update @n { ip saddr limit rate over 1/hour burst 1 packets } "
	    "reject with tcp reset\n";
	char	*out = NULL, *cause = NULL;
	int	 r;

	if (conf->firewall != CONF_FW_NFTABLES || conf->dry_run) {
		kcap_kernel = -1;
		kcap_say(conf);
		return;
	}
	/* Probed even with every service's caps off: a reload may turn
	 * them on, after root is gone (here and in the helper). */
	r = fw_exec(argv, text, sizeof text - 1, &out, 4096, 30000, &cause);
	if (r == 0)
		kcap_kernel = 1;
	else {
		kcap_kernel = 0;
		if (out != NULL) {
			out[strcspn(out, "\n")] = '\0';
			out[strnlen(out, 200)] = '\0';
		}
		snprintf(kcap_why, sizeof kcap_why, "%s", cause != NULL ?
		    cause : out != NULL && *out != '\0' ? out :
		    "nft refused the probe");
	}
	free(out);
	free(cause);
	kcap_say(conf);
}

/* Why the caps of conf are off, if they are, to the log. */
static void
kcap_say(const struct conf *conf)
{
	int	 i, asked = 0;

	for (i = 0; i < conf->nservices; i++)
		asked |= conf->services[i].kernel_caps &&
		    conf->services[i].nports > 0 &&
		    kcap_limits_any(&conf->services[i]);
	if (!asked || conf->dry_run)
		return;
	if (conf->firewall != CONF_FW_NFTABLES)
		log_info("kernel caps: off (only the nftables backend "
		    "has them): concurrency and churn are banned at "
		    "the limit");
	else if (kcap_kernel == 0)
		log_warnx("kernel caps: unavailable (%s): concurrency and "
		    "churn are banned at the limit, as without kernel_caps",
		    kcap_why);
	else if (kcap_kernel == -1)
		log_warnx("kernel caps: on from the next restart (not "
		    "probed at start: a dry run or another backend)");
}

/*
 * The reader.
 */

/* 1 if conf has refusals to read: a service capped, cap_persist set. */
static int
kcap_reader_wanted(const struct conf *conf)
{
	int	 s, any = 0;

	for (s = 0; s < conf->nservices; s++)
		any |= kcap_service_on(conf, &conf->services[s]);
	return any;
}

/* The refusals' table, no reader yet. */
static struct kcap *
kcap_alloc(const struct conf *const *confp, const struct siphash_key *key)
{
	struct kcap	*k;
	int		 i;

	k = xcalloc(1, sizeof *k);
	k->confp = confp;
	k->fd = -1;
	htab_init(&k->h, KCAP_TABLE_SIZE, 1, key);
	k->e = xcalloc(KCAP_TABLE_SIZE, sizeof *k->e);
	for (i = 0; i < KCAP_HELD_MAX; i++)
		k->held[i].svc = -1;
	return k;
}

struct kcap *
kcap_open(struct loop *loop, const struct conf *const *confp)
{
	const struct conf	*conf = *confp;
	struct kcap		*k;
	struct siphash_key	 key;
	char			 buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr		*nlh;
	struct nfgenmsg		*nfg;
	struct nfulnl_msg_config_mode mode;
	ssize_t			 n;

	if (!kcap_reader_wanted(conf))
		return NULL;
	siphash_key_random(&key);
	k = kcap_alloc(confp, &key);
	k->loop = loop;
	k->group = conf->ban_cap_group;
	if ((k->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(k->nl, 0, MNL_SOCKET_AUTOPID) == -1)
		goto fail;
	/* Bind the group, copy 40 bytes of each packet. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons((uint16_t)conf->ban_cap_group);
	{
		struct nfulnl_msg_config_cmd cmd = { NFULNL_CFG_CMD_BIND };

		mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof cmd, &cmd);
	}
	memset(&mode, 0, sizeof mode);
	mode.copy_mode = NFULNL_COPY_PACKET;
	mode.copy_range = htonl(KCAP_SNAPLEN);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof mode, &mode);
	/* The answer: an ack, or the error (EBUSY: another reader has
	 * the group). */
	if (mnl_socket_sendto(k->nl, nlh, nlh->nlmsg_len) == -1 ||
	    (n = mnl_socket_recvfrom(k->nl, buf, sizeof buf)) == -1 ||
	    mnl_cb_run(buf, (size_t)n, 0, 0, NULL, NULL) == -1)
		goto fail;
	k->fd = mnl_socket_get_fd(k->nl);
	if (loop_fd_add(loop, k->fd, LOOP_READ, kcap_read_cb, k) == -1)
		goto fail;
	log_info("kernel caps: refusals read from nflog group %" PRIu32,
	    conf->ban_cap_group);
	return k;
fail:
	log_warn("kernel caps: nflog group %" PRIu32 ": the caps refuse, "
	    "but their refusals are not recorded and no address is banned "
	    "for hammering them", conf->ban_cap_group);
	k->fd = -1;
	kcap_close(k);
	return NULL;
}

/*
 * A reload: the reader follows the caps.  Opened when there are refusals
 * to read and it is not; closed when there are none (every service's caps
 * off, cap_persist none) or its group moved.  Binding nflog needs root:
 * under [global] user the daemon has dropped it, so there a reader is
 * kept, idle, while the caps are off (nothing is logged to it), and one
 * that was never opened, or whose group moved, waits for the next
 * restart, which the log says.
 */
void
kcap_reload(struct kcap **kp, struct loop *loop,
    const struct conf *const *confp)
{
	const struct conf	*conf = *confp;
	struct kcap		*k = *kp;
	int			 want = kcap_reader_wanted(conf);
	int			 root = geteuid() == 0;

	kcap_say(conf);
	if (k != NULL && (k->group != conf->ban_cap_group ||
	    (!want && root))) {
		log_info("kernel caps: refusals no longer read from nflog "
		    "group %" PRIu32, k->group);
		kcap_close(k);
		*kp = k = NULL;
	}
	if (k != NULL || !want)
		return;
	if (!root) {
		log_warnx("kernel caps: nflog group %" PRIu32 ": the caps "
		    "refuse, but no address is banned for hammering them "
		    "until the next restart (binding it needs root)",
		    conf->ban_cap_group);
		return;
	}
	*kp = kcap_open(loop, confp);
}

void
kcap_set_verdict_cb(struct kcap *k, verdict_cb cb, void *arg)
{
	if (k == NULL)
		return;
	k->cb = cb;
	k->cb_arg = arg;
}

void
kcap_set_refusal_cb(struct kcap *k, kcap_refusal_cb cb, void *arg)
{
	if (k == NULL)
		return;
	k->rcb = cb;
	k->rcb_arg = arg;
}

/* The entry of want's address, service and kind, or HTAB_NIL; *hp gets
 * the key's hash. */
static uint32_t
kcap_find(struct kcap *k, const struct kcap_entry *want, uint64_t *hp)
{
	uint32_t	 i;

	*hp = htab_hash(&k->h, want, offsetof(struct kcap_entry, count));
	for (i = htab_find(&k->h, *hp); i != HTAB_NIL;
	    i = htab_find_next(&k->h, i, *hp))
		if (memcmp(&k->e[i], want, offsetof(struct kcap_entry,
		    count)) == 0)
			return i;
	return HTAB_NIL;
}

int
kcap_refusal(struct kcap *k, const char *prefix, const struct addr *a,
    int64_t now)
{
	const struct conf	*conf = *k->confp;
	const struct conf_service *svc = NULL;
	struct kcap_entry	 want, *e;
	struct verdict		 v;
	char			 name[CONF_NAME_MAX + 1], letter, win[32];
	uint64_t		 h;
	uint32_t		 i;
	int			 s, kind;

	if (strncmp(prefix, KCAP_LOG_PREFIX, strlen(KCAP_LOG_PREFIX)) != 0 ||
	    sscanf(prefix + strlen(KCAP_LOG_PREFIX), "%32s %c", name,
	    &letter) != 2 || (a->family != AF_INET && a->family != AF_INET6))
		return -1;
	for (kind = 0; kind < KCAP_KINDS; kind++)
		if (kcap_letters[kind] == letter)
			break;
	for (s = 0; s < conf->nservices; s++)
		if (strcmp(conf->services[s].name, name) == 0)
			svc = &conf->services[s];
	if ((kind == KCAP_KINDS && letter != KCAP_EXEMPT_LETTER &&
	    letter != KCAP_EXEMPT_NET_LETTER && letter != KCAP_SURGE_LETTER) ||
	    svc == NULL)
		return -1;
	/* Recorded per address (rollups, status, report); the surge cap's
	 * refusals are not the address's doing and ban nobody. */
	if (k->rcb != NULL && (kind < KCAP_KINDS ||
	    letter == KCAP_SURGE_LETTER))
		k->rcb(a, svc->name, letter == KCAP_SURGE_LETTER ? "surge" :
		    kcap_kind_label(kind), now, k->rcb_arg);
	if (letter == KCAP_SURGE_LETTER)
		return 0;
	if (kind == KCAP_EXEMPT)
		k->stats.exempt++;
	else
		k->stats.refusals[kind]++;
	memset(&want, 0, sizeof want);
	want.addr = *a;
	want.svc = (uint8_t)(svc - conf->services);
	want.kind = (uint8_t)kind;
	if (letter == KCAP_EXEMPT_NET_LETTER)
		kcap_exempt_net(conf, &want.addr);
	i = kcap_find(k, &want, &h);
	if (i == HTAB_NIL) {
		if (htab_used(&k->h) == htab_capacity(&k->h)) {
			htab_remove(&k->h, htab_oldest(&k->h, 0));
			k->stats.evicted++;
		}
		i = htab_insert(&k->h, h, 0);
		k->e[i] = want;
		k->e[i].start = now;
	} else
		htab_touch(&k->h, i, 0);
	e = &k->e[i];
	if (kind == KCAP_EXEMPT) {
		e->start = now;		/* the latest exemption */
		kcap_release(k, want.svc, &want.addr,
		    letter == KCAP_EXEMPT_NET_LETTER, now);
		return 0;
	}
	if (conf->ban_cap_persist.count == 0)
		return 0;	/* recorded and counted, never banned */
	if (now - e->start > conf->ban_cap_persist.window) {
		e->start = now;
		e->count = 0;
	}
	if (++e->count <= conf->ban_cap_persist.count)
		return 0;
	/* Hammering: a ban as today's, escalation and all. */
	memset(&v, 0, sizeof v);
	v.time = now;
	v.prefix.addr = *a;
	v.prefix.len = (uint8_t)addr_maxlen(a);
	v.rule = kind == KCAP_CONC || kind == KCAP_NET_CONC ?
	    VERDICT_CONCURRENCY : VERDICT_CHURN;
	v.service = svc->name;
	v.observed = e->count;
	v.limit = conf->ban_cap_persist.count;
	v.window = conf->ban_cap_persist.window;
	v.allowlisted = rule_allowlisted(conf, &v.prefix);
	snprintf(v.reason, sizeof v.reason, "refused %" PRIu32 " times by "
	    "the %s %s cap in %s", e->count, svc->name, kcap_kind_names[kind],
	    conf_fmt_duration(conf->ban_cap_persist.window, win, sizeof win));
	htab_remove(&k->h, i);
	k->stats.bans++;
	if (k->cb != NULL)
		k->cb(&v, k->cb_arg);
	return 0;
}

/* An address as its network, the key of a network exemption. */
static void
kcap_exempt_net(const struct conf *conf, struct addr *a)
{
	struct prefix	 p;

	addr_mask(a, a->family == AF_INET6 ? conf->track_prefix6 :
	    conf->track_prefix4, &p);
	*a = p.addr;
}

/*
 * An exemption read: the concurrency verdicts of that address (network)
 * the caps covered in the last seconds, because the tracker judged its
 * connection before the exemption came, are enforced now.
 */
static void
kcap_release(struct kcap *k, int svc, const struct addr *a, int net,
    int64_t now)
{
	const struct conf	*conf = *k->confp;
	struct kcap_held	*hd;
	struct verdict		 v;
	struct addr		 key;
	size_t			 i;

	for (i = 0; i < KCAP_HELD_MAX; i++) {
		hd = &k->held[i];
		if (hd->svc != svc || now - hd->v.time > KCAP_HELD_US ||
		    (hd->v.prefix.len < addr_maxlen(&hd->v.prefix.addr)) !=
		    net)
			continue;
		key = hd->v.prefix.addr;
		if (net)
			kcap_exempt_net(conf, &key);
		if (!addr_eq(&key, a) || svc >= conf->nservices)
			continue;
		v = hd->v;
		v.service = conf->services[svc].name;
		v.capped = 0;
		hd->svc = -1;
		if (k->cb != NULL)
			k->cb(&v, k->cb_arg);
	}
}

int
kcap_exempt(struct kcap *k, const struct verdict *v)
{
	struct kcap_held	*hd;

	const struct conf	*conf;
	struct kcap_entry	 want;
	uint64_t		 h;
	uint32_t		 i;
	int			 s;

	if (k == NULL || v->service == NULL ||
	    (v->rule != VERDICT_CONCURRENCY))
		return 0;
	conf = *k->confp;
	memset(&want, 0, sizeof want);
	for (s = 0; s < conf->nservices; s++)
		if (strcmp(conf->services[s].name, v->service) == 0)
			break;
	if (s == conf->nservices)
		return 0;
	want.addr = v->prefix.addr;
	if (v->prefix.len < addr_maxlen(&v->prefix.addr))
		kcap_exempt_net(conf, &want.addr);
	want.svc = (uint8_t)s;
	want.kind = KCAP_EXEMPT;
	if ((i = kcap_find(k, &want, &h)) != HTAB_NIL && v->time -
	    k->e[i].start <= (int64_t)KCAP_HALF_S * CLOCK_US_PER_SEC)
		return 1;
	/* Held a few seconds: its connection's exemption may be on its
	 * way (nflog and conntrack are read apart). */
	hd = &k->held[k->held_next++ % KCAP_HELD_MAX];
	hd->v = *v;
	hd->svc = s;
	return 0;
}

/* One nflog packet: its prefix and its IP header's source. */
static int
kcap_msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct kcap		*k = arg;
	struct nlattr		*at;	/* mnl casts */
	const char		*prefix = NULL;
	const uint8_t		*pl = NULL;
	uint16_t		 plen = 0;
	struct addr		 a;

	if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
		return MNL_CB_OK;
	mnl_attr_for_each(at, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(at)) {
		case NFULA_PREFIX:
			if (mnl_attr_validate(at, MNL_TYPE_NUL_STRING) == 0)
				prefix = mnl_attr_get_str(at);
			break;
		case NFULA_PAYLOAD:
			pl = mnl_attr_get_payload(at);
			plen = mnl_attr_get_payload_len(at);
			break;
		}
	}
	memset(&a, 0, sizeof a);
	if (pl != NULL && plen >= 20 && (pl[0] >> 4) == 4)
		addr_from_v4(&a, pl + 12);
	else if (pl != NULL && plen >= 40 && (pl[0] >> 4) == 6)
		addr_from_v6(&a, pl + 8);
	if (prefix == NULL || kcap_refusal(k, prefix, &a,
	    clock_realtime()) == -1)
		k->stats.unknown++;
	return MNL_CB_OK;
}

/* Reads what is there, a bounded number of messages an iteration. */
static void
kcap_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct kcap		*k = arg;
	struct sockaddr_nl	 from;
	socklen_t		 fromlen;
	char			*buf;
	ssize_t			 n;
	int			 i;

	(void)loop;
	(void)fd;
	(void)events;
	buf = xmalloc(KCAP_BUF);
	for (i = 0; i < 64; i++) {
		fromlen = sizeof from;
		n = recvfrom(k->fd, buf, KCAP_BUF, MSG_DONTWAIT,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1) {
			if (errno == ENOBUFS) {
				k->stats.lost++;
				continue;
			}
			break;
		}
		if (n == 0)
			break;
		/* The kernel only: another process with CAP_NET_ADMIN
		 * could write here, and a forged refusal bans. */
		if (fromlen < sizeof from || from.nl_pid != 0) {
			k->stats.unknown++;
			continue;
		}
		(void)mnl_cb_run(buf, (size_t)n, 0, 0, kcap_msg_cb, k);
	}
	free(buf);
}

void
kcap_close(struct kcap *k)
{
	if (k == NULL)
		return;
	if (k->fd != -1)
		loop_fd_del(k->loop, k->fd);
	if (k->nl != NULL)
		mnl_socket_close(k->nl);
	htab_clear(&k->h);
	free(k->e);
	free(k);
}

struct kcap_status {
	int		 on;
	struct kcap_stats st;
};

static void
kcap_status_get(const void *obj, size_t i, void *snap)
{
	const struct kcap	*k = obj;
	struct kcap_status	*s = snap;

	(void)i;
	memset(s, 0, sizeof *s);
	s->on = kcap_available();
	if (k == NULL)
		return;
	s->st = k->stats;
	s->st.tracked = htab_used(&k->h);
}

static const char *
kcap_kind_label(int i)
{
	static const char *const l[KCAP_KINDS] = {
		"concurrency", "churn", "net_concurrency", "net_churn"
	};

	return i >= 0 && i < KCAP_KINDS ? l[i] : NULL;
}

#define KS(f)	offsetof(struct kcap_status, st.f)
static const struct status_field kcap_status_fields[] = {
	{ .name = "on", .type = STATUS_BOOL,
	  .off = offsetof(struct kcap_status, on), .kind = STATUS_GAUGE,
	  .metric = "xmppguard_kernel_caps", .help = "1 if the kernel "
	  "refuses connections over the services' limits (kernel_caps).",
	  .text = "kernel caps %" },
	{ .name = "refused", .type = STATUS_U64, .off = KS(refusals),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_refused_total",
	  .help = "Connections refused by a kernel cap, by cap.",
	  .n = KCAP_KINDS, .by = "cap", .by_name = kcap_kind_label },
	{ .name = "bans", .type = STATUS_U64, .off = KS(bans),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_bans_total",
	  .help = "Addresses banned for hammering a kernel cap "
	  "(cap_persist).", .text = "% banned for hammering" },
	{ .name = "exempt", .type = STATUS_U64, .off = KS(exempt),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_exempt_total",
	  .help = "Connections not counted by a concurrency cap: their "
	  "address's SYN-ACKs went unanswered (spoofed SYNs).",
	  .text = "% exempt" },
	{ .name = "lost", .type = STATUS_U64, .off = KS(lost),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_lost_total",
	  .help = "nflog overruns: refusals the daemon did not read.",
	  .text = "% overruns" },
	{ .name = "unknown", .type = STATUS_U64, .off = KS(unknown),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_unknown_total",
	  .help = "nflog messages that were not a kernel cap's refusal." },
	{ .name = "evicted", .type = STATUS_U64, .off = KS(evicted),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_cap_evicted_total",
	  .help = "Refusal counts dropped, the table being full." },
	{ .name = "tracked", .type = STATUS_U32, .off = KS(tracked),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_cap_tracked",
	  .help = "Addresses whose refusals are being counted.",
	  .text = "% counted" },
	{ .name = NULL }
};
#undef KS

const struct status_group kcap_status_group = {
	.name = "caps",
	.text = "caps",
	.fields = kcap_status_fields,
	.size = sizeof(struct kcap_status),
	.get = kcap_status_get,
};

/*
 * The refusals' counter alone, for replay: the table kcap_refusal()
 * counts in, without the nflog socket or a loop, so a replayed refusal
 * is counted, and an address hammering a cap banned, by the daemon's
 * own code.  The key is seeded (a replay gives the same answer twice).
 */
struct kcap *
kcap_counter_new(const struct conf *const *confp, uint32_t seed)
{
	const struct conf	*conf = *confp;
	struct siphash_key	 key;

	if (!kcap_reader_wanted(conf) || conf->ban_cap_persist.count == 0)
		return NULL;
	siphash_key_seed(&key, seed);
	return kcap_alloc(confp, &key);
}

void
kcap_counter_free(struct kcap *k)
{
	kcap_close(k);
}
