/*
 * libFuzzer target: the Local API's answers as cluster.c reads them
 * (lapi.c is included).  Each input is read, from a buffer of exactly its
 * size, as a decision stream answer and as a login answer; what the
 * parser promises is checked: on success every decision kept has a
 * prefix with its host bits zero and a duration within bounds, no more
 * decisions than LAPI_DECISIONS_MAX per array; on failure a reason and no
 * arrays.  The first byte, if it is 'G', makes the rest a Go duration.
 */
#include "../../src/lapi.c"

#include <assert.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_lapi_check(const struct lapi_decision *d, size_t n)
{
	struct prefix	p;
	size_t		i;

	assert(n <= LAPI_DECISIONS_MAX);
	for (i = 0; i < n; i++) {
		assert(d[i].prefix.len <= addr_maxlen(&d[i].prefix.addr));
		addr_mask(&d[i].prefix.addr, d[i].prefix.len, &p);
		assert(memcmp(&p.addr, &d[i].prefix.addr,
		    sizeof(p.addr)) == 0);
		assert(d[i].duration >= 0 &&
		    d[i].duration <= LAPI_DURATION_MAX);
		assert(memchr(d[i].origin, '\0', sizeof(d[i].origin)) !=
		    NULL);
		assert(memchr(d[i].scenario, '\0', sizeof(d[i].scenario)) !=
		    NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lapi_stream	 st;
	char			*buf, *cause = NULL, *tok;
	int64_t			 us;

	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (size > 0 && buf[0] == 'G') {
		us = lapi_duration_parse(buf + 1);
		assert(us >= -1 && us <= LAPI_DURATION_MAX);
		free(buf);
		return 0;
	}
	free(buf);
	/* Exactly size bytes from here: no NUL after them. */
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (lapi_stream_parse(buf, size, &st, &cause) == 0) {
		fuzz_lapi_check(st.added, st.nadded);
		fuzz_lapi_check(st.deleted, st.ndeleted);
		lapi_stream_free(&st);
	} else {
		assert(cause != NULL && st.added == NULL &&
		    st.deleted == NULL);
		free(cause);
	}
	cause = NULL;
	if ((tok = lapi_login_token(buf, size, &cause)) != NULL) {
		assert(*tok != '\0' && strpbrk(tok, "\r\n") == NULL);
		free(tok);
	} else {
		assert(cause != NULL);
		free(cause);
	}
	free(buf);
	return 0;
}
