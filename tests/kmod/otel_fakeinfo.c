// SPDX-License-Identifier: GPL-2.0
/*
 * otel_fakeinfo: /dev/otel_fakeinfo answers OTEL_IOC_INFO with a geometry of
 * the test's choosing and nothing else (every other ioctl, and mmap, fail),
 * so the in-VM oteld test (tests/vm/oteld_live_test.c) can check that
 * oteld refuses a module of another ABI version, or rings it cannot use,
 * before it maps anything.  Test-only; oteltrace.ko is untouched.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "uapi/oteltrace.h"

static unsigned int abi_version = OTEL_ABI_VERSION;
module_param(abi_version, uint, 0644);
MODULE_PARM_DESC(abi_version, "OTEL_IOC_INFO abi_version");
static unsigned long ring_size = 256 * 1024;
module_param(ring_size, ulong, 0644);
MODULE_PARM_DESC(ring_size, "OTEL_IOC_INFO ring_size (bytes)");

static long fakeinfo_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct otel_info info = {
		.size = sizeof(info),
		.abi_version = READ_ONCE(abi_version),
		.nr_cpus = nr_cpu_ids,
		.page_size = PAGE_SIZE,
		.ring_size = READ_ONCE(ring_size),
		.mmap_stride = 2 * PAGE_SIZE + 64 * 1024 * 1024,
		.max_record = OTEL_REC_MAX_SIZE,
	};

	if (cmd != OTEL_IOC_INFO)
		return -ENOTTY;
	return copy_to_user((void __user *)arg, &info, sizeof(info)) ?
		-EFAULT : 0;
}

static const struct file_operations fakeinfo_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= fakeinfo_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice fakeinfo_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "otel_fakeinfo",
	.fops	= &fakeinfo_fops,
	.mode	= 0600,
};

module_misc_device(fakeinfo_miscdev);

MODULE_DESCRIPTION("oteltrace test: a device with a chosen OTEL_IOC_INFO");
MODULE_LICENSE("GPL");
