/*
 * xmppguard test-filter: one filter over one log file, offline.
 */
#ifndef TESTFILTER_H
#define TESTFILTER_H

/* The command; argv[0] is "test-filter".  Returns the exit status. */
int	testfilter_main(int argc, char **argv);

#endif /* TESTFILTER_H */
