// SPDX-License-Identifier: GPL-2.0
/*
 * Bridges: spans from existing kernel tracepoints.
 *
 * A bridge is a set of probes on tracepoints the kernel already has
 * (raw_syscalls, block, irq) that turn pairs of events into spans through
 * the span API, so sampling, limits, rings and oteld treat them like any
 * driver span.  This file is the core: the table of bridges, the mode of
 * each (enum otel_bridge_mode), the `bridges` module parameter and the
 * OTEL_IOC_GET_BRIDGE / OTEL_IOC_SET_BRIDGE ioctls.  Each bridge is one
 * file, bridge_NAME.c, with its probes and its own state.
 *
 * Every bridge is off by default: its probes are not attached, so its
 * tracepoints cost what they cost with no probe (a static key).  Switching
 * a bridge on runs its ->enable() (allocations), then attaches its probes;
 * switching it off detaches them, waits with
 * tracepoint_synchronize_unregister() until no probe runs any more, then
 * runs its ->disable(), which ends or drops the spans still open.  Between
 * traced and all only the mode word changes: probes read it with
 * READ_ONCE() on every hit.  Mode changes are serialized by bridge_lock;
 * module unload switches every bridge off first.
 *
 * Probes run in whatever context their tracepoint fires in: they take no
 * lock, allocate nothing, never sleep and never print.  In traced mode a
 * probe first asks whether the task carries a trace context
 * (otel_task_traced_slot(), context.h), so on an untraced task it costs a
 * few loads and returns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>

#include "bridge.h"
#include "internal.h"

/* Adding a bridge: one file, and one line here (docs/bridges.md). */
static struct otel_bridge *const otel_bridges[] = {
	&otel_bridge_syscall,
	&otel_bridge_block,
	&otel_bridge_irq,
};

static DEFINE_MUTEX(bridge_lock);	/* modes, and the parameter */
static bool bridge_ready;		/* otel_bridge_init() ran */

/* The `bridges` parameter as given at load, applied by otel_bridge_init(). */
static char *bridge_param;

static struct otel_bridge *bridge_find(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(otel_bridges); i++) {
		if (strlen(otel_bridges[i]->name) == len &&
		    !strncmp(otel_bridges[i]->name, name, len))
			return otel_bridges[i];
	}
	return NULL;
}

static void bridge_detach(struct otel_bridge *b, struct otel_bridge_tp *end)
{
	struct otel_bridge_tp *t;

	for (t = b->tps; t != end && t->name; t++)
		tracepoint_probe_unregister(t->tp, t->probe, b);
}

/* Switch @b to @mode; bridge_lock held. */
static int bridge_set_mode(struct otel_bridge *b, u32 mode)
{
	struct otel_bridge_tp *t;
	int ret;

	if (mode > OTEL_BRIDGE_ALL || !(b->modes & BIT(mode)))
		return -EINVAL;
	if (mode == b->mode)
		return 0;
	if (b->mode != OTEL_BRIDGE_OFF && mode != OTEL_BRIDGE_OFF) {
		WRITE_ONCE(b->mode, mode);	/* probes stay attached */
		return 0;
	}
	if (mode == OTEL_BRIDGE_OFF) {
		WRITE_ONCE(b->mode, mode);
		bridge_detach(b, NULL);
		/* No probe runs past this: ->disable() may touch anything. */
		tracepoint_synchronize_unregister();
		if (b->disable)
			b->disable(b);
		return 0;
	}

	for (t = b->tps; t->name; t++) {
		if (!t->tp) {
			pr_err("bridge %s: no %s tracepoint in this kernel\n",
			       b->name, t->name);
			return -EOPNOTSUPP;
		}
	}
	if (b->enable) {
		ret = b->enable(b);
		if (ret)
			return ret;
	}
	WRITE_ONCE(b->mode, mode);
	for (t = b->tps; t->name; t++) {
		ret = tracepoint_probe_register(t->tp, t->probe, b);
		if (ret)
			goto err_detach;
	}
	return 0;

err_detach:
	WRITE_ONCE(b->mode, OTEL_BRIDGE_OFF);
	bridge_detach(b, t);
	tracepoint_synchronize_unregister();
	if (b->disable)
		b->disable(b);
	return ret;
}

