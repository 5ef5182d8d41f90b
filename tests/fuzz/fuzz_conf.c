/*
 * libFuzzer target: the configuration parser.  conf_load() reads a path,
 * so each input is written to one memfd made once per process and loaded
 * through its /proc/self/fd name; whatever loads or fails is freed.
 * Inputs are capped at FUZZ_CONF_MAX bytes.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define FUZZ_CONF_MAX	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	fuzz_conf_fd = -1;
static char	fuzz_conf_path[64];

static void
fuzz_conf_init(void)
{
	log_init(1, LOG_LEVEL_ERR);
	/* 0600: run as root, conf_load() refuses a file others may write
	 * (a memfd starts at 0777). */
	if ((fuzz_conf_fd = memfd_create("fuzz_conf", MFD_CLOEXEC)) == -1 ||
	    fchmod(fuzz_conf_fd, 0600) == -1) {
		perror("fuzz_conf: memfd_create");
		abort();
	}
	snprintf(fuzz_conf_path, sizeof(fuzz_conf_path), "/proc/self/fd/%d",
	    fuzz_conf_fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*conf = NULL;
	char		*cause = NULL;

	if (size > FUZZ_CONF_MAX)
		return -1;
	if (fuzz_conf_fd == -1)
		fuzz_conf_init();
	if (ftruncate(fuzz_conf_fd, 0) == -1 ||
	    pwrite(fuzz_conf_fd, data, size, 0) != (ssize_t)size) {
		perror("fuzz_conf: write");
		abort();
	}
	if (conf_load(fuzz_conf_path, &conf, &cause) == 0) {
		if (conf == NULL)
			abort();	/* success gives a configuration */
		conf_free(conf);
		free(cause);
	} else {
		if (cause == NULL || conf != NULL)
			abort();	/* failure says why, leaves *confp */
		free(cause);
	}
	return 0;
}
