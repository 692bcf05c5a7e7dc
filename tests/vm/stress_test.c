// SPDX-License-Identifier: GPL-2.0
/*
 * The stress test (docs/testing.md, "Stress", lists exactly what is
 * stressed and asserted).  otel_stress.ko writes RAW records and spans from
 * a kthread, a tasklet, an hrtimer and NMIs on every CPU, nested (a task
 * span open and a task record reserved while the interrupts write theirs),
 * while a reader drains the rings and the test changes everything it can
 * under them:
 *
 *  - mmap_hotplug_driver: an mmap reader; CPU 1 offline and online;
 *    otel_stress_drv.ko (span API from kthreads and timers) loaded and
 *    unloaded with spans in flight; the sampler changed;
 *  - read_resize_mode_clear: a read() reader; the rings resized; discard ->
 *    overwrite -> snapshot -> discard; clear and enable/disable with the
 *    writers stopped (TCG cannot patch the static key under running
 *    writers, docs/testing.md);
 *  - oteld_sigkill: oteld (ASan + UBSan) reads and is killed with SIGKILL,
 *    again and again (twice at least), then one drains and stops; what
 *    each killed oteld consumed is walked in the rings, the last one's own
 *    count must match.
 *
 * Each ends with the writers stopped and everything read, and asserts
 * exactly: records tried == read + dropped + overwritten + discarded (the
 * kernel's OTEL_IOC_STATS), every record whole and as its writer made it,
 * no COMM record, no span API misuse counted.  A kernel report (oops,
 * WARNING, lockdep, RCU stall, hung task) fails the whole run (scripts/vm).
 * Each test repeats its round for a third of OTEL_STRESS_SECONDS (30 in
 * make check; longer runs: OTEL_STRESS_SECONDS=600 make check, or pass it
 * to the guest: scripts/vm -- env OTEL_STRESS_SECONDS=600 ...), at least
 * once.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "stress_util.h"

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"
#define OTELD_BIN	"build/tests/host-tools/oteld"

/* Edit the config: fields < 0 stay as they are.  0 or -errno. */
static int set_cfg(int fd, int enabled, int mode, int sampler, int ratio,
		   long long ring_size)
{
	struct otel_config c;

	if (ioctl(fd, OTEL_IOC_GET_CONFIG, &c))
		return -errno;
	if (enabled >= 0)
		c.enabled = enabled;
	if (mode >= 0)
		c.mode = mode;
	if (sampler >= 0)
		c.sampler = sampler;
	if (ratio >= 0)
		c.ratio = ratio;
	if (ring_size >= 0)
		c.ring_size = ring_size;
	return ioctl(fd, OTEL_IOC_SET_CONFIG, &c) ? -errno : 0;
}

static int set_sampler(int fd, int sampler, int ratio)
{
	return set_cfg(fd, -1, -1, sampler, ratio, -1);
}

static int cpu1_online(int on)
{
	int fd = open(CPU1_ONLINE, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, on ? "1" : "0", 1);
	close(fd);
	return n == 1 ? 0 : -errno;
}

static int drv_unload(void)
{
	double end = now_s() + 60;
	int ret;

	while ((ret = vm_unload_module("otel_stress_drv")) == -EAGAIN &&
	       now_s() < end)
		usleep(10000);
	return ret;
}

/*
 * A test's reader thread, which writes into the fixture: teardown stops it
 * when a failed ASSERT skipped the test's own stop.
 */
struct bg_reader {
	pthread_t thread;
	int *stop;
	bool running;
};

FIXTURE(stress) {
	int fd;
	uint32_t nr_cpus;
	struct stress_ck ck;
	struct bg_reader bg;
};

static int bg_start(struct bg_reader *bg, void *(*fn)(void *), void *arg,
		    int *stop)
{
	int ret = pthread_create(&bg->thread, NULL, fn, arg);

	if (!ret) {
		bg->stop = stop;
		bg->running = true;
	}
	return ret;
}

static int bg_stop(struct bg_reader *bg)
{
	if (!bg->running)
		return 0;
	__atomic_store_n(bg->stop, 1, __ATOMIC_RELEASE);
	bg->running = false;
	return pthread_join(bg->thread, NULL);
}

