// SPDX-License-Identifier: GPL-2.0
/*
 * otel_demo: the oteltrace demo driver.
 *
 * Writing a decimal N to /dev/otel_demo runs N requests in the writer's
 * context.  Request seq (0..N-1) makes three spans, all with scope
 * "otel_demo":
 *   otel_demo.request	root, INTERNAL, declared with OTEL_KSPAN_SCOPED() so
 *			that it ends on every return; demo.seq = seq,
 *			demo.name = "demo", demo.ratio = 0.5, demo.ok = true;
 *			status ERROR "demo failure" when seq % 10 == 9, else
 *			OK
 *   otel_demo.work	begun while the request is current (implicit
 *			parent), one event "checkpoint" with demo.step = 1
 *   otel_demo.complete	explicit child of the request, begun here and ended
 *			by a work item, on another CPU when there is one;
 *			the write returns after it has ended
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define OTEL_SCOPE_VERSION "1.0.0"

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "oteltrace.h"

#define DEMO_MAX_REQUESTS	1000000U

struct demo_completion {
	struct otel_kspan	span;
	struct work_struct	work;
	struct completion	done;
};

/* Runs in a kworker: the "device" completes the request. */
static void demo_complete_work(struct work_struct *work)
{
	struct demo_completion *c = container_of(work, struct demo_completion,
						 work);

	otel_kspan_end(&c->span);
	complete(&c->done);
}

static void demo_request(unsigned int seq)
{
	/* Current until the function returns, whichever way it does. */
	OTEL_KSPAN_SCOPED(request, "otel_demo.request", OTEL_SPAN_KIND_INTERNAL);
	const struct otel_kattr step = OTEL_KATTR_INT("demo.step", 1);
	DEFINE_OTEL_KSPAN(work);
	struct demo_completion c = { };
	unsigned int cpu;

	otel_kspan_set_int(&request, "demo.seq", seq);
	otel_kspan_set_str(&request, "demo.name", "demo");
	otel_kspan_set_double(&request, "demo.ratio", 1, 2);
	otel_kspan_set_bool(&request, "demo.ok", true);

	/* Implicit parent: the request is this task's current span. */
	otel_kspan_begin(&work, "otel_demo.work", OTEL_SPAN_KIND_INTERNAL);
	otel_kspan_add_event_attrs(&work, "checkpoint", 0, &step, 1);
	otel_kspan_end(&work);

	/* Explicit parent: ended by a work item, preferably on another CPU. */
	otel_kspan_begin_child(&c.span, &request, "otel_demo.complete",
			       OTEL_SPAN_KIND_INTERNAL);
	init_completion(&c.done);
	INIT_WORK_ONSTACK(&c.work, demo_complete_work);
	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	if (cpu < nr_cpu_ids)
		queue_work_on(cpu, system_wq, &c.work);
	else
		queue_work(system_wq, &c.work);
	wait_for_completion(&c.done);
	destroy_work_on_stack(&c.work);

	if (seq % 10 == 9) {
		otel_kspan_set_status(&request, OTEL_STATUS_ERROR,
				      "demo failure");
		return;		/* the request span ends here... */
	}
	otel_kspan_set_status(&request, OTEL_STATUS_OK, NULL);
}				/* ...or here */

static ssize_t demo_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	unsigned int n, seq;
	int ret;

	ret = kstrtouint_from_user(buf, count, 10, &n);
	if (ret)
		return ret;
	if (n > DEMO_MAX_REQUESTS)
		return -EINVAL;
	for (seq = 0; seq < n; seq++) {
		if (fatal_signal_pending(current))
			return -EINTR;
		demo_request(seq);
		cond_resched();
	}
	return count;
}

static const struct file_operations demo_fops = {
	.owner	= THIS_MODULE,
	.write	= demo_write,
	.llseek	= noop_llseek,
};

static struct miscdevice demo_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "otel_demo",
	.fops	= &demo_fops,
	.mode	= 0600,
};

module_misc_device(demo_miscdev);

MODULE_DESCRIPTION("oteltrace demo driver: spans from /dev/otel_demo writes");
MODULE_AUTHOR("oteltrace developers");
MODULE_LICENSE("GPL");
