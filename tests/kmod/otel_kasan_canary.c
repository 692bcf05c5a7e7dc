// SPDX-License-Identifier: GPL-2.0
/*
 * otel_kasan_canary: a deliberately buggy module, loaded only by the
 * debug-kernel lane's own test (tests/runner/debug_selftest), to prove that
 * a KASAN report, a kmemleak leak, sleeping in atomic context and a lock
 * order inversion fail `make check-debug`.
 *
 *   bug=oob	one byte written past a 13-byte kmalloc() (inside the slab
 *		slot's redzone, so nothing else is corrupted): KASAN reports
 *		a slab-out-of-bounds write
 *   bug=leak	a 64-byte kmalloc() whose only pointer is dropped: kmemleak
 *		reports it once the module is gone
 *   bug=lock	might_sleep() under a spinlock (DEBUG_ATOMIC_SLEEP reports
 *		"sleeping function called from invalid context"; nothing
 *		sleeps), then two spinlocks taken in both orders one after
 *		the other (lockdep reports a possible circular dependency;
 *		nothing deadlocks)
 *   bug=none	loads and unloads cleanly (the lane must pass)
 *
 * It refuses to load (-ENODEV) on a kernel without the checker its bug is
 * meant for, so it can never corrupt or leak anything on a kernel that would
 * not report it.
 */
#include <linux/compiler.h>
#include <linux/kconfig.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *bug = "none";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "oob, leak, lock or none");

#define CANARY_SIZE	13
#define CANARY_LEAK	64

static noinline int canary_oob(void)
{
	size_t at = CANARY_SIZE;
	char *p;

	p = kmalloc(CANARY_SIZE, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	/*
	 * Hide the index from the compiler: the bug must happen at run time
	 * (kfree() may read the byte, so the store stays).
	 */
	OPTIMIZER_HIDE_VAR(at);
	p[at] = 'x';
	kfree(p);
	return 0;
}

static noinline int canary_leak(void)
{
	char *p;

	p = kmalloc(CANARY_LEAK, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	strscpy(p, "otel_kasan_canary leak", CANARY_LEAK);
	/* The only pointer goes out of scope here: a leak. */
	OPTIMIZER_HIDE_VAR(p);
	return 0;
}

static DEFINE_SPINLOCK(canary_a);
static DEFINE_SPINLOCK(canary_b);

static noinline int canary_lock(void)
{
	/* The atomic-sleep check first: lockdep turns itself off after a report. */
	spin_lock(&canary_a);
	might_sleep();
	spin_unlock(&canary_a);

	spin_lock(&canary_a);
	spin_lock(&canary_b);
	spin_unlock(&canary_b);
	spin_unlock(&canary_a);

	spin_lock(&canary_b);
	spin_lock(&canary_a);
	spin_unlock(&canary_a);
	spin_unlock(&canary_b);
	return 0;
}

static int __init canary_init(void)
{
	if (!strcmp(bug, "none"))
		return 0;
	if (!strcmp(bug, "oob"))
		return IS_ENABLED(CONFIG_KASAN) ? canary_oob() : -ENODEV;
	if (!strcmp(bug, "leak"))
		return IS_ENABLED(CONFIG_DEBUG_KMEMLEAK) ? canary_leak() : -ENODEV;
	if (!strcmp(bug, "lock"))
		return IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP) &&
		       IS_ENABLED(CONFIG_PROVE_LOCKING) ? canary_lock() : -ENODEV;
	return -EINVAL;
}

static void __exit canary_exit(void)
{
}

module_init(canary_init);
module_exit(canary_exit);

MODULE_DESCRIPTION("Deliberate KASAN, kmemleak and locking bugs for the debug lane's self-test");
MODULE_LICENSE("GPL");
