// SPDX-License-Identifier: GPL-2.0
/*
 * Device fuzzer: /dev/oteltrace and /dev/oteltrace-ctx under hostile
 * callers, while otel_ringtest.ko writes records on every CPU.
 *
 *   sweep      every ioctl number of oteltrace's magic (nr 0..0x20, each
 *              direction, sizes 0, 1, sizeof-1, sizeof, sizeof+1, 4096,
 *              16383) and random other magics, with arguments NULL,
 *              unmapped, kernel and non-canonical addresses, a read-only
 *              page, a struct running into an inaccessible page, and
 *              buffers of zeros, ones and boundary values; then each
 *              field of each ioctl struct at its boundary values
 *   ioctls     random ioctls from several threads on shared and separate
 *              fds, some arguments in pages another thread keeps
 *              unmapping and mapping again
 *   io         mmap (any offset, length, protection), touching the pages,
 *              hostile consumer positions, munmap, read (any length, bad
 *              buffers), poll, open, dup and close from several threads on
 *              shared and separate fds
 *   config     resizes, mode, sampler and wake-up changes, clear, snapshot,
 *              resume and flush racing with readers that mmap and read;
 *              every read() must return whole records
 *   user       sweep, ioctls and io again as an unprivileged user (uid
 *              65534) in the module's group= gid, which may open the device
 *
 * The assertion is mostly the kernel's: scripts/vm fails the run on any
 * oops, BUG, WARN, lockdep or KASAN report; a hang fails the harness's
 * timeout.  Here: every call returns success or a negative errno (no
 * specific errno is asserted: the control plane's rules may change), read()
 * returns whole records, the module unloads at the end, and a span is
 * recorded and read back after it all.
 *
 * DEV_FUZZ_SECONDS (default 15) is the time the random phases share;
 * DEV_FUZZ_SEED replays a run's choices (the seed is printed first; the
 * threads' interleaving is the scheduler's).
 *
 * Under QEMU TCG, switching a static key while other vCPUs run its sites
 * livelocks the guest (docs/testing.md), so no call here changes
 * otel_config.enabled or noop_spans or switches a bridge on: SET_CONFIG
 * keeps the enabled and noop_spans settings read at the start (a bad
 * noop_spans goes through: EINVAL), SET_BRIDGE with a real bridge's name
 * asks for OFF.
 */
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "ring_util.h"
#include "span_util.h"
#include "dev_fuzz.h"

#define FUZZ_GID	4343
#define FUZZ_UID	65534
#define NR_WORKERS	4
#define MAX_MAPS	16
#define MAX_FDS		8
#define SHARED_FDS	4

/* ---- workers ---- */
enum phase { PH_IOCTLS, PH_IO, PH_CONFIG_READER, PH_CONFIG_WRITER };

struct map {
	uint8_t *p;
	size_t len;
	bool readable, writable;
};

struct worker {
	pthread_t thread;
	struct rnd r;
	enum phase phase;
	int id;
	uint8_t *buf;		/* BUF_BYTES, then a PROT_NONE page */
	int fds[MAX_FDS];
	unsigned int nr_fds;
	struct map maps[MAX_MAPS];
	unsigned int nr_maps;
	unsigned long ops, reads, records;
};

static int shared[SHARED_FDS] = { -1, -1, -1, -1 };

static int pick_fd(struct worker *w)
{
	if (w->nr_fds && below(&w->r, 2))
		return w->fds[below(&w->r, w->nr_fds)];
	return shared[below(&w->r, SHARED_FDS)];
}

static void close_own(struct worker *w, unsigned int i)
{
	check_ret(close(w->fds[i]), "close", 0);
	w->fds[i] = w->fds[--w->nr_fds];
}

