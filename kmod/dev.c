// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/oteltrace: the character device through which user space reads the
 * rings and configures the tracer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "internal.h"

static const struct file_operations otel_dev_fops = {
	.owner	= THIS_MODULE,
};

static struct miscdevice otel_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= OTEL_DEVICE_NAME,
	.fops	= &otel_dev_fops,
	.mode	= 0600,
};

int otel_dev_init(void)
{
	return misc_register(&otel_miscdev);
}

void otel_dev_exit(void)
{
	misc_deregister(&otel_miscdev);
}
