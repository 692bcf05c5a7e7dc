// SPDX-License-Identifier: GPL-2.0
/*
 * No-op spans, opt-in (module parameter noop_spans, or its twin
 * otel_config.noop_spans: `otelctl config --noop-spans on`).  While the
 * sampler drops every span (always_off, or traceidratio at 0) and
 * noop_spans is set, oteltrace.h's inline otel_kspan_begin() makes the
 * OpenTelemetry API's no-op span, as an SDK that is disabled
 * (OTEL_SDK_DISABLED) does: two stores in the handle, no call into
 * oteltrace, no ids, never current, no trace event, so the context a
 * driver propagates from inside it is its parent's, passed through.
 * Switching the key patches code: under QEMU TCG never while other CPUs
 * run the sites (docs/testing.md).
 *
 * Off by default: an SDK's always_off makes non-recording spans with ids
 * of their own and propagates flags 00 (docs/driver-api.md, "Sampling").
 */
#include <linux/export.h>
#include <linux/jump_label.h>
#include <linux/kstrtox.h>
#include <linux/lockdep.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>

#include "internal.h"

static DEFINE_MUTEX(otel_noop_lock);
static bool otel_noop_drop_all;
static bool otel_noop_wanted;

/* On while no-op spans are made: read by oteltrace.h's inline begin. */
DEFINE_STATIC_KEY_FALSE(otel_noop_key);
EXPORT_SYMBOL_GPL(otel_noop_key);

static void noop_update(void)
{
	bool on = otel_noop_drop_all && otel_noop_wanted;

	lockdep_assert_held(&otel_noop_lock);
	/* patching code is not free: only when the answer changes */
	if (on == static_key_enabled(&otel_noop_key))
		return;
	if (on)
		static_branch_enable(&otel_noop_key);
	else
		static_branch_disable(&otel_noop_key);
}

/**
 * otel_noop_set_drop_all() - the sampler drops every span, or not
 * @on:	true while every span is dropped
 *
 * Context: process (sleeps: static key).
 */
void otel_noop_set_drop_all(bool on)
{
	mutex_lock(&otel_noop_lock);
	otel_noop_drop_all = on;
	noop_update();
	mutex_unlock(&otel_noop_lock);
}

/**
 * otel_noop_set_wanted() - make no-op spans while every span is dropped
 * @on:	the noop_spans setting (module parameter, otel_config.noop_spans)
 *
 * Context: process (sleeps: static key).
 */
void otel_noop_set_wanted(bool on)
{
	mutex_lock(&otel_noop_lock);
	WRITE_ONCE(otel_noop_wanted, on);
	noop_update();
	mutex_unlock(&otel_noop_lock);
}

/**
 * otel_noop_wanted_get() - the noop_spans setting
 *
 * Return: true when no-op spans are asked for (made only while the
 * sampler drops every span).
 */
bool otel_noop_wanted_get(void)
{
	return READ_ONCE(otel_noop_wanted);
}

static int noop_param_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret = kstrtobool(val, &on);

	if (ret)
		return ret;
	otel_noop_set_wanted(on);
	return 0;
}

static int noop_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%c\n", otel_noop_wanted_get() ? 'Y' : 'N');
}

static const struct kernel_param_ops noop_param_ops = {
	.set	= noop_param_set,
	.get	= noop_param_get,
};

module_param_cb(noop_spans, &noop_param_ops, NULL, 0644);
MODULE_PARM_DESC(noop_spans,
		 "while the sampler drops every span, make no-op spans (no ids; the parent's context passes through) instead of unsampled ones (default N)");