FIXTURE_SETUP(stress)
{
	struct otel_info info;

	/* what an earlier test that failed half-way may have left */
	if (vm_module_loaded("otel_stress_drv"))
		drv_unload();
	if (vm_module_loaded("otel_stress")) {
		stress_set("run", 0);
		vm_unload_module("otel_stress");
	}
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=16"));
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &info));
	self->nr_cpus = info.nr_cpus;
	ASSERT_GE(RING_MAX_CPUS, self->nr_cpus);
	stress_ck_init(&self->ck, self->nr_cpus);
	ASSERT_EQ(0, vm_load_module(STRESS_KO, NULL));
}

FIXTURE_TEARDOWN(stress)
{
	bg_stop(&self->bg);
	if (vm_module_loaded("otel_stress_drv"))
		drv_unload();
	stress_set("run", 0);
	if (!access(CPU1_ONLINE, W_OK))
		cpu1_online(1);
	vm_unload_module("otel_stress");
	close(self->fd);
	vm_unload_module("oteltrace");
}

/*
 * The writers are stopped and everything is read: what they tried since
 * @att_base is exactly what was read since @read_base plus what the
 * kernel counted as dropped, overwritten or discarded.
 */
static void expect_exact(struct __test_metadata *_metadata, int fd,
			 const struct stress_ck *ck, long long att_base,
			 uint64_t read_base, const char *phase,
			 struct otel_cpu_stats *out)
{
	struct otel_span_stats ss = { .size = sizeof(ss) };
	long long att = stress_param("attempted") - att_base;
	uint64_t rd = stress_read(ck) - read_base;
	struct otel_cpu_stats s = { 0 };

	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	*out = s;
	TH_LOG("%s: tried %lld read %llu dropped %llu (full %llu, nested %llu, "
	       "disabled %llu) overwritten %llu discarded %llu; since load: "
	       "tried raw %lld spans %lld driver spans %lld, read raw %llu "
	       "spans %llu", phase, att, (unsigned long long)rd,
	       (unsigned long long)stats_dropped(&s),
	       (unsigned long long)s.dropped_full,
	       (unsigned long long)s.dropped_nested,
	       (unsigned long long)s.dropped_disabled,
	       (unsigned long long)s.overwritten,
	       (unsigned long long)s.discarded,
	       stress_param("raw_attempted"), stress_param("spans"),
	       stress_param("driver_spans"), (unsigned long long)ck->raw.read,
	       (unsigned long long)stress_spans(ck));
	EXPECT_EQ(0, ck->raw.errors) TH_LOG("first bad record: %s", ck->raw.first_error);
	EXPECT_EQ((uint64_t)att, rd + stats_dropped(&s) + s.overwritten + s.discarded);
	EXPECT_EQ((uint64_t)att, s.records + stats_dropped(&s));
	EXPECT_EQ(s.records, rd + s.overwritten + s.discarded);
	EXPECT_EQ(0, s.dropped_too_big);
	EXPECT_EQ(stress_param("raw_attempted"),
		  stress_param("raw_committed") + stress_param("raw_refused"));
	EXPECT_EQ(0, ck->comms);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_SPAN_STATS, &ss));
	EXPECT_EQ(0, ss.begin_active + ss.end_twice + ss.end_foreign +
		  ss.stale_current + ss.misnested + ss.bad_handle +
		  ss.context_full + ss.depth_full)
		TH_LOG("span API misuse counted: begin_active %llu end_twice %llu "
		       "end_foreign %llu stale %llu misnested %llu bad %llu "
		       "context_full %llu depth_full %llu",
		       (unsigned long long)ss.begin_active,
		       (unsigned long long)ss.end_twice,
		       (unsigned long long)ss.end_foreign,
		       (unsigned long long)ss.stale_current,
		       (unsigned long long)ss.misnested,
		       (unsigned long long)ss.bad_handle,
		       (unsigned long long)ss.context_full,
		       (unsigned long long)ss.depth_full);
}

