/*
 * xmppguard report: top addresses, per-service totals, who is near a limit,
 * bans, and one address's timeline, read from the store without writing
 * it, as a terminal table, JSON, CSV or one self-contained HTML file.
 */
#ifndef REPORT_H
#define REPORT_H

/* The subcommand: argv[0] is "report".  Returns the exit status. */
int	report_main(int argc, char **argv);

#endif /* REPORT_H */
