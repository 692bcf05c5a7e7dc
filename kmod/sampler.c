// SPDX-License-Identifier: GPL-2.0
/*
 * Head sampling, as OpenTelemetry's OTEL_TRACES_SAMPLER samplers.
 *
 * traceidratio follows the spec's TraceIdRatioBased: the trace id's last
 * 56 bits, read big-endian, are a random number R; the span is kept when
 * R >= T with T = (1 - ratio) * 2^56.  Every span of a trace therefore gets
 * the same answer.  The parentbased_* samplers follow a parent's sampled
 * flag and use their root sampler only for roots.
 *
 * The sampler's decision for each kind of parent (drop, record, or compare
 * the trace id with the threshold) and the threshold are packed into one
 * word, so the hot path reads one READ_ONCE() and decides without a
 * branch, and a setter never exposes half an update.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "internal.h"
#include "sampler.h"

static const char * const otel_sampler_names[] = {
	[OTEL_SAMPLER_ALWAYS_ON]		= "always_on",
	[OTEL_SAMPLER_ALWAYS_OFF]		= "always_off",
	[OTEL_SAMPLER_TRACEIDRATIO]		= "traceidratio",
	[OTEL_SAMPLER_PARENTBASED_ALWAYS_ON]	= "parentbased_always_on",
	[OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF]	= "parentbased_always_off",
	[OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO]	= "parentbased_traceidratio",
};

static DEFINE_MUTEX(otel_sampler_lock);
static u32 otel_sampler_cur = OTEL_SAMPLER_PARENTBASED_ALWAYS_ON;
static u32 otel_ratio_cur = OTEL_RATIO_ONE;

/* The mode for each kind of parent, packed as otel_sample() reads it. */
#define OTEL_MODES(none, sampled, unsampled)				\
	(((u64)(none) << (2 * OTEL_PARENT_NONE)) |			\
	 ((u64)(sampled) << (2 * OTEL_PARENT_SAMPLED)) |		\
	 ((u64)(unsampled) << (2 * OTEL_PARENT_UNSAMPLED)))

static u64 sampler_modes(u32 sampler)
{
	static const u8 root_mode[] = {
		[OTEL_SAMPLER_ALWAYS_ON]		= OTEL_SAMPLE_RECORD,
		[OTEL_SAMPLER_ALWAYS_OFF]		= OTEL_SAMPLE_DROP,
		[OTEL_SAMPLER_TRACEIDRATIO]		= OTEL_SAMPLE_RATIO,
		[OTEL_SAMPLER_PARENTBASED_ALWAYS_ON]	= OTEL_SAMPLE_RECORD,
		[OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF]	= OTEL_SAMPLE_DROP,
		[OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO]	= OTEL_SAMPLE_RATIO,
	};
	u8 root = root_mode[sampler];

	switch (sampler) {
	case OTEL_SAMPLER_PARENTBASED_ALWAYS_ON:
	case OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF:
	case OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO:
		/* the parent's sampled flag decides; the root sampler roots */
		return OTEL_MODES(root, OTEL_SAMPLE_RECORD, OTEL_SAMPLE_DROP);
	default:
		return OTEL_MODES(root, root, root);
	}
}

static u64 ratio_threshold(u32 ratio)
{
	return (1ULL << OTEL_R_BITS) -
	       mul_u64_u32_div(1ULL << OTEL_R_BITS, ratio, OTEL_RATIO_ONE);
}

/* The default, parentbased_always_on (threshold 0: ratio 1.0). */
u64 otel_sampler_word __read_mostly =
	OTEL_MODES(OTEL_SAMPLE_RECORD, OTEL_SAMPLE_RECORD, OTEL_SAMPLE_DROP)
	<< OTEL_PACK_SHIFT;

/*
 * Does the sampler drop every span, whatever its parent?  always_off, or a
 * ratio sampler at 0 without a parent-based rule.  Begin then makes no-op
 * spans (noop.c).
 */
