/*
 * libFuzzer target: the filter file parser.  The input (at most
 * FUZZ_FILTER_MAX bytes) is loaded as a filter file with
 * filter_load_buf(); if it loads, its own lines (which hold its regexes
 * and samples, the likeliest lines to match) are run through
 * filter_match(), then the whole input through filter_scan(), and the
 * filter is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "log.h"

#define FUZZ_FILTER_MAX		(64 * 1024)
#define FUZZ_FILTER_NOW		1795920943000000LL

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_filter_scan_cb(uint64_t line, const char *text, size_t len,
    const struct filter_result *r, void *arg)
{
	(void)line;
	(void)text;
	(void)len;
	(void)arg;
	if (r->kind == EVENT_NONE)
		abort();	/* only events are reported */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	struct filter		*f;
	struct filter_result	 r;
	const char		*buf = (const char *)data, *p, *end, *nl;
	char			*cause = NULL;
	size_t			 i;

	if (size > FUZZ_FILTER_MAX)
		return -1;
	if (!init) {
		log_init(1, LOG_LEVEL_ERR);
		init = 1;
	}
	if ((f = filter_load_buf("fuzz", buf, size, &cause)) == NULL) {
		if (cause == NULL)
			abort();	/* a failure says why */
		free(cause);
		return 0;
	}
	free(cause);
	end = buf + size;
	for (p = buf; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (filter_match(f, p, (size_t)(nl - p), FUZZ_FILTER_NOW,
		    &r) > 0 && r.kind == EVENT_NONE)
			abort();
	}
	for (i = 0; i < filter_nsamples(f); i++) {
		p = filter_sample(f, i, NULL);
		(void)filter_match(f, p, strlen(p), FUZZ_FILTER_NOW, &r);
	}
	(void)filter_scan(f, buf, size, FUZZ_FILTER_NOW, fuzz_filter_scan_cb,
	    NULL);
	filter_free(f);
	return 0;
}
