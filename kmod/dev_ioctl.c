// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls of /dev/oteltrace: who may call which (uapi/oteltrace.h, "Who
 * may call what"), the snapshot and the open file that owns it, and each
 * command's argument checks.
 *
 * Unknown commands give -ENOTTY, bad pointers -EFAULT, bad values or
 * non-zero reserved fields -EINVAL, a control command through a file whose
 * opener had neither CAP_PERFMON nor CAP_SYS_ADMIN -EPERM.  What is copied
 * out is a struct built here, zeroed first, that holds no kernel pointer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "bridge.h"
#include "internal.h"
#include "sampler.h"
#include "ring.h"
#include "ring_write.h"

/* The open file whose snapshot holds the writers, or NULL (otel_ring_mutex). */
static struct file *otel_snapshot_owner;

/*
 * May @file change the tracer?  The capabilities of whoever opened it
 * (file->f_cred), not of the caller: a privileged opener may hand the file
 * to a helper, and a program cannot be made to act for an unprivileged
 * one by being passed its file.
 */
static bool dev_may_control(const struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_PERFMON) ||
	       file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);
}

static int ioc_info(void __user *arg, size_t usize)
{
	struct otel_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.abi_version = OTEL_ABI_VERSION;
	info.nr_cpus = nr_cpu_ids;
	info.page_size = PAGE_SIZE;
	info.max_record = OTEL_REC_MAX_SIZE;
	mutex_lock(&otel_ring_mutex);
	info.ring_size = otel_ring_size();
	info.mmap_stride = otel_ring_stride();
	mutex_unlock(&otel_ring_mutex);
	return otel_ioc_struct_out(arg, usize, &info, sizeof(info));
}

static int ioc_stats(void __user *arg)
{
	struct otel_stats_req req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved)
		return -EINVAL;
	if (req.cpu != OTEL_STATS_ALL_CPUS &&
	    (req.cpu >= nr_cpu_ids || !cpu_possible(req.cpu)))
		return -EINVAL;
	otel_ring_stats(req.cpu, &req.stats);
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static int ioc_get_config(void __user *arg, size_t usize)
{
	struct otel_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	mutex_lock(&otel_ring_mutex);
	cfg.enabled = otel_kspan_enabled();
	cfg.mode = otel_ring_mode();
	otel_sampler_get(&cfg.sampler, &cfg.ratio);
	cfg.wakeup_bytes = otel_ring_wakeup_bytes();
	cfg.ring_size = otel_ring_size();
	cfg.begin_records = otel_kspan_begin_records();
	cfg.noop_spans = otel_noop_wanted_get();
	mutex_unlock(&otel_ring_mutex);
	return otel_ioc_struct_out(arg, usize, &cfg, sizeof(cfg));
}

static bool config_valid(const struct otel_config *cfg)
{
	return cfg->enabled <= 1 && cfg->mode <= OTEL_MODE_OVERWRITE &&
	       cfg->sampler <= OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO &&
	       cfg->ratio <= OTEL_RATIO_ONE &&
	       is_power_of_2(cfg->ring_size) &&
	       cfg->ring_size >= OTEL_RING_MIN_SIZE &&
	       cfg->ring_size <= OTEL_RING_MAX_SIZE &&
	       cfg->wakeup_bytes <= OTEL_WAKEUP_BYTES_MAX(cfg->ring_size) &&
	       cfg->begin_records <= 1 && cfg->noop_spans <= 1 &&
	       !memchr_inv(cfg->reserved, 0, sizeof(cfg->reserved));
}

/*
 * While one file holds a snapshot, the records stay as they are for it:
 * another file may not clear, resize or switch the rings (otel_ring_mutex).
 */
static bool snapshot_held_by_other(struct file *file)
{
	lockdep_assert_held(&otel_ring_mutex);
	return otel_snapshot_owner && otel_snapshot_owner != file;
}