static void open_own(struct worker *w)
{
	static const int modes[] = { O_RDONLY, O_RDWR, O_WRONLY };
	int fd;

	if (w->nr_fds == MAX_FDS)
		close_own(w, below(&w->r, w->nr_fds));
	if (below(&w->r, 3) == 0)
		fd = dup(shared[below(&w->r, SHARED_FDS)]);
	else
		fd = open(below(&w->r, 4) ? DEV : CTX,
			  modes[below(&w->r, 3)] | O_CLOEXEC |
			  (below(&w->r, 2) ? O_NONBLOCK : 0));
	check_ret(fd, "open", 0);
	if (fd >= 0)
		w->fds[w->nr_fds++] = fd;
}

static void unmap_own(struct worker *w, unsigned int i)
{
	check_ret(munmap(w->maps[i].p, w->maps[i].len), "munmap", 0);
	w->maps[i] = w->maps[--w->nr_maps];
}

/* Read a word of every page of a mapping (they are all inserted). */
static void touch(const struct map *m)
{
	size_t off;

	for (off = 0; off < m->len; off += page)
		(void)*(volatile const uint64_t *)(m->p + off);
}

static void random_mmap(struct worker *w, bool hostile)
{
	struct otel_info info;
	uint64_t stride_pages, total, pgoff, pages;
	int fd = pick_fd(w), prot;
	struct map m;
	void *p;

	if (w->nr_maps == MAX_MAPS)
		unmap_own(w, below(&w->r, w->nr_maps));
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, OTEL_IOC_INFO, &info) || !info.mmap_stride)
		info.mmap_stride = 2 * page + (64 << 10);
	if (!info.nr_cpus)
		info.nr_cpus = 1;
	stride_pages = info.mmap_stride / page;
	total = stride_pages * info.nr_cpus;
	switch (below(&w->r, 4)) {
	case 0:		/* one ring's consumer page */
		pgoff = below(&w->r, info.nr_cpus) * stride_pages;
		pages = 1;
		break;
	case 1:		/* one ring's producer page and data */
		pgoff = below(&w->r, info.nr_cpus) * stride_pages + 1;
		pages = stride_pages - 1;
		break;
	case 2:		/* everything, or past it */
		pgoff = 0;
		pages = total + below(&w->r, 2);
		break;
	default:
		pgoff = below(&w->r, total + 2);
		pages = 1 + below(&w->r, below(&w->r, 2) ? 4 : total + 1);
		break;
	}
	switch (below(&w->r, 10)) {
	case 0:
		prot = PROT_NONE;
		break;
	case 1:
	case 2:
	case 3:
		prot = PROT_READ | PROT_WRITE;
		break;
	default:
		prot = PROT_READ;
		break;
	}
	p = mmap(NULL, pages * page, prot,
		 below(&w->r, 10) ? MAP_SHARED : MAP_PRIVATE, fd, pgoff * page);
	if (p == MAP_FAILED) {
		check_ret(-1, "mmap", pgoff);
		return;
	}
	atomic_fetch_add(&nr_mapped, 1);
	m.p = p;
	m.len = pages * page;
	m.readable = prot & PROT_READ;
	m.writable = prot & PROT_WRITE;
	if (m.readable)
		touch(&m);
	if (m.writable && hostile) {
		/* a hostile consumer: any position */
		static const uint64_t pos[] = { 0, 8, 4096, 1ull << 63, ~0ull,
						~7ull };
		uint64_t v = below(&w->r, 2) ? pos[below(&w->r, 6)] : rnd(&w->r);

		memcpy(m.p, &v, sizeof(v));
	}
	w->maps[w->nr_maps++] = m;
}

