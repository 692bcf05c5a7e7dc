// SPDX-License-Identifier: GPL-2.0
/*
 * otel_claimtest: the knobs tests/vm/ring_claims_test.c and
 * tests/vm/span_claims_test.c need to check claims of README.md and docs/
 * that otel_ringtest and otel_spantest cannot reach: a writer that
 * re-enters the ring in its own context, records of a known size on one
 * CPU, spans under a W3C parent the test chooses (its trace id decides
 * traceidratio), strings at and past their documented limits, and
 * otel_kspan_is_recording() read where only the kernel can read it.
 *
 * Write "<command> [args]" to /dev/otel_claimtest; the command runs before
 * write() returns, and read() gives its result as a decimal number.
 *
 *   raw N	N records of 64 bytes in otel_ringtest's format
 *		(tests/kmod/otel_ringtest.h: writer cpu * 4, task context,
 *		sequence per CPU), all on the CPU the command runs on;
 *		result: the records the ring took
 *   nested N	N times, on one CPU in task context: reserve a record (as
 *		raw), and while it is reserved try a second one from the
 *		same context, as a tracer re-entering itself would; commit
 *		the first; result: the inner attempts the ring refused
 *   remote TP	"c.remote" under the W3C traceparent TP (otel_kspan_begin_
 *		remote()), with an explicit child "c.remote.child"; result:
 *		bit 0 the remote span recording, bit 1 the child, bit 2 the
 *		remote span after its end (-EINVAL: TP does not parse)
 *   root	a root "c.root"; result: bit 0 is_recording() of the handle
 *		before begin (DEFINE_OTEL_KSPAN()), bit 1 after begin, bit 2
 *		once ended
 *   end N	"c.end" (current) ended N times, then "c.end.after"
 *		(current), which must be a root
 *   trunc WHAT L	a string of L bytes ('a' + i % 26) where WHAT puts it:
 *		name (the span's name), key (an int attribute "c.key"'s key,
 *		span "c.trunc"), msg (status ERROR message), scope (scope
 *		name and version, through a scope of this command's own),
 *		value (string attribute "c.value"), event (an event's name)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define OTEL_SCOPE_VERSION "claims"

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "oteltrace.h"
#include "ring.h"
#include "tests/kmod/otel_ringtest.h"

#define C_KIND		OTEL_SPAN_KIND_INTERNAL
#define C_RAW_SIZE	64
#define C_TEXT_LEN	1024

static DEFINE_MUTEX(claimtest_lock);
static long claimtest_result;
static DEFINE_PER_CPU(u64, c_seq);
static char c_text[C_TEXT_LEN + 1];	/* 'a' + i % 26, C_TEXT_LEN bytes */
static char c_str[C_TEXT_LEN + 1];	/* a prefix of c_text, NUL-terminated */

/* Reserve one raw record on this CPU (preemption is off until commit). */
static struct otel_rec_hdr *raw_reserve(void)
{
	struct otel_ringtest_rec *r;
	unsigned int cpu = raw_smp_processor_id();
	u32 i;
	u8 *fill;
	u64 seq;

	r = (struct otel_ringtest_rec *)otel_ring_reserve(OTEL_REC_RAW,
							  C_RAW_SIZE);
	seq = this_cpu_inc_return(c_seq) - 1;
	if (!r)
		return NULL;
	r->writer = cpu * RINGTEST_NR_CTX + RINGTEST_CTX_TASK;
	r->ctx = RINGTEST_CTX_TASK;
	r->seq = seq;
	fill = (u8 *)(r + 1);
	for (i = 0; i < C_RAW_SIZE - sizeof(*r); i++)
		fill[i] = otel_ringtest_fill(r->writer, seq, i);
	return &r->hdr;
}

static long cmd_raw(unsigned int n)
{
	struct otel_rec_hdr *h;
	long written = 0;

	preempt_disable();	/* one CPU, one ring, for the whole command */
	while (n--) {
		h = raw_reserve();
		if (h) {
			otel_ring_commit(h);
			written++;
		}
	}
	preempt_enable();
	return written;
}

static long cmd_nested(unsigned int n)
{
	struct otel_rec_hdr *outer, *inner;
	long refused = 0;

	preempt_disable();
	while (n--) {
		outer = raw_reserve();
		if (!outer)
			continue;
		/* Same CPU, same context, the outer writer not committed. */
		inner = otel_ring_reserve(OTEL_REC_RAW, C_RAW_SIZE);
		if (inner)
			otel_ring_commit(inner);	/* refused, or a bug */
		else
			refused++;
		otel_ring_commit(outer);
	}
	preempt_enable();
	return refused;
}

