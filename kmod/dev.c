// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/oteltrace: the character device through which user space reads the
 * rings (mmap, read, poll) and configures the tracer (ioctls).
 *
 * Every ioctl validates its argument: unknown commands give -ENOTTY, bad
 * pointers -EFAULT, bad values or non-zero reserved fields -EINVAL.  Nothing
 * copied out holds a kernel pointer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>

#include "bridge.h"
#include "compat.h"
#include "internal.h"
#include "sampler.h"
#include "ring.h"
#include "ring_write.h"

static int group = -1;
module_param(group, int, 0444);
MODULE_PARM_DESC(group,
		 "gid whose members may open /dev/oteltrace (device mode 0660); -1: root only (default)");

/* Next CPU read() starts with, so that no ring starves the others. */
static unsigned int otel_read_next;

/*
 * A new reader has seen no COMM record yet: every CPU names its tasks
 * again (kspan.c).
 */
static int otel_dev_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN) &&
	    (group < 0 || !in_group_p(make_kgid(&init_user_ns, group))))
		return -EPERM;
	otel_kspan_forget_comms();
	return 0;
}

/*
 * Overwrite mode: has the writer moved the tail past @pos, so the record we
 * looked at (or copied) there may be torn?
 */
static bool dev_overwritten(struct otel_ring_buf *b, u64 pos)
{
	/* Bytes before tail: pairs with ring_overwrite()'s smp_wmb(). */
	smp_rmb();
	return (s64)(local64_read(&b->tail) - pos) > 0;
}

/*
 * Copy whole records of @ring to @buf after *@done bytes.  Return 0 when the
 * ring is drained, 1 when @buf is full, or a negative errno (-EINVAL: the
 * next record does not fit in an empty buffer).
 */
static int dev_read_ring(struct otel_ring *ring, char __user *buf,
			 size_t len, size_t *done)
{
	bool overwrite = otel_ring_mode() == OTEL_MODE_OVERWRITE;
	struct otel_ring_buf *b = otel_ring_buf_locked(ring);
	u64 size = b->size, off, prod, pos;
	const struct otel_rec_hdr *rec;
	int ret = 0;
	u16 sz;

	/* Records below producer_pos are complete: pairs with the writer's release. */
	prod = smp_load_acquire(&b->prod->producer_pos);
	pos = otel_ring_read_start(b, prod);
	while ((s64)(prod - pos) > 0) {
		off = pos & (size - 1);
		rec = (const struct otel_rec_hdr *)(b->data + off);
		sz = READ_ONCE(rec->size);
		if (sz < 8 || (sz & 7) || off + sz > size || prod - pos < sz) {
			if (overwrite && dev_overwritten(b, pos)) {
				pos = local64_read(&b->tail);
				continue;
			}
			pos = prod;	/* cannot happen: resynchronise */
			break;
		}
		if (READ_ONCE(rec->type) == OTEL_REC_PAD) {
			pos += sz;
			continue;
		}
		if (sz > len - *done) {
			if (overwrite && dev_overwritten(b, pos)) {
				pos = local64_read(&b->tail);
				continue;
			}
			ret = *done ? 1 : -EINVAL;
			break;
		}
		if (copy_to_user(buf + *done, rec, sz)) {
			ret = -EFAULT;
			break;
		}
		if (overwrite && dev_overwritten(b, pos)) {
			pos = local64_read(&b->tail);	/* drop the copy */
			continue;
		}
		pos += sz;
		*done += sz;
	}
	/* We are done with the bytes below pos: pairs with the writer's acquire. */
	smp_store_release(&b->cons->consumer_pos, pos);
	return ret;
}

static ssize_t dev_read_rings(char __user *buf, size_t len)
{
	unsigned int i, cpu = otel_read_next;
	size_t done = 0;
	int ret = 0;

	for (i = 0; i < nr_cpu_ids && !ret; i++, cpu = (cpu + 1) % nr_cpu_ids) {
		if (!cpu_possible(cpu))
			continue;
		ret = dev_read_ring(otel_rings[cpu], buf, len, &done);
	}
	otel_read_next = cpu;
	if (ret < 0 && !done)
		return ret;
	return done;
}

/* read(): whole records from every ring, never a partial one. */
static ssize_t otel_dev_read(struct file *file, char __user *buf,
			     size_t len, loff_t *ppos)
{
	ssize_t ret;

	if (!len)
		return 0;
	for (;;) {
		if (mutex_lock_interruptible(&otel_ring_mutex))
			return -ERESTARTSYS;
		ret = dev_read_rings(buf, len);
		mutex_unlock(&otel_ring_mutex);
		if (ret)
			return ret;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		otel_ring_reader_waiting();
		if (wait_event_interruptible(otel_ring_wq, otel_ring_has_data()))
			return -ERESTARTSYS;
	}
}

