// SPDX-License-Identifier: GPL-2.0
/*
 * alarm_scale.so: LD_PRELOADed into the in-VM test programs by the debug-
 * kernel lane (tests/vm/run-debug), it multiplies every alarm() by
 * $OTEL_TIMEOUT_SCALE.  The kselftest harness times each test out with
 * alarm() (30 s, or TEST_F_TIMEOUT's value), a deadline meant to catch a
 * hang: on a KASAN + lockdep kernel under TCG everything is several times
 * slower, and the deadline must grow with it, not the tests change.
 *
 * It takes itself out of LD_PRELOAD at load, so the programs a test starts
 * (oteld built with ASan, which must come first) run as they always do.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned int scale = 1;

__attribute__((constructor)) static void alarm_scale_init(void)
{
	const char *s = getenv("OTEL_TIMEOUT_SCALE");
	char *end;
	unsigned long v;

	unsetenv("LD_PRELOAD");
	if (!s || !*s)
		return;
	v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > 100)
		return;
	scale = (unsigned int)v;
}

unsigned int alarm(unsigned int seconds)
{
	static unsigned int (*real_alarm)(unsigned int);
	unsigned int left;

	if (!real_alarm)
		real_alarm = (unsigned int (*)(unsigned int))dlsym(RTLD_NEXT, "alarm");
	if (seconds > UINT_MAX / scale)
		seconds = UINT_MAX / scale;
	left = real_alarm(seconds * scale);
	return left / scale;
}