/* Split, move or protect one of the worker's mappings. */
static void reshape_map(struct worker *w)
{
	struct map *m;
	void *p;
	size_t cut;

	if (!w->nr_maps)
		return;
	m = &w->maps[below(&w->r, w->nr_maps)];
	switch (below(&w->r, 4)) {
	case 0:		/* unmap the first page: the rest stays mapped */
		if (m->len <= (size_t)page)
			return;
		check_ret(munmap(m->p, page), "munmap", 1);
		m->p += page;
		m->len -= page;
		break;
	case 1:		/* unmap a page inside: the mapping splits in two */
		if (m->len < 3 * (size_t)page || w->nr_maps == MAX_MAPS)
			return;
		cut = (1 + below(&w->r, m->len / page - 2)) * page;
		check_ret(munmap(m->p + cut, page), "munmap", 2);
		w->maps[w->nr_maps].p = m->p + cut + page;
		w->maps[w->nr_maps].len = m->len - cut - page;
		w->maps[w->nr_maps].readable = m->readable;
		w->maps[w->nr_maps].writable = m->writable;
		w->nr_maps++;
		m->len = cut;
		break;
	case 2:		/* move it */
		p = mremap(m->p, m->len, m->len + (below(&w->r, 2) ? page : 0),
			   MREMAP_MAYMOVE);
		if (p == MAP_FAILED) {
			check_ret(-1, "mremap", 0);
			return;
		}
		m->p = p;
		if (m->readable)
			touch(m);
		break;
	default:	/* ask for write access it may not be given */
		if (!mprotect(m->p, m->len, PROT_READ | PROT_WRITE)) {
			m->readable = true;
			m->writable = true;
			return;
		}
		check_ret(-1, "mprotect", 0);
		break;
	}
}

/* read() returned @n bytes at @b: whole records, back to back. */
static void check_records(struct worker *w, const uint8_t *b, size_t n)
{
	const struct otel_rec_hdr *h;
	size_t off = 0;

	while (off < n) {
		h = (const void *)(b + off);
		if (n - off < sizeof(*h) || h->size < sizeof(*h) ||
		    h->size % 8 || h->size > n - off) {
			violation("read() of %zu bytes: a record cut at %zu "
				  "(type %u size %u)", n, off,
				  n - off >= 4 ? h->type : 0,
				  n - off >= 4 ? h->size : 0);
			return;
		}
		off += h->size;
		w->records++;
	}
}

static void random_read(struct worker *w, bool check)
{
	static const size_t lens[] = { 0, 1, 7, 8, 40, 4095, 4096, 65536 };
	size_t len = below(&w->r, 3) ? lens[below(&w->r, 8)] :
		     below(&w->r, BUF_BYTES);
	uint8_t *b = w->buf;
	ssize_t n;

	if (len > BUF_BYTES)
		len = BUF_BYTES;
	switch (below(&w->r, 8)) {
	case 0:
		b = NULL;
		break;
	case 1:
		b = noaccess;
		break;
	case 2:
		b = rdonly;
		break;
	case 3:		/* runs into the PROT_NONE page */
		b = w->buf + BUF_BYTES - (len ? 1 + below(&w->r, len) : 0);
		break;
	default:
		break;
	}
	n = read(pick_fd(w), b, len);
	check_ret(n, "read", len);
	if (n > (ssize_t)len)
		violation("read() of %zu bytes returned %zd", len, n);
	if (n > 0 && b == w->buf) {
		w->reads++;
		if (check)
			check_records(w, b, n);
	}
}

static void random_poll(struct worker *w)
{
	struct pollfd p[3];
	unsigned int i, n = 1 + below(&w->r, 3);

	for (i = 0; i < n; i++) {
		p[i].fd = pick_fd(w);
		p[i].events = below(&w->r, 2) ? POLLIN :
			      POLLIN | POLLOUT | POLLPRI;
	}
	check_ret(poll(p, n, below(&w->r, 10)), "poll", n);
}