/* Every writer wrote something that was read. */
static void expect_every_writer(struct __test_metadata *_metadata,
				const struct stress_ck *ck, int driver)
{
	size_t i;

	for (i = 0; i < RINGTEST_NR_CTX; i++)
		EXPECT_LT(0, ck->raw.per_ctx[i]) TH_LOG("RAW context %zu", i);
	for (i = 0; i < NR_STRESS_KINDS; i++) {
		if (!driver && !strncmp(stress_kinds[i].name, "drv.", 4))
			continue;
		EXPECT_LT(0, ck->spans[i]) TH_LOG("%s", stress_kinds[i].name);
	}
}

/* --- mmap reader, CPU hotplug, the span driver, sampler changes --- */

struct mmap_reader {
	struct rings rs;
	struct stress_ck *ck;
	int stop;
};

static void *mmap_reader_thread(void *arg)
{
	struct mmap_reader *m = arg;

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		stress_drain_mmap(&m->rs, m->ck);
		usleep(500);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, mmap_hotplug_driver, 1800)
{
	static struct mmap_reader m;
	int hotplug = sysconf(_SC_NPROCESSORS_ONLN) >= 2 && !access(CPU1_ONLINE, W_OK);
	struct otel_cpu_stats s = { 0 };
	double until = stress_until();
	int rounds = 0;

	if (!hotplug)
		TH_LOG("no CPU 1 to take offline: hotplug left out");
	m.ck = &self->ck;
	m.stop = 0;
	ASSERT_EQ(0, rings_map(&m.rs, self->fd));
	ASSERT_EQ(0, bg_start(&self->bg, mmap_reader_thread, &m, &m.stop));
	ASSERT_EQ(0, stress_set("run", 1));
	do {
		ASSERT_EQ(0, stress_flow(1000));
		ASSERT_EQ(0, vm_load_module(STRESS_DRV_KO, NULL));
		/* the driver pins oteltrace while it is loaded */
		EXPECT_EQ(0, access("/sys/module/oteltrace/holders/otel_stress_drv", F_OK));
		ASSERT_EQ(0, stress_flow(1000));
		if (hotplug)
			ASSERT_EQ(0, cpu1_online(0));
		ASSERT_EQ(0, set_sampler(self->fd, OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO,
					 OTEL_RATIO_ONE / 2));
		ASSERT_EQ(0, stress_flow(1000));
		/* the driver's kthreads sleep inside spans, its timers run */
		ASSERT_EQ(0, drv_unload());
		ASSERT_EQ(0, vm_load_module(STRESS_DRV_KO, "period_us=500"));
		ASSERT_EQ(0, stress_flow(1000));
		if (hotplug) {
			EXPECT_EQ(0, m.rs.prod[1]->online);
			ASSERT_EQ(0, cpu1_online(1));
			EXPECT_EQ(1, m.rs.prod[1]->online);
		}
		ASSERT_EQ(0, set_sampler(self->fd, OTEL_SAMPLER_ALWAYS_OFF, 0));
		ASSERT_EQ(0, stress_flow(1000));
		ASSERT_EQ(0, set_sampler(self->fd, OTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 0));
		ASSERT_EQ(0, drv_unload());
		/* back on their CPUs after the hotplug */
		ASSERT_EQ(0, stress_set("run", 0));
		ASSERT_EQ(0, stress_set("run", 1));
		ASSERT_EQ(0, stress_flow(1000));
		rounds++;
	} while (now_s() < until);
	TH_LOG("%d rounds", rounds);
	ASSERT_EQ(0, stress_set("run", 0));
	ASSERT_EQ(0, bg_stop(&self->bg));
	stress_drain_mmap(&m.rs, m.ck);
	expect_exact(_metadata, self->fd, &self->ck, 0, 0, "mmap", &s);
	expect_every_writer(_metadata, &self->ck, 1);
	EXPECT_LT(0, s.dropped_full);	/* the reader was overrun */
	rings_unmap(&m.rs);
}

/* --- read() reader, resizes, overwrite mode, snapshot, clear, enable --- */

struct read_reader {
	int fd;
	struct stress_ck *ck;
	int stop, pause, paused;
	long err;
};

static void *read_reader_thread(void *arg)
{
	struct read_reader *r = arg;
	long n;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&r->pause, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&r->paused, 1, __ATOMIC_RELEASE);
			usleep(1000);
			continue;
		}
		__atomic_store_n(&r->paused, 0, __ATOMIC_RELEASE);
		n = stress_drain_read(r->fd, r->ck);
		if (n < 0 && !r->err)
			r->err = n;
		usleep(500);
	}
	return NULL;
}

