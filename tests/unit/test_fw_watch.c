/*
 * The nftables watcher's judgement, fed the kernel's notifications as
 * libmnl builds them: what someone else did to the table is told once per
 * transaction; what the daemon does itself (bans, unbans, replacements, a
 * reload's rules) is not.
 */
#include "../../src/fw_watch.c"

#include "unit.h"

#include <string.h>

static char	told[256];
static int	ntold;
static struct addr held_addr;	/* the one ban in force */

static int
held_cb(const struct addr *a, int interval, void *arg)
{
	(void)interval;
	(void)arg;
	return addr_eq(a, &held_addr);
}

static void
changed_cb(const char *what, int certain, void *arg)
{
	(void)arg;
	assert_true(certain);
	snprintf(told, sizeof(told), "%s", what);
	ntold++;
}

/* Appends one notification of type to buf at *off. */
static struct nlmsghdr *
msg(uint8_t *buf, size_t *off, int type)
{
	struct nlmsghdr	*nlh = mnl_nlmsg_put_header(buf + *off);
	struct nfgenmsg	*g;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = NFPROTO_INET;
	return nlh;
}

static void
done(uint8_t *buf, size_t *off, struct nlmsghdr *nlh)
{
	*off += NLMSG_ALIGN(nlh->nlmsg_len);
	(void)buf;
}

/* An element of set in table, 4 bytes of key, deleted or added. */
static void
elem(uint8_t *buf, size_t *off, const char *table, const char *set,
    const char *a, int deleted)
{
	struct nlmsghdr	*nlh;
	struct nlattr	*l, *e, *k;
	struct addr	 x;

	assert_int_equal(addr_parse(a, &x, NULL), 0);
	nlh = msg(buf, off, deleted ? NFT_MSG_DELSETELEM :
	    NFT_MSG_NEWSETELEM);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	l = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, 4, x.bytes);
	mnl_attr_nest_end(nlh, k);
	mnl_attr_nest_end(nlh, e);
	mnl_attr_nest_end(nlh, l);
	done(buf, off, nlh);
}

static void
named(uint8_t *buf, size_t *off, int type, int attr, const char *table)
{
	struct nlmsghdr	*nlh = msg(buf, off, type);

	mnl_attr_put_strz(nlh, attr, table);
	done(buf, off, nlh);
}

static void
gen(struct fw_watch *w, uint8_t *buf, size_t *off)
{
	done(buf, off, msg(buf, off, NFT_MSG_NEWGEN));
	fw_watch_input(w, buf, *off);
	*off = 0;
}

static void
test_watch(void **state)
{
	struct fw_watch	*w;
	uint8_t		*buf = xcalloc(1, 65536);
	size_t		 off = 0;

	(void)state;
	assert_int_equal(addr_parse("198.51.100.7", &held_addr, NULL), 0);
	w = fw_watch_new("xgt", held_cb, changed_cb, NULL);

	/* Ours: a ban, an extension (delete and add again), an unban of
	 * what is no longer in force, another table's changes. */
	elem(buf, &off, "xgt", "ban4", "198.51.100.7", 0);
	gen(w, buf, &off);
	elem(buf, &off, "xgt", "ban4", "198.51.100.7", 1);
	elem(buf, &off, "xgt", "ban4", "198.51.100.7", 0);
	elem(buf, &off, "xgt", "ban4", "198.51.100.9", 1);
	gen(w, buf, &off);
	elem(buf, &off, "other", "ban4", "198.51.100.7", 1);
	named(buf, &off, NFT_MSG_DELTABLE, NFTA_TABLE_NAME, "other");
	gen(w, buf, &off);
	/* A reload: the chain's rules flushed and added again. */
	named(buf, &off, NFT_MSG_DELRULE, NFTA_RULE_TABLE, "xgt");
	named(buf, &off, NFT_MSG_NEWRULE, NFTA_RULE_TABLE, "xgt");
	gen(w, buf, &off);
	assert_int_equal(ntold, 0);

	/* Someone else's: a ban in force deleted. */
	elem(buf, &off, "xgt", "ban4", "198.51.100.7", 1);
	gen(w, buf, &off);
	assert_int_equal(ntold, 1);
	assert_string_equal(told, "1 ban in force deleted from set inet "
	    "xgt ban4");
	/* The table, with another: flush ruleset. */
	named(buf, &off, NFT_MSG_DELTABLE, NFTA_TABLE_NAME, "other");
	named(buf, &off, NFT_MSG_DELTABLE, NFTA_TABLE_NAME, "xgt");
	gen(w, buf, &off);
	assert_string_equal(told, "table inet xgt vanished (flush ruleset?)");
	/* Rules only deleted. */
	named(buf, &off, NFT_MSG_DELRULE, NFTA_RULE_TABLE, "xgt");
	gen(w, buf, &off);
	assert_string_equal(told, "1 rule of chain inet xgt filter deleted");
	assert_int_equal(ntold, 3);
	/* Renamed by a reload: the old name is no one's business. */
	fw_watch_set_table(w, "xg2");
	named(buf, &off, NFT_MSG_DELTABLE, NFTA_TABLE_NAME, "xgt");
	gen(w, buf, &off);
	assert_int_equal(ntold, 3);
	assert_int_equal(w->st.changes, 3);
	fw_watch_close(w);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