/* A child that inherits every mapping and exits at once. */
static void fork_exit(void)
{
	pid_t pid = fork();

	if (!pid)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* The config writer, against mappers: enabled kept, noop_spans only bad. */
static void config_change(struct worker *w)
{
	static const uint64_t rings[] = { 16 << 10, 32 << 10, 64 << 10,
					  128 << 10, 3 << 14 };
	struct otel_config c;
	int fd = shared[0];

	switch (below(&w->r, 8)) {
	case 0:
		check_ret(ioctl(fd, OTEL_IOC_CLEAR), "ioctl", OTEL_IOC_CLEAR);
		return;
	case 1:
		check_ret(ioctl(fd, OTEL_IOC_SNAPSHOT), "ioctl",
			  OTEL_IOC_SNAPSHOT);
		return;
	case 2:
		check_ret(ioctl(fd, OTEL_IOC_RESUME), "ioctl",
			  OTEL_IOC_RESUME);
		return;
	case 3:
		check_ret(ioctl(fd, OTEL_IOC_FLUSH), "ioctl", OTEL_IOC_FLUSH);
		return;
	default:
		break;
	}
	if (ioctl(fd, OTEL_IOC_GET_CONFIG, &c)) {
		check_ret(-1, "ioctl", OTEL_IOC_GET_CONFIG);
		return;
	}
	c.enabled = cfg0.enabled;
	c.noop_spans = cfg0.noop_spans;
	if (below(&w->r, 2))
		c.ring_size = rings[below(&w->r, 5)];
	if (below(&w->r, 2))
		c.mode = below(&w->r, 3);
	if (below(&w->r, 3) == 0) {
		c.sampler = below(&w->r, 7);
		c.ratio = below(&w->r, OTEL_RATIO_ONE + 2);
	}
	if (below(&w->r, 2)) {
		const uint32_t wb[] = { 0, 8, 4096, c.ring_size,
					2 * c.ring_size, ~0u };

		c.wakeup_bytes = wb[below(&w->r, 6)];
	}
	if (below(&w->r, 4) == 0)
		c.begin_records = below(&w->r, 3);
	if (below(&w->r, 8) == 0)	/* a bad value only: EINVAL */
		c.noop_spans = 2 + below(&w->r, 2) * 0x7ffffffe;
	if (!ioctl(fd, OTEL_IOC_SET_CONFIG, &c))
		atomic_fetch_add(&nr_config_set, 1);
	else
		check_ret(-1, "ioctl", OTEL_IOC_SET_CONFIG);
}

static void one_op(struct worker *w)
{
	unsigned int op = below(&w->r, 16);

	w->ops++;
	switch (w->phase) {
	case PH_IOCTLS:
		random_ioctl(&w->r, pick_fd(w), w->buf);
		if (op == 0)
			open_own(w);
		else if (op == 1 && w->nr_fds)
			close_own(w, below(&w->r, w->nr_fds));
		return;
	case PH_CONFIG_WRITER:
		config_change(w);
		return;
	case PH_CONFIG_READER:
		/* no hostile consumer positions: read() is checked */
		if (op < 3)
			random_mmap(w, false);
		else if (op < 6 && w->nr_maps)
			unmap_own(w, below(&w->r, w->nr_maps));
		else if (op < 12)
			random_read(w, true);
		else if (op < 14)
			random_poll(w);
		else
			open_own(w);
		return;
	case PH_IO:
		break;
	}
	if (op < 3)
		random_mmap(w, true);
	else if (op < 5 && w->nr_maps)
		unmap_own(w, below(&w->r, w->nr_maps));
	else if (op < 7)
		reshape_map(w);
	else if (op < 10)
		random_read(w, false);
	else if (op < 12)
		random_poll(w);
	else if (op == 12)
		open_own(w);
	else if (op == 13 && w->nr_fds)
		close_own(w, below(&w->r, w->nr_fds));
	else if (op == 14)
		random_ioctl(&w->r, pick_fd(w), w->buf);
	else if (below(&w->r, 8) == 0)
		fork_exit();
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stopping))
		one_op(w);
	while (w->nr_maps)
		unmap_own(w, w->nr_maps - 1);
	while (w->nr_fds)
		close_own(w, w->nr_fds - 1);
	return NULL;
}