/*
 * Apply a list "syscall,block:all,irq:all": the named bridges take the
 * given mode (traced when no suffix), the others are switched off.
 * bridge_lock held.
 */
static int bridge_apply_list(const char *list)
{
	u32 want[ARRAY_SIZE(otel_bridges)] = { };
	const char *p = list, *end, *colon;
	struct otel_bridge *b;
	unsigned int i;
	int ret = 0, err;
	size_t len;

	while (*p) {
		len = strcspn(p, ",\n");
		end = p + len;
		colon = memchr(p, ':', len);
		b = bridge_find(p, colon ? colon - p : len);
		if (!b)
			return -EINVAL;
		for (i = 0; otel_bridges[i] != b; i++)
			;
		want[i] = OTEL_BRIDGE_TRACED;
		if (colon) {
			if (end - colon - 1 == 3 && !strncmp(colon + 1, "all", 3))
				want[i] = OTEL_BRIDGE_ALL;
			else if (end - colon - 1 != 6 ||
				 strncmp(colon + 1, "traced", 6))
				return -EINVAL;
		}
		if (!(b->modes & BIT(want[i])))
			return -EINVAL;
		p = *end ? end + 1 : end;
	}
	for (i = 0; i < ARRAY_SIZE(otel_bridges); i++) {
		err = bridge_set_mode(otel_bridges[i], want[i]);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

static int bridge_param_set(const char *val, const struct kernel_param *kp)
{
	char *copy;
	int ret = 0;

	if (strlen(val) > 256)
		return -EINVAL;
	mutex_lock(&bridge_lock);
	if (bridge_ready) {
		ret = bridge_apply_list(val);
	} else {
		/* insmod: kept until otel_bridge_init(). */
		copy = kstrdup(val, GFP_KERNEL);
		if (!copy) {
			ret = -ENOMEM;
		} else {
			kfree(bridge_param);
			bridge_param = copy;
		}
	}
	mutex_unlock(&bridge_lock);
	return ret;
}

static int bridge_param_get(char *buf, const struct kernel_param *kp)
{
	unsigned int i;
	int n = 0;

	mutex_lock(&bridge_lock);
	for (i = 0; i < ARRAY_SIZE(otel_bridges); i++) {
		struct otel_bridge *b = otel_bridges[i];

		if (b->mode == OTEL_BRIDGE_OFF)
			continue;
		n += scnprintf(buf + n, PAGE_SIZE - n, "%s%s%s", n ? "," : "",
			       b->name, b->mode == OTEL_BRIDGE_ALL ? ":all" : "");
	}
	mutex_unlock(&bridge_lock);
	n += scnprintf(buf + n, PAGE_SIZE - n, "\n");
	return n;
}

static const struct kernel_param_ops bridge_param_ops = {
	.set	= bridge_param_set,
	.get	= bridge_param_get,
};

module_param_cb(bridges, &bridge_param_ops, NULL, 0644);
__MODULE_PARM_TYPE(bridges, "string");
MODULE_PARM_DESC(bridges,
		 "bridges on, e.g. \"syscall,block\" or \"irq:all\" (traced mode without a suffix; default none)");

static void bridge_get(struct otel_bridge *b, struct otel_bridge_req *req)
{
	unsigned int cpu;

	req->mode = b->mode;
	req->modes = b->modes;
	strscpy(req->name, b->name, sizeof(req->name));
	for_each_possible_cpu(cpu) {
		const struct otel_bridge_stats *s = per_cpu_ptr(b->stats, cpu);

		req->spans += READ_ONCE(s->spans);
		req->dropped += READ_ONCE(s->dropped);
	}
}

/**
 * otel_bridge_ioctl() - OTEL_IOC_GET_BRIDGE / OTEL_IOC_SET_BRIDGE
 * @cmd:	the ioctl command
 * @arg:	user pointer to struct otel_bridge_req
 *
 * The struct may grow (otel_ioc_struct_in()); who may SET is dev_ioctl.c's
 * to check.
 *
 * Return: 0, -EFAULT, -EINVAL (size, reserved fields, mode), -E2BIG (a
 * larger struct with non-zero bytes past this one), -ENOENT (no such
 * bridge), -EOPNOTSUPP (a tracepoint missing from this kernel), -ENOMEM,
 * or -ENOTTY.
 */
long otel_bridge_ioctl(unsigned int cmd, void __user *arg)
{
	struct otel_bridge_req req;
	struct otel_bridge *b;
	unsigned int i;
	size_t usize;
	int ret;

	if (cmd != OTEL_IOC_GET_BRIDGE && cmd != OTEL_IOC_SET_BRIDGE)
		return -ENOTTY;
	ret = otel_ioc_struct_in(&req, sizeof(req), OTEL_BRIDGE_REQ_SIZE_VER0,
				 arg);
	if (ret)
		return ret;
	usize = req.size;
	if (memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;

	if (cmd == OTEL_IOC_GET_BRIDGE) {
		i = req.index;
		if (i >= ARRAY_SIZE(otel_bridges))
			return -ENOENT;
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.index = i;
		mutex_lock(&bridge_lock);
		bridge_get(otel_bridges[i], &req);
		mutex_unlock(&bridge_lock);
		return otel_ioc_struct_out(arg, usize, &req, sizeof(req));
	}

	if (!memchr(req.name, '\0', sizeof(req.name)))
		return -EINVAL;
	b = bridge_find(req.name, strlen(req.name));
	if (!b)
		return -ENOENT;
	if (mutex_lock_interruptible(&bridge_lock))
		return -ERESTARTSYS;
	ret = bridge_set_mode(b, req.mode);
	mutex_unlock(&bridge_lock);
	return ret;
}

static void find_tps(struct tracepoint *tp, void *priv)
{
	struct otel_bridge_tp *t;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(otel_bridges); i++) {
		for (t = otel_bridges[i]->tps; t->name; t++) {
			if (!strcmp(tp->name, t->name))
				t->tp = tp;
		}
	}
}

/**
 * otel_bridge_init() - find the tracepoints, apply the `bridges` parameter
 *
 * After otel_kspan_init() (the bridges use the context table).
 *
 * Return: 0, or the error of the parameter (insmod fails).
 */
int otel_bridge_init(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(otel_bridges); i++) {
		struct otel_bridge *b = otel_bridges[i];

		b->stats = alloc_percpu(struct otel_bridge_stats);
		if (!b->stats) {
			ret = -ENOMEM;
			goto err_free;
		}
		b->scope.name_len = scnprintf(b->scope_name,
					      sizeof(b->scope_name),
					      "oteltrace/%s", b->name);
		b->scope.name = b->scope_name;
		b->scope.version = OTELTRACE_VERSION;
		b->scope.version_len = strlen(OTELTRACE_VERSION);
	}
	for_each_kernel_tracepoint(find_tps, NULL);

	mutex_lock(&bridge_lock);
	bridge_ready = true;
	if (bridge_param)
		ret = bridge_apply_list(bridge_param);
	kfree(bridge_param);
	bridge_param = NULL;
	mutex_unlock(&bridge_lock);
	if (ret) {
		pr_err("bridges: cannot apply the module parameter: %d\n", ret);
		otel_bridge_exit();
	}
	return ret;

err_free:
	while (i--) {
		free_percpu(otel_bridges[i]->stats);
		otel_bridges[i]->stats = NULL;
	}
	return ret;
}

/**
 * otel_bridge_exit() - switch every bridge off
 *
 * Before otel_kspan_exit(): the probes use the context table.
 */
void otel_bridge_exit(void)
{
	unsigned int i;

	mutex_lock(&bridge_lock);
	for (i = 0; i < ARRAY_SIZE(otel_bridges); i++)
		bridge_set_mode(otel_bridges[i], OTEL_BRIDGE_OFF);
	bridge_ready = false;
	mutex_unlock(&bridge_lock);
	for (i = 0; i < ARRAY_SIZE(otel_bridges); i++) {
		free_percpu(otel_bridges[i]->stats);
		otel_bridges[i]->stats = NULL;
	}
}
