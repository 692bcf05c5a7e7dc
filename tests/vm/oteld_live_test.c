// SPDX-License-Identifier: GPL-2.0
/*
 * oteld's live ring reader under ASan + UBSan, in the guest, against the
 * real rings (build/tests/host-tools/oteld, the host tests' sanitized
 * build; the guest sees the host's root, so libasan is there).  A sanitizer
 * report fails the test: halt_on_error, a non-zero exit status, and its
 * stderr must not mention one.  Every count is checked exactly against the
 * kernel's own counters (OTEL_IOC_STATS) and otel_ringtest's `attempted`,
 * never against a constant; every step is ordered (oteld asleep in poll()
 * before it is stopped, writers done before it goes on), never timed.
 *
 *  - drain: what the kernel wrote is what oteld read; its kernel counters
 *    are the kernel's; its --capture file, parsed from the layout in
 *    docs/oteld.md (not with capture.c), holds exactly those records;
 *  - a corrupt record header (a consumer_pos moved into a record, which
 *    oteld follows as it follows OTEL_IOC_CLEAR): counted records_corrupt
 *    once, reading resumes at producer_pos, nothing else lost;
 *  - overwrite mode: a ring lapped while oteld was stopped is read from
 *    overwrite_tail: read + overwritten == written;
 *  - ABI refusal (and rings it cannot use), from otel_fakeinfo.ko;
 *  - SIGTERM with a span still open (begin_records): exported, incomplete;
 *  - a full export queue (the exporter blocked on its output): oteld stops
 *    reading, the records stay in the ring and the kernel drops (and
 *    counts) new ones; nothing is dropped at the queue meanwhile, and at
 *    exit every record is read and accounted for.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "ring_util.h"

#define OTELD_BIN	"build/tests/host-tools/oteld"

struct oteld_run {
	pid_t pid;
	char dir[64];
	char out[96], err[96], stats[96], cap[96];
};

/* oteld with @extra arguments, its stdout to @out_fd or (if < 0) o->out. */
static int oteld_start_to(struct oteld_run *o, const char *const *extra,
			  int out_fd)
{
	const char *argv[32] = { vm_path(OTELD_BIN) };
	int n = 1, fd;

	strcpy(o->dir, "/tmp/oteld-live-XXXXXX");
	if (!mkdtemp(o->dir))
		return -errno;
	snprintf(o->out, sizeof(o->out), "%s/stdout", o->dir);
	snprintf(o->err, sizeof(o->err), "%s/stderr", o->dir);
	snprintf(o->stats, sizeof(o->stats), "%s/stats.json", o->dir);
	snprintf(o->cap, sizeof(o->cap), "%s/live.cap", o->dir);
	argv[n++] = "-v";
	argv[n++] = "--stats-file";
	argv[n++] = o->stats;
	while (*extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	o->pid = fork();
	if (o->pid < 0)
		return -errno;
	if (!o->pid) {
		setenv("ASAN_OPTIONS", "halt_on_error=1:detect_leaks=1", 1);
		setenv("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1", 1);
		fd = out_fd >= 0 ? out_fd :
		     open(o->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		fd = open(o->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return 0;
}

static int oteld_start(struct oteld_run *o, const char *const *extra)
{
	return oteld_start_to(o, extra, -1);
}

/* The whole of a small file, NUL-terminated; "" if missing. */
static char *slurp(const char *path, size_t *len)
{
	static char empty[1];
	char *buf = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return empty;
	do {
		if (n + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		r = read(fd, buf + n, 4096);
		if (r > 0)
			n += r;
	} while (r > 0);
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* oteld asleep in poll(): between two passes, nothing half done. */
static int oteld_wait_idle(struct oteld_run *o)
{
	if (!wait_in_syscall(o->pid, o->pid, SYS_poll, 60))
		return 0;
	return wait_in_syscall(o->pid, o->pid, SYS_ppoll, 1);
}

static int oteld_stop(struct oteld_run *o)
{
	int st;

	if (kill(o->pid, SIGSTOP) || waitpid(o->pid, &st, WUNTRACED) != o->pid)
		return -1;
	return WIFSTOPPED(st) ? 0 : -1;
}

/* SIGTERM, then its exit status (-1: it did not exit by itself). */
static int oteld_term(struct oteld_run *o)
{
	int st;

	kill(o->pid, SIGTERM);
	kill(o->pid, SIGCONT);
	if (waitpid(o->pid, &st, 0) != o->pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* No sanitizer spoke; else its report goes to the test log. */
static int sanitizers_quiet(struct __test_metadata *_metadata, struct oteld_run *o)
{
	char *err = slurp(o->err, NULL);

	if (strstr(err, "Sanitizer") || strstr(err, "runtime error")) {
		TH_LOG("oteld stderr:\n%s", err);
		return 0;
	}
	return 1;
}

/* A counter of oteld's --stats-file ("name":N); -1 if missing. */
static long long stat_of(struct oteld_run *o, const char *name)
{
	char key[64], *s = slurp(o->stats, NULL), *p;

	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(s, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void oteld_cleanup(struct oteld_run *o)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", o->dir);
	if (system(cmd)) {
		/* a scratch directory left in the guest's tmpfs */
	}
}

static void wait_done(void)
{
	double end = now_s() + 120;

	while (ringtest_param("done") != 1 && now_s() < end)
		usleep(1000);
}

static uint64_t kdropped(const struct otel_cpu_stats *s)
{
	return stats_dropped(s);
}

/*
 * The capture layout of docs/oteld.md, "Capture files", read here without
 * capture.c: a 48-byte header (char magic[8] "OTELCAP\0", u32 version 1,
 * u32 abi_version, u64 mono_ns, u64 real_ns, u32 nr_cpus, u32 flags (0x1:
 * PASS frames mark every pass), u32 reserved[2]), then frames (u32 type, u32 len, len bytes, zero padding to
 * 8): 1 RECORDS (whole records, PAD left out), 2 ANCHOR (u64 mono_ns,
 * real_ns), 3 KSTATS (struct otel_cpu_stats summed over CPUs), 4 PASS
 * (empty: a pass over every ring ended).  COMM records (ABI 3) are counted
 * apart from the others: they name tasks, and are no span's.
 */
#define CAP_RECORDS	1
#define CAP_ANCHOR	2
#define CAP_KSTATS	3
#define CAP_PASS	4

struct cap_summary {
	uint32_t version, abi, nr_cpus, flags, reserved_nonzero;
	uint64_t mono, real;
	uint64_t records, comms, pads, bad, anchors, kstats, passes, unknown;
	uint32_t last_type;	/* of the last frame */
	struct otel_cpu_stats last_k;
	int whole;	/* every frame whole, padding zero, to the last byte */
};

static void parse_capture(const char *path, struct checker *ck,
			  struct cap_summary *cs)
{
	size_t len, off = 48;
	uint8_t *c = (uint8_t *)slurp(path, &len);
	uint32_t type, flen, padded, i;

	memset(cs, 0, sizeof(*cs));
	if (len < 48 || memcmp(c, "OTELCAP\0", 8))
		return;
	memcpy(&cs->version, c + 8, 4);
	memcpy(&cs->abi, c + 12, 4);
	memcpy(&cs->mono, c + 16, 8);
	memcpy(&cs->real, c + 24, 8);
	memcpy(&cs->nr_cpus, c + 32, 4);
	memcpy(&cs->flags, c + 36, 4);
	for (i = 40; i < 48; i++)
		cs->reserved_nonzero |= c[i];
	cs->whole = 1;
	while (off < len) {
		if (off + 8 > len) {
			cs->whole = 0;
			break;
		}
		memcpy(&type, c + off, 4);
		memcpy(&flen, c + off + 4, 4);
		padded = (flen + 7) & ~7u;
		if (off + 8 + padded > len) {
			cs->whole = 0;
			break;
		}
		for (i = flen; i < padded; i++)
			if (c[off + 8 + i])
				cs->whole = 0;
		cs->last_type = type;
		if (type == CAP_RECORDS) {
			size_t r = 0;

			while (r + sizeof(struct otel_rec_hdr) <= flen) {
				const struct otel_rec_hdr *h =
					(const void *)(c + off + 8 + r);

				if (h->size < 8 || h->size % 8 || r + h->size > flen)
					break;
				if (h->type == OTEL_REC_PAD)
					cs->pads++;
				else if (h->type == OTEL_REC_COMM)
					cs->comms++;
				else
					check_record(ck, h, -1);
				cs->records++;
				r += h->size;
			}
			if (r != flen)
				cs->bad++;
		} else if (type == CAP_ANCHOR && flen == 16) {
			cs->anchors++;
		} else if (type == CAP_KSTATS && flen == sizeof(struct otel_cpu_stats)) {
			cs->kstats++;
			memcpy(&cs->last_k, c + off + 8, flen);
		} else if (type == CAP_PASS && flen == 0) {
			cs->passes++;
		} else {
			cs->unknown++;
		}
		off += 8 + padded;
	}
}

/*
 * Each test loads what it needs; the last one's modules are unloaded when
 * the program ends (the harness's parent exits with exit(), its test
 * children with _exit()), so the next program starts clean.
 */
static void __attribute__((destructor)) unload_modules(void)
{
	static const char *const mods[] = {
		"otel_ringtest", "otel_spantest", "otel_fakeinfo", "oteltrace",
	};
	unsigned int i;

	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		if (vm_module_loaded(mods[i]))
			vm_unload_module(mods[i]);
}

static int load_fresh(const char *params)
{
	if (vm_module_loaded("otel_ringtest"))
		vm_unload_module("otel_ringtest");
	if (vm_module_loaded("otel_spantest"))
		vm_unload_module("otel_spantest");
	return vm_load_oteltrace(params);
}

/*
 * docs/oteld.md, "Reading the rings" (one pass reads producer_pos, copies
 * each record, stores consumer_pos) and "Operating it": "SIGTERM or SIGINT
 * drains the rings one last time, reads the final kernel counters";
 * "`kernel_dropped` = dropped_full + dropped_too_big + dropped_nested +
 * dropped_disabled".  Exact: attempted = written + dropped (kernel), and
 * oteld read every record written.  docs/oteld.md, "Capture files": the
 * layout; its RECORDS are the records read, PAD left out.
 */
TEST(drain_matches_kernel_counters_and_capture)
{
	const char *args[] = { "--no-export", "--capture", NULL, NULL };
	struct otel_cpu_stats k = { 0 };
	struct oteld_run o;
	struct cap_summary cs;
	struct checker ck;
	struct rings rs;
	long long attempted;
	int fd;

	ASSERT_EQ(0, load_fresh(NULL));
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_INFO, &rs.info));
	args[2] = "/tmp/oteld-live.cap";
	unlink(args[2]);
	ASSERT_EQ(0, oteld_start(&o, args));
	ASSERT_EQ(0, oteld_wait_idle(&o));
	/* records from every context while oteld reads */
	ASSERT_EQ(0, ringtest_load("task_records=20000 task_sleep_us=20000 soft_records=2000 hard_records=2000"));
	wait_done();
	ASSERT_EQ(1, ringtest_param("done"));
	EXPECT_EQ(0, oteld_term(&o));
	EXPECT_TRUE(sanitizers_quiet(_metadata, &o));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &k));
	attempted = ringtest_param("attempted");
	TH_LOG("attempted %lld written %llu dropped %llu read %lld", attempted,
	       (unsigned long long)k.records, (unsigned long long)kdropped(&k),
	       stat_of(&o, "records"));
	EXPECT_EQ((uint64_t)attempted, k.records + kdropped(&k));
	EXPECT_EQ((long long)k.records, stat_of(&o, "records"));
	/*
	 * otel_ringtest writes RAW records and begins no span, so no task is
	 * named: no COMM record (ABI 3) among them.  Counted apart anyway,
	 * so that a COMM from elsewhere shows as such.
	 */
	EXPECT_EQ(0, stat_of(&o, "records_comm"));
	EXPECT_EQ((long long)k.records,
		  stat_of(&o, "records_raw") + stat_of(&o, "records_comm"));
	EXPECT_EQ((long long)kdropped(&k), stat_of(&o, "kernel_dropped"));
	EXPECT_EQ((long long)k.overwritten, stat_of(&o, "kernel_overwritten"));
	EXPECT_EQ(0, stat_of(&o, "records_corrupt"));

	checker_init(&ck, rs.info.nr_cpus, 40, 256);
	parse_capture(args[2], &ck, &cs);
	EXPECT_EQ(1, cs.whole);
	EXPECT_EQ(1, cs.version);
	EXPECT_EQ(OTEL_ABI_VERSION, cs.abi);
	EXPECT_EQ(rs.info.nr_cpus, cs.nr_cpus);
	EXPECT_EQ(0, cs.reserved_nonzero);
	EXPECT_EQ(1, cs.flags);		/* a live capture marks every pass */
	EXPECT_NE(0, cs.mono);
	EXPECT_NE(0, cs.real);
	EXPECT_EQ(0, cs.bad);
	EXPECT_EQ(0, cs.pads);
	EXPECT_EQ(0, cs.unknown);
	TH_LOG("capture: %s; %llu records, %llu COMM, %llu passes, last frame %u",
	       ck.first_error, (unsigned long long)cs.records,
	       (unsigned long long)cs.comms, (unsigned long long)cs.passes,
	       cs.last_type);
	EXPECT_EQ(0, ck.errors);
	EXPECT_EQ(k.records, cs.records);
	EXPECT_EQ((long long)cs.comms, stat_of(&o, "records_comm"));
	EXPECT_EQ(k.records, ck.read + cs.comms);
	/* a PASS ends every pass, the exit's last one too */
	EXPECT_LE(1, cs.passes);
	EXPECT_EQ(CAP_PASS, cs.last_type);
	/* the exit's anchor and final counters at least */
	EXPECT_LE(1, cs.anchors);
	EXPECT_LE(1, cs.kstats);
	EXPECT_EQ(k.records, cs.last_k.records);
	EXPECT_EQ(k.bytes, cs.last_k.bytes);
	EXPECT_EQ(kdropped(&k), kdropped(&cs.last_k));
	unlink(args[2]);
	oteld_cleanup(&o);
	close(fd);
}

/*
 * docs/oteld.md, "Reading the rings": "a `consumer_pos` moved *forward*,
 * to an 8-aligned position not past `producer_pos`, is followed" and
 * "Every record header is checked against the data area before the record
 * is read: a size below 8, ... ends the pass, counts `records_corrupt` and
 * resynchronises at `producer_pos`."  Moved to 24 bytes into ring 0's first
 * unread otel_ringtest record, the "header" there is its u32 writer id:
 * type = id, size = 0.
 */
TEST(corrupt_header_counted_and_resynced)
{
	struct otel_cpu_stats k = { 0 };
	const char *args[] = { "--no-export", NULL };
	struct oteld_run o;
	struct checker ck;
	struct rings rs;
	uint64_t cons, prod, pos, mask, skipped = 0;
	int fd;

	ASSERT_EQ(0, load_fresh(NULL));
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, rings_map(&rs, fd));
	ASSERT_EQ(0, oteld_start(&o, args));
	ASSERT_EQ(0, oteld_wait_idle(&o));
	ASSERT_EQ(0, oteld_stop(&o));
	ASSERT_EQ(0, ringtest_load("task_records=300"));
	wait_done();
	ASSERT_EQ(1, ringtest_param("done"));

	mask = rs.info.ring_size - 1;
	cons = __atomic_load_n(&rs.cons[0]->consumer_pos, __ATOMIC_ACQUIRE);
	prod = __atomic_load_n(&rs.prod[0]->producer_pos, __ATOMIC_ACQUIRE);
	ASSERT_LT(cons, prod);
	/* what oteld will not read: every record of ring 0 from cons on */
	checker_init(&ck, rs.nr, 40, 256);
	for (pos = cons; pos < prod;) {
		const struct otel_rec_hdr *h = (const void *)(rs.data[0] + (pos & mask));

		if (h->type != OTEL_REC_PAD)
			skipped++;
		check_record(&ck, h, 0);
		pos += h->size;
	}
	TH_LOG("ring 0: %s", ck.first_error);
	ASSERT_EQ(0, ck.errors);
	ASSERT_EQ(OTEL_REC_RAW, ((const struct otel_rec_hdr *)(rs.data[0] + (cons & mask)))->type);
	__atomic_store_n(&rs.cons[0]->consumer_pos, cons + 24, __ATOMIC_RELEASE);

	EXPECT_EQ(0, oteld_term(&o));
	EXPECT_TRUE(sanitizers_quiet(_metadata, &o));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &k));
	TH_LOG("written %llu skipped %llu read %lld corrupt %lld",
	       (unsigned long long)k.records, (unsigned long long)skipped,
	       stat_of(&o, "records"), stat_of(&o, "records_corrupt"));
	EXPECT_EQ(0, kdropped(&k));
	EXPECT_EQ(1, stat_of(&o, "records_corrupt"));
	EXPECT_EQ((long long)(k.records - skipped), stat_of(&o, "records"));
	/* resynchronised: oteld's position is producer_pos again */
	EXPECT_EQ(prod, __atomic_load_n(&rs.cons[0]->consumer_pos, __ATOMIC_ACQUIRE));
	oteld_cleanup(&o);
	rings_unmap(&rs);
	close(fd);
}

static void set_overwrite(struct otel_config *c, void *arg)
{
	c->mode = OTEL_MODE_OVERWRITE;
}

/*
 * docs/oteld.md, "Reading the rings": "In overwrite mode ... a pass that
 * finds the ring lapped starts at `overwrite_tail`; the lost records are
 * the kernel's `overwritten` counter."  16 KiB rings lapped many times
 * while oteld is stopped.
 */
TEST(overwrite_mode_lapped_ring)
{
	struct otel_cpu_stats k = { 0 };
	const char *args[] = { "--no-export", NULL };
	struct oteld_run o;
	int fd;

	ASSERT_EQ(0, load_fresh("ring_size_kb=16"));
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ring_set_config(fd, set_overwrite, NULL));
	ASSERT_EQ(0, oteld_start(&o, args));
	ASSERT_EQ(0, oteld_wait_idle(&o));
	ASSERT_EQ(0, oteld_stop(&o));
	ASSERT_EQ(0, ringtest_load("task_records=5000"));
	wait_done();
	ASSERT_EQ(1, ringtest_param("done"));
	EXPECT_EQ(0, oteld_term(&o));
	EXPECT_TRUE(sanitizers_quiet(_metadata, &o));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &k));
	TH_LOG("written %llu overwritten %llu read %lld corrupt %lld",
	       (unsigned long long)k.records, (unsigned long long)k.overwritten,
	       stat_of(&o, "records"), stat_of(&o, "records_corrupt"));
	EXPECT_EQ((uint64_t)ringtest_param("attempted"), k.records + kdropped(&k));
	EXPECT_LT(0, k.overwritten);
	EXPECT_EQ((long long)(k.records - k.overwritten), stat_of(&o, "records"));
	EXPECT_EQ((long long)k.overwritten, stat_of(&o, "kernel_overwritten"));
	EXPECT_EQ(0, stat_of(&o, "records_corrupt"));
	oteld_cleanup(&o);
	close(fd);
}

