// SPDX-License-Identifier: GPL-2.0
/*
 * vm_warn: a module whose only job is to WARN when loaded, so the runner's
 * own test can check that scripts/vm fails a run whose kernel warned.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init vm_warn_init(void)
{
	WARN(1, "vm_warn: deliberate warning for the runner self-test\n");
	return 0;
}

static void __exit vm_warn_exit(void)
{
}

module_init(vm_warn_init);
module_exit(vm_warn_exit);

MODULE_DESCRIPTION("Warns on load: tests scripts/vm's kernel report check");
MODULE_LICENSE("GPL");
