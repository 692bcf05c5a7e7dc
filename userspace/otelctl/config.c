// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl config: print the configuration, or change some of it (the rest
 * is read first and written back unchanged).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otelctl.h"

/* As OTEL_TRACES_SAMPLER names them, indexed by enum otel_sampler. */
static const char *const sampler_names[] = {
	"always_on", "always_off", "traceidratio", "parentbased_always_on",
	"parentbased_always_off", "parentbased_traceidratio",
};
#define NR_SAMPLERS (sizeof(sampler_names) / sizeof(sampler_names[0]))

static const char *const mode_names[] = { "discard", "overwrite" };

static int usage(FILE *out, int status)
{
	fprintf(out, "Usage: %s config [OPTIONS]\n\n"
		"Without options print the configuration; otherwise change it.\n\n"
		"  --mode discard|overwrite   full ring: drop new records, or overwrite\n"
		"                             the oldest (flight recorder); a change\n"
		"                             empties the rings\n"
		"  --sampler NAME             always_on, always_off, traceidratio,\n"
		"                             parentbased_always_on, parentbased_always_off,\n"
		"                             parentbased_traceidratio\n"
		"  --ratio R                  sampling ratio, 0 to 1\n"
		"  --ring-size BYTES          bytes per ring, a power of two (suffix k, m);\n"
		"                             the rings must not be mapped\n"
		"  --wakeup-bytes N           wake a reader once N bytes wait (0: at once;\n"
		"                             at most the ring size - 2k)\n"
		"  --begin-records on|off     also write a SPAN_BEGIN record when a span\n"
		"                             begins, so spans that never end still show\n"
		"                             (flight recorder; costs a record per span)\n"
		"  --noop-spans on|off        while the sampler drops every span, make\n"
		"                             no-op spans (no ids; the parent's context\n"
		"                             passes through) instead of unsampled ones\n"
		"  --enable, --disable        record spans or not\n"
		"  --json                     print as JSON\n", prog);
	return status;
}

/*
 * A byte count, with an optional k or m: a number strtoull() takes, not
 * negative (strtoull() negates "-1", even after spaces), and not past
 * 64 bits once multiplied.
 */
