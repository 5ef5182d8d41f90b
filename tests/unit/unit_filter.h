/*
 * For unit tests of the filters: a filter from text in the test, its file
 * name "t.conf"; a load error fails the test with its message.
 */
#ifndef UNIT_FILTER_H
#define UNIT_FILTER_H

#include <string.h>

#include "filter.h"

static __attribute__((unused)) struct filter *
load_str(const char *text)
{
	struct filter	*f;
	char		*cause = NULL;

	f = filter_load_buf("t.conf", text, strlen(text), &cause);
	if (f == NULL)
		fail_msg("%s", cause);
	return f;
}

#endif /* UNIT_FILTER_H */
