/*
 * Internals of the configuration module, shared by its files and by
 * nothing else: conf_table.c (the tables), conf.c (reading a file),
 * conf_layers.c (which files: the main one, conf.d, secrets),
 * conf_load.c (the defaults, the reading, then the checks that need the
 * whole file), conf_value.c (the value syntaxes) and conf_print.c
 * (check-config and the reference).
 * Other modules include conf.h only.
 *
 * The tables are defined in conf_table.c.  Elsewhere their length is
 * unknown to the compiler, so each has its count beside it.
 */
#ifndef CONF_INT_H
#define CONF_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "conf.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define CONF_LINE_MAX		198	/* characters, without the newline */
#define CONF_NETWORKS_MAX	4096	/* per list */
#define CONF_ESC		64	/* quoted values in messages */
#define CONF_DIRECTIVES_MAX	160	/* rows of conf_directives[] */
#define CONF_DB_NAME		"xmppguard.db"	/* in state_dir */

#define CONF_RATE_WINDOW_MIN	(1 * CLOCK_US_PER_SEC)
#define CONF_RATE_WINDOW_MAX	(7 * 86400 * CLOCK_US_PER_SEC)

/* A pointer to the field at off in a section's structure. */
#define CONF_FIELD(base, off, type)					\
	((type *)(void *)((char *)(base) + (off)))
#define CONF_CFIELD(base, off, type)					\
	((type const *)(const void *)((const char *)(base) + (off)))

enum conf_kind {
	CONF_K_GLOBAL,
	CONF_K_STORE,
	CONF_K_CONNTRACK,
	CONF_K_TRACK,
	CONF_K_SERVICE,
	CONF_K_LOG,
	CONF_K_AUTH,
	CONF_K_BAN,
	CONF_K_OVERRIDE,
	CONF_K_ALLOW,
	CONF_K_ALERT,
	CONF_K_METRICS,
	CONF_K_CLUSTER,
	CONF_K_COUNT
};

struct conf_kind_info {
	const char	*name;
	int		 named;		/* [KIND NAME] rather than [KIND] */
	const char	*help;
};

enum conf_type {
	CONF_T_BOOL,
	CONF_T_UINT,		/* uint32_t */
	CONF_T_DURATION,	/* int64_t, us */
	CONF_T_SIZE,		/* uint64_t, bytes */
	CONF_T_RATE,		/* struct conf_rate; bounds are the count's */
	CONF_T_KARMA,		/* struct conf_karma */
	CONF_T_STRING,		/* char *; max is the length */
	CONF_T_PATH,		/* char *, absolute; max is the length */
	CONF_T_ENUM,		/* int, the index in values */
	CONF_T_PORTS,		/* uint16_t[CONF_PORTS_MAX], count at noff */
	CONF_T_NETWORKS		/* struct prefix *, count at noff */
};

#define CONF_F_REQUIRED	0x1	/* must be set (a list: not empty) */
#define CONF_F_NEWREQ	0x2	/* must be set, except in a built-in */
#define CONF_F_EMPTY	0x4	/* STRING, PATH: may be empty */
#define CONF_F_ALL	0x8	/* PORTS: the empty list means every port
				 * and is written "all", not "none" */
#define CONF_F_SECRET	0x10	/* STRING: a credential; never printed nor
				 * logged, and meant for the secrets file */

/*
 * A place in the configuration, as one int: the line in the low
 * CONF_LOC_SHIFT bits, the file above them (0: the main file, then the
 * conf.d files in the order read, the secrets file last; see
 * conf_layers.c).  0 is nowhere (a default), and the main file's places
 * are its plain line numbers, so a single file reads as it always did.
 * Places order as the files are read, then by line.
 */
#define CONF_LOC_SHIFT		20
#define CONF_LOC_LINES		((1 << CONF_LOC_SHIFT) - 1)	/* a file's */
#define CONF_LOC_FILES		1024
#define CONF_LOC(file, line)	(((file) << CONF_LOC_SHIFT) | (line))
#define CONF_LOC_FILE(loc)	((loc) >> CONF_LOC_SHIFT)
#define CONF_LOC_LINE(loc)	((loc) & CONF_LOC_LINES)

