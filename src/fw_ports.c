/*
 * Which ports a ban drops: its scope (enum fw_scope) under the
 * configuration.
 *
 * A ban of the services' scope drops the ports of every service; one of
 * the proxy scope (a client judged by lines that came through a
 * configured proxy) drops [allow] proxy_ports as well, or every port when
 * proxy_ports is all.  [ban] all_ports makes both every port: one
 * behaviour.  The proxy scope always holds the services' ports, so
 * widening a ban to it never opens a port the ban closed.
 *
 * The same lists serve the backends (struct fw keeps both, filled at
 * open) and the daemon's words about a ban (the log line, `xmppguard
 * bans`, alerts), so what is said is what the kernel drops.  A list is
 * sorted and holds each port once; 0 ports means every port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fw.h"
#include "fw_int.h"

static int
fw_ports_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Adds p to ports[0..*n) unless there; 0, or -1 if max are there. */
static int
fw_ports_add(uint16_t *ports, int *n, int max, uint16_t p)
{
	int	 k;

	for (k = 0; k < *n; k++)
		if (ports[k] == p)
			return 0;
	if (*n == max)
		return -1;
	ports[(*n)++] = p;
	return 0;
}

int
fw_ports_services(const struct conf *conf, uint16_t *ports)
{
	const struct conf_service	*svc;
	int				 i, j, n = 0;

	for (i = 0; i < conf->nservices; i++) {
		svc = &conf->services[i];
		for (j = 0; j < svc->nports; j++)
			if (fw_ports_add(ports, &n, CONF_PORTS_TOTAL_MAX,
			    svc->ports[j]) == -1)
				return -1;
	}
	qsort(ports, (size_t)n, sizeof(ports[0]), fw_ports_cmp);
	return n;
}

int
fw_ports_conf(const struct conf *conf, enum fw_scope scope,
    uint16_t *ports)
{
	int	 n, i;

	if (conf->ban_all_ports)
		return 0;
	if ((n = fw_ports_services(conf, ports)) <= 0 ||
	    scope == FW_SCOPE_SERVICES)
		return n;
	if (conf->nproxy_ports == 0)
		return 0;
	for (i = 0; i < conf->nproxy_ports; i++)
		(void)fw_ports_add(ports, &n, FW_PORTS_MAX,
		    conf->proxy_ports[i]);
	qsort(ports, (size_t)n, sizeof(ports[0]), fw_ports_cmp);
	return n;
}

int
fw_scope_ports(const struct fw *fw, enum fw_scope scope,
    const uint16_t **ports)
{
	*ports = scope == FW_SCOPE_PROXY ? fw->pports : fw->ports;
	if (fw->all_ports)
		return 0;
	return scope == FW_SCOPE_PROXY ? fw->npports : fw->nports;
}

char *
fw_ports_fmt(const uint16_t *ports, int n, char *buf, size_t size)
{
	size_t	 off = 0;
	int	 i;

	if (n <= 0) {
		snprintf(buf, size, "all");
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%u",
		    i > 0 ? "," : "", ports[i]);
	return buf;
}

const char *
fw_scope_name(enum fw_scope scope)
{
	return scope == FW_SCOPE_PROXY ? "proxy" : "services";
}
