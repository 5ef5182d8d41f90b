/*
 * The configuration of the kernel caps' unit tests (test_kcap.c,
 * test_kcap_text.c): the built-in defaults with c2s alone capped, at the
 * tests' figures, and the caps available.
 */
#ifndef UNIT_KCAP_H
#define UNIT_KCAP_H

#include <string.h>

#include "../../src/conf.h"
#include "../../src/kcap.h"

#define S	1000000LL
#define T0	(1699999200LL * S)

static struct conf *
load(void)
{
	struct conf	*conf = NULL;
	char		*cause = NULL;
	int		 i;

	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	assert_null(cause);
	/* c2s alone, with the figures of the tests. */
	for (i = 0; i < conf->nservices; i++) {
		struct conf_service *svc = &conf->services[i];

		svc->kernel_caps = strcmp(svc->name, "c2s") == 0;
		if (!svc->kernel_caps)
			continue;
		svc->max_concurrent = 10;
		svc->max_new.count = 20;
		svc->max_new.window = 3600 * S;
		svc->net_max_concurrent = 200;
		svc->net_max_new.count = 0;
	}
	conf->ban_cap_group = 5222;
	conf->ban_cap_persist.count = 3;
	conf->ban_cap_persist.window = 600 * S;
	kcap_set_available(1);
	return conf;
}

#endif /* UNIT_KCAP_H */
