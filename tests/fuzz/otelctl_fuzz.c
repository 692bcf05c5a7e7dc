// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target "otelctl": otelctl's command line (every subcommand's
 * options and values: config's mode, sampler, ratio, sizes with k/m
 * suffixes, begin-records; bridges' NAME[:mode]; exec's --traceparent and
 * $TRACEPARENT) and what it does with the kernel's answers, against a fake
 * device: otelctl is built with main renamed otelctl_main, ioctl() and
 * execvp() replaced by the functions below (and setenv(), by one that does
 * not leak: fuzz.h; sigwait(), by one that says Ctrl-C at once, or
 * `otelctl snapshot` would hold its snapshot for ever), and OTELCTL_DEVICE
 * set to /dev/null.
 *
 * Input: a u16 (little endian) L, then L bytes the fake kernel answers
 * with, then NUL-separated tokens: the command line after "otelctl"; a
 * token starting with byte 0x01 sets $TRACEPARENT to the rest instead.
 *
 * The fake kernel: each ioctl() takes one answer byte; 7 in its low three
 * bits fails the call with an errno the byte picks, otherwise the call
 * succeeds and a struct the kernel writes is filled with the next answer
 * bytes (zero once they run out).  Two answers are bounded so that a run
 * ends: OTEL_IOC_INFO's nr_cpus is taken modulo 17, and OTEL_IOC_GET_BRIDGE
 * says ENOENT once the answers run out or after 64 bridges.
 *
 * Promises checked: no memory error or undefined behaviour; the exit
 * status is one otelctl documents (0, 1, 2; exec: also 126, 127); config
 * never sends a ring size or wake-up bytes that were negative or that
 * their multiplier (k, m) made overflow 64 bits (the last --ring-size or
 * --wakeup-bytes of the command line, spelled out, is checked here).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <linux/ioctl.h>

#include "fuzz.h"
#include "uapi/oteltrace.h"

int otelctl_main(int argc, char **argv);
int fz_ioctl(int fd, unsigned long cmd, ...);
int fz_execvp(const char *file, char *const argv[]);
int fz_setenv(const char *name, const char *value, int overwrite);
int fz_sigwait(const sigset_t *set, int *sig);

#define MAX_ARGS	64
#define MAX_ANSWERS	4096

static struct fz_in answers;
static unsigned int bridge_calls;
/* config's last --ring-size / --wakeup-bytes is negative or overflows */
static bool ring_bad, wakeup_bad;

int fz_ioctl(int fd, unsigned long cmd, ...)
{
	static const int errs[] = { ENOENT, EINVAL, ENOTTY, EPERM, EFAULT,
				    EBUSY, EACCES, EDQUOT, ENOSPC };
	bool out_of_answers = !answers.n;
	uint8_t b = fz_u8(&answers);
	void *arg;
	va_list ap;

	(void)fd;
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (cmd == OTEL_IOC_GET_BRIDGE &&
	    (out_of_answers || ++bridge_calls > 64)) {
		errno = ENOENT;
		return -1;
	}
	if (cmd == OTEL_IOC_SET_CONFIG && (ring_bad || wakeup_bad))
		fz_fail("config sent a %s that was negative or overflowed",
			ring_bad ? "ring size" : "wakeup_bytes");
	if ((b & 7) == 7) {
		errno = errs[(b >> 3) % (sizeof(errs) / sizeof(errs[0]))];
		return -1;
	}
	if ((_IOC_DIR(cmd) & _IOC_READ) && arg) {
		fz_take(&answers, arg, _IOC_SIZE(cmd));
		if (cmd == OTEL_IOC_INFO)
			((struct otel_info *)arg)->nr_cpus %= 17;
	}
	return 0;
}

int fz_setenv(const char *name, const char *value, int overwrite)
{
	return fz_env_set(name, value, overwrite);
}

int fz_sigwait(const sigset_t *set, int *sig)
{
	(void)set;
	*sig = SIGINT;
	return 0;
}

int fz_execvp(const char *file, char *const argv[])
{
	(void)file;
	(void)argv;
	errno = ENOENT;
	return -1;
}

/* Is the size @s (strtoull, then k or m) negative, or past 64 bits? */
static bool size_bad(const char *s)
{
	unsigned long long v;
	char *end;

	if (s[strspn(s, " \t\n\v\f\r+")] == '-')
		return true;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if ((*end == 'k' || *end == 'K') && !end[1])
		return v > (~0ull >> 10);
	if ((*end == 'm' || *end == 'M') && !end[1])
		return v > (~0ull >> 20);
	return false;
}

/* The value of the last "--NAME V" or "--NAME=V" in @argv, or NULL. */
static const char *last_value(int argc, char **argv, const char *name)
{
	size_t len = strlen(name);
	const char *v = NULL;
	int i;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (strncmp(argv[i], "--", 2) || strncmp(argv[i] + 2, name, len))
			continue;
		if (argv[i][2 + len] == '=')
			v = argv[i] + 3 + len;
		else if (!argv[i][2 + len] && i + 1 < argc)
			v = argv[++i];
	}
	return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("OTELCTL_DEVICE", "/dev/null", 1);
	unsetenv("TRACEPARENT");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	char *argv[MAX_ARGS + 2], *tok;
	char name[] = "otelctl";
	uint16_t len;
	int argc = 1, ret, i;

	fz_take(&in, &len, sizeof(len));
	len %= MAX_ANSWERS + 1;
	answers.p = in.p;
	answers.n = len < in.n ? len : in.n;
	in.p += answers.n;
	in.n -= answers.n;
	bridge_calls = 0;
	argv[0] = name;
	while ((tok = fz_token(&in))) {
		if (tok[0] == 0x01) {
			fz_env_set("TRACEPARENT", tok + 1, 1);
			free(tok);
		} else if (argc <= MAX_ARGS) {
			argv[argc++] = tok;
		} else {
			free(tok);
		}
	}
	argv[argc] = NULL;
	ring_bad = wakeup_bad = false;
	if (argc > 1 && !strcmp(argv[1], "config")) {
		const char *r = last_value(argc, argv, "ring-size");
		const char *w = last_value(argc, argv, "wakeup-bytes");

		ring_bad = r && size_bad(r);
		wakeup_bad = w && size_bad(w);
	}
	fz_getopt_reset();
	ret = otelctl_main(argc, argv);
	if (ret != 0 && ret != 1 && ret != 2 && ret != 126 && ret != 127)
		fz_fail("otelctl exited %d", ret);
	fflush(stdout);
	for (i = 1; i < argc; i++)
		free(argv[i]);
	fz_env_clear();
	return 0;
}
