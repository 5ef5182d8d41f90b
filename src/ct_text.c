/*
 * Reads the text conntrack(8) prints for events (`conntrack -E`) and table
 * dumps (`conntrack -L`), one line at a time, into struct ct_msg: what
 * `xmppguard replay --conntrack FILE` feeds to the same flow table the
 * daemon runs.
 *
 * The format is libnetfilter_conntrack's default printer, optionally
 * preceded by conntrack's own timestamp:
 *
 *   [1795920943.647930]  [UPDATE] ipv4 2 tcp 6 432000 ESTABLISHED
 *       src=A dst=B sport=P dport=Q [packets=N bytes=N] [UNREPLIED]
 *       src=B dst=A sport=Q dport=P [packets=N bytes=N] [ASSURED]
 *       [mark=N] [zone=N] [delta-time=N] [use=N] [id=N]
 *
 * The timestamp comes from `-o timestamp`, the family from `-o extended`,
 * the id from `-o id`; counters need nf_conntrack_acct, delta-time
 * nf_conntrack_timestamp.  DESTROY lines have no timeout, dump lines no
 * [TYPE] (they parse as CT_MSG_DUMP).  [UNREPLIED] stands for a missing
 * IPS_SEEN_REPLY and [ASSURED] for IPS_ASSURED, which an offloaded flow
 * prints as [OFFLOAD] or [HW_OFFLOAD] instead.
 *
 * The timestamp's digits after the point are conntrack's integer tv_usec
 * (printed "%-.6ld", zero-padded; older releases padded it with spaces on
 * the right), so they are read as microseconds, not as a fraction.
 *
 * The file may come from anywhere: lines are length-capped, every byte
 * must be printable, numbers are range-checked, addresses go through
 * addr_parse(), and any word out of place rejects the line.  Keys this
 * parser does not know (mark, zone, labels, a future one) are skipped so
 * that a newer conntrack still replays.
 */
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "ct.h"

#define CT_TEXT_LINE_MAX	4096	/* longer lines are rejected */
#define CT_TEXT_SEC_DIGITS	12	/* year 33658: enough */

/* Which tuple the key=value pairs belong to. */
enum ct_text_phase {
	CT_TEXT_ORIG,
	CT_TEXT_REPLY
};

struct ct_text_tok {
	const char	*s;
	size_t		 len;
};

static const char *const ct_text_states[] = {
	[CT_TCP_NONE] = "NONE",
	[CT_TCP_SYN_SENT] = "SYN_SENT",
	[CT_TCP_SYN_RECV] = "SYN_RECV",
	[CT_TCP_ESTABLISHED] = "ESTABLISHED",
	[CT_TCP_FIN_WAIT] = "FIN_WAIT",
	[CT_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[CT_TCP_LAST_ACK] = "LAST_ACK",
	[CT_TCP_TIME_WAIT] = "TIME_WAIT",
	[CT_TCP_CLOSE] = "CLOSE",
	[CT_TCP_SYN_SENT2] = "SYN_SENT2",
};

static int
ct_text_space(char c)
{
	return c == ' ' || c == '\t';
}

static int
ct_text_is(const struct ct_text_tok *t, const char *s)
{
	size_t	 n = strlen(s);

	return t->len == n && memcmp(t->s, s, n) == 0;
}

/*
 * The next token from *pp: a run of non-blanks, or a bracketed group that
 * may hold blanks ("[start=Thu Nov 28 10:00:00 2024]").  0 at the end of
 * the line, 1 with a token, -1 for an unclosed bracket.
 */
static int
ct_text_next(const char **pp, struct ct_text_tok *t)
{
	const char	*p = *pp, *end;

	while (ct_text_space(*p))
		p++;
	if (*p == '\0')
		return 0;
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL)
			return -1;
		end++;
		if (*end != '\0' && !ct_text_space(*end))
			return -1;
	} else {
		for (end = p; *end != '\0' && !ct_text_space(*end); end++)
			;
	}
	t->s = p;
	t->len = (size_t)(end - p);
	*pp = end;
	return 1;
}

