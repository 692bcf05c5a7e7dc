// SPDX-License-Identifier: GPL-2.0
/*
 * oteld main: configuration, the source (the device's rings, or a capture
 * file with --input), privilege drop, then the reader loop on this thread
 * and the exporters on theirs.  SIGTERM/SIGINT: drain the rings, export
 * what is open (marked incomplete), flush the queue within the export
 * timeout, exit 0.
 *
 * Reading live, the reader stops taking records from the rings while the
 * export queue has no room for what a chunk of them can finish, and waits
 * for room: records it cannot queue stay in the rings, where the kernel
 * drops new ones (counted, kernel_dropped) at no cost, instead of being
 * decoded only to be dropped at the queue.  The last drain, at exit,
 * reads everything, so that every record is counted.
 */
#include <curl/curl.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "grpc.h"
#include "oteld.h"
#include "ring.h"
#include "spool.h"
#include "spool_export.h"

#define REANCHOR_MS	10000	/* re-read the clock pair this often */
#define TICK_MS		100	/* expiry checks while idle */
#define PUSH_BATCH	64	/* spans queued under one lock */

static volatile sig_atomic_t stopping;
static bool force_anchor;

struct relay {
	struct config cfg;
	struct resource res;
	struct ring_reader *ring;
	struct capture *input, *capture;
	struct assembler *as;
	struct queue *q;
	struct exporter *exp;
	struct spool_exporter *spool;	/* --queue-dir: instead of exp */
	uint64_t last_anchor, last_stats;
	int clock_fd;		/* timerfd: readable once the wall clock is set */
	bool replay_passes;	/* the capture marks the end of each pass */
	/*
	 * Live: the last pass stopped for lack of room in the queue (stalled);
	 * read on once room_go spans fit; stop when fewer than room_low do.
	 * final: the last drain, which reads everything.
	 */
	bool stalled, final;
	size_t room_low, room_go;
	/* spans the assembler finished, queued after each call to it */
	struct span *finished[PUSH_BATCH];
	size_t nr_finished;
};

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Queue the spans the assembler finished; called after each call to it. */
static void push_finished(struct relay *r)
{
	if (!r->nr_finished)
		return;
	queue_push_batch(r->q, r->finished, r->nr_finished);
	r->nr_finished = 0;
}

static void sink(struct span *s, void *arg)
{
	struct relay *r = arg;

	if (!r->q) {
		span_free(s);	/* --no-export */
		return;
	}
	r->finished[r->nr_finished++] = s;
	if (r->nr_finished == PUSH_BATCH)
		push_finished(r);
}

/* Records read live: false when the queue has no room for more. */
static bool on_records(const void *p, size_t len, void *arg)
{
	struct relay *r = arg;

	if (r->capture)
		capture_write(r->capture, CAPTURE_RECORDS, p, len);
	assembler_feed(r->as, p, len);
	push_finished(r);
	return !r->q || r->final || queue_room(r->q) >= r->room_low;
}

/*
 * The room the reader keeps in the queue: a chunk of SPAN records, or a
 * batch if more, but never so much that a queue holding less than a batch
 * (which no consumer takes before the schedule delay) is "full".
 */
static void set_room(struct relay *r)
{
	size_t q = r->cfg.max_queue, batch = r->cfg.max_batch;
	size_t chunk = RING_CHUNK_BYTES / sizeof(struct otel_rec_span);
	size_t most = q > batch ? q - batch : 0;

	r->room_low = chunk > batch ? chunk : batch;
	if (r->room_low > most)
		r->room_low = most;
	r->room_go = 2 * r->room_low < most ? 2 * r->room_low : most;
}

static void set_kstats(const struct otel_cpu_stats *k)
{
	atomic_store(&stats.kernel_dropped, k->dropped_full +
		     k->dropped_too_big + k->dropped_nested +
		     k->dropped_disabled);
	atomic_store(&stats.kernel_overwritten, k->overwritten);
}

static void report(struct relay *r, const char *when)
{
	stats_log(when);
	if (r->cfg.stats_file && stats_write(r->cfg.stats_file))
		log_msg("%s: cannot write the counters: %s", r->cfg.stats_file,
			strerror(errno));
}

/*
 * A timerfd on CLOCK_REALTIME, armed far in the future with
 * TFD_TIMER_CANCEL_ON_SET: any step of the wall clock (settimeofday,
 * clock_settime, an NTP step, resume from suspend) cancels it, which makes
 * it readable (read() fails with ECANCELED).  Re-armed after each step.
 */
