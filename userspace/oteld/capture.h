/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capture files (--capture, --input): the raw records oteld read, so a run
 * can be replayed exactly on any machine.  Layout (little endian, the byte
 * order of the machine that wrote it; docs/oteld.md):
 *
 *   struct capture_header
 *   frames: struct capture_frame, then len bytes, then zero padding to 8
 */
#ifndef OTELD_CAPTURE_H
#define OTELD_CAPTURE_H

#include "oteld.h"

#define CAPTURE_MAGIC	"OTELCAP"	/* 8 bytes with its NUL */
#define CAPTURE_VERSION	1
#define CAPTURE_MAX_FRAME (16u << 20)

struct capture_header {
	char magic[8];
	uint32_t version;	/* CAPTURE_VERSION */
	uint32_t abi_version;	/* OTEL_ABI_VERSION of the records */
	uint64_t mono_ns;	/* clock anchor at the start */
	uint64_t real_ns;
	uint32_t nr_cpus;
	uint32_t flags;		/* CAPTURE_F_* */
	uint32_t reserved[2];
};

/* PASS frames mark the end of every pass, from the first one on. */
#define CAPTURE_F_PASSES	0x1u

enum capture_frame_type {
	CAPTURE_RECORDS = 1,	/* whole records, as read from one ring */
	CAPTURE_ANCHOR = 2,	/* struct anchor: a new clock anchor */
	CAPTURE_KSTATS = 3,	/* struct otel_cpu_stats, all CPUs summed */
	CAPTURE_PASS = 4,	/* empty: a pass over every ring ended */
};

struct capture_frame {
	uint32_t type;
	uint32_t len;
};

struct capture;

struct capture *capture_create(const char *path, const struct anchor *a,
			       uint32_t nr_cpus, uint32_t flags);
int capture_write(struct capture *c, uint32_t type, const void *p,
		  size_t len);
/* Returns 0, or -1 if anything written was lost. */
int capture_close(struct capture *c);

struct capture *capture_open(const char *path, struct anchor *a);
/* The header's CAPTURE_F_* of a capture opened for reading. */
uint32_t capture_flags(const struct capture *c);
/*
 * 1: a frame in @out (type in *type), 0: end of file, -1: bad file or cut
 * short where nothing of a frame can be kept, CAPTURE_CUT: the last frame,
 * cut short, its bytes there are in @out.  Where a file is bad or cut is
 * logged.
 */
#define CAPTURE_CUT	2
int capture_next(struct capture *c, uint32_t *type, struct buf *out);

#endif
