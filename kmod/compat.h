/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel interfaces oteltrace uses that changed between the kernels it
 * builds against (docs/testing.md has the matrix: Debian 12's 6.1 and
 * bookworm-backports' 6.12).  Every version test lives here, the rest of
 * the module uses the newest spelling; scripts/lint lets this file, and only
 * this one, test LINUX_VERSION_CODE.
 */
#ifndef _OTELTRACE_COMPAT_H
#define _OTELTRACE_COMPAT_H

#include <linux/mm.h>
#include <linux/timer.h>
#include <linux/version.h>

/* 6.12 moved <asm/unaligned.h> to <linux/unaligned.h>. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* 6.3 made vma->vm_flags read-only behind these helpers. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* 6.2 renamed del_timer_sync(); the old name is gone since 6.15. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define timer_delete_sync(t)	del_timer_sync(t)
#endif

/*
 * 6.10 dropped __assign_str()'s source argument (__string() and
 * __string_len() carry it) and with it __assign_str_len().
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define otel_assign_str_len(dst, src, len)	__assign_str(dst)
#else
#define otel_assign_str_len(dst, src, len)	__assign_str_len(dst, src, len)
#endif

#endif /* _OTELTRACE_COMPAT_H */
