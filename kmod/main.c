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

#include "bridge.h"
#include "internal.h"
#include "ring.h"

/*
 * Order: the rings first (writers need them), then the span API that
 * writes into them, then the device that exposes them.  Module parameters
 * live next to the code that uses them: ring_size_kb and ring_mode in
 * ring.c, group in dev.c, debug_open_spans in debug_open.c (after the
 * span API: it needs the context table), bridges in bridge.c (after the
 * span API too; off before it goes), context_slots in context.c,
 * context_per_user in remote.c.  /dev/oteltrace-ctx (remote.c) comes last
 * and goes first: any user can reach it.
 */
static int __init oteltrace_init(void)
{
	int ret;

	otel_abi_check();
	ret = otel_ring_init();
	if (ret)
		goto err_ring;

	ret = otel_kspan_init();
	if (ret)
		goto err_kspan;

	ret = otel_debug_open_init();
	if (ret)
		goto err_debug;

	ret = otel_bridge_init();
	if (ret)
		goto err_bridge;

	ret = otel_dev_init();
	if (ret)
		goto err_dev;

	ret = otel_ctx_dev_init();
	if (ret)
		goto err_ctx_dev;

	pr_info("loaded, ABI %d\n", OTEL_ABI_VERSION);
	return 0;

err_ctx_dev:
	otel_dev_exit();
err_dev:
	otel_bridge_exit();
err_bridge:
	otel_debug_open_exit();
err_debug:
	otel_kspan_exit();
err_kspan:
	otel_ring_exit();
err_ring:
	return ret;
}

static void __exit oteltrace_exit(void)
{
	otel_ctx_dev_exit();
	otel_dev_exit();
	otel_bridge_exit();
	otel_debug_open_exit();
	otel_kspan_exit();
	otel_ring_exit();
}

module_init(oteltrace_init);
module_exit(oteltrace_exit);

MODULE_DESCRIPTION("OpenTelemetry spans for Linux drivers");
MODULE_AUTHOR("oteltrace developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(OTELTRACE_VERSION);
