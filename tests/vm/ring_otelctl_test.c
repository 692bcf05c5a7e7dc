// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl against the real device: every command works, changes show up
 * in the kernel, usage errors exit 2, runtime errors exit 1, all with the
 * program name on stderr.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "ring_util.h"
#include "otelctl_util.h"

/* Run otelctl ARGS, capture stdout+stderr into @out; return exit status. */
static int otelctl(char *out, size_t size, const char *args)
{
	char cmd[512];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", vm_path("build/otelctl"), args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out) {
		n = fread(out, 1, size - 1, p);
		out[n] = '\0';
	} else {
		while (fgetc(p) != EOF)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Wait for otel_ringtest's writers: 0, or -ETIMEDOUT after a deadline that
 * only a hang reaches (a few records take milliseconds).
 */
static int wait_done(void)
{
	double end = now_s() + 30;

	while (ringtest_param("done") != 1) {
		if (now_s() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

FIXTURE(ctl) {
	char out[16384];
};

FIXTURE_SETUP(ctl)
{
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=64"));
}

FIXTURE_TEARDOWN(ctl)
{
	if (vm_module_loaded("otel_ringtest"))
		vm_unload_module("otel_ringtest");
	vm_unload_module("oteltrace");
}

TEST_F(ctl, help_everywhere)
{
	static const char *const cmds[] = {
		"", "stats", "config", "flush", "clear", "snapshot", "resume", "info",
	};
	char args[64];
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(args, sizeof(args), "%s --help", cmds[i]);
		EXPECT_EQ(0, otelctl(self->out, sizeof(self->out), args)) TH_LOG("%s", args);
		EXPECT_NE(NULL, strstr(self->out, "Usage: otelctl"));
	}
}

TEST_F(ctl, usage_errors_exit_2)
{
	EXPECT_EQ(2, otelctl(self->out, sizeof(self->out), ""));
	EXPECT_EQ(2, otelctl(self->out, sizeof(self->out), "frobnicate"));
	EXPECT_NE(NULL, strstr(self->out, "otelctl: "));
	EXPECT_EQ(2, otelctl(NULL, 0, "stats --bogus"));
	EXPECT_EQ(2, otelctl(NULL, 0, "stats extra"));
	EXPECT_EQ(2, otelctl(NULL, 0, "config --mode sideways"));
	EXPECT_EQ(2, otelctl(NULL, 0, "config --ratio 1.5"));
	EXPECT_EQ(2, otelctl(NULL, 0, "config --ring-size 3000"));
	EXPECT_EQ(2, otelctl(NULL, 0, "config --sampler sometimes"));
	EXPECT_EQ(2, otelctl(NULL, 0, "config --noop-spans maybe"));
	EXPECT_EQ(2, otelctl(NULL, 0, "flush now"));
}

TEST_F(ctl, stats_human_and_json)
{
	struct otel_cpu_stats s = { 0 };
	char want[64];
	int fd;

	ASSERT_EQ(0, ringtest_load("task_records=100 oversize=2"));
	ASSERT_EQ(0, wait_done());
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	close(fd);

	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "stats"));
	EXPECT_NE(NULL, strstr(self->out, "dropped_too_big"));
	EXPECT_NE(NULL, strstr(self->out, "total"));
	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "stats --json"));
	EXPECT_EQ('{', self->out[0]);
	EXPECT_NE(NULL, strstr(self->out, "\"cpus\": [{\"cpu\": 0"));
	snprintf(want, sizeof(want), "\"total\": {\"records\": %llu,",
		 (unsigned long long)s.records);
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"dropped_too_big\": 2"));
}

TEST_F(ctl, config_round_trip)
{
	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "config"));
	EXPECT_NE(NULL, strstr(self->out, "mode: discard"));
	EXPECT_NE(NULL, strstr(self->out, "ring_size: 65536"));
	ASSERT_EQ(0, otelctl(NULL, 0, "config --mode overwrite --sampler traceidratio "
			     "--ratio 0.25 --ring-size 32k --wakeup-bytes 4096"));
	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "config --json"));
	EXPECT_NE(NULL, strstr(self->out, "\"mode\": \"overwrite\""));
	EXPECT_NE(NULL, strstr(self->out, "\"sampler\": \"traceidratio\""));
	EXPECT_NE(NULL, strstr(self->out, "\"ratio\": 0.250000"));
	EXPECT_NE(NULL, strstr(self->out, "\"ring_size\": 32768"));
	EXPECT_NE(NULL, strstr(self->out, "\"wakeup_bytes\": 4096"));
	EXPECT_NE(NULL, strstr(self->out, "\"noop_spans\": false"));
	ASSERT_EQ(0, otelctl(NULL, 0, "config --noop-spans on"));
	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "config --json"));
	EXPECT_NE(NULL, strstr(self->out, "\"noop_spans\": true"));
	/* the others stay as they were */
	EXPECT_NE(NULL, strstr(self->out, "\"sampler\": \"traceidratio\""));
	ASSERT_EQ(0, otelctl(NULL, 0, "config --noop-spans off"));
	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "config"));
	EXPECT_NE(NULL, strstr(self->out, "noop_spans: off"));
	ASSERT_EQ(0, otelctl(NULL, 0, "config --disable"));
	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "config"));
	EXPECT_NE(NULL, strstr(self->out, "enabled: no"));
	ASSERT_EQ(0, otelctl(NULL, 0, "config --enable --mode discard"));
	ASSERT_EQ(0, otelctl(self->out, sizeof(self->out), "config"));
	EXPECT_NE(NULL, strstr(self->out, "enabled: yes"));
	EXPECT_NE(NULL, strstr(self->out, "mode: discard"));
}