static int parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (s[strspn(s, " \t\n\v\f\r+")] == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'm' || *end == 'M')
		shift = 20, end++;
	if (*end || v > ~0ULL >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

static const char *const on_off[] = { "off", "on" };

static int lookup(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

/* An on|off option's value: 1 or 0, or -1 (said why). */
static int on_off_arg(const char *option, const char *arg)
{
	int v = lookup(on_off, 2, arg);

	if (v < 0)
		errorf("config: bad %s '%s' (on or off)", option, arg);
	return v;
}

static void print_config(const struct otel_config *c, int json)
{
	const char *sampler = c->sampler < NR_SAMPLERS ?
			      sampler_names[c->sampler] : "unknown";
	const char *mode = c->mode < 2 ? mode_names[c->mode] : "unknown";

	if (json)
		printf("{\"enabled\": %s, \"mode\": \"%s\", \"sampler\": \"%s\", "
		       "\"ratio\": %.6f, \"ring_size\": %llu, \"wakeup_bytes\": %u, "
		       "\"begin_records\": %s, \"noop_spans\": %s}\n",
		       c->enabled ? "true" : "false", mode, sampler,
		       (double)c->ratio / OTEL_RATIO_ONE,
		       (unsigned long long)c->ring_size, c->wakeup_bytes,
		       c->begin_records ? "true" : "false",
		       c->noop_spans ? "true" : "false");
	else
		printf("enabled: %s\nmode: %s\nsampler: %s\nratio: %.6f\n"
		       "ring_size: %llu\nwakeup_bytes: %u\nbegin_records: %s\n"
		       "noop_spans: %s\n",
		       c->enabled ? "yes" : "no", mode, sampler,
		       (double)c->ratio / OTEL_RATIO_ONE,
		       (unsigned long long)c->ring_size, c->wakeup_bytes,
		       c->begin_records ? "on" : "off",
		       c->noop_spans ? "on" : "off");
}

int cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "sampler", required_argument, NULL, 's' },
		{ "ratio", required_argument, NULL, 'r' },
		{ "ring-size", required_argument, NULL, 'z' },
		{ "wakeup-bytes", required_argument, NULL, 'w' },
		{ "begin-records", required_argument, NULL, 'b' },
		{ "noop-spans", required_argument, NULL, 'n' },
		{ "enable", no_argument, NULL, 'e' },
		{ "disable", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int mode = -1, sampler = -1, enabled = -1, begin = -1, noop = -1;
	int json = 0, fd, c;
	int ret;
	long long ratio = -1, wakeup = -1;
	unsigned long long ring_size = 0, v;
	struct otel_config cfg;
	double r;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mode = lookup(mode_names, 2, optarg);
			if (mode < 0) {
				errorf("config: bad mode '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			sampler = lookup(sampler_names, NR_SAMPLERS, optarg);
			if (sampler < 0) {
				errorf("config: bad sampler '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			errno = 0;
			r = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(r >= 0 && r <= 1)) {
				errorf("config: bad ratio '%s' (0 to 1)", optarg);
				return EXIT_USAGE;
			}
			ratio = (long long)(r * OTEL_RATIO_ONE + 0.5);
			break;
		case 'z':
			if (parse_size(optarg, &ring_size) || !ring_size ||
			    (ring_size & (ring_size - 1))) {
				errorf("config: bad ring size '%s' (a power of two)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'w':
			if (parse_size(optarg, &v) || v > 0xffffffffULL) {
				errorf("config: bad wakeup bytes '%s'", optarg);
				return EXIT_USAGE;
			}
			wakeup = v;
			break;
		case 'b':
			begin = on_off_arg("begin-records", optarg);
			if (begin < 0)
				return EXIT_USAGE;
			break;
		case 'n':
			noop = on_off_arg("noop-spans", optarg);
			if (noop < 0)
				return EXIT_USAGE;
			break;
		case 'e':
			enabled = 1;
			break;
		case 'd':
			enabled = 0;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return usage(stdout, EXIT_OK);
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc) {
		errorf("config: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}

	fd = dev_open();
	if (fd < 0)
		return EXIT_RUNTIME;
	memset(&cfg, 0, sizeof(cfg));
	ret = EXIT_RUNTIME;
	if (dev_ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg, "get config"))
		goto out;
	if (mode < 0 && sampler < 0 && ratio < 0 && !ring_size && wakeup < 0 &&
	    enabled < 0 && begin < 0 && noop < 0) {
		print_config(&cfg, json);
		ret = EXIT_OK;
		goto out;
	}
	cfg.size = sizeof(cfg);
	if (mode >= 0)
		cfg.mode = mode;
	if (sampler >= 0)
		cfg.sampler = sampler;
	if (ratio >= 0)
		cfg.ratio = ratio;
	if (ring_size)
		cfg.ring_size = ring_size;
	if (wakeup >= 0)
		cfg.wakeup_bytes = wakeup;
	if (enabled >= 0)
		cfg.enabled = enabled;
	if (begin >= 0)
		cfg.begin_records = begin;
	if (noop >= 0)
		cfg.noop_spans = noop;
	if (cfg.wakeup_bytes > OTEL_WAKEUP_BYTES_MAX(cfg.ring_size)) {
		errorf("config: wakeup bytes %u: more than rings of %llu bytes allow (at most %llu)",
		       cfg.wakeup_bytes, (unsigned long long)cfg.ring_size,
		       (unsigned long long)OTEL_WAKEUP_BYTES_MAX(cfg.ring_size));
		ret = EXIT_USAGE;
		goto out;
	}
	if (dev_ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg, "set config")) {
		/* a module older than the field takes it for a reserved word */
		if (errno == EINVAL && noop > 0)
			errorf("config: if this oteltrace.ko predates "
			       "noop_spans in its config, set "
			       "/sys/module/oteltrace/parameters/noop_spans");
		goto out;
	}
	ret = EXIT_OK;
out:
	close(fd);
	return ret;
}