static int ioc_set_config(struct file *file, void __user *arg)
{
	struct otel_config cfg;
	int ret;

	ret = otel_ioc_struct_in(&cfg, sizeof(cfg), OTEL_CONFIG_SIZE_VER0, arg);
	if (ret)
		return ret;
	if (!config_valid(&cfg))
		return -EINVAL;

	if (mutex_lock_interruptible(&otel_ring_mutex))
		return -ERESTARTSYS;
	ret = -EBUSY;
	if (snapshot_held_by_other(file))
		goto out;
	ret = otel_ring_resize(cfg.ring_size);
	if (ret)
		goto out;
	ret = otel_ring_set_mode(cfg.mode);
	if (ret)
		goto out;
	/* the no-op key patched once at most: noop_spans off first, on last */
	if (!cfg.noop_spans)
		otel_noop_set_wanted(false);
	ret = otel_sampler_set(cfg.sampler, cfg.ratio);
	if (ret)
		goto out;
	otel_ring_set_wakeup_bytes(cfg.wakeup_bytes);
	otel_kspan_set_begin_records(cfg.begin_records);
	if (cfg.noop_spans)
		otel_noop_set_wanted(true);
	if (cfg.enabled != otel_kspan_enabled())
		otel_kspan_set_enabled(cfg.enabled);
out:
	mutex_unlock(&otel_ring_mutex);
	return ret;
}

static int ioc_span_stats(void __user *arg, size_t usize)
{
	struct otel_span_stats st;

	otel_span_stats_get(&st);	/* zeroed first */
	return otel_ioc_struct_out(arg, usize, &st, sizeof(st));
}

/* The tightest of a few (mono, real, mono) samples. */
static int ioc_clock(void __user *arg)
{
	struct otel_clock clk;
	u64 m1, r, m2;
	int i;

	memset(&clk, 0, sizeof(clk));
	clk.window_ns = U64_MAX;
	for (i = 0; i < 5; i++) {
		m1 = otel_clock_ns();
		r = ktime_get_real_ns();
		m2 = otel_clock_ns();
		if (m2 - m1 < clk.window_ns) {
			clk.window_ns = m2 - m1;
			clk.mono_ns = m1 + (m2 - m1) / 2;
			clk.real_ns = r;
		}
	}
	return copy_to_user(arg, &clk, sizeof(clk)) ? -EFAULT : 0;
}

static int ioc_clear(struct file *file)
{
	int ret = -EBUSY;

	if (mutex_lock_interruptible(&otel_ring_mutex))
		return -ERESTARTSYS;
	if (!snapshot_held_by_other(file)) {
		otel_ring_clear();
		ret = 0;
	}
	mutex_unlock(&otel_ring_mutex);
	return ret;
}

/* Stop the writers for @file; -EBUSY while another file holds a snapshot. */
static int ioc_snapshot(struct file *file)
{
	int ret = 0;

	if (mutex_lock_interruptible(&otel_ring_mutex))
		return -ERESTARTSYS;
	if (!otel_snapshot_owner) {
		otel_ring_snapshot();
		otel_snapshot_owner = file;
	} else if (otel_snapshot_owner != file) {
		ret = -EBUSY;
	}
	mutex_unlock(&otel_ring_mutex);
	return ret;
}

/* End @file's snapshot; -EBUSY if another file holds one, 0 if none. */
static int ioc_resume(struct file *file)
{
	int ret = 0;

	if (mutex_lock_interruptible(&otel_ring_mutex))
		return -ERESTARTSYS;
	if (otel_snapshot_owner == file) {
		otel_ring_resume();
		otel_snapshot_owner = NULL;
	} else if (otel_snapshot_owner) {
		ret = -EBUSY;
	}
	mutex_unlock(&otel_ring_mutex);
	return ret;
}

/**
 * otel_dev_snapshot_release() - a file of /dev/oteltrace is released
 * @file:	the file
 *
 * Ends the snapshot @file holds, if any: writers resume when the process
 * that took it closes the file or dies.
 *
 * Context: process (the file's release).
 */