static int clock_watch_arm(int fd)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)1 << 40;	/* never expires */
	return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
			       &its, NULL);
}

static int clock_watch_open(void)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && clock_watch_arm(fd)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_msg("timerfd: %s: a wall-clock step is noticed within %d s",
			strerror(errno), REANCHOR_MS / 1000);
	return fd;
}

/* Was the wall clock stepped since the last call?  Re-arms the watch. */
static bool clock_stepped(struct relay *r)
{
	uint64_t n;

	if (r->clock_fd < 0)
		return false;
	if (read(r->clock_fd, &n, sizeof(n)) >= 0 || errno != ECANCELED)
		return false;
	if (clock_watch_arm(r->clock_fd))
		log_msg("timerfd: %s", strerror(errno));
	atomic_fetch_add(&stats.clock_steps, 1);
	return true;
}

/* Things done every so often in live mode: clock anchor, kernel counters. */
static void housekeeping(struct relay *r, bool force)
{
	uint64_t now = mono_ms();
	struct otel_cpu_stats k;
	struct anchor a;

	if (clock_stepped(r)) {
		log_debug("the wall clock was set: re-anchoring");
		force_anchor = true;
	}
	if (force || force_anchor || now - r->last_anchor >= REANCHOR_MS) {
		force_anchor = false;
		r->last_anchor = now;
		if (!ring_clock(r->ring, &a)) {
			assembler_set_anchor(r->as, &a);
			if (r->capture)
				capture_write(r->capture, CAPTURE_ANCHOR, &a,
					      sizeof(a));
		}
	}
	if (force || now - r->last_stats >= (uint64_t)r->cfg.stats_interval_ms) {
		r->last_stats = now;
		if (!ring_kstats(r->ring, &k)) {
			set_kstats(&k);
			if (r->capture)
				capture_write(r->capture, CAPTURE_KSTATS, &k,
					      sizeof(k));
		}
		if (!force)
			report(r, "periodic");
	}
}

/*
 * How long poll() may sleep: a tick while spans are open (their timers) or
 * wait for their task's name (the end of the next pass lets them go), else
 * until the next housekeeping, so an idle relay stays asleep.
 */
static int poll_timeout(struct relay *r)
{
	uint64_t now = mono_ms(), next;

	if (assembler_open(r->as) || assembler_held(r->as))
		return TICK_MS;
	next = r->last_anchor + REANCHOR_MS;
	if (r->last_stats + r->cfg.stats_interval_ms < next)
		next = r->last_stats + r->cfg.stats_interval_ms;
	return next > now ? (int)(next - now) : 0;
}

/*
 * One pass over every ring, then what the end of a pass releases.  A pass
 * stopped for lack of room is not a pass: the rings it did not reach may
 * hold the COMM records that spans wait for.
 */
static void drain_pass(struct relay *r)
{
	ring_drain(r->ring, on_records, r, &r->stalled);
	if (!r->stalled) {
		if (r->capture)
			capture_write(r->capture, CAPTURE_PASS, NULL, 0);
		assembler_pass_end(r->as);
	}
	push_finished(r);
}

static int run_live(struct relay *r)
{
	int ret, wait;

	while (!stopping) {
		wait = poll_timeout(r);
		if (r->stalled) {
			/* records wait in the rings: wait for room instead */
			queue_wait_room(r->q, r->room_go,
					wait < TICK_MS ? wait : TICK_MS);
		} else {
			ret = ring_wait2(r->ring, r->clock_fd, wait);
			if (ret < 0 && errno != EINTR) {
				log_msg("poll: %s", strerror(errno));
				return -1;
			}
		}
		/*
		 * A step of the wall clock first: records read from now on
		 * were written after it, and are converted with the new
		 * anchor (an anchor holds from the moment it was read).
		 */
		housekeeping(r, false);
		if (!r->stalled || queue_room(r->q) >= r->room_go)
			drain_pass(r);
		assembler_expire(r->as, mono_ns());
		push_finished(r);
	}
	/* the last records, all of them, and the final counters */
	r->final = true;
	housekeeping(r, true);
	drain_pass(r);
	return 0;
}

