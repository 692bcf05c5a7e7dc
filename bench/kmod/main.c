// SPDX-License-Identifier: GPL-2.0
/*
 * otel_bench.ko: the kernel side of `make bench` (docs/benchmarks.md).
 *
 * One debugfs file, /sys/kernel/debug/otel_bench/ctl.  Each open file has
 * its own result, so several threads (one per CPU) can drive it at once:
 *   write "batch CASE N"  run N operations of CASE on this CPU with
 *                         interrupts off; read back "ns T ops N chunk N
 *                         median 0"
 *   write "run CASE MS"   run CASE for MS milliseconds with preemption on
 *                         (throughput); read back "ns T ops N chunk C
 *                         median M": M is the median ns of C operations
 *   read before writing   "cases NAME..." (the cases this build has)
 * The statistics (batches, medians, ratios) are computed by user space.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/ktime.h>
#include <linux/uaccess.h>

#include "otel_bench.h"

#define BENCH_MAX_BATCH		BIT(20)
#define BENCH_MAX_RUN_MS	60000U
#define BENCH_RUN_CHUNK		256U	/* operations between resched points */
#define BENCH_RUN_CHUNKS	16384U	/* chunk times kept for the median */
#define BENCH_OUT_SIZE		128

const struct otel_bench_ids otel_bench_ids = {
	.trace_id = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
		      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 },
	.span_id  = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 },
};

static const struct otel_bench_case *const bench_cases[] = {
	&otel_bench_empty,
	&otel_bench_clock,
	&otel_bench_floor,
	&otel_bench_event,
	&otel_bench_event_pair,
	&otel_bench_bpf_span,
#ifdef OTEL_BENCH_KSPAN
	&otel_bench_kspan,
	&otel_bench_kspan_bare,
#endif
#ifdef OTEL_BENCH_RING
	&otel_bench_ring,
	&otel_bench_ring_span,
#endif
};

/* Per open file: the answer to the last command. */
struct bench_file {
	struct mutex	lock;	/* serialises commands on one file */
	u64		seq;	/* payload of the next operation */
	size_t		len;
	char		out[BENCH_OUT_SIZE];
};

static struct dentry *bench_dir;

static const struct otel_bench_case *bench_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bench_cases); i++)
		if (!strcmp(bench_cases[i]->name, name))
			return bench_cases[i];
	return NULL;
}

/* the profiling scripts' build (Kbuild): batches with interrupts on */
#ifdef OTEL_BENCH_IRQS_ON
static const bool bench_irqs_on = true;
#else
static const bool bench_irqs_on;
#endif

/*
 * One batch with interrupts off: the cost of the operations alone.  The
 * profiling build leaves them on, for perf's sampling timer.
 */
static u64 bench_batch(const struct otel_bench_case *c, u64 seq, u32 n)
{
	unsigned long flags = 0;
	u64 start, end;

	if (!bench_irqs_on)
		local_irq_save(flags);
	start = ktime_get_mono_fast_ns();
	c->run(seq, n);
	end = ktime_get_mono_fast_ns();
	if (!bench_irqs_on)
		local_irq_restore(flags);
	return end - start;
}

static int bench_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return (x > y) - (x < y);
}

/*
 * Back to back for @ms with preemption on: throughput on this CPU.  Also
 * the median time of a chunk of BENCH_RUN_CHUNK operations (*median, 0 if
 * unknown): unlike the mean it ignores the chunks during which this CPU
 * was taken away (by a reader, or by the host from an emulated CPU), and
 * still sees any slowdown that every chunk suffers.
 */
