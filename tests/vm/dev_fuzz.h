/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device fuzzer's ioctls (dev_fuzz_test.c): a seeded generator, the
 * run's shared state, ioctl numbers of oteltrace's magic and others, their
 * arguments (NULL, unmapped, kernel, non-canonical, read-only, running into
 * an inaccessible page, in pages another thread unmaps, buffers of zeros,
 * ones, random bytes, boundary values, valid structs with one field at a
 * boundary), the taming that keeps the static keys as they are, and the
 * sweep over every number, direction, size and kind of argument.
 */
#ifndef _OTEL_DEV_FUZZ_H
#define _OTEL_DEV_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "uapi/oteltrace.h"

#define DEV		"/dev/" OTEL_DEVICE_NAME
#define CTX		"/dev/" OTEL_CTX_DEVICE_NAME
#define BUF_BYTES	(32 << 10)	/* per worker, then a PROT_NONE page */
#define FLAP_PAGES	4

/* ---- the run: seed, time, what the device said at the start ---- */
static uint64_t seed;
static double seconds = 15;
static long page;
static struct otel_config cfg0;	/* its enabled, noop_spans are kept */
static char bridges[8][OTEL_BRIDGE_NAME_MAX];
static unsigned int nr_bridges;

/* memory the arguments point into */
static uint8_t *noaccess;	/* PROT_NONE: never mapped readable */
static uint8_t *rdonly;		/* a read-only page holding a valid config */
static uint8_t *flap;		/* pages a thread unmaps and maps again */

/* calls that broke a promise: counted by any thread, the first described */
static atomic_ulong violations;
static char first_violation[256];
static atomic_bool stopping;
/* what went through, for the log: the calls reached the code behind them */
static atomic_ulong nr_mapped, nr_config_set;

static void violation(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&violations, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(first_violation, sizeof(first_violation), fmt, ap);
	va_end(ap);
}

/* xorshift64*: small, seeded, the same choices for the same seed */
struct rnd {
	uint64_t s;
};

static uint64_t rnd(struct rnd *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ull;
}

