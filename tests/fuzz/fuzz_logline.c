/*
 * libFuzzer target: real filters over hostile log text.  The filters in
 * FUZZ_LOGLINE_FILTERS are loaded once from the source tree's filters/
 * directory: $XG_FUZZ_FILTERS if set, else found from the binary's own
 * place (build/fuzz/bin/ -> ../../../filters), else ./filters.  Each input
 * (at most FUZZ_LOGLINE_MAX bytes) is matched whole with filter_match() (a
 * line may hold NUL bytes), then line by line, then as a buffer with
 * filter_scan().  The filters' join and dedup tables live across inputs,
 * as in the daemon; they are bounded.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "log.h"

#define FUZZ_LOGLINE_MAX	(64 * 1024)
#define FUZZ_LOGLINE_NOW	1795920943000000LL

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_logline_names[] = {
	"ejabberd.conf",
	"prosody.conf",
};
#define FUZZ_LOGLINE_NFILTERS \
	(sizeof(fuzz_logline_names) / sizeof(fuzz_logline_names[0]))

static struct filter	*fuzz_logline_filters[FUZZ_LOGLINE_NFILTERS];
static int64_t		 fuzz_logline_now = FUZZ_LOGLINE_NOW;

/* The filters directory, or exits with a message saying how to give it. */
static void
fuzz_logline_dir(char *dir, size_t size)
{
	const char	*env;
	char		 exe[PATH_MAX], *slash;
	ssize_t		 n;
	int		 i;

	if ((env = getenv("XG_FUZZ_FILTERS")) != NULL) {
		snprintf(dir, size, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* build/fuzz/bin/fuzz_logline: up four components. */
		for (i = 0; i < 4 && (slash = strrchr(exe, '/')) != NULL; i++)
			*slash = '\0';
		snprintf(dir, size, "%s/filters", exe);
		if (access(dir, R_OK | X_OK) == 0)
			return;
	}
	snprintf(dir, size, "filters");
	if (access(dir, R_OK | X_OK) == 0)
		return;
	fprintf(stderr, "fuzz_logline: cannot find the filters/ directory of "
	    "the source tree; set XG_FUZZ_FILTERS=/path/to/filters\n");
	exit(2);
}

static void
fuzz_logline_init(void)
{
	char	 dir[PATH_MAX], path[PATH_MAX + 64], *cause = NULL;
	size_t	 i;

	log_init(1, LOG_LEVEL_ERR);
	fuzz_logline_dir(dir, sizeof(dir));
	for (i = 0; i < FUZZ_LOGLINE_NFILTERS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
		    fuzz_logline_names[i]);
		if ((fuzz_logline_filters[i] = filter_load(path,
		    &cause)) == NULL) {
			fprintf(stderr, "fuzz_logline: %s: %s\n", path,
			    cause != NULL ? cause : "cannot load");
			exit(2);
		}
	}
}

static void
fuzz_logline_scan_cb(uint64_t line, const char *text, size_t len,
    const struct filter_result *r, void *arg)
{
	(void)line;
	(void)text;
	(void)len;
	(void)arg;
	if (r->kind == EVENT_NONE || strnlen(r->user, FILTER_USER_MAX) ==
	    FILTER_USER_MAX || strnlen(r->key, FILTER_KEY_MAX) ==
	    FILTER_KEY_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct filter_result	 r;
	const char		*buf = (const char *)data, *p, *end, *nl;
	size_t			 i;

	if (size > FUZZ_LOGLINE_MAX)
		return -1;
	if (fuzz_logline_filters[0] == NULL)
		fuzz_logline_init();
	/* Time moves on, so join and dedup entries also expire. */
	fuzz_logline_now += 1000000;
	end = buf + size;
	for (i = 0; i < FUZZ_LOGLINE_NFILTERS; i++) {
		(void)filter_match(fuzz_logline_filters[i], buf, size,
		    fuzz_logline_now, &r);
		for (p = buf; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			if (filter_match(fuzz_logline_filters[i], p,
			    (size_t)(nl - p), fuzz_logline_now, &r) > 0)
				fuzz_logline_scan_cb(0, p, (size_t)(nl - p),
				    &r, NULL);
		}
		(void)filter_scan(fuzz_logline_filters[i], buf, size,
		    fuzz_logline_now, fuzz_logline_scan_cb, NULL);
	}
	return 0;
}
