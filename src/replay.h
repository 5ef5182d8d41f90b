/*
 * xmppguard replay: runs saved input through the pipeline offline, in the
 * input's own time, and prints the verdicts.  It never touches the
 * firewall.
 */
#ifndef REPLAY_H
#define REPLAY_H

/* The subcommand: argv[0] is "replay".  Returns the exit status. */
int	replay_main(int argc, char **argv);

#endif /* REPLAY_H */
