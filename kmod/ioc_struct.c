// SPDX-License-Identifier: GPL-2.0
/*
 * Extensible ioctl structs: those of uapi/oteltrace.h that start with a
 * __u32 size may grow at their end (uapi/oteltrace.h, "Structs that start
 * with a size field"), the way sched_attr and clone_args do.
 */
#include <linux/mm.h>
#include <linux/minmax.h>
#include <linux/uaccess.h>

#include "internal.h"

/**
 * otel_ioc_struct_in() - read a struct whose first __u32 is its size
 * @dst:	the kernel's struct
 * @ksize:	sizeof(*@dst)
 * @ver0:	the smallest size ever published (*_SIZE_VER0)
 * @src:	the caller's struct
 *
 * Reads the caller's size from @src, then that many bytes: fields past
 * them are zeroed in @dst, bytes past @ksize must be zero.  @dst's size
 * field holds the caller's size afterwards: the one checked here, not the
 * copy of it read again with the struct, which another thread of the
 * caller may have changed in between.
 *
 * Return: 0, -EFAULT, -EINVAL (a size below @ver0) or -E2BIG (a size
 * above a page, or non-zero bytes past @ksize).
 */
int otel_ioc_struct_in(void *dst, size_t ksize, size_t ver0,
		       const void __user *src)
{
	u32 usize;
	int ret;

	if (get_user(usize, (const u32 __user *)src))
		return -EFAULT;
	if (usize < ver0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(dst, ksize, src, usize);
	if (ret)
		return ret;
	*(u32 *)dst = usize;	/* read once: the size checked above */
	return 0;
}

/**
 * otel_ioc_struct_out() - write a struct the caller may know smaller or larger
 * @dst:	the caller's struct
 * @usize:	its size (at least the struct's *_SIZE_VER0)
 * @src:	the kernel's struct, completely initialised
 * @ksize:	sizeof(*@src)
 *
 * Writes min(@usize, @ksize) bytes and zeroes the caller's bytes past
 * @ksize, so that fields this kernel does not know read as zero.
 *
 * Return: 0 or -EFAULT.
 */
int otel_ioc_struct_out(void __user *dst, size_t usize, const void *src,
			size_t ksize)
{
	if (copy_to_user(dst, src, min(usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(dst + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}
