/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between oteltrace.ko's files; nothing here is part of
 * the driver API (that is oteltrace.h) or of the ABI (uapi/oteltrace.h).
 */
#ifndef _OTELTRACE_INTERNAL_H
#define _OTELTRACE_INTERNAL_H

#include <linux/compiler.h>
#include <linux/jump_label.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include "oteltrace.h"
#include "uapi/oteltrace.h"
#include "version.h"

/*
 * @cond, several tests combined with & and |, as one value tested by one
 * branch: the compiler would otherwise split it into a branch per test.
 * Under QEMU's TCG every branch ends a translation block, and the blocks,
 * more than the instructions in them, are what a span costs there
 * (docs/benchmarks.md); on hardware it saves mispredictions.
 */
#define otel_all_in_one(cond)						\
	({								\
		bool __otel_c = (cond);					\
									\
		OPTIMIZER_HIDE_VAR(__otel_c);				\
		__otel_c;						\
	})

/* abi_check.c: build-time checks of uapi/oteltrace.h's layout. */
void otel_abi_check(void);

/* dev.c: the /dev/oteltrace character device. */
int otel_dev_init(void);
void otel_dev_exit(void);

/*
 * dev_ioctl.c: the ioctls of /dev/oteltrace (who may call which, the
 * snapshot's owner), and the end of a released file's snapshot.
 */
struct file;
long otel_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
void otel_dev_snapshot_release(struct file *file);

/*
 * ioc_struct.c: ioctl structs that start with their size and may grow
 * (uapi/oteltrace.h, "Structs that start with a size field").
 */
int otel_ioc_struct_in(void *dst, size_t ksize, size_t ver0,
		       const void __user *src);
int otel_ioc_struct_out(void __user *dst, size_t usize, const void *src,
			size_t ksize);

/*
 * Span API (kspan.c, ids.c, sampler.c, context.c, trace.c).  The driver
 * API itself is in oteltrace.h.
 */
struct otel_kspan;

/* kspan.c: bring the span API up/down (main.c); enable = static key. */
int otel_kspan_init(void);
void otel_kspan_exit(void);
void otel_kspan_set_enabled(bool on);
bool otel_kspan_enabled(void);
void otel_kspan_set_begin_records(bool on);
bool otel_kspan_begin_records(void);

/*
 * context.c: each context's chain of current spans (struct otel_ctx_stack)
 * and the per-task remote context.  otel_context_ioctl() serves
 * OTEL_IOC_SET/GET_TASK_CONTEXT for dev.c.
 */
#define OTEL_CTX_DEPTH		8	/* current spans nested in one context */

/**
 * struct otel_ctx_entry - one span in a chain of current spans
 * @span:	the handle's address: identity only, never dereferenced
 * @gen:	even while live; odd once ended from another context
 * @ctx:	the span's ids and trace flags (copied: children read this,
 *		laid out as a remote context so a begin reads either alike)
 */
struct otel_ctx_entry {
	const struct otel_kspan		*span;
	u32				gen;
	struct otel_span_context	ctx;
};

/**
 * struct otel_ctx_stack - a context's chain of current spans
 * @depth:	entries in use
 * @gen:	generation of the last push
 * @e:		entries, outermost first
 */
struct otel_ctx_stack {
	u32			depth;
	u32			gen;
	struct otel_ctx_entry	e[OTEL_CTX_DEPTH];
};

int otel_context_init(void);
void otel_context_exit(void);
long otel_context_ioctl(unsigned int cmd, void __user *arg);
void otel_context_stats(struct otel_span_stats *out);
/* The hot path (stack, top, push, pop) is inline in context.h. */

/*
 * remote.c: /dev/oteltrace-ctx, the context ioctls for any user, and the
 * per-user limit of remote contexts that context.c charges.
 */
int otel_remote_init(unsigned int slots);
void otel_remote_exit(void);
int otel_remote_charge(kuid_t uid);
void otel_remote_uncharge(kuid_t uid);
void otel_remote_stats(struct otel_span_stats *out);
int otel_ctx_dev_init(void);
void otel_ctx_dev_exit(void);

/* kspan.c: is this handle one oteltrace began (cookie matches)? */
bool otel_kspan_valid(const struct otel_kspan *span);
bool otel_kspan_abandon(struct otel_kspan *span);
/* kspan.c: forget which tasks were named in COMM records (a new reader). */
void otel_kspan_forget_comms(void);

/* noop.c: no-op spans (opt-in), switched with the sampler. */
void otel_noop_set_drop_all(bool on);
void otel_noop_set_wanted(bool on);
bool otel_noop_wanted_get(void);

/*
 * span_stats.c: counted misuse of the span API, each kind reported once in
 * the kernel log; OTEL_IOC_SPAN_STATS.
 */
enum otel_misuse {
	OTEL_MISUSE_BEGIN_ACTIVE,
	OTEL_MISUSE_END_TWICE,
	OTEL_MISUSE_END_FOREIGN,
	OTEL_MISUSE_STALE_CURRENT,
	OTEL_MISUSE_MISNESTED,
	OTEL_MISUSE_BAD_HANDLE,
	OTEL_MISUSE_CONTEXT_FULL,
	OTEL_MISUSE_DEPTH_FULL,
	OTEL_MISUSE_NR,
};

void otel_misuse(enum otel_misuse what, const struct otel_kspan *span);
void otel_span_stats_get(struct otel_span_stats *out);

/*
 * debug_open.c: the debug_open_spans module parameter (off by default):
 * report a current span still open when its task returns to user space or
 * exits.  While it is on, otel_context_push() notes each span made current
 * in a task chain (otel_debug_open_note()) and the task exit probe reports
 * (otel_debug_open_task_exit()).
 */
DECLARE_STATIC_KEY_FALSE(otel_debug_open_key);
int otel_debug_open_init(void);
void otel_debug_open_exit(void);
void otel_debug_open_note(const struct otel_kspan *span, u32 idx, u32 depth,
			  u32 gen);
void otel_debug_open_task_exit(int idx);
void otel_span_stats_exit(void);

#endif /* _OTELTRACE_INTERNAL_H */