static long cmd_remote(const char *tp)
{
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(child);
	struct otel_span_context ctx;
	long ret;

	if (otel_traceparent_parse(tp, strlen(tp), &ctx))
		return -EINVAL;
	otel_kspan_begin_remote(&s, &ctx, "c.remote", OTEL_SPAN_KIND_SERVER);
	otel_kspan_begin_child(&child, &s, "c.remote.child", C_KIND);
	ret = otel_kspan_is_recording(&s) | otel_kspan_is_recording(&child) << 1;
	otel_kspan_end(&child);
	otel_kspan_end(&s);
	return ret | otel_kspan_is_recording(&s) << 2;
}

static long cmd_root(void)
{
	DEFINE_OTEL_KSPAN(s);
	long ret = otel_kspan_is_recording(&s);

	otel_kspan_begin_child(&s, NULL, "c.root", C_KIND);
	ret |= otel_kspan_is_recording(&s) << 1;
	otel_kspan_end(&s);
	return ret | otel_kspan_is_recording(&s) << 2;
}

static void cmd_end(unsigned int n)
{
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(after);

	otel_kspan_begin(&s, "c.end", C_KIND);
	otel_kspan_set_int(&s, "c.ends", n);
	while (n--)
		otel_kspan_end(&s);
	otel_kspan_begin(&after, "c.end.after", C_KIND);
	otel_kspan_end(&after);
}

static long cmd_trunc(const char *what, unsigned int len)
{
	DEFINE_OTEL_KSPAN(s);
	struct otel_kscope scope = {
		.name = c_str, .version = c_str,
		.name_len = len, .version_len = len,
	};

	if (len > C_TEXT_LEN)
		return -EINVAL;
	memcpy(c_str, c_text, len);
	c_str[len] = '\0';
	if (!strcmp(what, "name")) {
		otel_kspan_begin_child(&s, NULL, c_str, C_KIND);
	} else if (!strcmp(what, "scope")) {
		/* What otel_kspan_begin_child() does, with this scope. */
		if (!static_branch_unlikely(&otel_tracing_key))
			return -ENODEV;
		__otel_kspan_begin(&s, &scope, "c.trunc",
				   OTEL_BEGIN_INFO(0, C_KIND,
						   OTEL_BEGIN_EXPLICIT), NULL);
	} else {
		otel_kspan_begin_child(&s, NULL, "c.trunc", C_KIND);
		if (!strcmp(what, "key"))
			otel_kspan_set_int(&s, c_str, len);
		else if (!strcmp(what, "msg"))
			otel_kspan_set_status(&s, OTEL_STATUS_ERROR, c_str);
		else if (!strcmp(what, "value"))
			otel_kspan_set_str(&s, "c.value", c_str);
		else if (!strcmp(what, "event"))
			otel_kspan_add_event(&s, c_str);
		else
			len = 0;
	}
	otel_kspan_end(&s);
	return len ? 0 : -EINVAL;
}

static ssize_t claimtest_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	char buf[128], cmd[16], arg[96];
	unsigned int n = 0;
	long ret = 0;
	int nargs;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	arg[0] = '\0';
	nargs = sscanf(buf, "%15s %95s %u", cmd, arg, &n);
	if (nargs < 1)
		return -EINVAL;
	if (nargs >= 2 && strcmp(cmd, "remote") && strcmp(cmd, "trunc") &&
	    kstrtouint(arg, 0, &n))
		return -EINVAL;

	mutex_lock(&claimtest_lock);
	if (!strcmp(cmd, "raw"))
		ret = cmd_raw(n);
	else if (!strcmp(cmd, "nested"))
		ret = cmd_nested(n);
	else if (!strcmp(cmd, "remote"))
		ret = cmd_remote(arg);
	else if (!strcmp(cmd, "root"))
		ret = cmd_root();
	else if (!strcmp(cmd, "end"))
		cmd_end(n);
	else if (!strcmp(cmd, "trunc") && nargs == 3)
		ret = cmd_trunc(arg, n);
	else
		ret = -EINVAL;
	if (ret >= 0)
		claimtest_result = ret;
	mutex_unlock(&claimtest_lock);
	return ret < 0 ? ret : count;
}

static ssize_t claimtest_read(struct file *file, char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	char buf[24];
	int len;

	mutex_lock(&claimtest_lock);
	len = scnprintf(buf, sizeof(buf), "%ld\n", claimtest_result);
	mutex_unlock(&claimtest_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations claimtest_fops = {
	.owner	= THIS_MODULE,
	.read	= claimtest_read,
	.write	= claimtest_write,
	.llseek	= noop_llseek,
};

static struct miscdevice claimtest_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "otel_claimtest",
	.fops	= &claimtest_fops,
	.mode	= 0600,
};

static int __init claimtest_init(void)
{
	unsigned int i;

	for (i = 0; i < C_TEXT_LEN; i++)
		c_text[i] = 'a' + i % 26;
	return misc_register(&claimtest_miscdev);
}

static void __exit claimtest_exit(void)
{
	misc_deregister(&claimtest_miscdev);
}

module_init(claimtest_init);
module_exit(claimtest_exit);

MODULE_DESCRIPTION("oteltrace documented-claims test driver");
MODULE_LICENSE("GPL");