struct conf_directive {
	enum conf_kind	 kind;
	const char	*name;
	enum conf_type	 type;
	int		 flags;
	int64_t		 min;
	int64_t		 max;
	const char *const *values;	/* CONF_T_ENUM, NULL-terminated */
	const char	*def;		/* NULL: none (CONF_F_REQUIRED) */
	size_t		 off;		/* in the section's structure */
	size_t		 noff;		/* PORTS, NETWORKS: the count */
	const char	*help;
};

/* A built-in service: the values in which it differs from the defaults. */
struct conf_builtin {
	const char	*name;
	const char	*ports;
	const char	*max_concurrent;
	const char	*max_new;
	const char	*karma;
	const char	*net_max_concurrent;
	const char	*net_max_new;
};

/* Section kinds, indexed by enum conf_kind. */
extern const struct conf_kind_info	 conf_kinds[];
extern const size_t			 conf_nkinds;
/* Names of the value types, indexed by enum conf_type. */
extern const char *const		 conf_type_names[];
/* Every directive, grouped by kind in the order they are printed. */
extern const struct conf_directive	 conf_directives[];
extern const size_t			 conf_ndirectives;
/* The services that always exist (c2s, s2s, http). */
extern const struct conf_builtin	 conf_builtins[];
extern const size_t			 conf_nbuiltins;

/*
 * conf_table.c
 */

/* The row of a section kind's key, or NULL; the index of a row. */
const struct conf_directive *conf_directive_find(enum conf_kind,
		    const char *name);
size_t		 conf_directive_index(const struct conf_directive *);

/*
 * conf_value.c
 */

/* A decimal number at *sp, moving *sp past it; -1 and *why if none. */
int		 conf_number(const char **sp, uint64_t *v, const char **why);
/* yes/no and friends, any case: 1 or 0; -1 if none of them. */
int		 conf_parse_bool(const char *);
/* Prints a rate as the file spells it ("120/1h", "none"); returns buf. */
char		*conf_fmt_rate(const struct conf_rate *, char *buf,
		    size_t size);
/* Prints karma as the file spells it ("10k/s burst 256k", "off"). */
char		*conf_fmt_karma(const struct conf_karma *, char *buf,
		    size_t size);

/*
 * conf.c: reading a file
 */

/* A section of the configuration being read.  Lines are places
 * (CONF_LOC): a section may go on in a later file. */
struct conf_sect {
	enum conf_kind	 kind;
	char		 name[CONF_NAME_MAX];	/* "" if not named */
	int		 idx;		/* in services, logs, overrides */
	int		 line;		/* of its first header */
	int		 lastline;	/* of its latest header */
	int		 builtin;	/* a built-in service */
	int		 keyline[CONF_DIRECTIVES_MAX];	/* 0: not set */
	int		 overline[CONF_DIRECTIVES_MAX];	/* where an earlier
					 * file had set it; 0: none */
	int		 portline[CONF_PORTS_MAX];	/* a service's: the
					 * line of each port; 0: a default */
};

/* A file of the configuration (conf_layers.c). */
struct conf_file {
	char		*path;		/* as opened: the main one as given,
					 * the others beside it */
	int		 stated;	/* its owner and mode are known: */
	uid_t		 uid;
	gid_t		 gid;
	mode_t		 mode;
};

/* Where a value of the loaded configuration came from (conf_print). */
struct conf_origin {
	enum conf_kind	 kind;
	int		 idx;		/* as conf_sect's */
	size_t		 d;		/* conf_directives[] index */
	int		 line;		/* place it was set */
	int		 over;		/* place of the value it replaced */
};

/* The files a configuration was read from and where each value came from:
 * struct conf's layers, freed with it. */