/*
 * docs/oteld.md, "Reading the rings": "reads the geometry with
 * `OTEL_IOC_INFO` (refusing a module of another ABI version, with a message
 * that says which it writes, a non power-of-two ring or a stride too
 * small)"; "Exit status: ... 1 a run-time failure (device, ...)".
 * otel_fakeinfo.ko answers OTEL_IOC_INFO only; with a usable geometry
 * oteld gets past the checks and fails at mmap (the control).
 */
TEST(abi_and_geometry_refused)
{
	const char *args[] = { "--no-export", "--device", "/dev/otel_fakeinfo", NULL };
	/* the ABIs next to this one, newer and older */
	char newer[32], newer_msg[160], older[32], older_msg[96];
	struct {
		const char *params, *msg;
	} cases[] = {
		{ newer, newer_msg },
		{ older, older_msg },
		{ "ring_size=100000", "rings of 100000 bytes" },
		{ "ring_size=262144", "/dev/otel_fakeinfo: mmap of ring 0" },
	};
	struct oteld_run o;
	unsigned int i;
	char *err;
	int st;

	snprintf(newer, sizeof(newer), "abi_version=%d", OTEL_ABI_VERSION + 1);
	snprintf(newer_msg, sizeof(newer_msg), "/dev/otel_fakeinfo: the module writes records of "
		 "ABI version %d, this oteld reads ABI version %d",
		 OTEL_ABI_VERSION + 1, OTEL_ABI_VERSION);
	snprintf(older, sizeof(older), "abi_version=%d", OTEL_ABI_VERSION - 1);
	snprintf(older_msg, sizeof(older_msg), "records of ABI version %d, this oteld reads ABI version %d",
		 OTEL_ABI_VERSION - 1, OTEL_ABI_VERSION);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (vm_module_loaded("otel_fakeinfo"))
			vm_unload_module("otel_fakeinfo");
		ASSERT_EQ(0, vm_load_module("tests/kmod/otel_fakeinfo.ko", cases[i].params));
		ASSERT_EQ(0, oteld_start(&o, args));
		ASSERT_EQ(o.pid, waitpid(o.pid, &st, 0));
		err = slurp(o.err, NULL);
		TH_LOG("%s: stderr: %s", cases[i].params, err);
		EXPECT_TRUE(WIFEXITED(st));
		EXPECT_EQ(1, WEXITSTATUS(st));
		EXPECT_TRUE(sanitizers_quiet(_metadata, &o));
		EXPECT_NE(NULL, strstr(err, cases[i].msg));
		oteld_cleanup(&o);
	}
	vm_unload_module("otel_fakeinfo");
}

