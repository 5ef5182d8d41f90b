/*
 * Names of event kinds and sources.  These names are the one vocabulary used
 * in configuration, SQL rows, JSON output and logs, so they never change
 * once released; new kinds are appended.
 */
#include <stddef.h>
#include <string.h>

#include <stdio.h>

#include "event.h"

static const char *const event_kind_names[EVENT_KIND_MAX] = {
	[EVENT_NONE] = "none",
	[EVENT_CONN_SYN] = "conn_syn",
	[EVENT_CONN_OPEN] = "conn_open",
	[EVENT_CONN_CLOSE] = "conn_close",
	[EVENT_CONN_END] = "conn_end",
	[EVENT_CONN_BYTES] = "conn_bytes",
	[EVENT_AUTH_FAIL] = "auth_fail",
	[EVENT_AUTH_OK] = "auth_ok",
	[EVENT_REGISTER] = "register",
	[EVENT_REGISTER_FAIL] = "register_fail",
	[EVENT_LIMIT_HIT] = "limit_hit",
	[EVENT_S2S_FAIL] = "s2s_fail",
	[EVENT_S2S_OK] = "s2s_ok",
};

static const char *const event_source_names[EVENT_SRC_MAX] = {
	[EVENT_SRC_NONE] = "none",
	[EVENT_SRC_CONNTRACK] = "conntrack",
	[EVENT_SRC_LOG] = "log",
	[EVENT_SRC_REPLAY] = "replay",
	[EVENT_SRC_CONTROL] = "control",
};

const char *
event_kind_name(enum event_kind kind)
{
	if ((unsigned)kind >= EVENT_KIND_MAX)
		return NULL;
	return event_kind_names[kind];
}

const char *
event_kind_label(int kind)
{
	if (kind == EVENT_NONE)
		return NULL;
	return event_kind_name((enum event_kind)kind);
}

enum event_kind
event_kind_parse(const char *name)
{
	int	i;

	for (i = 1; i < EVENT_KIND_MAX; i++)
		if (strcmp(name, event_kind_names[i]) == 0)
			return (enum event_kind)i;
	return EVENT_NONE;
}

const char *
event_source_name(enum event_source src)
{
	if ((unsigned)src >= EVENT_SRC_MAX)
		return NULL;
	return event_source_names[src];
}

void
event_counts_json(FILE *out, const uint64_t counts[EVENT_KIND_MAX])
{
	int	k, first = 1;

	fputc('{', out);
	for (k = 1; k < EVENT_KIND_MAX; k++) {
		if (counts[k] == 0)
			continue;
		fprintf(out, "%s\"%s\":%llu", first ? "" : ",",
		    event_kind_names[k], (unsigned long long)counts[k]);
		first = 0;
	}
	fputc('}', out);
}

void
event_counts_text(FILE *out, const uint64_t counts[EVENT_KIND_MAX])
{
	int	k, first = 1;

	for (k = 1; k < EVENT_KIND_MAX; k++) {
		if (counts[k] == 0)
			continue;
		fprintf(out, "%s%s %llu", first ? "" : ", ",
		    event_kind_names[k], (unsigned long long)counts[k]);
		first = 0;
	}
}
