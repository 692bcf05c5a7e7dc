// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/oteltrace: the character device through which user space reads the
 * rings (mmap, read, poll) and configures the tracer (ioctls, in
 * dev_ioctl.c).  Nothing copied out holds a kernel pointer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>

#include "compat.h"
#include "internal.h"
#include "ring.h"

static int group = -1;
module_param(group, int, 0444);
MODULE_PARM_DESC(group,
		 "gid whose members may open /dev/oteltrace (device mode 0660); -1: root only (default)");

/* Next CPU read() starts with, so that no ring starves the others. */
static unsigned int otel_read_next;

/*
 * Readers: CAP_PERFMON, CAP_SYS_ADMIN or the group (the control ioctls
 * check the opener's capabilities again, dev_ioctl.c).  A new reader has
 * seen no COMM record yet: every CPU names its tasks again (kspan.c).
 */
static int otel_dev_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_PERFMON) && !capable(CAP_SYS_ADMIN) &&
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
 * next record does not fit in an empty buffer; -EFAULT: the next record's
 * *@fault bytes at @buf + *@done are not writable without a page fault).
 *
 * The copy takes no page fault: we hold otel_ring_mutex, and a fault can
 * wait as long as user space likes (userfaultfd, a FUSE-backed mapping),
 * which would stop every other reader and the control ioctls meanwhile.
 */
static int dev_read_ring(struct otel_ring *ring, char __user *buf,
			 size_t len, size_t *done, size_t *fault)
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
		if (copy_to_user_nofault(buf + *done, rec, sz)) {
			*fault = sz;
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

static ssize_t dev_read_rings(char __user *buf, size_t len, size_t *fault)
{
	unsigned int i, cpu = otel_read_next;
	size_t done = 0;
	int ret = 0;

	for (i = 0; i < nr_cpu_ids && !ret; i++, cpu = (cpu + 1) % nr_cpu_ids) {
		if (!cpu_possible(cpu))
			continue;
		ret = dev_read_ring(otel_rings[cpu], buf, len, &done, fault);
	}
	otel_read_next = cpu;
	if (ret < 0 && !done)
		return ret;
	return done;
}

/*
 * read(): whole records from every ring, never a partial one.  A buffer that
 * needs a page fault for the first record is faulted in without the mutex,
 * then the read starts again; one that cannot be is -EFAULT.
 */
static ssize_t otel_dev_read(struct file *file, char __user *buf,
			     size_t len, loff_t *ppos)
{
	size_t fault;
	ssize_t ret;

	if (!len)
		return 0;
	/*
	 * Fault the buffer in first, without the mutex, as far as the rings
	 * could fill it: the copy under the mutex never faults, so a page not
	 * yet touched would otherwise cut the read short.
	 */
	fault_in_writeable(buf, min_t(u64, len,
				      (u64)num_possible_cpus() * otel_ring_size()));
	for (;;) {
		if (mutex_lock_interruptible(&otel_ring_mutex))
			return -ERESTARTSYS;
		fault = 0;
		ret = dev_read_rings(buf, len, &fault);
		mutex_unlock(&otel_ring_mutex);
		if (ret == -EFAULT && fault) {
			if (fault_in_writeable(buf, fault))
				return -EFAULT;
			if (fatal_signal_pending(current))
				return -EINTR;
			continue;
		}
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

/* The last reference to an open file is gone: its snapshot ends. */
static int otel_dev_release(struct inode *inode, struct file *file)
{
	otel_dev_snapshot_release(file);
	return 0;
}

static const struct file_operations otel_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= otel_dev_open,
	.release	= otel_dev_release,
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