/* A decimal number of at most max, digits only; 0 or -1. */
static int
ct_text_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
ct_text_digits(const struct ct_text_tok *t)
{
	uint64_t	 v;

	return ct_text_u64(t->s, t->len, UINT64_MAX, &v) == 0;
}

/* "[SEC.USEC]" possibly with blanks before the bracket; 0 or -1. */
static int
ct_text_stamp(const struct ct_text_tok *t, int64_t *us)
{
	const char	*s = t->s + 1, *end = t->s + t->len - 1, *dot;
	uint64_t	 sec, usec;

	if ((dot = memchr(s, '.', (size_t)(end - s))) == NULL)
		return -1;
	while (end > dot + 1 && end[-1] == ' ')
		end--;
	if ((size_t)(dot - s) > CT_TEXT_SEC_DIGITS ||
	    ct_text_u64(s, (size_t)(dot - s), UINT64_MAX, &sec) == -1 ||
	    (size_t)(end - dot - 1) > 6 ||
	    ct_text_u64(dot + 1, (size_t)(end - dot - 1), 999999, &usec) == -1)
		return -1;
	*us = (int64_t)sec * CLOCK_US_PER_SEC + (int64_t)usec;
	return 0;
}

static int
ct_text_state(const struct ct_text_tok *t, uint8_t *state)
{
	size_t	 i;

	for (i = 0; i < sizeof ct_text_states / sizeof ct_text_states[0];
	    i++) {
		if (ct_text_is(t, ct_text_states[i])) {
			*state = (uint8_t)i;
			return 0;
		}
	}
	/* Older libraries print TCP_CONNTRACK_SYN_SENT2 as LISTEN. */
	if (ct_text_is(t, "LISTEN")) {
		*state = CT_TCP_SYN_SENT2;
		return 0;
	}
	return -1;
}

/* The layer 4 names the printer knows (__proto2str), and its fallback. */
static int
ct_text_l4name(const struct ct_text_tok *t)
{
	static const char *const names[] = {
		"tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "dccp",
		"gre", "unknown"
	};
	size_t	 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (ct_text_is(t, names[i]))
			return 1;
	return 0;
}

/* A key as the printer spells it: lower case, digits, '-'. */
static int
ct_text_name(const struct ct_text_tok *t)
{
	size_t	 i;

	if (t->len == 0 || t->len > 16)
		return 0;
	for (i = 0; i < t->len; i++) {
		if (!((t->s[i] >= 'a' && t->s[i] <= 'z') ||
		    (t->s[i] >= '0' && t->s[i] <= '9') || t->s[i] == '-'))
			return 0;
	}
	return 1;
}

