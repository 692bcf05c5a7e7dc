// SPDX-License-Identifier: GPL-2.0
/*
 * mydrv: a minimal driver traced with oteltrace, to copy (README.md).
 *
 * A misc device, /dev/mydrv: each write() is one span, "mydrv.write",
 * with the number of bytes written as attribute mydrv.bytes.  The span is
 * declared with OTEL_KSPAN_SCOPED(), so it ends however write() returns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define OTEL_SCOPE_VERSION "0.1.0"	/* optional: your driver's version */

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "oteltrace.h"

#define MYDRV_MAX_WRITE	4096

static ssize_t mydrv_write(struct file *file, const char __user *buf,
			   size_t count, loff_t *ppos)
{
	OTEL_KSPAN_SCOPED(span, "mydrv.write", OTEL_SPAN_KIND_SERVER);

	otel_kspan_set_int(&span, "mydrv.bytes", count);
	if (count > MYDRV_MAX_WRITE) {
		otel_kspan_record_errno(&span, -EFBIG);
		return -EFBIG;		/* the span ends here... */
	}
	/* The work goes here: spans begun now are children of this one. */
	return count;			/* ...or here */
}

static const struct file_operations mydrv_fops = {
	.owner	= THIS_MODULE,
	.write	= mydrv_write,
	.llseek	= noop_llseek,
};

static struct miscdevice mydrv_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mydrv",
	.fops	= &mydrv_fops,
	.mode	= 0600,
};

module_misc_device(mydrv_miscdev);

MODULE_DESCRIPTION("mydrv: a driver template traced with oteltrace");
MODULE_LICENSE("GPL");