/*
 * The reader stops between two read() calls (1) or goes on (0); returns
 * once it has (0) or -ETIMEDOUT.
 */
static int reader_pause(struct read_reader *r, int on)
{
	double end = now_s() + 60;

	__atomic_store_n(&r->pause, on, __ATOMIC_RELEASE);
	while (__atomic_load_n(&r->paused, __ATOMIC_ACQUIRE) != on) {
		if (now_s() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

TEST_F_TIMEOUT(stress, read_resize_mode_clear, 1800)
{
	static struct read_reader r;
	int hotplug = sysconf(_SC_NPROCESSORS_ONLN) >= 2 && !access(CPU1_ONLINE, W_OK);
	double until = stress_until();
	uint64_t read_base = 0, overwritten = 0, discarded = 0;
	struct otel_cpu_stats s = { 0 };
	long long att_base = 0;
	int rounds = 0;

	r.fd = self->fd;
	r.ck = &self->ck;
	r.stop = r.pause = r.paused = 0;
	r.err = 0;
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, bg_start(&self->bg, read_reader_thread, &r, &r.stop));
	ASSERT_EQ(0, stress_set("run", 1));
	do {
		ASSERT_EQ(0, stress_flow(1000));
		/*
		 * resizes under load, the driver's spans in flight, CPU 1
		 * going and coming: what no reader had is discarded
		 */
		ASSERT_EQ(0, vm_load_module(STRESS_DRV_KO, NULL));
		if (hotplug)
			ASSERT_EQ(0, cpu1_online(0));
		ASSERT_EQ(0, set_cfg(self->fd, -1, -1, -1, -1, 65536));
		ASSERT_EQ(0, stress_flow(1000));
		if (hotplug)
			ASSERT_EQ(0, cpu1_online(1));
		ASSERT_EQ(0, set_cfg(self->fd, -1, -1, -1, -1, 32768));
		ASSERT_EQ(0, stress_flow(1000));
		ASSERT_EQ(0, drv_unload());

		/*
		 * Overwrite mode, read in a snapshot only: a record read live
		 * could be overwritten afterwards and counted twice.
		 */
		ASSERT_EQ(0, reader_pause(&r, 1));
		ASSERT_EQ(0, set_cfg(self->fd, -1, OTEL_MODE_OVERWRITE, -1, -1, -1));
		ASSERT_EQ(0, stress_flow(2000));
		ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SNAPSHOT));
		ASSERT_LE(0, stress_drain_read(self->fd, &self->ck));
		ASSERT_EQ(0, set_cfg(self->fd, -1, OTEL_MODE_DISCARD, -1, -1, -1));
		ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_RESUME));
		ASSERT_EQ(0, reader_pause(&r, 0));
		ASSERT_EQ(0, stress_flow(1000));

		/* clear: writers stopped, everything read, the count restarts */
		ASSERT_EQ(0, stress_set("run", 0));
		ASSERT_EQ(0, reader_pause(&r, 1));
		ASSERT_LE(0, stress_drain_read(self->fd, &self->ck));
		expect_exact(_metadata, self->fd, &self->ck, att_base, read_base,
			     "before clear", &s);
		overwritten += s.overwritten;
		discarded += s.discarded;
		ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_CLEAR));
		att_base = stress_param("attempted");
		read_base = stress_read(&self->ck);

		/*
		 * enable/disable (a static key) with the writers stopped and
		 * the reader paused: in between, RAW records only
		 */
		ASSERT_EQ(0, set_cfg(self->fd, 0, -1, -1, -1, -1));
		ASSERT_EQ(0, reader_pause(&r, 0));
		ASSERT_EQ(0, stress_set("run", 1));
		ASSERT_EQ(0, stress_flow(1000));
		ASSERT_EQ(0, stress_set("run", 0));
		ASSERT_EQ(0, reader_pause(&r, 1));
		ASSERT_EQ(0, set_cfg(self->fd, 1, -1, -1, -1, -1));
		ASSERT_EQ(0, reader_pause(&r, 0));
		ASSERT_EQ(0, stress_set("run", 1));
		ASSERT_EQ(0, set_cfg(self->fd, -1, -1, -1, -1, 16384));
		ASSERT_EQ(0, stress_flow(1000));
		rounds++;
	} while (now_s() < until);
	TH_LOG("%d rounds", rounds);
	ASSERT_EQ(0, stress_set("run", 0));
	ASSERT_EQ(0, bg_stop(&self->bg));
	EXPECT_EQ(0, r.err);
	ASSERT_LE(0, stress_drain_read(self->fd, &self->ck));
	expect_exact(_metadata, self->fd, &self->ck, att_base, read_base,
		     "after clear", &s);
	expect_every_writer(_metadata, &self->ck, 1);
	/* overwrite mode lapped the rings, resizes threw records away */
	EXPECT_LT(0, overwritten + s.overwritten);
	EXPECT_LT(0, discarded + s.discarded);
}