static __poll_t otel_dev_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &otel_ring_wq, wait);
	if (otel_ring_has_data())
		return EPOLLIN | EPOLLRDNORM;
	otel_ring_reader_waiting();
	if (otel_ring_has_data())
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

/* The mapping count keeps the rings from being reallocated under a map. */
static void otel_vm_open(struct vm_area_struct *vma)
{
	/* Cannot fail: an existing mapping keeps a resize from starting. */
	WARN_ON_ONCE(otel_ring_map_get());
}

static void otel_vm_close(struct vm_area_struct *vma)
{
	otel_ring_map_put();
}

static const struct vm_operations_struct otel_vm_ops = {
	.open	= otel_vm_open,
	.close	= otel_vm_close,
};

/*
 * mmap(): ring n at offset n * mmap_stride; its first page (consumer) may be
 * mapped writable on its own, everything else only read-only.
 */
static int otel_dev_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long stride, pgoff = vma->vm_pgoff, npages = vma_pages(vma);
	unsigned long i, p, cpu;
	int ret;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	ret = otel_ring_map_get();	/* the geometry is stable from here */
	if (ret)
		return ret;
	stride = otel_ring_stride() >> PAGE_SHIFT;
	ret = -EINVAL;
	if (pgoff >= nr_cpu_ids * stride || npages > nr_cpu_ids * stride - pgoff)
		goto err_put;
	if (vma->vm_flags & VM_WRITE) {
		ret = -EPERM;
		if (npages != 1 || pgoff % stride)
			goto err_put;
	} else {
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	for (i = 0; i < npages; i++) {
		p = pgoff + i;
		cpu = p / stride;
		ret = -EINVAL;
		if (!cpu_possible(cpu))
			goto err_put;
		ret = vm_insert_page(vma, vma->vm_start + i * PAGE_SIZE,
				     otel_ring_map_page(cpu, p % stride));
		if (ret)
			goto err_put;
	}
	vma->vm_ops = &otel_vm_ops;
	return 0;

err_put:
	otel_ring_map_put();
	return ret;
}

static int ioc_info(void __user *arg)
{
	struct otel_info info = {
		.size		= sizeof(info),
		.abi_version	= OTEL_ABI_VERSION,
		.nr_cpus	= nr_cpu_ids,
		.page_size	= PAGE_SIZE,
		.max_record	= OTEL_REC_MAX_SIZE,
	};

	mutex_lock(&otel_ring_mutex);
	info.ring_size = otel_ring_size();
	info.mmap_stride = otel_ring_stride();
	mutex_unlock(&otel_ring_mutex);
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static int ioc_stats(void __user *arg)
{
	struct otel_stats_req req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved)
		return -EINVAL;
	if (req.cpu != OTEL_STATS_ALL_CPUS &&
	    (req.cpu >= nr_cpu_ids || !cpu_possible(req.cpu)))
		return -EINVAL;
	otel_ring_stats(req.cpu, &req.stats);
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static int ioc_get_config(void __user *arg)
{
	struct otel_config cfg = { .size = sizeof(cfg) };

	mutex_lock(&otel_ring_mutex);
	cfg.enabled = otel_kspan_enabled();
	cfg.mode = otel_ring_mode();
	otel_sampler_get(&cfg.sampler, &cfg.ratio);
	cfg.wakeup_bytes = otel_ring_wakeup_bytes();
	cfg.ring_size = otel_ring_size();
	cfg.begin_records = otel_kspan_begin_records();
	mutex_unlock(&otel_ring_mutex);
	return copy_to_user(arg, &cfg, sizeof(cfg)) ? -EFAULT : 0;
}

static int ioc_set_config(void __user *arg)
{
	struct otel_config cfg;
	int ret, i;

	if (copy_from_user(&cfg, arg, sizeof(cfg)))
		return -EFAULT;
	if (cfg.size != sizeof(cfg) || cfg.enabled > 1 ||
	    cfg.mode > OTEL_MODE_OVERWRITE ||
	    cfg.sampler > OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO ||
	    cfg.ratio > OTEL_RATIO_ONE ||
	    !is_power_of_2(cfg.ring_size) ||
	    cfg.ring_size < OTEL_RING_MIN_SIZE ||
	    cfg.ring_size > OTEL_RING_MAX_SIZE || cfg.begin_records > 1)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(cfg.reserved); i++)
		if (cfg.reserved[i])
			return -EINVAL;

	if (mutex_lock_interruptible(&otel_ring_mutex))
		return -ERESTARTSYS;
	ret = otel_ring_resize(cfg.ring_size);
	if (ret)
		goto out;
	ret = otel_ring_set_mode(cfg.mode);
	if (ret)
		goto out;
	ret = otel_sampler_set(cfg.sampler, cfg.ratio);
	if (ret)
		goto out;
	otel_ring_set_wakeup_bytes(cfg.wakeup_bytes);
	otel_kspan_set_begin_records(cfg.begin_records);
	if (cfg.enabled != otel_kspan_enabled())
		otel_kspan_set_enabled(cfg.enabled);
out:
	mutex_unlock(&otel_ring_mutex);
	return ret;
}

