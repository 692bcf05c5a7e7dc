// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target "capture": a capture file replayed by oteld itself, as
 *
 *   oteld --input FILE --no-export --capture /dev/null
 *
 * runs it: main.c (built with main renamed oteld_main), config.c,
 * capture.c's reader and writer, the replay loop and the assembler.  The
 * input is the whole file (header and frames); it is handed over as a
 * memfd, through /proc/self/fd/N.
 *
 * Promises checked: no memory error or undefined behaviour, no exit()
 * from inside oteld, and an exit status of 0 (replayed) or 1 (a bad
 * file), never 2 (the command line is valid).
 */
#include <curl/curl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

int oteld_main(int argc, char **argv);

/* The environment oteld reads: none of it from the machine that fuzzes. */
static void clean_env(void)
{
	extern char **environ;
	size_t i;

	for (i = 0; environ && environ[i];) {
		char name[128];
		size_t len = strcspn(environ[i], "=");

		if ((len > 5 && !strncmp(environ[i], "OTEL_", 5)) ||
		    (len > 6 && !strncmp(environ[i], "OTELD_", 6))) {
			snprintf(name, sizeof(name), "%.*s", (int)len,
				 environ[i]);
			unsetenv(name);
			continue;
		}
		i++;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	clean_env();
	/* oteld_main() pairs init and cleanup: keep libcurl set up between */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], input[] = "--input", *argv[7];
	char no_export[] = "--no-export", capture[] = "--capture";
	char devnull[] = "/dev/null", name[] = "oteld";
	int fd = memfd_create("capture", MFD_CLOEXEC), status;
	size_t done = 0;

	if (fd < 0)
		abort();
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);

		if (w <= 0)
			abort();
		done += w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	argv[0] = name;
	argv[1] = input;
	argv[2] = path;
	argv[3] = no_export;
	argv[4] = capture;
	argv[5] = devnull;
	argv[6] = NULL;
	status = oteld_main(6, argv);
	close(fd);
	if (status != 0 && status != 1)
		fz_fail("oteld --input exited %d", status);
	return 0;
}
