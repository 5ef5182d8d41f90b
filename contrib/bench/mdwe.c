/*
 * mdwe: runs a program under the kernel's memory-deny-write-execute
 * restriction (prctl PR_SET_MDWE, Linux 6.3 and later), which is what
 * systemd's MemoryDenyWriteExecute=yes amounts to: no mapping may become
 * executable, so PCRE2 cannot JIT and falls back to its interpreter.
 *
 *	mdwe PROGRAM [ARG...]
 */
#include <sys/prctl.h>

#include <stdio.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE			65
#define PR_MDWE_REFUSE_EXEC_GAIN	1
#endif

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mdwe PROGRAM [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == -1) {
		perror("mdwe: prctl PR_SET_MDWE");
		return 1;
	}
	execv(argv[1], argv + 1);
	perror("mdwe: execv");
	return 1;
}
