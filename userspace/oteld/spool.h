/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --queue-dir: the export queue on disk, as the OpenTelemetry Collector's
 * persistent sending queue keeps it.  One file per encoded export request,
 * written under a temporary name, made durable (--queue-sync) and renamed
 * into place; sent oldest first; removed once the collector took it (or
 * refused it for good, counted); found again by the next oteld.
 *
 * spool.c is the directory (lock, files, bounds, the index of the files
 * waiting); spool_export.c the threads that fill and empty it.
 */
#ifndef OTELD_SPOOL_H
#define OTELD_SPOOL_H

#include <sys/uio.h>

#include "oteld.h"

#define SPOOL_MAGIC	"OTELSPQ"	/* 8 bytes with its NUL */
#define SPOOL_VERSION	1
/* Sizes are counted as a file system allocates them: whole 4 KiB blocks. */
#define SPOOL_BLOCK	4096u
/* No request body is larger (--max-request-bytes is at most 64 MiB). */
#define SPOOL_MAX_BODY	(64ull << 20)

/* What a file's body is: the request as the exporter sends it (no gzip). */
enum spool_encoding {
	SPOOL_PROTOBUF = 1,	/* OTLP/HTTP protobuf and OTLP/gRPC */
	SPOOL_JSON = 2,		/* OTLP/HTTP JSON */
};

/*
 * The first bytes of every file, in the writer's byte order (as capture
 * files); then body_len bytes of body.  A file is whole when its size is
 * header_len + body_len and both CRCs (zlib crc32) match.
 */
struct spool_header {
	char magic[8];		/* SPOOL_MAGIC */
	uint32_t version;	/* SPOOL_VERSION */
	uint32_t header_len;	/* sizeof(struct spool_header) */
	uint64_t seq;		/* also in the file's name */
	uint64_t body_len;
	uint32_t encoding;	/* enum spool_encoding */
	uint32_t nr_spans;
	uint32_t body_crc;
	uint32_t header_crc;	/* of the bytes before this field */
};

/* A file taken for sending (spool_take()). */
struct spool_item {
	uint64_t seq;
	uint32_t nr_spans;
	enum spool_encoding encoding;
	struct buf body;	/* kept by the caller from one item to the next */
};

struct spool;

/*
 * Open (create if missing, mode 0700) and lock @dir; a directory another
 * process holds is refused.  Files left by an earlier run are checked and
 * queued first, oldest first (counted spool_loaded); cut or corrupt ones
 * and temporary files of an interrupted write are removed, counted
 * spool_corrupt, and logged.  @max_bytes bounds the files kept; @sync:
 * fsync each file before it is renamed into place, and the directory
 * after.  NULL with @why on failure.
 */
struct spool *spool_open(const char *dir, uint64_t max_bytes, bool sync,
			 char *why, size_t whylen);
/* Unlock and free; the files stay.  Counts what stays in spool_left. */
void spool_close(struct spool *s);

/*
 * Write one request: 0, or -1 when it was not kept (the bound, a full
 * disk, a write error): its spans are counted dropped_spool_full, and the
 * first refusal of a series is logged with the reason.
 */
int spool_put(struct spool *s, enum spool_encoding enc, uint32_t nr_spans,
	      const void *body, size_t len);
/*
 * The oldest file nobody else holds, read and checked into @it: 1; 0 once
 * spool_stop() was called, or spool_seal() and nothing is left.  Waits
 * for a file meanwhile.  A file found corrupt is removed (spool_corrupt).
 */
int spool_take(struct spool *s, struct spool_item *it);
/* @it was delivered, or refused for good (counted by the caller): removed. */
void spool_done(struct spool *s, const struct spool_item *it);
/* @it was not delivered: it stays, first in line (for this run or the next). */
void spool_keep(struct spool *s, const struct spool_item *it);

/* No more spool_put(): spool_take() returns 0 once the queue is empty. */
void spool_seal(struct spool *s);
/* Stopping: spool_sleep() returns false at once, now and from now on. */
void spool_interrupt(struct spool *s);
bool spool_stopping(struct spool *s);
/* spool_take() returns 0 from now on. */
void spool_stop(struct spool *s);
/* Sleep @ms unless interrupted first: true when the time passed. */
bool spool_sleep(struct spool *s, uint64_t ms);

/* Files and spans waiting, bytes held (whole blocks). */
size_t spool_files(struct spool *s);
uint64_t spool_spans(struct spool *s);
uint64_t spool_bytes(struct spool *s);

/*
 * Before dropping privileges (--user): create @dir if missing and, when
 * oteld runs as root and @dir is root's, give it to @user, whose oteld
 * writes it.  0, or -1 with @why.
 */
int spool_dir_prepare(const char *dir, const char *user, char *why,
		      size_t whylen);

/*
 * Tests only: the writev() of spool_put() (a failure it returns, with
 * errno set, is what a full disk does).
 */
extern ssize_t (*spool_writev)(int fd, const struct iovec *iov, int iovcnt);

#endif
