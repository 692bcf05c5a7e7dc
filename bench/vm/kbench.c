// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: the in-VM half of `make bench` (scripts/bench runs it through
 * scripts/vm).  Loads oteltrace.ko and otel_bench.ko, measures the cost of
 * a span against the floor and ftrace (cost.c), then throughput (tput.c),
 * and prints `name: value unit` lines; `# ` lines are notes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kbench.h"

static void vline(const char *prefix, const char *name, const char *fmt,
		  va_list ap)
{
	if (name)
		printf("%s%s: ", prefix, name);
	else
		printf("%s", prefix);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

void kb_figure(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("", name, fmt, ap);
	va_end(ap);
}

void kb_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s: skipped (", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(")\n");
	fflush(stdout);
}

void kb_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("# ", NULL, fmt, ap);
	va_end(ap);
}

int kb_pin(int cpu)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	else
		for (i = 0; i < kb_nr_cpus(); i++)
			CPU_SET(i, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int kb_nr_cpus(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static int load(const char *path, const char *name)
{
	int fd, ret;

	syscall(SYS_delete_module, name, O_NONBLOCK);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static void unload(const char *name)
{
	if (syscall(SYS_delete_module, name, O_NONBLOCK))
		kb_note("cannot unload %s: %s", name, strerror(errno));
}

static void describe(void)
{
	char cs[64] = "?";
	struct utsname u;
	FILE *f;

	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  "re");
	if (f) {
		if (fscanf(f, "%63s", cs) != 1)
			strcpy(cs, "?");
		fclose(f);
	}
	uname(&u);
	kb_note("kernel %s, %d CPUs, clocksource %s", u.release,
		kb_nr_cpus(), cs);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kbench --oteltrace KO --bench KO [options]\n"
		"  --rounds N   batches per case (default 64)\n"
		"  --ops N      operations per batch (default 4096)\n"
		"  --run-ms N   throughput: ms per run (default 1000)\n"
		"  --oteld BIN  drain with oteld instead of the built-in reader\n"
		"  --series L   throughput series to run, of oteld,mmap,relay,ring,floor\n"
		"               (default all)\n"
		"  --receiver URL  oteld exports to URL (outside the guest) instead\n"
		"               of a null receiver in the guest\n"
		"  --skip-cost, --skip-tput\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "oteltrace", required_argument, NULL, 'o' },
		{ "bench", required_argument, NULL, 'b' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "ops", required_argument, NULL, 'n' },
		{ "run-ms", required_argument, NULL, 'm' },
		{ "oteld", required_argument, NULL, 'd' },
		{ "series", required_argument, NULL, 's' },
		{ "receiver", required_argument, NULL, 'R' },
		{ "skip-cost", no_argument, NULL, 'C' },
		{ "skip-tput", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct kb_opts o = { .rounds = 64, .ops = 4096, .run_ms = 1000 };
	const char *oteltrace = NULL, *bench = NULL;
	bool skip_cost = false, skip_tput = false;
	struct kb_tracer t = { .fd = -1 };
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': oteltrace = optarg; break;
		case 'b': bench = optarg; break;
		case 'r': o.rounds = strtoul(optarg, NULL, 0); break;
		case 'n': o.ops = strtoul(optarg, NULL, 0); break;
		case 'm': o.run_ms = strtoul(optarg, NULL, 0); break;
		case 'd': o.oteld = optarg; break;
		case 's': o.series = optarg; break;
		case 'R': o.receiver = optarg; break;
		case 'C': skip_cost = true; break;
		case 'T': skip_tput = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!bench || !o.rounds || !o.ops || !o.run_ms) {
		usage(stderr);
		return 2;
	}
	if (o.receiver && (!*o.receiver || !o.oteld)) {
		fprintf(stderr, "kbench: --receiver needs a URL and --oteld\n");
		return 2;
	}
	describe();
	if (oteltrace) {
		ret = load(oteltrace, "oteltrace");
		if (ret)
			kb_note("cannot load %s: %s", oteltrace, strerror(-ret));
		else if (kb_tracer_open(&t))
			kb_note("oteltrace loaded but /dev/oteltrace cannot be opened");
		else
			kb_note("oteltrace: config ioctls %s, stats %s, clear %s",
				t.have_config ? "yes" : "no",
				t.have_stats ? "yes" : "no",
				t.have_clear ? "yes" : "no");
	}
	ret = load(bench, "otel_bench");
	if (ret) {
		/* finit_module() says ENOENT for an unknown symbol */
		fprintf(stderr, "kbench: cannot load %s: %s%s\n", bench,
			strerror(-ret), ret == -ENOENT && !access(bench, R_OK) ?
			" (unknown symbol: built against another oteltrace.ko?)" :
			"");
		return 1;
	}
	if (!skip_cost)
		kb_cost(&o, &t);
	if (!skip_tput)
		kb_tput(&o, &t);
	kb_tracer_restore(&t);
	kb_tracer_close(&t);
	unload("otel_bench");
	if (oteltrace)
		unload("oteltrace");
	return 0;
}