/*
 * Unmaps and maps again the pages ARG_FLAP arguments point into.  Only
 * pages it holds: once unmapped, a page may go to another thread's mmap(),
 * and MAP_FIXED_NOREPLACE leaves it to that thread.
 */
static void *flapper_main(void *arg)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ,
				     PROT_NONE };
	bool held[FLAP_PAGES];
	struct rnd *r = arg;
	unsigned int k;
	uint8_t *p;
	void *q;

	for (k = 0; k < FLAP_PAGES; k++)
		held[k] = true;
	while (!atomic_load(&stopping)) {
		k = below(r, FLAP_PAGES);
		p = flap + k * page;
		if (held[k]) {
			munmap(p, page);
			held[k] = false;
			sched_yield();
		}
		q = mmap(p, page, prots[below(r, 3)], MAP_PRIVATE |
			 MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (q == p)
			held[k] = true;
		else if (q != MAP_FAILED)
			munmap(q, page);	/* a kernel without NOREPLACE */
	}
	return NULL;
}

static void sigusr1(int sig)
{
	(void)sig;
}

/*
 * Run @n workers (the first one's phase @first, the others' @rest) and the
 * flapper for @secs, signalling them every 50 ms so that none sleeps in
 * read() or poll() for long (and those calls are interrupted too); then
 * stop them.  Returns the operations done.
 */
