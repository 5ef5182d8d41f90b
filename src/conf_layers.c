/*
 * The files of a configuration, in the order they are read: the main file
 * (/etc/xmppguard/xmppguard.conf, or -c FILE), then every *.conf of the
 * directory conf.d beside it, in byte order of their names (as the C
 * locale sorts), then the secrets file (secrets beside the main file, or
 * [global] secrets).  Each is read as if appended to the one before: a
 * section may go on, or be opened again, in a later file, and a key set
 * again in a later file replaces the earlier value (a list too, whole),
 * the way a fail2ban .local overrides its .conf, so a package's file and
 * the operator's drop-ins and secrets compose without editing one
 * another.  Set twice within one file it is still an error.
 *
 * Which files: a conf.d name starting with '.' or not ending in ".conf"
 * (README, x.conf.dpkg-old, .x.conf.swp) is skipped; a missing conf.d or
 * default secrets file is no error, a named one that is missing is.  At
 * most CONF_DROPINS_MAX drop-ins, each a regular file.  Every file but
 * the secrets one passes StrictModes as the main file does (perm.c:
 * running as root, no one else may change it or a directory above it).
 * The secrets file may not be read by group or others at all (0600,
 * 0400) and belongs to root or the daemon's user ([global] user, who
 * reads it again on reload after the drop); one owned by that user may
 * set secrets only (CONF_F_SECRET), since whoever can write it could
 * otherwise turn the next start as root into anything.
 *
 * Places (CONF_LOC) carry the file's index, so every message names the
 * file and line of what it is about.  What is kept in the loaded
 * configuration (struct conf_layers): the files, and where each value
 * was set and which one it replaced, for check-config; warnings for a
 * secret set in a file others may read.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "perm.h"
#include "xmalloc.h"

#define CONF_DROPIN_DIR		"conf.d"
#define CONF_DROPIN_SUFFIX	".conf"
#define CONF_DROPINS_MAX	128
#define CONF_SECRETS_NAME	"secrets"

_Static_assert(CONF_DROPINS_MAX + 2 <= CONF_LOC_FILES,
    "every file has a place");

/* The daemon's user ([global] user) and its group; -1 each if none. */
static void
conf_daemon_user(const struct conf *conf, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (conf->user == NULL || conf->user[0] == '\0' ||
	    (pw = getpwnam(conf->user)) == NULL)
		return;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

/* A file about to be read becomes the current one. */
static void
conf_file_add(struct conf_parse *cp, const char *path, const struct stat *st)
{
	struct conf_layers	*lay = cp->conf->layers;
	struct conf_file	*f;

	lay->files = xreallocarray(lay->files, (size_t)lay->nfiles + 1,
	    sizeof(*lay->files));
	f = &lay->files[lay->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	if (st != NULL) {
		f->stated = 1;
		f->uid = st->st_uid;
		f->gid = st->st_gid;
		f->mode = st->st_mode;
	}
	cp->file = lay->nfiles++;
	cp->path = f->path;
	cp->cur = -1;
	cp->skip = 0;
	cp->prev = NULL;
}

/*
 * The main file, read as it always was: any error (cannot open, a
 * StrictModes refusal, a read error) is reported for it.  -1 if it could
 * not be read at all.
 */
static int
conf_read_main(struct conf_parse *cp, const char *path)
{
	struct stat	 st;
	FILE		*fp;
	char		*why;

	cp->path = path;
	if ((fp = fopen(path, "re")) == NULL) {
		conf_error(cp, 0, "%s", strerror(errno));
		return -1;
	}
	if (perm_check_root(path, &why) == -1) {
		conf_error(cp, 0, "%s", why);
		free(why);
		fclose(fp);
		return -1;
	}
	conf_file_add(cp, path, fstat(fileno(fp), &st) == 0 ? &st : NULL);
	conf_read_file(cp, fp);
	fclose(fp);
	return 0;
}

/*
 * One more file: a drop-in (StrictModes), or the secrets file (its own
 * rules).  A missing one is no error if optional.
 */
static void
conf_read_more(struct conf_parse *cp, const char *path, int secrets,
    int optional)
{
	struct stat	 st;
	FILE		*fp;
	char		*why = NULL;
	uid_t		 uid;
	gid_t		 gid;
	int		 fd, rc = 0;

	cp->path = path;
	/* Not blocking on a FIFO that someone named x.conf. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		if (errno != ENOENT || !optional)
			conf_error(cp, 0, "%s%s", strerror(errno), errno ==
			    EACCES && secrets ? " (the secrets file is for "
			    "root and the daemon's user)" : "");
		return;
	}
	if (fstat(fd, &st) == -1) {
		conf_error(cp, 0, "%s", strerror(errno));
		close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode))
		why = xstrdup("not a regular file");
	else if (secrets) {
		conf_daemon_user(cp->conf, &uid, &gid);
		rc = perm_check_secret(path, &st, uid, &why);
	} else
		rc = perm_check_root(path, &why);
	if (why != NULL || rc == -1 || (fp = fdopen(fd, "r")) == NULL) {
		conf_error(cp, 0, "%s", why != NULL ? why : strerror(errno));
		free(why);
		close(fd);
		return;
	}
	conf_file_add(cp, path, &st);
	cp->in_secrets = secrets;
	cp->secret_only = secrets && st.st_uid != 0 &&
	    st.st_uid != geteuid();
	conf_read_file(cp, fp);
	cp->in_secrets = cp->secret_only = 0;
	fclose(fp);
}

/* A drop-in's name: "*.conf", not hidden. */
static int
conf_dropin_name(const char *name)
{
	size_t	n = strlen(name), sl = strlen(CONF_DROPIN_SUFFIX);

	return name[0] != '.' && n > sl &&
	    strcmp(name + n - sl, CONF_DROPIN_SUFFIX) == 0;
}

static int
conf_dropin_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every drop-in of dir/conf.d (dir: "" or ending in '/'), in order. */
static void
conf_read_dropins(struct conf_parse *cp, const char *dir)
{
	struct dirent	 *de;
	DIR		 *dp;
	char		 *dpath, *path, **names = NULL;
	size_t		  n = 0, i;

	dpath = xasprintf("%s%s", dir, CONF_DROPIN_DIR);
	if ((dp = opendir(dpath)) == NULL) {
		cp->path = dpath;
		if (errno != ENOENT)
			conf_error(cp, 0, "%s", strerror(errno));
		free(dpath);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (!conf_dropin_name(de->d_name))
			continue;
		if (n == CONF_DROPINS_MAX) {
			cp->path = dpath;
			conf_error(cp, 0, "more than %d files named *%s",
			    CONF_DROPINS_MAX, CONF_DROPIN_SUFFIX);
			break;
		}
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), conf_dropin_cmp);
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s", dpath, names[i]);
		if (!cp->stop)
			conf_read_more(cp, path, 0, 0);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dpath);
}

int
conf_read_layers(struct conf_parse *cp, const char *path)
{
	struct conf_layers	*lay;
	const char		*slash;
	char			*dir;

	lay = cp->conf->layers = xcalloc(1, sizeof(*lay));
	if (conf_read_main(cp, path) == -1)
		return -1;
	/* Beside the main file: its directory as written. */
	slash = strrchr(path, '/');
	dir = xstrndup(path, slash != NULL ? (size_t)(slash - path) + 1 : 0);
	if (!cp->stop)
		conf_read_dropins(cp, dir);
	if (cp->conf->secrets[0] != '\0')
		lay->secrets = xstrdup(cp->conf->secrets);
	else
		lay->secrets = xasprintf("%s%s", dir, CONF_SECRETS_NAME);
	if (!cp->stop)
		conf_read_more(cp, lay->secrets, 1,
		    cp->conf->secrets[0] == '\0');
	free(dir);
	/* From here on, a place of 0 is the main file. */
	cp->file = 0;
	cp->path = lay->files[0].path;
	cp->cur = -1;
	return 0;
}

/* A secret set in a file that others may read is worth a warning. */
static void
conf_warn_exposed(struct conf_parse *cp, const struct conf_origin *o)
{
	const struct conf_directive	*d = &conf_directives[o->d];
	const struct conf_file		*f;
	const char			*v;
	char				 why[192];
	uid_t				 uid;
	gid_t				 gid;

	v = *CONF_FIELD(conf_base(cp->conf, o->kind, o->idx), d->off,
	    char *);
	f = &cp->conf->layers->files[CONF_LOC_FILE(o->line)];
	if (v == NULL || *v == '\0' || !f->stated)
		return;
	conf_daemon_user(cp->conf, &uid, &gid);
	if (!perm_exposed(f->uid, f->gid, f->mode, uid, gid, why,
	    sizeof(why)))
		return;
	conf_warning(cp, o->line, "%s is a secret, but this file is %s: "
	    "move it to %s (mode 0600)", d->name, why,
	    cp->conf->layers->secrets);
}

void
conf_layers_finish(struct conf_parse *cp)
{
	struct conf_layers	*lay = cp->conf->layers;
	const struct conf_sect	*sect;
	struct conf_origin	*o;
	size_t			 i;
	int			 s;

	if (lay == NULL)
		return;
	for (s = 0; s < cp->nsects; s++) {
		sect = &cp->sects[s];
		for (i = 0; i < conf_ndirectives; i++) {
			if (sect->keyline[i] == 0)
				continue;
			lay->origins = xreallocarray(lay->origins,
			    (size_t)lay->norigins + 1, sizeof(*lay->origins));
			o = &lay->origins[lay->norigins++];
			o->kind = sect->kind;
			o->idx = sect->idx;
			o->d = i;
			o->line = sect->keyline[i];
			o->over = sect->overline[i];
			if (conf_directives[i].flags & CONF_F_SECRET)
				conf_warn_exposed(cp, o);
		}
	}
}

const struct conf_origin *
conf_origin_of(const struct conf *conf, enum conf_kind kind, int idx,
    size_t d)
{
	const struct conf_layers	*lay = conf->layers;
	int				 i;

	/* A few dozen values: a scan, when printing only. */
	for (i = 0; lay != NULL && i < lay->norigins; i++) {
		if (lay->origins[i].kind == kind &&
		    lay->origins[i].idx == idx && lay->origins[i].d == d)
			return &lay->origins[i];
	}
	return NULL;
}

void
conf_layers_free(struct conf_layers *lay)
{
	int	i;

	if (lay == NULL)
		return;
	for (i = 0; i < lay->nfiles; i++)
		free(lay->files[i].path);
	free(lay->files);
	free(lay->origins);
	free(lay->secrets);
	free(lay->warnings);
	free(lay);
}

/*
 * An HTTP header's value, as a directive gives it: no byte a header line
 * cannot hold (CR, LF, NUL: a second header or a request smuggled after
 * it; any other control character but a tab).
 */
int
conf_header_ok(const char *s, const char **why)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n') {
			*why = "a line break in it";
			return -1;
		}
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			*why = "a control character in it";
			return -1;
		}
	}
	return 0;
}