static bool modes_drop_all(u64 modes, u32 ratio)
{
	unsigned int parent, m;

	for (parent = OTEL_PARENT_NONE; parent <= OTEL_PARENT_UNSAMPLED;
	     parent++) {
		m = (modes >> (2 * parent)) & OTEL_SAMPLE_MODE_MASK;
		if (m == OTEL_SAMPLE_RECORD || (m == OTEL_SAMPLE_RATIO && ratio))
			return false;
	}
	return true;
}

/**
 * otel_sampler_set() - change the sampler (OTEL_IOC_SET_CONFIG, params)
 * @sampler:	enum otel_sampler
 * @ratio:	ratio for the ratio samplers, 0..OTEL_RATIO_ONE
 *
 * Takes effect for spans begun afterwards.
 *
 * Return: 0 or -EINVAL.
 */
int otel_sampler_set(u32 sampler, u32 ratio)
{
	u64 modes;

	if (sampler >= ARRAY_SIZE(otel_sampler_names) || ratio > OTEL_RATIO_ONE)
		return -EINVAL;
	modes = sampler_modes(sampler);
	mutex_lock(&otel_sampler_lock);
	otel_sampler_cur = sampler;
	otel_ratio_cur = ratio;
	WRITE_ONCE(otel_sampler_word,
		   (modes << OTEL_PACK_SHIFT) | ratio_threshold(ratio));
	otel_noop_set_drop_all(modes_drop_all(modes, ratio));
	mutex_unlock(&otel_sampler_lock);
	return 0;
}

/**
 * otel_sampler_get() - the current sampler and ratio
 * @sampler:	out: enum otel_sampler
 * @ratio:	out: ratio in 1/OTEL_RATIO_ONE units
 */
void otel_sampler_get(u32 *sampler, u32 *ratio)
{
	mutex_lock(&otel_sampler_lock);
	*sampler = otel_sampler_cur;
	*ratio = otel_ratio_cur;
	mutex_unlock(&otel_sampler_lock);
}

/* Module parameters: sampler=<name or number>, ratio=<ppm>. */
static int sampler_param_set(const char *val, const struct kernel_param *kp)
{
	u32 sampler, ratio, old;
	int i;

	i = sysfs_match_string(otel_sampler_names, val);
	if (i < 0) {
		if (kstrtou32(val, 0, &sampler))
			return -EINVAL;
	} else {
		sampler = i;
	}
	otel_sampler_get(&old, &ratio);
	return otel_sampler_set(sampler, ratio);
}

static int sampler_param_get(char *buf, const struct kernel_param *kp)
{
	u32 sampler, ratio;

	otel_sampler_get(&sampler, &ratio);
	return sysfs_emit(buf, "%s\n", otel_sampler_names[sampler]);
}

static const struct kernel_param_ops sampler_param_ops = {
	.set	= sampler_param_set,
	.get	= sampler_param_get,
};

static int ratio_param_set(const char *val, const struct kernel_param *kp)
{
	u32 sampler, ratio, old;

	if (kstrtou32(val, 0, &ratio))
		return -EINVAL;
	otel_sampler_get(&sampler, &old);
	return otel_sampler_set(sampler, ratio);
}

static int ratio_param_get(char *buf, const struct kernel_param *kp)
{
	u32 sampler, ratio;

	otel_sampler_get(&sampler, &ratio);
	return sysfs_emit(buf, "%u\n", ratio);
}

static const struct kernel_param_ops ratio_param_ops = {
	.set	= ratio_param_set,
	.get	= ratio_param_get,
};

module_param_cb(sampler, &sampler_param_ops, NULL, 0644);
MODULE_PARM_DESC(sampler,
		 "always_on, always_off, traceidratio, parentbased_always_on (default), parentbased_always_off, parentbased_traceidratio");
module_param_cb(ratio, &ratio_param_ops, NULL, 0644);
MODULE_PARM_DESC(ratio, "sampling ratio in parts per million (default 1000000)");