static unsigned long run_workers(unsigned int n, enum phase first,
				 enum phase rest, double secs, uint64_t salt,
				 unsigned long *reads)
{
	struct worker w[NR_WORKERS];
	struct sigaction sa;
	struct rnd fr;
	pthread_t flapper;
	unsigned long ops = 0;
	double end = now_s() + secs;
	unsigned int i, live;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1;	/* no SA_RESTART: read() returns */
	sigaction(SIGUSR1, &sa, NULL);
	atomic_store(&stopping, false);
	rnd_init(&fr, salt * 100 + 99);
	pthread_create(&flapper, NULL, flapper_main, &fr);
	memset(w, 0, sizeof(w));
	for (i = 0; i < n; i++) {
		w[i].id = i;
		w[i].phase = i ? rest : first;
		rnd_init(&w[i].r, salt * 100 + i);
		w[i].buf = mmap(NULL, BUF_BYTES + page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w[i].buf == MAP_FAILED) {
			violation("mmap: %s", strerror(errno));
			n = i;
			break;
		}
		mprotect(w[i].buf + BUF_BYTES, page, PROT_NONE);
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	/* a signal now and then: a read() or poll() that sleeps returns */
	while (now_s() < end) {
		usleep(50000);
		for (i = 0; i < n; i++)
			pthread_kill(w[i].thread, SIGUSR1);
	}
	atomic_store(&stopping, true);
	pthread_join(flapper, NULL);
	do {
		live = 0;
		for (i = 0; i < n; i++) {
			if (!w[i].thread)
				continue;
			if (pthread_tryjoin_np(w[i].thread, NULL)) {
				pthread_kill(w[i].thread, SIGUSR1);
				live++;
			} else {
				w[i].thread = 0;
			}
		}
		if (live)
			usleep(10000);
	} while (live);
	for (i = 0; i < n; i++) {
		ops += w[i].ops;
		if (reads)
			*reads += w[i].reads;
		munmap(w[i].buf, BUF_BYTES + page);
	}
	return ops;
}

/* ---- the fixture: module, producer, memory, shared fds ---- */
FIXTURE(fuzz) {
	struct rnd r;
	uint8_t *buf;
};

static void open_shared(void)
{
	shared[0] = open(DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	shared[1] = open(DEV, O_RDONLY | O_CLOEXEC);	/* blocking reads */
	shared[2] = open(CTX, O_RDWR | O_CLOEXEC);
	shared[3] = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

static void close_shared(void)
{
	unsigned int i;

	for (i = 0; i < SHARED_FDS; i++) {
		if (shared[i] >= 0)
			close(shared[i]);
		shared[i] = -1;
	}
}

FIXTURE_SETUP(fuzz)
{
	struct otel_bridge_req b;
	int fd;

	rnd_init(&self->r, 1);
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=64 group=" "4343"));
	ASSERT_EQ(0, chown(DEV, 0, FUZZ_GID));
	/* a producer on every CPU, task and hardirq context, for the run */
	ASSERT_EQ(0, vm_load_module("tests/kmod/otel_ringtest.ko",
				    "task_records=1000000000000 task_sleep_us=2000 "
				    "hard_records=1000000000000 period_us=5000 "
				    "burst=2 min_size=40 max_size=512"));
	fd = open(DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	memset(&cfg0, 0, sizeof(cfg0));
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg0));
	ASSERT_EQ(1, cfg0.enabled);
	for (nr_bridges = 0; nr_bridges < 8; nr_bridges++) {
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.index = nr_bridges;
		if (ioctl(fd, OTEL_IOC_GET_BRIDGE, &b))
			break;
		memcpy(bridges[nr_bridges], b.name, sizeof(b.name));
		bridges[nr_bridges][sizeof(b.name) - 1] = '\0';
	}
	close(fd);
	noaccess = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	rdonly = mmap(NULL, page, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	flap = mmap(NULL, FLAP_PAGES * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->buf = mmap(NULL, BUF_BYTES + page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, noaccess);
	ASSERT_NE(MAP_FAILED, rdonly);
	ASSERT_NE(MAP_FAILED, flap);
	ASSERT_NE(MAP_FAILED, self->buf);
	memcpy(rdonly, &cfg0, sizeof(cfg0));
	ASSERT_EQ(0, mprotect(rdonly, page, PROT_READ));
	ASSERT_EQ(0, mprotect(self->buf + BUF_BYTES, page, PROT_NONE));
	open_shared();
	ASSERT_LE(0, shared[0]);
	ASSERT_LE(0, shared[1]);
	ASSERT_LE(0, shared[2]);
	ASSERT_LE(0, shared[3]);
	atomic_store(&violations, 0);
}

/* After the fuzzing: tracing still works, and the module unloads. */
static void still_works(struct __test_metadata *_metadata)
{
	struct otel_config c = cfg0;
	struct rec_span *s;
	struct rec_db db;
	int fd;

	ASSERT_EQ(0, vm_unload_module("otel_ringtest"));
	fd = rec_open();
	ASSERT_LE(0, fd);
	/* whatever the fuzzing left: writing, sampling all, empty rings */
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_RESUME));
	c.size = sizeof(c);
	c.sampler = OTEL_SAMPLER_ALWAYS_ON;
	c.ratio = OTEL_RATIO_ONE;
	EXPECT_EQ(0, ioctl(fd, OTEL_IOC_SET_CONFIG, &c)) TH_LOG("%s",
								strerror(errno));
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_CLEAR));
	ASSERT_EQ(0, vm_load_module(SPANTEST_KO, NULL));
	rec_db_init(&db);
	ASSERT_EQ(0, span_cmd("roots 1"));
	EXPECT_LE(1, rec_drain(fd, &db));
	s = rec_find(&db, "t.root", 0);
	EXPECT_NE(NULL, s);
	if (s)
		EXPECT_TRUE(rec_complete(s));
	rec_db_free(&db);
	close(fd);
	EXPECT_EQ(0, vm_unload_module("otel_spantest"));
	EXPECT_EQ(0, vm_unload_module("oteltrace"));
}

FIXTURE_TEARDOWN(fuzz)
{
	close_shared();
	munmap(noaccess, page);
	munmap(rdonly, page);
	munmap(flap, FLAP_PAGES * page);
	munmap(self->buf, BUF_BYTES + page);
	EXPECT_EQ(0, atomic_load(&violations)) TH_LOG("%s", first_violation);
	still_works(_metadata);
}

