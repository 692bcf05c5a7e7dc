// SPDX-License-Identifier: GPL-2.0
/* otelctl flush, clear, info: one ioctl each (snapshot, resume: snapshot.c). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "otelctl.h"

/* A subcommand without options: --help or nothing. */
static int simple(int argc, char **argv, unsigned long cmd, const char *help)
{
	int fd, ret;

	if (wants_help(argc, argv)) {
		printf("Usage: %s %s\n\n%s\n", prog, argv[0], help);
		return EXIT_OK;
	}
	if (argc != 1) {
		errorf("%s takes no arguments (try '%s %s --help')", argv[0],
		       prog, argv[0]);
		return EXIT_USAGE;
	}
	fd = dev_open();
	if (fd < 0)
		return EXIT_RUNTIME;
	ret = dev_ioctl(fd, cmd, NULL, argv[0]);
	close(fd);
	return ret ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_flush(int argc, char **argv)
{
	return simple(argc, argv, OTEL_IOC_FLUSH,
		      "Wake every reader now, even below otel_config.wakeup_bytes.");
}

int cmd_clear(int argc, char **argv)
{
	return simple(argc, argv, OTEL_IOC_CLEAR,
		      "Discard the records in every ring and zero the statistics.");
}

int cmd_info(int argc, char **argv)
{
	struct otel_info info;
	int fd, ret;

	if (wants_help(argc, argv)) {
		printf("Usage: %s info\n\nPrint the ABI version and the ring geometry.\n",
		       prog);
		return EXIT_OK;
	}
	if (argc != 1) {
		errorf("info takes no arguments (try '%s info --help')", prog);
		return EXIT_USAGE;
	}
	fd = dev_open();
	if (fd < 0)
		return EXIT_RUNTIME;
	memset(&info, 0, sizeof(info));
	ret = dev_ioctl(fd, OTEL_IOC_INFO, &info, "info");
	close(fd);
	if (ret)
		return EXIT_RUNTIME;
	printf("abi_version: %u\nnr_cpus: %u\npage_size: %u\nring_size: %llu\n"
	       "mmap_stride: %llu\nmax_record: %u\n", info.abi_version,
	       info.nr_cpus, info.page_size, (unsigned long long)info.ring_size,
	       (unsigned long long)info.mmap_stride, info.max_record);
	return EXIT_OK;
}