static int run_replay(struct relay *r)
{
	struct buf frame = { 0 };
	uint32_t type;
	int ret = 0;

	/*
	 * A capture that says it marks every pass is replayed pass by pass
	 * from its first frame; one that does not (older oteld, hand-made)
	 * ends a pass after each RECORDS frame until a PASS frame shows up.
	 */
	r->replay_passes = capture_flags(r->input) & CAPTURE_F_PASSES;
	while (!stopping && (ret = capture_next(r->input, &type, &frame)) > 0) {
		/* a copy keeps the anchors and counters: it replays the same */
		if (r->capture && (type == CAPTURE_RECORDS ||
				   type == CAPTURE_ANCHOR ||
				   type == CAPTURE_KSTATS))
			capture_write(r->capture, type, frame.data, frame.len);
		switch (type) {
		case CAPTURE_RECORDS:
			assembler_feed(r->as, frame.data, frame.len);
			/* a capture without passes: every frame is one */
			if (!r->replay_passes)
				assembler_pass_end(r->as);
			push_finished(r);
			break;
		case CAPTURE_PASS:
			if (r->capture)
				capture_write(r->capture, type, NULL, 0);
			r->replay_passes = true;
			assembler_pass_end(r->as);
			push_finished(r);
			break;
		case CAPTURE_ANCHOR:
			if (frame.len == sizeof(struct anchor))
				assembler_set_anchor(r->as,
					(const struct anchor *)frame.data);
			break;
		case CAPTURE_KSTATS:
			if (frame.len == sizeof(struct otel_cpu_stats))
				set_kstats((const struct otel_cpu_stats *)
					   frame.data);
			break;
		default:	/* frames of a newer oteld */
			break;
		}
		/* the replay clock is the records' own */
		assembler_expire(r->as, assembler_last_time(r->as));
		push_finished(r);
		if (ret == CAPTURE_CUT)
			break;	/* kept what there was: a run-time failure */
	}
	buf_free(&frame);
	return stopping ? 0 : ret ? -1 : 0;
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		log_msg("--user %s: no such user", user);
		return -1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		log_msg("--user %s: %s", user, strerror(errno));
		return -1;
	}
	log_debug("running as %s", user);
	return 0;
}

/* The queue dir, made before --user drops privileges (spool.c). */
static int queue_dir_prepare(const struct config *c)
{
	char why[256];

	if (!spool_dir_prepare(c->queue_dir, c->user, why, sizeof(why)))
		return 0;
	log_msg("--queue-dir %s: %s", c->queue_dir, why);
	return -1;
}