struct conf_layers {
	struct conf_file *files;
	int		 nfiles;
	struct conf_origin *origins;
	int		 norigins;
	char		*secrets;	/* the secrets file's path; NULL:
					 * none is looked for */
	char		*warnings;	/* "FILE:LINE: warning: ..." lines */
};

/* The files being read, and the errors found in them. */
struct conf_parse {
	struct conf	*conf;
	const char	*path;		/* the file being read; NULL: built-in
					 * defaults only */
	int		 file;		/* its index in conf->layers */
	int		 secret_only;	/* only CONF_F_SECRET keys here */
	int		 in_secrets;	/* reading the secrets file */
	int		 in_default;	/* an error is our bug */
	int		 lineno;	/* place (CONF_LOC) of the item read */
	int		 stop;		/* too many errors: read no further */

	struct conf_sect *sects;
	int		 nsects;
	int		 cur;		/* the current section, -1: none */
	int		 skip;		/* its header was bad: ignore keys */
	const struct conf_directive *prev;	/* a continuation adds to it */
	int		 prev_none;	/* ... and it was set to "none" */

	char		*errors;
	size_t		 errlen;
	int		 nerrors;
};

/* Records an error at a place (CONF_LOC; a line of the file being read,
 * 0: that file as a whole); after CONF_ERRORS_MAX sets cp->stop.  In a
 * built-in default it is fatal: our bug. */
void		 conf_error(struct conf_parse *, int line, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
/* Records a warning at a place (conf->layers->warnings); no error. */
void		 conf_warning(struct conf_parse *, int line, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
/* The path of the file at a place (CONF_LOC), as it is shown. */
const char	*conf_loc_path(const struct conf *, int line);
/* The structure a section's keys land in: conf itself, or the idx-th
 * service, log, override or alert. */
void		*conf_base(struct conf *, enum conf_kind, int idx);
/* The file's section for a structure, or NULL (a built-in not in it). */
const struct conf_sect *conf_sect_of(const struct conf_parse *,
		    enum conf_kind, int idx);

/* s escaped and cut for an operator's message (log_escape); returns buf. */
const char	*conf_esc(char *buf, size_t size, const char *s);
/* "service c2s", "global": a section as written between brackets. */
const char	*conf_sect_label(enum conf_kind, const char *name, char *buf,
		    size_t size);
/* Prints a bound of a directive in the directive's own unit. */
void		 conf_fmt_bound(const struct conf_directive *, int64_t v,
		    char *buf, size_t size);

/* The defaults of a section kind into base. */
void		 conf_defaults(struct conf_parse *, enum conf_kind, void *base);
/* A named section of kind added (or found); its index. */
int		 conf_named_add(struct conf_parse *, enum conf_kind,
		    const char *name);
/* Sets directive d of base from text (line: where it was read; 0 for a
 * default), an error in cp if it does not parse or is out of bounds. */
void		 conf_set(struct conf_parse *, const struct conf_directive *,
		    void *base, const char *text, int line);
/* Reads the file open on fp into cp. */
void		 conf_read_file(struct conf_parse *, FILE *);

/*
 * conf_layers.c: the files of a configuration
 */

/* Reads path, then conf.d beside it, then the secrets file, each checked
 * (StrictModes; the secrets file's own rules) and into cp.  -1 if path
 * itself could not be read (the errors are in cp), else 0. */
int		 conf_read_layers(struct conf_parse *, const char *path);
/* After the checks: warnings for secrets in files others may read, and
 * where each value came from, kept in the configuration. */
void		 conf_layers_finish(struct conf_parse *);
void		 conf_layers_free(struct conf_layers *);
/* The origin of a value of a section's structure, or NULL (a default). */
const struct conf_origin *conf_origin_of(const struct conf *,
		    enum conf_kind, int idx, size_t d);
/* 0 if s may be sent as an HTTP header's value, else -1 and *why. */
int		 conf_header_ok(const char *s, const char **why);

#endif /* CONF_INT_H */
