// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: the BPF span tracer's loader.  Loads build/bench/bpf_span.bpf.o
 * (bench/bpf/bpf_span.bpf.c, built next to kbench), attaches its two
 * programs to otel_bench's begin and end tracepoints as raw tracepoints,
 * and drains its BPF ring buffer between the benchmark's batches, as
 * ebpf_exporter's user space would (there continuously; here between timed
 * batches, so reading costs no batch anything, as the oteltrace rings are
 * cleared, not read, between batches).  Every record is checked.
 *
 * Built only where libbpf is (bench/Makefile); elsewhere kb_bpf_open()
 * says why not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kbench.h"

#ifndef KB_NO_BPF

#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench/bpf/bpf_span.h"

#define KB_BPF_OBJECT	"bpf_span.bpf.o"

static struct {
	struct bpf_object	*obj;
	struct bpf_link		*link[2];
	struct ring_buffer	*rb;
	int			counters;	/* map fd */
	uint64_t		records;	/* read and well formed */
	uint64_t		bad;		/* read and malformed */
} kb_bpf;

/* libbpf's last warning, for the reason a load or attach failed. */
static char libbpf_msg[200];

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(libbpf_msg, sizeof(libbpf_msg), fmt, ap);
	n = strlen(libbpf_msg);
	while (n && (libbpf_msg[n - 1] == '\n' || libbpf_msg[n - 1] == ' '))
		libbpf_msg[--n] = '\0';
	return 0;
}

static int fail(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s: %s%s%s", what, strerror(e),
		 libbpf_msg[0] ? "; libbpf: " : "", libbpf_msg);
	kb_bpf_close();
	return -e;
}

/* One span record: check it is the span the bench case made. */
static int on_record(void *ctx, void *data, size_t size)
{
	const struct bpf_span_record *r = data;

	(void)ctx;
	if (size < sizeof(*r) || r->a != -r->b || r->end_ns < r->start_ns ||
	    !r->start_ns || !(r->trace_id[0] | r->trace_id[1]) ||
	    !r->span_id || r->parent_span_id ||
	    memcmp(r->name, BPF_SPAN_NAME, sizeof(BPF_SPAN_NAME)))
		kb_bpf.bad++;
	else
		kb_bpf.records++;
	return 0;
}

int kb_bpf_open(char *err, size_t errlen)
{
	static const char *const progs[2] = { "span_begin", "span_end" };
	const struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	char self[PATH_MAX], path[PATH_MAX + 32];
	struct bpf_program *prog;
	int i, fd;
	ssize_t n;

	memset(&kb_bpf, 0, sizeof(kb_bpf));
	kb_bpf.counters = -1;
	libbpf_msg[0] = '\0';
	libbpf_set_print(libbpf_print);
	/* Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. */
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return fail(err, errlen, "readlink /proc/self/exe", errno);
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/" KB_BPF_OBJECT, dirname(self));
	if (access(path, R_OK))
		return fail(err, errlen, path, errno);
	kb_bpf.obj = bpf_object__open_file(path, NULL);
	if (!kb_bpf.obj)
		return fail(err, errlen, "bpf_object__open_file", errno);
	if (bpf_object__load(kb_bpf.obj))
		return fail(err, errlen, "loading " KB_BPF_OBJECT, errno);
	for (i = 0; i < 2; i++) {
		prog = bpf_object__find_program_by_name(kb_bpf.obj, progs[i]);
		if (!prog)
			return fail(err, errlen, progs[i], ENOENT);
		kb_bpf.link[i] = bpf_program__attach(prog);
		if (!kb_bpf.link[i]) {
			char what[96];

			snprintf(what, sizeof(what), "attaching %s to %s",
				 progs[i], bpf_program__section_name(prog));
			return fail(err, errlen, what, errno);
		}
	}
	kb_bpf.counters = bpf_object__find_map_fd_by_name(kb_bpf.obj,
							  "counters");
	fd = bpf_object__find_map_fd_by_name(kb_bpf.obj, "spans");
	if (kb_bpf.counters < 0 || fd < 0)
		return fail(err, errlen, "maps 'spans' and 'counters'", ENOENT);
	kb_bpf.rb = ring_buffer__new(fd, on_record, NULL, NULL);
	if (!kb_bpf.rb)
		return fail(err, errlen, "ring_buffer__new", errno);
	return 0;
}

int kb_bpf_drain(uint64_t *records, uint64_t *lost, uint64_t *bad)
{
	uint64_t v;
	uint32_t k;
	int ret;

	if (!kb_bpf.rb)
		return -ENODEV;
	ret = ring_buffer__consume(kb_bpf.rb);
	if (ret < 0)
		return ret;
	*lost = 0;
	for (k = 0; k < BPF_SPAN_NR_COUNTERS; k++) {
		if (bpf_map_lookup_elem(kb_bpf.counters, &k, &v))
			return -errno;
		*lost += v;
	}
	*records = kb_bpf.records;
	*bad = kb_bpf.bad;
	return 0;
}

unsigned int kb_bpf_record_size(void)
{
	return sizeof(struct bpf_span_record);
}

/* net.core.bpf_jit_enable: 0 interpreter, 1 JIT, 2 JIT with dumps; -1. */
int kb_bpf_jit(void)
{
	FILE *f = fopen("/proc/sys/net/core/bpf_jit_enable", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

void kb_bpf_close(void)
{
	int i;

	ring_buffer__free(kb_bpf.rb);
	for (i = 0; i < 2; i++)
		bpf_link__destroy(kb_bpf.link[i]);
	bpf_object__close(kb_bpf.obj);
	memset(&kb_bpf, 0, sizeof(kb_bpf));
}

#else /* KB_NO_BPF: bench/Makefile found no libbpf or no clang */

int kb_bpf_open(char *err, size_t errlen)
{
	snprintf(err, errlen, "kbench was built without BPF: %s", KB_NO_BPF);
	return -ENOSYS;
}

int kb_bpf_drain(uint64_t *records, uint64_t *lost, uint64_t *bad)
{
	*records = *lost = *bad = 0;
	return -ENOSYS;
}

unsigned int kb_bpf_record_size(void)
{
	return 0;
}

int kb_bpf_jit(void)
{
	return -1;
}

void kb_bpf_close(void)
{
}

#endif /* KB_NO_BPF */
