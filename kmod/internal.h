/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between oteltrace.ko's files; nothing here is part of
 * the driver API (that is oteltrace.h) or of the ABI (uapi/oteltrace.h).
 */
#ifndef _OTELTRACE_INTERNAL_H
#define _OTELTRACE_INTERNAL_H

#include <linux/types.h>
#include "uapi/oteltrace.h"

#ifndef OTELTRACE_VERSION
#define OTELTRACE_VERSION "0.1.0"
#endif

/* dev.c: the /dev/oteltrace character device. */
int otel_dev_init(void);
void otel_dev_exit(void);

#endif /* _OTELTRACE_INTERNAL_H */
