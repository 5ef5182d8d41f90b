/*
 * Status and metrics from counter descriptions: one group of scalars, one
 * list of items with labelled arrays and shared families, written as JSON,
 * text and the Prometheus exposition; the JSON parsed back by a real
 * parser (python3's json) when one is there.
 */
#include "../../src/status.c"

#include "unit.h"

#include <stdio.h>
#include <string.h>

struct thing {
	uint64_t	 hits;
	double		 ratio;
	int		 on;
	int		 maybe;
	int64_t		 took;		/* us */
	const char	*name;
	uint64_t	 by[3];
	uint64_t	 a, b;
};

static const char *
test_by_name(int i)
{
	static const char *const names[] = { NULL, "left", "right" };

	return names[i];
}

static void
thing_get(const void *obj, size_t i, void *snap)
{
	const struct thing	*t = obj;

	memcpy(snap, &t[i], sizeof(t[i]));
}

static size_t
thing_count(const void *obj)
{
	(void)obj;
	return 2;
}

#define TF(f)	offsetof(struct thing, f)
static const struct status_field thing_fields[] = {
	{ .name = "name", .type = STATUS_STR, .off = TF(name) },
	{ .name = "hits", .type = STATUS_U64, .off = TF(hits),
	  .kind = STATUS_COUNTER, .metric = "t_hits_total", .help = "Hits.",
	  .text = "% hits" },
	{ .name = "ratio", .type = STATUS_DOUBLE, .off = TF(ratio),
	  .text = "ratio %" },
	{ .name = "on", .type = STATUS_BOOL, .off = TF(on),
	  .kind = STATUS_GAUGE, .metric = "t_on", .help = "On." },
	{ .name = "maybe", .type = STATUS_TRI, .off = TF(maybe),
	  .text = "maybe %" },
	{ .name = "took_ms", .type = STATUS_US, .off = TF(took),
	  .kind = STATUS_GAUGE, .metric = "t_took_seconds", .help = "Took." },
	{ .name = "by", .type = STATUS_U64, .off = TF(by),
	  .kind = STATUS_COUNTER, .metric = "t_by_total", .help = "By side.",
	  .n = 3, .by = "side", .by_name = test_by_name },
	{ .name = "a", .type = STATUS_U64, .off = TF(a),
	  .kind = STATUS_COUNTER, .metric = "t_ab_total", .help = "A or B.",
	  .label = "which", .value = "a" },
	{ .name = "b", .type = STATUS_U64, .off = TF(b),
	  .kind = STATUS_COUNTER, .metric = "t_ab_total", .help = "",
	  .label = "which", .value = "b" },
	{ .name = NULL }
};

static const struct status_group one_group = {
	.name = "one", .text = "one", .fields = thing_fields,
	.size = sizeof(struct thing), .get = thing_get,
};
static const struct status_group list_group = {
	.name = "list", .text = "item", .fields = thing_fields,
	.size = sizeof(struct thing), .get = thing_get, .count = thing_count,
	.item = "thing",
};
static const struct status_group top_group = {
	.text = "top", .fields = thing_fields,
	.size = sizeof(struct thing), .get = thing_get,
};

static const struct thing things[2] = {
	{ 7, 0.25, 1, -1, 1500, "x\"y", { 9, 1, 0 }, 3, 4 },
	{ 0, 2.0, 0, 1, 0, "z", { 0, 0, 5 }, 0, 1 },
};

static char *
render(void (*fn)(const struct status *, FILE *), const struct status *st)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(st, f);
	fclose(f);
	return buf;
}

static void
render_metrics(const struct status *st, FILE *f)
{
	struct metrics	m;

	memset(&m, 0, sizeof(m));
	m.fp = f;
	status_metrics(st, &m);
}

