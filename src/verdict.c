/*
 * The rules' names, one vocabulary in configuration, logs, store and
 * commands.
 */
#include <string.h>

#include "verdict.h"

static const char *const verdict_rule_names[VERDICT_RULE_MAX] = {
	[VERDICT_CONCURRENCY] = "concurrency",
	[VERDICT_CHURN] = "churn",
	[VERDICT_KARMA] = "karma",
	[VERDICT_AUTH] = "auth",
	[VERDICT_REGISTER] = "register",
	[VERDICT_MANUAL] = "manual",
};

const char *
verdict_rule_name(enum verdict_rule rule)
{
	if ((unsigned)rule >= VERDICT_RULE_MAX)
		return NULL;
	return verdict_rule_names[rule];
}

const char *
verdict_rule_label(int rule)
{
	return verdict_rule_name((enum verdict_rule)rule);
}

int
verdict_rule_parse(const char *name)
{
	int	r;

	for (r = 0; name != NULL && r < VERDICT_RULE_MAX; r++)
		if (strcmp(verdict_rule_names[r], name) == 0)
			return r;
	return -1;
}