static u64 bench_run(const struct otel_bench_case *c, u64 seq, u32 ms,
		     u64 *elapsed, u32 *median)
{
	u32 *chunk = kvmalloc_array(BENCH_RUN_CHUNKS, sizeof(*chunk),
				    GFP_KERNEL);
	u64 start = ktime_get_mono_fast_ns();
	u64 stop = start + (u64)ms * NSEC_PER_MSEC;
	u64 done = 0, now, t = start;
	u32 n = 0;

	do {
		c->run(seq + done, BENCH_RUN_CHUNK);
		done += BENCH_RUN_CHUNK;
		now = ktime_get_mono_fast_ns();
		if (chunk && n < BENCH_RUN_CHUNKS)
			chunk[n++] = min_t(u64, now - t, U32_MAX);
		cond_resched();
		t = ktime_get_mono_fast_ns();
	} while (t < stop && !fatal_signal_pending(current));
	*elapsed = t - start;
	*median = 0;
	if (chunk && n) {
		sort(chunk, n, sizeof(*chunk), bench_cmp_u32, NULL);
		*median = chunk[n / 2];
	}
	kvfree(chunk);
	return done;
}

static void bench_list(struct bench_file *bf)
{
	size_t i;

	bf->len = scnprintf(bf->out, sizeof(bf->out), "cases");
	for (i = 0; i < ARRAY_SIZE(bench_cases); i++)
		bf->len += scnprintf(bf->out + bf->len,
				     sizeof(bf->out) - bf->len, " %s",
				     bench_cases[i]->name);
	bf->len += scnprintf(bf->out + bf->len, sizeof(bf->out) - bf->len,
			     "\n");
}

static int bench_open(struct inode *inode, struct file *file)
{
	struct bench_file *bf;

	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	mutex_init(&bf->lock);
	bench_list(bf);
	file->private_data = bf;
	return 0;
}

static int bench_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t bench_read(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	struct bench_file *bf = file->private_data;
	ssize_t ret;

	mutex_lock(&bf->lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, bf->out, bf->len);
	mutex_unlock(&bf->lock);
	return ret;
}

static int bench_command(struct bench_file *bf, const char *buf)
{
	const struct otel_bench_case *c;
	char cmd[16], name[32];
	u32 arg, median = 0, chunk = BENCH_RUN_CHUNK;
	u64 ns, ops;

	if (sscanf(buf, "%15s %31s %u", cmd, name, &arg) != 3)
		return -EINVAL;
	c = bench_find(name);
	if (!c)
		return -ENOENT;
	if (!strcmp(cmd, "batch")) {
		if (!arg || arg > BENCH_MAX_BATCH)
			return -EINVAL;
		ns = bench_batch(c, bf->seq, arg);
		ops = arg;
		chunk = arg;
	} else if (!strcmp(cmd, "run")) {
		if (!arg || arg > BENCH_MAX_RUN_MS)
			return -EINVAL;
		ops = bench_run(c, bf->seq, arg, &ns, &median);
	} else {
		return -EINVAL;
	}
	bf->seq += ops;
	bf->len = scnprintf(bf->out, sizeof(bf->out),
			    "ns %llu ops %llu chunk %u median %u\n", ns, ops,
			    chunk, median);
	return 0;
}

static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	struct bench_file *bf = file->private_data;
	char *buf;
	int ret;

	if (!count || count > 64)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	mutex_lock(&bf->lock);
	ret = bench_command(bf, buf);
	mutex_unlock(&bf->lock);
	kfree(buf);
	return ret ? ret : count;
}

static const struct file_operations bench_fops = {
	.owner		= THIS_MODULE,
	.open		= bench_open,
	.release	= bench_release,
	.read		= bench_read,
	.write		= bench_write,
	.llseek		= default_llseek,
};

static int __init otel_bench_init(void)
{
	int ret;

	ret = otel_bench_floor_init();
	if (ret)
		return ret;
	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", 0600, bench_dir, NULL, &bench_fops);
	return 0;
}

static void __exit otel_bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
	otel_bench_floor_exit();
}

module_init(otel_bench_init);
module_exit(otel_bench_exit);

MODULE_DESCRIPTION("oteltrace benchmark: spans against the floor and ftrace");
MODULE_AUTHOR("oteltrace developers");
MODULE_LICENSE("GPL");