void otel_dev_snapshot_release(struct file *file)
{
	mutex_lock(&otel_ring_mutex);
	if (otel_snapshot_owner == file) {
		otel_ring_resume();
		otel_snapshot_owner = NULL;
	}
	mutex_unlock(&otel_ring_mutex);
}

/* An ioctl number without its size bits (the extensible structs'). */
#define OTEL_IOC_NOSIZE(cmd)	((cmd) & ~IOCSIZE_MASK)

/* Commands on fixed structs or none: the number must match exactly. */
static long dev_ioctl_fixed(struct file *file, unsigned int cmd,
			    void __user *arg)
{
	long ret;

	switch (cmd) {
	case OTEL_IOC_STATS:
		return ioc_stats(arg);
	case OTEL_IOC_FLUSH:
		/* Every commit is already published: wake readers now. */
		wake_up_interruptible_all(&otel_ring_wq);
		return 0;
	case OTEL_IOC_CLOCK:
		return ioc_clock(arg);
	case OTEL_IOC_SET_TASK_CONTEXT:
	case OTEL_IOC_GET_TASK_CONTEXT:
		/* the calling thread's own context: anyone's (remote.c) */
		return otel_context_ioctl(cmd, arg);
	case OTEL_IOC_CLEAR:
		if (!dev_may_control(file))
			return -EPERM;
		ret = ioc_clear(file);
		otel_kspan_forget_comms();	/* the COMM records went too */
		return ret;
	case OTEL_IOC_SNAPSHOT:
		return dev_may_control(file) ? ioc_snapshot(file) : -EPERM;
	case OTEL_IOC_RESUME:
		return dev_may_control(file) ? ioc_resume(file) : -EPERM;
	default:
		return -ENOTTY;
	}
}

/**
 * otel_dev_ioctl() - the ioctls of /dev/oteltrace
 * @file:	the open device
 * @cmd:	OTEL_IOC_*
 * @arg:	user pointer to the command's struct
 *
 * Return: 0 or a negative errno (see the file comment).
 */
long otel_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	size_t usize = _IOC_SIZE(cmd);
	long ret;

	switch (OTEL_IOC_NOSIZE(cmd)) {
	case OTEL_IOC_NOSIZE(OTEL_IOC_INFO):
		if (usize < OTEL_INFO_SIZE_VER0)
			return -ENOTTY;
		return ioc_info(uarg, usize);
	case OTEL_IOC_NOSIZE(OTEL_IOC_GET_CONFIG):
		if (usize < OTEL_CONFIG_SIZE_VER0)
			return -ENOTTY;
		return ioc_get_config(uarg, usize);
	case OTEL_IOC_NOSIZE(OTEL_IOC_SET_CONFIG):
		if (usize < OTEL_CONFIG_SIZE_VER0)
			return -ENOTTY;
		if (!dev_may_control(file))
			return -EPERM;
		ret = ioc_set_config(file, uarg);
		otel_kspan_forget_comms();	/* rings may be new */
		return ret;
	case OTEL_IOC_NOSIZE(OTEL_IOC_SPAN_STATS):
		if (usize < OTEL_SPAN_STATS_SIZE_VER0)
			return -ENOTTY;
		return ioc_span_stats(uarg, usize);
	case OTEL_IOC_NOSIZE(OTEL_IOC_GET_BRIDGE):
		if (usize < OTEL_BRIDGE_REQ_SIZE_VER0)
			return -ENOTTY;
		return otel_bridge_ioctl(OTEL_IOC_GET_BRIDGE, uarg);
	case OTEL_IOC_NOSIZE(OTEL_IOC_SET_BRIDGE):
		if (usize < OTEL_BRIDGE_REQ_SIZE_VER0)
			return -ENOTTY;
		if (!dev_may_control(file))
			return -EPERM;
		return otel_bridge_ioctl(OTEL_IOC_SET_BRIDGE, uarg);
	default:
		return dev_ioctl_fixed(file, cmd, uarg);
	}
}