int
ct_text_parse(const char *line, struct ct_msg *msg)
{
	struct ct_text_tok	 t;
	enum ct_text_phase	 phase = CT_TEXT_ORIG;
	const char		*p, *val;
	char			 buf[CT_TEXT_LINE_MAX + 1];
	size_t			 len, i, klen, vlen;
	uint64_t		 v, delta = 0;
	struct addr		 a;
	unsigned int		 seen = 0;	/* CT_TEXT_S_* */
	int			 r, assured = 0, unreplied = 0, have_delta = 0;

#define CT_TEXT_S_SRC	0x001
#define CT_TEXT_S_DST	0x002
#define CT_TEXT_S_SPORT	0x004
#define CT_TEXT_S_DPORT	0x008
#define CT_TEXT_S_RSRC	0x010
#define CT_TEXT_S_RDST	0x020
#define CT_TEXT_S_RSPORT 0x040
#define CT_TEXT_S_RDPORT 0x080
#define CT_TEXT_S_OPKTS	0x100
#define CT_TEXT_S_OBYTES 0x200
#define CT_TEXT_S_RPKTS	0x400
#define CT_TEXT_S_RBYTES 0x800
#define CT_TEXT_S_TUPLES 0x0ff
#define CT_TEXT_S_COUNTERS 0xf00

	memset(msg, 0, sizeof *msg);
	msg->tcp_state = CT_TCP_UNKNOWN;

	len = strnlen(line, CT_TEXT_LINE_MAX + 2);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > CT_TEXT_LINE_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if (line[i] != '\t' && (line[i] < ' ' || line[i] > '~'))
			return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	p = buf;

	if ((r = ct_text_next(&p, &t)) <= 0)
		return r == 0 ? 1 : -1;		/* blank: not an event */
	if (ct_text_is(&t, "conntrack"))
		return 1;			/* "... events have been shown" */

	/* [SEC.USEC] from -o timestamp. */
	if (t.s[0] == '[' && t.len > 2 && t.s[1] >= '0' && t.s[1] <= '9') {
		if (ct_text_stamp(&t, &msg->time) == -1)
			return -1;
		if (ct_text_next(&p, &t) != 1)
			return -1;
	}

	/* [NEW], [UPDATE], [DESTROY]; none in a dump. */
	msg->type = CT_MSG_DUMP;
	if (t.s[0] == '[') {
		if (ct_text_is(&t, "[NEW]"))
			msg->type = CT_MSG_NEW;
		else if (ct_text_is(&t, "[UPDATE]"))
			msg->type = CT_MSG_UPDATE;
		else if (ct_text_is(&t, "[DESTROY]"))
			msg->type = CT_MSG_DESTROY;
		else
			return -1;
		if (ct_text_next(&p, &t) != 1)
			return -1;
	}

	/* "ipv4 2", "ipv6 10" from -o extended. */
	if (ct_text_is(&t, "ipv4") || ct_text_is(&t, "ipv6")) {
		if (ct_text_next(&p, &t) != 1 || !(ct_text_is(&t, "2") ||
		    ct_text_is(&t, "10")) || ct_text_next(&p, &t) != 1)
			return -1;
	}

	/* The layer 4 protocol: "tcp 6"; anything else is not for us. */
	if (!ct_text_l4name(&t))
		return -1;
	val = t.s;
	vlen = t.len;
	if (ct_text_next(&p, &t) != 1 || ct_text_u64(t.s, t.len, 255, &v) == -1)
		return -1;
	if (v != 6)
		return 1;
	if (vlen != 3 || memcmp(val, "tcp", 3) != 0)
		return -1;

	if ((r = ct_text_next(&p, &t)) != 1)
		return -1;
	/* The timeout, absent from DESTROY lines. */
	if (ct_text_digits(&t) && (r = ct_text_next(&p, &t)) != 1)
		return -1;
	/* The TCP state, printed when the kernel sent it. */
	if (memchr(t.s, '=', t.len) == NULL && t.s[0] != '[') {
		if (ct_text_state(&t, &msg->tcp_state) == -1)
			return -1;
		if (ct_text_next(&p, &t) != 1)
			return -1;
	}

	do {
		if (t.s[0] == '[') {
			if (ct_text_is(&t, "[UNREPLIED]"))
				unreplied = 1;
			else if (ct_text_is(&t, "[ASSURED]") ||
			    ct_text_is(&t, "[OFFLOAD]") ||
			    ct_text_is(&t, "[HW_OFFLOAD]"))
				assured = 1;
			/* [start=...], [stop=...], anything newer: skip. */
			continue;
		}
		if ((val = memchr(t.s, '=', t.len)) == NULL)
			return -1;
		klen = (size_t)(val - t.s);
		val++;
		vlen = t.len - klen - 1;

#define CT_TEXT_KEY(k)	(klen == sizeof(k) - 1 && memcmp(t.s, k, klen) == 0)
		if (CT_TEXT_KEY("src") || CT_TEXT_KEY("dst")) {
			if (vlen == 0 || vlen >= ADDR_STRLEN + 2 ||
			    addr_parse_n(val, vlen, &a, NULL) == -1)
				return -1;
			if (t.s[0] == 's') {
				/* The second src= starts the reply tuple. */
				if (seen & CT_TEXT_S_SRC) {
					if ((seen & CT_TEXT_S_TUPLES) != 0x0f)
						return -1;
					phase = CT_TEXT_REPLY;
				}
				if (phase == CT_TEXT_ORIG)
					msg->src = a;
				seen |= phase == CT_TEXT_ORIG ?
				    CT_TEXT_S_SRC : CT_TEXT_S_RSRC;
			} else {
				if (seen & (phase == CT_TEXT_ORIG ?
				    CT_TEXT_S_DST : CT_TEXT_S_RDST))
					return -1;
				if (phase == CT_TEXT_ORIG)
					msg->dst = a;
				seen |= phase == CT_TEXT_ORIG ?
				    CT_TEXT_S_DST : CT_TEXT_S_RDST;
			}
		} else if (CT_TEXT_KEY("sport") || CT_TEXT_KEY("dport")) {
			unsigned int	 bit;

			if (ct_text_u64(val, vlen, 65535, &v) == -1)
				return -1;
			if (t.s[0] == 's')
				bit = phase == CT_TEXT_ORIG ?
				    CT_TEXT_S_SPORT : CT_TEXT_S_RSPORT;
			else
				bit = phase == CT_TEXT_ORIG ?
				    CT_TEXT_S_DPORT : CT_TEXT_S_RDPORT;
			if (seen & bit)
				return -1;
			seen |= bit;
			if (bit == CT_TEXT_S_SPORT)
				msg->sport = (uint16_t)v;
			else if (bit == CT_TEXT_S_DPORT)
				msg->dport = (uint16_t)v;
		} else if (CT_TEXT_KEY("packets") || CT_TEXT_KEY("bytes")) {
			unsigned int	 bit;
			uint64_t	*to;

			if (ct_text_u64(val, vlen, UINT64_MAX, &v) == -1)
				return -1;
			if (t.s[0] == 'p') {
				bit = phase == CT_TEXT_ORIG ?
				    CT_TEXT_S_OPKTS : CT_TEXT_S_RPKTS;
				to = phase == CT_TEXT_ORIG ?
				    &msg->pkts_orig : &msg->pkts_reply;
			} else {
				bit = phase == CT_TEXT_ORIG ?
				    CT_TEXT_S_OBYTES : CT_TEXT_S_RBYTES;
				to = phase == CT_TEXT_ORIG ?
				    &msg->bytes_orig : &msg->bytes_reply;
			}
			if (seen & bit)
				return -1;
			seen |= bit;
			*to = v;
		} else if (CT_TEXT_KEY("id")) {
			if (ct_text_u64(val, vlen, UINT32_MAX, &v) == -1)
				return -1;
			msg->id = (uint32_t)v;
		} else if (CT_TEXT_KEY("delta-time")) {
			/* Seconds since the flow's start (nf_conntrack_
			 * timestamp); 10 years at most. */
			if (ct_text_u64(val, vlen, 315360000, &delta) == -1)
				return -1;
			have_delta = 1;
		} else {
			/* mark=, use=, zone=, secctx=, labels=, ...: a
			 * key of the printer's alphabet is skipped. */
			struct ct_text_tok	 k = { t.s, klen };

			if (!ct_text_name(&k))
				return -1;
		}
#undef CT_TEXT_KEY
	} while ((r = ct_text_next(&p, &t)) == 1);
	if (r == -1)
		return -1;

	if ((seen & CT_TEXT_S_TUPLES) != CT_TEXT_S_TUPLES)
		return -1;
	switch (seen & CT_TEXT_S_COUNTERS) {
	case 0:
		break;
	case CT_TEXT_S_COUNTERS:
		msg->has_counters = 1;
		break;
	default:
		return -1;		/* half a set of counters */
	}
	msg->status = (unreplied ? 0 : CT_STATUS_SEEN_REPLY) |
	    (assured ? CT_STATUS_ASSURED : 0);
	if (have_delta && msg->time > 0 &&
	    msg->time > (int64_t)delta * CLOCK_US_PER_SEC)
		msg->start = msg->time - (int64_t)delta * CLOCK_US_PER_SEC;
	return 0;
}