TEST_F(ctl, control_commands)
{
	struct otel_cpu_stats s = { 0 };
	struct held_snapshot h;
	char want[32];
	int fd, st;

	EXPECT_EQ(0, otelctl(NULL, 0, "flush"));
	EXPECT_EQ(0, otelctl(self->out, sizeof(self->out), "info"));
	snprintf(want, sizeof(want), "abi_version: %d\n", OTEL_ABI_VERSION);
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s", self->out);
	ASSERT_EQ(0, snapshot_hold(&h, &st)) TH_LOG("otelctl exit %d", st);
	ASSERT_EQ(0, ringtest_load("task_records=10"));
	ASSERT_EQ(0, wait_done());
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(10 * sysconf(_SC_NPROCESSORS_ONLN), s.dropped_disabled);
	/* another process's snapshot: neither resume nor snapshot may end it */
	EXPECT_EQ(1, otelctl(self->out, sizeof(self->out), "resume"));
	EXPECT_NE(NULL, strstr(self->out, "otelctl: resume: the snapshot belongs to another"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(1, otelctl(self->out, sizeof(self->out), "snapshot -- true"));
	EXPECT_NE(NULL, strstr(self->out, "otelctl: snapshot: another open file"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(0, snapshot_release(&h));
	EXPECT_EQ(0, otelctl(NULL, 0, "clear"));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, s.dropped_disabled);
	/* the snapshot ended with its command; its status is otelctl's */
	ASSERT_EQ(0, vm_unload_module("otel_ringtest"));
	ASSERT_EQ(0, ringtest_load("task_records=10"));
	ASSERT_EQ(0, wait_done());
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, s.dropped_disabled);
	EXPECT_EQ(3, otelctl(NULL, 0, "snapshot -- sh -c 'exit 3'"));
	EXPECT_EQ(127, otelctl(NULL, 0, "snapshot -- /nonexistent/cmd"));
	EXPECT_EQ(0, otelctl(NULL, 0, "resume"));	/* none held */
	EXPECT_EQ(2, otelctl(NULL, 0, "snapshot sh"));
	close(fd);
}

/* Without CMD, the snapshot holds until SIGTERM; then exit 0, resumed. */
TEST_F(ctl, snapshot_held_until_signal)
{
	struct otel_cpu_stats s = { 0 };
	int err[2], fd, st;
	char line[256];
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(0, pipe(err));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(err[1], 2);
		execl(vm_path("build/otelctl"), "otelctl", "snapshot", (char *)NULL);
		_exit(127);
	}
	close(err[1]);
	n = read(err[0], line, sizeof(line) - 1);	/* after the ioctl */
	ASSERT_LT(0, n);
	line[n] = '\0';
	EXPECT_NE(NULL, strstr(line, "snapshot taken")) TH_LOG("%s", line);
	ASSERT_EQ(0, ringtest_load("task_records=10"));
	ASSERT_EQ(0, wait_done());
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(10 * sysconf(_SC_NPROCESSORS_ONLN), s.dropped_disabled);
	ASSERT_EQ(0, kill(pid, SIGTERM));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT_EQ(0, vm_unload_module("otel_ringtest"));
	ASSERT_EQ(0, ringtest_load("task_records=10"));
	ASSERT_EQ(0, wait_done());
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(10 * sysconf(_SC_NPROCESSORS_ONLN), s.records);
	close(fd);
	close(err[0]);
}

/*
 * A group= member without capabilities: otelctl reads (stats, config,
 * info) and says why each change is refused (exit 1).
 */
TEST(unprivileged_member)
{
	static const struct {
		const char *args;
		int status;
	} runs[] = {
		{ "stats", 0 }, { "config", 0 }, { "info", 0 },
		{ "config --disable", 1 }, { "clear", 1 },
		{ "snapshot -- true", 1 }, { "resume", 1 },
		{ "bridges disable syscall", 1 },
	};
	char out[4096], cmd[256];
	unsigned int i;
	size_t n;
	FILE *p;
	int st;

	ASSERT_EQ(0, vm_load_oteltrace("group=4242"));
	ASSERT_EQ(0, chown("/dev/" OTEL_DEVICE_NAME, 0, 4242));
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		/* setpriv(1): not root, in the group, no capability */
		snprintf(cmd, sizeof(cmd),
			 "setpriv --reuid=65534 --regid=65534 --groups=4242 "
			 "--inh-caps=-all --bounding-set=-all %s %s 2>&1",
			 vm_path("build/otelctl"), runs[i].args);
		p = popen(cmd, "r");
		ASSERT_NE(NULL, p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		st = pclose(p);
		ASSERT_TRUE(WIFEXITED(st));
		EXPECT_EQ(runs[i].status, WEXITSTATUS(st))
			TH_LOG("%s: %s", runs[i].args, out);
		if (runs[i].status)
			EXPECT_NE(NULL, strstr(out, "needs CAP_PERFMON or CAP_SYS_ADMIN"))
				TH_LOG("%s: %s", runs[i].args, out);
	}
	EXPECT_EQ(0, vm_unload_module("oteltrace"));
}

TEST_F(ctl, no_device_exits_1)
{
	ASSERT_EQ(0, vm_unload_module("oteltrace"));
	EXPECT_EQ(1, otelctl(self->out, sizeof(self->out), "stats"));
	EXPECT_NE(NULL, strstr(self->out, "otelctl: /dev/oteltrace: "));
	EXPECT_EQ(1, otelctl(NULL, 0, "flush"));
}

TEST_HARNESS_MAIN
