// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing of the kernel's own reaches user space: every ioctl's output,
 * written over a 0xa5 pattern, holds no kernel-pointer-like word (top
 * byte 0xff: 0xffff8... and 0xffffffff8... with 4-level page tables, and
 * 0xff1... to 0xfffe... with 5-level ones, which QEMU's CPU has), its
 * reserved fields
 * and the bytes after a NUL-terminated name are zero; every record of
 * every type (spans with attributes, events, links, status, SPAN_BEGIN,
 * COMM after a rename to a shorter name, interrupt and NMI contexts) has
 * its reserved fields and padding zero (records.h) and no kernel-pointer-
 * like word outside the ids, times and attribute values the test chose;
 * the producer pages are zero past their struct.
 */
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define A5	0xa5

/*
 * A word only a kernel address has: x86-64's upper half, whether 48 bits
 * (0xffff8...) or 57 (0xff...) are canonical.
 */
static int kernel_pointer_like(uint64_t w)
{
	return (w >> 56) == 0xff;
}

/*
 * The first 8-byte word at a 4-byte offset of @p (n bytes) that looks like
 * one (structs mix __u32 and __u64 fields), or -1.
 */
static long find_pointer(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 4) {
		memcpy(&w, b + i, 8);
		if (kernel_pointer_like(w))
			return i;
	}
	return -1;
}

static int zero(const void *p, size_t n)
{
	return rec_is_zero(p, n);
}

#define EXPECT_NO_POINTER(buf)						\
	EXPECT_EQ(-1, find_pointer(&(buf), sizeof(buf)))		\
		TH_LOG(#buf ": a kernel-pointer-like word at byte %ld",	\
		       find_pointer(&(buf), sizeof(buf)))

FIXTURE(scan) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(scan)
{
	rec_db_init(&self->db);
	self->fd = span_load("begin_records=1", SPANTEST_KO);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(scan)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* Every ioctl that writes to user space, over 0xa5, after some activity. */
TEST_F(scan, ioctl_outputs)
{
	struct otel_context_req ctx;
	struct otel_bridge_req br;
	struct otel_stats_req st;
	struct otel_span_stats ss;
	struct otel_config cfg;
	struct otel_clock clk;
	struct otel_info info;
	unsigned int i, cpu;
	size_t len;

	ASSERT_EQ(0, span_cmd("attrs"));
	ASSERT_EQ(0, span_cmd("roots 20"));

	memset(&info, A5, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &info));
	EXPECT_NO_POINTER(info);
	EXPECT_TRUE(zero(info.reserved, sizeof(info.reserved)));

	for (cpu = 0; cpu <= info.nr_cpus; cpu++) {
		memset(&st, A5, sizeof(st));
		st.cpu = cpu < info.nr_cpus ? cpu : OTEL_STATS_ALL_CPUS;
		st.reserved = 0;
		ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_STATS, &st));
		EXPECT_NO_POINTER(st);
		EXPECT_TRUE(zero(st.stats.reserved, sizeof(st.stats.reserved)))
			TH_LOG("cpu %u", cpu);
	}

	memset(&cfg, A5, sizeof(cfg));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_NO_POINTER(cfg);
	EXPECT_TRUE(zero(cfg.reserved, sizeof(cfg.reserved)));

	memset(&clk, A5, sizeof(clk));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_CLOCK, &clk));
	EXPECT_NO_POINTER(clk);
	EXPECT_TRUE(zero(clk.reserved, sizeof(clk.reserved)));

	memset(&ss, A5, sizeof(ss));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SPAN_STATS, &ss));
	EXPECT_NO_POINTER(ss);
	EXPECT_EQ(0, ss.reserved0);
	EXPECT_TRUE(zero(ss.reserved, sizeof(ss.reserved)));

	/* the calling thread's context: none, then a remote one */
	memset(&ctx, A5, sizeof(ctx));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_TASK_CONTEXT, &ctx));
	EXPECT_TRUE(zero(&ctx, sizeof(ctx)));
	memset(&ctx, 0, sizeof(ctx));
	memset(ctx.trace_id, 0x31, sizeof(ctx.trace_id));
	memset(ctx.span_id, 0x32, sizeof(ctx.span_id));
	ctx.trace_flags = 1;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_TASK_CONTEXT, &ctx));
	memset(&ctx, A5, sizeof(ctx));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_TASK_CONTEXT, &ctx));
	EXPECT_TRUE(zero(ctx.reserved, sizeof(ctx.reserved)));
	EXPECT_EQ(1, ctx.trace_flags);
	memset(&ctx, 0, sizeof(ctx));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_TASK_CONTEXT, &ctx));

	for (i = 0;; i++) {
		memset(&br, A5, sizeof(br));
		br.size = sizeof(br);
		br.index = i;
		memset(br.reserved, 0, sizeof(br.reserved));
		if (ioctl(self->fd, OTEL_IOC_GET_BRIDGE, &br)) {
			EXPECT_EQ(ENOENT, errno);
			break;
		}
		EXPECT_NO_POINTER(br);
		EXPECT_TRUE(zero(br.reserved, sizeof(br.reserved)));
		len = strnlen(br.name, sizeof(br.name));
		ASSERT_GT(sizeof(br.name), len);
		EXPECT_TRUE(zero(br.name + len, sizeof(br.name) - len))
			TH_LOG("bridge %u: bytes after its name", i);
	}
	EXPECT_LT(0, i);
}

struct scan_state {
	struct rec_db *db;
	size_t by_type[16];
	size_t pointers;
	char first[128];
};

