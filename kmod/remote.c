// SPDX-License-Identifier: GPL-2.0
/*
 * Remote contexts for everyone: /dev/oteltrace-ctx and the per-user limit.
 *
 * A remote context is the W3C context a thread gives itself so that its
 * kernel spans join its trace (context.c keeps it in the thread's slot).
 * Applications do not run as root, and /dev/oteltrace is root's (or the
 * group= members'), so a second device, mode 0666, serves the two context
 * ioctls and nothing else: no read, no mmap, no control ioctl, no other
 * task.  The ioctls name no task and the file holds no state: they act on
 * the calling thread, whoever opened the file.
 *
 * A device every user can reach must not let one user fill the context
 * table for the others.  Each slot holding a remote context is charged to
 * a uid (the real uid of the thread that set it, or of the new thread that
 * inherited it), and one uid may hold at most context_per_user of them
 * (SET fails with -EDQUOT; a fork just does not inherit).  Root is not
 * exempt: a root daemon's runaway thread pool must not starve the users
 * either; root can raise the limit at run time.
 *
 * A uid is not a person: one user with subordinate uids (/etc/subuid) has
 * thousands, and a few uids at their limit would fill the table.  So all
 * remote contexts together are capped too, at context_remote_max (half the
 * table by default; SET fails with -ENOSPC, a fork does not inherit): the
 * rest of the table stays for the kernel's own chains of current spans,
 * which the user device cannot take.  Charging each user namespace's owner
 * as well (as ucounts do) would keep one such user from taking the whole
 * remote share; that is not done (docs/user-context.md).
 *
 * The counts live in a small hash of per-uid entries under one raw
 * spinlock: charges happen on SET, fork, exit and free (an RCU callback),
 * never on the span path, and the critical sections are a few
 * instructions.  Entries come from a pool of one per table slot: context.c
 * claims a slot before charging it, so charges never outnumber slots, a
 * uid with an entry holds at least one charge, and the pool cannot run dry.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>

#include "context.h"
#include "internal.h"

#define OTEL_QUOTA_HASH_BITS	6

static unsigned int context_per_user;
module_param(context_per_user, uint, 0644);
MODULE_PARM_DESC(context_per_user,
		 "remote contexts one uid may hold (0, the default: an eighth of context_slots)");

static unsigned int context_remote_max;
module_param(context_remote_max, uint, 0644);
MODULE_PARM_DESC(context_remote_max,
		 "remote contexts all uids together may hold (0, the default: half of context_slots)");

/**
 * struct otel_quota_user - the remote contexts one uid holds
 * @node:	in the hash while @held > 0, else in the free list
 * @uid:	the uid
 * @held:	slots charged to @uid
 */
struct otel_quota_user {
	struct hlist_node	node;
	kuid_t			uid;
	u32			held;
};

/**
 * struct otel_quota - the per-user limit of remote contexts
 * @lock:	guards everything below; a leaf, taken with IRQs off (the
 *		free probe runs in an RCU callback)
 * @hash:	entries of the uids holding remote contexts
 * @free:	unused entries of @pool
 * @pool:	one entry per context table slot
 * @held:	remote contexts held, all uids
 * @refused:	charges refused by either limit
 */
struct otel_quota {
	raw_spinlock_t		lock;
	struct hlist_head	hash[1 << OTEL_QUOTA_HASH_BITS];
	struct hlist_head	free;
	struct otel_quota_user	*pool;
	u64			held;
	u64			refused;
};

static struct otel_quota otel_quota = {
	.lock	= __RAW_SPIN_LOCK_UNLOCKED(otel_quota.lock),
};

static unsigned int quota_limit(void)
{
	unsigned int limit = READ_ONCE(context_per_user);

	return limit ? limit : max(1U, (otel_ctx_mask + 1) / 8);
}

static unsigned int quota_total(void)
{
	unsigned int limit = READ_ONCE(context_remote_max);

	return limit ? limit : (otel_ctx_mask + 1) / 2;
}

static struct hlist_head *quota_bucket(struct otel_quota *q, kuid_t uid)
{
	return &q->hash[hash_32(__kuid_val(uid), OTEL_QUOTA_HASH_BITS)];
}

static struct otel_quota_user *quota_find(struct otel_quota *q, kuid_t uid)
{
	struct otel_quota_user *u;

	hlist_for_each_entry(u, quota_bucket(q, uid), node) {
		if (uid_eq(u->uid, uid))
			return u;
	}
	return NULL;
}