static uint64_t below(struct rnd *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static void rnd_init(struct rnd *r, uint64_t salt)
{
	r->s = (seed ^ (salt * 0x9e3779b97f4a7c15ull)) | 1;
	rnd(r);
}

/* A system call's result: success or -1 with an errno. */
static void check_ret(long ret, const char *what, unsigned long cmd)
{
	int err = errno;

	if (ret >= 0 || (ret == -1 && err > 0 && err < 4096))
		return;
	violation("%s 0x%lx: returned %ld, errno %d", what, cmd, ret, err);
}

/* ---- ioctl numbers and their structs ---- */
static size_t struct_size(unsigned int nr)
{
	switch (nr) {
	case 0x00: return sizeof(struct otel_info);
	case 0x01: return sizeof(struct otel_stats_req);
	case 0x03: case 0x04: return sizeof(struct otel_config);
	case 0x06: return sizeof(struct otel_clock);
	case 0x09: case 0x0a: return sizeof(struct otel_context_req);
	case 0x0b: return sizeof(struct otel_span_stats);
	case 0x10: case 0x11: return sizeof(struct otel_bridge_req);
	default: return 64;
	}
}

static unsigned long make_cmd(unsigned int dir, unsigned int type,
			      unsigned int nr, size_t size)
{
	return _IOC(dir, type, nr, size & _IOC_SIZEMASK);
}

/*
 * Keep the static keys as they are (see the top): a SET_CONFIG (any
 * size: a kernel may take the struct's size from the number) keeps
 * enabled, a valid noop_spans and a size that covers enabled; a
 * SET_BRIDGE naming a real bridge asks for OFF.  @p has room for the
 * whole struct.
 */
static unsigned long tame(unsigned long cmd, uint8_t *p)
{
	unsigned int nr = _IOC_NR(cmd), i;
	uint32_t v;

	if (_IOC_TYPE(cmd) != OTEL_IOC_MAGIC)
		return cmd;
	if (nr == _IOC_NR(OTEL_IOC_SET_CONFIG)) {
		if (_IOC_SIZE(cmd) < 8)
			cmd = make_cmd(_IOC_DIR(cmd), OTEL_IOC_MAGIC, nr, 8);
		if (!p)
			return cmd;
		memcpy(&v, p, 4);
		if (v < 8) {
			v = sizeof(struct otel_config);
			memcpy(p, &v, 4);
		}
		memcpy(p + 4, &cfg0.enabled, 4);
		/* noop_spans flips a static key: keep it, but let bad values by */
		memcpy(&v, p + offsetof(struct otel_config, noop_spans), 4);
		if (v <= 1)
			memcpy(p + offsetof(struct otel_config, noop_spans),
			       &cfg0.noop_spans, 4);
	}
	if (nr == _IOC_NR(OTEL_IOC_SET_BRIDGE) && p) {
		struct otel_bridge_req *b = (void *)p;

		for (i = 0; i < nr_bridges; i++)
			if (!strncmp(b->name, bridges[i], sizeof(b->name)))
				b->mode = OTEL_BRIDGE_OFF;
	}
	return cmd;
}

/* Is @cmd one whose argument must stay tame (tame() must see it)? */
static bool needs_taming(unsigned long cmd)
{
	return _IOC_TYPE(cmd) == OTEL_IOC_MAGIC &&
	       (_IOC_NR(cmd) == _IOC_NR(OTEL_IOC_SET_CONFIG) ||
		_IOC_NR(cmd) == _IOC_NR(OTEL_IOC_SET_BRIDGE));
}

/* Magics the VFS acts on itself for any file (freeze, inode flags): never. */
static bool vfs_magic(unsigned int type)
{
	return type == 'X' || type == 'f' || type == 0x94;
}

static const uint32_t edge32[] = {
	0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 4096,
	16384, 65536, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	OTEL_RATIO_ONE, OTEL_RATIO_ONE + 1, OTEL_STATS_ALL_CPUS,
	sizeof(struct otel_config), sizeof(struct otel_bridge_req),
};

static void fill(struct rnd *r, uint8_t *p, size_t len)
{
	size_t i;

	switch (below(r, 5)) {
	case 0:
		memset(p, 0, len);
		break;
	case 1:
		memset(p, 0xff, len);
		break;
	case 2:
		for (i = 0; i < len; i++)
			p[i] = (uint8_t)rnd(r);
		break;
	default:	/* boundary values in every field */
		for (i = 0; i + 4 <= len; i += 4) {
			uint32_t v = edge32[below(r, sizeof(edge32) /
						  sizeof(edge32[0]))];

			memcpy(p + i, &v, 4);
		}
		break;
	}
}

/* A valid struct for @cmd's number, then one field at a boundary value. */
static void valid_struct(struct rnd *r, unsigned int nr, uint8_t *p)
{
	size_t size = struct_size(nr), off;
	uint64_t v64;

	memset(p, 0, size);
	switch (nr) {
	case 0x04:
		memcpy(p, &cfg0, sizeof(cfg0));
		break;
	case 0x09: {
		struct otel_context_req *c = (void *)p;

		c->trace_id[0] = 1 + below(r, 255);
		c->span_id[7] = 1 + below(r, 255);
		c->trace_flags = below(r, 2);
		break;
	}
	case 0x10:
	case 0x11: {
		struct otel_bridge_req *b = (void *)p;

		b->size = sizeof(*b);
		b->index = below(r, 4);
		if (nr_bridges && below(r, 2))
			memcpy(b->name, bridges[below(r, nr_bridges)],
			       sizeof(b->name));
		else
			strcpy(b->name, "nosuch");
		break;
	}
	case 0x01:
		((struct otel_stats_req *)p)->cpu =
			below(r, 2) ? OTEL_STATS_ALL_CPUS : below(r, 4);
		break;
	default:
		memcpy(p, &size, 4);	/* most start with their size */
		break;
	}
	if (below(r, 4) == 0)
		return;
	off = below(r, size / 4) * 4;
	if (nr == 0x04 && off == 24 && below(r, 2)) {
		/* ring_size, a u64: powers of two, odd and huge sizes */
		static const uint64_t sizes[] = {
			0, 1, 4096, 16 << 10, 32 << 10, 64 << 10, 256 << 10,
			1 << 20, 3 << 14, 128ull << 20, ~0ull,
		};

		v64 = sizes[below(r, sizeof(sizes) / sizeof(sizes[0]))];
		memcpy(p + off, &v64, 8);
		return;
	}
	memcpy(p + off, &edge32[below(r, sizeof(edge32) / sizeof(edge32[0]))],
	       4);
}

enum arg_kind {
	ARG_NULL, ARG_NOACCESS, ARG_KERNEL, ARG_NONCANONICAL, ARG_RDONLY,
	ARG_EDGE, ARG_BUF, ARG_VALID, ARG_FLAP, NR_ARG_KINDS
};

/*
 * The argument of @*cmd, of @kind, in @buf (BUF_BYTES, then a PROT_NONE
 * page); @cmd may be tamed.
 */
static void *make_arg(struct rnd *r, enum arg_kind kind, unsigned long *cmd,
		      uint8_t *buf)
{
	size_t size = _IOC_SIZE(*cmd), room = struct_size(_IOC_NR(*cmd));
	uint8_t *p;

	if (room < size)
		room = size;
	switch (kind) {
	case ARG_NULL:
		*cmd = tame(*cmd, NULL);
		return NULL;
	case ARG_NOACCESS:
		return noaccess + below(r, page);
	case ARG_KERNEL:
		return (void *)(below(r, 2) ? 0xffff888000000000ull :
				0xffffffff81000000ull);
	case ARG_NONCANONICAL:
		return (void *)(0x8000000000000000ull + below(r, 4096));
	case ARG_RDONLY:
		*cmd = tame(*cmd, NULL);	/* it holds cfg0 */
		return rdonly;
	case ARG_EDGE:	/* the struct runs into the PROT_NONE page */
		if (needs_taming(*cmd))
			break;		/* no room to tame it there */
		p = buf + BUF_BYTES - (size ? 1 + below(r, size) : 1);
		return p;
	case ARG_FLAP:
		if (needs_taming(*cmd))
			break;
		return flap + below(r, FLAP_PAGES * page - 64);
	case ARG_VALID:
		valid_struct(r, _IOC_NR(*cmd), buf);
		*cmd = tame(*cmd, buf);
		return buf;
	default:
		break;
	}
	if (room > BUF_BYTES)
		room = BUF_BYTES;
	fill(r, buf, room);
	*cmd = tame(*cmd, buf);
	return buf;
}


/* A random ioctl: mostly oteltrace's magic, often a number it knows. */
static void random_ioctl(struct rnd *r, int fd, uint8_t *buf)
{
	static const unsigned long known[] = {
		OTEL_IOC_INFO, OTEL_IOC_STATS, OTEL_IOC_FLUSH,
		OTEL_IOC_GET_CONFIG, OTEL_IOC_SET_CONFIG, OTEL_IOC_CLEAR,
		OTEL_IOC_CLOCK, OTEL_IOC_SNAPSHOT, OTEL_IOC_RESUME,
		OTEL_IOC_SET_TASK_CONTEXT, OTEL_IOC_GET_TASK_CONTEXT,
		OTEL_IOC_SPAN_STATS, OTEL_IOC_GET_BRIDGE, OTEL_IOC_SET_BRIDGE,
	};
	unsigned int nr, type;
	enum arg_kind kind;
	unsigned long cmd;
	size_t sizes[8];
	void *arg;

	switch (below(r, 4)) {
	case 0:
	case 1:
		cmd = known[below(r, sizeof(known) / sizeof(known[0]))];
		break;
	case 2:
		nr = below(r, 8) ? below(r, 0x21) : below(r, 256);
		sizes[0] = 0;
		sizes[1] = 1;
		sizes[2] = struct_size(nr) - 1;
		sizes[3] = struct_size(nr);
		sizes[4] = struct_size(nr) + 1;
		sizes[5] = 4096;
		sizes[6] = 16383;
		sizes[7] = below(r, 16384);
		cmd = make_cmd(below(r, 4), OTEL_IOC_MAGIC, nr,
			       sizes[below(r, 8)]);
		break;
	default:
		do
			type = below(r, 256);
		while (type == OTEL_IOC_MAGIC || vfs_magic(type));
		cmd = make_cmd(below(r, 4), type, below(r, 256),
			       below(r, 2) ? below(r, 256) : below(r, 16384));
		break;
	}
	switch (below(r, 4)) {
	case 0:
	case 1:
		kind = ARG_VALID;
		break;
	case 2:
		kind = ARG_BUF;
		break;
	default:
		kind = below(r, NR_ARG_KINDS);
		break;
	}
	arg = make_arg(r, kind, &cmd, buf);
	check_ret(ioctl(fd, cmd, arg), "ioctl", cmd);
}

/* ---- the sweep: every number, direction, size and kind of argument ---- */
static void sweep_fd(struct rnd *r, int fd, uint8_t *buf)
{
	enum arg_kind kind;
	unsigned long cmd;
	unsigned int nr, dir, k, i;
	size_t s, sizes[7];
	void *arg;

	for (nr = 0; nr <= 0x20; nr++) {
		s = struct_size(nr);
		sizes[0] = 0;
		sizes[1] = 1;
		sizes[2] = s - 1;
		sizes[3] = s;
		sizes[4] = s + 1;
		sizes[5] = 4096;
		sizes[6] = 16383;
		for (dir = 0; dir < 4; dir++)
			for (k = 0; k < 7; k++)
				for (kind = 0; kind < NR_ARG_KINDS; kind++) {
					cmd = make_cmd(dir, OTEL_IOC_MAGIC, nr,
						       sizes[k]);
					arg = make_arg(r, kind, &cmd, buf);
					check_ret(ioctl(fd, cmd, arg), "ioctl",
						  cmd);
				}
	}
	/* each field of each known struct at its boundary values */
	for (nr = 0; nr <= 0x11; nr++)
		for (i = 0; i < 64; i++) {
			cmd = make_cmd(nr == 0x04 || nr == 0x09 || nr == 0x11 ?
				       _IOC_WRITE : _IOC_READ | _IOC_WRITE,
				       OTEL_IOC_MAGIC, nr, struct_size(nr));
			arg = make_arg(r, ARG_VALID, &cmd, buf);
			check_ret(ioctl(fd, cmd, arg), "ioctl", cmd);
		}
	/* other magics */
	for (i = 0; i < 512; i++) {
		unsigned int type;

		do
			type = below(r, 256);
		while (type == OTEL_IOC_MAGIC || vfs_magic(type));
		cmd = make_cmd(below(r, 4), type, below(r, 256),
			       below(r, 2) ? below(r, 256) : below(r, 16384));
		arg = make_arg(r, below(r, NR_ARG_KINDS), &cmd, buf);
		check_ret(ioctl(fd, cmd, arg), "ioctl", cmd);
	}
}

/* The sweep on both devices, then the config of the start back. */
static void sweep(struct rnd *r, uint8_t *buf)
{
	const char *const paths[] = { DEV, CTX };
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++) {
		fd = open(paths[i], O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			violation("open %s: %s", paths[i], strerror(errno));
			continue;
		}
		sweep_fd(r, fd, buf);
		close(fd);
	}
}

#endif /* _OTEL_DEV_FUZZ_H */
