/*
 * check-config: what `run` would make of a configuration, without
 * running it.  The same loading as the daemon's (conf_load(), whose final
 * checks hold what the firewall backend and the control socket would
 * refuse at start) and the filters the log sources would compile
 * (logsrc_check()); then the configuration in effect, as a file that
 * loads again, or with --json one object: ok, the errors and the warnings
 * (each with its file, line and message), the logs followed (those
 * [global] logs = auto found marked) and the services.
 *
 * The exit status says whether run would start: 0, or 1 when it would
 * refuse.  Warnings never change it: the daemon starts with them too, and
 * says them in its log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkconf.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "logsrc.h"
#include "xmalloc.h"

/*
 * One "FILE:LINE: message", "FILE: message" or "message" line of an
 * error or warning list, as conf_load() writes them, into its parts: the
 * file is the configuration's path when the line starts with it (the
 * path may hold ':'), the line 0 when none is given.
 */
static void
checkconf_note_json(FILE *out, const char *path, const char *note)
{
	const char	*msg = note;
	char		*file = NULL, *end;
	long		 line = 0;
	size_t		 len;

	if (path != NULL && strncmp(note, path, (len = strlen(path))) == 0 &&
	    note[len] == ':') {
		msg = note + len + 1;
		if (*msg >= '0' && *msg <= '9') {
			line = strtol(msg, &end, 10);
			msg = *end == ':' ? end + 1 : end;
		}
		msg += strspn(msg, " ");
		file = xstrndup(note, len);
	}
	fputs("{\"file\":", out);
	if (file != NULL)
		json_string(out, file);
	else
		fputs("null", out);
	fprintf(out, ",\"line\":%ld,\"message\":", line);
	json_string(out, msg);
	fputc('}', out);
	free(file);
}

/* A list of notes, one a line (NULL: none), as a JSON array. */
static void
checkconf_notes_json(FILE *out, const char *path, const char *list)
{
	char	*copy, *line, *save = NULL;
	int	 n = 0;

	fputc('[', out);
	if (list != NULL) {
		copy = xstrdup(list);
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (n++ > 0)
				fputc(',', out);
			checkconf_note_json(out, path, line);
		}
		free(copy);
	}
	fputc(']', out);
}

static void
checkconf_json(FILE *out, const char *path, const struct conf *conf,
    const char *errors)
{
	const struct conf_log		*lg;
	const struct conf_service	*sv;
	int				 i, j;

	fprintf(out, "{\"ok\":%s,\"config\":", errors == NULL ? "true" :
	    "false");
	if (path != NULL)
		json_string(out, path);
	else
		fputs("null", out);
	fputs(",\"errors\":", out);
	checkconf_notes_json(out, path, errors);
	fputs(",\"warnings\":", out);
	checkconf_notes_json(out, path, conf != NULL ? conf->warnings : NULL);
	if (conf != NULL) {
		fprintf(out, ",\"dry_run\":%s,\"state_dir\":",
		    conf->dry_run ? "true" : "false");
		json_string(out, conf->state_dir);
		fputs(",\"control_socket\":", out);
		json_string(out, conf->control_socket);
		fputs(",\"logs\":[", out);
		for (i = 0; i < conf->nlogs; i++) {
			lg = &conf->logs[i];
			fputs(i > 0 ? ",{\"name\":" : "{\"name\":", out);
			json_string(out, lg->name);
			fputs(",\"path\":", out);
			json_string(out, lg->path != NULL ? lg->path : "");
			fputs(",\"filter\":", out);
			json_string(out, lg->filter != NULL ? lg->filter : "");
			fprintf(out, ",\"auto\":%s}", lg->found ? "true" :
			    "false");
		}
		fputs("],\"services\":[", out);
		for (i = 0; i < conf->nservices; i++) {
			sv = &conf->services[i];
			fputs(i > 0 ? ",{\"name\":" : "{\"name\":", out);
			json_string(out, sv->name);
			fputs(",\"ports\":[", out);
			for (j = 0; j < sv->nports; j++)
				fprintf(out, "%s%u", j > 0 ? "," : "",
				    (unsigned int)sv->ports[j]);
			fputs("]}", out);
		}
		fputc(']', out);
	}
	fputs("}\n", out);
}

int
checkconf_run(const char *conf_path, int json)
{
	struct conf	*conf = NULL;
	const char	*path = conf_command_path(conf_path);
	char		*errors = NULL;
	int		 rc = 0;

	if (conf_load(path, &conf, &errors) == -1)
		conf = NULL;
	else if (logsrc_check(conf, &errors) == -1) {
		/* What run would refuse: no configuration in effect. */
		if (!json) {
			conf_free(conf);
			conf = NULL;
		}
	}
	if (errors != NULL)
		rc = 1;
	if (json)
		checkconf_json(stdout, path, rc == 0 ? conf : NULL, errors);
	else if (errors != NULL)
		fprintf(stderr, "%s\n", errors);
	else {
		conf_print(stdout, conf);
		log_init(1, LOG_LEVEL_WARN);
		conf_log_warnings(conf);
		fprintf(stderr, "%s: configuration OK\n", path != NULL ?
		    path : "built-in defaults");
	}
	free(errors);
	conf_free(conf);
	return rc;
}