static int spantest(const char *cmd)
{
	int fd = open("/dev/otel_spantest", O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n == (ssize_t)strlen(cmd) ? 0 : -1;
}

static int count_lines(const char *text, const char *a, const char *b)
{
	const char *p = text;
	int n = 0;

	while ((p = strstr(p, a))) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (!b || strstr(line, b))
			n++;
		p += len;
	}
	return n;
}

/*
 * docs/oteld.md, "Operating it": "SIGTERM or SIGINT drains the rings one
 * last time, reads the final kernel counters, exports what is still open
 * (marked incomplete), and flushes the queue ... then exits 0"; and
 * "Assembling spans": "still open when oteld stops: exported marked
 * `oteltrace.incomplete = true` if a SPAN_BEGIN gave its identity".
 * begin_records on: t.noend's SPAN_BEGIN is all there is of it.
 * "Attributes oteld adds": the three began in this task (the writes to
 * /dev/otel_spantest), so each says where (cpu.logical_number,
 * linux.context) and which task, named from its COMM record (thread.id,
 * process.pid, thread.name), the open one too.
 */
TEST(sigterm_exports_open_span_incomplete)
{
	const char *args[] = { "--stdout", NULL };
	struct oteld_run o;
	char who[160];
	char *out;

	ASSERT_EQ(0, load_fresh("begin_records=1"));
	ASSERT_EQ(0, vm_load_module("tests/kmod/otel_spantest.ko", NULL));
	ASSERT_EQ(0, oteld_start(&o, args));
	ASSERT_EQ(0, oteld_wait_idle(&o));
	ASSERT_EQ(0, spantest("roots 2"));
	ASSERT_EQ(0, spantest("noend"));
	EXPECT_EQ(0, oteld_term(&o));
	EXPECT_TRUE(sanitizers_quiet(_metadata, &o));
	out = slurp(o.out, NULL);
	TH_LOG("stdout:\n%s", out);
	EXPECT_EQ(1, count_lines(out, "t.noend ", "INCOMPLETE"));
	EXPECT_EQ(2, count_lines(out, "t.root ", NULL));
	EXPECT_EQ(0, count_lines(out, "t.root ", "INCOMPLETE"));
	EXPECT_EQ(1, stat_of(&o, "spans_incomplete"));
	EXPECT_EQ(2, stat_of(&o, "spans_complete"));
	EXPECT_EQ(3, stat_of(&o, "spans_exported"));
	EXPECT_EQ(0, stat_of(&o, "spans_no_begin"));
	snprintf(who, sizeof(who), "linux.context=\"task\", thread.id=%d, "
		 "process.pid=%d, thread.name=\"oteld_live_test\"",
		 (int)syscall(SYS_gettid), (int)getpid());
	EXPECT_EQ(3, count_lines(out, "cpu.logical_number=", who)) TH_LOG("%s", who);
	EXPECT_LE(1, stat_of(&o, "records_comm"));
	EXPECT_EQ(0, stat_of(&o, "names_unresolved"));
	oteld_cleanup(&o);
	vm_unload_module("otel_spantest");
}