/* --- oteld killed while reading --- */

struct oteld_run {
	pid_t pid;
	char dir[64], err[96], stats[96];
};

static int oteld_start(struct oteld_run *o)
{
	const char *argv[] = { vm_path(OTELD_BIN), "--no-export", "--stats-file",
			       o->stats, NULL };
	int fd;

	strcpy(o->dir, "/tmp/stress-oteld-XXXXXX");
	if (!mkdtemp(o->dir))
		return -errno;
	snprintf(o->err, sizeof(o->err), "%s/stderr", o->dir);
	snprintf(o->stats, sizeof(o->stats), "%s/stats.json", o->dir);
	o->pid = fork();
	if (o->pid < 0)
		return -errno;
	if (!o->pid) {
		setenv("ASAN_OPTIONS", "halt_on_error=1:detect_leaks=1", 1);
		setenv("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1", 1);
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		fd = open(o->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return 0;
}

/* A counter of oteld's --stats-file ("name":N); -1 if missing. */
static long long oteld_stat(struct oteld_run *o, const char *name)
{
	char buf[4096], key[64], *p;
	long long v = -1;
	size_t n;
	FILE *f = fopen(o->stats, "r");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(buf, key);
	if (p)
		v = strtoll(p + strlen(key), NULL, 10);
	return v;
}

/* No sanitizer report in oteld's stderr (else it goes to the log). */
static int sanitizers_quiet(struct __test_metadata *_metadata,
			    struct oteld_run *o)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(o->err, "r");

	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (strstr(buf, "Sanitizer") || strstr(buf, "runtime error")) {
		TH_LOG("oteld stderr:\n%s", buf);
		return 0;
	}
	return 1;
}

static void oteld_cleanup(struct oteld_run *o)
{
	unlink(o->err);
	unlink(o->stats);
	rmdir(o->dir);
}

/*
 * Has oteld read every ring up to where @target[] says (the producer
 * positions when it started), and taken something?
 */
static int caught_up(struct rings *rs, const uint64_t *target,
		     const uint64_t *from)
{
	int moved = 0;
	unsigned int cpu;
	uint64_t cons;

	for (cpu = 0; cpu < rs->nr; cpu++) {
		cons = __atomic_load_n(&rs->cons[cpu]->consumer_pos, __ATOMIC_ACQUIRE);
		if (cons < target[cpu])
			return 0;
		moved |= cons > from[cpu];
	}
	return moved;
}

/*
 * Count and check what a reader consumed: every ring from @from[] to its
 * consumer position now, which becomes the next @from.  The writers'
 * budget keeps them from writing a whole ring past @from meanwhile, so
 * those bytes are intact.
 */
static void walk_consumed(struct __test_metadata *_metadata, struct rings *rs,
			  struct stress_ck *ck, uint64_t *from)
{
	uint64_t cons, prod;
	unsigned int cpu;

	for (cpu = 0; cpu < rs->nr; cpu++) {
		cons = __atomic_load_n(&rs->cons[cpu]->consumer_pos, __ATOMIC_ACQUIRE);
		prod = __atomic_load_n(&rs->prod[cpu]->producer_pos, __ATOMIC_ACQUIRE);
		ASSERT_LE(from[cpu], cons);
		ASSERT_GE(rs->info.ring_size, prod - from[cpu])
			TH_LOG("ring %u lapped since the walk's start", cpu);
		EXPECT_EQ(cons, stress_walk(rs, ck, cpu, from[cpu], cons));
		from[cpu] = cons;
	}
}

/*
 * Each oteld is killed once it has read what was there when it started,
 * so at most two budgets of records (<= 256 bytes each) lie past the
 * position a walk starts from: less than a ring.
 */
#define OTELD_RING	(1 << 20)
#define OTELD_BUDGET	1500

TEST_F_TIMEOUT(stress, oteld_sigkill, 1800)
{
	uint64_t from[RING_MAX_CPUS] = { 0 }, target[RING_MAX_CPUS], read_killed;
	double until = stress_until(), t0, one_s = 0, end;
	struct otel_cpu_stats s = { 0 };
	int n = 0, st, last;
	struct oteld_run o;
	unsigned int cpu;
	struct rings rs;

	if (access(vm_path(OTELD_BIN), X_OK))
		SKIP(return, "%s not built", OTELD_BIN);
	ASSERT_EQ(0, set_cfg(self->fd, -1, -1, -1, -1, OTELD_RING));
	ASSERT_EQ(0, rings_map(&rs, self->fd));
	ASSERT_EQ(0, stress_set("budget", 0));
	ASSERT_EQ(0, stress_set("run", 1));
	/* two killed at least, then one more each time there is time left */
	do {
		t0 = now_s();
		last = n >= 2 && t0 + one_s >= until;
		ASSERT_EQ(0, stress_set("budget", OTELD_BUDGET));
		for (cpu = 0; cpu < rs.nr; cpu++)
			target[cpu] = __atomic_load_n(&rs.prod[cpu]->producer_pos,
						      __ATOMIC_ACQUIRE);
		ASSERT_EQ(0, oteld_start(&o));
		if (n == 1)
			ASSERT_EQ(0, set_sampler(self->fd,
						 OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO,
						 OTEL_RATIO_ONE / 3));
		/* oteld reads while the writers write */
		end = now_s() + 300;
		while (!caught_up(&rs, target, from) && now_s() < end)
			usleep(1000);
		ASSERT_TRUE(caught_up(&rs, target, from));
		n++;
		if (!last) {
			ASSERT_EQ(0, kill(o.pid, SIGKILL));
			ASSERT_EQ(o.pid, waitpid(o.pid, &st, 0));
			EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
			walk_consumed(_metadata, &rs, &self->ck, from);
			oteld_cleanup(&o);
			one_s = now_s() - t0;
			continue;
		}
		/* the last one: writers done, oteld drains and stops */
		end = now_s() + 300;
		while (stress_param("budget") > 0 && now_s() < end)
			usleep(2000);
		ASSERT_EQ(0, stress_set("run", 0));
		read_killed = stress_read(&self->ck);
		ASSERT_EQ(0, wait_in_syscall(o.pid, o.pid, SYS_poll, 120) &&
			     wait_in_syscall(o.pid, o.pid, SYS_ppoll, 1));
		ASSERT_EQ(0, kill(o.pid, SIGTERM));
		ASSERT_EQ(o.pid, waitpid(o.pid, &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		walk_consumed(_metadata, &rs, &self->ck, from);
		/* its own count is what it consumed */
		EXPECT_EQ((long long)(stress_read(&self->ck) - read_killed),
			  oteld_stat(&o, "records"));
		ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
		EXPECT_EQ((long long)stats_dropped(&s),
			  oteld_stat(&o, "kernel_dropped"));
		EXPECT_EQ(0, oteld_stat(&o, "records_corrupt"));
		EXPECT_TRUE(sanitizers_quiet(_metadata, &o));
		oteld_cleanup(&o);
	} while (!last);
	TH_LOG("%d oteld, %d killed", n, n - 1);
	/* every record was consumed by one of them */
	for (cpu = 0; cpu < rs.nr; cpu++)
		EXPECT_EQ(rs.prod[cpu]->producer_pos, from[cpu]);
	expect_exact(_metadata, self->fd, &self->ck, 0, 0, "oteld", &s);
	expect_every_writer(_metadata, &self->ck, 0);
	rings_unmap(&rs);
}

TEST_HARNESS_MAIN
