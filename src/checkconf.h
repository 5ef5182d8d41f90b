/*
 * check-config: whether `run` would start on a configuration, and the
 * configuration in effect (see checkconf.c).
 */
#ifndef CHECKCONF_H
#define CHECKCONF_H

/*
 * Loads conf_path (NULL: the default file if it exists, else the built-in
 * defaults) and the filters of its logs as run would, and prints the
 * configuration in effect and the warnings (json: one JSON object on
 * stdout, errors included).  Returns the exit status: 0, or 1 if run
 * would refuse the configuration.
 */
int	checkconf_run(const char *conf_path, int json);

#endif /* CHECKCONF_H */