static int open_source(struct relay *r)
{
	struct anchor a;
	uint32_t nr_cpus = 0;

	if (r->cfg.input) {
		r->input = capture_open(r->cfg.input, &a);
		if (!r->input)
			return -1;
	} else {
		r->ring = ring_open(r->cfg.device);
		if (!r->ring)
			return -1;
		nr_cpus = ring_nr_cpus(r->ring);
		/* timers on CLOCK_MONOTONIC, never on times in records */
		assembler_set_live(r->as);
		assembler_set_max_record(r->as, ring_max_record(r->ring));
		/* before the first anchor: a step after it is noticed */
		r->clock_fd = clock_watch_open();
		if (ring_clock(r->ring, &a)) {
			log_msg("OTEL_IOC_CLOCK: %s", strerror(errno));
			return -1;
		}
		r->last_anchor = mono_ms();
	}
	assembler_set_anchor(r->as, &a);
	if (r->cfg.capture) {
		/*
		 * Live reading ends every pass with a PASS frame; a copy of a
		 * capture has them only if its input does.
		 */
		r->capture = capture_create(r->cfg.capture, &a, nr_cpus,
					    r->input ? capture_flags(r->input) :
					    CAPTURE_F_PASSES);
		if (!r->capture)
			return -1;
	}
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * What the queue still holds once the exporter stopped (it drains the
 * queue, so only a start-up failure leaves any): counted, never lost
 * silently.
 */
static void count_unsent(struct relay *r)
{
	size_t n = r->q ? queue_len(r->q) : 0;

	if (n) {
		atomic_fetch_add(&stats.dropped_export_failed, n);
		log_msg("dropped %zu spans: no exporter to send them", n);
	}
}

/* After --user: oteld can still read its TLS files and write its stats. */
static int check_files(struct relay *r)
{
	char who[300];

	if (r->cfg.user) {
		snprintf(who, sizeof(who), "--user %s", r->cfg.user);
		if (config_files_readable(&r->cfg, who))
			return -1;
	}
	if (r->cfg.stats_file && stats_write(r->cfg.stats_file)) {
		fprintf(stderr, "oteld: --stats-file: cannot write '%s': %s\n",
			r->cfg.stats_file, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct relay r;
	int ret, status = OTELD_EXIT_FAILURE;
	bool dir_failed = false;

	/* first, so a SIGTERM during a slow start still means "drain, exit 0" */
	install_signals();
	memset(&r, 0, sizeof(r));
	r.clock_fd = -1;
	ret = config_load(&r.cfg, argc, argv);
	if (ret) {
		config_free(&r.cfg);
		return ret > 0 ? 0 : OTELD_EXIT_USAGE;
	}
	if (r.cfg.disabled) {
		log_msg("OTEL_SDK_DISABLED=true: nothing to do");
		config_free(&r.cfg);
		return 0;
	}
	if (resource_build(&r.res, &r.cfg)) {
		config_free(&r.cfg);
		return OTELD_EXIT_USAGE;
	}
	if (!r.cfg.no_export && !r.cfg.console) {
		const curl_version_info_data *v =
			curl_version_info(CURLVERSION_NOW);
		char why[160];

		if (libcurl_check(r.cfg.protocol, v->version_num, v->features,
				  v->version, why, sizeof(why))) {
			fprintf(stderr, "oteld: %s\n", why);
			resource_free(&r.res);
			config_free(&r.cfg);
			return OTELD_EXIT_USAGE;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r.as = assembler_new(r.cfg.max_open_spans,
			     r.cfg.span_timeout_ms * 1000000ull,
			     r.cfg.grace_ms * 1000000ull, sink, &r);
	if (!r.as) {
		log_msg("out of memory for %ld open spans", r.cfg.max_open_spans);
		status = OTELD_EXIT_INTERNAL;
		goto out;
	}
	if (open_source(&r))
		goto out;
	if (r.cfg.queue_dir && queue_dir_prepare(&r.cfg))
		goto out;
	if (r.cfg.user && drop_privileges(r.cfg.user))
		goto out;
	if (check_files(&r)) {
		status = OTELD_EXIT_USAGE;
		goto out;
	}
	if (!r.cfg.no_export) {
		/*
		 * Blocks for as many spans as can be in flight.  Nothing is
		 * read before the exporter runs: a failure here loses nothing.
		 */
		status = OTELD_EXIT_INTERNAL;
		if (pool_init(r.cfg.max_queue +
			      r.cfg.exporters * r.cfg.max_batch_deep)) {
			log_msg("out of memory for the span pool");
			goto out;
		}
		r.q = queue_new(r.cfg.max_queue, r.cfg.max_batch,
			       r.cfg.schedule_delay_ms);
		if (r.q)
			queue_set_deep_batch(r.q, r.cfg.max_batch_deep);
		set_room(&r);
		if (r.q && r.cfg.input && !r.cfg.replay_drop)
			queue_set_blocking(r.q, true);
		if (r.q && r.cfg.queue_dir)
			r.spool = spool_exporter_start(&r.cfg, &r.res, r.q,
						       &dir_failed);
		else if (r.q)
			r.exp = exporter_start(&r.cfg, &r.res, r.q);
		if (dir_failed) {
			/* not usable or another oteld's: said above */
			status = OTELD_EXIT_FAILURE;
			goto out;
		}
		if (!r.exp && !r.spool) {
			log_msg("cannot start the exporter: exiting (status %d)",
				OTELD_EXIT_INTERNAL);
			goto out;
		}
	}
	log_debug("exporting to %s", r.cfg.console ? "stdout" :
		  r.cfg.no_export ? "nowhere" : r.cfg.endpoint);
	r.last_stats = mono_ms();
	ret = r.ring ? run_live(&r) : run_replay(&r);
	/* what is still open goes out as it is, marked incomplete */
	assembler_flush(r.as);
	push_finished(&r);
	status = ret ? OTELD_EXIT_FAILURE : 0;
out:
	exporter_stop(r.exp);
	spool_exporter_stop(r.spool);
	count_unsent(&r);
	if (capture_close(r.capture))
		status = OTELD_EXIT_FAILURE;
	report(&r, "exit");
	queue_free(r.q);
	assembler_free(r.as);
	pool_free();
	if (r.input)
		capture_close(r.input);
	ring_close(r.ring);
	if (r.clock_fd >= 0)
		close(r.clock_fd);
	resource_free(&r.res);
	config_free(&r.cfg);
	curl_global_cleanup();
	return status;
}
