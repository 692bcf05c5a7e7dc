/* SPDX-License-Identifier: GPL-2.0 */
/* The exporter threads with --queue-dir (spool_export.c). */
#ifndef OTELD_SPOOL_EXPORT_H
#define OTELD_SPOOL_EXPORT_H

#include "oteld.h"

struct spool_exporter;

/*
 * Open c->queue_dir (spool.c; a failure is logged), start two writers and
 * c->exporters senders; NULL on failure, with *dir_failed set when the
 * directory was the cause (not usable, or another oteld's).
 */
struct spool_exporter *spool_exporter_start(const struct config *c,
					    const struct resource *r,
					    struct queue *q,
					    bool *dir_failed);
/*
 * Close the queue: what it holds is written to the queue dir; the senders
 * send while they can, up to the export timeout; the rest stays there.
 */
void spool_exporter_stop(struct spool_exporter *x);

#endif
