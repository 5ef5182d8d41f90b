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
#include "logsrc.h"
#include "xmalloc.h"

/*
 * One line of an error or warning list as conf_load() writes them,
 * "FILE:LINE: message", "FILE: message" or "message" (a warning's message
 * after "warning: "), as an object: the file is what comes before the
 * first ":LINE: ", or the configuration's path when the line starts with
 * it and ": "; else null.
 */
static void
checkconf_note_json(FILE *out, const char *path, const char *note)
{
	const char	*msg = note, *p;
	char		*file = NULL, *end;
	long		 line = 0;
	size_t		 len;

	for (p = strchr(note, ':'); p != NULL; p = strchr(p + 1, ':')) {
		if (p[1] < '0' || p[1] > '9')
			continue;
		line = strtol(p + 1, &end, 10);
		if (end[0] == ':' && end[1] == ' ') {
			file = xstrndup(note, (size_t)(p - note));
			msg = end + 2;
			break;
		}
		line = 0;
	}
	if (file == NULL && path != NULL && strncmp(note, path,
	    (len = strlen(path))) == 0 && note[len] == ':' &&
	    note[len + 1] == ' ') {
		file = xstrdup(path);
		msg = note + len + 2;
	}
	if (strncmp(msg, "warning: ", 9) == 0)
		msg += 9;
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

/* Lists of notes, one a line (NULL: none), as one JSON array. */
static void
checkconf_notes_json(FILE *out, const char *path, const char *list,
    const char *list2)
{
	const char	*lists[2] = { list, list2 };
	char		*copy, *line, *save;
	int		 i, n = 0;

	fputc('[', out);
	for (i = 0; i < 2; i++) {
		if (lists[i] == NULL)
			continue;
		copy = xstrdup(lists[i]);
		save = NULL;
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
	checkconf_notes_json(out, path, errors, NULL);
	fputs(",\"warnings\":", out);
	checkconf_notes_json(out, path, conf != NULL ? conf_warnings(conf) :
	    NULL, conf != NULL ? conf->warnings : NULL);
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
		/* The layers' (conf_warnings()), then what goes unseen. */
		if (conf_warnings(conf) != NULL)
			fprintf(stderr, "%s\n", conf_warnings(conf));
		if (conf->warnings != NULL)
			fprintf(stderr, "%s\n", conf->warnings);
		fprintf(stderr, "%s: configuration OK\n", path != NULL ?
		    path : "built-in defaults");
	}
	free(errors);
	conf_free(conf);
	return rc;
}