static int ioc_span_stats(void __user *arg)
{
	struct otel_span_stats st;

	otel_span_stats_get(&st);
	return copy_to_user(arg, &st, sizeof(st)) ? -EFAULT : 0;
}

/* The tightest of a few (mono, real, mono) samples. */
static int ioc_clock(void __user *arg)
{
	struct otel_clock clk = { .window_ns = U64_MAX };
	u64 m1, r, m2;
	int i;

	for (i = 0; i < 5; i++) {
		m1 = otel_clock_ns();
		r = ktime_get_real_ns();
		m2 = otel_clock_ns();
		if (m2 - m1 < clk.window_ns) {
			clk.window_ns = m2 - m1;
			clk.mono_ns = m1 + (m2 - m1) / 2;
			clk.real_ns = r;
		}
	}
	return copy_to_user(arg, &clk, sizeof(clk)) ? -EFAULT : 0;
}

/* CLEAR, SNAPSHOT, RESUME: argument-less operations on the rings. */
static int ioc_control(void (*op)(void))
{
	if (mutex_lock_interruptible(&otel_ring_mutex))
		return -ERESTARTSYS;
	op();
	mutex_unlock(&otel_ring_mutex);
	return 0;
}

static long otel_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long ret;

	switch (cmd) {
	case OTEL_IOC_INFO:
		return ioc_info(uarg);
	case OTEL_IOC_STATS:
		return ioc_stats(uarg);
	case OTEL_IOC_FLUSH:
		/* Every commit is already published: wake readers now. */
		wake_up_interruptible_all(&otel_ring_wq);
		return 0;
	case OTEL_IOC_GET_CONFIG:
		return ioc_get_config(uarg);
	case OTEL_IOC_SET_CONFIG:
		ret = ioc_set_config(uarg);
		otel_kspan_forget_comms();	/* rings may be new */
		return ret;
	case OTEL_IOC_CLEAR:
		ret = ioc_control(otel_ring_clear);
		otel_kspan_forget_comms();	/* the COMM records went too */
		return ret;
	case OTEL_IOC_CLOCK:
		return ioc_clock(uarg);
	case OTEL_IOC_SNAPSHOT:
		return ioc_control(otel_ring_snapshot);
	case OTEL_IOC_RESUME:
		return ioc_control(otel_ring_resume);
	case OTEL_IOC_SPAN_STATS:
		return ioc_span_stats(uarg);
	case OTEL_IOC_SET_TASK_CONTEXT:
	case OTEL_IOC_GET_TASK_CONTEXT:
		return otel_context_ioctl(cmd, uarg);
	case OTEL_IOC_GET_BRIDGE:
	case OTEL_IOC_SET_BRIDGE:
		return otel_bridge_ioctl(cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations otel_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= otel_dev_open,
	.read		= otel_dev_read,
	.poll		= otel_dev_poll,
	.mmap		= otel_dev_mmap,
	.unlocked_ioctl	= otel_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice otel_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= OTEL_DEVICE_NAME,
	.fops	= &otel_dev_fops,
	.mode	= 0600,
};

/**
 * otel_dev_init() - register /dev/oteltrace (after the rings exist)
 * Return: 0 or a negative errno.
 */
int otel_dev_init(void)
{
	if (group >= 0)
		otel_miscdev.mode = 0660;
	return misc_register(&otel_miscdev);
}

/**
 * otel_dev_exit() - unregister /dev/oteltrace
 */
void otel_dev_exit(void)
{
	misc_deregister(&otel_miscdev);
}
