// SPDX-License-Identifier: GPL-2.0
/*
 * oteltrace: OpenTelemetry spans from Linux drivers.
 *
 * Module entry points: bring the subsystems up in dependency order and take
 * them down in reverse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>

#include "internal.h"

static int __init oteltrace_init(void)
{
	int ret;

	ret = otel_dev_init();
	if (ret)
		goto err_dev;

	pr_info("loaded, ABI %d\n", OTEL_ABI_VERSION);
	return 0;

err_dev:
	return ret;
}

static void __exit oteltrace_exit(void)
{
	otel_dev_exit();
}

module_init(oteltrace_init);
module_exit(oteltrace_exit);

MODULE_DESCRIPTION("OpenTelemetry spans for Linux drivers");
MODULE_AUTHOR("oteltrace developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(OTELTRACE_VERSION);
