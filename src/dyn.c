/*
 * libcurl and libstrophe, loaded at first use rather than at exec.
 *
 * Linked, the two bring 38 shared libraries (TLS stacks, Kerberos, LDAP,
 * SSH, IDN, compression) that the dynamic loader maps and relocates at
 * once under -z now before main() runs: 20 ms of a 29 ms start (time of a
 * program that only links the same libraries, 2 CPUs), and their pages
 * resident in every daemon.  Only webhooks, HTTP alerts, the LAPI feed
 * and XMPP alerts use them; test-filter, the CLI and a daemon without
 * those never load them.
 *
 * Each library is loaded once (pthread_once(3), so the XMPP alert thread
 * and the loop may race for it), every function it is asked for resolved
 * at that moment (RTLD_NOW), and the table filled only when all were
 * found: a table is complete or not handed out.  The library stays loaded
 * until exit: libcurl's and libstrophe's own threads and atexit handlers
 * must not lose their code.  The callers keep their calls: dyn.h turns
 * each name into a call through the table, typed from the library's own
 * prototype, so a signature mismatch fails the build, not the daemon.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dyn.h"
#include "log.h"
#include "xmalloc.h"

/* The SONAMEs the build linked against (libcurl4, libstrophe0). */
#define DYN_CURL_SONAME		"libcurl.so.4"
#define DYN_STROPHE_SONAME	"libstrophe.so.0"

struct dyn_lib {
	const char	*soname;
	const char *const *names;	/* of the functions, in table order */
	size_t		 n;
	void		**table;	/* n pointers */
	pthread_once_t	 once;
	int		 ok;
	char		*cause;		/* why not, if !ok */
};

#define DYN_NAME(fn)	#fn,
static const char *const dyn_curl_names[] = { DYN_CURL_FUNCS(DYN_NAME) };
static const char *const dyn_strophe_names[] = {
	DYN_STROPHE_FUNCS(DYN_NAME)
};

static struct dyn_curl		dyn_curl_table;
static struct dyn_strophe	dyn_strophe_table;

/* Each table is one pointer per name, in the same order. */
_Static_assert(sizeof(dyn_curl_table) ==
    sizeof(dyn_curl_names) / sizeof(dyn_curl_names[0]) * sizeof(void *),
    "dyn_curl: table and names differ");
_Static_assert(sizeof(dyn_strophe_table) ==
    sizeof(dyn_strophe_names) / sizeof(dyn_strophe_names[0]) *
    sizeof(void *), "dyn_strophe: table and names differ");

static struct dyn_lib dyn_curl_lib = {
	.soname = DYN_CURL_SONAME,
	.names = dyn_curl_names,
	.n = sizeof(dyn_curl_names) / sizeof(dyn_curl_names[0]),
	.table = (void **)&dyn_curl_table,
	.once = PTHREAD_ONCE_INIT,
};

static struct dyn_lib dyn_strophe_lib = {
	.soname = DYN_STROPHE_SONAME,
	.names = dyn_strophe_names,
	.n = sizeof(dyn_strophe_names) / sizeof(dyn_strophe_names[0]),
	.table = (void **)&dyn_strophe_table,
	.once = PTHREAD_ONCE_INIT,
};

/* Loads l, resolves its names into a scratch table, then copies it. */
static void
dyn_open(struct dyn_lib *l)
{
	void		**tmp;
	void		*h;
	const char	*err;
	size_t		 i;

	if ((h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		err = dlerror();
		l->cause = xasprintf("cannot load %s: %s", l->soname,
		    err != NULL ? err : "unknown error");
		return;
	}
	tmp = xcalloc(l->n, sizeof(*tmp));
	for (i = 0; i < l->n; i++) {
		(void)dlerror();
		if ((tmp[i] = dlsym(h, l->names[i])) == NULL) {
			l->cause = xasprintf("%s: no %s", l->soname,
			    l->names[i]);
			free(tmp);
			(void)dlclose(h);
			return;
		}
	}
	memcpy(l->table, tmp, l->n * sizeof(*tmp));
	free(tmp);
	l->ok = 1;
}

static void
dyn_open_curl(void)
{
	dyn_open(&dyn_curl_lib);
}

static void
dyn_open_strophe(void)
{
	dyn_open(&dyn_strophe_lib);
}

static int
dyn_load(struct dyn_lib *l, void (*open)(void), char **cause)
{
	(void)pthread_once(&l->once, open);
	if (l->ok)
		return 0;
	if (cause != NULL)
		*cause = xstrdup(l->cause);
	return -1;
}

int
dyn_curl_load(char **cause)
{
	return dyn_load(&dyn_curl_lib, dyn_open_curl, cause);
}

int
dyn_strophe_load(char **cause)
{
	return dyn_load(&dyn_strophe_lib, dyn_open_strophe, cause);
}

const struct dyn_curl *
dyn_curl(void)
{
	if (dyn_load(&dyn_curl_lib, dyn_open_curl, NULL) == -1)
		fatalx("%s", dyn_curl_lib.cause);
	return &dyn_curl_table;
}

const struct dyn_strophe *
dyn_strophe(void)
{
	if (dyn_load(&dyn_strophe_lib, dyn_open_strophe, NULL) == -1)
		fatalx("%s", dyn_strophe_lib.cause);
	return &dyn_strophe_table;
}
