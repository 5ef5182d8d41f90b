/*
 * The report's ranking: each address of the overview gets the limit it
 * came closest to in its busiest hour (the rules' own limits for its
 * service and network, overrides included), its score, and a place in
 * two bounded lists: the top list by the sort key, and the near list (at
 * REPORT_NEAR or more of a limit, not banned) by share of a limit.  Each
 * list is a min-heap of at most `top` entries whose root is the lowest
 * ranked, so an address that ranks below every kept one costs one
 * comparison, and memory is O(top) however many addresses the period
 * holds; report_rank_end() sorts them best first.
 *
 * Score, the default order of the top list: 100 times the highest share of
 * a limit the address reached in one hour of the period (100: at the
 * limit), plus 100 for each verdict and each ban of the period.  Attackers
 * that were stopped lead; then those close to a limit; an address far from
 * every limit scores under 70.  "In one hour" compares an hour's count with
 * the rule's count whatever its window (see "near" in xmppguard(8), report).
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "report_int.h"
#include "rule.h"

/*
 * Comparisons.  report_rank_cmp() > 0 when a ranks above b for the sort
 * key; ties go to the score, then to the address, so the order is total
 * and the output stable.
 */
/*
 * Addresses in numeric order (10.9.2.2 before 10.9.2.10), IPv4 before
 * IPv6; text that is no address after those that are, as text.
 */
static int
report_addr_order(const char *a, const char *b)
{
	struct addr	x, y;
	int		px, py;

	px = addr_parse(a, &x, NULL) == 0;
	py = addr_parse(b, &y, NULL) == 0;
	if (px && py)
		return addr_cmp(&x, &y);
	if (px != py)
		return px ? -1 : 1;
	return strcmp(a, b);
}

static double
report_key(const struct report_addr *a, enum report_sort k)
{
	switch (k) {
	case REPORT_SORT_CONNS:
		return (double)a->c.conns;
	case REPORT_SORT_PEAK:
		return (double)a->c.peak_live;
	case REPORT_SORT_SHORT:
		/* The share, then the count: 1 of 1 is not a churner. */
		return report_short_share(&a->c) * 1e12 +
		    (double)a->c.short_lived;
	case REPORT_SORT_BYTES:
		return (double)a->c.bytes_in + (double)a->c.bytes_out;
	case REPORT_SORT_AUTH:
		return (double)a->c.auth_fail;
	case REPORT_SORT_REGISTER:
		return (double)a->c.registered;
	case REPORT_SORT_BANS:
		return (double)a->bans;
	case REPORT_SORT_REFUSED:
		return (double)a->c.refused;
	default:
		return a->score;
	}
}

static int
report_rank_cmp(const struct report_addr *a, const struct report_addr *b,
    enum report_sort k)
{
	double	ka = report_key(a, k), kb = report_key(b, k);

	if (ka != kb)
		return ka > kb ? 1 : -1;
	if (a->score != b->score)
		return a->score > b->score ? 1 : -1;
	return report_addr_order(b->addr, a->addr);
}

static int
report_near_cmp(const struct report_addr *a, const struct report_addr *b,
    enum report_sort k)
{
	(void)k;
	if (a->lim.share != b->lim.share)
		return a->lim.share > b->lim.share ? 1 : -1;
	return report_addr_order(b->addr, a->addr);
}

typedef int (*report_cmp_fn)(const struct report_addr *,
    const struct report_addr *, enum report_sort);

/* Moves h[i] down the min-heap of n entries to where it belongs. */
static void
report_heap_down(struct report_addr *h, int n, int i, report_cmp_fn cmp,
    enum report_sort k)
{
	struct report_addr	 tmp;
	int			 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && cmp(&h[c + 1], &h[c], k) < 0)
			c++;
		if (cmp(&h[c], &h[i], k) >= 0)
			break;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
		i = c;
	}
}

/* A min-heap of at most cap entries: h[0] ranks lowest. */
static void
report_heap_push(struct report_addr *h, int *n, int cap,
    const struct report_addr *a, report_cmp_fn cmp, enum report_sort k)
{
	struct report_addr	 tmp;
	int			 i;

	if (cap <= 0)
		return;
	if (*n < cap) {
		i = (*n)++;
		h[i] = *a;
		while (i > 0 && cmp(&h[i], &h[(i - 1) / 2], k) < 0) {
			tmp = h[i];
			h[i] = h[(i - 1) / 2];
			h[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
		return;
	}
	if (cmp(a, &h[0], k) <= 0)
		return;
	h[0] = *a;
	report_heap_down(h, *n, 0, cmp, k);
}

/* Sorts a heap best first (a heap sort: no global for qsort). */
static void
report_heap_sort(struct report_addr *h, int n, report_cmp_fn cmp,
    enum report_sort k)
{
	struct report_addr	 tmp;
	int			 end;

	/* Popping the lowest to the end leaves the array best first. */
	for (end = n - 1; end > 0; end--) {
		tmp = h[0];
		h[0] = h[end];
		h[end] = tmp;
		report_heap_down(h, end, 0, cmp, k);
	}
}

/* Keeps in *lim the larger share of observed / limit. */
static void
report_limit_try(struct report_limit *lim, const char *name,
    const char *service, uint64_t observed, uint64_t limit)
{
	double	share;

	if (limit == 0 || observed == 0)
		return;
	share = (double)observed / (double)limit;
	if (lim->name != NULL && share <= lim->share)
		return;
	lim->name = name;
	snprintf(lim->service, sizeof(lim->service), "%s", service);
	lim->observed = observed;
	lim->limit = limit;
	lim->share = share;
}

void
report_limits(const struct report *r, const struct addr *a,
    const char *service, uint64_t max_conns, uint64_t peak,
    uint64_t max_auth, uint64_t max_reg, struct report_limit *lim)
{
	const struct conf		*conf = r->conf;
	const struct conf_service	*svc = NULL;
	struct rule_limits		 rl;
	struct prefix			 host;
	int				 i;

	for (i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, service) == 0)
			svc = &conf->services[i];
	if (svc != NULL) {
		addr_mask(a, addr_maxlen(a), &host);
		rule_limits(conf, svc, &host, &rl);
		report_limit_try(lim, "max_concurrent", service, peak,
		    rl.max_concurrent);
		report_limit_try(lim, "max_new", service, max_conns,
		    rl.max_new.count);
	}
	report_limit_try(lim, "max_fail", service, max_auth,
	    conf->auth_max_fail.count);
	report_limit_try(lim, "max_register", service, max_reg,
	    conf->auth_max_register.count);
}

void
report_rank_add(struct report *r, struct report_addr *a)
{
	a->score = 100.0 * a->lim.share +
	    100.0 * (double)(a->c.verdicts + a->bans);
	report_heap_push(r->tops, &r->ntops, r->top, a, report_rank_cmp,
	    r->sort);
	if (a->lim.name != NULL && a->lim.share >= REPORT_NEAR &&
	    a->bans == 0)
		report_heap_push(r->near, &r->nnear, r->top, a,
		    report_near_cmp, r->sort);
}

void
report_rank_end(struct report *r)
{
	report_heap_sort(r->tops, r->ntops, report_rank_cmp, r->sort);
	report_heap_sort(r->near, r->nnear, report_near_cmp, r->sort);
}