/* Mark the value (and denominator) words of @nr entries from @off as free. */
static void free_entry_values(const uint8_t *rec, size_t size, size_t off,
			      unsigned int nr, uint8_t *free_word)
{
	const struct otel_attr_entry *e;

	while (nr-- && off + sizeof(*e) <= size) {
		e = (const void *)(rec + off);
		free_word[(off + 8) / 8] = 1;
		if ((e->entry_flags & OTEL_ATTRF_DEN) && off + 24 <= size)
			free_word[(off + 16) / 8] = 1;
		if (e->size < sizeof(*e) || e->size % 8)
			return;	/* records.h reports it */
		off += e->size;
	}
}

/*
 * One record: the decoder's checks (reserved, padding, structure), then
 * every word that is not an id, a time or a value the test chose must not
 * look like a kernel pointer.
 */
static void scan_record(void *arg, const uint8_t *rec, size_t size)
{
	const struct otel_rec_hdr *h = (const void *)rec;
	struct scan_state *s = arg;
	uint8_t free_word[OTEL_REC_MAX_SIZE / 8] = { 0 };
	uint64_t w;
	size_t i;

	rec_decode(s->db, rec, size);
	if (size > OTEL_REC_MAX_SIZE)
		return;	/* records.h reports it */
	s->by_type[h->type & 15]++;
	free_word[1] = free_word[2] = 1;	/* time_ns, span_id */
	switch (h->type) {
	case OTEL_REC_SPAN: {
		const struct otel_rec_span *r = (const void *)rec;

		free_word[3] = free_word[4] = free_word[5] = 1;	/* trace id, parent */
		free_word[6] = 1;				/* start_ns */
		free_entry_values(rec, size, r->attrs_offset, r->nr_attrs, free_word);
		break;
	}
	case OTEL_REC_SPAN_BEGIN:
		free_word[3] = free_word[4] = free_word[5] = 1;
		break;
	case OTEL_REC_EVENT: {
		const struct otel_rec_event *r = (const void *)rec;

		free_entry_values(rec, size, r->attrs_offset, r->nr_attrs, free_word);
		break;
	}
	case OTEL_REC_LINK: {
		const struct otel_rec_link *r = (const void *)rec;

		free_word[3] = free_word[4] = free_word[5] = 1;
		free_entry_values(rec, size, sizeof(*r), r->nr_attrs, free_word);
		break;
	}
	case OTEL_REC_ATTR: {
		const struct otel_rec_attr *r = (const void *)rec;

		free_entry_values(rec, size, sizeof(*r), r->nr_attrs, free_word);
		break;
	}
	default:
		break;
	}
	for (i = 0; i + 8 <= size; i += 8) {
		if (free_word[i / 8])
			continue;
		memcpy(&w, rec + i, 8);
		if (kernel_pointer_like(w) && !s->pointers++)
			snprintf(s->first, sizeof(s->first),
				 "record type %u, byte %zu: %#llx", h->type, i,
				 (unsigned long long)w);
	}
}

/* Spans of every shape, then every record scanned as read() returns it. */
TEST_F_TIMEOUT(scan, records, 120)
{
	static const char *const cmds[] = {
		"attrs", "events", "limits", "status", "budget", "evbig",
		"remote", "tree 4", "nest 4", "hardirq 4", "softirq 4", "cpus",
		"noend",
	};
	struct scan_state s = { .db = &self->db };
	unsigned int i;
	long n;

	/* COMM records for a long name, then a shorter one */
	ASSERT_EQ(0, prctl(PR_SET_NAME, "leak-scan-long-", 0, 0, 0));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		ASSERT_EQ(0, span_cmd("%s", cmds[i])) TH_LOG("command %u", i);
	ASSERT_EQ(0, prctl(PR_SET_NAME, "ls", 0, 0, 0));
	ASSERT_EQ(0, span_cmd("roots 3"));
	span_cmd("nmi 4");	/* NMI spans where the module can make them (x86) */

	n = rec_read_each(self->fd, scan_record, &s);
	ASSERT_LT(0, n);
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	EXPECT_EQ(0, s.pointers) TH_LOG("%s", s.first);
	EXPECT_LT(0, s.by_type[OTEL_REC_SPAN]);
	EXPECT_LT(0, s.by_type[OTEL_REC_SPAN_BEGIN]);
	EXPECT_LT(0, s.by_type[OTEL_REC_EVENT]);
	EXPECT_LT(0, s.by_type[OTEL_REC_LINK]);
	EXPECT_LT(0, s.by_type[OTEL_REC_ATTR]);
	EXPECT_LE(2, s.by_type[OTEL_REC_COMM]);
	EXPECT_NE(NULL, rec_find(&self->db, "t.noend", 0));
}

/* The mapped producer pages: their struct, then zeros to the page's end. */
TEST_F(scan, producer_pages)
{
	long page = sysconf(_SC_PAGESIZE);
	struct otel_info info;
	const uint8_t *p;
	unsigned int cpu;

	int fd = open("/dev/" OTEL_DEVICE_NAME, O_RDWR | O_CLOEXEC);	/* mmap: RW */

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, span_cmd("roots 10"));
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_INFO, &info));
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd,
			 (off_t)cpu * info.mmap_stride + page);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(-1, find_pointer(p, page)) TH_LOG("cpu %u", cpu);
		EXPECT_TRUE(zero(p + sizeof(struct otel_ring_producer),
				 page - sizeof(struct otel_ring_producer)))
			TH_LOG("cpu %u", cpu);
		munmap((void *)p, page);
	}
	close(fd);
}

TEST_HARNESS_MAIN