/*
 * One snapshot of oteld's --stats-file: its "records" and
 * "dropped_queue_full", and the file's inode (each snapshot is a new file
 * renamed over the last).  0, or -1 while there is none.
 */
static int stats_snapshot(struct oteld_run *o, ino_t *ino, long long *records,
			  long long *queue_full)
{
	char buf[4096], *p;
	struct stat st;
	ssize_t n;
	int fd = open(o->stats, O_RDONLY);

	if (fd < 0)
		return -1;
	n = fstat(fd, &st) ? -1 : read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\"records\":");
	*records = p ? strtoll(p + 10, NULL, 10) : -1;
	p = strstr(buf, "\"dropped_queue_full\":");
	*queue_full = p ? strtoll(p + 21, NULL, 10) : -1;
	*ino = st.st_ino;
	return 0;
}

static void *drain_pipe(void *arg)
{
	char buf[65536];
	int fd = *(int *)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

/*
 * docs/oteld.md, "Exporting": "Reading live, oteld stops reading the rings
 * while the queue has no room for what a chunk of records can finish; the
 * records wait in the rings, where the kernel drops new ones (counted,
 * kernel_dropped)", rather than decoding spans to drop them at the queue.
 * The console exporter writes to a pipe nobody reads: it blocks on its
 * first batch, and the queue (1000) fills.  The 5000 spans written then
 * are more than the ring holds.  Stalled: two successive snapshots of the
 * counters (the reader writes one every 100 ms, between passes) read the
 * same records, fewer than the kernel wrote, none dropped at the queue.
 * Without the stop, a pass between two snapshots reads every record there
 * is.  Then the pipe is read, and at SIGTERM oteld reads the rest: every
 * record counted, every span exported or dropped at the queue.
 */
TEST(full_queue_leaves_records_in_the_rings)
{
	const char *args[] = { "--stdout", "--max-queue-size", "1000",
			       "--max-export-batch-size", "100",
			       "--stats-interval", "100", NULL };
	long long rec = -1, qf = -1, last_rec = -2;
	struct otel_cpu_stats k = { 0 };
	struct oteld_run o;
	ino_t ino = 0, last_ino = 0;
	int p[2], fd, stalled = 0;
	double end;
	pthread_t t;

	ASSERT_EQ(0, load_fresh(NULL));
	ASSERT_EQ(0, vm_load_module("tests/kmod/otel_spantest.ko", NULL));
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(p));
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	ASSERT_EQ(0, oteld_start_to(&o, args, p[1]));
	close(p[1]);
	ASSERT_EQ(0, oteld_wait_idle(&o));
	ASSERT_EQ(0, spantest("bench 5000"));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &k));
	TH_LOG("kernel: %llu records, %llu dropped full",
	       (unsigned long long)k.records,
	       (unsigned long long)k.dropped_full);
	ASSERT_LT(0, k.dropped_full);
	for (end = now_s() + 20; now_s() < end && !stalled; usleep(1000)) {
		if (stats_snapshot(&o, &ino, &rec, &qf) || ino == last_ino)
			continue;
		stalled = rec == last_rec && rec < (long long)k.records &&
			  qf == 0;
		last_ino = ino;
		last_rec = rec;
	}
	TH_LOG("oteld: %lld records read, %lld dropped at the queue", rec, qf);
	EXPECT_TRUE(stalled);
	/* the exporter goes on: everything is read and accounted for */
	ASSERT_EQ(0, pthread_create(&t, NULL, drain_pipe, &p[0]));
	EXPECT_EQ(0, oteld_term(&o));
	pthread_join(t, NULL);
	close(p[0]);
	EXPECT_TRUE(sanitizers_quiet(_metadata, &o));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &k));
	EXPECT_EQ((long long)k.records, stat_of(&o, "records"));
	EXPECT_EQ((long long)kdropped(&k), stat_of(&o, "kernel_dropped"));
	EXPECT_EQ(stat_of(&o, "spans_complete"),
		  stat_of(&o, "spans_queued") +
		  stat_of(&o, "dropped_queue_full"));
	EXPECT_EQ(stat_of(&o, "spans_queued"), stat_of(&o, "spans_exported"));
	EXPECT_EQ(stat_of(&o, "records") - stat_of(&o, "records_comm"),
		  stat_of(&o, "spans_complete"));
	oteld_cleanup(&o);
	close(fd);
	vm_unload_module("otel_spantest");
}

TEST_HARNESS_MAIN
