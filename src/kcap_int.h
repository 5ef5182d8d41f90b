/*
 * What kcap.c (the probe and the refusals' reader) and kcap_text.c (the
 * ruleset) share: the caps' letters, the conntrack labels the rules set,
 * the sets' bounds.
 */
#ifndef KCAP_INT_H
#define KCAP_INT_H

#define KCAP_SET_MIN		1024
#define KCAP_SET_MAX		(1U << 20)
#define KCAP_SNAPLEN		40	/* an IPv6 header: the source */
#define KCAP_HALF_S		120	/* an address's unanswered SYN-ACK
					 * exempts it from the concurrency
					 * caps this long (seconds) */
#define KCAP_EXEMPT_LETTER	'x'	/* an address's */
#define KCAP_EXEMPT_NET_LETTER	'X'	/* its network's */
#define KCAP_SURGE_LETTER	's'	/* the surge cap's refusal */

/*
 * Conntrack label bits (kcap_text.c's opening comment says how they are
 * used).  A label, not a ct mark: operators use marks for their own
 * routing and shaping, and nothing else in xmppguard sets or reads
 * labels.  Numeric, so no /etc/connlabel.conf is needed; the high bits,
 * away from the low ones a connlabel.conf names first.
 */
#define KCAP_LABEL_SYNACK	122	/* the server's SYN-ACK went out */
#define KCAP_LABEL_OVER		123	/* over max_concurrent at its SYN */
#define KCAP_LABEL_OVER_NET	124	/* over net_max_concurrent */
#define KCAP_LABEL_REFUSED	125	/* refused: its packets are reset */
#define KCAP_LABEL_BORN		126	/* its SYN met the caps' rules */
#define KCAP_LABEL_JUDGED	127	/* judged, never again */

/* The caps, as letters in set names and nflog prefixes. */
enum kcap_kind {
	KCAP_CONC,		/* c: max_concurrent */
	KCAP_NEW,		/* n: max_new */
	KCAP_NET_CONC,		/* C: net_max_concurrent */
	KCAP_NET_NEW,		/* N: net_max_new */
	KCAP_KINDS
};

static const char kcap_letters[KCAP_KINDS] = { 'c', 'n', 'C', 'N' };

#endif /* KCAP_INT_H */