/**
 * otel_remote_charge() - charge a remote context to @uid
 * @uid:	the uid of the thread that will hold it
 *
 * The caller has claimed the slot the context goes to.
 *
 * Return: 0, -EDQUOT when @uid holds context_per_user already, or
 * -ENOSPC when all uids together hold context_remote_max.
 *
 * Context: task, softirq; takes a raw spinlock.
 */
notrace int otel_remote_charge(kuid_t uid)
{
	struct otel_quota *q = &otel_quota;
	struct otel_quota_user *u;
	unsigned long flags;
	int ret = 0;

	raw_spin_lock_irqsave(&q->lock, flags);
	if (q->held >= quota_total()) {
		q->refused++;
		ret = -ENOSPC;
		goto out;
	}
	u = quota_find(q, uid);
	if (u && u->held >= quota_limit()) {
		q->refused++;
		ret = -EDQUOT;
		goto out;
	}
	if (!u) {
		/* Cannot fail: see the top comment. */
		u = hlist_entry_safe(q->free.first, struct otel_quota_user,
				     node);
		if (WARN_ON_ONCE(!u)) {
			ret = -ENOSPC;
			goto out;
		}
		hlist_del(&u->node);
		u->uid = uid;
		u->held = 0;
		hlist_add_head(&u->node, quota_bucket(q, uid));
	}
	u->held++;
	q->held++;
out:
	raw_spin_unlock_irqrestore(&q->lock, flags);
	return ret;
}

/**
 * otel_remote_uncharge() - undo otel_remote_charge() for @uid
 * @uid:	the uid charged
 *
 * Context: task, softirq; takes a raw spinlock.
 */
notrace void otel_remote_uncharge(kuid_t uid)
{
	struct otel_quota *q = &otel_quota;
	struct otel_quota_user *u;
	unsigned long flags;

	raw_spin_lock_irqsave(&q->lock, flags);
	u = quota_find(q, uid);
	if (!WARN_ON_ONCE(!u || !u->held)) {
		q->held--;
		if (!--u->held) {
			hlist_del(&u->node);
			hlist_add_head(&u->node, &q->free);
		}
	}
	raw_spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * otel_remote_stats() - the quota's part of OTEL_IOC_SPAN_STATS
 * @out:	its context_remote and context_user_limit
 */
void otel_remote_stats(struct otel_span_stats *out)
{
	struct otel_quota *q = &otel_quota;
	unsigned long flags;

	raw_spin_lock_irqsave(&q->lock, flags);
	out->context_remote = q->held;
	out->context_user_limit = q->refused;
	raw_spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * otel_remote_init() - allocate the quota's entries (context.c's init)
 * @slots:	context table slots
 *
 * Return: 0 or -ENOMEM.
 */
int otel_remote_init(unsigned int slots)
{
	struct otel_quota *q = &otel_quota;
	unsigned int i;

	q->pool = kvcalloc(slots, sizeof(*q->pool), GFP_KERNEL);
	if (!q->pool)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(q->hash); i++)
		INIT_HLIST_HEAD(&q->hash[i]);
	INIT_HLIST_HEAD(&q->free);
	for (i = 0; i < slots; i++)
		hlist_add_head(&q->pool[i].node, &q->free);
	q->held = 0;
	q->refused = 0;
	return 0;
}

/**
 * otel_remote_exit() - free the quota's entries (context.c's exit, after
 * the task hooks are gone)
 */
void otel_remote_exit(void)
{
	kvfree(otel_quota.pool);
	otel_quota.pool = NULL;
}

/* The context ioctls only; everything else is not this device's. */
static long otel_ctx_dev_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	switch (cmd) {
	case OTEL_IOC_SET_TASK_CONTEXT:
	case OTEL_IOC_GET_TASK_CONTEXT:
		return otel_context_ioctl(cmd, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

/* No read, write, mmap or poll: the VFS refuses them. */
static const struct file_operations otel_ctx_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= otel_ctx_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice otel_ctx_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= OTEL_CTX_DEVICE_NAME,
	.fops	= &otel_ctx_dev_fops,
	.mode	= 0666,
};

/**
 * otel_ctx_dev_init() - register /dev/oteltrace-ctx (after the table)
 *
 * Return: 0 or a negative errno.
 */
int otel_ctx_dev_init(void)
{
	return misc_register(&otel_ctx_miscdev);
}

/**
 * otel_ctx_dev_exit() - unregister /dev/oteltrace-ctx
 */
void otel_ctx_dev_exit(void)
{
	misc_deregister(&otel_ctx_miscdev);
}
