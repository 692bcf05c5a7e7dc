// SPDX-License-Identifier: GPL-2.0
/*
 * debug_open_spans, oteltrace.ko's debug option (module parameter, off by
 * default, 0644): a current span still open when its task returns to user
 * space from a system call, or exits, is reported in the kernel log once
 * per span, with its name, its scope (module), the task and its ids.
 *  - on at load: the span that otel_spantest's "mleak" leaves current is
 *    reported at the return of that write() (syscall number, comm[pid],
 *    the leaked span's trace and span id, which its witness span's parent
 *    id confirms), once, however many system calls follow;
 *  - a kthread that exits with a span current is reported at its exit;
 *  - spans that end properly (ordinary nesting, OTEL_KSPAN_SCOPED()) are
 *    never reported;
 *  - switched at run time: on reports, off reports nothing again, and a
 *    span made current while it was off is reported without a name ("?");
 *  - off (the default): the same leaks report nothing.
 */
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define PARAM	"/sys/module/oteltrace/parameters/debug_open_spans"
#define REPORT	"oteltrace: "
#define TAG	"(debug_open_spans)"

FIXTURE(debug) {
	int fd;
	struct kmsg_log kmsg;
	struct rec_db db;
	char comm[32];
};

FIXTURE_VARIANT(debug) {
	const char *params;	/* oteltrace.ko's at load */
	char param;		/* what PARAM reads then: Y or N */
};

FIXTURE_VARIANT_ADD(debug, off) {
	.params = NULL,
	.param = 'N',
};

FIXTURE_VARIANT_ADD(debug, on_at_load) {
	.params = "debug_open_spans=1",
	.param = 'Y',
};

FIXTURE_SETUP(debug)
{
	char buf[8] = "";
	FILE *f;

	rec_db_init(&self->db);
	self->kmsg.fd = -1;
	self->fd = span_load(variant->params, SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kmsg_open(&self->kmsg));
	f = fopen(PARAM, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	ASSERT_EQ(variant->param, buf[0]);
	f = fopen("/proc/self/comm", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(self->comm, sizeof(self->comm), f));
	fclose(f);
	self->comm[strcspn(self->comm, "\n")] = '\0';
}

FIXTURE_TEARDOWN(debug)
{
	kmsg_close(&self->kmsg);
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* Reports of debug_open_spans since setup; the first into @line. */
static int reports(FIXTURE_DATA(debug) *self, char *line, size_t size)
{
	return kmsg_count(&self->kmsg, REPORT, TAG, line, size);
}

/* A few system calls that make no span. */
static void idle_syscalls(void)
{
	int i;

	for (i = 0; i < 20; i++)
		syscall(SYS_getppid);
	span_result();
}

/*
 * Leak a span with "mleak" and return the ids of the leaked span, from
 * its witness (an explicit child, the only record the leak writes).
 */
static void leak(struct __test_metadata *_metadata,
		 FIXTURE_DATA(debug) *self, char *trace, char *span)
{
	const struct rec_span *w;

	rec_db_free(&self->db);
	ASSERT_EQ(0, span_cmd("mleak"));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	w = rec_find(&self->db, "t.m.witness", 0);
	ASSERT_NE(NULL, w);
	strcpy(trace, span_hex(w->trace_id, OTEL_TRACE_ID_SIZE));
	strcpy(span, span_hex(w->parent_id, OTEL_SPAN_ID_SIZE));
}

/* The same line must say all of @want (NULL-terminated). */
static void expect_line(struct __test_metadata *_metadata, const char *line,
			const char *const *want)
{
	for (; *want; want++)
		EXPECT_NE(NULL, strstr(line, *want))
			TH_LOG("no \"%s\" in: %s", *want, line);
}

TEST_F(debug, leak_at_return_to_user_space)
{
	char trace[40], span[20], line[512] = "", who[64], nr[64], ids[128];

	leak(_metadata, self, trace, span);
	idle_syscalls();
	if (variant->param == 'N') {
		EXPECT_EQ(0, reports(self, line, sizeof(line))) TH_LOG("%s", line);
		return;
	}
	ASSERT_EQ(1, reports(self, line, sizeof(line)));
	TH_LOG("%s", line);
	snprintf(who, sizeof(who), " in %s[%d]:", self->comm, getpid());
	snprintf(nr, sizeof(nr), "at return to user space from syscall %d,",
		 (int)SYS_write);
	snprintf(ids, sizeof(ids), "trace %s span %s", trace, span);
	expect_line(_metadata, line, (const char *const[]){
		"span \"t.m.leak\" of otel_spantest still open (current)",
		nr, who, ids, NULL });

	/* Once per span: more leaks are new spans, each reported once. */
	leak(_metadata, self, trace, span);
	idle_syscalls();
	EXPECT_EQ(2, reports(self, NULL, 0));
}

TEST_F(debug, kthread_exit)
{
	char line[512] = "";

	ASSERT_EQ(0, span_cmd("dexit"));
	if (variant->param == 'N') {
		EXPECT_EQ(0, reports(self, line, sizeof(line))) TH_LOG("%s", line);
		return;
	}
	ASSERT_EQ(1, reports(self, line, sizeof(line)));
	TH_LOG("%s", line);
	expect_line(_metadata, line, (const char *const[]){
		"span \"t.d.exit\" of otel_spantest still open (current) at exit of otel_dexit[",
		NULL });
}

/* Spans that end, however they end, are never reported. */
TEST_F(debug, no_report_for_spans_that_end)
{
	char line[512] = "";

	ASSERT_EQ(0, span_cmd("mordinary 200"));
	ASSERT_EQ(0, span_cmd("scoped 3"));
	ASSERT_EQ(0, span_cmd("nest 3"));
	ASSERT_EQ(0, span_cmd("remote"));
	idle_syscalls();
	EXPECT_EQ(0, reports(self, line, sizeof(line))) TH_LOG("%s", line);
}

/* Off, on, off, on again at run time through the parameter file. */
TEST_F(debug, switched_at_run_time)
{
	char trace[40], span[20], line[512] = "";
	int base;

	ASSERT_EQ(0, span_write_file(PARAM, "0"));
	ASSERT_EQ(0, span_write_file(PARAM, "1"));
	leak(_metadata, self, trace, span);
	ASSERT_EQ(1, reports(self, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, span)) TH_LOG("%s", line);

	ASSERT_EQ(0, span_write_file(PARAM, "0"));
	base = reports(self, NULL, 0);
	leak(_metadata, self, trace, span);
	idle_syscalls();
	EXPECT_EQ(base, reports(self, NULL, 0)) TH_LOG("reported while off");

	/*
	 * That span is still current: switching on reports it at the return
	 * of the very write() that switches, without a name (it was made
	 * current while the option was off).
	 */
	ASSERT_EQ(0, span_write_file(PARAM, "1"));
	idle_syscalls();
	EXPECT_EQ(base + 1, reports(self, NULL, 0));
	EXPECT_EQ(1, kmsg_count(&self->kmsg, REPORT,
				"span \"?\" of ? still open", line,
				sizeof(line)));
	EXPECT_NE(NULL, strstr(line, span)) TH_LOG("%s", line);

	/* Spans that end are not reported (the leaked one is dropped). */
	ASSERT_EQ(0, span_cmd("mordinary 20"));
	idle_syscalls();
	EXPECT_EQ(base + 1, reports(self, NULL, 0));
	ASSERT_EQ(0, span_write_file(PARAM, "0"));
}

TEST_HARNESS_MAIN