/* The share of DEV_FUZZ_SECONDS each random phase runs. */
#define SHARE_IOCTLS	0.30
#define SHARE_IO	0.30
#define SHARE_CONFIG	0.25
#define SHARE_USER	0.15

TEST_F(fuzz, sweep)
{
	sweep(&self->r, self->buf);
	TH_LOG("sweep done");
}

TEST_F(fuzz, ioctls)
{
	unsigned long ops = run_workers(NR_WORKERS, PH_IOCTLS, PH_IOCTLS,
					seconds * SHARE_IOCTLS, 2, NULL);

	TH_LOG("%lu random ioctls", ops);
	EXPECT_LT(0, ops);
}

TEST_F(fuzz, io)
{
	unsigned long ops = run_workers(NR_WORKERS, PH_IO, PH_IO,
					seconds * SHARE_IO, 3, NULL);

	TH_LOG("%lu mmap, munmap, read, poll, open, close; %lu mapped", ops,
	       atomic_load(&nr_mapped));
	EXPECT_LT(0, ops);
}

TEST_F(fuzz, config)
{
	unsigned long reads = 0;
	unsigned long ops = run_workers(NR_WORKERS, PH_CONFIG_WRITER,
					PH_CONFIG_READER,
					seconds * SHARE_CONFIG, 4, &reads);

	TH_LOG("%lu config changes and reads: %lu configs set, %lu mapped, "
	       "%lu reads with records", ops, atomic_load(&nr_config_set),
	       atomic_load(&nr_mapped), reads);
	EXPECT_LT(0, ops);
}

/* The same as a user in the module's group: a child with that identity. */
TEST_F(fuzz, user)
{
	gid_t groups[1] = { FUZZ_GID };
	int status;
	pid_t pid;

	close_shared();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgroups(1, groups) ||
		    setresgid(FUZZ_UID, FUZZ_UID, FUZZ_UID) ||
		    setresuid(FUZZ_UID, FUZZ_UID, FUZZ_UID))
			_exit(100);
		open_shared();
		if (shared[0] < 0 || shared[1] < 0 || shared[2] < 0 ||
		    shared[3] < 0)
			_exit(101);
		sweep(&self->r, self->buf);
		run_workers(NR_WORKERS, PH_IOCTLS, PH_IO, seconds * SHARE_USER,
			    5, NULL);
		close_shared();
		if (atomic_load(&violations))
			fprintf(stderr, "# user: %s\n", first_violation);
		_exit(atomic_load(&violations) ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("killed by signal %d",
					      WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

int main(int argc, char **argv)
{
	const char *s = getenv("DEV_FUZZ_SEED"), *t = getenv("DEV_FUZZ_SECONDS");
	struct timespec ts;

	page = sysconf(_SC_PAGESIZE);
	if (t && *t && atof(t) > 0)
		seconds = atof(t);
	clock_gettime(CLOCK_REALTIME, &ts);
	seed = s && *s ? strtoull(s, NULL, 0) :
	       (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ getpid();
	printf("# dev_fuzz: seed %llu (DEV_FUZZ_SEED=%llu replays its "
	       "choices), %.0f s of random phases\n",
	       (unsigned long long)seed, (unsigned long long)seed, seconds);
	fflush(stdout);
	/* each test's deadline follows its share: only a hang reaches it */
	_fuzz_sweep_object.timeout = 300;
	_fuzz_ioctls_object.timeout = 240 + 4 * seconds * SHARE_IOCTLS;
	_fuzz_io_object.timeout = 240 + 4 * seconds * SHARE_IO;
	_fuzz_config_object.timeout = 240 + 4 * seconds * SHARE_CONFIG;
	_fuzz_user_object.timeout = 300 + 4 * seconds * SHARE_USER;
	return test_harness_run(argc, argv);
}
