/*
 * libFuzzer target: the conntrack text parser of `replay`.  The input is
 * split at newlines as replay splits its file, and each line (NUL ended,
 * at most FUZZ_CT_LINE_MAX bytes, longer than the parser's own limit)
 * goes through ct_text_parse(); the whole input is also tried as one
 * string, newlines included (the parser must refuse them).  A parsed event
 * must carry a known TCP state (or none) and two addresses.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "log.h"

#define FUZZ_CT_LINE_MAX	8192

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_ct_text_line(const char *s, size_t len)
{
	static char	 line[FUZZ_CT_LINE_MAX + 1];
	struct ct_msg	 msg;
	int		 rc;

	if (len > FUZZ_CT_LINE_MAX)
		len = FUZZ_CT_LINE_MAX;
	memcpy(line, s, len);
	line[len] = '\0';
	memset(&msg, 0xa5, sizeof(msg));
	rc = ct_text_parse(line, &msg);
	if (rc < -1 || rc > 1)
		abort();
	/* src and dst of different families do parse (ctflow drops
	 * them), so only the state and the families themselves are
	 * checked. */
	if (rc == 0 && ((msg.tcp_state > CT_TCP_SYN_SENT2 &&
	    msg.tcp_state != CT_TCP_UNKNOWN) ||
	    (msg.src.family != AF_INET && msg.src.family != AF_INET6) ||
	    (msg.dst.family != AF_INET && msg.dst.family != AF_INET6))) {
		fprintf(stderr, "fuzz_ct_text: rc 0 with tcp_state %u, "
		    "families %u/%u: %s\n", msg.tcp_state, msg.src.family,
		    msg.dst.family, line);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *p, *end, *nl;

	if (size > 64 * 1024)
		return -1;
	fuzz_ct_text_line(buf, size);
	end = buf + size;
	for (p = buf; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		fuzz_ct_text_line(p, (size_t)(nl - p));
	}
	return 0;
}
