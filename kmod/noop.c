// SPDX-License-Identifier: GPL-2.0
/*
 * The no-op span switch.  While the sampler drops every span (always_off)
 * a span can never be recorded, so oteltrace.h's inline begin makes it the
 * OpenTelemetry API's no-op span: one store of its cookie, no call into
 * oteltrace, no ids, never current (a context captured inside it is its
 * parent's, passed through unchanged), and its end one more store.
 *
 * Not while a probe is attached to oteltrace:kspan_begin or kspan_end:
 * those events show every span's ids, so spans take the full path then.
 * The events' reg/unreg callbacks run before the first probe goes live and
 * after the last one left (under the tracepoint's mutex, process context),
 * so no event ever sees a no-op span.
 */
#include <linux/jump_label.h>
#include <linux/mutex.h>

#include "internal.h"

static DEFINE_MUTEX(otel_noop_lock);
static bool otel_noop_drop_all;
static unsigned int otel_noop_events;	/* kspan_* events with probes */

/* On while no-op spans are made: read by oteltrace.h's inline begin. */
DEFINE_STATIC_KEY_FALSE(otel_noop_key);
EXPORT_SYMBOL_GPL(otel_noop_key);

static void noop_update(void)
{
	lockdep_assert_held(&otel_noop_lock);
	if (otel_noop_drop_all && !otel_noop_events)
		static_branch_enable(&otel_noop_key);
	else
		static_branch_disable(&otel_noop_key);
}

/**
 * otel_noop_set_drop_all() - the sampler drops every span, or not
 * @on:	true while every span is dropped
 *
 * Context: process (sleeps).
 */
void otel_noop_set_drop_all(bool on)
{
	mutex_lock(&otel_noop_lock);
	otel_noop_drop_all = on;
	noop_update();
	mutex_unlock(&otel_noop_lock);
}

/**
 * otel_kspan_event_reg() - a kspan_* event gets its first probe
 *
 * Return: 0.
 */
int otel_kspan_event_reg(void)
{
	mutex_lock(&otel_noop_lock);
	otel_noop_events++;
	noop_update();
	mutex_unlock(&otel_noop_lock);
	return 0;
}

/**
 * otel_kspan_event_unreg() - a kspan_* event lost its last probe
 */
void otel_kspan_event_unreg(void)
{
	mutex_lock(&otel_noop_lock);
	if (!WARN_ON_ONCE(!otel_noop_events))
		otel_noop_events--;
	noop_update();
	mutex_unlock(&otel_noop_lock);
}