static void
test_json(void **state)
{
	struct status	*st = status_new();
	char		*s, cmd[64];
	FILE		*p;

	(void)state;
	status_add(st, &top_group, &things[1]);
	status_add(st, &one_group, &things[0]);
	status_add(st, &list_group, things);
	s = render(status_json, st);
	assert_string_equal(s, "{\"name\":\"z\",\"hits\":0,\"ratio\":2.0,"
	    "\"on\":false,\"maybe\":true,\"took_ms\":0.000,"
	    "\"by\":{\"right\":5},\"a\":0,\"b\":1,"
	    "\"one\":{\"name\":\"x\\\"y\",\"hits\":7,\"ratio\":0.2,"
	    "\"on\":true,\"maybe\":null,\"took_ms\":1.500,"
	    "\"by\":{\"left\":1},\"a\":3,\"b\":4},"
	    "\"list\":[{\"name\":\"x\\\"y\",\"hits\":7,\"ratio\":0.2,"
	    "\"on\":true,\"maybe\":null,\"took_ms\":1.500,"
	    "\"by\":{\"left\":1},\"a\":3,\"b\":4},"
	    "{\"name\":\"z\",\"hits\":0,\"ratio\":2.0,\"on\":false,"
	    "\"maybe\":true,\"took_ms\":0.000,\"by\":{\"right\":5},"
	    "\"a\":0,\"b\":1}]}\n");
	/* A real parser agrees, where there is one. */
	if (system("python3 -c '' 2>/dev/null") == 0) {
		snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; "
		    "json.load(sys.stdin)'");
		assert_non_null(p = popen(cmd, "w"));
		fputs(s, p);
		assert_int_equal(pclose(p), 0);
	}
	free(s);
	status_free(st);
}

static void
test_text(void **state)
{
	struct status	*st = status_new();
	char		*s;

	(void)state;
	status_add(st, &one_group, &things[0]);
	status_add(st, &list_group, things);
	s = render(status_text, st);
	assert_string_equal(s,
	    "one         7 hits, ratio 0.2, maybe unknown\n"
	    "item x\"y    7 hits, ratio 0.2, maybe unknown\n"
	    "item z      0 hits, ratio 2.0, maybe on\n");
	free(s);
	status_free(st);
}

/* Families whole and in order; list items labelled; a shared family
 * (t_ab_total) has one HELP and both its samples together. */
static void
test_metrics(void **state)
{
	struct status	*st = status_new();
	char		*s;

	(void)state;
	status_add(st, &one_group, &things[0]);
	status_add(st, &list_group, things);
	s = render(render_metrics, st);
	assert_string_equal(s,
	    "# HELP t_hits_total Hits.\n# TYPE t_hits_total counter\n"
	    "t_hits_total 7\n"
	    "# HELP t_on On.\n# TYPE t_on gauge\nt_on 1\n"
	    "# HELP t_took_seconds Took.\n# TYPE t_took_seconds gauge\n"
	    "t_took_seconds 0.0015\n"
	    "# HELP t_by_total By side.\n# TYPE t_by_total counter\n"
	    "t_by_total{side=\"left\"} 1\nt_by_total{side=\"right\"} 0\n"
	    "# HELP t_ab_total A or B.\n# TYPE t_ab_total counter\n"
	    "t_ab_total{which=\"a\"} 3\nt_ab_total{which=\"b\"} 4\n"
	    "# HELP t_hits_total Hits.\n# TYPE t_hits_total counter\n"
	    "t_hits_total{thing=\"x\\\"y\"} 7\nt_hits_total{thing=\"z\"} 0\n"
	    "# HELP t_on On.\n# TYPE t_on gauge\n"
	    "t_on{thing=\"x\\\"y\"} 1\nt_on{thing=\"z\"} 0\n"
	    "# HELP t_took_seconds Took.\n# TYPE t_took_seconds gauge\n"
	    "t_took_seconds{thing=\"x\\\"y\"} 0.0015\n"
	    "t_took_seconds{thing=\"z\"} 0\n"
	    "# HELP t_by_total By side.\n# TYPE t_by_total counter\n"
	    "t_by_total{thing=\"x\\\"y\",side=\"left\"} 1\n"
	    "t_by_total{thing=\"x\\\"y\",side=\"right\"} 0\n"
	    "t_by_total{thing=\"z\",side=\"left\"} 0\n"
	    "t_by_total{thing=\"z\",side=\"right\"} 5\n"
	    "# HELP t_ab_total A or B.\n# TYPE t_ab_total counter\n"
	    "t_ab_total{thing=\"x\\\"y\",which=\"a\"} 3\n"
	    "t_ab_total{thing=\"z\",which=\"a\"} 0\n"
	    "t_ab_total{thing=\"x\\\"y\",which=\"b\"} 4\n"
	    "t_ab_total{thing=\"z\",which=\"b\"} 1\n");
	free(s);
	status_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
